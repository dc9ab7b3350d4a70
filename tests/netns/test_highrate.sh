#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The paper's single-proxy experiment, and the kernel fast path.
#
# Two units behind one proxy (Q=1). The benign unit sends 500 pps throughout. The other
# unit sends 500 pps (phase 1), then floods at FLOOD pps (phase 2), falls silent for longer
# than T_T1, then sends 500 pps again (phase 3). With T_F1 = 2000 pps:
#   - the flooder is detected (overload + block events) no later than T_T2 + 0.5 s after
#     its flood starts; its phase-1 window is already older than T_T2, so detection is
#     immediate once its average passes T_F1;
#   - after the block, what reaches the target from the flooder is at most T_F1 (+10 %);
#   - the benign unit loses nothing;
#   - after the silence the flooder's phase-3 packets are all forwarded again;
#   - while blocked, the flood is dropped by XDP (xdp.drop_blocked) and the worker handles
#     almost none of it (userspace drops <= 5 % of what XDP dropped).
set -euo pipefail
# shellcheck source=tests/netns/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=tests/netns/highrate.sh
source "$(dirname "$0")/highrate.sh"

xp_init_inline 1

conf="$XP_TMP/proxy.json"
cat >"$conf" <<JSON
{
  $(xp_conf_inline_base),
  "events_out": "$XP_TMP/events.jsonl",
  "events_syslog": "$XP_TMP/log.sock",
  "policer": {
    "unit_prefixes": ["198.18.0.0/24"],
    "t_t1_ms": 1000, "t_t2_ms": 1000, "t_t3_ms": 1000,
    "t_f1_pps": $T_F1, "t_f2_pps": 1000000,
    "block_ms": 500
  }
}
JSON
# A stand-in syslog daemon: events go to the file and to syslog.
xp_bg slog syslog "$XPRO_BUILD/tests/tools/xp_dgram_sink" "$XP_TMP/log.sock" 60
xp_wait_for 5 xp_file_has "$XP_TMP/syslog.err" ready || xp_fail "syslog sink did not start"
xp_proxy_start ppid proxy "$conf"
xp_proxy_wait_stats proxy 1 20 || xp_fail "proxy did not start: $(tail -5 "$XP_TMP/proxy.err")"

xp_highrate_traffic

sleep 1.2
xp_kill "$ppid" TERM
xp_wait_pid "$ppid" 15 || xp_fail "proxy still running after SIGTERM"
final=$(xp_proxy_last_stats proxy)
echo "$final" >"$XP_TMP/final.log"
xp_check_conservation "$final"

xp_highrate_verdicts

# The kernel fast path carried the flood.
xdp_drop=$(jq -r '.ports[] | select(.role == "access") | .xdp.drop_blocked' <<<"$final")
user_drop=$(jq -r '.pipeline.drop_unit_rate' <<<"$final")
accounted=$(jq -r '.pipeline.xdp_dropped_accounted' <<<"$final")
xp_log "XDP dropped $xdp_drop, worker dropped $user_drop, accounted $accounted"
xp_check "XDP dropped most of the flood ($xdp_drop >= 80 % of $sent_flood - $fwd_flood)" \
    test "$xdp_drop" -ge "$(((sent_flood - fwd_flood) * 8 / 10))"
xp_check "the worker handled almost none of it ($user_drop <= 5 % of $xdp_drop)" \
    test "$user_drop" -le "$((xdp_drop / 20))"
xp_check "XDP drops were counted into the pair ($accounted == $xdp_drop)" \
    test "$accounted" = "$xdp_drop"
xp_check "the block event also went to syslog (facility daemon, warning)" \
    grep -q '^<28>.*xpro-proxy\[[0-9]*\]: {"event":"block".*"unit":"'"$FLOODER"'"' "$XP_TMP/syslog.out"
xp_check "frames.leaked == 0" test "$(jq -r .frames.leaked <<<"$final")" = 0
xp_pass "test_highrate"
