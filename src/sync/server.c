// SPDX-License-Identifier: GPL-2.0-only
/*
 * xpro-central's server: one thread, one epoll loop, non-blocking sockets.
 *
 * Why one thread: Algorithm 2 is a read-modify-write of M_DB rows; running
 * every merge on the loop thread makes each one atomic without a lock, and
 * a merge costs well under a microsecond, so the loop is bounded by JSON
 * parsing, not by contention.
 *
 * Hostile peers. Nothing but "hello" is accepted before authentication;
 * every protocol error gets one error line and the connection is closed
 * (after a short linger that drains the peer's input, so that the error is
 * not destroyed by a reset). Input is bounded (max_line per line, read
 * budget per wake-up so one fast sender cannot starve the others), output
 * is bounded (a peer that does not read is cut off), and every state has a
 * deadline: auth, a started line (slowloris), idle, a stalled write, the
 * closing linger. Deadlines are checked on a 50 ms tick, which is far below
 * any configured timeout.
 *
 * Exactly-once: each proxy's last sync_ok line is cached with its sequence
 * number; the same sequence number again (the client lost the answer) is
 * answered from the cache instead of being merged twice.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "src/util/clock.h"
#include "src/util/log.h"
#include "src/util/statedir.h"
#include "sync_internal.h"

#define XP_TICK_MS 50
/*
 * Before authentication a peer may send one line, hello, a few hundred
 * bytes: more is refused at once (line_too_long), so unauthenticated peers
 * cannot make us buffer max_line each.
 */
#define XP_PREAUTH_LINE 4096
#define XP_READ_CHUNK 65536
#define XP_READ_BUDGET (4 * XP_READ_CHUNK)
#define XP_LINGER_MS 500
#define XP_LAST_WARNINGS 8
/*
 * Row expiry: one sweep step of at most XP_EXPIRE_VISIT rows every
 * XP_EXPIRE_PERIOD_MS, so that no wake-up walks the whole table (4M rows by
 * default). A step costs about 0.4 ms when every row is alive and 5 ms when
 * every row is dead (a removal moves a row and fixes its hash link and log
 * entry). Every row is looked at once per pass of ceil(n / XP_EXPIRE_VISIT)
 * steps, so a dead row is removed at most (ceil(n / 32768) + 1) x 100 ms
 * (+ one 50 ms tick) after it died: 12.9 s at 4M rows, 0.5 s at 100k.
 */
#define XP_EXPIRE_PERIOD_MS 100
#define XP_EXPIRE_VISIT 32768

enum xp_conn_state {
    XP_CS_AUTH = 0,
    XP_CS_READY = 1,
    XP_CS_CLOSING = 2,
};

struct xp_cproxy;

struct xp_cconn {
    int fd;
    enum xp_conn_state state;
    struct xp_buf in;
    struct xp_buf out;
    uint8_t nonce[XP_SYNC_NONCE_LEN];
    uint8_t kx_priv[XP_KX_LEN], kx_pub[XP_KX_LEN]; /* our ephemeral share for this session */
    struct xp_seal tx, rx;     /* on once the peer is authenticated */
    uint8_t src[16];           /* the peer's address, IPv4 mapped (per-source budget) */
    struct xp_cproxy *proxy;
    uint64_t t_accept;
    uint64_t t_last_msg;
    uint64_t t_line_start; /* 0: no partial line */
    uint64_t t_out_progress;
    uint64_t t_linger_end;
    /*
     * Reached XP_CS_READY once. Only these count against max_conns; one
     * that never did stays in the pre-auth budget while it lingers in
     * XP_CS_CLOSING, so failed handshakes cannot lock proxies out.
     */
    bool authed;
    bool wr_shut;
    bool want_out;
    bool dead;
    char peer[64];
    struct xp_cconn *next, *prev;
};

struct xp_cproxy {
    struct xp_central_proxy_conf conf;
    struct xp_cconn *conn;
    uint64_t instance;
    uint32_t token;
    uint64_t last_seq;
    struct xp_buf cached;
    uint64_t connects, auth_failures, syncs, replays, pairs_in, answers_out, down_out;
    uint64_t clamped, warnings, table_full, errors, forbidden, sealed_rejects;
    uint64_t last_sync_ns, connected_since_ns, disconnected_since_ns;
    bool has_load;
    struct xp_sync_load load;
    uint64_t load_ns;
    struct xp_sync_warning last_warn[XP_LAST_WARNINGS];
    unsigned n_last_warn, warn_pos;
};

struct xp_central {
    struct xp_central_config cfg;
    struct xp_cproxy *proxies;
    struct xp_ctable *table;
    int ep, lfd, wake_fd, stop_fd;
    uint16_t port;
    atomic_bool stop;
    struct xp_cconn *conns;
    unsigned n_conns;
    unsigned n_preauth; /* live connections never authenticated (AUTH, or CLOSING with !authed) */
    unsigned n_dead;
    /* stands in for the secret of an unknown id, so it costs the same HMAC work */
    uint8_t dummy_secret[32];
    uint64_t epoch;
    uint32_t next_token;
    struct xp_sync_wire_pair *scratch; /* max_pairs answers + down */
    bool *scratch_skip;                /* max_pairs: forbidden pairs (external store) */
    uint64_t store_errors, store_replays;
    uint64_t saved_ver;
    uint64_t saved_expired; /* xp_ctable__expired() at the last persist */
    uint64_t t_next_persist, t_next_stats, t_next_expire;
    FILE *stats_out;
    /* the embedding program's hooks on the loop thread (xpro-central: signals, watchdog) */
    int user_fd;
    void (*user_fn)(struct xp_central *c, void *arg);
    void *user_arg;
    void (*tick_fn)(struct xp_central *c, void *arg);
    void *tick_arg;
    uint64_t reloads;
    /* counters */
    uint64_t accepted, refused_busy, auth_failures, clamped, table_full, replays;
    uint64_t preauth_evicted, forbidden, sealed_rejects;
    uint64_t merges[4], shrinks, persist_ok, persist_fail, last_persist_ns, last_persist_us;
    uint64_t errors[XP_SYNC_E__COUNT];
};

/* epoll data.ptr tags for the non-connection fds */
static char xp_tag_listen, xp_tag_wake, xp_tag_stop, xp_tag_user;

/* ---- connections ---- */

static void xp_conn__update_events(struct xp_central *c, struct xp_cconn *cn)
{
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = cn};
    bool want = cn->out.len > 0;

    if (want == cn->want_out)
        return;
    if (want)
        ev.events |= EPOLLOUT;
    cn->want_out = want;
    epoll_ctl(c->ep, EPOLL_CTL_MOD, cn->fd, &ev);
}

/*
 * Dropping a connection is deferred: it is closed at once but freed only
 * between epoll batches (xp_central__reap), because a later event of the
 * same batch, or the caller up the stack, may still hold the pointer.
 */
static void xp_conn__kill(struct xp_central *c, struct xp_cconn *cn)
{
    if (cn->dead)
        return;
    cn->dead = true;
    if (!cn->authed)
        c->n_preauth--;
    xp_seal__clear(&cn->tx);
    xp_seal__clear(&cn->rx);
    if (cn->proxy && cn->proxy->conn == cn) {
        cn->proxy->conn = NULL;
        cn->proxy->disconnected_since_ns = xp_real_ns();
    }
    epoll_ctl(c->ep, EPOLL_CTL_DEL, cn->fd, NULL);
    close(cn->fd);
    cn->fd = -1;
    c->n_conns--;
    c->n_dead++;
}

static void xp_central__reap(struct xp_central *c)
{
    struct xp_cconn *cn = c->conns, *next;

    for (; c->n_dead && cn; cn = next) {
        next = cn->next;
        if (!cn->dead)
            continue;
        if (cn->prev)
            cn->prev->next = cn->next;
        else
            c->conns = cn->next;
        if (cn->next)
            cn->next->prev = cn->prev;
        xp_buf__free(&cn->in);
        xp_buf__free(&cn->out);
        free(cn);
        c->n_dead--;
    }
}

