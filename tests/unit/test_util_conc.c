// SPDX-License-Identifier: GPL-2.0-only
/*
 * The concurrency tools of src/util/: clocks, single-writer counters, the
 * SPSC ring, QSBR and the mailbox. The stress parts run real threads and
 * check what a race would break (sequence order, a freed object still
 * read, a request run twice or on the wrong thread); under ASan a read of a
 * freed object is also reported by the sanitizer itself. XP_CONC_SCALE
 * (default 1) multiplies the stress iterations for longer local runs.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "src/util/clock.h"
#include "src/util/counters.h"
#include "src/util/mailbox.h"
#include "src/util/qsbr.h"
#include "src/util/spsc.h"

#include "xp_check.h"

static unsigned scale = 1;

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static pthread_t start_thread(void *(*fn)(void *), void *arg)
{
    pthread_t t;
    int ret = pthread_create(&t, NULL, fn, arg);

    if (ret) {
        fprintf(stderr, "pthread_create: %s\n", strerror(ret));
        exit(1);
    }
    return t;
}

/* ---- clocks ---------------------------------------------------------------- */

static void test_clocks(void)
{
    uint64_t prev = xp_mono_ns(), t0, t1, rt;
    struct timespec ts;
    double s;

    for (int i = 0; i < 100000; i++) {
        uint64_t now = xp_mono_ns();

        CHECK(now >= prev);
        prev = now;
    }
    t0 = xp_mono_ns();
    xp_sleep_ns(2000000ULL);
    t1 = xp_mono_ns();
    CHECK(t1 - t0 >= 2000000ULL);
    CHECK(t1 - t0 < 10 * XP_NSEC_PER_SEC);

    /* the ms and s forms are the same clock */
    t0 = xp_mono_ns();
    t1 = xp_mono_ms();
    CHECK(t1 >= t0 / 1000000ULL && t1 - t0 / 1000000ULL < 1000);
    s = xp_mono_s();
    CHECK(s >= (double)t0 / 1e9 && s - (double)t0 / 1e9 < 1.0);

    /* real time is the wall clock, in ns since the epoch */
    clock_gettime(CLOCK_REALTIME, &ts);
    rt = xp_real_ns();
    CHECK(rt / XP_NSEC_PER_SEC >= (uint64_t)ts.tv_sec &&
          rt / XP_NSEC_PER_SEC - (uint64_t)ts.tv_sec < 2);
    CHECK(rt > 1600000000ULL * XP_NSEC_PER_SEC);
    s = xp_real_s();
    CHECK(s >= (double)ts.tv_sec && s - (double)ts.tv_sec < 2.0);
    CHECK(xp_clock_ns(CLOCK_MONOTONIC) >= t0);
}

/* ---- counters ------------------------------------------------------------- */

/*
 * Each step adds 2^32 + 1, so a consistent value has equal halves: a torn
 * read would show different ones.
 */
#define STEP ((1ULL << 32) + 1)

struct ctr_shared {
    uint64_t plain;
    _Atomic uint64_t atomic;
    uint64_t gauge;
    atomic_bool done;
    unsigned steps;
};

static void *ctr_writer(void *arg)
{
    struct ctr_shared *c = arg;

    for (unsigned i = 0; i < c->steps; i++) {
        XP_STAT_ADD(c->plain, STEP);
        XP_STAT_ADD(c->atomic, 1);
        XP_STAT_SET(c->gauge, i);
    }
    atomic_store(&c->done, true);
    return NULL;
}

