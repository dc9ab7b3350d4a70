// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of the control socket (src/ctl) and of xpro-ctl against it.
 *
 * A server runs in its own thread with a stub handler (the proxy's flows/block/reload
 * handlers do not exist yet); the main thread is the client. Only the server thread touches
 * the server object between create and destroy, as ctl.h requires.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "src/ctl/ctl.h"
#include "src/util/line_server.h"

#include "xp_check.h"

#define CHECK_STR(s, sub)                                                                 \
    do {                                                                                  \
        const char *s_ = (s);                                                             \
        if (!s_ || !strstr(s_, (sub))) {                                                  \
            fprintf(stderr, "%s:%d: %s: \"%s\" does not contain \"%s\"\n", __FILE__,       \
                    __LINE__, __func__, s_ ? s_ : "(null)", (sub));                       \
            failures++;                                                                   \
        }                                                                                 \
    } while (0)

#define TIMEOUT_MS 3000
#define MAX_CLIENTS 6

static char dir[64], sock_path[128];

struct test_server {
    struct xp_ctl_server *srv;
    pthread_t thread;
    atomic_bool stop;
};

static json_t *handler(void *ctx, const char *op, json_t *req, char *err, size_t errlen)
{
    struct test_server *ts = ctx;

    if (strcmp(op, "stats") == 0)
        return json_pack("{s:s,s:{s:I}}", "proxy_id", "test", "totals", "rx_packets",
                         (json_int_t)42);
    if (strcmp(op, "echo") == 0)
        return json_incref(req);
    if (strcmp(op, "flows") == 0)
        return json_pack("{s:[{s:s,s:s,s:i}]}", "flows", "unit", "198.18.0.2", "dst",
                         "198.18.0.254", "rate_pps", (int)json_integer_value(
                             json_object_get(req, "top")));
    if (strcmp(op, "reload") == 0) {
        snprintf(err, errlen, "policer.v6_unit_prefix cannot change without a restart");
        return NULL;
    }
    if (strcmp(op, "events") == 0)
        return json_pack("{s:s}", "stream", "events");
    if (strcmp(op, "emit") == 0) {
        /* Broadcast from inside a handler: the server must allow it. */
        int n = (int)json_integer_value(json_object_get(req, "n"));
        int size = (int)json_integer_value(json_object_get(req, "size"));
        char *line = malloc((size_t)size + 64);

        for (int i = 0; line && i < n; i++) {
            int l = snprintf(line, 64, "{\"seq\":%d,\"pad\":\"", i);

            memset(line + l, 'x', (size_t)size);
            strcpy(line + l + size, "\"}");
            xp_ctl_server__broadcast(ts->srv, "events", line);
        }
        free(line);
        return json_integer(n);
    }
    if (strcmp(op, "srvstats") == 0)
        return xp_ctl_server__stats_json(ts->srv);
    snprintf(err, errlen, "stub has no handler for %s", op);
    return NULL;
}

static const struct xp_ctl_op ops[] = {
    { "echo", "return the request", false },
    { "emit", "broadcast n lines", false },
    { "events", "stream", true },
    { "flows", "pairs", false },
    { "nohandler", "declared but the handler refuses", false },
    { "reload", "always refused", false },
    { "srvstats", "server counters", false },
    { "stats", "a tiny stats document", false },
    { NULL },
};

static void *server_main(void *arg)
{
    struct test_server *ts = arg;

    while (!atomic_load(&ts->stop))
        xp_line_server__poll(xp_ctl_server__lines(ts->srv), 10);
    return NULL;
}

static int server_start(struct test_server *ts, unsigned idle_ms)
{
    struct xp_ctl_server_conf conf = {
        .path = sock_path,
        .gid = (gid_t)-1,
        .max_clients = MAX_CLIENTS,
        .idle_ms = idle_ms,
        .follower_max_out = 64 * 1024,
        .ops = ops,
        .handler = handler,
        .ctx = ts,
    };

    atomic_store(&ts->stop, false);
    ts->srv = xp_ctl_server__create(&conf);
    if (!ts->srv)
        return -errno;
    return -pthread_create(&ts->thread, NULL, server_main, ts);
}

