#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The control socket's access control: a real server (tests/tools/xp_ctl_echo, src/ctl) run
# by root with mode 0660 and a test group. Root and a member of the group reach it with
# xpro-ctl; a user who is neither root nor in the group gets "permission denied" (exit 1),
# both when the server created the directory (0750, root:group) and when the directory is
# open (0755) and only the socket's own mode stands in the way.
#
# Users are switched with setpriv (uid/gid 65534, supplementary groups set explicitly), so
# nothing is added to /etc/passwd or /etc/group: a gid needs no name to own a file.
set -euo pipefail
# shellcheck source=tests/netns/lib.sh
source "$(dirname "$0")/lib.sh"

XP_CTL=${XP_CTL:-$XPRO_BUILD/src/xpro-ctl}
XP_ECHO=${XP_ECHO:-$XPRO_BUILD/tests/tools/xp_ctl_echo}
NOBODY=65534
# A gid no account uses, so "member" means exactly "has this supplementary group".
GROUP=$((40000 + $$ % 20000))

xp_init
xp_require_root
xp_require_cmd setpriv
xp_require_cmd jq
[ -x "$XP_CTL" ] || xp_fail "xpro-ctl not built: $XP_CTL"
[ -x "$XP_ECHO" ] || xp_fail "xp_ctl_echo not built: $XP_ECHO"

# The unprivileged users must reach the binaries and the socket directory's parent.
chmod 0711 "$XP_TMP"
mkdir -m 0755 "$XP_TMP/bin"
cp "$XP_CTL" "$XP_TMP/bin/xpro-ctl"
chmod 0755 "$XP_TMP/bin/xpro-ctl"
CTL="$XP_TMP/bin/xpro-ctl"


# ctl_run NAME WHO SOCKET ARGS...: runs xpro-ctl as WHO (root, member, outsider); XP_RC
# gets its exit code, $XP_TMP/NAME.out/.err its output.
ctl_run() {
    local name=$1 who=$2 sock=$3 pre=()
    shift 3
    case $who in
    member) pre=(setpriv "--reuid=$NOBODY" "--regid=$NOBODY" "--groups=$GROUP") ;;
    outsider) pre=(setpriv "--reuid=$NOBODY" "--regid=$NOBODY" --clear-groups) ;;
    esac
    XP_RC=0
    "${pre[@]}" "$CTL" --socket "$sock" "$@" >"$XP_TMP/$name.out" 2>"$XP_TMP/$name.err" || XP_RC=$?
}

# check_access LABEL SOCKET: the three users against one socket.
check_access() {
    local label=$1 sock=$2

    ctl_run "$label-root" root "$sock" --json stats
    xp_check "$label: root gets the stats (exit $XP_RC)" \
        test "$XP_RC" = 0 -a "$(jq -r .proxy_id "$XP_TMP/$label-root.out" 2>/dev/null)" = echo

    ctl_run "$label-member" member "$sock" --json stats
    xp_check "$label: a member of group $GROUP gets the stats (exit $XP_RC: $(cat "$XP_TMP/$label-member.err"))" \
        test "$XP_RC" = 0 -a "$(jq -r .proxy_id "$XP_TMP/$label-member.out" 2>/dev/null)" = echo

    ctl_run "$label-outsider" outsider "$sock" --json stats
    xp_check "$label: an outsider is refused with exit 1 (got $XP_RC)" test "$XP_RC" = 1
    xp_check "$label: and told \"permission denied\" ($(cat "$XP_TMP/$label-outsider.err"))" \
        grep -q "permission denied on $sock" "$XP_TMP/$label-outsider.err"
    xp_check "$label: and sees nothing on stdout" test ! -s "$XP_TMP/$label-outsider.out"
}

# start_echo VAR NAME SOCKET: the server as root, group $GROUP, mode 0660; waits until ready.
start_echo() {
    local _var=$1 name=$2 sock=$3 _pid
    rm -f "$XP_TMP/$name.ready"
    xp_bg _pid "$name" "$XP_ECHO" --socket "$sock" --group "$GROUP" --mode 0660 \
        --ready-file "$XP_TMP/$name.ready"
    xp_wait_for 10 test -f "$XP_TMP/$name.ready" || xp_fail "$name: server not ready: $(cat "$XP_TMP/$name.err")"
    printf -v "$_var" '%s' "$_pid"
}

# 1. The server creates the directory: 0750 root:GROUP, socket 0660 root:GROUP.
pid1=""
pid2=""
sock1="$XP_TMP/run/xpro/edge-1.sock"
mkdir -m 0755 "$XP_TMP/run"
start_echo pid1 echo1 "$sock1"
xp_check "server-made directory is 0750 root:$GROUP ($(stat -c '%a %u:%g' "$XP_TMP/run/xpro"))" \
    test "$(stat -c '%a %u:%g' "$XP_TMP/run/xpro")" = "750 0:$GROUP"
xp_check "socket is 0660 root:$GROUP ($(stat -c '%a %u:%g %F' "$sock1"))" \
    test "$(stat -c '%a %u:%g %F' "$sock1")" = "660 0:$GROUP socket"
check_access created-dir "$sock1"

# 2. An open directory: the socket's own mode is what keeps the outsider out.
mkdir -m 0755 "$XP_TMP/open"
sock2="$XP_TMP/open/edge-2.sock"
start_echo pid2 echo2 "$sock2"
xp_check "an existing directory is left as it was ($(stat -c '%a %u:%g' "$XP_TMP/open"))" \
    test "$(stat -c '%a %u:%g' "$XP_TMP/open")" = "755 0:0"
check_access open-dir "$sock2"

# 3. A second server on a live socket is refused; the first keeps serving.
XP_RC=0
"$XP_ECHO" --socket "$sock2" --group "$GROUP" --duration 1 >"$XP_TMP/echo3.out" 2>"$XP_TMP/echo3.err" || XP_RC=$?
xp_check "a second server on a live socket fails (exit $XP_RC: $(cat "$XP_TMP/echo3.err"))" \
    test "$XP_RC" = 1
ctl_run after-second root "$sock2" --json stats
xp_check "the first server still answers" test "$XP_RC" = 0

# 4. After SIGTERM the socket is gone and xpro-ctl says so.
xp_kill "$pid2" TERM
xp_check "the socket is removed at exit" test ! -e "$sock2"
ctl_run gone root "$sock2" stats
xp_check "xpro-ctl: no socket → exit 1, \"is xpro-proxy running?\"" \
    grep -q "is xpro-proxy running" "$XP_TMP/gone.err"
xp_kill "$pid1" TERM
xp_pass "control socket permissions"
