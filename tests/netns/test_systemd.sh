#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# What the systemd units rely on, without systemd: the two daemons run as the units run them
# (the central as the account xpro with no capability), with $NOTIFY_SOCKET and
# $WATCHDOG_USEC pointing at a datagram socket of ours (xp_dgram_sink), as systemd sets them.
#
#   - readiness: both send READY=1 and STATUS= lines, and WATCHDOG=1 again and again;
#   - the central's state file goes to a directory that does not exist yet (created 0700);
#   - SIGHUP to xpro-central (systemctl reload): it stays up, keeps M_DB and the proxy's
#     session (no reconnect, syncs go on), and a changed key takes effect (an operator id
#     added); a file that does not parse, or a key that cannot change live, is refused and
#     the running configuration stays;
#   - SIGHUP to xpro-proxy reopens --stats-out (log rotation): after the file is moved away
#     a new one fills up and the old one stops growing.
set -euo pipefail
# shellcheck source=tests/netns/lib.sh
source "$(dirname "$0")/lib.sh"

SECRET=6b1f0e2d9c3a4b5f8e7d6c5b4a392817
OPSECRET=00112233445566778899aabbccddeeff
SINK=$XPRO_BUILD/tests/tools/xp_dgram_sink

xp_init_inline 1
[ -x "$XP_CENTRAL" ] || xp_fail "xpro-central not built: $XP_CENTRAL"
[ -x "$SINK" ] || xp_fail "xp_dgram_sink not built: $SINK"
getent passwd xpro >/dev/null || xp_fail "no account xpro (scripts/setup.sh creates it)"

# The notify sockets: paths, since abstract names are per network namespace.
start_sink() {
    local var=$1 name=$2
    xp_bg "$var" "$name" "$SINK" "$XP_TMP/$name.sock" 200
    xp_wait_for 5 xp_file_has "$XP_TMP/$name.err" ready || xp_fail "$name did not start"
    chmod 0666 "$XP_TMP/$name.sock" # the central sends as xpro
}
start_sink spid_c notify-central
start_sink spid_p notify-proxy

# The central's directory: xpro's, empty; its state goes two levels below, not yet there.
D=$XP_TMP/central.d
install -d -m 0700 -o xpro -g xpro "$D"
write_central() { # FILE [EXTRA JSON MEMBERS]
    cat >"$1" <<JSON
{
  "listen": "127.0.0.1", "port": 7420,
  "state_file": "$D/lib/xpro/central.state", "persist_period_ms": 500, "stats_period_ms": 300,
  "merge": { "t_t1_ms": 1000, "t_t4_ms": 4000, "r": 2, "max_skew_ms": 1000 },
  "proxies": { "p1": "$SECRET" }${2:-}
}
JSON
    chown root:xpro "$1"
    chmod 0640 "$1"
}
write_central "$D/central.json"
xp_bg cpid central ip netns exec "$XP_NS_PROXY" env NOTIFY_SOCKET="$XP_TMP/notify-central.sock" \
    WATCHDOG_USEC=600000 setpriv --reuid=xpro --regid=xpro --clear-groups --inh-caps=-all \
    --ambient-caps=-all --bounding-set=-all --no-new-privs \
    "$XP_CENTRAL" -c "$D/central.json" --stats-out "$D/central.stats"
xp_wait_for 10 xp_file_has "$XP_TMP/notify-central.out" "READY=1" ||
    xp_fail "the central sent no READY=1: $(cat "$XP_TMP/central.err")"
xp_pass "xpro-central: READY=1 once listening"
xp_check "its state directory was created, 0700, by xpro" \
    test "$(stat -c '%a %U' "$D/lib" "$D/lib/xpro" | sort -u)" = "700 xpro"

cat >"$XP_TMP/proxy.json" <<JSON
{
  "proxy_id": "p1", "ports": { "access": "xpa", "core": "xpc" }, "cpus": $(xp_proxy_cpus),
  "user": "xpro", "ctl_socket": "$XP_TMP/p1.sock",
  "stats_interval_ms": 300,
  "sync": { "central": "127.0.0.1:7420", "secret": "$SECRET", "period_ms": 300 },
  "policer": { "unit_prefixes": ["198.18.0.0/24"], "t_f1_pps": 5000, "t_f2_pps": 4000 }
}
JSON
chown root:xpro "$XP_TMP/proxy.json"
chmod 0640 "$XP_TMP/proxy.json"
xp_bg ppid proxy ip netns exec "$XP_NS_PROXY" env NOTIFY_SOCKET="$XP_TMP/notify-proxy.sock" \
    WATCHDOG_USEC=600000 sh -c "$XP_BPFFS_SH" xp \
    "$XP_PROXY" -c "$XP_TMP/proxy.json" --stats-out "$XP_TMP/stats.jsonl"
