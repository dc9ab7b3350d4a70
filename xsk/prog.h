/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Loading, attaching and detaching kern/xpro.bpf.c on the proxy's ports.
 *
 * One program object serves every port (its rodata names the ports'
 * ifindexes), so the XSKMAP and the counters are one set of maps. A program
 * of ours left attached by an earlier run (fail-closed exit, crash) is
 * replaced; any other XDP program on a port is an error, never removed.
 */
#ifndef XP_XDP_PROG_H
#define XP_XDP_PROG_H

#include <stdbool.h>
#include <stdint.h>

#include "kern/xp_shared.h"
#include "src/backend/backend.h"

struct xp_xdp_prog;

/* Name of our XDP function, used to recognise our own program on a port. */
#define XP_XDP_PROG_NAME "xpro_xdp"
#define XP_BPFFS_ROOT "/sys/fs/bpf"

/* 0 if a BPF filesystem is mounted at /sys/fs/bpf, else -ENOENT. */
int xp_bpffs_check(void);

/*
 * Load and attach on cfg's ports. NULL with errno: ENODEV (no such
 * interface), EEXIST (another XDP program is attached), EPERM, EINVAL...
 */
struct xp_xdp_prog *xp_xdp_prog__attach(const struct xp_backend_conf *cfg);

int xp_xdp_prog__xskmap_fd(const struct xp_xdp_prog *p);
int xp_xdp_prog__ifindex(const struct xp_xdp_prog *p, unsigned port);

/* Sum the per-CPU counters of one port. 0 or -errno. */
int xp_xdp_prog__stats(const struct xp_xdp_prog *p, unsigned port, struct xp_kern_stats *out);

/*
 * The kernel fast path. Block a pair until expires_ns (CLOCK_MONOTONIC),
 * or extend its block; counts of what XDP dropped are kept across
 * extensions. Called from workers on state changes, not per packet: it
 * takes a mutex and makes system calls. 0 or -errno (-E2BIG: map full).
 */
int xp_xdp_prog__block(struct xp_xdp_prog *p, const struct xp_pair_key *key, uint64_t expires_ns);
int xp_xdp_prog__unblock(struct xp_xdp_prog *p, const struct xp_pair_key *key);
/* Packets XDP dropped for the pair since it was first blocked. */
int xp_xdp_prog__block_read(struct xp_xdp_prog *p, const struct xp_pair_key *key,
                            uint64_t *packets);
/*
 * Operator blocks (xpro-ctl block): the unit towards dst, or towards every
 * destination when dst is NULL, until expires_ns (CLOCK_MONOTONIC; 0 =
 * until unblocked). Control thread. 0 or -errno (-ENOENT on unblock).
 */
int xp_xdp_prog__manual_block(struct xp_xdp_prog *p, const uint8_t unit[16],
                              const uint8_t *dst, uint64_t expires_ns);
int xp_xdp_prog__manual_unblock(struct xp_xdp_prog *p, const uint8_t unit[16],
                                const uint8_t *dst);

/* Entries in the block map. */
unsigned xp_xdp_prog__blocked(struct xp_xdp_prog *p);

/*
 * Release the program. With keep_attached the program stays on the ports
 * (fail-closed: with no socket bound it drops), otherwise it is detached.
 */
void xp_xdp_prog__destroy(struct xp_xdp_prog *p, bool keep_attached);

/*
 * For the monitor (src/proxy/monitor.h), which holds no program object: detach
 * the xpro program from ifname if it is the only one there (a foreign one
 * is reported and left), and remove proxy_id's pins. 0 or -errno.
 */
int xp_xdp_prog__detach_by_name(const char *ifname);
void xp_xdp_prog__unpin(const char *proxy_id);

#endif /* XP_XDP_PROG_H */
