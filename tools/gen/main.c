// SPDX-License-Identifier: GPL-2.0-only
/*
 * xpro-gen: the bench's traffic generator and counting sink.
 *
 *   xpro-gen send --ifname DEV --scenario FILE [--group G] [--duration S] [--dst-mac MAC]
 *                 [--start-at EPOCH] [--out FILE.csv]
 *   xpro-gen sink --ifname DEV [--duration S] [--port P] [--ready-file F] [--out FILE.csv]
 *   xpro-gen rtt --server ADDR [--port P] [--count N] [--interval-ms MS] [--out FILE.csv]
 *   xpro-gen tx-csum-off --ifname DEV
 *
 * send: one TX-only AF_XDP socket (libxdp's xsk API; no XDP program needed,
 * zero-copy tried first by the kernel, copy mode on veth) emits the frames of
 * N emulated units: each unit has its own source address and MAC, a
 * destination, a frame size and a rate profile. Each unit is paced by its own
 * token bucket (backlog capped at 20 ms of its rate), frames go out in batches
 * with one sendto() per batch when need_wakeup asks for it. What was put on
 * the wire (completed TX descriptors are reclaimed; the count is taken at
 * submission) is recorded per unit and per wall-clock second.
 *
 * sink: an AF_PACKET socket on the far side counts UDP frames (to --port,
 * 5683 by default, 0 for any) per source address and per second.
 *
 * rtt: confirmable CoAP GET / requests to --server (e.g. libcoap's coap-server), one at a
 * time, each waiting up to 1 s for its answer (ten unanswered in a row end the run): round
 * trips in microseconds (median, p90, p99), per request in --out.
 *
 * send and sink print one JSON line per second on stdout ({"t":EPOCH_SECOND,...}) and
 * a final line ({"final":true,...}); --out writes CSV rows
 * "t,unit,src,sent" (send) or "t,src,received" (sink), t being the epoch
 * second, so the two join on (t, src).
 *
 * Scenario file (text; '#' starts a comment; other line kinds are ignored
 * here, bench/scenario.sh reads them): one unit per line,
 *
 *   unit NAME src=ADDR dst=ADDR [group=G] [profile=P] [rate=PPS|max] [flood=PPS]
 *        [at=S] [on=S] [off=S] [to=PPS] [ramp=S] [start=S] [stop=S] [size=BYTES]
 *        [sport=N] [dport=N] [smac=MAC] [dmac=MAC] [role=attack|benign]
 *
 * Profiles (t is seconds since the generator's start; nothing outside
 * [start, stop)):
 *   constant     rate (rate=max: as fast as the ring takes frames)
 *   onoff        rate during on seconds, nothing during off seconds, repeated
 *   ramp         rate to `to` linearly over `ramp` seconds, then `to`
 *   flood        rate (default 0) before `at`, then `flood`: "flood from T"
 *                with rate=0, "quiet then flood" (a sleeper) with rate>0;
 *                `quiet-flood` is the same profile
 *
 * Frames: Ethernet + IPv4 or IPv6 (by the addresses) + UDP (sport, dport 5683)
 * + a CoAP NON GET header (version 1, message id incremented per frame),
 * padded to `size` bytes (64 by default, no FCS; IPv6 needs at least 66).
 *
 * Exit codes: 0 ok, 1 failure, 2 bad option or scenario, 4 out of memory,
 * 5 interface missing.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/ethtool.h>
#include <linux/if_ether.h>
#include <linux/sockios.h>
#include <linux/if_packet.h>
#include <linux/if_xdp.h>
#include <math.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <xdp/xsk.h>

#include "src/util/log.h"
#include "src/util/wire.h"

#ifndef XDP_MAX_TX_SKB_BUDGET
#define XDP_MAX_TX_SKB_BUDGET 9 /* kernel >= 6.17 */
#endif
#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

enum {
    XP_EXIT_OK = 0,
    XP_EXIT_FAIL = 1,
    XP_EXIT_OPTION = 2,
    XP_EXIT_MEM = 4,
    XP_EXIT_IFACE = 5,
};

#define XP_GEN_MAX_UNITS 1024
#define XP_GEN_MAX_FRAME 1514
#define XP_GEN_MIN_FRAME_V4 (14 + 20 + 8 + 4)
#define XP_GEN_MIN_FRAME_V6 (14 + 40 + 8 + 4)
#define XP_GEN_FRAME_SIZE 2048
#define XP_GEN_N_FRAMES 4096
#define XP_GEN_RING 2048
#define XP_GEN_BATCH 64
#define XP_GEN_MAX_SECONDS 86400
#define XP_GEN_COAP_PORT 5683

enum xp_gen_profile {
    XP_PROF_CONSTANT = 0,
    XP_PROF_ONOFF = 1,
    XP_PROF_RAMP = 2,
    XP_PROF_FLOOD = 3,
};

struct xp_gen_unit {
    char name[32];
    char src_str[INET6_ADDRSTRLEN];
    int family;
    uint8_t src[16];
    uint8_t dst[16];
    uint8_t smac[6];
    uint8_t dmac[6];
    bool have_smac;
    bool have_dmac;
    unsigned group;
    enum xp_gen_profile profile;
    bool max_rate;
    double rate, flood, to, at, on_s, off_s, ramp_s, start, stop;
    unsigned size;
    uint16_t sport, dport;
    /* runtime */
    uint8_t tmpl[XP_GEN_MAX_FRAME];
    unsigned len;
    double tokens;
    uint16_t msg_id;
    uint64_t sent_total;
    uint64_t *per_sec;
};

