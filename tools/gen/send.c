// SPDX-License-Identifier: GPL-2.0-only
/*
 * send: one TX-only AF_XDP socket on queue 0 (libxdp's xsk API; no XDP program is needed,
 * the kernel tries zero-copy first, copy mode on veth) emits the frames of the scenario's
 * units. Each unit is paced by its own token bucket (backlog capped at 20 ms of its rate);
 * frames go out in batches with one sendto() per loop when need_wakeup asks for it. What
 * was put on the wire (counted at submission; completed descriptors are reclaimed) is
 * recorded per unit and per wall-clock second.
 */
#include <errno.h>
#include <inttypes.h>
#include <linux/if_xdp.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include <xdp/xsk.h>

#include "src/util/exit_codes.h"
#include "src/util/log.h"
#include "tools/gen/gen.h"

#ifndef XDP_MAX_TX_SKB_BUDGET
#define XDP_MAX_TX_SKB_BUDGET 9 /* kernel >= 6.17 */
#endif

#define XP_GEN_FRAME_SIZE 2048
#define XP_GEN_N_FRAMES 4096
#define XP_GEN_RING 2048
#define XP_GEN_BATCH 64

struct xp_gen_tx {
    struct xsk_umem *umem;
    struct xsk_socket *xsk;
    struct xsk_ring_prod fq;
    struct xsk_ring_cons cq;
    struct xsk_ring_prod tx;
    void *area;
    uint64_t free_stack[XP_GEN_N_FRAMES];
    uint32_t n_free;
    uint32_t in_tx;
    int fd;
    bool zero_copy;
    uint64_t kicks;
};

static void tx_close(struct xp_gen_tx *g)
{
    if (g->xsk)
        xsk_socket__delete(g->xsk);
    g->xsk = NULL;
    if (g->umem)
        xsk_umem__delete(g->umem);
    g->umem = NULL;
    if (g->area)
        munmap(g->area, (size_t)XP_GEN_N_FRAMES * XP_GEN_FRAME_SIZE);
    g->area = NULL;
}

