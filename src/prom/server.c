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
#include <time.h>
#include <unistd.h>

#include "src/prom/prom.h"
#include "src/util/log.h"

struct prom_client {
    int fd;                 /* -1: free slot */
    uint64_t accepted_ms;   /* for the eviction of the oldest unfinished request */
    char *in;               /* XP_PROM_MAX_REQUEST bytes */
    size_t in_len;
    char *out;
    size_t out_off, out_len;
    uint64_t deadline_ms;
    bool writing;
};

struct xp_prom_server {
    struct xp_prom_server_conf conf;
    int lfd;
    uint16_t port;
    json_t *stats;
    struct prom_client *clients;
    struct pollfd *scratch;
    struct xp_prom_server_stats st;
};

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int listen_loopback(struct xp_prom_server *srv)
{
    struct sockaddr_storage ss = { 0 };
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    socklen_t sl;
    int fd, one = 1, ret;

    if (inet_pton(AF_INET, srv->conf.addr, &s4->sin_addr) == 1) {
        if ((ntohl(s4->sin_addr.s_addr) >> 24) != 127)
            return -EADDRNOTAVAIL;
        s4->sin_family = AF_INET;
        s4->sin_port = htons(srv->conf.port);
        sl = sizeof(*s4);
    } else if (inet_pton(AF_INET6, srv->conf.addr, &s6->sin6_addr) == 1) {
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
    srv->lfd = fd;
    return 0;
}

struct xp_prom_server *xp_prom_server__create(const struct xp_prom_server_conf *conf)
{
    struct xp_prom_server *srv;
    int ret;

    if (!conf || !conf->addr) {
        errno = EINVAL;
        return NULL;
    }
    srv = calloc(1, sizeof(*srv));
    if (!srv)
        return NULL;
    srv->lfd = -1;
    srv->conf = *conf;
    srv->conf.addr = NULL; /* not kept: the caller's string may go away */
    if (!srv->conf.timeout_ms)
        srv->conf.timeout_ms = XP_PROM_DEFAULT_TIMEOUT_MS;
    if (!srv->conf.max_clients)
        srv->conf.max_clients = XP_PROM_DEFAULT_MAX_CLIENTS;
    srv->clients = calloc(srv->conf.max_clients, sizeof(*srv->clients));
    srv->scratch = calloc(srv->conf.max_clients + 1, sizeof(*srv->scratch));
    if (!srv->clients || !srv->scratch) {
        ret = -ENOMEM;
        goto err_free;
    }
    for (unsigned i = 0; i < srv->conf.max_clients; i++)
        srv->clients[i].fd = -1;
    srv->conf.addr = conf->addr;
    ret = listen_loopback(srv);
    srv->conf.addr = NULL;
    if (ret) {
        if (ret == -EADDRNOTAVAIL)
            pr_err("%s: not a loopback address; the metrics endpoint has no authentication",
                   conf->addr);
        else if (ret == -EINVAL)
            pr_err("%s: not a numeric IPv4 or IPv6 address", conf->addr);
        else
            pr_err("%s port %u: %s", conf->addr, conf->port, strerror(-ret));
        goto err_free;
    }
    return srv;

err_free:
    xp_prom_server__destroy(srv);
    errno = -ret;
    return NULL;
}

static void client_close(struct prom_client *c)
{
    if (c->fd < 0)
        return;
    close(c->fd);
    c->fd = -1;
    free(c->in);
    c->in = NULL;
    free(c->out);
    c->out = NULL;
    c->in_len = c->out_off = c->out_len = 0;
    c->writing = false;
}

void xp_prom_server__destroy(struct xp_prom_server *srv)
{
    if (!srv)
        return;
    for (unsigned i = 0; srv->clients && i < srv->conf.max_clients; i++)
        client_close(&srv->clients[i]);
    if (srv->lfd >= 0)
        close(srv->lfd);
    json_decref(srv->stats);
    free(srv->scratch);
    free(srv->clients);
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

/* Build the whole response; the body (may be NULL) is consumed. */
static void respond(struct prom_client *c, int code, const char *reason, const char *type,
                    char *body, size_t blen, bool head)
{
    char hdr[256];
    int hl;

    if (!body) {
        hl = snprintf(NULL, 0, "%d %s\n", code, reason);
        body = malloc((size_t)hl + 1);
        if (body)
            blen = (size_t)snprintf(body, (size_t)hl + 1, "%d %s\n", code, reason);
        else
            blen = 0;
        type = "text/plain; charset=utf-8";
    }
    hl = snprintf(hdr, sizeof(hdr),
                  "HTTP/1.0 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                  "Connection: close\r\n\r\n", code, reason, type, blen);
    if (head)
        blen = 0;
    c->out = malloc((size_t)hl + blen);
    if (c->out) {
        memcpy(c->out, hdr, (size_t)hl);
        if (blen)
            memcpy(c->out + hl, body, blen);
        c->out_len = (size_t)hl + blen;
    }
    free(body);
    c->out_off = 0;
    c->writing = true;
}

/* A request line: "METHOD TARGET HTTP/x.y", nothing more (a trailing CR is the line end's). */
static bool request_line_ok(const char *line, char *method, char *target)
{
    char version[16], extra;

    return sscanf(line, "%15s %255s %15s %c", method, target, version, &extra) == 3 &&
           strncmp(version, "HTTP/", 5) == 0 && version[5] >= '0' && version[5] <= '9' &&
           version[6] == '.' && version[7] >= '0' && version[7] <= '9' && !version[8];
}

static void handle_request(struct xp_prom_server *srv, struct prom_client *c)
{
    char method[16], target[256];
    char *end = strchr(c->in, '\n'), *q;
    bool head;

    srv->st.requests++;
    *end = '\0';
    if (end > c->in && end[-1] == '\r')
        end[-1] = '\0';
    if (!request_line_ok(c->in, method, target)) {
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

static void client_read(struct xp_prom_server *srv, struct prom_client *c)
{
    for (;;) {
        ssize_t n = recv(c->fd, c->in + c->in_len, XP_PROM_MAX_REQUEST - 1 - c->in_len,
                         MSG_DONTWAIT);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                client_close(c);
            return;
        }
        if (n == 0) {
            /* Closed before a complete request: nothing to answer. */
            client_close(c);
            return;
        }
        c->in_len += (size_t)n;
        c->in[c->in_len] = '\0';
        /* The headers carry nothing we use: the end of the header block is all we need. */
        if (strstr(c->in, "\r\n\r\n") || strstr(c->in, "\n\n")) {
            handle_request(srv, c);
            return;
        }
        /* a broken request line is answered now, not when its headers would end */
        if (bad_first_line(c->in)) {
            srv->st.requests++;
            srv->st.bad_request++;
            respond(c, 400, "Bad Request", NULL, NULL, 0, false);
            return;
        }
        if (c->in_len == XP_PROM_MAX_REQUEST - 1) {
            srv->st.requests++;
            srv->st.bad_request++;
            respond(c, 431, "Request Header Fields Too Large", NULL, NULL, 0, false);
            return;
        }
    }
}

static void client_write(struct prom_client *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
                         MSG_NOSIGNAL | MSG_DONTWAIT);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                client_close(c);
            return;
        }
        c->out_off += (size_t)n;
    }
    client_close(c);
}

static struct prom_client *find_client(struct xp_prom_server *srv, int fd)
{
    for (unsigned i = 0; i < srv->conf.max_clients; i++) {
        if (srv->clients[i].fd == fd)
            return &srv->clients[i];
    }
    return NULL;
}

/* Every slot is taken: close the oldest connection that has not sent a whole request. */
static struct prom_client *evict_unfinished(struct xp_prom_server *srv)
{
    struct prom_client *oldest = NULL;

    for (unsigned i = 0; i < srv->conf.max_clients; i++) {
        struct prom_client *c = &srv->clients[i];

        if (c->fd >= 0 && !c->writing && (!oldest || c->accepted_ms < oldest->accepted_ms))
            oldest = c;
    }
    if (oldest) {
        srv->st.evicted++;
        client_close(oldest);
    }
    return oldest;
}

static int accept_all(struct xp_prom_server *srv)
{
    for (;;) {
        int fd = accept4(srv->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        struct prom_client *c;

        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                pr_warn("accept: %s", strerror(errno));
                return 0;
            }
            return -errno;
        }
        c = find_client(srv, -1);
        if (!c)
            c = evict_unfinished(srv);
        if (!c) {
            close(fd);
            srv->st.rejected_full++;
            continue;
        }
        c->in = malloc(XP_PROM_MAX_REQUEST);
        if (!c->in) {
            close(fd);
            continue;
        }
        c->in_len = 0;
        c->fd = fd;
        c->accepted_ms = now_ms();
        c->deadline_ms = c->accepted_ms + srv->conf.timeout_ms;
        /* a scraper sends its request with the connection: answer it before the next flood */
        client_read(srv, c);
        if (c->fd >= 0 && c->writing)
            client_write(c);
    }
}

