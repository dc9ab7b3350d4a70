// SPDX-License-Identifier: GPL-2.0-only
/*
 * xp-bench-gen: the in-kernel traffic generator.
 *
 * Runs gen.bpf.c through BPF_PROG_RUN with BPF_F_TEST_XDP_LIVE_FRAMES: each
 * call sends `repeat` copies of one prepared 64-byte Ethernet/IPv4/UDP frame
 * out of --ifname (bpf_redirect), in batches of `batch`. Calls repeat until
 * --seconds have passed or --max-calls is reached (both bound the loop).
 *
 * Every call puts the program into the kernel's XDP dispatcher and takes it
 * out again, each a synchronize_rcu(): about 25 ms here, during which the
 * generator sleeps. With short calls (2^18 frames, ~12 ms at 20 Mpps) it
 * sent in bursts and was idle two thirds of the time, which capped whatever
 * it fed. So by default each call is sized from the previous call's rate to
 * last --call-ms (and never past --seconds); --repeat fixes the size.
 * Must run in the namespace that owns --ifname; pin it with --cpu: that CPU
 * also runs the receive softirq of the veth peer (see docs/platform.md).
 *
 * Prints one JSON object on stdout at the end: calls, frames, seconds, mpps.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <getopt.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen.bpf.skel.h"
#include "log.h"
#include "util.h"

#define XP_GEN_FRAME_MAX 1514
/* Adaptive call size: the first call's frames, and the bounds after it. */
#define XP_GEN_FIRST_CALL (1u << 18)
#define XP_GEN_CALL_MIN (1u << 16)
#define XP_GEN_CALL_MAX (1u << 30)
#define XP_GEN_FRAME_MIN (sizeof(struct ethhdr) + sizeof(struct iphdr) + sizeof(struct udphdr))

struct gen_opts {
    const char *ifname;
    const char *dst_mac;
    const char *src_mac;
    const char *src_ip;
    const char *dst_ip;
    uint32_t units;
    uint32_t ports;
    uint32_t dsts;
    uint32_t sport;
    uint32_t dport;
    uint32_t size;
    uint32_t repeat;  /* 0: sized to call_ms */
    uint32_t call_ms;
    uint32_t batch;
    uint32_t max_calls;
    int cpu;
    double seconds;
};

static const struct gen_opts defaults_gen = {
    .src_ip = "198.18.1.1",
    .dst_ip = "198.19.0.1",
    .units = 1,
    .ports = 1,
    .dsts = 1,
    .sport = 10000,
    .dport = 9,
    .size = 64,
    .repeat = 0,
    .call_ms = 500,
    .batch = 64,
    .max_calls = 1000000,
    .cpu = -1,
    .seconds = 10,
};

/* Frames for the next call: the last call's rate (its RCU wait included) times
 * call_ms, but not past the time left, within [XP_GEN_CALL_MIN, XP_GEN_CALL_MAX]. */
static uint32_t next_repeat(uint32_t last, uint64_t last_ns, uint32_t call_ms, uint64_t left_ns)
{
    uint64_t want_ns = (uint64_t)call_ms * 1000000u;
    double n;

    if (left_ns < want_ns)
        want_ns = left_ns;
    n = (double)last / (double)(last_ns ? last_ns : 1) * (double)want_ns;
    if (n < XP_GEN_CALL_MIN)
        return XP_GEN_CALL_MIN;
    if (n > XP_GEN_CALL_MAX)
        return XP_GEN_CALL_MAX;
    return (uint32_t)n;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: xp-bench-gen --ifname IF --dst-mac MAC [options]\n"
            "  --src-mac MAC     source MAC (default: the interface's)\n"
            "  --src-ip A.B.C.D  first source address (default %s)\n"
            "  --dst-ip A.B.C.D  destination address (default %s)\n"
            "  --units K         source IP = src-ip + (i %% K) (default 1)\n"
            "  --ports P         source port = sport + (i / K) %% P (default 1)\n"
            "  --dsts D          destination IP = dst-ip + (i / K) %% D (default 1)\n"
            "  --sport N --dport N  UDP ports (default %u, %u)\n"
            "  --size N          frame length without FCS, >= 42 (default %u)\n"
            "  --seconds S       run time (default %.0f)\n"
            "  --call-ms N       size each BPF_PROG_RUN call to last N ms (default %u)\n"
            "  --repeat N        fixed frames per call instead (default: sized by --call-ms)\n"
            "  --batch N         live-frames batch size, 1..256 (default %u)\n"
            "  --max-calls N     bound on BPF_PROG_RUN calls (default %u)\n"
            "  --cpu N           pin to this CPU\n"
            "  -h, --help, -V, --version\n",
            defaults_gen.src_ip, defaults_gen.dst_ip, defaults_gen.sport, defaults_gen.dport,
            defaults_gen.size, defaults_gen.seconds, defaults_gen.call_ms, defaults_gen.batch,
            defaults_gen.max_calls);
}

