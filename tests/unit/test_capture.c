// SPDX-License-Identifier: GPL-2.0-only
/*
 * xpro-ctl capture's proxy half (src/capture/capture.h): the request's
 * checks, the tap's filter, its budget (rate, count) and its ring's
 * counted loss, and the frame codec both ways, hostile input included.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "src/capture/capture.h"
#include "src/pipeline/pipeline.h"
#include "xp_check.h"

#define MS 1000000ULL

static uint8_t frames[4][1600];

/* Ethernet + IPv4 + UDP, total length len (>= 42). */
static void frame4(uint8_t *f, const char *src, const char *dst, unsigned len)
{
    memset(f, 0, len);
    f[12] = 0x08;
    f[14] = 0x45;
    f[16] = (uint8_t)((len - 14) >> 8);
    f[17] = (uint8_t)(len - 14);
    f[22] = 64;
    f[23] = 17;
    inet_pton(AF_INET, src, f + 26);
    inet_pton(AF_INET, dst, f + 30);
    f[38] = (uint8_t)((len - 34) >> 8);
    f[39] = (uint8_t)(len - 34);
}

/* Ethernet + IPv6 + UDP, 62 bytes. */
static void frame6(uint8_t *f, const char *src, const char *dst)
{
    memset(f, 0, 62);
    f[12] = 0x86;
    f[13] = 0xdd;
    f[14] = 0x60;
    f[19] = 8;   /* payload length */
    f[20] = 17;  /* UDP */
    f[21] = 64;
    inet_pton(AF_INET6, src, f + 22);
    inet_pton(AF_INET6, dst, f + 38);
    f[59] = 8;
}

static json_t *req(const char *text)
{
    json_t *r = json_loads(text, 0, NULL);

    if (!r)
        fprintf(stderr, "bad test JSON: %s\n", text);
    return r;
}

/* Parse text as a request: 0 or -EINVAL; err must contain want (when given). */
static int spec(const char *text, struct xp_capture_spec *out, const char *want)
{
    json_t *r = req(text);
    char err[256] = "";
    int ret = xp_capture_spec__parse(r, 56, out, err, sizeof(err));

    if (want)
        CHECK_MSG(strstr(err, want) != NULL, "%s: error \"%s\" lacks \"%s\"", text, err, want);
    json_decref(r);
    return ret;
}

static void test_spec(void)
{
    struct xp_capture_spec s;

    CHECK_EQ(spec("{\"op\": \"capture\", \"follow\": true}", &s, NULL), 0);
    CHECK_EQ(s.count, XP_CAPTURE_COUNT_DEFAULT);
    CHECK_EQ(s.seconds, XP_CAPTURE_SECONDS_DEFAULT);
    CHECK_EQ(s.rate, XP_CAPTURE_RATE_DEFAULT);
    CHECK_EQ(s.filter.unit_bits, 0);
    CHECK(!s.filter.has_dst);
    CHECK_EQ(s.filter.fates, (1u << XP_FATE_MAX) - 1);

    CHECK_EQ(spec("{\"unit\": \"198.18.0.1\", \"dst\": \"2001:2::fe\", \"verdict\": "
                  "\"drop_dst_rate\", \"count\": 5, \"seconds\": 3600, \"rate\": 10000}", &s,
                  NULL), 0);
    CHECK_EQ(s.filter.unit_bits, 128);
    CHECK(s.filter.has_dst && s.filter.dst[0] == 0x20 && s.filter.dst[15] == 0xfe);
    CHECK_EQ(s.filter.fates, 1u << XP_FATE_DROP_DST);
    CHECK_EQ(s.count, 5);
    CHECK_EQ(s.seconds, 3600);
    CHECK_EQ(s.rate, 10000);
    /* an IPv6 unit is the policer's: its prefix */
    CHECK_EQ(spec("{\"unit\": \"2001:2::1\"}", &s, NULL), 0);
    CHECK_EQ(s.filter.unit_bits, 56);
    CHECK_EQ(spec("{\"verdict\": \"drop\"}", &s, NULL), 0);
    CHECK_EQ(s.filter.fates, ((1u << XP_FATE_MAX) - 1) & ~1u);
    CHECK_EQ(spec("{\"verdict\": \"forward\"}", &s, NULL), 0);
    CHECK_EQ(s.filter.fates, 1u << XP_FATE_FORWARD);

    CHECK_EQ(spec("[]", &s, "expected a JSON object"), -EINVAL);
    CHECK_EQ(spec("{\"file\": \"/etc/passwd\"}", &s, "unknown key \"file\""), -EINVAL);
    CHECK_EQ(spec("{\"unit\": \"198.18.0.0/24\"}", &s, "unit: expected"), -EINVAL);
    CHECK_EQ(spec("{\"unit\": 7}", &s, "unit: expected"), -EINVAL);
    CHECK_EQ(spec("{\"dst\": \"x\"}", &s, "dst: expected"), -EINVAL);
    CHECK_EQ(spec("{\"verdict\": \"dropped\"}", &s, "verdict: expected"), -EINVAL);
    CHECK_EQ(spec("{\"verdict\": \"invalid\"}", &s, "verdict: expected"), -EINVAL);
    CHECK_EQ(spec("{\"verdict\": null}", &s, "verdict: expected"), -EINVAL);
    CHECK_EQ(spec("{\"count\": 0}", &s, "count: expected an integer 1..1000000"), -EINVAL);
    CHECK_EQ(spec("{\"count\": 1000001}", &s, "count:"), -EINVAL);
    CHECK_EQ(spec("{\"count\": 1.5}", &s, "count:"), -EINVAL);
    CHECK_EQ(spec("{\"seconds\": 3601}", &s, "seconds:"), -EINVAL);
    CHECK_EQ(spec("{\"rate\": 10001}", &s, "rate:"), -EINVAL);
    CHECK_EQ(spec("{\"rate\": -1}", &s, "rate:"), -EINVAL);
}

