// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests for src/parse: crafted frames for every parser path and every
 * status, CIDR parsing and matching, then a crash-only pass over the fuzz
 * regression corpus.
 *
 * The crafted frames double as the fuzz seed corpus: `test_parse
 * --write-corpus DIR` writes each of them to DIR/<case name> (see
 * fuzz/make_corpus.sh), so the seeds and the tests never drift apart.
 */
#include "parse.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef XP_CORPUS_DIR
#define XP_CORPUS_DIR "fuzz/corpus/parse"
#endif

#define TB_MAX 2048

#include "xp_check.h"

static const char *g_write_dir; /* set by --write-corpus */
static unsigned g_seen[XP_PARSE_STATUS_MAX]; /* statuses produced by crafted frames */

/* ---- frame builder ---------------------------------------------------- */

struct tb {
    uint8_t b[TB_MAX];
    uint32_t len;
};

static void tb_u8(struct tb *t, uint8_t v)
{
    if (t->len >= TB_MAX) {
        fprintf(stderr, "test frame too large\n");
        abort();
    }
    t->b[t->len++] = v;
}

static void tb_u16(struct tb *t, uint16_t v)
{
    tb_u8(t, (uint8_t)(v >> 8));
    tb_u8(t, (uint8_t)v);
}

static void tb_bytes(struct tb *t, const void *p, size_t n)
{
    const uint8_t *s = p;

    for (size_t i = 0; i < n; i++)
        tb_u8(t, s[i]);
}

static void tb_fill(struct tb *t, uint8_t v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        tb_u8(t, v);
}

static void tb_put16(struct tb *t, uint32_t off, uint16_t v)
{
    t->b[off] = (uint8_t)(v >> 8);
    t->b[off + 1] = (uint8_t)v;
}

/* Ethernet padding to the 60-byte minimum (the 4-byte FCS makes it 64 on the wire). */
static void tb_pad_to(struct tb *t, uint32_t len)
{
    while (t->len < len)
        tb_u8(t, 0);
}

/* MAC addresses only; the caller adds VLAN tags and the ethertype. */
static void tb_macs(struct tb *t)
{
    static const uint8_t macs[12] = {0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01};

    t->len = 0;
    tb_bytes(t, macs, sizeof(macs));
}

static void tb_eth(struct tb *t, uint16_t ethertype)
{
    tb_macs(t);
    tb_u16(t, ethertype);
}

static void tb_vlan(struct tb *t, uint16_t tpid, uint16_t tci)
{
    tb_u16(t, tpid);
    tb_u16(t, tci);
}

static const uint8_t v4_src[4] = {10, 0, 0, 1};
static const uint8_t v4_dst[4] = {198, 18, 0, 1};
static const uint8_t v6_src[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10};
static const uint8_t v6_dst[16] = {0x20, 0x01, 0x00, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01};

/*
 * IPv4 header with opt_len bytes of options (NOPs ending in EOL); the total
 * length is patched by tb_ipv4_end(). Returns the header offset.
 */
static uint32_t tb_ipv4(struct tb *t, uint8_t proto, uint16_t frag_word, unsigned opt_len)
{
    uint32_t off = t->len;
    unsigned ihl = 5 + opt_len / 4;

    tb_u8(t, (uint8_t)(0x40 | ihl));
    tb_u8(t, 0);           /* DSCP/ECN */
    tb_u16(t, 0);          /* total length, patched */
    tb_u16(t, 0x1234);     /* id */
    tb_u16(t, frag_word);
    tb_u8(t, 64);          /* TTL */
    tb_u8(t, proto);
    tb_u16(t, 0);          /* checksum: the parser does not verify it */
    tb_bytes(t, v4_src, 4);
    tb_bytes(t, v4_dst, 4);
    for (unsigned i = 0; i < opt_len; i++)
        tb_u8(t, i + 1 == opt_len ? 0x00 : 0x01);
    return off;
}

static void tb_ipv4_end(struct tb *t, uint32_t ip_off)
{
    tb_put16(t, ip_off + 2, (uint16_t)(t->len - ip_off));
}

static uint32_t tb_ipv6(struct tb *t, uint8_t nh)
{
    uint32_t off = t->len;

    tb_u8(t, 0x60);
    tb_fill(t, 0, 3);      /* traffic class, flow label */
    tb_u16(t, 0);          /* payload length, patched */
    tb_u8(t, nh);
    tb_u8(t, 64);          /* hop limit */
    tb_bytes(t, v6_src, 16);
    tb_bytes(t, v6_dst, 16);
    return off;
}

static void tb_ipv6_end(struct tb *t, uint32_t ip_off)
{
    tb_put16(t, ip_off + 4, (uint16_t)(t->len - ip_off - 40));
}

/* Generic extension header (HBH, routing, dest opts) of (1 + units) * 8 bytes. */
static void tb_ext(struct tb *t, uint8_t nh, uint8_t units)
{
    tb_u8(t, nh);
    tb_u8(t, units);
    /* a PadN option filling the rest keeps it well-formed for HBH/DO */
    tb_u8(t, 1);
    tb_u8(t, (uint8_t)(units * 8 + 4));
    tb_fill(t, 0, (size_t)units * 8 + 4);
}

static void tb_frag6(struct tb *t, uint8_t nh, uint16_t offset_units, bool more)
{
    tb_u8(t, nh);
    tb_u8(t, 0);
    tb_u16(t, (uint16_t)(offset_units << 3 | (more ? 1 : 0)));
    tb_u16(t, 0xabcd);
    tb_u16(t, 0x0001);     /* identification */
}

/* AH with 'words' 4-byte words after the first 8 bytes: length field = words + 1. */
static void tb_ah(struct tb *t, uint8_t nh, uint8_t words)
{
    tb_u8(t, nh);
    tb_u8(t, (uint8_t)(words + 1));
    tb_u16(t, 0);
    tb_fill(t, 0x11, 4);   /* SPI */
    tb_fill(t, 0, 4 + (size_t)words * 4); /* sequence + ICV */
}

