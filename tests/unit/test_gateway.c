// SPDX-License-Identifier: GPL-2.0-only
/*
 * Gateway mode's data path on crafted frames in a UMEM-like buffer: a
 * unit's DATA becomes the inner packet behind the next hop's Ethernet
 * header, within its frame (the handle stays the backend's), a keepalive is answered in place
 * with W (OVERLOAD at capacity) and valid checksums, and every refusal is
 * counted by its reason: replays (also towards another worker), forged
 * tags, unknown units, truncated and nested tunnels, spoofed inner
 * sources, bad outer UDP lengths, no route, no neighbour (which asks for
 * resolution). A flooding unit is policed by its id, the other unit not.
 * A datagram is good for one proxy and one run: replayed to another proxy
 * or to this one after a restart, it is refused unopened. Keys rotate by
 * reload without a lost datagram. A source that keeps failing the tag is
 * limited before any MAC work.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/proxy/config.h"
#include "src/gateway/gateway.h"
#include "src/pipeline/pipeline.h"
#include "src/tunnel/tunnel.h"
#include "xp_check.h"

#define MS 1000000ULL
#define FRAME 2048
#define T0 (11000000000000ULL * MS)

static const char *conf_text =
    "{\"ports\": {\"access\": \"a\", \"core\": \"b\"}, \"mode\": \"gateway\",\n"
    " \"policer\": {\"t_t1_ms\": 100, \"t_t2_ms\": 100, \"t_t3_ms\": 100, \"r\": 1,\n"
    "              \"t_f1_pps\": 1000, \"t_f2_pps\": 1000000000},\n"
    " \"gateway\": {\"tunnel_id\": 3, \"mac_fail_pps\": 1000000, \"units\": [\n"
    "   {\"id\": 7, \"key\": \"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\",\n"
    "    \"sources\": [\"198.18.2.2/32\", \"2001:2:0:2::/64\"]},\n"
    "   {\"id\": 9, \"key\": \"f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff\", \"sources\": [\"198.18.2.9/32\"]}]}}";

static const uint8_t key7[32] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
                                  16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31 };
static const uint8_t key9[16] = { 0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7,
                                  0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff };
static const uint8_t mac_unit_gw[6] = { 2, 0, 0, 0, 0, 1 }, mac_proxy_access[6] = { 2, 0, 0, 0, 0, 2 };
static const uint8_t mac_core[6] = { 2, 0, 0, 0, 0, 3 }, mac_router[6] = { 2, 0, 0, 0, 0, 4 };
static const uint8_t mac_server[6] = { 2, 0, 0, 0, 0, 5 };

static uint8_t *umem;
/* After check_reload: the policer and the limiters only ever see time go forward. */
#define T_MANUAL (T0 + 40000 * MS)

/*
 * The buffer's side of the burst interface, as the AF_XDP backend defines it:
 * frames are FRAME-aligned chunks, room() runs to the end of the chunk.
 */
static uint32_t umem_room(void *queue, const struct xp_pkt *pkt)
{
    uint64_t off = (uint64_t)(pkt->data - umem);

    (void)queue;
    return FRAME - (uint32_t)(off & (FRAME - 1));
}

static const struct xp_io_ops umem_io = { .name = "test-umem", .room = umem_room };
/* The gateway under test: its tunnel id and this run's epoch (random, read back). */
static struct xp_tunnel_addr g_to;

static void map4(uint8_t out[16], const char *v4)
{
    memset(out, 0, 16);
    out[10] = out[11] = 0xff;
    inet_pton(AF_INET, v4, out + 12);
}

/* An inner IPv4/UDP packet of 28 + payload bytes. */
static unsigned inner4(uint8_t *p, const char *src, const char *dst, uint16_t dport)
{
    memset(p, 0, 36);
    p[0] = 0x45;
    p[3] = 36;
    p[8] = 64;
    p[9] = 17;
    inet_pton(AF_INET, src, p + 12);
    inet_pton(AF_INET, dst, p + 16);
    p[20] = 0xc0;
    p[21] = 0x01;
    p[22] = dport >> 8;
    p[23] = dport & 0xff;
    p[25] = 16;
    memcpy(p + 28, "coap-get", 8);
    {
        uint32_t sum = 0;

        for (int i = 0; i < 20; i += 2)
            sum += (uint32_t)p[i] << 8 | p[i + 1];
        while (sum >> 16)
            sum = (sum & 0xffff) + (sum >> 16);
        p[10] = (uint8_t)(~sum >> 8);
        p[11] = (uint8_t)~sum;
    }
    return 36;
}

/* What the proxy sends for inner: TTL one less, header checksum still right. */
static void forwarded4(uint8_t *p)
{
    uint32_t sum = 0;

    p[8]--;
    p[10] = p[11] = 0;
    for (int i = 0; i < 20; i += 2)
        sum += (uint32_t)p[i] << 8 | p[i + 1];
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    p[10] = (uint8_t)(~sum >> 8);
    p[11] = (uint8_t)~sum;
}

/*
 * Frame slot `slot` of the buffer: Ethernet + outer IPv4 + UDP to 5685
 * carrying a tunnel datagram of `type` from unit (id, key). Returns the
 * frame length; the frame starts 256 bytes into its chunk, as the kernel
 * puts it.
 */
static struct xp_pkt tunnel_frame_full(unsigned slot, bool v6, const struct xp_tunnel_addr *to,
                                       uint32_t unit, uint8_t key_id, const uint8_t *secret,
                                       size_t secret_len, uint64_t seq, enum xp_tunnel_type type,
                                       const uint8_t *body, unsigned body_len)
{
    uint8_t *f = umem + (size_t)slot * FRAME + 256;
    unsigned l4 = v6 ? 54 : 34;
    struct xp_tunnel_key key;
    struct xp_pkt pkt;
    int plen;

    memset(f, 0, 256);
    memcpy(f, mac_proxy_access, 6);
    memcpy(f + 6, mac_unit_gw, 6);
    if (v6) {
        f[12] = 0x86;
        f[13] = 0xdd;
        f[14] = 0x60;
        f[20] = 17;
        f[21] = 63;
        inet_pton(AF_INET6, "2001:2:9::50", f + 22); /* the unit's outer address */
        inet_pton(AF_INET6, "2001:2:1::1", f + 38);  /* the proxy */
    } else {
        f[12] = 0x08;
        f[14] = 0x45;
        f[22] = 63;
        f[23] = 17;
        inet_pton(AF_INET, "198.18.9.50", f + 26); /* the unit's outer (NAT) address */
        inet_pton(AF_INET, "198.18.1.1", f + 30);  /* the proxy */
    }
    f[l4] = 0x9c;
    f[l4 + 1] = 0x40;                              /* sport 40000 */
    f[l4 + 2] = 5685 >> 8;
    f[l4 + 3] = 5685 & 0xff;
    xp_tunnel_key__set(&key, unit, key_id, secret, secret_len);
    plen = xp_tunnel_encap(f + l4 + 8, FRAME - 256 - l4 - 8, type, to, seq, &key, body, body_len);
    f[l4 + 4] = (uint8_t)((plen + 8) >> 8);
    f[l4 + 5] = (uint8_t)(plen + 8);
    if (v6) {
        f[18] = (uint8_t)((plen + 8) >> 8);
        f[19] = (uint8_t)(plen + 8);
    } else {
        f[16] = (uint8_t)((plen + 28) >> 8);
        f[17] = (uint8_t)(plen + 28);
    }
    pkt.data = f;
    pkt.len = l4 + 8 + plen;
    pkt.port = 0;
    pkt.handle = (uint64_t)slot * FRAME + 256;
    return pkt;
}

