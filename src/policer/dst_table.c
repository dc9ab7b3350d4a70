// SPDX-License-Identifier: GPL-2.0-only
/*
 * The destination table shared by all workers' policers.
 *
 * The destination test needs c* = sum c, ts1* = min ts1, ts2* = max ts2 over
 * every pair towards D, and the pairs of one D are spread over workers. Each
 * worker keeps its own partial aggregate per D in its own slot array; a
 * reader sums n_workers slots. Nothing is ever written by two threads, so
 * the packet path needs no lock and no atomic read-modify-write, except the
 * one CAS that claims an entry for a destination seen for the first time.
 *
 * A reader that meets an entry whose hash matches but whose key is still
 * being written (claimed, not ready) takes it as its own destination rather
 * than wait: with a random 64-bit seeded hash, two destinations sharing a
 * hash is a 2^-64 event, and never waiting keeps every worker lock-free.
 *
 * Lookups never lock. Claiming a free entry takes insert_lock (a new
 * destination: once per pair creation or restart, never per packet), so
 * that two workers cannot claim two entries for one destination and the
 * reclaimer can turn tombstones back into free entries safely.
 *
 * Reclamation (QSBR). Pairs drop their destination when they go idle
 * (policer.c), so an entry whose every worker slot is empty is unused. The
 * reclaimer (one control thread, xp_dst_table__reclaim) marks such entries
 * RETIRING and bumps the epoch; every worker announces the epoch it has seen
 * once per loop turn (xp_dst_table__quiescent), between bursts, so once all
 * have announced it, any lookup that found the entry before it was marked
 * has attached its pair. The reclaimer then frees each entry still empty
 * by CAS RETIRING -> DEAD; a worker that finds a RETIRING entry revives it
 * by CAS RETIRING -> READY; exactly one of the two wins. A dead entry
 * becomes a tombstone (probes walk past it, the next claim may take it), and
 * a tombstone followed by a free entry becomes free again (no probe chain
 * can pass through it), so probe sequences stay short.
 */
#include <errno.h>
#include <numa.h>
#include <numaif.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>

#include "policer_internal.h"
#include "src/util/log.h"

/* Probes before an insertion is refused; the table is sized by the operator. */
#define XP_DST_MAX_PROBE 64

#define XP_HUGE_PAGE (2UL << 20)

void *xp_policer_alloc_big(size_t size, int numa_node)
{
    size_t sz = (size + XP_HUGE_PAGE - 1) & ~(XP_HUGE_PAGE - 1);
    void *p = aligned_alloc(XP_HUGE_PAGE, sz);

    if (!p)
        return NULL;
    /* advice only: without THP the table still works on small pages */
    (void)madvise(p, sz, MADV_HUGEPAGE);
    /*
     * Before the first touch: the pages then come from numa_node whichever
     * thread touches them first (here, the creating one). Preferred, not
     * bound: a full node falls back to another instead of failing.
     */
    if (numa_node >= 0 && numa_node < 64 && numa_available() >= 0) {
        unsigned long mask = 1UL << numa_node;

        if (mbind(p, sz, MPOL_PREFERRED, &mask, sizeof(mask) * 8, 0))
            pr_warn("policer tables: NUMA node %d: %s", numa_node, strerror(errno));
    }
    return p;
}

static uint32_t xp_roundup_pow2(uint32_t v)
{
    uint32_t p = 1;

    while (p < v && p < (1U << 31))
        p <<= 1;
    return p;
}

struct xp_dst_table *xp_dst_table__create(uint32_t capacity, unsigned n_workers)
{
    struct xp_dst_table *tbl;
    uint32_t n;
    size_t sz;

    if (capacity == 0 || capacity > (1U << 30) || n_workers == 0 ||
        n_workers > XP_DST_MAX_WORKERS) {
        errno = EINVAL;
        return NULL;
    }
    tbl = calloc(1, sizeof(*tbl));
    if (!tbl)
        return NULL;
    pthread_mutex_init(&tbl->insert_lock, NULL);
    n = xp_roundup_pow2(capacity);
    tbl->mask = n - 1;
    tbl->n_workers = n_workers;
    if (getrandom(&tbl->seed, sizeof(tbl->seed), 0) != sizeof(tbl->seed))
        tbl->seed = 0x5851f42d4c957f2dULL ^ (uint64_t)(uintptr_t)tbl;

