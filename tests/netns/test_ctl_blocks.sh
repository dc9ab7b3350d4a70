#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# What operators see and keep, against a real proxy under traffic (docs/operators.md):
#  - xpro-ctl flows names every verdict: a unit over T_F1 (drop_unit_rate), two units that
#    overload one destination together (drop_dst_rate), an operator block (drop_manual),
#    pairs a full table refused (drop_table_full), and a quiet pair (forward);
#  - operator blocks carry who and why, are listed (xpro-ctl blocks), survive a restart of
#    the proxy (state_dir) and are enforced again; unblock and expiry emit events;
#  - xpro-ctl events --last N prints the N latest events and exits;
#  - the stats table's RX_PPS/TX_PPS columns show the queues' rates;
#  - scripts/demo.sh's ticker prints one row per second of the proxy's own stats;
#  - with "user", a missing state_dir is made for that account, an unwritable one refused.
set -euo pipefail
# shellcheck source=tests/netns/lib.sh
source "$(dirname "$0")/lib.sh"

CTL=${XP_CTL:-$XPRO_BUILD/src/xpro-ctl}
D1=198.18.0.201 D2=198.18.0.202 D3=198.18.0.203 D4=198.18.0.204 D5=198.18.0.205
U_FLOOD=198.18.0.2 U_B=198.18.0.3 U_C=198.18.0.4 U_OP=198.18.0.5 U_QUIET=198.18.0.6
U_TIMED=198.18.0.7

ppid=
xp_init
xp_require_all
[ -x "$CTL" ] || xp_fail "xpro-ctl not built: $CTL"
xp_topo_inline 1

conf="$XP_TMP/proxy.json"
sock="$XP_TMP/ctl.sock"
state="$XP_TMP/state"
# T_F1 5000 pps per pair, T_F2 2000 pps per destination (tested after 1.5 s, so that the
# flooder meets the unit test first); 64 pairs, refused beyond.
cat >"$conf" <<JSON
{
  $(xp_conf_inline_base),
  "ctl_socket": "$sock",
  "state_dir": "$state",
  "stats_interval_ms": 1000,
  "policer": { "unit_prefixes": ["198.18.0.0/24"], "t_f1_pps": 5000, "t_f2_pps": 2000,
               "t_t3_ms": 1500,
               "max_pairs": 64, "table_full": "refuse_drop" }
}
JSON
ctl() { ip netns exec "$XP_NS_PROXY" "$CTL" --socket "$sock" "$@"; }
start_proxy() {
    xp_proxy_start ppid "$1" "$conf"
    xp_proxy_wait_stats "$1" 1 20 || xp_fail "proxy did not start: $(tail -5 "$XP_TMP/$1.err")"
}
# send NAME SRC DST RATE [UNITS]: SRC (and UNITS-1 following addresses) to DST for 40 s.
send() {
    local _pid
    xp_send_bg _pid "$1" "$XP_NS_UNIT" u0 --count 0 --rate "$4" --duration 40 \
        --src-mac "$XP_MAC_U0" --dst-mac "$XP_MAC_T0" --src-ip "$2" --dst-ip "$3" \
        --units "${5:-1}"
    SENDERS+=("$_pid")
}
# verdict UNIT DST: the verdict flows gives the pair ("" when it is not listed).
verdict() {
    jq -r --arg u "$1" --arg d "$2" '.flows[] | select(.unit == $u and .dst == $d) | .verdict' \
        "$XP_TMP/flows.json"
}

start_proxy proxy
SENDERS=()
send flood "$U_FLOOD" "$D1" 8000
send b "$U_B" "$D2" 1500
send c "$U_C" "$D2" 1500
send op "$U_OP" "$D3" 500
send quiet "$U_QUIET" "$D4" 300
sleep 1

# An operator block, with who and why; a newline in the reason is made harmless.
ctl block "$U_OP" "$D3" --by alice --reason $'ticket 42\nsecond line' >/dev/null ||
    xp_fail "xpro-ctl block failed"
