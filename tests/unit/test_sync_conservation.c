// SPDX-License-Identifier: GPL-2.0-only
/*
 * Conservation property of the sync: several proxies (threads, each with
 * its own xp_policer and xp_dst_table and its own xp_sync_client) police
 * random traffic over overlapping pairs with no window restarts, and sync
 * concurrently with an in-process xpro-central on 127.0.0.1 (ephemeral
 * port), in small requests so that proxies interleave inside one another's
 * batches. After a final sync of everyone, the central count of every pair
 * equals the packets all proxies counted for it, exactly; after one more
 * pull round every proxy holds the central values.
 *
 * XP_SYNC_ROUNDS / XP_SYNC_PROXIES override the size (defaults keep it
 * under a few seconds, also under ASan).
 */
#include <pthread.h>
#include <stdatomic.h>

#include "src/util/log.h"
#include "test_sync_common.h"

#define N_UNITS 40
#define N_DSTS 5
#define N_PAIRS (N_UNITS * N_DSTS)
#define MAX_PROXIES 16
#define H (3600ULL * 1000000000ULL)

static _Atomic uint64_t truth[N_PAIRS];
static unsigned n_proxies = 4, rounds = 40;
static uint16_t port;
static pthread_barrier_t barrier;
static const uint8_t secret[16] = "0123456789abcdef";

struct proxy {
    unsigned id;
    struct xp_dst_table *dst;
    struct xp_policer *pol;
    struct xp_sync_client *cl;
    uint64_t rng;
    unsigned installs_failed;
    int err;
};

static struct xp_policer_limits test_limits(void)
{
    struct xp_policer_limits lim;

    xp_policer_limits__init(&lim);
    lim.t_t1_ns = H; /* no window restarts */
    lim.t_t2_ns = H;
    lim.t_t3_ns = H;
    lim.t_t4_ns = 2 * H;
    lim.shrink_r = 1;
    lim.t_f1_pps = 1000000000;
    lim.t_f2_pps = 1000000000;
    return lim;
}

static void install(void *arg, const struct xp_sync_answer *a)
{
    struct proxy *p = arg;

    if (xp_policer__install(p->pol, a->key, a->sent, &a->fresh) < 0)
        p->installs_failed++;
}

static int sync_all(struct proxy *p)
{
    struct xp_pair_record recs[N_PAIRS];
    struct xp_sync_report rep = {.load = {.w_ppm = 1000 * p->id, .pps = 10, .pairs = N_PAIRS}};
    unsigned n = 0, got;
    int ret, tries = 0;

    while (xp_sync_client__pending(p->cl)) {
        ret = xp_sync_client__recover(p->cl, install, p);
        if (ret && ++tries > 100)
            return ret;
        if (ret)
            tsleep_ms(20);
    }
    do {
        got = xp_policer__collect_dirty(p->pol, recs + n, N_PAIRS - n);
        n += got;
    } while (got && n < N_PAIRS);
    ret = xp_sync_client__exchange(p->cl, recs, n, &rep, install, p);
    while (ret && ++tries < 100) {
        tsleep_ms(20);
        ret = xp_sync_client__pending(p->cl) ? xp_sync_client__recover(p->cl, install, p)
                                             : xp_sync_client__exchange(p->cl, NULL, 0, NULL,
                                                                        install, p);
    }
    return ret;
}

static uint64_t rnd(struct proxy *p)
{
    p->rng = p->rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return p->rng >> 33;
}

static void *proxy_main(void *arg)
{
    struct proxy *p = arg;

    for (unsigned r = 0; r < rounds; r++) {
        unsigned n = 50 + rnd(p) % 200;

        for (unsigned i = 0; i < n; i++) {
            /* each proxy mostly sees its own units, but all share some pairs */
            unsigned u = (rnd(p) % 4 == 0) ? rnd(p) % N_UNITS
                                           : (p->id * 7 + rnd(p) % 10) % N_UNITS;
            unsigned d = rnd(p) % N_DSTS;
            struct xp_policer_key k = tkey(u, d);

            xp_policer__packet(p->pol, &k, treal_ns(), NULL);
            atomic_fetch_add(&truth[u * N_DSTS + d], 1);
        }
        if (sync_all(p)) {
            p->err = -1;
            break;
        }
        if (rnd(p) % 3 == 0)
            tsleep_ms(rnd(p) % 5);
    }
    pthread_barrier_wait(&barrier);
    /* final sync of everyone, then a pull round so that every proxy converges */
    if (sync_all(p))
        p->err = -2;
    pthread_barrier_wait(&barrier);
    if (sync_all(p))
        p->err = -3;
    return NULL;
}

