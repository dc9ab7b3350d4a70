// SPDX-License-Identifier: GPL-2.0-only
/*
 * xp-policer-bench: what one packet costs the policer, at a given number of
 * pairs, measured through the real code (bench/policer.sh runs it).
 *
 * The method is the one docs/policer.md has used since the first
 * measurements (XP_POLICER_BENCH): every pair is created first; a stream
 * of 2^20 keys drawn from them is replayed through xp_policer__packet()
 * (one at a time) and xp_policer__packet_burst() (bursts of 32 and 64),
 * the three modes interleaved run after run so that drift hits them alike;
 * ns/packet is the median of --runs. Three cases per population:
 *   steady      windows never restart (10 ns between packets);
 *   after_sync  every pair is collected (clean) before each run, so every
 *               packet puts its pair back on the dirty list;
 *   restart     the gaps are longer than T_T1: nearly every packet restarts
 *               its pair's window (and moves the destination's heap).
 *   idle        restart, and the sweep a worker runs (xp_policer__expire(),
 *               the whole table every T_T1 / 2): pairs idle past T_T1 leave
 *               the destination aggregate before their next packet, oldest
 *               window first, as in the proxy at a million pairs.
 * Keys: IPv4 unit i towards one of 50,000 destinations (i mod 50,000; --dsts
 * N for another count: a few destinations make each one's ts1 order large,
 * as a million cameras talking to a handful of cloud services do);
 * --keys zipf draws ranks with an approximate Zipf(1) law (rank = N^u for
 * uniform u), ranks shuffled over the pairs so the hot ones are scattered.
 *
 * Prints one JSON object on stdout. Nothing here is part of the test run.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "bench/util.h"
#include "src/policer/policer.h"

#define STREAM (1u << 20)
#define MAX_RUNS 31
#define MODES 3

enum bench_case { CASE_STEADY, CASE_AFTER_SYNC, CASE_RESTART, CASE_IDLE, N_CASES };

static const char *const case_name[N_CASES] = {"steady", "after_sync", "restart", "idle"};
static const unsigned burst_of[MODES] = {1, 32, 64};

struct bench_opts {
    uint32_t pairs;
    uint32_t dsts;
    bool zipf;
    unsigned runs;
    uint64_t packets; /* per run and mode */
    bool burst_only;  /* only bursts of 64 (a profiler sees the workers' path alone) */
};

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
    return xp_bench_rnd(&rng_state);
}

static double now_s(void)
{
    return xp_bench_now_ns() * 1e-9;
}

/* IPv4 unit 10.x.y.z (i) towards 192.0.x.y (d) */
static struct xp_policer_key key_of(uint32_t i, uint32_t d)
{
    struct xp_policer_key k;
    uint32_t s = htonl(0x0a000000U | i), t = htonl(0xc0000000U | d);

    xp_policer_key__build(&k, AF_INET, &s, &t, 64);
    return k;
}

/* Ranks 0..n-1, approximately Zipf(1): P(rank < x) ~ ln(x) / ln(n). */
static uint32_t zipf_rank(uint32_t n)
{
    double u = (rnd() >> 11) * (1.0 / 9007199254740992.0);
    uint32_t r = (uint32_t)pow((double)n, u);

    return r >= 1 && r <= n ? r - 1 : 0;
}

static struct xp_policer_key *make_stream(const struct bench_opts *o,
                                          const struct xp_policer_key *keys)
{
    struct xp_policer_key *stream = malloc(sizeof(*stream) * STREAM);
    uint32_t *perm = NULL;

    if (!stream)
        return NULL;
    if (o->zipf) {
        perm = malloc(sizeof(*perm) * o->pairs);
        if (!perm) {
            free(stream);
            return NULL;
        }
        for (uint32_t i = 0; i < o->pairs; i++)
            perm[i] = i;
        for (uint32_t i = o->pairs - 1; i > 0; i--) {
            uint32_t j = rnd() % (i + 1), x = perm[i];

            perm[i] = perm[j];
            perm[j] = x;
        }
    }
    for (uint32_t i = 0; i < STREAM; i++)
        stream[i] = keys[o->zipf ? perm[zipf_rank(o->pairs)] : rnd() % o->pairs];
    free(perm);
    return stream;
}

