// SPDX-License-Identifier: GPL-2.0-only
/*
 * src/announce: the route set against the commands it writes (dedup of RTBH routes over
 * pairs, reference counts, the cap and its promotion, the token bucket, coalescing, the
 * forget-all of a reconnect, malformed events) and the notify hook with a real script
 * (arguments, environment, stdin, a hanging run killed at its timeout, the queue bound).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "src/announce/announce.h"
#include "src/util/clock.h"
#include "src/util/hexaddr.h"
#include "xp_check.h"

#define MAX_LINES 256

struct sink {
    char lines[MAX_LINES][512];
    unsigned n;
    bool fail;
};

static int sink_fn(void *ctx, const char *line)
{
    struct sink *s = ctx;

    if (s->fail)
        return -EIO;
    if (s->n < MAX_LINES)
        snprintf(s->lines[s->n], sizeof(s->lines[0]), "%s", line);
    s->n++;
    return 0;
}

static json_t *ev(const char *kind, const char *unit, const char *dst, const char *reason,
                  int queue)
{
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:f,s:i}", "event", kind, "proxy_id", "t", "unit", unit,
                          "dst", dst, "time", 1.0, "queue", queue);

    if (reason)
        json_object_set_new(o, "reason", json_string(reason));
    return o;
}

static int feed(struct xp_announce *a, const char *kind, const char *unit, const char *dst,
                const char *reason, int queue)
{
    json_t *o = ev(kind, unit, dst, reason, queue);
    int ret = xp_announce__event(a, o);

    json_decref(o);
    return ret;
}

static unsigned count_prefix(const struct sink *s, unsigned from, const char *prefix)
{
    unsigned n = 0;

    for (unsigned i = from; i < s->n && i < MAX_LINES; i++)
        n += strncmp(s->lines[i], prefix, strlen(prefix)) == 0;
    return n;
}

static void test_format(void)
{
    struct xp_announce_conf c;
    uint8_t u[16], d[16];
    char buf[512];
    char err[128];

    xp_announce_conf__defaults(&c);
    CHECK_EQ(xp_announce_conf__check(&c, err, sizeof(err)), 0);
    xp_addr__parse("198.18.0.2", u);
    xp_addr__parse("198.18.0.254", d);
    CHECK(xp_announce__format(&c, XP_ROUTE_FLOW, u, d, true, buf, sizeof(buf)) > 0);
    CHECK_MSG(strcmp(buf, "announce flow route { match { source 198.18.0.2/32; destination "
                          "198.18.0.254/32; } then { discard; } }") == 0,
              "got %s", buf);
    c.flow_rate_bps = 125000;
    xp_announce__format(&c, XP_ROUTE_FLOW, u, d, false, buf, sizeof(buf));
    CHECK_MSG(strcmp(buf, "withdraw flow route { match { source 198.18.0.2/32; destination "
                          "198.18.0.254/32; } then { rate-limit 125000; } }") == 0,
              "got %s", buf);
    xp_announce__format(&c, XP_ROUTE_RTBH, u, d, true, buf, sizeof(buf));
    CHECK_MSG(strcmp(buf, "announce route 198.18.0.254/32 next-hop self community [65535:666]") ==
                  0,
              "got %s", buf);
    /* IPv6: the unit is a /64 (the proxy names it by its masked address), the target a /128 */
    xp_addr__parse("2001:2::1:2:3:4", u);
    xp_addr__parse("2001:2::fe", d);
    snprintf(c.next_hop6, sizeof(c.next_hop6), "100::1");
    xp_announce__format(&c, XP_ROUTE_FLOW, u, d, true, buf, sizeof(buf));
    CHECK_MSG(strstr(buf, "source 2001:2::/64; destination 2001:2::fe/128;") != NULL, "got %s",
              buf);
    xp_announce__format(&c, XP_ROUTE_RTBH, u, d, true, buf, sizeof(buf));
    CHECK_MSG(strcmp(buf, "announce route 2001:2::fe/128 next-hop 100::1 community [65535:666]") ==
                  0,
              "got %s", buf);

    /* bad configurations are refused with a message */
    xp_announce_conf__defaults(&c);
    snprintf(c.next_hop4, sizeof(c.next_hop4), "2001:2::1");
    CHECK_EQ(xp_announce_conf__check(&c, err, sizeof(err)), -EINVAL);
    xp_announce_conf__defaults(&c);
    snprintf(c.community, sizeof(c.community), "65535:666 x");
    CHECK_EQ(xp_announce_conf__check(&c, err, sizeof(err)), -EINVAL);
    snprintf(c.community, sizeof(c.community), "65536:1");
    CHECK_EQ(xp_announce_conf__check(&c, err, sizeof(err)), -EINVAL);
    snprintf(c.community, sizeof(c.community), "65535:666 65000:1");
    CHECK_EQ(xp_announce_conf__check(&c, err, sizeof(err)), 0);
    c.rate = 0;
    CHECK_EQ(xp_announce_conf__check(&c, err, sizeof(err)), -EINVAL);
}

