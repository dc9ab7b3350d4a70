#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# xpro-central's stores side by side (docs/central.md "Capacity"): merged pairs per second
# and CPU per merged pair for 8 proxies x PAIRS dirty pairs (default 100000), sent in
# requests of 1024 pairs, twice (new rows, then merges into them): the embedded store's
# merge loop, and the Redis store through one front-end on a cluster of 1 and of 3 masters
# (no replicas) started here on loopback and stopped on exit.
#
#   bench/central.sh [PAIRS]        (as root or not; needs redis-server, a build in build/)
XP_TEST_NAME=bench_central
XP_TEST_TIMEOUT=${XP_TEST_TIMEOUT:-1800}
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/../tests/netns/lib.sh"
# shellcheck source=tests/netns/redis_cluster.sh
. "$(dirname "$0")/../tests/netns/redis_cluster.sh"

PAIRS=${1:-100000}
BIN=$XPRO_BUILD/tests/unit/test_store_redis
xp_init
xp_require_redis
[ -x "$BIN" ] || xp_fail "not built: $BIN"
for m in 1 3; do
    xp_redis_cluster_start "$m" 0
    cpu0=0
    for pid in "${XP_REDIS_PIDS[@]}"; do
        cpu0=$((cpu0 + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
    done
    out=$(XP_REDIS_SEEDS=$XP_REDIS_SEEDS XP_REDIS_ADMIN_PASS=$XP_REDIS_ADMIN_PASS \
        XP_REDIS_USER=$XP_REDIS_USER XP_REDIS_PASS=$XP_REDIS_PASS XP_STORE_BENCH=$PAIRS "$BIN") ||
        xp_fail "bench run failed"
    cpu1=0
    for pid in "${XP_REDIS_PIDS[@]}"; do
        cpu1=$((cpu1 + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
    done
    merged=$((PAIRS * 16))
    [ "$m" = 1 ] && echo "$out" | grep '^embedded'
    echo "$out" | grep '^redis' | sed "s/^redis/redis, $m master(s)/"
    echo "  redis-server CPU: $(echo "scale=2; ($cpu1 - $cpu0) * 1000000 / $(getconf CLK_TCK) / $merged" | bc) us/pair over all masters"
    xp_redis_cluster_stop
done
