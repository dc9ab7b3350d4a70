#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# docs/stats.md's metric table is the one the code exports: the block between its
# metric-table markers equals `xp_prom_lint doc` (regenerate it from there).
#
# usage: test_prom_doc.sh XP_PROM_LINT STATS_MD
set -euo pipefail
lint=$1 md=$2
want=$("$lint" doc)
got=$(sed -n '/^<!-- metric-table:begin/,/^<!-- metric-table:end/p' "$md" | sed '1d;$d')
[ -n "$got" ] || { echo "FAIL: no metric-table block in $md"; exit 1; }
if [ "$want" != "$got" ]; then
    diff <(echo "$want") <(echo "$got") | head -n 20
    echo "FAIL: $md's metric table differs from src/prom/metrics.c (xp_prom_lint doc)"
    exit 1
fi
echo "PASS: $md documents all $("$lint" names | wc -l) metric families"