static volatile sig_atomic_t xp_stop;

static void on_signal(int sig)
{
    (void)sig;
    xp_stop = 1;
}

static double now_mono(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now_real(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
    struct timespec ts;

    if (s <= 0)
        return;
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
    nanosleep(&ts, NULL);
}

static int parse_mac(const char *s, uint8_t mac[6])
{
    unsigned b[6];

    if (sscanf(s, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6)
        return -EINVAL;
    for (int i = 0; i < 6; i++) {
        if (b[i] > 255)
            return -EINVAL;
        mac[i] = (uint8_t)b[i];
    }
    return 0;
}

static int parse_num(const char *s, double lo, double hi, double *out)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi))
        return -EINVAL;
    *out = v;
    return 0;
}

/* ---- the scenario file ---------------------------------------------------------------- */

static int unit_set(struct xp_gen_unit *u, const char *key, const char *val, int *family_out,
                    bool *have_dst)
{
    double v;
    int fam;

    if (!strcmp(key, "src") || !strcmp(key, "dst")) {
        uint8_t *a = key[0] == 's' ? u->src : u->dst;

        fam = strchr(val, ':') ? AF_INET6 : AF_INET;
        if (inet_pton(fam, val, a) != 1)
            return -EINVAL;
        if (*family_out && *family_out != fam)
            return -EINVAL;
        *family_out = fam;
        if (key[0] == 's')
            snprintf(u->src_str, sizeof(u->src_str), "%s", val);
        else
            *have_dst = true;
        return 0;
    }
    if (!strcmp(key, "smac")) {
        u->have_smac = true;
        return parse_mac(val, u->smac);
    }
    if (!strcmp(key, "dmac")) {
        u->have_dmac = true;
        return parse_mac(val, u->dmac);
    }
    if (!strcmp(key, "profile")) {
        if (!strcmp(val, "constant"))
            u->profile = XP_PROF_CONSTANT;
        else if (!strcmp(val, "onoff"))
            u->profile = XP_PROF_ONOFF;
        else if (!strcmp(val, "ramp"))
            u->profile = XP_PROF_RAMP;
        else if (!strcmp(val, "flood") || !strcmp(val, "quiet-flood"))
            u->profile = XP_PROF_FLOOD;
        else
            return -EINVAL;
        return 0;
    }
    if (!strcmp(key, "rate") && !strcmp(val, "max")) {
        u->max_rate = true;
        return 0;
    }
    if (!strcmp(key, "role"))
        return strcmp(val, "attack") && strcmp(val, "benign") ? -EINVAL : 0;
    if (!strcmp(key, "group")) {
        if (parse_num(val, 0, 1023, &v))
            return -EINVAL;
        u->group = (unsigned)v;
        return 0;
    }
    if (!strcmp(key, "size")) {
        if (parse_num(val, XP_GEN_MIN_FRAME_V4, XP_GEN_MAX_FRAME, &v))
            return -EINVAL;
        u->size = (unsigned)v;
        return 0;
    }
    if (!strcmp(key, "sport") || !strcmp(key, "dport")) {
        if (parse_num(val, 1, 65535, &v))
            return -EINVAL;
        *(key[0] == 's' ? &u->sport : &u->dport) = (uint16_t)v;
        return 0;
    }
    {
        static const struct {
            const char *key;
            size_t off;
        } nums[] = {
            {"rate", offsetof(struct xp_gen_unit, rate)},
            {"flood", offsetof(struct xp_gen_unit, flood)},
            {"to", offsetof(struct xp_gen_unit, to)},
            {"at", offsetof(struct xp_gen_unit, at)},
            {"on", offsetof(struct xp_gen_unit, on_s)},
            {"off", offsetof(struct xp_gen_unit, off_s)},
            {"ramp", offsetof(struct xp_gen_unit, ramp_s)},
            {"start", offsetof(struct xp_gen_unit, start)},
            {"stop", offsetof(struct xp_gen_unit, stop)},
        };

        for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
            if (strcmp(key, nums[i].key))
                continue;
            if (parse_num(val, 0, 1e9, &v))
                return -EINVAL;
            *(double *)((char *)u + nums[i].off) = v;
            return 0;
        }
    }
    return -ENOENT;
}