static void server_stop(struct test_server *ts)
{
    atomic_store(&ts->stop, true);
    pthread_join(ts->thread, NULL);
    xp_ctl_server__destroy(ts->srv);
    ts->srv = NULL;
}

static struct xp_ctl_client *conn(void)
{
    struct xp_ctl_client *c = xp_ctl_client__connect(sock_path, TIMEOUT_MS);

    CHECK(c != NULL);
    return c;
}

/* Send raw bytes, read one reply line, return it parsed (or NULL). */
static json_t *raw_request(struct xp_ctl_client *c, const char *data, size_t len)
{
    const char *line;
    ssize_t n;

    CHECK_EQ(xp_ctl_client__write(c, data, len), 0);
    n = xp_ctl_client__read_line(c, TIMEOUT_MS, &line);
    CHECK(n > 0);
    return n > 0 ? json_loadb(line, (size_t)n, 0, NULL) : NULL;
}

static json_t *srv_stats(void)
{
    struct xp_ctl_client *c = conn();
    json_t *req = json_pack("{s:s}", "op", "srvstats"), *res = NULL;
    char err[256];

    if (c)
        CHECK_EQ(xp_ctl_client__request(c, req, TIMEOUT_MS, &res, err, sizeof(err)), 0);
    json_decref(req);
    xp_ctl_client__destroy(c);
    return res;
}

static void test_good_op(void)
{
    struct xp_ctl_client *c = conn();
    json_t *req = json_pack("{s:s}", "op", "stats"), *res = NULL;
    char err[256];

    if (!c)
        return;
    CHECK_EQ(xp_ctl_client__request(c, req, TIMEOUT_MS, &res, err, sizeof(err)), 0);
    CHECK_EQ(json_integer_value(json_object_get(json_object_get(res, "totals"),
                                                "rx_packets")), 42);
    json_decref(res);
    /* The same connection serves more requests. */
    CHECK_EQ(xp_ctl_client__request(c, req, TIMEOUT_MS, &res, err, sizeof(err)), 0);
    CHECK_STR(json_string_value(json_object_get(res, "proxy_id")), "test");
    json_decref(res);
    json_decref(req);
    xp_ctl_client__destroy(c);
}

static void expect_error(struct xp_ctl_client *c, const char *line, const char *msg)
{
    json_t *r = raw_request(c, line, strlen(line));

    CHECK(json_is_false(json_object_get(r, "ok")));
    CHECK_STR(json_string_value(json_object_get(r, "error")), msg);
    json_decref(r);
}

static void test_errors_keep_connection(void)
{
    struct xp_ctl_client *c = conn();
    json_t *r;

    if (!c)
        return;
    expect_error(c, "not json\n", "bad JSON");
    expect_error(c, "{\"op\": \"stats\"\n", "bad JSON");
    expect_error(c, "[1,2]\n", "JSON object");
    expect_error(c, "{}\n", "missing \"op\"");
    expect_error(c, "{\"op\": 7}\n", "missing \"op\"");
    expect_error(c, "{\"op\": \"nosuch\"}\n", "unknown op \"nosuch\"");
    expect_error(c, "{\"op\": \"stats\", \"op\": \"x\"}\n", "duplicate");
    expect_error(c, "{\"op\": \"reload\"}\n", "cannot change without a restart");
    expect_error(c, "{\"op\": \"nohandler\"}\n", "stub has no handler");
    expect_error(c, "{\"op\": \"stats\", \"follow\": true}\n", "cannot be followed");
    /* Still usable, and CRLF line ends are accepted. */
    r = raw_request(c, "{\"op\": \"stats\"}\r\n", 17);
    CHECK(json_is_true(json_object_get(r, "ok")));
    json_decref(r);
    xp_ctl_client__destroy(c);
}

