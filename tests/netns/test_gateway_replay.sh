#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Gateway mode against an on-path attacker who captured a unit's datagrams (issue 16), on the
# topology of test_gateway.sh with one lwIP unit and two proxies (tunnel ids 1 and 2):
#   1. the capture replayed to proxy 2, re-addressed to it: refused as wrong_proxy, nothing
#      forwarded;
#   2. replayed to proxy 1 while it runs: replays; after proxy 1 restarts: its DATA refused as
#      stale_epoch, nothing forwarded; the unit learns the new epoch and is served again;
#   3. forgeries (a captured keepalive with one tag bit flipped) at 2000/s from one source:
#      past a burst, dropped before any MAC work (drop_mac_limited), while the unit's requests
#      keep being answered;
#   4. key rotation with the unit's requests flowing: proxy 1 gets the new key next to the old
#      one (reload), the unit moves to it (SIGUSR1), proxy 1 drops the old one (reload):
#      every request answered, no datagram refused; the old key is refused afterwards.
set -euo pipefail
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"

XP_TEST_TIMEOUT=200
xp_init
xp_require_all
xp_require_gateway

xp_topo_gateway 1
xp_gateway_units 1
for p in 1 2; do
    xp_gateway_config "$XP_TMP/p$p.json" "$p" '"t_f1_pps": 1000, "t_t1_ms": 1000, "t_t2_ms": 1000, "r": 1'
done
XP_NS_PROXY=$NS_P1 xp_proxy_start P1 p1 "$XP_TMP/p1.json"
XP_NS_PROXY=$NS_P2 xp_proxy_start P2 p2 "$XP_TMP/p2.json"
xp_proxy_wait_stats p1 1 15 || xp_fail "proxy 1 did not start: $(tail -5 "$XP_TMP/p1.err")"
xp_proxy_wait_stats p2 1 15 || xp_fail "proxy 2 did not start: $(tail -5 "$XP_TMP/p2.err")"
xp_coap_server_start

gw_stat() { xp_proxy_last_stats "$1" | jq -r ".gateway.$2"; }
# The sum of every tunnel refusal: the attacker's replays and forgeries all land in one of them.
tunnel_drops() { xp_proxy_last_stats "$1" | jq '[.gateway.tunnel_drops[]] | add'; }
answered() { grep '"answered"' "$XP_TMP/unit$1.out" | tail -n 1 | jq -r .answered; }
# An attacker on the LAN: frames leave through the bridge towards whichever MAC they carry.
pktio_lan() { ip netns exec "$NS_LAN" "$XP_PKTIO" "$@"; }
MAC_P1=$(xp_mac "$NS_P1" xpa)
MAC_P2=$(xp_mac "$NS_P2" xpa)
settle() { sleep 1.2; } # two stats intervals: the last line counts what happened before
has_neighbour() { [ "$(gw_stat "$1" neighbours)" -ge 1 ] 2>/dev/null; }
# The core router resolved ahead of any traffic: no request waits for a next hop.
xp_wait_for 5 has_neighbour p1 || xp_fail "proxy 1 did not resolve its default router"

# ---- 1. capture the unit's datagrams while it talks through proxy 1 -------------------------
xp_bg CAP cap ip netns exec "$NS_LAN" "$XP_PKTIO" capture --ifname tapu1 --dst-port 5685 \
    --count 500 --timeout 8 --file "$XP_TMP/all.cap" --ready-file "$XP_TMP/cap.ready"
# Keepalives only (68 bytes of tunnel header and nothing else): the forger's raw material.
xp_bg CAPKA capka ip netns exec "$NS_LAN" "$XP_PKTIO" capture --ifname tapu1 --dst-port 5685 \
    --size $((14 + 20 + 8 + 40)) --count 1 --timeout 8 --file "$XP_TMP/ka.cap" \
    --ready-file "$XP_TMP/capka.ready"
xp_wait_for 5 test -f "$XP_TMP/cap.ready" -a -f "$XP_TMP/capka.ready" || xp_fail "capture not ready"
xp_gateway_unit 1 --mode coap --target 198.18.3.9:5683 --count 20 --interval-ms 100
xp_wait_pid "$UNIT1" 30 || xp_fail "unit 1 did not finish"
xp_kill "$CAP" INT
xp_wait_pid "$CAPKA" 10 || xp_fail "no keepalive captured"
captured=$(jq -r .captured "$XP_TMP/cap.out")
xp_check "unit 1: $(answered 1) of 20 answered through proxy 1; $captured datagrams captured" \
    test "$(answered 1)" = 20 -a "$captured" -ge 20