static struct xp_pkt tunnel_frame_outer(unsigned slot, bool v6, uint32_t unit,
                                        const uint8_t *secret, size_t secret_len, uint64_t seq,
                                        enum xp_tunnel_type type, const uint8_t *body,
                                        unsigned body_len)
{
    return tunnel_frame_full(slot, v6, &g_to, unit, 0, secret, secret_len, seq, type, body,
                             body_len);
}

static struct xp_pkt tunnel_frame(unsigned slot, uint32_t unit, const uint8_t *secret,
                                  size_t secret_len, uint64_t seq, enum xp_tunnel_type type,
                                  const uint8_t *body, unsigned body_len)
{
    return tunnel_frame_outer(slot, false, unit, secret, secret_len, seq, type, body, body_len);
}

static struct xp_pkt data_frame(unsigned slot, uint32_t unit, uint64_t seq, const char *src,
                                const char *dst, uint16_t dport)
{
    uint8_t inner[64];
    unsigned n = inner4(inner, src, dst, dport);

    return unit == 9 ? tunnel_frame(slot, unit, key9, sizeof(key9), seq, XP_TUNNEL_T_DATA, inner, n)
                     : tunnel_frame(slot, unit, key7, sizeof(key7), seq, XP_TUNNEL_T_DATA, inner, n);
}

static uint8_t one(struct xp_gw_queue *q, struct xp_pkt *pkt, uint64_t t)
{
    uint8_t fate;

    xp_gw_queue__process(q, pkt, 1, &fate, t, t);
    return fate;
}