static struct xp_capture_tap *tap_for(const char *text, unsigned queue)
{
    struct xp_capture_spec s;
    json_t *r = req(text);
    char err[256];
    struct xp_capture_tap *t = NULL;

    if (xp_capture_spec__parse(r, 56, &s, err, sizeof(err)) == 0)
        t = xp_capture_tap__create(&s, queue);
    CHECK_MSG(t != NULL, "%s: %s", text, err);
    json_decref(r);
    return t;
}

static void test_filter(void)
{
    static struct xp_capture_rec out[16];
    struct xp_capture_tap_stats st;
    struct xp_pkt pkts[4];
    uint8_t fates[4] = { XP_FATE_DROP_UNIT, XP_FATE_FORWARD, XP_FATE_DROP_UNIT,
                         XP_FATE_DROP_DST };
    struct xp_capture_tap *t;
    unsigned n;

    frame4(frames[0], "198.18.0.1", "198.18.0.254", 1000); /* the unit, dropped: kept, snapped */
    frame4(frames[1], "198.18.0.1", "198.18.0.254", 60);   /* the unit, forwarded: not this fate */
    frame4(frames[2], "198.18.0.2", "198.18.0.254", 60);   /* another unit */
    frame6(frames[3], "2001:2::1", "2001:2::fe");
    for (int i = 0; i < 4; i++)
        pkts[i] = (struct xp_pkt){ .data = frames[i], .len = i == 0 ? 1000 : i == 3 ? 62 : 60 };

    t = tap_for("{\"unit\": \"198.18.0.1\", \"verdict\": \"drop\"}", 3);
    if (!t)
        return;
    xp_capture_tap__offer(t, pkts, 4, fates, XP_PORT_ACCESS, 1700000000000000001ULL, 5 * MS);
    n = xp_capture_tap__drain(t, out, 16);
    CHECK_EQ(n, 1);
    CHECK_EQ(out[0].t_ns, 1700000000000000001ULL);
    CHECK_EQ(out[0].caplen, XP_CAPTURE_SNAPLEN);
    CHECK_EQ(out[0].origlen, 1000);
    CHECK_EQ(out[0].fate, XP_FATE_DROP_UNIT);
    CHECK_EQ(out[0].queue, 3);
    CHECK_EQ(out[0].port, XP_PORT_ACCESS);
    CHECK(memcmp(out[0].data, frames[0], XP_CAPTURE_SNAPLEN) == 0);
    xp_capture_tap__stats(t, &st);
    CHECK_EQ(st.matched, 1);
    CHECK_EQ(st.captured, 1);
    xp_capture_tap__destroy(t);

    /* an IPv6 unit is its /56: another address in it matches; the destination, exactly */
    t = tap_for("{\"unit\": \"2001:2:0:ff::9\", \"dst\": \"2001:2::fe\"}", 0);
    if (!t)
        return;
    xp_capture_tap__offer(t, pkts, 4, fates, XP_PORT_ACCESS, 1, 5 * MS);
    n = xp_capture_tap__drain(t, out, 16);
    CHECK_EQ(n, 1);
    CHECK_EQ(out[0].caplen, 62);
    CHECK_EQ(out[0].fate, XP_FATE_DROP_DST);
    xp_capture_tap__destroy(t);

    /* a destination alone; a frame the parser refuses names none */
    t = tap_for("{\"dst\": \"198.18.0.254\"}", 0);
    if (!t)
        return;
    pkts[3].len = 20; /* truncated: not parsed, not matched */
    fates[3] = XP_FATE_DROP_MALFORMED;
    xp_capture_tap__offer(t, pkts, 4, fates, XP_PORT_ACCESS, 1, 5 * MS);
    CHECK_EQ(xp_capture_tap__drain(t, out, 16), 3);
    xp_capture_tap__destroy(t);
    /* without an address filter the malformed frame is kept, by its fate */
    t = tap_for("{\"verdict\": \"drop_malformed\"}", 0);
    if (!t)
        return;
    xp_capture_tap__offer(t, pkts, 4, fates, XP_PORT_ACCESS, 1, 5 * MS);
    CHECK_EQ(xp_capture_tap__drain(t, out, 16), 1);
    CHECK_EQ(out[0].caplen, 20);
    xp_capture_tap__destroy(t);
}