static void test_dedup_refcount(void)
{
    struct xp_announce_conf c;
    struct xp_announce_stats st;
    struct sink s = { 0 };
    struct xp_announce *a;
    uint64_t t = XP_NSEC_PER_SEC;

    xp_announce_conf__defaults(&c);
    a = xp_announce__create(&c, sink_fn, &s, t);
    CHECK(a != NULL);
    if (!a)
        return;
    /* three units blocked for dst_rate towards one destination: one RTBH route */
    CHECK_EQ(feed(a, "block", "198.18.0.1", "198.18.1.1", "dst_rate", 0), 0);
    CHECK_EQ(feed(a, "block", "198.18.0.2", "198.18.1.1", "dst_rate", 0), 0);
    CHECK_EQ(feed(a, "block", "198.18.0.3", "198.18.1.1", "dst_rate", 1), 0);
    /* and one unit_rate pair: a FlowSpec rule */
    CHECK_EQ(feed(a, "block", "198.18.0.9", "198.18.1.2", "unit_rate", 0), 0);
    CHECK_EQ(xp_announce__pace(a, t), 0);
    CHECK_EQ(s.n, 2);
    CHECK_EQ(count_prefix(&s, 0, "announce route 198.18.1.1/32"), 1);
    CHECK_EQ(count_prefix(&s, 0, "announce flow route { match { source 198.18.0.9/32"), 1);
    /* a duplicate block and an overload change nothing */
    CHECK_EQ(feed(a, "block", "198.18.0.1", "198.18.1.1", "dst_rate", 0), 1);
    CHECK_EQ(feed(a, "overload", "198.18.0.1", "198.18.1.1", NULL, 0), 1);
    /* the route stays until the last of its blocks ends */
    feed(a, "unblock", "198.18.0.1", "198.18.1.1", NULL, 0);
    feed(a, "unblock", "198.18.0.3", "198.18.1.1", NULL, 1);
    xp_announce__pace(a, t);
    CHECK_EQ(s.n, 2);
    feed(a, "unblock", "198.18.0.2", "198.18.1.1", NULL, 0);
    xp_announce__pace(a, t);
    CHECK_EQ(s.n, 3);
    CHECK_EQ(count_prefix(&s, 2, "withdraw route 198.18.1.1/32 next-hop self"), 1);
    /* an unblock we never saw a block for (a reconnect in between) is counted */
    CHECK_EQ(feed(a, "unblock", "198.18.0.77", "198.18.1.1", NULL, 0), 1);
    /* malformed events are refused and counted */
    CHECK_EQ(feed(a, "block", "not-an-address", "198.18.1.1", "dst_rate", 0), -EINVAL);
    CHECK_EQ(feed(a, "block", "198.18.0.5", "2001:2::1", "dst_rate", 0), -EINVAL);
    CHECK_EQ(feed(a, "block", "198.18.0.5", "198.18.1.1", "whatever", 0), -EINVAL);
    xp_announce__stats(a, &st);
    CHECK_EQ(st.unblock_unknown, 1);
    CHECK_EQ(st.events_bad, 3);
    CHECK_EQ(st.block_duplicate, 1);
    CHECK_EQ(st.events_ignored, 1);
    CHECK_EQ(st.routes_announced, 1);
    CHECK_EQ(st.pairs, 1);
    /* a lost stream: every route withdrawn */
    xp_announce__forget_all(a);
    xp_announce__pace(a, t);
    CHECK_EQ(count_prefix(&s, 3, "withdraw flow route { match { source 198.18.0.9/32"), 1);
    xp_announce__stats(a, &st);
    CHECK_EQ(st.routes_announced, 0);
    CHECK_EQ(st.pairs, 0);
    CHECK_EQ(st.forgets, 1);
    xp_announce__destroy(a);
}

