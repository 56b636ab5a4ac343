/*
 * iobench-bench: every benchmark workload in one Google Benchmark binary. iobench runs it as a child
 * process; it can also be run by hand with Google Benchmark's own flags.
 *
 * Our flags (removed before Google Benchmark parses the rest):
 *   --iobench_placement=P      compact (default), spread, numa:N, list:A,B,..
 *   --iobench_threads=N        size of the placement plan (default: every PU)
 *   --iobench_synthetic=S      plan on an hwloc synthetic topology (simulated: nothing pinned)
 *   --iobench_xml=FILE         plan on an hwloc XML topology (simulated)
 *   --iobench_fixed_iterations=N  exactly N iterations, once (instruction counting)
 *   --iobench_latency_dir=DIR  latency benchmarks write their HDR histogram there as a percentile
 *                              CSV, latency/<name with '/' -> '_', ':' -> '-'>.csv
 *   --iobench_list             print the selected benchmark names and exit
 *   --iobench_catalogue        print the catalogue (families, scenarios, implementations) as
 *                              JSON and exit
 *
 * main only sets up the run's environment and walks the families' list (bench_families[], made
 * from bench/meson.build); everything a workload file shares is in bench_lib.c.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "bench.h"

static const char *flag_value(const char *arg, const char *name)
{
	size_t n = strlen(name);

	if (strncmp(arg, name, n) == 0 && arg[n] == '=')
		return arg + n + 1;
	return NULL;
}

static int parse_count(const char *flag, const char *s, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || !*s || v < 1 || v > hi) {
		fprintf(stderr,
			"iobench-bench: %s must be a whole number from 1 to %ld, not '%s'\n", flag,
			hi, s);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

int main(int argc, char **argv)
{
	const char *placement = "compact", *synthetic = NULL, *xml = NULL, *v;
	long threads = 0, fixed = 0;
	bool list = false, catalogue = false;
	char err[256];
	char *json;
	int kept = 1, rc;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if ((v = flag_value(a, "--iobench_placement"))) {
			placement = v;
		} else if ((v = flag_value(a, "--iobench_threads"))) {
			if (parse_count("--iobench_threads", v, 4096, &threads))
				return 2;
		} else if ((v = flag_value(a, "--iobench_synthetic"))) {
			synthetic = v;
		} else if ((v = flag_value(a, "--iobench_xml"))) {
			xml = v;
		} else if ((v = flag_value(a, "--iobench_fixed_iterations"))) {
			if (parse_count("--iobench_fixed_iterations", v, 1000000000000L, &fixed))
				return 2;
		} else if ((v = flag_value(a, "--iobench_latency_dir"))) {
			if (!*v) {
				fprintf(stderr, "iobench-bench: --iobench_latency_dir needs a "
						"folder\n");
				return 2;
			}
			bench_env.latency_dir = v;
		} else if (strcmp(a, "--iobench_list") == 0) {
			list = true;
		} else if (strcmp(a, "--iobench_catalogue") == 0) {
			catalogue = true;
		} else if (strncmp(a, "--iobench_", 10) == 0) {
			fprintf(stderr, "iobench-bench: unknown option '%s'\n", a);
			return 2;
		} else {
			argv[kept++] = argv[i];
		}
	}
	argc = kept;
	argv[argc] = NULL;
	if (synthetic && xml) {
		fprintf(stderr, "iobench-bench: --iobench_synthetic and --iobench_xml exclude each "
				"other\n");
		return 2;
	}

	rc = iob_topo_load(synthetic ? IOB_TOPO_SYNTHETIC
			   : xml     ? IOB_TOPO_XML
				     : IOB_TOPO_SYSTEM,
			   synthetic ? synthetic : xml, &bench_env.topo, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "iobench-bench: %s\n", err);
		return 2;
	}
	if (threads == 0)
		threads = iob_topo_npus(bench_env.topo);
	rc = iob_topo_plan(bench_env.topo, placement, (int)threads, true, &bench_env.plan, err,
			   sizeof(err));
	if (rc) {
		fprintf(stderr, "iobench-bench: %s\n", err);
		return 2;
	}
	bench_env.simulated = !iob_topo_is_thissystem(bench_env.topo);

	json = iob_topo_json(bench_env.topo, bench_env.plan);
	if (!json) {
		fprintf(stderr, "iobench-bench: out of memory\n");
		return 1;
	}
	bench_env.placement = placement;
	iob_bench_add_context("iobench_placement", placement);
	{
		/* One line in the console header; iobench turns it back into an object. */
		json_t *t = json_loads(json, 0, NULL);
		char *compact = t ? json_dumps(t, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

		iob_bench_add_context("iobench_topology", compact ? compact : json);
		free(compact);
		json_decref(t);
	}
	iob_bench_add_context("iobench_topology_source", iob_topo_source(bench_env.topo));
	iob_bench_add_context("iobench_simulated", bench_env.simulated ? "true" : "false");
	free(json);

	bench_register_families();
	if (catalogue) {
		char *text = bench_catalogue_json();

		if (!text) {
			fprintf(stderr, "iobench-bench: out of memory\n");
			return 1;
		}
		puts(text);
		free(text);
		bench_catalogue_free();
		return fflush(stdout) ? 1 : 0;
	}

	if (fixed)
		iob_bench_fixed_iterations(fixed);
	bench_env.fixed_iterations = fixed;
	if (iob_bench_initialize(&argc, argv)) {
		fprintf(stderr, "iobench-bench: unknown argument '%s'\n", argv[1]);
		return 2;
	}
	if (list)
		iob_bench_list();
	else
		iob_bench_run();
	iob_bench_shutdown();
	bench_catalogue_free();
	iob_plan_destroy(bench_env.plan);
	iob_topo_destroy(bench_env.topo);
	return 0;
}
