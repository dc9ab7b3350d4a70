#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Drop provenance (issue 20, docs/operators.md "Why a pair is dropped"), against a real
# proxy under traffic:
#  - a unit over T_F1: its block event carries the evidence of the verdict (the pair's
#    window and rate over T_F1, the destination's aggregate, the thresholds, the policy),
#    and the numbers are self-consistent (rate = c / (ts2 - ts1), the verdict at ts2);
#  - xpro-ctl why on that pair: drop_unit_rate, blocked, the same window as the event's
#    evidence (same ts1, later or equal ts2 and c: XDP's drops still count into it);
#  - two units that overload one destination together: drop_dst_rate, the destination's
#    rate over T_F2 while the pair's own is under T_F1, in the event and in why;
#  - a quiet pair is forward, an unknown pair is not tracked, a bad address is refused;
#  - once traffic stops, why and flows read the same pair state (the policer's, read on
#    its worker): the same c and window;
#  - two proxies synced through xpro-central, one unit behind each, a destination over T_F2
#    only together: why and the block event on one proxy show the other proxy's pair in the
#    aggregate (remote_pairs 1, at least 2 proxies), known only from the central node; the
#    central node (xpro-ctl --central ... why) lists the rows towards the victim by proxy.
# (jq reads numbers as doubles: the ns times lose their last bits, so rates are compared to
# within 1 pps; equal times stay equal.)
set -euo pipefail
# shellcheck source=tests/netns/lib.sh
source "$(dirname "$0")/lib.sh"

CTL=${XP_CTL:-$XPRO_BUILD/src/xpro-ctl}
D1=198.18.0.201 D2=198.18.0.202 D3=198.18.0.203
U_FLOOD=198.18.0.2 U_B=198.18.0.3 U_C=198.18.0.4 U_Q=198.18.0.6
T_F1=1000 T_F2=1200

ppid=
xp_init
xp_require_all
[ -x "$CTL" ] || xp_fail "xpro-ctl not built: $CTL"
xp_topo_inline 1

conf="$XP_TMP/proxy.json"
sock="$XP_TMP/ctl.sock"
# T_T3 1.5 s so that the flooder meets the unit test first; no shrink during the test
# (T_T4 20 s), blocks that outlast a query (5 s).
cat >"$conf" <<JSON
{
  $(xp_conf_inline_base),
  "ctl_socket": "$sock",
  "stats_interval_ms": 1000,
  "policer": { "unit_prefixes": ["198.18.0.0/24"], "t_f1_pps": $T_F1, "t_f2_pps": $T_F2,
               "t_t3_ms": 1500, "t_t4_ms": 20000, "block_ms": 5000 }
}
JSON
ctl() { ip netns exec "$XP_NS_PROXY" "$CTL" --socket "$sock" "$@"; }
# send NAME SRC DST RATE: SRC to DST for 30 s (stopped earlier by the test).
SENDERS=()
send() {
    local _pid
    xp_send_bg _pid "$1" "$XP_NS_UNIT" u0 --count 0 --rate "$4" --duration 30 \
        --src-mac "$XP_MAC_U0" --dst-mac "$XP_MAC_T0" --src-ip "$2" --dst-ip "$3"
    SENDERS+=("$_pid")
}

xp_proxy_start ppid proxy "$conf"
xp_proxy_wait_stats proxy 1 20 || xp_fail "proxy did not start: $(tail -5 "$XP_TMP/proxy.err")"
send flood "$U_FLOOD" "$D1" 3000
# 2 x 700 pps: over T_F2 together, each 30 % under T_F1 (a loaded sender catches up in bursts)
send b "$U_B" "$D2" 700
send c "$U_C" "$D2" 700
send quiet "$U_Q" "$D3" 200
sleep 3

# ---- the unit test ----
ctl --json why "$U_FLOOD" "$D1" >"$XP_TMP/why-flood.json" || xp_fail "xpro-ctl why failed"
ctl --json events --last 1024 >"$XP_TMP/events.json" || xp_fail "xpro-ctl events failed"
xp_log "why $U_FLOOD -> $D1: $(jq -c . "$XP_TMP/why-flood.json")"
w() { jq -r "$1" "$XP_TMP/why-flood.json"; }
xp_check "why: $U_FLOOD -> $D1 is drop_unit_rate ($(w .verdict))" test "$(w .verdict)" = drop_unit_rate
xp_check "why: it is blocked for the unit test ($(w .blocked) $(w .block.reason))" \
    test "$(w .blocked) $(w .block.reason)" = "true unit_rate"