/* Offer the same matching frame n times in bursts of 32 at now_mono. */
static void offer_n(struct xp_capture_tap *t, unsigned n, uint64_t now_mono)
{
    struct xp_pkt pkts[32];
    uint8_t fates[32] = { 0 };

    for (unsigned i = 0; i < 32; i++)
        pkts[i] = (struct xp_pkt){ .data = frames[0], .len = 60 };
    while (n) {
        unsigned k = n < 32 ? n : 32;

        xp_capture_tap__offer(t, pkts, k, fates, XP_PORT_ACCESS, now_mono, now_mono);
        n -= k;
    }
}

static unsigned drain_all(struct xp_capture_tap *t)
{
    static struct xp_capture_rec out[64];
    unsigned n, total = 0;

    while ((n = xp_capture_tap__drain(t, out, 64)) > 0)
        total += n;
    return total;
}

static void test_budget(void)
{
    struct xp_capture_tap_stats st;
    struct xp_capture_tap *t;

    frame4(frames[0], "198.18.0.1", "198.18.0.254", 60);
    /*
     * 1000 frames/s, bursts of a tenth of a second: of 5000 frames at once, 101 (the
     * bucket's depth and the one that empties it); 10 ms later, the 10 it refilled;
     * a second later 101 again.
     */
    t = tap_for("{\"rate\": 1000, \"count\": 1000000}", 0);
    if (!t)
        return;
    offer_n(t, 5000, 1000 * MS);
    CHECK_EQ(drain_all(t), 101);
    offer_n(t, 5000, 1010 * MS);
    CHECK_EQ(drain_all(t), 10);
    offer_n(t, 5000, 2100 * MS);
    CHECK_EQ(drain_all(t), 101);
    /* a steady 1 frame per ms for 10 s, drained as it goes: 1000 frames/s, all kept */
    {
        unsigned kept = 0;

        for (uint64_t ms = 0; ms < 10000; ms++) {
            offer_n(t, 1, 3000 * MS + ms * MS);
            if (ms % 100 == 99)
                kept += drain_all(t);
        }
        CHECK_EQ(kept, 10000);
    }
    xp_capture_tap__stats(t, &st);
    CHECK_EQ(st.matched, 25000);
    CHECK_EQ(st.captured, 101 + 10 + 101 + 10000);
    CHECK_EQ(st.lost_budget, 25000 - 10212);
    CHECK_EQ(st.lost_ring, 0);
    xp_capture_tap__destroy(t);

    /* the count: no more than asked, whatever the rate allows */
    t = tap_for("{\"rate\": 10000, \"count\": 7}", 0);
    if (!t)
        return;
    offer_n(t, 100, 1000 * MS);
    CHECK_EQ(drain_all(t), 7);
    xp_capture_tap__stats(t, &st);
    CHECK_EQ(st.lost_budget, 93);
    xp_capture_tap__destroy(t);

    /* a ring nobody drains: XP_CAPTURE_RING kept, the rest within budget lost and counted */
    t = tap_for("{\"rate\": 10000, \"count\": 1000000}", 0);
    if (!t)
        return;
    offer_n(t, 1001, 1000 * MS); /* the bucket allows 1001 */
    xp_capture_tap__stats(t, &st);
    CHECK_EQ(st.captured, XP_CAPTURE_RING);
    CHECK_EQ(st.lost_ring, 1001 - XP_CAPTURE_RING);
    CHECK_EQ(st.lost_budget, 0);
    CHECK_EQ(drain_all(t), XP_CAPTURE_RING);
    xp_capture_tap__destroy(t);

    CHECK(xp_capture_tap__create(NULL, 0) == NULL && errno == EINVAL);
}