static void test_counters(void)
{
    struct ctr_shared c = { .steps = 1000000 * scale };
    const struct ctr_shared *rc = &c;
    uint64_t last_p = 0, last_a = 0, reads = 0;
    pthread_t w;
    bool monotonic = true, whole = true, bounded = true;

    atomic_init(&c.atomic, 0);
    atomic_init(&c.done, false);
    w = start_thread(ctr_writer, &c);
    while (!atomic_load(&c.done) || reads < 1000) {
        uint64_t p = XP_STAT_GET(rc->plain), a = XP_STAT_GET(rc->atomic);
        uint64_t g = XP_STAT_GET(c.gauge);

        whole &= (p >> 32) == (p & 0xffffffffULL);
        monotonic &= p >= last_p && a >= last_a;
        bounded &= (p >> 32) <= c.steps && a <= c.steps && g < c.steps;
        last_p = p;
        last_a = a;
        reads++;
    }
    pthread_join(w, NULL);
    CHECK(whole);
    CHECK(monotonic);
    CHECK(bounded);
    CHECK_EQ(XP_STAT_GET(c.plain), (uint64_t)c.steps * STEP);
    CHECK_EQ(XP_STAT_GET(c.atomic), c.steps);
    CHECK_EQ(XP_STAT_GET(c.gauge), c.steps - 1);
}

/* ---- SPSC ring -------------------------------------------------------------- */

/* An odd size (20 bytes), so copies are not word-sized by luck. */
struct rec {
    uint64_t seq;
    uint64_t check; /* seq * golden ratio: a record copied half-way shows */
    uint32_t inv;
};

static struct rec rec_of(uint64_t seq)
{
    return (struct rec){ .seq = seq, .check = seq * 0x9e3779b97f4a7c15ULL, .inv = ~(uint32_t)seq };
}

static bool rec_ok(const struct rec *r, uint64_t seq)
{
    return r->seq == seq && r->check == seq * 0x9e3779b97f4a7c15ULL && r->inv == ~(uint32_t)seq;
}

static struct xp_spsc *ring_new(uint32_t cap, struct rec **slots)
{
    struct xp_spsc *r = aligned_alloc(64, sizeof(*r));

    *slots = calloc(cap, sizeof(**slots));
    if (!r || !*slots || xp_spsc__init(r, *slots, sizeof(**slots), cap)) {
        fprintf(stderr, "ring_new(%u) failed\n", cap);
        exit(1);
    }
    return r;
}

static void test_spsc_basic(void)
{
    struct rec in[16], out[16], *slots;
    struct xp_spsc *r = ring_new(8, &slots), bad __attribute__((aligned(64)));
    uint64_t seq_in = 0, seq_out = 0;

    CHECK_EQ(xp_spsc__init(&bad, slots, sizeof(struct rec), 0), -EINVAL);
    CHECK_EQ(xp_spsc__init(&bad, slots, sizeof(struct rec), 12), -EINVAL);
    CHECK_EQ(xp_spsc__init(&bad, slots, 0, 8), -EINVAL);
    CHECK_EQ(xp_spsc__init(&bad, NULL, sizeof(struct rec), 8), -EINVAL);
    CHECK_EQ(xp_spsc__capacity(r), 8);

    /* empty */
    CHECK_EQ(xp_spsc__pop(r, out, 4), 0);
    CHECK_EQ(xp_spsc__count(r), 0);

    /* fill up: one at a time, then a batch that only partly fits */
    for (int i = 0; i < 5; i++) {
        in[0] = rec_of(seq_in++);
        CHECK_EQ(xp_spsc__push(r, in, 1), 1);
    }
    for (int i = 0; i < 6; i++)
        in[i] = rec_of(seq_in + (uint64_t)i);
    CHECK_EQ(xp_spsc__push(r, in, 6), 3);
    seq_in += 3;
    CHECK_EQ(xp_spsc__count(r), 8);
    in[0] = rec_of(seq_in);
    CHECK_EQ(xp_spsc__push(r, in, 1), 0); /* full */
    CHECK_EQ(xp_spsc__push(r, in, 0), 0);

    /* drain in two batches, the second asking for more than there is */
    CHECK_EQ(xp_spsc__pop(r, out, 3), 3);
    CHECK_EQ(xp_spsc__pop(r, out + 3, 16), 5);
    for (int i = 0; i < 8; i++)
        CHECK(rec_ok(&out[i], seq_out++));
    CHECK_EQ(xp_spsc__pop(r, out, 1), 0);

    /* wraparound of the slot index: batches of 3 and 5 that straddle the end, many times */
    for (int round = 0; round < 100; round++) {
        unsigned n = round % 2 ? 3 : 5, got;

        for (unsigned i = 0; i < n; i++)
            in[i] = rec_of(seq_in + i);
        CHECK_EQ(xp_spsc__push(r, in, n), n);
        seq_in += n;
        got = xp_spsc__pop(r, out, 16);
        CHECK_EQ(got, n);
        for (unsigned i = 0; i < got; i++)
            CHECK(rec_ok(&out[i], seq_out++));
    }

    /* wraparound of the 32-bit indices themselves (white box: start just below 2^32) */
    atomic_store(&r->head, UINT32_MAX - 2);
    atomic_store(&r->tail, UINT32_MAX - 2);
    r->head_seen = r->tail_seen = UINT32_MAX - 2;
    for (int i = 0; i < 8; i++)
        in[i] = rec_of(1000 + (uint64_t)i);
    CHECK_EQ(xp_spsc__push(r, in, 8), 8);
    CHECK_EQ(xp_spsc__count(r), 8);
    CHECK_EQ(xp_spsc__push(r, in, 1), 0);
    CHECK_EQ(xp_spsc__pop(r, out, 8), 8);
    for (int i = 0; i < 8; i++)
        CHECK(rec_ok(&out[i], 1000 + (uint64_t)i));
    CHECK_EQ(xp_spsc__count(r), 0);
    CHECK_EQ(atomic_load(&r->head), 5); /* wrapped */

    free(slots);
    free(r);
}

