// SPDX-License-Identifier: GPL-2.0-only
/*
 * M_DB on Redis Cluster (docs/central.md).
 *
 * Layout. A destination's pairs live in one bucket (FNV-1a of the
 * destination address, mod `buckets`), and a bucket is one hash tag, so all
 * its keys are in one slot and one script can read and write them
 * atomically. Bucket tags are chosen at start (deterministically: every
 * front-end computes the same) so that bucket b's slot is in the b-th
 * 1/buckets of the slot range: buckets spread evenly over the masters
 * whatever their number. Per bucket {T}:
 *   P:{T}:r:HEX      hash ts1 ts2 c w v: a row (HEX: the pair's key), its
 *                    writer ("id/instance") and version; PEXPIREAT at
 *                    ts2 + row_ttl, so rows age out exactly when the
 *                    embedded table's sweep would remove them
 *   P:{T}:ver        the bucket's version counter
 *   P:{T}:log        sorted set HEX -> version of its last write: the change
 *                    feed, one entry per live row (a write moves it), read
 *                    from a cursor with ZRANGEBYSCORE, never a keyspace scan
 *   P:{T}:cur:W      writer W's cursor in this bucket's feed
 *   P:{T}:ack:W      writer W's last request in this bucket: its sequence
 *                    number and its answer (exactly-once, below)
 *
 * Consistency: optimistic, per bucket. The rows of a request's pairs in one
 * bucket are read (one script), merged here with the very function the
 * embedded store uses (xp_sync_merge), and written back by a second script
 * only if none of their versions changed meanwhile; else read and merge
 * again. So each pair's read-modify-write is atomic (the merges of two
 * front-ends on one pair serialize), and the results equal the embedded
 * store's, which the differential test checks. The merge is not run in Lua
 * because Redis's Lua numbers are doubles: ns timestamps need 61 bits.
 *
 * Exactly-once across front-ends: the commit script records, in the same
 * atomic step, the request's sequence number and its answer (the merged
 * pairs and the feed rows it returned) under the writer's ack key. A retry
 * of that sequence number (the proxy lost the answer, maybe because its
 * front-end died, and asks another) gets the recorded answer and merges
 * nothing. A request is committed bucket by bucket: a retry completes the
 * buckets the first attempt did not reach.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/util/hexaddr.h"
#include "src/util/log.h"
#include "src/util/secret_file.h"
#include "store_internal.h"

#define XP_SR_DEF_BUCKETS 64
#define XP_SR_CONFLICT_TRIES 32
#define XP_SR_ACK_TTL_MS "86400000" /* a writer idle for a day starts its feed again */

/* ARGV: seq, bucket prefix, hex keys... -> {1, ans, down, more} (replay) or {0, ts1 ts2 c w v ...} */
static const char xp_sr_read_lua[] =
    "local a = redis.call('HMGET', KEYS[1], 'seq', 'ans', 'down', 'more')\n"
    "if a[1] == ARGV[1] then return {1, a[2], a[3], a[4]} end\n"
    "local out = {0}\n"
    "for i = 3, #ARGV do\n"
    "  local r = redis.call('HMGET', ARGV[2] .. 'r:' .. ARGV[i], 'ts1', 'ts2', 'c', 'w', 'v')\n"
    "  for j = 1, 5 do out[#out + 1] = r[j] or '' end\n"
    "end\n"
    "return out\n";

/*
 * ARGV: seq, bucket prefix, writer, reset, room, answer, n, then per pair:
 * hex, expected version ('' : absent), ts1, ts2, c, expire-at ms.
 * -> {0|1, ans, down, more}, or {2}: a row changed since it was read.
 */