static int frame_parse(const char *text, struct xp_capture_frame *fr, const char *want)
{
    json_t *o = req(text);
    char err[256] = "";
    int ret = xp_capture_frame__parse(o, fr, err, sizeof(err));

    if (want)
        CHECK_MSG(strstr(err, want) != NULL, "%s: error \"%s\" lacks \"%s\"", text, err, want);
    json_decref(o);
    return ret;
}

static void test_codec(void)
{
    static struct xp_capture_rec rec;
    static struct xp_capture_frame fr;
    char err[256], line[XP_CAPTURE_LINE_MAX];
    json_t *o;
    int n;

    frame4(rec.data, "198.18.0.1", "198.18.0.254", 60);
    rec.t_ns = 1700000000123456789ULL;
    rec.caplen = 60;
    rec.origlen = 1514;
    rec.fate = XP_FATE_DROP_UNIT;
    rec.port = XP_PORT_ACCESS;
    rec.queue = 2;
    CHECK_EQ(xp_capture_rec__line(&rec, 42, "drop unit", line, sizeof(line)), -EINVAL);
    CHECK_EQ(xp_capture_rec__line(&rec, 42, "x\"", line, sizeof(line)), -EINVAL);
    CHECK_EQ(xp_capture_rec__line(&rec, 42, "drop", line, XP_CAPTURE_LINE_MAX - 1), -ENOSPC);
    n = xp_capture_rec__line(&rec, 42, xp_pkt_fate_name(rec.fate), line, sizeof(line));
    CHECK(n > 0 && (size_t)n == strlen(line));
    o = json_loads(line, 0, NULL);
    CHECK_MSG(o != NULL, "not JSON: %s", line);
    CHECK_EQ(xp_capture_frame__parse(o, &fr, err, sizeof(err)), 0);
    json_decref(o);
    CHECK_EQ(fr.id, 42);
    CHECK_EQ(fr.t_ns, 1700000000123456789ULL);
    CHECK_EQ(fr.queue, 2);
    CHECK_EQ(fr.len, 1514);
    CHECK_EQ(fr.caplen, 60);
    CHECK(strcmp(fr.port, "access") == 0);
    CHECK(strcmp(fr.verdict, "drop_unit_rate") == 0);
    CHECK(memcmp(fr.data, rec.data, 60) == 0);
    /* a full snap, the largest line */
    memset(rec.data, 0xab, sizeof(rec.data));
    rec.caplen = XP_CAPTURE_SNAPLEN;
    rec.port = XP_PORT_CORE;
    n = xp_capture_rec__line(&rec, 7, "forward", line, sizeof(line));
    o = n > 0 ? json_loads(line, 0, NULL) : NULL;
    CHECK_EQ(xp_capture_frame__parse(o, &fr, err, sizeof(err)), 0);
    CHECK_EQ(fr.caplen, XP_CAPTURE_SNAPLEN);
    CHECK(strcmp(fr.port, "core") == 0 && fr.data[255] == 0xab);
    json_decref(o);

#define OK_KEYS "\"capture\": 1, \"t_ns\": 5, \"queue\": 0, \"port\": \"access\", \"verdict\": \"forward\""
    CHECK_EQ(frame_parse("{" OK_KEYS ", \"len\": 2, \"frame\": \"abcd\"}", &fr, NULL), 0);
    CHECK_EQ(frame_parse("[1]", &fr, "expected a JSON object"), -EINVAL);
    CHECK_EQ(frame_parse("{" OK_KEYS ", \"len\": 1, \"frame\": \"abcd\"}", &fr,
                         "2 bytes captured of a 1-byte frame"), -EINVAL);
    CHECK_EQ(frame_parse("{" OK_KEYS ", \"len\": 2, \"frame\": \"abc\"}", &fr, "in hex"), -EINVAL);
    CHECK_EQ(frame_parse("{" OK_KEYS ", \"len\": 2, \"frame\": \"zz\"}", &fr, "in hex"), -EINVAL);
    CHECK_EQ(frame_parse("{" OK_KEYS ", \"len\": 2}", &fr, "in hex"), -EINVAL);
    CHECK_EQ(frame_parse("{" OK_KEYS ", \"len\": -1, \"frame\": \"\"}", &fr, "\"len\""), -EINVAL);
    CHECK_EQ(frame_parse("{" OK_KEYS ", \"len\": 65536, \"frame\": \"\"}", &fr, "\"len\""),
             -EINVAL);
    CHECK_EQ(frame_parse("{\"capture\": 1, \"t_ns\": 5, \"queue\": 0, \"port\": \"access\", "
                         "\"verdict\": \"a b\", \"len\": 0, \"frame\": \"\"}", &fr,
                         "\"verdict\": expected a word"), -EINVAL);
    CHECK_EQ(frame_parse("{\"capture\": 1, \"t_ns\": 5, \"queue\": 65536, \"port\": \"access\", "
                         "\"verdict\": \"x\", \"len\": 0, \"frame\": \"\"}", &fr, "\"queue\""),
             -EINVAL);
    {
        /* one byte over the snap */
        char big[2 * (XP_CAPTURE_SNAPLEN + 1) + 200];
        int k = snprintf(big, sizeof(big), "{" OK_KEYS ", \"len\": 9000, \"frame\": \"");

        memset(big + k, 'a', 2 * (XP_CAPTURE_SNAPLEN + 1));
        strcpy(big + k + 2 * (XP_CAPTURE_SNAPLEN + 1), "\"}");
        CHECK_EQ(frame_parse(big, &fr, "at most 256 bytes"), -EINVAL);
    }
#undef OK_KEYS
}

