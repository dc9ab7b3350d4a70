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
 *
 * Signals: SIGTERM and SIGINT stop (the state is persisted on the way out);
 * SIGHUP reopens --stats-out and reloads the configuration file, keeping
 * M_DB and the sessions (a file that does not load, or changes a key that
 * cannot change live, is refused and the running configuration stays).
 * Under systemd (Type=notify): READY=1 once listening, STATUS= lines,
 * RELOADING=1/READY=1 around a reload, WATCHDOG=1 from the event loop.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "src/central/config.h"
#include "src/store/store.h"
#include "src/util/clock.h"
#include "src/util/exit_codes.h"
#include "src/util/log.h"
#include "src/util/privilege.h"
#include "src/util/sd_notify.h"
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

/* What the signal and tick callbacks need of main()'s state. */
struct central_main {
    const char *conf;
    const char *stats_path;
    bool level_forced; /* --log-level: the file's log_level does not apply */
    struct xp_central_config *cfg; /* the running configuration, as the file said */
    FILE **stats;
    int sfd;
    char status[256];
    uint64_t status_ms;
};

/* The stats file again under the same name (rotation); the old one stays open on failure. */
static void reopen_stats(struct xp_central *c, struct central_main *m)
{
    FILE *f;

    if (!m->stats_path || strcmp(m->stats_path, "-") == 0)
        return;
    f = fopen(m->stats_path, "ae");
    if (!f) {
        pr_err("--stats-out %s: cannot reopen, still writing the old file: %s", m->stats_path,
               strerror(errno));
        return;
    }
    xp_central__set_stats_out(c, f);
    fclose(*m->stats);
    *m->stats = f;
}

static void reload(struct xp_central *c, struct central_main *m)
{
    struct xp_central_config next;
    enum xp_log_level level;
    char err[1024], msg[1024];

    xp_sd__notify("RELOADING=1");
    reopen_stats(c, m);
    if (xp_central_config__load(&next, m->conf, err, sizeof(err)) < 0) {
        pr_err("reload refused, the running configuration stays: %s", err);
        goto out;
    }
    if (xp_central_config__reload_check(m->cfg, &next, err, sizeof(err)) < 0 ||
        xp_central__reload(c, &next, err, sizeof(err)) < 0) {
        pr_err("reload refused, the running configuration stays: %s: %s", m->conf, err);
        xp_central_config__release(&next);
        goto out;
    }
    snprintf(msg, sizeof(msg), "%s", err);
    xp_central_config__release(m->cfg);
    *m->cfg = next;
    if (!m->level_forced && xp_log_level_parse(m->cfg->log_level, &level) == 0)
        xp_log_set_level(level);
    pr_info("%s: %s", m->conf, msg);
out:
    m->status_ms = 0; /* say the (new) status now */
    xp_sd__notify("READY=1");
}

/* Every turn of the event loop: the watchdog, and the status line when it changed. */
static void on_tick(struct xp_central *c, void *arg)
{
    struct central_main *m = arg;
    struct xp_central_summary sum;
    uint64_t now = xp_mono_ms();
    char status[256];

    xp_sd__watchdog_tick();
    if (!xp_sd__enabled() || (m->status_ms && now - m->status_ms < 1000))
        return;
    m->status_ms = now;
    xp_central__summary(c, &sum);
    snprintf(status, sizeof(status),
             "STATUS=listening on port %u: %u of %u proxies connected, %u operators, %u rows, "
             "%" PRIu64 " reloads",
             sum.port, sum.connected, sum.proxies, sum.operators, sum.rows, sum.reloads);
    if (strcmp(status, m->status) != 0 && xp_sd__notify(status) == 0)
        snprintf(m->status, sizeof(m->status), "%s", status);
}

static void on_signal(struct xp_central *c, void *arg)
{
    struct central_main *m = arg;
    struct signalfd_siginfo si;

    while (read(m->sfd, &si, sizeof(si)) == sizeof(si)) {
        if (si.ssi_signo == SIGHUP) {
            reload(c, m);
        } else {
            pr_info("signal %u: stopping", si.ssi_signo);
            xp_sd__notify("STOPPING=1\nSTATUS=stopping: persisting state");
            xp_central__stop(c);
        }
    }
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
    struct central_main m = {0};
    struct xp_central_config cfg;
    enum xp_log_level level;
    struct xp_central *c = NULL;
    struct xp_store *store = NULL;
    bool check_only = false;
    FILE *stats = NULL;
    char err[1024];
    sigset_t mask;
    int opt, ret = EXIT_FAIL, sfd = -1;

    xp_log_set_thread_name("central");
    xp_sd__init();
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
    /*
     * SIGTERM/SIGINT (stop: state is persisted on the way out) and SIGHUP
     * (reload) become a readable fd in the loop.
     */
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0 ||
        (sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)) < 0) {
        pr_err("signalfd: %s", strerror(errno));
        goto out;
    }
    signal(SIGPIPE, SIG_IGN);
    if (xp_store__open(&cfg.store_conf, &store, err, sizeof(err)) < 0) {
        pr_err("store: %s", err);
        goto out;
    }
    cfg.store = store;
    c = xp_central__create(&cfg);
    if (!c) {
        pr_err("cannot start: %s", strerror(errno));
        goto out;
    }
    m = (struct central_main){.conf = conf, .stats_path = stats_path,
                              .level_forced = level_arg != NULL, .cfg = &cfg, .stats = &stats,
                              .sfd = sfd};
    if (xp_central__watch_fd(c, sfd, on_signal, &m) < 0)
        goto out;
    xp_central__set_tick(c, on_tick, &m);
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
    xp_sd__notifyf("READY=1\nSTATUS=listening on %s port %u, %u proxies configured",
                   cfg.listen, xp_central__port(c), cfg.n_proxies);
    ret = xp_central__run(c) < 0 ? EXIT_FAIL : EXIT_OK;
out:
    xp_central__destroy(c);
    xp_store__destroy(store);
    if (sfd >= 0)
        close(sfd);
    if (stats && stats != stdout)
        fclose(stats);
    xp_central_config__release(&cfg);
    return ret;
}