struct spsc_stress {
    struct xp_spsc *r;
    uint64_t n;
    uint64_t seed;
    atomic_bool bad;
};

static void *spsc_producer(void *arg)
{
    struct spsc_stress *s = arg;
    uint64_t seq = 0, rng = s->seed;
    struct rec batch[17];

    while (seq < s->n) {
        unsigned want = 1 + (unsigned)(rng_next(&rng) % 17), got;

        if (want > s->n - seq)
            want = (unsigned)(s->n - seq);
        for (unsigned i = 0; i < want; i++)
            batch[i] = rec_of(seq + i);
        got = xp_spsc__push(s->r, batch, want);
        seq += got;
        if (got < want)
            sched_yield(); /* full: let the consumer run (two shared cores) */
    }
    return NULL;
}

static void test_spsc_stress(void)
{
    struct spsc_stress s = { .n = 2000000ULL * scale, .seed = 42 };
    uint64_t seq = 0, rng = 7;
    struct rec batch[23], *slots;
    bool in_order = true;
    pthread_t p;

    s.r = ring_new(64, &slots);
    p = start_thread(spsc_producer, &s);
    while (seq < s.n) {
        unsigned max = 1 + (unsigned)(rng_next(&rng) % 23);
        unsigned got = xp_spsc__pop(s.r, batch, max);

        for (unsigned i = 0; i < got; i++)
            in_order &= rec_ok(&batch[i], seq + i);
        seq += got;
        if (got == 0)
            sched_yield();
    }
    pthread_join(p, NULL);
    CHECK(in_order);
    CHECK_EQ(seq, s.n);
    CHECK_EQ(xp_spsc__count(s.r), 0);
    CHECK_EQ(xp_spsc__pop(s.r, batch, 1), 0);
    free(slots);
    free(s.r);
}

/* ---- QSBR --------------------------------------------------------------------- */