static void test_pipelined_and_help(void)
{
    static const char two[] = "{\"op\":\"echo\",\"id\":1}\n\n{\"op\":\"echo\",\"id\":2}\n";
    struct xp_ctl_client *c = conn();
    const char *line;
    json_t *r, *req, *res = NULL;
    char err[256];

    if (!c)
        return;
    CHECK_EQ(xp_ctl_client__write(c, two, sizeof(two) - 1), 0);
    for (int id = 1; id <= 2; id++) {
        ssize_t n = xp_ctl_client__read_line(c, TIMEOUT_MS, &line);

        CHECK(n > 0);
        r = n > 0 ? json_loadb(line, (size_t)n, 0, NULL) : NULL;
        CHECK_EQ(json_integer_value(json_object_get(json_object_get(r, "result"), "id")), id);
        json_decref(r);
    }
    req = json_pack("{s:s}", "op", "help");
    CHECK_EQ(xp_ctl_client__request(c, req, TIMEOUT_MS, &res, err, sizeof(err)), 0);
    CHECK(json_is_string(json_object_get(res, "stats")));
    CHECK(json_is_string(json_object_get(res, "help")));
    json_decref(res);
    json_decref(req);
    xp_ctl_client__destroy(c);
}

static void test_overlong_line(void)
{
    size_t len = XP_CTL_MAX_LINE + 100;
    char *big = malloc(len);
    struct xp_ctl_client *c = conn();
    const char *line;
    json_t *st;
    ssize_t n;

    if (!c || !big) {
        free(big);
        xp_ctl_client__destroy(c);
        return;
    }
    memset(big, 'a', len);
    CHECK_EQ(xp_ctl_client__write(c, big, len), 0);
    n = xp_ctl_client__read_line(c, TIMEOUT_MS, &line);
    CHECK(n > 0);
    if (n > 0)
        CHECK_STR(line, "too long");
    /* ... and the server closed the connection. */
    CHECK_EQ(xp_ctl_client__read_line(c, TIMEOUT_MS, &line), 0);
    xp_ctl_client__destroy(c);
    free(big);
    st = srv_stats();
    CHECK(json_integer_value(json_object_get(st, "overlong")) >= 1);
    json_decref(st);
}

static void test_follow(void)
{
    struct xp_ctl_client *f = conn(), *c = conn();
    json_t *req, *res = NULL, *ev;
    const char *line;
    char err[256];

    if (!f || !c)
        goto out;
    req = json_pack("{s:s,s:b}", "op", "events", "follow", 1);
    CHECK_EQ(xp_ctl_client__request(f, req, TIMEOUT_MS, &res, err, sizeof(err)), 0);
    json_decref(req);
    json_decref(res);
    req = json_pack("{s:s,s:i,s:i}", "op", "emit", "n", 3, "size", 10);
    CHECK_EQ(xp_ctl_client__request(c, req, TIMEOUT_MS, &res, err, sizeof(err)), 0);
    CHECK_EQ(json_integer_value(res), 3);
    json_decref(req);
    json_decref(res);
    for (int i = 0; i < 3; i++) {
        ssize_t n = xp_ctl_client__read_line(f, TIMEOUT_MS, &line);

        CHECK(n > 0);
        ev = n > 0 ? json_loadb(line, (size_t)n, 0, NULL) : NULL;
        CHECK_EQ(json_integer_value(json_object_get(ev, "seq")), i);
        json_decref(ev);
    }
    /* A follower only listens: what it sends gets no reply. */
    CHECK_EQ(xp_ctl_client__write(f, "{\"op\":\"stats\"}\n", 15), 0);
    CHECK_EQ(xp_ctl_client__read_line(f, 200, &line), -ETIMEDOUT);
out:
    xp_ctl_client__destroy(f);
    xp_ctl_client__destroy(c);
}

static void test_slow_follower_dropped(void)
{
    struct xp_ctl_client *f = conn(), *c = conn();
    json_t *req, *res = NULL, *st;
    const char *line;
    long long before;
    char err[256];
    ssize_t n;

    if (!f || !c)
        goto out;
    st = srv_stats();
    before = json_integer_value(json_object_get(st, "followers_dropped"));
    json_decref(st);
    req = json_pack("{s:s,s:b}", "op", "events", "follow", 1);
    CHECK_EQ(xp_ctl_client__request(f, req, TIMEOUT_MS, &res, err, sizeof(err)), 0);
    json_decref(req);
    json_decref(res);
    /* 8 MB towards a follower that does not read: past socket buffers and the 64 KiB bound. */
    req = json_pack("{s:s,s:i,s:i}", "op", "emit", "n", 8000, "size", 1000);
    CHECK_EQ(xp_ctl_client__request(c, req, TIMEOUT_MS, &res, err, sizeof(err)), 0);
    json_decref(req);
    json_decref(res);
    st = srv_stats();
    CHECK_EQ(json_integer_value(json_object_get(st, "followers_dropped")), before + 1);
    CHECK_EQ(json_integer_value(json_object_get(st, "followers")), 0);
    json_decref(st);
    /* The dropped follower reads what was queued, then end of stream. */
    while ((n = xp_ctl_client__read_line(f, TIMEOUT_MS, &line)) > 0)
        ;
    CHECK_EQ(n, 0);
out:
    xp_ctl_client__destroy(f);
    xp_ctl_client__destroy(c);
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

    nanosleep(&ts, NULL);
}

