// SPDX-License-Identifier: GPL-2.0-only
/*
 * The AF_XDP backend: the XDP program on both ports (xsk/prog.c), one
 * AF_XDP queue per worker with a socket per port (xsk/port.c), and the
 * NIC settings it depends on (xsk/nic.c): as many RX queues as workers
 * (refused or set, and given back), RSS on addresses only.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/backend/backend_internal.h"
#include "src/util/log.h"
#include "xsk/nic.h"
#include "xsk/port.h"
#include "xsk/prog.h"

struct afxdp {
    struct xp_backend be; /* first: the generic head */
    struct xp_xdp_prog *prog;
    struct xp_xsk_queue *queues[XP_MAX_QUEUES];
    unsigned rx_queues_found[XP_MAX_PORTS]; /* channels "set": what to give back; 0 none */
};

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

static struct afxdp *of(struct xp_backend *be)
{
    return (struct afxdp *)be;
}

static const struct afxdp *cof(const struct xp_backend *be)
{
    return (const struct afxdp *)be;
}

/* Leave the ports with the RX queues they had (channels "set"). */
static void restore_rx_queues(struct afxdp *a)
{
    for (unsigned p = 0; p < XP_MAX_PORTS; p++) {
        const char *dev = a->be.conf.port_name[p];
        int r;

        if (!a->rx_queues_found[p])
            continue;
        r = xp_nic_set_rx_queues(dev, a->rx_queues_found[p]);
        if (r)
            pr_warn("%s: restoring its %u RX queues: %s", dev, a->rx_queues_found[p],
                    strerror(-r));
        a->rx_queues_found[p] = 0;
    }
}

/*
 * A port with more receive queues than workers would hand the extra
 * queues' frames to no socket: fail-open passes them to the kernel
 * unpoliced. Refuse (a configuration error: -EINVAL) or set the port's
 * queues, as "channels" says. A driver that does not tell its channels is
 * let through with a warning. Before the XDP program is attached: a
 * refusal leaves the ports untouched, and so does any failure after a port
 * was set (a later port's, too): the ports set so far get their queues back.
 */
static int check_rx_queues(struct afxdp *a)
{
    const struct xp_backend_conf *c = &a->be.conf;
    int err;

    for (unsigned p = 0; p < XP_MAX_PORTS; p++) {
        const char *dev = c->port_name[p];
        unsigned n, max;
        int r = xp_nic_rx_queues(dev, &n, &max);

        if (r == -EOPNOTSUPP) {
            pr_warn("%s: the driver does not report its RX channels: make sure it has exactly "
                    "%u (queues), or frames on the others pass unpoliced", dev, c->n_queues);
            continue;
        }
        if (r) {
            pr_err("%s: reading its RX channels: %s", dev, strerror(-r));
            err = r;
            goto fail;
        }
        if (n == c->n_queues)
            continue;
        if (!c->channels_set) {
            pr_err("%s has %u RX queues but \"queues\" is %u: frames on the other queues "
                   "would reach no socket and pass unpoliced. Set \"queues\": %u, or "
                   "\"channels\": \"set\" to give %s %u RX queues", dev, n, c->n_queues, n, dev,
                   c->n_queues);
            err = -EINVAL;
            goto fail;
        }
        a->rx_queues_found[p] = n;
        r = xp_nic_set_rx_queues(dev, c->n_queues);
        if (!r)
            r = xp_nic_rx_queues(dev, &n, &max);
        if (!r && n != c->n_queues)
            r = -EINVAL;
        if (r) {
            pr_err("%s: setting %u RX queues (\"channels\": \"set\", it has %u, at most %u): "
                   "%s", dev, c->n_queues, n, max, strerror(-r));
            err = -EINVAL;
            goto fail;
        }
        pr_info("%s: RX queues set to %u (channels \"set\"; %u again at exit)", dev,
                c->n_queues, a->rx_queues_found[p]);
    }
    return 0;

fail:
    restore_rx_queues(a);
    return err;
}

