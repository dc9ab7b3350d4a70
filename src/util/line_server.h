/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The connection half of a small request server, written once for the control socket
 * (src/ctl, JSON lines) and the Prometheus endpoint (src/prom, an HTTP request head): a
 * listening socket, a bounded table of clients, a bounded input buffer per client, an
 * output queue with backpressure, idle and lifetime limits, eviction when the table is full,
 * and the poll() integration. What a request looks like, and what answers it, stays with the
 * owner, which gets its bytes through the callbacks of struct xp_line_server_ops.
 *
 * Threading: single-threaded and made for a poll() main loop. Every function here must be
 * called from the thread that created the server, callbacks run on it too. Not hot-path.
 *
 * Connections are never freed inside handle() or a callback: xp_line_conn__close() marks
 * one, and it is reaped at the end of handle() or at the next pollfds(). A callback may
 * therefore send to, or close, any connection, not only its own.
 */
#ifndef XP_LINE_SERVER_H
#define XP_LINE_SERVER_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct xp_line_server;
struct xp_line_conn;

/* Which connection makes room for a newcomer when every slot is taken. */
enum xp_line_evict {
    XP_LINE_EVICT_NONE = 0, /* nobody: the newcomer is refused */
    /*
     * Persistent request/reply connections: the one idle the longest (no progress either
     * way) among those between requests: nothing half read, nothing left to send.
     */
    XP_LINE_EVICT_IDLE,
    /*
     * One-shot connections: the oldest (by accept time) among those not answered yet (not
     * closing); one being answered is about to go anyway.
     */
    XP_LINE_EVICT_UNANSWERED,
};

/*
 * The owner's protocol. ctx is xp_line_server_conf.ctx. Only input is required.
 *
 * input:    the input buffer holds new bytes, or output drained while complete requests
 *           waited behind it (see xp_line_conn__paused()). Consume what forms requests
 *           with xp_line_conn__consume(); what is left stays for the next call.
 * overflow: the buffer is full (in_max) and input() left it so: the request is too large.
 *           NULL closes the connection.
 * eof:      the peer shut down its sending side; called again after every later input()
 *           while the connection stays open. NULL: close once the output is flushed.
 * expire:   the connection passed idle_ms or life_ms and is about to close; what it sends
 *           now goes out if the socket takes it at once. Not called for a connection already
 *           closing (its answer is on its way).
 * closed:   the connection leaves (any cause but xp_line_server__destroy()); its slot is
 *           free after the call. For the owner's per-slot state.
 */
struct xp_line_server_ops {
    void (*input)(void *ctx, struct xp_line_conn *c);
    void (*overflow)(void *ctx, struct xp_line_conn *c);
    void (*eof)(void *ctx, struct xp_line_conn *c);
    void (*expire)(void *ctx, struct xp_line_conn *c);
    void (*closed)(void *ctx, struct xp_line_conn *c);
};

struct xp_line_server_conf {
    int fd;                 /* listening socket, non-blocking; owned by the server on success */
    unsigned max_conns;     /* slots; > 0 */
    size_t in_max;          /* input buffer per connection, bytes; > 0 */
    size_t out_pause;       /* unsent output past which its input is left unread; 0: never */
    unsigned idle_ms;       /* close after this long without progress either way; 0: never */
    unsigned life_ms;       /* close this long after accept, whatever happens; 0: never */
    enum xp_line_evict evict;
    const char *full_msg;   /* sent (best effort, never waited for) to a refused newcomer */
    const struct xp_line_server_ops *ops;
    void *ctx;
};

/* Counters; monotonic except conns (a gauge). */
struct xp_line_server_stats {
    uint64_t accepted;
    uint64_t rejected_full; /* refused: every slot taken and none evictable */
    uint64_t evicted;       /* closed to make room for a newcomer */
    uint64_t expired;       /* closed at idle_ms or life_ms */
    uint64_t out_peak;      /* largest output buffer one connection made us hold, bytes */
    unsigned conns;
};

/*
 * Serve conf->fd (conf and ops are copied; full_msg and ctx must outlive the server).
 * Returns the server, or NULL with errno set (EINVAL, ENOMEM); the caller then still owns
 * the fd.
 */
struct xp_line_server *xp_line_server__create(const struct xp_line_server_conf *conf);

/* Close every connection (no callbacks) and the listening socket. Accepts NULL. */
void xp_line_server__destroy(struct xp_line_server *srv);

/* Upper bound of the pollfds the server can ask for (listener + connections). */
unsigned xp_line_server__max_pollfds(const struct xp_line_server *srv);

/*
 * Reap closed connections, then fill out[] with the fds to poll and their events (at most
 * max); returns the count. Pass the same array, after poll(), to handle().
 */
unsigned xp_line_server__pollfds(struct xp_line_server *srv, struct pollfd *out, unsigned max);

/*
 * Accept, read, call back, write, expire. fds/n are what pollfds() returned with poll()'s
 * revents; fds the server does not know are ignored. Call it after every poll(), also on a
 * timeout (that is when connections expire). New connections are accepted last, and read at
 * once: a request that came with its connection is answered before the next one is taken.
 * Returns 0 or a negative errno for a failure of the listening socket itself.
 */
int xp_line_server__handle(struct xp_line_server *srv, const struct pollfd *fds, unsigned n);

/* For owners without their own loop: poll the server's fds up to timeout_ms and handle them. */
int xp_line_server__poll(struct xp_line_server *srv, int timeout_ms);

/* The open connection in slot (< max_conns), or NULL: free, or closing. */
struct xp_line_conn *xp_line_server__conn(struct xp_line_server *srv, unsigned slot);

void xp_line_server__stats(const struct xp_line_server *srv, struct xp_line_server_stats *st);

/* ---- one connection (only valid until it is reaped: do not keep the pointer) ---------- */

/* Its slot in [0, max_conns): index of the owner's per-connection state. */
unsigned xp_line_conn__slot(const struct xp_line_conn *c);

/* Its socket, for queries such as SO_PEERCRED (never read, write or close it). */
int xp_line_conn__fd(const struct xp_line_conn *c);

/*
 * The unconsumed input, *len bytes, followed by a NUL (not counted) so that text parsers
 * may use it as a string. The owner may modify the bytes.
 */
char *xp_line_conn__input(struct xp_line_conn *c, size_t *len);

/* Drop the first n bytes (n <= length) of the input. */
void xp_line_conn__consume(struct xp_line_conn *c, size_t n);

/*
 * Queue data, and send what the socket takes now. Returns 0, -EPIPE if the connection is
 * closed already, or -ENOMEM (and the connection is closed: a partial answer is no answer).
 */
int xp_line_conn__send(struct xp_line_conn *c, const void *data, size_t len);

/* Queue data without sending: the first parts of a message, sent with the last. As send(). */
int xp_line_conn__append(struct xp_line_conn *c, const void *data, size_t len);

/* Bytes queued and not sent yet. */
size_t xp_line_conn__pending(const struct xp_line_conn *c);

/* Whether its pending output passed out_pause: take no more requests from its input. */
bool xp_line_conn__paused(const struct xp_line_conn *c);

/* Exempt it from idle_ms (a subscriber that only listens), or not. life_ms still applies. */
void xp_line_conn__set_idle_exempt(struct xp_line_conn *c, bool exempt);

/*
 * Read no more: drop its input, send what is queued, then close. After an error reply that
 * ends the conversation, or a one-shot answer.
 */
void xp_line_conn__close_after_flush(struct xp_line_conn *c);

/* Close it now; queued output is dropped. */
void xp_line_conn__close(struct xp_line_conn *c);

#endif /* XP_LINE_SERVER_H */
