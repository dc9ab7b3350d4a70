// SPDX-License-Identifier: GPL-2.0-only
/*
 * fair_share through the real policer: demands listed by the workers,
 * water-filled and published (src/policer/fair.c), and each pair limited to
 * its share on the packet path. Synthetic time, deterministic traces.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "src/policer/policer.h"
#include "src/policer/waterfill.h"
#include "test_policer_common.h"
#include "xp_check.h"

#define N_UNITS 8
#define DEMANDS_MAX 4096

struct sim {
    struct xp_dst_table *dst;
    struct xp_policer *pol[2];
    unsigned n_workers;
    struct xp_fair_demand demands[DEMANDS_MAX];
};

static struct xp_policer_key key_of(unsigned unit, unsigned dst)
{
    struct xp_policer_key k;
    uint8_t s[4] = { 198, 18, 0, (uint8_t)(10 + unit) }, d[4] = { 198, 19, 0, (uint8_t)dst };

    xp_policer_key__build(&k, AF_INET, s, d, 64);
    return k;
}

static struct xp_policer_limits scenario_limits(enum xp_dst_policy policy)
{
    struct xp_policer_limits lim;

    xp_policer_limits__init(&lim);
    lim.t_t1_ns = 1 * SEC;
    lim.t_t2_ns = 1 * SEC;
    lim.t_t3_ns = 1 * SEC;
    lim.t_t4_ns = 4 * SEC;
    lim.shrink_r = 2;
    lim.t_f1_pps = 1000;
    lim.t_f2_pps = 3000;
    lim.dst_policy = policy;
    return lim;
}

static void sim_init(struct sim *s, enum xp_dst_policy policy, unsigned n_workers)
{
    memset(s, 0, sizeof(*s));
    s->n_workers = n_workers;
    s->dst = xp_dst_table__create(64, n_workers);
    CHECK(s->dst != NULL);
    for (unsigned w = 0; w < n_workers; w++) {
        struct xp_policer_config cfg = {
            .limits = scenario_limits(policy),
            .capacity = 1024,
            .worker_id = w,
            .hash_seed = 42 + w,
        };

        s->pol[w] = xp_policer__create(&cfg, s->dst);
        CHECK(s->pol[w] != NULL);
    }
}

static void sim_free(struct sim *s)
{
    for (unsigned w = 0; w < s->n_workers; w++)
        xp_policer__destroy(s->pol[w]);
    xp_dst_table__destroy(s->dst);
}

/* One fair tick: every worker's demands, then the water-filling. Returns destinations published. */
static unsigned sim_tick(struct sim *s, uint64_t t)
{
    struct xp_policer_limits lim = scenario_limits(XP_DST_FAIR_SHARE);
    size_t n = 0;

    for (unsigned w = 0; w < s->n_workers; w++) {
        bool trunc;

        n += xp_policer__fair_demands(s->pol[w], t, s->demands + n, DEMANDS_MAX - (unsigned)n,
                                      &trunc);
        CHECK(!trunc);
    }
    return xp_fair__publish(s->dst, &lim, s->demands, n, t);
}

/*
 * The population on one proxy: units 0-3 honest at 100 pps, 4-7
 * attackers at 900 pps, towards one destination; T_F2 = 3000. Units
 * 0..n_units-1 take part; units of even number go to worker 0, odd to worker
 * 1 when there are two. fwd[u] counts unit u's forwarded packets in
 * [from, to) s; drops[] its DROP_DST_SHARE / DROP_DST verdicts there.
 */
static void run(struct sim *s, unsigned n_units, double from, double to, uint64_t fwd[],
                uint64_t share_drops[], uint64_t dst_drops[], uint64_t *level_at_end)
{
    static const unsigned rate[N_UNITS] = { 100, 100, 100, 100, 900, 900, 900, 900 };
    uint64_t next[N_UNITS], tick = T0, end = T0 + (uint64_t)(to * SEC);
    uint64_t at;

    for (unsigned u = 0; u < N_UNITS; u++) {
        next[u] = T0 + u * 137 * 1000; /* not all in step */
        fwd[u] = share_drops[u] = dst_drops[u] = 0;
    }
    for (;;) {
        unsigned u = 0;

        for (unsigned v = 1; v < n_units; v++)
            if (next[v] < next[u])
                u = v;
        if (next[u] >= end)
            break;
        while (tick <= next[u]) {
            sim_tick(s, tick);
            tick += XP_FAIR_PERIOD_NS;
        }
        {
            struct xp_policer_key k = key_of(u, 1);
            enum xp_verdict v = xp_policer__packet(s->pol[u % s->n_workers], &k, next[u], NULL);

            if (next[u] >= T0 + (uint64_t)(from * SEC)) {
                fwd[u] += v == XP_VERDICT_FORWARD;
                share_drops[u] += v == XP_VERDICT_DROP_DST_SHARE;
                dst_drops[u] += v == XP_VERDICT_DROP_DST;
            }
        }
        next[u] += SEC / rate[u];
    }
    if (level_at_end) {
        struct xp_policer_key k = key_of(0, 1);

        *level_at_end = 0;
        CHECK(xp_dst_table__share(s->dst, k.dst, level_at_end, &at) == 0);
    }
}

