// SPDX-License-Identifier: GPL-2.0-only
/*
 * Drop provenance (issue 20): the evidence a drop verdict carries must be
 * the policer's state at that packet, not before it nor after (a later
 * packet of the burst, the shrink the verdict packet starts), and
 * xp_policer__why() must give the numbers and the verdict the next packet
 * would meet. Exact values on crafted traces.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "src/policer/policer.h"
#include "test_policer_common.h"
#include "xp_check.h"

static uint64_t rate(uint64_t c, uint64_t span)
{
    return span ? (uint64_t)((unsigned __int128)c * SEC / span) : 0;
}

static void check_limits(const struct xp_policer_evidence *w, const struct xp_policer_limits *lim)
{
    CHECK_EQ(w->t_f1_pps, lim->t_f1_pps);
    CHECK_EQ(w->t_f2_pps, lim->t_f2_pps);
    CHECK_EQ(w->t_t2_ns, lim->t_t2_ns);
    CHECK_EQ(w->t_t3_ns, lim->t_t3_ns);
    CHECK_EQ(w->dst_policy, 0);
}

/* One packet through the burst entry point; its evidence in *w (0xee where not written). */
static enum xp_verdict pkt_why(struct xp_policer *pol, struct xp_policer_key k, uint64_t t,
                               struct xp_policer_evidence *w)
{
    enum xp_verdict v;

    memset(w, 0xee, sizeof(*w));
    xp_policer__packet_burst_why(pol, &k, 1, t, &v, NULL, w);
    return v;
}

/*
 * A unit over T_F1: the first drop's evidence equals the pair as read right
 * after that packet (no shrink), and forwarded packets leave theirs alone.
 */
static void test_unit_evidence(void)
{
    struct xp_policer_limits lim = test_limits();
    struct xp_dst_table *dst = xp_dst_table__create(64, 1);
    struct xp_policer *pol = mkpol(dst, &lim, 64, 0);
    struct xp_policer_key k = k4(1, 1);
    struct xp_policer_evidence w, untouched;
    struct xp_dst_aggregate agg;
    struct xp_pair_state st;
    enum xp_verdict v = XP_VERDICT_FORWARD;
    unsigned i;

    memset(&untouched, 0xee, sizeof(untouched));
    /* 2000 pps: forwarded while the window is at most T_T2, dropped after */
    for (i = 0; i < 1000 && v == XP_VERDICT_FORWARD; i++) {
        v = pkt_why(pol, k, T0 + i * 500000ULL, &w);
        if (v == XP_VERDICT_FORWARD)
            CHECK(memcmp(&w, &untouched, sizeof(w)) == 0);
    }
    CHECK_EQ(v, XP_VERDICT_DROP_UNIT);
    CHECK_EQ(i, 202); /* the packet at 100.5 ms, the first over T_T2 */
    CHECK_EQ(xp_policer__lookup(pol, &k, &st), 0);
    CHECK_EQ(xp_dst_table__lookup(dst, k.dst, &agg), 0);
    CHECK_EQ(w.t_ns, T0 + 201 * 500000ULL);
    CHECK_EQ(w.ts1, st.ts1);
    CHECK_EQ(w.ts2, st.ts2);
    CHECK_EQ(w.c, st.c);
    CHECK_EQ(w.c, 202);
    CHECK_EQ(w.rate_pps, rate(202, 201 * 500000ULL));
    CHECK(w.rate_pps > lim.t_f1_pps);
    CHECK(w.has_dst);
    CHECK_EQ(w.dst_c, agg.c);
    CHECK_EQ(w.dst_ts1, agg.ts1);
    CHECK_EQ(w.dst_ts2, agg.ts2);
    CHECK_EQ(w.dst_rate_pps, rate(agg.c, agg.ts2 - agg.ts1));
    CHECK_EQ(w.dst_remote_pairs, 0);
    check_limits(&w, &lim);
    xp_policer__destroy(pol);
    xp_dst_table__destroy(dst);
}

/*
 * Within one burst, each dropped packet's evidence counts the packets before
 * it and itself, not the rest of the burst; a packet of another pair that
 * is forwarded keeps its entry untouched.
 */