/* Returns false if the connection had to be dropped. */
static bool xp_conn__flush(struct xp_central *c, struct xp_cconn *cn)
{
    size_t done = 0;

    while (done < cn->out.len) {
        ssize_t n = send(cn->fd, cn->out.p + done, cn->out.len - done, MSG_NOSIGNAL);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            xp_conn__kill(c, cn);
            return false;
        }
        done += (size_t)n;
    }
    if (done) {
        xp_buf__consume(&cn->out, done);
        cn->t_out_progress = xp_mono_ms();
    }
    if (cn->state == XP_CS_CLOSING && cn->out.len == 0 && !cn->wr_shut) {
        shutdown(cn->fd, SHUT_WR);
        cn->wr_shut = true;
    }
    xp_conn__update_events(c, cn);
    return true;
}

static bool xp_conn__send(struct xp_central *c, struct xp_cconn *cn, const char *data, size_t len)
{
    /*
     * A peer that does not read its answers would make us buffer without
     * bound: beyond two maximum lines it is cut off.
     */
    if (cn->out.len == 0)
        cn->t_out_progress = xp_mono_ms();
    if (cn->out.len + len > 2 * (size_t)c->cfg.max_line + 65536) {
        pr_warn("%s: not reading its answers, disconnected", cn->peer);
        xp_conn__kill(c, cn);
        return false;
    }
    xp_buf__append(&cn->out, data, len);
    if (cn->out.oom) {
        xp_conn__kill(c, cn);
        return false;
    }
    return xp_conn__flush(c, cn);
}

/* Send one plaintext line (newline included), sealed once the session has keys. */
static bool xp_conn__send_line(struct xp_central *c, struct xp_cconn *cn, const char *line,
                               size_t len)
{
    struct xp_buf b;
    bool ok;

    if (!cn->tx.on)
        return xp_conn__send(c, cn, line, len);
    xp_buf__init(&b);
    if (xp_seal__seal(&cn->tx, line, len && line[len - 1] == '\n' ? len - 1 : len, &b) < 0) {
        xp_buf__free(&b);
        xp_conn__kill(c, cn);
        return false;
    }
    ok = xp_conn__send(c, cn, b.p, b.len);
    xp_buf__free(&b);
    return ok;
}

static bool xp_conn__send_msg(struct xp_central *c, struct xp_cconn *cn,
                              const struct xp_sync_msg *m)
{
    struct xp_buf b;
    bool ok;

    xp_buf__init(&b);
    if (xp_sync_msg__encode(m, &b) < 0) {
        xp_buf__free(&b);
        xp_conn__kill(c, cn);
        return false;
    }
    ok = xp_conn__send_line(c, cn, b.p, b.len);
    xp_buf__free(&b);
    return ok;
}

/* Send one error line, then close after it is flushed and the linger ends. */
static void xp_conn__fail(struct xp_central *c, struct xp_cconn *cn, enum xp_sync_err code,
                          uint64_t seq, const char *message)
{
    struct xp_sync_msg m = {.op = XP_OP_ERROR, .code = code, .seq = seq};

    c->errors[code < XP_SYNC_E__COUNT ? code : XP_SYNC_E_INTERNAL]++;
    if (cn->proxy)
        cn->proxy->errors++;
    pr_info("%s%s%s: %s: %s", cn->peer, cn->proxy ? " " : "",
            cn->proxy ? cn->proxy->conf.id : "", xp_sync_err__name(code), message);
    snprintf(m.message, sizeof(m.message), "%s", message);
    /* a connection never authenticated stays in n_preauth while it lingers */
    cn->state = XP_CS_CLOSING;
    cn->t_linger_end = xp_mono_ms() + XP_LINGER_MS;
    if (cn->proxy && cn->proxy->conn == cn) {
        cn->proxy->conn = NULL;
        cn->proxy->disconnected_since_ns = xp_real_ns();
    }
    xp_buf__free(&cn->in);
    xp_conn__send_msg(c, cn, &m);
}

/*
 * Room for one more unauthenticated connection from src: a source that
 * holds its share of pre-auth slots loses its own oldest, and when all the
 * slots are taken the oldest of all goes. So idle or slow connections,
 * however many, never keep a real proxy from completing its handshake,
 * which takes one round trip; and one source cannot take every slot.
 * Connections that failed before authenticating and linger for their error
 * line hold pre-auth slots too (else a source failing fast on purpose would
 * fill max_conns), and go first: they have had their answer, the others
 * may be proxies in the middle of their handshake.
 */
static void xp_central__preauth_room(struct xp_central *c, const uint8_t src[16])
{
    /* [0]: failed and lingering, [1]: still in its handshake */
    struct xp_cconn *oldest[2] = {NULL, NULL}, *oldest_src[2] = {NULL, NULL}, *victim;
    unsigned from_src = 0;

    for (struct xp_cconn *cn = c->conns; cn; cn = cn->next) {
        unsigned k = cn->state == XP_CS_AUTH;

        if (cn->dead || cn->authed)
            continue;
        /* the list is newest first: the last one seen is the oldest */
        oldest[k] = cn;
        if (memcmp(cn->src, src, 16) == 0) {
            from_src++;
            oldest_src[k] = cn;
        }
    }
    if (from_src && from_src >= c->cfg.max_preauth_per_source)
        victim = oldest_src[0] ? oldest_src[0] : oldest_src[1];
    else if (c->n_preauth < c->cfg.max_preauth)
        return;
    else
        victim = oldest[0] ? oldest[0] : oldest[1];
    if (victim) {
        c->preauth_evicted++;
        pr_debug("%s: not authenticated, dropped for a newer connection", victim->peer);
        xp_conn__kill(c, victim);
    }
}