static void test_qsbr_basic(void)
{
    struct xp_qsbr_reader *rd[4], *extra;
    struct xp_qsbr *q;
    uint64_t t;

    errno = 0;
    CHECK(xp_qsbr__create(0) == NULL && errno == EINVAL);
    q = xp_qsbr__create(4);
    CHECK(q != NULL);
    if (!q)
        return;
    for (int i = 0; i < 4; i++) {
        rd[i] = xp_qsbr__register(q);
        CHECK(rd[i] != NULL);
    }
    errno = 0;
    extra = xp_qsbr__register(q);
    CHECK(extra == NULL && errno == ENOSPC);
    xp_qsbr__unregister(q, rd[3]);
    rd[3] = xp_qsbr__register(q);
    CHECK(rd[3] != NULL);
    xp_qsbr__unregister(q, NULL);

    /* all offline: a grace period is over at once, and synchronize returns */
    t = xp_qsbr__start(q);
    CHECK(xp_qsbr__poll(q, t));
    xp_qsbr__synchronize(q);

    /* an online reader holds a grace period until it is quiescent... */
    xp_qsbr_reader__online(rd[0]);
    t = xp_qsbr__start(q);
    CHECK(!xp_qsbr__poll(q, t));
    xp_qsbr_reader__quiescent(rd[0]);
    CHECK(xp_qsbr__poll(q, t));
    /* ... or offline; a grace period started later needs a later quiescent state */
    t = xp_qsbr__start(q);
    CHECK(!xp_qsbr__poll(q, t));
    xp_qsbr_reader__quiescent(rd[0]);
    xp_qsbr_reader__quiescent(rd[0]); /* nothing new: no store */
    CHECK(xp_qsbr__poll(q, t));
    t = xp_qsbr__start(q);
    xp_qsbr_reader__online(rd[1]); /* came online after the start: saw the new token */
    CHECK(!xp_qsbr__poll(q, t));   /* rd[0] still holds it */
    xp_qsbr_reader__offline(rd[0]);
    CHECK(xp_qsbr__poll(q, t));
    /* an earlier grace period is over too */
    CHECK(xp_qsbr__poll(q, t - 1));
    /* unregistering an online reader releases what it held */
    t = xp_qsbr__start(q);
    CHECK(!xp_qsbr__poll(q, t));
    xp_qsbr__unregister(q, rd[1]);
    CHECK(xp_qsbr__poll(q, t));
    xp_qsbr__destroy(q);
    xp_qsbr__destroy(NULL);
}

struct sync_wait {
    struct xp_qsbr *q;
    atomic_bool returned;
};

static void *sync_waiter(void *arg)
{
    struct sync_wait *s = arg;

    xp_qsbr__synchronize(s->q);
    atomic_store(&s->returned, true);
    return NULL;
}

/* synchronize() waits for an online reader, and returns once it is offline. */
static void test_qsbr_waits(void)
{
    struct sync_wait s = { .q = xp_qsbr__create(2) };
    struct xp_qsbr_reader *rd;
    pthread_t w;

    if (!s.q) {
        CHECK(s.q != NULL);
        return;
    }
    rd = xp_qsbr__register(s.q);
    atomic_init(&s.returned, false);
    xp_qsbr_reader__online(rd);
    w = start_thread(sync_waiter, &s);
    xp_sleep_ns(30000000ULL);
    CHECK(!atomic_load(&s.returned));
    xp_qsbr_reader__quiescent(rd); /* a quiescent state releases the writer too */
    pthread_join(w, NULL);
    CHECK(atomic_load(&s.returned));

    atomic_store(&s.returned, false);
    w = start_thread(sync_waiter, &s);
    xp_sleep_ns(30000000ULL);
    CHECK(!atomic_load(&s.returned));
    xp_qsbr_reader__offline(rd);
    pthread_join(w, NULL);
    CHECK(atomic_load(&s.returned));
    xp_qsbr__unregister(s.q, rd);
    xp_qsbr__destroy(s.q);
}

#define OBJ_LIVE 0x4c495645u
#define OBJ_DEAD 0xdeadu

struct obj {
    _Atomic uint32_t magic;
    uint64_t gen;
    uint64_t payload[7]; /* gen repeated: a reader checks it is all one object */
};

struct qsbr_stress {
    struct xp_qsbr *q;
    _Atomic(struct obj *) cur;
    atomic_bool stop;
    atomic_uint bad_reads;
    atomic_ulong reads;
    atomic_uint started; /* readers past their first turn */
};

