// SPDX-License-Identifier: GPL-2.0-only
/*
 * Algorithm 2 (src/sync/merge.c) on crafted cases: every branch of lines
 * 3-41 with exact expected rows, following docs/protocol.md's reading ("The merge").
 */
#include "test_sync_common.h"

#define S 1000000000ULL
#define MS 1000000ULL
#define T0 (1700000000ULL * S)

static const struct xp_merge_params P = {
    .t_t1_ns = 1 * S, .t_t4_ns = 4 * S, .r = 2, .max_skew_ns = 1 * S};
static const uint64_t NOW = T0 + 100 * S;

static struct xp_pair_state L(uint64_t ts1, uint64_t ts2, uint64_t c, uint64_t dc, bool mark)
{
    struct xp_pair_state l = {.ts1 = ts1, .ts2 = ts2, .c = c, .dc = dc, .mark = mark};

    return l;
}

#define CHECK_G(g, a, b, cc)       \
    do {                           \
        CHECK_EQ((g).ts1, (a));    \
        CHECK_EQ((g).ts2, (b));    \
        CHECK_EQ((g).c, (cc));     \
    } while (0)

#define CHECK_L(l, a, b, cc)       \
    do {                           \
        CHECK_EQ((l).ts1, (a));    \
        CHECK_EQ((l).ts2, (b));    \
        CHECK_EQ((l).c, (cc));     \
        CHECK_EQ((l).dc, 0);       \
        CHECK_EQ((l).mark, false); \
    } while (0)

/* lines 37-41: M_DB does not hold the pair */
static void test_new(void)
{
    struct xp_sync_global g = {0};
    struct xp_pair_state l = L(T0, T0 + 2 * S, 9, 9, true);
    struct xp_merge_result res;

    xp_sync_merge(&P, NOW, &g, false, &l, &res);
    CHECK_EQ(res.kind, XP_MERGE_NEW);
    CHECK_G(g, T0, T0 + 2 * S, 9);
    CHECK_L(l, T0, T0 + 2 * S, 9);
    CHECK_EQ(res.clamped, 0);
}

/* lines 4-9: mark' = 1 and ts1' - ts1 > T_T1: the local window wins */
static void test_reset(void)
{
    struct xp_sync_global g = {T0, T0 + 2 * S, 50};
    struct xp_pair_state l = L(T0 + 10 * S, T0 + 11 * S, 7, 7, true);
    struct xp_merge_result res;

    xp_sync_merge(&P, NOW, &g, true, &l, &res);
    CHECK_EQ(res.kind, XP_MERGE_RESET);
    CHECK_G(g, T0 + 10 * S, T0 + 11 * S, 7);
    CHECK_L(l, T0 + 10 * S, T0 + 11 * S, 7);
}

/* line 10: mark' = 1 but the local restart is close to the global start: merge */
static void test_mark_close_merges(void)
{
    struct xp_sync_global g = {T0, T0 + 2 * S, 50};
    struct xp_pair_state l = L(T0 + 500 * MS, T0 + 1500 * MS, 3, 3, true);
    struct xp_merge_result res;

    xp_sync_merge(&P, NOW, &g, true, &l, &res);
    CHECK_EQ(res.kind, XP_MERGE_MERGE);
    CHECK_G(g, T0, T0 + 2 * S, 53);
    CHECK_L(l, T0, T0 + 2 * S, 53);

    /* exactly T_T1 apart: not "> T_T1", so merged too */
    g = (struct xp_sync_global){T0, T0 + 2 * S, 50};
    l = L(T0 + 1 * S, T0 + 3 * S, 4, 4, true);
    xp_sync_merge(&P, NOW, &g, true, &l, &res);
    CHECK_EQ(res.kind, XP_MERGE_MERGE);
    CHECK_G(g, T0, T0 + 3 * S, 54);

    /* a local restart that began before the global window (ts1' < ts1): merged */
    g = (struct xp_sync_global){T0 + 5 * S, T0 + 6 * S, 10};
    l = L(T0 + 4 * S, T0 + 5 * S, 2, 2, true);
    xp_sync_merge(&P, NOW, &g, true, &l, &res);
    CHECK_EQ(res.kind, XP_MERGE_MERGE);
    CHECK_G(g, T0 + 4 * S, T0 + 6 * S, 12);
}

/* lines 11-12: the global window ends later: the local one takes its ts2 */
static void test_merge_global_later(void)
{
    struct xp_sync_global g = {T0 + 2 * S, T0 + 3 * S, 10};
    struct xp_pair_state l = L(T0 + 1 * S, T0 + 2500 * MS, 5, 5, false);
    struct xp_merge_result res;

    xp_sync_merge(&P, NOW, &g, true, &l, &res);
    CHECK_EQ(res.kind, XP_MERGE_MERGE);
    /* lines 23-26: local start earlier, window short: the global start moves back (26) */
    CHECK_G(g, T0 + 1 * S, T0 + 3 * S, 15);
    CHECK_L(l, T0 + 1 * S, T0 + 3 * S, 15);
    CHECK(!res.shrunk);
}

