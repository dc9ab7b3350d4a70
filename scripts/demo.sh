#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The first command of the README: builds xpro, puts xpro-proxy inline between two emulated
# IoT units and a target (network namespaces on veth pairs), and replays the paper's
# single-proxy experiment live: both units send 2 000 pps; after a third of the run unit
# 198.18.0.2 turns into a flooder (20 000 pps, T_F1 = 5 000 pps). Every second a row shows
# what reaches the target from each unit and what the proxy does (XDP drops of the blocked
# pair, verdicts); the proxy's events (overload, block) are printed as they happen.
# Runs for --duration seconds (default 30) or until Ctrl-C, then tears everything down.
#
#   sudo scripts/demo.sh [--duration SEC] [--queues Q] [--no-build]
#   scripts/demo.sh --replay STATS_FILE   (the per-second rows of a recorded stats stream)
set -euo pipefail

XP_DEMO_DURATION=30
XP_DEMO_QUEUES=1
XP_DEMO_BUILD=1
XP_DEMO_RATE_SLOW=2000
XP_DEMO_RATE_FAST=20000
XP_DEMO_T_F1=5000

xp_demo_usage() {
    sed -n 's/^#   //p' "$0"
    exit "${1:-0}"
}

xp_demo_header() {
    printf '%4s | %9s %9s | %9s %9s %9s %9s | %8s\n' \
        t 'u1@tgt/s' 'u2@tgt/s' 'rx_pps' 'xdp_drop' 'policed' 'dropped' 'blocked'
}

# xp_demo_row T STATS_LINE PREV_STATS SINK_LINE: one row (sink: the target's last second).
xp_demo_row() {
    local t=$1 s=$2 p=$3 k=$4 u1=- u2=- row
    if [ -n "$k" ]; then
        u1=$(jq -r '.per_src["198.18.0.1"] // 0' <<<"$k" 2>/dev/null || echo -)
        u2=$(jq -r '.per_src["198.18.0.2"] // 0' <<<"$k" 2>/dev/null || echo -)
    fi
    row=$(jq -rn --argjson s "$s" --argjson p "${p:-null}" '
        def acc: (.ports // []) | map(select(.role == "access")) | .[0] // {};
        def d(f): (($s | f) // 0) - (if $p == null then 0 else (($p | f) // 0) end);
        [ ($s.totals.rx_pps // 0 | floor),
          d(acc | .xdp.drop_blocked),
          d(.pipeline.policed),
          d(.pipeline.drop_unit_rate) + d(.pipeline.drop_dst_rate),
          ($s.pipeline.blocked_pairs // 0) ] | @tsv' 2>/dev/null) || return 0
    local rx xd pol dr bl
    IFS=$'\t' read -r rx xd pol dr bl <<<"$row"
    printf '%4s | %9s %9s | %9s %9s %9s %9s | %8s\n' "$t" "$u1" "$u2" "$rx" "$xd" "$pol" "$dr" "$bl"
}

# The ticker's clock is the proxy's own: one row per stats line, and the row's second is
# the previous row's plus the seconds between the two lines' timestamps ("ts"), at least
# one. A sleep loop polling the file raced the writer (a second printed twice when two
# lines landed in one turn, skipped when none did); this cannot repeat a second, and skips
# one only when the proxy itself wrote no line for it.
# xp_demo_second STATS_LINE: sets XP_DEMO_T (-1 before the first line) from the line's ts.
XP_DEMO_T=-1
XP_DEMO_TS=
xp_demo_second() {
    local ts
    ts=$(jq -r '.ts // empty' <<<"$1" 2>/dev/null) || ts=
    [ -n "$ts" ] || return 1
    if [ "$XP_DEMO_T" -lt 0 ]; then
        XP_DEMO_T=0
    else
        XP_DEMO_T=$((XP_DEMO_T + $(awk -v a="$XP_DEMO_TS" -v b="$ts" \
            'BEGIN { d = int(b - a + 0.5); print (d < 1 ? 1 : d) }')))
    fi
    XP_DEMO_TS=$ts
}

# xp_demo_replay FILE: the ticker over a recorded stats stream (xpro-proxy --stats-out).
xp_demo_replay() {
    local line prev=
    xp_demo_header
    while IFS= read -r line; do
        case $line in *'"totals"'*) ;; *) continue ;; esac
        xp_demo_second "$line" || continue
        xp_demo_row "$XP_DEMO_T" "$line" "$prev" ""
        prev=$line
    done <"$1"
}

while [ $# -gt 0 ]; do
    case $1 in
    --duration) XP_DEMO_DURATION=$2; shift 2 ;;
    --queues) XP_DEMO_QUEUES=$2; shift 2 ;;
    --no-build) XP_DEMO_BUILD=0; shift ;;
    --replay) xp_demo_replay "$2"; exit 0 ;;
    -h | --help) xp_demo_usage 0 ;;
    *) echo "demo: unknown option $1" >&2; xp_demo_usage 2 ;;
    esac
