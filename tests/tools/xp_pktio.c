// SPDX-License-Identifier: GPL-2.0-only
/*
 * xp_pktio: the deterministic AF_PACKET traffic tool of the netns tests and the demo.
 *
 * Every frame is a pure function of (generation parameters, sequence number): the sender
 * builds frame #seq, and the receiver, given the same parameters, rebuilds frame #seq and
 * compares byte for byte. So a test can prove that the proxy forwarded every frame unchanged
 * without keeping a copy of what was sent. The UDP payload starts with a header
 * (magic, seed tag, seq) so that the receiver can ignore everything that is not ours (ND,
 * IGMP, frames of an earlier run with another seed) and find the sequence number.
 *
 * Subcommands:
 *   send     N frames over F flows (UDP source ports) and K units (source addresses),
 *            optionally paced by a token bucket, bounded by --duration.
 *   recv     capture until N distinct frames arrived or --timeout; verify each one.
 *   recv --count-only
 *            count our frames per second per source address (benches, fail-mode tests).
 *   probe    exit 0 if this kernel lets us load an XDP program and open an AF_XDP socket.
 *   xdp-hold attach a trivial XDP_PASS program to an interface through a bpf_link and hold
 *            it until signalled or --duration: the "foreign XDP program" of the tests.
 *   capture  write every IPv4/UDP frame to --dst-port (of --size bytes, if given) seen on an
 *            interface to --file (an attacker's capture: 4-byte big-endian length, then the
 *            frame), up to --count or --timeout.
 *   replay   send the frames of a capture file in order (--count N: N frames, going round
 *            the file; default once each), optionally re-addressed (--dst-mac; --dst-ip,
 *            --src-ip with the IPv4 checksum redone and the UDP one cleared) and with one
 *            byte flipped (--flip OFFSET: a forgery), paced by --rate: the attacker's replay.
 *
 * Exit codes: 0 ok, 1 verification failed, 2 bad usage, 3 system error.
 * Only libc and kernel UAPI headers: the tool must build wherever the tests run.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "xp_build_config.h"

#define XP_EXIT_OK 0
#define XP_EXIT_VERIFY 1
#define XP_EXIT_USAGE 2
#define XP_EXIT_SYS 3

#define XP_MAGIC 0x5850494fu /* "XPIO" */
#define XP_PL_HDR 12u        /* magic, tag, seq */
#define XP_ETH_HLEN 14u
#define XP_IP4_HLEN 20u
#define XP_IP6_HLEN 40u
#define XP_UDP_HLEN 8u
#define XP_MAX_FRAME 9018u
#define XP_BATCH 32u
#define XP_MAX_SRCS 1024u
#define XP_SPORT_BASE 10000u
#define XP_DPORT 9000u

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif
#ifndef AF_XDP
#define AF_XDP 44
#endif

struct xp_gen {
    uint8_t src_mac[6];
    uint8_t dst_mac[6];
    bool v6;
    uint8_t src_ip[16]; /* IPv4 in the first 4 bytes */
    uint8_t dst_ip[16];
    unsigned flows;
    unsigned units;
    unsigned size;
    uint16_t dport;     /* UDP destination port (XP_DPORT unless --dst-port) */
    unsigned vlans;     /* VLAN tags after the MACs (--vlans): 802.1ad outer, 802.1Q inner */
    bool hbh;           /* IPv6: an 8-byte hop-by-hop header before UDP (--hbh) */
    uint16_t ethertype; /* not 0: a non-IP frame of this ethertype (--ethertype) */
    uint64_t seed;
    uint32_t tag;
};

struct xp_opts {
    const char *ifname;
    uint64_t count;
    uint64_t expect;
    double rate;
    double duration;
    double timeout;
    const char *ready_file;
    bool count_only;
    const char *file;   /* capture / replay */
    bool dst_ip_set, src_ip_set, dst_mac_set, size_set;
    long flip;          /* replay: frame offset to flip, -1 none */
    struct xp_gen gen;
};

/* Set by the signal handler: volatile sig_atomic_t is the one type C allows there. */
static volatile sig_atomic_t xp_stop;

static void xp_on_signal(int sig)
{
    (void)sig;
    xp_stop = 1;
}

static double xp_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void xp_sleep(double sec)
{
    struct timespec ts;

    if (sec <= 0)
        return;
    ts.tv_sec = (time_t)sec;
    ts.tv_nsec = (long)((sec - (double)ts.tv_sec) * 1e9);
    nanosleep(&ts, NULL);
}

static uint64_t xp_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint32_t xp_csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
    while (len > 1) {
        sum += (uint32_t)p[0] << 8 | p[1];
        p += 2;
        len -= 2;
    }
    if (len)
        sum += (uint32_t)p[0] << 8;
    return sum;
}

static uint16_t xp_csum_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static void xp_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void xp_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t xp_get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

#define XP_VLAN_HLEN 4u
#define XP_HBH_HLEN 8u
#define XP_MAX_VLANS 4u

/* Where the IP header and the UDP header start in a generated frame. */
static unsigned xp_l3_off(const struct xp_gen *g)
{
    return XP_ETH_HLEN + g->vlans * XP_VLAN_HLEN;
}

static unsigned xp_l4_off(const struct xp_gen *g)
{
    return xp_l3_off(g) + (g->v6 ? XP_IP6_HLEN + (g->hbh ? XP_HBH_HLEN : 0) : XP_IP4_HLEN);
}

static unsigned xp_hdr_len(const struct xp_gen *g)
{
    return xp_l4_off(g) + XP_UDP_HLEN;
}

/* Source address of unit u: A + u, carried into the upper bytes. */
static void xp_unit_addr(const struct xp_gen *g, unsigned unit, uint8_t *out)
{
    int len = g->v6 ? 16 : 4;
    unsigned carry = unit;

    memcpy(out, g->src_ip, (size_t)len);
    for (int i = len - 1; i >= 0 && carry; i--) {
        unsigned v = out[i] + (carry & 0xff);

        out[i] = (uint8_t)v;
        carry = (carry >> 8) + (v >> 8);
    }
}

static unsigned xp_flow_of(const struct xp_gen *g, uint32_t seq)
{
    return seq % g->flows;
}

