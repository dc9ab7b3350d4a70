#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Issue 15: verdicts that stay right over time and across proxies. Steady honest units.
#
# Behind each of N proxies one unit sends 900 pps (0.9 x T_F1, T_F1 = 1000 pps) to the SAME
# destination 198.18.1.1 for 12 s, several shrink cycles of T_T4. T_F2 is far above the
# sum, so neither test of the policer may ever fire: no block event on any proxy, and every
# frame a unit sends reaches the sink, except frames the test can attribute to a named,
# counted cause on the unit's proxy (veth drops before the proxy, AF_XDP ring drops, TX ring
# full, malformed, table full, fail-closed, sink socket drops); the policer's own drops are
# never such a cause.
#
# Cases: two (T_T4, r, sync period) settings, each with 1 proxy (the control: no sync) and
# with 2 and 4 proxies synced through xpro-central (bench/scenario.sh's topology):
#   A: t_t4_ms=4000 r=2, sync every 500 ms
#   B: t_t4_ms=3300 r=3, sync every 250 ms (t_t4/r = 1100 ms > max(t_t2, t_t3) = 1000 ms,
#      the proxy's rule; 3000 would be refused)
# XP_SV_CASES picks cases (default "A1 A2 A4 B1 B2 B4"), XP_SV_DURATION the seconds (12).
# Every case runs even after a failure, so that the log has all the numbers.
XP_TEST_TIMEOUT=${XP_TEST_TIMEOUT:-285}
set -euo pipefail
# shellcheck source=tests/netns/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=tests/netns/verdicts.sh
source "$(dirname "$0")/verdicts.sh"

CASES=${XP_SV_CASES:-A1 A2 A4 B1 B2 B4}
DURATION=${XP_SV_DURATION:-12}
RATE=900
T_F1=1000
T_T2=1000
T_T3=1000

xp_init
xv_require

# setting LETTER: "t_t4_ms r sync_period_ms"
setting() {
    case $1 in
    A) echo "4000 2 500" ;;
    B) echo "3300 3 250" ;;
    *) xp_fail "unknown setting $1" ;;
    esac
}

# scenario FILE PROXIES T4 R SYNC
scenario() {
    local f=$1 p=$2 t4=$3 r=$4 sync=$5 i
    {
        echo "name steady-p$p"
        echo "duration $DURATION"
        echo "proxies $p"
        echo "sync_period_ms $sync"
        echo "policer t_f1_pps=$T_F1 t_f2_pps=1000000 t_t1_ms=1000 t_t2_ms=$T_T2 t_t3_ms=$T_T3 t_t4_ms=$t4 r=$r block_ms=500"
        echo "unit_prefixes 198.18.0.0/24"
        echo "merge t_t1_ms=1000 t_t4_ms=$t4 r=$r max_skew_ms=1000"
        for ((i = 0; i < p; i++)); do
            echo "unit s$i group=$i src=198.18.0.$((10 + i)) dst=198.18.1.1 profile=constant rate=$RATE role=benign"
        done
    } >"$f"
}

for c in $CASES; do
    set_letter=${c:0:1} p=${c:1}
    read -r t4 r sync < <(setting "$set_letter")
    xv_valid_policer "$T_T2" "$T_T3" "$t4" "$r" ||
        xp_fail "setting $set_letter: t_t4_ms=$t4 r=$r breaks t_t4/r > max(t_t2, t_t3)"
    label="$c-t4_${t4}-r${r}-sync${sync}-p$p"
    echo "== case $c: $p prox$([ "$p" = 1 ] && echo y || echo ies) x 1 unit at $RATE pps -> 198.18.1.1, t_t4_ms=$t4 r=$r sync ${sync} ms$([ "$p" = 1 ] && echo ' (control, no sync)'), ${DURATION} s"
    scenario "$XP_TMP/$label.scen" "$p" "$t4" "$r" "$sync"
    if ! xv_run "$label" "$XP_TMP/$label.scen"; then
        xv_check "$c: bench/scenario.sh ran" false
        continue
    fi
    for ((i = 0; i < p; i++)); do
        echo "  p$i policer: $(xv_policer "$i")"
    done
    xv_print_events overload 8
    xv_print_events block 8
    nblock=$(xv_events block | wc -l)
    xv_check "$c: no block event on any of the $p proxies (got $nblock)" test "$nblock" = 0
    while read -r name g src _ sent fwd; do
        xv_check "$c: unit $name loses no frame to the policer (sent $sent, forwarded $fwd)" \
            xv_loss_ok "$name" "$g" "$src" "$sent" "$fwd"
    done < <(xv_units)
    echo "  summary: $(jq -c '{benign_loss_pct, benign_units_blocked, veth_drops_per_proxy}' "$XV_OUT/summary.json")"
done
xv_done
