#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The paper's single-proxy experiment, and the kernel fast path.
#
# Two units behind one proxy (Q=1). The benign unit sends 500 pps throughout. The other
# unit sends 500 pps (phase 1), then floods at FLOOD pps (phase 2), falls silent for longer
# than T_T1, then sends 500 pps again (phase 3). With T_F1 = 2000 pps:
#   - the flooder is detected (overload + block events) no later than T_T2 + 0.5 s after
#     its flood starts; its phase-1 window is already older than T_T2, so detection is
#     immediate once its average passes T_F1;
#   - after the block, what reaches the target from the flooder is at most T_F1 (+10 %);
#   - the benign unit loses nothing;
#   - after the silence the flooder's phase-3 packets are all forwarded again;
#   - while blocked, the flood is dropped by XDP (xdp.drop_blocked) and the worker handles
#     almost none of it (userspace drops <= 5 % of what XDP dropped).
set -euo pipefail
# shellcheck source=tests/netns/lib.sh
source "$(dirname "$0")/lib.sh"

T_F1=2000
FLOOD=${XP_FLOOD_PPS:-20000}
FLOOD_S=3
BENIGN=500
FLOODER=198.18.0.2
GOOD=198.18.0.3

xp_init
xp_require_all
xp_topo_inline 1

conf="$XP_TMP/proxy.json"
cat >"$conf" <<JSON
{
  "proxy_id": "$XP_PREFIX",
  "ports": { "access": "xpa", "core": "xpc" },
  "cpus": $(xp_proxy_cpus),
  "events_out": "$XP_TMP/events.jsonl",
  "policer": {
    "unit_prefixes": ["198.18.0.0/24"],
    "t_t1_ms": 1000, "t_t2_ms": 1000, "t_t3_ms": 1000,
    "t_f1_pps": $T_F1, "t_f2_pps": 1000000,
    "block_ms": 500
  }
}
JSON
xp_proxy_start ppid proxy "$conf"
xp_proxy_wait_stats proxy 1 20 || xp_fail "proxy did not start: $(tail -5 "$XP_TMP/proxy.err")"

gen() { echo --src-mac "$XP_MAC_U0" --dst-mac "$XP_MAC_T0" --dst-ip "$XP_IP_T0" "$@"; }
now() { date +%s.%N; }
sent() { jq -r .sent "$XP_TMP/$1.out"; }
# per_src FILE ADDR: frames from ADDR in a count-only receiver's final line.
per_src() { jq -r --arg a "$2" 'select(.final) | .per_src[$a] // 0' "$XP_TMP/$1.out"; }

# Receiver A counts everything; the benign unit runs through all phases.
xp_recv_start ra rx_all "$XP_NS_TARGET" t0 --count-only --duration 16
# shellcheck disable=SC2046
xp_send_bg good good "$XP_NS_UNIT" u0 --count 0 --rate "$BENIGN" --duration 12 $(gen --src-ip "$GOOD" --seed 3)

# Phase 1: the flooder-to-be behaves.
# shellcheck disable=SC2046
xp_send "$XP_NS_UNIT" u0 --count 0 --rate "$BENIGN" --duration 2 $(gen --src-ip "$FLOODER" --seed 1) \
    >"$XP_TMP/phase1.out" 2>"$XP_TMP/phase1.err"

# Phase 2: the flood, with its own receiver.
xp_recv_start rb rx_flood "$XP_NS_TARGET" t0 --count-only --duration 8
flood_start=$(now)
# shellcheck disable=SC2046
xp_send "$XP_NS_UNIT" u0 --count 0 --rate "$FLOOD" --duration "$FLOOD_S" $(gen --src-ip "$FLOODER" --seed 2) \
    >"$XP_TMP/phase2.out" 2>"$XP_TMP/phase2.err"
flood_end=$(now)
xp_kill "$rb" TERM
xp_wait_pid "$rb" 5 || true

