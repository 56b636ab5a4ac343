/*
 * iobench run / list: drive the benchmark binary (bench/iobench-bench) as a child process and turn
 * its Google Benchmark JSON into a results file with our context.
 *
 * A run is two children: the calibration benchmarks (the calib/ family: the machine's floor, summarized into
 * the context's "iobench_calibration"), then the selected benchmarks. Each writes raw JSON into the
 * run folder; results.json is written to a temporary file and renamed, so a reader never sees a
 * partial file and an existing results.json is never overwritten. A child that crashes keeps the
 * benchmarks it finished: Google Benchmark writes each result as it completes, and the truncated
 * raw file is closed off and marked incomplete.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "context.h"
#include "results.h"

#ifndef IOB_LIBEXECDIR
#define IOB_LIBEXECDIR "/usr/local/libexec"
#endif

struct run_opts {
	const char *filter;
	long repetitions;
	double min_time;
	const char *out;
	const char *placement;
	long threads;
	const char *synthetic;
	const char *xml;
	const char *bench;
	bool calibrate;
	bool random_order;
};

static const char run_usage[] =
	"usage: iobench run [options]\n"
	"Run benchmarks in a child process and write DIR/results.json (Google Benchmark's JSON\n"
	"schema plus the run context: build, machine, placement, load, calibration figures).\n"
	"\n"
	"  --filter REGEX       benchmarks to run (default: all but the calib/ family, which runs "
	"first\n"
	"                       on its own in every run)\n"
	"  --repetitions N      repetitions of each benchmark (default 3; medians come from "
	"these)\n"
	"  --min-time S         minimum seconds per repetition (default 0.2)\n"
	"  --out DIR            output folder (default results/<UTC time>-<sha>); must not "
	"already\n"
	"                       hold a results.json\n"
	"  --placement P        compact (default), spread, numa:N, list:A,B,...\n"
	"  --threads N          size of the placement plan (default: every PU)\n"
	"  --synthetic S | --xml FILE\n"
	"                       plan on another topology: nothing is pinned, results marked "
	"simulated\n"
	"  --no-calibration     skip the calibration benchmarks\n"
	"  --order O            random (default: repetitions of all benchmarks interleaved at "
	"random,\n"
	"                       so load bursts hit every implementation alike) or registered\n"
	"  --bench PATH         the benchmark binary (default: next to iobench, or "
	"$IOBENCH_BENCH)\n";

static const char list_usage[] = "usage: iobench list [--filter REGEX] [--bench PATH]\n"
				 "Print the registered benchmarks, one a line.\n";

/* The benchmark binary: --bench, $IOBENCH_BENCH, the build tree next to us, the install dir. */
static int find_bench(const char *given, char *out, size_t len)
{
	char self[PATH_MAX - 64], *slash;
	const char *env = getenv("IOBENCH_BENCH");
	ssize_t n;

	if (given || (env && *env)) {
		snprintf(out, len, "%s", given ? given : env);
		if (access(out, X_OK) == 0)
			return 0;
		fprintf(stderr, "iobench: benchmark binary '%s' is missing or not executable\n",
			out);
		return -ENOENT;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash)
			*slash = '\0';
		snprintf(out, len, "%s/../bench/iobench-bench", self);
		if (access(out, X_OK) == 0)
			return 0;
		snprintf(out, len, "%s/iobench-bench", self);
		if (access(out, X_OK) == 0)
			return 0;
	}
	snprintf(out, len, "%s/iobench/iobench-bench", IOB_LIBEXECDIR);
	if (access(out, X_OK) == 0)
		return 0;
	fprintf(stderr,
		"iobench: benchmark binary iobench-bench not found next to iobench or in "
		"%s/iobench "
		"(build it: ninja -C build; or pass --bench PATH)\n",
		IOB_LIBEXECDIR);
	return -ENOENT;
}

/* Run argv; @return its exit status, 128 + signal when killed, or -errno when it did not start. */
static int spawn(char *const argv[])
{
	pid_t pid;
	int status;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		execv(argv[0], argv);
		fprintf(stderr, "iobench: cannot execute %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

static int mkdirs(const char *path)
{
	char buf[PATH_MAX];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0777) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0777) && errno != EEXIST)
		return -errno;
	return 0;
}

