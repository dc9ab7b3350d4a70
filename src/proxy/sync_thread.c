// SPDX-License-Identifier: GPL-2.0-only
#include "src/proxy/sync_thread.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "src/sync/sync.h"
#include "src/util/log.h"
#include "src/util/clock.h"

/* Pairs taken from one worker per period; the rest stay dirty for the next one. */
#define XP_SYNC_COLLECT_MAX 65536
/*
 * Installs handed to a worker per mailbox call: the worker runs one call per
 * loop turn, so a large answer is spread over turns instead of holding the
 * rings for the whole batch (1024 installs: about a hundred microseconds).
 */
#define XP_SYNC_INSTALL_SLICE 1024
/*
 * Hot destinations. The destination test on a proxy sums its own pairs (fresh)
 * with the other proxies' pairs as of their last sync (up to one period old),
 * over a window that ends now: the stale share is divided by the fresh window,
 * so an attack that overloads a destination by a margin m is seen only once
 * the remote data is younger than about m / (1 + m) of the window. When the
 * answers of a round show a destination at half of T_F2 or more, the next
 * round comes after a quarter of the period (at least XP_SYNC_HOT_MIN_MS):
 * every proxy that carries a share of that destination sees the same rows
 * and syncs faster too, so the remote data is a quarter as old while it
 * matters, and at a normal pace otherwise (docs/protocol.md, "Hot rounds").
 */
#define XP_SYNC_HOT_DSTS 1024  /* destinations tracked per round; more are not rated */
#define XP_SYNC_HOT_DIV 4
#define XP_SYNC_HOT_MIN_MS 100

struct hot_dst {
    uint8_t dst[16];
    uint32_t round;  /* the round this slot belongs to; older = empty */
    uint64_t ts1, ts2, c;
};

struct install_item {
    struct xp_policer_key key;
    struct xp_pair_state sent;
    struct xp_pair_state fresh;
    bool has_sent;
};

struct install_batch {
    struct xp_pipeline *pl;
    struct install_item *items;
    unsigned n, cap;
    unsigned first, count; /* the slice the current mailbox call installs */
    unsigned failed;
};

struct xp_proxy_sync {
    struct xp_proxy_sync_cfg cfg;
    struct xp_sync_client *client;
    pthread_t thread;
    atomic_bool stop;
    atomic_uint period_ms;
    atomic_uint_fast64_t t_f2_pps;   /* 0: no destination test, no hot rounds */
    struct hot_dst *hot;             /* XP_SYNC_HOT_DSTS slots, open addressing */
    uint32_t hot_round;
    bool round_hot;
    uint64_t hot_rounds;
    pthread_mutex_t lock;            /* warnings, stats snapshot */
    struct xp_sync_warning warnings[XP_SYNC_MAX_WARNINGS];
    unsigned n_warnings;
    uint64_t warnings_dropped;
    struct xp_sync_client_stats snap;
    uint64_t rounds, installs, install_failures, collected;
    int pending_worker;              /* worker whose request is pending, -1 none */
    struct xp_pair_record *records;
    struct install_batch *batches;   /* one per worker */
    /* worker call arguments */
    struct xp_pipeline *collect_pl;
    unsigned collect_n;
};

static void collect_on_worker(struct xp_worker *w, void *arg)
{
    struct xp_proxy_sync *s = arg;

    (void)w;
    s->collect_n = xp_pipeline__collect_dirty(s->collect_pl, s->records, XP_SYNC_COLLECT_MAX);
}

static void install_on_worker(struct xp_worker *w, void *arg)
{
    struct install_batch *b = arg;

    (void)w;
    for (unsigned i = b->first; i < b->first + b->count; i++) {
        const struct install_item *it = &b->items[i];

        if (xp_pipeline__install(b->pl, &it->key, it->has_sent ? &it->sent : NULL, &it->fresh))
            b->failed++;
    }
}

/*
 * The worker an answer goes to: the one that sent the pair, else the one
 * that holds it (the ownership directory), else, for a pair no worker
 * holds (another proxy's unit), a fixed worker per key, which then owns it.
 */
