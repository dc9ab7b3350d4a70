// SPDX-License-Identifier: GPL-2.0-only
/*
 * xp-minfwd: the minimal AF_XDP forwarder, the baseline the proxy is
 * measured against. Deliberately minimal:
 *   - one thread, one queue (0) per port, two ports, both directions;
 *   - one UMEM shared by the two ports' sockets (XDP_SHARED_UMEM): a frame
 *     received on one port is transmitted on the other without a copy;
 *   - its own XDP program (minfwd.bpf.c: redirect everything to the port's
 *     socket, parse nothing), not libxdp's default program;
 *   - touches the frame like a forwarder does (swaps the MACs) unless
 *     --no-touch;
 *   - need_wakeup: a syscall only when a ring asks for one;
 *   - after --idle-spin loops that found nothing to receive and nothing left
 *     to send it blocks in poll(), so a receive NAPI kthread on the same core
 *     is not starved (docs/platform.md) while a short lull costs no wakeup;
 *     --busy never blocks.
 *   - raises copy-mode TX's 32-frames-per-sendto limit with
 *     XDP_MAX_TX_SKB_BUDGET when the kernel has it (--tx-budget, 0 = leave).
 * Tries zero-copy first, falls back to copy mode, and says which.
 * Prints one JSON object of counters on stdout when it stops.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <getopt.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <xdp/xsk.h>

#include "bench.h"
#include "log.h"
#include "minfwd.bpf.skel.h"
#include "util.h"

#ifndef SOL_XDP
#define SOL_XDP 283
#endif
#ifndef XDP_MAX_TX_SKB_BUDGET
#define XDP_MAX_TX_SKB_BUDGET 9 /* linux/if_xdp.h, kernel >= 6.17 */
#endif

#define XP_MF_FRAME_SIZE XSK_UMEM__DEFAULT_FRAME_SIZE
#define XP_MF_BATCH_MAX 256

struct minfwd_opts {
    const char *ifname[XP_MINFWD_PORTS];
    uint32_t frames;    /* UMEM frames per port, >= 4 * ring */
    uint32_t ring;      /* RX/TX ring size; fill and completion rings are twice that */
    uint32_t batch;
    uint32_t tx_budget; /* 0: leave the kernel default */
    uint32_t idle_spin; /* empty loops before poll() */
    int poll_ms;
    bool busy;
    bool touch;
    int cpu;
    double seconds;     /* 0: until SIGINT/SIGTERM */
};

static const struct minfwd_opts defaults_minfwd = {
    .frames = 8192,
    .ring = 2048,
    .batch = 64,
    .tx_budget = 64,
    .idle_spin = 256,
    .poll_ms = 100,
    .touch = true,
    .cpu = -1,
};

struct minfwd_port {
    struct xsk_ring_cons rx;
    struct xsk_ring_prod tx;
    struct xsk_ring_prod fq;
    struct xsk_ring_cons cq;
    struct xsk_socket *xsk;
    unsigned ifindex;
    int fd;
    bool zero_copy;
    bool xdp_attached;    /* our program is on this port: detach it at teardown */
    bool tx_pending;      /* descriptors submitted but not yet kicked */
    uint64_t rx_packets;
    uint64_t tx_packets;
    uint64_t drop_tx_full;
    uint64_t tx_kicks;
};

struct minfwd {
    struct minfwd_opts opts;
    struct minfwd_port port[XP_MINFWD_PORTS];
    struct minfwd_bpf *skel;
    struct xsk_umem *umem;
    void *area;
    size_t area_size;
    uint64_t *free_frames; /* stack of free UMEM addresses */
    uint32_t n_free;
    uint32_t n_frames;
    uint64_t polls;
    int tx_budget_set;     /* value in effect, 0 if the kernel lacks the option */
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: xp-minfwd --port0 IF --port1 IF [options]\n"
            "  --frames N      UMEM frames per port (default %u)\n"
            "  --ring N        RX/TX ring entries (default %u)\n"
            "  --batch N       burst size, <= %u (default %u)\n"
            "  --tx-budget N   XDP_MAX_TX_SKB_BUDGET, 0 = kernel default (default %u)\n"
            "  --idle-spin N   empty loops before blocking in poll() (default %u)\n"
            "  --poll-ms N     poll() timeout when idle (default %d)\n"
            "  --busy          never block in poll() (starves a NAPI kthread on the same core)\n"
            "  --no-touch      do not swap the MACs\n"
            "  --cpu N         pin to this CPU\n"
            "  --seconds S     stop after S seconds (default: on SIGINT/SIGTERM)\n"
            "  -h, --help, -V, --version\n",
            defaults_minfwd.frames, defaults_minfwd.ring, XP_MF_BATCH_MAX, defaults_minfwd.batch,
            defaults_minfwd.tx_budget, defaults_minfwd.idle_spin, defaults_minfwd.poll_ms);
}

