# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# The paper's single-proxy experiment, shared by the backends' tests (test_highrate.sh for
# AF_XDP, test_dpdk.sh for DPDK): the traffic schedule and the verdicts that must not depend
# on the backend. The experiment's constants are below; the caller builds the inline
# topology, starts the proxy (T_F1 = $T_F1, events in $XP_TMP/events.jsonl), then calls
# xp_highrate_traffic, stops the proxy, and calls xp_highrate_verdicts. Afterwards
# sent_flood and fwd_flood hold the flood's sent and forwarded counts.
#
# ra, rb, rc and good are PIDs that xp_recv_start/xp_send_bg set through printf -v.
# shellcheck disable=SC2154

T_F1=2000
FLOOD=${XP_FLOOD_PPS:-20000}
FLOOD_S=3
BENIGN=500
FLOODER=198.18.0.2
GOOD=198.18.0.3

gen() { echo --src-mac "$XP_MAC_U0" --dst-mac "$XP_MAC_T0" --dst-ip "$XP_IP_T0" "$@"; }
now() { date +%s.%N; }
sent() { jq -r .sent "$XP_TMP/$1.out"; }
# per_src FILE ADDR: frames from ADDR in a count-only receiver's final line.
per_src() { jq -r --arg a "$2" 'select(.final) | .per_src[$a] // 0' "$XP_TMP/$1.out"; }

xp_highrate_traffic() {
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
}

xp_highrate_verdicts() {
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
}