/* Builds frame #seq into buf (g->size bytes) and returns its length. */
static unsigned xp_gen_frame(const struct xp_gen *g, uint32_t seq, uint8_t *buf)
{
    unsigned flow = xp_flow_of(g, seq);
    unsigned unit = flow % g->units;
    unsigned l3 = xp_l3_off(g);
    unsigned l4 = xp_l4_off(g);
    unsigned pl = l4 + XP_UDP_HLEN;
    unsigned udp_len = g->size - l4;
    uint8_t src[16];
    uint64_t st = g->seed ^ ((uint64_t)seq * 0xd1342543de82ef95ull);
    uint32_t sum;

    xp_unit_addr(g, unit, src);
    memcpy(buf, g->dst_mac, 6);
    memcpy(buf + 6, g->src_mac, 6);
    for (unsigned i = 0; i < g->vlans; i++) {
        xp_put16(buf + 12 + i * XP_VLAN_HLEN, i == 0 && g->vlans > 1 ? 0x88a8 : 0x8100);
        xp_put16(buf + 14 + i * XP_VLAN_HLEN, (uint16_t)(100 + i));
    }
    xp_put16(buf + l3 - 2, g->ethertype ? g->ethertype : g->v6 ? ETH_P_IPV6 : ETH_P_IP);
    if (g->ethertype) {
        /* non-IP: the payload header right after the ethertype, zeros after it */
        memset(buf + l3, 0, g->size - l3);
        xp_put32(buf + l3, XP_MAGIC);
        xp_put32(buf + l3 + 4, g->tag);
        xp_put32(buf + l3 + 8, seq);
        return g->size;
    }

    if (g->v6) {
        uint8_t *ip = buf + l3;

        xp_put32(ip, 0x60000000u);
        xp_put16(ip + 4, (uint16_t)(g->size - l3 - XP_IP6_HLEN));
        ip[6] = g->hbh ? 0 : IPPROTO_UDP;
        ip[7] = 64;
        memcpy(ip + 8, src, 16);
        memcpy(ip + 24, g->dst_ip, 16);
        if (g->hbh) {
            /* next header UDP, length 0 (8 bytes), one PadN option filling the rest */
            static const uint8_t hbh[XP_HBH_HLEN] = { IPPROTO_UDP, 0, 1, 4, 0, 0, 0, 0 };

            memcpy(ip + XP_IP6_HLEN, hbh, sizeof(hbh));
        }
    } else {
        uint8_t *ip = buf + l3;

        ip[0] = 0x45;
        ip[1] = 0;
        xp_put16(ip + 2, (uint16_t)(g->size - l3));
        xp_put16(ip + 4, (uint16_t)seq);
        xp_put16(ip + 6, 0);
        ip[8] = 64;
        ip[9] = IPPROTO_UDP;
        xp_put16(ip + 10, 0);
        memcpy(ip + 12, src, 4);
        memcpy(ip + 16, g->dst_ip, 4);
        xp_put16(ip + 10, xp_csum_fold(xp_csum_add(0, ip, XP_IP4_HLEN)));
    }

    xp_put16(buf + l4, (uint16_t)(XP_SPORT_BASE + flow));
    xp_put16(buf + l4 + 2, g->dport);
    xp_put16(buf + l4 + 4, (uint16_t)udp_len);
    xp_put16(buf + l4 + 6, 0);

    xp_put32(buf + pl, XP_MAGIC);
    xp_put32(buf + pl + 4, g->tag);
    xp_put32(buf + pl + 8, seq);
    for (unsigned i = pl + XP_PL_HDR; i < g->size; i += 8) {
        uint64_t r = xp_splitmix64(&st);

        for (unsigned j = 0; j < 8 && i + j < g->size; j++)
            buf[i + j] = (uint8_t)(r >> (8 * j));
    }

    /* UDP checksum over the pseudo-header, the UDP header and the payload. */
    if (g->v6) {
        /* the addresses sit at l3 + 8 whatever follows the fixed header */
        sum = xp_csum_add(0, buf + l3 + 8, 32);
        sum += udp_len;
        sum += IPPROTO_UDP;
    } else {
        sum = xp_csum_add(0, buf + l3 + 12, 8);
        sum += IPPROTO_UDP;
        sum += udp_len;
    }
    sum = xp_csum_add(sum, buf + l4, udp_len);
    {
        uint16_t c = xp_csum_fold(sum);

        xp_put16(buf + l4 + 6, c ? c : 0xffff);
    }
    return g->size;
}

/*
 * If frame is one of ours (any seed when tag_any), returns the offset of its payload header
 * and sets *src_off and *src_len to its source address; else returns 0.
 */
static unsigned xp_parse_ours(const uint8_t *f, unsigned len, uint32_t tag, bool tag_any,
                              unsigned *src_off, unsigned *src_len)
{
    unsigned l4, proto;

    unsigned l3 = XP_ETH_HLEN;

    /* VLAN tags (the kernel may have taken the outer one into metadata already) */
    for (unsigned i = 0; i < XP_MAX_VLANS && l3 + XP_VLAN_HLEN <= len &&
                         ((f[l3 - 2] == 0x81 && f[l3 - 1] == 0x00) ||
                          (f[l3 - 2] == 0x88 && f[l3 - 1] == 0xa8));
         i++)
        l3 += XP_VLAN_HLEN;
    if (len < l3 + XP_IP4_HLEN + XP_UDP_HLEN + XP_PL_HDR)
        return 0;
    if (f[l3 - 2] == 0x08 && f[l3 - 1] == 0x00) {
        unsigned ihl = (f[l3] & 0x0f) * 4u;

        if ((f[l3] >> 4) != 4 || ihl < XP_IP4_HLEN)
            return 0;
        proto = f[l3 + 9];
        l4 = l3 + ihl;
        *src_off = l3 + 12;
        *src_len = 4;
    } else if (f[l3 - 2] == 0x86 && f[l3 - 1] == 0xdd) {
        proto = f[l3 + 6];
        l4 = l3 + XP_IP6_HLEN;
        if (proto == 0 && l4 + XP_HBH_HLEN <= len) { /* our --hbh header */
            proto = f[l4];
            l4 += XP_HBH_HLEN;
        }
        *src_off = l3 + 8;
        *src_len = 16;
    } else {
        return 0;
    }
    if (proto != IPPROTO_UDP || l4 + XP_UDP_HLEN + XP_PL_HDR > len)
        return 0;
    if (xp_get32(f + l4 + XP_UDP_HLEN) != XP_MAGIC)
        return 0;
    if (!tag_any && xp_get32(f + l4 + XP_UDP_HLEN + 4) != tag)
        return 0;
    return l4 + XP_UDP_HLEN;
}

