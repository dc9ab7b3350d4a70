// SPDX-License-Identifier: GPL-2.0-only
#include "src/gateway/gateway.h"
#include "src/gateway/gateway_internal.h"
#include "src/util/clock.h"
#include "src/util/counters.h"
#include "src/util/wire.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define ETH_HLEN 14
#define UDP_HLEN 8
/* A worker reports the same unresolved next hop at most this often. */
#define XP_GW_MISS_EVERY_NS 100000000ULL

static const char *const counter_names[XP_GW_C_MAX] = {
    [XP_GW_C_RX] = "rx",
    [XP_GW_C_DATA] = "data",
    [XP_GW_C_KEEPALIVE] = "keepalives",
    [XP_GW_C_OVERLOAD_SENT] = "overload_answers",
    [XP_GW_C_FORWARD] = "forward",
    [XP_GW_C_DROP_OUTER] = "drop_outer_malformed",
    [XP_GW_C_DROP_TUNNEL] = "drop_tunnel",
    [XP_GW_C_DROP_SPOOFED] = "drop_spoofed_source",
    [XP_GW_C_DROP_POLICY] = "drop_policy",
    [XP_GW_C_DROP_NO_ROUTE] = "drop_no_route",
    [XP_GW_C_DROP_NO_NEIGH] = "drop_no_neighbour",
    [XP_GW_C_DROP_REPLY] = "drop_reply",
    [XP_GW_C_DROP_MANUAL] = "drop_manual",
    [XP_GW_C_DROP_BAD_DST] = "drop_bad_destination",
    [XP_GW_C_DROP_TTL] = "drop_ttl_expired",
    [XP_GW_C_DROP_MAC_LIMITED] = "drop_mac_limited",
};

const char *xp_gw_counter_name(enum xp_gw_counter c)
{
    return (unsigned)c < XP_GW_C_MAX ? counter_names[c] : "invalid";
}

static void unitset_free(struct gw_unitset *us)
{
    if (!us)
        return;
    if (us->key_storage)
        xp_tunnel_keys__wipe(&us->keys);
    free(us->key_storage);
    free(us->windows);
    free(us->units);
    free(us);
}

/* Keys a unit set needs room for. */
static unsigned count_keys(const struct xp_conf_gateway *gc)
{
    unsigned n = 0;

    for (unsigned i = 0; i < gc->n_units; i++)
        n += gc->units[i].n_keys;
    return n;
}

/* Keys, bindings and fresh replay windows for gc->units. NULL with errno and err. */
static struct gw_unitset *unitset_build(const struct xp_conf_gateway *gc, char *err,
                                        size_t errlen)
{
    struct gw_unitset *us = calloc(1, sizeof(*us));
    unsigned n_keys = count_keys(gc), cap = n_keys ? n_keys : 1;
    int ret = ENOMEM;

    if (!us)
        goto fail;
    us->key_storage = calloc(cap, sizeof(*us->key_storage));
    us->windows = calloc(cap, sizeof(*us->windows));
    us->units = calloc(cap, sizeof(*us->units));
    if (!us->key_storage || !us->windows || !us->units)
        goto fail;
    xp_tunnel_keys__init(&us->keys, us->key_storage, n_keys);
    for (unsigned i = 0; i < gc->n_units; i++) {
        const struct xp_conf_gw_unit *u = &gc->units[i];

        for (unsigned k = 0; k < u->n_keys; k++) {
            const struct xp_conf_gw_key *key = &u->keys[k];

            ret = -xp_tunnel_keys__add(&us->keys, u->id, (uint8_t)key->id, key->key, key->len);
            if (ret) {
                snprintf(err, errlen, "gateway.units.%u: keys.%u: %s", i, k, strerror(ret));
                goto fail;
            }
        }
    }
    /* The key table is sorted by unit id: bind each unit at its first key. */
    for (unsigned i = 0; i < gc->n_units; i++) {
        const struct xp_conf_gw_unit *u = &gc->units[i];
        struct gw_unit *g = &us->units[xp_tunnel_keys__find(&us->keys, u->id)];

        memcpy(g->name, u->sources[0].addr, 16);
        g->n_sources = u->n_sources;
        memcpy(g->sources, u->sources, sizeof(g->sources));
    }
    us->n_units = gc->n_units;
    ret = -xp_tunnel_replay__init(&us->replay, us->windows, cap, &us->keys);
    if (ret) {
        snprintf(err, errlen, "gateway: replay windows: %s", strerror(ret));
        goto fail;
    }
    return us;

fail:
    if (ret == ENOMEM)
        snprintf(err, errlen, "gateway: out of memory");
    unitset_free(us);
    errno = ret;
    return NULL;
}

