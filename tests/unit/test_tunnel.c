// SPDX-License-Identifier: GPL-2.0-only
/*
 * src/tunnel: round trips, every drop reason, the replay window, the key
 * table, and the MAC against OpenSSL's one-shot HMAC().
 *
 * The crafted packets double as the fuzz seed corpus: `test_tunnel
 * --write-corpus DIR` writes each to DIR/<name>, prefixed with the mode
 * byte fuzz/fuzz_tunnel.c expects; the keys here are the fuzz target's.
 */
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tunnel.h"
#include "xp_check.h"

#define PKT_MAX 2048

static const char *g_write_dir;

/* Same derivation as fuzz/fuzz_tunnel.c: key byte i of unit u is u * 31 + i. */
static void test_secret(uint32_t unit, uint8_t secret[32])
{
    for (int i = 0; i < 32; i++)
        secret[i] = (uint8_t)(unit * 31 + (uint32_t)i);
}

#define UNIT_A 1u
#define UNIT_B 3u /* differs from UNIT_A in one bit of the unit id */
#define UNIT_C 0x80000001u

/* The proxy these tests play (fuzz/fuzz_tunnel.c uses the same address). */
#define PROXY_ID 7
#define PROXY_EPOCH 0x11223344u
static const struct xp_tunnel_addr g_self = {.proxy_id = PROXY_ID, .epoch = PROXY_EPOCH};

static struct xp_tunnel_key g_key_storage[8];
static struct xp_tunnel_keys g_keys;
static struct xp_tunnel_window g_win_storage[8];
static struct xp_tunnel_replay g_replay;

static void setup_keys(void)
{
    uint8_t s[32];
    uint32_t units[] = {UNIT_C, UNIT_A, UNIT_B};

    xp_tunnel_keys__init(&g_keys, g_key_storage, 8);
    for (unsigned i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        test_secret(units[i], s);
        CHECK_EQ(xp_tunnel_keys__add(&g_keys, units[i], 0, s, sizeof(s)), 0);
    }
    CHECK_EQ(xp_tunnel_replay__init(&g_replay, g_win_storage, 8, &g_keys), 0);
}

static void reset_replay(void)
{
    CHECK_EQ(xp_tunnel_replay__init(&g_replay, g_win_storage, 8, &g_keys), 0);
}

static const struct xp_tunnel_key *key_of(uint32_t unit)
{
    int idx = xp_tunnel_keys__find(&g_keys, unit);

    if (idx < 0) {
        fprintf(stderr, "no key for unit %u\n", unit);
        abort();
    }
    return &g_keys.keys[idx];
}

/* ---- inner packets ------------------------------------------------------ */

/* IPv4/UDP 10.0.0.2:40000 -> 198.51.100.1:dport with a 4-byte payload (checksums 0). */
static uint32_t make_v4_udp(uint8_t *p, uint16_t dport)
{
    static const uint8_t v4[] = {
        0x45, 0x00, 0x00, 0x20, 0x12, 0x34, 0x00, 0x00, 0x40, 0x11, 0x00, 0x00,
        10,   0,    0,    2,    198,  51,   100,  1,
        0x9c, 0x40, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x00, 0x40, 0x01, 0x12, 0x34,
    };

    memcpy(p, v4, sizeof(v4));
    p[22] = (uint8_t)(dport >> 8);
    p[23] = (uint8_t)dport;
    return sizeof(v4);
}

/* IPv6/UDP 2001:db8::2 -> 2001:db8::1, dport, 4-byte payload. */
static uint32_t make_v6_udp(uint8_t *p, uint16_t dport)
{
    memset(p, 0, 52);
    p[0] = 0x60;
    p[5] = 12;   /* payload length */
    p[6] = 17;   /* UDP */
    p[7] = 64;
    p[8] = 0x20, p[9] = 0x01, p[10] = 0x0d, p[11] = 0xb8, p[23] = 2;
    p[24] = 0x20, p[25] = 0x01, p[26] = 0x0d, p[27] = 0xb8, p[39] = 1;
    p[40] = 0x9c, p[41] = 0x40;
    p[42] = (uint8_t)(dport >> 8), p[43] = (uint8_t)dport;
    p[45] = 12;
    p[48] = 0x40, p[49] = 0x01;
    return 52;
}

/* ---- corpus ------------------------------------------------------------- */

/* fuzz/fuzz_tunnel.c modes (first input byte) */
#define MODE_PROXY 0   /* rest is a UDP payload for xp_tunnel_decap() */
#define MODE_UNIT 1    /* rest is a UDP payload for xp_tunnel_decap_control() */
#define MODE_SIGNED 2  /* rest is [type][body]: signed with unit A's key, then decapsulated */

static void write_seed(const char *name, uint8_t mode, const uint8_t *p, uint32_t len)
{
    char path[4096];
    FILE *f;

    if (!g_write_dir)
        return;
    snprintf(path, sizeof(path), "%s/%s", g_write_dir, name);
    f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f)
        return;
    CHECK(fwrite(&mode, 1, 1, f) == 1);
    CHECK(fwrite(p, 1, len, f) == len);
    CHECK(fclose(f) == 0);
}

static void write_signed_seed(const char *name, uint8_t type, const uint8_t *body, uint32_t len)
{
    uint8_t buf[PKT_MAX];

    buf[0] = type;
    memcpy(buf + 1, body, len);
    write_seed(name, MODE_SIGNED, buf, len + 1);
}

/* ---- tests -------------------------------------------------------------- */

static void test_mac_matches_openssl_hmac(void)
{
    struct xp_tunnel_key key;
    uint8_t secret[64], pkt[PKT_MAX], inner[200], ref[EVP_MAX_MD_SIZE];
    unsigned int ref_len = 0;

    for (size_t klen = XP_TUNNEL_KEY_MIN; klen <= XP_TUNNEL_KEY_MAX; klen += 16) {
        for (size_t i = 0; i < klen; i++)
            secret[i] = (uint8_t)(0xa5 ^ (i * 7));
        for (size_t i = 0; i < sizeof(inner); i++)
            inner[i] = (uint8_t)i;
        CHECK_EQ(xp_tunnel_key__set(&key, 42, 0, secret, klen), 0);
        int n = xp_tunnel_encap(pkt, sizeof(pkt), XP_TUNNEL_T_DATA, &g_self, 7, &key, inner,
                                sizeof(inner));
        CHECK_EQ(n, XP_TUNNEL_HDR_LEN + sizeof(inner));
        /* reference: HMAC over header bytes [0,24) followed by the body */
        uint8_t msg[XP_TUNNEL_MAC_OFF + sizeof(inner)];
        memcpy(msg, pkt, XP_TUNNEL_MAC_OFF);
        memcpy(msg + XP_TUNNEL_MAC_OFF, inner, sizeof(inner));
        CHECK(HMAC(EVP_sha256(), secret, (int)klen, msg, sizeof(msg), ref, &ref_len) != NULL);
        CHECK_EQ(ref_len, 32);
        CHECK(memcmp(pkt + XP_TUNNEL_MAC_OFF, ref, XP_TUNNEL_TAG_LEN) == 0);
    }
    CHECK_EQ(xp_tunnel_key__set(&key, 1, 0, secret, XP_TUNNEL_KEY_MIN - 1), -EINVAL);
    CHECK_EQ(xp_tunnel_key__set(&key, 1, 0, secret, XP_TUNNEL_KEY_MAX + 1), -EINVAL);
    CHECK_EQ(xp_tunnel_key__set(&key, 1, 0, NULL, 32), -EINVAL);
}

