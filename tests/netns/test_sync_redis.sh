#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# test_sync.sh's low-rate attack through two stateless xpro-central front-ends on one Redis
# Cluster (3 masters + 3 replicas, started by this test inside the central namespace), with
# kill -9 of a front-end and of a master during the attack (docs/central.md).
#
# Two proxies, each inline in front of one unit, both units sending to the same victim at
# 3000 pps (under T_F2 = 4000 pps each, 6000 together). proxy1 syncs with front-end A,
# proxy2 with front-end B: they only learn each other's counts through the shared store,
# so both dropping with the destination test shows one M_DB behind two front-ends.
# Then front-end A is killed (-9): proxy1 goes degraded, proxy2 stays synced; a new A
# (nothing to load: it is stateless) brings proxy1 back. Then a Redis master is killed
# (-9): its replica takes over and both proxies are synced again, still dropping.
# shellcheck disable=SC2154 # fa, fa2, fb: set by xp_central_start (printf -v)
set -euo pipefail
XP_TEST_TIMEOUT=${XP_TEST_TIMEOUT:-240}
# shellcheck source=tests/netns/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=tests/netns/redis_cluster.sh
source "$(dirname "$0")/redis_cluster.sh"

SECRET1=6b1f0e2d9c3a4b5f8e7d6c5b4a392817
SECRET2=0f1e2d3c4b5a69788796a5b4c3d2e1f0
VICTIM=198.18.0.254
RATE=3000
# Re-convergence bound after a kill: the proxies' backoff (<= 30 s) is not reached here;
# a master's failover takes cluster-node-timeout (2 s) plus an election.
CONVERGE=30

xp_init
xp_require_all
xp_require_redis
[ -x "$XP_CENTRAL" ] || xp_fail "xpro-central not built: $XP_CENTRAL"

# NS_C with the sync bridge; unit, proxy and target 1 and 2 (lib.sh)
xp_two_proxies_topology "$VICTIM"

XP_REDIS_NS=$NS_C
xp_redis_cluster_start 3 1
xp_log "cluster up in $NS_C: ${XP_REDIS_PORTS[*]}"

# Two front-ends' configurations: the same store and proxies, two ports. The password file
# is xpro's (the front-ends run as xpro), 0600.
for f in A B; do
    port=$([ "$f" = A ] && echo 7420 || echo 7421)
    d="$XP_TMP/central$f.d"
    install -d -m 0700 -o xpro -g xpro "$d"
    printf '%s\n' "$XP_REDIS_PASS" >"$d/redis.pass"
    chown xpro:xpro "$d/redis.pass"
    chmod 0600 "$d/redis.pass"
    cat >"$XP_TMP/central$f.json" <<JSON
{
  "listen": "198.18.255.1", "port": $port, "stats_period_ms": 1000,
  "merge": { "t_t1_ms": 1000, "t_t4_ms": 4000, "r": 2, "max_skew_ms": 1000 },
  "store": { "kind": "redis", "seeds": "$XP_REDIS_SEEDS", "user": "$XP_REDIS_USER",
             "password_file": "$d/redis.pass", "buckets": 16, "wait_replicas": 1,
             "retry_ms": 3000 },
  "proxies": { "p1": "$SECRET1", "p2": "$SECRET2" }
}
JSON
done
start_front() { xp_central_start "$1" "$2" "$NS_C" "$XP_TMP/central$3.json" --stats-out -; }
start_front fa frontA A
start_front fb frontB B
xp_wait_for 10 xp_file_has "$XP_TMP/frontA.err" "listening" || xp_fail "front-end A did not start: $(cat "$XP_TMP/frontA.err")"
xp_wait_for 10 xp_file_has "$XP_TMP/frontB.err" "listening" || xp_fail "front-end B did not start: $(cat "$XP_TMP/frontB.err")"

