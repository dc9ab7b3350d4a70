// SPDX-License-Identifier: GPL-2.0-only
/*
 * device/xp_device: encapsulated output decapsulates on the proxy side to
 * the same inner packet; keepalives; switching on timeout and on overload,
 * round robin; control messages that must not move the unit (forged,
 * replayed, from a stranger, from a proxy it already left); the proxy's
 * epoch learnt from the answer to the last keepalive only, relearnt after
 * a restart; key rotation without a lost datagram.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "tunnel.h"
#include "xp_check.h"
#include "xp_device.h"

#define UNIT 77u
#define PORT XP_TUNNEL_UDP_PORT

static const uint8_t proxy_addr[3][4] = {{192, 0, 2, 1}, {192, 0, 2, 2}, {192, 0, 2, 3}};
static const uint8_t stranger[4] = {192, 0, 2, 99};
static uint8_t g_secret[32];

/* IPv4/UDP 10.0.0.7:5683 -> 198.51.100.1:5683, 4 bytes of CoAP */
static const uint8_t g_inner[32] = {
    0x45, 0x00, 0x00, 0x20, 0x00, 0x01, 0x00, 0x00, 0x40, 0x11, 0x00, 0x00,
    10,   0,    0,    7,    198,  51,   100,  1,
    0x16, 0x33, 0x16, 0x33, 0x00, 0x0c, 0x00, 0x00, 0x40, 0x01, 0x00, 0x01,
};

/* The proxies' side: one key table with the unit, one replay table per proxy. */
static struct xp_tunnel_key g_pkeys_storage[2];
static struct xp_tunnel_keys g_pkeys;
static uint64_t g_proxy_seq = 1000;
/* Proxy i: tunnel id i + 1 and this run's epoch. */
static struct xp_tunnel_addr g_proxy[3] = {
    {.proxy_id = 1, .epoch = 0xa0000001u},
    {.proxy_id = 2, .epoch = 0xa0000002u},
    {.proxy_id = 3, .epoch = 0xa0000003u},
};

static void setup_device(struct xp_device *dev, uint64_t now)
{
    struct xp_device_config cfg = {
        .unit_id = UNIT,
        .secret = g_secret,
        .secret_len = sizeof(g_secret),
        .seq_base = (uint64_t)5 << 32, /* boot counter 5 */
        .keepalive_ms = 1000,
        .dead_ms = 3000,
        .overload_permille = 900,
    };

    CHECK_EQ(xp_device__init(dev, &cfg, now), 0);
    for (int i = 0; i < 3; i++)
        CHECK_EQ(xp_device__add_proxy(dev, 4, proxy_addr[i], PORT, g_proxy[i].proxy_id), 0);
}

static int current_index(const struct xp_device *dev)
{
    const struct xp_device_proxy *p = xp_device__current(dev);

    for (int i = 0; i < 3; i++)
        if (p && memcmp(p->addr + 12, proxy_addr[i], 4) == 0)
            return i;
    return -1;
}

/* A control message from proxy `from`, answering keepalive `echo` (0: none). */
static enum xp_tunnel_status proxy_answers(struct xp_device *dev, int from, enum xp_tunnel_type t,
                                           uint32_t w, uint64_t echo, uint64_t now)
{
    uint8_t pkt[128];
    int n = xp_tunnel_encap_control(pkt, sizeof(pkt), t, &g_proxy[from], g_proxy_seq++,
                                    &g_pkeys.keys[0], echo, w);

    CHECK(n > 0);
    return xp_device__control_input(dev, 4, proxy_addr[from], PORT, pkt, (uint32_t)n, now);
}

static enum xp_tunnel_status proxy_says(struct xp_device *dev, int from, enum xp_tunnel_type t,
                                        uint32_t w, uint64_t now)
{
    return proxy_answers(dev, from, t, w, 0, now);
}

/*
 * The device's keepalive (due now) reaches the current proxy, which
 * answers it: the device then knows that proxy's epoch.
 */
