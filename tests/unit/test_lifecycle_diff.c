// SPDX-License-Identifier: GPL-2.0-only
/*
 * Differential test of the pair lifecycle: the real system (P proxies of W
 * workers each: xp_policer + xp_dst_table, real sync clients, a real
 * xpro-central on loopback with its state file) against the reference model
 * tests/model/xp_model.c (one global Algorithm 1 state per pair, every
 * packet in time order), on randomized traces: steady units at 0.9 T_F1,
 * floods, on/off units with gaps > T_T1 (restarts), units that speak to a
 * victim and go quiet, windows that shrink (T_T4, r), low-rate units spread
 * over proxies, small pair tables (evictions of idle pairs), syncs of each
 * proxy at jittered moments, and a central restart from its state file.
 *
 * Every proxy with more than one worker shares a pair ownership directory
 * among them, as xpro-proxy does. In the "spread" configurations every
 * packet of a unit goes to a random worker of its proxy (an IPv6 unit
 * rotating its addresses, veth): one worker holds the pair, the others hand
 * their packets to it, taken at the end of every tick.
 *
 * What must hold (docs/policer.md, "Bounded differences from the truth"):
 *  - every unit is single-homed (one proxy, one worker), so for each packet
 *    the real unit-test verdict equals the model's, and so does the pair's
 *    state (ts1, ts2, c) at the end: exactly, across a restart of the
 *    central node from its state file too (the rows keep their writers).
 *  - a destination whose units are all behind one proxy: the destination
 *    verdict equals the model's for every packet, exactly.
 *  - a destination shared by several proxies learns the others' packets late:
 *    no false positive (real drop_dst while the model's aggregate rate is
 *    under 0.95 T_F2 in this tick and the next: another proxy's pair shrinks
 *    here as its window passes T_T4, at home at its next packet, so up to
 *    one of its inter-packet gaps earlier), and every false negative is
 *    explained by that lag:
 *    the model's count without the other proxies' packets of the last three
 *    sync periods (theirs since their last sync, ours since our last pull,
 *    each at most 1.5 periods apart here) is not over T_F2 either.
 *  - spread units (per packet a random worker of the proxy): after every tick
 *    the pair is held by exactly one worker and its (ts1, ts2, c) is exactly
 *    the model's, so is the tick in which the owner first drops it by the
 *    unit test. A packet's own verdict may lag by the hand-offs of its tick
 *    (taken at the tick's end), so it is not compared, nor are the
 *    destination verdicts of spread configurations.
 *
 * XP_DIFF_SEEDS=N runs N seeds per configuration (default 2; bench/diff_sweep.sh
 * runs many), from XP_DIFF_FIRST_SEED (default 1); XP_DIFF_CONFIG=name runs
 * only that configuration. Bounded: an alarm ends a stuck run with a message.
 */
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include "src/store/store.h"
#include "src/util/log.h"
#include "tests/model/xp_model.h"
#include "test_sync_common.h"

#define MS 1000000ULL
#define SEC 1000000000ULL
#define MAX_PROXIES 4
#define MAX_WORKERS 3
#define MAX_UNITS 256
#define TICK MS
#define MAX_MS 20000

static const uint8_t secret[16] = "0123456789abcdef";

struct unit {
    uint32_t id, dst;
    unsigned proxy, worker;
    /* profile: rate (pps) from start to stop, optionally on/off */
    uint64_t start, stop, on, off;
    uint64_t rate, flood_rate, flood_at;
    uint64_t acc; /* packets owed, in 1/1000 */
    bool sent_tick; /* sent in the current tick (spread: its state is compared after it) */
    bool model_dropped, real_dropped; /* spread: a unit-test drop seen in this tick */
};

struct proxy {
    unsigned id;
    struct xp_dst_table *dst;
    struct xp_owners *own; /* more than one worker */
    struct xp_policer *pol[MAX_WORKERS];
    struct xp_sync_client *cl;
    uint64_t next_sync;
};

struct config {
    const char *name;
    unsigned proxies, workers, capacity;
    uint64_t t_t4, r, sync_ms;
    bool shared_victim; /* low-rate units of one victim spread over proxies */
    bool restart_central;
    uint64_t duration;
    bool spread; /* each packet to a random worker of its proxy */
    bool fair;   /* dst_policy fair_share, with an honest 100 pps unit per proxy to each victim */
};

static struct {
    struct xp_central_config cfg;
    struct xp_central *c;
    pthread_t th;
    uint16_t port;
} central;

struct counts {
    uint64_t packets, unit_mismatch, state_mismatch;
    uint64_t dst_local_mismatch, dst_shared_fp, dst_shared_fn, dst_shared_packets;
    uint64_t dst_shared_over, fn_unexplained;
    uint64_t spread_state_checks, spread_state_mismatch, spread_holders_wrong;
    uint64_t spread_drop_ticks, spread_drop_tick_mismatch, handed_off;
    /* fair_share */
    uint64_t fair_drop_all, fair_share_drops, fair_units_off, fair_unexplained;
};

/* fair_share: each unit's forwarded packets, real and model, and its packets at the destination over T_F2 */
static uint64_t fwd_real[MAX_UNITS], fwd_model[MAX_UNITS], over_pk[MAX_UNITS], lag_pk[MAX_UNITS];
/* fair_share: per destination and trace millisecond, the model limits it; the real share drops */
#define FAIR_DSTS 64
static bool lim_ms[FAIR_DSTS][MAX_MS];
static uint32_t sd_ms[FAIR_DSTS][MAX_MS];

