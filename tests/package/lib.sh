# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# Shared by install_tree.sh and deb.sh: the manifest check and clean-up of a temporary
# directory. Exit codes: 0 pass, 1 fail, 77 skip (a failure when CI=true).

set -euo pipefail

XPRO_SRC=${XPRO_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
XPRO_BUILD=${XPRO_BUILD:-$XPRO_SRC/build}
XP_MANIFEST=$XPRO_SRC/tests/package/manifest.txt
XP_TMP=

xp_pass() { printf 'PASS: %s\n' "$*"; }
xp_fail() {
    printf 'FAIL: %s\n' "$*"
    exit 1
}
xp_skip() {
    if [ "${CI:-}" = true ]; then
        printf 'FAIL: %s (skip is a failure in CI)\n' "$*"
        exit 1
    fi
    printf 'SKIPPED: %s\n' "$*"
    exit 77
}

xp_cleanup() {
    if [ -n "$XP_TMP" ] && [ -d "$XP_TMP" ]; then
        rm -rf -- "$XP_TMP"
    fi
}
trap xp_cleanup EXIT INT TERM

# The units are installed by conf/systemd/meson.build; a tree without it has none to check.
xp_units_expected() { [ -f "$XPRO_SRC/conf/systemd/meson.build" ]; }

# xp_check_manifest ROOT PREFIX BINDIR SYSCONFDIR MANDIR DATADIR UNITDIR SUFFIX_RE
# Checks that ROOT (a destdir or an unpacked .deb) holds every manifest entry, with its
# mode where the manifest gives one, and nothing else in BINDIR. Man pages may carry
# SUFFIX_RE (".gz" in a package). Prints one FAIL line per problem; returns the count.
xp_check_manifest() {
    local root=$1 prefix=$2 bindir=$3 sysconfdir=$4 mandir=$5 datadir=$6 unitdir=$7 gz=$8
    local path mode rest p got bad=0 n=0 expected_bins=()
    while read -r path mode rest; do
        case $path in '' | '#'*) continue ;; esac
        if [[ $path == @unitdir@* ]] && ! xp_units_expected; then
            echo "NOTE: $path not checked: conf/systemd/meson.build is not in this tree"
            continue
        fi
        p=${path//@prefix@/$prefix}
        p=${p//@bindir@/$bindir}
        p=${p//@sysconfdir@/$sysconfdir}
        p=${p//@mandir@/$mandir}
        p=${p//@datadir@/$datadir}
        p=${p//@unitdir@/$unitdir}
        [[ $path == @bindir@/* ]] && expected_bins+=("${p##*/}")
        n=$((n + 1))
        if [[ $path == @mandir@/* ]] && [ ! -e "$root$p" ] && [ -n "$gz" ] && [ -e "$root$p$gz" ]; then
            p=$p$gz
        fi
        if [ ! -e "$root$p" ] && [ ! -L "$root$p" ]; then
            echo "FAIL: missing $p"
            bad=$((bad + 1))
            continue
        fi
        if [ -n "${mode:-}" ]; then
            got=$(stat -c %a "$root$p")
            if [ "0$got" != "$mode" ]; then
                echo "FAIL: $p has mode 0$got, expected $mode"
                bad=$((bad + 1))
            fi
        fi
    done <"$XP_MANIFEST"
    # Nothing but the user programs in bindir (no test or bench tool).
    for p in "$root$bindir"/*; do
        [[ " ${expected_bins[*]} " == *" ${p##*/} "* ]] && continue
        echo "FAIL: $bindir/${p##*/} is installed but is not a user program of the manifest"
        bad=$((bad + 1))
    done
    echo "checked $n manifest entries under $root: $bad problem(s)"
    return "$bad"
}