static void tb_udp(struct tb *t, uint16_t sport, uint16_t dport, unsigned payload)
{
    tb_u16(t, sport);
    tb_u16(t, dport);
    tb_u16(t, (uint16_t)(8 + payload));
    tb_u16(t, 0);
    tb_fill(t, 0x42, payload);
}

static void tb_tcp(struct tb *t, uint16_t sport, uint16_t dport, unsigned doff_words, unsigned opt_bytes)
{
    tb_u16(t, sport);
    tb_u16(t, dport);
    tb_fill(t, 0, 8);      /* seq, ack */
    tb_u8(t, (uint8_t)(doff_words << 4));
    tb_u8(t, 0x02);        /* SYN */
    tb_u16(t, 65535);
    tb_fill(t, 0, 4);      /* checksum, urgent */
    tb_fill(t, 0x01, opt_bytes);
}

static void tb_icmp(struct tb *t, uint8_t type, uint8_t code, unsigned extra)
{
    tb_u8(t, type);
    tb_u8(t, code);
    tb_u16(t, 0);
    tb_fill(t, 0x07, extra);
}

/* ---- expectations ----------------------------------------------------- */

static void exp_v4(struct xp_parsed *e)
{
    memset(e, 0, sizeof(*e));
    e->family = 4;
    e->ethertype = 0x0800;
    e->l3_off = 14;
    e->src[10] = e->src[11] = 0xff;
    memcpy(e->src + 12, v4_src, 4);
    e->dst[10] = e->dst[11] = 0xff;
    memcpy(e->dst + 12, v4_dst, 4);
}

static void exp_v6(struct xp_parsed *e)
{
    memset(e, 0, sizeof(*e));
    e->family = 6;
    e->ethertype = 0x86dd;
    e->l3_off = 14;
    memcpy(e->src, v6_src, 16);
    memcpy(e->dst, v6_dst, 16);
}

/*
 * Cases left out of the seed corpus because another seed already covers the
 * same path; keeps the corpus small (libFuzzer mutates its way to them anyway).
 */
static const char *const no_seed[] = {
    "v4_udp_padded64_fcs", "v4_frag_last", "lldp", "llc_8023", "vlan_arp",
    "err_empty", "err_ipv4_len_under_hdr", "err_truncated_tcp", "err_truncated_ipv4",
};

static void write_case(const char *name, const void *buf, uint32_t len)
{
    char path[4096];
    FILE *f;

    if (!g_write_dir)
        return;
    for (size_t i = 0; i < sizeof(no_seed) / sizeof(no_seed[0]); i++)
        if (strcmp(name, no_seed[i]) == 0)
            return;
    snprintf(path, sizeof(path), "%s/%s", g_write_dir, name);
    f = fopen(path, "wb");
    if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "write %s: %s\n", path, strerror(errno));
        exit(1);
    }
}

