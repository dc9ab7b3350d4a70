// SPDX-License-Identifier: GPL-2.0-only
/*
 * xpro-announce: the proxy's blocks, announced upstream over BGP (docs/upstream.md).
 *
 * Run by ExaBGP as its `process` (the process API: one command a line on our stdout, its
 * answers on our stdin). It follows the events of one proxy's control socket, turns blocks
 * into FlowSpec and RTBH routes and unblocks into their withdrawals (src/announce/routes.c),
 * and runs the operator's notify script per block and unblock (notify.c). Nothing of this
 * is in xpro-proxy: no fork, no BGP, no waiting in the process that forwards packets.
 *
 * Exit codes (src/util/exit_codes.h): 0 stopped (signal, or ExaBGP closed our stdin or
 * stdout), 1 failure, 2 bad option.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "src/announce/announce.h"
#include "src/ctl/ctl.h"
#include "src/util/clock.h"
#include "src/util/exit_codes.h"
#include "src/util/log.h"
#include "xp_build_config.h"

#define CONNECT_TIMEOUT_MS 1000 /* a hung proxy holds our loop at most this long */
#define RESYNC_TIMEOUT_MS 3000  /* the flows op walks every pair table */
#define RECONNECT_MS 200u /* a restarted proxy blocks within its first second: follow it soon */
#define STATS_PERIOD_NS XP_NSEC_PER_SEC

struct app {
    char sock[108];
    struct xp_ctl_client *cli;
    struct xp_announce *ann;
    struct xp_notify *notify;
    const char *stats_path;
    bool keep_rib;
    bool stdin_open;
    bool stop;
    bool out_closed;
    bool warned_connect;
    uint64_t next_connect_ns;
    uint64_t next_resync_ns; /* 0: no resync planned */
    unsigned resync_ms;      /* 0: never */
    uint64_t resyncs, resync_errors;
    char in_buf[4096];
    size_t in_len;
    /* counters */
    uint64_t connects, disconnects, lines_bad, api_done, api_error, api_other;
    double latency_max_ms, latency_last_ms;
    uint64_t latency_samples;
};

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: xpro-announce [options]   (run by ExaBGP as its process: docs/upstream.md)\n"
        "Follows a proxy's block and unblock events; writes ExaBGP API commands on stdout:\n"
        "FlowSpec (unit -> destination) for unit_rate blocks, RTBH for dst_rate blocks.\n"
        "  -s, --socket PATH          the proxy's control socket\n"
        "  -p, --proxy ID             its socket " XP_CTL_DIR "/ID.sock (default: "
        "$XPRO_CTL_SOCKET,\n"
        "                             else " XP_CTL_DIR "/xpro.sock)\n"
        "      --flow-action ACTION   discard (default) or rate-limit:BYTES_PER_SEC\n"
        "      --dst-action ACTION    what a dst_rate block announces: rtbh (default),\n"
        "                             flow (a FlowSpec rule per pair), none\n"
        "      --next-hop ADDR        RTBH next hop of IPv4 routes (default self)\n"
        "      --next-hop6 ADDR       RTBH next hop of IPv6 routes (default self)\n"
        "      --community LIST       RTBH communities, \"ASN:VAL ...\" (default 65535:666)\n"
        "      --v6-unit-prefix N     an IPv6 unit's prefix length, as the proxy's\n"
        "                             policer.v6_unit_prefix (default 64)\n"
        "      --max-routes N         routes announced at once, at most (default 1000);\n"
        "                             more are counted (capped) and logged, not announced\n"
        "      --max-pairs N          blocks followed at once (default 65536)\n"
        "      --rate N               updates (announce or withdraw) per second (default 100)\n"
        "      --burst N              updates sent at once after a quiet time (default 50)\n"
        "      --resync-interval SEC  on (re)connect, learn the blocks already running from the\n"
        "                             proxy's flows op, and again every SEC while some of\n"
        "                             them hold (default 2; 0: never)\n"
        "      --keep-rib             do not withdraw every route of this ExaBGP at start\n"
        "                             (\"clear adj-rib out\"; see docs/upstream.md)\n"
        "      --notify-script PATH   run PATH EVENT UNIT DST REASON per block and unblock\n"
        "                             (XPRO_* environment, the JSON line on stdin)\n"
        "      --notify-timeout SEC   kill a run still going after SEC (default 5)\n"
        "      --notify-max N         runs at once (default 4)\n"
        "      --notify-queue N       events waiting for a run; beyond, dropped (default 256)\n"
        "      --stats-file PATH      rewrite PATH with the counters (JSON) every second\n"
        "      --log-level LEVEL      err, warn, info (default), debug\n"
        "  -h, --help                 this text\n"
        "  -V, --version              print the version\n"
        "Exit codes: 0 stopped, 1 failure, 2 bad option.\n");
}

