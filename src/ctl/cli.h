/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * xpro-ctl's own pieces (the program, not the ctl library: ctl.h is that): the parsed
 * command line, the command table, and the tables it prints. main.c wires them.
 */
#ifndef XP_CTL_CLI_H
#define XP_CTL_CLI_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define XP_CLI_DEFAULT_ID "xpro"
#define XP_CLI_MAX_POS 2
#define XP_CLI_LAST_UNSET ((unsigned)-1)
#define XP_CLI_LAST_DEFAULT 20
#define XP_CLI_LAST_MAX 1024 /* the proxy keeps no more */

struct xp_cli_opts {
    const char *socket;
    const char *proxy;
    const char *central;
    const char *id;
    const char *secret_file;
    bool json;
    unsigned timeout_s;
    unsigned top;
    unsigned for_s;
    const char *reason;
    const char *by;
    unsigned last;      /* events: XP_CLI_LAST_UNSET when not given */
    unsigned interval_s; /* stats: seconds between the two samples the rates come from */
    bool follow;
    /* capture */
    const char *unit;
    const char *dst;
    const char *verdict;
    const char *write;  /* -w FILE, "-" standard output */
    unsigned count;
    unsigned duration_s;
    bool help;
    bool version;
    const char *pos[XP_CLI_MAX_POS];
    unsigned npos;
};

/* One subcommand: its positional arguments, its own options (cli_opts.c), the request it
 * sends ({"op": OP} and what ADD_ARGS adds) and how its result is printed when --json is
 * not given. */
struct xp_cli_command {
    const char *name;
    const char *op;
    const char *args;
    unsigned min_pos, max_pos;
    const struct xp_cli_option *opts;
    void (*add_args)(json_t *req, const struct xp_cli_opts *o);
    void (*print)(const json_t *result);
    bool streams; /* with --follow, the reply is followed by a stream of event lines */
    bool rates;   /* the table shows rates: two results interval_s apart (not with --json) */
    const char *help;
    /* a command that runs its own conversation on the socket at path (capture), or NULL */
    int (*run)(const char *path, const struct xp_cli_opts *o);
};

/* Parses argv with getopt_long: global options first, then COMMAND, then its arguments
 * and options (global ones are also accepted there). 0 when O and *CMD are complete (or
 * --help / --version was asked: *CMD may then be NULL); -EINVAL when the command line is
 * wrong, said on stderr. */
int xp_cli__parse(int argc, char **argv, struct xp_cli_opts *o,
                  const struct xp_cli_command **cmd);
void xp_cli__usage(FILE *out);

/* The request CMD sends with the options O; NULL when out of memory. */
json_t *xp_cli__request(const struct xp_cli_command *cmd, const struct xp_cli_opts *o);

/* The tables (cli_render.c). */
void xp_cli_print_stats(const json_t *stats);
/* The stats table with per-queue rates from the counters of prev, an earlier document. */
void xp_cli_print_stats_rates(const json_t *prev, const json_t *stats);
void xp_cli_print_blocks(const json_t *result);
void xp_cli_print_events(const json_t *result);
void xp_cli_print_flows(const json_t *result);
void xp_cli_print_result(const json_t *result);
void xp_cli_print_event(const char *line, size_t len);
void xp_cli_print_why(const json_t *result);
/* xpro-ctl --central ... why: the central node's rows by proxy. */
void xp_cli_print_central_why(const json_t *result);

/* Why connecting to the socket at path failed (errno err), on stderr, with what to do. */
void xp_cli_connect_error(const char *path, int err);

/* xpro-ctl capture (cli_capture.c): stream the proxy's frames into a pcapng file. An exit code. */
int xp_cli_capture(const char *path, const struct xp_cli_opts *o);

#endif /* XP_CTL_CLI_H */