/* With several queues, every packet of a (unit, destination) pair should reach one of them. */
static void rss_on_addresses(const struct xp_backend_conf *c)
{
    if (c->n_queues < 2)
        return;
    for (unsigned p = 0; p < XP_MAX_PORTS; p++) {
        int r = xp_nic_rss_on_addresses(c->port_name[p]);

        if (r == -EOPNOTSUPP)
            pr_info("%s: RSS not configurable (veth?): the sender's queue choice decides "
                    "which worker sees a packet; pairs on several queues are counted by "
                    "their owner worker", c->port_name[p]);
        else if (r)
            pr_warn("%s: setting RSS to hash on addresses only: %s; pairs whose packets "
                    "reach several queues are counted by their owner worker (slower)",
                    c->port_name[p], strerror(-r));
    }
}

static void afxdp_undo_setup(struct xp_backend *be, bool keep_program)
{
    struct afxdp *a = of(be);

    if (keep_program) {
        pr_info("fail-closed: the XDP program stays attached and drops until a proxy binds again");
    } else {
        for (unsigned p = 0; p < XP_MAX_PORTS; p++) {
            int r = xp_xdp_prog__detach_by_name(be->conf.port_name[p]);

            if (r && r != -ENODEV)
                pr_warn("%s: detaching XDP: %s", be->conf.port_name[p], strerror(-r));
        }
        xp_xdp_prog__unpin(be->conf.proxy_id);
    }
    restore_rx_queues(a);
}

static void afxdp_close_queues(struct xp_backend *be)
{
    struct afxdp *a = of(be);

    for (unsigned q = 0; q < XP_MAX_QUEUES; q++) {
        if (a->queues[q] && xp_xsk_queue__drain(a->queues[q], 500))
            pr_warn("queue %u: TX completions still pending at exit", q);
        xp_xsk_queue__destroy(a->queues[q]);
        a->queues[q] = NULL;
    }
}

static void afxdp_destroy(struct xp_backend *be)
{
    struct afxdp *a = of(be);

    afxdp_close_queues(be);
    /* the program stays where it is: undo_setup detaches it, or not */
    xp_xdp_prog__destroy(a->prog, true);
    free(a);
}

static int afxdp_open_queue(struct xp_backend *be, unsigned q, int numa_node,
                            struct xp_backend_queue *out)
{
    struct afxdp *a = of(be);
    const struct xp_backend_conf *c = &be->conf;
    struct xp_xsk_cfg xc = {
        .n_ports = XP_MAX_PORTS,
        .queue_id = q,
        .n_frames = c->frames_per_queue,
        .frame_size = XP_XSK_FRAME_SIZE,
        .ring_size = c->ring_size,
        .zc = (enum xp_zc_mode)c->zero_copy,
        .skb_mode = c->xdp_skb[0] || c->xdp_skb[1],
        .busy_poll = { c->busy_poll[0], c->busy_poll[1] },
        .numa_node = numa_node,
        .xskmap_fd = xp_xdp_prog__xskmap_fd(a->prog),
    };

    for (unsigned p = 0; p < XP_MAX_PORTS; p++) {
        memcpy(xc.ifname[p], c->port_name[p], sizeof(xc.ifname[p]));
        xc.xskmap_key[p] = p * XP_MAX_QUEUES + q;
    }
    a->queues[q] = xp_xsk_queue__create(&xc);
    if (!a->queues[q]) {
        int err = errno;

        if (err == EBUSY)
            pr_err("queue %u: another AF_XDP socket is bound to it", q);
        else if (err == EINVAL && q > 0)
            pr_err("queue %u: does the interface have %u queues? (%s)", q, c->n_queues,
                   strerror(err));
        else
            pr_err("queue %u: %s", q, strerror(err));
        return -err;
    }
    *out = (struct xp_backend_queue){ .io = &xp_xsk_io_ops, .queue = a->queues[q] };
    return 0;
}

static int afxdp_numa_node(const struct xp_backend *be)
{
    char path[128];
    int node = -1;
    FILE *f;

    snprintf(path, sizeof(path), "/sys/class/net/%s/device/numa_node", be->conf.port_name[0]);
    f = fopen(path, "r");
    if (!f)
        return -1;
    if (fscanf(f, "%d", &node) != 1)
        node = -1;
    fclose(f);
    return node;
}

