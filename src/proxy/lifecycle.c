// SPDX-License-Identifier: GPL-2.0-only
/*
 * The proxy's life: set-up (the backend on the ports, the monitor split
 * for "user", one queue, worker, pipeline and gateway queue per queue
 * index, the operators' sockets, the privilege drop), the threads' start,
 * reload, housekeeping, and shutdown in the reverse order.
 */
#include <errno.h>
#include <linux/capability.h>
#include <numa.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "src/ctl/ctl.h"
#include "src/gateway/gateway.h"
#include "src/pipeline/pipeline.h"
#include "src/prom/prom.h"
#include "src/proxy/monitor.h"
#include "src/proxy/op_blocks.h"
#include "src/proxy/proxy.h"
#include "src/proxy/sync_thread.h"
#include "src/sync/sync.h"
#include "src/util/log.h"
#include "xsk/port.h"
#include "src/util/clock.h"

/* What the backend needs of the configuration. */
static void backend_conf(const struct xp_config *cfg, struct xp_backend_conf *bc)
{
    memset(bc, 0, sizeof(*bc));
    bc->kind = cfg->backend == XP_BACKEND_DPDK ? XP_BACKEND_KIND_DPDK : XP_BACKEND_KIND_AF_XDP;
    snprintf(bc->proxy_id, sizeof(bc->proxy_id), "%s", cfg->proxy_id);
    bc->n_queues = cfg->queues;
    for (unsigned p = 0; p < XP_MAX_PORTS; p++) {
        snprintf(bc->port_name[p], sizeof(bc->port_name[p]), "%s", cfg->port_name[p]);
        bc->xdp_skb[p] = cfg->port_xdp_skb[p];
        bc->busy_poll[p] = cfg->port_busy_poll[p];
        bc->port_id[p] = p == XP_PORT_ACCESS ? cfg->dpdk.access_port : cfg->dpdk.core_port;
    }
    bc->ring_size = cfg->ring_size;
    bc->frames_per_queue = cfg->frames_per_queue;
    bc->zero_copy = cfg->zero_copy == XP_CONF_ZC_ON ? XP_ZC_ON :
                    cfg->zero_copy == XP_CONF_ZC_OFF ? XP_ZC_OFF : XP_ZC_AUTO;
    bc->fail_closed = cfg->fail_mode_closed;
    bc->channels_set = cfg->channels_set;
    bc->gateway = cfg->mode == XP_MODE_GATEWAY;
    bc->tunnel_port = (uint16_t)cfg->gw.tunnel_port;
    bc->non_ip_pass = cfg->non_ip_pass;
    bc->v6_unit_prefix = cfg->pol.v6_unit_prefix;
    bc->n_mgmt = cfg->n_mgmt;
    bc->mgmt = cfg->mgmt;
    bc->n_eal_args = cfg->dpdk.n_eal_args;
    bc->mbufs_per_queue = cfg->dpdk.mbufs_per_queue;
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

/* The control socket, which the proxy may not remove from a root-owned directory. */
static void remove_ctl_socket(const struct proxy *px)
{
    char path[108];
    struct stat st;

    if (px->cfg->ctl_socket[0])
        snprintf(path, sizeof(path), "%s", px->cfg->ctl_socket);
    else if (xp_ctl_default_path(px->cfg->proxy_id, path, sizeof(path)))
        return;
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
        unlink(path);
}

/*
 * The monitor, after the proxy ended (src/proxy/monitor.h): what needs
 * root to undo. Its copy of px predates the queues; the backend's names
 * and numbers and the config are all it reads.
 */
static void monitor_cleanup(void *arg)
{
    struct proxy *px = arg;

    xp_backend__undo_setup(px->be, px->cfg->fail_mode_closed);
    remove_ctl_socket(px);
}

/*
 * The NUMA node worker q runs on: its pinned CPU's, else the NIC's (the
 * worker moves there, src/proxy/worker.c). A pinned CPU on another node
 * than the NIC works, but every frame then crosses the interconnect.
 */
static int worker_node(const struct proxy *px, unsigned q, int cpu, int nic_node)
{
    int node;

    if (cpu < 0 || numa_available() < 0)
        return nic_node;
    node = numa_node_of_cpu(cpu);
    if (node >= 0 && nic_node >= 0 && node != nic_node)
        pr_warn("queue %u: CPU %d is on NUMA node %d, %s on node %d: every frame crosses "
                "between nodes (pin to a CPU of node %d)", q, cpu, node, px->cfg->port_name[0],
                nic_node, nic_node);
    return node >= 0 ? node : nic_node;
}

static int open_queue(struct proxy *px, unsigned q, int node)
{
    struct xp_backend_queue bq;
    int cpu = px->cfg->n_cpus ? px->cfg->cpus[q % px->cfg->n_cpus] : -1;
    int wnode = worker_node(px, q, cpu, node);
    int ret = xp_backend__open_queue(px->be, q, node, &bq);

    if (ret)
        return ret;
    px->workers[q] = (struct xp_worker){
        .id = q,
        .cpu = cpu,
        .spin_ns = px->cfg->idle_spin_us * 1000ULL,
        .numa_node = node,
        .n_ports = XP_MAX_PORTS,
        .io = bq.io,
        .queue = bq.queue,
        .thread_enter = bq.thread_enter,
        .thread_leave = bq.thread_leave,
    };
    xp_worker__init(&px->workers[q]);
    if (px->dst) {
        void *bctx;
        /* Gateway mode: XDP sees only outer addresses; the workers keep the blocks. */
        const struct xp_block_ops *bops = px->gw ? NULL : xp_backend__blocks(px->be, q, &bctx);

        struct xp_pipeline_conf pc;

        xp_config__pipeline_conf(px->cfg, &pc);
        pc.numa_node = wnode;
        px->pipelines[q] = xp_pipeline__create(&pc, q, px->dst, px->owners, bops,
                                               bops ? bctx : NULL);
        if (!px->pipelines[q]) {
            ret = -errno;
            pr_err("queue %u: policer: %s", q, strerror(-ret));
            return ret;
        }
        /* No XDP map in front of the worker: blocked pairs stop right after parsing. */
        if (!bops) {
            ret = xp_pipeline__set_early_drop(px->pipelines[q]);
            if (ret)
                return ret;
        }
        px->workers[q].pipeline = px->pipelines[q];
        px->workers[q].police_port = XP_PORT_ACCESS;
    }
    if (px->gw) {
        px->gw_queues[q] = xp_gw_queue__create(px->gw, px->pipelines[q], bq.io, bq.queue);
        if (!px->gw_queues[q])
            return -errno;
        px->workers[q].gw = px->gw_queues[q];
    }
    return 0;
}

static int open_queues(struct proxy *px)
{
    int node = xp_backend__numa_node(px->be);

    if (px->cfg->mode == XP_MODE_GATEWAY) {
        char err[160];

        /*
         * The kernel answers ARP and ND for the tunnel address and keeps the
         * core port's routes and neighbours: gateway mode needs both ports
         * visible to it (on DPDK: vdevs over kernel interfaces).
         */
        for (unsigned p = 0; p < XP_MAX_PORTS; p++) {
            if (!xp_backend__ifindex(px->be, p)) {
                pr_err("gateway mode: %s is not a kernel interface: the kernel answers ARP/ND "
                       "for the tunnel address and holds the core's routes (with the dpdk "
                       "backend, use vdevs over kernel interfaces: net_af_packet, net_af_xdp)",
                       px->cfg->port_name[p]);
                return -ENODEV;
            }
        }
        px->gw = xp_gateway__create(&px->cfg->gw, err, sizeof(err));
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
        int ret = open_queue(px, q, node);

        if (ret)
            return ret;
    }
    return 0;
}

int xp_proxy__setup(struct proxy *px, enum xp_proxy_fail *why)
{
    struct xp_backend_conf bc;
    enum xp_backend_fail bwhy;
    const char *args[XP_CONF_EAL_ARGS_MAX];
    sigset_t sigs;
    char msg[256];
    int ret;

    *why = XP_PROXY_FAIL_OTHER;
    if (px->cfg->user[0]) {
        if (xp_priv__resolve(px->cfg->user, &px->target, msg, sizeof(msg))) {
            pr_err("%s", msg);
            *why = XP_PROXY_FAIL_CONFIG;
            return -EINVAL;
        }
    } else if (geteuid() == 0) {
        pr_warn("running as root for its whole life: set \"user\" to drop to an account "
                "after set-up (docs/operators.md \"Privileges\")");
    }
    if (geteuid() != 0 && px->cfg->backend != XP_BACKEND_DPDK)
        pr_warn("not running as root: loading XDP needs CAP_BPF and CAP_NET_ADMIN");
    /*
     * The signals the loop handles are blocked first: threads a backend
     * starts (DPDK's EAL) inherit the mask, so a SIGTERM cannot land on one
     * of them and kill the process without a final stats line.
     */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGHUP);
    sigaddset(&sigs, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);

    backend_conf(px->cfg, &bc);
    for (unsigned i = 0; i < bc.n_eal_args; i++)
        args[i] = px->cfg->dpdk.eal_args[i];
    bc.eal_args = args;
    px->be = xp_backend__create(&bc, &bwhy);
    if (!px->be) {
        ret = -errno;
        *why = bwhy == XP_BACKEND_FAIL_CONFIG ? XP_PROXY_FAIL_CONFIG
             : bwhy == XP_BACKEND_FAIL_BPFFS  ? XP_PROXY_FAIL_BPFFS
             : bwhy == XP_BACKEND_FAIL_LOAD   ? XP_PROXY_FAIL_LOAD
                                              : XP_PROXY_FAIL_OTHER;
        return ret ? ret : -EINVAL;
    }
    /* Root's part is done: from here the monitor keeps it, the proxy goes on without. */
    if (px->cfg->user[0]) {
        ret = xp_monitor__split(monitor_cleanup, px);
        if (ret) {
            pr_err("fork: %s", strerror(-ret));
            xp_proxy__shutdown(px, false);
            return ret;
        }
        px->monitored = true;
    }
    ret = open_queues(px);
    if (!ret)
        ret = xp_proxy__restore_blocks(px);
    if (!ret)
        ret = xp_proxy__start_operators(px);
    /* one thread so far: every capability goes, for all of the process */
    if (!ret && px->monitored)
        ret = drop_privileges(px);
    if (ret) {
        xp_proxy__shutdown(px, false);
        return ret;
    }
    *why = XP_PROXY_FAIL_NONE;
    return 0;
}

