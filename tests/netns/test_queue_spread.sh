#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# One unit, one count, whatever queues its packets reach (docs/policer.md, "a pair is held
# by one worker").
#
# A proxy with 4 queues on veth with 4 queues (its receive queue is the sender's transmit
# queue, which the sender's kernel picks by flow hash). T_F1 = 2000 pps. Two IPv6 units
# (the unit is the /64) flood one target at 6000 pps for 3 s, one after the other:
#   - unit S from one address: all its frames reach one queue;
#   - unit R rotating over 64 addresses of its /64: its frames reach several queues, each
#     seeing about 6000 / 4 = 1500 pps, under T_F1: counted per worker it would never be
#     caught.
# Both must be blocked by the unit test (unit_rate), R no later than S + 0.3 s, and both
# within T_T2 + 0.5 s of their flood's start; after the block each forwards at most
# T_F1 (+10 %); the proxy's stats show R's frames on more than one queue, hand-offs
# between workers and none lost; a benign IPv4 unit loses nothing.
set -euo pipefail
# shellcheck source=tests/netns/lib.sh
source "$(dirname "$0")/lib.sh"

T_F1=2000
FLOOD=6000
FLOOD_S=3
UNIT_S=2001:2:0:1::1
PREFIX_S=2001:2:0:1::
UNIT_R=2001:2:0:2::1
PREFIX_R=2001:2:0:2::
GOOD=198.18.0.3

xp_init_inline 4

conf="$XP_TMP/proxy.json"
cat >"$conf" <<JSON
{
  "proxy_id": "$XP_PREFIX",
  "ports": { "access": "xpa", "core": "xpc" },
  "queues": 4,
  "cpus": $(xp_proxy_cpus),
  "events_out": "$XP_TMP/events.jsonl",
  "policer": {
    "unit_prefixes": ["198.18.0.0/24", "2001:2::/48"],
    "v6_unit_prefix": 64,
    "t_t1_ms": 1000, "t_t2_ms": 1000, "t_t3_ms": 1000,
    "t_f1_pps": $T_F1, "t_f2_pps": 1000000,
    "block_ms": 500
  }
}
JSON
xp_proxy_start ppid proxy "$conf"
xp_proxy_wait_stats proxy 1 20 || xp_fail "proxy did not start: $(tail -5 "$XP_TMP/proxy.err")"

gen6() { echo --v6 --src-mac "$XP_MAC_U0" --dst-mac "$XP_MAC_T0" --dst-ip "$XP_IP6_T0" "$@"; }
now() { date +%s.%N; }
sent() { jq -r .sent "$XP_TMP/$1.out"; }
# from_prefix NAME PREFIX: frames whose source starts with PREFIX in a count-only receiver.
from_prefix() {
    jq -r --arg p "$2" 'select(.final) | [.per_src | to_entries[] | select(.key | startswith($p)) | .value] | add // 0' \
        "$XP_TMP/$1.out"
}
# access_rx: the access port's rx_packets per queue, from the last stats line.
access_rx() { jq -c '[.ports[] | select(.role == "access") | .queues[].rx_packets]' <<<"$(xp_proxy_last_stats proxy)"; }

xp_recv_start ra rx_all "$XP_NS_TARGET" t0 --count-only --duration 20
# shellcheck disable=SC2046
xp_send_bg good good "$XP_NS_UNIT" u0 --count 0 --rate 300 --duration 14 \
    --src-mac "$XP_MAC_U0" --dst-mac "$XP_MAC_T0" --dst-ip "$XP_IP_T0" --src-ip "$GOOD" --seed 3

# flood NAME UNITS SRC: one unit's flood with its own receiver; sets start_NAME and end_NAME.
flood() {
    local name=$1 units=$2 src=$3 rpid before
    xp_recv_start rpid "rx_$name" "$XP_NS_TARGET" t0 --count-only --duration $((FLOOD_S + 4))
    before=$(access_rx)
    printf -v "start_$name" '%s' "$(now)"
    # shellcheck disable=SC2046
    xp_send "$XP_NS_UNIT" u0 --count 0 --rate "$FLOOD" --duration "$FLOOD_S" \
        $(gen6 --src-ip "$src" --units "$units" --seed "$units") >"$XP_TMP/$name.out" 2>"$XP_TMP/$name.err"
    printf -v "end_$name" '%s' "$(now)"
    sleep 1.2 # a stats line after the flood
    printf -v "queues_$name" '%s' "$(jq -nc --argjson a "$before" --argjson b "$(access_rx)" \
        '[range(0; $b | length) | $b[.] - $a[.]]')"
    xp_kill "$rpid" TERM
    xp_wait_pid "$rpid" 5 || true
}

