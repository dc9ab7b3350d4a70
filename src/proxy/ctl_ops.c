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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "src/ctl/ctl.h"
#include "src/gateway/gateway.h"
#include "src/parse/parse.h"
#include "src/pipeline/pipeline.h"
#include "src/prom/prom.h"
#include "src/proxy/proxy.h"
#include "src/util/hexaddr.h"
#include "src/util/log.h"
#include "src/util/clock.h"

/* ---- flows ---------------------------------------------------------------------------- */

struct flows_arg {
    struct xp_pipeline *pl;
    uint32_t cursor;
    struct xp_pair_record rec[1024];
    unsigned n;
};

static void scan_on_worker(struct xp_worker *w, void *arg)
{
    struct flows_arg *fa = arg;

    (void)w;
    fa->n = xp_pipeline__scan(fa->pl, &fa->cursor, 65536, fa->rec, 1024);
}

struct flow_row {
    struct xp_pair_record r;
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

/* The N heaviest pairs over all workers, by their window's rate. */
static json_t *ctl_flows(struct proxy *px, json_t *req, char *err, size_t errlen)
{
    json_int_t top = 20;
    struct flow_row *rows;
    struct flows_arg *fa;
    unsigned n = 0;
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
        /* Slices keep each mailbox call short, whatever the table size. */
        while (fa->cursor < xp_pipeline__capacity(fa->pl)) {
            xp_worker__call(&px->workers[q], scan_on_worker, fa);
            for (unsigned i = 0; i < fa->n; i++) {
                struct flow_row row = { .r = fa->rec[i], .rate = pair_rate(&fa->rec[i].st),
                                        .queue = q };

                keep_top(rows, &n, (unsigned)top, &row);
            }
        }
    }
    qsort(rows, n, sizeof(*rows), by_rate_desc);
    arr = json_array();
    for (unsigned k = 0; k < n; k++) {
        const struct xp_pair_state *st = &rows[k].r.st;
        char unit[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
        bool over = st->ts2 - st->ts1 > px->cfg->pol.t_t2_ms * 1000000ULL &&
                    rows[k].rate > px->cfg->pol.t_f1_pps;

        xp_addr__format(rows[k].r.key.unit, unit, sizeof(unit));
        xp_addr__format(rows[k].r.key.dst, dst, sizeof(dst));
        json_array_append_new(arr, json_pack("{s:s,s:s,s:i,s:f,s:I,s:I,s:f,s:s}",
            "unit", unit, "dst", dst, "queue", (int)rows[k].queue,
            "rate_pps", rows[k].rate, "count", (json_int_t)st->c,
            "local", (json_int_t)st->dc, "window_s", (st->ts2 - st->ts1) / 1e9,
            "verdict", over ? "drop_unit_rate" : "forward"));
    }
    free(rows);
    free(fa);
    return json_pack("{s:o}", "flows", arr);
}

/* ---- operator blocks ------------------------------------------------------------------ */

/* "198.18.0.2" or "2001:2::1" as a 16-byte key part; IPv6 units masked to the unit prefix. */
static int ctl_addr(struct proxy *px, json_t *req, const char *name, bool unit, uint8_t out[16],
                    char *err, size_t errlen)
{
    const char *text = json_string_value(json_object_get(req, name));
    struct xp_cidr c;

    if (!text || strchr(text, '/') || xp_cidr_parse(text, &c)) {
        snprintf(err, errlen, "%s: expected an IPv4 or IPv6 address", name);
        return -EINVAL;
    }
    memcpy(out, c.addr, 16);
    if (unit && c.family == 6) {
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
 * between two of its bursts; once each has it, nobody reads the old one.
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

static json_t *ctl_block(struct proxy *px, json_t *req, bool block, char *err, size_t errlen)
{
    uint8_t unit[16], dst[16];
    bool has_dst = json_object_get(req, "dst") != NULL;
    json_int_t seconds = 0;
    uint64_t expires;
    int ret = -EOPNOTSUPP;

    if (ctl_addr(px, req, "unit", !px->gw, unit, err, errlen) ||
        (has_dst && ctl_addr(px, req, "dst", false, dst, err, errlen)))
        return NULL;
    /* Gateway mode names a unit by its first source prefix: any address it may use finds it. */
    if (px->gw && xp_gateway__unit_name(px->gw, unit, unit)) {
        snprintf(err, errlen, "unit: no configured unit may send from this address");
        return NULL;
    }
    if (json_object_get(req, "seconds")) {
        if (!json_is_integer(json_object_get(req, "seconds")) ||
            (seconds = json_integer_value(json_object_get(req, "seconds"))) < 0 ||
            seconds > 365 * 86400) {
            snprintf(err, errlen, "seconds: expected 0 (until unblocked) .. 31536000");
            return NULL;
        }
    }
    expires = seconds ? xp_mono_ns() + (uint64_t)seconds * 1000000000ULL : 0;
    /* Inline on XDP: the XDP program drops them. Gateway mode (XDP sees only outer addresses) and
     * backends without XDP: the workers do. */
    if (!px->gw)
        ret = block ? xp_backend__manual_block(px->be, unit, has_dst ? dst : NULL, expires)
                    : xp_backend__manual_unblock(px->be, unit, has_dst ? dst : NULL);
    if (ret == -EOPNOTSUPP && !px->dst) {
        snprintf(err, errlen, "operator blocks on this backend need policing "
                 "(policer.unit_prefixes is empty)");
        return NULL;
    }
    if (ret == -EOPNOTSUPP)
        ret = change_worker_blocks(px, unit, has_dst ? dst : NULL, expires, block);
    if (ret) {
        snprintf(err, errlen, "%s", ret == -ENOENT ? "no such block" :
                 ret == -ENOSPC ? "too many operator blocks" : strerror(-ret));
        return NULL;
    }
    pr_info("operator %s %s%s%s%s", block ? "blocked" : "unblocked",
            json_string_value(json_object_get(req, "unit")), has_dst ? " -> " : " (all destinations)",
            has_dst ? json_string_value(json_object_get(req, "dst")) : "",
            block && seconds ? " for a while" : "");
    return json_pack("{s:b,s:s,s:s,s:I}", block ? "blocked" : "unblocked", true,
                     "unit", json_string_value(json_object_get(req, "unit")),
                     "dst", has_dst ? json_string_value(json_object_get(req, "dst")) : "*",
                     "seconds", seconds);
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
        return json_pack("{s:b}", "following", true);
    snprintf(err, errlen, "unknown op \"%s\"", op);
    return NULL;
}

const struct xp_ctl_op xp_proxy_ctl_ops[] = {
    { "stats", "the stats document", false },
    { "flows", "heaviest pairs: {\"top\": N}", false },
    { "block", "operator block: {\"unit\": A, \"dst\": B?, \"seconds\": S?}", false },
    { "unblock", "remove an operator block: {\"unit\": A, \"dst\": B?}", false },
    { "reload", "read the configuration file again", false },
    { "events", "stream events as JSON lines: {\"follow\": true}", true },
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
