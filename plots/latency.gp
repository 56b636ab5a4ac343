# Latency percentile spectrum (HdrHistogram style): x = 1/(1-percentile) on a log axis labelled
# as percentiles, y = latency on a log axis, one line per implementation. Set by the driver
# (besides common.gp's variables): x_hi the largest 1/(1-percentile); key_note the legend's title;
# ylabel, optional (a lock's wait figure names its latency the wait).
# datafile columns: one_over_one_minus_p latency_ns percentile
load plotsdir . "/common.gp"

nimpl = words(impls)

set xlabel "percentile"
set ylabel (exists("ylabel") ? ylabel : "latency")
set logscale x 10
set logscale y 10
set xrange [1:x_hi]
set xtics ("0%%" 1, "50%%" 2, "90%%" 10, "99%%" 100, "99.9%%" 1000, "99.99%%" 1e4, "99.999%%" 1e5, \
	"99.9999%%" 1e6, "99.99999%%" 1e7)
set mxtics 1
set format y "%.3g"
eval ytics_ns
set key title key_note
set key left top inside opaque

eval term_png
set output outbase . ".png"
plot for [i = 1:nimpl] datafile index (i - 1) using 1:2 \
	with steps lc rgb word(colors, i) lw impl_lw(word(impls, i)) \
	dt impl_dt(word(impls, i)) title word(impls, i)
eval term_svg
set output outbase . ".svg"
replot
unset output
