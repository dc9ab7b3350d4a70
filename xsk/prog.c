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
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "kern/xpro.bpf.skel.h"
#include "src/util/counters.h"
#include "src/util/log.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

/* Map writes per batched system call; a flush of more makes more calls. */
#define XP_BLOCKER_CHUNK 256

enum slot_write {
    WRITE_NONE = 0,
    WRITE_SET,     /* put the pair in the map with its expiry */
    WRITE_DEL,     /* take it out and free the slot */
    WRITE_REFUSED, /* during a flush: the map refused the block */
};

struct blocker_slot {
    struct xp_pair_key key;
    uint64_t expires_ns;
    bool held;     /* a pair has the slot */
    bool in_map;   /* its entry is in blocks4 / blocks */
    bool v4;       /* blocks4 (8-byte key) */
    uint8_t write; /* enum slot_write queued for the next flush */
    int err;       /* WRITE_REFUSED: why */
};

/* One worker's side of the block maps (prog.h); nothing in it is shared. */
struct xp_xdp_blocker {
    struct xp_xdp_prog *p;
    uint32_t base;                       /* first slot of this worker in a CPU row */
    uint32_t n_free, n_pending;
    uint32_t gone;                       /* during a flush: entries that left the map */
    uint32_t free[XP_BLOCK_SLOTS];       /* a stack */
    uint32_t pending[XP_BLOCK_SLOTS];    /* slots with a write queued */
    struct blocker_slot slot[XP_BLOCK_SLOTS];
    /* flush's scratch: keys and values of one batched call */
    union {
        struct xp_block4_key k4[XP_BLOCKER_CHUNK];
        struct xp_pair_key k6[XP_BLOCKER_CHUNK];
    };
    struct xp_block_val vals[XP_BLOCKER_CHUNK];
    uint32_t batch[XP_BLOCKER_CHUNK];    /* slots of the scratch entries */
    struct xp_xdp_blocker_stats st;
} __attribute__((aligned(64)));

