#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Issue 19: blocks announced upstream over BGP (docs/upstream.md), against real speakers.
#
#   UNIT ns ── xpro-proxy (PROXY ns) ── TARGET ns          the standard inline topology
#                 │ control socket
#              ExaBGP (PROXY ns, 198.18.5.1, AS 65001)      runs xpro-announce as its process
#                 │ veth xpb ── xpp
#              gobgpd (PEER ns, 198.18.5.2, AS 65002)      the upstream router; asked with gobgp
#
# 1. a unit over T_F1 towards the target: a unit_rate pair block; the peer sees the FlowSpec
#    rule (source unit/32, destination target/32, discard) within 1 s of the block event,
#    and loses it within 1 s of the unblock event (and not before it); the same in IPv6
#    (source the unit's /64);
# 2. five units, each under T_F1, together over T_F2 towards one victim: dst_rate blocks of
#    five pairs; the peer sees one RTBH route for the victim (/32, community 65535:666)
#    within 1 s of the first block event, withdrawn within 1 s of the last unblock;
# 3. six units over T_F1 towards a third address with --max-routes 3: the peer holds 3
#    FlowSpec rules for it, and xpro-announce's counters say 3 were capped;
# 4. the notify script ran for the blocks and unblocks (arguments and environment), and a
#    run that hangs is killed at --notify-timeout, with the process it started;
# 5. the proxy stopped under a block: the rule withdrawn; restarted: followed again, and the
#    next block announced within 1 s;
# 6. xpro-announce killed under a running block: ExaBGP respawns it, it learns the block from
#    the proxy's flows op (no event: renewals are silent) and announces it; the block's
#    unblock withdraws it.
# The event-to-route delays are printed: the proxy's event time to the time gobgp's monitor
# stream delivered the update.
# shellcheck disable=SC2154 # PIDs (ppid, s1...) are set by xp_bg and xp_send_bg with printf -v
XP_TEST_TIMEOUT=${XP_TEST_TIMEOUT:-240}
set -euo pipefail
# shellcheck source=tests/netns/lib.sh
source "$(dirname "$0")/lib.sh"

ANNOUNCE=${XP_ANNOUNCE:-$XPRO_BUILD/src/xpro-announce}
UNIT=198.18.0.2
TARGET=198.18.0.254
VICTIM=198.18.1.1
CAPDST=198.18.2.1
BOUND_MS=1000

xp_init
xp_require_all
xp_require_cmd exabgp gobgpd gobgp
[ -x "$ANNOUNCE" ] || xp_fail "xpro-announce not built: $ANNOUNCE"
xp_topo_inline 1
xp_ns_create NS_PEER peer
xp_veth xpb "$XP_NS_PROXY" xpp "$NS_PEER"
xp_addr "$XP_NS_PROXY" xpb 198.18.5.1/24
xp_addr "$NS_PEER" xpp 198.18.5.2/24

sock="$XP_TMP/ctl.sock"
events="$XP_TMP/events.jsonl"
# T_F1 500 pps a pair, T_F2 1500 pps a destination; the unit test decides at 300 ms, the
# destination test at 1 s, so a flooding unit is always a unit_rate block (phases 1, 3).
cat >"$XP_TMP/proxy.json" <<JSON
{
  $(xp_conf_inline_base),
  "ctl_socket": "$sock",
  "events_out": "$events",
  "stats_interval_ms": 1000,
  "policer": { "unit_prefixes": ["198.18.0.0/24", "2001:2::/64"], "t_f1_pps": 500, "t_f2_pps": 1500,
               "t_t2_ms": 300, "t_t3_ms": 1000, "block_ms": 500 }
}
JSON
xp_proxy_start ppid proxy "$XP_TMP/proxy.json"
xp_proxy_wait_stats proxy 1 20 || xp_fail "proxy did not start: $(tail -5 "$XP_TMP/proxy.err")"

