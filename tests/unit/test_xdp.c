// SPDX-License-Identifier: GPL-2.0-only
/*
 * The XDP program alone (kern/xpro.bpf.c), run by BPF_PROG_TEST_RUN over a
 * corpus of frames: every edge of its pass / redirect / drop decision, IPv4
 * and IPv6, VLANs, inline and gateway mode, fail-open and fail-closed, with
 * each verdict asserted by the counter it moves (and the action returned).
 *
 * No socket is ever bound, so a frame the program sends to the sockets comes
 * back as the fail mode's action and counts as pass_no_socket (fail-open) or
 * drop_no_socket (fail-closed): that counter is how "to the policer" is seen
 * here. Everything else has a counter of its own (docs/datapath.md).
 *
 * Needs root (BPF, a network namespace of its own with two veth ports, a
 * route and a neighbour for the gateway's FIB lookups); skips (77) otherwise.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kern/xp_shared.h"
#include "kern/xpro.bpf.skel.h"

#include "xp_check.h"
#include "xp_netns.h"

/* ---- frames ---- */

struct frame {
    uint8_t b[256];
    unsigned len;
};

static const uint8_t mac_proxy[6] = {0x02, 0, 0, 0, 0, 0xaa};
static const uint8_t mac_other[6] = {0x02, 0, 0, 0, 0, 0xbb};
static const uint8_t mac_unit[6] = {0x02, 0, 0, 0, 0, 0x01};

static void put(struct frame *f, const void *p, unsigned n)
{
    memcpy(f->b + f->len, p, n);
    f->len += n;
}

static void put16(struct frame *f, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};

    put(f, b, 2);
}

static void fill(struct frame *f, uint8_t v, unsigned n)
{
    memset(f->b + f->len, v, n);
    f->len += n;
}

/* Ethernet to dmac with n VLAN tags, then ethertype. */
static void eth(struct frame *f, const uint8_t *dmac, unsigned vlans, uint16_t ethertype)
{
    f->len = 0;
    put(f, dmac, 6);
    put(f, mac_unit, 6);
    for (unsigned i = 0; i < vlans; i++) {
        put16(f, i == 0 ? 0x88a8 : 0x8100);
        put16(f, (uint16_t)(10 + i));
    }
    put16(f, ethertype);
}

/* IPv4 from src to dst with an 8-byte UDP header to dport and 18 bytes of payload. */
static void ipv4_udp(struct frame *f, const char *src, const char *dst, uint16_t dport)
{
    uint8_t a[4];

    put16(f, 0x4500);
    put16(f, 20 + 8 + 18);
    put16(f, 1);
    put16(f, 0);
    put16(f, 0x4011);
    put16(f, 0);
    inet_pton(AF_INET, src, a);
    put(f, a, 4);
    inet_pton(AF_INET, dst, a);
    put(f, a, 4);
    put16(f, 4000);
    put16(f, dport);
    put16(f, 8 + 18);
    put16(f, 0);
    fill(f, 0x42, 18);
}

/* IPv6 from src to dst, next header nh, then payload bytes given by the caller. */
static unsigned ipv6(struct frame *f, const char *src, const char *dst, uint8_t nh)
{
    uint8_t a[16];
    unsigned off = f->len;

    put16(f, 0x6000);
    put16(f, 0);
    put16(f, 0); /* payload length: ipv6_end */
    put(f, &nh, 1);
    put(f, "\xff", 1);
    inet_pton(AF_INET6, src, a);
    put(f, a, 16);
    inet_pton(AF_INET6, dst, a);
    put(f, a, 16);
    return off;
}

static void ipv6_end(struct frame *f, unsigned off)
{
    unsigned pl = f->len - off - 40;

    f->b[off + 4] = (uint8_t)(pl >> 8);
    f->b[off + 5] = (uint8_t)pl;
}

static void icmp6(struct frame *f, uint8_t type)
{
    put(f, &type, 1);
    fill(f, 0, 23);
}

static void udp(struct frame *f, uint16_t dport)
{
    put16(f, 4000);
    put16(f, dport);
    put16(f, 8 + 16);
    put16(f, 0);
    fill(f, 0x42, 16);
}

/* A hop-by-hop header (8 bytes, PadN) leading to nh. */
static void hbh(struct frame *f, uint8_t nh)
{
    uint8_t h[8] = {nh, 0, 1, 4, 0, 0, 0, 0};

    put(f, h, 8);
}

/* ---- the program ---- */