static void handshake(struct xp_device *dev, uint64_t now)
{
    struct xp_tunnel_window wins[2];
    struct xp_tunnel_replay replay;
    struct xp_tunnel_result r;
    uint8_t out[256];
    int cur = current_index(dev);
    int n;

    dev->keepalive_due = true; /* as after start or a switch */
    n = xp_device__poll(dev, now, out, sizeof(out));

    CHECK_EQ(n, XP_TUNNEL_HDR_LEN);
    CHECK_EQ(xp_tunnel_replay__init(&replay, wins, 2, &g_pkeys), 0);
    CHECK_EQ(xp_tunnel_decap(out, (uint32_t)n, &g_proxy[cur], &g_pkeys, &replay, &r),
             XP_TUNNEL_OK);
    CHECK_EQ(r.type, XP_TUNNEL_T_KEEPALIVE);
    CHECK_EQ(proxy_answers(dev, cur, XP_TUNNEL_T_KEEPALIVE_ACK, 0, r.seq, now), XP_TUNNEL_OK);
    CHECK_EQ(dev->proxies[cur].epoch, g_proxy[cur].epoch);
}

static void test_config(void)
{
    struct xp_device dev;
    struct xp_device_config cfg = {.unit_id = 1, .secret = g_secret, .secret_len = 32};
    uint8_t out[256], inner[20] = {0x45};

    CHECK_EQ(xp_device__init(&dev, &cfg, 0), 0);
    CHECK_EQ(dev.keepalive_ms, XP_DEVICE_KEEPALIVE_MS);
    CHECK_EQ(dev.dead_ms, XP_DEVICE_DEAD_MS);
    CHECK(xp_device__current(&dev) == NULL);
    CHECK_EQ(xp_device__encap_output(&dev, inner, sizeof(inner), out, sizeof(out)),
             -ENETUNREACH);
    CHECK_EQ(xp_device__poll(&dev, 10000, out, sizeof(out)), 0);
    CHECK_EQ(xp_device__add_proxy(&dev, 5, proxy_addr[0], PORT, 1), -EINVAL);
    CHECK_EQ(xp_device__add_proxy(&dev, 4, proxy_addr[0], 0, 1), -EINVAL);
    CHECK_EQ(xp_device__add_proxy(&dev, 4, proxy_addr[0], PORT, 0), -EINVAL);
    CHECK_EQ(xp_device__add_proxy(&dev, 4, proxy_addr[0], PORT, 1), 0);
    CHECK_EQ(xp_device__add_proxy(&dev, 4, proxy_addr[0], PORT, 2), -EEXIST);
    CHECK_EQ(xp_device__add_proxy(&dev, 4, proxy_addr[1], PORT, 1), -EEXIST); /* same tunnel id */
    uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
    CHECK_EQ(xp_device__add_proxy(&dev, 6, v6, PORT, 2), 0);
    for (int i = 2; i < XP_DEVICE_MAX_PROXIES; i++) {
        v6[14] = (uint8_t)i;
        CHECK_EQ(xp_device__add_proxy(&dev, 6, v6, PORT, (uint16_t)(i + 1)), 0);
    }
    v6[14] = 0xee;
    CHECK_EQ(xp_device__add_proxy(&dev, 6, v6, PORT, 100), -ENOSPC);
    /* no epoch yet: refused, not sent to be dropped */
    CHECK_EQ(xp_device__encap_output(&dev, inner, sizeof(inner), out, sizeof(out)), -EAGAIN);
    CHECK_EQ(dev.stats.tx_no_epoch, 1);
    dev.proxies[0].epoch = 5;
    CHECK_EQ(xp_device__encap_output(&dev, inner, sizeof(inner), out, 40), -ENOSPC);
    CHECK_EQ(dev.stats.tx_errors, 2);

    cfg.dead_ms = 500;
    cfg.keepalive_ms = 500;
    CHECK_EQ(xp_device__init(&dev, &cfg, 0), -EINVAL);
    cfg.dead_ms = 0;
    cfg.keepalive_ms = 0;
    cfg.secret_len = 3;
    CHECK_EQ(xp_device__init(&dev, &cfg, 0), -EINVAL);
    xp_device__wipe(&dev);
}

