# iobench plots: settings and the implementation colour table shared by every figure.
#
# Loaded by throughput.gp, ratio.gp, latency.gp, latency_counters.gp, fairness.gp and
# wait_counters.gp. The driver script that `iobench plot` writes per figure sets, before loading a
# template:
#   plotsdir   folder holding these templates
#   datafile   the figure's data (whitespace separated, one block per implementation, blocks
#              separated by two blank lines so `index i` selects one implementation)
#   outbase    output path without extension; the template writes outbase.png and outbase.svg
#   fig_title, fig_footer, impls (space-separated implementation names, block order), colors
# These (and every string variable a driver sets) come from the results file, which may come from
# elsewhere: use them as text only (title, label, key, plot title), never as a format (set format,
# explicit tic labels, sprintf), never through eval or @macros.
#
# Colours: one fixed colour per implementation across every figure and every run. iobench
# computes it from the implementation's name (harness/palette.c: a hash, no table to keep) and
# the driver passes `colors` (one "#rrggbb" per word of impls, in order) and, for ratio figures,
# `reference_color`.
# Our implementations (iort_*) are drawn solid and thick with filled points; baselines dashed,
# thinner, with open points.

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