# A timed unit-wide block: it expires with an event.
ctl block "$U_TIMED" --for 2 --reason "short test" >/dev/null || xp_fail "timed block failed"
xp_check "a --reason over 200 bytes is refused" \
    bash -c "! ip netns exec '$XP_NS_PROXY' '$CTL' --socket '$sock' block 198.18.0.9 --reason '$(printf 'x%.0s' {1..201})' 2>/dev/null"
xp_check "a --by that is not a name is refused" \
    bash -c "! ip netns exec '$XP_NS_PROXY' '$CTL' --socket '$sock' block 198.18.0.9 --by 'a b' 2>/dev/null"
sleep 1.5
# Blocked in XDP, the pair sees no more packets: it stays listed until the table needs room.
ctl --json flows --top 100 >"$XP_TMP/flows.json" || xp_fail "xpro-ctl flows failed"
xp_check "flows: $U_OP -> $D3 under an operator block is drop_manual ($(verdict "$U_OP" "$D3"))" \
    test "$(verdict "$U_OP" "$D3")" = drop_manual
# Then 80 units towards D5: the table (64 pairs, 5 taken) refuses the rest.
send fill 198.18.0.100 "$D5" 1600 80
sleep 2.5

ctl --json flows --top 100 >"$XP_TMP/flows.json" || xp_fail "xpro-ctl flows failed"
xp_log "flows: $(jq -c '[.flows[] | {unit, dst, verdict, rate_pps: (.rate_pps | floor)}] | .[0:8]' "$XP_TMP/flows.json")"
xp_check "flows: $U_FLOOD -> $D1 over T_F1 is drop_unit_rate ($(verdict "$U_FLOOD" "$D1"))" \
    test "$(verdict "$U_FLOOD" "$D1")" = drop_unit_rate
xp_check "flows: $U_B -> $D2 (destination over T_F2) is drop_dst_rate ($(verdict "$U_B" "$D2"))" \
    test "$(verdict "$U_B" "$D2")" = drop_dst_rate
xp_check "flows: $U_C -> $D2 is drop_dst_rate ($(verdict "$U_C" "$D2"))" \
    test "$(verdict "$U_C" "$D2")" = drop_dst_rate
xp_check "flows: $U_QUIET -> $D4 is forward ($(verdict "$U_QUIET" "$D4"))" \
    test "$(verdict "$U_QUIET" "$D4")" = forward
refused=$(jq -r --arg d "$D5" '[.flows[] | select(.dst == $d and .verdict == "drop_table_full")] | length' "$XP_TMP/flows.json")
xp_check "flows: pairs the full table refused are drop_table_full ($refused of them)" \
    test "$refused" -ge 1
ctl flows --top 100 >"$XP_TMP/flows.txt"
xp_check "the flows table prints the verdicts" grep -q "drop_dst_rate" "$XP_TMP/flows.txt"

# The stats table: the queues' rates, from two samples a second apart.
ctl stats >"$XP_TMP/stats.txt" || xp_fail "xpro-ctl stats failed"
rx_pps=$(awk '$1 == "xpa" && $2 == "access" {print $6}' "$XP_TMP/stats.txt")
tx_pps=$(awk '$1 == "xpc" && $2 == "core" {print $8}' "$XP_TMP/stats.txt")
# (XDP drops the blocked pairs before the socket: the access queue sees about 2000 pps.)
xp_check "stats table: access RX_PPS $rx_pps > 1000 and core TX_PPS $tx_pps > 500" \
    test "${rx_pps:-0}" -gt 1000 -a "${tx_pps:-0}" -gt 500

# Events: the latest N, and each kind with its fields.
ctl --json events --last 1024 >"$XP_TMP/events.json" || xp_fail "xpro-ctl events --last failed"
xp_log "events: $(jq -r .total "$XP_TMP/events.json") in all; by kind: $(jq -c "[.events[] | \"\\(.event)/\\(.reason)\"] | group_by(.) | map({(.[0]): length}) | add" "$XP_TMP/events.json")"
ev() { jq -c "[.events[] | select($1)] | length" "$XP_TMP/events.json"; }
xp_check "an operator block event with by, uid and the cleaned reason" \
    test "$(ev ".event == \"block\" and .reason == \"operator\" and .by == \"alice\" and .uid == 0 and .why == \"ticket 42 second line\" and .unit == \"$U_OP\" and .dst == \"$D3\"")" = 1
