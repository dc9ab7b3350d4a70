/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The userspace packet parser and the CIDR prefixes of the configuration.
 *
 * xp_parse_frame() runs once per packet at Mpps, so it allocates nothing,
 * copies nothing but the small struct xp_parsed, and never reads a byte at
 * or past `len` (fuzzed under ASan to prove it). It only validates what the
 * policer relies on; checksums are not verified (the NIC or the final host
 * does that, and a bad checksum does not change who talks to whom).
 *
 * Addresses are always 16 bytes: IPv4 is stored IPv4-mapped (::ffff:a.b.c.d)
 * so the pair table, the allowlist and the block map key both families the
 * same way (the kernel side does the same, see kern/xp_shared.h).
 */
#ifndef XP_PARSE_H
#define XP_PARSE_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/*
 * Result of xp_parse_frame(). The names returned by xp_parse_status_name()
 * are counter names ("pipeline.drop.<name>"): never rename, only append
 * before XP_PARSE_STATUS_MAX.
 */
enum xp_parse_status {
    XP_PARSE_OK = 0,               /* IPv4 or IPv6 packet parsed */
    XP_PARSE_NOT_IP = 1,           /* ARP, LLDP, 802.3 length field...: see ethertype */
    XP_PARSE_TRUNCATED_ETH,        /* shorter than an Ethernet header */
    XP_PARSE_TRUNCATED_VLAN,       /* VLAN tag cut by the end of the frame */
    XP_PARSE_TOO_MANY_VLANS,       /* a third VLAN tag */
    XP_PARSE_TRUNCATED_IPV4,       /* IPv4 header (with options) cut by the frame end */
    XP_PARSE_BAD_IPV4_VERSION,     /* ethertype 0x0800 but version != 4 */
    XP_PARSE_BAD_IHL,              /* IHL < 5 */
    XP_PARSE_IPV4_LEN_MISMATCH,    /* total length > frame, or < header length */
    XP_PARSE_TRUNCATED_IPV6,       /* shorter than the fixed IPv6 header */
    XP_PARSE_BAD_IPV6_VERSION,     /* ethertype 0x86dd but version != 6 */
    XP_PARSE_IPV6_LEN_MISMATCH,    /* payload length runs past the frame */
    XP_PARSE_EXT_HDR_CHAIN_TOO_LONG, /* more than XP_PARSE_MAX_EXT_HDRS headers */
    XP_PARSE_TRUNCATED_EXT_HDR,    /* extension header runs past the IPv6 payload */
    XP_PARSE_MISPLACED_HOP_BY_HOP, /* hop-by-hop options not first (RFC 8200 4.3) */
    XP_PARSE_TRUNCATED_L4,         /* UDP/TCP/ICMP header runs past the IP payload */
    XP_PARSE_BAD_TCP_DOFF,         /* TCP data offset < 5 */
    XP_PARSE_BAD_UDP_LEN,          /* UDP length < 8, or past the IP payload (unfragmented) */
    XP_PARSE_BAD_FRAGMENT,         /* fragment offset + length past 65535 */
    XP_PARSE_STATUS_MAX,           /* number of statuses, for counter arrays */
};

/* IPv6 extension headers followed before giving up (not counting the upper layer). */
#define XP_PARSE_MAX_EXT_HDRS 8
/* VLAN tags (802.1Q 0x8100 or 802.1ad 0x88a8, in either position) accepted. */
#define XP_PARSE_MAX_VLANS 2

/* struct xp_parsed.flags */
#define XP_PARSED_F_FRAGMENT (1u << 0)       /* any fragment: offset != 0 or more-fragments set */
#define XP_PARSED_F_FIRST_FRAGMENT (1u << 1) /* fragment with offset 0: it carries the L4 header */
#define XP_PARSED_F_HAS_L4 (1u << 2)         /* l4_off points at the upper-layer header */

/*
 * What the pipeline needs from a frame. Offsets count from the first byte of
 * the Ethernet header. Multi-byte fields are in host order. On XP_PARSE_OK
 * every field is meaningful; on any other status the fields reached before
 * the failure are filled (e.g. ethertype, vlans) and the rest are zero.
 *
 * Fragments: a later fragment (offset != 0) has no L4 header, so it is policed
 * by its address pair only: HAS_L4 is clear, l4_off/sport/dport are 0, and
 * l4_proto is the protocol the datagram carries (IPv4 protocol field, or the
 * IPv6 fragment header's next header). An IPv6 atomic fragment (offset 0,
 * M clear, RFC 6946) is not a fragment.
 *
 * Upper layers: UDP and TCP fill sport/dport; ICMP (in IPv4) and ICMPv6 (in
 * IPv6) fill icmp_type/icmp_code; any other protocol (ESP, GRE, SCTP, IP-in-IP,
 * ...) only gets l4_proto and l4_off, with HAS_L4 set and nothing validated.
 * IPv6 "no next header" (59) has no upper layer: HAS_L4 clear.
 */