static const char xp_sr_commit_lua[] =
    "local P, W = ARGV[2], ARGV[3]\n"
    "local a = redis.call('HMGET', KEYS[1], 'seq', 'ans', 'down', 'more')\n"
    "if a[1] == ARGV[1] then return {1, a[2], a[3], a[4]} end\n"
    "local n = tonumber(ARGV[7])\n"
    "for i = 0, n - 1 do\n"
    "  local b = 8 + i * 6\n"
    "  local v = redis.call('HGET', P .. 'r:' .. ARGV[b], 'v')\n"
    "  if (v or '') ~= ARGV[b + 1] then return {2} end\n"
    "end\n"
    "local ver = 0\n"
    "if n > 0 then ver = redis.call('INCRBY', P .. 'ver', n) - n end\n"
    "for i = 0, n - 1 do\n"
    "  local b = 8 + i * 6\n"
    "  local k = P .. 'r:' .. ARGV[b]\n"
    "  ver = ver + 1\n"
    "  redis.call('HSET', k, 'ts1', ARGV[b + 2], 'ts2', ARGV[b + 3], 'c', ARGV[b + 4], 'w', W, 'v', ver)\n"
    "  redis.call('PEXPIREAT', k, ARGV[b + 5])\n"
    "  redis.call('ZADD', P .. 'log', ver, ARGV[b])\n"
    "end\n"
    "local ck = P .. 'cur:' .. W\n"
    "local last = '0'\n"
    "if ARGV[4] == '0' then last = redis.call('GET', ck) or '0' end\n"
    "local room = tonumber(ARGV[5])\n"
    "local down, more, batch = {}, 0, room + 64\n"
    "while true do\n"
    "  local e = redis.call('ZRANGEBYSCORE', P .. 'log', '(' .. last, '+inf', 'WITHSCORES', 'LIMIT', 0, batch)\n"
    "  local stop = false\n"
    "  for j = 1, #e, 2 do\n"
    "    local r = redis.call('HMGET', P .. 'r:' .. e[j], 'ts1', 'ts2', 'c', 'w')\n"
    "    if not r[1] then\n"
    "      redis.call('ZREM', P .. 'log', e[j])\n"
    "    elseif r[4] ~= W then\n"
    "      if room == 0 then more = 1; stop = true; break end\n"
    "      down[#down + 1] = e[j] .. ' ' .. r[1] .. ' ' .. r[2] .. ' ' .. r[3]\n"
    "      room = room - 1\n"
    "    end\n"
    "    last = e[j + 1]\n"
    "  end\n"
    "  if stop or #e < batch * 2 then break end\n"
    "end\n"
    "redis.call('SET', ck, last, 'PX', " XP_SR_ACK_TTL_MS ")\n"
    "local d = table.concat(down, ',')\n"
    "redis.call('HSET', KEYS[1], 'seq', ARGV[1], 'ans', ARGV[6], 'down', d, 'more', more)\n"
    "redis.call('PEXPIRE', KEYS[1], " XP_SR_ACK_TTL_MS ")\n"
    /* the oldest feed entries are the likeliest to be expired rows: a few per call */
    "local old = redis.call('ZRANGE', P .. 'log', 0, 7)\n"
    "for j = 1, #old do\n"
    "  if redis.call('EXISTS', P .. 'r:' .. old[j]) == 0 then redis.call('ZREM', P .. 'log', old[j]) end\n"
    "end\n"
    "return {0, ARGV[6], d, more}\n";

struct xp_sr_script {
    const char *body;
    char sha[41];
};

struct xp_store_redis {
    struct xp_store base;
    struct xp_rc *rc;
    char prefix[32];
    unsigned nb;
    char (*tags)[24];  /* per bucket */
    uint16_t *slots;   /* per bucket */
    struct xp_sr_script read, commit;
    /* per request scratch */
    unsigned *order, *first, cap;
    struct xp_buf args;
    const char **argv;
    size_t *lens;
    unsigned argv_cap;
    uint64_t epoch;
    unsigned wait_replicas, wait_ms;
    uint64_t conflicts, replays, noscript, syncs, pairs, bad_replies, wait_short, wait_degraded;
};

static uint32_t xp_sr__fnv(const uint8_t *p, size_t n)
{
    uint32_t h = 2166136261u;

    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 16777619u;
    }
    return h;
}

static unsigned xp_sr__bucket(const struct xp_store_redis *s, const struct xp_policer_key *k)
{
    return xp_sr__fnv(k->dst, sizeof(k->dst)) % s->nb;
}

static int xp_sr__argv_room(struct xp_store_redis *s, unsigned n)
{
    if (n <= s->argv_cap)
        return 0;
    const char **a = realloc(s->argv, n * sizeof(*a));

    if (!a)
        return -ENOMEM;
    s->argv = a;
    size_t *l = realloc(s->lens, n * sizeof(*l));

    if (!l)
        return -ENOMEM;
    s->lens = l;
    s->argv_cap = n;
    return 0;
}

/* Arguments are appended NUL-separated to s->args; lens[] holds their lengths. */
static void xp_sr__arg(struct xp_store_redis *s, unsigned *argc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void xp_sr__arg(struct xp_store_redis *s, unsigned *argc, const char *fmt, ...)
{
    size_t before = s->args.len;
    char tmp[512];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(tmp)) {
        s->args.oom = true;
        n = 0;
    }
    xp_buf__append(&s->args, tmp, (size_t)n + 1);
    s->lens[*argc] = s->args.len - before - 1;
    (*argc)++;
}

