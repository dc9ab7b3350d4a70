#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Forwarded Mpps of 64-byte frames through veth, side by side in one run:
#   drop     XDP_DROP on the DUT's ingress veth (the ceiling; counted on d0)
#   minfwd   bench/xp_minfwd.c, the minimal AF_XDP forwarder (the baseline)
#   proxy    $BUILD/src/xpro-proxy (skipped with "not built" if absent)
#   testpmd  dpdk-testpmd io forwarding over two net_af_xdp vdevs (if installed)
# on layouts S and D (see README.md). Each sample is one measurement window
# after warm-up, counted by an XDP program on the sink (or on d0 for drop);
# repeats interleave the contenders so slow drifts of the guest hit all of
# them alike. Writes one JSON document to --out and stdout, a table to stderr.
#
#   xpro-policer-1   xpro-proxy policing 198.18.0.0/15, nothing over threshold, 1 pair
#   xpro-policer-1m  the same with 1,000,000 (source, destination) pairs
#   xpro-blocked     xpro-proxy dropping a blocked flood in XDP (drop_blocked rate)
#   xpro-dpdk        xpro-proxy with "backend": "dpdk" on two net_af_xdp vdevs (no policing)
#   NAME+sleep       NAME (proxy, xpro-policer-1, -1m, xpro-blocked) with "idle_spin_us": 0,
#                    the sleep-only idle policy, to compare the default against in one run
#
# usage: bench/throughput.sh [--repeats N] [--seconds S] [--warmup S]
#            [--layouts S,D] [--contenders drop,minfwd,proxy,testpmd,xpro-policer-1,
#             xpro-policer-1m,xpro-blocked,xpro-dpdk] ("xpro-proxy" is another name for "proxy")
#            [--units K] [--pairs-units K] [--pairs-dsts D] [--fill-max S]
#            [--gen-cpu N] [--dut-cpu N] [--build DIR] [--out FILE]
set -euo pipefail

SRC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$SRC_DIR/bench/lib.sh"

REPEATS=5
SECONDS_WIN=5
WARMUP=1
LAYOUTS=S,D
CONTENDERS=drop,minfwd,proxy,testpmd,xpro-policer-1,xpro-policer-1m,xpro-blocked
UNITS=1
# xpro-policer-1m: K sources x D destinations (198.18.1.1 + K stays inside 198.18.0.0/15).
P1M_UNITS=125000
P1M_DSTS=8
P1M_MAX_PAIRS=2097152 # policer.max_pairs (per queue)
FILL_FRAC=0.95        # measure once policer.pairs >= this share of the pairs offered
FILL_MAX=60           # ... or after this many seconds (or once it stops growing)
GEN_CPU=0
DUT_CPU=1
BUILD=${BUILD:-$SRC_DIR/build-bench}
OUT=""
GEN_BATCH=64

usage() {
    sed -n '/^# usage:/,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
    exit 2
}

while [ $# -gt 0 ]; do
    case $1 in
    --repeats) REPEATS=$2; shift 2 ;;
    --seconds) SECONDS_WIN=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --layouts) LAYOUTS=$2; shift 2 ;;
    --contenders) CONTENDERS=$2; shift 2 ;;
    --units) UNITS=$2; shift 2 ;;
    --pairs-units) P1M_UNITS=$2; shift 2 ;;
    --pairs-dsts) P1M_DSTS=$2; shift 2 ;;
    --fill-max) FILL_MAX=$2; shift 2 ;;
    --gen-cpu) GEN_CPU=$2; shift 2 ;;
    --dut-cpu) DUT_CPU=$2; shift 2 ;;
    --build) BUILD=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    -h | --help) usage ;;
    *) echo "unknown option: $1" >&2; usage ;;
    esac
done
[[ $REPEATS =~ ^[1-9][0-9]*$ && $REPEATS -le 100 ]] || xb_die "--repeats: 1..100"
[[ $SECONDS_WIN =~ ^[0-9]+(\.[0-9]+)?$ ]] || xb_die "--seconds: a number"
[[ $WARMUP =~ ^[0-9]+(\.[0-9]+)?$ ]] || xb_die "--warmup: a number"
[[ $P1M_UNITS =~ ^[1-9][0-9]*$ && $P1M_UNITS -le 131000 ]] || xb_die "--pairs-units: 1..131000"
[[ $P1M_DSTS =~ ^[1-9][0-9]*$ && $P1M_DSTS -le 64 ]] || xb_die "--pairs-dsts: 1..64 (max_dsts 64)"
[[ $FILL_MAX =~ ^[1-9][0-9]*$ && $FILL_MAX -le 300 ]] || xb_die "--fill-max: 1..300"
[ "$(id -u)" -eq 0 ] || xb_die "run as root"
command -v jq >/dev/null || xb_die "jq is needed"