/* Packets to the shared victim per proxy and trace millisecond: what a proxy may not know yet. */
static uint32_t victim_ms[MAX_PROXIES][MAX_MS];
/* Trace milliseconds in which the model's victim aggregate was over 0.95 T_F2 at some packet. */
static bool victim_over_ms[MAX_MS];
/* Milliseconds of real destination drops the model did not nearly make at that packet. */
static uint32_t fp_ms[MAX_MS];

static uint64_t rng;

static uint64_t rnd(void)
{
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return rng >> 33;
}

/*
 * XP_DIFF_STORE=redis: the central node's M_DB on the Redis Cluster of XP_REDIS_SEEDS
 * (tests/netns/test_store_redis.sh), fresh keys per run (a prefix of our own); its
 * "restart" is a new front-end on the same store. Else the embedded table.
 */
static struct xp_store *store_open(unsigned seed)
{
    static unsigned runs;
    const char *kind = getenv("XP_DIFF_STORE"), *seeds = getenv("XP_REDIS_SEEDS");
    struct xp_store_redis_config rc = {0};
    struct xp_store *s;
    char err[256];

    if (!kind || strcmp(kind, "redis") != 0)
        return NULL;
    if (!seeds || xp_store_redis__parse_seeds(&rc, seeds, err, sizeof(err)) < 0) {
        fprintf(stderr, "XP_DIFF_STORE=redis needs XP_REDIS_SEEDS\n");
        exit(1);
    }
    snprintf(rc.user, sizeof(rc.user), "%s", getenv("XP_REDIS_USER") ? getenv("XP_REDIS_USER") : "");
    snprintf(rc.password, sizeof(rc.password), "%s",
             getenv("XP_REDIS_PASS") ? getenv("XP_REDIS_PASS") : "");
    /* a run of its own: fresh keys (the config's name may be long, the count is unique) */
    snprintf(rc.prefix, sizeof(rc.prefix), "xpd%d.%u.%u", (int)getpid(), ++runs, seed);
    s = xp_store_redis__create(&rc, err, sizeof(err));
    if (!s) {
        fprintf(stderr, "redis store: %s\n", err);
        exit(1);
    }
    return s;
}

static void central_start(void)
{
    central.c = xp_central__create(&central.cfg);
    if (!central.c) {
        perror("xp_central__create");
        exit(1);
    }
    central.port = xp_central__port(central.c);
    central.cfg.port = central.port; /* a restart comes back on the same port */
    pthread_create(&central.th, NULL, tcentral_run, central.c);
}

static void central_stop(void)
{
    CHECK_EQ(xp_central__persist(central.c), 0);
    xp_central__stop(central.c);
    pthread_join(central.th, NULL);
    xp_central__destroy(central.c);
    central.c = NULL;
}

static unsigned worker_of(const struct xp_policer_key *k, unsigned workers)
{
    uint64_t h = 0;

    for (unsigned i = 0; i < sizeof(*k); i++)
        h = h * 131 + ((const uint8_t *)k)[i];
    return (unsigned)(h % workers);
}

struct install_ctx {
    struct proxy *p;
    unsigned workers;
    unsigned sender; /* the worker whose records are being exchanged */
    unsigned failed;
};

/* As src/proxy/sync_thread.c routes answers: to the sender, else the owner, else by key. */
static void install(void *arg, const struct xp_sync_answer *a)
{
    struct install_ctx *x = arg;
    int owner = xp_owners__owner(x->p->own, a->key);
    unsigned w = a->sent ? x->sender : owner >= 0 ? (unsigned)owner
                                                  : worker_of(a->key, x->workers);

    if (xp_policer__install(x->p->pol[w], a->key, a->sent, &a->fresh) < 0)
        x->failed++;
}

/* One sync round of a proxy, as src/proxy/sync_thread.c does it: every worker's dirty pairs. */
static void sync_proxy(struct proxy *p, unsigned workers)
{
    static struct xp_pair_record recs[65536];
    struct install_ctx x = {.p = p, .workers = workers};

    for (unsigned w = 0; w < workers; w++) {
        unsigned n = xp_policer__collect_dirty(p->pol[w], recs, 65536);
        int ret, tries = 0;

        x.sender = w;
        while (xp_sync_client__pending(p->cl)) {
            if (xp_sync_client__recover(p->cl, install, &x) == 0)
                break;
            if (++tries > 200) {
                fprintf(stderr, "proxy %u: cannot recover the sync\n", p->id);
                exit(1);
            }
            tsleep_ms(10);
        }
        ret = xp_sync_client__exchange(p->cl, recs, n, NULL, install, &x);
        while (ret) {
            if (++tries > 200) {
                fprintf(stderr, "proxy %u: sync failed: %d\n", p->id, ret);
                exit(1);
            }
            tsleep_ms(10);
            ret = xp_sync_client__pending(p->cl) ? xp_sync_client__recover(p->cl, install, &x)
                                                 : xp_sync_client__exchange(p->cl, NULL, 0,
                                                                            NULL, install, &x);
        }
    }
    CHECK_EQ(x.failed, 0);
}

static uint64_t unit_rate(const struct unit *u, uint64_t rel)
{
    if (rel < u->start || rel >= u->stop)
        return 0;
    if (u->on && (rel - u->start) % (u->on + u->off) >= u->on)
        return 0;
    if (u->flood_rate && rel >= u->flood_at)
        return u->flood_rate;
    return u->rate;
}