/* The sink of routes.c: one command line to ExaBGP. */
static int write_command(void *ctx, const char *line)
{
    struct app *app = ctx;
    size_t len = strlen(line);
    char buf[600];

    if (app->out_closed)
        return -EPIPE;
    if (len + 1 > sizeof(buf))
        return -EMSGSIZE;
    memcpy(buf, line, len);
    buf[len++] = '\n';
    /* blocking: ExaBGP reads its processes at once; a line is one write under PIPE_BUF */
    for (size_t off = 0; off < len;) {
        ssize_t n = write(STDOUT_FILENO, buf + off, len - off);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EPIPE) {
                pr_warn("stdout closed (ExaBGP gone): stopping");
                app->out_closed = true;
                app->stop = true;
            }
            return -errno;
        }
        off += (size_t)n;
    }
    pr_debug("-> %s", line);
    return 0;
}

static int parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
    char *end;

    errno = 0;
    if (!*s || *s == '-')
        return -EINVAL;
    *out = strtoull(s, &end, 10);
    if (errno || *end || *out > max)
        return -EINVAL;
    return 0;
}

static int parse_double(const char *s, double *out)
{
    char *end;

    errno = 0;
    *out = strtod(s, &end);
    return errno || *end || !*s || !isfinite(*out) ? -EINVAL : 0;
}

static void write_stats(struct app *app)
{
    char tmp[4096];
    json_t *o;
    FILE *f;

    if (!app->stats_path)
        return;
    o = json_pack("{s:f,s:s,s:b,s:I,s:I,s:I,s:I,s:I,s:{s:I,s:I,s:I},s:{s:I,s:f,s:f}}", "time",
                  (double)xp_clock_ns(CLOCK_REALTIME) / 1e9, "socket", app->sock, "connected",
                  app->cli != NULL, "connects", (json_int_t)app->connects, "disconnects",
                  (json_int_t)app->disconnects, "lines_bad", (json_int_t)app->lines_bad, "resyncs",
                  (json_int_t)app->resyncs, "resync_errors", (json_int_t)app->resync_errors,
                  "exabgp", "done", (json_int_t)app->api_done, "error", (json_int_t)app->api_error,
                  "other", (json_int_t)app->api_other, "event_delay", "samples",
                  (json_int_t)app->latency_samples, "last_ms", app->latency_last_ms, "max_ms",
                  app->latency_max_ms);
    if (!o)
        return;
    json_object_set_new(o, "routes", xp_announce__stats_json(app->ann));
    if (app->notify)
        json_object_set_new(o, "notify", xp_notify__stats_json(app->notify));
    snprintf(tmp, sizeof(tmp), "%s.tmp", app->stats_path);
    f = fopen(tmp, "w");
    if (f) {
        json_dumpf(o, f, JSON_COMPACT | JSON_REAL_PRECISION(15));
        fputc('\n', f);
        if (fclose(f) == 0 && rename(tmp, app->stats_path) != 0)
            pr_warn("stats file %s: %s", app->stats_path, strerror(errno));
    } else {
        pr_warn("stats file %s: %s", tmp, strerror(errno));
    }
    json_decref(o);
}

