// SPDX-License-Identifier: GPL-2.0-only
/*
 * M_DB: the central node's pair table.
 *
 * Rows live in a growable array indexed by 32-bit position and are found
 * through a chained hash (seeded). The table is bounded (docs/protocol.md
 * "Limits": full is counted), so rows age out: a row whose last packet ts2
 * is older than now - ttl is dead (a new packet of the pair would restart
 * its window anyway) and is removed by an incremental sweep
 * (xp_ctable__expire), skipped when saving and when loading.
 *
 * Removal keeps the array dense: the last row moves into the hole. Its hash
 * link is redirected, and its live log entry (found by binary search on
 * its version, versions are unique) follows it to the new index, so the
 * version order of the log, and with it every proxy's cursor, is
 * untouched. The removed row's log entries become stale like those of a
 * row written again: an entry is live only if its index is below n and the
 * row there has the entry's version.
 *
 * Deltas. Every write gives the row the next global version and appends
 * (version, row) to a log; the log is therefore sorted by version and the
 * first entry newer than a proxy's cursor is found by binary search. An
 * entry whose row has been written again since is stale and skipped; the
 * log is compacted when stale entries outnumber live ones. So a proxy that
 * asks "what changed since version v" costs O(log n + changes), never a
 * walk of the whole table. Each row also remembers its last writer (a
 * per-connection-instance token): the writer already holds the row's latest
 * state from its own answer, so it is not sent to it again.
 *
 * The on-disk format (little-endian, fixed-size records, SHA-256 trailer)
 * is described in docs/protocol.md "State file".
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "src/util/clock.h"
#include "src/util/statedir.h"
#include "sync_internal.h"

#define XP_CT_NIL UINT32_MAX
#define XP_CT_MAGIC "XPROCEN1"
#define XP_CT_FORMAT 2
#define XP_CT_REC1 64 /* format 1: key, ts1, ts2, c, version */
#define XP_CT_REC 72  /* format 2: and the writer token (u32, u32 zero) */
#define XP_CT_WREC 80 /* a writer: token u32, id length u32, instance u64, id (64, zero padded) */
#define XP_CT_WRITERS_MAX 65536

struct xp_crow {
    struct xp_policer_key key;
    struct xp_sync_global g;
    uint64_t ver;
    uint32_t writer;
    uint32_t next; /* hash chain */
};

/* Who a writer token stands for: a proxy id and the instance it announced. */
struct xp_cwriter {
    char id[XP_SYNC_ID_MAX + 1];
    uint64_t instance;
    uint32_t token;
};

struct xp_clog {
    uint64_t ver;
    uint32_t idx;
};

struct xp_ctable {
    struct xp_crow *rows;
    uint32_t n, cap, max;
    uint32_t *buckets;
    uint32_t nbuckets; /* power of two */
    uint64_t seed;
    struct xp_clog *log;
    size_t log_len, log_cap;
    uint64_t ver;
    uint64_t ttl;     /* ns; 0: rows never expire */
    uint32_t sweep;   /* next row index the expiry sweep looks at */
    uint64_t expired; /* rows removed by the sweep or skipped at load */
    struct xp_cwriter *writers; /* one per proxy id, its current instance */
    unsigned n_writers, cap_writers;
    uint32_t max_token;
};

static uint64_t xp_ct__hash(const struct xp_ctable *t, const struct xp_policer_key *k)
{
    uint64_t h = t->seed, w;
    const uint8_t *p = (const uint8_t *)k;

    for (unsigned i = 0; i < sizeof(*k); i += 8) {
        memcpy(&w, p + i, 8);
        h ^= w;
        h *= 0x9e3779b97f4a7c15ULL;
        h ^= h >> 29;
    }
    h *= 0xd6e8feb86659fd93ULL;
    return h ^ (h >> 32);
}

struct xp_ctable *xp_ctable__create(uint32_t max_pairs)
{
    struct xp_ctable *t = calloc(1, sizeof(*t));

    if (!t) {
        errno = ENOMEM;
        return NULL;
    }
    t->max = max_pairs ? max_pairs : UINT32_MAX - 1;
    t->nbuckets = 1024;
    t->buckets = malloc(t->nbuckets * sizeof(*t->buckets));
    if (!t->buckets || xp_sync_random(&t->seed, sizeof(t->seed)) < 0) {
        free(t->buckets);
        free(t);
        errno = ENOMEM;
        return NULL;
    }
    memset(t->buckets, 0xff, t->nbuckets * sizeof(*t->buckets));
    return t;
}