/* A random epoch, never 0 (0 is what a unit sends before it learnt one). */
static int random_epoch(uint32_t *epoch)
{
    do {
        if (getrandom(epoch, sizeof(*epoch), 0) != sizeof(*epoch))
            return -errno;
    } while (*epoch == 0);
    return 0;
}

struct xp_gateway *xp_gateway__create(const struct xp_conf_gateway *gc, char *err,
                                      size_t errlen)
{
    struct xp_gateway *gw = calloc(1, sizeof(*gw));
    struct gw_unitset *us;

    if (!gw) {
        snprintf(err, errlen, "gateway: out of memory");
        return NULL;
    }
    gw->readers = xp_qsbr__create(XP_MAX_QUEUES);
    if (!gw->readers) {
        int e = errno;

        snprintf(err, errlen, "gateway: readers: %s", strerror(e));
        free(gw);
        errno = e;
        return NULL;
    }
    us = unitset_build(gc, err, errlen);
    if (!us) {
        int e = errno;

        xp_qsbr__destroy(gw->readers);
        free(gw);
        errno = e;
        return NULL;
    }
    atomic_store(&gw->set, us);
    gw->tunnel_port = (uint16_t)gc->tunnel_port;
    gw->self.proxy_id = (uint16_t)gc->tunnel_id;
    if (random_epoch(&gw->self.epoch) < 0 ||
        getrandom(&gw->macfail_seed, sizeof(gw->macfail_seed), 0) != sizeof(gw->macfail_seed)) {
        int e = errno;

        snprintf(err, errlen, "gateway: getrandom: %s", strerror(e));
        unitset_free(us);
        xp_qsbr__destroy(gw->readers);
        free(gw);
        errno = e;
        return NULL;
    }
    gw->macfail_interval = 1000000000ULL / (gc->mac_fail_pps ? gc->mac_fail_pps : 1);
    gw->macfail_burst = 1000000000ULL;
    atomic_store(&gw->ctl_seq, xp_real_ns());
    return gw;
}

void xp_gateway__destroy(struct xp_gateway *gw)
{
    if (!gw)
        return;
    unitset_free(atomic_load(&gw->set));
    xp_nexthops__free(atomic_load(&gw->nh));
    xp_qsbr__destroy(gw->readers);
    free(gw);
}

/*
 * After a pointer that workers read in xp_gw_queue__process() was replaced:
 * wait until none can still hold the old one. A worker is online only
 * inside that call, so this waits for at most one burst per worker, and
 * not at all for a worker that sleeps or stopped.
 */
void xp_gw__wait_for_readers(struct xp_gateway *gw)
{
    xp_qsbr__synchronize(gw->readers);
}

/* A unit's window sits at its first key, whichever keys it has in either set. */
static void merge_windows(struct gw_unitset *into, struct gw_unitset *from)
{
    for (uint32_t i = 0; i < into->keys.count; i++) {
        uint32_t unit = into->keys.keys[i].unit_id;
        int j;

        if (i > 0 && into->keys.keys[i - 1].unit_id == unit)
            continue;
        j = xp_tunnel_keys__find(&from->keys, unit);
        if (j >= 0)
            xp_tunnel_window__merge(&into->windows[i], &from->windows[j]);
    }
}

