// SPDX-License-Identifier: GPL-2.0-only
/*
 * Row expiry of the central table (docs/protocol.md "Limits", row_ttl_ms):
 * a row whose ts2 is older than now - row_ttl is removed by the incremental
 * sweep, not before; at the cap, expiry makes room for new pairs; save
 * writes only live rows and load skips dead ones (counted), so expired rows
 * stay expired after a restart; the delta scan with a cursor still returns
 * every live row changed since the cursor exactly once, in version order,
 * after removals in the middle of that order (a deterministic case and a
 * randomized one against a plain model); a row_ttl_ms shorter than
 * merge.t_t1_ms is a configuration error. Then the same through an
 * in-process xpro-central: the default row_ttl (t_t1 + max_skew), the
 * `expired` stat, a full table taking new pairs again, and a restart from
 * the state file. The table tests use injected clocks; the central one
 * real time (about 1 s).
 */
#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include "src/util/log.h"
#include "test_sync_common.h"

#define MS 1000000ULL

static char dir[] = "/tmp/xp-expiry-XXXXXX";

/* Write row u with ts2 (ts1 = ts2) and c, as the server does: get, set, touch. */
static bool put(struct xp_ctable *t, unsigned u, uint64_t ts2, uint64_t c, uint32_t writer)
{
    struct xp_policer_key k = tkey(u, 1);
    struct xp_sync_global *g;
    bool created;

    g = xp_ctable__get(t, &k, &created);
    if (!g)
        return false;
    g->ts1 = ts2;
    g->ts2 = ts2;
    g->c = c;
    xp_ctable__touch(t, &k, writer);
    return true;
}

static bool has(struct xp_ctable *t, unsigned u)
{
    struct xp_policer_key k = tkey(u, 1);

    return xp_ctable__find(t, &k) != NULL;
}

/* (a) after row_ttl and not before; bounded steps; ttl 0 never expires */
static void test_ttl(void)
{
    struct xp_ctable *t = xp_ctable__create(100);
    const uint64_t ttl = 1000;

    CHECK(t != NULL);
    /* no ttl set: nothing ever expires */
    CHECK(put(t, 1, 5000, 1, 1));
    CHECK_EQ(xp_ctable__expire(t, UINT64_MAX / 2, 100), 0);
    CHECK_EQ(xp_ctable__count(t), 1);
    xp_ctable__set_ttl(t, ttl);
    CHECK(put(t, 2, 5500, 1, 1));
    /* exactly ttl old: alive */
    CHECK_EQ(xp_ctable__expire(t, 5000 + ttl, 100), 0);
    CHECK_EQ(xp_ctable__count(t), 2);
    /* now before ttl (clock at boot, a row from the future): nothing underflows */
    CHECK_EQ(xp_ctable__expire(t, 10, 100), 0);
    CHECK_EQ(xp_ctable__count(t), 2);
    /* 1 ns more: row 1 is dead, row 2 is not */
    CHECK_EQ(xp_ctable__expire(t, 5000 + ttl + 1, 100), 1);
    CHECK_EQ(xp_ctable__count(t), 1);
    CHECK(!has(t, 1));
    CHECK(has(t, 2));
    CHECK_EQ(xp_ctable__expired(t), 1);
    CHECK_EQ(xp_ctable__expire(t, 5500 + ttl, 100), 0);
    CHECK_EQ(xp_ctable__expire(t, 5500 + ttl + 1, 100), 1);
    CHECK_EQ(xp_ctable__count(t), 0);
    CHECK_EQ(xp_ctable__expire(t, UINT64_MAX / 2, 100), 0); /* empty: fine */

    /* bounded work: each step looks at most max_visit rows; passes wrap around */
    for (unsigned u = 0; u < 40; u++)
        CHECK(put(t, 100 + u, u % 2 ? 10000 : 100000, 1, 1));
    CHECK_EQ(xp_ctable__count(t), 40);
    {
        unsigned removed = 0, steps = 0, r;

        while (steps < 100) {
            r = xp_ctable__expire(t, 50000, 7);
            CHECK(r <= 7);
            removed += r;
            steps++;
            if (removed == 20)
                break;
        }
        CHECK_EQ(removed, 20);
        CHECK(steps >= 3); /* 20 removals at <= 7 per step */
        CHECK(steps <= 7); /* and one pass of 40 rows (removals included) in 7-row steps */
    }
    CHECK_EQ(xp_ctable__count(t), 20);
    for (unsigned u = 0; u < 40; u++)
        CHECK_EQ(has(t, 100 + u), !(u % 2));
    CHECK_EQ(xp_ctable__expired(t), 22);
    xp_ctable__destroy(t);
}