/* Expire the share of the table a worker sweeps in dt: pairs * dt / half (remainder kept). */
static unsigned sweep(struct xp_policer *pol, uint32_t pairs, uint64_t dt, uint64_t half,
                      uint64_t *acc, uint64_t t)
{
    *acc += (uint64_t)pairs * dt;
    if (*acc < half)
        return 0;
    {
        uint64_t n = *acc / half;

        *acc %= half;
        return xp_policer__expire(pol, t, n > pairs ? pairs : (uint32_t)n);
    }
}

/* ns/packet medians of one case: out[mode]. Returns 0 or -errno. */
static int run_case(const struct bench_opts *o, enum bench_case c,
                    const struct xp_policer_key *keys, const struct xp_policer_key *stream,
                    double out[MODES], size_t *bytes_per_pair)
{
    static struct xp_pair_record rec[4096];
    struct xp_policer_limits lim;
    struct xp_policer_config cfg = { .capacity = o->pairs, .hash_seed = 42 };
    struct xp_policer_event ev[64];
    enum xp_verdict v[64];
    double ns[MODES][MAX_RUNS];
    struct xp_dst_table *dst;
    struct xp_policer *pol;
    /* t per packet: 10 ns, or enough that a pair's next packet comes after T_T1 */
    uint64_t t = 1000000000000ULL, sink = 0;
    uint64_t step = c >= CASE_RESTART ? 2 * (1000000000ULL / o->pairs + 1) * 2 : 10;
    /* the worker's sweep: the whole table every T_T1 / 2 (pipeline.c) */
    uint64_t half = XP_POLICER_DEF_T_T1_NS / 2, swept = 0;

    xp_policer_limits__init(&lim);
    cfg.limits = lim;
    dst = xp_dst_table__create(1 << 16, 1);
    if (!dst)
        return -errno;
    pol = xp_policer__create(&cfg, dst);
    if (!pol) {
        int err = -errno;

        xp_dst_table__destroy(dst);
        return err;
    }
    /* create every pair first, so that the timed loops measure lookups and updates */
    for (uint32_t i = 0; i < o->pairs; i++)
        sink += xp_policer__packet(pol, &keys[i], t++, NULL);
    for (unsigned r = 0; r < o->runs; r++) {
        for (unsigned m = 0; m < MODES; m++) {
            unsigned b = burst_of[m];
            uint64_t done = 0;
            double t0, t1;

            if (o->burst_only && b != 64) {
                ns[m][r] = 0;
                continue;
            }
            if (c == CASE_AFTER_SYNC)
                while (xp_policer__collect_dirty(pol, rec, 4096) == 4096)
                    ;
            t0 = now_s();
            if (b == 1) {
                for (; done < o->packets; done++) {
                    t += step;
                    sink += xp_policer__packet(pol, &stream[done & (STREAM - 1)], t, NULL);
                    if (c == CASE_IDLE)
                        sink += sweep(pol, o->pairs, step, half, &swept, t);
                }
            } else {
                for (; done < o->packets; done += b) {
                    t += step * b;
                    sink += xp_policer__packet_burst(pol, &stream[done & (STREAM - 1)], b, t,
                                                     v, ev);
                    sink += v[b - 1];
                    if (c == CASE_IDLE)
                        sink += sweep(pol, o->pairs, step * b, half, &swept, t);
                }
            }
            t1 = now_s();
            ns[m][r] = (t1 - t0) * 1e9 / done;
        }
    }
    for (unsigned m = 0; m < MODES; m++) {
        out[m] = xp_bench_median(ns[m], o->runs);
    }
    *bytes_per_pair = xp_policer__bytes_per_pair(pol);
    xp_policer__destroy(pol);
    xp_dst_table__destroy(dst);
    return (int)(sink & 0); /* keeps sink (and the loops) alive */
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: xp-policer-bench [--pairs N] [--dsts D] [--keys uniform|zipf] [--runs R]\n"
            "                        [--packets P] [--burst-only]\n"
            "  --pairs N     pairs in the table (default 1000000, at most 100000000)\n"
            "  --dsts D      destinations the pairs go to (default 50000, at most 65536)\n"
            "  --keys K      key draw: uniform (default) or zipf\n"
            "  --runs R      runs per case and mode, odd, the median is kept (default 5)\n"
            "  --packets P   packets per run and mode (default 1048576)\n"
            "  --burst-only  time only bursts of 64 (for a profiler)\n"
            "Prints one JSON object: pairs, keys, ns_per_packet (bursts of 64), bytes_per_pair,\n"
            "and per case (steady, after_sync, restart, idle) packet(), burst 32 and burst 64 ns.\n");
}

