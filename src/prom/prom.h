/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Prometheus text exposition (format 0.0.4) of the proxy's stats document, and a tiny
 * HTTP/1.0 server that serves it on a loopback address.
 *
 * What is exported is one explicit table, xp_prom_metrics[] (metrics.c): per family its
 * name, type, unit, help and labels, and the stats-document fields that feed it. Names follow
 * the Prometheus conventions (counters end in _total, gauges never do, base units as
 * suffixes, reasons and ports as labels, no pre-computed rates); docs/stats.md lists them.
 * A numeric field of the document with no row in the table must be listed in
 * xp_prom_unexported[] with the reason: tests/unit/test_prom.c walks real documents of every
 * mode and fails on a field that is neither, so a new counter cannot silently go missing.
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

enum xp_prom_type {
    XP_PROM_COUNTER = 1,
    XP_PROM_GAUGE = 2,
};

/*
 * One feed of a family. path names a place in the stats document: keys joined by '.', an
 * array iterated as "key[]" (its elements labelled: ports by port and role, queues and
 * workers by queue), "" the document itself, and a last segment "*" every member of an
 * object (the member's key becomes the label key_label). At the place:
 *   - a number or boolean is a sample (times scale, if not 0: into base units);
 *   - with info set, the place is an object and the sample is 1, labelled by the members
 *     named in info (comma-separated, all present, else no sample): the _info idiom;
 *   - with states set, the place is a string and there is one sample per state named in
 *     states (comma-separated), labelled key_label, 1 for the current state, else 0.
 * labels are constant labels of these samples in exposition syntax (reason="unit_rate").
 */
struct xp_prom_source {
    const char *path;
    const char *labels;
    const char *key_label;
    const char *info;
    const char *states;
    double scale;
};

struct xp_prom_metric {
    const char *name;
    enum xp_prom_type type;
    const char *unit;   /* the base unit its name ends in (before _total): "bytes", "" */
    const char *labels; /* every label its samples carry, comma-separated, in output order */
    const char *help;
    const struct xp_prom_source *src; /* ends with an entry whose path is NULL */
};

/* A numeric field deliberately not exported: path as above ('*' matches one key). */
struct xp_prom_unexported {
    const char *path;
    const char *why;
};

extern const struct xp_prom_metric xp_prom_metrics[];
extern const size_t xp_prom_n_metrics;
extern const struct xp_prom_unexported xp_prom_unexported[];
extern const size_t xp_prom_n_unexported;

enum xp_prom_field {
    XP_PROM_FIELD_UNKNOWN = 0,  /* neither exported nor listed: a gap in the table */
    XP_PROM_FIELD_EXPORTED = 1, /* feeds a sample or a label */
    XP_PROM_FIELD_UNEXPORTED = 2,
};

/* What becomes of the document's numeric or boolean leaf at path ("ports[].ifindex"). */
enum xp_prom_field xp_prom_field(const char *path);

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
