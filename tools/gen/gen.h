/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * xpro-gen's one header: what its files share. main.c dispatches to the subcommands
 * (send.c, sink.c, rtt.c, tx_csum_off.c); opts.c parses every subcommand's options from
 * its table; common.c holds the clocks, the stop flag, the per-second buckets and the
 * CSV files; unit.c reads a scenario's units and builds their frames. Nothing outside
 * tools/gen includes this header. xpro-gen has one thread: every function here runs on
 * it. Errors are returned as 0 or a negative errno unless said otherwise; the exit codes
 * are src/util/exit_codes.h's and only the subcommands' entry points return them.
 */
#ifndef XP_GEN_H
#define XP_GEN_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#define XP_GEN_COAP_PORT 5683
#define XP_GEN_MAX_SECONDS 86400

#define XP_GEN_EXIT_CODES_HELP                                                                     \
    "Exit codes: 0 ok, 1 failure, 2 bad option or scenario, 4 out of memory,\n"                    \
    "5 interface missing.\n"

/* ---- options (opts.c): one table per subcommand ---------------------------------------- */

enum xp_gen_opt_type {
    XP_GEN_OPT_STRING = 0, /* const char * */
    XP_GEN_OPT_DOUBLE = 1, /* double in [lo, hi] */
    XP_GEN_OPT_INT = 2,    /* int in [lo, hi] */
    XP_GEN_OPT_UINT = 3,   /* unsigned in [lo, hi] */
    XP_GEN_OPT_U16 = 4,    /* uint16_t in [lo, hi] */
    XP_GEN_OPT_MAC = 5,    /* struct xp_gen_mac */
};

struct xp_gen_mac {
    uint8_t addr[6];
    bool set;
};

/* One option of a subcommand, bound to a field of the subcommand's options struct. Every
 * option takes a value; --log-level, --help and --version are added to every table. */
struct xp_gen_opt {
    const char *name;
    const char *metavar;
    enum xp_gen_opt_type type;
    size_t offset;
    double lo, hi;
    bool required;
    const char *help;
};

/* Table rows of the options struct ST: a required string, or an optional value of type
 * XP_GEN_OPT_<TYPE> (numbers in [LO, HI]). */
#define XP_GEN_OPT_REQUIRED(st, name, metavar, field, help)                                        \
    { name, metavar, XP_GEN_OPT_STRING, offsetof(st, field), 0, 0, true, help }
