/* SPDX-License-Identifier: GPL-2.0-only */
/* Shared by the test_sync*.c tests: CHECK macros and key helpers. */
#ifndef XP_TEST_SYNC_COMMON_H
#define XP_TEST_SYNC_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "src/central/config.h"
#include "src/sync/sync_internal.h"

#include "xp_check.h"

static inline struct xp_policer_key tkey(unsigned u, unsigned d)
{
    struct xp_policer_key k;
    char a[32], b[32];

    snprintf(a, sizeof(a), "10.%u.%u.%u", (u >> 16) & 255, (u >> 8) & 255, u & 255);
    snprintf(b, sizeof(b), "198.18.%u.%u", (d >> 8) & 255, d & 255);
    xp_addr__parse(a, k.unit);
    xp_addr__parse(b, k.dst);
    return k;
}

static inline uint64_t treal_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static inline void tsleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

#endif
