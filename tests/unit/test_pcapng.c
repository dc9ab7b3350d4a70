// SPDX-License-Identifier: GPL-2.0-only
/*
 * The pcapng writer (src/util/pcapng.h): write a file, read it back with a
 * minimal reader written here from the format's definition (block lengths,
 * byte-order magic, interface, packet fields, options), and when tshark is
 * installed (scripts/setup.sh installs it) let Wireshark's own reader parse
 * it and print the comments.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "src/util/pcapng.h"
#include "xp_check.h"

struct rd_packet {
    uint64_t t_ns;
    uint32_t caplen, origlen;
    uint8_t data[XP_PCAPNG_SNAPLEN_MAX];
    char comment[XP_PCAPNG_COMMENT_MAX + 1];
};

struct rd_file {
    uint32_t linktype, snaplen, tsresol;
    char appl[64], ifname[64];
    unsigned shbs, idbs, npkts;
    struct rd_packet pkts[8];
};

static uint32_t rd32(const uint8_t *p)
{
    uint32_t v;

    memcpy(&v, p, 4);
    return v;
}

static uint16_t rd16(const uint8_t *p)
{
    uint16_t v;

    memcpy(&v, p, 2);
    return v;
}

/* Options from p to end: each padded to 4, ending with opt_endofopt. 0 or -1 when malformed. */
static int rd_opts(const uint8_t *p, const uint8_t *end, uint32_t type, struct rd_file *f,
                   struct rd_packet *pk)
{
    while (p + 4 <= end) {
        uint16_t code = rd16(p), len = rd16(p + 2);
        const uint8_t *v = p + 4;

        if (code == XP_PCAPNG_OPT_END)
            return len == 0 && p + 4 == end ? 0 : -1;
        if (v + len > end)
            return -1;
        if (type == XP_PCAPNG_BT_SHB && code == XP_PCAPNG_OPT_SHB_USERAPPL && len < 64)
            memcpy(f->appl, v, len), f->appl[len] = 0;
        if (type == XP_PCAPNG_BT_IDB && code == XP_PCAPNG_OPT_IF_NAME && len < 64)
            memcpy(f->ifname, v, len), f->ifname[len] = 0;
        if (type == XP_PCAPNG_BT_IDB && code == XP_PCAPNG_OPT_IF_TSRESOL && len == 1)
            f->tsresol = v[0];
        if (type == XP_PCAPNG_BT_EPB && code == XP_PCAPNG_OPT_COMMENT && pk &&
            len <= XP_PCAPNG_COMMENT_MAX)
            memcpy(pk->comment, v, len), pk->comment[len] = 0;
        p = v + ((len + 3u) & ~3u);
    }
    return p == end ? 0 : -1; /* options are optional; a block may end without them */
}

/* The whole file, block by block: 0, or -1 at the first thing the format forbids. */
static int rd_file(const uint8_t *buf, size_t n, struct rd_file *f)
{
    size_t off = 0;

    memset(f, 0, sizeof(*f));
    while (off < n) {
        uint32_t type, len;
        const uint8_t *b = buf + off, *body;

        if (n - off < 12)
            return -1;
        type = rd32(b);
        len = rd32(b + 4);
        if (len < 12 || len % 4 || len > n - off || rd32(b + len - 4) != len)
            return -1;
        body = b + 8;
        if (type == XP_PCAPNG_BT_SHB) {
            if (len < 28 || rd32(body) != XP_PCAPNG_BYTE_ORDER_MAGIC || rd16(body + 4) != 1 ||
                rd16(body + 6) != 0 || rd_opts(body + 16, b + len - 4, type, f, NULL))
                return -1;
            f->shbs++;
        } else if (type == XP_PCAPNG_BT_IDB) {
            if (len < 20 || rd_opts(body + 8, b + len - 4, type, f, NULL))
                return -1;
            f->linktype = rd16(body);
            f->snaplen = rd32(body + 4);
            f->idbs++;
        } else if (type == XP_PCAPNG_BT_EPB) {
            struct rd_packet *pk = &f->pkts[f->npkts];
            uint32_t cap;

            if (len < 32 || f->npkts == 8 || rd32(body) != 0)
                return -1;
            memset(pk, 0, sizeof(*pk));
            pk->t_ns = (uint64_t)rd32(body + 4) << 32 | rd32(body + 8);
            cap = pk->caplen = rd32(body + 12);
            pk->origlen = rd32(body + 16);
            if (cap > XP_PCAPNG_SNAPLEN_MAX || 20 + ((cap + 3u) & ~3u) > len - 12)
                return -1;
            memcpy(pk->data, body + 20, cap);
            if (rd_opts(body + 20 + ((cap + 3u) & ~3u), b + len - 4, type, f, pk))
                return -1;
            f->npkts++;
        } else {
            return -1;
        }
        off += len;
    }
    return 0;
}

