// SPDX-License-Identifier: GPL-2.0-only
/*
 * xpro's XDP program: hand IP traffic to the AF_XDP socket of the receive
 * queue, pass what the proxy must not touch, and decide what happens when
 * no socket is bound (the proxy is down): pass (fail-open) or drop
 * (fail-closed).
 *
 * It parses as little as it can: Ethernet, up to two VLAN tags, and the IP
 * header only far enough to find management traffic and the link's own
 * control traffic. Full parsing and policing happen in userspace.
 *
 * The rule that keeps it from being an open door: every IP frame goes to the
 * sockets (and so through the parser and the policer) unless it is for the
 * proxy box itself (management prefixes), or it is the link's own control
 * traffic the kernel needs (neighbour discovery, MLD, hop-by-hop-led IPv6)
 * addressed to link-local unicast or link/interface-scope multicast, or its
 * pair is blocked (dropped here). Frames the parser will reject (too many
 * VLAN tags, truncated headers) go to the sockets too, where the malformed
 * policy applies and counts them. Non-IP frames other than ARP pass or drop
 * as configured (non_ip), counted.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/icmpv6.h>
#include <linux/udp.h>
/* From linux/socket.h, which BPF programs cannot include. */
#define AF_INET 2
#define AF_INET6 10
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "kern/xp_shared.h"

/* Set by the loader before load. */
const volatile __u32 port_ifindex[XP_MAX_PORTS] = {};
const volatile __u32 fail_closed = 0;
const volatile __u32 mgmt_enabled = 0;
/* Port whose traffic is policed (the access port); the block map applies there only. */
const volatile __u32 police_port = 0;
/* Unit key of an IPv6 source: its first v6_unit_prefix bits (a multiple of 8). */
const volatile __u32 v6_unit_bytes = 8;
/* Non-IP frames other than ARP: drop (1) or give to the kernel (0). */
const volatile __u32 non_ip_drop = 0;
/*
 * Gateway mode: only tunnel datagrams (UDP to tunnel_port, network order)
 * on the access port go to the sockets; everything else, and all of the
 * core port, is the kernel's (replies to units are routed by the kernel).
 */
const volatile __u32 gateway_mode = 0;
const volatile __u32 tunnel_port = 0;
/* The access port's MAC: tunnel datagrams flooded to another proxy are not ours. */
const volatile __u8 access_mac[6] = {};
/* Slots of block_hits per CPU: workers * XP_BLOCK_SLOTS. */
const volatile __u32 block_slots = 1;

/*
 * Entries in the block maps and operator blocks: with none the program skips
 * every lookup. Userspace changes them with atomic adds in the mmapped .bss
 * (workers when their batched writes go in, the control thread for operator
 * blocks): no system call, no lock.
 */
__u32 block_pairs = 0;
__u32 block_manual = 0;

struct {
    __uint(type, BPF_MAP_TYPE_XSKMAP);
    __uint(max_entries, XP_XSKMAP_SIZE);
    __type(key, __u32);
    __type(value, __u32);
} xsks SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, XP_MAX_PORTS);
    __type(key, __u32);
    __type(value, struct xp_kern_stats);
} kstats SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LPM_TRIE);
    __uint(max_entries, XP_MGMT_PREFIXES);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, struct xp_lpm_key);
    __type(value, __u32);
} mgmt SEC(".maps");

/* Blocked pairs: written by the workers (batched), read here; counts go to block_hits. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, XP_BLOCK_MAX);
    __type(key, struct xp_block4_key);
    __type(value, struct xp_block_val);
} blocks4 SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, XP_BLOCK_MAX);
    __type(key, struct xp_pair_key);
    __type(value, struct xp_block_val);
} blocks SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct xp_block_cache);
} block_cache SEC(".maps");

/*
 * What XDP dropped per blocked pair: CPU rows of block_slots counters each,
 * mmapped by userspace, where each worker sums its own slots (xp_shared.h).
 * max_entries is set by the loader (possible CPUs * block_slots).
 */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(map_flags, BPF_F_MMAPABLE);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} block_hits SEC(".maps");

