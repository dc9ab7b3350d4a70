// SPDX-License-Identifier: GPL-2.0-only
/*
 * A Redis Cluster client on hiredis 0.14's blocking API (store_internal.h).
 *
 * The slot map says which master serves each of the 16384 slots. It is read
 * with CLUSTER SLOTS from any node that answers (the seeds, then every node
 * we learnt of), at start and whenever the cluster tells us it changed:
 * a MOVED answer, a connection that fails, CLUSTERDOWN. A MOVED answer also
 * fixes that one slot at once, so a resharding costs one extra round trip
 * per slot, not a stall. Between failures nothing is re-read.
 *
 * Failures are retried until the operation's deadline (retry_ms, longer
 * than the cluster's failover time: cluster-node-timeout plus the election),
 * sleeping with a doubling backoff from 20 ms to 500 ms, so that a master
 * killed during a sync costs that sync a few seconds, not an error, when its
 * replica takes over. Past the deadline the caller gets ETIMEDOUT and the
 * proxy retries later, at this front-end or another.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "src/util/clock.h"
#include "src/util/log.h"
#include "store_internal.h"

#define XP_RC_MAX_NODES 256
#define XP_RC_MAX_REDIRECTS 16

struct xp_rc_node {
    char host[128];
    int port;
    redisContext *ctx;
    bool ever; /* connected once: a new connection is a reconnect */
};

struct xp_rc {
    struct xp_store_redis_config cfg;
    struct xp_rc_node nodes[XP_RC_MAX_NODES];
    unsigned n_nodes;
    int16_t slots[XP_RC_SLOTS]; /* node index, -1: unknown */
    char addr[64];
    struct xp_rc_stats st;
};

/* CRC16/XMODEM (poly 0x1021, init 0), the cluster's key hash. */
static uint16_t xp_crc16(const char *p, size_t len)
{
    uint16_t crc = 0;

    for (size_t i = 0; i < len; i++) {
        crc ^= (uint16_t)((uint8_t)p[i] << 8);
        for (int b = 0; b < 8; b++)
            crc = crc & 0x8000 ? (uint16_t)(crc << 1) ^ 0x1021 : (uint16_t)(crc << 1);
    }
    return crc;
}

unsigned xp_rc__slot(const char *key, size_t len)
{
    /* the first '{' and the first '}' after it, with something between: hash only that */
    for (size_t s = 0; s < len; s++) {
        if (key[s] != '{')
            continue;
        for (size_t e = s + 1; e < len; e++) {
            if (key[e] == '}') {
                if (e > s + 1)
                    return xp_crc16(key + s + 1, e - s - 1) & (XP_RC_SLOTS - 1);
                break;
            }
        }
        break;
    }
    return xp_crc16(key, len) & (XP_RC_SLOTS - 1);
}

static void xp_rc__sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static void xp_rc__drop(struct xp_rc_node *n)
{
    if (n->ctx)
        redisFree(n->ctx);
    n->ctx = NULL;
}

static int xp_rc__node_index(struct xp_rc *rc, const char *host, int port)
{
    for (unsigned i = 0; i < rc->n_nodes; i++)
        if (rc->nodes[i].port == port && strcmp(rc->nodes[i].host, host) == 0)
            return (int)i;
    if (rc->n_nodes == XP_RC_MAX_NODES || strlen(host) >= sizeof(rc->nodes[0].host))
        return -1;
    memset(&rc->nodes[rc->n_nodes], 0, sizeof(rc->nodes[0]));
    snprintf(rc->nodes[rc->n_nodes].host, sizeof(rc->nodes[0].host), "%s", host);
    rc->nodes[rc->n_nodes].port = port;
    return (int)rc->n_nodes++;
}

/* Connected and authenticated context of node i, or NULL (errno, reason in err). */
static redisContext *xp_rc__connect(struct xp_rc *rc, unsigned i, char *err, size_t err_len)
{
    struct xp_rc_node *n = &rc->nodes[i];
    struct timeval tv = {.tv_sec = rc->cfg.timeout_ms / 1000,
                         .tv_usec = (long)(rc->cfg.timeout_ms % 1000) * 1000};
    redisReply *r;

    if (n->ctx)
        return n->ctx;
    n->ctx = redisConnectWithTimeout(n->host, n->port, tv);
    if (!n->ctx || n->ctx->err) {
        snprintf(err, err_len, "%s:%d: %s", n->host, n->port,
                 n->ctx ? n->ctx->errstr : "out of memory");
        xp_rc__drop(n);
        errno = EHOSTUNREACH;
        return NULL;
    }
    redisSetTimeout(n->ctx, tv);
    if (rc->cfg.password[0]) {
        if (rc->cfg.user[0])
            r = redisCommand(n->ctx, "AUTH %s %s", rc->cfg.user, rc->cfg.password);
        else
            r = redisCommand(n->ctx, "AUTH %s", rc->cfg.password);
        if (!r || r->type == REDIS_REPLY_ERROR) {
            snprintf(err, err_len, "%s:%d: AUTH: %s", n->host, n->port,
                     r ? r->str : n->ctx->errstr);
            errno = r ? EACCES : EHOSTUNREACH;
            if (r)
                freeReplyObject(r);
            xp_rc__drop(n);
            return NULL;
        }
        freeReplyObject(r);
    }
    if (n->ever)
        rc->st.reconnects++;
    n->ever = true;
    return n->ctx;
}

