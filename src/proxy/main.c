// SPDX-License-Identifier: GPL-2.0-only
/*
 * xpro-proxy: the appliance. Loads the XDP program on the access and core
 * ports, opens one AF_XDP queue per queue index, runs one pinned worker per
 * queue, and prints one JSON stats line per interval until SIGINT/SIGTERM
 * or --duration.
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <poll.h>
#include <linux/capability.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <syslog.h>
#include <jansson.h>
#include <numa.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "src/proxy/config.h"
#include "src/ctl/ctl.h"
#include "src/prom/prom.h"
#include "src/proxy/sync_thread.h"
#include "src/sync/sync.h"
#include "src/pipeline/pipeline.h"
#include "src/util/exit_codes.h"
#include "src/gateway/gateway.h"
#include "src/proxy/monitor.h"
#include "xsk/nic.h"
#include "src/util/log.h"
#include "src/util/privilege.h"
#include "src/util/syslog_sink.h"
#include "src/proxy/worker.h"
#include "xsk/prog.h"
#include "xsk/port.h"
#include "xp_build_config.h"
#ifdef XP_HAVE_DPDK
#include "src/backend/dpdk.h"
#endif

struct run_opts {
    const char *config;
    const char *stats_out;
    double duration;
    bool check_only;
    bool print_keys;
    const char *log_level;
    const char *events_out;
};

static const struct run_opts defaults_run = {
    .config = NULL,
    .stats_out = "-",
    .duration = 0,
    .check_only = false,
    .print_keys = false,
    .log_level = NULL,
    .events_out = NULL,
};

struct proxy {
    struct xp_config *cfg;          /* live: replaced whole on reload */
    const char *config_path;
    struct xp_xdp_prog *prog;       /* AF_XDP backend only */
    struct xp_dpdk *dpdk;           /* DPDK backend only */
    struct xp_xsk_queue *queues[XP_MAX_QUEUES];
    struct xp_worker workers[XP_MAX_QUEUES];
    struct xp_dst_table *dst;
    struct xp_owners *owners;       /* which worker holds each pair (more than one queue) */
    unsigned rx_queues_found[XP_MAX_PORTS]; /* set by channels "set": restored at exit; 0 none */
    struct xp_pipeline *pipelines[XP_MAX_QUEUES];
    struct xp_gateway *gw;          /* gateway mode only */
    struct xp_gw_queue *gw_queues[XP_MAX_QUEUES];
    struct xp_ctl_server *ctl;
    struct xp_prom_server *prom;
    struct xp_proxy_sync *sync;
    json_t *sync_final;             /* sync health when the thread stopped, for the final line */
    FILE *stats;
    FILE *events;
    struct xp_syslog *syslog;
    uint64_t events_written;
    /* Previous totals for rates. */
    uint64_t last_rx, last_tx;
    double last_t;
    double rx_pps, tx_pps;
    uint64_t last_rx_bytes, last_tx_bytes;
    double rx_gbps, tx_gbps;
    char sync_state[16];            /* last sync state seen, for state-change events */
    /* "user": the child of xp_monitor__split() runs the proxy as this account */
    struct xp_priv_target target;
    bool monitored;
};

#ifdef XP_HAVE_DPDK
static json_t *dpdk_ports_json(struct proxy *px, uint64_t *rx, uint64_t *tx, uint64_t *drops);
static json_t *dpdk_frames_json(struct proxy *px);
#endif

static const char *const kc_names[XP_KC_MAX] = {
    [XP_KC_RX] = "rx",
    [XP_KC_REDIRECT] = "redirect",
    [XP_KC_PASS_NON_IP] = "pass_non_ip",
    [XP_KC_PASS_ARP_ND] = "pass_arp_nd",
    [XP_KC_PASS_MGMT] = "pass_mgmt",
    [XP_KC_PASS_NO_SOCKET] = "pass_no_socket",
    [XP_KC_DROP_NO_SOCKET] = "drop_no_socket",
    [XP_KC_PASS_FOREIGN] = "pass_foreign",
    [XP_KC_DROP_BLOCKED] = "drop_blocked",
    [XP_KC_DROP_MANUAL] = "drop_manual",
    [XP_KC_PASS_NOT_TUNNEL] = "pass_not_tunnel",
    [XP_KC_DROP_UNTUNNELLED] = "drop_untunnelled",
    [XP_KC_DROP_NON_IP] = "drop_non_ip",
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: xpro-proxy -c FILE [options]\n"
            "\n"
            "  -c, --config FILE      JSON configuration (see conf/README.md)\n"
            "      --check-config     validate the configuration and exit\n"
            "      --config-keys      print the table of configuration keys (Markdown)\n"
            "      --stats-out PATH   where the per-interval JSON stats line goes (- = stdout)\n"
            "      --duration SEC     stop after SEC seconds (default: until SIGINT/SIGTERM)\n"
            "      --log-level LEVEL  err, warn, info or debug (overrides the config)\n"
            "      --events-out PATH  events as JSON lines (overrides events_out; - = stdout)\n"
            "  -V, --version          print the version\n"
            "  -h, --help             this text\n"
            "\n"
            "Exit codes: 0 ok, 1 failure, 2 bad option or config, 3 BPF load/attach,\n"
            "4 out of memory, 5 interface missing, 6 permission denied, 7 queue busy,\n"
            "8 another XDP program attached, 9 bpffs not mounted at /sys/fs/bpf.\n");
}

static uint64_t mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int errno_to_exit(int err)
{
    switch (err) {
    case ENODEV:
        return EXIT_FAIL_IFACE;
    case EPERM:
    case EACCES:
        return EXIT_FAIL_PERM;
    case EBUSY:
        return EXIT_FAIL_BUSY;
    case EEXIST:
        return EXIT_FAIL_XDP_EXISTS;
    case ENOMEM:
        return EXIT_FAIL_MEM;
    default:
        return EXIT_FAIL;
    }
}

static json_t *xsk_kstats_json(const struct xp_xsk_kstats *k)
{
    return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I}",
                     "rx_dropped", (json_int_t)k->rx_dropped,
                     "rx_invalid_descs", (json_int_t)k->rx_invalid_descs,
                     "tx_invalid_descs", (json_int_t)k->tx_invalid_descs,
                     "rx_ring_full", (json_int_t)k->rx_ring_full,
                     "rx_fill_ring_empty_descs", (json_int_t)k->rx_fill_ring_empty_descs,
                     "tx_ring_empty_descs", (json_int_t)k->tx_ring_empty_descs);
}

/*
 * The one stats document: what the stats line prints, what `xpro-ctl
 * stats` returns and what Prometheus renders. Rates are those of the last
 * stats interval. The packet totals go to rx_out and tx_out.
 */