static void test_cap(void)
{
    struct xp_announce_conf c;
    struct xp_announce_stats st;
    struct sink s = { 0 };
    struct xp_announce *a;
    uint64_t t = XP_NSEC_PER_SEC;
    char u[32];

    xp_announce_conf__defaults(&c);
    c.max_routes = 3;
    a = xp_announce__create(&c, sink_fn, &s, t);
    if (!a) {
        CHECK(a != NULL);
        return;
    }
    for (int i = 0; i < 5; i++) {
        snprintf(u, sizeof(u), "198.18.0.%d", 10 + i);
        feed(a, "block", u, "198.18.1.1", "unit_rate", 0);
    }
    xp_announce__pace(a, t);
    CHECK_EQ(s.n, 3);
    xp_announce__stats(a, &st);
    CHECK_EQ(st.capped, 2);
    CHECK_EQ(st.routes_capped, 2);
    CHECK_EQ(st.routes_announced, 3);
    /* a capped block that ends costs nothing; one announced that ends makes room */
    feed(a, "unblock", "198.18.0.14", "198.18.1.1", NULL, 0);
    feed(a, "unblock", "198.18.0.10", "198.18.1.1", NULL, 0);
    xp_announce__pace(a, t);
    CHECK_EQ(s.n, 5);
    CHECK_EQ(count_prefix(&s, 3, "withdraw flow route { match { source 198.18.0.10/32"), 1);
    CHECK_EQ(count_prefix(&s, 4, "announce flow route { match { source 198.18.0.13/32"), 1);
    xp_announce__stats(a, &st);
    CHECK_EQ(st.routes_capped, 0);
    CHECK_EQ(st.routes_announced, 3);
    CHECK_EQ(st.routes_wanted, 3);
    xp_announce__destroy(a);
}

static void test_rate(void)
{
    struct xp_announce_conf c;
    struct xp_announce_stats st;
    struct sink s = { 0 };
    struct xp_announce *a;
    uint64_t t = 10 * XP_NSEC_PER_SEC, next;
    char u[32];

    xp_announce_conf__defaults(&c);
    c.rate = 10;
    c.burst = 2;
    a = xp_announce__create(&c, sink_fn, &s, t);
    if (!a) {
        CHECK(a != NULL);
        return;
    }
    for (int i = 0; i < 6; i++) {
        snprintf(u, sizeof(u), "198.18.0.%d", 10 + i);
        feed(a, "block", u, "198.18.1.1", "unit_rate", 0);
    }
    next = xp_announce__pace(a, t);
    CHECK_EQ(s.n, 2); /* the burst */
    CHECK_MSG(next > t && next <= t + XP_NSEC_PER_SEC / 10 + 1, "next in %llu ns",
              (unsigned long long)(next - t));
    xp_announce__pace(a, t + XP_NSEC_PER_SEC / 20);
    CHECK_EQ(s.n, 2); /* half a token */
    xp_announce__pace(a, t + XP_NSEC_PER_SEC / 10);
    CHECK_EQ(s.n, 3);
    /* a pending route whose block ends is never sent: coalesced */
    feed(a, "unblock", "198.18.0.15", "198.18.1.1", NULL, 0);
    xp_announce__pace(a, t + XP_NSEC_PER_SEC);
    CHECK_EQ(s.n, 5);
    CHECK_EQ(count_prefix(&s, 0, "announce flow route { match { source 198.18.0.15/32"), 0);
    xp_announce__stats(a, &st);
    CHECK_EQ(st.coalesced, 2);
    CHECK_EQ(st.pending, 0);
    /* a failing sink: counted, retried */
    feed(a, "unblock", "198.18.0.10", "198.18.1.1", NULL, 0);
    s.fail = true;
    xp_announce__pace(a, t + 2 * XP_NSEC_PER_SEC);
    s.fail = false;
    xp_announce__pace(a, t + 3 * XP_NSEC_PER_SEC);
    xp_announce__stats(a, &st);
    CHECK_EQ(st.write_errors, 1);
    CHECK_EQ(st.withdrawn, 1);
    /* flush ignores the bucket */
    xp_announce__forget_all(a);
    xp_announce__flush(a);
    xp_announce__stats(a, &st);
    CHECK_EQ(st.routes_announced, 0);
    CHECK_EQ(st.withdrawn, 5);
    xp_announce__destroy(a);
}