/* Read the slot map from node i. 0, or -errno. */
static int xp_rc__slots_from(struct xp_rc *rc, unsigned i, char *err, size_t err_len)
{
    redisContext *ctx = xp_rc__connect(rc, i, err, err_len);
    int16_t map[XP_RC_SLOTS];
    unsigned masters = 0;
    redisReply *r;

    if (!ctx)
        return -errno;
    r = redisCommand(ctx, "CLUSTER SLOTS");
    if (!r) {
        snprintf(err, err_len, "%s:%d: CLUSTER SLOTS: %s", rc->nodes[i].host,
                 rc->nodes[i].port, ctx->errstr);
        xp_rc__drop(&rc->nodes[i]);
        return -EHOSTUNREACH;
    }
    if (r->type != REDIS_REPLY_ARRAY) {
        snprintf(err, err_len, "%s:%d: CLUSTER SLOTS: %s", rc->nodes[i].host,
                 rc->nodes[i].port, r->type == REDIS_REPLY_ERROR ? r->str : "not an array");
        freeReplyObject(r);
        return -EPROTO;
    }
    memset(map, 0xff, sizeof(map));
    for (size_t k = 0; k < r->elements; k++) {
        redisReply *e = r->element[k], *m;
        char host[128];
        int idx;

        if (e->type != REDIS_REPLY_ARRAY || e->elements < 3 ||
            e->element[0]->type != REDIS_REPLY_INTEGER ||
            e->element[1]->type != REDIS_REPLY_INTEGER ||
            e->element[2]->type != REDIS_REPLY_ARRAY || e->element[2]->elements < 2)
            continue;
        m = e->element[2];
        if (m->element[0]->type != REDIS_REPLY_STRING ||
            m->element[1]->type != REDIS_REPLY_INTEGER)
            continue;
        /* an empty address means "the node you asked" */
        snprintf(host, sizeof(host), "%s", m->element[0]->len ? m->element[0]->str
                                                              : rc->nodes[i].host);
        idx = xp_rc__node_index(rc, host, (int)m->element[1]->integer);
        if (idx < 0)
            continue;
        masters++;
        for (long long s = e->element[0]->integer;
             s <= e->element[1]->integer && s >= 0 && s < XP_RC_SLOTS; s++)
            map[s] = (int16_t)idx;
        /* replicas: known nodes to ask for the map when the masters are gone */
        for (size_t j = 3; j < e->elements; j++) {
            redisReply *rp = e->element[j];

            if (rp->type == REDIS_REPLY_ARRAY && rp->elements >= 2 &&
                rp->element[0]->type == REDIS_REPLY_STRING && rp->element[0]->len &&
                rp->element[1]->type == REDIS_REPLY_INTEGER)
                xp_rc__node_index(rc, rp->element[0]->str, (int)rp->element[1]->integer);
        }
    }
    freeReplyObject(r);
    memcpy(rc->slots, map, sizeof(map));
    rc->st.refreshes++;
    rc->st.nodes = masters;
    return 0;
}

static int xp_rc__refresh_err(struct xp_rc *rc, char *err, size_t err_len)
{
    int ret = -EHOSTUNREACH;

    /* nodes first (they include the seeds, added at create) */
    for (unsigned i = 0; i < rc->n_nodes; i++) {
        ret = xp_rc__slots_from(rc, i, err, err_len);
        if (ret == 0 || ret == -EACCES)
            return ret;
    }
    return ret;
}

int xp_rc__refresh(struct xp_rc *rc)
{
    char err[256];

    return xp_rc__refresh_err(rc, err, sizeof(err));
}

struct xp_rc *xp_rc__create(const struct xp_store_redis_config *cfg, char *err, size_t err_len)
{
    struct xp_rc *rc;
    int ret;

    if (!cfg->n_seeds) {
        snprintf(err, err_len, "no seed nodes");
        errno = EINVAL;
        return NULL;
    }
    rc = calloc(1, sizeof(*rc));
    if (!rc) {
        errno = ENOMEM;
        return NULL;
    }
    rc->cfg = *cfg;
    if (!rc->cfg.timeout_ms)
        rc->cfg.timeout_ms = 1000;
    if (!rc->cfg.retry_ms)
        rc->cfg.retry_ms = 15000;
    memset(rc->slots, 0xff, sizeof(rc->slots));
    for (unsigned i = 0; i < cfg->n_seeds; i++) {
        char host[128], *colon;
        long port;

        snprintf(host, sizeof(host), "%s", cfg->seeds[i]);
        colon = strrchr(host, ':');
        port = colon ? strtol(colon + 1, NULL, 10) : 0;
        if (!colon || port <= 0 || port > 65535) {
            snprintf(err, err_len, "seed \"%s\": not host:port", cfg->seeds[i]);
            free(rc);
            errno = EINVAL;
            return NULL;
        }
        *colon = '\0';
        xp_rc__node_index(rc, host, (int)port);
    }
    ret = xp_rc__refresh_err(rc, err, err_len);
    if (ret < 0) {
        xp_rc__destroy(rc);
        errno = -ret;
        return NULL;
    }
    return rc;
}