unsigned xp_prom_server__max_pollfds(const struct xp_prom_server *srv)
{
    return srv->conf.max_clients + 1;
}

unsigned xp_prom_server__pollfds(struct xp_prom_server *srv, struct pollfd *out, unsigned max)
{
    unsigned n = 0;

    if (n < max)
        out[n++] = (struct pollfd){ .fd = srv->lfd, .events = POLLIN };
    for (unsigned i = 0; i < srv->conf.max_clients && n < max; i++) {
        struct prom_client *c = &srv->clients[i];

        if (c->fd >= 0)
            out[n++] = (struct pollfd){ .fd = c->fd, .events = c->writing ? POLLOUT : POLLIN };
    }
    return n;
}

int xp_prom_server__handle(struct xp_prom_server *srv, const struct pollfd *fds, unsigned n)
{
    bool accept_ready = false;
    uint64_t t = now_ms();

    for (unsigned i = 0; i < n; i++) {
        struct prom_client *c;

        if (!fds[i].revents || fds[i].fd < 0)
            continue;
        if (fds[i].fd == srv->lfd) {
            accept_ready = true;
            continue;
        }
        c = find_client(srv, fds[i].fd);
        if (!c)
            continue;
        if (fds[i].revents & (POLLERR | POLLNVAL)) {
            client_close(c);
            continue;
        }
        if (c->writing) {
            if (fds[i].revents & (POLLOUT | POLLHUP))
                client_write(c);
        } else if (fds[i].revents & (POLLIN | POLLHUP)) {
            client_read(srv, c);
            if (c->fd >= 0 && c->writing)
                client_write(c);
        }
    }
    for (unsigned i = 0; i < srv->conf.max_clients; i++) {
        struct prom_client *c = &srv->clients[i];

        if (c->fd >= 0 && t >= c->deadline_ms) {
            srv->st.timeouts++;
            /* a request begun and not finished in time is told so (best effort, once) */
            if (!c->writing && c->in_len) {
                respond(c, 408, "Request Timeout", NULL, NULL, 0, false);
                if (c->out && send(c->fd, c->out, c->out_len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
                    pr_debug("408: %s", strerror(errno));
            }
            client_close(c);
        }
    }
    return accept_ready ? accept_all(srv) : 0;
}

int xp_prom_server__poll(struct xp_prom_server *srv, int timeout_ms)
{
    unsigned n = xp_prom_server__pollfds(srv, srv->scratch, xp_prom_server__max_pollfds(srv));

    if (poll(srv->scratch, n, timeout_ms) < 0) {
        if (errno != EINTR)
            return -errno;
        for (unsigned i = 0; i < n; i++)
            srv->scratch[i].revents = 0;
    }
    return xp_prom_server__handle(srv, srv->scratch, n);
}

void xp_prom_server__stats(const struct xp_prom_server *srv, struct xp_prom_server_stats *st)
{
    *st = srv->st;
}