xp_wait_for 20 xp_file_has "$XP_TMP/notify-proxy.out" "READY=1" ||
    xp_fail "the proxy sent no READY=1: $(tail -5 "$XP_TMP/proxy.err")"
xp_pass "xpro-proxy: READY=1 once forwarding (from the proxy as xpro, a child of the monitor)"

# Traffic, so that the proxy has pairs and the central rows.
xp_send_bg sndpid unit "$XP_NS_UNIT" u0 --count 0 --rate 200 --duration 60 --flows 4 \
    --src-mac "$XP_MAC_U0" --dst-mac "$XP_MAC_T0" --src-ip "$XP_IP_U0" --dst-ip "$XP_IP_T0"

last_c() { tail -n 1 "$D/central.stats"; }
rows() { last_c | jq -r .pairs; }
has_rows() { [ "$(rows)" -gt 0 ]; }
p1() { last_c | jq -r ".proxies.p1.$1"; }
xp_wait_for 15 has_rows || xp_fail "no rows in M_DB: $(last_c)"
xp_wait_for 10 xp_file_has "$XP_TMP/notify-proxy.out" "STATUS=forwarding between xpa and xpc" ||
    xp_fail "no STATUS from the proxy: $(cat "$XP_TMP/notify-proxy.out")"
xp_wait_for 5 xp_file_has "$XP_TMP/notify-central.out" "STATUS=listening on port 7420: 1 of 1" ||
    xp_fail "no STATUS from the central: $(cat "$XP_TMP/notify-central.out")"
xp_pass "STATUS lines: $(grep -h '^STATUS=' "$XP_TMP"/notify-*.out | tail -n 2 | tr '\n' '|')"
wd() { grep -c '^WATCHDOG=1' "$XP_TMP/notify-$1.out" || true; }
sleep 1.5
xp_check "the central pings the watchdog (600 ms: every 300 ms; $(wd central) so far)" test "$(wd central)" -ge 3
xp_check "the proxy pings the watchdog (600 ms: every 300 ms; $(wd proxy) so far)" test "$(wd proxy)" -ge 3
xp_wait_for 5 test -f "$D/lib/xpro/central.state" || xp_fail "no state file in the fresh directory"
xp_pass "state saved in a directory that did not exist ($(stat -c %s "$D/lib/xpro/central.state") bytes)"

# ---- SIGHUP to the central -------------------------------------------------------------
op_stats() {
    ip netns exec "$XP_NS_PROXY" "$XPRO_BUILD/src/xpro-ctl" --central 127.0.0.1:7420 --id op1 \
        --secret-file "$XP_TMP/op1.secret" --json stats
}
echo "$OPSECRET" >"$XP_TMP/op1.secret"
op_refused() { ! op_stats >/dev/null 2>&1; }
xp_check "before the reload the operator op1 is unknown" op_refused
rows_before=$(rows)
connects_before=$(p1 connects)
syncs_before=$(p1 syncs)
write_central "$D/central.json" ", \"operators\": { \"op1\": \"$OPSECRET\" }"
kill -HUP "$cpid"
xp_wait_for 5 xp_file_has "$XP_TMP/central.err" "configuration reloaded" ||
    xp_fail "no reload: $(tail -5 "$XP_TMP/central.err")"
sleep 1
kill -0 "$cpid" 2>/dev/null || xp_fail "xpro-central died of SIGHUP: $(tail -5 "$XP_TMP/central.err")"
xp_pass "SIGHUP: $(grep 'configuration reloaded' "$XP_TMP/central.err" | tail -n 1 | sed 's/.*: configuration/configuration/')"
xp_check "M_DB kept its rows ($rows_before before, $(rows) after)" has_rows
xp_check "the proxy's session was kept (connects $connects_before -> $(p1 connects))" \
    test "$(p1 connects)" = "$connects_before"