static int xp_parse_mac(const char *s, uint8_t *mac)
{
    unsigned v[6];

    if (sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
        return -EINVAL;
    for (int i = 0; i < 6; i++) {
        if (v[i] > 0xff)
            return -EINVAL;
        mac[i] = (uint8_t)v[i];
    }
    return 0;
}

static int xp_open_packet(const char *ifname, int *ifindex)
{
    struct sockaddr_ll sll = { 0 };
    int fd, one = 1;

    *ifindex = (int)if_nametoindex(ifname);
    if (*ifindex == 0) {
        fprintf(stderr, "xp_pktio: interface %s: %s\n", ifname, strerror(errno));
        return -ENODEV;
    }
    /* Protocol 0 until bound: no frames of other interfaces sneak in before bind(). */
    fd = socket(AF_PACKET, SOCK_RAW, 0);
    if (fd < 0) {
        fprintf(stderr, "xp_pktio: socket(AF_PACKET): %s\n", strerror(errno));
        return -errno;
    }
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(ETH_P_ALL);
    sll.sll_ifindex = *ifindex;
    if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
        fprintf(stderr, "xp_pktio: bind(%s): %s\n", ifname, strerror(errno));
        close(fd);
        return -errno;
    }
    /* Best effort: older kernels lack it and recv() also filters on PACKET_OUTGOING. */
    setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
    return fd;
}

static void xp_set_bufs(int fd, int opt_force, int opt, int bytes)
{
    if (setsockopt(fd, SOL_SOCKET, opt_force, &bytes, sizeof(bytes)) < 0)
        setsockopt(fd, SOL_SOCKET, opt, &bytes, sizeof(bytes));
}

static void xp_signal_ready(const char *ready_file)
{
    fprintf(stderr, "ready\n");
    fflush(stderr);
    if (ready_file) {
        FILE *f = fopen(ready_file, "w");

        if (f) {
            fputs("ready\n", f);
            fclose(f);
        }
    }
}

