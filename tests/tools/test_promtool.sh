#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Prometheus's own linter on the text of stored real stats lines (tests/unit/data/: inline,
# gateway, DPDK, synced with a central node): no error, no lint problem. The netns tests do
# the same on live scrapes; this one needs no root and covers the synced proxy too.
#
# usage: test_promtool.sh XP_PROM_LINT STATS.json...
set -euo pipefail
lint=$1
shift
if ! command -v promtool >/dev/null; then
    [ "${CI:-}" = true ] && { echo "FAIL: promtool missing (Debian package prometheus)"; exit 1; }
    echo "SKIPPED: promtool missing (Debian package prometheus: scripts/setup.sh)"
    exit 77
fi
bad=0
for doc in "$@"; do
    text=$("$lint" render "$doc")
    if ! out=$(promtool check metrics <<<"$text" 2>&1) || [ -n "$out" ]; then
        echo "FAIL: $(basename "$doc"): $out"
        bad=$((bad + 1))
    else
        echo "ok: $(basename "$doc"): $(grep -c '^# TYPE' <<<"$text") families, promtool silent"
    fi
done
[ "$bad" = 0 ] || exit 1
echo "PASS: promtool check metrics on $# stats documents"
