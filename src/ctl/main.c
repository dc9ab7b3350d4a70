// SPDX-License-Identifier: GPL-2.0-only
/*
 * xpro-ctl: the operator's view of a running xpro-proxy, over its control socket.
 *
 * Every subcommand is one row of commands[]: its positional arguments, its own option
 * table bound by offsetof into struct ctl_opts, a function that builds the request and one
 * that prints the result as a table. --json skips the table and prints the proxy's result
 * as is, for tools. The wire protocol is src/ctl/ctl.h; docs/operators.md lists the ops.
 */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "src/ctl/ctl.h"
#include "src/util/exit_codes.h"
#include "src/util/hexaddr.h"
#include "src/sync/sync.h"
#include "src/util/secret_file.h"
#include "xp_build_config.h"

#define CTL_DEFAULT_ID "xpro"
#define CTL_MAX_POS 2

struct ctl_opts {
    const char *socket;
    const char *proxy;
    const char *central;
    const char *id;
    const char *secret_file;
    bool json;
    unsigned timeout_s;
    unsigned top;
    unsigned for_s;
    bool follow;
    bool help;
    bool version;
    const char *pos[CTL_MAX_POS];
    unsigned npos;
};

static const struct ctl_opts defaults_ctl = {
    .socket = NULL,
    .proxy = NULL,
    .central = NULL,
    .id = NULL,
    .secret_file = NULL,
    .json = false,
    .timeout_s = 5,
    .top = 20,
    .for_s = 0,
    .follow = false,
};

enum opt_type {
    OPT_BOOL = 0,
    OPT_STRING = 1,
    OPT_UINT = 2,
};

struct xp_option {
    const char *name;
    char short_name;
    enum opt_type type;
    size_t offset;
    const char *metavar;
    const char *help;
};

#define OPT(n, s, t, field, mv, h) { n, s, t, offsetof(struct ctl_opts, field), mv, h }

static const struct xp_option global_opts[] = {
    OPT("socket", 's', OPT_STRING, socket, "PATH", "control socket (default " XP_CTL_DIR "/"
        CTL_DEFAULT_ID ".sock, or $XPRO_CTL_SOCKET)"),
    OPT("proxy", 'p', OPT_STRING, proxy, "ID", "the proxy with this proxy_id: " XP_CTL_DIR
        "/ID.sock"),
    OPT("central", 0, OPT_STRING, central, "ADDR:PORT", "ask the central node (stats only)"),
    OPT("id", 0, OPT_STRING, id, "ID", "with --central: the id to authenticate as"),
    OPT("secret-file", 0, OPT_STRING, secret_file, "FILE",
        "with --central: the id's secret (hex) in FILE"),
    OPT("json", 'j', OPT_BOOL, json, NULL, "print the proxy's result as JSON, no table"),
    OPT("timeout", 0, OPT_UINT, timeout_s, "SEC", "wait at most SEC for a reply (default 5)"),
    OPT("help", 'h', OPT_BOOL, help, NULL, "this text"),
    OPT("version", 'V', OPT_BOOL, version, NULL, "print the version"),
    { NULL },
};

static const struct xp_option flows_opts[] = {
    OPT("top", 'n', OPT_UINT, top, "N", "the N heaviest pairs (default 20)"),
    { NULL },
};

static const struct xp_option block_opts[] = {
    OPT("for", 0, OPT_UINT, for_s, "SECONDS", "block for SECONDS (default: until unblocked)"),
    { NULL },
};

static const struct xp_option events_opts[] = {
    OPT("follow", 'f', OPT_BOOL, follow, NULL, "print every new event until Ctrl-C"),
    { NULL },
};

static const struct xp_option no_opts[] = {
    { NULL },
};

struct ctl_command {
    const char *name;
    const char *args;
    unsigned min_pos, max_pos;
    const struct xp_option *opts;
    json_t *(*request)(const struct ctl_opts *o);
    void (*print)(const json_t *result, const struct ctl_opts *o);
    const char *help;
};

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

static json_t *req_stats(const struct ctl_opts *o)
{
    (void)o;
    return json_pack("{s:s}", "op", "stats");
}

