/**
 * A run's figures: throughput against threads, the ratio to the family's reference, latency
 * percentiles, written by gnuplot into RUN/plots/ as PNG and SVG (plot.c tells how). Used by
 * `iobench plot` and at the end of `iobench run`.
 *
 * Synchronization: none; one thread.
 */
#ifndef IOB_PLOT_H
#define IOB_PLOT_H

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Render the plots of @p run_arg (a run folder, its results file or a run name: iob_run_resolve())
 * into its folder's plots/. Messages name every problem on stderr.
 * @return 0; -EINVAL when @p run is no run or its results file is bad input; -ENOENT when gnuplot
 * or the templates are missing; another negative errno when a figure failed or a file could not
 * be written.
 */
int iob_plot_run(const char *run_arg);

#ifdef __cplusplus
}
#endif

#endif /* IOB_PLOT_H */