int xp_gateway__set_units(struct xp_gateway *gw, const struct xp_conf_gateway *gc, char *err,
                          size_t errlen)
{
    struct gw_unitset *next = unitset_build(gc, err, errlen), *old;

    if (!next)
        return -errno;
    /*
     * Units that stay keep what their windows accepted: folded in once
     * before the exchange, and once more after it, when nobody writes the
     * old windows any more (for what they accepted in between). The one
     * gap: a datagram accepted by an old window in the microseconds
     * between the two folds and replayed within them into the new one.
     */
    old = atomic_load(&gw->set);
    merge_windows(next, old);
    atomic_store(&gw->set, next);
    xp_gw__wait_for_readers(gw);
    merge_windows(next, old);
    unitset_free(old);
    return 0;
}

void xp_gateway__set_load(struct xp_gateway *gw, uint32_t w_permille)
{
    atomic_store_explicit(&gw->w_permille, w_permille, memory_order_relaxed);
}

uint32_t xp_gateway__load(const struct xp_gateway *gw)
{
    return atomic_load_explicit(&((struct xp_gateway *)gw)->w_permille, memory_order_relaxed);
}

unsigned xp_gateway__units(const struct xp_gateway *gw)
{
    return atomic_load(&((struct xp_gateway *)gw)->set)->n_units;
}

struct xp_tunnel_addr xp_gateway__self(const struct xp_gateway *gw)
{
    return gw->self;
}

const struct xp_nexthops *xp_gateway__nexthops(const struct xp_gateway *gw)
{
    return atomic_load(&((struct xp_gateway *)gw)->nh);
}

void xp_gateway__publish(struct xp_gateway *gw, struct xp_nexthops *nh)
{
    struct xp_nexthops *old = atomic_exchange(&gw->nh, nh);

    if (!old)
        return;
    xp_gw__wait_for_readers(gw);
    xp_nexthops__free(old);
}

struct xp_gw_queue *xp_gw_queue__create(struct xp_gateway *gw, struct xp_pipeline *pl,
                                        const struct xp_io_ops *io, void *ioq)
{
    struct xp_gw_queue *q;
    int ret;

    if (gw->n_queues >= XP_MAX_QUEUES || !io || !io->room) {
        errno = EINVAL;
        return NULL;
    }
    /* posix_memalign returns its error and leaves errno alone; callers read errno */
    ret = posix_memalign((void **)&q, 64, sizeof(*q));
    if (ret) {
        errno = ret;
        return NULL;
    }
    memset(q, 0, sizeof(*q));
    ret = xp_spsc__init(&q->misses, q->miss_slots, sizeof(q->miss_slots[0]), XP_GW_MISSES);
    if (ret) {
        free(q);
        errno = -ret;
        return NULL;
    }
    q->rd = xp_qsbr__register(gw->readers);
    if (!q->rd) {
        free(q);
        return NULL;
    }
    q->gw = gw;
    q->pl = pl;
    q->io = io;
    q->ioq = ioq;
    gw->queues[gw->n_queues++] = q;
    return q;
}

void xp_gw_queue__destroy(struct xp_gw_queue *q)
{
    if (!q)
        return;
    for (unsigned i = 0; i < q->gw->n_queues; i++) {
        if (q->gw->queues[i] == q) {
            q->gw->queues[i] = q->gw->queues[--q->gw->n_queues];
            break;
        }
    }
    xp_qsbr__unregister(q->gw->readers, q->rd);
    free(q);
}

static void swap_bytes(uint8_t *a, uint8_t *b, size_t n)
{
    uint8_t t[16];

    memcpy(t, a, n);
    memcpy(a, b, n);
    memcpy(b, t, n);
}

/* ---- the hot path ------------------------------------------------------------ */

