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
    bool follow;
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
    const char *help;
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
void xp_cli_print_flows(const json_t *result);
void xp_cli_print_result(const json_t *result);
void xp_cli_print_event(const char *line, size_t len);

#endif /* XP_CTL_CLI_H */
