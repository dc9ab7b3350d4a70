// SPDX-License-Identifier: GPL-2.0-only
/*
 * Pair ownership across the workers of one proxy.
 *
 * Why. Algorithm 1 needs every packet of a pair (unit, D) in one window,
 * and each worker keeps its own pair table, while the NIC decides which
 * worker a packet reaches. With address-only RSS an IPv4 pair always
 * reaches one queue, but an IPv6 unit is its /64 and the NIC hashes the
 * whole address, so a unit that rotates addresses inside its /64 reaches
 * every queue; veth has no RSS at all (the sender's kernel picks the queue
 * by flow hash); and a pair the central node pushed down can land on a
 * worker its packets never reach. Counted per worker, such a unit could
 * send W times T_F1 towards one destination unseen.
 *
 * What. The first worker that creates a pair owns it (a claim here); it
 * alone holds the pair's window, ships it to the central node and installs
 * the answers for it. Another worker that meets a packet of a pair it does
 * not hold looks the owner up (no lock) and, if there is one, makes no copy
 * of its own: it hands the count to the owner through a single-producer
 * ring (one per ordered pair of workers; consecutive packets of one pair in
 * a burst become one record), and drops the packet if the owner published
 * a block for the pair, else forwards it. The owner counts those packets at
 * their own time on its next loop turn, runs the tests and blocks the pair
 * (the XDP block map is one for all queues). A pair is never split, whatever
 * the NIC does; what a foreign packet costs is one more lookup and a ring
 * slot, and only pairs whose packets actually cross queues pay it.
 *
 * How. Open addressing with linear probing over 16-byte slots: a word that
 * holds 56 bits of a seeded hash of the key and the owner's id (the key is
 * not stored: two pairs with the same 56 bits, a 2^-56 event, would share
 * an owner and nothing else), and the owner's published block (expiry in ms
 * of the policer's clock, and its verdict). Claims, releases and blocks take
 * the mutex (pair creation and eviction, new blocks: never per packet);
 * deletion shifts the probe chain back, so there are no tombstones. Lookups
 * take no lock and are hints: one that misses an entry while it is being
 * moved falls through to a claim, which looks again under the mutex.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "policer_internal.h"

#define XP_OWNER_BITS 8
#define XP_OWNER_MASK ((1ULL << XP_OWNER_BITS) - 1)
/*
 * Probes before a claim gives up. The directory has two slots per pair the
 * tables can hold and takes up to 3/4 of them: a new pair is claimed just
 * before a full table evicts another, so the count runs a little above the
 * tables' total for a moment.
 */
#define XP_OWNERS_MAX_PROBE 128
/* Unpublished records a producer looks back over to add a packet to one of its pair. */
#define XP_OWNERS_MERGE 8

/* The identity a slot stores for hash h: 56 hash bits, never 0. */
static inline uint64_t xp_owners__id(uint64_t h)
{
    return (h | (1ULL << 63)) & ~XP_OWNER_MASK;
}

static inline uint32_t xp_owners__home(const struct xp_owners *o, uint64_t id)
{
    return (uint32_t)(id >> XP_OWNER_BITS) & o->mask;
}

static uint32_t xp_owners__pow2(uint64_t v)
{
    uint64_t p = 1;

    while (p < v)
        p <<= 1;
    return (uint32_t)p;
}

struct xp_owners *xp_owners__create(uint64_t max_pairs, unsigned n_workers)
{
    struct xp_owners *o;
    uint32_t ring;

    if (max_pairs == 0 || max_pairs > (1ULL << 30) || n_workers < 2 ||
        n_workers > XP_OWNERS_MAX_WORKERS) {
        errno = EINVAL;
        return NULL;
    }
    o = calloc(1, sizeof(*o));
    if (!o)
        return NULL;
    pthread_mutex_init(&o->lock, NULL);
    o->n_workers = n_workers;
    o->mask = xp_owners__pow2(max_pairs * 2) - 1;
    if (getrandom(&o->seed, sizeof(o->seed), 0) != sizeof(o->seed))
        o->seed = 0x94d049bb133111ebULL ^ (uint64_t)(uintptr_t)o;
    o->slots = xp_policer_alloc_big(((size_t)o->mask + 1) * sizeof(*o->slots), -1);
    /*
     * n^2 rings, so they shrink as workers multiply: 65536 records each up to
     * 4 workers (3 MiB, enough for a worker preempted for tens of ms under a
     * flood of distinct pairs), 1024 at 64. Pages are touched only as used.
     */
    ring = xp_owners__pow2((1U << 20) / (n_workers * n_workers));
    o->ring_mask = (ring < 1024 ? 1024 : ring > 65536 ? 65536 : ring) - 1;
    o->rings = calloc((size_t)n_workers * n_workers, sizeof(*o->rings));
    if (!o->slots || !o->rings)
        goto err;
    memset(o->slots, 0, ((size_t)o->mask + 1) * sizeof(*o->slots));
    for (unsigned i = 0; i < n_workers * n_workers; i++) {
        o->rings[i].rec = calloc((size_t)o->ring_mask + 1, sizeof(struct xp_owner_rec));
        if (!o->rings[i].rec)
            goto err;
    }
    return o;

err:
    xp_owners__destroy(o);
    errno = ENOMEM;
    return NULL;
}

