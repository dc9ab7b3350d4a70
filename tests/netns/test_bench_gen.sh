#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The throughput bench's generator (bench/gen.c: live frames through BPF_PROG_RUN) for two
# seconds on a veth pair, so that the sanitizer pass (scripts/test.sh runs this suite on
# build-asan, UBSan halting on the first error) sees its frame building and its loop: the
# frame template once wrote a misaligned struct iphdr. It must exit 0, send frames, and
# the peer must receive them.
XP_TEST_TIMEOUT=${XP_TEST_TIMEOUT:-60}
set -euo pipefail
# shellcheck source=tests/netns/lib.sh
source "$(dirname "$0")/lib.sh"

GEN=$XPRO_BUILD/bench/xp-bench-gen
xp_init
xp_require_root
xp_require_veth
[ -x "$GEN" ] || xp_fail "xp-bench-gen not built: $GEN"

xp_ns_create NS_G gen
xp_ns_create NS_R rcv
xp_veth g0 "$NS_G" r0 "$NS_R"
peer_mac=$(xp_mac "$NS_R" r0)
before=$(ip -n "$NS_R" -s -j link show r0 | jq '.[0].stats64.rx.packets')

set +e
xp_ns_exec_bpf "$NS_G" "$GEN" --ifname g0 --dst-mac "$peer_mac" --src-ip 198.18.0.1 \
    --dst-ip 198.18.0.2 --units 4 --dsts 2 --seconds 2 --call-ms 50 --max-calls 400 \
    >"$XP_TMP/gen.out" 2>"$XP_TMP/gen.err"
rc=$?
set -e
cat "$XP_TMP/gen.err" >&2
xp_check "xp-bench-gen exit status 0 ($rc)" test "$rc" = 0
xp_check "no sanitizer report" bash -c "! grep -q 'runtime error\|AddressSanitizer' '$XP_TMP/gen.err'"
frames=$(jq -r '.gen.frames // 0' "$XP_TMP/gen.out" 2>/dev/null || echo 0)
got=$(( $(ip -n "$NS_R" -s -j link show r0 | jq '.[0].stats64.rx.packets') - before ))
xp_check "frames sent ($frames)" test "$frames" -gt 0
xp_check "the peer received frames ($got)" test "$got" -gt 0
xp_pass "test_bench_gen"