GEN=$BUILD/bench/xp-bench-gen
COUNT=$BUILD/bench/xp-bench-count
MINFWD=$BUILD/bench/xp-minfwd
PROXY=$BUILD/src/xpro-proxy
TESTPMD=$(command -v dpdk-testpmd || true)
for b in "$GEN" "$COUNT" "$MINFWD"; do
    [ -x "$b" ] || xb_die "$b missing: run 'meson setup build-bench && ninja -C build-bench'"
done

# One bench at a time on this machine: they would share the two cores.
exec 9>/run/xpro-bench.lock
flock -n 9 || xb_die "another bench holds /run/xpro-bench.lock"

IFS=, read -r -a LAYOUT_LIST <<<"$LAYOUTS"
IFS=, read -r -a WANT <<<"$CONTENDERS"
# A row's contender without its "+sleep" suffix (the idle policy; see the header).
base_of() { echo "${1%+sleep}"; }
for l in "${LAYOUT_LIST[@]}"; do
    [[ $l == S || $l == D ]] || xb_die "unknown layout '$l' (S or D)"
done

# Contenders that can run; the others get a "skipped" reason in the output.
declare -A SKIP=()
RUN_LIST=()
for c in "${WANT[@]}"; do
    [ "$(base_of "$c")" = xpro-proxy ] && c=proxy${c#xpro-proxy}
    case $c in
    drop | minfwd) RUN_LIST+=("$c") ;;
    proxy | xpro-policer-1 | xpro-policer-1m | xpro-blocked | *+sleep)
        case $(base_of "$c") in
        proxy | xpro-policer-1 | xpro-policer-1m | xpro-blocked) ;;
        *) xb_die "'$c': +sleep applies to the xpro-proxy rows" ;;
        esac
        if [ -x "$PROXY" ]; then RUN_LIST+=("$c"); else SKIP[$c]="not built ($PROXY)"; fi ;;
    testpmd)
        if [ -n "$TESTPMD" ]; then RUN_LIST+=(testpmd); else SKIP[testpmd]="dpdk-testpmd not installed"; fi ;;
    xpro-dpdk)
        # The parser knows whether this build has the DPDK backend.
        if [ ! -x "$PROXY" ]; then
            SKIP[$c]="not built ($PROXY)"
        elif ! printf '{"ports": {"access": "a", "core": "c"}, "backend": "dpdk"}' |
            "$PROXY" -c /dev/stdin --check-config >/dev/null 2>&1; then
            SKIP[$c]="this build has no DPDK backend ($PROXY)"
        else
            RUN_LIST+=("$c")
        fi ;;
    *) xb_die "unknown contender '$c'" ;;
    esac
done
for c in "${!SKIP[@]}"; do xb_log "skipping $c: ${SKIP[$c]}"; done

xb_trap_teardown
XB_TMP=$(mktemp -d /tmp/xpro-bench.XXXXXX)
SAMPLES=$XB_TMP/samples.jsonl
: >"$SAMPLES"
xb_topology_up

# Whole-measurement bound for every process we start (they are also stopped by PID).
BOUND=$(awk -v w="$WARMUP" -v s="$SECONDS_WIN" 'BEGIN { printf "%d", w + s + 40 }')

# xpro-proxy's configuration for each proxy row (see conf/README.md).
proxy_policer_json() { # $1 contender: the "policer" object, or nothing for the plain proxy
    case $1 in
    *+sleep) printf ', "idle_spin_us": 0'; proxy_policer_json "$(base_of "$1")" ;;
    xpro-policer-1 | xpro-policer-1m)
        # Policing on, thresholds no traffic here reaches: nothing is dropped.
        echo ', "policer": {"unit_prefixes": ["198.18.0.0/15"], "t_f1_pps": 1000000000,
   "t_f2_pps": 1000000000, "max_pairs": '"$P1M_MAX_PAIRS"', "max_dsts": 64}' ;;
    xpro-blocked)
        # One source over 1000 pps for 100 ms: blocked in XDP for 60 s (r 1: no shrink rule).
        echo ', "policer": {"unit_prefixes": ["198.18.0.0/15"], "t_f1_pps": 1000,
   "t_t2_ms": 100, "r": 1, "block_ms": 60000}' ;;
    esac
}

is_proxy() { case $(base_of "$1") in proxy | xpro-policer-1 | xpro-policer-1m | xpro-blocked | xpro-dpdk) return 0 ;; esac; return 1; }

