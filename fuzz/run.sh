#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Run every libFuzzer target for N seconds each (default 30).
#
#   fuzz/run.sh [SECONDS]
#
# Sets up build-fuzz (clang, -Dfuzz=true) on first use, builds only the
# fuzz_* targets (so a broken module elsewhere does not stop fuzzing), and
# runs each one from a throw-away copy of fuzz/corpus/<name without fuzz_>/.
# The committed corpus is never written to. Crash, leak and timeout inputs
# land in build-fuzz/artifacts/, logs in build-fuzz/fuzz-logs/.
# Prints "PASS <target>" or "FAIL <target>" per target; exits 1 if any
# failed, 2 on a setup/build error. Extra libFuzzer flags: XP_FUZZ_ARGS.
set -u

secs=${1:-30}
case $secs in
    '' | *[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;;
esac

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 2
bd=${XP_FUZZ_BUILD_DIR:-build-fuzz} # override to keep several fuzz build dirs

if [ ! -f "$bd/build.ninja" ]; then
    setup_log=$(mktemp)
    if ! CC=clang meson setup "$bd" -Dfuzz=true -Ddeveloper_mode=disabled >"$setup_log" 2>&1; then
        tail -n 20 "$setup_log" >&2
        rm -f "$setup_log"
        exit 2
    fi
    rm -f "$setup_log"
fi

# every executable target called fuzz_*, wherever it is defined
targets=$(meson introspect "$bd" --targets | python3 -c '
import json, sys
for t in json.load(sys.stdin):
    if t["type"] == "executable" and t["name"].startswith("fuzz_"):
        print(t["name"])
') || exit 2
if [ -z "$targets" ]; then
    echo "no fuzz_* targets in $bd (was it set up with -Dfuzz=true?)" >&2
    exit 2
fi
# shellcheck disable=SC2086 # one word per target
meson compile -C "$bd" $targets >"$bd/fuzz-build.log" 2>&1 || {
    tail -n 30 "$bd/fuzz-build.log" >&2
    echo "build of fuzz targets failed, see $bd/fuzz-build.log" >&2
    exit 2
}

mkdir -p "$bd/artifacts" "$bd/fuzz-logs"
bd_abs=$(cd "$bd" && pwd)
failed=0
for t in $targets; do
    exe=$(find "$bd" -type f -name "$t" -perm -u+x | head -n 1)
    log="$bd/fuzz-logs/$t.log"
    seeds="fuzz/corpus/${t#fuzz_}"
    work=$(mktemp -d "$bd_abs/corpus-$t.XXXXXX") || exit 2
    if [ -d "$seeds" ]; then
        cp -R "$seeds/." "$work/"
    fi
    # shellcheck disable=SC2086 # XP_FUZZ_ARGS is a list of flags
    "$exe" -max_total_time="$secs" -rss_limit_mb=1024 -timeout=10 -print_final_stats=1 \
        -artifact_prefix="$bd_abs/artifacts/$t-" ${XP_FUZZ_ARGS:-} "$work" >"$log" 2>&1
    rc=$?
    rm -rf "$work"
    if [ "$rc" -eq 0 ]; then
        echo "PASS $t"
    else
        echo "FAIL $t (exit $rc, log $log)"
        grep -E 'ERROR|SUMMARY|Test unit written' "$log" | head -n 5 >&2
        failed=1
    fi
done
exit "$failed"
