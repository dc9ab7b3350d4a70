#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# xpro-gen against its own claims, through a proxy in the inline topology (Q=1, no policing).
#
# Four units (IPv4 1000 pps and 3000 pps constant, IPv4 2000 pps on/off 1 s/1 s, IPv6 500 pps),
# 5 s, started on a whole second (--start-at) so that the per-second buckets are whole.
# Tolerances:
#   - per unit, total sent within 1 % (+2 frames) of rate x active time;
#   - per unit, every whole second in which it sends within 3 % of its rate;
#   - the sink counts what each unit sent (nothing is policed, the rates are low): exactly
#     when veth dropped nothing, else within 0.5 %. "Sent" is what the AF_XDP socket handed
#     to the driver; veth drops a frame when the receiving side's 256-frame XDP ring is full
#     (a burst after the generator was descheduled), counted as u0's tx_dropped / xpa's
#     rx_dropped, which the checks print;
#   - the generator's final line says every TX descriptor completed and none was invalid.
set -euo pipefail
# shellcheck source=tests/netns/lib.sh
source "$(dirname "$0")/lib.sh"

XP_GEN_BIN=${XP_GEN_BIN:-$XPRO_BUILD/src/xpro-gen}
DUR=5
ppid='' spid='' gpid='' # set by xp_proxy_start / xp_bg

# veth_drops: "TX dropped on u0, RX dropped on xpa".
veth_drops() {
    echo "$(ip -n "$XP_NS_UNIT" -s -j link show u0 | jq '.[0].stats64.tx.dropped')" \
        "$(ip -n "$XP_NS_PROXY" -s -j link show xpa | jq '.[0].stats64.rx.dropped')"
}

xp_init
xp_require_all
[ -x "$XP_GEN_BIN" ] || xp_fail "xpro-gen not built: $XP_GEN_BIN"
xp_topo_inline 1

xp_proxy_config "$XP_TMP/proxy.json" 1 open "$(xp_proxy_cpus)"
xp_proxy_start ppid proxy "$XP_TMP/proxy.json"
xp_proxy_wait_stats proxy 1 20 || xp_fail "proxy did not start: $(tail -5 "$XP_TMP/proxy.err")"

cat >"$XP_TMP/scenario" <<EOF2
unit a group=0 src=198.18.0.1 dst=198.18.0.254 profile=constant rate=1000
unit b group=0 src=198.18.0.2 dst=198.18.0.254 profile=constant rate=3000 size=128
unit c group=0 src=198.18.0.3 dst=198.18.0.254 profile=onoff rate=2000 on=1 off=1
unit d group=0 src=2001:2::1 dst=2001:2::fe profile=constant rate=500
EOF2
# unit: rate, active seconds in DUR, src
expect() {
    case $1 in
    a) echo "1000 $DUR 198.18.0.1" ;;
    b) echo "3000 $DUR 198.18.0.2" ;;
    c) echo "2000 3 198.18.0.3" ;;
    d) echo "500 $DUR 2001:2::1" ;;
    esac
}

xp_bg spid sink ip netns exec "$XP_NS_TARGET" "$XP_GEN_BIN" sink --ifname t0 \
    --duration $((DUR + 10)) --out "$XP_TMP/sink.csv" --ready-file "$XP_TMP/sink.ready"
xp_wait_for 10 test -f "$XP_TMP/sink.ready" || xp_fail "sink never became ready"
start_at=$(($(date +%s) + 1))
# shellcheck disable=SC2046
xp_bg gpid gen ip netns exec "$XP_NS_UNIT" $(xp_sender_taskset) "$XP_GEN_BIN" send --ifname u0 \
    --scenario "$XP_TMP/scenario" --dst-mac "$XP_MAC_T0" --duration "$DUR" \
    --start-at "$start_at" --out "$XP_TMP/gen.csv"
xp_wait_pid "$gpid" $((DUR + 10)) || xp_fail "generator did not finish"
xp_check "generator exit status 0 ($XP_RC)" test "$XP_RC" = 0
sleep 1
xp_kill "$spid" TERM
xp_wait_pid "$spid" 5 || true

final=$(grep '"final"' "$XP_TMP/gen.out")
xp_check "all TX descriptors completed, none invalid" \
    test "$(jq -r '"\(.not_completed) \(.tx_invalid_descs)"' <<<"$final")" = "0 0"
t0=$(awk -F, 'NR == 2 { print $1 }' "$XP_TMP/gen.csv")
for u in a b c d; do
    read -r rate active src < <(expect "$u")
    sent=$(jq -r --arg u "$u" '.units[$u].sent' <<<"$final")
    want=$((rate * active))
    xp_check "unit $u: sent $sent within 1 % + 2 of $want" \
        test "$(echo "d = $sent - $want; if (d < 0) d = -d; d <= $want * 0.01 + 2" | bc -l)" = 1
    # Whole seconds in which the unit is on (seconds 0..DUR-1 after the start). An off second
    # may carry a packet or two paced right at the on/off edge into the next second's bucket.
    bad=$(awk -F, -v u="$u" -v t0="$t0" -v r="$rate" -v d="$DUR" -v onoff="$([ "$u" = c ] && echo 1 || echo 0)" '
        NR > 1 && $2 == u && $1 - t0 < d {
            s = $1 - t0; if (onoff && s % 2 == 1) { if ($4 > r * 0.01 + 1) print s ":" $4; next }
            if ($4 < r * 0.97 || $4 > r * 1.03) print s ":" $4 }' "$XP_TMP/gen.csv" | tr '\n' ' ')
    xp_check "unit $u: every second within 3 % of $rate pps (off seconds <= 1 % + 1) ${bad:+(bad: $bad)}" \
        test -z "$bad"
    got=$(jq -r --arg a "$src" 'select(.final) | .per_src[$a] // 0' "$XP_TMP/sink.out")
    xp_check "unit $u: the sink counted $got of $sent sent (>= 99.5 %; veth drops: $(veth_drops))" \
        test "$(echo "$got <= $sent && $got >= $sent * 0.995" | bc -l)" = 1
done
xp_check "the sink counted exactly what was sent when veth dropped nothing ($(veth_drops))" \
    test "$(veth_drops)" != "0 0" -o "$(jq -r 'select(.final) | [.per_src[]] | add' "$XP_TMP/sink.out")" = \
    "$(jq -r '[.units[].sent] | add' <<<"$final")"
xp_check "the sink's socket dropped nothing" \
    test "$(jq -r 'select(.final) | .socket_drops' "$XP_TMP/sink.out")" = 0
xp_kill "$ppid" TERM
xp_wait_pid "$ppid" 15 || xp_fail "proxy still running after SIGTERM"
fwd=$(xp_proxy_last_stats proxy | jq -r '.totals.tx_packets')
xp_check_conservation "$(xp_proxy_last_stats proxy)"
total=$(jq -r '[.units[].sent] | add' <<<"$final")
xp_check "the proxy forwarded them ($fwd >= $total)" test "$fwd" -ge "$total"
xp_pass "test_gen"