enum mode { INLINE_OPEN, INLINE_CLOSED, INLINE_NON_IP_PASS, GATEWAY };

struct prog {
    struct xpro_bpf *skel;
    int fd;
    int ifindex[2];
};

static int ifindex_a, ifindex_c;

static int prog_load(struct prog *p, enum mode m)
{
    memset(p, 0, sizeof(*p));
    p->skel = xpro_bpf__open();
    if (!p->skel)
        return -errno;
    p->ifindex[0] = ifindex_a;
    p->ifindex[1] = ifindex_c;
    p->skel->rodata->port_ifindex[0] = (uint32_t)ifindex_a;
    p->skel->rodata->port_ifindex[1] = (uint32_t)ifindex_c;
    p->skel->rodata->fail_closed = m == INLINE_CLOSED;
    p->skel->rodata->mgmt_enabled = 1;
    p->skel->rodata->police_port = 0;
    p->skel->rodata->v6_unit_bytes = 8;
    p->skel->rodata->non_ip_drop = m != INLINE_NON_IP_PASS;
    p->skel->rodata->gateway_mode = m == GATEWAY;
    p->skel->rodata->tunnel_port = htons(5685);
    memcpy((uint8_t *)p->skel->rodata->access_mac, mac_proxy, 6);
    if (xpro_bpf__load(p->skel)) {
        int err = -errno;

        xpro_bpf__destroy(p->skel);
        p->skel = NULL;
        return err;
    }
    p->fd = bpf_program__fd(p->skel->progs.xpro_xdp);
    return 0;
}

/* Sum of one counter of port over the CPUs. */
static uint64_t counter(struct prog *p, unsigned port, enum xp_kern_counter c)
{
    int ncpu = libbpf_num_possible_cpus();
    struct xp_kern_stats st[ncpu > 0 ? ncpu : 1];
    uint64_t sum = 0;
    uint32_t key = port;

    if (ncpu <= 0 || bpf_map_lookup_elem(bpf_map__fd(p->skel->maps.kstats), &key, st))
        return 0;
    for (int i = 0; i < ncpu; i++)
        sum += st[i].packets[c];
    return sum;
}

static const char *const names[XP_KC_MAX] = {
    [XP_KC_RX] = "rx", [XP_KC_REDIRECT] = "redirect", [XP_KC_PASS_NON_IP] = "pass_non_ip",
    [XP_KC_PASS_ARP_ND] = "pass_arp_nd", [XP_KC_PASS_MGMT] = "pass_mgmt",
    [XP_KC_PASS_NO_SOCKET] = "pass_no_socket", [XP_KC_DROP_NO_SOCKET] = "drop_no_socket",
    [XP_KC_PASS_FOREIGN] = "pass_foreign", [XP_KC_DROP_BLOCKED] = "drop_blocked",
    [XP_KC_DROP_MANUAL] = "drop_manual", [XP_KC_PASS_NOT_TUNNEL] = "pass_not_tunnel",
    [XP_KC_DROP_UNTUNNELLED] = "drop_untunnelled", [XP_KC_DROP_NON_IP] = "drop_non_ip",
};

static unsigned cases;

/*
 * Run f on port (0 access, 1 core): it must return action and move exactly
 * one counter besides rx, want.
 */
static void expect(struct prog *p, const char *what, const struct frame *f, unsigned port,
                   int action, enum xp_kern_counter want)
{
    struct xdp_md ctx = {.data_end = f->len, .ingress_ifindex = (uint32_t)p->ifindex[port]};
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = f->b, .data_size_in = f->len,
                .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = 1);
    uint64_t before[XP_KC_MAX], after;
    int ret;

    cases++;
    for (int c = 0; c < XP_KC_MAX; c++)
        before[c] = counter(p, port, c);
    ret = bpf_prog_test_run_opts(p->fd, &opts);
    if (ret) {
        fprintf(stderr, "%s: BPF_PROG_TEST_RUN: %s\n", what, strerror(errno));
        failures++;
        return;
    }
    if ((int)opts.retval != action) {
        fprintf(stderr, "%s: action %u, expected %d\n", what, opts.retval, action);
        failures++;
    }
    for (int c = 1; c < XP_KC_MAX; c++) {
        after = counter(p, port, c);
        if (after - before[c] != (c == (int)want)) {
            fprintf(stderr, "%s: counter %s moved by %llu, expected %d\n", what, names[c],
                    (unsigned long long)(after - before[c]), c == (int)want);
            failures++;
        }
    }
}

