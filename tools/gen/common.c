// SPDX-License-Identifier: GPL-2.0-only
/*
 * What xpro-gen's subcommands share: number and MAC parsing (options and scenario lines),
 * the clocks, the stop flag, the per-second buckets that send and sink print, and the
 * --out CSV files.
 */
#include <errno.h>
#include <math.h>
#include <net/if.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "src/util/log.h"
#include "tools/gen/gen.h"

int xp_gen_parse_num(const char *s, double lo, double hi, double *out)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi))
        return -EINVAL;
    *out = v;
    return 0;
}

int xp_gen_parse_mac(const char *s, uint8_t mac[6])
{
    unsigned b[6];

    if (sscanf(s, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6)
        return -EINVAL;
    for (int i = 0; i < 6; i++) {
        if (b[i] > 255)
            return -EINVAL;
        mac[i] = (uint8_t)b[i];
    }
    return 0;
}

double xp_gen_now(clockid_t clk)
{
    struct timespec ts;

    clock_gettime(clk, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void xp_gen_sleep(double s)
{
    struct timespec ts;

    if (s <= 0)
        return;
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
    nanosleep(&ts, NULL);
}

/* Written by a signal handler on the only thread: volatile sig_atomic_t is what C asks for
 * here (STYLE's rule against volatile is about flags shared between threads). */
static volatile sig_atomic_t gen_stop;

static void on_signal(int sig)
{
    (void)sig;
    gen_stop = 1;
}

void xp_gen_catch_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

bool xp_gen_stopping(void)
{
    return gen_stop;
}

unsigned xp_gen_ifindex(const char *ifname)
{
    unsigned ifindex = if_nametoindex(ifname);

    if (!ifindex)
        pr_err("%s: no such interface", ifname);
    return ifindex;
}

void xp_gen_seconds__init(struct xp_gen_seconds *s, double duration)
{
    memset(s, 0, sizeof(*s));
    s->n = (unsigned)ceil(duration) + 2;
}

void xp_gen_seconds__start(struct xp_gen_seconds *s, double wall0)
{
    s->t0 = (long)floor(wall0);
}

unsigned xp_gen_seconds__index(const struct xp_gen_seconds *s, double since_t0)
{
    unsigned sec = (unsigned)since_t0;

    return sec >= s->n ? s->n - 1 : sec;
}

void xp_gen_seconds__print_until(struct xp_gen_seconds *s, unsigned sec,
                                 void (*print)(const void *ctx, long t, unsigned sec),
                                 const void *ctx)
{
    for (; s->done < sec && s->done < s->n; s->done++)
        print(ctx, s->t0 + (long)s->done, s->done);
}

void xp_gen_seconds__finish(struct xp_gen_seconds *s,
                            void (*print)(const void *ctx, long t, unsigned sec),
                            const void *ctx)
{
    double since_t0 = xp_gen_now(CLOCK_REALTIME) - (double)s->t0;

    xp_gen_seconds__print_until(s, xp_gen_seconds__index(s, since_t0) + 1, print, ctx);
}

FILE *xp_gen_csv__open(const char *path, const char *header)
{
    FILE *f = fopen(path, "w");

    if (!f) {
        pr_err("%s: %s", path, strerror(errno));
        return NULL;
    }
    fputs(header, f);
    return f;
}

int xp_gen_csv__close(FILE *f, const char *path)
{
    int ret = 0;

    if (fclose(f)) {
        ret = -errno;
        pr_err("%s: %s", path, strerror(errno));
    }
    return ret;
}

int xp_gen_csv__write_seconds(const char *path, const char *header,
                              const struct xp_gen_seconds *secs, unsigned n,
                              void (*row)(const void *ctx, FILE *f, long t, unsigned sec,
                                          unsigned i),
                              const void *ctx)
{
    FILE *f = xp_gen_csv__open(path, header);

    if (!f)
        return -EIO;
    for (unsigned sec = 0; sec < secs->done; sec++)
        for (unsigned i = 0; i < n; i++)
            row(ctx, f, secs->t0 + (long)sec, sec, i);
    return xp_gen_csv__close(f, path);
}
