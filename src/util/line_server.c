// SPDX-License-Identifier: GPL-2.0-only
/*
 * Connections of a small request server (see line_server.h for the contract).
 *
 * Design: a fixed array of slots, everything non-blocking and driven by the owner's poll()
 * loop, so the thread serving operators and scrapers never blocks on one of them. Memory per
 * connection is bounded on both sides: the input buffer is in_max bytes, allocated at accept
 * and never grown (a request that does not fit is the owner's overflow()); the output buffer
 * grows to hold whole answers, because an answer is what the client asked for, but once
 * out_pause bytes wait unread the connection's input is left in the socket, so a client that
 * sends requests without reading the answers holds at most out_pause plus one answer.
 *
 * Slots are only freed where no caller can hold a pointer to them: at the end of handle(),
 * in pollfds(), and in the accept loop (which runs last). Everywhere else a close only marks
 * the connection, which is what lets callbacks send to and close connections other than
 * their own (the control socket's broadcast to followers).
 *
 * Fair under floods: a newcomer to a full table takes the slot of the connection the
 * eviction policy names, and is read at once, so clients that connect and send nothing, or
 * reconnect as fast as they are dropped, cannot keep out one that sends its request with its
 * connection. A connection is never evicted by the accept pass that took it (its request
 * may arrive just after the accept): newcomers behind it in the same backlog are refused.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "src/util/line_server.h"
#include "src/util/log.h"
#include "src/util/clock.h"

#define OUT_MIN_CAP 4096u
#define DRAIN_MAX_READS 256

struct xp_line_conn {
    struct xp_line_server *srv;
    int fd;                 /* -1: free slot */
    char *in;               /* in_max + 1 bytes: the input is kept NUL-terminated */
    size_t in_len;
    char *out;
    size_t out_off, out_len, out_cap;
    uint64_t accepted_ms;
    uint64_t accept_pass;   /* the accept_all() pass that took it */
    uint64_t last_ms;       /* last progress either way */
    bool idle_exempt;
    bool closing;           /* read no more; close once the output is flushed */
    bool eof;               /* the peer is done sending */
    bool dead;              /* reap at the next safe point */
};

struct xp_line_server {
    struct xp_line_server_conf conf;
    struct xp_line_server_ops ops;
    struct xp_line_conn *conns;
    struct pollfd *scratch; /* for xp_line_server__poll() */
    struct xp_line_server_stats st;
    uint64_t accept_pass;   /* accept_all() passes so far */
};

struct xp_line_server *xp_line_server__create(const struct xp_line_server_conf *conf)
{
    struct xp_line_server *srv;

    if (!conf || conf->fd < 0 || !conf->max_conns || !conf->in_max || !conf->ops ||
        !conf->ops->input) {
        errno = EINVAL;
        return NULL;
    }
    srv = calloc(1, sizeof(*srv));
    if (!srv)
        goto err_nomem;
    srv->conf = *conf;
    srv->ops = *conf->ops;
    srv->conf.ops = &srv->ops;
    srv->conns = calloc(conf->max_conns, sizeof(*srv->conns));
    if (!srv->conns)
        goto err_free_srv;
    srv->scratch = calloc(conf->max_conns + 1, sizeof(*srv->scratch));
    if (!srv->scratch)
        goto err_free_conns;
    for (unsigned i = 0; i < conf->max_conns; i++) {
        srv->conns[i].srv = srv;
        srv->conns[i].fd = -1;
    }
    return srv;

err_free_conns:
    free(srv->conns);
err_free_srv:
    free(srv);
err_nomem:
    errno = ENOMEM;
    return NULL;
}

/* Free the slot; notify: tell the owner (not during destroy, when it may be half gone). */
static void conn_release(struct xp_line_server *srv, struct xp_line_conn *c, bool notify)
{
    char sink[4096];

    if (c->fd < 0)
        return;
    if (notify && srv->ops.closed)
        srv->ops.closed(srv->conf.ctx, c);
    /*
     * Closing a socket with unread input resets the connection (ECONNRESET on a Unix
     * socket, an RST on TCP), and the peer may lose our last words with it: after an answer
     * that ends the conversation, drain what already arrived so it reads the answer, then a
     * clean end of stream.
     */
    for (int i = 0; c->closing && i < DRAIN_MAX_READS; i++) {
        if (recv(c->fd, sink, sizeof(sink), MSG_DONTWAIT) <= 0)
            break;
    }
    close(c->fd);
    c->fd = -1;
    free(c->in);
    c->in = NULL;
    free(c->out);
    c->out = NULL;
    c->in_len = c->out_off = c->out_len = c->out_cap = 0;
    c->idle_exempt = c->closing = c->eof = c->dead = false;
    srv->st.conns--;
}

