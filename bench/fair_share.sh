#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# bench/fair_share.sh [--build DIR] [--out DIR] [--no-plot]
#
# bench/scenarios/fair-share twice, with dst_policy fair_share and drop_all (the paper's
# rule), and the numbers of issue 20 for each: the honest units' loss during the attack, the
# victim's received pps per second after detection + one sync period, and each attacker's
# forwarded rate against its max-min share. Results in OUT/fair_share and OUT/drop_all (what
# bench/scenario.sh writes, plots included unless --no-plot) and OUT/report.txt. Root.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
SRC_DIR=$(cd "$BENCH_DIR/.." && pwd)
BUILD=${XPRO_BUILD:-$SRC_DIR/build}
OUT=$SRC_DIR/bench/results/fair-share-$(date +%Y%m%d-%H%M%S)
PLOT=()
while [ $# -gt 0 ]; do
    case $1 in
    --build) BUILD=${2:?}; shift 2 ;;
    --out) OUT=${2:?}; shift 2 ;;
    --no-plot) PLOT=(--no-plot); shift ;;
    *) echo "usage: $0 [--build DIR] [--out DIR] [--no-plot]" >&2; exit 2 ;;
    esac
done
SCEN=$SRC_DIR/bench/scenarios/fair-share
T_F2=$(awk '$1 == "policer" { for (i = 2; i <= NF; i++) if ($i ~ /^t_f2_pps=/) { sub(/.*=/, "", $i); print $i } }' "$SCEN")
ATTACK=$(awk '$1 == "var" && $2 == "ATTACK" { print $3 }' "$SCEN")
DURATION=$(awk '$1 == "duration" { print $2 }' "$SCEN")
mkdir -p "$OUT"

# report DIR: the numbers of one run (units.csv: t, unit, src, sent, forwarded)
report() {
    awk -F, -v a="$ATTACK" -v d="$DURATION" -v f2="$T_F2" '
        NR == 1 || $1 >= d - 1 || $1 < a { next }
        { fwd[$1] += $5 }
        $2 ~ /^h/ { hs += $4; hf += $5; hfs[$1] += $5 }
        $2 ~ /^a/ { as[$1] += $4; af[$1] += $5; u[$2] = 1; uf[$2, $1] = $5 }
        END {
            for (t = a; t < d - 1; t++)
                if (det == "" && 100 * (as[t] - af[t]) > as[t]) det = t
            printf "honest units during the attack: sent %d, forwarded %d, lost %.2f %%\n", hs, hf, 100 * (hs - hf) / hs
            if (det == "") { print "the destination was never limited"; exit }
            printf "detection in second %d (attack from %d s); judged from second %d\n", det, a, det + 2
            printf "victim pps per second:"
            for (t = det + 2; t < d - 1; t++) { printf " %d", fwd[t]; n++; h += hfs[t]; if (fwd[t] > mx) mx = fwd[t] }
            printf "\nvictim: max %d pps = %.3f x T_F2\n", mx, mx / f2
            share = (f2 - h / n) / 4
            for (x in u) {
                s = 0
                for (t = det + 2; t < d - 1; t++) s += uf[x, t]
                printf "attacker %s: %.1f pps forwarded, share %.1f pps (%+.1f %%)\n", x, s / n, share, 100 * (s / n - share) / share
            }
        }' "$1/units.csv"
}

: >"$OUT/report.txt"
for policy in fair_share drop_all; do
    bash "$BENCH_DIR/scenario.sh" "$SCEN" --set POLICY=$policy --build "$BUILD" --out "$OUT/$policy" "${PLOT[@]}"
    { echo "== dst_policy $policy"; report "$OUT/$policy"; } | tee -a "$OUT/report.txt"
done
echo "report: $OUT/report.txt"
