// SPDX-License-Identifier: GPL-2.0-only
#include "xsk/prog.h"
#include "xsk/nic.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "kern/xpro.bpf.skel.h"
#include "src/util/log.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

struct xp_xdp_prog {
    struct xpro_bpf *skel;
    struct xdp_program *prog;
    enum xdp_attach_mode mode[XP_MAX_PORTS];
    unsigned n_ports;
    int ifindex[XP_MAX_PORTS];
    bool attached[XP_MAX_PORTS];
    char pin_dir[128];
    pthread_mutex_t block_lock; /* block map writers: workers, rarely */
    unsigned n_blocked;
    unsigned n_manual;
    uint64_t block_gen;         /* incarnations of block map entries */
    int ncpu;
    struct xp_block_val *vals;  /* one per possible CPU */
    struct xp_block_cache *caches; /* one per possible CPU, for block_read */
};

int xp_bpffs_check(void)
{
    struct statfs st;

    if (statfs(XP_BPFFS_ROOT, &st) == -1 || (unsigned long)st.f_type != BPF_FS_MAGIC)
        return -ENOENT;
    return 0;
}

/*
 * Our own program from an earlier run is detached; anything else is left
 * alone and reported: the operator must decide, not us.
 */
static int clear_previous(int ifindex, const char *ifname, bool at_exit)
{
    struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(ifindex);
    struct xdp_program *prog;
    bool foreign = false;
    const char *name = "";
    int ret = 0;

    if (!mp || libxdp_get_error(mp))
        return 0;
    if (xdp_multiprog__is_legacy(mp)) {
        prog = xdp_multiprog__main_prog(mp);
        if (prog) {
            name = xdp_program__name(prog);
            foreign = strcmp(name, XP_XDP_PROG_NAME) != 0;
        }
    } else {
        for (prog = xdp_multiprog__next_prog(NULL, mp); prog;
             prog = xdp_multiprog__next_prog(prog, mp)) {
            if (strcmp(xdp_program__name(prog), XP_XDP_PROG_NAME) != 0) {
                name = xdp_program__name(prog);
                foreign = true;
            }
        }
    }
    if (foreign) {
        pr_err("%s: another XDP program (\"%s\") is attached; detach it first "
               "(ip link set dev %s xdp off) or pick another port", ifname, name, ifname);
        ret = -EEXIST;
    } else if (xdp_multiprog__main_prog(mp) || xdp_multiprog__next_prog(NULL, mp)) {
        if (!at_exit)
            pr_info("%s: replacing the xpro XDP program left by an earlier run", ifname);
        ret = xdp_multiprog__detach(mp);
        if (ret)
            pr_err("%s: detaching the earlier xpro program: %s", ifname, strerror(-ret));
    }
    xdp_multiprog__close(mp);
    return ret;
}

static int pin_stats(struct xp_xdp_prog *p, const char *proxy_id)
{
    char path[192];
    int ret;

    snprintf(p->pin_dir, sizeof(p->pin_dir), XP_BPFFS_ROOT "/xpro/%s", proxy_id);
    mkdir(XP_BPFFS_ROOT "/xpro", 0700);
    mkdir(p->pin_dir, 0700);
    snprintf(path, sizeof(path), "%s/kstats", p->pin_dir);
    unlink(path);
    ret = bpf_map__pin(p->skel->maps.kstats, path);
    if (ret)
        pr_warn("pinning %s: %s (stats of a crashed proxy will not be readable)", path,
                strerror(-ret));
    return 0;
}

static int fill_mgmt(struct xp_xdp_prog *p, const struct xp_backend_conf *cfg)
{
    int fd = bpf_map__fd(p->skel->maps.mgmt);
    __u32 one = 1;

    for (unsigned i = 0; i < cfg->n_mgmt; i++) {
        struct xp_lpm_key key = { .prefixlen = cfg->mgmt[i].prefix_len };

        memcpy(key.addr, cfg->mgmt[i].addr, 16);
        if (bpf_map_update_elem(fd, &key, &one, 0))
            return -errno;
    }
    return 0;
}

struct xp_xdp_prog *xp_xdp_prog__attach(const struct xp_backend_conf *cfg)
{
    DECLARE_LIBXDP_OPTS(xdp_program_opts, opts, .prog_name = XP_XDP_PROG_NAME);
    struct xp_xdp_prog *p;
    int ret;

