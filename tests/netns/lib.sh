# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
# shellcheck disable=SC2034 # XP_RC, XP_GEN and the topology names are for the sourcing test
#
# The netns test library. Source it from a test script, then call xp_init.
#
# Everything a test creates is registered here and torn down by xp_cleanup, which runs on
# EXIT, INT and TERM, and when the watchdog fires after XP_TEST_TIMEOUT seconds. Namespace
# names carry a per-run prefix (xp<pid>-…), so parallel runs cannot collide; interfaces are
# created directly inside their namespaces, so nothing is left in the root namespace.
#
# Only addresses in 198.18.0.0/15 and 2001:2::/48 are ever configured.
#
# Exit codes: 0 pass, 1 fail, 77 skip (a skip is a failure when CI=true).

set -euo pipefail

XP_TEST_NAME=${XP_TEST_NAME:-$(basename "${0%.sh}")}
XP_TEST_TIMEOUT=${XP_TEST_TIMEOUT:-240}
XP_PREFIX="xp$$"
XP_NAMESPACES=()
XP_PIDS=()
XP_TMP=
XP_WATCHDOG_PID=
XP_CLEANED=0

# Binaries: from the meson build (XPRO_BUILD), else build/ next to the sources.
XPRO_SRC=${XPRO_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
XPRO_BUILD=${XPRO_BUILD:-$XPRO_SRC/build}
XP_PROXY=${XP_PROXY:-$XPRO_BUILD/src/xpro-proxy}
XP_PKTIO=${XP_PKTIO:-$XPRO_BUILD/tests/tools/xp_pktio}

xp_log() { printf '[%s] %s\n' "$XP_TEST_NAME" "$*" >&2; }
xp_pass() { printf 'PASS: %s\n' "$*"; }

# xp_fail MSG: records the failure and exits 1 (the EXIT trap tears down).
xp_fail() {
    printf 'FAIL: %s\n' "$*"
    exit 1
}

# xp_check DESCRIPTION CMD...: PASS or FAIL (and exit) on CMD's status.
xp_check() {
    local what=$1
    shift
    if "$@"; then
        xp_pass "$what"
    else
        xp_fail "$what"
    fi
}

# xp_skip REASON: exit 77, or fail when CI=true (CI must not go green on skipped tests).
xp_skip() {
    if [ "${CI:-}" = true ]; then
        printf 'FAIL: %s (skip is a failure in CI)\n' "$*"
        exit 1
    fi
    printf 'SKIPPED: %s\n' "$*"
    exit 77
}

# ---- teardown --------------------------------------------------------------------------

xp_register_pid() { XP_PIDS+=("$1"); [ -z "$XP_TMP" ] || echo "$1" >>"$XP_TMP/pids"; }

# xp_kill PID [SIGNAL]: signal one process we started and wait (bounded) for it to go.
xp_kill() {
    local pid=$1 sig=${2:-TERM} i
    kill -0 "$pid" 2>/dev/null || return 0
    kill "-$sig" "$pid" 2>/dev/null || true
    for i in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

xp_cleanup() {
    local rc=$? pid ns
    [ "$XP_CLEANED" = 1 ] && return 0
    XP_CLEANED=1
    set +e
    trap - EXIT INT TERM
    [ -n "$XP_WATCHDOG_PID" ] && kill "$XP_WATCHDOG_PID" 2>/dev/null && wait "$XP_WATCHDOG_PID" 2>/dev/null
    for pid in "${XP_PIDS[@]}"; do
        kill -0 "$pid" 2>/dev/null && kill -TERM "$pid" 2>/dev/null
    done
    for pid in "${XP_PIDS[@]}"; do
        xp_kill "$pid" KILL >/dev/null 2>&1
    done
    for ns in "${XP_NAMESPACES[@]}"; do
        ip netns del "$ns" 2>/dev/null
    done
    if [ -n "$XP_TMP" ] && [ -d "$XP_TMP" ]; then
        if [ "$rc" != 0 ] && [ "$rc" != 77 ]; then
            xp_dump_logs
        fi
        if [ -n "${XP_KEEP_TMP:-}" ]; then
            xp_log "logs kept in $XP_TMP"
        else
            rm -rf "$XP_TMP"
        fi
    fi
    return 0
}

# On failure, show the tail of every log the test wrote, so meson's error log says why.
xp_dump_logs() {
    local f
    for f in "$XP_TMP"/*.out "$XP_TMP"/*.err "$XP_TMP"/*.log; do
        [ -s "$f" ] || continue
        printf -- '--- %s (last 15 lines)\n' "${f##*/}" >&2
        tail -n 15 "$f" | cut -c1-400 >&2
    done
}

xp_on_signal() {
    xp_log "interrupted (signal or timeout)"
    printf 'FAIL: %s interrupted or timed out after %ss\n' "$XP_TEST_NAME" "$XP_TEST_TIMEOUT"
    exit 1
}

# xp_init: traps, temp dir, watchdog. Call once, first.
# xp_conf_inline_base: the keys an inline proxy's configuration in these tests starts with
# (this test's proxy_id, the xp_topo_inline ports, the CPUs to use), on one line to open a
# JSON object in a heredoc: {  $(xp_conf_inline_base),  "events_out": ... }.
xp_conf_inline_base() {
    printf '"proxy_id": "%s", "ports": { "access": "xpa", "core": "xpc" }, "cpus": %s' \
        "$XP_PREFIX" "$(xp_proxy_cpus)"
}

xp_init() {
    # Configurations written here hold secrets (sync secrets, tunnel keys): the programs
    # refuse them readable by others, as they would on a real box.
    umask 077
    XP_TMP=$(mktemp -d "/tmp/xp-${XP_TEST_NAME}.XXXXXX")
    # Unprivileged daemons (xp_central_start, "user") may pass through to their own files.
    chmod 0711 "$XP_TMP"
    : >"$XP_TMP/pids"
    trap xp_cleanup EXIT
    trap xp_on_signal INT TERM
    # The watchdog kills the processes we registered (a foreground wait would otherwise
    # delay the TERM trap), then the test shell, which tears down in its trap.
    # Its sleep must not hold our stdout/stderr (meson waits for EOF on them), and must go
    # when the watchdog is cancelled.
    (
        trap - EXIT INT
        sleep "$XP_TEST_TIMEOUT" >/dev/null 2>&1 &
        sp=$!
        trap 'kill "$sp" 2>/dev/null; exit 0' TERM
        wait "$sp" 2>/dev/null || exit 0
        echo "[$XP_TEST_NAME] watchdog: timeout after ${XP_TEST_TIMEOUT}s" >&2
        while read -r p; do kill -KILL "$p" 2>/dev/null; done <"$XP_TMP/pids"
        # A foreground command (ours: a child of the test shell) would delay the TERM trap.
        for p in $(ps -o pid= --ppid $$ 2>/dev/null); do
            [ "$p" = "$BASHPID" ] || kill -TERM "$p" 2>/dev/null
        done
        kill -TERM $$ 2>/dev/null
    ) &
    XP_WATCHDOG_PID=$!
}

# ---- probes ----------------------------------------------------------------------------

xp_require_root() { [ "$(id -u)" = 0 ] || xp_skip "needs root"; }

xp_require_cmd() {
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 || xp_skip "needs $c"
    done
}

xp_require_veth() {
    local ns="${XP_PREFIX}-probe"
    ip netns add "$ns" 2>/dev/null || xp_skip "cannot create network namespaces"
    if ! ip -n "$ns" link add xpp0 type veth peer name xpp1 2>/dev/null; then
        ip netns del "$ns"
        xp_skip "veth not available"
    fi
    ip netns del "$ns"
}

xp_require_pktio() { [ -x "$XP_PKTIO" ] || xp_fail "xp_pktio not built: $XP_PKTIO"; }
xp_require_proxy() { [ -x "$XP_PROXY" ] || xp_fail "xpro-proxy not built: $XP_PROXY"; }

# XDP and AF_XDP: load a trivial XDP program and open an AF_XDP socket.
xp_require_xdp() {
    xp_require_pktio
    "$XP_PKTIO" probe >"$XP_TMP/probe.out" 2>&1 ||
        xp_skip "XDP/AF_XDP unavailable: $(tr '\n' ' ' <"$XP_TMP/probe.out")"
}

# The usual preamble of a netns test.
xp_require_all() {
    xp_require_root
    xp_require_cmd ip jq
    xp_require_veth
    xp_require_xdp
    xp_require_proxy
}

# ---- namespaces, links, addresses ------------------------------------------------------

# xp_ns_create VAR SUFFIX: creates namespace "<prefix>-SUFFIX", stores its name in VAR.
xp_ns_create() {
    local var=$1 ns="${XP_PREFIX}-$2"
    ip netns add "$ns"
    XP_NAMESPACES+=("$ns")
    ip -n "$ns" link set lo up
    # No router solicitations, no DAD: less ND noise on the test links.
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
        net.ipv6.conf.default.router_solicitations=0 >/dev/null 2>&1 || true
    printf -v "$var" '%s' "$ns"
}

# xp_ns_delete NS: deletes one namespace now (and forgets it).
xp_ns_delete() {
    local ns=$1 i
    ip netns del "$ns" 2>/dev/null || true
    for i in "${!XP_NAMESPACES[@]}"; do
        [ "${XP_NAMESPACES[$i]}" != "$ns" ] || unset 'XP_NAMESPACES[i]'
    done
    XP_NAMESPACES=("${XP_NAMESPACES[@]}")
}

# xp_ns_exec NS CMD...: runs CMD inside NS.
xp_ns_exec() {
    local ns=$1
    shift
    ip netns exec "$ns" "$@"
}

# xp_ns_exec_bpf NS CMD...: like xp_ns_exec with bpffs mounted (ip netns exec has its own
# mount namespace, so the mount lives and dies with the command). CMD is exec'ed, so its
# PID is the one a background caller gets.
XP_BPFFS_SH='mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf || exit 9; exec "$@"'
xp_ns_exec_bpf() {
    local ns=$1
    shift
    ip netns exec "$ns" sh -c "$XP_BPFFS_SH" xp "$@"
}

# xp_mount_bpffs_root: bpffs in the root namespace (the brief's machine does not mount it).
xp_mount_bpffs_root() {
    mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
}

# xp_veth NAME_A NS_A NAME_B NS_B [Q]: a veth pair with Q queues, each end in its namespace, up.
xp_veth() {
    local a=$1 nsa=$2 b=$3 nsb=$4 q=${5:-1}
    ip link add "$a" netns "$nsa" numtxqueues "$q" numrxqueues "$q" type veth \
        peer name "$b" netns "$nsb" numtxqueues "$q" numrxqueues "$q"
    xp_link_quiet "$nsa" "$a"
    xp_link_quiet "$nsb" "$b"
    ip -n "$nsa" link set "$a" up
    ip -n "$nsb" link set "$b" up
}

# Offloads that could rewrite or merge frames would break byte-for-byte comparison.
xp_link_quiet() {
    local ns=$1 dev=$2
    ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$dev.accept_dad=0" \
        "net.ipv6.conf.$dev.router_solicitations=0" >/dev/null 2>&1 || true
    if command -v ethtool >/dev/null 2>&1; then
        ip netns exec "$ns" ethtool -K "$dev" gro off tso off gso off >/dev/null 2>&1 || true
    fi
}

# xp_bridge NS BR PORT...: a bridge with the ports enslaved, everything up. No STP, no
# forwarding delay: it must pass frames the moment it is up.
xp_bridge() {
    local ns=$1 br=$2 p
    shift 2
    ip -n "$ns" link add "$br" type bridge stp_state 0 forward_delay 0
    xp_link_quiet "$ns" "$br"
    for p in "$@"; do
        ip -n "$ns" link set "$p" master "$br"
    done
    ip -n "$ns" link set "$br" up
}

# xp_addr NS DEV ADDR/PLEN: IPv6 addresses get nodad.
xp_addr() {
    local ns=$1 dev=$2 a=$3
    case $a in
    *:*) ip -n "$ns" addr add "$a" dev "$dev" nodad ;;
    *) ip -n "$ns" addr add "$a" dev "$dev" ;;
    esac
}

