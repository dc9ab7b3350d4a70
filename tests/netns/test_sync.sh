#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Sync across proxies, end to end: the low-rate attack that no single proxy can see.
#
# Two proxies, each inline in front of one unit, both units sending to the same victim
# address at 3000 pps: each proxy alone sees 3000 pps towards the victim, under
# T_F2 = 4000 pps, and each unit is under T_F1. Through xpro-central (a management bridge,
# 198.18.255.0/24) every proxy learns the other's count: the destination aggregate is
# 6000 pps and both proxies drop with the destination test.
# Then the central node is killed (-9): both proxies report "degraded" and keep
# forwarding/policing on local state; it restarts from its state file and they
# re-converge to "synced" without a restart.
set -euo pipefail
# shellcheck source=tests/netns/lib.sh
source "$(dirname "$0")/lib.sh"

SECRET1=6b1f0e2d9c3a4b5f8e7d6c5b4a392817
SECRET2=0f1e2d3c4b5a69788796a5b4c3d2e1f0
VICTIM=198.18.0.254
RATE=3000

xp_init
xp_require_all
[ -x "$XP_CENTRAL" ] || xp_fail "xpro-central not built: $XP_CENTRAL"

# NS_C with the sync bridge; unit, proxy and target 1 and 2 (lib.sh)
xp_two_proxies_topology "$VICTIM"

cat >"$XP_TMP/central.json" <<JSON
{
  "listen": "198.18.255.1", "port": 7420,
  "state_file": "$XP_TMP/central.state", "persist_period_ms": 500, "stats_period_ms": 1000,
  "merge": { "t_t1_ms": 1000, "t_t4_ms": 4000, "r": 2, "max_skew_ms": 1000 },
  "proxies": { "p1": "$SECRET1", "p2": "$SECRET2" }
}
JSON
start_central() { xp_central_start "$1" "$2" "$NS_C" "$XP_TMP/central.json"; }
start_central cpid central
xp_wait_for 10 xp_file_has "$XP_TMP/central.err" "listening" || xp_fail "central did not start: $(cat "$XP_TMP/central.err")"

for i in 1 2; do
    p="NS_P$i" secret="SECRET$i"
    cat >"$XP_TMP/proxy$i.json" <<JSON
{
  "proxy_id": "p$i",
  "ports": { "access": "xpa", "core": "xpc" },
  "ctl_socket": "$XP_TMP/p$i.sock",
  "events_out": "$XP_TMP/events$i.jsonl",
  "sync": { "central": "198.18.255.1:7420", "secret": "${!secret}", "period_ms": 500 },
  "policer": { "unit_prefixes": ["198.18.0.0/24"], "t_f1_pps": 5000, "t_f2_pps": 4000,
               "t_t1_ms": 1000, "t_t3_ms": 1000 }
}
JSON
    xp_bg "ppid$i" "proxy$i" ip netns exec "${!p}" sh -c "$XP_BPFFS_SH" xp \
        "$XPRO_BUILD/src/xpro-proxy" -c "$XP_TMP/proxy$i.json" --stats-out -
done
xp_proxy_wait_stats proxy1 1 20 || xp_fail "proxy1 did not start: $(tail -5 "$XP_TMP/proxy1.err")"
xp_proxy_wait_stats proxy2 1 20 || xp_fail "proxy2 did not start: $(tail -5 "$XP_TMP/proxy2.err")"

last() { grep '"totals"' "$XP_TMP/$1.out" | tail -n 1; }
sync_state() { last "$1" | jq -r .sync.state; }
is_state() { [ "$(sync_state "$1")" = "$2" ]; }
xp_wait_for 10 is_state proxy1 synced || xp_fail "proxy1 never synced: $(last proxy1 | jq -c .sync)"
xp_wait_for 10 is_state proxy2 synced || xp_fail "proxy2 never synced: $(last proxy2 | jq -c .sync)"
xp_pass "both proxies authenticated and synced"

send_unit() {
    local i=$1 dur=$2 u="NS_U$1" t="NS_T$1" umac tmac
    umac=$(xp_mac "${!u}" u0)
    tmac=$(xp_mac "${!t}" t0)
    xp_send_bg "spid$i" "unit$i" "${!u}" u0 --count 0 --rate "$RATE" --duration "$dur" \
        --src-mac "$umac" --dst-mac "$tmac" --src-ip "198.18.0.$i" --dst-ip "$VICTIM" --seed "$i"
}
drops() { last "$1" | jq -r '.pipeline.drop_dst_rate + (.ports[0].xdp.drop_blocked // 0)'; }
dropping() { [ "$(drops "$1")" -gt 0 ]; }

