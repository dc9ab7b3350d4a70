// SPDX-License-Identifier: GPL-2.0-only
/*
 * Water-filling: walk the demands from the smallest; while the next demand
 * fits an equal split of what is left among the units not yet served, it is
 * met in full; the first that does not fit sets the level for it and every
 * larger one. Integers only, so the same population always gives the same
 * level (the unit tests state exact shares).
 */
#include "waterfill.h"

#include <stdlib.h>

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return (x > y) - (x < y);
}

uint64_t xp_waterfill__sorted(const uint64_t *demands, size_t n, uint64_t capacity)
{
    uint64_t left = capacity;

    for (size_t i = 0; i < n; i++) {
        uint64_t rest = n - i; /* units not yet served, this one included */

        /* d * rest <= left without overflow: d <= left / rest (floor is exact for integers) */
        if (demands[i] > left / rest)
            return left / rest;
        left -= demands[i];
    }
    return XP_WATERFILL_UNLIMITED;
}

uint64_t xp_waterfill(uint64_t *demands, size_t n, uint64_t capacity)
{
    if (n > 1)
        qsort(demands, n, sizeof(*demands), cmp_u64);
    return xp_waterfill__sorted(demands, n, capacity);
}
