// SPDX-License-Identifier: GPL-2.0-only
/*
 * xpro-ctl's command line: one table of global options, one per subcommand, each entry
 * bound by offsetof to its field of struct xp_cli_opts; getopt_long's arrays and the usage
 * are built from the same tables, so an option and its help cannot drift apart.
 *
 * Parsing runs getopt_long twice: over the global options up to the first word (the
 * command, "+" stops there), then over the command's words with its own options added, in
 * any order ("block UNIT --for 60 DST" works), the global ones still accepted.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "src/ctl/cli.h"
#include "src/ctl/ctl.h"

enum cli_opt_type {
    CLI_OPT_BOOL = 0,
    CLI_OPT_STRING = 1,
    CLI_OPT_UINT = 2,
};

struct xp_cli_option {
    const char *name;
    char short_name;
    enum cli_opt_type type;
    size_t offset;
    const char *metavar;
    const char *help;
};

#define OPT(n, s, t, field, mv, h)                                                                 \
    { n, s, CLI_OPT_##t, offsetof(struct xp_cli_opts, field), mv, h }

/* getopt_long's value for the i-th option of the joined tables (short options keep their
 * letter as getopt_long returns it). */
#define CLI_VAL_BASE 0x100
#define CLI_MAX_OPTS 16
#define CLI_UINT_MAX 1000000000UL

static const struct xp_cli_opts defaults_cli = {
    .timeout_s = 5,
    .top = 20,
    .last = XP_CLI_LAST_UNSET,
    .interval_s = 1,
    .count = 100,
    .duration_s = 10,
};

static const struct xp_cli_option global_opts[] = {
    OPT("socket", 's', STRING, socket, "PATH",
        "control socket (default " XP_CTL_DIR "/" XP_CLI_DEFAULT_ID ".sock, or $XPRO_CTL_SOCKET)"),
    OPT("proxy", 'p', STRING, proxy, "ID", "the proxy with this proxy_id: " XP_CTL_DIR "/ID.sock"),
    OPT("central", 0, STRING, central, "ADDR:PORT", "ask the central node (stats, why)"),
    OPT("id", 0, STRING, id, "ID", "with --central: the id to authenticate as"),
    OPT("secret-file", 0, STRING, secret_file, "FILE",
        "with --central: the id's secret (hex) in FILE"),
    OPT("json", 'j', BOOL, json, NULL, "print the proxy's result as JSON, no table"),
    OPT("timeout", 0, UINT, timeout_s, "SEC", "wait at most SEC for a reply (default 5)"),
    OPT("help", 'h', BOOL, help, NULL, "this text"),
    OPT("version", 'V', BOOL, version, NULL, "print the version"),
    { NULL },
};

static const struct xp_cli_option flows_opts[] = {
    OPT("top", 'n', UINT, top, "N", "the N heaviest pairs (default 20)"),
    { NULL },
};

static const struct xp_cli_option block_opts[] = {
    OPT("for", 0, UINT, for_s, "SECONDS", "block for SECONDS (default: until unblocked)"),
    OPT("reason", 'r', STRING, reason, "TEXT", "why (kept with the block, in its events)"),
    OPT("by", 0, STRING, by, "NAME", "who (default: your account)"),
    { NULL },
};

static const struct xp_cli_option unblock_opts[] = {
    OPT("reason", 'r', STRING, reason, "TEXT", "why (in the unblock event)"),
    OPT("by", 0, STRING, by, "NAME", "who (default: your account)"),
    { NULL },
};

static const struct xp_cli_option events_opts[] = {
    OPT("follow", 'f', BOOL, follow, NULL, "print every new event until Ctrl-C"),
    OPT("last", 'n', UINT, last, "N",
        "first the N latest (default 20, none with --follow; at most 1024)"),
    { NULL },
};

static const struct xp_cli_option stats_opts[] = {
    OPT("interval", 'i', UINT, interval_s, "SEC",
        "queue rates over SEC seconds (default 1; 0: counters only)"),
    { NULL },
};

