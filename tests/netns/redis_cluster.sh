# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
# shellcheck disable=SC2034 # the XP_REDIS_* names are for the sourcing test
#
# A Redis Cluster on loopback for the store tests: source after lib.sh and xp_init.
# xp_redis_cluster_start MASTERS REPLICAS_PER_MASTER starts MASTERS x (1 + REPLICAS)
# redis-server processes on 127.0.0.1 (ports from a per-run base), each in its own
# directory under $XP_TMP, registered with lib.sh so that only they are killed on exit,
# forms the cluster with redis-cli --cluster create and waits for cluster_state:ok.
# The default user has a password (XP_REDIS_ADMIN_PASS: the test's admin work); the
# store runs as the ACL user "xpro" (XP_REDIS_USER, XP_REDIS_PASS), allowed its keys and
# the commands it uses only.

XP_REDIS_PORTS=()
XP_REDIS_PIDS=()
XP_REDIS_SEEDS=
XP_REDIS_ADMIN_PASS=
XP_REDIS_USER=xpro
XP_REDIS_PASS=
# XP_REDIS_NS: the namespace the nodes run in (their 127.0.0.1); "" : this one.
XP_REDIS_NS=${XP_REDIS_NS:-}

xp_redis_in() { if [ -n "$XP_REDIS_NS" ]; then ip netns exec "$XP_REDIS_NS" "$@"; else "$@"; fi; }

xp_require_redis() {
    xp_require_cmd redis-server
    xp_require_cmd redis-cli
}

# xp_redis_cli PORT ARGS...: redis-cli as the admin against one node.
xp_redis_cli() {
    local port=$1
    shift
    xp_redis_in redis-cli -h 127.0.0.1 -p "$port" -a "$XP_REDIS_ADMIN_PASS" --no-auth-warning "$@"
}

xp_redis_cluster_ok() {
    local p
    for p in "${XP_REDIS_PORTS[@]}"; do
        xp_redis_cli "$p" cluster info 2>/dev/null | grep -q 'cluster_state:ok' || return 1
    done
}

xp_redis_cluster_start() {
    local masters=$1 replicas=$2 n i port base dir addrs=()
    n=$((masters * (1 + replicas)))
    # ports base..base+n-1 and their cluster bus (+10000), away from the usual 6379/7000s
    base=$((21000 + ($$ % 500) * 12))
    XP_REDIS_ADMIN_PASS=$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')
    XP_REDIS_PASS=$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')
    for ((i = 0; i < n; i++)); do
        port=$((base + i))
        dir=$XP_TMP/redis-$port
        mkdir -p "$dir"
        cat >"$dir/redis.conf" <<CONF
bind 127.0.0.1
port $port
dir $dir
daemonize no
cluster-enabled yes
cluster-config-file $dir/nodes.conf
cluster-node-timeout 2000
appendonly no
save ""
requirepass $XP_REDIS_ADMIN_PASS
masterauth $XP_REDIS_ADMIN_PASS
user $XP_REDIS_USER on >$XP_REDIS_PASS ~xp* resetchannels -@all +@read +@write +@scripting +@connection +cluster|slots +cluster|shards +cluster|keyslot +asking +readonly +info
logfile $dir/redis.log
CONF
        if [ -n "$XP_REDIS_NS" ]; then
            # ip netns exec execs redis-server: the PID is the server's own
            xp_bg XP_REDIS_PID_NEW "redis-$port" ip netns exec "$XP_REDIS_NS" redis-server "$dir/redis.conf"
        else
            xp_bg XP_REDIS_PID_NEW "redis-$port" redis-server "$dir/redis.conf"
        fi
        XP_REDIS_PIDS+=("$XP_REDIS_PID_NEW")
        XP_REDIS_PORTS+=("$port")
        addrs+=("127.0.0.1:$port")
    done
    for port in "${XP_REDIS_PORTS[@]}"; do
        xp_wait_for 10 xp_redis_cli "$port" ping || xp_fail "redis-server on $port did not start"
    done
    if [ "$n" = 1 ]; then
        # redis-cli --cluster create wants 3 masters: one node takes every slot itself
        xp_redis_cli "${XP_REDIS_PORTS[0]}" cluster addslotsrange 0 16383 >"$XP_TMP/cluster-create.log" 2>&1 ||
            xp_fail "cluster addslotsrange failed"
    else
        xp_redis_in redis-cli -a "$XP_REDIS_ADMIN_PASS" --no-auth-warning --cluster create "${addrs[@]}" \
            --cluster-replicas "$replicas" --cluster-yes >"$XP_TMP/cluster-create.log" 2>&1 ||
            xp_fail "redis-cli --cluster create failed"
    fi
    xp_wait_for 30 xp_redis_cluster_ok || xp_fail "the cluster did not reach cluster_state:ok"
    XP_REDIS_SEEDS=$(IFS=,; echo "${addrs[*]:0:2}")
}

# xp_redis_cluster_stop: stop the nodes we started (SIGTERM, bounded) and forget them.
xp_redis_cluster_stop() {
    local pid
    for pid in "${XP_REDIS_PIDS[@]}"; do xp_kill "$pid" TERM; done
    XP_REDIS_PIDS=()
    XP_REDIS_PORTS=()
}

# xp_redis_pid_of PORT: the PID of the redis-server we started on PORT.
xp_redis_pid_of() {
    local i
    for i in "${!XP_REDIS_PORTS[@]}"; do
        [ "${XP_REDIS_PORTS[$i]}" = "$1" ] && { echo "${XP_REDIS_PIDS[$i]}"; return 0; }
    done
    return 1
}
