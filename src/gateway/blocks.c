// SPDX-License-Identifier: GPL-2.0-only
/*
 * Operator blocks of gateway mode. XDP sees only the tunnel's outer
 * addresses, so these live here: a sorted immutable array that the control
 * thread replaces on every change (operators change it rarely; workers read
 * it on every DATA datagram with a binary search or two).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "src/gateway/gateway.h"
#include "src/gateway/gateway_internal.h"

static void make_key(uint8_t key[32], const uint8_t unit[16], const uint8_t *dst)
{
    memcpy(key, unit, 16);
    if (dst)
        memcpy(key + 16, dst, 16);
    else
        memset(key + 16, 0, 16);
}

/* Index of key in bl, or where it would go (negative: -(pos + 1)). */
static long find(const struct gw_blocks *bl, const uint8_t key[32])
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

static int live(const struct gw_block *b, uint64_t now_mono)
{
    return b->expires_mono == 0 || now_mono < b->expires_mono;
}

int xp_gw__blocked(const struct gw_blocks *bl, const uint8_t unit[16], const uint8_t dst[16],
                   uint64_t now_mono)
{
    uint8_t key[32];
    long i;

    make_key(key, unit, dst);
    i = find(bl, key);
    if (i >= 0 && live(&bl->b[i], now_mono))
        return 1;
    make_key(key, unit, NULL);
    i = find(bl, key);
    return i >= 0 && live(&bl->b[i], now_mono);
}

/*
 * A copy of the current list with key set (expires) or taken out
 * (remove), expired entries dropped, published; the old one freed once no
 * worker reads it.
 */
static int change(struct xp_gateway *gw, const uint8_t key[32], uint64_t expires, bool remove)
{
    struct gw_blocks *old = atomic_load(&gw->blocks), *next;
    unsigned n_old = old ? old->n : 0, n = 0;
    struct timespec ts;
    uint64_t now;
    long at;

    if (remove && find(old, key) < 0)
        return -ENOENT;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    now = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
    next = malloc(sizeof(*next) + (n_old + 1) * sizeof(next->b[0]));
    if (!next)
        return -ENOMEM;
    for (unsigned i = 0; i < n_old; i++) {
        if (memcmp(old->b[i].key, key, 32) != 0 && live(&old->b[i], now))
            next->b[n++] = old->b[i];
    }
    next->n = n;
    if (!remove) {
        if (n >= XP_GW_BLOCKS_MAX) {
            free(next);
            return -ENOSPC;
        }
        at = -find(next, key) - 1; /* not there: we just left it out */
        memmove(&next->b[at + 1], &next->b[at], (n - (unsigned)at) * sizeof(next->b[0]));
        memcpy(next->b[at].key, key, 32);
        next->b[at].expires_mono = expires;
        next->n = n + 1;
    }
    atomic_store(&gw->blocks, next);
    xp_gw__wait_for_readers(gw);
    free(old);
    return 0;
}

int xp_gateway__block(struct xp_gateway *gw, const uint8_t unit[16], const uint8_t *dst,
                      uint64_t expires_mono)
{
    uint8_t key[32];

    make_key(key, unit, dst);
    return change(gw, key, expires_mono, false);
}

int xp_gateway__unblock(struct xp_gateway *gw, const uint8_t unit[16], const uint8_t *dst)
{
    uint8_t key[32];

    make_key(key, unit, dst);
    return change(gw, key, 0, true);
}