void xp_ctable__destroy(struct xp_ctable *t)
{
    if (!t)
        return;
    free(t->rows);
    free(t->buckets);
    free(t->log);
    free(t->writers);
    free(t);
}

int xp_ctable__set_writer(struct xp_ctable *t, const char *proxy_id, uint64_t instance,
                          uint32_t token)
{
    struct xp_cwriter *w = NULL;

    if (!token || strlen(proxy_id) > XP_SYNC_ID_MAX)
        return -EINVAL;
    for (unsigned i = 0; i < t->n_writers && !w; i++)
        if (strcmp(t->writers[i].id, proxy_id) == 0)
            w = &t->writers[i];
    if (!w) {
        if (t->n_writers == XP_CT_WRITERS_MAX)
            return -ENOSPC;
        if (t->n_writers == t->cap_writers) {
            unsigned cap = t->cap_writers ? 2 * t->cap_writers : 16;
            struct xp_cwriter *n = realloc(t->writers, cap * sizeof(*n));

            if (!n)
                return -ENOMEM;
            t->writers = n;
            t->cap_writers = cap;
        }
        w = &t->writers[t->n_writers++];
        memset(w, 0, sizeof(*w));
        memcpy(w->id, proxy_id, strlen(proxy_id));
    }
    w->instance = instance;
    w->token = token;
    if (token > t->max_token)
        t->max_token = token;
    return 0;
}

uint32_t xp_ctable__writer_token(const struct xp_ctable *t, const char *proxy_id,
                                 uint64_t instance)
{
    for (unsigned i = 0; i < t->n_writers; i++)
        if (strcmp(t->writers[i].id, proxy_id) == 0)
            return t->writers[i].instance == instance ? t->writers[i].token : 0;
    return 0;
}

const char *xp_ctable__writer_id(const struct xp_ctable *t, uint32_t token)
{
    for (unsigned i = 0; token && i < t->n_writers; i++)
        if (t->writers[i].token == token)
            return t->writers[i].id;
    return NULL;
}

uint32_t xp_ctable__max_token(const struct xp_ctable *t)
{
    return t->max_token;
}

uint32_t xp_ctable__count(const struct xp_ctable *t)
{
    return t->n;
}

uint64_t xp_ctable__version(const struct xp_ctable *t)
{
    return t->ver;
}

void xp_ctable__set_ttl(struct xp_ctable *t, uint64_t ttl_ns)
{
    t->ttl = ttl_ns;
}

uint64_t xp_ctable__expired(const struct xp_ctable *t)
{
    return t->expired;
}

/* Dead: the last packet is older than now - ttl (exactly ttl old is still alive). */
static bool xp_ct__dead(const struct xp_ctable *t, const struct xp_sync_global *g, uint64_t now)
{
    return t->ttl && now > t->ttl && g->ts2 < now - t->ttl;
}

/* The log entry is the row's current version (not stale, not a removed row's). */
static bool xp_ct__live(const struct xp_ctable *t, const struct xp_clog *e)
{
    return e->idx < t->n && t->rows[e->idx].ver == e->ver;
}

static uint32_t xp_ct__lookup(const struct xp_ctable *t, const struct xp_policer_key *k)
{
    uint32_t i = t->buckets[xp_ct__hash(t, k) & (t->nbuckets - 1)];

    while (i != XP_CT_NIL) {
        if (memcmp(&t->rows[i].key, k, sizeof(*k)) == 0)
            return i;
        i = t->rows[i].next;
    }
    return XP_CT_NIL;
}

struct xp_sync_global *xp_ctable__find(struct xp_ctable *t, const struct xp_policer_key *key)
{
    uint32_t i = xp_ct__lookup(t, key);

    return i == XP_CT_NIL ? NULL : &t->rows[i].g;
}

