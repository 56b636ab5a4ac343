# Latency percentiles from the results file's counters (p50_ns, p99_ns, p999_ns, max_ns) when no
# percentile CSV exists: x = percentile category, y = latency on a log axis, one line per
# implementation, median over repetitions with min..max error bars. Set by the driver (besides
# common.gp's variables): key_note the legend's title.
# datafile columns: category(1..4) median min max
load plotsdir . "/common.gp"

nimpl = words(impls)
jitter(x, i) = x + 0.03 * (i - (nimpl + 1) / 2.0)

set xlabel "percentile"
set ylabel "latency"
set xrange [0.6:4.4]
set xtics ("p50" 1, "p99" 2, "p99.9" 3, "max" 4)
set logscale y 10
set format y "%.3g"
eval ytics_ns
set key title key_note
set offsets 0, 0, graph 0.05, graph 0.05

eval term_png
set output outbase . ".png"
plot for [i = 1:nimpl] datafile index (i - 1) using (jitter($1, i)):2:3:4 \
	with yerrorbars lc rgb word(colors, i) lw 1 dt 1 pt impl_pt(word(impls, i)) \
	ps impl_ps(word(impls, i)) notitle, \
	for [i = 1:nimpl] datafile index (i - 1) using (jitter($1, i)):2 \
	with linespoints lc rgb word(colors, i) lw impl_lw(word(impls, i)) \
	dt impl_dt(word(impls, i)) pt impl_pt(word(impls, i)) ps impl_ps(word(impls, i)) \
	title word(impls, i)
eval term_svg
set output outbase . ".svg"
replot
unset output