/*
 * Load a child's raw JSON. Google Benchmark writes each finished benchmark as it goes; when the
 * child died mid-run the file ends inside the array, so close it after the last complete entry.
 */
static json_t *load_raw(const char *path, bool *repaired)
{
	json_error_t jerr;
	json_t *j;
	FILE *f;
	char *text, *cut;
	long size;

	*repaired = false;
	j = json_load_file(path, 0, &jerr);
	if (j)
		return j;
	f = fopen(path, "r");
	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		fclose(f);
		return NULL;
	}
	text = malloc((size_t)size + 16);
	if (!text || fread(text, 1, (size_t)size, f) != (size_t)size) {
		free(text);
		fclose(f);
		return NULL;
	}
	fclose(f);
	text[size] = '\0';
	/* Entries are objects at indent 4 inside "benchmarks": the last complete one ends "\n    }". */
	cut = NULL;
	for (char *p = strstr(text, "\n    }"); p; p = strstr(p + 1, "\n    }"))
		cut = p;
	if (cut) {
		strcpy(cut + 6, "\n  ]\n}\n");
	} else if ((cut = strstr(text, "\"benchmarks\": ["))) {
		strcpy(cut + 15, "]}\n");
	} else {
		free(text);
		return NULL;
	}
	j = json_loads(text, 0, &jerr);
	free(text);
	*repaired = j != NULL;
	return j;
}

static int check_regex(const char *re)
{
	regex_t r;
	int rc;

	if (re[0] == '-') /* Google Benchmark's negative filter */
		re++;
	rc = regcomp(&r, re, REG_EXTENDED | REG_NOSUB);
	if (rc == 0)
		regfree(&r);
	return rc ? -EINVAL : 0;
}

/* Common benchmark-binary arguments; @return argc. */
static int bench_args(const struct run_opts *o, char *argv[], int max, char bufs[][PATH_MAX])
{
	int n = 0;

	(void)max;
	snprintf(bufs[0], PATH_MAX, "--iobench_placement=%s", o->placement);
	argv[n++] = bufs[0];
	if (o->threads) {
		snprintf(bufs[1], PATH_MAX, "--iobench_threads=%ld", o->threads);
		argv[n++] = bufs[1];
	}
	if (o->synthetic) {
		snprintf(bufs[2], PATH_MAX, "--iobench_synthetic=%s", o->synthetic);
		argv[n++] = bufs[2];
	}
	if (o->xml) {
		snprintf(bufs[2], PATH_MAX, "--iobench_xml=%s", o->xml);
		argv[n++] = bufs[2];
	}
	return n;
}

/* Run one child into @p raw. @return 0, or a message in @p why (and the child's status). */
static int run_child(const char *bench, const struct run_opts *o, const char *filter, long reps,
		     double min_time, const char *raw, char *why, size_t whylen)
{
	char bufs[8][PATH_MAX];
	char *argv[20];
	int n = 0, rc;

	argv[n++] = (char *)bench;
	n += bench_args(o, argv + n, 4, bufs);
	snprintf(bufs[3], PATH_MAX, "--benchmark_filter=%s", filter);
	snprintf(bufs[4], PATH_MAX, "--benchmark_repetitions=%ld", reps);
	snprintf(bufs[5], PATH_MAX, "--benchmark_min_time=%g", min_time);
	snprintf(bufs[6], PATH_MAX, "--benchmark_out=%s", raw);
	argv[n++] = bufs[3];
	argv[n++] = bufs[4];
	argv[n++] = bufs[5];
	argv[n++] = bufs[6];
	argv[n++] = (char *)"--benchmark_out_format=json";
	/* Repetitions of different benchmarks in random order: a burst of load on this shared
	 * machine then lands on every implementation alike instead of on one's back-to-back runs. */
	if (o->random_order)
		argv[n++] = (char *)"--benchmark_enable_random_interleaving=true";
	argv[n] = NULL;

	rc = spawn(argv);
	if (rc < 0)
		snprintf(why, whylen, "cannot start %s: %s", bench, strerror(-rc));
	else if (rc > 128)
		snprintf(why, whylen, "benchmark process killed by signal %d (%s)", rc - 128,
			 strsignal(rc - 128));
	else if (rc)
		snprintf(why, whylen, "benchmark process exited with status %d", rc);
	return rc;
}

