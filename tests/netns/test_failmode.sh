#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Fail modes and start-up errors of the contract:
# - fail_mode open: kill -9 the proxy under traffic; frames keep flowing through the bridge;
#   a restarted proxy takes the traffic over again.
# - fail_mode closed: after kill -9 nothing gets through; a restarted proxy forwards again.
# - a missing interface exits 5; --check-config names file:line:col of an unknown key and
#   exits 2; a port with a foreign XDP program attached exits 8.
set -euo pipefail
# shellcheck source=tests/netns/lib.sh
source "$(dirname "$0")/lib.sh"

RATE=${XP_FAILMODE_RATE:-20000}
PHASE=${XP_FAILMODE_PHASE:-4} # seconds of traffic before the kill, after it, after the restart

xp_init
xp_require_all

# xp_proxy_expect_exit NAME WANT CONF [ARGS...]: runs the proxy (bounded) and checks its code.
xp_proxy_expect_exit() {
    local name=$1 want=$2 conf=$3 pid rc
    shift 3
    xp_proxy_start pid "$name" "$conf" --duration 5 "$@"
    xp_wait_pid "$pid" 20 || xp_fail "$name: proxy still running after 20 s"
    rc=$XP_RC
    xp_check "$name: exit code $want (got $rc: $(tail -n 1 "$XP_TMP/$name.err"))" [ "$rc" = "$want" ]
}

