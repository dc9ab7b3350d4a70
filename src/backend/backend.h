/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The burst interface between an I/O backend and the pipeline.
 *
 * The pipeline sees frames as struct xp_pkt and moves them with the
 * xp_io_ops of its queue. AF_XDP (xsk/) and DPDK implement the same table,
 * so the pipeline never knows which backend feeds it.
 *
 * Ownership: rx_burst hands frames to the caller; tx_burst takes back the
 * first N it returns and leaves the rest with the caller, who must tx them
 * later or release them. Every frame is either with the backend or with
 * exactly one caller: a frame that is neither sent nor released leaks.
 */
#ifndef XP_IO_H
#define XP_IO_H

#include <stdint.h>

/* Largest burst any backend is asked for. */
#define XP_BURST_MAX 64

struct xp_pkt {
    uint8_t *data;   /* first byte of the Ethernet header */
    uint32_t len;    /* frame length in bytes */
    uint32_t port;   /* port the frame arrived on */
    uint64_t handle; /* backend's reference: UMEM address or mbuf pointer */
};

struct xp_io_ops {
    const char *name;
    /* Receive up to n frames from port; returns the count. */
    unsigned (*rx_burst)(void *queue, unsigned port, struct xp_pkt *pkts, unsigned n);
    /* Queue up to n frames for transmission on port; returns how many were taken. */
    unsigned (*tx_burst)(void *queue, unsigned port, struct xp_pkt *pkts, unsigned n);
    /* Give n frames back to the backend without sending them. */
    void (*release)(void *queue, struct xp_pkt *pkts, unsigned n);
    /* Housekeeping once per loop: reap completions, refill receive, kick TX. */
    void (*service)(void *queue);
    /* Sleep until a port may have frames or timeout_ms passes: >0 ready, 0 timeout, <0 -errno. */
    int (*wait)(void *queue, int timeout_ms);
};

#endif /* XP_IO_H */
