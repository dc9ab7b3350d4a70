/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The proxy's sync thread (Algorithm 2, proxy side; docs/protocol.md).
 *
 * Every period it asks each worker, through the worker's mailbox, for the
 * pairs touched since the last sync, exchanges them with the central node
 * (src/sync), and hands each answer back to the worker that owns the pair,
 * which installs it between two bursts. Workers never wait on the network:
 * a mailbox call costs them one short function between bursts. With the
 * central node unreachable the proxy keeps policing on its own tables; the
 * client reconnects with backoff and jitter and the next exchange
 * re-converges.
 */
#ifndef XP_PROXY_SYNC_H
#define XP_PROXY_SYNC_H

#include <jansson.h>
#include <stdint.h>

#include "src/pipeline/pipeline.h"
#include "src/proxy/worker.h"

struct xp_proxy_sync_cfg {
    const char *host;
    uint16_t port;
    const char *proxy_id;
    const uint8_t *secret;
    size_t secret_len;
    unsigned period_ms;
    uint64_t t_f2_pps;               /* the destination threshold, for hot rounds */
    unsigned n_workers;
    struct xp_worker *workers;       /* workers[q] owns pipelines[q] */
    struct xp_pipeline **pipelines;
    struct xp_owners *owners;        /* which worker holds each pair; NULL with one worker */
};

struct xp_proxy_sync;

/* Start the thread. NULL with errno. */
struct xp_proxy_sync *xp_proxy_sync__start(const struct xp_proxy_sync_cfg *cfg);
/* Stop and join; accepts NULL. Call before the workers stop. */
void xp_proxy_sync__stop(struct xp_proxy_sync *s);
/* Reload: the next period uses period_ms, hot rounds t_f2_pps. Any thread. */
void xp_proxy_sync__set_period(struct xp_proxy_sync *s, unsigned period_ms, uint64_t t_f2_pps);
/* An overload warning to report to the central node with the next exchange. Any thread. */
void xp_proxy_sync__warn(struct xp_proxy_sync *s, const struct xp_event *ev);
/* Sync health for the stats document: state, since when, last sync, RTT, counters. */
json_t *xp_proxy_sync__stats_json(struct xp_proxy_sync *s);

#endif /* XP_PROXY_SYNC_H */