static void test_encap_decaps_on_proxy(void)
{
    struct xp_device dev;
    struct xp_tunnel_window wins[1];
    struct xp_tunnel_replay replay;
    struct xp_tunnel_result r;
    /* IPv4/UDP 10.0.0.7:5683 -> 198.51.100.1:5683, 4 bytes of CoAP */
    static const uint8_t inner[32] = {
        0x45, 0x00, 0x00, 0x20, 0x00, 0x01, 0x00, 0x00, 0x40, 0x11, 0x00, 0x00,
        10,   0,    0,    7,    198,  51,   100,  1,
        0x16, 0x33, 0x16, 0x33, 0x00, 0x0c, 0x00, 0x00, 0x40, 0x01, 0x00, 0x01,
    };
    uint8_t out[256];
    int n;

    setup_device(&dev, 0);
    CHECK_EQ(xp_tunnel_replay__init(&replay, wins, 1, &g_pkeys), 0);
    CHECK_EQ(xp_device__encap_output(&dev, inner, sizeof(inner), out, sizeof(out)), -EAGAIN);
    handshake(&dev, 0); /* keepalive: seq base + 0 */
    for (int i = 0; i < 3; i++) {
        n = xp_device__encap_output(&dev, inner, sizeof(inner), out, sizeof(out));
        CHECK_EQ(n, XP_TUNNEL_HDR_LEN + sizeof(inner));
        CHECK_EQ(xp_tunnel_decap(out, (uint32_t)n, &g_proxy[0], &g_pkeys, &replay, &r),
                 XP_TUNNEL_OK);
        CHECK_EQ(r.unit_id, UNIT);
        CHECK_EQ(r.seq, ((uint64_t)5 << 32) + (uint64_t)i + 1);
        CHECK_EQ(r.body_len, sizeof(inner));
        CHECK(memcmp(r.body, inner, sizeof(inner)) == 0);
        CHECK_EQ(r.inner.dport, 5683);
        /* the same datagram again is a replay; to another proxy, it is not for it */
        CHECK_EQ(xp_tunnel_decap(out, (uint32_t)n, &g_proxy[0], &g_pkeys, &replay, &r),
                 XP_TUNNEL_REPLAYED);
        CHECK_EQ(xp_tunnel_decap(out, (uint32_t)n, &g_proxy[1], &g_pkeys, &replay, &r),
                 XP_TUNNEL_WRONG_PROXY);
    }
    /* in place: the inner packet already sits after the header room */
    memcpy(out + XP_TUNNEL_HDR_LEN, inner, sizeof(inner));
    n = xp_device__encap_output(&dev, out + XP_TUNNEL_HDR_LEN, sizeof(inner), out, sizeof(out));
    CHECK_EQ(xp_tunnel_decap(out, (uint32_t)n, &g_proxy[0], &g_pkeys, &replay, &r),
             XP_TUNNEL_OK);
    CHECK(memcmp(r.body, inner, sizeof(inner)) == 0);
    CHECK_EQ(dev.stats.tx_packets, 4);
    CHECK_EQ(dev.stats.tx_bytes, 4 * sizeof(inner));

    /* keepalives share the sequence space and decapsulate too */
    n = xp_device__poll(&dev, 1000, out, sizeof(out));
    CHECK_EQ(n, XP_TUNNEL_HDR_LEN);
    CHECK_EQ(xp_tunnel_decap(out, (uint32_t)n, &g_proxy[0], &g_pkeys, &replay, &r),
             XP_TUNNEL_OK);
    CHECK_EQ(r.type, XP_TUNNEL_T_KEEPALIVE);
    xp_device__wipe(&dev);
}