static void disconnect(struct app *app, const char *why)
{
    pr_warn("lost the event stream of %s (%s): withdrawing every route until the proxy's "
            "next blocks",
            app->sock, why);
    xp_ctl_client__destroy(app->cli);
    app->cli = NULL;
    app->disconnects++;
    /* blocks we did not see end would stay announced forever: withdraw, as on a restart */
    xp_announce__forget_all(app->ann);
    app->next_connect_ns = xp_mono_ns() + RECONNECT_MS * 1000000ULL;
    app->next_resync_ns = 0;
}

static void handle_event(struct app *app, const char *line)
{
    const char *kind;
    json_error_t jerr;
    json_t *ev = json_loads(line, 0, &jerr);

    if (!ev || !json_is_object(ev)) {
        app->lines_bad++;
        pr_debug("not an event: %.200s", line);
        json_decref(ev);
        return;
    }
    kind = json_string_value(json_object_get(ev, "event"));
    if (xp_announce__event(app->ann, ev) < 0)
        pr_warn("malformed event (counted): %.200s", line);
    if (kind && (strcmp(kind, "block") == 0 || strcmp(kind, "unblock") == 0)) {
        double t = json_real_value(json_object_get(ev, "time"));

        /* how old the event is when it reaches us (the proxy drains events every 100 ms) */
        if (t > 0) {
            app->latency_last_ms = ((double)xp_clock_ns(CLOCK_REALTIME) / 1e9 - t) * 1e3;
            if (app->latency_last_ms > app->latency_max_ms)
                app->latency_max_ms = app->latency_last_ms;
            app->latency_samples++;
        }
        if (app->notify)
            xp_notify__event(app->notify, ev, line, xp_mono_ns());
    }
    json_decref(ev);
}

/* Read every line the client holds or the socket has. */
static void drain_events(struct app *app)
{
    for (;;) {
        const char *line;
        ssize_t n = xp_ctl_client__read_line(app->cli, 0, &line);

        if (n > 0) {
            handle_event(app, line);
            continue;
        }
        if (n == -ETIMEDOUT)
            return;
        disconnect(app, n == 0 ? "the proxy closed it" : strerror((int)-n));
        return;
    }
}

/*
 * Learn the blocks that began before we followed the stream (they emit no event while they
 * renew): the proxy's flows op, on a connection of its own (the follower's is output-only),
 * seeds the route set (xp_announce__seed). Again every resync_ms while seeded blocks remain,
 * so that one whose unblock we missed is dropped. The op scans the workers' pair tables in
 * slices: a snapshot at connect time and then one per resync_ms only while it matters.
 */
static void resync(struct app *app)
{
    json_t *req, *result = NULL;
    struct xp_ctl_client *c;
    char err[256];
    int ret, held;

    app->next_resync_ns = 0;
    c = xp_ctl_client__connect(app->sock, CONNECT_TIMEOUT_MS);
    if (!c) {
        ret = -errno;
        snprintf(err, sizeof(err), "%s", strerror(errno));
        goto out_retry;
    }
    req = json_pack("{s:s,s:i}", "op", "flows", "top", 10000);
    ret = req ? xp_ctl_client__request(c, req, RESYNC_TIMEOUT_MS, &result, err, sizeof(err))
              : -ENOMEM;
    json_decref(req);
    xp_ctl_client__destroy(c);
    if (ret == XP_CTL_E_REPLY) {
        /* e.g. no policing configured: nothing to learn, and asking again will not help */
        pr_info("resync: the proxy refused its flows (%s): only blocks from now on are "
                "announced",
                err);
        app->resync_errors++;
        return;
    }
    if (ret)
        goto out_retry;
    held = xp_announce__seed(app->ann, json_object_get(result, "flows"));
    json_decref(result);
    app->resyncs++;
    if (held < 0) {
        pr_warn("resync: the flows reply has no \"flows\" array");
        app->resync_errors++;
        return;
    }
    if (held > 0)
        app->next_resync_ns = xp_mono_ns() + app->resync_ms * 1000000ULL;
    return;

out_retry:
    app->resync_errors++;
    pr_warn("resync: %s: %s (again in %u ms)", app->sock, ret == -ENOMEM ? "no memory" : err,
            app->resync_ms);
    app->next_resync_ns = xp_mono_ns() + app->resync_ms * 1000000ULL;
}

