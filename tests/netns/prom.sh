# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# The Prometheus endpoint of a running proxy, checked the way a scraper and its operator
# would: Prometheus's own linter (promtool, Debian's prometheus package) and the metric
# table (tests/tools/xp_prom_lint). Sourced by netns tests after lib.sh.

XP_PROM_LINT=${XP_PROM_LINT:-$XPRO_BUILD/tests/tools/xp_prom_lint}

# xp_prom_require: promtool and the lint tool are there (a skip, i.e. a failure in CI, if
# promtool is not installed: scripts/setup.sh installs it).
xp_prom_require() {
    xp_require_cmd promtool
    [ -x "$XP_PROM_LINT" ] || xp_fail "xp_prom_lint not built: $XP_PROM_LINT"
}

# xp_prom_scrape NS PORT FILE: GET /metrics from 127.0.0.1:PORT in namespace NS; the body
# in FILE (the whole answer in FILE.http). Fails unless the answer is 200.
xp_prom_scrape() {
    local ns=$1 port=$2 out=$3
    ip netns exec "$ns" timeout 5 bash -c \
        "exec 3<>/dev/tcp/127.0.0.1/$port; printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3; cat <&3" \
        >"$out.http" || xp_fail "no answer from the Prometheus endpoint in $ns on port $port"
    head -n 1 "$out.http" | grep -q "^HTTP/1.0 200" ||
        xp_fail "Prometheus endpoint answered: $(head -n 1 "$out.http")"
    sed '1,/^\r$/d' "$out.http" >"$out"
}

# xp_prom_check NS PORT WHAT: scrape, then assert that promtool finds no error and no lint
# problem, and that every family is in the metric table with its type, help and labels.
# The body is left in $XP_TMP/metrics-WHAT.txt.
xp_prom_check() {
    local ns=$1 port=$2 what=$3 out="$XP_TMP/metrics-$3.txt" rc=0 families
    xp_prom_scrape "$ns" "$port" "$out"
    promtool check metrics <"$out" >"$XP_TMP/promtool-$what.log" 2>&1 || rc=$?
    xp_check "promtool check metrics ($what): exit $rc, $(wc -l <"$XP_TMP/promtool-$what.log") problems$(
        head -n 3 "$XP_TMP/promtool-$what.log" | tr '\n' ' ' | sed 's/^./: &/')" \
        test "$rc" = 0 -a ! -s "$XP_TMP/promtool-$what.log"
    rc=0
    "$XP_PROM_LINT" text "$out" >"$XP_TMP/promlint-$what.log" 2>&1 || rc=$?
    families=$(grep -c '^# TYPE ' "$out" || true)
    xp_check "$families families ($what) match the metric table$(
        head -n 3 "$XP_TMP/promlint-$what.log" | tr '\n' ' ' | sed 's/^./: &/')" \
        test "$rc" = 0 -a "$families" -gt 20
}

# xp_prom_check_fields FILE WHAT: every numeric field of the stats lines in FILE is exported
# or deliberately not (src/prom/metrics.c).
xp_prom_check_fields() {
    local rc=0
    grep '"totals"' "$1" >"$XP_TMP/docs-$2.jsonl" || true
    "$XP_PROM_LINT" fields "$XP_TMP/docs-$2.jsonl" >"$XP_TMP/promfields-$2.log" 2>&1 || rc=$?
    xp_check "every numeric stats field ($2) is in the metric table$(
        sort -u "$XP_TMP/promfields-$2.log" | head -n 3 | tr '\n' ' ' | sed 's/^./: &/')" \
        test "$rc" = 0
}