void xp_line_server__destroy(struct xp_line_server *srv)
{
    if (!srv)
        return;
    for (unsigned i = 0; i < srv->conf.max_conns; i++)
        conn_release(srv, &srv->conns[i], false);
    close(srv->conf.fd);
    free(srv->scratch);
    free(srv->conns);
    free(srv);
}

size_t xp_line_conn__pending(const struct xp_line_conn *c)
{
    return c->out_len - c->out_off;
}

bool xp_line_conn__paused(const struct xp_line_conn *c)
{
    size_t bound = c->srv->conf.out_pause;

    return bound && xp_line_conn__pending(c) > bound;
}

/*
 * After a failed send() or recv(): whether to retry (a signal). A socket that is only not
 * ready is left for the next poll(); any other error ends the connection.
 */
static bool io_retry(struct xp_line_conn *c)
{
    if (errno == EINTR)
        return true;
    if (errno != EAGAIN && errno != EWOULDBLOCK)
        c->dead = true;
    return false;
}

static void conn_flush(struct xp_line_conn *c)
{
    if (c->dead)
        return;
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
                         MSG_NOSIGNAL | MSG_DONTWAIT);

        if (n < 0) {
            if (io_retry(c))
                continue;
            return;
        }
        /* the client reading our answers is activity too: idle means no progress either way */
        if (n > 0)
            c->last_ms = xp_mono_ms();
        c->out_off += (size_t)n;
    }
    c->out_off = c->out_len = 0;
    if (c->closing)
        c->dead = true;
}

int xp_line_conn__append(struct xp_line_conn *c, const void *data, size_t len)
{
    struct xp_line_server_stats *st = &c->srv->st;
    size_t pending = xp_line_conn__pending(c);

    if (c->dead)
        return -EPIPE;
    if (!len)
        return 0;
    if (c->out_off && pending + len > c->out_cap - c->out_off) {
        memmove(c->out, c->out + c->out_off, pending);
        c->out_off = 0;
        c->out_len = pending;
    }
    if (c->out_len + len > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : OUT_MIN_CAP;
        char *p;

        while (cap < c->out_len + len)
            cap *= 2;
        p = realloc(c->out, cap);
        if (!p) {
            c->dead = true;
            return -ENOMEM;
        }
        c->out = p;
        c->out_cap = cap;
        if (cap > st->out_peak)
            st->out_peak = cap;
    }
    memcpy(c->out + c->out_len, data, len);
    c->out_len += len;
    return 0;
}

int xp_line_conn__send(struct xp_line_conn *c, const void *data, size_t len)
{
    int ret = xp_line_conn__append(c, data, len);

    if (!ret)
        conn_flush(c);
    return ret;
}

int xp_line_conn__fd(const struct xp_line_conn *c)
{
    return c->fd;
}

unsigned xp_line_conn__slot(const struct xp_line_conn *c)
{
    return (unsigned)(c - c->srv->conns);
}

char *xp_line_conn__input(struct xp_line_conn *c, size_t *len)
{
    *len = c->in_len;
    return c->in;
}

void xp_line_conn__consume(struct xp_line_conn *c, size_t n)
{
    if (n > c->in_len)
        n = c->in_len;
    memmove(c->in, c->in + n, c->in_len - n);
    c->in_len -= n;
    c->in[c->in_len] = '\0';
}

void xp_line_conn__set_idle_exempt(struct xp_line_conn *c, bool exempt)
{
    c->idle_exempt = exempt;
}

void xp_line_conn__close_after_flush(struct xp_line_conn *c)
{
    if (c->dead)
        return;
    c->closing = true;
    c->in_len = 0;
    c->in[0] = '\0';
    conn_flush(c);
}

void xp_line_conn__close(struct xp_line_conn *c)
{
    c->dead = true;
}

static bool conn_open(const struct xp_line_conn *c)
{
    return c->fd >= 0 && !c->dead && !c->closing;
}

static void conn_eof(struct xp_line_server *srv, struct xp_line_conn *c)
{
    if (srv->ops.eof)
        srv->ops.eof(srv->conf.ctx, c);
    else
        xp_line_conn__close_after_flush(c);
}