/* Operator blocks: value is the expiry (CLOCK_MONOTONIC ns), 0 = until removed. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, XP_MANUAL_MAX);
    __type(key, struct xp_pair_key);
    __type(value, __u64);
} manual SEC(".maps");

struct vlan_hdr {
    __be16 tci;
    __be16 encap_proto;
};

static __always_inline int count(struct xp_kern_stats *st, enum xp_kern_counter c, int action)
{
    if (st)
        st->packets[c]++;
    return action;
}

static __always_inline int is_mgmt(const struct xp_lpm_key *key)
{
    return mgmt_enabled && bpf_map_lookup_elem(&mgmt, key) != NULL;
}

/* One more packet XDP dropped for the pair in slot, on this CPU's row. */
static __always_inline void count_hit(__u32 slot)
{
    __u32 i = bpf_get_smp_processor_id() * block_slots + slot;
    __u64 *n = bpf_map_lookup_elem(&block_hits, &i);

    if (n)
        (*n)++;
}

/* IPv4: the per-CPU cache first, the hash on a miss. 1: drop. */
static __always_inline int blocked4(__u32 src, __u32 dst)
{
    struct xp_block4_key k = { .src = src, .dst = dst };
    __u64 now = bpf_ktime_get_coarse_ns();
    struct xp_block_cache *bc;
    struct xp_block_val *v;
    __u32 zero = 0;

    bc = bpf_map_lookup_elem(&block_cache, &zero);
    if (bc && bc->src == src && bc->dst == dst && now < bc->expires_ns) {
        count_hit(bc->slot);
        return 1;
    }
    v = bpf_map_lookup_elem(&blocks4, &k);
    if (!v || now >= v->expires_ns)
        return 0;
    count_hit(v->slot);
    if (bc) {
        bc->src = src;
        bc->dst = dst;
        bc->expires_ns = v->expires_ns;
        bc->slot = v->slot;
    }
    return 1;
}

/* 1 if the operator blocked the pair or the unit towards everything. */
static __always_inline int manually_blocked(struct xp_pair_key *key)
{
    __u64 now = bpf_ktime_get_coarse_ns();
    __u64 *exp = bpf_map_lookup_elem(&manual, key);

    if (exp && (*exp == 0 || now < *exp))
        return 1;
    __builtin_memset(key->dst, 0, sizeof(key->dst));
    exp = bpf_map_lookup_elem(&manual, key);
    return exp && (*exp == 0 || now < *exp);
}

/* 1 if the pair is blocked and unexpired: the caller drops. */
static __always_inline int blocked_in(void *map, void *key)
{
    struct xp_block_val *v = bpf_map_lookup_elem(map, key);

    if (!v || bpf_ktime_get_coarse_ns() >= v->expires_ns)
        return 0;
    count_hit(v->slot);
    return 1;
}

/* Gateway mode: 1 if l3 holds a tunnel datagram (unfragmented UDP to tunnel_port). */
static __always_inline int is_tunnel(void *l3, void *data_end, __u16 proto)
{
    struct udphdr *udp;

    if (proto == bpf_htons(ETH_P_IP)) {
        struct iphdr *iph = l3;

        if ((void *)(iph + 1) > data_end || iph->protocol != IPPROTO_UDP || iph->ihl < 5 ||
            (iph->frag_off & bpf_htons(0x3fff)))
            return 0;
        udp = (void *)iph + iph->ihl * 4;
    } else if (proto == bpf_htons(ETH_P_IPV6)) {
        struct ipv6hdr *ip6 = l3;

        if ((void *)(ip6 + 1) > data_end || ip6->nexthdr != IPPROTO_UDP)
            return 0;
        udp = (void *)(ip6 + 1);
    } else {
        return 0;
    }
    if ((void *)(udp + 1) > data_end)
        return 0;
    return udp->dest == tunnel_port;
}

/*
 * Gateway mode, access port, not a tunnel datagram: would the kernel
 * forward it? Then it is a unit routing around the tunnel: 1, drop. Traffic
 * to the box itself, broadcast and multicast are the kernel's (0).
 */