void xp_owners__destroy(struct xp_owners *o)
{
    if (!o)
        return;
    for (unsigned i = 0; o->rings && i < o->n_workers * o->n_workers; i++)
        free(o->rings[i].rec);
    free(o->rings);
    free(o->slots);
    pthread_mutex_destroy(&o->lock);
    free(o);
}

uint64_t xp_owners__hash(const struct xp_owners *o, const struct xp_policer_key *key)
{
    return xp_pair_hash(o->seed, key);
}

int xp_owners__find(const struct xp_owners *o, uint64_t h, uint64_t *block)
{
    uint64_t id = xp_owners__id(h);
    uint32_t i = xp_owners__home(o, id);

    for (unsigned n = 0; n < XP_OWNERS_MAX_PROBE; n++, i = (i + 1) & o->mask) {
        const struct xp_owner_slot *s = &o->slots[i];
        uint64_t w = atomic_load_explicit(&s->word, memory_order_acquire), b;

        if (w == 0)
            return -1;
        if ((w & ~XP_OWNER_MASK) != id)
            continue;
        /* the block must belong to the word read: read the word again */
        b = atomic_load_explicit(&s->block, memory_order_acquire);
        if (atomic_load_explicit(&s->word, memory_order_acquire) != w)
            b = 0;
        if (block)
            *block = b;
        return (int)(w & XP_OWNER_MASK);
    }
    return -1;
}

int xp_owners__owner(const struct xp_owners *o, const struct xp_policer_key *key)
{
    return o ? xp_owners__find(o, xp_owners__hash(o, key), NULL) : -1;
}

/* The slot of id, under the lock: its index, or the free slot that ends its chain (*found false). */
static uint32_t xp_owners__locate(const struct xp_owners *o, uint64_t id, bool *found)
{
    uint32_t i = xp_owners__home(o, id);

    for (unsigned n = 0; n < XP_OWNERS_MAX_PROBE; n++, i = (i + 1) & o->mask) {
        uint64_t w = atomic_load_explicit(&o->slots[i].word, memory_order_relaxed);

        if (w == 0 || (w & ~XP_OWNER_MASK) == id) {
            *found = w != 0;
            return i;
        }
    }
    *found = false;
    return XP_NIL;
}

int xp_owners__claim(struct xp_owners *o, uint64_t h, unsigned worker)
{
    uint64_t id = xp_owners__id(h);
    bool found;
    uint32_t i;
    int owner;

    pthread_mutex_lock(&o->lock);
    i = xp_owners__locate(o, id, &found);
    if (found) {
        owner = (int)(atomic_load_explicit(&o->slots[i].word, memory_order_relaxed) &
                      XP_OWNER_MASK);
    } else if (i == XP_NIL || o->count >= (o->mask + 1) / 4 * 3) {
        owner = -ENOSPC;
        o->full++;
    } else {
        atomic_store_explicit(&o->slots[i].block, 0, memory_order_relaxed);
        atomic_store_explicit(&o->slots[i].word, id | worker, memory_order_release);
        o->count++;
        owner = (int)worker;
    }
    pthread_mutex_unlock(&o->lock);
    return owner;
}

