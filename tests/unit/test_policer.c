// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of the policer on crafted traces with exact expected verdicts.
 *
 * XP_POLICER_BENCH=1 also prints the sleeper detection-delay table of
 * docs/policer.md. What a packet costs is bench/policer.sh's (the same method
 * as the ns/packet numbers this test used to print). Nothing asserts on time.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <numa.h>

#include "src/policer/policer.h"
#include "test_policer_common.h"


#include "xp_check.h"

static struct xp_pair_state st(struct xp_policer *pol, struct xp_policer_key k)
{
    struct xp_pair_state s;

    memset(&s, 0xee, sizeof(s));
    CHECK_EQ(xp_policer__lookup(pol, &k, &s), 0);
    return s;
}

static struct xp_dst_aggregate agg_of(struct xp_dst_table *dst, struct xp_policer_key k)
{
    struct xp_dst_aggregate a = {0};

    CHECK_EQ(xp_dst_table__lookup(dst, k.dst, &a), 0);
    return a;
}

static enum xp_verdict pkt(struct xp_policer *pol, struct xp_policer_key k, uint64_t t)
{
    return xp_policer__packet(pol, &k, t, NULL);
}

static void test_keys(void)
{
    struct xp_policer_key a, b;
    struct in6_addr s1, s2, s3, d;
    uint32_t v4s = htonl(0x0a000001), v4d = htonl(0xc0000201);
    static const uint8_t want_unit[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1};

    CHECK_EQ(xp_policer_key__build(&a, AF_INET, &v4s, &v4d, 64), 0);
    CHECK(memcmp(a.unit, want_unit, 16) == 0);
    CHECK_EQ(a.dst[15], 1);
    CHECK_EQ(a.dst[12], 192);

    inet_pton(AF_INET6, "2001:db8:1:2:aaaa::1", &s1);
    inet_pton(AF_INET6, "2001:db8:1:2:bbbb::7", &s2);
    inet_pton(AF_INET6, "2001:db8:1:3::1", &s3);
    inet_pton(AF_INET6, "2001:db8:ffff::1", &d);
    CHECK_EQ(xp_policer_key__build(&a, AF_INET6, &s1, &d, 64), 0);
    CHECK_EQ(xp_policer_key__build(&b, AF_INET6, &s2, &d, 64), 0);
    CHECK(memcmp(&a, &b, sizeof(a)) == 0);
    CHECK_EQ(xp_policer_key__build(&b, AF_INET6, &s3, &d, 64), 0);
    CHECK(memcmp(&a, &b, sizeof(a)) != 0);
    /* /60 keeps the high nibble of byte 7 only: ...:2 and ...:3 are one unit */
    CHECK_EQ(xp_policer_key__build(&a, AF_INET6, &s1, &d, 60), 0);
    CHECK_EQ(xp_policer_key__build(&b, AF_INET6, &s3, &d, 60), 0);
    CHECK(memcmp(&a, &b, sizeof(a)) == 0);
    CHECK_EQ(xp_policer_key__build(&a, AF_INET6, &s1, &d, 129), -EINVAL);
    CHECK_EQ(xp_policer_key__build(&a, AF_UNIX, &s1, &d, 64), -EINVAL);
}

static void test_ipv6_pairs(void)
{
    struct xp_policer_limits lim = test_limits();
    struct xp_dst_table *dst = xp_dst_table__create(64, 1);
    struct xp_policer *pol = mkpol(dst, &lim, 64, 0);
    struct xp_policer_key a, b, c;
    struct xp_policer_stats s;
    struct in6_addr s1, s2, s3, d;

    inet_pton(AF_INET6, "2001:db8:1:2::1", &s1);
    inet_pton(AF_INET6, "2001:db8:1:2:ffff:ffff:ffff:fffe", &s2);
    inet_pton(AF_INET6, "2001:db8:1:9::1", &s3);
    inet_pton(AF_INET6, "2001:db8:ffff::1", &d);
    xp_policer_key__build(&a, AF_INET6, &s1, &d, 64);
    xp_policer_key__build(&b, AF_INET6, &s2, &d, 64);
    xp_policer_key__build(&c, AF_INET6, &s3, &d, 64);
    pkt(pol, a, T0);
    pkt(pol, b, T0 + 1);
    pkt(pol, c, T0 + 2);
    CHECK_EQ(st(pol, a).c, 2);
    CHECK_EQ(st(pol, c).c, 1);
    xp_policer__stats(pol, &s);
    CHECK_EQ(s.pairs_in_use, 2);
    CHECK_EQ(agg_of(dst, a).c, 3);
    xp_policer__destroy(pol);
    xp_dst_table__destroy(dst);
}

static void test_window(void)
{
    struct xp_policer_limits lim = test_limits();
    struct xp_dst_table *dst = xp_dst_table__create(64, 1);
    struct xp_policer *pol = mkpol(dst, &lim, 64, 0);
    struct xp_policer_key k = k4(1, 1);
    struct xp_pair_state s;
    struct xp_policer_stats stt;
    uint32_t gen0;

    CHECK_EQ(xp_policer__lookup(pol, &k, &s), -ENOENT);
    CHECK_EQ(pkt(pol, k, T0), XP_VERDICT_FORWARD);
    s = st(pol, k);
    CHECK_EQ(s.ts1, T0);
    CHECK_EQ(s.ts2, T0);
    CHECK_EQ(s.c, 1);
    CHECK_EQ(s.dc, 1);
    CHECK_EQ(s.mark, 0);
    gen0 = s.gen;
    /* a gap of exactly T_T1 does not restart (strict) */
    pkt(pol, k, T0 + 100 * MS);
    s = st(pol, k);
    CHECK_EQ(s.ts1, T0);
    CHECK_EQ(s.ts2, T0 + 100 * MS);
    CHECK_EQ(s.c, 2);
    CHECK_EQ(s.mark, 0);
    /* T_T1 + 1 ns does */
    pkt(pol, k, T0 + 200 * MS + 1);
    s = st(pol, k);
    CHECK_EQ(s.ts1, T0 + 200 * MS + 1);
    CHECK_EQ(s.ts2, T0 + 200 * MS + 1);
    CHECK_EQ(s.c, 1);
    CHECK_EQ(s.dc, 1);
    CHECK_EQ(s.mark, 1);
    CHECK(s.gen != gen0);
    /* time going backwards is clamped */
    pkt(pol, k, T0);
    s = st(pol, k);
    CHECK_EQ(s.ts2, T0 + 200 * MS + 1);
    CHECK_EQ(s.c, 2);
    xp_policer__stats(pol, &stt);
    CHECK_EQ(stt.restarts, 1);
    CHECK_EQ(stt.clock_backsteps, 1);
    CHECK_EQ(stt.inserts, 1);
    CHECK_EQ(stt.packets, 4);
    xp_policer__destroy(pol);
    xp_dst_table__destroy(dst);
}

static void test_warmup_and_strict(void)
{
    struct xp_policer_limits lim = test_limits();
    struct xp_dst_table *dst = xp_dst_table__create(64, 1);
    struct xp_policer *pol;
    struct xp_policer_key k = k4(1, 1);
    unsigned drops = 0;

    lim.t_t1_ns = 150 * MS;
    pol = mkpol(dst, &lim, 64, 0);
    /* warm-up: 100,000 packets within T_T2 is an enormous rate, still forwarded */
    for (unsigned i = 0; i < 100000; i++)
        drops += pkt(pol, k, T0 + i * 1000) != XP_VERDICT_FORWARD;
    CHECK_EQ(drops, 0);
    CHECK_EQ(pkt(pol, k, T0 + 100 * MS), XP_VERDICT_FORWARD); /* span == T_T2 */
    CHECK_EQ(pkt(pol, k, T0 + 100 * MS + 1), XP_VERDICT_DROP_UNIT);
    xp_policer__destroy(pol);

    /* rate exactly T_F1 forwards, one packet more drops */
    pol = mkpol(dst, &lim, 64, 0);
    k = k4(2, 1);
    pkt(pol, k, T0);
    for (unsigned i = 0; i < 198; i++)
        CHECK_EQ(pkt(pol, k, T0 + 100 * MS), XP_VERDICT_FORWARD);
    /* c = 200 over 200 ms = 1000 pps = T_F1 */
    CHECK_EQ(pkt(pol, k, T0 + 200 * MS), XP_VERDICT_FORWARD);
    CHECK_EQ(st(pol, k).c, 200);
    CHECK_EQ(pkt(pol, k, T0 + 200 * MS), XP_VERDICT_DROP_UNIT);
    /* dropped packets still count */
    CHECK_EQ(st(pol, k).c, 201);
    CHECK_EQ(pkt(pol, k, T0 + 200 * MS), XP_VERDICT_DROP_UNIT);
    CHECK_EQ(st(pol, k).c, 202);
    CHECK_EQ(st(pol, k).dc, 202);
    CHECK_EQ(agg_of(dst, k).c, 202);
    xp_policer__destroy(pol);
    xp_dst_table__destroy(dst);
}