# Silence longer than T_T1, then phase 3 with its own receiver.
sleep 1.5
xp_recv_start rc rx_after "$XP_NS_TARGET" t0 --count-only --duration 6
# shellcheck disable=SC2046
xp_send "$XP_NS_UNIT" u0 --count 0 --rate "$BENIGN" --duration 2 $(gen --src-ip "$FLOODER" --seed 4) \
    >"$XP_TMP/phase3.out" 2>"$XP_TMP/phase3.err"
sleep 1
xp_kill "$rc" TERM
xp_wait_pid "$rc" 5 || true
xp_wait_pid "$good" 20 || xp_fail "benign sender did not finish"
sleep 1
xp_kill "$ra" TERM
xp_wait_pid "$ra" 5 || true

sleep 1.2
xp_kill "$ppid" TERM
xp_wait_pid "$ppid" 15 || xp_fail "proxy still running after SIGTERM"
final=$(xp_proxy_last_stats proxy)
echo "$final" >"$XP_TMP/final.log"

# Detection.
ev="$XP_TMP/events.jsonl"
xp_check "an overload event names the flooder" \
    grep -q "\"event\":\"overload\".*\"unit\":\"$FLOODER\"" "$ev"
xp_check "no event names the benign unit" bash -c "! grep -q '\"unit\":\"$GOOD\"' '$ev'"
block_t=$(jq -r --arg u "$FLOODER" 'select(.event == "block" and .unit == $u) | .time' "$ev" | head -n 1)
[ -n "$block_t" ] || xp_fail "no block event for $FLOODER: $(cat "$ev")"
delay=$(echo "$block_t - $flood_start" | bc -l)
xp_log "flood started $flood_start, blocked $block_t: detection delay ${delay}s"
xp_check "detection delay ${delay}s <= T_T2 + 0.5 s" test "$(echo "$delay <= 1.5" | bc -l)" = 1

# Forwarded flood after the block: at most T_F1 (+10 %) over the rest of the flood.
fwd_flood=$(per_src rx_flood "$FLOODER")
sent_flood=$(sent phase2)
after=$(echo "$flood_end - $block_t" | bc -l)
allowed=$(echo "$FLOOD * ($block_t - $flood_start + 0.1) + $T_F1 * $after * 1.1" | bc -l)
xp_log "flood: sent $sent_flood, forwarded $fwd_flood, allowed $allowed"
xp_check "forwarded flood $fwd_flood <= $FLOOD pps until the block + T_F1 after it ($allowed)" \
    test "$(echo "$fwd_flood <= $allowed" | bc -l)" = 1

# The benign unit loses nothing.
xp_check "benign unit: $(per_src rx_all "$GOOD") received == $(sent good) sent" \
    test "$(per_src rx_all "$GOOD")" = "$(sent good)"

# Forwarded again after the silence.
xp_check "after T_T1 of silence: $(per_src rx_after "$FLOODER") received == $(sent phase3) sent" \
    test "$(per_src rx_after "$FLOODER")" = "$(sent phase3)"

# The kernel fast path carried the flood.
xdp_drop=$(jq -r '.ports[] | select(.role == "access") | .xdp.drop_blocked' <<<"$final")
user_drop=$(jq -r '.pipeline.drop_unit_rate' <<<"$final")
accounted=$(jq -r '.pipeline.xdp_dropped_accounted' <<<"$final")
xp_log "XDP dropped $xdp_drop, worker dropped $user_drop, accounted $accounted"
xp_check "XDP dropped most of the flood ($xdp_drop >= 80 % of $sent_flood - $fwd_flood)" \
    test "$xdp_drop" -ge "$(((sent_flood - fwd_flood) * 8 / 10))"
xp_check "the worker handled almost none of it ($user_drop <= 5 % of $xdp_drop)" \
    test "$user_drop" -le "$((xdp_drop / 20))"
xp_check "XDP drops were counted into the pair ($accounted == $xdp_drop)" \
    test "$accounted" = "$xdp_drop"
xp_check "frames.leaked == 0" test "$(jq -r .frames.leaked <<<"$final")" = 0
xp_pass "test_highrate"
