// SPDX-License-Identifier: GPL-2.0-only
/*
 * The stats document (docs/stats.md): one writer for both backends. The
 * shape of a port and of a queue is written here; what only one backend
 * has (XDP counters, PMD counters, UMEM or mbuf accounting) comes from the
 * backend as objects merged in.
 */
#include <stdio.h>
#include <syslog.h>
#include <time.h>

#include "src/ctl/ctl.h"
#include "src/gateway/gateway.h"
#include "src/parse/parse.h"
#include "src/pipeline/pipeline.h"
#include "src/prom/prom.h"
#include "src/proxy/proxy.h"
#include "src/proxy/sync_thread.h"
#include "src/util/clock.h"

/* The ports: per queue what every backend counts and the worker's drops, then the backend's own. */
static json_t *ports_json(struct proxy *px, uint64_t *rx, uint64_t *tx, uint64_t *drops,
                          uint64_t *rx_bytes, uint64_t *tx_bytes)
{
    static const char *const roles[XP_MAX_PORTS] = { "access", "core" };
    json_t *ports = json_array();

    for (unsigned p = 0; p < XP_MAX_PORTS; p++) {
        json_t *port = json_pack("{s:s,s:s}", "name", px->cfg->port_name[p], "role", roles[p]);
        json_t *queues = json_array();

        for (unsigned q = 0; q < px->cfg->queues; q++) {
            struct xp_backend_qstats bs;
            struct xp_worker_stats ws;
            json_t *queue;

            xp_backend__queue_stats(px->be, p, q, &bs);
            xp_worker__stats(&px->workers[q], &ws);
            *rx += bs.rx_packets;
            *tx += bs.tx_packets;
            *rx_bytes += bs.rx_bytes;
            *tx_bytes += bs.tx_bytes;
            *drops += ws.drop_tx_full[p] + ws.drop_policy[p];
            queue = json_pack("{s:i,s:I,s:I,s:I,s:I,s:I,s:I}", "queue", (int)q,
                              "rx_packets", (json_int_t)bs.rx_packets,
                              "rx_bytes", (json_int_t)bs.rx_bytes,
                              "tx_packets", (json_int_t)bs.tx_packets,
                              "tx_bytes", (json_int_t)bs.tx_bytes,
                              "drop_tx_ring_full", (json_int_t)ws.drop_tx_full[p],
                              "drop_policy", (json_int_t)ws.drop_policy[p]);
            json_object_update_new(queue, xp_backend__queue_json(px->be, p, q));
            json_array_append_new(queues, queue);
        }
        json_object_update_new(port, xp_backend__port_json(px->be, p));
        json_object_set_new(port, "queues", queues);
        json_array_append_new(ports, port);
    }
    return ports;
}

/* Where each worker's time goes (the idle policy's cost): cumulative ns. */
static json_t *workers_json(struct proxy *px)
{
    json_t *workers = json_array();

    for (unsigned q = 0; q < px->cfg->queues; q++) {
        struct xp_worker_stats ws;

        xp_worker__stats(&px->workers[q], &ws);
        json_array_append_new(workers,
                              json_pack("{s:i,s:i,s:I,s:I,s:I,s:I,s:I,s:I}", "queue", (int)q,
                                        "cpu", px->workers[q].cpu,
                                        "loops", (json_int_t)ws.loops,
                                        "sleeps", (json_int_t)ws.sleeps,
                                        "spin_yields", (json_int_t)ws.spin_yields,
                                        "work_ns", (json_int_t)ws.work_ns,
                                        "spin_ns", (json_int_t)ws.spin_ns,
                                        "sleep_ns", (json_int_t)ws.sleep_ns));
    }
    return workers;
}

/* One kind of policy group: [{"group": NAME, "packets": N, "drops": N}], summed over the queues. */
static json_t *groups_json(struct proxy *px, bool dst)
{
    const struct xp_conf_policer *pc = &px->cfg->pol;
    unsigned n = dst ? pc->n_dst_groups : pc->n_unit_groups;
    json_t *arr = json_array();

    for (unsigned g = 0; arr && g <= n; g++) {
        struct xp_group_counts sum = { 0, 0 };

        for (unsigned q = 0; q < px->cfg->queues; q++) {
            struct xp_group_counts c;

            xp_pipeline__group_stats(px->pipelines[q], dst, g, &c);
            sum.packets += c.packets;
            sum.drops += c.drops;
        }
        json_array_append_new(arr, json_pack("{s:s,s:I,s:I}", "group",
                                             xp_conf_policer__group_name(pc, dst, g), "packets",
                                             (json_int_t)sum.packets, "drops",
                                             (json_int_t)sum.drops));
    }
    return arr;
}