static json_t *flow_row(const char *unit, const char *dst, int queue, const char *verdict)
{
    return json_pack("{s:s,s:s,s:i,s:f,s:s}", "unit", unit, "dst", dst, "queue", queue, "rate_pps",
                     900.0, "verdict", verdict);
}

/* Resync from the flows op: blocks that began before we followed. */
static void test_seed(void)
{
    struct xp_announce_conf c;
    struct xp_announce_stats st;
    struct sink s = { 0 };
    struct xp_announce *a;
    uint64_t t = XP_NSEC_PER_SEC;
    json_t *flows;

    xp_announce_conf__defaults(&c);
    a = xp_announce__create(&c, sink_fn, &s, t);
    if (!a) {
        CHECK(a != NULL);
        return;
    }
    flows = json_array();
    json_array_append_new(flows, flow_row("198.18.0.2", "198.18.0.254", 0, "drop_unit_rate"));
    json_array_append_new(flows, flow_row("198.18.0.3", "198.18.0.254", 0, "forward"));
    json_array_append_new(flows, flow_row("198.18.0.4", "198.18.0.254", 1, "drop_unit_rate"));
    json_array_append_new(flows, flow_row("bad", "198.18.0.254", 1, "drop_unit_rate"));
    CHECK_EQ(xp_announce__seed(a, flows), 2);
    json_decref(flows);
    xp_announce__pace(a, t);
    CHECK_EQ(s.n, 2);
    CHECK_EQ(count_prefix(&s, 0, "announce flow route { match { source 198.18.0.2/32"), 1);
    CHECK_EQ(count_prefix(&s, 0, "announce flow route { match { source 198.18.0.4/32"), 1);
    /* its block event (a race with the snapshot) makes .2 an ordinary block, no duplicate */
    CHECK_EQ(feed(a, "block", "198.18.0.2", "198.18.0.254", "unit_rate", 0), 0);
    /* .4's unblock came before the next snapshot: the snapshot no longer shows it */
    flows = json_array();
    CHECK_EQ(xp_announce__seed(a, flows), 0);
    json_decref(flows);
    xp_announce__pace(a, t);
    CHECK_EQ(s.n, 3);
    CHECK_EQ(count_prefix(&s, 2, "withdraw flow route { match { source 198.18.0.4/32"), 1);
    xp_announce__stats(a, &st);
    CHECK_EQ(st.pairs, 1); /* .2, from its event now: a snapshot does not drop it */
    CHECK_EQ(st.pairs_seeded, 0);
    CHECK_EQ(st.block_duplicate, 0);
    CHECK_EQ(st.seeded, 2);
    CHECK_EQ(st.events_bad, 1);
    feed(a, "unblock", "198.18.0.2", "198.18.0.254", NULL, 0);
    xp_announce__pace(a, t);
    CHECK_EQ(count_prefix(&s, 3, "withdraw flow route { match { source 198.18.0.2/32"), 1);
    /* a seeded block ends by its unblock event too */
    flows = json_array();
    json_array_append_new(flows, flow_row("198.18.0.5", "198.18.0.254", 0, "drop_unit_rate"));
    CHECK_EQ(xp_announce__seed(a, flows), 1);
    json_decref(flows);
    CHECK_EQ(feed(a, "unblock", "198.18.0.5", "198.18.0.254", NULL, 0), 0);
    xp_announce__stats(a, &st);
    CHECK_EQ(st.pairs, 0);
    CHECK_EQ(st.unblock_unknown, 0);
    CHECK_EQ(xp_announce__seed(a, NULL), -EINVAL);
    /* destination-test blocks are learnt too: one RTBH route for the destination */
    flows = json_array();
    json_array_append_new(flows, flow_row("198.18.0.6", "198.18.0.253", 0, "drop_dst_rate"));
    json_array_append_new(flows, flow_row("198.18.0.7", "198.18.0.253", 0, "drop_dst_rate"));
    json_array_append_new(flows, flow_row("198.18.0.8", "198.18.0.253", 0, "drop_manual"));
    CHECK_EQ(xp_announce__seed(a, flows), 2);
    json_decref(flows);
    xp_announce__pace(a, t);
    CHECK_EQ(count_prefix(&s, 0, "announce route 198.18.0.253/32"), 1);
    /* operator blocks (their own events) are not announced: counted as ignored */
    xp_announce__stats(a, &st);
    CHECK_EQ(feed(a, "block", "198.18.0.9", "198.18.0.253", "operator", 0), 1);
    CHECK_EQ(feed(a, "unblock", "198.18.0.9", "198.18.0.253", "operator", 0), 1);
    /* a queue no proxy has is malformed, not a pair */
    CHECK_EQ(feed(a, "block", "198.18.0.9", "198.18.0.253", "unit_rate", -1), -EINVAL);
    CHECK_EQ(feed(a, "block", "198.18.0.9", "198.18.0.253", "unit_rate", 70000), -EINVAL);
    {
        struct xp_announce_stats st2;

        xp_announce__stats(a, &st2);
        CHECK_EQ(st2.events_ignored, st.events_ignored + 2);
        CHECK_EQ(st2.events_bad, st.events_bad + 2);
    }
    xp_announce__destroy(a);
}