# xp_two_proxies_topology VICTIM: the sync tests' network. NS_C holds the bridge mbr
# (198.18.255.1/24) where xpro-central listens; for i in 1 2, NS_U$i (u0, 198.18.0.$i) ->
# NS_P$i (xpa, xpc on the bridge xpbr; m0 198.18.255.1$i on mbr) -> NS_T$i (t0, VICTIM).
xp_two_proxies_topology() {
    local victim=$1 i u p t
    xp_ns_create NS_C central
    ip -n "$NS_C" link add mbr type bridge
    ip -n "$NS_C" link set mbr up
    xp_addr "$NS_C" mbr 198.18.255.1/24
    for i in 1 2; do
        xp_ns_create "NS_U$i" "unit$i"
        xp_ns_create "NS_P$i" "proxy$i"
        xp_ns_create "NS_T$i" "target$i"
        u="NS_U$i" p="NS_P$i" t="NS_T$i"
        xp_veth u0 "${!u}" xpa "${!p}"
        xp_veth xpc "${!p}" t0 "${!t}"
        xp_bridge "${!p}" xpbr xpa xpc
        xp_veth m0 "${!p}" "cp$i" "$NS_C"
        ip -n "$NS_C" link set "cp$i" master mbr
        xp_addr "${!p}" m0 "198.18.255.1$i/24"
        xp_addr "${!u}" u0 "198.18.0.$i/24"
        xp_addr "${!t}" t0 "$victim/24"
    done
}

