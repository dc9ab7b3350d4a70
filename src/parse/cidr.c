// SPDX-License-Identifier: GPL-2.0-only
/*
 * CIDR prefixes for the allowlist and management lists. Parsing happens at
 * config load; matching happens per packet, so it is two masked 64-bit
 * compares with no branch on the prefix length.
 */
#include "parse.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

/* An IPv4 prefix /n lives at /(96 + n) under ::ffff:0:0/96. */
#define XP_CIDR_V4_MAPPED_BITS 96u

int xp_cidr_parse(const char *text, struct xp_cidr *out)
{
    char buf[INET6_ADDRSTRLEN];
    struct xp_cidr c;
    const char *slash;
    unsigned max_len, base, plen, total, i;
    size_t alen;

    memset(&c, 0, sizeof(c));
    slash = strchr(text, '/');
    alen = slash ? (size_t)(slash - text) : strlen(text);
    if (alen == 0 || alen >= sizeof(buf))
        return -EINVAL;
    memcpy(buf, text, alen);
    buf[alen] = '\0';

    /* inet_pton is strict enough: no spaces, no short or octal IPv4 forms, no zone id */
    if (strchr(buf, ':')) {
        if (inet_pton(AF_INET6, buf, c.addr) != 1)
            return -EINVAL;
        c.family = 6;
        max_len = 128;
        base = 0;
    } else {
        if (inet_pton(AF_INET, buf, c.addr + 12) != 1)
            return -EINVAL;
        c.addr[10] = 0xff;
        c.addr[11] = 0xff;
        c.family = 4;
        max_len = 32;
        base = XP_CIDR_V4_MAPPED_BITS;
    }

    plen = max_len;
    if (slash) {
        const char *p = slash + 1;
        unsigned digits = 0;

        plen = 0;
        for (; *p; p++, digits++) {
            /* three digits cover 128; more can only be garbage or overflow */
            if (*p < '0' || *p > '9' || digits == 3)
                return -EINVAL;
            plen = plen * 10 + (unsigned)(*p - '0');
        }
        if (digits == 0 || plen > max_len)
            return -EINVAL;
    }

    total = base + plen;
    c.prefix_len = (uint8_t)total;
    for (i = 0; i < 16; i++) {
        unsigned bits = total > i * 8 ? total - i * 8 : 0;

        if (bits >= 8)
            c.mask[i] = 0xff;
        else
            c.mask[i] = (uint8_t)(0xff00u >> bits);
        /* host bits are accepted and dropped: "10.1.2.3/8" means 10.0.0.0/8 */
        c.addr[i] &= c.mask[i];
    }
    *out = c;
    return 0;
}