#define XP_GEN_OPT(st, name, metavar, type, field, lo, hi, help)                                   \
    { name, metavar, XP_GEN_OPT_##type, offsetof(st, field), lo, hi, false, help }

/* A subcommand: main.c copies DEFAULTS (an options struct of OPTS_SIZE bytes), parses
 * argv into the copy with OPTS, catches SIGINT/SIGTERM if STOPPABLE, and returns what RUN
 * returns: an exit code. */
struct xp_gen_cmd {
    const char *name;
    const char *summary;
    const struct xp_gen_opt *opts; /* ends with an entry whose name is NULL */
    const void *defaults;
    size_t opts_size;
    bool stoppable;
    int (*run)(const void *opts);
};

/* Defines xp_gen_cmd_<ID> from <ID>_table, defaults_<ID> (a struct <ID>_opts) and
 * cmd_<ID>(), which the subcommand's file defines. */
#define XP_GEN_DEFINE_CMD(id, cmd_name, is_stoppable, text)                                        \
    const struct xp_gen_cmd xp_gen_cmd_##id = {                                                    \
        .name = cmd_name,                                                                          \
        .summary = text,                                                                           \
        .opts = id##_table,                                                                        \
        .defaults = &defaults_##id,                                                                \
        .opts_size = sizeof(struct id##_opts),                                                     \
        .stoppable = is_stoppable,                                                                 \
        .run = cmd_##id,                                                                           \
    }

extern const struct xp_gen_cmd xp_gen_cmd_send;
extern const struct xp_gen_cmd xp_gen_cmd_sink;
extern const struct xp_gen_cmd xp_gen_cmd_rtt;
extern const struct xp_gen_cmd xp_gen_cmd_tx_csum_off;

/* What xp_gen_opts__parse() returns when it answered --help or --version. */
#define XP_GEN_OPTS_DONE 1

/* Parses argv[2..] with CMD's table into OPTS (which holds the defaults): 0, then OPTS is
 * complete; XP_GEN_OPTS_DONE when --help or --version was answered on stdout; -EINVAL
 * when an option, its value, a required option or a stray argument is wrong (said on
 * stderr, with the usage). */
int xp_gen_opts__parse(const struct xp_gen_cmd *cmd, int argc, char **argv, void *opts);

/* "usage: xpro-gen CMD ..." with every option and its help. */
void xp_gen_opts__usage(FILE *f, const struct xp_gen_cmd *cmd);

/* One synopsis line of CMD after LEAD ("usage: " or its width in spaces), wrapped. */
void xp_gen_opts__synopsis(FILE *f, const char *lead, const struct xp_gen_cmd *cmd);

void xp_gen_print_version(void);

/* ---- common.c ------------------------------------------------------------------------- */

/* A number in [lo, hi] (the whole string), or a MAC address "aa:bb:cc:dd:ee:ff". */
int xp_gen_parse_num(const char *s, double lo, double hi, double *out);
int xp_gen_parse_mac(const char *s, uint8_t mac[6]);

/* CLOCK_MONOTONIC or CLOCK_REALTIME in seconds; a sleep of S seconds (none if S <= 0). */
double xp_gen_now(clockid_t clk);
void xp_gen_sleep(double s);

/* SIGINT and SIGTERM set the stop flag that every loop polls. */
void xp_gen_catch_signals(void);
bool xp_gen_stopping(void);

/* IFNAME's index, or 0 after saying that there is no such interface. */
unsigned xp_gen_ifindex(const char *ifname);

/* Per-second buckets: wall-clock seconds counted from t0, the epoch second the run started
 * in, so that the sender's rows and the sink's join on (t, src). n is the duration rounded
 * up plus two; done counts the seconds already printed. */
struct xp_gen_seconds {
    long t0;
    unsigned n;
    unsigned done;
};

void xp_gen_seconds__init(struct xp_gen_seconds *s, double duration);
void xp_gen_seconds__start(struct xp_gen_seconds *s, double wall0);

/* The bucket of the moment SINCE_T0 seconds after t0; the last bucket takes what is later. */
unsigned xp_gen_seconds__index(const struct xp_gen_seconds *s, double since_t0);

/* Prints every bucket before SEC not yet printed: PRINT(CTX, epoch second, bucket). */
void xp_gen_seconds__print_until(struct xp_gen_seconds *s, unsigned sec,
                                 void (*print)(const void *ctx, long t, unsigned sec),
                                 const void *ctx);

/* At the end of a run: prints the buckets not yet printed up to the current one. */
void xp_gen_seconds__finish(struct xp_gen_seconds *s,
                            void (*print)(const void *ctx, long t, unsigned sec),
                            const void *ctx);

/* An --out CSV file: opened with its header line, NULL (said) on failure; closed, 0 or a
 * negative errno (said). */
FILE *xp_gen_csv__open(const char *path, const char *header);
int xp_gen_csv__close(FILE *f, const char *path);

/* Writes PATH at once: HEADER, then for every second printed so far and each of N rows,
 * ROW(CTX, F, epoch second, bucket, row). 0 or a negative errno (said). */
int xp_gen_csv__write_seconds(const char *path, const char *header,
                              const struct xp_gen_seconds *secs, unsigned n,
                              void (*row)(const void *ctx, FILE *f, long t, unsigned sec,
                                          unsigned i),
                              const void *ctx);

/* ---- unit.c: a scenario's units and their frames -------------------------------------- */

#define XP_GEN_MAX_UNITS 1024
#define XP_GEN_MAX_FRAME 1514

enum xp_gen_profile {
    XP_PROF_CONSTANT = 0,
    XP_PROF_ONOFF = 1,
    XP_PROF_RAMP = 2,
    XP_PROF_FLOOD = 3,
};

struct xp_gen_unit {
    char name[32];
    char src_str[INET6_ADDRSTRLEN];
    int family;
    uint8_t src[16];
    uint8_t dst[16];
    uint8_t smac[6];
    uint8_t dmac[6];
    bool have_smac;
    bool have_dmac;
    unsigned group;
    enum xp_gen_profile profile;
    bool max_rate;
    double rate, flood, to, at, on_s, off_s, ramp_s, start, stop;
    unsigned size;
    uint16_t sport, dport;
    /* runtime */
    uint8_t tmpl[XP_GEN_MAX_FRAME];
    unsigned len;
    double tokens;
    uint16_t msg_id;
    uint64_t sent_total;
    uint64_t *per_sec;
};

/* Reads the unit lines of PATH whose group is GROUP (all groups if GROUP < 0) into a new
 * array (free() it): 0, -ENOMEM, or another negative errno once the file or line is said. */
int xp_gen_scenario__load(const char *path, int group, struct xp_gen_unit **units_out,
                          unsigned *n_out);

/* The unit's rate at T seconds after the start; < 0 means "as fast as possible". */
double xp_gen_unit__rate(const struct xp_gen_unit *u, double t);

/* Writes the unit's frame into its template (dmac and smac set). */
void xp_gen_unit__build(struct xp_gen_unit *u);

/* Puts the CoAP message id and the UDP checksum into F, a copy of the template. Hot path. */
void xp_gen_unit__stamp(const struct xp_gen_unit *u, uint8_t *f, uint16_t msg_id);

#endif /* XP_GEN_H */