static void print_stats(const json_t *s, const struct ctl_opts *o)
{
    static const char *const hdr[] = { "PORT", "ROLE", "Q", "ZC", "RX_PKTS", "RX_PPS",
                                       "TX_PKTS", "TX_PPS", "TX_FULL", "K_RX_DROP",
                                       "RX_RING_FULL", "FILL_EMPTY", "INVALID" };
    const json_t *ports = json_object_get(s, "ports"), *port, *pipe, *pol;
    char when[64] = "-", buf[64];
    time_t ts = (time_t)ival(s, "ts");
    struct tm tm;
    size_t i, j;

    (void)o;
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
            printf("%13s", cell(buf, sizeof(buf), json_object_get(q, "rx_pps")));
            printf("%13lld", ival(q, "tx_packets"));
            printf("%13s", cell(buf, sizeof(buf), json_object_get(q, "tx_pps")));
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

/* ---- flows, block, unblock, reload, events, ops --------------------------------------- */

static json_t *req_flows(const struct ctl_opts *o)
{
    return json_pack("{s:s,s:i}", "op", "flows", "top", (int)o->top);
}

static void print_flows(const json_t *r, const struct ctl_opts *o)
{
    (void)o;
    print_table(json_is_array(r) ? r : json_object_get(r, "flows"));
}

static json_t *req_pair(const char *op, const struct ctl_opts *o)
{
    json_t *req = json_pack("{s:s,s:s}", "op", op, "unit", o->pos[0]);

    if (req && o->npos > 1)
        json_object_set_new(req, "dst", json_string(o->pos[1]));
    if (req && o->for_s)
        json_object_set_new(req, "seconds", json_integer(o->for_s));
    return req;
}

static json_t *req_block(const struct ctl_opts *o)
{
    return req_pair("block", o);
}

static json_t *req_unblock(const struct ctl_opts *o)
{
    return req_pair("unblock", o);
}

static json_t *req_reload(const struct ctl_opts *o)
{
    (void)o;
    return json_pack("{s:s}", "op", "reload");
}

static json_t *req_events(const struct ctl_opts *o)
{
    return json_pack("{s:s,s:b}", "op", "events", "follow", o->follow);
}

static json_t *req_ops(const struct ctl_opts *o)
{
    (void)o;
    return json_pack("{s:s}", "op", "help");
}

static void print_result(const json_t *r, const struct ctl_opts *o)
{
    (void)o;
    if (json_is_array(r))
        print_table(r);
    else
        print_kv(r);
}

/* One event line as "TIME EVENT UNIT -> DST key=value...", or the line itself if not ours. */
static void print_event(const char *line, size_t len)
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
        if (strcmp(key, "event") && strcmp(key, "unit") && strcmp(key, "dst") &&
            strcmp(key, "time") && strcmp(key, "proxy_id"))
            printf(" %s=%s", key, cell(buf, sizeof(buf), v));
    }
    putchar('\n');
    json_decref(ev);
}

static const struct ctl_command commands[] = {
    { "stats", "", 0, 0, no_opts, req_stats, print_stats,
      "the stats document: ports and queues, drops by reason, ring health, policer" },
    { "flows", "", 0, 0, flows_opts, req_flows, print_flows,
      "the heaviest (unit, destination) pairs with rates and verdicts" },
    { "block", "UNIT [DST]", 1, 2, block_opts, req_block, print_result,
      "block a unit (towards DST only, if given)" },
    { "unblock", "UNIT [DST]", 1, 2, no_opts, req_unblock, print_result,
      "lift a block" },
    { "reload", "", 0, 0, no_opts, req_reload, print_result,
      "re-read the configuration file (as SIGHUP does)" },
    { "events", "", 0, 0, events_opts, req_events, print_result,
      "events (overload, block, unblock); --follow streams them" },
    { "ops", "", 0, 0, no_opts, req_ops, print_result,
      "the ops this socket accepts" },
    { NULL },
};

/* ---- command line --------------------------------------------------------------------- */