static int xp_ct__rehash(struct xp_ctable *t, uint32_t nb)
{
    uint32_t *b = malloc((size_t)nb * sizeof(*b));

    if (!b)
        return -ENOMEM;
    memset(b, 0xff, (size_t)nb * sizeof(*b));
    for (uint32_t i = 0; i < t->n; i++) {
        uint32_t h = xp_ct__hash(t, &t->rows[i].key) & (nb - 1);

        t->rows[i].next = b[h];
        b[h] = i;
    }
    free(t->buckets);
    t->buckets = b;
    t->nbuckets = nb;
    return 0;
}

struct xp_sync_global *xp_ctable__get(struct xp_ctable *t, const struct xp_policer_key *key,
                                      bool *created)
{
    uint32_t i = xp_ct__lookup(t, key), h;

    *created = false;
    if (i != XP_CT_NIL)
        return &t->rows[i].g;
    if (t->n >= t->max)
        return NULL;
    if (t->n == t->cap) {
        uint32_t cap = t->cap ? t->cap * 2 : 1024;
        struct xp_crow *rows;

        if (cap > t->max)
            cap = t->max;
        rows = realloc(t->rows, (size_t)cap * sizeof(*rows));
        if (!rows)
            return NULL;
        t->rows = rows;
        t->cap = cap;
    }
    if (t->n >= t->nbuckets && t->nbuckets < (1U << 31) &&
        xp_ct__rehash(t, t->nbuckets * 2) < 0)
        return NULL;
    i = t->n++;
    memset(&t->rows[i], 0, sizeof(t->rows[i]));
    t->rows[i].key = *key;
    h = xp_ct__hash(t, key) & (t->nbuckets - 1);
    t->rows[i].next = t->buckets[h];
    t->buckets[h] = i;
    *created = true;
    return &t->rows[i].g;
}

static void xp_ct__compact(struct xp_ctable *t)
{
    size_t w = 0;

    for (size_t r = 0; r < t->log_len; r++)
        if (xp_ct__live(t, &t->log[r]))
            t->log[w++] = t->log[r];
    t->log_len = w;
}

static int xp_ct__log_append(struct xp_ctable *t, uint64_t ver, uint32_t idx)
{
    if (t->log_len == t->log_cap) {
        if (t->log_len > 2 * (size_t)t->n + 1024)
            xp_ct__compact(t);
        if (t->log_len == t->log_cap) {
            size_t cap = t->log_cap ? t->log_cap * 2 : 4096;
            struct xp_clog *log = realloc(t->log, cap * sizeof(*log));

            if (!log)
                return -ENOMEM;
            t->log = log;
            t->log_cap = cap;
        }
    }
    t->log[t->log_len].ver = ver;
    t->log[t->log_len].idx = idx;
    t->log_len++;
    return 0;
}

uint32_t xp_ctable__writer(const struct xp_ctable *t, const struct xp_policer_key *key)
{
    uint32_t i = xp_ct__lookup(t, key);

    return i == XP_CT_NIL ? 0 : t->rows[i].writer;
}

void xp_ctable__touch(struct xp_ctable *t, const struct xp_policer_key *key, uint32_t writer)
{
    uint32_t i = xp_ct__lookup(t, key);

    if (i == XP_CT_NIL)
        return;
    t->rows[i].ver = ++t->ver;
    t->rows[i].writer = writer;
    if (xp_ct__log_append(t, t->ver, i) < 0) {
        /*
         * Out of memory for the log: compact in place and retry; if even that
         * fails the row is still correct, only its delta to other proxies is
         * delayed until it is written again.
         */
        xp_ct__compact(t);
        xp_ct__log_append(t, t->ver, i);
    }
}

unsigned xp_ctable__scan(struct xp_ctable *t, uint64_t since, uint32_t writer,
                         struct xp_sync_wire_pair *out, unsigned max, uint64_t *upto,
                         bool *more)
{
    size_t lo = 0, hi = t->log_len;
    unsigned n = 0;

    *more = false;
    *upto = since > t->ver ? t->ver : since;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (t->log[mid].ver <= since)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < t->log_len; lo++) {
        const struct xp_clog *e = &t->log[lo];
        const struct xp_crow *row;

        /* stale: written again since, or removed (expired) */
        if (!xp_ct__live(t, e) || (writer && t->rows[e->idx].writer == writer)) {
            *upto = e->ver;
            continue;
        }
        if (n == max) {
            *more = true;
            return n;
        }
        row = &t->rows[e->idx];
        out[n].key = row->key;
        out[n].g = row->g;
        xp_sync_merge_down(&row->g, &out[n].l);
        n++;
        *upto = e->ver;
    }
    *upto = t->ver;
    return n;
}

