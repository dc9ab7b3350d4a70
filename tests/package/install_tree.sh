#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# install_tree.sh: `meson install --destdir` of the build into a temporary directory holds
# what the package ships (tests/package/manifest.txt): the programs and nothing else in
# bindir, the configurations 0640 in a 0750 sysconfdir/xpro, man pages, bash completion,
# docs, the sysusers.d file and the systemd units.
# shellcheck source=tests/package/lib.sh
. "$(dirname "$0")/lib.sh"

command -v jq >/dev/null || xp_skip "jq missing (scripts/setup.sh installs it)"
XP_TMP=$(mktemp -d /tmp/xpro-install.XXXXXX)

meson install -C "$XPRO_BUILD" --destdir "$XP_TMP/root" --no-rebuild --quiet >"$XP_TMP/log" 2>&1 ||
    { cat "$XP_TMP/log"; xp_fail "meson install --destdir"; }

# The configured directories, absolute (relative ones are under prefix).
opts=$(meson introspect "$XPRO_BUILD" --buildoptions)
dir() {
    local v
    v=$(jq -r --arg n "$1" '.[] | select(.name == $n) | .value' <<<"$opts")
    [[ $v == /* ]] && echo "$v" || echo "$prefix/$v"
}
prefix=$(jq -r '.[] | select(.name == "prefix") | .value' <<<"$opts")
# The units' directory is systemd's (pkg-config), whatever the prefix: find where they went.
unitdir=$(cd "$XP_TMP/root" && find . -path '*/systemd/system/xpro-proxy.service' -printf '%h\n' |
    sed 's/^\.//' | head -n1)
unitdir=${unitdir:-/lib/systemd/system}

if xp_check_manifest "$XP_TMP/root" "$prefix" "$(dir bindir)" "$(dir sysconfdir)" \
    "$(dir mandir)" "$(dir datadir)" "$unitdir" ""; then
    xp_pass "meson install --destdir holds the package's tree (prefix $prefix)"
else
    xp_fail "meson install --destdir: the tree differs from tests/package/manifest.txt"
fi