static void test_warning_once(void)
{
    struct xp_policer_limits lim = test_limits();
    struct xp_dst_table *dst = xp_dst_table__create(64, 1);
    struct xp_policer *pol = mkpol(dst, &lim, 64, 0);
    struct xp_policer_key k = k4(3, 1);
    struct xp_policer_event ev;
    struct xp_policer_stats s;
    unsigned events = 0, drops = 0;

    /* 10,000 pps (1 packet / 100 us) for 300 ms */
    for (uint64_t t = T0; t <= T0 + 300 * MS; t += 100000) {
        enum xp_verdict v = xp_policer__packet(pol, &k, t, &ev);

        drops += v == XP_VERDICT_DROP_UNIT;
        if (ev.kind == XP_POLICER_EV_OVERLOAD) {
            events++;
            CHECK_EQ(v, XP_VERDICT_DROP_UNIT);
            /* first drop: span = 100.1 ms, c = 1002 */
            CHECK_EQ(ev.t_ns, t);
            CHECK_EQ(t, T0 + 100 * MS + 100000);
            CHECK_EQ(ev.rate_pps, 1002ULL * SEC / (100 * MS + 100000));
            CHECK_EQ(ev.threshold_pps, 1000);
            CHECK(memcmp(&ev.key, &k, sizeof(k)) == 0);
        }
    }
    CHECK_EQ(events, 1);
    CHECK_EQ(drops, 2000);
    /* a new window warns again */
    events = 0;
    for (uint64_t t = T0 + 500 * MS; t <= T0 + 700 * MS; t += 100000) {
        xp_policer__packet(pol, &k, t, &ev);
        events += ev.kind == XP_POLICER_EV_OVERLOAD;
    }
    CHECK_EQ(events, 1);
    xp_policer__stats(pol, &s);
    CHECK_EQ(s.warnings, 2);
    CHECK_EQ(s.restarts, 1);
    xp_policer__destroy(pol);
    xp_dst_table__destroy(dst);
}

static void test_dst_two_workers(void)
{
    struct xp_policer_limits lim = test_limits();
    struct xp_dst_table *dst = xp_dst_table__create(64, 2);
    struct xp_policer *a, *b;
    struct xp_policer_key u1 = k4(1, 9), u2 = k4(2, 9), lone = k4(3, 8);
    struct xp_dst_aggregate g;
    struct xp_policer_stats s;
    struct xp_policer_config cfg = {.limits = lim, .capacity = 8, .worker_id = 1};

    lim.t_f2_pps = 1500;
    a = mkpol(dst, &lim, 64, 0);
    b = mkpol(dst, &lim, 64, 1);
    CHECK(xp_policer__create(&cfg, dst) == NULL && errno == EBUSY);
    /* u1 on worker 0 and u2 on worker 1, 800 pps each (< T_F1): together 1600 > T_F2 */
    for (unsigned k = 0; k <= 100; k++) {
        uint64_t t = T0 + k * 1250000ULL;
        enum xp_verdict want = k * 1250000ULL > 100 * MS ? XP_VERDICT_DROP_DST
                                                          : XP_VERDICT_FORWARD;

        CHECK_EQ(pkt(a, u1, t), want);
        CHECK_EQ(pkt(b, u2, t), want);
        /* a lone unit at the same rate towards another destination is fine */
        CHECK_EQ(pkt(a, lone, t), XP_VERDICT_FORWARD);
    }
    g = agg_of(dst, u1);
    CHECK_EQ(g.c, 202);
    CHECK_EQ(g.ts1, T0);
    CHECK_EQ(g.ts2, T0 + 100 * 1250000ULL);
    xp_policer__stats(a, &s);
    CHECK_EQ(s.drop_dst, 20);
    CHECK_EQ(s.drop_unit, 0);
    CHECK_EQ(s.forward, 81 + 101);
    /* when worker 1 goes away its share leaves the aggregate */
    xp_policer__destroy(b);
    g = agg_of(dst, u1);
    CHECK_EQ(g.c, 101);
    CHECK_EQ(xp_dst_table__count(dst), 2);
    xp_policer__destroy(a);
    g = agg_of(dst, u1);
    CHECK_EQ(g.c, 0);
    CHECK_EQ(g.ts1, UINT64_MAX);
    CHECK_EQ(g.ts2, 0);
    xp_dst_table__destroy(dst);
}

static void test_dst_strict(void)
{
    struct xp_policer_limits lim = test_limits();
    struct xp_dst_table *dst = xp_dst_table__create(64, 1);
    struct xp_policer *pol;
    struct xp_policer_key u1 = k4(1, 5), u2 = k4(2, 5);

    lim.t_f2_pps = 1000;
    lim.t_f1_pps = 1000000;
    lim.t_t1_ns = 150 * MS;
    pol = mkpol(dst, &lim, 64, 0);
    pkt(pol, u1, T0);
    for (unsigned i = 0; i < 99; i++)
        CHECK_EQ(pkt(pol, u2, T0 + 100 * MS), XP_VERDICT_FORWARD);
    for (unsigned i = 0; i < 99; i++)
        CHECK_EQ(pkt(pol, u1, T0 + 100 * MS), XP_VERDICT_FORWARD);
    /* c* = 200 over 200 ms: exactly T_F2 */
    CHECK_EQ(pkt(pol, u2, T0 + 200 * MS), XP_VERDICT_FORWARD);
    CHECK_EQ(pkt(pol, u1, T0 + 200 * MS), XP_VERDICT_DROP_DST);
    CHECK_EQ(agg_of(dst, u1).c, 201);
    xp_policer__destroy(pol);
    xp_dst_table__destroy(dst);
}

static void fill4(struct xp_policer *pol)
{
    for (unsigned u = 0; u < 4; u++)
        CHECK_EQ(pkt(pol, k4(u, 1), T0), XP_VERDICT_FORWARD);
    /* refresh 1..3 at distinct times so that "oldest" is well defined */
    for (unsigned u = 1; u < 4; u++)
        pkt(pol, k4(u, 1), T0 + (149 + u) * MS);
}