# Generator options per row: the 1M-pair row varies source and destination.
gen_args() { # $1 contender
    case $(base_of "$1") in
    xpro-policer-1m) echo "--units $P1M_UNITS --dsts $P1M_DSTS" ;;
    xpro-policer-1 | xpro-blocked) echo "--units 1" ;;
    *) echo "--units $UNITS" ;;
    esac
}

# The last complete stats line of a proxy (empty if none yet).
last_stats() { # $1 file
    jq -cR 'fromjson? // empty' "$1" 2>/dev/null | tail -n 1
}

# VmRSS of a process, in kB (null if gone).
rss_kb() {
    awk '/^VmRSS:/ { print $2; f = 1 } END { if (!f) print "null" }' "/proc/$1/status" 2>/dev/null ||
        echo null
}

start_contender() { # $1 contender, $2 dir; sets CPID (empty for drop)
    local c=$1 dir=$2
    CPID=""
    case $(base_of "$c") in
    drop) ;;
    minfwd)
        # shellcheck disable=SC2086 # XB_MINFWD_ARGS is a list of options
        xb_spawn "$XB_NS_DUT" "$MINFWD" --port0 "$XB_D0" --port1 "$XB_D1" \
            --cpu "$DUT_CPU" --seconds "$BOUND" ${XB_MINFWD_ARGS:-} >"$dir/contender.out" 2>"$dir/contender.err"
        CPID=$XB_LAST_PID
        xb_wait_line "$dir/contender.err" '^ready' 10 "$CPID" || return 1
        ;;
    proxy | xpro-policer-1 | xpro-policer-1m | xpro-blocked)
        cat >"$dir/proxy.json" <<JSON
{"proxy_id": "bench", "mode": "inline", "ports": {"access": "$XB_D0", "core": "$XB_D1"},
 "queues": 1, "cpus": [$DUT_CPU], "fail_mode": "open", "stats_interval_ms": 1000$(proxy_policer_json "$c")}
JSON
        : >"$dir/proxy-stats.jsonl"
        # The whole process on the DUT core: worker and any other thread.
        xb_spawn "$XB_NS_DUT" taskset -c "$DUT_CPU" "$PROXY" -c "$dir/proxy.json" \
            --stats-out "$dir/proxy-stats.jsonl" --duration "$BOUND" --log-level warn \
            >"$dir/contender.out" 2>"$dir/contender.err"
        CPID=$XB_LAST_PID
        xb_wait_xdp "$XB_NS_DUT" "$XB_D0" 10 || return 1
        # Ready when the first stats line is out (sockets bound by then).
        xb_wait_line "$dir/proxy-stats.jsonl" '"totals"' 10 "$CPID" || return 1
        ;;
    xpro-dpdk)
        # The plain proxy's configuration on the DPDK backend: the same two net_af_xdp vdevs
        # as the testpmd row, EAL without hugepages, runtime files in a private tmpfs.
        cat >"$dir/proxy.json" <<JSON
{"proxy_id": "bench", "mode": "inline", "backend": "dpdk",
 "ports": {"access": "$XB_D0", "core": "$XB_D1"},
 "queues": 1, "cpus": [$DUT_CPU], "stats_interval_ms": 1000,
 "dpdk": {"eal_args": ["--no-huge", "-m", "512", "--no-pci", "--no-telemetry",
   "--file-prefix", "xpro-bench-dpdk-$$", "--log-level", "pmd.net.af_xdp:info",
   "--vdev", "net_af_xdp0,iface=$XB_D0,start_queue=0,queue_count=1,busy_budget=0",
   "--vdev", "net_af_xdp1,iface=$XB_D1,start_queue=0,queue_count=1,busy_budget=0"],
   "access_port": 0, "core_port": 1, "mbufs_per_queue": 8191}}
