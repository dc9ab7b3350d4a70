#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The first command of the README: builds xpro, puts xpro-proxy inline between two emulated
# IoT units and a target (network namespaces on veth pairs), sends steady traffic from both
# units (one at 2 000 pps, one at 20 000 pps) and shows the proxy's stats every second.
# Runs for --duration seconds (default 30) or until Ctrl-C, then tears everything down.
#
#   sudo scripts/demo.sh [--duration SEC] [--queues Q] [--no-build]
set -euo pipefail

XP_DEMO_DURATION=30
XP_DEMO_QUEUES=1
XP_DEMO_BUILD=1
XP_DEMO_RATE_SLOW=2000
XP_DEMO_RATE_FAST=20000

xp_demo_usage() {
    sed -n 's/^#   //p' "$0"
    exit "${1:-0}"
}

while [ $# -gt 0 ]; do
    case $1 in
    --duration) XP_DEMO_DURATION=$2; shift 2 ;;
    --queues) XP_DEMO_QUEUES=$2; shift 2 ;;
    --no-build) XP_DEMO_BUILD=0; shift ;;
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
XPRO_BUILD=$PWD/build
export XPRO_SRC XPRO_BUILD

if [ "$XP_DEMO_BUILD" = 1 ]; then
    echo "==> installing missing packages (scripts/setup.sh)"
    bash scripts/setup.sh
    echo "==> building into build/"
    if [ -f build/meson-private/coredata.dat ]; then
        meson setup --reconfigure build >/dev/null
    else
        meson setup build >/dev/null
    fi
    ninja -C build >/dev/null
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
xp_proxy_config "$CONF" "$XP_DEMO_QUEUES" open "$(xp_proxy_cpus)"
xp_proxy_start PROXY_PID proxy "$CONF"
xp_proxy_wait_stats proxy 1 20 || {
    echo "demo: the proxy did not start:" >&2
    tail -n 20 "$XP_TMP/proxy.err" >&2
    exit 1
}

# The target counts what reaches it, per unit and per second.
xp_recv_start RX_PID sink "$XP_NS_TARGET" t0 --count-only --duration "$((XP_DEMO_DURATION + 5))"
xp_gen_up --flows 8 --seed 1 --src-ip 198.18.0.1
xp_send_bg TX1_PID unit1 "$XP_NS_UNIT" u0 --count 0 --rate "$XP_DEMO_RATE_SLOW" \
    --duration "$XP_DEMO_DURATION" "${XP_GEN[@]}"
xp_gen_up --flows 8 --seed 2 --src-ip 198.18.0.2
xp_send_bg TX2_PID unit2 "$XP_NS_UNIT" u0 --count 0 --rate "$XP_DEMO_RATE_FAST" \
    --duration "$XP_DEMO_DURATION" "${XP_GEN[@]}"

echo "==> unit 198.18.0.1 sends $XP_DEMO_RATE_SLOW pps, unit 198.18.0.2 sends $XP_DEMO_RATE_FAST pps, for ${XP_DEMO_DURATION}s (Ctrl-C stops)"
printf '%5s %10s %10s %8s | %10s %10s %10s | %10s %10s | %9s %9s\n' \
    t rx_pps tx_pps drops xpa.rx xpa.redir xpa.q_rx xpc.rx xpc.q_tx \
    'u1@tgt' 'u2@tgt'

# xp_demo_row STATS_LINE SINK_LINE: one row of the table (sink: the target's last second).
xp_demo_row() {
    local s=$1 k=$2 u1=- u2=- row
    if [ -n "$k" ]; then
        u1=$(jq -r '.per_src["198.18.0.1"] // 0' <<<"$k" 2>/dev/null || echo -)
        u2=$(jq -r '.per_src["198.18.0.2"] // 0' <<<"$k" 2>/dev/null || echo -)
    fi
    row=$(jq -r '
        def port(r): (.ports // []) | map(select(.role == r)) | .[0] // {};
        def qsum(p; f): [(p.queues // [])[] | .[f] // 0] | add // 0;
        port("access") as $a | port("core") as $c |
        [ (.ts // 0 | floor % 100000), (.totals.rx_pps // 0 | floor),
          (.totals.tx_pps // 0 | floor), (.totals.drop_packets // 0),
          ($a.xdp.rx // 0), ($a.xdp.redirect // 0), qsum($a; "rx_packets"),
          ($c.xdp.rx // 0), qsum($c; "tx_packets") ] | @tsv' <<<"$s" 2>/dev/null) || return 0
    local t rx tx dr arx ard aq crx cq
    IFS=$'\t' read -r t rx tx dr arx ard aq crx cq <<<"$row"
    printf '%5s %10s %10s %8s | %10s %10s %10s | %10s %10s | %9s %9s\n' \
        "$t" "$rx" "$tx" "$dr" "$arx" "$ard" "$aq" "$crx" "$cq" "$u1" "$u2"
}

seen=0
end=$(($(date +%s) + XP_DEMO_DURATION))
while [ "$XP_DEMO_STOP" = 0 ] && [ "$(date +%s)" -lt "$end" ]; do
    sleep 1 || true
    kill -0 "$PROXY_PID" 2>/dev/null || { echo "demo: the proxy exited:" >&2; tail -n 5 "$XP_TMP/proxy.err" >&2; exit 1; }
    total=$(grep -c '"totals"' "$XP_TMP/proxy.out" || true)
    while [ "$seen" -lt "$total" ]; do
        seen=$((seen + 1))
        line=$(grep '"totals"' "$XP_TMP/proxy.out" | sed -n "${seen}p")
        sink=$(grep -v '"final"' "$XP_TMP/sink.out" | tail -n 1 || true)
        xp_demo_row "$line" "$sink"
    done
done

echo "==> stopping"
xp_kill "$TX1_PID" INT
xp_kill "$TX2_PID" INT
kill -TERM "$PROXY_PID" 2>/dev/null || true
rc=timeout
xp_wait_pid "$PROXY_PID" 15 && rc=$XP_RC
xp_kill "$RX_PID" INT
echo "==> senders:"
cat "$XP_TMP/unit1.out" "$XP_TMP/unit2.out"
echo "==> delivered to the target: $(jq -c 'select(.final == true) | .per_src' "$XP_TMP/sink.out" 2>/dev/null || true)"
echo "==> proxy exit code $rc; final stats:"
xp_proxy_last_stats proxy | jq -c '{totals, frames}'
[ "$rc" = 0 ]
