/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Network-order fields and the Internet checksum (RFC 1071), for code that
 * builds or rewrites headers byte by byte: the gateway's in-place answers and
 * xpro-gen's frame templates. Byte access, so any alignment will do.
 */
#ifndef XP_UTIL_WIRE_H
#define XP_UTIL_WIRE_H

#include <stddef.h>
#include <stdint.h>

static inline void xp_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline uint16_t xp_get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

/* Adds len bytes as big-endian 16-bit words (an odd last byte padded with zero). */
static inline uint32_t xp_csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
    for (; len > 1; p += 2, len -= 2)
        sum += (uint32_t)p[0] << 8 | p[1];
    if (len)
        sum += (uint32_t)p[0] << 8;
    return sum;
}

/* Folds the carries and complements: the value to store in a checksum field. */
static inline uint16_t xp_csum_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

/* The same for a UDP checksum field, where 0 means "none": a computed 0 is sent as 0xffff. */
static inline uint16_t xp_csum_fold_udp(uint32_t sum)
{
    uint16_t c = xp_csum_fold(sum);

    return c ? c : 0xffff;
}

#endif /* XP_UTIL_WIRE_H */