/* Block (unit, dst) in the kernel fast path and say so in the .bss counts. */
static void block_pair(struct prog *p, const char *unit, const char *dst, bool manual)
{
    struct xp_block_val v = {.expires_ns = UINT64_MAX / 2, .slot = 0};
    struct xp_pair_key k = {0};
    bool v6 = strchr(unit, ':') != NULL;
    if (v6) {
        inet_pton(AF_INET6, unit, k.unit);
        memset(k.unit + 8, 0, 8);
        inet_pton(AF_INET6, dst, k.dst);
    } else {
        k.unit[10] = k.unit[11] = k.dst[10] = k.dst[11] = 0xff;
        inet_pton(AF_INET, unit, k.unit + 12);
        inet_pton(AF_INET, dst, k.dst + 12);
    }
    if (manual) {
        uint64_t exp = 0;

        CHECK_EQ(bpf_map_update_elem(bpf_map__fd(p->skel->maps.manual), &k, &exp, 0), 0);
    } else if (v6) {
        CHECK_EQ(bpf_map_update_elem(bpf_map__fd(p->skel->maps.blocks), &k, &v, 0), 0);
    } else {
        struct xp_block4_key k4;

        memcpy(&k4.src, k.unit + 12, 4);
        memcpy(&k4.dst, k.dst + 12, 4);
        CHECK_EQ(bpf_map_update_elem(bpf_map__fd(p->skel->maps.blocks4), &k4, &v, 0), 0);
    }
    if (manual)
        p->skel->bss->block_manual = 1;
    else
        p->skel->bss->block_pairs = 1;
}

static void add_mgmt(struct prog *p, const char *addr)
{
    struct xp_lpm_key k = {.prefixlen = 128};
    uint32_t one = 1;

    if (strchr(addr, ':')) {
        inet_pton(AF_INET6, addr, k.addr);
    } else {
        k.addr[10] = k.addr[11] = 0xff;
        inet_pton(AF_INET, addr, k.addr + 12);
    }
    CHECK_EQ(bpf_map_update_elem(bpf_map__fd(p->skel->maps.mgmt), &k, &one, 0), 0);
}

#define UNIT6 "2001:2:0:1::5"
#define DST6 "2001:2:ff::1"

