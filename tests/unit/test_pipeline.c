// SPDX-License-Identifier: GPL-2.0-only
/*
 * The pipeline in front of Algorithm 1, on crafted frames: the allowlist is
 * checked first (by source and by destination), sources outside the unit
 * prefixes are not policed, malformed frames get the configured action and
 * are counted by reason, and a policed flood is dropped once over T_F1.
 * What operators are shown (xp_pipeline__scan_flows, __refused): each pair's
 * verdict (the unit test, the destination test, a block in force and its
 * test, forward, an idle pair), and the pairs a full table refused.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/proxy/config.h"
#include "src/pipeline/pipeline.h"
#include "xp_check.h"

#define MS 1000000ULL

static const char *conf_text =
    "{\"ports\": {\"access\": \"a\", \"core\": \"b\"},\n"
    " \"policer\": {\"unit_prefixes\": [\"198.18.0.0/24\"],\n"
    "              \"allow_src\": [\"198.18.0.5/32\"], \"allow_dst\": [\"198.18.1.200/32\"],\n"
    "              \"t_t1_ms\": 100, \"t_t2_ms\": 100, \"t_t3_ms\": 100, \"r\": 1,\n"
    "              \"t_f1_pps\": 1000, \"t_f2_pps\": 1000000000, \"malformed\": \"drop\"}}";

/* A 64-byte Ethernet/IPv4/UDP frame from src to dst. */
static void frame4(uint8_t *f, const char *src, const char *dst)
{
    memset(f, 0, 64);
    f[12] = 0x08;                        /* ethertype IPv4 */
    f[14] = 0x45;                        /* version 4, IHL 5 */
    f[16] = 0;
    f[17] = 28;                          /* total length: 20 + 8 */
    f[22] = 64;                          /* TTL */
    f[23] = 17;                          /* UDP */
    inet_pton(AF_INET, src, f + 26);
    inet_pton(AF_INET, dst, f + 30);
    f[34] = 0x13;
    f[35] = 0x88;                        /* sport 5000 */
    f[36] = 0x16;
    f[37] = 0x33;                        /* dport 5683 */
    f[39] = 8;                           /* UDP length */
}

/* Send n frames of one kind, 1 ms apart starting at t_ms; returns how many were dropped. */
/* The fate of run()'s last dropped frame (enum xp_pkt_fate). */
static uint8_t last_drop_fate;

static unsigned run(struct xp_pipeline *pl, const char *src, const char *dst, unsigned n,
                    uint64_t t_ms, uint64_t step_us)
{
    uint8_t f[64];
    unsigned dropped = 0;

    frame4(f, src, dst);
    for (unsigned i = 0; i < n; i++) {
        struct xp_pkt pkt = { .data = f, .len = 64 };
        uint8_t drop;
        uint64_t t = 1700000000000ULL * MS + t_ms * MS + i * step_us * 1000ULL;

        xp_pipeline__police(pl, &pkt, 1, &drop, t, t);
        dropped += drop != 0;
        if (drop)
            last_drop_fate = drop;
    }
    return dropped;
}

static const char *flows_conf =
    "{\"ports\": {\"access\": \"a\", \"core\": \"b\"},\n"
    " \"policer\": {\"unit_prefixes\": [\"198.18.0.0/16\"],\n"
    "              \"t_t1_ms\": 100, \"t_t2_ms\": 100, \"t_t3_ms\": 100, \"r\": 1,\n"
    "              \"t_f1_pps\": 5000, \"t_f2_pps\": 2000, \"max_pairs\": 64,\n"
    "              \"table_full\": \"refuse_drop\"}}";

#define T0_NS (1700000000000ULL * MS)

/* The verdict of (unit, dst) in a scan of the whole table at now (ns after T0), or -1. */
static int verdict_of(struct xp_pipeline *pl, const char *unit, const char *dst, uint64_t now,
                      bool *blocked)
{
    static struct xp_flow_record rec[128];
    uint8_t u[16] = { [10] = 0xff, [11] = 0xff }, d[16] = { [10] = 0xff, [11] = 0xff };
    uint32_t cursor = 0;
    unsigned n = 0;

    inet_pton(AF_INET, unit, u + 12);
    inet_pton(AF_INET, dst, d + 12);
    while (cursor < xp_pipeline__capacity(pl))
        n += xp_pipeline__scan_flows(pl, &cursor, 16, rec + n, 128 - n, T0_NS + now, now);
    for (unsigned i = 0; i < n; i++) {
        if (memcmp(rec[i].rec.key.unit, u, 16) == 0 && memcmp(rec[i].rec.key.dst, d, 16) == 0) {
            if (blocked)
                *blocked = rec[i].blocked;
            return rec[i].verdict;
        }
    }
    return -1;
}

