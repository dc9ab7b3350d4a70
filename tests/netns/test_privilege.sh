#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Privileges (issue 16, docs/operators.md "Privileges"): with "user": "xpro" the proxy does
# its root-only set-up (XDP, channels), then a monitor keeps root and the proxy goes on as
# xpro with only the capabilities it still needs; xpro-central runs as xpro with none.
#
# Inline proxy:
#   1. the monitor is root; the proxy is uid xpro with no capability at all (effective,
#      permitted, inheritable, ambient, bounding) and no_new_privs;
#   2. it still forwards and polices: a flood is blocked in XDP (the block map written by the
#      unprivileged proxy), xpro-ctl stats / block / unblock work, a reload (SIGHUP to the
#      monitor, configuration root:xpro 0640) is taken;
#   3. SIGTERM to the monitor: final stats, exit 0, the stats close, XDP detached from both
#      ports and the control socket removed (both by the monitor);
#   4. SIGKILL of the proxy (a crash): the monitor exits 1 and detaches XDP all the same;
#      fail_mode "closed": the program stays attached, as without a monitor;
#   5. an account that does not exist: exit 2 naming it, nothing attached.
# Gateway proxy and central node:
#   6. the gateway proxy keeps exactly CAP_NET_ADMIN and resolves an on-link next hop with it
#      after the drop; xpro-central (xp_central_start: setpriv, no capabilities) syncs
#      with it and persists its state as xpro; a unit's CoAP requests are answered.
set -euo pipefail
# shellcheck source=tests/netns/lib.sh
source "$(dirname "$0")/lib.sh"

XP_TEST_TIMEOUT=200
xp_init
xp_require_all
xp_require_gateway
getent passwd xpro >/dev/null || xp_fail "no account xpro (scripts/setup.sh creates it)"
XUID=$(id -u xpro)
NONE=0000000000000000
xp_topo_inline 1

# conf FILE FAIL_MODE USER T_F1: an inline configuration the account xpro can read (reload).
conf() {
    cat >"$1" <<JSON
{
  $(xp_conf_inline_base),
  "fail_mode": "$2",
  "user": "$3",
  "ctl_socket": "$XP_TMP/ctl.sock",
  "stats_interval_ms": 500,
  "policer": { "unit_prefixes": ["198.18.0.0/24"], "t_t1_ms": 1000, "t_t2_ms": 500,
               "t_t3_ms": 1000, "t_f1_pps": $4, "t_f2_pps": 1000000, "block_ms": 500 }
}
JSON
    chgrp xpro "$1"
    chmod 0640 "$1"
}
ctl() { "$XPRO_BUILD/src/xpro-ctl" --socket "$XP_TMP/ctl.sock" "$@"; }
# child_of PID: the proxy the monitor PID forked.
child_of() { pgrep -P "$1" | head -n 1; }
caps_all_none() {
    local pid=$1 f
    for f in CapInh CapPrm CapEff CapBnd CapAmb; do
        [ "$(xp_proc_field "$pid" "$f")" = "$NONE" ] || return 1
    done
}
uid_is() { [ "$(xp_proc_field "$1" Uid)" = "$2 $2 $2 $2" ]; }
detached() { xp_no_xdp "$XP_NS_PROXY" xpa && xp_no_xdp "$XP_NS_PROXY" xpc; }

# ---- 1. who runs what -------------------------------------------------------------------
conf "$XP_TMP/p.json" open xpro 200
xp_proxy_start MON px "$XP_TMP/p.json"
xp_proxy_wait_stats px 1 20 || xp_fail "proxy did not start: $(tail -5 "$XP_TMP/px.err")"
PX=$(child_of "$MON")
[ -n "$PX" ] || xp_fail "no proxy process under the monitor $MON"
xp_log "$(grep 'running as' "$XP_TMP/px.err")"
xp_check "the monitor (pid $MON) is root" uid_is "$MON" 0
xp_check "the proxy (pid $PX) is xpro (uid $XUID): $(xp_proc_field "$PX" Uid)" \
    uid_is "$PX" "$XUID"
xp_check "the proxy holds no capability (effective, permitted, inheritable, ambient, bounding)" \
    caps_all_none "$PX"
xp_check "the proxy cannot gain privileges by exec (NoNewPrivs $(xp_proc_field "$PX" NoNewPrivs))" \
    test "$(xp_proc_field "$PX" NoNewPrivs)" = 1

# ---- 2. it still does its job ---------------------------------------------------------------
xp_recv_start RX rx "$XP_NS_TARGET" t0 --count-only --duration 6
xp_send "$XP_NS_UNIT" u0 --count 4000 --rate 1000 --duration 5 --src-mac "$XP_MAC_U0" \
    --dst-mac "$XP_MAC_T0" --src-ip 198.18.0.1 --dst-ip "$XP_IP_T0" >/dev/null 2>&1 ||
    xp_fail "xp_pktio send failed"
