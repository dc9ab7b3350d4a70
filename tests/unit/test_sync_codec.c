// SPDX-License-Identifier: GPL-2.0-only
/*
 * The wire codec: every message type round-trips (encode, decode, compare),
 * and every class of malformed input gets its documented error code. Also
 * replays the committed fuzz corpus (no crash, and valid seeds decode).
 */
#include <dirent.h>

#include "test_sync_common.h"

static const struct xp_sync_limits LIM = {.max_pairs = 8, .max_warnings = 4};

static enum xp_sync_err dec(const char *s, struct xp_sync_msg *m)
{
    char why[256];
    enum xp_sync_err e = xp_sync_msg__decode(s, strlen(s), &LIM, m, why, sizeof(why));

    if (getenv("XP_VERBOSE"))
        fprintf(stderr, "%s -> %s (%s)\n", s, xp_sync_err__name(e), why);
    return e;
}

static void roundtrip(const struct xp_sync_msg *in)
{
    struct xp_sync_msg out;
    struct xp_buf b;
    enum xp_sync_err e;

    xp_buf__init(&b);
    CHECK_EQ(xp_sync_msg__encode(in, &b), 0);
    CHECK(b.len > 0 && b.p[b.len - 1] == '\n');
    e = xp_sync_msg__decode(b.p, b.len - 1, &LIM, &out, NULL, 0);
    CHECK_EQ(e, XP_SYNC_E_NONE);
    if (e) {
        fprintf(stderr, "line: %s", b.p);
        goto out;
    }
    CHECK_EQ(out.op, in->op);
    CHECK(memcmp(out.nonce, in->nonce, sizeof(in->nonce)) == 0);
    CHECK(memcmp(out.mac, in->mac, sizeof(in->mac)) == 0);
    CHECK(strcmp(out.proxy_id, in->proxy_id) == 0);
    CHECK_EQ(out.instance, in->instance);
    CHECK_EQ(out.epoch, in->epoch);
    CHECK_EQ(out.seq, in->seq);
    CHECK_EQ(out.since, in->since);
    CHECK_EQ(out.upto, in->upto);
    CHECK_EQ(out.more, in->more);
    CHECK_EQ(out.n_pairs, in->n_pairs);
    CHECK_EQ(out.n_down, in->n_down);
    CHECK_EQ(out.n_warnings, in->n_warnings);
    CHECK_EQ(out.has_load, in->has_load);
    if (in->has_load)
        CHECK(memcmp(&out.load, &in->load, sizeof(in->load)) == 0);
    for (unsigned i = 0; i < in->n_pairs && i < out.n_pairs; i++) {
        CHECK(memcmp(&out.pairs[i].key, &in->pairs[i].key, sizeof(in->pairs[i].key)) == 0);
        CHECK_EQ(out.pairs[i].l.ts1, in->pairs[i].l.ts1);
        CHECK_EQ(out.pairs[i].l.ts2, in->pairs[i].l.ts2);
        CHECK_EQ(out.pairs[i].l.c, in->pairs[i].l.c);
        CHECK_EQ(out.pairs[i].l.dc, in->pairs[i].l.dc);
        CHECK_EQ(out.pairs[i].l.mark, in->pairs[i].l.mark);
        if (in->op == XP_OP_SYNC_OK)
            CHECK(memcmp(&out.pairs[i].g, &in->pairs[i].g, sizeof(in->pairs[i].g)) == 0);
    }
    for (unsigned i = 0; i < in->n_down && i < out.n_down; i++) {
        CHECK(memcmp(&out.down[i].key, &in->down[i].key, sizeof(in->down[i].key)) == 0);
        CHECK(memcmp(&out.down[i].g, &in->down[i].g, sizeof(in->down[i].g)) == 0);
    }
    for (unsigned i = 0; i < in->n_warnings && i < out.n_warnings; i++)
        CHECK(memcmp(&out.warnings[i], &in->warnings[i], sizeof(in->warnings[i])) == 0);
    if (in->op == XP_OP_ERROR) {
        CHECK_EQ(out.code, in->code);
        CHECK(strcmp(out.message, in->message) == 0);
    }
out:
    xp_sync_msg__release(&out);
    xp_buf__free(&b);
}