static void xp_sr__arg_raw(struct xp_store_redis *s, unsigned *argc, const char *p, size_t len)
{
    xp_buf__append(&s->args, p, len);
    xp_buf__append(&s->args, "", 1);
    s->lens[*argc] = len;
    (*argc)++;
}

/* Point argv at the pieces (after all appends: the buffer may have moved). */
static void xp_sr__argv_fix(struct xp_store_redis *s, unsigned argc)
{
    size_t off = 0;

    for (unsigned i = 0; i < argc; i++) {
        s->argv[i] = s->args.p + off;
        off += s->lens[i] + 1;
    }
}

/* EVALSHA, and EVAL where the node does not have the script yet (a new or restarted node). */
static redisReply *xp_sr__eval(struct xp_store_redis *s, struct xp_sr_script *sc, unsigned bucket,
                               unsigned argc)
{
    redisReply *r;

    xp_sr__argv_fix(s, argc);
    s->argv[0] = "EVALSHA";
    s->lens[0] = 7;
    s->argv[1] = sc->sha;
    s->lens[1] = 40;
    r = xp_rc__command(s->rc, s->slots[bucket], (int)argc, s->argv, s->lens);
    if (r && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0) {
        freeReplyObject(r);
        s->noscript++;
        s->argv[0] = "EVAL";
        s->lens[0] = 4;
        s->argv[1] = sc->body;
        s->lens[1] = strlen(sc->body);
        r = xp_rc__command(s->rc, s->slots[bucket], (int)argc, s->argv, s->lens);
    }
    return r;
}

/* The head of a script call: EVALSHA sha 1 ackkey seq prefix. */
static void xp_sr__head(struct xp_store_redis *s, unsigned *argc, unsigned b, const char *writer,
                        uint64_t seq)
{
    s->args.len = 0;
    s->args.oom = false;
    *argc = 0;
    xp_sr__arg(s, argc, "EVALSHA");
    xp_sr__arg(s, argc, "sha");
    xp_sr__arg(s, argc, "1");
    xp_sr__arg(s, argc, "%s:{%s}:ack:%s", s->prefix, s->tags[b], writer);
    xp_sr__arg(s, argc, "%" PRIu64, seq);
    xp_sr__arg(s, argc, "%s:{%s}:", s->prefix, s->tags[b]);
}

static bool xp_sr__u64(const redisReply *r, uint64_t *v)
{
    char *end;

    if (r->type != REDIS_REPLY_STRING || !r->len)
        return false;
    errno = 0;
    *v = strtoull(r->str, &end, 10);
    return !errno && *end == '\0';
}

/* Parse the recorded answer of bucket b's pairs into q->pairs. */
static int xp_sr__parse_ans(struct xp_store_sync *q, const unsigned *idx, unsigned n,
                            const char *ans)
{
    const char *p = ans;

    for (unsigned k = 0; k < n; k++) {
        struct xp_sync_wire_pair *o = &q->pairs[idx[k]];
        unsigned long long v[8];
        int used = 0;

        if (sscanf(p, "%llu %llu %llu %llu %llu %llu %llu %llu%n", &v[0], &v[1], &v[2], &v[3],
                   &v[4], &v[5], &v[6], &v[7], &used) != 8)
            return -EPROTO;
        o->g.ts1 = v[0];
        o->g.ts2 = v[1];
        o->g.c = v[2];
        o->l.ts1 = v[3];
        o->l.ts2 = v[4];
        o->l.c = v[5];
        o->l.dc = v[6];
        o->l.mark = v[7] != 0;
        p += used;
        if (*p == ',')
            p++;
    }
    return 0;
}