/* Inline mode, fail-open: what reaches the sockets (pass_no_socket here) and what does not. */
static void test_inline(void)
{
    struct prog p;
    struct frame f;
    unsigned o;

    CHECK_EQ(prog_load(&p, INLINE_OPEN), 0);
    if (!p.skel)
        return;
    add_mgmt(&p, "198.18.9.9");
    add_mgmt(&p, "2001:2:9::9");

    eth(&f, mac_other, 0, 0x0800);
    ipv4_udp(&f, "198.18.0.2", "198.18.1.1", 53);
    expect(&p, "IPv4/UDP", &f, 0, XDP_PASS, XP_KC_PASS_NO_SOCKET);
    expect(&p, "IPv4/UDP on the core port", &f, 1, XDP_PASS, XP_KC_PASS_NO_SOCKET);
    eth(&f, mac_other, 1, 0x0800);
    ipv4_udp(&f, "198.18.0.2", "198.18.1.1", 53);
    expect(&p, "IPv4 under one VLAN tag", &f, 0, XDP_PASS, XP_KC_PASS_NO_SOCKET);
    eth(&f, mac_other, 2, 0x0800);
    ipv4_udp(&f, "198.18.0.2", "198.18.1.1", 53);
    expect(&p, "IPv4 under two VLAN tags", &f, 0, XDP_PASS, XP_KC_PASS_NO_SOCKET);
    eth(&f, mac_other, 3, 0x0800);
    ipv4_udp(&f, "198.18.0.2", "198.18.1.1", 53);
    expect(&p, "IPv4 under three VLAN tags: to the parser (too_many_vlans)", &f, 0, XDP_PASS,
           XP_KC_PASS_NO_SOCKET);
    eth(&f, mac_other, 5, 0x0806);
    fill(&f, 0, 28);
    expect(&p, "ARP under five VLAN tags: to the parser", &f, 0, XDP_PASS, XP_KC_PASS_NO_SOCKET);
    eth(&f, mac_other, 2, 0x0806);
    fill(&f, 0, 28);
    expect(&p, "ARP under two VLAN tags", &f, 0, XDP_PASS, XP_KC_PASS_ARP_ND);
    eth(&f, mac_other, 0, 0x0806);
    fill(&f, 0, 28);
    expect(&p, "ARP", &f, 0, XDP_PASS, XP_KC_PASS_ARP_ND);
    eth(&f, mac_other, 0, 0x88cc);
    fill(&f, 0, 46);
    expect(&p, "LLDP (non-IP, non_ip drop)", &f, 0, XDP_DROP, XP_KC_DROP_NON_IP);
    eth(&f, mac_other, 1, 0x8100);
    f.len -= 2; /* the second tag's header is cut */
    expect(&p, "truncated VLAN tag: to the parser", &f, 0, XDP_PASS, XP_KC_PASS_NO_SOCKET);

    /* management: the box's own addresses */
    eth(&f, mac_other, 0, 0x0800);
    ipv4_udp(&f, "198.18.0.2", "198.18.9.9", 22);
    expect(&p, "IPv4 to a management address", &f, 0, XDP_PASS, XP_KC_PASS_MGMT);

    /* IPv6: the link's control traffic and what only looks like it */
    eth(&f, mac_other, 0, 0x86dd);
    o = ipv6(&f, UNIT6, DST6, 17);
    udp(&f, 53);
    ipv6_end(&f, o);
    expect(&p, "IPv6/UDP", &f, 0, XDP_PASS, XP_KC_PASS_NO_SOCKET);
    eth(&f, mac_other, 0, 0x86dd);
    o = ipv6(&f, UNIT6, DST6, 0);
    hbh(&f, 17);
    udp(&f, 53);
    ipv6_end(&f, o);
    expect(&p, "hop-by-hop then UDP to a global address: policed", &f, 0, XDP_PASS,
           XP_KC_PASS_NO_SOCKET);
    eth(&f, mac_other, 0, 0x86dd);
    o = ipv6(&f, "fe80::1", "ff02::16", 0);
    hbh(&f, 58);
    icmp6(&f, 143);
    ipv6_end(&f, o);
    expect(&p, "MLDv2 report (hop-by-hop) to ff02::16", &f, 0, XDP_PASS, XP_KC_PASS_ARP_ND);
    eth(&f, mac_other, 0, 0x86dd);
    o = ipv6(&f, UNIT6, "ff0e::1:3", 0);
    hbh(&f, 58);
    icmp6(&f, 131);
    ipv6_end(&f, o);
    expect(&p, "MLDv1 report of a global group: policed", &f, 0, XDP_PASS, XP_KC_PASS_NO_SOCKET);
    eth(&f, mac_other, 0, 0x86dd);
    o = ipv6(&f, UNIT6, "ff02::1:ff00:1", 58);
    icmp6(&f, 135);
    ipv6_end(&f, o);
    expect(&p, "neighbour solicitation to its solicited-node group", &f, 0, XDP_PASS,
           XP_KC_PASS_ARP_ND);
    eth(&f, mac_other, 0, 0x86dd);
    o = ipv6(&f, UNIT6, DST6, 58);
    icmp6(&f, 135);
    ipv6_end(&f, o);
    expect(&p, "neighbour solicitation to a global address (NUD): policed", &f, 0, XDP_PASS,
           XP_KC_PASS_NO_SOCKET);
    eth(&f, mac_other, 0, 0x86dd);
    o = ipv6(&f, UNIT6, "2001:2:9::9", 58);
    icmp6(&f, 135);
    ipv6_end(&f, o);
    expect(&p, "neighbour solicitation to the proxy's own address", &f, 0, XDP_PASS,
           XP_KC_PASS_MGMT);
    eth(&f, mac_other, 0, 0x86dd);
    o = ipv6(&f, "fe80::2", "fe80::1", 58);
    icmp6(&f, 136);
    ipv6_end(&f, o);
    expect(&p, "neighbour advertisement to link-local", &f, 0, XDP_PASS, XP_KC_PASS_ARP_ND);
    eth(&f, mac_other, 0, 0x86dd);
    o = ipv6(&f, "fe80::2", "ff02::1", 58);
    icmp6(&f, 134);
    ipv6_end(&f, o);
    expect(&p, "router advertisement to ff02::1", &f, 0, XDP_PASS, XP_KC_PASS_ARP_ND);
    eth(&f, mac_other, 0, 0x86dd);
    o = ipv6(&f, UNIT6, "ff02::1", 58);
    icmp6(&f, 128);
    ipv6_end(&f, o);
    expect(&p, "echo request to ff02::1 (not ND): policed", &f, 0, XDP_PASS,
           XP_KC_PASS_NO_SOCKET);
    eth(&f, mac_other, 0, 0x86dd);
    o = ipv6(&f, UNIT6, "ff05::2", 58);
    icmp6(&f, 133);
    ipv6_end(&f, o);
    expect(&p, "router solicitation to a site-scope group: policed", &f, 0, XDP_PASS,
           XP_KC_PASS_NO_SOCKET);
    eth(&f, mac_other, 0, 0x86dd);
    f.len += 20; /* shorter than the fixed IPv6 header */
    memset(f.b + 14, 0x60, 20);
    expect(&p, "truncated IPv6 header: to the parser", &f, 0, XDP_PASS, XP_KC_PASS_NO_SOCKET);

    /* blocked pairs: dropped whatever the headers, on the access port only */
    block_pair(&p, "198.18.0.2", "198.18.1.1", false);
    eth(&f, mac_other, 0, 0x0800);
    ipv4_udp(&f, "198.18.0.2", "198.18.1.1", 53);
    expect(&p, "blocked IPv4 pair", &f, 0, XDP_DROP, XP_KC_DROP_BLOCKED);
    eth(&f, mac_other, 2, 0x0800);
    ipv4_udp(&f, "198.18.0.2", "198.18.1.1", 53);
    expect(&p, "blocked IPv4 pair under two VLAN tags", &f, 0, XDP_DROP, XP_KC_DROP_BLOCKED);
    expect(&p, "the same pair on the core port", &f, 1, XDP_PASS, XP_KC_PASS_NO_SOCKET);
    block_pair(&p, "2001:2:0:1::77", DST6, false);
    eth(&f, mac_other, 0, 0x86dd);
    o = ipv6(&f, UNIT6, DST6, 0);
    hbh(&f, 17);
    udp(&f, 53);
    ipv6_end(&f, o);
    expect(&p, "blocked IPv6 unit (another address of its /64) behind hop-by-hop", &f, 0,
           XDP_DROP, XP_KC_DROP_BLOCKED);
    block_pair(&p, "198.18.0.3", "198.18.1.1", true);
    eth(&f, mac_other, 0, 0x0800);
    ipv4_udp(&f, "198.18.0.3", "198.18.1.1", 53);
    expect(&p, "operator block", &f, 0, XDP_DROP, XP_KC_DROP_MANUAL);
    xpro_bpf__destroy(p.skel);
}