/* The units of one seed. Victim 0 is the low-rate target; each proxy also has its own destination. */
static unsigned make_units(const struct config *cf, struct unit *u)
{
    unsigned n = 0;

    for (unsigned p = 0; p < cf->proxies; p++) {
        uint64_t j = rnd() % 300 * MS;

        /* steady at 0.9 T_F1 to the proxy's own destination */
        u[n++] = (struct unit){.dst = 10 + p, .proxy = p, .start = j, .stop = cf->duration,
                               .rate = 900};
        /* on/off with gaps longer than T_T1: restarts */
        u[n++] = (struct unit){.dst = 10 + p, .proxy = p, .start = j, .stop = cf->duration,
                               .rate = 300 + rnd() % 900, .on = (1 + rnd() % 3) * SEC,
                               .off = 1500 * MS};
        /* fair_share: an honest unit at 100 pps towards the low-rate victim, all along */
        if (cf->fair)
            u[n++] = (struct unit){.dst = cf->shared_victim ? 0 : 30 + p, .proxy = p,
                                   .start = j, .stop = cf->duration, .rate = 100};
        /* a flooder, 3 T_F1 after a quiet start */
        u[n++] = (struct unit){.dst = 20 + p, .proxy = p, .start = 0, .stop = cf->duration,
                               .rate = 100, .flood_rate = 3000,
                               .flood_at = (4 + rnd() % 6) * SEC};
        /* spoke to the victim and went quiet */
        u[n++] = (struct unit){.dst = 0, .proxy = p, .start = 0, .stop = 2 * SEC, .rate = 50};
        /* the low-rate attackers: 900 pps each; 4 of them are over T_F2 = 3000 together */
        for (unsigned k = 0; k < (cf->shared_victim ? 1 : 4); k++)
            u[n++] = (struct unit){.dst = cf->shared_victim ? 0 : 30 + p, .proxy = p,
                                   .start = (6 + rnd() % 2) * SEC + rnd() % 500 * MS,
                                   .stop = cf->duration, .rate = 900};
        /* transient units (table pressure: evictions of idle pairs) */
        for (unsigned k = 0; k < 12; k++) {
            uint64_t s = rnd() % (cf->duration - 2 * SEC);

            u[n++] = (struct unit){.dst = 40 + k % 3, .proxy = p, .start = s,
                                   .stop = s + 300 * MS + rnd() % 700 * MS, .rate = 200};
        }
    }
    if (cf->shared_victim)
        for (unsigned k = cf->proxies; k < 4; k++) /* 4 attackers in all */
            u[n++] = (struct unit){.dst = 0, .proxy = k % cf->proxies, .start = 7 * SEC,
                                   .stop = cf->duration, .rate = 900};
    for (unsigned i = 0; i < n; i++) {
        struct xp_policer_key k = tkey(i + 1, u[i].dst);

        u[i].id = i + 1;
        u[i].worker = worker_of(&k, cf->workers);
    }
    return n;
}

/* The worker of proxy p that holds key (its owner), or the worker a pinned unit uses. */
static unsigned holder_of(const struct config *cf, const struct proxy *p,
                          const struct xp_policer_key *k)
{
    int owner = xp_owners__owner(p->own, k);

    return owner >= 0 ? (unsigned)owner : worker_of(k, cf->workers);
}

/*
 * End of a tick in a spread configuration: every worker takes its hand-offs
 * (a drop among them is the owner's unit-test verdict of that tick), then
 * every unit that sent in the tick is held by one worker, in the model's
 * state, and was dropped by the unit test in this tick iff the model
 * dropped one of its packets.
 */
static void check_spread_tick(const struct config *cf, struct proxy *px, struct unit *units,
                              unsigned n_units, const struct xp_model *model, uint64_t base,
                              struct counts *cnt)
{
    struct xp_policer_handoff out[256];

    for (unsigned i = 0; i < cf->proxies; i++) {
        for (unsigned w = 0; w < cf->workers; w++) {
            unsigned n;

            while ((n = xp_policer__take_handoffs(px[i].pol[w], out, 256, NULL)) > 0) {
                for (unsigned j = 0; j < n; j++) {
                    if (out[j].verdict != XP_VERDICT_DROP_UNIT)
                        continue;
                    for (unsigned x = 0; x < n_units; x++) {
                        struct xp_policer_key k = tkey(units[x].id, units[x].dst);

                        if (units[x].proxy == i && memcmp(&out[j].key, &k, sizeof(k)) == 0)
                            units[x].real_dropped = true;
                    }
                }
                if (n < 256)
                    break;
            }
        }
    }
    for (unsigned x = 0; x < n_units; x++) {
        struct unit *u = &units[x];
        struct xp_policer_key k = tkey(u->id, u->dst);
        const struct xp_model_pair *mp = xp_model__find(model, u->id, u->dst);
        unsigned holders = 0, holder = 0;
        struct xp_pair_state st;

        if (!u->sent_tick)
            continue;
        u->sent_tick = false;
        for (unsigned w = 0; w < cf->workers; w++) {
            if (xp_policer__lookup(px[u->proxy].pol[w], &k, &st) == 0) {
                holders++;
                holder = w;
            }
        }
        if (u->model_dropped || u->real_dropped) {
            cnt->spread_drop_ticks++;
            cnt->spread_drop_tick_mismatch += u->model_dropped != u->real_dropped;
        }
        u->model_dropped = u->real_dropped = false;
        if (holders != 1) {
            /* a full small table may have refused it: then nobody holds it */
            cnt->spread_holders_wrong += holders > 1 || cf->capacity > 1024;
            continue;
        }
        if (!mp)
            continue;
        cnt->spread_state_checks++;
        xp_policer__lookup(px[u->proxy].pol[holder], &k, &st);
        if (st.ts1 != mp->ts1 || st.ts2 != mp->ts2 || st.c != mp->c) {
            cnt->spread_state_mismatch++;
            if (cnt->spread_state_mismatch <= 3)
                fprintf(stderr, "%s unit %u: real (%llu, %llu, %llu) model (%llu, %llu, %llu)\n",
                        cf->name, u->id, (unsigned long long)(st.ts1 - base),
                        (unsigned long long)(st.ts2 - base), (unsigned long long)st.c,
                        (unsigned long long)(mp->ts1 - base),
                        (unsigned long long)(mp->ts2 - base), (unsigned long long)mp->c);
        }
    }
}

