// SPDX-License-Identifier: GPL-2.0-only
#include "util.h"

#include <errno.h>
#include <math.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>

#include "xp_build_config.h"
#include <unistd.h>

#include "src/util/log.h"

static atomic_bool stop_flag;

uint64_t xp_bench_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t xp_bench_rnd(uint64_t *state)
{
    uint64_t x = *state;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 2685821657736338717ULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

double xp_bench_median(double *v, unsigned n)
{
    qsort(v, n, sizeof(*v), cmp_double);
    return v[n / 2];
}

int xp_bench_parse_mac(const char *s, uint8_t mac[6])
{
    unsigned v[6];
    char tail;

    if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) != 6)
        return -EINVAL;
    for (int i = 0; i < 6; i++) {
        if (v[i] > 0xff)
            return -EINVAL;
        mac[i] = v[i];
    }
    return 0;
}

int xp_bench_if_mac(const char *ifname, uint8_t mac[6])
{
    struct ifreq ifr;
    int fd, ret = 0;

    if (strlen(ifname) >= sizeof(ifr.ifr_name))
        return -EINVAL;
    fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    memset(&ifr, 0, sizeof(ifr));
    memcpy(ifr.ifr_name, ifname, strlen(ifname));
    if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
        ret = -errno;
    else
        memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
    close(fd);
    return ret;
}

int xp_bench_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
    unsigned long long v;
    char *end;

    errno = 0;
    v = strtoull(s, &end, 0);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v < min || v > max)
        return -EINVAL;
    *out = (uint32_t)v;
    return 0;
}

int xp_bench_parse_seconds(const char *s, double *out)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !isfinite(v) || v < 0)
        return -EINVAL;
    *out = v;
    return 0;
}

int xp_bench_pin_cpu(int cpu)
{
    cpu_set_t set;

    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof(set), &set) < 0)
        return -errno;
    return 0;
}

static void on_signal(int sig)
{
    (void)sig;
    atomic_store(&stop_flag, true);
}

void xp_bench_catch_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    /* No SA_RESTART: a blocked poll() or BPF_PROG_RUN returns with EINTR. */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int xp_bench_start(int cpu)
{
    if (cpu >= 0) {
        int ret = xp_bench_pin_cpu(cpu);

        if (ret) {
            pr_err("pin to CPU %d: %s", cpu, strerror(-ret));
            return ret;
        }
    }
    xp_bench_catch_signals();
    return 0;
}

bool xp_bench_stopping(void)
{
    return atomic_load(&stop_flag);
}

void xp_bench_print_version(const char *prog)
{
    printf("%s %s\n", prog, XP_VERSION);
}
