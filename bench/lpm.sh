#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# What classifying a packet's addresses costs (src/util/lpm.c), prefix count by prefix count,
# on a release build.
#
# usage: bench/lpm.sh [--prefixes N,...] [--population random|isp] [--runs R] [--json] [--build DIR]
#   --prefixes  table sizes (default 1000,10000,100000)
#   --population  random (anywhere in the address space, the default) or isp (clustered in
#               16 IPv4 /12s and one IPv6 /32)
#   --runs      runs per case, odd; the median is kept (default 5)
#   --json      only the JSON lines (one object per size), no table
#   --build     release build directory (default build-rel; set up with --buildtype=release
#               if missing)
#
# Each size is a fresh process (bench/lpm_bench.c: the prefix population, the cases single /
# burst / classify / scan_256). classify_ns is a packet's whole classification: its source in
# a 3-layer table and its destination in a 2-layer table, bursts of 64. Not part of the test
# run; the numbers are in docs/datapath.md ("Classification").
set -euo pipefail

SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$SRC_DIR/bench/lib.sh"
SIZES=1000,10000,100000
RUNS=5
POP=random
JSON=0
BUILD=$SRC_DIR/build-rel

usage() {
    sed -n '/^# usage:/,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
    exit 2
}

while [ $# -gt 0 ]; do
    case $1 in
    --prefixes) SIZES=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --population) POP=$2; shift 2 ;;
    --json) JSON=1; shift ;;
    --build) BUILD=$2; shift 2 ;;
    -h | --help) usage ;;
    *) echo "unknown option: $1" >&2; usage ;;
    esac
done
[[ $SIZES =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || { echo "--prefixes: N,N,... (N >= 1)" >&2; exit 2; }
[[ $POP == random || $POP == isp ]] || { echo "--population: random or isp" >&2; exit 2; }
[[ $RUNS =~ ^[1-9][0-9]?$ ]] && ((RUNS % 2 == 1)) || { echo "--runs: odd, 1..99" >&2; exit 2; }

xb_release_build "$BUILD" bench/xp-lpm-bench

results=()
IFS=, read -ra sizes <<<"$SIZES"
for n in "${sizes[@]}"; do
    line=$("$BUILD/bench/xp-lpm-bench" --prefixes "$n" --runs "$RUNS" --population "$POP")
    results+=("$line")
    echo "$line"
done
[ "$JSON" = 1 ] && exit 0
{
    echo
    printf '%s\n' "${results[@]}" | jq -r '[.prefixes, .single_ns, .burst_ns, .classify_ns, .scan_256_ns,
        (.src_table.bytes / 1048576 * 10 | round / 10), .src_table.classes] | @tsv' |
        (printf 'prefixes ('"$POP"')\tsingle ns\tburst ns\tclassify ns\tscan<=256 ns\tsrc table MiB\tclasses\n'; cat) |
        column -t -s $'\t'
} >&2
