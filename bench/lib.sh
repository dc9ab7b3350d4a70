# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# Bench helpers, sourced by the bench scripts: the three-namespace topology,
# running things inside a namespace with bpffs mounted, core pinning,
# threaded NAPI, and a teardown that always runs.
#
#   ns GEN  [g0] <--veth--> [d0]  ns DUT  [d1] <--veth--> [s0]  ns SINK
#
# Interface names carry a prefix ($XB_PREFIX, default "xb": xbg0, xbd0,
# xbd1, xbs0) because NAPI kthreads are named after their interface
# ("napi/xbd0-8193") and are found by that name, machine-wide. Namespace
# names carry the script's PID. Addresses: 198.18.0.0/15 only.

XB_PREFIX=${XB_PREFIX:-xb}
XB_NS_GEN="${XB_PREFIX}-gen-$$"
XB_NS_DUT="${XB_PREFIX}-dut-$$"
XB_NS_SINK="${XB_PREFIX}-sink-$$"
XB_G0="${XB_PREFIX}g0"
XB_D0="${XB_PREFIX}d0"
XB_D1="${XB_PREFIX}d1"
XB_S0="${XB_PREFIX}s0"
# Fixed, locally administered MACs: the generator's frames are addressed to d0.
XB_MAC_G0=02:78:62:00:00:01
XB_MAC_D0=02:78:62:00:00:02
XB_MAC_D1=02:78:62:00:00:03
XB_MAC_S0=02:78:62:00:00:04
XB_IP_G0=198.18.0.1
XB_IP_S0=198.18.0.2

XB_PIDS=()       # every background process we started, stopped by PID at teardown
XB_TMP=""        # private scratch directory

xb_log() { printf '%s bench: %s\n' "$(date +%T)" "$*" >&2; }
xb_die() { xb_log "error: $*"; exit 1; }

# xb_release_build DIR TARGET: set DIR up as a release build if missing (warn if it is not
# one), then build TARGET in it. For the benches that time code alone (policer.sh, lpm.sh).
xb_release_build() {
    local dir=$1 target=$2 src
    src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
    if [ ! -d "$dir" ]; then
        meson setup "$dir" "$src" --buildtype=release >&2
    fi
    [ "$(meson introspect "$dir" --buildoptions | jq -r '.[] | select(.name == "buildtype") | .value')" = release ] ||
        echo "warning: $dir is not a release build" >&2
    ninja -C "$dir" "$target" >&2
}

# The prologue of every command run in a namespace: bpffs mounted in the
# namespace's private mount namespace, then exec (the PID stays the program's).
XB_NS_PROLOGUE='mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf || exit 9; exec "$@"'

# Run a command in a namespace, in the foreground.
xb_nsrun() {
    local ns=$1
    shift
    ip netns exec "$ns" sh -c "$XB_NS_PROLOGUE" xb-nsrun "$@"
}

xb_topology_up() {
    ip netns add "$XB_NS_GEN"
    ip netns add "$XB_NS_DUT"
    ip netns add "$XB_NS_SINK"
    local ns
    for ns in "$XB_NS_GEN" "$XB_NS_DUT" "$XB_NS_SINK"; do
        ip -n "$ns" link set lo up
        # No IPv6 autoconfiguration chatter on the measured links.
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
            net.ipv6.conf.default.disable_ipv6=1
    done
    ip link add "$XB_G0" netns "$XB_NS_GEN" address "$XB_MAC_G0" type veth \
        peer name "$XB_D0" netns "$XB_NS_DUT" address "$XB_MAC_D0"
    ip link add "$XB_D1" netns "$XB_NS_DUT" address "$XB_MAC_D1" type veth \
        peer name "$XB_S0" netns "$XB_NS_SINK" address "$XB_MAC_S0"
    ip -n "$XB_NS_GEN" addr add "$XB_IP_G0/24" dev "$XB_G0"
    ip -n "$XB_NS_SINK" addr add "$XB_IP_S0/24" dev "$XB_S0"
    ip -n "$XB_NS_GEN" link set "$XB_G0" up
    ip -n "$XB_NS_DUT" link set "$XB_D0" up
    ip -n "$XB_NS_DUT" link set "$XB_D1" up
    ip -n "$XB_NS_SINK" link set "$XB_S0" up
}

