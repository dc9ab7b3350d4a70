#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# xpro-ctl capture during a flood (issue 20). Inline topology, one queue, policing with
# kernel_block off so that every frame of a dropped pair reaches the worker and its verdict.
#
# Part 1, the evidence: unit .1 floods the target over T_F1 (dropped, drop_unit_rate), unit .2
# sends 200 pps to .253 (forwarded). Three captures, each read back with tshark: by verdict
# (only .1's frames, each commented "verdict=drop_unit_rate queue=0 port=access"), by unit
# (only .2's, "verdict=forward") and by pair (.2 -> .253). Each file holds exactly the frames
# asked for, and parses.
#
# Part 2, the cost: one unpoliced flood (198.18.0.9, outside unit_prefixes: forwarded through
# the pipeline) as fast as the generator goes, and PAIRS pairs of one-second windows of it,
# without and with a capture whose filter matches every one of its frames (the worst case: a
# parse per frame and the budget's copies), in ABBA order. Adjacent windows of one flood see
# the same load from the rest of the (shared) machine, which separate runs did not: their
# rates spread by 2x on a busy VM. The forwarding rate is what the proxy sent in the window;
# the medians must agree within 5 %, and every capture holds only the flood's frames.
set -euo pipefail
# shellcheck source=tests/netns/lib.sh
source "$(dirname "$0")/lib.sh"

CTL=${XP_CTL:-$XPRO_BUILD/src/xpro-ctl}
XP_GEN_BIN=${XP_GEN_BIN:-$XPRO_BUILD/src/xpro-gen}
PAIRS=${XP_CAPTURE_PAIRS:-12}
WINDOW_S=1
ppid='' gpid='' cpid=''

xp_init
xp_require_all
xp_require_cmd tshark jq bc
[ -x "$CTL" ] || xp_fail "xpro-ctl not built: $CTL"
[ -x "$XP_GEN_BIN" ] || xp_fail "xpro-gen not built: $XP_GEN_BIN"
xp_topo_inline 1 9

conf="$XP_TMP/proxy.json"
sock="$XP_TMP/ctl.sock"
cat >"$conf" <<JSON
{
  $(xp_conf_inline_base),
  "ctl_socket": "$sock",
  "stats_interval_ms": 500,
  "policer": { "unit_prefixes": ["198.18.0.0/30"], "t_f1_pps": 1000, "t_t2_ms": 200,
               "kernel_block": false }
}
JSON
xp_proxy_start ppid proxy "$conf"
xp_proxy_wait_stats proxy 1 20 || xp_fail "proxy did not start: $(tail -5 "$XP_TMP/proxy.err")"
ctl() { ip netns exec "$XP_NS_PROXY" "$CTL" --socket "$sock" "$@"; }

# tshark's view of a file: one "src dst comment" line per frame.
frames() {
    tshark -n -r "$1" -T fields -E separator=' ' -e ip.src -e ip.dst -e frame.comment 2>/dev/null
}

# ---- part 1: the evidence ---------------------------------------------------------------
cat >"$XP_TMP/scenario1" <<EOF2
unit a src=198.18.0.1 dst=$XP_IP_T0 profile=constant rate=5000
unit b src=198.18.0.2 dst=198.18.0.253 profile=constant rate=200
EOF2
# shellcheck disable=SC2046
xp_bg gpid gen1 ip netns exec "$XP_NS_UNIT" $(xp_sender_taskset) "$XP_GEN_BIN" send --ifname u0 \
    --scenario "$XP_TMP/scenario1" --dst-mac "$XP_MAC_T0" --duration 25 --out "$XP_TMP/gen1.csv"
sleep 1.5 # past T_T2: .1 is dropped from here on

# capture NAME ARGS...: xpro-ctl capture into NAME.pcapng; its exit status and summary kept.
capture() {
    local name=$1
    shift
    ctl capture -w "$XP_TMP/$name.pcapng" "$@" 2>"$XP_TMP/$name.err"
}

capture drops --verdict drop -c 50 -d 10 || xp_fail "capture by verdict: $(cat "$XP_TMP/drops.err")"
frames "$XP_TMP/drops.pcapng" >"$XP_TMP/drops.txt" || xp_fail "tshark cannot read drops.pcapng"
xp_check "capture by verdict: 50 frames ($(wc -l <"$XP_TMP/drops.txt"))" \
    test "$(wc -l <"$XP_TMP/drops.txt")" = 50