/* Parse "hex ts1 ts2 c,..." into the feed rows. */
static int xp_sr__parse_down(struct xp_store_sync *q, const char *d)
{
    const char *p = d;

    while (*p) {
        struct xp_sync_wire_pair *o;
        unsigned long long a, b, c;
        char hex[65];
        int used = 0;

        if (q->n_down == q->room)
            return -EPROTO;
        if (sscanf(p, "%64s %llu %llu %llu%n", hex, &a, &b, &c, &used) != 4 ||
            strlen(hex) != 64)
            return -EPROTO;
        /* %64s stops at a blank, not at the ',' after c: c's %llu did */
        o = &q->down[q->n_down];
        memset(o, 0, sizeof(*o));
        if (xp_hex__decode(hex, (uint8_t *)&o->key, sizeof(o->key)) != (int)sizeof(o->key))
            return -EPROTO;
        o->g.ts1 = a;
        o->g.ts2 = b;
        o->g.c = c;
        if (o->g.ts1 > o->g.ts2)
            return -EPROTO;
        xp_sync_merge_down(&o->g, &o->l);
        q->n_down++;
        p += used;
        if (*p == ',')
            p++;
    }
    return 0;
}

/* {0|1, ans, down, more}: fill the bucket's answers (replay) and its feed rows. */
static int xp_sr__take(struct xp_store_redis *s, struct xp_store_sync *q, const unsigned *idx,
                       unsigned n, const redisReply *r, bool *more)
{
    int ret;

    if (r->elements != 4 || r->element[1]->type != REDIS_REPLY_STRING ||
        r->element[2]->type != REDIS_REPLY_STRING)
        return -EPROTO;
    if (r->element[0]->integer == 1) {
        s->replays++;
        q->replayed++;
        ret = xp_sr__parse_ans(q, idx, n, r->element[1]->str);
        if (ret < 0)
            return ret;
    }
    ret = xp_sr__parse_down(q, r->element[2]->str);
    if (ret < 0)
        return ret;
    if ((r->element[3]->type == REDIS_REPLY_STRING && strcmp(r->element[3]->str, "1") == 0) ||
        (r->element[3]->type == REDIS_REPLY_INTEGER && r->element[3]->integer == 1))
        *more = true;
    return 0;
}

/*
 * WAIT for the bucket's replicas after a commit. Fewer than asked: the
 * request fails and the proxy retries it; the retry finds the record if a
 * replica has it (a replay), else merges again on the promoted replica
 * (the first commit died with its master): exactly once either way.
 */
static int xp_sr__wait(struct xp_store_redis *s, unsigned b)
{
    char n[16], ms[16];
    const char *argv[3] = {"WAIT", n, ms};
    size_t lens[3];
    redisReply *r;
    int ret = 0;

    snprintf(n, sizeof(n), "%u", s->wait_replicas);
    snprintf(ms, sizeof(ms), "%u", s->wait_ms);
    lens[0] = 4;
    lens[1] = strlen(n);
    lens[2] = strlen(ms);
    r = xp_rc__command(s->rc, s->slots[b], 3, argv, lens);
    if (!r)
        return -errno;
    if (r->type != REDIS_REPLY_INTEGER || r->integer < (long long)s->wait_replicas) {
        long long got = r->type == REDIS_REPLY_INTEGER ? r->integer : -1;

        freeReplyObject(r);
        /*
         * A shard whose replica is gone (it was promoted: the failover we are
         * here for) would refuse every merge until an operator gives it a new
         * one. Availability first: as many as it has now, and counted.
         */
        argv[0] = "INFO";
        argv[1] = "replication";
        lens[0] = 4;
        lens[1] = 11;
        r = xp_rc__command(s->rc, s->slots[b], 2, argv, lens);
        if (!r)
            return -errno;
        {
            const char *cs = r->type == REDIS_REPLY_STRING ? strstr(r->str, "connected_slaves:")
                                                           : NULL;
            long long have = cs ? atoll(cs + 17) : -1;

            if (have >= 0 && got >= have) {
                s->wait_degraded++;
            } else {
                s->wait_short++;
                ret = -EAGAIN;
            }
        }
    }
    freeReplyObject(r);
    return ret;
}

/* One bucket of one request: read, merge, commit (again on a conflict). */
static int xp_sr__bucket_sync(struct xp_store_redis *s, struct xp_store_sync *q, unsigned b,
                              const unsigned *idx, unsigned n, const char *writer,
                              struct xp_pair_state *orig, bool *more)
{
    char hex[XP_SYNC_ID_MAX + 80];
    int ret = -EPROTO;