xp_check "why: the block ends in the future, within block_ms ($(w .block.seconds_left) s)" \
    test "$(w '.block.seconds_left > 0 and .block.seconds_left <= 5 and .block.until > now')" = true
xp_check "why: the pair's rate $(w .evidence.pair.rate_pps) pps is over T_F1 $T_F1" \
    test "$(w .evidence.pair.rate_pps)" -gt "$T_F1"
xp_check "why: its window $(w .evidence.pair.window_s) s is over T_T2 (1 s)" \
    test "$(w '.evidence.pair.window_s > 1')" = true
xp_check "why: rate = c / (ts2 - ts1) ($(w .evidence.pair.c) / $(w '.evidence.pair.ts2 - .evidence.pair.ts1') ns)" \
    test "$(w '(.evidence.pair.c * 1e9 / (.evidence.pair.ts2 - .evidence.pair.ts1) - .evidence.pair.rate_pps) | fabs < 1')" = true
xp_check "why: the thresholds in force ($(w '.evidence.thresholds | tojson'))" \
    test "$(w '.evidence.thresholds | "\(.t_f1_pps) \(.t_f2_pps) \(.t_t2_ms) \(.t_t3_ms)"')" = "$T_F1 $T_F2 1000 1500"
xp_check "why: policy drop_all, one proxy, no remote pair" \
    test "$(w '"\(.evidence.policy) \(.evidence.dst.proxies_min) \(.evidence.dst.remote_pairs)"')" = "drop_all 1 0"
xp_check "why: the destination holds the pair (c* $(w .evidence.dst.c) >= c $(w .evidence.pair.c))" \
    test "$(w '.evidence.dst.c >= .evidence.pair.c and .evidence.dst.ts1 <= .evidence.pair.ts1')" = true
xp_check "why: the because names T_F1 ($(w .because))" grep -q "> T_F1 $T_F1 pps" <<<"$(w .because)"

e() { jq -c "[.events[] | select(.event == \"block\" and .unit == \"$1\" and .dst == \"$2\")] | .[0] // empty" "$XP_TMP/events.json"; }
ev=$(e "$U_FLOOD" "$D1")
xp_log "block event: $ev"
[ -n "$ev" ] || xp_fail "no block event for $U_FLOOD -> $D1"
v() { jq -r "$1" <<<"$ev"; }
xp_check "event: reason unit_rate, evidence present" test "$(v .reason) $(v '.evidence | type')" = "unit_rate object"
xp_check "event: the pair's rate at the verdict $(v .evidence.pair.rate_pps) is over T_F1" \
    test "$(v .evidence.pair.rate_pps)" -gt "$T_F1"
xp_check "event: rate = c / (ts2 - ts1) at the verdict" \
    test "$(v '(.evidence.pair.c * 1e9 / (.evidence.pair.ts2 - .evidence.pair.ts1) - .evidence.pair.rate_pps) | fabs < 1')" = true
xp_check "event: the verdict was made at the pair's last packet (t = ts2)" \
    test "$(v .evidence.t)" = "$(v .evidence.pair.ts2)"
xp_check "event: the window was just over T_T2 at the verdict ($(v .evidence.pair.window_s) s)" \
    test "$(v '.evidence.pair.window_s > 1 and .evidence.pair.window_s < 1.5')" = true
xp_check "event: the destination aggregate holds the pair (c* $(v .evidence.dst.c) >= c $(v .evidence.pair.c))" \
    test "$(v '.evidence.dst.c >= .evidence.pair.c')" = true
xp_check "event: thresholds and policy" \
    test "$(v '"\(.evidence.thresholds.t_f1_pps) \(.evidence.policy)"')" = "$T_F1 drop_all"
# The same window: why's is the event's, grown by the packets since (XDP's drops count).
xp_check "why and the event: the same window (ts1 $(w .evidence.pair.ts1) = $(v .evidence.pair.ts1))" \
    test "$(w .evidence.pair.ts1)" = "$(v .evidence.pair.ts1)"
xp_check "why and the event: why's ts2 and c are the event's or later" \
    test "$(w .evidence.pair.ts2)" -ge "$(v .evidence.pair.ts2)" -a "$(w .evidence.pair.c)" -ge "$(v .evidence.pair.c)"

# ---- the destination test ----
ctl --json why "$U_B" "$D2" >"$XP_TMP/why-b.json" || xp_fail "xpro-ctl why failed"
xp_log "why $U_B -> $D2: $(jq -c . "$XP_TMP/why-b.json")"
b() { jq -r "$1" "$XP_TMP/why-b.json"; }
xp_check "why: $U_B -> $D2 is drop_dst_rate ($(b .verdict), blocked $(b .block.reason))" \
    test "$(b .verdict) $(b .block.reason)" = "drop_dst_rate dst_rate"
