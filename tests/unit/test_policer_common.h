/* SPDX-License-Identifier: GPL-2.0-only */
/* Shared by the policer's tests (test_policer.c, test_owners.c): time units and limits. */
#ifndef XP_TEST_POLICER_COMMON_H
#define XP_TEST_POLICER_COMMON_H

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

#endif
