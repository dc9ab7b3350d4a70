// SPDX-License-Identifier: GPL-2.0-only
/*
 * Hex and address text (hexaddr.h). inet_pton() does the address syntax:
 * it refuses spaces, short and octal IPv4 forms and zone ids, which is the
 * strictness a configuration and a wire format both want.
 */
#include "src/util/hexaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

void xp_hex__encode(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 0xf];
    }
    out[2 * n] = '\0';
}

static int hex_digit(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

int xp_hex__decode(const char *in, uint8_t *out, size_t out_max)
{
    size_t len = strlen(in);

    if (len % 2 || len / 2 > out_max)
        return -EINVAL;
    for (size_t i = 0; i < len / 2; i++) {
        int hi = hex_digit(in[2 * i]), lo = hex_digit(in[2 * i + 1]);

        if (hi < 0 || lo < 0)
            return -EINVAL;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return (int)(len / 2);
}

bool xp_addr__is_v4(const uint8_t a[16])
{
    return memcmp(a, v4_mapped, sizeof(v4_mapped)) == 0;
}

void xp_addr__from_v4(const void *v4, uint8_t a[16])
{
    memcpy(a, v4_mapped, sizeof(v4_mapped));
    memcpy(a + 12, v4, 4);
}

int xp_addr__parse(const char *s, uint8_t a[16])
{
    uint8_t v4[4];

    if (strchr(s, ':'))
        return inet_pton(AF_INET6, s, a) == 1 ? 0 : -EINVAL;
    if (inet_pton(AF_INET, s, v4) != 1)
        return -EINVAL;
    xp_addr__from_v4(v4, a);
    return 0;
}

void xp_addr__format(const uint8_t a[16], char *out, size_t len)
{
    if (xp_addr__is_v4(a))
        inet_ntop(AF_INET, a + 12, out, len);
    else
        inet_ntop(AF_INET6, a, out, len);
}

int xp_addr__hostport(const char *text, char *host, size_t host_len, uint16_t *port)
{
    const char *colon = strrchr(text, ':');
    const char *h = text, *hend = colon;
    unsigned long p;
    char *end;

    if (!colon || colon == text)
        return -EINVAL;
    if (text[0] == '[') {
        h = text + 1;
        if (colon[-1] != ']')
            return -EINVAL;
        hend = colon - 1;
    } else if (memchr(text, ':', colon - text)) {
        return -EINVAL; /* an IPv6 address needs brackets, or its last group is the port */
    }
    errno = 0;
    p = strtoul(colon + 1, &end, 10);
    if (errno || end == colon + 1 || *end || p == 0 || p > 65535 ||
        (size_t)(hend - h) >= host_len || hend == h)
        return -EINVAL;
    memcpy(host, h, hend - h);
    host[hend - h] = '\0';
    *port = (uint16_t)p;
    return 0;
}
