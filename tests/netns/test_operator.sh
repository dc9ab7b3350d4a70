#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Operators against a running proxy under traffic: xpro-ctl stats and flows answer from the
# control socket; an operator block of a unit stops it in XDP (drop_manual) and an unblock
# lets it through again; the Prometheus endpoint reports the same counters as the stats
# document, passes promtool's lint and matches the metric table; xpro-ctl reload refuses a
# broken file and keeps the running configuration.
set -euo pipefail
# shellcheck source=tests/netns/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=tests/netns/prom.sh
source "$(dirname "$0")/prom.sh"

CTL=${XP_CTL:-$XPRO_BUILD/src/xpro-ctl}
UNIT=198.18.0.2
PROM_PORT=9464

xp_init
xp_require_all
xp_prom_require
[ -x "$CTL" ] || xp_fail "xpro-ctl not built: $CTL"
xp_topo_inline 1

conf="$XP_TMP/proxy.json"
sock="$XP_TMP/ctl.sock"
cat >"$conf" <<JSON
{
  $(xp_conf_inline_base),
  "ctl_socket": "$sock",
  "prometheus": "127.0.0.1:$PROM_PORT",
  "stats_interval_ms": 500,
  "policer": { "unit_prefixes": ["198.18.0.0/24"] }
}
JSON
xp_proxy_start ppid proxy "$conf"
xp_proxy_wait_stats proxy 1 20 || xp_fail "proxy did not start: $(tail -5 "$XP_TMP/proxy.err")"
ctl() { ip netns exec "$XP_NS_PROXY" "$CTL" --socket "$sock" "$@"; }

xp_recv_start rx rx "$XP_NS_TARGET" t0 --count-only --duration 40
xp_send_bg sp unit "$XP_NS_UNIT" u0 --count 0 --rate 2000 --duration 30 --src-mac "$XP_MAC_U0" \
    --dst-mac "$XP_MAC_T0" --src-ip "$UNIT" --dst-ip "$XP_IP_T0"
sleep 1.5

ctl --json stats >"$XP_TMP/stats.json" || xp_fail "xpro-ctl stats failed"
xp_check "xpro-ctl stats: the document names this proxy" \
    test "$(jq -r .proxy_id "$XP_TMP/stats.json")" = "$XP_PREFIX"
# The document against its documented schema (docs/stats.md): every path with its type,
# and no top-level key that the document does not describe.
schema="$XPRO_SRC/docs/stats.md"
sed -n '/^```schema$/,/^```$/p' "$schema" | grep -v '^```\|^#' >"$XP_TMP/schema.txt"
[ -s "$XP_TMP/schema.txt" ] || xp_fail "no schema block in $schema"
bad=0
while read -r path type _; do
    filter=".$(sed 's/\.\[\]/[]/g' <<<"$path")"
    got=$(jq -r "[$filter | type] | unique | join(\",\")" "$XP_TMP/stats.json" 2>/dev/null || echo error)
    if [ "$got" != "$type" ]; then
        xp_log "schema: $path: documented $type, document has '$got'"
        bad=$((bad + 1))
    fi
done <"$XP_TMP/schema.txt"
xp_check "the stats document matches docs/stats.md ($(wc -l <"$XP_TMP/schema.txt") paths, $bad wrong)" test "$bad" = 0
undocumented=$(jq -r 'keys[]' "$XP_TMP/stats.json" | while read -r k; do
    grep -q "^$k[ .]" "$XP_TMP/schema.txt" || echo "$k"; done)
xp_check "every top-level key is documented (undocumented: ${undocumented:-none})" test -z "$undocumented"
ctl --json flows --top 5 >"$XP_TMP/flows.json" || xp_fail "xpro-ctl flows failed"
xp_check "xpro-ctl flows lists $UNIT -> $XP_IP_T0 at about 2000 pps" \
    test "$(jq -r --arg u "$UNIT" '[.flows[] | select(.unit == $u and .rate_pps > 1500 and .rate_pps < 2500)] | length' "$XP_TMP/flows.json")" = 1