/*
 * Turn a keepalive frame into the answer, in place: same L2 path back
 * (addresses swapped, VLAN tags kept), IP and UDP endpoints swapped, the
 * control message as payload. 0, or -ENOSPC if the frame has no room.
 */
static int answer_keepalive(struct xp_gw_queue *q, struct xp_pkt *pkt, const struct xp_parsed *o,
                            const struct xp_tunnel_key *key, uint64_t echo_seq)
{
    struct xp_gateway *gw = q->gw;
    uint8_t *l3 = pkt->data + o->l3_off, *udp = pkt->data + o->l4_off;
    uint32_t room = q->io->room(q->ioq, pkt);
    uint32_t used = (uint32_t)(udp + UDP_HLEN - pkt->data);
    uint32_t w = xp_gateway__load(gw);
    enum xp_tunnel_type type = w >= 1000 ? XP_TUNNEL_T_OVERLOAD : XP_TUNNEL_T_KEEPALIVE_ACK;
    uint64_t seq = atomic_fetch_add_explicit(&gw->ctl_seq, 1, memory_order_relaxed);
    int plen;
    uint16_t udp_len;
    uint32_t sum;

    if (room <= used)
        return -ENOSPC;
    plen = xp_tunnel_encap_control(udp + UDP_HLEN, room - used, type, &gw->self, seq, key,
                                   echo_seq, w);
    if (plen < 0)
        return plen;
    udp_len = (uint16_t)(UDP_HLEN + plen);
    swap_bytes(pkt->data, pkt->data + 6, 6);
    swap_bytes(udp, udp + 2, 2);
    xp_put16(udp + 4, udp_len);
    xp_put16(udp + 6, 0);
    if (o->family == 4) {
        unsigned ihl = (l3[0] & 0x0f) * 4;

        swap_bytes(l3 + 12, l3 + 16, 4);
        xp_put16(l3 + 2, (uint16_t)(ihl + udp_len));
        xp_put16(l3 + 4, 0);      /* id */
        xp_put16(l3 + 6, 0x4000); /* DF, not a fragment */
        l3[8] = 64;
        xp_put16(l3 + 10, 0);
        xp_put16(l3 + 10, xp_csum_fold(xp_csum_add(0, l3, ihl)));
        sum = xp_csum_add(17 + udp_len, l3 + 12, 8);
    } else {
        swap_bytes(l3 + 8, l3 + 24, 16);
        xp_put16(l3 + 4, udp_len);
        l3[7] = 64;
        sum = xp_csum_add(17 + udp_len, l3 + 8, 32);
    }
    xp_put16(udp + 6, xp_csum_fold_udp(xp_csum_add(sum, udp, udp_len)));
    pkt->len = (uint32_t)(udp - pkt->data) + udp_len;
    return type == XP_TUNNEL_T_OVERLOAD;
}

static void note_miss(struct xp_gw_queue *q, const uint8_t nh[16], uint64_t now_mono)
{
    if (memcmp(nh, q->last_miss, 16) == 0 && now_mono - q->last_miss_ns < XP_GW_MISS_EVERY_NS)
        return;
    memcpy(q->last_miss, nh, 16);
    q->last_miss_ns = now_mono;
    /* when full it is not queued: the control thread will hear of it again */
    xp_spsc__push(&q->misses, nh, 1);
}

unsigned xp_gw_queue__drain_misses(struct xp_gw_queue *q, uint8_t (*out)[16], unsigned max)
{
    return xp_spsc__pop(&q->misses, out, max);
}

static bool forwardable_dst(const uint8_t d[16])
{
    static const uint8_t v4_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    static const uint8_t zero[16];

    if (memcmp(d, v4_prefix, 12) == 0) {
        const uint8_t *a = d + 12;

        return a[0] != 0 && a[0] != 127 && (a[0] & 0xf0) != 0xe0 && (a[0] & 0xf0) != 0xf0 &&
               !(a[0] == 169 && a[1] == 254);
    }
    if (memcmp(d, zero, 15) == 0 && (d[15] == 0 || d[15] == 1))
        return false; /* :: and ::1 */
    return d[0] != 0xff && !(d[0] == 0xfe && (d[1] & 0xc0) == 0x80);
}

