/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Prometheus text exposition (format 0.0.4) of the proxy's stats document, and a tiny
 * HTTP/1.0 server that serves it on a loopback address.
 *
 * Naming (docs/operators.md has the full rule):
 *   - every numeric (and boolean, as 0/1) leaf becomes xpro_<path>, the path's keys joined
 *     by '_' (array keys included): ports[].queues[].rx_packets ->
 *     xpro_ports_queues_rx_packets_total{port="xpa",role="access",queue="0"};
 *   - in an array element, "name" becomes the label named after the array in the singular
 *     (ports -> port), other string members become labels under their own key, and the
 *     integer members "queue" and "id" become labels instead of samples; labels nest;
 *   - top-level strings become labels of xpro_info 1;
 *   - integers are counters (suffix _total) unless their dotted path matches the gauge
 *     table in prom.c (frames.*, policer.pairs, *_pps, ...); reals and booleans are gauges.
 *
 * The server is single-threaded and made for a poll() main loop, like src/ctl: call every
 * function of struct xp_prom_server from the thread that created it. Nothing here is
 * hot-path.
 */
#ifndef XP_PROM_H
#define XP_PROM_H

#include <jansson.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Render stats (a stats document) as Prometheus text. Pure: no I/O, no global state.
 * Returns a malloc'd NUL-terminated string (length in *len if len is not NULL), or NULL
 * with errno set (EINVAL: not an object; ENOMEM).
 */
char *xp_prom_render(const json_t *stats, size_t *len);

#define XP_PROM_MAX_REQUEST 8192u   /* request line and headers */
#define XP_PROM_DEFAULT_TIMEOUT_MS 2000u
#define XP_PROM_DEFAULT_MAX_CLIENTS 8u

struct xp_prom_server_conf {
    const char *addr;           /* numeric loopback address: 127.0.0.0/8 or ::1 */
    uint16_t port;              /* 0 picks a free port (tests); see xp_prom_server__port() */
    unsigned timeout_ms;        /* a connection's whole life; 0 means the default */
    unsigned max_clients;       /* 0 means the default */
};

struct xp_prom_server_stats {
    uint64_t requests;          /* complete requests */
    uint64_t ok;                /* 200 */
    uint64_t not_found;         /* 404 */
    uint64_t bad_request;       /* 400, 405, 431 */
    uint64_t unavailable;       /* 503: no stats document yet */
    uint64_t timeouts;          /* closed at the deadline (408 if a request had begun) */
    uint64_t rejected_full;     /* every slot answering a request: refused */
    uint64_t evicted;           /* unfinished requests closed to make room for a newcomer */
};

struct xp_prom_server;

/*
 * Listen on conf->addr:conf->port. A non-loopback address fails with EADDRNOTAVAIL: the
 * endpoint has no authentication, so it must not face a network. NULL with errno set.
 */
struct xp_prom_server *xp_prom_server__create(const struct xp_prom_server_conf *conf);
void xp_prom_server__destroy(struct xp_prom_server *srv);

/* The bound port (useful with conf->port 0). */
uint16_t xp_prom_server__port(const struct xp_prom_server *srv);

/*
 * Publish the stats document the next scrapes render (a reference is taken; the previous
 * one is released). Call it each time the proxy builds its stats line. NULL withdraws it
 * (scrapes get 503).
 */
void xp_prom_server__set_stats(struct xp_prom_server *srv, json_t *stats);

/* The server's connections, polled as the control socket's are (see ctl.h). */
struct xp_line_server;
struct xp_line_server *xp_prom_server__lines(struct xp_prom_server *srv);

void xp_prom_server__stats(const struct xp_prom_server *srv, struct xp_prom_server_stats *st);

#endif /* XP_PROM_H */