#define CMP_FIELD(fmt, field) \
    CHECK_MSG(got->field == exp->field, "%s: " #field " = " fmt ", want " fmt, name, got->field, exp->field)

/*
 * Parse a copy of the frame in a buffer of exactly its length (so ASan flags
 * any over-read), compare the status and, when exp is given, every field.
 */
static void run_frame(const char *name, const struct tb *t, int want, const struct xp_parsed *exp)
{
    struct xp_parsed parsed;
    const struct xp_parsed *got = &parsed;
    uint8_t *copy = malloc(t->len ? t->len : 1);
    int st;

    if (!copy)
        abort();
    memcpy(copy, t->b, t->len);
    write_case(name, copy, t->len);
    st = xp_parse_frame(copy, t->len, &parsed);
    free(copy);
    if (st >= 0 && st < XP_PARSE_STATUS_MAX)
        g_seen[st]++;
    CHECK_MSG(st == want, "%s: status %s, want %s", name, xp_parse_status_name(st), xp_parse_status_name(want));
    if (!exp)
        return;
    CMP_FIELD("%u", family);
    CMP_FIELD("0x%04x", ethertype);
    CMP_FIELD("%u", vlan_count);
    CMP_FIELD("%u", vlan_id[0]);
    CMP_FIELD("%u", vlan_id[1]);
    CMP_FIELD("%u", l3_off);
    CMP_FIELD("%u", l4_off);
    CMP_FIELD("%u", l4_proto);
    CMP_FIELD("%u", sport);
    CMP_FIELD("%u", dport);
    CMP_FIELD("%u", icmp_type);
    CMP_FIELD("%u", icmp_code);
    CMP_FIELD("0x%x", flags);
    CMP_FIELD("%u", ip_payload_len);
    CHECK_MSG(memcmp(got->src, exp->src, 16) == 0, "%s: src differs", name);
    CHECK_MSG(memcmp(got->dst, exp->dst, 16) == 0, "%s: dst differs", name);
}

/* ---- valid paths ------------------------------------------------------ */

static void test_v4_udp_padded(void)
{
    struct tb t;
    struct xp_parsed e;
    uint32_t ip;

    /* a 64-byte CoAP frame as xpro-gen sends it: 46 bytes of headers + 4 of payload, padded */
    tb_eth(&t, 0x0800);
    ip = tb_ipv4(&t, 17, 0x4000 /* DF */, 0);
    tb_udp(&t, 40000, 5683, 4);
    tb_ipv4_end(&t, ip);
    tb_pad_to(&t, 60);
    exp_v4(&e);
    e.l4_off = 34;
    e.l4_proto = 17;
    e.sport = 40000;
    e.dport = 5683;
    e.flags = XP_PARSED_F_HAS_L4;
    e.ip_payload_len = 12;
    run_frame("v4_udp_padded60", &t, XP_PARSE_OK, &e);

    /* the same with the FCS kept (rx-fcs on): 4 more trailing bytes, still fine */
    tb_fill(&t, 0xee, 4);
    run_frame("v4_udp_padded64_fcs", &t, XP_PARSE_OK, &e);
}

static void test_v4_options_tcp(void)
{
    struct tb t;
    struct xp_parsed e;
    uint32_t ip;

    tb_eth(&t, 0x0800);
    ip = tb_ipv4(&t, 6, 0, 12);            /* IHL 8 */
    tb_tcp(&t, 443, 51000, 8, 12);         /* data offset 8 */
    tb_fill(&t, 0x55, 10);
    tb_ipv4_end(&t, ip);
    exp_v4(&e);
    e.l4_off = 14 + 32;
    e.l4_proto = 6;
    e.sport = 443;
    e.dport = 51000;
    e.flags = XP_PARSED_F_HAS_L4;
    e.ip_payload_len = 32 + 10;
    run_frame("v4_options_tcp", &t, XP_PARSE_OK, &e);

    /* IHL 15: the largest header */
    tb_eth(&t, 0x0800);
    ip = tb_ipv4(&t, 17, 0, 40);
    tb_udp(&t, 1, 2, 0);
    tb_ipv4_end(&t, ip);
    exp_v4(&e);
    e.l4_off = 14 + 60;
    e.l4_proto = 17;
    e.sport = 1;
    e.dport = 2;
    e.flags = XP_PARSED_F_HAS_L4;
    e.ip_payload_len = 8;
    run_frame("v4_ihl15_udp", &t, XP_PARSE_OK, &e);
}

static void test_v4_icmp_other(void)
{
    struct tb t;
    struct xp_parsed e;
    uint32_t ip;

    tb_eth(&t, 0x0800);
    ip = tb_ipv4(&t, 1, 0, 0);
    tb_icmp(&t, 8, 0, 4 + 8);
    tb_ipv4_end(&t, ip);
    tb_pad_to(&t, 60);
    exp_v4(&e);
    e.l4_off = 34;
    e.l4_proto = 1;
    e.icmp_type = 8;
    e.flags = XP_PARSED_F_HAS_L4;
    e.ip_payload_len = 16;
    run_frame("v4_icmp_echo", &t, XP_PARSE_OK, &e);

    /* GRE: recorded by number, no ports, header not interpreted */
    tb_eth(&t, 0x0800);
    ip = tb_ipv4(&t, 47, 0, 0);
    tb_fill(&t, 0, 4);
    tb_ipv4_end(&t, ip);
    tb_pad_to(&t, 60);
    exp_v4(&e);
    e.l4_off = 34;
    e.l4_proto = 47;
    e.flags = XP_PARSED_F_HAS_L4;
    e.ip_payload_len = 4;
    run_frame("v4_gre", &t, XP_PARSE_OK, &e);
}

static void test_v4_fragments(void)
{
    struct tb t;
    struct xp_parsed e;
    uint32_t ip;

    /* first fragment: offset 0, MF: carries the UDP header */
    tb_eth(&t, 0x0800);
    ip = tb_ipv4(&t, 17, 0x2000, 0);
    tb_udp(&t, 123, 123, 32);
    tb_ipv4_end(&t, ip);
    exp_v4(&e);
    e.l4_off = 34;
    e.l4_proto = 17;
    e.sport = 123;
    e.dport = 123;
    e.flags = XP_PARSED_F_FRAGMENT | XP_PARSED_F_FIRST_FRAGMENT | XP_PARSED_F_HAS_L4;
    e.ip_payload_len = 40;
    run_frame("v4_frag_first", &t, XP_PARSE_OK, &e);

    /* middle fragment: offset 5 (40 bytes), MF: no L4, whatever the bytes look like */
    tb_eth(&t, 0x0800);
    ip = tb_ipv4(&t, 17, 0x2000 | 5, 0);
    tb_fill(&t, 0x99, 40);
    tb_ipv4_end(&t, ip);
    exp_v4(&e);
    e.l4_proto = 17;
    e.flags = XP_PARSED_F_FRAGMENT;
    e.ip_payload_len = 40;
    run_frame("v4_frag_middle", &t, XP_PARSE_OK, &e);

    /* last fragment: offset 10, MF clear, shorter than a UDP header and padded */
    tb_eth(&t, 0x0800);
    ip = tb_ipv4(&t, 17, 10, 0);
    tb_fill(&t, 0x99, 3);
    tb_ipv4_end(&t, ip);
    tb_pad_to(&t, 60);
    exp_v4(&e);
    e.l4_proto = 17;
    e.flags = XP_PARSED_F_FRAGMENT;
    e.ip_payload_len = 3;
    run_frame("v4_frag_last", &t, XP_PARSE_OK, &e);
}

static void test_vlans(void)
{
    struct tb t;
    struct xp_parsed e;
    uint32_t ip;

    /* QinQ: 802.1ad outer S-tag 100 (PCP 3), 802.1Q inner C-tag 200 */
    tb_macs(&t);
    tb_vlan(&t, 0x88a8, (3 << 13) | 100);
    tb_vlan(&t, 0x8100, 200);
    tb_u16(&t, 0x0800);
    ip = tb_ipv4(&t, 17, 0, 0);
    tb_udp(&t, 5683, 5683, 0);
    tb_ipv4_end(&t, ip);
    tb_pad_to(&t, 60);
    exp_v4(&e);
    e.vlan_count = 2;
    e.vlan_id[0] = 100;
    e.vlan_id[1] = 200;
    e.l3_off = 22;
    e.l4_off = 42;
    e.l4_proto = 17;
    e.sport = 5683;
    e.dport = 5683;
    e.flags = XP_PARSED_F_HAS_L4;
    e.ip_payload_len = 8;
    run_frame("qinq_v4_udp", &t, XP_PARSE_OK, &e);

    /* one 802.1Q tag, IPv6 ICMPv6 echo request */
    tb_macs(&t);
    tb_vlan(&t, 0x8100, 4095);
    tb_u16(&t, 0x86dd);
    ip = tb_ipv6(&t, 58);
    tb_icmp(&t, 128, 0, 4);
    tb_ipv6_end(&t, ip);
    exp_v6(&e);
    e.vlan_count = 1;
    e.vlan_id[0] = 4095;
    e.l3_off = 18;
    e.l4_off = 58;
    e.l4_proto = 58;
    e.icmp_type = 128;
    e.flags = XP_PARSED_F_HAS_L4;
    e.ip_payload_len = 8;
    run_frame("vlan_v6_icmp6_echo", &t, XP_PARSE_OK, &e);
}

static void test_v6_chains(void)
{
    struct tb t;
    struct xp_parsed e;
    uint32_t ip;

    /* HBH + fragment (offset 0, M): first fragment, UDP ports visible */
    tb_eth(&t, 0x86dd);
    ip = tb_ipv6(&t, 0);
    tb_ext(&t, 44, 0);
    tb_frag6(&t, 17, 0, true);
    tb_udp(&t, 1000, 53, 16);
    tb_ipv6_end(&t, ip);
    exp_v6(&e);
    e.l4_off = 14 + 40 + 8 + 8;
    e.l4_proto = 17;
    e.sport = 1000;
    e.dport = 53;
    e.flags = XP_PARSED_F_FRAGMENT | XP_PARSED_F_FIRST_FRAGMENT | XP_PARSED_F_HAS_L4;
    e.ip_payload_len = 24;
    run_frame("v6_hbh_frag_udp", &t, XP_PARSE_OK, &e);

    /* later fragment: offset 100, M clear: no L4, next header recorded */
    tb_eth(&t, 0x86dd);
    ip = tb_ipv6(&t, 44);
    tb_frag6(&t, 17, 100, false);
    tb_fill(&t, 0x99, 5);
    tb_ipv6_end(&t, ip);
    exp_v6(&e);
    e.l4_proto = 17;
    e.flags = XP_PARSED_F_FRAGMENT;
    e.ip_payload_len = 5;
    run_frame("v6_frag_later", &t, XP_PARSE_OK, &e);

    /* atomic fragment (RFC 6946): offset 0, M clear: not a fragment */
    tb_eth(&t, 0x86dd);
    ip = tb_ipv6(&t, 44);
    tb_frag6(&t, 6, 0, false);
    tb_tcp(&t, 22, 60000, 5, 0);
    tb_ipv6_end(&t, ip);
    exp_v6(&e);
    e.l4_off = 14 + 48;
    e.l4_proto = 6;
    e.sport = 22;
    e.dport = 60000;
    e.flags = XP_PARSED_F_HAS_L4;
    e.ip_payload_len = 20;
    run_frame("v6_atomic_frag_tcp", &t, XP_PARSE_OK, &e);

    /* routing (24 bytes) + dest opts (8) + AH (24) + TCP with options */
    tb_eth(&t, 0x86dd);
    ip = tb_ipv6(&t, 43);
    tb_ext(&t, 60, 2);
    tb_ext(&t, 51, 0);
    tb_ah(&t, 6, 3); /* 24 bytes: IPv6 wants AH in 8-byte multiples */
    tb_tcp(&t, 179, 33000, 6, 4);
    tb_ipv6_end(&t, ip);
    exp_v6(&e);
    e.l4_off = 14 + 40 + 24 + 8 + 24;
    e.l4_proto = 6;
    e.sport = 179;
    e.dport = 33000;
    e.flags = XP_PARSED_F_HAS_L4;
    e.ip_payload_len = 24;
    run_frame("v6_rt_do_ah_tcp", &t, XP_PARSE_OK, &e);

    /* exactly XP_PARSE_MAX_EXT_HDRS headers is still fine */
    tb_eth(&t, 0x86dd);
    ip = tb_ipv6(&t, 60);
    for (int i = 0; i < XP_PARSE_MAX_EXT_HDRS; i++)
        tb_ext(&t, i + 1 == XP_PARSE_MAX_EXT_HDRS ? 17 : 60, 0);
    tb_udp(&t, 7, 9, 0);
    tb_ipv6_end(&t, ip);
    exp_v6(&e);
    e.l4_off = 14 + 40 + 8 * XP_PARSE_MAX_EXT_HDRS;
    e.l4_proto = 17;
    e.sport = 7;
    e.dport = 9;
    e.flags = XP_PARSED_F_HAS_L4;
    e.ip_payload_len = 8;
    run_frame("v6_max_ext_chain", &t, XP_PARSE_OK, &e);

    /* no next header after a dest opts header: no upper layer */
    tb_eth(&t, 0x86dd);
    ip = tb_ipv6(&t, 60);
    tb_ext(&t, 59, 0);
    tb_ipv6_end(&t, ip);
    tb_pad_to(&t, 70);
    exp_v6(&e);
    e.l4_proto = 59;
    run_frame("v6_no_next_header", &t, XP_PARSE_OK, &e);

    /* ESP: opaque upper layer, recorded */
    tb_eth(&t, 0x86dd);
    ip = tb_ipv6(&t, 50);
    tb_fill(&t, 0x33, 16);
    tb_ipv6_end(&t, ip);
    exp_v6(&e);
    e.l4_off = 54;
    e.l4_proto = 50;
    e.flags = XP_PARSED_F_HAS_L4;
    e.ip_payload_len = 16;
    run_frame("v6_esp", &t, XP_PARSE_OK, &e);
}

static void test_not_ip(void)
{
    struct tb t;
    struct xp_parsed e;

    /* ARP request, padded */
    tb_eth(&t, 0x0806);
    tb_u16(&t, 1);
    tb_u16(&t, 0x0800);
    tb_u8(&t, 6);
    tb_u8(&t, 4);
    tb_u16(&t, 1);
    tb_fill(&t, 0, 20);
    tb_pad_to(&t, 60);
    memset(&e, 0, sizeof(e));
    e.ethertype = 0x0806;
    e.l3_off = 14;
    run_frame("arp_request", &t, XP_PARSE_NOT_IP, &e);

    /* ARP inside a VLAN: the ethertype after the tag is reported */
    tb_macs(&t);
    tb_vlan(&t, 0x8100, 7);
    tb_u16(&t, 0x0806);
    tb_fill(&t, 0, 28);
    e.vlan_count = 1;
    e.vlan_id[0] = 7;
    e.l3_off = 18;
    run_frame("vlan_arp", &t, XP_PARSE_NOT_IP, &e);

    /* 802.3 length field (LLC), and LLDP */
    tb_eth(&t, 0x002e);
    tb_pad_to(&t, 60);
    run_frame("llc_8023", &t, XP_PARSE_NOT_IP, NULL);
    tb_eth(&t, 0x88cc);
    tb_pad_to(&t, 60);
    run_frame("lldp", &t, XP_PARSE_NOT_IP, NULL);
}

/* ---- every error status ----------------------------------------------- */

static void test_errors(void)
{
    struct tb t;
    uint32_t ip;

    t.len = 0;
    run_frame("err_empty", &t, XP_PARSE_TRUNCATED_ETH, NULL);
    tb_eth(&t, 0x0800);
    t.len = 13;
    run_frame("err_truncated_eth", &t, XP_PARSE_TRUNCATED_ETH, NULL);

    tb_macs(&t);
    tb_vlan(&t, 0x8100, 1);
    t.len = 16;
    run_frame("err_truncated_vlan", &t, XP_PARSE_TRUNCATED_VLAN, NULL);

    tb_macs(&t);
    tb_vlan(&t, 0x88a8, 1);
    tb_vlan(&t, 0x8100, 2);
    tb_vlan(&t, 0x8100, 3);
    tb_u16(&t, 0x0800);
    tb_pad_to(&t, 60);
    run_frame("err_too_many_vlans", &t, XP_PARSE_TOO_MANY_VLANS, NULL);

    tb_eth(&t, 0x0800);
    tb_ipv4(&t, 17, 0, 0);
    t.len = 14 + 19;
    run_frame("err_truncated_ipv4", &t, XP_PARSE_TRUNCATED_IPV4, NULL);
    /* IHL 15 but the frame ends inside the options */
    tb_eth(&t, 0x0800);
    ip = tb_ipv4(&t, 17, 0, 40);
    tb_put16(&t, ip + 2, 60);
    t.len = 14 + 50;
    run_frame("err_truncated_ipv4_opts", &t, XP_PARSE_TRUNCATED_IPV4, NULL);

    tb_eth(&t, 0x0800);
    ip = tb_ipv4(&t, 17, 0, 0);
    tb_udp(&t, 1, 2, 0);
    tb_ipv4_end(&t, ip);
    t.b[ip] = 0x65;        /* version 6 under ethertype 0x0800 */
    tb_pad_to(&t, 60);
    run_frame("err_bad_ipv4_version", &t, XP_PARSE_BAD_IPV4_VERSION, NULL);
    t.b[ip] = 0x44;
    run_frame("err_bad_ihl", &t, XP_PARSE_BAD_IHL, NULL);
    t.b[ip] = 0x45;
    tb_put16(&t, ip + 2, 47); /* 14 + 47 > 60 */
    run_frame("err_ipv4_len_over_frame", &t, XP_PARSE_IPV4_LEN_MISMATCH, NULL);
    tb_put16(&t, ip + 2, 19);
    run_frame("err_ipv4_len_under_hdr", &t, XP_PARSE_IPV4_LEN_MISMATCH, NULL);
    /* with options: total length covering the fixed header but not the options */
    tb_eth(&t, 0x0800);
    ip = tb_ipv4(&t, 17, 0, 8);
    tb_udp(&t, 1, 2, 0);
    tb_put16(&t, ip + 2, 24);
    run_frame("err_ipv4_len_under_opts", &t, XP_PARSE_IPV4_LEN_MISMATCH, NULL);

    tb_eth(&t, 0x86dd);
    tb_ipv6(&t, 59);
    t.len = 14 + 39;
    run_frame("err_truncated_ipv6", &t, XP_PARSE_TRUNCATED_IPV6, NULL);

    tb_eth(&t, 0x86dd);
    ip = tb_ipv6(&t, 17);
    tb_udp(&t, 1, 2, 0);
    tb_ipv6_end(&t, ip);
    t.b[ip] = 0x40;
    run_frame("err_bad_ipv6_version", &t, XP_PARSE_BAD_IPV6_VERSION, NULL);
    t.b[ip] = 0x60;
    tb_put16(&t, ip + 4, 9);
    run_frame("err_ipv6_len_mismatch", &t, XP_PARSE_IPV6_LEN_MISMATCH, NULL);

    tb_eth(&t, 0x86dd);
    ip = tb_ipv6(&t, 60);
    for (int i = 0; i <= XP_PARSE_MAX_EXT_HDRS; i++)
        tb_ext(&t, i == XP_PARSE_MAX_EXT_HDRS ? 17 : 60, 0);
    tb_udp(&t, 7, 9, 0);
    tb_ipv6_end(&t, ip);
    run_frame("err_ext_chain_too_long", &t, XP_PARSE_EXT_HDR_CHAIN_TOO_LONG, NULL);

    /* HBH claims 16 bytes, the payload has 8 */
    tb_eth(&t, 0x86dd);
    ip = tb_ipv6(&t, 0);
    tb_ext(&t, 17, 0);
    tb_ipv6_end(&t, ip);
    t.b[ip + 41] = 1;
    run_frame("err_truncated_ext_len", &t, XP_PARSE_TRUNCATED_EXT_HDR, NULL);
    /* a fragment header lying in the Ethernet padding, not in the payload */
    tb_eth(&t, 0x86dd);
    ip = tb_ipv6(&t, 44);
    tb_ipv6_end(&t, ip);
    tb_frag6(&t, 17, 0, true);
    tb_udp(&t, 1, 2, 0);
    run_frame("err_ext_in_padding", &t, XP_PARSE_TRUNCATED_EXT_HDR, NULL);
    /* AH length running past the payload */
    tb_eth(&t, 0x86dd);
    ip = tb_ipv6(&t, 51);
    tb_ah(&t, 17, 0);
    tb_ipv6_end(&t, ip);
    t.b[ip + 41] = 9;
    run_frame("err_truncated_ah", &t, XP_PARSE_TRUNCATED_EXT_HDR, NULL);

    tb_eth(&t, 0x86dd);
    ip = tb_ipv6(&t, 60);
    tb_ext(&t, 0, 0);
    tb_ext(&t, 17, 0);
    tb_udp(&t, 1, 2, 0);
    tb_ipv6_end(&t, ip);
    run_frame("err_misplaced_hbh", &t, XP_PARSE_MISPLACED_HOP_BY_HOP, NULL);

    /* UDP header cut by the IP length while the frame (padding) goes on */
    tb_eth(&t, 0x0800);
    ip = tb_ipv4(&t, 17, 0, 0);
    tb_u16(&t, 1);
    tb_u16(&t, 2);
    tb_ipv4_end(&t, ip);
    tb_pad_to(&t, 60);
    run_frame("err_truncated_udp", &t, XP_PARSE_TRUNCATED_L4, NULL);
    /* tiny first fragment (RFC 1858): the ports are not all there */
    tb_put16(&t, ip + 6, 0x2000);
    run_frame("err_tiny_first_frag", &t, XP_PARSE_TRUNCATED_L4, NULL);
    tb_eth(&t, 0x0800);
    ip = tb_ipv4(&t, 6, 0, 0);
    tb_tcp(&t, 1, 2, 5, 0);
    t.len--;
    tb_ipv4_end(&t, ip);
    run_frame("err_truncated_tcp", &t, XP_PARSE_TRUNCATED_L4, NULL);
    tb_eth(&t, 0x0800);
    ip = tb_ipv4(&t, 6, 0, 0);
    tb_tcp(&t, 1, 2, 15, 8);
    tb_ipv4_end(&t, ip);
    run_frame("err_truncated_tcp_opts", &t, XP_PARSE_TRUNCATED_L4, NULL);
    tb_eth(&t, 0x86dd);
    ip = tb_ipv6(&t, 58);
    tb_icmp(&t, 135, 0, 0);
    tb_ipv6_end(&t, ip);
    run_frame("err_truncated_icmp6", &t, XP_PARSE_TRUNCATED_L4, NULL);

    tb_eth(&t, 0x0800);
    ip = tb_ipv4(&t, 6, 0, 0);
    tb_tcp(&t, 1, 2, 4, 0);
    tb_ipv4_end(&t, ip);
    tb_pad_to(&t, 60);
    run_frame("err_bad_tcp_doff", &t, XP_PARSE_BAD_TCP_DOFF, NULL);

    /* UDP length: 0 (a jumbogram's, impossible on Ethernet), 5 (< header), past the payload */
    {
        static const uint16_t bad[] = {0, 5, 7, 41};

        for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            char name[48];

            tb_eth(&t, 0x0800);
            ip = tb_ipv4(&t, 17, 0, 0);
            tb_udp(&t, 1, 2, 32);
            tb_put16(&t, ip + 20 + 4, bad[i]);
            tb_ipv4_end(&t, ip);
            snprintf(name, sizeof(name), "err_udp_len_%u", bad[i]);
            run_frame(name, &t, XP_PARSE_BAD_UDP_LEN, NULL);
        }
        /* the same length in a first fragment covers the whole datagram: fine */
        tb_put16(&t, ip + 6, 0x2000);
        tb_put16(&t, ip + 20 + 4, 41);
        run_frame("udp_len_first_frag", &t, XP_PARSE_OK, NULL);
        tb_eth(&t, 0x86dd);
        ip = tb_ipv6(&t, 17);
        tb_udp(&t, 1, 2, 32);
        tb_put16(&t, ip + 40 + 4, 0);
        tb_ipv6_end(&t, ip);
        run_frame("err_udp6_len_0", &t, XP_PARSE_BAD_UDP_LEN, NULL);
        /* shorter than the payload: trailing bytes, which hosts trim */
        tb_put16(&t, ip + 40 + 4, 8);
        run_frame("udp6_len_short", &t, XP_PARSE_OK, NULL);
    }

    /* fragments that would reassemble past 65535 bytes (offset + length) */
    tb_eth(&t, 0x0800);
    ip = tb_ipv4(&t, 17, 0x1fff, 0); /* last fragment at offset 65528 */
    tb_fill(&t, 0x99, 7);
    tb_ipv4_end(&t, ip);
    tb_pad_to(&t, 60);
    run_frame("v4_frag_at_limit", &t, XP_PARSE_OK, NULL); /* 65528 + 7: ends at 65535 */
    tb_eth(&t, 0x0800);
    ip = tb_ipv4(&t, 17, 0x1fff, 0);
    tb_fill(&t, 0x99, 16);
    tb_ipv4_end(&t, ip);
    run_frame("err_v4_frag_past_64k", &t, XP_PARSE_BAD_FRAGMENT, NULL);
    tb_eth(&t, 0x86dd);
    ip = tb_ipv6(&t, 44);
    tb_frag6(&t, 17, 8190, true);
    tb_fill(&t, 0x99, 24);
    tb_ipv6_end(&t, ip);
    run_frame("err_v6_frag_past_64k", &t, XP_PARSE_BAD_FRAGMENT, NULL);
}

