// SPDX-License-Identifier: GPL-2.0-only
/*
 * xpro-ctl capture: ask the proxy for a capture ({"op": "capture", "follow":
 * true}), then turn the frames it streams (src/capture/capture.h, one JSON
 * line each) into a pcapng file with each frame's verdict, queue and port
 * in its comment. xpro-ctl writes the file, as the operator who runs it:
 * the proxy never writes a path given over its socket. The proxy ends the
 * capture (count, duration) with an end line; Ctrl-C ends it early, and the
 * file keeps every frame written so far (each pcapng block is written
 * whole).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "src/capture/capture.h"
#include "src/ctl/cli.h"
#include "src/ctl/ctl.h"
#include "src/util/exit_codes.h"
#include "src/util/pcapng.h"
#include "xp_build_config.h"

/* Progress lines come every second: this much silence means the proxy is stuck or gone. */
#define CAPTURE_SILENCE_MS 10000

static volatile sig_atomic_t capture_stop;

static void on_signal(int sig)
{
    (void)sig;
    capture_stop = 1;
}

static json_t *capture_request(const struct xp_cli_opts *o)
{
    json_t *req = json_pack("{s:s,s:b,s:i,s:i}", "op", "capture", "follow", 1, "count",
                            (int)o->count, "seconds", (int)o->duration_s);

    if (req && o->unit)
        json_object_set_new(req, "unit", json_string(o->unit));
    if (req && o->dst)
        json_object_set_new(req, "dst", json_string(o->dst));
    if (req && o->verdict)
        json_object_set_new(req, "verdict", json_string(o->verdict));
    return req;
}

static long long count_of(const json_t *o, const char *key)
{
    return (long long)json_integer_value(json_object_get(o, key));
}

static void summary(const json_t *end, uint64_t written, const char *file, const char *why)
{
    fprintf(stderr, "xpro-ctl: capture: %llu frames written to %s (%s); the proxy matched %lld, "
            "left out %lld over the rate or count and %lld for a full ring\n",
            (unsigned long long)written, file, why, count_of(end, "matched"),
            count_of(end, "lost_budget") + count_of(end, "over_count"),
            count_of(end, "lost_ring"));
}

/* The stream until its end line, Ctrl-C or an error. An exit code. */
static int stream(struct xp_ctl_client *c, struct xp_pcapng_writer *w, uint64_t id,
                  const char *file)
{
    static struct xp_capture_frame fr;
    json_t *last = NULL;
    const char *line;
    ssize_t n;

    while (!capture_stop) {
        json_t *o;
        char err[256], comment[128];

        n = xp_ctl_client__read_line(c, CAPTURE_SILENCE_MS, &line);
        if (n == -EINTR)
            continue;
        if (n <= 0) {
            fprintf(stderr, "xpro-ctl: capture: %s after %llu frames\n",
                    n == 0 ? "the proxy closed the stream" : n == -ETIMEDOUT
                    ? "the proxy went silent" : strerror((int)-n),
                    (unsigned long long)w->packets);
            json_decref(last);
            return EXIT_FAIL;
        }
        o = json_loadb(line, (size_t)n, 0, NULL);
        if (!json_is_object(o) || json_integer_value(json_object_get(o, "capture")) !=
                                      (json_int_t)id) {
            json_decref(o); /* not ours (an earlier capture's last lines): skip */
            continue;
        }
        if (json_object_get(o, "end")) {
            summary(o, w->packets, file, json_string_value(json_object_get(o, "why")) ?: "end");
            json_decref(o);
            json_decref(last);
            return EXIT_OK;
        }
        if (json_object_get(o, "progress")) {
            json_decref(last);
            last = o;
            continue;
        }
        if (xp_capture_frame__parse(o, &fr, err, sizeof(err))) {
            fprintf(stderr, "xpro-ctl: capture: a line from the proxy is not a frame: %s\n", err);
            json_decref(o);
            json_decref(last);
            return EXIT_FAIL;
        }
        json_decref(o);
        snprintf(comment, sizeof(comment), "verdict=%s queue=%u port=%s", fr.verdict, fr.queue,
                 fr.port);
        if (xp_pcapng__packet(w, fr.t_ns, fr.data, fr.caplen, fr.len, comment)) {
            fprintf(stderr, "xpro-ctl: capture: writing %s: %s\n", file, strerror(errno));
            json_decref(last);
            return EXIT_FAIL;
        }
    }
    summary(last, w->packets, file, "interrupted");
    json_decref(last);
    return EXIT_OK;
}