/* 4 honest units keep everything, 4 attackers get (3000 - 400) / 4 = 650 pps each. */
static void test_scenario(unsigned n_workers)
{
    uint64_t fwd[N_UNITS], sd[N_UNITS], dd[N_UNITS], level, total = 0;
    struct xp_policer_stats st;
    struct sim s;

    sim_init(&s, XP_DST_FAIR_SHARE, n_workers);
    run(&s, N_UNITS, 3.0, 13.0, fwd, sd, dd, &level);
    /* the rates the policer measures are c / span of each window: within 1 % of the truth */
    CHECK_MSG(level >= 640 && level <= 660, "level %llu, want 650 +- 10",
              (unsigned long long)level);
    for (unsigned u = 0; u < N_UNITS; u++) {
        double pps = fwd[u] / 10.0;

        total += fwd[u];
        CHECK_EQ(dd[u], 0); /* fair_share never blocks a whole destination */
        if (u < 4) {
            CHECK_MSG(sd[u] == 0, "honest unit %u lost %llu packets", u,
                      (unsigned long long)sd[u]);
            CHECK_EQ(fwd[u], 1000);
        } else {
            CHECK_MSG(pps >= 630 && pps <= 670, "attacker %u forwarded %.1f pps, share 650", u,
                      pps);
        }
    }
    /* the victim: T_F2 within 2 % over the 10 s */
    CHECK_MSG(total >= 29400 && total <= 30600, "victim got %llu packets in 10 s, T_F2 3000 pps",
              (unsigned long long)total);
    for (unsigned w = 0; w < n_workers; w++) {
        xp_policer__stats(s.pol[w], &st);
        CHECK(st.drop_dst_share > 0);
        CHECK_EQ(st.drop_dst, 0);
    }
    sim_free(&s);
}

/* drop_all on the same trace: after detection everyone loses everything (the paper's rule). */
static void test_drop_all_for_comparison(void)
{
    uint64_t fwd[N_UNITS], sd[N_UNITS], dd[N_UNITS];
    struct sim s;

    sim_init(&s, XP_DST_DROP_ALL, 1);
    run(&s, N_UNITS, 3.0, 13.0, fwd, sd, dd, NULL);
    for (unsigned u = 0; u < N_UNITS; u++) {
        /* a window's shrink lowers the aggregate's rate for a moment: under 1 % gets through */
        CHECK_MSG(fwd[u] * 100 < fwd[u] + dd[u], "unit %u: %llu forwarded", u,
                  (unsigned long long)fwd[u]);
        CHECK_EQ(sd[u], 0);
        CHECK(dd[u] > 0);
    }
    /* no share is ever published under drop_all */
    CHECK_EQ(sim_tick(&s, T0 + 14 * SEC), 0);
    sim_free(&s);
}

/* Under T_F2 nothing is limited and nothing is published. */
static void test_under_capacity(void)
{
    uint64_t fwd[N_UNITS], sd[N_UNITS], dd[N_UNITS], level, at;
    struct xp_policer_key k = key_of(0, 1);
    struct sim s;

    sim_init(&s, XP_DST_FAIR_SHARE, 1);
    /* 4 honest + 2 attackers: 2200 pps < 3000 */
    run(&s, 6, 1.0, 6.0, fwd, sd, dd, NULL);
    for (unsigned u = 0; u < 6; u++)
        CHECK_EQ(sd[u] + dd[u], 0);
    CHECK(xp_dst_table__share(s.dst, k.dst, &level, &at) == -ENOENT);
    sim_free(&s);
}

/* No share published (or a stale one): over T_F2 everything is dropped, never blocked. */
static void test_no_share_fails_closed(void)
{
    uint64_t t = T0, t_pub, level = 0, at, wrong = 0, fwd = 0, late_fwd = 0;
    struct xp_policer_key k0 = key_of(0, 2);
    struct sim s;
    int i;

    sim_init(&s, XP_DST_FAIR_SHARE, 1);
    /* 5 units at 800 pps each (under T_F1 = 1000) towards one destination: 4000 > T_F2 */
    for (i = 0; i < 8000; i++, t += SEC / 4000) {
        struct xp_policer_key k = key_of((unsigned)(i % 5), 2);
        enum xp_verdict v = xp_policer__packet(s.pol[0], &k, t, NULL);

        /* past T_T3 (+ one inter-packet gap of a unit) the destination is over: all dropped */
        if (t > T0 + SEC + 2 * MS && v != XP_VERDICT_DROP_DST_SHARE)
            wrong++;
    }
    CHECK_EQ(wrong, 0);
    /* a tick publishes 3000 / 5 = 600 each (the measured rates, within 1 %) */
    CHECK_EQ(sim_tick(&s, t), 1);
    t_pub = t;
    CHECK(xp_dst_table__share(s.dst, k0.dst, &level, &at) == 0);
    CHECK_MSG(level >= 594 && level <= 606, "level %llu", (unsigned long long)level);
    /* then each unit gets its share, until the share is older than XP_FAIR_STALE_NS */
    for (; t < t_pub + XP_FAIR_STALE_NS + 200 * MS; i++, t += SEC / 4000) {
        struct xp_policer_key k = key_of((unsigned)(i % 5), 2);
        enum xp_verdict v = xp_policer__packet(s.pol[0], &k, t, NULL);

        if (t < t_pub + XP_FAIR_STALE_NS)
            fwd += v == XP_VERDICT_FORWARD;
        else if (t > t_pub + XP_FAIR_STALE_NS + MS)
            late_fwd += v == XP_VERDICT_FORWARD;
    }
    /* 5 x 600 pps for 1 s, plus the burst tolerance (20 ms of share) each */
    CHECK_MSG(fwd >= 2950 && fwd <= 3100, "forwarded %llu in the share's second",
              (unsigned long long)fwd);
    CHECK_EQ(late_fwd, 0);
    sim_free(&s);
}

int main(void)
{
    test_scenario(1);
    test_scenario(2);
    test_drop_all_for_comparison();
    test_under_capacity();
    test_no_share_fails_closed();
    return xp_check_report("fair_share");
}