JSON
        : >"$dir/proxy-stats.jsonl"
        xb_spawn "$XB_NS_DUT" sh -c '
            mkdir -p /run/dpdk && mount -t tmpfs xpro-bench /run/dpdk || exit 1
            exec "$@"' xb-xpro-dpdk taskset -c "$DUT_CPU" "$PROXY" -c "$dir/proxy.json" \
            --stats-out "$dir/proxy-stats.jsonl" --duration "$BOUND" --log-level warn \
            >"$dir/contender.out" 2>"$dir/contender.err" </dev/null
        CPID=$XB_LAST_PID
        xb_wait_xdp "$XB_NS_DUT" "$XB_D0" 20 || return 1
        xb_wait_line "$dir/proxy-stats.jsonl" '"totals"' 20 "$CPID" || return 1
        ;;
    testpmd)
        # Runtime files in a tmpfs private to this mount namespace; no hugepages.
        xb_spawn "$XB_NS_DUT" sh -c '
            mkdir -p /run/dpdk && mount -t tmpfs xpro-bench /run/dpdk || exit 1
            exec "$@"' xb-testpmd taskset -c "$DUT_CPU" "$TESTPMD" \
            --lcores "0@$DUT_CPU,1@$DUT_CPU" --no-huge -m 512 --no-pci \
            --file-prefix "xpro-bench-$$" --log-level=pmd.net.af_xdp:info \
            --vdev "net_af_xdp0,iface=$XB_D0,start_queue=0,queue_count=1,busy_budget=0" \
            --vdev "net_af_xdp1,iface=$XB_D1,start_queue=0,queue_count=1,busy_budget=0" \
            -- --forward-mode=io --auto-start --stats-period "$BOUND" --nb-cores=1 \
            --rxq=1 --txq=1 --burst=64 --total-num-mbufs=16384 \
            >"$dir/contender.out" 2>"$dir/contender.err" </dev/null
        CPID=$XB_LAST_PID
        xb_wait_line "$dir/contender.out" 'Press Ctrl\+C|[Ss]tart.*forwarding' 20 "$CPID" || return 1
        xb_wait_xdp "$XB_NS_DUT" "$XB_D1" 5 || return 1
        ;;
    esac
    return 0
}