/* The log entry of version ver, or NULL (the log is sorted by version, versions are unique). */
static struct xp_clog *xp_ct__log_find(struct xp_ctable *t, uint64_t ver)
{
    size_t lo = 0, hi = t->log_len;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (t->log[mid].ver < ver)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < t->log_len && t->log[lo].ver == ver ? &t->log[lo] : NULL;
}

/* The hash link that points at row i (a bucket head or a chain's next). */
static uint32_t *xp_ct__link_to(struct xp_ctable *t, uint32_t i)
{
    uint32_t *link = &t->buckets[xp_ct__hash(t, &t->rows[i].key) & (t->nbuckets - 1)];

    while (*link != i && *link != XP_CT_NIL)
        link = &t->rows[*link].next;
    return *link == i ? link : NULL;
}

/*
 * Remove row i: unlink it, move the last row into its place (dense array,
 * so that the sweep, foreach and save stay O(n)) and let that row's live
 * log entry follow it. The log's version order is unchanged, so a cursor
 * scan neither misses nor repeats a live row.
 */
static void xp_ct__remove(struct xp_ctable *t, uint32_t i)
{
    uint32_t last = t->n - 1, *link = xp_ct__link_to(t, i);

    if (link)
        *link = t->rows[i].next;
    if (i != last) {
        struct xp_clog *e;

        link = xp_ct__link_to(t, last);
        if (link)
            *link = i;
        e = xp_ct__log_find(t, t->rows[last].ver);
        if (e && e->idx == last)
            e->idx = i;
        t->rows[i] = t->rows[last];
    }
    memset(&t->rows[last], 0, sizeof(t->rows[last]));
    t->n--;
}

unsigned xp_ctable__expire(struct xp_ctable *t, uint64_t now, unsigned max_visit)
{
    unsigned removed = 0, visit = max_visit < t->n ? max_visit : t->n;

    if (!t->ttl)
        return 0;
    for (unsigned v = 0; v < visit && t->n; v++) {
        if (t->sweep >= t->n)
            t->sweep = 0;
        if (xp_ct__dead(t, &t->rows[t->sweep].g, now)) {
            /* the last row moved here: the next visit looks at it */
            xp_ct__remove(t, t->sweep);
            removed++;
        } else {
            t->sweep++;
        }
    }
    t->expired += removed;
    return removed;
}

void xp_ctable__foreach(const struct xp_ctable *t,
                        void (*fn)(void *arg, const struct xp_policer_key *key,
                                   const struct xp_sync_global *g),
                        void *arg)
{
    for (uint32_t i = 0; i < t->n; i++)
        fn(arg, &t->rows[i].key, &t->rows[i].g);
}

/* ---- persistence ---- */