static void wait_runs(struct xp_notify *n, unsigned ms)
{
    struct xp_notify_stats st;

    for (unsigned i = 0; i < ms / 10; i++) {
        xp_notify__service(n, xp_mono_ns());
        xp_notify__stats(n, &st);
        if (!st.running && !st.queued)
            return;
        usleep(10000);
    }
}

static void test_notify(void)
{
    char dir[] = "/tmp/xp-test-announce.XXXXXX", script[128], out[160], buf[1024];
    struct xp_notify_conf nc = { .timeout_ms = 300, .max_running = 2, .max_queued = 3 };
    struct xp_notify_stats st;
    struct xp_notify *n;
    json_t *o;
    FILE *f;
    uint64_t t0;

    if (!mkdtemp(dir)) {
        CHECK_MSG(0, "mkdtemp: %s", strerror(errno));
        return;
    }
    snprintf(script, sizeof(script), "%s/notify.sh", dir);
    snprintf(out, sizeof(out), "%s/out", dir);
    f = fopen(script, "w");
    if (!f) {
        CHECK(f != NULL);
        return;
    }
    /* "hang" events sleep past the timeout (in a child: the group must die, not just sh) */
    fprintf(f,
            "#!/bin/sh\nread -r line\n"
            "echo \"$1 $2 $3 $4 $XPRO_EVENT $XPRO_REASON $XPRO_QUEUE $line\" >> %s\n"
            "[ \"$4\" = hang ] && sleep 30\nexit 0\n",
            out);
    fclose(f);
    chmod(script, 0755);
    nc.script = script;
    n = xp_notify__create(&nc);
    if (!n) {
        CHECK(n != NULL);
        return;
    }
    o = ev("block", "198.18.0.2", "198.18.0.254", "unit_rate", 3);
    xp_notify__event(n, o, "{\"event\":\"block\"}", xp_mono_ns());
    json_decref(o);
    wait_runs(n, 3000);
    f = fopen(out, "r");
    CHECK(f != NULL);
    if (f) {
        CHECK(fgets(buf, sizeof(buf), f) != NULL);
        CHECK_MSG(strcmp(buf, "block 198.18.0.2 198.18.0.254 unit_rate block unit_rate 3 "
                              "{\"event\":\"block\"}\n") == 0,
                  "got %s", buf);
        fclose(f);
    }
    xp_notify__stats(n, &st);
    CHECK_EQ(st.ok, 1);

    /* two hanging runs fill the slots, three wait, the sixth is dropped */
    t0 = xp_mono_ns();
    for (int i = 0; i < 6; i++) {
        o = ev("block", "198.18.0.2", "198.18.0.254", "hang", i);
        xp_notify__event(n, o, "{}", xp_mono_ns());
        json_decref(o);
    }
    xp_notify__stats(n, &st);
    CHECK_EQ(st.running, 2);
    CHECK_EQ(st.queued, 3);
    CHECK_EQ(st.dropped, 1);
    wait_runs(n, 5000);
    xp_notify__stats(n, &st);
    CHECK_EQ(st.killed, 5);
    CHECK_EQ(st.running, 0);
    /* 5 runs, 2 at a time, 300 ms each: about 900 ms, far from the 30 s they asked for */
    CHECK_MSG(xp_mono_ns() - t0 < 4 * XP_NSEC_PER_SEC, "took %llu ms",
              (unsigned long long)((xp_mono_ns() - t0) / 1000000));
    xp_notify__destroy(n);
    unlink(out);
    unlink(script);
    rmdir(dir);

    nc.script = "relative.sh";
    CHECK(xp_notify__create(&nc) == NULL);
}