static void test_full(void)
{
    static const enum xp_full_policy policies[] = {
        XP_FULL_EVICT_OLDEST,
        XP_FULL_REFUSE_PASS,
        XP_FULL_REFUSE_DROP,
    };
    struct xp_pair_state s;

    for (unsigned i = 0; i < 3; i++) {
        struct xp_policer_limits lim = test_limits();
        struct xp_dst_table *dst = xp_dst_table__create(64, 1);
        struct xp_policer *pol;
        struct xp_policer_stats stt;
        struct xp_policer_key nk = k4(5, 1);
        enum xp_verdict v;

        lim.full_policy = policies[i];
        pol = mkpol(dst, &lim, 4, 0);
        fill4(pol);
        /* at 160 ms pair 0 is idle (> T_T1): reclaimed whatever the policy */
        CHECK_EQ(pkt(pol, k4(4, 1), T0 + 160 * MS), XP_VERDICT_FORWARD);
        CHECK_EQ(xp_policer__lookup(pol, &(struct xp_policer_key){0}, &s), -ENOENT);
        {
            struct xp_policer_key k0 = k4(0, 1);

            CHECK_EQ(xp_policer__lookup(pol, &k0, &s), -ENOENT);
        }
        st(pol, k4(4, 1));
        xp_policer__stats(pol, &stt);
        CHECK_EQ(stt.evict_idle, 1);
        CHECK_EQ(stt.pairs_in_use, 4);
        CHECK_EQ(agg_of(dst, nk).c, 4); /* 1..3 restarted at 150+ ms: c = 1 each */

        /* no idle pair left: the policy decides */
        v = pkt(pol, nk, T0 + 170 * MS);
        xp_policer__stats(pol, &stt);
        CHECK_EQ(stt.pairs_in_use, 4);
        switch (policies[i]) {
        case XP_FULL_EVICT_OLDEST: {
            struct xp_policer_key k1 = k4(1, 1);

            CHECK_EQ(v, XP_VERDICT_FORWARD);
            CHECK_EQ(stt.evict_oldest, 1);
            CHECK_EQ(xp_policer__lookup(pol, &k1, &s), -ENOENT);
            CHECK_EQ(st(pol, nk).c, 1);
            CHECK_EQ(agg_of(dst, nk).c, 4);
            CHECK_EQ(agg_of(dst, nk).ts1, T0 + 151 * MS);
            break;
        }
        case XP_FULL_REFUSE_PASS:
            CHECK_EQ(v, XP_VERDICT_FORWARD);
            CHECK_EQ(stt.refused_pass, 1);
            CHECK_EQ(stt.forward, 4 + 3 + 1 + 1);
            CHECK_EQ(xp_policer__lookup(pol, &nk, &s), -ENOENT);
            CHECK_EQ(xp_policer__account(pol, &nk, 3, T0 + 171 * MS), -ENOSPC);
            break;
        case XP_FULL_REFUSE_DROP:
            CHECK_EQ(v, XP_VERDICT_DROP_FULL);
            CHECK_EQ(stt.refused_drop, 1);
            CHECK_EQ(stt.drop_full, 1);
            CHECK_EQ(xp_policer__lookup(pol, &nk, &s), -ENOENT);
            break;
        }
        xp_policer__destroy(pol);
        xp_dst_table__destroy(dst);
    }
}

static void test_account(void)
{
    struct xp_policer_limits lim = test_limits();
    struct xp_dst_table *dst = xp_dst_table__create(64, 1);
    struct xp_policer *pol = mkpol(dst, &lim, 64, 0);
    struct xp_policer_key k = k4(7, 1);
    struct xp_pair_state s;

    CHECK_EQ(xp_policer__account(pol, &k, 0, T0), -EINVAL);
    CHECK_EQ(pkt(pol, k, T0), XP_VERDICT_FORWARD);
    CHECK_EQ(xp_policer__account(pol, &k, 5000, T0 + 50 * MS), 0);
    s = st(pol, k);
    CHECK_EQ(s.c, 5001);
    CHECK_EQ(s.dc, 5001);
    CHECK_EQ(s.ts2, T0 + 50 * MS);
    CHECK_EQ(agg_of(dst, k).c, 5001);
    CHECK_EQ(pkt(pol, k, T0 + 101 * MS), XP_VERDICT_DROP_UNIT);
    CHECK_EQ(st(pol, k).c, 5002);
    /* account after an idle gap restarts the window like packets would */
    CHECK_EQ(xp_policer__account(pol, &k, 10, T0 + 300 * MS), 0);
    s = st(pol, k);
    CHECK_EQ(s.c, 10);
    CHECK_EQ(s.ts1, T0 + 300 * MS);
    CHECK_EQ(s.mark, 1);
    CHECK_EQ(agg_of(dst, k).c, 10);
    /* account creates unknown pairs */
    k = k4(8, 1);
    CHECK_EQ(xp_policer__account(pol, &k, 7, T0 + 301 * MS), 0);
    CHECK_EQ(st(pol, k).c, 7);
    CHECK_EQ(agg_of(dst, k).c, 17);
    xp_policer__destroy(pol);
    xp_dst_table__destroy(dst);
}

static void test_shrink(void)
{
    struct xp_policer_limits lim = test_limits();
    struct xp_dst_table *dst = xp_dst_table__create(64, 1);
    struct xp_policer *pol;
    struct xp_policer_key k = k4(9, 1);
    struct xp_pair_state s;
    struct xp_dst_aggregate g;

    lim.shrink_r = 2;
    lim.t_t4_ns = 200 * MS;
    CHECK_EQ(xp_policer_limits__check(&lim), -EINVAL); /* 200/2 is not > T_T2 */
    lim.t_t4_ns = 400 * MS;
    CHECK_EQ(xp_policer_limits__check(&lim), 0);
    pol = mkpol(dst, &lim, 64, 0);
    for (uint64_t t = T0; t <= T0 + 400 * MS; t += 10 * MS)
        pkt(pol, k, t);
    s = st(pol, k);
    CHECK_EQ(s.c, 41);
    CHECK_EQ(s.ts1, T0);
    pkt(pol, k, T0 + 410 * MS);
    s = st(pol, k);
    CHECK_EQ(s.c, 21);
    CHECK_EQ(s.ts1, T0 + 410 * MS - 205 * MS);
    CHECK_EQ(s.ts2, T0 + 410 * MS);
    CHECK_EQ(s.dc, 21); /* the local delta shrinks with the window (exactly once) */
    g = agg_of(dst, k);
    CHECK_EQ(g.c, 21);
    CHECK_EQ(g.ts1, s.ts1);
    CHECK_EQ(g.ts2, s.ts2);
    /* r = 3 floors c */
    lim.shrink_r = 3;
    lim.t_t4_ns = 400 * MS;
    CHECK_EQ(xp_policer__set_limits(pol, &lim), 0);
    for (uint64_t t = T0 + 420 * MS; t <= T0 + 610 * MS; t += 10 * MS)
        pkt(pol, k, t);
    s = st(pol, k);
    /* at 610 ms: span 405 ms > T_T4 with c = 21 + 20 = 41 -> 13, ts1 = 610 - 135 */
    CHECK_EQ(s.c, 13);
    CHECK_EQ(s.ts1, T0 + 610 * MS - 135 * MS);
    CHECK_EQ(agg_of(dst, k).c, 13);
    xp_policer__destroy(pol);
    xp_dst_table__destroy(dst);
}