static int tx_open(struct xp_gen_tx *g, const char *ifname)
{
    struct xsk_umem_config ucfg = {
        .fill_size = XP_GEN_RING,
        .comp_size = XP_GEN_RING,
        .frame_size = XP_GEN_FRAME_SIZE,
        .frame_headroom = 0,
        .flags = 0,
    };
    struct xsk_socket_config scfg = {
        .rx_size = XP_GEN_RING,
        .tx_size = XP_GEN_RING,
        /* TX only: no XDP program is needed; keep libxdp from loading one. */
        .libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
        .xdp_flags = 0,
        .bind_flags = XDP_USE_NEED_WAKEUP, /* the kernel tries zero-copy, else copy */
    };
    struct xdp_options opts;
    socklen_t olen = sizeof(opts);
    int budget = 64, ret;

    g->area = mmap(NULL, (size_t)XP_GEN_N_FRAMES * XP_GEN_FRAME_SIZE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (g->area == MAP_FAILED) {
        g->area = NULL;
        return -ENOMEM;
    }
    /* libxdp 1.3.1 leaves cached ring indexes uninitialised: start from zero. */
    memset(&g->fq, 0, sizeof(g->fq));
    memset(&g->cq, 0, sizeof(g->cq));
    memset(&g->tx, 0, sizeof(g->tx));
    ret = xsk_umem__create(&g->umem, g->area, (uint64_t)XP_GEN_N_FRAMES * XP_GEN_FRAME_SIZE,
                           &g->fq, &g->cq, &ucfg);
    if (ret) {
        g->umem = NULL;
        pr_err("xsk_umem__create: %s", strerror(-ret));
        return ret;
    }
    ret = xsk_socket__create(&g->xsk, ifname, 0, g->umem, NULL, &g->tx, &scfg);
    if (ret) {
        g->xsk = NULL;
        pr_err("xsk_socket__create(%s, queue 0): %s", ifname, strerror(-ret));
        return ret;
    }
    g->fd = xsk_socket__fd(g->xsk);
    memset(&opts, 0, sizeof(opts));
    if (getsockopt(g->fd, SOL_XDP, XDP_OPTIONS, &opts, &olen) == 0)
        g->zero_copy = opts.flags & XDP_OPTIONS_ZEROCOPY;
    if (!g->zero_copy && setsockopt(g->fd, SOL_XDP, XDP_MAX_TX_SKB_BUDGET, &budget,
                                    sizeof(budget)) == -1)
        pr_debug("XDP_MAX_TX_SKB_BUDGET not supported: %s", strerror(errno));
    for (uint32_t i = 0; i < XP_GEN_N_FRAMES; i++)
        g->free_stack[i] = (uint64_t)i * XP_GEN_FRAME_SIZE;
    g->n_free = XP_GEN_N_FRAMES;
    return 0;
}

static void tx_reclaim(struct xp_gen_tx *g)
{
    uint32_t idx, n;

    n = xsk_ring_cons__peek(&g->cq, XP_GEN_RING, &idx);
    for (uint32_t i = 0; i < n; i++)
        g->free_stack[g->n_free++] = *xsk_ring_cons__comp_addr(&g->cq, idx + i);
    if (n)
        xsk_ring_cons__release(&g->cq, n);
    g->in_tx -= n;
}

static void tx_kick(struct xp_gen_tx *g)
{
    if (!xsk_ring_prod__needs_wakeup(&g->tx))
        return;
    g->kicks++;
    if (sendto(g->fd, NULL, 0, MSG_DONTWAIT, NULL, 0) == -1 && errno != EAGAIN &&
        errno != ENOBUFS && errno != EBUSY && errno != ENETDOWN)
        pr_warn("sendto: %s", strerror(errno));
}

/* Queues up to N frames of unit U; returns how many were queued. */
static unsigned tx_unit(struct xp_gen_tx *g, struct xp_gen_unit *u, unsigned n)
{
    uint32_t idx;
    unsigned k;

    if (n > g->n_free)
        n = g->n_free;
    if (n == 0)
        return 0;
    k = xsk_ring_prod__reserve(&g->tx, n, &idx);
    for (unsigned i = 0; i < k; i++) {
        struct xdp_desc *d = xsk_ring_prod__tx_desc(&g->tx, idx + i);
        uint64_t addr = g->free_stack[--g->n_free];
        uint8_t *f = xsk_umem__get_data(g->area, addr);

        memcpy(f, u->tmpl, u->len);
        xp_gen_unit__stamp(u, f, u->msg_id++);
        d->addr = addr;
        d->len = u->len;
        d->options = 0;
    }
    if (k) {
        xsk_ring_prod__submit(&g->tx, k);
        g->in_tx += k;
    }
    return k;
}

struct send_opts {
    const char *ifname;
    const char *scenario;
    const char *out;
    int group;
    double duration;
    double start_at;
    struct xp_gen_mac dmac;
};

static const struct send_opts defaults_send = {
    .group = -1,
    .duration = 10,
};

#define SEND_REQ(...) XP_GEN_OPT_REQUIRED(struct send_opts, __VA_ARGS__)
#define SEND_OPT(...) XP_GEN_OPT(struct send_opts, __VA_ARGS__)

static const struct xp_gen_opt send_table[] = {
    SEND_REQ("ifname", "DEV", ifname, "the interface to send on (queue 0)"),
    SEND_REQ("scenario", "FILE", scenario, "the scenario file: its unit lines"),
    SEND_OPT("group", "G", INT, group, 0, 1023, "only the units of group G (default: all)"),
    SEND_OPT("duration", "S", DOUBLE, duration, 0.1, XP_GEN_MAX_SECONDS, "seconds (default 10)"),
    SEND_OPT("dst-mac", "MAC", MAC, dmac, 0, 0, "destination MAC of units without dmac="),
    SEND_OPT("start-at", "EPOCH", DOUBLE, start_at, 0, 1e11, "wait for this epoch time (<= 60 s)"),
    SEND_OPT("out", "FILE.csv", STRING, out, 0, 0, "rows t,unit,src,sent per unit and second"),
    { NULL },
};

/* What the per-second lines and the CSV rows are made of. */
struct send_units {
    struct xp_gen_unit *u;
    unsigned n;
};

static void send_print_second(const void *ctx, long t, unsigned sec)
{
    const struct send_units *su = ctx;

    printf("{\"t\":%ld,\"sent\":{", t);
    for (unsigned i = 0; i < su->n; i++)
        printf("%s\"%s\":%" PRIu64, i ? "," : "", su->u[i].name, su->u[i].per_sec[sec]);
    printf("}}\n");
    fflush(stdout);
}

static void send_csv_row(const void *ctx, FILE *f, long t, unsigned sec, unsigned i)
{
    const struct xp_gen_unit *u = &((const struct send_units *)ctx)->u[i];

    fprintf(f, "%ld,%s,%s,%" PRIu64 "\n", t, u->name, u->src_str, u->per_sec[sec]);
}

/* How many frames unit U may queue now at rate R (> 0), DT seconds after the last loop;
 * 0 lowers *NEXT to when its next token is due. */
static unsigned send_tokens(struct xp_gen_unit *u, double r, double dt, double *next)
{
    double cap = r * 0.02 > 1 ? r * 0.02 : 1; /* 20 ms of backlog */

    u->tokens += r * dt;
    if (u->tokens > cap)
        u->tokens = cap;
    if (u->tokens < 1) {
        double w = (1 - u->tokens) / r;

        if (w < *next)
            *next = w;
        return 0;
    }
    return u->tokens > XP_GEN_BATCH ? XP_GEN_BATCH : (unsigned)u->tokens;
}

/* The pacing loop, until END on the monotonic clock or a signal. Units are served round
 * robin from a rotating first one, so that a full ring does not always starve the same. */
static void send_loop(struct xp_gen_tx *g, struct send_units *su, struct xp_gen_seconds *secs,
                      double wall0, double t_start, double end)
{
    double t_prev = t_start;
    unsigned rr = 0;

    while (!xp_gen_stopping()) {
        double now = xp_gen_now(CLOCK_MONOTONIC), t = now - t_start, dt = now - t_prev;
        double next = 1e-3;
        unsigned sec = xp_gen_seconds__index(secs, wall0 - (double)secs->t0 + t), queued = 0;
        bool ring_full = false;

        if (now >= end)
            break;
        xp_gen_seconds__print_until(secs, sec, send_print_second, su);
        t_prev = now;
        tx_reclaim(g);
        for (unsigned j = 0; j < su->n; j++) {
            struct xp_gen_unit *u = &su->u[(rr + j) % su->n];
            double r = xp_gen_unit__rate(u, t);
            unsigned want, k;

            if (r == 0) {
                u->tokens = 0;
                continue;
            }
            want = r < 0 ? XP_GEN_BATCH : send_tokens(u, r, dt, &next);
            if (want == 0)
                continue;
            k = tx_unit(g, u, want);
            if (r > 0)
                u->tokens -= k;
            u->sent_total += k;
            u->per_sec[sec] += k;
            queued += k;
            if (k < want)
                ring_full = true;
        }
        rr++;
        if (queued)
            tx_kick(g);
        if (ring_full) {
            /* The ring or the UMEM is full: let the kernel drain it. */
            tx_kick(g);
            if (g->n_free == 0)
                xp_gen_sleep(20e-6);
        } else if (!queued) {
            if (g->in_tx)
                tx_kick(g);
            xp_gen_sleep(next < 20e-6 ? 20e-6 : next);
        }
    }
}

static void send_print_final(const struct xp_gen_tx *g, const struct send_units *su,
                             double t_start)
{
    struct xdp_statistics xs;
    socklen_t len = sizeof(xs);

    memset(&xs, 0, sizeof(xs));
    getsockopt(g->fd, SOL_XDP, XDP_STATISTICS, &xs, &len);
    printf("{\"final\":true,\"seconds\":%.3f,\"not_completed\":%u,\"tx_invalid_descs\":%llu,"
           "\"kicks\":%" PRIu64 ",\"units\":{",
           xp_gen_now(CLOCK_MONOTONIC) - t_start, g->in_tx,
           (unsigned long long)xs.tx_invalid_descs, g->kicks);
    for (unsigned i = 0; i < su->n; i++)
        printf("%s\"%s\":{\"src\":\"%s\",\"sent\":%" PRIu64 "}", i ? "," : "", su->u[i].name,
               su->u[i].src_str, su->u[i].sent_total);
    printf("}}\n");
    fflush(stdout);
}

/* Loads the units, gives them their destination MAC, frame and per-second counters. */
static int send_units_load(const struct send_opts *o, unsigned n_secs, struct send_units *su)
{
    int ret = xp_gen_scenario__load(o->scenario, o->group, &su->u, &su->n);

    if (ret)
        return ret == -ENOMEM ? EXIT_FAIL_MEM : EXIT_FAIL_OPTION;
    for (unsigned i = 0; i < su->n; i++) {
        struct xp_gen_unit *u = &su->u[i];

        if (!u->have_dmac) {
            if (!o->dmac.set) {
                pr_err("unit %s has no dmac and no --dst-mac was given", u->name);
                return EXIT_FAIL_OPTION;
            }
            memcpy(u->dmac, o->dmac.addr, 6);
        }
        xp_gen_unit__build(u);
        u->per_sec = calloc(n_secs, sizeof(uint64_t));
        if (!u->per_sec)
            return EXIT_FAIL_MEM;
    }
    return EXIT_OK;
}

static void send_units_free(struct send_units *su)
{
    for (unsigned i = 0; i < su->n; i++)
        free(su->u[i].per_sec);
    free(su->u);
    su->u = NULL;
    su->n = 0;
}

static int cmd_send(const void *opts)
{
    const struct send_opts *o = opts;
    struct send_units su = {NULL, 0};
    struct xp_gen_seconds secs;
    struct xp_gen_tx *g;
    double t_start, drain_end, wall0;
    int ret, rc;

    if (!xp_gen_ifindex(o->ifname))
        return EXIT_FAIL_IFACE;
    xp_gen_seconds__init(&secs, o->duration);
    rc = send_units_load(o, secs.n, &su);
    if (rc != EXIT_OK)
        goto out_units;
    rc = EXIT_FAIL_MEM;
    g = calloc(1, sizeof(*g));
    if (!g)
        goto out_units;
    ret = tx_open(g, o->ifname);
    if (ret) {
        rc = ret == -ENOMEM ? EXIT_FAIL_MEM : EXIT_FAIL;
        goto out_tx;
    }
    pr_info("%s: %u units, %s mode", o->ifname, su.n, g->zero_copy ? "zero-copy" : "copy");

    /* A common start (several generators): sleep until --start-at, bounded to 60 s. */
    if (o->start_at > 0) {
        double wait = o->start_at - xp_gen_now(CLOCK_REALTIME);

        if (wait > 60) {
            pr_err("--start-at is %.0f s ahead (at most 60)", wait);
            rc = EXIT_FAIL_OPTION;
            goto out_tx;
        }
        xp_gen_sleep(wait);
    }
    /* Seconds are wall-clock seconds (they join with the sink's), counted from the one
     * the generator starts in; pacing runs on the monotonic clock. With --start-at the
     * schedule's origin is that epoch, not the moment this process woke up: generators
     * that share a start share their on/off edges, and a late wake-up (a loaded machine)
     * costs the frames of the lateness instead of shifting every edge by it. */
    wall0 = xp_gen_now(CLOCK_REALTIME);
    t_start = xp_gen_now(CLOCK_MONOTONIC);
    if (o->start_at > 0 && wall0 > o->start_at) {
        if (wall0 - o->start_at > 0.1)
            pr_warn("started %.3f s after --start-at", wall0 - o->start_at);
        t_start -= wall0 - o->start_at;
        wall0 = o->start_at;
    }
    xp_gen_seconds__start(&secs, wall0);
    printf("{\"start\":%.6f,\"units\":%u,\"mode\":\"%s\"}\n", wall0, su.n,
           g->zero_copy ? "zero-copy" : "copy");
    fflush(stdout);
    send_loop(g, &su, &secs, wall0, t_start, t_start + o->duration);

    /* Drain: every queued frame completes (bounded: 2 s). */
    drain_end = xp_gen_now(CLOCK_MONOTONIC) + 2;
    while (g->in_tx && xp_gen_now(CLOCK_MONOTONIC) < drain_end) {
        tx_kick(g);
        tx_reclaim(g);
        if (g->in_tx)
            xp_gen_sleep(100e-6);
    }
    xp_gen_seconds__finish(&secs, send_print_second, &su);
    send_print_final(g, &su, t_start);
    rc = EXIT_FAIL;
    if (o->out && xp_gen_csv__write_seconds(o->out, "t,unit,src,sent\n", &secs, su.n,
                                            send_csv_row, &su))
        goto out_tx;
    rc = g->in_tx ? EXIT_FAIL : EXIT_OK;
out_tx:
    tx_close(g);
    free(g);
out_units:
    send_units_free(&su);
    return rc;
}

XP_GEN_DEFINE_CMD(send, "send", true,
                  "Sends the scenario's units from one AF_XDP socket, each paced by its profile.");
