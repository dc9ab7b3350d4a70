// SPDX-License-Identifier: GPL-2.0-only
#include "xp_model.h"

#include <stdlib.h>
#include <string.h>

void xp_model__init(struct xp_model *m, const struct xp_model_limits *lim)
{
    memset(m, 0, sizeof(*m));
    m->lim = *lim;
}

bool xp_model__over(uint64_t c, uint64_t span, uint64_t pps)
{
    return (unsigned __int128)c * 1000000000ULL > (unsigned __int128)pps * span;
}

static struct xp_model_pair *find(struct xp_model *m, uint32_t unit, uint32_t dst)
{
    for (unsigned i = 0; i < m->n; i++)
        if (m->pairs[i].unit == unit && m->pairs[i].dst == dst)
            return &m->pairs[i];
    return NULL;
}

const struct xp_model_pair *xp_model__find(const struct xp_model *m, uint32_t unit,
                                           uint32_t dst)
{
    return find((struct xp_model *)m, unit, dst);
}

bool xp_model__aggregate(const struct xp_model *m, uint32_t dst, uint64_t t, uint64_t *c,
                         uint64_t *ts1, uint64_t *ts2)
{
    bool any = false;

    *c = 0;
    *ts1 = UINT64_MAX;
    *ts2 = 0;
    for (unsigned i = 0; i < m->n; i++) {
        const struct xp_model_pair *p = &m->pairs[i];

        if (p->dst != dst || t - p->ts2 > m->lim.t_t1)
            continue; /* another destination, or idle: not in the aggregate */
        any = true;
        *c += p->c;
        if (p->ts1 < *ts1)
            *ts1 = p->ts1;
        if (p->ts2 > *ts2)
            *ts2 = p->ts2;
    }
    return any;
}

static uint64_t demand(const struct xp_model *m, const struct xp_model_pair *p)
{
    uint64_t span = p->ts2 - p->ts1;

    if (span < m->lim.min_span)
        span = m->lim.min_span;
    return (uint64_t)((unsigned __int128)p->c * 1000000000ULL / span);
}

/* sum of min(demand, s) over the pairs active towards dst */
static uint64_t granted(const struct xp_model *m, uint32_t dst, uint64_t t, uint64_t s)
{
    uint64_t g = 0;

    for (unsigned i = 0; i < m->n; i++) {
        const struct xp_model_pair *p = &m->pairs[i];
        uint64_t d;

        if (p->dst != dst || t - p->ts2 > m->lim.t_t1)
            continue;
        d = demand(m, p);
        g += d < s ? d : s;
    }
    return g;
}

uint64_t xp_model__share(const struct xp_model *m, uint32_t dst, uint64_t t)
{
    uint64_t lo = 0, hi = 0;

    for (unsigned i = 0; i < m->n; i++) {
        const struct xp_model_pair *p = &m->pairs[i];

        if (p->dst == dst && t - p->ts2 <= m->lim.t_t1 && demand(m, p) > hi)
            hi = demand(m, p);
    }
    if (granted(m, dst, t, hi) <= m->lim.f2)
        return UINT64_MAX;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo + 1) / 2;

        if (granted(m, dst, t, mid) <= m->lim.f2)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

/*
 * A token bucket at the share: refilled at s per second, holding at most
 * 1 + s * burst; while the destination is over T_F2 (over) or still limited
 * since (m->limiting).
 */
static enum xp_model_verdict fair(struct xp_model *m, struct xp_model_pair *p, uint64_t t,
                                  bool over)
{
    uint64_t s;
    double cap;

    if (p->dst >= XP_MODEL_MAX_DSTS)
        abort(); /* the tests use small destination ids */
    if (!over && !m->limiting[p->dst])
        return XP_MODEL_FORWARD;
    s = xp_model__share(m, p->dst, t);
    m->limiting[p->dst] = s != UINT64_MAX;
    if (s == UINT64_MAX)
        return XP_MODEL_FORWARD;
    cap = 1.0 + (double)s * (double)m->lim.burst / 1e9;
    if (p->tokens_t == 0)
        p->tokens = cap;
    else
        p->tokens += (double)s * (double)(t - p->tokens_t) / 1e9;
    if (p->tokens > cap)
        p->tokens = cap;
    p->tokens_t = t;
    if (p->tokens < 1.0)
        return XP_MODEL_DROP_DST_SHARE;
    p->tokens -= 1.0;
    return XP_MODEL_FORWARD;
}

enum xp_model_verdict xp_model__packet(struct xp_model *m, uint32_t unit, uint32_t dst,
                                       uint64_t t)
{
    struct xp_model_pair *p = find(m, unit, dst);
    enum xp_model_verdict v = XP_MODEL_FORWARD;
    uint64_t c, ts1, ts2;

    if (!p) {
        if (m->n == XP_MODEL_MAX_PAIRS)
            abort(); /* the tests size their traces below this */
        p = &m->pairs[m->n++];
        memset(p, 0, sizeof(*p));
        p->unit = unit;
        p->dst = dst;
        p->ts1 = p->ts2 = t;
    } else if (t - p->ts2 > m->lim.t_t1) {
        p->ts1 = t; /* restart after an idle gap */
        p->c = 0;
    }
    p->c += 1;
    if (t > p->ts2)
        p->ts2 = t;
    if (p->ts2 - p->ts1 > m->lim.t_t2 && xp_model__over(p->c, p->ts2 - p->ts1, m->lim.f1)) {
        v = XP_MODEL_DROP_UNIT;
    } else {
        bool over = xp_model__aggregate(m, dst, t, &c, &ts1, &ts2) && ts2 - ts1 > m->lim.t_t3 &&
                    xp_model__over(c, ts2 - ts1, m->lim.f2);

        if (m->lim.policy == XP_MODEL_POLICY_FAIR_SHARE)
            v = fair(m, p, t, over);
        else if (over)
            v = XP_MODEL_DROP_DST;
    }
    /* shrink after the verdict */
    if (m->lim.r > 1 && p->ts2 - p->ts1 > m->lim.t_t4) {
        uint64_t span = p->ts2 - p->ts1;

        p->c /= m->lim.r;
        p->ts1 = p->ts2 - span / m->lim.r;
        p->shrinks++;
    }
    return v;
}