/* Interleave frames of several pairs: each k-th frame of pair k, 1 per step_us overall. */
static void run_mix(struct xp_pipeline *pl, const char *const (*pairs)[2], unsigned npairs,
                    unsigned n, uint64_t t_ms, uint64_t step_us, bool early_clock)
{
    uint8_t f[64];

    for (unsigned i = 0; i < n; i++) {
        struct xp_pkt pkt = { .data = f, .len = 64 };
        uint64_t t = T0_NS + t_ms * MS + i * step_us * 1000ULL;
        uint8_t drop;

        frame4(f, pairs[i % npairs][0], pairs[i % npairs][1]);
        xp_pipeline__police(pl, &pkt, 1, &drop, t, early_clock ? t - T0_NS : t);
    }
}

static void test_flows(bool early)
{
    static const char *const busy[][2] = {
        { "198.18.0.2", "198.18.1.1" }, { "198.18.0.2", "198.18.1.1" },
        { "198.18.0.2", "198.18.1.1" }, { "198.18.0.2", "198.18.1.1" },
        { "198.18.0.2", "198.18.1.1" }, { "198.18.0.2", "198.18.1.1" },
        { "198.18.0.3", "198.18.1.2" }, { "198.18.0.4", "198.18.1.2" },
        { "198.18.0.6", "198.18.1.4" },
    };
    struct xp_flow_record rec[XP_PIPE_REFUSED_MAX];
    struct xp_pipeline_conf pc;
    struct xp_dst_table *dst;
    struct xp_pipeline *pl;
    struct xp_config cfg;
    char msg[512], unit[32];
    unsigned n;
    bool blocked = false;

    if (xp_config_parse("flows.json", flows_conf, &cfg, msg, sizeof(msg))) {
        CHECK_MSG(0, "config: %s", msg);
        return;
    }
    dst = xp_dst_table__create(256, 1);
    xp_config__pipeline_conf(&cfg, &pc);
    pl = dst ? xp_pipeline__create(&pc, 0, dst, NULL, NULL, NULL) : NULL;
    CHECK(pl != NULL);
    if (!pl)
        return;
    if (early)
        CHECK_EQ(xp_pipeline__set_early_drop(pl), 0);
    /*
     * 300 ms of 10000 frames/s in turn: 198.18.0.2 sends 6 of every 9 (6667 pps, over
     * T_F1 = 5000) to .1.1; .3 and .4 1111 pps each to .1.2 (under T_F1 alone, over
     * T_F2 = 2000 together); .6 1111 pps to .1.4 (under both).
     */
    run_mix(pl, busy, 9, 3000, 0, 100, early);
    CHECK_EQ(verdict_of(pl, "198.18.0.2", "198.18.1.1", 300 * MS, &blocked), XP_FLOW_DROP_UNIT);
    CHECK_EQ(blocked, early); /* early mode blocks it; without block ops nothing holds it */
    CHECK_EQ(verdict_of(pl, "198.18.0.3", "198.18.1.2", 300 * MS, NULL), XP_FLOW_DROP_DST);
    CHECK_EQ(verdict_of(pl, "198.18.0.4", "198.18.1.2", 300 * MS, NULL), XP_FLOW_DROP_DST);
    CHECK_EQ(verdict_of(pl, "198.18.0.6", "198.18.1.4", 300 * MS, &blocked), XP_FLOW_FORWARD);
    CHECK(!blocked);
    /* Idle past T_T1: its next packet starts a new window (unless a block still stands). */
    if (!early)
        CHECK_EQ(verdict_of(pl, "198.18.0.2", "198.18.1.1", 500 * MS, NULL), XP_FLOW_FORWARD);
    CHECK_EQ(verdict_of(pl, "198.18.0.9", "198.18.1.1", 300 * MS, NULL), -1);

    /* 80 more units, one frame each: the table (64, 4 taken) refuses 20 of them. */
    for (unsigned i = 0; i < 80; i++) {
        const char *pair[1][2] = { { unit, "198.18.1.5" } };

        snprintf(unit, sizeof(unit), "198.18.2.%u", i + 1);
        run_mix(pl, pair, 1, 1, 301, 0, early);
    }
    n = xp_pipeline__refused(pl, rec, XP_PIPE_REFUSED_MAX, T0_NS + 301 * MS);
    CHECK_MSG(n >= 10 && n <= 20, "%u refused pairs listed (20 refused, slots may collide)", n);
    for (unsigned i = 0; i < n; i++)
        CHECK(rec[i].verdict == XP_FLOW_DROP_TABLE_FULL && rec[i].rec.st.c == 1);
    /* ... until T_T1 has passed without a refusal */
    CHECK_EQ(xp_pipeline__refused(pl, rec, XP_PIPE_REFUSED_MAX, T0_NS + 500 * MS), 0);
    CHECK(strcmp(xp_flow_verdict_name(XP_FLOW_DROP_DST), "drop_dst_rate") == 0);
    xp_pipeline__destroy(pl);
    xp_dst_table__destroy(dst);
    xp_config_release(&cfg);
}