static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end;
    unsigned long long v;

    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v < min || v > max)
        return -EINVAL;
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option lopts[] = {
        {"pairs", required_argument, NULL, 'n'}, {"keys", required_argument, NULL, 'k'},
        {"dsts", required_argument, NULL, 'd'},
        {"runs", required_argument, NULL, 'r'},  {"packets", required_argument, NULL, 'p'},
        {"burst-only", no_argument, NULL, 'b'},  {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct bench_opts o = { .pairs = 1000000, .dsts = 50000, .runs = 5, .packets = STREAM };
    struct xp_policer_key *keys, *stream;
    double ns[N_CASES][MODES];
    size_t bpp = 0;
    uint64_t v;
    int opt;

    while ((opt = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
        switch (opt) {
        case 'n':
            if (parse_u64(optarg, 1, 100000000, &v))
                goto bad;
            o.pairs = (uint32_t)v;
            break;
        case 'd':
            /* the bench's dst table has 65,536 entries */
            if (parse_u64(optarg, 1, 65536, &v))
                goto bad;
            o.dsts = (uint32_t)v;
            break;
        case 'k':
            if (strcmp(optarg, "uniform") && strcmp(optarg, "zipf"))
                goto bad;
            o.zipf = !strcmp(optarg, "zipf");
            break;
        case 'r':
            if (parse_u64(optarg, 1, MAX_RUNS, &v) || v % 2 == 0)
                goto bad;
            o.runs = (unsigned)v;
            break;
        case 'p':
            if (parse_u64(optarg, 64, 1ULL << 32, &v))
                goto bad;
            o.packets = v;
            break;
        case 'b':
            o.burst_only = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            goto bad;
        }
    }
    if (optind != argc)
        goto bad;

    keys = malloc(sizeof(*keys) * o.pairs);
    if (!keys) {
        fprintf(stderr, "xp-policer-bench: out of memory for %u keys\n", o.pairs);
        return 3;
    }
    for (uint32_t i = 0; i < o.pairs; i++)
        keys[i] = key_of(i, i % o.dsts);
    stream = make_stream(&o, keys);
    if (!stream) {
        fprintf(stderr, "xp-policer-bench: out of memory for the key stream\n");
        free(keys);
        return 3;
    }
    for (unsigned c = 0; c < N_CASES; c++) {
        int err = run_case(&o, c, keys, stream, ns[c], &bpp);

        if (err) {
            fprintf(stderr, "xp-policer-bench: %u pairs: %s\n", o.pairs, strerror(-err));
            free(stream);
            free(keys);
            return 3;
        }
    }
    printf("{\"pairs\":%u,\"dsts\":%u,\"keys\":\"%s\",\"ns_per_packet\":%.1f,\"bytes_per_pair\":%zu,"
           "\"runs\":%u,\"packets_per_run\":%llu",
           o.pairs, o.dsts, o.zipf ? "zipf" : "uniform", ns[CASE_STEADY][2], bpp, o.runs,
           (unsigned long long)o.packets);
    for (unsigned c = 0; c < N_CASES; c++)
        printf(",\"%s\":{\"ns_per_packet\":%.1f,\"packet\":%.1f,\"burst32\":%.1f,\"burst64\":%.1f}",
               case_name[c], ns[c][2], ns[c][0], ns[c][1], ns[c][2]);
    printf("}\n");
    free(stream);
    free(keys);
    return 0;

bad:
    usage(stderr);
    return 2;
}
