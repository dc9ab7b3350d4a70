# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# Verdicts over time and across proxies (issue 15), shared by test_sync_verdicts.sh and
# test_sync_lowrate.sh. Both run bench/scenario.sh (the multi-proxy topology: units ->
# proxies -> sinks, xpro-central in its own namespace) on a scenario file they generate,
# with --no-plot and --out in $XP_TMP, then judge its results:
#
#   xv_run LABEL SCENARIO_FILE      runs one scenario; results in $XP_TMP/LABEL/ (XV_OUT),
#                                   its output in $XP_TMP/LABEL.log; returns scenario.sh's rc
#   xv_units                        one line per unit: name group src role sent forwarded
#                                   (totals of the generators' and sinks' final lines)
#   xv_counted G                    the non-policer drops on proxy G, as "total detail": what
#                                   a loss of a unit behind G may be attributed to
#   xv_policer G                    the policer's counters on proxy G, for printing
#   xv_events KIND                  the KIND events of all proxies, one line each, with the
#                                   time relative to the generators' start
#   xv_lossy_seconds SRC            the seconds in which SRC lost frames: "t+S:fwd/sent ..."
#   xv_check DESCRIPTION CMD...     PASS or FAIL, without exiting (XV_FAILED counts); the
#                                   test ends with xv_done
#
# Numbers go to stdout (meson's log) as "  NAME: value" lines under each check.

XV_FAILED=0
XV_OUT=
XV_START=

xv_check() {
    local what=$1
    shift
    if "$@"; then
        xp_pass "$what"
    else
        printf 'FAIL: %s\n' "$what"
        XV_FAILED=$((XV_FAILED + 1))
    fi
}

xv_done() {
    if [ "$XV_FAILED" -gt 0 ]; then
        xp_fail "$XP_TEST_NAME: $XV_FAILED check(s) failed"
    fi
    xp_pass "$XP_TEST_NAME"
}

# The preamble: everything scenario.sh needs, checked here so that a missing piece is a skip
# (a failure in CI) of this test with a clear reason.
xv_require() {
    xp_require_all
    xp_require_cmd bc taskset
    [ -x "$XPRO_BUILD/src/xpro-gen" ] || xp_fail "xpro-gen not built: $XPRO_BUILD/src/xpro-gen"
    [ -x "$XPRO_BUILD/src/xpro-central" ] || xp_fail "xpro-central not built: $XPRO_BUILD/src/xpro-central"
    [ -f "$XPRO_SRC/bench/scenario.sh" ] || xp_fail "bench/scenario.sh missing"
    xp_mount_bpffs_root
}

# xv_valid_policer T2 T3 T4 R: the proxy's rule (src/proxy/config.c): with r > 1, t_t4 / r must
# exceed max(t_t2, t_t3).
xv_valid_policer() {
    local t2=$1 t3=$2 t4=$3 r=$4 m
    m=$((t2 > t3 ? t2 : t3))
    [ "$r" -le 1 ] || [ "$t4" -gt $((r * m)) ]
}

xv_run() {
    local label=$1 scen=$2 rc=0 t0 t1
    XV_OUT="$XP_TMP/$label"
    t0=$(date +%s)
    bash "$XPRO_SRC/bench/scenario.sh" "$scen" --build "$XPRO_BUILD" --out "$XV_OUT" --no-plot \
        >"$XP_TMP/$label.log" 2>&1 || rc=$?
    t1=$(date +%s)
    echo "  $label: scenario.sh exit $rc after $((t1 - t0)) s"
    if [ "$rc" = 77 ]; then
        xp_skip "bench/scenario.sh skipped: $(grep -m1 SKIPPED "$XP_TMP/$label.log" || true)"
    fi
    if [ "$rc" != 0 ]; then
        echo "  $label: scenario.sh failed; its last lines:"
        tail -n 8 "$XP_TMP/$label.log" | cut -c1-300 | sed 's/^/    /'
        return "$rc"
    fi
    XV_START=$(jq -rs 'map(select(.start)) | map(.start) | min' "$XV_OUT"/gen-*.jsonl)
    return 0
}

# name group src role sent forwarded, per unit (the scenario's unit lines give group and
# role; the generators' final lines what was sent, the sinks' final lines what arrived).
xv_units() {
    local name group src role rest sent fwd
    while read -r _ name rest; do
        group=$(sed -n 's/.*\bgroup=\([0-9]*\).*/\1/p' <<<"$rest")
        src=$(sed -n 's/.*\bsrc=\([^ ]*\).*/\1/p' <<<"$rest")
        role=$(sed -n 's/.*\brole=\([a-z]*\).*/\1/p' <<<"$rest")
        sent=$(jq -r --arg n "$name" 'select(.final) | .units[$n].sent // empty' "$XV_OUT/gen-${group:-0}.jsonl")
        fwd=$(jq -rs --arg s "$src" 'map(select(.final) | .per_src[$s] // 0) | add // 0' "$XV_OUT"/sink-*.jsonl)
        echo "$name ${group:-0} $src ${role:-benign} ${sent:-0} $fwd"
    done < <(grep '^unit ' "$XV_OUT/scenario.txt")
}

