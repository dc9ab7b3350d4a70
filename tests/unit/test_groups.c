// SPDX-License-Identifier: GPL-2.0-only
/*
 * Policy per prefix and classification by longest-prefix match:
 *   - a unit takes its longest matching unit group's T_F1 (IPv4 and IPv6),
 *     the global keys otherwise; a destination its destination group's T_F2;
 *   - an unpoliced unit group is forwarded and counted;
 *   - a reload moves a unit between groups from the reload on, and the
 *     groups' counters follow their names;
 *   - thousands of prefixes per list: every list's answer for thousands of
 *     addresses equals a linear scan of that list (the classification the
 *     pipeline had before, capped at 256 prefixes).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/pipeline/pipeline.h"
#include "src/proxy/config.h"
#include "xp_check.h"

#define MS 1000000ULL
#define T0_NS (1700000000000ULL * MS)

/* A 64-byte Ethernet/IPv4/UDP frame, or Ethernet/IPv6/UDP when the addresses hold a ':'. */
static void frame(uint8_t *f, const char *src, const char *dst)
{
    memset(f, 0, 64);
    if (strchr(src, ':')) {
        f[12] = 0x86;
        f[13] = 0xdd;
        f[14] = 0x60;
        f[19] = 8;  /* payload length */
        f[20] = 17; /* UDP */
        f[21] = 64;
        inet_pton(AF_INET6, src, f + 22);
        inet_pton(AF_INET6, dst, f + 38);
        f[54] = 0x13;
        f[55] = 0x88;
        f[56] = 0x16;
        f[57] = 0x33;
        f[59] = 8;
        return;
    }
    f[12] = 0x08;
    f[14] = 0x45;
    f[17] = 28;
    f[22] = 64;
    f[23] = 17;
    inet_pton(AF_INET, src, f + 26);
    inet_pton(AF_INET, dst, f + 30);
    f[34] = 0x13;
    f[35] = 0x88;
    f[36] = 0x16;
    f[37] = 0x33;
    f[39] = 8;
}

/* n frames of src -> dst, one every step_us from t_ms on; the number dropped. */
static unsigned run(struct xp_pipeline *pl, const char *src, const char *dst, unsigned n,
                    uint64_t t_ms, uint64_t step_us)
{
    uint8_t f[64];
    unsigned dropped = 0;

    frame(f, src, dst);
    for (unsigned i = 0; i < n; i++) {
        struct xp_pkt pkt = { .data = f, .len = 64 };
        uint64_t t = T0_NS + t_ms * MS + i * step_us * 1000ULL;
        uint8_t drop;

        xp_pipeline__police(pl, &pkt, 1, &drop, t, t - T0_NS);
        dropped += drop != 0; /* a fate: non-zero is a drop */
    }
    return dropped;
}

#define HEAD                                                                                \
    "{\"ports\": {\"access\": \"a\", \"core\": \"b\"},\n"                                 \
    " \"policer\": {\"unit_prefixes\": [\"198.18.0.0/16\", \"2001:2::/48\"],\n"           \
    "  \"t_t1_ms\": 100, \"t_t2_ms\": 100, \"t_t3_ms\": 100, \"r\": 1,\n"                  \
    "  \"t_f1_pps\": 100000, \"t_f2_pps\": 1000000000,\n"

static const char *conf_a =
    HEAD
    "  \"unit_groups\": [\n"
    "    {\"name\": \"slow\", \"prefixes\": [\"198.18.0.0/24\"], \"t_f1_pps\": 1000},\n"
    "    {\"name\": \"slower\", \"prefixes\": [\"198.18.0.128/25\"], \"t_f1_pps\": 100},\n"
    "    {\"name\": \"v6slow\", \"prefixes\": [\"2001:2:0:1::/64\"], \"t_f1_pps\": 1000},\n"
    "    {\"name\": \"free\", \"prefixes\": [\"198.18.5.0/24\"], \"policed\": false}],\n"
    "  \"dst_groups\": [\n"
    "    {\"name\": \"small\", \"prefixes\": [\"198.18.9.0/24\", \"2001:2:9::/48\"],\n"
    "     \"t_f2_pps\": 2000}]}}";

/* The reload: 198.18.1.0/24 joins "slow" (now the second group), "slower" is gone. */
static const char *conf_b =
    HEAD
    "  \"unit_groups\": [\n"
    "    {\"name\": \"free\", \"prefixes\": [\"198.18.5.0/24\"], \"policed\": false},\n"
    "    {\"name\": \"slow\", \"prefixes\": [\"198.18.0.0/24\", \"198.18.1.0/24\"],\n"
    "     \"t_f1_pps\": 1000}]}}";

