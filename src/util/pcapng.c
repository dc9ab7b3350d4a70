// SPDX-License-Identifier: GPL-2.0-only
/*
 * pcapng blocks are a type, a total length, a body and the total length
 * again; options inside a body are code/length/value, each padded to 32
 * bits, ended by opt_endofopt. Each block is assembled in a buffer first
 * so that it reaches the file in one fwrite: never half a block.
 */
#include "src/util/pcapng.h"

#include <errno.h>
#include <string.h>

/* The largest block we write: an EPB with a full snap and the longest comment. */
#define BLOCK_MAX (32 + XP_PCAPNG_SNAPLEN_MAX + 3 + 8 + XP_PCAPNG_COMMENT_MAX + 3 + 4 + 4)

struct block {
    uint8_t buf[BLOCK_MAX];
    size_t len;
};

static void put(struct block *b, const void *p, size_t n)
{
    if (!n)
        return;
    memcpy(b->buf + b->len, p, n);
    b->len += n;
}

static void put32(struct block *b, uint32_t v)
{
    put(b, &v, 4);
}

static void put16(struct block *b, uint16_t v)
{
    put(b, &v, 2);
}

static void put_pad(struct block *b)
{
    while (b->len & 3)
        b->buf[b->len++] = 0;
}

static void put_opt(struct block *b, uint16_t code, const void *val, size_t n)
{
    put16(b, code);
    put16(b, (uint16_t)n);
    put(b, val, n);
    put_pad(b);
}

/* Type and a placeholder length; end() writes both lengths. */
static void start(struct block *b, uint32_t type)
{
    b->len = 0;
    put32(b, type);
    put32(b, 0);
}

static int end(struct xp_pcapng_writer *w, struct block *b)
{
    uint32_t total = (uint32_t)b->len + 4;

    memcpy(b->buf + 4, &total, 4);
    put32(b, total);
    if (fwrite(b->buf, 1, b->len, w->f) != b->len)
        return -EIO;
    w->bytes += b->len;
    return 0;
}

static int text_ok(const char *s)
{
    return !s || strlen(s) <= XP_PCAPNG_COMMENT_MAX;
}

int xp_pcapng__begin(struct xp_pcapng_writer *w, FILE *f, uint32_t snaplen, const char *appl,
                     const char *ifname)
{
    struct block b;
    uint8_t tsresol = 9;   /* 10^-9 s */
    int64_t section_len = -1;

    if (!f || snaplen == 0 || snaplen > XP_PCAPNG_SNAPLEN_MAX || !text_ok(appl) || !text_ok(ifname))
        return -EINVAL;
    memset(w, 0, sizeof(*w));
    w->f = f;
    w->snaplen = snaplen;

    start(&b, XP_PCAPNG_BT_SHB);
    put32(&b, XP_PCAPNG_BYTE_ORDER_MAGIC);
    put16(&b, 1); /* major */
    put16(&b, 0); /* minor */
    put(&b, &section_len, 8); /* unknown: we stream */
    if (appl)
        put_opt(&b, XP_PCAPNG_OPT_SHB_USERAPPL, appl, strlen(appl));
    put_opt(&b, XP_PCAPNG_OPT_END, NULL, 0);
    if (end(w, &b))
        return -EIO;

    start(&b, XP_PCAPNG_BT_IDB);
    put16(&b, XP_PCAPNG_LINKTYPE_ETHERNET);
    put16(&b, 0);
    put32(&b, snaplen);
    if (ifname)
        put_opt(&b, XP_PCAPNG_OPT_IF_NAME, ifname, strlen(ifname));
    put_opt(&b, XP_PCAPNG_OPT_IF_TSRESOL, &tsresol, 1);
    put_opt(&b, XP_PCAPNG_OPT_END, NULL, 0);
    return end(w, &b);
}

int xp_pcapng__packet(struct xp_pcapng_writer *w, uint64_t t_ns, const void *data,
                      uint32_t caplen, uint32_t origlen, const char *comment)
{
    struct block b;

    if (!w->f || caplen > origlen || caplen > w->snaplen || (caplen && !data) ||
        !text_ok(comment))
        return -EINVAL;
    start(&b, XP_PCAPNG_BT_EPB);
    put32(&b, 0); /* the one interface */
    put32(&b, (uint32_t)(t_ns >> 32));
    put32(&b, (uint32_t)t_ns);
    put32(&b, caplen);
    put32(&b, origlen);
    put(&b, data, caplen);
    put_pad(&b);
    if (comment && comment[0]) {
        put_opt(&b, XP_PCAPNG_OPT_COMMENT, comment, strlen(comment));
        put_opt(&b, XP_PCAPNG_OPT_END, NULL, 0);
    }
    if (end(w, &b))
        return -EIO;
    w->packets++;
    return 0;
}