/* Reads the unit lines of FILE whose group is GROUP (all groups if GROUP < 0). */
static int scenario_load(const char *path, int group, struct xp_gen_unit **units_out,
                         unsigned *n_out)
{
    struct xp_gen_unit *units;
    char line[1024];
    unsigned n = 0, lineno = 0, index = 0;
    FILE *f;
    int ret = 0;

    f = fopen(path, "r");
    if (!f) {
        ret = -errno;
        pr_err("%s: %s", path, strerror(errno));
        return ret;
    }
    units = calloc(XP_GEN_MAX_UNITS, sizeof(*units));
    if (!units) {
        ret = -ENOMEM;
        goto out;
    }
    while (fgets(line, sizeof(line), f)) {
        struct xp_gen_unit *u;
        char *save = NULL, *tok, *hash;
        int family = 0;
        bool have_dst = false;

        lineno++;
        hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        tok = strtok_r(line, " \t\r\n", &save);
        if (!tok || strcmp(tok, "unit"))
            continue;
        if (n == XP_GEN_MAX_UNITS) {
            pr_err("%s:%u: more than %d units", path, lineno, XP_GEN_MAX_UNITS);
            ret = -E2BIG;
            goto out;
        }
        u = &units[n];
        memset(u, 0, sizeof(*u));
        u->size = 64;
        u->dport = XP_GEN_COAP_PORT;
        u->sport = (uint16_t)(40000 + index);
        u->stop = 1e9;
        u->ramp_s = 1;
        tok = strtok_r(NULL, " \t\r\n", &save);
        if (!tok || strchr(tok, '=')) {
            pr_err("%s:%u: unit needs a name first", path, lineno);
            ret = -EINVAL;
            goto out;
        }
        snprintf(u->name, sizeof(u->name), "%s", tok);
        while ((tok = strtok_r(NULL, " \t\r\n", &save))) {
            char *eq = strchr(tok, '=');

            if (!eq) {
                pr_err("%s:%u: expected key=value: %s", path, lineno, tok);
                ret = -EINVAL;
                goto out;
            }
            *eq = '\0';
            ret = unit_set(u, tok, eq + 1, &family, &have_dst);
            if (ret) {
                pr_err("%s:%u: %s: %s", path, lineno, tok,
                       ret == -ENOENT ? "unknown key" : "bad value");
                ret = -EINVAL;
                goto out;
            }
        }
        if (!family || !have_dst || !u->src_str[0]) {
            pr_err("%s:%u: unit %s needs src and dst of one family", path, lineno, u->name);
            ret = -EINVAL;
            goto out;
        }
        u->family = family;
        if (family == AF_INET6 && u->size < XP_GEN_MIN_FRAME_V6)
            u->size = XP_GEN_MIN_FRAME_V6;
        if (!u->have_smac) {
            uint8_t sm[6] = {0x02, 0x58, 0x50, (uint8_t)(u->group), (uint8_t)(index >> 8),
                             (uint8_t)index};

            memcpy(u->smac, sm, 6);
        }
        index++;
        if (group < 0 || u->group == (unsigned)group)
            n++;
    }
    if (n == 0) {
        pr_err("%s: no units (group %d)", path, group);
        ret = -EINVAL;
        goto out;
    }
    *units_out = units;
    *n_out = n;
    units = NULL;
out:
    free(units);
    fclose(f);
    return ret;
}

/* ---- frames --------------------------------------------------------------------------- */

/* Writes the unit's frame into its template; the CoAP message id and the UDP checksum
 * are rewritten per frame by frame_stamp(). */
static void frame_build(struct xp_gen_unit *u)
{
    uint8_t *f = u->tmpl;
    unsigned l3 = 14, l4, l3len = u->family == AF_INET ? 20 : 40;
    uint16_t udp_len;

    memset(f, 0, sizeof(u->tmpl));
    memcpy(f, u->dmac, 6);
    memcpy(f + 6, u->smac, 6);
    xp_put16(f + 12, u->family == AF_INET ? ETH_P_IP : ETH_P_IPV6);
    l4 = l3 + l3len;
    udp_len = (uint16_t)(u->size - l4);
    if (u->family == AF_INET) {
        f[l3] = 0x45;
        xp_put16(f + l3 + 2, (uint16_t)(u->size - l3));
        f[l3 + 6] = 0x40; /* DF */
        f[l3 + 8] = 64;
        f[l3 + 9] = IPPROTO_UDP;
        memcpy(f + l3 + 12, u->src, 4);
        memcpy(f + l3 + 16, u->dst, 4);
        xp_put16(f + l3 + 10, xp_csum_fold(xp_csum_add(0, f + l3, 20)));
    } else {
        f[l3] = 0x60;
        xp_put16(f + l3 + 4, udp_len);
        f[l3 + 6] = IPPROTO_UDP;
        f[l3 + 7] = 64;
        memcpy(f + l3 + 8, u->src, 16);
        memcpy(f + l3 + 24, u->dst, 16);
    }
    xp_put16(f + l4, u->sport);
    xp_put16(f + l4 + 2, u->dport);
    xp_put16(f + l4 + 4, udp_len);
    /* CoAP: ver 1, type NON (1), TKL 0; code 0.01 GET; message id; then a payload marker
     * and zero padding when there is room. */
    f[l4 + 8] = 0x50;
    f[l4 + 9] = 0x01;
    if (udp_len > 12)
        f[l4 + 12] = 0xff;
    u->len = u->size;
}

static void frame_stamp(const struct xp_gen_unit *u, uint8_t *f, uint16_t msg_id)
{
    unsigned l4 = 14 + (u->family == AF_INET ? 20 : 40);
    unsigned udp_len = u->size - l4;
    uint32_t sum = 0;

    xp_put16(f + l4 + 10, msg_id);
    xp_put16(f + l4 + 6, 0);
    /* Pseudo-header: addresses, protocol, UDP length. */
    if (u->family == AF_INET)
        sum = xp_csum_add(sum, f + 14 + 12, 8);
    else
        sum = xp_csum_add(sum, f + 14 + 8, 32);
    sum += IPPROTO_UDP + udp_len;
    xp_put16(f + l4 + 6, xp_csum_fold_udp(xp_csum_add(sum, f + l4, udp_len)));
}