static void test_wire_layout(void)
{
    uint8_t pkt[PKT_MAX], inner[64];
    uint32_t ilen = make_v4_udp(inner, 5683);
    int n = xp_tunnel_encap(pkt, sizeof(pkt), XP_TUNNEL_T_DATA, &g_self, 0x0102030405060708ull,
                            key_of(UNIT_C), inner, ilen);
    /* magic, version 2, DATA, key id 0, flags 0, proxy 7, unit, epoch, seq */
    static const uint8_t want[24] = {0x58, 0x54, 2,    0,    0,    0,    0, 7, 0x80, 0, 0, 1,
                                     0x11, 0x22, 0x33, 0x44, 1,    2,    3, 4, 5,    6, 7, 8};

    CHECK_EQ(n, XP_TUNNEL_HDR_LEN + ilen);
    CHECK(memcmp(pkt, want, sizeof(want)) == 0);
    CHECK(memcmp(pkt + XP_TUNNEL_HDR_LEN, inner, ilen) == 0); /* inner packet unchanged */
}

static void test_round_trip(void)
{
    uint8_t pkt[PKT_MAX], inner[128];
    struct xp_tunnel_result r;
    uint32_t ilen;
    int n;

    reset_replay();
    ilen = make_v4_udp(inner, 5683);
    n = xp_tunnel_encap(pkt, sizeof(pkt), XP_TUNNEL_T_DATA, &g_self, 1, key_of(UNIT_A), inner, ilen);
    CHECK(n > 0);
    write_seed("ok_v4_coap", MODE_PROXY, pkt, (uint32_t)n);
    write_signed_seed("signed_v4_coap", XP_TUNNEL_T_DATA, inner, ilen);
    CHECK_EQ(xp_tunnel_decap(pkt, (uint32_t)n, &g_self, &g_keys, &g_replay, &r), XP_TUNNEL_OK);
    CHECK_EQ(r.unit_id, UNIT_A);
    CHECK_EQ(r.seq, 1);
    CHECK_EQ(r.type, XP_TUNNEL_T_DATA);
    CHECK_EQ(r.body_len, ilen);
    CHECK(r.body == pkt + XP_TUNNEL_HDR_LEN && memcmp(r.body, inner, ilen) == 0);
    CHECK_EQ(r.inner.family, 4);
    CHECK_EQ(r.inner.dport, 5683);
    CHECK_EQ(r.inner.l4_proto, 17);

    ilen = make_v6_udp(inner, 5683);
    n = xp_tunnel_encap(pkt, sizeof(pkt), XP_TUNNEL_T_DATA, &g_self, 2, key_of(UNIT_C), inner, ilen);
    write_seed("ok_v6_coap", MODE_PROXY, pkt, (uint32_t)n);
    write_signed_seed("signed_v6_coap", XP_TUNNEL_T_DATA, inner, ilen);
    CHECK_EQ(xp_tunnel_decap(pkt, (uint32_t)n, &g_self, &g_keys, &g_replay, &r), XP_TUNNEL_OK);
    CHECK_EQ(r.unit_id, UNIT_C);
    CHECK_EQ(r.inner.family, 6);
    CHECK(memcmp(r.body, inner, ilen) == 0);

    /* in place: inner packet already at out + HDR_LEN */
    ilen = make_v4_udp(pkt + XP_TUNNEL_HDR_LEN, 80);
    memcpy(inner, pkt + XP_TUNNEL_HDR_LEN, ilen);
    n = xp_tunnel_encap(pkt, sizeof(pkt), XP_TUNNEL_T_DATA, &g_self, 3, key_of(UNIT_A),
                        pkt + XP_TUNNEL_HDR_LEN, ilen);
    CHECK_EQ(xp_tunnel_decap(pkt, (uint32_t)n, &g_self, &g_keys, &g_replay, &r), XP_TUNNEL_OK);
    CHECK(memcmp(r.body, inner, ilen) == 0);

    /* overlapping, body before the header end */
    memmove(pkt + 10, inner, ilen);
    n = xp_tunnel_encap(pkt, sizeof(pkt), XP_TUNNEL_T_DATA, &g_self, 4, key_of(UNIT_A), pkt + 10, ilen);
    CHECK_EQ(xp_tunnel_decap(pkt, (uint32_t)n, &g_self, &g_keys, &g_replay, &r), XP_TUNNEL_OK);
    CHECK(memcmp(r.body, inner, ilen) == 0);

    /* keepalive: empty body */
    n = xp_tunnel_encap(pkt, sizeof(pkt), XP_TUNNEL_T_KEEPALIVE, &g_self, 5, key_of(UNIT_A), NULL, 0);
    CHECK_EQ(n, XP_TUNNEL_HDR_LEN);
    write_seed("ok_keepalive", MODE_PROXY, pkt, (uint32_t)n);
    CHECK_EQ(xp_tunnel_decap(pkt, (uint32_t)n, &g_self, &g_keys, &g_replay, &r), XP_TUNNEL_OK);
    CHECK_EQ(r.type, XP_TUNNEL_T_KEEPALIVE);
    CHECK_EQ(r.body_len, 0);
}

