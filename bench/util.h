/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Small helpers shared by the bench tools (private to bench/).
 */
#ifndef XP_BENCH_UTIL_H
#define XP_BENCH_UTIL_H

#include <stdbool.h>
#include <stdint.h>

/* Exit codes of the bench tools (as in the proxy's contract where they overlap). */
enum xp_bench_exit {
    XP_BENCH_EXIT_OK = 0,
    XP_BENCH_EXIT_FAIL = 1,
    XP_BENCH_EXIT_FAIL_OPTION = 2,
    XP_BENCH_EXIT_FAIL_BPF = 3,
    XP_BENCH_EXIT_FAIL_MEM = 4,
    XP_BENCH_EXIT_FAIL_IFACE = 5,
};

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t xp_bench_now_ns(void);

/* Next value of a xorshift64* generator (*state: any non-zero seed): fast, to scatter keys. */
uint64_t xp_bench_rnd(uint64_t *state);

/* The median of n (odd) values; sorts v. */
double xp_bench_median(double *v, unsigned n);

/* Parse "aa:bb:cc:dd:ee:ff"; returns 0 or -EINVAL. */
int xp_bench_parse_mac(const char *s, uint8_t mac[6]);

/* Read an interface's MAC through SIOCGIFHWADDR; returns 0 or -errno. */
int xp_bench_if_mac(const char *ifname, uint8_t mac[6]);

/* Parse an unsigned decimal in [min, max]; returns 0 or -EINVAL. */
int xp_bench_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out);

/* Parse a non-negative number of seconds (fractions allowed); 0 or -EINVAL. */
int xp_bench_parse_seconds(const char *s, double *out);

/* Pin the calling thread to one CPU; returns 0 or -errno. */
int xp_bench_pin_cpu(int cpu);

/* "PROG VERSION" on stdout, for --version. */
void xp_bench_print_version(const char *prog);

/* Install SIGINT/SIGTERM handlers that set the stop flag. */
void xp_bench_catch_signals(void);

/*
 * The common start of every bench tool: pin to cpu (if >= 0, logging a
 * failure) and catch SIGINT/SIGTERM. 0 or -errno.
 */
int xp_bench_start(int cpu);
bool xp_bench_stopping(void);

#endif /* XP_BENCH_UTIL_H */
