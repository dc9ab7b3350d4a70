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
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "src/ctl/ctl.h"

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

int main(int argc, char **argv)
{
    struct xp_ctl_server_conf conf = { .gid = (gid_t)-1, .ops = ops, .handler = handler };
    const char *ready = NULL;
    double duration = 0, event_ms = 200;
    struct timespec t0, t, te;
    struct xp_ctl_server *srv;
    unsigned seq = 0;

    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--socket") == 0) {
            conf.path = argv[i + 1];
        } else if (strcmp(argv[i], "--group") == 0) {
            struct group *g = getgrnam(argv[i + 1]);
            char *end;

            conf.gid = g ? g->gr_gid : (gid_t)strtoul(argv[i + 1], &end, 10);
            if (!g && *end) {
                fprintf(stderr, "xp_ctl_echo: --group %s: no such group\n", argv[i + 1]);
                return 2;
            }
        } else if (strcmp(argv[i], "--mode") == 0) {
            conf.mode = (unsigned)strtoul(argv[i + 1], NULL, 8);
        } else if (strcmp(argv[i], "--ready-file") == 0) {
            ready = argv[i + 1];
        } else if (strcmp(argv[i], "--duration") == 0) {
            duration = atof(argv[i + 1]);
        } else if (strcmp(argv[i], "--stats-file") == 0) {
            stats_doc = json_load_file(argv[i + 1], 0, NULL);
            if (!stats_doc) {
                fprintf(stderr, "xp_ctl_echo: --stats-file %s: not JSON\n", argv[i + 1]);
                return 2;
            }
        } else if (strcmp(argv[i], "--event-ms") == 0) {
            event_ms = atof(argv[i + 1]);
        } else {
            fprintf(stderr, "xp_ctl_echo: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (!conf.path) {
        fprintf(stderr, "usage: xp_ctl_echo --socket PATH [--group G] [--mode OCTAL] "
                        "[--ready-file F] [--duration SEC] [--event-ms MS]\n");
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

        xp_ctl_server__poll(srv, 50);
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