static void print_opts(FILE *out, const struct xp_option *opts)
{
    for (const struct xp_option *op = opts; op->name; op++) {
        char lhs[48];

        snprintf(lhs, sizeof(lhs), "%s%c%s--%s%s%s", op->short_name ? "-" : "",
                 op->short_name ? op->short_name : ' ', op->short_name ? ", " : "  ",
                 op->name, op->metavar ? " " : "", op->metavar ? op->metavar : "");
        fprintf(out, "  %-26s %s\n", op->short_name ? lhs : lhs + 1, op->help);
    }
}

static void usage(FILE *out)
{
    fprintf(out, "usage: xpro-ctl [--socket PATH | --proxy ID] [--json] COMMAND [ARGS]\n\n"
                 "Commands:\n");
    for (const struct ctl_command *c = commands; c->name; c++) {
        char lhs[40];

        snprintf(lhs, sizeof(lhs), "%s %s", c->name, c->args);
        fprintf(out, "  %-26s %s\n", lhs, c->help);
        print_opts(out, c->opts);
    }
    fprintf(out, "\nOptions:\n");
    print_opts(out, global_opts);
    fprintf(out, "\nThe socket is mode 0660: run as root or as a member of its group.\n"
                 "Exit codes: 0 ok, 1 failure (no proxy, permission denied, the proxy refused),\n"
                 "2 bad usage.\n");
}

static const struct xp_option *find_opt(const struct xp_option *opts, const char *arg)
{
    size_t len = strcspn(arg, "=");

    for (const struct xp_option *op = opts; op && op->name; op++) {
        if (arg[0] == '-' && arg[1] == '-' && strlen(op->name) == len - 2 &&
            strncmp(op->name, arg + 2, len - 2) == 0)
            return op;
        if (arg[0] == '-' && arg[1] != '-' && op->short_name && arg[1] == op->short_name &&
            !arg[2])
            return op;
    }
    return NULL;
}

static int set_opt(const struct xp_option *op, const char *val, struct ctl_opts *o)
{
    char *p = (char *)o + op->offset, *end;
    unsigned long v;

    switch (op->type) {
    case OPT_BOOL:
        *(bool *)p = true;
        return 0;
    case OPT_STRING:
        *(const char **)p = val;
        return 0;
    case OPT_UINT:
        errno = 0;
        v = strtoul(val, &end, 10);
        if (errno || end == val || *end || v > 1000000000UL || val[0] == '-') {
            fprintf(stderr, "xpro-ctl: --%s: expected a number, got \"%s\"\n", op->name, val);
            return -EINVAL;
        }
        *(unsigned *)p = (unsigned)v;
        return 0;
    }
    return -EINVAL;
}

static int parse_args(int argc, char **argv, struct ctl_opts *o,
                      const struct ctl_command **cmd)
{
    bool only_pos = false;

    *o = defaults_ctl;
    *cmd = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *eq, *val = NULL;
        const struct xp_option *op;

        if (!only_pos && strcmp(a, "--") == 0) {
            only_pos = true;
            continue;
        }
        if (!only_pos && a[0] == '-' && a[1]) {
            op = find_opt(global_opts, a);
            if (!op && *cmd)
                op = find_opt((*cmd)->opts, a);
            if (!op) {
                fprintf(stderr, "xpro-ctl: unknown option %s%s%s (see --help)\n", a,
                        *cmd ? " for " : "", *cmd ? (*cmd)->name : "");
                return -EINVAL;
            }
            eq = strchr(a, '=');
            if (op->type != OPT_BOOL) {
                if (eq && a[1] == '-')
                    val = eq + 1;
                else if (i + 1 < argc)
                    val = argv[++i];
                else {
                    fprintf(stderr, "xpro-ctl: --%s needs %s\n", op->name, op->metavar);
                    return -EINVAL;
                }
            } else if (eq) {
                fprintf(stderr, "xpro-ctl: --%s takes no value\n", op->name);
                return -EINVAL;
            }
            if (set_opt(op, val, o))
                return -EINVAL;
            continue;
        }
        if (!*cmd) {
            for (const struct ctl_command *c = commands; c->name; c++) {
                if (strcmp(c->name, a) == 0)
                    *cmd = c;
            }
            if (!*cmd) {
                fprintf(stderr, "xpro-ctl: unknown command \"%s\" (see --help)\n", a);
                return -EINVAL;
            }
            continue;
        }
        if (o->npos == (*cmd)->max_pos) {
            fprintf(stderr, "xpro-ctl: %s: unexpected argument \"%s\" (usage: %s %s)\n",
                    (*cmd)->name, a, (*cmd)->name, (*cmd)->args);
            return -EINVAL;
        }
        o->pos[o->npos++] = a;
    }
    if (o->help || o->version)
        return 0;
    if (!*cmd) {
        fprintf(stderr, "xpro-ctl: no command (see --help)\n");
        return -EINVAL;
    }
    if (o->npos < (*cmd)->min_pos) {
        fprintf(stderr, "xpro-ctl: %s: missing argument (usage: %s %s)\n", (*cmd)->name,
                (*cmd)->name, (*cmd)->args);
        return -EINVAL;
    }
    if (o->socket && o->proxy) {
        fprintf(stderr, "xpro-ctl: --socket and --proxy are exclusive\n");
        return -EINVAL;
    }
    return 0;
}