/* The unit's rate at T seconds after the start; < 0 means "as fast as possible". */
static double unit_rate(const struct xp_gen_unit *u, double t)
{
    double rel;

    if (t < u->start || t >= u->stop)
        return 0;
    if (u->max_rate && u->profile == XP_PROF_CONSTANT)
        return -1;
    switch (u->profile) {
    case XP_PROF_ONOFF:
        if (u->on_s + u->off_s <= 0)
            return u->rate;
        rel = fmod(t - u->start, u->on_s + u->off_s);
        return rel < u->on_s ? u->rate : 0;
    case XP_PROF_RAMP:
        rel = (t - u->start) / (u->ramp_s > 0 ? u->ramp_s : 1);
        return rel >= 1 ? u->to : u->rate + (u->to - u->rate) * rel;
    case XP_PROF_FLOOD:
        return t < u->at ? u->rate : u->flood;
    case XP_PROF_CONSTANT:
    default:
        return u->rate;
    }
}

/* ---- send ----------------------------------------------------------------------------- */

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
        frame_stamp(u, f, u->msg_id++);
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

static int write_send_csv(const char *path, const struct xp_gen_unit *units, unsigned n,
                          long t0, unsigned secs)
{
    FILE *f = fopen(path, "w");

    if (!f)
        return -errno;
    fprintf(f, "t,unit,src,sent\n");
    for (unsigned s = 0; s < secs; s++)
        for (unsigned i = 0; i < n; i++)
            fprintf(f, "%ld,%s,%s,%" PRIu64 "\n", t0 + (long)s, units[i].name, units[i].src_str,
                    units[i].per_sec[s]);
    return fclose(f) ? -errno : 0;
}

static void print_second(const struct xp_gen_unit *units, unsigned n, long t, unsigned s)
{
    printf("{\"t\":%ld,\"sent\":{", t);
    for (unsigned i = 0; i < n; i++)
        printf("%s\"%s\":%" PRIu64, i ? "," : "", units[i].name, units[i].per_sec[s]);
    printf("}}\n");
    fflush(stdout);
}

struct xp_send_opts {
    const char *ifname;
    const char *scenario;
    const char *out;
    int group;
    double duration;
    double start_at;
    uint8_t dmac[6];
    bool have_dmac;
};

static int cmd_send(const struct xp_send_opts *o)
{
    struct xp_gen_unit *units = NULL;
    struct xp_gen_tx *g;
    unsigned n = 0, secs, rr = 0, last_sec = 0;
    double t_start, t_prev, end, drain_end, wall0;
    long t0;
    int ret, rc = XP_EXIT_FAIL;

    if (if_nametoindex(o->ifname) == 0) {
        pr_err("%s: no such interface", o->ifname);
        return XP_EXIT_IFACE;
    }
    ret = scenario_load(o->scenario, o->group, &units, &n);
    if (ret)
        return ret == -ENOMEM ? XP_EXIT_MEM : XP_EXIT_OPTION;
    secs = (unsigned)ceil(o->duration) + 2;
    for (unsigned i = 0; i < n; i++) {
        if (!units[i].have_dmac) {
            if (!o->have_dmac) {
                pr_err("unit %s has no dmac and no --dst-mac was given", units[i].name);
                free(units);
                return XP_EXIT_OPTION;
            }
            memcpy(units[i].dmac, o->dmac, 6);
        }
        frame_build(&units[i]);
        units[i].per_sec = calloc(secs, sizeof(uint64_t));
        if (!units[i].per_sec) {
            rc = XP_EXIT_MEM;
            goto out_units;
        }
    }
    g = calloc(1, sizeof(*g));
    if (!g) {
        rc = XP_EXIT_MEM;
        goto out_units;
    }
    ret = tx_open(g, o->ifname);
    if (ret) {
        rc = ret == -ENOMEM ? XP_EXIT_MEM : XP_EXIT_FAIL;
        goto out_tx;
    }
    pr_info("%s: %u units, %s mode", o->ifname, n, g->zero_copy ? "zero-copy" : "copy");

    /* A common start (several generators): sleep until --start-at, bounded to 60 s. */
    if (o->start_at > 0) {
        double wait = o->start_at - now_real();

        if (wait > 60) {
            pr_err("--start-at is %.0f s ahead (at most 60)", wait);
            rc = XP_EXIT_OPTION;
            goto out_tx;
        }
        sleep_s(wait);
    }
    /* Seconds are wall-clock seconds (they join with the sink's), counted from the one
     * the generator starts in; pacing runs on the monotonic clock. */
    wall0 = now_real();
    t0 = (long)floor(wall0);
    t_start = now_mono();
    printf("{\"start\":%.6f,\"units\":%u,\"mode\":\"%s\"}\n", wall0,
           n, g->zero_copy ? "zero-copy" : "copy");
    fflush(stdout);
    t_prev = t_start;
    end = t_start + o->duration;

    while (!xp_stop) {
        double now = now_mono(), t = now - t_start, dt = now - t_prev, next = 1e-3;
        unsigned sec = (unsigned)(wall0 - (double)t0 + t), queued = 0;
        bool ring_full = false;

        if (now >= end)
            break;
        if (sec >= secs)
            sec = secs - 1;
        for (; last_sec < sec; last_sec++)
            print_second(units, n, t0 + (long)last_sec, last_sec);
        t_prev = now;
        tx_reclaim(g);
        for (unsigned j = 0; j < n; j++) {
            struct xp_gen_unit *u = &units[(rr + j) % n];
            double r = unit_rate(u, t);
            unsigned want, k;

            if (r < 0) {
                want = XP_GEN_BATCH;
            } else if (r == 0) {
                u->tokens = 0;
                continue;
            } else {
                double cap = r * 0.02 > 1 ? r * 0.02 : 1; /* 20 ms of backlog */

                u->tokens += r * dt;
                if (u->tokens > cap)
                    u->tokens = cap;
                if (u->tokens < 1) {
                    double w = (1 - u->tokens) / r;

                    if (w < next)
                        next = w;
                    continue;
                }
                want = (unsigned)u->tokens;
                if (want > XP_GEN_BATCH)
                    want = XP_GEN_BATCH;
            }
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
                sleep_s(20e-6);
        } else if (!queued) {
            if (g->in_tx)
                tx_kick(g);
            sleep_s(next < 20e-6 ? 20e-6 : next);
        }
    }
    /* Drain: every queued frame completes (bounded: 2 s). */
    drain_end = now_mono() + 2;
    while (g->in_tx && now_mono() < drain_end) {
        tx_kick(g);
        tx_reclaim(g);
        if (g->in_tx)
            sleep_s(100e-6);
    }
    {
        unsigned sec = (unsigned)(now_real() - (double)t0);

        if (sec >= secs)
            sec = secs - 1;
        for (; last_sec <= sec && last_sec < secs; last_sec++)
            print_second(units, n, t0 + (long)last_sec, last_sec);
    }
    {
        struct xdp_statistics xs;
        socklen_t len = sizeof(xs);

        memset(&xs, 0, sizeof(xs));
        getsockopt(g->fd, SOL_XDP, XDP_STATISTICS, &xs, &len);
        printf("{\"final\":true,\"seconds\":%.3f,\"not_completed\":%u,\"tx_invalid_descs\":%llu,"
               "\"kicks\":%" PRIu64 ",\"units\":{",
               now_mono() - t_start, g->in_tx, (unsigned long long)xs.tx_invalid_descs,
               g->kicks);
        for (unsigned i = 0; i < n; i++)
            printf("%s\"%s\":{\"src\":\"%s\",\"sent\":%" PRIu64 "}", i ? "," : "",
                   units[i].name, units[i].src_str, units[i].sent_total);
        printf("}}\n");
        fflush(stdout);
    }
    if (o->out && (ret = write_send_csv(o->out, units, n, t0, last_sec)) != 0) {
        pr_err("%s: %s", o->out, strerror(-ret));
        goto out_tx;
    }
    rc = g->in_tx ? XP_EXIT_FAIL : XP_EXIT_OK;
out_tx:
    tx_close(g);
    free(g);
out_units:
    for (unsigned i = 0; i < n; i++)
        free(units[i].per_sec);
    free(units);
    return rc;
}

