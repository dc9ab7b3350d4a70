// SPDX-License-Identifier: GPL-2.0-only
/*
 * Operator blocks the workers keep themselves: in gateway mode (XDP sees
 * only the tunnel's outer addresses) and on backends without XDP. A sorted
 * immutable array: the control thread builds a new one on every change
 * (operators change it rarely) and hands it to each worker between two
 * bursts; workers read it with a binary search or two.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "src/pipeline/pipeline.h"

struct manual_block {
    uint8_t key[32];       /* unit name, then destination (all zero: every destination) */
    uint64_t expires_mono; /* 0: until unblocked */
};

struct xp_manual_blocks {
    unsigned n;
    struct manual_block b[];
};

static void make_key(uint8_t key[32], const uint8_t unit[16], const uint8_t *dst)
{
    memcpy(key, unit, 16);
    if (dst)
        memcpy(key + 16, dst, 16);
    else
        memset(key + 16, 0, 16);
}

/* Index of key in bl, or where it would go (negative: -(pos + 1)). */
static long find(const struct xp_manual_blocks *bl, const uint8_t key[32])
{
    unsigned lo = 0, hi = bl ? bl->n : 0;

    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        int c = memcmp(bl->b[mid].key, key, 32);

        if (c == 0)
            return mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -(long)lo - 1;
}

static bool live(const struct manual_block *b, uint64_t now_mono)
{
    return b->expires_mono == 0 || now_mono < b->expires_mono;
}

bool xp_manual_blocks__match(const struct xp_manual_blocks *bl, const uint8_t unit[16],
                             const uint8_t dst[16], uint64_t now_mono)
{
    uint8_t key[32];
    long i;

    if (!bl || !bl->n)
        return false;
    make_key(key, unit, dst);
    i = find(bl, key);
    if (i >= 0 && live(&bl->b[i], now_mono))
        return true;
    make_key(key, unit, NULL);
    i = find(bl, key);
    return i >= 0 && live(&bl->b[i], now_mono);
}

/* A copy of old without key and without what expired, with key set when !remove. */
static struct xp_manual_blocks *change(const struct xp_manual_blocks *old, const uint8_t key[32],
                                       uint64_t expires, bool remove, uint64_t now_mono)
{
    unsigned n_old = old ? old->n : 0, n = 0;
    struct xp_manual_blocks *next;
    long at;

    if (remove && find(old, key) < 0) {
        errno = ENOENT;
        return NULL;
    }
    next = malloc(sizeof(*next) + (n_old + 1) * sizeof(next->b[0]));
    if (!next)
        return NULL;
    for (unsigned i = 0; i < n_old; i++) {
        if (memcmp(old->b[i].key, key, 32) != 0 && live(&old->b[i], now_mono))
            next->b[n++] = old->b[i];
    }
    next->n = n;
    if (!remove) {
        if (n >= XP_MANUAL_BLOCKS_MAX) {
            free(next);
            errno = ENOSPC;
            return NULL;
        }
        at = -find(next, key) - 1; /* not there: we just left it out */
        memmove(&next->b[at + 1], &next->b[at], (n - (unsigned)at) * sizeof(next->b[0]));
        memcpy(next->b[at].key, key, 32);
        next->b[at].expires_mono = expires;
        next->n = n + 1;
    }
    return next;
}

struct xp_manual_blocks *xp_manual_blocks__with(const struct xp_manual_blocks *old,
                                                const uint8_t unit[16], const uint8_t *dst,
                                                uint64_t expires_mono, uint64_t now_mono)
{
    uint8_t key[32];

    make_key(key, unit, dst);
    return change(old, key, expires_mono, false, now_mono);
}

struct xp_manual_blocks *xp_manual_blocks__without(const struct xp_manual_blocks *old,
                                                   const uint8_t unit[16], const uint8_t *dst,
                                                   uint64_t now_mono)
{
    uint8_t key[32];

    make_key(key, unit, dst);
    return change(old, key, 0, true, now_mono);
}

unsigned xp_manual_blocks__count(const struct xp_manual_blocks *bl)
{
    return bl ? bl->n : 0;
}

void xp_manual_blocks__free(struct xp_manual_blocks *bl)
{
    free(bl);
}