static struct xp_pipeline *make(struct xp_config *cfg, const char *text, struct xp_dst_table *dst)
{
    struct xp_pipeline_conf pc;
    char msg[512];

    if (xp_config_parse("g.json", text, cfg, msg, sizeof(msg))) {
        CHECK_MSG(0, "config: %s", msg);
        return NULL;
    }
    xp_config__pipeline_conf(cfg, &pc);
    return xp_pipeline__create(&pc, 0, dst, NULL, NULL, NULL);
}

static int flow_group(struct xp_pipeline *pl, const char *unit, const char *dst, bool want_dst)
{
    static struct xp_flow_record rec[256];
    uint32_t cursor = 0;
    unsigned n = 0;
    uint8_t u[16], d[16];
    struct xp_parsed pp;
    uint8_t f[64];

    frame(f, unit, dst);
    xp_parse_frame(f, 64, &pp);
    memcpy(u, pp.src, 16);
    memcpy(d, pp.dst, 16);
    if (pp.family == 6)
        memset(u + 8, 0, 8); /* v6_unit_prefix 64 */
    while (cursor < xp_pipeline__capacity(pl) && n < 256)
        n += xp_pipeline__scan_flows(pl, &cursor, 4096, rec + n, 256 - n, T0_NS, 0);
    for (unsigned i = 0; i < n; i++)
        if (memcmp(rec[i].rec.key.unit, u, 16) == 0 && memcmp(rec[i].rec.key.dst, d, 16) == 0)
            return want_dst ? rec[i].dst_group : rec[i].unit_group;
    return -1;
}

