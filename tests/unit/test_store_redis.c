// SPDX-License-Identifier: GPL-2.0-only
/*
 * The Redis Cluster store against a real cluster (tests/netns/test_store_redis.sh starts
 * one: 3 masters, 3 replicas on loopback, and passes it in the environment):
 *
 *  - slot routing: CRC16 and hash tags as Redis computes them (CLUSTER KEYSLOT), a
 *    resharded slot followed through ASK (while it migrates) and MOVED (after);
 *  - the store: merges equal the embedded merge, a retried sequence number is answered
 *    from the record and counts nothing twice, even at another front-end; the change
 *    feed gives each writer the others' rows once and never its own; "more" when the
 *    answer is full; two front-ends merging into one pair concurrently lose no packet;
 *    rows age out at ts2 + row_ttl.
 *
 * Environment: XP_REDIS_SEEDS (host:port,...), XP_REDIS_ADMIN_PASS (the default user's
 * password: the resharding), XP_REDIS_USER and XP_REDIS_PASS (the store's ACL user).
 * Without them it skips (77): it is not in the unit suite.
 */
#include <hiredis/hiredis.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "src/store/store_internal.h"
#include "src/util/clock.h"
#include "src/util/log.h"
#include "xp_check.h"

#define MS 1000000ULL
#define SEC 1000000000ULL

static struct xp_store_redis_config base;
static const char *admin_pass;

static redisContext *admin(const char *hostport)
{
    char host[128];
    const char *colon = strrchr(hostport, ':');
    redisContext *c;
    redisReply *r;

    snprintf(host, sizeof(host), "%.*s", (int)(colon - hostport), hostport);
    c = redisConnect(host, atoi(colon + 1));
    if (!c || c->err) {
        fprintf(stderr, "connect %s failed\n", hostport);
        exit(1);
    }
    r = redisCommand(c, "AUTH %s", admin_pass);
    freeReplyObject(r);
    return c;
}

static char *str_cmd(redisContext *c, const char *fmt, const char *a)
{
    redisReply *r = redisCommand(c, fmt, a);
    char *s = r && r->type == REDIS_REPLY_STRING ? strdup(r->str) : NULL;

    if (r && r->type == REDIS_REPLY_ERROR)
        fprintf(stderr, "%s: %s\n", fmt, r->str);
    freeReplyObject(r);
    return s;
}

static redisReply *rc_cmd(struct xp_rc *rc, const char *key, int argc, const char **argv)
{
    size_t lens[8];

    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    return xp_rc__command(rc, xp_rc__slot(key, strlen(key)), argc, argv, lens);
}

static void test_slots(struct xp_rc *rc)
{
    /* values from the Redis cluster specification and CLUSTER KEYSLOT */
    CHECK_EQ(xp_rc__slot("123456789", 9), 0x31c3U % 16384);
    CHECK_EQ(xp_rc__slot("foo", 3), 12182U);
    CHECK_EQ(xp_rc__slot("{user1000}.following", 20), xp_rc__slot("user1000", 8));
    CHECK_EQ(xp_rc__slot("foo{}{bar}", 10), xp_rc__slot("foo{}{bar}", 10));
    for (unsigned i = 0; i < 300; i++) {
        char key[64];
        const char *argv[3] = {"CLUSTER", "KEYSLOT", key};
        redisReply *r;

        snprintf(key, sizeof(key), i % 3 == 0 ? "k%u" : i % 3 == 1 ? "a{t%u}b" : "{}x%u{y}",
                 i * 7919);
        r = rc_cmd(rc, "x", 3, argv);
        CHECK(r && r->type == REDIS_REPLY_INTEGER);
        if (r && r->type == REDIS_REPLY_INTEGER)
            CHECK_MSG((long long)xp_rc__slot(key, strlen(key)) == r->integer, "key %s", key);
        freeReplyObject(r);
    }
}