/* ---- sink ----------------------------------------------------------------------------- */

#define XP_SINK_MAX_SRC 4096
#define XP_SINK_HASH 8192

struct xp_sink_src {
    char addr[INET6_ADDRSTRLEN];
    uint8_t key[17];
    uint64_t total;
    uint64_t *per_sec;
};

struct xp_sink {
    struct xp_sink_src *src;
    unsigned n_src;
    int32_t hash[XP_SINK_HASH];
    unsigned secs;
    uint64_t other;
};

static struct xp_sink_src *sink_lookup(struct xp_sink *s, const uint8_t key[17])
{
    uint32_t h = 2166136261u;

    for (int i = 0; i < 17; i++)
        h = (h ^ key[i]) * 16777619u;
    for (unsigned probe = 0; probe < XP_SINK_HASH; probe++) {
        unsigned slot = (h + probe) & (XP_SINK_HASH - 1);
        struct xp_sink_src *e;

        if (s->hash[slot] < 0) {
            if (s->n_src == XP_SINK_MAX_SRC)
                return NULL;
            e = &s->src[s->n_src];
            e->per_sec = calloc(s->secs, sizeof(uint64_t));
            if (!e->per_sec)
                return NULL;
            memcpy(e->key, key, 17);
            inet_ntop(key[0] == 4 ? AF_INET : AF_INET6, key + 1, e->addr, sizeof(e->addr));
            s->hash[slot] = (int32_t)s->n_src++;
            return e;
        }
        e = &s->src[s->hash[slot]];
        if (!memcmp(e->key, key, 17))
            return e;
    }
    return NULL;
}

/* The source address of a UDP frame to PORT (any port if 0), as a key; -1 otherwise. */
static int frame_key(const uint8_t *f, size_t len, uint16_t port, uint8_t key[17])
{
    uint16_t et, dport;
    size_t l4;

    if (len < 14)
        return -1;
    et = (uint16_t)(f[12] << 8 | f[13]);
    memset(key, 0, 17);
    if (et == ETH_P_IP) {
        size_t ihl;

        if (len < 34 || (f[14] >> 4) != 4 || f[23] != IPPROTO_UDP)
            return -1;
        ihl = (size_t)(f[14] & 0xf) * 4;
        l4 = 14 + ihl;
        key[0] = 4;
        memcpy(key + 1, f + 26, 4);
    } else if (et == ETH_P_IPV6) {
        if (len < 54 || f[20] != IPPROTO_UDP)
            return -1;
        l4 = 54;
        key[0] = 6;
        memcpy(key + 1, f + 22, 16);
    } else {
        return -1;
    }
    if (len < l4 + 8)
        return -1;
    dport = (uint16_t)(f[l4 + 2] << 8 | f[l4 + 3]);
    return port && dport != port ? -1 : 0;
}

