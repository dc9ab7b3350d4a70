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
# usage: bench/throughput.sh [--repeats N] [--seconds S] [--warmup S]
#            [--layouts S,D] [--contenders drop,minfwd,proxy,testpmd]
#            [--units K] [--gen-cpu N] [--dut-cpu N] [--build DIR] [--out FILE]
set -euo pipefail

SRC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$SRC_DIR/bench/lib.sh"

REPEATS=5
SECONDS_WIN=5
WARMUP=1
LAYOUTS=S,D
CONTENDERS=drop,minfwd,proxy,testpmd
UNITS=1
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
for l in "${LAYOUT_LIST[@]}"; do
    [[ $l == S || $l == D ]] || xb_die "unknown layout '$l' (S or D)"
done

# Contenders that can run; the others get a "skipped" reason in the output.
declare -A SKIP=()
RUN_LIST=()
for c in "${WANT[@]}"; do
    case $c in
    drop | minfwd) RUN_LIST+=("$c") ;;
    proxy)
        if [ -x "$PROXY" ]; then RUN_LIST+=(proxy); else SKIP[proxy]="not built ($PROXY)"; fi ;;
    testpmd)
        if [ -n "$TESTPMD" ]; then RUN_LIST+=(testpmd); else SKIP[testpmd]="dpdk-testpmd not installed"; fi ;;
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

start_contender() { # $1 contender, $2 dir; sets CPID (empty for drop)
    local c=$1 dir=$2
    CPID=""
    case $c in
    drop) ;;
    minfwd)
        # shellcheck disable=SC2086 # XB_MINFWD_ARGS is a list of options
        xb_spawn "$XB_NS_DUT" "$MINFWD" --port0 "$XB_D0" --port1 "$XB_D1" \
            --cpu "$DUT_CPU" --seconds "$BOUND" ${XB_MINFWD_ARGS:-} >"$dir/contender.out" 2>"$dir/contender.err"
        CPID=$XB_LAST_PID
        xb_wait_line "$dir/contender.err" '^ready' 10 "$CPID" || return 1
        ;;
    proxy)
        cat >"$dir/proxy.json" <<JSON
{"proxy_id": "bench", "mode": "inline", "ports": {"access": "$XB_D0", "core": "$XB_D1"},
 "queues": 1, "cpus": [$DUT_CPU], "fail_mode": "open", "stats_interval_ms": 1000}
JSON
        # The whole process on the DUT core: worker and any other thread.
        xb_spawn "$XB_NS_DUT" taskset -c "$DUT_CPU" "$PROXY" -c "$dir/proxy.json" \
            --stats-out "$dir/proxy-stats.jsonl" --duration "$BOUND" --log-level warn \
            >"$dir/contender.out" 2>"$dir/contender.err"
        CPID=$XB_LAST_PID
        xb_wait_xdp "$XB_NS_DUT" "$XB_D0" 10 || return 1
        # Ready when the first stats line is out (sockets bound by then).
        xb_wait_line "$dir/proxy-stats.jsonl" '"totals"' 10 "$CPID" || return 1
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

