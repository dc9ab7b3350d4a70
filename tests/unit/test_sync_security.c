// SPDX-License-Identifier: GPL-2.0-only
/*
 * The sync channel under attack (docs/protocol.md "The sealed session",
 * "Authorisation", "Limits"), against an in-process xpro-central on
 * 127.0.0.1:
 *
 *  - an on-path relay between a real client and the central node flips a
 *    byte of a sealed line, replays one, or changes an answer: each is
 *    rejected by the side that receives it and counted (sealed_rejects),
 *    the session is closed, and the next exchange (a new session) works;
 *  - what the relay sees after the handshake holds no pair address;
 *  - an operator credential reads the stats and is refused any write
 *    (forbidden), the table unchanged;
 *  - a proxy limited to its units writes rows for them only (forbidden
 *    counted, the others not written);
 *  - 256 idle unauthenticated connections and a client that reconnects
 *    without end do not keep a real proxy out: it syncs within 2 s;
 *  - secrets in files readable by others are refused.
 *
 * Bounded: about 10 s.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "src/util/log.h"
#include "test_sync_common.h"

static const uint8_t secret[16] = "0123456789abcdef";
static const uint8_t ops_secret[16] = "operator-secret!";
static uint16_t central_port;
static struct xp_central *central;

/* ---- the relay: one client connection, forwarded line by line ---- */

enum mitm_mode {
    MITM_NONE = 0,
    MITM_FLIP_C2S,   /* flip a character of the client's first sealed line */
    MITM_REPLAY_C2S, /* send the client's first sealed line again before its second */
    MITM_FLIP_S2C,   /* flip a character of the central's first sealed line */
};

struct relay {
    enum mitm_mode mode;
    int lfd;
    uint16_t port;
    pthread_t th;
    atomic_bool stop;
    atomic_uint tampered;
    char seen[1 << 16]; /* what crossed after the handshake, both ways */
    size_t seen_len;
};

/* Forward the complete lines of buf[*len] from one side to the other, as the mode says. */
static void relay_lines(struct relay *r, int to, char *buf, size_t *len, unsigned *count,
                        bool c2s, char *last, size_t *last_len)
{
    char *nl;

    while ((nl = memchr(buf, '\n', *len))) {
        size_t n = (size_t)(nl - buf) + 1;
        unsigned idx = (*count)++;
        /* c2s: 0 hello, then sealed; s2c: 0 challenge, 1 welcome, then sealed */
        bool sealed = c2s ? idx >= 1 : idx >= 2;
        bool first_sealed = c2s ? idx == 1 : idx == 2;

        if (sealed && r->seen_len + n < sizeof(r->seen)) {
            memcpy(r->seen + r->seen_len, buf, n);
            r->seen_len += n;
        }
        if (first_sealed && ((c2s && r->mode == MITM_FLIP_C2S) ||
                             (!c2s && r->mode == MITM_FLIP_S2C))) {
            /* a base64 character for another one: the tag cannot match */
            buf[n / 2] = buf[n / 2] == 'A' ? 'B' : 'A';
            atomic_fetch_add(&r->tampered, 1);
        }
        if (c2s && r->mode == MITM_REPLAY_C2S && idx == 2 && *last_len) {
            if (send(to, last, *last_len, MSG_NOSIGNAL) < 0)
                break;
            atomic_fetch_add(&r->tampered, 1);
        }
        if (c2s && idx == 1 && n <= 1 << 16) {
            memcpy(last, buf, n);
            *last_len = n;
        }
        if (send(to, buf, n, MSG_NOSIGNAL) < 0)
            break;
        memmove(buf, buf + n, *len - n);
        *len -= n;
    }
}