/* Move the slot of "{mv}" from its master to another, checking ASK on the way and MOVED after. */
static void test_reshard(struct xp_rc *rc)
{
    const char *k1 = "xpt:{mv}:1", *k2 = "xpt:{mv}:2";
    unsigned slot = xp_rc__slot(k1, strlen(k1));
    char from[64], to[64] = "";
    char *id_from, *id_to;
    struct xp_rc_stats st0, st;
    redisContext *a, *b;
    redisReply *r;

    snprintf(from, sizeof(from), "%s", xp_rc__node_of(rc, slot));
    CHECK(from[0] != '\0');
    /* another master: the owner of a slot far away */
    for (unsigned s = 0; s < 16384 && !to[0]; s += 97)
        if (strcmp(xp_rc__node_of(rc, s), from) != 0)
            snprintf(to, sizeof(to), "%s", xp_rc__node_of(rc, s));
    CHECK(to[0] != '\0');
    {
        const char *argv[3] = {"SET", k1, "one"};

        r = rc_cmd(rc, k1, 3, argv);
        CHECK(r && r->type == REDIS_REPLY_STATUS);
        freeReplyObject(r);
    }
    a = admin(from);
    b = admin(to);
    id_from = str_cmd(a, "CLUSTER MYID", NULL);
    id_to = str_cmd(b, "CLUSTER MYID", NULL);
    CHECK(id_from && id_to);
    r = redisCommand(b, "CLUSTER SETSLOT %u IMPORTING %s", slot, id_from);
    CHECK(r && r->type == REDIS_REPLY_STATUS);
    freeReplyObject(r);
    r = redisCommand(a, "CLUSTER SETSLOT %u MIGRATING %s", slot, id_to);
    CHECK(r && r->type == REDIS_REPLY_STATUS);
    freeReplyObject(r);
    xp_rc__stats(rc, &st0);
    {
        /* k2 is not at the old owner: it answers ASK, the target takes it after ASKING */
        const char *argv[3] = {"SET", k2, "two"};

        r = rc_cmd(rc, k2, 3, argv);
        CHECK(r && r->type == REDIS_REPLY_STATUS);
        freeReplyObject(r);
    }
    xp_rc__stats(rc, &st);
    CHECK_EQ(st.ask, st0.ask + 1);
    {
        const char *argv[2] = {"GET", k1}; /* still at the old owner: no redirection */

        r = rc_cmd(rc, k1, 2, argv);
        CHECK(r && r->type == REDIS_REPLY_STRING && strcmp(r->str, "one") == 0);
        freeReplyObject(r);
    }
    {
        char host[64];
        const char *colon = strrchr(to, ':');

        snprintf(host, sizeof(host), "%.*s", (int)(colon - to), to);
        r = redisCommand(a, "MIGRATE %s %s %s 0 5000 AUTH %s KEYS %s", host, colon + 1, "",
                         admin_pass, k1);
        CHECK_MSG(r && r->type == REDIS_REPLY_STATUS, "MIGRATE: %s", r ? r->str : "no reply");
        freeReplyObject(r);
    }
    r = redisCommand(b, "CLUSTER SETSLOT %u NODE %s", slot, id_to);
    CHECK(r && r->type == REDIS_REPLY_STATUS);
    freeReplyObject(r);
    r = redisCommand(a, "CLUSTER SETSLOT %u NODE %s", slot, id_to);
    CHECK(r && r->type == REDIS_REPLY_STATUS);
    freeReplyObject(r);
    /* our map still names the old owner: it answers MOVED */
    CHECK(strcmp(xp_rc__node_of(rc, slot), from) == 0);
    xp_rc__stats(rc, &st0);
    {
        const char *argv[2] = {"GET", k1};

        r = rc_cmd(rc, k1, 2, argv);
        CHECK(r && r->type == REDIS_REPLY_STRING && strcmp(r->str, "one") == 0);
        freeReplyObject(r);
    }
    xp_rc__stats(rc, &st);
    CHECK_EQ(st.moved, st0.moved + 1);
    CHECK(strcmp(xp_rc__node_of(rc, slot), to) == 0);
    {
        const char *argv[2] = {"GET", k2};

        r = rc_cmd(rc, k2, 2, argv);
        CHECK(r && r->type == REDIS_REPLY_STRING && strcmp(r->str, "two") == 0);
        freeReplyObject(r);
    }
    printf("reshard: slot %u moved %s -> %s; ASK and MOVED followed\n", slot, from, to);
    free(id_from);
    free(id_to);
    redisFree(a);
    redisFree(b);
}

static struct xp_store *open_store(const char *prefix)
{
    struct xp_store_redis_config cfg = base;
    char err[256];
    struct xp_store *s;

