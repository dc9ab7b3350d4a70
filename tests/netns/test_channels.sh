#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Queues without a socket are an open door (fail-open passes what reaches them): the proxy
# compares each port's RX queues with "queues" before it attaches anything.
#
# Ports with 4 RX queues (veth numrxqueues 4), "queues": 1:
#   - "channels" "refuse" (the default): the proxy exits 2 with an error naming the device,
#     its queue count and the config keys, and leaves no XDP program behind;
#   - "channels" "set" while the veth peers send on 4 TX queues: veth refuses native XDP on
#     fewer RX queues than its peer's TX queues (a frame on a missing queue would skip XDP),
#     so the proxy fails to start (exit 3) with that reason, no program left, and the ports
#     get their 4 RX queues back;
#   - "channels" "set" with a core port that does not exist: xpa is set first, then reading
#     the core port's channels fails, so the proxy fails to start and xpa gets its 4 RX
#     queues back (a failed start leaves no port changed);
#   - "channels" "set" once the peers send on one queue (ethtool -L tx 1, as a NIC with one
#     queue per direction would): the proxy gives the ports 1 RX queue and runs; a unit
#     flooding over 64 flows is policed whole: every frame reaches the XDP program and the
#     socket of queue 0, none passes unpoliced, the flood is held to T_F1 after the block;
#     at exit the ports have their 4 RX queues again.
set -euo pipefail
# shellcheck source=tests/netns/lib.sh
source "$(dirname "$0")/lib.sh"

T_F1=200
RATE=2000
COUNT=8000

xp_init
xp_require_all
xp_require_cmd ethtool bc
xp_topo_inline 4

# conf CHANNELS [CORE]: the proxy's configuration with "channels": CHANNELS (and the core
# port CORE, xpc by default).
conf() {
    cat >"$XP_TMP/proxy-$1${2:+-$2}.json" <<JSON
{
  "proxy_id": "$XP_PREFIX",
  "ports": { "access": "xpa", "core": "${2:-xpc}" },
  "queues": 1,
  "channels": "$1",
  "cpus": $(xp_proxy_cpus),
  "events_out": "$XP_TMP/events.jsonl",
  "policer": {
    "unit_prefixes": ["198.18.0.0/24"],
    "t_t1_ms": 1000, "t_t2_ms": 1000, "t_t3_ms": 1000,
    "t_f1_pps": $T_F1, "t_f2_pps": 1000000, "block_ms": 500
  }
}
JSON
}

conf refuse
xp_proxy_start pref refuse "$XP_TMP/proxy-refuse.json"
xp_wait_pid "$pref" 15 || xp_fail "the proxy did not exit"
xp_check "channels refuse: exit code 2 (got $XP_RC)" test "$XP_RC" = 2
xp_check "the error names the device, its queues and the keys: $(grep -m1 'RX queues' "$XP_TMP/refuse.err")" \
    grep -q 'xpa has 4 RX queues but "queues" is 1.*"channels": "set"' "$XP_TMP/refuse.err"
xp_check "no XDP program left on xpa" xp_no_xdp "$XP_NS_PROXY" xpa

rxq() { ip netns exec "$XP_NS_PROXY" ethtool -l "$1" | awk '/^Current/ {c = 1} c && /^RX:/ {print $2; exit}'; }
conf set
xp_proxy_start pset set4 "$XP_TMP/proxy-set.json"
xp_wait_pid "$pset" 15 || xp_fail "the proxy did not exit"
xp_check "channels set, peers on 4 TX queues: the proxy fails to start, exit 3 (got $XP_RC)" \
    test "$XP_RC" = 3
xp_check "the error says why: $(grep -m1 'attaching XDP' "$XP_TMP/set4.err")" \
    grep -q 'native XDP needs at least as many RX queues as its peer has TX queues' "$XP_TMP/set4.err"
xp_check "no XDP program left on xpa" xp_no_xdp "$XP_NS_PROXY" xpa
xp_check "xpa has its 4 RX queues again ($(rxq xpa))" test "$(rxq xpa)" = 4

conf set xpnone
xp_proxy_start pnone setnone "$XP_TMP/proxy-set-xpnone.json"
xp_wait_pid "$pnone" 15 || xp_fail "the proxy did not exit"
xp_check "channels set, core port missing: the proxy fails to start (exit $XP_RC)" \
    test "$XP_RC" != 0
xp_check "the error names the missing port: $(grep -m1 'xpnone' "$XP_TMP/setnone.err")" \
    grep -q 'xpnone: reading its RX channels' "$XP_TMP/setnone.err"
xp_check "xpa has its 4 RX queues again after the failed start ($(rxq xpa))" \
    test "$(rxq xpa)" = 4

ip netns exec "$XP_NS_UNIT" ethtool -L u0 tx 1
ip netns exec "$XP_NS_TARGET" ethtool -L t0 tx 1
xp_proxy_start ppid proxy "$XP_TMP/proxy-set.json"
xp_proxy_wait_stats proxy 1 20 || xp_fail "proxy did not start: $(tail -5 "$XP_TMP/proxy.err")"
xp_check "channels set: the log says so" grep -q 'xpa: RX queues set to 1' "$XP_TMP/proxy.err"

xp_recv_start rpid rx "$XP_NS_TARGET" t0 --count-only --duration 9
start=$(date +%s.%N)
xp_send "$XP_NS_UNIT" u0 --count "$COUNT" --rate "$RATE" --duration 8 --flows 64 \
    --src-mac "$XP_MAC_U0" --dst-mac "$XP_MAC_T0" --src-ip 198.18.0.1 --dst-ip "$XP_IP_T0" \
    --seed 5 >"$XP_TMP/flood.out" 2>"$XP_TMP/flood.err"
end=$(date +%s.%N)
sleep 0.5
xp_kill "$rpid" TERM
xp_wait_pid "$rpid" 5 || true
xp_kill "$ppid" TERM
xp_wait_pid "$ppid" 15 || xp_fail "proxy still running after SIGTERM"
final=$(xp_proxy_last_stats proxy)
echo "$final" >"$XP_TMP/final.log"

fwd=$(jq -r 'select(.final) | .per_src["198.18.0.1"] // 0' "$XP_TMP/rx.out")
allowed=$(echo "$RATE * 1.1 + $T_F1 * ($end - $start - 1) * 1.1" | bc -l)
xdp_rx=$(jq -r '.ports[] | select(.role == "access") | .xdp.rx' <<<"$final")
nosock=$(jq -r '.ports[] | select(.role == "access") | .xdp.pass_no_socket' <<<"$final")
xp_log "flood: sent $(jq -r .sent "$XP_TMP/flood.out"), delivered $fwd (allowed $allowed); access xdp.rx $xdp_rx, pass_no_socket $nosock"
xp_check "every frame of the flood reached the XDP program ($xdp_rx >= $COUNT)" test "$xdp_rx" -ge "$COUNT"
xp_check "none reached a queue without a socket ($nosock)" test "$nosock" = 0
xp_check "the flood was policed: $fwd delivered <= $allowed" test "$(echo "$fwd <= $allowed" | bc -l)" = 1
xp_check_conservation "$final"
xp_check "at exit xpa and xpc have their 4 RX queues again ($(rxq xpa), $(rxq xpc))" \
    test "$(rxq xpa)" = 4 -a "$(rxq xpc)" = 4
xp_pass "test_channels"
