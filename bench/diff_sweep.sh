#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# bench/diff_sweep.sh [SEEDS] [--build DIR]: the long seed sweep of the pair-lifecycle
# differential test (tests/unit/test_lifecycle_diff.c: the real proxies, sync and central node
# against the reference model tests/model/). Prints the per-seed lines, a JSON summary and a
# short table. Default 200 seeds per configuration (about 20 minutes on a 2-vCPU guest).
set -euo pipefail
SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)
SEEDS=200
BUILD=$SRC_DIR/build
while [ $# -gt 0 ]; do
    case $1 in
    --build) BUILD=${2:?}; shift 2 ;;
    [0-9]*) SEEDS=$1; shift ;;
    *) echo "usage: $0 [SEEDS] [--build DIR]" >&2; exit 2 ;;
    esac
done
BIN=$BUILD/tests/unit/test_lifecycle_diff
[ -x "$BIN" ] || { echo "$0: $BIN missing: build first (meson setup build && ninja -C build)" >&2; exit 2; }
OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT
rc=0
XP_DIFF_SEEDS=$SEEDS "$BIN" >"$OUT" 2>&1 || rc=$?
grep ' seed ' "$OUT" || true
awk -v rc="$rc" '
/ seed [0-9]+: / {
    runs++; pk += $4
    for (i = 1; i <= NF; i++) {
        if ($i == "mismatches" && $(i-1) == "unit") um += $(i+1)
        if ($i == "positives") fp += $(i+1)
        if ($i == "negatives") fn += $(i+1)
        if ($i == "lag:") { v = $(i+1); sub(/\)/, "", v); un += v }
    }
}
/ spread units: / {
    for (i = 1; i <= NF; i++) {
        if ($i == "mismatches," && $(i-2) == "checks,") sm += $(i-1)
        if ($i == "holder;") sh += $(i-5)
        if ($i == "both") st += $(i-3)
    }
}
END {
    printf "{\"runs\":%d,\"packets\":%d,\"unit_mismatches\":%d,\"shared_false_positives\":%d,\"shared_false_negatives\":%d,\"unexplained_false_negatives\":%d,\"spread_state_mismatches\":%d,\"spread_holder_errors\":%d,\"spread_drop_tick_mismatches\":%d,\"exit\":%d}\n", runs, pk, um, fp, fn, un, sm, sh, st, rc
    printf "\n| runs | packets | unit mismatches | shared-dst false positives | false negatives (unexplained) |\n|---|---|---|---|---|\n| %d | %d | %d | %d | %d (%d) |\n", runs, pk, um, fp, fn, un
}' "$OUT"
exit "$rc"