static void xp_central__accept(struct xp_central *c)
{
    for (;;) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        struct epoll_event ev;
        struct xp_cconn *cn;
        char host[INET6_ADDRSTRLEN] = "?";
        int fd, one = 1;

        fd = accept4(c->lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                pr_warn("accept: %s", strerror(errno));
            return;
        }
        /*
         * Authenticated sessions are one per id; pre-auth ones, including
         * those that failed and linger, have their own budget.
         */
        if (c->n_conns - c->n_preauth >= c->cfg.max_conns) {
            static const char busy[] =
                "{\"v\":2,\"op\":\"error\",\"code\":\"busy\",\"message\":\"too many connections\"}\n";

            c->refused_busy++;
            c->errors[XP_SYNC_E_BUSY]++;
            if (send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
                pr_debug("busy reply: %s", strerror(errno));
            close(fd);
            continue;
        }
        cn = calloc(1, sizeof(*cn));
        if (!cn) {
            close(fd);
            continue;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        cn->fd = fd;
        cn->state = XP_CS_AUTH;
        cn->t_accept = cn->t_last_msg = xp_mono_ms();
        if (ss.ss_family == AF_INET) {
            inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, host, sizeof(host));
            xp_addr__from_v4(&((struct sockaddr_in *)&ss)->sin_addr, cn->src);
        } else if (ss.ss_family == AF_INET6) {
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, host, sizeof(host));
            memcpy(cn->src, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
        }
        snprintf(cn->peer, sizeof(cn->peer), "%s:%u", host,
                 ss.ss_family == AF_INET ? ntohs(((struct sockaddr_in *)&ss)->sin_port)
                                         : ntohs(((struct sockaddr_in6 *)&ss)->sin6_port));
        ev.events = EPOLLIN | EPOLLRDHUP;
        ev.data.ptr = cn;
        if (xp_sync_random(cn->nonce, sizeof(cn->nonce)) < 0 ||
            xp_kx__keypair(cn->kx_priv, cn->kx_pub) < 0) {
            close(fd);
            free(cn);
            continue;
        }
        xp_central__preauth_room(c, cn->src);
        if (epoll_ctl(c->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
            close(fd);
            free(cn);
            continue;
        }
        cn->next = c->conns;
        if (c->conns)
            c->conns->prev = cn;
        c->conns = cn;
        c->n_conns++;
        c->n_preauth++;
        c->accepted++;
        {
            struct xp_sync_msg m = {.op = XP_OP_CHALLENGE};

            memcpy(m.nonce, cn->nonce, sizeof(m.nonce));
            memcpy(m.kx, cn->kx_pub, sizeof(m.kx));
            xp_conn__send_msg(c, cn, &m);
        }
    }
}

/* ---- messages ---- */

static void xp_central__hello(struct xp_central *c, struct xp_cconn *cn,
                              const struct xp_sync_msg *m)
{
    struct xp_sync_msg w = {.op = XP_OP_WELCOME};
    struct xp_sync_hs hs = {.s_nonce = cn->nonce, .c_nonce = m->nonce, .s_kx = cn->kx_pub,
                            .c_kx = m->kx, .id = m->proxy_id};
    uint8_t expect[XP_SYNC_MAC_LEN], dh[XP_KX_LEN];
    struct xp_cproxy *p = NULL;
    bool ok;
    int ret;

    for (unsigned i = 0; i < c->cfg.n_proxies; i++)
        if (strcmp(c->proxies[i].conf.id, m->proxy_id) == 0)
            p = &c->proxies[i];
    /*
     * The same work and the same answer for an unknown id and a wrong
     * proof (the HMAC over a stand-in secret): ids cannot be probed, not
     * even by timing.
     */
    ok = xp_sync_auth__client_mac(p ? p->conf.secret : c->dummy_secret,
                                  p ? p->conf.secret_len : sizeof(c->dummy_secret), &hs,
                                  expect) == 0 &&
         xp_sync_auth__equal(expect, m->mac, sizeof(expect)) && p;
    if (!ok) {
        c->auth_failures++;
        if (p)
            p->auth_failures++;
        xp_conn__fail(c, cn, XP_SYNC_E_AUTH_FAILED, 0, "authentication failed");
        return;
    }
    /* the session's keys: both key shares are under both proofs, so they are the peers' own */
    ret = xp_sync_auth__server_mac(p->conf.secret, p->conf.secret_len, &hs, w.mac);
    if (!ret)
        ret = xp_kx__shared(cn->kx_priv, m->kx, dh);
    if (!ret)
        ret = xp_seal__derive(p->conf.secret, p->conf.secret_len, dh, cn->nonce, m->nonce,
                              m->proxy_id, &cn->rx, &cn->tx);
    OPENSSL_cleanse(dh, sizeof(dh));
    OPENSSL_cleanse(cn->kx_priv, sizeof(cn->kx_priv));
    if (ret) {
        xp_seal__clear(&cn->rx);
        xp_seal__clear(&cn->tx);
        xp_conn__fail(c, cn, ret == -EIO ? XP_SYNC_E_AUTH_FAILED : XP_SYNC_E_INTERNAL, 0,
                      "key exchange failed");
        return;
    }
    /* welcome goes out in clear; every line after it is sealed */
    cn->tx.on = cn->rx.on = false;
    if (p->conn && p->conn != cn)
        xp_conn__fail(c, p->conn, XP_SYNC_E_SHUTDOWN, 0,
                      "replaced by a newer connection of the same proxy");
    if (p->instance != m->instance || !p->token) {
        /*
         * A restarted proxy: its old sequence numbers and writes mean
         * nothing to it now. A proxy instance the table already knows (we
         * restarted, it did not) keeps its token, so the rows it wrote are
         * still its own.
         */
        uint32_t known = xp_ctable__writer_token(c->table, m->proxy_id, m->instance);

        p->instance = m->instance;
        p->last_seq = 0;
        xp_buf__free(&p->cached);
        if (c->next_token < xp_ctable__max_token(c->table))
            c->next_token = xp_ctable__max_token(c->table);
        p->token = known ? known : ++c->next_token;
        if (xp_ctable__set_writer(c->table, m->proxy_id, m->instance, p->token) < 0)
            pr_warn("central: proxy %s: its rows will not be known as its own after a restart",
                    m->proxy_id);
    }
    cn->proxy = p;
    cn->state = XP_CS_READY;
    cn->authed = true;
    c->n_preauth--;
    p->conn = cn;
    p->connects++;
    p->connected_since_ns = xp_real_ns();
    w.epoch = c->epoch;
    w.max_pairs = c->cfg.max_pairs;
    w.max_line = c->cfg.max_line;
    pr_info("%s: %s %s authenticated", cn->peer, p->conf.read_only ? "operator" : "proxy",
            p->conf.id);
    if (xp_conn__send_msg(c, cn, &w))
        cn->tx.on = cn->rx.on = true;
}

/* Whether p may write key's row: an operator never; a proxy for its configured units only. */
static bool xp_central__may_write(const struct xp_central_proxy_conf *p,
                                  const struct xp_policer_key *key)
{
    if (p->read_only)
        return false;
    if (!p->n_units)
        return true;
    for (unsigned i = 0; i < p->n_units; i++)
        if (xp_cidr_match(&p->units[i], key->unit))
            return true;
    return false;
}

/*
 * The sync request through an external store (cfg.store): the store merges
 * and reads the change feed, and keeps the exactly-once record itself, since
 * a retry may reach another front-end. Forbidden pairs are answered here as
 * with the embedded table. 0, or -errno: nothing is answered (the proxy
 * retries, here or at another front-end, with the same sequence number).
 */
static int xp_central__sync_store(struct xp_central *c, struct xp_cproxy *p,
                                  struct xp_sync_msg *m, uint64_t now, struct xp_sync_msg *a)
{
    struct xp_store_writer w = {.id = p->conf.id, .instance = p->instance};
    struct xp_store_sync q = {.w = &w, .seq = m->seq, .now = now, .merge = &c->cfg.merge,
                              .row_ttl_ns = c->cfg.row_ttl_ns, .pairs = c->scratch,
                              .skip = c->scratch_skip, .n = m->n_pairs};
    int ret;

    q.reset = m->epoch != c->epoch || m->since == 0;
    for (unsigned i = 0; i < m->n_pairs; i++) {
        struct xp_sync_wire_pair *in = &m->pairs[i], *out = &c->scratch[i];

        out->key = in->key;
        out->l = in->l;
        c->scratch_skip[i] = !xp_central__may_write(&p->conf, &in->key);
        if (c->scratch_skip[i]) {
            c->forbidden++;
            p->forbidden++;
            out->l.dc = 0;
            out->l.mark = false;
            out->g.ts1 = in->l.ts1;
            out->g.ts2 = in->l.ts2;
            out->g.c = in->l.c;
        }
    }
    q.down = c->scratch + m->n_pairs;
    q.room = c->cfg.max_pairs - m->n_pairs;
    ret = c->cfg.store->ops->sync(c->cfg.store, &q);
    if (ret < 0) {
        c->store_errors++;
        pr_warn("proxy %s: sync %" PRIu64 ": store: %s", p->conf.id, m->seq, strerror(-ret));
        return ret;
    }
    for (unsigned k = 0; k < 4; k++)
        c->merges[k] += q.merges[k];
    c->shrinks += q.shrinks;
    c->clamped += q.clamped;
    p->clamped += q.clamped;
    c->store_replays += q.replayed;
    a->clamped = q.clamped;
    a->pairs = c->scratch;
    a->n_pairs = m->n_pairs;
    a->down = q.down;
    a->n_down = q.n_down;
    a->more = q.more;
    a->upto = q.upto;
    return 0;
}

static void xp_central__sync(struct xp_central *c, struct xp_cconn *cn, struct xp_sync_msg *m)
{
    struct xp_cproxy *p = cn->proxy;
    struct xp_sync_msg a = {.op = XP_OP_SYNC_OK, .seq = m->seq, .epoch = c->epoch};
    uint64_t now = xp_real_ns(), since;
    unsigned room;

    if (m->seq == p->last_seq && p->cached.len) {
        p->replays++;
        c->replays++;
        xp_conn__send_line(c, cn, p->cached.p, p->cached.len);
        return;
    }
    if (m->seq <= p->last_seq) {
        xp_conn__fail(c, cn, XP_SYNC_E_SEQ_STALE, m->seq, "sequence number already used");
        return;
    }
    if (c->cfg.store) {
        if (xp_central__sync_store(c, p, m, now, &a) < 0) {
            xp_conn__fail(c, cn, XP_SYNC_E_BUSY, m->seq, "store unavailable, retry");
            return;
        }
        goto answer;
    }
    for (unsigned i = 0; i < m->n_pairs; i++) {
        struct xp_sync_wire_pair *in = &m->pairs[i], *out = &c->scratch[i];
        struct xp_merge_result res;
        enum xp_row_state state;
        struct xp_sync_global *row;
        bool created;

        out->key = in->key;
        out->l = in->l;
        if (!xp_central__may_write(&p->conf, &in->key)) {
            /*
             * Not one of this proxy's units: M_DB is left alone, and the
             * answer gives the proxy its own window back (dc' = 0: nothing of
             * it is lost locally), so it only loses the sharing.
             */
            c->forbidden++;
            p->forbidden++;
            out->l.dc = 0;
            out->l.mark = false;
            out->g.ts1 = in->l.ts1;
            out->g.ts2 = in->l.ts2;
            out->g.c = in->l.c;
            continue;
        }
        row = xp_ctable__get(c->table, &in->key, &created);
        if (!row) {
            /*
             * M_DB is full: nothing merged; the local values go back
             * unchanged (dc' kept), so no packet is lost, only not shared.
             */
            c->table_full++;
            p->table_full++;
            out->g.ts1 = in->l.ts1;
            out->g.ts2 = in->l.ts2;
            out->g.c = in->l.c;
            continue;
        }
        if (created)
            state = XP_ROW_ABSENT;
        else if (xp_ctable__writer(c->table, &in->key) == p->token)
            state = XP_ROW_OWN;
        else
            state = XP_ROW_SHARED;
        xp_sync_merge(&c->cfg.merge, now, row, state, &out->l, &res);
        xp_ctable__touch(c->table, &in->key, p->token);
        out->g = *row;
        c->merges[res.kind]++;
        c->shrinks += res.shrunk;
        c->clamped += res.clamped;
        p->clamped += res.clamped;
        a.clamped += res.clamped;
    }
    a.pairs = c->scratch;
    a.n_pairs = m->n_pairs;
    since = m->epoch == c->epoch ? m->since : 0;
    room = c->cfg.max_pairs - m->n_pairs;
    a.down = c->scratch + m->n_pairs;
    a.n_down = xp_ctable__scan(c->table, since, p->token, a.down, room, &a.upto, &a.more);
answer:
    xp_buf__free(&p->cached);
    if (xp_sync_msg__encode(&a, &p->cached) < 0) {
        xp_conn__fail(c, cn, XP_SYNC_E_INTERNAL, m->seq, "out of memory");
        return;
    }
    p->last_seq = m->seq;
    p->syncs++;
    p->pairs_in += m->n_pairs;
    p->answers_out += a.n_pairs;
    p->down_out += a.n_down;
    p->last_sync_ns = now;
    /* the cached answer is the plaintext line: a replay is sealed anew, with the next counter */
    if (m->has_load) {
        p->has_load = true;
        p->load = m->load;
        p->load_ns = now;
    }
    for (unsigned i = 0; i < m->n_warnings; i++) {
        char u[64], d[64];

        p->warnings++;
        p->last_warn[p->warn_pos] = m->warnings[i];
        p->warn_pos = (p->warn_pos + 1) % XP_LAST_WARNINGS;
        if (p->n_last_warn < XP_LAST_WARNINGS)
            p->n_last_warn++;
        xp_addr__format(m->warnings[i].key.unit, u, sizeof(u));
        xp_addr__format(m->warnings[i].key.dst, d, sizeof(d));
        pr_info("proxy %s: overload warning %s -> %s at %" PRIu64 " pps (> %" PRIu64 ")",
                p->conf.id, u, d, m->warnings[i].rate_pps, m->warnings[i].threshold_pps);
    }
    xp_conn__send_line(c, cn, p->cached.p, p->cached.len);
}

/*
 * Send m with b's JSON document as its body (stats_json), or fail the
 * connection if b ran out of memory. Frees b.
 */
static void xp_conn__send_json(struct xp_central *c, struct xp_cconn *cn, struct xp_sync_msg *m,
                               struct xp_buf *b)
{
    if (b->oom) {
        xp_buf__free(b);
        xp_conn__fail(c, cn, XP_SYNC_E_INTERNAL, 0, "out of memory");
        return;
    }
    m->stats_json = b->p;
    xp_conn__send_msg(c, cn, m);
    xp_buf__free(b);
}

static void xp_central__stats_reply(struct xp_central *c, struct xp_cconn *cn)
{
    struct xp_sync_msg m = {.op = XP_OP_STATS_OK};
    struct xp_buf b;

    xp_buf__init(&b);
    xp_central__stats_json(c, &b);
    xp_conn__send_json(c, cn, &m, &b);
}

/* ---- why: the rows towards a destination, by the proxy that wrote each last ---- */

#define XP_WHY_PROXIES 256

struct xp_why_proxy {
    uint32_t token;
    uint64_t pairs, c, ts1, ts2;
};

struct xp_why_scan {
    const struct xp_ctable *t;
    const uint8_t *dst;
    uint64_t now, t_t1;
    uint64_t idle;                 /* rows towards dst idle for longer than T_T1 */
    unsigned n;
    bool overflow;                 /* more writers than XP_WHY_PROXIES: the rest summed in [0] */
    struct xp_why_proxy p[XP_WHY_PROXIES];
};

static void xp_why__row(void *arg, const struct xp_policer_key *key, const struct xp_sync_global *g)
{
    struct xp_why_scan *w = arg;
    uint32_t tok;
    unsigned i;

    if (memcmp(key->dst, w->dst, 16) != 0)
        return;
    /* the proxies' aggregates hold active pairs only (docs/policer.md): so does this view */
    if (w->now > g->ts2 && w->now - g->ts2 > w->t_t1) {
        w->idle++;
        return;
    }
    tok = xp_ctable__writer(w->t, key);
    for (i = 0; i < w->n && w->p[i].token != tok; i++)
        ;
    if (i == w->n) {
        if (w->n == XP_WHY_PROXIES) {
            w->overflow = true;
            i = 0;
        } else {
            w->p[w->n++] = (struct xp_why_proxy){.token = tok, .ts1 = UINT64_MAX};
        }
    }
    w->p[i].pairs++;
    w->p[i].c += g->c;
    if (g->ts1 < w->p[i].ts1)
        w->p[i].ts1 = g->ts1;
    if (g->ts2 > w->p[i].ts2)
        w->p[i].ts2 = g->ts2;
}

static void xp_why__name(struct xp_buf *b, const struct xp_ctable *t, uint32_t tok)
{
    const char *id = xp_ctable__writer_id(t, tok);

    if (id)
        xp_buf__json_str(b, id);
    else
        xp_buf__printf(b, "null");
}

/*
 * An operator's question (xpro-ctl --central ... why): the row of the pair
 * and, per proxy, the active rows towards its destination. M_DB keeps one
 * merged row per pair and the proxy that wrote it last, not each proxy's
 * share: a unit that sends through one proxy is that proxy's. One pass
 * over the table, on the loop thread: operators' use, not the proxies'.
 */
static void xp_central__why_reply(struct xp_central *c, struct xp_cconn *cn,
                                  const struct xp_sync_msg *req)
{
    struct xp_sync_msg m = {.op = XP_OP_WHY_OK};
    struct xp_why_scan *w = calloc(1, sizeof(*w));
    const struct xp_sync_global *row;
    uint64_t c_sum = 0, pairs = 0, ts1 = UINT64_MAX, ts2 = 0;
    char u[64], d[64];
    struct xp_buf b;

    if (!w) {
        xp_conn__fail(c, cn, XP_SYNC_E_INTERNAL, 0, "out of memory");
        return;
    }
    w->t = c->table;
    w->dst = req->why_key.dst;
    w->now = xp_real_ns();
    w->t_t1 = c->cfg.merge.t_t1_ns;
    xp_ctable__foreach(c->table, xp_why__row, w);
    xp_addr__format(req->why_key.unit, u, sizeof(u));
    xp_addr__format(req->why_key.dst, d, sizeof(d));
    xp_buf__init(&b);
    xp_buf__printf(&b, "{\"t\":%" PRIu64 ",\"unit\":\"%s\",\"dst\":\"%s\",\"t_t1_ms\":%" PRIu64,
                   w->now, u, d, w->t_t1 / 1000000);
    row = xp_ctable__find(c->table, &req->why_key);
    if (row) {
        xp_buf__printf(&b, ",\"pair\":{\"ts1\":%" PRIu64 ",\"ts2\":%" PRIu64 ",\"c\":%" PRIu64
                       ",\"active\":%s,\"proxy\":", row->ts1, row->ts2, row->c,
                       w->now > row->ts2 && w->now - row->ts2 > w->t_t1 ? "false" : "true");
        xp_why__name(&b, c->table, xp_ctable__writer(c->table, &req->why_key));
        xp_buf__printf(&b, "}");
    } else {
        xp_buf__printf(&b, ",\"pair\":null");
    }
    xp_buf__printf(&b, ",\"proxies\":[");
    for (unsigned i = 0; i < w->n; i++) {
        const struct xp_why_proxy *p = &w->p[i];

        xp_buf__printf(&b, "%s{\"proxy\":", i ? "," : "");
        xp_why__name(&b, c->table, p->token);
        xp_buf__printf(&b, ",\"pairs\":%" PRIu64 ",\"c\":%" PRIu64 ",\"ts1\":%" PRIu64
                       ",\"ts2\":%" PRIu64 "}", p->pairs, p->c, p->ts1, p->ts2);
        pairs += p->pairs;
        c_sum += p->c;
        ts1 = p->ts1 < ts1 ? p->ts1 : ts1;
        ts2 = p->ts2 > ts2 ? p->ts2 : ts2;
    }
    xp_buf__printf(&b, "],\"dst_rows\":{\"pairs\":%" PRIu64 ",\"c\":%" PRIu64, pairs, c_sum);
    if (pairs)
        xp_buf__printf(&b, ",\"ts1\":%" PRIu64 ",\"ts2\":%" PRIu64, ts1, ts2);
    xp_buf__printf(&b, ",\"idle_pairs\":%" PRIu64 ",\"more_proxies\":%s}}", w->idle,
                   w->overflow ? "true" : "false");
    free(w);
    xp_conn__send_json(c, cn, &m, &b);
}

/* Returns false if the connection is gone or closing (stop reading lines). */
static bool xp_central__line(struct xp_central *c, struct xp_cconn *cn, const char *line,
                             size_t len)
{
    struct xp_sync_limits lim = {.max_pairs = c->cfg.max_pairs,
                                 .max_warnings = c->cfg.max_warnings};
    struct xp_sync_msg m;
    struct xp_buf plain;
    enum xp_sync_err e;
    char why[200];

    cn->t_last_msg = xp_mono_ms();
    xp_buf__init(&plain);
    if (cn->rx.on) {
        int ret = xp_seal__open(&cn->rx, line, len, &plain);

        if (ret) {
            /*
             * Forged, modified, replayed, reordered or dropped: whoever sent
             * it, the session can no longer be trusted. No answer (it would
             * be sealed for a peer we cannot trust either): closed, counted.
             */
            c->sealed_rejects++;
            if (cn->proxy)
                cn->proxy->sealed_rejects++;
            pr_warn("%s %s: a line failed its seal (%s): session closed", cn->peer,
                    cn->proxy ? cn->proxy->conf.id : "", strerror(-ret));
            xp_buf__free(&plain);
            xp_conn__kill(c, cn);
            return false;
        }
        line = plain.p ? plain.p : "";
        len = plain.len;
    }
    e = xp_sync_msg__decode(line, len, &lim, &m, why, sizeof(why));
    if (e) {
        xp_conn__fail(c, cn, cn->state == XP_CS_AUTH && e != XP_SYNC_E_BAD_JSON &&
                                     e != XP_SYNC_E_BAD_VERSION && m.op != XP_OP_HELLO
                                 ? XP_SYNC_E_AUTH_REQUIRED
                                 : e,
                      m.seq, why);
        xp_sync_msg__release(&m);
        xp_buf__free(&plain);
        return false;
    }
    if (cn->state == XP_CS_AUTH) {
        if (m.op != XP_OP_HELLO)
            xp_conn__fail(c, cn, XP_SYNC_E_AUTH_REQUIRED, 0, "authenticate first (hello)");
        else
            xp_central__hello(c, cn, &m);
    } else {
        switch (m.op) {
        case XP_OP_SYNC:
            if (cn->proxy->conf.read_only)
                xp_conn__fail(c, cn, XP_SYNC_E_FORBIDDEN, m.seq,
                              "an operator credential reads, it never writes");
            else
                xp_central__sync(c, cn, &m);
            break;
        case XP_OP_STATS:
            xp_central__stats_reply(c, cn);
            break;
        case XP_OP_WHY:
            xp_central__why_reply(c, cn, &m);
            break;
        case XP_OP_PING: {
            struct xp_sync_msg pong = {.op = XP_OP_PONG, .t_ns = xp_real_ns()};

            xp_conn__send_msg(c, cn, &pong);
            break;
        }
        default:
            xp_conn__fail(c, cn, XP_SYNC_E_UNEXPECTED_OP, 0, "not a client message here");
            break;
        }
    }
    xp_sync_msg__release(&m);
    xp_buf__free(&plain);
    return true;
}

/* The longest line a connection may send: hello before authentication, then max_line, sealed. */
static size_t xp_conn__line_limit(const struct xp_central *c, const struct xp_cconn *cn)
{
    if (cn->state == XP_CS_AUTH)
        return XP_PREAUTH_LINE;
    return xp_seal__wire_len(c->cfg.max_line);
}

static void xp_central__readable(struct xp_central *c, struct xp_cconn *cn)
{
    size_t budget = XP_READ_BUDGET;
    char tmp[XP_READ_CHUNK];

    while (budget) {
        ssize_t n = recv(cn->fd, tmp, sizeof(tmp), 0);
        size_t start = 0;
        bool gone = false;

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0) {
            xp_conn__kill(c, cn);
            return;
        }
        budget -= (size_t)n < budget ? (size_t)n : budget;
        if (cn->state == XP_CS_CLOSING)
            continue; /* draining so that our error line is not lost to a reset */
        if (cn->in.len == 0)
            cn->t_line_start = xp_mono_ms();
        xp_buf__append(&cn->in, tmp, (size_t)n);
        if (cn->in.oom) {
            xp_conn__kill(c, cn);
            return;
        }
        /* process every complete line; keep pointers as offsets, the buffer may move */
        for (;;) {
            char *nl = memchr(cn->in.p + start, '\n', cn->in.len - start);
            size_t len;

            if (!nl)
                break;
            len = (size_t)(nl - (cn->in.p + start));
            if (len > xp_conn__line_limit(c, cn)) {
                xp_conn__fail(c, cn, XP_SYNC_E_LINE_TOO_LONG, 0, "line longer than max_line");
                gone = true;
                break;
            }
            if (!xp_central__line(c, cn, cn->in.p + start, len) || cn->dead) {
                gone = true;
                break;
            }
            start += len + 1;
            if (cn->state == XP_CS_CLOSING) {
                gone = true;
                break;
            }
        }
        if (cn->dead)
            return;
        if (gone)
            continue; /* closing: drain the rest */
        xp_buf__consume(&cn->in, start);
        if (cn->in.len > xp_conn__line_limit(c, cn)) {
            xp_conn__fail(c, cn, XP_SYNC_E_LINE_TOO_LONG, 0, "line longer than max_line");
            continue;
        }
        if (start && cn->in.len)
            cn->t_line_start = xp_mono_ms();
        else if (!cn->in.len)
            cn->t_line_start = 0;
    }
}

