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
 * The kernel fast path, one blocker per worker (0 .. n_queues - 1). A
 * blocker is its worker's alone: its range of slots in block_hits (where XDP
 * counts each blocked pair's drops, per CPU), its queue of map writes and
 * its scratch. No lock: workers never wait on each other's block work.
 *
 * block and unblock only queue (no system call: they run on the packet
 * path); flush writes everything queued with batched map updates (one
 * system call per 256 writes and address family), off the burst; read is a
 * sum over the mmapped counters, no system call at all.
 *
 * A pair holds one slot at a time; *slot is XP_XDP_SLOT_NONE for a pair not
 * in the map, which then takes a free one (its counters from zero), and the
 * same slot again to extend its block. unblock gives the slot up: the pair
 * leaves the map at the next flush, and its next block takes a new slot.
 * Give a slot up only past its expiry plus a coarse-clock tick: its counters
 * go to another pair, and XDP must no longer count into them.
 */
struct xp_xdp_blocker;

#define XP_XDP_SLOT_NONE UINT32_MAX

struct xp_xdp_blocker *xp_xdp_prog__blocker(struct xp_xdp_prog *p, unsigned worker);
/* Block or extend until expires_ns (CLOCK_MONOTONIC). 0, -ENOSPC (no free slot), -EINVAL. */
int xp_xdp_blocker__block(struct xp_xdp_blocker *b, const struct xp_pair_key *key,
                          uint64_t expires_ns, uint32_t *slot);
void xp_xdp_blocker__unblock(struct xp_xdp_blocker *b, uint32_t slot);
/* Packets XDP dropped for the pair in slot since the pair took it. */
uint64_t xp_xdp_blocker__read(const struct xp_xdp_blocker *b, uint32_t slot);
/*
 * Write what is queued: removals first (a slot given up comes before the
 * same pair's next one), then blocks. A block the map refuses (-E2BIG:
 * full) is taken out, its slot freed, and reported through failed (may be
 * NULL) after the writes.
 */
void xp_xdp_blocker__flush(struct xp_xdp_blocker *b,
                           void (*failed)(void *arg, const struct xp_pair_key *key, int err),
                           void *arg);

/* The blocker's own counters: the worker writes them, any thread reads. */
struct xp_xdp_blocker_stats {
    uint64_t flushes;    /* flushes that had writes queued */
    uint64_t syscalls;   /* bpf() calls made by flush */
    uint64_t writes;     /* blocks and removals written */
};
void xp_xdp_blocker__stats(const struct xp_xdp_blocker *b, struct xp_xdp_blocker_stats *out);

/*
 * Operator blocks (xpro-ctl block): the unit towards dst, or towards every
 * destination when dst is NULL, until expires_ns (CLOCK_MONOTONIC; 0 =
 * until unblocked). Control thread: a mutex of their own, which no worker
 * takes. 0 or -errno (-ENOENT on unblock).
 */
int xp_xdp_prog__manual_block(struct xp_xdp_prog *p, const uint8_t unit[16],
                              const uint8_t *dst, uint64_t expires_ns);
int xp_xdp_prog__manual_unblock(struct xp_xdp_prog *p, const uint8_t unit[16],
                                const uint8_t *dst);

/* Entries in the block maps (what the workers flushed). */
unsigned xp_xdp_prog__blocked(struct xp_xdp_prog *p);
/* The program's file descriptor: tests run frames through it (BPF_PROG_TEST_RUN). */
int xp_xdp_prog__prog_fd(const struct xp_xdp_prog *p);

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
