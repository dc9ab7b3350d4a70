/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The reference model of Algorithms 1 and 2 (docs/policer.md, "The life of
 * a pair"): the truth the distributed system approximates. One global state
 * per pair that sees every packet of every proxy in time order. Plain
 * arrays and loops, no optimisation: obviously correct, not fast. It shares
 * no code with src/ on purpose.
 */
#ifndef XP_MODEL_H
#define XP_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#define XP_MODEL_MAX_PAIRS 4096
#define XP_MODEL_MAX_DSTS 1024 /* destination ids below this */

enum xp_model_policy {
    XP_MODEL_POLICY_DROP_ALL = 0,   /* every packet to a destination over T_F2 dropped */
    XP_MODEL_POLICY_FAIR_SHARE = 1, /* T_F2 shared max-min over the destination's units */
};

struct xp_model_limits {
    uint64_t t_t1, t_t2, t_t3, t_t4; /* ns */
    uint64_t r;                      /* shrink divisor, 1 = never */
    uint64_t f1, f2;                 /* pps */
    enum xp_model_policy policy;
    /*
     * fair_share: a pair's bucket holds 1 + share * burst packets; a demand
     * is c / span with span counted as at least min_span (both ns).
     */
    uint64_t burst, min_span;
};

struct xp_model_pair {
    uint32_t unit, dst;
    uint64_t ts1, ts2, c;
    uint64_t shrinks;
    /* fair_share: the pair's token bucket at its destination's share */
    double tokens;
    uint64_t tokens_t; /* last refill; 0: never used (full) */
};

struct xp_model {
    struct xp_model_limits lim;
    unsigned n;
    struct xp_model_pair pairs[XP_MODEL_MAX_PAIRS];
    /*
     * fair_share: the destination is being limited. It starts when the
     * destination test fires and lasts while the share limits (the units'
     * demands over T_F2), even if the aggregate test dips under meanwhile.
     */
    bool limiting[XP_MODEL_MAX_DSTS];
};

enum xp_model_verdict {
    XP_MODEL_FORWARD = 0,
    XP_MODEL_DROP_UNIT = 1,
    XP_MODEL_DROP_DST = 2,
    XP_MODEL_DROP_DST_SHARE = 3, /* fair_share: over the pair's share */
};

void xp_model__init(struct xp_model *m, const struct xp_model_limits *lim);

/* One packet of (unit, dst) at t (non-decreasing): the verdict, and the state updated. */
enum xp_model_verdict xp_model__packet(struct xp_model *m, uint32_t unit, uint32_t dst,
                                       uint64_t t);

/* The pair, or NULL. */
const struct xp_model_pair *xp_model__find(const struct xp_model *m, uint32_t unit,
                                           uint32_t dst);

/* The destination aggregate over pairs active at t (t - ts2 <= T_T1); false if none. */
bool xp_model__aggregate(const struct xp_model *m, uint32_t dst, uint64_t t, uint64_t *c,
                         uint64_t *ts1, uint64_t *ts2);

/*
 * fair_share: the share of dst at t, by its definition: the largest s with
 * sum over the active pairs towards dst of min(demand, s) <= T_F2, found by
 * bisection; UINT64_MAX when every demand fits.
 */
uint64_t xp_model__share(const struct xp_model *m, uint32_t dst, uint64_t t);

/* rate > pps for c packets over span ns, the way the policer compares (strict, integers) */
bool xp_model__over(uint64_t c, uint64_t span, uint64_t pps);

#endif