struct xp_xdp_prog {
    struct xpro_bpf *skel;
    struct xdp_program *prog;
    enum xdp_attach_mode mode[XP_MAX_PORTS];
    unsigned n_ports;
    int ifindex[XP_MAX_PORTS];
    bool attached[XP_MAX_PORTS];
    char pin_dir[128];
    pthread_mutex_t manual_lock; /* operator blocks: the control thread; no worker takes it */
    unsigned n_manual;
    int ncpu;
    uint32_t row;               /* block_hits slots per CPU: workers * XP_BLOCK_SLOTS */
    uint64_t *hits;             /* block_hits, mmapped: ncpu rows */
    size_t hits_len;
    /*
     * The program's .bss, mmapped: its pair and operator-block counts. Not
     * skel->bss: libxdp loads the object, not the skeleton, which then never
     * maps its copy onto the kernel's.
     */
    struct xpro_bpf__bss *bss;
    size_t bss_len;
    unsigned n_blockers;
    struct xp_xdp_blocker *blockers; /* one per worker */
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

/* ---- the workers' blockers (prog.h) ---------------------------------------------------- */

static const uint8_t v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* Map an mmapable array map whole; *len is its size in pages. NULL with errno. */
static void *map_mmap(struct bpf_map *map, size_t bytes, size_t *len)
{
    long page = sysconf(_SC_PAGESIZE);
    void *m;

    *len = (bytes + page - 1) / page * page;
    m = mmap(NULL, *len, PROT_READ | PROT_WRITE, MAP_SHARED, bpf_map__fd(map), 0);
    return m == MAP_FAILED ? NULL : m;
}

static int blockers_init(struct xp_xdp_prog *p)
{
    p->hits = map_mmap(p->skel->maps.block_hits, (size_t)p->ncpu * p->row * sizeof(uint64_t),
                       &p->hits_len);
    if (!p->hits)
        return -errno;
    p->bss = map_mmap(p->skel->maps.bss, sizeof(*p->bss), &p->bss_len);
    if (!p->bss)
        return -errno;
    for (unsigned w = 0; w < p->n_blockers; w++) {
        struct xp_xdp_blocker *b = &p->blockers[w];

        memset(b, 0, sizeof(*b));
        b->p = p;
        b->base = w * XP_BLOCK_SLOTS;
        /* lowest slots first: a worker with few blocks touches few cache lines */
        for (uint32_t i = 0; i < XP_BLOCK_SLOTS; i++)
            b->free[i] = XP_BLOCK_SLOTS - 1 - i;
        b->n_free = XP_BLOCK_SLOTS;
    }
    return 0;
}

struct xp_xdp_blocker *xp_xdp_prog__blocker(struct xp_xdp_prog *p, unsigned worker)
{
    return worker < p->n_blockers ? &p->blockers[worker] : NULL;
}

static uint64_t *hit(const struct xp_xdp_blocker *b, int cpu, uint32_t slot)
{
    return &b->p->hits[(size_t)cpu * b->p->row + b->base + slot];
}

static void queue_write(struct xp_xdp_blocker *b, uint32_t slot, enum slot_write w)
{
    if (b->slot[slot].write == WRITE_NONE)
        b->pending[b->n_pending++] = slot;
    b->slot[slot].write = w;
}

int xp_xdp_blocker__block(struct xp_xdp_blocker *b, const struct xp_pair_key *key,
                          uint64_t expires_ns, uint32_t *slot)
{
    struct blocker_slot *s;
    uint32_t i = *slot;

    if (i == XP_XDP_SLOT_NONE) {
        if (!b->n_free)
            return -ENOSPC;
        i = b->free[--b->n_free];
        s = &b->slot[i];
        /* no CPU counts into a free slot: its last pair expired a grace ago, or never was in */
        for (int c = 0; c < b->p->ncpu; c++)
            __atomic_store_n(hit(b, c, i), 0, __ATOMIC_RELAXED);
        s->key = *key;
        s->held = true;
        s->v4 = memcmp(key->unit, v4_mapped, 12) == 0 && memcmp(key->dst, v4_mapped, 12) == 0;
        *slot = i;
    } else if (i >= XP_BLOCK_SLOTS || !b->slot[i].held) {
        return -EINVAL;
    }
    b->slot[i].expires_ns = expires_ns;
    queue_write(b, i, WRITE_SET);
    return 0;
}

void xp_xdp_blocker__unblock(struct xp_xdp_blocker *b, uint32_t slot)
{
    if (slot < XP_BLOCK_SLOTS && b->slot[slot].held)
        queue_write(b, slot, WRITE_DEL);
}

uint64_t xp_xdp_blocker__read(const struct xp_xdp_blocker *b, uint32_t slot)
{
    uint64_t n = 0;

    if (slot >= XP_BLOCK_SLOTS)
        return 0;
    for (int c = 0; c < b->p->ncpu; c++)
        n += __atomic_load_n(hit(b, c, slot), __ATOMIC_RELAXED);
    return n;
}

/* Fill the scratch with up to a chunk of slot i's kind; the batch's first key. */
static void *batch_key(struct xp_xdp_blocker *b, unsigned n, uint32_t i)
{
    const struct blocker_slot *s = &b->slot[i];

    b->batch[n] = i;
    b->vals[n] = (struct xp_block_val){ .expires_ns = s->expires_ns, .slot = b->base + i };
    if (s->v4) {
        memcpy(&b->k4[n].src, s->key.unit + 12, 4);
        memcpy(&b->k4[n].dst, s->key.dst + 12, 4);
        return b->k4;
    }
    b->k6[n] = s->key;
    return b->k6;
}

static void slot_free(struct xp_xdp_blocker *b, uint32_t i)
{
    b->slot[i].held = false;
    b->slot[i].write = WRITE_NONE;
    b->free[b->n_free++] = i;
}

/*
 * One batched call over the scratch's n entries: delete (set false) or
 * update. A batch stops at the first entry that fails: the entries before
 * it are done, that one's error goes to done(), and the call goes on after
 * it. Returns the system calls made.
 */
static unsigned batch_call(struct xp_xdp_blocker *b, int fd, bool set, void *keys, size_t ksz,
                           unsigned n, void (*done)(struct xp_xdp_blocker *, uint32_t, int))
{
    LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = BPF_ANY);
    unsigned calls = 0, at = 0;