/* Wait until the server has reaped every earlier connection (they close asynchronously). */
static void wait_idle_server(void)
{
    for (int i = 0; i < 100; i++) {
        json_t *st = srv_stats();
        long long clients = json_integer_value(json_object_get(st, "clients"));

        json_decref(st);
        if (clients <= 1) /* the one asking */
            return;
        sleep_ms(10);
    }
    CHECK(!"earlier clients were never reaped");
}

/*
 * Every slot taken by idle clients: a newcomer is served and the client idle the longest
 * is closed for it (idle clients cannot lock operators out). Every slot busy (a request
 * half sent): the newcomer is refused with a reason. A freed slot is usable again.
 */
static void test_client_limit(void)
{
    struct xp_ctl_client *c[MAX_CLIENTS + 1] = { 0 }, *late;
    json_t *req = json_pack("{s:s}", "op", "stats"), *res, *r;
    const char *line;
    char err[256];
    ssize_t n;

    wait_idle_server();
    for (int i = 0; i < MAX_CLIENTS; i++) {
        c[i] = conn();
        res = NULL;
        if (c[i])
            CHECK_EQ(xp_ctl_client__request(c[i], req, TIMEOUT_MS, &res, err, sizeof(err)), 0);
        json_decref(res);
        sleep_ms(5); /* c[0] is the one idle the longest */
    }
    late = conn();
    res = NULL;
    if (late)
        CHECK_EQ(xp_ctl_client__request(late, req, TIMEOUT_MS, &res, err, sizeof(err)), 0);
    CHECK(res != NULL);
    json_decref(res);
    /* the longest idle client was closed for it; the others still work */
    if (c[0])
        CHECK_EQ(xp_ctl_client__read_line(c[0], TIMEOUT_MS, &line), 0);
    res = NULL;
    if (c[1])
        CHECK_EQ(xp_ctl_client__request(c[1], req, TIMEOUT_MS, &res, err, sizeof(err)), 0);
    json_decref(res);
    r = srv_stats(); /* itself a newcomer: evicts another idle one */
    CHECK(json_integer_value(json_object_get(r, "evicted_idle")) >= 1);
    json_decref(r);
    for (int i = 0; i <= MAX_CLIENTS; i++) {
        xp_ctl_client__destroy(c[i]);
        c[i] = NULL;
    }
    xp_ctl_client__destroy(late);

    /* every slot busy with a half-sent request: no one to evict, the newcomer is told why */
    wait_idle_server();
    for (int i = 0; i < MAX_CLIENTS; i++) {
        c[i] = conn();
        if (c[i])
            CHECK_EQ(xp_ctl_client__write(c[i], "{\"op\":", 6), 0);
    }
    sleep_ms(50);
    c[MAX_CLIENTS] = conn();
    if (c[MAX_CLIENTS]) {
        n = xp_ctl_client__read_line(c[MAX_CLIENTS], TIMEOUT_MS, &line);
        CHECK(n > 0);
        r = n > 0 ? json_loadb(line, (size_t)n, 0, NULL) : NULL;
        CHECK(json_is_false(json_object_get(r, "ok")));
        CHECK_STR(json_string_value(json_object_get(r, "error")), "too many clients");
        json_decref(r);
    }
    /* A freed slot is usable again. */
    xp_ctl_client__destroy(c[0]);
    c[0] = NULL;
    res = NULL;
    for (int i = 0; i < 100 && !res; i++) {
        struct xp_ctl_client *again = conn();

        if (again && xp_ctl_client__request(again, req, TIMEOUT_MS, &res, err, sizeof(err)))
            sleep_ms(10);
        xp_ctl_client__destroy(again);
    }
    CHECK(res != NULL);
    json_decref(res);
    for (int i = 0; i <= MAX_CLIENTS; i++)
        xp_ctl_client__destroy(c[i]);
    json_decref(req);
    r = srv_stats();
    CHECK(json_integer_value(json_object_get(r, "rejected_full")) >= 1);
    json_decref(r);
}

