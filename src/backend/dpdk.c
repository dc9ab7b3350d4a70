// SPDX-License-Identifier: GPL-2.0-only
/*
 * The DPDK backend (see backend.h for the contract).
 *
 * Threads: EAL's main lcore is the proxy's main thread; we give EAL a
 * single lcore so it starts no lcore workers of its own, and keep the
 * main thread's CPU set so the proxy's layout (cpus, taskset) is what the
 * operator asked for. Workers are the proxy's pthreads, registered with
 * rte_thread_register() from their own thread: registered threads get an
 * lcore id, and with it the mempool's per-lcore cache (without one every
 * mbuf alloc/free is an atomic ring operation).
 *
 * Memory: one mbuf pool per port and queue, on the port's NUMA socket. A
 * frame received on the access port is sent from the core port in the
 * same mbuf and returns to its own pool once transmitted.
 *
 * Nothing here calls rte_exit(): every failure is logged and returned.
 */
#include "src/backend/dpdk.h"
#include "src/backend/backend_internal.h"

#include <errno.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "src/util/counters.h"
#include "src/util/log.h"

/* Poll-mode idle sleep: starts short (latency), grows while idle (CPU for the neighbours). */
#define XP_DPDK_SLEEP_MIN_US 50
#define XP_DPDK_SLEEP_MAX_US 500
#define XP_DPDK_MBUF_CACHE 256
#define XP_DPDK_EAL_ARGS_MAX 64

/* Per port of one queue; written only by the owning worker. */
struct queue_port_stats {
    uint64_t rx_packets;
    uint64_t rx_bytes;
    uint64_t tx_packets;
    uint64_t tx_bytes;
    uint64_t rx_multiseg;
};

struct xp_dpdk_queue {
    uint16_t port_id[XP_DPDK_PORTS];
    uint16_t qid;
    unsigned idle_waits;          /* consecutive wait() calls without a frame since */
    bool registered;              /* the worker thread holds an lcore id */
    struct queue_port_stats st[XP_DPDK_PORTS] __attribute__((aligned(64)));
} __attribute__((aligned(64)));

struct xp_dpdk {
    unsigned n_queues;
    bool eal_up;
    bool configured[XP_DPDK_PORTS];
    bool started[XP_DPDK_PORTS];
    bool rss[XP_DPDK_PORTS];
    uint16_t port_id[XP_DPDK_PORTS];
    int socket[XP_DPDK_PORTS];
    char name[XP_DPDK_PORTS][RTE_ETH_NAME_MAX_LEN];
    struct rte_mempool **pools;   /* [port * n_queues + q] */
    struct xp_dpdk_queue **queues;
};

/* EAL can start once per process, and cannot start again after rte_eal_cleanup(). */
static atomic_bool eal_used;

static bool has_core_option(const struct xp_dpdk_cfg *cfg)
{
    for (unsigned i = 0; i < cfg->n_eal_args; i++) {
        const char *a = cfg->eal_args[i];

        if (strcmp(a, "-l") == 0 || strcmp(a, "-c") == 0 || strncmp(a, "--lcores", 8) == 0 ||
            (a[0] == '-' && (a[1] == 'l' || a[1] == 'c') && a[2] >= '0' && a[2] <= '9'))
            return true;
    }
    return false;
}

/* "0@(0-1,3)": lcore 0 may run wherever the caller may, i.e. EAL leaves it where it is. */
static int lcores_arg(char *buf, size_t len)
{
    cpu_set_t set;
    size_t n;
    int first = -1, prev = -2;

    if (sched_getaffinity(0, sizeof(set), &set))
        return -errno;
    n = snprintf(buf, len, "0@(");
    for (int c = 0; c <= CPU_SETSIZE; c++) {
        bool in = c < CPU_SETSIZE && CPU_ISSET(c, &set);

        if (in && first < 0)
            first = c;
        if (in) {
            prev = c;
            continue;
        }
        if (first >= 0) {
            n += snprintf(buf + n, n < len ? len - n : 0, "%s%d", buf[n - 1] == '(' ? "" : ",",
                          first);
            if (prev > first)
                n += snprintf(buf + n, n < len ? len - n : 0, "-%d", prev);
            first = -1;
        }
        if (n >= len)
            return -ENAMETOOLONG;
    }
    n += snprintf(buf + n, n < len ? len - n : 0, ")");
    return n < len ? 0 : -ENAMETOOLONG;
}