/* TTL / hop limit minus one, IPv4 checksum updated (RFC 1624). false: it would reach 0. */
static bool decrement_ttl(uint8_t *ip, uint8_t family)
{
    uint32_t sum;

    if (family == 6) {
        if (ip[7] <= 1)
            return false;
        ip[7]--;
        return true;
    }
    if (ip[8] <= 1)
        return false;
    ip[8]--;
    /* HC' = ~(~HC + ~m + m'): the TTL is the high byte of its 16-bit word. */
    sum = (uint32_t)(~xp_get16(ip + 10) & 0xffff) + 0xfeff; /* + ~0x0100, i.e. minus 0x0100 */
    xp_put16(ip + 10, xp_csum_fold(sum));
    return true;
}

static bool source_ok(const struct gw_unit *u, const uint8_t src[16])
{
    for (unsigned i = 0; i < u->n_sources; i++)
        if (xp_cidr_match(&u->sources[i], src))
            return true;
    return false;
}

/*
 * The per-source limit on tag failures. Everything a datagram can fail
 * before the tag costs nothing, and an off-path sender cannot get DATA
 * past the epoch check; what reaches the MAC and fails it is charged to
 * its outer source address. Past a burst of one second's worth, that
 * source's datagrams are dropped unopened until it falls back under the
 * rate. A source that shares a slot takes it over: only failures from an
 * address itself (or forged with it) ever hold a unit's datagrams back.
 */
static struct gw_macfail_slot *macfail_slot(struct xp_gw_queue *q, const uint8_t src[16])
{
    uint64_t a, b, h;

    memcpy(&a, src, 8);
    memcpy(&b, src + 8, 8);
    h = (a ^ q->gw->macfail_seed) * 0x9e3779b97f4a7c15ULL;
    h = (h ^ (h >> 29) ^ b) * 0xbf58476d1ce4e5b9ULL;
    return &q->macfail[(h ^ (h >> 32)) & (XP_GW_MACFAIL_SLOTS - 1)];
}

static bool macfail_limited(struct xp_gw_queue *q, const uint8_t src[16], uint64_t now)
{
    const struct gw_macfail_slot *s = macfail_slot(q, src);

    return memcmp(s->addr, src, 16) == 0 && s->tat > now + q->gw->macfail_burst;
}

static void macfail_charge(struct xp_gw_queue *q, const uint8_t src[16], uint64_t now)
{
    struct gw_macfail_slot *s = macfail_slot(q, src);

    if (memcmp(s->addr, src, 16) != 0) {
        memcpy(s->addr, src, 16);
        s->tat = now;
    }
    s->tat = (s->tat > now ? s->tat : now) + q->gw->macfail_interval;
}

/*
 * Open one frame: fate ACCESS (a keepalive answered in place), DROP, or
 * CORE with *inner set to the inner packet behind room for an Ethernet
 * header, *unit_idx to the authenticated unit and dst to the inner
 * destination.
 */