/* An Ethernet + IPv4 + UDP frame from 198.18.0.src to 198.19.0.1 with a payload of n bytes. */
static size_t make_frame(uint8_t *fr, uint8_t src, size_t n)
{
    static const uint8_t hdr[] = {
        2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00,
        0x45, 0, 0, 0, 0, 1, 0, 0, 64, 17, 0, 0, 198, 18, 0, 0, 198, 19, 0, 1,
        0x30, 0x39, 0x00, 0x35, 0, 0, 0, 0,
    };
    size_t ip_len = 20 + 8 + n;

    memcpy(fr, hdr, sizeof(hdr));
    fr[16] = (uint8_t)(ip_len >> 8);
    fr[17] = (uint8_t)ip_len;
    fr[29] = src;
    fr[38] = (uint8_t)((8 + n) >> 8);
    fr[39] = (uint8_t)(8 + n);
    for (size_t i = 0; i < n; i++)
        fr[sizeof(hdr) + i] = (uint8_t)i;
    /* the IPv4 header checksum, so that tshark does not flag the frame */
    uint32_t sum = 0;
    for (int i = 14; i < 34; i += 2)
        sum += (uint32_t)fr[i] << 8 | fr[i + 1];
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    fr[24] = (uint8_t)(~sum >> 8);
    fr[25] = (uint8_t)~sum;
    return sizeof(hdr) + n;
}

static void test_round_trip(const char *path)
{
    static uint8_t buf[1 << 16];
    static struct rd_file f;
    struct xp_pcapng_writer w;
    uint8_t fr[1600];
    size_t n, flen;
    FILE *fp = fopen(path, "w");

    CHECK(fp != NULL);
    if (!fp)
        return;
    CHECK_EQ(xp_pcapng__begin(&w, fp, 256, "xpro-ctl test", "access"), 0);
    /* a short frame (no snap), a long one (snapped to 256), one without comment */
    flen = make_frame(fr, 2, 30);
    CHECK_EQ(xp_pcapng__packet(&w, 1700000000123456789ULL, fr, (uint32_t)flen, (uint32_t)flen,
                               "xpro: forward (queue 0)"), 0);
    flen = make_frame(fr, 3, 1000);
    CHECK_EQ(xp_pcapng__packet(&w, 1700000000223456789ULL, fr, 256, (uint32_t)flen,
                               "xpro: drop_unit_rate (queue 1)"), 0);
    flen = make_frame(fr, 4, 1);
    CHECK_EQ(xp_pcapng__packet(&w, 1700000001000000000ULL, fr, (uint32_t)flen, (uint32_t)flen,
                               NULL), 0);
    CHECK_EQ(w.packets, 3);
    fclose(fp);

    fp = fopen(path, "r");
    CHECK(fp != NULL);
    if (!fp)
        return;
    n = fread(buf, 1, sizeof(buf), fp);
    fclose(fp);
    CHECK_EQ(n, w.bytes);
    CHECK_EQ(rd_file(buf, n, &f), 0);
    CHECK_EQ(f.shbs, 1);
    CHECK_EQ(f.idbs, 1);
    CHECK_EQ(f.linktype, XP_PCAPNG_LINKTYPE_ETHERNET);
    CHECK_EQ(f.snaplen, 256);
    CHECK_EQ(f.tsresol, 9);
    CHECK(strcmp(f.appl, "xpro-ctl test") == 0);
    CHECK(strcmp(f.ifname, "access") == 0);
    CHECK_EQ(f.npkts, 3);
    CHECK_EQ(f.pkts[0].t_ns, 1700000000123456789ULL);
    CHECK_EQ(f.pkts[0].caplen, 14 + 20 + 8 + 30);
    CHECK_EQ(f.pkts[0].origlen, 14 + 20 + 8 + 30);
    CHECK(strcmp(f.pkts[0].comment, "xpro: forward (queue 0)") == 0);
    CHECK_EQ(f.pkts[1].caplen, 256);
    CHECK_EQ(f.pkts[1].origlen, 14 + 20 + 8 + 1000);
    CHECK(f.pkts[1].data[29] == 3 && f.pkts[1].data[255] == (uint8_t)(255 - 42));
    CHECK(strcmp(f.pkts[1].comment, "xpro: drop_unit_rate (queue 1)") == 0);
    CHECK_EQ(f.pkts[2].caplen, 14 + 20 + 8 + 1);
    CHECK(f.pkts[2].comment[0] == 0);
    /* the reader is strict: one byte less is no longer a file */
    CHECK_EQ(rd_file(buf, n - 4, &f), -1);
}