xp_wait_pid "$RX" 10 || xp_fail "receiver did not finish"
got=$(jq -r 'select(.final) | .received' "$XP_TMP/rx.out")
sleep 1
blocked=$(xp_proxy_last_stats px | jq -r '.ports[] | select(.role == "access") | .xdp.drop_blocked')
xp_check "a flood at 1000 pps against T_F1 200: $got of 4000 delivered, $blocked dropped in XDP by the unprivileged proxy's blocks" \
    test "$got" -gt 0 -a "$got" -lt 3000 -a "$blocked" -gt 1000
xp_check "xpro-ctl stats" ctl stats
ctl block 198.18.0.77 >/dev/null || xp_fail "xpro-ctl block refused"
ctl unblock 198.18.0.77 >/dev/null || xp_fail "xpro-ctl unblock refused"
xp_pass "xpro-ctl block / unblock (the manual block map, written as xpro)"
conf "$XP_TMP/p.json" open xpro 300
kill -HUP "$MON"
xp_wait_for 5 xp_file_has "$XP_TMP/px.err" "reloaded" || xp_fail "no reload: $(tail -3 "$XP_TMP/px.err")"
xp_pass "SIGHUP to the monitor reaches the proxy, which reloads a root:xpro 0640 configuration"

# ---- 3. a clean stop ---------------------------------------------------------------------------
kill -TERM "$MON"
xp_wait_pid "$MON" 15 || xp_fail "the monitor did not exit"
xp_check "SIGTERM: exit $XP_RC, a final stats line" \
    test "$XP_RC" = 0 -a "$(xp_proxy_last_stats px | jq -r .final)" = true
xp_check_conservation "$(xp_proxy_last_stats px)"
xp_check "XDP detached from both ports by the monitor" detached
xp_check "control socket removed by the monitor" test ! -e "$XP_TMP/ctl.sock"

# ---- 4. a crash, and fail-closed --------------------------------------------------------------
xp_proxy_start MON pk "$XP_TMP/p.json"
xp_proxy_wait_stats pk 1 20 || xp_fail "proxy did not start: $(tail -5 "$XP_TMP/pk.err")"
PX=$(child_of "$MON")
kill -KILL "$PX"
xp_wait_pid "$MON" 15 || xp_fail "the monitor did not exit after the proxy was killed"
xp_check "proxy killed: the monitor exits $XP_RC, XDP detached, socket removed" \
    test "$XP_RC" = 1 -a ! -e "$XP_TMP/ctl.sock"
xp_check "... detached" detached
conf "$XP_TMP/pc.json" closed xpro 200
xp_proxy_start MON pc "$XP_TMP/pc.json"
xp_proxy_wait_stats pc 1 20 || xp_fail "proxy did not start: $(tail -5 "$XP_TMP/pc.err")"
kill -TERM "$MON"
xp_wait_pid "$MON" 15 || xp_fail "the monitor did not exit"
xp_check "fail_mode closed: exit $XP_RC, the program stays attached to drop" \
    test "$XP_RC" = 0 -a -n "$(xp_has_xdp "$XP_NS_PROXY" xpa && echo yes)"

# ---- 5. no such account -------------------------------------------------------------------------
ip -n "$XP_NS_PROXY" link set dev xpa xdp off
ip -n "$XP_NS_PROXY" link set dev xpc xdp off
conf "$XP_TMP/pn.json" open xp-no-such-user 200
xp_proxy_start MON pn "$XP_TMP/pn.json"
xp_wait_pid "$MON" 15 || xp_fail "the proxy did not exit"
xp_check "unknown account: exit $XP_RC, \"$(grep -o 'user "xp-no-such-user".*' "$XP_TMP/pn.err" | head -n 1)\"" \
    test "$XP_RC" = 2 -a -n "$(grep 'no such account' "$XP_TMP/pn.err")"
xp_check "nothing attached" detached

# ---- 6. gateway mode and the central node ----------------------------------------------------
xp_topo_gateway 1
xp_gateway_units 1
SECRET=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
cat >"$XP_TMP/central.json" <<JSON
{ "listen": "198.18.3.9", "port": 7420, "state_file": "/unused", "persist_period_ms": 500,
  "proxies": { "$XP_PREFIX-p1": "$SECRET" } }