# The notify script: one line per run; a block of the unit .20 hangs (and starts a child
# that would outlive a kill of the script alone).
notify="$XP_TMP/notify.sh"
cat >"$notify" <<SH
#!/bin/sh
read -r line
echo "\$1 \$2 \$3 \$4 env=\$XPRO_EVENT/\$XPRO_UNIT/\$XPRO_DST/\$XPRO_REASON stdin=\$line" >>"$XP_TMP/notify.log"
if [ "\$1" = block ] && [ "\$2" = 198.18.0.20 ]; then
    sleep 120 &
    echo \$! >"$XP_TMP/hang.pid"
    wait
fi
SH
chmod 0755 "$notify"

# gobgpd: the upstream router, every family ExaBGP sends.
cat >"$XP_TMP/gobgpd.toml" <<TOML
[global.config]
  as = 65002
  router-id = "198.18.5.2"
  local-address-list = ["198.18.5.2"]
[[neighbors]]
  [neighbors.config]
    neighbor-address = "198.18.5.1"
    peer-as = 65001
$(for f in ipv4-unicast ipv4-flowspec ipv6-unicast ipv6-flowspec; do
    printf '  [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n      afi-safi-name = "%s"\n' "$f"
done)
TOML
xp_bg gpid gobgpd ip netns exec "$NS_PEER" gobgpd -f "$XP_TMP/gobgpd.toml" -p \
    --api-hosts 127.0.0.1:50051 --pprof-disable
gobgp() { ip netns exec "$NS_PEER" gobgp -u 127.0.0.1 -p 50051 "$@"; }
xp_wait_for 15 gobgp global || xp_fail "gobgpd did not start: $(tail -5 "$XP_TMP/gobgpd.out")"

# ExaBGP with xpro-announce as its process (as root: the socket is root's 0660).
cat >"$XP_TMP/exabgp.conf" <<CONF
process xpro {
    run $ANNOUNCE --socket $sock --max-routes 3 --rate 50 --burst 20 --stats-file $XP_TMP/announce.json --notify-script $notify --notify-timeout 1;
    encoder text;
}
neighbor 198.18.5.2 {
    router-id 198.18.5.1;
    local-address 198.18.5.1;
    local-as 65001;
    peer-as 65002;
    family { ipv4 unicast; ipv4 flow; ipv6 unicast; ipv6 flow; }
    api { processes [ xpro ]; }
}
CONF
xp_bg epid exabgp ip netns exec "$XP_NS_PROXY" env exabgp.daemon.user=root \
    exabgp.daemon.daemonize=false exabgp.api.cli=false exabgp.log.destination=stdout \
    exabgp "$XP_TMP/exabgp.conf"
established() { [ "$(gobgp neighbor -j | jq -r '.[0].state.session_state')" = 6 ]; }
t0=$(date +%s%N)
xp_wait_for 60 established || xp_fail "the BGP session never came up: $(tail -3 "$XP_TMP/exabgp.out")"
xp_log "BGP session established in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
xp_wait_for 10 xp_file_has "$XP_TMP/announce.json" '"connected":true' ||
    xp_fail "xpro-announce never followed the proxy's events"

# The peer's own record of when each update arrived: gobgp's monitor stream, every line
# stamped on arrival (bash's EPOCHREALTIME: no fork per line). Polling the RIB (below) only
# sequences the test; the delays are measured on these stamps.
for fam in ipv4 ipv4-flowspec ipv6-flowspec; do
    # shellcheck disable=SC2016 # expanded by the inner bash
    xp_bg _mpid "monitor-$fam" ip netns exec "$NS_PEER" bash -c \
        'exec gobgp -u 127.0.0.1 -p 50051 monitor global rib -a "$1" -j > >(while IFS= read -r l; do printf "%s %s\n" "${EPOCHREALTIME/./}" "$l"; done)' \
        mon "$fam"
done
sleep 0.5