int xp_proxy__start_sync(struct proxy *px)
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
    sc.secret_len = (size_t)len;
    sc.period_ms = px->cfg->sync.period_ms;
    sc.t_f2_pps = px->cfg->pol.t_f2_pps;
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

int xp_proxy__start(struct proxy *px)
{
    for (unsigned q = 0; q < px->cfg->queues; q++) {
        int ret = xp_worker__start(&px->workers[q]);

        if (ret)
            return ret;
    }
    if (px->gw)
        pr_info("gateway: tunnel on %s UDP %u for %u unit(s), inner packets by route on %s, "
                "%u queue(s), %s", px->cfg->port_name[0], px->cfg->gw.tunnel_port,
                xp_gateway__units(px->gw), px->cfg->port_name[1], px->cfg->queues,
                xp_backend__name(px->be));
    else
        pr_info("forwarding %s <-> %s on %u queue(s), %s, fail-%s", px->cfg->port_name[0],
                px->cfg->port_name[1], px->cfg->queues, xp_backend__name(px->be),
                px->cfg->fail_mode_closed ? "closed" : "open");
    return xp_proxy__start_sync(px);
}

struct reload_arg {
    struct xp_pipeline *pl;
    struct xp_pipeline_conf conf;
    int ret;
};

static void reload_on_worker(struct xp_worker *w, void *arg)
{
    struct reload_arg *ra = arg;

    (void)w;
    ra->ret = xp_pipeline__reconfigure(ra->pl, &ra->conf);
}

