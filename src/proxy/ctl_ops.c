// SPDX-License-Identifier: GPL-2.0-only
/*
 * The control socket's operations (docs/operators.md): stats, flows,
 * operator blocks, reload, events. They run on the control thread; what a
 * worker owns (its pair table, its pipeline) is reached through the
 * worker's mailbox, in slices that keep each call short.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "src/ctl/ctl.h"
#include "src/gateway/gateway.h"
#include "src/parse/parse.h"
#include "src/pipeline/pipeline.h"
#include "src/prom/prom.h"
#include "src/proxy/op_blocks.h"
#include "src/proxy/proxy.h"
#include "src/util/hexaddr.h"
#include "src/util/log.h"
#include "src/util/clock.h"

/* ---- flows ---------------------------------------------------------------------------- */

#define FLOWS_SLICE 1024

struct flows_arg {
    struct xp_pipeline *pl;
    uint32_t cursor;
    bool refused;           /* this call: the refused pairs, not a slice of the table */
    struct xp_flow_record rec[FLOWS_SLICE];
    unsigned n;
};

static void scan_on_worker(struct xp_worker *w, void *arg)
{
    struct flows_arg *fa = arg;

    (void)w;
    if (fa->refused)
        fa->n = xp_pipeline__refused(fa->pl, fa->rec, FLOWS_SLICE, xp_real_ns());
    else
        fa->n = xp_pipeline__scan_flows(fa->pl, &fa->cursor, 65536, fa->rec, FLOWS_SLICE,
                                        xp_real_ns(), xp_mono_ns());
}

struct flow_row {
    struct xp_flow_record f;
    double rate;
    unsigned queue;
};

static double pair_rate(const struct xp_pair_state *st)
{
    return st->ts2 > st->ts1 ? st->c * 1e9 / (double)(st->ts2 - st->ts1) : 0.0;
}

static int by_rate_desc(const void *a, const void *b)
{
    double x = ((const struct flow_row *)a)->rate, y = ((const struct flow_row *)b)->rate;

    return (x < y) - (x > y);
}

/* Keep row in rows[0..*n) when it is among the top heaviest: a bounded selection. */
static void keep_top(struct flow_row *rows, unsigned *n, unsigned top, const struct flow_row *row)
{
    unsigned slot = *n;

    if (*n == top) {
        slot = 0;
        for (unsigned k = 1; k < *n; k++)
            if (rows[k].rate < rows[slot].rate)
                slot = k;
        if (rows[slot].rate >= row->rate)
            return;
    } else {
        (*n)++;
    }
    rows[slot] = *row;
}

static void take_rows(struct flow_row *rows, unsigned *n, unsigned top,
                      const struct flows_arg *fa, unsigned q)
{
    for (unsigned i = 0; i < fa->n; i++) {
        struct flow_row row = { .f = fa->rec[i], .rate = pair_rate(&fa->rec[i].rec.st),
                                .queue = q };

        keep_top(rows, n, top, &row);
    }
}

/*
 * The N heaviest pairs over all workers, by their window's rate, each with
 * the verdict the proxy applies to it now: an operator block first (it
 * stops the pair before the policer sees it), then the pipeline's (a block
 * and its test, or the tests on the pair's state); then the pairs the full
 * table refused lately, which no table holds.
 */