static void test_control(void)
{
    uint8_t pkt[PKT_MAX];
    struct xp_tunnel_window w;
    struct xp_tunnel_result r;
    int n;

    xp_tunnel_window__init(&w, UNIT_A);
    n = xp_tunnel_encap_control(pkt, sizeof(pkt), XP_TUNNEL_T_KEEPALIVE_ACK, &g_self, 10, key_of(UNIT_A),
                                5, 250);
    CHECK_EQ(n, XP_TUNNEL_HDR_LEN + XP_TUNNEL_CTL_BODY_LEN);
    write_seed("ok_ack", MODE_UNIT, pkt, (uint32_t)n);
    CHECK_EQ(xp_tunnel_decap_control(pkt, (uint32_t)n, key_of(UNIT_A), PROXY_ID, &w, &r), XP_TUNNEL_OK);
    CHECK_EQ(r.type, XP_TUNNEL_T_KEEPALIVE_ACK);
    CHECK_EQ(r.echo_seq, 5);
    CHECK_EQ(r.w_permille, 250);
    CHECK_EQ(xp_tunnel_decap_control(pkt, (uint32_t)n, key_of(UNIT_A), PROXY_ID, &w, &r),
             XP_TUNNEL_REPLAYED);
    /* reflection: a proxy -> unit message sent to a proxy, and the reverse */
    reset_replay();
    CHECK_EQ(xp_tunnel_decap(pkt, (uint32_t)n, &g_self, &g_keys, &g_replay, &r), XP_TUNNEL_BAD_TYPE);

    n = xp_tunnel_encap_control(pkt, sizeof(pkt), XP_TUNNEL_T_OVERLOAD, &g_self, 11, key_of(UNIT_A), 0,
                                1500);
    write_seed("ok_overload", MODE_UNIT, pkt, (uint32_t)n);
    CHECK_EQ(xp_tunnel_decap_control(pkt, (uint32_t)n, key_of(UNIT_A), PROXY_ID, &w, &r), XP_TUNNEL_OK);
    CHECK_EQ(r.type, XP_TUNNEL_T_OVERLOAD);
    CHECK_EQ(r.w_permille, 1500);
    /* another unit's key: the unit id does not match */
    CHECK_EQ(xp_tunnel_decap_control(pkt, (uint32_t)n, key_of(UNIT_B), PROXY_ID, &w, &r),
             XP_TUNNEL_UNKNOWN_UNIT);

    n = xp_tunnel_encap(pkt, sizeof(pkt), XP_TUNNEL_T_KEEPALIVE, &g_self, 12, key_of(UNIT_A), NULL, 0);
    CHECK_EQ(xp_tunnel_decap_control(pkt, (uint32_t)n, key_of(UNIT_A), PROXY_ID, &w, &r),
             XP_TUNNEL_BAD_TYPE);
    /* control body of the wrong length */
    uint8_t body[XP_TUNNEL_CTL_BODY_LEN + 1] = {0};
    n = xp_tunnel_encap(pkt, sizeof(pkt), XP_TUNNEL_T_OVERLOAD, &g_self, 13, key_of(UNIT_A), body,
                        sizeof(body));
    write_seed("err_control_len", MODE_UNIT, pkt, (uint32_t)n);
    CHECK_EQ(xp_tunnel_decap_control(pkt, (uint32_t)n, key_of(UNIT_A), PROXY_ID, &w, &r),
             XP_TUNNEL_BAD_CONTROL);
    n = xp_tunnel_encap(pkt, sizeof(pkt), XP_TUNNEL_T_KEEPALIVE, &g_self, 6, key_of(UNIT_A), body, 1);
    CHECK_EQ(xp_tunnel_decap(pkt, (uint32_t)n, &g_self, &g_keys, &g_replay, &r), XP_TUNNEL_BAD_CONTROL);
    CHECK_EQ(xp_tunnel_encap_control(pkt, sizeof(pkt), XP_TUNNEL_T_DATA, &g_self, 1, key_of(UNIT_A), 0, 0),
             -EINVAL);
}

/* Every bit of tag, seq and inner packet flipped: each must be bad_tag, and must not touch the window. */
static void test_forged(void)
{
    uint8_t pkt[PKT_MAX], inner[128];
    struct xp_tunnel_result r;
    uint32_t ilen = make_v4_udp(inner, 5683);
    int n;

    reset_replay();
    n = xp_tunnel_encap(pkt, sizeof(pkt), XP_TUNNEL_T_DATA, &g_self, 100, key_of(UNIT_A), inner, ilen);
    for (uint32_t bit = 0; bit < (uint32_t)n * 8; bit++) {
        uint32_t byte = bit / 8;
        enum xp_tunnel_status want, got;

        if (byte < 4 || byte == 5)
            continue; /* magic/version/type/flags: checked before the tag, see test_header */
        pkt[byte] ^= (uint8_t)(1u << (bit % 8));
        got = xp_tunnel_decap(pkt, (uint32_t)n, &g_self, &g_keys, &g_replay, &r);
        pkt[byte] ^= (uint8_t)(1u << (bit % 8));
        /*
         * Addressing and key fields are checked, unopened, before the tag: a
         * changed key id names no key, proxy id another proxy, epoch another
         * run. A unit id bit: UNIT_B and UNIT_C are one flip away (bad tag),
         * other flips name no unit.
         */
        if (byte == 4)
            want = XP_TUNNEL_UNKNOWN_KEY;
        else if (byte == 6 || byte == 7)
            want = XP_TUNNEL_WRONG_PROXY;
        else if (byte >= 8 && byte < 12)
            want = xp_tunnel_keys__find(&g_keys, r.unit_id) >= 0 ? XP_TUNNEL_BAD_TAG
                                                                 : XP_TUNNEL_UNKNOWN_UNIT;
        else if (byte >= 12 && byte < 16)
            want = XP_TUNNEL_STALE_EPOCH;
        else
            want = XP_TUNNEL_BAD_TAG;
        if (got != want) {
            fprintf(stderr, "bit %u (byte %u): %s, expected %s\n", bit, byte,
                    xp_tunnel_status_name(got), xp_tunnel_status_name(want));
            failures++;
        }
        if (bit == 24 * 8)
            write_seed("err_tag_bit", MODE_PROXY, pkt, (uint32_t)n);
    }
    /* none of the forgeries moved the window: the genuine packet still passes, once */
    CHECK_EQ(xp_tunnel_decap(pkt, (uint32_t)n, &g_self, &g_keys, &g_replay, &r), XP_TUNNEL_OK);
    CHECK_EQ(xp_tunnel_decap(pkt, (uint32_t)n, &g_self, &g_keys, &g_replay, &r), XP_TUNNEL_REPLAYED);

    /* forged far-future seq must not advance the window */
    pkt[16] ^= 0x80;
    pkt[24] ^= 1;
    CHECK_EQ(xp_tunnel_decap(pkt, (uint32_t)n, &g_self, &g_keys, &g_replay, &r), XP_TUNNEL_BAD_TAG);
    write_seed("err_forged_seq", MODE_PROXY, pkt, (uint32_t)n);
    n = xp_tunnel_encap(pkt, sizeof(pkt), XP_TUNNEL_T_DATA, &g_self, 101, key_of(UNIT_A), inner, ilen);
    CHECK_EQ(xp_tunnel_decap(pkt, (uint32_t)n, &g_self, &g_keys, &g_replay, &r), XP_TUNNEL_OK);

    /* right unit, wrong key */
    uint8_t other[32];
    struct xp_tunnel_key k;
    test_secret(99, other);
    CHECK_EQ(xp_tunnel_key__set(&k, UNIT_A, 0, other, sizeof(other)), 0);
    n = xp_tunnel_encap(pkt, sizeof(pkt), XP_TUNNEL_T_DATA, &g_self, 102, &k, inner, ilen);
    write_seed("err_wrong_key", MODE_PROXY, pkt, (uint32_t)n);
    CHECK_EQ(xp_tunnel_decap(pkt, (uint32_t)n, &g_self, &g_keys, &g_replay, &r), XP_TUNNEL_BAD_TAG);
    /* trailing garbage after a genuine packet */
    n = xp_tunnel_encap(pkt, sizeof(pkt), XP_TUNNEL_T_DATA, &g_self, 103, key_of(UNIT_A), inner, ilen);
    pkt[n] = 0;
    CHECK_EQ(xp_tunnel_decap(pkt, (uint32_t)n + 1, &g_self, &g_keys, &g_replay, &r), XP_TUNNEL_BAD_TAG);
    CHECK_EQ(xp_tunnel_decap(pkt, (uint32_t)n - 1, &g_self, &g_keys, &g_replay, &r), XP_TUNNEL_BAD_TAG);
}

