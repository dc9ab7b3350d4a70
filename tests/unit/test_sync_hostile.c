// SPDX-License-Identifier: GPL-2.0-only
/*
 * Hostile clients against an in-process xpro-central on 127.0.0.1: garbage,
 * an oversized line, slowloris, silence, unauthenticated reads and writes,
 * a wrong HMAC, an unknown id, more unauthenticated connections than the
 * pre-auth budget, a flood of connections that fail before auth. Each gets
 * its error line and is disconnected (or, past the budget, the oldest
 * unauthenticated one is), while a good proxy keeps syncing, including while
 * hostile connections are still open, and a new one still gets in. Bounded:
 * about 5 s.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "src/util/log.h"
#include "test_sync_common.h"

static uint16_t port;
static const uint8_t secret[16] = "0123456789abcdef";

/* Read one line within ms; "" on EOF/timeout. */
static void raw_line(int fd, char *out, size_t len, int ms)
{
    size_t n = 0;

    out[0] = '\0';
    while (n + 1 < len) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        char ch;

        if (poll(&p, 1, ms) <= 0)
            break;
        if (recv(fd, &ch, 1, 0) != 1)
            break;
        if (ch == '\n')
            break;
        out[n++] = ch;
    }
    out[n] = '\0';
}

/* True if the peer closes within ms (EOF or reset). */
static bool raw_closed(int fd, int ms)
{
    char buf[4096];

    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        ssize_t n;

        if (poll(&p, 1, ms) <= 0)
            return false;
        n = recv(fd, buf, sizeof(buf), 0);
        if (n <= 0)
            return true;
    }
}

static void expect_error(int fd, const char *code, int ms)
{
    char line[2048], want[64];

    raw_line(fd, line, sizeof(line), ms);
    snprintf(want, sizeof(want), "\"code\":\"%s\"", code);
    if (!strstr(line, want))
        fprintf(stderr, "expected %s, got: %s\n", code, line);
    CHECK(strstr(line, want) != NULL);
    CHECK(raw_closed(fd, 2000));
    close(fd);
}

static int with_challenge(char *nonce_hex)
{
    int fd = tcp_connect_local(port);
    char line[512], *p;

    raw_line(fd, line, sizeof(line), 2000);
    p = strstr(line, "\"nonce\":\"");
    CHECK(p != NULL);
    if (p && nonce_hex) {
        memcpy(nonce_hex, p + 9, 64);
        nonce_hex[64] = '\0';
    }
    return fd;
}

/* A plain TCP connection to 127.0.0.1:port from another loopback address (another source). */
static int tcp_connect_from(const char *src)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    struct sockaddr_in from = {.sin_family = AF_INET};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    inet_pton(AF_INET, src, &from.sin_addr);
    if (fd < 0 || bind(fd, (struct sockaddr *)&from, sizeof(from)) < 0 ||
        connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        perror("connect");
        exit(1);
    }
    return fd;
}

static void send_str(int fd, const char *s)
{
    if (send(fd, s, strlen(s), MSG_NOSIGNAL) < 0)
        perror("send");
}

static void install(void *arg, const struct xp_sync_answer *a)
{
    (void)a;
    (*(unsigned *)arg)++;
}

/* The central's stats document as cl reads it (free it), printed with XP_VERBOSE. */
static char *central_stats(struct xp_sync_client *cl)
{
    char *js = NULL;

    CHECK_EQ(xp_sync_client__central_stats(cl, &js), 0);
    if (js && getenv("XP_VERBOSE"))
        fprintf(stderr, "%s\n", js);
    return js;
}

static struct xp_sync_client *good;
static unsigned good_round;

/* One sync of the good proxy: one new pair each time. */
static void good_sync(void)
{
    struct xp_pair_record rec;
    unsigned got = 0;
    uint64_t now = treal_ns();
    int ret;

    memset(&rec, 0, sizeof(rec));
    rec.key = tkey(1000 + good_round++, 1);
    rec.st = (struct xp_pair_state){.ts1 = now, .ts2 = now, .c = 1, .dc = 1};
    ret = xp_sync_client__exchange(good, &rec, 1, NULL, install, &got);
    if (ret)
        fprintf(stderr, "good sync: %s\n", strerror(-ret));
    CHECK_EQ(ret, 0);
    CHECK(got >= 1);
}