xp_mac() { ip -n "$1" -j link show dev "$2" | jq -r '.[0].address'; }

# xp_neigh NS DEV ADDR MAC: a permanent neighbour entry.
xp_neigh() { ip -n "$1" neigh replace "$3" lladdr "$4" dev "$2" nud permanent; }

# xp_has_xdp NS DEV: true if an XDP program is attached to DEV.
xp_has_xdp() { ip -n "$1" -d link show dev "$2" | grep -qw 'xdp\|xdpgeneric\|xdpdrv\|xdpoffload\|prog/xdp'; }
xp_no_xdp() { ! xp_has_xdp "$@"; }

# ---- processes -------------------------------------------------------------------------

# xp_bg VAR NAME CMD...: runs CMD in the background, stdout in $XP_TMP/NAME.out, stderr in
# $XP_TMP/NAME.err; registers the PID for teardown and stores it in VAR.
# CMD must be an external command (not a function), so that the PID is CMD's own.
xp_bg() {
    local _xp_var=$1 _xp_name=$2 _xp_pid
    shift 2
    "$@" >"$XP_TMP/$_xp_name.out" 2>"$XP_TMP/$_xp_name.err" </dev/null &
    _xp_pid=$!
    xp_register_pid "$_xp_pid"
    printf -v "$_xp_var" '%s' "$_xp_pid"
}