static enum xp_gw_fate open_frame(struct xp_gw_queue *q, struct gw_unitset *us,
                                  struct xp_pkt *pkt,
                                  struct xp_pkt *inner, unsigned *unit_idx, uint8_t dst[16],
                                  uint64_t now_mono, uint64_t *c)
{
    struct xp_gateway *gw = q->gw;
    struct xp_tunnel_result res;
    enum xp_tunnel_status st;
    struct xp_parsed o;
    const uint8_t *payload;
    uint16_t udp_len;
    int idx, ret;

    if (xp_parse_frame(pkt->data, pkt->len, &o) != XP_PARSE_OK || o.l4_proto != 17 ||
        !(o.flags & XP_PARSED_F_HAS_L4) || (o.flags & XP_PARSED_F_FRAGMENT) ||
        o.dport != gw->tunnel_port) {
        c[XP_GW_C_DROP_OUTER]++;
        return XP_GW_FATE_DROP;
    }
    udp_len = xp_get16(pkt->data + o.l4_off + 4);
    /*
     * The answer is written over the received headers: IPv6 extension
     * headers would need their lengths kept in the payload length, IPv4
     * options (source routes, record route) would be echoed. Units behind
     * carrier NAT send neither: refuse both.
     */
    if (udp_len < UDP_HLEN || udp_len != o.ip_payload_len ||
        o.l4_off != o.l3_off + (o.family == 6 ? 40 : 20)) {
        c[XP_GW_C_DROP_OUTER]++;
        return XP_GW_FATE_DROP;
    }
    if (macfail_limited(q, o.src, now_mono)) {
        c[XP_GW_C_DROP_MAC_LIMITED]++;
        return XP_GW_FATE_DROP;
    }
    payload = pkt->data + o.l4_off + UDP_HLEN;
    st = xp_tunnel_decap(payload, udp_len - UDP_HLEN, &gw->self, &us->keys, &us->replay, &res);
    if (st == XP_TUNNEL_BAD_TAG)
        macfail_charge(q, o.src, now_mono);
    /* The tunnel module knows the default port; a configured one is a loop just as well. */
    if (st == XP_TUNNEL_OK && res.type == XP_TUNNEL_T_DATA && res.inner.l4_proto == 17 &&
        (res.inner.flags & XP_PARSED_F_HAS_L4) && res.inner.dport == gw->tunnel_port)
        st = XP_TUNNEL_NESTED_TUNNEL;
    if (st != XP_TUNNEL_OK) {
        c[XP_GW_C_DROP_TUNNEL]++;
        XP_STAT_ADD(q->st.tunnel[st], 1);
        return XP_GW_FATE_DROP;
    }
    idx = res.unit_index; /* decap found the unit: no second search per packet */
    if (res.type == XP_TUNNEL_T_KEEPALIVE) {
        /* answered under the key the unit used, and with this run's epoch */
        ret = answer_keepalive(q, pkt, &o, &us->keys.keys[res.key_index], res.seq);
        if (ret < 0) {
            c[XP_GW_C_DROP_REPLY]++;
            return XP_GW_FATE_DROP;
        }
        c[ret ? XP_GW_C_OVERLOAD_SENT : XP_GW_C_KEEPALIVE]++;
        return XP_GW_FATE_ACCESS;
    }
    c[XP_GW_C_DATA]++;
    if (!source_ok(&us->units[idx], res.inner.src)) {
        c[XP_GW_C_DROP_SPOOFED]++;
        return XP_GW_FATE_DROP;
    }
    if (xp_pipeline__manual_blocked(q->pl, us->units[idx].name, res.inner.dst, now_mono)) {
        c[XP_GW_C_DROP_MANUAL]++;
        return XP_GW_FATE_DROP;
    }
    /*
     * A router's duties: nothing a router would not forward (multicast,
     * link-local, loopback, unspecified, limited broadcast: a unit must not
     * appear on the core's link through the tunnel), and TTL / hop limit
     * decremented, so TTL-255 checks (ND, GTSM) never see a unit's packet.
     */
    if (!forwardable_dst(res.inner.dst)) {
        c[XP_GW_C_DROP_BAD_DST]++;
        return XP_GW_FATE_DROP;
    }
    if (!decrement_ttl((uint8_t *)res.body, res.inner.family)) {
        c[XP_GW_C_DROP_TTL]++;
        return XP_GW_FATE_DROP;
    }
    /* The outer headers and the tunnel header give more than ETH_HLEN of room. */
    inner->data = (uint8_t *)res.body - ETH_HLEN;
    inner->len = res.body_len + ETH_HLEN;
    inner->handle = pkt->handle; /* the backend's: the frame moved within its buffer */
    inner->port = pkt->port;
    xp_put16(inner->data + 12, res.inner.family == 4 ? 0x0800 : 0x86dd);
    *unit_idx = (unsigned)idx;
    memcpy(dst, res.inner.dst, 16);
    return XP_GW_FATE_CORE;
}

