# Locks: throughput and fairness side by side. Three panels over the thread counts (one cluster
# each), one bar per implementation in every cluster: throughput, the minimum of Jain's index
# over 10 ms windows (1 = every thread got the same share in every window), and consec (the
# share of acquisitions by the thread that held the lock last: 50 % is alternation between 2
# threads, near 100 % one thread keeps the lock). Medians over repetitions, bars min..max.
# Set by the driver (besides common.gp's variables):
#   xtics_list   the thread counts, one cluster each in this order; nclusters how many
#   ylabel       the throughput panel's axis; logy 1 for a log axis (more than 2 decades: a lock
#                that collapses under oversubscription stays visible)
#   have_jain, have_consec   0 when no benchmark of the group has the counter (older results):
#                the panel says so instead of drawing
#   key_note     what the bars are (the legend's title)
# datafile columns: cluster threads tput_med tput_min tput_max jain_med jain_min jain_max
#                   consec_med consec_min consec_max ('-' = not measured)
load plotsdir . "/common.gp"
set datafile missing "-"

nimpl = words(impls)
bw = 0.8 / nimpl
bx(x, i) = x + (i - (nimpl + 1) / 2.0) * bw

unset title
set style fill solid 0.85 border lc rgb "#444444"
set boxwidth bw absolute
set xrange [-0.6:nclusters - 0.4]
set xtics ()
k = 0
do for [w in xtics_list] { set xtics add (w k); k = k + 1 }
set xlabel "threads"
set grid noxtics ytics
set format y "%.3g"
ours_fill(n) = ours(n) ? 0.9 : 0.45

# Panels side by side between x = 0.03 and 0.735 of the figure; the legend right of them.
panel_l(j) = 0.03 + j * 0.235
set tmargin at screen 0.88
set bmargin at screen 0.14
set key at screen 0.755, screen 0.86 left top vertical Left reverse box opaque title key_note

do for [fmt in "png svg"] {
	if (fmt eq "png") { eval term_png } else { eval term_svg }
	set output outbase . "." . fmt
	set multiplot title fig_title font ",14"
	set label 99 fig_footer at screen 0.01, screen 0.02 left font ",9" textcolor rgb "#555555"

	set lmargin at screen panel_l(0) + 0.04
	set rmargin at screen panel_l(1) - 0.015
	set title "throughput\n "
	set ylabel ylabel
	if (logy) { set logscale y 10; set yrange [*:*] } else { set yrange [0:*] }
	unset key
	plot for [i = 1:nimpl] datafile index (i - 1) using (bx($1, i)):3:4:5:(bw) \
		with boxerrorbars lc rgb word(colors, i) fs solid ours_fill(word(impls, i)) notitle
	unset label 99

	set lmargin at screen panel_l(1) + 0.04
	set rmargin at screen panel_l(2) - 0.015
	unset logscale y
	set title "Jain's index\n(min over 10 ms windows; 1 = fair)"
	set ylabel "Jain's index"
	set yrange [0:1.05]
	if (have_jain) {
		plot for [i = 1:nimpl] datafile index (i - 1) using (bx($1, i)):6:7:8:(bw) \
			with boxerrorbars lc rgb word(colors, i) fs solid ours_fill(word(impls, i)) \
			notitle
	} else {
		set label 98 "not measured in this run" at graph 0.5, graph 0.5 center
		plot NaN notitle
		unset label 98
	}

	set lmargin at screen panel_l(2) + 0.04
	set rmargin at screen panel_l(3) - 0.015
	set title "consec\n(taken again by the last owner)"
	set ylabel "consec (%)"
	set yrange [0:105]
	set key
	if (have_consec) {
		plot for [i = 1:nimpl] datafile index (i - 1) using (bx($1, i)):9:10:11:(bw) \
			with boxerrorbars lc rgb word(colors, i) fs solid ours_fill(word(impls, i)) \
			title word(impls, i)
	} else {
		set label 98 "not measured in this run" at graph 0.5, graph 0.5 center
		plot for [i = 1:nimpl] NaN with boxes lc rgb word(colors, i) \
			fs solid ours_fill(word(impls, i)) title word(impls, i)
		unset label 98
	}
	unset multiplot
	unset output
}