now_ms() { echo $(($(date +%s%N) / 1000000)); }
# has_route FAMILY KEY: the peer's RIB of FAMILY holds KEY (gobgp -j keys by prefix / NLRI)
has_route() { gobgp global rib -a "$1" -j 2>/dev/null | jq -e --arg k "$2" '(. // {}) | has($k)' >/dev/null; }
# count_flows DST: FlowSpec rules with that destination
count_flows() {
    gobgp global rib -a ipv4-flowspec -j 2>/dev/null |
        jq --arg d "[destination: $1/32]" '(. // {}) | keys | map(select(startswith($d))) | length'
}
# wait_route FAMILY KEY present|absent TIMEOUT_S: polls; prints the time (ms) it held
wait_route() {
    local end=$(($(now_ms) + $4 * 1000))
    while [ "$(now_ms)" -lt "$end" ]; do
        if has_route "$1" "$2"; then [ "$3" = present ] && { now_ms; return 0; }
        else [ "$3" = absent ] && { now_ms; return 0; }; fi
        sleep 0.05
    done
    return 1
}
# event_ms KIND UNIT DST first|last: the event's time (ms) in the proxy's events file
event_ms() {
    jq -rs --arg k "$1" --arg u "$2" --arg d "$3" --arg w "$4" \
        '[.[] | select(.event == $k and ($u == "" or .unit == $u) and .dst == $d) | .time] |
         (if $w == "first" then min else max end) // empty | . * 1000 | floor' "$events"
}
# peer_ms SRC DST add|del AFTER_MS: when the peer got the first update of that route (a
# FlowSpec rule SRC -> DST, or with SRC "" the unicast route DST) at or after AFTER_MS
peer_ms() {
    local src=$1 dst=$2 wd=false ts json
    [ "$3" = del ] && wd=true
    while read -r ts json; do
        [ $((ts / 1000)) -ge "$4" ] || continue
        if jq -e --arg s "$src" --arg d "$dst" --argjson w "$wd" '
            [.[] | select((.withdrawal // false) == $w) | .nlri |
             if $s == "" then select(.prefix? == $d)
             else select(((.value? // []) | map(select(.type == 1) | .value.prefix)) == [$d] and
                         ((.value? // []) | map(select(.type == 2) | .value.prefix)) == [$s])
             end] | length > 0' <<<"$json" >/dev/null 2>&1; then
            echo $((ts / 1000))
            return 0
        fi
    done < <(cat "$XP_TMP"/monitor-*.out | grep -F "\"prefix\":\"$dst\"" | sort -n)
    return 1
}
# blocks_to DST N: at least N block events towards DST
blocks_to() { [ "$(jq -s --arg d "$1" '[.[] | select(.event == "block" and .dst == $d)] | length' "$events")" -ge "$2" ]; }
within() { [ "$1" -ge 0 ] && [ "$1" -le "$BOUND_MS" ]; }
announce_stat() { jq -r "$1" "$XP_TMP/announce.json"; }
gen() {
    xp_send_bg "$1" "$2" "$XP_NS_UNIT" u0 --count 0 --src-mac "$XP_MAC_U0" --dst-mac "$XP_MAC_T0" "${@:3}"
}

# ---- 1. a pair block: FlowSpec --------------------------------------------------------------
FLOW1="[destination: $TARGET/32][source: $UNIT/32]"
t_phase=$(now_ms)
gen s1 flood1 --src-ip "$UNIT" --dst-ip "$TARGET" --rate 1000 --duration 3
wait_route ipv4-flowspec "$FLOW1" present 10 >/dev/null || xp_fail "the FlowSpec rule for $UNIT -> $TARGET never reached the peer"
gobgp global rib -a ipv4-flowspec -j >"$XP_TMP/rib1.json"
seen=$(peer_ms "$UNIT/32" "$TARGET/32" add "$t_phase") || xp_fail "gobgp's monitor did not see the rule"
xp_wait_for 3 xp_file_has "$events" "\"block\".*\"$UNIT\"" || true
blk=$(event_ms block "$UNIT" "$TARGET" first)
[ -n "$blk" ] || xp_fail "no block event for $UNIT -> $TARGET"
xp_check "the block was for the unit test (reason unit_rate)" \
    test "$(jq -rs --arg u "$UNIT" '[.[] | select(.event == "block" and .unit == $u)][0].reason' "$events")" = unit_rate
d_flow_up=$((seen - blk))
xp_check "FlowSpec $UNIT -> $TARGET at the peer ${d_flow_up} ms after the block event (<= $BOUND_MS)" within "$d_flow_up"
xp_check "the rule's action is discard (traffic-rate 0)" \
    test "$(jq --arg k "$FLOW1" '[.[$k][0].attrs[] | select(.type == 16) | .value[] | select(.subtype == 6) | .rate][0]' "$XP_TMP/rib1.json")" = 0
wait_route ipv4-flowspec "$FLOW1" absent 15 >/dev/null || xp_fail "the FlowSpec rule was never withdrawn"
gone=$(peer_ms "$UNIT/32" "$TARGET/32" del "$seen") || xp_fail "gobgp's monitor did not see the withdrawal"
unb=$(event_ms unblock "$UNIT" "$TARGET" last)
[ -n "$unb" ] || xp_fail "the rule went away without an unblock event"
d_flow_down=$((gone - unb))
xp_check "FlowSpec withdrawn ${d_flow_down} ms after the unblock event (not before it, <= $BOUND_MS)" within "$d_flow_down"
xp_wait_pid "$s1" 10 || true

# ---- 1b. the same in IPv6: the unit is its /64 (policer.v6_unit_prefix) -----------------------
FLOW6="[destination: $XP_IP6_T0/128/0][source: 2001:2::/64/0]"
t_phase=$(now_ms)
gen s6 flood6 --v6 --src-ip "$XP_IP6_U0" --dst-ip "$XP_IP6_T0" --rate 1000 --duration 3
wait_route ipv6-flowspec "$FLOW6" present 10 >/dev/null ||
    xp_fail "the IPv6 FlowSpec rule never reached the peer ($(gobgp global rib -a ipv6-flowspec -j | jq -c 'keys? // .'))"
seen=$(peer_ms 2001:2::/64 "$XP_IP6_T0/128" add "$t_phase") || xp_fail "gobgp's monitor did not see the IPv6 rule"
blk=$(event_ms block 2001:2:: "$XP_IP6_T0" first)
[ -n "$blk" ] || xp_fail "no block event for 2001:2:: -> $XP_IP6_T0"
d6_up=$((seen - blk))
xp_check "IPv6 FlowSpec 2001:2::/64 -> $XP_IP6_T0/128 at the peer ${d6_up} ms after the block event (<= $BOUND_MS)" within "$d6_up"
wait_route ipv6-flowspec "$FLOW6" absent 15 >/dev/null || xp_fail "the IPv6 FlowSpec rule was never withdrawn"
gone=$(peer_ms 2001:2::/64 "$XP_IP6_T0/128" del "$seen") || xp_fail "gobgp's monitor did not see the IPv6 withdrawal"
unb=$(event_ms unblock 2001:2:: "$XP_IP6_T0" last)
[ -n "$unb" ] || xp_fail "the IPv6 rule went away without an unblock event"
d6_down=$((gone - unb))
xp_check "IPv6 FlowSpec withdrawn ${d6_down} ms after the unblock event (not before it, <= $BOUND_MS)" within "$d6_down"
xp_wait_pid "$s6" 10 || true

# ---- 2. a destination block: one RTBH route for five pairs -----------------------------------
t_phase=$(now_ms)
gen s2 flood2 --src-ip 198.18.0.10 --units 5 --dst-ip "$VICTIM" --rate 2000 --duration 5
wait_route ipv4 "$VICTIM/32" present 10 >/dev/null || xp_fail "the RTBH route for $VICTIM never reached the peer"
# the peer's RIB while the five pairs are blocked (they are, until the flood ends)
xp_wait_for 3 blocks_to "$VICTIM" 5 || true
gobgp global rib -a ipv4 -j >"$XP_TMP/rib2.json"
seen=$(peer_ms "" "$VICTIM/32" add "$t_phase") || xp_fail "gobgp's monitor did not see the RTBH route"
blk=$(event_ms block "" "$VICTIM" first)
[ -n "$blk" ] || xp_fail "no block event towards $VICTIM"
d_rtbh_up=$((seen - blk))
nblk=$(jq -s --arg d "$VICTIM" '[.[] | select(.event == "block" and .dst == $d and .reason == "dst_rate")] | length' "$events")
xp_check "pairs towards $VICTIM blocked by the destination test ($nblk dst_rate blocks > 1)" test "$nblk" -gt 1
xp_check "RTBH $VICTIM/32 at the peer ${d_rtbh_up} ms after the first block event (<= $BOUND_MS)" within "$d_rtbh_up"
xp_check "one route for $nblk blocked pairs (ipv4 RIB: $(jq -c 'keys' "$XP_TMP/rib2.json"))" \
    test "$(jq 'keys | length' "$XP_TMP/rib2.json")" = 1
xp_check "it carries the BLACKHOLE community 65535:666" \
    test "$(jq --arg k "$VICTIM/32" '[.[$k][0].attrs[] | select(.type == 8) | .communities[]] | index(4294902426) != null' "$XP_TMP/rib2.json")" = true
wait_route ipv4 "$VICTIM/32" absent 15 >/dev/null || xp_fail "the RTBH route was never withdrawn"
gone=$(peer_ms "" "$VICTIM/32" del "$seen") || xp_fail "gobgp's monitor did not see the RTBH withdrawal"
unb=$(event_ms unblock "" "$VICTIM" last)
[ -n "$unb" ] || xp_fail "the RTBH route went away without an unblock event"
nunb=$(jq -s --arg d "$VICTIM" '[.[] | select(.event == "unblock" and .dst == $d)] | length' "$events")
xp_check "every blocked pair was unblocked ($nunb of $nblk)" test "$nunb" = "$nblk"
d_rtbh_down=$((gone - unb))
xp_check "RTBH withdrawn ${d_rtbh_down} ms after the last unblock event (not before it, <= $BOUND_MS)" within "$d_rtbh_down"
xp_wait_pid "$s2" 10 || true

# ---- 3. the cap: six pair blocks, three routes ----------------------------------------------
gen s3 flood3 --src-ip 198.18.0.20 --units 6 --dst-ip "$CAPDST" --rate 6000 --duration 3
xp_wait_for 10 blocks_to "$CAPDST" 6 ||
    xp_fail "six pairs towards $CAPDST were not blocked"
sleep 1.2 # the stats file is rewritten every second
held=$(count_flows "$CAPDST")
xp_check "the peer holds --max-routes 3 FlowSpec rules towards $CAPDST, no more ($held)" test "$held" = 3
xp_check "xpro-announce counts the other 3 as capped (routes_capped $(announce_stat .routes.routes_capped), capped $(announce_stat .routes.capped))" \
    test "$(announce_stat .routes.routes_capped)" = 3 -a "$(announce_stat .routes.capped)" -ge 3
xp_wait_pid "$s3" 10 || true
no_flows_to() { [ "$(count_flows "$1")" = 0 ]; }
xp_wait_for 15 no_flows_to "$CAPDST" || xp_fail "the capped phase's rules were not withdrawn"
xp_pass "every rule withdrawn after the unblocks"

# ---- 4. the notify hook ---------------------------------------------------------------------
# the stats file is rewritten every second: wait until it has seen every event
n_events() { jq -s '[.[] | select(.event == "block" or .event == "unblock")] | length' "$events"; }
notify_done() {
    [ "$(announce_stat .notify.running)" = 0 ] &&
        [ "$(n_events)" = "$(( $(announce_stat .notify.started) + $(announce_stat .notify.dropped) ))" ]
}
xp_wait_for 5 notify_done || true
xp_check "notify: the block of $UNIT ran the script with its arguments and environment" \
    grep -q "^block $UNIT $TARGET unit_rate env=block/$UNIT/$TARGET/unit_rate stdin={\"event\":\"block\"" "$XP_TMP/notify.log"
# an unblock names the reason of the block it ends (unit_rate, expired, ...) or "-" without one
xp_check "notify: and its unblock" grep -Eq "^unblock $UNIT $TARGET [a-z_-]+ env=unblock/" "$XP_TMP/notify.log"
xp_check "notify: a run per event (block + unblock events $(n_events), runs $(announce_stat .notify.started), dropped $(announce_stat .notify.dropped))" \
    notify_done
xp_check "notify: one line per run in the script's log ($(grep -c . "$XP_TMP/notify.log"))" \
    test "$(grep -c . "$XP_TMP/notify.log")" = "$(n_events)"
xp_check "notify: the hanging run was killed at its timeout (killed $(announce_stat .notify.killed))" \
    test "$(announce_stat .notify.killed)" = 1
hang=$(cat "$XP_TMP/hang.pid" 2>/dev/null || echo 0)
xp_check "notify: and the process it started went with it" bash -c "! kill -0 $hang 2>/dev/null"
xp_check "ExaBGP refused no command (errors $(announce_stat .exabgp.error), done $(announce_stat .exabgp.done))" \
    test "$(announce_stat .exabgp.error)" = 0 -a "$(announce_stat .exabgp.done)" -gt 0

echo "event -> route at the peer (ms): FlowSpec announce $d_flow_up, withdraw $d_flow_down; IPv6 FlowSpec announce $d6_up, withdraw $d6_down; RTBH announce $d_rtbh_up, withdraw $d_rtbh_down; event age at xpro-announce max $(announce_stat .event_delay.max_ms | cut -c1-6) ms"

# ---- 5. the proxy restarts under a block: withdrawn, then announced again ------------------
gen s5 flood5 --src-ip "$UNIT" --dst-ip "$TARGET" --rate 1000 --duration 12
wait_route ipv4-flowspec "$FLOW1" present 10 >/dev/null || xp_fail "phase 5: no FlowSpec rule"
t_stop=$(now_ms)
xp_kill "$ppid" TERM
xp_wait_pid "$ppid" 15 || xp_fail "proxy still running after SIGTERM"
xp_check "the proxy exits 0" test "$XP_RC" = 0
wait_route ipv4-flowspec "$FLOW1" absent 5 >/dev/null ||
    xp_fail "the rule stayed announced with its proxy gone (nothing would ever withdraw it)"
gone=$(peer_ms "$UNIT/32" "$TARGET/32" del "$t_stop") || xp_fail "gobgp's monitor did not see the withdrawal"
xp_pass "proxy stopped: the rule withdrawn $((gone - t_stop)) ms after its SIGTERM (the stream was lost)"
xp_kill "$s5" INT
: >"$events"
xp_proxy_start ppid proxy2 "$XP_TMP/proxy.json"
xp_proxy_wait_stats proxy2 1 30 || xp_fail "the proxy did not restart: $(tail -5 "$XP_TMP/proxy2.err")"
reconnected() { [ "$(announce_stat .connects)" -ge 2 ]; }
xp_wait_for 5 reconnected || xp_fail "xpro-announce did not follow the restarted proxy"
# Blocks still running when the stream came back are not known (the proxy has no op that lists
# them: docs/upstream.md "Reconnecting"); the next block is announced as any.
t_phase=$(now_ms)
gen s5 flood5b --src-ip "$UNIT" --dst-ip "$TARGET" --rate 1000 --duration 3
wait_route ipv4-flowspec "$FLOW1" present 15 >/dev/null || xp_fail "no rule for a block after the restart"
back=$(peer_ms "$UNIT/32" "$TARGET/32" add "$t_phase") || xp_fail "gobgp's monitor did not see the rule come back"
blk=$(event_ms block "$UNIT" "$TARGET" first)
xp_check "after the restart: reconnected (connects $(announce_stat .connects)), the new block announced $((back - blk)) ms after its event" \
    within "$((back - blk))"
xp_wait_pid "$s5" 10 || true
wait_route ipv4-flowspec "$FLOW1" absent 15 >/dev/null || xp_fail "the rule was not withdrawn after the restart's block"

# ---- 6. xpro-announce restarts under a running block: the resync learns it ------------------
# Its block renews silently (no event), so only the flows op tells the new instance about it.
announce_pid() { ps -o pid=,comm= --ppid "$epid" | awk '$2 == "xpro-announce" { print $1 }'; }
gen s6 flood6b --src-ip "$UNIT" --dst-ip "$TARGET" --rate 1000 --duration 10
wait_route ipv4-flowspec "$FLOW1" present 10 >/dev/null || xp_fail "phase 6: no FlowSpec rule"
nblk=$(jq -s '[.[] | select(.event == "block")] | length' "$events")
old_pid=$(announce_pid)
[ -n "$old_pid" ] || xp_fail "no xpro-announce under ExaBGP ($epid)"
kill -KILL "$old_pid"
new_instance() { local p; p=$(announce_pid); [ -n "$p" ] && [ "$p" != "$old_pid" ]; }
xp_wait_for 15 new_instance || xp_fail "ExaBGP did not respawn xpro-announce: $(tail -3 "$XP_TMP/exabgp.out")"
seeded() { [ "$(jq -r '.routes.seeded // 0' "$XP_TMP/announce.json" 2>/dev/null)" -ge 1 ]; }
xp_wait_for 5 seeded || xp_fail "the new xpro-announce learnt no running block ($(jq -c '{connects, resyncs, resync_errors, routes}' "$XP_TMP/announce.json"))"
xp_check "the respawned xpro-announce announced the running block (announced $(announce_stat .routes.announced), seeded $(announce_stat .routes.seeded))" \
    test "$(announce_stat .routes.announced)" -ge 1
wait_route ipv4-flowspec "$FLOW1" present 5 >/dev/null || xp_fail "the peer does not hold the rule after the respawn"
xp_check "with no new block event (renewals are silent: $nblk -> $(jq -s '[.[] | select(.event == "block")] | length' "$events"))" \
    test "$(jq -s '[.[] | select(.event == "block")] | length' "$events")" = "$nblk"
xp_wait_pid "$s6" 15 || true
t_end=$(now_ms)
wait_route ipv4-flowspec "$FLOW1" absent 15 >/dev/null || xp_fail "the learnt block's rule was never withdrawn"
unb=$(event_ms unblock "$UNIT" "$TARGET" last)
gone=$(peer_ms "$UNIT/32" "$TARGET/32" del "$t_end") || xp_fail "gobgp's monitor did not see the withdrawal"
xp_check "its unblock event withdrew it $((gone - unb)) ms later (unknown unblocks: $(announce_stat .routes.unblock_unknown))" \
    test "$(announce_stat .routes.unblock_unknown)" = 0 -a "$((gone - unb))" -ge 0 -a "$((gone - unb))" -le "$BOUND_MS"

xp_kill "$ppid" TERM
xp_wait_pid "$ppid" 15 || xp_fail "proxy still running after SIGTERM"
xp_pass "test_bgp"