xp_check "why: the destination's rate $(b .evidence.dst.rate_pps) is over T_F2 $T_F2, the pair's $(b .evidence.pair.rate_pps) under T_F1" \
    test "$(b .evidence.dst.rate_pps)" -gt "$T_F2" -a "$(b .evidence.pair.rate_pps)" -le "$T_F1"
xp_check "why: rate* = c* / (ts2* - ts1*)" \
    test "$(b '(.evidence.dst.c * 1e9 / (.evidence.dst.ts2 - .evidence.dst.ts1) - .evidence.dst.rate_pps) | fabs < 1')" = true
xp_check "why: the because names T_F2 ($(b .because))" grep -q "> T_F2 $T_F2 pps" <<<"$(b .because)"
# the first dst_rate block of either unit (a sender's catch-up burst may first trip T_F1)
ev=$(jq -c "[.events[] | select(.event == \"block\" and .reason == \"dst_rate\" and .dst == \"$D2\")] | .[0] // empty" "$XP_TMP/events.json")
xp_log "dst block event: $ev"
xp_check "event: a dst_rate block with the destination over T_F2 ($(v .evidence.dst.rate_pps)) and the pair under T_F1" \
    test "$(v '.reason == "dst_rate" and .evidence.dst.rate_pps > '"$T_F2"' and .evidence.pair.rate_pps <= '"$T_F1")" = true
xp_check "event: the destination's window was over T_T3 at the verdict ($(v .evidence.dst.window_s) s)" \
    test "$(v '.evidence.dst.window_s > 1.5')" = true

# ---- forward, unknown, refused ----
q=$(ctl --json why "$U_Q" "$D3")
xp_check "why: the quiet pair is forward, not blocked ($(jq -c '[.verdict, .blocked, .evidence.pair.rate_pps]' <<<"$q"))" \
    test "$(jq -r '"\(.verdict) \(.blocked) \(.tracked)"' <<<"$q")" = "forward false true"
u=$(ctl --json why 198.18.0.77 "$D3")
xp_check "why: an unknown pair is not tracked, its destination still shown" \
    test "$(jq -r '"\(.tracked) \(.verdict) \(.evidence.pair) \(.evidence.dst.c > 0)"' <<<"$u")" = "false forward null true"
xp_check "why: a bad address is refused" \
    bash -c "! ip netns exec '$XP_NS_PROXY' '$CTL' --socket '$sock' why 198.18.0 '$D1' 2>/dev/null"
xp_check "why: DST is required" \
    bash -c "! ip netns exec '$XP_NS_PROXY' '$CTL' --socket '$sock' why '$U_FLOOD' 2>/dev/null"
ctl why "$U_FLOOD" "$D1" >"$XP_TMP/why.txt" || xp_fail "xpro-ctl why (table) failed"
cat "$XP_TMP/why.txt" >&2
# (the block itself was checked above: by now, ~5 s in, it may have ended and be renewed)
xp_check "the why table names the verdict and the numbers" \
    bash -c "grep -q '^$U_FLOOD -> $D1: drop_unit_rate' '$XP_TMP/why.txt' && grep -q '^pair ' '$XP_TMP/why.txt' && grep -q '^thresholds   T_F1 $T_F1 pps' '$XP_TMP/why.txt'"
xp_check "events prints a block's two rates" \
    bash -c "ip netns exec '$XP_NS_PROXY' '$CTL' --socket '$sock' events --last 1024 | grep -q 'block .*pair_rate_pps=[0-9]'"

# ---- why reads the policer's state: with traffic stopped, flows and why agree exactly ----
for p in "${SENDERS[@]}"; do xp_kill "$p" INT; done
sleep 0.5 # the last XDP drops accounted (a tick is 100 ms)
ctl --json why "$U_FLOOD" "$D1" >"$XP_TMP/why-after.json"
ctl --json flows --top 100 >"$XP_TMP/flows.json"
fc=$(jq -r --arg u "$U_FLOOD" --arg d "$D1" '.flows[] | select(.unit == $u and .dst == $d) | "\(.count) \(.window_s)"' "$XP_TMP/flows.json")
wc=$(jq -r '"\(.evidence.pair.c) \(.evidence.pair.window_s)"' "$XP_TMP/why-after.json")
xp_check "stopped: why and flows read the same pair state (c, window: $wc / $fc)" test "$wc" = "$fc"

xp_kill "$ppid" TERM
xp_wait_pid "$ppid" 15 || xp_fail "proxy still running after SIGTERM"
xp_check "the proxy exits 0" test "$XP_RC" = 0
xp_topo_destroy

