#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The device side's overhead (the slides' "Overhead of the IoT Device" table): an lwIP unit
# (Debian's lwIP on a TAP interface, device/host/xp-lwip-unit) talks to libcoap's coap-server
#   vanilla  without the tunnel: lwIP routes through the second box's kernel (same links, no
#            proxy there; the proxy itself drops untunnelled traffic from units);
#   x-pro    with the device library: every packet tunnelled to xpro-proxy in gateway mode,
#            which authenticates, polices and forwards it.
# Same box, same path, same core layout, interleaved repeats. Per repeat:
#   RTT         --requests confirmable GETs one at a time (median and p99 per repeat);
#   throughput  NON messages of --size bytes at --rate (default: as fast as lwIP sends) for
#               --seconds; Mbit/s of requests that reached the server and were answered (one
#               answer per delivered request), over the unit's elapsed time. At saturation the
#               bottleneck is the slowest of lwIP, the TAP, the path and coap-server: the ratio
#               says what the tunnel and the proxy cost on top of the same path.
# Writes JSON (--out, default bench/results/overhead.json) and prints a table.
#
# usage: bench/overhead.sh [--repeats N] [--requests N] [--rate PPS] [--size BYTES]
#            [--seconds S] [--out FILE]
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
XPRO_SRC=${XPRO_SRC:-$(cd "$BENCH_DIR/.." && pwd)}
XPRO_BUILD=${XPRO_BUILD:-$XPRO_SRC/build}
REPEATS=5
REQUESTS=200
RATE=1000000
SIZE=1000
SECONDS_TP=4
OUT=$XPRO_SRC/bench/results/overhead.json

usage() {
    sed -n '/^# usage:/,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
    exit 2
}
while [ $# -gt 0 ]; do
    case $1 in
    --repeats) REPEATS=$2; shift 2 ;;
    --requests) REQUESTS=$2; shift 2 ;;
    --rate) RATE=$2; shift 2 ;;
    --size) SIZE=$2; shift 2 ;;
    --seconds) SECONDS_TP=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    -h | --help) usage ;;
    *) echo "overhead.sh: unknown option $1" >&2; usage ;;
    esac
done
for v in "$REPEATS" "$REQUESTS" "$RATE" "$SIZE" "$SECONDS_TP"; do
    [[ $v =~ ^[1-9][0-9]*$ ]] || { echo "overhead.sh: '$v' is not a positive integer" >&2; exit 2; }
done

export XPRO_SRC XPRO_BUILD
XP_TEST_NAME=overhead
XP_TEST_TIMEOUT=$((120 + REPEATS * (REQUESTS / 20 + SECONDS_TP + 20) * 2))
# shellcheck source=tests/netns/lib.sh
. "$XPRO_SRC/tests/netns/lib.sh"
xp_init
xp_require_all
xp_require_gateway
mkdir -p "$(dirname "$OUT")"

xp_topo_gateway 1
xp_gateway_units 1
# Thresholds far above the bench's rates: this measures the path, not the policer's verdicts.
xp_gateway_config "$XP_TMP/p1.json" 1 '"t_f1_pps": 10000000, "t_f2_pps": 100000000'
XP_NS_PROXY=$NS_P1 xp_proxy_start P1 p1 "$XP_TMP/p1.json"
xp_proxy_wait_stats p1 1 15 || xp_fail "proxy did not start: $(tail -5 "$XP_TMP/p1.err")"
xp_coap_server_start

