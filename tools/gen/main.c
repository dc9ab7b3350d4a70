// SPDX-License-Identifier: GPL-2.0-only
/*
 * xpro-gen: the bench's traffic generator and counting sink.
 *
 *   xpro-gen send --ifname DEV --scenario FILE [--group G] [--duration S] [--dst-mac MAC]
 *                 [--start-at EPOCH] [--out FILE.csv]
 *   xpro-gen sink --ifname DEV [--duration S] [--port P] [--ready-file F] [--out FILE.csv]
 *   xpro-gen rtt --server ADDR [--port P] [--count N] [--interval-ms MS] [--out FILE.csv]
 *   xpro-gen tx-csum-off --ifname DEV
 *   xpro-gen [COMMAND] --help | --version
 *
 * Every command also takes --log-level err|warn|info|debug.
 *
 * send (send.c): one TX-only AF_XDP socket (libxdp's xsk API; no XDP program needed,
 * zero-copy tried first by the kernel, copy mode on veth) emits the frames of
 * N emulated units: each unit has its own source address and MAC, a
 * destination, a frame size and a rate profile. Each unit is paced by its own
 * token bucket (backlog capped at 20 ms of its rate), frames go out in batches
 * with one sendto() per batch when need_wakeup asks for it. What was put on
 * the wire (completed TX descriptors are reclaimed; the count is taken at
 * submission) is recorded per unit and per wall-clock second.
 *
 * sink (sink.c): an AF_PACKET socket on the far side counts UDP frames (to --port,
 * 5683 by default, 0 for any) per source address and per second.
 *
 * rtt (rtt.c): confirmable CoAP GET / requests to --server (e.g. libcoap's coap-server),
 * one at a time, each waiting up to 1 s for its answer (ten unanswered in a row end the
 * run): round trips in microseconds (median, p90, p99), per request in --out.
 *
 * tx-csum-off (tx_csum_off.c): ethtool -K DEV tx off, through the ETHTOOL_STXCSUM ioctl.
 *
 * send and sink print one JSON line per second on stdout ({"t":EPOCH_SECOND,...}) and
 * a final line ({"final":true,...}); --out writes CSV rows
 * "t,unit,src,sent" (send) or "t,src,received" (sink), t being the epoch
 * second, so the two join on (t, src).
 *
 * Scenario file (unit.c; text; '#' starts a comment; other line kinds are ignored
 * here, bench/scenario.sh reads them): one unit per line,
 *
 *   unit NAME src=ADDR dst=ADDR [group=G] [profile=P] [rate=PPS|max] [flood=PPS]
 *        [at=S] [on=S] [off=S] [to=PPS] [ramp=S] [start=S] [stop=S] [size=BYTES]
 *        [sport=N] [dport=N] [smac=MAC] [dmac=MAC] [role=attack|benign]
 *
 * Profiles (t is seconds since the generator's start; nothing outside
 * [start, stop)):
 *   constant     rate (rate=max: as fast as the ring takes frames)
 *   onoff        rate during on seconds, nothing during off seconds, repeated
 *   ramp         rate to `to` linearly over `ramp` seconds, then `to`
 *   flood        rate (default 0) before `at`, then `flood`: "flood from T"
 *                with rate=0, "quiet then flood" (a sleeper) with rate>0;
 *                `quiet-flood` is the same profile
 *
 * Frames: Ethernet + IPv4 or IPv6 (by the addresses) + UDP (sport, dport 5683)
 * + a CoAP NON GET header (version 1, message id incremented per frame),
 * padded to `size` bytes (64 by default, no FCS; IPv6 needs at least 66).
 *
 * Exit codes: 0 ok, 1 failure, 2 bad option or scenario, 4 out of memory,
 * 5 interface missing.
 *
 * This file only dispatches: each command's options, defaults and help are one table in
 * its own file (gen.h's struct xp_gen_cmd), parsed by opts.c.
 */
#include <stdlib.h>
#include <string.h>

#include "src/util/exit_codes.h"
#include "src/util/log.h"
#include "tools/gen/gen.h"

static const struct xp_gen_cmd *const commands[] = {
    &xp_gen_cmd_send,
    &xp_gen_cmd_sink,
    &xp_gen_cmd_rtt,
    &xp_gen_cmd_tx_csum_off,
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *f)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        xp_gen_opts__synopsis(f, i ? "       " : "usage: ", commands[i]);
    fprintf(f, "       xpro-gen [COMMAND] --help | --version\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  %-12s %s\n", commands[i]->name, commands[i]->summary);
    fprintf(f, "Every command also takes --log-level err|warn|info|debug.\n");
    fputs(XP_GEN_EXIT_CODES_HELP, f);
}

static const struct xp_gen_cmd *command_find(const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (!strcmp(commands[i]->name, name))
            return commands[i];
    return NULL;
}

static int command_run(const struct xp_gen_cmd *cmd, int argc, char **argv)
{
    void *opts = malloc(cmd->opts_size);
    int ret, rc;

    if (!opts)
        return EXIT_FAIL_MEM;
    memcpy(opts, cmd->defaults, cmd->opts_size);
    ret = xp_gen_opts__parse(cmd, argc, argv, opts);
    if (ret) {
        rc = ret > 0 ? EXIT_OK : EXIT_FAIL_OPTION;
        goto out;
    }
    if (cmd->stoppable)
        xp_gen_catch_signals();
    rc = cmd->run(opts);
out:
    free(opts);
    return rc;
}

int main(int argc, char **argv)
{
    const struct xp_gen_cmd *cmd;

    if (argc < 2) {
        usage(stderr);
        return EXIT_FAIL_OPTION;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(stdout);
        return EXIT_OK;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
        xp_gen_print_version();
        return EXIT_OK;
    }
    cmd = command_find(argv[1]);
    if (!cmd) {
        fprintf(stderr, "xpro-gen: unknown command: %s\n", argv[1]);
        usage(stderr);
        return EXIT_FAIL_OPTION;
    }
    xp_log_set_thread_name("xpro-gen");
    xp_log_hook_libraries();
    return command_run(cmd, argc, argv);
}