static void test_header(void)
{
    uint8_t pkt[PKT_MAX], inner[128];
    struct xp_tunnel_result r;
    uint32_t ilen = make_v4_udp(inner, 5683);
    int n;

    reset_replay();
    n = xp_tunnel_encap(pkt, sizeof(pkt), XP_TUNNEL_T_DATA, &g_self, 1, key_of(UNIT_A), inner, ilen);
    for (uint32_t len = 0; len < XP_TUNNEL_HDR_LEN; len++) {
        /* exact-size copy so ASan catches a read past len */
        uint8_t *cut = malloc(len ? len : 1);
        if (!cut)
            abort();
        memcpy(cut, pkt, len);
        CHECK_EQ(xp_tunnel_decap(cut, len, &g_self, &g_keys, &g_replay, &r), XP_TUNNEL_TRUNCATED);
        CHECK_EQ(xp_tunnel_decap_control(cut, len, key_of(UNIT_A), PROXY_ID, &g_win_storage[0], &r),
                 XP_TUNNEL_TRUNCATED);
        free(cut);
    }
    write_seed("err_truncated", MODE_PROXY, pkt, XP_TUNNEL_HDR_LEN - 1);

    pkt[0] ^= 1;
    CHECK_EQ(xp_tunnel_decap(pkt, (uint32_t)n, &g_self, &g_keys, &g_replay, &r), XP_TUNNEL_BAD_MAGIC);
    write_seed("err_bad_magic", MODE_PROXY, pkt, (uint32_t)n);
    pkt[0] ^= 1;
    pkt[1] ^= 0x10;
    CHECK_EQ(xp_tunnel_decap(pkt, (uint32_t)n, &g_self, &g_keys, &g_replay, &r), XP_TUNNEL_BAD_MAGIC);
    pkt[1] ^= 0x10;
    pkt[2] = 1; /* version 1 had no proxy id or epoch: refused */
    CHECK_EQ(xp_tunnel_decap(pkt, (uint32_t)n, &g_self, &g_keys, &g_replay, &r), XP_TUNNEL_BAD_VERSION);
    write_seed("err_bad_version", MODE_PROXY, pkt, (uint32_t)n);
    pkt[2] = 0;
    CHECK_EQ(xp_tunnel_decap(pkt, (uint32_t)n, &g_self, &g_keys, &g_replay, &r), XP_TUNNEL_BAD_VERSION);
    pkt[2] = XP_TUNNEL_VERSION;
    for (int bit = 0; bit < 8; bit++) {
        pkt[5] ^= (uint8_t)(1u << bit);
        CHECK_EQ(xp_tunnel_decap(pkt, (uint32_t)n, &g_self, &g_keys, &g_replay, &r),
                 XP_TUNNEL_BAD_VERSION);
        pkt[5] ^= (uint8_t)(1u << bit);
    }
    for (int t = 0; t < 256; t++) {
        enum xp_tunnel_status want = (t == XP_TUNNEL_T_DATA || t == XP_TUNNEL_T_KEEPALIVE)
                                         ? XP_TUNNEL_BAD_TAG
                                         : XP_TUNNEL_BAD_TYPE;
        if (t == XP_TUNNEL_T_DATA)
            continue;
        pkt[3] = (uint8_t)t;
        CHECK_EQ(xp_tunnel_decap(pkt, (uint32_t)n, &g_self, &g_keys, &g_replay, &r), want);
    }
    pkt[3] = XP_TUNNEL_T_DATA;
    CHECK_EQ(xp_tunnel_decap(pkt, (uint32_t)n, &g_self, &g_keys, &g_replay, &r), XP_TUNNEL_OK);

    /* unknown unit, with a tag made under a key the proxy does not have */
    uint8_t s[32];
    struct xp_tunnel_key k;
    test_secret(2, s);
    CHECK_EQ(xp_tunnel_key__set(&k, 2, 0, s, sizeof(s)), 0);
    n = xp_tunnel_encap(pkt, sizeof(pkt), XP_TUNNEL_T_DATA, &g_self, 1, &k, inner, ilen);
    CHECK_EQ(xp_tunnel_decap(pkt, (uint32_t)n, &g_self, &g_keys, &g_replay, &r), XP_TUNNEL_UNKNOWN_UNIT);
    CHECK_EQ(r.unit_id, 2);
    write_seed("err_unknown_unit", MODE_PROXY, pkt, (uint32_t)n);

    /* a replay table out of step with the keys refuses the unit rather than guess */
    struct xp_tunnel_replay short_replay = {g_win_storage, 1};
    n = xp_tunnel_encap(pkt, sizeof(pkt), XP_TUNNEL_T_DATA, &g_self, 50, key_of(UNIT_C), inner, ilen);
    CHECK_EQ(xp_tunnel_decap(pkt, (uint32_t)n, &g_self, &g_keys, &short_replay, &r),
             XP_TUNNEL_UNKNOWN_UNIT);
    g_win_storage[2].unit_id = 12345;
    CHECK_EQ(xp_tunnel_decap(pkt, (uint32_t)n, &g_self, &g_keys, &g_replay, &r), XP_TUNNEL_UNKNOWN_UNIT);
    reset_replay();
    CHECK_EQ(xp_tunnel_decap(pkt, (uint32_t)n, &g_self, &g_keys, &g_replay, &r), XP_TUNNEL_OK);
}