/*
 * The tap's cost per frame on this machine, printed (not asserted: the machine is shared):
 * a verdict that does not match, an address filter that does not, and one that matches
 * every frame (parse, budget; copies only within 1000/s).
 */
static void measure(void)
{
    static const char *const filters[] = {
        "{\"verdict\": \"drop_manual\"}",
        "{\"dst\": \"198.18.0.77\"}",
        "{\"unit\": \"198.18.0.1\"}",
    };
    struct xp_pkt pkts[32];
    uint8_t fates[32] = { 0 };

    frame4(frames[0], "198.18.0.1", "198.18.0.254", 60);
    for (unsigned i = 0; i < 32; i++)
        pkts[i] = (struct xp_pkt){ .data = frames[0], .len = 60 };
    for (unsigned f = 0; f < 3; f++) {
        struct xp_capture_tap *t = tap_for(filters[f], 0);
        struct timespec a, b;
        const unsigned bursts = 100000;

        if (!t)
            return;
        clock_gettime(CLOCK_MONOTONIC, &a);
        for (unsigned k = 0; k < bursts; k++) {
            uint64_t now = 1000 * MS + (uint64_t)k * 32 * 1000; /* 1 Mpps */

            xp_capture_tap__offer(t, pkts, 32, fates, XP_PORT_ACCESS, now, now);
            if (k % 256 == 0)
                drain_all(t);
        }
        clock_gettime(CLOCK_MONOTONIC, &b);
        printf("tap cost, filter %s: %.1f ns per frame\n", filters[f],
               ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / (bursts * 32.0));
        xp_capture_tap__destroy(t);
    }
}

int main(void)
{
    test_spec();
    test_filter();
    test_budget();
    test_codec();
    measure();
    return xp_check_report("capture");
}