static void default_out(char *out, size_t len)
{
	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	const char *sha = iob_build_sha();

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	snprintf(out, len, "results/%s-%.12s", stamp, sha);
}

static int parse_run_opts(int argc, char **argv, struct run_opts *o, bool list)
{
	enum {
		O_FILTER = 256,
		O_REPS,
		O_MINTIME,
		O_OUT,
		O_PLACEMENT,
		O_THREADS,
		O_SYNTH,
		O_XML,
		O_BENCH,
		O_NOCALIB,
		O_ORDER,
		O_HELP
	};
	static const struct option opts[] = {
		{ "filter", required_argument, NULL, O_FILTER },
		{ "repetitions", required_argument, NULL, O_REPS },
		{ "min-time", required_argument, NULL, O_MINTIME },
		{ "out", required_argument, NULL, O_OUT },
		{ "placement", required_argument, NULL, O_PLACEMENT },
		{ "threads", required_argument, NULL, O_THREADS },
		{ "synthetic", required_argument, NULL, O_SYNTH },
		{ "xml", required_argument, NULL, O_XML },
		{ "bench", required_argument, NULL, O_BENCH },
		{ "no-calibration", no_argument, NULL, O_NOCALIB },
		{ "order", required_argument, NULL, O_ORDER },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	const char *usage = list ? list_usage : run_usage;
	char *end;
	int c;

	*o = (struct run_opts){ .repetitions = 3,
				.min_time = 0.2,
				.placement = "compact",
				.calibrate = true,
				.random_order = true };
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		if (list && c != O_FILTER && c != O_BENCH && c != O_HELP && c != '?' && c != ':') {
			fprintf(stderr, "iobench list: option '%s' is for iobench run\n%s",
				argv[optind - 1], usage);
			return IOB_EXIT_USAGE;
		}
		switch (c) {
		case O_FILTER:
			o->filter = optarg;
			if (check_regex(optarg)) {
				fprintf(stderr,
					"iobench: --filter '%s' is not a valid regular "
					"expression\n",
					optarg);
				return IOB_EXIT_USAGE;
			}
			break;
		case O_REPS:
			if (iob_parse_long(optarg, 1, 1000, &o->repetitions)) {
				fprintf(stderr,
					"iobench: --repetitions must be 1..1000, not '%s'\n",
					optarg);
				return IOB_EXIT_USAGE;
			}
			break;
		case O_MINTIME:
			errno = 0;
			o->min_time = strtod(optarg, &end);
			if (errno || *end || end == optarg || !(o->min_time > 0) ||
			    o->min_time > 3600) {
				fprintf(stderr,
					"iobench: --min-time must be seconds in (0, 3600], not "
					"'%s'\n",
					optarg);
				return IOB_EXIT_USAGE;
			}
			break;
		case O_OUT:
			o->out = optarg;
			break;
		case O_PLACEMENT:
			o->placement = optarg;
			break;
		case O_THREADS:
			if (iob_parse_long(optarg, 1, 4096, &o->threads)) {
				fprintf(stderr, "iobench: --threads must be 1..4096, not '%s'\n",
					optarg);
				return IOB_EXIT_USAGE;
			}
			break;
		case O_SYNTH:
			o->synthetic = optarg;
			break;
		case O_XML:
			o->xml = optarg;
			break;
		case O_BENCH:
			o->bench = optarg;
			break;
		case O_NOCALIB:
			o->calibrate = false;
			break;
		case O_ORDER:
			if (strcmp(optarg, "random") && strcmp(optarg, "registered")) {
				fprintf(stderr,
					"iobench: --order must be random or registered, not '%s'\n",
					optarg);
				return IOB_EXIT_USAGE;
			}
			o->random_order = strcmp(optarg, "random") == 0;
			break;
		case O_HELP:
			fputs(usage, stdout);
			return -1;
		case ':':
			fprintf(stderr, "iobench: option '%s' needs a value\n%s", argv[optind - 1],
				usage);
			return IOB_EXIT_USAGE;
		default:
			fprintf(stderr, "iobench: unknown option '%s'\n%s", argv[optind - 1],
				usage);
			return IOB_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "iobench: unexpected argument '%s'\n%s", argv[optind], usage);
		return IOB_EXIT_USAGE;
	}
	if (o->synthetic && o->xml) {
		fprintf(stderr, "iobench: --synthetic and --xml exclude each other\n");
		return IOB_EXIT_USAGE;
	}
	return 0;
}