    while (at < n) {
        __u32 count = n - at;
        int ret;

        ret = set ? bpf_map_update_batch(fd, (char *)keys + at * ksz, &b->vals[at], &count, &opts)
                  : bpf_map_delete_batch(fd, (char *)keys + at * ksz, &count, &opts);
        calls++;
        if (ret)
            ret = -errno;
        if (count > n - at)
            count = n - at;
        for (unsigned k = 0; k < count; k++)
            done(b, b->batch[at + k], 0);
        at += count;
        if (!ret)
            break;
        if (at < n)
            done(b, b->batch[at++], ret);
    }
    return calls;
}

/* A removal done (or the entry already gone): the slot is free for another pair. */
static void del_done(struct xp_xdp_blocker *b, uint32_t i, int err)
{
    if (err && err != -ENOENT)
        pr_warn("block map: removing an entry: %s (left to expire)", strerror(-err));
    if (b->slot[i].in_map) {
        b->slot[i].in_map = false;
        b->gone++;
    }
    slot_free(b, i);
}

static void set_done(struct xp_xdp_blocker *b, uint32_t i, int err)
{
    struct blocker_slot *s = &b->slot[i];

    if (err) {
        s->write = WRITE_REFUSED;
        s->err = err;
        return;
    }
    s->in_map = true;
    s->write = WRITE_NONE;
}

/* One kind of write (removals or blocks) of one family, in chunks. */
static unsigned flush_kind(struct xp_xdp_blocker *b, enum slot_write w, bool v4)
{
    struct xpro_bpf *skel = b->p->skel;
    int fd = bpf_map__fd(v4 ? skel->maps.blocks4 : skel->maps.blocks);
    size_t ksz = v4 ? sizeof(struct xp_block4_key) : sizeof(struct xp_pair_key);
    void (*done)(struct xp_xdp_blocker *, uint32_t, int) = w == WRITE_DEL ? del_done : set_done;
    unsigned n = 0, calls = 0;
    void *keys = NULL;

    for (uint32_t k = 0; k < b->n_pending; k++) {
        uint32_t i = b->pending[k];

        if (b->slot[i].write != w || b->slot[i].v4 != v4)
            continue;
        if (w == WRITE_DEL && !b->slot[i].in_map) {
            slot_free(b, i); /* given up before a flush put it in */
            continue;
        }
        keys = batch_key(b, n++, i);
        if (n == XP_BLOCKER_CHUNK) {
            calls += batch_call(b, fd, w == WRITE_SET, keys, ksz, n, done);
            n = 0;
        }
    }
    if (n)
        calls += batch_call(b, fd, w == WRITE_SET, keys, ksz, n, done);
    return calls;
}

void xp_xdp_blocker__flush(struct xp_xdp_blocker *b,
                           void (*failed)(void *arg, const struct xp_pair_key *key, int err),
                           void *arg)
{
    uint32_t *pairs = &b->p->bss->block_pairs;
    unsigned calls = 0, fresh = 0;

    if (!b->n_pending)
        return;
    /* removals first: a pair's old slot leaves the map before its new one goes in */
    b->gone = 0;
    calls += flush_kind(b, WRITE_DEL, true);
    calls += flush_kind(b, WRITE_DEL, false);
    if (b->gone)
        __atomic_fetch_sub(pairs, b->gone, __ATOMIC_RELEASE);
    /* counted before they go in, so that XDP looks them up as soon as they are there */
    for (uint32_t k = 0; k < b->n_pending; k++) {
        const struct blocker_slot *s = &b->slot[b->pending[k]];

        fresh += s->write == WRITE_SET && !s->in_map;
    }
    if (fresh)
        __atomic_fetch_add(pairs, fresh, __ATOMIC_RELEASE);
    calls += flush_kind(b, WRITE_SET, true);
    calls += flush_kind(b, WRITE_SET, false);
    /* refused (map full): out of the map if an older write put it there, and reported */
    b->gone = 0;
    for (uint32_t k = 0; k < b->n_pending; k++) {
        uint32_t i = b->pending[k];
        struct blocker_slot *s = &b->slot[i];
        struct xp_block4_key k4;
        const void *key = &s->key;
        int err = s->err;

        if (s->write != WRITE_REFUSED)
            continue;
        if (s->in_map) {
            if (s->v4) {
                memcpy(&k4.src, s->key.unit + 12, 4);
                memcpy(&k4.dst, s->key.dst + 12, 4);
                key = &k4;
            }
            bpf_map_delete_elem(bpf_map__fd(s->v4 ? b->p->skel->maps.blocks4
                                                  : b->p->skel->maps.blocks), key);
            calls++;
        }
        b->gone++;
        s->in_map = false;
        slot_free(b, i);
        if (failed)
            failed(arg, &s->key, err);
    }
    if (b->gone)
        __atomic_fetch_sub(pairs, b->gone, __ATOMIC_RELEASE);
    XP_STAT_ADD(b->st.writes, b->n_pending);
    XP_STAT_ADD(b->st.syscalls, calls);
    XP_STAT_ADD(b->st.flushes, 1);
    b->n_pending = 0;
}

