/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * AF_XDP queues on libxdp.
 *
 * One struct xp_xsk_queue serves one queue index on every port of the
 * proxy: one UMEM, shared by one socket per port, so a frame received on
 * one port is transmitted out of another without a copy. Each socket has
 * its own fill and completion rings (required for a UMEM shared across
 * devices). The queue is owned by exactly one worker thread; nothing here
 * locks.
 *
 * Every UMEM frame is always in exactly one place: the free stack, a fill
 * ring (or the kernel's RX path), the caller's hands, a TX ring (or the
 * kernel's TX path). The counters in struct xp_xsk_frames prove it.
 */
#ifndef XP_XSK_PORT_H
#define XP_XSK_PORT_H

#include <stdbool.h>
#include <stdint.h>

#include "kern/xp_shared.h"
#include "src/backend/backend.h"

enum xp_zc_mode {
    XP_ZC_AUTO = 0, /* try zero-copy, fall back to copy */
    XP_ZC_ON,       /* zero-copy or fail */
    XP_ZC_OFF,      /* copy mode */
};

/* UMEM frame size of the proxy: one MTU-sized frame per 2 KiB chunk. */
#define XP_XSK_FRAME_SIZE 2048

struct xp_xsk_cfg {
    unsigned n_ports;
    char ifname[XP_MAX_PORTS][16];
    unsigned queue_id;
    unsigned n_frames;   /* UMEM frames shared by all ports of the queue */
    unsigned frame_size; /* power of two, >= 2048; the proxy uses XP_XSK_FRAME_SIZE */
    unsigned ring_size;  /* each RX/TX/fill/completion ring */
    enum xp_zc_mode zc;
    bool skb_mode;       /* XDP attached in generic mode on some port: copy only */
    bool busy_poll[XP_MAX_PORTS];
    int numa_node;       /* -1: no preference */
    int xskmap_fd;
    unsigned xskmap_key[XP_MAX_PORTS];
};

/* Per port and queue; written only by the owning worker. */
struct xp_xsk_port_stats {
    uint64_t rx_packets;
    uint64_t rx_bytes;
    uint64_t tx_packets;
    uint64_t tx_bytes;
    uint64_t tx_ring_full;   /* frames the TX ring could not take */
    uint64_t tx_kicks;       /* sendto() wakeups */
    uint64_t tx_kick_errors; /* sendto() failures other than EAGAIN/EBUSY/ENOBUFS */
    uint64_t fill_short;     /* refills that found the free stack empty */
};

/* The kernel's XDP_STATISTICS for one socket. */
struct xp_xsk_kstats {
    uint64_t rx_dropped;
    uint64_t rx_invalid_descs;
    uint64_t tx_invalid_descs;
    uint64_t rx_ring_full;
    uint64_t rx_fill_ring_empty_descs;
    uint64_t tx_ring_empty_descs;
};

struct xp_xsk_frames {
    uint64_t total;
    uint64_t free;
    uint64_t in_fill; /* submitted to fill rings, not yet received */
    uint64_t in_tx;   /* submitted to TX rings, not yet completed */
    uint64_t held;    /* received and not yet sent or released */
};

struct xp_xsk_queue;

/* NULL with errno set: ENODEV no such interface, EBUSY queue taken, EPERM, ENOMEM... */
struct xp_xsk_queue *xp_xsk_queue__create(const struct xp_xsk_cfg *cfg);
/*
 * Kick and reap until every transmitted frame has completed, at most
 * timeout_ms. Only from the owning thread, or after it stopped. 0 or -ETIMEDOUT.
 */
int xp_xsk_queue__drain(struct xp_xsk_queue *q, int timeout_ms);
/* Accepts a half-built queue and NULL. Drains (bounded) first. */
void xp_xsk_queue__destroy(struct xp_xsk_queue *q);

unsigned xp_xsk_queue__rx_burst(struct xp_xsk_queue *q, unsigned port,
                                struct xp_pkt *pkts, unsigned n);
unsigned xp_xsk_queue__tx_burst(struct xp_xsk_queue *q, unsigned port,
                                struct xp_pkt *pkts, unsigned n);
void xp_xsk_queue__release(struct xp_xsk_queue *q, struct xp_pkt *pkts, unsigned n);
void xp_xsk_queue__service(struct xp_xsk_queue *q);
int xp_xsk_queue__wait(struct xp_xsk_queue *q, int timeout_ms);

/* Whether the sockets run in zero-copy mode. */
bool xp_xsk_queue__zero_copy(const struct xp_xsk_queue *q);
/* Snapshot of the worker's counters; safe from another thread. */
void xp_xsk_queue__port_stats(const struct xp_xsk_queue *q, unsigned port,
                              struct xp_xsk_port_stats *out);
void xp_xsk_queue__frames(const struct xp_xsk_queue *q, struct xp_xsk_frames *out);
/* getsockopt(XDP_STATISTICS); 0 or -errno. Safe from another thread. */
int xp_xsk_queue__kstats(const struct xp_xsk_queue *q, unsigned port, struct xp_xsk_kstats *out);

/* The burst interface for the pipeline; the queue pointer is the context. */
extern const struct xp_io_ops xp_xsk_io_ops;

#endif /* XP_XSK_PORT_H */