int iob_cmd_list(int argc, char **argv)
{
	struct run_opts o;
	char bench[PATH_MAX], filter[PATH_MAX];
	char *cargv[4];
	int rc = parse_run_opts(argc, argv, &o, true);

	if (rc)
		return rc < 0 ? IOB_EXIT_OK : rc;
	if (find_bench(o.bench, bench, sizeof(bench)))
		return IOB_EXIT_USAGE;
	snprintf(filter, sizeof(filter), "--benchmark_filter=%s", o.filter ? o.filter : ".");
	cargv[0] = bench;
	cargv[1] = (char *)"--iobench_list";
	cargv[2] = filter;
	cargv[3] = NULL;
	rc = spawn(cargv);
	if (rc) {
		fprintf(stderr, "iobench: listing benchmarks failed (status %d)\n", rc);
		return IOB_EXIT_FAIL;
	}
	return IOB_EXIT_OK;
}

/*
 * The benchmark binary can only add strings to the context; turn the ones that hold JSON (the
 * topology and plan) and flags back into JSON values so readers need not parse twice.
 */
static void normalize_context(json_t *ctx)
{
	const char *topo = json_string_value(json_object_get(ctx, "iobench_topology"));
	const char *sim = json_string_value(json_object_get(ctx, "iobench_simulated"));
	json_t *t;

	if (topo && (t = json_loads(topo, 0, NULL)))
		json_object_set_new(ctx, "iobench_topology", t);
	if (sim)
		json_object_set_new(ctx, "iobench_simulated",
				    json_boolean(strcmp(sim, "true") == 0));
}

/* Append the rows of @p raw's "benchmarks" to @p rows, skipping calib/ rows when @p drop_calib. */
static size_t take_rows(json_t *rows, json_t *raw, bool drop_calib)
{
	json_t *row, *src = json_object_get(raw, "benchmarks");
	size_t i, n = 0;

	json_array_foreach(src, i, row)
	{
		const char *name = json_string_value(json_object_get(row, "name"));

		if (drop_calib && name && strncmp(name, "calib/", 6) == 0)
			continue;
		json_array_append(rows, row);
		n++;
	}
	return n;
}