/* The pipelines' and policers' counters, summed over the queues. */
static void policing_json(struct proxy *px, json_t *extra)
{
    struct xp_pipeline_stats sum = { 0 };
    struct xp_policer_stats ps_sum = { 0 };
    json_t *pipe = json_object(), *malformed = json_object(), *pol, *own;

    for (unsigned q = 0; q < px->cfg->queues; q++) {
        struct xp_pipeline_stats ps;
        struct xp_policer_stats pst;

        xp_pipeline__stats(px->pipelines[q], &ps);
        xp_pipeline__policer_stats(px->pipelines[q], &pst);
        for (int k = 0; k < XP_PC_MAX; k++)
            sum.c[k] += ps.c[k];
        for (int k = 0; k < XP_PARSE_STATUS_MAX; k++)
            sum.malformed[k] += ps.malformed[k];
        sum.blocked_now += ps.blocked_now;
        xp_policer_stats__add(&ps_sum, &pst);
    }
    for (int k = 0; k < XP_PC_MAX; k++)
        json_object_set_new(pipe, xp_pipeline_counter_name(k), json_integer((json_int_t)sum.c[k]));
    for (int k = 1; k < XP_PARSE_STATUS_MAX; k++) {
        if (k != XP_PARSE_NOT_IP)
            json_object_set_new(malformed, xp_parse_status_name(k),
                                json_integer((json_int_t)sum.malformed[k]));
    }
    json_object_set_new(pipe, "malformed", malformed);
    json_object_set_new(pipe, "blocked_pairs", json_integer((json_int_t)sum.blocked_now));
    json_object_set_new(pipe, "manual_blocks",
                        json_integer(xp_manual_blocks__count(px->manual)));
    json_object_set_new(pipe, "unit_groups", groups_json(px, false));
    json_object_set_new(pipe, "dst_groups", groups_json(px, true));
    pol = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
                    "pairs", (json_int_t)ps_sum.pairs_in_use,
                    "capacity", (json_int_t)ps_sum.capacity,
                    "inserts", (json_int_t)ps_sum.inserts,
                    "restarts", (json_int_t)ps_sum.restarts,
                    "shrinks", (json_int_t)ps_sum.shrinks,
                    "evict_idle", (json_int_t)ps_sum.evict_idle,
                    "evict_oldest", (json_int_t)ps_sum.evict_oldest,
                    "refused_pass", (json_int_t)ps_sum.refused_pass,
                    "refused_drop", (json_int_t)ps_sum.refused_drop,
                    "warnings", (json_int_t)ps_sum.warnings,
                    "clock_backsteps", (json_int_t)ps_sum.clock_backsteps,
                    "idle_left", (json_int_t)ps_sum.idle_left,
                    "install_refused", (json_int_t)ps_sum.install_refused,
                    "destinations", (json_int_t)xp_dst_table__count(px->dst),
                    "destination_failures", (json_int_t)xp_dst_table__failures(px->dst),
                    "destinations_reclaimed", (json_int_t)xp_dst_table__reclaimed(px->dst),
                    "events_written", (json_int_t)px->events_written);
    own = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
                    "pairs", (json_int_t)xp_owners__count(px->owners),
                    "handed_off", (json_int_t)ps_sum.foreign,
                    "handed_off_dropped", (json_int_t)ps_sum.foreign_dropped,
                    "lost", (json_int_t)ps_sum.foreign_lost,
                    "counted", (json_int_t)ps_sum.foreign_counted,
                    "refused", (json_int_t)ps_sum.foreign_refused,
                    "relayed", (json_int_t)ps_sum.foreign_relayed,
                    "directory_full", (json_int_t)ps_sum.owners_full,
                    "install_elsewhere", (json_int_t)ps_sum.install_elsewhere);
    if (pol) {
        /* fair_share (fair_tick.c): ticks run, destination shares published, ticks skipped */
        json_object_set_new(pol, "fair_ticks", json_integer((json_int_t)px->fair_ticks));
        json_object_set_new(pol, "fair_published", json_integer((json_int_t)px->fair_published));
        json_object_set_new(pol, "fair_truncated", json_integer((json_int_t)px->fair_truncated));
    }
    if (pol && own)
        json_object_set_new(pol, "owners", own);
    else
        json_decref(own);
    json_object_set_new(extra, "pipeline", pipe);
    json_object_set_new(extra, "policer", pol);
}