void xp_owners__release(struct xp_owners *o, uint64_t h, unsigned worker)
{
    uint64_t id = xp_owners__id(h);
    uint32_t hole, i;
    bool found;

    pthread_mutex_lock(&o->lock);
    hole = xp_owners__locate(o, id, &found);
    if (!found || (atomic_load_explicit(&o->slots[hole].word, memory_order_relaxed) &
                   XP_OWNER_MASK) != worker)
        goto out;
    /* backward shift: pull every later entry of the chain whose home allows it into the hole */
    for (i = (hole + 1) & o->mask;; i = (i + 1) & o->mask) {
        uint64_t w = atomic_load_explicit(&o->slots[i].word, memory_order_relaxed);
        uint32_t home;

        if (w == 0)
            break;
        home = xp_owners__home(o, w & ~XP_OWNER_MASK);
        /* i may move to hole unless its home lies cyclically in (hole, i] */
        if (((i - home) & o->mask) >= ((i - hole) & o->mask)) {
            atomic_store_explicit(&o->slots[hole].block,
                                  atomic_load_explicit(&o->slots[i].block, memory_order_relaxed),
                                  memory_order_relaxed);
            atomic_store_explicit(&o->slots[hole].word, w, memory_order_release);
            hole = i;
        }
    }
    atomic_store_explicit(&o->slots[hole].word, 0, memory_order_release);
    atomic_store_explicit(&o->slots[hole].block, 0, memory_order_relaxed);
    o->count--;
out:
    pthread_mutex_unlock(&o->lock);
}

void xp_owners__set_block(struct xp_owners *o, uint64_t h, unsigned worker, uint64_t block)
{
    uint64_t id = xp_owners__id(h);
    bool found;
    uint32_t i;

    pthread_mutex_lock(&o->lock);
    i = xp_owners__locate(o, id, &found);
    if (found && (atomic_load_explicit(&o->slots[i].word, memory_order_relaxed) &
                  XP_OWNER_MASK) == worker)
        atomic_store_explicit(&o->slots[i].block, block, memory_order_release);
    pthread_mutex_unlock(&o->lock);
}

uint64_t xp_owners__count(struct xp_owners *o)
{
    uint64_t n;

    if (!o)
        return 0;
    pthread_mutex_lock(&o->lock);
    n = o->count;
    pthread_mutex_unlock(&o->lock);
    return n;
}

/* ---- the rings: worker `from` hands counts to worker `to` ---- */

static inline struct xp_owner_ring *xp_owners__ring(struct xp_owners *o, unsigned from,
                                                    unsigned to)
{
    return &o->rings[from * o->n_workers + to];
}

bool xp_owners__produce(struct xp_owners *o, unsigned from, unsigned to,
                        const struct xp_policer_key *key, uint32_t grp, uint64_t t, uint64_t n)
{
    struct xp_owner_ring *r = xp_owners__ring(o, from, to);
    uint32_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    struct xp_owner_rec *last;

    /* records written and not yet published are ours to grow: one per pair and burst */
    for (uint32_t i = r->local; i != head && r->local - i < XP_OWNERS_MERGE; i--) {
        last = &r->rec[(i - 1) & o->ring_mask];
        if (memcmp(&last->key, key, sizeof(*key)) == 0) {
            last->n += n;
            if (t > last->t)
                last->t = t;
            last->grp = grp; /* the latest classification (a reload may move the unit) */
            return true;
        }
    }
    /*
     * The consumer's line is read only when the ring looks full from the
     * tail seen last time: otherwise every produced record would pull the
     * line the consumer writes back to this core.
     */
    if (r->local - r->tail_seen > o->ring_mask) {
        r->tail_seen = atomic_load_explicit(&r->tail, memory_order_acquire);
        if (r->local - r->tail_seen > o->ring_mask)
            return false;
    }
    last = &r->rec[r->local & o->ring_mask];
    last->key = *key;
    last->t = t;
    last->n = n;
    last->grp = grp;
    r->local++;
    r->pending = true;
    return true;
}

void xp_owners__publish(struct xp_owners *o, unsigned from)
{
    for (unsigned to = 0; to < o->n_workers; to++) {
        struct xp_owner_ring *r = xp_owners__ring(o, from, to);

        if (r->pending) {
            atomic_store_explicit(&r->head, r->local, memory_order_release);
            r->pending = false;
        }
    }
}

unsigned xp_owners__consume(struct xp_owners *o, unsigned to, unsigned from,
                            struct xp_owner_rec *out, unsigned max)
{
    struct xp_owner_ring *r = xp_owners__ring(o, from, to);
    uint32_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    uint32_t head = atomic_load_explicit(&r->head, memory_order_acquire);
    unsigned n = 0;

    while (tail != head && n < max)
        out[n++] = r->rec[tail++ & o->ring_mask];
    /* an empty ring (every loop turn, for every other worker) writes nothing */
    if (n)
        atomic_store_explicit(&r->tail, tail, memory_order_release);
    return n;
}
