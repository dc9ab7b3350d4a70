// SPDX-License-Identifier: GPL-2.0-only
/*
 * AF_XDP queues: one UMEM per queue index, shared by that queue's socket on
 * every port.
 *
 * Frame discipline. The UMEM's frames live on a private free stack owned by
 * the worker. Fill rings are topped up from it, received frames go to the
 * pipeline, frames sent go to a TX ring and come back through that port's
 * completion ring, frames dropped go straight back to the stack. Because
 * each place is counted, "free + in_fill + in_tx + held == total" holds at
 * every point between calls, and a leak shows as a non-zero difference.
 *
 * In copy mode (veth, most drivers without zero-copy) TX only happens in
 * sendto(), which the kernel asks for through need_wakeup; RX needs no
 * syscall at all, so an idle worker sleeps in poll() and a busy one makes
 * exactly one syscall per TX batch.
 */
#include "xsk/port.h"

#include <errno.h>
#include <linux/if_xdp.h>
#include <net/if.h>
#include <numa.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <xdp/xsk.h>

#include "src/util/counters.h"
#include "src/util/log.h"

#ifndef XDP_MAX_TX_SKB_BUDGET
#define XDP_MAX_TX_SKB_BUDGET 9 /* kernel >= 6.17 */
#endif
#ifndef SO_PREFER_BUSY_POLL
#define SO_PREFER_BUSY_POLL 69
#endif
#ifndef SO_BUSY_POLL_BUDGET
#define SO_BUSY_POLL_BUDGET 70
#endif

/* Frames per sendto() in copy mode when the kernel lets us raise it. */
#define XP_XSK_TX_SKB_BUDGET 64

struct xp_xsk_sock {
    struct xsk_socket *xsk;
    struct xsk_ring_cons rx;
    struct xsk_ring_prod tx;
    struct xsk_ring_prod fq;
    struct xsk_ring_cons cq;
    int fd;
    uint32_t in_fill;
    uint32_t in_tx;
    bool tx_pending; /* descriptors submitted since the last kick */
    struct xp_xsk_port_stats st;
};

struct xp_xsk_queue {
    struct xp_xsk_cfg cfg;
    struct xsk_umem *umem;
    void *area;
    size_t area_size;
    bool area_numa;
    bool zero_copy;
    uint32_t fill_target;   /* frames kept in each fill ring */
    uint64_t *free_stack;
    uint32_t n_free;
    uint32_t held;
    struct xp_xsk_sock sock[XP_MAX_PORTS];
};

