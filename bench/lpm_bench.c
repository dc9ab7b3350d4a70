// SPDX-License-Identifier: GPL-2.0-only
/*
 * xp-lpm-bench: what classifying a packet's addresses costs with
 * src/util/lpm.c at a given number of prefixes (bench/lpm.sh runs it).
 *
 * Prefixes: 70 % IPv4 (/16 2 %, /20 8 %, /22 10 %, /24 40 %, /28 20 %, /32
 * 20 %) and 30 % IPv6 (/32 to /64). --population random (the default) puts
 * them anywhere in the address space, the worst case for the trie: few
 * prefixes share a level, and an IPv6 /64 is seven levels deep. --population
 * isp puts them where one ISP's are: IPv4 inside 16 random /12 blocks, IPv6
 * inside one /32 (customer /48 to /64). Spread over the layers of a source table (3 layers: unit prefixes,
 * allowlist, unit groups) and a destination table (2 layers: allowlist,
 * destination groups). Addresses: 2^20 drawn from the prefixes (a random
 * prefix, random host bits), so that most lookups end below the root.
 *
 * Cases, interleaved run after run, median of --runs:
 *   single       xp_lpm__lookup() on the source address
 *   burst        xp_lpm__lookup_burst() in bursts of 64, source addresses
 *   classify     a packet's whole classification: the source table and the
 *                destination table, each a burst of 64, plus reading the
 *                classes' answers (what the pipeline does per packet)
 *   scan_256     for scale: the linear scan the pipeline did before, over
 *                min(N, 256) prefixes (its limit), same addresses
 *
 * Prints one JSON object on stdout. Not part of the test run.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/util.h"
#include "src/parse/parse.h"
#include "src/util/lpm.h"

#define STREAM (1u << 20)
#define BURST 64
#define MAX_RUNS 31
#define SCAN_MAX 256

enum { C_SINGLE, C_BURST, C_CLASSIFY, C_SCAN, N_CASES };
static const char *const case_name[N_CASES] = {"single", "burst", "classify", "scan_256"};

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
    return xp_bench_rnd(&rng_state);
}

static double now_s(void)
{
    return xp_bench_now_ns() * 1e-9;
}

struct pfx {
    uint8_t addr[16];
    unsigned len;
};

static bool isp;                  /* --population isp */
static uint32_t isp_v4_blocks[16]; /* its /12 blocks */

static void random_prefix(struct pfx *p)
{
    static const unsigned v4_len[] = {16, 20, 20, 20, 20, 22, 22, 22, 22, 22, 24, 24, 24, 24, 24,
                                      24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24,
                                      24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24,
                                      24, 24, 24, 24, 24, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28,
                                      28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 32, 32, 32, 32, 32,
                                      32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32};
    uint64_t r = rnd();

    memset(p, 0, sizeof(*p));
    if (r % 10 < 7) {
        uint32_t v4 = (uint32_t)rnd();

        if (isp)
            v4 = isp_v4_blocks[rnd() % 16] | (v4 & 0x000fffffU);
        p->addr[10] = p->addr[11] = 0xff;
        memcpy(p->addr + 12, &v4, 4);
        p->len = 96 + v4_len[(r >> 8) % (sizeof(v4_len) / sizeof(v4_len[0]))];
    } else {
        for (unsigned i = 0; i < 8; i++)
            p->addr[i] = (uint8_t)rnd();
        p->addr[0] = 0x20 | (p->addr[0] & 0x0f); /* 2000::/4, global unicast */
        p->len = 32 + 8 * (unsigned)((r >> 8) % 5);
        if (isp) { /* 2001:db8::/32: its customers' /48 to /64 */
            memcpy(p->addr, "\x20\x01\x0d\xb8", 4);
            p->len = 48 + 8 * (unsigned)((r >> 8) % 3);
        }
    }
    for (unsigned b = p->len; b < 128; b++)
        p->addr[b / 8] &= (uint8_t)~(0x80 >> (b % 8));
}

/* An address inside p (random host bits). */
static void inside(const struct pfx *p, uint8_t out[16])
{
    memcpy(out, p->addr, 16);
    for (unsigned b = p->len; b < 128; b++)
        if (rnd() & 1)
            out[b / 8] |= (uint8_t)(0x80 >> (b % 8));
}

static struct xp_lpm *build(const struct pfx *p, unsigned n, unsigned layers)
{
    struct xp_lpm_builder *b = xp_lpm_builder__new(layers);
    struct xp_lpm *t;