# xp_rx_seconds FILE FROM TO: the per-second totals of lines FROM..TO of a count-only log.
xp_rx_seconds() {
    sed -n "$2,$3p" "$1" | jq -r 'select(.final != true) | .total' | tr '\n' ' '
}
xp_all_positive() { local v; for v in "$@"; do [ "$v" -gt 0 ] || return 1; done; [ $# -gt 0 ]; }
xp_all_zero() { local v; for v in "$@"; do [ "$v" = 0 ] || return 1; done; [ $# -gt 0 ]; }

# xp_rx_packets_total NAME: sum of rx_packets over all queues of all ports, last stats line.
xp_rx_packets_total() {
    xp_proxy_last_stats "$1" | jq '[.ports[].queues[].rx_packets] | add // 0'
}

# xp_killed_round MODE: traffic, kill -9, wait, restart, wait; checks the per-second counts.
xp_killed_round() {
    local mode=$1 conf="$XP_TMP/proxy-$1.json" p1 p2 rpid spid l_kill l_restart l_end
    local after restarted first second rc
    xp_topo_inline 1
    xp_proxy_config "$conf" 1 "$mode" "$(xp_proxy_cpus)"
    xp_proxy_start p1 "$mode-1" "$conf"
    xp_proxy_wait_stats "$mode-1" 1 20 || xp_fail "$mode: proxy did not start: $(tail -3 "$XP_TMP/$mode-1.err")"

    xp_gen_up --flows 16 --seed 11
    xp_recv_start rpid "$mode.rx" "$XP_NS_TARGET" t0 --count-only --duration $((PHASE * 3 + 6))
    xp_send_bg spid "$mode.tx" "$XP_NS_UNIT" u0 --count 0 --rate "$RATE" \
        --duration $((PHASE * 3 + 3)) "${XP_GEN[@]}"

    sleep "$PHASE"
    xp_check "$mode: proxy forwards before the kill (rx_packets $(xp_rx_packets_total "$mode-1"))" \
        test "$(xp_rx_packets_total "$mode-1")" -gt 0
    l_kill=$(xp_lines "$XP_TMP/$mode.rx.out")
    kill -KILL "$p1"
    xp_wait_pid "$p1" 5 || xp_fail "$mode: proxy survived kill -9"
    sleep "$PHASE"
    l_restart=$(xp_lines "$XP_TMP/$mode.rx.out")

    # Seconds fully after the kill and before the restart (skip the one the kill fell in).
    after=$(xp_rx_seconds "$XP_TMP/$mode.rx.out" $((l_kill + 2)) "$l_restart")
    # shellcheck disable=SC2086
    if [ "$mode" = open ]; then
        xp_check "open: traffic keeps flowing after kill -9 (per second: $after)" xp_all_positive $after
    else
        xp_check "closed: traffic stops after kill -9 (per second: $after)" xp_all_zero $after
    fi

    xp_proxy_start p2 "$mode-2" "$conf"
    xp_proxy_wait_stats "$mode-2" 2 20 ||
        xp_fail "$mode: restarted proxy gave no stats: $(tail -3 "$XP_TMP/$mode-2.err")"
    first=$(xp_rx_packets_total "$mode-2")
    xp_proxy_wait_stats "$mode-2" 3 10 || xp_fail "$mode: restarted proxy stopped printing stats"
    second=$(xp_rx_packets_total "$mode-2")
    xp_check "$mode: restarted proxy takes the traffic over (rx_packets $first -> $second)" \
        test "$second" -gt "$first"
    sleep 2
    l_end=$(xp_lines "$XP_TMP/$mode.rx.out")
    restarted=$(xp_rx_seconds "$XP_TMP/$mode.rx.out" $((l_end - 1)) "$l_end")
    # shellcheck disable=SC2086
    xp_check "$mode: traffic flows after the restart (per second: $restarted)" \
        xp_all_positive $restarted

    kill -TERM "$p2"
    xp_wait_pid "$p2" 15 || xp_fail "$mode: proxy still running 15 s after SIGTERM"
    rc=$XP_RC
    xp_check "$mode: restarted proxy exits 0 on SIGTERM (got $rc)" [ "$rc" = 0 ]
    if [ "$mode" = closed ]; then
        xp_check "closed: XDP program stays attached on exit (the link stays shut)" \
            xp_has_xdp "$XP_NS_PROXY" xpa
    else
        xp_check "open: no XDP program left on xpa after exit" xp_no_xdp "$XP_NS_PROXY" xpa
    fi
    xp_kill "$spid"
    xp_kill "$rpid"
    xp_topo_destroy
}

xp_error_cases() {
    local conf="$XP_TMP/err.json" bad="$XP_TMP/unknown-key.json" hpid out rc
    xp_topo_inline 1

    # Missing interface: exit 5.
    printf '{\n  "ports": { "access": "xpnone0", "core": "xpc" },\n  "fail_mode": "open"\n}\n' >"$conf"
    xp_proxy_expect_exit missing-if 5 "$conf"

    # Unknown key: --check-config exits 2 and names file:line:col (the key is on line 3).
    printf '{\n  "ports": { "access": "xpa", "core": "xpc" },\n  "bogus_key": 1\n}\n' >"$bad"
    rc=0
    out=$("$XP_PROXY" -c "$bad" --check-config 2>&1) || rc=$?
    echo "$out" >"$XP_TMP/unknown-key.log"
    xp_check "unknown key: --check-config exits 2 (got $rc)" [ "$rc" = 2 ]
    xp_check "unknown key: error names $bad:3:<col> ($out)" \
        grep -Eq "$(basename "$bad"):3:[0-9]+" <<<"$out"
    xp_check "unknown key: error names the key" grep -q bogus_key <<<"$out"

    # A valid config passes --check-config.
    xp_proxy_config "$conf" 1 open
    rc=0
    out=$("$XP_PROXY" -c "$conf" --check-config 2>&1) || rc=$?
    xp_check "valid config: --check-config exits 0 ($out)" [ "$rc" = 0 ]

    # Foreign XDP program on the access port: exit 8 (and the program is left alone).
    xp_bg hpid xdp-hold ip netns exec "$XP_NS_PROXY" "$XP_PKTIO" xdp-hold --ifname xpa \
        --duration 60 --ready-file "$XP_TMP/xdp-hold.ready"
    xp_wait_for 10 test -f "$XP_TMP/xdp-hold.ready" || xp_fail "could not attach a foreign XDP program"
    xp_proxy_expect_exit foreign-xdp 8 "$conf"
    xp_check "foreign XDP program still attached after the proxy gave up" \
        xp_has_xdp "$XP_NS_PROXY" xpa
    xp_kill "$hpid"
    xp_topo_destroy
}

xp_error_cases
xp_killed_round open
xp_killed_round closed
xp_pass "test_failmode"