static void test_roundtrip(void)
{
    struct xp_sync_wire_pair pairs[3];
    struct xp_sync_warning warn[2];
    struct xp_sync_msg m;

    memset(pairs, 0, sizeof(pairs));
    memset(warn, 0, sizeof(warn));
    pairs[0].key = tkey(1, 2);
    pairs[0].l = (struct xp_pair_state){.ts1 = 1, .ts2 = 2, .c = 3, .dc = 4, .mark = true};
    pairs[0].g = (struct xp_sync_global){5, 6, 7};
    xp_addr__parse("2001:db8::1", pairs[1].key.unit);
    xp_addr__parse("2001:2::", pairs[1].key.dst);
    pairs[1].l = (struct xp_pair_state){.ts1 = 0, .ts2 = UINT64_C(9223372036854775807),
                                        .c = UINT64_C(9223372036854775807), .dc = 0};
    pairs[1].g = (struct xp_sync_global){0, 0, 0};
    pairs[2].key = tkey(0xffffff, 0xffff);
    warn[0].key = tkey(3, 4);
    warn[0].rate_pps = 123456;
    warn[0].threshold_pps = 100000;
    warn[0].t_ns = 1700000000000000000ULL;
    warn[1] = warn[0];

    memset(&m, 0, sizeof(m));
    m.op = XP_OP_CHALLENGE;
    memset(m.nonce, 0xab, sizeof(m.nonce));
    roundtrip(&m);

    memset(&m, 0, sizeof(m));
    m.op = XP_OP_HELLO;
    snprintf(m.proxy_id, sizeof(m.proxy_id), "proxy-1.a_b");
    m.instance = 0xfedcba9876543210ULL;
    memset(m.nonce, 0x11, sizeof(m.nonce));
    memset(m.mac, 0x22, sizeof(m.mac));
    roundtrip(&m);

    memset(&m, 0, sizeof(m));
    m.op = XP_OP_WELCOME;
    memset(m.mac, 0x33, sizeof(m.mac));
    m.epoch = UINT64_MAX;
    m.max_pairs = 2048;
    m.max_line = 1 << 20;
    roundtrip(&m);

    memset(&m, 0, sizeof(m));
    m.op = XP_OP_SYNC;
    m.seq = 42;
    m.epoch = 7;
    m.since = 1000;
    m.pairs = pairs;
    m.n_pairs = 3;
    m.has_load = true;
    m.load = (struct xp_sync_load){.w_ppm = 250000, .pps = 1000, .drop_pps = 10, .pairs = 3};
    m.warnings = warn;
    m.n_warnings = 2;
    roundtrip(&m);
    m.n_pairs = 0;
    m.has_load = false;
    m.n_warnings = 0;
    roundtrip(&m);

    memset(&m, 0, sizeof(m));
    m.op = XP_OP_SYNC_OK;
    m.seq = 42;
    m.epoch = 7;
    m.upto = 99;
    m.more = true;
    m.clamped = 1;
    m.pairs = pairs;
    m.n_pairs = 2;
    m.down = pairs + 2;
    m.n_down = 1;
    pairs[0].l.mark = false;
    pairs[0].l.dc = 0;
    roundtrip(&m);

    memset(&m, 0, sizeof(m));
    m.op = XP_OP_STATS;
    roundtrip(&m);
    m.op = XP_OP_PING;
    roundtrip(&m);
    m.op = XP_OP_PONG;
    m.t_ns = 5;
    roundtrip(&m);
    memset(&m, 0, sizeof(m));
    m.op = XP_OP_ERROR;
    m.code = XP_SYNC_E_AUTH_FAILED;
    snprintf(m.message, sizeof(m.message), "quote \" backslash \\ newline \n tab \t done");
    m.seq = 3;
    roundtrip(&m);

    memset(&m, 0, sizeof(m));
    m.op = XP_OP_STATS_OK;
    m.stats_json = (char *)"{\"a\":1}";
    {
        struct xp_buf b;
        struct xp_sync_msg out;

        xp_buf__init(&b);
        CHECK_EQ(xp_sync_msg__encode(&m, &b), 0);
        CHECK_EQ(xp_sync_msg__decode(b.p, b.len - 1, &LIM, &out, NULL, 0), XP_SYNC_E_NONE);
        CHECK(out.stats_json && strcmp(out.stats_json, "{\"a\":1}") == 0);
        xp_sync_msg__release(&out);
        xp_buf__free(&b);
    }

    /* why (an operator's question about a pair) and its answer */
    memset(&m, 0, sizeof(m));
    m.op = XP_OP_WHY;
    CHECK_EQ(xp_addr__parse("198.18.0.1", m.why_key.unit), 0);
    CHECK_EQ(xp_addr__parse("2001:2::fe", m.why_key.dst), 0);
    {
        struct xp_buf b;
        struct xp_sync_msg out;

        xp_buf__init(&b);
        CHECK_EQ(xp_sync_msg__encode(&m, &b), 0);
        CHECK_EQ(xp_sync_msg__decode(b.p, b.len - 1, &LIM, &out, NULL, 0), XP_SYNC_E_NONE);
        CHECK_EQ(out.op, XP_OP_WHY);
        CHECK(memcmp(&out.why_key, &m.why_key, sizeof(m.why_key)) == 0);
        xp_sync_msg__release(&out);
        xp_buf__free(&b);
    }
    memset(&m, 0, sizeof(m));
    m.op = XP_OP_WHY_OK;
    m.stats_json = (char *)"{\"proxies\":[]}";
    {
        struct xp_buf b;
        struct xp_sync_msg out;

        xp_buf__init(&b);
        CHECK_EQ(xp_sync_msg__encode(&m, &b), 0);
        CHECK(strstr(b.p, "\"why\":{\"proxies\":[]}") != NULL);
        CHECK_EQ(xp_sync_msg__decode(b.p, b.len - 1, &LIM, &out, NULL, 0), XP_SYNC_E_NONE);
        CHECK(out.stats_json && strcmp(out.stats_json, "{\"proxies\":[]}") == 0);
        xp_sync_msg__release(&out);
        xp_buf__free(&b);
    }
}