done
if ! [[ $XP_DEMO_DURATION =~ ^[0-9]+$ ]] || [ "$XP_DEMO_DURATION" -lt 1 ]; then
    echo "demo: --duration must be a positive integer" >&2
    exit 2
fi
[[ $XP_DEMO_QUEUES =~ ^[1-8]$ ]] || { echo "demo: --queues must be 1..8" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "demo: needs root (network namespaces, XDP)" >&2; exit 1; }

cd "$(dirname "$0")/.."
XPRO_SRC=$PWD
XPRO_BUILD=${XPRO_BUILD:-$PWD/build}
export XPRO_SRC XPRO_BUILD

if [ "$XP_DEMO_BUILD" = 1 ]; then
    echo "==> installing missing packages (scripts/setup.sh)"
    bash scripts/setup.sh
    echo "==> building into $XPRO_BUILD"
    if [ -f "$XPRO_BUILD/meson-private/coredata.dat" ]; then
        meson setup --reconfigure "$XPRO_BUILD" >/dev/null
    else
        meson setup "$XPRO_BUILD" >/dev/null
    fi
    ninja -C "$XPRO_BUILD" >/dev/null
fi

XP_TEST_NAME=demo
XP_TEST_TIMEOUT=$((XP_DEMO_DURATION + 120))
# shellcheck source=tests/netns/lib.sh
source "$XPRO_SRC/tests/netns/lib.sh"
xp_init
xp_require_root
xp_require_cmd ip jq
xp_require_xdp
xp_require_proxy

XP_DEMO_STOP=0
trap 'XP_DEMO_STOP=1' INT

echo "==> topology: UNIT ns (units 198.18.0.1, 198.18.0.2) -- xpro-proxy ($XP_DEMO_QUEUES queue(s)) -- TARGET ns (198.18.0.254)"
xp_topo_inline "$XP_DEMO_QUEUES" 2
CONF="$XP_TMP/proxy.json"
cat >"$CONF" <<JSON
{
  "proxy_id": "demo",
  "ports": { "access": "xpa", "core": "xpc" },
  "queues": $XP_DEMO_QUEUES,
  "cpus": $(xp_proxy_cpus),
  "fail_mode": "open",
  "events_out": "$XP_TMP/events.jsonl",
  "policer": {
    "unit_prefixes": ["198.18.0.0/24"],
    "t_f1_pps": $XP_DEMO_T_F1,
    "t_f2_pps": 1000000
  }
}
JSON
xp_proxy_start PROXY_PID proxy "$CONF"
xp_proxy_wait_stats proxy 1 20 || {
    echo "demo: the proxy did not start:" >&2
    tail -n 20 "$XP_TMP/proxy.err" >&2
    exit 1
}

# The target counts what reaches it, per unit and per second.
xp_recv_start RX_PID sink "$XP_NS_TARGET" t0 --count-only --duration "$((XP_DEMO_DURATION + 5))"
FLOOD_AT=$((XP_DEMO_DURATION / 3))
[ "$FLOOD_AT" -ge 1 ] || FLOOD_AT=1
xp_gen_up --flows 8 --seed 1 --src-ip 198.18.0.1
xp_send_bg TX1_PID unit1 "$XP_NS_UNIT" u0 --count 0 --rate "$XP_DEMO_RATE_SLOW" \
    --duration "$XP_DEMO_DURATION" "${XP_GEN[@]}"