void xp_gw_queue__process(struct xp_gw_queue *q, struct xp_pkt *pkts, unsigned n, uint8_t *fate,
                          uint64_t now_rt, uint64_t now_mono)
{
    struct xp_gateway *gw = q->gw;
    struct xp_pkt inner[XP_BURST_MAX];
    uint8_t units[XP_BURST_MAX][16], dsts[XP_BURST_MAX][16];
    uint8_t drop[XP_BURST_MAX], idx[XP_BURST_MAX];
    uint64_t c[XP_GW_C_MAX] = { 0 };
    const struct xp_nexthops *nh;
    struct gw_unitset *us;
    unsigned m = 0;

    xp_qsbr_reader__online(q->rd);
    nh = atomic_load(&gw->nh);
    us = atomic_load(&gw->set);
    c[XP_GW_C_RX] = n;
    for (unsigned i = 0; i < n; i++) {
        unsigned u;

        fate[i] = open_frame(q, us, &pkts[i], &inner[m], &u, dsts[m], now_mono, c);
        if (fate[i] != XP_GW_FATE_CORE)
            continue;
        memcpy(units[m], us->units[u].name, 16);
        idx[m++] = (uint8_t)i;
    }
    if (m)
        xp_pipeline__police_units(q->pl, inner, (const uint8_t(*)[16])units, m, drop, now_rt,
                                  now_mono);
    for (unsigned k = 0; k < m; k++) {
        struct xp_pkt *p = &inner[k];
        uint8_t next_hop[16];
        int ret;

        fate[idx[k]] = XP_GW_FATE_DROP;
        if (drop[k]) {
            c[XP_GW_C_DROP_POLICY]++;
            continue;
        }
        ret = nh ? xp_nexthops__lookup(nh, dsts[k], p->data, p->data + 6, next_hop)
                 : -ENETUNREACH;
        if (ret == -EHOSTUNREACH) {
            c[XP_GW_C_DROP_NO_NEIGH]++;
            note_miss(q, next_hop, now_mono);
            continue;
        }
        if (ret) {
            c[XP_GW_C_DROP_NO_ROUTE]++;
            continue;
        }
        pkts[idx[k]] = *p;
        fate[idx[k]] = XP_GW_FATE_CORE;
        c[XP_GW_C_FORWARD]++;
    }
    xp_qsbr_reader__offline(q->rd);
    for (int k = 0; k < XP_GW_C_MAX; k++) {
        if (c[k])
            XP_STAT_ADD(q->st.c[k], c[k]);
    }
}

void xp_gw_queue__stats(const struct xp_gw_queue *q, struct xp_gw_stats *out)
{
    for (int k = 0; k < XP_GW_C_MAX; k++)
        out->c[k] = XP_STAT_GET(q->st.c[k]);
    for (int k = 0; k < XP_TUNNEL_STATUS_MAX; k++)
        out->tunnel[k] = XP_STAT_GET(q->st.tunnel[k]);
}

int xp_gateway__unit_name(const struct xp_gateway *gw, const uint8_t addr[16], uint8_t name[16])
{
    const struct gw_unitset *us = atomic_load(&((struct xp_gateway *)gw)->set);

    for (uint32_t i = 0; i < us->keys.count; i++) {
        if (us->units[i].n_sources && source_ok(&us->units[i], addr)) {
            memcpy(name, us->units[i].name, 16);
            return 0;
        }
    }
    return -ENOENT;
}