# xp_wait_pid PID TIMEOUT: waits for PID (a child of this shell) to exit, bounded; sets
# XP_RC to its exit status. Returns 1 if it is still running after TIMEOUT seconds.
# Call it directly, never in $(...): a subshell cannot wait for its parent's children.
xp_wait_pid() {
    local pid=$1 t=$2 end
    XP_RC=
    end=$(($(date +%s%N) / 1000000 + ${t%.*} * 1000))
    while kill -0 "$pid" 2>/dev/null; do
        [ "$(($(date +%s%N) / 1000000))" -lt "$end" ] || return 1
        sleep 0.05
    done
    XP_RC=0
    wait "$pid" 2>/dev/null || XP_RC=$?
}

# xp_wait_for TIMEOUT_SEC CMD...: polls CMD every 0.1 s until it succeeds or time runs out.
xp_wait_for() {
    local t=$1 end
    shift
    end=$(($(date +%s%N) / 1000000 + ${t%.*} * 1000))
    while ! "$@" >/dev/null 2>&1; do
        [ "$(($(date +%s%N) / 1000000))" -lt "$end" ] || return 1
        sleep 0.1
    done
}

# xp_file_has FILE PATTERN: for xp_wait_for.
xp_file_has() { [ -f "$1" ] && grep -q -- "$2" "$1"; }

# xp_lines FILE: number of lines in FILE (0 if missing).
xp_lines() { if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi; }

# ---- the proxy -------------------------------------------------------------------------

# xp_proxy_config FILE QUEUES FAIL_MODE [CPUS_JSON]: writes an inline config for xpa/xpc.
xp_proxy_config() {
    local f=$1 q=$2 fm=$3 cpus=${4:-}
    {
        printf '{\n  "proxy_id": "%s",\n  "mode": "inline",\n' "$XP_PREFIX"
        printf '  "ports": { "access": "xpa", "core": "xpc" },\n'
        printf '  "queues": %s,\n' "$q"
        [ -z "$cpus" ] || printf '  "cpus": %s,\n' "$cpus"
        printf '  "fail_mode": "%s",\n' "$fm"
        printf '  "stats_interval_ms": 1000\n}\n'
    } >"$f"
}

# The CPU the proxy's workers should use: the last one, so that the sender (pinned by
# xp_sender_cpu to CPU 0) does not share its core. Empty (no pinning) on one CPU.
xp_proxy_cpus() {
    local n
    n=$(nproc)
    if [ "$n" -ge 2 ]; then echo "[$((n - 1))]"; else echo ""; fi
}
xp_sender_taskset() {
    if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null 2>&1; then echo "taskset -c 0"; fi
}

# xp_proxy_start VAR NAME CONFIG [ARGS...]: starts xpro-proxy in $XP_NS_PROXY with bpffs,
# stats on stdout ($XP_TMP/NAME.out), logs in NAME.err; VAR gets its PID.
xp_proxy_start() {
    local var=$1 name=$2 conf=$3
    shift 3
    xp_bg "$var" "$name" ip netns exec "$XP_NS_PROXY" sh -c "${XP_PROXY_SH:-$XP_BPFFS_SH}" xp \
        "$XP_PROXY" -c "$conf" --stats-out - "$@"
}

# For the DPDK backend (XP_PROXY_SH=$XP_DPDK_SH xp_proxy_start ...): EAL's runtime files go to
# a tmpfs that lives and dies with the proxy's mount namespace (ip netns exec gives every
# command its own); net_af_xdp wants bpffs there too.
XP_DPDK_SH='mkdir -p /run/dpdk && mount -t tmpfs xpro-dpdk /run/dpdk || exit 9
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf || exit 9
exec "$@"'

# xp_has_dpdk: true if this build has the DPDK backend (the config parser says so).
xp_has_dpdk() {
    printf '{"ports": {"access": "a", "core": "b"}, "backend": "dpdk"}\n' >"$XP_TMP/probe-dpdk.json"
    "$XP_PROXY" -c "$XP_TMP/probe-dpdk.json" --check-config >/dev/null 2>&1
}

