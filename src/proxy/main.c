// SPDX-License-Identifier: GPL-2.0-only
/*
 * xpro-proxy: the appliance's command line and its control loop. Everything
 * else is in this folder's modules (src/proxy/proxy.h): this file parses
 * the options, loads the configuration, opens the output files, and turns
 * what fails into an exit code (src/util/exit_codes.h).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "src/ctl/ctl.h"
#include "src/prom/prom.h"
#include "src/pipeline/pipeline.h"
#include "src/proxy/proxy.h"
#include "src/proxy/worker.h"
#include "src/util/clock.h"
#include "src/util/exit_codes.h"
#include "src/util/line_server.h"
#include "src/util/log.h"
#include "src/util/sd_notify.h"
#include "src/util/syslog_sink.h"
#include "xp_build_config.h"

struct run_opts {
    const char *config;
    const char *stats_out;
    double duration;
    bool check_only;
    bool print_keys;
    const char *log_level;
    const char *events_out;
};

static const struct run_opts defaults_run = {
    .config = NULL,
    .stats_out = "-",
    .duration = 0,
    .check_only = false,
    .print_keys = false,
    .log_level = NULL,
    .events_out = NULL,
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: xpro-proxy -c FILE [options]\n"
            "\n"
            "  -c, --config FILE      JSON configuration (see conf/README.md)\n"
            "      --check-config     validate the configuration and exit\n"
            "      --config-keys      print the table of configuration keys (Markdown)\n"
            "      --stats-out PATH   where the per-interval JSON stats line goes (- = stdout)\n"
            "      --duration SEC     stop after SEC seconds (default: until SIGINT/SIGTERM)\n"
            "      --log-level LEVEL  err, warn, info or debug (overrides the config)\n"
            "      --events-out PATH  events as JSON lines (overrides events_out; - = stdout)\n"
            "  -V, --version          print the version\n"
            "  -h, --help             this text\n"
            "\n"
            "Exit codes: 0 ok, 1 failure, 2 bad option or config, 3 BPF load/attach,\n"
            "4 out of memory, 5 interface missing, 6 permission denied, 7 queue busy,\n"
            "8 another XDP program attached, 9 bpffs not mounted at /sys/fs/bpf.\n");
}

static int parse_args(int argc, char **argv, struct run_opts *o)
{
    enum { OPT_CHECK = 256, OPT_KEYS, OPT_STATS, OPT_DURATION, OPT_LOG, OPT_EVENTS };
    static const struct option long_opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "check-config", no_argument, NULL, OPT_CHECK },
        { "config-keys", no_argument, NULL, OPT_KEYS },
        { "stats-out", required_argument, NULL, OPT_STATS },
        { "duration", required_argument, NULL, OPT_DURATION },
        { "log-level", required_argument, NULL, OPT_LOG },
        { "events-out", required_argument, NULL, OPT_EVENTS },
        { "version", no_argument, NULL, 'V' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;

    *o = defaults_run;
    while ((c = getopt_long(argc, argv, "c:hV", long_opts, NULL)) != -1) {
        char *end;

        switch (c) {
        case 'c':
            o->config = optarg;
            break;
        case OPT_CHECK:
            o->check_only = true;
            break;
        case OPT_KEYS:
            o->print_keys = true;
            break;
        case OPT_STATS:
            o->stats_out = optarg;
            break;
        case OPT_DURATION:
            o->duration = strtod(optarg, &end);
            if (*end || o->duration <= 0) {
                fprintf(stderr, "xpro-proxy: --duration: expected a positive number of seconds\n");
                return -EINVAL;
            }
            break;
        case OPT_LOG:
            o->log_level = optarg;
            break;
        case OPT_EVENTS:
            o->events_out = optarg;
            break;
        case 'V':
            printf("xpro-proxy %s\n", XP_VERSION);
            exit(EXIT_OK);
        case 'h':
            usage(stdout);
            exit(EXIT_OK);
        default:
            usage(stderr);
            return -EINVAL;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "xpro-proxy: unexpected argument '%s'\n", argv[optind]);
        return -EINVAL;
    }
    if (!o->config && !o->print_keys) {
        fprintf(stderr, "xpro-proxy: -c FILE is required\n");
        usage(stderr);
        return -EINVAL;
    }
    return 0;
}

/*
 * path again, for log rotation: logrotate moved the file away (and may have
 * created an empty one, "create"); lines go on in the file under the name.
 * When it cannot be opened the old file stays in use: lines are never lost
 * to a failed rotation.
 */
static void reopen(FILE **f, const char *path, const char *what)
{
    FILE *n;

    if (!*f || !path || !path[0] || strcmp(path, "-") == 0)
        return;
    n = fopen(path, "ae");
    if (!n) {
        pr_err("%s %s: cannot reopen, still writing the old file: %s", what, path,
               strerror(errno));
        return;
    }
    fflush(*f);
    if (*f != stdout)
        fclose(*f);
    *f = n;
}