void xp_xdp_blocker__stats(const struct xp_xdp_blocker *b, struct xp_xdp_blocker_stats *out)
{
    out->flushes = XP_STAT_GET(b->st.flushes);
    out->syscalls = XP_STAT_GET(b->st.syscalls);
    out->writes = XP_STAT_GET(b->st.writes);
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
    pthread_mutex_init(&p->manual_lock, NULL);
    p->ncpu = libbpf_num_possible_cpus();
    p->n_blockers = cfg->n_queues ? cfg->n_queues : 1;
    p->row = p->n_blockers * XP_BLOCK_SLOTS;
    if (p->ncpu <= 0 || posix_memalign((void **)&p->blockers, 64,
                                       p->n_blockers * sizeof(*p->blockers))) {
        p->blockers = NULL;
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
    p->skel->rodata->block_slots = p->row;
    ret = bpf_map__set_max_entries(p->skel->maps.block_hits, (uint32_t)p->ncpu * p->row);
    if (ret) {
        pr_err("sizing the block counters: %s", strerror(-ret));
        goto err_skel;
    }
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
    ret = blockers_init(p);
    if (ret) {
        pr_err("mapping the block counters: %s", strerror(-ret));
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
    if (p->hits)
        munmap(p->hits, p->hits_len);
    if (p->bss)
        munmap(p->bss, p->bss_len);
err_skel:
    xpro_bpf__destroy(p->skel);
err_free:
    free(p->blockers);
    free(p);
    errno = -ret;
    return NULL;
}

/* What the XDP program reads before any lookup: the operator blocks' count. */
static void set_manual_count(struct xp_xdp_prog *p)
{
    __atomic_store_n(&p->bss->block_manual, p->n_manual, __ATOMIC_RELEASE);
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
    pthread_mutex_lock(&p->manual_lock);
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
    set_manual_count(p);
out:
    pthread_mutex_unlock(&p->manual_lock);
    return ret;
}

int xp_xdp_prog__manual_unblock(struct xp_xdp_prog *p, const uint8_t unit[16],
                                const uint8_t *dst)
{
    struct xp_pair_key k;
    int ret;

    manual_key(&k, unit, dst);
    pthread_mutex_lock(&p->manual_lock);
    if (bpf_map_delete_elem(bpf_map__fd(p->skel->maps.manual), &k)) {
        ret = -errno;
        goto out;
    }
    p->n_manual--;
    set_manual_count(p);
    ret = 0;
out:
    pthread_mutex_unlock(&p->manual_lock);
    return ret;
}

unsigned xp_xdp_prog__blocked(struct xp_xdp_prog *p)
{
    return __atomic_load_n(&p->bss->block_pairs, __ATOMIC_RELAXED);
}

int xp_xdp_prog__prog_fd(const struct xp_xdp_prog *p)
{
    return xdp_program__fd(p->prog);
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
    if (p->hits)
        munmap(p->hits, p->hits_len);
    if (p->bss)
        munmap(p->bss, p->bss_len);
    xpro_bpf__destroy(p->skel);
    free(p->blockers);
    pthread_mutex_destroy(&p->manual_lock);
    free(p);
}