static json_t *stats_document(struct proxy *px, bool final, uint64_t *rx_out, uint64_t *tx_out)
{
    static const char *const roles[XP_MAX_PORTS] = { "access", "core" };
    struct xp_xsk_frames fr_sum = { 0 };
    uint64_t rx = 0, tx = 0, drops = 0;
    json_t *ports = NULL, *frames = NULL;
    json_t *extra = json_object();
    double t = now_s();
    json_t *root;

#ifdef XP_HAVE_DPDK
    if (px->dpdk) {
        ports = dpdk_ports_json(px, &rx, &tx, &drops);
        frames = dpdk_frames_json(px);
    }
#endif
    /* AF_XDP: the XDP program's counters per port, the sockets' per queue. */
    if (!px->dpdk)
        ports = json_array();
    for (unsigned p = 0; !px->dpdk && p < XP_MAX_PORTS; p++) {
        struct xp_kern_stats ks;
        json_t *xdp = json_object();
        json_t *queues = json_array();

        if (xp_xdp_prog__stats(px->prog, p, &ks) == 0) {
            for (int i = 0; i < XP_KC_MAX; i++)
                json_object_set_new(xdp, kc_names[i], json_integer(ks.packets[i]));
        }
        for (unsigned q = 0; q < px->cfg->queues; q++) {
            struct xp_xsk_port_stats st;
            struct xp_xsk_kstats ks2 = { 0 };
            struct xp_worker_stats ws;

            xp_xsk_queue__port_stats(px->queues[q], p, &st);
            xp_xsk_queue__kstats(px->queues[q], p, &ks2);
            xp_worker__stats(&px->workers[q], &ws);
            rx += st.rx_packets;
            tx += st.tx_packets;
            drops += ws.drop_tx_full[p] + ws.drop_policy[p];
            json_array_append_new(queues, json_pack(
                "{s:i,s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o}",
                "queue", (int)q,
                "zero_copy", xp_xsk_queue__zero_copy(px->queues[q]),
                "rx_packets", (json_int_t)st.rx_packets,
                "rx_bytes", (json_int_t)st.rx_bytes,
                "tx_packets", (json_int_t)st.tx_packets,
                "tx_bytes", (json_int_t)st.tx_bytes,
                "drop_tx_ring_full", (json_int_t)ws.drop_tx_full[p],
                "drop_policy", (json_int_t)ws.drop_policy[p],
                "tx_kicks", (json_int_t)st.tx_kicks,
                "xsk", xsk_kstats_json(&ks2)));
        }
        json_array_append_new(ports, json_pack("{s:s,s:s,s:i,s:o,s:o}",
                                               "name", px->cfg->port_name[p],
                                               "role", roles[p],
                                               "ifindex", xp_xdp_prog__ifindex(px->prog, p),
                                               "xdp", xdp, "queues", queues));
    }
    for (unsigned q = 0; !px->dpdk && q < px->cfg->queues; q++) {
        struct xp_xsk_frames fr;

        xp_xsk_queue__frames(px->queues[q], &fr);
        fr_sum.total += fr.total;
        fr_sum.free += fr.free;
        fr_sum.in_fill += fr.in_fill;
        fr_sum.in_tx += fr.in_tx;
        fr_sum.held += fr.held;
    }
    if (!px->dpdk) {
        frames = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I}",
                           "total", (json_int_t)fr_sum.total, "free", (json_int_t)fr_sum.free,
                           "in_fill", (json_int_t)fr_sum.in_fill,
                           "in_tx", (json_int_t)fr_sum.in_tx, "held", (json_int_t)fr_sum.held,
                           "leaked", (json_int_t)(fr_sum.total - fr_sum.free - fr_sum.in_fill -
                                                  fr_sum.in_tx - fr_sum.held));
    }
    if (px->dst) {
        struct xp_pipeline_stats sum = { 0 };
        struct xp_policer_stats ps_sum = { 0 };
        json_t *pipe = json_object(), *malformed = json_object(), *pol;

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
            ps_sum.pairs_in_use += pst.pairs_in_use;
            ps_sum.capacity += pst.capacity;
            ps_sum.inserts += pst.inserts;
            ps_sum.restarts += pst.restarts;
            ps_sum.shrinks += pst.shrinks;
            ps_sum.evict_idle += pst.evict_idle;
            ps_sum.evict_oldest += pst.evict_oldest;
            ps_sum.refused_pass += pst.refused_pass;
            ps_sum.refused_drop += pst.refused_drop;
            ps_sum.warnings += pst.warnings;
            ps_sum.clock_backsteps += pst.clock_backsteps;
            ps_sum.idle_left += pst.idle_left;
            ps_sum.install_refused += pst.install_refused;
            ps_sum.install_elsewhere += pst.install_elsewhere;
            ps_sum.foreign += pst.foreign;
            ps_sum.foreign_dropped += pst.foreign_dropped;
            ps_sum.foreign_lost += pst.foreign_lost;
            ps_sum.foreign_counted += pst.foreign_counted;
            ps_sum.foreign_refused += pst.foreign_refused;
            ps_sum.foreign_relayed += pst.foreign_relayed;
            ps_sum.owners_full += pst.owners_full;
        }
        for (int k = 0; k < XP_PC_MAX; k++)
            json_object_set_new(pipe, xp_pipeline_counter_name(k), json_integer(sum.c[k]));
        for (int k = 1; k < XP_PARSE_STATUS_MAX; k++) {
            if (k != XP_PARSE_NOT_IP)
                json_object_set_new(malformed, xp_parse_status_name(k),
                                    json_integer(sum.malformed[k]));
        }
        json_object_set_new(pipe, "malformed", malformed);
        json_object_set_new(pipe, "blocked_pairs", json_integer(sum.blocked_now));
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
        if (pol) {
            json_t *own = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
                                    "pairs", (json_int_t)xp_owners__count(px->owners),
                                    "handed_off", (json_int_t)ps_sum.foreign,
                                    "handed_off_dropped", (json_int_t)ps_sum.foreign_dropped,
                                    "lost", (json_int_t)ps_sum.foreign_lost,
                                    "counted", (json_int_t)ps_sum.foreign_counted,
                                    "refused", (json_int_t)ps_sum.foreign_refused,
                                    "relayed", (json_int_t)ps_sum.foreign_relayed,
                                    "directory_full", (json_int_t)ps_sum.owners_full,
                                    "install_elsewhere", (json_int_t)ps_sum.install_elsewhere);

            json_object_set_new(pol, "owners", own);
        }
        json_object_set_new(extra, "pipeline", pipe);
        json_object_set_new(extra, "policer", pol);
    }
    root = json_pack("{s:f,s:s,s:b,s:{s:I,s:I,s:I,s:f,s:f},s:o,s:o}",
                     "ts", t, "proxy_id", px->cfg->proxy_id, "final", final,
                     "totals",
                     "rx_packets", (json_int_t)rx, "tx_packets", (json_int_t)tx,
                     "drop_packets", (json_int_t)drops,
                     "rx_pps", px->rx_pps,
                     "tx_pps", px->tx_pps,
                     "ports", ports,
                     "frames", frames);
    if (root) {
        /* Bytes from the per-queue counters, whichever backend filled them. */
        json_t *tot = json_object_get(root, "totals"), *port, *queue;
        uint64_t rx_bytes = 0, tx_bytes = 0;
        size_t i, j;

        json_array_foreach(ports, i, port) {
            json_array_foreach(json_object_get(port, "queues"), j, queue) {
                rx_bytes += json_integer_value(json_object_get(queue, "rx_bytes"));
                tx_bytes += json_integer_value(json_object_get(queue, "tx_bytes"));
            }
        }
        json_object_set_new(tot, "rx_bytes", json_integer(rx_bytes));
        json_object_set_new(tot, "tx_bytes", json_integer(tx_bytes));
        json_object_set_new(tot, "rx_gbps", json_real(px->rx_gbps));
        json_object_set_new(tot, "tx_gbps", json_real(px->tx_gbps));
    }
    if (px->dpdk)
        json_object_set_new(extra, "backend", json_string("dpdk"));
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

static void emit_event_line(struct proxy *px, json_t *o, int severity);

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
                  "state", state, "time", now_s());
    if (o) {
        json_object_set(o, "sync", json_object_get(root, "sync"));
        emit_event_line(px, o, strcmp(state, "degraded") == 0 ? LOG_WARNING : LOG_NOTICE);
        json_decref(o);
    }
}