static void test_inner(void)
{
    uint8_t pkt[PKT_MAX], inner[128];
    struct xp_tunnel_result r;
    uint32_t ilen;
    uint64_t seq = 1;
    int n;

    reset_replay();
    /* nested tunnel, both families */
    ilen = make_v4_udp(inner, XP_TUNNEL_UDP_PORT);
    n = xp_tunnel_encap(pkt, sizeof(pkt), XP_TUNNEL_T_DATA, &g_self, seq++, key_of(UNIT_A), inner, ilen);
    CHECK_EQ(xp_tunnel_decap(pkt, (uint32_t)n, &g_self, &g_keys, &g_replay, &r), XP_TUNNEL_NESTED_TUNNEL);
    CHECK_EQ(r.unit_id, UNIT_A);
    write_seed("err_nested_v4", MODE_PROXY, pkt, (uint32_t)n);
    write_signed_seed("signed_nested_v4", XP_TUNNEL_T_DATA, inner, ilen);
    ilen = make_v6_udp(inner, XP_TUNNEL_UDP_PORT);
    n = xp_tunnel_encap(pkt, sizeof(pkt), XP_TUNNEL_T_DATA, &g_self, seq++, key_of(UNIT_A), inner, ilen);
    CHECK_EQ(xp_tunnel_decap(pkt, (uint32_t)n, &g_self, &g_keys, &g_replay, &r), XP_TUNNEL_NESTED_TUNNEL);
    write_signed_seed("signed_nested_v6", XP_TUNNEL_T_DATA, inner, ilen);
    /* the tunnel port as source only is not a tunnel packet */
    ilen = make_v4_udp(inner, 5683);
    inner[20] = XP_TUNNEL_UDP_PORT >> 8, inner[21] = XP_TUNNEL_UDP_PORT & 0xff;
    n = xp_tunnel_encap(pkt, sizeof(pkt), XP_TUNNEL_T_DATA, &g_self, seq++, key_of(UNIT_A), inner, ilen);
    CHECK_EQ(xp_tunnel_decap(pkt, (uint32_t)n, &g_self, &g_keys, &g_replay, &r), XP_TUNNEL_OK);

    /* malformed inner packets: bad IHL, not IP, truncated, length mismatch, empty */
    ilen = make_v4_udp(inner, 5683);
    inner[0] = 0x44;
    n = xp_tunnel_encap(pkt, sizeof(pkt), XP_TUNNEL_T_DATA, &g_self, seq++, key_of(UNIT_A), inner, ilen);
    CHECK_EQ(xp_tunnel_decap(pkt, (uint32_t)n, &g_self, &g_keys, &g_replay, &r),
             XP_TUNNEL_INNER_MALFORMED);
    CHECK_EQ(r.unit_id, UNIT_A);
    write_seed("err_inner_bad_ihl", MODE_PROXY, pkt, (uint32_t)n);
    write_signed_seed("signed_inner_bad_ihl", XP_TUNNEL_T_DATA, inner, ilen);
    inner[0] = 0x15;
    n = xp_tunnel_encap(pkt, sizeof(pkt), XP_TUNNEL_T_DATA, &g_self, seq++, key_of(UNIT_A), inner, ilen);
    CHECK_EQ(xp_tunnel_decap(pkt, (uint32_t)n, &g_self, &g_keys, &g_replay, &r),
             XP_TUNNEL_INNER_MALFORMED);
    ilen = make_v4_udp(inner, 5683);
    n = xp_tunnel_encap(pkt, sizeof(pkt), XP_TUNNEL_T_DATA, &g_self, seq++, key_of(UNIT_A), inner, 19);
    CHECK_EQ(xp_tunnel_decap(pkt, (uint32_t)n, &g_self, &g_keys, &g_replay, &r),
             XP_TUNNEL_INNER_MALFORMED);
    n = xp_tunnel_encap(pkt, sizeof(pkt), XP_TUNNEL_T_DATA, &g_self, seq++, key_of(UNIT_A), inner,
                        ilen - 1);
    CHECK_EQ(xp_tunnel_decap(pkt, (uint32_t)n, &g_self, &g_keys, &g_replay, &r),
             XP_TUNNEL_INNER_MALFORMED);
    write_signed_seed("signed_inner_short", XP_TUNNEL_T_DATA, inner, ilen - 1);
    n = xp_tunnel_encap(pkt, sizeof(pkt), XP_TUNNEL_T_DATA, &g_self, seq++, key_of(UNIT_A), NULL, 0);
    CHECK_EQ(xp_tunnel_decap(pkt, (uint32_t)n, &g_self, &g_keys, &g_replay, &r),
             XP_TUNNEL_INNER_MALFORMED);
    ilen = make_v6_udp(inner, 5683);
    inner[5] = 200; /* payload length past the end */
    n = xp_tunnel_encap(pkt, sizeof(pkt), XP_TUNNEL_T_DATA, &g_self, seq++, key_of(UNIT_A), inner, ilen);
    CHECK_EQ(xp_tunnel_decap(pkt, (uint32_t)n, &g_self, &g_keys, &g_replay, &r),
             XP_TUNNEL_INNER_MALFORMED);
    /* an authentic malformed packet consumed its seq: not replayable */
    CHECK_EQ(xp_tunnel_decap(pkt, (uint32_t)n, &g_self, &g_keys, &g_replay, &r), XP_TUNNEL_REPLAYED);
}

static enum xp_tunnel_status send_seq(uint32_t unit, uint64_t seq)
{
    uint8_t pkt[PKT_MAX], inner[64];
    struct xp_tunnel_result r;
    uint32_t ilen = make_v4_udp(inner, 5683);
    int n = xp_tunnel_encap(pkt, sizeof(pkt), XP_TUNNEL_T_DATA, &g_self, seq, key_of(unit), inner, ilen);

    return xp_tunnel_decap(pkt, (uint32_t)n, &g_self, &g_keys, &g_replay, &r);
}

