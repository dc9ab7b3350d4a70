#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The units' SystemCallFilter= and RestrictAddressFamilies= against what the daemons really
# do: test_systemd.sh (both daemons as the units run them: the proxy's set-up, privilege
# drop, monitor, forwarding, sync, reload, file reopening and clean-up; the central's
# serving, reloads and persistence) runs under strace -ff, and every system call and socket
# family xpro-proxy and xpro-central made must be one their generated unit allows. So a
# Then the same for test_gateway.sh (gateway mode: tunnel, next hops from the kernel). A
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

# traced INNER_TEST CHECK...: the test under strace -ff, then syscall_filter.py on its trace
traced() {
    local inner=$1 t=$XP_TMP/trace
    shift
    rm -rf "$t"
    mkdir "$t"
    # the inner test has its own clean-up and watchdog; ours bounds it too
    XP_TEST_TIMEOUT=200 strace -ff -qq -o "$t/t" bash "$(dirname "$0")/$inner" \
        >"$XP_TMP/$inner.log" 2>&1 ||
        xp_fail "$inner failed under strace: $(grep -E 'FAIL' "$XP_TMP/$inner.log" | head -3)"
    xp_pass "$inner passed under strace ($(grep -c '^PASS' "$XP_TMP/$inner.log") checks)"
    python3 "$(dirname "$0")/syscall_filter.py" "$t" "$@" >"$XP_TMP/filter.log" 2>&1 ||
        xp_fail "$(cat "$XP_TMP/filter.log")"
    while read -r line; do xp_pass "$line"; done <"$XP_TMP/filter.log"
    rm -rf "$t"
}
traced test_systemd.sh "$UNITS/xpro-proxy.service:xpro-proxy" \
    "$UNITS/xpro-central.service:xpro-central"
traced test_gateway.sh "$UNITS/xpro-proxy.service:xpro-proxy"
xp_pass "test_syscall_filter"