static void test_sync(void)
{
    struct xp_policer_limits lim = test_limits();
    struct xp_dst_table *dst = xp_dst_table__create(64, 1);
    struct xp_policer *pol = mkpol(dst, &lim, 64, 0);
    struct xp_policer_key a = k4(1, 1), b = k4(2, 1), c = k4(3, 1);
    struct xp_pair_record rec[4];
    struct xp_pair_state fresh, s;
    struct xp_dst_aggregate g;
    unsigned n;

    for (unsigned i = 0; i < 10; i++)
        pkt(pol, a, T0 + i * MS);
    pkt(pol, b, T0 + 5 * MS);
    n = xp_policer__collect_dirty(pol, rec, 4);
    CHECK_EQ(n, 2);
    CHECK(memcmp(&rec[0].key, &a, sizeof(a)) == 0);
    CHECK_EQ(rec[0].st.c, 10);
    CHECK_EQ(rec[0].st.dc, 10);
    CHECK_EQ(xp_policer__collect_dirty(pol, rec + 2, 2), 0);
    /* three packets arrive while the request is in flight */
    for (unsigned i = 10; i < 13; i++)
        pkt(pol, a, T0 + i * MS);
    /* central: the global window started earlier and holds 50 packets */
    fresh = (struct xp_pair_state){.ts1 = T0 - 50 * MS, .ts2 = T0 + 9 * MS, .c = 50};
    CHECK_EQ(xp_policer__install(pol, &a, &rec[0].st, &fresh), 0);
    s = st(pol, a);
    CHECK_EQ(s.c, 53);
    CHECK_EQ(s.dc, 3);
    CHECK_EQ(s.ts1, T0 - 50 * MS);
    CHECK_EQ(s.ts2, T0 + 12 * MS);
    g = agg_of(dst, a);
    CHECK_EQ(g.c, 54);
    CHECK_EQ(g.ts1, T0 - 50 * MS);
    CHECK_EQ(g.ts2, T0 + 12 * MS);
    /* b: nothing new, central moves ts2 later */
    fresh = (struct xp_pair_state){.ts1 = T0, .ts2 = T0 + 20 * MS, .c = 4};
    CHECK_EQ(xp_policer__install(pol, &b, &rec[1].st, &fresh), 0);
    s = st(pol, b);
    CHECK_EQ(s.c, 4);
    CHECK_EQ(s.dc, 0);
    g = agg_of(dst, a);
    CHECK_EQ(g.c, 57);
    CHECK_EQ(g.ts2, T0 + 20 * MS);
    /* a pair only the central node knows is created */
    fresh = (struct xp_pair_state){.ts1 = T0 - 10 * MS, .ts2 = T0 + 1 * MS, .c = 100};
    CHECK_EQ(xp_policer__install(pol, &c, NULL, &fresh), 0);
    s = st(pol, c);
    CHECK_EQ(s.c, 100);
    CHECK_EQ(s.ts1, T0 - 10 * MS);
    g = agg_of(dst, a);
    CHECK_EQ(g.c, 157);
    CHECK_EQ(g.ts1, T0 - 50 * MS);
    /* a's window restarts locally while a request is in flight: local wins */
    n = xp_policer__collect_dirty(pol, rec, 4);
    CHECK_EQ(n, 1);
    pkt(pol, a, T0 + 500 * MS);
    fresh = (struct xp_pair_state){.ts1 = T0 - 50 * MS, .ts2 = T0 + 12 * MS, .c = 999};
    CHECK_EQ(xp_policer__install(pol, &a, &rec[0].st, &fresh), 0);
    s = st(pol, a);
    CHECK_EQ(s.c, 1);
    CHECK_EQ(s.ts1, T0 + 500 * MS);
    CHECK_EQ(s.mark, 1);
    g = agg_of(dst, a);
    CHECK_EQ(g.c, 1 + 4 + 100);
    CHECK_EQ(g.ts1, T0 - 10 * MS);
    CHECK_EQ(g.ts2, T0 + 500 * MS);
    CHECK_EQ(xp_policer__install(pol, &a, NULL, NULL), -EINVAL);
    xp_policer__destroy(pol);
    xp_dst_table__destroy(dst);
}

/* ---- randomized cross-check of the incremental aggregate against brute force ---- */

static uint64_t rnd_state = 88172645463325252ULL;

static uint64_t rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return rnd_state;
}

/*
 * Random packets, accounts and installs (an earlier ts1: out of the FIFO's
 * order, into the heap) against every destination's aggregate recomputed
 * from the pairs. Few units: small orders, evictions; many units over two
 * destinations: long FIFOs and deep heaps, ts2_max recomputed through both.
 */
static void random_consistency(unsigned N_UNITS, unsigned N_DST, uint32_t cap, unsigned N_OPS)
{
    struct xp_policer_limits lim = test_limits();
    struct xp_dst_table *dst = xp_dst_table__create(16, 2);
    struct xp_policer *pol[2];
    uint64_t t = T0;
    unsigned bad = 0;

    lim.shrink_r = 2;
    lim.t_t4_ns = 300 * MS;
    pol[0] = mkpol(dst, &lim, cap, 0);
    pol[1] = mkpol(dst, &lim, cap, 1);
    for (unsigned op = 0; op < N_OPS; op++) {
        unsigned u = rnd() % N_UNITS, d = rnd() % N_DST;
        struct xp_policer *p = pol[u & 1]; /* a pair always lands on one worker */
        struct xp_policer_key k = k4(u, d);
        unsigned what = rnd() % 100;

        /* with many units, time runs slower so that windows still grow past T_T4 */
        t += rnd() % (N_UNITS > 100 ? 20000 : 100) == 0 ? 150 * MS
                                                         : rnd() % (3 * MS * 20 / N_UNITS * 2);
        if (what < 85) {
            pkt(p, k, t);
        } else if (what < 95) {
            xp_policer__account(p, &k, 1 + rnd() % 50, t);
        } else {
            struct xp_pair_state cur, fresh;

            if (xp_policer__lookup(p, &k, &cur) == 0) {
                fresh = cur;
                fresh.ts1 = cur.ts1 - rnd() % (200 * MS);
                fresh.c = cur.c + rnd() % 100;
                fresh.dc = 0;
                xp_policer__install(p, &k, &cur, &fresh);
            }
        }
        if (op % (N_UNITS > 100 ? 1009 : 97) != 0)
            continue;
        for (unsigned dd = 0; dd < N_DST; dd++) {
            uint64_t c = 0, ts1 = UINT64_MAX, ts2 = 0;
            struct xp_dst_aggregate g = {0};

            for (unsigned uu = 0; uu < N_UNITS; uu++) {
                struct xp_policer_key kk = k4(uu, dd);
                struct xp_pair_state s;

                if (xp_policer__lookup(pol[uu & 1], &kk, &s) < 0)
                    continue;
                c += s.c;
                ts1 = s.ts1 < ts1 ? s.ts1 : ts1;
                ts2 = s.ts2 > ts2 ? s.ts2 : ts2;
            }
            {
                struct xp_policer_key kk = k4(0, dd);

                if (xp_dst_table__lookup(dst, kk.dst, &g) < 0)
                    continue;
            }
            if (g.c != c || g.ts1 != ts1 || g.ts2 != ts2) {
                if (bad++ < 5)
                    fprintf(stderr, "op %u dst %u: agg c=%llu ts1=%llu ts2=%llu, want %llu %llu %llu\n",
                            op, dd, (unsigned long long)g.c, (unsigned long long)g.ts1,
                            (unsigned long long)g.ts2, (unsigned long long)c,
                            (unsigned long long)ts1, (unsigned long long)ts2);
            }
        }
    }
    CHECK_EQ(bad, 0);
    {
        struct xp_policer_stats s0;

        xp_policer__stats(pol[0], &s0);
        /* the trace must have exercised what it is meant to */
        CHECK(s0.shrinks > 0);
        CHECK(s0.restarts > 0);
        CHECK(s0.evict_idle + s0.evict_oldest > 0);
        CHECK(s0.installs > 0);
    }
    xp_policer__destroy(pol[0]);
    xp_policer__destroy(pol[1]);
    xp_dst_table__destroy(dst);
}

static void test_random_consistency(void)
{
    random_consistency(40, 3, 24, 200000);
    random_consistency(1000, 2, 400, 300000);
}

static void test_bad_args(void)
{
    struct xp_policer_limits lim = test_limits();
    struct xp_dst_table *dst = xp_dst_table__create(8, 1);
    struct xp_policer_config cfg = {.limits = lim, .capacity = 0};

    CHECK(xp_dst_table__create(8, 0) == NULL && errno == EINVAL);
    CHECK(xp_policer__create(&cfg, dst) == NULL && errno == EINVAL);
    cfg.capacity = 8;
    cfg.worker_id = 1;
    CHECK(xp_policer__create(&cfg, dst) == NULL && errno == EINVAL);
    cfg.worker_id = 0;
    cfg.limits.t_f1_pps = 0;
    CHECK(xp_policer__create(&cfg, dst) == NULL && errno == EINVAL);
    xp_policer_limits__init(&lim);
    CHECK_EQ(xp_policer_limits__check(&lim), 0);
    xp_policer__destroy(NULL);
    xp_dst_table__destroy(NULL);
    xp_dst_table__destroy(dst);
}

/* ---- xp_policer__packet_burst() against xp_policer__packet() ---- */