static void xp_install_signals(void)
{
    struct sigaction sa = { 0 };

    sa.sa_handler = xp_on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* ---- send ---- */

static int xp_cmd_send(const struct xp_opts *o)
{
    static uint8_t bufs[XP_BATCH][XP_MAX_FRAME];
    struct mmsghdr msgs[XP_BATCH];
    struct iovec iov[XP_BATCH];
    uint64_t sent = 0, enobufs = 0, failed = 0;
    double t0, tokens = 0, last, deadline;
    bool truncated = false;
    int fd, ifindex;

    fd = xp_open_packet(o->ifname, &ifindex);
    if (fd < 0)
        return XP_EXIT_SYS;
    xp_set_bufs(fd, SO_SNDBUFFORCE, SO_SNDBUF, 4 << 20);
    xp_install_signals();

    memset(msgs, 0, sizeof(msgs));
    for (unsigned i = 0; i < XP_BATCH; i++) {
        iov[i].iov_base = bufs[i];
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }

    t0 = last = xp_now();
    deadline = o->duration > 0 ? t0 + o->duration : 0;
    while ((o->count == 0 || sent + failed < o->count) && !xp_stop) {
        uint64_t left = o->count ? o->count - sent - failed : XP_BATCH;
        unsigned n = left < XP_BATCH ? (unsigned)left : XP_BATCH;
        unsigned done = 0, retries = 0;
        double now = xp_now();

        if (deadline && now >= deadline) {
            truncated = o->count != 0;
            break;
        }
        if (o->rate > 0) {
            /* Token bucket, at most a few ms of burst, so pacing stays smooth. */
            double cap = o->rate * 0.002 > XP_BATCH ? o->rate * 0.002 : XP_BATCH;

            tokens += (now - last) * o->rate;
            last = now;
            if (tokens > cap)
                tokens = cap;
            if (tokens < 1) {
                xp_sleep((1 - tokens) / o->rate);
                continue;
            }
            if (n > (unsigned)tokens)
                n = (unsigned)tokens;
        }
        for (unsigned i = 0; i < n; i++) {
            iov[i].iov_len = xp_gen_frame(&o->gen, (uint32_t)(sent + failed + i), bufs[i]);
            msgs[i].msg_len = 0;
        }
        while (done < n) {
            int r = sendmmsg(fd, msgs + done, n - done, 0);

            if (r > 0) {
                done += (unsigned)r;
                retries = 0;
                continue;
            }
            if (r < 0 && (errno == ENOBUFS || errno == EAGAIN || errno == EINTR) &&
                retries < 1000 && !xp_stop) {
                enobufs++;
                retries++;
                xp_sleep(50e-6);
                continue;
            }
            if (r < 0 && errno != ENOBUFS && errno != EAGAIN && errno != EINTR) {
                fprintf(stderr, "xp_pktio: sendmmsg: %s\n", strerror(errno));
                close(fd);
                return XP_EXIT_SYS;
            }
            /* Gave up on this frame after a bounded wait: count it and move on. */
            failed++;
            break;
        }
        /* Frames after a given-up one are re-sent with their own numbers next round. */
        sent += done;
        if (o->rate > 0)
            tokens -= done;
    }
    {
        double el = xp_now() - t0;

        printf("{\"sent\":%" PRIu64 ",\"failed\":%" PRIu64 ",\"enobufs_retries\":%" PRIu64
               ",\"elapsed_s\":%.3f,\"pps\":%.0f,\"truncated\":%s,\"ifname\":\"%s\"}\n",
               sent, failed, enobufs, el, el > 0 ? (double)sent / el : 0.0,
               truncated ? "true" : "false", o->ifname);
    }
    fflush(stdout);
    close(fd);
    return failed ? XP_EXIT_VERIFY : XP_EXIT_OK;
}

/* ---- recv ---- */

struct xp_src_count {
    uint8_t addr[16];
    unsigned len;
    uint64_t sec;
    uint64_t total;
};

struct xp_rx {
    uint64_t received;
    uint64_t identical;
    uint64_t corrupt;
    uint64_t duplicates;
    uint64_t foreign;
    uint64_t distinct;
    uint8_t *seen; /* per seq: 0 none, 1 identical, 2 corrupt */
    uint64_t *per_flow;
    struct xp_src_count srcs[XP_MAX_SRCS];
    unsigned nsrcs;
    uint64_t sec_total;
};

static void xp_addr_str(const uint8_t *a, unsigned len, char *out, size_t outlen)
{
    inet_ntop(len == 4 ? AF_INET : AF_INET6, a, out, (socklen_t)outlen);
}

static void xp_rx_count_src(struct xp_rx *rx, const uint8_t *addr, unsigned len)
{
    unsigned i;

    for (i = 0; i < rx->nsrcs; i++) {
        if (rx->srcs[i].len == len && memcmp(rx->srcs[i].addr, addr, len) == 0)
            break;
    }
    if (i == rx->nsrcs) {
        if (rx->nsrcs == XP_MAX_SRCS)
            return;
        memcpy(rx->srcs[i].addr, addr, len);
        rx->srcs[i].len = len;
        rx->nsrcs++;
    }
    rx->srcs[i].sec++;
    rx->srcs[i].total++;
}

static void xp_rx_verify(struct xp_rx *rx, const struct xp_opts *o, const uint8_t *f,
                         unsigned len, unsigned pl)
{
    static uint8_t want[XP_MAX_FRAME];
    uint32_t seq = xp_get32(f + pl + 8);
    bool same;

    rx->received++;
    if (seq >= o->expect) {
        rx->corrupt++;
        return;
    }
    if (rx->seen[seq]) {
        rx->duplicates++;
        return;
    }
    xp_gen_frame(&o->gen, seq, want);
    /* A longer frame is accepted only if the extra bytes are Ethernet padding. */
    same = len >= o->gen.size && memcmp(f, want, o->gen.size) == 0;
    for (unsigned i = o->gen.size; same && i < len; i++)
        same = f[i] == 0;
    rx->distinct++;
    if (same) {
        rx->seen[seq] = 1;
        rx->identical++;
        rx->per_flow[xp_flow_of(&o->gen, seq)]++;
    } else {
        rx->seen[seq] = 2;
        rx->corrupt++;
    }
}

static void xp_print_srcs(const struct xp_rx *rx, bool totals)
{
    char s[INET6_ADDRSTRLEN];

    putchar('{');
    for (unsigned i = 0; i < rx->nsrcs; i++) {
        xp_addr_str(rx->srcs[i].addr, rx->srcs[i].len, s, sizeof(s));
        printf("%s\"%s\":%" PRIu64, i ? "," : "", s,
               totals ? rx->srcs[i].total : rx->srcs[i].sec);
    }
    putchar('}');
}

static int xp_cmd_recv(const struct xp_opts *o)
{
    static uint8_t bufs[XP_BATCH][XP_MAX_FRAME];
    struct sockaddr_ll from[XP_BATCH];
    struct mmsghdr msgs[XP_BATCH];
    struct iovec iov[XP_BATCH];
    struct xp_rx *rx;
    double t0, deadline, next_tick;
    uint64_t tick = 0, rx_total = 0;
    int fd, ifindex, ret;

    if (!o->count_only && o->expect == 0) {
        fprintf(stderr, "xp_pktio: recv needs --expect N (or --count-only)\n");
        return XP_EXIT_USAGE;
    }
    rx = calloc(1, sizeof(*rx));
    if (!rx)
        return XP_EXIT_SYS;
    if (!o->count_only) {
        rx->seen = calloc(o->expect, 1);
        rx->per_flow = calloc(o->gen.flows, sizeof(*rx->per_flow));
        if (!rx->seen || !rx->per_flow) {
            ret = XP_EXIT_SYS;
            goto out_free;
        }
    }

    fd = xp_open_packet(o->ifname, &ifindex);
    if (fd < 0) {
        ret = XP_EXIT_SYS;
        goto out_free;
    }
    xp_set_bufs(fd, SO_RCVBUFFORCE, SO_RCVBUF, 64 << 20);
    xp_install_signals();
    xp_signal_ready(o->ready_file);

    memset(msgs, 0, sizeof(msgs));
    for (unsigned i = 0; i < XP_BATCH; i++) {
        iov[i].iov_base = bufs[i];
        iov[i].iov_len = XP_MAX_FRAME;
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
        msgs[i].msg_hdr.msg_name = &from[i];
    }

    t0 = xp_now();
    next_tick = t0 + 1;
    /* --timeout and --duration mean the same for recv: the first one given bounds it. */
    deadline = o->timeout > 0 ? t0 + o->timeout : o->duration > 0 ? t0 + o->duration : 0;
    while (!xp_stop) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        double now = xp_now();
        int n;

        if (!o->count_only && rx->distinct >= o->expect)
            break;
        if (o->count_only && o->expect && rx_total >= o->expect)
            break;
        if (deadline && now >= deadline)
            break;
        if (o->count_only && now >= next_tick) {
            tick++;
            printf("{\"t\":%" PRIu64 ",\"total\":%" PRIu64 ",\"per_src\":", tick, rx->sec_total);
            xp_print_srcs(rx, false);
            printf("}\n");
            fflush(stdout);
            rx->sec_total = 0;
            for (unsigned i = 0; i < rx->nsrcs; i++)
                rx->srcs[i].sec = 0;
            next_tick += 1;
            continue;
        }
        if (poll(&pfd, 1, 100) <= 0)
            continue;
        for (unsigned i = 0; i < XP_BATCH; i++)
            msgs[i].msg_hdr.msg_namelen = sizeof(from[i]);
        n = recvmmsg(fd, msgs, XP_BATCH, MSG_DONTWAIT, NULL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR)
                continue;
            fprintf(stderr, "xp_pktio: recvmmsg: %s\n", strerror(errno));
            ret = XP_EXIT_SYS;
            goto out_close;
        }
        for (int i = 0; i < n; i++) {
            unsigned len = msgs[i].msg_len, so, sl, pl;

            if (from[i].sll_pkttype == PACKET_OUTGOING)
                continue;
            pl = xp_parse_ours(bufs[i], len, o->gen.tag, o->count_only, &so, &sl);
            if (!pl) {
                rx->foreign++;
                continue;
            }
            if (o->count_only) {
                rx_total++;
                rx->sec_total++;
                xp_rx_count_src(rx, bufs[i] + so, sl);
            } else {
                xp_rx_verify(rx, o, bufs[i], len, pl);
            }
        }
    }

    if (o->count_only) {
        printf("{\"final\":true,\"seconds\":%.3f,\"received\":%" PRIu64 ",\"per_src\":",
               xp_now() - t0, rx_total);
        xp_print_srcs(rx, true);
        printf("}\n");
        ret = XP_EXIT_OK;
    } else {
        printf("{\"received\":%" PRIu64 ",\"identical\":%" PRIu64 ",\"corrupt\":%" PRIu64
               ",\"duplicates\":%" PRIu64 ",\"missing\":%" PRIu64 ",\"foreign\":%" PRIu64
               ",\"expect\":%" PRIu64 ",\"seconds\":%.3f,\"per_flow\":{",
               rx->received, rx->identical, rx->corrupt, rx->duplicates,
               o->expect - rx->distinct, rx->foreign, o->expect, xp_now() - t0);
        for (unsigned f = 0; f < o->gen.flows; f++)
            printf("%s\"%u\":%" PRIu64, f ? "," : "", f, rx->per_flow[f]);
        printf("}}\n");
        ret = rx->identical == o->expect && rx->corrupt == 0 ? XP_EXIT_OK : XP_EXIT_VERIFY;
    }
    fflush(stdout);