struct xp_sink_opts {
    const char *ifname;
    const char *out;
    const char *ready_file;
    double duration;
    uint16_t port;
};

static void sink_print_second(const struct xp_sink *s, long t, unsigned sec)
{
    uint64_t total = 0;

    for (unsigned i = 0; i < s->n_src; i++)
        total += s->src[i].per_sec[sec];
    printf("{\"t\":%ld,\"total\":%" PRIu64 ",\"rx\":{", t, total);
    for (unsigned i = 0, k = 0; i < s->n_src; i++) {
        if (!s->src[i].per_sec[sec])
            continue;
        printf("%s\"%s\":%" PRIu64, k++ ? "," : "", s->src[i].addr, s->src[i].per_sec[sec]);
    }
    printf("}}\n");
    fflush(stdout);
}

#define XP_SINK_BATCH 64

static int cmd_sink(const struct xp_sink_opts *o)
{
    static uint8_t bufs[XP_SINK_BATCH][2048];
    struct mmsghdr msgs[XP_SINK_BATCH];
    struct iovec iov[XP_SINK_BATCH];
    struct sockaddr_ll sll;
    struct tpacket_stats pst;
    socklen_t plen = sizeof(pst);
    struct xp_sink s;
    double wall0, end;
    long t0;
    unsigned last_sec = 0;
    int fd, one = 1, rcvbuf = 8 << 20, rc = XP_EXIT_FAIL;
    unsigned ifindex = if_nametoindex(o->ifname);

    if (!ifindex) {
        pr_err("%s: no such interface", o->ifname);
        return XP_EXIT_IFACE;
    }
    memset(&s, 0, sizeof(s));
    memset(s.hash, 0xff, sizeof(s.hash));
    s.secs = (unsigned)ceil(o->duration) + 2;
    s.src = calloc(XP_SINK_MAX_SRC, sizeof(*s.src));
    if (!s.src)
        return XP_EXIT_MEM;
    fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
    if (fd == -1) {
        pr_err("socket(AF_PACKET): %s", strerror(errno));
        goto out;
    }
    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));
    /* Frames this namespace sends (ICMP errors) are not arrivals. */
    setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
    memset(&sll, 0, sizeof(sll));
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(ETH_P_ALL);
    sll.sll_ifindex = (int)ifindex;
    if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) == -1) {
        pr_err("bind(%s): %s", o->ifname, strerror(errno));
        goto out_fd;
    }
    /* Zero the socket's drop counter. */
    getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &pst, &plen);
    for (int i = 0; i < XP_SINK_BATCH; i++) {
        iov[i].iov_base = bufs[i];
        iov[i].iov_len = sizeof(bufs[i]);
        memset(&msgs[i], 0, sizeof(msgs[i]));
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    wall0 = now_real();
    t0 = (long)floor(wall0);
    end = now_mono() + o->duration;
    if (o->ready_file) {
        FILE *rf = fopen(o->ready_file, "w");

        if (rf)
            fclose(rf);
    }
    while (!xp_stop && now_mono() < end) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        unsigned sec = (unsigned)(now_real() - (double)t0);
        int n;

        if (sec >= s.secs)
            sec = s.secs - 1;
        for (; last_sec < sec; last_sec++)
            sink_print_second(&s, t0 + (long)last_sec, last_sec);
        n = recvmmsg(fd, msgs, XP_SINK_BATCH, MSG_DONTWAIT, NULL);
        if (n == -1) {
            if (errno != EAGAIN && errno != EINTR) {
                pr_err("recvmmsg: %s", strerror(errno));
                goto out_fd;
            }
            poll(&pfd, 1, 50);
            continue;
        }
        for (int i = 0; i < n; i++) {
            uint8_t key[17];
            struct xp_sink_src *e;

            if (frame_key(bufs[i], msgs[i].msg_len, o->port, key)) {
                s.other++;
                continue;
            }
            e = sink_lookup(&s, key);
            if (!e) {
                s.other++;
                continue;
            }
            e->total++;
            e->per_sec[sec]++;
        }
    }
    {
        unsigned sec = (unsigned)(now_real() - (double)t0);

        if (sec >= s.secs)
            sec = s.secs - 1;
        for (; last_sec <= sec; last_sec++)
            sink_print_second(&s, t0 + (long)last_sec, last_sec);
    }
    memset(&pst, 0, sizeof(pst));
    plen = sizeof(pst);
    getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &pst, &plen);
    printf("{\"final\":true,\"socket_drops\":%u,\"other\":%" PRIu64 ",\"per_src\":{",
           pst.tp_drops, s.other);
    for (unsigned i = 0; i < s.n_src; i++)
        printf("%s\"%s\":%" PRIu64, i ? "," : "", s.src[i].addr, s.src[i].total);
    printf("}}\n");
    fflush(stdout);
    if (o->out) {
        FILE *f = fopen(o->out, "w");

        if (!f) {
            pr_err("%s: %s", o->out, strerror(errno));
            goto out_fd;
        }
        fprintf(f, "t,src,received\n");
        for (unsigned sec = 0; sec < last_sec; sec++)
            for (unsigned i = 0; i < s.n_src; i++)
                fprintf(f, "%ld,%s,%" PRIu64 "\n", t0 + (long)sec, s.src[i].addr,
                        s.src[i].per_sec[sec]);
        if (fclose(f)) {
            pr_err("%s: %s", o->out, strerror(errno));
            goto out_fd;
        }
    }
    rc = pst.tp_drops ? XP_EXIT_FAIL : XP_EXIT_OK;
    if (pst.tp_drops)
        pr_err("the sink's socket dropped %u frames: counts are short", pst.tp_drops);
