/* SPDX-License-Identifier: GPL-2.0-only */
/* Shared by the test_sync*.c tests: CHECK macros and key helpers. */
#ifndef XP_TEST_SYNC_COMMON_H
#define XP_TEST_SYNC_COMMON_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "src/central/config.h"
#include "src/sync/sync_internal.h"
#include "src/util/log.h"

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

/* A thread running a central node's event loop (pthread_create(..., tcentral_run, c)). */
static inline void *tcentral_run(void *central)
{
    xp_log_set_thread_name("central");
    xp_central__run(central);
    return NULL;
}

/* A plain TCP connection to 127.0.0.1:port; the test ends if it cannot be made. */
static inline int tcp_connect_local(uint16_t port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        perror("connect");
        exit(1);
    }
    return fd;
}

#endif
