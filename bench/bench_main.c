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
 *
 * Self-test benchmarks, registered only when their variable is set (for iobench's own tests):
 *   selftest/crash/abort  (IOBENCH_SELFTEST_CRASH)  aborts in its loop
 *   selftest/hang/spin    (IOBENCH_SELFTEST_HANG)   never returns (waits in pause(), so a hung
 *                                                   test does not burn a CPU)
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "bench.h"

struct bench_env bench_env;

static const char *latency_dir;
static const char *placement_name = "compact";

/*
 * Where a latency benchmark writes its histogram: DIR/<name>.csv, @p name being Google Benchmark's
 * full name, with "/placement:P" appended unless P is compact (the row name iobench records), '/'
 * turned into '_' and ':' into '-'. Creates DIR. @return 0, or -ENOENT when no directory was given.
 */
int bench_latency_csv_path(const char *name, char *out, size_t len)
{
	char file[512];

	if (!latency_dir)
		return -ENOENT;
	if (strcmp(placement_name, "compact") == 0)
		snprintf(file, sizeof(file), "%s", name);
	else
		snprintf(file, sizeof(file), "%s/placement:%s", name, placement_name);
	for (char *p = file; *p; p++)
		*p = *p == '/' ? '_' : *p == ':' ? '-' : *p;
	if (mkdir(latency_dir, 0777) && errno != EEXIST)
		return -errno;
	snprintf(out, len, "%s/%s.csv", latency_dir, file);
	return 0;
}

int bench_slot_pu(int slot)
{
	return bench_env.plan->places[slot % bench_env.plan->nthreads].pu;
}

int bench_pin_slot(struct iob_state *st, int slot)
{
	return bench_pin_pu(st, bench_slot_pu(slot));
}

int bench_pin_pu(struct iob_state *st, int pu)
{
	char msg[128];
	int err;

	if (bench_env.simulated)
		return 0;
	err = iob_topo_pin_self(bench_env.topo, pu);
	if (err) {
		snprintf(msg, sizeof(msg), "pinning thread %d to PU %d failed: %s (running on %d)",
			 iob_state_thread_index(st), pu, strerror(-err), sched_getcpu());
		iob_state_skip_with_error(st, msg);
	}
	return err;
}

int bench_pin(struct iob_state *st)
{
	return bench_pin_slot(st, iob_state_thread_index(st));
}

static void bm_selftest_crash(struct iob_state *st, void *arg)
{
	(void)arg;
	while (iob_state_keep_running(st))
		abort();
}

static void bm_selftest_hang(struct iob_state *st, void *arg)
{
	(void)arg;
	while (iob_state_keep_running(st))
		for (;;)
			pause();
}

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
	bool list = false;
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
			latency_dir = v;
		} else if (strcmp(a, "--iobench_list") == 0) {
			list = true;
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
	placement_name = placement;
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

	bench_calib_register();
	bench_queue_register();
	bench_gate_register();
	/* Test hook: a benchmark that crashes mid-run, to prove a crash loses no finished result. */
	if (getenv("IOBENCH_SELFTEST_CRASH"))
		iob_bench_threads(
			iob_bench_register("selftest/crash/abort", bm_selftest_crash, NULL), 1);
	/* Test hook: a benchmark that never finishes, to prove a cell's time limit holds. */
	if (getenv("IOBENCH_SELFTEST_HANG"))
		iob_bench_threads(iob_bench_register("selftest/hang/spin", bm_selftest_hang, NULL),
				  1);

	if (fixed)
		iob_bench_fixed_iterations(fixed);
	if (iob_bench_initialize(&argc, argv)) {
		fprintf(stderr, "iobench-bench: unknown argument '%s'\n", argv[1]);
		return 2;
	}
	if (list)
		iob_bench_list();
	else
		iob_bench_run();
	iob_bench_shutdown();
	iob_plan_destroy(bench_env.plan);
	iob_topo_destroy(bench_env.topo);
	return 0;
}