int main(void)
{
    struct xp_pipeline_stats st;
    struct xp_dst_table *dst;
    struct xp_pipeline *pl;
    struct xp_config cfg;
    struct xp_pipeline_conf pc;
    char msg[512];
    uint8_t bad[64];
    uint8_t drop;

    if (xp_config_parse("t.json", conf_text, &cfg, msg, sizeof(msg))) {
        fprintf(stderr, "config: %s\n", msg);
        return 1;
    }
    dst = xp_dst_table__create(64, 1);
    xp_config__pipeline_conf(&cfg, &pc);
    pl = dst ? xp_pipeline__create(&pc, 0, dst, NULL, NULL, NULL) : NULL;
    if (!pl) {
        perror("pipeline");
        return 1;
    }

    /* 20000 pps for 0.5 s from an allowlisted unit: never policed, never dropped. */
    CHECK_EQ(run(pl, "198.18.0.5", "198.18.1.1", 10000, 0, 50), 0);
    /* The same towards an allowlisted destination. */
    CHECK_EQ(run(pl, "198.18.0.6", "198.18.1.200", 10000, 0, 50), 0);
    /* A source outside the unit prefixes is forwarded unpoliced. */
    CHECK_EQ(run(pl, "198.18.2.7", "198.18.1.1", 10000, 0, 50), 0);
    xp_pipeline__stats(pl, &st);
    CHECK_EQ(st.c[XP_PC_ALLOWLISTED], 20000);
    CHECK_EQ(st.c[XP_PC_UNPOLICED], 10000);
    CHECK_EQ(st.c[XP_PC_POLICED], 0);

    /*
     * A policed unit at 20000 pps (T_F1 = 1000): forwarded during the 100 ms
     * warm-up (T_T2), dropped after it. The window is over T_T2 from the
     * packet at 100.05 ms on: 2001 packets pass, the remaining 7999 drop.
     */
    CHECK_EQ(run(pl, "198.18.0.7", "198.18.1.1", 10000, 0, 50), 7999);
    CHECK_EQ(last_drop_fate, XP_FATE_DROP_UNIT);
    CHECK(strcmp(xp_pkt_fate_name(XP_FATE_DROP_UNIT), "drop_unit_rate") == 0);
    xp_pipeline__stats(pl, &st);
    CHECK_EQ(st.c[XP_PC_POLICED], 10000);
    CHECK_EQ(st.c[XP_PC_DROP_UNIT], 7999);
    CHECK_EQ(st.c[XP_PC_FORWARD], 2001);

    /* Malformed: IHL 4 is dropped (configured action) and counted by its reason. */
    frame4(bad, "198.18.0.8", "198.18.1.1");
    bad[14] = 0x44;
    {
        struct xp_pkt pkt = { .data = bad, .len = 64 };

        xp_pipeline__police(pl, &pkt, 1, &drop, 1, 1);
    }
    CHECK_EQ(drop, XP_FATE_DROP_MALFORMED);
    xp_pipeline__stats(pl, &st);
    CHECK_EQ(st.c[XP_PC_DROP_MALFORMED], 1);
    CHECK_EQ(st.malformed[XP_PARSE_BAD_IHL], 1);

    /* Not IP at all (ARP): forwarded untouched. */
    frame4(bad, "198.18.0.8", "198.18.1.1");
    bad[12] = 0x08;
    bad[13] = 0x06;
    {
        struct xp_pkt pkt = { .data = bad, .len = 64 };

        xp_pipeline__police(pl, &pkt, 1, &drop, 1, 1);
    }
    CHECK_EQ(drop, 0);
    xp_pipeline__stats(pl, &st);
    CHECK_EQ(st.c[XP_PC_NOT_IP], 1);

    xp_pipeline__destroy(pl);
    xp_dst_table__destroy(dst);
    xp_config_release(&cfg);
    test_flows(false);
    test_flows(true);
    return xp_check_report("test_pipeline");
}
