// SPDX-License-Identifier: GPL-2.0-only
/*
 * xpro-central: the central node (M_DB) of the sync protocol.
 *
 *   xpro-central -c conf/central.json [--check-config] [--stats-out FILE]
 *                [--ready-file FILE] [--log-level LEVEL]
 *   xpro-central --config-keys
 *
 * Exit codes (src/util/exit_codes.h): 0 clean stop, 1 failure (socket, corrupt
 * state file, persistence on stop), 2 bad option or configuration.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "src/central/config.h"
#include "src/util/exit_codes.h"
#include "src/util/log.h"
#include "src/util/privilege.h"
#include "xp_build_config.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: xpro-central -c FILE [options]\n"
            "  -c, --config FILE      configuration (conf/central.json)\n"
            "      --check-config     validate the configuration and exit\n"
            "      --config-keys      print the table of configuration keys (Markdown)\n"
            "      --stats-out FILE   append a stats JSON line every stats_period_ms\n"
            "                         (\"-\" for stdout)\n"
            "      --ready-file FILE  write the bound port to FILE once listening\n"
            "      --log-level LEVEL  err, warn, info, debug (overrides the file)\n"
            "  -h, --help             this text\n"
            "  -V, --version          print the version\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"check-config", no_argument, NULL, 'C'},
        {"config-keys", no_argument, NULL, 'K'},
        {"stats-out", required_argument, NULL, 'S'},
        {"ready-file", required_argument, NULL, 'R'},
        {"log-level", required_argument, NULL, 'L'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    const char *conf = NULL, *stats_path = NULL, *ready = NULL, *level_arg = NULL;
    struct xp_central_config cfg;
    enum xp_log_level level;
    struct xp_central *c = NULL;
    bool check_only = false;
    FILE *stats = NULL;
    char err[1024];
    sigset_t mask;
    int opt, ret = EXIT_FAIL, sfd = -1;

    xp_log_set_thread_name("central");
    while ((opt = getopt_long(argc, argv, "c:hV", opts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            conf = optarg;
            break;
        case 'C':
            check_only = true;
            break;
        case 'K':
            xp_central_config__print_keys(stdout);
            return EXIT_OK;
        case 'S':
            stats_path = optarg;
            break;
        case 'R':
            ready = optarg;
            break;
        case 'L':
            level_arg = optarg;
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        case 'V':
            printf("xpro-central %s\n", XP_VERSION);
            return EXIT_OK;
        default:
            usage(stderr);
            return EXIT_FAIL_OPTION;
        }
    }
    if (!conf || optind != argc) {
        usage(stderr);
        return EXIT_FAIL_OPTION;
    }
    if (xp_central_config__load(&cfg, conf, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s\n", err);
        return EXIT_FAIL_OPTION;
    }
    if (xp_log_level_parse(level_arg ? level_arg : cfg.log_level, &level) < 0) {
        fprintf(stderr, "%s: bad log level \"%s\"\n", level_arg ? "--log-level" : conf,
                level_arg ? level_arg : cfg.log_level);
        ret = EXIT_FAIL_OPTION;
        goto out;
    }
    xp_log_set_level(level);
    if (check_only) {
        unsigned ops = 0;

        for (unsigned i = 0; i < cfg.n_proxies; i++)
            ops += cfg.proxies[i].read_only;
        printf("%s: ok (%u proxies, %u operators)\n", conf, cfg.n_proxies - ops, ops);
        ret = EXIT_OK;
        goto out;
    }
    if (stats_path) {
        stats = strcmp(stats_path, "-") == 0 ? stdout : fopen(stats_path, "ae");
        if (!stats) {
            fprintf(stderr, "--stats-out %s: %s\n", stats_path, strerror(errno));
            ret = EXIT_FAIL_OPTION;
            goto out;
        }
    }
    /* A JSON server facing the network: it needs no privilege, so it should hold none. */
    if (geteuid() == 0 || xp_priv__effective()) {
        char names[256];

        xp_priv__names(xp_priv__effective(), names, sizeof(names));
        pr_warn("running as uid %u with capabilities %s: xpro-central needs none; run it as "
                "an unprivileged account (docs/operators.md \"Privileges\")",
                (unsigned)geteuid(), names);
    }
    /* SIGTERM/SIGINT become a readable fd in the loop: state is persisted on the way out */
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0 ||
        (sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)) < 0) {
        pr_err("signalfd: %s", strerror(errno));
        goto out;
    }
    signal(SIGPIPE, SIG_IGN);
    c = xp_central__create(&cfg);
    if (!c) {
        pr_err("cannot start: %s", strerror(errno));
        goto out;
    }
    if (xp_central__add_stop_fd(c, sfd) < 0)
        goto out;
    xp_central__set_stats_out(c, stats);
    if (ready) {
        FILE *f = fopen(ready, "we");

        if (!f) {
            pr_err("--ready-file %s: %s", ready, strerror(errno));
            goto out;
        }
        fprintf(f, "%u\n", xp_central__port(c));
        fclose(f);
    }
    ret = xp_central__run(c) < 0 ? EXIT_FAIL : EXIT_OK;
out:
    xp_central__destroy(c);
    if (sfd >= 0)
        close(sfd);
    if (stats && stats != stdout)
        fclose(stats);
    xp_central_config__release(&cfg);
    return ret;
}