    tbl->retiring = calloc(n, sizeof(*tbl->retiring));
    if (!tbl->retiring)
        goto err_free_tbl;
    sz = (size_t)n * sizeof(struct xp_dst_entry);
    tbl->entries = xp_policer_alloc_big(sz, -1);
    if (!tbl->entries)
        goto err_free_tbl;
    memset(tbl->entries, 0, sz);
    tbl->shares = calloc(n, sizeof(*tbl->shares));
    if (!tbl->shares)
        goto err_free_slots;

    sz = (size_t)n * sizeof(struct xp_dst_slot);
    for (unsigned w = 0; w < n_workers; w++) {
        struct xp_dst_slot *s = xp_policer_alloc_big(sz, -1);

        if (!s)
            goto err_free_slots;
        for (uint32_t i = 0; i < n; i++) {
            atomic_init(&s[i].c_sum, 0);
            atomic_init(&s[i].ts1_min, UINT64_MAX);
            atomic_init(&s[i].ts2_max, 0);
            s[i].heap_root = XP_NIL;
            s[i].pad = 0;
        }
        tbl->slots[w] = s;
    }
    return tbl;

err_free_slots:
    for (unsigned w = 0; w < n_workers; w++) {
        free(tbl->slots[w]);
        tbl->slots[w] = NULL;
    }
    free(tbl->entries);
    tbl->entries = NULL;
    free(tbl->shares);
    tbl->shares = NULL;
err_free_tbl:
    free(tbl->retiring);
    pthread_mutex_destroy(&tbl->insert_lock);
    free(tbl);
    errno = ENOMEM;
    return NULL;
}

void xp_dst_table__destroy(struct xp_dst_table *tbl)
{
    if (!tbl)
        return;
    for (unsigned w = 0; w < tbl->n_workers; w++) {
        free(tbl->slots[w]);
        tbl->slots[w] = NULL;
    }
    free(tbl->entries);
    tbl->entries = NULL;
    free(tbl->shares);
    tbl->shares = NULL;
    free(tbl->retiring);
    tbl->retiring = NULL;
    pthread_mutex_destroy(&tbl->insert_lock);
    free(tbl);
}

int xp_dst_table__claim(struct xp_dst_table *tbl, unsigned worker_id)
{
    uint8_t expected = 0;

    if (worker_id >= tbl->n_workers)
        return -EINVAL;
    if (!atomic_compare_exchange_strong(&tbl->worker_taken[worker_id], &expected, 1))
        return -EBUSY;
    return 0;
}

void xp_dst_table__release(struct xp_dst_table *tbl, unsigned worker_id)
{
    if (worker_id < tbl->n_workers)
        atomic_store(&tbl->worker_taken[worker_id], 0);
}

/*
 * Find dst without locking: its index, or XP_NIL when the probe reached a
 * free entry (or its end) first.
 */
static uint32_t xp_dst_table__find(struct xp_dst_table *tbl, const uint8_t dst[16], uint64_t h)
{
    for (uint32_t i = 0; i < XP_DST_MAX_PROBE && i <= tbl->mask; i++) {
        uint32_t idx = (uint32_t)(h + i) & tbl->mask;
        struct xp_dst_entry *e = &tbl->entries[idx];
        uint64_t cur = atomic_load_explicit(&e->hash, memory_order_acquire);
        uint32_t st;

        if (cur == 0)
            return XP_NIL;
        if (cur != h)
            continue;
        st = atomic_load_explicit(&e->state, memory_order_acquire);
        if (st == XP_DST_WRITING)
            return idx; /* being written by another worker: see the top comment */
        if (st == XP_DST_DEAD || memcmp(e->key, dst, 16) != 0)
            continue;
        if (st == XP_DST_RETIRING) {
            uint32_t want = XP_DST_RETIRING;

            if (!atomic_compare_exchange_strong_explicit(&e->state, &want, XP_DST_READY,
                                                         memory_order_acq_rel,
                                                         memory_order_acquire) &&
                want == XP_DST_DEAD)
                continue; /* the reclaimer won: it is gone */
        }
        return idx;
    }
    return XP_NIL;
}