# ---- two proxies and xpro-central: a destination over T_F2 that neither sees alone ----
# (as test_sync.sh: one unit behind each proxy at 3000 pps to one victim, T_F2 4000 pps)
[ -x "$XP_CENTRAL" ] || xp_fail "xpro-central not built: $XP_CENTRAL"
SECRET1=6b1f0e2d9c3a4b5f8e7d6c5b4a392817
SECRET2=0f1e2d3c4b5a69788796a5b4c3d2e1f0
SECRET_OPS=a0b1c2d3e4f5061728394a5b6c7d8e9f
VICTIM=198.18.0.254
# NS_C with the sync bridge; unit, proxy and target 1 and 2 (lib.sh)
xp_two_proxies_topology "$VICTIM"
cat >"$XP_TMP/central.json" <<JSON
{
  "listen": "198.18.255.1", "port": 7420,
  "state_file": "$XP_TMP/central.state", "persist_period_ms": 500,
  "merge": { "t_t1_ms": 1000, "t_t4_ms": 20000, "r": 2, "max_skew_ms": 1000 },
  "proxies": { "p1": "$SECRET1", "p2": "$SECRET2" },
  "operators": { "ops": "$SECRET_OPS" }
}
JSON
cpid=
xp_central_start cpid central "$NS_C" "$XP_TMP/central.json"
xp_wait_for 10 xp_file_has "$XP_TMP/central.err" "listening" ||
    xp_fail "central did not start: $(cat "$XP_TMP/central.err")"
for i in 1 2; do
    p="NS_P$i" secret="SECRET$i"
    cat >"$XP_TMP/sp$i.json" <<JSON
{
  "proxy_id": "p$i",
  "ports": { "access": "xpa", "core": "xpc" },
  "ctl_socket": "$XP_TMP/p$i.sock",
  "sync": { "central": "198.18.255.1:7420", "secret": "${!secret}", "period_ms": 500 },
  "policer": { "unit_prefixes": ["198.18.0.0/24"], "t_f1_pps": 5000, "t_f2_pps": 4000,
               "t_t1_ms": 1000, "t_t3_ms": 1000, "t_t4_ms": 20000, "block_ms": 5000 }
}
JSON
    xp_bg "spid$i" "sp$i" ip netns exec "${!p}" sh -c "$XP_BPFFS_SH" xp \
        "$XPRO_BUILD/src/xpro-proxy" -c "$XP_TMP/sp$i.json" --stats-out -
done
xp_proxy_wait_stats sp1 1 20 || xp_fail "proxy p1 did not start: $(tail -5 "$XP_TMP/sp1.err")"
xp_proxy_wait_stats sp2 1 20 || xp_fail "proxy p2 did not start: $(tail -5 "$XP_TMP/sp2.err")"
synced() { [ "$(xp_proxy_last_stats "$1" | jq -r .sync.state)" = synced ]; }
xp_wait_for 10 synced sp1 || xp_fail "p1 never synced"
xp_wait_for 10 synced sp2 || xp_fail "p2 never synced"
for i in 1 2; do
    u="NS_U$i" t="NS_T$i"
    xp_send_bg "upid$i" "unit$i" "${!u}" u0 --count 0 --rate 3000 --duration 20 \
        --src-mac "$(xp_mac "${!u}" u0)" --dst-mac "$(xp_mac "${!t}" t0)" \
        --src-ip "198.18.0.$i" --dst-ip "$VICTIM" --seed "$i"
done
# pctl I ARGS...: xpro-ctl against proxy pI
pctl() { local p="NS_P$1" n=$1; shift; ip netns exec "${!p}" "$CTL" --socket "$XP_TMP/p$n.sock" "$@"; }
dst_blocked() { [ "$(pctl 1 --json why 198.18.0.1 "$VICTIM" | jq -r .verdict)" = drop_dst_rate ]; }
xp_wait_for 10 dst_blocked || xp_fail "p1 never dropped for the destination: $(pctl 1 --json why 198.18.0.1 "$VICTIM")"
pctl 1 --json why 198.18.0.1 "$VICTIM" >"$XP_TMP/why-p1.json"
pctl 1 --json why 198.18.0.2 "$VICTIM" >"$XP_TMP/why-p1-remote.json"
pctl 1 --json events --last 1024 >"$XP_TMP/events-p1.json"
xp_log "p1 why 198.18.0.1: $(jq -c . "$XP_TMP/why-p1.json")"
xp_log "p1 why 198.18.0.2 (p2's unit): $(jq -c . "$XP_TMP/why-p1-remote.json")"
s() { jq -r "$1" "$XP_TMP/why-p1.json"; }
xp_check "two proxies: p1's unit is drop_dst_rate ($(s .verdict)), its own rate $(s .evidence.pair.rate_pps) under T_F2 4000" \
    test "$(s .verdict)" = drop_dst_rate -a "$(s .evidence.pair.rate_pps)" -lt 4000
