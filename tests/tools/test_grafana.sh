#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The Grafana dashboard (conf/grafana/xpro.json) asks only for what the endpoint exports:
# every PromQL expression in it (panel targets and template queries) names at least one
# metric, every metric it names is a family of the metric table (src/prom/metrics.c) that a
# real stats line of some mode renders (tests/unit/data/), and every expression parses
# (promtool check rules, Grafana's variables replaced by values).
#
# usage: test_grafana.sh XP_PROM_LINT DASHBOARD STATS.json...
set -euo pipefail
lint=$1 dash=$2
shift 2
tmp=$(mktemp -d)
trap '[ -n "${XP_KEEP_TMP:-}" ] || rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

jq -e . "$dash" >/dev/null || fail "$dash is not JSON"
jq -r '[.. | objects | select(has("expr")) | .expr] + [.templating.list[]? | .query | objects |
       .query] | .[]' "$dash" >"$tmp/exprs"
n=$(wc -l <"$tmp/exprs")
[ "$n" -ge 20 ] || fail "only $n expressions in $dash"

"$lint" names | sort -u >"$tmp/table"
for doc in "$@"; do
    "$lint" render "$doc" | awk '$1 == "#" && $2 == "TYPE" {print $3}'
done | sort -u >"$tmp/scraped"
[ -s "$tmp/scraped" ] || fail "no family rendered from $*"

# One awk over all expressions: the machine is shared, a process per name is too slow.
awk -v table="$tmp/table" -v scraped="$tmp/scraped" '
    BEGIN {
        while ((getline m < table) > 0) in_table[m] = 1
        while ((getline m < scraped) > 0) in_scrape[m] = 1
    }
    {
        e = $0; found = 0
        while (match(e, /xpro_[a-zA-Z0-9_]+/)) {
            m = substr(e, RSTART, RLENGTH); e = substr(e, RSTART + RLENGTH); found++
            used[m] = 1
            if (!(m in in_table)) { print m " is not in the metric table: " $0; bad++ }
            else if (!(m in in_scrape)) { print m " is in the table but no stats line renders it: " $0; bad++ }
        }
        if (!found) { print "no xpro metric in: " $0; bad++ }
    }
    END { n = 0; for (m in used) n++; print n > "/dev/stderr"; exit bad ? 1 : 0 }
' "$tmp/exprs" 2>"$tmp/used" || fail "$dash names metrics the endpoint does not export"
used=$(cat "$tmp/used")

# PromQL syntax: each expression as a recording rule, which promtool parses.
if ! command -v promtool >/dev/null; then
    [ "${CI:-}" = true ] && fail "promtool missing (Debian package prometheus: scripts/setup.sh)"
    echo "SKIPPED: promtool missing"
    exit 77
fi
# Grafana's own: $variables, and label_values(SELECTOR, LABEL) that queries SELECTOR's series.
# shellcheck disable=SC2016 # literal $: Grafana variables, not shell ones
sed -e 's/\$__rate_interval/5m/g; s/\$__interval/1m/g; s/\$[A-Za-z_]\+/x/g' \
    -e 's/^label_values(\(.*\), *[A-Za-z_]\+)$/\1/' "$tmp/exprs" |
    jq -Rr '"      - record: dashboard:expr\(input_line_number)\n        expr: \(. | tojson)"' \
    >"$tmp/rules.body"
printf 'groups:\n  - name: dashboard\n    rules:\n' | cat - "$tmp/rules.body" >"$tmp/rules.yml"
promtool check rules "$tmp/rules.yml" >"$tmp/promtool.log" 2>&1 ||
    fail "promtool check rules: $(grep -v '^Checking\|SUCCESS' "$tmp/promtool.log" | head -5)"
echo "PASS: $n expressions in $(basename "$dash") parse and name $used metrics, all exported"
