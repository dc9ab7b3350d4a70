#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The units' SystemCallFilter= and RestrictAddressFamilies= against what the daemons really
# do: test_systemd.sh (both daemons as the units run them: the proxy's set-up, privilege
# drop, monitor, forwarding, sync, reload, file reopening and clean-up; the central's
# serving, reloads and persistence) runs under strace -ff, and every system call and socket
# family xpro-proxy and xpro-central made must be one their generated unit allows. So a
# code change that needs a new system call fails here, not on an operator's box where
# systemd would refuse it (EPERM). systemd itself is not needed (no PID 1 here).
set -euo pipefail
# shellcheck source=tests/netns/lib.sh
source "$(dirname "$0")/lib.sh"

xp_init
xp_require_root
xp_require_cmd strace
xp_require_cmd systemd-analyze
UNITS=$XPRO_BUILD/conf/systemd
for u in xpro-proxy xpro-central; do
    [ -f "$UNITS/$u.service" ] || xp_fail "$UNITS/$u.service not generated"
done

mkdir "$XP_TMP/trace"
# the inner test has its own clean-up and watchdog; ours bounds it too
XP_TEST_TIMEOUT=200 strace -ff -qq -o "$XP_TMP/trace/t" \
    bash "$(dirname "$0")/test_systemd.sh" >"$XP_TMP/inner.log" 2>&1 ||
    xp_fail "test_systemd.sh failed under strace: $(grep -E 'FAIL' "$XP_TMP/inner.log" | head -3)"
xp_pass "test_systemd.sh passed under strace ($(grep -c '^PASS' "$XP_TMP/inner.log") checks)"
python3 "$(dirname "$0")/syscall_filter.py" "$XP_TMP/trace" \
    "$UNITS/xpro-proxy.service:xpro-proxy" "$UNITS/xpro-central.service:xpro-central" \
    >"$XP_TMP/filter.log" 2>&1 || xp_fail "$(cat "$XP_TMP/filter.log")"
while read -r line; do xp_pass "$line"; done <"$XP_TMP/filter.log"
rm -rf "$XP_TMP/trace"
xp_pass "test_syscall_filter"