static void xp_central__timeouts(struct xp_central *c)
{
    uint64_t now = xp_mono_ms();
    struct xp_cconn *cn = c->conns, *next;

    for (; cn; cn = next) {
        next = cn->next;
        if (cn->state == XP_CS_CLOSING) {
            if (now >= cn->t_linger_end)
                xp_conn__kill(c, cn);
            continue;
        }
        if (cn->out.len && now - cn->t_out_progress > c->cfg.read_timeout_ms) {
            pr_warn("%s: write stalled, disconnected", cn->peer);
            xp_conn__kill(c, cn);
            continue;
        }
        if (cn->state == XP_CS_AUTH && now - cn->t_accept > c->cfg.auth_timeout_ms) {
            xp_conn__fail(c, cn, XP_SYNC_E_TIMEOUT, 0, "no hello in time");
            continue;
        }
        if (cn->t_line_start && now - cn->t_line_start > c->cfg.read_timeout_ms) {
            xp_conn__fail(c, cn, XP_SYNC_E_TIMEOUT, 0, "line not finished in time");
            continue;
        }
        if (now - cn->t_last_msg > c->cfg.idle_timeout_ms)
            xp_conn__fail(c, cn, XP_SYNC_E_TIMEOUT, 0, "idle");
    }
}

/* ---- stats ---- */

