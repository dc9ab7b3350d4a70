#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# man_keys.sh PAGE PROG...: every configuration key each PROG prints with --config-keys
# (the parser's own table) is documented in PAGE (xpro.json(5)) as a bold term. Fails,
# naming them, when one is missing.
set -euo pipefail

page=$1
shift
[ -s "$page" ] || { echo "FAIL: $page is missing or empty"; exit 1; }

# scdoc renders *key* as \fBkey\fR, with a zero-width \& after every dot.
text=$(sed -e 's/\\&//g' "$page")
missing=()
n=0
for prog in "$@"; do
    [ -x "$prog" ] || { echo "FAIL: $prog is not built"; exit 1; }
    # shellcheck disable=SC2016 # the backquotes are the table's, not a command
    keys=$("$prog" --config-keys | sed -nE 's/^\| `([^`]+)` \|.*/\1/p')
    for k in $keys; do
        n=$((n + 1))
        grep -qF -- "\\fB$k\\fR" <<<"$text" || missing+=("${prog##*/}:$k")
    done
done
[ "$n" -gt 0 ] || { echo "FAIL: no key in --config-keys: is its format new?"; exit 1; }
if [ ${#missing[@]} -gt 0 ]; then
    echo "FAIL: ${page##*/}: keys not documented: ${missing[*]}"
    exit 1
fi
echo "PASS: ${page##*/} documents all $n configuration keys"
