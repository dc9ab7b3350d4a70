// SPDX-License-Identifier: GPL-2.0-only
/*
 * The minimal forwarder's XDP program: every frame goes to the AF_XDP socket
 * of the port it arrived on, nothing is parsed. One object is attached to
 * both ports; the ingress ifindex picks the XSKMAP slot. Frames with no
 * socket bound fall back to the stack (XDP_PASS).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "bench/bench.h"

/* Set by the loader before load: the second port's ifindex. */
const volatile __u32 xp_port1_ifindex = 0;

struct {
    __uint(type, BPF_MAP_TYPE_XSKMAP);
    __uint(max_entries, XP_MINFWD_PORTS);
    __type(key, __u32);
    __type(value, __u32);
} xp_minfwd_xsks SEC(".maps");

SEC("xdp")
int xp_minfwd_redirect(struct xdp_md *ctx)
{
    __u32 port = ctx->ingress_ifindex == xp_port1_ifindex;

    return bpf_redirect_map(&xp_minfwd_xsks, port, XDP_PASS);
}

char _license[] SEC("license") = "GPL";
