/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Private to src/policer/: the shared destination table's layout, which the
 * per-worker policer reads and writes directly on the packet path.
 */
#ifndef XP_POLICER_INTERNAL_H
#define XP_POLICER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
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
    /*
     * Pairs in the aggregate that only the central node told a worker about
     * (another proxy's units): drop provenance. Every worker adds to it, on
     * the rare changes only (an install, the pair's first own packet, its
     * leaving), so an atomic add costs nothing on the packet path.
     */
    _Atomic uint32_t remote_pairs;
    uint8_t key[16];
};

/*
 * One worker's share of one destination. The three atomics are written only
 * by that worker (relaxed load + store, no RMW) and read by all. heap_root
 * is the owner's private bookkeeping: the root of its pairing heap of the
 * pairs whose ts1 came out of order (the in-order ones are in the owner's
 * FIFO, policer.c). Each worker's slots live in their own cache-aligned
 * array, so two workers never write the same cache line.
 */
struct xp_dst_slot {
    _Atomic uint64_t c_sum;
    _Atomic uint64_t ts1_min;
    _Atomic uint64_t ts2_max;
    uint32_t heap_root;
    uint32_t pad;
};

/*
 * fair_share's published level for one destination: written by the control
 * thread (xp_fair__publish), read on the packet path. A reader may see the
 * level of one tick with the time of the next: both are one period apart.
 */
struct xp_dst_share {
    _Atomic uint64_t level; /* pps; UINT64_MAX: every unit fits */
    _Atomic uint64_t t_ns;  /* when computed; 0: never (claimed since) */
};

struct xp_dst_table {
    uint32_t mask;
    unsigned n_workers;
    uint64_t seed;
    struct xp_dst_entry *entries;
    struct xp_dst_share *shares; /* one per entry */
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

/*
 * Pair ownership across workers (owners.c): a directory of which worker
 * holds each pair, and rings that carry other workers' counts to it.
 */
#define XP_OWNERS_MAX_WORKERS 256

struct xp_owner_slot {
    _Atomic uint64_t word;  /* 0 free, else 56 hash bits | owner worker id */
    _Atomic uint64_t block; /* the owner's block: expiry ms << 8 | verdict; 0 none */
};

/* n packets of key that worker `from` saw, the last at t, in groups grp (XP_POLICER_GROUPS). */
struct xp_owner_rec {
    struct xp_policer_key key;
    uint64_t t;
    uint64_t n;
    uint32_t grp;
};

/* Single producer (from), single consumer (to). */
struct xp_owner_ring {
    _Atomic uint32_t head;  /* records published */
    uint32_t local;         /* producer only: records written, head..local not yet published */
    bool pending;           /* producer only: local != head */
    uint32_t tail_seen;     /* producer only: the consumer's tail when last read */
    struct xp_owner_rec *rec;
    _Atomic uint32_t tail __attribute__((aligned(XP_CACHE_LINE))); /* consumer */
} __attribute__((aligned(XP_CACHE_LINE)));

struct xp_owners {
    uint64_t seed;          /* every policer sharing the directory hashes with it */
    uint32_t mask;          /* slots - 1 */
    uint32_t ring_mask;     /* records per ring - 1 */
    unsigned n_workers;
    struct xp_owner_slot *slots;
    struct xp_owner_ring *rings; /* [from * n_workers + to] */
    pthread_mutex_t lock;   /* claims, releases, blocks */
    uint64_t count;         /* under lock */
    uint64_t full;          /* claims refused: directory full (under lock) */
};

/* The directory's hash of key (policers sharing it use it as their own). */
uint64_t xp_owners__hash(const struct xp_owners *o, const struct xp_policer_key *key);
/* Owner of the pair hashing to h, or -1; *block gets its published block. No lock: a hint. */
int xp_owners__find(const struct xp_owners *o, uint64_t h, uint64_t *block);
/* Claim h for worker (or find its owner): the owner, or -ENOSPC (directory full). */
int xp_owners__claim(struct xp_owners *o, uint64_t h, unsigned worker);
/* Give up h if worker owns it. */
void xp_owners__release(struct xp_owners *o, uint64_t h, unsigned worker);
/* The owner publishes a block of its pair h (block as in struct xp_owner_slot). */
void xp_owners__set_block(struct xp_owners *o, uint64_t h, unsigned worker, uint64_t block);
/* Producer side: hand n packets of key at t to worker to; false if the ring is full. */
bool xp_owners__produce(struct xp_owners *o, unsigned from, unsigned to,
                        const struct xp_policer_key *key, uint32_t grp, uint64_t t, uint64_t n);
/* Producer side: make what was produced since the last call visible. */
void xp_owners__publish(struct xp_owners *o, unsigned from);
/* Consumer side: take up to max records that worker from handed to worker to. */
unsigned xp_owners__consume(struct xp_owners *o, unsigned to, unsigned from,
                            struct xp_owner_rec *out, unsigned max);

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

/* The two halves of a 64 x 64 -> 128-bit product, folded: every input bit reaches every output bit. */
static inline uint64_t xp_policer_mum(uint64_t a, uint64_t b)
{
    unsigned __int128 p = (unsigned __int128)a * b;

    return (uint64_t)p ^ (uint64_t)(p >> 64);
}

/*
 * Keyed hash of a pair key; policers sharing an ownership directory share
 * its seed. Each half (unit, destination) goes through one full-width
 * multiply, then the two are combined by a third: the halves cannot cancel.
 * (Two multiply-xorshift chains XORed together could: a 64-bit multiply
 * only carries bits upwards, so IPv4 keys, which differ only in the high
 * bytes of their words, gave 65,536 distinct hashes for 524,288 pairs.)
 * The two first multiplies are independent, so they overlap on the packet
 * path. The seed's masks are secret, so no key can zero a factor on purpose.
 */
static inline uint64_t xp_pair_hash(uint64_t seed, const struct xp_policer_key *key)
{
    uint64_t w[4];

    memcpy(w, key, sizeof(w));
    return xp_policer_mum(xp_policer_mum(w[0] ^ seed, w[1] ^ (seed ^ 0xa0761d6478bd642fULL)) ^
                              (seed ^ 0xe7037ed1a0b428dbULL),
                          xp_policer_mum(w[2] ^ (seed ^ 0x8ebc6af09c88c6e3ULL),
                                         w[3] ^ (seed ^ 0x589965cc75374cc3ULL)));
}

/*
 * Allocate a large table: 2 MiB aligned and advised as transparent huge
 * pages, because at a million pairs every packet's random lookups are
 * dominated by TLB misses on 4 KiB pages; its pages preferably on
 * numa_node (-1: wherever first touched). Free with free(). NULL on failure.
 */
void *xp_policer_alloc_big(size_t size, int numa_node);

/* Find or insert dst; returns its index or XP_NIL (table full, counted). */
uint32_t xp_dst_table__get(struct xp_dst_table *tbl, const uint8_t dst[16]);

/* Find dst without inserting it; its index or XP_NIL. Any thread. */
uint32_t xp_dst_table__index(const struct xp_dst_table *tbl, const uint8_t dst[16]);

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

/* fair_share: a fresh share of entry idx limits its units (the last tick found them over T_F2). */
static inline bool xp_dst_table__limiting(const struct xp_dst_table *tbl, uint32_t idx, uint64_t t)
{
    uint64_t at = XP_ATOMIC_GET(&tbl->shares[idx].t_ns);

    return at && (t < at || t - at <= XP_FAIR_STALE_NS) &&
           XP_ATOMIC_GET(&tbl->shares[idx].level) != UINT64_MAX;
}

#endif /* XP_POLICER_INTERNAL_H */
