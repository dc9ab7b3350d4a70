/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Statistics counters: one writer thread, any number of readers.
 *
 * A worker bumps its own counters on the hot path and the stats thread
 * reads them whenever it likes. With a single writer an increment needs no
 * read-modify-write instruction (no lock prefix, no cache-line ping-pong on
 * the writer's side): the writer loads its own last value and stores the
 * sum. Both accesses are relaxed atomics, and that is all the readers need:
 *
 *   - a 64-bit relaxed store is never torn, so a reader sees either the old
 *     or the new value, never a mix (also on 32-bit targets, where a plain
 *     uint64_t store may be two);
 *   - the accesses to one location are coherent, so successive reads of a
 *     counter never go backwards;
 *   - the compiler may not drop or delay the store indefinitely as it might
 *     for a plain variable it thinks no one else reads.
 *
 * Relaxed orders nothing else: a reader summing several counters sees each
 * as of a slightly different moment, and must not infer anything about other
 * data from a counter's value. Stats laws that compare counters hold once
 * the writer is quiet (tests read after the burst), not at every instant.
 *
 * Two writers on one counter would lose increments: give each thread its
 * own counters and sum them in the reader.
 *
 * The macros take the counter itself (an lvalue) and accept both plain
 * uint64_t fields and _Atomic uint64_t ones (the policer's); anything else
 * is a compile error. Hot path, any thread for XP_STAT_GET, the owning
 * thread only for XP_STAT_ADD and XP_STAT_SET.
 */
#ifndef XP_UTIL_COUNTERS_H
#define XP_UTIL_COUNTERS_H

#include <stdatomic.h>
#include <stdint.h>

static inline void xp_stat__add(uint64_t *c, uint64_t n)
{
    __atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

static inline void xp_stat__add_atomic(_Atomic uint64_t *c, uint64_t n)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

static inline void xp_stat__set(uint64_t *c, uint64_t v)
{
    __atomic_store_n(c, v, __ATOMIC_RELAXED);
}

static inline void xp_stat__set_atomic(_Atomic uint64_t *c, uint64_t v)
{
    atomic_store_explicit(c, v, memory_order_relaxed);
}

static inline uint64_t xp_stat__get(const uint64_t *c)
{
    return __atomic_load_n(c, __ATOMIC_RELAXED);
}

static inline uint64_t xp_stat__get_atomic(const _Atomic uint64_t *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

/* Owning thread: counter += n. */
#define XP_STAT_ADD(counter, n)                                                         \
    _Generic(&(counter), uint64_t *: xp_stat__add, _Atomic uint64_t *: xp_stat__add_atomic)( \
        &(counter), (n))

/* Owning thread: counter = v (a gauge, e.g. entries in use). */
#define XP_STAT_SET(counter, v)                                                         \
    _Generic(&(counter), uint64_t *: xp_stat__set, _Atomic uint64_t *: xp_stat__set_atomic)( \
        &(counter), (v))

/* Any thread: the counter's value, as of some recent moment. */
#define XP_STAT_GET(counter)                                                            \
    _Generic(&(counter),                                                                \
        uint64_t *: xp_stat__get,                                                       \
        const uint64_t *: xp_stat__get,                                                 \
        _Atomic uint64_t *: xp_stat__get_atomic,                                        \
        const _Atomic uint64_t *: xp_stat__get_atomic)(&(counter))

#endif /* XP_UTIL_COUNTERS_H */