static void test_replay(void)
{
    uint8_t pkt[PKT_MAX], inner[64];
    uint32_t ilen = make_v4_udp(inner, 5683);
    int n;

    reset_replay();
    /* same seq twice */
    CHECK_EQ(send_seq(UNIT_A, 1), XP_TUNNEL_OK);
    CHECK_EQ(send_seq(UNIT_A, 1), XP_TUNNEL_REPLAYED);
    n = xp_tunnel_encap(pkt, sizeof(pkt), XP_TUNNEL_T_DATA, &g_self, 1, key_of(UNIT_A), inner, ilen);
    write_seed("err_replayed_seq1_twice", MODE_PROXY, pkt, (uint32_t)n); /* fuzz: fresh window, ok */
    /* seq 0 is a number like any other, accepted once */
    CHECK_EQ(send_seq(UNIT_A, 0), XP_TUNNEL_OK);
    CHECK_EQ(send_seq(UNIT_A, 0), XP_TUNNEL_REPLAYED);
    /* windows are per unit */
    CHECK_EQ(send_seq(UNIT_B, 1), XP_TUNNEL_OK);

    /* window advancing: jump to 100, then 37 is too old (100 - 37 = 63 is the edge: ok) */
    CHECK_EQ(send_seq(UNIT_A, 100), XP_TUNNEL_OK);
    CHECK_EQ(send_seq(UNIT_A, 36), XP_TUNNEL_TOO_OLD);
    CHECK_EQ(send_seq(UNIT_A, 37), XP_TUNNEL_OK);
    CHECK_EQ(send_seq(UNIT_A, 37), XP_TUNNEL_REPLAYED);
    /* out of order inside the window */
    CHECK_EQ(send_seq(UNIT_A, 99), XP_TUNNEL_OK);
    CHECK_EQ(send_seq(UNIT_A, 50), XP_TUNNEL_OK);
    CHECK_EQ(send_seq(UNIT_A, 99), XP_TUNNEL_REPLAYED);
    /* small step keeps the history shifted correctly */
    CHECK_EQ(send_seq(UNIT_A, 101), XP_TUNNEL_OK);
    CHECK_EQ(send_seq(UNIT_A, 99), XP_TUNNEL_REPLAYED);
    CHECK_EQ(send_seq(UNIT_A, 100), XP_TUNNEL_REPLAYED);
    CHECK_EQ(send_seq(UNIT_A, 98), XP_TUNNEL_OK);
    CHECK_EQ(send_seq(UNIT_A, 37), XP_TUNNEL_TOO_OLD);
    /* a jump of exactly the window width and beyond clears the history */
    CHECK_EQ(send_seq(UNIT_A, 101 + 64), XP_TUNNEL_OK);
    CHECK_EQ(send_seq(UNIT_A, 101), XP_TUNNEL_TOO_OLD);
    CHECK_EQ(send_seq(UNIT_A, 102), XP_TUNNEL_OK);
    CHECK_EQ(send_seq(UNIT_A, 1000000), XP_TUNNEL_OK);
    CHECK_EQ(send_seq(UNIT_A, 1000000 - 63), XP_TUNNEL_OK);
    CHECK_EQ(send_seq(UNIT_A, 1000000 - 64), XP_TUNNEL_TOO_OLD);
    /* top of the 64-bit space */
    CHECK_EQ(send_seq(UNIT_A, UINT64_MAX), XP_TUNNEL_OK);
    CHECK_EQ(send_seq(UNIT_A, UINT64_MAX), XP_TUNNEL_REPLAYED);
    CHECK_EQ(send_seq(UNIT_A, UINT64_MAX - 1), XP_TUNNEL_OK);

    /* the window against a reference model on a pseudo-random walk */
    struct xp_tunnel_window w;
    static uint8_t seen[4096];
    uint64_t top = 0, x = 12345;
    bool any = false;
    xp_tunnel_window__init(&w, 0);
    memset(seen, 0, sizeof(seen));
    for (int i = 0; i < 20000; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        uint64_t s = (x >> 33) % 4096;
        enum xp_tunnel_status want;
        if (any && s + XP_TUNNEL_REPLAY_WINDOW <= top)
            want = XP_TUNNEL_TOO_OLD;
        else if (seen[s])
            want = XP_TUNNEL_REPLAYED;
        else
            want = XP_TUNNEL_OK;
        if (!any && s == 0 && seen[0])
            want = XP_TUNNEL_REPLAYED;
        enum xp_tunnel_status got = xp_tunnel_window__check_update(&w, s);
        if (got != want) {
            fprintf(stderr, "window step %d seq %llu: %s, expected %s\n", i,
                    (unsigned long long)s, xp_tunnel_status_name(got),
                    xp_tunnel_status_name(want));
            failures++;
            break;
        }
        if (want == XP_TUNNEL_OK) {
            seen[s] = 1;
            if (s > top)
                top = s;
            any = true;
        }
    }
}

static void test_key_table(void)
{
    struct xp_tunnel_key storage[3];
    struct xp_tunnel_keys t;
    struct xp_tunnel_window wins[2];
    struct xp_tunnel_replay r;
    uint8_t s[32];

    test_secret(9, s);
    xp_tunnel_keys__init(&t, storage, 3);
    CHECK_EQ(xp_tunnel_keys__find(&t, 5), -1);
    CHECK_EQ(xp_tunnel_keys__add(&t, 50, 0, s, sizeof(s)), 0);
    CHECK_EQ(xp_tunnel_keys__add(&t, 10, 0, s, sizeof(s)), 0);
    CHECK_EQ(xp_tunnel_keys__add(&t, 30, 0, s, 8), -EINVAL);
    CHECK_EQ(xp_tunnel_keys__add(&t, 30, 0, s, sizeof(s)), 0);
    CHECK_EQ(xp_tunnel_keys__add(&t, 30, 0, s, sizeof(s)), -EEXIST);
    CHECK_EQ(xp_tunnel_keys__add(&t, 40, 0, s, sizeof(s)), -ENOSPC);
    CHECK_EQ(t.count, 3);
    CHECK_EQ(t.keys[0].unit_id, 10);
    CHECK_EQ(t.keys[1].unit_id, 30);
    CHECK_EQ(t.keys[2].unit_id, 50);
    CHECK_EQ(xp_tunnel_keys__find(&t, 30), 1);
    CHECK_EQ(xp_tunnel_keys__find(&t, 31), -1);
    CHECK_EQ(xp_tunnel_keys__find(&t, 0), -1);
    CHECK_EQ(xp_tunnel_keys__find(&t, UINT32_MAX), -1);
    CHECK_EQ(xp_tunnel_replay__init(&r, wins, 2, &t), -ENOSPC);
    xp_tunnel_keys__wipe(&t);
    CHECK_EQ(t.count, 0);
    uint8_t zero[sizeof(storage)] = {0};
    CHECK(memcmp(storage, zero, sizeof(storage)) == 0);
}

static void test_encap_errors(void)
{
    uint8_t pkt[PKT_MAX], inner[64] = {0};

    CHECK_EQ(xp_tunnel_encap(pkt, XP_TUNNEL_HDR_LEN + 63, XP_TUNNEL_T_DATA, &g_self, 1, key_of(UNIT_A),
                             inner, 64),
             -ENOSPC);
    CHECK_EQ(xp_tunnel_encap(pkt, XP_TUNNEL_HDR_LEN + 64, XP_TUNNEL_T_DATA, &g_self, 1, key_of(UNIT_A),
                             inner, 64),
             XP_TUNNEL_HDR_LEN + 64);
    CHECK_EQ(xp_tunnel_encap(pkt, sizeof(pkt), (enum xp_tunnel_type)256, &g_self, 1, key_of(UNIT_A),
                             inner, 64),
             -EINVAL);
    CHECK_EQ(xp_tunnel_encap(pkt, sizeof(pkt), XP_TUNNEL_T_DATA, &g_self, 1, key_of(UNIT_A), NULL, 4),
             -EINVAL);
    CHECK_EQ(xp_tunnel_encap(pkt, UINT32_MAX, XP_TUNNEL_T_DATA, &g_self, 1, key_of(UNIT_A), inner,
                             XP_TUNNEL_MAX_PAYLOAD),
             -EINVAL);
}

