#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Policy per prefix on a running proxy (policer.unit_groups): two units send the same rate,
# 2000 pps, at the same time; one is in the unit group "strict" (T_F1 = 1000 pps), the other
# in "lenient" (T_F1 = 5000 pps). The global T_F1 (100000) is the default group's.
#   - strict's unit is blocked (a block event naming its group and T_F1 1000) and dropped
#     after T_T2; lenient's unit loses nothing and raises no event;
#   - the stats document counts per group (strict: drops; lenient: none) and xpro-ctl flows
#     names each pair's group;
#   - a live reload (xpro-ctl reload) that moves lenient's unit into strict gets it blocked at
#     strict's threshold from then on.
#
# s1, s2, rx and ppid are set by xp_send_bg, xp_recv_start and xp_proxy_start (printf -v).
# shellcheck disable=SC2154
set -euo pipefail
# shellcheck source=tests/netns/lib.sh
source "$(dirname "$0")/lib.sh"

CTL=${XP_CTL:-$XPRO_BUILD/src/xpro-ctl}
RATE=2000
DURATION=5
STRICT=198.18.0.2
LENIENT=198.18.0.18

xp_init_inline 1
[ -x "$CTL" ] || xp_fail "xpro-ctl not built: $CTL"

conf="$XP_TMP/proxy.json"
sock="$XP_TMP/ctl.sock"
# write_conf STRICT LENIENT: the configuration, with the groups' prefixes (JSON lists) as given
write_conf() {
    cat >"$conf" <<JSON
{
  $(xp_conf_inline_base),
  "ctl_socket": "$sock",
  "stats_interval_ms": 500,
  "events_out": "$XP_TMP/events.jsonl",
  "policer": {
    "unit_prefixes": ["198.18.0.0/24"],
    "t_t1_ms": 1000, "t_t2_ms": 1000, "t_t3_ms": 1000,
    "t_f1_pps": 100000, "t_f2_pps": 1000000, "block_ms": 500,
    "unit_groups": [
      { "name": "strict", "prefixes": $1, "t_f1_pps": 1000 },
      { "name": "lenient", "prefixes": $2, "t_f1_pps": 5000 }
    ]
  }
}
JSON
}
write_conf '["198.18.0.0/28"]' '["198.18.0.16/28"]'
xp_proxy_start ppid proxy "$conf"
xp_proxy_wait_stats proxy 1 20 || xp_fail "proxy did not start: $(tail -5 "$XP_TMP/proxy.err")"
ctl() { ip netns exec "$XP_NS_PROXY" "$CTL" --socket "$sock" "$@"; }
gen() { echo --src-mac "$XP_MAC_U0" --dst-mac "$XP_MAC_T0" --dst-ip "$XP_IP_T0" "$@"; }
sent() { jq -r .sent "$XP_TMP/$1.out"; }
per_src() { jq -r --arg a "$2" 'select(.final) | .per_src[$a] // 0' "$XP_TMP/$1.out"; }

# Phase 1: both units at the same rate, at the same time.
xp_recv_start rx rx1 "$XP_NS_TARGET" t0 --count-only --duration $((DURATION + 6))
# shellcheck disable=SC2046
xp_send_bg s1 strict "$XP_NS_UNIT" u0 --count 0 --rate "$RATE" --duration "$DURATION" \
    $(gen --src-ip "$STRICT" --seed 1)
# shellcheck disable=SC2046
xp_send_bg s2 lenient "$XP_NS_UNIT" u0 --count 0 --rate "$RATE" --duration "$DURATION" \
    $(gen --src-ip "$LENIENT" --seed 2)
sleep 3
ctl --json flows --top 10 >"$XP_TMP/flows.json" || xp_fail "xpro-ctl flows failed"
xp_wait_pid "$s1" $((DURATION + 15)) || xp_fail "sender strict did not finish"
xp_wait_pid "$s2" $((DURATION + 15)) || xp_fail "sender lenient did not finish"
sleep 1
xp_kill "$rx" TERM
xp_wait_pid "$rx" 5 || true