static void *relay_main(void *arg)
{
    struct relay *r = arg;
    static char cbuf[1 << 17], sbuf[1 << 17], last[1 << 16];
    size_t clen = 0, slen = 0, last_len = 0;
    unsigned ccount = 0, scount = 0;
    int cfd, sfd;

    cfd = accept(r->lfd, NULL, NULL);
    if (cfd < 0)
        return NULL;
    sfd = tcp_connect_local(central_port);
    while (!atomic_load(&r->stop)) {
        struct pollfd p[2] = {{.fd = cfd, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
        ssize_t n;

        if (poll(p, 2, 50) <= 0)
            continue;
        if (p[0].revents) {
            n = recv(cfd, cbuf + clen, sizeof(cbuf) - clen, 0);
            if (n <= 0)
                break;
            clen += (size_t)n;
            relay_lines(r, sfd, cbuf, &clen, &ccount, true, last, &last_len);
        }
        if (p[1].revents) {
            n = recv(sfd, sbuf + slen, sizeof(sbuf) - slen, 0);
            if (n <= 0)
                break;
            slen += (size_t)n;
            relay_lines(r, cfd, sbuf, &slen, &scount, false, NULL, NULL);
        }
    }
    close(cfd);
    close(sfd);
    return NULL;
}

static void relay_start(struct relay *r, enum mitm_mode mode)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t sl = sizeof(sa);

    memset(r, 0, sizeof(*r));
    r->mode = mode;
    r->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    if (r->lfd < 0 || bind(r->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        listen(r->lfd, 4) < 0 || getsockname(r->lfd, (struct sockaddr *)&sa, &sl) < 0) {
        perror("relay");
        exit(1);
    }
    r->port = ntohs(sa.sin_port);
    pthread_create(&r->th, NULL, relay_main, r);
}

static void relay_stop(struct relay *r)
{
    atomic_store(&r->stop, true);
    shutdown(r->lfd, SHUT_RDWR);
    pthread_join(r->th, NULL);
    close(r->lfd);
}

/* ---- clients ---- */

static void install(void *arg, const struct xp_sync_answer *a)
{
    (void)a;
    (*(unsigned *)arg)++;
}

static struct xp_sync_client *client(const char *id, const uint8_t *sec, uint16_t port)
{
    struct xp_sync_client_config cc = {.host = "127.0.0.1", .port = port, .proxy_id = id,
                                       .secret = sec, .secret_len = 16, .backoff_min_ms = 1,
                                       .backoff_max_ms = 2, .io_timeout_ms = 1000};

    return xp_sync_client__create(&cc);
}

/* One exchange of one pair (unit u): the client's return value. */
static int sync_one(struct xp_sync_client *cl, unsigned u)
{
    struct xp_pair_record rec;
    uint64_t now = treal_ns();
    unsigned got = 0;

    memset(&rec, 0, sizeof(rec));
    rec.key = tkey(u, 1);
    rec.st = (struct xp_pair_state){.ts1 = now, .ts2 = now, .c = 5, .dc = 5};
    return xp_sync_client__exchange(cl, &rec, 1, NULL, install, &got);
}

/* Sync until it works (the client backs off 1-2 ms between attempts), at most ms. */
static int sync_until_ok(struct xp_sync_client *cl, unsigned u, unsigned ms)
{
    uint64_t end = treal_ns() + (uint64_t)ms * 1000000;
    int ret;

    do {
        ret = xp_sync_client__pending(cl) ? xp_sync_client__recover(cl, install, &(unsigned){0})
                                          : sync_one(cl, u);
        if (!ret)
            return 0;
        tsleep_ms(5);
    } while (treal_ns() < end);
    return ret;
}

/* A number in the central's stats document: "key":N (the first one after section, if any). */
static uint64_t central_stat(const char *section, const char *key)
{
    struct xp_sync_client *cl = client("ops", ops_secret, central_port);
    char *js = NULL, pat[96];
    const char *p;
    uint64_t v = UINT64_MAX;

    if (xp_sync_client__central_stats(cl, &js) == 0 && js) {
        p = section ? strstr(js, section) : js;
        snprintf(pat, sizeof(pat), "\"%s\":", key);
        p = p ? strstr(p, pat) : NULL;
        if (p)
            v = strtoull(p + strlen(pat), NULL, 10);
    }
    free(js);
    xp_sync_client__destroy(cl);
    return v;
}

/* Tampering on the path: rejected where it arrives, counted, and the next session works. */
static void test_tampering(void)
{
    static const struct {
        enum mitm_mode mode;
        const char *what;
        bool at_central;
    } cases[] = {
        {MITM_FLIP_C2S, "a flipped character in a request", true},
        {MITM_REPLAY_C2S, "a replayed request", true},
        {MITM_FLIP_S2C, "a flipped character in an answer", false},
    };

    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint64_t before = central_stat(NULL, "sealed_rejects");
        struct xp_sync_client *cl;
        struct xp_sync_client_stats st;
        struct relay r;
        int ret;

        relay_start(&r, cases[i].mode);
        cl = client("p1", secret, r.port);
        ret = sync_one(cl, 100 + i);
        if (cases[i].mode == MITM_REPLAY_C2S) {
            /* the replay rides in front of the second request */
            CHECK_EQ(ret, 0);
            ret = sync_one(cl, 200 + i);
        }
        xp_sync_client__stats(cl, &st);
        fprintf(stderr, "%s: exchange %s, client sealed_rejects %llu\n", cases[i].what,
                ret ? strerror(-ret) : "ok", (unsigned long long)st.sealed_rejects);
        CHECK(ret != 0);
        CHECK(atomic_load(&r.tampered) >= 1);
        if (cases[i].at_central)
            CHECK_EQ(central_stat(NULL, "sealed_rejects"), before + 1);
        else
            CHECK_EQ(st.sealed_rejects, 1);
        relay_stop(&r);
        /* the next session (straight to the central node) works */
        xp_sync_client__destroy(cl);
        cl = client("p1", secret, central_port);
        CHECK_EQ(sync_until_ok(cl, 300 + i, 2000), 0);
        xp_sync_client__destroy(cl);
    }
}

/* An eavesdropper sees no pair: after the handshake every line is ciphertext. */
static void test_confidential(void)
{
    struct xp_sync_client *cl;
    struct relay r;

    relay_start(&r, MITM_NONE);
    cl = client("p1", secret, r.port);
    CHECK_EQ(sync_one(cl, 0x0a0b0c), 0); /* unit 10.10.11.12 */
    CHECK_EQ(sync_one(cl, 0x0a0b0d), 0);
    relay_stop(&r);
    r.seen[r.seen_len] = '\0';
    CHECK(r.seen_len > 100);
    CHECK(strstr(r.seen, "10.10.11") == NULL);
    CHECK(strstr(r.seen, "198.18") == NULL);
    CHECK(strstr(r.seen, "\"op\"") == NULL);
    xp_sync_client__destroy(cl);
}

/* The operator credential reads, never writes; a proxy writes for its own units only. */
static void test_authorisation(void)
{
    struct xp_sync_client *ops = client("ops", ops_secret, central_port), *p2;
    struct xp_sync_client_stats st;
    uint32_t rows = xp_ctable__count(xp_central__table(central));
    char *js = NULL;

    CHECK_EQ(xp_sync_client__central_stats(ops, &js), 0);
    CHECK(js && strstr(js, "\"ops\":{\"role\":\"operator\""));
    free(js);
    CHECK(sync_one(ops, 7000) != 0);
    xp_sync_client__stats(ops, &st);
    CHECK(strcmp(st.last_error_code, "forbidden") == 0);
    xp_sync_client__destroy(ops);

    /* p2 may write 10.0.0.0/24 only */
    p2 = client("p2", secret, central_port);
    CHECK_EQ(sync_one(p2, 0x000005), 0);   /* 10.0.0.5: its own */
    CHECK_EQ(sync_one(p2, 0x090005), 0);   /* 10.9.0.5: answered, not written */
    xp_sync_client__destroy(p2);
    tsleep_ms(50);
    CHECK_EQ(central_stat("\"p2\":", "forbidden"), 1);
    CHECK(central_stat(NULL, "forbidden") >= 1);
    {
        struct xp_policer_key mine = tkey(0x000005, 1), other = tkey(0x090005, 1),
                              op = tkey(7000, 1);

        /* the loop thread owns the table; reads here are racy but the keys are settled */
        CHECK(xp_ctable__find(xp_central__table(central), &mine) != NULL);
        CHECK(xp_ctable__find(xp_central__table(central), &other) == NULL);
        CHECK(xp_ctable__find(xp_central__table(central), &op) == NULL);
    }
    CHECK(xp_ctable__count(xp_central__table(central)) >= rows + 1);
}

/* Connection floods do not keep a real proxy out. */
static atomic_bool churn_stop;

static void *churn_main(void *arg)
{
    (void)arg;
    while (!atomic_load(&churn_stop)) {
        int fd = tcp_connect_local(central_port);

        /* connect, read nothing, go: as fast as the loop allows */
        close(fd);
    }
    return NULL;
}

static void test_lockout(void)
{
    int idle[256];
    struct xp_sync_client *cl;
    pthread_t churn;
    uint64_t t0;
    int ret;

    for (unsigned i = 0; i < 256; i++)
        idle[i] = tcp_connect_local(central_port);
    atomic_store(&churn_stop, false);
    pthread_create(&churn, NULL, churn_main, NULL);
    tsleep_ms(100);
    t0 = treal_ns();
    cl = client("p1", secret, central_port);
    ret = sync_until_ok(cl, 0x050505, 2000);
    fprintf(stderr, "256 idle connections and a reconnect loop: the proxy synced in %.1f ms (%s)\n",
            (treal_ns() - t0) / 1e6, ret ? strerror(-ret) : "ok");
    CHECK_EQ(ret, 0);
    CHECK(treal_ns() - t0 < 2000000000ULL);
    atomic_store(&churn_stop, true);
    pthread_join(churn, NULL);
    for (unsigned i = 0; i < 256; i++)
        close(idle[i]);
    CHECK(central_stat(NULL, "preauth_evicted") >= 256 - 64);
    xp_sync_client__destroy(cl);
}

/* Secrets in files readable by others are refused, with the file, its mode and the fix. */
static void test_secret_files(void)
{
    char dir[] = "/tmp/xp-sec-XXXXXX", conf[256], sec[256], err[512];
    struct xp_central_config cfg;
    FILE *f;

    CHECK(mkdtemp(dir) != NULL);
    snprintf(conf, sizeof(conf), "%s/central.json", dir);
    snprintf(sec, sizeof(sec), "%s/p1.secret", dir);
    f = fopen(sec, "w");
    fprintf(f, "30313233343536373839616263646566\n");
    fclose(f);
    f = fopen(conf, "w");
    fprintf(f, "{\"port\": 0, \"proxies\": {\"p1\": {\"secret_file\": \"%s\", "
               "\"units\": [\"10.0.0.0/8\", \"2001:2::/48\"]}},\n"
               " \"operators\": {\"ops\": \"30313233343536373839616263646566\"}}\n",
            sec);
    fclose(f);
    chmod(sec, 0644);
    chmod(conf, 0600);
    CHECK_EQ(xp_central_config__load(&cfg, conf, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "p1.secret holds a secret and is readable by everyone (mode 0644)"));
    chmod(sec, 0640);
    chmod(conf, 0644); /* the operator's secret is written in it */
    CHECK_EQ(xp_central_config__load(&cfg, conf, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "central.json holds a secret and is readable by everyone"));
    chmod(conf, 0600);
    CHECK_EQ(xp_central_config__load(&cfg, conf, err, sizeof(err)), 0);
    CHECK_EQ(cfg.n_proxies, 2);
    if (cfg.n_proxies == 2) {
        CHECK(!cfg.proxies[0].read_only && cfg.proxies[0].n_units == 2);
        CHECK_EQ(cfg.proxies[0].units[0].prefix_len, 96 + 8);
        CHECK_EQ(cfg.proxies[0].units[1].prefix_len, 48);
        CHECK(cfg.proxies[1].read_only && cfg.proxies[1].n_units == 0);
    }
    xp_central_config__release(&cfg);
    /* a bad prefix and units for an operator are errors */
    f = fopen(conf, "w");
    fprintf(f, "{\"port\": 0, \"proxies\": {\"p1\": {\"secret_file\": \"%s\", "
               "\"units\": [\"10.0.0.0/33\"]}}}\n",
            sec);
    fclose(f);
    CHECK_EQ(xp_central_config__load(&cfg, conf, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "units.0"));
    f = fopen(conf, "w");
    fprintf(f, "{\"port\": 0, \"operators\": {\"o\": {\"secret_file\": \"%s\", "
               "\"units\": [\"10.0.0.0/8\"]}}}\n",
            sec);
    fclose(f);
    CHECK_EQ(xp_central_config__load(&cfg, conf, err, sizeof(err)), -EINVAL);
    unlink(conf);
    unlink(sec);
    rmdir(dir);
}

/*
 * The seal's length guard bounds its base64, which OpenSSL counts in int.
 * Checked on the limit itself: the guard answers before reading the line,
 * so no test needs gigabytes.
 */
static void test_seal_limit(void)
{
    static const char line[] = "{\"v\":2,\"op\":\"ping\"}";
    struct xp_seal s = {.on = true};
    struct xp_buf b;

    CHECK(xp_seal__wire_len(XP_SEAL_MAX_PLAIN) <= INT_MAX);
    CHECK(xp_seal__wire_len(XP_SEAL_MAX_PLAIN + 1) > INT_MAX);
    /* what the guard on the line's length alone let through */
    CHECK(xp_seal__wire_len((size_t)INT32_MAX - XP_SEAL_TAG) > INT_MAX);
    xp_buf__init(&b);
    CHECK_EQ(xp_seal__seal(&s, line, XP_SEAL_MAX_PLAIN + 1, &b), -EMSGSIZE);
    CHECK_EQ(b.len, 0);
    CHECK_EQ(s.ctr, 0);
    CHECK_EQ(xp_seal__seal(&s, line, sizeof(line) - 1, &b), 0);
    CHECK_EQ(b.len, xp_seal__wire_len(sizeof(line) - 1) + 1); /* and its newline */
    xp_buf__free(&b);
}

int main(void)
{
    struct xp_central_config cfg;
    pthread_t srv;

    xp_log_set_level(getenv("XP_VERBOSE") ? XP_LOG_DEBUG : XP_LOG_ERR);
    test_secret_files();
    test_seal_limit();

    xp_central_config__init(&cfg);
    cfg.port = 0;
    cfg.auth_timeout_ms = 1000;
    cfg.row_ttl_ns = 3600ULL * 1000000000;
    xp_central_config__add_proxy(&cfg, "p1", secret, sizeof(secret));
    xp_central_config__add_proxy(&cfg, "p2", secret, sizeof(secret));
    cfg.proxies[1].n_units = 1;
    xp_cidr_parse("10.0.0.0/24", &cfg.proxies[1].units[0]);
    xp_central_config__add_proxy(&cfg, "ops", ops_secret, sizeof(ops_secret));
    cfg.proxies[2].read_only = true;
    central = xp_central__create(&cfg);
    if (!central) {
        perror("xp_central__create");
        return 1;
    }
    central_port = xp_central__port(central);
    pthread_create(&srv, NULL, tcentral_run, central);

    test_confidential();
    test_tampering();
    test_authorisation();
    test_lockout();

    xp_central__stop(central);
    pthread_join(srv, NULL);
    xp_central__destroy(central);
    xp_central_config__release(&cfg);
    return xp_check_report("test_sync_security");
}