int xp_proxy__reload(struct proxy *px, char *msg, size_t msg_len)
{
    struct xp_config *next = calloc(1, sizeof(*next)), *old = px->cfg;

    if (!next) {
        snprintf(msg, msg_len, "out of memory");
        return -1;
    }
    if (xp_config_load(px->config_path, next, msg, msg_len) ||
        xp_config_reload_check(old, next, msg, msg_len))
        goto refuse;
    if (px->gw && xp_gateway__set_units(px->gw, &next->gw, msg, msg_len))
        goto refuse;
    for (unsigned q = 0; q < old->queues && px->dst; q++) {
        struct reload_arg ra = { .pl = px->pipelines[q] };

        xp_config__pipeline_conf(next, &ra.conf);
        xp_worker__call(&px->workers[q], reload_on_worker, &ra);
        if (ra.ret) {
            /* The limits were checked when parsing: this is a bug, not bad input. */
            snprintf(msg, msg_len, "queue %u refused the new limits: %s", q, strerror(-ra.ret));
            for (unsigned r = 0; r < q; r++) {
                struct reload_arg back = { .pl = px->pipelines[r] };

                xp_config__pipeline_conf(old, &back.conf);
                xp_worker__call(&px->workers[r], reload_on_worker, &back);
            }
            if (px->gw)
                xp_gateway__set_units(px->gw, &old->gw, msg + strlen(msg), 0);
            goto refuse;
        }
    }
    px->cfg = next;
    xp_log_set_level(next->log_level);
    for (unsigned q = 0; q < next->queues; q++)
        atomic_store(&px->workers[q].spin_ns, next->idle_spin_us * 1000ULL);
    if (px->sync)
        xp_proxy_sync__set_period(px->sync, next->sync.period_ms, next->pol.t_f2_pps);
    /* every worker has moved to next's classifier (xp_worker__call waits) */
    xp_config_release(old);
    free(old);
    snprintf(msg, msg_len, "reloaded %s", px->config_path);
    return 0;

refuse:
    xp_config_release(next);
    free(next);
    return -1;
}