static int eal_start(const struct xp_dpdk_cfg *cfg)
{
    char *argv[XP_DPDK_EAL_ARGS_MAX + 4], *owned[XP_DPDK_EAL_ARGS_MAX];
    char lcores[256], prog[] = "xpro-proxy", opt[] = "--lcores";
    cpu_set_t saved;
    bool restore;
    int argc = 0, n_owned = 0, ret;

    if (atomic_exchange(&eal_used, true)) {
        pr_err("EAL was already started in this process");
        return -EALREADY;
    }
    if (cfg->n_eal_args > XP_DPDK_EAL_ARGS_MAX) {
        pr_err("at most %d EAL arguments", XP_DPDK_EAL_ARGS_MAX);
        return -EINVAL;
    }
    argv[argc++] = prog;
    /*
     * rte_eal_init() permutes and overwrites argv (it puts argv[0] where the
     * parsed options end): it gets copies, and we free them from owned[].
     */
    for (unsigned i = 0; i < cfg->n_eal_args; i++) {
        owned[n_owned] = strdup(cfg->eal_args[i]);
        if (!owned[n_owned]) {
            ret = -ENOMEM;
            goto out;
        }
        argv[argc++] = owned[n_owned++];
    }
    if (!has_core_option(cfg)) {
        ret = lcores_arg(lcores, sizeof(lcores));
        if (ret)
            goto out;
        argv[argc++] = opt;
        argv[argc++] = lcores;
    }
    argv[argc] = NULL;
    /* Our stdout may carry the stats lines: EAL's log goes to stderr with ours. */
    rte_openlog_stream(stderr);
    restore = sched_getaffinity(0, sizeof(saved), &saved) == 0;
    ret = rte_eal_init(argc, argv);
    if (ret < 0) {
        ret = rte_errno ? -rte_errno : -EINVAL;
        pr_err("rte_eal_init: %s (check dpdk.eal_args)", rte_strerror(-ret));
        goto out;
    }
    if (ret != argc - 1) {
        pr_err("dpdk.eal_args: unexpected argument \"%s\"", ret + 1 < argc ? argv[ret + 1] : "?");
        rte_eal_cleanup();
        ret = -EINVAL;
        goto out;
    }
    /* Belt and braces: with -l/--lcores from the operator EAL may have moved us. */
    if (restore && sched_setaffinity(0, sizeof(saved), &saved))
        pr_warn("cannot restore the main thread's CPU set: %s", strerror(errno));
    ret = 0;
out:
    for (int i = 0; i < n_owned; i++)
        free(owned[i]);
    return ret;
}