/* The periodic stats line: update the rates, then print the document. */
static void print_stats(struct proxy *px, bool final)
{
    double t = now_s(), dt = px->last_t > 0 ? t - px->last_t : 0;
    uint64_t rx, tx;
    json_t *root;

    /* Totals of the previous interval decide this interval's rates. */
    root = stats_document(px, final, &rx, &tx);
    if (dt > 0) {
        px->rx_pps = (rx - px->last_rx) / dt;
        px->tx_pps = (tx - px->last_tx) / dt;
        json_t *tot = root ? json_object_get(root, "totals") : NULL;

        if (tot) {
            uint64_t rxb = json_integer_value(json_object_get(tot, "rx_bytes"));
            uint64_t txb = json_integer_value(json_object_get(tot, "tx_bytes"));

            /* Bits on the wire of the frames as received: no preamble, FCS or gap. */
            px->rx_gbps = (rxb - px->last_rx_bytes) * 8 / dt / 1e9;
            px->tx_gbps = (txb - px->last_tx_bytes) * 8 / dt / 1e9;
            json_object_set_new(tot, "rx_pps", json_real(px->rx_pps));
            json_object_set_new(tot, "tx_pps", json_real(px->tx_pps));
            json_object_set_new(tot, "rx_gbps", json_real(px->rx_gbps));
            json_object_set_new(tot, "tx_gbps", json_real(px->tx_gbps));
        }
    }
    if (root) {
        json_t *tot = json_object_get(root, "totals");

        px->last_rx_bytes = json_integer_value(json_object_get(tot, "rx_bytes"));
        px->last_tx_bytes = json_integer_value(json_object_get(tot, "tx_bytes"));
        sync_state_event(px, root);
    }
    if (root) {
        json_dumpf(root, px->stats, JSON_COMPACT | JSON_REAL_PRECISION(12));
        fputc('\n', px->stats);
        fflush(px->stats);
        if (px->prom)
            xp_prom_server__set_stats(px->prom, root);
        json_decref(root);
    }
    px->last_rx = rx;
    px->last_tx = tx;
    px->last_t = t;
}

static void addr_str(const uint8_t a[16], char *buf, size_t len)
{
    static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

    if (memcmp(a, mapped, sizeof(mapped)) == 0)
        inet_ntop(AF_INET, a + 12, buf, len);
    else
        inet_ntop(AF_INET6, a, buf, len);
}

/* One event line to every sink: the events file, syslog, xpro-ctl followers. */
static void emit_event_line(struct proxy *px, json_t *o, int severity)
{
    char *line = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(15));

    if (!line)
        return;
    if (px->ctl)
        xp_ctl_server__broadcast(px->ctl, "events", line);
    if (px->syslog)
        xp_syslog__send(px->syslog, severity, line);
    if (px->events) {
        fputs(line, px->events);
        fputc('\n', px->events);
        fflush(px->events);
        px->events_written++;
    }
    free(line);
}