out_close:
    close(fd);
out_free:
    free(rx->seen);
    free(rx->per_flow);
    free(rx);
    return ret;
}

/* ---- probe and xdp-hold: raw bpf(2), no libbpf ---- */

static int xp_bpf(int cmd, union bpf_attr *attr)
{
    return (int)syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

/* Loads "return XDP_PASS" and returns its fd, or a negative errno. */
static int xp_load_xdp_pass(void)
{
    struct bpf_insn insns[] = {
        { .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = XDP_PASS },
        { .code = BPF_JMP | BPF_EXIT },
    };
    static const char license[] = "GPL";
    union bpf_attr attr;
    int fd;

    memset(&attr, 0, sizeof(attr));
    attr.prog_type = BPF_PROG_TYPE_XDP;
    attr.insns = (uint64_t)(uintptr_t)insns;
    attr.insn_cnt = 2;
    attr.license = (uint64_t)(uintptr_t)license;
    attr.expected_attach_type = BPF_XDP;
    strncpy(attr.prog_name, "xp_foreign", sizeof(attr.prog_name) - 1);
    fd = xp_bpf(BPF_PROG_LOAD, &attr);
    if (fd < 0 && errno == EINVAL) {
        attr.expected_attach_type = 0;
        fd = xp_bpf(BPF_PROG_LOAD, &attr);
    }
    return fd < 0 ? -errno : fd;
}

static int xp_cmd_probe(void)
{
    int pfd = xp_load_xdp_pass();
    int xfd = socket(AF_XDP, SOCK_RAW, 0);
    int xerr = xfd < 0 ? errno : 0;

    printf("{\"xdp\":%s,\"af_xdp\":%s}\n", pfd >= 0 ? "true" : "false",
           xfd >= 0 ? "true" : "false");
    if (pfd < 0)
        fprintf(stderr, "xp_pktio: XDP program load: %s\n", strerror(-pfd));
    if (xfd < 0)
        fprintf(stderr, "xp_pktio: socket(AF_XDP): %s\n", strerror(xerr));
    if (pfd >= 0)
        close(pfd);
    if (xfd >= 0)
        close(xfd);
    return pfd >= 0 && xfd >= 0 ? XP_EXIT_OK : XP_EXIT_VERIFY;
}

static int xp_cmd_xdp_hold(const struct xp_opts *o)
{
    union bpf_attr attr;
    int pfd, lfd, ifindex;
    double deadline;

    ifindex = (int)if_nametoindex(o->ifname);
    if (!ifindex) {
        fprintf(stderr, "xp_pktio: interface %s: %s\n", o->ifname, strerror(errno));
        return XP_EXIT_SYS;
    }
    pfd = xp_load_xdp_pass();
    if (pfd < 0) {
        fprintf(stderr, "xp_pktio: XDP program load: %s\n", strerror(-pfd));
        return XP_EXIT_SYS;
    }
    memset(&attr, 0, sizeof(attr));
    attr.link_create.prog_fd = (uint32_t)pfd;
    attr.link_create.target_ifindex = (uint32_t)ifindex;
    attr.link_create.attach_type = BPF_XDP;
    lfd = xp_bpf(BPF_LINK_CREATE, &attr);
    if (lfd < 0) {
        fprintf(stderr, "xp_pktio: attach XDP to %s: %s\n", o->ifname, strerror(errno));
        close(pfd);
        return XP_EXIT_SYS;
    }
    xp_install_signals();
    xp_signal_ready(o->ready_file);
    /* The link, and so the program, goes away with this process. */
    deadline = xp_now() + (o->duration > 0 ? o->duration : 300);
    while (!xp_stop && xp_now() < deadline)
        xp_sleep(0.05);
    close(lfd);
    close(pfd);
    return XP_EXIT_OK;
}

/* ---- options ---- */

#define XP_ETH_P_IPV4 0x0800u

/* capture and replay: the frame file (MODE "wb" or "rb") and a packet socket on --ifname.
 * Returns 0, or the exit code (said on stderr). */
static int xp_open_file_socket(const struct xp_opts *o, const char *mode, FILE **f, int *fd,
                               int *ifindex)
{
    *f = fopen(o->file, mode);
    if (!*f) {
        fprintf(stderr, "xp_pktio: %s: %s\n", o->file, strerror(errno));
        return XP_EXIT_SYS;
    }
    *fd = xp_open_packet(o->ifname, ifindex);
    if (*fd < 0) {
        fclose(*f);
        return XP_EXIT_SYS;
    }
    return 0;
}

static int xp_cmd_capture(const struct xp_opts *o)
{
    static uint8_t buf[XP_MAX_FRAME];
    uint64_t captured = 0;
    double deadline;
    FILE *f;
    int fd, ifindex, ret;

    if (!o->file || o->count == 0) {
        fprintf(stderr, "xp_pktio: capture needs --file PATH and --count N\n");
        return XP_EXIT_USAGE;
    }
    ret = xp_open_file_socket(o, "wb", &f, &fd, &ifindex);
    if (ret)
        return ret;
    xp_install_signals();
    xp_signal_ready(o->ready_file);
    deadline = xp_now() + (o->timeout > 0 ? o->timeout : 10);
    while (!xp_stop && captured < o->count && xp_now() < deadline) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        ssize_t n;
        unsigned ihl;
        uint8_t len[4];

        if (poll(&pfd, 1, 100) <= 0)
            continue;
        n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n < XP_ETH_HLEN + XP_IP4_HLEN + XP_UDP_HLEN)
            continue;
        if ((buf[12] << 8 | buf[13]) != XP_ETH_P_IPV4 || buf[XP_ETH_HLEN + 9] != 17)
            continue;
        ihl = (buf[XP_ETH_HLEN] & 0x0fu) * 4;
        if (ihl < XP_IP4_HLEN || (size_t)n < XP_ETH_HLEN + ihl + XP_UDP_HLEN ||
            (buf[XP_ETH_HLEN + ihl + 2] << 8 | buf[XP_ETH_HLEN + ihl + 3]) != o->gen.dport ||
            (o->size_set && (size_t)n != o->gen.size))
            continue;
        xp_put32(len, (uint32_t)n);
        if (fwrite(len, 1, 4, f) != 4 || fwrite(buf, 1, (size_t)n, f) != (size_t)n) {
            fprintf(stderr, "xp_pktio: %s: write failed\n", o->file);
            break;
        }
        captured++;
    }
    close(fd);
    if (fclose(f) != 0)
        return XP_EXIT_SYS;
    printf("{\"captured\":%" PRIu64 "}\n", captured);
    return captured ? XP_EXIT_OK : XP_EXIT_VERIFY;
}

