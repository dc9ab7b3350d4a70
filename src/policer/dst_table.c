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
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>

#include "policer_internal.h"

/* Probes before an insertion is refused; the table is sized by the operator. */
#define XP_DST_MAX_PROBE 64

#define XP_HUGE_PAGE (2UL << 20)

void *xp_policer_alloc_big(size_t size)
{
    size_t sz = (size + XP_HUGE_PAGE - 1) & ~(XP_HUGE_PAGE - 1);
    void *p = aligned_alloc(XP_HUGE_PAGE, sz);

    /* advice only: without THP the table still works on small pages */
    if (p)
        (void)madvise(p, sz, MADV_HUGEPAGE);
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
    n = xp_roundup_pow2(capacity);
    tbl->mask = n - 1;
    tbl->n_workers = n_workers;
    if (getrandom(&tbl->seed, sizeof(tbl->seed), 0) != sizeof(tbl->seed))
        tbl->seed = 0x5851f42d4c957f2dULL ^ (uint64_t)(uintptr_t)tbl;

    sz = (size_t)n * sizeof(struct xp_dst_entry);
    tbl->entries = xp_policer_alloc_big(sz);
    if (!tbl->entries)
        goto err_free_tbl;
    memset(tbl->entries, 0, sz);

    sz = (size_t)n * sizeof(struct xp_dst_slot);
    for (unsigned w = 0; w < n_workers; w++) {
        struct xp_dst_slot *s = xp_policer_alloc_big(sz);

        if (!s)
            goto err_free_slots;
        for (uint32_t i = 0; i < n; i++) {
            atomic_init(&s[i].c_sum, 0);
            atomic_init(&s[i].ts1_min, UINT64_MAX);
            atomic_init(&s[i].ts2_max, 0);
            s[i].heap_root = XP_NIL;
            s[i].members = XP_NIL;
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
err_free_tbl:
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

/* Probe for dst; with insert, claim a free entry. */
static uint32_t xp_dst_table__probe(struct xp_dst_table *tbl, const uint8_t dst[16],
                                    bool insert)
{
    uint64_t h = xp_policer_hash16(tbl->seed, dst) | 1;

    for (uint32_t i = 0; i < XP_DST_MAX_PROBE && i <= tbl->mask; i++) {
        uint32_t idx = (uint32_t)(h + i) & tbl->mask;
        struct xp_dst_entry *e = &tbl->entries[idx];
        uint64_t cur = atomic_load_explicit(&e->hash, memory_order_acquire);

        if (cur == 0) {
            if (!insert)
                return XP_NIL;
            if (atomic_compare_exchange_strong_explicit(&e->hash, &cur, h,
                                                        memory_order_acq_rel,
                                                        memory_order_acquire)) {
                memcpy(e->key, dst, 16);
                atomic_store_explicit(&e->ready, 1, memory_order_release);
                atomic_fetch_add_explicit(&tbl->count, 1, memory_order_relaxed);
                return idx;
            }
            /* lost the race: cur now holds the winner's hash */
        }
        if (cur != h)
            continue;
        if (!atomic_load_explicit(&e->ready, memory_order_acquire))
            return idx; /* being written by another worker: see the top comment */
        if (memcmp(e->key, dst, 16) == 0)
            return idx;
    }
    if (insert)
        atomic_fetch_add_explicit(&tbl->failures, 1, memory_order_relaxed);
    return XP_NIL;
}

uint32_t xp_dst_table__get(struct xp_dst_table *tbl, const uint8_t dst[16])
{
    return xp_dst_table__probe(tbl, dst, true);
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

uint64_t xp_dst_table__count(const struct xp_dst_table *tbl)
{
    return atomic_load_explicit(&tbl->count, memory_order_relaxed);
}

uint64_t xp_dst_table__failures(const struct xp_dst_table *tbl)
{
    return atomic_load_explicit(&tbl->failures, memory_order_relaxed);
}