static bool dst_is_shared(const struct config *cf, uint32_t dst)
{
    return cf->shared_victim && dst == 0;
}

/* fair_share's tick on one proxy, as src/proxy/fair_tick.c does it: every worker's demands. */
static void fair_tick(struct proxy *p, unsigned workers, const struct xp_policer_limits *lim,
                      uint64_t t)
{
    static struct xp_fair_demand d[65536];
    size_t n = 0;

    for (unsigned w = 0; w < workers; w++) {
        bool trunc;

        n += xp_policer__fair_demands(p->pol[w], t, d + n, (unsigned)(65536 - n), &trunc);
        CHECK(!trunc);
    }
    xp_fair__publish(p->dst, lim, d, n, t);
}

/*
 * fair_share against the model, per unit over the trace: the forwarded
 * packets may differ by what the real system's lags explain, at the unit's
 * rate r over its destination's overload: the share is up to one tick old
 * (and none in the tick of the detection: everything over T_F2 dropped),
 * so 2 ticks of r, and the bucket's 20 ms burst; for a destination shared by
 * proxies, the packets forwarded here while the model dropped them and the
 * sync lag explains it (the false negatives' rule); plus 2 % of the packets
 * the unit sent while the model limited its destination (the demands are
 * rates over windows that differ by the same lags).
 */
static void fair_judge(const struct config *cf, const struct unit *units, unsigned n_units,
                       struct counts *cnt)
{
    /*
     * Every real share drop falls where the model limits the destination,
     * give or take the real share's age: published up to one tick (100 ms)
     * before, from demands the model's 100 pps units confirm within their
     * gap (10 ms) after.
     */
    for (unsigned d = 0; d < FAIR_DSTS; d++)
        for (uint64_t m = 0; m < cf->duration / MS && m < MAX_MS; m++) {
            bool near = false;

            if (!sd_ms[d][m])
                continue;
            for (uint64_t a = m > 110 ? m - 110 : 0; a <= m + 10 && a < MAX_MS; a++)
                near |= lim_ms[d][a];
            if (!near) {
                cnt->fair_unexplained += sd_ms[d][m];
                fprintf(stderr, "%s: %u share drops to dst %u at +%llu ms, the model not limiting\n",
                        cf->name, sd_ms[d][m], d, (unsigned long long)m);
            }
        }
    for (unsigned i = 0; i < n_units; i++) {
        const struct unit *u = &units[i];
        uint64_t r = u->flood_rate > u->rate ? u->flood_rate : u->rate;
        uint64_t lag_ms = 2 * XP_FAIR_PERIOD_NS / MS + 20;
        uint64_t tol = r * lag_ms / 1000 + over_pk[i] / 50 + lag_pk[i] + 1;
        uint64_t diff = fwd_real[i] > fwd_model[i] ? fwd_real[i] - fwd_model[i]
                                                   : fwd_model[i] - fwd_real[i];

        if (!over_pk[i])
            continue;
        if (getenv("XP_DIFF_VERBOSE") || diff > tol)
            fprintf(stderr, "%s unit %u (dst %u, %llu pps): forwarded real %llu model %llu of %llu "
                    "sent while limited (tolerance %llu)%s\n",
                    cf->name, u->id, u->dst, (unsigned long long)r,
                    (unsigned long long)fwd_real[i], (unsigned long long)fwd_model[i],
                    (unsigned long long)over_pk[i], (unsigned long long)tol,
                    diff > tol ? ": OFF" : "");
        if (diff > tol)
            cnt->fair_units_off++;
    }
}