static unsigned owner_of(struct xp_proxy_sync *s, const struct xp_sync_answer *ans)
{
    uint64_t h = 0;
    int owner;

    if (ans->sent && s->pending_worker >= 0)
        return s->pending_worker;
    owner = xp_owners__owner(s->cfg.owners, ans->key);
    if (owner >= 0 && (unsigned)owner < s->cfg.n_workers)
        return (unsigned)owner;
    for (unsigned i = 0; i < sizeof(*ans->key); i++)
        h = h * 131 + ((const uint8_t *)ans->key)[i];
    return h % s->cfg.n_workers;
}

/* Add a merged row to its destination's sum for this round; mark the round hot. */
static void hot_account(struct xp_proxy_sync *s, const struct xp_sync_answer *ans)
{
    uint64_t t_f2 = atomic_load(&s->t_f2_pps), h = 1469598103934665603ULL, span;
    struct hot_dst *d = NULL;

    if (!t_f2 || s->round_hot || ans->global.c == 0)
        return;
    for (unsigned i = 0; i < sizeof(ans->key->dst); i++)
        h = (h ^ ans->key->dst[i]) * 1099511628211ULL;
    for (unsigned n = 0; n < XP_SYNC_HOT_DSTS; n++) {
        struct hot_dst *e = &s->hot[(h + n) % XP_SYNC_HOT_DSTS];

        if (e->round != s->hot_round) {
            memcpy(e->dst, ans->key->dst, sizeof(e->dst));
            e->round = s->hot_round;
            e->ts1 = ans->global.ts1;
            e->ts2 = ans->global.ts2;
            e->c = 0;
            d = e;
            break;
        }
        if (!memcmp(e->dst, ans->key->dst, sizeof(e->dst))) {
            d = e;
            break;
        }
    }
    if (!d)
        return; /* more destinations than slots in one round: these are not rated */
    d->c += ans->global.c;
    if (ans->global.ts1 < d->ts1)
        d->ts1 = ans->global.ts1;
    if (ans->global.ts2 > d->ts2)
        d->ts2 = ans->global.ts2;
    span = d->ts2 - d->ts1;
    /* c / span >= T_F2 / 2, in 128 bits like the policer's own test */
    if (span && (unsigned __int128)d->c * 2 * 1000000000ULL >= (unsigned __int128)t_f2 * span)
        s->round_hot = true;
}

static void on_answer(void *arg, const struct xp_sync_answer *ans)
{
    struct xp_proxy_sync *s = arg;
    struct install_batch *b = &s->batches[owner_of(s, ans)];
    struct install_item *it;

    hot_account(s, ans);

    if (b->n == b->cap) {
        unsigned cap = b->cap ? b->cap * 2 : 1024;
        struct install_item *n = realloc(b->items, cap * sizeof(*n));

        if (!n) {
            b->failed++;
            return;
        }
        b->items = n;
        b->cap = cap;
    }
    it = &b->items[b->n++];
    it->key = *ans->key;
    it->has_sent = ans->sent != NULL;
    if (ans->sent)
        it->sent = *ans->sent;
    it->fresh = ans->fresh;
}

/* Hand every queued answer to its worker; each worker installs its batch between bursts. */
static void flush_installs(struct xp_proxy_sync *s)
{
    for (unsigned q = 0; q < s->cfg.n_workers; q++) {
        struct install_batch *b = &s->batches[q];

        if (b->n == 0)
            continue;
        b->failed = 0;
        for (b->first = 0; b->first < b->n; b->first += b->count) {
            b->count = b->n - b->first < XP_SYNC_INSTALL_SLICE ? b->n - b->first
                                                                 : XP_SYNC_INSTALL_SLICE;
            xp_worker__call(&s->cfg.workers[q], install_on_worker, b);
        }
        pthread_mutex_lock(&s->lock);
        s->installs += b->n - b->failed;
        s->install_failures += b->failed;
        pthread_mutex_unlock(&s->lock);
        b->n = 0;
    }
}

static void load_report(struct xp_proxy_sync *s, struct xp_sync_report *rep,
                        struct xp_sync_warning *warn)
{
    memset(rep, 0, sizeof(*rep));
    for (unsigned q = 0; q < s->cfg.n_workers; q++) {
        struct xp_worker_stats ws;
        struct xp_policer_stats ps;

        xp_worker__stats(&s->cfg.workers[q], &ws);
        xp_pipeline__policer_stats(s->cfg.pipelines[q], &ps);
        rep->load.pairs += ps.pairs_in_use;
        if (ws.loops) {
            uint64_t ppm = (ws.loops - ws.sleeps) * 1000000ULL / ws.loops;

            if (ppm > rep->load.w_ppm)
                rep->load.w_ppm = ppm;
        }
    }
    pthread_mutex_lock(&s->lock);
    memcpy(warn, s->warnings, s->n_warnings * sizeof(*warn));
    rep->n_warnings = s->n_warnings;
    s->n_warnings = 0;
    pthread_mutex_unlock(&s->lock);
    rep->warnings = warn;
}

