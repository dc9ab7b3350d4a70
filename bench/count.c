// SPDX-License-Identifier: GPL-2.0-only
/*
 * xp-bench-count: attach count_drop.bpf.c to an interface and measure the
 * rate it counts, in timed windows.
 *
 * Sequence: attach (a bpf_link, so the program goes away with the process),
 * print "attached" on stderr, wait until the counter moves (--wait-traffic),
 * let --warmup seconds pass, then measure --windows windows of --seconds
 * each, back to back. Each window prints one JSON line on stdout:
 *   {"window": i, "packets": N, "bytes": N, "seconds": T, "mpps": X}
 * Exits 0 after the last window, 1 if no traffic came in time.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "count_drop.bpf.skel.h"
#include "log.h"
#include "util.h"

struct count_opts {
    const char *ifname;
    double wait_traffic;
    double warmup;
    double seconds;
    uint32_t windows;
    int cpu;
};

static const struct count_opts defaults_count = {
    .wait_traffic = 15,
    .warmup = 1,
    .seconds = 5,
    .windows = 1,
    .cpu = -1,
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: xp-bench-count --ifname IF [options]\n"
            "  --wait-traffic S  give up if nothing arrives within S seconds (default %.0f)\n"
            "  --warmup S        seconds between the first packet and the first window (default %.0f)\n"
            "  --seconds S       length of a window (default %.0f)\n"
            "  --windows N       number of windows (default %u)\n"
            "  --cpu N           pin this process (it only sleeps and reads the map)\n"
            "  -h, --help, -V, --version\n",
            defaults_count.wait_traffic, defaults_count.warmup, defaults_count.seconds,
            defaults_count.windows);
}

static int parse_args(int argc, char **argv, struct count_opts *o)
{
    static const struct option longopts[] = {
        {"ifname", required_argument, NULL, 'i'},  {"wait-traffic", required_argument, NULL, 'w'},
        {"warmup", required_argument, NULL, 'W'},  {"seconds", required_argument, NULL, 't'},
        {"windows", required_argument, NULL, 'n'}, {"cpu", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},          {NULL, 0, NULL, 0},
    };
    uint32_t v;
    int opt, ret = 0;

    *o = defaults_count;
    while ((opt = getopt_long(argc, argv, "hV", longopts, NULL)) != -1) {
        switch (opt) {
        case 'i': o->ifname = optarg; break;
        case 'w': ret = xp_bench_parse_seconds(optarg, &o->wait_traffic); break;
        case 'W': ret = xp_bench_parse_seconds(optarg, &o->warmup); break;
        case 't': ret = xp_bench_parse_seconds(optarg, &o->seconds); break;
        case 'n': ret = xp_bench_parse_u32(optarg, 1, 10000, &o->windows); break;
        case 'c':
            ret = xp_bench_parse_u32(optarg, 0, 4095, &v);
            o->cpu = (int)v;
            break;
        case 'h': usage(stdout); exit(XP_BENCH_EXIT_OK);
        case 'V': xp_bench_print_version("xp-bench-count"); exit(XP_BENCH_EXIT_OK);
        default: return -EINVAL;
        }
        if (ret) {
            pr_err("bad option value '%s'", optarg);
            return ret;
        }
    }
    if (!o->ifname) {
        pr_err("--ifname is required");
        return -EINVAL;
    }
    if (o->seconds <= 0) {
        pr_err("--seconds must be > 0");
        return -EINVAL;
    }
    return 0;
}

/* Sum the per-CPU records. */
static int read_count(int map_fd, int ncpus, struct xp_count_rec *vals, struct xp_count_rec *sum)
{
    __u32 key = 0;

    if (bpf_map_lookup_elem(map_fd, &key, vals) < 0)
        return -errno;
    memset(sum, 0, sizeof(*sum));
    for (int i = 0; i < ncpus; i++) {
        sum->packets += vals[i].packets;
        sum->bytes += vals[i].bytes;
    }
    return 0;
}

static void sleep_until(uint64_t t_ns)
{
    struct timespec ts = {
        .tv_sec = t_ns / 1000000000ull,
        .tv_nsec = t_ns % 1000000000ull,
    };

    while (!xp_bench_stopping() &&
           clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

static int run(const struct count_opts *o)
{
    struct xp_count_rec *vals = NULL, first, a, b;
    struct count_drop_bpf *skel;
    struct bpf_link *link;
    uint64_t t0, ta, tb, deadline;
    unsigned ifindex;
    int ret, ncpus, map_fd;

    ifindex = if_nametoindex(o->ifname);
    if (!ifindex) {
        pr_err("if_nametoindex(%s): %s", o->ifname, strerror(errno));
        return -ENODEV;
    }
    ncpus = libbpf_num_possible_cpus();
    if (ncpus < 1) {
        pr_err("libbpf_num_possible_cpus: %s", strerror(-ncpus));
        return ncpus;
    }
    vals = calloc(ncpus, sizeof(*vals));
    if (!vals)
        return -ENOMEM;
    skel = count_drop_bpf__open_and_load();
    if (!skel) {
        ret = -errno;
        pr_err("count_drop_bpf__open_and_load: %s", strerror(errno));
        goto out_free;
    }
    link = bpf_program__attach_xdp(skel->progs.xp_count_drop, ifindex);
    if (!link) {
        ret = -errno;
        pr_err("attach XDP to %s: %s", o->ifname, strerror(errno));
        goto out_destroy;
    }
    map_fd = bpf_map__fd(skel->maps.xp_count);
    fprintf(stderr, "attached %s\n", o->ifname);

    ret = read_count(map_fd, ncpus, vals, &first);
    if (ret)
        goto out_detach;
    t0 = xp_bench_now_ns();
    deadline = t0 + (uint64_t)(o->wait_traffic * 1e9);
    for (;;) {
        ret = read_count(map_fd, ncpus, vals, &a);
        if (ret)
            goto out_detach;
        if (a.packets != first.packets)
            break;
        if (xp_bench_stopping() || xp_bench_now_ns() > deadline) {
            pr_err("no traffic on %s within %.1f s", o->ifname, o->wait_traffic);
            ret = -ETIMEDOUT;
            goto out_detach;
        }
        usleep(10000);
    }
    sleep_until(xp_bench_now_ns() + (uint64_t)(o->warmup * 1e9));

    ret = read_count(map_fd, ncpus, vals, &a);
    ta = xp_bench_now_ns();
    for (uint32_t w = 0; !ret && w < o->windows && !xp_bench_stopping(); w++) {
        sleep_until(ta + (uint64_t)(o->seconds * 1e9));
        ret = read_count(map_fd, ncpus, vals, &b);
        tb = xp_bench_now_ns();
        if (ret)
            break;
        printf("{\"window\": %u, \"packets\": %llu, \"bytes\": %llu, \"seconds\": %.4f, "
               "\"mpps\": %.4f}\n",
               w, (unsigned long long)(b.packets - a.packets),
               (unsigned long long)(b.bytes - a.bytes), (tb - ta) / 1e9,
               (b.packets - a.packets) * 1e3 / (double)(tb - ta));
        fflush(stdout);
        a = b;
        ta = tb;
    }
    if (ret)
        pr_err("read counter map: %s", strerror(-ret));

out_detach:
    bpf_link__destroy(link);
out_destroy:
    count_drop_bpf__destroy(skel);
out_free:
    free(vals);
    return ret;
}

int main(int argc, char **argv)
{
    struct count_opts o;
    int ret;

    xp_log_set_thread_name("count");
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