/*
 * A datagram is good for one proxy and one run of it: captured on its way
 * to proxy 7, it is refused by proxy 8 holding the same keys, and by proxy
 * 7 after a restart (a new epoch, fresh windows). Neither field can be
 * edited to fit: the tag covers both.
 */
static void test_addressing(void)
{
    const struct xp_tunnel_addr other = {.proxy_id = PROXY_ID + 1, .epoch = PROXY_EPOCH};
    const struct xp_tunnel_addr restarted = {.proxy_id = PROXY_ID, .epoch = PROXY_EPOCH + 1};
    const struct xp_tunnel_addr stale = {.proxy_id = PROXY_ID, .epoch = 99};
    uint8_t pkt[PKT_MAX], inner[64];
    struct xp_tunnel_result r;
    uint32_t ilen = make_v4_udp(inner, 5683);
    int n;

    reset_replay();
    n = xp_tunnel_encap(pkt, sizeof(pkt), XP_TUNNEL_T_DATA, &g_self, 500, key_of(UNIT_A), inner,
                        ilen);
    /* across proxies: refused unopened, whatever the window says */
    CHECK_EQ(xp_tunnel_decap(pkt, (uint32_t)n, &other, &g_keys, &g_replay, &r),
             XP_TUNNEL_WRONG_PROXY);
    CHECK_EQ(r.proxy_id, PROXY_ID);
    write_seed("err_wrong_proxy", MODE_PROXY, pkt, (uint32_t)n);
    CHECK_EQ(xp_tunnel_decap(pkt, (uint32_t)n, &g_self, &g_keys, &g_replay, &r), XP_TUNNEL_OK);
    CHECK_EQ(r.epoch, PROXY_EPOCH);
    /* after a restart: the windows start empty, the epoch is another */
    reset_replay();
    CHECK_EQ(xp_tunnel_decap(pkt, (uint32_t)n, &restarted, &g_keys, &g_replay, &r),
             XP_TUNNEL_STALE_EPOCH);
    /* the fields cannot be edited to fit: proxy id, then epoch */
    pkt[7] = PROXY_ID + 1;
    CHECK_EQ(xp_tunnel_decap(pkt, (uint32_t)n, &other, &g_keys, &g_replay, &r), XP_TUNNEL_BAD_TAG);
    pkt[7] = PROXY_ID;
    pkt[15] = (uint8_t)(PROXY_EPOCH + 1);
    CHECK_EQ(xp_tunnel_decap(pkt, (uint32_t)n, &restarted, &g_keys, &g_replay, &r),
             XP_TUNNEL_BAD_TAG);
    /* nothing of that moved the window: the genuine datagram still passes here, once */
    pkt[15] = (uint8_t)PROXY_EPOCH;
    CHECK_EQ(xp_tunnel_decap(pkt, (uint32_t)n, &g_self, &g_keys, &g_replay, &r), XP_TUNNEL_OK);

    /* DATA for an epoch the unit made up or remembered wrong */
    n = xp_tunnel_encap(pkt, sizeof(pkt), XP_TUNNEL_T_DATA, &stale, 501, key_of(UNIT_A), inner,
                        ilen);
    CHECK_EQ(xp_tunnel_decap(pkt, (uint32_t)n, &g_self, &g_keys, &g_replay, &r),
             XP_TUNNEL_STALE_EPOCH);
    write_seed("err_stale_epoch", MODE_PROXY, pkt, (uint32_t)n);
    /* a keepalive may name any epoch, 0 included: it is how a unit learns the current one */
    for (uint32_t e = 0; e < 3; e++) {
        const struct xp_tunnel_addr to = {.proxy_id = PROXY_ID, .epoch = e * 77};

        n = xp_tunnel_encap(pkt, sizeof(pkt), XP_TUNNEL_T_KEEPALIVE, &to, 502 + e,
                            key_of(UNIT_A), NULL, 0);
        CHECK_EQ(xp_tunnel_decap(pkt, (uint32_t)n, &g_self, &g_keys, &g_replay, &r),
                 XP_TUNNEL_OK);
        CHECK_EQ(r.epoch, e * 77);
    }
    write_seed("ok_keepalive_any_epoch", MODE_PROXY, pkt, (uint32_t)n);

    /* the answer names the proxy and its epoch; the unit checks the proxy id */
    struct xp_tunnel_window w;
    xp_tunnel_window__init(&w, UNIT_A);
    n = xp_tunnel_encap_control(pkt, sizeof(pkt), XP_TUNNEL_T_KEEPALIVE_ACK, &g_self, 900,
                                key_of(UNIT_A), 504, 10);
    CHECK_EQ(xp_tunnel_decap_control(pkt, (uint32_t)n, key_of(UNIT_A), PROXY_ID + 1, &w, &r),
             XP_TUNNEL_WRONG_PROXY);
    CHECK_EQ(xp_tunnel_decap_control(pkt, (uint32_t)n, key_of(UNIT_A), PROXY_ID, &w, &r),
             XP_TUNNEL_OK);
    CHECK_EQ(r.epoch, PROXY_EPOCH);
    CHECK_EQ(r.echo_seq, 504);
}

/*
 * Rotation: a unit with keys 0 and 1 may sign with either; both share the
 * unit's one window (a sequence number is spent whichever key signed it).
 */
