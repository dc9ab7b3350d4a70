#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Issue 15: verdicts that stay right over time and across proxies. The low-rate attack
# after a quiet pair.
#
# bench/scenarios/low-rate as shipped (4 proxies synced through xpro-central; on each one
# attacker at 900 pps to the victim 198.18.1.1, together 3600 pps > T_F2 = 3000, and one
# benign unit at 500 pps to 198.18.1.2), except that the attackers start at 10 s, and one more
# benign unit, q0 behind proxy 0, sends 50 pps to the victim for the first 2 s and then stops.
# That pair goes idle (longer than T_T1) long before the attack: it must not stretch the
# victim's destination window, so
#   - every attacker is blocked by the destination test (block event, reason dst_rate) within
#     T_T3 + one sync period + 1 s of the attack's start;
#   - every proxy synced faster while the victim was hot (sync.hot_rounds > 0: docs/protocol.md
#     "Hot rounds"), which is what keeps the remote shares young enough for that bound;
#   - no benign unit loses a frame, except frames attributed to a named, counted cause on its
#     proxy (see verdicts.sh), and none has a block event.
# XP_SV_LOWRATE_CONTROL=1 also runs the same without q0 first (the attack alone).
XP_TEST_TIMEOUT=${XP_TEST_TIMEOUT:-200}
set -euo pipefail
# shellcheck source=tests/netns/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=tests/netns/verdicts.sh
source "$(dirname "$0")/verdicts.sh"

ATTACK_START=10
VICTIM=198.18.1.1
QUIET="unit q0 group=0 src=198.18.0.30 dst=$VICTIM profile=constant rate=50 start=0 stop=2 role=benign"

xp_init
xv_require

SHIPPED="$XPRO_SRC/bench/scenarios/low-rate"
[ -f "$SHIPPED" ] || xp_fail "missing $SHIPPED"
# The attackers are the unit lines with role=attack; their start moves to ATTACK_START.
grep -q '^unit .*role=attack' "$SHIPPED" || xp_fail "$SHIPPED has no attackers"

# make_scenario FILE QUIET(0|1)
make_scenario() {
    sed -E -e '/^unit .*role=attack/ { s/ start=[0-9.]+//; s/$/ start='"$ATTACK_START"'/ }' \
        -e 's/^name .*/name low-rate-quiet/' "$SHIPPED" >"$1"
    [ "$2" = 0 ] || echo "$QUIET" >>"$1"
}

# blocked_in_time REASON DELAY BOUND
blocked_in_time() { [ "$1" = dst_rate ] && [ "$(echo "$2 <= $3" | bc -l)" = 1 ]; }

# run_case LABEL QUIET
run_case() {
    local label=$1 quiet=$2 hot t3 sync bound attack_epoch name g src role sent fwd first delay reason
    make_scenario "$XP_TMP/$label.scen" "$quiet"
    echo "== $label: bench/scenarios/low-rate, attackers from ${ATTACK_START} s$([ "$quiet" = 1 ] && echo ", plus q0 at 50 pps to $VICTIM during 0-2 s")"
    if ! xv_run "$label" "$XP_TMP/$label.scen"; then
        xv_check "$label: bench/scenario.sh ran" false
        return
    fi
    t3=$(awk '$1 == "policer" { for (i = 2; i <= NF; i++) if ($i ~ /^t_t3_ms=/) { sub(/.*=/, "", $i); print $i } }' "$XV_OUT/scenario.txt")
    sync=$(awk '$1 == "sync_period_ms" { print $2 }' "$XV_OUT/scenario.txt")
    t3=${t3:-1000} sync=${sync:-500}
    bound=$(echo "scale = 3; ($t3 + $sync + 1000) / 1000" | bc)
    attack_epoch=$(echo "$XV_START + $ATTACK_START" | bc -l)
    for ((i = 0; i < 4; i++)); do
        echo "  p$i policer: $(xv_policer "$i")"
        hot=$(xv_final_stats "$i" | jq -r '.sync.hot_rounds // 0')
        xv_check "$label: proxy $i synced in hot rounds while the victim was overloaded ($hot)" test "$hot" -gt 0
    done
    xv_print_events overload 8
    xv_print_events block 12
    echo "  summary: $(jq -c '{attack_blocked_pct, benign_loss_pct, detection_delay_s, detection_delay_s_per_unit, benign_units_blocked, veth_drops_per_proxy}' "$XV_OUT/summary.json")"
    while read -r name g src role sent fwd; do
        if [ "$role" = attack ]; then
            # The first block event of this unit from the attack's start on (any proxy).
            first=$(cat "$XV_OUT"/events-*.jsonl | jq -rs --arg u "$src" --argjson a "$attack_epoch" \
                '[.[] | select(.event == "block" and .unit == $u and .time >= $a - 0.5)] | sort_by(.time) | .[0] // empty | "\(.time) \(.reason)"')
            delay=none reason=none
            if [ -n "$first" ]; then
                delay=$(printf '%.3f' "$(echo "${first% *} - $attack_epoch" | bc -l)")
                reason=${first#* }
            fi
            echo "  attacker $name ($src, p$g): sent $sent forwarded $fwd ($(echo "scale = 1; 100 * ($sent - $fwd) / $sent" | bc)% blocked); first block ${delay} s after the attack's start, reason $reason"
            xv_check "$label: attacker $name blocked for dst_rate within ${bound} s (T_T3 + sync + 1 s) of the attack's start (delay $delay, reason $reason)" \
                blocked_in_time "$reason" "$delay" "$bound"
        else
            xv_check "$label: benign unit $name ($src) loses no frame to the policer (sent $sent, forwarded $fwd)" \
                xv_loss_ok "$name" "$g" "$src" "$sent" "$fwd"
            nb=$(cat "$XV_OUT"/events-*.jsonl | jq -s --arg u "$src" '[.[] | select(.event == "block" and .unit == $u)] | length')
            xv_check "$label: benign unit $name has no block event (got $nb)" test "$nb" = 0
            if [ "$name" = q0 ]; then
                xv_check "$label: the quiet unit sent about 2 s x 50 pps and then stopped (sent $sent)" \
                    test "$sent" -ge 80 -a "$sent" -le 120
            fi
        fi
    done < <(xv_units)
}

[ "${XP_SV_LOWRATE_CONTROL:-0}" = 0 ] || run_case control-no-quiet 0
run_case quiet-pair 1
xv_done