static void test_keepalive_and_timeout(void)
{
    struct xp_device dev;
    uint8_t out[256];
    uint64_t t = 1000000;

    setup_device(&dev, t);
    CHECK_EQ(current_index(&dev), 0);
    /* one keepalive at once, then every XP_DEVICE_PROBE_MS while the epoch is unknown */
    CHECK_EQ(xp_device__poll(&dev, t, out, sizeof(out)), XP_TUNNEL_HDR_LEN);
    CHECK_EQ(xp_device__poll(&dev, t + XP_DEVICE_PROBE_MS - 1, out, sizeof(out)), 0);
    CHECK_EQ(xp_device__poll(&dev, t + XP_DEVICE_PROBE_MS, out, sizeof(out)), XP_TUNNEL_HDR_LEN);
    /* answered: one per keepalive_ms from then on */
    handshake(&dev, t + 300);
    CHECK_EQ(xp_device__poll(&dev, t + 1299, out, sizeof(out)), 0);
    CHECK_EQ(xp_device__poll(&dev, t + 1300, out, sizeof(out)), XP_TUNNEL_HDR_LEN);
    /* answers keep proxy 0 alive well past dead_ms */
    for (uint64_t dt = 1000; dt <= 10000; dt += 1000) {
        CHECK_EQ(proxy_says(&dev, 0, XP_TUNNEL_T_KEEPALIVE_ACK, 100, t + dt), XP_TUNNEL_OK);
        xp_device__poll(&dev, t + dt + 1, out, sizeof(out));
        CHECK_EQ(current_index(&dev), 0);
    }
    t += 10000;
    /* proxy 0 goes silent: still current just before dead_ms, gone at dead_ms */
    CHECK(xp_device__poll(&dev, t + 2999, out, sizeof(out)) >= 0);
    CHECK_EQ(current_index(&dev), 0);
    CHECK_EQ(xp_device__poll(&dev, t + 3000, out, sizeof(out)), XP_TUNNEL_HDR_LEN); /* to proxy 1 at once */
    CHECK_EQ(current_index(&dev), 1);
    CHECK_EQ(dev.last_switch, XP_DEVICE_SWITCH_TIMEOUT);
    CHECK_EQ(dev.stats.switch_timeout, 1);
    t += 3000;
    /* a late answer from proxy 0 does not bring it back or refresh proxy 1 */
    CHECK_EQ(proxy_says(&dev, 0, XP_TUNNEL_T_KEEPALIVE_ACK, 0, t + 100), XP_TUNNEL_OK);
    CHECK_EQ(current_index(&dev), 1);
    /* round robin: 1 -> 2 -> 0 */
    xp_device__poll(&dev, t + 3000, out, sizeof(out));
    CHECK_EQ(current_index(&dev), 2);
    xp_device__poll(&dev, t + 6000, out, sizeof(out));
    CHECK_EQ(current_index(&dev), 0);
    CHECK_EQ(dev.stats.switch_timeout, 3);
    /* data output follows the current proxy; no answers to data are expected */
    uint8_t inner[20] = {0x45, 0, 0, 20, 0, 0, 0, 0, 64, 6, 0, 0, 10, 0, 0, 7, 1, 2, 3, 4};
    handshake(&dev, t + 6001);
    CHECK(xp_device__encap_output(&dev, inner, sizeof(inner), out, sizeof(out)) > 0);
    CHECK_EQ(current_index(&dev), 0);
    xp_device__wipe(&dev);
}

static void test_overload(void)
{
    struct xp_device dev;
    uint8_t out[256];

    setup_device(&dev, 0);
    /* W below the threshold: stay, even in an OVERLOAD message */
    CHECK_EQ(proxy_says(&dev, 0, XP_TUNNEL_T_OVERLOAD, 899, 10), XP_TUNNEL_OK);
    CHECK_EQ(current_index(&dev), 0);
    /* at the threshold: next proxy */
    CHECK_EQ(proxy_says(&dev, 0, XP_TUNNEL_T_OVERLOAD, 900, 20), XP_TUNNEL_OK);
    CHECK_EQ(current_index(&dev), 1);
    CHECK_EQ(dev.last_switch, XP_DEVICE_SWITCH_OVERLOAD);
    /* a keepalive goes to the new proxy at the next poll */
    CHECK_EQ(xp_device__poll(&dev, 21, out, sizeof(out)), XP_TUNNEL_HDR_LEN);
    /* overload from a proxy we are not using does nothing */
    CHECK_EQ(proxy_says(&dev, 0, XP_TUNNEL_T_OVERLOAD, 5000, 30), XP_TUNNEL_OK);
    CHECK_EQ(current_index(&dev), 1);
    /* a keepalive answer carrying a high W counts too */
    CHECK_EQ(proxy_says(&dev, 1, XP_TUNNEL_T_KEEPALIVE_ACK, 950, 40), XP_TUNNEL_OK);
    CHECK_EQ(current_index(&dev), 2);
    CHECK_EQ(proxy_says(&dev, 2, XP_TUNNEL_T_OVERLOAD, 2000, 50), XP_TUNNEL_OK);
    CHECK_EQ(current_index(&dev), 0);
    CHECK_EQ(dev.stats.switch_overload, 3);
    CHECK_EQ(dev.stats.switch_timeout, 0);
    xp_device__wipe(&dev);
}