static int xp_cmd_replay(const struct xp_opts *o)
{
    static uint8_t buf[XP_MAX_FRAME];
    struct sockaddr_ll to = { .sll_family = AF_PACKET };
    uint64_t sent = 0;
    uint8_t len[4];
    double t0 = xp_now();
    FILE *f;
    int fd, ifindex, ret = XP_EXIT_OK;

    if (!o->file) {
        fprintf(stderr, "xp_pktio: replay needs --file PATH\n");
        return XP_EXIT_USAGE;
    }
    ret = xp_open_file_socket(o, "rb", &f, &fd, &ifindex);
    if (ret)
        return ret;
    to.sll_ifindex = ifindex;
    to.sll_halen = 6;
    xp_install_signals();
    for (;;) {
        uint32_t n;

        if (xp_stop || (o->count && sent >= o->count))
            break;
        if (fread(len, 1, 4, f) != 4) {
            if (!o->count || sent == 0 || fseek(f, 0, SEEK_SET) != 0)
                break; /* once through, or round again for --count */
            continue;
        }
        n = xp_get32(len);

        if (n < XP_ETH_HLEN + XP_IP4_HLEN + XP_UDP_HLEN || n > sizeof(buf) ||
            fread(buf, 1, n, f) != n) {
            fprintf(stderr, "xp_pktio: %s: truncated or corrupt capture\n", o->file);
            ret = XP_EXIT_USAGE;
            break;
        }
        if (o->dst_mac_set)
            memcpy(buf, o->gen.dst_mac, 6);
        if (o->dst_ip_set || o->src_ip_set) {
            uint8_t *ip = buf + XP_ETH_HLEN;
            unsigned ihl = (ip[0] & 0x0fu) * 4;

            if (o->src_ip_set)
                memcpy(ip + 12, o->gen.src_ip, 4);
            if (o->dst_ip_set)
                memcpy(ip + 16, o->gen.dst_ip, 4);
            xp_put16(ip + 10, 0);
            xp_put16(ip + 10, xp_csum_fold(xp_csum_add(0, ip, ihl)));
            xp_put16(ip + ihl + 6, 0); /* IPv4 UDP: no checksum */
        }
        if (o->flip >= 0 && (uint32_t)o->flip < n)
            buf[o->flip] ^= 0x01;
        if (o->rate > 0)
            xp_sleep(t0 + (double)sent / o->rate - xp_now());
        memcpy(to.sll_addr, buf, 6);
        if (sendto(fd, buf, n, 0, (struct sockaddr *)&to, sizeof(to)) != (ssize_t)n) {
            fprintf(stderr, "xp_pktio: sendto: %s\n", strerror(errno));
            ret = XP_EXIT_SYS;
            break;
        }
        sent++;
    }
    close(fd);
    fclose(f);
    printf("{\"sent\":%" PRIu64 "}\n", sent);
    return ret;
}

static void xp_usage(FILE *out)
{
    fprintf(out,
            "usage: xp_pktio send --ifname IF --count N [gen options] [--rate PPS] "
            "[--duration SEC]\n"
            "       xp_pktio recv --ifname IF --expect N [gen options] [--timeout SEC] "
            "[--ready-file PATH]\n"
            "       xp_pktio recv --ifname IF --count-only [--duration SEC] [--expect N]\n"
            "       xp_pktio probe\n"
            "       xp_pktio xdp-hold --ifname IF [--duration SEC] [--ready-file PATH]\n"
            "       xp_pktio capture --ifname IF --dst-port P --count N --file PATH "
            "[--timeout SEC] [--ready-file PATH]\n"
            "       xp_pktio replay --ifname IF --file PATH [--dst-mac M] [--dst-ip A] "
            "[--src-ip A] [--flip OFFSET] [--count N] [--rate PPS]\n"
            "       xp_pktio --help | --version\n"
            "gen options: [--flows F] [--units K] [--src-ip A] [--dst-ip B] [--src-mac M]\n"
            "             [--dst-mac M] [--size BYTES] [--seed S] [--v6] [--dst-port P]\n"
            "             [--vlans N (0..4 tags)] [--hbh (IPv6: a hop-by-hop header first)]\n"
            "             [--ethertype HEX (a non-IP frame: ethertype, then the payload)]\n"
            "--count 0 with --duration sends until the duration ends.\n");
}