static void check_same_pairs(struct xp_policer *a, struct xp_policer *b,
                             struct xp_dst_table *da, struct xp_dst_table *db,
                             const struct xp_policer_key *keys, unsigned n_keys,
                             unsigned *bad)
{
    struct xp_policer_stats sa, sb;

    for (unsigned k = 0; k < n_keys; k++) {
        struct xp_pair_state x, y;
        struct xp_dst_aggregate ga = {0}, gb = {0};
        int ra, rb;

        memset(&x, 0, sizeof(x));
        memset(&y, 0, sizeof(y));
        ra = xp_policer__lookup(a, &keys[k], &x);
        rb = xp_policer__lookup(b, &keys[k], &y);
        if (ra != rb || (ra == 0 && (x.ts1 != y.ts1 || x.ts2 != y.ts2 || x.c != y.c ||
                                     x.dc != y.dc || x.mark != y.mark || x.gen != y.gen))) {
            if ((*bad)++ < 5)
                fprintf(stderr, "key %u: lookup %d/%d c %llu/%llu ts1 %llu/%llu\n", k, ra, rb,
                        (unsigned long long)x.c, (unsigned long long)y.c,
                        (unsigned long long)x.ts1, (unsigned long long)y.ts1);
        }
        ra = xp_dst_table__lookup(da, keys[k].dst, &ga);
        rb = xp_dst_table__lookup(db, keys[k].dst, &gb);
        if (ra != rb || ga.c != gb.c || ga.ts1 != gb.ts1 || ga.ts2 != gb.ts2) {
            if ((*bad)++ < 5)
                fprintf(stderr, "key %u: dst aggregate differs\n", k);
        }
    }
    xp_policer__stats(a, &sa);
    xp_policer__stats(b, &sb);
    if (memcmp(&sa, &sb, sizeof(sa)) != 0 && (*bad)++ < 5)
        fprintf(stderr, "stats differ: packets %llu/%llu inserts %llu/%llu\n",
                (unsigned long long)sa.packets, (unsigned long long)sb.packets,
                (unsigned long long)sa.inserts, (unsigned long long)sb.inserts);
}

static bool same_event(const struct xp_policer_event *x, const struct xp_policer_event *y)
{
    return x->kind == y->kind && memcmp(&x->key, &y->key, sizeof(x->key)) == 0 &&
           x->rate_pps == y->rate_pps && x->threshold_pps == y->threshold_pps &&
           x->t_ns == y->t_ns;
}

/*
 * One random trace (bursts of 1..150 packets sharing a time, repeated keys,
 * a table too small for the keys so pairs are created and evicted
 * mid-burst, idle gaps that restart windows, windows long enough to shrink,
 * clock backsteps, account, sync) through packet() on one policer and
 * packet_burst() on another: every verdict, event, pair state, aggregate
 * and counter must be the same.
 */
static void test_burst_equivalence(void)
{
    enum { N_UNITS = 60, N_DST = 5, N_KEYS = N_UNITS * N_DST, N_BURSTS = 6000, MAX_N = 150 };
    static const enum xp_full_policy policies[] = {
        XP_FULL_EVICT_OLDEST, XP_FULL_REFUSE_PASS, XP_FULL_REFUSE_DROP,
    };
    static struct xp_policer_key keys[N_KEYS], burst[MAX_N];
    static struct xp_policer_event ev_a[MAX_N], ev_b[MAX_N];
    static enum xp_verdict v_a[MAX_N], v_b[MAX_N];

    for (unsigned k = 0; k < N_KEYS; k++)
        keys[k] = k4(k / N_DST, k % N_DST);
    for (unsigned pi = 0; pi < 3; pi++) {
        struct xp_policer_limits lim = test_limits();
        struct xp_dst_table *da = xp_dst_table__create(16, 1), *db = xp_dst_table__create(16, 1);
        struct xp_policer *a, *b;
        struct xp_policer_stats s;
        uint64_t t = T0;
        unsigned bad = 0, mid_burst_inserts = 0;

        lim.shrink_r = 2;
        lim.t_t4_ns = 300 * MS;
        lim.t_f1_pps = 500;
        lim.t_f2_pps = 6000;
        lim.full_policy = policies[pi];
        /* 200 slots for 300 keys, 1/3 of them hot: creations and evictions all the time */
        a = mkpol(da, &lim, 200, 0);
        b = mkpol(db, &lim, 200, 0);
        for (unsigned it = 0; it < N_BURSTS; it++) {
            unsigned n = rnd() % 8 == 0 ? 1 + rnd() % MAX_N : 1 + rnd() % 64;
            unsigned na = 0, nb;
            uint64_t before;

            for (unsigned i = 0; i < n; i++) {
                unsigned r = rnd() % 100;

                if (i > 0 && r < 25) /* repeat a key of this burst */
                    burst[i] = burst[rnd() % i];
                else if (r < 70) /* hot keys */
                    burst[i] = keys[rnd() % (N_KEYS / 3)];
                else
                    burst[i] = keys[rnd() % N_KEYS];
            }
            if (rnd() % 200 == 0)
                t -= rnd() % (50 * MS); /* the wall clock steps back */
            else if (rnd() % 50 == 0)
                t += 150 * MS + rnd() % (100 * MS); /* idle: windows restart */
            else
                t += rnd() % (2 * MS);
            xp_policer__stats(b, &s);
            before = s.inserts;
            for (unsigned i = 0; i < n; i++) {
                struct xp_policer_event ev;

                v_a[i] = xp_policer__packet(a, &burst[i], t, &ev);
                if (ev.kind != XP_POLICER_EV_NONE)
                    ev_a[na++] = ev;
            }
            memset(ev_b, 0xa5, sizeof(ev_b));
            nb = xp_policer__packet_burst(b, burst, n, t, v_b, it % 7 == 3 ? NULL : ev_b);
            xp_policer__stats(b, &s);
            mid_burst_inserts += s.inserts - before > 1;
            if (na != nb) {
                if (bad++ < 5)
                    fprintf(stderr, "burst %u: %u events, burst gave %u\n", it, na, nb);
                continue;
            }
            for (unsigned i = 0; i < n; i++)
                if (v_a[i] != v_b[i] && bad++ < 5)
                    fprintf(stderr, "burst %u packet %u: verdict %d, burst gave %d\n", it, i,
                            v_a[i], v_b[i]);
            if (it % 7 != 3)
                for (unsigned i = 0; i < na; i++)
                    if (!same_event(&ev_a[i], &ev_b[i]) && bad++ < 5)
                        fprintf(stderr, "burst %u event %u differs\n", it, i);

            /* now and then the same account / sync on both */
            if (rnd() % 10 == 0) {
                const struct xp_policer_key *k = &keys[rnd() % N_KEYS];
                uint64_t cnt = 1 + rnd() % 40;

                CHECK_EQ(xp_policer__account(a, k, cnt, t), xp_policer__account(b, k, cnt, t));
            }
            if (rnd() % 25 == 0) {
                struct xp_pair_record ra[32], rb[32];
                unsigned ca = xp_policer__collect_dirty(a, ra, 32);
                unsigned cb = xp_policer__collect_dirty(b, rb, 32);

                CHECK_EQ(ca, cb);
                for (unsigned i = 0; i < ca && i < cb; i++) {
                    struct xp_pair_state fresh = ra[i].st;

                    CHECK(memcmp(&ra[i].key, &rb[i].key, sizeof(ra[i].key)) == 0);
                    CHECK(ra[i].st.ts1 == rb[i].st.ts1 && ra[i].st.ts2 == rb[i].st.ts2 &&
                          ra[i].st.c == rb[i].st.c && ra[i].st.dc == rb[i].st.dc &&
                          ra[i].st.mark == rb[i].st.mark && ra[i].st.gen == rb[i].st.gen);
                    fresh.ts1 -= rnd() % (100 * MS);
                    fresh.c += rnd() % 50;
                    fresh.dc = 0;
                    CHECK_EQ(xp_policer__install(a, &ra[i].key, &ra[i].st, &fresh),
                             xp_policer__install(b, &rb[i].key, &rb[i].st, &fresh));
                }
            }
            if (it % 50 == 0)
                check_same_pairs(a, b, da, db, keys, N_KEYS, &bad);
        }
        check_same_pairs(a, b, da, db, keys, N_KEYS, &bad);
        CHECK_EQ(bad, 0);
        xp_policer__stats(b, &s);
        if (getenv("XP_POLICER_TRACE_STATS"))
            fprintf(stderr, "policy %d: mid %u ins %llu rs %llu sh %llu w %llu du %llu dd %llu "
                    "fw %llu cb %llu ei %llu eo %llu rp %llu rd %llu\n", policies[pi],
                    mid_burst_inserts, (unsigned long long)s.inserts,
                    (unsigned long long)s.restarts, (unsigned long long)s.shrinks,
                    (unsigned long long)s.warnings, (unsigned long long)s.drop_unit,
                    (unsigned long long)s.drop_dst, (unsigned long long)s.forward,
                    (unsigned long long)s.clock_backsteps, (unsigned long long)s.evict_idle,
                    (unsigned long long)s.evict_oldest, (unsigned long long)s.refused_pass,
                    (unsigned long long)s.refused_drop);
        /* the trace must have exercised what it is meant to */
        CHECK(mid_burst_inserts > 0);
        CHECK(s.restarts > 0);
        CHECK(s.shrinks > 0);
        CHECK(s.warnings > 0);
        CHECK(s.drop_unit > 0);
        CHECK(s.drop_dst > 0);
        CHECK(s.clock_backsteps > 0);
        CHECK(s.installs > 0);
        if (policies[pi] == XP_FULL_EVICT_OLDEST)
            CHECK(s.evict_idle > 0 && s.evict_oldest > 0);
        else
            CHECK(s.refused_pass + s.refused_drop > 0);
        if (policies[pi] == XP_FULL_REFUSE_DROP)
            CHECK(s.drop_full > 0);
        xp_policer__destroy(a);
        xp_policer__destroy(b);
        xp_dst_table__destroy(da);
        xp_dst_table__destroy(db);
    }
}