JSON
xp_central_start CEN central "$NS_CORE" "$XP_TMP/central.json"
xp_wait_for 10 xp_file_has "$XP_TMP/central.err" listening || xp_fail "central did not start: $(cat "$XP_TMP/central.err")"
xp_check "xpro-central runs as xpro with no capability at all" \
    eval 'uid_is "$CEN" "$XUID" && caps_all_none "$CEN"'
xp_check "... and says nothing about privileges" test -z "$(grep -i 'needs none' "$XP_TMP/central.err")"

xp_gateway_config "$XP_TMP/g.json" 1 '"t_f1_pps": 1000'
jq --arg s "$SECRET" '.user = "xpro" | .sync = { "central": "198.18.3.9:7420", "secret": $s, "period_ms": 500 }' \
    "$XP_TMP/g.json" >"$XP_TMP/g.new"
mv "$XP_TMP/g.new" "$XP_TMP/g.json"
chgrp xpro "$XP_TMP/g.json"
chmod 0640 "$XP_TMP/g.json"
XP_NS_PROXY=$NS_P1 xp_proxy_start GMON g "$XP_TMP/g.json"
xp_proxy_wait_stats g 1 20 || xp_fail "gateway proxy did not start: $(tail -5 "$XP_TMP/g.err")"
GPX=$(child_of "$GMON")
xp_check "the gateway proxy is xpro and keeps only CAP_NET_ADMIN (CapEff $(xp_proc_field "$GPX" CapEff), CapBnd $(xp_proc_field "$GPX" CapBnd))" \
    eval 'uid_is "$GPX" "$XUID" && [ "$(xp_proc_field "$GPX" CapEff)" = 0000000000001000 ] && [ "$(xp_proc_field "$GPX" CapPrm)" = 0000000000001000 ] && [ "$(xp_proc_field "$GPX" CapBnd)" = 0000000000001000 ]'
gw_stat() { xp_proxy_last_stats g | jq -r ".gateway.$1"; }
has_neighbour() { [ "$(gw_stat neighbours)" -ge 1 ] 2>/dev/null; }
xp_wait_for 5 has_neighbour || xp_fail "the gateway did not resolve its router"
synced() { [ "$(xp_proxy_last_stats g | jq -r .sync.state)" = synced ]; }
xp_wait_for 10 synced || xp_fail "no sync with the central node: $(xp_proxy_last_stats g | jq -c .sync)"
xp_pass "the unprivileged proxy syncs with the unprivileged central node"
xp_coap_server_start
xp_gateway_unit 1 --mode coap --target 198.18.3.9:5683 --count 5 --interval-ms 100
xp_wait_pid "$UNIT1" 30 || xp_fail "unit 1 did not finish"
answered=$(grep '"answered"' "$XP_TMP/unit1.out" | tail -n 1 | jq -r .answered)
xp_check "a unit's CoAP requests answered through the unprivileged gateway ($answered of 5)" \
    test "$answered" = 5
# An on-link destination nobody resolved yet: the proxy asks the kernel (RTM_NEWNEIGH,
# NTF_USE), which needs the CAP_NET_ADMIN it kept; then the next requests are forwarded.
ip -n "$NS_CORE" addr add 198.18.3.20/24 dev corebr
fwd0=$(gw_stat forward)
sol0=$(gw_stat solicits)
xp_gateway_unit 1 --mode coap --target 198.18.3.20:5683 --count 6 --interval-ms 200 --timeout-ms 100
xp_wait_pid "$UNIT1" 30 || xp_fail "unit 1 did not finish"
sleep 1
xp_check "an unresolved next hop solicited as xpro ($(($(gw_stat solicits) - sol0)) solicits, $(gw_stat solicit_errors) errors), then forwarded ($(($(gw_stat forward) - fwd0)) inner packets for 6 requests)" \
    test "$(($(gw_stat solicits) - sol0))" -ge 1 -a "$(gw_stat solicit_errors)" = 0 -a \
    "$(($(gw_stat forward) - fwd0))" -ge 4
kill -TERM "$GMON"
xp_wait_pid "$GMON" 15 || xp_fail "the gateway monitor did not exit"
xp_check "gateway proxy: exit $XP_RC" test "$XP_RC" = 0
xp_check_conservation "$(xp_proxy_last_stats g)"
kill -TERM "$CEN"
xp_wait_pid "$CEN" 15 || xp_fail "central did not exit"
state="$XP_TMP/central.d/central.state"
xp_check "central: exit $XP_RC, its state file written as xpro ($(stat -c '%U %a' "$state" 2>/dev/null))" \
    test "$XP_RC" = 0 -a "$(stat -c %U "$state" 2>/dev/null)" = xpro
xp_pass "privileges: the proxy runs as xpro with only what it needs, the monitor undoes the set-up, xpro-central runs with none"