static int port_setup(struct xp_dpdk *d, const struct xp_dpdk_cfg *cfg, unsigned p)
{
    uint16_t pid = cfg->port_id[p], nrx = cfg->ring_size, ntx = cfg->ring_size;
    struct rte_eth_conf conf;
    struct rte_eth_dev_info info;
    struct rte_eth_link link;
    int ret;

    if (!rte_eth_dev_is_valid_port(pid)) {
        pr_err("%s port: no DPDK port %u (%u ports; check the --vdev / -a arguments)",
               p ? "core" : "access", pid, rte_eth_dev_count_avail());
        return -ENODEV;
    }
    d->port_id[p] = pid;
    d->socket[p] = rte_eth_dev_socket_id(pid);
    rte_eth_dev_get_name_by_port(pid, d->name[p]);
    ret = rte_eth_dev_info_get(pid, &info);
    if (ret) {
        pr_err("port %u: rte_eth_dev_info_get: %s", pid, strerror(-ret));
        return ret;
    }
    if (cfg->n_queues > info.max_rx_queues || cfg->n_queues > info.max_tx_queues) {
        pr_err("port %u (%s): %u queues asked, it has %u RX / %u TX", pid, d->name[p],
               cfg->n_queues, info.max_rx_queues, info.max_tx_queues);
        return -EINVAL;
    }
    memset(&conf, 0, sizeof(conf));
    if (cfg->n_queues > 1) {
        /* Addresses only (no ports): every packet of a (unit, destination) pair meets one worker. */
        uint64_t hf = RTE_ETH_RSS_IP & info.flow_type_rss_offloads;

        if (hf) {
            conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
            conf.rx_adv_conf.rss_conf.rss_hf = hf;
            d->rss[p] = true;
        } else {
            pr_warn("port %u (%s): no RSS on IP addresses; a pair's packets may reach "
                    "several workers", pid, d->name[p]);
        }
    }
    ret = rte_eth_dev_configure(pid, cfg->n_queues, cfg->n_queues, &conf);
    if (ret) {
        pr_err("port %u (%s): rte_eth_dev_configure: %s", pid, d->name[p], strerror(-ret));
        return ret;
    }
    d->configured[p] = true;
    ret = rte_eth_dev_adjust_nb_rx_tx_desc(pid, &nrx, &ntx);
    if (ret) {
        pr_err("port %u: rte_eth_dev_adjust_nb_rx_tx_desc: %s", pid, strerror(-ret));
        return ret;
    }
    for (unsigned q = 0; q < cfg->n_queues; q++) {
        int sock = d->socket[p] >= 0 ? d->socket[p] : (int)SOCKET_ID_ANY;
        char name[RTE_MEMPOOL_NAMESIZE];
        struct rte_mempool *mp;

        snprintf(name, sizeof(name), "xp_mb_%u_%u", pid, q);
        mp = rte_pktmbuf_pool_create(name, cfg->n_mbufs, XP_DPDK_MBUF_CACHE, 0,
                                     RTE_MBUF_DEFAULT_BUF_SIZE, sock);
        if (!mp) {
            ret = -rte_errno;
            pr_err("port %u queue %u: mbuf pool of %u on socket %d: %s (EAL memory: -m?)",
                   pid, q, cfg->n_mbufs, sock, rte_strerror(rte_errno));
            return ret ? ret : -ENOMEM;
        }
        d->pools[p * d->n_queues + q] = mp;
        ret = rte_eth_rx_queue_setup(pid, q, nrx, sock, NULL, mp);
        if (ret) {
            pr_err("port %u: rte_eth_rx_queue_setup(%u): %s", pid, q, strerror(-ret));
            return ret;
        }
        ret = rte_eth_tx_queue_setup(pid, q, ntx, sock, NULL);
        if (ret) {
            pr_err("port %u: rte_eth_tx_queue_setup(%u): %s", pid, q, strerror(-ret));
            return ret;
        }
    }
    /* A bump in the wire forwards frames addressed to anyone. */
    ret = rte_eth_promiscuous_enable(pid);
    if (ret && ret != -ENOTSUP)
        pr_warn("port %u (%s): promiscuous mode: %s", pid, d->name[p], strerror(-ret));
    ret = rte_eth_dev_start(pid);
    if (ret) {
        pr_err("port %u (%s): rte_eth_dev_start: %s", pid, d->name[p], strerror(-ret));
        return ret;
    }
    d->started[p] = true;
    if (rte_eth_link_get_nowait(pid, &link) == 0)
        pr_info("%s port: DPDK port %u (%s), socket %d, %u queue(s), %u/%u descriptors, "
                "link %s", p ? "core" : "access", pid, d->name[p], d->socket[p],
                cfg->n_queues, nrx, ntx, link.link_status ? "up" : "down");
    return 0;
}

struct xp_dpdk *xp_dpdk__create(const struct xp_dpdk_cfg *cfg)
{
    struct xp_dpdk *d;
    int ret;

    if (cfg->n_queues == 0 || cfg->port_id[0] == cfg->port_id[1]) {
        errno = EINVAL;
        return NULL;
    }
    d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->n_queues = cfg->n_queues;
    d->pools = calloc(XP_DPDK_PORTS * cfg->n_queues, sizeof(*d->pools));
    d->queues = calloc(cfg->n_queues, sizeof(*d->queues));
    if (!d->pools || !d->queues) {
        ret = -ENOMEM;
        goto err_destroy;
    }
    ret = eal_start(cfg);
    if (ret)
        goto err_destroy;
    d->eal_up = true;
    for (unsigned p = 0; p < XP_DPDK_PORTS; p++) {
        ret = port_setup(d, cfg, p);
        if (ret)
            goto err_destroy;
    }
    for (unsigned q = 0; q < cfg->n_queues; q++) {
        struct xp_dpdk_queue *dq = rte_zmalloc_socket("xp_dpdk_queue", sizeof(*dq), 64,
                                                      d->socket[0]);

        if (!dq) {
            ret = -ENOMEM;
            goto err_destroy;
        }
        for (unsigned p = 0; p < XP_DPDK_PORTS; p++)
            dq->port_id[p] = d->port_id[p];
        dq->qid = q;
        d->queues[q] = dq;
    }
    return d;

err_destroy:
    xp_dpdk__destroy(d);
    errno = -ret;
    return NULL;
}