    snprintf(cfg.prefix, sizeof(cfg.prefix), "%s", prefix);
    cfg.buckets = 16;
    s = xp_store_redis__create(&cfg, err, sizeof(err));
    if (!s) {
        fprintf(stderr, "store: %s\n", err);
        exit(1);
    }
    return s;
}

static uint64_t row_ttl = 3 * SEC;
static struct xp_merge_params mp = {.t_t1_ns = SEC, .t_t4_ns = 4 * SEC, .r = 2,
                                    .max_skew_ns = SEC};

static void key_of(struct xp_policer_key *k, unsigned unit, unsigned dst)
{
    memset(k, 0, sizeof(*k));
    k->unit[10] = k->unit[11] = 0xff;
    k->unit[12] = 10;
    k->unit[14] = (uint8_t)(unit >> 8);
    k->unit[15] = (uint8_t)unit;
    k->dst[10] = k->dst[11] = 0xff;
    k->dst[12] = 198;
    k->dst[13] = 18;
    k->dst[14] = (uint8_t)(dst >> 8);
    k->dst[15] = (uint8_t)dst;
}

struct req {
    struct xp_sync_wire_pair pairs[64];
    struct xp_sync_wire_pair down[256];
    struct xp_store_sync q;
};

static int do_sync(struct xp_store *s, struct req *r, const struct xp_store_writer *w,
                   uint64_t seq, unsigned n, unsigned room, uint64_t now)
{
    memset(&r->q, 0, sizeof(r->q));
    r->q.w = w;
    r->q.seq = seq;
    r->q.now = now;
    r->q.merge = &mp;
    r->q.row_ttl_ns = row_ttl;
    r->q.pairs = r->pairs;
    r->q.n = n;
    r->q.down = r->down;
    r->q.room = room;
    return s->ops->sync(s, &r->q);
}

