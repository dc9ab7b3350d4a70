/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Private to src/policer/: the shared destination table's layout, which the
 * per-worker policer reads and writes directly on the packet path.
 */
#ifndef XP_POLICER_INTERNAL_H
#define XP_POLICER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "policer.h"

#define XP_NIL UINT32_MAX
#define XP_CACHE_LINE 64

/*
 * One destination. hash is the claim word: 0 free, XP_DST_TOMB a reclaimed
 * entry that probes walk past (and a claim may take), otherwise the (odd)
 * hash of key. Claims are made under the table's insert lock; lookups take
 * no lock. state says
 * whether the entry may be used (see dst_table.c for the reclamation).
 */
#define XP_DST_TOMB 2ULL
enum xp_dst_state {
    XP_DST_WRITING = 0,  /* claimed, key being written */
    XP_DST_READY = 1,
    XP_DST_RETIRING = 2, /* no pair uses it; freed after a grace period unless revived */
    XP_DST_DEAD = 3,     /* freed: becomes a tombstone */
};

struct xp_dst_entry {
    _Atomic uint64_t hash;
    _Atomic uint32_t state;
    uint32_t pad;
    uint8_t key[16];
};

/*
 * One worker's share of one destination. The three atomics are written only
 * by that worker (relaxed load + store, no RMW) and read by all. heap_root
 * and members are the owner's private bookkeeping: the root of its pairing
 * heap of pairs ordered by ts1, and its list of pairs towards this
 * destination (to recompute ts2_max when the pair holding it goes away).
 * Each worker's slots live in their own cache-aligned array, so two workers
 * never write the same cache line.
 */
struct xp_dst_slot {
    _Atomic uint64_t c_sum;
    _Atomic uint64_t ts1_min;
    _Atomic uint64_t ts2_max;
    uint32_t heap_root;
    uint32_t members;
};

struct xp_dst_table {
    uint32_t mask;
    unsigned n_workers;
    uint64_t seed;
    struct xp_dst_entry *entries;
    struct xp_dst_slot *slots[XP_DST_MAX_WORKERS];
    _Atomic uint64_t count;
    _Atomic uint64_t failures;
    _Atomic uint64_t reclaimed;
    _Atomic uint8_t worker_taken[XP_DST_MAX_WORKERS];
    pthread_mutex_t insert_lock; /* claims of free entries, tombstone clean-up */
    /* QSBR: the reclaimer's epoch and each worker's last quiescent epoch */
    _Atomic uint64_t epoch;
    _Atomic uint64_t qs[XP_DST_MAX_WORKERS];
    /* reclaimer-only state (one reclaiming thread) */
    uint32_t cursor;
    uint32_t n_retiring;
    uint64_t retire_epoch;
    uint32_t *retiring; /* room for every entry */
};

/* Single-writer update of a shared counter: a plain load and store, no lock prefix. */
#define XP_ATOMIC_SET(p, v) atomic_store_explicit((p), (v), memory_order_relaxed)
#define XP_ATOMIC_GET(p) atomic_load_explicit((p), memory_order_relaxed)
#define XP_ATOMIC_ADD(p, v) XP_ATOMIC_SET((p), XP_ATOMIC_GET(p) + (v))

/*
 * Keyed 64-bit hash of 16 or 32 bytes: multiply-xorshift rounds over 64-bit
 * words. The seed is random per table so that hash flooding needs it.
 */
static inline uint64_t xp_policer_mix(uint64_t h, uint64_t w)
{
    h ^= w;
    h *= 0x9e3779b97f4a7c15ULL;
    h ^= h >> 31;
    return h;
}

static inline uint64_t xp_policer_final(uint64_t h)
{
    h *= 0xd6e8feb86659fd93ULL;
    h ^= h >> 32;
    h *= 0xd6e8feb86659fd93ULL;
    h ^= h >> 29;
    return h;
}

static inline uint64_t xp_policer_hash16(uint64_t seed, const uint8_t *p)
{
    uint64_t w0, w1;

    memcpy(&w0, p, 8);
    memcpy(&w1, p + 8, 8);
    return xp_policer_final(xp_policer_mix(xp_policer_mix(seed, w0), w1));
}

/*
 * Allocate a large table: 2 MiB aligned and advised as transparent huge
 * pages, because at a million pairs every packet's random lookups are
 * dominated by TLB misses on 4 KiB pages. Free with free(). NULL on failure.
 */
void *xp_policer_alloc_big(size_t size);

/* Find or insert dst; returns its index or XP_NIL (table full, counted). */
uint32_t xp_dst_table__get(struct xp_dst_table *tbl, const uint8_t dst[16]);

/* Claim / release a worker id (0 or -EINVAL/-EBUSY). */
int xp_dst_table__claim(struct xp_dst_table *tbl, unsigned worker_id);
void xp_dst_table__release(struct xp_dst_table *tbl, unsigned worker_id);

/* Sum the slots of entry idx over all workers. Inline: it is on the packet path. */
static inline void xp_dst_table__aggregate(const struct xp_dst_table *tbl, uint32_t idx,
                                           struct xp_dst_aggregate *out)
{
    uint64_t c = 0, ts1 = UINT64_MAX, ts2 = 0;

    for (unsigned w = 0; w < tbl->n_workers; w++) {
        const struct xp_dst_slot *s = &tbl->slots[w][idx];
        uint64_t v;

        c += XP_ATOMIC_GET(&s->c_sum);
        v = XP_ATOMIC_GET(&s->ts1_min);
        if (v < ts1)
            ts1 = v;
        v = XP_ATOMIC_GET(&s->ts2_max);
        if (v > ts2)
            ts2 = v;
    }
    out->c = c;
    out->ts1 = ts1;
    out->ts2 = ts2;
}

#endif /* XP_POLICER_INTERNAL_H */