int main(void)
{
    struct xp_central_config cfg;
    struct proxy px[MAX_PROXIES];
    pthread_t th[MAX_PROXIES], srv;
    struct xp_central *c;
    struct xp_ctable *t;
    uint64_t total = 0;

    if (getenv("XP_SYNC_PROXIES"))
        n_proxies = (unsigned)atoi(getenv("XP_SYNC_PROXIES"));
    if (getenv("XP_SYNC_ROUNDS"))
        rounds = (unsigned)atoi(getenv("XP_SYNC_ROUNDS"));
    if (n_proxies < 1 || n_proxies > MAX_PROXIES)
        n_proxies = 4;
    xp_log_set_level(XP_LOG_WARN);
    xp_central_config__init(&cfg);
    cfg.port = 0;
    cfg.max_pairs = 16; /* several requests per sync: batches interleave */
    cfg.merge.t_t1_ns = H;
    cfg.merge.t_t4_ns = 2 * H;
    cfg.merge.r = 1;
    for (unsigned i = 0; i < n_proxies; i++) {
        char id[16];

        snprintf(id, sizeof(id), "p%u", i);
        if (xp_central_config__add_proxy(&cfg, id, secret, sizeof(secret)) < 0)
            return 1;
    }
    c = xp_central__create(&cfg);
    if (!c) {
        perror("xp_central__create");
        return 1;
    }
    port = xp_central__port(c);
    pthread_create(&srv, NULL, tcentral_run, c);
    pthread_barrier_init(&barrier, NULL, n_proxies);

    for (unsigned i = 0; i < n_proxies; i++) {
        struct xp_policer_config pc = {.limits = test_limits(), .capacity = 4096,
                                       .worker_id = 0, .hash_seed = 7 + i};
        char id[16];
        struct xp_sync_client_config cc = {.host = "127.0.0.1", .port = port, .proxy_id = id,
                                           .secret = secret, .secret_len = sizeof(secret),
                                           .backoff_min_ms = 10, .backoff_max_ms = 100};

        snprintf(id, sizeof(id), "p%u", i);
        memset(&px[i], 0, sizeof(px[i]));
        px[i].id = i;
        px[i].rng = 1000 + i;
        px[i].dst = xp_dst_table__create(1024, 1);
        px[i].pol = px[i].dst ? xp_policer__create(&pc, px[i].dst) : NULL;
        px[i].cl = xp_sync_client__create(&cc);
        if (!px[i].pol || !px[i].cl) {
            perror("setup");
            return 1;
        }
    }
    for (unsigned i = 0; i < n_proxies; i++)
        pthread_create(&th[i], NULL, proxy_main, &px[i]);
    for (unsigned i = 0; i < n_proxies; i++)
        pthread_join(th[i], NULL);
    xp_central__stop(c);
    pthread_join(srv, NULL);

    t = xp_central__table(c);
    for (unsigned u = 0; u < N_UNITS; u++) {
        for (unsigned d = 0; d < N_DSTS; d++) {
            struct xp_policer_key k = tkey(u, d);
            struct xp_sync_global *g = xp_ctable__find(t, &k);
            uint64_t want = atomic_load(&truth[u * N_DSTS + d]);

            total += want;
            if (!want) {
                CHECK(g == NULL);
                continue;
            }
            CHECK(g != NULL);
            if (!g)
                continue;
            if (g->c != want)
                fprintf(stderr, "pair u%u d%u: central %llu, counted %llu\n", u, d,
                        (unsigned long long)g->c, (unsigned long long)want);
            CHECK_EQ(g->c, want);
            for (unsigned i = 0; i < n_proxies; i++) {
                struct xp_pair_state st;

                /* converged: every proxy holds the central count, nothing unsynced */
                CHECK_EQ(xp_policer__lookup(px[i].pol, &k, &st), 0);
                CHECK_EQ(st.c, g->c);
                CHECK_EQ(st.dc, 0);
            }
        }
    }
    for (unsigned i = 0; i < n_proxies; i++) {
        struct xp_sync_client_stats st;

        xp_sync_client__stats(px[i].cl, &st);
        CHECK_EQ(px[i].err, 0);
        CHECK_EQ(px[i].installs_failed, 0);
        CHECK(st.syncs_ok >= rounds);
        CHECK_EQ(st.degraded_since_ns, 0);
        CHECK(st.connected);
        xp_sync_client__destroy(px[i].cl);
        xp_policer__destroy(px[i].pol);
        xp_dst_table__destroy(px[i].dst);
    }
    xp_central__destroy(c);
    xp_central_config__release(&cfg);
    pthread_barrier_destroy(&barrier);
    if (!failures)
        printf("sync conservation: %u proxies, %u rounds, %llu packets over %u pairs: exact\n",
               n_proxies, rounds, (unsigned long long)total, N_PAIRS);
    return xp_check_report("test_sync_conservation");
}