xp_check "its syncs go on ($syncs_before -> $(p1 syncs))" test "$(p1 syncs)" -gt "$syncs_before"
xp_check "the reload is counted" test "$(last_c | jq -r .reloads)" = 1
xp_check "the changed key took effect: op1 may read the central's stats" op_stats
xp_check "RELOADING=1 then READY=1 to the manager" \
    bash -c "grep -E '^(RELOADING|READY)=1' '$XP_TMP/notify-central.out' | tail -n 2 | tr '\n' ' ' | grep -q 'RELOADING=1 READY=1'"
last_proxy() { tail -n 1 "$XP_TMP/stats.jsonl"; }
xp_check "the proxy stayed synced" test "$(last_proxy | jq -r .sync.state)" = synced

# A file that does not parse, then a key that cannot change live: refused, the old one stays.
echo '{ "listen": ' >"$D/central.json"
kill -HUP "$cpid"
xp_wait_for 5 xp_file_has "$XP_TMP/central.err" "reload refused" ||
    xp_fail "a broken file was not refused: $(tail -3 "$XP_TMP/central.err")"
write_central "$D/central.json" ", \"operators\": { \"op1\": \"$OPSECRET\" }"
sed -i 's/"port": 7420/"port": 7421/' "$D/central.json"
kill -HUP "$cpid"
xp_wait_for 5 xp_file_has "$XP_TMP/central.err" "port cannot change without a restart" ||
    xp_fail "a port change was not refused: $(tail -3 "$XP_TMP/central.err")"
sleep 0.5
kill -0 "$cpid" 2>/dev/null || xp_fail "xpro-central died: $(tail -5 "$XP_TMP/central.err")"
xp_check "after two refused reloads the central runs its last good configuration" op_stats
xp_check "... with its rows" has_rows
xp_check "... and still one reload counted" test "$(last_c | jq -r .reloads)" = 1
xp_pass "bad configurations refused: $(grep 'reload refused' "$XP_TMP/central.err" | tail -n 1 | sed 's/.*reload refused/reload refused/')"

# ---- SIGHUP to the proxy: its stats file reopened --------------------------------------
# As conf/logrotate/xpro does it: move the file away, create the new one for the account the
# proxy runs as (it may not create files in the directory), then SIGHUP.
S=$XP_TMP/stats.jsonl
mv "$S" "$S.1"
install -m 0640 -o xpro -g xpro /dev/null "$S"
kill -HUP "$ppid"
xp_wait_for 5 test -s "$S" || xp_fail "no stats in the new file after SIGHUP: $(tail -3 "$XP_TMP/proxy.err")"
sleep 0.5
old_size=$(stat -c %s "$S.1")
sleep 1.5
xp_check "the new file fills up ($(xp_lines "$S") lines)" test "$(grep -c '"totals"' "$S")" -ge 3
xp_check "the old one stopped growing" test "$(stat -c %s "$S.1")" = "$old_size"
# Moved away with nothing in its place, in a directory the proxy (xpro) cannot write: the
# reopen fails, is logged, and the lines go on in the file it has.
mv "$S" "$S.2"
kill -HUP "$ppid"
xp_wait_for 5 xp_file_has "$XP_TMP/proxy.err" "cannot reopen, still writing the old file" ||
    xp_fail "a failed reopen was not logged: $(tail -3 "$XP_TMP/proxy.err")"
size2=$(stat -c %s "$S.2")
sleep 1
xp_check "after a failed reopen the lines go on in the old file" test "$(stat -c %s "$S.2")" -gt "$size2"
kill -0 "$ppid" 2>/dev/null || xp_fail "the proxy died of SIGHUP"

# The state is still saved on the way out.
xp_kill "$sndpid" TERM
xp_kill "$ppid" TERM
xp_check "the proxy said STOPPING=1" xp_file_has "$XP_TMP/notify-proxy.out" "STOPPING=1"
xp_kill "$cpid" TERM
xp_check "the central said STOPPING=1" xp_file_has "$XP_TMP/notify-central.out" "STOPPING=1"
xp_check "the central persisted on the way out" xp_file_has "$XP_TMP/central.err" "persisting state"
xp_pass "test_systemd"
