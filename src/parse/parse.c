// SPDX-License-Identifier: GPL-2.0-only
/*
 * Per-packet frame parser: Ethernet II, up to two VLAN tags, IPv4 (options,
 * fragments), IPv6 (bounded extension header chain), UDP/TCP/ICMP/ICMPv6.
 *
 * Bounds discipline: every read at offset o of size n is preceded by a check
 * of the form `limit - o < n` where o <= limit is already known, so nothing
 * can wrap. `limit` is the frame length for the headers that locate the IP
 * datagram and the IP end (l3 + IP length) for everything inside it, so
 * Ethernet padding is never mistaken for a header.
 */
#include "parse.h"

#include <stddef.h>
#include <string.h>

#define XP_LIKELY(x) __builtin_expect(!!(x), 1)
#define XP_UNLIKELY(x) __builtin_expect(!!(x), 0)

#define XP_ETH_HLEN 14u
#define XP_VLAN_HLEN 4u
#define XP_IPV4_MIN_HLEN 20u
#define XP_IPV6_HLEN 40u
#define XP_UDP_HLEN 8u
#define XP_TCP_MIN_HLEN 20u
/* Every ICMP and ICMPv6 message has at least type, code, checksum and 4 more bytes. */
#define XP_ICMP_MIN_HLEN 8u
/* Every IPv6 extension header we follow is at least 8 bytes (RFC 8200 4). */
#define XP_IPV6_EXT_MIN_HLEN 8u

#define XP_ETH_P_IPV4 0x0800u
#define XP_ETH_P_IPV6 0x86ddu
#define XP_ETH_P_8021Q 0x8100u
#define XP_ETH_P_8021AD 0x88a8u

#define XP_IPPROTO_HOPOPTS 0u
#define XP_IPPROTO_ICMP 1u
#define XP_IPPROTO_TCP 6u
#define XP_IPPROTO_UDP 17u
#define XP_IPPROTO_ROUTING 43u
#define XP_IPPROTO_FRAGMENT 44u
#define XP_IPPROTO_AH 51u
#define XP_IPPROTO_ICMPV6 58u
#define XP_IPPROTO_NONE 59u
#define XP_IPPROTO_DSTOPTS 60u

/* IPv4 flags+fragment offset word: MF bit and the 13-bit offset. */
#define XP_IPV4_MF 0x2000u
#define XP_IPV4_OFFSET_MASK 0x1fffu
/* IPv6 fragment header offset+flags word: 13-bit offset << 3, M bit 0. */
#define XP_IPV6_FRAG_OFFSET_MASK 0xfff8u
#define XP_IPV6_FRAG_M 0x0001u

#define XP_VLAN_VID_MASK 0x0fffu