void xp_rc__destroy(struct xp_rc *rc)
{
    if (!rc)
        return;
    for (unsigned i = 0; i < rc->n_nodes; i++)
        xp_rc__drop(&rc->nodes[i]);
    memset(rc->cfg.password, 0, sizeof(rc->cfg.password));
    free(rc);
}

const char *xp_rc__node_of(const struct xp_rc *rc, unsigned slot)
{
    struct xp_rc *w = (struct xp_rc *)rc;
    int i = slot < XP_RC_SLOTS ? rc->slots[slot] : -1;

    if (i < 0)
        return "";
    snprintf(w->addr, sizeof(w->addr), "%s:%d", rc->nodes[i].host, rc->nodes[i].port);
    return w->addr;
}

void xp_rc__stats(const struct xp_rc *rc, struct xp_rc_stats *out)
{
    *out = rc->st;
}

/* "MOVED 3999 127.0.0.1:6381" / "ASK ...": the target node's index, or -1. */
static int xp_rc__redirect_target(struct xp_rc *rc, const char *msg)
{
    const char *sp = strchr(msg, ' '), *addr, *colon;
    char host[128];
    size_t hl;

    if (!sp || !(addr = strchr(sp + 1, ' ')))
        return -1;
    addr++;
    colon = strrchr(addr, ':');
    if (!colon)
        return -1;
    hl = (size_t)(colon - addr);
    if (hl >= sizeof(host))
        return -1;
    memcpy(host, addr, hl);
    host[hl] = '\0';
    return xp_rc__node_index(rc, host, atoi(colon + 1));
}

static bool xp_rc__is(const redisReply *r, const char *prefix)
{
    return r->type == REDIS_REPLY_ERROR && strncmp(r->str, prefix, strlen(prefix)) == 0;
}

redisReply *xp_rc__command(struct xp_rc *rc, unsigned slot, int argc, const char **argv,
                           const size_t *lens)
{
    uint64_t deadline = xp_mono_ms() + rc->cfg.retry_ms;
    unsigned backoff = 20, redirects = 0;
    int ask_node = -1;
    char err[256];

    rc->st.commands++;
    for (;;) {
        int i = ask_node >= 0 ? ask_node : rc->slots[slot & (XP_RC_SLOTS - 1)];
        redisContext *ctx = NULL;
        redisReply *r = NULL;
        bool retry = false;

        if (i >= 0)
            ctx = xp_rc__connect(rc, (unsigned)i, err, sizeof(err));
        if (ctx && ask_node >= 0) {
            void *asking = NULL;

            /* the migrating slot's key is already at the target: ASKING then the command */
            redisAppendCommand(ctx, "ASKING");
            redisAppendCommandArgv(ctx, argc, argv, lens);
            if (redisGetReply(ctx, &asking) == REDIS_OK) {
                freeReplyObject(asking);
                if (redisGetReply(ctx, (void **)&r) != REDIS_OK)
                    r = NULL;
            }
            ask_node = -1;
        } else if (ctx) {
            r = redisCommandArgv(ctx, argc, argv, lens);
        }
        if (ctx && !r)
            xp_rc__drop(&rc->nodes[i]); /* an I/O error: the context is unusable */
        if (!r) {
            retry = true;
        } else if (xp_rc__is(r, "MOVED ") || xp_rc__is(r, "ASK ")) {
            bool moved = r->str[0] == 'M';
            int to = xp_rc__redirect_target(rc, r->str);

            freeReplyObject(r);
            if (to < 0 || ++redirects > XP_RC_MAX_REDIRECTS) {
                retry = true;
            } else if (moved) {
                rc->st.moved++;
                rc->slots[slot & (XP_RC_SLOTS - 1)] = (int16_t)to;
                /* the rest of the map probably moved too (resharding, failover) */
                xp_rc__refresh_err(rc, err, sizeof(err));
                rc->slots[slot & (XP_RC_SLOTS - 1)] = (int16_t)to;
                continue;
            } else {
                rc->st.ask++;
                ask_node = to;
                continue;
            }
        } else if (xp_rc__is(r, "CLUSTERDOWN") || xp_rc__is(r, "TRYAGAIN") ||
                   xp_rc__is(r, "LOADING") || xp_rc__is(r, "MASTERDOWN") ||
                   xp_rc__is(r, "READONLY")) {
            freeReplyObject(r);
            retry = true;
        } else {
            return r;
        }
        if (retry) {
            if (xp_mono_ms() >= deadline) {
                rc->st.failures++;
                errno = ETIMEDOUT;
                return NULL;
            }
            rc->st.retries++;
            xp_rc__sleep_ms(backoff);
            backoff = backoff * 2 > 500 ? 500 : backoff * 2;
            xp_rc__refresh_err(rc, err, sizeof(err));
        }
    }
}