/* (b) at the cap, after expiry, new pairs are stored again */
static void test_cap(void)
{
    struct xp_ctable *t = xp_ctable__create(8);
    struct xp_policer_key k = tkey(99, 1);
    bool created;

    xp_ctable__set_ttl(t, 1000);
    for (unsigned u = 0; u < 8; u++)
        CHECK(put(t, u, u < 5 ? 100 : 2000, 1, 1));
    CHECK(xp_ctable__get(t, &k, &created) == NULL); /* full */
    CHECK_EQ(xp_ctable__expire(t, 2500, 1000), 5);
    CHECK_EQ(xp_ctable__count(t), 3);
    for (unsigned u = 90; u < 95; u++)
        CHECK(put(t, u, 2500, 1, 2));
    CHECK(xp_ctable__get(t, &k, &created) == NULL); /* full again */
    for (unsigned u = 0; u < 8; u++)
        CHECK_EQ(has(t, u), u >= 5);
    for (unsigned u = 90; u < 95; u++)
        CHECK(has(t, u));
    xp_ctable__destroy(t);
}

/* Scan from since, in batches of max, into keys (unit numbers) and versions. */
static unsigned scan_all(struct xp_ctable *t, uint64_t since, uint32_t writer, unsigned max,
                         unsigned *units, unsigned cap)
{
    struct xp_sync_wire_pair out[16];
    unsigned n = 0;
    bool more = true;

    while (more) {
        uint64_t upto;
        unsigned got = xp_ctable__scan(t, since, writer, out, max, &upto, &more);

        for (unsigned i = 0; i < got && n < cap; i++)
            units[n++] = (unsigned)out[i].key.unit[13] << 16 | (unsigned)out[i].key.unit[14] << 8 |
                         out[i].key.unit[15];
        CHECK(upto >= since);
        since = upto;
    }
    return n;
}

/* (d) a deterministic case: removals in the middle of the version order */
static void test_scan_fixed(void)
{
    struct xp_ctable *t = xp_ctable__create(64);
    unsigned units[64], n, cursor;

    xp_ctable__set_ttl(t, 1000);
    /* rows 0..19, versions 1..20; odd rows are old (dead at now = 5000) */
    for (unsigned u = 0; u < 20; u++)
        CHECK(put(t, u, u % 2 ? 100 : 4500, u, 1));
    cursor = 8; /* a proxy has seen versions 1..8 (rows 0..7) */
    /* rewrite rows 2 and 3 (stale log entries; row 3 stays dead) */
    CHECK(put(t, 2, 4600, 2, 1));
    CHECK(put(t, 3, 100, 3, 1));
    CHECK_EQ(xp_ctable__expire(t, 5000, 64), 10);
    CHECK_EQ(xp_ctable__count(t), 10);
    /* every live row changed after the cursor, once, oldest first: 8, 10, ..., 18, then 2 */
    n = scan_all(t, cursor, 0, 3, units, 64);
    CHECK_EQ(n, 7);
    for (unsigned i = 0; i < 6 && i < n; i++)
        CHECK_EQ(units[i], 8 + 2 * i);
    if (n == 7)
        CHECK_EQ(units[6], 2);
    /* from 0: all ten live rows, once */
    n = scan_all(t, 0, 0, 4, units, 64);
    CHECK_EQ(n, 10);
    /* the writer filter still applies to moved rows */
    CHECK(put(t, 18, 4700, 18, 7));
    n = scan_all(t, cursor, 7, 5, units, 64);
    CHECK_EQ(n, 6);
    for (unsigned i = 0; i < n; i++)
        CHECK(units[i] != 18);
    /* new rows take the freed slots; the removed rows' old entries do not come back */
    for (unsigned u = 40; u < 45; u++)
        CHECK(put(t, u, 4800, u, 1));
    n = scan_all(t, xp_ctable__version(t) - 5, 0, 2, units, 64);
    CHECK_EQ(n, 5);
    for (unsigned i = 0; i < n; i++)
        CHECK_EQ(units[i], 40 + i);
    xp_ctable__destroy(t);
}