static struct obj *obj_new(uint64_t gen)
{
    struct obj *o = malloc(sizeof(*o));

    if (!o) {
        perror("malloc");
        exit(1);
    }
    o->gen = gen;
    for (int i = 0; i < 7; i++)
        o->payload[i] = gen;
    atomic_init(&o->magic, OBJ_LIVE);
    return o;
}

/* The writer poisons an object before freeing it: a reader that still sees it notices. */
static void obj_free(struct obj *o)
{
    atomic_store(&o->magic, OBJ_DEAD);
    for (int i = 0; i < 7; i++)
        o->payload[i] = ~0ULL;
    free(o);
}

static unsigned obj_check(const struct obj *o, uint64_t *gen_seen)
{
    unsigned bad = 0;

    if (atomic_load_explicit(&o->magic, memory_order_relaxed) != OBJ_LIVE)
        bad++;
    for (int i = 0; i < 7; i++)
        bad += o->payload[i] != o->gen;
    if (o->gen < *gen_seen) /* pointers only move forward */
        bad++;
    *gen_seen = o->gen;
    return bad;
}

/* Style 0: online/offline around each burst (the gateway). Style 1: online, quiescent per turn. */
struct qsbr_reader_arg {
    struct qsbr_stress *s;
    int style;
};

static void *qsbr_reader(void *arg)
{
    struct qsbr_reader_arg *a = arg;
    struct qsbr_stress *s = a->s;
    struct xp_qsbr_reader *rd = xp_qsbr__register(s->q);
    uint64_t gen = 0, reads = 0;
    unsigned bad = 0;

    if (!rd) {
        atomic_fetch_add(&s->bad_reads, 1);
        return NULL;
    }
    if (a->style == 1)
        xp_qsbr_reader__online(rd);
    while (!atomic_load_explicit(&s->stop, memory_order_relaxed)) {
        struct obj *o;

        if (a->style == 0)
            xp_qsbr_reader__online(rd);
        o = atomic_load_explicit(&s->cur, memory_order_acquire);
        /* hold it for a while: the writer replaces it meanwhile */
        for (int k = 0; k < 8; k++) {
            bad += obj_check(o, &gen);
            reads++;
            if (k == 3)
                sched_yield();
        }
        if (a->style == 0)
            xp_qsbr_reader__offline(rd);
        else
            xp_qsbr_reader__quiescent(rd);
        if (reads == 8)
            atomic_fetch_add(&s->started, 1);
    }
    xp_qsbr__unregister(s->q, rd);
    atomic_fetch_add(&s->bad_reads, bad);
    atomic_fetch_add(&s->reads, reads);
    return NULL;
}