# Control: one unit alone stays under T_F2 for longer than T_T3 plus two sync periods.
send_unit 1 11
sleep 3
xp_check "unit 1 alone (3000 pps < T_F2): proxy1 drops nothing" test "$(drops proxy1)" = 0
send_unit 2 8
xp_wait_for 8 dropping proxy1 || xp_fail "proxy1 never applied the destination test: $(last proxy1 | jq -c '{pipeline, sync}')"
xp_wait_for 8 dropping proxy2 || xp_fail "proxy2 never applied the destination test: $(last proxy2 | jq -c '{pipeline, sync}')"
xp_check "proxy1 blocked its unit for the destination rate" \
    grep -q '"reason":"dst_rate"' "$XP_TMP/events1.jsonl"
xp_check "proxy2 blocked its unit for the destination rate" \
    grep -q '"reason":"dst_rate"' "$XP_TMP/events2.jsonl"
xp_check "no unit went over T_F1 (no unit-rate drops)" \
    test "$(last proxy1 | jq -r .pipeline.drop_unit_rate)$(last proxy2 | jq -r .pipeline.drop_unit_rate)" = 00

# Degraded mode and re-convergence.
xp_kill "$cpid" KILL
xp_wait_for 6 is_state proxy1 degraded || xp_fail "proxy1 not degraded: $(last proxy1 | jq -c .sync)"
xp_wait_for 6 is_state proxy2 degraded || xp_fail "proxy2 not degraded: $(last proxy2 | jq -c .sync)"
xp_pass "with the central node gone both proxies say degraded ($(last proxy1 | jq -c '.sync | {state, degraded_since}'))"
rx_before=$(last proxy1 | jq -r .totals.rx_packets)
sleep 1.5
xp_check "proxy1 keeps handling traffic while degraded" \
    test "$(last proxy1 | jq -r .totals.rx_packets)" -gt "$rx_before"
start_central cpid2 central2
xp_wait_for 10 xp_file_has "$XP_TMP/central2.err" "listening" || xp_fail "central did not restart: $(cat "$XP_TMP/central2.err")"
xp_wait_for 40 is_state proxy1 synced || xp_fail "proxy1 did not re-converge: $(last proxy1 | jq -c .sync)"
xp_wait_for 40 is_state proxy2 synced || xp_fail "proxy2 did not re-converge: $(last proxy2 | jq -c .sync)"
xp_pass "both proxies re-converged after the central node came back"
xp_check "sync state changes are events: degraded, then synced again" \
    bash -c "grep '\"event\":\"sync\"' '$XP_TMP/events1.jsonl' | jq -r .state | tr '\n' ' ' | grep -q 'synced degraded synced'"

# The central node's own stats, through xpro-ctl, authenticated as p1.
echo "$SECRET1" >"$XP_TMP/p1.secret"
ip netns exec "$NS_P1" "$XPRO_BUILD/src/xpro-ctl" --central 198.18.255.1:7420 --id p1 \
    --secret-file "$XP_TMP/p1.secret" --json stats >"$XP_TMP/central-stats.json" ||
    xp_fail "xpro-ctl --central stats failed"
cp "$XP_TMP/central-stats.json" "$XP_TMP/central-stats.log"
xp_check "the central node's stats list both proxies" \
    test "$(jq -r '[.. | objects | select(has("p1") and has("p2"))] | length' "$XP_TMP/central-stats.json")" -ge 1
xp_check "a wrong secret is refused" bash -c "echo 00112233445566778899aabbccddeeff >'$XP_TMP/bad.secret';
    ! ip netns exec '$NS_P1' '$XPRO_BUILD/src/xpro-ctl' --central 198.18.255.1:7420 --id p1 \
    --secret-file '$XP_TMP/bad.secret' stats 2>/dev/null"

for i in 1 2; do
    pid="ppid$i"
    xp_kill "${!pid}" TERM
done
xp_kill "$cpid2" TERM
xp_pass "test_sync"