/* lines 13-18 without shrink, then 20-21: local start later -> takes the global one */
static void test_merge_local_later(void)
{
    struct xp_sync_global g = {T0, T0 + 2 * S, 50};
    struct xp_pair_state l = L(T0 + 1 * S, T0 + 3 * S, 60, 10, false);
    struct xp_merge_result res;

    xp_sync_merge(&P, NOW, &g, true, &l, &res);
    CHECK_EQ(res.kind, XP_MERGE_MERGE);
    CHECK_G(g, T0, T0 + 3 * S, 60);
    CHECK_L(l, T0, T0 + 3 * S, 60);
    CHECK(!res.shrunk);
}

/* lines 14-17 with r = 2: the window shrinks, the global count is halved */
static void test_shrink_r2(void)
{
    struct xp_sync_global g = {T0, T0 + 2 * S, 100};
    struct xp_pair_state l = L(T0 + 1 * S, T0 + 6 * S, 110, 10, false);
    struct xp_merge_result res;

    xp_sync_merge(&P, NOW, &g, true, &l, &res);
    CHECK_EQ(res.kind, XP_MERGE_MERGE);
    CHECK(res.shrunk);
    CHECK_G(g, T0 + 3 * S, T0 + 6 * S, 60);
    CHECK_L(l, T0 + 3 * S, T0 + 6 * S, 60);

    /* r = 4: ts1' = ts2' - 8 s / 4, c = floor(101 / 4) */
    {
        struct xp_merge_params p4 = P;

        p4.r = 4;
        g = (struct xp_sync_global){T0, T0 + 5 * S, 101};
        l = L(T0 + 2 * S, T0 + 8 * S, 0, 3, false);
        xp_sync_merge(&p4, NOW, &g, true, &l, &res);
        CHECK(res.shrunk);
        CHECK_G(g, T0 + 6 * S, T0 + 8 * S, 25 + 3);
    }
}

/* r = 1: line 15/16 leave the window as it is (r is a plain divisor) */
static void test_shrink_r1_noop(void)
{
    struct xp_merge_params p1 = P;
    struct xp_sync_global g = {T0, T0 + 2 * S, 100};
    struct xp_pair_state l = L(T0 + 1 * S, T0 + 6 * S, 110, 10, false);
    struct xp_merge_result res;

    p1.r = 1;
    xp_sync_merge(&p1, NOW, &g, true, &l, &res);
    CHECK(!res.shrunk);
    /* lines 23-24: the local window is longer than T_T4: it takes the global start */
    CHECK_G(g, T0, T0 + 6 * S, 110);
    CHECK_L(l, T0, T0 + 6 * S, 110);
}

/* lines 23-24: local start earlier and the local window too long: ts1' = ts1 */
static void test_long_local_takes_global_start(void)
{
    struct xp_sync_global g = {T0 + 5 * S, T0 + 6 * S, 10};
    struct xp_pair_state l = L(T0, T0 + 5500 * MS, 20, 20, false);
    struct xp_merge_result res;

    xp_sync_merge(&P, NOW, &g, true, &l, &res);
    CHECK_G(g, T0 + 5 * S, T0 + 6 * S, 30);
    CHECK_L(l, T0 + 5 * S, T0 + 6 * S, 30);
}

/* clock skew: local times beyond now + max_skew are clamped to it and counted */
static void test_clamp(void)
{
    struct xp_sync_global g = {0};
    struct xp_pair_state l = L(NOW + 5 * S, NOW + 9 * S, 1, 1, false);
    struct xp_merge_result res;

    xp_sync_merge(&P, NOW, &g, false, &l, &res);
    CHECK_EQ(res.clamped, 2);
    CHECK_G(g, NOW + 1 * S, NOW + 1 * S, 1);

    /* within the skew: untouched */
    g = (struct xp_sync_global){0};
    l = L(NOW, NOW + 1 * S, 1, 1, false);
    xp_sync_merge(&P, NOW, &g, false, &l, &res);
    CHECK_EQ(res.clamped, 0);
    CHECK_G(g, NOW, NOW + 1 * S, 1);

    /* only ts2 in the future, merged into an existing row */
    g = (struct xp_sync_global){NOW - 2 * S, NOW - 1 * S, 4};
    l = L(NOW - 1 * S, NOW + 60 * S, 6, 2, false);
    xp_sync_merge(&P, NOW, &g, true, &l, &res);
    CHECK_EQ(res.clamped, 1);
    CHECK_G(g, NOW - 2 * S, NOW + 1 * S, 6);
}

/* lines 33-34 */
static void test_down(void)
{
    struct xp_sync_global g = {T0, T0 + S, 77};
    struct xp_pair_state l = L(1, 2, 3, 4, true);

    xp_sync_merge_down(&g, &l);
    CHECK_L(l, T0, T0 + S, 77);
}

