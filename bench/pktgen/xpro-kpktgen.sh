#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Kernel pktgen (CONFIG_NET_PKTGEN) traffic for xpro on real hardware: run it on a sender box
# whose port is cabled to the proxy's access port. It emulates IoT units the way the proxy
# sees them: N units = a range of IPv4 source addresses (src_min..src_max), all sending UDP to
# one destination on port 5683 (CoAP), 64-byte frames by default. The units are split into
# contiguous sub-ranges, one per pktgen thread; thread k runs on CPU (--cpu + k) and sends on
# TX queue (--queue + k), at --rate packets/s (ratep), its units in turn.
#
# Run 1: the benign units alone. With --flood ADDR, run 2: the same units plus one flooding
# unit (its own thread, CPU and TX queue, --flood-rate, 0 = as fast as it can).
# Every run is bounded by --duration; every write to /proc/net/pktgen is checked (the write
# itself, then the file's "Result: OK:" line); the counters of every thread are printed at
# the end of each run. Only the pktgen commands of the kernel's
# Documentation/networking/pktgen.rst are used. The script owns pktgen on the sender: it
# writes "reset" to pgctrl (stop, remove every device from every thread) before each run and
# at exit.
#
# The proxy forwards frames unchanged, so --dst-mac is the MAC of the receiver behind the
# proxy's core port (the sink), not the proxy's. See bench/README.md, "Benchmarking on real
# hardware".
#
# usage: bench/pktgen/xpro-kpktgen.sh --dev DEV --dst-mac MAC [--threads N] [--cpu C]
#            [--queue Q] [--rate PPS] [--duration S] [--count N] [--size BYTES]
#            [--units N] [--src ADDR] [--dst ADDR] [--dport P] [--sport P] [--random-src]
#            [--burst N] [--flood ADDR] [--flood-rate PPS]
#
# Exit codes: 0 ok, 1 failure (pktgen refused a command, a run failed), 2 bad option,
# 3 kernel pktgen not available, 5 interface missing, 6 not root.
set -euo pipefail

PG=/proc/net/pktgen
PGCTRL=$PG/pgctrl

DEV=""
DST_MAC=""
THREADS=1
CPU0=0
QUEUE0=0
RATE=10000
DURATION=10
COUNT=""
COUNT_SET=0
SIZE=64
UNITS=8
SRC=198.18.0.2
DST=198.19.0.1
DPORT=5683
SPORT=49152
RANDOM_SRC=0
BURST=1
FLOOD=""
FLOOD_RATE=0
GRACE=3

CONFIGURED=0
START_PID=""

log() { printf '%s\n' "$*" >&2; }
die() {
    local code=$1
    shift
    log "xpro-kpktgen: error: $*"
    exit "$code"
}

usage() {
    sed -n '/^# usage:/,/^# 3 kernel pktgen/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    cat >&2 <<'EOF'

  --dev DEV          sender interface (required)
  --dst-mac MAC      destination MAC: the receiver behind the proxy's core port (required)
  --threads N        pktgen threads for the benign units, one TX queue each (1..64, default 1)
  --cpu C            CPU of the first thread (kpktgend_C), default 0
  --queue Q          TX queue of the first thread, default 0
  --rate PPS         packets/s per thread (ratep); 0 = as fast as possible. Default 10000
  --duration S       length of each run, 1..3600 s (default 10); bounds every run
  --count N          packets per thread (default: rate x duration; 0 = until --duration)
  --size BYTES       frame size on the wire with FCS, 64..1518 (default 64; pkt_size = BYTES-4)
  --units N          benign units = source addresses, >= threads (default 8)
  --src ADDR         first unit's source address (default 198.18.0.2)
  --dst ADDR         destination address (default 198.19.0.1)
  --dport P          UDP destination port (default 5683, CoAP)
  --sport P          UDP source port (default 49152)
  --random-src       random source within each thread's range (flag IPSRC_RND), not in turn
  --burst N          send each packet N times per queue call (burst, 1..1024; default 1)
  --flood ADDR       add run 2: the benign units plus one flooding unit from ADDR
  --flood-rate PPS   the flooder's rate (ratep); 0 = as fast as possible (default 0)
EOF
}