# xpro-policer-1m: wait until the pair table is populated (policer.pairs >= FILL_FRAC of the
# pairs offered) or stops growing, at most FILL_MAX seconds. Sets FILL_JSON.
wait_pairs() { # $1 stats file, $2 proxy PID
    local file=$1 pid=$2 want i pairs=0 prev=-1 t0 now still=0
    want=$(awk -v u="$P1M_UNITS" -v d="$P1M_DSTS" -v f="$FILL_FRAC" 'BEGIN { printf "%d", u * d * f }')
    t0=$(date +%s.%N)
    for ((i = 0; i < FILL_MAX * 2; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        pairs=$(last_stats "$file" | jq -r '.policer.pairs // 0' 2>/dev/null || echo 0)
        [ -n "$pairs" ] || pairs=0
        [ "$pairs" -ge "$want" ] && break
        # Stats come once a second: "not growing" = three unchanged half-second polls
        # after a change would have shown (less than 0.1% growth).
        if [ "$pairs" -gt 0 ] && [ $((pairs - prev)) -le $((pairs / 1000)) ]; then
            still=$((still + 1))
            [ $still -ge 4 ] && break
        else
            still=0
        fi
        prev=$pairs
        sleep 0.5
    done
    now=$(date +%s.%N)
    FILL_JSON=$(jq -nc --argjson p "$pairs" --argjson w "$want" \
        --argjson s "$(awk -v a="$t0" -v b="$now" 'BEGIN { printf "%.2f", b - a }')" \
        '{pairs_at_fill_end: $p, pairs_wanted: $w, fill_seconds: $s}')
    xb_log "pair table: $pairs pairs after $(jq -r .fill_seconds <<<"$FILL_JSON") s (want >= $want)"
}

# xpro-blocked: the rate of ports[access].xdp.drop_blocked over a window of the proxy's stats
# lines (one a second): the first line after the block and WARMUP, to the first line
# SECONDS_WIN later. Sets BLOCK_JSON and BLOCK_MPPS (empty on failure).
blocked_window() { # $1 stats file, $2 proxy PID
    local file=$1 pid=$2 i line0 ts0 res db
    BLOCK_JSON=null BLOCK_MPPS=""
    for ((i = 0; i < 300; i++)); do # the block: at most 15 s
        kill -0 "$pid" 2>/dev/null || return 1
        db=$(last_stats "$file" | jq -r '[.ports[] | select(.role == "access") | .xdp.drop_blocked] | add // 0' 2>/dev/null || true)
        [ "${db:-0}" -gt 0 ] && break
        sleep 0.05
    done
    [ $i -lt 300 ] || return 1
    [ -n "${XB_PERF_HOOK:-}" ] && $XB_PERF_HOOK
    sleep "$WARMUP"
    line0=$(last_stats "$file")
    ts0=$(jq -r .ts <<<"$line0")
    # Sleep through the window (no polling: jq would compete for the cores), then find the
    # line SECONDS_WIN after line0; a few short retries for a late line.
    sleep "$(awk -v w="$SECONDS_WIN" 'BEGIN { print w + 1.2 }')"
    for ((i = 0; i < 20; i++)); do
        kill -0 "$pid" 2>/dev/null || return 1
        res=$(jq -cR --argjson ts0 "$ts0" --argjson w "$SECONDS_WIN" --argjson l0 "$line0" '
            fromjson? // empty | select(.ts >= $ts0 + $w - 0.05)
            | def db: [.ports[] | select(.role == "access") | .xdp.drop_blocked] | add;
              {ts0: $ts0, ts1: .ts, drop_blocked0: ($l0 | db), drop_blocked1: db,
               mpps: ((db - ($l0 | db)) / (.ts - $ts0) / 1e6 * 10000 | round / 10000)}' "$file" 2>/dev/null | head -n 1)
        [ -n "$res" ] && break
        sleep 0.2
    done
    [ -n "$res" ] || return 1
    BLOCK_JSON=$res
    BLOCK_MPPS=$(jq -r .mpps <<<"$res")
}

# One measurement: prints a JSON sample (mpps null on failure) to $SAMPLES.
measure() { # $1 layout, $2 contender, $3 repeat
    local layout=$1 c=$2 r=$3 dir cpid_count="" gpid="" ok=1 reason="" mpps gen_json
    local late=0 rss=null pairs=null bmpps=""
    dir=$XB_TMP/$layout-$c-$r
    mkdir -p "$dir"
    FILL_JSON=null BLOCK_JSON=null
    # The 1M-pair row starts its meter once the table is full; the blocked row has none.
    case $(base_of "$c") in xpro-policer-1m | xpro-blocked) late=1 ;; esac

    # The meter: on the sink, or on d0 for the ceiling. It only sleeps: pin it off the DUT.
    local m_ns=$XB_NS_SINK m_dev=$XB_S0
    if [ "$c" = drop ]; then m_ns=$XB_NS_DUT m_dev=$XB_D0; fi
    start_meter() {
        xb_spawn "$m_ns" "$COUNT" --ifname "$m_dev" --cpu "$GEN_CPU" --wait-traffic 15 \
            --warmup "$WARMUP" --seconds "$SECONDS_WIN" --windows 1 \
            >"$dir/count.out" 2>"$dir/count.err"
        cpid_count=$XB_LAST_PID
        xb_wait_line "$dir/count.err" '^attached' 10 "$cpid_count"
    }
    if [ $late = 0 ]; then
        start_meter || { ok=0; reason="meter failed"; }
    fi

    CPID=""
    if [ $ok = 1 ]; then
        # A socket of the previous contender may still be going away (EBUSY): retry.
        local try
        for try in 1 2 3; do
            start_contender "$c" "$dir" && break
            [ -n "$CPID" ] && xb_stop_pid "$CPID"
            CPID=""
            xb_xdp_off "$XB_NS_DUT" "$XB_D0"
            xb_xdp_off "$XB_NS_DUT" "$XB_D1"
            if [ $try = 3 ]; then
                ok=0 reason="contender did not start (see its stderr)"
            else
                xb_log "$c did not start (try $try), retrying"
                sleep 1
            fi
        done
    fi
    if [ $ok = 1 ]; then
        # Attach resets threaded NAPI: set the layout after the contender attached.
        if [ "$layout" = D ]; then
            xb_threaded "$XB_NS_DUT" "$XB_D0" 1 "$DUT_CPU" || { ok=0; reason="threaded NAPI"; }
        else
            xb_threaded "$XB_NS_DUT" "$XB_D0" 0
        fi
    fi
    if [ $ok = 1 ]; then
        local bound=$BOUND
        [ "$(base_of "$c")" = xpro-policer-1m ] && bound=$((BOUND + FILL_MAX))
        # shellcheck disable=SC2046 # gen_args is a list of options
        xb_spawn "$XB_NS_GEN" "$GEN" --ifname "$XB_G0" --dst-mac "$XB_MAC_D0" \
            --src-ip 198.18.1.1 --dst-ip "$XB_IP_S0" $(gen_args "$c") --cpu "$GEN_CPU" \
            --batch "$GEN_BATCH" --seconds "$bound" >"$dir/gen.out" 2>"$dir/gen.err"
        gpid=$XB_LAST_PID
        start_perf() {
            # Profile the DUT core (worker and softirq) for the window: perturbs this row.
            [ "${XB_PERF:-}" = "$c" ] || return 0
            xb_spawn "$XB_NS_DUT" perf record -q -g -C "$DUT_CPU" -o "$dir/perf.data" \
                -- sleep "$(awk -v w="$WARMUP" -v s="$SECONDS_WIN" 'BEGIN { print w + s }')" \
                >"$dir/perf.out" 2>&1
        }
        case $(base_of "$c") in
        xpro-policer-1m)
            wait_pairs "$dir/proxy-stats.jsonl" "$CPID"
            start_meter || { ok=0; reason="meter failed"; }
            start_perf
            ;;
        xpro-blocked)
            XB_PERF_HOOK=start_perf blocked_window "$dir/proxy-stats.jsonl" "$CPID" ||
                { ok=0; reason="no drop_blocked window (pair not blocked?)"; }
            bmpps=$BLOCK_MPPS
            ;;
        esac
        case $(base_of "$c") in xpro-policer-1m | xpro-blocked) ;; *) [ $ok = 1 ] && start_perf ;; esac
        if [ $ok = 1 ] && [ -n "$cpid_count" ]; then
            wait "$cpid_count" 2>/dev/null || { ok=0; reason="no traffic at the meter"; }
        fi
        if [ -n "$CPID" ] && is_proxy "$c"; then
            rss=$(rss_kb "$CPID")
            pairs=$(last_stats "$dir/proxy-stats.jsonl" | jq '.policer.pairs // null')
            [ -n "$pairs" ] || pairs=null
        fi
        xb_stop_pid "$gpid"
    fi
    [ -n "$CPID" ] && xb_stop_pid "$CPID"
    [ -n "$cpid_count" ] && xb_stop_pid "$cpid_count"
    xb_xdp_off "$XB_NS_DUT" "$XB_D0"
    xb_xdp_off "$XB_NS_DUT" "$XB_D1"

    mpps=null
    if [ $ok = 1 ]; then
        if [ "$(base_of "$c")" = xpro-blocked ]; then
            mpps=${bmpps:-null}
        else
            mpps=$(jq -s 'map(.mpps) | first // null' "$dir/count.out" 2>/dev/null || echo null)
        fi
    fi
    gen_json=$(jq -c '.gen' "$dir/gen.out" 2>/dev/null || echo null)
    [ -n "$gen_json" ] || gen_json=null
    local detail=null
    case $(base_of "$c") in
    minfwd) detail=$(jq -c '.minfwd' "$dir/contender.out" 2>/dev/null || echo null) ;;
    proxy | xpro-policer-1 | xpro-policer-1m | xpro-blocked | xpro-dpdk)
        detail=$(last_stats "$dir/proxy-stats.jsonl")
        [ -n "$detail" ] || detail=null
        # What the bench saw besides the stats line: the RSS and pairs at the end of the
        # window, the table fill (1M row), the drop_blocked window (blocked row).
        detail=$(jq -c --argjson rss "$rss" --argjson p "$pairs" --argjson f "$FILL_JSON" \
            --argjson b "$BLOCK_JSON" '(. // {}) + {bench: {rss_kb: $rss, pairs: $p, fill: $f,
             drop_blocked_window: $b}}' <<<"$detail")
        ;;
    esac
    [ -n "$detail" ] || detail=null
    if [ $ok = 0 ]; then
        xb_log "$layout/$c repeat $r failed: $reason"
        tail -n 5 "$dir"/*.err >&2 2>/dev/null || true
    else
        xb_log "$layout/$c repeat $r: $mpps Mpps (offered $(jq -r '.mpps' <<<"$gen_json") Mpps)$([ "$rss" != null ] && echo ", RSS $rss kB, pairs $pairs")"
    fi
    jq -nc --arg l "$layout" --arg c "$c" --argjson r "$r" --argjson m "$mpps" \
        --argjson g "$gen_json" --argjson d "$detail" --arg why "$reason" \
        '{layout: $l, contender: $c, repeat: $r, mpps: $m, gen: $g, detail: $d}
         + (if $why == "" then {} else {error: $why} end)' >>"$SAMPLES"
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
xb_log "layouts ${LAYOUTS}, contenders ${RUN_LIST[*]}, ${REPEATS} x ${SECONDS_WIN}s (+${WARMUP}s warm-up), gen core $GEN_CPU, DUT core $DUT_CPU"
n=${#RUN_LIST[@]}
for ((r = 0; r < REPEATS; r++)); do
    for layout in "${LAYOUT_LIST[@]}"; do
        # Rotate the order each repeat so no contender always runs first.
        for ((k = 0; k < n; k++)); do
            measure "$layout" "${RUN_LIST[$(((k + r) % n))]}" "$r"
        done
    done
done

skipped_json=$(for c in "${!SKIP[@]}"; do jq -nc --arg c "$c" --arg w "${SKIP[$c]}" '{($c): $w}'; done |
    jq -s 'add // {}')
doc=$(jq -s --argjson skipped "$skipped_json" --arg kernel "$(uname -r)" \
    --argjson repeats "$REPEATS" --argjson seconds "$SECONDS_WIN" --argjson warmup "$WARMUP" \
    --argjson units "$UNITS" --argjson gen_cpu "$GEN_CPU" --argjson dut_cpu "$DUT_CPU" \
    --arg date "$(date -u +%FT%TZ)" --arg load0 "$LOAD_START" \
    --arg load1 "$(cut -d' ' -f1-3 /proc/loadavg)" '
    def median: map(select(. != null)) | sort |
        if length == 0 then null
        elif length % 2 == 1 then .[length / 2 | floor]
        else (.[length / 2 - 1] + .[length / 2]) / 2 end;
    def ratio($a; $b): if $a == null or $b == null or $b == 0 then null
        else ($a / $b * 1000 | round) / 1000 end;
    . as $all
    | {date: $date, kernel: $kernel, frame_bytes: 64,
       repeats: $repeats, seconds: $seconds, warmup: $warmup, units: $units,
       cores: {generator: $gen_cpu, dut: $dut_cpu},
       loadavg: {start: $load0, end: $load1},
       skipped: $skipped,
       layouts: ($all | group_by(.layout) | map({
           key: .[0].layout,
           value: (. as $rows
             | ($rows | map(select(.contender == "minfwd")) | map(.mpps) | median) as $base
             | ($rows | map(select(.contender == "drop")) | map(.mpps) | median) as $ceil
             | ($rows | map(select(.contender == "testpmd")) | map(.mpps) | median) as $pmd
             | $rows | group_by(.contender) | map({
                 key: .[0].contender,
                 value: {
                   samples_mpps: map(.mpps),
                   median_mpps: (map(.mpps) | median),
                   ratio_to_minfwd: ratio(map(.mpps) | median; $base),
                   ratio_to_ceiling: ratio(map(.mpps) | median; $ceil),
                   ratio_to_testpmd: ratio(map(.mpps) | median; $pmd),
                   offered_mpps_median: (map(.gen.mpps? // null) | median),
                   errors: map(select(.error) | .error),
                   details: map(.detail)
                 }}) | from_entries)
         }) | from_entries)}' "$SAMPLES")

# The policer rows: the three ratios and bytes per pair (RSS growth from 1 pair to 1M pairs
# over the pair count, from the medians of the same layout).
policer_json=$(jq -s '
    def median: map(select(. != null)) | sort |
        if length == 0 then null
        elif length % 2 == 1 then .[length / 2 | floor]
        else (.[length / 2 - 1] + .[length / 2]) / 2 end;
    def ratio($a; $b): if $a == null or $b == null or $b == 0 then null
        else ($a / $b * 1000 | round) / 1000 end;
    def med($rows; $c; f): $rows | map(select(.contender == $c)) | map(f) | median;
    group_by(.layout) | map(. as $rows | {
        key: .[0].layout,
        value: (
          (med($rows; "proxy"; .mpps)) as $plain
          | (med($rows; "drop"; .mpps)) as $ceil
          | (med($rows; "testpmd"; .mpps)) as $pmd
          | (med($rows; "xpro-policer-1"; .mpps)) as $p1
          | (med($rows; "xpro-policer-1m"; .mpps)) as $p1m
          | (med($rows; "xpro-blocked"; .mpps)) as $blk
          | (med($rows; "proxy+sleep"; .mpps)) as $plain_s
          | (med($rows; "xpro-policer-1+sleep"; .mpps)) as $p1_s
          | (med($rows; "xpro-policer-1m+sleep"; .mpps)) as $p1m_s
          | (med($rows; "proxy"; .detail.bench.rss_kb?)) as $rss0
          | (med($rows; "xpro-policer-1"; .detail.bench.rss_kb?)) as $rss1
          | (med($rows; "xpro-policer-1m"; .detail.bench.rss_kb?)) as $rss1m
          | (med($rows; "xpro-policer-1"; .detail.bench.pairs?)) as $n1
          | (med($rows; "xpro-policer-1m"; .detail.bench.pairs?)) as $n1m
          | {policer_1_to_testpmd: ratio($p1; $pmd),
             policer_1_to_proxy: ratio($p1; $plain),
             policer_1m_to_proxy: ratio($p1m; $plain),
             blocked_to_drop: ratio($blk; $ceil),
             proxy_to_sleep_only: ratio($plain; $plain_s),
             policer_1_to_sleep_only: ratio($p1; $p1_s),
             policer_1m_to_sleep_only: ratio($p1m; $p1m_s),
             rss_kb_proxy: $rss0, rss_kb_policer_1: $rss1, rss_kb_policer_1m: $rss1m,
             pairs_policer_1: $n1, pairs_policer_1m: $n1m,
             fill_seconds_median: med($rows; "xpro-policer-1m"; .detail.bench.fill.fill_seconds?),
             bytes_per_pair: (if $rss1 == null or $rss1m == null or $n1 == null or $n1m == null
                                 or $n1m <= $n1 then null
                              else (($rss1m - $rss1) * 1024 / ($n1m - $n1)) | round | if . == 0 then 0 else . end end),
             bytes_per_pair_of_capacity: (if $rss0 == null or $rss1 == null then null
                              else (($rss1 - $rss0) * 1024 / $max_pairs) | round end)})
    }) | from_entries' --argjson max_pairs "$P1M_MAX_PAIRS" "$SAMPLES")
doc=$(jq -c --argjson p "$policer_json" \
    '. + {policer: $p, policer_rows: {pair_units: '"$P1M_UNITS"', pair_dsts: '"$P1M_DSTS"',
          max_pairs: '"$P1M_MAX_PAIRS"', fill_frac: '"$FILL_FRAC"', fill_max_s: '"$FILL_MAX"'}}' <<<"$doc")

if [ -n "$OUT" ]; then
    mkdir -p "$(dirname "$OUT")"
    printf '%s\n' "$doc" >"$OUT"
    # The same results as CSV and, where gnuplot is installed, a bar chart next to --out.
    csv="${OUT%.json}.csv"
    {
        echo "layout,contender,median_mpps,min_mpps,max_mpps,ratio_to_minfwd,ratio_to_testpmd"
        jq -r '.layouts | to_entries[] | .key as $l | .value | to_entries[] |
            select(.value.median_mpps != null) |
            [$l, .key, .value.median_mpps, ([.value.samples_mpps[] | select(. != null)] | min),
             ([.value.samples_mpps[] | select(. != null)] | max),
             (.value.ratio_to_minfwd // ""), (.value.ratio_to_testpmd // "")] | @csv' <<<"$doc" | tr -d '"'
    } >"$csv"
    if command -v gnuplot >/dev/null 2>&1; then
        gnuplot -e "csv='$csv'; out='${OUT%.json}.png'; ttl='Forwarded Mpps, 64-byte frames (labels: ratio to the minimal forwarder)'" \
            "$(dirname "$0")/plot/throughput.gp" 2>/dev/null ||
            echo "bench: gnuplot failed; the CSV is $csv" >&2
    fi
fi
printf '%s\n' "$doc"

{
    echo
    echo "Forwarded Mpps, 64-byte frames, median of $REPEATS x ${SECONDS_WIN}s (gen core $GEN_CPU, DUT core $DUT_CPU)"
    jq -r '.layouts | to_entries[] | .key as $l | .value | to_entries[] |
        [$l, .key, (.value.median_mpps // "-" | tostring),
         (.value.ratio_to_minfwd // "-" | tostring), (.value.ratio_to_testpmd // "-" | tostring),
         (.value.ratio_to_ceiling // "-" | tostring),
         (.value.samples_mpps | map(if . == null then "x" else (. * 100 | round / 100 | tostring) end) | join(" "))] |
        @tsv' <<<"$doc" |
        (printf 'layout\tcontender\tmedian\t/minfwd\t/testpmd\t/ceiling\tsamples\n'; cat) | column -t -s $'\t'
    jq -r '.policer | to_entries[] | .key as $l | .value |
        "layout \($l): policer-1/testpmd \(.policer_1_to_testpmd // "-") (target >= 1.3), policer-1/proxy \(.policer_1_to_proxy // "-"), policer-1m/proxy \(.policer_1m_to_proxy // "-") (target >= 0.8), blocked/drop \(.blocked_to_drop // "-") (target >= 0.8); RSS \(.rss_kb_policer_1 // "-") kB at \(.pairs_policer_1 // "-") pairs, \(.rss_kb_policer_1m // "-") kB at \(.pairs_policer_1m // "-") pairs: \(.bytes_per_pair // "-") bytes/pair of growth; plain proxy \(.rss_kb_proxy // "-") kB: \(.bytes_per_pair_of_capacity // "-") bytes/pair of max_pairs"
         + (if .proxy_to_sleep_only or .policer_1_to_sleep_only or .policer_1m_to_sleep_only
            then "; default idle policy / sleep-only: proxy \(.proxy_to_sleep_only // "-"), policer-1 \(.policer_1_to_sleep_only // "-"), policer-1m \(.policer_1m_to_sleep_only // "-") (target >= 0.97)" else "" end)' <<<"$doc"
    for c in "${!SKIP[@]}"; do echo "$c: skipped, ${SKIP[$c]}"; done
} >&2
