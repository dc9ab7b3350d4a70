// SPDX-License-Identifier: GPL-2.0-only
/*
 * sink: an AF_PACKET socket on the far side counts the UDP frames to --port (5683 by
 * default, 0 for any) per source address and per wall-clock second. Frames this namespace
 * sends are not arrivals. A drop in the socket makes the counts short, and the exit code 1.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <math.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "src/util/exit_codes.h"
#include "src/util/log.h"
#include "src/util/wire.h"
#include "tools/gen/gen.h"

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

#define XP_SINK_MAX_SRC 4096
#define XP_SINK_HASH 8192
#define XP_SINK_BATCH 64

struct xp_sink_src {
    char addr[INET6_ADDRSTRLEN];
    uint8_t key[17];
    uint64_t total;
    uint64_t *per_sec;
};

struct xp_sink {
    struct xp_sink_src *src;
    unsigned n_src;
    int32_t hash[XP_SINK_HASH];
    unsigned secs;
    uint64_t other;
};

static struct xp_sink_src *sink_lookup(struct xp_sink *s, const uint8_t key[17])
{
    uint32_t h = 2166136261u;

    for (int i = 0; i < 17; i++)
        h = (h ^ key[i]) * 16777619u;
    for (unsigned probe = 0; probe < XP_SINK_HASH; probe++) {
        unsigned slot = (h + probe) & (XP_SINK_HASH - 1);
        struct xp_sink_src *e;

        if (s->hash[slot] < 0) {
            if (s->n_src == XP_SINK_MAX_SRC)
                return NULL;
            e = &s->src[s->n_src];
            e->per_sec = calloc(s->secs, sizeof(uint64_t));
            if (!e->per_sec)
                return NULL;
            memcpy(e->key, key, 17);
            inet_ntop(key[0] == 4 ? AF_INET : AF_INET6, key + 1, e->addr, sizeof(e->addr));
            s->hash[slot] = (int32_t)s->n_src++;
            return e;
        }
        e = &s->src[s->hash[slot]];
        if (!memcmp(e->key, key, 17))
            return e;
    }
    return NULL;
}

/* The source address of a UDP frame to PORT (any port if 0), as a key; -1 otherwise. */
static int frame_key(const uint8_t *f, size_t len, uint16_t port, uint8_t key[17])
{
    uint16_t et, dport;
    size_t l4;

    if (len < 14)
        return -1;
    et = xp_get16(f + 12);
    memset(key, 0, 17);
    if (et == ETH_P_IP) {
        size_t ihl;

        if (len < 34 || (f[14] >> 4) != 4 || f[23] != IPPROTO_UDP)
            return -1;
        ihl = (size_t)(f[14] & 0xf) * 4;
        l4 = 14 + ihl;
        key[0] = 4;
        memcpy(key + 1, f + 26, 4);
    } else if (et == ETH_P_IPV6) {
        if (len < 54 || f[20] != IPPROTO_UDP)
            return -1;
        l4 = 54;
        key[0] = 6;
        memcpy(key + 1, f + 22, 16);
    } else {
        return -1;
    }
    if (len < l4 + 8)
        return -1;
    dport = xp_get16(f + l4 + 2);
    return port && dport != port ? -1 : 0;
}

struct sink_opts {
    const char *ifname;
    const char *out;
    const char *ready_file;
    double duration;
    uint16_t port;
};

static const struct sink_opts defaults_sink = {
    .duration = 10,
    .port = XP_GEN_COAP_PORT,
};

#define SINK_REQ(...) XP_GEN_OPT_REQUIRED(struct sink_opts, __VA_ARGS__)
#define SINK_OPT(...) XP_GEN_OPT(struct sink_opts, __VA_ARGS__)

static const struct xp_gen_opt sink_table[] = {
    SINK_REQ("ifname", "DEV", ifname, "the interface to count on"),
    SINK_OPT("duration", "S", DOUBLE, duration, 0.1, XP_GEN_MAX_SECONDS, "seconds (default 10)"),
    SINK_OPT("port", "P", U16, port, 0, 65535, "UDP destination port (default 5683; 0: any)"),
    SINK_OPT("ready-file", "F", STRING, ready_file, 0, 0, "created once the socket counts"),
    SINK_OPT("out", "FILE.csv", STRING, out, 0, 0, "rows t,src,received per source and second"),
    { NULL },
};

static void sink_print_second(const void *ctx, long t, unsigned sec)
{
    const struct xp_sink *s = ctx;
    uint64_t total = 0;

    for (unsigned i = 0; i < s->n_src; i++)
        total += s->src[i].per_sec[sec];
    printf("{\"t\":%ld,\"total\":%" PRIu64 ",\"rx\":{", t, total);
    for (unsigned i = 0, k = 0; i < s->n_src; i++) {
        if (!s->src[i].per_sec[sec])
            continue;
        printf("%s\"%s\":%" PRIu64, k++ ? "," : "", s->src[i].addr, s->src[i].per_sec[sec]);
    }
    printf("}}\n");
    fflush(stdout);
}