static void test_store(void)
{
    char prefix[32];
    struct xp_store *f1, *f2;
    struct xp_store_writer wa = {"pa", 1}, wb = {"pb", 7};
    static struct req r;
    uint64_t now = xp_real_ns(), e1, e2;
    struct xp_sync_global ref[40];

    snprintf(prefix, sizeof(prefix), "xpt%d", (int)getpid());
    f1 = open_store(prefix);
    f2 = open_store(prefix);
    /* two front-ends of one store announce one epoch */
    CHECK(f1->ops->epoch(f1, &e1) == 0 && f2->ops->epoch(f2, &e2) == 0);
    CHECK_EQ(e1, e2);

    /* A writes 40 pairs of 5 destinations: all new, the answers are the embedded merge's */
    for (unsigned i = 0; i < 40; i++) {
        struct xp_pair_state l = {.ts1 = now - 500 * MS, .ts2 = now - i * MS, .c = 10 + i,
                                  .dc = 10 + i};
        struct xp_merge_result res;

        key_of(&r.pairs[i].key, i, i % 5);
        r.pairs[i].l = l;
        memset(&ref[i], 0, sizeof(ref[i]));
        xp_sync_merge(&mp, now, &ref[i], XP_ROW_ABSENT, &l, &res);
    }
    CHECK_EQ(do_sync(f1, &r, &wa, 1, 40, 24, now), 0);
    CHECK_EQ(r.q.merges[XP_MERGE_NEW], 40);
    CHECK_EQ(r.q.n_down, 0); /* its own rows are not fed back to it */
    for (unsigned i = 0; i < 40; i++)
        CHECK(memcmp(&r.pairs[i].g, &ref[i], sizeof(ref[i])) == 0 && r.pairs[i].l.dc == 0);

    /* the same sequence number again, at the other front-end: the record, nothing merged */
    for (unsigned i = 0; i < 40; i++) {
        key_of(&r.pairs[i].key, i, i % 5);
        r.pairs[i].l = (struct xp_pair_state){.ts1 = now - 500 * MS, .ts2 = now - i * MS,
                                              .c = 10 + i, .dc = 10 + i};
    }
    CHECK_EQ(do_sync(f2, &r, &wa, 1, 40, 24, now), 0);
    CHECK_EQ(r.q.merges[XP_MERGE_NEW] + r.q.merges[XP_MERGE_MERGE], 0);
    CHECK(r.q.replayed > 0);
    for (unsigned i = 0; i < 40; i++)
        CHECK(r.pairs[i].g.c == ref[i].c && r.pairs[i].l.dc == 0);

    /* B syncs nothing: the feed gives it A's 40 rows, 24 now and "more", then the rest */
    CHECK_EQ(do_sync(f2, &r, &wb, 1, 0, 24, now), 0);
    CHECK_EQ(r.q.n_down, 24);
    CHECK(r.q.more);
    {
        unsigned got = r.q.n_down;
        uint64_t sum = 0;

        for (unsigned i = 0; i < r.q.n_down; i++)
            sum += r.down[i].g.c;
        CHECK_EQ(do_sync(f1, &r, &wb, 2, 0, 24, now), 0);
        got += r.q.n_down;
        for (unsigned i = 0; i < r.q.n_down; i++)
            sum += r.down[i].g.c;
        CHECK_EQ(got, 40);
        CHECK(!r.q.more);
        CHECK_EQ(sum, 40 * 10 + 39 * 40 / 2);
        CHECK_EQ(do_sync(f1, &r, &wb, 3, 0, 24, now), 0);
        CHECK_EQ(r.q.n_down, 0);
    }
    /* B adds 5 packets to pair 3: merged (a shared row), A then gets exactly that row */
    key_of(&r.pairs[0].key, 3, 3);
    r.pairs[0].l = (struct xp_pair_state){.ts1 = now - 400 * MS, .ts2 = now, .c = 5, .dc = 5};
    CHECK_EQ(do_sync(f2, &r, &wb, 4, 1, 24, now), 0);
    CHECK_EQ(r.q.merges[XP_MERGE_MERGE], 1);
    CHECK_EQ(r.pairs[0].g.c, 13 + 5);
    CHECK_EQ(do_sync(f1, &r, &wa, 2, 0, 24, now), 0);
    CHECK_EQ(r.q.n_down, 1);
    CHECK(r.q.n_down == 1 && r.down[0].g.c == 18 && r.down[0].l.dc == 0);
    /* A's next write of its pair 0 (it wrote it last): its window replaces the row */
    key_of(&r.pairs[0].key, 0, 0);
    r.pairs[0].l = (struct xp_pair_state){.ts1 = now - 500 * MS, .ts2 = now, .c = 99, .dc = 89};
    CHECK_EQ(do_sync(f1, &r, &wa, 3, 1, 24, now), 0);
    CHECK_EQ(r.q.merges[XP_MERGE_OWN], 1);
    CHECK_EQ(r.pairs[0].g.c, 99);
    /* that request again (its answer lost): answered from the record, the row is unchanged */
    key_of(&r.pairs[0].key, 0, 0);
    r.pairs[0].l = (struct xp_pair_state){.ts1 = now - 500 * MS, .ts2 = now, .c = 99, .dc = 89};
    CHECK_EQ(do_sync(f1, &r, &wa, 3, 1, 24, now), 0);
    CHECK_EQ(r.q.merges[XP_MERGE_OWN], 0);
    CHECK_EQ(r.pairs[0].g.c, 99);
    f1->ops->destroy(f1);
    f2->ops->destroy(f2);
}

/* Two front-ends, two writers, one pair: every packet counted once. */
struct racer {
    struct xp_store *s;
    struct xp_store_writer w;
    unsigned rounds;
    uint64_t t;
    int fails;
};

static void *race(void *arg)
{
    struct racer *x = arg;
    static __thread struct req r;
    uint64_t local[2] = {0, 0};

    /* as a proxy: one more packet since the last answer (dc = 1) on top of what it said (c) */
    for (unsigned i = 0; i < x->rounds; i++) {
        for (unsigned k = 0; k < 2; k++) {
            key_of(&r.pairs[k].key, 1 + k, 1); /* one destination, so one bucket */
            r.pairs[k].l = (struct xp_pair_state){.ts1 = x->t, .ts2 = x->t,
                                                  .c = local[k] + 1, .dc = 1};
        }
        if (do_sync(x->s, &r, &x->w, i + 1, 2, 0, x->t) < 0) {
            x->fails++;
            continue;
        }
        for (unsigned k = 0; k < 2; k++)
            local[k] = r.pairs[k].l.c;
    }
    return NULL;
}