other=$(grep -cv "^198.18.0.1 $XP_IP_T0 verdict=drop_unit_rate queue=0 port=access$" \
    "$XP_TMP/drops.txt" || true)
xp_check "capture by verdict: every frame is .1's, commented drop_unit_rate ($other others)" \
    test "$other" = 0
xp_check "capture by verdict: xpro-ctl says why it ended (count)" grep -q "(count)" "$XP_TMP/drops.err"

capture unit --unit 198.18.0.2 -c 20 -d 10 || xp_fail "capture by unit: $(cat "$XP_TMP/unit.err")"
frames "$XP_TMP/unit.pcapng" >"$XP_TMP/unit.txt" || xp_fail "tshark cannot read unit.pcapng"
xp_check "capture by unit: 20 frames ($(wc -l <"$XP_TMP/unit.txt"))" \
    test "$(wc -l <"$XP_TMP/unit.txt")" = 20
other=$(grep -cv "^198.18.0.2 198.18.0.253 verdict=forward queue=0 port=access$" \
    "$XP_TMP/unit.txt" || true)
xp_check "capture by unit: every frame is .2's, commented forward ($other others)" test "$other" = 0

capture pair --unit 198.18.0.1 --dst "$XP_IP_T0" --verdict drop_unit_rate -c 10 -d 10 ||
    xp_fail "capture by pair: $(cat "$XP_TMP/pair.err")"
frames "$XP_TMP/pair.pcapng" >"$XP_TMP/pair.txt" || xp_fail "tshark cannot read pair.pcapng"
xp_check "capture by pair: 10 frames of .1 -> $XP_IP_T0 ($(sort -u "$XP_TMP/pair.txt" | tr '\n' ';'))" \
    test "$(grep -c "^198.18.0.1 $XP_IP_T0 verdict=drop_unit_rate" "$XP_TMP/pair.txt")" = 10

# A filter nothing matches ends at its duration with an empty, valid file.
capture none --dst 198.18.0.77 -c 5 -d 2 || xp_fail "capture of nothing: $(cat "$XP_TMP/none.err")"
xp_check "a capture of nothing ends at its duration, a valid empty file" \
    test "$(frames "$XP_TMP/none.pcapng" | wc -l)" = 0 -a -n "$(grep "(duration)" "$XP_TMP/none.err")"
capinfos "$XP_TMP/drops.pcapng" >"$XP_TMP/capinfos.txt" 2>&1 || true
xp_check "capinfos reads a capture: pcapng, Ethernet, 50 frames" \
    bash -c "grep -q 'File type: *Wireshark/... - pcapng' '$XP_TMP/capinfos.txt' &&
             grep -q 'File encapsulation: *Ethernet' '$XP_TMP/capinfos.txt' &&
             grep -q 'Number of packets: *50$' '$XP_TMP/capinfos.txt'"
# Bad requests are refused with the reason.
if ctl capture -w "$XP_TMP/bad.pcapng" --verdict dropped 2>"$XP_TMP/bad.err"; then
    xp_fail "an unknown verdict was accepted"
fi
xp_check "an unknown verdict is refused, naming the key" grep -q "verdict: expected" "$XP_TMP/bad.err"
if ctl capture -w "$XP_TMP/bad.pcapng" --unit 198.18.0 2>"$XP_TMP/bad.err"; then
    xp_fail "a bad address was accepted"
fi
xp_check "a bad unit is refused, naming the key" grep -q "unit: expected" "$XP_TMP/bad.err"
xp_kill "$gpid" INT
xp_wait_pid "$gpid" 10 || true