static int afxdp_ifindex(const struct xp_backend *be, unsigned port)
{
    return xp_xdp_prog__ifindex(cof(be)->prog, port);
}

/* The XDP block map, as the pipeline's block ops: a worker's blocker, its handles are slots. */
static int map_block(void *ctx, const uint8_t unit[16], const uint8_t dst[16],
                     uint64_t expires_ns, uint32_t *handle)
{
    struct xp_pair_key k;

    _Static_assert(XP_BLOCK_HANDLE_NONE == XP_XDP_SLOT_NONE, "no handle is no slot");
    memcpy(k.unit, unit, 16);
    memcpy(k.dst, dst, 16);
    return xp_xdp_blocker__block(ctx, &k, expires_ns, handle);
}

static void map_unblock(void *ctx, uint32_t handle)
{
    xp_xdp_blocker__unblock(ctx, handle);
}

static uint64_t map_read(void *ctx, uint32_t handle)
{
    return xp_xdp_blocker__read(ctx, handle);
}

struct map_failed {
    void (*failed)(void *arg, const uint8_t unit[16], const uint8_t dst[16], int err);
    void *arg;
};

static void map_refused(void *arg, const struct xp_pair_key *key, int err)
{
    struct map_failed *f = arg;

    f->failed(f->arg, key->unit, key->dst, err);
}

static void map_flush(void *ctx,
                      void (*failed)(void *arg, const uint8_t unit[16], const uint8_t dst[16],
                                     int err),
                      void *arg)
{
    struct map_failed f = { .failed = failed, .arg = arg };

    xp_xdp_blocker__flush(ctx, failed ? map_refused : NULL, &f);
}

static const struct xp_block_ops xdp_block_ops = {
    .block = map_block,
    .unblock = map_unblock,
    .read = map_read,
    .flush = map_flush,
};

static const struct xp_block_ops *afxdp_blocks(struct xp_backend *be, unsigned q, void **ctx)
{
    *ctx = xp_xdp_prog__blocker(of(be)->prog, q);
    return *ctx ? &xdp_block_ops : NULL;
}

static int afxdp_manual_block(struct xp_backend *be, const uint8_t unit[16], const uint8_t *dst,
                              uint64_t expires_ns)
{
    return xp_xdp_prog__manual_block(of(be)->prog, unit, dst, expires_ns);
}

static int afxdp_manual_unblock(struct xp_backend *be, const uint8_t unit[16],
                                const uint8_t *dst)
{
    return xp_xdp_prog__manual_unblock(of(be)->prog, unit, dst);
}

static void afxdp_queue_stats(const struct xp_backend *be, unsigned port, unsigned q,
                              struct xp_backend_qstats *out)
{
    struct xp_xsk_port_stats st = { 0 };

    if (cof(be)->queues[q])
        xp_xsk_queue__port_stats(cof(be)->queues[q], port, &st);
    *out = (struct xp_backend_qstats){
        .rx_packets = st.rx_packets,
        .rx_bytes = st.rx_bytes,
        .tx_packets = st.tx_packets,
        .tx_bytes = st.tx_bytes,
    };
}

static json_t *afxdp_port_json(const struct xp_backend *be, unsigned port)
{
    struct xp_kern_stats ks;
    json_t *xdp = json_object();

    if (xp_xdp_prog__stats(cof(be)->prog, port, &ks) == 0) {
        for (int i = 0; i < XP_KC_MAX; i++)
            json_object_set_new(xdp, kc_names[i], json_integer((json_int_t)ks.packets[i]));
    }
    return json_pack("{s:i,s:o}", "ifindex", xp_xdp_prog__ifindex(cof(be)->prog, port), "xdp",
                     xdp);
}