static void try_connect(struct app *app)
{
    json_t *req, *result = NULL;
    char err[256];
    int ret;

    app->next_connect_ns = xp_mono_ns() + RECONNECT_MS * 1000000ULL;
    app->cli = xp_ctl_client__connect(app->sock, CONNECT_TIMEOUT_MS);
    if (!app->cli) {
        if (!app->warned_connect)
            pr_warn("cannot connect to %s: %s (retrying every %u ms)", app->sock, strerror(errno),
                    RECONNECT_MS);
        app->warned_connect = true;
        return;
    }
    req = json_pack("{s:s,s:b}", "op", "events", "follow", 1);
    ret = req ? xp_ctl_client__request(app->cli, req, CONNECT_TIMEOUT_MS, &result, err, sizeof(err))
              : -ENOMEM;
    json_decref(req);
    json_decref(result);
    if (ret) {
        if (!app->warned_connect)
            pr_warn("%s refused to stream events: %s", app->sock,
                    ret == -ENOMEM ? "no memory" : err);
        app->warned_connect = true;
        xp_ctl_client__destroy(app->cli);
        app->cli = NULL;
        return;
    }
    app->warned_connect = false;
    app->connects++;
    pr_info("following the events of %s", app->sock);
    drain_events(app);
    /* after the follow: a block from now on comes as an event, one before it is in the flows */
    if (app->cli && app->resync_ms)
        resync(app);
}

/* ExaBGP's answers on our stdin: "done" or "error" per command (exabgp.api.ack). */
static void read_api(struct app *app)
{
    ssize_t n =
        read(STDIN_FILENO, app->in_buf + app->in_len, sizeof(app->in_buf) - 1 - app->in_len);
    char *p, *nl;

    if (n < 0) {
        if (errno != EINTR && errno != EAGAIN)
            app->stdin_open = false;
        return;
    }
    if (n == 0) {
        pr_info("stdin closed (ExaBGP gone): stopping");
        app->stdin_open = false;
        app->stop = true;
        return;
    }
    app->in_len += (size_t)n;
    app->in_buf[app->in_len] = '\0';
    p = app->in_buf;
    while ((nl = strchr(p, '\n'))) {
        *nl = '\0';
        if (strcmp(p, "done") == 0) {
            app->api_done++;
        } else if (strcmp(p, "error") == 0) {
            app->api_error++;
            pr_warn("ExaBGP refused a command (see its log)");
        } else if (*p) {
            app->api_other++;
        }
        p = nl + 1;
    }
    app->in_len -= (size_t)(p - app->in_buf);
    memmove(app->in_buf, p, app->in_len);
    if (app->in_len == sizeof(app->in_buf) - 1) {
        app->api_other++; /* an overlong line: not an answer of ours, counted and dropped */
        app->in_len = 0;
    }
}

static uint64_t earliest(uint64_t a, uint64_t b)
{
    return !a ? b : !b ? a : a < b ? a : b;
}