/* Move queued events from every worker to the events file, as JSON lines. */
static void drain_events(struct proxy *px)
{
    static const char *const kinds[] = {
        [XP_EVENT_OVERLOAD] = "overload",
        [XP_EVENT_BLOCK] = "block",
        [XP_EVENT_UNBLOCK] = "unblock",
    };
    struct xp_event ev[64];

    if (!px->dst)
        return;
    for (unsigned q = 0; q < px->cfg->queues; q++) {
        unsigned n;

        while ((n = xp_pipeline__drain_events(px->pipelines[q], ev, 64)) > 0) {
            for (unsigned i = 0; i < n; i++) {
                char unit[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
                json_t *o;

                addr_str(ev[i].key.unit, unit, sizeof(unit));
                addr_str(ev[i].key.dst, dst, sizeof(dst));
                o = json_pack("{s:s,s:s,s:s,s:s,s:f,s:i}", "event", kinds[ev[i].kind],
                              "proxy_id", px->cfg->proxy_id, "unit", unit, "dst", dst,
                              "time", ev[i].t_ns / 1e9, "queue", (int)ev[i].queue);
                if (!o)
                    continue;
                if (ev[i].kind == XP_EVENT_OVERLOAD) {
                    json_object_set_new(o, "rate_pps", json_integer(ev[i].rate_pps));
                    json_object_set_new(o, "threshold_pps", json_integer(ev[i].threshold_pps));
                } else if (ev[i].kind == XP_EVENT_BLOCK) {
                    json_object_set_new(o, "reason", json_string(
                        ev[i].reason == XP_VERDICT_DROP_DST ? "dst_rate" : "unit_rate"));
                    json_object_set_new(o, "threshold_pps", json_integer(ev[i].threshold_pps));
                    json_object_set_new(o, "block_ms", json_integer(px->cfg->pol.block_ms));
                }
                if (ev[i].kind == XP_EVENT_OVERLOAD && px->sync)
                    xp_proxy_sync__warn(px->sync, &ev[i]);
                emit_event_line(px, o, ev[i].kind == XP_EVENT_UNBLOCK ? LOG_NOTICE : LOG_WARNING);
                json_decref(o);
            }
            if (n < 64)
                break;
        }
    }
    if (px->events)
        fflush(px->events);
}

static int parse_args(int argc, char **argv, struct run_opts *o)
{
    enum { OPT_CHECK = 256, OPT_KEYS, OPT_STATS, OPT_DURATION, OPT_LOG, OPT_EVENTS };
    static const struct option long_opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "check-config", no_argument, NULL, OPT_CHECK },
        { "config-keys", no_argument, NULL, OPT_KEYS },
        { "stats-out", required_argument, NULL, OPT_STATS },
        { "duration", required_argument, NULL, OPT_DURATION },
        { "log-level", required_argument, NULL, OPT_LOG },
        { "events-out", required_argument, NULL, OPT_EVENTS },
        { "version", no_argument, NULL, 'V' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;

    *o = defaults_run;
    while ((c = getopt_long(argc, argv, "c:hV", long_opts, NULL)) != -1) {
        char *end;

        switch (c) {
        case 'c':
            o->config = optarg;
            break;
        case OPT_CHECK:
            o->check_only = true;
            break;
        case OPT_KEYS:
            o->print_keys = true;
            break;
        case OPT_STATS:
            o->stats_out = optarg;
            break;
        case OPT_DURATION:
            o->duration = strtod(optarg, &end);
            if (*end || o->duration <= 0) {
                fprintf(stderr, "xpro-proxy: --duration: expected a positive number of seconds\n");
                return -EINVAL;
            }
            break;
        case OPT_LOG:
            o->log_level = optarg;
            break;
        case OPT_EVENTS:
            o->events_out = optarg;
            break;
        case 'V':
            printf("xpro-proxy %s\n", XP_VERSION);
            exit(EXIT_OK);
        case 'h':
            usage(stdout);
            exit(EXIT_OK);
        default:
            usage(stderr);
            return -EINVAL;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "xpro-proxy: unexpected argument '%s'\n", argv[optind]);
        return -EINVAL;
    }
    if (!o->config && !o->print_keys) {
        fprintf(stderr, "xpro-proxy: -c FILE is required\n");
        usage(stderr);
        return -EINVAL;
    }
    return 0;
}

static int numa_node_of(const char *ifname)
{
    char path[128];
    FILE *f;
    int node = -1;

    snprintf(path, sizeof(path), "/sys/class/net/%s/device/numa_node", ifname);
    f = fopen(path, "r");
    if (!f)
        return -1;
    if (fscanf(f, "%d", &node) != 1)
        node = -1;
    fclose(f);
    return node;
}

#ifdef XP_HAVE_DPDK
/* The ports in the stats document's shape, from the DPDK ports' counters. */
static json_t *dpdk_ports_json(struct proxy *px, uint64_t *rx, uint64_t *tx, uint64_t *drops)
{
    static const char *const roles[XP_MAX_PORTS] = { "access", "core" };
    struct xp_dpdk_queue_stats qs[XP_MAX_QUEUES];
    json_t *ports = json_array();

    for (unsigned p = 0; p < XP_MAX_PORTS; p++) {
        struct xp_dpdk_link_stats ls;
        json_t *queues = json_array();
        bool pmd = xp_dpdk__stats(px->dpdk, p, &ls, qs) == 0;

        for (unsigned q = 0; q < px->cfg->queues; q++) {
            struct xp_worker_stats ws;

            xp_worker__stats(&px->workers[q], &ws);
            *rx += qs[q].rx_packets;
            *tx += qs[q].tx_packets;
            *drops += ws.drop_tx_full[p] + ws.drop_policy[p];
            json_array_append_new(queues, json_pack(
                "{s:i,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:{s:I,s:I,s:I}}",
                "queue", (int)q,
                "rx_packets", (json_int_t)qs[q].rx_packets,
                "rx_bytes", (json_int_t)qs[q].rx_bytes,
                "tx_packets", (json_int_t)qs[q].tx_packets,
                "tx_bytes", (json_int_t)qs[q].tx_bytes,
                "drop_tx_ring_full", (json_int_t)ws.drop_tx_full[p],
                "drop_policy", (json_int_t)ws.drop_policy[p],
                "drop_multiseg", (json_int_t)qs[q].rx_multiseg,
                "dpdk",
                "q_ipackets", (json_int_t)qs[q].q_ipackets,
                "q_opackets", (json_int_t)qs[q].q_opackets,
                "q_errors", (json_int_t)qs[q].q_errors));
        }
        json_array_append_new(ports, json_pack(
            "{s:s,s:s,s:s,s:i,s:s,s:b,s:o,s:o}",
            "name", px->cfg->port_name[p], "role", roles[p], "backend", "dpdk",
            "port_id", (int)xp_dpdk__port_id(px->dpdk, p),
            "device", xp_dpdk__port_name(px->dpdk, p),
            "rss", xp_dpdk__rss(px->dpdk, p),
            "dpdk", pmd ? json_pack("{s:b,s:i,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
                                    "link_up", ls.link_up, "speed_mbps", (int)ls.speed_mbps,
                                    "ipackets", (json_int_t)ls.ipackets,
                                    "opackets", (json_int_t)ls.opackets,
                                    "ibytes", (json_int_t)ls.ibytes,
                                    "obytes", (json_int_t)ls.obytes,
                                    "imissed", (json_int_t)ls.imissed,
                                    "ierrors", (json_int_t)ls.ierrors,
                                    "oerrors", (json_int_t)ls.oerrors,
                                    "rx_nombuf", (json_int_t)ls.rx_nombuf) : json_null(),
            "queues", queues));
    }
    return ports;
}

/* Mbufs: the pools' size and what is in them; the rest sits in RX rings, TX rings or workers. */
static json_t *dpdk_frames_json(struct proxy *px)
{
    struct xp_dpdk_mbufs mb;

    xp_dpdk__mbufs(px->dpdk, &mb);
    return json_pack("{s:s,s:I,s:I,s:I}", "kind", "mbuf", "total", (json_int_t)mb.total,
                     "free", (json_int_t)mb.free, "in_use", (json_int_t)(mb.total - mb.free));
}
#endif

/*
 * EAL and both DPDK ports. The signals run() handles are blocked first:
 * EAL's own threads inherit the mask, so a SIGTERM cannot land on one of
 * them and kill the process without a final stats line.
 */
static int start_dpdk(struct proxy *px)
{
#ifdef XP_HAVE_DPDK
    const char *args[XP_CONF_EAL_ARGS_MAX];
    struct xp_dpdk_cfg dc = {
        .n_eal_args = px->cfg->dpdk.n_eal_args,
        .eal_args = args,
        .port_id = { px->cfg->dpdk.access_port, px->cfg->dpdk.core_port },
        .n_queues = px->cfg->queues,
        .n_mbufs = px->cfg->dpdk.mbufs_per_queue,
        .ring_size = px->cfg->ring_size,
    };
    sigset_t sigs;

    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGHUP);
    sigaddset(&sigs, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    for (unsigned i = 0; i < dc.n_eal_args; i++)
        args[i] = px->cfg->dpdk.eal_args[i];
    px->dpdk = xp_dpdk__create(&dc);
    if (!px->dpdk) {
        int err = errno ? errno : EINVAL;

        pr_err("DPDK backend: %s", strerror(err));
        return -err;
    }
    return 0;
#else
    (void)px;
    pr_err("this build has no DPDK backend");
    return -ENOTSUP;
#endif
}

/* Worker q on its AF_XDP queue (one socket per port on queue index q). */
static int xsk_worker(struct proxy *px, unsigned q, int node)
{
    struct xp_xsk_cfg xc = {
        .n_ports = XP_MAX_PORTS,
        .queue_id = q,
        .n_frames = px->cfg->frames_per_queue,
        .frame_size = XP_XSK_FRAME_SIZE,
        .ring_size = px->cfg->ring_size,
        .zc = px->cfg->zero_copy == XP_CONF_ZC_ON ? XP_ZC_ON :
              px->cfg->zero_copy == XP_CONF_ZC_OFF ? XP_ZC_OFF : XP_ZC_AUTO,
        .skb_mode = px->cfg->port_xdp_skb[0] || px->cfg->port_xdp_skb[1],
        .busy_poll = { px->cfg->port_busy_poll[0], px->cfg->port_busy_poll[1] },
        .numa_node = node,
        .xskmap_fd = xp_xdp_prog__xskmap_fd(px->prog),
    };

    for (unsigned p = 0; p < XP_MAX_PORTS; p++) {
        memcpy(xc.ifname[p], px->cfg->port_name[p], sizeof(xc.ifname[p]));
        xc.xskmap_key[p] = p * XP_MAX_QUEUES + q;
    }
    px->queues[q] = xp_xsk_queue__create(&xc);
    if (!px->queues[q]) {
        int err = errno;

        if (err == EBUSY)
            pr_err("queue %u: another AF_XDP socket is bound to it", q);
        else if (err == EINVAL && q > 0)
            pr_err("queue %u: does the interface have %u queues? (%s)", q,
                   px->cfg->queues, strerror(err));
        else
            pr_err("queue %u: %s", q, strerror(err));
        return -err;
    }
    px->workers[q] = (struct xp_worker){
        .id = q,
        .cpu = px->cfg->n_cpus ? px->cfg->cpus[q % px->cfg->n_cpus] : -1,
        .numa_node = node,
        .n_ports = XP_MAX_PORTS,
        .io = &xp_xsk_io_ops,
        .queue = px->queues[q],
    };
    return 0;
}

/* Worker q on the DPDK ports' queue pair q (set up by start_dpdk). */
static int dpdk_worker(struct proxy *px, unsigned q, int node)
{
#ifdef XP_HAVE_DPDK
    px->workers[q] = (struct xp_worker){
        .id = q,
        .cpu = px->cfg->n_cpus ? px->cfg->cpus[q % px->cfg->n_cpus] : -1,
        .numa_node = node,
        .n_ports = XP_MAX_PORTS,
        .io = &xp_dpdk_io_ops,
        .queue = xp_dpdk__queue(px->dpdk, q),
        .thread_enter = xp_dpdk_queue__thread_enter,
        .thread_leave = xp_dpdk_queue__thread_leave,
    };
    return 0;
#else
    (void)px;
    (void)q;
    (void)node;
    return -ENOTSUP;
#endif
}

/* Leave the ports with the RX queues they had (channels "set"), once nothing of ours is on them. */
static void restore_rx_queues(struct proxy *px)
{
    for (unsigned p = 0; p < XP_MAX_PORTS; p++) {
        int r;

        if (!px->rx_queues_found[p])
            continue;
        r = xp_nic_set_rx_queues(px->cfg->port_name[p], px->rx_queues_found[p]);
        if (r)
            pr_warn("%s: restoring its %u RX queues: %s", px->cfg->port_name[p],
                    px->rx_queues_found[p], strerror(-r));
        px->rx_queues_found[p] = 0;
    }
}

/*
 * A port with more receive queues than `queues` would hand the extra
 * queues' frames to no socket: fail-open passes them to the kernel
 * unpoliced. Refuse to start (a configuration error: returns -EINVAL) or
 * set the port's queues, as the config's "channels" says. A driver that
 * does not tell its channels is let through with a warning. Before the XDP
 * program is attached: a refusal leaves the ports untouched.
 */
static int check_rx_queues(struct proxy *px)
{
    for (unsigned p = 0; p < XP_MAX_PORTS; p++) {
        const char *dev = px->cfg->port_name[p];
        unsigned n, max;
        int r = xp_nic_rx_queues(dev, &n, &max);

        if (r == -EOPNOTSUPP) {
            pr_warn("%s: the driver does not report its RX channels: make sure it has exactly "
                    "%u (queues), or frames on the others pass unpoliced", dev,
                    px->cfg->queues);
            continue;
        }
        if (r) {
            pr_err("%s: reading its RX channels: %s", dev, strerror(-r));
            return r;
        }
        if (n == px->cfg->queues)
            continue;
        if (!px->cfg->channels_set) {
            pr_err("%s has %u RX queues but \"queues\" is %u: frames on the other queues "
                   "would reach no socket and pass unpoliced. Set \"queues\": %u, or "
                   "\"channels\": \"set\" to give %s %u RX queues", dev, n, px->cfg->queues,
                   n, dev, px->cfg->queues);
            return -EINVAL;
        }
        px->rx_queues_found[p] = n;
        r = xp_nic_set_rx_queues(dev, px->cfg->queues);
        if (!r)
            r = xp_nic_rx_queues(dev, &n, &max);
        if (!r && n != px->cfg->queues)
            r = -EINVAL;
        if (r) {
            pr_err("%s: setting %u RX queues (\"channels\": \"set\", it has %u, at most %u): "
                   "%s", dev, px->cfg->queues, n, max, strerror(-r));
            restore_rx_queues(px);
            return -EINVAL;
        }
        pr_info("%s: RX queues set to %u (channels \"set\"; %u again at exit)", dev,
                px->cfg->queues, px->rx_queues_found[p] ? px->rx_queues_found[p] : 0);
    }
    return 0;
}


static int open_queues(struct proxy *px)
{
    int node = numa_node_of(px->cfg->port_name[0]);

#ifdef XP_HAVE_DPDK
    if (px->dpdk)
        node = xp_dpdk__socket(px->dpdk, 0);
#endif
    if (px->cfg->queues > 1 && !px->dpdk) {
        for (unsigned p = 0; p < XP_MAX_PORTS; p++) {
            int r = xp_nic_rss_on_addresses(px->cfg->port_name[p]);

            if (r == -EOPNOTSUPP)
                pr_info("%s: RSS not configurable (veth?): the sender's queue choice decides "
                        "which worker sees a packet; pairs on several queues are counted by "
                        "their owner worker", px->cfg->port_name[p]);
            else if (r)
                pr_warn("%s: setting RSS to hash on addresses only: %s; pairs whose packets "
                        "reach several queues are counted by their owner worker (slower)",
                        px->cfg->port_name[p], strerror(-r));
        }
    }
    if (px->cfg->mode == XP_MODE_GATEWAY) {
        char err[160];

        px->gw = xp_gateway__create(px->cfg, err, sizeof(err));
        if (!px->gw) {
            pr_err("%s", err);
            return -errno;
        }
    }
    /* Gateway mode polices every authenticated unit, unit_prefixes or not. */
    if (px->cfg->pol.n_units > 0 || px->gw) {
        px->dst = xp_dst_table__create(px->cfg->pol.max_dsts, px->cfg->queues);
        if (!px->dst) {
            pr_err("destination table: %s", strerror(errno));
            return -errno;
        }
        /* a pair's packets may reach several queues: one worker counts them all */
        if (px->cfg->queues > 1) {
            px->owners = xp_owners__create((uint64_t)px->cfg->pol.max_pairs * px->cfg->queues,
                                           px->cfg->queues);
            if (!px->owners) {
                pr_err("pair owners: %s", strerror(errno));
                return -errno;
            }
        }
    } else {
        pr_info("no policer.unit_prefixes: forwarding without policing");
    }

    for (unsigned q = 0; q < px->cfg->queues; q++) {
        int ret = px->dpdk ? dpdk_worker(px, q, node) : xsk_worker(px, q, node);

        if (ret)
            return ret;
        xp_worker__init(&px->workers[q]);
        if (px->dst) {
            /*
             * Gateway mode: XDP sees only outer addresses, so the pairs'
             * blocks live in the worker (early drop after authentication).
             */
            px->pipelines[q] = xp_pipeline__create(px->cfg, q, px->dst, px->owners,
                                                   px->gw ? NULL : px->prog);
            if (!px->pipelines[q]) {
                int err = errno;

                pr_err("queue %u: policer: %s", q, strerror(err));
                return -err;
            }
            /* No XDP in front of the worker: blocked pairs stop right after parsing. */
            ret = px->prog && !px->gw ? 0 : xp_pipeline__set_early_drop(px->pipelines[q]);
            if (ret)
                return ret;
            px->workers[q].pipeline = px->pipelines[q];
            px->workers[q].police_port = XP_PORT_ACCESS;
        }
        if (px->gw) {
            px->gw_queues[q] = xp_gw_queue__create(px->gw, px->pipelines[q], XP_XSK_FRAME_SIZE);
            if (!px->gw_queues[q])
                return -errno;
            px->workers[q].gw = px->gw_queues[q];
        }
    }
    return 0;
}

struct reload_arg {
    struct xp_pipeline *pl;
    const struct xp_config *cfg;
    int ret;
};

static void reload_on_worker(struct xp_worker *w, void *arg)
{
    struct reload_arg *ra = arg;

    (void)w;
    ra->ret = xp_pipeline__reconfigure(ra->pl, ra->cfg);
}

/*
 * Read the configuration file again and switch every worker to it between
 * two bursts: no packet is lost and the pair tables stay. A file that does
 * not parse, or that changes a key that cannot change live, is refused and
 * the running configuration stays. 0, or -1 with msg set.
 */
static int reload(struct proxy *px, char *msg, size_t msg_len)
{
    struct xp_config *next = calloc(1, sizeof(*next)), *old = px->cfg;

    if (!next) {
        snprintf(msg, msg_len, "out of memory");
        return -1;
    }
    if (xp_config_load(px->config_path, next, msg, msg_len) ||
        xp_config_reload_check(old, next, msg, msg_len))
        goto refuse;
    if (px->gw && xp_gateway__set_units(px->gw, next, msg, msg_len))
        goto refuse;
    for (unsigned q = 0; q < old->queues && px->dst; q++) {
        struct reload_arg ra = { .pl = px->pipelines[q], .cfg = next };

        xp_worker__call(&px->workers[q], reload_on_worker, &ra);
        if (ra.ret) {
            /* The limits were checked when parsing: this is a bug, not bad input. */
            snprintf(msg, msg_len, "queue %u refused the new limits: %s", q, strerror(-ra.ret));
            for (unsigned r = 0; r < q; r++) {
                struct reload_arg back = { .pl = px->pipelines[r], .cfg = old };

                xp_worker__call(&px->workers[r], reload_on_worker, &back);
            }
            if (px->gw)
                xp_gateway__set_units(px->gw, old, msg + strlen(msg), 0);
            goto refuse;
        }
    }
    px->cfg = next;
    xp_log_set_level(next->log_level);
    if (px->sync)
        xp_proxy_sync__set_period(px->sync, next->sync.period_ms);
    free(old);
    snprintf(msg, msg_len, "reloaded %s", px->config_path);
    return 0;

refuse:
    free(next);
    return -1;
}

/* ---- the control socket ---- */

struct flows_arg {
    struct xp_pipeline *pl;
    uint32_t cursor;
    struct xp_pair_record rec[1024];
    unsigned n;
};

static void scan_on_worker(struct xp_worker *w, void *arg)
{
    struct flows_arg *fa = arg;

    (void)w;
    fa->n = xp_pipeline__scan(fa->pl, &fa->cursor, 65536, fa->rec, 1024);
}

struct flow_row {
    struct xp_pair_record r;
    double rate;
    unsigned queue;
};

static double pair_rate(const struct xp_pair_state *st)
{
    return st->ts2 > st->ts1 ? st->c * 1e9 / (double)(st->ts2 - st->ts1) : 0.0;
}

/* The N heaviest pairs over all workers, by their window's rate. */
static json_t *ctl_flows(struct proxy *px, json_t *req, char *err, size_t errlen)
{
    json_int_t top = 20;
    struct flow_row *rows;
    struct flows_arg *fa;
    unsigned n = 0;
    json_t *arr;

    if (!px->dst) {
        snprintf(err, errlen, "no policing configured (policer.unit_prefixes is empty)");
        return NULL;
    }
    if (json_object_get(req, "top")) {
        if (!json_is_integer(json_object_get(req, "top")) ||
            (top = json_integer_value(json_object_get(req, "top"))) < 1 || top > 10000) {
            snprintf(err, errlen, "top: expected an integer 1..10000");
            return NULL;
        }
    }
    rows = calloc(top, sizeof(*rows));
    fa = malloc(sizeof(*fa));
    if (!rows || !fa) {
        free(rows);
        free(fa);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    for (unsigned q = 0; q < px->cfg->queues; q++) {
        fa->pl = px->pipelines[q];
        fa->cursor = 0;
        /* Slices keep each mailbox call short, whatever the table size. */
        while (fa->cursor < xp_pipeline__capacity(fa->pl)) {
            xp_worker__call(&px->workers[q], scan_on_worker, fa);
            for (unsigned i = 0; i < fa->n; i++) {
                double rate = pair_rate(&fa->rec[i].st);
                unsigned slot = n;

                if (n == (unsigned)top) {
                    slot = 0;
                    for (unsigned k = 1; k < n; k++)
                        if (rows[k].rate < rows[slot].rate)
                            slot = k;
                    if (rows[slot].rate >= rate)
                        continue;
                } else {
                    n++;
                }
                rows[slot] = (struct flow_row){ .r = fa->rec[i], .rate = rate, .queue = q };
            }
        }
    }
    for (unsigned a = 1; a < n; a++) {
        for (unsigned b = a; b > 0 && rows[b].rate > rows[b - 1].rate; b--) {
            struct flow_row t = rows[b];

            rows[b] = rows[b - 1];
            rows[b - 1] = t;
        }
    }
    arr = json_array();
    for (unsigned k = 0; k < n; k++) {
        const struct xp_pair_state *st = &rows[k].r.st;
        char unit[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
        bool over = st->ts2 - st->ts1 > px->cfg->pol.t_t2_ms * 1000000ULL &&
                    rows[k].rate > px->cfg->pol.t_f1_pps;

        addr_str(rows[k].r.key.unit, unit, sizeof(unit));
        addr_str(rows[k].r.key.dst, dst, sizeof(dst));
        json_array_append_new(arr, json_pack("{s:s,s:s,s:i,s:f,s:I,s:I,s:f,s:s}",
            "unit", unit, "dst", dst, "queue", (int)rows[k].queue,
            "rate_pps", rows[k].rate, "count", (json_int_t)st->c,
            "local", (json_int_t)st->dc, "window_s", (st->ts2 - st->ts1) / 1e9,
            "verdict", over ? "drop_unit_rate" : "forward"));
    }
    free(rows);
    free(fa);
    return json_pack("{s:o}", "flows", arr);
}

/* "198.18.0.2" or "2001:2::1" as a 16-byte key part; IPv6 units masked to the unit prefix. */
static int ctl_addr(struct proxy *px, json_t *req, const char *name, bool unit, uint8_t out[16],
                    char *err, size_t errlen)
{
    const char *text = json_string_value(json_object_get(req, name));
    struct xp_cidr c;

    if (!text || strchr(text, '/') || xp_cidr_parse(text, &c)) {
        snprintf(err, errlen, "%s: expected an IPv4 or IPv6 address", name);
        return -EINVAL;
    }
    memcpy(out, c.addr, 16);
    if (unit && c.family == 6) {
        unsigned bytes = px->cfg->pol.v6_unit_prefix / 8;

        memset(out + bytes, 0, 16 - bytes);
    }
    return 0;
}

static json_t *ctl_block(struct proxy *px, json_t *req, bool block, char *err, size_t errlen)
{
    uint8_t unit[16], dst[16];
    bool has_dst = json_object_get(req, "dst") != NULL;
    json_int_t seconds = 0;
    struct timespec ts;
    uint64_t expires;
    int ret;

    if (ctl_addr(px, req, "unit", !px->gw, unit, err, errlen) ||
        (has_dst && ctl_addr(px, req, "dst", false, dst, err, errlen)))
        return NULL;
    /* Gateway mode names a unit by its first source prefix: any address it may use finds it. */
    if (px->gw && xp_gateway__unit_name(px->gw, unit, unit)) {
        snprintf(err, errlen, "unit: no configured unit may send from this address");
        return NULL;
    }
    if (json_object_get(req, "seconds")) {
        if (!json_is_integer(json_object_get(req, "seconds")) ||
            (seconds = json_integer_value(json_object_get(req, "seconds"))) < 0 ||
            seconds > 365 * 86400) {
            snprintf(err, errlen, "seconds: expected 0 (until unblocked) .. 31536000");
            return NULL;
        }
    }
    if (!px->prog) {
        /* Operator blocks live in the XDP program's map; the DPDK backend has none (yet). */
        snprintf(err, errlen, "operator blocks are not supported with the dpdk backend");
        return NULL;
    }
    clock_gettime(CLOCK_MONOTONIC, &ts);
    expires = seconds ? (ts.tv_sec + seconds) * 1000000000ULL + ts.tv_nsec : 0;
    /* Gateway mode: XDP sees the tunnel's outer addresses, the gateway sees the units. */
    if (px->gw && block)
        ret = xp_gateway__block(px->gw, unit, has_dst ? dst : NULL, expires);
    else if (px->gw)
        ret = xp_gateway__unblock(px->gw, unit, has_dst ? dst : NULL);
    else if (block)
        ret = xp_xdp_prog__manual_block(px->prog, unit, has_dst ? dst : NULL, expires);
    else
        ret = xp_xdp_prog__manual_unblock(px->prog, unit, has_dst ? dst : NULL);
    if (ret) {
        snprintf(err, errlen, "%s", ret == -ENOENT ? "no such block" :
                 ret == -ENOSPC ? "too many operator blocks" : strerror(-ret));
        return NULL;
    }
    pr_info("operator %s %s%s%s%s", block ? "blocked" : "unblocked",
            json_string_value(json_object_get(req, "unit")), has_dst ? " -> " : " (all destinations)",
            has_dst ? json_string_value(json_object_get(req, "dst")) : "",
            block && seconds ? " for a while" : "");
    return json_pack("{s:b,s:s,s:s,s:I}", block ? "blocked" : "unblocked", true,
                     "unit", json_string_value(json_object_get(req, "unit")),
                     "dst", has_dst ? json_string_value(json_object_get(req, "dst")) : "*",
                     "seconds", seconds);
}

static json_t *ctl_handler(void *ctx, const char *op, json_t *req, char *err, size_t errlen)
{
    struct proxy *px = ctx;

    if (strcmp(op, "stats") == 0) {
        uint64_t rx, tx;

        return stats_document(px, false, &rx, &tx);
    }
    if (strcmp(op, "flows") == 0)
        return ctl_flows(px, req, err, errlen);
    if (strcmp(op, "block") == 0 || strcmp(op, "unblock") == 0)
        return ctl_block(px, req, op[0] == 'b', err, errlen);
    if (strcmp(op, "reload") == 0) {
        char msg[512];

        if (reload(px, msg, errlen < sizeof(msg) ? sizeof(msg) : sizeof(msg))) {
            snprintf(err, errlen, "%s", msg);
            pr_err("reload refused, the running configuration stays: %s", msg);
            return NULL;
        }
        pr_info("%s (xpro-ctl)", msg);
        return json_pack("{s:s}", "message", msg);
    }
    if (strcmp(op, "events") == 0)
        return json_pack("{s:b}", "following", true);
    snprintf(err, errlen, "unknown op \"%s\"", op);
    return NULL;
}

static const struct xp_ctl_op ctl_ops[] = {
    { "stats", "the stats document", false },
    { "flows", "heaviest pairs: {\"top\": N}", false },
    { "block", "operator block: {\"unit\": A, \"dst\": B?, \"seconds\": S?}", false },
    { "unblock", "remove an operator block: {\"unit\": A, \"dst\": B?}", false },
    { "reload", "read the configuration file again", false },
    { "events", "stream events as JSON lines: {\"follow\": true}", true },
    { NULL, NULL, false },
};

static int start_operators(struct proxy *px)
{
    char path[108];
    gid_t gid = (gid_t)-1;
    bool own_dir = false;

    if (px->cfg->ctl_socket[0]) {
        snprintf(path, sizeof(path), "%s", px->cfg->ctl_socket);
    } else {
        if (xp_ctl_default_path(px->cfg->proxy_id, path, sizeof(path)))
            return -ENAMETOOLONG;
        own_dir = true;
    }
    if (px->cfg->ctl_socket_group[0]) {
        struct group *g = getgrnam(px->cfg->ctl_socket_group);

        if (!g) {
            pr_err("ctl_socket_group: no group \"%s\"", px->cfg->ctl_socket_group);
            return -ENOENT;
        }
        gid = g->gr_gid;
    }
    struct xp_ctl_server_conf cc = {
        .path = path,
        .gid = gid,
        .mode = 0660,
        .own_dir = own_dir,
        .ops = ctl_ops,
        .handler = ctl_handler,
        .ctx = px,
    };
    px->ctl = xp_ctl_server__create(&cc);
    if (!px->ctl) {
        pr_err("control socket %s: %s", path, strerror(errno));
        return -errno;
    }
    pr_info("control socket %s", path);
    if (px->cfg->prometheus[0]) {
        struct xp_prom_server_conf pc = { 0 };
        char host[64];

        xp_conf_hostport(px->cfg->prometheus, host, sizeof(host), &pc.port);
        pc.addr = host;
        px->prom = xp_prom_server__create(&pc);
        if (!px->prom) {
            pr_err("prometheus %s: %s", px->cfg->prometheus,
                   errno == EADDRNOTAVAIL ? "only loopback addresses are served" : strerror(errno));
            return -errno;
        }
        pr_info("prometheus metrics on http://%s/metrics", px->cfg->prometheus);
    }
    return 0;
}

static void handle_signal(struct proxy *px, int sig, bool *stop)
{
    char msg[512];

    if (sig == SIGINT || sig == SIGTERM) {
        pr_info("signal %d: stopping", sig);
        *stop = true;
    } else if (sig == SIGHUP) {
        if (reload(px, msg, sizeof(msg)))
            pr_err("reload refused, the running configuration stays: %s", msg);
        else
            pr_info("%s", msg);
    }
}

static int start_sync(struct proxy *px)
{
    static uint8_t secret[XP_SYNC_SECRET_MAX];
    struct xp_proxy_sync_cfg sc = { 0 };
    static char host[64];
    uint16_t port;
    int len;

    if (!px->cfg->sync.central[0])
        return 0;
    if (xp_conf_hostport(px->cfg->sync.central, host, sizeof(host), &port))
        return -EINVAL;
    len = xp_sync_secret__parse(px->cfg->sync.secret, secret, sizeof(secret));
    if (len < 0) {
        pr_err("sync.secret: not a valid secret");
        return len;
    }
    sc.host = host;
    sc.port = port;
    sc.proxy_id = px->cfg->proxy_id;
    sc.secret = secret;
    sc.secret_len = len;
    sc.period_ms = px->cfg->sync.period_ms;
    sc.n_workers = px->cfg->queues;
    sc.workers = px->workers;
    sc.pipelines = px->pipelines;
    sc.owners = px->owners;
    px->sync = xp_proxy_sync__start(&sc);
    if (!px->sync)
        return -errno;
    pr_info("syncing with %s every %u ms as %s", px->cfg->sync.central, sc.period_ms,
            px->cfg->proxy_id);
    return 0;
}

static int run(struct proxy *px, const struct run_opts *o)
{
    double start = now_s(), next = start;
    struct pollfd pfd[1 + 64 + 64];
    bool stop = false;
    sigset_t sigs;
    int sfd, ret = 0;

    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGHUP);
    sigaddset(&sigs, SIGPIPE);
    /* Workers and the sync thread inherit the mask: only this thread takes signals. */
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    sfd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC);
    if (sfd == -1)
        return -errno;

    for (unsigned q = 0; q < px->cfg->queues; q++) {
        ret = xp_worker__start(&px->workers[q]);
        if (ret)
            goto out;
    }
    ret = start_sync(px);
    if (ret)
        goto out;
    if (px->gw)
        pr_info("gateway: tunnel on %s UDP %u for %u unit(s), inner packets by route on %s, "
                "%u queue(s)", px->cfg->port_name[0], px->cfg->gw.tunnel_port,
                xp_gateway__units(px->gw), px->cfg->port_name[1], px->cfg->queues);
    else
        pr_info("forwarding %s <-> %s on %u queue(s), fail-%s", px->cfg->port_name[0],
                px->cfg->port_name[1], px->cfg->queues,
                px->cfg->fail_mode_closed ? "closed" : "open");
    print_stats(px, false);
    next = start + px->cfg->stats_interval_ms / 1000.0;

    while (!stop) {
        double t = now_s(), wait_s = next - t;
        unsigned n = 0, n_ctl = 0, n_prom = 0;

        if (o->duration > 0 && t - start >= o->duration)
            break;
        if (o->duration > 0 && start + o->duration - t < wait_s)
            wait_s = start + o->duration - t;
        if (wait_s > 0.1)
            wait_s = 0.1; /* events leave at least every 100 ms */
        if (wait_s < 0)
            wait_s = 0;
        pfd[n++] = (struct pollfd){ .fd = sfd, .events = POLLIN };
        if (px->ctl)
            n_ctl = xp_ctl_server__pollfds(px->ctl, pfd + n, 64);
        n += n_ctl;
        if (px->prom)
            n_prom = xp_prom_server__pollfds(px->prom, pfd + n, 64);
        n += n_prom;
        if (poll(pfd, n, (int)(wait_s * 1000) + 1) == -1 && errno != EINTR) {
            ret = -errno;
            break;
        }
        if (pfd[0].revents & POLLIN) {
            struct signalfd_siginfo si;

            while (read(sfd, &si, sizeof(si)) == sizeof(si))
                handle_signal(px, si.ssi_signo, &stop);
        }
        /* Called on timeouts too: that is when idle clients expire. */
        if (px->ctl)
            xp_ctl_server__handle(px->ctl, pfd + 1, n_ctl);
        if (px->prom)
            xp_prom_server__handle(px->prom, pfd + 1 + n_ctl, n_prom);
        drain_events(px);
        /* unused destinations: the loop wakes at least every 100 ms, each call scans them all */
        if (px->dst)
            xp_dst_table__reclaim(px->dst, px->cfg->pol.max_dsts);
        if (px->gw)
            xp_gateway__housekeeping(px->gw, xp_xdp_prog__ifindex(px->prog, XP_PORT_CORE),
                                     px->cfg->gw.capacity_pps, mono_ns());
        if (now_s() >= next) {
            print_stats(px, false);
            next += px->cfg->stats_interval_ms / 1000.0;
            if (next < now_s())
                next = now_s() + px->cfg->stats_interval_ms / 1000.0;
        }
    }
out:
    close(sfd);
    return ret;
}

/*
 * Capabilities the proxy keeps for the rest of its life as `user`: none,
 * except in gateway mode CAP_NET_ADMIN, with which the control thread asks
 * the kernel to resolve a next hop (RTM_NEWNEIGH, NTF_USE). Map updates
 * (blocks, management prefixes on reload) and reads go through descriptors
 * opened before the drop and need none; AF_XDP rings and sendto() neither.
 */
static uint64_t caps_to_keep(const struct proxy *px)
{
    return px->gw ? UINT64_C(1) << CAP_NET_ADMIN : 0;
}

static int drop_privileges(struct proxy *px)
{
    char err[256], names[128];
    int ret = xp_priv__drop(&px->target, caps_to_keep(px), err, sizeof(err));

    if (ret) {
        pr_err("user: %s", err);
        return ret;
    }
    xp_priv__names(xp_priv__effective(), names, sizeof(names));
    pr_info("running as %s (uid %u) with capabilities: %s; the monitor (pid %d) keeps root "
            "to undo the set-up at exit", px->target.name, (unsigned)px->target.uid, names,
            (int)getppid());
    return 0;
}

/*
 * The monitor, after the proxy ended (src/proxy/monitor.h): what needs root to
 * undo. Its copy of px predates the sockets; the ports, channels and
 * config are all it reads.
 */
static void monitor_cleanup(void *arg)
{
    struct proxy *px = arg;
    char path[108];
    struct stat st;

    if (px->cfg->fail_mode_closed) {
        pr_info("fail-closed: the XDP program stays attached and drops until a proxy binds again");
    } else {
        for (unsigned p = 0; p < XP_MAX_PORTS; p++) {
            int r = xp_xdp_prog__detach_by_name(px->cfg->port_name[p]);

            if (r)
                pr_warn("%s: detaching XDP at exit: %s", px->cfg->port_name[p], strerror(-r));
        }
        xp_xdp_prog__unpin(px->cfg->proxy_id);
    }
    restore_rx_queues(px);
    /* the control socket, which the proxy could not remove from a root-owned directory */
    if (px->cfg->ctl_socket[0])
        snprintf(path, sizeof(path), "%s", px->cfg->ctl_socket);
    else if (xp_ctl_default_path(px->cfg->proxy_id, path, sizeof(path)))
        path[0] = '\0';
    if (path[0] && lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
        unlink(path);
}

static void shutdown_proxy(struct proxy *px, bool print_final)
{
    /* The sync thread calls into the workers: it goes first. */
    if (px->sync)
        px->sync_final = xp_proxy_sync__stats_json(px->sync);
    xp_proxy_sync__stop(px->sync);
    px->sync = NULL;
    for (unsigned q = 0; q < px->cfg->queues; q++)
        xp_worker__stop(&px->workers[q]);
    for (unsigned q = 0; q < px->cfg->queues; q++) {
        if (px->queues[q] && xp_xsk_queue__drain(px->queues[q], 500))
            pr_warn("queue %u: TX completions still pending at exit", q);
    }
#ifdef XP_HAVE_DPDK
    /* The final line still reads the ports' counters: stopped, not closed. */
    xp_dpdk__stop(px->dpdk);
#endif
    if (print_final)
        print_stats(px, true);
    drain_events(px);
    xp_ctl_server__destroy(px->ctl);
    px->ctl = NULL;
    xp_prom_server__destroy(px->prom);
    px->prom = NULL;
    for (unsigned q = 0; q < px->cfg->queues; q++) {
        xp_gw_queue__destroy(px->gw_queues[q]);
        px->gw_queues[q] = NULL;
        xp_pipeline__destroy(px->pipelines[q]);
        px->pipelines[q] = NULL;
        xp_xsk_queue__destroy(px->queues[q]);
        px->queues[q] = NULL;
    }
    xp_owners__destroy(px->owners);
    px->owners = NULL;
    xp_dst_table__destroy(px->dst);
    px->dst = NULL;
    xp_gateway__destroy(px->gw);
    px->gw = NULL;
#ifdef XP_HAVE_DPDK
    xp_dpdk__destroy(px->dpdk);
    px->dpdk = NULL;
#endif
    json_decref(px->sync_final);
    px->sync_final = NULL;
    if (px->prog && px->cfg->fail_mode_closed && !px->monitored)
        pr_info("fail-closed: the XDP program stays attached and drops until a proxy binds again");
    /* under a monitor, detaching and the channels are the monitor's (it has the privileges) */
    xp_xdp_prog__destroy(px->prog, px->cfg->fail_mode_closed || px->monitored);
    px->prog = NULL;
    if (!px->monitored)
        restore_rx_queues(px);
}

int main(int argc, char **argv)
{
    static struct proxy px;
    struct run_opts o;
    enum xp_log_level level;
    char msg[512];
    int ret;

    xp_log_hook_libraries();
    if (parse_args(argc, argv, &o))
        return EXIT_FAIL_OPTION;
    if (o.print_keys) {
        xp_config_print_keys(stdout);
        return EXIT_OK;
    }
    px.cfg = calloc(1, sizeof(*px.cfg));
    if (!px.cfg)
        return EXIT_FAIL_MEM;
    px.config_path = o.config;
    ret = xp_config_load(o.config, px.cfg, msg, sizeof(msg));
    if (ret) {
        fprintf(stderr, "%s\n", msg);
        return EXIT_FAIL_OPTION;
    }
    if (o.check_only) {
        printf("%s: ok\n", o.config);
        return EXIT_OK;
    }
    xp_log_set_level(px.cfg->log_level);
    if (o.log_level) {
        if (xp_log_level_parse(o.log_level, &level)) {
            fprintf(stderr, "xpro-proxy: --log-level: expected err, warn, info or debug\n");
            return EXIT_FAIL_OPTION;
        }
        xp_log_set_level(level);
    }
    if (strcmp(o.stats_out, "-") == 0) {
        px.stats = stdout;
    } else {
        px.stats = fopen(o.stats_out, "a");
        if (!px.stats) {
            pr_err("--stats-out %s: %s", o.stats_out, strerror(errno));
            return EXIT_FAIL_OPTION;
        }
    }
    if (o.events_out || px.cfg->events_out[0]) {
        const char *path = o.events_out ? o.events_out : px.cfg->events_out;

        px.events = strcmp(path, "-") == 0 ? stdout : fopen(path, "a");
        if (!px.events) {
            pr_err("events file %s: %s", path, strerror(errno));
            return EXIT_FAIL_OPTION;
        }
    }
    if (px.cfg->events_syslog[0]) {
        px.syslog = xp_syslog__open(px.cfg->events_syslog, "xpro-proxy");
        if (!px.syslog) {
            pr_err("events_syslog %s: %s", px.cfg->events_syslog, strerror(errno));
            return EXIT_FAIL_OPTION;
        }
    }
    if (px.cfg->backend == XP_BACKEND_DPDK) {
        ret = start_dpdk(&px);
        if (ret)
            return errno_to_exit(-ret);
    } else {
        if (geteuid() != 0)
            pr_warn("not running as root: loading XDP needs CAP_BPF and CAP_NET_ADMIN");
        if (px.cfg->user[0]) {
            if (xp_priv__resolve(px.cfg->user, &px.target, msg, sizeof(msg))) {
                pr_err("%s", msg);
                return EXIT_FAIL_OPTION;
            }
        } else if (geteuid() == 0) {
            pr_warn("running as root for its whole life: set \"user\" to drop to an account "
                    "after set-up (docs/operators.md \"Privileges\")");
        }
        if (xp_bpffs_check()) {
            pr_err("no BPF filesystem at " XP_BPFFS_ROOT ": mount -t bpf bpf " XP_BPFFS_ROOT);
            return EXIT_FAIL_BPFFS;
        }
        ret = check_rx_queues(&px);
        if (ret)
            return ret == -EINVAL ? EXIT_FAIL_OPTION : errno_to_exit(-ret);
        px.prog = xp_xdp_prog__attach(px.cfg);
        if (!px.prog) {
            ret = errno_to_exit(errno);
            restore_rx_queues(&px);
            return ret == EXIT_FAIL || ret == EXIT_FAIL_BUSY ? EXIT_FAIL_BPF : ret;
        }
        /* Root's part is done: from here the monitor keeps it, the proxy goes on without. */
        if (px.cfg->user[0]) {
            ret = xp_monitor__split(monitor_cleanup, &px);
            if (ret) {
                pr_err("fork: %s", strerror(-ret));
                shutdown_proxy(&px, false);
                return EXIT_FAIL;
            }
            px.monitored = true;
        }
    }
    ret = open_queues(&px);
    if (!ret)
        ret = start_operators(&px);
    /* one thread so far: every capability goes, for all of the process */
    if (!ret && px.monitored)
        ret = drop_privileges(&px);
    if (ret) {
        shutdown_proxy(&px, false);
        return errno_to_exit(-ret);
    }
    ret = run(&px, &o);
    shutdown_proxy(&px, ret == 0);
    if (px.stats != stdout)
        fclose(px.stats);
    if (px.events && px.events != stdout)
        fclose(px.events);
    xp_syslog__close(px.syslog);
    free(px.cfg);
    return ret ? EXIT_FAIL : EXIT_OK;
}