static void test_burst_evidence(void)
{
    struct xp_policer_limits lim = test_limits();
    struct xp_dst_table *dst = xp_dst_table__create(64, 1);
    struct xp_policer *pol = mkpol(dst, &lim, 64, 0);
    struct xp_policer_key flood = k4(2, 1), calm = k4(3, 1), keys[16];
    struct xp_policer_evidence w[16], untouched;
    enum xp_verdict v[16];
    struct xp_pair_state st;

    memset(&untouched, 0xee, sizeof(untouched));
    /* 150 packets in the first 100 ms window, 1 for the calm unit */
    for (unsigned i = 0; i < 150; i++)
        xp_policer__packet(pol, &flood, T0 + i * 700000ULL, NULL);
    xp_policer__packet(pol, &calm, T0 + 105 * MS, NULL);
    for (unsigned i = 0; i < 16; i++)
        keys[i] = i % 4 == 3 ? calm : flood;
    memset(w, 0xee, sizeof(w));
    /* at 120 ms: 150 + 12 packets in 120 ms is over 1000 pps */
    xp_policer__packet_burst_why(pol, keys, 16, T0 + 120 * MS, v, NULL, w);
    for (unsigned i = 0, n = 150; i < 16; i++) {
        if (i % 4 == 3) {
            CHECK_EQ(v[i], XP_VERDICT_FORWARD);
            CHECK(memcmp(&w[i], &untouched, sizeof(w[i])) == 0);
            continue;
        }
        n++;
        CHECK_EQ(v[i], XP_VERDICT_DROP_UNIT);
        CHECK_EQ(w[i].c, n);
        CHECK_EQ(w[i].ts1, T0);
        CHECK_EQ(w[i].ts2, T0 + 120 * MS);
        CHECK_EQ(w[i].rate_pps, rate(n, 120 * MS));
        /* the aggregate at that packet: the flood so far and the calm unit's packets so far */
        CHECK_EQ(w[i].dst_c, n + 1 + i / 4);
    }
    CHECK_EQ(xp_policer__lookup(pol, &flood, &st), 0);
    CHECK_EQ(st.c, 162);
    xp_policer__destroy(pol);
    xp_dst_table__destroy(dst);
}

/* The packet that crosses T_T4 is judged on the whole window: its evidence is the pre-shrink one. */
static void test_evidence_before_shrink(void)
{
    struct xp_policer_limits lim = test_limits();
    struct xp_dst_table *dst = xp_dst_table__create(64, 1);
    struct xp_policer *pol;
    struct xp_policer_key k = k4(4, 1);
    struct xp_policer_evidence w;
    struct xp_pair_state st;
    unsigned i;

    lim.t_t4_ns = 400 * MS;
    lim.shrink_r = 2;
    pol = mkpol(dst, &lim, 64, 0);
    /* one packet per 0.5 ms up to 400 ms, then the one at 400.5 ms crosses T_T4 */
    for (i = 0; i <= 800; i++)
        xp_policer__packet(pol, &k, T0 + i * 500000ULL, NULL);
    CHECK_EQ(xp_policer__lookup(pol, &k, &st), 0);
    CHECK_EQ(st.c, 801);
    CHECK_EQ(pkt_why(pol, k, T0 + i * 500000ULL, &w), XP_VERDICT_DROP_UNIT);
    CHECK_EQ(w.c, 802);
    CHECK_EQ(w.ts1, T0);
    CHECK_EQ(w.ts2, T0 + 801 * 500000ULL);
    CHECK_EQ(w.rate_pps, rate(802, 801 * 500000ULL));
    CHECK_EQ(w.dst_c, 802);
    CHECK_EQ(xp_policer__lookup(pol, &k, &st), 0);
    CHECK_EQ(st.c, 401); /* shrunk after the verdict */
    CHECK(st.ts1 > T0);
    xp_policer__destroy(pol);
    xp_dst_table__destroy(dst);
}

/*
 * A destination over T_F2 through two workers and a pair another proxy
 * reported (installed without a local packet): the evidence has the
 * aggregate over all three at the verdict packet and counts the remote
 * pair; xp_policer__why() agrees with the aggregate now and gives the
 * verdict; the remote pair's own first packet makes it local.
 */
