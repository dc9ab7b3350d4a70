// SPDX-License-Identifier: GPL-2.0-only
/*
 * rtt: confirmable CoAP GET / requests to --server (e.g. libcoap's coap-server), one at a
 * time, each waiting up to 1 s for the answer with its message id; ten unanswered in a
 * row end the run (the path is down). Round trips in microseconds: min, median, p90, p99
 * and mean on one final JSON line, one row per answered request in --out.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "src/util/exit_codes.h"
#include "src/util/log.h"
#include "tools/gen/gen.h"

#define RTT_TIMEOUT_S 1.0
#define RTT_MAX_LOST_IN_A_ROW 10

struct rtt_opts {
    const char *server;
    const char *out;
    uint16_t port;
    unsigned count;
    double interval_ms;
};

static const struct rtt_opts defaults_rtt = {
    .port = XP_GEN_COAP_PORT,
    .count = 100,
    .interval_ms = 10,
};

#define RTT_REQ(...) XP_GEN_OPT_REQUIRED(struct rtt_opts, __VA_ARGS__)
#define RTT_OPT(...) XP_GEN_OPT(struct rtt_opts, __VA_ARGS__)

static const struct xp_gen_opt rtt_table[] = {
    RTT_REQ("server", "ADDR", server, "the CoAP server's numeric IPv4 or IPv6 address"),
    RTT_OPT("port", "P", U16, port, 1, 65535, "its UDP port (default 5683)"),
    RTT_OPT("count", "N", UINT, count, 1, 100000, "requests (default 100)"),
    RTT_OPT("interval-ms", "MS", DOUBLE, interval_ms, 0, 10000, "pause after each (default 10)"),
    RTT_OPT("out", "FILE.csv", STRING, out, 0, 0, "rows i,rtt_us per answered request"),
    { NULL },
};

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* SERVER:PORT as a socket address; -EINVAL if SERVER is not a numeric address. */
static int rtt_address(const char *server, uint16_t port, struct sockaddr_storage *ss,
                       socklen_t *len)
{
    struct sockaddr_in *sin = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

    memset(ss, 0, sizeof(*ss));
    if (inet_pton(AF_INET, server, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
        *len = sizeof(*sin);
        return 0;
    }
    if (inet_pton(AF_INET6, server, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(port);
        *len = sizeof(*sin6);
        return 0;
    }
    return -EINVAL;
}

/* Request I; its round trip in *US, or -ETIMEDOUT (or -EINTR on a signal) when no answer
 * came within RTT_TIMEOUT_S; another negative errno if it could not be sent. */
static int rtt_one(int fd, unsigned i, double *us)
{
    uint8_t req[4] = {0x40, 0x01, (uint8_t)(i >> 8), (uint8_t)i}, resp[1500];
    double t1 = xp_gen_now(CLOCK_MONOTONIC), deadline = t1 + RTT_TIMEOUT_S;

    if (send(fd, req, sizeof(req), 0) != (ssize_t)sizeof(req)) {
        int err = errno;

        pr_err("send: %s", strerror(err));
        return -err;
    }
    while (!xp_gen_stopping()) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        double left = deadline - xp_gen_now(CLOCK_MONOTONIC);
        ssize_t n;

        if (left <= 0 || poll(&pfd, 1, (int)(left * 1000) + 1) <= 0)
            return -ETIMEDOUT;
        n = recv(fd, resp, sizeof(resp), MSG_DONTWAIT);
        if (n >= 4 && resp[2] == req[2] && resp[3] == req[3]) {
            *us = (xp_gen_now(CLOCK_MONOTONIC) - t1) * 1e6;
            return 0;
        }
    }
    return -EINTR;
}

static void rtt_print_final(const char *server, double *rtt, unsigned got, unsigned lost)
{
    double sum = 0;

    for (unsigned i = 0; i < got; i++)
        sum += rtt[i];
    qsort(rtt, got, sizeof(*rtt), cmp_double);
    printf("{\"final\":true,\"server\":\"%s\",\"sent\":%u,\"answered\":%u,\"lost\":%u", server,
           got + lost, got, lost);
    if (got)
        printf(",\"min_us\":%.1f,\"median_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f,"
               "\"mean_us\":%.1f",
               rtt[0], rtt[got / 2], rtt[got * 9 / 10], rtt[got * 99 / 100], sum / got);
    printf("}\n");
}

static int cmd_rtt(const void *opts)
{
    const struct rtt_opts *o = opts;
    struct sockaddr_storage ss;
    socklen_t sslen;
    double *rtt;
    unsigned got = 0, lost = 0, run_lost = 0;
    FILE *out = NULL;
    int fd, ret, rc = EXIT_FAIL;

    if (rtt_address(o->server, o->port, &ss, &sslen)) {
        pr_err("--server: not a numeric address: %s", o->server);
        return EXIT_FAIL_OPTION;
    }
    rtt = calloc(o->count, sizeof(*rtt));
    if (!rtt)
        return EXIT_FAIL_MEM;
    fd = socket(ss.ss_family, SOCK_DGRAM, 0);
    if (fd == -1 || connect(fd, (struct sockaddr *)&ss, sslen) == -1) {
        pr_err("socket/connect %s: %s", o->server, strerror(errno));
        goto out;
    }
    if (o->out) {
        out = xp_gen_csv__open(o->out, "i,rtt_us\n");
        if (!out)
            goto out;
    }
    for (unsigned i = 0; i < o->count && !xp_gen_stopping(); i++) {
        double us;

        ret = rtt_one(fd, i, &us);
        if (ret == 0) {
            rtt[got++] = us;
            if (out)
                fprintf(out, "%u,%.1f\n", i, us);
            run_lost = 0;
        } else if (ret == -ETIMEDOUT || ret == -EINTR) {
            lost++;
            if (++run_lost == RTT_MAX_LOST_IN_A_ROW) {
                pr_err("%d requests in a row unanswered: stopping", RTT_MAX_LOST_IN_A_ROW);
                break;
            }
        } else {
            goto out;
        }
        xp_gen_sleep(o->interval_ms / 1000);
    }
    rtt_print_final(o->server, rtt, got, lost);
    rc = got ? EXIT_OK : EXIT_FAIL;
out:
    if (out && xp_gen_csv__close(out, o->out))
        rc = EXIT_FAIL;
    if (fd != -1)
        close(fd);
    free(rtt);
    return rc;
}

XP_GEN_DEFINE_CMD(rtt, "rtt", true,
                  "CoAP CON GET round trips to a server, one request at a time.");
