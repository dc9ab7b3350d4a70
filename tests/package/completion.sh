#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# completion.sh COMPLETION XPRO_CTL: sources the bash completion for xpro-ctl and checks
# what it offers: the commands after `xpro-ctl `, a command's own options and the global
# ones after `xpro-ctl flows --t`, no command once there is one, the value of --proxy taken
# as a value (not as the command), and that `complete` is registered for xpro-ctl.
set -euo pipefail

comp=$1 ctl=$2
[ -x "$ctl" ] || { echo "FAIL: $ctl is not built"; exit 1; }
# shellcheck disable=SC1090
. "$comp"

fails=0
# check WANT WORDS...: the completions of WORDS (the last is the word being completed)
# are exactly WANT (sorted, space-separated).
check() {
    local want=$1 got
    shift
    COMP_WORDS=("$ctl" "$@")
    COMP_CWORD=$#
    COMPREPLY=()
    _xpro_ctl
    got=$(printf '%s\n' "${COMPREPLY[@]}" | sort | xargs)
    if [ "$got" = "$want" ]; then
        echo "PASS: xpro-ctl $* <TAB> -> $want"
    else
        echo "FAIL: xpro-ctl $* <TAB> -> \"$got\", expected \"$want\""
        fails=$((fails + 1))
    fi
}

complete -p xpro-ctl | grep -q -- '-F _xpro_ctl' || { echo "FAIL: complete -F _xpro_ctl not registered"; exit 1; }

# The commands, from src/ctl/cli_opts.c's table (a new one must be added here too).
check "block blocks capture events flows ops reload stats unblock why" ""
check "stats" --json st
check "block blocks capture events flows ops reload stats unblock why" --proxy edge-1 ""
check "" flows ""
check "--timeout --top" flows --t
check "--follow" events --fo
check "--verdict" capture --verd
check "--for" --proxy edge-1 block 198.18.0.2 --fo
check "--central" --ce
check "" --timeout ""

[ "$fails" = 0 ] || exit 1
