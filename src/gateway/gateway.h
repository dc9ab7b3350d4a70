/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Gateway mode (docs/tunnel.md): the proxy end of the unit tunnel.
 *
 * Operator blocks of units are the pipeline's (xp_manual_blocks: XDP sees
 * only outer addresses); a blocked unit's datagrams are dropped after
 * authentication (drop_manual).
 *
 * Frames from the access port are tunnel datagrams (XDP hands the sockets
 * nothing else). For each one the worker authenticates and decapsulates
 * it, checks that the inner source is one the unit may use, polices the
 * inner packet as the pair (unit, inner destination) through the worker's
 * pipeline, and turns the frame in place into the inner packet behind a
 * fresh Ethernet header for the next hop on the core port. Keepalives are
 * answered in place on the access port with the proxy's load W.
 *
 * struct xp_gateway is shared: the unit set (keys, bindings, replay windows
 * with a lock each; replaced whole on reload), the load W and the next-hop
 * snapshot (both published by the control thread). struct xp_gw_queue is one worker's.
 */
#ifndef XP_GATEWAY_H
#define XP_GATEWAY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "src/parse/parse.h"
#include "src/gateway/nexthop.h"
#include "src/backend/backend.h"
#include "src/pipeline/pipeline.h"
#include "src/tunnel/tunnel.h"

/*
 * Gateway mode (docs/tunnel.md): units tunnel every packet to the proxy.
 * A unit is its id, its key and the inner source prefixes it may use; the
 * policer names it by the network address of its first prefix.
 */
#define XP_CONF_GW_UNITS_MAX 1024
#define XP_CONF_GW_SOURCES_MAX 4
#define XP_CONF_GW_KEY_MIN 16 /* bytes, as XP_TUNNEL_KEY_MIN */
#define XP_CONF_GW_KEY_MAX 64

#define XP_CONF_GW_KEYS_MAX 4 /* as XP_TUNNEL_KEYS_PER_UNIT: the old and the new, and spares */

struct xp_conf_gw_key {
    uint32_t id;      /* 0..255, in every datagram signed with it */
    uint32_t len;
    uint8_t key[XP_CONF_GW_KEY_MAX];
};

struct xp_conf_gw_unit {
    uint32_t id;
    unsigned n_keys;
    struct xp_conf_gw_key keys[XP_CONF_GW_KEYS_MAX];
    unsigned n_sources;
    struct xp_cidr sources[XP_CONF_GW_SOURCES_MAX];
};

struct xp_conf_gateway {
    unsigned tunnel_id;       /* this proxy in the tunnel header: datagrams name the proxy */
    unsigned tunnel_port;     /* UDP port of the tunnel endpoint */
    unsigned mac_fail_pps;    /* datagrams per second a source may send that fail the tag */
    unsigned capacity_pps;    /* W = 1000 x tunnel packets per second / capacity_pps */
    unsigned n_units;
    struct xp_conf_gw_unit units[XP_CONF_GW_UNITS_MAX];
};

/* What becomes of a frame. */
enum xp_gw_fate {
    XP_GW_FATE_DROP = 0,
    XP_GW_FATE_CORE,   /* rewritten to the inner packet: send on the core port */
    XP_GW_FATE_ACCESS, /* rewritten to a control answer: send back on the access port */
};

/* Append-only: names in xp_gw_counter_name(). */
enum xp_gw_counter {
    XP_GW_C_RX = 0,          /* frames from the access port */
    XP_GW_C_DATA,            /* authentic DATA datagrams */
    XP_GW_C_KEEPALIVE,       /* authentic keepalives, answered */
    XP_GW_C_OVERLOAD_SENT,   /* of those answers, OVERLOAD (W at or over 1000) */
    XP_GW_C_FORWARD,         /* inner packets sent towards the core */
    XP_GW_C_DROP_OUTER,      /* not a whole unfragmented UDP datagram to the tunnel port */
    XP_GW_C_DROP_TUNNEL,     /* refused by decapsulation: see the reasons */
    XP_GW_C_DROP_SPOOFED,    /* inner source outside the unit's prefixes */
    XP_GW_C_DROP_POLICY,     /* dropped by the pipeline (policer verdict, malformed inner) */
    XP_GW_C_DROP_NO_ROUTE,   /* no route through the core port */
    XP_GW_C_DROP_NO_NEIGH,   /* next hop not resolved yet (resolution requested) */
    XP_GW_C_DROP_REPLY,      /* a keepalive answer did not fit the frame */
    XP_GW_C_DROP_MANUAL,     /* the operator blocked the unit (towards this destination) */
    XP_GW_C_DROP_BAD_DST,    /* inner destination a router never forwards (multicast, link-local..) */
    XP_GW_C_DROP_TTL,        /* inner TTL / hop limit would reach 0 */
    XP_GW_C_DROP_MAC_LIMITED, /* its source failed the tag too often: dropped before MAC work */
    XP_GW_C_MAX,
};

