# SPDX-License-Identifier: GPL-2.0-only
# Forwarded Mpps per contender, one bar group per layout, from bench/throughput.sh's CSV
# ("layout,contender,median_mpps,min_mpps,max_mpps,ratio_to_minfwd,ratio_to_testpmd").
# Variables (gnuplot -e): csv, out, ttl.
set terminal pngcairo size 900, 520 font "sans,10"
set output out
set datafile separator ","
set title ttl
set style data histograms
set style histogram errorbars gap 2 lw 1
set style fill solid 0.8 border -1
set grid ytics
set ylabel "forwarded Mpps (median, min..max)"
set logscale y
set yrange [0.01:*]
set key off
set xtics rotate by -30
plot csv using 3:4:5:xtic(sprintf("%s %s", stringcolumn(1), stringcolumn(2))) every ::1 lc rgb "#1b9e77", \
     '' using 0:($3 * 1.15):(stringcolumn(6) eq "" ? "" : sprintf("%.2fx", column(6))) every ::1 with labels notitle