static const struct xp_cli_option capture_opts[] = {
    OPT("write", 'w', STRING, write, "FILE", "the pcapng file to write (- for standard output)"),
    OPT("unit", 0, STRING, unit, "ADDR", "only frames from this unit"),
    OPT("dst", 0, STRING, dst, "ADDR", "only frames towards this destination"),
    OPT("verdict", 0, STRING, verdict, "NAME",
        "only frames with this verdict (forward, drop, drop_unit_rate, ...)"),
    OPT("count", 'c', UINT, count, "N", "stop after N frames (default 100, at most 1000000)"),
    OPT("duration", 'd', UINT, duration_s, "SEC", "stop after SEC seconds (default 10, at most 3600)"),
    { NULL },
};

static const struct xp_cli_option no_opts[] = {
    { NULL },
};

/* ---- the requests: {"op": OP} and what these add ---------------------------------------- */

static void add_top(json_t *req, const struct xp_cli_opts *o)
{
    json_object_set_new(req, "top", json_integer(o->top));
}

static void add_pair(json_t *req, const struct xp_cli_opts *o)
{
    json_object_set_new(req, "unit", json_string(o->pos[0]));
    if (o->npos > 1)
        json_object_set_new(req, "dst", json_string(o->pos[1]));
    if (o->for_s)
        json_object_set_new(req, "seconds", json_integer(o->for_s));
    if (o->reason)
        json_object_set_new(req, "reason", json_string(o->reason));
    if (o->by)
        json_object_set_new(req, "by", json_string(o->by));
}

static void add_follow(json_t *req, const struct xp_cli_opts *o)
{
    unsigned last = o->last != XP_CLI_LAST_UNSET ? o->last
                  : o->follow                    ? 0
                                                 : XP_CLI_LAST_DEFAULT;

    json_object_set_new(req, "follow", json_boolean(o->follow));
    json_object_set_new(req, "last", json_integer(last));
}

static const struct xp_cli_command commands[] = {
    { "stats", "stats", "", 0, 0, stats_opts, NULL, xp_cli_print_stats, false, true,
      "the stats document: ports and queues, drops by reason, ring health, policer" },
    { "flows", "flows", "", 0, 0, flows_opts, add_top, xp_cli_print_flows, false, false,
      "the heaviest (unit, destination) pairs with rates and verdicts" },
    { "block", "block", "UNIT [DST]", 1, 2, block_opts, add_pair, xp_cli_print_result, false,
      false, "block a unit (towards DST only, if given); kept across restarts" },
    { "unblock", "unblock", "UNIT [DST]", 1, 2, unblock_opts, add_pair, xp_cli_print_result,
      false, false, "lift an operator block" },
    { "blocks", "blocks", "", 0, 0, no_opts, NULL, xp_cli_print_blocks, false, false,
      "the operator blocks: unit, destination, who, why, since, until" },
    { "reload", "reload", "", 0, 0, no_opts, NULL, xp_cli_print_result, false, false,
      "re-read the configuration file (as SIGHUP does)" },
    { "events", "events", "", 0, 0, events_opts, add_follow, xp_cli_print_events, true, false,
      "the latest events (overload, block, unblock, sync); --follow streams new ones" },
    { "ops", "help", "", 0, 0, no_opts, NULL, xp_cli_print_result, false, false,
      "the ops this socket accepts" },
    { "why", "why", "UNIT DST", 2, 2, no_opts, add_pair, xp_cli_print_why, false, false,
      "why a pair is dropped (or not) now: its window, its destination's, the thresholds" },
    { "capture", "capture", "-w FILE", 0, 0, capture_opts, NULL, NULL, false, false,
      "sampled frames with their verdicts into a pcapng file (Wireshark)", xp_cli_capture },
    { NULL },
};

json_t *xp_cli__request(const struct xp_cli_command *cmd, const struct xp_cli_opts *o)
{
    json_t *req = json_pack("{s:s}", "op", cmd->op);

    if (req && cmd->add_args)
        cmd->add_args(req, o);
    return req;
}

