#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The proxy forwards, unchanged, every frame in both directions of the inline topology,
# with one and with two queues, IPv4 and IPv6; its stats account for every frame; it exits
# 0 on SIGTERM and leaves no XDP program behind (fail_mode open).
set -euo pipefail
# shellcheck source=tests/netns/lib.sh
source "$(dirname "$0")/lib.sh"

N=${XP_FORWARD_N:-20000}
N6=${XP_FORWARD_N6:-5000}
FLOWS=64
RATE=${XP_FORWARD_RATE:-50000}

xp_init
xp_require_all

# xp_transfer NAME DIRECTION COUNT SEED [--v6]: COUNT frames over FLOWS flows through the
# proxy; the receiver must see every one, byte-identical.
xp_transfer() {
    local name=$1 dir=$2 count=$3 seed=$4 rns rif sns sif rpid rc
    shift 4
    if [ "$dir" = up ]; then
        xp_gen_up --flows "$FLOWS" --seed "$seed" "$@"
        sns=$XP_NS_UNIT sif=u0 rns=$XP_NS_TARGET rif=t0
    else
        xp_gen_down --flows "$FLOWS" --seed "$seed" "$@"
        sns=$XP_NS_TARGET sif=t0 rns=$XP_NS_UNIT rif=u0
    fi
    xp_recv_start rpid "$name.rx" "$rns" "$rif" --expect "$count" --timeout 20 "${XP_GEN[@]}"
    xp_send "$sns" "$sif" --count "$count" --rate "$RATE" --duration 20 "${XP_GEN[@]}" \
        >"$XP_TMP/$name.tx.out" 2>"$XP_TMP/$name.tx.err" ||
        xp_fail "$name: sender failed: $(cat "$XP_TMP/$name.tx.out" "$XP_TMP/$name.tx.err")"
    xp_wait_pid "$rpid" 30 || xp_fail "$name: receiver did not finish"
    rc=$XP_RC
    if [ "$rc" != 0 ] || [ "$(jq -r .duplicates "$XP_TMP/$name.rx.out")" != 0 ]; then
        xp_fail "$name: $count frames $dir: $(jq -c 'del(.per_flow)' "$XP_TMP/$name.rx.out")"
    fi
    xp_pass "$name: $count frames $dir arrived byte-identical ($(jq -c \
        '{received, identical, seconds}' "$XP_TMP/$name.rx.out"))"
}

# xp_in_range VALUE LOW HIGH
xp_in_range() { [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]; }

xp_forward_round() {
    local q=$1 conf="$XP_TMP/proxy-q$1.json" ppid rc final up down nq q_rx
    local up_total=$((N + N6)) slack
    xp_log "round Q=$q"
    xp_topo_inline "$q"
    xp_proxy_config "$conf" "$q" open "$(xp_proxy_cpus)"
    xp_proxy_start ppid "proxy-q$q" "$conf"
    if ! xp_proxy_wait_stats "proxy-q$q" 1 20; then
        kill -0 "$ppid" 2>/dev/null || xp_fail "Q=$q: proxy exited early: $(tail -5 "$XP_TMP/proxy-q$q.err")"
        xp_fail "Q=$q: no stats line from the proxy within 20 s"
    fi
    xp_pass "Q=$q: proxy up, first stats line printed"

    xp_transfer "q$q-up" up "$N" "$((100 + q))"
    xp_transfer "q$q-down" down "$N" "$((200 + q))"
    xp_transfer "q$q-up6" up "$N6" "$((300 + q))" --v6

    # Let one more stats interval pass so the final line sees the traffic settled.
    sleep 1.2
    kill -TERM "$ppid"
    xp_wait_pid "$ppid" 15 || xp_fail "Q=$q: proxy still running 15 s after SIGTERM"
    rc=$XP_RC
    xp_check "Q=$q: proxy exits 0 on SIGTERM (got $rc)" [ "$rc" = 0 ]

    final=$(xp_proxy_last_stats "proxy-q$q")
    [ -n "$final" ] || xp_fail "Q=$q: no stats line at all"
    echo "$final" >"$XP_TMP/proxy-q$q.final.log"
    xp_check "Q=$q: last stats line has \"final\": true" \
        test "$(jq -r '.final' <<<"$final")" = true
    xp_check "Q=$q: frames.leaked == 0 ($(jq -c .frames <<<"$final"))" \
        test "$(jq -r '.frames.leaked' <<<"$final")" = 0
    xp_check_conservation "$final"

    # Redirect counters: the frames we sent, plus a little slack for stray IP frames.
    slack=$((up_total / 100 + 50))
    up=$(jq -r '.ports[] | select(.role == "access") | .xdp.redirect' <<<"$final")
    down=$(jq -r '.ports[] | select(.role == "core") | .xdp.redirect' <<<"$final")
    xp_check "Q=$q: access xdp.redirect $up ~ $up_total" xp_in_range "$up" "$up_total" "$((up_total + slack))"
    xp_check "Q=$q: core xdp.redirect $down ~ $N" xp_in_range "$down" "$N" "$((N + slack))"

    nq=$(jq -r '[.ports[] | select(.role == "access") | .queues[]] | length' <<<"$final")
    xp_check "Q=$q: access port reports $q queue(s) (got $nq)" [ "$nq" = "$q" ]
    q_rx=$(jq -c '[.ports[] | select(.role == "access") | .queues[].rx_packets]' <<<"$final")
    xp_check "Q=$q: every access queue received (rx_packets $q_rx)" \
        test "$(jq '[.[] | select(. > 0)] | length' <<<"$q_rx")" = "$q"
    q_rx=$(jq '[.ports[] | select(.role == "access") | .queues[].rx_packets] | add' <<<"$final")
    xp_check "Q=$q: access rx_packets $q_rx ~ $up_total" xp_in_range "$q_rx" "$up_total" "$((up_total + slack))"

    xp_check "Q=$q: no XDP program left on xpa" xp_no_xdp "$XP_NS_PROXY" xpa
    xp_check "Q=$q: no XDP program left on xpc" xp_no_xdp "$XP_NS_PROXY" xpc
    xp_topo_destroy
}

xp_forward_round 1
xp_forward_round 2
xp_pass "test_forward"