static void xp_buf__kv(struct xp_buf *b, const char *k, uint64_t v, bool comma)
{
    xp_buf__printf(b, "%s\"%s\":%" PRIu64, comma ? "," : "", k, v);
}

void xp_central__stats_json(struct xp_central *c, struct xp_buf *b)
{
    xp_buf__printf(b, "{\"t\":%" PRIu64 ",\"epoch\":\"%016" PRIx64 "\"", xp_real_ns(),
                   c->epoch);
    xp_buf__kv(b, "pairs", xp_ctable__count(c->table), true);
    xp_buf__kv(b, "version", xp_ctable__version(c->table), true);
    xp_buf__kv(b, "connections", c->n_conns, true);
    xp_buf__kv(b, "accepted", c->accepted, true);
    xp_buf__kv(b, "refused_busy", c->refused_busy, true);
    xp_buf__kv(b, "auth_failures", c->auth_failures, true);
    xp_buf__kv(b, "merge_new", c->merges[XP_MERGE_NEW], true);
    xp_buf__kv(b, "merge_reset", c->merges[XP_MERGE_RESET], true);
    xp_buf__kv(b, "merge_merge", c->merges[XP_MERGE_MERGE], true);
    xp_buf__kv(b, "merge_own", c->merges[XP_MERGE_OWN], true);
    xp_buf__kv(b, "shrinks", c->shrinks, true);
    xp_buf__kv(b, "clamped", c->clamped, true);
    xp_buf__kv(b, "table_full", c->table_full, true);
    xp_buf__kv(b, "expired", xp_ctable__expired(c->table), true);
    xp_buf__kv(b, "replays", c->replays, true);
    xp_buf__kv(b, "preauth", c->n_preauth, true);
    xp_buf__kv(b, "preauth_evicted", c->preauth_evicted, true);
    xp_buf__kv(b, "forbidden", c->forbidden, true);
    xp_buf__kv(b, "sealed_rejects", c->sealed_rejects, true);
    xp_buf__kv(b, "reloads", c->reloads, true);
    if (c->cfg.store) {
        xp_buf__printf(b, ",\"store\":{\"kind\":\"%s\"", c->cfg.store->ops->name);
        xp_buf__kv(b, "errors", c->store_errors, true);
        xp_buf__kv(b, "replays", c->store_replays, true);
        c->cfg.store->ops->stats_json(c->cfg.store, b);
        xp_buf__printf(b, "}");
    }
    xp_buf__printf(b, ",\"persist\":{");
    xp_buf__kv(b, "ok", c->persist_ok, false);
    xp_buf__kv(b, "failures", c->persist_fail, true);
    xp_buf__kv(b, "last_ns", c->last_persist_ns, true);
    xp_buf__kv(b, "last_us", c->last_persist_us, true);
    xp_buf__printf(b, "},\"errors\":{");
    for (unsigned i = 1, first = 1; i < XP_SYNC_E__COUNT; i++) {
        xp_buf__kv(b, xp_sync_err__name(i), c->errors[i], !first);
        first = 0;
    }
    xp_buf__printf(b, "},\"proxies\":{");
    for (unsigned i = 0; i < c->cfg.n_proxies; i++) {
        const struct xp_cproxy *p = &c->proxies[i];

        xp_buf__printf(b, "%s\"%s\":{\"role\":\"%s\",\"connected\":%s", i ? "," : "",
                       p->conf.id, p->conf.read_only ? "operator" : "proxy",
                       p->conn ? "true" : "false");
        xp_buf__kv(b, "connected_since_ns", p->conn ? p->connected_since_ns : 0, true);
        xp_buf__kv(b, "disconnected_since_ns", p->conn ? 0 : p->disconnected_since_ns, true);
        xp_buf__kv(b, "last_sync_ns", p->last_sync_ns, true);
        xp_buf__kv(b, "connects", p->connects, true);
        xp_buf__kv(b, "auth_failures", p->auth_failures, true);
        xp_buf__kv(b, "errors", p->errors, true);
        xp_buf__kv(b, "syncs", p->syncs, true);
        xp_buf__kv(b, "replays", p->replays, true);
        xp_buf__kv(b, "pairs_received", p->pairs_in, true);
        xp_buf__kv(b, "pairs_sent", p->answers_out + p->down_out, true);
        xp_buf__kv(b, "down_sent", p->down_out, true);
        xp_buf__kv(b, "clamped", p->clamped, true);
        xp_buf__kv(b, "table_full", p->table_full, true);
        xp_buf__kv(b, "warnings", p->warnings, true);
        xp_buf__kv(b, "forbidden", p->forbidden, true);
        xp_buf__kv(b, "sealed_rejects", p->sealed_rejects, true);
        if (p->has_load)
            xp_buf__printf(b,
                           ",\"load\":{\"w_ppm\":%" PRIu64 ",\"pps\":%" PRIu64
                           ",\"drop_pps\":%" PRIu64 ",\"pairs\":%" PRIu64 ",\"t\":%" PRIu64 "}",
                           p->load.w_ppm, p->load.pps, p->load.drop_pps, p->load.pairs,
                           p->load_ns);
        xp_buf__printf(b, ",\"last_warnings\":[");
        for (unsigned k = 0; k < p->n_last_warn; k++) {
            unsigned idx = (p->warn_pos + XP_LAST_WARNINGS - p->n_last_warn + k) %
                           XP_LAST_WARNINGS;
            const struct xp_sync_warning *w = &p->last_warn[idx];
            char u[64], d[64];

            xp_addr__format(w->key.unit, u, sizeof(u));
            xp_addr__format(w->key.dst, d, sizeof(d));
            xp_buf__printf(b,
                           "%s{\"unit\":\"%s\",\"dst\":\"%s\",\"rate_pps\":%" PRIu64
                           ",\"threshold_pps\":%" PRIu64 ",\"t\":%" PRIu64 "}",
                           k ? "," : "", u, d, w->rate_pps, w->threshold_pps, w->t_ns);
        }
        xp_buf__printf(b, "]}");
    }
    xp_buf__printf(b, "}}");
}

