#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# No unpoliced path through an inline proxy (docs/datapath.md, "The XDP program"): headers
# that XDP does not read must not carry a unit past the policer.
#
# Inline proxy with the documented bridge (fail-open), T_F1 = 200 pps. Each unit floods one
# target with 8000 frames at 2000 pps:
#   - plain IPv6/UDP: policed (the reference);
#   - IPv6 with a hop-by-hop header first: policed the same (it used to pass to the kernel
#     bridge, 8000 of 8000 delivered);
#   - IPv4/UDP under two VLAN tags: policed;
#   - IPv4/UDP under three VLAN tags (more than the parser takes): dropped as malformed
#     (policy "drop", counted as too_many_vlans; it used to be bridged, 8000 of 8000);
#   - a non-IP ethertype: dropped in XDP (non_ip "drop", counted).
# A policed flood delivers at most its rate until the block (T_T2 + 0.1 s) and T_F1 (+10 %)
# after it. The stats close: every frame the access port received is forwarded, dropped for
# a named reason or passed to the kernel for a named reason.
set -euo pipefail
# shellcheck source=tests/netns/lib.sh
source "$(dirname "$0")/lib.sh"

T_F1=200
RATE=2000
COUNT=8000

xp_init_inline 1

conf="$XP_TMP/proxy.json"
cat >"$conf" <<JSON
{
  $(xp_conf_inline_base),
  "events_out": "$XP_TMP/events.jsonl",
  "policer": {
    "unit_prefixes": ["198.18.0.0/24", "2001:2::/48"],
    "t_t1_ms": 1000, "t_t2_ms": 1000, "t_t3_ms": 1000,
    "t_f1_pps": $T_F1, "t_f2_pps": 1000000,
    "block_ms": 500
  }
}
JSON
xp_proxy_start ppid proxy "$conf"
xp_proxy_wait_stats proxy 1 20 || xp_fail "proxy did not start: $(tail -5 "$XP_TMP/proxy.err")"

now() { date +%s.%N; }
sent() { jq -r .sent "$XP_TMP/$1.out"; }
got() { jq -r --arg a "$2" 'select(.final) | .per_src[$a] // 0' "$XP_TMP/$1.out"; }

# flood NAME SRC ARGS...: COUNT frames at RATE from SRC with their own receiver.
flood() {
    local name=$1 src=$2 rpid
    shift 2
    xp_recv_start rpid "rx_$name" "$XP_NS_TARGET" t0 --count-only --duration 9
    printf -v "start_$name" '%s' "$(now)"
    xp_send "$XP_NS_UNIT" u0 --count "$COUNT" --rate "$RATE" --duration 8 \
        --src-mac "$XP_MAC_U0" --dst-mac "$XP_MAC_T0" --src-ip "$src" "$@" \
        >"$XP_TMP/$name.out" 2>"$XP_TMP/$name.err"
    printf -v "end_$name" '%s' "$(now)"
    sleep 0.5
    xp_kill "$rpid" TERM
    xp_wait_pid "$rpid" 5 || true
}

flood v6 2001:2:0:1::1 --v6 --dst-ip "$XP_IP6_T0" --seed 1
flood v6hbh 2001:2:0:2::1 --v6 --hbh --dst-ip "$XP_IP6_T0" --seed 2
flood vlan2 198.18.0.2 --vlans 2 --dst-ip "$XP_IP_T0" --seed 3
flood vlan3 198.18.0.3 --vlans 3 --dst-ip "$XP_IP_T0" --seed 4

# Non-IP: 200 frames of ethertype 0x88b5 (local experimental).
nonip_before=$(jq -r '.ports[] | select(.role == "access") | .xdp.drop_non_ip' <<<"$(xp_proxy_last_stats proxy)")
xp_send "$XP_NS_UNIT" u0 --count 200 --rate 1000 --duration 5 --ethertype 88b5 \
    --src-mac "$XP_MAC_U0" --dst-mac "$XP_MAC_T0" --seed 5 >"$XP_TMP/nonip.out" 2>"$XP_TMP/nonip.err"
sleep 1.2

xp_kill "$ppid" TERM
xp_wait_pid "$ppid" 15 || xp_fail "proxy still running after SIGTERM"
final=$(xp_proxy_last_stats proxy)
echo "$final" >"$XP_TMP/final.log"

# policed NAME SRC: delivered at most RATE until the block, T_F1 (+10 %) after it.
policed() {
    local name=$1 src=$2 start end fwd allowed
    start=$(eval echo "\$start_$name")
    end=$(eval echo "\$end_$name")
    fwd=$(got "rx_$name" "$src")
    allowed=$(echo "$RATE * 1.1 + $T_F1 * ($end - $start - 1) * 1.1" | bc -l)
    xp_log "$name: sent $(sent "$name"), delivered $fwd (allowed $allowed)"
    xp_check "$name: sent all $COUNT" test "$(sent "$name")" = "$COUNT"
    xp_check "$name: policed: $fwd delivered <= $allowed" test "$(echo "$fwd <= $allowed" | bc -l)" = 1
    xp_check "$name: blocked by the unit test" \
        grep -q "\"event\":\"block\".*\"unit\":\"${3:-$src}\".*\"reason\":\"unit_rate\"" "$XP_TMP/events.jsonl"
}
policed v6 2001:2:0:1::1 2001:2:0:1::
policed v6hbh 2001:2:0:2::1 2001:2:0:2::
policed vlan2 198.18.0.2

fwd3=$(got rx_vlan3 198.18.0.3)
tmv=$(jq -r '.pipeline.malformed.too_many_vlans' <<<"$final")
xp_log "vlan3: sent $(sent vlan3), delivered $fwd3, counted as too_many_vlans $tmv"
xp_check "three VLAN tags: none delivered ($fwd3)" test "$fwd3" = 0
xp_check "three VLAN tags: every frame dropped as malformed ($tmv == $COUNT)" test "$tmv" = "$COUNT"
nonip=$(jq -r '.ports[] | select(.role == "access") | .xdp.drop_non_ip' <<<"$final")
xp_check "non-IP: 200 frames dropped in XDP ($((nonip - nonip_before)))" test "$((nonip - nonip_before))" = 200

xp_check_conservation "$final"
xp_check "frames.leaked == 0" test "$(jq -r .frames.leaked <<<"$final")" = 0
xp_pass "test_bypass"