# xp_proxy_wait_stats NAME N TIMEOUT: waits until the proxy printed at least N stats lines.
xp_proxy_wait_stats() {
    local name=$1 n=$2 t=$3
    xp_wait_for "$t" xp_stats_at_least "$XP_TMP/$name.out" "$n"
}
xp_stats_at_least() { [ "$(grep -c '"totals"' "$1" 2>/dev/null || true)" -ge "$2" ]; }

# xp_proxy_last_stats NAME: the last stats line (the final one after a clean exit).
xp_proxy_last_stats() { grep '"totals"' "$XP_TMP/$1.out" | tail -n 1; }

# ---- the central node ------------------------------------------------------------------

XP_CENTRAL=${XP_CENTRAL:-$XPRO_BUILD/src/xpro-central}

# xp_central_start VAR NAME NS CONFIG [ARGS...]: xpro-central in NS as the account xpro with
# no capabilities at all (as conf/systemd/xpro-central.service.in runs it): its configuration
# (root:xpro 0640) and state file live in $XP_TMP/<CONFIG's name>.d (xpro's, 0700: a
# restart with the same CONFIG finds its state). A state_file in CONFIG is moved there. VAR
# gets its PID; logs as for xp_bg under NAME.
xp_central_start() {
    local var=$1 name=$2 ns=$3 conf=$4 d
    shift 4
    getent passwd xpro >/dev/null || xp_fail "no account xpro (scripts/setup.sh creates it)"
    d="$XP_TMP/$(basename "$conf" .json).d"
    install -d -m 0700 -o xpro -g xpro "$d"
    jq --arg s "$d/central.state" 'if has("state_file") then .state_file = $s else . end' \
        "$conf" >"$d/central.json"
    chown root:xpro "$d/central.json"
    chmod 0640 "$d/central.json"
    xp_bg "$var" "$name" ip netns exec "$ns" setpriv --reuid=xpro --regid=xpro --clear-groups \
        --inh-caps=-all --ambient-caps=-all --bounding-set=-all --no-new-privs \
        "$XP_CENTRAL" -c "$d/central.json" "$@"
}

# xp_proc_field PID FIELD: a line of /proc/PID/status without its name ("CapEff", "Uid"...).
xp_proc_field() { awk -v f="$2:" '$1 == f { $1 = ""; sub(/^ /, ""); print }' "/proc/$1/status"; }

# ---- the stats' conservation law (docs/stats.md, "Every frame is accounted for") -------

# xp_conservation_violations FINAL_JSON: prints one line per violated equation of the law on a
# final stats line (nothing when it holds). Each equation names its terms.
xp_conservation_violations() {
    jq -r '
      def n: . // 0;
      def sum(f): [f] | add // 0;
      # 1. XDP, per port: every frame the program saw took exactly one named action
      (.ports[] | select(.xdp.rx != null) |
        (.xdp | .rx) as $rx | (.xdp | to_entries | map(select(.key != "rx")) | map(.value) | add) as $acts |
        select($rx != $acts) | "port \(.role): xdp.rx \($rx) != sum of its actions \($acts)"),
      # 2. AF_XDP, per port: what XDP redirected reached a socket or was dropped by the socket (counted)
      (.ports[] | select(.xdp.redirect != null) |
        .xdp.redirect as $r | sum(.queues[] | .rx_packets + (.xsk.rx_dropped | n) + (.xsk.rx_ring_full | n)) as $s |
        select($r != $s) | "port \(.role): xdp.redirect \($r) != sockets rx + xsk drops \($s)"),
      # 3. per queue, both ports: received = sent + dropped (TX ring full, policy) (+ multi-segment, DPDK)
      ([.ports[].queues[]] | group_by(.queue)[] |
        sum(.[] | .rx_packets) as $rx |
        sum(.[] | .tx_packets + .drop_tx_ring_full + (.drop_policy | n) + (.drop_multiseg | n)) as $out |
        select($rx != $out) | "queue \(.[0].queue): rx \($rx) != tx + drop_tx_ring_full + drop_policy \($out)"),
      # 4. totals
      (.totals | select(.rx_packets != .tx_packets + .drop_packets) |
        "totals: rx_packets \(.rx_packets) != tx_packets \(.tx_packets) + drop_packets \(.drop_packets)"),
      # 5. inline pipeline: every frame of the access port has a fate; the drops are the pipeline drops
      (select(.pipeline != null and .gateway == null) |
        sum(.ports[] | select(.role == "access") | .queues[] | .rx_packets) as $arx |
        sum(.ports[] | select(.role == "access") | .queues[] | (.drop_policy | n)) as $adrop |
        (.pipeline | .policed + .not_ip + (.drop_non_ip | n) + .allowlisted + .unpoliced +
           (.unpoliced_group | n) + .drop_malformed + .pass_malformed + .early_drop_blocked + (.drop_manual | n)) as $fates |
        (.pipeline | .drop_unit_rate + .drop_dst_rate + (.drop_dst_share | n) + .drop_table_full + .drop_malformed +
           (.drop_non_ip | n) + .early_drop_blocked + (.drop_manual | n)) as $pdrops |
        (if $arx != $fates then "access rx \($arx) != pipeline fates \($fates)" else empty end),
        (if $adrop != $pdrops then "access drop_policy \($adrop) != pipeline drops \($pdrops)" else empty end)),
      # 6. gateway mode: every tunnel frame is forwarded, answered or dropped for a named reason
      (select(.gateway != null) | .gateway as $g |
        sum(.ports[] | select(.role == "access") | .queues[] | .rx_packets) as $arx |
        ($g | to_entries | map(select(.key | startswith("drop_"))) | map(.value) | add) as $gdrops |
        ([$g.tunnel_drops[]] | add) as $tdrops |
        (if $g.rx != $arx then "gateway.rx \($g.rx) != access rx_packets \($arx)" else empty end),
        (if $g.rx != $g.forward + $g.keepalives + $g.overload_answers + $gdrops then
           "gateway.rx \($g.rx) != forward + keepalives + overload_answers + drop_* (\($g.forward) + \($g.keepalives) + \($g.overload_answers) + \($gdrops))"
         else empty end),
        (if $g.drop_tunnel != $tdrops then "gateway.drop_tunnel \($g.drop_tunnel) != sum of tunnel_drops \($tdrops)" else empty end))
    ' <<<"$1"
}

