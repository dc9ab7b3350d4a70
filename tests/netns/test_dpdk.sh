#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The single-proxy high-rate scenario (test_highrate.sh) on the DPDK backend.
#
# xpro-proxy runs with "backend": "dpdk" on two DPDK vdevs over the inline topology's veths
# (net_af_packet by default; XP_DPDK_PMD=af_xdp for net_af_xdp), EAL with --no-huge, --no-pci
# and its runtime files in a tmpfs private to the proxy's mount namespace. The bridge of the
# standard topology is taken down first: a DPDK port owns its link, there is no kernel
# fail-open path, and the bridge would forward a second copy of every frame the af_packet
# PMD reads.
#
# Same thresholds, schedule and verdicts as the AF_XDP backend:
#   - the flooder is detected (overload + block events) no later than T_T2 + 0.5 s after its
#     flood starts;
#   - after the block, what reaches the target from the flooder is at most T_F1 (+10 %);
#   - the benign unit loses nothing;
#   - after the silence the flooder's phase-3 packets are all forwarded again;
#   - the fast path: instead of XDP's block map, the worker's early check drops the blocked
#     pair right after parsing (pipeline.early_drop_blocked), Algorithm 1 sees almost none of
#     the flood (drop_unit_rate <= 5 % of the early drops), and every early drop is counted
#     into the pair (early_dropped_accounted == early_drop_blocked);
#   - an operator block (xpro-ctl block) of a unit drops all of its frames in the workers (no XDP
#     map on DPDK: pipeline.drop_manual), and the unblock lets them through again;
#   - the Prometheus endpoint passes promtool's lint and matches the metric table.
# Skips (77; a failure when CI=true) only when the build has no DPDK backend.
set -euo pipefail
# shellcheck source=tests/netns/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=tests/netns/highrate.sh
source "$(dirname "$0")/highrate.sh"
# shellcheck source=tests/netns/prom.sh
source "$(dirname "$0")/prom.sh"
PMD=${XP_DPDK_PMD:-af_packet}

xp_init
xp_require_all
xp_require_cmd bc
xp_prom_require

# Does this build have the DPDK backend? The config parser says so without touching anything.
probe="$XP_TMP/probe-dpdk.json"
printf '{"ports": {"access": "xpa", "core": "xpc"}, "backend": "dpdk"}\n' >"$probe"
if ! "$XP_PROXY" -c "$probe" --check-config >"$XP_TMP/probe-dpdk.log" 2>&1; then
    grep -q "no DPDK backend" "$XP_TMP/probe-dpdk.log" &&
        xp_skip "this build has no DPDK backend"
    xp_fail "--check-config with backend dpdk: $(cat "$XP_TMP/probe-dpdk.log")"
fi

xp_topo_inline 1
# No bridge: the DPDK ports are the only path between xpa and xpc.
ip -n "$XP_NS_PROXY" link set xpa nomaster
ip -n "$XP_NS_PROXY" link set xpc nomaster
ip -n "$XP_NS_PROXY" link del xpbr

case $PMD in
af_packet)
    # framecnt: the kernel's packet ring, 512 frames by default, is 25 ms of the 20 kpps
    # flood; on a busy 2-vCPU guest the worker can be off its core longer than that and the
    # kernel drops frames (the benign unit's too) before the proxy ever sees them (counted
    # nowhere the PMD reports). 4096 frames = 200 ms.
    vdev0="net_af_packet0,iface=xpa,qpairs=1,framecnt=4096"
    vdev1="net_af_packet1,iface=xpc,qpairs=1,framecnt=4096" ;;
af_xdp)
    vdev0="net_af_xdp0,iface=xpa,start_queue=0,queue_count=1"
    vdev1="net_af_xdp1,iface=xpc,start_queue=0,queue_count=1" ;;
*) xp_fail "XP_DPDK_PMD: af_packet or af_xdp" ;;
esac

conf="$XP_TMP/proxy.json"
cat >"$conf" <<JSON
{
  "proxy_id": "$XP_PREFIX",
  "backend": "dpdk",
  "ports": { "access": "xpa", "core": "xpc" },
  "cpus": $(xp_proxy_cpus),
  "events_out": "$XP_TMP/events.jsonl",
  "ctl_socket": "$XP_TMP/ctl.sock",
  "prometheus": "127.0.0.1:9464",
  "dpdk": {
    "eal_args": ["--no-huge", "-m", "256", "--no-pci", "--no-telemetry",
                 "--file-prefix", "$XP_PREFIX-dpdk",
                 "--vdev", "$vdev0", "--vdev", "$vdev1"],
    "access_port": 0, "core_port": 1,
    "mbufs_per_queue": 4095
  },
  "policer": {
    "unit_prefixes": ["198.18.0.0/24"],
    "t_t1_ms": 1000, "t_t2_ms": 1000, "t_t3_ms": 1000,
    "t_f1_pps": $T_F1, "t_f2_pps": 1000000,
    "block_ms": 500
  }
}
JSON
"$XP_PROXY" -c "$conf" --check-config >/dev/null || xp_fail "config refused"