int main(void)
{
    struct xp_central_config cfg;
    struct xp_central *c;
    pthread_t srv;
    char nonce[65], line[1024];
    int fd, slow, idle;

    xp_log_set_level(getenv("XP_VERBOSE") ? XP_LOG_DEBUG : XP_LOG_ERR);
    xp_central_config__init(&cfg);
    cfg.port = 0;
    cfg.max_line = 65536;
    cfg.max_pairs = 16;
    cfg.max_conns = 8;
    cfg.auth_timeout_ms = 400;
    cfg.read_timeout_ms = 400;
    cfg.idle_timeout_ms = 3000;
    cfg.row_ttl_ns = 3600ULL * 1000000000; /* the good pairs are counted at the end */
    xp_central_config__add_proxy(&cfg, "good", secret, sizeof(secret));
    xp_central_config__add_proxy(&cfg, "other", secret, sizeof(secret));
    xp_central_config__add_proxy(&cfg, "late", (const uint8_t *)"fedcba9876543210", 16);
    c = xp_central__create(&cfg);
    if (!c) {
        perror("xp_central__create");
        return 1;
    }
    port = xp_central__port(c);
    pthread_create(&srv, NULL, tcentral_run, c);
    {
        struct xp_sync_client_config cc = {.host = "127.0.0.1", .port = port,
                                           .proxy_id = "good", .secret = secret,
                                           .secret_len = sizeof(secret),
                                           .backoff_min_ms = 10, .backoff_max_ms = 50};

        good = xp_sync_client__create(&cc);
    }
    good_sync();

    /* a slowloris and a silent peer stay open while the good proxy syncs */
    slow = with_challenge(NULL);
    send_str(slow, "{\"v\":2,");
    idle = with_challenge(NULL);
    good_sync();

    /* garbage before auth */
    fd = with_challenge(NULL);
    send_str(fd, "GET / HTTP/1.1\r\n\r\n");
    expect_error(fd, "bad_json", 2000);
    good_sync();

    /* an oversized line (no newline, far past max_line): cut off */
    fd = with_challenge(NULL);
    {
        static char big[1 << 20];

        memset(big, 'a', sizeof(big));
        for (int i = 0; i < 4; i++) {
            struct pollfd p = {.fd = fd, .events = POLLOUT};

            if (poll(&p, 1, 200) <= 0 || send(fd, big, sizeof(big), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
                break;
        }
    }
    expect_error(fd, "line_too_long", 2000);
    good_sync();

    /* unauthenticated write (a valid sync) and read (stats) */
    fd = with_challenge(NULL);
    send_str(fd, "{\"v\":2,\"op\":\"sync\",\"seq\":1,\"epoch\":\"0000000000000000\",\"since\":0,"
                 "\"pairs\":[{\"unit\":\"10.0.0.1\",\"dst\":\"198.18.0.1\",\"ts1\":1,\"ts2\":2,"
                 "\"c\":1000000,\"dc\":1000000,\"mark\":false}]}\n");
    expect_error(fd, "auth_required", 2000);
    fd = with_challenge(NULL);
    send_str(fd, "{\"v\":2,\"op\":\"stats\"}\n");
    expect_error(fd, "auth_required", 2000);
    good_sync();

    /* wrong HMAC, unknown proxy id */
    fd = with_challenge(nonce);
    snprintf(line, sizeof(line),
             "{\"v\":2,\"op\":\"hello\",\"proxy_id\":\"good\",\"instance\":\"0000000000000001\","
             "\"nonce\":\"%064d\",\"kx\":\"%064d\",\"hmac\":\"%064d\"}\n",
             0, 9, 0);
    send_str(fd, line);
    expect_error(fd, "auth_failed", 2000);
    fd = with_challenge(nonce);
    {
        uint8_t sn[32], cn[32] = {0}, skx[32] = {0}, ckx[32] = {9}, mac[32];
        struct xp_sync_hs hs = {.s_nonce = sn, .c_nonce = cn, .s_kx = skx, .c_kx = ckx,
                                .id = "other"};
        char hex[65], kxhex[65];

        xp_hex__decode(nonce, sn, sizeof(sn));
        /* right secret, but the proof names another id than the hello: refused */
        xp_sync_auth__client_mac(secret, sizeof(secret), &hs, mac);
        xp_hex__encode(mac, 32, hex);
        xp_hex__encode(ckx, 32, kxhex);
        snprintf(line, sizeof(line),
                 "{\"v\":2,\"op\":\"hello\",\"proxy_id\":\"nobody\",\"instance\":"
                 "\"0000000000000001\",\"nonce\":\"%064d\",\"kx\":\"%s\",\"hmac\":\"%s\"}\n",
                 0, kxhex, hex);
        send_str(fd, line);
        expect_error(fd, "auth_failed", 2000);
    }
    good_sync();

    /* a client with the wrong secret: refused, counted, degraded */
    {
        static const uint8_t bad[16] = "XXXXXXXXXXXXXXXX";
        struct xp_sync_client_config cc = {.host = "127.0.0.1", .port = port,
                                           .proxy_id = "other", .secret = bad,
                                           .secret_len = sizeof(bad)};
        struct xp_sync_client *cl = xp_sync_client__create(&cc);
        struct xp_sync_client_stats st;
        unsigned got = 0;

        CHECK_EQ(xp_sync_client__exchange(cl, NULL, 0, NULL, install, &got), -EACCES);
        xp_sync_client__stats(cl, &st);
        CHECK_EQ(st.auth_failures, 1);
        CHECK(st.degraded_since_ns != 0);
        CHECK(strcmp(st.last_error_code, "auth_failed") == 0);
        xp_sync_client__destroy(cl);
    }

    /* the slowloris and the silent peer were cut off by their deadlines */
    expect_error(slow, "timeout", 2000);
    expect_error(idle, "timeout", 2000);
    good_sync();

    /*
     * More unauthenticated connections than one source may hold (8): each
     * new one pushes out the oldest, so a newcomer always gets its challenge
     * and the good proxy (authenticated) is not affected.
     */
    {
        int conns[16], n = 0;

        for (; n < 8; n++) {
            conns[n] = tcp_connect_local(port);
            raw_line(conns[n], line, sizeof(line), 2000);
        }
        fd = tcp_connect_local(port);
        raw_line(fd, line, sizeof(line), 2000);
        CHECK(strstr(line, "\"op\":\"challenge\"") != NULL);
        CHECK(raw_closed(conns[0], 2000)); /* the oldest was dropped for it */
        close(fd);
        for (int i = 0; i < n; i++)
            close(conns[i]);
        tsleep_ms(150);
    }
    good_sync();

    /*
     * One source floods connections that fail before auth (bad_json) and
     * stay open: each lingers on the central for its error line. Never
     * authenticated, they stay in that source's pre-auth share and do not
     * count against max_conns (8 here), so a proxy that connects now gets
     * its challenge, authenticates and syncs (it got busy before).
     */
    {
        static const uint8_t late_secret[16] = "fedcba9876543210";
        struct xp_sync_client_config cc = {.host = "127.0.0.1", .port = port,
                                           .proxy_id = "late", .secret = late_secret,
                                           .secret_len = sizeof(late_secret)};
        struct xp_sync_client *cl;
        int conns[40];
        unsigned got = 0;
        char *js, *pre;

        for (unsigned i = 0; i < 40; i++) {
            conns[i] = tcp_connect_from("127.0.0.2");
            raw_line(conns[i], line, sizeof(line), 2000);
            send_str(conns[i], "x\n");
            raw_line(conns[i], line, sizeof(line), 2000);
            CHECK(strstr(line, "\"code\":\"bad_json\"") != NULL);
        }
        cl = xp_sync_client__create(&cc);
        CHECK_EQ(xp_sync_client__exchange(cl, NULL, 0, NULL, install, &got), 0);
        js = central_stats(cl);
        CHECK(js && strstr(js, "\"refused_busy\":0,"));
        CHECK(js && strstr(js, "\"late\":{\"role\":\"proxy\",\"connected\":true"));
        /* the flood holds at most its source's share (8) of pre-auth slots */
        pre = js ? strstr(js, "\"preauth\":") : NULL;
        CHECK(pre && atoi(pre + 10) <= 8);
        free(js);
        xp_sync_client__destroy(cl);
        for (unsigned i = 0; i < 40; i++)
            close(conns[i]);
    }
    good_sync();

    /* the good proxy may read the stats; they count what happened */
    {
        char *js = central_stats(good);

        CHECK(js && strstr(js, "\"good\":{\"role\":\"proxy\",\"connected\":true"));
        CHECK(js && strstr(js, "\"auth_failures\":3"));
        free(js);
    }
    {
        struct xp_sync_client_stats st;

        xp_sync_client__stats(good, &st);
        CHECK_EQ(st.syncs_ok, good_round);
        CHECK_EQ(st.connects, 1);
    }

    xp_central__stop(c);
    pthread_join(srv, NULL);
    CHECK_EQ(xp_ctable__count(xp_central__table(c)), good_round);
    xp_sync_client__destroy(good);
    xp_central__destroy(c);
    xp_central_config__release(&cfg);
    return xp_check_report("test_sync_hostile");
}
