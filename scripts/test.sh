#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The single test command: installs what is missing, builds build/, runs the unit and netns
# suites, the unit and sanitized suites again under ASan+UBSan (build-asan/), and the fuzzers when
# fuzz/run.sh exists. Prints one line per test and, as its very last line,
#     N passed, N failed[, N skipped]
# A skip counts as a failure when CI=true. Exits non-zero if anything failed.
#
# Environment: XPRO_FUZZ_SECONDS (default 30), XPRO_SKIP_SETUP=1 to skip scripts/setup.sh.
set -euo pipefail

cd "$(dirname "$0")/.."
XP_ROOT=$PWD
XP_CI=${CI:-false}
XP_FUZZ_SECONDS=${XPRO_FUZZ_SECONDS:-30}
XP_RESULTS=$(mktemp /tmp/xpro-test-results.XXXXXX)
trap 'rm -f "$XP_RESULTS"' EXIT

xp_say() { printf '==> %s\n' "$*" >&2; }

# xp_result STATUS NAME: STATUS is PASS, FAIL or SKIP.
xp_result() { printf '%s %s\n' "$1" "$2" >>"$XP_RESULTS"; }

# xp_step NAME CMD...: runs a build step; a failure is recorded as a failed test.
xp_step() {
    local name=$1
    shift
    xp_say "$name: $*"
    if "$@"; then
        return 0
    fi
    xp_result FAIL "$name"
    return 1
}

xp_configure() {
    local dir=$1
    shift
    if [ -f "$dir/meson-private/coredata.dat" ]; then
        meson setup --reconfigure "$dir" "$@" >&2
    else
        meson setup "$dir" "$@" >&2
    fi
}

# xp_collect_meson DIR PREFIX: one result per test from DIR/meson-logs/testlog.json.
xp_collect_meson() {
    local log="$1/meson-logs/testlog.json" prefix=$2
    if [ ! -s "$log" ]; then
        xp_say "$log missing or empty: no tests ran in $1"
        return 0
    fi
    jq -r --arg p "$prefix" '
        (if .result == "OK" or .result == "EXPECTEDFAIL" then "PASS"
         elif .result == "SKIP" then "SKIP"
         else "FAIL" end) + " " + $p + (.name | sub("^[^:]*:"; "") | gsub(" / "; "/"))' \
        "$log" >>"$XP_RESULTS"
}

# xp_meson_tests DIR PREFIX SUITE...: runs the suites, then records each test's result.
xp_meson_tests() {
    local dir=$1 prefix=$2 args=() s
    shift 2
    for s in "$@"; do args+=(--suite "$s"); done
    rm -f "$dir/meson-logs/testlog.json"
    xp_say "meson test -C $dir ${args[*]}"
    meson test -C "$dir" "${args[@]}" --print-errorlogs >&2 || true
    xp_collect_meson "$dir" "$prefix"
}

xp_fuzz() {
    local out
    if [ ! -f fuzz/run.sh ]; then
        xp_say "fuzz/run.sh not present: no fuzzing"
        return 0
    fi
    out=$(mktemp /tmp/xpro-fuzz.XXXXXX)
    xp_say "fuzz/run.sh $XP_FUZZ_SECONDS"
    if ! bash fuzz/run.sh "$XP_FUZZ_SECONDS" 2>&1 | tee "$out" >&2; then
        grep -Eq '^(PASS|FAIL)' "$out" || xp_result FAIL fuzz/run.sh
    fi
    # Lines like "PASS: target ..." or "FAIL target ...".
    sed -nE 's/^(PASS|FAIL|SKIP)[:]?[[:space:]]+([^[:space:]]+).*/\1 fuzz\/\2/p' "$out" >>"$XP_RESULTS"
    rm -f "$out"
}

main() {
    if [ "${XPRO_SKIP_SETUP:-0}" != 1 ]; then
        xp_step setup bash scripts/setup.sh || true
    fi

    if xp_step configure-build xp_configure build && xp_step compile-build ninja -C build >&2; then
        xp_meson_tests build "" unit netns package
    fi

    if xp_step configure-asan xp_configure build-asan -Db_sanitize=address,undefined -Db_lundef=false &&
        xp_step compile-asan ninja -C build-asan >&2; then
        xp_meson_tests build-asan "asan/" unit sanitized
    fi

    xp_fuzz

    local pass fail skip
    [ -s "$XP_RESULTS" ] || xp_result FAIL no-tests-ran
    echo
    echo "== results ($XP_ROOT)"
    sed 's/^/  /' "$XP_RESULTS"
    pass=$(grep -c '^PASS ' "$XP_RESULTS" || true)
    fail=$(grep -c '^FAIL ' "$XP_RESULTS" || true)
    skip=$(grep -c '^SKIP ' "$XP_RESULTS" || true)
    if [ "$XP_CI" = true ]; then
        fail=$((fail + skip))
        echo "$pass passed, $fail failed"
    elif [ "$skip" -gt 0 ]; then
        echo "$pass passed, $fail failed, $skip skipped"
    else
        echo "$pass passed, $fail failed"
    fi
    [ "$fail" = 0 ]
}

main "$@"