/* Bare IP entry point, for decapsulated inner packets. */
static void test_parse_ip(void)
{
    struct tb t;
    struct xp_parsed p;
    uint32_t ip;
    int st;

    t.len = 0;
    ip = tb_ipv4(&t, 17, 0, 0);
    tb_udp(&t, 5, 6, 1);
    tb_ipv4_end(&t, ip);
    st = xp_parse_ip(t.b, t.len, &p);
    CHECK_MSG(st == XP_PARSE_OK && p.family == 4 && p.l3_off == 0 && p.l4_off == 20 &&
          p.sport == 5 && p.dport == 6 && p.ethertype == 0x0800,
          "inner v4: %s l4_off %u", xp_parse_status_name(st), p.l4_off);

    t.len = 0;
    ip = tb_ipv6(&t, 17);
    tb_udp(&t, 5, 6, 1);
    tb_ipv6_end(&t, ip);
    st = xp_parse_ip(t.b, t.len, &p);
    CHECK_MSG(st == XP_PARSE_OK && p.family == 6 && p.l4_off == 40 && p.dport == 6 &&
          p.ethertype == 0x86dd,
          "inner v6: %s l4_off %u", xp_parse_status_name(st), p.l4_off);

    st = xp_parse_ip(t.b, 0, &p);
    CHECK_MSG(st == XP_PARSE_NOT_IP, "inner empty: %s", xp_parse_status_name(st));
    t.b[0] = 0x50;
    st = xp_parse_ip(t.b, t.len, &p);
    CHECK_MSG(st == XP_PARSE_NOT_IP, "inner version 5: %s", xp_parse_status_name(st));
    t.b[0] = 0x60;
    st = xp_parse_ip(t.b, 39, &p);
    CHECK_MSG(st == XP_PARSE_TRUNCATED_IPV6, "inner short v6: %s", xp_parse_status_name(st));
}

