#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# bench/scenario.sh SCENARIO_FILE [--out DIR] [--set NAME=VALUE]... [--build DIR] [--no-plot]
#
# Runs one of the paper's experiments on network namespaces it creates (and always removes):
#
#   per proxy i:  ns u<i> [u0] ─veth─ [xpa] ns p<i> (xpro-proxy, bridge xpbr) [xpc] ─veth─ [t0] ns t<i>
#                 xpro-gen send --group i                                         xpro-gen sink
#   with several proxies, ns c: xpro-central on bridge mbr 198.18.255.1/24, proxy i at .1<i>.
#
# The scenario file (bench/scenarios/*) gives the duration, the number of proxies, the
# policer and merge settings and the units (xpro-gen reads the `unit` lines; see
# tools/gen/main.c). `var NAME DEFAULT` declares a variable, `@NAME@` or `@A+B@` uses it,
# `--set NAME=VALUE` overrides it.
#
# Results in DIR (default bench/results/<name>-<date>): scenario.txt (as run), gen-<i>.csv,
# sink-<i>.csv, proxy-<i>.stats.jsonl, events-<i>.jsonl, units.csv (per unit and second:
# sent and forwarded), summary.json (the headline numbers) and <name>.png (per unit: sent vs
# forwarded pps over time; the dashed line is the attack's start, the dotted one the first
# block event; not with --no-plot, which also does without gnuplot, as the netns tests do).
# Core layout: generators on CPU 0, proxies (and sinks) on CPU 1.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
SRC_DIR=$(cd "$BENCH_DIR/.." && pwd)

usage() {
    echo "usage: $0 SCENARIO_FILE [--out DIR] [--set NAME=VALUE]... [--build DIR] [--no-plot]" >&2
    exit 2
}

[ $# -ge 1 ] || usage
SCEN_IN=$1
shift
[ -f "$SCEN_IN" ] || { echo "$0: no such scenario: $SCEN_IN" >&2; exit 2; }
OUT=
BUILD=${XPRO_BUILD:-$SRC_DIR/build}
SETS=()
PLOT=1
while [ $# -gt 0 ]; do
    case $1 in
    --out) OUT=${2:?}; shift 2 ;;
    --set) SETS+=("${2:?}"); shift 2 ;;
    --build) BUILD=${2:?}; shift 2 ;;
    --no-plot) PLOT=0; shift ;;
    *) usage ;;
    esac
done
BUILD=$(cd "$BUILD" && pwd)
export XPRO_BUILD=$BUILD XPRO_SRC=$SRC_DIR
GEN=$BUILD/src/xpro-gen
CENTRAL=$BUILD/src/xpro-central

# ---- the scenario: variables, then keys ------------------------------------------------

declare -A VARS=()
while read -r k name val _; do
    [ "$k" = var ] && VARS[$name]=$val