static void test_key_rotation(void)
{
    struct xp_tunnel_key storage[8], k1, k7;
    struct xp_tunnel_window wins[8];
    struct xp_tunnel_keys t;
    struct xp_tunnel_replay rp;
    struct xp_tunnel_result r;
    uint8_t s0[32], s1[32], pkt[PKT_MAX], inner[64];
    uint32_t ilen = make_v4_udp(inner, 5683);
    int n;

    test_secret(40, s0);
    test_secret(41, s1);
    xp_tunnel_keys__init(&t, storage, 8);
    CHECK_EQ(xp_tunnel_keys__add(&t, 20, 1, s1, sizeof(s1)), 0);
    CHECK_EQ(xp_tunnel_keys__add(&t, 10, 0, s0, sizeof(s0)), 0);
    CHECK_EQ(xp_tunnel_keys__add(&t, 20, 0, s0, sizeof(s0)), 0);
    CHECK_EQ(xp_tunnel_keys__add(&t, 20, 1, s0, sizeof(s0)), -EEXIST);
    CHECK_EQ(xp_tunnel_keys__add(&t, 20, 200, s0, sizeof(s0)), 0);
    CHECK_EQ(xp_tunnel_keys__add(&t, 20, 7, s0, sizeof(s0)), 0);
    CHECK_EQ(xp_tunnel_keys__add(&t, 20, 8, s0, sizeof(s0)), -E2BIG);
    CHECK_EQ(xp_tunnel_keys__add(&t, 30, 0, s0, sizeof(s0)), 0);
    /* sorted by (unit, key id); a unit is found at its first key */
    CHECK_EQ(t.count, 6);
    CHECK_EQ(xp_tunnel_keys__find(&t, 10), 0);
    CHECK_EQ(xp_tunnel_keys__find(&t, 20), 1);
    CHECK_EQ(xp_tunnel_keys__find(&t, 30), 5);
    CHECK_EQ(xp_tunnel_keys__find_key(&t, 20, 0), 1);
    CHECK_EQ(xp_tunnel_keys__find_key(&t, 20, 1), 2);
    CHECK_EQ(xp_tunnel_keys__find_key(&t, 20, 7), 3);
    CHECK_EQ(xp_tunnel_keys__find_key(&t, 20, 200), 4);
    CHECK_EQ(xp_tunnel_keys__find_key(&t, 20, 2), -1);
    CHECK_EQ(xp_tunnel_keys__find_key(&t, 10, 1), -1);
    CHECK_EQ(xp_tunnel_replay__init(&rp, wins, 8, &t), 0);

    CHECK_EQ(xp_tunnel_key__set(&k1, 20, 1, s1, sizeof(s1)), 0);
    CHECK_EQ(xp_tunnel_key__set(&k7, 20, 7, s1, sizeof(s1)), 0); /* id 7 holds s0, not s1 */
    /* old key, then the new one, sequence going on: both accepted */
    for (uint64_t seq = 1; seq <= 10; seq++) {
        struct xp_tunnel_key k0;

        CHECK_EQ(xp_tunnel_key__set(&k0, 20, 0, s0, sizeof(s0)), 0);
        n = xp_tunnel_encap(pkt, sizeof(pkt), XP_TUNNEL_T_DATA, &g_self, seq,
                            seq <= 5 ? &k0 : &k1, inner, ilen);
        CHECK_EQ(xp_tunnel_decap(pkt, (uint32_t)n, &g_self, &t, &rp, &r), XP_TUNNEL_OK);
        CHECK_EQ(r.key_id, seq <= 5 ? 0 : 1);
        CHECK_EQ(r.key_index, seq <= 5 ? 1 : 2);
        CHECK_EQ(r.unit_index, 1); /* the unit's first key, whichever key signed */
        xp_tunnel_key__wipe(&k0);
    }
    /* one window for the unit: seq 10 re-signed under the other key is still a replay */
    n = xp_tunnel_encap(pkt, sizeof(pkt), XP_TUNNEL_T_DATA, &g_self, 10, &storage[1], inner, ilen);
    CHECK_EQ(xp_tunnel_decap(pkt, (uint32_t)n, &g_self, &t, &rp, &r), XP_TUNNEL_REPLAYED);
    /* a key id the proxy does not hold: refused before the MAC */
    struct xp_tunnel_key k2;
    CHECK_EQ(xp_tunnel_key__set(&k2, 20, 2, s1, sizeof(s1)), 0);
    n = xp_tunnel_encap(pkt, sizeof(pkt), XP_TUNNEL_T_DATA, &g_self, 11, &k2, inner, ilen);
    CHECK_EQ(xp_tunnel_decap(pkt, (uint32_t)n, &g_self, &t, &rp, &r), XP_TUNNEL_UNKNOWN_KEY);
    write_seed("err_unknown_key", MODE_PROXY, pkt, (uint32_t)n);
    /* a key id the proxy holds, with another key's secret: the tag fails */
    n = xp_tunnel_encap(pkt, sizeof(pkt), XP_TUNNEL_T_DATA, &g_self, 12, &k7, inner, ilen);
    CHECK_EQ(xp_tunnel_decap(pkt, (uint32_t)n, &g_self, &t, &rp, &r), XP_TUNNEL_BAD_TAG);
    /* unit side: an answer under a key the unit no longer uses is refused as such */
    struct xp_tunnel_window w;
    xp_tunnel_window__init(&w, 20);
    n = xp_tunnel_encap_control(pkt, sizeof(pkt), XP_TUNNEL_T_KEEPALIVE_ACK, &g_self, 5,
                                &storage[1], 3, 0);
    CHECK_EQ(xp_tunnel_decap_control(pkt, (uint32_t)n, &k1, PROXY_ID, &w, &r),
             XP_TUNNEL_UNKNOWN_KEY);
    CHECK_EQ(xp_tunnel_decap_control(pkt, (uint32_t)n, &storage[1], PROXY_ID, &w, &r),
             XP_TUNNEL_OK);
    xp_tunnel_key__wipe(&k1);
    xp_tunnel_key__wipe(&k2);
    xp_tunnel_key__wipe(&k7);
    xp_tunnel_keys__wipe(&t);
}

static void test_status_names(void)
{
    for (int i = 0; i < XP_TUNNEL_STATUS_MAX; i++) {
        const char *n = xp_tunnel_status_name((enum xp_tunnel_status)i);
        CHECK(strcmp(n, "invalid") != 0);
        for (int j = 0; j < i; j++)
            CHECK(strcmp(n, xp_tunnel_status_name((enum xp_tunnel_status)j)) != 0);
    }
    CHECK(strcmp(xp_tunnel_status_name(XP_TUNNEL_STATUS_MAX), "invalid") == 0);
    CHECK(strcmp(xp_tunnel_status_name((enum xp_tunnel_status)-1), "invalid") == 0);
    CHECK(strcmp(xp_tunnel_status_name(XP_TUNNEL_BAD_TAG), "bad_tag") == 0);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--write-corpus") == 0) {
        g_write_dir = argv[2];
    } else if (argc != 1) {
        fprintf(stderr, "usage: %s [--write-corpus DIR]\n", argv[0]);
        return 2;
    }
    setup_keys();
    test_mac_matches_openssl_hmac();
    test_wire_layout();
    test_round_trip();
    test_control();
    test_forged();
    test_header();
    test_inner();
    test_replay();
    test_key_table();
    test_addressing();
    test_key_rotation();
    test_encap_errors();
    test_status_names();
    xp_tunnel_keys__wipe(&g_keys);
    return xp_check_report("test_tunnel");
}