json_t *xp_proxy__stats_document(struct proxy *px, bool final, uint64_t *rx_out,
                                 uint64_t *tx_out)
{
    uint64_t rx = 0, tx = 0, drops = 0, rx_bytes = 0, tx_bytes = 0;
    json_t *ports = ports_json(px, &rx, &tx, &drops, &rx_bytes, &tx_bytes);
    json_t *extra = json_object();
    json_t *root;

    if (px->dst)
        policing_json(px, extra);
    root = json_pack("{s:f,s:s,s:b,s:{s:I,s:I,s:I,s:f,s:f,s:I,s:I,s:f,s:f},s:o,s:o}",
                     "ts", xp_real_s(), "proxy_id", px->cfg->proxy_id, "final", final,
                     "totals",
                     "rx_packets", (json_int_t)rx, "tx_packets", (json_int_t)tx,
                     "drop_packets", (json_int_t)drops,
                     "rx_pps", px->rx_pps, "tx_pps", px->tx_pps,
                     "rx_bytes", (json_int_t)rx_bytes, "tx_bytes", (json_int_t)tx_bytes,
                     "rx_gbps", px->rx_gbps, "tx_gbps", px->tx_gbps,
                     "ports", ports,
                     "frames", xp_backend__frames_json(px->be));
    json_object_set_new(extra, "backend", json_string(xp_backend__name(px->be)));
    json_object_set_new(extra, "workers", workers_json(px));
    if (px->gw)
        json_object_set_new(extra, "gateway", xp_gateway__stats_json(px->gw));
    if (px->sync)
        json_object_set_new(extra, "sync", xp_proxy_sync__stats_json(px->sync));
    else if (px->sync_final)
        json_object_set(extra, "sync", px->sync_final);
    else
        json_object_set_new(extra, "sync", json_pack("{s:s}", "state", "off"));
    if (px->ctl)
        json_object_set_new(extra, "ctl", xp_ctl_server__stats_json(px->ctl));
    if (root)
        json_object_update(root, extra);
    json_decref(extra);
    *rx_out = rx;
    *tx_out = tx;
    return root;
}

/* A change of the sync state (synced, degraded) is an event too. */
static void sync_state_event(struct proxy *px, json_t *root)
{
    const char *state = json_string_value(json_object_get(json_object_get(root, "sync"), "state"));
    json_t *o;

    if (!state || strcmp(state, "off") == 0 || strcmp(state, px->sync_state) == 0)
        return;
    snprintf(px->sync_state, sizeof(px->sync_state), "%s", state);
    if (strcmp(state, "starting") == 0)
        return;
    o = json_pack("{s:s,s:s,s:s,s:f}", "event", "sync", "proxy_id", px->cfg->proxy_id,
                  "state", state, "time", xp_real_s());
    if (o) {
        json_object_set(o, "sync", json_object_get(root, "sync"));
        xp_proxy__emit_event(px, o, strcmp(state, "degraded") == 0 ? LOG_WARNING : LOG_NOTICE);
        json_decref(o);
    }
}

void xp_proxy__print_stats(struct proxy *px, bool final)
{
    double t = xp_real_s(), dt = px->last_t > 0 ? t - px->last_t : 0;
    json_t *root, *tot;
    uint64_t rx, tx;

    /* Totals of the previous interval decide this interval's rates. */
    root = xp_proxy__stats_document(px, final, &rx, &tx);
    if (!root)
        return;
    tot = json_object_get(root, "totals");
    if (dt > 0 && tot) {
        uint64_t rxb = json_integer_value(json_object_get(tot, "rx_bytes"));
        uint64_t txb = json_integer_value(json_object_get(tot, "tx_bytes"));

        px->rx_pps = (rx - px->last_rx) / dt;
        px->tx_pps = (tx - px->last_tx) / dt;
        /* Bits on the wire of the frames as received: no preamble, FCS or gap. */
        px->rx_gbps = (rxb - px->last_rx_bytes) * 8 / dt / 1e9;
        px->tx_gbps = (txb - px->last_tx_bytes) * 8 / dt / 1e9;
        json_object_set_new(tot, "rx_pps", json_real(px->rx_pps));
        json_object_set_new(tot, "tx_pps", json_real(px->tx_pps));
        json_object_set_new(tot, "rx_gbps", json_real(px->rx_gbps));
        json_object_set_new(tot, "tx_gbps", json_real(px->tx_gbps));
    }
    px->last_rx_bytes = json_integer_value(json_object_get(tot, "rx_bytes"));
    px->last_tx_bytes = json_integer_value(json_object_get(tot, "tx_bytes"));
    sync_state_event(px, root);
    if (px->stats) {
        json_dumpf(root, px->stats, JSON_COMPACT | JSON_REAL_PRECISION(12));
        fputc('\n', px->stats);
        fflush(px->stats);
    }
    if (px->prom)
        xp_prom_server__set_stats(px->prom, root);
    json_decref(root);
    px->last_rx = rx;
    px->last_tx = tx;
    px->last_t = t;
}