# xp_check_conservation FINAL_JSON: the law holds on the final stats line.
xp_check_conservation() {
    local bad
    bad=$(xp_conservation_violations "$1")
    [ -z "$bad" ] || printf '%s\n' "$bad" >&2
    xp_check "the stats close: received = forwarded + dropped by reason + passed by reason" test -z "$bad"
}

# ---- traffic ---------------------------------------------------------------------------

# xp_recv_start VAR NAME NS IF ARGS...: starts xp_pktio recv and waits for its "ready".
xp_recv_start() {
    local _xp_var=$1 name=$2 ns=$3 dev=$4 _xp_rpid
    shift 4
    rm -f "$XP_TMP/$name.ready"
    xp_bg _xp_rpid "$name" ip netns exec "$ns" "$XP_PKTIO" recv --ifname "$dev" \
        --ready-file "$XP_TMP/$name.ready" "$@"
    xp_wait_for 10 test -f "$XP_TMP/$name.ready" || xp_fail "receiver $name never became ready"
    printf -v "$_xp_var" '%s' "$_xp_rpid"
}

# xp_send_bg VAR NAME NS IF ARGS...: xp_pktio send in the background (bounded by the
# --duration the caller passes), on the sender CPU.
xp_send_bg() {
    local _xp_var=$1 name=$2 ns=$3 dev=$4
    shift 4
    # shellcheck disable=SC2046
    xp_bg "$_xp_var" "$name" ip netns exec "$ns" $(xp_sender_taskset) "$XP_PKTIO" send \
        --ifname "$dev" "$@"
}

# xp_send NS IF ARGS...: runs xp_pktio send in the foreground (bounded by its own
# --duration, which callers must pass), on the sender CPU.
xp_send() {
    local ns=$1 dev=$2
    shift 2
    # shellcheck disable=SC2046
    ip netns exec "$ns" $(xp_sender_taskset) "$XP_PKTIO" send --ifname "$dev" "$@"
}

# xp_init_inline Q: what most inline tests begin with: xp_init, every requirement, and the
# inline topology with Q queues.
xp_init_inline() {
    xp_init
    xp_require_all
    xp_topo_inline "$1"
}