void xp_proxy__housekeeping(struct proxy *px)
{
    xp_proxy__drain_events(px);
    xp_proxy__capture_service(px);
    xp_proxy__expire_blocks(px);
    /* unused destinations: the loop wakes at least every 100 ms, each call scans them all */
    if (px->dst)
        xp_dst_table__reclaim(px->dst, px->cfg->pol.max_dsts);
    xp_proxy__fair_tick(px);
    if (px->gw)
        xp_gateway__housekeeping(px->gw, xp_backend__ifindex(px->be, XP_PORT_CORE),
                                 px->cfg->gw.capacity_pps, xp_mono_ns());
}

void xp_proxy__shutdown(struct proxy *px, bool print_final)
{
    /* The sync thread calls into the workers: it goes first. */
    if (px->sync)
        px->sync_final = xp_proxy_sync__stats_json(px->sync);
    xp_proxy_sync__stop(px->sync);
    px->sync = NULL;
    for (unsigned q = 0; q < px->cfg->queues; q++)
        xp_worker__stop(&px->workers[q]);
    /* The final line still reads the ports' counters: stopped, not closed. */
    xp_backend__stop(px->be);
    if (print_final)
        xp_proxy__print_stats(px, true);
    xp_proxy__drain_events(px);
    xp_proxy__capture_stop(px, "shutdown"); /* the workers are stopped: their taps are free */
    xp_ctl_server__destroy(px->ctl);
    px->ctl = NULL;
    xp_prom_server__destroy(px->prom);
    px->prom = NULL;
    xp_backend__close_queues(px->be);
    for (unsigned q = 0; q < px->cfg->queues; q++) {
        xp_gw_queue__destroy(px->gw_queues[q]);
        px->gw_queues[q] = NULL;
        xp_pipeline__destroy(px->pipelines[q]);
        px->pipelines[q] = NULL;
    }
    xp_manual_blocks__free(px->manual);
    px->manual = NULL;
    xp_op_blocks__destroy(px->op_blocks);
    px->op_blocks = NULL;
    xp_proxy__events_free(px);
    xp_owners__destroy(px->owners);
    px->owners = NULL;
    xp_proxy__fair_free(px);
    xp_dst_table__destroy(px->dst);
    px->dst = NULL;
    xp_gateway__destroy(px->gw);
    px->gw = NULL;
    json_decref(px->sync_final);
    px->sync_final = NULL;
    /* under a monitor, the ports are the monitor's to restore (it has the privileges) */
    if (px->be && !px->monitored)
        xp_backend__undo_setup(px->be, px->cfg->fail_mode_closed);
    xp_backend__destroy(px->be);
    px->be = NULL;
}