static void test_race(void)
{
    char prefix[32];
    struct racer a, b, c;
    pthread_t ta, tb, tc;
    static struct req r;
    uint64_t t = xp_real_ns();

    snprintf(prefix, sizeof(prefix), "xpr%d", (int)getpid());
    a = (struct racer){open_store(prefix), {"ra", 1}, 300, t, 0};
    b = (struct racer){open_store(prefix), {"rb", 1}, 300, t, 0};
    c = (struct racer){open_store(prefix), {"rc", 1}, 300, t, 0};
    pthread_create(&ta, NULL, race, &a);
    pthread_create(&tb, NULL, race, &b);
    pthread_create(&tc, NULL, race, &c);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    pthread_join(tc, NULL);
    CHECK_EQ(a.fails + b.fails + c.fails, 0);
    /* read it back as a fourth writer: its first sync gets the rows through the feed */
    CHECK_EQ(do_sync(a.s, &r, &(struct xp_store_writer){"rd", 1}, 1, 0, 8, t), 0);
    CHECK_EQ(r.q.n_down, 2);
    for (unsigned i = 0; i < r.q.n_down; i++)
        CHECK_EQ(r.down[i].g.c, 900);
    printf("race: 3 front-ends x 300 syncs of 2 pairs: counts %" PRIu64 "/900, %" PRIu64
           "/900\n",
           r.q.n_down > 0 ? r.down[0].g.c : 0, r.q.n_down > 1 ? r.down[1].g.c : 0);
    a.s->ops->destroy(a.s);
    b.s->ops->destroy(b.s);
    c.s->ops->destroy(c.s);
}

/* A row expires at ts2 + row_ttl (3 s here): written 2.7 s old, gone 0.3 s later. */
static void test_ttl(void)
{
    char prefix[32];
    struct xp_store *s;
    struct xp_store_writer wa = {"ta", 1}, wb = {"tb", 1};
    static struct req r;
    uint64_t now = xp_real_ns();

    snprintf(prefix, sizeof(prefix), "xpe%d", (int)getpid());
    s = open_store(prefix);
    key_of(&r.pairs[0].key, 1, 9);
    r.pairs[0].l = (struct xp_pair_state){.ts1 = now - 2800 * MS, .ts2 = now - 2700 * MS,
                                          .c = 3, .dc = 3};
    key_of(&r.pairs[1].key, 2, 9);
    r.pairs[1].l = (struct xp_pair_state){.ts1 = now - 100 * MS, .ts2 = now, .c = 4, .dc = 4};
    CHECK_EQ(do_sync(s, &r, &wa, 1, 2, 8, now), 0);
    usleep(600 * 1000);
    CHECK_EQ(do_sync(s, &r, &wb, 1, 0, 8, xp_real_ns()), 0);
    CHECK_EQ(r.q.n_down, 1); /* the old one aged out */
    CHECK(r.q.n_down == 1 && r.down[0].g.c == 4);
    s->ops->destroy(s);
}

/*
 * XP_STORE_FAILOVER_SECONDS=N: 3 front-ends (3 writers) add one packet per sync to each of
 * 16 shared pairs (one per bucket, so on every master) for N seconds with WAIT 1, while
 * tests/netns/test_store_redis.sh kills a master with SIGKILL. A failed sync is retried
 * with the same sequence number, as a proxy does. Every pair must end with exactly one
 * packet per successful sync of every writer: no count lost, none counted twice.
 */
struct fo_racer {
    struct xp_store *s;
    struct xp_store_writer w;
    uint64_t t, end_ms;
    uint64_t done, failed, max_stall_ms;
};

static void *fo_race(void *arg)
{
    struct fo_racer *x = arg;
    static __thread struct req r;
    uint64_t local[16] = {0}, seq = 1, first_try = 0;

    while (xp_mono_ms() < x->end_ms || first_try) {
        uint64_t now = xp_real_ns();

        for (unsigned k = 0; k < 16; k++) {
            key_of(&r.pairs[k].key, 100 + k, 100 + k);
            r.pairs[k].l = (struct xp_pair_state){.ts1 = x->t, .ts2 = now,
                                                  .c = local[k] + 1, .dc = 1};
        }
        if (!first_try)
            first_try = xp_mono_ms();
        if (do_sync(x->s, &r, &x->w, seq, 16, 0, now) < 0) {
            x->failed++;
            usleep(50 * 1000);
            continue;
        }
        for (unsigned k = 0; k < 16; k++)
            local[k] = r.pairs[k].l.c;
        if (xp_mono_ms() - first_try > x->max_stall_ms)
            x->max_stall_ms = xp_mono_ms() - first_try;
        first_try = 0;
        seq++;
        x->done++;
    }
    return NULL;
}