# run MODE KIND REPEAT: one measurement; its summary line lands in $XP_TMP/MODE-KIND-REPEAT.json.
run() {
    local mode=$1 kind=$2 r=$3 extra=()
    # Without the tunnel the unit routes through P2's kernel: a gateway-mode proxy drops
    # what its access port would forward (units must not route around the tunnel).
    local gw=198.18.2.11
    [ "$mode" = vanilla ] && extra=(--no-tunnel) && gw=198.18.2.12
    if [ "$kind" = rtt ]; then
        XP_UNIT_GW=$gw xp_gateway_unit 1 "${extra[@]}" --mode coap --target 198.18.3.9:5683 \
            --count "$REQUESTS" --interval-ms 5 --timeout-ms 500
    else
        XP_UNIT_GW=$gw xp_gateway_unit 1 "${extra[@]}" --mode flood --target 198.18.3.9:5683 \
            --rate "$RATE" --size "$SIZE" --duration "$SECONDS_TP"
    fi
    xp_wait_pid "$UNIT1" $((REQUESTS + SECONDS_TP + 30)) || xp_fail "unit did not finish ($mode $kind)"
    grep -v '"event"\|"seq"' "$XP_TMP/unit1.out" | tail -n 1 >"$XP_TMP/$mode-$kind-$r.json"
    [ -s "$XP_TMP/$mode-$kind-$r.json" ] || xp_fail "no summary from the unit ($mode $kind)"
    xp_log "$mode $kind #$r: $(cat "$XP_TMP/$mode-$kind-$r.json")"
}

# A warm-up of each kind resolves every neighbour on the way.
run vanilla rtt 0
run x-pro rtt 0
for ((r = 1; r <= REPEATS; r++)); do
    for mode in vanilla x-pro; do
        run "$mode" rtt "$r"
        run "$mode" tp "$r"
    done
done

jq -n --argjson size "$SIZE" --argjson secs "$SECONDS_TP" --argjson rate "$RATE" \
    --argjson requests "$REQUESTS" --argjson repeats "$REPEATS" \
    --slurpfile vr <(cat "$XP_TMP"/vanilla-rtt-[1-9]*.json) \
    --slurpfile xr <(cat "$XP_TMP"/x-pro-rtt-[1-9]*.json) \
    --slurpfile vt <(cat "$XP_TMP"/vanilla-tp-*.json) \
    --slurpfile xt <(cat "$XP_TMP"/x-pro-tp-*.json) '
    def median: sort | if length % 2 == 1 then .[length / 2 | floor]
                       else (.[length / 2 - 1] + .[length / 2]) / 2 end;
    def mbps: .answered * $size * 8 / (.elapsed_ms / 1000) / 1e6;
    def side(r; t): {
        rtt_median_us: (r | map(.rtt_us.median) | median),
        rtt_p99_us: (r | map(.rtt_us.p99) | median),
        rtt_lost: (r | map(.lost) | add),
        throughput_mbps: (t | map(mbps) | median),
        delivered_share: (t | map(.answered / .sent) | median),
        samples_rtt_median_us: (r | map(.rtt_us.median)),
        samples_mbps: (t | map(mbps * 100 | round / 100))
    };
    {bench: "overhead", size: $size, rate_pps: $rate, seconds: $secs, requests: $requests,
     repeats: $repeats, vanilla: side($vr; $vt), "x-pro": side($xr; $xt)}
    | .rtt_overhead_us = (."x-pro".rtt_median_us - .vanilla.rtt_median_us)
    | .throughput_ratio = (if .vanilla.throughput_mbps > 0
                           then (."x-pro".throughput_mbps / .vanilla.throughput_mbps * 1000 | round / 1000)
                           else null end)' >"$OUT"
cat "$OUT"
{
    printf '\nOverhead of the IoT device (lwIP on TAP, medians of %s repeats)\n' "$REPEATS"
    printf '%-8s %16s %14s %22s\n' "" "RTT median (us)" "RTT p99 (us)" "throughput (Mbit/s)"
    for m in x-pro vanilla; do
        jq -r --arg m "$m" '"\($m) \(.[$m].rtt_median_us) \(.[$m].rtt_p99_us) \(.[$m].throughput_mbps * 100 | round / 100)"' "$OUT" |
            awk '{ printf "%-8s %16s %14s %22s\n", $1, $2, $3, $4 }'
    done
    jq -r '"RTT overhead \(.rtt_overhead_us) us, throughput ratio \(.throughput_ratio)"' "$OUT"
} >&2
xp_pass "overhead bench: $OUT"