static json_t *ctl_flows(struct proxy *px, json_t *req, char *err, size_t errlen)
{
    json_int_t top = 20;
    struct flow_row *rows;
    struct flows_arg *fa;
    unsigned n = 0;
    double now = xp_real_s();
    json_t *arr;

    if (!px->dst) {
        snprintf(err, errlen, "no policing configured (policer.unit_prefixes is empty)");
        return NULL;
    }
    if (json_object_get(req, "top")) {
        if (!json_is_integer(json_object_get(req, "top")) ||
            (top = json_integer_value(json_object_get(req, "top"))) < 1 || top > 10000) {
            snprintf(err, errlen, "top: expected an integer 1..10000");
            return NULL;
        }
    }
    rows = calloc((size_t)top, sizeof(*rows));
    fa = malloc(sizeof(*fa));
    if (!rows || !fa) {
        free(rows);
        free(fa);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    for (unsigned q = 0; q < px->cfg->queues; q++) {
        fa->pl = px->pipelines[q];
        fa->cursor = 0;
        fa->refused = false;
        /* Slices keep each mailbox call short, whatever the table size. */
        while (fa->cursor < xp_pipeline__capacity(fa->pl)) {
            xp_worker__call(&px->workers[q], scan_on_worker, fa);
            take_rows(rows, &n, (unsigned)top, fa, q);
        }
        fa->refused = true;
        xp_worker__call(&px->workers[q], scan_on_worker, fa);
        take_rows(rows, &n, (unsigned)top, fa, q);
    }
    qsort(rows, n, sizeof(*rows), by_rate_desc);
    arr = json_array();
    for (unsigned k = 0; k < n; k++) {
        const struct xp_pair_record *r = &rows[k].f.rec;
        const struct xp_op_block *ob = xp_op_blocks__match(px->op_blocks, r->key.unit,
                                                           r->key.dst, now);
        enum xp_flow_verdict v = ob ? XP_FLOW_DROP_MANUAL : rows[k].f.verdict;
        char unit[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
        const char *ug = xp_conf_policer__group_name(&px->cfg->pol, false, rows[k].f.unit_group);
        const char *dg = xp_conf_policer__group_name(&px->cfg->pol, true, rows[k].f.dst_group);

        xp_addr__format(r->key.unit, unit, sizeof(unit));
        xp_addr__format(r->key.dst, dst, sizeof(dst));
        /* the groups of the configuration the workers run (a reload may land between) */
        json_array_append_new(arr, json_pack("{s:s,s:s,s:i,s:f,s:I,s:I,s:f,s:s,s:b,s:s,s:s}",
            "unit", unit, "dst", dst, "queue", (int)rows[k].queue,
            "rate_pps", rows[k].rate, "count", (json_int_t)r->st.c,
            "local", (json_int_t)r->st.dc, "window_s", (r->st.ts2 - r->st.ts1) / 1e9,
            "verdict", xp_flow_verdict_name(v), "blocked", ob || rows[k].f.blocked,
            "unit_group", ug ? ug : "default", "dst_group", dg ? dg : "default"));
    }
    free(rows);
    free(fa);
    return json_pack("{s:o}", "flows", arr);
}

/* ---- why ------------------------------------------------------------------------------ */

static int key_addr(struct proxy *px, const char *text, const char *name, bool unit,
                    uint8_t out[16], char *err, size_t errlen);

struct why_arg {
    struct xp_pipeline *pl;
    struct xp_policer_key key;
    struct xp_pipeline_why out;
};

static void why_on_worker(struct xp_worker *w, void *arg)
{
    struct why_arg *wa = arg;

    (void)w;
    xp_pipeline__why(wa->pl, &wa->key, xp_real_ns(), xp_mono_ns(), &wa->out);
}

static const char *verdict_word(enum xp_verdict v)
{
    return v == XP_VERDICT_DROP_UNIT ? "drop_unit_rate"
         : v == XP_VERDICT_DROP_DST  ? "drop_dst_rate"
                                     : "forward";
}

/* The sentence that says which test gives the verdict, with its numbers. */
static json_t *because(const struct xp_pipeline_why *w)
{
    const struct xp_policer_evidence *e = &w->ev;
    double span = e->ts2 > e->ts1 ? (e->ts2 - e->ts1) / 1e9 : 0;
    double dspan = e->dst_ts2 > e->dst_ts1 ? (e->dst_ts2 - e->dst_ts1) / 1e9 : 0;

    if (!w->tracked)
        return json_string("no pair: this proxy has seen no packet of it lately (or another "
                           "proxy's unit not synced here)");
    if (w->verdict == XP_VERDICT_DROP_UNIT)
        return json_sprintf("pair rate %llu pps > T_F1 %llu pps over a window of %.3f s "
                            "(> T_T2 %.3f s)", (unsigned long long)e->rate_pps,
                            (unsigned long long)e->t_f1_pps, span, e->t_t2_ns / 1e9);
    if (w->verdict == XP_VERDICT_DROP_DST)
        return json_sprintf("destination rate %llu pps > T_F2 %llu pps over a window of %.3f s "
                            "(> T_T3 %.3f s); the pair's own %llu pps is within T_F1 %llu pps",
                            (unsigned long long)e->dst_rate_pps,
                            (unsigned long long)e->t_f2_pps, dspan, e->t_t3_ns / 1e9,
                            (unsigned long long)e->rate_pps, (unsigned long long)e->t_f1_pps);
    if (e->ts2 && span <= e->t_t2_ns / 1e9 && e->rate_pps > e->t_f1_pps)
        return json_sprintf("window %.3f s not yet longer than T_T2 %.3f s", span,
                            e->t_t2_ns / 1e9);
    return json_sprintf("pair rate %llu pps <= T_F1 %llu pps, destination rate %llu pps <= "
                        "T_F2 %llu pps (or their windows within T_T2/T_T3, or idle)",
                        (unsigned long long)e->rate_pps, (unsigned long long)e->t_f1_pps,
                        (unsigned long long)e->dst_rate_pps, (unsigned long long)e->t_f2_pps);
}

/*
 * Why a pair is (or is not) dropped now: the numbers of the worker that holds it, read on
 * that worker (the policer's own state, between two bursts), the block that stands, an
 * operator block first. Another worker's answer only adds the destination (the same shared
 * aggregate for all).
 */
static json_t *ctl_why(struct proxy *px, json_t *req, char *err, size_t errlen)
{
    const char *unit_text = json_string_value(json_object_get(req, "unit"));
    const char *dst_text = json_string_value(json_object_get(req, "dst"));
    const struct xp_op_block *ob;
    struct why_arg *wa;
    struct xp_policer_key key;
    struct xp_pipeline_why best;
    char unit[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
    int queue = -1;
    double now = xp_real_s();
    json_t *o, *ev, *pair;

    if (!px->dst) {
        snprintf(err, errlen, "no policing configured (policer.unit_prefixes is empty)");
        return NULL;
    }
    wa = calloc(1, sizeof(*wa));
    if (!wa) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (key_addr(px, unit_text, "unit", true, wa->key.unit, err, errlen) ||
        key_addr(px, dst_text, "dst", false, wa->key.dst, err, errlen)) {
        free(wa);
        return NULL;
    }
    memset(&best, 0, sizeof(best));
    for (unsigned q = 0; q < px->cfg->queues; q++) {
        wa->pl = px->pipelines[q];
        xp_worker__call(&px->workers[q], why_on_worker, wa);
        /* the worker holding the pair (one at most: owners), else the first answer */
        if (queue < 0 || (wa->out.tracked && !best.tracked)) {
            best = wa->out;
            queue = (int)q;
        }
        if (best.tracked)
            break;
    }
    key = wa->key;
    free(wa);
    xp_addr__format(key.unit, unit, sizeof(unit));
    xp_addr__format(key.dst, dst, sizeof(dst));
    ob = xp_op_blocks__match(px->op_blocks, key.unit, key.dst, now);
    o = json_pack("{s:s,s:s,s:s,s:b,s:b,s:i}", "unit", unit, "dst", dst, "verdict",
                  ob ? "drop_manual" : verdict_word(best.verdict), "blocked",
                  ob != NULL || best.blocked, "tracked", best.tracked, "queue", queue);
    if (!o) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    json_object_set_new(o, "because", ob ? json_sprintf("operator block by %s%s%s", ob->by,
                                                        ob->why[0] ? ": " : "", ob->why)
                                         : because(&best));
    if (ob)
        json_object_set_new(o, "operator_block", xp_op_block__json(ob));
    if (best.blocked) {
        uint64_t now_mono = xp_mono_ns();
        double left = best.until_mono > now_mono ? (best.until_mono - now_mono) / 1e9 : 0;

        json_object_set_new(o, "block", json_pack("{s:s,s:f,s:f}", "reason",
                            best.block_reason == XP_VERDICT_DROP_DST ? "dst_rate" : "unit_rate",
                            "until", now + left, "seconds_left", left));
    }
    ev = xp_proxy__evidence_json(&best.ev);
    pair = ev ? json_object_get(ev, "pair") : NULL;
    if (pair && best.tracked) {
        /* what of c this proxy counted since its last sync (all of it without sync) */
        json_object_set_new(pair, "local", json_integer((json_int_t)best.st.dc));
    } else if (ev) {
        json_object_set_new(ev, "pair", json_null());
    }
    json_object_set_new(o, "evidence", ev ? ev : json_null());
    json_object_set_new(o, "central", px->cfg->sync.central[0]
                                          ? json_string(px->cfg->sync.central) : json_null());
    return o;
}

/* ---- events --------------------------------------------------------------------------- */

/* {"follow": true} streams from now on; "last": N also returns (or first sends) the N latest. */
static json_t *ctl_events(struct proxy *px, json_t *req, char *err, size_t errlen)
{
    json_t *last = json_object_get(req, "last");
    json_int_t n = 0;

    if (last && (!json_is_integer(last) || (n = json_integer_value(last)) < 0)) {
        snprintf(err, errlen, "last: expected an integer >= 0 (at most %d are kept)",
                 XP_PROXY_RECENT_EVENTS);
        return NULL;
    }
    if (n > XP_PROXY_RECENT_EVENTS)
        n = XP_PROXY_RECENT_EVENTS;
    return json_pack("{s:b,s:o,s:I,s:i}", "following",
                     json_is_true(json_object_get(req, "follow")), "events",
                     xp_proxy__recent_events(px, (unsigned)n), "total",
                     (json_int_t)px->recent_total, "kept", XP_PROXY_RECENT_EVENTS);
}

/* ---- operator blocks ------------------------------------------------------------------ */

/*
 * "198.18.0.2" or "2001:2::1" as a 16-byte key part; IPv6 units masked to the unit prefix,
 * and in gateway mode named by their unit's first source prefix (any address it may use
 * finds it). text is what the operator or the state file wrote.
 */
static int key_addr(struct proxy *px, const char *text, const char *name, bool unit,
                    uint8_t out[16], char *err, size_t errlen)
{
    struct xp_cidr c;

    if (!text || strchr(text, '/') || xp_cidr_parse(text, &c)) {
        snprintf(err, errlen, "%s: expected an IPv4 or IPv6 address", name);
        return -EINVAL;
    }
    memcpy(out, c.addr, 16);
    if (unit && px->gw) {
        if (xp_gateway__unit_name(px->gw, out, out)) {
            snprintf(err, errlen, "unit: no configured unit may send from this address");
            return -ENOENT;
        }
    } else if (unit && c.family == 6) {
        unsigned bytes = px->cfg->pol.v6_unit_prefix / 8;

        memset(out + bytes, 0, 16 - bytes);
    }
    return 0;
}

static void set_manual_on_worker(struct xp_worker *w, void *arg)
{
    xp_pipeline__set_manual_blocks(w->pipeline, arg);
}

/*
 * Operator blocks the workers keep: a new list, handed to every worker
 * between two of its bursts (directly before they start); once each has
 * it, nobody reads the old one.
 */
static int change_worker_blocks(struct proxy *px, const uint8_t unit[16], const uint8_t *dst,
                                uint64_t expires, bool block)
{
    uint64_t now = xp_mono_ns();
    struct xp_manual_blocks *next = block ? xp_manual_blocks__with(px->manual, unit, dst, expires,
                                                                   now)
                                          : xp_manual_blocks__without(px->manual, unit, dst, now);

    if (!next)
        return -errno;
    for (unsigned q = 0; q < px->cfg->queues; q++)
        if (px->workers[q].pipeline)
            xp_worker__call(&px->workers[q], set_manual_on_worker, next);
    xp_manual_blocks__free(px->manual);
    px->manual = next;
    return 0;
}

/*
 * Where packets stop: inline on XDP, the XDP program's map; gateway mode
 * (XDP sees only outer addresses) and backends without XDP, the workers.
 * expires is wall-clock seconds (0: until unblocked), turned into the
 * monotonic deadline both of them read. 0 or -errno with err set.
 */
static int apply_block(struct proxy *px, const uint8_t unit[16], const uint8_t *dst,
                       double expires, bool block, char *err, size_t errlen)
{
    uint64_t exp_mono = 0;
    int ret = -EOPNOTSUPP;

    if (block && expires) {
        double left = expires - xp_real_s();

        exp_mono = xp_mono_ns() + (left > 0 ? (uint64_t)(left * 1e9) : 1);
    }
    if (!px->gw)
        ret = block ? xp_backend__manual_block(px->be, unit, dst, exp_mono)
                    : xp_backend__manual_unblock(px->be, unit, dst);
    if (ret == -EOPNOTSUPP && !px->dst) {
        snprintf(err, errlen, "operator blocks on this backend need policing "
                 "(policer.unit_prefixes is empty)");
        return ret;
    }
    if (ret == -EOPNOTSUPP)
        ret = change_worker_blocks(px, unit, dst, exp_mono, block);
    if (ret)
        snprintf(err, errlen, "%s", ret == -ENOENT ? "no such block" :
                 ret == -ENOSPC ? "too many operator blocks" : strerror(-ret));
    return ret;
}

/* The list of record on disk; a failure is logged (the block itself stands). */
static bool save_blocks(struct proxy *px)
{
    char err[320];

    if (xp_op_blocks__save(px->op_blocks, err, sizeof(err)) == 0)
        return true;
    pr_err("operator blocks not saved (a restart would lose the change): %s", err);
    return false;
}

/* A block or unblock event: the block's own fields, reason "operator" or "expired". */
static void block_event(struct proxy *px, const struct xp_op_block *b, bool block,
                        const char *reason, const char *by, long long uid, const char *why)
{
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:f,s:s,s:s,s:I,s:s}", "event",
                          block ? "block" : "unblock", "proxy_id", px->cfg->proxy_id,
                          "unit", b->unit_text, "dst", b->dst_text, "time", xp_real_s(),
                          "reason", reason, "by", by, "uid", (json_int_t)uid, "why", why);

    if (!o)
        return;
    if (block) {
        json_object_set_new(o, "since", json_real(b->since));
        if (b->expires)
            json_object_set_new(o, "expires", json_real(b->expires));
    } else {
        /* who set the block that ends, for the record */
        json_object_set_new(o, "blocked_by", json_string(b->by));
        json_object_set_new(o, "blocked_why", json_string(b->why));
        json_object_set_new(o, "since", json_real(b->since));
    }
    xp_proxy__emit_event(px, o, block ? LOG_WARNING : LOG_NOTICE);
    json_decref(o);
}

/*
 * Who asks: --by NAME when given (an operator acting through a shared
 * account or a tool), else the client's account as the kernel saw it
 * connect (SO_PEERCRED); its uid always.
 */
static int requester(struct proxy *px, json_t *req, char *by, size_t bylen, long long *uid,
                     char *err, size_t errlen)
{
    const char *name = json_string_value(json_object_get(req, "by"));
    struct ucred cred;

    *uid = -1;
    if (px->ctl && xp_ctl_server__peer(px->ctl, &cred) == 0)
        *uid = cred.uid;
    if (json_object_get(req, "by")) {
        if (!name || !xp_op_blocks__valid_name(name)) {
            snprintf(err, errlen, "by: expected a name of 1..%d letters, digits, '.', '_', "
                     "'@' or '-'", XP_OPB_BY_MAX - 1);
            return -EINVAL;
        }
        snprintf(by, bylen, "%s", name);
        return 0;
    }
    if (*uid >= 0) {
        struct passwd pw, *res = NULL;
        char buf[1024];

        if (getpwuid_r((uid_t)*uid, &pw, buf, sizeof(buf), &res) == 0 && res &&
            xp_op_blocks__valid_name(res->pw_name)) {
            snprintf(by, bylen, "%s", res->pw_name);
            return 0;
        }
        snprintf(by, bylen, "uid-%lld", *uid);
        return 0;
    }
    snprintf(by, bylen, "unknown");
    return 0;
}

static json_t *ctl_block(struct proxy *px, json_t *req, bool block, char *err, size_t errlen)
{
    const char *unit_text = json_string_value(json_object_get(req, "unit"));
    const char *dst_text = json_string_value(json_object_get(req, "dst"));
    bool has_dst = json_object_get(req, "dst") != NULL;
    struct xp_op_block b = { 0 }, old;
    json_int_t seconds = 0;
    long long uid;
    bool saved;
    char by[XP_OPB_BY_MAX];

    if (key_addr(px, unit_text, "unit", true, b.unit, err, errlen) ||
        (has_dst && key_addr(px, dst_text, "dst", false, b.dst, err, errlen)))
        return NULL;
    if (json_object_get(req, "seconds")) {
        if (!block || !json_is_integer(json_object_get(req, "seconds")) ||
            (seconds = json_integer_value(json_object_get(req, "seconds"))) < 0 ||
            seconds > 365 * 86400) {
            snprintf(err, errlen, block ? "seconds: expected 0 (until unblocked) .. 31536000"
                                        : "seconds: only a block has a duration");
            return NULL;
        }
    }
    if (json_object_get(req, "reason")) {
        const char *why = json_string_value(json_object_get(req, "reason"));
        int r = why ? xp_op_blocks__sanitize(why, b.why, sizeof(b.why)) : -EINVAL;

        if (r) {
            snprintf(err, errlen, "reason: expected a text of at most %d bytes", XP_OPB_WHY_MAX);
            return NULL;
        }
    }
    if (requester(px, req, by, sizeof(by), &uid, err, errlen))
        return NULL;
    b.any_dst = !has_dst;
    xp_addr__format(b.unit, b.unit_text, sizeof(b.unit_text));
    if (has_dst)
        xp_addr__format(b.dst, b.dst_text, sizeof(b.dst_text));
    else
        snprintf(b.dst_text, sizeof(b.dst_text), "*");
    if (!block) {
        if (xp_op_blocks__remove(px->op_blocks, b.unit, has_dst ? b.dst : NULL, &old)) {
            snprintf(err, errlen, "no such block");
            return NULL;
        }
        if (apply_block(px, b.unit, has_dst ? b.dst : NULL, 0, false, err, errlen) &&
            strcmp(err, "no such block") != 0) {
            xp_op_blocks__set(px->op_blocks, &old); /* still enforced: keep it listed */
            return NULL;
        }
        saved = save_blocks(px);
        block_event(px, &old, false, "operator", by, uid, b.why);
        pr_info("operator %s (uid %lld) unblocked %s -> %s%s%s", by, uid, old.unit_text,
                old.dst_text, b.why[0] ? ": " : "", b.why);
        return json_pack("{s:b,s:s,s:s,s:b}", "unblocked", true, "unit", old.unit_text, "dst",
                         old.dst_text, "saved", saved);
    }
    snprintf(b.by, sizeof(b.by), "%s", by);
    b.uid = uid;
    b.since = xp_real_s();
    b.expires = seconds ? b.since + (double)seconds : 0;
    /* checked first: a block enforced must be a block of record */
    if (!xp_op_blocks__has(px->op_blocks, b.unit, has_dst ? b.dst : NULL) &&
        xp_op_blocks__count(px->op_blocks) >= XP_OPB_MAX) {
        snprintf(err, errlen, "too many operator blocks");
        return NULL;
    }
    if (apply_block(px, b.unit, has_dst ? b.dst : NULL, b.expires, true, err, errlen))
        return NULL;
    if (xp_op_blocks__set(px->op_blocks, &b)) {
        snprintf(err, errlen, "too many operator blocks");
        return NULL;
    }
    saved = save_blocks(px);
    block_event(px, &b, true, "operator", by, uid, b.why);
    pr_info("operator %s (uid %lld) blocked %s -> %s%s%s%s", by, uid, b.unit_text, b.dst_text,
            seconds ? " for a while" : "", b.why[0] ? ": " : "", b.why);
    return json_pack("{s:b,s:s,s:s,s:I,s:b}", "blocked", true, "unit", b.unit_text, "dst",
                     b.dst_text, "seconds", seconds, "saved", saved);
}

static json_t *ctl_blocks(struct proxy *px)
{
    json_t *arr = json_array();
    double now = xp_real_s();

    for (unsigned i = 0; arr && i < xp_op_blocks__count(px->op_blocks); i++) {
        const struct xp_op_block *b = xp_op_blocks__get(px->op_blocks, i);
        json_t *o = xp_op_block__json(b);

        if (o && b->expires)
            json_object_set_new(o, "seconds_left", json_real(b->expires > now ?
                                                             b->expires - now : 0));
        json_array_append_new(arr, o);
    }
    return json_pack("{s:o,s:s?}", "blocks", arr, "file", xp_op_blocks__path(px->op_blocks));
}

void xp_proxy__expire_blocks(struct proxy *px)
{
    struct xp_op_block b;
    bool changed = false;
    char err[160];

    while (xp_op_blocks__take_expired(px->op_blocks, xp_real_s(), &b)) {
        /* the XDP map ignores an expired entry; taking it out keeps its count right */
        apply_block(px, b.unit, b.any_dst ? NULL : b.dst, 0, false, err, sizeof(err));
        block_event(px, &b, false, "expired", b.by, b.uid, b.why);
        pr_info("operator block %s -> %s expired", b.unit_text, b.dst_text);
        changed = true;
    }
    if (changed)
        save_blocks(px);
}

/* The state directory, made for the account the proxy will run as. */
static int prepare_state_dir(struct proxy *px, const char *dir)
{
    struct stat st;

    if (stat(dir, &st) != 0) {
        if (errno != ENOENT || mkdir(dir, 0750) != 0) {
            pr_err("state_dir %s: %s", dir, strerror(errno));
            return -errno;
        }
        /* 0750 whatever the umask: the user's group may read the blocks, nobody else */
        if (chmod(dir, 0750) != 0 ||
            (px->cfg->user[0] && chown(dir, px->target.uid, px->target.gid) != 0)) {
            pr_err("state_dir %s: chmod/chown to %s: %s", dir,
                   px->cfg->user[0] ? px->target.name : "root", strerror(errno));
            return -errno;
        }
        pr_info("state_dir %s created", dir);
        return 0;
    }
    if (!S_ISDIR(st.st_mode)) {
        pr_err("state_dir %s: not a directory", dir);
        return -ENOTDIR;
    }
    /* renaming the file into place needs write access to the directory, as the user */
    if (px->cfg->user[0] && st.st_uid != px->target.uid &&
        !(st.st_gid == px->target.gid && (st.st_mode & 020))) {
        pr_err("state_dir %s: not writable by user %s (owner uid %u, mode %03o): chown it to "
               "%s", dir, px->target.name, (unsigned)st.st_uid, st.st_mode & 0777,
               px->target.name);
        return -EACCES;
    }
    return 0;
}

int xp_proxy__restore_blocks(struct proxy *px)
{
    char path[320], err[400];
    unsigned applied = 0;
    int ret;

    path[0] = '\0';
    if (px->cfg->state_dir[0]) {
        ret = prepare_state_dir(px, px->cfg->state_dir);
        if (ret)
            return ret;
        if (snprintf(path, sizeof(path), "%s/%s.blocks.json", px->cfg->state_dir,
                     px->cfg->proxy_id) >= (int)sizeof(path))
            return -ENAMETOOLONG;
    }
    px->op_blocks = xp_op_blocks__create(path[0] ? path : NULL);
    if (!px->op_blocks)
        return -errno;
    ret = xp_op_blocks__load(px->op_blocks, xp_real_s(), err, sizeof(err));
    if (ret) {
        pr_err("operator blocks: %s (move the file away to start without them)", err);
        return ret;
    }
    for (unsigned i = 0; i < xp_op_blocks__count(px->op_blocks);) {
        struct xp_op_block *b = (struct xp_op_block *)xp_op_blocks__get(px->op_blocks, i);
        struct xp_op_block gone;

        /* the unit prefix or gateway mode's units may have changed since it was saved */
        if (key_addr(px, b->unit_text, "unit", true, b->unit, err, sizeof(err)) ||
            apply_block(px, b->unit, b->any_dst ? NULL : b->dst, b->expires, true, err,
                        sizeof(err))) {
            pr_warn("operator block %s -> %s (by %s) not applied again: %s", b->unit_text,
                    b->dst_text, b->by, err);
            xp_op_blocks__remove(px->op_blocks, b->unit, b->any_dst ? NULL : b->dst, &gone);
            continue;
        }
        applied++;
        i++;
    }
    if (path[0])
        pr_info("operator blocks: %u applied again from %s", applied, path);
    return 0;
}

/* ---- the handler ---------------------------------------------------------------------- */

json_t *xp_proxy__ctl_handler(void *ctx, const char *op, json_t *req, char *err, size_t errlen)
{
    struct proxy *px = ctx;

    if (strcmp(op, "stats") == 0) {
        uint64_t rx, tx;

        return xp_proxy__stats_document(px, false, &rx, &tx);
    }
    if (strcmp(op, "flows") == 0)
        return ctl_flows(px, req, err, errlen);
    if (strcmp(op, "block") == 0 || strcmp(op, "unblock") == 0)
        return ctl_block(px, req, op[0] == 'b', err, errlen);
    if (strcmp(op, "blocks") == 0)
        return ctl_blocks(px);
    if (strcmp(op, "reload") == 0) {
        char msg[512];

        if (xp_proxy__reload(px, msg, sizeof(msg))) {
            snprintf(err, errlen, "%s", msg);
            pr_err("reload refused, the running configuration stays: %s", msg);
            return NULL;
        }
        pr_info("%s (xpro-ctl)", msg);
        return json_pack("{s:s}", "message", msg);
    }
    if (strcmp(op, "events") == 0)
        return ctl_events(px, req, err, errlen);
    if (strcmp(op, "why") == 0)
        return ctl_why(px, req, err, errlen);
    if (strcmp(op, "capture") == 0)
        return xp_proxy__ctl_capture(px, req, err, errlen);
    snprintf(err, errlen, "unknown op \"%s\"", op);
    return NULL;
}

const struct xp_ctl_op xp_proxy_ctl_ops[] = {
    { "stats", "the stats document", false },
    { "flows", "heaviest pairs: {\"top\": N}", false },
    { "block", "operator block: {\"unit\": A, \"dst\": B?, \"seconds\": S?, \"reason\": T?, "
      "\"by\": NAME?}", false },
    { "unblock", "remove an operator block: {\"unit\": A, \"dst\": B?, \"reason\": T?, "
      "\"by\": NAME?}", false },
    { "blocks", "the operator blocks: who, why, since, until", false },
    { "reload", "read the configuration file again", false },
    { "events", "the last events {\"last\": N} (at most 1024 kept), and with {\"follow\": true} "
      "every new one as a JSON line", true },
    { "why", "why a pair is dropped now: {\"unit\": A, \"dst\": B}: its window, its "
      "destination's aggregate, the thresholds, the verdict and the block", false },
    { "capture", "sampled frames with their verdicts, {\"follow\": true} only: {\"unit\": A?, "
      "\"dst\": B?, \"verdict\": NAME?, \"count\": N?, \"seconds\": S?, \"rate\": R?}", true },
    { NULL, NULL, false },
};

int xp_proxy__start_operators(struct proxy *px)
{
    char path[108];
    gid_t gid = (gid_t)-1;
    bool own_dir = false;

    if (px->cfg->ctl_socket[0]) {
        snprintf(path, sizeof(path), "%s", px->cfg->ctl_socket);
    } else {
        if (xp_ctl_default_path(px->cfg->proxy_id, path, sizeof(path)))
            return -ENAMETOOLONG;
        own_dir = true;
    }
    if (px->cfg->ctl_socket_group[0]) {
        struct group *g = getgrnam(px->cfg->ctl_socket_group);

        if (!g) {
            pr_err("ctl_socket_group: no group \"%s\"", px->cfg->ctl_socket_group);
            return -ENOENT;
        }
        gid = g->gr_gid;
    }
    struct xp_ctl_server_conf cc = {
        .path = path,
        .gid = gid,
        .mode = 0660,
        .own_dir = own_dir,
        .ops = xp_proxy_ctl_ops,
        .handler = xp_proxy__ctl_handler,
        .ctx = px,
    };
    px->ctl = xp_ctl_server__create(&cc);
    if (!px->ctl) {
        pr_err("control socket %s: %s", path, strerror(errno));
        return -errno;
    }
    pr_info("control socket %s", path);
    if (px->cfg->prometheus[0]) {
        struct xp_prom_server_conf pc = { 0 };
        char host[64];

        xp_conf_hostport(px->cfg->prometheus, host, sizeof(host), &pc.port);
        pc.addr = host;
        px->prom = xp_prom_server__create(&pc);
        if (!px->prom) {
            pr_err("prometheus %s: %s", px->cfg->prometheus,
                   errno == EADDRNOTAVAIL ? "only loopback addresses are served" : strerror(errno));
            return -errno;
        }
        pr_info("prometheus metrics on http://%s/metrics", px->cfg->prometheus);
    }
    return 0;
}