static void test_burst_edges(void)
{
    struct xp_policer_limits lim = test_limits();
    struct xp_dst_table *dst = xp_dst_table__create(64, 1);
    struct xp_policer *pol = mkpol(dst, &lim, 64, 0);
    struct xp_policer_key k = k4(1, 1);
    enum xp_verdict v = XP_VERDICT_DROP_FULL;
    struct xp_policer_stats s;

    /* an empty burst does nothing */
    CHECK_EQ(xp_policer__packet_burst(pol, &k, 0, T0, &v, NULL), 0);
    CHECK_EQ(v, XP_VERDICT_DROP_FULL);
    xp_policer__stats(pol, &s);
    CHECK_EQ(s.packets, 0);
    CHECK_EQ(xp_policer__packet_burst(pol, &k, 1, T0, &v, NULL), 0);
    CHECK_EQ(v, XP_VERDICT_FORWARD);
    CHECK_EQ(st(pol, k).c, 1);
    xp_policer__destroy(pol);
    xp_dst_table__destroy(dst);
}

/* ---- measurements (XP_POLICER_BENCH=1) ---- */

/*
 * Sleeper: 10 pps (below T_T1 gaps, so one window) for 10 min, then a flood
 * at 10 x T_F1. Returns the delay to the first DROP_UNIT in ns.
 */
static uint64_t sleeper_delay(uint32_t r, uint64_t t4)
{
    struct xp_policer_limits lim;
    struct xp_dst_table *dst = xp_dst_table__create(16, 1);
    struct xp_policer *pol;
    struct xp_policer_key k = k4(1, 1);
    uint64_t t = T0, flood, step = SEC / (10 * XP_POLICER_DEF_T_F1_PPS), delay = UINT64_MAX;

    xp_policer_limits__init(&lim);
    lim.shrink_r = r;
    lim.t_t4_ns = t4;
    pol = mkpol(dst, &lim, 16, 0);
    for (; t < T0 + 600 * SEC; t += 100 * MS)
        pkt(pol, k, t);
    flood = t;
    for (; t < flood + 300 * SEC; t += step) {
        if (pkt(pol, k, t) == XP_VERDICT_DROP_UNIT) {
            delay = t - flood;
            break;
        }
    }
    xp_policer__destroy(pol);
    xp_dst_table__destroy(dst);
    return delay;
}

static void bench_sleeper(void)
{
    static const struct {
        uint32_t r;
        uint64_t t4;
    } cases[] = {
        {1, 1 * SEC}, {2, 3 * SEC}, {2, 4 * SEC}, {2, 8 * SEC}, {4, 5 * SEC}, {4, 8 * SEC},
    };

    printf("sleeper (10 pps for 600 s, then %llu pps):\n", 10 * XP_POLICER_DEF_T_F1_PPS);
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint64_t d = sleeper_delay(cases[i].r, cases[i].t4);

        printf("  r=%u T_T4=%llu s: detection delay %.3f ms\n", cases[i].r,
               (unsigned long long)(cases[i].t4 / SEC), d / 1e6);
    }
}

/* numa_local puts the pair pool on the node asked for (node 0 exists on every machine). */
static void test_numa_local(void)
{
    struct xp_policer_limits lim = test_limits();
    struct xp_dst_table *dst = xp_dst_table__create(64, 1);
    struct xp_policer_config cfg = {
        .limits = lim, .capacity = 4096, .hash_seed = 42, .numa_local = true, .numa_node = 0,
    };
    struct xp_policer *pol = xp_policer__create(&cfg, dst);

    CHECK(pol != NULL);
    CHECK_EQ(pkt(pol, k4(1, 1), T0), XP_VERDICT_FORWARD);
    if (numa_available() >= 0)
        CHECK_EQ(xp_policer__numa_node(pol), 0);
    else
        CHECK_EQ(xp_policer__numa_node(pol), -1);
    xp_policer__destroy(pol);
    xp_dst_table__destroy(dst);
}

/* scan() visits every pair in use exactly once, in slices. */
static void test_scan(void)
{
    struct xp_policer_limits lim = test_limits();
    struct xp_dst_table *dst = xp_dst_table__create(64, 1);
    struct xp_policer *pol = mkpol(dst, &lim, 256, 0);
    struct xp_pair_record rec[8];
    unsigned seen[5] = { 0 }, total = 0;
    uint32_t cursor = 0;

    for (unsigned u = 0; u < 5; u++) {
        for (unsigned i = 0; i <= u; i++)
            pkt(pol, k4(u + 1, 9), MS * (10 + i));
    }
    while (cursor < xp_policer__capacity(pol)) {
        unsigned n = xp_policer__scan(pol, &cursor, 16, rec, 8);

        for (unsigned i = 0; i < n; i++) {
            for (unsigned u = 0; u < 5; u++) {
                struct xp_policer_key k = k4(u + 1, 9);

                if (memcmp(&rec[i].key, &k, sizeof(k)) == 0) {
                    seen[u]++;
                    CHECK_EQ(rec[i].st.c, u + 1);
                }
            }
            total++;
        }
    }
    CHECK_EQ(total, 5);
    for (unsigned u = 0; u < 5; u++)
        CHECK_EQ(seen[u], 1);
    xp_policer__destroy(pol);
    xp_dst_table__destroy(dst);
}

/*
 * The aggregate holds active pairs only: a unit that spoke to D and went
 * quiet leaves c*, ts1* and ts2* once the sweep sees it idle (> T_T1), so it
 * cannot stretch D's window; its next packet brings it back as a new window.
 */
