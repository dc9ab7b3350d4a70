/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Shared by the policer's tests (test_policer.c, test_owners.c, test_policer_why.c): time
 * units, limits, a policer, a key.
 */
#ifndef XP_TEST_POLICER_COMMON_H
#define XP_TEST_POLICER_COMMON_H

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "src/policer/policer.h"

#define MS 1000000ULL
#define SEC XP_NSEC_PER_SEC
#define T0 (1700000000ULL * SEC)

/* T_T1..T_T4 = 100 ms, no shrink, F1 = 1000 pps, F2 out of reach. */
static inline struct xp_policer_limits test_limits(void)
{
    struct xp_policer_limits lim;

    xp_policer_limits__init(&lim);
    lim.t_t1_ns = 100 * MS;
    lim.t_t2_ns = 100 * MS;
    lim.t_t3_ns = 100 * MS;
    lim.t_t4_ns = 100 * MS;
    lim.shrink_r = 1;
    lim.t_f1_pps = 1000;
    lim.t_f2_pps = 1000000000;
    return lim;
}

/* A policer for worker `worker` of dst (hash seed fixed per worker); exits on failure. */
static inline struct xp_policer *mkpol(struct xp_dst_table *dst,
                                       const struct xp_policer_limits *lim, uint32_t capacity,
                                       unsigned worker)
{
    struct xp_policer_config cfg = {
        .limits = *lim,
        .capacity = capacity,
        .worker_id = worker,
        .hash_seed = 42 + worker,
    };
    struct xp_policer *pol = xp_policer__create(&cfg, dst);

    if (!pol) {
        perror("xp_policer__create");
        exit(1);
    }
    return pol;
}

/* IPv4 key unit 10.0.0.u -> dst 192.0.2.d */
static inline struct xp_policer_key k4(unsigned u, unsigned d)
{
    struct xp_policer_key k;
    uint32_t s = htonl(0x0a000000U | u), t = htonl(0xc0000200U | d);

    xp_policer_key__build(&k, AF_INET, &s, &t, 64);
    return k;
}

#endif
