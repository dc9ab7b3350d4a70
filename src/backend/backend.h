/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Everything the proxy asks of an I/O backend: its ports, a queue of
 * frames per worker (bursts), where blocked pairs are dropped, operator
 * blocks, and the counters of the stats document. Two implementations:
 * AF_XDP (backend/afxdp.c, on xsk/) and DPDK (backend/dpdk.c). The choice
 * is made once, by whoever calls xp_backend__create(); nothing above this
 * header tests which backend runs.
 *
 * The burst interface: the pipeline sees frames as struct xp_pkt and moves
 * them with the xp_io_ops of its queue. Ownership: rx_burst hands frames
 * to the caller; tx_burst takes back the first N it returns and leaves the
 * rest with the caller, who must tx them later or release them. Every
 * frame is either with the backend or with exactly one caller: a frame
 * that is neither sent nor released leaks.
 */
#ifndef XP_BACKEND_H
#define XP_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "kern/xp_shared.h"
#include "src/parse/parse.h"

/* The proxy's two ports, by role. */
enum xp_port_role {
    XP_PORT_ACCESS = 0, /* towards the units: policed */
    XP_PORT_CORE = 1,   /* towards the network */
};

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
    /*
     * Queue up to n frames for transmission on port; returns how many were
     * taken. What is sent is data[0..len): a caller may move a frame within
     * its buffer (gateway mode rewrites in place) as long as it stays in
     * the room rx_burst gave it (room()). handle is the backend's and is
     * never changed by a caller.
     */
    unsigned (*tx_burst)(void *queue, unsigned port, struct xp_pkt *pkts, unsigned n);
    /* Give n frames back to the backend without sending them. */
    void (*release)(void *queue, struct xp_pkt *pkts, unsigned n);
    /* Housekeeping once per loop: reap completions, refill receive, kick TX. */
    void (*service)(void *queue);
    /* Sleep until a port may have frames or timeout_ms passes: >0 ready, 0 timeout, <0 -errno. */
    int (*wait)(void *queue, int timeout_ms);
    /* Bytes of the frame's buffer from pkt->data to its end: how far a frame may grow. */
    uint32_t (*room)(void *queue, const struct xp_pkt *pkt);
};

/*
 * Where pairs the policer blocked are dropped before a worker sees them
 * again: the XDP block map (AF_XDP). A backend without one (DPDK) has no
 * block ops, and the pipeline drops blocked pairs itself right after
 * parsing (early mode). unit and dst are the policer's 16-byte names.
 *
 * One ctx per worker (xp_backend__blocks), used by that worker only: no
 * lock, and no worker waits on another's blocks. block and unblock queue
 * (no system call on the packet path); flush writes the queue, batched,
 * between bursts; read costs no system call.
 */
#define XP_BLOCK_HANDLE_NONE UINT32_MAX

struct xp_block_ops {
    /*
     * Block until expires_ns (CLOCK_MONOTONIC), or extend. *handle is
     * XP_BLOCK_HANDLE_NONE for a pair not in the map (it then gets one,
     * its count from zero), else the pair's handle. 0 or -errno.
     */
    int (*block)(void *ctx, const uint8_t unit[16], const uint8_t dst[16], uint64_t expires_ns,
                 uint32_t *handle);
    /* Take the pair out (at the next flush); the handle is given up. */
    void (*unblock)(void *ctx, uint32_t handle);
    /* Packets dropped for the pair since it got the handle. */
    uint64_t (*read)(void *ctx, uint32_t handle);
    /* Write what block and unblock queued; a block refused is reported through failed(). */
    void (*flush)(void *ctx,
                  void (*failed)(void *arg, const uint8_t unit[16], const uint8_t dst[16], int err),
                  void *arg);
};

/* What one worker runs on. */
struct xp_backend_queue {
    const struct xp_io_ops *io;
    void *queue;
    /*
     * Optional: run on the worker's own thread before its first burst and
     * after its last (DPDK registers the thread as an lcore there).
     */
    int (*thread_enter)(void *queue);
    void (*thread_leave)(void *queue);
};

/* One port's side of one queue: what every backend counts. */
struct xp_backend_qstats {
    uint64_t rx_packets;
    uint64_t rx_bytes;
    uint64_t tx_packets;
    uint64_t tx_bytes;
    uint64_t rx_dropped;   /* received by the backend and dropped before a worker saw them */
};

enum xp_backend_kind {
    XP_BACKEND_KIND_AF_XDP = 0,
    XP_BACKEND_KIND_DPDK,
};