    for (unsigned k = 0; k < n; k++)
        orig[k] = q->pairs[idx[k]].l;
    for (unsigned attempt = 0; attempt < XP_SR_CONFLICT_TRIES; attempt++) {
        struct xp_store_sync_counts {
            uint64_t merges[4], shrinks, clamped;
        } cnt = {{0}, 0, 0};
        unsigned argc;
        redisReply *r = NULL;
        struct xp_buf ans;

        xp_buf__init(&ans);
        if (xp_sr__argv_room(s, 8 + 6 * n + 8) < 0)
            return -ENOMEM;
        if (n) {
            /* read the rows (or the recorded answer of this sequence number) */
            xp_sr__head(s, &argc, b, writer, q->seq);
            for (unsigned k = 0; k < n; k++) {
                xp_hex__encode((const uint8_t *)&q->pairs[idx[k]].key, 32, hex);
                xp_sr__arg_raw(s, &argc, hex, 64);
            }
            if (s->args.oom)
                return -ENOMEM;
            r = xp_sr__eval(s, &s->read, b, argc);
            if (!r)
                return -errno;
            if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
                r->element[0]->type != REDIS_REPLY_INTEGER) {
                if (r->type == REDIS_REPLY_ERROR)
                    pr_warn("redis store: read: %s", r->str);
                goto bad;
            }
            if (r->element[0]->integer == 1) {
                ret = xp_sr__take(s, q, idx, n, r, more);
                freeReplyObject(r);
                return ret;
            }
            if (r->elements != 1 + 5 * (size_t)n)
                goto bad;
        }
        /* merge here, with the embedded store's function; remember what each row was */
        for (unsigned k = 0; k < n; k++) {
            struct xp_sync_wire_pair *o = &q->pairs[idx[k]];
            redisReply **f = &r->element[1 + 5 * k];
            enum xp_row_state st = XP_ROW_ABSENT;
            struct xp_merge_result res;

            o->l = orig[k];
            memset(&o->g, 0, sizeof(o->g));
            if (f[0]->type == REDIS_REPLY_STRING && f[0]->len) {
                if (!xp_sr__u64(f[0], &o->g.ts1) || !xp_sr__u64(f[1], &o->g.ts2) ||
                    !xp_sr__u64(f[2], &o->g.c) || o->g.ts1 > o->g.ts2) {
                    goto bad;
                }
                st = f[3]->type == REDIS_REPLY_STRING && strcmp(f[3]->str, writer) == 0
                             ? XP_ROW_OWN
                             : XP_ROW_SHARED;
            }
            xp_sync_merge(q->merge, q->now, &o->g, st, &o->l, &res);
            cnt.merges[res.kind]++;
            cnt.shrinks += res.shrunk;
            cnt.clamped += res.clamped;
            xp_buf__printf(&ans,
                           "%s%" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64
                           " %" PRIu64 " %" PRIu64 " %u",
                           k ? "," : "", o->g.ts1, o->g.ts2, o->g.c, o->l.ts1, o->l.ts2, o->l.c,
                           o->l.dc, o->l.mark ? 1u : 0u);
        }
        /* commit if no row changed since the read */
        xp_sr__head(s, &argc, b, writer, q->seq);
        xp_sr__arg(s, &argc, "%s", writer);
        xp_sr__arg(s, &argc, "%u", q->reset ? 1u : 0u);
        xp_sr__arg(s, &argc, "%u", q->room - q->n_down);
        xp_sr__arg_raw(s, &argc, ans.p ? ans.p : "", ans.len);
        xp_sr__arg(s, &argc, "%u", n);
        for (unsigned k = 0; k < n; k++) {
            const struct xp_sync_wire_pair *o = &q->pairs[idx[k]];
            redisReply *v = r->element[1 + 5 * k + 4];
            uint64_t at = o->g.ts2 / 1000000 + q->row_ttl_ns / 1000000 + 1;

            xp_hex__encode((const uint8_t *)&o->key, 32, hex);
            xp_sr__arg_raw(s, &argc, hex, 64);
            xp_sr__arg_raw(s, &argc, v->type == REDIS_REPLY_STRING ? v->str : "",
                           v->type == REDIS_REPLY_STRING ? v->len : 0);
            xp_sr__arg(s, &argc, "%" PRIu64, o->g.ts1);
            xp_sr__arg(s, &argc, "%" PRIu64, o->g.ts2);
            xp_sr__arg(s, &argc, "%" PRIu64, o->g.c);
            xp_sr__arg(s, &argc, "%" PRIu64, at);
        }
        xp_buf__free(&ans);
        if (r)
            freeReplyObject(r);
        r = NULL;
        if (s->args.oom)
            return -ENOMEM;
        r = xp_sr__eval(s, &s->commit, b, argc);
        if (!r)
            return -errno;
        if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
            r->element[0]->type != REDIS_REPLY_INTEGER) {
            if (r->type == REDIS_REPLY_ERROR)
                pr_warn("redis store: commit: %s", r->str);
            goto bad;
        }
        if (r->element[0]->integer == 2) {
            /* another front-end wrote one of these rows between our read and commit */
            s->conflicts++;
            freeReplyObject(r);
            continue;
        }
        if (r->element[0]->integer == 0 && s->wait_replicas) {
            ret = xp_sr__wait(s, b);
            if (ret < 0) {
                freeReplyObject(r);
                return ret;
            }
        }
        ret = xp_sr__take(s, q, idx, n, r, more);
        if (!ret && r->element[0]->integer == 0) {
            for (unsigned k = 0; k < 4; k++)
                q->merges[k] += cnt.merges[k];
            q->shrinks += cnt.shrinks;
            q->clamped += cnt.clamped;
        }
        freeReplyObject(r);
        return ret;