for i in 1 2; do
    p="NS_P$i" secret="SECRET$i" port=$((7419 + i))
    cat >"$XP_TMP/proxy$i.json" <<JSON
{
  "proxy_id": "p$i",
  "ports": { "access": "xpa", "core": "xpc" },
  "ctl_socket": "$XP_TMP/p$i.sock",
  "events_out": "$XP_TMP/events$i.jsonl",
  "sync": { "central": "198.18.255.1:$port", "secret": "${!secret}", "period_ms": 500 },
  "policer": { "unit_prefixes": ["198.18.0.0/24"], "t_f1_pps": 5000, "t_f2_pps": 4000,
               "t_t1_ms": 1000, "t_t3_ms": 1000 }
}
JSON
    xp_bg "ppid$i" "proxy$i" ip netns exec "${!p}" sh -c "$XP_BPFFS_SH" xp \
        "$XPRO_BUILD/src/xpro-proxy" -c "$XP_TMP/proxy$i.json" --stats-out -
done
xp_proxy_wait_stats proxy1 1 20 || xp_fail "proxy1 did not start: $(tail -5 "$XP_TMP/proxy1.err")"
xp_proxy_wait_stats proxy2 1 20 || xp_fail "proxy2 did not start: $(tail -5 "$XP_TMP/proxy2.err")"

last() { grep '"totals"' "$XP_TMP/$1.out" | tail -n 1; }
sync_state() { last "$1" | jq -r .sync.state; }
is_state() { [ "$(sync_state "$1")" = "$2" ]; }
xp_wait_for 10 is_state proxy1 synced || xp_fail "proxy1 never synced: $(last proxy1 | jq -c .sync)"
xp_wait_for 10 is_state proxy2 synced || xp_fail "proxy2 never synced: $(last proxy2 | jq -c .sync)"
xp_pass "both proxies synced, through two front-ends of one Redis store"

send_unit() {
    local i=$1 dur=$2 u="NS_U$1" t="NS_T$1" umac tmac
    umac=$(xp_mac "${!u}" u0)
    tmac=$(xp_mac "${!t}" t0)
    xp_send_bg "spid$i" "unit$i" "${!u}" u0 --count 0 --rate "$RATE" --duration "$dur" \
        --src-mac "$umac" --dst-mac "$tmac" --src-ip "198.18.0.$i" --dst-ip "$VICTIM" --seed "$i"
}
drops() { last "$1" | jq -r '.pipeline.drop_dst_rate + (.ports[0].xdp.drop_blocked // 0)'; }
dropping() { [ "$(drops "$1")" -gt 0 ]; }
# The attack stays blocked: the two proxies together drop at least half of the excess over
# T_F2 (2 x 3000 - 4000 = 2000 pps) over 10 s. Not each proxy: while a unit is blocked its
# packets do not count, so the two proxies' blocks take turns (docs/policer.md).
total_drops() { echo $(($(drops proxy1) + $(drops proxy2))); }
# While a proxy is degraded it polices on local state (3000 pps, under T_F2) and its block
# lapses; after it re-synced the block must come back within BLOCKED_AGAIN seconds: a 5 s
# window in which at least half of the excess (5000 packets) is dropped.
BLOCKED_AGAIN=20
check_blocked() {
    local d0 d1 t0 end
    t0=$(date +%s%N)
    end=$((t0 / 1000000 + BLOCKED_AGAIN * 1000))
    while :; do
        d0=$(total_drops)
        sleep 5
        d1=$(total_drops)
        [ "$((d1 - d0))" -ge 5000 ] && break
        [ "$(($(date +%s%N) / 1000000))" -lt "$end" ] ||
            xp_fail "$1: the attack is not blocked again after ${BLOCKED_AGAIN} s ($((d1 - d0)) drops in the last 5 s)"
    done
    xp_log "$1: blocked (5 s window ending $((($(date +%s%N) - t0) / 1000000)) ms after re-sync: $((d1 - d0)) of about 30000 packets dropped, 10000 over T_F2)"
}