is_uint() { [[ $1 =~ ^[0-9]+$ ]] && ((${#1} <= 12)); }

need_uint() { # NAME VALUE MIN MAX
    is_uint "$2" || die 2 "$1: not a number: '$2'"
    (($2 >= $3 && $2 <= $4)) || die 2 "$1: $2 out of range $3..$4"
}

ip2int() { # ADDR -> integer, or fail
    local a b c d
    [[ $1 =~ ^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$ ]] || return 1
    a=${BASH_REMATCH[1]} b=${BASH_REMATCH[2]} c=${BASH_REMATCH[3]} d=${BASH_REMATCH[4]}
    ((10#$a <= 255 && 10#$b <= 255 && 10#$c <= 255 && 10#$d <= 255)) || return 1
    echo $(((10#$a << 24) | (10#$b << 16) | (10#$c << 8) | 10#$d))
}

int2ip() { echo "$((($1 >> 24) & 255)).$((($1 >> 16) & 255)).$((($1 >> 8) & 255)).$(($1 & 255))"; }

need_ip() { # NAME VALUE -> integer
    local v
    v=$(ip2int "$2") || die 2 "$1: not an IPv4 address: '$2'"
    echo "$v"
}

in_bench_space() { # integer: inside 198.18.0.0/15?
    (((($1 >> 17) << 17) == (198 << 24 | 18 << 16)))
}

while (($#)); do
    opt=$1
    case $opt in
    -h | --help)
        usage
        exit 0
        ;;
    --random-src) RANDOM_SRC=1; shift; continue ;;
    --dev | --dst-mac | --threads | --cpu | --queue | --rate | --duration | --count | --size | \
        --units | --src | --dst | --dport | --sport | --burst | --flood | --flood-rate) ;;
    *) die 2 "unknown option: $opt (--help lists them)" ;;
    esac
    (($# >= 2)) || die 2 "$opt needs a value"
    val=$2
    shift 2
    case $opt in
    --dev) DEV=$val ;;
    --dst-mac) DST_MAC=$val ;;
    --threads) THREADS=$val ;;
    --cpu) CPU0=$val ;;
    --queue) QUEUE0=$val ;;
    --rate) RATE=$val ;;
    --duration) DURATION=$val ;;
    --count) COUNT=$val COUNT_SET=1 ;;
    --size) SIZE=$val ;;
    --units) UNITS=$val ;;
    --src) SRC=$val ;;
    --dst) DST=$val ;;
    --dport) DPORT=$val ;;
    --sport) SPORT=$val ;;
    --burst) BURST=$val ;;
    --flood) FLOOD=$val ;;
    --flood-rate) FLOOD_RATE=$val ;;
    esac
done

