/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Quiescent-state-based reclamation (QSBR): free an object that reader
 * threads may still hold, without a lock or a reference count on the
 * readers' side.
 *
 * A writer replaces a shared pointer (an atomic store or exchange), then
 * starts a grace period (xp_qsbr__start) and frees the old object once every
 * reader has passed a quiescent state since: a moment at which it holds no
 * pointer to anything the writer may free. It either waits for that
 * (xp_qsbr__synchronize) or keeps the object and asks again later
 * (xp_qsbr__poll), so a thread that must not block can defer the free.
 *
 * Readers announce themselves in one of two ways, and may mix them:
 *   - online/offline around the code that reads the shared pointers (a
 *     burst): an offline reader holds nothing, so a worker that sleeps or
 *     stops never holds a writer up;
 *   - quiescent once per loop turn while online, between two bursts.
 *
 * How. A 64-bit grace-period token only grows; each reader has one word,
 * on its own cache line: 0 while offline, else the token it saw at its last
 * quiescent point (or when it came online). A grace period that started at
 * token t is over once every reader's word is 0 or at least t. Ordering: the
 * writer's pointer store comes before its token increment, and a reader
 * that saw the new token (acquire) sees the new pointer; a reader coming
 * online and the writer starting a grace period each put a full fence
 * between their store and their load (the store-buffer pattern), so either
 * the writer sees the reader online and waits, or the reader sees the new
 * pointer; a reader's release store of its word (quiescent or offline)
 * orders its reads of the old object before the writer's acquire load of
 * that word, and so before the free.
 *
 * Threads: readers only touch their own reader; any thread may register,
 * unregister, start, poll and synchronize (several writers are fine: the
 * token is a counter). A reader must never wait for a grace period while
 * online: it would wait for itself.
 */
#ifndef XP_UTIL_QSBR_H
#define XP_UTIL_QSBR_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct xp_qsbr;

/* One reader's slot, a cache line of its own. Fields private to qsbr.h/qsbr.c. */
struct xp_qsbr_reader {
    _Atomic uint64_t seen;         /* 0: offline; else the token at the last quiescent point */
    const _Atomic uint64_t *token; /* the registry's grace-period token */
    atomic_bool taken;             /* slot registered */
} __attribute__((aligned(64)));

/* A registry for up to max_readers readers, all offline. NULL with errno (EINVAL, ENOMEM). */
struct xp_qsbr *xp_qsbr__create(unsigned max_readers);
/* Free the registry. NULL is fine. No reader may use its slot any more. */
void xp_qsbr__destroy(struct xp_qsbr *q);

/*
 * A slot for one reader thread, offline. NULL with errno ENOSPC when all
 * max_readers are taken. Any thread, at any time (a new reader is offline:
 * grace periods in progress do not wait for it).
 */
struct xp_qsbr_reader *xp_qsbr__register(struct xp_qsbr *q);
/* Give the slot back (offline first, if the reader forgot). NULL is fine. */
void xp_qsbr__unregister(struct xp_qsbr *q, struct xp_qsbr_reader *rd);

/*
 * Writer: start a grace period, after the new pointer was published. The
 * token to pass to xp_qsbr__poll.
 */
uint64_t xp_qsbr__start(struct xp_qsbr *q);
/* Writer: true once every reader was offline or quiescent since token's grace period started. */
bool xp_qsbr__poll(const struct xp_qsbr *q, uint64_t token);
/*
 * Writer: start a grace period and wait for its end, sleeping 50 us
 * between looks. Returns within one burst (or one loop turn) of the
 * slowest online reader. Never from an online reader.
 */
void xp_qsbr__synchronize(struct xp_qsbr *q);

/* Reader, hot path: about to read shared pointers. A full fence (see the top comment). */
static inline void xp_qsbr_reader__online(struct xp_qsbr_reader *rd)
{
    atomic_store_explicit(&rd->seen, atomic_load_explicit(rd->token, memory_order_acquire),
                          memory_order_relaxed);
    atomic_thread_fence(memory_order_seq_cst);
}

/* Reader, hot path: holds nothing any more, until the next online. */
static inline void xp_qsbr_reader__offline(struct xp_qsbr_reader *rd)
{
    atomic_store_explicit(&rd->seen, 0, memory_order_release);
}

/*
 * Reader, hot path, while online: holds nothing it read before this call.
 * Writes its cache line only when a grace period started since its last
 * call, so a loop may call it every turn.
 */
static inline void xp_qsbr_reader__quiescent(struct xp_qsbr_reader *rd)
{
    uint64_t t = atomic_load_explicit(rd->token, memory_order_acquire);

    if (atomic_load_explicit(&rd->seen, memory_order_relaxed) != t)
        atomic_store_explicit(&rd->seen, t, memory_order_release);
}

#endif /* XP_UTIL_QSBR_H */