/* Find dst, or claim the first free entry of its probe sequence for it. */
static uint32_t xp_dst_table__probe(struct xp_dst_table *tbl, const uint8_t dst[16],
                                    bool insert)
{
    uint64_t h = xp_policer_hash16(tbl->seed, dst) | 1;
    uint32_t idx = xp_dst_table__find(tbl, dst, h);

    if (idx != XP_NIL || !insert)
        return idx;
    pthread_mutex_lock(&tbl->insert_lock);
    /* again under the lock: another worker may just have claimed it */
    idx = xp_dst_table__find(tbl, dst, h);
    for (uint32_t i = 0; idx == XP_NIL && i < XP_DST_MAX_PROBE && i <= tbl->mask; i++) {
        uint32_t j = (uint32_t)(h + i) & tbl->mask;
        struct xp_dst_entry *e = &tbl->entries[j];

        uint64_t cur = atomic_load_explicit(&e->hash, memory_order_relaxed);

        /*
         * A tombstone may be taken: claims are serialised by the lock, and
         * the find above walked the whole sequence, so dst is nowhere else.
         */
        if (cur != 0 && cur != XP_DST_TOMB)
            continue;
        atomic_store_explicit(&e->state, XP_DST_WRITING, memory_order_relaxed);
        /* a share published for the entry's previous destination is not this one's */
        atomic_store_explicit(&tbl->shares[j].t_ns, 0, memory_order_relaxed);
        atomic_store_explicit(&e->hash, h, memory_order_release);
        memcpy(e->key, dst, 16);
        atomic_store_explicit(&e->remote_pairs, 0, memory_order_relaxed);
        atomic_store_explicit(&e->state, XP_DST_READY, memory_order_release);
        atomic_fetch_add_explicit(&tbl->count, 1, memory_order_relaxed);
        idx = j;
    }
    pthread_mutex_unlock(&tbl->insert_lock);
    if (idx == XP_NIL)
        atomic_fetch_add_explicit(&tbl->failures, 1, memory_order_relaxed);
    return idx;
}

void xp_dst_table__quiescent(struct xp_dst_table *tbl, unsigned worker_id)
{
    uint64_t e = atomic_load_explicit(&tbl->epoch, memory_order_acquire);

    if (atomic_load_explicit(&tbl->qs[worker_id], memory_order_relaxed) != e)
        atomic_store_explicit(&tbl->qs[worker_id], e, memory_order_release);
}

static bool xp_dst_table__unused(const struct xp_dst_table *tbl, uint32_t idx)
{
    for (unsigned w = 0; w < tbl->n_workers; w++)
        if (XP_ATOMIC_GET(&tbl->slots[w][idx].ts1_min) != UINT64_MAX)
            return false;
    return true;
}

/* Every worker in use has announced tbl->retire_epoch (or later) since it was set. */
static bool xp_dst_table__grace_over(const struct xp_dst_table *tbl)
{
    for (unsigned w = 0; w < tbl->n_workers; w++) {
        if (!atomic_load_explicit(&tbl->worker_taken[w], memory_order_acquire))
            continue;
        if (atomic_load_explicit(&tbl->qs[w], memory_order_acquire) < tbl->retire_epoch)
            return false;
    }
    return true;
}

/* Free entries idx-1, idx-2, ... that are tombstones, since idx is free. Under the lock. */
static void xp_dst_table__clear_tombs(struct xp_dst_table *tbl, uint32_t idx)
{
    for (uint32_t j = (idx - 1) & tbl->mask; j != idx; j = (j - 1) & tbl->mask) {
        struct xp_dst_entry *e = &tbl->entries[j];

        if (atomic_load_explicit(&e->hash, memory_order_relaxed) != XP_DST_TOMB)
            break;
        atomic_store_explicit(&e->hash, 0, memory_order_release);
    }
}