static uint16_t csum(const uint8_t *p, size_t len, uint32_t sum)
{
    for (; len > 1; p += 2, len -= 2)
        sum += (uint32_t)p[0] << 8 | p[1];
    if (len)
        sum += (uint32_t)p[0] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static void check_forward(struct xp_gw_queue *q)
{
    struct xp_pkt pkt = data_frame(0, 7, 100, "198.18.2.2", "198.18.3.9", 5683);
    uint64_t handle = pkt.handle;
    uint8_t inner[64];
    unsigned n = inner4(inner, "198.18.2.2", "198.18.3.9", 5683);

    CHECK_EQ(one(q, &pkt, T0), XP_GW_FATE_CORE);
    CHECK_EQ(pkt.len, n + 14);
    CHECK(memcmp(pkt.data, mac_server, 6) == 0);   /* on link: the destination's MAC */
    CHECK(memcmp(pkt.data + 6, mac_core, 6) == 0);
    CHECK(pkt.data[12] == 0x08 && pkt.data[13] == 0x00);
    forwarded4(inner);
    CHECK(memcmp(pkt.data + 14, inner, n) == 0);   /* the inner packet, TTL - 1 (checksum too) */
    CHECK_EQ(pkt.handle, handle);                 /* the backend's reference: unchanged */
    CHECK(pkt.data >= umem && pkt.data + pkt.len <= umem + FRAME); /* still inside its frame */

    /* Off link: the default route's gateway. */
    pkt = data_frame(1, 7, 101, "198.18.2.2", "198.19.5.5", 5683);
    CHECK_EQ(one(q, &pkt, T0), XP_GW_FATE_CORE);
    CHECK(memcmp(pkt.data, mac_router, 6) == 0);
}

static void check_keepalive(struct xp_gateway *gw, struct xp_gw_queue *q)
{
    struct xp_tunnel_key key;
    struct xp_tunnel_window win;
    struct xp_tunnel_result res;
    struct xp_pkt pkt;
    uint8_t *ip, *udp;

    xp_tunnel_key__set(&key, 7, 0, key7, sizeof(key7));
    xp_tunnel_window__init(&win, 7);
    xp_gateway__set_load(gw, 250);
    pkt = tunnel_frame(2, 7, key7, sizeof(key7), 102, XP_TUNNEL_T_KEEPALIVE, NULL, 0);
    CHECK_EQ(one(q, &pkt, T0), XP_GW_FATE_ACCESS);
    ip = pkt.data + 14;
    udp = ip + 20;
    CHECK(memcmp(pkt.data, mac_unit_gw, 6) == 0);  /* back the way it came */
    CHECK(memcmp(pkt.data + 6, mac_proxy_access, 6) == 0);
    {
        uint8_t a[4];

        inet_pton(AF_INET, "198.18.1.1", a);
        CHECK(memcmp(ip + 12, a, 4) == 0);
        inet_pton(AF_INET, "198.18.9.50", a);
        CHECK(memcmp(ip + 16, a, 4) == 0);
    }
    CHECK_EQ(udp[0] << 8 | udp[1], 5685);
    CHECK_EQ(udp[2] << 8 | udp[3], 40000);
    CHECK_EQ(pkt.len, 14 + 20 + 8 + XP_TUNNEL_HDR_LEN + XP_TUNNEL_CTL_BODY_LEN);
    CHECK_EQ(ip[2] << 8 | ip[3], pkt.len - 14);
    CHECK_EQ(csum(ip, 20, 0), 0);                 /* IPv4 header checksum */
    CHECK_EQ(csum(udp, pkt.len - 34, csum(ip + 12, 8, 17 + pkt.len - 34) ^ 0xffff), 0);
    CHECK_EQ(xp_tunnel_decap_control(udp + 8, pkt.len - 42, &key, g_to.proxy_id, &win, &res),
             XP_TUNNEL_OK);
    CHECK_EQ(res.type, XP_TUNNEL_T_KEEPALIVE_ACK);
    CHECK_EQ(res.echo_seq, 102);
    CHECK_EQ(res.epoch, g_to.epoch); /* what the unit learns */
    CHECK(g_to.epoch != 0);
    CHECK_EQ(res.w_permille, 250);

    /* At capacity the answer is an overload report. */
    xp_gateway__set_load(gw, 1000);
    pkt = tunnel_frame(2, 7, key7, sizeof(key7), 103, XP_TUNNEL_T_KEEPALIVE, NULL, 0);
    CHECK_EQ(one(q, &pkt, T0), XP_GW_FATE_ACCESS);
    CHECK_EQ(xp_tunnel_decap_control(pkt.data + 42, pkt.len - 42, &key, g_to.proxy_id, &win, &res),
             XP_TUNNEL_OK);
    CHECK_EQ(res.type, XP_TUNNEL_T_OVERLOAD);
    CHECK_EQ(res.w_permille, 1000);
    xp_gateway__set_load(gw, 0);
}

/* The tunnel over IPv6: a keepalive answered with a valid UDP checksum, DATA forwarded. */
static void check_ipv6_outer(struct xp_gw_queue *q)
{
    struct xp_tunnel_key key;
    struct xp_tunnel_window win;
    struct xp_tunnel_result res;
    uint8_t a[16], inner[64];
    struct xp_pkt pkt;
    uint8_t *ip, *udp;
    unsigned n, ulen;

    xp_tunnel_key__set(&key, 7, 0, key7, sizeof(key7));
    xp_tunnel_window__init(&win, 7);
    pkt = tunnel_frame_outer(7, true, 7, key7, sizeof(key7), 104, XP_TUNNEL_T_KEEPALIVE, NULL, 0);
    CHECK_EQ(one(q, &pkt, T0), XP_GW_FATE_ACCESS);
    ip = pkt.data + 14;
    udp = ip + 40;
    ulen = pkt.len - 54;
    CHECK_EQ(ulen, 8 + XP_TUNNEL_HDR_LEN + XP_TUNNEL_CTL_BODY_LEN);
    CHECK_EQ(ip[4] << 8 | ip[5], ulen);           /* payload length */
    CHECK_EQ(udp[4] << 8 | udp[5], ulen);
    inet_pton(AF_INET6, "2001:2:1::1", a);
    CHECK(memcmp(ip + 8, a, 16) == 0);
    inet_pton(AF_INET6, "2001:2:9::50", a);
    CHECK(memcmp(ip + 24, a, 16) == 0);
    CHECK(udp[6] | udp[7]);                       /* IPv6 UDP must carry a checksum */
    CHECK_EQ(csum(udp, ulen, csum(ip + 8, 32, 17 + ulen) ^ 0xffff), 0);
    CHECK_EQ(xp_tunnel_decap_control(udp + 8, ulen - 8, &key, g_to.proxy_id, &win, &res),
             XP_TUNNEL_OK);
    CHECK_EQ(res.echo_seq, 104);

    n = inner4(inner, "198.18.2.2", "198.18.3.9", 5683);
    pkt = tunnel_frame_outer(7, true, 7, key7, sizeof(key7), 105, XP_TUNNEL_T_DATA, inner, n);
    CHECK_EQ(one(q, &pkt, T0), XP_GW_FATE_CORE);
    CHECK_EQ(pkt.len, n + 14);
    CHECK(memcmp(pkt.data, mac_server, 6) == 0);
    forwarded4(inner);
    CHECK(memcmp(pkt.data + 14, inner, n) == 0);
}

static void check_refusals(struct xp_gw_queue *q, struct xp_gw_queue *q2)
{
    struct xp_gw_stats st;
    struct xp_pkt pkt;
    uint8_t inner[64];
    uint8_t miss[4][16], want[16];
    unsigned n;

    /* seq 100 was used by check_forward: a replay, on this worker and on another. */
    pkt = data_frame(3, 7, 100, "198.18.2.2", "198.18.3.9", 5683);
    CHECK_EQ(one(q, &pkt, T0), XP_GW_FATE_DROP);
    pkt = data_frame(3, 7, 101, "198.18.2.2", "198.18.3.9", 5683);
    CHECK_EQ(one(q2, &pkt, T0), XP_GW_FATE_DROP);
    /* Forged: one bit of the tag. */
    pkt = data_frame(3, 7, 300, "198.18.2.2", "198.18.3.9", 5683);
    pkt.data[42 + 25] ^= 1;
    CHECK_EQ(one(q, &pkt, T0), XP_GW_FATE_DROP);
    /* A unit id nobody configured. */
    n = inner4(inner, "198.18.2.2", "198.18.3.9", 5683);
    pkt = tunnel_frame(3, 8, key7, sizeof(key7), 301, XP_TUNNEL_T_DATA, inner, n);
    CHECK_EQ(one(q, &pkt, T0), XP_GW_FATE_DROP);
    /* Truncated: a UDP payload shorter than the tunnel header (lengths kept consistent). */
    pkt = data_frame(3, 7, 302, "198.18.2.2", "198.18.3.9", 5683);
    pkt.data[39] = 8 + 20;
    pkt.data[17] = 28 + 20;
    pkt.data[16] = 0;
    pkt.len = 42 + 20;
    CHECK_EQ(one(q, &pkt, T0), XP_GW_FATE_DROP);
    /* A tunnel inside the tunnel. */
    pkt = data_frame(3, 7, 303, "198.18.2.2", "198.18.3.9", 5685);
    CHECK_EQ(one(q, &pkt, T0), XP_GW_FATE_DROP);
    /* Unit 7 wearing unit 9's inner address. */
    pkt = data_frame(3, 7, 304, "198.18.2.9", "198.18.3.9", 5683);
    CHECK_EQ(one(q, &pkt, T0), XP_GW_FATE_DROP);
    /* Outer UDP length that disagrees with the IP length. */
    pkt = data_frame(3, 7, 305, "198.18.2.2", "198.18.3.9", 5683);
    pkt.data[39]--;
    CHECK_EQ(one(q, &pkt, T0), XP_GW_FATE_DROP);
    /* No route for IPv6 inner destinations on this core port. */
    {
        uint8_t p6[48] = { 0x60, 0, 0, 0, 0, 8, 17, 64 };

        inet_pton(AF_INET6, "2001:2:0:2::5", p6 + 8);
        inet_pton(AF_INET6, "2001:2:0:3::5", p6 + 24);
        p6[42] = 5683 >> 8;
        p6[43] = 5683 & 0xff;
        p6[45] = 8;
        pkt = tunnel_frame(3, 7, key7, sizeof(key7), 306, XP_TUNNEL_T_DATA, p6, 48);
        CHECK_EQ(one(q, &pkt, T0), XP_GW_FATE_DROP);
    }
    /* A blackholed prefix inside the default route's space: no route. */
    pkt = data_frame(3, 7, 320, "198.18.2.2", "198.19.200.5", 5683);
    CHECK_EQ(one(q, &pkt, T0), XP_GW_FATE_DROP);
    /* What no router forwards: multicast, limited broadcast, link-local, loopback. */
    pkt = data_frame(3, 7, 321, "198.18.2.2", "224.0.0.1", 5683);
    CHECK_EQ(one(q, &pkt, T0), XP_GW_FATE_DROP);
    pkt = data_frame(3, 7, 322, "198.18.2.2", "255.255.255.255", 5683);
    CHECK_EQ(one(q, &pkt, T0), XP_GW_FATE_DROP);
    pkt = data_frame(3, 7, 323, "198.18.2.2", "169.254.1.1", 5683);
    CHECK_EQ(one(q, &pkt, T0), XP_GW_FATE_DROP);
    pkt = data_frame(3, 7, 324, "198.18.2.2", "127.0.0.1", 5683);
    CHECK_EQ(one(q, &pkt, T0), XP_GW_FATE_DROP);
    /* TTL 1 would die here. */
    {
        uint8_t p4[64];
        unsigned n4 = inner4(p4, "198.18.2.2", "198.18.3.9", 5683);

        p4[8] = 1;
        pkt = tunnel_frame(3, 7, key7, sizeof(key7), 325, XP_TUNNEL_T_DATA, p4, n4);
        CHECK_EQ(one(q, &pkt, T0), XP_GW_FATE_DROP);
    }
    /* On link, neighbour unknown: dropped, and the control thread hears of it. */
    pkt = data_frame(3, 7, 307, "198.18.2.2", "198.18.3.77", 5683);
    CHECK_EQ(one(q, &pkt, T0), XP_GW_FATE_DROP);
    n = xp_gw_queue__drain_misses(q, miss, 4);
    CHECK_EQ(n, 1);
    map4(want, "198.18.3.77");
    CHECK(n == 1 && memcmp(miss[0], want, 16) == 0);

    xp_gw_queue__stats(q, &st);
    CHECK_EQ(st.tunnel[XP_TUNNEL_REPLAYED], 1);
    CHECK_EQ(st.tunnel[XP_TUNNEL_BAD_TAG], 1);
    CHECK_EQ(st.tunnel[XP_TUNNEL_UNKNOWN_UNIT], 1);
    CHECK_EQ(st.tunnel[XP_TUNNEL_TRUNCATED], 1);
    CHECK_EQ(st.tunnel[XP_TUNNEL_NESTED_TUNNEL], 1);
    CHECK_EQ(st.c[XP_GW_C_DROP_SPOOFED], 1);
    CHECK_EQ(st.c[XP_GW_C_DROP_OUTER], 1);
    CHECK_EQ(st.c[XP_GW_C_DROP_NO_ROUTE], 2);
    CHECK_EQ(st.c[XP_GW_C_DROP_BAD_DST], 4);
    CHECK_EQ(st.c[XP_GW_C_DROP_TTL], 1);
    CHECK_EQ(st.c[XP_GW_C_DROP_NO_NEIGH], 1);
    xp_gw_queue__stats(q2, &st);
    CHECK_EQ(st.tunnel[XP_TUNNEL_REPLAYED], 1);
}

/* Unit 7 at 20000 pps (T_F1 = 1000) is dropped after the warm-up; unit 9 at 500 pps is not. */
static void check_policing(struct xp_gw_queue *q)
{
    unsigned dropped7 = 0, dropped9 = 0;
    struct xp_gw_stats st;

    for (unsigned i = 0; i < 4000; i++) {
        uint64_t t = T0 + 1000 * MS + i * 50000ULL;
        struct xp_pkt pkt = data_frame(4, 7, 1000 + i, "198.18.2.2", "198.18.3.9", 5683);

        dropped7 += one(q, &pkt, t) == XP_GW_FATE_DROP;
        if (i % 40 == 0) {
            pkt = data_frame(5, 9, 1000 + i, "198.18.2.9", "198.18.3.9", 5683);
            dropped9 += one(q, &pkt, t) == XP_GW_FATE_DROP;
        }
    }
    /* As in test_pipeline: forwarded until the window is over T_T2 (100 ms), then dropped. */
    CHECK_EQ(dropped7, 4000 - 2001);
    CHECK_EQ(dropped9, 0);
    xp_gw_queue__stats(q, &st);
    CHECK_EQ(st.c[XP_GW_C_DROP_POLICY], 1999);
}

/*
 * Hostile input: valid frames with random bytes flipped and random lengths,
 * and random garbage, through the whole path. Nothing may crash (the unit
 * suite also runs under ASan+UBSan), every fate is one of three, and a
 * rewritten frame must stay inside its UMEM frame.
 */
static void check_mutations(struct xp_gw_queue *q)
{
    uint64_t rng = 0x9e3779b97f4a7c15ULL;
    unsigned core = 0, access = 0;

    for (unsigned i = 0; i < 200000; i++) {
        struct xp_pkt pkt;
        uint8_t fate;

        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        if (i % 3 == 0)
            pkt = tunnel_frame(6, 7, key7, sizeof(key7), 5000 + i, XP_TUNNEL_T_KEEPALIVE, NULL, 0);
        else
            pkt = data_frame(6, (i & 4) ? 9 : 7, 5000 + i, (i & 4) ? "198.18.2.9" : "198.18.2.2",
                             "198.18.3.9", 5683);
        for (unsigned k = 0; k < 1 + (rng & 3); k++) {
            uint64_t r = rng >> (8 * k);

            pkt.data[(r >> 8) % pkt.len] ^= (uint8_t)(1u << (r & 7));
        }
        if (i % 7 == 0)
            pkt.len = (uint32_t)((rng >> 40) % (pkt.len + 1));
        if (i % 11 == 0) {
            pkt.len = (uint32_t)((rng >> 20) % 1500);
            for (uint32_t b = 0; b < pkt.len; b++)
                pkt.data[b] = (uint8_t)(rng >> (b % 56));
        }
        fate = one(q, &pkt, T0 + 3000 * MS + i * 1000ULL);
        CHECK(fate <= XP_GW_FATE_ACCESS);
        if (fate != XP_GW_FATE_DROP) {
            CHECK(pkt.handle == 6 * FRAME + 256);
            CHECK(pkt.data >= umem + 6 * FRAME && pkt.data + pkt.len <= umem + 7 * FRAME);
            core += fate == XP_GW_FATE_CORE;
            access += fate == XP_GW_FATE_ACCESS;
        }
    }
    printf("mutations: %u of 200000 forwarded, %u answered\n", core, access);
    /* Single flips in the padding-free frames mostly break the tag: most are dropped. */
    CHECK(core + access < 200000 / 2);
}

/*
 * Reload: unit 9 removed, unit 11 added, unit 7 kept. Unit 7's replay
 * state survives (an old sequence number is still refused), unit 9 is
 * unknown from now on, unit 11 is served at once.
 */
static void check_reload(struct xp_gateway *gw, struct xp_gw_queue *q, struct xp_config *cfg)
{
    static const uint8_t key11[16] = { 11, 11, 11, 11, 11, 11, 11, 11,
                                       11, 11, 11, 11, 11, 11, 11, 11 };
    struct xp_config *next = malloc(sizeof(*next));
    struct xp_gw_stats before, after;
    struct xp_pkt pkt;
    uint8_t inner[64];
    char msg[256];
    unsigned n;

    if (!next) {
        CHECK(0);
        return;
    }
    *next = *cfg;
    next->gw.units[1].id = 11;
    memcpy(next->gw.units[1].keys[0].key, key11, sizeof(key11));
    next->gw.units[1].keys[0].len = sizeof(key11);
    xp_cidr_parse("198.18.2.11/32", &next->gw.units[1].sources[0]);
    CHECK_EQ(xp_gateway__set_units(gw, &next->gw, msg, sizeof(msg)), 0);
    CHECK_EQ(xp_gateway__units(gw), 2);
    xp_gw_queue__stats(q, &before);

    pkt = data_frame(3, 7, 4999, "198.18.2.2", "198.18.3.9", 5683); /* used before the reload */
    CHECK_EQ(one(q, &pkt, T0 + 10000 * MS), XP_GW_FATE_DROP);
    pkt = data_frame(3, 9, 900000, "198.18.2.9", "198.18.3.9", 5683);
    CHECK_EQ(one(q, &pkt, T0 + 10000 * MS), XP_GW_FATE_DROP);
    n = inner4(inner, "198.18.2.11", "198.18.3.9", 5683);
    pkt = tunnel_frame(3, 11, key11, sizeof(key11), 1, XP_TUNNEL_T_DATA, inner, n);
    CHECK_EQ(one(q, &pkt, T0 + 20000 * MS), XP_GW_FATE_CORE);
    pkt = data_frame(3, 7, 900000, "198.18.2.2", "198.18.3.9", 5683);
    CHECK_EQ(one(q, &pkt, T0 + 30000 * MS), XP_GW_FATE_CORE);
    xp_gw_queue__stats(q, &after);
    CHECK_EQ(after.tunnel[XP_TUNNEL_UNKNOWN_UNIT] - before.tunnel[XP_TUNNEL_UNKNOWN_UNIT], 1);
    CHECK_EQ(after.tunnel[XP_TUNNEL_REPLAYED] + after.tunnel[XP_TUNNEL_TOO_OLD] -
                 before.tunnel[XP_TUNNEL_REPLAYED] - before.tunnel[XP_TUNNEL_TOO_OLD], 1);
    /* A broken unit list is refused and the running one stays. */
    next->gw.units[1].keys[0].len = 3;
    CHECK(xp_gateway__set_units(gw, &next->gw, msg, sizeof(msg)) < 0);
    CHECK_EQ(xp_gateway__units(gw), 2);
    free(next); /* a shallow copy of cfg: what it points to is cfg's */
}

/*
 * Operator blocks (the pipeline's list, handed to the worker as xpro-proxy does): by pair, by
 * unit towards everything, with expiry, and unblocking.
 */
static struct xp_manual_blocks *g_manual;

static int manual_change(struct xp_pipeline *pl, const uint8_t unit[16], const uint8_t *dst,
                         uint64_t expires, bool block)
{
    struct xp_manual_blocks *next = block ? xp_manual_blocks__with(g_manual, unit, dst, expires,
                                                                   T_MANUAL)
                                          : xp_manual_blocks__without(g_manual, unit, dst,
                                                                      T_MANUAL);

    if (!next)
        return -errno;
    xp_pipeline__set_manual_blocks(pl, next);
    xp_manual_blocks__free(g_manual);
    g_manual = next;
    return 0;
}

static void check_manual(struct xp_pipeline *pl, struct xp_gw_queue *q)
{
    uint8_t unit7[16], server[16];
    struct xp_gw_stats before, after;
    struct xp_pkt pkt;
    uint64_t seq = 950000;

    map4(unit7, "198.18.2.2");
    map4(server, "198.18.3.1"); /* a pair the policer has not seen */
    xp_gw_queue__stats(q, &before);
    CHECK_EQ(manual_change(pl, unit7, server, 0, true), 0);
    pkt = data_frame(3, 7, seq++, "198.18.2.2", "198.18.3.1", 5683);
    CHECK_EQ(one(q, &pkt, T_MANUAL), XP_GW_FATE_DROP);
    pkt = data_frame(3, 7, seq++, "198.18.2.2", "198.19.5.5", 5683);
    CHECK_EQ(one(q, &pkt, T_MANUAL), XP_GW_FATE_CORE);  /* another destination */
    CHECK_EQ(manual_change(pl, unit7, NULL, 0, true), 0);
    pkt = data_frame(3, 7, seq++, "198.18.2.2", "198.19.5.5", 5683);
    CHECK_EQ(one(q, &pkt, T_MANUAL), XP_GW_FATE_DROP);  /* the unit towards everything */
    CHECK_EQ(manual_change(pl, unit7, NULL, 0, false), 0);
    CHECK_EQ(manual_change(pl, unit7, NULL, 0, false), -ENOENT);
    pkt = data_frame(3, 7, seq++, "198.18.2.2", "198.19.5.5", 5683);
    CHECK_EQ(one(q, &pkt, T_MANUAL), XP_GW_FATE_CORE);
    CHECK_EQ(manual_change(pl, unit7, server, 0, false), 0);
    /* A block that already expired (CLOCK_MONOTONIC 1 ns) blocks nothing. */
    CHECK_EQ(manual_change(pl, unit7, server, 1, true), 0);
    pkt = data_frame(3, 7, seq++, "198.18.2.2", "198.18.3.1", 5683);
    CHECK_EQ(one(q, &pkt, T_MANUAL), XP_GW_FATE_CORE);
    xp_gw_queue__stats(q, &after);
    CHECK_EQ(after.c[XP_GW_C_DROP_MANUAL] - before.c[XP_GW_C_DROP_MANUAL], 2);
    xp_pipeline__set_manual_blocks(pl, NULL);
    xp_manual_blocks__free(g_manual);
    g_manual = NULL;
}

/* Copy a frame out of the UMEM before processing rewrites it; put it back into slot. */
struct saved_frame {
    uint8_t bytes[FRAME - 256];
    uint32_t len;
};

static void save_frame(const struct xp_pkt *pkt, struct saved_frame *out)
{
    memcpy(out->bytes, pkt->data, pkt->len);
    out->len = pkt->len;
}

static struct xp_pkt load_frame(unsigned slot, const struct saved_frame *in)
{
    struct xp_pkt pkt = { .data = umem + (size_t)slot * FRAME + 256, .len = in->len,
                          .handle = (uint64_t)slot * FRAME + 256 };

    memcpy(pkt.data, in->bytes, in->len);
    return pkt;
}

static struct xp_gateway *gateway_with(const struct xp_config *cfg, unsigned tunnel_id,
                                       unsigned mac_fail_pps)
{
    struct xp_config *c = malloc(sizeof(*c));
    struct xp_gateway *gw;
    char msg[256];

    if (!c)
        return NULL;
    *c = *cfg;
    c->gw.tunnel_id = tunnel_id;
    c->gw.mac_fail_pps = mac_fail_pps;
    gw = xp_gateway__create(&c->gw, msg, sizeof(msg));
    if (!gw)
        fprintf(stderr, "gateway: %s\n", msg);
    free(c); /* a shallow copy of cfg: what it points to is cfg's */
    return gw;
}

/*
 * Replays an attacker on the path can try with captured datagrams: to
 * another proxy holding the same unit keys (tunnel id 4), and to this
 * proxy after a restart (same config, a new run: another epoch, empty
 * windows). Both are refused before any MAC work, and counted.
 */
static void check_replay_elsewhere(struct xp_gw_queue *q, struct xp_pipeline *pl,
                                   const struct xp_config *cfg, struct xp_route *routes,
                                   struct xp_neigh *neigh)
{
    static struct saved_frame data, ka;
    struct xp_gateway *other = gateway_with(cfg, 4, 1000000);
    struct xp_gateway *restarted = gateway_with(cfg, 3, 1000000);
    struct xp_gw_queue *qo, *qr;
    struct xp_tunnel_addr r_to;
    struct xp_gw_stats st;
    struct xp_pkt pkt;
    uint64_t t = T0 + 5000 * MS;

    if (!other || !restarted) {
        CHECK(0);
        return;
    }
    qo = xp_gw_queue__create(other, pl, &umem_io, NULL);
    qr = xp_gw_queue__create(restarted, pl, &umem_io, NULL);
    xp_gateway__publish(other, xp_nexthops__build(mac_core, routes, 3, neigh, 2));
    xp_gateway__publish(restarted, xp_nexthops__build(mac_core, routes, 3, neigh, 2));
    r_to = xp_gateway__self(restarted);
    CHECK(r_to.proxy_id == g_to.proxy_id && r_to.epoch != g_to.epoch);

    /* Captured: one DATA and one keepalive, each accepted by the proxy it was for. */
    pkt = data_frame(3, 7, 1000000, "198.18.2.2", "198.18.3.9", 5683);
    save_frame(&pkt, &data);
    CHECK_EQ(one(q, &pkt, t), XP_GW_FATE_CORE);
    pkt = tunnel_frame(3, 7, key7, sizeof(key7), 1000001, XP_TUNNEL_T_KEEPALIVE, NULL, 0);
    save_frame(&pkt, &ka);
    CHECK_EQ(one(q, &pkt, t), XP_GW_FATE_ACCESS);

    /* Replayed to the other proxy: neither is for it. */
    pkt = load_frame(3, &data);
    CHECK_EQ(one(qo, &pkt, t), XP_GW_FATE_DROP);
    pkt = load_frame(3, &ka);
    CHECK_EQ(one(qo, &pkt, t), XP_GW_FATE_DROP);
    xp_gw_queue__stats(qo, &st);
    CHECK_EQ(st.tunnel[XP_TUNNEL_WRONG_PROXY], 2);
    CHECK_EQ(st.c[XP_GW_C_FORWARD], 0);

    /* Replayed to this proxy after its restart: the DATA names the old epoch. */
    pkt = load_frame(3, &data);
    CHECK_EQ(one(qr, &pkt, t), XP_GW_FATE_DROP);
    xp_gw_queue__stats(qr, &st);
    CHECK_EQ(st.tunnel[XP_TUNNEL_STALE_EPOCH], 1);
    CHECK_EQ(st.c[XP_GW_C_FORWARD], 0);
    /*
     * The keepalive is answered (any epoch may ask: that is how a unit learns
     * the new one); the answer echoes the old seq, which the unit no longer
     * waits for, and carries nothing an attacker can use.
     */
    pkt = load_frame(3, &ka);
    CHECK_EQ(one(qr, &pkt, t), XP_GW_FATE_ACCESS);
    /* The unit, having learnt the new epoch, is served by the restarted proxy. */
    pkt = tunnel_frame_full(3, false, &r_to, 7, 0, key7, sizeof(key7), 1000002, XP_TUNNEL_T_DATA,
                            NULL, 0);
    {
        uint8_t inner[64];
        unsigned n = inner4(inner, "198.18.2.2", "198.18.3.9", 5683);

        pkt = tunnel_frame_full(3, false, &r_to, 7, 0, key7, sizeof(key7), 1000002,
                                XP_TUNNEL_T_DATA, inner, n);
    }
    CHECK_EQ(one(qr, &pkt, t), XP_GW_FATE_CORE);

    xp_gw_queue__destroy(qo);
    xp_gw_queue__destroy(qr);
    xp_gateway__destroy(other);
    xp_gateway__destroy(restarted);
}

/*
 * Key rotation by reload, with a unit's traffic flowing: unit 7 gets key 1
 * next to key 0, moves to it between two datagrams, and key 0 is removed.
 * Every datagram of the unit is forwarded; the sequence numbers stay one
 * space (a number spent under key 0 is a replay under key 1).
 */
static void check_key_rotation(struct xp_gateway *gw, struct xp_gw_queue *q,
                               const struct xp_config *cfg)
{
    static const uint8_t key7b[32] = { 0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77,
                                       0x78, 0x79, 0x7a, 0x7b, 0x7c, 0x7d, 0x7e, 0x7f,
                                       0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87,
                                       0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f };
    struct xp_config *next = malloc(sizeof(*next));
    struct xp_conf_gw_unit *u;
    unsigned forwarded = 0, sent = 0;
    struct xp_gw_stats before, after;
    uint64_t seq = 1100000, t = T0 + 50000 * MS;
    uint8_t key_id = 0, inner[64];
    unsigned n = inner4(inner, "198.18.2.2", "198.18.3.9", 5683);
    char msg[256];

    if (!next) {
        CHECK(0);
        return;
    }
    xp_gw_queue__stats(q, &before);
    *next = *cfg;
    u = &next->gw.units[0];
    CHECK_EQ(u->id, 7);
    for (int step = 0; step < 400; step++) {
        struct xp_pkt pkt;

        if (step == 100) { /* the proxies first: keys 0 and 1 */
            u->n_keys = 2;
            u->keys[1].id = 1;
            memcpy(u->keys[1].key, key7b, sizeof(key7b));
            u->keys[1].len = sizeof(key7b);
            CHECK_EQ(xp_gateway__set_units(gw, &next->gw, msg, sizeof(msg)), 0);
        } else if (step == 200) { /* then the unit */
            key_id = 1;
        } else if (step == 300) { /* then the old key goes */
            u->keys[0] = u->keys[1];
            u->n_keys = 1;
            CHECK_EQ(xp_gateway__set_units(gw, &next->gw, msg, sizeof(msg)), 0);
        }
        pkt = tunnel_frame_full(3, false, &g_to, 7, key_id, key_id ? key7b : key7,
                                key_id ? sizeof(key7b) : sizeof(key7), seq++, XP_TUNNEL_T_DATA,
                                inner, n);
        sent++;
        /* one datagram per 10 ms: well under unit 7's T_F1 */
        forwarded += one(q, &pkt, t + (uint64_t)step * 10 * MS) == XP_GW_FATE_CORE;
    }
    CHECK_EQ(forwarded, sent);
    /* key 0 is gone: a datagram under it names an unknown key; one replayed under key 1 is a replay */
    {
        struct xp_pkt pkt = tunnel_frame_full(3, false, &g_to, 7, 0, key7, sizeof(key7), seq++,
                                              XP_TUNNEL_T_DATA, inner, n);

        CHECK_EQ(one(q, &pkt, t + 5000 * MS), XP_GW_FATE_DROP);
        pkt = tunnel_frame_full(3, false, &g_to, 7, 1, key7b, sizeof(key7b), 1100150,
                                XP_TUNNEL_T_DATA, inner, n);
        CHECK_EQ(one(q, &pkt, t + 5000 * MS), XP_GW_FATE_DROP);
    }
    xp_gw_queue__stats(q, &after);
    CHECK_EQ(after.tunnel[XP_TUNNEL_UNKNOWN_KEY] - before.tunnel[XP_TUNNEL_UNKNOWN_KEY], 1);
    CHECK_EQ(after.tunnel[XP_TUNNEL_REPLAYED] + after.tunnel[XP_TUNNEL_TOO_OLD] -
                 before.tunnel[XP_TUNNEL_REPLAYED] - before.tunnel[XP_TUNNEL_TOO_OLD], 1);
    /* back to the configuration the other checks expect */
    CHECK_EQ(xp_gateway__set_units(gw, &cfg->gw, msg, sizeof(msg)), 0);
    free(next); /* a shallow copy of cfg: what it points to is cfg's */
}

/*
 * The per-source limit on tag failures (mac_fail_pps 10, one second's
 * burst): a forger's source is cut off before the MAC after its burst,
 * another source is not, and the limit lifts as the rate falls back.
 */
static void check_mac_limit(struct xp_pipeline *pl, const struct xp_config *cfg,
                            struct xp_route *routes, struct xp_neigh *neigh)
{
    struct xp_gateway *gw = gateway_with(cfg, 3, 10);
    struct xp_tunnel_addr to;
    struct xp_gw_queue *q;
    struct xp_gw_stats st;
    struct xp_pkt pkt;
    uint64_t t = T0 + 60000 * MS;
    uint8_t inner[64];
    unsigned n = inner4(inner, "198.18.2.2", "198.18.3.9", 5683);

    if (!gw) {
        CHECK(0);
        return;
    }
    q = xp_gw_queue__create(gw, pl, &umem_io, NULL);
    xp_gateway__publish(gw, xp_nexthops__build(mac_core, routes, 3, neigh, 2));
    to = xp_gateway__self(gw);
    /* 100 forgeries at once from 198.18.9.50 */
    for (int i = 0; i < 100; i++) {
        pkt = tunnel_frame_full(3, false, &to, 7, 0, key9, sizeof(key9), 1000 + (uint64_t)i,
                                XP_TUNNEL_T_DATA, inner, n);
        CHECK_EQ(one(q, &pkt, t), XP_GW_FATE_DROP);
    }
    xp_gw_queue__stats(q, &st);
    /* a burst of one second at 10/s: 11 reach the MAC (the 11th puts it over), the rest do not */
    CHECK_EQ(st.tunnel[XP_TUNNEL_BAD_TAG], 11);
    CHECK_EQ(st.c[XP_GW_C_DROP_MAC_LIMITED], 89);
    /* the unit's own datagrams from another source (its IPv6 address) still pass */
    pkt = tunnel_frame_full(3, true, &to, 7, 0, key7, sizeof(key7), 2000, XP_TUNNEL_T_DATA,
                            inner, n);
    CHECK_EQ(one(q, &pkt, t), XP_GW_FATE_CORE);
    /* from the limited source, even a genuine one waits (per source address, not per unit) */
    pkt = tunnel_frame_full(3, false, &to, 7, 0, key7, sizeof(key7), 2001, XP_TUNNEL_T_DATA,
                            inner, n);
    CHECK_EQ(one(q, &pkt, t + 50 * MS), XP_GW_FATE_DROP);
    /* 0.2 s later the debt is back under the burst: served again */
    pkt = tunnel_frame_full(3, false, &to, 7, 0, key7, sizeof(key7), 2002, XP_TUNNEL_T_DATA,
                            inner, n);
    CHECK_EQ(one(q, &pkt, t + 200 * MS), XP_GW_FATE_CORE);
    xp_gw_queue__stats(q, &st);
    CHECK_EQ(st.c[XP_GW_C_DROP_MAC_LIMITED], 90);
    CHECK_EQ(st.tunnel[XP_TUNNEL_BAD_TAG], 11);
    xp_gw_queue__destroy(q);
    xp_gateway__destroy(gw);
}

/* Lookups: families never cross, an unusable route shadows, next hop of an unresolved route. */
static void check_nexthops(void)
{
    struct xp_route r[2] = { 0 };
    struct xp_neigh nb = { 0 };
    uint8_t d[16], dmac[6], smac[6], hop[16];
    struct xp_nexthops *nh;

    xp_cidr_parse("::/0", &r[0].dst);
    inet_pton(AF_INET6, "fe80::1", r[0].gateway);
    r[0].has_gateway = r[0].via_port = 1;
    xp_cidr_parse("2001:2:5::/48", &r[1].dst); /* e.g. a blackhole */
    inet_pton(AF_INET6, "fe80::1", nb.addr);
    memcpy(nb.mac, mac_router, 6);
    nh = xp_nexthops__build(mac_core, r, 2, &nb, 1);
    if (!nh) {
        CHECK(0);
        return;
    }
    map4(d, "198.18.3.9");
    CHECK_EQ(xp_nexthops__lookup(nh, d, dmac, smac, hop), -ENETUNREACH); /* ::/0 is not IPv4's */
    inet_pton(AF_INET6, "2001:2:6::1", d);
    CHECK_EQ(xp_nexthops__lookup(nh, d, dmac, smac, hop), 0);
    CHECK(memcmp(dmac, mac_router, 6) == 0 && memcmp(smac, mac_core, 6) == 0);
    inet_pton(AF_INET6, "2001:2:5::1", d);
    CHECK_EQ(xp_nexthops__lookup(nh, d, dmac, smac, hop), -ENETUNREACH);
    {
        uint8_t gws[4][16];

        CHECK_EQ(xp_nexthops__unresolved_gateways(nh, gws, 4), 0); /* fe80::1 is resolved */
        xp_nexthops__free(nh);
        inet_pton(AF_INET6, "fe80::2", r[0].gateway);
        nh = xp_nexthops__build(mac_core, r, 2, &nb, 1);
        CHECK(nh && xp_nexthops__unresolved_gateways(nh, gws, 4) == 1);
        CHECK(nh && memcmp(gws[0], r[0].gateway, 16) == 0);
    }
    xp_nexthops__free(nh);
}

int main(void)
{
    struct xp_route routes[3] = { 0 };
    struct xp_neigh neigh[2] = { 0 };
    struct xp_gw_queue *q, *q2;
    struct xp_pipeline *pl, *pl2;
    struct xp_dst_table *dst;
    struct xp_gateway *gw;
    struct xp_config *cfg = calloc(1, sizeof(*cfg));
    struct xp_pipeline_conf pc;
    char msg[512];

    umem = aligned_alloc(FRAME, 8 * FRAME);
    if (!cfg || !umem || xp_config_parse("t.json", conf_text, cfg, msg, sizeof(msg))) {
        fprintf(stderr, "config: %s\n", cfg ? msg : "no memory");
        return 1;
    }
    dst = xp_dst_table__create(64, 2);
    xp_config__pipeline_conf(cfg, &pc);
    pl = dst ? xp_pipeline__create(&pc, 0, dst, NULL, NULL, NULL) : NULL;
    pl2 = dst ? xp_pipeline__create(&pc, 1, dst, NULL, NULL, NULL) : NULL;
    gw = xp_gateway__create(&cfg->gw, msg, sizeof(msg));
    if (!pl || !pl2 || !gw || xp_pipeline__set_early_drop(pl) || xp_pipeline__set_early_drop(pl2)) {
        fprintf(stderr, "setup: %s\n", gw ? "pipeline" : msg);
        return 1;
    }
    g_to = xp_gateway__self(gw);
    q = xp_gw_queue__create(gw, pl, &umem_io, NULL);
    q2 = xp_gw_queue__create(gw, pl2, &umem_io, NULL);
    CHECK(xp_gw_queue__create(gw, pl, NULL, NULL) == NULL); /* no backend queue */

    /* The core port: 198.18.3.0/24 on link, default via 198.18.3.1; IPv4 only. */
    xp_cidr_parse("198.18.3.0/24", &routes[0].dst);
    xp_cidr_parse("0.0.0.0/0", &routes[1].dst);
    map4(routes[1].gateway, "198.18.3.1");
    routes[1].has_gateway = 1;
    routes[0].via_port = routes[1].via_port = 1;
    /* A blackhole inside the default route's space shadows it, as in the kernel. */
    xp_cidr_parse("198.19.200.0/24", &routes[2].dst);

    map4(neigh[0].addr, "198.18.3.1");
    memcpy(neigh[0].mac, mac_router, 6);
    map4(neigh[1].addr, "198.18.3.9");
    memcpy(neigh[1].mac, mac_server, 6);
    xp_gateway__publish(gw, xp_nexthops__build(mac_core, routes, 3, neigh, 2));
    /* A second publish frees the first snapshot (no worker is inside process). */
    xp_gateway__publish(gw, xp_nexthops__build(mac_core, routes, 3, neigh, 2));
    CHECK_EQ(xp_nexthops__routes(xp_gateway__nexthops(gw)), 3);
    check_nexthops();

    check_forward(q);
    check_keepalive(gw, q);
    check_ipv6_outer(q);
    check_refusals(q, q2);
    check_policing(q);
    check_mutations(q);
    check_reload(gw, q, cfg);
    check_manual(pl, q);
    check_replay_elsewhere(q, pl, cfg, routes, neigh);
    check_key_rotation(gw, q, cfg);
    check_mac_limit(pl, cfg, routes, neigh);

    xp_gw_queue__destroy(q);
    xp_gw_queue__destroy(q2);
    xp_gateway__destroy(gw);
    xp_pipeline__destroy(pl);
    xp_pipeline__destroy(pl2);
    xp_dst_table__destroy(dst);
    free(umem);
    xp_config_release(cfg);
    free(cfg);
    return xp_check_report("test_gateway");
}