static int run(struct app *app, int sfd)
{
    uint64_t next_stats = 0;

    if (!app->keep_rib && write_command(app, "clear adj-rib out") != 0)
        return EXIT_FAIL;
    while (!app->stop) {
        struct pollfd pfd[3];
        uint64_t now = xp_mono_ns(), wake;
        nfds_t n = 0;
        int timeout;

        if (!app->cli && now >= app->next_connect_ns)
            try_connect(app);
        else if (app->cli && app->next_resync_ns && now >= app->next_resync_ns)
            resync(app);
        now = xp_mono_ns();
        wake = earliest(xp_announce__pace(app->ann, now), now + STATS_PERIOD_NS);
        if (app->notify)
            wake = earliest(wake, xp_notify__service(app->notify, now));
        if (!app->cli)
            wake = earliest(wake, app->next_connect_ns);
        else if (app->next_resync_ns)
            wake = earliest(wake, app->next_resync_ns);
        if (now >= next_stats) {
            write_stats(app);
            next_stats = now + STATS_PERIOD_NS;
        }
        wake = earliest(wake, next_stats);
        timeout = wake > now ? (int)((wake - now + 999999) / 1000000) : 0;

        pfd[n++] = (struct pollfd){ .fd = sfd, .events = POLLIN };
        if (app->stdin_open)
            pfd[n++] = (struct pollfd){ .fd = STDIN_FILENO, .events = POLLIN };
        if (app->cli)
            pfd[n++] = (struct pollfd){ .fd = xp_ctl_client__fd(app->cli), .events = POLLIN };
        if (poll(pfd, n, timeout) < 0 && errno != EINTR) {
            pr_err("poll: %s", strerror(errno));
            return EXIT_FAIL;
        }
        for (nfds_t i = 0; i < n; i++) {
            if (!pfd[i].revents)
                continue;
            if (pfd[i].fd == sfd) {
                struct signalfd_siginfo si;

                while (read(sfd, &si, sizeof(si)) == sizeof(si))
                    if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
                        app->stop = true;
                /* SIGCHLD: the notify service below reaps */
            } else if (pfd[i].fd == STDIN_FILENO) {
                read_api(app);
            } else if (app->cli) {
                drain_events(app);
            }
        }
    }
    /*
     * Leaving: our routes must not outlive us in a speaker that stays up (ExaBGP respawns
     * us, and the new instance starts with "clear adj-rib out" unless --keep-rib; with it,
     * nothing else would ever withdraw them). Withdrawals at once, not paced: at most
     * max_routes lines.
     */
    xp_announce__forget_all(app->ann);
    xp_announce__flush(app->ann);
    write_stats(app);
    return EXIT_OK;
}

