/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The DPDK I/O backend: the same burst interface (src/backend/backend.h) as xsk/, on
 * DPDK ethdev ports.
 *
 * One struct xp_dpdk owns the EAL, the two ports (access and core) and
 * their mbuf pools. Each port gets one RX and one TX queue per worker; a
 * struct xp_dpdk_queue serves one queue index on both ports and is owned
 * by exactly one worker thread. The workers stay ordinary pthreads: EAL is
 * started with one lcore (the main thread), spawns no lcore workers, and
 * each worker registers itself (rte_thread_register) so the mempool's
 * per-lcore caches work.
 *
 * A frame's xp_pkt.handle is its struct rte_mbuf pointer, data is
 * rte_pktmbuf_mtod(); the mbuf returns to its pool when the PMD has sent it
 * or when the pipeline releases it.
 *
 * Poll mode has no file descriptor to sleep on: wait() sleeps for a short,
 * growing interval (50 us .. 500 us) while the ports stay idle, so several
 * proxies can share cores.
 */
#ifndef XP_DPDK_BACKEND_H
#define XP_DPDK_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

#include "src/backend/backend.h"

#define XP_DPDK_PORTS 2

struct xp_dpdk_cfg {
    unsigned n_eal_args;
    const char *const *eal_args;  /* without argv[0] */
    uint16_t port_id[XP_DPDK_PORTS]; /* [0] access, [1] core */
    unsigned n_queues;
    unsigned n_mbufs;             /* per port and queue */
    unsigned ring_size;           /* RX and TX descriptors per queue (the PMD may adjust) */
};

/* Link counters of one port (rte_eth_stats_get, rte_eth_link_get_nowait). */
struct xp_dpdk_link_stats {
    uint64_t ipackets;
    uint64_t opackets;
    uint64_t ibytes;
    uint64_t obytes;
    uint64_t imissed;    /* dropped by the NIC/PMD: RX ring full */
    uint64_t ierrors;
    uint64_t oerrors;
    uint64_t rx_nombuf;  /* RX mbuf allocation failures */
    bool link_up;
    uint32_t speed_mbps;
};

/* One port's side of one queue: our own counters, plus the PMD's per-queue ones. */
struct xp_dpdk_queue_stats {
    uint64_t rx_packets;
    uint64_t rx_bytes;
    uint64_t tx_packets;
    uint64_t tx_bytes;
    uint64_t rx_multiseg;    /* chained mbufs (larger than one buffer): dropped */
    uint64_t q_ipackets;     /* the PMD's per-queue counters (0 where it has none) */
    uint64_t q_opackets;
    uint64_t q_errors;
};

struct xp_dpdk_mbufs {
    uint64_t total;
    uint64_t free;     /* in the pools (and their caches) */
};

struct xp_dpdk;
struct xp_dpdk_queue;

/*
 * Initialise EAL with cfg's arguments (plus "--lcores 0@(the caller's
 * CPUs)" when none of -l/-c/--lcores is given, so EAL neither spawns
 * threads nor moves the caller), then configure and start both ports.
 * Once per process: EAL cannot start twice. Block the signals you handle
 * before this: EAL's threads inherit the mask. NULL with errno set
 * (EINVAL bad arguments or port ids, ENODEV no such port, ENOMEM, EALREADY).
 */
struct xp_dpdk *xp_dpdk__create(const struct xp_dpdk_cfg *cfg);
/* Stop both ports. After the workers stopped. Idempotent. */
void xp_dpdk__stop(struct xp_dpdk *d);
/* Stop, close the ports, free the pools, rte_eal_cleanup(). Accepts NULL and a half-built one. */
void xp_dpdk__destroy(struct xp_dpdk *d);

/* The worker's queue q (< n_queues). */
struct xp_dpdk_queue *xp_dpdk__queue(struct xp_dpdk *d, unsigned q);
/* NUMA socket of port p (0 access, 1 core); -1 if unknown. */
int xp_dpdk__socket(const struct xp_dpdk *d, unsigned p);
/* ethdev name of port p ("net_af_packet0", "0000:03:00.0"). */
const char *xp_dpdk__port_name(const struct xp_dpdk *d, unsigned p);
uint16_t xp_dpdk__port_id(const struct xp_dpdk *d, unsigned p);
/* Whether port p hashes RX on IP addresses over several queues. */
bool xp_dpdk__rss(const struct xp_dpdk *d, unsigned p);

/*
 * Counters of port p; queues[] gets n_queues entries. Any thread. 0 or -errno
 * (the PMD's counters; ours are always filled).
 */
int xp_dpdk__stats(const struct xp_dpdk *d, unsigned p, struct xp_dpdk_link_stats *link,
                   struct xp_dpdk_queue_stats *queues);
void xp_dpdk__mbufs(const struct xp_dpdk *d, struct xp_dpdk_mbufs *out);

/* Worker hooks (struct xp_worker's thread_enter/thread_leave): register as an lcore. */
int xp_dpdk_queue__thread_enter(void *queue);
void xp_dpdk_queue__thread_leave(void *queue);

/* The burst interface for the pipeline; the queue pointer is the context. Hot path. */
extern const struct xp_io_ops xp_dpdk_io_ops;

#endif /* XP_DPDK_BACKEND_H */
