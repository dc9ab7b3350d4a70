/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A bounded single-producer / single-consumer ring of fixed-size records:
 * a worker hands events or requests to the control thread (or the other
 * way) without a lock and without a read-modify-write instruction.
 *
 * Exactly one thread pushes and exactly one thread pops, for the ring's
 * whole life (they may be the same thread). The capacity is a power of two;
 * head and tail are free-running 32-bit counters (head - tail is the fill,
 * wrapping is harmless), each written by one side only and kept on its own
 * cache line. The producer publishes records with a release store of head,
 * which the consumer's acquire load of head pairs with, so the records are
 * complete when seen; the consumer hands slots back with a release store of
 * tail, which the producer's acquire load pairs with, so a slot is never
 * overwritten while it is being copied out. Each side keeps its last view
 * of the other's index and reads the other's cache line again only when
 * that view says full (producer) or empty (consumer).
 *
 * Records are copied in and out (memcpy of the record size given at init):
 * meant for records of a few dozen bytes. Push and pop are burst calls:
 * they move as many records as fit or are there, up to the count asked,
 * and return how many. Hot path; no allocation, no system call.
 *
 * The struct must be 64-byte aligned (embed it in a cache-aligned struct or
 * allocate it with aligned_alloc/posix_memalign); the caller owns the slot
 * storage, which must outlive the ring.
 */
#ifndef XP_UTIL_SPSC_H
#define XP_UTIL_SPSC_H

#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct xp_spsc {
    /* The producer's line. */
    _Atomic uint32_t head __attribute__((aligned(64))); /* records pushed, ever */
    uint32_t tail_seen;                                 /* the producer's last view of tail */
    /* The consumer's line. */
    _Atomic uint32_t tail __attribute__((aligned(64))); /* records popped, ever */
    uint32_t head_seen;                                 /* the consumer's last view of head */
    /* Set by init, read-only after. */
    uint8_t *slots __attribute__((aligned(64)));
    uint32_t mask;  /* capacity - 1 */
    uint32_t esize; /* bytes per record */
};

/*
 * An empty ring over slots (capacity records of esize bytes). capacity: a
 * power of two, at most 2^31. 0, or -EINVAL. Before either side uses it.
 */
static inline int xp_spsc__init(struct xp_spsc *r, void *slots, size_t esize, uint32_t capacity)
{
    if (!slots || esize == 0 || esize > UINT32_MAX || capacity == 0 || capacity > (1U << 31) ||
        (capacity & (capacity - 1)))
        return -EINVAL;
    atomic_init(&r->head, 0);
    atomic_init(&r->tail, 0);
    r->tail_seen = 0;
    r->head_seen = 0;
    r->slots = slots;
    r->mask = capacity - 1;
    r->esize = (uint32_t)esize;
    return 0;
}

static inline uint32_t xp_spsc__capacity(const struct xp_spsc *r)
{
    return r->mask + 1;
}

/*
 * Records in the ring: for the producer an upper bound (the consumer may be
 * taking some), for the consumer a lower bound (the producer may be adding),
 * for any other thread a snapshot. Tail is read first, so never negative.
 */
static inline uint32_t xp_spsc__count(const struct xp_spsc *r)
{
    uint32_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);

    return atomic_load_explicit(&r->head, memory_order_acquire) - tail;
}

/* Producer only: copy up to n records from objs in; how many went in (0 when full). */
static inline unsigned xp_spsc__push(struct xp_spsc *r, const void *objs, unsigned n)
{
    uint32_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    uint32_t room = r->mask + 1 - (head - r->tail_seen);
    uint32_t idx = head & r->mask, first;
    size_t es = r->esize;

    if (room < n) {
        r->tail_seen = atomic_load_explicit(&r->tail, memory_order_acquire);
        room = r->mask + 1 - (head - r->tail_seen);
        if (n > room)
            n = room;
    }
    if (n == 0)
        return 0;
    first = r->mask + 1 - idx; /* slots before the wrap */
    if (first > n)
        first = n;
    memcpy(r->slots + (size_t)idx * es, objs, (size_t)first * es);
    if (n > first)
        memcpy(r->slots, (const uint8_t *)objs + (size_t)first * es, (size_t)(n - first) * es);
    atomic_store_explicit(&r->head, head + n, memory_order_release);
    return n;
}

/* Consumer only: copy up to max records out into objs, oldest first; how many (0 when empty). */
static inline unsigned xp_spsc__pop(struct xp_spsc *r, void *objs, unsigned max)
{
    uint32_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    uint32_t avail = r->head_seen - tail;
    uint32_t idx = tail & r->mask, first;
    size_t es = r->esize;

    if (avail < max) {
        r->head_seen = atomic_load_explicit(&r->head, memory_order_acquire);
        avail = r->head_seen - tail;
        if (max > avail)
            max = avail;
    }
    if (max == 0)
        return 0;
    first = r->mask + 1 - idx;
    if (first > max)
        first = max;
    memcpy(objs, r->slots + (size_t)idx * es, (size_t)first * es);
    if (max > first)
        memcpy((uint8_t *)objs + (size_t)first * es, r->slots, (size_t)(max - first) * es);
    atomic_store_explicit(&r->tail, tail + max, memory_order_release);
    return max;
}

#endif /* XP_UTIL_SPSC_H */