static void test_failover(unsigned seconds)
{
    struct xp_store_redis_config cfg = base;
    struct fo_racer x[3];
    pthread_t th[3];
    static struct req r;
    uint64_t t = xp_real_ns(), total = 0, stall = 0, failed = 0;
    char err[256];

    /* one window for the whole run (no shrink), rows alive across the failover's stall */
    mp.t_t4_ns = 3600 * SEC;
    row_ttl = 600 * SEC;
    snprintf(cfg.prefix, sizeof(cfg.prefix), "xpf%d", (int)getpid());
    cfg.buckets = 16;
    cfg.wait_replicas = 1;
    cfg.wait_ms = 500;
    cfg.retry_ms = 3000;
    for (unsigned i = 0; i < 3; i++) {
        x[i] = (struct fo_racer){.w = {i == 0 ? "fa" : i == 1 ? "fb" : "fc", 1}, .t = t,
                                 .end_ms = xp_mono_ms() + seconds * 1000ULL};
        x[i].s = xp_store_redis__create(&cfg, err, sizeof(err));
        if (!x[i].s) {
            fprintf(stderr, "store: %s\n", err);
            exit(1);
        }
    }
    printf("failover: racing\n");
    fflush(stdout);
    for (unsigned i = 0; i < 3; i++)
        pthread_create(&th[i], NULL, fo_race, &x[i]);
    for (unsigned i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        total += x[i].done;
        failed += x[i].failed;
        stall = x[i].max_stall_ms > stall ? x[i].max_stall_ms : stall;
    }
    CHECK_EQ(do_sync(x[0].s, &r, &(struct xp_store_writer){"fd", 1}, 1, 0, 64, xp_real_ns()), 0);
    CHECK_EQ(r.q.n_down, 16);
    for (unsigned i = 0; i < r.q.n_down; i++)
        CHECK_MSG(r.down[i].g.c == total, "pair %u: %" PRIu64 " packets, %" PRIu64 " synced",
                  i, r.down[i].g.c, total);
    printf("failover: %" PRIu64 " syncs of 16 pairs by 3 front-ends, %" PRIu64
           " failed attempts retried, longest stall %" PRIu64 " ms; every pair counts %" PRIu64
           "\n",
           total, failed, stall, r.q.n_down ? r.down[0].g.c : 0);
    CHECK(failed > 0); /* the kill happened while we raced */
    for (unsigned i = 0; i < 3; i++)
        x[i].s->ops->destroy(x[i].s);
}

/*
 * XP_STORE_BENCH=PAIRS (bench/central.sh): 8 writers each merge PAIRS dirty pairs (2 per
 * destination) in requests of 1024, one front-end, then a second round on the same rows
 * (merges into existing rows); pairs per second and the front-end's CPU per merged pair.
 * The embedded store's figure is its merge loop (what server.c does per pair) on the same
 * pairs in this process.
 */