static void test_status_names(void)
{
    for (int i = 0; i < XP_PARSE_STATUS_MAX; i++) {
        const char *n = xp_parse_status_name(i);

        CHECK_MSG(strcmp(n, "invalid") != 0, "status %d has no name", i);
        CHECK_MSG(strspn(n, "abcdefghijklmnopqrstuvwxyz0123456789_") == strlen(n),
              "status %d name '%s' is not snake_case", i, n);
        for (int j = 0; j < i; j++)
            CHECK_MSG(strcmp(n, xp_parse_status_name(j)) != 0, "status %d and %d share '%s'", i, j, n);
    }
    CHECK_MSG(strcmp(xp_parse_status_name(XP_PARSE_OK), "ok") == 0, "ok");
    CHECK_MSG(strcmp(xp_parse_status_name(XP_PARSE_NOT_IP), "not_ip") == 0, "not_ip");
    CHECK_MSG(strcmp(xp_parse_status_name(XP_PARSE_IPV4_LEN_MISMATCH), "ipv4_len_mismatch") == 0, "v4 len");
    CHECK_MSG(strcmp(xp_parse_status_name(XP_PARSE_EXT_HDR_CHAIN_TOO_LONG), "ext_hdr_chain_too_long") == 0,
          "chain");
    CHECK_MSG(strcmp(xp_parse_status_name(XP_PARSE_STATUS_MAX), "invalid") == 0, "max");
    CHECK_MSG(strcmp(xp_parse_status_name((enum xp_parse_status)-1), "invalid") == 0, "negative");
    CHECK_MSG(sizeof(struct xp_parsed) <= 64, "struct xp_parsed is %zu bytes", sizeof(struct xp_parsed));
}