# ---- the standard inline topology ------------------------------------------------------
#
#   UNIT ns                 PROXY ns                              TARGET ns
#   u0 198.18.0.1/24 ─veth─ xpa ─┐                        ┌─ xpc ─veth─ t0 198.18.0.254/24
#      2001:2::1/64              └──── bridge xpbr ───────┘              2001:2::fe/64
#
# The bridge is the fail-open path: whatever the XDP program passes is bridged. Exports
# XP_NS_UNIT XP_NS_PROXY XP_NS_TARGET and the MACs XP_MAC_U0 XP_MAC_XPA XP_MAC_XPC XP_MAC_T0,
# plus XP_IP_U0 XP_IP_T0 XP_IP6_U0 XP_IP6_T0.
# xp_topo_inline Q [UNITS]: UNITS extra unit addresses 198.18.0.1+i (default 1 in all).
xp_topo_inline() {
    local q=${1:-1} units=${2:-1} i
    xp_ns_create XP_NS_UNIT unit
    xp_ns_create XP_NS_PROXY proxy
    xp_ns_create XP_NS_TARGET target
    xp_veth u0 "$XP_NS_UNIT" xpa "$XP_NS_PROXY" "$q"
    xp_veth xpc "$XP_NS_PROXY" t0 "$XP_NS_TARGET" "$q"
    xp_bridge "$XP_NS_PROXY" xpbr xpa xpc

    XP_IP_U0=198.18.0.1
    XP_IP_T0=198.18.0.254
    XP_IP6_U0=2001:2::1
    XP_IP6_T0=2001:2::fe
    for ((i = 0; i < units; i++)); do
        xp_addr "$XP_NS_UNIT" u0 "198.18.0.$((1 + i))/24"
    done
    xp_addr "$XP_NS_UNIT" u0 "$XP_IP6_U0/64"
    xp_addr "$XP_NS_TARGET" t0 "$XP_IP_T0/24"
    xp_addr "$XP_NS_TARGET" t0 "$XP_IP6_T0/64"

    XP_MAC_U0=$(xp_mac "$XP_NS_UNIT" u0)
    XP_MAC_T0=$(xp_mac "$XP_NS_TARGET" t0)
    XP_MAC_XPA=$(xp_mac "$XP_NS_PROXY" xpa)
    XP_MAC_XPC=$(xp_mac "$XP_NS_PROXY" xpc)
    for ((i = 0; i < units; i++)); do
        xp_neigh "$XP_NS_TARGET" t0 "198.18.0.$((1 + i))" "$XP_MAC_U0"
    done
    xp_neigh "$XP_NS_UNIT" u0 "$XP_IP_T0" "$XP_MAC_T0"
    xp_neigh "$XP_NS_UNIT" u0 "$XP_IP6_T0" "$XP_MAC_T0"
    xp_neigh "$XP_NS_TARGET" t0 "$XP_IP6_U0" "$XP_MAC_U0"
    export XP_NS_UNIT XP_NS_PROXY XP_NS_TARGET XP_MAC_U0 XP_MAC_T0 XP_MAC_XPA XP_MAC_XPC
    export XP_IP_U0 XP_IP_T0 XP_IP6_U0 XP_IP6_T0
}

# xp_topo_destroy: removes the inline topology (to build another one in the same test).
xp_topo_destroy() {
    xp_ns_delete "$XP_NS_UNIT"
    xp_ns_delete "$XP_NS_PROXY"
    xp_ns_delete "$XP_NS_TARGET"
}

# Generation options of the standard flows (xp_pktio send/recv must agree on them).
# xp_gen_up [xp_pktio options...]: UNIT -> TARGET;  xp_gen_down: TARGET -> UNIT.
xp_gen_up() {
    XP_GEN=(--src-mac "$XP_MAC_U0" --dst-mac "$XP_MAC_T0" "$@")
}
xp_gen_down() {
    local a
    for a in "$@"; do
        if [ "$a" = --v6 ]; then
            XP_GEN=(--src-mac "$XP_MAC_T0" --dst-mac "$XP_MAC_U0" --src-ip "$XP_IP6_T0"
                --dst-ip "$XP_IP6_U0" "$@")
            return
        fi
    done
    XP_GEN=(--src-mac "$XP_MAC_T0" --dst-mac "$XP_MAC_U0" --src-ip "$XP_IP_T0"
        --dst-ip "$XP_IP_U0" "$@")
}

# ---- gateway mode ----------------------------------------------------------------------
#
#   LAN ns (bridge lanbr)              P1 ns / P2 ns                     CORE ns (bridge corebr)
#   tapu1..tapuK: lwIP units        ┌─ xpa 198.18.2.11 | .12  xpc ─┐    coap-server 198.18.3.9
#   198.18.2.2 .. 198.18.2.(K+1)  ─ la1/la2 ─ [xpro-proxy] ─ c1/c2 ─ corebr
#
# The proxies' kernels route (ip_forward=1); the server reaches the units through P1.
# Exports NS_LAN NS_P1 NS_P2 NS_CORE; xp_topo_gateway [K] creates K TAP interfaces (default 2).
XP_UNIT=${XP_UNIT:-$XPRO_BUILD/device/host/xp-lwip-unit}

xp_require_gateway() {
    [ -x "$XP_UNIT" ] || xp_fail "xp-lwip-unit not built (liblwip-dev missing?): $XP_UNIT"
    XP_COAP_SERVER=$(command -v coap-server-notls || command -v coap-server || true)
    [ -n "$XP_COAP_SERVER" ] || xp_skip "needs libcoap's coap-server (libcoap3-bin)"
    xp_require_cmd od
    xp_mount_bpffs_root
}