void xp_dpdk__stop(struct xp_dpdk *d)
{
    if (!d)
        return;
    for (unsigned p = 0; p < XP_DPDK_PORTS; p++) {
        if (d->started[p]) {
            int ret = rte_eth_dev_stop(d->port_id[p]);

            if (ret)
                pr_warn("port %u: rte_eth_dev_stop: %s", d->port_id[p], strerror(-ret));
            d->started[p] = false;
        }
    }
}

void xp_dpdk__destroy(struct xp_dpdk *d)
{
    if (!d)
        return;
    xp_dpdk__stop(d);
    /* Close first: the PMD gives back the mbufs its RX rings hold, then the pools can go. */
    for (unsigned p = 0; p < XP_DPDK_PORTS; p++) {
        if (d->configured[p])
            rte_eth_dev_close(d->port_id[p]);
        d->configured[p] = false;
    }
    for (unsigned i = 0; d->pools && i < XP_DPDK_PORTS * d->n_queues; i++) {
        /*
         * Closed ports should hold no mbufs: any still out is a leak, ours or
         * the PMD's (net_af_xdp 22.11 keeps its fill ring's: ring size + 1).
         */
        if (d->pools[i] && rte_mempool_avail_count(d->pools[i]) != d->pools[i]->size)
            pr_warn("pool %s: %u of %u mbufs not returned at exit", d->pools[i]->name,
                    d->pools[i]->size - rte_mempool_avail_count(d->pools[i]),
                    d->pools[i]->size);
        rte_mempool_free(d->pools[i]);
        d->pools[i] = NULL;
    }
    for (unsigned q = 0; d->queues && q < d->n_queues; q++) {
        rte_free(d->queues[q]);
        d->queues[q] = NULL;
    }
    if (d->eal_up) {
        int ret = rte_eal_cleanup();

        if (ret)
            pr_warn("rte_eal_cleanup: %s", rte_strerror(-ret));
    }
    free(d->pools);
    free(d->queues);
    free(d);
}

struct xp_dpdk_queue *xp_dpdk__queue(struct xp_dpdk *d, unsigned q)
{
    return q < d->n_queues ? d->queues[q] : NULL;
}

int xp_dpdk__socket(const struct xp_dpdk *d, unsigned p)
{
    return d->socket[p];
}

const char *xp_dpdk__port_name(const struct xp_dpdk *d, unsigned p)
{
    return d->name[p];
}

uint16_t xp_dpdk__port_id(const struct xp_dpdk *d, unsigned p)
{
    return d->port_id[p];
}

bool xp_dpdk__rss(const struct xp_dpdk *d, unsigned p)
{
    return d->rss[p];
}

int xp_dpdk__stats(const struct xp_dpdk *d, unsigned p, struct xp_dpdk_link_stats *link,
                   struct xp_dpdk_queue_stats *queues)
{
    struct rte_eth_stats es;
    struct rte_eth_link lk;
    int ret;

    memset(link, 0, sizeof(*link));
    memset(queues, 0, d->n_queues * sizeof(*queues));
    for (unsigned q = 0; q < d->n_queues; q++) {
        const struct queue_port_stats *s = &d->queues[q]->st[p];

        queues[q].rx_packets = XP_STAT_GET(s->rx_packets);
        queues[q].rx_bytes = XP_STAT_GET(s->rx_bytes);
        queues[q].tx_packets = XP_STAT_GET(s->tx_packets);
        queues[q].tx_bytes = XP_STAT_GET(s->tx_bytes);
        queues[q].rx_multiseg = XP_STAT_GET(s->rx_multiseg);
    }
    if (rte_eth_link_get_nowait(d->port_id[p], &lk) == 0) {
        link->link_up = lk.link_status == RTE_ETH_LINK_UP;
        link->speed_mbps = lk.link_speed;
    }
    ret = rte_eth_stats_get(d->port_id[p], &es);
    if (ret)
        return ret;
    link->ipackets = es.ipackets;
    link->opackets = es.opackets;
    link->ibytes = es.ibytes;
    link->obytes = es.obytes;
    link->imissed = es.imissed;
    link->ierrors = es.ierrors;
    link->oerrors = es.oerrors;
    link->rx_nombuf = es.rx_nombuf;
    for (unsigned q = 0; q < d->n_queues && q < RTE_ETHDEV_QUEUE_STAT_CNTRS; q++) {
        queues[q].q_ipackets = es.q_ipackets[q];
        queues[q].q_opackets = es.q_opackets[q];
        queues[q].q_errors = es.q_errors[q];
    }
    return 0;
}