out_fd:
    close(fd);
out:
    for (unsigned i = 0; i < s.n_src; i++)
        free(s.src[i].per_sec);
    free(s.src);
    return rc;
}

/* ---- rtt: CoAP request/response round trips ------------------------------------------ */

struct xp_rtt_opts {
    const char *server;
    const char *out;
    uint16_t port;
    unsigned count;
    double interval;
};

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* N confirmable GET / requests, one at a time: each waits for its ACK (message id matched)
 * up to 1 s; round trips in microseconds. */
static int cmd_rtt(const struct xp_rtt_opts *o)
{
    struct sockaddr_storage ss;
    socklen_t sslen;
    double *rtt, sum = 0;
    unsigned got = 0, lost = 0, run_lost = 0;
    FILE *out = NULL;
    int fd, rc = XP_EXIT_FAIL;

    memset(&ss, 0, sizeof(ss));
    if (inet_pton(AF_INET, o->server, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
        ((struct sockaddr_in *)&ss)->sin_family = AF_INET;
        ((struct sockaddr_in *)&ss)->sin_port = htons(o->port);
        sslen = sizeof(struct sockaddr_in);
    } else if (inet_pton(AF_INET6, o->server, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
        ((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
        ((struct sockaddr_in6 *)&ss)->sin6_port = htons(o->port);
        sslen = sizeof(struct sockaddr_in6);
    } else {
        pr_err("--server: not a numeric address: %s", o->server);
        return XP_EXIT_OPTION;
    }
    rtt = calloc(o->count, sizeof(*rtt));
    if (!rtt)
        return XP_EXIT_MEM;
    fd = socket(ss.ss_family, SOCK_DGRAM, 0);
    if (fd == -1 || connect(fd, (struct sockaddr *)&ss, sslen) == -1) {
        pr_err("socket/connect %s: %s", o->server, strerror(errno));
        goto out;
    }
    if (o->out) {
        out = fopen(o->out, "w");
        if (!out) {
            pr_err("%s: %s", o->out, strerror(errno));
            goto out;
        }
        fprintf(out, "i,rtt_us\n");
    }
    for (unsigned i = 0; i < o->count && !xp_stop; i++) {
        uint8_t req[4] = {0x40, 0x01, (uint8_t)(i >> 8), (uint8_t)i}, resp[1500];
        double t1 = now_mono(), deadline = t1 + 1, t2 = 0;

        if (send(fd, req, sizeof(req), 0) != (ssize_t)sizeof(req)) {
            pr_err("send: %s", strerror(errno));
            goto out;
        }
        while (!xp_stop) {
            struct pollfd pfd = {.fd = fd, .events = POLLIN};
            double left = deadline - now_mono();
            ssize_t n;

            if (left <= 0 || poll(&pfd, 1, (int)(left * 1000) + 1) <= 0)
                break;
            n = recv(fd, resp, sizeof(resp), MSG_DONTWAIT);
            if (n >= 4 && resp[2] == req[2] && resp[3] == req[3]) {
                t2 = now_mono();
                break;
            }
        }
        if (t2 > 0) {
            rtt[got++] = (t2 - t1) * 1e6;
            sum += (t2 - t1) * 1e6;
            if (out)
                fprintf(out, "%u,%.1f\n", i, (t2 - t1) * 1e6);
            run_lost = 0;
        } else {
            lost++;
            /* Bounded: ten unanswered requests in a row end the run (the path is down). */
            if (++run_lost == 10) {
                pr_err("10 requests in a row unanswered: stopping");
                break;
            }
        }
        sleep_s(o->interval);
    }
    qsort(rtt, got, sizeof(*rtt), cmp_double);
    printf("{\"final\":true,\"server\":\"%s\",\"sent\":%u,\"answered\":%u,\"lost\":%u", o->server,
           got + lost, got, lost);
    if (got)
        printf(",\"min_us\":%.1f,\"median_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f,"
               "\"mean_us\":%.1f",
               rtt[0], rtt[got / 2], rtt[got * 9 / 10], rtt[got * 99 / 100], sum / got);
    printf("}\n");
    rc = got ? XP_EXIT_OK : XP_EXIT_FAIL;
out:
    if (out && fclose(out))
        rc = XP_EXIT_FAIL;
    if (fd != -1)
        close(fd);
    free(rtt);
    return rc;
}

/* ---- tx-csum-off ------------------------------------------------------------------------ */

/* Switches off DEV's TX checksum offload (ethtool -K DEV tx off, without ethtool): on veth the
 * kernel leaves UDP/TCP checksums to an offload that an AF_XDP forwarder does not perform. */
static int cmd_tx_csum_off(const char *ifname)
{
    struct ethtool_value ev = {.cmd = ETHTOOL_STXCSUM, .data = 0};
    struct ifreq ifr;
    int fd, rc = XP_EXIT_OK;

    if (if_nametoindex(ifname) == 0) {
        pr_err("%s: no such interface", ifname);
        return XP_EXIT_IFACE;
    }
    fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd == -1) {
        pr_err("socket: %s", strerror(errno));
        return XP_EXIT_FAIL;
    }
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
    ifr.ifr_data = (void *)&ev;
    if (ioctl(fd, SIOCETHTOOL, &ifr) == -1) {
        pr_err("%s: ETHTOOL_STXCSUM: %s", ifname, strerror(errno));
        rc = XP_EXIT_FAIL;
    }
    close(fd);
    return rc;
}

/* ---- main ----------------------------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: xpro-gen send --ifname DEV --scenario FILE [--group G] [--duration S]\n"
            "                     [--dst-mac MAC] [--start-at EPOCH] [--out FILE.csv]\n"
            "       xpro-gen sink --ifname DEV [--duration S] [--port P (0: any)]\n"
            "                     [--ready-file F] [--out FILE.csv]\n"
            "       xpro-gen rtt --server ADDR [--port P] [--count N] [--interval-ms MS]\n"
            "                     [--out FILE.csv]   (CoAP CON GET round trips)\n"
            "       xpro-gen tx-csum-off --ifname DEV   (ethtool -K DEV tx off)\n"
            "  --log-level err|warn|info|debug\n"
            "Exit codes: 0 ok, 1 failure, 2 bad option or scenario, 4 out of memory,\n"
            "5 interface missing.\n");
}

int main(int argc, char **argv)
{
    static const struct option lopts[] = {
        {"ifname", required_argument, NULL, 'i'},
        {"scenario", required_argument, NULL, 's'},
        {"group", required_argument, NULL, 'g'},
        {"duration", required_argument, NULL, 'd'},
        {"dst-mac", required_argument, NULL, 'm'},
        {"start-at", required_argument, NULL, 'a'},
        {"out", required_argument, NULL, 'o'},
        {"port", required_argument, NULL, 'p'},
        {"ready-file", required_argument, NULL, 'r'},
        {"log-level", required_argument, NULL, 'l'},
        {"server", required_argument, NULL, 'S'},
        {"count", required_argument, NULL, 'c'},
        {"interval-ms", required_argument, NULL, 'I'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct xp_send_opts so = {.group = -1, .duration = 10};
    struct xp_sink_opts ko = {.duration = 10, .port = XP_GEN_COAP_PORT};
    struct xp_rtt_opts ro = {.port = XP_GEN_COAP_PORT, .count = 100, .interval = 0.01};
    struct sigaction sa;
    enum xp_log_level lvl;
    const char *cmd;
    double v;
    int c;

    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? XP_EXIT_OPTION : XP_EXIT_OK;
    }
    cmd = argv[1];
    if (strcmp(cmd, "send") && strcmp(cmd, "sink") && strcmp(cmd, "rtt") &&
        strcmp(cmd, "tx-csum-off")) {
        usage(stderr);
        return XP_EXIT_OPTION;
    }
    xp_log_set_thread_name("xpro-gen");
    xp_log_hook_libraries();
    optind = 2;
    while ((c = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
        switch (c) {
        case 'i':
            so.ifname = ko.ifname = optarg;
            break;
        case 's':
            so.scenario = optarg;
            break;
        case 'g':
            if (parse_num(optarg, 0, 1023, &v))
                goto bad;
            so.group = (int)v;
            break;
        case 'd':
            if (parse_num(optarg, 0.1, XP_GEN_MAX_SECONDS, &v))
                goto bad;
            so.duration = ko.duration = v;
            break;
        case 'm':
            if (parse_mac(optarg, so.dmac))
                goto bad;
            so.have_dmac = true;
            break;
        case 'a':
            if (parse_num(optarg, 0, 1e11, &so.start_at))
                goto bad;
            break;
        case 'o':
            so.out = ko.out = ro.out = optarg;
            break;
        case 'p':
            if (parse_num(optarg, 0, 65535, &v))
                goto bad;
            ko.port = ro.port = (uint16_t)v;
            break;
        case 'S':
            ro.server = optarg;
            break;
        case 'c':
            if (parse_num(optarg, 1, 100000, &v))
                goto bad;
            ro.count = (unsigned)v;
            break;
        case 'I':
            if (parse_num(optarg, 0, 10000, &v))
                goto bad;
            ro.interval = v / 1000;
            break;
        case 'r':
            ko.ready_file = optarg;
            break;
        case 'l':
            if (xp_log_level_parse(optarg, &lvl))
                goto bad;
            xp_log_set_level(lvl);
            break;
        case 'h':
            usage(stdout);
            return XP_EXIT_OK;
        default:
            usage(stderr);
            return XP_EXIT_OPTION;
        }
    }
    if (!strcmp(cmd, "rtt") && optind == argc && ro.server && ro.port) {
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal;
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        return cmd_rtt(&ro);
    }
    if (!strcmp(cmd, "tx-csum-off") && optind == argc && so.ifname)
        return cmd_tx_csum_off(so.ifname);
    if (optind != argc || !so.ifname || !strcmp(cmd, "rtt") || !strcmp(cmd, "tx-csum-off") ||
        (!strcmp(cmd, "send") && !so.scenario)) {
        usage(stderr);
        return XP_EXIT_OPTION;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    return !strcmp(cmd, "send") ? cmd_send(&so) : cmd_sink(&ko);
bad:
    fprintf(stderr, "xpro-gen: bad option value: %s\n", optarg);
    usage(stderr);
    return XP_EXIT_OPTION;
}