xp_topo_gateway() {
    local k=${1:-2} u ns taps=()
    xp_ns_create NS_LAN lan
    xp_ns_create NS_P1 p1
    xp_ns_create NS_P2 p2
    xp_ns_create NS_CORE core
    xp_veth la1 "$NS_LAN" xpa "$NS_P1"
    xp_veth la2 "$NS_LAN" xpa "$NS_P2"
    xp_veth xpc "$NS_P1" c1 "$NS_CORE"
    xp_veth xpc "$NS_P2" c2 "$NS_CORE"
    for ((u = 1; u <= k; u++)); do
        ip -n "$NS_LAN" tuntap add dev "tapu$u" mode tap
        ip -n "$NS_LAN" link set "tapu$u" up
        taps+=("tapu$u")
    done
    xp_bridge "$NS_LAN" lanbr la1 la2 "${taps[@]}"
    xp_bridge "$NS_CORE" corebr c1 c2
    xp_addr "$NS_P1" xpa 198.18.2.11/24
    xp_addr "$NS_P2" xpa 198.18.2.12/24
    xp_addr "$NS_P1" xpc 198.18.3.11/24
    xp_addr "$NS_P2" xpc 198.18.3.12/24
    xp_addr "$NS_CORE" corebr 198.18.3.9/24
    for ns in "$NS_P1" "$NS_P2"; do
        ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1
        # The core's router (here the server's namespace) as every proxy's default route.
        ip -n "$ns" route add default via 198.18.3.9
    done
    ip -n "$NS_CORE" route add 198.18.2.0/24 via 198.18.3.11
    export NS_LAN NS_P1 NS_P2 NS_CORE
}

# xp_gateway_units K: a fresh random key per unit 1..K, in $XP_TMP/unitN.key (mode 0600).
xp_gateway_units() {
    local u
    XP_GW_UNITS=$1
    for ((u = 1; u <= XP_GW_UNITS; u++)); do
        od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$XP_TMP/unit$u.key"
        chmod 600 "$XP_TMP/unit$u.key"
    done
}

# xp_gateway_config FILE P POLICER_KEYS: proxy P's gateway config (tunnel id P) for the units
# made by xp_gateway_units (unit N sends from 198.18.2.(N+1)); POLICER_KEYS is JSON object
# content.
xp_gateway_config() {
    local f=$1 p=$2 pol=$3 u sep=""
    {
        printf '{\n  "proxy_id": "%s-p%s",\n  "mode": "gateway",\n' "$XP_PREFIX" "$p"
        printf '  "ports": { "access": "xpa", "core": "xpc" },\n  "stats_interval_ms": 500,\n'
        printf '  "ctl_socket": "%s/p%s.sock",\n  "policer": { %s },\n' "$XP_TMP" "$p" "$pol"
        printf '  "prometheus": "127.0.0.1:9464",\n' # each proxy has its own namespace
        if [ "${XP_GW_BACKEND:-af_xdp}" = dpdk ]; then
            printf '  "backend": "dpdk",\n  "dpdk": { "eal_args": ["--no-huge", "-m", "256", '
            printf '"--no-pci", "--no-telemetry", "--file-prefix", "%s-p%s", ' "$XP_PREFIX" "$p"
            printf '"--vdev", "net_af_packet0,iface=xpa,qpairs=1,framecnt=4096", '
            printf '"--vdev", "net_af_packet1,iface=xpc,qpairs=1,framecnt=4096"], '
            printf '"access_port": 0, "core_port": 1, "mbufs_per_queue": 4095 },\n'
        fi
        printf '  "gateway": { "tunnel_id": %d, "units": [\n' "$p"
        for ((u = 1; u <= XP_GW_UNITS; u++)); do
            printf '%s    { "id": %d, "key": "%s", "sources": ["198.18.2.%d/32"] }' "$sep" "$u" \
                "$(cat "$XP_TMP/unit$u.key")" "$((u + 1))"
            sep=$',\n'
        done
        printf '\n  ] }\n}\n'
    } >"$f"
    "$XP_PROXY" -c "$f" --check-config >/dev/null 2>"$XP_TMP/check-p$p.err" ||
        xp_fail "gateway config $f refused: $(cat "$XP_TMP/check-p$p.err")"
}

# xp_coap_server_start: libcoap's server on 198.18.3.9:5683 in the CORE namespace.
xp_coap_server_start() {
    xp_bg XP_COAP_PID coap ip netns exec "$NS_CORE" "$XP_COAP_SERVER" -A 198.18.3.9 -p 5683
    sleep 0.5
}

# xp_gateway_unit N ARGS...: lwIP unit N on tapuN (198.18.2.(N+1)), proxies P1 then P2,
# in the background: its PID in UNITN, output in $XP_TMP/unitN.out. XP_UNIT_GW: its default
# gateway (default proxy 1's access address).
xp_gateway_unit() {
    local n=$1
    shift
    xp_bg "UNIT$n" "unit$n" ip netns exec "$NS_LAN" "$XP_UNIT" --tap "tapu$n" \
        --ip "198.18.2.$((n + 1))/24" --gw "${XP_UNIT_GW:-198.18.2.11}" --unit-id "$n" \
        --key-file "$XP_TMP/unit$n.key" --proxy 198.18.2.11:5685/1 --proxy 198.18.2.12:5685/2 \
        --status-out "$XP_TMP/unit$n.status" "$@"
}