enum xp_opt_id {
    XP_OPT_IFNAME = 256,
    XP_OPT_COUNT,
    XP_OPT_EXPECT,
    XP_OPT_FLOWS,
    XP_OPT_UNITS,
    XP_OPT_SRC_IP,
    XP_OPT_DST_IP,
    XP_OPT_SRC_MAC,
    XP_OPT_DST_MAC,
    XP_OPT_SIZE,
    XP_OPT_RATE,
    XP_OPT_SEED,
    XP_OPT_V6,
    XP_OPT_DURATION,
    XP_OPT_TIMEOUT,
    XP_OPT_READY_FILE,
    XP_OPT_COUNT_ONLY,
    XP_OPT_HELP,
    XP_OPT_VERSION,
    XP_OPT_DST_PORT,
    XP_OPT_VLANS,
    XP_OPT_HBH,
    XP_OPT_ETHERTYPE,
    XP_OPT_FILE,
    XP_OPT_FLIP,
};

static const struct option xp_long_opts[] = {
    { "ifname", required_argument, NULL, XP_OPT_IFNAME },
    { "count", required_argument, NULL, XP_OPT_COUNT },
    { "expect", required_argument, NULL, XP_OPT_EXPECT },
    { "flows", required_argument, NULL, XP_OPT_FLOWS },
    { "units", required_argument, NULL, XP_OPT_UNITS },
    { "src-ip", required_argument, NULL, XP_OPT_SRC_IP },
    { "dst-ip", required_argument, NULL, XP_OPT_DST_IP },
    { "src-mac", required_argument, NULL, XP_OPT_SRC_MAC },
    { "dst-mac", required_argument, NULL, XP_OPT_DST_MAC },
    { "size", required_argument, NULL, XP_OPT_SIZE },
    { "rate", required_argument, NULL, XP_OPT_RATE },
    { "seed", required_argument, NULL, XP_OPT_SEED },
    { "v6", no_argument, NULL, XP_OPT_V6 },
    { "duration", required_argument, NULL, XP_OPT_DURATION },
    { "timeout", required_argument, NULL, XP_OPT_TIMEOUT },
    { "ready-file", required_argument, NULL, XP_OPT_READY_FILE },
    { "count-only", no_argument, NULL, XP_OPT_COUNT_ONLY },
    { "help", no_argument, NULL, XP_OPT_HELP },
    { "version", no_argument, NULL, XP_OPT_VERSION },
    { "dst-port", required_argument, NULL, XP_OPT_DST_PORT },
    { "vlans", required_argument, NULL, XP_OPT_VLANS },
    { "hbh", no_argument, NULL, XP_OPT_HBH },
    { "ethertype", required_argument, NULL, XP_OPT_ETHERTYPE },
    { "file", required_argument, NULL, XP_OPT_FILE },
    { "flip", required_argument, NULL, XP_OPT_FLIP },
    { NULL, 0, NULL, 0 },
};

static int xp_parse_u64(const char *s, uint64_t *v)
{
    char *end;

    errno = 0;
    *v = strtoull(s, &end, 0);
    return errno || *end || s[0] == '-' ? -EINVAL : 0;
}

static int xp_parse_double(const char *s, double *v)
{
    char *end;

    errno = 0;
    *v = strtod(s, &end);
    return errno || *end || *v < 0 ? -EINVAL : 0;
}