static void test_dst_evidence_and_why(void)
{
    struct xp_policer_limits lim = test_limits();
    struct xp_dst_table *dst = xp_dst_table__create(64, 2);
    struct xp_policer *a, *b;
    struct xp_policer_key u1 = k4(5, 9), u2 = k4(6, 9), remote = k4(7, 9), other = k4(8, 3);
    struct xp_pair_state fresh = {.ts1 = T0, .ts2 = T0 + 100 * MS, .c = 50};
    struct xp_policer_evidence w, wb, now;
    struct xp_dst_aggregate agg;
    enum xp_verdict v = XP_VERDICT_FORWARD, verdict;
    unsigned k;

    lim.t_f2_pps = 1500;
    a = mkpol(dst, &lim, 64, 0);
    b = mkpol(dst, &lim, 64, 1);
    xp_policer__packet(a, &u1, T0, NULL);
    CHECK_EQ(xp_policer__install(a, &remote, NULL, &fresh), 0);
    /* 700 pps from each worker (< T_F1), 1400 + the remote 500 pps together */
    for (k = 1; k <= 200 && v == XP_VERDICT_FORWARD; k++) {
        uint64_t t = T0 + k * (SEC / 700);

        pkt_why(b, u2, t, &wb); /* b's unit may be dropped first: the same destination */
        v = pkt_why(a, u1, t, &w);
    }
    CHECK_EQ(v, XP_VERDICT_DROP_DST);
    CHECK_EQ(xp_dst_table__lookup(dst, u1.dst, &agg), 0);
    CHECK(w.has_dst);
    CHECK_EQ(w.dst_c, agg.c);
    CHECK_EQ(w.dst_c, 1 + 50 + 2 * (k - 1));
    CHECK_EQ(w.dst_ts1, T0);
    CHECK_EQ(w.dst_ts2, agg.ts2);
    CHECK_EQ(w.dst_rate_pps, rate(agg.c, agg.ts2 - agg.ts1));
    CHECK(w.dst_rate_pps > lim.t_f2_pps);
    CHECK(w.rate_pps <= lim.t_f1_pps);
    CHECK_EQ(w.dst_remote_pairs, 1);
    CHECK_EQ(w.c, k);
    check_limits(&w, &lim);

    /* why, now: the same numbers (nothing counted since), the same verdict, on either worker */
    CHECK_EQ(xp_policer__why(a, &u1, 0, w.t_ns, &now, &verdict), 0);
    CHECK_EQ(verdict, XP_VERDICT_DROP_DST);
    CHECK_EQ(now.c, w.c);
    CHECK_EQ(now.ts1, w.ts1);
    CHECK_EQ(now.ts2, w.ts2);
    CHECK_EQ(now.rate_pps, w.rate_pps);
    CHECK_EQ(now.dst_c, w.dst_c);
    CHECK_EQ(now.dst_ts1, w.dst_ts1);
    CHECK_EQ(now.dst_ts2, w.dst_ts2);
    CHECK_EQ(now.dst_rate_pps, w.dst_rate_pps);
    CHECK_EQ(now.dst_remote_pairs, 1);
    /* worker b holds no pair u1: -ENOENT, but the destination is the same */
    CHECK_EQ(xp_policer__why(b, &u1, 0, w.t_ns, &now, &verdict), -ENOENT);
    CHECK_EQ(verdict, XP_VERDICT_FORWARD);
    CHECK(now.has_dst);
    CHECK_EQ(now.dst_c, w.dst_c);
    CHECK_EQ(now.c, 0);
    /* an unknown destination: no aggregate, the thresholds still there */
    CHECK_EQ(xp_policer__why(a, &other, 0, w.t_ns, &now, &verdict), -ENOENT);
    CHECK(!now.has_dst);
    check_limits(&now, &lim);
    /* idle after T_T1: the next packet restarts its window, forward */
    CHECK_EQ(xp_policer__why(a, &u1, 0, w.t_ns + 101 * MS, &now, &verdict), 0);
    CHECK_EQ(verdict, XP_VERDICT_FORWARD);

    /* the remote pair's own packet here: no longer remote */
    xp_policer__packet(a, &remote, w.t_ns, NULL);
    CHECK_EQ(xp_policer__why(a, &remote, 0, w.t_ns, &now, &verdict), 0);
    CHECK_EQ(now.dst_remote_pairs, 0);
    /* a remote pair that goes idle leaves the aggregate and the count */
    CHECK_EQ(xp_policer__install(a, &remote, NULL, &fresh), 0);
    CHECK_EQ(xp_policer__why(a, &remote, 0, w.t_ns, &now, &verdict), 0);
    CHECK_EQ(now.dst_remote_pairs, 0); /* it has our packet in dc: ours, not remote */
    xp_policer__destroy(b);
    xp_policer__destroy(a);
    xp_dst_table__destroy(dst);
}