    p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->n_ports = XP_MAX_PORTS;
    pthread_mutex_init(&p->block_lock, NULL);
    p->ncpu = libbpf_num_possible_cpus();
    p->vals = p->ncpu > 0 ? calloc(p->ncpu, sizeof(*p->vals)) : NULL;
    p->caches = p->ncpu > 0 ? calloc(p->ncpu, sizeof(*p->caches)) : NULL;
    if (!p->vals || !p->caches) {
        ret = -ENOMEM;
        goto err_free;
    }
    for (unsigned i = 0; i < XP_MAX_PORTS; i++)
        p->mode[i] = cfg->xdp_skb[i] ? XDP_MODE_SKB : XDP_MODE_NATIVE;
    for (unsigned i = 0; i < p->n_ports; i++) {
        p->ifindex[i] = if_nametoindex(cfg->port_name[i]);
        if (p->ifindex[i] == 0) {
            pr_err("port %s: no such interface", cfg->port_name[i]);
            ret = -ENODEV;
            goto err_free;
        }
    }
    for (unsigned i = 0; i < p->n_ports; i++) {
        ret = clear_previous(p->ifindex[i], cfg->port_name[i], false);
        if (ret)
            goto err_free;
    }

    p->skel = xpro_bpf__open();
    if (!p->skel) {
        ret = -errno;
        pr_err("opening the XDP object: %s", strerror(errno));
        goto err_free;
    }
    for (unsigned i = 0; i < p->n_ports; i++)
        p->skel->rodata->port_ifindex[i] = p->ifindex[i];
    p->skel->rodata->fail_closed = cfg->fail_closed;
    p->skel->rodata->mgmt_enabled = cfg->n_mgmt > 0;
    p->skel->rodata->police_port = XP_PORT_ACCESS;
    p->skel->rodata->v6_unit_bytes = cfg->v6_unit_prefix / 8;
    p->skel->rodata->non_ip_drop = !cfg->non_ip_pass;
    p->skel->rodata->gateway_mode = cfg->gateway;
    p->skel->rodata->tunnel_port = htons(cfg->tunnel_port);
    if (cfg->gateway) {
        ret = xp_nic_mac(cfg->port_name[XP_PORT_ACCESS], (uint8_t *)p->skel->rodata->access_mac);
        if (ret) {
            pr_err("%s: no Ethernet address: %s", cfg->port_name[XP_PORT_ACCESS], strerror(-ret));
            goto err_skel;
        }
    }

    opts.obj = p->skel->obj;
    p->prog = xdp_program__create(&opts);
    ret = libxdp_get_error(p->prog);
    if (ret) {
        p->prog = NULL;
        pr_err("creating the XDP program: %s", strerror(-ret));
        goto err_skel;
    }
    for (unsigned i = 0; i < p->n_ports; i++) {
        ret = xdp_program__attach(p->prog, p->ifindex[i], p->mode[i], 0);
        if (ret) {
            pr_err("%s: attaching XDP (%s mode): %s%s", cfg->port_name[i],
                   cfg->xdp_skb[i] ? "skb" : "native", strerror(-ret),
                   ret == -ENOSPC ? " (veth: native XDP needs at least as many RX queues as "
                                    "its peer has TX queues)"
                                  : "");
            goto err_detach;
        }
        p->attached[i] = true;
    }
    ret = fill_mgmt(p, cfg);
    if (ret) {
        pr_err("filling the management prefixes: %s", strerror(-ret));
        goto err_detach;
    }
    pin_stats(p, cfg->proxy_id);
    return p;

err_detach:
    for (unsigned i = 0; i < p->n_ports; i++) {
        if (p->attached[i])
            xdp_program__detach(p->prog, p->ifindex[i], p->mode[i], 0);
    }
    xdp_program__close(p->prog);
err_skel:
    xpro_bpf__destroy(p->skel);
err_free:
    free(p->vals);
    free(p->caches);
    free(p);
    errno = -ret;
    return NULL;
}

static int set_block_count(struct xp_xdp_prog *p)
{
    struct xp_block_counts bc = { .pairs = p->n_blocked, .manual = p->n_manual };
    __u32 zero = 0;

    return bpf_map_update_elem(bpf_map__fd(p->skel->maps.block_count), &zero, &bc, 0) ? -errno : 0;
}