/* ---- usage ---------------------------------------------------------------------------- */

static void print_opts(FILE *out, int indent, const struct xp_cli_option *opts)
{
    for (const struct xp_cli_option *op = opts; op->name; op++) {
        char lhs[48];

        if (op->short_name)
            snprintf(lhs, sizeof(lhs), "-%c, --%s%s%s", op->short_name, op->name,
                     op->metavar ? " " : "", op->metavar ?: "");
        else
            snprintf(lhs, sizeof(lhs), "    --%s%s%s", op->name, op->metavar ? " " : "",
                     op->metavar ?: "");
        fprintf(out, "%*s%-*s %s\n", indent, "", 28 - indent, lhs, op->help);
    }
}

void xp_cli__usage(FILE *out)
{
    fprintf(out, "usage: xpro-ctl [--socket PATH | --proxy ID] [--json] COMMAND [ARGS]\n\n"
                 "Commands:\n");
    for (const struct xp_cli_command *c = commands; c->name; c++) {
        char lhs[40];

        snprintf(lhs, sizeof(lhs), "%s %s", c->name, c->args);
        fprintf(out, "  %-26s %s\n", lhs, c->help);
        print_opts(out, 6, c->opts);
    }
    fprintf(out, "\nOptions:\n");
    print_opts(out, 2, global_opts);
    fprintf(out, "\nThe socket is mode 0660: run as root or as a member of its group.\n"
                 "Exit codes: 0 ok, 1 failure (no proxy, permission denied, the proxy refused),\n"
                 "2 bad usage.\n");
}

/* ---- parsing -------------------------------------------------------------------------- */

/* The options a getopt_long pass accepts: the global table, then EXTRA's. */
struct cli_pass {
    const struct xp_cli_option *opt[CLI_MAX_OPTS];
    struct option lopts[CLI_MAX_OPTS + 1];
    char shorts[2 * CLI_MAX_OPTS + 3];
    unsigned n;
};

static void pass_init(struct cli_pass *p, const char *lead, const struct xp_cli_option *extra)
{
    const struct xp_cli_option *tabs[2] = { global_opts, extra };
    size_t s = strlen(lead);

    memcpy(p->shorts, lead, s);
    p->n = 0;
    for (unsigned t = 0; t < 2; t++) {
        for (const struct xp_cli_option *op = tabs[t]; op && op->name; op++) {
            bool arg = op->type != CLI_OPT_BOOL;

            /* The tables are ours and small: a static assert cannot count them, this can. */
            if (p->n == CLI_MAX_OPTS)
                abort();
            p->opt[p->n] = op;
            p->lopts[p->n] = (struct option){ op->name, arg ? required_argument : no_argument,
                                              NULL, CLI_VAL_BASE + (int)p->n };
            p->n++;
            if (op->short_name) {
                p->shorts[s++] = op->short_name;
                if (arg)
                    p->shorts[s++] = ':';
            }
        }
    }
    p->lopts[p->n] = (struct option){ NULL, 0, NULL, 0 };
    p->shorts[s] = '\0';
}

static const struct xp_cli_option *pass_find(const struct cli_pass *p, int c)
{
    if (c >= CLI_VAL_BASE && c < CLI_VAL_BASE + (int)p->n)
        return p->opt[c - CLI_VAL_BASE];
    for (unsigned i = 0; i < p->n; i++) {
        if (c && p->opt[i]->short_name == c)
            return p->opt[i];
    }
    return NULL;
}

static int store(const struct xp_cli_option *op, const char *val, struct xp_cli_opts *o)
{
    char *field = (char *)o + op->offset, *end;
    unsigned long v;

    switch (op->type) {
    case CLI_OPT_BOOL:
        *(bool *)field = true;
        return 0;
    case CLI_OPT_STRING:
        *(const char **)field = val;
        return 0;
    case CLI_OPT_UINT:
        errno = 0;
        v = strtoul(val, &end, 10);
        if (errno || end == val || *end || v > CLI_UINT_MAX || val[0] == '-') {
            fprintf(stderr, "xpro-ctl: --%s: expected a number, got \"%s\"\n", op->name, val);
            return -EINVAL;
        }
        *(unsigned *)field = (unsigned)v;
        return 0;
    }
    return -EINVAL;
}