/* The remote count follows the pairs in and out of the aggregate (idle sweep, destroy). */
static void test_remote_count(void)
{
    struct xp_policer_limits lim = test_limits();
    struct xp_dst_table *dst = xp_dst_table__create(64, 1);
    struct xp_policer *pol = mkpol(dst, &lim, 64, 0);
    struct xp_policer_key r1 = k4(10, 2), r2 = k4(11, 2), mine = k4(12, 2);
    struct xp_pair_state fresh = {.ts1 = T0, .ts2 = T0 + 50 * MS, .c = 5};
    struct xp_policer_evidence now;
    enum xp_verdict verdict;

    xp_policer__packet(pol, &mine, T0 + 50 * MS, NULL);
    CHECK_EQ(xp_policer__install(pol, &r1, NULL, &fresh), 0);
    CHECK_EQ(xp_policer__install(pol, &r2, NULL, &fresh), 0);
    /* installed twice: counted once */
    CHECK_EQ(xp_policer__install(pol, &r2, NULL, &fresh), 0);
    CHECK_EQ(xp_policer__why(pol, &mine, 0, T0 + 50 * MS, &now, &verdict), 0);
    CHECK_EQ(now.dst_remote_pairs, 2);
    CHECK_EQ(now.dst_c, 11);
    /* past T_T1 (no grace configured) all three leave the aggregate */
    CHECK_EQ(xp_policer__expire(pol, T0 + 200 * MS, 64), 3);
    CHECK_EQ(xp_policer__why(pol, &mine, 0, T0 + 200 * MS, &now, &verdict), 0);
    CHECK(!now.has_dst || (now.dst_remote_pairs == 0 && now.dst_c == 0));
    /* a remote pair back from idle rejoins, counted again */
    fresh.ts1 = T0 + 190 * MS;
    fresh.ts2 = T0 + 200 * MS;
    CHECK_EQ(xp_policer__install(pol, &r1, NULL, &fresh), 0);
    CHECK_EQ(xp_policer__why(pol, &r1, 0, T0 + 200 * MS, &now, &verdict), 0);
    CHECK_EQ(now.dst_remote_pairs, 1);
    CHECK_EQ(now.dst_c, 5);
    xp_policer__destroy(pol);
    xp_dst_table__destroy(dst);
}

/*
 * Two workers and an ownership directory: worker 1 meets the packets of a
 * pair worker 0 owns and hands them over. The owner's verdict on them
 * carries the evidence as the owner counted them (its handoff entry), the
 * pair's state right after the hand-off was counted.
 */
static void test_handoff_evidence(void)
{
    struct xp_policer_limits lim = test_limits();
    struct xp_dst_table *dst = xp_dst_table__create(64, 2);
    struct xp_owners *own = xp_owners__create(128, 2);
    struct xp_policer *p[2];
    struct xp_policer_key k = k4(20, 6);
    struct xp_policer_handoff out[8];
    struct xp_pair_state st;
    struct xp_dst_aggregate agg;
    unsigned n, i;

    CHECK(own != NULL);
    for (unsigned w = 0; w < 2; w++) {
        struct xp_policer_config cfg = {
            .limits = lim, .capacity = 64, .worker_id = w, .owners = own,
        };

        p[w] = xp_policer__create(&cfg, dst);
        CHECK(p[w] != NULL);
    }
    /* worker 0 creates (owns) the pair, then every packet reaches worker 1 */
    CHECK_EQ(xp_policer__packet(p[0], &k, T0, NULL), XP_VERDICT_FORWARD);
    CHECK_EQ(xp_owners__owner(own, &k), 0);
    for (i = 1; i <= 250; i++) {
        CHECK_EQ(xp_policer__packet(p[1], &k, T0 + i * 500000ULL, NULL), XP_VERDICT_FOREIGN);
        n = xp_policer__take_handoffs(p[0], out, 8, NULL);
        if (n)
            break;
    }
    /* the first hand-off over T_T2 at 2000 pps: packet 201 at 100.5 ms */
    CHECK_EQ(i, 201);
    CHECK_EQ(n, 1);
    CHECK_EQ(out[0].verdict, XP_VERDICT_DROP_UNIT);
    CHECK_EQ(xp_policer__lookup(p[0], &k, &st), 0);
    CHECK_EQ(xp_dst_table__lookup(dst, k.dst, &agg), 0);
    CHECK_EQ(out[0].why.c, st.c);
    CHECK_EQ(out[0].why.c, 202);
    CHECK_EQ(out[0].why.ts1, T0);
    CHECK_EQ(out[0].why.ts2, st.ts2);
    CHECK_EQ(out[0].why.t_ns, T0 + 201 * 500000ULL);
    CHECK_EQ(out[0].why.rate_pps, rate(202, 201 * 500000ULL));
    CHECK_EQ(out[0].why.dst_c, agg.c);
    CHECK(out[0].why.has_dst);
    check_limits(&out[0].why, &lim);
    xp_policer__destroy(p[1]);
    xp_policer__destroy(p[0]);
    xp_owners__destroy(own);
    xp_dst_table__destroy(dst);
}

int main(void)
{
    test_unit_evidence();
    test_burst_evidence();
    test_evidence_before_shrink();
    test_dst_evidence_and_why();
    test_remote_count();
    test_handoff_evidence();
    return xp_check_report("test_policer_why");
}