static int set_manual_count(struct xp_xdp_prog *p)
{
    return set_block_count(p);
}

static const uint8_t v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* The map and the key of a pair: IPv4 pairs use the 8-byte key of blocks4. */
static int block_map_key(struct xp_xdp_prog *p, const struct xp_pair_key *key,
                         struct xp_block4_key *k4, const void **k)
{
    if (memcmp(key->unit, v4_mapped, 12) == 0 && memcmp(key->dst, v4_mapped, 12) == 0) {
        memcpy(&k4->src, key->unit + 12, 4);
        memcpy(&k4->dst, key->dst + 12, 4);
        *k = k4;
        return bpf_map__fd(p->skel->maps.blocks4);
    }
    *k = key;
    return bpf_map__fd(p->skel->maps.blocks);
}

static void manual_key(struct xp_pair_key *k, const uint8_t unit[16], const uint8_t *dst)
{
    memcpy(k->unit, unit, 16);
    if (dst)
        memcpy(k->dst, dst, 16);
    else
        memset(k->dst, 0, 16);
}

int xp_xdp_prog__manual_block(struct xp_xdp_prog *p, const uint8_t unit[16],
                              const uint8_t *dst, uint64_t expires_ns)
{
    int fd = bpf_map__fd(p->skel->maps.manual);
    struct xp_pair_key k;
    __u64 old, exp = expires_ns;
    int ret = 0;

    manual_key(&k, unit, dst);
    pthread_mutex_lock(&p->block_lock);
    if (bpf_map_lookup_elem(fd, &k, &old) == 0) {
        if (bpf_map_update_elem(fd, &k, &exp, BPF_EXIST))
            ret = -errno;
        goto out;
    }
    if (bpf_map_update_elem(fd, &k, &exp, BPF_NOEXIST)) {
        ret = errno == E2BIG ? -ENOSPC : -errno;
        goto out;
    }
    p->n_manual++;
    ret = set_manual_count(p);
out:
    pthread_mutex_unlock(&p->block_lock);
    return ret;
}

int xp_xdp_prog__manual_unblock(struct xp_xdp_prog *p, const uint8_t unit[16],
                                const uint8_t *dst)
{
    struct xp_pair_key k;
    int ret;

    manual_key(&k, unit, dst);
    pthread_mutex_lock(&p->block_lock);
    if (bpf_map_delete_elem(bpf_map__fd(p->skel->maps.manual), &k)) {
        ret = -errno;
        goto out;
    }
    p->n_manual--;
    ret = set_manual_count(p);
out:
    pthread_mutex_unlock(&p->block_lock);
    return ret;
}

int xp_xdp_prog__block(struct xp_xdp_prog *p, const struct xp_pair_key *key, uint64_t expires_ns)
{
    struct xp_block4_key k4;
    const void *k;
    int fd = block_map_key(p, key, &k4, &k);
    bool exists;
    int ret = 0;

    pthread_mutex_lock(&p->block_lock);
    exists = bpf_map_lookup_elem(fd, k, p->vals) == 0;
    if (!exists) {
        memset(p->vals, 0, p->ncpu * sizeof(*p->vals));
        p->block_gen++;
        for (int c = 0; c < p->ncpu; c++)
            p->vals[c].gen = p->block_gen;
    }
    for (int c = 0; c < p->ncpu; c++)
        p->vals[c].expires_ns = expires_ns;
    /*
     * Counters written by XDP between our lookup and update are lost; the
     * window is a system call long and only matters for accounting.
     */
    if (bpf_map_update_elem(fd, k, p->vals, BPF_ANY)) {
        ret = errno == ENOSPC || errno == E2BIG ? -E2BIG : -errno;
        goto out;
    }
    if (!exists) {
        p->n_blocked++;
        ret = set_block_count(p);
    }
out:
    pthread_mutex_unlock(&p->block_lock);
    return ret;
}

int xp_xdp_prog__unblock(struct xp_xdp_prog *p, const struct xp_pair_key *key)
{
    struct xp_block4_key k4;
    const void *k;
    int fd = block_map_key(p, key, &k4, &k);
    int ret = 0;

    pthread_mutex_lock(&p->block_lock);
    if (bpf_map_delete_elem(fd, k)) {
        ret = -errno;
        goto out;
    }
    p->n_blocked--;
    ret = set_block_count(p);
out:
    pthread_mutex_unlock(&p->block_lock);
    return ret;
}