/* ---- CIDR --------------------------------------------------------------- */

static void mapped(uint8_t a[16], uint8_t b0, uint8_t b1, uint8_t b2, uint8_t b3)
{
    memset(a, 0, 16);
    a[10] = a[11] = 0xff;
    a[12] = b0;
    a[13] = b1;
    a[14] = b2;
    a[15] = b3;
}

static void test_cidr(void)
{
    static const char *const bad[] = {
        "", "/8", "10.0.0.0/", "10.0.0.0/33", "2001::/129", "10.0.0.0/8x", "10.0.0.0/-1",
        "10.0.0.0/+8", " 10.0.0.0/8", "10.0.0.0/8 ", "10.0.0/8", "010.0.0.0/8", "1.2.3.256",
        "10.0.0.0/0008", "fe80::1%eth0/64", "garbage", "10.0.0.0/8/8", "::1/1a", "1.2.3.4/ 8",
        "0000:0000:0000:0000:0000:0000:0000:0000:0000/64",
        "2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff:1111:2222:3333/64",
    };
    struct xp_cidr c, keep;
    uint8_t a[16];
    int rc;

    /* the fuzz target also feeds its input to xp_cidr_parse: seed both forms */
    write_case("cidr_v4", "198.18.0.0/15", 13);
    write_case("cidr_v6", "2001:2::/48", 11);

    rc = xp_cidr_parse("198.18.0.0/15", &c);
    CHECK_MSG(rc == 0 && c.family == 4 && c.prefix_len == 96 + 15, "198.18.0.0/15: rc %d plen %u", rc,
          c.prefix_len);
    mapped(a, 198, 18, 0, 0);
    CHECK_MSG(memcmp(c.addr, a, 16) == 0, "198.18.0.0/15 stored mapped");
    mapped(a, 198, 19, 255, 255);
    CHECK_MSG(xp_cidr_match(&c, a), "198.19.255.255 in 198.18.0.0/15");
    mapped(a, 198, 20, 0, 0);
    CHECK_MSG(!xp_cidr_match(&c, a), "198.20.0.0 not in 198.18.0.0/15");
    mapped(a, 198, 17, 255, 255);
    CHECK_MSG(!xp_cidr_match(&c, a), "198.17.255.255 not in 198.18.0.0/15");
    memcpy(a, v6_dst, 16);
    CHECK_MSG(!xp_cidr_match(&c, a), "IPv6 address not in an IPv4 prefix");

    rc = xp_cidr_parse("2001:2::/48", &c);
    CHECK_MSG(rc == 0 && c.family == 6 && c.prefix_len == 48, "2001:2::/48: rc %d", rc);
    CHECK_MSG(xp_cidr_match(&c, v6_dst), "2001:2::1 in 2001:2::/48");
    memcpy(a, v6_dst, 16);
    a[6] = 0xff;
    a[15] = 0xff;
    CHECK_MSG(xp_cidr_match(&c, a), "2001:2:0:ff00::ff in 2001:2::/48");
    a[5] = 1;
    CHECK_MSG(!xp_cidr_match(&c, a), "2001:2:1:ff00::ff not in 2001:2::/48");
    CHECK_MSG(!xp_cidr_match(&c, v6_src), "2001:db8:1::10 not in 2001:2::/48");

    /* host bits are masked, not rejected */
    rc = xp_cidr_parse("10.1.2.3/8", &c);
    mapped(a, 10, 0, 0, 0);
    CHECK_MSG(rc == 0 && memcmp(c.addr, a, 16) == 0 && c.prefix_len == 104, "10.1.2.3/8 masked");
    mapped(a, 10, 255, 0, 1);
    CHECK_MSG(xp_cidr_match(&c, a), "10.255.0.1 in 10.1.2.3/8");

    /* no /len: one host */
    rc = xp_cidr_parse("10.0.0.1", &c);
    CHECK_MSG(rc == 0 && c.prefix_len == 128 && c.family == 4, "10.0.0.1 is /32");
    mapped(a, 10, 0, 0, 1);
    CHECK_MSG(xp_cidr_match(&c, a), "10.0.0.1 matches itself");
    mapped(a, 10, 0, 0, 2);
    CHECK_MSG(!xp_cidr_match(&c, a), "10.0.0.2 not in 10.0.0.1");
    rc = xp_cidr_parse("2001:db8:1::10", &c);
    CHECK_MSG(rc == 0 && c.prefix_len == 128 && xp_cidr_match(&c, v6_src), "v6 host");

    /* /0: IPv4 any covers IPv4 only; IPv6 any covers everything (IPv4 is mapped) */
    rc = xp_cidr_parse("0.0.0.0/0", &c);
    mapped(a, 255, 255, 255, 255);
    CHECK_MSG(rc == 0 && c.prefix_len == 96 && xp_cidr_match(&c, a), "0.0.0.0/0 matches v4");
    CHECK_MSG(!xp_cidr_match(&c, v6_src), "0.0.0.0/0 does not match v6");
    rc = xp_cidr_parse("::/0", &c);
    CHECK_MSG(rc == 0 && c.prefix_len == 0 && xp_cidr_match(&c, a) && xp_cidr_match(&c, v6_src),
          "::/0 matches all");

    /* an IPv4-mapped IPv6 prefix matches parsed IPv4 packets */
    rc = xp_cidr_parse("::ffff:198.18.0.0/111", &c);
    mapped(a, 198, 19, 1, 1);
    CHECK_MSG(rc == 0 && c.family == 6 && xp_cidr_match(&c, a), "::ffff:198.18.0.0/111");

    rc = xp_cidr_parse("10.0.0.0/08", &c);
    CHECK_MSG(rc == 0 && c.prefix_len == 104, "leading zero in the length is decimal");
    rc = xp_cidr_parse("2001:db8::/128", &c);
    CHECK_MSG(rc == 0 && c.prefix_len == 128, "/128");
    rc = xp_cidr_parse("255.255.255.255/32", &c);
    CHECK_MSG(rc == 0 && c.prefix_len == 128, "/32");

    memset(&keep, 0x5a, sizeof(keep));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        c = keep;
        rc = xp_cidr_parse(bad[i], &c);
        CHECK_MSG(rc == -EINVAL, "'%s' accepted (rc %d)", bad[i], rc);
        CHECK_MSG(memcmp(&c, &keep, sizeof(c)) == 0, "'%s' wrote to out on failure", bad[i]);
    }
}

