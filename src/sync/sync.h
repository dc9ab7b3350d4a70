/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Sync client: the proxy's side of Algorithm 2 (docs/protocol.md, wire
 * format in docs/protocol.md).
 *
 * One struct xp_sync_client per proxy, used by one thread only (the proxy's
 * sync thread). Calls block that thread for at most the configured timeouts;
 * they never touch a policer. The intended integration keeps every worker
 * off the network:
 *
 *   every sync period, in the sync thread:
 *     1. if xp_sync_client__pending(): xp_sync_client__recover(); on error
 *        stop here for this period (do NOT collect: see below);
 *     2. ask each worker (mailbox) to run xp_policer__collect_dirty() into a
 *        buffer and hand it back;
 *     3. xp_sync_client__exchange(records, report, install_cb);
 *        install_cb routes each answer to the owning worker (mailbox), which
 *        calls xp_policer__install(pol, key, sent, fresh). Installs must be
 *        applied by a worker before that worker's next collect: a FIFO
 *        mailbox gives that for free.
 *
 * Exactly-once: every request line carries a sequence number. If the
 * connection drops after a request was sent but before its answer arrived,
 * the client keeps the request (and every record not yet sent) and
 * xp_sync_client__recover() re-sends the same line after reconnecting; the
 * central node answers a repeated sequence number from its cache instead of
 * merging it twice. Collecting again before that would snapshot pairs whose
 * previous snapshot is still in flight and count their packets twice, hence
 * rule 1.
 *
 * With the central node unreachable the calls fail fast (-EAGAIN while a
 * reconnect is backed off), the proxy keeps policing on local state, and
 * the stats say degraded and since when.
 */
#ifndef XP_SYNC_H
#define XP_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "src/policer/policer.h"

#define XP_SYNC_PROTO_VERSION 2
#define XP_SYNC_DEF_PORT 7420
#define XP_SYNC_SECRET_MAX 64 /* bytes (128 hex digits) */
#define XP_SYNC_SECRET_MIN 16
#define XP_SYNC_ID_MAX 64 /* proxy id: 1..64 of [A-Za-z0-9._-] */

/* The central node's row for a pair (M_DB): ts1, ts2 in ns, c packets. */
struct xp_sync_global {
    uint64_t ts1;
    uint64_t ts2;
    uint64_t c;
};

/* The proxy's load (the paper's W) as reported with each sync. */
struct xp_sync_load {
    uint64_t w_ppm;   /* busiest worker's busy share, parts per million */
    uint64_t pps;     /* packets per second seen over the last period */
    uint64_t drop_pps;
    uint64_t pairs;   /* pairs in the local tables */
};

/* An overload warning (policer event) travelling to the central node. */
struct xp_sync_warning {
    struct xp_policer_key key;
    uint64_t rate_pps;
    uint64_t threshold_pps;
    uint64_t t_ns;
};

struct xp_sync_report {
    struct xp_sync_load load;
    const struct xp_sync_warning *warnings; /* at most XP_SYNC_MAX_WARNINGS are sent */
    unsigned n_warnings;
};
#define XP_SYNC_MAX_WARNINGS 64

/*
 * One answer to install. sent is the snapshot the proxy collected (NULL for
 * a pair only the central node changed: lines 33-34); fresh is the new local
 * state (gen copied from sent, so xp_policer__install() works unchanged);
 * global is the central row after the merge. The pointers are valid only
 * during the callback.
 */
struct xp_sync_answer {
    const struct xp_policer_key *key;
    const struct xp_pair_state *sent;
    struct xp_pair_state fresh;
    struct xp_sync_global global;
};

/* Called from the sync thread, in wire order, once per answer. */
typedef void (*xp_sync_install_fn)(void *arg, const struct xp_sync_answer *ans);

struct xp_sync_client_config {
    const char *host;          /* numeric IPv4/IPv6 address of the central node */
    uint16_t port;
    const char *proxy_id;      /* as in the central node's conf "proxies" */
    const uint8_t *secret;     /* XP_SYNC_SECRET_MIN..XP_SYNC_SECRET_MAX bytes */
    size_t secret_len;
    unsigned connect_timeout_ms; /* 0: 2000 */
    unsigned io_timeout_ms;      /* per message; 0: 5000 */
    unsigned backoff_min_ms;     /* 0: 200 */
    unsigned backoff_max_ms;     /* 0: 30000 */
    unsigned max_pairs;          /* per request; 0 or above the server's: the server's limit */
};