done <"$SCEN_IN"
for s in "${SETS[@]}"; do
    [[ $s == *=* ]] || usage
    VARS[${s%%=*}]=${s#*=}
done
expand() {
    local line=$1 expr val v
    while [[ $line =~ @([A-Za-z0-9_+]+)@ ]]; do
        expr=${BASH_REMATCH[1]}
        # a variable alone may hold a word (`var POLICY fair_share`, `--set POLICY=drop_all`)
        if [ -n "${VARS[$expr]+x}" ] && [[ ${VARS[$expr]} =~ ^[A-Za-z_][A-Za-z0-9_.-]*$ ]]; then
            line=${line//@$expr@/${VARS[$expr]}}
            continue
        fi
        val=$expr
        for v in "${!VARS[@]}"; do
            val=${val//$v/${VARS[$v]}}
        done
        [[ $val =~ ^[0-9+]+$ ]] || { echo "$0: cannot expand @$expr@" >&2; exit 2; }
        line=${line//@$expr@/$((val))}
    done
    printf '%s\n' "$line"
}
SCEN_TXT=$(while IFS= read -r l; do expand "$l"; done <"$SCEN_IN")
key() { awk -v k="$1" '$1 == k { $1 = ""; sub(/^ /, ""); print; exit }' <<<"$SCEN_TXT"; }
NAME=$(key name)
NAME=${NAME:-$(basename "$SCEN_IN")}
DURATION=$(key duration)
PROXIES=$(key proxies)
SYNC_MS=$(key sync_period_ms)
SYNC_MS=${SYNC_MS:-500}
MODE=$(key mode)
MODE=${MODE:-units}
if ! [[ $DURATION =~ ^[0-9]+$ ]] || [ "$DURATION" -lt 1 ] || [ "$DURATION" -gt 3600 ]; then
    echo "$0: duration must be 1..3600 s" >&2
    exit 2
fi
[[ $PROXIES =~ ^[1-8]$ ]] || { echo "$0: proxies must be 1..8" >&2; exit 2; }

# key=value pairs as JSON object members: numbers and true/false as they are, words (letters,
# digits, _ . -) as strings (`policer dst_policy=fair_share`); anything else stops the run.
kv_json() {
    tr ' ' '\n' <<<"$1" | awk -F= '
        NF == 0 { next }
        NF != 2 || $1 !~ /^[a-z0-9_]+$/ { print "bad key=value: " $0 > "/dev/stderr"; bad = 1; exit }
        { v = $2 }
        v !~ /^-?[0-9]+(\.[0-9]+)?$/ && v != "true" && v != "false" {
            if (v !~ /^[A-Za-z0-9_.-]+$/) { print "bad value: " $0 > "/dev/stderr"; bad = 1; exit }
            v = "\"" v "\""
        }
        { printf "%s\"%s\": %s", n++ ? ", " : "", $1, v }
        END { exit bad }'
}
POLICER=$(kv_json "$(key policer)") || { echo "$0: bad policer line" >&2; exit 2; }
MERGE=$(kv_json "$(key merge)") || { echo "$0: bad merge line" >&2; exit 2; }
MERGE=${MERGE:-'"t_t1_ms": 1000, "t_t4_ms": 4000, "r": 2, "max_skew_ms": 1000'}
PREFIXES=$(key unit_prefixes | tr ' ' '\n' | jq -R . | jq -sc .)

OUT=${OUT:-$SRC_DIR/bench/results/$NAME-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
printf '%s\n' "$SCEN_TXT" >"$OUT/scenario.txt"

# ---- the namespaces (tests/netns/lib.sh: registration and teardown on any exit) --------

XP_TEST_NAME="scenario-$NAME"
XP_TEST_TIMEOUT=$((DURATION + 180))
# shellcheck source=tests/netns/lib.sh
source "$SRC_DIR/tests/netns/lib.sh"
xp_init
xp_require_root
xp_require_cmd ip jq taskset
[ "$PLOT" = 0 ] || xp_require_cmd gnuplot
xp_require_proxy
[ -x "$GEN" ] || xp_fail "xpro-gen not built: $GEN"
[ "$PROXIES" = 1 ] || [ -x "$CENTRAL" ] || xp_fail "xpro-central not built: $CENTRAL"
xp_log "scenario $NAME: $PROXIES proxies, ${DURATION}s, results in $OUT"
NCPU=$(nproc)
GEN_CPU=0
DUT_CPU=$((NCPU > 1 ? NCPU - 1 : 0))

NS_C=
if [ "$PROXIES" -gt 1 ]; then
    xp_ns_create NS_C c
    ip -n "$NS_C" link add mbr type bridge stp_state 0 forward_delay 0
    ip -n "$NS_C" link set mbr up
    xp_addr "$NS_C" mbr 198.18.255.1/24
fi
NS_U=() NS_P=() NS_T=() TMAC=() SECRET=()
for ((i = 0; i < PROXIES; i++)); do
    xp_ns_create "NS_U[$i]" "u$i"
    xp_ns_create "NS_P[$i]" "p$i"
    xp_ns_create "NS_T[$i]" "t$i"
    xp_veth u0 "${NS_U[$i]}" xpa "${NS_P[$i]}"
    xp_veth xpc "${NS_P[$i]}" t0 "${NS_T[$i]}"
    xp_bridge "${NS_P[$i]}" xpbr xpa xpc
    TMAC[i]=$(xp_mac "${NS_T[$i]}" t0)
    SECRET[i]=$(printf 'b%031x' "$((i + 1))")
    if [ -n "$NS_C" ]; then
        xp_veth m0 "${NS_P[$i]}" "cp$i" "$NS_C"
        ip -n "$NS_C" link set "cp$i" master mbr
        xp_addr "${NS_P[$i]}" m0 "198.18.255.$((10 + i))/24"
    fi
done

# ---- real CoAP: coap-server behind the proxy, RTT without and with xpro ------------------

# run_coap: the unit namespace talks to coap-server in the target namespace (198.18.0.2 ->
# 198.18.0.254, one subnet through the bridge); first without a proxy (the bridge alone),
# then with xpro-proxy (policer on). Per phase: `xpro-gen rtt` (REQUESTS confirmable GETs,
# one at a time, INTERVAL_MS apart) and CLIENT_RUNS timed runs of libcoap's coap-client.
run_coap() {
    local requests interval runs srv cli phase phases i t1 t2 ppid_c spin busy load lpid idle_json idle_cpu run_cpu
    requests=$(key requests)
    interval=$(key interval_ms)
    runs=$(key client_runs)
    requests=${requests:-500} interval=${interval:-5} runs=${runs:-30}
    # The proxy's idle policy (conf/README.md idle_spin_us, busy_poll) and the background load
    # of the third phase: one more unit sending load_pps (0: no such phase).
    spin=$(key idle_spin_us) busy=$(key busy_poll) load=$(key load_pps)
    load=${load:-0}
    [[ $load =~ ^[0-9]+$ ]] && ((load <= 400000)) || xp_fail "load_pps: 0..400000 packets per second"
    idle_json=""
    [ -z "$spin" ] || idle_json+="\"idle_spin_us\": $spin, "
    case $busy in
    '' | 0 | false) ;;
    1 | true) idle_json+="\"busy_poll\": true, " ;;
    *) xp_fail "busy_poll: 0 or 1" ;;
    esac
    srv=$(command -v coap-server || command -v coap-server-notls || true)
    cli=$(command -v coap-client || command -v coap-client-notls || true)
    if [ -z "$srv" ] || [ -z "$cli" ]; then
        xp_fail "needs libcoap's coap-server and coap-client (Debian libcoap3-bin)"
    fi
    xp_addr "${NS_U[0]}" u0 198.18.0.2/24
    xp_addr "${NS_T[0]}" t0 198.18.0.254/24
    # veth offloads the UDP checksum to "hardware" that does not exist: the bridge path
    # keeps the skb's CHECKSUM_PARTIAL, but AF_XDP forwards the bytes as they are (the
    # checksum field holds only the pseudo-header sum) and the receiver drops them. Real
    # NICs fill it in before the wire; here the senders compute it (ethtool -K DEV tx off).
    ip netns exec "${NS_U[0]}" "$GEN" tx-csum-off --ifname u0 || xp_fail "cannot switch off u0's TX checksum offload"
    ip netns exec "${NS_T[0]}" "$GEN" tx-csum-off --ifname t0 || xp_fail "cannot switch off t0's TX checksum offload"
    xp_bg _srv coap-server ip netns exec "${NS_T[0]}" taskset -c "$GEN_CPU" "$srv" -A 198.18.0.254
    xp_wait_for 10 ip netns exec "${NS_U[0]}" "$cli" -B 1 -m get coap://198.18.0.254/ ||
        xp_fail "coap-server does not answer: $(tail -3 "$XP_TMP/coap-server.err")"
    # without: the bridge, client and server on one core (as the first measurements);
    # without_split: the bridge, the server moved to the proxy's core, so that each direction
    # wakes the other core as it does through the proxy (a sleeping vCPU's wake-up is tens of
    # microseconds here: bench/README.md "Idle policy").
    phases="without without_split with"
    [ "$load" = 0 ] || phases+=" loaded"
    # awake=1: a SCHED_IDLE spinner on the client's core keeps that vCPU from halting
    # (diagnostic: what the endpoints' wake-ups cost, not a setting of the proxy).
    local spid=""
    if [ "$(key awake)" = 1 ]; then
        xp_bg spid spinner taskset -c "$GEN_CPU" chrt -i 0 sh -c 'while :; do :; done'
    fi
    for phase in $phases; do
        if [ "$phase" = without_split ]; then
            taskset -p -c "$DUT_CPU" "$_srv" >/dev/null || xp_fail "cannot move coap-server"
        elif [ "$phase" = with ]; then
            taskset -p -c "$GEN_CPU" "$_srv" >/dev/null || xp_fail "cannot move coap-server"
        fi
        if [ "$phase" = loaded ]; then
            # Background units (198.18.0.100.., UDP to the discard port) through the same
            # proxy while the round trips are measured, each at most 4000 pps so that the
            # policer (T_F1 5000 here) lets them through; their generator shares the
            # client's core.
            : >"$XP_TMP/load.scen"
            for ((i = 0; i < (load + 3999) / 4000; i++)); do
                printf 'unit load%d group=0 src=198.18.0.%d dst=198.18.0.254 profile=constant rate=%d\n' \
                    "$i" $((100 + i)) $((load / ((load + 3999) / 4000))) >>"$XP_TMP/load.scen"
            done
            xp_bg lpid load ip netns exec "${NS_U[0]}" taskset -c "$GEN_CPU" "$GEN" send \
                --ifname u0 --scenario "$XP_TMP/load.scen" --group 0 --dst-mac "$(xp_mac "${NS_T[0]}" t0)" \
                --duration $((requests * interval / 1000 + 5))
            sleep 1
        fi
        if [ "$phase" = with ]; then
            cat >"$OUT/proxy-0.json" <<JSON
{
  "proxy_id": "p0",
  "ports": { "access": "xpa", "core": "xpc" },
  "cpus": [$DUT_CPU], $idle_json
  "ctl_socket": "$XP_TMP/p0.sock",
  "events_out": "$OUT/events-0.jsonl",
  "policer": { "unit_prefixes": $PREFIXES, $POLICER }
}
JSON
            xp_bg ppid_c proxy0 ip netns exec "${NS_P[0]}" sh -c "$XP_BPFFS_SH" xp \
                "$XP_PROXY" -c "$OUT/proxy-0.json" --stats-out -
            xp_proxy_wait_stats proxy0 1 20 || xp_fail "proxy did not start: $(tail -3 "$XP_TMP/proxy0.err")"
            # Three quiet seconds: the worker's CPU with no traffic (its stats lines 1..4).
            xp_proxy_wait_stats proxy0 4 20 || xp_fail "proxy stats stopped"
        fi
        [[ $phase == without* ]] || wc -l <"$XP_TMP/proxy0.out" >"$XP_TMP/mark-$phase-0"
        ip netns exec "${NS_U[0]}" "$cli" -B 2 -m get coap://198.18.0.254/ >"$OUT/coap-client-$phase.txt" 2>&1 ||
            xp_fail "coap-client failed $phase xpro: $(cat "$OUT/coap-client-$phase.txt")"
        ip netns exec "${NS_U[0]}" taskset -c "$GEN_CPU" "$GEN" rtt --server 198.18.0.254 \
            --count "$requests" --interval-ms "$interval" --out "$OUT/rtt-$phase.csv" \
            >"$OUT/rtt-$phase.json" 2>"$XP_TMP/rtt-$phase.err" ||
            xp_fail "xpro-gen rtt failed $phase xpro: $(cat "$XP_TMP/rtt-$phase.err")"
        : >"$OUT/coap-client-$phase.ms"
        if [ "$phase" = without_split ]; then # round trips only: coap-client as in "without"
            xp_log "$phase xpro: $(cat "$OUT/rtt-$phase.json")"
            continue
        fi
        for ((i = 0; i < runs; i++)); do
            t1=$(date +%s%N)
            ip netns exec "${NS_U[0]}" taskset -c "$GEN_CPU" "$cli" -B 2 -m get coap://198.18.0.254/ >/dev/null 2>&1 ||
                xp_fail "coap-client run $i failed $phase xpro"
            t2=$(date +%s%N)
            echo "scale = 3; ($t2 - $t1) / 1000000" | bc >>"$OUT/coap-client-$phase.ms"
        done
        xp_log "$phase xpro: $(cat "$OUT/rtt-$phase.json")"
        [[ $phase == without* ]] || { sleep 1.1; wc -l <"$XP_TMP/proxy0.out" >"$XP_TMP/mark-$phase-1"; }
        if [ "$phase" = loaded ]; then
            xp_kill "$lpid" TERM
            xp_wait_pid "$lpid" 10 || true
        fi
    done
    xp_kill "$ppid_c" TERM
    [ -z "$spid" ] || xp_kill "$spid" TERM
    cp "$XP_TMP/proxy0.out" "$OUT/proxy-0.stats.jsonl"
    touch "$OUT/events-0.jsonl"
    median_ms() { sort -n "$1" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
    [ -f "$OUT/rtt-loaded.json" ] || echo null >"$OUT/rtt-loaded.json"
    # cpu_pct A B: the worker's busy share (working + spinning) between stats lines A and B.
    cpu_pct() {
        sed -n "${1}p;${2}p" "$XP_TMP/proxy0.out" | jq -s '
            (.[0].workers[0]) as $y | (.[1].workers[0]) as $z |
            (($z.work_ns + $z.spin_ns) - ($y.work_ns + $y.spin_ns)) as $b |
            ($b + $z.sleep_ns - $y.sleep_ns) as $t | if $t > 0 then (1000 * $b / $t | round / 10) else null end'
    }
    idle_cpu=$(cpu_pct 1 4)
    run_cpu=$(cpu_pct "$(cat "$XP_TMP/mark-with-0")" "$(cat "$XP_TMP/mark-with-1")")
    jq -n --arg name "$NAME" --slurpfile wo "$OUT/rtt-without.json" --slurpfile w "$OUT/rtt-with.json" \
        --slurpfile ws "$OUT/rtt-without_split.json" --argjson awake "$([ -n "$spid" ] && echo true || echo false)" \
        --slurpfile wl "$OUT/rtt-loaded.json" --argjson load "$load" \
        --arg spin "${spin:-default}" --arg busy "${busy:-default}" \
        --argjson idle_cpu "$idle_cpu" --argjson run_cpu "$run_cpu" \
        --argjson cwo "$(median_ms "$OUT/coap-client-without.ms")" \
        --argjson cw "$(median_ms "$OUT/coap-client-with.ms")" --arg date "$(date -Is)" \
        --argjson blocks "$(grep -c '"block"' "$OUT/events-0.jsonl" || true)" \
        --argjson layout "{\"client_and_server_cpu\": $GEN_CPU, \"proxy_cpu\": $DUT_CPU}" '
        ($wo[0]) as $a | ($w[0]) as $b | ($wl[0]) as $l | ($ws[0]) as $s |
        {scenario: $name, date: $date, cores: $layout, client_core_kept_awake: $awake,
         idle_policy: {idle_spin_us: $spin, busy_poll: $busy},
         worker_cpu_pct: {idle: $idle_cpu, during_requests: $run_cpu},
         loaded: (if $l == null then null else
            {load_pps: $load, rtt_us: $l,
             rtt_overhead_median_us: (($l.median_us - $a.median_us) * 10 | round / 10),
             rtt_overhead_p99_us: (($l.p99_us - $a.p99_us) * 10 | round / 10)} end),
         rtt_us: {without_xpro: $a, without_xpro_split_cores: $s, with_xpro: $b},
         rtt_overhead_median_us: (($b.median_us - $a.median_us) * 10 | round / 10),
         rtt_overhead_p99_us: (($b.p99_us - $a.p99_us) * 10 | round / 10),
         split_cores: {note: "against the bridge with client and server on different cores (each direction wakes the other core, as through the proxy)",
                       rtt_overhead_median_us: (($b.median_us - $s.median_us) * 10 | round / 10),
                       rtt_overhead_p99_us: (($b.p99_us - $s.p99_us) * 10 | round / 10)},
         coap_client_run_ms_median: {without_xpro: $cwo, with_xpro: $cw,
                                     note: "a whole coap-client process per request (start-up included)"},
         block_events: $blocks, lost_with_xpro: $b.lost}' >"$OUT/summary.json"
    [ "$PLOT" = 0 ] ||
        gnuplot -e "dir='$OUT'; out='$OUT/$NAME.png'; ttl='xpro $NAME: CoAP GET round trips, coap-server behind the proxy'" \
            "$BENCH_DIR/plot/rtt.gp" 2>"$XP_TMP/gnuplot.err" || xp_fail "gnuplot failed: $(cat "$XP_TMP/gnuplot.err")"
    jq -c '{scenario, idle_policy, rtt_overhead_median_us, rtt_overhead_p99_us, split_cores: (.split_cores | del(.note)), client_core_kept_awake, worker_cpu_pct, loaded_overhead_median_us: .loaded.rtt_overhead_median_us, loaded_overhead_p99_us: .loaded.rtt_overhead_p99_us, median_without: .rtt_us.without_xpro.median_us, median_with: .rtt_us.with_xpro.median_us, coap_client_run_ms_median}' "$OUT/summary.json"
    xp_log "plot: $OUT/$NAME.png  summary: $OUT/summary.json"
}
if [ "$MODE" = coap ]; then
    [ "$PROXIES" = 1 ] || xp_fail "mode coap runs with one proxy"
    run_coap
    exit 0
fi

# ---- processes -------------------------------------------------------------------------

if [ -n "$NS_C" ]; then
    {
        printf '{\n  "listen": "198.18.255.1", "port": 7420,\n'
        printf '  "state_file": "%s/central.state", "persist_period_ms": 1000, "stats_period_ms": 1000,\n' "$XP_TMP"
        printf '  "merge": { %s },\n  "proxies": {' "$MERGE"
        for ((i = 0; i < PROXIES; i++)); do
            printf '%s "p%d": "%s"' "$([ "$i" = 0 ] || echo ,)" "$i" "${SECRET[$i]}"
        done
        printf ' }\n}\n'
    } >"$OUT/central.json"
    XP_CENTRAL=$CENTRAL xp_central_start CPID central "$NS_C" "$OUT/central.json"
    xp_wait_for 10 xp_file_has "$XP_TMP/central.err" listening ||
        xp_fail "central did not start: $(tail -3 "$XP_TMP/central.err")"
fi

PPIDS=()
for ((i = 0; i < PROXIES; i++)); do
    sync=
    [ -z "$NS_C" ] ||
        sync=$(printf '"sync": { "central": "198.18.255.1:7420", "secret": "%s", "period_ms": %s },' \
            "${SECRET[$i]}" "$SYNC_MS")
    cat >"$OUT/proxy-$i.json" <<JSON
{
  "proxy_id": "p$i",
  "ports": { "access": "xpa", "core": "xpc" },
  "cpus": [$DUT_CPU],
  "ctl_socket": "$XP_TMP/p$i.sock",
  "events_out": "$OUT/events-$i.jsonl",
  $sync
  "policer": { "unit_prefixes": $PREFIXES, $POLICER }
}
JSON
    xp_bg "PPIDS[$i]" "proxy$i" ip netns exec "${NS_P[$i]}" sh -c "$XP_BPFFS_SH" xp \
        "$XP_PROXY" -c "$OUT/proxy-$i.json" --stats-out -
done
for ((i = 0; i < PROXIES; i++)); do
    xp_proxy_wait_stats "proxy$i" 1 20 || xp_fail "proxy $i did not start: $(tail -3 "$XP_TMP/proxy$i.err")"
done
synced() { [ "$(grep '"totals"' "$XP_TMP/proxy$1.out" | tail -n 1 | jq -r .sync.state)" = synced ]; }
if [ -n "$NS_C" ]; then
    for ((i = 0; i < PROXIES; i++)); do
        xp_wait_for 15 synced "$i" || xp_fail "proxy $i never synced"
    done
    xp_log "all $PROXIES proxies synced with xpro-central"
fi

SINKS=()
for ((i = 0; i < PROXIES; i++)); do
    xp_bg "SINKS[$i]" "sink$i" ip netns exec "${NS_T[$i]}" taskset -c "$DUT_CPU" "$GEN" sink \
        --ifname t0 --duration "$((DURATION + 20))" --out "$OUT/sink-$i.csv" \
        --ready-file "$XP_TMP/sink$i.ready"
    xp_wait_for 10 test -f "$XP_TMP/sink$i.ready" || xp_fail "sink $i never became ready"
done

START_AT=$(($(date +%s) + 2))
GENS=()
for ((i = 0; i < PROXIES; i++)); do
    xp_bg "GENS[$i]" "gen$i" ip netns exec "${NS_U[$i]}" taskset -c "$GEN_CPU" "$GEN" send \
        --ifname u0 --scenario "$OUT/scenario.txt" --group "$i" --dst-mac "${TMAC[$i]}" \
        --duration "$DURATION" --start-at "$START_AT" --out "$OUT/gen-$i.csv"
done
xp_log "generators start at $START_AT for ${DURATION}s"
# Live view: the first proxy's forwarded packets and drops, once a second.
for ((s = 0; s < DURATION + 30; s++)); do
    running=0
    for pid in "${GENS[@]}"; do kill -0 "$pid" 2>/dev/null && running=1; done
    [ "$running" = 1 ] || break
    sleep 1
    grep '"totals"' "$XP_TMP/proxy0.out" | tail -n 1 |
        jq -rc '"p0: tx \(.totals.tx_packets) drop_unit \(.pipeline.drop_unit_rate) drop_dst \(.pipeline.drop_dst_rate) xdp_blocked \([.ports[].xdp.drop_blocked // 0] | add)"' >&2 || true
done
for ((i = 0; i < PROXIES; i++)); do
    xp_wait_pid "${GENS[$i]}" 30 || xp_fail "generator $i did not finish"
    [ "$XP_RC" = 0 ] || xp_fail "generator $i failed ($XP_RC): $(tail -3 "$XP_TMP/gen$i.err")"
done
sleep 1.5
# Frames the generators handed to u0 that veth dropped before the proxy (the receiving
# side's XDP ring full): they count as sent and not forwarded.
VETH_DROPS=0 VETH_PER=()
for ((i = 0; i < PROXIES; i++)); do
    VETH_PER[i]=$(($(ip -n "${NS_U[$i]}" -s -j link show u0 | jq '.[0].stats64.tx.dropped') +
        $(ip -n "${NS_P[$i]}" -s -j link show xpa | jq '.[0].stats64.rx.dropped')))
    VETH_DROPS=$((VETH_DROPS + VETH_PER[i]))
done
for ((i = 0; i < PROXIES; i++)); do
    xp_kill "${SINKS[$i]}" TERM
    xp_kill "${PPIDS[$i]}" TERM
done
[ -z "$NS_C" ] || xp_kill "$CPID" TERM
for ((i = 0; i < PROXIES; i++)); do
    cp "$XP_TMP/proxy$i.out" "$OUT/proxy-$i.stats.jsonl"
    cp "$XP_TMP/gen$i.out" "$OUT/gen-$i.jsonl"
    cp "$XP_TMP/sink$i.out" "$OUT/sink-$i.jsonl"
    [ -s "$OUT/sink-$i.csv" ] || xp_fail "sink $i wrote no CSV: $(tail -3 "$XP_TMP/sink$i.err")"
    touch "$OUT/events-$i.jsonl"
done

# ---- results ---------------------------------------------------------------------------

# Units: name src role attack_start(s after start) profile.
UNITS_TSV=$(awk '$1 == "unit" {
    name = $2; src = ""; role = "benign"; prof = "constant"; at = 0; st = 0
    for (i = 3; i <= NF; i++) {
        split($i, kv, "=")
        if (kv[1] == "src") src = kv[2]; else if (kv[1] == "role") role = kv[2]
        else if (kv[1] == "profile") prof = kv[2]; else if (kv[1] == "at") at = kv[2]
        else if (kv[1] == "start") st = kv[2]
    }
    a = (prof == "flood" || prof == "quiet-flood") ? at : st
    print name, src, role, a
}' <<<"$SCEN_TXT")
START=$(jq -rs 'map(select(.start)) | map(.start) | min' "$OUT"/gen-*.jsonl)
T0=${START%.*}

# units.csv: t (s since the first generator second), unit, src, sent, forwarded.
awk -F, -v t0="$T0" '
    FNR == 1 { next }
    FILENAME ~ /sink-/ { rx[$1 "," $2] += $3; next }
    { key = $1 "," $3; sent[key] = $4; unit[key] = $2; order[++n] = key }
    END {
        print "t,unit,src,sent,forwarded"
        for (i = 1; i <= n; i++) {
            k = order[i]; split(k, p, ",")
            printf "%d,%s,%s,%d,%d\n", p[1] - t0, unit[k], p[2], sent[k], rx[k] + 0
        }
    }' "$OUT"/sink-*.csv "$OUT"/gen-*.csv >"$OUT/units.csv"

mkdir -p "$OUT/data"
PLOT_UNITS="" PLOT_MARKS="" PLOT_BLOCKS=""
SUMMARY_UNITS="[]"
while read -r uname usrc urole uat; do
    awk -F, -v u="$uname" -v d="$DURATION" '$2 == u && $1 < d { print $1, $4, $5 }' \
        "$OUT/units.csv" >"$OUT/data/$uname.dat"
    attack_epoch=$(echo "$START + $uat" | bc -l)
    block=$(cat "$OUT"/events-*.jsonl | jq -rs --arg u "$usrc" --argjson a "$attack_epoch" \
        '[.[] | select(.event == "block" and .unit == $u and .time >= ($a - 0.5))] | sort_by(.time) | .[0] // empty | "\(.time) \(.reason)"')
    delay=null reason=null blk_rel=-1
    if [ -n "$block" ]; then
        delay=$(printf '%.3f' "$(echo "${block% *} - $attack_epoch" | bc -l)")
        reason="\"${block#* }\""
        blk_rel=$(echo "${block% *} - $T0" | bc -l)
    fi
    # Totals: all seconds; for an attacker also the attack phase: the seconds from the one
    # the attack starts in (generators start on a whole second, so it is all attack).
    first=$(echo "scale = 0; ($attack_epoch - $T0) / 1" | bc -l)
    read -r sent fwd asent afwd < <(awk -v f="$first" '{ s += $2; r += $3 } $1 >= f { as += $2; ar += $3 }
        END { printf "%d %d %d %d\n", s, r, as, ar }' "$OUT/data/$uname.dat")
    SUMMARY_UNITS=$(jq -c --arg n "$uname" --arg s "$usrc" --arg r "$urole" --argjson at "$uat" \
        --argjson sent "$sent" --argjson fwd "$fwd" --argjson asent "$asent" --argjson afwd "$afwd" \
        --argjson d "$delay" --argjson why "$reason" \
        '. + [{unit: $n, src: $s, role: $r, attack_start_s: (if $r == "attack" then $at else null end),
               sent: $sent, forwarded: $fwd, attack_phase_sent: $asent, attack_phase_forwarded: $afwd,
               detection_delay_s: (if $r == "attack" then $d else null end),
               block_reason: (if $r == "attack" then $why else null end),
               benign_blocked: (if $r == "benign" then ($d != null) else null end)}]' <<<"$SUMMARY_UNITS")
    PLOT_UNITS+="$uname "
    if [ "$urole" = attack ]; then PLOT_MARKS+="$(echo "$attack_epoch - $T0" | bc -l) "; else PLOT_MARKS+="-1 "; fi
    PLOT_BLOCKS+="$blk_rel "
done <<<"$UNITS_TSV"

jq -n --arg name "$NAME" --argjson units "$SUMMARY_UNITS" --argjson dur "$DURATION" \
    --argjson proxies "$PROXIES" --argjson pol "{$POLICER}" --arg date "$(date -Is)" \
    --argjson vd "$VETH_DROPS" --argjson vdp "[$(IFS=,; echo "${VETH_PER[*]}")]" \
    --argjson layout "{\"generators_cpu\": $GEN_CPU, \"proxies_cpu\": $DUT_CPU}" '
    def pct(a; b): if b > 0 then (10000 * a / b | round) / 100 else null end;
    ($units | map(select(.role == "attack"))) as $att | ($units | map(select(.role == "benign"))) as $ben |
    {scenario: $name, date: $date, duration_s: $dur, proxies: $proxies, policer: $pol, cores: $layout,
     attack_blocked_pct: pct(($att | map(.attack_phase_sent - .attack_phase_forwarded) | add // 0);
                             ($att | map(.attack_phase_sent) | add // 0)),
     benign_loss_pct: pct(($ben | map(.sent - .forwarded) | add // 0); ($ben | map(.sent) | add // 0)),
     detection_delay_s: ($att | map(.detection_delay_s) | if any(. == null) or length == 0 then null else max end),
     detection_delay_s_per_unit: ($att | map({(.unit): .detection_delay_s}) | add),
     benign_units_blocked: ($ben | map(select(.benign_blocked)) | map(.unit)),
     veth_drops_before_proxy: $vd, veth_drops_per_proxy: $vdp,
     units: $units,
     notes: "attack_blocked_pct counts the seconds from the one each attack starts in (detection time included); benign_loss_pct the whole run; detection_delay_s is the slowest attacker: first block event minus the attack start"}' \
    >"$OUT/summary.json"

jq -c '{scenario, attack_blocked_pct, benign_loss_pct, detection_delay_s, benign_units_blocked}' "$OUT/summary.json"
if [ "$PLOT" = 0 ]; then
    xp_log "summary: $OUT/summary.json"
    exit 0
fi
n_units=$(wc -w <<<"$PLOT_UNITS")
cols=$((n_units > 2 ? 2 : 1))
gnuplot -e "datadir='$OUT/data'; units='$PLOT_UNITS'; marks='$PLOT_MARKS'; blocks='$PLOT_BLOCKS'; \
    out='$OUT/$NAME.png'; ttl='xpro $NAME: sent vs forwarded per unit'; cols=$cols" \
    "$BENCH_DIR/plot/units.gp" 2>"$XP_TMP/gnuplot.err" ||
    xp_fail "gnuplot failed: $(cat "$XP_TMP/gnuplot.err")"
xp_log "plot: $OUT/$NAME.png  summary: $OUT/summary.json"
