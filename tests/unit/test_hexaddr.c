// SPDX-License-Identifier: GPL-2.0-only
/* Hex strings and address text (src/util/hexaddr.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "src/util/hexaddr.h"
#include "xp_check.h"

static void test_hex(void)
{
    static const uint8_t raw[] = { 0x00, 0x01, 0x7f, 0x80, 0xab, 0xff };
    uint8_t out[8];
    char hex[2 * sizeof(raw) + 1];

    xp_hex__encode(raw, sizeof(raw), hex);
    CHECK(strcmp(hex, "00017f80abff") == 0);
    xp_hex__encode(raw, 0, hex);
    CHECK(strcmp(hex, "") == 0);
    CHECK_EQ(xp_hex__decode("00017f80abff", out, sizeof(out)), 6);
    CHECK(memcmp(out, raw, 6) == 0);
    CHECK_EQ(xp_hex__decode("00017F80ABFF", out, sizeof(out)), 6); /* either case */
    CHECK(memcmp(out, raw, 6) == 0);
    CHECK_EQ(xp_hex__decode("", out, sizeof(out)), 0);
    CHECK_EQ(xp_hex__decode("abc", out, sizeof(out)), -EINVAL);      /* odd length */
    CHECK_EQ(xp_hex__decode("0g", out, sizeof(out)), -EINVAL);       /* not hex */
    CHECK_EQ(xp_hex__decode(" 00", out, sizeof(out)), -EINVAL);
    CHECK_EQ(xp_hex__decode("0x00", out, sizeof(out)), -EINVAL);
    CHECK_EQ(xp_hex__decode("000102030405060708", out, 8), -EINVAL); /* 9 bytes */
    CHECK_EQ(xp_hex__decode("0001020304050607", out, 8), 8);         /* exactly full */
}

static void test_addr(void)
{
    static const uint8_t v4[4] = { 198, 18, 0, 1 };
    uint8_t a[16], b[16];
    char text[XP_ADDR_STRLEN];

    CHECK_EQ(xp_addr__parse("198.18.0.1", a), 0);
    CHECK(xp_addr__is_v4(a));
    xp_addr__from_v4(v4, b);
    CHECK(memcmp(a, b, 16) == 0);
    CHECK(a[10] == 0xff && a[11] == 0xff && a[12] == 198 && a[15] == 1);
    xp_addr__format(a, text, sizeof(text));
    CHECK(strcmp(text, "198.18.0.1") == 0);

    CHECK_EQ(xp_addr__parse("2001:db8::1", a), 0);
    CHECK(!xp_addr__is_v4(a));
    CHECK(a[0] == 0x20 && a[1] == 0x01 && a[15] == 1);
    xp_addr__format(a, text, sizeof(text));
    CHECK(strcmp(text, "2001:db8::1") == 0);
    /* the mapped form written as IPv6 is the same address, and prints as IPv4 */
    CHECK_EQ(xp_addr__parse("::ffff:10.0.0.1", a), 0);
    CHECK(xp_addr__is_v4(a));
    xp_addr__format(a, text, sizeof(text));
    CHECK(strcmp(text, "10.0.0.1") == 0);
    xp_addr__parse("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", a);
    xp_addr__format(a, text, sizeof(text));
    CHECK(strcmp(text, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff") == 0);

    CHECK_EQ(xp_addr__parse("", a), -EINVAL);
    CHECK_EQ(xp_addr__parse("10.0.0", a), -EINVAL);
    CHECK_EQ(xp_addr__parse("010.0.0.1", a), -EINVAL);
    CHECK_EQ(xp_addr__parse("10.0.0.1 ", a), -EINVAL);
    CHECK_EQ(xp_addr__parse("256.0.0.1", a), -EINVAL);
    CHECK_EQ(xp_addr__parse("fe80::1%eth0", a), -EINVAL);
    CHECK_EQ(xp_addr__parse("[::1]", a), -EINVAL);
    CHECK_EQ(xp_addr__parse("localhost", a), -EINVAL);
}

static void test_hostport(void)
{
    char host[16];
    uint16_t port = 0;

    CHECK_EQ(xp_addr__hostport("127.0.0.1:7420", host, sizeof(host), &port), 0);
    CHECK(strcmp(host, "127.0.0.1") == 0 && port == 7420);
    CHECK_EQ(xp_addr__hostport("[::1]:9100", host, sizeof(host), &port), 0);
    CHECK(strcmp(host, "::1") == 0 && port == 9100);
    CHECK_EQ(xp_addr__hostport("h:65535", host, sizeof(host), &port), 0);
    CHECK(port == 65535);

    CHECK_EQ(xp_addr__hostport("::1:80", host, sizeof(host), &port), -EINVAL); /* brackets */
    CHECK_EQ(xp_addr__hostport("127.0.0.1", host, sizeof(host), &port), -EINVAL);
    CHECK_EQ(xp_addr__hostport(":80", host, sizeof(host), &port), -EINVAL);
    CHECK_EQ(xp_addr__hostport("[]:80", host, sizeof(host), &port), -EINVAL);
    CHECK_EQ(xp_addr__hostport("[::1:80", host, sizeof(host), &port), -EINVAL);
    CHECK_EQ(xp_addr__hostport("h:0", host, sizeof(host), &port), -EINVAL);
    CHECK_EQ(xp_addr__hostport("h:65536", host, sizeof(host), &port), -EINVAL);
    CHECK_EQ(xp_addr__hostport("h:80x", host, sizeof(host), &port), -EINVAL);
    CHECK_EQ(xp_addr__hostport("h:", host, sizeof(host), &port), -EINVAL);
    /* host too long for the buffer: 16 bytes hold 15 characters */
    CHECK_EQ(xp_addr__hostport("123456789012345:1", host, sizeof(host), &port), 0);
    CHECK_EQ(xp_addr__hostport("1234567890123456:1", host, sizeof(host), &port), -EINVAL);
}

int main(void)
{
    test_hex();
    test_addr();
    test_hostport();
    return xp_check_report("test_hexaddr");
}