flood single 1 "$UNIT_S"
sleep 1.5 # longer than T_T1: nothing of the first flood is left in the second's windows
flood rotating 64 "$UNIT_R"

xp_wait_pid "$good" 20 || xp_fail "benign sender did not finish"
sleep 1
xp_kill "$ra" TERM
xp_wait_pid "$ra" 5 || true
xp_kill "$ppid" TERM
xp_wait_pid "$ppid" 15 || xp_fail "proxy still running after SIGTERM"
final=$(xp_proxy_last_stats proxy)
echo "$final" >"$XP_TMP/final.log"
xp_check_conservation "$final"
ev="$XP_TMP/events.jsonl"

# A queue "carried" a flood if it received at least a tenth of what a quarter would be.
busy() { jq -r --argjson n "$((FLOOD * FLOOD_S / 40))" '[.[] | select(. >= $n)] | length' <<<"$1"; }
# shellcheck disable=SC2154
xp_log "access rx per queue during the floods: single $queues_single, rotating $queues_rotating"
xp_check "the rotating unit's frames reached more than one queue ($queues_rotating)" \
    test "$(busy "$queues_rotating")" -ge 2

# verdict NAME PREFIX: detection delay and what was forwarded after the block.
verdict() {
    local name=$1 prefix=$2 start end block_t delay fwd sent_n allowed
    start=$(eval echo "\$start_$name")
    end=$(eval echo "\$end_$name")
    block_t=$(jq -r --arg u "$prefix" 'select(.event == "block" and .unit == $u and .reason == "unit_rate") | .time' \
        "$ev" | head -n 1)
    [ -n "$block_t" ] || xp_fail "no unit_rate block event for $prefix: $(cat "$ev")"
    delay=$(echo "$block_t - $start" | bc -l)
    printf -v "delay_$name" '%s' "$delay"
    fwd=$(from_prefix "rx_$name" "$prefix")
    sent_n=$(sent "$name")
    allowed=$(echo "$FLOOD * ($block_t - $start + 0.1) + $T_F1 * ($end - $block_t) * 1.1" | bc -l)
    xp_log "$name: blocked ${delay}s after its start; sent $sent_n, forwarded $fwd, allowed $allowed"
    xp_check "$name: detection delay ${delay}s <= T_T2 + 0.5 s" test "$(echo "$delay <= 1.5" | bc -l)" = 1
    xp_check "$name: forwarded $fwd <= the flood until the block + T_F1 after it ($allowed)" \
        test "$(echo "$fwd <= $allowed" | bc -l)" = 1
}
verdict single "$PREFIX_S"
verdict rotating "$PREFIX_R"
# shellcheck disable=SC2154
xp_check "rotating over its /64 is caught as fast as one address (${delay_rotating}s <= ${delay_single}s + 0.3 s)" \
    test "$(echo "$delay_rotating <= $delay_single + 0.3" | bc -l)" = 1

handed=$(jq -r '.policer.owners.handed_off' <<<"$final")
counted=$(jq -r '.policer.owners.counted' <<<"$final")
lost=$(jq -r '.policer.owners.lost' <<<"$final")
xp_log "hand-offs: $handed handed off, $counted counted by their owner, $lost lost"
xp_check "workers handed packets of pairs they do not own to the owner ($handed > 0)" test "$handed" -gt 0
xp_check "no hand-off lost ($lost)" test "$lost" = 0
xp_check "benign unit: $(jq -r --arg a "$GOOD" 'select(.final) | .per_src[$a] // 0' "$XP_TMP/rx_all.out") received == $(sent good) sent" \
    test "$(jq -r --arg a "$GOOD" 'select(.final) | .per_src[$a] // 0' "$XP_TMP/rx_all.out")" = "$(sent good)"
xp_check "frames.leaked == 0" test "$(jq -r .frames.leaked <<<"$final")" = 0
xp_pass "test_queue_spread"
