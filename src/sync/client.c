// SPDX-License-Identifier: GPL-2.0-only
/*
 * The sync client (see sync.h for the contract and the integration).
 *
 * Blocking socket I/O with poll() deadlines, on the proxy's sync thread
 * only: a worker never waits for the network. A batch of records is sent
 * as requests of at most max_pairs pairs, stop-and-wait (one request, one
 * answer), which bounds both sides' buffers without flow-control logic; a
 * final empty request pulls the rest of the down delta when the central
 * node says "more".
 *
 * Failure handling: the batch (copied records), the position of the next
 * record to send, and the encoded request in flight survive a failure, so
 * recover() can replay the in-flight line with the same sequence number
 * (the central node answers it from its cache) and continue. Reconnects
 * back off exponentially with full jitter between backoff_min and
 * backoff_max so that many proxies do not reconnect in lockstep after a
 * central restart.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/crypto.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "src/util/clock.h"
#include "sync_internal.h"

struct xp_sync_client {
    struct xp_sync_client_config cfg;
    char host[64];
    char id[XP_SYNC_ID_MAX + 1];
    uint8_t secret[XP_SYNC_SECRET_MAX];
    int fd;
    struct xp_buf in; /* bytes received past the last line */
    struct xp_seal tx, rx; /* the session's keys once the central node proved itself */
    uint64_t instance;
    uint64_t seq;
    uint64_t epoch;   /* of the central node we last synced with */
    uint64_t cursor;  /* version up to which we hold the down delta */
    unsigned max_pairs;
    uint32_t max_line;
    /* backoff */
    unsigned failures;
    uint64_t next_attempt_ms;
    /* the current batch */
    struct xp_pair_record *batch;
    unsigned batch_n, batch_cap, batch_pos;
    struct xp_buf inflight;  /* encoded request awaiting its answer, empty if none */
    unsigned inflight_n;     /* records of the batch it carries (from batch_pos) */
    uint64_t inflight_seq;
    bool pending;
    struct xp_sync_report report;  /* sent with the first request of a batch */
    bool report_pending;
    /* stats */
    pthread_mutex_t lock;
    struct xp_sync_client_stats st;
};

struct xp_sync_client *xp_sync_client__create(const struct xp_sync_client_config *cfg)
{
    struct xp_sync_client *cl;
    uint8_t a[16];

    if (!cfg || !cfg->host || !cfg->proxy_id || !cfg->secret ||
        cfg->secret_len < XP_SYNC_SECRET_MIN || cfg->secret_len > XP_SYNC_SECRET_MAX ||
        !xp_sync_id__valid(cfg->proxy_id) || strlen(cfg->host) >= 64 ||
        xp_addr__parse(cfg->host, a) < 0 || cfg->port == 0) {
        errno = EINVAL;
        return NULL;
    }
    cl = calloc(1, sizeof(*cl));
    if (!cl) {
        errno = ENOMEM;
        return NULL;
    }
    cl->cfg = *cfg;
    snprintf(cl->host, sizeof(cl->host), "%s", cfg->host);
    snprintf(cl->id, sizeof(cl->id), "%s", cfg->proxy_id);
    memcpy(cl->secret, cfg->secret, cfg->secret_len);
    cl->cfg.host = cl->host;
    cl->cfg.proxy_id = cl->id;
    cl->cfg.secret = cl->secret;
    if (!cl->cfg.connect_timeout_ms)
        cl->cfg.connect_timeout_ms = 2000;
    if (!cl->cfg.io_timeout_ms)
        cl->cfg.io_timeout_ms = 5000;
    if (!cl->cfg.backoff_min_ms)
        cl->cfg.backoff_min_ms = 200;
    if (!cl->cfg.backoff_max_ms)
        cl->cfg.backoff_max_ms = 30000;
    cl->fd = -1;
    if (xp_sync_random(&cl->instance, sizeof(cl->instance)) < 0) {
        free(cl);
        errno = EIO;
        return NULL;
    }
    pthread_mutex_init(&cl->lock, NULL);
    return cl;
}