static void sync_round(struct xp_proxy_sync *s)
{
    struct xp_sync_warning warn[XP_SYNC_MAX_WARNINGS];
    struct xp_sync_report rep;
    int ret;

    s->hot_round++; /* empties the hot table */
    if (s->hot_round == 0) {
        memset(s->hot, 0, XP_SYNC_HOT_DSTS * sizeof(*s->hot));
        s->hot_round = 1;
    }
    s->round_hot = false;

    if (xp_sync_client__pending(s->client)) {
        /* Never collect while a request is unanswered: its pairs would count twice. */
        ret = xp_sync_client__recover(s->client, on_answer, s);
        flush_installs(s);
        if (ret)
            return;
        s->pending_worker = -1;
    }
    load_report(s, &rep, warn);
    for (unsigned q = 0; q < s->cfg.n_workers && !atomic_load(&s->stop); q++) {
        s->collect_pl = s->cfg.pipelines[q];
        s->collect_n = 0;
        xp_worker__call(&s->cfg.workers[q], collect_on_worker, s);
        s->pending_worker = q;
        ret = xp_sync_client__exchange(s->client, s->records, s->collect_n,
                                       q == 0 ? &rep : NULL, on_answer, s);
        flush_installs(s);
        pthread_mutex_lock(&s->lock);
        s->collected += s->collect_n;
        pthread_mutex_unlock(&s->lock);
        if (ret) {
            /* The client keeps what was not answered; the next period recovers it. */
            pr_debug("sync exchange: %s", strerror(-ret));
            return;
        }
        s->pending_worker = -1;
    }
    pthread_mutex_lock(&s->lock);
    s->rounds++;
    pthread_mutex_unlock(&s->lock);
}

static void *sync_main(void *arg)
{
    struct xp_proxy_sync *s = arg;
    bool was_degraded = false;

    xp_log_set_thread_name("xp-sync");
    pthread_setname_np(pthread_self(), "xp-sync");
    while (!atomic_load(&s->stop)) {
        uint64_t start = xp_mono_ns(), period_ms = atomic_load(&s->period_ms), end;
        struct xp_sync_client_stats st;

        sync_round(s);
        xp_sync_client__stats(s->client, &st);
        pthread_mutex_lock(&s->lock);
        s->snap = st;
        s->hot_rounds += s->round_hot;
        pthread_mutex_unlock(&s->lock);
        if (st.degraded_since_ns && !was_degraded)
            pr_warn("central node unreachable (%s): policing on local state, retrying",
                    st.last_error ? strerror(-st.last_error) : st.last_error_code);
        else if (!st.degraded_since_ns && was_degraded)
            pr_info("central node reachable again: synced");
        was_degraded = st.degraded_since_ns != 0;
        if (s->round_hot && !st.degraded_since_ns) {
            period_ms /= XP_SYNC_HOT_DIV;
            if (period_ms < XP_SYNC_HOT_MIN_MS)
                period_ms = XP_SYNC_HOT_MIN_MS;
        }
        /* Sleep to the round's deadline on the monotonic clock (a wall clock
         * step does not stretch or skip a period), in short steps so that stop
         * is prompt. */
        end = start + period_ms * 1000000ULL;
        while (!atomic_load(&s->stop)) {
            uint64_t now = xp_mono_ns(), until;
            struct timespec ts;

            if (now >= end)
                break;
            until = end - now > 20000000ULL ? now + 20000000ULL : end;
            ts.tv_sec = (time_t)(until / 1000000000ULL);
            ts.tv_nsec = (long)(until % 1000000000ULL);
            clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
        }
    }
    return NULL;
}

struct xp_proxy_sync *xp_proxy_sync__start(const struct xp_proxy_sync_cfg *cfg)
{
    struct xp_sync_client_config cc = {
        .host = cfg->host,
        .port = cfg->port,
        .proxy_id = cfg->proxy_id,
        .secret = cfg->secret,
        .secret_len = cfg->secret_len,
    };
    struct xp_proxy_sync *s;
    int err;