static void test_idle_leaves_aggregate(void)
{
    struct xp_policer_limits lim = test_limits();
    struct xp_dst_table *dst = xp_dst_table__create(64, 2);
    struct xp_policer *w0 = mkpol(dst, &lim, 64, 0), *w1 = mkpol(dst, &lim, 64, 1);
    struct xp_policer_key quiet = k4(1, 7), busy = k4(2, 7);
    struct xp_dst_aggregate g;
    struct xp_policer_stats ps;

    for (unsigned i = 0; i < 20; i++)
        pkt(w0, quiet, T0 + i * MS);
    for (unsigned i = 0; i < 300; i++)
        pkt(w1, busy, T0 + 50 * MS + i * MS);
    g = agg_of(dst, busy);
    CHECK_EQ(g.c, 320);
    CHECK_EQ(g.ts1, T0);
    /* not idle yet at exactly T_T1 after its last packet */
    CHECK_EQ(xp_policer__expire(w0, T0 + 19 * MS + 100 * MS, 64), 0);
    CHECK_EQ(xp_policer__expire(w0, T0 + 19 * MS + 100 * MS + 1, 64), 1);
    g = agg_of(dst, busy);
    CHECK_EQ(g.c, 300);
    CHECK_EQ(g.ts1, T0 + 50 * MS);
    CHECK_EQ(g.ts2, T0 + 349 * MS);
    xp_policer__stats(w0, &ps);
    CHECK_EQ(ps.idle_left, 1);
    CHECK_EQ(ps.pairs_in_use, 1);
    /* a second sweep does nothing; the pair stays in the table */
    CHECK_EQ(xp_policer__expire(w0, T0 + 400 * MS, 64), 0);
    /* its next packet restarts it and it rejoins */
    pkt(w0, quiet, T0 + 400 * MS);
    g = agg_of(dst, busy);
    CHECK_EQ(g.c, 301);
    CHECK_EQ(g.ts1, T0 + 50 * MS);
    CHECK_EQ(g.ts2, T0 + 400 * MS);
    CHECK_EQ(st(w0, quiet).c, 1);
    CHECK_EQ(st(w0, quiet).ts1, T0 + 400 * MS);
    /* both idle: the destination is empty */
    CHECK_EQ(xp_policer__expire(w0, T0 + 900 * MS, 64), 1);
    CHECK_EQ(xp_policer__expire(w1, T0 + 900 * MS, 64), 1);
    g = agg_of(dst, busy);
    CHECK_EQ(g.c, 0);
    CHECK_EQ(g.ts1, UINT64_MAX);
    CHECK_EQ(g.ts2, 0);
    /* an idle pair evicted later leaves nothing behind */
    xp_policer__destroy(w0);
    g = agg_of(dst, busy);
    CHECK_EQ(g.c, 0);
    xp_policer__destroy(w1);
    xp_dst_table__destroy(dst);
}

/* An install into an idle pair with a live central window brings it back into the aggregate. */
static void test_install_idle_rejoins(void)
{
    struct xp_policer_limits lim = test_limits();
    struct xp_dst_table *dst = xp_dst_table__create(64, 1);
    struct xp_policer *pol = mkpol(dst, &lim, 64, 0);
    struct xp_policer_key a = k4(1, 3);
    struct xp_pair_state fresh;

    pkt(pol, a, T0);
    CHECK_EQ(xp_policer__expire(pol, T0 + 200 * MS, 64), 1);
    CHECK_EQ(agg_of(dst, a).c, 0);
    /* another proxy kept the pair alive: the central row ends at T0 + 190 ms */
    pkt(pol, k4(9, 9), T0 + 200 * MS); /* advances the policer's clock */
    fresh = (struct xp_pair_state){.ts1 = T0, .ts2 = T0 + 190 * MS, .c = 40};
    CHECK_EQ(xp_policer__install(pol, &a, NULL, &fresh), 0);
    CHECK_EQ(agg_of(dst, a).c, 41); /* the central's 40 plus our unsent packet */
    CHECK_EQ(agg_of(dst, a).ts1, T0);
    xp_policer__destroy(pol);
    xp_dst_table__destroy(dst);
}

/*
 * Exactly once across a shrink in flight: the snapshot was shipped, then
 * the window shrank here before the answer came back. The answer is for
 * the pre-shrink window: the local (shrunk) window stays and only the
 * shipped packets, scaled as the shrink scaled dc, leave dc.
 */
static void test_install_after_shrink_in_flight(void)
{
    struct xp_policer_limits lim = test_limits();
    struct xp_dst_table *dst = xp_dst_table__create(64, 1);
    struct xp_policer *pol;
    struct xp_policer_key a = k4(1, 1);
    struct xp_pair_record rec[2];
    struct xp_pair_state fresh, s, before;

    lim.shrink_r = 2;
    lim.t_t4_ns = 400 * MS;
    pol = mkpol(dst, &lim, 64, 0);
    for (uint64_t t = T0; t <= T0 + 400 * MS; t += 10 * MS)
        pkt(pol, a, t);
    CHECK_EQ(xp_policer__collect_dirty(pol, rec, 2), 1);
    CHECK_EQ(rec[0].st.dc, 41);
    pkt(pol, a, T0 + 410 * MS); /* shrinks: c 42 -> 21, dc 42 -> 21 */
    before = st(pol, a);
    CHECK_EQ(before.c, 21);
    CHECK_EQ(before.dc, 21);
    fresh = rec[0].st;
    fresh.dc = 0;
    fresh.mark = false;
    CHECK_EQ(xp_policer__install(pol, &a, &rec[0].st, &fresh), 0);
    s = st(pol, a);
    CHECK_EQ(s.c, 21);
    CHECK_EQ(s.ts1, before.ts1);
    CHECK_EQ(s.dc, 21 - 41 / 2); /* the one packet after the snapshot, scaled: 1 */
    xp_policer__destroy(pol);
    xp_dst_table__destroy(dst);
}

/* A pair only the central node knows never evicts one of ours. */
static void test_install_never_evicts_local(void)
{
    struct xp_policer_limits lim = test_limits();
    struct xp_dst_table *dst = xp_dst_table__create(64, 1);
    struct xp_policer *pol = mkpol(dst, &lim, 4, 0);
    struct xp_pair_state fresh = {.ts1 = T0, .ts2 = T0 + 5 * MS, .c = 7};
    struct xp_policer_stats ps;

    for (unsigned u = 0; u < 4; u++)
        pkt(pol, k4(u, 1), T0 + 5 * MS);
    {
        struct xp_policer_key far = k4(50, 2);

        CHECK_EQ(xp_policer__install(pol, &far, NULL, &fresh), -ENOSPC);
    }
    xp_policer__stats(pol, &ps);
    CHECK_EQ(ps.install_refused, 1);
    CHECK_EQ(ps.evict_oldest, 0);
    for (unsigned u = 0; u < 4; u++)
        CHECK_EQ(st(pol, k4(u, 1)).c, 1);
    xp_policer__destroy(pol);
    xp_dst_table__destroy(dst);
}

/* IPv4 key unit 10.u.u.u -> dst 100.64.0.0 + d (d < 2^22) */
static struct xp_policer_key k4_wide(uint32_t u, uint32_t d)
{
    struct xp_policer_key k;
    uint32_t s = htonl(0x0a000000U | (u & 0xffffff)), t = htonl(0x64400000U | (d & 0x3fffff));

    xp_policer_key__build(&k, AF_INET, &s, &t, 64);
    return k;
}

/*
 * A scan of many destinations (10 million by default, XP_SCAN_DSTS) into a
 * destination table of 100,000: idle pairs let go of their destination, the
 * reclaimer frees unused entries after a grace period, and the table never
 * fills. Afterwards the destination test still fires for a new victim.
 * Two workers (driven by this thread) announce quiescence every "turn".
 */
static void test_dst_reclaim_under_scan(void)
{
    struct xp_policer_limits lim = test_limits();
    struct xp_dst_table *dst = xp_dst_table__create(100000, 2);
    struct xp_policer *w[2];
    const char *env = getenv("XP_SCAN_DSTS");
    uint64_t n_scan = env ? strtoull(env, NULL, 10) : 10000000ULL;
    uint64_t t = T0, step = 10 * 1000; /* 100,000 new destinations per second */
    uint64_t last_sweep = T0, last_reclaim = T0;
    uint32_t cap = 65536;
    unsigned drops = 0;

    lim.t_f1_pps = 100000; /* only the destination test here */
    lim.t_f2_pps = 2000;
    w[0] = mkpol(dst, &lim, cap, 0);
    w[1] = mkpol(dst, &lim, cap, 1);
    for (uint64_t i = 0; i < n_scan; i++, t += step) {
        struct xp_policer_key k = k4_wide((uint32_t)(i % 4096), (uint32_t)(i % 4000000));

        pkt(w[i & 1], k, t);
        if ((i & 63) == 63) {
            /* a loop turn: quiescent, then the paced sweep (whole table per T_T1/2) */
            uint64_t budget = (uint64_t)cap * (t - last_sweep) / (lim.t_t1_ns / 2);

            for (unsigned q = 0; q < 2; q++)
                xp_policer__quiescent(w[q]);
            if (budget) {
                for (unsigned q = 0; q < 2; q++)
                    xp_policer__expire(w[q], t, (uint32_t)budget);
                last_sweep = t;
            }
        }
        if (t - last_reclaim >= 100 * MS) {
            xp_dst_table__reclaim(dst, 131072);
            last_reclaim = t;
        }
    }
    CHECK_EQ(xp_dst_table__failures(dst), 0);
    CHECK(xp_dst_table__reclaimed(dst) > n_scan / 2);
    CHECK(xp_dst_table__count(dst) < 100000);
    /* a new victim: 4 units at 1000 pps each over T_F2 = 2000 together */
    {
        uint64_t t1 = t + SEC;

        for (unsigned j = 0; j < 1000; j++)
            for (unsigned u = 0; u < 4; u++)
                if (pkt(w[u & 1], k4_wide(100000 + u, 4000001), t1 + j * MS + u) ==
                    XP_VERDICT_DROP_DST)
                    drops++;
        /* warm-up T_T3 = 100 ms, then everything over the rate is dropped */
        CHECK(drops > 3000);
    }
    printf("dst reclaim: %llu destinations scanned, %llu reclaimed, %llu in use, 0 failures, "
           "victim: %u of 4000 dropped by the destination test\n",
           (unsigned long long)n_scan, (unsigned long long)xp_dst_table__reclaimed(dst),
           (unsigned long long)xp_dst_table__count(dst), drops);
    xp_policer__destroy(w[0]);
    xp_policer__destroy(w[1]);
    xp_dst_table__destroy(dst);
}