# Operator block: the unit's traffic stops, in XDP.
ctl block "$UNIT" >/dev/null || xp_fail "xpro-ctl block failed"
# ~2000 pps: over 1000 drops within a second or so; a loaded machine (other tests, the CI box)
# may starve the sender for a while, so look for up to 10 s.
manual_dropped() {
    manual=$(ctl --json stats --interval 0 | jq -r '.ports[] | select(.role == "access") | .xdp.drop_manual')
    [ "${manual:-0}" -gt 1000 ]
}
manual=0
xp_wait_for 10 manual_dropped || true
manual_dropped || true
xp_check "blocked unit dropped in XDP (drop_manual $manual > 1000)" test "$manual" -gt 1000
ctl unblock "$UNIT" >/dev/null || xp_fail "xpro-ctl unblock failed"
before=$(ctl --json stats | jq -r '.pipeline.policed')
sleep 1
after=$(ctl --json stats | jq -r '.pipeline.policed')
xp_check "after unblock the unit reaches the pipeline again ($before -> $after)" test "$after" -gt "$before"
xp_check "unblocking twice is an error" bash -c "! ip netns exec '$XP_NS_PROXY' '$CTL' --socket '$sock' unblock '$UNIT' 2>/dev/null"

# Prometheus carries the same counters as the stats document. Traffic has stopped, so the
# counters stand still and the last stats line and the endpoint must agree exactly.
xp_kill "$sp" INT  # traffic stops: the counters stand still
sleep 1.2
xp_prom_check "$XP_NS_PROXY" "$PROM_PORT" inline
metrics="$XP_TMP/metrics-inline.txt"
line=$(xp_proxy_last_stats proxy)
xp_prom_check_fields "$XP_TMP/proxy.out" inline
sum() { awk -v m="$1" -v f="${2:-}" 'index($1, m "{") == 1 && index($0, f) { s += $2 } END { print s + 0 }' "$metrics"; }
one() { awk -v m="$1" '$1 == m {print $2}' "$metrics"; }
for pair in "$(sum xpro_port_rx_packets_total) .totals.rx_packets" \
            "$(one xpro_pipeline_policed_packets_total) .pipeline.policed" \
            "$(one xpro_frames_capacity) .frames.total"; do
    got=${pair%% *} path=${pair#* }
    want=$(jq -r "$path" <<<"$line")
    xp_check "Prometheus $got, stats line $path = $want" test "$got" = "$want"
done
acc=$(sum xpro_xdp_dropped_packets_total 'role="access",reason="manual"')
xp_check "labelled port counters match too (access drops, reason manual: $acc)" \
    test "$acc" = "$(jq -r '.ports[] | select(.role == "access") | .xdp.drop_manual' <<<"$line")"
xp_check "xpro_build_info names this build" grep -q '^xpro_build_info{version="[^"]\+"} 1$' "$metrics"

# Reload through the socket: a broken file is refused, the proxy keeps running.
cp "$conf" "$XP_TMP/good.json"
echo '{ "ports": { "access": "xpa", "core": "xpc" }, "queues": "one" }' >"$conf"
if ctl reload >"$XP_TMP/reload.out" 2>&1; then
    xp_fail "a broken reload was accepted: $(cat "$XP_TMP/reload.out")"
fi
xp_check "the refusal names the key and its location" grep -q "queues" "$XP_TMP/reload.out"
cp "$XP_TMP/good.json" "$conf"
ctl reload >/dev/null || xp_fail "a good reload was refused"
kill -0 "$ppid" 2>/dev/null || xp_fail "the proxy died"

xp_kill "$rx" TERM
xp_kill "$ppid" TERM
xp_wait_pid "$ppid" 15 || xp_fail "proxy still running after SIGTERM"
xp_check "the proxy exits 0" test "$XP_RC" = 0
xp_check_conservation "$(xp_proxy_last_stats proxy)"
xp_pass "test_operator"