static void run(const struct config *cf, uint64_t seed, struct counts *tot)
{
    static struct xp_model model;
    static struct unit units[MAX_UNITS];
    struct proxy px[MAX_PROXIES];
    struct xp_model_limits ml = {.t_t1 = SEC, .t_t2 = SEC, .t_t3 = SEC, .t_t4 = cf->t_t4,
                                 .r = cf->r, .f1 = 1000, .f2 = 3000,
                                 .policy = cf->fair ? XP_MODEL_POLICY_FAIR_SHARE
                                                    : XP_MODEL_POLICY_DROP_ALL,
                                 .burst = 20 * MS, .min_span = 100 * MS};
    struct xp_policer_limits lim;
    struct counts cnt = {0};
    uint64_t base = treal_ns(), restart_at;
    unsigned n_units;
    char state[64];

    rng = seed * 0x9e3779b97f4a7c15ULL + 1;
    memset(victim_ms, 0, sizeof(victim_ms));
    memset(victim_over_ms, 0, sizeof(victim_over_ms));
    memset(fp_ms, 0, sizeof(fp_ms));
    snprintf(state, sizeof(state), "/tmp/xp-diff-%d.state", (int)getpid());
    unlink(state);
    xp_central_config__init(&central.cfg);
    central.cfg.port = 0;
    snprintf(central.cfg.state_file, sizeof(central.cfg.state_file), "%s", state);
    central.cfg.store = store_open(seed);
    central.cfg.persist_period_ms = 3600000;
    central.cfg.merge.t_t1_ns = SEC;
    central.cfg.merge.t_t4_ns = cf->t_t4;
    central.cfg.merge.r = (uint32_t)cf->r;
    central.cfg.merge.max_skew_ns = 3600 * SEC; /* the trace runs ahead of the wall clock */
    central.cfg.max_pairs = 64; /* several requests per sync */
    for (unsigned i = 0; i < cf->proxies; i++) {
        char id[16];

        snprintf(id, sizeof(id), "p%u", i);
        xp_central_config__add_proxy(&central.cfg, id, secret, sizeof(secret));
    }
    central_start();

    xp_policer_limits__init(&lim);
    lim.t_t1_ns = lim.t_t2_ns = lim.t_t3_ns = SEC;
    lim.t_t4_ns = cf->t_t4;
    lim.shrink_r = (uint32_t)cf->r;
    lim.t_f1_pps = 1000;
    lim.t_f2_pps = 3000;
    lim.remote_grace_ns = 2 * cf->sync_ms * MS;
    lim.dst_policy = cf->fair ? XP_DST_FAIR_SHARE : XP_DST_DROP_ALL;
    memset(fwd_real, 0, sizeof(fwd_real));
    memset(fwd_model, 0, sizeof(fwd_model));
    memset(over_pk, 0, sizeof(over_pk));
    memset(lag_pk, 0, sizeof(lag_pk));
    memset(lim_ms, 0, sizeof(lim_ms));
    memset(sd_ms, 0, sizeof(sd_ms));
    for (unsigned i = 0; i < cf->proxies; i++) {
        char id[16];
        struct xp_sync_client_config cc = {.host = "127.0.0.1", .port = central.port,
                                           .proxy_id = id, .secret = secret,
                                           .secret_len = sizeof(secret), .backoff_min_ms = 5,
                                           .backoff_max_ms = 50};

        snprintf(id, sizeof(id), "p%u", i);
        px[i].id = i;
        px[i].dst = xp_dst_table__create(1024, cf->workers);
        px[i].own = cf->workers > 1 ? xp_owners__create((uint64_t)cf->capacity * cf->workers,
                                                         cf->workers)
                                    : NULL;
        for (unsigned w = 0; w < cf->workers; w++) {
            struct xp_policer_config pc = {.limits = lim, .capacity = cf->capacity,
                                           .worker_id = w, .hash_seed = seed * 16 + i * 4 + w,
                                           .owners = px[i].own};

            px[i].pol[w] = xp_policer__create(&pc, px[i].dst);
            if (!px[i].pol[w]) {
                perror("xp_policer__create");
                exit(1);
            }
        }
        px[i].cl = xp_sync_client__create(&cc);
        px[i].next_sync = rnd() % (cf->sync_ms * MS);
    }
    xp_model__init(&model, &ml);
    n_units = make_units(cf, units);
    restart_at = cf->restart_central ? (5 + rnd() % 5) * SEC : UINT64_MAX;

    for (uint64_t rel = 0; rel < cf->duration; rel += TICK) {
        uint64_t t = base + rel;

        /* the workers' loop turn: quiescent state, idle sweep (whole table: exact timing) */
        for (unsigned i = 0; i < cf->proxies; i++)
            for (unsigned w = 0; w < cf->workers; w++) {
                xp_policer__quiescent(px[i].pol[w]);
                xp_policer__expire(px[i].pol[w], t, cf->capacity);
            }
        for (unsigned i = 0; i < cf->proxies; i++)
            xp_dst_table__reclaim(px[i].dst, 1024);
        if (cf->fair && rel % XP_FAIR_PERIOD_NS == 0)
            for (unsigned i = 0; i < cf->proxies; i++)
                fair_tick(&px[i], cf->workers, &lim, t);
        for (unsigned i = 0; i < n_units; i++) {
            struct unit *u = &units[i];
            struct xp_policer_key k = tkey(u->id, u->dst);

            u->acc += unit_rate(u, rel);
            while (u->acc >= 1000) {
                struct xp_policer *pol =
                    px[u->proxy].pol[cf->spread ? rnd() % cf->workers : u->worker];
                const struct xp_model_pair *mp = xp_model__find(&model, u->id, u->dst);
                uint64_t shrinks_before = mp ? mp->shrinks : 0;
                enum xp_model_verdict mv;
                enum xp_verdict rv;
                uint64_t c, ts1, ts2;
                bool agg;

                u->acc -= 1000;
                if (dst_is_shared(cf, u->dst))
                    victim_ms[u->proxy][rel / MS]++;
                mv = xp_model__packet(&model, u->id, u->dst, t);
                rv = xp_policer__packet(pol, &k, t, NULL);
                mp = xp_model__find(&model, u->id, u->dst);
                cnt.packets++;
                if (cf->fair) {
                    fwd_real[i] += rv == XP_VERDICT_FORWARD || rv == XP_VERDICT_FOREIGN;
                    fwd_model[i] += mv == XP_MODEL_FORWARD;
                    cnt.fair_drop_all += rv == XP_VERDICT_DROP_DST;
                    cnt.fair_share_drops += rv == XP_VERDICT_DROP_DST_SHARE;
                    agg = xp_model__aggregate(&model, u->dst, t, &c, &ts1, &ts2) &&
                          ts2 - ts1 > SEC;
                    if ((agg && xp_model__over(c, ts2 - ts1, 3000)) || model.limiting[u->dst])
                        over_pk[i]++; /* sent while the model limits its destination */
                    /* a share drop only where the model limits the destination (judged at the end) */
                    if (agg && xp_model__over(c, ts2 - ts1, 3000))
                        lim_ms[u->dst][rel / MS] = true;
                    if (model.limiting[u->dst])
                        lim_ms[u->dst][rel / MS] = true;
                    if (rv == XP_VERDICT_DROP_DST_SHARE)
                        sd_ms[u->dst][rel / MS]++;
                    /*
                     * Forwarded here, over the share in the model, while this
                     * proxy may not know yet (the false negatives' rule above:
                     * the model without the other proxies' packets of the last
                     * 3 sync periods is not over T_F2): allowed on top.
                     */
                    if (mv == XP_MODEL_DROP_DST_SHARE && rv == XP_VERDICT_FORWARD &&
                        dst_is_shared(cf, u->dst) && agg) {
                        uint64_t lag = 0, from = rel / MS > 3 * cf->sync_ms
                                                     ? rel / MS - 3 * cf->sync_ms : 0;

                        for (unsigned q = 0; q < cf->proxies; q++)
                            for (uint64_t m = from; q != u->proxy && m <= rel / MS; m++)
                                lag += victim_ms[q][m];
                        if (!(lag < c && xp_model__over(c - lag, ts2 - ts1, 3000)))
                            lag_pk[i]++;
                    }
                    /* the destination verdicts are judged per unit at the end (below) */
                    if (mv == XP_MODEL_DROP_DST_SHARE)
                        mv = XP_MODEL_FORWARD;
                    if (rv == XP_VERDICT_DROP_DST_SHARE)
                        rv = XP_VERDICT_FORWARD;
                    if (!cf->spread && (rv == XP_VERDICT_DROP_UNIT) != (mv == XP_MODEL_DROP_UNIT))
                        cnt.unit_mismatch++;
                    continue;
                }
                if (cf->spread) {
                    /* compared per tick, after the hand-offs (below) */
                    u->sent_tick = true;
                    u->model_dropped |= mv == XP_MODEL_DROP_UNIT;
                    u->real_dropped |= rv == XP_VERDICT_DROP_UNIT;
                    cnt.handed_off += rv >= XP_VERDICT_FOREIGN;
                    continue;
                }
                if ((rv == XP_VERDICT_DROP_UNIT) != (mv == XP_MODEL_DROP_UNIT)) {
                    cnt.unit_mismatch++;
                    if (cnt.unit_mismatch <= 3)
                        fprintf(stderr, "%s seed %llu t=+%llu ms unit %u: real %d model %d\n",
                                cf->name, (unsigned long long)seed,
                                (unsigned long long)(rel / MS), u->id, rv, mv);
                }
                if (mv == XP_MODEL_DROP_UNIT || rv == XP_VERDICT_DROP_UNIT)
                    continue;
                agg = xp_model__aggregate(&model, u->dst, t, &c, &ts1, &ts2);
                if (!dst_is_shared(cf, u->dst)) {
                    if ((rv == XP_VERDICT_DROP_DST) != (mv == XP_MODEL_DROP_DST)) {
                        cnt.dst_local_mismatch++;
                        if (cnt.dst_local_mismatch <= 3)
                            fprintf(stderr, "%s seed %llu t=+%llu ms dst %u: real %d model %d\n",
                                    cf->name, (unsigned long long)seed,
                                    (unsigned long long)(rel / MS), u->dst, rv, mv);
                    }
                    continue;
                }
                cnt.dst_shared_packets++;
                (void)shrinks_before;
                if (mv == XP_MODEL_DROP_DST)
                    cnt.dst_shared_over++;
                if (agg && ts2 - ts1 > SEC && xp_model__over(c * 100, ts2 - ts1, 3000ULL * 95))
                    victim_over_ms[rel / MS] = true;
                if (rv == XP_VERDICT_DROP_DST && mv != XP_MODEL_DROP_DST &&
                    (!agg || ts2 - ts1 <= SEC ||
                     !xp_model__over(c * 100, ts2 - ts1, 3000ULL * 95))) {
                    struct xp_dst_aggregate ra = {0};

                    /* judged after the next tick (below): a false positive unless the model nearly drops by then */
                    fp_ms[rel / MS]++;
                    xp_dst_table__lookup(px[u->proxy].dst, k.dst, &ra);
                    if (getenv("XP_DIFF_VERBOSE"))
                        fprintf(stderr,
                                "%s seed %llu t=+%llu ms p%u unit %u: false positive: model c=%llu "
                                "span=%llu ms (%llu pps), real c=%llu span=%llu ms (%llu pps)\n",
                                cf->name, (unsigned long long)seed,
                                (unsigned long long)(rel / MS), u->proxy, u->id,
                                (unsigned long long)c, (unsigned long long)((ts2 - ts1) / MS),
                                (unsigned long long)(ts2 > ts1 ? c * SEC / (ts2 - ts1) : 0),
                                (unsigned long long)ra.c,
                                (unsigned long long)((ra.ts2 - ra.ts1) / MS),
                                (unsigned long long)(ra.ts2 > ra.ts1 ? ra.c * SEC / (ra.ts2 - ra.ts1)
                                                                     : 0));
                }
                if (rv != XP_VERDICT_DROP_DST && mv == XP_MODEL_DROP_DST) {
                    /*
                     * Explained if the model, without the other proxies'
                     * packets of the last 3 sync periods (theirs since their
                     * last sync, at most 1.5 S, and since ours, 1.5 S), would
                     * not be over T_F2 either.
                     */
                    uint64_t lag = 0, from = rel / MS > 3 * cf->sync_ms ? rel / MS - 3 * cf->sync_ms : 0;

                    for (unsigned q = 0; q < cf->proxies; q++)
                        for (uint64_t m = from; q != u->proxy && m <= rel / MS; m++)
                            lag += victim_ms[q][m];
                    cnt.dst_shared_fn++;
                    if (lag < c && xp_model__over(c - lag, ts2 - ts1, 3000))
                        cnt.fn_unexplained++;
                }
                if (getenv("XP_DIFF_TRACE") && rel % (250 * MS) == 0) {
                    struct xp_dst_aggregate ra = {0};

                    xp_dst_table__lookup(px[u->proxy].dst, k.dst, &ra);
                    fprintf(stderr, "t=%llu p%u model c=%llu span=%llu rate=%llu | real c=%llu span=%llu rate=%llu\n",
                            (unsigned long long)(rel / MS), u->proxy, (unsigned long long)c,
                            (unsigned long long)((ts2 - ts1) / MS),
                            (unsigned long long)(ts2 > ts1 ? c * SEC / (ts2 - ts1) : 0),
                            (unsigned long long)ra.c, (unsigned long long)((ra.ts2 - ra.ts1) / MS),
                            (unsigned long long)(ra.ts2 > ra.ts1 ? ra.c * SEC / (ra.ts2 - ra.ts1) : 0));
                }
            }
        }
        if (cf->spread)
            check_spread_tick(cf, px, units, n_units, &model, base, &cnt);
        for (unsigned i = 0; i < cf->proxies; i++) {
            if (rel < px[i].next_sync)
                continue;
            sync_proxy(&px[i], cf->workers);
            px[i].next_sync = rel + cf->sync_ms * MS / 2 + rnd() % (cf->sync_ms * MS);
        }
        if (rel >= restart_at) {
            /* from its state file: the rows keep their writers, nothing may change */
            central_stop();
            central_start();
            restart_at = UINT64_MAX;
        }
    }
    /*
     * A real destination drop at a packet where the model's rate is not over
     * 0.95 T_F2 is a false positive unless the model gets there within the
     * next tick: another proxy's pair is shrunk here when its window passes
     * T_T4 (measured to now), at home at its next packet, up to one of its
     * inter-packet gaps later, and the aggregate's rate jumps at that shrink.
     */
    for (uint64_t m = 0; m < cf->duration / MS && m + 1 < MAX_MS; m++) {
        /*
         * fair_share's configurations add units at 100 pps towards the
         * victim whose windows live long enough to shrink: their shrink comes
         * up to their gap, 10 ms, later in the model than here.
         */
        uint64_t ahead = cf->fair ? 10 : 1;
        bool near = false;

        for (uint64_t a = 0; a <= ahead && m + a < MAX_MS; a++)
            near |= victim_over_ms[m + a];
        if (fp_ms[m] && !near)
            cnt.dst_shared_fp += fp_ms[m];
    }
    if (cf->fair)
        fair_judge(cf, units, n_units, &cnt);
    /* the end state of every pair: exactly the model's */
    for (unsigned i = 0; i < n_units; i++) {
        const struct unit *u = &units[i];
        const struct xp_model_pair *mp = xp_model__find(&model, u->id, u->dst);
        struct xp_policer_key k = tkey(u->id, u->dst);
        struct xp_pair_state st;

        if (!mp)
            continue;
        if (xp_policer__lookup(px[u->proxy].pol[holder_of(cf, &px[u->proxy], &k)], &k, &st) <
            0) {
            /* evicted: only allowed once idle */
            if (base + cf->duration - mp->ts2 <= SEC)
                cnt.state_mismatch++;
            continue;
        }
        if (base + cf->duration - mp->ts2 > SEC)
            continue; /* idle: its next packet restarts it either way */
        if (st.ts1 != mp->ts1 || st.ts2 != mp->ts2 || st.c != mp->c) {
            cnt.state_mismatch++;
            if (cnt.state_mismatch <= 3)
                fprintf(stderr, "%s seed %llu unit %u: real (%llu, %llu, %llu) model (%llu, %llu, %llu)\n",
                        cf->name, (unsigned long long)seed, u->id,
                        (unsigned long long)(st.ts1 - base), (unsigned long long)(st.ts2 - base),
                        (unsigned long long)st.c, (unsigned long long)(mp->ts1 - base),
                        (unsigned long long)(mp->ts2 - base), (unsigned long long)mp->c);
        }
    }
    for (unsigned i = 0; i < cf->proxies; i++) {
        xp_sync_client__destroy(px[i].cl);
        for (unsigned w = 0; w < cf->workers; w++)
            xp_policer__destroy(px[i].pol[w]);
        xp_owners__destroy(px[i].own);
        xp_dst_table__destroy(px[i].dst);
    }
    central_stop();
    xp_store__destroy(central.cfg.store);
    xp_central_config__release(&central.cfg);
    unlink(state);
    {
        char tmp[80];

        snprintf(tmp, sizeof(tmp), "%s.tmp", state);
        unlink(tmp);
    }
    tot->packets += cnt.packets;
    tot->unit_mismatch += cnt.unit_mismatch;
    tot->state_mismatch += cnt.state_mismatch;
    tot->dst_local_mismatch += cnt.dst_local_mismatch;
    tot->dst_shared_fp += cnt.dst_shared_fp;
    tot->dst_shared_fn += cnt.dst_shared_fn;
    tot->dst_shared_packets += cnt.dst_shared_packets;
    tot->dst_shared_over += cnt.dst_shared_over;
    tot->fn_unexplained += cnt.fn_unexplained;
    tot->spread_state_checks += cnt.spread_state_checks;
    tot->spread_state_mismatch += cnt.spread_state_mismatch;
    tot->spread_holders_wrong += cnt.spread_holders_wrong;
    tot->spread_drop_ticks += cnt.spread_drop_ticks;
    tot->spread_drop_tick_mismatch += cnt.spread_drop_tick_mismatch;
    tot->handed_off += cnt.handed_off;
    tot->fair_drop_all += cnt.fair_drop_all;
    tot->fair_share_drops += cnt.fair_share_drops;
    tot->fair_units_off += cnt.fair_units_off;
    tot->fair_unexplained += cnt.fair_unexplained;
}

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "test_lifecycle_diff: time limit reached (stuck?)\n";

    if (write(2, msg, sizeof(msg) - 1) < 0)
        _exit(2);
    _exit(2);
}

