/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the XDP program and userspace agree on: map sizes, keys, values and
 * counter indexes. Only __u32/__u64-style types, so both compilers see the
 * same layout.
 */
#ifndef XP_SHARED_H
#define XP_SHARED_H

#include <linux/types.h>

#define XP_MAX_PORTS 2
#define XP_MAX_QUEUES 64
/* XSKMAP key: port * XP_MAX_QUEUES + rx queue index. */
#define XP_XSKMAP_SIZE (XP_MAX_PORTS * XP_MAX_QUEUES)
#define XP_MGMT_PREFIXES 64

/* Per-CPU, per-port counters of the XDP program. Append only. */
enum xp_kern_counter {
    XP_KC_RX = 0,           /* frames seen */
    XP_KC_REDIRECT,         /* handed to an AF_XDP socket */
    XP_KC_PASS_NON_IP,      /* not IPv4/IPv6/ARP, config non_ip "pass": to the kernel */
    XP_KC_PASS_ARP_ND,      /* ARP; IPv6 neighbour discovery/MLD/hop-by-hop to link-local
                             * unicast or link-scope multicast */
    XP_KC_PASS_MGMT,        /* to a configured management prefix */
    XP_KC_PASS_NO_SOCKET,   /* fail-open: no socket bound on the queue */
    XP_KC_DROP_NO_SOCKET,   /* fail-closed: no socket bound on the queue */
    XP_KC_PASS_FOREIGN,     /* arrived on an interface that is not ours */
    XP_KC_DROP_BLOCKED,     /* pair in the block map: dropped in XDP */
    XP_KC_DROP_MANUAL,      /* blocked by the operator (xpro-ctl block) */
    XP_KC_PASS_NOT_TUNNEL,  /* gateway mode: not a tunnel datagram, to the kernel */
    XP_KC_DROP_UNTUNNELLED, /* gateway mode: access traffic the kernel would forward: dropped */
    XP_KC_DROP_NON_IP,      /* not IPv4/IPv6/ARP, and config non_ip is "drop" */
    XP_KC_MAX,
};

struct xp_kern_stats {
    __u64 packets[XP_KC_MAX];
    __u64 bytes_rx;
} __attribute__((aligned(64)));

/* LPM trie key for management prefixes (IPv4 mapped into ::ffff:0:0/96). */
struct xp_lpm_key {
    __u32 prefixlen;
    __u8 addr[16];
};

/*
 * The kernel fast path for blocked pairs. Key: unit (source address, IPv6
 * masked to the unit prefix) and destination, both as 16 bytes with IPv4
 * mapped into ::ffff:0:0/96. Value: expires_ns (CLOCK_MONOTONIC; XDP reads
 * it coarse, a tick is plenty) and the pair's slot in block_hits, where XDP
 * counts what it dropped; the XDP program drops while now < expires_ns.
 */
#define XP_BLOCK_MAX 65536
/* Operator blocks: key (unit, dst), dst all zero meaning every destination. */
#define XP_MANUAL_MAX 4096

/*
 * Slots of block_hits per worker: a worker's pairs count in its own range
 * [w * XP_BLOCK_SLOTS, (w + 1) * XP_BLOCK_SLOTS), so it reads its counts
 * without looking at any other worker's. block_hits is an mmapable array of
 * __u64, per CPU: index cpu * (workers * XP_BLOCK_SLOTS) + slot; each CPU
 * writes only its own row (no atomics on the drop path), userspace sums the
 * rows of a slot.
 */
#define XP_BLOCK_SLOTS 4096

struct xp_pair_key {
    __u8 unit[16];
    __u8 dst[16];
};

/* IPv4 pairs have their own map with an 8-byte key: the flood path hashes less. */
struct xp_block4_key {
    __u32 src; /* network order */
    __u32 dst;
};

struct xp_block_val {
    __u64 expires_ns;
    __u32 slot;    /* in block_hits; kept by every extension of the block */
    __u32 pad;
};

/*
 * A flood is one pair, packet after packet: each CPU remembers the last
 * blocked IPv4 pair it dropped, its expiry and its slot, and counts hits
 * there instead of hashing. An extension changes the expiry in blocks4 and
 * keeps the slot, so a cache that lapses finds the new expiry on its next
 * miss; a slot is given to another pair only well after its expiry (the
 * loader's users wait a grace past it), so no cache still counts into it.
 */
struct xp_block_cache {
    __u32 src;
    __u32 dst;
    __u64 expires_ns;
    __u32 slot;
    __u32 pad;
};

#endif /* XP_SHARED_H */