static void test_hostile_control(void)
{
    struct xp_device dev;
    uint8_t pkt[128];
    int n;

    setup_device(&dev, 0);
    n = xp_tunnel_encap_control(pkt, sizeof(pkt), XP_TUNNEL_T_OVERLOAD, &g_proxy[0],
                                g_proxy_seq++, &g_pkeys.keys[0], 0, 5000);
    /* from an address not in the list */
    CHECK_EQ(xp_device__control_input(&dev, 4, stranger, PORT, pkt, (uint32_t)n, 1),
             XP_TUNNEL_UNKNOWN_UNIT);
    CHECK_EQ(xp_device__control_input(&dev, 4, proxy_addr[0], PORT + 1, pkt, (uint32_t)n, 1),
             XP_TUNNEL_UNKNOWN_UNIT);
    CHECK_EQ(dev.stats.ctl_not_proxy, 2);
    /* forged: one bit of the tag */
    pkt[XP_TUNNEL_MAC_OFF] ^= 1;
    CHECK_EQ(xp_device__control_input(&dev, 4, proxy_addr[0], PORT, pkt, (uint32_t)n, 1),
             XP_TUNNEL_BAD_TAG);
    pkt[XP_TUNNEL_MAC_OFF] ^= 1;
    CHECK_EQ(current_index(&dev), 0);
    CHECK_EQ(dev.stats.ctl_drop[XP_TUNNEL_BAD_TAG], 1);
    /* genuine: switches; the same message replayed from the new proxy's address is not from it */
    CHECK_EQ(xp_device__control_input(&dev, 4, proxy_addr[0], PORT, pkt, (uint32_t)n, 2),
             XP_TUNNEL_OK);
    CHECK_EQ(current_index(&dev), 1);
    CHECK_EQ(xp_device__control_input(&dev, 4, proxy_addr[1], PORT, pkt, (uint32_t)n, 2),
             XP_TUNNEL_WRONG_PROXY);
    CHECK_EQ(current_index(&dev), 1);
    /* replayed from proxy 0's own address: window per proxy */
    CHECK_EQ(xp_device__control_input(&dev, 4, proxy_addr[0], PORT, pkt, (uint32_t)n, 3),
             XP_TUNNEL_REPLAYED);
    /* a unit's own keepalive reflected back at it */
    n = xp_device__poll(&dev, 4, pkt, sizeof(pkt));
    CHECK_EQ(xp_device__control_input(&dev, 4, proxy_addr[1], PORT, pkt, (uint32_t)n, 5),
             XP_TUNNEL_BAD_TYPE);
    /* forged answers do not keep a dead proxy alive */
    for (uint64_t t = 1000; t <= 3000; t += 1000) {
        n = xp_tunnel_encap_control(pkt, sizeof(pkt), XP_TUNNEL_T_KEEPALIVE_ACK, &g_proxy[1],
                                    g_proxy_seq++, &g_pkeys.keys[0], 0, 0);
        pkt[n - 1] ^= 0x40;
        CHECK_EQ(xp_device__control_input(&dev, 4, proxy_addr[1], PORT, pkt, (uint32_t)n, t),
                 XP_TUNNEL_BAD_TAG);
    }
    xp_device__poll(&dev, 3002, pkt, sizeof(pkt));
    CHECK_EQ(current_index(&dev), 2);
    /* truncated */
    CHECK_EQ(xp_device__control_input(&dev, 4, proxy_addr[2], PORT, pkt, 10, 3003),
             XP_TUNNEL_TRUNCATED);
    xp_device__wipe(&dev);
}

