// SPDX-License-Identifier: GPL-2.0-only
/*
 * xp_ctl_echo: a control socket served by src/ctl with canned answers, for tests that need
 * a real socket (permissions, xpro-ctl end to end) without a running proxy.
 *
 *   xp_ctl_echo --socket PATH [--group GID|NAME] [--mode OCTAL] [--ready-file F]
 *               [--duration SEC] [--event-ms MS] [--stats-file FILE]
 *
 * Ops: stats (a small stats document), echo (returns the request), flows, block, unblock,
 * reload, events (followers get one event line every --event-ms, default 200).
 * Exits 0 on SIGINT/SIGTERM or after --duration, 1 if the socket cannot be served.
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "src/ctl/ctl.h"
#include "src/util/line_server.h"
#include "xp_build_config.h"

static volatile sig_atomic_t stop;
static json_t *stats_doc; /* --stats-file: served by "stats" instead of the canned one */

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static json_t *handler(void *ctx, const char *op, json_t *req, char *err, size_t errlen)
{
    (void)ctx;
    if (strcmp(op, "stats") == 0 && stats_doc)
        return json_incref(stats_doc);
    if (strcmp(op, "stats") == 0)
        return json_pack("{s:s,s:f,s:{s:I,s:I,s:I,s:f,s:f}}", "proxy_id", "echo", "ts",
                         (double)time(NULL), "totals", "rx_packets", (json_int_t)1,
                         "tx_packets", (json_int_t)1, "drop_packets", (json_int_t)0,
                         "rx_pps", 0.0, "tx_pps", 0.0);
    if (strcmp(op, "echo") == 0)
        return json_incref(req);
    if (strcmp(op, "flows") == 0)
        return json_pack("{s:[{s:s,s:s,s:i,s:s}]}", "flows", "unit", "198.18.0.2", "dst",
                         "198.18.0.254", "rate_pps", 100, "verdict", "forward");
    if (strcmp(op, "block") == 0 || strcmp(op, "unblock") == 0 || strcmp(op, "reload") == 0 ||
        strcmp(op, "events") == 0)
        return json_pack("{s:s,s:O}", "done", op, "request", req);
    snprintf(err, errlen, "no handler for %s", op);
    return NULL;
}

static const struct xp_ctl_op ops[] = {
    { "block", "block a pair", false },
    { "echo", "return the request", false },
    { "events", "the event stream", true },
    { "flows", "heaviest pairs", false },
    { "reload", "reload", false },
    { "stats", "the stats document", false },
    { "unblock", "unblock a pair", false },
    { NULL },
};

static const struct option long_opts[] = {
    { "socket", required_argument, NULL, 's' },
    { "group", required_argument, NULL, 'g' },
    { "mode", required_argument, NULL, 'm' },
    { "ready-file", required_argument, NULL, 'r' },
    { "duration", required_argument, NULL, 'd' },
    { "stats-file", required_argument, NULL, 'S' },
    { "event-ms", required_argument, NULL, 'e' },
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, 'V' },
    { NULL, 0, NULL, 0 },
};

static void usage(FILE *f)
{
    fprintf(f, "usage: xp_ctl_echo --socket PATH [--group GID|NAME] [--mode OCTAL]\n"
               "                   [--ready-file F] [--duration SEC] [--event-ms MS]\n"
               "                   [--stats-file FILE] | --help | --version\n");
}

int main(int argc, char **argv)
{
    struct xp_ctl_server_conf conf = { .gid = (gid_t)-1, .ops = ops, .handler = handler };
    const char *ready = NULL;
    double duration = 0, event_ms = 200;
    struct timespec t0, t, te;
    struct xp_ctl_server *srv;
    unsigned seq = 0;
    int c;

    while ((c = getopt_long(argc, argv, "hV", long_opts, NULL)) != -1) {
        switch (c) {
        case 's':
            conf.path = optarg;
            break;
        case 'g': {
            struct group *g = getgrnam(optarg);
            char *end;

            conf.gid = g ? g->gr_gid : (gid_t)strtoul(optarg, &end, 10);
            if (!g && *end) {
                fprintf(stderr, "xp_ctl_echo: --group %s: no such group\n", optarg);
                return 2;
            }
            break;
        }
        case 'm':
            conf.mode = (unsigned)strtoul(optarg, NULL, 8);
            break;
        case 'r':
            ready = optarg;
            break;
        case 'd':
            duration = atof(optarg);
            break;
        case 'S':
            stats_doc = json_load_file(optarg, 0, NULL);
            if (!stats_doc) {
                fprintf(stderr, "xp_ctl_echo: --stats-file %s: not JSON\n", optarg);
                return 2;
            }
            break;
        case 'e':
            event_ms = atof(optarg);
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("xp_ctl_echo %s\n", XP_VERSION);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!conf.path || optind != argc) {
        usage(stderr);
        return 2;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    srv = xp_ctl_server__create(&conf);
    if (!srv) {
        fprintf(stderr, "xp_ctl_echo: %s: %s\n", conf.path, strerror(errno));
        return 1;
    }
    if (ready) {
        FILE *f = fopen(ready, "w");

        if (f)
            fclose(f);
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    te = t0;
    while (!stop) {
        double el, since;

        xp_line_server__poll(xp_ctl_server__lines(srv), 50);
        clock_gettime(CLOCK_MONOTONIC, &t);
        el = (double)(t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9;
        since = ((double)(t.tv_sec - te.tv_sec) + (t.tv_nsec - te.tv_nsec) / 1e9) * 1000;
        if (since >= event_ms) {
            struct timespec now;
            char line[160];

            clock_gettime(CLOCK_REALTIME, &now);
            snprintf(line, sizeof(line), "{\"event\":\"block\",\"proxy_id\":\"echo\","
                     "\"unit\":\"198.18.0.2\",\"dst\":\"198.18.0.254\",\"time\":%ld.%03ld,"
                     "\"queue\":0,\"seq\":%u}", (long)now.tv_sec, now.tv_nsec / 1000000,
                     seq++);
            xp_ctl_server__broadcast(srv, "events", line);
            te = t;
        }
        if (duration > 0 && el >= duration)
            break;
    }
    xp_ctl_server__destroy(srv);
    json_decref(stats_doc);
    return 0;
}
