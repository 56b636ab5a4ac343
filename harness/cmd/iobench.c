/*
 * iobench: run benchmark matrices over libiort and its baselines, keep the results, compare them.
 *
 * Commands are dispatched to iob_cmd_*(); each parses its own options with getopt_long and returns
 * 0 (ok), 1 (ran, found a failure) or 2 (bad input).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

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
	"command\n";

int iob_parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return -EINVAL;
	*out = v;
	return 0;
}

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

int main(int argc, char **argv)
{
	const struct command *cmd;

	if (argc < 2) {
		fputs(usage_text, stderr);
		return IOB_EXIT_USAGE;
	}
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		if (argc > 2 && strcmp(argv[1], "help") == 0) {
			char *help_argv[] = { argv[2], (char *)"--help", NULL };

			cmd = find_command(argv[2]);
			if (!cmd) {
				fprintf(stderr, "iobench: unknown command '%s'\n%s", argv[2],
					usage_text);
				return IOB_EXIT_USAGE;
			}
			return cmd->fn(2, help_argv);
		}
		fputs(usage_text, stdout);
		return IOB_EXIT_OK;
	}
	cmd = find_command(argv[1]);
	if (!cmd) {
		fprintf(stderr, "iobench: unknown command '%s'\n%s", argv[1], usage_text);
		return IOB_EXIT_USAGE;
	}
	return cmd->fn(argc - 1, argv + 1);
}
