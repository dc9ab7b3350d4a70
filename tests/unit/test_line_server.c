// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of src/util/line_server on its own, with real sockets in one process: a toy
 * line protocol (echo, and a few commands) on a Unix socket, the server driven by
 * xp_line_server__poll() from the same thread that plays the clients, which is why every
 * client read below pumps the server while it waits.
 *
 * Covered: echo and request pipelining, close on EOF after the answers, read at accept, the
 * connection limit and refusal, eviction order of both policies, idle and lifetime limits,
 * input overflow, output backpressure and its bound, poll integration, and sending to or
 * closing a connection from outside handle().
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "src/util/line_server.h"

#include "xp_check.h"

#define TIMEOUT_MS 3000
#define FULL_MSG "full\n"

static char sock_path[108];

/* ---- the owner: a toy protocol ------------------------------------------------------- */

struct owner {
    struct xp_line_server *srv;
    unsigned lines, overflows, expires, closed, eofs;
    int last_closed_slot;
};

static struct owner owner;

static int send_str(struct xp_line_conn *c, const char *s)
{
    return xp_line_conn__send(c, s, strlen(s));
}

/*
 * "sub": exempt from idle_ms; "pad I N": answer "I " and N x's; "last N": answer N x's and
 * close; anything else is echoed.
 */
static void answer(struct xp_line_conn *c, const char *line)
{
    unsigned i = 0, n = 0;
    char *buf;

    owner.lines++;
    if (strcmp(line, "sub") == 0) {
        xp_line_conn__set_idle_exempt(c, true);
        send_str(c, "ok\n");
    } else if (sscanf(line, "pad %u %u", &i, &n) == 2 || sscanf(line, "last %u", &n) == 1) {
        bool last = line[0] == 'l';
        int l;

        buf = malloc((size_t)n + 32);
        if (!buf)
            return;
        l = last ? 0 : snprintf(buf, 32, "%u ", i);
        memset(buf + l, 'x', n);
        buf[l + (int)n] = '\n';
        xp_line_conn__send(c, buf, (size_t)l + n + 1);
        free(buf);
        if (last)
            xp_line_conn__close_after_flush(c);
    } else {
        xp_line_conn__append(c, line, strlen(line));
        send_str(c, "\n");
    }
}

static void owner_input(void *ctx, struct xp_line_conn *c)
{
    size_t len, start = 0;
    char *in = xp_line_conn__input(c, &len);

    CHECK(ctx == &owner);
    for (size_t i = 0; i < len; i++) {
        if (xp_line_conn__paused(c))
            break;
        if (in[i] != '\n')
            continue;
        in[i] = '\0';
        answer(c, in + start);
        start = i + 1;
        /* closing (or closed): nothing more is answered */
        if (!xp_line_server__conn(owner.srv, xp_line_conn__slot(c)))
            return;
    }
    xp_line_conn__consume(c, start);
}

static void owner_overflow(void *ctx, struct xp_line_conn *c)
{
    (void)ctx;
    owner.overflows++;
    send_str(c, "overflow\n");
    xp_line_conn__close_after_flush(c);
}

static void owner_expire(void *ctx, struct xp_line_conn *c)
{
    (void)ctx;
    owner.expires++;
    send_str(c, "expired\n");
}

static void owner_closed(void *ctx, struct xp_line_conn *c)
{
    (void)ctx;
    owner.closed++;
    owner.last_closed_slot = (int)xp_line_conn__slot(c);
}

static void owner_eof(void *ctx, struct xp_line_conn *c)
{
    (void)ctx;
    owner.eofs++;
    xp_line_conn__close_after_flush(c);
}

static const struct xp_line_server_ops ops = {
    .input = owner_input,
    .overflow = owner_overflow,
    .expire = owner_expire,
    .closed = owner_closed,
};

