// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target for src/parse: the frame parser, the bare-IP entry point
 * and the CIDR parser, on the same input.
 *
 * Over-reads are ASan's job (libFuzzer hands us a buffer of exactly `size`
 * bytes); this file checks what ASan cannot see: outputs that are in bounds
 * of memory but wrong, which the pipeline would then trust.
 */
#include "parse.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* libFuzzer inputs are small, but a size_t length must not wrap the parser's uint32_t. */
#define XP_FUZZ_MAX_LEN 65536u

static void check_parsed(const struct xp_parsed *p, int st, uint32_t len, uint32_t l3_min)
{
    if (st < 0 || st >= XP_PARSE_STATUS_MAX)
        __builtin_trap();
    /* every status the parser returns must have a counter name */
    if (strcmp(xp_parse_status_name(st), "invalid") == 0)
        __builtin_trap();
    if (st != XP_PARSE_OK)
        return;
    if (p->family != 4 && p->family != 6)
        __builtin_trap();
    if ((p->family == 4) != (p->ethertype == 0x0800))
        __builtin_trap();
    if (p->l3_off < l3_min || p->l3_off >= len || p->vlan_count > XP_PARSE_MAX_VLANS)
        __builtin_trap();
    if (p->flags & XP_PARSED_F_HAS_L4) {
        /* the upper layer starts after the IP header and its payload fits in the frame */
        if (p->l4_off <= p->l3_off || p->l4_off > len)
            __builtin_trap();
        if ((uint32_t)p->l4_off + p->ip_payload_len > len)
            __builtin_trap();
    } else {
        if (p->l4_off != 0 || p->sport != 0 || p->dport != 0)
            __builtin_trap();
    }
    if ((p->flags & XP_PARSED_F_FIRST_FRAGMENT) && !(p->flags & XP_PARSED_F_FRAGMENT))
        __builtin_trap();
    /* a later fragment never claims an L4 header */
    if ((p->flags & XP_PARSED_F_FRAGMENT) && !(p->flags & XP_PARSED_F_FIRST_FRAGMENT) &&
        (p->flags & XP_PARSED_F_HAS_L4))
        __builtin_trap();
    if (p->family == 4) {
        static const uint8_t v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

        if (memcmp(p->src, v4_mapped, 12) != 0 || memcmp(p->dst, v4_mapped, 12) != 0)
            __builtin_trap();
    }
}

static void check_cidr(const uint8_t *data, size_t size)
{
    char text[128];
    struct xp_cidr c;
    size_t n = size < sizeof(text) - 1 ? size : sizeof(text) - 1;

    memcpy(text, data, n);
    text[n] = '\0';
    if (xp_cidr_parse(text, &c) != 0)
        return;
    if (c.prefix_len > 128 || (c.family != 4 && c.family != 6))
        __builtin_trap();
    if (c.family == 4 && (c.prefix_len < 96 || c.addr[10] != 0xff || c.addr[11] != 0xff))
        __builtin_trap();
    for (unsigned i = 0; i < 16; i++) {
        unsigned bits = c.prefix_len > i * 8 ? c.prefix_len - i * 8 : 0;
        uint8_t want = bits >= 8 ? 0xff : (uint8_t)(0xff00u >> bits);

        if (c.mask[i] != want || (c.addr[i] & (uint8_t)~c.mask[i]) != 0)
            __builtin_trap();
    }
    /* the network address is in its own prefix, and so is the last address of it */
    if (!xp_cidr_match(&c, c.addr))
        __builtin_trap();
    {
        uint8_t last[16];

        for (unsigned i = 0; i < 16; i++)
            last[i] = (uint8_t)(c.addr[i] | (uint8_t)~c.mask[i]);
        if (!xp_cidr_match(&c, last))
            __builtin_trap();
        /* flipping the last prefix bit leaves the prefix */
        if (c.prefix_len > 0) {
            unsigned b = c.prefix_len - 1u;

            last[b / 8] ^= (uint8_t)(0x80u >> (b % 8));
            if (xp_cidr_match(&c, last))
                __builtin_trap();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct xp_parsed p;
    uint32_t len = size > XP_FUZZ_MAX_LEN ? XP_FUZZ_MAX_LEN : (uint32_t)size;
    int st;

    st = xp_parse_frame(data, len, &p);
    check_parsed(&p, st, len, 14);
    if (st == XP_PARSE_OK && p.l3_off != 14 + 4u * p.vlan_count)
        __builtin_trap();

    st = xp_parse_ip(data, len, &p);
    check_parsed(&p, st, len, 0);

    check_cidr(data, size);
    return 0;
}