static void connect_error(const char *path, int err)
{
    switch (err) {
    case ENOENT:
        fprintf(stderr, "xpro-ctl: no control socket at %s: is xpro-proxy running? "
                        "(--socket PATH or --proxy ID)\n", path);
        break;
    case ECONNREFUSED:
        fprintf(stderr, "xpro-ctl: nobody answers on %s: is xpro-proxy running? "
                        "(the socket file is stale)\n", path);
        break;
    case EACCES:
    case EPERM:
        fprintf(stderr, "xpro-ctl: permission denied on %s: run as root or as a member of "
                        "the socket's group (ls -l %s)\n", path, path);
        break;
    default:
        fprintf(stderr, "xpro-ctl: connecting to %s: %s\n", path, strerror(err));
    }
}

static volatile sig_atomic_t ctl_stop;

static void on_signal(int sig)
{
    (void)sig;
    ctl_stop = 1;
}

static int follow(struct xp_ctl_client *c, const struct ctl_opts *o)
{
    struct sigaction sa = { .sa_handler = on_signal };
    const char *line;
    ssize_t n;

    /* No SA_RESTART: Ctrl-C interrupts the wait and we leave cleanly with 0. */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    while (!ctl_stop) {
        n = xp_ctl_client__read_line(c, -1, &line);
        if (n == -EINTR)
            continue;
        if (n == 0) {
            fprintf(stderr, "xpro-ctl: the proxy closed the stream\n");
            return EXIT_FAIL;
        }
        if (n < 0) {
            fprintf(stderr, "xpro-ctl: reading events: %s\n", strerror((int)-n));
            return EXIT_FAIL;
        }
        if (o->json)
            printf("%s\n", line);
        else
            print_event(line, (size_t)n);
        fflush(stdout);
    }
    return EXIT_OK;
}

/*
 * The central node serves its stats only to authenticated peers: xpro-ctl
 * proves an id's secret like a proxy does (HMAC challenge-response, then a
 * sealed session), so operators get a read-only id of their own in the
 * central node's "operators".
 */