struct xp_sync_client_stats {
    bool connected;
    uint64_t degraded_since_ns; /* CLOCK_REALTIME of the first failure since the last good sync; 0: healthy */
    uint64_t last_sync_ns;      /* end of the last complete exchange; 0: never */
    uint64_t last_rtt_ns;       /* last request/answer round trip */
    uint64_t syncs_ok;
    uint64_t syncs_failed;
    uint64_t connects;          /* successful connect + mutual auth */
    uint64_t auth_failures;     /* central refused us, or failed to prove the secret */
    uint64_t pairs_sent;
    uint64_t answers;           /* answers to our pairs installed */
    uint64_t down;              /* pairs only the central node changed, installed */
    uint64_t replays;           /* requests re-sent after a lost answer */
    uint64_t clamped;           /* our timestamps the central node clamped (clock skew) */
    uint64_t sealed_rejects;    /* lines from the central node that failed their seal */
    int last_error;             /* negative errno of the last failure, 0 */
    char last_error_code[32];   /* protocol error code from the central node, "" */
};

/*
 * Create a client (no connection yet: the first exchange connects). Copies
 * everything in cfg. Returns NULL with errno (EINVAL: bad host, id or
 * secret; ENOMEM).
 */
struct xp_sync_client *xp_sync_client__create(const struct xp_sync_client_config *cfg);

/* Close and free. NULL is fine. */
void xp_sync_client__destroy(struct xp_sync_client *cl);

/*
 * Send local[0..n-1] (pairs touched since the last sync, from
 * xp_policer__collect_dirty(); n may be 0), the report, and install every
 * answer and every pair changed only on the central node since our last
 * sync through install(arg, ...). Connects (and authenticates both ways)
 * if needed. Blocks the calling thread, each message bounded by
 * io_timeout_ms. The records are copied: the caller may reuse them.
 *
 * Returns 0 when everything was sent and answered; -EBUSY if a previous
 * exchange is still pending (call recover first; nothing was taken);
 * -EAGAIN while reconnecting is backed off; -EACCES on an authentication
 * failure; -ETIMEDOUT, -ECONNREFUSED, -EPROTO (bad answer or an error from
 * the central node), -ENOMEM... On failure the records not yet answered are
 * kept (pending) and the connection is closed.
 */
int xp_sync_client__exchange(struct xp_sync_client *cl, const struct xp_pair_record *local,
                             unsigned n, const struct xp_sync_report *report,
                             xp_sync_install_fn install, void *arg);

/* True while records of a failed exchange are waiting (see the top comment). */
bool xp_sync_client__pending(const struct xp_sync_client *cl);

/*
 * Finish a pending exchange: reconnect (subject to backoff), replay the
 * unanswered request, send the remaining records, install the answers.
 * Returns 0 (nothing pending any more) or the errors of exchange().
 */
int xp_sync_client__recover(struct xp_sync_client *cl, xp_sync_install_fn install, void *arg);

/*
 * Ask the central node for its stats document. *json receives a malloc'd
 * JSON object (free() it). Returns 0 or a negative errno as exchange().
 */
int xp_sync_client__central_stats(struct xp_sync_client *cl, char **json);

/*
 * Ask the central node about a pair (xpro-ctl --central ... why): its row,
 * and the active rows towards its destination summed per proxy that wrote
 * them last (docs/operators.md). *json as central_stats.
 */
int xp_sync_client__central_why(struct xp_sync_client *cl, const struct xp_policer_key *key,
                                char **json);

/* Snapshot of the client's counters. Any thread. */
void xp_sync_client__stats(const struct xp_sync_client *cl, struct xp_sync_client_stats *out);

/* Parse a hex secret ("00ff..."). Returns the byte count or -EINVAL. */
int xp_sync_secret__parse(const char *hex, uint8_t *out, size_t out_max);

#endif /* XP_SYNC_H */