# ---- part 2: the cost -------------------------------------------------------------------
cat >"$XP_TMP/scenario2" <<EOF2
unit f src=198.18.0.9 dst=$XP_IP_T0 profile=constant rate=max
EOF2
# "packets now_ns": the proxy's forwarded total, and when it was read.
tx() { echo "$(ctl --json stats --interval 0 | jq -r '.totals.tx_packets') $(date +%s%N)"; }
# window: the forwarding rate (pps) over WINDOW_S seconds from now.
window() {
    local p0 t0 p1 t1
    read -r p0 t0 < <(tx)
    sleep "$WINDOW_S"
    read -r p1 t1 < <(tx)
    echo $(((p1 - p0) * 1000000000 / (t1 - t0)))
}
# with N: a window while capture N runs, matching every frame of the flood (a control run
# may set XP_CAPTURE_FLOOD_FILTER, e.g. to "--verdict drop_manual": a bit test per frame and
# nothing streamed, to see the machine's noise against the capture's cost).
with() {
    xp_bg cpid "cap$1" ip netns exec "$XP_NS_PROXY" "$CTL" --socket "$sock" capture \
        -w "$XP_TMP/flood$1.pcapng" ${XP_CAPTURE_FLOOD_FILTER:---unit 198.18.0.9} -c 1000000 -d 60
    sleep 0.3 # connected, and every worker holds its tap
    kill -0 "$cpid" 2>/dev/null || xp_fail "capture $1 ended early: $(cat "$XP_TMP/cap$1.err")"
    window >>"$XP_TMP/with"
    # xpro-ctl's own CPU time (clock ticks), the consumer's cost beside the data path's
    awk '{ print $14 + $15 }' "/proc/$cpid/stat" >>"$XP_TMP/ctl_ticks" 2>/dev/null || true
    kill -INT "$cpid"
    xp_wait_pid "$cpid" 10 || xp_fail "xpro-ctl capture did not stop on SIGINT"
    [ "$XP_RC" = 0 ] || xp_fail "xpro-ctl capture exit $XP_RC: $(cat "$XP_TMP/cap$1.err")"
}
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
: >"$XP_TMP/without" && : >"$XP_TMP/with"
# shellcheck disable=SC2046
xp_bg gpid gen2 ip netns exec "$XP_NS_UNIT" $(xp_sender_taskset) "$XP_GEN_BIN" send --ifname u0 \
    --scenario "$XP_TMP/scenario2" --dst-mac "$XP_MAC_T0" --duration 240 \
    --out /dev/null
sleep 1 # the flood at full speed (it runs until killed below; 240 s bounds a stuck test)
for ((i = 0; i < PAIRS; i++)); do
    if ((i % 2 == 0)); then
        window >>"$XP_TMP/without"
        with "$i"
    else
        with "$i"
        window >>"$XP_TMP/without"
    fi
done
kill -0 "$gpid" 2>/dev/null || xp_fail "the generator stopped before the measurement ended"
xp_kill "$gpid" INT
m0=$(median <"$XP_TMP/without")
m1=$(median <"$XP_TMP/with")
xp_log "forwarding rate without capture: $(tr '\n' ' ' <"$XP_TMP/without")(median $m0 pps)"
xp_log "forwarding rate with capture:    $(tr '\n' ' ' <"$XP_TMP/with")(median $m1 pps)"
xp_log "xpro-ctl's CPU time per capture (ticks of 1/$(getconf CLK_TCK) s, about 1.3 s each): $(tr '\n' ' ' <"$XP_TMP/ctl_ticks" 2>/dev/null)"
xp_log "median of the pairs' ratios with/without: $(paste -d' ' "$XP_TMP/with" "$XP_TMP/without" |
    awk '{ printf "%.4f\n", $1 / ($2 > 0 ? $2 : 1) }' | median)"
bad=0
for ((i = 0; i < PAIRS; i++)); do
    frames "$XP_TMP/flood$i.pcapng" >"$XP_TMP/flood$i.txt" || bad=$((bad + 1))
    [ -s "$XP_TMP/flood$i.txt" ] || bad=$((bad + 1))
    ! grep -qv "^198.18.0.9 $XP_IP_T0 verdict=forward queue=0 port=access$" "$XP_TMP/flood$i.txt" ||
        bad=$((bad + 1))
done
xp_check "$PAIRS captures of the flood parse, hold frames, only 198.18.0.9's, forward ($bad bad)" \
    test "$bad" = 0
xp_check "the flood was forwarded at all (median $m0 pps)" test "$(echo "$m0 > 1000" | bc -l)" = 1
xp_check "forwarding with capture within 5 % of without (medians $m1 vs $m0 pps)" \
    test "$(echo "$m1 >= $m0 * 0.95" | bc -l)" = 1
xp_check "the proxy kept running" kill -0 "$ppid"

xp_kill "$ppid" TERM
xp_wait_pid "$ppid" 15 || xp_fail "proxy still running after SIGTERM"
xp_check "the proxy exits 0" test "$XP_RC" = 0
xp_check_conservation "$(xp_proxy_last_stats proxy)"
xp_pass "test_capture"
