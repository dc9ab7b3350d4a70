#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# deb.sh: builds the Debian package from a copy of the source (the work tree stays clean)
# with `dpkg-buildpackage -b -us -uc`, then checks that
#   - lintian reports no error (E:); its warnings are printed;
#   - the .deb holds tests/package/manifest.txt under /usr, /etc and /lib/systemd/system,
#     the configurations 0640 in a 0750 /etc/xpro, as conffiles;
#   - the .deb holds exactly what `meson install` put in place for that build (the package
#     and a hand install agree), plus Debian's copyright and changelog;
#   - postinst creates the account (systemd-sysusers), then /var/lib/xpro (systemd-tmpfiles),
#     and gives /etc/xpro the group xpro.
# Prints how long the build and lintian took. DEB_BUILD_OPTIONS=nocheck: the unit suite
# already runs in CI.
# shellcheck source=tests/package/lib.sh
. "$(dirname "$0")/lib.sh"

for tool in dpkg-buildpackage dh lintian jq; do
    command -v "$tool" >/dev/null || xp_skip "$tool missing (scripts/setup.sh installs it)"
done
XP_TMP=$(mktemp -d /tmp/xpro-pkg.XXXXXX)
src=$XP_TMP/xpro

# The copy: the files git knows, tracked or new (not ignored), else the tree without builds.
mkdir "$src"
if git -C "$XPRO_SRC" rev-parse --git-dir >/dev/null 2>&1; then
    (cd "$XPRO_SRC" && git ls-files -z --cached --others --exclude-standard) |
        (cd "$XPRO_SRC" && tar --null -T - -cf -) | tar -xf - -C "$src"
else
    tar -C "$XPRO_SRC" --exclude='./build*' --exclude='./obj-*' -cf - . | tar -xf - -C "$src"
fi
[ -f "$src/debian/control" ] || xp_fail "no debian/control in the copy of $XPRO_SRC"
if ! missing=$(cd "$src" && dpkg-checkbuilddeps 2>&1); then
    xp_skip "build dependencies missing: $missing"
fi

t0=$(date +%s)
if ! (cd "$src" && DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" \
    dpkg-buildpackage -b -us -uc) >"$XP_TMP/build.log" 2>&1; then
    tail -n 40 "$XP_TMP/build.log"
    xp_fail "dpkg-buildpackage -b -us -uc"
fi
t1=$(date +%s)
deb=$(ls "$XP_TMP"/xpro_*.deb)
xp_pass "dpkg-buildpackage built ${deb##*/} in $((t1 - t0)) s"

lintian --info "$XP_TMP"/xpro_*.changes >"$XP_TMP/lintian.log" 2>&1 || true
t2=$(date +%s)
grep -E '^[EW]: ' "$XP_TMP/lintian.log" || true
errors=$(grep -c '^E: ' "$XP_TMP/lintian.log" || true)
[ "$errors" = 0 ] || xp_fail "lintian: $errors error(s)"
xp_pass "lintian: no error ($(grep -c '^W: ' "$XP_TMP/lintian.log" || true) warning(s)) in $((t2 - t1)) s"

root=$XP_TMP/deb
dpkg-deb -x "$deb" "$root"
dpkg-deb -e "$deb" "$root/DEBIAN"
if xp_check_manifest "$root" /usr /usr/bin /etc /usr/share/man /usr/share \
    /lib/systemd/system .gz; then
    xp_pass "the package holds the manifest"
else
    xp_fail "the package differs from tests/package/manifest.txt"
fi

for f in /etc/xpro/central.json /etc/xpro/xpro.json; do
    grep -qx "$f" "$root/DEBIAN/conffiles" || xp_fail "$f is not a conffile"
done
grep -q 'systemd-sysusers.*xpro.conf' "$root/DEBIAN/postinst" ||
    xp_fail "postinst does not create the account xpro (systemd-sysusers)"
grep -q 'chgrp xpro' "$root/DEBIAN/postinst" || xp_fail "postinst does not chgrp /etc/xpro"
# /var/lib/xpro is owned by xpro: the account must exist before tmpfiles creates it.
awk '/systemd-sysusers.*xpro.conf/ && !u { u = NR } /systemd-tmpfiles.*xpro.conf/ && !t { t = NR }
     END { exit !(u && t && u < t) }' "$root/DEBIAN/postinst" ||
    xp_fail "postinst does not create the account (sysusers) before /var/lib/xpro (tmpfiles)"
xp_pass "conffiles and postinst"

# The package and `meson install` of the same build agree, file for file.
obj=$src/obj-deb # debian/rules: BUILDDIR
meson introspect "$obj" --installed | jq -r '.[]' |
    sed -E 's#^(/usr/share/man/.*)$#\1.gz#' | sort >"$XP_TMP/meson.list"
(cd "$root" && find . -path ./DEBIAN -prune -o \( -type f -o -type l \) -print) | sed 's/^\.//' |
    grep -vxE '/usr/share/doc/xpro/(copyright|changelog\.gz)' | sort >"$XP_TMP/deb.list"
if ! diff -u "$XP_TMP/meson.list" "$XP_TMP/deb.list"; then
    xp_fail "the package and meson install differ (- meson only, + package only)"
fi
xp_pass "the package holds exactly what meson install does ($(wc -l <"$XP_TMP/deb.list") files)"
echo "timing: dpkg-buildpackage $((t1 - t0)) s, lintian $((t2 - t1)) s"
