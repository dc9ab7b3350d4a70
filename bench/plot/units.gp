# SPDX-License-Identifier: GPL-2.0-only
# Per unit: packets/s sent by xpro-gen vs forwarded by the proxy (counted at the sink),
# over time, one panel per unit, like the paper's figures.
# Variables (gnuplot -e): datadir (DIR/UNIT.dat: "t sent forwarded"), units (names,
# space-separated), marks (attack start per unit in s, -1: none), blocks (first block
# event per unit in s, -1: none), out (PNG), ttl, cols.
if (!exists("cols")) cols = 1
n = words(units)
rows = int((n + cols - 1) / cols)
set terminal pngcairo size (cols * 640), (rows * 300 + 40) font "sans,10"
set output out
set multiplot layout rows, cols title ttl
set grid
set key top right horizontal
set xlabel "time (s)"
set ylabel "packets/s"
set yrange [0:*]
set offsets 0, 0, graph 0.25, 0  # headroom: the sent line must not sit on the border
do for [i = 1:n] {
    u = word(units, i)
    m = word(marks, i) + 0
    b = word(blocks, i) + 0
    unset arrow
    if (m >= 0) { set arrow 1 from m, graph 0 to m, graph 1 nohead dt 2 lc rgb "red" }
    if (b >= 0) { set arrow 2 from b, graph 0 to b, graph 1 nohead dt 3 lw 2 lc rgb "black" }
    set title u
    plot sprintf("%s/%s.dat", datadir, u) using 1:2 with steps lw 4 lc rgb "#d95f02" title "sent", \
         "" using 1:3 with steps lw 2 lc rgb "#1b9e77" title "forwarded"
}
unset multiplot