static void handle_signal(struct proxy *px, const struct run_opts *o, int sig, bool *stop)
{
    char msg[512];

    if (sig == SIGINT || sig == SIGTERM) {
        pr_info("signal %d: stopping", sig);
        xp_sd__notify("STOPPING=1");
        *stop = true;
    } else if (sig == SIGHUP) {
        xp_sd__notify("RELOADING=1");
        reopen(&px->stats, o->stats_out, "--stats-out");
        reopen(&px->events, o->events_out ? o->events_out : px->cfg->events_out, "events file");
        if (xp_proxy__reload(px, msg, sizeof(msg)))
            pr_err("reload refused, the running configuration stays: %s", msg);
        else
            pr_info("%s", msg);
        xp_sd__notify("READY=1");
    }
}

/* The service manager's status line: where we forward and how much we hold. */
static void sd_status(struct proxy *px, char *last, size_t len)
{
    uint64_t pairs = 0, blocked = 0;
    char status[256];

    if (!xp_sd__enabled())
        return;
    for (unsigned q = 0; q < px->cfg->queues && q < XP_MAX_QUEUES; q++) {
        struct xp_pipeline_stats ps;
        struct xp_policer_stats pst;

        if (!px->pipelines[q])
            continue;
        xp_pipeline__stats(px->pipelines[q], &ps);
        xp_pipeline__policer_stats(px->pipelines[q], &pst);
        pairs += pst.pairs_in_use;
        blocked += ps.blocked_now;
    }
    snprintf(status, sizeof(status),
             "STATUS=forwarding between %s and %s on %u queues: %" PRIu64 " pairs, %" PRIu64
             " blocked",
             px->cfg->port_name[0], px->cfg->port_name[1], px->cfg->queues, pairs, blocked);
    if (strcmp(status, last) != 0 && xp_sd__notify(status) == 0)
        snprintf(last, len, "%s", status);
}

/*
 * The watchdog is fed from this loop only when every worker went round its
 * own loop since the last ping (a worker sleeps at most XP_WORKER_SLEEP_MS,
 * so an idle one still counts loops): a wedged worker, or this loop stuck,
 * both starve it and systemd restarts the proxy.
 */
static void feed_watchdog(struct proxy *px, uint64_t *seen, bool *stalled)
{
    uint64_t loops[XP_MAX_QUEUES] = {0};

    if (!xp_sd__watchdog_due())
        return;
    for (unsigned q = 0; q < px->cfg->queues && q < XP_MAX_QUEUES; q++) {
        struct xp_worker_stats st;

        if (!px->workers[q].started)
            continue;
        xp_worker__stats(&px->workers[q], &st);
        loops[q] = st.loops;
        if (st.loops == seen[q]) {
            if (!*stalled)
                pr_err("worker %u made no progress for %" PRIu64 " ms: the watchdog is not fed",
                       q, xp_sd__watchdog_usec() / 2000);
            *stalled = true;
            return;
        }
    }
    if (*stalled)
        pr_warn("every worker makes progress again");
    *stalled = false;
    memcpy(seen, loops, sizeof(loops));
    xp_sd__watchdog_tick();
}

/*
 * The control thread: signals, the control socket, Prometheus, events and
 * the stats line, waking at least every 100 ms. The signals are blocked by
 * xp_proxy__setup(); the workers and the sync thread inherit the mask.
 */
static int run(struct proxy *px, const struct run_opts *o)
{
    double start = xp_real_s(), next;
    struct pollfd pfd[1 + 64 + 64];
    uint64_t seen[XP_MAX_QUEUES] = {0};
    bool stop = false, stalled = false;
    char status[256] = "";
    sigset_t sigs;
    int sfd, ret;

    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGHUP);
    sigaddset(&sigs, SIGPIPE);
    sfd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC);
    if (sfd == -1)
        return -errno;
    ret = xp_proxy__start(px);
    if (ret)
        goto out;
    xp_proxy__print_stats(px, false);
    sd_status(px, status, sizeof(status));
    xp_sd__notify("READY=1");
    next = start + px->cfg->stats_interval_ms / 1000.0;
    while (!stop) {
        double t = xp_real_s(), wait_s = next - t;
        unsigned n = 0, n_ctl = 0, n_prom = 0;

        if (o->duration > 0 && t - start >= o->duration)
            break;
        if (o->duration > 0 && start + o->duration - t < wait_s)
            wait_s = start + o->duration - t;
        wait_s = wait_s > 0.1 ? 0.1 : wait_s < 0 ? 0 : wait_s; /* events leave every 100 ms */
        pfd[n++] = (struct pollfd){ .fd = sfd, .events = POLLIN };
        if (px->ctl)
            n_ctl = xp_line_server__pollfds(xp_ctl_server__lines(px->ctl), pfd + n, 64);
        n += n_ctl;
        if (px->prom)
            n_prom = xp_line_server__pollfds(xp_prom_server__lines(px->prom), pfd + n, 64);
        n += n_prom;
        if (poll(pfd, n, (int)(wait_s * 1000) + 1) == -1 && errno != EINTR) {
            ret = -errno;
            break;
        }
        if (pfd[0].revents & POLLIN) {
            struct signalfd_siginfo si;

            while (read(sfd, &si, sizeof(si)) == sizeof(si))
                handle_signal(px, o, (int)si.ssi_signo, &stop);
        }
        /* Called on timeouts too: that is when idle clients expire. */
        if (px->ctl)
            xp_line_server__handle(xp_ctl_server__lines(px->ctl), pfd + 1, n_ctl);
        if (px->prom)
            xp_line_server__handle(xp_prom_server__lines(px->prom), pfd + 1 + n_ctl, n_prom);
        xp_proxy__housekeeping(px);
        feed_watchdog(px, seen, &stalled);
        if (xp_real_s() >= next) {
            xp_proxy__print_stats(px, false);
            sd_status(px, status, sizeof(status));
            next += px->cfg->stats_interval_ms / 1000.0;
            if (next < xp_real_s())
                next = xp_real_s() + px->cfg->stats_interval_ms / 1000.0;
        }
    }