static void test_refusals(const char *path)
{
    struct xp_pcapng_writer w;
    char big[XP_PCAPNG_COMMENT_MAX + 2];
    uint8_t fr[64] = { 0 };
    FILE *fp = fopen(path, "w");

    CHECK(fp != NULL);
    if (!fp)
        return;
    CHECK_EQ(xp_pcapng__begin(&w, fp, 0, NULL, NULL), -EINVAL);
    CHECK_EQ(xp_pcapng__begin(&w, fp, XP_PCAPNG_SNAPLEN_MAX + 1, NULL, NULL), -EINVAL);
    CHECK_EQ(xp_pcapng__begin(&w, NULL, 64, NULL, NULL), -EINVAL);
    CHECK_EQ(xp_pcapng__begin(&w, fp, 32, NULL, NULL), 0);
    CHECK_EQ(xp_pcapng__packet(&w, 1, fr, 33, 64, NULL), -EINVAL); /* over the snaplen */
    CHECK_EQ(xp_pcapng__packet(&w, 1, fr, 20, 10, NULL), -EINVAL); /* caplen > origlen */
    CHECK_EQ(xp_pcapng__packet(&w, 1, NULL, 4, 10, NULL), -EINVAL);
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    CHECK_EQ(xp_pcapng__packet(&w, 1, fr, 20, 20, big), -EINVAL);
    big[XP_PCAPNG_COMMENT_MAX] = 0; /* exactly the bound */
    CHECK_EQ(xp_pcapng__packet(&w, 1, fr, 20, 20, big), 0);
    CHECK_EQ(xp_pcapng__packet(&w, 1, fr, 0, 60, "empty snap"), 0);
    CHECK_EQ(w.packets, 2);
    fclose(fp);

    /* a full disk: the write fails, and says so */
    fp = fopen("/dev/full", "w");
    if (fp) {
        setvbuf(fp, NULL, _IONBF, 0);
        CHECK_EQ(xp_pcapng__begin(&w, fp, 64, "x", NULL), -EIO);
        fclose(fp);
    }
}

/* Wireshark's reader on the same file: every frame, its length and its comment. */
static void test_tshark(const char *path)
{
    char cmd[512], line[256];
    unsigned rows = 0;
    FILE *p;

    if (system("command -v tshark >/dev/null 2>&1") != 0) {
        /* setup.sh installs it; CI must not pass without this check */
        CHECK_MSG(getenv("CI") == NULL || strcmp(getenv("CI"), "true") != 0,
                  "tshark is missing (scripts/setup.sh installs it)");
        fprintf(stderr, "tshark not installed: the tshark check is skipped\n");
        return;
    }
    snprintf(cmd, sizeof(cmd),
             "tshark -n -r %s -T fields -E separator='|' -e frame.len -e frame.cap_len "
             "-e ip.src -e frame.comment 2>/dev/null", path);
    p = popen(cmd, "r");
    CHECK(p != NULL);
    if (!p)
        return;
    while (fgets(line, sizeof(line), p)) {
        line[strcspn(line, "\n")] = 0;
        if (rows == 0)
            CHECK_MSG(strcmp(line, "72|72|198.18.0.2|xpro: forward (queue 0)") == 0, "got %s",
                      line);
        if (rows == 1)
            CHECK_MSG(strcmp(line, "1042|256|198.18.0.3|xpro: drop_unit_rate (queue 1)") == 0,
                      "got %s", line);
        if (rows == 2)
            CHECK_MSG(strcmp(line, "43|43|198.18.0.4|") == 0, "got %s", line);
        rows++;
    }
    CHECK_EQ(pclose(p), 0);
    CHECK_EQ(rows, 3);
}

int main(void)
{
    char path[] = "/tmp/xp-pcapng-XXXXXX";
    int fd = mkstemp(path);

    CHECK(fd >= 0);
    if (fd < 0)
        return xp_check_report("pcapng");
    close(fd);
    test_round_trip(path);
    test_tshark(path);
    test_refusals(path);
    unlink(path);
    return xp_check_report("pcapng");
}