struct xp_gw_stats {
    uint64_t c[XP_GW_C_MAX];
    uint64_t tunnel[XP_TUNNEL_STATUS_MAX]; /* decapsulation refusals by reason */
};

struct xp_gateway;
struct xp_gw_queue;

/*
 * From gc: the key table and the units' bindings, the tunnel id and a
 * fresh random epoch (DATA for any other epoch is refused: nothing captured
 * before this run replays into it). The control sequence numbers start at
 * CLOCK_REALTIME in ns, so they keep growing across restarts (the units'
 * windows demand it). NULL with errno and err.
 */
struct xp_gateway *xp_gateway__create(const struct xp_conf_gateway *gc, char *err,
                                      size_t errlen);
/* After every queue is destroyed. Wipes the keys. */
void xp_gateway__destroy(struct xp_gateway *gw);

/*
 * Control thread, on reload: replace the units with gc->units. Units
 * that stay keep their replay state; removed ones are unknown from the
 * next datagram on. Blocks until no worker reads the old set. 0, or
 * -errno with err filled (the old set stays).
 */
int xp_gateway__set_units(struct xp_gateway *gw, const struct xp_conf_gateway *gc, char *err,
                          size_t errlen);

/* Control thread: the policing name of the unit that may send from addr. 0 or -ENOENT. */
int xp_gateway__unit_name(const struct xp_gateway *gw, const uint8_t addr[16], uint8_t name[16]);

/* Control thread: the load W that answers carry, in 1/1000 of capacity_pps. */
void xp_gateway__set_load(struct xp_gateway *gw, uint32_t w_permille);
uint32_t xp_gateway__load(const struct xp_gateway *gw);
unsigned xp_gateway__units(const struct xp_gateway *gw);
/* This run's tunnel address (id and epoch): what units must name. */
struct xp_tunnel_addr xp_gateway__self(const struct xp_gateway *gw);

/*
 * Control thread: publish a next-hop snapshot (ownership passes to the
 * gateway), wait until no worker can still read the previous one, free it.
 */
void xp_gateway__publish(struct xp_gateway *gw, struct xp_nexthops *nh);
/* Control thread: the snapshot in use (NULL before the first publish). */
const struct xp_nexthops *xp_gateway__nexthops(const struct xp_gateway *gw);

/*
 * One worker's side, policing through pl, on the worker's backend queue
 * (io, ioq): its room() bounds how far an answer may grow in place. At
 * most XP_MAX_QUEUES queues. NULL with errno.
 */
struct xp_gw_queue *xp_gw_queue__create(struct xp_gateway *gw, struct xp_pipeline *pl,
                                        const struct xp_io_ops *io, void *ioq);
void xp_gw_queue__destroy(struct xp_gw_queue *q);

/*
 * Hot path, on the worker: n frames from the access port. fate[i] says
 * what to do with frame i; frames for CORE and ACCESS have been rewritten
 * (data and len moved within their buffer; handle stays the backend's).
 */
void xp_gw_queue__process(struct xp_gw_queue *q, struct xp_pkt *pkts, unsigned n, uint8_t *fate,
                          uint64_t now_rt, uint64_t now_mono);

/* Control thread: next hops the worker found unresolved since the last call. */
unsigned xp_gw_queue__drain_misses(struct xp_gw_queue *q, uint8_t (*out)[16], unsigned max);
/* Any thread. */
void xp_gw_queue__stats(const struct xp_gw_queue *q, struct xp_gw_stats *out);
const char *xp_gw_counter_name(enum xp_gw_counter c);

/*
 * Control thread, about every 100 ms: reload the core port's next hops
 * from the kernel each second (sooner after a resolution was requested),
 * ask the kernel to resolve what the workers missed, and update W from
 * the tunnel packet rate against capacity_pps. now_mono in ns.
 */
void xp_gateway__housekeeping(struct xp_gateway *gw, int core_ifindex, unsigned capacity_pps,
                              uint64_t now_mono);

/* The "gateway" section of the stats document. */
json_t *xp_gateway__stats_json(const struct xp_gateway *gw);

#endif /* XP_GATEWAY_H */