/* Resident memory of this process, in KiB. */
static long rss_kib(void)
{
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");

    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
            rss = 0;
        fclose(f);
    }
    return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

/*
 * A client that pipelines 20,000 requests without reading: the server stops reading it
 * once XP_CTL_MAX_PENDING of replies wait, so its memory stays bounded; when the client
 * reads at last, every request is answered, in order.
 */
static void test_pipelining_bounded(void)
{
    static const char one[] = "{\"op\":\"stats\"}\n";
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    long before = rss_kib(), peak = before;
    unsigned sent = 0, got = 0;
    char buf[65536];
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

    memcpy(sa.sun_path, sock_path, strlen(sock_path) < sizeof(sa.sun_path) - 1
                                       ? strlen(sock_path) + 1
                                       : sizeof(sa.sun_path) - 1);
    CHECK(fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    if (fd < 0)
        return;
    /*
     * Write requests as fast as the socket takes them, never reading, until it has stayed
     * full for 100 ms (the server stopped reading us: its replies wait). Less than the
     * server's idle time here (400 ms): a client that never reads is closed as idle.
     */
    for (unsigned tries = 0; sent < 20000 && tries < 50; ) {
        ssize_t w = send(fd, one, sizeof(one) - 1, MSG_NOSIGNAL);

        if (w == (ssize_t)(sizeof(one) - 1)) {
            sent++;
            continue;
        }
        CHECK(w <= 0); /* a request is small: the socket takes it whole or not at all */
        tries++;
        sleep_ms(2); /* full: the server stopped reading us */
        if (rss_kib() > peak)
            peak = rss_kib();
    }
    sleep_ms(50);
    if (rss_kib() > peak)
        peak = rss_kib();
    {
        json_t *st = srv_stats();
        json_int_t buf_peak = json_integer_value(json_object_get(st, "out_buffer_peak"));

        fprintf(stderr, "pipelining: %u requests written without reading, largest output "
                "buffer %lld bytes, RSS +%ld KiB\n", sent, (long long)buf_peak, peak - before);
        /* what the server holds for the client: its pending bound and one reply, doubled */
        CHECK(buf_peak > 0 && buf_peak <= 4 * (json_int_t)XP_CTL_MAX_PENDING);
        json_decref(st);
    }
#if !defined(__SANITIZE_ADDRESS__)
    /* the same seen from outside (ASan's quarantine keeps freed memory: not there) */
    CHECK(peak - before < 8 * 1024);
#endif
    CHECK(sent >= 1000);
    /* now read: every request written is answered, and the rest go out as room appears */
    for (unsigned idle = 0; got < 20000 && idle < 500;) {
        ssize_t r = recv(fd, buf, sizeof(buf), 0);

        if (r > 0) {
            for (ssize_t i = 0; i < r; i++)
                got += buf[i] == '\n';
            idle = 0;
        } else {
            idle++;
            sleep_ms(2);
        }
        while (sent < 20000 && send(fd, one, sizeof(one) - 1, MSG_NOSIGNAL) ==
                                   (ssize_t)(sizeof(one) - 1))
            sent++;
    }
    CHECK_EQ(sent, 20000);
    CHECK_EQ(got, sent);
    close(fd);
}

static void test_idle_timeout(void)
{
    struct xp_ctl_client *c = conn();
    const char *line;

    if (!c)
        return;
    /* The server in main() runs with idle_ms = 400. */
    CHECK_EQ(xp_ctl_client__read_line(c, 3000, &line), 0);
    xp_ctl_client__destroy(c);
}

/* The file-system side: modes, stale and live sockets, refusing other files. */
static void test_socket_file(void)
{
    struct xp_ctl_server_conf conf = { .path = sock_path, .gid = (gid_t)-1, .ops = ops,
                                       .handler = handler };
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    struct test_server ts;
    struct xp_ctl_server *srv;
    struct stat st;
    int fd;

    CHECK_EQ(server_start(&ts, 0), 0);
    CHECK_EQ(stat(sock_path, &st), 0);
    CHECK(S_ISSOCK(st.st_mode));
    CHECK_EQ(st.st_mode & 07777, 0660);
    CHECK_EQ(stat(dir, &st), 0);
    CHECK_EQ(st.st_mode & 07777, 0750);
    /* A live socket is never taken over. */
    srv = xp_ctl_server__create(&conf);
    CHECK(srv == NULL && errno == EADDRINUSE);
    xp_ctl_server__destroy(srv);
    server_stop(&ts);
    CHECK(stat(sock_path, &st) != 0 && errno == ENOENT);

    /* A stale one (its owner died without unlinking) is replaced. */
    strcpy(sa.sun_path, sock_path);
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK_EQ(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    close(fd);
    srv = xp_ctl_server__create(&conf);
    CHECK(srv != NULL);
    xp_ctl_server__destroy(srv);

    /* Anything else at the path is left alone. */
    fd = open(sock_path, O_CREAT | O_WRONLY, 0600);
    close(fd);
    srv = xp_ctl_server__create(&conf);
    CHECK(srv == NULL && errno == EEXIST);
    unlink(sock_path);

    CHECK_EQ(xp_ctl_default_path("edge-1", (char[64]){ 0 }, 64), 0);
    CHECK_EQ(xp_ctl_default_path("../x", (char[64]){ 0 }, 64), -EINVAL);
    CHECK_EQ(xp_ctl_default_path("", (char[64]){ 0 }, 64), -EINVAL);
    CHECK_EQ(xp_ctl_default_path("a-very-long-id", (char[16]){ 0 }, 16), -ENAMETOOLONG);
}

/* ---- xpro-ctl against the stub server ------------------------------------------------- */

/* Run xpro-ctl ARGS; stdout and stderr into out/errbuf. Returns the exit code. */
static int run_ctl(const char *args, char *out, size_t outlen, char *errbuf, size_t errlen)
{
    char cmd[1024], errfile[96];
    FILE *p, *e;
    size_t n;
    int st;

    snprintf(errfile, sizeof(errfile), "%s.err", dir);
    snprintf(cmd, sizeof(cmd), "%s %s 2>%s", XP_CTL_BIN, args, errfile);
    p = popen(cmd, "r");
    if (!p)
        return -1;
    n = fread(out, 1, outlen - 1, p);
    out[n] = '\0';
    st = pclose(p);
    e = fopen(errfile, "r");
    n = e ? fread(errbuf, 1, errlen - 1, e) : 0;
    errbuf[n] = '\0';
    if (e)
        fclose(e);
    unlink(errfile);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_cli(void)
{
    char args[512], out[8192], err[2048];
    json_t *j;

    snprintf(args, sizeof(args), "--socket %s --json stats", sock_path);
    CHECK_EQ(run_ctl(args, out, sizeof(out), err, sizeof(err)), 0);
    j = json_loads(out, 0, NULL);
    CHECK_EQ(json_integer_value(json_object_get(json_object_get(j, "totals"), "rx_packets")),
             42);
    json_decref(j);

    snprintf(args, sizeof(args), "-s %s stats", sock_path);
    CHECK_EQ(run_ctl(args, out, sizeof(out), err, sizeof(err)), 0);
    CHECK_STR(out, "proxy test");
    CHECK_STR(out, "packets rx 42");

    snprintf(args, sizeof(args), "--socket %s flows --top 7", sock_path);
    CHECK_EQ(run_ctl(args, out, sizeof(out), err, sizeof(err)), 0);
    CHECK_STR(out, "RATE_PPS");
    CHECK_STR(out, "198.18.0.254");
    CHECK_STR(out, " 7\n");

    snprintf(args, sizeof(args), "--socket %s reload", sock_path);
    CHECK_EQ(run_ctl(args, out, sizeof(out), err, sizeof(err)), 1);
    CHECK_STR(err, "cannot change without a restart");

    snprintf(args, sizeof(args), "--socket %s block", sock_path);
    CHECK_EQ(run_ctl(args, out, sizeof(out), err, sizeof(err)), 2);
    CHECK_STR(err, "missing argument");

    snprintf(args, sizeof(args), "--socket %s block 198.18.0.2 198.18.0.254 --for 9 extra",
             sock_path);
    CHECK_EQ(run_ctl(args, out, sizeof(out), err, sizeof(err)), 2);

    snprintf(args, sizeof(args), "--socket %s.missing stats", sock_path);
    CHECK_EQ(run_ctl(args, out, sizeof(out), err, sizeof(err)), 1);
    CHECK_STR(err, "is xpro-proxy running?");

    /* The central node wants an identity: refused before any connection is tried. */
    CHECK_EQ(run_ctl("--central 127.0.0.1:7000 stats", out, sizeof(out), err, sizeof(err)), 2);
    CHECK_STR(err, "needs --id ID and --secret-file FILE");
    CHECK_EQ(run_ctl("--central 127.0.0.1:7000 --id a --secret-file /nonexistent flows", out,
                     sizeof(out), err, sizeof(err)), 2);
    CHECK_STR(err, "only \"stats\"");
    CHECK_EQ(run_ctl("frobnicate", out, sizeof(out), err, sizeof(err)), 2);

    /* getopt_long's rules: options after the command (its own and global ones), values
     * glued with '=', and the errors named. */
    snprintf(args, sizeof(args), "flows -n 3 --socket=%s --json", sock_path);
    CHECK_EQ(run_ctl(args, out, sizeof(out), err, sizeof(err)), 0);
    CHECK(out[0] == '{' || out[0] == '[');
    CHECK_EQ(run_ctl("stats --bogus", out, sizeof(out), err, sizeof(err)), 2);
    CHECK_STR(err, "unknown option --bogus for stats");
    CHECK_EQ(run_ctl("--json=yes stats", out, sizeof(out), err, sizeof(err)), 2);
    CHECK_STR(err, "--json takes no value");
    CHECK_EQ(run_ctl("flows --top", out, sizeof(out), err, sizeof(err)), 2);
    CHECK_STR(err, "--top needs N");
    CHECK_EQ(run_ctl("flows --top -3", out, sizeof(out), err, sizeof(err)), 2);
    CHECK_EQ(run_ctl("events --last 1025", out, sizeof(out), err, sizeof(err)), 2);
    CHECK_STR(err, "at most 1024");
    CHECK_EQ(run_ctl("stats --interval 61", out, sizeof(out), err, sizeof(err)), 2);
    CHECK_EQ(run_ctl("block 198.18.0.2 --reason", out, sizeof(out), err, sizeof(err)), 2);
    CHECK_STR(err, "--reason needs TEXT");
    /* Without a second sample the queue rates are unknown, not zero. */
    snprintf(args, sizeof(args), "-s %s stats --interval 0", sock_path);
    CHECK_EQ(run_ctl(args, out, sizeof(out), err, sizeof(err)), 0);
    CHECK_STR(out, "RX_PPS");
    CHECK_EQ(run_ctl("--version", out, sizeof(out), err, sizeof(err)), 0);
    CHECK_STR(out, "xpro-ctl ");
    CHECK_EQ(run_ctl("--help", out, sizeof(out), err, sizeof(err)), 0);
    CHECK_STR(out, "events");
}

int main(void)
{
    struct test_server ts;
    int ret;

    snprintf(dir, sizeof(dir), "/tmp/xp-test-ctl.%d", (int)getpid());
    snprintf(sock_path, sizeof(sock_path), "%s/ctl.sock", dir);

    test_socket_file();
    ret = server_start(&ts, 400);
    if (ret) {
        fprintf(stderr, "test_ctl: cannot start the server: %s\n", strerror(-ret));
        return 1;
    }
    test_good_op();
    test_errors_keep_connection();
    test_pipelined_and_help();
    test_overlong_line();
    test_follow();
    test_slow_follower_dropped();
    test_client_limit();
    test_pipelining_bounded();
    test_idle_timeout();
    test_cli();
    server_stop(&ts);
    rmdir(dir);
    return xp_check_report("test_ctl");
}
