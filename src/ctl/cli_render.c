// SPDX-License-Identifier: GPL-2.0-only
/*
 * xpro-ctl's tables: what the proxy answers, rendered for a terminal. Numbers are
 * right-aligned and text left-aligned; a missing value prints as "-". --json bypasses
 * all of this (main.c prints the result as is).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "src/ctl/cli.h"

/* ---- helpers for the tables ----------------------------------------------------------- */

static const json_t *jpath(const json_t *o, const char *path)
{
    char buf[128], *save = NULL, *tok;

    snprintf(buf, sizeof(buf), "%s", path);
    for (tok = strtok_r(buf, ".", &save); tok && o; tok = strtok_r(NULL, ".", &save))
        o = json_object_get(o, tok);
    return o;
}

/* A number as a table cell: integers as they are, reals with one decimal, "-" if missing. */
static const char *cell(char *buf, size_t len, const json_t *v)
{
    if (json_is_integer(v))
        snprintf(buf, len, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        snprintf(buf, len, "%.1f", json_real_value(v));
    else if (json_is_boolean(v))
        snprintf(buf, len, "%s", json_is_true(v) ? "yes" : "no");
    else if (json_is_string(v))
        snprintf(buf, len, "%s", json_string_value(v));
    else if (!v || json_is_null(v))
        snprintf(buf, len, "-");
    else {
        char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

        snprintf(buf, len, "%s", s ? s : "?");
        free(s);
    }
    return buf;
}

static long long ival(const json_t *o, const char *path)
{
    const json_t *v = jpath(o, path);

    return json_is_number(v) ? (long long)json_number_value(v) : 0;
}

/* Generic table of an array of objects: columns are the first row's scalar members. */
static void print_table(const json_t *rows)
{
    enum { MAX_COLS = 16 };
    const char *cols[MAX_COLS];
    size_t width[MAX_COLS], ncols = 0, i;
    const json_t *first = json_array_get(rows, 0), *row;
    const char *key;
    json_t *v;
    char buf[128];

    if (!json_is_object(first)) {
        printf("(none)\n");
        return;
    }
    json_object_foreach((json_t *)first, key, v) {
        if (ncols < MAX_COLS && !json_is_object(v) && !json_is_array(v)) {
            cols[ncols] = key;
            width[ncols++] = strlen(key);
        }
    }
    json_array_foreach(rows, i, row) {
        for (size_t c = 0; c < ncols; c++) {
            size_t l = strlen(cell(buf, sizeof(buf), json_object_get(row, cols[c])));

            if (l > width[c])
                width[c] = l;
        }
    }
    for (size_t c = 0; c < ncols; c++) {
        for (const char *k = cols[c]; *k; k++)
            putchar(*k >= 'a' && *k <= 'z' ? *k - 'a' + 'A' : *k);
        printf("%*s", c + 1 < ncols ? (int)(width[c] - strlen(cols[c]) + 2) : 0, "");
    }
    putchar('\n');
    json_array_foreach(rows, i, row) {
        for (size_t c = 0; c < ncols; c++) {
            const json_t *val = json_object_get(row, cols[c]);

            cell(buf, sizeof(buf), val);
            /* Numbers right-aligned, text left-aligned: columns read at a glance. */
            if (json_is_number(val))
                printf("%*s", (int)width[c], buf);
            else
                printf("%-*s", c + 1 < ncols ? (int)width[c] : 0, buf);
            if (c + 1 < ncols)
                printf("  ");
        }
        putchar('\n');
    }
}

static void print_kv(const json_t *result)
{
    const char *key;
    json_t *v;
    char buf[256];

    if (!json_is_object(result)) {
        printf("%s\n", cell(buf, sizeof(buf), result));
        return;
    }
    json_object_foreach((json_t *)result, key, v) {
        if (json_is_array(v)) {
            printf("%s:\n", key);
            print_table(v);
        } else {
            printf("%-20s %s\n", key, cell(buf, sizeof(buf), v));
        }
    }
}

/* ---- stats ---------------------------------------------------------------------------- */

/*
 * A queue's rate of field between prev's document and s's, into buf; "-" without prev
 * (the document holds counters only: rates are for whoever samples twice).
 */
static const char *queue_rate(char *buf, size_t len, const json_t *s, const json_t *prev,
                              size_t port, size_t queue, const char *field)
{
    const json_t *pq = json_array_get(json_object_get(json_array_get(json_object_get(prev,
                                      "ports"), port), "queues"), queue);
    const json_t *q = json_array_get(json_object_get(json_array_get(json_object_get(s,
                                     "ports"), port), "queues"), queue);
    double dt = json_number_value(json_object_get(s, "ts")) -
                json_number_value(json_object_get(prev, "ts"));
    long long now = ival(q, field), then = ival(pq, field);

    if (!prev || !pq || dt <= 0 || now < then)
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%.0f", (double)(now - then) / dt);
    return buf;
}

static void print_stats(const json_t *s, const json_t *prev);

void xp_cli_print_stats(const json_t *s)
{
    print_stats(s, NULL);
}

void xp_cli_print_stats_rates(const json_t *prev, const json_t *s)
{
    print_stats(s, prev);
}

static void print_stats(const json_t *s, const json_t *prev)
{
    static const char *const hdr[] = { "PORT", "ROLE", "Q", "ZC", "RX_PKTS", "RX_PPS",
                                       "TX_PKTS", "TX_PPS", "TX_FULL", "K_RX_DROP",
                                       "RX_RING_FULL", "FILL_EMPTY", "INVALID" };
    const json_t *ports = json_object_get(s, "ports"), *port, *pipe, *pol;
    char when[64] = "-", buf[64];
    time_t ts = (time_t)ival(s, "ts");
    struct tm tm;
    size_t i, j;

    if (ts && localtime_r(&ts, &tm))
        strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
    printf("proxy %s  at %s  rx %s pps", json_string_value(json_object_get(s, "proxy_id")) ?:
           "?", when, cell(buf, sizeof(buf), jpath(s, "totals.rx_pps")));
    printf("  tx %s pps", cell(buf, sizeof(buf), jpath(s, "totals.tx_pps")));
    printf("  packets rx %lld tx %lld dropped %lld\n\n", ival(s, "totals.rx_packets"),
           ival(s, "totals.tx_packets"), ival(s, "totals.drop_packets"));

    for (size_t h = 0; h < sizeof(hdr) / sizeof(hdr[0]); h++)
        printf(h < 2 ? "%-8s" : h < 4 ? "%-4s" : "%13s", hdr[h]);
    putchar('\n');
    json_array_foreach(ports, i, port) {
        const json_t *q;

        json_array_foreach(json_object_get(port, "queues"), j, q) {
            printf("%-8s", json_string_value(json_object_get(port, "name")) ?: "?");
            printf("%-8s", json_string_value(json_object_get(port, "role")) ?: "?");
            printf("%-4lld", ival(q, "queue"));
            printf("%-4s", json_is_true(json_object_get(q, "zero_copy")) ? "yes" : "no");
            printf("%13lld", ival(q, "rx_packets"));
            printf("%13s", queue_rate(buf, sizeof(buf), s, prev, i, j, "rx_packets"));
            printf("%13lld", ival(q, "tx_packets"));
            printf("%13s", queue_rate(buf, sizeof(buf), s, prev, i, j, "tx_packets"));
            printf("%13lld", ival(q, "drop_tx_ring_full"));
            printf("%13lld", ival(q, "xsk.rx_dropped"));
            printf("%13lld", ival(q, "xsk.rx_ring_full"));
            printf("%13lld", ival(q, "xsk.rx_fill_ring_empty_descs"));
            printf("%13lld\n", ival(q, "xsk.rx_invalid_descs") + ival(q, "xsk.tx_invalid_descs"));
        }
    }
    putchar('\n');
    json_array_foreach(ports, i, port) {
        const json_t *x = json_object_get(port, "xdp");

        printf("xdp %-8s rx %lld  redirect %lld  pass %lld  drop_blocked %lld  drop_no_socket %lld\n",
               json_string_value(json_object_get(port, "name")) ?: "?", ival(x, "rx"),
               ival(x, "redirect"),
               ival(x, "pass_non_ip") + ival(x, "pass_arp_nd") + ival(x, "pass_mgmt") +
               ival(x, "pass_no_socket") + ival(x, "pass_foreign"),
               ival(x, "drop_blocked"), ival(x, "drop_no_socket"));
    }
    pipe = json_object_get(s, "pipeline");
    if (json_is_object(pipe)) {
        const char *key;
        json_t *v;

        printf("pipeline     policed %lld  forward %lld  drops:", ival(pipe, "policed"),
               ival(pipe, "forward"));
        json_object_foreach((json_t *)pipe, key, v) {
            if (strncmp(key, "drop_", 5) == 0 && json_is_integer(v))
                printf(" %s %lld", key + 5, (long long)json_integer_value(v));
        }
        printf("\n             blocks %lld  unblocks %lld  blocked now %lld\n",
               ival(pipe, "blocks"), ival(pipe, "unblocks"), ival(pipe, "blocked_pairs"));
        for (int kind = 0; kind < 2; kind++) {
            const json_t *groups = json_object_get(pipe, kind ? "dst_groups" : "unit_groups");
            size_t gi;
            json_t *g;

            /* only where groups are configured: the default alone repeats the line above */
            if (json_array_size(groups) < 2)
                continue;
            printf("%-13s", kind ? "dst groups" : "unit groups");
            json_array_foreach(groups, gi, g)
                printf(" %s %lld/%lld", json_string_value(json_object_get(g, "group")) ?: "?",
                       ival(g, "drops"), ival(g, "packets"));
            printf("  (dropped/policed)\n");
        }
    }
    pol = json_object_get(s, "policer");
    if (json_is_object(pol)) {
        long long pairs = ival(pol, "pairs"), cap = ival(pol, "capacity");

        printf("policer      pairs %lld / %lld (%.1f%%)  destinations %lld  evicted idle %lld "
               "oldest %lld  refused pass %lld drop %lld\n", pairs, cap,
               cap ? 100.0 * pairs / cap : 0.0, ival(pol, "destinations"),
               ival(pol, "evict_idle"), ival(pol, "evict_oldest"), ival(pol, "refused_pass"),
               ival(pol, "refused_drop"));
        printf("events       written %lld  lost %lld\n", ival(pol, "events_written"),
               ival(pipe, "events_lost"));
    }
    printf("frames       total %lld  free %lld  in_fill %lld  in_tx %lld  held %lld  leaked %lld\n",
           ival(s, "frames.total"), ival(s, "frames.free"), ival(s, "frames.in_fill"),
           ival(s, "frames.in_tx"), ival(s, "frames.held"), ival(s, "frames.leaked"));
}

/* ---- flows, and the results of the other ops ------------------------------------------ */

void xp_cli_print_flows(const json_t *r)
{
    print_table(json_is_array(r) ? r : json_object_get(r, "flows"));
}

void xp_cli_print_result(const json_t *r)
{
    if (json_is_array(r))
        print_table(r);
    else
        print_kv(r);
}

/* The operator blocks: one row each, times as local dates. */
void xp_cli_print_blocks(const json_t *r)
{
    const json_t *blocks = json_object_get(r, "blocks"), *b;
    size_t i;

    if (!json_array_size(blocks)) {
        printf("no operator blocks%s%s\n", json_object_get(r, "file") ? "; kept in " : "",
               json_string_value(json_object_get(r, "file")) ?: "");
        return;
    }
    printf("%-26s %-26s %-16s %-19s %-19s %s\n", "UNIT", "DST", "BY", "SINCE", "UNTIL", "WHY");
    json_array_foreach(blocks, i, b) {
        char since[32] = "-", until[32] = "-";
        double t;
        time_t ts;
        struct tm tm;

        if ((t = json_number_value(json_object_get(b, "since"))) > 0 &&
            (ts = (time_t)t, localtime_r(&ts, &tm)))
            strftime(since, sizeof(since), "%Y-%m-%d %H:%M:%S", &tm);
        if ((t = json_number_value(json_object_get(b, "expires"))) > 0 &&
            (ts = (time_t)t, localtime_r(&ts, &tm)))
            strftime(until, sizeof(until), "%Y-%m-%d %H:%M:%S", &tm);
        printf("%-26s %-26s %-16s %-19s %-19s %s\n",
               json_string_value(json_object_get(b, "unit")) ?: "?",
               json_string_value(json_object_get(b, "dst")) ?: "?",
               json_string_value(json_object_get(b, "by")) ?: "?", since, until,
               json_string_value(json_object_get(b, "why")) ?: "");
    }
    if (json_object_get(r, "file"))
        printf("(kept in %s)\n", json_string_value(json_object_get(r, "file")));
    else
        printf("(not kept across restarts: no state_dir configured)\n");
}

/* The events of a reply ({"events": [...]}), one line each as the stream prints them. */
void xp_cli_print_events(const json_t *r)
{
    const json_t *ev;
    size_t i;

    json_array_foreach(json_object_get(r, "events"), i, ev) {
        char *line = json_dumps(ev, JSON_COMPACT | JSON_REAL_PRECISION(15));

        if (line)
            xp_cli_print_event(line, strlen(line));
        free(line);
    }
}

/* One event line as "TIME EVENT UNIT -> DST key=value...", or the line itself if not ours. */
void xp_cli_print_event(const char *line, size_t len)
{
    json_t *ev = json_loadb(line, len, 0, NULL);
    const char *key;
    json_t *v;
    char when[32] = "-", buf[128];
    double t;
    time_t ts;
    struct tm tm;

    if (!json_is_object(ev)) {
        printf("%s\n", line);
        json_decref(ev);
        return;
    }
    t = json_number_value(json_object_get(ev, "time"));
    ts = (time_t)t;
    if (t > 0 && localtime_r(&ts, &tm)) {
        size_t n = strftime(when, sizeof(when), "%H:%M:%S", &tm);

        snprintf(when + n, sizeof(when) - n, ".%03d", (int)((t - (double)ts) * 1000));
    }
    printf("%s %-9s %s -> %s", when, json_string_value(json_object_get(ev, "event")) ?: "?",
           json_string_value(json_object_get(ev, "unit")) ?: "-",
           json_string_value(json_object_get(ev, "dst")) ?: "-");
    json_object_foreach(ev, key, v) {
        /* a block's evidence in short: the two rates (xpro-ctl why, or --json, has all) */
        if (strcmp(key, "evidence") == 0) {
            printf(" pair_rate_pps=%s", cell(buf, sizeof(buf), jpath(v, "pair.rate_pps")));
            printf(" dst_rate_pps=%s", cell(buf, sizeof(buf), jpath(v, "dst.rate_pps")));
            continue;
        }
        if (strcmp(key, "event") && strcmp(key, "unit") && strcmp(key, "dst") &&
            strcmp(key, "time") && strcmp(key, "proxy_id"))
            printf(" %s=%s", key, cell(buf, sizeof(buf), v));
    }
    putchar('\n');
    json_decref(ev);
}

/* One window row of xpro-ctl why: ts1 and ts2 as seconds with their nanoseconds. */
static void why_window(const char *name, const json_t *w)
{
    /* integers: a double would round the nanoseconds away */
    long long ts1 = json_integer_value(json_object_get(w, "ts1"));
    long long ts2 = json_integer_value(json_object_get(w, "ts2"));
    char c[32], win[32], rate[32];

    if (!json_is_object(w)) {
        printf("%-12s -\n", name);
        return;
    }

    printf("%-12s %10lld.%09lld %10lld.%09lld %12s %10s %12s\n", name,
           ts1 / 1000000000LL, ts1 % 1000000000LL, ts2 / 1000000000LL, ts2 % 1000000000LL,
           cell(c, sizeof(c), json_object_get(w, "c")),
           (snprintf(win, sizeof(win), "%.3f", json_number_value(json_object_get(w, "window_s"))),
            win),
           cell(rate, sizeof(rate), json_object_get(w, "rate_pps")));
}

/* xpro-ctl why: the verdict and its reason, then the numbers it was made on. */
void xp_cli_print_why(const json_t *r)
{
    const json_t *ev = json_object_get(r, "evidence"), *d = jpath(ev, "dst");
    char buf[128];

    printf("%s -> %s: %s", json_string_value(json_object_get(r, "unit")) ?: "?",
           json_string_value(json_object_get(r, "dst")) ?: "?",
           json_string_value(json_object_get(r, "verdict")) ?: "?");
    if (json_is_true(json_object_get(r, "blocked"))) {
        const json_t *b = json_object_get(r, "block");

        printf(", blocked");
        if (b)
            printf(" (%s, %.1f s left)", json_string_value(json_object_get(b, "reason")) ?: "?",
                   json_number_value(json_object_get(b, "seconds_left")));
    }
    printf("\nbecause %s\n\n", json_string_value(json_object_get(r, "because")) ?: "?");
    printf("%-12s %20s %20s %12s %10s %12s\n", "", "TS1", "TS2", "C", "WINDOW_S", "RATE_PPS");
    why_window("pair", jpath(ev, "pair"));
    why_window("destination", d);
    printf("\nthresholds   T_F1 %s pps", cell(buf, sizeof(buf), jpath(ev, "thresholds.t_f1_pps")));
    printf(", T_F2 %s pps", cell(buf, sizeof(buf), jpath(ev, "thresholds.t_f2_pps")));
    printf(", T_T2 %s ms", cell(buf, sizeof(buf), jpath(ev, "thresholds.t_t2_ms")));
    printf(", T_T3 %s ms", cell(buf, sizeof(buf), jpath(ev, "thresholds.t_t3_ms")));
    printf("; policy %s\n", cell(buf, sizeof(buf), jpath(ev, "policy")));
    if (json_is_object(d))
        printf("destination  %lld pairs known only from the central node (other proxies' units); "
               "at least %lld prox%s counted\n", ival(d, "remote_pairs"), ival(d, "proxies_min"),
               ival(d, "proxies_min") == 1 ? "y" : "ies");
    if (jpath(ev, "pair.local"))
        printf("pair         %lld of c counted here since the last sync (central %s)\n",
               ival(ev, "pair.local"),
               json_string_value(json_object_get(r, "central")) ?: "none: not synced");
}

/* One row of the central node's view: a proxy's active rows towards the destination. */
static void central_row(const char *name, const json_t *p)
{
    long long ts1 = json_integer_value(json_object_get(p, "ts1"));
    long long ts2 = json_integer_value(json_object_get(p, "ts2"));
    long long c = json_integer_value(json_object_get(p, "c"));
    double win = ts2 > ts1 ? (ts2 - ts1) / 1e9 : 0;

    printf("%-16s %6lld %12lld %10.3f %12.0f\n", name,
           (long long)json_integer_value(json_object_get(p, "pairs")), c, win,
           win > 0 ? c / win : 0.0);
}

void xp_cli_print_central_why(const json_t *r)
{
    const json_t *pair = json_object_get(r, "pair"), *p;
    size_t i;

    printf("%s -> %s at the central node (rows active within T_T1 %lld ms)\n",
           json_string_value(json_object_get(r, "unit")) ?: "?",
           json_string_value(json_object_get(r, "dst")) ?: "?", ival(r, "t_t1_ms"));
    if (json_is_object(pair)) {
        long long ts1 = json_integer_value(json_object_get(pair, "ts1"));
        long long ts2 = json_integer_value(json_object_get(pair, "ts2"));

        printf("pair: c %lld over %.3f s, %s, last written by %s\n", ival(pair, "c"),
               ts2 > ts1 ? (ts2 - ts1) / 1e9 : 0.0,
               json_is_true(json_object_get(pair, "active")) ? "active" : "idle",
               json_string_value(json_object_get(pair, "proxy")) ?: "(unknown)");
    } else {
        printf("pair: no row\n");
    }
    printf("\n%-16s %6s %12s %10s %12s\n", "PROXY", "PAIRS", "C", "WINDOW_S", "RATE_PPS");
    json_array_foreach(json_object_get(r, "proxies"), i, p)
        central_row(json_string_value(json_object_get(p, "proxy")) ?: "(unknown)", p);
    central_row("all", json_object_get(r, "dst_rows"));
    printf("(%lld rows towards the destination idle for longer than T_T1 not counted)\n",
           ival(r, "dst_rows.idle_pairs"));
}
