// SPDX-License-Identifier: GPL-2.0-only
/*
 * Algorithm 2 of X-Pro, lines 3-41, for one pair, as a pure function.
 *
 * The slides write the algorithm as a proxy reading and writing M_DB; here
 * the central node runs it, one pair at a time on its single event-loop
 * thread, so the read-modify-write of each row is atomic by construction.
 * docs/protocol.md ("The merge") says how to read the listing; each rule below names
 * the line it implements:
 *
 * - lines 4-10: the window is overwritten from the local one only when
 *   mark' = 1 and ts1' - ts1 > T_T1 (line 10 shows that mark' = 1 with a
 *   close start is meant to merge); every other case merges (11-29). In all
 *   cases mark' goes back to 0: the local restart has now been reported.
 * - line 31 (c = c', dc' = 0) is what lines 8 and 29 already did.
 * - line 38 means "M_DB does not hold the pair": a new pair is pushed as
 *   is and the local delta is consumed (dc' = 0), since c' now lives in M_DB.
 * - r is a plain divisor >= 1 (r = 1 makes line 15/16 a no-op).
 * - local timestamps later than now + max_skew are clamped to that bound
 *   before anything else and counted, so a proxy with a runaway clock cannot
 *   stretch every window into the future.
 *
 * Counts saturate at XP_SYNC_MAX_COUNT so that they stay representable on
 * the wire.
 */
#include "sync_internal.h"

static uint64_t xp_sat_add(uint64_t a, uint64_t b)
{
    if (a > XP_SYNC_MAX_COUNT || b > XP_SYNC_MAX_COUNT - a)
        return XP_SYNC_MAX_COUNT;
    return a + b;
}

static unsigned xp_clamp_future(uint64_t *ts, uint64_t limit)
{
    if (*ts <= limit)
        return 0;
    *ts = limit;
    return 1;
}

void xp_sync_merge(const struct xp_merge_params *p, uint64_t now, struct xp_sync_global *g,
                   enum xp_row_state row, struct xp_pair_state *l, struct xp_merge_result *res)
{
    uint64_t limit = now > UINT64_MAX - p->max_skew_ns ? UINT64_MAX : now + p->max_skew_ns;
    uint32_t r = p->r ? p->r : 1;

    res->shrunk = false;
    res->clamped = xp_clamp_future(&l->ts1, limit) + xp_clamp_future(&l->ts2, limit);

    if (row == XP_ROW_ABSENT) {
        /* lines 37-41 */
        g->ts1 = l->ts1;
        g->ts2 = l->ts2;
        g->c = l->c;
        l->dc = 0;
        l->mark = false;
        res->kind = XP_MERGE_NEW;
        return;
    }

    if (row == XP_ROW_OWN) {
        /*
         * Nobody but this proxy instance wrote the row since it received it:
         * its local window is the row plus its own packets, with its own
         * restarts and shrinks already applied at the packets where they
         * happened. Taking it whole is exact; merging it (below) would shrink
         * the row a second time at another moment and re-add dc' that the
         * local shrink already scaled (docs/policer.md, "exactly once").
         */
        g->ts1 = l->ts1;
        g->ts2 = l->ts2;
        g->c = l->c;
        l->dc = 0;
        l->mark = false;
        res->kind = XP_MERGE_OWN;
        return;
    }

    if (l->mark && l->ts1 > g->ts2 && l->ts1 - g->ts2 > p->t_t1_ns) {
        /*
         * lines 5-8: the local window restarted after the global one went
         * idle for more than T_T1 (its last packet, ts2, is what says so: a
         * global window another proxy keeps alive is merged, not replaced)
         */
        g->ts1 = l->ts1;
        g->ts2 = l->ts2;
        g->c = l->c;
        l->dc = 0;
        l->mark = false;
        res->kind = XP_MERGE_RESET;
        return;
    }

    /* lines 11-19 */
    if (l->ts2 < g->ts2) {
        l->ts2 = g->ts2;
    } else {
        /* g->ts1 <= g->ts2 <= l->ts2: no underflow */
        if (l->ts2 - g->ts1 > p->t_t4_ns) {
            l->ts1 = l->ts2 - (l->ts2 - g->ts1) / r;
            g->c = g->c / r;
            g->ts1 = l->ts1;
            g->ts2 = l->ts2;
            res->shrunk = r > 1;
        }
        g->ts2 = l->ts2;
    }
    /* lines 20-28 */
    if (l->ts1 > g->ts1) {
        l->ts1 = g->ts1;
    } else {
        if (l->ts2 - l->ts1 > p->t_t4_ns)
            l->ts1 = g->ts1;
        else
            g->ts1 = l->ts1;
    }
    /* line 29 */
    l->c = xp_sat_add(g->c, l->dc);
    g->c = l->c;
    l->dc = 0;
    l->mark = false;
    res->kind = XP_MERGE_MERGE;
}

void xp_sync_merge_down(const struct xp_sync_global *g, struct xp_pair_state *l)
{
    /* lines 33-34 */
    l->ts1 = g->ts1;
    l->ts2 = g->ts2;
    l->c = g->c;
    l->dc = 0;
    l->mark = false;
}