static void *area_alloc(size_t size, int node, bool *numa)
{
    void *p;

    if (node >= 0 && numa_available() >= 0) {
        p = numa_alloc_onnode(size, node);
        if (p) {
            *numa = true;
            return p;
        }
    }
    *numa = false;
    p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

static void area_free(void *p, size_t size, bool numa)
{
    if (!p)
        return;
    if (numa)
        numa_free(p, size);
    else
        munmap(p, size);
}

static void fill_ring(struct xp_xsk_queue *q, struct xp_xsk_sock *s)
{
    uint32_t want, idx;

    if (s->in_fill >= q->fill_target)
        return;
    want = q->fill_target - s->in_fill;
    if (want > q->n_free) {
        if (q->n_free == 0) {
            XP_STAT_ADD(s->st.fill_short, 1);
            return;
        }
        want = q->n_free;
    }
    /* reserve() is all or nothing; ask only for what the ring can take. */
    want = xsk_prod_nb_free(&s->fq, want) < want ? xsk_prod_nb_free(&s->fq, want) : want;
    if (want == 0 || xsk_ring_prod__reserve(&s->fq, want, &idx) != want)
        return;
    for (uint32_t i = 0; i < want; i++)
        *xsk_ring_prod__fill_addr(&s->fq, idx + i) = q->free_stack[--q->n_free];
    xsk_ring_prod__submit(&s->fq, want);
    s->in_fill += want;
}

static void reap_completions(struct xp_xsk_queue *q, struct xp_xsk_sock *s)
{
    uint32_t idx, n;

    n = xsk_ring_cons__peek(&s->cq, q->cfg.ring_size, &idx);
    if (n == 0)
        return;
    for (uint32_t i = 0; i < n; i++)
        q->free_stack[q->n_free++] = *xsk_ring_cons__comp_addr(&s->cq, idx + i);
    xsk_ring_cons__release(&s->cq, n);
    s->in_tx -= n;
}

static void kick_tx(struct xp_xsk_sock *s, uint32_t ring_size)
{
    if (!s->tx_pending)
        return;
    if (!xsk_ring_prod__needs_wakeup(&s->tx)) {
        s->tx_pending = false;
        return;
    }
    XP_STAT_ADD(s->st.tx_kicks, 1);
    if (sendto(s->fd, NULL, 0, MSG_DONTWAIT, NULL, 0) == -1 &&
        errno != EAGAIN && errno != EBUSY && errno != ENOBUFS && errno != ENETDOWN)
        XP_STAT_ADD(s->st.tx_kick_errors, 1);
    /* One sendto() takes a budget of frames: stay pending until the ring is empty. */
    s->tx_pending = xsk_prod_nb_free(&s->tx, ring_size) < ring_size;
}

unsigned xp_xsk_queue__rx_burst(struct xp_xsk_queue *q, unsigned port,
                                struct xp_pkt *pkts, unsigned n)
{
    struct xp_xsk_sock *s = &q->sock[port];
    uint64_t bytes = 0;
    uint32_t idx;
    unsigned got;

    got = xsk_ring_cons__peek(&s->rx, n, &idx);
    if (got == 0)
        return 0;
    for (unsigned i = 0; i < got; i++) {
        const struct xdp_desc *d = xsk_ring_cons__rx_desc(&s->rx, idx + i);

        pkts[i].handle = d->addr;
        pkts[i].data = xsk_umem__get_data(q->area, d->addr);
        /* In copy mode the kernel wrote the frame on the CPU that ran the
         * receive: start pulling the headers over for the whole burst now,
         * so the misses overlap instead of stalling one by one later (in
         * our parser, or in the kernel's copy on TX). */
        __builtin_prefetch(pkts[i].data);
        pkts[i].len = d->len;
        pkts[i].port = port;
        bytes += d->len;
    }
    xsk_ring_cons__release(&s->rx, got);
    s->in_fill -= got;
    q->held += got;
    /* Refill at once: the kernel keeps receiving while we process the burst. */
    fill_ring(q, s);
    XP_STAT_ADD(s->st.rx_packets, got);
    XP_STAT_ADD(s->st.rx_bytes, bytes);
    return got;
}

unsigned xp_xsk_queue__tx_burst(struct xp_xsk_queue *q, unsigned port,
                                struct xp_pkt *pkts, unsigned n)
{
    struct xp_xsk_sock *s = &q->sock[port];
    uint64_t bytes = 0;
    uint32_t idx, room;

    room = xsk_prod_nb_free(&s->tx, n);
    if (room < n) {
        /* Completions free TX slots too: reap before giving up. */
        reap_completions(q, s);
        room = xsk_prod_nb_free(&s->tx, n);
        if (room < n) {
            XP_STAT_ADD(s->st.tx_ring_full, n - room);
            n = room;
        }
    }
    if (n == 0 || xsk_ring_prod__reserve(&s->tx, n, &idx) != n)
        return 0;
    for (unsigned i = 0; i < n; i++) {
        struct xdp_desc *d = xsk_ring_prod__tx_desc(&s->tx, idx + i);

        /* from data, not handle: the frame may have moved within its chunk (gateway mode) */
        d->addr = (uint64_t)(pkts[i].data - (uint8_t *)q->area);
        d->len = pkts[i].len;
        bytes += pkts[i].len;
    }
    xsk_ring_prod__submit(&s->tx, n);
    s->in_tx += n;
    s->tx_pending = true;
    q->held -= n;
    XP_STAT_ADD(s->st.tx_packets, n);
    XP_STAT_ADD(s->st.tx_bytes, bytes);
    return n;
}

void xp_xsk_queue__release(struct xp_xsk_queue *q, struct xp_pkt *pkts, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        q->free_stack[q->n_free++] = pkts[i].handle;
    q->held -= n;
}

void xp_xsk_queue__service(struct xp_xsk_queue *q)
{
    for (unsigned p = 0; p < q->cfg.n_ports; p++) {
        struct xp_xsk_sock *s = &q->sock[p];

        kick_tx(s, q->cfg.ring_size);
        reap_completions(q, s);
    }
    for (unsigned p = 0; p < q->cfg.n_ports; p++)
        fill_ring(q, &q->sock[p]);
}

int xp_xsk_queue__wait(struct xp_xsk_queue *q, int timeout_ms)
{
    struct pollfd pfd[XP_MAX_PORTS];
    int ret;

    for (unsigned p = 0; p < q->cfg.n_ports; p++) {
        pfd[p].fd = q->sock[p].fd;
        pfd[p].events = POLLIN;
        pfd[p].revents = 0;
    }
    ret = poll(pfd, q->cfg.n_ports, timeout_ms);
    if (ret == -1)
        return errno == EINTR ? 0 : -errno;
    return ret;
}

bool xp_xsk_queue__zero_copy(const struct xp_xsk_queue *q)
{
    return q->zero_copy;
}

void xp_xsk_queue__port_stats(const struct xp_xsk_queue *q, unsigned port,
                              struct xp_xsk_port_stats *out)
{
    const struct xp_xsk_port_stats *st = &q->sock[port].st;

    out->rx_packets = XP_STAT_GET(st->rx_packets);
    out->rx_bytes = XP_STAT_GET(st->rx_bytes);
    out->tx_packets = XP_STAT_GET(st->tx_packets);
    out->tx_bytes = XP_STAT_GET(st->tx_bytes);
    out->tx_ring_full = XP_STAT_GET(st->tx_ring_full);
    out->tx_kicks = XP_STAT_GET(st->tx_kicks);
    out->tx_kick_errors = XP_STAT_GET(st->tx_kick_errors);
    out->fill_short = XP_STAT_GET(st->fill_short);
}

/*
 * Only meaningful when the worker is not running (after it stopped) or as
 * an approximation while it runs: the fields are plain worker-owned values.
 */
void xp_xsk_queue__frames(const struct xp_xsk_queue *q, struct xp_xsk_frames *out)
{
    out->total = q->cfg.n_frames;
    out->free = __atomic_load_n(&q->n_free, __ATOMIC_RELAXED);
    out->held = __atomic_load_n(&q->held, __ATOMIC_RELAXED);
    out->in_fill = 0;
    out->in_tx = 0;
    for (unsigned p = 0; p < q->cfg.n_ports; p++) {
        out->in_fill += __atomic_load_n(&q->sock[p].in_fill, __ATOMIC_RELAXED);
        out->in_tx += __atomic_load_n(&q->sock[p].in_tx, __ATOMIC_RELAXED);
    }
}

int xp_xsk_queue__kstats(const struct xp_xsk_queue *q, unsigned port, struct xp_xsk_kstats *out)
{
    struct xdp_statistics xs;
    socklen_t len = sizeof(xs);

    memset(&xs, 0, sizeof(xs));
    if (getsockopt(q->sock[port].fd, SOL_XDP, XDP_STATISTICS, &xs, &len) == -1)
        return -errno;
    out->rx_dropped = xs.rx_dropped;
    out->rx_invalid_descs = xs.rx_invalid_descs;
    out->tx_invalid_descs = xs.tx_invalid_descs;
    out->rx_ring_full = xs.rx_ring_full;
    out->rx_fill_ring_empty_descs = xs.rx_fill_ring_empty_descs;
    out->tx_ring_empty_descs = xs.tx_ring_empty_descs;
    return 0;
}

static void sock_tune(struct xp_xsk_queue *q, struct xp_xsk_sock *s, unsigned port)
{
    int v = XP_XSK_TX_SKB_BUDGET;

    /* Copy-mode TX sends 32 frames per sendto() unless we may raise it. */
    if (!q->zero_copy &&
        setsockopt(s->fd, SOL_XDP, XDP_MAX_TX_SKB_BUDGET, &v, sizeof(v)) == -1)
        pr_debug("XDP_MAX_TX_SKB_BUDGET not supported: %s", strerror(errno));
    if (q->cfg.busy_poll[port]) {
        int on = 1, usec = 20, budget = XP_BURST_MAX;

        if (setsockopt(s->fd, SOL_SOCKET, SO_PREFER_BUSY_POLL, &on, sizeof(on)) == -1 ||
            setsockopt(s->fd, SOL_SOCKET, SO_BUSY_POLL, &usec, sizeof(usec)) == -1 ||
            setsockopt(s->fd, SOL_SOCKET, SO_BUSY_POLL_BUDGET, &budget, sizeof(budget)) == -1)
            pr_warn("%s q%u: busy-poll options refused: %s", q->cfg.ifname[port],
                    q->cfg.queue_id, strerror(errno));
    }
}

static void queue_teardown(struct xp_xsk_queue *q)
{
    for (unsigned p = 0; p < XP_MAX_PORTS; p++) {
        if (q->sock[p].xsk) {
            xsk_socket__delete(q->sock[p].xsk);
            q->sock[p].xsk = NULL;
        }
    }
    if (q->umem) {
        xsk_umem__delete(q->umem);
        q->umem = NULL;
    }
}

/* Build the UMEM and one socket per port with the given bind flags. */
static int queue_open(struct xp_xsk_queue *q, uint16_t bind_flags)
{
    struct xsk_umem_config ucfg = {
        .fill_size = q->cfg.ring_size,
        .comp_size = q->cfg.ring_size,
        .frame_size = q->cfg.frame_size,
        .frame_headroom = 0,
        .flags = 0,
    };
    int ret;

    /* libxdp 1.3.1 leaves cached ring indexes uninitialised: start from zero. */
    memset(q->sock, 0, sizeof(q->sock));
    ret = xsk_umem__create(&q->umem, q->area, q->area_size, &q->sock[0].fq, &q->sock[0].cq, &ucfg);
    if (ret) {
        q->umem = NULL;
        return ret;
    }
    for (unsigned p = 0; p < q->cfg.n_ports; p++) {
        struct xp_xsk_sock *s = &q->sock[p];
        struct xsk_socket_config scfg = {
            .rx_size = q->cfg.ring_size,
            .tx_size = q->cfg.ring_size,
            .libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
            .xdp_flags = 0,
            .bind_flags = bind_flags,
        };

        ret = xsk_socket__create_shared(&s->xsk, q->cfg.ifname[p], q->cfg.queue_id, q->umem,
                                        &s->rx, &s->tx, &s->fq, &s->cq, &scfg);
        if (ret) {
            s->xsk = NULL;
            return ret;
        }
        s->fd = xsk_socket__fd(s->xsk);
    }
    return 0;
}

struct xp_xsk_queue *xp_xsk_queue__create(const struct xp_xsk_cfg *cfg)
{
    struct xp_xsk_queue *q;
    bool try_zc;
    int ret;

    if (cfg->n_ports == 0 || cfg->n_ports > XP_MAX_PORTS || cfg->n_frames < 2 * cfg->ring_size ||
        (cfg->frame_size & (cfg->frame_size - 1)) || cfg->frame_size < 2048) {
        errno = EINVAL;
        return NULL;
    }
    for (unsigned p = 0; p < cfg->n_ports; p++) {
        if (if_nametoindex(cfg->ifname[p]) == 0) {
            errno = ENODEV;
            return NULL;
        }
    }
    q = calloc(1, sizeof(*q));
    if (!q)
        return NULL;
    q->cfg = *cfg;
    q->area_size = (size_t)cfg->n_frames * cfg->frame_size;
    q->area = area_alloc(q->area_size, cfg->numa_node, &q->area_numa);
    q->free_stack = calloc(cfg->n_frames, sizeof(*q->free_stack));
    if (!q->area || !q->free_stack) {
        ret = -ENOMEM;
        goto err_free;
    }

    /*
     * Half the frames wait in the fill rings; the other half cover frames
     * in flight towards TX, so a burst never starves receive.
     */
    q->fill_target = cfg->n_frames / (2 * cfg->n_ports);
    if (q->fill_target > cfg->ring_size)
        q->fill_target = cfg->ring_size;

    try_zc = cfg->zc != XP_ZC_OFF && !cfg->skb_mode;
    ret = -EOPNOTSUPP;
    if (try_zc) {
        ret = queue_open(q, XDP_ZEROCOPY | XDP_USE_NEED_WAKEUP);
        if (ret == 0)
            q->zero_copy = true;
        else
            queue_teardown(q);
        if (ret && cfg->zc == XP_ZC_ON) {
            pr_err("%s q%u: zero-copy bind failed: %s", cfg->ifname[0], cfg->queue_id,
                   strerror(-ret));
            goto err_free;
        }
    }
    if (ret) {
        if (try_zc)
            pr_info("%s q%u: zero-copy unavailable (%s), using copy mode", cfg->ifname[0],
                    cfg->queue_id, strerror(-ret));
        ret = queue_open(q, XDP_COPY | XDP_USE_NEED_WAKEUP);
        if (ret) {
            pr_err("%s q%u: AF_XDP socket: %s", cfg->ifname[0], cfg->queue_id, strerror(-ret));
            goto err_teardown;
        }
    }

    for (unsigned p = 0; p < cfg->n_ports; p++) {
        struct xp_xsk_sock *s = &q->sock[p];

        sock_tune(q, s, p);
        if (bpf_map_update_elem(cfg->xskmap_fd, &cfg->xskmap_key[p], &s->fd, 0)) {
            ret = -errno;
            pr_err("%s q%u: XSKMAP insert: %s", cfg->ifname[p], cfg->queue_id, strerror(errno));
            goto err_teardown;
        }
    }

    for (uint32_t i = 0; i < cfg->n_frames; i++)
        q->free_stack[i] = (uint64_t)i * cfg->frame_size;
    q->n_free = cfg->n_frames;
    for (unsigned p = 0; p < cfg->n_ports; p++)
        fill_ring(q, &q->sock[p]);
    return q;

err_teardown:
    queue_teardown(q);
err_free:
    area_free(q->area, q->area_size, q->area_numa);
    free(q->free_stack);
    free(q);
    errno = -ret;
    return NULL;
}

int xp_xsk_queue__drain(struct xp_xsk_queue *q, int timeout_ms)
{
    struct timespec ts = { .tv_sec = 0, .tv_nsec = 1000000 };

    for (int i = 0; i <= timeout_ms; i++) {
        uint32_t in_tx = 0;

        for (unsigned p = 0; p < q->cfg.n_ports; p++) {
            struct xp_xsk_sock *s = &q->sock[p];

            if (!s->xsk)
                continue;
            s->tx_pending = s->in_tx > 0;
            kick_tx(s, q->cfg.ring_size);
            reap_completions(q, s);
            in_tx += s->in_tx;
        }
        if (in_tx == 0)
            return 0;
        nanosleep(&ts, NULL);
    }
    return -ETIMEDOUT;
}

void xp_xsk_queue__destroy(struct xp_xsk_queue *q)
{
    if (!q)
        return;
    /* Let sent frames complete (bounded) so nothing is freed under the kernel's feet. */
    xp_xsk_queue__drain(q, 200);
    for (unsigned p = 0; p < q->cfg.n_ports; p++) {
        if (q->sock[p].xsk)
            bpf_map_delete_elem(q->cfg.xskmap_fd, &q->cfg.xskmap_key[p]);
    }
    queue_teardown(q);
    area_free(q->area, q->area_size, q->area_numa);
    q->area = NULL;
    free(q->free_stack);
    q->free_stack = NULL;
    free(q);
}

static unsigned io_rx_burst(void *q, unsigned port, struct xp_pkt *pkts, unsigned n)
{
    return xp_xsk_queue__rx_burst(q, port, pkts, n);
}

static unsigned io_tx_burst(void *q, unsigned port, struct xp_pkt *pkts, unsigned n)
{
    return xp_xsk_queue__tx_burst(q, port, pkts, n);
}

static void io_release(void *q, struct xp_pkt *pkts, unsigned n)
{
    xp_xsk_queue__release(q, pkts, n);
}

static void io_service(void *q)
{
    xp_xsk_queue__service(q);
}

static int io_wait(void *q, int timeout_ms)
{
    return xp_xsk_queue__wait(q, timeout_ms);
}

/* From data to the end of its UMEM chunk (chunks are frame_size aligned). */
static uint32_t io_room(void *queue, const struct xp_pkt *pkt)
{
    const struct xp_xsk_queue *q = queue;
    uint64_t off = (uint64_t)(pkt->data - (const uint8_t *)q->area);

    return q->cfg.frame_size - (uint32_t)(off & (q->cfg.frame_size - 1));
}

const struct xp_io_ops xp_xsk_io_ops = {
    .name = "af_xdp",
    .rx_burst = io_rx_burst,
    .tx_burst = io_tx_burst,
    .release = io_release,
    .service = io_service,
    .wait = io_wait,
    .room = io_room,
};