xp_check "two proxies: the destination's rate $(s .evidence.dst.rate_pps) is over T_F2 4000 (both units)" \
    test "$(s .evidence.dst.rate_pps)" -gt 4000
xp_check "two proxies: p2's pair is in p1's aggregate, known only from the central (remote_pairs $(s .evidence.dst.remote_pairs), proxies_min $(s .evidence.dst.proxies_min))" \
    test "$(s .evidence.dst.remote_pairs) $(s .evidence.dst.proxies_min)" = "1 2"
xp_check "two proxies: c* $(s .evidence.dst.c) is more than p1's own pair's c $(s .evidence.pair.c)" \
    test "$(s '.evidence.dst.c > .evidence.pair.c')" = true
xp_check "two proxies: why names the central node" test "$(s .central)" = 198.18.255.1:7420
r() { jq -r "$1" "$XP_TMP/why-p1-remote.json"; }
xp_check "two proxies: p1 holds p2's unit's pair with nothing counted locally (tracked $(r .tracked), local $(r .evidence.pair.local))" \
    test "$(r .tracked) $(r .evidence.pair.local)" = "true 0"
ev=$(jq -c '[.events[] | select(.event == "block" and .reason == "dst_rate" and .unit == "198.18.0.1")] | .[0] // empty' "$XP_TMP/events-p1.json")
xp_log "p1 dst block event: $ev"
[ -n "$ev" ] || xp_fail "no dst_rate block event on p1"
xp_check "two proxies: p1's block event names the remote pair and two proxies ($(v '.evidence.dst | tojson'))" \
    test "$(v '"\(.evidence.dst.remote_pairs) \(.evidence.dst.proxies_min) \(.evidence.dst.rate_pps > 4000) \(.evidence.pair.rate_pps < 4000)"')" = "1 2 true true"
# The central node's side: the pair's row and the rows towards the victim by proxy.
# (as an operator: a proxy's id would replace that proxy's session)
echo "$SECRET_OPS" >"$XP_TMP/ops.secret"
cwhy() { ip netns exec "$NS_P1" "$CTL" --central 198.18.255.1:7420 --id ops \
             --secret-file "$XP_TMP/ops.secret" "$@"; }
cwhy --json why 198.18.0.1 "$VICTIM" >"$XP_TMP/central-why.json" || xp_fail "xpro-ctl --central why failed"
xp_log "central why: $(jq -c . "$XP_TMP/central-why.json")"
cw() { jq -r "$1" "$XP_TMP/central-why.json"; }
xp_check "central: the pair's row was last written by p1 ($(cw .pair.proxy), c $(cw .pair.c))" \
    test "$(cw '"\(.pair.proxy) \(.pair.active) \(.pair.c > 0)"')" = "p1 true true"
xp_check "central: one active row towards the victim from each proxy ($(cw '[.proxies[] | "\(.proxy):\(.pairs)"] | sort | join(" ")'))" \
    test "$(cw '[.proxies[] | "\(.proxy):\(.pairs)"] | sort | join(" ")')" = "p1:1 p2:1"
xp_check "central: the rows sum to what the proxies see (c* $(cw .dst_rows.c) >= p1's c $(cw .pair.c))" \
    test "$(cw '.dst_rows.pairs == 2 and .dst_rows.c > .pair.c')" = true
cwhy why 198.18.0.1 "$VICTIM" >"$XP_TMP/central-why.txt" || xp_fail "xpro-ctl --central why (table) failed"
cat "$XP_TMP/central-why.txt" >&2
xp_check "central: the table lists both proxies" \
    bash -c "grep -q '^p1 ' '$XP_TMP/central-why.txt' && grep -q '^p2 ' '$XP_TMP/central-why.txt' && grep -q 'last written by p1' '$XP_TMP/central-why.txt'"
xp_check "central: flows is the proxy's, not served there" bash -c "! ip netns exec '$NS_P1' '$CTL' --central 198.18.255.1:7420 --id ops --secret-file '$XP_TMP/ops.secret' flows 2>/dev/null"
for i in 1 2; do
    pid="upid$i"; xp_kill "${!pid}" INT
    pid="spid$i"; xp_kill "${!pid}" TERM
done
xp_kill "$cpid" TERM
xp_pass "test_why"