int main(int argc, char **argv)
{
    enum {
        O_FLOW = 256,
        O_DST,
        O_NH4,
        O_NH6,
        O_COMM,
        O_V6P,
        O_MAXR,
        O_MAXP,
        O_RATE,
        O_BURST,
        O_KEEP,
        O_NSCRIPT,
        O_NTIMEOUT,
        O_NMAX,
        O_NQUEUE,
        O_STATS,
        O_LEVEL,
        O_RESYNC,
    };
    static const struct option opts[] = {
        { "socket", required_argument, NULL, 's' },
        { "proxy", required_argument, NULL, 'p' },
        { "flow-action", required_argument, NULL, O_FLOW },
        { "dst-action", required_argument, NULL, O_DST },
        { "next-hop", required_argument, NULL, O_NH4 },
        { "next-hop6", required_argument, NULL, O_NH6 },
        { "community", required_argument, NULL, O_COMM },
        { "v6-unit-prefix", required_argument, NULL, O_V6P },
        { "max-routes", required_argument, NULL, O_MAXR },
        { "max-pairs", required_argument, NULL, O_MAXP },
        { "rate", required_argument, NULL, O_RATE },
        { "burst", required_argument, NULL, O_BURST },
        { "keep-rib", no_argument, NULL, O_KEEP },
        { "notify-script", required_argument, NULL, O_NSCRIPT },
        { "notify-timeout", required_argument, NULL, O_NTIMEOUT },
        { "notify-max", required_argument, NULL, O_NMAX },
        { "notify-queue", required_argument, NULL, O_NQUEUE },
        { "stats-file", required_argument, NULL, O_STATS },
        { "resync-interval", required_argument, NULL, O_RESYNC },
        { "log-level", required_argument, NULL, O_LEVEL },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    struct xp_notify_conf nconf = { .timeout_ms = 5000, .max_running = 4, .max_queued = 256 };
    const char *sock = NULL, *proxy = NULL;
    struct xp_announce_conf conf;
    struct app app = { .stdin_open = true, .resync_ms = 2000 };
    unsigned long long v;
    enum xp_log_level level;
    struct stat sb;
    sigset_t mask;
    char err[256];
    double d;
    int opt, ret = EXIT_FAIL, sfd;

    xp_log_set_thread_name("announce");
    xp_announce_conf__defaults(&conf);
    while ((opt = getopt_long(argc, argv, "s:p:hV", opts, NULL)) != -1) {
        int bad = 0;

        switch (opt) {
        case 's':
            sock = optarg;
            break;
        case 'p':
            proxy = optarg;
            break;
        case O_FLOW:
            if (strcmp(optarg, "discard") == 0)
                conf.flow_rate_bps = 0;
            else if (strncmp(optarg, "rate-limit:", 11) == 0 &&
                     parse_uint(optarg + 11, 1ULL << 40, &v) == 0 && v > 0)
                conf.flow_rate_bps = v;
            else
                bad = 1;
            break;
        case O_DST:
            if (strcmp(optarg, "rtbh") == 0)
                conf.dst_action = XP_DST_RTBH;
            else if (strcmp(optarg, "flow") == 0)
                conf.dst_action = XP_DST_FLOW;
            else if (strcmp(optarg, "none") == 0)
                conf.dst_action = XP_DST_NONE;
            else
                bad = 1;
            break;
        case O_NH4:
        case O_NH6: {
            char *nh = opt == O_NH4 ? conf.next_hop4 : conf.next_hop6;

            if (strlen(optarg) >= sizeof(conf.next_hop4))
                bad = 1;
            else
                snprintf(nh, sizeof(conf.next_hop4), "%s", optarg);
            break;
        }
        case O_COMM:
            if (strlen(optarg) >= sizeof(conf.community))
                bad = 1;
            else
                snprintf(conf.community, sizeof(conf.community), "%s", optarg);
            break;
        case O_V6P:
            bad = parse_uint(optarg, 128, &v) != 0;
            conf.v6_unit_prefix = (unsigned)v;
            break;
        case O_MAXR:
            bad = parse_uint(optarg, 1000000, &v) != 0;
            conf.max_routes = (unsigned)v;
            break;
        case O_MAXP:
            bad = parse_uint(optarg, 16777216, &v) != 0;
            conf.max_pairs = (unsigned)v;
            break;
        case O_RATE:
        case O_BURST:
            bad = parse_double(optarg, &d) != 0;
            *(opt == O_RATE ? &conf.rate : &conf.burst) = d;
            break;
        case O_KEEP:
            app.keep_rib = true;
            break;
        case O_NSCRIPT:
            nconf.script = optarg;
            break;
        case O_NTIMEOUT:
            bad = parse_double(optarg, &d) != 0 || d < 0.001 || d > 3600;
            nconf.timeout_ms = bad ? 0 : (unsigned)lround(d * 1000);
            break;
        case O_NMAX:
            bad = parse_uint(optarg, 1024, &v) != 0 || v == 0;
            nconf.max_running = (unsigned)v;
            break;
        case O_NQUEUE:
            bad = parse_uint(optarg, 65536, &v) != 0 || v == 0;
            nconf.max_queued = (unsigned)v;
            break;
        case O_STATS:
            app.stats_path = optarg;
            break;
        case O_RESYNC:
            bad = parse_double(optarg, &d) != 0 || d < 0 || d > 3600 || (d > 0 && d < 0.1);
            app.resync_ms = bad ? 0 : (unsigned)lround(d * 1000);
            break;
        case O_LEVEL:
            if (xp_log_level_parse(optarg, &level))
                bad = 1;
            else
                xp_log_set_level(level);
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        case 'V':
            printf("xpro-announce %s\n", XP_VERSION);
            return EXIT_OK;
        default:
            usage(stderr);
            return EXIT_FAIL_OPTION;
        }
        if (bad) {
            const char *name = "?";

            for (const struct option *o = opts; o->name; o++)
                if (o->val == opt)
                    name = o->name;
            fprintf(stderr, "xpro-announce: --%s: bad value \"%s\" (see --help)\n", name, optarg);
            return EXIT_FAIL_OPTION;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "xpro-announce: unexpected argument \"%s\"\n", argv[optind]);
        return EXIT_FAIL_OPTION;
    }
    if (xp_announce_conf__check(&conf, err, sizeof(err))) {
        fprintf(stderr, "xpro-announce: %s\n", err);
        return EXIT_FAIL_OPTION;
    }
    if (nconf.script && (nconf.script[0] != '/' || access(nconf.script, X_OK) != 0)) {
        fprintf(stderr,
                "xpro-announce: --notify-script %s: expected an absolute path to an "
                "executable\n",
                nconf.script);
        return EXIT_FAIL_OPTION;
    }
    if (sock) {
        snprintf(app.sock, sizeof(app.sock), "%s", sock);
    } else if (!proxy && getenv("XPRO_CTL_SOCKET")) {
        snprintf(app.sock, sizeof(app.sock), "%s", getenv("XPRO_CTL_SOCKET"));
    } else if (xp_ctl_default_path(proxy ? proxy : "xpro", app.sock, sizeof(app.sock))) {
        fprintf(stderr, "xpro-announce: --proxy %s: not a usable id\n", proxy);
        return EXIT_FAIL_OPTION;
    }
    /*
     * Under ExaBGP stdin is a pipe whose end means ExaBGP is gone; anything else (a
     * terminal, /dev/null when run by hand for the notify hook alone) is not watched.
     */
    if (fstat(STDIN_FILENO, &sb) != 0 || !(S_ISFIFO(sb.st_mode) || S_ISSOCK(sb.st_mode)))
        app.stdin_open = false;
    else
        fcntl(STDIN_FILENO, F_SETFL, fcntl(STDIN_FILENO, F_GETFL) | O_NONBLOCK);
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGCHLD);
    if (sigprocmask(SIG_BLOCK, &mask, NULL) != 0 ||
        (sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
        pr_err("signals: %s", strerror(errno));
        return EXIT_FAIL;
    }
    app.ann = xp_announce__create(&conf, write_command, &app, xp_mono_ns());
    if (!app.ann) {
        pr_err("cannot create the route table: %s", strerror(errno));
        goto out_close;
    }
    if (nconf.script) {
        app.notify = xp_notify__create(&nconf);
        if (!app.notify) {
            pr_err("notify hook: %s", strerror(errno));
            goto out_destroy;
        }
    }
    pr_info("xpro-announce %s: socket %s, FlowSpec %s, dst_rate -> %s, at most %u routes, "
            "%g updates/s (burst %g)%s%s",
            XP_VERSION, app.sock, conf.flow_rate_bps ? "rate-limit" : "discard",
            conf.dst_action == XP_DST_RTBH   ? "RTBH"
            : conf.dst_action == XP_DST_FLOW ? "FlowSpec"
                                             : "nothing",
            conf.max_routes, conf.rate, conf.burst, nconf.script ? ", notify " : "",
            nconf.script ? nconf.script : "");
    ret = run(&app, sfd);
    xp_ctl_client__destroy(app.cli);
    xp_notify__destroy(app.notify);
out_destroy:
    xp_announce__destroy(app.ann);
out_close:
    close(sfd);
    return ret;
}