/* ---- lifecycle ---- */

int xp_central__persist(struct xp_central *c)
{
    uint64_t t0, t1;
    char why[512];
    int ret;

    if (!c->cfg.state_file[0])
        return 0;
    t0 = xp_mono_ms();
    ret = xp_statedir__ensure_parent(c->cfg.state_file, 0700, why, sizeof(why));
    if (ret < 0) {
        c->persist_fail++;
        pr_err("persist: %s", why);
        return ret;
    }
    ret = xp_ctable__save(c->table, c->cfg.state_file);
    t1 = xp_mono_ms();
    if (ret < 0) {
        c->persist_fail++;
        pr_err("persist %s: %s", c->cfg.state_file, strerror(-ret));
        return ret;
    }
    c->persist_ok++;
    c->saved_ver = xp_ctable__version(c->table);
    c->saved_expired = xp_ctable__expired(c->table);
    c->last_persist_ns = xp_real_ns();
    c->last_persist_us = (t1 - t0) * 1000;
    return 0;
}

static int xp_central__listen(struct xp_central *c)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    uint8_t a[16];
    int fd, one = 1, ret;

    memset(&ss, 0, sizeof(ss));
    if (xp_addr__parse(c->cfg.listen, a) < 0)
        return -EINVAL;
    if (strchr(c->cfg.listen, ':')) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(c->cfg.port);
        memcpy(&s6->sin6_addr, a, 16);
        sl = sizeof(*s6);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

        s4->sin_family = AF_INET;
        s4->sin_port = htons(c->cfg.port);
        memcpy(&s4->sin_addr, a + 12, 4);
        sl = sizeof(*s4);
    }
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 128) < 0) {
        ret = -errno;
        pr_err("listen on %s:%u: %s", c->cfg.listen, c->cfg.port, strerror(-ret));
        close(fd);
        return ret;
    }
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
        c->port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                                : ((struct sockaddr_in6 *)&ss)->sin6_port);
    c->lfd = fd;
    return 0;
}

