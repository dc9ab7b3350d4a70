#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# What one packet costs the policer, population by population, on a release build.
#
# usage: bench/policer.sh [--pairs N,...] [--dsts D] [--keys uniform|zipf] [--runs R] [--json]
#                         [--build DIR]
#   --pairs   populations (default 1,1000,100000,1000000,10000000)
#   --dsts    destinations the pairs go to (default 50000; 8 is the throughput bench's)
#   --keys    key draw: uniform (default) or zipf (approximate Zipf(1), hot keys scattered)
#   --runs    runs per case, odd; the median is kept (default 5)
#   --json    only the JSON lines (one object per population), no table
#   --build   release build directory (default build-rel; set up with --buildtype=release
#             if missing)
#
# Each population is a fresh process (bench/policer_bench.c: the method, the cases
# steady / after_sync / restart / idle). ns_per_packet is xp_policer__packet_burst() with bursts
# of 64, the path the workers use; bytes_per_pair is the policer's whole allocation over
# its capacity (pool, index). Not part of the test run; the numbers are in docs/policer.md.
set -euo pipefail

SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$SRC_DIR/bench/lib.sh"
PAIRS=1,1000,100000,1000000,10000000
KEYS=uniform
DSTS=50000
RUNS=5
JSON=0
BUILD=$SRC_DIR/build-rel

usage() {
    sed -n '/^# usage:/,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
    exit 2
}

while [ $# -gt 0 ]; do
    case $1 in
    --pairs) PAIRS=$2; shift 2 ;;
    --keys) KEYS=$2; shift 2 ;;
    --dsts) DSTS=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --json) JSON=1; shift ;;
    --build) BUILD=$2; shift 2 ;;
    -h | --help) usage ;;
    *) echo "unknown option: $1" >&2; usage ;;
    esac
done
[[ $PAIRS =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || { echo "--pairs: N,N,... (N >= 1)" >&2; exit 2; }
[[ $DSTS =~ ^[1-9][0-9]*$ ]] && ((DSTS <= 65536)) || { echo "--dsts: 1..65536" >&2; exit 2; }
[[ $KEYS == uniform || $KEYS == zipf ]] || { echo "--keys: uniform or zipf" >&2; exit 2; }
[[ $RUNS =~ ^[1-9][0-9]?$ ]] && ((RUNS % 2 == 1)) || { echo "--runs: odd, 1..99" >&2; exit 2; }

xb_release_build "$BUILD" bench/xp-policer-bench

results=()
IFS=, read -ra pops <<<"$PAIRS"
for n in "${pops[@]}"; do
    line=$("$BUILD/bench/xp-policer-bench" --pairs "$n" --dsts "$DSTS" --keys "$KEYS" \
        --runs "$RUNS")
    results+=("$line")
    echo "$line"
done
[ "$JSON" = 1 ] && exit 0

{
    printf '\n%-10s %-7s %-8s %9s %9s %9s %9s %9s %9s\n' pairs dsts keys "ns/pkt" packet\(\) \
        after_sync restart idle B/pair
    for line in "${results[@]}"; do
        jq -r '[.pairs, .dsts, .keys, .ns_per_packet, .steady.packet, .after_sync.ns_per_packet,
                .restart.ns_per_packet, .idle.ns_per_packet, .bytes_per_pair] | @tsv' <<<"$line" |
            awk -F'\t' '{ printf "%-10s %-7s %-8s %9.1f %9.1f %9.1f %9.1f %9.1f %9d\n",
                           $1, $2, $3, $4, $5, $6, $7, $8, $9 }'
    done
    echo "(ns per packet, median of $RUNS runs; bursts of 64 except packet(); $(nproc) CPUs, $(uname -r))"
} >&2
