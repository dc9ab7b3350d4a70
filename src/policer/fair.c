// SPDX-License-Identifier: GPL-2.0-only
/*
 * fair_share's control side: every worker lists the offered rates of its
 * active pairs towards the destinations over T_F2 (xp_policer__fair_demands,
 * on the worker); one control thread groups them by destination, water-fills
 * each destination's T_F2 over its units (waterfill.c) and publishes the
 * level, which the packet path reads in O(1) (xp_policer__fair in
 * policer.c). The pairs of other proxies are in the lists as the sync last
 * installed them, so the share is global within one sync period.
 */
#include <errno.h>
#include <stdlib.h>

#include "policer_internal.h"
#include "waterfill.h"

static int cmp_demand(const void *a, const void *b)
{
    const struct xp_fair_demand *x = a, *y = b;

    if (x->dst != y->dst)
        return x->dst < y->dst ? -1 : 1;
    return (x->pps > y->pps) - (x->pps < y->pps);
}

unsigned xp_fair__publish(struct xp_dst_table *tbl, const struct xp_policer_limits *lim,
                          struct xp_fair_demand *demands, size_t n, uint64_t t)
{
    uint64_t *pps;
    unsigned published = 0;

    if (n == 0)
        return 0;
    pps = malloc(n * sizeof(*pps));
    if (!pps)
        return 0; /* the shares in place age out (XP_FAIR_STALE_NS): fail closed */
    qsort(demands, n, sizeof(*demands), cmp_demand);
    for (size_t i = 0; i < n; i++)
        pps[i] = demands[i].pps;
    for (size_t i = 0, j; i < n; i = j) {
        uint32_t d = demands[i].dst;
        uint64_t level;

        for (j = i; j < n && demands[j].dst == d; j++)
            ;
        if (d > tbl->mask)
            continue;
        level = xp_waterfill__sorted(&pps[i], j - i, lim->t_f2_pps);
        XP_ATOMIC_SET(&tbl->shares[d].level, level);
        atomic_store_explicit(&tbl->shares[d].t_ns, t ? t : 1, memory_order_release);
        published++;
    }
    free(pps);
    return published;
}
