# make bench's chart: each metric as measured / target (lower-is-better
# metrics inverted), so 1.0 is the target and higher is better.
# gnuplot -e "datafile='build/bench/chart.dat'; outfile='build/bench/results.png'" tests/bench/chart.gp
set terminal pngcairo size 1100,600 font ",9"
set output outfile
set title "ktvm against issue 8's targets (1.0 = target; higher is better)"
set style data histograms
set style fill solid 0.7 border -1
set boxwidth 0.7
set xtics rotate by -30 scale 0
set yrange [0:*]
set grid ytics
unset key
set arrow from graph 0, first 1 to graph 1, first 1 nohead lc rgb "red" dt 2 lw 2
plot datafile using 2:xtic(1) lc rgb "#4472c4"