int xp_xdp_prog__block_read(struct xp_xdp_prog *p, const struct xp_pair_key *key,
                            uint64_t *packets)
{
    struct xp_block4_key k4;
    const void *k;
    int fd = block_map_key(p, key, &k4, &k);
    int ret = 0;

    pthread_mutex_lock(&p->block_lock);
    if (bpf_map_lookup_elem(fd, k, p->vals)) {
        ret = -errno;
        goto out;
    }
    *packets = 0;
    for (int c = 0; c < p->ncpu; c++)
        *packets += p->vals[c].packets;
    /* Every CPU's copy carries the same gen: userspace writes them together. */
    if (k == &k4 && p->ncpu > 0) {
        uint64_t gen = p->vals[0].gen;
        __u32 zero = 0;

        /* Plus what each CPU's one-entry cache counted for this incarnation, not yet folded. */
        if (bpf_map_lookup_elem(bpf_map__fd(p->skel->maps.block_cache), &zero, p->caches) == 0) {
            for (int c = 0; c < p->ncpu; c++)
                if (p->caches[c].src == k4.src && p->caches[c].dst == k4.dst &&
                    p->caches[c].gen == gen)
                    *packets += p->caches[c].packets;
        }
    }
out:
    pthread_mutex_unlock(&p->block_lock);
    return ret;
}

unsigned xp_xdp_prog__blocked(struct xp_xdp_prog *p)
{
    unsigned n;

    pthread_mutex_lock(&p->block_lock);
    n = p->n_blocked;
    pthread_mutex_unlock(&p->block_lock);
    return n;
}

int xp_xdp_prog__xskmap_fd(const struct xp_xdp_prog *p)
{
    return bpf_map__fd(p->skel->maps.xsks);
}

int xp_xdp_prog__ifindex(const struct xp_xdp_prog *p, unsigned port)
{
    return p->ifindex[port];
}

int xp_xdp_prog__stats(const struct xp_xdp_prog *p, unsigned port, struct xp_kern_stats *out)
{
    int ncpu = libbpf_num_possible_cpus();
    struct xp_kern_stats *per_cpu;
    __u32 key = port;
    int ret = 0;

    if (ncpu <= 0)
        return ncpu ? ncpu : -EINVAL;
    per_cpu = calloc(ncpu, sizeof(*per_cpu));
    if (!per_cpu)
        return -ENOMEM;
    memset(out, 0, sizeof(*out));
    if (bpf_map_lookup_elem(bpf_map__fd(p->skel->maps.kstats), &key, per_cpu)) {
        ret = -errno;
        goto out;
    }
    for (int c = 0; c < ncpu; c++) {
        for (int i = 0; i < XP_KC_MAX; i++)
            out->packets[i] += per_cpu[c].packets[i];
        out->bytes_rx += per_cpu[c].bytes_rx;
    }
out:
    free(per_cpu);
    return ret;
}

int xp_xdp_prog__detach_by_name(const char *ifname)
{
    int ifindex = (int)if_nametoindex(ifname);

    if (!ifindex)
        return -errno;
    return clear_previous(ifindex, ifname, true);
}

static void unpin_dir(const char *dir)
{
    char path[192];

    snprintf(path, sizeof(path), "%s/kstats", dir);
    unlink(path);
    rmdir(dir);
}

void xp_xdp_prog__unpin(const char *proxy_id)
{
    char dir[128];

    snprintf(dir, sizeof(dir), XP_BPFFS_ROOT "/xpro/%s", proxy_id);
    unpin_dir(dir);
}

void xp_xdp_prog__destroy(struct xp_xdp_prog *p, bool keep_attached)
{
    if (!p)
        return;
    for (unsigned i = 0; i < p->n_ports; i++) {
        if (!p->attached[i] || keep_attached)
            continue;
        if (xdp_program__detach(p->prog, p->ifindex[i], p->mode[i], 0))
            pr_warn("ifindex %d: XDP detach failed", p->ifindex[i]);
    }
    if (!keep_attached && p->pin_dir[0])
        unpin_dir(p->pin_dir);
    xdp_program__close(p->prog);
    xpro_bpf__destroy(p->skel);
    free(p->vals);
    free(p->caches);
    pthread_mutex_destroy(&p->block_lock);
    free(p);
}