    if (!b)
        return NULL;
    for (unsigned i = 0; i < n; i++) {
        int ret = xp_lpm_builder__add(b, i % layers, p[i].addr, p[i].len, i);

        if (ret < 0 && ret != -EEXIST) {
            fprintf(stderr, "lpm add: %s\n", strerror(-ret));
            xp_lpm_builder__free(b);
            return NULL;
        }
    }
    t = xp_lpm_builder__build(b);
    xp_lpm_builder__free(b);
    return t;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"prefixes", required_argument, NULL, 'p'},
        {"runs", required_argument, NULL, 'r'},
        {"population", required_argument, NULL, 'P'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    unsigned n = 100000, runs = 5;
    struct pfx *ps, *pd;
    uint8_t(*src)[16], (*dst)[16];
    const uint8_t **sp, **dp;
    uint32_t *cls, *cls2;
    struct xp_lpm *ts, *td;
    struct xp_cidr *scan;
    double ns[N_CASES][MAX_RUNS], med[N_CASES], t0, build_s;
    volatile uint64_t sink = 0;
    int c;

    while ((c = getopt_long(argc, argv, "p:r:P:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'P':
            if (strcmp(optarg, "isp") && strcmp(optarg, "random")) {
                fprintf(stderr, "--population: random or isp\n");
                return 2;
            }
            isp = !strcmp(optarg, "isp");
            break;
        case 'p':
            n = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'r':
            runs = (unsigned)strtoul(optarg, NULL, 10);
            break;
        default:
            fprintf(stderr, "usage: xp-lpm-bench [--prefixes N] [--runs R] [--population P]\n"
                            "  --prefixes N  prefixes per table (default 100000, 1..500000)\n"
                            "  --population  random (default: anywhere) or isp (clustered)\n"
                            "  --runs R      runs per case, odd, median kept (default 5)\n"
                            "Prints one JSON object: prefixes, ns per lookup per case, bytes.\n");
            return c == 'h' ? 0 : 2;
        }
    }
    if (n == 0 || n > 500000 || runs == 0 || runs > MAX_RUNS || runs % 2 == 0) {
        fprintf(stderr, "--prefixes 1..500000, --runs odd 1..%d\n", MAX_RUNS);
        return 2;
    }
    ps = calloc(n, sizeof(*ps));
    pd = calloc(n, sizeof(*pd));
    src = malloc(sizeof(*src) * STREAM);
    dst = malloc(sizeof(*dst) * STREAM);
    sp = malloc(sizeof(*sp) * STREAM);
    dp = malloc(sizeof(*dp) * STREAM);
    cls = malloc(sizeof(*cls) * STREAM);
    cls2 = malloc(sizeof(*cls2) * STREAM);
    scan = calloc(SCAN_MAX, sizeof(*scan));
    if (!ps || !pd || !src || !dst || !sp || !dp || !cls || !cls2 || !scan) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    for (unsigned i = 0; i < 16; i++)
        isp_v4_blocks[i] = ((uint32_t)rnd() & 0xfff00000U) | 0x01000000U;
    for (unsigned i = 0; i < n; i++) {
        random_prefix(&ps[i]);
        random_prefix(&pd[i]);
    }
    for (unsigned i = 0; i < SCAN_MAX && i < n; i++) {
        memcpy(scan[i].addr, ps[i].addr, 16);
        for (unsigned b = 0; b < ps[i].len; b++)
            scan[i].mask[b / 8] |= (uint8_t)(0x80 >> (b % 8));
        scan[i].prefix_len = (uint8_t)ps[i].len;
    }
    t0 = now_s();
    ts = build(ps, n, 3);
    build_s = now_s() - t0;
    td = build(pd, n, 2);
    if (!ts || !td) {
        fprintf(stderr, "build failed: %s\n", strerror(errno));
        return 1;
    }
    for (unsigned i = 0; i < STREAM; i++) {
        inside(&ps[rnd() % n], src[i]);
        inside(&pd[rnd() % n], dst[i]);
        sp[i] = src[i];
        dp[i] = dst[i];
    }

    for (unsigned r = 0; r < runs; r++) {
        for (unsigned k = 0; k < N_CASES; k++) {
            unsigned m = k == C_SCAN ? STREAM / 16 : STREAM; /* the scan is slow */

            t0 = now_s();
            switch (k) {
            case C_SINGLE:
                for (unsigned i = 0; i < m; i++)
                    sink += xp_lpm__lookup(ts, src[i]);
                break;
            case C_BURST:
                for (unsigned i = 0; i < m; i += BURST)
                    xp_lpm__lookup_burst(ts, sp + i, cls + i, BURST);
                sink += cls[m - 1];
                break;
            case C_CLASSIFY:
                for (unsigned i = 0; i < m; i += BURST) {
                    xp_lpm__lookup_burst(ts, sp + i, cls + i, BURST);
                    xp_lpm__lookup_burst(td, dp + i, cls2 + i, BURST);
                    for (unsigned j = i; j < i + BURST; j++)
                        sink += xp_lpm__class(ts, cls[j])[0] + xp_lpm__class(ts, cls[j])[2] +
                                xp_lpm__class(td, cls2[j])[1];
                }
                break;
            case C_SCAN:
                for (unsigned i = 0; i < m; i++) {
                    for (unsigned j = 0; j < SCAN_MAX && j < n; j++) {
                        if (xp_cidr_match(&scan[j], src[i])) {
                            sink += j;
                            break;
                        }
                    }
                }
                break;
            }
            ns[k][r] = (now_s() - t0) * 1e9 / m;
        }
    }
    for (unsigned k = 0; k < N_CASES; k++) {
        med[k] = xp_bench_median(ns[k], runs);
    }
    printf("{\"prefixes\": %u, \"population\": \"%s\", \"runs\": %u", n,
           isp ? "isp" : "random", runs);
    for (unsigned k = 0; k < N_CASES; k++)
        printf(", \"%s_ns\": %.1f", case_name[k], med[k]);
    printf(", \"src_table\": {\"bytes\": %zu, \"classes\": %u, \"build_s\": %.3f}"
           ", \"dst_table\": {\"bytes\": %zu, \"classes\": %u}, \"sink\": %llu}\n",
           xp_lpm__bytes(ts), xp_lpm__n_classes(ts), build_s, xp_lpm__bytes(td),
           xp_lpm__n_classes(td), (unsigned long long)(sink & 1));
    xp_lpm__free(ts);
    xp_lpm__free(td);
    free(ps);
    free(pd);
    free(src);
    free(dst);
    free(sp);
    free(dp);
    free(cls);
    free(cls2);
    free(scan);
    return 0;
}