static void xp_client__close(struct xp_sync_client *cl)
{
    if (cl->fd >= 0)
        close(cl->fd);
    cl->fd = -1;
    cl->in.len = 0;
    xp_seal__clear(&cl->tx);
    xp_seal__clear(&cl->rx);
    pthread_mutex_lock(&cl->lock);
    cl->st.connected = false;
    pthread_mutex_unlock(&cl->lock);
}

void xp_sync_client__destroy(struct xp_sync_client *cl)
{
    if (!cl)
        return;
    xp_client__close(cl);
    xp_buf__free(&cl->in);
    xp_buf__free(&cl->inflight);
    free(cl->batch);
    free((void *)cl->report.warnings);
    pthread_mutex_destroy(&cl->lock);
    memset(cl->secret, 0, sizeof(cl->secret));
    free(cl);
}

void xp_sync_client__stats(const struct xp_sync_client *cl, struct xp_sync_client_stats *out)
{
    pthread_mutex_lock((pthread_mutex_t *)&cl->lock);
    *out = cl->st;
    pthread_mutex_unlock((pthread_mutex_t *)&cl->lock);
}

bool xp_sync_client__pending(const struct xp_sync_client *cl)
{
    return cl->pending;
}

/* ---- I/O with deadlines ---- */

static int xp_client__wait(int fd, short events, uint64_t deadline_ms)
{
    for (;;) {
        uint64_t now = xp_mono_ms();
        struct pollfd pfd = {.fd = fd, .events = events};
        int n;

        if (now >= deadline_ms)
            return -ETIMEDOUT;
        n = poll(&pfd, 1, (int)(deadline_ms - now));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n > 0)
            return 0;
    }
}

