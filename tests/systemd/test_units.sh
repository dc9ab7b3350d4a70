#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# test_units.sh UNIT...: the systemd units as meson generated them, checked by systemd itself
# (no systemd as PID 1 needed):
#   - systemd-analyze verify, in a temporary root that holds the built binaries at the path
#     the units name (and the commands of ExecStartPre/ExecReload), so a unit naming a
#     binary that is not installed there fails;
#   - systemd-analyze security --offline=true, whose "Overall exposure level" must be at or
#     under the ceiling of the issue: 2.0 for xpro-central, 5.0 for xpro-proxy.
# Environment: XPRO_BUILD (the build tree: src/xpro-*). Exit 77 without systemd-analyze
# (a failure when CI=true).
set -euo pipefail

fail() { echo "FAIL: $*"; exit 1; }
if ! command -v systemd-analyze >/dev/null 2>&1; then
    [ "${CI:-}" = true ] && fail "systemd-analyze missing (scripts/setup.sh installs systemd)"
    echo "SKIP: no systemd-analyze"
    exit 77
fi
[ $# -gt 0 ] || fail "usage: test_units.sh UNIT..."
root=$(mktemp -d /tmp/xp-test_units.XXXXXX)
trap 'rm -rf "$root"' EXIT
# the host's units (sysinit.target, basic.target... that every service depends on)
mkdir -p "$root/usr/lib/systemd" "$root/etc/systemd/system"
cp -r /usr/lib/systemd/system "$root/usr/lib/systemd/"
ln -s usr/lib "$root/lib"

for unit in "$@"; do
    name=$(basename "$unit")
    [ -f "$unit" ] || fail "$unit: not generated"
    # every absolute command of the unit, into the root: ours from the build tree
    while read -r cmd; do
        mkdir -p "$root$(dirname "$cmd")"
        case "$(basename "$cmd")" in
        xpro-*) src=$XPRO_BUILD/src/$(basename "$cmd") ;;
        *) src=$cmd ;;
        esac
        [ -x "$src" ] || fail "$name names $cmd, and $src is not an executable"
        cp -f "$src" "$root$cmd"
    done < <(sed -n 's/^Exec[A-Za-z]*=[-+@:!]*\(\/[^ ]*\).*/\1/p' "$unit" | sort -u)
    cp "$unit" "$root/etc/systemd/system/$name"
    # Documentation= names man pages that another part of the build writes: not checked here
    out=$(systemd-analyze verify --man=no --root="$root" "$root/etc/systemd/system/$name" 2>&1) ||
        fail "systemd-analyze verify $name: $out"
    [ -z "$out" ] || fail "systemd-analyze verify $name complains: $out"
    echo "PASS: systemd-analyze verify $name"

    case "$name" in
    xpro-central.service) ceiling=2.0 ;;
    xpro-proxy.service) ceiling=5.0 ;;
    *) fail "$name: no exposure ceiling known" ;;
    esac
    report=$(systemd-analyze security --offline=true --no-pager "$unit" 2>&1) ||
        fail "systemd-analyze security $name: $report"
    score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' <<<"$report")
    [ -n "$score" ] || fail "no \"Overall exposure level\" line for $name: $report"
    awk -v s="$score" -v c="$ceiling" 'BEGIN { exit !(s + 0 <= c + 0) }' ||
        fail "$name: exposure $score is over $ceiling: $(grep '✗' <<<"$report")"
    echo "PASS: $name: exposure $score (at most $ceiling)"
done