/* What a zero means in cfg (struct users that skip the file's defaults: tests). */
static int xp_central__resolve(struct xp_central_config *cfg)
{
    if (cfg->merge.r == 0)
        cfg->merge.r = 1;
    /* idle longer than T_T1 plus the clock skew tolerated: a new packet restarts it anyway */
    if (!cfg->row_ttl_ns)
        cfg->row_ttl_ns = cfg->merge.t_t1_ns + cfg->merge.max_skew_ns;
    if (cfg->row_ttl_ns < cfg->merge.t_t1_ns)
        return -EINVAL;
    if (!cfg->max_preauth)
        cfg->max_preauth = 64;
    if (!cfg->max_preauth_per_source)
        cfg->max_preauth_per_source = 8;
    return 0;
}

struct xp_central *xp_central__create(const struct xp_central_config *cfg)
{
    struct epoll_event ev;
    struct xp_central *c;
    char why[512];
    int ret;

    c = calloc(1, sizeof(*c));
    if (!c) {
        errno = ENOMEM;
        return NULL;
    }
    c->ep = c->lfd = c->wake_fd = c->stop_fd = c->user_fd = -1;
    c->cfg = *cfg;
    c->cfg.proxies = NULL;
    c->cfg.n_proxies = 0;
    c->proxies = calloc(cfg->n_proxies ? cfg->n_proxies : 1, sizeof(*c->proxies));
    c->scratch = calloc(cfg->max_pairs, sizeof(*c->scratch));
    c->scratch_skip = calloc(cfg->max_pairs ? cfg->max_pairs : 1, sizeof(*c->scratch_skip));
    c->table = xp_ctable__create(cfg->max_table_pairs);
    if (!c->proxies || !c->scratch || !c->scratch_skip || !c->table || cfg->max_pairs == 0) {
        ret = -ENOMEM;
        goto err_destroy;
    }
    for (unsigned i = 0; i < cfg->n_proxies; i++)
        c->proxies[i].conf = cfg->proxies[i];
    c->cfg.n_proxies = cfg->n_proxies;
    ret = xp_central__resolve(&c->cfg);
    if (ret < 0)
        goto err_destroy;
    xp_ctable__set_ttl(c->table, c->cfg.row_ttl_ns);
    /* front-ends of one external store share its epoch: a proxy that fails over keeps its cursor */
    if (c->cfg.store)
        ret = c->cfg.store->ops->epoch(c->cfg.store, &c->epoch);
    else
        ret = xp_sync_random(&c->epoch, sizeof(c->epoch));
    if (!ret)
        ret = xp_sync_random(c->dummy_secret, sizeof(c->dummy_secret));
    if (ret < 0)
        goto err_destroy;
    if (c->cfg.state_file[0] && c->cfg.store) {
        pr_warn("state_file %s not used: M_DB is in the %s store", c->cfg.state_file,
                c->cfg.store->ops->name);
        c->cfg.state_file[0] = '\0';
    }
    if (c->cfg.state_file[0]) {
        /* a fresh host: the first save must not be the first to find no directory */
        ret = xp_statedir__ensure_parent(c->cfg.state_file, 0700, why, sizeof(why));
        if (ret < 0) {
            pr_err("state_file: %s", why);
            goto err_destroy;
        }
        ret = xp_ctable__load(c->table, c->cfg.state_file, why, sizeof(why));
        if (ret == -ENOENT) {
            pr_info("no state file %s yet: starting empty", c->cfg.state_file);
        } else if (ret < 0) {
            pr_err("cannot load state: %s", why[0] ? why : strerror(-ret));
            goto err_destroy;
        } else {
            pr_info("loaded %u pairs (version %" PRIu64 ") from %s, %" PRIu64
                    " expired ones skipped",
                    xp_ctable__count(c->table), xp_ctable__version(c->table),
                    c->cfg.state_file, xp_ctable__expired(c->table));
        }
        c->saved_ver = xp_ctable__version(c->table);
        c->saved_expired = xp_ctable__expired(c->table);
    }
    c->ep = epoll_create1(EPOLL_CLOEXEC);
    c->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (c->ep < 0 || c->wake_fd < 0) {
        ret = -errno;
        goto err_destroy;
    }
    ret = xp_central__listen(c);
    if (ret < 0)
        goto err_destroy;
    ev.events = EPOLLIN;
    ev.data.ptr = &xp_tag_listen;
    if (epoll_ctl(c->ep, EPOLL_CTL_ADD, c->lfd, &ev) < 0) {
        ret = -errno;
        goto err_destroy;
    }
    ev.data.ptr = &xp_tag_wake;
    if (epoll_ctl(c->ep, EPOLL_CTL_ADD, c->wake_fd, &ev) < 0) {
        ret = -errno;
        goto err_destroy;
    }
    return c;
err_destroy:
    xp_central__destroy(c);
    errno = -ret;
    return NULL;
}

void xp_central__destroy(struct xp_central *c)
{
    if (!c)
        return;
    for (struct xp_cconn *cn = c->conns; cn; cn = cn->next)
        xp_conn__kill(c, cn);
    xp_central__reap(c);
    if (c->proxies)
        for (unsigned i = 0; i < c->cfg.n_proxies; i++)
            xp_buf__free(&c->proxies[i].cached);
    if (c->lfd >= 0)
        close(c->lfd);
    if (c->wake_fd >= 0)
        close(c->wake_fd);
    if (c->ep >= 0)
        close(c->ep);
    xp_ctable__destroy(c->table);
    free(c->scratch);
    free(c->scratch_skip);
    free(c->proxies);
    free(c);
}

uint16_t xp_central__port(const struct xp_central *c)
{
    return c->port;
}

int xp_central__add_stop_fd(struct xp_central *c, int fd)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &xp_tag_stop};

    if (epoll_ctl(c->ep, EPOLL_CTL_ADD, fd, &ev) < 0)
        return -errno;
    c->stop_fd = fd;
    return 0;
}

void xp_central__set_stats_out(struct xp_central *c, void *file)
{
    c->stats_out = file;
}

int xp_central__watch_fd(struct xp_central *c, int fd,
                         void (*fn)(struct xp_central *c, void *arg), void *arg)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &xp_tag_user};

    if (c->user_fd >= 0)
        return -EBUSY;
    if (epoll_ctl(c->ep, EPOLL_CTL_ADD, fd, &ev) < 0)
        return -errno;
    c->user_fd = fd;
    c->user_fn = fn;
    c->user_arg = arg;
    return 0;
}