xv_final_stats() { grep '"totals"' "$XV_OUT/proxy-$1.stats.jsonl" | tail -n 1; }

xv_counted() {
    local g=$1 veth sinkd
    veth=$(jq -r --argjson g "$g" '.veth_drops_per_proxy[$g] // 0' "$XV_OUT/summary.json")
    sinkd=$(jq -r 'select(.final) | .socket_drops // 0' "$XV_OUT/sink-$g.jsonl")
    xv_final_stats "$g" | jq -r --argjson veth "$veth" --argjson sink "$sinkd" '
        def s(f): [f] | add // 0;
        {veth_before_proxy: $veth,
         xsk_rx: s(.ports[] | select(.role == "access") | .queues[] | .xsk.rx_dropped + .xsk.rx_ring_full),
         tx_ring_full: s(.ports[].queues[].drop_tx_ring_full),
         malformed: (.pipeline.drop_malformed // 0), table_full: (.pipeline.drop_table_full // 0),
         refused_drop: (.policer.refused_drop // 0), no_socket: s(.ports[].xdp.drop_no_socket),
         sink_socket: $sink} as $c |
        "\($c | add) \($c | to_entries | map("\(.key)=\(.value)") | join(" "))"'
}

xv_policer() {
    xv_final_stats "$1" | jq -r '
        def s(f): [f] | add // 0;
        "drop_unit_rate=\(.pipeline.drop_unit_rate) drop_dst_rate=\(.pipeline.drop_dst_rate)" +
        " xdp_drop_blocked=\(s(.ports[].xdp.drop_blocked)) xdp_drop_manual=\(s(.ports[].xdp.drop_manual))" +
        " blocks=\(.pipeline.blocks) shrinks=\(.policer.shrinks) restarts=\(.policer.restarts)" +
        " warnings=\(.policer.warnings) sync=\(.sync.state) installed=\(.sync.installed // "-")" +
        " clamped=\(.sync.clamped // "-") hot_rounds=\(.sync.hot_rounds // "-")"'
}

xv_events() {
    local kind=$1
    cat "$XV_OUT"/events-*.jsonl | jq -rc --arg k "$kind" --argjson t0 "$XV_START" '
        select(.event == $k) |
        "+\((.time - $t0) * 1000 | round / 1000)s \(.proxy_id) \(.unit) -> \(.dst)" +
        (if .reason then " reason=\(.reason)" else "" end) +
        (if .rate_pps then " rate=\(.rate_pps)pps" else "" end) +
        (if .threshold_pps then " threshold=\(.threshold_pps)pps" else "" end)' | sort -t+ -k2 -n
}

xv_lossy_seconds() {
    awk -F, -v s="$1" -v d="$(jq -r .duration_s "$XV_OUT/summary.json")" '
        $3 == s && $5 < $4 && $1 < d { out = out sprintf(" t+%d:%d/%d", $1, $5, $4); n++ }
        END { print (n ? n " s:" out : "none") }' "$XV_OUT/units.csv"
}

# xv_loss_ok NAME GROUP SENT FWD: prints the unit's numbers; true if every lost frame is
# covered by a counted non-policer drop on the unit's proxy (an upper bound when the proxy has
# other units too).
xv_loss_ok() {
    local name=$1 g=$2 src=$3 sent=$4 fwd=$5 loss counted detail
    loss=$((sent - fwd))
    read -r counted detail < <(xv_counted "$g")
    echo "  unit $name ($src, proxy p$g): sent $sent forwarded $fwd lost $loss; counted non-policer drops on p$g: $counted ($detail)"
    echo "    lossy seconds: $(xv_lossy_seconds "$src")"
    [ "$sent" -gt 0 ] && [ "$loss" -le "$counted" ]
}

# xv_print_events KIND MAX: the count and the first MAX lines.
xv_print_events() {
    local kind=$1 max=$2 n
    n=$(xv_events "$kind" | wc -l)
    echo "  $kind events: $n"
    xv_events "$kind" | head -n "$max" | sed 's/^/    /'
    [ "$n" -le "$max" ] || echo "    ... ($((n - max)) more)"
}