static int xp_client__write(struct xp_sync_client *cl, const char *p, size_t len)
{
    uint64_t deadline = xp_mono_ms() + cl->cfg.io_timeout_ms;

    while (len) {
        ssize_t n = send(cl->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);

        if (n < 0) {
            int ret;

            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                return -errno;
            ret = xp_client__wait(cl->fd, POLLOUT, deadline);
            if (ret)
                return ret;
            continue;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/*
 * Lines before the central node has proved itself (challenge, welcome, or
 * an error) are a few hundred bytes: a peer that sends more is not ours.
 */
#define XP_CLIENT_HANDSHAKE_LINE 4096

/* Send one plaintext line (newline included), sealed once the session has keys. */
static int xp_client__send_line(struct xp_sync_client *cl, const char *p, size_t len)
{
    struct xp_buf b;
    int ret;

    if (!cl->tx.on)
        return xp_client__write(cl, p, len);
    xp_buf__init(&b);
    ret = xp_seal__seal(&cl->tx, p, len && p[len - 1] == '\n' ? len - 1 : len, &b);
    if (!ret)
        ret = xp_client__write(cl, b.p, b.len);
    xp_buf__free(&b);
    return ret;
}

/* Read one line (without its newline) into line. */
static int xp_client__read_line(struct xp_sync_client *cl, struct xp_buf *line)
{
    uint64_t deadline = xp_mono_ms() + cl->cfg.io_timeout_ms;
    size_t limit = !cl->max_line ? XP_CLIENT_HANDSHAKE_LINE
                   : cl->rx.on   ? xp_seal__wire_len(cl->max_line)
                                 : cl->max_line;

    for (;;) {
        char *nl = cl->in.len ? memchr(cl->in.p, '\n', cl->in.len) : NULL;
        char tmp[65536];
        ssize_t n;
        int ret;

        if (nl) {
            size_t len = (size_t)(nl - cl->in.p);

            line->len = 0;
            xp_buf__append(line, cl->in.p, len);
            xp_buf__consume(&cl->in, len + 1);
            return line->oom ? -ENOMEM : 0;
        }
        if (cl->in.len > limit + 1024)
            return -EPROTO;
        n = recv(cl->fd, tmp, sizeof(tmp), MSG_DONTWAIT);
        if (n > 0) {
            xp_buf__append(&cl->in, tmp, (size_t)n);
            if (cl->in.oom)
                return -ENOMEM;
            continue;
        }
        if (n == 0)
            return -ECONNRESET;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return -errno;
        ret = xp_client__wait(cl->fd, POLLIN, deadline);
        if (ret)
            return ret;
    }
}

static void xp_client__note_error(struct xp_sync_client *cl, const struct xp_sync_msg *m)
{
    pthread_mutex_lock(&cl->lock);
    snprintf(cl->st.last_error_code, sizeof(cl->st.last_error_code), "%s",
             xp_sync_err__name(m->code));
    pthread_mutex_unlock(&cl->lock);
}

/* Read and decode one message; an error message from the server maps to an errno. */
static int xp_client__recv_msg(struct xp_sync_client *cl, struct xp_sync_msg *m)
{
    struct xp_sync_limits lim = {.max_pairs = cl->max_pairs ? cl->max_pairs : 1000000,
                                 .max_warnings = XP_SYNC_MAX_WARNINGS};
    struct xp_buf line;
    int ret;

    memset(m, 0, sizeof(*m));
    xp_buf__init(&line);
    ret = xp_client__read_line(cl, &line);
    if (!ret && cl->rx.on) {
        struct xp_buf plain;

        xp_buf__init(&plain);
        ret = xp_seal__open(&cl->rx, line.p ? line.p : "", line.len, &plain);
        if (ret == -EBADMSG) {
            /* forged, modified, replayed or out of order: this session cannot be trusted */
            pthread_mutex_lock(&cl->lock);
            cl->st.sealed_rejects++;
            pthread_mutex_unlock(&cl->lock);
        }
        xp_buf__free(&line);
        line = plain;
    }
    if (!ret && xp_sync_msg__decode(line.p ? line.p : "", line.len, &lim, m, NULL, 0))
        ret = -EPROTO;
    xp_buf__free(&line);
    if (!ret && m->op == XP_OP_ERROR) {
        xp_client__note_error(cl, m);
        ret = m->code == XP_SYNC_E_AUTH_FAILED ? -EACCES : -EPROTO;
    }
    return ret;
}

/* ---- connect and authenticate ---- */

static int xp_client__connect(struct xp_sync_client *cl)
{
    struct sockaddr_storage ss;
    struct xp_sync_msg m, hello = {.op = XP_OP_HELLO};
    uint8_t a[16], expect[XP_SYNC_MAC_LEN], kx_priv[XP_KX_LEN], s_kx[XP_KX_LEN];
    uint8_t s_nonce[XP_SYNC_NONCE_LEN], dh[XP_KX_LEN];
    struct xp_sync_hs hs;
    uint64_t deadline;
    struct xp_buf b;
    socklen_t sl;
    int ret, one = 1, soerr = 0;
    socklen_t el = sizeof(soerr);

    memset(&ss, 0, sizeof(ss));
    xp_addr__parse(cl->host, a);
    if (strchr(cl->host, ':')) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(cl->cfg.port);
        memcpy(&s6->sin6_addr, a, 16);
        sl = sizeof(*s6);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

        s4->sin_family = AF_INET;
        s4->sin_port = htons(cl->cfg.port);
        memcpy(&s4->sin_addr, a + 12, 4);
        sl = sizeof(*s4);
    }
    cl->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (cl->fd < 0)
        return -errno;
    setsockopt(cl->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    deadline = xp_mono_ms() + cl->cfg.connect_timeout_ms;
    if (connect(cl->fd, (struct sockaddr *)&ss, sl) < 0) {
        if (errno != EINPROGRESS) {
            ret = -errno;
            goto err_close;
        }
        ret = xp_client__wait(cl->fd, POLLOUT, deadline);
        if (ret)
            goto err_close;
        if (getsockopt(cl->fd, SOL_SOCKET, SO_ERROR, &soerr, &el) < 0 || soerr) {
            ret = soerr ? -soerr : -errno;
            goto err_close;
        }
    }
    cl->in.len = 0;
    cl->max_line = 0;
    ret = xp_client__recv_msg(cl, &m);
    if (ret)
        goto err_msg;
    if (m.op != XP_OP_CHALLENGE) {
        ret = -EPROTO;
        goto err_msg;
    }
    snprintf(hello.proxy_id, sizeof(hello.proxy_id), "%s", cl->id);
    hello.instance = cl->instance;
    memcpy(s_nonce, m.nonce, sizeof(s_nonce));
    memcpy(s_kx, m.kx, sizeof(s_kx));
    hs = (struct xp_sync_hs){.s_nonce = s_nonce, .c_nonce = hello.nonce, .s_kx = s_kx,
                             .c_kx = hello.kx, .id = cl->id};
    ret = xp_sync_random(hello.nonce, sizeof(hello.nonce));
    if (!ret)
        ret = xp_kx__keypair(kx_priv, hello.kx);
    if (!ret)
        ret = xp_sync_auth__client_mac(cl->secret, cl->cfg.secret_len, &hs, hello.mac);
    if (!ret)
        ret = xp_sync_auth__server_mac(cl->secret, cl->cfg.secret_len, &hs, expect);
    xp_sync_msg__release(&m);
    if (ret)
        goto err_close;
    xp_buf__init(&b);
    ret = xp_sync_msg__encode(&hello, &b);
    if (!ret)
        ret = xp_client__write(cl, b.p, b.len);
    xp_buf__free(&b);
    if (ret)
        goto err_close;
    ret = xp_client__recv_msg(cl, &m);
    if (ret)
        goto err_msg;
    if (m.op != XP_OP_WELCOME) {
        ret = -EPROTO;
        goto err_msg;
    }
    if (!xp_sync_auth__equal(expect, m.mac, sizeof(expect))) {
        /* the peer does not know our secret: it is not our central node */
        ret = -EACCES;
        goto err_msg;
    }
    /* from here on every line is sealed with the session's keys (docs/protocol.md) */
    ret = xp_kx__shared(kx_priv, s_kx, dh);
    if (!ret)
        ret = xp_seal__derive(cl->secret, cl->cfg.secret_len, dh, s_nonce, hello.nonce, cl->id,
                              &cl->tx, &cl->rx);
    OPENSSL_cleanse(kx_priv, sizeof(kx_priv));
    OPENSSL_cleanse(dh, sizeof(dh));
    if (ret)
        goto err_msg;
    cl->max_pairs = (unsigned)m.max_pairs;
    if (cl->cfg.max_pairs && cl->cfg.max_pairs < cl->max_pairs)
        cl->max_pairs = cl->cfg.max_pairs;
    cl->max_line = (uint32_t)m.max_line;
    if (m.epoch != cl->epoch) {
        /* a new central instance: ask for its whole table */
        cl->epoch = m.epoch;
        cl->cursor = 0;
    }
    xp_sync_msg__release(&m);
    pthread_mutex_lock(&cl->lock);
    cl->st.connected = true;
    cl->st.connects++;
    pthread_mutex_unlock(&cl->lock);
    return 0;
err_msg:
    xp_sync_msg__release(&m);
err_close:
    if (ret == -EACCES) {
        pthread_mutex_lock(&cl->lock);
        cl->st.auth_failures++;
        pthread_mutex_unlock(&cl->lock);
    }
    xp_client__close(cl);
    return ret;
}

static void xp_client__failed(struct xp_sync_client *cl, int err)
{
    uint64_t delay = cl->cfg.backoff_min_ms, r = 0;

    xp_client__close(cl);
    for (unsigned i = 0; i < cl->failures && delay < cl->cfg.backoff_max_ms; i++)
        delay *= 2;
    if (delay > cl->cfg.backoff_max_ms)
        delay = cl->cfg.backoff_max_ms;
    xp_sync_random(&r, sizeof(r));
    /* "equal jitter": at least half the step, so retries still slow down */
    delay = delay / 2 + r % (delay / 2 + 1);
    cl->next_attempt_ms = xp_mono_ms() + delay;
    cl->failures++;
    pthread_mutex_lock(&cl->lock);
    cl->st.syncs_failed++;
    cl->st.last_error = err;
    if (!cl->st.degraded_since_ns)
        cl->st.degraded_since_ns = xp_real_ns();
    pthread_mutex_unlock(&cl->lock);
}

static int xp_client__ensure(struct xp_sync_client *cl)
{
    int ret;

    if (cl->fd >= 0)
        return 0;
    if (xp_mono_ms() < cl->next_attempt_ms)
        return -EAGAIN;
    ret = xp_client__connect(cl);
    if (ret)
        xp_client__failed(cl, ret);
    return ret;
}

/* ---- the batch ---- */

static int xp_client__build_request(struct xp_sync_client *cl)
{
    struct xp_sync_msg m = {.op = XP_OP_SYNC};
    unsigned n = cl->batch_n - cl->batch_pos;
    int ret;

    if (n > cl->max_pairs)
        n = cl->max_pairs;
    m.seq = ++cl->seq;
    m.epoch = cl->epoch;
    m.since = cl->cursor;
    if (n) {
        m.pairs = calloc(n, sizeof(*m.pairs));
        if (!m.pairs)
            return -ENOMEM;
    }
    for (unsigned i = 0; i < n; i++) {
        m.pairs[i].key = cl->batch[cl->batch_pos + i].key;
        m.pairs[i].l = cl->batch[cl->batch_pos + i].st;
    }
    m.n_pairs = n;
    if (cl->report_pending) {
        m.has_load = true;
        m.load = cl->report.load;
        m.warnings = (struct xp_sync_warning *)cl->report.warnings;
        m.n_warnings = cl->report.n_warnings;
    }
    cl->inflight.len = 0;
    ret = xp_sync_msg__encode(&m, &cl->inflight);
    free(m.pairs);
    if (ret)
        return ret;
    cl->report_pending = false;
    cl->inflight_n = n;
    cl->inflight_seq = m.seq;
    return 0;
}

/* Send the in-flight request (again, if it is a replay) and install its answer. */
static int xp_client__roundtrip(struct xp_sync_client *cl, bool replay, bool *more,
                                xp_sync_install_fn install, void *arg)
{
    uint64_t t0 = xp_mono_ns(), seq = cl->inflight_seq;
    struct xp_sync_msg m;
    int ret;

    memset(&m, 0, sizeof(m));
    ret = xp_client__send_line(cl, cl->inflight.p, cl->inflight.len);
    if (ret)
        return ret;
    ret = xp_client__recv_msg(cl, &m);
    if (ret)
        goto out;
    if (m.op != XP_OP_SYNC_OK || m.seq != seq || m.n_pairs != cl->inflight_n) {
        ret = -EPROTO;
        goto out;
    }
    for (unsigned i = 0; i < m.n_pairs; i++) {
        const struct xp_pair_record *rec = &cl->batch[cl->batch_pos + i];

        if (memcmp(&rec->key, &m.pairs[i].key, sizeof(rec->key)) != 0) {
            ret = -EPROTO;
            goto out;
        }
    }
    for (unsigned i = 0; i < m.n_pairs; i++) {
        const struct xp_pair_record *rec = &cl->batch[cl->batch_pos + i];
        struct xp_sync_answer ans = {.key = &rec->key, .sent = &rec->st,
                                     .fresh = m.pairs[i].l, .global = m.pairs[i].g};

        ans.fresh.gen = rec->st.gen;
        install(arg, &ans);
    }
    for (unsigned i = 0; i < m.n_down; i++) {
        struct xp_sync_answer ans = {.key = &m.down[i].key, .sent = NULL,
                                     .fresh = m.down[i].l, .global = m.down[i].g};

        install(arg, &ans);
    }
    cl->batch_pos += m.n_pairs;
    cl->inflight.len = 0;
    cl->inflight_n = 0;
    if (m.epoch == cl->epoch)
        cl->cursor = m.upto;
    *more = m.more;
    pthread_mutex_lock(&cl->lock);
    cl->st.last_rtt_ns = xp_mono_ns() - t0;
    cl->st.pairs_sent += m.n_pairs;
    cl->st.answers += m.n_pairs;
    cl->st.down += m.n_down;
    cl->st.clamped += m.clamped;
    cl->st.replays += replay;
    pthread_mutex_unlock(&cl->lock);
out:
    xp_sync_msg__release(&m);
    return ret;
}

static int xp_client__run(struct xp_sync_client *cl, xp_sync_install_fn install, void *arg)
{
    bool more = true;
    int ret;

    ret = xp_client__ensure(cl);
    if (ret)
        return ret;
    while (cl->batch_pos < cl->batch_n || more || cl->inflight.len) {
        bool replay = cl->inflight.len > 0;

        if (!replay) {
            ret = xp_client__build_request(cl);
            if (ret)
                break;
        }
        ret = xp_client__roundtrip(cl, replay, &more, install, arg);
        if (ret)
            break;
    }
    if (ret) {
        xp_client__failed(cl, ret);
        cl->pending = cl->inflight.len > 0 || cl->batch_pos < cl->batch_n;
        return ret;
    }
    cl->pending = false;
    cl->batch_n = cl->batch_pos = 0;
    cl->failures = 0;
    pthread_mutex_lock(&cl->lock);
    cl->st.syncs_ok++;
    cl->st.last_sync_ns = xp_real_ns();
    cl->st.degraded_since_ns = 0;
    cl->st.last_error = 0;
    cl->st.last_error_code[0] = '\0';
    pthread_mutex_unlock(&cl->lock);
    return 0;
}

int xp_sync_client__exchange(struct xp_sync_client *cl, const struct xp_pair_record *local,
                             unsigned n, const struct xp_sync_report *report,
                             xp_sync_install_fn install, void *arg)
{
    int ret;

    if (!cl || !install || (n && !local))
        return -EINVAL;
    if (cl->pending)
        return -EBUSY;
    if (n > cl->batch_cap) {
        struct xp_pair_record *b = realloc(cl->batch, (size_t)n * sizeof(*b));

        if (!b)
            return -ENOMEM;
        cl->batch = b;
        cl->batch_cap = n;
    }
    if (n)
        memcpy(cl->batch, local, (size_t)n * sizeof(*local));
    cl->batch_n = n;
    cl->batch_pos = 0;
    cl->inflight.len = 0;
    free((void *)cl->report.warnings);
    memset(&cl->report, 0, sizeof(cl->report));
    cl->report_pending = false;
    if (report) {
        unsigned nw = report->n_warnings < XP_SYNC_MAX_WARNINGS ? report->n_warnings
                                                                : XP_SYNC_MAX_WARNINGS;

        cl->report.load = report->load;
        if (nw) {
            struct xp_sync_warning *w = malloc(nw * sizeof(*w));

            if (w) {
                memcpy(w, report->warnings, nw * sizeof(*w));
                cl->report.warnings = w;
                cl->report.n_warnings = nw;
            }
        }
        cl->report_pending = true;
    }
    /* from here on the records are ours: a failure leaves them pending */
    cl->pending = n > 0;
    ret = xp_client__run(cl, install, arg);
    return ret;
}

int xp_sync_client__recover(struct xp_sync_client *cl, xp_sync_install_fn install, void *arg)
{
    if (!cl || !install)
        return -EINVAL;
    if (!cl->pending)
        return 0;
    return xp_client__run(cl, install, arg);
}

/* One question to the central node and its answer's object (stats, why). */
static int xp_client__central_query(struct xp_sync_client *cl, const struct xp_sync_msg *req,
                                    enum xp_sync_op want, char **json)
{
    struct xp_sync_msg m;
    struct xp_buf b;
    int ret;

    *json = NULL;
    memset(&m, 0, sizeof(m));
    if (cl->inflight.len)
        return -EBUSY;
    ret = xp_client__ensure(cl);
    if (ret)
        return ret;
    xp_buf__init(&b);
    ret = xp_sync_msg__encode(req, &b);
    if (!ret)
        ret = xp_client__send_line(cl, b.p, b.len);
    xp_buf__free(&b);
    if (!ret)
        ret = xp_client__recv_msg(cl, &m);
    if (!ret && m.op != want)
        ret = -EPROTO;
    if (!ret) {
        *json = m.stats_json;
        m.stats_json = NULL;
    }
    xp_sync_msg__release(&m);
    if (ret)
        xp_client__failed(cl, ret);
    return ret;
}

int xp_sync_client__central_stats(struct xp_sync_client *cl, char **json)
{
    struct xp_sync_msg req = {.op = XP_OP_STATS};

    return xp_client__central_query(cl, &req, XP_OP_STATS_OK, json);
}

int xp_sync_client__central_why(struct xp_sync_client *cl, const struct xp_policer_key *key,
                                char **json)
{
    struct xp_sync_msg req = {.op = XP_OP_WHY, .why_key = *key};

    return xp_client__central_query(cl, &req, XP_OP_WHY_OK, json);
}
