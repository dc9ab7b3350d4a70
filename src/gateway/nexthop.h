/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Next hops of gateway mode: where an inner packet leaves the core port.
 *
 * A struct xp_nexthops is an immutable snapshot of the kernel's routing
 * table (the main table; routes that do not leave through the core port
 * kept as "no route", so they shadow shorter ones as in the kernel) and its
 * neighbour table (resolved entries on that port), plus the port's own
 * MAC. The control thread loads a fresh one about every second and
 * publishes it; workers only read snapshots, so the hot path takes no lock
 * and makes no system call. Addresses are 16 bytes, IPv4 mapped into
 * ::ffff:0:0/96 as everywhere in xpro, so one longest-prefix match serves
 * both families.
 *
 * When the neighbour of a next hop is not known, the lookup says so and
 * the control thread asks the kernel to resolve it (xp_nexthops__solicit):
 * the next snapshot has it.
 */
#ifndef XP_NEXTHOP_H
#define XP_NEXTHOP_H

#include <stddef.h>
#include <stdint.h>

#include "src/parse/parse.h"

/* Bounds of one snapshot: an edge box has a handful of routes on its core port. */
#define XP_NEXTHOP_ROUTES_MAX 1024
#define XP_NEXTHOP_NEIGH_MAX 16384

struct xp_route {
    struct xp_cidr dst;     /* destination prefix (0.0.0.0/0, ::/0 for defaults); family 4 or 6 */
    uint8_t gateway[16];    /* next hop; all zero: on link (the destination itself) */
    uint8_t has_gateway;
    /*
     * 0: the kernel would not send this through the core port (blackhole,
     * unreachable, prohibit, another interface): a match is "no route",
     * as it must shadow shorter routes that do go through the core port.
     */
    uint8_t via_port;
    uint32_t priority;      /* metric: the lower wins among equal prefixes */
};

struct xp_neigh {
    uint8_t addr[16];
    uint8_t mac[6];
};

struct xp_nexthops;

/*
 * Read the kernel's tables for the interface ifindex. NULL with errno, and a
 * message in err. Counts beyond the bounds are truncated (counted in
 * xp_nexthops__truncated()), never an error.
 */
struct xp_nexthops *xp_nexthops__load(int ifindex, char *err, size_t errlen);
/* A snapshot from given tables (tests, or configured next hops). NULL with errno. */
struct xp_nexthops *xp_nexthops__build(const uint8_t own_mac[6], const struct xp_route *routes,
                                       unsigned n_routes, const struct xp_neigh *neigh,
                                       unsigned n_neigh);
void xp_nexthops__free(struct xp_nexthops *nh);

/*
 * Hot path: the Ethernet addresses for a packet to dst. 0 with dst_mac and
 * src_mac filled; -ENETUNREACH: no route; -EHOSTUNREACH: the next hop
 * (in next_hop) has no resolved neighbour.
 */
int xp_nexthops__lookup(const struct xp_nexthops *nh, const uint8_t dst[16], uint8_t dst_mac[6],
                        uint8_t src_mac[6], uint8_t next_hop[16]);

/*
 * Gateways of routes through the port that have no resolved neighbour, at
 * most max (distinct): resolving them ahead of traffic spares the first
 * packets towards the Internet, which all go through such a gateway.
 */
unsigned xp_nexthops__unresolved_gateways(const struct xp_nexthops *nh, uint8_t (*out)[16],
                                          unsigned max);

unsigned xp_nexthops__routes(const struct xp_nexthops *nh);
unsigned xp_nexthops__neighbours(const struct xp_nexthops *nh);
unsigned xp_nexthops__truncated(const struct xp_nexthops *nh);

/* Ask the kernel to resolve addr on ifindex (neighbour entry with NTF_USE). 0 or -errno. */
int xp_nexthops__solicit(int ifindex, const uint8_t addr[16]);

#endif /* XP_NEXTHOP_H */