struct xp_parsed {
    uint8_t src[16];           /* source address, IPv4-mapped for IPv4 */
    uint8_t dst[16];           /* destination address, IPv4-mapped for IPv4 */
    uint16_t ethertype;        /* after the VLAN tags: 0x0800, 0x86dd, or what NOT_IP saw */
    uint16_t vlan_id[XP_PARSE_MAX_VLANS]; /* outer first; 12-bit VIDs */
    uint16_t l3_off;           /* IP header */
    uint16_t l4_off;           /* upper-layer header, 0 if none */
    uint16_t ip_payload_len;   /* bytes from the end of the IP header chain to the IP end */
    uint16_t sport;            /* UDP/TCP ports, 0 otherwise */
    uint16_t dport;
    uint8_t family;            /* 4 or 6 */
    uint8_t l4_proto;          /* IP protocol number / final next header */
    uint8_t icmp_type;
    uint8_t icmp_code;
    uint8_t flags;             /* XP_PARSED_F_* */
    uint8_t vlan_count;        /* 0..XP_PARSE_MAX_VLANS */
};

/*
 * Parse an Ethernet II frame of len bytes. Returns an enum xp_parse_status
 * (XP_PARSE_OK = 0). Ethernet padding after the IP datagram is allowed (64-byte
 * frames carry it); an IP length beyond the frame is an error.
 */
int xp_parse_frame(const uint8_t *frame, uint32_t len, struct xp_parsed *out);

/*
 * Same, for a bare IP packet starting at pkt (a decapsulated inner packet in
 * gateway mode): the version nibble selects the family; offsets count from
 * pkt, so l3_off is 0 and ethertype is set from the version. A first byte
 * that is neither version 4 nor 6 gives XP_PARSE_NOT_IP.
 */
int xp_parse_ip(const uint8_t *pkt, uint32_t len, struct xp_parsed *out);

/* Stable snake_case name ("ok", "not_ip", "truncated_eth"...); "invalid" if out of range. */
const char *xp_parse_status_name(enum xp_parse_status status);

/*
 * A CIDR prefix in the IPv4-mapped address space: "198.18.0.0/15" is stored
 * as ::ffff:198.18.0.0/111, so one match works for both families.
 *
 * Text forms accepted by xp_cidr_parse(): "a.b.c.d/len" (len 0..32),
 * "ipv6/len" (len 0..128), or an address without "/len", meaning a single
 * host (/32 or /128). Strict: leading/trailing spaces, signs, an empty or
 * over-long length, and anything inet_pton() rejects are errors. Host bits
 * set below the prefix ("10.1.2.3/8") are accepted and masked off, because
 * operators write a host's address with its subnet length and mean the subnet.
 * Note that the IPv6 "::/0" matches IPv4 addresses too (they are mapped).
 */
struct xp_cidr {
    uint8_t addr[16];   /* network address, already masked */
    uint8_t mask[16];   /* prefix_len leading one bits */
    uint8_t prefix_len; /* in the 128-bit space: IPv4 /n is stored as 96 + n */
    uint8_t family;     /* 4 or 6: how it was written, for printing back */
};

/* Returns 0, or -EINVAL (out untouched) when text is not a valid prefix. */
int xp_cidr_parse(const char *text, struct xp_cidr *out);

/* True when addr (16 bytes, IPv4-mapped for IPv4) lies in the prefix. Branch-free;
 * inline because the pipeline runs it per packet and per list entry. */
static inline bool xp_cidr_match(const struct xp_cidr *cidr, const uint8_t addr[16])
{
    uint64_t a[2], m[2], n[2];

    memcpy(a, addr, sizeof(a));
    memcpy(m, cidr->mask, sizeof(m));
    memcpy(n, cidr->addr, sizeof(n));
    return (((a[0] & m[0]) ^ n[0]) | ((a[1] & m[1]) ^ n[1])) == 0;
}

#endif /* XP_PARSE_H */
