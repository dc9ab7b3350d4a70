#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# xpro-central's Redis Cluster store (docs/central.md) on a real cluster that this test
# starts and stops: 3 masters and 3 replicas of redis-server on loopback.
#  1. test_store_redis: slot routing (CRC16, hash tags, ASK during and MOVED after a
#     resharding), a wrong password refused, merges equal to the embedded store's,
#     exactly-once across front-ends, the change feed, concurrent front-ends on one pair,
#     rows aging out;
#  2. the pair-lifecycle differential test (test_lifecycle_diff) with its central node
#     on the Redis store: the same expected results as with the embedded store, across a
#     restart of the front-end;
#  3. a master killed with SIGKILL while a front-end merges: its replica takes over
#     within the retry window and no sync fails or counts twice.
XP_TEST_TIMEOUT=${XP_TEST_TIMEOUT:-280}
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/netns/redis_cluster.sh
. "$(dirname "$0")/redis_cluster.sh"

xp_init
xp_require_redis
STORE_TEST=$XPRO_BUILD/tests/unit/test_store_redis
DIFF_TEST=$XPRO_BUILD/tests/unit/test_lifecycle_diff
[ -x "$STORE_TEST" ] || xp_fail "not built: $STORE_TEST"
[ -x "$DIFF_TEST" ] || xp_fail "not built: $DIFF_TEST"

xp_redis_cluster_start 3 1
xp_log "cluster up: ${XP_REDIS_PORTS[*]}"
export XP_REDIS_SEEDS XP_REDIS_ADMIN_PASS XP_REDIS_USER XP_REDIS_PASS

xp_log "store and routing checks"
"$STORE_TEST" >"$XP_TMP/store.log" 2>&1 || { cat "$XP_TMP/store.log"; xp_fail "test_store_redis"; }
cat "$XP_TMP/store.log"
xp_pass "routing, merges, exactly-once, change feed, concurrency and TTL on the cluster"

xp_log "pair-lifecycle differential test on the Redis store"
XP_DIFF_STORE=redis XP_DIFF_SEEDS=${XP_DIFF_SEEDS:-1} "$DIFF_TEST" >"$XP_TMP/diff.log" 2>&1 ||
    { tail -n 30 "$XP_TMP/diff.log"; xp_fail "test_lifecycle_diff on the Redis store"; }
grep -E 'store|seed|lifecycle diff' "$XP_TMP/diff.log"
grep -q '^central store: redis' "$XP_TMP/diff.log" || xp_fail "the differential test did not use the Redis store"
grep -q 'all verdicts as the model' "$XP_TMP/diff.log" || xp_fail "the differential test did not finish"
xp_pass "the differential test gives the embedded store's results on the Redis store"

xp_log "a master killed (SIGKILL) while 3 front-ends merge with WAIT 1"
XP_STORE_FAILOVER_SECONDS=12 xp_bg FO_PID failover "$STORE_TEST"
xp_wait_for 20 xp_file_has "$XP_TMP/failover.out" "failover: racing" || xp_fail "the failover run did not start"
sleep 3
VICTIM=
for p in "${XP_REDIS_PORTS[@]}"; do
    if xp_redis_cli "$p" role 2>/dev/null | head -n 1 | grep -qx master; then VICTIM=$p; break; fi
done
[ -n "$VICTIM" ] || xp_fail "no master found"
VPID=$(xp_redis_pid_of "$VICTIM")
xp_log "kill -9 master 127.0.0.1:$VICTIM (pid $VPID)"
kill -KILL "$VPID"
xp_wait_pid "$FO_PID" 90 || xp_fail "the failover run did not finish"
cat "$XP_TMP/failover.out" "$XP_TMP/failover.err"
[ "$XP_RC" = 0 ] || xp_fail "counts wrong across the failover"
REMAINING=()
for p in "${XP_REDIS_PORTS[@]}"; do [ "$p" = "$VICTIM" ] || REMAINING+=("$p"); done
XP_REDIS_PORTS=("${REMAINING[@]}")
xp_wait_for 20 xp_redis_cluster_ok || xp_fail "the cluster is not ok after the failover"
xp_pass "a replica took over; every pair counts every synced packet exactly once"