/* (d) randomized against a model: inserts, rewrites, sweeps of random size, scans */
#define R_KEYS 600
#define R_MAX 300

struct mrow {
    bool live;
    uint64_t ts2, ver;
};

static uint64_t rng = 12345;

static uint64_t rnd(uint64_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng % n;
}

static void test_scan_random(void)
{
    static struct mrow m[R_KEYS];
    static unsigned units[R_KEYS];
    struct xp_ctable *t = xp_ctable__create(R_MAX);
    const uint64_t ttl = 5000;
    uint64_t now = 100000, ver = 0, removed_total = 0;
    unsigned live = 0, bad_scan = 0, bad_find = 0;

    xp_ctable__set_ttl(t, ttl);
    for (unsigned step = 0; step < 20000; step++) {
        unsigned op = (unsigned)rnd(100);

        now += rnd(40);
        if (op < 60) {
            unsigned u = (unsigned)rnd(R_KEYS);
            /* mostly fresh, sometimes already old (a late sync of an old window) */
            uint64_t ts2 = rnd(10) ? now - rnd(ttl / 2) : now - ttl - rnd(ttl);

            if (put(t, u, ts2, u, (uint32_t)rnd(3) + 1)) {
                if (!m[u].live)
                    live++;
                m[u] = (struct mrow){true, ts2, ++ver};
            } else {
                /* refused only when full and the pair is not there (swept or never put) */
                CHECK_EQ(xp_ctable__count(t), R_MAX);
                CHECK(!has(t, u));
            }
        } else if (op < 85) {
            unsigned r = xp_ctable__expire(t, now, (unsigned)rnd(50) + 1);

            removed_total += r;
        } else {
            /* a full pass with the model's view of what is dead must agree */
            uint64_t since = ver ? rnd(ver + 1) : 0;
            unsigned n = scan_all(t, since, 0, (unsigned)rnd(16) + 1, units, R_KEYS);
            unsigned want = 0;
            uint64_t last_ver = 0;

            for (unsigned u = 0; u < R_KEYS; u++)
                want += m[u].live && m[u].ver > since;
            /*
             * Rows the table has not swept yet are still in it: the model
             * removes a row only where the table did (its find), so the
             * comparison is between the two views of the same table.
             */
            for (unsigned u = 0; u < R_KEYS; u++) {
                if (m[u].live && !has(t, u)) {
                    CHECK(m[u].ts2 < now - ttl); /* removed only when dead */
                    m[u].live = false;
                    live--;
                    if (m[u].ver > since)
                        want--;
                }
                if (!m[u].live && has(t, u))
                    bad_find++;
            }
            if (n != want)
                bad_scan++;
            for (unsigned i = 0; i < n; i++) {
                unsigned u = units[i];

                if (u >= R_KEYS || !m[u].live || m[u].ver <= since || m[u].ver <= last_ver) {
                    bad_scan++; /* not live, not changed since, repeated or out of order */
                    break;
                }
                last_ver = m[u].ver;
            }
            CHECK_EQ(xp_ctable__count(t), live);
        }
    }
    CHECK_EQ(bad_scan, 0);
    CHECK_EQ(bad_find, 0);
    CHECK(removed_total > 1000); /* the mix really removes in the middle of the order */
    CHECK_EQ(xp_ctable__expired(t), removed_total);
    xp_ctable__destroy(t);
}

static uint64_t file_get64(const char *path, long off)
{
    FILE *f = fopen(path, "rb");
    uint8_t b[8] = {0};
    uint64_t v = 0;

    if (f) {
        fseek(f, off, SEEK_SET);
        if (fread(b, 1, 8, f) != 8)
            memset(b, 0, sizeof(b));
        fclose(f);
    }
    for (int i = 7; i >= 0; i--)
        v = v << 8 | b[i];
    return v;
}

