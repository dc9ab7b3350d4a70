/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * xpro-proxy as a library: one struct proxy holds the running appliance
 * (its configuration, the backend, one worker and pipeline per queue,
 * gateway mode, the control socket, Prometheus, the sync thread, the event
 * sinks), and the modules of this folder act on it:
 *
 *   lifecycle.c  set-up (backend, monitor, queues, operators, privileges),
 *                reload, the sync thread's start, shutdown
 *   stats.c      the stats document (the stats line, `xpro-ctl stats`,
 *                Prometheus) and the periodic line
 *   events.c     events from the workers to every sink
 *   ctl_ops.c    the control socket's operations
 *   main.c       the command line and the loop; it only wires these
 *
 * Threads: the control thread (main.c's loop) owns struct proxy; workers
 * own what struct xp_worker says; anything a worker owns is touched
 * through xp_worker__call().
 */
#ifndef XP_PROXY_H
#define XP_PROXY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "src/backend/backend.h"
#include "src/ctl/ctl.h"
#include "src/proxy/config.h"
#include "src/proxy/worker.h"
#include "src/util/privilege.h"

struct xp_prom_server;
struct xp_proxy_sync;
struct xp_syslog;
struct xp_pipeline;
struct xp_gateway;
struct xp_gw_queue;
struct xp_dst_table;
struct xp_owners;
struct xp_manual_blocks;
struct xp_op_blocks;

/* Events the proxy remembers for `xpro-ctl events --last N` (the newest; older ones drop out). */
#define XP_PROXY_RECENT_EVENTS 1024

struct proxy {
    struct xp_config *cfg;          /* live: replaced whole on reload */
    const char *config_path;
    struct xp_backend *be;
    struct xp_worker workers[XP_MAX_QUEUES];
    struct xp_dst_table *dst;
    struct xp_owners *owners;       /* which worker holds each pair (more than one queue) */
    struct xp_pipeline *pipelines[XP_MAX_QUEUES];
    struct xp_manual_blocks *manual; /* operator blocks the workers keep (no XDP map for them) */
    struct xp_op_blocks *op_blocks; /* operator blocks of record: who, why, until; state file */
    struct xp_gateway *gw;          /* gateway mode only */
    struct xp_gw_queue *gw_queues[XP_MAX_QUEUES];
    struct xp_ctl_server *ctl;
    struct xp_prom_server *prom;
    struct xp_proxy_sync *sync;
    json_t *sync_final;             /* sync health when the thread stopped, for the final line */
    FILE *stats;
    FILE *events;
    struct xp_syslog *syslog;
    uint64_t events_written;
    char **recent;                  /* ring of the last XP_PROXY_RECENT_EVENTS event lines */
    uint64_t recent_total;          /* lines ever put in it */
    /* Previous totals for rates. */
    uint64_t last_rx, last_tx;
    double last_t;
    double rx_pps, tx_pps;
    uint64_t last_rx_bytes, last_tx_bytes;
    double rx_gbps, tx_gbps;
    char sync_state[16];            /* last sync state seen, for state-change events */
    /* "user": the child of xp_monitor__split() runs the proxy as this account */
    struct xp_priv_target target;
    bool monitored;
    struct xp_capture_run *capture; /* the running xpro-ctl capture, or NULL (capture_op.c) */
    uint64_t capture_ids;           /* captures started: the next one's id is this + 1 */
    /* fair_share (fair_tick.c): the last tick, the demands buffer, what the ticks did */
    uint64_t fair_mono;
    struct xp_fair_demand *fair_buf;
    uint64_t fair_ticks, fair_published, fair_truncated;
};

/* ---- fair_tick.c ------------------------------------------------------------------------ */

/*
 * fair_share's tick, from the main loop's housekeeping: at most every
 * XP_FAIR_PERIOD_NS, when policer.dst_policy is fair_share, every worker
 * lists its demands towards the destinations over T_F2 (a mailbox call),
 * and the shares are water-filled and published (docs/policer.md,
 * "Destination policies"). Main thread.
 */
void xp_proxy__fair_tick(struct proxy *px);
/* The buffer, at shutdown. */
void xp_proxy__fair_free(struct proxy *px);

/* ---- lifecycle.c ---------------------------------------------------------------------- */

/* Why xp_proxy__setup() failed: main() turns it into an exit code. */
enum xp_proxy_fail {
    XP_PROXY_FAIL_NONE = 0,
    XP_PROXY_FAIL_CONFIG,   /* something the configuration asks cannot be (exit 2) */
    XP_PROXY_FAIL_BPFFS,
    XP_PROXY_FAIL_LOAD,     /* the XDP program; errno says more */
    XP_PROXY_FAIL_OTHER,    /* errno says what */
};

/*
 * Everything before the loop: the backend on the ports, with "user" the
 * monitor split (this returns in the proxy only), the queues, pipelines
 * and gateway, the control socket and Prometheus, the privilege drop. On
 * failure what was set up is undone (xp_proxy__shutdown()). 0 or -errno
 * with *why.
 */
int xp_proxy__setup(struct proxy *px, enum xp_proxy_fail *why);
/* The workers and the sync thread (run() in main.c calls this once the signals are blocked). */
int xp_proxy__start(struct proxy *px);
/* The sync thread alone, when "sync" names a central node (0 when it does not). 0 or -errno. */
int xp_proxy__start_sync(struct proxy *px);
/*
 * Read the configuration file again and switch every worker to it between
 * two bursts: no packet is lost and the pair tables stay. A file that does
 * not parse, or changes a key that cannot change live, is refused and the
 * running configuration stays. 0, or -1 with msg set.
 */
int xp_proxy__reload(struct proxy *px, char *msg, size_t msg_len);
/* Control-thread housekeeping once per loop turn (destinations, gateway next hops). */
void xp_proxy__housekeeping(struct proxy *px);
/* Stop the threads, print the final line (print_final), free everything, undo the set-up. */
void xp_proxy__shutdown(struct proxy *px, bool print_final);

/* ---- stats.c -------------------------------------------------------------------------- */

/*
 * The one stats document: what the stats line prints, what `xpro-ctl
 * stats` returns and what Prometheus renders (docs/stats.md). Rates are
 * those of the last stats interval. The packet totals go to rx and tx.
 */
json_t *xp_proxy__stats_document(struct proxy *px, bool final, uint64_t *rx, uint64_t *tx);
/* The periodic stats line: update the rates, print the document, hand it to Prometheus. */
void xp_proxy__print_stats(struct proxy *px, bool final);

/* ---- events.c ------------------------------------------------------------------------- */

/* One event line to every sink: the events file, syslog, xpro-ctl followers. */
void xp_proxy__emit_event(struct proxy *px, json_t *o, int severity);
/* Move queued events from every worker to the sinks. */
void xp_proxy__drain_events(struct proxy *px);
/*
 * The last n (at most XP_PROXY_RECENT_EVENTS) events, oldest first, as a JSON array (new
 * reference); NULL when out of memory.
 */
json_t *xp_proxy__recent_events(const struct proxy *px, unsigned n);
/* Free the ring (shutdown). */
void xp_proxy__events_free(struct proxy *px);
/*
 * Drop provenance as JSON (docs/operators.md "Why a pair is dropped"): the
 * pair's window, its destination's aggregate, the thresholds and the policy
 * (new reference, NULL when out of memory). The block events' "evidence" and
 * xpro-ctl why's numbers.
 */
json_t *xp_proxy__evidence_json(const struct xp_policer_evidence *why);

/* ---- ctl_ops.c ------------------------------------------------------------------------ */

/* The control socket's operations: the table the server lists, and the handler. */
extern const struct xp_ctl_op xp_proxy_ctl_ops[];
json_t *xp_proxy__ctl_handler(void *ctx, const char *op, json_t *req, char *err, size_t errlen);
/* The control socket and, when configured, the Prometheus endpoint. 0 or -errno. */
int xp_proxy__start_operators(struct proxy *px);
/*
 * Operator blocks: the list of record, read from state_dir's file and applied again (at
 * set-up, before the workers start, still as root: a missing state_dir is created for
 * "user"). 0 or -errno (a file that does not parse stops the start).
 */
int xp_proxy__restore_blocks(struct proxy *px);
/* Timed operator blocks that ended: lifted, with an unblock event. Control thread, every turn. */
void xp_proxy__expire_blocks(struct proxy *px);

/* ---- capture_op.c --------------------------------------------------------------------- */

/* The capture op ({"follow": true} only): start the one capture, streamed to the client. */
json_t *xp_proxy__ctl_capture(struct proxy *px, json_t *req, char *err, size_t errlen);
/* Control thread, every turn: stream what the workers' taps hold, end the capture when due. */
void xp_proxy__capture_service(struct proxy *px);
/* End the running capture (if any): taps taken back from the workers, the end line, freed. */
void xp_proxy__capture_stop(struct proxy *px, const char *why);

#endif /* XP_PROXY_H */