/* Fail-closed drops what would go to the sockets; non_ip "pass" passes non-IP. */
static void test_modes(void)
{
    struct prog p;
    struct frame f;

    CHECK_EQ(prog_load(&p, INLINE_CLOSED), 0);
    if (p.skel) {
        eth(&f, mac_other, 0, 0x0800);
        ipv4_udp(&f, "198.18.0.2", "198.18.1.1", 53);
        expect(&p, "fail-closed: IPv4", &f, 0, XDP_DROP, XP_KC_DROP_NO_SOCKET);
        eth(&f, mac_other, 3, 0x0800);
        ipv4_udp(&f, "198.18.0.2", "198.18.1.1", 53);
        expect(&p, "fail-closed: three VLAN tags", &f, 0, XDP_DROP, XP_KC_DROP_NO_SOCKET);
        eth(&f, mac_other, 0, 0x0806);
        fill(&f, 0, 28);
        expect(&p, "fail-closed: ARP", &f, 0, XDP_PASS, XP_KC_PASS_ARP_ND);
        xpro_bpf__destroy(p.skel);
    }
    CHECK_EQ(prog_load(&p, INLINE_NON_IP_PASS), 0);
    if (p.skel) {
        eth(&f, mac_other, 0, 0x88cc);
        fill(&f, 0, 46);
        expect(&p, "non_ip pass: LLDP", &f, 0, XDP_PASS, XP_KC_PASS_NON_IP);
        xpro_bpf__destroy(p.skel);
    }
}