/* One getopt_long pass over argv[0..argc) (argv[0] is skipped: the program or the command). */
static int run_pass(struct cli_pass *p, int argc, char **argv, const char *where,
                    struct xp_cli_opts *o)
{
    const struct xp_cli_option *op;
    int c;

    opterr = 0; /* our messages, naming the command */
    optind = 0; /* a fresh scan: glibc re-reads the option string */
    while ((c = getopt_long(argc, argv, p->shorts, p->lopts, NULL)) != -1) {
        op = c == '?' || c == ':' ? pass_find(p, optopt) : pass_find(p, c);
        if (c == ':' && op) {
            fprintf(stderr, "xpro-ctl: --%s needs %s\n", op->name, op->metavar);
            return -EINVAL;
        }
        if (c == '?' && op) {
            fprintf(stderr, "xpro-ctl: --%s takes no value\n", op->name);
            return -EINVAL;
        }
        if (!op) {
            fprintf(stderr, "xpro-ctl: unknown option %s%s%s (see --help)\n",
                    argv[optind - 1], where ? " for " : "", where ?: "");
            return -EINVAL;
        }
        if (store(op, optarg, o))
            return -EINVAL;
    }
    return 0;
}

int xp_cli__parse(int argc, char **argv, struct xp_cli_opts *o,
                  const struct xp_cli_command **cmd)
{
    struct cli_pass pass;
    int nwords;
    char **words;

    *o = defaults_cli;
    *cmd = NULL;
    pass_init(&pass, "+:", NULL);
    if (run_pass(&pass, argc, argv, NULL, o))
        return -EINVAL;
    if (o->help || o->version)
        return 0;
    if (optind >= argc) {
        fprintf(stderr, "xpro-ctl: no command (see --help)\n");
        return -EINVAL;
    }
    for (const struct xp_cli_command *c = commands; c->name; c++) {
        if (strcmp(c->name, argv[optind]) == 0)
            *cmd = c;
    }
    if (!*cmd) {
        fprintf(stderr, "xpro-ctl: unknown command \"%s\" (see --help)\n", argv[optind]);
        return -EINVAL;
    }

    /* The command's words, its name in the place of argv[0]. */
    words = argv + optind;
    nwords = argc - optind;
    pass_init(&pass, ":", (*cmd)->opts);
    if (run_pass(&pass, nwords, words, (*cmd)->name, o))
        return -EINVAL;
    if (o->help || o->version)
        return 0;
    for (int i = optind; i < nwords; i++) {
        if (o->npos == (*cmd)->max_pos) {
            fprintf(stderr, "xpro-ctl: %s: unexpected argument \"%s\" (usage: %s %s)\n",
                    (*cmd)->name, words[i], (*cmd)->name, (*cmd)->args);
            return -EINVAL;
        }
        o->pos[o->npos++] = words[i];
    }
    if (o->npos < (*cmd)->min_pos) {
        fprintf(stderr, "xpro-ctl: %s: missing argument (usage: %s %s)\n", (*cmd)->name,
                (*cmd)->name, (*cmd)->args);
        return -EINVAL;
    }
    if (o->last != XP_CLI_LAST_UNSET && o->last > XP_CLI_LAST_MAX) {
        fprintf(stderr, "xpro-ctl: --last: at most %d (the proxy keeps no more)\n",
                XP_CLI_LAST_MAX);
        return -EINVAL;
    }
    if (o->interval_s > 60) {
        fprintf(stderr, "xpro-ctl: --interval: at most 60 seconds\n");
        return -EINVAL;
    }
    if (o->socket && o->proxy) {
        fprintf(stderr, "xpro-ctl: --socket and --proxy are exclusive\n");
        return -EINVAL;
    }
    return 0;
}
