// SPDX-License-Identifier: GPL-2.0-only
/*
 * The water-filling of fair_share (src/policer/waterfill.c) on crafted
 * populations with exact expected shares, and against a brute-force search
 * of the level on random populations.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/policer/waterfill.h"
#include "xp_check.h"

#define N_MAX 20000

static uint64_t level(const uint64_t *d, size_t n, uint64_t cap)
{
    static uint64_t tmp[N_MAX];

    memcpy(tmp, d, n * sizeof(*d));
    return xp_waterfill(tmp, n, cap);
}

/* What the level gives in all: sum of min(d, s). */
static uint64_t granted(const uint64_t *d, size_t n, uint64_t s)
{
    uint64_t g = 0;

    for (size_t i = 0; i < n; i++)
        g += d[i] < s ? d[i] : s;
    return g;
}

static void test_equal_units(void)
{
    uint64_t d[4] = { 1000, 1000, 1000, 1000 };

    CHECK_EQ(level(d, 4, 3000), 750);
    CHECK_EQ(level(d, 4, 4000), XP_WATERFILL_UNLIMITED); /* exactly fits: nobody limited */
    CHECK_EQ(level(d, 4, 3999), 999);
    CHECK_EQ(level(d, 3, 3001), XP_WATERFILL_UNLIMITED);
    CHECK_EQ(level(d, 4, 0), 0);
}

/* The scenario: 4 honest units at 100 pps, 4 attackers at 900, T_F2 = 3000. */
static void test_one_heavy_per_proxy(void)
{
    uint64_t d[8] = { 900, 100, 900, 100, 900, 100, 900, 100 };
    uint64_t s = level(d, 8, 3000);

    CHECK_EQ(s, 650);
    CHECK_EQ(granted(d, 8, s), 3000);
}

static void test_one_heavy_unit(void)
{
    uint64_t d[5] = { 100, 200, 300, 400, 100000 };

    CHECK_EQ(level(d, 5, 3000), 2000); /* the four small ones in full, the heavy one the rest */
    /* 1000: 100 in full (100 <= 1000/5), 200 in full (200 <= 900/4), 300 > 700/3 = 233 */
    CHECK_EQ(level(d, 5, 1000), 233);
}

static void test_many_tiny_units(void)
{
    static uint64_t d[10001];

    for (size_t i = 0; i < 10000; i++)
        d[i] = 1; /* a botnet of 10,000 units at 1 pps */
    d[10000] = 5000;
    CHECK_EQ(level(d, 10001, 3000), 0);      /* 10,000 units over a 3,000 pps allowance */
    CHECK_EQ(level(d, 10001, 12000), 2000);  /* every tiny unit in full, the big one the rest */
    CHECK_EQ(level(d, 10000, 3000), 0);
    CHECK_EQ(level(d, 10000, 10000), XP_WATERFILL_UNLIMITED);
    CHECK_EQ(level(d, 10000, 9999), 0);      /* not one more packet each: the level rounds down */
}

static void test_join_and_leave(void)
{
    uint64_t d[6] = { 100, 100, 900, 900 };

    CHECK_EQ(level(d, 4, 1500), 650);
    d[4] = 900; /* a third attacker joins */
    CHECK_EQ(level(d, 5, 1500), 433);
    d[5] = 50; /* a small honest unit joins: met in full */
    CHECK_EQ(level(d, 6, 1500), 416);
    /* the attackers leave: the rest fits, nobody limited */
    d[2] = d[5];
    CHECK_EQ(level(d, 3, 1500), XP_WATERFILL_UNLIMITED);
    /* one attacker leaves out of three */
    {
        uint64_t e[4] = { 100, 100, 900, 900 };

        CHECK_EQ(level(e, 4, 1500), 650);
        CHECK_EQ(level(e, 3, 1500), XP_WATERFILL_UNLIMITED); /* 100 + 100 + 900 fits */
    }
}

static void test_edges(void)
{
    uint64_t d[3] = { 0, 0, 7 };

    CHECK_EQ(level(d, 0, 10), XP_WATERFILL_UNLIMITED);
    CHECK_EQ(level(d, 3, 5), 5);
    d[0] = UINT64_MAX;
    d[1] = UINT64_MAX;
    CHECK_EQ(xp_waterfill(d, 3, UINT64_MAX), (UINT64_MAX - 7) / 2);
    /* sorted in place */
    CHECK(d[0] == 7 && d[1] == UINT64_MAX);
}

/* The definition, by search: the largest s with sum min(d, s) <= cap. */
static void test_random_against_search(void)
{
    static uint64_t d[64];

    srandom(20);
    for (int round = 0; round < 2000; round++) {
        size_t n = 1 + (size_t)(random() % 64);
        uint64_t cap = (uint64_t)(random() % 20000), sum = 0, s, lo = 0, hi = 0;

        for (size_t i = 0; i < n; i++) {
            d[i] = (uint64_t)(random() % (random() % 2 ? 100 : 2000));
            sum += d[i];
            if (d[i] > hi)
                hi = d[i];
        }
        s = level(d, n, cap);
        if (sum <= cap) {
            CHECK_EQ(s, XP_WATERFILL_UNLIMITED);
            continue;
        }
        while (lo < hi) { /* largest s in [0, max d] with granted <= cap */
            uint64_t mid = lo + (hi - lo + 1) / 2;

            if (granted(d, n, mid) <= cap)
                lo = mid;
            else
                hi = mid - 1;
        }
        CHECK_MSG(s == lo, "round %d: level %llu, search %llu", round, (unsigned long long)s,
                  (unsigned long long)lo);
    }
}

int main(void)
{
    test_equal_units();
    test_one_heavy_per_proxy();
    test_one_heavy_unit();
    test_many_tiny_units();
    test_join_and_leave();
    test_edges();
    test_random_against_search();
    return xp_check_report("waterfill");
}