xp_check "a unit-wide operator block names dst \"*\" and its expiry" \
    test "$(ev ".event == \"block\" and .unit == \"$U_TIMED\" and .dst == \"*\" and .by == \"root\" and (.expires > .since)")" = 1
xp_check "a dst_rate block event" test "$(ev '.event == "block" and .reason == "dst_rate"')" -ge 1
xp_check "a unit_rate block event" test "$(ev '.event == "block" and .reason == "unit_rate"')" -ge 1
xp_check "the timed block expired with an unblock event" \
    test "$(ev ".event == \"unblock\" and .reason == \"expired\" and .unit == \"$U_TIMED\"")" = 1
n=$(ctl events --last 3 | wc -l)
xp_check "events --last 3 prints 3 lines and exits ($n)" test "$n" = 3
xp_check "events --last 5000 is refused (at most 1024 are kept)" \
    bash -c "! ip netns exec '$XP_NS_PROXY' '$CTL' --socket '$sock' events --last 5000 2>/dev/null"

# The list of record, then a restart: the block is read back and enforced again.
ctl blocks >"$XP_TMP/blocks.txt"
xp_check "blocks lists $U_OP -> $D3 by alice with its reason" \
    grep -q "^$U_OP .*$D3 .*alice .*ticket 42 second line" "$XP_TMP/blocks.txt"
xp_check "the expired block is no longer listed" bash -c "! grep -q '^$U_TIMED ' '$XP_TMP/blocks.txt'"
xp_check "the state file holds the block" \
    test "$(jq -r '.blocks[] | select(.by == "alice") | .dst' "$state/$XP_PREFIX.blocks.json")" = "$D3"
mode=$(stat -c %a "$state/$XP_PREFIX.blocks.json")
xp_check "the state file is not readable by others (mode $mode)" test $((0$mode & 4)) = 0

xp_kill "$ppid" TERM
xp_wait_pid "$ppid" 15 || xp_fail "proxy still running after SIGTERM"
xp_check "the proxy exits 0" test "$XP_RC" = 0
start_proxy proxy2
xp_check "the restarted proxy applied the block again" \
    grep -q "operator blocks: 1 applied again" "$XP_TMP/proxy2.err"
ctl --json blocks >"$XP_TMP/blocks.json"
xp_check "after the restart blocks still lists it with who and why" \
    test "$(jq -r --arg u "$U_OP" '.blocks[] | select(.unit == $u) | "\(.by) \(.why)"' "$XP_TMP/blocks.json")" = "alice ticket 42 second line"
sleep 2
stats=$(xp_proxy_last_stats proxy2)
manual=$(jq -r '.ports[] | select(.role == "access") | .xdp.drop_manual' <<<"$stats")
xp_check "after the restart XDP drops the blocked pair again (drop_manual $manual > 400)" \
    test "$manual" -gt 400
ctl --json flows --top 100 >"$XP_TMP/flows.json"
xp_check "flows after the restart: $U_OP -> $D3 is drop_manual ($(verdict "$U_OP" "$D3"))" \
    test "$(verdict "$U_OP" "$D3" | sort -u)" = drop_manual -o -z "$(verdict "$U_OP" "$D3")"

ctl unblock "$U_OP" "$D3" --reason "ticket 42 closed" >/dev/null || xp_fail "unblock failed"
ctl --json events --last 10 >"$XP_TMP/last.json"
xp_log "unblock event: $(jq -c '.events[] | select(.reason == "operator")' "$XP_TMP/last.json")"
xp_check "unblock emits an event with who, why and the block it ends" \
    test "$(jq -r '.events[] | select(.event == "unblock" and .reason == "operator") | "\(.by) \(.why) \(.blocked_by)"' "$XP_TMP/last.json")" = "root ticket 42 closed alice"