settle
data_p1=$(gw_stat p1 data)
ka_p1=$(gw_stat p1 keepalives)
xp_log "proxy 1 accepted $data_p1 DATA and $ka_p1 keepalives; the capture holds $captured"

# ---- 1b. replayed across proxies: every datagram names proxy 1 ------------------------------
wp0=$(gw_stat p2 tunnel_drops.wrong_proxy)
pktio_lan replay --ifname lanbr --file "$XP_TMP/all.cap" --dst-mac "$MAC_P2" \
    --dst-ip 198.18.2.12 >"$XP_TMP/replay2.out" || xp_fail "replay to proxy 2 failed"
settle
wp=$(($(gw_stat p2 tunnel_drops.wrong_proxy) - wp0))
xp_check "replayed to proxy 2: $wp of $captured refused as wrong_proxy, $(gw_stat p2 forward) forwarded" \
    test "$wp" = "$captured" -a "$(gw_stat p2 forward)" = 0

# ---- 2. replayed to proxy 1: now, and after a restart ---------------------------------------
fwd0=$(gw_stat p1 forward)
rep0=$(xp_proxy_last_stats p1 | jq '.gateway.tunnel_drops | .replayed + .too_old')
pktio_lan replay --ifname lanbr --file "$XP_TMP/all.cap" --dst-mac "$MAC_P1" >/dev/null ||
    xp_fail "replay to proxy 1 failed"
settle
rep=$(($(xp_proxy_last_stats p1 | jq '.gateway.tunnel_drops | .replayed + .too_old') - rep0))
xp_check "replayed to proxy 1 while it runs: $rep of $captured refused as replays, nothing forwarded" \
    test "$rep" = "$captured" -a "$(gw_stat p1 forward)" = "$fwd0"

xp_kill "$P1" TERM
xp_check_conservation "$(xp_proxy_last_stats p1)"
XP_NS_PROXY=$NS_P1 xp_proxy_start P1 p1b "$XP_TMP/p1.json"
xp_proxy_wait_stats p1b 1 15 || xp_fail "proxy 1 did not restart: $(tail -5 "$XP_TMP/p1b.err")"
xp_wait_for 5 has_neighbour p1b || xp_fail "restarted proxy 1 did not resolve its default router"
pktio_lan replay --ifname lanbr --file "$XP_TMP/all.cap" --dst-mac "$MAC_P1" >/dev/null ||
    xp_fail "replay to the restarted proxy 1 failed"
settle
stale=$(gw_stat p1b tunnel_drops.stale_epoch)
ka=$(gw_stat p1b keepalives)
# Keepalives may name any epoch: the restarted proxy answers them (to the unit's address,
# echoing sequence numbers the unit no longer waits for). Every DATA is refused.
xp_check "replayed after the restart: $stale DATA refused as stale_epoch (proxy 1 had accepted $data_p1), $ka keepalives answered, $(gw_stat p1b forward) forwarded" \
    test "$stale" = "$data_p1" -a "$((stale + ka))" = "$captured" -a "$(gw_stat p1b forward)" = 0
xp_gateway_unit 1 --mode coap --target 198.18.3.9:5683 --count 10 --interval-ms 100
xp_wait_pid "$UNIT1" 30 || xp_fail "unit 1 did not finish"
xp_check "the unit learns the new epoch and is served by the restarted proxy ($(answered 1) of 10)" \
    test "$(answered 1)" = 10

# ---- 3. forgeries from one source: limited before the MAC -----------------------------------
# A captured keepalive (right unit, key, proxy; any epoch passes) with one tag bit flipped
# (frame offset 14 + 20 + 8 + 24), from 198.18.2.77: only the MAC can refuse it.
lim0=$(gw_stat p1b drop_mac_limited)
tag0=$(gw_stat p1b tunnel_drops.bad_tag)
xp_bg FORGE forge ip netns exec "$NS_LAN" "$XP_PKTIO" replay --ifname lanbr --file "$XP_TMP/ka.cap" \
    --dst-mac "$MAC_P1" --src-ip 198.18.2.77 --flip 66 --count 4000 --rate 2000