int iob_cmd_run(int argc, char **argv)
{
	struct run_opts o;
	struct iob_sysstat before, after;
	char bench[PATH_MAX], dir[PATH_MAX], path[PATH_MAX], raw_calib[PATH_MAX],
		raw_main[PATH_MAX];
	char why_calib[256] = "", why_main[256] = "";
	json_t *calib = NULL, *mainj = NULL, *root = NULL, *ctx, *rows, *cal, *cmd;
	bool rep_calib = false, rep_main = false, failed = false;
	int rc = parse_run_opts(argc, argv, &o, false), err;

	if (rc)
		return rc < 0 ? IOB_EXIT_OK : rc;
	if (find_bench(o.bench, bench, sizeof(bench)))
		return IOB_EXIT_USAGE;
	if (o.out)
		snprintf(dir, sizeof(dir), "%s", o.out);
	else
		default_out(dir, sizeof(dir));
	err = mkdirs(dir);
	if (err) {
		fprintf(stderr, "iobench: cannot create output folder '%s': %s\n", dir,
			strerror(-err));
		return IOB_EXIT_USAGE;
	}
	snprintf(path, sizeof(path), "%s/results.json", dir);
	if (access(path, F_OK) == 0) {
		fprintf(stderr,
			"iobench: %s already exists; not overwriting it (choose another --out)\n",
			path);
		return IOB_EXIT_USAGE;
	}
	if (access(dir, W_OK) != 0) {
		fprintf(stderr, "iobench: output folder '%s' is not writable: %s\n", dir,
			strerror(errno));
		return IOB_EXIT_USAGE;
	}
	snprintf(raw_calib, sizeof(raw_calib), "%s/raw-calibration.json", dir);
	snprintf(raw_main, sizeof(raw_main), "%s/raw-benchmarks.json", dir);
	fprintf(stderr, "iobench: run folder %s\n", dir);

	iob_sysstat_read(&before);
	if (o.calibrate) {
		fprintf(stderr, "iobench: calibration (calib/*)\n");
		rc = run_child(bench, &o, "^calib/", 3, 0.05, raw_calib, why_calib,
			       sizeof(why_calib));
		if (rc < 0 || rc == 127 || rc == 2) {
			fprintf(stderr, "iobench: %s\n", why_calib);
			return rc == 2 ? IOB_EXIT_USAGE : IOB_EXIT_FAIL;
		}
		calib = load_raw(raw_calib, &rep_calib);
		failed |= rc != 0;
	}
	fprintf(stderr, "iobench: benchmarks (%s)\n", o.filter ? o.filter : "all but calib/");
	rc = run_child(bench, &o, o.filter ? o.filter : "-^calib/", o.repetitions, o.min_time,
		       raw_main, why_main, sizeof(why_main));
	if (rc < 0 || rc == 127 || rc == 2) {
		fprintf(stderr, "iobench: %s\n", why_main);
		json_decref(calib);
		return rc == 2 ? IOB_EXIT_USAGE : IOB_EXIT_FAIL;
	}
	failed |= rc != 0;
	mainj = load_raw(raw_main, &rep_main);
	iob_sysstat_read(&after);

	if (!mainj && !calib) {
		fprintf(stderr, "iobench: no results: %s%s%s (raw output kept in %s)\n", why_calib,
			*why_calib ? "; " : "", why_main, dir);
		return IOB_EXIT_FAIL;
	}
	root = json_deep_copy(mainj ? mainj : calib);
	ctx = json_object_get(root, "context");
	rows = json_array();
	if (!root || !json_is_object(ctx) || !rows) {
		fprintf(stderr, "iobench: benchmark output in %s has no context object\n", dir);
		failed = true;
		goto out;
	}
	normalize_context(ctx);
	if (calib)
		take_rows(rows, calib, false);
	if (mainj)
		take_rows(rows, mainj, calib != NULL);
	json_object_set_new(root, "benchmarks", rows);

	cal = iob_calibration_from_rows(rows);
	cmd = json_array();
	for (int i = 0; i < argc && cmd; i++)
		json_array_append_new(cmd, json_string(argv[i]));
	if (iob_context_add_static(ctx) || iob_context_add_load(ctx, &before, &after) ||
	    json_object_set_new(ctx, "iobench_calibration", cal ? cal : json_null()) ||
	    json_object_set_new(ctx, "iobench_command", cmd ? cmd : json_null())) {
		fprintf(stderr, "iobench: out of memory\n");
		failed = true;
		goto out;
	}
	if (*why_calib || *why_main || rep_calib || rep_main) {
		char note[600];

		snprintf(note, sizeof(note), "%s%s%s", why_calib,
			 *why_calib && *why_main ? "; " : "", why_main);
		json_object_set_new(ctx, "iobench_incomplete", json_string(note));
	}
	err = iob_results_save(path, root);
	if (err) {
		fprintf(stderr, "iobench: cannot write %s: %s\n", path, strerror(-err));
		failed = true;
		goto out;
	}
	if (!failed) {
		unlink(raw_calib);
		unlink(raw_main);
	}
	fprintf(stderr, "iobench: wrote %s (%zu rows)%s\n", path, json_array_size(rows),
		failed ? "; some benchmarks did not finish, see iobench_incomplete" : "");
	printf("%s\n", path);
out:
	json_decref(root);
	json_decref(calib);
	json_decref(mainj);
	return failed ? IOB_EXIT_FAIL : IOB_EXIT_OK;
}
