/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Upstream mitigation (docs/upstream.md): the proxy's block and unblock events turned into
 * BGP routes for a speaker (ExaBGP's process API), and into runs of an operator's script.
 *
 * Two parts, used by xpro-announce's main loop and by tests/unit/test_announce.c:
 *
 *   struct xp_announce  the set of routes: a pair block of reason unit_rate wants a FlowSpec
 *                       route (source unit -> destination, discard or rate-limit); a pair
 *                       block of reason dst_rate wants an RTBH route for its destination
 *                       (--dst-action). Routes are reference-counted by the blocks that want
 *                       them (one RTBH route for a destination however many pairs are
 *                       blocked towards it), capped in number, and paced by a token bucket:
 *                       what the speaker was told follows what is wanted, at most `rate`
 *                       updates a second; a route wanted and unwanted again before its turn
 *                       costs no update at all.
 *   struct xp_notify    the notify hook: the operator's script run once per event, at most
 *                       max_running at a time, killed at its timeout, never waited for.
 *
 * Single-threaded: every function is called from the program's one thread. Nothing here is
 * on the proxy's data path (this runs in its own process).
 */
#ifndef XP_ANNOUNCE_H
#define XP_ANNOUNCE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a route is: one pair's FlowSpec rule, or a destination's blackhole route. */
enum xp_route_kind {
    XP_ROUTE_FLOW = 0,
    XP_ROUTE_RTBH = 1,
};

/* What a dst_rate block announces. */
enum xp_dst_action {
    XP_DST_RTBH = 0,   /* the destination's /32 or /128 with the blackhole community */
    XP_DST_FLOW = 1,   /* a FlowSpec rule for the pair, as for unit_rate */
    XP_DST_NONE = 2,   /* nothing */
};

struct xp_announce_conf {
    enum xp_dst_action dst_action;
    uint64_t flow_rate_bps;    /* 0: FlowSpec action "discard"; else "rate-limit" bytes/s */
    char next_hop4[64];        /* RTBH next hop of IPv4 routes: an address or "self" */
    char next_hop6[64];        /* and of IPv6 routes */
    char community[64];        /* RTBH communities, ExaBGP syntax inside [ ]: "65535:666" */
    unsigned v6_unit_prefix;   /* an IPv6 unit is a prefix this long (the proxy's
                                * policer.v6_unit_prefix): a FlowSpec source of that length */
    unsigned max_routes;       /* routes announced at once, at most; more are capped */
    unsigned max_pairs;        /* blocks followed at once; beyond, counted and ignored */
    double rate;               /* updates (announce or withdraw) per second */
    double burst;              /* bucket depth, updates */
};

/* Counters; routes_* are gauges, the rest monotonic. */
struct xp_announce_stats {
    uint64_t events;           /* block and unblock events taken */
    uint64_t events_ignored;   /* other kinds (overload), or dst_action none */
    uint64_t events_bad;       /* missing or malformed fields */
    uint64_t unblock_unknown;  /* an unblock for a block we never saw (e.g. before a reconnect) */
    uint64_t block_duplicate;  /* a block for a pair already blocked */
    uint64_t pairs_full;       /* blocks ignored at max_pairs */
    uint64_t capped;           /* routes not announced because max_routes were */
    uint64_t announced;        /* announce commands written */
    uint64_t withdrawn;        /* withdraw commands written */
    uint64_t coalesced;        /* updates never sent: wanted and unwanted again in time */
    uint64_t forgets;          /* xp_announce__forget_all() calls (the stream was lost) */
    uint64_t write_errors;     /* the command sink failed */
    uint64_t seeds;            /* xp_announce__seed() calls */
    uint64_t seeded;           /* blocks learnt from a seed, not from an event */
    unsigned pairs;            /* blocks followed now */
    unsigned pairs_seeded;     /* of which learnt from a seed, no event seen yet */
    unsigned routes_wanted;    /* routes some block wants, not capped */
    unsigned routes_announced; /* routes the speaker holds */
    unsigned routes_capped;    /* routes some block wants, capped */
    unsigned pending;          /* updates waiting for a token */
};

/*
 * Where commands go: one ExaBGP API line (without newline). Returns 0, or a negative errno
 * (the update is counted in write_errors and retried later).
 */
typedef int (*xp_announce_sink)(void *ctx, const char *line);

struct xp_announce;

/* Fill conf with the defaults (docs/upstream.md). */
void xp_announce_conf__defaults(struct xp_announce_conf *conf);

/*
 * Check conf (a next hop that is neither "self" nor an address of its family, a
 * community that is not ASN:VALUE words, a zero rate...). 0, or -EINVAL with a message.
 */
int xp_announce_conf__check(const struct xp_announce_conf *conf, char *err, size_t errlen);

/* NULL with errno set (EINVAL: conf fails the check; ENOMEM). */
struct xp_announce *xp_announce__create(const struct xp_announce_conf *conf,
                                        xp_announce_sink sink, void *ctx, uint64_t now_ns);
/* Accepts NULL. Writes nothing: withdraw first (forget_all, then pace) if that is wanted. */
void xp_announce__destroy(struct xp_announce *a);

/*
 * Take one event object of the proxy's stream (docs/datapath.md "Events"). Returns 0 when
 * it changed what is wanted, 1 when it was ignored (another kind, a duplicate, an unknown
 * unblock, the pair table full), -EINVAL when it is malformed. Every case is counted.
 * Updates wait for xp_announce__pace().
 */
int xp_announce__event(struct xp_announce *a, const json_t *ev);

/*
 * Send what the bucket allows of the updates that wait, oldest first. Returns the time
 * (CLOCK_MONOTONIC ns) at which more can be sent, or 0 when nothing waits.
 */
uint64_t xp_announce__pace(struct xp_announce *a, uint64_t now_ns);

/* Send every update that waits now, whatever the bucket holds (leaving: at most max_routes). */
void xp_announce__flush(struct xp_announce *a);

/*
 * The event stream was lost (the proxy restarted, or we reconnect): forget every block,
 * so that every route is withdrawn, paced as any update. The routes come back with the
 * block events that follow.
 */
void xp_announce__forget_all(struct xp_announce *a);

/*
 * Resync: flows is the "flows" array of the proxy's flows op (src/proxy/ctl_ops.c). Its rows
 * whose verdict means "blocked now" become blocks, as if their block events had come (a
 * block that began before we followed the stream emits none: renewals are silent); seeded
 * blocks that a later seed no longer shows are dropped (their unblock may have come before
 * we knew them). A block or unblock event of a seeded pair makes it an ordinary one.
 * Returns the number of seeded blocks still held (the caller seeds again while there are
 * any), or -EINVAL when flows is not an array.
 */
int xp_announce__seed(struct xp_announce *a, const json_t *flows);

void xp_announce__stats(const struct xp_announce *a, struct xp_announce_stats *st);
json_t *xp_announce__stats_json(const struct xp_announce *a);

/*
 * The ExaBGP command that announces (or withdraws) one route into buf. unit is ignored for
 * RTBH. Returns the length, or -ENOSPC.
 */
int xp_announce__format(const struct xp_announce_conf *conf, enum xp_route_kind kind,
                        const uint8_t unit[16], const uint8_t dst[16], bool announce, char *buf,
                        size_t len);

/* ---- the notify hook ------------------------------------------------------------------ */

struct xp_notify_conf {
    const char *script;        /* absolute path of an executable */
    unsigned timeout_ms;       /* a run still going after this is killed (SIGKILL, its group) */
    unsigned max_running;      /* runs at once */
    unsigned max_queued;       /* events waiting for a free run; beyond, dropped (counted) */
};

struct xp_notify_stats {
    uint64_t started;
    uint64_t ok;               /* exited 0 */
    uint64_t failed;           /* exited non-zero, or killed by a signal not ours */
    uint64_t killed;           /* killed at the timeout */
    uint64_t dropped;          /* queue full */
    uint64_t spawn_errors;
    unsigned running;
    unsigned queued;
};

struct xp_notify;

/* NULL with errno set (EINVAL: no script, not an absolute path, zero bounds). */
struct xp_notify *xp_notify__create(const struct xp_notify_conf *conf);
/* Kills (SIGKILL) and reaps every run still going. Accepts NULL. */
void xp_notify__destroy(struct xp_notify *n);

/*
 * One event for the script: `SCRIPT EVENT UNIT DST REASON` (REASON "-" when the event has
 * none), environment XPRO_EVENT, XPRO_UNIT, XPRO_DST, XPRO_REASON, XPRO_PROXY_ID,
 * XPRO_QUEUE, the event's JSON line on its stdin; its stdout and stderr go to our stderr.
 * Starts it now or queues it; never waits.
 */
void xp_notify__event(struct xp_notify *n, const json_t *ev, const char *line, uint64_t now_ns);

/*
 * Reap the runs that ended, kill those past their timeout, start queued ones. Call after
 * SIGCHLD and at the returned time (CLOCK_MONOTONIC ns; 0: nothing to wait for).
 */
uint64_t xp_notify__service(struct xp_notify *n, uint64_t now_ns);

void xp_notify__stats(const struct xp_notify *n, struct xp_notify_stats *st);
json_t *xp_notify__stats_json(const struct xp_notify *n);

#endif /* XP_ANNOUNCE_H */