# --follow --last N: the N latest first, then the stream (here: until timeout ends it).
timeout 2 ip netns exec "$XP_NS_PROXY" "$CTL" --socket "$sock" --json events --follow \
    --last 10 >"$XP_TMP/follow.jsonl" || true
xp_check "events --follow --last 10 starts with the latest events (the unblock among them)" \
    test "$(jq -c 'select(.event == "unblock" and .reason == "operator")' "$XP_TMP/follow.jsonl" | wc -l)" = 1
xp_check "the state file no longer holds it" \
    test "$(jq '.blocks | length' "$state/$XP_PREFIX.blocks.json")" = 0
before=$(jq -r '.pipeline.policed' <<<"$(ctl --json stats)")
sleep 1.5
after=$(jq -r '.pipeline.policed' <<<"$(ctl --json stats)")
xp_check "after the unblock the pair reaches the pipeline again ($before -> $after)" \
    test "$after" -gt "$before"

for p in "${SENDERS[@]}"; do xp_kill "$p" INT; done
xp_kill "$ppid" TERM
xp_wait_pid "$ppid" 15 || xp_fail "proxy still running after SIGTERM"
xp_check "the restarted proxy exits 0" test "$XP_RC" = 0

# The demo's per-second ticker over this proxy's recorded stats: one row per stats line,
# its seconds counting up by one (the lines are a second apart), none repeated or skipped.
"$XPRO_SRC/scripts/demo.sh" --replay "$XP_TMP/proxy2.out" >"$XP_TMP/ticker.txt" ||
    xp_fail "demo.sh --replay failed"
lines=$(grep -c '"totals"' "$XP_TMP/proxy2.out")
seconds=$(awk 'NR > 1 {printf "%s ", $1}' "$XP_TMP/ticker.txt")
want=$(seq -s ' ' 0 $((lines - 1)))
xp_check "the ticker prints seconds 0..$((lines - 1)) once each ($seconds)" \
    test "$seconds" = "$want "
# As the account xpro ("user"): the proxy creates a missing state_dir for it and writes
# the file after its privileges are gone; a state_dir it could not write stops the start.
getent passwd xpro >/dev/null || xp_fail "no account xpro (scripts/setup.sh creates it)"
user_conf() {
    cat >"$XP_TMP/user.json" <<JSON
{
  $(xp_conf_inline_base),
  "user": "xpro",
  "ctl_socket": "$sock",
  "state_dir": "$1",
  "policer": { "unit_prefixes": ["198.18.0.0/24"] }
}
JSON
    chgrp xpro "$XP_TMP/user.json"
    chmod 0640 "$XP_TMP/user.json"
}
user_conf "$XP_TMP/state-x"
xp_proxy_start ppid proxy3 "$XP_TMP/user.json"
xp_proxy_wait_stats proxy3 1 20 || xp_fail "proxy as xpro did not start: $(tail -5 "$XP_TMP/proxy3.err")"
xp_check "the missing state_dir was created for xpro ($(stat -c '%U %a' "$XP_TMP/state-x"))" \
    test "$(stat -c '%U %a' "$XP_TMP/state-x")" = "xpro 750"
saved=$(ctl --json block 198.18.0.9 --reason "as xpro" | jq -r .saved)
xp_check "a block is saved by the proxy running as xpro (saved: $saved)" test "$saved" = true
xp_check "its file belongs to xpro" \
    test "$(stat -c %U "$XP_TMP/state-x/$XP_PREFIX.blocks.json")" = xpro
xp_kill "$ppid" TERM
xp_wait_pid "$ppid" 15 || xp_fail "proxy as xpro still running after SIGTERM"
mkdir -m 0755 "$XP_TMP/state-root"
user_conf "$XP_TMP/state-root"
xp_proxy_start ppid proxy4 "$XP_TMP/user.json"
xp_wait_pid "$ppid" 20 || xp_fail "the proxy started with a state_dir xpro cannot write"
xp_check "a state_dir xpro cannot write stops the start (exit $XP_RC), saying why" \
    grep -q "not writable by user xpro" "$XP_TMP/proxy4.err"
xp_check "... with a failure exit code" test "$XP_RC" != 0

xp_pass "test_ctl_blocks"
