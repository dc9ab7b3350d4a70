/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Hex strings and IP addresses as text, written once for every xpro
 * program: the sync wire codec, the configurations, xpro-ctl.
 *
 * Addresses are 16 bytes everywhere in xpro: IPv4 is stored IPv4-mapped
 * (::ffff:a.b.c.d), so one comparison or prefix match serves both
 * families. Pure functions of their arguments: any thread, no allocation.
 */
#ifndef XP_HEXADDR_H
#define XP_HEXADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest text of an address from xp_addr__format(), NUL included (INET6_ADDRSTRLEN). */
#define XP_ADDR_STRLEN 46

/* in[0..n) as 2n lower-case hex digits and a NUL into out (2n + 1 bytes). */
void xp_hex__encode(const uint8_t *in, size_t n, char *out);

/*
 * Decode the hex digits of in (either case, the whole string) into out.
 * Returns the byte count, or -EINVAL when in has an odd length, a character
 * that is not a hex digit, or more than out_max bytes. A lower bound is the
 * caller's: compare the count.
 */
int xp_hex__decode(const char *in, uint8_t *out, size_t out_max);

/* True when a is an IPv4-mapped address. */
bool xp_addr__is_v4(const uint8_t a[16]);

/* The IPv4-mapped form of a 4-byte IPv4 address (network order). */
void xp_addr__from_v4(const void *v4, uint8_t a[16]);

/*
 * Parse a numeric IPv4 ("a.b.c.d", stored mapped) or IPv6 address (no
 * brackets, no zone). 0 or -EINVAL.
 */
int xp_addr__parse(const char *s, uint8_t a[16]);

/* Print a: "a.b.c.d" when IPv4-mapped, the IPv6 text otherwise. len >= XP_ADDR_STRLEN. */
void xp_addr__format(const uint8_t a[16], char *out, size_t len);

/*
 * Split "HOST:PORT" or "[V6HOST]:PORT" (an IPv6 address needs the
 * brackets) into host (without brackets) and port 1..65535. The host is not
 * parsed. 0, or -EINVAL (no port, bad port, empty or too long host).
 */
int xp_addr__hostport(const char *text, char *host, size_t host_len, uint16_t *port);

#endif /* XP_HEXADDR_H */
