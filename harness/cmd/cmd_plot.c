/*
 * iobench plot RUN: render a run's figures (harness/lib/plot.h) into RUN/plots/.
 */
#include <errno.h>
#include <stdio.h>

#include "cli.h"
#include "plot.h"

static const char plot_usage[] =
	"usage: iobench plot [--help] RUN\n"
	"\n"
	"Render the figures of RUN (a run folder, its results.json, or a run name under results/)\n"
	"into RUN/plots/ as PNG and SVG, with gnuplot:\n"
	"  throughput_<family>_<scenario>[_<params>]   median throughput against threads, "
	"min..max\n"
	"                                              bars, one fixed colour per implementation\n"
	"  ratio_<family>_<scenario>[_<params>]        throughput relative to the family's "
	"reference\n"
	"  latency_<family>_<scenario>[_<params>]_threads-<N>\n"
	"                                              latency percentiles (RUN/latency/*.csv, "
	"else\n"
	"                                              the p50/p99/p99.9/max counters)\n"
	"Data and gnuplot scripts go to RUN/plots/data/.\n"
	"\n"
	"environment:\n"
	"  IOBENCH_GNUPLOT   gnuplot to run (default: gnuplot on PATH)\n"
	"  IOBENCH_PLOTS     folder of the gnuplot templates (default: "
	"$IOBENCH_SOURCE_ROOT/plots,\n"
	"                    the build's source tree, or the installed ones)\n"
	"\n"
	"exit status: 0 rendered; 1 gnuplot missing or a figure failed (results are unaffected);\n"
	"2 bad usage or RUN is not a run folder / results file.\n";

int iob_cmd_plot(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, err;

	iob_opt_begin();
	while ((c = iob_opt_next("plot", argc, argv, "h", opts)) != -1) {
		if (c == 'h')
			return iob_print_usage(plot_usage);
		return IOB_EXIT_USAGE;
	}
	if (argc - optind != 1)
		return iob_usage_error("plot", "%s",
				       argc - optind < 1
					       ? "which run? give a run folder or results.json"
					       : "give exactly one run");
	err = iob_plot_run(argv[optind]);
	if (err == -EINVAL)
		return IOB_EXIT_USAGE;
	return err ? IOB_EXIT_FAIL : IOB_EXIT_OK;
}
