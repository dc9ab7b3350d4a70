// SPDX-License-Identifier: GPL-2.0-only
/*
 * The control thread's side of gateway mode: next hops from the kernel,
 * neighbour resolution for what the workers missed, the load W, stats.
 */
#include "src/gateway/gateway.h"
#include "src/gateway/gateway_internal.h"

#include <errno.h>
#include <string.h>

#include "src/util/clock.h"
#include "src/util/log.h"

/*
 * How often the next hops are read again; after a resolution request, how
 * often and for how long (the kernel answers within milliseconds when the
 * neighbour is there, and retries for about a second when it is not).
 */
#define XP_GW_REFRESH_NS XP_NSEC_PER_SEC
#define XP_GW_REFRESH_SOON_NS 50000000ULL
#define XP_GW_RESOLVING_NS XP_NSEC_PER_SEC
/* Neighbour resolutions asked of the kernel per second, at most. */
#define XP_GW_SOLICITS_PER_S 64

/* Sum of every queue's counters. */
static void stats_sum(const struct xp_gateway *gw, struct xp_gw_stats *sum)
{
    memset(sum, 0, sizeof(*sum));
    for (unsigned i = 0; i < gw->n_queues; i++) {
        struct xp_gw_stats s;

        xp_gw_queue__stats(gw->queues[i], &s);
        for (int k = 0; k < XP_GW_C_MAX; k++)
            sum->c[k] += s.c[k];
        for (int k = 0; k < XP_TUNNEL_STATUS_MAX; k++)
            sum->tunnel[k] += s.tunnel[k];
    }
}

/*
 * Ask the kernel to resolve addr. Units choose the destinations, so they
 * choose what gets resolved: a budget keeps a unit scanning the core
 * network from filling the kernel's neighbour table. true if asked.
 */
static bool solicit(struct xp_gateway *gw, int core_ifindex, const uint8_t addr[16],
                    uint64_t now_mono)
{
    int ret;

    if (now_mono - gw->solicit_window >= XP_NSEC_PER_SEC) {
        gw->solicit_window = now_mono;
        gw->solicits_in_window = 0;
    }
    if (gw->solicits_in_window >= XP_GW_SOLICITS_PER_S) {
        gw->solicits_skipped++;
        return false;
    }
    gw->solicits_in_window++;
    gw->solicits++;
    ret = xp_nexthops__solicit(core_ifindex, addr);
    if (ret) {
        gw->solicit_errors++;
        pr_debug("gateway: neighbour resolution request: %s", strerror(-ret));
    }
    return true;
}

void xp_gateway__housekeeping(struct xp_gateway *gw, int core_ifindex, unsigned capacity_pps,
                              uint64_t now_mono)
{
    struct xp_gw_stats sum;
    bool solicited = false;

    for (unsigned i = 0; i < gw->n_queues; i++) {
        uint8_t miss[16][16];
        unsigned n = xp_gw_queue__drain_misses(gw->queues[i], miss, 16);

        for (unsigned k = 0; k < n; k++)
            solicited |= solicit(gw, core_ifindex, miss[k], now_mono);
    }
    if (solicited)
        gw->resolving_until = now_mono + XP_GW_RESOLVING_NS;
    if (now_mono < gw->resolving_until && gw->last_refresh + XP_GW_REFRESH_SOON_NS < gw->next_refresh)
        gw->next_refresh = gw->last_refresh + XP_GW_REFRESH_SOON_NS;
    if (now_mono >= gw->next_refresh) {
        char err[160];
        struct xp_nexthops *nh = xp_nexthops__load(core_ifindex, err, sizeof(err));

        gw->last_refresh = now_mono;
        gw->next_refresh = now_mono + XP_GW_REFRESH_NS;
        if (nh) {
            uint8_t gws[8][16];
            unsigned n = xp_nexthops__unresolved_gateways(nh, gws, 8);

            /* Routers are next hops for most traffic: resolve them before it comes. */
            for (unsigned k = 0; k < n; k++)
                solicit(gw, core_ifindex, gws[k], now_mono);
            xp_gateway__publish(gw, nh);
            gw->refreshes++;
        } else {
            /* Keep the last good snapshot: routes rarely vanish all at once. */
            gw->refresh_errors++;
            pr_warn("gateway: next hops of ifindex %d: %s", core_ifindex, err);
        }
    }
    stats_sum(gw, &sum);
    if (gw->load_t == 0) {
        gw->load_t = now_mono;
        gw->load_rx = sum.c[XP_GW_C_DATA] + sum.c[XP_GW_C_KEEPALIVE] + sum.c[XP_GW_C_OVERLOAD_SENT];
    } else if (now_mono - gw->load_t >= XP_NSEC_PER_SEC / 2) {
        double pps = (double)(sum.c[XP_GW_C_DATA] + sum.c[XP_GW_C_KEEPALIVE] +
                              sum.c[XP_GW_C_OVERLOAD_SENT] - gw->load_rx) * XP_NSEC_PER_SEC /
                     (double)(now_mono - gw->load_t);
        double w = capacity_pps ? 1000.0 * pps / capacity_pps : 0;

        xp_gateway__set_load(gw, w > 1e6 ? 1000000 : (uint32_t)w);
        gw->load_t = now_mono;
        gw->load_rx = sum.c[XP_GW_C_DATA] + sum.c[XP_GW_C_KEEPALIVE] + sum.c[XP_GW_C_OVERLOAD_SENT];
    }
}

json_t *xp_gateway__stats_json(const struct xp_gateway *gw)
{
    const struct xp_nexthops *nh = xp_gateway__nexthops(gw);
    json_t *o = json_object(), *tun = json_object();
    struct xp_gw_stats sum;

    stats_sum(gw, &sum);
    for (int k = 0; k < XP_GW_C_MAX; k++)
        json_object_set_new(o, xp_gw_counter_name(k), json_integer((json_int_t)sum.c[k]));
    for (int k = 1; k < XP_TUNNEL_STATUS_MAX; k++)
        json_object_set_new(tun, xp_tunnel_status_name(k), json_integer((json_int_t)sum.tunnel[k]));
    json_object_set_new(o, "tunnel_drops", tun);
    json_object_set_new(o, "units", json_integer(xp_gateway__units(gw)));
    json_object_set_new(o, "tunnel_id", json_integer(xp_gateway__self(gw).proxy_id));
    json_object_set_new(o, "w_permille", json_integer(xp_gateway__load(gw)));
    json_object_set_new(o, "routes", json_integer(nh ? xp_nexthops__routes(nh) : 0));
    json_object_set_new(o, "neighbours", json_integer(nh ? xp_nexthops__neighbours(nh) : 0));
    json_object_set_new(o, "nexthop_refreshes", json_integer((json_int_t)gw->refreshes));
    json_object_set_new(o, "nexthop_errors", json_integer((json_int_t)gw->refresh_errors));
    json_object_set_new(o, "solicits", json_integer((json_int_t)gw->solicits));
    json_object_set_new(o, "solicit_errors", json_integer((json_int_t)gw->solicit_errors));
    json_object_set_new(o, "solicits_skipped", json_integer((json_int_t)gw->solicits_skipped));
    return o;
}
