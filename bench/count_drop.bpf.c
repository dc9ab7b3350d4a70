// SPDX-License-Identifier: GPL-2.0-only
/*
 * Count and drop. Serves as the sink behind every contender (on s0) and as
 * the XDP_DROP ceiling (on d0): the forwarded rate of each contender is read
 * from this one counter, the same way for all.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "bench/bench.h"

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct xp_count_rec);
} xp_count SEC(".maps");

SEC("xdp")
int xp_count_drop(struct xdp_md *ctx)
{
    __u32 key = 0;
    struct xp_count_rec *rec = bpf_map_lookup_elem(&xp_count, &key);

    if (rec) {
        rec->packets++;
        rec->bytes += ctx->data_end - ctx->data;
    }
    return XDP_DROP;
}

char _license[] SEC("license") = "GPL";