/* An AF_PACKET socket bound to IFINDEX, its drop counter zeroed; -1 once said. */
static int sink_socket(const char *ifname, unsigned ifindex)
{
    struct tpacket_stats pst;
    socklen_t plen = sizeof(pst);
    struct sockaddr_ll sll;
    int fd, one = 1, rcvbuf = 8 << 20;

    fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
    if (fd == -1) {
        pr_err("socket(AF_PACKET): %s", strerror(errno));
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));
    /* Frames this namespace sends (ICMP errors) are not arrivals. */
    setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
    memset(&sll, 0, sizeof(sll));
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(ETH_P_ALL);
    sll.sll_ifindex = (int)ifindex;
    if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) == -1) {
        pr_err("bind(%s): %s", ifname, strerror(errno));
        close(fd);
        return -1;
    }
    /* Reading the statistics zeroes the socket's drop counter. */
    getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &pst, &plen);
    return fd;
}

/* Counts until the end of the duration or a signal; -errno if the socket fails. */
static int sink_loop(struct xp_sink *s, struct xp_gen_seconds *secs, int fd, uint16_t port,
                     double end)
{
    static uint8_t bufs[XP_SINK_BATCH][2048];
    struct mmsghdr msgs[XP_SINK_BATCH];
    struct iovec iov[XP_SINK_BATCH];

    for (int i = 0; i < XP_SINK_BATCH; i++) {
        iov[i].iov_base = bufs[i];
        iov[i].iov_len = sizeof(bufs[i]);
        memset(&msgs[i], 0, sizeof(msgs[i]));
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    while (!xp_gen_stopping() && xp_gen_now(CLOCK_MONOTONIC) < end) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        double since_t0 = xp_gen_now(CLOCK_REALTIME) - (double)secs->t0;
        unsigned sec = xp_gen_seconds__index(secs, since_t0);
        int n;

        xp_gen_seconds__print_until(secs, sec, sink_print_second, s);
        n = recvmmsg(fd, msgs, XP_SINK_BATCH, MSG_DONTWAIT, NULL);
        if (n == -1) {
            int err = errno;

            if (err != EAGAIN && err != EINTR) {
                pr_err("recvmmsg: %s", strerror(err));
                return -err;
            }
            poll(&pfd, 1, 50);
            continue;
        }
        for (int i = 0; i < n; i++) {
            uint8_t key[17];
            struct xp_sink_src *e;

            if (frame_key(bufs[i], msgs[i].msg_len, port, key)) {
                s->other++;
                continue;
            }
            e = sink_lookup(s, key);
            if (!e) {
                s->other++;
                continue;
            }
            e->total++;
            e->per_sec[sec]++;
        }
    }
    return 0;
}

static void sink_csv_row(const void *ctx, FILE *f, long t, unsigned sec, unsigned i)
{
    const struct xp_sink_src *e = &((const struct xp_sink *)ctx)->src[i];

    fprintf(f, "%ld,%s,%" PRIu64 "\n", t, e->addr, e->per_sec[sec]);
}

static int cmd_sink(const void *opts)
{
    const struct sink_opts *o = opts;
    struct tpacket_stats pst;
    socklen_t plen = sizeof(pst);
    struct xp_gen_seconds secs;
    struct xp_sink s;
    double end;
    int fd, rc = EXIT_FAIL;
    unsigned ifindex = xp_gen_ifindex(o->ifname);

    if (!ifindex)
        return EXIT_FAIL_IFACE;
    memset(&s, 0, sizeof(s));
    memset(s.hash, 0xff, sizeof(s.hash));
    xp_gen_seconds__init(&secs, o->duration);
    s.secs = secs.n;
    s.src = calloc(XP_SINK_MAX_SRC, sizeof(*s.src));
    if (!s.src)
        return EXIT_FAIL_MEM;
    fd = sink_socket(o->ifname, ifindex);
    if (fd == -1)
        goto out;
    xp_gen_seconds__start(&secs, xp_gen_now(CLOCK_REALTIME));
    end = xp_gen_now(CLOCK_MONOTONIC) + o->duration;
    if (o->ready_file) {
        FILE *rf = fopen(o->ready_file, "w");

        if (rf)
            fclose(rf);
    }
    if (sink_loop(&s, &secs, fd, o->port, end))
        goto out_fd;
    xp_gen_seconds__finish(&secs, sink_print_second, &s);
    memset(&pst, 0, sizeof(pst));
    getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &pst, &plen);
    printf("{\"final\":true,\"socket_drops\":%u,\"other\":%" PRIu64 ",\"per_src\":{",
           pst.tp_drops, s.other);
    for (unsigned i = 0; i < s.n_src; i++)
        printf("%s\"%s\":%" PRIu64, i ? "," : "", s.src[i].addr, s.src[i].total);
    printf("}}\n");
    fflush(stdout);
    if (o->out && xp_gen_csv__write_seconds(o->out, "t,src,received\n", &secs, s.n_src,
                                            sink_csv_row, &s))
        goto out_fd;
    rc = pst.tp_drops ? EXIT_FAIL : EXIT_OK;
    if (pst.tp_drops)
        pr_err("the sink's socket dropped %u frames: counts are short", pst.tp_drops);
out_fd:
    close(fd);
out:
    for (unsigned i = 0; i < s.n_src; i++)
        free(s.src[i].per_sec);
    free(s.src);
    return rc;
}

XP_GEN_DEFINE_CMD(sink, "sink", true,
                  "Counts the UDP frames arriving on DEV per source address and second.");