group_of() { jq -r --arg u "$1" '.flows[] | select(.unit == $u) | .unit_group' "$XP_TMP/flows.json"; }
verdict_of() { jq -r --arg u "$1" '.flows[] | select(.unit == $u) | .verdict' "$XP_TMP/flows.json"; }
xp_check "xpro-ctl flows: $STRICT is in group strict ($(group_of "$STRICT"))" \
    test "$(group_of "$STRICT")" = strict
xp_check "xpro-ctl flows: $LENIENT is in group lenient ($(group_of "$LENIENT")), forwarded ($(verdict_of "$LENIENT"))" \
    test "$(group_of "$LENIENT")-$(verdict_of "$LENIENT")" = lenient-forward

ev="$XP_TMP/events.jsonl"
xp_check "a block event names $STRICT, its group strict and T_F1 1000" \
    test "$(jq -r --arg u "$STRICT" 'select(.event == "block" and .unit == $u) | "\(.unit_group) \(.threshold_pps)"' "$ev" | head -n 1)" = "strict 1000"
xp_check "no event names $LENIENT" bash -c "! grep -q '\"unit\":\"$LENIENT\"' '$ev'"
fwd_strict=$(per_src rx1 "$STRICT")
fwd_lenient=$(per_src rx1 "$LENIENT")
xp_log "strict: sent $(sent strict), received $fwd_strict; lenient: sent $(sent lenient), received $fwd_lenient"
xp_check "lenient's unit loses nothing ($fwd_lenient of $(sent lenient))" \
    test "$fwd_lenient" = "$(sent lenient)"
# forwarded through T_T2 (1 s), then dropped while its average stays over T_F1 (it does)
xp_check "strict's unit is dropped once over its T_F1 ($fwd_strict of $(sent strict) < 80 %)" \
    test "$(echo "$fwd_strict < 0.8 * $(sent strict)" | bc -l)" = 1

stats=$(ctl --json stats --interval 0) || xp_fail "xpro-ctl stats failed"
gstat() { jq -r --arg g "$1" ".pipeline.unit_groups[] | select(.group == \$g) | .$2" <<<"$stats"; }
xp_check "stats: strict dropped ($(gstat strict drops) of $(gstat strict packets) policed)" \
    test "$(gstat strict drops)" -gt 0
xp_check "stats: lenient dropped none ($(gstat lenient drops) of $(gstat lenient packets) policed)" \
    test "$(gstat lenient drops)-$(( $(gstat lenient packets) > 0 ))" = "0-1"
xp_check "stats: the default group is listed first" \
    test "$(jq -r '.pipeline.unit_groups[0].group' <<<"$stats")" = default

# Phase 2: lenient's /28 moves into strict, lenient keeps another one.
write_conf '["198.18.0.0/28", "198.18.0.16/28"]' '["198.18.0.32/28"]'
ctl reload >"$XP_TMP/reload.out" 2>&1 || xp_fail "reload refused: $(cat "$XP_TMP/reload.out")"
xp_recv_start rx rx2 "$XP_NS_TARGET" t0 --count-only --duration $((DURATION + 6))
# shellcheck disable=SC2046
xp_send "$XP_NS_UNIT" u0 --count 0 --rate "$RATE" --duration "$DURATION" \
    $(gen --src-ip "$LENIENT" --seed 3) >"$XP_TMP/moved.out" 2>"$XP_TMP/moved.err" ||
    xp_fail "sender moved failed: $(cat "$XP_TMP/moved.err")"
sleep 1
xp_kill "$rx" TERM
xp_wait_pid "$rx" 5 || true
fwd_moved=$(per_src rx2 "$LENIENT")
xp_log "moved: sent $(sent moved), received $fwd_moved"
xp_check "after the reload a block event names $LENIENT in group strict" \
    test "$(jq -r --arg u "$LENIENT" 'select(.event == "block" and .unit == $u) | .unit_group' "$ev" | head -n 1)" = strict
xp_check "after the reload $LENIENT is dropped at strict's T_F1 ($fwd_moved of $(sent moved) < 80 %)" \
    test "$(echo "$fwd_moved < 0.8 * $(sent moved)" | bc -l)" = 1

xp_kill "$ppid" TERM
xp_wait_pid "$ppid" 15 || xp_fail "proxy still running after SIGTERM"
xp_check_conservation "$(xp_proxy_last_stats proxy)"