void xp_dpdk__mbufs(const struct xp_dpdk *d, struct xp_dpdk_mbufs *out)
{
    memset(out, 0, sizeof(*out));
    for (unsigned i = 0; i < XP_DPDK_PORTS * d->n_queues; i++) {
        if (!d->pools[i])
            continue;
        out->total += d->pools[i]->size;
        out->free += rte_mempool_avail_count(d->pools[i]);
    }
}

int xp_dpdk_queue__thread_enter(void *queue)
{
    struct xp_dpdk_queue *q = queue;

    /* Unregistered threads still work, only without mempool caches: warn, go on. */
    if (rte_thread_register()) {
        pr_warn("queue %u: rte_thread_register: %s: mbufs go through the pool's ring",
                q->qid, rte_strerror(rte_errno));
        return 0;
    }
    q->registered = true;
    return 0;
}

void xp_dpdk_queue__thread_leave(void *queue)
{
    struct xp_dpdk_queue *q = queue;

    if (q->registered)
        rte_thread_unregister();
    q->registered = false;
}

/* ---- the burst interface: the worker's thread only ---- */

static unsigned dpdk_rx_burst(void *queue, unsigned port, struct xp_pkt *pkts, unsigned n)
{
    struct xp_dpdk_queue *q = queue;
    struct rte_mbuf *m[XP_BURST_MAX];
    unsigned got, k = 0;
    uint64_t bytes = 0;

    got = rte_eth_rx_burst(q->port_id[port], q->qid, m, n < XP_BURST_MAX ? n : XP_BURST_MAX);
    if (!got)
        return 0;
    for (unsigned i = 0; i < got; i++) {
        /* The parser wants the whole frame in one buffer; a jumbo chain is not policed. */
        if (m[i]->nb_segs != 1) {
            rte_pktmbuf_free(m[i]);
            XP_STAT_ADD(q->st[port].rx_multiseg, 1);
            continue;
        }
        pkts[k].data = rte_pktmbuf_mtod(m[i], uint8_t *);
        rte_prefetch0(pkts[k].data); /* the burst's header misses overlap (see xsk/port.c) */
        pkts[k].len = rte_pktmbuf_data_len(m[i]);
        pkts[k].port = port;
        pkts[k].handle = (uint64_t)(uintptr_t)m[i];
        bytes += pkts[k].len;
        k++;
    }
    q->idle_waits = 0;
    XP_STAT_ADD(q->st[port].rx_packets, k);
    XP_STAT_ADD(q->st[port].rx_bytes, bytes);
    return k;
}

static unsigned dpdk_tx_burst(void *queue, unsigned port, struct xp_pkt *pkts, unsigned n)
{
    struct xp_dpdk_queue *q = queue;
    struct rte_mbuf *m[XP_BURST_MAX];
    uint64_t bytes = 0;
    unsigned sent;

    if (n > XP_BURST_MAX)
        n = XP_BURST_MAX;
    for (unsigned i = 0; i < n; i++) {
        struct rte_mbuf *mb = (struct rte_mbuf *)(uintptr_t)pkts[i].handle;

        /* The pipeline may have moved or trimmed the frame: the mbuf follows xp_pkt. */
        mb->data_off = (uint16_t)(pkts[i].data - (uint8_t *)mb->buf_addr);
        mb->data_len = (uint16_t)pkts[i].len;
        mb->pkt_len = pkts[i].len;
        m[i] = mb;
    }
    sent = rte_eth_tx_burst(q->port_id[port], q->qid, m, n);
    for (unsigned i = 0; i < sent; i++)
        bytes += pkts[i].len;
    XP_STAT_ADD(q->st[port].tx_packets, sent);
    XP_STAT_ADD(q->st[port].tx_bytes, bytes);
    return sent;
}