static __always_inline int would_forward(struct xdp_md *ctx, void *l3, void *data_end, __u16 proto)
{
    struct bpf_fib_lookup fib = {};
    long ret;

    if (proto == bpf_htons(ETH_P_IP)) {
        struct iphdr *iph = l3;

        if ((void *)(iph + 1) > data_end)
            return 0;
        fib.family = AF_INET;
        fib.tos = iph->tos;
        fib.l4_protocol = iph->protocol;
        fib.tot_len = bpf_ntohs(iph->tot_len);
        fib.ipv4_src = iph->saddr;
        fib.ipv4_dst = iph->daddr;
    } else if (proto == bpf_htons(ETH_P_IPV6)) {
        struct ipv6hdr *ip6 = l3;

        if ((void *)(ip6 + 1) > data_end)
            return 0;
        fib.family = AF_INET6;
        fib.l4_protocol = ip6->nexthdr;
        fib.tot_len = bpf_ntohs(ip6->payload_len) + sizeof(*ip6);
        __builtin_memcpy(fib.ipv6_src, &ip6->saddr, 16);
        __builtin_memcpy(fib.ipv6_dst, &ip6->daddr, 16);
    } else {
        return 0;
    }
    fib.ifindex = ctx->ingress_ifindex;
    ret = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
    return ret == BPF_FIB_LKUP_RET_SUCCESS || ret == BPF_FIB_LKUP_RET_NO_NEIGH ||
           ret == BPF_FIB_LKUP_RET_FRAG_NEEDED || ret == BPF_FIB_LKUP_RET_UNSUPP_LWT;
}

/*
 * The link's own IPv6 control traffic, which the kernel must see: neighbour
 * discovery (ICMPv6 133-137), MLD (130-132, 143) and anything led by a
 * hop-by-hop header (MLD rides behind one), addressed to link-local unicast
 * (fe80::/10) or interface/link-scope multicast (ff01::/16, ff02::/16). The
 * same messages to other addresses (unicast neighbour probes, MLDv1 reports
 * of wider groups) are forwarded by the proxy like any traffic, policed when
 * a unit sends them: a hop-by-hop header or an ICMPv6 type opens no door.
 */
static __always_inline int link_control(const struct ipv6hdr *ip6, void *data_end)
{
    const __u8 *d = ip6->daddr.in6_u.u6_addr8;
    struct icmp6hdr *icmp6;
    __u8 t;

    if (!((d[0] == 0xfe && (d[1] & 0xc0) == 0x80) ||
          (d[0] == 0xff && ((d[1] & 0x0f) == 1 || (d[1] & 0x0f) == 2))))
        return 0;
    if (ip6->nexthdr == IPPROTO_HOPOPTS)
        return 1;
    if (ip6->nexthdr != IPPROTO_ICMPV6)
        return 0;
    icmp6 = (void *)(ip6 + 1);
    if ((void *)(icmp6 + 1) > data_end)
        return 0;
    t = icmp6->icmp6_type;
    return (t >= 130 && t <= 137) || t == 143;
}

static __always_inline int to_us(const struct ethhdr *eth)
{
    return eth->h_dest[0] == access_mac[0] && eth->h_dest[1] == access_mac[1] &&
           eth->h_dest[2] == access_mac[2] && eth->h_dest[3] == access_mac[3] &&
           eth->h_dest[4] == access_mac[4] && eth->h_dest[5] == access_mac[5];
}

