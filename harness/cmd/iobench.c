/*
 * iobench: run benchmark matrices over libiort and its baselines, keep the results, compare them.
 *
 * Commands are dispatched to iob_cmd_*(); each parses its own options (harness/lib/opt.h) and
 * returns 0 (ok), 1 (ran, found a failure) or 2 (bad input).
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "context.h"
#include "quote.h"

static const char usage_text[] =
	"usage: iobench <command> [options]\n"
	"\n"
	"commands:\n"
	"  run     run a benchmark matrix, one child process per cell, into results/<run>/\n"
	"  list    list the registered benchmarks, or the cells of a matrix\n"
	"  show    tables of a run: median throughput, p99, ratio to the family's reference\n"
	"  plot    render a run's plots (gnuplot) into <run>/plots/\n"
	"  compare per benchmark: median change, Mann-Whitney U p-value, verdict\n"
	"  gate    CI regression gate (instruction counts, paired wall clock, ratios)\n"
	"  merge   join shard runs into one run\n"
	"  topo    print the machine topology and a thread placement plan\n"
	"  help    this text; 'iobench help <command>' or 'iobench <command> --help' for one "
	"command\n"
	"  version the version and the git sha it was built from (also --version)\n";

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
};

static const struct command commands[] = {
	{ "run", iob_cmd_run },	    { "list", iob_cmd_list },	    { "show", iob_cmd_show },
	{ "plot", iob_cmd_plot },   { "compare", iob_cmd_compare }, { "gate", iob_cmd_gate },
	{ "merge", iob_cmd_merge }, { "topo", iob_cmd_topo },
};

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/* "iobench: unknown command 'x'; see 'iobench help'" (one line, the name escaped). */
static int unknown_command(const char *name)
{
	char shown[256];

	fprintf(stderr, "iobench: unknown command '%s'; see 'iobench help'\n",
		iob_escape(shown, sizeof(shown), name));
	return IOB_EXIT_USAGE;
}

int main(int argc, char **argv)
{
	const struct command *cmd;

	if (argc < 2) {
		fputs("iobench: no command given; see 'iobench help'\n", stderr);
		return IOB_EXIT_USAGE;
	}
	if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
		if (argc > 2) {
			char shown[256];

			fprintf(stderr,
				"iobench: %s takes no arguments, not '%s'; see 'iobench help'\n",
				argv[1], iob_escape(shown, sizeof(shown), argv[2]));
			return IOB_EXIT_USAGE;
		}
		printf("iobench %s (%s)\n", iob_build_version(), iob_build_sha());
		return fflush(stdout) ? IOB_EXIT_FAIL : IOB_EXIT_OK;
	}
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		if (argc > 2 && strcmp(argv[1], "help") == 0) {
			char *help_argv[] = { argv[2], (char *)"--help", NULL };

			cmd = find_command(argv[2]);
			if (!cmd)
				return unknown_command(argv[2]);
			return cmd->fn(2, help_argv);
		}
		return iob_print_usage(usage_text);
	}
	cmd = find_command(argv[1]);
	if (!cmd)
		return unknown_command(argv[1]);
	return cmd->fn(argc - 1, argv + 1);
}