static void test_single_proxy(void)
{
    struct xp_device dev;
    struct xp_device_config cfg = {.unit_id = UNIT, .secret = g_secret, .secret_len = 32};
    uint8_t out[256];

    CHECK_EQ(xp_device__init(&dev, &cfg, 0), 0);
    CHECK_EQ(xp_device__add_proxy(&dev, 4, proxy_addr[0], PORT, 1), 0);
    /* nowhere to go: it keeps the proxy and keeps asking */
    CHECK_EQ(xp_device__poll(&dev, 0, out, sizeof(out)), XP_TUNNEL_HDR_LEN);
    CHECK_EQ(xp_device__poll(&dev, XP_DEVICE_DEAD_MS, out, sizeof(out)), XP_TUNNEL_HDR_LEN);
    CHECK_EQ(current_index(&dev), 0);
    xp_device__wipe(&dev);
}

/*
 * A proxy restart: its new epoch refuses the device's DATA until the next
 * keepalive's answer teaches it. Only the answer to the last keepalive
 * counts: an authentic older answer (delayed, or replayed with a fresh
 * proxy seq it cannot have) cannot take the device back.
 */
static void test_epoch(void)
{
    struct xp_tunnel_window wins[2];
    struct xp_tunnel_replay replay;
    struct xp_tunnel_result r;
    struct xp_device dev;
    uint8_t out[256];
    uint32_t old_epoch = g_proxy[0].epoch;
    uint64_t first_ka;
    int n;

    setup_device(&dev, 0);
    CHECK_EQ(xp_tunnel_replay__init(&replay, wins, 2, &g_pkeys), 0);
    /* an answer that echoes nothing we sent teaches nothing */
    CHECK_EQ(proxy_answers(&dev, 0, XP_TUNNEL_T_KEEPALIVE_ACK, 0, 12345, 1), XP_TUNNEL_OK);
    CHECK_EQ(dev.proxies[0].epoch, 0);
    handshake(&dev, 2);
    first_ka = dev.proxies[0].ka_seq;
    n = xp_device__encap_output(&dev, g_inner, sizeof(g_inner), out, sizeof(out));
    CHECK_EQ(xp_tunnel_decap(out, (uint32_t)n, &g_proxy[0], &g_pkeys, &replay, &r), XP_TUNNEL_OK);

    /* proxy 0 restarts: a new epoch, fresh windows */
    g_proxy[0].epoch = old_epoch ^ 0x5a5a5a5au;
    CHECK_EQ(xp_tunnel_replay__init(&replay, wins, 2, &g_pkeys), 0);
    CHECK_EQ(xp_tunnel_decap(out, (uint32_t)n, &g_proxy[0], &g_pkeys, &replay, &r),
             XP_TUNNEL_STALE_EPOCH); /* the captured datagram: no replay after the restart */
    n = xp_device__encap_output(&dev, g_inner, sizeof(g_inner), out, sizeof(out));
    CHECK_EQ(xp_tunnel_decap(out, (uint32_t)n, &g_proxy[0], &g_pkeys, &replay, &r),
             XP_TUNNEL_STALE_EPOCH); /* the device's own, until it learns */
    handshake(&dev, 1002);
    CHECK_EQ(dev.stats.epoch_changes, 1);
    n = xp_device__encap_output(&dev, g_inner, sizeof(g_inner), out, sizeof(out));
    CHECK_EQ(xp_tunnel_decap(out, (uint32_t)n, &g_proxy[0], &g_pkeys, &replay, &r), XP_TUNNEL_OK);

    /* an authentic answer to the first keepalive, carrying the old epoch: ignored */
    struct xp_tunnel_addr before = {.proxy_id = 1, .epoch = old_epoch};
    n = xp_tunnel_encap_control(out, sizeof(out), XP_TUNNEL_T_KEEPALIVE_ACK, &before,
                                g_proxy_seq++, &g_pkeys.keys[0], first_ka, 0);
    CHECK_EQ(xp_device__control_input(&dev, 4, proxy_addr[0], PORT, out, (uint32_t)n, 1003),
             XP_TUNNEL_OK);
    CHECK_EQ(dev.proxies[0].epoch, g_proxy[0].epoch);
    CHECK_EQ(dev.stats.epoch_changes, 1);
    g_proxy[0].epoch = old_epoch;
    xp_device__wipe(&dev);
}