/*
 * xpro-announce's --help and its option table agree: every option the help names is one
 * getopt knows (an option documented but missing from the table once shipped).
 */
static void test_help_options(void)
{
    char cmd[512], line[512], opt[64];
    unsigned n = 0;
    FILE *help;

    snprintf(cmd, sizeof(cmd), "%s --help", XP_ANNOUNCE_BIN);
    help = popen(cmd, "r");
    if (!help) {
        CHECK_MSG(0, "popen %s: %s", cmd, strerror(errno));
        return;
    }
    while (fgets(line, sizeof(line), help)) {
        const char *p = strstr(line, "--");
        FILE *run;
        char out[512];
        bool known = true;

        if (!p || sscanf(p, "%63[-a-z0-9]", opt) != 1 || strlen(opt) < 3)
            continue;
        n++;
        /* a bogus value and a stray argument: exit 2 at once, "unrecognized" only when unknown */
        snprintf(cmd, sizeof(cmd), "%s %s /nonexistent unexpected </dev/null 2>&1", XP_ANNOUNCE_BIN,
                 opt);
        if (strcmp(opt, "--help") == 0 || strcmp(opt, "--version") == 0)
            continue;
        run = popen(cmd, "r");
        if (!run)
            continue;
        while (fgets(out, sizeof(out), run))
            if (strstr(out, "unrecognized option"))
                known = false;
        pclose(run);
        CHECK_MSG(known, "%s is in --help but not in the option table", opt);
    }
    pclose(help);
    CHECK_MSG(n >= 20, "only %u options found in --help", n);
}

int main(void)
{
    test_format();
    test_dedup_refcount();
    test_cap();
    test_rate();
    test_seed();
    test_notify();
    test_help_options();
    return xp_check_report("test_announce");
}