/* ---- plumbing ------------------------------------------------------------------------- */

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int unix_listener(void)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    strcpy(sa.sun_path, sock_path);
    unlink(sock_path);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 64) != 0) {
        perror("listener");
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

/* A server on a fresh Unix socket; the test's conf fields, and our owner. */
static struct xp_line_server *start(struct xp_line_server_conf conf)
{
    memset(&owner, 0, sizeof(owner));
    owner.last_closed_slot = -1;
    conf.fd = unix_listener();
    conf.ops = conf.ops ? conf.ops : &ops;
    conf.ctx = &owner;
    conf.full_msg = FULL_MSG;
    if (!conf.in_max)
        conf.in_max = 1024;
    owner.srv = conf.fd >= 0 ? xp_line_server__create(&conf) : NULL;
    CHECK(owner.srv != NULL);
    if (!owner.srv && conf.fd >= 0)
        close(conf.fd);
    return owner.srv;
}

static void stop(struct xp_line_server *srv)
{
    xp_line_server__destroy(srv);
    owner.srv = NULL;
    unlink(sock_path);
}

static void pump(struct xp_line_server *srv, unsigned ms)
{
    uint64_t end = now_ms() + ms;

    do
        xp_line_server__poll(srv, 1);
    while (now_ms() < end);
}

/* A client with its own read buffer (lines may arrive in pieces or together). */
struct peer {
    int fd;
    size_t len;
    char buf[1 << 16];
};

static struct peer peers[8];

static struct peer *peer_connect(struct peer *p)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };

    strcpy(sa.sun_path, sock_path);
    p->len = 0;
    p->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(p->fd >= 0 && connect(p->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    return p;
}

static void peer_close(struct peer *p)
{
    if (p->fd >= 0)
        close(p->fd);
    p->fd = -1;
}

static void peer_send(struct peer *p, const char *s)
{
    CHECK_EQ(send(p->fd, s, strlen(s), MSG_NOSIGNAL), (ssize_t)strlen(s));
}

/*
 * The next line (newline included) into line, pumping the server while waiting. Returns
 * its length, 0 at end of stream, -ETIMEDOUT, or -errno of recv().
 */
static ssize_t peer_line(struct xp_line_server *srv, struct peer *p, char *line, size_t max,
                         unsigned timeout_ms)
{
    uint64_t end = now_ms() + timeout_ms;

    for (;;) {
        char *nl = memchr(p->buf, '\n', p->len);
        ssize_t n;

        if (nl) {
            size_t l = (size_t)(nl - p->buf) + 1, copy = l < max - 1 ? l : max - 1;

            memcpy(line, p->buf, copy);
            line[copy] = '\0';
            memmove(p->buf, p->buf + l, p->len - l);
            p->len -= l;
            return (ssize_t)l;
        }
        n = recv(p->fd, p->buf + p->len, sizeof(p->buf) - p->len, MSG_DONTWAIT);
        if (n > 0) {
            p->len += (size_t)n;
            continue;
        }
        if (n == 0)
            return 0;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return -errno;
        if (now_ms() >= end)
            return -ETIMEDOUT;
        xp_line_server__poll(srv, 1);
    }
}

static void expect_line(struct xp_line_server *srv, struct peer *p, const char *want)
{
    char line[256];
    ssize_t n = peer_line(srv, p, line, sizeof(line), TIMEOUT_MS);

    if (n <= 0 || strcmp(line, want) != 0) {
        fprintf(stderr, "expected \"%s\", got %zd \"%s\"\n", want, n, n > 0 ? line : "");
        failures++;
    }
}

/* Read to the end of stream (pumping); returns the bytes read, or -1 on a timeout or error. */
static long long peer_count_to_eof(struct xp_line_server *srv, struct peer *p)
{
    uint64_t end = now_ms() + TIMEOUT_MS;
    long long total = (long long)p->len;

    p->len = 0;
    for (;;) {
        ssize_t n = recv(p->fd, p->buf, sizeof(p->buf), MSG_DONTWAIT);

        if (n > 0) {
            total += n;
            continue;
        }
        if (n == 0)
            return total;
        if ((errno != EAGAIN && errno != EWOULDBLOCK) || now_ms() >= end)
            return -1;
        xp_line_server__poll(srv, 1);
    }
}

static void expect_eof(struct xp_line_server *srv, struct peer *p)
{
    char line[256];

    CHECK_EQ(peer_line(srv, p, line, sizeof(line), TIMEOUT_MS), 0);
}

/* The connection is still served: an echo comes back. */
static void expect_alive(struct xp_line_server *srv, struct peer *p)
{
    peer_send(p, "alive?\n");
    expect_line(srv, p, "alive?\n");
}

static struct xp_line_server_stats stats(struct xp_line_server *srv)
{
    struct xp_line_server_stats st;

    xp_line_server__stats(srv, &st);
    return st;
}

/* ---- tests ---------------------------------------------------------------------------- */

static void test_bad_conf(void)
{
    struct xp_line_server_conf conf = { .fd = -1, .max_conns = 1, .in_max = 1, .ops = &ops };

    errno = 0;
    CHECK(xp_line_server__create(&conf) == NULL && errno == EINVAL);
    conf.fd = 0;
    conf.max_conns = 0;
    CHECK(xp_line_server__create(&conf) == NULL && errno == EINVAL);
    conf.max_conns = 1;
    conf.ops = &(struct xp_line_server_ops){ 0 };
    CHECK(xp_line_server__create(&conf) == NULL && errno == EINVAL);
    xp_line_server__destroy(NULL);
}

/* Pipelined lines are answered in order; after EOF, what was sent is answered, then close. */
static void test_echo_and_eof(void)
{
    struct xp_line_server *srv = start((struct xp_line_server_conf){ .max_conns = 4 });
    struct peer *p = &peers[0];

    if (!srv)
        return;
    peer_connect(p);
    peer_send(p, "hello\nworld\n");
    expect_line(srv, p, "hello\n");
    expect_line(srv, p, "world\n");
    CHECK_EQ(stats(srv).conns, 1);
    /* the last request and the end of stream together: the answer comes, then the close */
    peer_send(p, "bye\npartial");
    shutdown(p->fd, SHUT_WR);
    expect_line(srv, p, "bye\n");
    expect_eof(srv, p);
    pump(srv, 5);
    CHECK_EQ(owner.closed, 1);
    CHECK_EQ(stats(srv).conns, 0);
    peer_close(p);
    stop(srv);

    /* an owner's eof() replaces the default */
    {
        struct xp_line_server_ops with_eof = ops;

        with_eof.eof = owner_eof;
        srv = start((struct xp_line_server_conf){ .max_conns = 4, .ops = &with_eof });
        if (!srv)
            return;
        peer_connect(p);
        peer_send(p, "x\n");
        shutdown(p->fd, SHUT_WR);
        expect_line(srv, p, "x\n");
        expect_eof(srv, p);
        CHECK_EQ(owner.eofs, 1);
        peer_close(p);
        stop(srv);
    }
}

/* A request that comes with its connection is answered by the handle() that accepts it. */
static void test_read_at_accept(void)
{
    struct xp_line_server *srv = start((struct xp_line_server_conf){ .max_conns = 2 });
    struct peer *p = &peers[0];
    char buf[64];
    ssize_t n;

    if (!srv)
        return;
    peer_connect(p);
    peer_send(p, "early\n");
    CHECK_EQ(xp_line_server__poll(srv, 1000), 0);
    n = recv(p->fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
    CHECK_EQ(n, 6);
    CHECK(n == 6 && memcmp(buf, "early\n", 6) == 0);
    CHECK_EQ(stats(srv).accepted, 1);
    peer_close(p);
    stop(srv);
}

/* No eviction: the newcomer to a full table is told why and closed. */
static void test_limit_refuses(void)
{
    struct xp_line_server *srv = start((struct xp_line_server_conf){ .max_conns = 2 });
    struct xp_line_server_stats st;

    if (!srv)
        return;
    for (int i = 0; i < 3; i++)
        peer_connect(&peers[i]);
    expect_line(srv, &peers[2], FULL_MSG);
    expect_eof(srv, &peers[2]);
    expect_alive(srv, &peers[0]);
    expect_alive(srv, &peers[1]);
    st = stats(srv);
    CHECK_EQ(st.accepted, 2);
    CHECK_EQ(st.rejected_full, 1);
    CHECK_EQ(st.evicted, 0);
    CHECK_EQ(st.conns, 2);
    /* a freed slot is usable again */
    peer_close(&peers[0]);
    pump(srv, 20);
    peer_connect(&peers[0]);
    expect_alive(srv, &peers[0]);
    for (int i = 0; i < 3; i++)
        peer_close(&peers[i]);
    stop(srv);
}

/*
 * EVICT_IDLE: the newcomer takes the slot of the connection idle the longest, never of one
 * with a request half read; when every one is busy, it is refused.
 */
static void test_evict_idle(void)
{
    struct xp_line_server *srv =
        start((struct xp_line_server_conf){ .max_conns = 3, .evict = XP_LINE_EVICT_IDLE });
    struct peer *p = peers;
    struct xp_line_server_stats st;

    if (!srv)
        return;
    for (int i = 0; i < 3; i++) {
        peer_connect(&p[i]);
        expect_alive(srv, &p[i]);
        pump(srv, 5);
    }
    expect_alive(srv, &p[0]); /* p[1] is now the one idle the longest */
    pump(srv, 5);
    peer_connect(&p[3]);
    expect_alive(srv, &p[3]);
    expect_eof(srv, &p[1]);
    CHECK_EQ(stats(srv).evicted, 1);
    /* p[2] has half a request: busy, so p[0] (idle longer than p[3]) goes */
    peer_send(&p[2], "half");
    pump(srv, 5);
    peer_connect(&p[4]);
    expect_alive(srv, &p[4]);
    expect_eof(srv, &p[0]);
    peer_send(&p[2], " done\n");
    expect_line(srv, &p[2], "half done\n");
    /* everybody busy: refused */
    peer_send(&p[2], "a");
    peer_send(&p[3], "b");
    peer_send(&p[4], "c");
    pump(srv, 5);
    peer_connect(&p[5]);
    expect_line(srv, &p[5], FULL_MSG);
    expect_eof(srv, &p[5]);
    st = stats(srv);
    CHECK_EQ(st.evicted, 2);
    CHECK_EQ(st.rejected_full, 1);
    CHECK_EQ(owner.closed, 2);
    for (int i = 0; i < 6; i++)
        peer_close(&p[i]);
    stop(srv);
}

/*
 * EVICT_UNANSWERED: the oldest connection by accept time goes, whatever it sent since,
 * and one being answered (closing) never does.
 */
static void test_evict_unanswered(void)
{
    struct xp_line_server *srv = start(
        (struct xp_line_server_conf){ .max_conns = 2, .evict = XP_LINE_EVICT_UNANSWERED });
    struct peer *p = peers;
    struct xp_line_server_stats st;

    if (!srv)
        return;
    peer_connect(&p[0]);
    pump(srv, 5);
    peer_connect(&p[1]);
    pump(srv, 5);
    peer_send(&p[0], "recent activity, old connection");
    pump(srv, 5);
    peer_connect(&p[2]);
    pump(srv, 5);
    expect_eof(srv, &p[0]);
    /* p[1] gets an answer larger than the socket takes, and does not read it: closing */
    peer_send(&p[1], "last 4000000\n");
    pump(srv, 5);
    peer_connect(&p[3]);
    pump(srv, 5);
    expect_eof(srv, &p[2]);
    peer_send(&p[3], "last 4000000\n");
    pump(srv, 5);
    peer_connect(&p[4]);
    expect_line(srv, &p[4], FULL_MSG);
    st = stats(srv);
    CHECK_EQ(st.evicted, 2);
    CHECK_EQ(st.rejected_full, 1);
    /* the answers being written still arrive whole */
    CHECK_EQ(peer_count_to_eof(srv, &p[1]), 4000001);
    CHECK_EQ(peer_count_to_eof(srv, &p[3]), 4000001);
    for (int i = 0; i < 5; i++)
        peer_close(&p[i]);
    stop(srv);
}

/* idle_ms: no progress for that long closes, after the owner's last word; exempt ones stay. */
static void test_idle_timeout(void)
{
    struct xp_line_server *srv =
        start((struct xp_line_server_conf){ .max_conns = 4, .idle_ms = 300 });
    struct peer *p = peers;
    uint64_t t0;

    if (!srv)
        return;
    peer_connect(&p[0]);
    peer_connect(&p[1]);
    peer_connect(&p[2]);
    peer_send(&p[1], "sub\n");
    expect_line(srv, &p[1], "ok\n");
    t0 = now_ms();
    /* p[2] talks every 50 ms (well within idle_ms on a loaded machine); p[0] says nothing */
    while (now_ms() - t0 < 800) {
        expect_alive(srv, &p[2]);
        pump(srv, 50);
    }
    expect_line(srv, &p[0], "expired\n");
    expect_eof(srv, &p[0]);
    expect_alive(srv, &p[1]);
    expect_alive(srv, &p[2]);
    CHECK_EQ(owner.expires, 1);
    CHECK_EQ(stats(srv).expired, 1);
    for (int i = 0; i < 3; i++)
        peer_close(&p[i]);
    stop(srv);
}

/* life_ms: closed that long after accept, however busy. */
static void test_lifetime(void)
{
    struct xp_line_server *srv =
        start((struct xp_line_server_conf){ .max_conns = 2, .life_ms = 200 });
    struct peer *p = &peers[0];
    uint64_t t0 = now_ms(), t;
    char line[64];
    ssize_t n;

    if (!srv)
        return;
    peer_connect(p);
    do {
        /* not checked: the last one may meet the closed connection, whose words remain */
        ssize_t w = send(p->fd, "busy\n", 5, MSG_NOSIGNAL);

        (void)w;
        n = peer_line(srv, p, line, sizeof(line), TIMEOUT_MS);
    } while (n > 0 && strcmp(line, "busy\n") == 0);
    t = now_ms() - t0;
    CHECK(n > 0 && strcmp(line, "expired\n") == 0);
    CHECK(t >= 200 && t < 2000);
    expect_eof(srv, p);
    CHECK_EQ(stats(srv).expired, 1);
    peer_close(p);
    stop(srv);
}

/* A request larger than in_max: the owner's overflow(), then a clean close. */
static void test_overflow(void)
{
    struct xp_line_server *srv =
        start((struct xp_line_server_conf){ .max_conns = 2, .in_max = 64 });
    struct peer *p = &peers[0];
    char exact[65], big[200];

    if (!srv)
        return;
    peer_connect(p);
    /* exactly in_max with its newline fits */
    memset(exact, 'e', 63);
    exact[63] = '\n';
    exact[64] = '\0';
    peer_send(p, exact);
    expect_line(srv, p, exact);
    memset(big, 'b', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    peer_send(p, big);
    expect_line(srv, p, "overflow\n");
    /* the rest it sent was drained: a clean end of stream, not a reset */
    expect_eof(srv, p);
    CHECK_EQ(owner.overflows, 1);
    peer_close(p);
    stop(srv);
}

/*
 * out_pause: a client that sends requests without reading stops being read once that much
 * waits for it, so what we hold stays near out_pause plus one answer; when it reads, every
 * request is answered, in order.
 */
static void test_backpressure(void)
{
    enum { REQS = 20000, PAD = 200, PAUSE = 8192 };
    struct xp_line_server *srv = start((struct xp_line_server_conf){
        .max_conns = 1, .out_pause = PAUSE, .evict = XP_LINE_EVICT_IDLE });
    struct peer *p = &peers[0];
    struct pollfd pfd[3];
    unsigned sent = 0, got = 0, n;
    bool paused_seen = false;
    char req[32], line[PAD + 32];

    if (!srv)
        return;
    peer_connect(p);
    for (unsigned full = 0; sent < REQS && full < 50;) {
        int l = snprintf(req, sizeof(req), "pad %u %u\n", sent, PAD);

        if (send(p->fd, req, (size_t)l, MSG_NOSIGNAL | MSG_DONTWAIT) == l) {
            sent++;
            continue;
        }
        full++;
        pump(srv, 2);
    }
    CHECK(sent < REQS); /* the server stopped reading us */
    CHECK(owner.lines < sent);
    n = xp_line_server__pollfds(srv, pfd, 3);
    CHECK_EQ(n, 2);
    for (unsigned i = 1; i < n; i++)
        paused_seen |= !(pfd[i].events & POLLIN) && (pfd[i].events & POLLOUT);
    CHECK(paused_seen);
    /* a connection with answers waiting is not idle: the newcomer is refused */
    peer_connect(&peers[1]);
    expect_line(srv, &peers[1], FULL_MSG);
    CHECK_EQ(stats(srv).evicted, 0);
    fprintf(stderr, "backpressure: %u requests sent unread, largest output buffer %llu\n",
            sent, (unsigned long long)stats(srv).out_peak);
    CHECK(stats(srv).out_peak <= 2 * (PAUSE + PAD + 32));
    while (got < REQS) {
        ssize_t l = peer_line(srv, p, line, sizeof(line), TIMEOUT_MS);
        unsigned seq;

        if (l <= 0)
            break;
        CHECK(sscanf(line, "%u ", &seq) == 1 && seq == got);
        got++;
        while (sent < REQS) {
            int k = snprintf(req, sizeof(req), "pad %u %u\n", sent, PAD);

            if (send(p->fd, req, (size_t)k, MSG_NOSIGNAL | MSG_DONTWAIT) != k)
                break;
            sent++;
        }
    }
    CHECK_EQ(sent, REQS);
    CHECK_EQ(got, REQS);
    CHECK(stats(srv).out_peak <= 2 * (PAUSE + PAD + 32));
    for (int i = 0; i < 2; i++)
        peer_close(&peers[i]);
    stop(srv);
}

/*
 * Poll integration: fds it does not know are ignored, max is honoured; and a connection
 * sent to or closed from outside handle() (a broadcast from the owner's loop) is served,
 * and reaped by the next pollfds().
 */
static void test_poll_and_outside(void)
{
    struct xp_line_server *srv = start((struct xp_line_server_conf){ .max_conns = 3 });
    struct pollfd pfd[4], foreign[2];
    struct peer *p = &peers[0];
    struct xp_line_conn *c = NULL;
    int pipefd[2];
    unsigned n;

    if (!srv)
        return;
    CHECK_EQ(xp_line_server__max_pollfds(srv), 4);
    peer_connect(p);
    expect_alive(srv, p);
    CHECK_EQ(xp_line_server__pollfds(srv, pfd, 1), 1);
    n = xp_line_server__pollfds(srv, pfd, 4);
    CHECK_EQ(n, 2);
    CHECK(pfd[1].events == POLLIN);
    CHECK(pipe(pipefd) == 0);
    foreign[0] = (struct pollfd){ .fd = pipefd[0], .events = POLLIN, .revents = POLLIN };
    foreign[1] = (struct pollfd){ .fd = -1, .revents = POLLIN };
    CHECK_EQ(xp_line_server__handle(srv, foreign, 2), 0);
    close(pipefd[0]);
    close(pipefd[1]);

    for (unsigned i = 0; i < 3 && !c; i++)
        c = xp_line_server__conn(srv, i);
    CHECK(c != NULL);
    CHECK(xp_line_server__conn(srv, 3) == NULL);
    if (!c)
        goto out;
    CHECK_EQ(send_str(c, "note\n"), 0);
    expect_line(srv, p, "note\n");
    c = NULL;
    for (unsigned i = 0; i < 3 && !c; i++)
        c = xp_line_server__conn(srv, i);
    if (!c)
        goto out;
    xp_line_conn__close(c);
    CHECK(xp_line_server__conn(srv, xp_line_conn__slot(c)) == NULL);
    CHECK_EQ(send_str(c, "too late\n"), -EPIPE);
    CHECK_EQ(xp_line_server__pollfds(srv, pfd, 4), 1);
    CHECK_EQ(owner.closed, 1);
    expect_eof(srv, p);
out:
    peer_close(p);
    stop(srv);
}

/* The library does not care about the address family: one exchange over loopback TCP. */
static void test_tcp(void)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    struct xp_line_server_conf conf = { .max_conns = 1, .in_max = 64, .ops = &ops,
                                        .ctx = &owner };
    socklen_t sl = sizeof(sa);
    struct peer *p = &peers[0];
    struct xp_line_server *srv;

    memset(&owner, 0, sizeof(owner));
    conf.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (conf.fd < 0 || bind(conf.fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        listen(conf.fd, 4) != 0 || getsockname(conf.fd, (struct sockaddr *)&sa, &sl) != 0) {
        perror("tcp listener");
        failures++;
        if (conf.fd >= 0)
            close(conf.fd);
        return;
    }
    srv = owner.srv = xp_line_server__create(&conf);
    CHECK(srv != NULL);
    if (!srv) {
        close(conf.fd);
        return;
    }
    p->len = 0;
    p->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(p->fd >= 0 && connect(p->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    expect_alive(srv, p);
    peer_close(p);
    xp_line_server__destroy(srv);
}

int main(void)
{
    snprintf(sock_path, sizeof(sock_path), "/tmp/xp-test-lsrv.%d.sock", (int)getpid());
    for (unsigned i = 0; i < sizeof(peers) / sizeof(peers[0]); i++)
        peers[i].fd = -1;
    test_bad_conf();
    test_echo_and_eof();
    test_read_at_accept();
    test_limit_refuses();
    test_evict_idle();
    test_evict_unanswered();
    test_idle_timeout();
    test_lifetime();
    test_overflow();
    test_backpressure();
    test_poll_and_outside();
    test_tcp();
    return xp_check_report("test_line_server");
}