# EAL's runtime files go to a tmpfs that lives and dies with the proxy's mount namespace
# (ip netns exec gives every command its own); net_af_xdp wants bpffs there too.
XP_DPDK_SH='mkdir -p /run/dpdk && mount -t tmpfs xpro-dpdk /run/dpdk || exit 9
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf || exit 9
exec "$@"'
xp_bg ppid proxy ip netns exec "$XP_NS_PROXY" sh -c "$XP_DPDK_SH" xp \
    "$XP_PROXY" -c "$conf" --stats-out -
xp_proxy_wait_stats proxy 1 30 || xp_fail "proxy did not start: $(tail -5 "$XP_TMP/proxy.err")"
first=$(grep '"totals"' "$XP_TMP/proxy.out" | head -n 1)
xp_check "the stats document says backend dpdk" test "$(jq -r .backend <<<"$first")" = dpdk
# net_af_xdp loads its own program; with net_af_packet nothing may be attached.
if [ "$PMD" = af_packet ]; then
    xp_check "no XDP program on xpa with the DPDK backend" xp_no_xdp "$XP_NS_PROXY" xpa
fi

xp_highrate_traffic

# Operator blocks on DPDK: the workers keep them.
BLOCKED=198.18.0.9
ctl() { "$XPRO_BUILD/src/xpro-ctl" --socket "$XP_TMP/ctl.sock" "$@"; }
manual() { xp_proxy_last_stats proxy | jq -r .pipeline.drop_manual; }
ctl block "$BLOCKED" >/dev/null || xp_fail "xpro-ctl block refused on the DPDK backend"
sleep 0.6
m0=$(manual)
# shellcheck disable=SC2046
xp_send "$XP_NS_UNIT" u0 --count 200 --rate 1000 --duration 5 $(gen --src-ip "$BLOCKED" --seed 9) \
    >/dev/null || xp_fail "send from the blocked unit failed"
sleep 1.2
blocked=$(($(manual) - m0))
ctl unblock "$BLOCKED" >/dev/null || xp_fail "xpro-ctl unblock refused"
xp_check "operator block on DPDK: $blocked of 200 frames dropped by the workers (drop_manual)" \
    test "$blocked" = 200
sleep 1.2
xp_prom_check "$XP_NS_PROXY" 9464 "dpdk-$PMD"
xp_prom_check_fields "$XP_TMP/proxy.out" "dpdk-$PMD"
xp_check "DPDK families exported" grep -q '^xpro_dpdk_link_up{port="xpa",role="access"} 1$' \
    "$XP_TMP/metrics-dpdk-$PMD.txt"
xp_kill "$ppid" TERM
xp_wait_pid "$ppid" 15 || xp_fail "proxy still running after SIGTERM"
xp_check "proxy exited 0 (clean EAL shutdown)" test "$XP_RC" = 0
final=$(xp_proxy_last_stats proxy)
echo "$final" >"$XP_TMP/final.log"
xp_check "the last stats line is the final one" test "$(jq -r .final <<<"$final")" = true
xp_check_conservation "$final"

xp_highrate_verdicts

# The early drop carried the flood, as XDP does with the AF_XDP backend.
early=$(jq -r '.pipeline.early_drop_blocked' <<<"$final")
user_drop=$(jq -r '.pipeline.drop_unit_rate' <<<"$final")
accounted=$(jq -r '.pipeline.early_dropped_accounted' <<<"$final")
xp_log "early drops $early, Algorithm 1 dropped $user_drop, accounted $accounted"
xp_check "the early check dropped most of the flood ($early >= 80 % of $sent_flood - $fwd_flood)" \
    test "$early" -ge "$(((sent_flood - fwd_flood) * 8 / 10))"
xp_check "Algorithm 1 handled almost none of it ($user_drop <= 5 % of $early)" \
    test "$user_drop" -le "$((early / 20))"
xp_check "early drops were counted into the pair ($accounted == $early)" \
    test "$accounted" = "$early"

# The DPDK counters made it into the document, per port and queue.
acc=$(jq -c '.ports[] | select(.role == "access")' <<<"$final")
xp_log "access port: $(jq -c '{device, port_id, dpdk}' <<<"$acc")"
xp_check "access port is DPDK port 0 with link counters" \
    test "$(jq -r '"\(.backend) \(.port_id) \(.dpdk.ipackets > 0)"' <<<"$acc")" = "dpdk 0 true"
xp_check "per-queue counters on the access port (rx_packets > 0)" \
    test "$(jq -r '[.queues[].rx_packets] | add' <<<"$acc")" -gt 0
xp_check "no mbuf allocation failures (rx_nombuf == 0)" \
    test "$(jq -r '[.ports[].dpdk.rx_nombuf] | add' <<<"$final")" = 0
# Once the ports are closed every mbuf is back in its pool (the backend says so otherwise).
# net_af_xdp (22.11) keeps its fill ring's mbufs even after close: checked on af_packet only.
if [ "$PMD" = af_packet ]; then
    xp_check "every mbuf back in its pool at exit" \
        bash -c "! grep -q 'mbufs not returned' '$XP_TMP/proxy.err'"
fi
xp_pass "test_dpdk ($PMD)"