out:
    close(sfd);
    return ret;
}

/* The stats line, the events file and syslog, as the options and the configuration say. */
static int open_sinks(struct proxy *px, const struct run_opts *o)
{
    const char *events = o->events_out ? o->events_out : px->cfg->events_out;

    px->stats = strcmp(o->stats_out, "-") == 0 ? stdout : fopen(o->stats_out, "a");
    if (!px->stats) {
        pr_err("--stats-out %s: %s", o->stats_out, strerror(errno));
        return -1;
    }
    if (events[0]) {
        px->events = strcmp(events, "-") == 0 ? stdout : fopen(events, "a");
        if (!px->events) {
            pr_err("events file %s: %s", events, strerror(errno));
            return -1;
        }
    }
    if (px->cfg->events_syslog[0]) {
        px->syslog = xp_syslog__open(px->cfg->events_syslog, "xpro-proxy");
        if (!px->syslog) {
            pr_err("events_syslog %s: %s", px->cfg->events_syslog, strerror(errno));
            return -1;
        }
    }
    return 0;
}

static int setup_exit_code(enum xp_proxy_fail why, int err)
{
    switch (why) {
    case XP_PROXY_FAIL_CONFIG:
        return EXIT_FAIL_OPTION;
    case XP_PROXY_FAIL_BPFFS:
        return EXIT_FAIL_BPFFS;
    case XP_PROXY_FAIL_LOAD:
        err = xp_exit_code_of_errno(err);
        return err == EXIT_FAIL || err == EXIT_FAIL_BUSY ? EXIT_FAIL_BPF : err;
    default:
        return xp_exit_code_of_errno(err);
    }
}

int main(int argc, char **argv)
{
    static struct proxy px;
    enum xp_proxy_fail why;
    enum xp_log_level level;
    struct run_opts o;
    char msg[512];
    int ret;

    xp_log_hook_libraries();
    /* here, in the process systemd started: the monitor's fork comes later */
    xp_sd__init();
    if (parse_args(argc, argv, &o))
        return EXIT_FAIL_OPTION;
    if (o.print_keys) {
        xp_config_print_keys(stdout);
        return EXIT_OK;
    }
    px.cfg = calloc(1, sizeof(*px.cfg));
    if (!px.cfg)
        return EXIT_FAIL_MEM;
    px.config_path = o.config;
    if (xp_config_load(o.config, px.cfg, msg, sizeof(msg))) {
        fprintf(stderr, "%s\n", msg);
        return EXIT_FAIL_OPTION;
    }
    if (o.check_only) {
        printf("%s: ok\n", o.config);
        xp_config_release(px.cfg);
        free(px.cfg);
        return EXIT_OK;
    }
    xp_log_set_level(px.cfg->log_level);
    if (o.log_level) {
        if (xp_log_level_parse(o.log_level, &level)) {
            fprintf(stderr, "xpro-proxy: --log-level: expected err, warn, info or debug\n");
            return EXIT_FAIL_OPTION;
        }
        xp_log_set_level(level);
    }
    if (open_sinks(&px, &o))
        return EXIT_FAIL_OPTION;
    ret = xp_proxy__setup(&px, &why);
    if (ret)
        return setup_exit_code(why, -ret);
    ret = run(&px, &o);
    xp_proxy__shutdown(&px, ret == 0);
    if (px.stats != stdout)
        fclose(px.stats);
    if (px.events && px.events != stdout)
        fclose(px.events);
    xp_syslog__close(px.syslog);
    xp_config_release(px.cfg);
    free(px.cfg);
    return ret ? EXIT_FAIL : EXIT_OK;
}
