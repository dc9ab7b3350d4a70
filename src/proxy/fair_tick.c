// SPDX-License-Identifier: GPL-2.0-only
/*
 * fair_share's tick (docs/policer.md, "Destination policies"). The share of
 * a destination needs every unit towards it, and a proxy's pairs are spread
 * over its workers (other proxies' pairs too, installed by the sync): each
 * worker lists its own on its loop turn (a mailbox call, never a read of
 * another thread's table), and this thread water-fills and publishes. The
 * packet path only reads the published level.
 */
#include <stdlib.h>

#include "src/proxy/proxy.h"
#include "src/util/clock.h"
#include "src/util/log.h"

/* Demands listed per tick, over all workers: a pair each (more: the tick publishes nothing). */
#define XP_FAIR_DEMANDS_MAX (1U << 20)

struct fair_call {
    struct xp_pipeline *pl;
    uint64_t now_rt;
    struct xp_fair_demand *out;
    unsigned max, n;
    bool truncated;
};

static void demands_on_worker(struct xp_worker *w, void *arg)
{
    struct fair_call *fc = arg;

    (void)w;
    fc->n = xp_pipeline__fair_demands(fc->pl, fc->now_rt, fc->out, fc->max, &fc->truncated);
}

void xp_proxy__fair_tick(struct proxy *px)
{
    struct xp_policer_limits lim;
    uint64_t now = xp_mono_ns(), now_rt;
    size_t n = 0;

    if (!px->dst || px->cfg->pol.dst_policy != XP_DST_FAIR_SHARE)
        return;
    /* the loop wakes about every 100 ms: a tick that comes a little early still counts */
    if (px->fair_mono && now - px->fair_mono < XP_FAIR_PERIOD_NS * 9 / 10)
        return;
    px->fair_mono = now;
    if (!px->fair_buf) {
        px->fair_buf = malloc(XP_FAIR_DEMANDS_MAX * sizeof(*px->fair_buf));
        if (!px->fair_buf)
            return; /* the shares age out: over T_F2 is dropped, fail closed */
    }
    now_rt = xp_real_ns();
    for (unsigned q = 0; q < px->cfg->queues; q++) {
        struct fair_call fc = {
            .pl = px->pipelines[q],
            .now_rt = now_rt,
            .out = px->fair_buf + n,
            .max = (unsigned)(XP_FAIR_DEMANDS_MAX - n),
        };

        xp_worker__call(&px->workers[q], demands_on_worker, &fc);
        n += fc.n;
        if (fc.truncated) {
            /* a share over part of the units would be too large: publish none this tick */
            px->fair_truncated++;
            pr_debug("fair_share: more than %u demands, no share this tick", XP_FAIR_DEMANDS_MAX);
            return;
        }
    }
    xp_policer_limits__init(&lim);
    lim.t_f2_pps = px->cfg->pol.t_f2_pps;
    lim.dst_policy = XP_DST_FAIR_SHARE;
    px->fair_published += xp_fair__publish(px->dst, &lim, px->fair_buf, n, now_rt);
    px->fair_ticks++;
}

void xp_proxy__fair_free(struct proxy *px)
{
    free(px->fair_buf);
    px->fair_buf = NULL;
}