static void test_selection_and_reload(void)
{
    struct xp_dst_table *dst = xp_dst_table__create(256, 1);
    struct xp_config a, b;
    struct xp_pipeline_conf pc;
    struct xp_pipeline_stats st;
    struct xp_group_counts gc;
    struct xp_pipeline *pl = dst ? make(&a, conf_a, dst) : NULL;

    CHECK(pl != NULL);
    if (!pl)
        return;
    /* the policer's clock only moves forward: each run starts where the last one ended */
    /* Longest prefix: .0.1 is "slow" (1000 pps), .0.200 "slower" (100 pps), .1.1 the default. */
    CHECK_EQ(run(pl, "198.18.0.1", "198.18.8.1", 1000, 0, 2000), 0);      /* 500 pps < 1000 */
    CHECK(run(pl, "198.18.0.200", "198.18.8.1", 1000, 2000, 2000) > 900); /* 500 pps > 100 */
    CHECK(run(pl, "198.18.0.2", "198.18.8.1", 1000, 4000, 200) > 400);    /* 5000 pps > 1000 */
    CHECK_EQ(run(pl, "198.18.1.1", "198.18.8.1", 1000, 4300, 200), 0);    /* default 100000 */
    /* IPv6: the /64 group, and a unit of the /48 outside it */
    CHECK(run(pl, "2001:2:0:1::5", "2001:2:8::1", 1000, 4600, 200) > 400);
    CHECK_EQ(run(pl, "2001:2:0:2::5", "2001:2:8::1", 1000, 4900, 200), 0);
    /* unpoliced group: forwarded at any rate, counted */
    CHECK_EQ(run(pl, "198.18.5.1", "198.18.8.1", 1000, 5200, 20), 0);
    xp_pipeline__stats(pl, &st);
    CHECK_EQ(st.c[XP_PC_UNPOLICED_GROUP], 1000);
    /* destination group "small" (T_F2 2000): three units at 1000 pps each, IPv4 and IPv6 */
    {
        static const char *const v4[] = { "198.18.2.1", "198.18.2.2", "198.18.2.3" };
        static const char *const v6[] = { "2001:2:0:3::1", "2001:2:0:4::1", "2001:2:0:5::1" };
        unsigned d4 = 0, d6 = 0, free4 = 0;
        uint8_t f[64];

        for (unsigned i = 0; i < 3000; i++) {
            const char *targets[][2] = { { v4[i % 3], "198.18.9.1" },
                                         { v6[i % 3], "2001:2:9::1" },
                                         { v4[i % 3], "198.18.7.1" } };

            for (unsigned k = 0; k < 3; k++) {
                struct xp_pkt pkt = { .data = f, .len = 64 };
                uint64_t t = T0_NS + 6000 * MS + i * 333000ULL;
                uint8_t drop;

                frame(f, targets[k][0], targets[k][1]);
                xp_pipeline__police(pl, &pkt, 1, &drop, t, t - T0_NS);
                *(k == 0 ? &d4 : k == 1 ? &d6 : &free4) += drop != 0;
            }
        }
        CHECK_MSG(d4 > 2000 && d6 > 2000, "dst group: %u and %u of 3000 dropped", d4, d6);
        CHECK_EQ(free4, 0); /* the same units and rate towards the default group */
    }
    /* groups in flows and in the per-group counters */
    CHECK_EQ(flow_group(pl, "198.18.0.200", "198.18.8.1", false), 2);
    CHECK_EQ(flow_group(pl, "2001:2:0:1::5", "2001:2:8::1", false), 3);
    CHECK_EQ(flow_group(pl, "198.18.2.1", "198.18.9.1", true), 1);
    CHECK_EQ(flow_group(pl, "198.18.2.1", "198.18.7.1", true), 0);
    xp_pipeline__group_stats(pl, false, 1, &gc); /* slow: .0.1 and .0.2 */
    CHECK_EQ(gc.packets, 2000);
    CHECK(gc.drops > 400 && gc.drops < 1000);
    xp_pipeline__group_stats(pl, true, 1, &gc);
    CHECK_EQ(gc.packets, 6000);
    CHECK(strcmp(xp_conf_policer__group_name(&a.pol, false, 2), "slower") == 0);
    CHECK(strcmp(xp_conf_policer__group_name(&a.pol, true, 0), "default") == 0);
    CHECK(xp_conf_policer__group_name(&a.pol, true, 2) == NULL);

    /*
     * Reload: 198.18.1.1 at 5000 pps, forwarded under the default group, is dropped from
     * the reload on by "slow"'s T_F1 (its window is already past T_T2).
     */
    CHECK_EQ(run(pl, "198.18.1.1", "198.18.8.2", 1000, 7100, 200), 0);
    {
        char msg[512];

        CHECK_EQ(xp_config_parse("g.json", conf_b, &b, msg, sizeof(msg)), 0);
        xp_config__pipeline_conf(&b, &pc);
        CHECK_EQ(xp_pipeline__reconfigure(pl, &pc), 0);
    }
    CHECK_EQ(run(pl, "198.18.1.1", "198.18.8.2", 100, 7300, 200), 100);
    /* "slow" moved from index 1 to 2 and kept its counts: 2000 before, 100 since */
    xp_pipeline__group_stats(pl, false, 2, &gc);
    CHECK_EQ(gc.packets, 2100);
    xp_pipeline__group_stats(pl, false, 1, &gc); /* "free": unpoliced, never counted here */
    CHECK_EQ(gc.packets, 0);
    /* .0.200 lost "slower": "slow"'s 1000 pps now, so 500 pps passes */
    CHECK_EQ(run(pl, "198.18.0.200", "198.18.8.3", 1000, 7400, 2000), 0);
    xp_pipeline__destroy(pl);
    xp_dst_table__destroy(dst);
    xp_config_release(&a);
    xp_config_release(&b);
}

/* ---- thousands of prefixes against linear scans ---- */

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

/* Longest prefix of list[0..n) matching a, or -1. */
static int longest(const struct xp_cidr *list, unsigned n, const uint8_t a[16])
{
    int best = -1;

    for (unsigned i = 0; i < n; i++)
        if (xp_cidr_match(&list[i], a) && (best < 0 || list[i].prefix_len > list[best].prefix_len))
            best = (int)i;
    return best;
}

/* A random prefix near 198.18.0.0/15 or 2001:2::/48, so that lists overlap and nest. */
static void random_prefix(char *buf, size_t len)
{
    if (rnd() % 4) {
        unsigned plen = 15 + rnd() % 18;

        snprintf(buf, len, "198.%u.%u.%u/%u", 18 + rnd() % 2, rnd() % 256, rnd() % 256, plen);
    } else {
        unsigned plen = 48 + rnd() % 17;

        snprintf(buf, len, "2001:2:0:%x::/%u", rnd() % 65536, plen);
    }
}