    s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->cfg = *cfg;
    s->pending_worker = -1;
    atomic_store(&s->period_ms, cfg->period_ms);
    atomic_store(&s->t_f2_pps, cfg->t_f2_pps);
    pthread_mutex_init(&s->lock, NULL);
    s->records = calloc(XP_SYNC_COLLECT_MAX, sizeof(*s->records));
    s->batches = calloc(cfg->n_workers, sizeof(*s->batches));
    s->hot = calloc(XP_SYNC_HOT_DSTS, sizeof(*s->hot));
    if (!s->records || !s->batches || !s->hot) {
        err = ENOMEM;
        goto err_free;
    }
    for (unsigned q = 0; q < cfg->n_workers; q++)
        s->batches[q].pl = cfg->pipelines[q];
    s->client = xp_sync_client__create(&cc);
    if (!s->client) {
        err = errno;
        pr_err("sync client: %s", strerror(err));
        goto err_free;
    }
    err = pthread_create(&s->thread, NULL, sync_main, s);
    if (err) {
        pr_err("sync thread: %s", strerror(err));
        goto err_client;
    }
    return s;

err_client:
    xp_sync_client__destroy(s->client);
err_free:
    free(s->records);
    free(s->batches);
    free(s->hot);
    free(s);
    errno = err;
    return NULL;
}

void xp_proxy_sync__stop(struct xp_proxy_sync *s)
{
    if (!s)
        return;
    atomic_store(&s->stop, true);
    pthread_join(s->thread, NULL);
    xp_sync_client__destroy(s->client);
    for (unsigned q = 0; q < s->cfg.n_workers; q++)
        free(s->batches[q].items);
    free(s->batches);
    free(s->records);
    free(s->hot);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

void xp_proxy_sync__set_period(struct xp_proxy_sync *s, unsigned period_ms, uint64_t t_f2_pps)
{
    atomic_store(&s->period_ms, period_ms);
    atomic_store(&s->t_f2_pps, t_f2_pps);
}

void xp_proxy_sync__warn(struct xp_proxy_sync *s, const struct xp_event *ev)
{
    pthread_mutex_lock(&s->lock);
    if (s->n_warnings < XP_SYNC_MAX_WARNINGS) {
        struct xp_sync_warning *w = &s->warnings[s->n_warnings++];

        w->key = ev->key;
        w->rate_pps = ev->rate_pps;
        w->threshold_pps = ev->threshold_pps;
        w->t_ns = ev->t_ns;
    } else {
        s->warnings_dropped++;
    }
    pthread_mutex_unlock(&s->lock);
}

json_t *xp_proxy_sync__stats_json(struct xp_proxy_sync *s)
{
    struct xp_sync_client_stats st;
    uint64_t rounds, hot_rounds, installs, failures, collected, wdrop;
    double now = xp_real_ns() / 1e9;

    pthread_mutex_lock(&s->lock);
    st = s->snap;
    rounds = s->rounds;
    hot_rounds = s->hot_rounds;
    installs = s->installs;
    failures = s->install_failures;
    collected = s->collected;
    wdrop = s->warnings_dropped;
    pthread_mutex_unlock(&s->lock);
    return json_pack("{s:s,s:b,s:f,s:f,s:f,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:s}",
                     "state", st.degraded_since_ns ? "degraded" : st.last_sync_ns ? "synced" : "starting",
                     "connected", st.connected,
                     "degraded_since", st.degraded_since_ns / 1e9,
                     "last_sync_age_s", st.last_sync_ns ? now - st.last_sync_ns / 1e9 : -1.0,
                     "rtt_ms", st.last_rtt_ns / 1e6,
                     "rounds", (json_int_t)rounds,
                     "hot_rounds", (json_int_t)hot_rounds,
                     "syncs_ok", (json_int_t)st.syncs_ok,
                     "syncs_failed", (json_int_t)st.syncs_failed,
                     "pairs_sent", (json_int_t)st.pairs_sent,
                     "pairs_collected", (json_int_t)collected,
                     "installed", (json_int_t)installs,
                     "install_failures", (json_int_t)failures,
                     "down", (json_int_t)st.down,
                     "clamped", (json_int_t)st.clamped,
                     "warnings_dropped", (json_int_t)wdrop,
                     "last_error", st.last_error ? strerror(-st.last_error) : st.last_error_code);
}