static void dpdk_release(void *queue, struct xp_pkt *pkts, unsigned n)
{
    struct rte_mbuf *m[XP_BURST_MAX];

    (void)queue;
    while (n) {
        unsigned k = n < XP_BURST_MAX ? n : XP_BURST_MAX;

        for (unsigned i = 0; i < k; i++)
            m[i] = (struct rte_mbuf *)(uintptr_t)pkts[i].handle;
        rte_pktmbuf_free_bulk(m, k);
        pkts += k;
        n -= k;
    }
}

/* rte_eth_tx_burst() hands frames to the device at once: nothing to kick or reap. */
static void dpdk_service(void *queue)
{
    (void)queue;
}

static int dpdk_wait(void *queue, int timeout_ms)
{
    struct xp_dpdk_queue *q = queue;
    unsigned shift = q->idle_waits < 4 ? q->idle_waits : 4;
    long us = (long)XP_DPDK_SLEEP_MIN_US << shift;
    struct timespec ts;

    if (us > XP_DPDK_SLEEP_MAX_US)
        us = XP_DPDK_SLEEP_MAX_US;
    if (timeout_ms >= 0 && us > timeout_ms * 1000L)
        us = timeout_ms * 1000L;
    q->idle_waits++;
    ts.tv_sec = 0;
    ts.tv_nsec = us * 1000;
    nanosleep(&ts, NULL);
    return 0;
}

static uint32_t dpdk_room(void *queue, const struct xp_pkt *pkt);

const struct xp_io_ops xp_dpdk_io_ops = {
    .name = "dpdk",
    .rx_burst = dpdk_rx_burst,
    .tx_burst = dpdk_tx_burst,
    .release = dpdk_release,
    .service = dpdk_service,
    .wait = dpdk_wait,
    .room = dpdk_room,
};

/* ---- the backend interface (backend.h) ------------------------------------------------ */

static uint32_t dpdk_room(void *queue, const struct xp_pkt *pkt)
{
    const struct rte_mbuf *mb = (const struct rte_mbuf *)(uintptr_t)pkt->handle;

    (void)queue;
    return (uint32_t)(mb->buf_len - (pkt->data - (const uint8_t *)mb->buf_addr));
}

struct dpdk_backend {
    struct xp_backend be; /* first: the generic head */
    struct xp_dpdk *d;
};

static struct xp_dpdk *dpdk_of(const struct xp_backend *be)
{
    return ((const struct dpdk_backend *)be)->d;
}

static void dpdk_be_destroy(struct xp_backend *be)
{
    xp_dpdk__destroy(dpdk_of(be));
    free(be);
}

/* The ports, the pools and the queues were all made by create: a worker only takes its own. */
static int dpdk_be_open_queue(struct xp_backend *be, unsigned q, int numa_node,
                              struct xp_backend_queue *out)
{
    (void)numa_node;
    *out = (struct xp_backend_queue){
        .io = &xp_dpdk_io_ops,
        .queue = xp_dpdk__queue(dpdk_of(be), q),
        .thread_enter = xp_dpdk_queue__thread_enter,
        .thread_leave = xp_dpdk_queue__thread_leave,
    };
    return out->queue ? 0 : -EINVAL;
}

/* rte_eth_tx_burst() hands frames to the device at once: nothing in flight to wait for. */
static void dpdk_be_close_queues(struct xp_backend *be)
{
    (void)be;
}

static void dpdk_be_stop(struct xp_backend *be)
{
    xp_dpdk__stop(dpdk_of(be));
}

static int dpdk_be_numa_node(const struct xp_backend *be)
{
    return xp_dpdk__socket(dpdk_of(be), 0);
}

/* A vdev over a kernel interface (af_packet, af_xdp) keeps the kernel's name: use its index. */
static int dpdk_be_ifindex(const struct xp_backend *be, unsigned port)
{
    return (int)if_nametoindex(be->conf.port_name[port]);
}

static void dpdk_be_queue_stats(const struct xp_backend *be, unsigned port, unsigned q,
                                struct xp_backend_qstats *out)
{
    const struct xp_dpdk_queue *dq = xp_dpdk__queue(dpdk_of(be), q);

    *out = (struct xp_backend_qstats){ 0 };
    if (!dq)
        return;
    out->rx_packets = __atomic_load_n(&dq->st[port].rx_packets, __ATOMIC_RELAXED);
    out->rx_bytes = __atomic_load_n(&dq->st[port].rx_bytes, __ATOMIC_RELAXED);
    out->tx_packets = __atomic_load_n(&dq->st[port].tx_packets, __ATOMIC_RELAXED);
    out->tx_bytes = __atomic_load_n(&dq->st[port].tx_bytes, __ATOMIC_RELAXED);
}