static void conn_read(struct xp_line_server *srv, struct xp_line_conn *c)
{
    size_t max = srv->conf.in_max;

    if (!conn_open(c) || c->eof)
        return;
    for (;;) {
        ssize_t n;

        /* backpressure: requests stay in the socket while answers wait to be read */
        if (xp_line_conn__paused(c))
            return;
        if (c->in_len == max) {
            if (srv->ops.overflow)
                srv->ops.overflow(srv->conf.ctx, c);
            /* still full and open: it would be polled readable, and overflow, forever */
            if (conn_open(c) && c->in_len == max)
                c->dead = true;
            return;
        }
        n = recv(c->fd, c->in + c->in_len, max - c->in_len, MSG_DONTWAIT);
        if (n < 0) {
            if (io_retry(c))
                continue;
            return;
        }
        if (n == 0) {
            c->eof = true;
            conn_eof(srv, c);
            return;
        }
        c->last_ms = xp_mono_ms();
        c->in_len += (size_t)n;
        c->in[c->in_len] = '\0';
        srv->ops.input(srv->conf.ctx, c);
        if (!conn_open(c))
            return;
    }
}

/* Output drained: serve the requests that waited behind it. */
static void conn_resume(struct xp_line_server *srv, struct xp_line_conn *c)
{
    if (!conn_open(c) || !c->in_len || xp_line_conn__paused(c))
        return;
    srv->ops.input(srv->conf.ctx, c);
    if (conn_open(c) && c->eof)
        conn_eof(srv, c);
}

static bool evictable(const struct xp_line_server *srv, const struct xp_line_conn *c)
{
    /*
     * Not one taken in this same accept pass: its request may still be on its way (the
     * client sends right after connect, we may accept in between), and a backlog of
     * reconnecting clients behind it would evict it before a poll() could see the
     * request arrive. Those later ones are refused instead.
     */
    if (!conn_open(c) || c->accept_pass == srv->accept_pass)
        return false;
    switch (srv->conf.evict) {
    case XP_LINE_EVICT_IDLE:
        return !c->in_len && !xp_line_conn__pending(c);
    case XP_LINE_EVICT_UNANSWERED:
        return true;
    case XP_LINE_EVICT_NONE:
        break;
    }
    return false;
}

/* The age the policy ranks by: the oldest goes first. */
static uint64_t evict_key(const struct xp_line_server *srv, const struct xp_line_conn *c)
{
    return srv->conf.evict == XP_LINE_EVICT_IDLE ? c->last_ms : c->accepted_ms;
}

static struct xp_line_conn *evict(struct xp_line_server *srv)
{
    struct xp_line_conn *victim = NULL;

    for (unsigned i = 0; i < srv->conf.max_conns; i++) {
        struct xp_line_conn *c = &srv->conns[i];

        if (evictable(srv, c) && (!victim || evict_key(srv, c) < evict_key(srv, victim)))
            victim = c;
    }
    if (victim) {
        srv->st.evicted++;
        conn_release(srv, victim, true);
    }
    return victim;
}

/* A free slot; one whose connection a callback closed during the accept loop counts. */
static struct xp_line_conn *free_slot(struct xp_line_server *srv)
{
    for (unsigned i = 0; i < srv->conf.max_conns; i++) {
        if (srv->conns[i].fd < 0)
            return &srv->conns[i];
    }
    for (unsigned i = 0; i < srv->conf.max_conns; i++) {
        if (srv->conns[i].dead) {
            conn_release(srv, &srv->conns[i], true);
            return &srv->conns[i];
        }
    }
    return NULL;
}