xp_gen_up --flows 8 --seed 2 --src-ip 198.18.0.2
xp_send_bg TX2_PID unit2 "$XP_NS_UNIT" u0 --count 0 --rate "$XP_DEMO_RATE_SLOW" \
    --duration "$FLOOD_AT" "${XP_GEN[@]}"
TX3_PID=

echo "==> units 198.18.0.1 and 198.18.0.2 send $XP_DEMO_RATE_SLOW pps; at t=${FLOOD_AT}s 198.18.0.2 floods at $XP_DEMO_RATE_FAST pps (T_F1 = $XP_DEMO_T_F1 pps); ${XP_DEMO_DURATION}s in all (Ctrl-C stops)"
xp_demo_header

# One row per stats line, as the proxy writes them (tail -F: the rows wait for the lines,
# never the other way round); the flood starts at the proxy's second FLOOD_AT.
events_seen=0
prev=
exec 3< <(tail -n +1 -F "$XP_TMP/proxy.out" 2>/dev/null)
TAIL_PID=$!
xp_register_pid "$TAIL_PID"
quiet=0
while [ "$XP_DEMO_STOP" = 0 ] && [ "$XP_DEMO_T" -lt "$XP_DEMO_DURATION" ]; do
    kill -0 "$PROXY_PID" 2>/dev/null || { echo "demo: the proxy exited:" >&2; tail -n 5 "$XP_TMP/proxy.err" >&2; exit 1; }
    if ! IFS= read -r -t 1 line <&3; then
        quiet=$((quiet + 1))
        [ "$quiet" -lt 10 ] || { echo "demo: no stats line for 10 s" >&2; exit 1; }
        continue
    fi
    quiet=0
    case $line in *'"totals"'*) ;; *) continue ;; esac
    xp_demo_second "$line" || continue
    sink=$(grep -v '"final"' "$XP_TMP/sink.out" | tail -n 1 || true)
    xp_demo_row "$XP_DEMO_T" "$line" "$prev" "$sink"
    prev=$line
    nev=$(xp_lines "$XP_TMP/events.jsonl")
    while [ "$events_seen" -lt "$nev" ]; do
        events_seen=$((events_seen + 1))
        echo "     event: $(sed -n "${events_seen}p" "$XP_TMP/events.jsonl")"
    done
    if [ -z "$TX3_PID" ] && [ "$XP_DEMO_T" -ge "$FLOOD_AT" ]; then
        xp_gen_up --flows 8 --seed 3 --src-ip 198.18.0.2
        xp_send_bg TX3_PID flood "$XP_NS_UNIT" u0 --count 0 --rate "$XP_DEMO_RATE_FAST" \
            --duration "$((XP_DEMO_DURATION - XP_DEMO_T))" "${XP_GEN[@]}"
        echo "---- 198.18.0.2 starts flooding at $XP_DEMO_RATE_FAST pps"
    fi
done
exec 3<&-
xp_kill "$TAIL_PID" TERM

echo "==> stopping"
xp_kill "$TX1_PID" INT
xp_kill "$TX2_PID" INT
[ -z "$TX3_PID" ] || xp_kill "$TX3_PID" INT
kill -TERM "$PROXY_PID" 2>/dev/null || true
rc=timeout
xp_wait_pid "$PROXY_PID" 15 && rc=$XP_RC
xp_kill "$RX_PID" INT
echo "==> senders:"
cat "$XP_TMP/unit1.out" "$XP_TMP/unit2.out"
[ -z "$TX3_PID" ] || cat "$XP_TMP/flood.out"
echo "==> delivered to the target: $(jq -c 'select(.final == true) | .per_src' "$XP_TMP/sink.out" 2>/dev/null || true)"
echo "==> proxy exit code $rc; final stats:"
xp_proxy_last_stats proxy | jq -c '{totals, frames, pipeline: (.pipeline | {policed, forward, drop_unit_rate, xdp_dropped_accounted, blocks}), xdp_drop_blocked: (.ports[0].xdp.drop_blocked)}'
[ "$rc" = 0 ]