bad:
        xp_buf__free(&ans);
        s->bad_replies++;
        if (r)
            freeReplyObject(r);
        return -EPROTO;
    }
    return -EAGAIN;
}

static int xp_sr__sync(struct xp_store *base, struct xp_store_sync *q)
{
    struct xp_store_redis *s = (struct xp_store_redis *)base;
    char writer[XP_SYNC_ID_MAX + 24];
    struct xp_pair_state *orig;
    unsigned m = 0;
    bool more = false;
    int ret = 0;

    snprintf(writer, sizeof(writer), "%s/%016" PRIx64, q->w->id, q->w->instance);
    if (q->n > s->cap) {
        unsigned *o = realloc(s->order, q->n * sizeof(*o));

        if (!o)
            return -ENOMEM;
        s->order = o;
        s->cap = q->n;
    }
    orig = malloc((q->n ? q->n : 1) * sizeof(*orig));
    if (!orig)
        return -ENOMEM;
    /* the request's pairs grouped by bucket, in request order within one (a counting sort) */
    memset(s->first, 0, (s->nb + 1) * sizeof(*s->first));
    for (unsigned i = 0; i < q->n; i++)
        if (!q->skip || !q->skip[i])
            s->first[xp_sr__bucket(s, &q->pairs[i].key) + 1]++;
    for (unsigned b = 0; b < s->nb; b++)
        s->first[b + 1] += s->first[b];
    {
        unsigned *fill = calloc(s->nb, sizeof(*fill));

        if (!fill) {
            free(orig);
            return -ENOMEM;
        }
        for (unsigned i = 0; i < q->n; i++) {
            unsigned b;

            if (q->skip && q->skip[i])
                continue;
            b = xp_sr__bucket(s, &q->pairs[i].key);
            s->order[s->first[b] + fill[b]++] = i;
            m++;
        }
        free(fill);
    }
    q->n_down = 0;
    /*
     * Every bucket: its pairs to merge and its feed (each bucket's commit is
     * atomic). The first bucket turns with the sequence number, so that a
     * full answer does not always starve the same buckets' feeds; a retry
     * (same seq) walks them in the same order, so its room per bucket, and
     * the recorded answers, are the same.
     */
    for (unsigned i = 0; i < s->nb && !ret; i++) {
        unsigned b = (unsigned)((q->seq + i) % s->nb);
        unsigned n = s->first[b + 1] - s->first[b];

        ret = xp_sr__bucket_sync(s, q, b, s->order + s->first[b], n, writer, orig, &more);
    }
    free(orig);
    if (ret < 0)
        return ret;
    q->more = more;
    /* the cursors are in the store; the proxy's only tells "not from the start" */
    q->upto = 1;
    s->syncs++;
    s->pairs += m;
    return 0;
}

static int xp_sr__epoch(struct xp_store *base, uint64_t *epoch)
{
    struct xp_store_redis *s = (struct xp_store_redis *)base;

    *epoch = s->epoch;
    return 0;
}