static void test_many_prefixes(void)
{
    enum { N_UNITS = 3000, N_ALLOW = 1500, N_GROUPS = 40, PER_GROUP = 50, N_DST = 2000 };
    size_t cap = 4u << 20, len = 0;
    char *text = malloc(cap), p[64], msg[512];
    struct xp_config cfg;
    unsigned mismatches = 0;

    if (!text)
        return;
#define OUT(...) (len += (size_t)snprintf(text + len, cap - len, __VA_ARGS__))
    OUT("{\"ports\": {\"access\": \"a\", \"core\": \"b\"}, \"policer\": {\"v6_unit_prefix\": 64,"
        " \"unit_prefixes\": [");
    for (unsigned i = 0; i < N_UNITS; i++) {
        random_prefix(p, sizeof(p));
        OUT("%s\"%s\"", i ? "," : "", p);
    }
    OUT("], \"allow_src\": [");
    for (unsigned i = 0; i < N_ALLOW; i++) {
        random_prefix(p, sizeof(p));
        OUT("%s\"%s\"", i ? "," : "", p);
    }
    OUT("], \"allow_dst\": [");
    for (unsigned i = 0; i < N_DST; i++) {
        random_prefix(p, sizeof(p));
        OUT("%s\"%s\"", i ? "," : "", p);
    }
    /* group prefixes: distinct across groups (a prefix in two groups is refused) */
    OUT("], \"unit_groups\": [");
    for (unsigned g = 0; g < N_GROUPS; g++) {
        OUT("%s{\"name\": \"g%u\", \"prefixes\": [", g ? "," : "", g);
        for (unsigned k = 0; k < PER_GROUP; k++) {
            unsigned i = g * PER_GROUP + k;

            if (i % 4)
                OUT("%s\"198.%u.%u.%u/%u\"", k ? "," : "", 18 + i % 2, i / 8 % 256,
                    i % 8 * 32, 27 + i % 6);
            else
                OUT("%s\"2001:2:0:%x::/64\"", k ? "," : "", i);
        }
        OUT("]}");
    }
    OUT("]}}");
#undef OUT
    if (xp_config_parse("many.json", text, &cfg, msg, sizeof(msg))) {
        /* two random group prefixes may collide only if equal: they are built distinct */
        CHECK_MSG(0, "config: %s", msg);
        free(text);
        return;
    }
    free(text);
    CHECK_EQ(cfg.pol.n_units, N_UNITS);
    CHECK(xp_classifier__bytes(cfg.pol.cls) > 0);
    for (unsigned t = 0; t < 20000; t++) {
        uint8_t a[16] = { 0 };
        uint32_t sw, dw, want_g = 0;
        int best_g = -1;
        unsigned best_len = 0;

        if (rnd() % 4) {
            a[10] = a[11] = 0xff;
            a[12] = 198;
            a[13] = 18 + rnd() % 2;
            a[14] = (uint8_t)rnd();
            a[15] = (uint8_t)rnd();
        } else {
            uint32_t r = rnd();

            a[0] = 0x20;
            a[1] = 0x01;
            a[3] = 0x02;
            a[6] = (uint8_t)(r >> 8);
            a[7] = (uint8_t)r;
            for (unsigned k = 8; k < 16; k++)
                a[k] = (uint8_t)rnd();
        }
        sw = xp_classifier__src(cfg.pol.cls, a);
        dw = xp_classifier__dst(cfg.pol.cls, a);
        for (unsigned g = 0; g < cfg.pol.n_unit_groups; g++) {
            int i = longest(cfg.pol.unit_groups[g].prefixes, cfg.pol.unit_groups[g].n_prefixes, a);

            if (i >= 0 && (best_g < 0 ||
                           cfg.pol.unit_groups[g].prefixes[i].prefix_len > best_len)) {
                best_g = (int)g;
                best_len = cfg.pol.unit_groups[g].prefixes[i].prefix_len;
            }
        }
        want_g = best_g < 0 ? 0 : (uint32_t)best_g + 1;
        if (!!(sw & XP_CLS_UNIT) != (longest(cfg.pol.units, cfg.pol.n_units, a) >= 0) ||
            !!(sw & XP_CLS_ALLOW) != (longest(cfg.pol.allow_src, cfg.pol.n_allow_src, a) >= 0) ||
            !!(dw & XP_CLS_ALLOW) != (longest(cfg.pol.allow_dst, cfg.pol.n_allow_dst, a) >= 0) ||
            XP_CLS_GROUP(sw) != want_g || XP_CLS_GROUP(dw) != 0)
            mismatches++;
    }
    CHECK_MSG(mismatches == 0, "%u of 20000 addresses classified unlike the linear scans",
              mismatches);
    xp_config_release(&cfg);
}

int main(void)
{
    test_selection_and_reload();
    test_many_prefixes();
    return xp_check_report("test_groups");
}