static long file_size(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* (c) save writes live rows only; load skips dead ones and counts them */
static void test_persist(void)
{
    char path[256], err[256];
    struct xp_ctable *t = xp_ctable__create(100), *l;
    const uint64_t ttl = 1000;
    uint64_t ver;

    snprintf(path, sizeof(path), "%s/state", dir);
    xp_ctable__set_ttl(t, ttl);
    /* rows 0..9 last packet at 10000, rows 10..14 at 9000 */
    for (unsigned u = 0; u < 15; u++)
        CHECK(put(t, u, u < 10 ? 10000 : 9000, u + 1, 1));
    ver = xp_ctable__version(t);
    /* at 10500 rows 10..14 are dead (not swept yet): not in the file */
    CHECK_EQ(xp_ctable__save_at(t, path, 10500), 0);
    CHECK_EQ(file_get64(path, 16), 10);
    CHECK_EQ(file_size(path), 40 + 10 * 72 + 32); /* format 2: header, rows, digest */
    l = xp_ctable__create(100);
    xp_ctable__set_ttl(l, ttl);
    CHECK_EQ(xp_ctable__load_at(l, path, 10500, err, sizeof(err)), 0);
    CHECK_EQ(xp_ctable__count(l), 10);
    CHECK_EQ(xp_ctable__expired(l), 0);
    CHECK_EQ(xp_ctable__version(l), ver);
    for (unsigned u = 0; u < 15; u++)
        CHECK_EQ(has(l, u), u < 10);
    {
        unsigned units[32];

        CHECK_EQ(scan_all(l, 0, 0, 3, units, 32), 10);
        CHECK_EQ(scan_all(l, 5, 0, 3, units, 32), 5);
    }
    /* restarted later: the rows died while the central was down, they stay out */
    CHECK_EQ(xp_ctable__load_at(l, path, 11001, err, sizeof(err)), 0);
    CHECK_EQ(xp_ctable__count(l), 0);
    CHECK_EQ(xp_ctable__expired(l), 10);
    /* exactly ttl old at load: still alive */
    CHECK_EQ(xp_ctable__load_at(l, path, 11000, err, sizeof(err)), 0);
    CHECK_EQ(xp_ctable__count(l), 10);
    xp_ctable__destroy(l);

    /* a file with dead rows (written without a ttl, as older builds did): skipped, counted */
    xp_ctable__set_ttl(t, 0);
    CHECK_EQ(xp_ctable__save_at(t, path, 10500), 0);
    CHECK_EQ(file_get64(path, 16), 15);
    l = xp_ctable__create(100);
    xp_ctable__set_ttl(l, ttl);
    CHECK_EQ(xp_ctable__load_at(l, path, 10500, err, sizeof(err)), 0);
    CHECK_EQ(xp_ctable__count(l), 10);
    CHECK_EQ(xp_ctable__expired(l), 5);
    /* loaded rows expire like any other; a new pair takes the room */
    CHECK_EQ(xp_ctable__expire(l, 11001, 100), 10);
    CHECK_EQ(xp_ctable__count(l), 0);
    CHECK(put(l, 50, 11001, 1, 1));
    CHECK_EQ(xp_ctable__version(l), ver + 1);
    xp_ctable__destroy(l);

    /* two records with the same version (a crafted file with a valid checksum): refused */
    {
        FILE *f = fopen(path, "r+b");
        uint8_t buf[40 + 15 * 72 + 32];
        unsigned int md_len = 0;

        CHECK(f != NULL);
        if (f && fread(buf, 1, sizeof(buf), f) == sizeof(buf)) {
            memcpy(buf + 40 + 72 + 56, buf + 40 + 56, 8); /* record 1 gets record 0's version */
            EVP_Digest(buf, sizeof(buf) - 32, buf + sizeof(buf) - 32, &md_len, EVP_sha256(),
                       NULL);
            rewind(f);
            fwrite(buf, 1, sizeof(buf), f);
        }
        if (f)
            fclose(f);
        l = xp_ctable__create(100);
        xp_ctable__set_ttl(l, ttl);
        CHECK_EQ(xp_ctable__load_at(l, path, 10500, err, sizeof(err)), -EBADMSG);
        CHECK(strstr(err, "version") != NULL);
        CHECK_EQ(xp_ctable__count(l), 0);
        xp_ctable__destroy(l);
    }
    xp_ctable__destroy(t);
}

/*
 * (f) writers survive a restart of the central node: the state file keeps
 * which proxy instance wrote each row, so that instance's next sync still
 * replaces its rows (merge_own) instead of merging them as another proxy's.
 * A file whose writers are inconsistent is refused.
 */
static void test_writers_persist(void)
{
    char path[256], err[256];
    struct xp_ctable *t = xp_ctable__create(100), *l;

    snprintf(path, sizeof(path), "%s/writers", dir);
    CHECK_EQ(xp_ctable__set_writer(t, "edge-1", 0x1111, 3), 0);
    CHECK_EQ(xp_ctable__set_writer(t, "edge-2", 0x2222, 7), 0);
    CHECK_EQ(xp_ctable__set_writer(t, "edge-9", 0x9999, 9), 0); /* writes no live row */
    CHECK_EQ(xp_ctable__set_writer(t, "edge-1", 0x1112, 0), -EINVAL);
    CHECK(put(t, 1, 10000, 5, 3));
    CHECK(put(t, 2, 10000, 6, 7));
    CHECK(put(t, 3, 10000, 7, 4)); /* an older instance's token: no writer any more */
    CHECK_EQ(xp_ctable__save_at(t, path, 10000), 0);
    /* header 40 + 2 writers in use (80 each) + 3 rows (72 each) + digest 32 */
    CHECK_EQ(file_size(path), 40 + 2 * 80 + 3 * 72 + 32);
    l = xp_ctable__create(100);
    CHECK_EQ(xp_ctable__load_at(l, path, 10000, err, sizeof(err)), 0);
    CHECK_EQ(xp_ctable__writer_token(l, "edge-1", 0x1111), 3);
    CHECK_EQ(xp_ctable__writer_token(l, "edge-2", 0x2222), 7);
    CHECK_EQ(xp_ctable__writer_token(l, "edge-1", 0x1112), 0); /* another instance: a stranger */
    CHECK_EQ(xp_ctable__writer_token(l, "edge-9", 0x9999), 0);  /* wrote nothing that lives */
    CHECK_EQ(xp_ctable__max_token(l), 7);
    {
        struct xp_policer_key k1 = tkey(1, 1), k2 = tkey(2, 1), k3 = tkey(3, 1);

        CHECK_EQ(xp_ctable__writer(l, &k1), 3);
        CHECK_EQ(xp_ctable__writer(l, &k2), 7);
        CHECK_EQ(xp_ctable__writer(l, &k3), 0);
    }
    xp_ctable__destroy(l);
    /* a writer record with token 0, with a valid checksum: refused, the table stays empty */
    {
        FILE *f = fopen(path, "r+b");
        uint8_t buf[40 + 2 * 80 + 3 * 72 + 32];
        unsigned int md_len = 0;

        CHECK(f != NULL);
        if (f && fread(buf, 1, sizeof(buf), f) == sizeof(buf)) {
            memset(buf + 40, 0, 4); /* first writer's token */
            EVP_Digest(buf, sizeof(buf) - 32, buf + sizeof(buf) - 32, &md_len, EVP_sha256(),
                       NULL);
            rewind(f);
            fwrite(buf, 1, sizeof(buf), f);
        }
        if (f)
            fclose(f);
        l = xp_ctable__create(100);
        CHECK_EQ(xp_ctable__load_at(l, path, 10000, err, sizeof(err)), -EBADMSG);
        CHECK(strstr(err, "writer") != NULL);
        CHECK_EQ(xp_ctable__count(l), 0);
        CHECK_EQ(xp_ctable__max_token(l), 0);
        xp_ctable__destroy(l);
    }
    xp_ctable__destroy(t);
}

/* (e) limits.row_ttl_ms: strict, >= merge.t_t1_ms, default t_t1 + max_skew */
static int conf_load(const char *limits, const char *merge, char *err, size_t len,
                     struct xp_central_config *cfg)
{
    char path[256];
    FILE *f;
    int ret;

    snprintf(path, sizeof(path), "%s/central.json", dir);
    f = fopen(path, "w");
    if (!f)
        return -errno;
    fprintf(f,
            "{\n    \"port\": 0,\n    \"merge\": {%s},\n    \"limits\": {%s},\n"
            "    \"proxies\": {\"p1\": \"30313233343536373839616263646566\"}\n}\n",
            merge, limits);
    fclose(f);
    chmod(path, 0600); /* it holds a secret */
    ret = xp_central_config__load(cfg, path, err, len);
    if (ret == 0)
        xp_central_config__release(cfg);
    return ret;
}

static void test_config(void)
{
    struct xp_central_config cfg;
    char err[512];

    CHECK_EQ(conf_load("\"row_ttl_ms\": 999", "\"t_t1_ms\": 1000", err, sizeof(err), &cfg),
             -EINVAL);
    CHECK(strstr(err, "central.json:4:") != NULL); /* file:line:col of the key */
    CHECK(strstr(err, "limits.row_ttl_ms") != NULL);
    CHECK(strstr(err, "t_t1_ms") != NULL);
    /* the check uses the t_t1 of the file, wherever merge comes */
    CHECK_EQ(conf_load("\"row_ttl_ms\": 1500", "\"t_t1_ms\": 2000", err, sizeof(err), &cfg),
             -EINVAL);
    CHECK_EQ(conf_load("\"row_ttl_ms\": 1000", "\"t_t1_ms\": 1000", err, sizeof(err), &cfg), 0);
    CHECK_EQ(cfg.row_ttl_ns, 1000 * MS);
    CHECK_EQ(conf_load("\"row_ttl_ms\": 0", "", err, sizeof(err), &cfg), -EINVAL);
    CHECK(strstr(err, "out of range") != NULL);
    CHECK_EQ(conf_load("\"row_ttl_ms\": \"2s\"", "", err, sizeof(err), &cfg), -EINVAL);
    CHECK(strstr(err, "limits.row_ttl_ms") != NULL);
    CHECK_EQ(conf_load("\"row_ttl_ms\": 2.5", "", err, sizeof(err), &cfg), -EINVAL);
    CHECK_EQ(conf_load("\"row_ttl_ms\": 604800001", "", err, sizeof(err), &cfg), -EINVAL);
    /* absent: 0, i.e. t_t1 + max_skew once the central is created */
    CHECK_EQ(conf_load("", "\"t_t1_ms\": 3000", err, sizeof(err), &cfg), 0);
    CHECK_EQ(cfg.row_ttl_ns, 0);
    /* the server refuses it too when set programmatically */
    xp_central_config__init(&cfg);
    cfg.port = 0;
    cfg.row_ttl_ns = cfg.merge.t_t1_ns - 1;
    xp_central_config__add_proxy(&cfg, "p1", (const uint8_t *)"0123456789abcdef", 16);
    errno = 0;
    CHECK(xp_central__create(&cfg) == NULL);
    CHECK_EQ(errno, EINVAL);
    xp_central_config__release(&cfg);
}

/* ---- the same through an in-process central node, real clock ---- */

static const uint8_t secret[16] = "0123456789abcdef";

static void install(void *arg, const struct xp_sync_answer *a)
{
    (void)a;
    (*(unsigned *)arg)++;
}

static int push(struct xp_sync_client *cl, unsigned from, unsigned to, uint64_t ts)
{
    struct xp_pair_record recs[16];
    unsigned n = 0, got = 0;

    for (unsigned u = from; u < to; u++, n++) {
        memset(&recs[n], 0, sizeof(recs[n]));
        recs[n].key = tkey(u, 1);
        recs[n].st = (struct xp_pair_state){.ts1 = ts, .ts2 = ts, .c = 3, .dc = 3};
    }
    return xp_sync_client__exchange(cl, recs, n, NULL, install, &got);
}

static long long stat_of(struct xp_sync_client *cl, const char *key)
{
    char *text = NULL;
    json_t *root;
    long long v = -1;

    if (xp_sync_client__central_stats(cl, &text) < 0)
        return -1;
    root = json_loads(text, 0, NULL);
    if (root && json_is_integer(json_object_get(root, key)))
        v = json_integer_value(json_object_get(root, key));
    json_decref(root);
    free(text);
    return v;
}

static void test_central(void)
{
    struct xp_central_config cfg;
    struct xp_sync_client *cl;
    struct xp_central *c;
    pthread_t srv;
    uint64_t t0;

    xp_central_config__init(&cfg);
    cfg.port = 0;
    cfg.max_table_pairs = 4;
    cfg.persist_period_ms = 3600000; /* on stop only */
    snprintf(cfg.state_file, sizeof(cfg.state_file), "%s/central.state", dir);
    /* default row_ttl: t_t1 1 s + max_skew 1 s = 2 s */
    xp_central_config__add_proxy(&cfg, "p1", secret, sizeof(secret));
    c = xp_central__create(&cfg);
    CHECK(c != NULL);
    if (!c)
        return;
    pthread_create(&srv, NULL, tcentral_run, c);
    {
        struct xp_sync_client_config cc = {.host = "127.0.0.1", .port = xp_central__port(c),
                                           .proxy_id = "p1", .secret = secret,
                                           .secret_len = sizeof(secret)};

        cl = xp_sync_client__create(&cc);
    }
    CHECK(cl != NULL);
    /* 4 rows idle for 1.2 s: past T_T1 but within t_t1 + max_skew, so kept */
    t0 = treal_ns();
    CHECK_EQ(push(cl, 0, 4, t0 - 1200 * MS), 0);
    CHECK_EQ(push(cl, 10, 11, t0), 0); /* full: answered unmerged */
    tsleep_ms(200);                    /* two sweep steps */
    CHECK_EQ(stat_of(cl, "pairs"), 4);
    CHECK_EQ(stat_of(cl, "table_full"), 1);
    CHECK_EQ(stat_of(cl, "expired"), 0);
    /*
     * They die at t0 + 0.8 s; a pass over 4 rows is one 100 ms step, so they
     * are gone by t0 + 0.95 s (polled up to 3 s for a loaded machine).
     */
    while (treal_ns() < t0 + 900 * MS)
        tsleep_ms(20);
    while (stat_of(cl, "expired") != 4 && treal_ns() < t0 + 3000 * MS)
        tsleep_ms(20);
    CHECK_EQ(stat_of(cl, "expired"), 4);
    CHECK_EQ(stat_of(cl, "pairs"), 0);
    /* room again: the pair that found the table full is stored now */
    CHECK_EQ(push(cl, 10, 11, treal_ns()), 0);
    CHECK_EQ(stat_of(cl, "pairs"), 1);
    CHECK_EQ(stat_of(cl, "merge_new"), 5);
    xp_central__stop(c);
    pthread_join(srv, NULL);
    CHECK_EQ(xp_ctable__count(xp_central__table(c)), 1);
    xp_central__destroy(c);
    xp_sync_client__destroy(cl);

    /* restart with a row_ttl the row has outlived: it stays expired, counted */
    tsleep_ms(50);
    cfg.merge.t_t1_ns = 20 * MS;
    cfg.merge.max_skew_ns = 0;
    c = xp_central__create(&cfg);
    CHECK(c != NULL);
    if (c) {
        CHECK_EQ(xp_ctable__count(xp_central__table(c)), 0);
        CHECK_EQ(xp_ctable__expired(xp_central__table(c)), 1);
        xp_central__destroy(c);
    }
    xp_central_config__release(&cfg);
}

int main(void)
{
    char cmd[300];

    xp_log_set_level(getenv("XP_VERBOSE") ? XP_LOG_DEBUG : XP_LOG_ERR);
    if (!mkdtemp(dir))
        return 1;
    test_ttl();
    test_cap();
    test_scan_fixed();
    test_scan_random();
    test_persist();
    test_writers_persist();
    test_config();
    test_central();
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup of %s failed\n", dir);
    return xp_check_report("test_sync_expiry");
}
