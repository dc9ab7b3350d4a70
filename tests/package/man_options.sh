#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# man_options.sh PROG PAGE [COMMAND...]: every option PROG's --help prints (and each
# COMMAND's `PROG COMMAND --help`), and every command its --help lists, appears in the man
# page PAGE (scdoc's roff output). Fails, naming them, when one is missing.
#
# Options are taken from anywhere in the help for long ones (--name) and from option lines
# (those starting "-x, --name") for short ones, so that "(ethtool -K ...)" in a sentence
# is not taken for one of ours.
set -euo pipefail

prog=$1 page=$2
shift 2
[ -x "$prog" ] || { echo "FAIL: $prog is not built"; exit 1; }
[ -s "$page" ] || { echo "FAIL: $page is missing or empty"; exit 1; }

help=$("$prog" --help)
for cmd in "$@"; do
    help+=$'\n'$("$prog" "$cmd" --help)
done

# The page as text: roff fonts, zero-width and minus escapes removed.
text=$(sed -e 's/\\f[BIRP]//g' -e 's/\\&//g' -e 's/\\-/-/g' -e 's/\\e/\\/g' "$page")

# (grep finds nothing: no such option or command, not an error)
longs=$( (grep -oE -- '--[a-z0-9][a-z0-9-]*' || true) <<<"$help" | sort -u)
shorts=$( (grep -oE -- '^ +-[A-Za-z],' || true) <<<"$help" | tr -d ' ,' | sort -u)
# Commands: lines of two spaces then a word then two spaces or an argument in capitals.
cmds=$( (grep -oE '^  [a-z][a-z0-9-]*( {2,}| [A-Z\[]|$)' || true) <<<"$help" | awk '{print $1}' | sort -u)

missing=()
n=0
for o in $longs $shorts; do
    n=$((n + 1))
    grep -qE -- "(^|[^a-zA-Z0-9-])$o([^a-zA-Z0-9-]|$)" <<<"$text" || missing+=("$o")
done
for c in $cmds; do
    n=$((n + 1))
    grep -qE -- "(^|[^a-zA-Z0-9-])$c([^a-zA-Z0-9-]|$)" <<<"$text" || missing+=("command $c")
done

[ "$n" -gt 2 ] || { echo "FAIL: found only $n options in $prog --help: is the help's format new?"; exit 1; }
if [ ${#missing[@]} -gt 0 ]; then
    echo "FAIL: ${page##*/}: not documented: ${missing[*]} (from $prog --help)"
    exit 1
fi
echo "PASS: ${page##*/} documents the $n options and commands of ${prog##*/} --help"