# Stop one process we started: TERM, then KILL after a grace period.
xb_stop_pid() {
    local pid=$1 i
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null || true
}

# Start a command in namespace $1 in the background; its PID (ip, sh and the
# program exec each other, so it is the program's) goes to XB_LAST_PID and
# XB_PIDS. Not through a shell function: $! would be a subshell's PID and a
# TERM would orphan the program. The lock fd 9 is not inherited.
xb_spawn() {
    local ns=$1
    shift
    ip netns exec "$ns" sh -c "$XB_NS_PROLOGUE" xb-spawn "$@" 9>&- &
    XB_LAST_PID=$!
    XB_PIDS+=("$XB_LAST_PID")
}

# Remove any XDP program left on an interface (a contender that died).
xb_xdp_off() {
    local ns=$1 dev=$2
    ip -n "$ns" link set dev "$dev" xdp off 2>/dev/null || true
}

xb_has_xdp() {
    ip -n "$1" -d link show dev "$2" 2>/dev/null | grep -q 'prog/xdp'
}

# Wait until DEV in NS has an XDP program, at most $3 seconds.
xb_wait_xdp() {
    local ns=$1 dev=$2 timeout=${3:-10} i
    for ((i = 0; i < timeout * 20; i++)); do
        xb_has_xdp "$ns" "$dev" && return 0
        sleep 0.05
    done
    return 1
}

# Wait until FILE contains a line matching REGEX, at most $3 seconds, while PID lives.
xb_wait_line() {
    local file=$1 re=$2 timeout=${3:-10} pid=${4:-} i
    for ((i = 0; i < timeout * 20; i++)); do
        grep -qE "$re" "$file" 2>/dev/null && return 0
        [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null && return 1
        sleep 0.05
    done
    return 1
}

# PIDs of the NAPI kthreads of DEV ("napi/DEV-<napi id>").
xb_napi_pids() {
    local dev=$1 f comm
    for f in /proc/[0-9]*/comm; do
        comm=$(cat "$f" 2>/dev/null) || continue
        case $comm in
        "napi/$dev-"*) f=${f#/proc/}; echo "${f%/comm}" ;;
        esac
    done
}

# Threaded NAPI on (1) or off (0) for DEV in NS; when on, pin its kthreads to CPU.
# Must follow every XDP attach on DEV: an attach resets it.
xb_threaded() {
    local ns=$1 dev=$2 on=$3 cpu=${4:-} pid n=0 i
    ip netns exec "$ns" sh -c "echo $on > /sys/class/net/$dev/threaded"
    [ "$on" = 1 ] || return 0
    for i in $(seq 1 40); do
        for pid in $(xb_napi_pids "$dev"); do
            taskset -pc "$cpu" "$pid" >/dev/null && n=$((n + 1))
        done
        [ "$n" -gt 0 ] && return 0
        sleep 0.05
    done
    xb_log "no NAPI kthread found for $dev"
    return 1
}

xb_teardown() {
    local pid ns
    for pid in "${XB_PIDS[@]}"; do
        xb_stop_pid "$pid"
    done
    XB_PIDS=()
    for ns in "$XB_NS_GEN" "$XB_NS_DUT" "$XB_NS_SINK"; do
        ip netns del "$ns" 2>/dev/null || true
    done
    if [ -n "$XB_TMP" ]; then
        if [ "${XB_KEEP:-0}" = 1 ]; then xb_log "kept $XB_TMP"; else rm -rf "$XB_TMP"; fi
    fi
    XB_TMP=""
}

# Call once: the teardown runs on any exit, and INT/TERM end the script.
xb_trap_teardown() {
    trap 'xb_teardown' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}
