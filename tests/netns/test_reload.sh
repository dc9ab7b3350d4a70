#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Live reload under steady traffic (SIGHUP): lowering T_F1 bites within one second, a
# compliant unit loses nothing, the pair table survives; a broken file and a change of a
# key that cannot change live are refused and traffic goes on under the old settings.
#
# Unit A sends 3000 pps, unit B 1000 pps, T_F1 starts at 10000 pps (nobody is dropped);
# after the reload T_F1 is 2000 pps: A is over it, B is not.
set -euo pipefail
# shellcheck source=tests/netns/lib.sh
source "$(dirname "$0")/lib.sh"

A=198.18.0.2
B=198.18.0.3

xp_init_inline 1

conf="$XP_TMP/proxy.json"
write_conf() {
    cat >"$conf" <<JSON
{
  $(xp_conf_inline_base),
  "events_out": "$XP_TMP/events.jsonl",
  "stats_interval_ms": 250,
  "policer": { "unit_prefixes": ["198.18.0.0/24"], "t_f1_pps": $1, "t_f2_pps": 1000000$2 }
}
JSON
}
write_conf 10000 ""
xp_proxy_start ppid proxy "$conf"
xp_proxy_wait_stats proxy 1 20 || xp_fail "proxy did not start: $(tail -5 "$XP_TMP/proxy.err")"

gen() { echo --src-mac "$XP_MAC_U0" --dst-mac "$XP_MAC_T0" --dst-ip "$XP_IP_T0" "$@"; }
xp_recv_start rx rx "$XP_NS_TARGET" t0 --count-only --duration 14
# shellcheck disable=SC2046
xp_send_bg sa unit_a "$XP_NS_UNIT" u0 --count 0 --rate 3000 --duration 10 $(gen --src-ip "$A" --seed 1)
# shellcheck disable=SC2046
xp_send_bg sb unit_b "$XP_NS_UNIT" u0 --count 0 --rate 1000 --duration 10 $(gen --src-ip "$B" --seed 2)

sleep 2.5
xp_check "no drops before the reload" \
    test "$(xp_proxy_last_stats proxy | jq -r '.pipeline.drop_unit_rate')" = 0
pairs_before=$(xp_proxy_last_stats proxy | jq -r '.policer.inserts')

# Reload: T_F1 10000 -> 2000.
write_conf 2000 ""
reload_t=$(date +%s.%N)
ip netns exec "$XP_NS_PROXY" kill -HUP "$ppid" 2>/dev/null || kill -HUP "$ppid"
xp_wait_for 5 xp_file_has "$XP_TMP/proxy.err" "reloaded" || xp_fail "no reload: $(tail -3 "$XP_TMP/proxy.err")"
xp_wait_for 3 xp_file_has "$XP_TMP/events.jsonl" "\"event\":\"block\"" ||
    xp_fail "A was not blocked after the reload"
block_t=$(jq -r --arg u "$A" 'select(.event == "block" and .unit == $u) | .time' "$XP_TMP/events.jsonl" | head -n 1)
delay=$(echo "$block_t - $reload_t" | bc -l)
xp_check "the new T_F1 bites within 1 s (${delay}s)" test "$(echo "$delay < 1.0" | bc -l)" = 1

# A broken file is refused; the proxy keeps running with T_F1 = 2000.
echo '{ "ports": { "access": "xpa", "core": "xpc" }, "bogus": 1 }' >"$conf"
kill -HUP "$ppid"
xp_wait_for 5 xp_file_has "$XP_TMP/proxy.err" "reload refused.*bogus: unknown key" ||
    xp_fail "broken reload not refused: $(tail -3 "$XP_TMP/proxy.err")"
xp_pass "a broken configuration is refused with its location"
# A key that cannot change live is refused too.
write_conf 2000 ', "max_pairs": 4096'
kill -HUP "$ppid"
xp_wait_for 5 xp_file_has "$XP_TMP/proxy.err" "policer.max_pairs cannot change without a restart" ||
    xp_fail "immutable key change not refused: $(tail -3 "$XP_TMP/proxy.err")"
xp_pass "a change of policer.max_pairs is refused"

xp_wait_pid "$sa" 20 || xp_fail "sender A did not finish"
xp_wait_pid "$sb" 20 || xp_fail "sender B did not finish"
sleep 1
xp_kill "$rx" TERM
xp_wait_pid "$rx" 5 || true
kill -0 "$ppid" 2>/dev/null || xp_fail "the proxy died"
sleep 0.5
xp_kill "$ppid" TERM
xp_wait_pid "$ppid" 15 || xp_fail "proxy still running after SIGTERM"
final=$(xp_proxy_last_stats proxy)
xp_check_conservation "$final"

recv_b=$(jq -r --arg a "$B" 'select(.final) | .per_src[$a] // 0' "$XP_TMP/rx.out")
sent_b=$(jq -r .sent "$XP_TMP/unit_b.out")
xp_check "compliant unit B: $recv_b received == $sent_b sent" test "$recv_b" = "$sent_b"
recv_a=$(jq -r --arg a "$A" 'select(.final) | .per_src[$a] // 0' "$XP_TMP/rx.out")
sent_a=$(jq -r .sent "$XP_TMP/unit_a.out")
xp_check "unit A was cut after the reload ($recv_a of $sent_a)" test "$recv_a" -lt "$sent_a"
xp_check "the pair table survived (inserts $pairs_before -> $(jq -r .policer.inserts <<<"$final"))" \
    test "$(jq -r .policer.inserts <<<"$final")" = "$pairs_before"
xp_pass "test_reload"
