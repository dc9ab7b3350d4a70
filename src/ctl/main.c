// SPDX-License-Identifier: GPL-2.0-only
/*
 * xpro-ctl: the operator's view of a running xpro-proxy, over its control socket.
 *
 * Every subcommand is one row of a table (cli_opts.c): its positional arguments, its own
 * options, the request it sends and how its result is printed as a table (cli_render.c).
 * --json skips the table and prints the proxy's result as is, for tools. This file
 * connects, sends, and follows the event stream. The wire protocol is src/ctl/ctl.h;
 * docs/operators.md lists the ops.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "src/ctl/cli.h"
#include "src/ctl/ctl.h"
#include "src/sync/sync.h"
#include "src/util/exit_codes.h"
#include "src/util/hexaddr.h"
#include "src/util/secret_file.h"
#include "xp_build_config.h"

void xp_cli_connect_error(const char *path, int err)
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

/* Each element of arr as one compact JSON line: what --follow --json prints for every event. */
static void print_json_lines(const json_t *arr)
{
    size_t i;
    json_t *v;

    json_array_foreach(arr, i, v) {
        char *s = json_dumps(v, JSON_COMPACT | JSON_REAL_PRECISION(15));

        if (s)
            printf("%s\n", s);
        free(s);
    }
}

static volatile sig_atomic_t ctl_stop;

static void on_signal(int sig)
{
    (void)sig;
    ctl_stop = 1;
}

static int follow(struct xp_ctl_client *c, const struct xp_cli_opts *o)
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
            xp_cli_print_event(line, (size_t)n);
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
static int central_stats(const struct xp_cli_opts *o, const struct xp_cli_command *cmd)
{
    struct xp_sync_client_config cc = { 0 };
    uint8_t secret[XP_SYNC_SECRET_MAX];
    char host[64], hex[256] = "", why[320], *json = NULL;
    struct xp_sync_client *cl;
    struct xp_policer_key key;
    bool why_cmd = strcmp(cmd->name, "why") == 0;
    uint16_t port;
    int len, ret;

    if (strcmp(cmd->name, "stats") != 0 && !why_cmd) {
        fprintf(stderr, "xpro-ctl: --central: only \"stats\" and \"why\" are served by the "
                "central node\n");
        return EXIT_FAIL_OPTION;
    }
    /* the central node keys rows as the proxies send them: an IPv6 unit already masked */
    if (why_cmd && (xp_addr__parse(o->pos[0], key.unit) < 0 ||
                    xp_addr__parse(o->pos[1], key.dst) < 0)) {
        fprintf(stderr, "xpro-ctl: why: expected two IPv4 or IPv6 addresses\n");
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
    ret = why_cmd ? xp_sync_client__central_why(cl, &key, &json)
                  : xp_sync_client__central_stats(cl, &json);
    if (ret) {
        fprintf(stderr, "xpro-ctl: central node %s: %s\n", o->central,
                ret == -EACCES ? "authentication refused (id or secret)" : strerror(-ret));
        xp_sync_client__destroy(cl);
        return EXIT_FAIL;
    }
    if (o->json) {
        printf("%s\n", json);
    } else if (why_cmd) {
        json_t *doc = json_loads(json, 0, NULL);

        xp_cli_print_central_why(doc);
        json_decref(doc);
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
    const struct xp_cli_command *cmd;
    struct xp_ctl_client *c;
    char path[108], err[512];
    json_t *req, *result = NULL, *prev = NULL;
    struct xp_cli_opts o;
    int ret;

    if (xp_cli__parse(argc, argv, &o, &cmd))
        return EXIT_FAIL_OPTION;
    if (o.help) {
        xp_cli__usage(stdout);
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
    } else if (xp_ctl_default_path(o.proxy ? o.proxy : XP_CLI_DEFAULT_ID, path, sizeof(path))) {
        fprintf(stderr, "xpro-ctl: --proxy %s: not a proxy id\n", o.proxy);
        return EXIT_FAIL_OPTION;
    }

    if (cmd->run)
        return cmd->run(path, &o);
    c = xp_ctl_client__connect(path, (int)o.timeout_s * 1000);
    if (!c) {
        xp_cli_connect_error(path, errno);
        return EXIT_FAIL;
    }
    req = xp_cli__request(cmd, &o);
    if (!req) {
        xp_ctl_client__destroy(c);
        return EXIT_FAIL;
    }
    ret = xp_ctl_client__request(c, req, (int)o.timeout_s * 1000, &result, err, sizeof(err));
    /* Rates are counters over time: a second sample interval_s later. */
    if (!ret && cmd->rates && !o.json && o.interval_s) {
        prev = result;
        result = NULL;
        sleep(o.interval_s);
        /* a new connection: the server may close an idle one (idle_ms) in the meantime */
        xp_ctl_client__destroy(c);
        c = xp_ctl_client__connect(path, (int)o.timeout_s * 1000);
        if (!c) {
            xp_cli_connect_error(path, errno);
            json_decref(req);
            json_decref(prev);
            return EXIT_FAIL;
        }
        ret = xp_ctl_client__request(c, req, (int)o.timeout_s * 1000, &result, err, sizeof(err));
    }
    json_decref(req);
    if (ret == XP_CTL_E_REPLY) {
        fprintf(stderr, "xpro-ctl: %s: the proxy refused: %s\n", cmd->name, err);
        ret = EXIT_FAIL;
    } else if (ret) {
        fprintf(stderr, "xpro-ctl: %s: %s\n", path, err);
        ret = EXIT_FAIL;
    } else if (cmd->streams && o.follow) {
        /* the latest events asked for with --last come in the reply, then the stream */
        if (o.json)
            print_json_lines(json_object_get(result, "events"));
        else
            cmd->print(result);
        fflush(stdout);
        ret = follow(c, &o);
    } else if (prev) {
        xp_cli_print_stats_rates(prev, result);
        ret = EXIT_OK;
    } else {
        if (o.json) {
            char *s = json_dumps(result, JSON_COMPACT | JSON_ENCODE_ANY |
                                 JSON_REAL_PRECISION(15));

            printf("%s\n", s ? s : "null");
            free(s);
        } else {
            cmd->print(result);
        }
        ret = EXIT_OK;
    }
    json_decref(result);
    json_decref(prev);
    xp_ctl_client__destroy(c);
    return ret;
}