static void expect(const char *line, enum xp_sync_err want)
{
    struct xp_sync_msg m;
    enum xp_sync_err e = dec(line, &m);

    if (e != want)
        fprintf(stderr, "for %s\n", line);
    CHECK_EQ(e, want);
    xp_sync_msg__release(&m);
}

#define HEX64 "0000000000000000000000000000000000000000000000000000000000000000"
#define PAIR "{\"unit\":\"10.0.0.1\",\"dst\":\"198.18.0.1\",\"ts1\":1,\"ts2\":2,\"c\":3,\"dc\":1,\"mark\":false}"
#define SYNC_PRE "{\"v\":2,\"op\":\"sync\",\"seq\":1,\"epoch\":\"0000000000000000\",\"since\":0,"

static void test_errors(void)
{
    /* valid baselines */
    expect(SYNC_PRE "\"pairs\":[" PAIR "]}", XP_SYNC_E_NONE);
    expect("{\"v\":2,\"op\":\"ping\"}", XP_SYNC_E_NONE);
    expect("{\"op\":\"ping\",\"v\":2}", XP_SYNC_E_NONE);

    /* bad_json */
    expect("", XP_SYNC_E_BAD_JSON);
    expect("garbage", XP_SYNC_E_BAD_JSON);
    expect("{\"v\":2,\"op\":\"ping\"", XP_SYNC_E_BAD_JSON);
    expect("{\"v\":2,\"op\":\"ping\"} trailing", XP_SYNC_E_BAD_JSON);
    expect("[1,2]", XP_SYNC_E_BAD_JSON);
    expect("{\"v\":2,\"v\":2,\"op\":\"ping\"}", XP_SYNC_E_BAD_JSON);
    expect("{\"v\":2,\"op\":\"sync\",\"seq\":99999999999999999999}", XP_SYNC_E_BAD_JSON);
    expect("\xff\xfe", XP_SYNC_E_BAD_JSON);

    /* bad_version */
    expect("{\"op\":\"ping\"}", XP_SYNC_E_BAD_VERSION);
    expect("{\"v\":3,\"op\":\"ping\"}", XP_SYNC_E_BAD_VERSION);
    expect("{\"v\":\"1\",\"op\":\"ping\"}", XP_SYNC_E_BAD_VERSION);

    /* unknown_op */
    expect("{\"v\":2,\"op\":\"flush\"}", XP_SYNC_E_UNKNOWN_OP);
    /* why: both addresses, nothing else */
    expect("{\"v\":2,\"op\":\"why\",\"unit\":\"10.0.0.1\"}", XP_SYNC_E_BAD_MESSAGE);
    expect("{\"v\":2,\"op\":\"why\",\"unit\":\"10.0.0.1\",\"dst\":\"x\"}", XP_SYNC_E_BAD_MESSAGE);
    expect("{\"v\":2,\"op\":\"why\",\"unit\":\"10.0.0.1\",\"dst\":\"10.0.0.2\",\"c\":1}",
           XP_SYNC_E_BAD_MESSAGE);
    expect("{\"v\":2,\"op\":\"why\",\"unit\":\"10.0.0.1\",\"dst\":\"10.0.0.2\"}", XP_SYNC_E_NONE);
    expect("{\"v\":2,\"op\":\"why_ok\",\"why\":[]}", XP_SYNC_E_BAD_MESSAGE);
    expect("{\"v\":2,\"op\":\"\"}", XP_SYNC_E_UNKNOWN_OP);

    /* bad_message: schema */
    expect("{\"v\":2}", XP_SYNC_E_BAD_MESSAGE);
    expect("{\"v\":2,\"op\":5}", XP_SYNC_E_BAD_MESSAGE);
    expect("{\"v\":2,\"op\":\"ping\",\"x\":1}", XP_SYNC_E_BAD_MESSAGE);
    expect("{\"v\":2,\"op\":\"challenge\",\"nonce\":\"00\",\"kx\":\"" HEX64 "\"}",
           XP_SYNC_E_BAD_MESSAGE);
    expect("{\"v\":2,\"op\":\"challenge\",\"nonce\":\"" HEX64 "\",\"kx\":\"" HEX64 "\"}",
           XP_SYNC_E_NONE);
    expect("{\"v\":2,\"op\":\"challenge\",\"nonce\":\"" HEX64 "\"}", XP_SYNC_E_BAD_MESSAGE);
    expect("{\"v\":2,\"op\":\"challenge\",\"nonce\":\"zz" HEX64 "\",\"kx\":\"" HEX64 "\"}",
           XP_SYNC_E_BAD_MESSAGE);
    expect("{\"v\":2,\"op\":\"hello\",\"proxy_id\":\"a b\",\"instance\":\"0000000000000000\","
           "\"nonce\":\"" HEX64 "\",\"kx\":\"" HEX64 "\",\"hmac\":\"" HEX64 "\"}",
           XP_SYNC_E_BAD_MESSAGE);
    expect("{\"v\":2,\"op\":\"hello\",\"proxy_id\":\"p1\",\"instance\":\"0000000000000000\","
           "\"nonce\":\"" HEX64 "\",\"kx\":\"" HEX64 "\",\"hmac\":\"" HEX64 "\"}",
           XP_SYNC_E_NONE);
    /* a hello without its key share (version 1's) */
    expect("{\"v\":2,\"op\":\"hello\",\"proxy_id\":\"p1\",\"instance\":\"0000000000000000\","
           "\"nonce\":\"" HEX64 "\",\"hmac\":\"" HEX64 "\"}",
           XP_SYNC_E_BAD_MESSAGE);
    expect("{\"v\":2,\"op\":\"hello\",\"proxy_id\":\"p1\",\"nonce\":\"" HEX64
           "\",\"hmac\":\"" HEX64 "\"}",
           XP_SYNC_E_BAD_MESSAGE);
    expect(SYNC_PRE "\"pairs\":{}}", XP_SYNC_E_BAD_MESSAGE);
    expect(SYNC_PRE "\"pairs\":[1]}", XP_SYNC_E_BAD_MESSAGE);
    expect("{\"v\":2,\"op\":\"sync\",\"seq\":0,\"epoch\":\"0000000000000000\",\"since\":0,"
           "\"pairs\":[]}",
           XP_SYNC_E_BAD_MESSAGE);
    expect(SYNC_PRE "\"pairs\":[{\"unit\":\"10.0.0.1\",\"dst\":\"198.18.0.1\",\"ts1\":3,"
                    "\"ts2\":2,\"c\":3,\"dc\":1,\"mark\":false}]}",
           XP_SYNC_E_BAD_MESSAGE); /* ts1 > ts2 */
    expect(SYNC_PRE "\"pairs\":[{\"unit\":\"10.0.0.256\",\"dst\":\"198.18.0.1\",\"ts1\":1,"
                    "\"ts2\":2,\"c\":3,\"dc\":1,\"mark\":false}]}",
           XP_SYNC_E_BAD_MESSAGE); /* address */
    expect(SYNC_PRE "\"pairs\":[{\"unit\":\"10.0.0.1\",\"dst\":\"198.18.0.1\",\"ts1\":-1,"
                    "\"ts2\":2,\"c\":3,\"dc\":1,\"mark\":false}]}",
           XP_SYNC_E_BAD_MESSAGE); /* negative */
    expect(SYNC_PRE "\"pairs\":[{\"unit\":\"10.0.0.1\",\"dst\":\"198.18.0.1\",\"ts1\":1.5,"
                    "\"ts2\":2,\"c\":3,\"dc\":1,\"mark\":false}]}",
           XP_SYNC_E_BAD_MESSAGE); /* real */
    expect(SYNC_PRE "\"pairs\":[{\"unit\":\"10.0.0.1\",\"dst\":\"198.18.0.1\",\"ts1\":1,"
                    "\"ts2\":2,\"c\":3,\"dc\":1,\"mark\":0}]}",
           XP_SYNC_E_BAD_MESSAGE); /* mark not boolean */
    expect(SYNC_PRE "\"pairs\":[{\"unit\":\"10.0.0.1\",\"dst\":\"198.18.0.1\",\"ts1\":1,"
                    "\"ts2\":2,\"c\":3,\"dc\":1,\"mark\":false,\"extra\":1}]}",
           XP_SYNC_E_BAD_MESSAGE); /* unknown key in a pair */
    expect(SYNC_PRE "\"pairs\":[],\"load\":{\"w_ppm\":1}}", XP_SYNC_E_BAD_MESSAGE);
    expect("{\"v\":2,\"op\":\"error\",\"code\":\"nope\",\"message\":\"x\"}",
           XP_SYNC_E_BAD_MESSAGE);
    expect("{\"v\":2,\"op\":\"error\",\"code\":\"busy\",\"message\":\"x\"}", XP_SYNC_E_NONE);

    /* too_many_pairs (limit 8 here) and too many warnings (limit 4) */
    expect(SYNC_PRE "\"pairs\":[" PAIR "," PAIR "," PAIR "," PAIR "," PAIR "," PAIR "," PAIR
                    "," PAIR "," PAIR "]}",
           XP_SYNC_E_TOO_MANY_PAIRS);
    {
        const char *w = "{\"unit\":\"10.0.0.1\",\"dst\":\"198.18.0.1\",\"rate_pps\":1,"
                        "\"threshold_pps\":1,\"t\":1}";
        char line[2048];

        snprintf(line, sizeof(line), SYNC_PRE "\"pairs\":[],\"warnings\":[%s,%s,%s,%s,%s]}",
                 w, w, w, w, w);
        expect(line, XP_SYNC_E_TOO_MANY_PAIRS);
    }
}