static int xp_parse_opts(int argc, char **argv, struct xp_opts *o)
{
    const char *src_ip = NULL, *dst_ip = NULL;
    uint64_t v, st;
    int c;

    memset(o, 0, sizeof(*o));
    xp_parse_mac("02:00:00:00:00:01", o->gen.src_mac);
    xp_parse_mac("02:00:00:00:00:02", o->gen.dst_mac);
    o->gen.flows = 1;
    o->gen.dport = XP_DPORT;
    o->gen.units = 1;
    o->gen.seed = 1;
    o->flip = -1;

    while ((c = getopt_long(argc, argv, "hV", xp_long_opts, NULL)) != -1) {
        switch (c) {
        case XP_OPT_IFNAME:
            o->ifname = optarg;
            break;
        case XP_OPT_COUNT:
            if (xp_parse_u64(optarg, &o->count) || o->count > UINT32_MAX)
                goto bad;
            break;
        case XP_OPT_EXPECT:
            if (xp_parse_u64(optarg, &o->expect) || o->expect > UINT32_MAX)
                goto bad;
            break;
        case XP_OPT_FLOWS:
            if (xp_parse_u64(optarg, &v) || v == 0 || v > 65536 - XP_SPORT_BASE)
                goto bad;
            o->gen.flows = (unsigned)v;
            break;
        case XP_OPT_UNITS:
            if (xp_parse_u64(optarg, &v) || v == 0 || v > XP_MAX_SRCS)
                goto bad;
            o->gen.units = (unsigned)v;
            break;
        case XP_OPT_SRC_IP:
            src_ip = optarg;
            o->src_ip_set = true;
            break;
        case XP_OPT_DST_IP:
            dst_ip = optarg;
            o->dst_ip_set = true;
            break;
        case XP_OPT_SRC_MAC:
            if (xp_parse_mac(optarg, o->gen.src_mac))
                goto bad;
            break;
        case XP_OPT_DST_MAC:
            if (xp_parse_mac(optarg, o->gen.dst_mac))
                goto bad;
            o->dst_mac_set = true;
            break;
        case XP_OPT_FILE:
            o->file = optarg;
            break;
        case XP_OPT_FLIP:
            if (xp_parse_u64(optarg, &v) || v >= XP_MAX_FRAME)
                goto bad;
            o->flip = (long)v;
            break;
        case XP_OPT_DST_PORT:
            if (xp_parse_u64(optarg, &v) || v == 0 || v > 65535)
                goto bad;
            o->gen.dport = (uint16_t)v;
            break;
        case XP_OPT_VLANS:
            if (xp_parse_u64(optarg, &v) || v > XP_MAX_VLANS)
                goto bad;
            o->gen.vlans = (unsigned)v;
            break;
        case XP_OPT_HBH:
            o->gen.hbh = true;
            break;
        case XP_OPT_ETHERTYPE: {
            char *end;
            unsigned long et = strtoul(optarg, &end, 16);

            /* not IP, not ARP, not a VLAN tag, not an 802.3 length */
            if (*optarg == '\0' || *end || et < 0x0600 || et > 0xffff || et == 0x0800 ||
                et == 0x86dd || et == 0x0806 || et == 0x8100 || et == 0x88a8)
                goto bad;
            o->gen.ethertype = (uint16_t)et;
            break;
        }
        case XP_OPT_SIZE:
            if (xp_parse_u64(optarg, &v) || v > XP_MAX_FRAME)
                goto bad;
            o->gen.size = (unsigned)v;
            o->size_set = true;
            break;
        case XP_OPT_RATE:
            if (xp_parse_double(optarg, &o->rate))
                goto bad;
            break;
        case XP_OPT_SEED:
            if (xp_parse_u64(optarg, &o->gen.seed))
                goto bad;
            break;
        case XP_OPT_V6:
            o->gen.v6 = true;
            break;
        case XP_OPT_DURATION:
            if (xp_parse_double(optarg, &o->duration))
                goto bad;
            break;
        case XP_OPT_TIMEOUT:
            if (xp_parse_double(optarg, &o->timeout))
                goto bad;
            break;
        case XP_OPT_READY_FILE:
            o->ready_file = optarg;
            break;
        case XP_OPT_COUNT_ONLY:
            o->count_only = true;
            break;
        case 'h':
        case XP_OPT_HELP:
            xp_usage(stdout);
            exit(XP_EXIT_OK);
        case 'V':
        case XP_OPT_VERSION:
            printf("xp_pktio %s\n", XP_VERSION);
            exit(XP_EXIT_OK);
        default:
            return -EINVAL;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "xp_pktio: unexpected argument %s\n", argv[optind]);
        return -EINVAL;
    }

    if (!src_ip)
        src_ip = o->gen.v6 ? "2001:2::1" : "198.18.0.1";
    if (!dst_ip)
        dst_ip = o->gen.v6 ? "2001:2::fe" : "198.18.0.254";
    if (inet_pton(o->gen.v6 ? AF_INET6 : AF_INET, src_ip, o->gen.src_ip) != 1 ||
        inet_pton(o->gen.v6 ? AF_INET6 : AF_INET, dst_ip, o->gen.dst_ip) != 1) {
        fprintf(stderr, "xp_pktio: bad %s address (%s -> %s)\n", o->gen.v6 ? "IPv6" : "IPv4",
                src_ip, dst_ip);
        return -EINVAL;
    }
    if (o->gen.flows < o->gen.units)
        o->gen.flows = o->gen.units;
    if (o->gen.hbh && !o->gen.v6) {
        fprintf(stderr, "xp_pktio: --hbh needs --v6\n");
        return -EINVAL;
    }
    if (o->gen.size == 0)
        o->gen.size = (o->gen.v6 ? 80 : 64) + o->gen.vlans * XP_VLAN_HLEN +
                      (o->gen.hbh ? XP_HBH_HLEN : 0);
    if (o->gen.size < xp_hdr_len(&o->gen) + XP_PL_HDR) {
        fprintf(stderr, "xp_pktio: --size must be at least %u\n",
                xp_hdr_len(&o->gen) + XP_PL_HDR);
        return -EINVAL;
    }
    st = o->gen.seed;
    o->gen.tag = (uint32_t)xp_splitmix64(&st);
    return 0;
bad:
    fprintf(stderr, "xp_pktio: bad value for --%s: %s\n", xp_long_opts[c - XP_OPT_IFNAME].name,
            optarg);
    return -EINVAL;
}

int main(int argc, char **argv)
{
    struct xp_opts o;
    const char *cmd;

    if (argc < 2) {
        xp_usage(stderr);
        return XP_EXIT_USAGE;
    }
    cmd = argv[1];
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0) {
        xp_usage(stdout);
        return XP_EXIT_OK;
    }
    if (strcmp(cmd, "-V") == 0 || strcmp(cmd, "--version") == 0) {
        printf("xp_pktio %s\n", XP_VERSION);
        return XP_EXIT_OK;
    }
    if (xp_parse_opts(argc - 1, argv + 1, &o)) {
        xp_usage(stderr);
        return XP_EXIT_USAGE;
    }
    if (strcmp(cmd, "probe") == 0)
        return xp_cmd_probe();
    if (!o.ifname) {
        fprintf(stderr, "xp_pktio: %s needs --ifname\n", cmd);
        return XP_EXIT_USAGE;
    }
    if (strcmp(cmd, "send") == 0) {
        if (o.count == 0 && o.duration <= 0) {
            fprintf(stderr, "xp_pktio: send needs --count N or --duration SEC\n");
            return XP_EXIT_USAGE;
        }
        return xp_cmd_send(&o);
    }
    if (strcmp(cmd, "recv") == 0)
        return xp_cmd_recv(&o);
    if (strcmp(cmd, "xdp-hold") == 0)
        return xp_cmd_xdp_hold(&o);
    if (strcmp(cmd, "capture") == 0)
        return xp_cmd_capture(&o);
    if (strcmp(cmd, "replay") == 0) {
        if (o.dst_ip_set && o.gen.v6) {
            fprintf(stderr, "xp_pktio: replay re-addresses IPv4 only\n");
            return XP_EXIT_USAGE;
        }
        return xp_cmd_replay(&o);
    }
    fprintf(stderr, "xp_pktio: unknown command %s\n", cmd);
    xp_usage(stderr);
    return XP_EXIT_USAGE;
}