/* ---- corpus ------------------------------------------------------------- */

/* The invariants the fuzz target enforces, checked here on the corpus too. */
static bool parsed_sane(const struct xp_parsed *p, int st, uint32_t len)
{
    if (st < 0 || st >= XP_PARSE_STATUS_MAX)
        return false;
    if (st != XP_PARSE_OK)
        return true;
    if (p->family != 4 && p->family != 6)
        return false;
    if (p->l3_off >= len || p->vlan_count > XP_PARSE_MAX_VLANS || p->l3_off != 14 + 4 * p->vlan_count)
        return false;
    if (p->flags & XP_PARSED_F_HAS_L4) {
        if (p->l4_off <= p->l3_off || (uint32_t)p->l4_off + p->ip_payload_len > len)
            return false;
    } else if (p->l4_off || p->sport || p->dport) {
        return false;
    }
    if ((p->flags & XP_PARSED_F_FIRST_FRAGMENT) && !(p->flags & XP_PARSED_F_FRAGMENT))
        return false;
    return true;
}

static void test_corpus(const char *dir_path)
{
    unsigned counts[XP_PARSE_STATUS_MAX] = {0};
    static uint8_t buf[65536 + 64];
    struct dirent *de;
    unsigned files = 0;
    DIR *dir;

    dir = opendir(dir_path);
    CHECK_MSG(dir != NULL, "opendir %s: %s", dir_path, strerror(errno));
    if (!dir)
        return;
    while ((de = readdir(dir))) {
        char path[4096];
        struct xp_parsed p;
        struct stat sb;
        size_t n;
        uint8_t *copy;
        FILE *f;
        int st;

        snprintf(path, sizeof(path), "%s/%s", dir_path, de->d_name);
        if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
            continue;
        f = fopen(path, "rb");
        CHECK_MSG(f != NULL, "open %s", path);
        if (!f)
            continue;
        n = fread(buf, 1, sizeof(buf), f);
        fclose(f);
        /* exact-size heap copy so ASan sees a read past the end */
        copy = malloc(n ? n : 1);
        if (!copy)
            abort();
        memcpy(copy, buf, n);
        st = xp_parse_frame(copy, (uint32_t)n, &p);
        CHECK_MSG(parsed_sane(&p, st, (uint32_t)n), "%s: invariants broken (status %d)", de->d_name, st);
        if (st >= 0 && st < XP_PARSE_STATUS_MAX)
            counts[st]++;
        st = xp_parse_ip(copy, (uint32_t)n, &p);
        CHECK_MSG(st >= 0 && st < XP_PARSE_STATUS_MAX, "%s: xp_parse_ip status %d", de->d_name, st);
        free(copy);
        files++;
    }
    closedir(dir);
    CHECK_MSG(files > 0, "no files in %s", dir_path);
    printf("corpus %s: %u files\n", dir_path, files);
    for (int i = 0; i < XP_PARSE_STATUS_MAX; i++)
        if (counts[i])
            printf("  %-24s %u\n", xp_parse_status_name(i), counts[i]);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--write-corpus") == 0) {
        g_write_dir = argv[2];
    } else if (argc != 1) {
        fprintf(stderr, "usage: %s [--write-corpus DIR]\n", argv[0]);
        return 2;
    }

    test_v4_udp_padded();
    test_v4_options_tcp();
    test_v4_icmp_other();
    test_v4_fragments();
    test_vlans();
    test_v6_chains();
    test_not_ip();
    test_errors();
    test_parse_ip();
    test_status_names();
    test_cidr();
    for (int i = 0; i < XP_PARSE_STATUS_MAX; i++)
        CHECK_MSG(g_seen[i] > 0, "no crafted frame gives status %s", xp_parse_status_name(i));
    if (!g_write_dir)
        test_corpus(XP_CORPUS_DIR);

    return xp_check_report("test_parse");
}
