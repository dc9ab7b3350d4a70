# SPDX-License-Identifier: GPL-2.0-only
# CoAP round trips without and with xpro: the distribution (CDF) of xpro-gen rtt's samples.
# Variables (gnuplot -e): dir (rtt-without.csv, rtt-with.csv: "i,rtt_us"), out (PNG), ttl.
set terminal pngcairo size 800, 480 font "sans,10"
set output out
set datafile separator ","
set title ttl
set grid
set key bottom right
set xlabel "round trip (µs)"
set ylabel "fraction of requests"
stats sprintf("%s/rtt-without.csv", dir) using 2 nooutput
n0 = STATS_records
stats sprintf("%s/rtt-with.csv", dir) using 2 nooutput
n1 = STATS_records
set logscale x
set yrange [0:1]
plot sprintf("%s/rtt-without.csv", dir) using 2:(1.0 / n0) smooth cumulative lw 2 lc rgb "#7570b3" title "without xpro (bridge)", \
     sprintf("%s/rtt-with.csv", dir) using 2:(1.0 / n1) smooth cumulative lw 2 lc rgb "#1b9e77" title "with xpro-proxy (policer on)"
