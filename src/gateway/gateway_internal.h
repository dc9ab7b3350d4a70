/* SPDX-License-Identifier: GPL-2.0-only */
/* Gateway mode's shared state, for gateway.c (workers) and control.c (control thread). */
#ifndef XP_GATEWAY_INTERNAL_H
#define XP_GATEWAY_INTERNAL_H

#include <stdatomic.h>

#include "src/gateway/gateway.h"
#include "src/util/qsbr.h"
#include "src/util/spsc.h"

/* Unresolved next hops a worker remembers between two drains. */
#define XP_GW_MISSES 16
/* Sources whose tag failures a worker tracks (direct-mapped, a power of two). */
#define XP_GW_MACFAIL_SLOTS 1024

/*
 * One source's tag failures as a GCRA: tat is the theoretical arrival time
 * of its next failure; the source is limited while tat runs more than a
 * burst ahead of now.
 */
struct gw_macfail_slot {
    uint8_t addr[16];
    uint64_t tat;
};

/* A unit, at the index of its first key (n_sources 0 at the others). */
struct gw_unit {
    uint8_t name[16]; /* the policer's unit key: network address of the first source */
    unsigned n_sources;
    struct xp_cidr sources[XP_CONF_GW_SOURCES_MAX];
};

/* The units as configured: immutable once published, replaced whole on reload. */
struct gw_unitset {
    struct xp_tunnel_keys keys;
    struct xp_tunnel_key *key_storage;
    struct xp_tunnel_replay replay;     /* shared by the workers, a lock per window */
    struct xp_tunnel_window *windows;
    struct gw_unit *units;              /* parallel to keys.keys */
    unsigned n_units;
};

struct xp_gateway {
    _Atomic(struct gw_unitset *) set;
    uint16_t tunnel_port;
    struct xp_tunnel_addr self;  /* tunnel id and this run's random epoch */
    uint64_t macfail_seed;       /* random: which sources share a limiter slot is unguessable */
    uint64_t macfail_interval;   /* ns per tolerated tag failure (1 s / mac_fail_pps) */
    uint64_t macfail_burst;      /* ns of failures a source may run ahead (one second's worth) */
    _Atomic uint32_t w_permille;
    _Atomic uint64_t ctl_seq;
    _Atomic(struct xp_nexthops *) nh;
    /* The workers, as readers of set, blocks and nh: a replaced one is freed after them. */
    struct xp_qsbr *readers;
    struct xp_gw_queue *queues[XP_MAX_QUEUES];
    unsigned n_queues;
    /* Control thread only (control.c). */
    uint64_t next_refresh;       /* CLOCK_MONOTONIC ns of the next next-hop reload */
    uint64_t last_refresh;
    uint64_t resolving_until;    /* reload often until then: a resolution was requested */
    uint64_t refreshes, refresh_errors, solicits, solicit_errors, solicits_skipped;
    uint64_t solicit_window;     /* start of the current second of the solicit budget */
    unsigned solicits_in_window;
    uint64_t load_t, load_rx;    /* last W sample: time and tunnel frames so far */
};

struct xp_gw_queue {
    struct xp_gateway *gw;
    struct xp_pipeline *pl;
    const struct xp_io_ops *io; /* the worker's backend queue: room() for in-place answers */
    void *ioq;
    /* Online in gw->readers while xp_gw_queue__process() holds set and nh. */
    struct xp_qsbr_reader *rd;
    /* Unresolved next hops: pushed by the worker, drained by the control thread. */
    struct xp_spsc misses;
    uint8_t miss_slots[XP_GW_MISSES][16];
    uint8_t last_miss[16];
    uint64_t last_miss_ns;
    struct gw_macfail_slot macfail[XP_GW_MACFAIL_SLOTS];
    struct xp_gw_stats st __attribute__((aligned(64)));
};

/* gateway.c: wait until no worker can hold an object it read before the last exchange (QSBR). */
void xp_gw__wait_for_readers(struct xp_gateway *gw);
#endif /* XP_GATEWAY_INTERNAL_H */