# ---- options ------------------------------------------------------------------------------
[[ -n $DEV ]] || die 2 "--dev is required (--help for usage)"
[[ $DEV =~ ^[A-Za-z0-9_.:-]{1,15}$ ]] || die 2 "--dev: not an interface name: '$DEV'"
[[ -n $DST_MAC ]] || die 2 "--dst-mac is required: the MAC of the receiver behind the proxy's core port"
[[ $DST_MAC =~ ^([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$ ]] || die 2 "--dst-mac: not a MAC: '$DST_MAC'"
need_uint --threads "$THREADS" 1 64
need_uint --cpu "$CPU0" 0 4095
need_uint --queue "$QUEUE0" 0 4095
need_uint --rate "$RATE" 0 100000000
need_uint --duration "$DURATION" 1 3600
need_uint --size "$SIZE" 64 1518
need_uint --units "$UNITS" 1 4194304
need_uint --dport "$DPORT" 0 65535
need_uint --sport "$SPORT" 0 65535
need_uint --burst "$BURST" 1 1024
need_uint --flood-rate "$FLOOD_RATE" 0 100000000
((UNITS >= THREADS)) || die 2 "--units ($UNITS) must be at least --threads ($THREADS)"
((COUNT_SET)) && need_uint --count "$COUNT" 0 100000000000
SRC_I=$(need_ip --src "$SRC")
DST_I=$(need_ip --dst "$DST")
LAST_I=$((SRC_I + UNITS - 1))
((LAST_I <= 0xffffffff)) || die 2 "--src $SRC + --units $UNITS runs past 255.255.255.255"
FLOOD_I=""
if [[ -n $FLOOD ]]; then
    FLOOD_I=$(need_ip --flood "$FLOOD")
    ((FLOOD_I < SRC_I || FLOOD_I > LAST_I)) ||
        die 2 "--flood $FLOOD lies inside the benign units' range $SRC..$(int2ip "$LAST_I")"
fi
for v in "$SRC_I" "$LAST_I" "$DST_I" ${FLOOD_I:+"$FLOOD_I"}; do
    in_bench_space "$v" ||
        log "xpro-kpktgen: warning: $(int2ip "$v") is outside 198.18.0.0/15 (RFC 2544 benchmarking space)"
done
PKT_SIZE=$((SIZE - 4))

# ---- the machine --------------------------------------------------------------------------
if [[ ! -d $PG ]]; then
    if ((EUID == 0)) && command -v modprobe >/dev/null 2>&1; then
        modprobe pktgen 2>/dev/null || true
    fi
    [[ -d $PG ]] || die 3 "kernel pktgen is not available: $PG is missing. This kernel was" \
        "built without CONFIG_NET_PKTGEN, or the pktgen module is not loaded (modprobe" \
        "pktgen). Run this script on a sender box with pktgen; nothing was configured."
fi
((EUID == 0)) || die 6 "must run as root (writes to $PG)"
[[ -e /sys/class/net/$DEV ]] || die 5 "interface $DEV does not exist"
[[ -w $PGCTRL ]] || die 1 "$PGCTRL is not writable"
if [[ $(cat "/sys/class/net/$DEV/operstate" 2>/dev/null || echo unknown) != up ]]; then
    log "xpro-kpktgen: warning: $DEV is not up (operstate $(cat "/sys/class/net/$DEV/operstate" 2>/dev/null || echo unknown))"
fi

NTXQ=$(find "/sys/class/net/$DEV/queues" -maxdepth 1 -name 'tx-*' 2>/dev/null | wc -l)
NTHREADS=$THREADS
[[ -n $FLOOD ]] && NTHREADS=$((THREADS + 1))
((QUEUE0 + NTHREADS <= NTXQ)) ||
    die 2 "$DEV has $NTXQ TX queues; queues $QUEUE0..$((QUEUE0 + NTHREADS - 1)) needed" \
        "(ethtool -L $DEV combined N, or fewer --threads)"
for ((k = 0; k < NTHREADS; k++)); do
    [[ -e $PG/kpktgend_$((CPU0 + k)) ]] ||
        die 2 "no pktgen thread on CPU $((CPU0 + k)) ($PG/kpktgend_$((CPU0 + k)) missing):" \
            "lower --cpu or --threads"
done

# ---- writing to pktgen --------------------------------------------------------------------
# pg_write FILE COMMAND...: one write, checked; then, except for pgctrl (which has no Result
# line), the file's "Result:" line must say OK.
pg_write() {
    local file=$1 res
    shift
    [[ -w $file ]] || die 1 "$file does not exist or is not writable (while writing '$*')"
    if ! { printf '%s\n' "$*" >"$file"; } 2>/dev/null; then
        res=$(grep -m1 '^Result:' "$file" 2>/dev/null || true)
        die 1 "pktgen rejected '$*' > $file${res:+ ($res)}"
    fi
    if [[ $file != "$PGCTRL" ]]; then
        res=$(grep -m1 '^Result:' "$file" 2>/dev/null || true)
        [[ $res == "Result: OK:"* ]] || die 1 "pktgen refused '$*' > $file: ${res:-no Result line}"
    fi
}

# dev_setup NAME THREAD QUEUE SRC_MIN SRC_MAX RATE: one pktgen device DEV@NAME on kpktgend_THREAD.
# Its count: --count if given, else RATE x --duration (0, i.e. until --duration, at max rate).
dev_setup() {
    local name=$DEV@$1 thread=$PG/kpktgend_$2 q=$3 smin=$4 smax=$5 rate=$6 count
    local f=$PG/$name

    if ((COUNT_SET)); then count=$COUNT; else count=$((rate * DURATION)); fi
    ((count > 0)) && ANY_COUNT=1
    pg_write "$thread" "add_device $name"
    [[ -e $f ]] || die 1 "pktgen did not create $f"
    pg_write "$f" "count $count"
    pg_write "$f" "pkt_size $PKT_SIZE"
    if ((rate > 0)); then
        pg_write "$f" "ratep $rate"
    else
        pg_write "$f" "delay 0"
    fi
    ((BURST > 1)) && pg_write "$f" "burst $BURST"
    pg_write "$f" "dst_mac $DST_MAC"
    pg_write "$f" "dst $DST"
    pg_write "$f" "dst_max $DST"
    pg_write "$f" "src_min $(int2ip "$smin")"
    pg_write "$f" "src_max $(int2ip "$smax")"
    pg_write "$f" "udp_src_min $SPORT"
    pg_write "$f" "udp_src_max $SPORT"
    pg_write "$f" "udp_dst_min $DPORT"
    pg_write "$f" "udp_dst_max $DPORT"
    pg_write "$f" "queue_map_min $q"
    pg_write "$f" "queue_map_max $q"
    ((RANDOM_SRC)) && ((smax > smin)) && pg_write "$f" "flag IPSRC_RND"
    printf '  %-22s cpu %-4s txq %-4s src %s..%s (%s units) -> %s:%s  %s pps%s  count %s\n' \
        "$name" "$2" "$q" "$(int2ip "$smin")" "$(int2ip "$smax")" "$((smax - smin + 1))" \
        "$DST" "$DPORT" "$( ((rate > 0)) && echo "$rate" || echo max)" \
        "$( ((rate > 0)) && echo " ($((rate / (smax - smin + 1))) per unit)")" \
        "$( ((count > 0)) && echo "$count" || echo "until ${DURATION}s")"
    DEVICES+=("$name")
}

configure() { # configure WITH_FLOOD(0|1)
    local k smin smax per=$((UNITS / THREADS)) extra=$((UNITS % THREADS)) next=$SRC_I
    DEVICES=()
    ANY_COUNT=0
    pg_write "$PGCTRL" "reset" # "reset" also stops the threads and removes every device
    CONFIGURED=1
    for ((k = 0; k < NTHREADS; k++)); do
        pg_write "$PG/kpktgend_$((CPU0 + k))" "rem_device_all"
    done
    for ((k = 0; k < THREADS; k++)); do
        smin=$next
        smax=$((smin + per - 1 + (k < extra ? 1 : 0)))
        next=$((smax + 1))
        dev_setup "$k" "$((CPU0 + k))" "$((QUEUE0 + k))" "$smin" "$smax" "$RATE"
    done
    if (($1)); then
        dev_setup "$THREADS" "$((CPU0 + THREADS))" "$((QUEUE0 + THREADS))" \
            "$FLOOD_I" "$FLOOD_I" "$FLOOD_RATE"
    fi
}

# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ -n $START_PID ]] && kill -0 "$START_PID" 2>/dev/null; then
        { printf 'stop\n' >"$PGCTRL"; } 2>/dev/null || true
        kill "$START_PID" 2>/dev/null || true
        wait "$START_PID" 2>/dev/null || true
    fi
    if ((CONFIGURED)); then
        { printf 'reset\n' >"$PGCTRL"; } 2>/dev/null || log "xpro-kpktgen: warning: pktgen reset failed"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# run NAME: start all devices (pgctrl "start" blocks until every device is done), stop them
# after --duration (+ a grace when counts end the run), print the counters.
run() {
    local name=$1 t=0 limit=$DURATION rc=0 f sofar errors res
    # with counts the devices end on their own near --duration; "stop" is the bound
    ((ANY_COUNT)) && limit=$((DURATION + GRACE))
    log "xpro-kpktgen: run '$name': ${#DEVICES[@]} device(s), at most ${limit}s"
    { printf 'start\n' >"$PGCTRL"; } 2>/dev/null &
    START_PID=$!
    while kill -0 "$START_PID" 2>/dev/null && ((t < limit * 10)); do
        sleep 0.1
        t=$((t + 1))
    done
    if kill -0 "$START_PID" 2>/dev/null; then
        pg_write "$PGCTRL" "stop"
        t=0
        while kill -0 "$START_PID" 2>/dev/null && ((t < 100)); do
            sleep 0.1
            t=$((t + 1))
        done
        if kill -0 "$START_PID" 2>/dev/null; then
            kill "$START_PID" 2>/dev/null || true
            log "xpro-kpktgen: warning: pktgen did not stop within 10 s of 'stop'"
        fi
    fi
    wait "$START_PID" || rc=$?
    START_PID=""
    ((rc == 0)) || log "xpro-kpktgen: warning: 'start' > $PGCTRL ended with status $rc"
    printf 'run %s: result per thread\n' "$name"
    for f in "${DEVICES[@]}"; do
        sofar=$(sed -n 's/.*pkts-sofar: *\([0-9]*\).*/\1/p' "$PG/$f" | head -n1)
        errors=$(sed -n 's/.*pkts-sofar: *[0-9]* *errors: *\([0-9]*\).*/\1/p' "$PG/$f" | head -n1)
        res=$(sed -n '/^Result:/,$p' "$PG/$f" | tr -s ' \n' ' ')
        printf '  %-22s sent %s errors %s | %s\n' "$f" "${sofar:-?}" "${errors:-?}" "${res:-no Result}"
        [[ $res == "Result: OK:"* ]] || rc=1
    done
    return "$rc"
}

# ---- main ---------------------------------------------------------------------------------
printf 'xpro-kpktgen: %s -> dst MAC %s, %s benign unit(s) %s..%s, %s thread(s) from CPU %s / TX queue %s,\n' \
    "$DEV" "$DST_MAC" "$UNITS" "$SRC" "$(int2ip "$LAST_I")" "$THREADS" "$CPU0" "$QUEUE0"
printf '  UDP %s -> %s:%s, %s-byte frames (pkt_size %s), %s s per run%s\n' \
    "$SPORT" "$DST" "$DPORT" "$SIZE" "$PKT_SIZE" "$DURATION" \
    "${FLOOD:+, flooder $FLOOD at $( ((FLOOD_RATE > 0)) && echo "$FLOOD_RATE pps" || echo "max rate") in run 2}"

rc=0
printf 'run 1 (benign):\n'
configure 0
run benign || rc=1
if [[ -n $FLOOD ]]; then
    printf 'run 2 (benign + flooder):\n'
    configure 1
    run benign+flood || rc=1
fi
exit "$rc"
