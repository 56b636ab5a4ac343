# Throughput against threads: one line per implementation, median over repetitions with min..max
# error bars. Set by the driver (besides common.gp's variables):
#   xtics_list  thread counts present ("1 2 4"), x_lo, x_hi the x range
#   ylabel      metric and unit; logy 1 for a log y axis; yunit_ns 1 when y is a time in ns
#   key_note    what the points and bars are (shown as the legend's title)
# datafile columns: threads median min max repetitions
load plotsdir . "/common.gp"

nimpl = words(impls)
# Spread coincident points a little (a factor, the x axis being log 2) so error bars stay apart.
jitter(x, i) = x * 2 ** (0.035 * (i - (nimpl + 1) / 2.0))

set xlabel "threads"
set ylabel ylabel
set logscale x 2
set xrange [x_lo:x_hi]
set xtics ()
do for [w in xtics_list] { set xtics add (w real(w)) }
set mxtics 1
set format y "%.3g"
if (logy) { set logscale y 10; if (yunit_ns) { eval ytics_ns } } else { set yrange [0:*] }
set key title key_note
set offsets 0, 0, graph 0.05, graph 0.05

eval term_png
set output outbase . ".png"
# Error bars solid and thin for everyone; the line through the medians carries the style.
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
