// SPDX-License-Identifier: GPL-2.0-only
/*
 * A deliberately tiny HTTP/1.0 server for one resource, GET /metrics.
 *
 * It runs on the proxy's control thread, so it must never block and never let a client pin
 * memory or a slot: the request is bounded (XP_PROM_MAX_REQUEST), a connection lives at most
 * timeout_ms from accept to the last byte, there are at most max_clients connections, and the
 * response is rendered once into memory and written as the socket accepts it. One request per
 * connection (HTTP/1.0, Connection: close) keeps the state machine to read → write → close.
 * It listens on loopback only: there is no authentication or TLS to offer a network.
 * The connections themselves (slots, buffers, deadline, eviction, poll) are
 * src/util/line_server's; this file is the listening address and HTTP.
 *
 * Fair under connection floods: when every slot is taken, the oldest connection that has
 * not sent a whole request is closed for the newcomer (one that has is being answered and
 * about to go), and a newcomer's request is read at once if it came with the connection, so
 * clients that connect and send nothing, or reconnect as fast as they are dropped, cannot
 * keep a scraper out. A request line that is not "METHOD TARGET HTTP/x.y" gets 400 as soon
 * as its line ends; a request still incomplete at the deadline gets 408.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "src/prom/prom.h"
#include "src/util/line_server.h"
#include "src/util/log.h"

struct xp_prom_server {
    struct xp_prom_server_conf conf;
    uint16_t port;
    json_t *stats;
    struct xp_line_server *ls;
    struct xp_prom_server_stats st; /* the HTTP counters; the connections' are ls's */
};

/* Returns the listening socket, or a negative errno. */
static int listen_loopback(struct xp_prom_server *srv, const char *addr)
{
    struct sockaddr_storage ss = { 0 };
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    socklen_t sl;
    int fd, one = 1, ret;

    if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
        if ((ntohl(s4->sin_addr.s_addr) >> 24) != 127)
            return -EADDRNOTAVAIL;
        s4->sin_family = AF_INET;
        s4->sin_port = htons(srv->conf.port);
        sl = sizeof(*s4);
    } else if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
        if (!IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr))
            return -EADDRNOTAVAIL;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(srv->conf.port);
        sl = sizeof(*s6);
    } else {
        return -EINVAL;
    }
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    /* A restarted proxy must get its port back while old connections sit in TIME_WAIT. */
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, 16) != 0 ||
        getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
        ret = -errno;
        close(fd);
        return ret;
    }
    srv->port = ntohs(ss.ss_family == AF_INET ? s4->sin_port : s6->sin6_port);
    return fd;
}

static const struct xp_line_server_ops prom_conn_ops;

struct xp_prom_server *xp_prom_server__create(const struct xp_prom_server_conf *conf)
{
    struct xp_line_server_conf lconf = {
        /* the last byte of the buffer is never filled: a full buffer is a 431 */
        .in_max = XP_PROM_MAX_REQUEST - 1,
        .evict = XP_LINE_EVICT_UNANSWERED,
        .ops = &prom_conn_ops,
    };
    struct xp_prom_server *srv;
    int fd, ret;

    if (!conf || !conf->addr) {
        errno = EINVAL;
        return NULL;
    }
    srv = calloc(1, sizeof(*srv));
    if (!srv)
        return NULL;
    srv->conf = *conf;
    srv->conf.addr = NULL; /* not kept: the caller's string may go away */
    if (!srv->conf.timeout_ms)
        srv->conf.timeout_ms = XP_PROM_DEFAULT_TIMEOUT_MS;
    if (!srv->conf.max_clients)
        srv->conf.max_clients = XP_PROM_DEFAULT_MAX_CLIENTS;
    fd = listen_loopback(srv, conf->addr);
    if (fd < 0) {
        ret = fd;
        if (ret == -EADDRNOTAVAIL)
            pr_err("%s: not a loopback address; the metrics endpoint has no authentication",
                   conf->addr);
        else if (ret == -EINVAL)
            pr_err("%s: not a numeric IPv4 or IPv6 address", conf->addr);
        else
            pr_err("%s port %u: %s", conf->addr, conf->port, strerror(-ret));
        goto err_destroy;
    }
    lconf.fd = fd;
    lconf.max_conns = srv->conf.max_clients;
    lconf.life_ms = srv->conf.timeout_ms;
    lconf.ctx = srv;
    srv->ls = xp_line_server__create(&lconf);
    if (!srv->ls) {
        ret = -errno;
        goto err_close_socket;
    }
    return srv;

err_close_socket:
    close(fd);
err_destroy:
    xp_prom_server__destroy(srv);
    errno = -ret;
    return NULL;
}

void xp_prom_server__destroy(struct xp_prom_server *srv)
{
    if (!srv)
        return;
    xp_line_server__destroy(srv->ls);
    json_decref(srv->stats);
    free(srv);
}

uint16_t xp_prom_server__port(const struct xp_prom_server *srv)
{
    return srv->port;
}

void xp_prom_server__set_stats(struct xp_prom_server *srv, json_t *stats)
{
    json_t *old = srv->stats;

    srv->stats = stats ? json_incref(stats) : NULL;
    json_decref(old);
}