static int central_stats(const struct ctl_opts *o, const struct ctl_command *cmd)
{
    struct xp_sync_client_config cc = { 0 };
    uint8_t secret[XP_SYNC_SECRET_MAX];
    char host[64], hex[256] = "", why[320], *json = NULL;
    struct xp_sync_client *cl;
    uint16_t port;
    int len, ret;

    if (strcmp(cmd->name, "stats") != 0) {
        fprintf(stderr, "xpro-ctl: --central: only \"stats\" is served by the central node\n");
        return EXIT_FAIL_OPTION;
    }
    if (!o->id || !o->secret_file) {
        fprintf(stderr, "xpro-ctl: --central needs --id ID and --secret-file FILE\n");
        return EXIT_FAIL_OPTION;
    }
    if (xp_addr__hostport(o->central, host, sizeof(host), &port)) {
        fprintf(stderr, "xpro-ctl: --central %s: expected ADDRESS:PORT or [V6]:PORT\n",
                o->central);
        return EXIT_FAIL_OPTION;
    }
    if (xp_secret_file__read(o->secret_file, hex, sizeof(hex), why, sizeof(why)) < 0) {
        fprintf(stderr, "xpro-ctl: --secret-file %s\n", why);
        return EXIT_FAIL;
    }
    len = xp_sync_secret__parse(hex, secret, sizeof(secret));
    if (len < 0) {
        fprintf(stderr, "xpro-ctl: --secret-file %s: not a hex secret\n", o->secret_file);
        return EXIT_FAIL;
    }
    cc.host = host;
    cc.port = port;
    cc.proxy_id = o->id;
    cc.secret = secret;
    cc.secret_len = len;
    cc.connect_timeout_ms = o->timeout_s * 1000;
    cc.io_timeout_ms = o->timeout_s * 1000;
    cl = xp_sync_client__create(&cc);
    if (!cl) {
        fprintf(stderr, "xpro-ctl: central client: %s\n", strerror(errno));
        return EXIT_FAIL;
    }
    ret = xp_sync_client__central_stats(cl, &json);
    if (ret) {
        fprintf(stderr, "xpro-ctl: central node %s: %s\n", o->central,
                ret == -EACCES ? "authentication refused (id or secret)" : strerror(-ret));
        xp_sync_client__destroy(cl);
        return EXIT_FAIL;
    }
    if (o->json) {
        printf("%s\n", json);
    } else {
        json_t *doc = json_loads(json, 0, NULL);
        char *pretty = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_REAL_PRECISION(12)) : NULL;

        printf("%s\n", pretty ? pretty : json);
        free(pretty);
        json_decref(doc);
    }
    free(json);
    xp_sync_client__destroy(cl);
    return EXIT_OK;
}

int main(int argc, char **argv)
{
    const struct ctl_command *cmd;
    struct xp_ctl_client *c;
    char path[108], err[512];
    json_t *req, *result = NULL;
    struct ctl_opts o;
    int ret;

    if (parse_args(argc, argv, &o, &cmd))
        return EXIT_FAIL_OPTION;
    if (o.help) {
        usage(stdout);
        return EXIT_OK;
    }
    if (o.version) {
        printf("xpro-ctl %s\n", XP_VERSION);
        return EXIT_OK;
    }
    if (o.central)
        return central_stats(&o, cmd);
    if (o.socket) {
        snprintf(path, sizeof(path), "%s", o.socket);
    } else if (!o.proxy && getenv("XPRO_CTL_SOCKET")) {
        snprintf(path, sizeof(path), "%s", getenv("XPRO_CTL_SOCKET"));
    } else if (xp_ctl_default_path(o.proxy ? o.proxy : CTL_DEFAULT_ID, path, sizeof(path))) {
        fprintf(stderr, "xpro-ctl: --proxy %s: not a proxy id\n", o.proxy);
        return EXIT_FAIL_OPTION;
    }

    c = xp_ctl_client__connect(path, (int)o.timeout_s * 1000);
    if (!c) {
        connect_error(path, errno);
        return EXIT_FAIL;
    }
    req = cmd->request(&o);
    if (!req) {
        xp_ctl_client__destroy(c);
        return EXIT_FAIL;
    }
    ret = xp_ctl_client__request(c, req, (int)o.timeout_s * 1000, &result, err, sizeof(err));
    json_decref(req);
    if (ret == XP_CTL_E_REPLY) {
        fprintf(stderr, "xpro-ctl: %s: the proxy refused: %s\n", cmd->name, err);
        ret = EXIT_FAIL;
    } else if (ret) {
        fprintf(stderr, "xpro-ctl: %s: %s\n", path, err);
        ret = EXIT_FAIL;
    } else if (cmd->request == req_events && o.follow) {
        ret = follow(c, &o);
    } else {
        if (o.json) {
            char *s = json_dumps(result, JSON_COMPACT | JSON_ENCODE_ANY |
                                 JSON_REAL_PRECISION(15));

            printf("%s\n", s ? s : "null");
            free(s);
        } else {
            cmd->print(result, &o);
        }
        ret = EXIT_OK;
    }
    json_decref(result);
    xp_ctl_client__destroy(c);
    return ret;
}