static int parse_args(int argc, char **argv, struct gen_opts *o)
{
    static const struct option longopts[] = {
        {"ifname", required_argument, NULL, 'i'},   {"dst-mac", required_argument, NULL, 'D'},
        {"src-mac", required_argument, NULL, 'S'},  {"src-ip", required_argument, NULL, 's'},
        {"dst-ip", required_argument, NULL, 'd'},   {"units", required_argument, NULL, 'u'},
        {"ports", required_argument, NULL, 'p'},    {"sport", required_argument, NULL, 'P'},
        {"dport", required_argument, NULL, 'Q'},    {"size", required_argument, NULL, 'z'},
        {"seconds", required_argument, NULL, 't'},  {"repeat", required_argument, NULL, 'r'},
        {"call-ms", required_argument, NULL, 'C'},
        {"batch", required_argument, NULL, 'b'},    {"max-calls", required_argument, NULL, 'm'},
        {"cpu", required_argument, NULL, 'c'},      {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {"dsts", required_argument, NULL, 'T'},
        {NULL, 0, NULL, 0},
    };
    uint32_t v;
    int opt, ret = 0;

    *o = defaults_gen;
    while ((opt = getopt_long(argc, argv, "hV", longopts, NULL)) != -1) {
        switch (opt) {
        case 'i': o->ifname = optarg; break;
        case 'D': o->dst_mac = optarg; break;
        case 'S': o->src_mac = optarg; break;
        case 's': o->src_ip = optarg; break;
        case 'd': o->dst_ip = optarg; break;
        case 'u': ret = xp_bench_parse_u32(optarg, 1, 1u << 24, &o->units); break;
        case 'p': ret = xp_bench_parse_u32(optarg, 1, 65536, &o->ports); break;
        case 'T': ret = xp_bench_parse_u32(optarg, 1, 1u << 24, &o->dsts); break;
        case 'P': ret = xp_bench_parse_u32(optarg, 0, 65535, &o->sport); break;
        case 'Q': ret = xp_bench_parse_u32(optarg, 0, 65535, &o->dport); break;
        case 'z':
            ret = xp_bench_parse_u32(optarg, XP_GEN_FRAME_MIN, XP_GEN_FRAME_MAX, &o->size);
            break;
        case 't': ret = xp_bench_parse_seconds(optarg, &o->seconds); break;
        case 'r': ret = xp_bench_parse_u32(optarg, 1, UINT32_MAX, &o->repeat); break;
        case 'C': ret = xp_bench_parse_u32(optarg, 1, 10000, &o->call_ms); break;
        case 'b': ret = xp_bench_parse_u32(optarg, 1, 256, &o->batch); break;
        case 'm': ret = xp_bench_parse_u32(optarg, 1, UINT32_MAX, &o->max_calls); break;
        case 'c':
            ret = xp_bench_parse_u32(optarg, 0, 4095, &v);
            o->cpu = (int)v;
            break;
        case 'h': usage(stdout); exit(XP_BENCH_EXIT_OK);
        case 'V': xp_bench_print_version("xp-bench-gen"); exit(XP_BENCH_EXIT_OK);
        default: return -EINVAL;
        }
        if (ret) {
            pr_err("bad option value '%s'", optarg);
            return ret;
        }
    }
    if (!o->ifname || !o->dst_mac) {
        pr_err("--ifname and --dst-mac are required");
        return -EINVAL;
    }
    if ((uint64_t)o->sport + o->ports > 65536) {
        pr_err("--sport + --ports exceeds 65535");
        return -EINVAL;
    }
    return 0;
}

/*
 * Build the frame: Ethernet, IPv4 (checksum set), UDP (checksum 0), zero
 * payload. The headers are built in aligned locals and copied in: in the
 * frame the IPv4 header sits at offset 14, not 4-byte aligned, and its
 * 32-bit members may not be accessed there (UBSan: misaligned member access).
 */
static int build_frame(const struct gen_opts *o, uint8_t *buf)
{
    struct ethhdr eth = { 0 };
    struct iphdr iph = { 0 };
    struct udphdr udp = { 0 };
    struct in_addr src, dst;
    uint16_t w[sizeof(iph) / 2];
    uint32_t sum = 0;
    int ret;

    memset(buf, 0, o->size);
    ret = xp_bench_parse_mac(o->dst_mac, eth.h_dest);
    if (ret) {
        pr_err("bad --dst-mac '%s'", o->dst_mac);
        return ret;
    }
    if (o->src_mac)
        ret = xp_bench_parse_mac(o->src_mac, eth.h_source);
    else
        ret = xp_bench_if_mac(o->ifname, eth.h_source);
    if (ret) {
        pr_err("source MAC of %s: %s", o->ifname, strerror(-ret));
        return ret;
    }
    if (inet_pton(AF_INET, o->src_ip, &src) != 1 || inet_pton(AF_INET, o->dst_ip, &dst) != 1) {
        pr_err("bad --src-ip/--dst-ip");
        return -EINVAL;
    }
    if ((uint64_t)ntohl(src.s_addr) + o->units > UINT32_MAX + 1ull) {
        pr_err("--src-ip + --units overflows");
        return -EINVAL;
    }
    if ((uint64_t)ntohl(dst.s_addr) + o->dsts > UINT32_MAX + 1ull) {
        pr_err("--dst-ip + --dsts overflows");
        return -EINVAL;
    }
    eth.h_proto = htons(ETH_P_IP);
    iph.version = 4;
    iph.ihl = 5;
    iph.tot_len = htons(o->size - sizeof(eth));
    iph.ttl = 64;
    iph.protocol = IPPROTO_UDP;
    iph.saddr = src.s_addr;
    iph.daddr = dst.s_addr;
    memcpy(w, &iph, sizeof(w));
    for (unsigned i = 0; i < sizeof(w) / 2; i++)
        sum += w[i];
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    iph.check = (uint16_t)~sum;
    udp.source = htons(o->sport);
    udp.dest = htons(o->dport);
    udp.len = htons(o->size - sizeof(eth) - sizeof(iph));
    memcpy(buf, &eth, sizeof(eth));
    memcpy(buf + sizeof(eth), &iph, sizeof(iph));
    memcpy(buf + sizeof(eth) + sizeof(iph), &udp, sizeof(udp));
    return 0;
}

static int run(const struct gen_opts *o)
{
    uint8_t frame[XP_GEN_FRAME_MAX];
    struct gen_bpf *skel;
    struct in_addr src, dst;
    uint64_t t0, t1, deadline, calls = 0, frames = 0;
    uint32_t repeat = o->repeat ? o->repeat : XP_GEN_FIRST_CALL;
    unsigned ifindex;
    int ret, fd;

    ifindex = if_nametoindex(o->ifname);
    if (!ifindex) {
        pr_err("if_nametoindex(%s): %s", o->ifname, strerror(errno));
        return -ENODEV;
    }
    ret = build_frame(o, frame);
    if (ret)
        return ret;

    skel = gen_bpf__open();
    if (!skel) {
        ret = -errno;
        pr_err("gen_bpf__open: %s", strerror(errno));
        return ret;
    }
    inet_pton(AF_INET, o->src_ip, &src);
    inet_pton(AF_INET, o->dst_ip, &dst);
    skel->rodata->xp_out_ifindex = ifindex;
    skel->rodata->xp_units = o->units;
    skel->rodata->xp_ports = o->ports;
    skel->rodata->xp_src_ip_base = ntohl(src.s_addr);
    skel->rodata->xp_src_port_base = o->sport;
    skel->rodata->xp_dsts = o->dsts;
    skel->rodata->xp_dst_ip_base = ntohl(dst.s_addr);
    ret = gen_bpf__load(skel);
    if (ret) {
        pr_err("gen_bpf__load: %s", strerror(-ret));
        goto out_destroy;
    }
    fd = bpf_program__fd(skel->progs.xp_gen);

    t0 = xp_bench_now_ns();
    deadline = t0 + (uint64_t)(o->seconds * 1e9);
    for (uint64_t c0 = t0; c0 < deadline && !xp_bench_stopping() && calls < o->max_calls;) {
        uint64_t c1;
        LIBBPF_OPTS(bpf_test_run_opts, topts,
                    .data_in = frame,
                    .data_size_in = o->size,
                    .repeat = repeat,
                    .flags = BPF_F_TEST_XDP_LIVE_FRAMES,
                    .batch_size = o->batch);

        ret = bpf_prog_test_run_opts(fd, &topts);
        calls++;
        if (ret == -EINTR || (ret < 0 && errno == EINTR))
            break; /* a signal cut the call short: its frame count is unknown */
        if (ret < 0) {
            ret = -errno;
            pr_err("bpf_prog_test_run_opts: %s", strerror(errno));
            goto out_destroy;
        }
        frames += repeat;
        c1 = xp_bench_now_ns();
        if (!o->repeat && c1 < deadline)
            repeat = next_repeat(repeat, c1 - c0, o->call_ms, deadline - c1);
        c0 = c1;
    }
    t1 = xp_bench_now_ns();
    ret = 0;
    printf("{\"gen\": {\"ifname\": \"%s\", \"calls\": %llu, \"frames\": %llu, \"seconds\": %.3f, "
           "\"mpps\": %.3f, \"units\": %u, \"ports\": %u, \"dsts\": %u, \"size\": %u, \"batch\": %u}}\n",
           o->ifname, (unsigned long long)calls, (unsigned long long)frames, (t1 - t0) / 1e9,
           t1 > t0 ? frames * 1e3 / (double)(t1 - t0) : 0.0, o->units, o->ports, o->dsts, o->size,
           o->batch);
    fflush(stdout);

out_destroy:
    gen_bpf__destroy(skel);
    return ret;
}

int main(int argc, char **argv)
{
    struct gen_opts o;
    int ret;

    xp_log_set_thread_name("gen");
    xp_log_hook_libraries();
    if (parse_args(argc, argv, &o)) {
        usage(stderr);
        return XP_BENCH_EXIT_FAIL_OPTION;
    }
    if (xp_bench_start(o.cpu))
        return XP_BENCH_EXIT_FAIL;
    ret = run(&o);
    if (ret == -ENODEV)
        return XP_BENCH_EXIT_FAIL_IFACE;
    return ret ? XP_BENCH_EXIT_FAIL : XP_BENCH_EXIT_OK;
}