int main(void)
{
    static const struct config configs[] = {
        {"one-proxy", 1, 2, 4096, 4 * SEC, 2, 500, false, false, 16 * SEC},
        {"local-dsts", 3, 2, 4096, 4 * SEC, 2, 500, false, true, 16 * SEC},
        {"no-shrink", 2, 3, 4096, 4 * SEC, 1, 250, false, false, 12 * SEC},
        {"r3-small-tables", 2, 2, 24, 3300 * MS, 3, 250, false, true, 14 * SEC},
        {"shared-victim", 4, 2, 4096, 4 * SEC, 2, 500, true, false, 16 * SEC},
        {"shared-victim-r3", 4, 1, 4096, 3300 * MS, 3, 250, true, true, 16 * SEC},
        {"spread", 1, 3, 4096, 4 * SEC, 2, 500, false, false, 16 * SEC, true},
        {"spread-shared-restart", 3, 2, 4096, 3300 * MS, 3, 250, true, true, 14 * SEC, true},
        {"fair-local", 2, 2, 4096, 4 * SEC, 2, 500, false, false, 16 * SEC, false, true},
        {"fair-shared-victim", 4, 1, 4096, 4 * SEC, 2, 250, true, false, 16 * SEC, false, true},
        {"fair-shared-r3-restart", 3, 2, 4096, 3300 * MS, 3, 250, true, true, 14 * SEC, false,
         true},
    };
    const char *env = getenv("XP_DIFF_SEEDS");
    unsigned seeds = env ? (unsigned)atoi(env) : 2;
    const char *only = getenv("XP_DIFF_CONFIG");
    unsigned first = getenv("XP_DIFF_FIRST_SEED") ? (unsigned)atoi(getenv("XP_DIFF_FIRST_SEED")) : 1;
    struct counts all = {0};

    signal(SIGALRM, on_alarm);
    alarm(env ? 0 : 200);
    xp_log_set_level(XP_LOG_ERR);
    printf("central store: %s\n",
           getenv("XP_DIFF_STORE") && strcmp(getenv("XP_DIFF_STORE"), "redis") == 0
                   ? "redis"
                   : "embedded");
    for (unsigned c = 0; c < sizeof(configs) / sizeof(configs[0]); c++) {
        if (only && strcmp(only, configs[c].name) != 0)
            continue;
        for (unsigned s = first; s < first + seeds; s++) {
            struct counts cnt = {0};

            run(&configs[c], s, &cnt);
            printf("%s seed %u: %llu packets, unit mismatches %llu, end-state mismatches %llu, "
                   "local-destination mismatches "
                   "%llu; shared destination: %llu packets, %llu over T_F2 in the model, false "
                   "positives %llu, false negatives %llu (not explained by the sync lag: %llu)\n",
                   configs[c].name, s, (unsigned long long)cnt.packets,
                   (unsigned long long)cnt.unit_mismatch,
                   (unsigned long long)cnt.state_mismatch,
                   (unsigned long long)cnt.dst_local_mismatch,
                   (unsigned long long)cnt.dst_shared_packets,
                   (unsigned long long)cnt.dst_shared_over,
                   (unsigned long long)cnt.dst_shared_fp,
                   (unsigned long long)cnt.dst_shared_fn,
                   (unsigned long long)cnt.fn_unexplained);
            CHECK_EQ(cnt.unit_mismatch, 0);
            CHECK_EQ(cnt.state_mismatch, 0);
            CHECK_EQ(cnt.dst_local_mismatch, 0);
            CHECK_EQ(cnt.dst_shared_fp, 0);
            CHECK_EQ(cnt.fn_unexplained, 0);
            if (configs[c].fair) {
                printf("%s seed %u, fair_share: %llu packets dropped over their share (%llu "
                       "where the model does not limit), %llu dropped whole (must be 0), %llu "
                       "units forwarded more or less than the model beyond the lags\n",
                       configs[c].name, s, (unsigned long long)cnt.fair_share_drops,
                       (unsigned long long)cnt.fair_unexplained,
                       (unsigned long long)cnt.fair_drop_all,
                       (unsigned long long)cnt.fair_units_off);
                CHECK_EQ(cnt.fair_unexplained, 0);
                CHECK(cnt.fair_share_drops > 0);
                CHECK_EQ(cnt.fair_drop_all, 0);
                CHECK_EQ(cnt.fair_units_off, 0);
            }
            if (configs[c].spread) {
                printf("%s seed %u, spread units: %llu packets handed to their owner, %llu state "
                       "checks, %llu mismatches, %llu with other than one holder; %llu ticks "
                       "with a unit-test drop, %llu not in both\n",
                       configs[c].name, s, (unsigned long long)cnt.handed_off,
                       (unsigned long long)cnt.spread_state_checks,
                       (unsigned long long)cnt.spread_state_mismatch,
                       (unsigned long long)cnt.spread_holders_wrong,
                       (unsigned long long)cnt.spread_drop_ticks,
                       (unsigned long long)cnt.spread_drop_tick_mismatch);
                CHECK(cnt.handed_off > 0);
                CHECK(cnt.spread_state_checks > 0);
                CHECK(cnt.spread_drop_ticks > 0);
                CHECK_EQ(cnt.spread_state_mismatch, 0);
                CHECK_EQ(cnt.spread_holders_wrong, 0);
                CHECK_EQ(cnt.spread_drop_tick_mismatch, 0);
            }
            all.packets += cnt.packets;
            all.dst_shared_fn += cnt.dst_shared_fn;
        }
    }
    if (!failures)
        printf("lifecycle diff: %llu packets, all verdicts as the model within the stated bounds\n",
               (unsigned long long)all.packets);
    return xp_check_report("test_lifecycle_diff");
}