/* Big-endian 16-bit load; alignment-free, compiles to a load and a rotate. */
static inline uint16_t xp_rd16(const uint8_t *p)
{
    return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline bool xp_is_vlan_tpid(uint16_t et)
{
    return et == XP_ETH_P_8021Q || et == XP_ETH_P_8021AD;
}

static inline void xp_set_v4_mapped(uint8_t dst[16], const uint8_t *a4)
{
    /* bytes 0..9 are already zero: the caller cleared *out */
    dst[10] = 0xff;
    dst[11] = 0xff;
    memcpy(dst + 12, a4, 4);
}

/*
 * Upper-layer header at offset l4, datagram ending at end (l4 <= end).
 * icmp_proto is the ICMP flavour of the family (1 or 58): ICMPv4 inside IPv6
 * is not a thing we interpret.
 */
static inline int xp_parse_l4(const uint8_t *base, uint32_t l4, uint32_t end,
                              uint8_t proto, uint8_t icmp_proto, struct xp_parsed *out)
{
    const uint8_t *p = base + l4;
    uint32_t avail = end - l4;

    out->l4_proto = proto;
    out->ip_payload_len = (uint16_t)avail;

    if (proto == XP_IPPROTO_UDP) {
        uint32_t ulen;

        if (XP_UNLIKELY(avail < XP_UDP_HLEN))
            return XP_PARSE_TRUNCATED_L4;
        /*
         * The UDP length covers header and data: under 8 is no datagram (0
         * is a jumbogram's, which Ethernet cannot carry); past the IP payload
         * the receiver drops it. A first fragment holds only the start of
         * the datagram, so there the length may run past this fragment.
         * Shorter than the payload is trailing bytes, which hosts trim.
         */
        ulen = xp_rd16(p + 4);
        if (XP_UNLIKELY(ulen < XP_UDP_HLEN ||
                        (ulen > avail && !(out->flags & XP_PARSED_F_FIRST_FRAGMENT))))
            return XP_PARSE_BAD_UDP_LEN;
        out->sport = xp_rd16(p);
        out->dport = xp_rd16(p + 2);
    } else if (proto == XP_IPPROTO_TCP) {
        uint32_t doff;

        if (XP_UNLIKELY(avail < XP_TCP_MIN_HLEN))
            return XP_PARSE_TRUNCATED_L4;
        doff = (uint32_t)(p[12] >> 4) * 4;
        if (XP_UNLIKELY(doff < XP_TCP_MIN_HLEN))
            return XP_PARSE_BAD_TCP_DOFF;
        /* options cut short: the segment cannot be what it claims */
        if (XP_UNLIKELY(doff > avail))
            return XP_PARSE_TRUNCATED_L4;
        out->sport = xp_rd16(p);
        out->dport = xp_rd16(p + 2);
    } else if (proto == icmp_proto) {
        if (XP_UNLIKELY(avail < XP_ICMP_MIN_HLEN))
            return XP_PARSE_TRUNCATED_L4;
        out->icmp_type = p[0];
        out->icmp_code = p[1];
    }
    /* any other protocol: recorded by number, its header left to whoever needs it */
    out->l4_off = (uint16_t)l4;
    out->flags |= XP_PARSED_F_HAS_L4;
    return XP_PARSE_OK;
}

static int xp_parse_ipv4(const uint8_t *base, uint32_t l3, uint32_t len, struct xp_parsed *out)
{
    const uint8_t *ip = base + l3;
    uint32_t avail = len - l3;
    uint32_t hlen, tot;
    uint16_t frag;

    out->family = 4;
    if (XP_UNLIKELY(avail < XP_IPV4_MIN_HLEN))
        return XP_PARSE_TRUNCATED_IPV4;
    if (XP_UNLIKELY((ip[0] >> 4) != 4))
        return XP_PARSE_BAD_IPV4_VERSION;
    hlen = (uint32_t)(ip[0] & 0x0f) * 4;
    if (XP_UNLIKELY(hlen < XP_IPV4_MIN_HLEN))
        return XP_PARSE_BAD_IHL;
    if (XP_UNLIKELY(hlen > avail))
        return XP_PARSE_TRUNCATED_IPV4;
    tot = xp_rd16(ip + 2);
    /* tot < avail is fine: Ethernet pads short frames to 60 bytes */
    if (XP_UNLIKELY(tot > avail || tot < hlen))
        return XP_PARSE_IPV4_LEN_MISMATCH;

    xp_set_v4_mapped(out->src, ip + 12);
    xp_set_v4_mapped(out->dst, ip + 16);

    frag = xp_rd16(ip + 6);
    if (XP_UNLIKELY(frag & (XP_IPV4_MF | XP_IPV4_OFFSET_MASK))) {
        /* a datagram reassembled from it would be longer than IPv4 allows (a reassembly attack) */
        if (XP_UNLIKELY((uint32_t)(frag & XP_IPV4_OFFSET_MASK) * 8 + (tot - hlen) > 65535))
            return XP_PARSE_BAD_FRAGMENT;
        out->flags |= XP_PARSED_F_FRAGMENT;
        if (frag & XP_IPV4_OFFSET_MASK) {
            /* later fragment: no L4 header here, police by address pair */
            out->l4_proto = ip[9];
            out->ip_payload_len = (uint16_t)(tot - hlen);
            return XP_PARSE_OK;
        }
        out->flags |= XP_PARSED_F_FIRST_FRAGMENT;
    }
    return xp_parse_l4(base, l3 + hlen, l3 + tot, ip[9], XP_IPPROTO_ICMP, out);
}

static int xp_parse_ipv6(const uint8_t *base, uint32_t l3, uint32_t len, struct xp_parsed *out)
{
    const uint8_t *ip = base + l3;
    uint32_t avail = len - l3;
    uint32_t off, end;
    uint8_t nh;
    unsigned n;

    out->family = 6;
    if (XP_UNLIKELY(avail < XP_IPV6_HLEN))
        return XP_PARSE_TRUNCATED_IPV6;
    if (XP_UNLIKELY((ip[0] >> 4) != 6))
        return XP_PARSE_BAD_IPV6_VERSION;
    /*
     * Payload length 0 with a jumbo option (RFC 2675) cannot occur on
     * Ethernet; it parses as an empty payload and the hop-by-hop header then
     * fails as truncated, which is the right outcome for a forged one.
     */
    if (XP_UNLIKELY(xp_rd16(ip + 4) > avail - XP_IPV6_HLEN))
        return XP_PARSE_IPV6_LEN_MISMATCH;

    memcpy(out->src, ip + 8, 16);
    memcpy(out->dst, ip + 24, 16);

    end = l3 + XP_IPV6_HLEN + xp_rd16(ip + 4);
    off = l3 + XP_IPV6_HLEN;
    nh = ip[6];
    for (n = 0;; n++) {
        const uint8_t *h = base + off;
        uint32_t hlen;

        if (nh == XP_IPPROTO_HOPOPTS) {
            /* only valid right after the fixed header; elsewhere it is an evasion attempt */
            if (XP_UNLIKELY(n != 0))
                return XP_PARSE_MISPLACED_HOP_BY_HOP;
        } else if (nh != XP_IPPROTO_ROUTING && nh != XP_IPPROTO_DSTOPTS &&
                   nh != XP_IPPROTO_FRAGMENT && nh != XP_IPPROTO_AH) {
            break; /* upper layer (or an extension header we do not walk) */
        }
        if (XP_UNLIKELY(n == XP_PARSE_MAX_EXT_HDRS))
            return XP_PARSE_EXT_HDR_CHAIN_TOO_LONG;
        if (XP_UNLIKELY(end - off < XP_IPV6_EXT_MIN_HLEN))
            return XP_PARSE_TRUNCATED_EXT_HDR;

        if (nh == XP_IPPROTO_FRAGMENT) {
            uint16_t fo = xp_rd16(h + 2);

            hlen = 8;
            /* offset 0 and M clear is an atomic fragment (RFC 6946): not a fragment */
            if (fo & (XP_IPV6_FRAG_OFFSET_MASK | XP_IPV6_FRAG_M)) {
                /* the fragmentable part may not pass 65535 bytes once reassembled */
                if (XP_UNLIKELY((uint32_t)(fo & XP_IPV6_FRAG_OFFSET_MASK) + (end - off - 8) >
                                65535))
                    return XP_PARSE_BAD_FRAGMENT;
                out->flags |= XP_PARSED_F_FRAGMENT;
                if (fo & XP_IPV6_FRAG_OFFSET_MASK) {
                    out->l4_proto = h[0];
                    out->ip_payload_len = (uint16_t)(end - off - hlen);
                    return XP_PARSE_OK;
                }
                out->flags |= XP_PARSED_F_FIRST_FRAGMENT;
            }
        } else if (nh == XP_IPPROTO_AH) {
            hlen = ((uint32_t)h[1] + 2) * 4; /* AH counts 4-byte words minus 2 (RFC 4302) */
        } else {
            hlen = ((uint32_t)h[1] + 1) * 8; /* 8-byte words not counting the first */
        }
        if (XP_UNLIKELY(hlen > end - off))
            return XP_PARSE_TRUNCATED_EXT_HDR;
        nh = h[0];
        off += hlen;
    }

    if (nh == XP_IPPROTO_NONE) {
        out->l4_proto = nh;
        out->ip_payload_len = (uint16_t)(end - off);
        return XP_PARSE_OK;
    }
    return xp_parse_l4(base, off, end, nh, XP_IPPROTO_ICMPV6, out);
}

int xp_parse_frame(const uint8_t *frame, uint32_t len, struct xp_parsed *out)
{
    uint32_t off = XP_ETH_HLEN;
    uint16_t et;

    memset(out, 0, sizeof(*out));
    if (XP_UNLIKELY(len < XP_ETH_HLEN))
        return XP_PARSE_TRUNCATED_ETH;
    et = xp_rd16(frame + 12);
    out->ethertype = et;

    /* at most XP_PARSE_MAX_VLANS + 1 iterations: the loop is bounded by the count */
    while (xp_is_vlan_tpid(et)) {
        if (XP_UNLIKELY(out->vlan_count == XP_PARSE_MAX_VLANS))
            return XP_PARSE_TOO_MANY_VLANS;
        if (XP_UNLIKELY(len - off < XP_VLAN_HLEN))
            return XP_PARSE_TRUNCATED_VLAN;
        out->vlan_id[out->vlan_count++] = xp_rd16(frame + off) & XP_VLAN_VID_MASK;
        et = xp_rd16(frame + off + 2);
        out->ethertype = et;
        off += XP_VLAN_HLEN;
    }
    out->l3_off = (uint16_t)off;

    if (XP_LIKELY(et == XP_ETH_P_IPV4))
        return xp_parse_ipv4(frame, off, len, out);
    if (et == XP_ETH_P_IPV6)
        return xp_parse_ipv6(frame, off, len, out);
    /* ARP, LLDP, an 802.3 length (< 0x0600)...: not ours to police */
    return XP_PARSE_NOT_IP;
}

int xp_parse_ip(const uint8_t *pkt, uint32_t len, struct xp_parsed *out)
{
    memset(out, 0, sizeof(*out));
    if (XP_UNLIKELY(len == 0))
        return XP_PARSE_NOT_IP;
    switch (pkt[0] >> 4) {
    case 4:
        out->ethertype = XP_ETH_P_IPV4;
        return xp_parse_ipv4(pkt, 0, len, out);
    case 6:
        out->ethertype = XP_ETH_P_IPV6;
        return xp_parse_ipv6(pkt, 0, len, out);
    default:
        return XP_PARSE_NOT_IP;
    }
}

static const char *const xp_parse_status_names[XP_PARSE_STATUS_MAX] = {
    [XP_PARSE_OK] = "ok",
    [XP_PARSE_NOT_IP] = "not_ip",
    [XP_PARSE_TRUNCATED_ETH] = "truncated_eth",
    [XP_PARSE_TRUNCATED_VLAN] = "truncated_vlan",
    [XP_PARSE_TOO_MANY_VLANS] = "too_many_vlans",
    [XP_PARSE_TRUNCATED_IPV4] = "truncated_ipv4",
    [XP_PARSE_BAD_IPV4_VERSION] = "bad_ipv4_version",
    [XP_PARSE_BAD_IHL] = "bad_ihl",
    [XP_PARSE_IPV4_LEN_MISMATCH] = "ipv4_len_mismatch",
    [XP_PARSE_TRUNCATED_IPV6] = "truncated_ipv6",
    [XP_PARSE_BAD_IPV6_VERSION] = "bad_ipv6_version",
    [XP_PARSE_IPV6_LEN_MISMATCH] = "ipv6_len_mismatch",
    [XP_PARSE_EXT_HDR_CHAIN_TOO_LONG] = "ext_hdr_chain_too_long",
    [XP_PARSE_TRUNCATED_EXT_HDR] = "truncated_ext_hdr",
    [XP_PARSE_MISPLACED_HOP_BY_HOP] = "misplaced_hop_by_hop",
    [XP_PARSE_TRUNCATED_L4] = "truncated_l4",
    [XP_PARSE_BAD_TCP_DOFF] = "bad_tcp_doff",
    [XP_PARSE_BAD_UDP_LEN] = "bad_udp_len",
    [XP_PARSE_BAD_FRAGMENT] = "bad_fragment",
};

const char *xp_parse_status_name(enum xp_parse_status status)
{
    /* unsigned compare also rejects negative values cast into the enum */
    if ((unsigned)status >= XP_PARSE_STATUS_MAX || !xp_parse_status_names[status])
        return "invalid";
    return xp_parse_status_names[status];
}

/* The output is copied per packet into the burst arrays: keep it within a cache line. */
_Static_assert(sizeof(struct xp_parsed) <= 64, "struct xp_parsed must stay <= 64 bytes");