/* counts saturate at the largest wire integer instead of wrapping */
static void test_saturate(void)
{
    struct xp_sync_global g = {T0, T0 + S, XP_SYNC_MAX_COUNT - 1};
    struct xp_pair_state l = L(T0, T0 + S, 0, 5, false);
    struct xp_merge_result res;

    xp_sync_merge(&P, NOW, &g, true, &l, &res);
    CHECK_EQ(g.c, XP_SYNC_MAX_COUNT);
    CHECK_EQ(l.c, XP_SYNC_MAX_COUNT);
}

static uint64_t rnd_state = 12345;

static uint64_t RND(void)
{
    rnd_state = rnd_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return rnd_state >> 33;
}

/* invariants on random inputs: ts1 <= ts2 both sides, dc' = 0, mark' = 0, c conserved when r = 1 */
static void test_random_invariants(void)
{
    struct xp_merge_params p1 = P;

    p1.r = 1;
    for (int i = 0; i < 200000; i++) {
        struct xp_sync_global g;
        struct xp_pair_state l;
        struct xp_merge_result res;
        uint64_t a, b, gc;
        bool present;

        a = T0 + RND() % (20 * S);
        b = a + RND() % (10 * S);
        g.ts1 = a;
        g.ts2 = b;
        g.c = gc = RND() % 1000;
        a = T0 + RND() % (20 * S);
        b = a + RND() % (10 * S);
        {
            uint64_t lc = RND() % 1000, ldc = RND() % 100;

            l = L(a, b, lc, ldc, RND() & 1);
        }
        present = RND() & 1;
        {
            uint64_t dc = l.dc, lc = l.c;
            bool mark = l.mark;
            uint64_t lts1 = l.ts1, gts2 = g.ts2;

            xp_sync_merge(&p1, NOW, &g, present, &l, &res);
            CHECK(g.ts1 <= g.ts2);
            CHECK(l.ts1 <= l.ts2);
            CHECK_EQ(l.dc, 0);
            CHECK_EQ(l.mark, false);
            CHECK_EQ(l.c, g.c);
            if (!present)
                CHECK_EQ(g.c, lc);
            else if (mark && lts1 > gts2 && lts1 - gts2 > p1.t_t1_ns)
                CHECK_EQ(g.c, lc);
            else
                CHECK_EQ(g.c, gc + dc);
        }
        if (failures > 10)
            return;
    }
}

/*
 * The sender wrote the row last: its window is the row plus its own packets,
 * already restarted and shrunk where that happened, so it replaces the row
 * as is (merging it would shrink a second time at another moment).
 */
static void test_own_row_replaced(void)
{
    struct xp_sync_global g = {T0, T0 + 4 * S, 3600};
    /* the proxy shrank (r = 2) at T0 + 4.1 s and counted on: c and dc scaled with it */
    struct xp_pair_state l = L(T0 + 2050 * MS, T0 + 4500 * MS, 2205, 405, false);
    struct xp_merge_result res;

    xp_sync_merge(&P, NOW, &g, XP_ROW_OWN, &l, &res);
    CHECK_EQ(res.kind, XP_MERGE_OWN);
    CHECK_G(g, T0 + 2050 * MS, T0 + 4500 * MS, 2205);
    CHECK_L(l, T0 + 2050 * MS, T0 + 4500 * MS, 2205);

    /* a local restart of a row only we wrote: the new window replaces it too */
    g = (struct xp_sync_global){T0, T0 + 4 * S, 3600};
    l = L(T0 + 6 * S, T0 + 6 * S, 1, 1, true);
    xp_sync_merge(&P, NOW, &g, XP_ROW_OWN, &l, &res);
    CHECK_EQ(res.kind, XP_MERGE_OWN);
    CHECK_G(g, T0 + 6 * S, T0 + 6 * S, 1);
}

/* mark' = 1 but another proxy kept the global window alive (ts2 recent): merged, not reset */
static void test_mark_global_alive_merges(void)
{
    struct xp_sync_global g = {T0, T0 + 10 * S, 500};
    struct xp_pair_state l = L(T0 + 9 * S, T0 + 10 * S, 7, 7, true);
    struct xp_merge_result res;

    xp_sync_merge(&P, NOW, &g, XP_ROW_SHARED, &l, &res);
    CHECK_EQ(res.kind, XP_MERGE_MERGE);
}

int main(void)
{
    test_own_row_replaced();
    test_mark_global_alive_merges();
    test_new();
    test_reset();
    test_mark_close_merges();
    test_merge_global_later();
    test_merge_local_later();
    test_shrink_r2();
    test_shrink_r1_noop();
    test_long_local_takes_global_start();
    test_clamp();
    test_down();
    test_saturate();
    test_random_invariants();
    return xp_check_report("test_sync_merge");
}