# One measurement: prints a JSON sample (mpps null on failure) to $SAMPLES.
measure() { # $1 layout, $2 contender, $3 repeat
    local layout=$1 c=$2 r=$3 dir cpid_count gpid ok=1 reason="" mpps gen_json
    dir=$XB_TMP/$layout-$c-$r
    mkdir -p "$dir"

    # The meter: on the sink, or on d0 for the ceiling. It only sleeps: pin it off the DUT.
    local m_ns=$XB_NS_SINK m_dev=$XB_S0
    if [ "$c" = drop ]; then m_ns=$XB_NS_DUT m_dev=$XB_D0; fi
    xb_spawn "$m_ns" "$COUNT" --ifname "$m_dev" --cpu "$GEN_CPU" --wait-traffic 15 \
        --warmup "$WARMUP" --seconds "$SECONDS_WIN" --windows 1 \
        >"$dir/count.out" 2>"$dir/count.err"
    cpid_count=$XB_LAST_PID
    xb_wait_line "$dir/count.err" '^attached' 10 "$cpid_count" || { ok=0; reason="meter failed"; }

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
        xb_spawn "$XB_NS_GEN" "$GEN" --ifname "$XB_G0" --dst-mac "$XB_MAC_D0" \
            --src-ip 198.18.1.1 --dst-ip "$XB_IP_S0" --units "$UNITS" --cpu "$GEN_CPU" \
            --batch "$GEN_BATCH" --seconds "$BOUND" >"$dir/gen.out" 2>"$dir/gen.err"
        gpid=$XB_LAST_PID
        wait "$cpid_count" 2>/dev/null || { ok=0; reason="no traffic at the meter"; }
        xb_stop_pid "$gpid"
    fi
    [ -n "$CPID" ] && xb_stop_pid "$CPID"
    xb_stop_pid "$cpid_count"
    xb_xdp_off "$XB_NS_DUT" "$XB_D0"
    xb_xdp_off "$XB_NS_DUT" "$XB_D1"

    mpps=null
    if [ $ok = 1 ]; then
        mpps=$(jq -s 'map(.mpps) | first // null' "$dir/count.out" 2>/dev/null || echo null)
    fi
    gen_json=$(jq -c '.gen' "$dir/gen.out" 2>/dev/null || echo null)
    [ -n "$gen_json" ] || gen_json=null
    local detail=null
    case $c in
    minfwd) detail=$(jq -c '.minfwd' "$dir/contender.out" 2>/dev/null || echo null) ;;
    proxy) detail=$(tail -n 1 "$dir/proxy-stats.jsonl" 2>/dev/null | jq -c . 2>/dev/null || echo null) ;;
    esac
    [ -n "$detail" ] || detail=null
    if [ $ok = 0 ]; then
        xb_log "$layout/$c repeat $r failed: $reason"
        tail -n 5 "$dir"/*.err >&2 2>/dev/null || true
    else
        xb_log "$layout/$c repeat $r: $mpps Mpps (offered $(jq -r '.mpps' <<<"$gen_json") Mpps)"
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
             | $rows | group_by(.contender) | map({
                 key: .[0].contender,
                 value: {
                   samples_mpps: map(.mpps),
                   median_mpps: (map(.mpps) | median),
                   ratio_to_minfwd: ratio(map(.mpps) | median; $base),
                   ratio_to_ceiling: ratio(map(.mpps) | median; $ceil),
                   offered_mpps_median: (map(.gen.mpps? // null) | median),
                   errors: map(select(.error) | .error),
                   details: map(.detail)
                 }}) | from_entries)
         }) | from_entries)}' "$SAMPLES")

if [ -n "$OUT" ]; then
    mkdir -p "$(dirname "$OUT")"
    printf '%s\n' "$doc" >"$OUT"
fi
printf '%s\n' "$doc"

{
    echo
    echo "Forwarded Mpps, 64-byte frames, median of $REPEATS x ${SECONDS_WIN}s (gen core $GEN_CPU, DUT core $DUT_CPU)"
    jq -r '.layouts | to_entries[] | .key as $l | .value | to_entries[] |
        [$l, .key, (.value.median_mpps // "-" | tostring),
         (.value.ratio_to_minfwd // "-" | tostring), (.value.ratio_to_ceiling // "-" | tostring),
         (.value.samples_mpps | map(if . == null then "x" else (. * 100 | round / 100 | tostring) end) | join(" "))] |
        @tsv' <<<"$doc" |
        (printf 'layout\tcontender\tmedian\t/minfwd\t/ceiling\tsamples\n'; cat) | column -t -s $'\t'
    for c in "${!SKIP[@]}"; do echo "$c: skipped, ${SKIP[$c]}"; done
} >&2