static void xp_sr__stats_json(struct xp_store *base, struct xp_buf *b)
{
    struct xp_store_redis *s = (struct xp_store_redis *)base;
    struct xp_rc_stats st;

    xp_rc__stats(s->rc, &st);
    xp_buf__printf(b,
                   ",\"buckets\":%u,\"masters\":%u,\"syncs\":%" PRIu64 ",\"pairs\":%" PRIu64
                   ",\"conflicts\":%" PRIu64 ",\"replays_recorded\":%" PRIu64
                   ",\"noscript\":%" PRIu64 ",\"bad_replies\":%" PRIu64
                   ",\"commands\":%" PRIu64 ",\"moved\":%" PRIu64 ",\"ask\":%" PRIu64
                   ",\"reconnects\":%" PRIu64 ",\"refreshes\":%" PRIu64 ",\"retries\":%" PRIu64
                   ",\"failures\":%" PRIu64 ",\"wait_replicas\":%u,\"wait_short\":%" PRIu64
                   ",\"wait_degraded\":%" PRIu64,
                   s->nb, st.nodes, s->syncs, s->pairs, s->conflicts, s->replays, s->noscript,
                   s->bad_replies, st.commands, st.moved, st.ask, st.reconnects, st.refreshes,
                   st.retries, st.failures, s->wait_replicas, s->wait_short,
                   s->wait_degraded);
}

static void xp_sr__destroy(struct xp_store *base)
{
    struct xp_store_redis *s = (struct xp_store_redis *)base;

    if (!s)
        return;
    xp_rc__destroy(s->rc);
    free(s->tags);
    free(s->slots);
    free(s->order);
    free(s->first);
    free(s->argv);
    free(s->lens);
    xp_buf__free(&s->args);
    free(s);
}

static const struct xp_store_ops xp_store_redis_ops = {
    .name = "redis",
    .sync = xp_sr__sync,
    .epoch = xp_sr__epoch,
    .stats_json = xp_sr__stats_json,
    .destroy = xp_sr__destroy,
};

/* SHA-1 of a script as Redis names it: SCRIPT LOAD on one node answers it. */
static int xp_sr__load(struct xp_store_redis *s, struct xp_sr_script *sc, char *err,
                       size_t err_len)
{
    const char *argv[3] = {"SCRIPT", "LOAD", sc->body};
    size_t lens[3] = {6, 4, strlen(sc->body)};
    redisReply *r = xp_rc__command(s->rc, 0, 3, argv, lens);

    if (!r || r->type != REDIS_REPLY_STRING || r->len != 40) {
        snprintf(err, err_len, "SCRIPT LOAD: %s",
                 !r ? strerror(errno) : r->type == REDIS_REPLY_ERROR ? r->str : "bad reply");
        if (r)
            freeReplyObject(r);
        return -EPROTO;
    }
    memcpy(sc->sha, r->str, 40);
    sc->sha[40] = '\0';
    freeReplyObject(r);
    return 0;
}

/* The cluster-wide epoch: the first front-end sets it, every other reads it. */
static int xp_sr__load_epoch(struct xp_store_redis *s, char *err, size_t err_len)
{
    char key[64], val[24];
    uint64_t mine;
    redisReply *r;
    int ret = xp_sync_random(&mine, sizeof(mine));

    if (ret < 0)
        return ret;
    mine |= 1; /* never 0 */
    snprintf(key, sizeof(key), "%s:{%s}:epoch", s->prefix, s->tags[0]);
    snprintf(val, sizeof(val), "%016" PRIx64, mine);
    {
        const char *argv[4] = {"SET", key, val, "NX"};
        size_t lens[4] = {3, strlen(key), strlen(val), 2};

        r = xp_rc__command(s->rc, s->slots[0], 4, argv, lens);
        if (r)
            freeReplyObject(r);
    }
    {
        const char *argv[2] = {"GET", key};
        size_t lens[2] = {3, strlen(key)};

        r = xp_rc__command(s->rc, s->slots[0], 2, argv, lens);
    }
    if (!r || r->type != REDIS_REPLY_STRING || r->len != 16) {
        snprintf(err, err_len, "epoch: %s",
                 !r ? strerror(errno) : r->type == REDIS_REPLY_ERROR ? r->str : "bad value");
        if (r)
            freeReplyObject(r);
        return -EPROTO;
    }
    s->epoch = strtoull(r->str, NULL, 16);
    freeReplyObject(r);
    return 0;
}

