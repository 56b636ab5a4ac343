# Locks: the wait (from the call to lock() to holding the lock) at p50, p99, p99.9 and max, and,
# right of a divider, the handover (from the release to the next owner running) at p50 and p99,
# from the results file's counters when no percentile CSV exists. One line per implementation,
# median over repetitions with min..max error bars, y on a log axis. Set by the driver (besides
# common.gp's variables): key_note the legend's title; handover 1 when some benchmark has the
# handover counters (0: only the wait categories); ylabel the y axis.
# datafile columns: category(1..4 wait, 6..7 handover) median min max; within an implementation's
# block a blank line separates wait from handover, so no line joins them.
load plotsdir . "/common.gp"

nimpl = words(impls)
jitter(x, i) = x + 0.03 * (i - (nimpl + 1) / 2.0)

set xlabel "percentile"
set ylabel ylabel
if (handover) {
	set xrange [0.6:7.4]
	set xtics ("p50" 1, "p99" 2, "p99.9" 3, "max" 4, "p50" 6, "p99" 7)
	set arrow 1 from 5, graph 0 to 5, graph 1 nohead lc rgb "#888888" dt 2
	set label 1 "wait: call to ownership" at 2.5, graph 1.03 center
	set label 2 "handover: release to next owner" at 6.5, graph 1.03 center
} else {
	set xrange [0.6:4.4]
	set xtics ("p50" 1, "p99" 2, "p99.9" 3, "max" 4)
}
set logscale y 10
if (handover) { set tmargin 4 }
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
