# iobench plots: settings and the implementation colour table shared by every figure.
#
# Loaded by throughput.gp, ratio.gp, latency.gp and latency_counters.gp. The driver script that
# `iobench plot` writes per figure sets, before loading a template:
#   plotsdir   folder holding these templates
#   datafile   the figure's data (whitespace separated, one block per implementation, blocks
#              separated by two blank lines so `index i` selects one implementation)
#   outbase    output path without extension; the template writes outbase.png and outbase.svg
#   fig_title, fig_footer, impls (space-separated implementation names, block order)
# These (and every string variable a driver sets) come from the results file, which may come from
# elsewhere: use them as text only (title, label, key, plot title), never as a format (set format,
# explicit tic labels, sprintf), never through eval or @macros.
#
# Colours: ONE FIXED COLOUR PER IMPLEMENTATION across every figure and every run. Known
# implementations take their colour from the table below (append new ones at the end; never
# reorder or recolour, or old figures stop matching new ones). Unknown names get a colour from a
# hash of the name, so they too keep it from figure to figure.
# Our implementations (iort_*) are drawn solid and thick with filled points; baselines dashed,
# thinner, with open points.

known_impls  = "iort_spsc iort_mpmc iort_mpsc iort_segq " . \
               "urcu_wfcq_stock urcu_wfcq_nosleep urcu_lfq " . \
               "rte_spsc rte_mpsc rte_mpmc rte_rts rte_hts " . \
               "ck_ring_spsc ck_ring_mpmc ck_fifo mutex_ring iob_hist"
known_colors = "#d62728 #1f77b4 #2ca02c #9467bd " . \
               "#8c564b #e377c2 #7f7f7f " . \
               "#ff7f0e #bcbd22 #17becf #393b79 #637939 " . \
               "#b8860b #843c39 #7b4173 #000000 #e6550d"

impl_index(n, i) = i > words(known_impls) ? 0 : (word(known_impls, i) eq n ? i : impl_index(n, i + 1))
# Deterministic string hash (gnuplot has no ord(): position in a fixed alphabet stands in).
hash_alphabet = "abcdefghijklmnopqrstuvwxyz0123456789_-.:ABCDEFGHIJKLMNOPQRSTUVWXYZ"
name_hash(s, i, h) = i > strlen(s) ? h : \
	name_hash(s, i + 1, (h * 31 + strstrt(hash_alphabet, s[i:i]) + 1) % 1000003)
hash_color(s) = sprintf("#%06x", hsv2rgb((name_hash(s, 1, 7) % 360) / 360.0, 0.80, 0.75))
impl_color(n) = (impl_k = impl_index(n, 1), impl_k > 0 ? word(known_colors, impl_k) : hash_color(n))

ours(n) = strstrt(n, "iort_") == 1
impl_lw(n) = ours(n) ? 3.0 : 1.5
impl_dt(n) = ours(n) ? 1 : 2
impl_pt(n) = ours(n) ? 7 : 6
impl_ps(n) = ours(n) ? 1.1 : 0.9

# Terminals: the same figure as PNG (pngcairo) and SVG. noenhanced: names like iort_mpmc keep
# their underscores instead of turning into subscripts.
fig_w = 1200
fig_h = 720
term_png = sprintf("set terminal pngcairo size %d,%d noenhanced font 'DejaVu Sans,11' linewidth 1.2", fig_w, fig_h)
term_svg = sprintf("set terminal svg size %d,%d noenhanced font 'DejaVu Sans,11' background '#ffffff'", fig_w, fig_h)

# Shared look: title on top, legend outside on the right, footer (git sha, host, topology,
# quiet or not) across the bottom.
set encoding utf8
set title fig_title font ",14"
set key outside right top vertical Left reverse samplen 3 spacing 1.2 box lc rgb "#bbbbbb"
set grid xtics ytics lc rgb "#dddddd" lw 1 dt 1
set border 3 lc rgb "#444444"
set tics nomirror out
set bmargin 6

set label 99 fig_footer at screen 0.01, screen 0.02 left font ",9" textcolor rgb "#555555"
set errorbars small

# Time axes on a log scale read best in ns / us / ms / s.
ytics_ns = "set ytics (\"1 ns\" 1, \"10 ns\" 10, \"100 ns\" 100, \"1 µs\" 1e3, \"10 µs\" 1e4, " . \
	"\"100 µs\" 1e5, \"1 ms\" 1e6, \"10 ms\" 1e7, \"100 ms\" 1e8, \"1 s\" 1e9, \"10 s\" 1e10)"
