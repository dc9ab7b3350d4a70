// SPDX-License-Identifier: GPL-2.0-only
/*
 * Options from a subcommand's table: getopt_long's array is built from the table, each
 * value is checked and stored at its field's offset, and the usage is written from the
 * same table, so that an option, its range and its help cannot drift apart.
 */
#include <errno.h>
#include <getopt.h>
#include <string.h>

#include "src/util/log.h"
#include "tools/gen/gen.h"
#include "xp_build_config.h"

#define GEN_MAX_OPTS 16
#define GEN_USAGE_WIDTH 100

/* getopt_long's values: a table entry is GEN_VAL_TABLE + its index. */
enum {
    GEN_VAL_LOG_LEVEL = 0x100,
    GEN_VAL_TABLE = 0x200,
};

void xp_gen_print_version(void)
{
    printf("xpro-gen %s\n", XP_VERSION);
}

static int opt_store(const struct xp_gen_opt *op, const char *val, void *opts)
{
    void *field = (char *)opts + op->offset;
    double v = 0;

    if (op->type == XP_GEN_OPT_STRING) {
        *(const char **)field = val;
        return 0;
    }
    if (op->type == XP_GEN_OPT_MAC) {
        struct xp_gen_mac *m = field;

        if (xp_gen_parse_mac(val, m->addr))
            return -EINVAL;
        m->set = true;
        return 0;
    }
    if (xp_gen_parse_num(val, op->lo, op->hi, &v))
        return -EINVAL;
    switch (op->type) {
    case XP_GEN_OPT_DOUBLE:
        *(double *)field = v;
        break;
    case XP_GEN_OPT_INT:
        *(int *)field = (int)v;
        break;
    case XP_GEN_OPT_UINT:
        *(unsigned *)field = (unsigned)v;
        break;
    case XP_GEN_OPT_U16:
        *(uint16_t *)field = (uint16_t)v;
        break;
    default:
        return -EINVAL;
    }
    return 0;
}

void xp_gen_opts__synopsis(FILE *f, const char *lead, const struct xp_gen_cmd *cmd)
{
    int indent = fprintf(f, "%sxpro-gen %s", lead, cmd->name), col = indent;

    for (const struct xp_gen_opt *op = cmd->opts; op->name; op++) {
        char word[64];
        int len = snprintf(word, sizeof(word), op->required ? "--%s %s" : "[--%s %s]",
                           op->name, op->metavar);

        if (col + 1 + len > GEN_USAGE_WIDTH) {
            fprintf(f, "\n%*s", indent, "");
            col = indent;
        }
        col += fprintf(f, " %s", word);
    }
    fputc('\n', f);
}

void xp_gen_opts__usage(FILE *f, const struct xp_gen_cmd *cmd)
{
    xp_gen_opts__synopsis(f, "usage: ", cmd);
    fprintf(f, "%s\n", cmd->summary);
    for (const struct xp_gen_opt *op = cmd->opts; op->name; op++) {
        char word[64];

        snprintf(word, sizeof(word), "--%s %s", op->name, op->metavar);
        fprintf(f, "  %-22s %s\n", word, op->help);
    }
    fprintf(f, "  %-22s %s\n", "--log-level LEVEL", "err|warn|info|debug (default info)");
    fprintf(f, "  %-22s %s\n", "-h, --help", "this text");
    fprintf(f, "  %-22s %s\n", "-V, --version", "print the version");
    fputs(XP_GEN_EXIT_CODES_HELP, f);
}

static int opts_bad(const struct xp_gen_cmd *cmd)
{
    xp_gen_opts__usage(stderr, cmd);
    return -EINVAL;
}

int xp_gen_opts__parse(const struct xp_gen_cmd *cmd, int argc, char **argv, void *opts)
{
    struct option lopts[GEN_MAX_OPTS + 4];
    enum xp_log_level lvl;
    uint32_t seen = 0;
    unsigned n = 0;
    int c;

    for (const struct xp_gen_opt *op = cmd->opts; op->name; op++, n++) {
        if (n == GEN_MAX_OPTS) {
            pr_err("%s: more than %d options in the table", cmd->name, GEN_MAX_OPTS);
            return -EINVAL;
        }
        lopts[n] = (struct option){op->name, required_argument, NULL, GEN_VAL_TABLE + (int)n};
    }
    lopts[n++] = (struct option){"log-level", required_argument, NULL, GEN_VAL_LOG_LEVEL};
    lopts[n++] = (struct option){"help", no_argument, NULL, 'h'};
    lopts[n++] = (struct option){"version", no_argument, NULL, 'V'};
    lopts[n] = (struct option){NULL, 0, NULL, 0};
    optind = 2;
    while ((c = getopt_long(argc, argv, "hV", lopts, NULL)) != -1) {
        if (c == 'h') {
            xp_gen_opts__usage(stdout, cmd);
            return XP_GEN_OPTS_DONE;
        }
        if (c == 'V') {
            xp_gen_print_version();
            return XP_GEN_OPTS_DONE;
        }
        if (c == GEN_VAL_LOG_LEVEL) {
            if (xp_log_level_parse(optarg, &lvl))
                goto bad_value;
            xp_log_set_level(lvl);
            continue;
        }
        if (c < GEN_VAL_TABLE) /* getopt_long said what is wrong */
            return opts_bad(cmd);
        if (opt_store(&cmd->opts[c - GEN_VAL_TABLE], optarg, opts))
            goto bad_value;
        seen |= 1u << (c - GEN_VAL_TABLE);
    }
    if (optind != argc) {
        fprintf(stderr, "xpro-gen %s: unexpected argument: %s\n", cmd->name, argv[optind]);
        return opts_bad(cmd);
    }
    for (unsigned i = 0; cmd->opts[i].name; i++) {
        if (cmd->opts[i].required && !(seen & 1u << i)) {
            fprintf(stderr, "xpro-gen %s: --%s is required\n", cmd->name, cmd->opts[i].name);
            return opts_bad(cmd);
        }
    }
    return 0;
bad_value:
    fprintf(stderr, "xpro-gen: bad option value: %s\n", optarg);
    return opts_bad(cmd);
}
