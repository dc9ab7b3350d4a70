#!/bin/bash
# Install every Debian 12 package that xpro's build, tests and benches need.
# Idempotent: packages already present are not fetched again.
set -euo pipefail

PKGS=(
    bc
    bpftool
    clang
    debhelper
    dpkg-dev
    ethtool
    exabgp
    gcc
    gnuplot-nox
    gobgpd
    iproute2
    iputils-ping
    jq
    libbpf-dev
    libc6-dev
    libclang-rt-14-dev
    libcoap3-bin
    libhiredis-dev
    libjansson-dev
    liblwip-dev
    libnuma-dev
    libssl-dev
    libxdp-dev
    lintian
    linux-libc-dev
    llvm
    meson
    ninja-build
    pkg-config
    procps
    prometheus
    psmisc
    redis-server
    redis-tools
    scdoc
    strace
    systemd
    tshark
    util-linux
)
# Optional extras: DPDK for its backend and testpmd in the bench.
if [ "${XPRO_WITH_DPDK:-1}" = 1 ]; then
    PKGS+=(dpdk dpdk-dev libdpdk-dev)
fi

SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo

# The account xpro-proxy ("user") and xpro-central run as (docs/operators.md "Privileges").
if ! getent passwd xpro >/dev/null; then
    echo "setup: creating the system account xpro" >&2
    $SUDO useradd --system --user-group --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin xpro
fi

missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

echo "setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# tshark (xpro-ctl capture's test reads its pcapng) asks whether non-root users may capture:
# answer no before it asks, so the install never waits for a terminal.
if [[ " ${missing[*]} " == *" tshark "* ]]; then
    echo "wireshark-common wireshark-common/install-setuid boolean false" |
        $SUDO debconf-set-selections
fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

# Debian ships promtool (the tests' metrics checker) only inside the Prometheus server's
# package, whose unit is enabled on install: on a host run by systemd, do not leave a server
# we installed for its checker listening on :9090.
if [[ " ${missing[*]} " == *" prometheus "* ]] && [ -d /run/systemd/system ]; then
    echo "setup: prometheus was installed for promtool only: disabling its server" >&2
    $SUDO systemctl disable --now prometheus >/dev/null 2>&1 || true
fi
