// SPDX-License-Identifier: GPL-2.0-only
/*
 * The generator's XDP program, run by BPF_PROG_RUN with
 * BPF_F_TEST_XDP_LIVE_FRAMES: each run takes the prepared frame (Ethernet,
 * IPv4, UDP) and redirects it out of the sender's veth. With more than one
 * unit, port or destination it rewrites the source address, source port and
 * destination address per frame from a per-CPU sequence number:
 *   source IP   = base + (seq % units)
 *   source port = base + (seq / units) % ports
 *   dest IP     = base + (seq / units) % dsts
 * (units x dsts distinct (source, destination) pairs).
 * Live-frame pages keep what a previous run wrote, so the fields and the IP
 * checksum are rewritten in full every time, never patched.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* Set by the loader before load. */
const volatile __u32 xp_out_ifindex = 0;
const volatile __u32 xp_units = 1;
const volatile __u32 xp_ports = 1;
const volatile __u32 xp_src_ip_base = 0; /* host byte order */
const volatile __u32 xp_src_port_base = 0;
const volatile __u32 xp_dsts = 1;
const volatile __u32 xp_dst_ip_base = 0; /* host byte order */

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} xp_gen_seq SEC(".maps");

static __always_inline __u16 xp_ip_csum(const struct iphdr *iph)
{
    const __u16 *w = (const __u16 *)iph;
    __u32 sum = 0;

#pragma unroll
    for (int i = 0; i < (int)(sizeof(*iph) / 2); i++)
        if (i != 5) /* the checksum field itself */
            sum += w[i];
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return ~sum;
}

SEC("xdp")
int xp_gen(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct iphdr *iph = data + sizeof(struct ethhdr);
    struct udphdr *udp = (void *)(iph + 1);
    __u32 key = 0, seq;
    __u64 *cnt;

    if ((void *)(udp + 1) > data_end)
        return XDP_ABORTED;
    cnt = bpf_map_lookup_elem(&xp_gen_seq, &key);
    if (!cnt)
        return XDP_ABORTED;
    seq = (*cnt)++;
    if (xp_units > 1 || xp_ports > 1 || xp_dsts > 1) {
        iph->saddr = bpf_htonl(xp_src_ip_base + seq % xp_units);
        iph->daddr = bpf_htonl(xp_dst_ip_base + (seq / xp_units) % xp_dsts);
        iph->check = xp_ip_csum(iph);
        udp->source = bpf_htons(xp_src_port_base + (seq / xp_units) % xp_ports);
        udp->check = 0;
    }
    return bpf_redirect(xp_out_ifindex, 0);
}

char _license[] SEC("license") = "GPL";