/* Gateway mode: only tunnel datagrams to our MAC reach the sockets; nothing routes around. */
static void test_gateway(void)
{
    struct prog p;
    struct frame f;
    unsigned o;

    CHECK_EQ(prog_load(&p, GATEWAY), 0);
    if (!p.skel)
        return;
    eth(&f, mac_proxy, 0, 0x0800);
    ipv4_udp(&f, "198.18.0.2", "198.18.0.1", 5685);
    expect(&p, "gateway: tunnel datagram to us", &f, 0, XDP_PASS, XP_KC_PASS_NO_SOCKET);
    eth(&f, mac_other, 0, 0x0800);
    ipv4_udp(&f, "198.18.0.2", "198.18.0.1", 5685);
    expect(&p, "gateway: tunnel datagram to another MAC", &f, 0, XDP_PASS,
           XP_KC_PASS_NOT_TUNNEL);
    eth(&f, mac_proxy, 0, 0x0800);
    ipv4_udp(&f, "198.18.0.2", "198.18.1.9", 53);
    expect(&p, "gateway: a unit routing around the tunnel", &f, 0, XDP_DROP,
           XP_KC_DROP_UNTUNNELLED);
    eth(&f, mac_proxy, 0, 0x86dd);
    o = ipv6(&f, UNIT6, "2001:2:1::9", 0);
    hbh(&f, 17);
    udp(&f, 53);
    ipv6_end(&f, o);
    expect(&p, "gateway: hop-by-hop routed around the tunnel", &f, 0, XDP_DROP,
           XP_KC_DROP_UNTUNNELLED);
    eth(&f, mac_proxy, 0, 0x86dd);
    o = ipv6(&f, UNIT6, "ff02::1:ff00:1", 58);
    icmp6(&f, 135);
    ipv6_end(&f, o);
    expect(&p, "gateway: neighbour solicitation", &f, 0, XDP_PASS, XP_KC_PASS_ARP_ND);
    eth(&f, mac_proxy, 0, 0x86dd);
    o = ipv6(&f, UNIT6, "2001:2:1::9", 58);
    icmp6(&f, 135);
    ipv6_end(&f, o);
    expect(&p, "gateway: 'neighbour solicitation' routed around the tunnel", &f, 0, XDP_DROP,
           XP_KC_DROP_UNTUNNELLED);
    eth(&f, mac_other, 0, 0x88cc);
    fill(&f, 0, 46);
    expect(&p, "gateway: non-IP", &f, 0, XDP_DROP, XP_KC_DROP_NON_IP);
    eth(&f, mac_other, 0, 0x0800);
    ipv4_udp(&f, "198.18.1.9", "198.18.0.2", 53);
    expect(&p, "gateway: the core port is the kernel's", &f, 1, XDP_PASS,
           XP_KC_PASS_NOT_TUNNEL);
    xpro_bpf__destroy(p.skel);
}

/*
 * A network namespace of our own: ports xpa (198.18.0.1/24, 2001:2:0:1::1/64)
 * and xpc (198.18.1.1/24, 2001:2:1::1/64), forwarding on, so that the
 * gateway's FIB lookups find routes as on a real box.
 */
static int netns_setup(void)
{
    static const char *const cmds[] = {
        "ip link set lo up",
        "ip link add xpa type veth peer name xpa-p",
        "ip link add xpc type veth peer name xpc-p",
        "ip link set xpa up", "ip link set xpa-p up", "ip link set xpc up", "ip link set xpc-p up",
        "ip addr add 198.18.0.1/24 dev xpa", "ip addr add 198.18.1.1/24 dev xpc",
        "ip addr add 2001:2:0:1::1/64 dev xpa nodad", "ip addr add 2001:2:1::1/64 dev xpc nodad",
        "sysctl -qw net.ipv4.ip_forward=1", "sysctl -qw net.ipv6.conf.all.forwarding=1",
        "ip neigh replace 198.18.1.9 lladdr 02:00:00:00:00:09 dev xpc nud permanent",
        "ip neigh replace 2001:2:1::9 lladdr 02:00:00:00:00:09 dev xpc nud permanent",
    };

    if (xp_netns_enter(cmds, sizeof(cmds) / sizeof(cmds[0])))
        return -1;
    ifindex_a = (int)if_nametoindex("xpa");
    ifindex_c = (int)if_nametoindex("xpc");
    return ifindex_a && ifindex_c ? 0 : -ENODEV;
}

int main(void)
{
    if (geteuid() != 0) {
        printf("SKIP: needs root (BPF, a network namespace)\n");
        return 77;
    }
    if (netns_setup() < 0) {
        fprintf(stderr, "cannot set up the test namespace\n");
        return 1;
    }
    test_inline();
    test_modes();
    test_gateway();
    if (!failures)
        printf("test_xdp: %u frames, every verdict as expected\n", cases);
    return xp_check_report("test_xdp");
}