static uint64_t cpu_us(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 +
           (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

static void bench(unsigned pairs)
{
    static struct xp_sync_wire_pair req[1024], down[1];
    struct xp_store_redis_config cfg = base;
    uint64_t t = xp_real_ns(), w0, c0, wall, cpu, total = 0;
    struct xp_store *s;
    char err[256];

    snprintf(cfg.prefix, sizeof(cfg.prefix), "xpb%d", (int)getpid());
    cfg.buckets = getenv("XP_STORE_BUCKETS") ? (unsigned)atoi(getenv("XP_STORE_BUCKETS")) : 64;
    row_ttl = 600 * SEC;
    s = xp_store_redis__create(&cfg, err, sizeof(err));
    if (!s) {
        fprintf(stderr, "store: %s\n", err);
        exit(1);
    }
    w0 = xp_mono_ns();
    c0 = cpu_us();
    for (unsigned round = 0; round < 2; round++) {
        for (unsigned w = 0; w < 8; w++) {
            struct xp_store_writer wr = {"bench", w + 1};
            uint64_t seq = 1 + round * 1000000;

            for (unsigned i = 0; i < pairs; i += 1024) {
                unsigned n = pairs - i < 1024 ? pairs - i : 1024;
                struct xp_store_sync q = {.w = &wr, .seq = seq++, .now = t, .merge = &mp,
                                          .row_ttl_ns = row_ttl, .pairs = req, .n = n,
                                          .down = down, .room = 0};

                for (unsigned k = 0; k < n; k++) {
                    key_of(&req[k].key, (i + k) & 0xffff, (i + k) >> 1);
                    req[k].key.unit[13] = (uint8_t)w;
                    req[k].l = (struct xp_pair_state){.ts1 = t, .ts2 = t, .c = 5, .dc = 5};
                }
                if (s->ops->sync(s, &q) < 0) {
                    fprintf(stderr, "bench: sync failed\n");
                    exit(1);
                }
                total += n;
            }
        }
    }
    wall = xp_mono_ns() - w0;
    cpu = cpu_us() - c0;
    printf("redis: %" PRIu64 " merged pairs in %.2f s: %.0f pairs/s, front-end CPU %.2f us/pair "
           "(%u buckets)\n",
           total, wall / 1e9, total / (wall / 1e9), (double)cpu / total, cfg.buckets);
    s->ops->destroy(s);
    {
        /* the embedded store: server.c's loop per pair on table.c */
        struct xp_ctable *tb = xp_ctable__create(0);
        uint64_t n = 0;

        w0 = xp_mono_ns();
        c0 = cpu_us();
        for (unsigned round = 0; round < 2; round++) {
            for (unsigned w = 0; w < 8; w++) {
                for (unsigned i = 0; i < pairs; i++) {
                    struct xp_policer_key k;
                    struct xp_pair_state l = {.ts1 = t, .ts2 = t, .c = 5, .dc = 5};
                    struct xp_merge_result res;
                    struct xp_sync_global *g;
                    bool created;

                    key_of(&k, i & 0xffff, i >> 1);
                    k.unit[13] = (uint8_t)w;
                    g = xp_ctable__get(tb, &k, &created);
                    xp_sync_merge(&mp, t, g,
                                  created                                   ? XP_ROW_ABSENT
                                  : xp_ctable__writer(tb, &k) == w + 1 ? XP_ROW_OWN
                                                                            : XP_ROW_SHARED,
                                  &l, &res);
                    xp_ctable__touch(tb, &k, w + 1);
                    n++;
                }
            }
        }
        wall = xp_mono_ns() - w0;
        cpu = cpu_us() - c0;
        printf("embedded: %" PRIu64 " merged pairs in %.3f s: %.0f pairs/s, CPU %.3f us/pair "
               "(the merge loop alone, no JSON)\n",
               n, wall / 1e9, n / (wall / 1e9), (double)cpu / n);
        xp_ctable__destroy(tb);
    }
}

int main(void)
{
    const char *seeds = getenv("XP_REDIS_SEEDS");
    char err[256];
    struct xp_rc *rc;

    admin_pass = getenv("XP_REDIS_ADMIN_PASS");
    if (!seeds || !admin_pass || !getenv("XP_REDIS_USER") || !getenv("XP_REDIS_PASS")) {
        printf("SKIPPED: needs a cluster (tests/netns/test_store_redis.sh)\n");
        return 77;
    }
    xp_log_set_level(XP_LOG_ERR);
    if (xp_store_redis__parse_seeds(&base, seeds, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    snprintf(base.user, sizeof(base.user), "%s", getenv("XP_REDIS_USER"));
    snprintf(base.password, sizeof(base.password), "%s", getenv("XP_REDIS_PASS"));
    rc = xp_rc__create(&base, err, sizeof(err));
    if (!rc) {
        fprintf(stderr, "cluster: %s\n", err);
        return 1;
    }
    {
        /* a wrong password is refused, and said so */
        struct xp_store_redis_config bad = base;

        snprintf(bad.password, sizeof(bad.password), "wrong");
        CHECK(xp_rc__create(&bad, err, sizeof(err)) == NULL && errno == EACCES);
    }
    if (getenv("XP_STORE_BENCH")) {
        xp_rc__destroy(rc);
        bench((unsigned)atoi(getenv("XP_STORE_BENCH")));
        return 0;
    }
    if (getenv("XP_STORE_FAILOVER_SECONDS")) {
        xp_rc__destroy(rc);
        test_failover((unsigned)atoi(getenv("XP_STORE_FAILOVER_SECONDS")));
        return xp_check_report("test_store_redis (failover)");
    }
    test_slots(rc);
    test_reshard(rc);
    xp_rc__destroy(rc);
    test_store();
    test_race();
    test_ttl();
    return xp_check_report("test_store_redis");
}
