#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Per-port blocks: the access port in native XDP (the "default" block), the core port in
# generic (skb) XDP (its own block). Each port shows the attach mode its block asks for, and
# traffic crosses in both directions, unchanged.
set -euo pipefail
# shellcheck source=tests/netns/lib.sh
source "$(dirname "$0")/lib.sh"

N=3000

xp_init_inline 1

conf="$XP_TMP/proxy.json"
cat >"$conf" <<JSON
{
  $(xp_conf_inline_base),
  "port_settings": {
    "default": { "xdp_mode": "native" },
    "core": { "xdp_mode": "skb" }
  }
}
JSON
xp_proxy_start ppid proxy "$conf"
xp_proxy_wait_stats proxy 1 20 || xp_fail "proxy did not start: $(tail -5 "$XP_TMP/proxy.err")"

ip -n "$XP_NS_PROXY" -d link show dev xpa >"$XP_TMP/xpa.link"
ip -n "$XP_NS_PROXY" -d link show dev xpc >"$XP_TMP/xpc.link"
xp_check "access port: native XDP (the default block)" \
    bash -c "grep -qw 'xdp' '$XP_TMP/xpa.link' && ! grep -qw 'xdpgeneric' '$XP_TMP/xpa.link'"
xp_check "core port: generic XDP (its own block)" grep -qw 'xdpgeneric' "$XP_TMP/xpc.link"

for dir in up down; do
    if [ "$dir" = up ]; then
        xp_gen_up --flows 16 --seed 7
        sns=$XP_NS_UNIT sif=u0 rns=$XP_NS_TARGET rif=t0
    else
        xp_gen_down --flows 16 --seed 8
        sns=$XP_NS_TARGET sif=t0 rns=$XP_NS_UNIT rif=u0
    fi
    xp_recv_start rpid "rx-$dir" "$rns" "$rif" --expect "$N" --timeout 15 "${XP_GEN[@]}"
    xp_send "$sns" "$sif" --count "$N" --rate 20000 --duration 10 "${XP_GEN[@]}" >/dev/null
    xp_wait_pid "$rpid" 20 || xp_fail "receiver $dir did not finish"
    xp_check "$N frames $dir arrive byte-identical ($(jq -c '{received, identical}' "$XP_TMP/rx-$dir.out"))" \
        test "$XP_RC" = 0
done
xp_kill "$ppid" TERM
xp_wait_pid "$ppid" 15 || xp_fail "proxy still running after SIGTERM"
xp_check "proxy exits 0" test "$XP_RC" = 0
xp_check_conservation "$(xp_proxy_last_stats proxy)"
redirect=$(xp_proxy_last_stats proxy | jq -r '.ports[] | select(.role == "core") | .xdp.redirect')
xp_check "the core port's generic XDP program redirected the downstream frames ($redirect)" \
    test "$redirect" -ge "$N"
xp_pass "test_port_settings"