static json_t *afxdp_queue_json(const struct xp_backend *be, unsigned port, unsigned q)
{
    const struct xp_xsk_queue *xq = cof(be)->queues[q];
    struct xp_xsk_port_stats st = { 0 };
    struct xp_xsk_kstats k = { 0 };

    if (!xq)
        return json_object();
    xp_xsk_queue__port_stats(xq, port, &st);
    xp_xsk_queue__kstats(xq, port, &k);
    return json_pack("{s:b,s:I,s:{s:I,s:I,s:I,s:I,s:I,s:I}}",
                     "zero_copy", xp_xsk_queue__zero_copy(xq),
                     "tx_kicks", (json_int_t)st.tx_kicks,
                     "xsk",
                     "rx_dropped", (json_int_t)k.rx_dropped,
                     "rx_invalid_descs", (json_int_t)k.rx_invalid_descs,
                     "tx_invalid_descs", (json_int_t)k.tx_invalid_descs,
                     "rx_ring_full", (json_int_t)k.rx_ring_full,
                     "rx_fill_ring_empty_descs", (json_int_t)k.rx_fill_ring_empty_descs,
                     "tx_ring_empty_descs", (json_int_t)k.tx_ring_empty_descs);
}

/* UMEM frames: every one is free, in a fill ring, in a TX ring, or with a worker. */
static json_t *afxdp_frames_json(const struct xp_backend *be)
{
    struct xp_xsk_frames sum = { 0 };

    for (unsigned q = 0; q < be->conf.n_queues; q++) {
        struct xp_xsk_frames fr;

        if (!cof(be)->queues[q])
            continue;
        xp_xsk_queue__frames(cof(be)->queues[q], &fr);
        sum.total += fr.total;
        sum.free += fr.free;
        sum.in_fill += fr.in_fill;
        sum.in_tx += fr.in_tx;
        sum.held += fr.held;
    }
    return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I}",
                     "total", (json_int_t)sum.total, "free", (json_int_t)sum.free,
                     "in_fill", (json_int_t)sum.in_fill, "in_tx", (json_int_t)sum.in_tx,
                     "held", (json_int_t)sum.held,
                     "leaked", (json_int_t)(sum.total - sum.free - sum.in_fill - sum.in_tx -
                                            sum.held));
}

static const struct xp_backend_impl afxdp_impl = {
    .name = "af_xdp",
    .undo_setup = afxdp_undo_setup,
    .destroy = afxdp_destroy,
    .open_queue = afxdp_open_queue,
    .close_queues = afxdp_close_queues,
    .numa_node = afxdp_numa_node,
    .ifindex = afxdp_ifindex,
    .blocks = afxdp_blocks,
    .manual_block = afxdp_manual_block,
    .manual_unblock = afxdp_manual_unblock,
    .queue_stats = afxdp_queue_stats,
    .port_json = afxdp_port_json,
    .queue_json = afxdp_queue_json,
    .frames_json = afxdp_frames_json,
};

struct xp_backend *xp_backend__create_afxdp(const struct xp_backend_conf *conf,
                                            enum xp_backend_fail *why)
{
    struct afxdp *a = calloc(1, sizeof(*a));
    int err;

    if (!a)
        return NULL;
    a->be.impl = &afxdp_impl;
    a->be.conf = *conf;
    a->be.conf.mgmt = NULL; /* read once, at attach */
    if (xp_bpffs_check()) {
        pr_err("no BPF filesystem at " XP_BPFFS_ROOT ": mount -t bpf bpf " XP_BPFFS_ROOT);
        free(a);
        *why = XP_BACKEND_FAIL_BPFFS;
        errno = ENOENT;
        return NULL;
    }
    err = check_rx_queues(a);
    if (err) {
        free(a);
        *why = err == -EINVAL ? XP_BACKEND_FAIL_CONFIG : XP_BACKEND_FAIL_PORTS;
        errno = -err;
        return NULL;
    }
    a->prog = xp_xdp_prog__attach(conf);
    if (!a->prog) {
        err = errno;
        restore_rx_queues(a);
        free(a);
        *why = XP_BACKEND_FAIL_LOAD;
        errno = err;
        return NULL;
    }
    rss_on_addresses(conf);
    return &a->be;
}