static void test_qsbr_stress(void)
{
    struct qsbr_stress s = { .q = xp_qsbr__create(8) };
    struct qsbr_reader_arg args[3] = { { &s, 0 }, { &s, 1 }, { &s, 0 } };
    struct { struct obj *o; uint64_t token; } deferred[64];
    uint64_t until, swaps = 0;
    unsigned n_def = 0;
    pthread_t r[3];

    if (!s.q) {
        CHECK(s.q != NULL);
        return;
    }
    atomic_init(&s.cur, obj_new(1));
    atomic_init(&s.stop, false);
    atomic_init(&s.bad_reads, 0);
    atomic_init(&s.reads, 0);
    atomic_init(&s.started, 0);
    for (int i = 0; i < 3; i++)
        r[i] = start_thread(qsbr_reader, &args[i]);
    while (atomic_load(&s.started) < 3)
        sched_yield();
    /* by time, not by count: the readers must be running while objects go */
    until = xp_mono_ns() + 400000000ULL * scale;
    for (uint64_t i = 0; xp_mono_ns() < until; i++, swaps++) {
        struct obj *old = atomic_exchange(&s.cur, obj_new(i + 2));

        if (i % 2 == 0) {
            /* wait for the readers, then free */
            xp_qsbr__synchronize(s.q);
            obj_free(old);
            continue;
        }
        /* defer: free whatever's grace period is over, never wait unless the list is full */
        deferred[n_def].o = old;
        deferred[n_def++].token = xp_qsbr__start(s.q);
        for (unsigned k = 0; k < n_def;) {
            if (xp_qsbr__poll(s.q, deferred[k].token)) {
                obj_free(deferred[k].o);
                deferred[k] = deferred[--n_def];
            } else {
                k++;
            }
        }
        if (n_def == 64) {
            xp_qsbr__synchronize(s.q);
            while (n_def)
                obj_free(deferred[--n_def].o);
        }
    }
    atomic_store(&s.stop, true);
    for (int i = 0; i < 3; i++)
        pthread_join(r[i], NULL);
    /* every reader is gone: whatever is left is ours */
    CHECK(xp_qsbr__poll(s.q, xp_qsbr__start(s.q)));
    while (n_def)
        obj_free(deferred[--n_def].o);
    obj_free(atomic_load(&s.cur));
    CHECK_EQ(atomic_load(&s.bad_reads), 0);
    CHECK(atomic_load(&s.reads) > 0);
    CHECK(swaps > 100);
    xp_qsbr__destroy(s.q);
}

/* ---- mailbox -------------------------------------------------------------------- */

struct consumer {
    struct xp_mailbox *mb;
    atomic_bool stop;
    atomic_bool running;
    pthread_t thread;
    uint64_t owned; /* the consumer's own state: written only on its thread (or when closed) */
};

static void *consumer_main(void *arg)
{
    struct consumer *c = arg;

    atomic_store(&c->running, true);
    while (!atomic_load_explicit(&c->stop, memory_order_relaxed)) {
        if (xp_mailbox__pending(c->mb))
            xp_mailbox__serve(c->mb);
        xp_sleep_ns(20000ULL); /* a worker's burst */
    }
    xp_mailbox__close(c->mb);
    return NULL;
}

static void consumer_start(struct consumer *c)
{
    atomic_store(&c->stop, false);
    atomic_store(&c->running, false);
    xp_mailbox__open(c->mb);
    c->thread = start_thread(consumer_main, c);
}

static void consumer_stop(struct consumer *c)
{
    atomic_store(&c->stop, true);
    pthread_join(c->thread, NULL);
}

struct call_arg {
    struct consumer *c;
    pthread_t ran_on;
    unsigned runs;
    uint64_t owned_after;
};

static void on_consumer(void *arg)
{
    struct call_arg *a = arg;

    a->ran_on = pthread_self();
    a->runs++;
    a->owned_after = ++a->c->owned;
}

static void test_mailbox_basic(void)
{
    struct xp_mailbox mb;
    struct consumer c = { .mb = &mb };
    struct call_arg a = { .c = &c };

    xp_mailbox__init(&mb);
    CHECK(!xp_mailbox__pending(&mb));
    /* closed (no consumer yet): runs right here */
    xp_mailbox__call(&mb, on_consumer, &a);
    CHECK_EQ(a.runs, 1);
    CHECK(pthread_equal(a.ran_on, pthread_self()));
    CHECK_EQ(atomic_load(&mb.state), XP_MAILBOX_IDLE);

    /* open: runs on the consumer, exactly once, and call returns after it */
    consumer_start(&c);
    a.runs = 0;
    xp_mailbox__call(&mb, on_consumer, &a);
    CHECK_EQ(a.runs, 1);
    CHECK(pthread_equal(a.ran_on, c.thread));
    CHECK_EQ(a.owned_after, 2);
    /* back to back */
    for (int i = 0; i < 50; i++) {
        a.runs = 0;
        xp_mailbox__call(&mb, on_consumer, &a);
        CHECK_EQ(a.runs, 1);
        CHECK(pthread_equal(a.ran_on, c.thread));
    }
    CHECK_EQ(c.owned, 52);
    CHECK_EQ(atomic_load(&mb.state), XP_MAILBOX_IDLE);

    /* stopped: closed again, calls run on the caller */
    consumer_stop(&c);
    a.runs = 0;
    xp_mailbox__call(&mb, on_consumer, &a);
    CHECK_EQ(a.runs, 1);
    CHECK(pthread_equal(a.ran_on, pthread_self()));
    CHECK_EQ(c.owned, 53);

    /* and a restart serves again */
    consumer_start(&c);
    a.runs = 0;
    xp_mailbox__call(&mb, on_consumer, &a);
    CHECK_EQ(a.runs, 1);
    CHECK(pthread_equal(a.ran_on, c.thread));
    consumer_stop(&c);
    xp_mailbox__destroy(&mb);
}