SEC("xdp")
int xpro_xdp(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    struct xp_kern_stats *st;
    struct xp_lpm_key key;
    __u32 port, slot;
    __u16 proto;
    void *l3;

    if (ctx->ingress_ifindex == port_ifindex[0])
        port = 0;
    else if (ctx->ingress_ifindex == port_ifindex[1])
        port = 1;
    else
        return XDP_PASS; /* attached somewhere we were not told about */

    st = bpf_map_lookup_elem(&kstats, &port);
    if (st) {
        st->packets[XP_KC_RX]++;
        st->bytes_rx += data_end - data;
    }

    /* a frame the parser will reject goes to it: the malformed policy decides, counted */
    if ((void *)(eth + 1) > data_end)
        goto redirect;
    proto = eth->h_proto;
    l3 = eth + 1;

#pragma unroll
    for (int i = 0; i < 2; i++) {
        if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
            break;
        struct vlan_hdr *vh = l3;

        if ((void *)(vh + 1) > data_end)
            goto redirect;
        proto = vh->encap_proto;
        l3 = vh + 1;
    }
    /* a third tag: more than the parser takes (too_many_vlans), never the kernel's */
    if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD))
        goto redirect;
    if (proto == bpf_htons(ETH_P_ARP))
        return count(st, XP_KC_PASS_ARP_ND, XDP_PASS);
    if (proto != bpf_htons(ETH_P_IP) && proto != bpf_htons(ETH_P_IPV6)) {
        if (non_ip_drop)
            return count(st, XP_KC_DROP_NON_IP, XDP_DROP);
        return count(st, XP_KC_PASS_NON_IP, XDP_PASS);
    }

    if (gateway_mode) {
        if (port != police_port)
            return count(st, XP_KC_PASS_NOT_TUNNEL, XDP_PASS);
        if (is_tunnel(l3, data_end, proto) && to_us(eth))
            goto redirect;
        if (proto == bpf_htons(ETH_P_IPV6)) {
            struct ipv6hdr *ip6 = l3;

            /* the link's control traffic is the kernel's, never forwarded */
            if ((void *)(ip6 + 1) <= data_end && link_control(ip6, data_end))
                return count(st, XP_KC_PASS_ARP_ND, XDP_PASS);
        }
        if (would_forward(ctx, l3, data_end, proto))
            return count(st, XP_KC_DROP_UNTUNNELLED, XDP_DROP);
        return count(st, XP_KC_PASS_NOT_TUNNEL, XDP_PASS);
    }

    if (proto == bpf_htons(ETH_P_IP)) {
        struct iphdr *iph = l3;

        if ((void *)(iph + 1) > data_end)
            goto redirect; /* malformed: userspace counts it by reason */
        if (mgmt_enabled) {
            __builtin_memset(&key, 0, sizeof(key));
            key.prefixlen = 128;
            key.addr[10] = 0xff;
            key.addr[11] = 0xff;
            __builtin_memcpy(&key.addr[12], &iph->daddr, 4);
            if (is_mgmt(&key))
                return count(st, XP_KC_PASS_MGMT, XDP_PASS);
        }
        if (port == police_port) {
            if (block_pairs && blocked4(iph->saddr, iph->daddr))
                return count(st, XP_KC_DROP_BLOCKED, XDP_DROP);
            if (block_manual) {
                struct xp_pair_key pk = {};

                pk.unit[10] = pk.unit[11] = 0xff;
                pk.dst[10] = pk.dst[11] = 0xff;
                __builtin_memcpy(&pk.unit[12], &iph->saddr, 4);
                __builtin_memcpy(&pk.dst[12], &iph->daddr, 4);
                if (manually_blocked(&pk))
                    return count(st, XP_KC_DROP_MANUAL, XDP_DROP);
            }
        }
    } else if (proto == bpf_htons(ETH_P_IPV6)) {
        struct ipv6hdr *ip6 = l3;

        if ((void *)(ip6 + 1) > data_end)
            goto redirect;
        if (link_control(ip6, data_end))
            return count(st, XP_KC_PASS_ARP_ND, XDP_PASS);
        if (mgmt_enabled) {
            key.prefixlen = 128;
            __builtin_memcpy(key.addr, &ip6->daddr, 16);
            if (is_mgmt(&key))
                return count(st, XP_KC_PASS_MGMT, XDP_PASS);
        }
        __u32 pairs = block_pairs, manual = block_manual;

        if (port == police_port && (pairs || manual)) {
            struct xp_pair_key pk = {};

            __builtin_memcpy(pk.unit, &ip6->saddr, 16);
            __builtin_memcpy(pk.dst, &ip6->daddr, 16);
#pragma unroll
            for (int i = 0; i < 16; i++) {
                if (i >= v6_unit_bytes)
                    pk.unit[i] = 0;
            }
            if (pairs && blocked_in(&blocks, &pk))
                return count(st, XP_KC_DROP_BLOCKED, XDP_DROP);
            if (manual && manually_blocked(&pk))
                return count(st, XP_KC_DROP_MANUAL, XDP_DROP);
        }
    }

redirect:
    slot = port * XP_MAX_QUEUES + ctx->rx_queue_index;
    /*
     * The flags argument is the action when the slot is empty: no socket is
     * bound on this queue, so the proxy is down or still starting.
     */
    if (fail_closed) {
        int act = bpf_redirect_map(&xsks, slot, XDP_DROP);

        return count(st, act == XDP_REDIRECT ? XP_KC_REDIRECT : XP_KC_DROP_NO_SOCKET, act);
    } else {
        int act = bpf_redirect_map(&xsks, slot, XDP_PASS);

        return count(st, act == XDP_REDIRECT ? XP_KC_REDIRECT : XP_KC_PASS_NO_SOCKET, act);
    }
}

char _license[] SEC("license") = "GPL";