unsigned xp_dst_table__reclaim(struct xp_dst_table *tbl, uint32_t budget)
{
    unsigned freed = 0;

    if (tbl->n_retiring) {
        if (!xp_dst_table__grace_over(tbl))
            return 0;
        pthread_mutex_lock(&tbl->insert_lock);
        for (uint32_t i = 0; i < tbl->n_retiring; i++) {
            uint32_t idx = tbl->retiring[i];
            struct xp_dst_entry *e = &tbl->entries[idx];
            uint32_t want = XP_DST_RETIRING;

            if (!xp_dst_table__unused(tbl, idx)) {
                /* a pair joined it before the mark was seen: keep it */
                atomic_compare_exchange_strong(&e->state, &want, XP_DST_READY);
                continue;
            }
            if (!atomic_compare_exchange_strong(&e->state, &want, XP_DST_DEAD))
                continue; /* revived by a worker */
            atomic_store_explicit(&e->hash, XP_DST_TOMB, memory_order_release);
            atomic_fetch_sub_explicit(&tbl->count, 1, memory_order_relaxed);
            freed++;
            if (atomic_load_explicit(&tbl->entries[(idx + 1) & tbl->mask].hash,
                                     memory_order_relaxed) == 0) {
                atomic_store_explicit(&e->hash, 0, memory_order_release);
                xp_dst_table__clear_tombs(tbl, idx);
            }
        }
        pthread_mutex_unlock(&tbl->insert_lock);
        tbl->n_retiring = 0;
        atomic_fetch_add_explicit(&tbl->reclaimed, freed, memory_order_relaxed);
    }
    if (budget > tbl->mask + 1)
        budget = tbl->mask + 1;
    for (uint32_t n = 0; n < budget; n++) {
        uint32_t idx = tbl->cursor;
        struct xp_dst_entry *e = &tbl->entries[idx];
        uint64_t h = atomic_load_explicit(&e->hash, memory_order_acquire);
        uint32_t want = XP_DST_READY;

        tbl->cursor = (idx + 1) & tbl->mask;
        if (h == 0 || h == XP_DST_TOMB || !xp_dst_table__unused(tbl, idx))
            continue;
        if (atomic_compare_exchange_strong(&e->state, &want, XP_DST_RETIRING))
            tbl->retiring[tbl->n_retiring++] = idx;
    }
    if (tbl->n_retiring)
        tbl->retire_epoch = atomic_fetch_add_explicit(&tbl->epoch, 1, memory_order_acq_rel) + 1;
    return freed;
}

uint32_t xp_dst_table__get(struct xp_dst_table *tbl, const uint8_t dst[16])
{
    return xp_dst_table__probe(tbl, dst, true);
}

uint32_t xp_dst_table__index(const struct xp_dst_table *tbl, const uint8_t dst[16])
{
    return xp_dst_table__probe((struct xp_dst_table *)tbl, dst, false);
}

int xp_dst_table__lookup(const struct xp_dst_table *tbl, const uint8_t dst[16],
                         struct xp_dst_aggregate *out)
{
    uint32_t idx = xp_dst_table__probe((struct xp_dst_table *)tbl, dst, false);

    if (idx == XP_NIL)
        return -ENOENT;
    xp_dst_table__aggregate(tbl, idx, out);
    return 0;
}

int xp_dst_table__share(const struct xp_dst_table *tbl, const uint8_t dst[16], uint64_t *level,
                        uint64_t *t)
{
    uint32_t idx = xp_dst_table__probe((struct xp_dst_table *)tbl, dst, false);

    if (idx == XP_NIL)
        return -ENOENT;
    *t = XP_ATOMIC_GET(&tbl->shares[idx].t_ns);
    *level = XP_ATOMIC_GET(&tbl->shares[idx].level);
    return *t ? 0 : -ENOENT;
}

uint64_t xp_dst_table__count(const struct xp_dst_table *tbl)
{
    return atomic_load_explicit(&tbl->count, memory_order_relaxed);
}

uint64_t xp_dst_table__failures(const struct xp_dst_table *tbl)
{
    return atomic_load_explicit(&tbl->failures, memory_order_relaxed);
}

uint64_t xp_dst_table__reclaimed(const struct xp_dst_table *tbl)
{
    return atomic_load_explicit(&tbl->reclaimed, memory_order_relaxed);
}