static json_t *dpdk_be_port_json(const struct xp_backend *be, unsigned port)
{
    struct xp_dpdk *d = dpdk_of(be);
    struct xp_dpdk_queue_stats qs[XP_MAX_QUEUES];
    struct xp_dpdk_link_stats ls;
    bool pmd = xp_dpdk__stats(d, port, &ls, qs) == 0;

    return json_pack(
        "{s:s,s:i,s:s,s:b,s:o}", "backend", "dpdk", "port_id", (int)xp_dpdk__port_id(d, port),
        "device", xp_dpdk__port_name(d, port), "rss", xp_dpdk__rss(d, port),
        "dpdk", pmd ? json_pack("{s:b,s:i,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
                                "link_up", ls.link_up, "speed_mbps", (int)ls.speed_mbps,
                                "ipackets", (json_int_t)ls.ipackets,
                                "opackets", (json_int_t)ls.opackets,
                                "ibytes", (json_int_t)ls.ibytes, "obytes", (json_int_t)ls.obytes,
                                "imissed", (json_int_t)ls.imissed,
                                "ierrors", (json_int_t)ls.ierrors,
                                "oerrors", (json_int_t)ls.oerrors,
                                "rx_nombuf", (json_int_t)ls.rx_nombuf)
                    : json_null());
}

static json_t *dpdk_be_queue_json(const struct xp_backend *be, unsigned port, unsigned q)
{
    struct xp_dpdk_queue_stats qs[XP_MAX_QUEUES];
    struct xp_dpdk_link_stats ls;

    xp_dpdk__stats(dpdk_of(be), port, &ls, qs);
    return json_pack("{s:I,s:{s:I,s:I,s:I}}", "drop_multiseg", (json_int_t)qs[q].rx_multiseg,
                     "dpdk", "q_ipackets", (json_int_t)qs[q].q_ipackets,
                     "q_opackets", (json_int_t)qs[q].q_opackets,
                     "q_errors", (json_int_t)qs[q].q_errors);
}

/* Mbufs: the pools' size and what is in them; the rest sits in RX rings, TX rings or workers. */
static json_t *dpdk_be_frames_json(const struct xp_backend *be)
{
    struct xp_dpdk_mbufs mb;

    xp_dpdk__mbufs(dpdk_of(be), &mb);
    return json_pack("{s:s,s:I,s:I,s:I}", "kind", "mbuf", "total", (json_int_t)mb.total,
                     "free", (json_int_t)mb.free, "in_use", (json_int_t)(mb.total - mb.free));
}

static const struct xp_backend_impl dpdk_impl = {
    .name = "dpdk",
    .destroy = dpdk_be_destroy,
    .open_queue = dpdk_be_open_queue,
    .close_queues = dpdk_be_close_queues,
    .stop = dpdk_be_stop,
    .numa_node = dpdk_be_numa_node,
    .ifindex = dpdk_be_ifindex,
    .queue_stats = dpdk_be_queue_stats,
    .port_json = dpdk_be_port_json,
    .queue_json = dpdk_be_queue_json,
    .frames_json = dpdk_be_frames_json,
};

struct xp_backend *xp_backend__create_dpdk(const struct xp_backend_conf *conf,
                                           enum xp_backend_fail *why)
{
    struct xp_dpdk_cfg dc = {
        .n_eal_args = conf->n_eal_args,
        .eal_args = conf->eal_args,
        .port_id = { conf->port_id[0], conf->port_id[1] },
        .n_queues = conf->n_queues,
        .n_mbufs = conf->mbufs_per_queue,
        .ring_size = conf->ring_size,
    };
    struct dpdk_backend *b = calloc(1, sizeof(*b));
    int err;

    if (!b)
        return NULL;
    b->be.impl = &dpdk_impl;
    b->be.conf = *conf;
    b->be.conf.eal_args = NULL; /* used once, here */
    b->be.conf.mgmt = NULL;
    b->d = xp_dpdk__create(&dc);
    if (!b->d) {
        err = errno ? errno : EINVAL;
        pr_err("DPDK backend: %s", strerror(err));
        free(b);
        *why = XP_BACKEND_FAIL_PORTS;
        errno = err;
        return NULL;
    }
    return &b->be;
}