static int parse_args(int argc, char **argv, struct minfwd_opts *o)
{
    static const struct option longopts[] = {
        {"port0", required_argument, NULL, '0'},   {"port1", required_argument, NULL, '1'},
        {"frames", required_argument, NULL, 'f'},  {"ring", required_argument, NULL, 'r'},
        {"batch", required_argument, NULL, 'b'},   {"tx-budget", required_argument, NULL, 'B'},
        {"poll-ms", required_argument, NULL, 'p'}, {"busy", no_argument, NULL, 'y'},
        {"idle-spin", required_argument, NULL, 'S'},
        {"no-touch", no_argument, NULL, 'n'},      {"cpu", required_argument, NULL, 'c'},
        {"seconds", required_argument, NULL, 't'}, {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    uint32_t v;
    int opt, ret = 0;

    *o = defaults_minfwd;
    while ((opt = getopt_long(argc, argv, "hV", longopts, NULL)) != -1) {
        switch (opt) {
        case '0': o->ifname[0] = optarg; break;
        case '1': o->ifname[1] = optarg; break;
        case 'f': ret = xp_bench_parse_u32(optarg, 64, 1u << 20, &o->frames); break;
        case 'r': ret = xp_bench_parse_u32(optarg, 64, 1u << 16, &o->ring); break;
        case 'b': ret = xp_bench_parse_u32(optarg, 1, XP_MF_BATCH_MAX, &o->batch); break;
        case 'B': ret = xp_bench_parse_u32(optarg, 0, 1u << 16, &o->tx_budget); break;
        case 'p':
            ret = xp_bench_parse_u32(optarg, 0, 60000, &v);
            o->poll_ms = (int)v;
            break;
        case 'y': o->busy = true; break;
        case 'S': ret = xp_bench_parse_u32(optarg, 0, UINT32_MAX, &o->idle_spin); break;
        case 'n': o->touch = false; break;
        case 'c':
            ret = xp_bench_parse_u32(optarg, 0, 4095, &v);
            o->cpu = (int)v;
            break;
        case 't': ret = xp_bench_parse_seconds(optarg, &o->seconds); break;
        case 'h': usage(stdout); exit(XP_BENCH_EXIT_OK);
        case 'V': xp_bench_print_version("xp-minfwd"); exit(XP_BENCH_EXIT_OK);
        default: return -EINVAL;
        }
        if (ret) {
            pr_err("bad option value '%s'", optarg);
            return ret;
        }
    }
    if (!o->ifname[0] || !o->ifname[1]) {
        pr_err("--port0 and --port1 are required");
        return -EINVAL;
    }
    /* Ring sizes must be powers of two. */
    if (o->ring & (o->ring - 1) || o->frames & (o->frames - 1)) {
        pr_err("--ring and --frames must be powers of two");
        return -EINVAL;
    }
    /* Each port's frames must cover its fill ring, RX ring, the peer's TX ring and a CQ. */
    if (o->frames < 4 * o->ring) {
        pr_err("--frames must be at least 4 x --ring");
        return -EINVAL;
    }
    return 0;
}

static int load_prog(struct minfwd *mf)
{
    int ret;

    mf->skel = minfwd_bpf__open();
    if (!mf->skel) {
        ret = -errno;
        pr_err("minfwd_bpf__open: %s", strerror(errno));
        return ret;
    }
    mf->skel->rodata->xp_port1_ifindex = mf->port[1].ifindex;
    ret = minfwd_bpf__load(mf->skel);
    if (ret) {
        pr_err("minfwd_bpf__load: %s", strerror(-ret));
        return ret;
    }
    for (int p = 0; p < XP_MINFWD_PORTS; p++) {
        ret = bpf_xdp_attach(mf->port[p].ifindex, bpf_program__fd(mf->skel->progs.xp_minfwd_redirect),
                             XDP_FLAGS_DRV_MODE | XDP_FLAGS_UPDATE_IF_NOEXIST, NULL);
        if (ret) {
            pr_err("attach XDP to %s: %s", mf->opts.ifname[p], strerror(-ret));
            return ret;
        }
        mf->port[p].xdp_attached = true;
    }
    return 0;
}

static int create_socket(struct minfwd *mf, int p, bool zero_copy)
{
    struct minfwd_port *port = &mf->port[p];
    struct xsk_socket_config cfg = {
        .rx_size = mf->opts.ring,
        .tx_size = mf->opts.ring,
        .libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
        .bind_flags = XDP_USE_NEED_WAKEUP | (zero_copy ? XDP_ZEROCOPY : XDP_COPY),
    };

    /* libxdp 1.3.1 leaves the cached indexes uninitialised (docs/platform.md). */
    memset(&port->rx, 0, sizeof(port->rx));
    memset(&port->tx, 0, sizeof(port->tx));
    if (p == 0)
        return xsk_socket__create(&port->xsk, mf->opts.ifname[p], 0, mf->umem, &port->rx,
                                  &port->tx, &cfg);
    memset(&port->fq, 0, sizeof(port->fq));
    memset(&port->cq, 0, sizeof(port->cq));
    return xsk_socket__create_shared(&port->xsk, mf->opts.ifname[p], 0, mf->umem, &port->rx,
                                     &port->tx, &port->fq, &port->cq, &cfg);
}

static int setup(struct minfwd *mf)
{
    struct xsk_umem_config ucfg = {
        .fill_size = 2 * mf->opts.ring,
        .comp_size = 2 * mf->opts.ring,
        .frame_size = XP_MF_FRAME_SIZE,
        .frame_headroom = 0,
    };
    int ret;

    for (int p = 0; p < XP_MINFWD_PORTS; p++) {
        mf->port[p].ifindex = if_nametoindex(mf->opts.ifname[p]);
        if (!mf->port[p].ifindex) {
            pr_err("if_nametoindex(%s): %s", mf->opts.ifname[p], strerror(errno));
            return -ENODEV;
        }
    }
    mf->n_frames = mf->opts.frames * XP_MINFWD_PORTS;
    mf->area_size = (size_t)mf->n_frames * XP_MF_FRAME_SIZE;
    mf->area = mmap(NULL, mf->area_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                    -1, 0);
    if (mf->area == MAP_FAILED) {
        mf->area = NULL;
        pr_err("mmap UMEM: %s", strerror(errno));
        return -ENOMEM;
    }
    mf->free_frames = calloc(mf->n_frames, sizeof(*mf->free_frames));
    if (!mf->free_frames)
        return -ENOMEM;
    for (uint32_t i = 0; i < mf->n_frames; i++)
        mf->free_frames[i] = (uint64_t)i * XP_MF_FRAME_SIZE;
    mf->n_free = mf->n_frames;

    ret = load_prog(mf);
    if (ret)
        return ret;

    memset(&mf->port[0].fq, 0, sizeof(mf->port[0].fq));
    memset(&mf->port[0].cq, 0, sizeof(mf->port[0].cq));
    ret = xsk_umem__create(&mf->umem, mf->area, mf->area_size, &mf->port[0].fq, &mf->port[0].cq,
                           &ucfg);
    if (ret) {
        pr_err("xsk_umem__create: %s", strerror(-ret));
        return ret;
    }
    for (int p = 0; p < XP_MINFWD_PORTS; p++) {
        struct minfwd_port *port = &mf->port[p];
        unsigned budget = mf->opts.tx_budget;

        struct xdp_options xo;
        socklen_t optlen = sizeof(xo);

        /* Port 1 shares port 0's UMEM and inherits its mode whatever it asks for. */
        ret = create_socket(mf, p, true);
        if (ret)
            ret = create_socket(mf, p, false);
        if (ret) {
            pr_err("xsk_socket__create on %s: %s", mf->opts.ifname[p], strerror(-ret));
            return ret;
        }
        port->fd = xsk_socket__fd(port->xsk);
        if (getsockopt(port->fd, SOL_XDP, XDP_OPTIONS, &xo, &optlen) == 0)
            port->zero_copy = xo.flags & XDP_OPTIONS_ZEROCOPY;
        /* The XSKMAP key is the port, not the queue: no xsk_socket__update_xskmap(). */
        {
            __u32 key = p, fd = port->fd;

            ret = bpf_map_update_elem(bpf_map__fd(mf->skel->maps.xp_minfwd_xsks), &key, &fd, 0);
            if (ret)
                ret = -errno;
        }
        if (ret) {
            pr_err("XSKMAP update for %s: %s", mf->opts.ifname[p], strerror(-ret));
            return ret;
        }
        if (budget && !port->zero_copy) {
            if (setsockopt(port->fd, SOL_XDP, XDP_MAX_TX_SKB_BUDGET, &budget, sizeof(budget)) == 0)
                mf->tx_budget_set = budget;
            else
                pr_warn("XDP_MAX_TX_SKB_BUDGET %u on %s: %s (kernel default kept)", budget,
                        mf->opts.ifname[p], strerror(errno));
        }
        pr_info("%s: queue 0, %s mode", mf->opts.ifname[p], port->zero_copy ? "zero-copy" : "copy");
    }
    return 0;
}

static void teardown(struct minfwd *mf)
{
    for (int p = 0; p < XP_MINFWD_PORTS; p++) {
        if (mf->port[p].xdp_attached)
            bpf_xdp_detach(mf->port[p].ifindex, XDP_FLAGS_DRV_MODE, NULL);
        mf->port[p].xdp_attached = false;
        xsk_socket__delete(mf->port[p].xsk);
        mf->port[p].xsk = NULL;
    }
    if (mf->umem)
        xsk_umem__delete(mf->umem);
    mf->umem = NULL;
    minfwd_bpf__destroy(mf->skel);
    mf->skel = NULL;
    if (mf->area)
        munmap(mf->area, mf->area_size);
    mf->area = NULL;
    free(mf->free_frames);
    mf->free_frames = NULL;
}

static void refill(struct minfwd *mf, struct minfwd_port *port)
{
    uint32_t n, idx;

    n = xsk_prod_nb_free(&port->fq, mf->n_free);
    if (n > mf->n_free)
        n = mf->n_free;
    if (n == 0)
        return;
    n = xsk_ring_prod__reserve(&port->fq, n, &idx);
    for (uint32_t i = 0; i < n; i++)
        *xsk_ring_prod__fill_addr(&port->fq, idx + i) = mf->free_frames[--mf->n_free];
    xsk_ring_prod__submit(&port->fq, n);
}

static void reap(struct minfwd *mf, struct minfwd_port *port)
{
    uint32_t n, idx;

    n = xsk_ring_cons__peek(&port->cq, 2 * mf->opts.ring, &idx);
    for (uint32_t i = 0; i < n; i++)
        mf->free_frames[mf->n_free++] = *xsk_ring_cons__comp_addr(&port->cq, idx + i);
    if (n)
        xsk_ring_cons__release(&port->cq, n);
}

static void kick_tx(struct minfwd_port *port)
{
    if (!xsk_ring_prod__needs_wakeup(&port->tx)) {
        port->tx_pending = false;
        return;
    }
    port->tx_kicks++;
    /*
     * Copy mode sends up to the TX budget per call, the next loop sends the
     * rest. EAGAIN/EBUSY/ENOBUFS are transient: the frames stay in the ring.
     */
    (void)sendto(port->fd, NULL, 0, MSG_DONTWAIT, NULL, 0);
    port->tx_pending = xsk_prod_nb_free(&port->tx, port->tx.size) < port->tx.size;
}

static inline void swap_macs(uint8_t *p)
{
    uint8_t tmp[ETH_ALEN];

    memcpy(tmp, p, ETH_ALEN);
    memcpy(p, p + ETH_ALEN, ETH_ALEN);
    memcpy(p + ETH_ALEN, tmp, ETH_ALEN);
}

/* Move one burst from `in`'s RX ring to `out`'s TX ring; returns frames received. */
static uint32_t forward(struct minfwd *mf, struct minfwd_port *in, struct minfwd_port *out)
{
    uint32_t n, m, idx_rx, idx_tx = 0;

    /* Back-pressure: take no more than the TX ring can hold; the rest waits in RX. */
    n = xsk_prod_nb_free(&out->tx, mf->opts.batch);
    if (n > mf->opts.batch)
        n = mf->opts.batch;
    n = n ? xsk_ring_cons__peek(&in->rx, n, &idx_rx) : 0;
    if (n == 0) {
        if (xsk_ring_prod__needs_wakeup(&in->fq))
            recvfrom(in->fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
        return 0;
    }
    m = xsk_ring_prod__reserve(&out->tx, n, &idx_tx);
    for (uint32_t i = 0; i < n; i++) {
        const struct xdp_desc *d = xsk_ring_cons__rx_desc(&in->rx, idx_rx + i);

        if (i < m) {
            struct xdp_desc *t = xsk_ring_prod__tx_desc(&out->tx, idx_tx + i);

            if (mf->opts.touch)
                swap_macs(xsk_umem__get_data(mf->area, d->addr));
            t->addr = d->addr;
            t->len = d->len;
        } else {
            mf->free_frames[mf->n_free++] = xsk_umem__extract_addr(d->addr);
        }
    }
    xsk_ring_cons__release(&in->rx, n);
    if (m) {
        xsk_ring_prod__submit(&out->tx, m);
        out->tx_pending = true;
    }
    in->rx_packets += n;
    out->tx_packets += m;
    out->drop_tx_full += n - m;
    return n;
}

static void loop(struct minfwd *mf)
{
    struct pollfd fds[XP_MINFWD_PORTS];
    uint64_t deadline = 0;
    uint32_t iter = 0, idle = 0;

    if (mf->opts.seconds > 0)
        deadline = xp_bench_now_ns() + (uint64_t)(mf->opts.seconds * 1e9);
    for (int p = 0; p < XP_MINFWD_PORTS; p++) {
        fds[p].fd = mf->port[p].fd;
        fds[p].events = POLLIN;
        refill(mf, &mf->port[p]);
    }
    while (!xp_bench_stopping()) {
        uint32_t rx = 0;
        bool pending = false;

        for (int p = 0; p < XP_MINFWD_PORTS; p++)
            rx += forward(mf, &mf->port[p], &mf->port[p ^ 1]);
        for (int p = 0; p < XP_MINFWD_PORTS; p++) {
            if (mf->port[p].tx_pending)
                kick_tx(&mf->port[p]);
            reap(mf, &mf->port[p]);
            pending |= mf->port[p].tx_pending;
        }
        for (int p = 0; p < XP_MINFWD_PORTS; p++)
            refill(mf, &mf->port[p]);
        if (rx || pending || mf->opts.busy) {
            idle = 0;
        } else if (++idle > mf->opts.idle_spin) {
            idle = 0;
            mf->polls++;
            poll(fds, XP_MINFWD_PORTS, mf->opts.poll_ms);
        }
        if (deadline && (++iter & 1023) == 0 && xp_bench_now_ns() > deadline)
            break;
    }
}

static void print_stats(const struct minfwd *mf)
{
    printf("{\"minfwd\": {\"tx_budget\": %d, \"touch\": %s, \"busy\": %s, \"idle_spin\": %u, "
           "\"polls\": %llu, \"ports\": [",
           mf->tx_budget_set, mf->opts.touch ? "true" : "false", mf->opts.busy ? "true" : "false",
           mf->opts.idle_spin, (unsigned long long)mf->polls);
    for (int p = 0; p < XP_MINFWD_PORTS; p++) {
        const struct minfwd_port *port = &mf->port[p];
        struct xdp_statistics st;
        socklen_t len = sizeof(st);

        memset(&st, 0, sizeof(st));
        if (port->xsk)
            getsockopt(port->fd, SOL_XDP, XDP_STATISTICS, &st, &len);
        printf("%s{\"name\": \"%s\", \"zero_copy\": %s, \"rx_packets\": %llu, "
               "\"tx_packets\": %llu, \"drop_tx_full\": %llu, \"tx_kicks\": %llu, "
               "\"xsk\": {\"rx_dropped\": %llu, \"rx_ring_full\": %llu, "
               "\"rx_fill_ring_empty_descs\": %llu, \"tx_ring_empty_descs\": %llu}}",
               p ? ", " : "", mf->opts.ifname[p], port->zero_copy ? "true" : "false",
               (unsigned long long)port->rx_packets, (unsigned long long)port->tx_packets,
               (unsigned long long)port->drop_tx_full, (unsigned long long)port->tx_kicks,
               (unsigned long long)st.rx_dropped, (unsigned long long)st.rx_ring_full,
               (unsigned long long)st.rx_fill_ring_empty_descs,
               (unsigned long long)st.tx_ring_empty_descs);
    }
    printf("]}}\n");
    fflush(stdout);
}

int main(int argc, char **argv)
{
    struct minfwd *mf;
    int ret, code = XP_BENCH_EXIT_OK;

    xp_log_set_thread_name("minfwd");
    xp_log_hook_libraries();
    mf = calloc(1, sizeof(*mf));
    if (!mf)
        return XP_BENCH_EXIT_FAIL_MEM;
    if (parse_args(argc, argv, &mf->opts)) {
        usage(stderr);
        code = XP_BENCH_EXIT_FAIL_OPTION;
        goto out_free;
    }
    if (xp_bench_start(mf->opts.cpu)) {
        code = XP_BENCH_EXIT_FAIL;
        goto out_free;
    }
    ret = setup(mf);
    if (ret) {
        code = ret == -ENODEV ? XP_BENCH_EXIT_FAIL_IFACE : XP_BENCH_EXIT_FAIL;
        goto out_teardown;
    }
    fprintf(stderr, "ready\n");
    loop(mf);
    print_stats(mf);

out_teardown:
    teardown(mf);
out_free:
    free(mf);
    return code;
}
