// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target for src/tunnel. The first input byte picks a mode:
 *
 *   0  the rest is a UDP payload for xp_tunnel_decap() (proxy side)
 *   1  the rest is a UDP payload for xp_tunnel_decap_control() (unit side)
 *   2  the rest is [type][body]: signed with unit 1's key and decapsulated,
 *      so the fuzzer reaches the inner-packet checks a random tag never would
 *   3  the rest is a list of 16-bit sequence numbers fed to a replay window
 *      and to a plain reference model
 *
 * The key table (units 1, 3, 0x80000001, key id 0; key byte i of unit u is
 * u*31+i) and the proxy (tunnel id 7, epoch 0x11223344) are the ones
 * tests/unit/test_tunnel.c uses to write fuzz/corpus/tunnel/.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tunnel.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct xp_tunnel_addr g_self = {.proxy_id = 7, .epoch = 0x11223344u};
static struct xp_tunnel_key g_storage[3];
static struct xp_tunnel_keys g_keys;
static bool g_ready;

static void setup(void)
{
    static const uint32_t units[] = {1, 3, 0x80000001u};
    uint8_t s[32];

    xp_tunnel_keys__init(&g_keys, g_storage, 3);
    for (unsigned u = 0; u < 3; u++) {
        for (int i = 0; i < 32; i++)
            s[i] = (uint8_t)(units[u] * 31 + (uint32_t)i);
        if (xp_tunnel_keys__add(&g_keys, units[u], 0, s, sizeof(s)) != 0)
            __builtin_trap();
    }
    g_ready = true;
}

/* What ASan cannot see: a result that is in bounds of memory but wrong. */
static void check_result(enum xp_tunnel_status st, const uint8_t *p, uint32_t len,
                         const struct xp_tunnel_result *r)
{
    if ((unsigned)st >= XP_TUNNEL_STATUS_MAX ||
        strcmp(xp_tunnel_status_name(st), "invalid") == 0)
        __builtin_trap();
    if (st == XP_TUNNEL_OK || st == XP_TUNNEL_NESTED_TUNNEL || st == XP_TUNNEL_INNER_MALFORMED ||
        st == XP_TUNNEL_BAD_CONTROL) {
        /* authentic: the body is exactly what follows the header */
        if (r->body != p + XP_TUNNEL_HDR_LEN || r->body_len != len - XP_TUNNEL_HDR_LEN)
            __builtin_trap();
    } else if (r->body || r->body_len) {
        __builtin_trap();
    }
    if (st == XP_TUNNEL_OK && r->type == XP_TUNNEL_T_DATA &&
        (r->inner.family != 4 && r->inner.family != 6))
        __builtin_trap();
}

static void fuzz_window(const uint8_t *d, size_t n)
{
    static uint8_t seen[65536];
    struct xp_tunnel_window w;
    uint64_t top = 0;
    bool any = false;

    memset(seen, 0, sizeof(seen));
    xp_tunnel_window__init(&w, 0);
    for (size_t i = 0; i + 1 < n; i += 2) {
        uint16_t s = (uint16_t)(d[i] << 8 | d[i + 1]);
        enum xp_tunnel_status want, got;

        if (any && (uint64_t)s + XP_TUNNEL_REPLAY_WINDOW <= top)
            want = XP_TUNNEL_TOO_OLD;
        else if (seen[s])
            want = XP_TUNNEL_REPLAYED;
        else
            want = XP_TUNNEL_OK;
        got = xp_tunnel_window__check_update(&w, s);
        if (got != want)
            __builtin_trap();
        if (got == XP_TUNNEL_OK) {
            seen[s] = 1;
            if (s > top)
                top = s;
            any = true;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t buf[XP_TUNNEL_HDR_LEN + 65536];
    struct xp_tunnel_window wins[3], w;
    struct xp_tunnel_replay replay;
    struct xp_tunnel_result r;
    enum xp_tunnel_status st;
    uint32_t len;
    int n;

    if (!g_ready)
        setup();
    if (size < 1 || size > 65536)
        return 0;
    len = (uint32_t)size - 1;
    if (xp_tunnel_replay__init(&replay, wins, 3, &g_keys) != 0)
        __builtin_trap();

    switch (data[0] & 3) {
    case 0:
        st = xp_tunnel_decap(data + 1, len, &g_self, &g_keys, &replay, &r);
        check_result(st, data + 1, len, &r);
        /* the same payload twice: never accepted twice */
        if (st == XP_TUNNEL_OK &&
            xp_tunnel_decap(data + 1, len, &g_self, &g_keys, &replay, &r) != XP_TUNNEL_REPLAYED)
            __builtin_trap();
        /* accepted DATA names this proxy and this run, whatever the bytes */
        if (st == XP_TUNNEL_OK && (r.proxy_id != g_self.proxy_id ||
                                   (r.type == XP_TUNNEL_T_DATA && r.epoch != g_self.epoch)))
            __builtin_trap();
        break;
    case 1:
        xp_tunnel_window__init(&w, 1);
        st = xp_tunnel_decap_control(data + 1, len, &g_keys.keys[0], g_self.proxy_id, &w, &r);
        check_result(st, data + 1, len, &r);
        break;
    case 2:
        if (len < 1)
            return 0;
        n = xp_tunnel_encap(buf, sizeof(buf), (enum xp_tunnel_type)data[1], &g_self, 1,
                            &g_keys.keys[0], data + 2, len - 1);
        if (n < 0)
            return 0;
        if ((uint32_t)n != XP_TUNNEL_HDR_LEN + len - 1)
            __builtin_trap();
        st = xp_tunnel_decap(buf, (uint32_t)n, &g_self, &g_keys, &replay, &r);
        check_result(st, buf, (uint32_t)n, &r);
        /* we signed it, for this proxy: only the body or a unit-side type may be refused */
        if (st == XP_TUNNEL_BAD_TAG || st == XP_TUNNEL_UNKNOWN_UNIT || st == XP_TUNNEL_TRUNCATED ||
            st == XP_TUNNEL_BAD_MAGIC || st == XP_TUNNEL_BAD_VERSION || st == XP_TUNNEL_REPLAYED ||
            st == XP_TUNNEL_WRONG_PROXY || st == XP_TUNNEL_STALE_EPOCH ||
            st == XP_TUNNEL_UNKNOWN_KEY)
            __builtin_trap();
        if (st == XP_TUNNEL_OK && memcmp(r.body, data + 2, len - 1) != 0)
            __builtin_trap();
        xp_tunnel_window__init(&w, 1);
        st = xp_tunnel_decap_control(buf, (uint32_t)n, &g_keys.keys[0], g_self.proxy_id, &w, &r);
        check_result(st, buf, (uint32_t)n, &r);
        break;
    default:
        fuzz_window(data + 1, len);
        break;
    }
    return 0;
}