static void xp_put64(uint8_t *p, uint64_t v)
{
    for (unsigned i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t xp_get64(const uint8_t *p)
{
    uint64_t v = 0;

    for (unsigned i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static int xp_write_all(int fd, const void *buf, size_t len)
{
    const uint8_t *p = buf;

    while (len) {
        ssize_t n = write(fd, p, len);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int xp_ctable__save(const struct xp_ctable *t, const char *path)
{
    return xp_ctable__save_at(t, path, xp_real_ns());
}

static int xp_ct__cmp_writer(const void *a, const void *b)
{
    const struct xp_cwriter *x = a, *y = b;

    return x->token < y->token ? -1 : x->token > y->token;
}

/* The writer entry of token in w[0..n) sorted by token, or NULL. */
static struct xp_cwriter *xp_ct__writer_of(struct xp_cwriter *w, unsigned n, uint32_t token)
{
    struct xp_cwriter k = {.token = token};

    return token && n ? bsearch(&k, w, n, sizeof(*w), xp_ct__cmp_writer) : NULL;
}

/* Write len bytes and feed them to the digest. */
static int xp_ct__emit(int fd, EVP_MD_CTX *ctx, const uint8_t *p, size_t len)
{
    EVP_DigestUpdate(ctx, p, len);
    return xp_write_all(fd, p, len);
}

int xp_ctable__save_at(const struct xp_ctable *t, const char *path, uint64_t now)
{
    uint8_t hdr[40], rec[XP_CT_REC * 64], md[EVP_MAX_MD_SIZE];
    struct xp_cwriter *w = NULL;
    uint8_t *in_use = NULL;
    char tmp[PATH_MAX];
    unsigned int md_len = 0, fill = 0;
    EVP_MD_CTX *ctx = NULL;
    uint32_t live = 0, done = 0, used = 0;
    int fd = -1, ret;

    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
        return -ENAMETOOLONG;
    ctx = EVP_MD_CTX_new();
    if (t->n_writers) {
        w = malloc(t->n_writers * sizeof(*w));
        in_use = calloc(t->n_writers, 1);
        if (w) {
            memcpy(w, t->writers, t->n_writers * sizeof(*w));
            qsort(w, t->n_writers, sizeof(*w), xp_ct__cmp_writer);
        }
    }
    if (!ctx || (t->n_writers && (!w || !in_use)) || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
        ret = -ENOMEM;
        goto out;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        ret = -errno;
        goto out;
    }
    /*
     * Only live rows are written: dead ones not yet reached by the sweep
     * would be skipped at load anyway. The header needs the counts first:
     * rows, and the writers that a live row names (only the current
     * instance of each proxy id is known; a row of an older instance is
     * written without a writer, as it would be compared as one anyway).
     */
    for (uint32_t i = 0; i < t->n; i++) {
        struct xp_cwriter *e;

        if (xp_ct__dead(t, &t->rows[i].g, now))
            continue;
        live++;
        e = xp_ct__writer_of(w, t->n_writers, t->rows[i].writer);
        if (e && !in_use[e - w]) {
            in_use[e - w] = 1;
            used++;
        }
    }
    memcpy(hdr, XP_CT_MAGIC, 8);
    xp_put64(hdr + 8, XP_CT_FORMAT);
    xp_put64(hdr + 16, live);
    xp_put64(hdr + 24, t->ver);
    xp_put64(hdr + 32, used);
    ret = xp_ct__emit(fd, ctx, hdr, sizeof(hdr));
    for (unsigned i = 0; !ret && i < t->n_writers; i++) {
        uint8_t wr[XP_CT_WREC] = {0};
        size_t len = strlen(w[i].id);

        if (!in_use[i])
            continue;
        xp_put64(wr, (uint64_t)w[i].token | (uint64_t)len << 32);
        xp_put64(wr + 8, w[i].instance);
        memcpy(wr + 16, w[i].id, len);
        ret = xp_ct__emit(fd, ctx, wr, sizeof(wr));
    }
    for (uint32_t i = 0; !ret && i < t->n; i++) {
        uint8_t *r = rec + (size_t)fill * XP_CT_REC;
        const struct xp_cwriter *e;

        if (xp_ct__dead(t, &t->rows[i].g, now))
            continue;
        e = xp_ct__writer_of(w, t->n_writers, t->rows[i].writer);
        memcpy(r, &t->rows[i].key, 32);
        xp_put64(r + 32, t->rows[i].g.ts1);
        xp_put64(r + 40, t->rows[i].g.ts2);
        xp_put64(r + 48, t->rows[i].g.c);
        xp_put64(r + 56, t->rows[i].ver);
        xp_put64(r + 64, e ? e->token : 0);
        done++;
        if (++fill == 64 || done == live) {
            ret = xp_ct__emit(fd, ctx, rec, (size_t)fill * XP_CT_REC);
            fill = 0;
        }
    }
    if (ret)
        goto err_unlink;
    EVP_DigestFinal_ex(ctx, md, &md_len);
    ret = xp_write_all(fd, md, md_len);
    if (ret)
        goto err_unlink;
    if (fsync(fd) < 0) {
        ret = -errno;
        goto err_unlink;
    }
    if (close(fd) < 0) {
        fd = -1;
        ret = -errno;
        goto err_unlink;
    }
    fd = -1;
    if (rename(tmp, path) < 0) {
        ret = -errno;
        goto err_unlink;
    }
    ret = xp_statedir__fsync_parent(path);
    goto out;
err_unlink:
    if (fd >= 0)
        close(fd);
    fd = -1;
    unlink(tmp);
out:
    free(in_use);
    free(w);
    EVP_MD_CTX_free(ctx);
    return ret;
}

static int xp_ct__cmp_log(const void *a, const void *b)
{
    const struct xp_clog *x = a, *y = b;

    return x->ver < y->ver ? -1 : x->ver > y->ver;
}

int xp_ctable__load(struct xp_ctable *t, const char *path, char *err, size_t err_len)
{
    return xp_ctable__load_at(t, path, xp_real_ns(), err, err_len);
}

int xp_ctable__load_at(struct xp_ctable *t, const char *path, uint64_t now, char *err,
                       size_t err_len)
{
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    uint8_t *buf = NULL;
    uint64_t n, ver, fmt, nw, skipped = 0;
    struct xp_cwriter *sorted = NULL;
    size_t hdr_len, rec_len;
    const uint8_t *rows;
    struct stat st;
    size_t size, got = 0;
    int fd, ret;

    err[0] = '\0';
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) < 0) {
        ret = -errno;
        goto out;
    }
    size = (size_t)st.st_size;
    if (size < 32 + 32) {
        snprintf(err, err_len, "%s: truncated (%zu bytes)", path, size);
        ret = -EBADMSG;
        goto out;
    }
    buf = malloc(size);
    if (!buf) {
        ret = -ENOMEM;
        goto out;
    }
    while (got < size) {
        ssize_t r = read(fd, buf + got, size - got);

        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            ret = r < 0 ? -errno : -EBADMSG;
            snprintf(err, err_len, "%s: short read", path);
            goto out;
        }
        got += (size_t)r;
    }
    if (memcmp(buf, XP_CT_MAGIC, 8) != 0) {
        snprintf(err, err_len, "%s: not an xpro-central state file (bad magic)", path);
        ret = -EBADMSG;
        goto out;
    }
    fmt = xp_get64(buf + 8);
    n = xp_get64(buf + 16);
    ver = xp_get64(buf + 24);
    if (fmt != 1 && fmt != XP_CT_FORMAT) {
        snprintf(err, err_len, "%s: unsupported format version %llu", path,
                 (unsigned long long)fmt);
        ret = -EBADMSG;
        goto out;
    }
    /* format 1 (no writers): rows load without a writer, merged as shared */
    hdr_len = fmt == 1 ? 32 : 40;
    rec_len = fmt == 1 ? XP_CT_REC1 : XP_CT_REC;
    nw = fmt == 1 || size < hdr_len + 32 ? 0 : xp_get64(buf + 32);
    if (nw > XP_CT_WRITERS_MAX || n > size / rec_len ||
        hdr_len + nw * XP_CT_WREC + n * rec_len + 32 != size) {
        snprintf(err, err_len, "%s: size %zu does not match %llu records (truncated?)", path,
                 size, (unsigned long long)n);
        ret = -EBADMSG;
        goto out;
    }
    if (!EVP_Digest(buf, size - 32, md, &md_len, EVP_sha256(), NULL) || md_len != 32 ||
        memcmp(md, buf + size - 32, 32) != 0) {
        snprintf(err, err_len, "%s: checksum mismatch (corrupt file)", path);
        ret = -EBADMSG;
        goto out;
    }
    if (n > t->max) {
        snprintf(err, err_len, "%s: %llu pairs, more than max_table_pairs %u", path,
                 (unsigned long long)n, t->max);
        ret = -EBADMSG;
        goto out;
    }
    /* start from empty */
    t->n = 0;
    t->log_len = 0;
    t->n_writers = 0;
    t->max_token = 0;
    memset(t->buckets, 0xff, t->nbuckets * sizeof(*t->buckets));
    if (nw > t->cap_writers) {
        struct xp_cwriter *wn = realloc(t->writers, nw * sizeof(*wn));

        if (!wn) {
            ret = -ENOMEM;
            goto out;
        }
        t->writers = wn;
        t->cap_writers = (unsigned)nw;
    }
    for (uint64_t i = 0; i < nw; i++) {
        const uint8_t *wr = buf + hdr_len + i * XP_CT_WREC;
        uint64_t tl = xp_get64(wr);
        uint32_t token = (uint32_t)tl, len = (uint32_t)(tl >> 32);
        char id[XP_SYNC_ID_MAX + 1] = {0};

        if (len > XP_SYNC_ID_MAX || !token) {
            snprintf(err, err_len, "%s: writer %llu: inconsistent values", path,
                     (unsigned long long)i);
            ret = -EBADMSG;
            goto out;
        }
        memcpy(id, wr + 16, len);
        if (!xp_sync_id__valid(id)) {
            snprintf(err, err_len, "%s: writer %llu: invalid proxy id", path,
                     (unsigned long long)i);
            ret = -EBADMSG;
            goto out;
        }
        /* appended as is: one entry per id is what save writes, a crafted duplicate only shadows */
        t->writers[i].instance = xp_get64(wr + 8);
        t->writers[i].token = token;
        memcpy(t->writers[i].id, id, sizeof(id));
        t->n_writers = (unsigned)i + 1;
        if (token > t->max_token)
            t->max_token = token;
    }
    /* rows name writers by token: a sorted copy to find them, unique tokens */
    if (nw) {
        sorted = malloc(nw * sizeof(*sorted));
        if (!sorted) {
            ret = -ENOMEM;
            goto out;
        }
        memcpy(sorted, t->writers, nw * sizeof(*sorted));
        qsort(sorted, nw, sizeof(*sorted), xp_ct__cmp_writer);
        for (uint64_t i = 1; i < nw; i++) {
            if (sorted[i].token == sorted[i - 1].token) {
                snprintf(err, err_len, "%s: token %u on two writers (inconsistent values)",
                         path, sorted[i].token);
                ret = -EBADMSG;
                goto out;
            }
        }
    }
    rows = buf + hdr_len + nw * XP_CT_WREC;
    for (uint64_t i = 0; i < n; i++) {
        const uint8_t *r = rows + i * rec_len;
        uint64_t writer = fmt == 1 ? 0 : xp_get64(r + 64);
        struct xp_sync_global v = {xp_get64(r + 32), xp_get64(r + 40), xp_get64(r + 48)};
        uint64_t rver = xp_get64(r + 56);
        struct xp_policer_key key;
        struct xp_sync_global *g;
        bool created;
        uint32_t idx;

        if (v.ts1 > v.ts2 || v.c > XP_SYNC_MAX_COUNT || rver > ver ||
            (writer && (writer > UINT32_MAX ||
                        !xp_ct__writer_of(sorted, (unsigned)nw, (uint32_t)writer)))) {
            snprintf(err, err_len, "%s: record %llu: inconsistent values", path,
                     (unsigned long long)i);
            ret = -EBADMSG;
            goto out;
        }
        /* aged out while the central was down (or written by an older build): stays out */
        if (xp_ct__dead(t, &v, now)) {
            skipped++;
            continue;
        }
        memcpy(&key, r, 32);
        g = xp_ctable__get(t, &key, &created);
        if (!g || !created) {
            snprintf(err, err_len, "%s: record %llu: %s", path, (unsigned long long)i,
                     g ? "duplicate pair" : "out of memory");
            ret = g ? -EBADMSG : -ENOMEM;
            goto out;
        }
        *g = v;
        idx = t->n - 1;
        t->rows[idx].ver = rver;
        t->rows[idx].writer = (uint32_t)writer;
        if (xp_ct__log_append(t, t->rows[idx].ver, idx) < 0) {
            ret = -ENOMEM;
            goto out;
        }
    }
    if (t->log_len) /* no log allocated yet when every row was skipped */
        qsort(t->log, t->log_len, sizeof(*t->log), xp_ct__cmp_log);
    /* removal finds a row's log entry by its version: versions must be unique */
    for (size_t i = 1; i < t->log_len; i++) {
        if (t->log[i].ver == t->log[i - 1].ver) {
            snprintf(err, err_len, "%s: version %llu on two records (inconsistent values)",
                     path, (unsigned long long)t->log[i].ver);
            ret = -EBADMSG;
            goto out;
        }
    }
    t->ver = ver;
    t->sweep = 0;
    t->expired += skipped;
    ret = 0;
out:
    if (ret < 0 && ret != -ENOENT) {
        t->n = 0;
        t->log_len = 0;
        t->n_writers = 0;
        t->max_token = 0;
        memset(t->buckets, 0xff, t->nbuckets * sizeof(*t->buckets));
    }
    free(sorted);
    free(buf);
    close(fd);
    return ret;
}