send_unit 1 100
sleep 3
xp_check "unit 1 alone (3000 pps < T_F2): proxy1 drops nothing" test "$(drops proxy1)" = 0
send_unit 2 96
xp_wait_for 10 dropping proxy1 || xp_fail "proxy1 never applied the destination test: $(last proxy1 | jq -c '{pipeline, sync}')"
xp_wait_for 10 dropping proxy2 || xp_fail "proxy2 never applied the destination test: $(last proxy2 | jq -c '{pipeline, sync}')"
xp_pass "both proxies block the low-rate attack, their counts shared through the store"

# kill -9 of front-end A: proxy1 degraded, proxy2 unaffected; a new A brings proxy1 back
xp_kill "$fa" KILL
xp_wait_for 8 is_state proxy1 degraded || xp_fail "proxy1 not degraded: $(last proxy1 | jq -c .sync)"
xp_check "proxy2 (front-end B) stays synced" is_state proxy2 synced
t0=$(date +%s%N)
start_front fa2 frontA2 A
xp_wait_for "$CONVERGE" is_state proxy1 synced || xp_fail "proxy1 did not re-converge: $(last proxy1 | jq -c .sync)"
xp_log "proxy1 synced again $((($(date +%s%N) - t0) / 1000000)) ms after front-end A's restart"
check_blocked "after the front-end's restart"
xp_pass "front-end killed: proxies re-converged through a new stateless front-end, the attack stays blocked"

# kill -9 of a Redis master: its replica takes over
VICTIM_PORT=
for p in "${XP_REDIS_PORTS[@]}"; do
    if xp_redis_cli "$p" role 2>/dev/null | head -n 1 | grep -qx master; then VICTIM_PORT=$p; break; fi
done
[ -n "$VICTIM_PORT" ] || xp_fail "no master found"
xp_log "kill -9 master 127.0.0.1:$VICTIM_PORT"
t0=$(date +%s%N)
kill -KILL "$(xp_redis_pid_of "$VICTIM_PORT")"
REMAINING=()
for p in "${XP_REDIS_PORTS[@]}"; do [ "$p" = "$VICTIM_PORT" ] || REMAINING+=("$p"); done
XP_REDIS_PORTS=("${REMAINING[@]}")
# the others have marked it failed and promoted its replica
failed_over() {
    xp_redis_cli "${XP_REDIS_PORTS[0]}" cluster nodes | grep ":$VICTIM_PORT@" | grep -q fail &&
        xp_redis_cluster_ok
}
xp_wait_for 20 failed_over || xp_fail "the cluster did not fail over"
xp_log "failover done $((($(date +%s%N) - t0) / 1000000)) ms after the kill"

# both proxies must go through at least one full sync after the failover
s1=$(last proxy1 | jq -r '.sync.syncs_ok // 0')
s2=$(last proxy2 | jq -r '.sync.syncs_ok // 0')
more_syncs() { [ "$(last "$1" | jq -r '.sync.syncs_ok // 0')" -gt "$(($2 + 2))" ] && is_state "$1" synced; }
xp_wait_for "$CONVERGE" more_syncs proxy1 "$s1" || xp_fail "proxy1 not synced after the failover: $(last proxy1 | jq -c .sync)"
xp_wait_for "$CONVERGE" more_syncs proxy2 "$s2" || xp_fail "proxy2 not synced after the failover: $(last proxy2 | jq -c .sync)"
xp_log "both proxies synced again $((($(date +%s%N) - t0) / 1000000)) ms after the kill (and after the failover)"
check_blocked "after the failover"
xp_pass "master killed: the replica took over, proxies re-converged, the attack stays blocked"

grep '"store"' "$XP_TMP/frontB.out" | tail -n 1 | jq -c '.store' >"$XP_TMP/storeB.log" || true
xp_log "front-end B's store: $(cat "$XP_TMP/storeB.log")"
for i in 1 2; do
    pid="ppid$i"
    xp_kill "${!pid}" TERM
done
xp_kill "$fa2" TERM
xp_kill "$fb" TERM
xp_pass "test_sync_redis"
