/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Max-min fair share (water-filling) of a capacity over demands: the
 * destination policy fair_share (docs/policer.md, "fair_share").
 *
 * Pure function, no state, no allocation: the control side calls it once per
 * overloaded destination per fair tick, never on the packet path.
 */
#ifndef XP_WATERFILL_H
#define XP_WATERFILL_H

#include <stddef.h>
#include <stdint.h>

/* The level returned when the demands fit in the capacity: nobody is limited. */
#define XP_WATERFILL_UNLIMITED UINT64_MAX

/*
 * The max-min fair level s of capacity over demands[0..n-1] (any unit, e.g.
 * pps): the largest integer s with sum_i min(demands[i], s) <= capacity,
 * so every demand <= s is met in full and every larger one gets s. Returns
 * XP_WATERFILL_UNLIMITED when the whole sum fits (n == 0 included). The
 * level is rounded down: at most n - 1 units of capacity are left unshared.
 * demands[] is sorted in place (ascending). Any thread; O(n log n).
 */
uint64_t xp_waterfill(uint64_t *demands, size_t n, uint64_t capacity);

/* The same over demands already sorted ascending (not checked). O(n). */
uint64_t xp_waterfill__sorted(const uint64_t *demands, size_t n, uint64_t capacity);

#endif /* XP_WATERFILL_H */