/* What the backend needs to know, filled by the proxy from its configuration. */
struct xp_backend_conf {
    enum xp_backend_kind kind;
    char proxy_id[64];
    unsigned n_queues;
    char port_name[XP_MAX_PORTS][16];
    unsigned ring_size;
    /* AF_XDP */
    unsigned frames_per_queue;
    int zero_copy;                    /* enum xp_zc_mode (xsk/port.h) */
    bool xdp_skb[XP_MAX_PORTS];       /* generic XDP on this port */
    bool busy_poll[XP_MAX_PORTS];
    bool fail_closed;
    bool channels_set;                /* give the ports n_queues RX queues (else refuse others) */
    bool gateway;                     /* XDP hands only tunnel datagrams to the sockets */
    uint16_t tunnel_port;
    bool non_ip_pass;
    unsigned v6_unit_prefix;
    unsigned n_mgmt;
    const struct xp_cidr *mgmt;       /* management prefixes (passed to the kernel) */
    /* DPDK */
    unsigned n_eal_args;
    const char *const *eal_args;
    uint16_t port_id[XP_MAX_PORTS];
    unsigned mbufs_per_queue;
};

struct xp_backend;

/* Why xp_backend__create() failed, for the caller's exit code. */
enum xp_backend_fail {
    XP_BACKEND_FAIL_NONE = 0,
    XP_BACKEND_FAIL_CONFIG,  /* the ports refuse the configuration (their queues) */
    XP_BACKEND_FAIL_BPFFS,   /* no BPF file system */
    XP_BACKEND_FAIL_LOAD,    /* loading or attaching the XDP program; errno says more */
    XP_BACKEND_FAIL_PORTS,   /* the ports themselves (DPDK: EAL, devices); errno says more */
};

/*
 * Set up the backend's ports (AF_XDP: check or set the ports' channels,
 * load and attach the XDP program, RSS on addresses; DPDK: EAL and the
 * ethdev ports). NULL with errno, and the reason logged; nothing is left
 * behind on the ports.
 */
struct xp_backend *xp_backend__create(const struct xp_backend_conf *conf,
                                      enum xp_backend_fail *why);
/*
 * Undo on the ports what create did: detach the XDP program (unless
 * keep_program: fail-closed leaves it to drop), remove its pins, give the
 * ports their channels back. Needs the privileges create had; uses only
 * names and numbers, none of the backend's files, so a monitor whose files
 * are closed can run it (src/proxy/monitor.h). After the workers stopped.
 */
void xp_backend__undo_setup(struct xp_backend *be, bool keep_program);
/* Close the backend's files and free it; the ports stay as they are. Accepts NULL. */
void xp_backend__destroy(struct xp_backend *be);
const char *xp_backend__name(const struct xp_backend *be);

/*
 * Open worker q's queue on every port, its memory on numa_node (-1: any).
 * 0 or -errno (logged).
 */
int xp_backend__open_queue(struct xp_backend *be, unsigned q, int numa_node,
                           struct xp_backend_queue *out);
/* After the workers stopped: wait (bounded) for frames in flight, then free the queues. */
void xp_backend__close_queues(struct xp_backend *be);
/* Stop the ports (their counters stay readable). After the workers stopped. */
void xp_backend__stop(struct xp_backend *be);

/* The NUMA node of the ports (-1 unknown), the kernel's ifindex of port p (0: none). */
int xp_backend__numa_node(const struct xp_backend *be);
int xp_backend__ifindex(const struct xp_backend *be, unsigned port);

/* The block map of the kernel fast path, or NULL (early mode). Worker q's ctx for its calls. */
const struct xp_block_ops *xp_backend__blocks(struct xp_backend *be, unsigned q, void **ctx);

/*
 * Operator blocks the backend drops itself (AF_XDP: an XDP map): the unit
 * towards dst, or every destination when dst is NULL, until expires_ns
 * (CLOCK_MONOTONIC; 0 = until unblocked). -EOPNOTSUPP: the backend has
 * none, the pipeline keeps them. 0 or -errno (-ENOENT on unblock).
 */
int xp_backend__manual_block(struct xp_backend *be, const uint8_t unit[16], const uint8_t *dst,
                             uint64_t expires_ns);
int xp_backend__manual_unblock(struct xp_backend *be, const uint8_t unit[16],
                               const uint8_t *dst);

/* Counters for the stats document; any thread. */
void xp_backend__queue_stats(const struct xp_backend *be, unsigned port, unsigned q,
                             struct xp_backend_qstats *out);
/* The backend's own fields of a port's object, of a queue's, and the frames object. */
json_t *xp_backend__port_json(const struct xp_backend *be, unsigned port);
json_t *xp_backend__queue_json(const struct xp_backend *be, unsigned port, unsigned q);
json_t *xp_backend__frames_json(const struct xp_backend *be);

#endif /* XP_BACKEND_H */
