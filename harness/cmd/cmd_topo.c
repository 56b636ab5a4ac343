/*
 * `iobench topo`: show the machine (or a synthetic / XML one) and the placement plan a run would
 * use. Nothing is bound here; on a topology that is not this system the output says the plan is
 * simulated (JSON: "is_thissystem": false).
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "topo.h"

#define MAX_THREADS 65536 /* the usage error says 1..65536 */

static const char usage_text[] =
	"usage: iobench topo [--synthetic S | --xml FILE] [--threads N] [--placement P]\n"
	"                    [--oversubscribe] [--json]\n"
	"\n"
	"Show the topology and the thread placement plan.\n"
	"\n"
	"  -s, --synthetic S    use an hwloc synthetic topology, e.g. \"pack:2 numa:2 core:4 "
	"pu:2\"\n"
	"  -x, --xml FILE       use an hwloc XML export (lstopo --of xml)\n"
	"  -t, --threads N      threads to place (default: every PU the placement offers)\n"
	"  -p, --placement P    compact (default), spread, numa:N, list:A,B,.. or A,B,..\n"
	"                       (PU OS indexes; A-B is a range)\n"
	"  -o, --oversubscribe  allow more threads than PUs (the plan wraps around)\n"
	"  -j, --json           print one JSON object instead of text\n"
	"  -h, --help           show this help\n"
	"\n"
	"Without --synthetic or --xml the topology is this machine's. On any other topology the\n"
	"plan is simulated: a plan only, nothing is bound. A synthetic topology has at most 4096\n"
	"PUs and 512 children per object; an XML file at most 16 MiB, in hwloc format 1.x or 2.x.\n"
	"A PU that belongs to no NUMA node shows as NUMA none (JSON: \"numa\": null).\n";

_Static_assert(IOB_TOPO_MAX_PUS == 4096 && IOB_TOPO_MAX_ARITY == 512 &&
		       IOB_TOPO_MAX_XML_BYTES == 16 << 20,
	       "usage_text states these limits");

static const struct option long_opts[] = {
	{ "synthetic", required_argument, NULL, 's' },
	{ "xml", required_argument, NULL, 'x' },
	{ "threads", required_argument, NULL, 't' },
	{ "placement", required_argument, NULL, 'p' },
	{ "oversubscribe", no_argument, NULL, 'o' },
	{ "json", no_argument, NULL, 'j' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

int iob_cmd_topo(int argc, char **argv)
{
	enum iob_topo_source src = IOB_TOPO_SYSTEM;
	const char *src_arg = NULL, *placement = "compact";
	bool oversubscribe = false, json = false;
	struct iob_topo *t = NULL;
	struct iob_plan *plan = NULL;
	char err[512];
	long nthreads = 0; /* 0: as many as the placement has PUs */
	int c, ret, status = IOB_EXIT_USAGE;

	iob_opt_begin();
	while ((c = iob_opt_next("topo", argc, argv, "s:x:t:p:ojh", long_opts)) != -1) {
		switch (c) {
		case 's':
		case 'x':
			if (src != IOB_TOPO_SYSTEM)
				return iob_usage_error("topo",
						       "use only one of --synthetic and --xml");
			src = c == 's' ? IOB_TOPO_SYNTHETIC : IOB_TOPO_XML;
			src_arg = optarg;
			break;
		case 't':
			if (iob_parse_long(optarg, 1, MAX_THREADS, &nthreads))
				return iob_bad_value("topo", "--threads", "a number in 1..65536",
						     optarg);
			break;
		case 'p':
			placement = optarg;
			break;
		case 'o':
			oversubscribe = true;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			return iob_print_usage(usage_text);
		default:
			return IOB_EXIT_USAGE;
		}
	}
	if (optind < argc)
		return iob_unexpected_arg("topo", argv[optind]);

	ret = iob_topo_load(src, src_arg, &t, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "iobench topo: %s\n", err);
		/* This machine failing to describe itself is not the user's input. */
		return src == IOB_TOPO_SYSTEM && ret != -EINVAL ? IOB_EXIT_FAIL : IOB_EXIT_USAGE;
	}
	ret = iob_topo_plan(t, placement, (int)nthreads, oversubscribe, &plan, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "iobench topo: %s\n", err);
		status = ret == -ENOMEM ? IOB_EXIT_FAIL : IOB_EXIT_USAGE;
		goto out;
	}

	status = IOB_EXIT_FAIL;
	if (json) {
		char *s = iob_topo_json(t, plan);

		if (!s) {
			fprintf(stderr, "iobench topo: out of memory formatting JSON\n");
			goto out;
		}
		puts(s);
		free(s);
	} else {
		iob_topo_print(t, plan, stdout);
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "iobench topo: writing output: %s\n", strerror(errno));
		goto out;
	}
	status = IOB_EXIT_OK;
out:
	iob_plan_destroy(plan);
	iob_topo_destroy(t);
	return status;
}