/* A destination marked for reclaim is revived by a pair that joins it before the grace ends. */
static void test_dst_reclaim_revive(void)
{
    struct xp_policer_limits lim = test_limits();
    struct xp_dst_table *dst = xp_dst_table__create(64, 1);
    struct xp_policer *pol = mkpol(dst, &lim, 64, 0);
    struct xp_policer_key a = k4(1, 5), b = k4(2, 5);

    pkt(pol, a, T0);
    CHECK_EQ(xp_policer__expire(pol, T0 + 200 * MS, 64), 1);
    CHECK_EQ(xp_dst_table__reclaim(dst, 64), 0); /* marked */
    pkt(pol, b, T0 + 210 * MS);                  /* joins it: revived */
    xp_policer__quiescent(pol);
    CHECK_EQ(xp_dst_table__reclaim(dst, 64), 0);
    CHECK_EQ(xp_dst_table__count(dst), 1);
    CHECK_EQ(agg_of(dst, b).c, 1);
    /* unused and quiescent: freed after one grace period */
    CHECK_EQ(xp_policer__expire(pol, T0 + 400 * MS, 64), 1);
    CHECK_EQ(xp_dst_table__reclaim(dst, 64), 0);
    CHECK_EQ(xp_dst_table__reclaim(dst, 64), 0); /* grace not over: no quiescent state yet */
    xp_policer__quiescent(pol);
    CHECK_EQ(xp_dst_table__reclaim(dst, 64), 1);
    CHECK_EQ(xp_dst_table__count(dst), 0);
    /* and the destination comes back as a new entry with the next packet */
    pkt(pol, a, T0 + 500 * MS);
    CHECK_EQ(agg_of(dst, a).c, 1);
    CHECK_EQ(xp_dst_table__count(dst), 1);
    xp_policer__destroy(pol);
    xp_dst_table__destroy(dst);
}

/*
 * Another proxy's pair, known only from sync answers, carries the ts2 of the
 * last answer: it stays in the aggregate for T_T1 + remote_grace, so a sync
 * period longer than T_T1 does not blind the destination test between syncs.
 */
static void test_remote_pair_grace(void)
{
    struct xp_policer_limits lim = test_limits();
    struct xp_dst_table *dst = xp_dst_table__create(64, 1);
    struct xp_policer *pol;
    struct xp_policer_key remote = k4(1, 4), local = k4(2, 4);
    struct xp_pair_state fresh = {.ts1 = T0, .ts2 = T0 + 50 * MS, .c = 500};

    lim.remote_grace_ns = 400 * MS;
    pol = mkpol(dst, &lim, 64, 0);
    pkt(pol, local, T0 + 50 * MS);
    CHECK_EQ(xp_policer__install(pol, &remote, NULL, &fresh), 0);
    CHECK_EQ(agg_of(dst, local).c, 501);
    /* 300 ms later the local pair is idle, the remote one is within its grace */
    CHECK_EQ(xp_policer__expire(pol, T0 + 350 * MS, 64), 1);
    CHECK_EQ(agg_of(dst, local).c, 500);
    /* past T_T1 + grace it leaves too */
    CHECK_EQ(xp_policer__expire(pol, T0 + 50 * MS + 500 * MS + 1, 64), 1);
    CHECK_EQ(agg_of(dst, local).c, 0);
    xp_policer__destroy(pol);
    xp_dst_table__destroy(dst);
}

/*
 * The pair holding the destination's latest ts2 leaves (idle), and the
 * others are remote rows installed with their ts1 out of order (so in the
 * pairing heap, not the FIFO) and kept by their grace: the new ts2_max must
 * be found anywhere in the heap, and ts1_min stays the earliest ts1.
 */
static void test_ts2_recompute_through_heap(void)
{
    enum { N = 200 };
    struct xp_policer_limits lim = test_limits();
    struct xp_dst_table *dst = xp_dst_table__create(64, 1);
    struct xp_policer *pol;
    struct xp_policer_key local = k4(900000, 7); /* no round's unit */

    lim.remote_grace_ns = 10000 * MS;
    pol = mkpol(dst, &lim, 32 * N, 0);
    for (unsigned round = 0; round < 20; round++) {
        uint64_t base = T0 + round * 100000 * MS, want_ts2 = 0, want_ts1 = UINT64_MAX;
        uint64_t want_c = 0;
        struct xp_dst_aggregate g;

        for (unsigned i = 0; i < N; i++) {
            struct xp_policer_key k = k4(round * N + i, 7);
            /* distinct ts2 values, the largest at a random position */
            struct xp_pair_state fresh = {
                .ts1 = base - 1000 * MS + rnd() % (900 * MS),
                .ts2 = base - 1 - (rnd() % (50 * MS)) * 2 - (i & 1),
                .c = 1 + rnd() % 100,
            };

            CHECK_EQ(xp_policer__install(pol, &k, NULL, &fresh), 0);
            want_ts2 = fresh.ts2 > want_ts2 ? fresh.ts2 : want_ts2;
            want_ts1 = fresh.ts1 < want_ts1 ? fresh.ts1 : want_ts1;
            want_c += fresh.c;
        }
        pkt(pol, local, base + 10 * MS);
        CHECK_EQ(agg_of(dst, local).ts2, base + 10 * MS);
        /* the local pair goes idle and leaves; the remote rows stay (grace) */
        CHECK_EQ(xp_policer__expire(pol, base + 10 * MS + lim.t_t1_ns + 1, 32 * N), 1);
        g = agg_of(dst, local);
        CHECK_EQ(g.ts2, want_ts2);
        CHECK_EQ(g.ts1, want_ts1);
        CHECK_EQ(g.c, want_c);
        /* all of this round's rows leave before the next */
        xp_policer__expire(pol, base + 50000 * MS, 32 * N);
        CHECK_EQ(agg_of(dst, local).c, 0);
    }
    xp_policer__destroy(pol);
    xp_dst_table__destroy(dst);
}

int main(void)
{
    const char *bench = getenv("XP_POLICER_BENCH");

    test_keys();
    test_ipv6_pairs();
    test_window();
    test_warmup_and_strict();
    test_warning_once();
    test_dst_two_workers();
    test_dst_strict();
    test_full();
    test_account();
    test_shrink();
    test_sync();
    test_random_consistency();
    test_ts2_recompute_through_heap();
    test_bad_args();
    test_burst_equivalence();
    test_burst_edges();
    test_scan();
    test_numa_local();
    test_idle_leaves_aggregate();
    test_install_idle_rejoins();
    test_install_after_shrink_in_flight();
    test_install_never_evicts_local();
    test_dst_reclaim_revive();
    test_remote_pair_grace();
    test_dst_reclaim_under_scan();
    if (bench && strcmp(bench, "1") == 0) {
        bench_sleeper();
    }
    return xp_check_report("test_policer");
}