/*
 * Key rotation with traffic flowing: the proxy holds keys 0 and 1, the
 * device moves from 0 to 1 between two packets; every datagram is
 * accepted, the sequence goes on, and after the proxy drops key 0 the
 * device's traffic still passes.
 */
static void test_key_rotation(void)
{
    struct xp_tunnel_key storage[2];
    struct xp_tunnel_window wins[2];
    struct xp_tunnel_keys keys;
    struct xp_tunnel_replay replay;
    struct xp_tunnel_result r;
    struct xp_device dev;
    uint8_t out[256], next[32];
    uint64_t last_seq = 0;
    int n;

    for (int i = 0; i < 32; i++)
        next[i] = (uint8_t)(0x90 + i);
    setup_device(&dev, 0);
    handshake(&dev, 0);
    xp_tunnel_keys__init(&keys, storage, 2);
    CHECK_EQ(xp_tunnel_keys__add(&keys, UNIT, 0, g_secret, sizeof(g_secret)), 0);
    CHECK_EQ(xp_tunnel_keys__add(&keys, UNIT, 1, next, sizeof(next)), 0);
    CHECK_EQ(xp_tunnel_replay__init(&replay, wins, 2, &keys), 0);
    for (int i = 0; i < 200; i++) {
        if (i == 100) {
            CHECK_EQ(xp_device__set_key(&dev, 1, next, 3), -EINVAL); /* the old key stays */
            CHECK_EQ(xp_device__set_key(&dev, 1, next, sizeof(next)), 0);
        }
        n = xp_device__encap_output(&dev, g_inner, sizeof(g_inner), out, sizeof(out));
        CHECK_EQ(xp_tunnel_decap(out, (uint32_t)n, &g_proxy[0], &keys, &replay, &r),
                 XP_TUNNEL_OK);
        CHECK_EQ(r.key_id, i < 100 ? 0 : 1);
        CHECK(r.seq > last_seq);
        last_seq = r.seq;
    }
    CHECK_EQ(dev.stats.key_changes, 1);
    /* the proxy drops key 0 (a reload): the device's traffic still passes */
    CHECK_EQ(xp_tunnel_keys__find_key(&keys, UNIT, 1), 1);
    storage[0] = storage[1];
    keys.count = 1;
    CHECK_EQ(xp_tunnel_replay__init(&replay, wins, 2, &keys), 0);
    n = xp_device__encap_output(&dev, g_inner, sizeof(g_inner), out, sizeof(out));
    CHECK_EQ(xp_tunnel_decap(out, (uint32_t)n, &g_proxy[0], &keys, &replay, &r), XP_TUNNEL_OK);
    /* and an answer under the old key, late, is refused as such */
    CHECK_EQ(proxy_says(&dev, 0, XP_TUNNEL_T_KEEPALIVE_ACK, 0, 5), XP_TUNNEL_UNKNOWN_KEY);
    xp_tunnel_keys__wipe(&keys);
    xp_device__wipe(&dev);
}

int main(void)
{
    for (int i = 0; i < 32; i++)
        g_secret[i] = (uint8_t)(0x40 + i);
    xp_tunnel_keys__init(&g_pkeys, g_pkeys_storage, 1);
    CHECK_EQ(xp_tunnel_keys__add(&g_pkeys, UNIT, 0, g_secret, sizeof(g_secret)), 0);

    test_config();
    test_encap_decaps_on_proxy();
    test_keepalive_and_timeout();
    test_overload();
    test_hostile_control();
    test_single_proxy();
    test_epoch();
    test_key_rotation();
    xp_tunnel_keys__wipe(&g_pkeys);
    return xp_check_report("test_device");
}
