# Ratio to the family's reference implementation against threads: for each implementation, its
# median over the reference's median at the same thread count (>1: faster than the reference),
# with a line at 1.0. Set by the driver (besides common.gp's variables):
#   xtics_list, x_lo, x_hi  thread counts and x range; ylabel; logy 1 for a log y axis
#   reference   the reference implementation's name; key_note the legend's title
# datafile columns: threads ratio
load plotsdir . "/common.gp"

nimpl = words(impls)
jitter(x, i) = x * 2 ** (0.02 * (i - (nimpl + 1) / 2.0))

set xlabel "threads"
set ylabel ylabel
set logscale x 2
set xrange [x_lo:x_hi]
set xtics ()
do for [w in xtics_list] { set xtics add (w real(w)) }
set mxtics 1
set format y "%.3g"
if (logy) { set logscale y 10 } else { set yrange [0:*] }
set key title key_note
set offsets 0, 0, graph 0.05, graph 0.05

eval term_png
set output outbase . ".png"
plot 1 with lines lc rgb reference_color lw 2 dt 1 title reference . " = 1 (reference)", \
	for [i = 1:nimpl] datafile index (i - 1) using (jitter($1, i)):2 \
	with linespoints lc rgb word(colors, i) lw impl_lw(word(impls, i)) \
	dt impl_dt(word(impls, i)) pt impl_pt(word(impls, i)) ps impl_ps(word(impls, i)) \
	title word(impls, i)
eval term_svg
set output outbase . ".svg"
replot
unset output