static void test_corpus(void)
{
    DIR *d = opendir(XP_SYNC_CORPUS_DIR);
    struct dirent *de;
    unsigned n = 0;

    if (!d) {
        fprintf(stderr, "no corpus at %s\n", XP_SYNC_CORPUS_DIR);
        failures++;
        return;
    }
    while ((de = readdir(d))) {
        char path[1024], buf[65536];
        struct xp_sync_msg m;
        size_t len;
        FILE *f;

        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", XP_SYNC_CORPUS_DIR, de->d_name);
        f = fopen(path, "rb");
        if (!f)
            continue;
        len = fread(buf, 1, sizeof(buf), f);
        fclose(f);
        while (len && buf[len - 1] == '\n')
            len--;
        /* seeds named ok_* must decode; err_* must not */
        {
            enum xp_sync_err e = xp_sync_msg__decode(buf, len, &LIM, &m, NULL, 0);

            if (strncmp(de->d_name, "ok_", 3) == 0 && e) {
                fprintf(stderr, "corpus %s: %s\n", de->d_name, xp_sync_err__name(e));
                failures++;
            }
            if (strncmp(de->d_name, "err_", 4) == 0 && !e) {
                fprintf(stderr, "corpus %s decoded\n", de->d_name);
                failures++;
            }
        }
        xp_sync_msg__release(&m);
        n++;
    }
    closedir(d);
    CHECK(n > 0);
}

int main(void)
{
    test_roundtrip();
    test_errors();
    test_corpus();
    return xp_check_report("test_sync_codec");
}