struct xp_store *xp_store_redis__create(const struct xp_store_redis_config *cfg, char *err,
                                        size_t err_len)
{
    struct xp_store_redis *s;
    int ret = -ENOMEM;

    err[0] = '\0';
    if (cfg->buckets > XP_STORE_BUCKETS_MAX) {
        snprintf(err, err_len, "buckets: at most %u", XP_STORE_BUCKETS_MAX);
        errno = EINVAL;
        return NULL;
    }
    s = calloc(1, sizeof(*s));
    if (!s) {
        errno = ENOMEM;
        return NULL;
    }
    s->base.ops = &xp_store_redis_ops;
    s->nb = cfg->buckets ? cfg->buckets : XP_SR_DEF_BUCKETS;
    s->wait_replicas = cfg->wait_replicas;
    s->wait_ms = cfg->wait_ms ? cfg->wait_ms : 200;
    snprintf(s->prefix, sizeof(s->prefix), "%s", cfg->prefix[0] ? cfg->prefix : "xp");
    s->read.body = xp_sr_read_lua;
    s->commit.body = xp_sr_commit_lua;
    xp_buf__init(&s->args);
    s->tags = calloc(s->nb, sizeof(*s->tags));
    s->slots = calloc(s->nb, sizeof(*s->slots));
    s->first = calloc(s->nb + 1, sizeof(*s->first));
    if (!s->tags || !s->slots || !s->first)
        goto err;
    /* bucket b's tag: the first "bB.K" whose slot lies in the b-th share of the slots */
    for (unsigned b = 0; b < s->nb; b++) {
        unsigned lo = (unsigned)((uint64_t)b * XP_RC_SLOTS / s->nb);
        unsigned hi = (unsigned)((uint64_t)(b + 1) * XP_RC_SLOTS / s->nb);

        for (unsigned k = 0;; k++) {
            snprintf(s->tags[b], sizeof(s->tags[b]), "b%u.%u", b, k);
            s->slots[b] = (uint16_t)xp_rc__slot(s->tags[b], strlen(s->tags[b]));
            if (s->slots[b] >= lo && s->slots[b] < hi)
                break;
        }
    }
    s->rc = xp_rc__create(cfg, err, err_len);
    if (!s->rc) {
        ret = -errno;
        goto err;
    }
    ret = xp_sr__load(s, &s->read, err, err_len);
    if (!ret)
        ret = xp_sr__load(s, &s->commit, err, err_len);
    if (!ret)
        ret = xp_sr__load_epoch(s, err, err_len);
    if (ret < 0)
        goto err;
    return &s->base;
err:
    xp_sr__destroy(&s->base);
    errno = -ret;
    return NULL;
}

int xp_store_redis__parse_seeds(struct xp_store_redis_config *cfg, const char *list, char *err,
                                size_t err_len)
{
    const char *p = list;

    cfg->n_seeds = 0;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        const char *colon = memchr(p, ':', len);

        if (!len || len >= sizeof(cfg->seeds[0]) || !colon || colon == p ||
            cfg->n_seeds == XP_STORE_SEEDS_MAX) {
            snprintf(err, err_len, "seeds: \"%.*s\": want host:port, at most %u of them",
                     (int)len, p, XP_STORE_SEEDS_MAX);
            return -EINVAL;
        }
        memcpy(cfg->seeds[cfg->n_seeds], p, len);
        cfg->seeds[cfg->n_seeds][len] = '\0';
        cfg->n_seeds++;
        p = e ? e + 1 : p + len;
    }
    if (!cfg->n_seeds) {
        snprintf(err, err_len, "seeds: none");
        return -EINVAL;
    }
    return 0;
}

int xp_store__open(const struct xp_central_store_conf *sc, struct xp_store **out, char *err,
                   size_t err_len)
{
    struct xp_store_redis_config rc;
    int ret;

    *out = NULL;
    err[0] = '\0';
    if (sc->kind == XP_STORE_KIND_MEMORY)
        return 0;
    if (sc->kind != XP_STORE_KIND_REDIS) {
        snprintf(err, err_len, "store.kind: unknown (%d)", sc->kind);
        return -EINVAL;
    }
    memset(&rc, 0, sizeof(rc));
    ret = xp_store_redis__parse_seeds(&rc, sc->seeds, err, err_len);
    if (ret < 0)
        return ret;
    snprintf(rc.user, sizeof(rc.user), "%s", sc->user);
    if (sc->password_file[0]) {
        ret = xp_secret_file__read(sc->password_file, rc.password, sizeof(rc.password), err,
                                   err_len);
        if (ret < 0)
            return ret;
    }
    rc.buckets = sc->buckets;
    rc.timeout_ms = (unsigned)sc->timeout_ms;
    rc.retry_ms = (unsigned)sc->retry_ms;
    rc.wait_replicas = sc->wait_replicas;
    *out = xp_store_redis__create(&rc, err, err_len);
    memset(rc.password, 0, sizeof(rc.password));
    return *out ? 0 : -errno;
}

void xp_store__destroy(struct xp_store *s)
{
    if (s)
        s->ops->destroy(s);
}