void xp_central__set_tick(struct xp_central *c, void (*fn)(struct xp_central *c, void *arg),
                          void *arg)
{
    c->tick_fn = fn;
    c->tick_arg = arg;
}

void xp_central__summary(const struct xp_central *c, struct xp_central_summary *out)
{
    memset(out, 0, sizeof(*out));
    out->port = c->port;
    out->rows = xp_ctable__count(c->table);
    out->reloads = c->reloads;
    for (unsigned i = 0; i < c->cfg.n_proxies; i++) {
        if (c->proxies[i].conf.read_only)
            out->operators++;
        else
            out->proxies++;
        if (c->proxies[i].conn && !c->proxies[i].conf.read_only)
            out->connected++;
    }
}

/* Same credential: the sessions it authenticated stay (rotated or re-roled ones do not). */
static bool xp_cred__same(const struct xp_central_proxy_conf *a,
                          const struct xp_central_proxy_conf *b)
{
    return a->read_only == b->read_only && a->secret_len == b->secret_len &&
           memcmp(a->secret, b->secret, a->secret_len) == 0;
}

int xp_central__reload(struct xp_central *c, const struct xp_central_config *cfg, char *msg,
                       size_t msg_len)
{
    struct xp_central_config next = *cfg;
    struct xp_cproxy *np, *old = c->proxies;
    unsigned n_old = c->cfg.n_proxies, kept = 0, dropped = 0;
    int *to = NULL; /* old slot -> new slot, -1: removed */
    bool moved_state;

    next.proxies = NULL;
    next.n_proxies = 0;
    if (xp_central__resolve(&next) < 0) {
        snprintf(msg, msg_len, "limits.row_ttl_ms is shorter than merge.t_t1_ms");
        return -EINVAL;
    }
    /* what the socket, the table and the connected sessions were set up with cannot change */
    if (strcmp(next.listen, c->cfg.listen) || next.port != c->cfg.port ||
        next.max_line != c->cfg.max_line || next.max_pairs != c->cfg.max_pairs ||
        next.max_table_pairs != c->cfg.max_table_pairs) {
        snprintf(msg, msg_len, "listen, port, limits.max_line_bytes, limits.max_pairs and "
                               "limits.max_table_pairs cannot change without a restart");
        return -EINVAL;
    }
    np = calloc(cfg->n_proxies ? cfg->n_proxies : 1, sizeof(*np));
    to = malloc((n_old ? n_old : 1) * sizeof(*to));
    if (!np || !to) {
        free(np);
        free(to);
        snprintf(msg, msg_len, "out of memory");
        return -ENOMEM;
    }
    /*
     * Every id the new file keeps keeps its run-time state (connection,
     * instance, token, sequence, cached answer, counters): its proxy's sync
     * goes on as if nothing happened. A removed id, or one whose secret or
     * role changed, loses its session now: it was authenticated by a
     * credential that is no longer valid.
     */
    for (unsigned j = 0; j < n_old; j++) {
        to[j] = -1;
        for (unsigned i = 0; i < cfg->n_proxies; i++)
            if (strcmp(old[j].conf.id, cfg->proxies[i].id) == 0)
                to[j] = (int)i;
        if (old[j].conn && (to[j] < 0 || !xp_cred__same(&old[j].conf, &cfg->proxies[to[j]]))) {
            xp_conn__kill(c, old[j].conn);
            dropped++;
        }
        if (to[j] < 0) {
            xp_buf__free(&old[j].cached);
            continue;
        }
        np[to[j]] = old[j]; /* the cached answer moves with it */
        kept++;
    }
    for (unsigned i = 0; i < cfg->n_proxies; i++)
        np[i].conf = cfg->proxies[i];
    /* connections, live or lingering, point at their proxy's slot: move them */
    for (struct xp_cconn *cn = c->conns; cn; cn = cn->next) {
        if (!cn->proxy)
            continue;
        int j = (int)(cn->proxy - old);

        cn->proxy = to[j] >= 0 ? &np[to[j]] : NULL;
    }
    free(to);
    free(old);
    c->proxies = np;
    /* the store is the running one's (it is not reloadable); it has no state file */
    next.store = c->cfg.store;
    if (next.store)
        next.state_file[0] = '\0';
    moved_state = strcmp(next.state_file, c->cfg.state_file) != 0;
    c->cfg = next;
    c->cfg.n_proxies = cfg->n_proxies;
    xp_ctable__set_ttl(c->table, c->cfg.row_ttl_ns);
    c->reloads++;
    snprintf(msg, msg_len,
             "configuration reloaded: %u ids kept, %u added, %u removed, %u sessions dropped; "
             "%u rows kept",
             kept, cfg->n_proxies - kept, n_old - kept, dropped, xp_ctable__count(c->table));
    /* the table goes to its new home now rather than after the next change */
    if (moved_state && c->cfg.state_file[0])
        xp_central__persist(c);
    return 0;
}

struct xp_ctable *xp_central__table(struct xp_central *c)
{
    return c->table;
}

void xp_central__stop(struct xp_central *c)
{
    uint64_t one = 1;

    atomic_store(&c->stop, true);
    if (write(c->wake_fd, &one, sizeof(one)) < 0) {
        /* the loop also polls the flag every tick */
    }
}

static void xp_central__periodic(struct xp_central *c)
{
    uint64_t now = xp_mono_ms();

    xp_central__timeouts(c);
    if (now >= c->t_next_expire) {
        c->t_next_expire = now + XP_EXPIRE_PERIOD_MS;
        xp_ctable__expire(c->table, xp_real_ns(), XP_EXPIRE_VISIT);
    }
    if (c->cfg.state_file[0] && now >= c->t_next_persist) {
        c->t_next_persist = now + c->cfg.persist_period_ms;
        /* removals too: an idle table's file then also sheds its dead rows */
        if (xp_ctable__version(c->table) != c->saved_ver ||
            xp_ctable__expired(c->table) != c->saved_expired)
            xp_central__persist(c);
    }
    if (c->stats_out && c->cfg.stats_period_ms && now >= c->t_next_stats) {
        struct xp_buf b;

        c->t_next_stats = now + c->cfg.stats_period_ms;
        xp_buf__init(&b);
        xp_central__stats_json(c, &b);
        if (!b.oom) {
            fprintf(c->stats_out, "%s\n", b.p);
            fflush(c->stats_out);
        }
        xp_buf__free(&b);
    }
}

int xp_central__run(struct xp_central *c)
{
    struct epoll_event evs[64];
    uint64_t now = xp_mono_ms();

    c->t_next_persist = now + c->cfg.persist_period_ms;
    c->t_next_stats = now + c->cfg.stats_period_ms;
    pr_info("listening on %s:%u, %u proxies configured", c->cfg.listen, c->port,
            c->cfg.n_proxies);
    while (!atomic_load(&c->stop)) {
        int n = epoll_wait(c->ep, evs, 64, XP_TICK_MS);

        if (n < 0 && errno != EINTR) {
            pr_err("epoll_wait: %s", strerror(errno));
            return -errno;
        }
        for (int i = 0; i < n; i++) {
            void *tag = evs[i].data.ptr;
            struct xp_cconn *cn;

            if (tag == &xp_tag_listen) {
                xp_central__accept(c);
                continue;
            }
            if (tag == &xp_tag_wake || tag == &xp_tag_stop) {
                atomic_store(&c->stop, true);
                continue;
            }
            if (tag == &xp_tag_user) {
                c->user_fn(c, c->user_arg);
                continue;
            }
            cn = tag;
            if (cn->dead)
                continue;
            if (evs[i].events & EPOLLOUT) {
                if (!xp_conn__flush(c, cn))
                    continue;
            }
            if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
                xp_central__readable(c, cn);
        }
        xp_central__periodic(c);
        xp_central__reap(c);
        if (c->tick_fn)
            c->tick_fn(c, c->tick_arg);
    }
    pr_info("stopping: persisting state");
    return xp_central__persist(c);
}