xp_gateway_unit 1 --mode coap --target 198.18.3.9:5683 --count 15 --interval-ms 100
xp_wait_pid "$FORGE" 20 || xp_fail "the forger did not finish"
xp_wait_pid "$UNIT1" 30 || xp_fail "unit 1 did not finish"
settle
lim=$(($(gw_stat p1b drop_mac_limited) - lim0))
tag=$(($(gw_stat p1b tunnel_drops.bad_tag) - tag0))
xp_log "forgeries: $(cat "$XP_TMP/forge.out"); $tag reached the MAC, $lim were limited"
# mac_fail_pps 100 (default): a burst of 100, then 100 per second, for about 2 s.
xp_check "4000 forgeries: $tag failed the MAC (<= 400), $lim dropped unopened" \
    test "$tag" -le 400 -a "$((tag + lim))" = 4000
xp_check "the unit kept its traffic during the forgeries ($(answered 1) of 15)" test "$(answered 1)" = 15

# ---- 4. key rotation with traffic -----------------------------------------------------------
old=$(cat "$XP_TMP/unit1.key")
new=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
reloads() { grep -c reloaded "$XP_TMP/p1b.err" || true; }
reloaded_since() { [ "$(reloads)" -gt "$1" ]; }
set_keys() { # set_keys JSON_ARRAY: unit 1's keys on proxy 1, reloaded
    local n0
    n0=$(reloads)
    jq --argjson k "$1" '.gateway.units |= map(if .id == 1 then (del(.key) | .keys = $k) else . end)' \
        "$XP_TMP/p1.json" >"$XP_TMP/p1.new"
    mv "$XP_TMP/p1.new" "$XP_TMP/p1.json"
    kill -HUP "$P1"
    xp_wait_for 5 reloaded_since "$n0" || xp_fail "proxy 1 did not reload: $(tail -3 "$XP_TMP/p1b.err")"
}
settle
drops0=$(tunnel_drops p1b)
xp_gateway_unit 1 --mode coap --target 198.18.3.9:5683 --count 60 --interval-ms 100
sleep 1.5
set_keys "[{\"id\": 0, \"key\": \"$old\"}, {\"id\": 1, \"key\": \"$new\"}]"
sleep 1
printf '1:%s\n' "$new" >"$XP_TMP/unit1.key"
kill -USR1 "$UNIT1"
xp_wait_for 5 xp_file_has "$XP_TMP/unit1.out" '"event":"key"' || xp_fail "unit 1 did not take the new key"
sleep 1
set_keys "[{\"id\": 1, \"key\": \"$new\"}]"
xp_wait_pid "$UNIT1" 30 || xp_fail "unit 1 did not finish"
settle
drops=$(($(tunnel_drops p1b) - drops0))
xp_log "rotation: $(grep '"event":"key"' "$XP_TMP/unit1.out"); proxy 1: $(xp_proxy_last_stats p1b | jq -c .gateway.tunnel_drops)"
xp_check "key rotation with traffic: $(answered 1) of 60 answered, $drops datagrams refused" \
    test "$(answered 1)" = 60 -a "$drops" = 0
printf '0:%s\n' "$old" >"$XP_TMP/unit1.key"
uk0=$(gw_stat p1b tunnel_drops.unknown_key)
xp_gateway_unit 1 --mode coap --target 198.18.3.9:5683 --count 3 --interval-ms 100 --timeout-ms 300
xp_wait_pid "$UNIT1" 30 || xp_fail "unit 1 did not finish"
settle
uk=$(($(gw_stat p1b tunnel_drops.unknown_key) - uk0))
xp_check "the retired key is refused ($(answered 1) of 3 answered, $uk unknown_key)" \
    test "$(answered 1)" = 0 -a "$uk" -ge 3

xp_kill "$P1" TERM
xp_kill "$P2" TERM
xp_check_conservation "$(xp_proxy_last_stats p1b)"
xp_check_conservation "$(xp_proxy_last_stats p2)"
xp_pass "tunnel replays across proxies and restarts refused, forgeries limited before the MAC, key rotation without a lost datagram"