/* Queue the whole response, then close; the body (may be NULL: a one-line text) is consumed. */
static void respond(struct xp_line_conn *c, int code, const char *reason, const char *type,
                    char *body, size_t blen, bool head)
{
    char hdr[256], text[64];
    int hl;

    if (!body) {
        blen = (size_t)snprintf(text, sizeof(text), "%d %s\n", code, reason);
        type = "text/plain; charset=utf-8";
    }
    hl = snprintf(hdr, sizeof(hdr),
                  "HTTP/1.0 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                  "Connection: close\r\n\r\n", code, reason, type, blen);
    if (xp_line_conn__append(c, hdr, (size_t)hl) == 0 && !head)
        xp_line_conn__append(c, body ? body : text, blen);
    free(body);
    xp_line_conn__close_after_flush(c);
}

/* A request line: "METHOD TARGET HTTP/x.y", nothing more (a trailing CR is the line end's). */
static bool request_line_ok(const char *line, char *method, char *target)
{
    char version[16], extra;

    return sscanf(line, "%15s %255s %15s %c", method, target, version, &extra) == 3 &&
           strncmp(version, "HTTP/", 5) == 0 && version[5] >= '0' && version[5] <= '9' &&
           version[6] == '.' && version[7] >= '0' && version[7] <= '9' && !version[8];
}

/* in holds the request head: answer it. */
static void handle_request(struct xp_prom_server *srv, struct xp_line_conn *c, char *in)
{
    char method[16], target[256];
    char *end = strchr(in, '\n'), *q;
    bool head;

    srv->st.requests++;
    *end = '\0';
    if (end > in && end[-1] == '\r')
        end[-1] = '\0';
    if (!request_line_ok(in, method, target)) {
        srv->st.bad_request++;
        respond(c, 400, "Bad Request", NULL, NULL, 0, false);
        return;
    }
    head = strcmp(method, "HEAD") == 0;
    if (!head && strcmp(method, "GET") != 0) {
        srv->st.bad_request++;
        respond(c, 405, "Method Not Allowed", NULL, NULL, 0, false);
        return;
    }
    q = strchr(target, '?');
    if (q)
        *q = '\0';
    if (strcmp(target, "/metrics") != 0) {
        srv->st.not_found++;
        respond(c, 404, "Not Found", NULL, NULL, 0, head);
        return;
    }
    if (!srv->stats) {
        srv->st.unavailable++;
        respond(c, 503, "Service Unavailable", NULL, NULL, 0, head);
        return;
    }
    {
        size_t len = 0;
        char *body = xp_prom_render(srv->stats, &len);

        if (!body) {
            srv->st.unavailable++;
            respond(c, 503, "Service Unavailable", NULL, NULL, 0, head);
            return;
        }
        srv->st.ok++;
        respond(c, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", body, len, head);
    }
}

/* Whether in holds a complete first line that is not a request line. */
static bool bad_first_line(const char *in)
{
    const char *nl = strchr(in, '\n');
    char line[300], method[16], target[256];
    size_t len;

    if (!nl)
        return false;
    len = (size_t)(nl - in);
    if (len && in[len - 1] == '\r')
        len--;
    if (len >= sizeof(line))
        return true;
    memcpy(line, in, len);
    line[len] = '\0';
    return !request_line_ok(line, method, target);
}

static void prom_input(void *ctx, struct xp_line_conn *c)
{
    struct xp_prom_server *srv = ctx;
    size_t len;
    char *in = xp_line_conn__input(c, &len);

    /* The headers carry nothing we use: the end of the header block is all we need. */
    if (strstr(in, "\r\n\r\n") || strstr(in, "\n\n")) {
        handle_request(srv, c, in);
        return;
    }
    /* a broken request line is answered now, not when its headers would end */
    if (bad_first_line(in)) {
        srv->st.requests++;
        srv->st.bad_request++;
        respond(c, 400, "Bad Request", NULL, NULL, 0, false);
    }
}

static void prom_overflow(void *ctx, struct xp_line_conn *c)
{
    struct xp_prom_server *srv = ctx;

    srv->st.requests++;
    srv->st.bad_request++;
    respond(c, 431, "Request Header Fields Too Large", NULL, NULL, 0, false);
}

/* At the deadline: a request begun and not finished in time is told so (best effort). */
static void prom_expire(void *ctx, struct xp_line_conn *c)
{
    size_t len;

    (void)ctx;
    xp_line_conn__input(c, &len);
    if (len)
        respond(c, 408, "Request Timeout", NULL, NULL, 0, false);
}

/* eof: closed before a complete request, nothing to answer (the default, close) */
static const struct xp_line_server_ops prom_conn_ops = {
    .input = prom_input,
    .overflow = prom_overflow,
    .expire = prom_expire,
};

struct xp_line_server *xp_prom_server__lines(struct xp_prom_server *srv)
{
    return srv->ls;
}

void xp_prom_server__stats(const struct xp_prom_server *srv, struct xp_prom_server_stats *st)
{
    struct xp_line_server_stats ls;

    xp_line_server__stats(srv->ls, &ls);
    *st = srv->st;
    st->timeouts = ls.expired;
    st->rejected_full = ls.rejected_full;
    st->evicted = ls.evicted;
}