struct caller_arg {
    struct consumer *c;
    unsigned calls;
    unsigned wrong_thread;
    unsigned wrong_runs;
    const pthread_t *expect; /* NULL: any thread but check runs only */
};

static void *caller_main(void *arg)
{
    struct caller_arg *ca = arg;

    for (unsigned i = 0; i < ca->calls; i++) {
        struct call_arg a = { .c = ca->c }; /* on this stack: call must not return early */

        xp_mailbox__call(ca->c->mb, on_consumer, &a);
        ca->wrong_runs += a.runs != 1;
        if (ca->expect && !pthread_equal(a.ran_on, *ca->expect))
            ca->wrong_thread++;
    }
    return NULL;
}

/* Two callers at once: every request runs once, on the consumer, one at a time. */
static void test_mailbox_callers(void)
{
    struct xp_mailbox mb;
    struct consumer c = { .mb = &mb };
    struct caller_arg ca[2];
    pthread_t t[2];
    unsigned n = 300 * scale;

    xp_mailbox__init(&mb);
    consumer_start(&c);
    for (int i = 0; i < 2; i++) {
        ca[i] = (struct caller_arg){ .c = &c, .calls = n, .expect = &c.thread };
        t[i] = start_thread(caller_main, &ca[i]);
    }
    for (int i = 0; i < 2; i++) {
        pthread_join(t[i], NULL);
        CHECK_EQ(ca[i].wrong_runs, 0);
        CHECK_EQ(ca[i].wrong_thread, 0);
    }
    consumer_stop(&c);
    CHECK_EQ(c.owned, 2 * n);
    xp_mailbox__destroy(&mb);
}

/*
 * A consumer that stops while requests come: each still runs exactly once,
 * whoever runs it (the consumer as it closes, or the caller after).
 */
static void test_mailbox_stop_race(void)
{
    unsigned rounds = 200 * scale, lost = 0;

    for (unsigned r = 0; r < rounds; r++) {
        struct xp_mailbox mb;
        struct consumer c = { .mb = &mb };
        struct caller_arg ca = { .c = &c, .calls = 3 };
        pthread_t t;

        xp_mailbox__init(&mb);
        consumer_start(&c);
        t = start_thread(caller_main, &ca);
        if (r % 3)
            xp_sleep_ns((uint64_t)(r % 7 * 30) * 1000);
        consumer_stop(&c);
        pthread_join(t, NULL);
        lost += ca.wrong_runs;
        CHECK_EQ(c.owned, 3);
        CHECK_EQ(atomic_load(&mb.state), XP_MAILBOX_IDLE);
        CHECK(!atomic_load(&mb.open));
        xp_mailbox__destroy(&mb);
    }
    CHECK_EQ(lost, 0);
}

int main(void)
{
    const char *sc = getenv("XP_CONC_SCALE");

    if (sc && atoi(sc) > 0)
        scale = (unsigned)atoi(sc);
    test_clocks();
    test_counters();
    test_spsc_basic();
    test_spsc_stress();
    test_qsbr_basic();
    test_qsbr_waits();
    test_qsbr_stress();
    test_mailbox_basic();
    test_mailbox_callers();
    test_mailbox_stop_race();
    return xp_check_report("test_util_conc");
}