int xp_cli_capture(const char *path, const struct xp_cli_opts *o)
{
    struct sigaction sa = { .sa_handler = on_signal };
    bool to_stdout = o->write && strcmp(o->write, "-") == 0;
    struct xp_pcapng_writer w;
    struct xp_ctl_client *c;
    json_t *req, *result = NULL;
    char err[512];
    FILE *f;
    int ret;

    if (!o->write) {
        fprintf(stderr, "xpro-ctl: capture: -w FILE is needed (- for standard output)\n");
        return EXIT_FAIL_OPTION;
    }
    if (to_stdout && isatty(STDOUT_FILENO)) {
        fprintf(stderr, "xpro-ctl: capture: standard output is a terminal: pipe it "
                        "(| wireshark -k -i -) or use -w FILE\n");
        return EXIT_FAIL_OPTION;
    }
    if (o->count == 0 || o->count > XP_CAPTURE_COUNT_MAX || o->duration_s == 0 ||
        o->duration_s > XP_CAPTURE_SECONDS_MAX) {
        fprintf(stderr, "xpro-ctl: capture: --count 1..%d and --duration 1..%d\n",
                XP_CAPTURE_COUNT_MAX, XP_CAPTURE_SECONDS_MAX);
        return EXIT_FAIL_OPTION;
    }
    f = to_stdout ? stdout : fopen(o->write, "wb");
    if (!f) {
        fprintf(stderr, "xpro-ctl: capture: %s: %s\n", o->write, strerror(errno));
        return EXIT_FAIL;
    }
    c = xp_ctl_client__connect(path, (int)o->timeout_s * 1000);
    if (!c) {
        xp_cli_connect_error(path, errno);
        ret = EXIT_FAIL;
        goto out_file;
    }
    req = capture_request(o);
    ret = req ? xp_ctl_client__request(c, req, (int)o->timeout_s * 1000, &result, err,
                                       sizeof(err))
              : -ENOMEM;
    json_decref(req);
    if (ret) {
        if (ret == XP_CTL_E_REPLY)
            fprintf(stderr, "xpro-ctl: capture: the proxy refused: %s\n", err);
        else
            fprintf(stderr, "xpro-ctl: %s: %s\n", path, ret == -ENOMEM ? "out of memory" : err);
        ret = EXIT_FAIL;
        goto out_client;
    }
    if (xp_pcapng__begin(&w, f, XP_CAPTURE_SNAPLEN, "xpro-ctl " XP_VERSION, "access")) {
        fprintf(stderr, "xpro-ctl: capture: writing %s: %s\n", o->write, strerror(errno));
        ret = EXIT_FAIL;
        goto out_client;
    }
    fprintf(stderr, "xpro-ctl: capture %lld: at most %lld frames in %lld s, %lld frames/s per "
            "queue, %d bytes of each\n",
            json_integer_value(json_object_get(result, "capture")),
            json_integer_value(json_object_get(result, "count")),
            json_integer_value(json_object_get(result, "seconds")),
            json_integer_value(json_object_get(result, "rate_per_queue")), XP_CAPTURE_SNAPLEN);
    /* No SA_RESTART: Ctrl-C interrupts the wait and the file is closed cleanly. */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    ret = stream(c, &w, (uint64_t)json_integer_value(json_object_get(result, "capture")),
                 o->write);
out_client:
    json_decref(result);
    xp_ctl_client__destroy(c);
out_file:
    if ((to_stdout ? fflush(f) : fclose(f)) != 0 && ret == EXIT_OK) {
        fprintf(stderr, "xpro-ctl: capture: writing %s: %s\n", o->write, strerror(errno));
        ret = EXIT_FAIL;
    }
    return ret;
}
