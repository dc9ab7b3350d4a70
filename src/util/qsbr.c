// SPDX-License-Identifier: GPL-2.0-only
/*
 * Quiescent-state-based reclamation: the registry and the writer's side.
 * The design and the memory-order argument are in qsbr.h. Readers' slots
 * are cache-line aligned and live in one allocation with the token, so a
 * grace-period check is a walk over max_readers lines (64 readers: 4 KiB),
 * which writers (reloads, operator commands, next-hop refreshes) can afford.
 */
#include "src/util/qsbr.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "src/util/clock.h"

/* Between two looks at the readers while waiting: short next to one burst. */
#define XP_QSBR_PAUSE_NS 50000

struct xp_qsbr {
    _Atomic uint64_t token __attribute__((aligned(64))); /* grace periods started, plus one */
    unsigned max_readers;
    struct xp_qsbr_reader readers[];
};

struct xp_qsbr *xp_qsbr__create(unsigned max_readers)
{
    struct xp_qsbr *q;
    size_t size;

    if (max_readers == 0 || max_readers > 4096) {
        errno = EINVAL;
        return NULL;
    }
    size = sizeof(*q) + (size_t)max_readers * sizeof(q->readers[0]);
    q = aligned_alloc(64, (size + 63) & ~(size_t)63);
    if (!q)
        return NULL;
    memset(q, 0, size);
    /* 0 means offline: the first grace period must be 2, above a reader that saw 1 */
    atomic_init(&q->token, 1);
    q->max_readers = max_readers;
    for (unsigned i = 0; i < max_readers; i++) {
        atomic_init(&q->readers[i].seen, 0);
        atomic_init(&q->readers[i].taken, false);
        q->readers[i].token = &q->token;
    }
    return q;
}

void xp_qsbr__destroy(struct xp_qsbr *q)
{
    free(q);
}

struct xp_qsbr_reader *xp_qsbr__register(struct xp_qsbr *q)
{
    for (unsigned i = 0; i < q->max_readers; i++) {
        struct xp_qsbr_reader *rd = &q->readers[i];
        bool free_slot = false;

        if (atomic_compare_exchange_strong(&rd->taken, &free_slot, true)) {
            atomic_store_explicit(&rd->seen, 0, memory_order_release);
            return rd;
        }
    }
    errno = ENOSPC;
    return NULL;
}

void xp_qsbr__unregister(struct xp_qsbr *q, struct xp_qsbr_reader *rd)
{
    (void)q;
    if (!rd)
        return;
    xp_qsbr_reader__offline(rd);
    atomic_store(&rd->taken, false);
}

uint64_t xp_qsbr__start(struct xp_qsbr *q)
{
    uint64_t t = atomic_fetch_add(&q->token, 1) + 1;

    /* pairs with the fence in xp_qsbr_reader__online(): see qsbr.h */
    atomic_thread_fence(memory_order_seq_cst);
    return t;
}

bool xp_qsbr__poll(const struct xp_qsbr *q, uint64_t token)
{
    for (unsigned i = 0; i < q->max_readers; i++) {
        uint64_t seen = atomic_load_explicit(&q->readers[i].seen, memory_order_acquire);

        if (seen != 0 && seen < token)
            return false;
    }
    return true;
}

void xp_qsbr__synchronize(struct xp_qsbr *q)
{
    uint64_t t = xp_qsbr__start(q);

    while (!xp_qsbr__poll(q, t))
        xp_sleep_ns(XP_QSBR_PAUSE_NS);
}