static void refuse(struct xp_line_server *srv, int fd)
{
    const char *msg = srv->conf.full_msg;

    /* Best effort: the client learns why, we never wait for it. */
    if (msg && send(fd, msg, strlen(msg), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
        pr_debug("refusing a client: send: %s", strerror(errno));
    close(fd);
    srv->st.rejected_full++;
}

static int accept_all(struct xp_line_server *srv)
{
    srv->accept_pass++;
    for (;;) {
        int fd = accept4(srv->conf.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        struct xp_line_conn *c;

        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            /* EMFILE and friends: the client waits in the backlog; try again next time. */
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                pr_warn("accept: %s", strerror(errno));
                return 0;
            }
            return -errno;
        }
        c = free_slot(srv);
        if (!c)
            c = evict(srv);
        if (!c) {
            refuse(srv, fd);
            continue;
        }
        c->in = malloc(srv->conf.in_max + 1);
        if (!c->in) {
            close(fd);
            continue;
        }
        c->in[0] = '\0';
        c->fd = fd;
        c->accepted_ms = c->last_ms = xp_mono_ms();
        c->accept_pass = srv->accept_pass;
        srv->st.accepted++;
        srv->st.conns++;
        conn_read(srv, c);
        if (c->dead)
            conn_release(srv, c, true);
    }
}

static struct xp_line_conn *find_conn(struct xp_line_server *srv, int fd)
{
    for (unsigned i = 0; i < srv->conf.max_conns; i++) {
        if (srv->conns[i].fd == fd)
            return &srv->conns[i];
    }
    return NULL;
}

unsigned xp_line_server__max_pollfds(const struct xp_line_server *srv)
{
    return srv->conf.max_conns + 1;
}

unsigned xp_line_server__pollfds(struct xp_line_server *srv, struct pollfd *out, unsigned max)
{
    unsigned n = 0;

    /* closed outside handle() (a broadcast from the owner's loop): reap before polling */
    for (unsigned i = 0; i < srv->conf.max_conns; i++) {
        if (srv->conns[i].dead)
            conn_release(srv, &srv->conns[i], true);
    }
    if (n < max)
        out[n++] = (struct pollfd){ .fd = srv->conf.fd, .events = POLLIN };
    for (unsigned i = 0; i < srv->conf.max_conns && n < max; i++) {
        struct xp_line_conn *c = &srv->conns[i];
        short ev = 0;

        if (c->fd < 0)
            continue;
        if (!c->closing && !c->eof && !xp_line_conn__paused(c))
            ev |= POLLIN;
        if (xp_line_conn__pending(c))
            ev |= POLLOUT;
        out[n++] = (struct pollfd){ .fd = c->fd, .events = ev };
    }
    return n;
}

static bool expired(const struct xp_line_server *srv, const struct xp_line_conn *c, uint64_t t)
{
    const struct xp_line_server_conf *conf = &srv->conf;

    if (conf->life_ms && t >= c->accepted_ms + conf->life_ms)
        return true;
    return conf->idle_ms && !c->idle_exempt && t > c->last_ms + conf->idle_ms;
}

int xp_line_server__handle(struct xp_line_server *srv, const struct pollfd *fds, unsigned n)
{
    bool accept_ready = false;
    uint64_t t;
    int ret = 0;

    for (unsigned i = 0; i < n; i++) {
        short rev = fds[i].revents;
        struct xp_line_conn *c;

        if (!rev || fds[i].fd < 0)
            continue;
        if (fds[i].fd == srv->conf.fd) {
            accept_ready = true;
            continue;
        }
        c = find_conn(srv, fds[i].fd);
        if (!c || c->dead)
            continue;
        if (rev & POLLOUT) {
            conn_flush(c);
            conn_resume(srv, c);
        }
        if (rev & (POLLIN | POLLHUP | POLLERR))
            conn_read(srv, c);
        if ((rev & (POLLERR | POLLNVAL)) || ((rev & POLLHUP) && xp_line_conn__pending(c)))
            c->dead = true;
    }
    /* Read after the clients were served: their last_ms must not be in our future. */
    t = xp_mono_ms();
    for (unsigned i = 0; i < srv->conf.max_conns; i++) {
        struct xp_line_conn *c = &srv->conns[i];

        if (c->fd < 0)
            continue;
        if (!c->dead && expired(srv, c, t)) {
            srv->st.expired++;
            if (!c->closing && srv->ops.expire)
                srv->ops.expire(srv->conf.ctx, c);
            /* what the owner said last goes out if the socket takes it now, then close */
            c->closing = true;
            conn_flush(c);
            c->dead = true;
        }
        if (c->dead)
            conn_release(srv, c, true);
    }
    /* Accept last, so a new client never takes the fd number of one closed above. */
    if (accept_ready)
        ret = accept_all(srv);
    return ret;
}

int xp_line_server__poll(struct xp_line_server *srv, int timeout_ms)
{
    unsigned n = xp_line_server__pollfds(srv, srv->scratch, xp_line_server__max_pollfds(srv));

    if (poll(srv->scratch, n, timeout_ms) < 0) {
        if (errno != EINTR)
            return -errno;
        for (unsigned i = 0; i < n; i++)
            srv->scratch[i].revents = 0;
    }
    return xp_line_server__handle(srv, srv->scratch, n);
}

struct xp_line_conn *xp_line_server__conn(struct xp_line_server *srv, unsigned slot)
{
    struct xp_line_conn *c;

    if (slot >= srv->conf.max_conns)
        return NULL;
    c = &srv->conns[slot];
    return conn_open(c) ? c : NULL;
}

void xp_line_server__stats(const struct xp_line_server *srv, struct xp_line_server_stats *st)
{
    *st = srv->st;
}
