/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the bench's BPF programs and their loaders agree on. Private to
 * bench/: only __u32/__u64-style types, so both compilers see one layout.
 */
#ifndef XP_BENCH_H
#define XP_BENCH_H

#include <linux/types.h>

/* One per-CPU record of the counting program (sink and XDP_DROP ceiling). */
struct xp_count_rec {
    __u64 packets;
    __u64 bytes;
};

/* The minimal forwarder's XSKMAP: key = port (0 = first interface, 1 = second). */
#define XP_MINFWD_PORTS 2

#endif /* XP_BENCH_H */
