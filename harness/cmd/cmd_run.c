/*
 * iobench run / list: run a benchmark matrix (harness/matrix.h), one child process per cell, and
 * keep the results in DIR/results.json (Google Benchmark's JSON schema plus our context).
 *
 * A run: calibration first (the calib/ family: the machine's floor, summarized into the context's
 * "iobench_calibration"), then every selected cell in an order shuffled from a recorded seed. A
 * cell runs as the benchmark binary (argument vector, no shell) in its own process group that dies
 * with us (iob_child_spawn), with an anchored --benchmark_filter selecting one benchmark, at one
 * placement. By default in interleaved rounds: round k runs repetition k of every cell, one child
 * each, in an order reshuffled every round; run_cell() renumbers the rows and, after the last
 * round, adds the aggregate rows Google Benchmark would have written. `--interleave cells` runs a
 * cell's repetitions in one child instead. A cell that crashes, times out (SIGTERM to its
 * group, SIGKILL after a grace period), fails or matches nothing becomes one error row, and the
 * run goes on.
 *
 * A run folder belongs to one process: a lock on DIR/.lock (lock_dir()) held for the run's life.
 * results.json is rewritten (temporary file, fsync, rename: iob_results_save) before the first
 * cell and after every child, with every cell's status (and, with rounds, its repetitions done) in
 * "iobench_cells": killing iobench at any moment leaves a valid file, and `iobench run --resume
 * DIR` checks that state (check_recorded_cells()) and runs what is still pending, in the recorded
 * order, with the recorded matrix and options. SIGINT/SIGTERM stop the running child, write the
 * file and exit 130.
 *
 * Shards: `--shard K/N` runs the cells whose index in the sorted (and --filter'ed) cell list is K
 * mod N; shards of one matrix record the same "iobench_matrix" and disjoint "iobench_cells", so
 * `iobench merge` can join them.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <regex.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "catalogue.h"
#include "cli.h"
#include "context.h"
#include "locate.h"
#include "matrix.h"
#include "plot.h"
#include "proc.h"
#include "quote.h"
#include "results.h"
#include "topo.h"

#define EXIT_INTERRUPTED 130
#define KILL_GRACE_S	 2.0		  /* SIGTERM, then SIGKILL after this long */
#define CALIB_TIMEOUT_S	 600.0		  /* the calibration child's limit */
#define DIR_MAX		 (PATH_MAX - 256) /* room for the run folder's file names */
#define ARG_MAX_LEN	 (PATH_MAX + 64)

struct run_opts {
	const char *filter;
	long repetitions; /* 0: the matrix's */
	double min_time;  /* 0: the matrix's */
	double timeout;	  /* 0: the matrix's */
	const char *out;
	const char *placement; /* NULL: the matrix's */
	long threads;
	const char *synthetic;
	const char *xml;
	const char *bench;
	const char *matrix;
	const char *resume;
	const char *order;
	const char *interleave; /* NULL: rounds */
	bool calibrate;
	bool random_order;
	bool plots;
	bool cells; /* list: the default matrix's cells */
	bool json;  /* list: the catalogue as JSON */
	bool seed_set;
	unsigned long long seed;
	bool shard_set;
	int shard_k, shard_n;
};

static const char run_usage[] =
	"usage: iobench run [options]\n"
	"Run a benchmark matrix, one child process per cell (a benchmark at a thread count and\n"
	"a placement), into DIR/results.json (Google Benchmark's JSON schema plus the run "
	"context:\n"
	"build, machine, placement, load, calibration figures, the matrix and every cell's "
	"status).\n"
	"\n"
	"  --matrix FILE        the matrix spec (JSON; default: the built-in matrix of every "
	"family;\n"
	"                       'iobench list --cells' shows its cells)\n"
	"  --filter REGEX       only cells whose benchmark name (family/impl/params/threads:N)\n"
	"                       matches (a leading '-' excludes instead)\n"
	"  --repetitions N      override the matrix's repetitions of each cell\n"
	"  --min-time S         override the matrix's minimum seconds per repetition\n"
	"  --timeout S          override the matrix's per-cell time limit\n"
	"  --placement P        override the matrix's placements: compact, spread, numa:N,\n"
	"                       list:A,B,...\n"
	"  --seed N             seed of the cells' random order (default: from the clock; "
	"recorded)\n"
	"  --order O            random (default) or sorted (the cells' sorted order)\n"
	"  --interleave M       rounds (default): repetition k of every cell, then k+1, one child\n"
	"                       per repetition, the order reshuffled every round; cells: all of a\n"
	"                       cell's repetitions back to back in one child\n"
	"  --shard K/N          run only shard K (0..N-1) of N: cells i with i mod N == K\n"
	"  --out DIR            output folder (default results/<UTC time>-<sha>); must not "
	"already\n"
	"                       hold a results.json\n"
	"  --resume RUN         finish an interrupted run (its folder, results.json or run name\n"
	"                       under results/): its pending cells, with its matrix, order and\n"
	"                       options\n"
	"  --threads N          size of the placement plan (default: every PU)\n"
	"  --synthetic S | --xml FILE\n"
	"                       plan on another topology: nothing is pinned, results marked "
	"simulated\n"
	"  --no-calibration     skip the calibration benchmarks\n"
	"  --no-plots           do not render DIR/plots/ at the end\n"
	"  --bench PATH         the benchmark binary (default: next to iobench, or "
	"$IOBENCH_BENCH)\n"
	"\n"
	"Exit status: 0 every cell ran, 1 some cell failed (crash, timeout, no match), 2 bad "
	"input,\n"
	"130 interrupted (resume with --resume DIR).\n";

static const char list_usage[] =
	"usage: iobench list [--filter REGEX] [--bench PATH]\n"
	"       iobench list --json [--bench PATH]\n"
	"       iobench list --cells | --matrix FILE [--filter REGEX] [--shard K/N] [--bench "
	"PATH]\n"
	"Print the registered benchmarks; or the catalogue (families, scenarios, implementations,\n"
	"parameters, thread counts, references, which benchmarks the gate counts) as JSON; or the\n"
	"cells a matrix expands to (the default one, derived from the catalogue, with --cells), "
	"one\n"
	"a line.\n";

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = sig;
}

/*
 * Run a cell's (or the calibration's) child: the benchmark binary in its own process group that
 * dies with us, stdout and stderr to @p log, stopped (SIGTERM, SIGKILL after KILL_GRACE_S) on
 * timeout or when we are interrupted.
 */
static void run_child(char *const argv[], const char *log, double timeout, struct iob_child_end *e)
{
	const struct iob_child_opts o = { .out = log,
					  .err = log,
					  .timeout = timeout,
					  .grace = KILL_GRACE_S,
					  .stop = &interrupted };

	iob_child_run(argv, &o, e);
}

/*
 * Load a child's raw JSON. Google Benchmark writes each finished benchmark as it goes; when the
 * child died mid-run the file ends inside the array, so close it after the last complete entry.
 */
static json_t *load_raw(const char *path)
{
	json_error_t jerr;
	json_t *j;
	char *text, *more, *cut;
	size_t size;

	j = json_load_file(path, 0, &jerr);
	if (j)
		return j;
	text = iob_read_file(path, &size);
	more = text ? realloc(text, size + 16) : NULL; /* room to close the array */
	if (!more) {
		free(text);
		return NULL;
	}
	text = more;
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
	return j;
}

/* A --filter: POSIX extended regex, a leading '-' negates. */
struct filter {
	bool set, negate;
	regex_t re;
};

static int filter_init(struct filter *f, const char *re)
{
	memset(f, 0, sizeof(*f));
	if (!re)
		return 0;
	f->negate = re[0] == '-';
	if (regcomp(&f->re, re + f->negate, REG_EXTENDED | REG_NOSUB))
		return -EINVAL;
	f->set = true;
	return 0;
}

static bool filter_match(const struct filter *f, const char *s)
{
	if (!f->set)
		return true;
	return (regexec(&f->re, s, 0, NULL, 0) == 0) != f->negate;
}

static void filter_fini(struct filter *f)
{
	if (f->set)
		regfree(&f->re);
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

/* Seconds in (0, @p max]. @return 0 or -EINVAL. */
static int parse_secs(const char *s, double max, double *out)
{
	return iob_parse_double(s, 0, max, out) || !(*out > 0) ? -EINVAL : 0;
}

static int parse_run_opts(int argc, char **argv, struct run_opts *o, bool list)
{
	enum {
		O_FILTER = 256,
		O_REPS,
		O_MINTIME,
		O_TIMEOUT,
		O_OUT,
		O_PLACEMENT,
		O_THREADS,
		O_SYNTH,
		O_XML,
		O_BENCH,
		O_NOCALIB,
		O_NOPLOTS,
		O_ORDER,
		O_MATRIX,
		O_CELLS,
		O_SEED,
		O_SHARD,
		O_RESUME,
		O_INTERLEAVE,
		O_JSON,
		O_HELP
	};
	static const struct option opts[] = {
		{ "filter", required_argument, NULL, O_FILTER },
		{ "repetitions", required_argument, NULL, O_REPS },
		{ "min-time", required_argument, NULL, O_MINTIME },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "out", required_argument, NULL, O_OUT },
		{ "placement", required_argument, NULL, O_PLACEMENT },
		{ "threads", required_argument, NULL, O_THREADS },
		{ "synthetic", required_argument, NULL, O_SYNTH },
		{ "xml", required_argument, NULL, O_XML },
		{ "bench", required_argument, NULL, O_BENCH },
		{ "no-calibration", no_argument, NULL, O_NOCALIB },
		{ "no-plots", no_argument, NULL, O_NOPLOTS },
		{ "order", required_argument, NULL, O_ORDER },
		{ "matrix", required_argument, NULL, O_MATRIX },
		{ "cells", no_argument, NULL, O_CELLS },
		{ "seed", required_argument, NULL, O_SEED },
		{ "shard", required_argument, NULL, O_SHARD },
		{ "resume", required_argument, NULL, O_RESUME },
		{ "interleave", required_argument, NULL, O_INTERLEAVE },
		{ "json", no_argument, NULL, O_JSON },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd = list ? "list" : "run";
	struct filter f;
	char *end;
	int c;

	*o = (struct run_opts){ .calibrate = true, .random_order = true, .plots = true };
	iob_opt_begin();
	while ((c = iob_opt_next(cmd, argc, argv, NULL, opts)) != -1) {
		bool list_ok = c == O_FILTER || c == O_BENCH || c == O_HELP || c == O_MATRIX ||
			       c == O_CELLS || c == O_SHARD || c == O_JSON || c == IOB_OPT_ERROR;

		if ((list && !list_ok) || (!list && (c == O_CELLS || c == O_JSON))) {
			char shown[256];

			return iob_usage_error(cmd, "option '%s' is for iobench %s",
					       iob_escape(shown, sizeof(shown), argv[optind - 1]),
					       list ? "run" : "list");
		}
		switch (c) {
		case O_FILTER:
			o->filter = optarg;
			if (filter_init(&f, optarg)) {
				char shown[256];

				return iob_usage_error(
					cmd, "--filter '%s' is not a valid regular expression",
					iob_escape(shown, sizeof(shown), optarg));
			}
			filter_fini(&f);
			break;
		case O_REPS:
			if (iob_parse_long(optarg, 1, 1000, &o->repetitions))
				return iob_bad_value(cmd, "--repetitions", "1..1000", optarg);
			break;
		case O_MINTIME:
			if (parse_secs(optarg, 3600, &o->min_time))
				return iob_bad_value(cmd, "--min-time", "seconds in (0, 3600]",
						     optarg);
			break;
		case O_TIMEOUT:
			if (parse_secs(optarg, 86400, &o->timeout))
				return iob_bad_value(cmd, "--timeout", "seconds in (0, 86400]",
						     optarg);
			break;
		case O_OUT:
			o->out = optarg;
			break;
		case O_PLACEMENT:
			o->placement = optarg;
			break;
		case O_THREADS:
			if (iob_parse_long(optarg, 1, 4096, &o->threads))
				return iob_bad_value(cmd, "--threads", "1..4096", optarg);
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
		case O_NOPLOTS:
			o->plots = false;
			break;
		case O_ORDER:
			if (strcmp(optarg, "random") && strcmp(optarg, "sorted"))
				return iob_bad_value(cmd, "--order", "random or sorted", optarg);
			o->order = optarg;
			o->random_order = strcmp(optarg, "random") == 0;
			break;
		case O_MATRIX:
			o->matrix = optarg;
			break;
		case O_CELLS:
			o->cells = true;
			break;
		case O_JSON:
			o->json = true;
			break;
		case O_SEED:
			errno = 0;
			o->seed = strtoull(optarg, &end, 10);
			if (errno || *end || !*optarg || *optarg == '-' ||
			    o->seed > (unsigned long long)INT64_MAX)
				return iob_bad_value(cmd, "--seed", "a whole number 0..2^63-1",
						     optarg);
			o->seed_set = true;
			break;
		case O_SHARD:
			if (iob_shard_parse(optarg, &o->shard_k, &o->shard_n))
				return iob_bad_value(cmd, "--shard",
						     "K/N with 0 <= K < N (e.g. 0/4)", optarg);
			o->shard_set = true;
			break;
		case O_RESUME:
			o->resume = optarg;
			break;
		case O_INTERLEAVE:
			if (strcmp(optarg, "rounds") && strcmp(optarg, "cells"))
				return iob_bad_value(cmd, "--interleave", "rounds or cells",
						     optarg);
			o->interleave = optarg;
			break;
		case O_HELP:
			return iob_print_usage(list ? list_usage : run_usage) == IOB_EXIT_OK
				       ? -1
				       : IOB_EXIT_FAIL;
		default:
			return IOB_EXIT_USAGE;
		}
	}
	if (optind < argc)
		return iob_unexpected_arg(cmd, argv[optind]);
	if (o->synthetic && o->xml)
		return iob_usage_error(cmd, "--synthetic and --xml exclude each other");
	if (o->cells && o->matrix)
		return iob_usage_error(cmd, "--cells lists the built-in matrix; --matrix FILE "
					    "another: give one");
	if (o->resume) {
		const char *clash = o->matrix	      ? "--matrix"
				    : o->filter	      ? "--filter"
				    : o->shard_set    ? "--shard"
				    : o->seed_set     ? "--seed"
				    : o->repetitions  ? "--repetitions"
				    : o->min_time > 0 ? "--min-time"
				    : o->timeout > 0  ? "--timeout"
				    : o->placement    ? "--placement"
				    : o->threads      ? "--threads"
				    : o->synthetic    ? "--synthetic"
				    : o->xml	      ? "--xml"
				    : o->out	      ? "--out"
				    : o->order	      ? "--order"
				    : o->interleave   ? "--interleave"
				    : !o->calibrate   ? "--no-calibration"
						      : NULL;

		if (clash)
			return iob_usage_error(cmd,
					       "--resume continues a run with the settings it "
					       "recorded; %s cannot change them",
					       clash);
	}
	return 0;
}

/* --- the matrix and its cells --- */

/* The catalogue of the benchmark binary (--bench or the one found). @return 0 or an exit status. */
static int load_catalogue(const struct run_opts *o, struct iob_catalogue **cat)
{
	char bench[PATH_MAX], err[1024];
	int rc;

	if (iob_locate_bench(o->bench, bench, sizeof(bench)))
		return IOB_EXIT_USAGE;
	rc = iob_catalogue_load(bench, cat, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "iobench: %s\n", rc == -ENOMEM ? "out of memory" : err);
		return rc == -ENOMEM ? IOB_EXIT_FAIL : IOB_EXIT_USAGE;
	}
	return 0;
}

/* The matrix: --matrix FILE or the default one from the catalogue, with the command line's
 * overrides. */
static int load_matrix(const struct run_opts *o, struct iob_matrix **m)
{
	struct iob_catalogue *cat;
	char err[768];
	int rc;

	if (o->matrix) {
		rc = iob_matrix_load(o->matrix, m, err, sizeof(err));
		if (rc) {
			fprintf(stderr, "iobench: %s\n", err);
			return IOB_EXIT_USAGE;
		}
	} else {
		rc = load_catalogue(o, &cat);
		if (rc)
			return rc;
		rc = iob_matrix_default(cat, m, err, sizeof(err));
		iob_catalogue_free(cat);
		if (rc) {
			fprintf(stderr, "iobench: the catalogue's default matrix: %s\n",
				rc == -ENOMEM ? "out of memory" : err);
			return rc == -ENOMEM ? IOB_EXIT_FAIL : IOB_EXIT_USAGE;
		}
	}
	if (iob_matrix_override(*m, (int)o->repetitions, o->min_time, o->timeout, o->placement)) {
		fprintf(stderr, "iobench: out of memory\n");
		iob_matrix_free(*m);
		return IOB_EXIT_FAIL;
	}
	return 0;
}

/*
 * The selected cells: expand, keep those --filter matches, then shard K of N by index in that
 * sorted list. @p sel receives indexes into *cells. @return 0 or an exit status.
 */
static int select_cells(const struct iob_matrix *m, const struct run_opts *o,
			struct iob_cell **cells, size_t *ncells, size_t **sel, size_t *nsel)
{
	struct filter f;
	char err[512];
	size_t kept = 0;
	int rc = iob_matrix_expand(m, cells, ncells, err, sizeof(err));

	if (rc) {
		fprintf(stderr, "iobench: %s: %s\n", o->matrix ? o->matrix : "built-in matrix",
			rc == -ENOMEM ? "out of memory" : err);
		return rc == -ENOMEM ? IOB_EXIT_FAIL : IOB_EXIT_USAGE;
	}
	*sel = calloc(*ncells + 1, sizeof(**sel));
	if (!*sel || filter_init(&f, o->filter)) {
		fprintf(stderr, "iobench: out of memory\n");
		return IOB_EXIT_FAIL;
	}
	*nsel = 0;
	for (size_t i = 0; i < *ncells; i++) {
		if (!filter_match(&f, (*cells)[i].bench))
			continue;
		if (!o->shard_set || iob_cell_in_shard(kept, o->shard_k, o->shard_n))
			(*sel)[(*nsel)++] = i;
		kept++;
	}
	filter_fini(&f);
	return 0;
}

static int list_cells(const struct run_opts *o)
{
	struct iob_matrix *m;
	struct iob_cell *cells = NULL;
	size_t ncells = 0, *sel = NULL, nsel = 0;
	int rc = load_matrix(o, &m);

	if (rc)
		return rc;
	rc = select_cells(m, o, &cells, &ncells, &sel, &nsel);
	for (size_t i = 0; !rc && i < nsel; i++)
		printf("%s\n", cells[sel[i]].id);
	free(sel);
	iob_cells_free(cells, ncells);
	iob_matrix_free(m);
	return rc;
}

int iob_cmd_list(int argc, char **argv)
{
	struct run_opts o;
	char bench[PATH_MAX], filter[PATH_MAX];
	char *cargv[4];
	int rc = parse_run_opts(argc, argv, &o, true);

	if (rc)
		return rc < 0 ? IOB_EXIT_OK : rc;
	if (o.json) {
		struct iob_catalogue *cat;
		char *text;

		if (o.cells || o.matrix || o.filter || o.shard_set)
			return iob_usage_error("list",
					       "--json prints the whole catalogue: it takes "
					       "only --bench");
		rc = load_catalogue(&o, &cat);
		if (rc)
			return rc;
		text = json_dumps(iob_catalogue_json(cat), JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		iob_catalogue_free(cat);
		if (!text) {
			fprintf(stderr, "iobench: out of memory\n");
			return IOB_EXIT_FAIL;
		}
		puts(text);
		free(text);
		return fflush(stdout) ? IOB_EXIT_FAIL : IOB_EXIT_OK;
	}
	if (o.cells || o.matrix)
		return list_cells(&o);
	if (o.shard_set)
		return iob_usage_error("list", "--shard needs --cells or --matrix FILE");
	if (iob_locate_bench(o.bench, bench, sizeof(bench)))
		return IOB_EXIT_USAGE;
	snprintf(filter, sizeof(filter), "--benchmark_filter=%s", o.filter ? o.filter : ".");
	cargv[0] = bench;
	cargv[1] = (char *)"--iobench_list";
	cargv[2] = filter;
	cargv[3] = NULL;
	rc = iob_spawn_wait(cargv, NULL, NULL);
	if (rc) {
		fprintf(stderr, "iobench: listing benchmarks failed (status %d)\n", rc);
		return IOB_EXIT_FAIL;
	}
	return IOB_EXIT_OK;
}

/* --- a run --- */

/* What the benchmark binary needs besides the cell; recorded as "iobench_run_options". */
struct bench_opts {
	long threads;
	char *synthetic, *xml;
	bool calibrate;
};

struct run {
	char bench[PATH_MAX];
	char dir[DIR_MAX];
	char path[PATH_MAX]; /* DIR/results.json */
	struct bench_opts bo;
	json_t *root, *ctx, *rows, *cells_json;
	struct iob_cell *cells; /* the matrix's, sorted */
	size_t ncells;
	size_t *order; /* indexes into cells, in run order (= cells_json's order) */
	size_t norder;
	struct iob_sysstat before;
	size_t finished; /* cells done or error */
	size_t units;	 /* child runs in all: cells x repetitions with rounds, else cells */
	size_t units_done;
	size_t ran; /* child runs by this process */
	double ran_secs;
	bool rounds; /* "iobench_interleave": "rounds" (else "cells") */
	bool random_order;
	unsigned long long seed;
	bool tty;
	bool failed;
	bool resuming;
	int lock_fd; /* DIR/.lock, held (F_SETLK) for the run's life; -1 before */
};

static void shuffle(size_t *v, size_t n, unsigned long long seed)
{
	uint64_t s = seed;

	for (size_t i = n; i > 1; i--) {
		/* splitmix64 */
		uint64_t z = (s += 0x9e3779b97f4a7c15ull);

		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		z ^= z >> 31;
		size_t j = (size_t)(z % i), t = v[i - 1];

		v[i - 1] = v[j];
		v[j] = t;
	}
}

/* Check every placement against the topology now, not once per failing cell. */
static int check_placements(const struct iob_matrix *m, const struct bench_opts *bo)
{
	size_t n;
	const char *const *pl = iob_matrix_placements(m, &n);
	struct iob_topo *t;
	char err[256];
	int rc;

	rc = iob_topo_load(bo->synthetic ? IOB_TOPO_SYNTHETIC
			   : bo->xml	 ? IOB_TOPO_XML
					 : IOB_TOPO_SYSTEM,
			   bo->synthetic ? bo->synthetic : bo->xml, &t, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "iobench: %s\n", err);
		return IOB_EXIT_USAGE;
	}
	for (size_t i = 0; i < n; i++) {
		struct iob_plan *plan;
		int nt = bo->threads ? (int)bo->threads : iob_topo_npus(t);

		rc = iob_topo_plan(t, pl[i], nt, true, &plan, err, sizeof(err));
		if (rc) {
			fprintf(stderr, "iobench: placement '%s': %s\n", pl[i], err);
			iob_topo_destroy(t);
			return IOB_EXIT_USAGE;
		}
		iob_plan_destroy(plan);
	}
	iob_topo_destroy(t);
	return 0;
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

/* Take a child's context: keys we lack (Google Benchmark's, the topology), and its plan. */
static void absorb_context(struct run *r, json_t *raw, const char *placement)
{
	json_t *ctx = json_object_get(raw, "context"), *v, *plans, *plan;
	const char *key;

	if (!json_is_object(ctx))
		return;
	normalize_context(ctx);
	json_object_foreach(ctx, key, v)
	{
		if (!json_object_get(r->ctx, key))
			json_object_set(r->ctx, key, v);
	}
	plan = json_object_get(json_object_get(ctx, "iobench_topology"), "plan");
	plans = json_object_get(r->ctx, "iobench_plans");
	if (plan && placement && json_is_object(plans) && !json_object_get(plans, placement))
		json_object_set(plans, placement, plan);
}

static int save(struct run *r)
{
	struct iob_sysstat now;
	char note[1024] = "";
	size_t nerr = 0, i;
	json_t *c;
	int err;

	iob_sysstat_read(&now);
	json_array_foreach(r->cells_json, i, c)
	{
		const char *st = json_string_value(json_object_get(c, "status"));

		if (st && strcmp(st, "error") == 0) {
			size_t used = strlen(note);

			if (nerr++ < 4 && used + 8 < sizeof(note))
				snprintf(note + used, sizeof(note) - used, "%s%s: %s",
					 used ? "; " : "",
					 json_string_value(json_object_get(c, "id")),
					 json_string_value(json_object_get(c, "message")));
		}
	}
	if (nerr) {
		char full[1200];

		snprintf(full, sizeof(full), "%zu cell%s failed: %s%s", nerr, nerr == 1 ? "" : "s",
			 note, nerr > 4 ? "; ..." : "");
		json_object_set_new(r->ctx, "iobench_incomplete", json_string(full));
	} else {
		json_object_del(r->ctx, "iobench_incomplete");
	}
	if (iob_context_add_load(r->ctx, &r->before, &now)) {
		fprintf(stderr, "iobench: out of memory\n");
		return -ENOMEM;
	}
	err = iob_results_save(r->path, r->root);
	if (err)
		fprintf(stderr, "iobench: cannot write %s: %s\n", r->path, strerror(-err));
	return err;
}

/* Common arguments of the benchmark binary; @return how many were added to argv. */
static int bench_args(const struct run *r, const char *placement, char *argv[],
		      char bufs[][ARG_MAX_LEN])
{
	int n = 0;

	snprintf(bufs[0], ARG_MAX_LEN, "--iobench_placement=%s", placement);
	argv[n++] = bufs[0];
	if (r->bo.threads) {
		snprintf(bufs[1], ARG_MAX_LEN, "--iobench_threads=%ld", r->bo.threads);
		argv[n++] = bufs[1];
	}
	if (r->bo.synthetic || r->bo.xml) {
		snprintf(bufs[2], ARG_MAX_LEN, "--iobench_%s=%s",
			 r->bo.synthetic ? "synthetic" : "xml",
			 r->bo.synthetic ? r->bo.synthetic : r->bo.xml);
		argv[n++] = bufs[2];
	}
	return n;
}

static void describe_end(const struct iob_child_end *e, double timeout, char *msg, size_t len)
{
	if (e->start_err)
		snprintf(msg, len, "cell failed: cannot start: %s", strerror(-e->start_err));
	else if (e->timed_out)
		snprintf(msg, len, "cell timed out after %g s", timeout);
	else if (e->sig)
		snprintf(msg, len, "cell crashed: killed by signal %d (%s)", e->sig,
			 strsignal(e->sig));
	else if (e->status)
		snprintf(msg, len, "cell failed: exit status %d", e->status);
	else
		msg[0] = '\0';
}

/* Calibration: calib/ rows, "iobench_calibration". @return 0, or an exit status. */
static int calibrate(struct run *r)
{
	char bufs[8][ARG_MAX_LEN], raw[PATH_MAX], log[PATH_MAX], msg[256];
	char *argv[16];
	/* The first suite's first placement: the one most cells use. */
	const json_t *suite0 = json_array_get(
		json_object_get(json_object_get(r->ctx, "iobench_matrix"), "suites"), 0);
	const char *placement =
		json_string_value(json_array_get(json_object_get(suite0, "placements"), 0));
	struct iob_child_end e;
	json_t *j, *row, *cal;
	size_t i;
	int n = 0;

	if (!placement)
		placement = "compact";
	snprintf(raw, sizeof(raw), "%s/raw/calibration.json", r->dir);
	snprintf(log, sizeof(log), "%s/raw/calibration.log", r->dir);
	argv[n++] = r->bench;
	n += bench_args(r, placement, argv + n, bufs);
	snprintf(bufs[3], ARG_MAX_LEN, "--benchmark_out=%s", raw);
	argv[n++] = (char *)"--benchmark_filter=^calib/";
	argv[n++] = (char *)"--benchmark_repetitions=3";
	argv[n++] = (char *)"--benchmark_min_time=0.05";
	argv[n++] = bufs[3];
	argv[n++] = (char *)"--benchmark_out_format=json";
	argv[n] = NULL;
	unlink(raw);
	if (r->tty)
		fprintf(stderr, "\r\033[Kiobench: calibration (calib/*)");
	else
		fprintf(stderr, "iobench: calibration (calib/*)\n");
	run_child(argv, log, CALIB_TIMEOUT_S, &e);
	if (r->tty)
		fprintf(stderr, "\r\033[K");
	if (e.stopped)
		return EXIT_INTERRUPTED;
	describe_end(&e, CALIB_TIMEOUT_S, msg, sizeof(msg));
	if (e.status == 2 || e.status == 127) {
		fprintf(stderr, "iobench: calibration: %s (see %s)\n", msg, log);
		return e.status == 2 ? IOB_EXIT_USAGE : IOB_EXIT_FAIL;
	}
	j = load_raw(raw);
	if (*msg || !j) {
		fprintf(stderr, "iobench: calibration: %s (see %s)\n", *msg ? msg : "no results",
			log);
		r->failed = true;
		json_object_set_new(r->ctx, "iobench_calibration_error",
				    json_string(*msg ? msg : "no results"));
	}
	if (j) {
		absorb_context(r, j, placement);
		json_array_foreach(json_object_get(j, "benchmarks"), i, row)
			json_array_append(r->rows, row);
		cal = iob_calibration_from_rows(json_object_get(j, "benchmarks"));
		json_object_set_new(r->ctx, "iobench_calibration", cal ? cal : json_null());
		json_decref(j);
	}
	if (!*msg && j) {
		unlink(raw);
		unlink(log);
	}
	return save(r) ? IOB_EXIT_FAIL : 0;
}

/* The contract's error row of a cell that produced no results. */
static json_t *error_row(const struct iob_cell *c, const char *msg)
{
	return json_pack("{s:s, s:s, s:s, s:i, s:i, s:i, s:i, s:i, s:i, s:s, s:b, s:s, s:s, s:s}",
			 "name", c->id, "run_name", c->id, "run_type", "iteration", "repetitions",
			 c->repetitions, "repetition_index", 0, "threads", c->threads, "iterations",
			 0, "real_time", 0, "cpu_time", 0, "time_unit", "ns", "error_occurred", 1,
			 "error_message", msg, "iobench_cell", c->id, "iobench_placement",
			 c->placement);
}

/* Tag a cell's row: the cell, the placement, and "/placement:P" on names unless compact. */
static void tag_row(json_t *row, const struct iob_cell *c)
{
	if (strcmp(c->placement, "compact") != 0) {
		static const char *const keys[] = { "name", "run_name" };

		for (size_t k = 0; k < 2; k++) {
			const char *v = json_string_value(json_object_get(row, keys[k]));
			char buf[1024];

			if (!v)
				continue;
			snprintf(buf, sizeof(buf), "%s/placement:%s", v, c->placement);
			json_object_set_new(row, keys[k], json_string(buf));
		}
	}
	json_object_set_new(row, "iobench_cell", json_string(c->id));
	json_object_set_new(row, "iobench_placement", json_string(c->placement));
}

static void fmt_secs(double s, char *buf, size_t len)
{
	if (s < 60)
		snprintf(buf, len, "%.0fs", s);
	else if (s < 3600)
		snprintf(buf, len, "%dm%02ds", (int)s / 60, (int)s % 60);
	else
		snprintf(buf, len, "%dh%02dm", (int)s / 3600, (int)s % 3600 / 60);
}

#define BAR_WIDTH 24

static void progress_start(const struct run *r, const struct iob_cell *c)
{
	char eta[32] = "?", bar[BAR_WIDTH + 1];
	size_t fill = r->units ? r->units_done * BAR_WIDTH / r->units : 0;

	if (!r->tty)
		return;
	if (r->ran)
		fmt_secs(r->ran_secs / (double)r->ran * (double)(r->units - r->units_done), eta,
			 sizeof(eta));
	for (size_t i = 0; i < BAR_WIDTH; i++)
		bar[i] = i < fill ? '=' : i == fill ? '>' : ' ';
	bar[BAR_WIDTH] = '\0';
	fprintf(stderr, "\r\033[K[%s] %zu/%zu ETA %s  %s", bar, r->units_done, r->units, eta,
		c->id);
}

static void progress_end(const struct run *r, const struct iob_cell *c, int rnd, const char *msg,
			 double secs, const char *log)
{
	char rep[48] = "";

	if (r->tty && !*msg)
		return;
	if (r->tty)
		fprintf(stderr, "\r\033[K");
	if (rnd >= 0)
		snprintf(rep, sizeof(rep), " (repetition %d/%d)", rnd + 1, c->repetitions);
	if (*msg)
		fprintf(stderr, "[%zu/%zu] %s%s error: %s (%.1f s; output in %s)\n", r->units_done,
			r->units, c->id, rep, msg, secs, log);
	else
		fprintf(stderr, "[%zu/%zu] %s%s ok %.1f s\n", r->units_done, r->units, c->id, rep,
			secs);
}

/* Where cell @p id's rows end in r->rows (one past its last row; the array's size if it has
 * none), and how many it has in *@p count. */
static size_t cell_rows_end(const struct run *r, const char *id, size_t *count)
{
	size_t i, end = json_array_size(r->rows);
	json_t *row;

	*count = 0;
	json_array_foreach(r->rows, i, row)
	{
		const char *cell = json_string_value(json_object_get(row, "iobench_cell"));

		if (cell && strcmp(cell, id) == 0) {
			(*count)++;
			end = i + 1;
		}
	}
	return end;
}

static void remove_cell_rows(struct run *r, const char *id)
{
	for (size_t i = json_array_size(r->rows); i-- > 0;) {
		const char *cell = json_string_value(
			json_object_get(json_array_get(r->rows, i), "iobench_cell"));

		if (cell && strcmp(cell, id) == 0)
			json_array_remove(r->rows, i);
	}
}

/* Google Benchmark's statistics (benchmark/src/statistics.cc): mean, median (the mean of the
 * middle two for an even count, iob_median(), which sorts @p v), sample standard deviation,
 * cv = stddev / mean. */
static double statistic(int which, double *v, size_t n)
{
	double sum = 0, mean, ss = 0;

	for (size_t i = 0; i < n; i++)
		sum += v[i];
	mean = sum / (double)n;
	if (which == 0)
		return mean;
	if (which == 1)
		return iob_median(v, n);
	for (size_t i = 0; i < n; i++)
		ss += (v[i] - mean) * (v[i] - mean);
	ss = n > 1 ? sqrt(ss / (double)(n - 1)) : 0;
	if (which == 2)
		return ss;
	return mean != 0 ? ss / mean : 0;
}

/* Keys of Google Benchmark's rows that are not user counters. */
static bool standard_key(const char *k)
{
	static const char *const keys[] = { "family_index", "per_family_instance_index",
					    "repetitions",  "repetition_index",
					    "threads",	    "iterations",
					    "real_time",    "cpu_time" };

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(k, keys[i]) == 0)
			return true;
	return false;
}

/*
 * The aggregate rows (mean, median, stddev, cv) Google Benchmark writes after a benchmark's
 * repetitions, for a cell whose repetitions ran one per child (and so got none): the same keys in
 * the same order, computed the same way over the rows that did not fail, inserted at @p pos.
 * Like Google Benchmark: none with fewer than 2 such rows; "iterations" is the number of
 * repetitions; counters are aggregated as they are, not rescaled. One difference: every child
 * sizes its own iteration count, so the repetitions' counts may differ, and the time statistics
 * are over per-iteration times (Google Benchmark's are over totals, equal when counts match).
 * @return 0 or -ENOMEM.
 */
static int add_aggregates(struct run *r, const struct iob_cell *c, size_t pos)
{
	static const char *const names[] = { "mean", "median", "stddev", "cv" };
	size_t nall = 0, nok = 0, i, base_len;
	json_t **ok, *row, *first, *v;
	double *vals;
	const char *run_name, *key;
	char base[1024], name[1100], suffix[256];
	int rc = -ENOMEM;

	ok = calloc(json_array_size(r->rows) + 1, sizeof(*ok));
	vals = calloc(json_array_size(r->rows) + 1, sizeof(*vals));
	if (!ok || !vals)
		goto out;
	json_array_foreach(r->rows, i, row)
	{
		const char *cell = json_string_value(json_object_get(row, "iobench_cell"));
		const char *type = json_string_value(json_object_get(row, "run_type"));

		if (!cell || strcmp(cell, c->id) || !type || strcmp(type, "iteration"))
			continue;
		nall++;
		if (!json_is_true(json_object_get(row, "error_occurred")))
			ok[nok++] = row;
	}
	rc = 0;
	if (nok < 2)
		goto out;
	first = ok[0];
	/* The name before tag_row() added "/placement:P": the aggregate's name goes before it. */
	run_name = json_string_value(json_object_get(first, "run_name"));
	snprintf(base, sizeof(base), "%s", run_name ? run_name : c->bench);
	snprintf(suffix, sizeof(suffix), "/placement:%s", c->placement);
	base_len = strlen(base);
	if (strcmp(c->placement, "compact") != 0 && base_len > strlen(suffix) &&
	    strcmp(base + base_len - strlen(suffix), suffix) == 0)
		base[base_len - strlen(suffix)] = '\0';
	for (int k = 0; k < 4; k++) {
		json_t *a = json_object();

		rc = -ENOMEM;
		if (!a)
			goto out;
		snprintf(name, sizeof(name), "%s_%s", base, names[k]);
		json_object_set_new(a, "name", json_string(name));
		if ((v = json_object_get(first, "family_index")))
			json_object_set(a, "family_index", v);
		if ((v = json_object_get(first, "per_family_instance_index")))
			json_object_set(a, "per_family_instance_index", v);
		json_object_set_new(a, "run_name", json_string(base));
		json_object_set_new(a, "run_type", json_string("aggregate"));
		json_object_set_new(a, "repetitions", json_integer(c->repetitions));
		json_object_set(a, "threads", json_object_get(first, "threads"));
		json_object_set_new(a, "aggregate_name", json_string(names[k]));
		json_object_set_new(a, "aggregate_unit",
				    json_string(k == 3 ? "percentage" : "time"));
		json_object_set_new(a, "iterations", json_integer((json_int_t)nall));
		json_object_foreach(first, key, v)
		{
			size_t n = 0;
			bool timing = strcmp(key, "real_time") == 0 || strcmp(key, "cpu_time") == 0;

			if (!json_is_number(v) || (!timing && standard_key(key)))
				continue;
			for (i = 0; i < nok; i++) {
				json_t *x = json_object_get(ok[i], key);

				if (json_is_number(x))
					vals[n++] = json_number_value(x);
			}
			json_object_set_new(a, key, json_real(statistic(k, vals, n)));
			if (strcmp(key, "cpu_time") == 0)
				json_object_set(a, "time_unit",
						json_object_get(first, "time_unit"));
		}
		if ((v = json_object_get(first, "label")))
			json_object_set(a, "label", v);
		tag_row(a, c);
		if (json_array_insert_new(r->rows, pos++, a))
			goto out;
	}
	rc = 0;
out:
	free(ok);
	free(vals);
	return rc;
}

/*
 * Run cell @p index (entry @p cj of iobench_cells): with @p rnd < 0 all its repetitions in one
 * child; else repetition @p rnd alone, its rows inserted after the cell's earlier ones and,
 * after the last, the aggregate rows. A failure replaces the cell's rows by one error row.
 * @return 0, EXIT_INTERRUPTED, or -errno.
 */
static int run_cell(struct run *r, size_t index, json_t *cj, int rnd)
{
	const struct iob_cell *c = &r->cells[index];
	char bufs[10][ARG_MAX_LEN], raw[PATH_MAX], log[PATH_MAX], msg[256];
	char *argv[20];
	struct iob_child_end e;
	json_t *j = NULL, *rows, *row, *err_row;
	const char *first_err = NULL;
	size_t i, nrows, pos, have;
	double secs;
	bool last = rnd < 0 || rnd + 1 >= c->repetitions;
	int n = 0, rc;

	snprintf(raw, sizeof(raw), "%s/raw/cell-%zu.json", r->dir, index);
	snprintf(log, sizeof(log), "%s/raw/cell-%zu.log", r->dir, index);
	argv[n++] = r->bench;
	n += bench_args(r, c->placement, argv + n, bufs);
	snprintf(bufs[3], ARG_MAX_LEN, "--iobench_latency_dir=%s/latency", r->dir);
	snprintf(bufs[4], ARG_MAX_LEN, "--benchmark_filter=%s", c->filter);
	snprintf(bufs[5], ARG_MAX_LEN, "--benchmark_repetitions=%d", rnd < 0 ? c->repetitions : 1);
	snprintf(bufs[6], ARG_MAX_LEN, "--benchmark_min_time=%g", c->min_time);
	snprintf(bufs[7], ARG_MAX_LEN, "--benchmark_min_warmup_time=%g", c->warmup);
	snprintf(bufs[8], ARG_MAX_LEN, "--benchmark_out=%s", raw);
	for (int k = 3; k <= 8; k++)
		argv[n++] = bufs[k];
	argv[n++] = (char *)"--benchmark_out_format=json";
	argv[n] = NULL;

	unlink(raw);
	progress_start(r, c);
	run_child(argv, log, c->timeout, &e);
	if (e.stopped) { /* the cell stays pending, its finished repetitions kept */
		if (r->tty)
			fprintf(stderr, "\r\033[K");
		return EXIT_INTERRUPTED;
	}
	describe_end(&e, c->timeout, msg, sizeof(msg));
	if (!*msg)
		j = load_raw(raw);
	rows = json_object_get(j, "benchmarks");
	nrows = json_array_size(rows);
	if (!*msg && nrows == 0)
		snprintf(msg, sizeof(msg), "no benchmark matches this cell");
	secs = json_number_value(json_object_get(cj, "seconds")) + e.seconds;
	r->ran++;
	r->ran_secs += e.seconds;
	if (*msg) {
		remove_cell_rows(r, c->id); /* earlier rounds' rows: the cell is one error row */
		err_row = error_row(c, msg);
		if (!err_row || json_array_append_new(r->rows, err_row))
			return -ENOMEM;
		r->failed = true;
		r->units_done += rnd < 0 ? 1 : (size_t)(c->repetitions - rnd);
	} else {
		absorb_context(r, j, c->placement);
		pos = cell_rows_end(r, c->id, &have);
		json_array_foreach(rows, i, row)
		{
			tag_row(row, c);
			if (rnd >= 0) {
				json_object_set_new(row, "repetitions",
						    json_integer(c->repetitions));
				json_object_set_new(row, "repetition_index", json_integer(rnd));
			}
			if (json_array_insert(r->rows, pos++, row))
				return -ENOMEM;
			if (!first_err && json_is_true(json_object_get(row, "error_occurred")))
				first_err =
					json_string_value(json_object_get(row, "error_message"));
		}
		if (rnd >= 0) {
			json_object_set_new(cj, "repetitions_done", json_integer(rnd + 1));
			if (last && (rc = add_aggregates(r, c, pos)))
				return rc;
		}
		r->units_done++;
	}
	if (*msg || last) {
		r->finished++;
		json_object_set_new(cj, "status", json_string(*msg ? "error" : "done"));
	}
	json_object_set_new(cj, "seconds", json_real(round(secs * 1000) / 1000));
	if (*msg || (first_err && !json_object_get(cj, "message")))
		json_object_set_new(cj, "message", json_string(*msg ? msg : first_err));
	json_decref(j);
	if (save(r))
		return -EIO;
	if (!*msg) {
		unlink(raw);
		unlink(log);
	}
	progress_end(r, c, rnd, msg, e.seconds, log);
	return 0;
}

/* Round @p k's order: the recorded order (round 0), reshuffled from the seed every round after. */
static void round_order(const struct run *r, size_t k, size_t *perm)
{
	for (size_t i = 0; i < r->norder; i++)
		perm[i] = i;
	if (k > 0 && r->random_order)
		shuffle(perm, r->norder, r->seed ^ (0xd1b54a32d192ed03ull * k));
}

/*
 * Interleaved rounds: round k runs repetition k of every cell that has one, in round k's order.
 * A cell's "repetitions_done" says which round it is in, so a resumed run picks up in the round
 * where it stopped, in that round's order. @return 0, EXIT_INTERRUPTED, or -errno.
 */
static int run_rounds(struct run *r)
{
	size_t *perm = calloc(r->norder + 1, sizeof(*perm));
	int rounds = 0, rc = 0;

	if (!perm)
		return -ENOMEM;
	for (size_t i = 0; i < r->norder; i++)
		if (r->cells[r->order[i]].repetitions > rounds)
			rounds = r->cells[r->order[i]].repetitions;
	for (int k = 0; k < rounds && !rc && !interrupted; k++) {
		round_order(r, (size_t)k, perm);
		for (size_t p = 0; p < r->norder && !rc && !interrupted; p++) {
			json_t *cj = json_array_get(r->cells_json, perm[p]);
			const char *st = json_string_value(json_object_get(cj, "status"));

			if (strcmp(st, "pending") != 0 ||
			    json_integer_value(json_object_get(cj, "repetitions_done")) != k)
				continue;
			rc = run_cell(r, r->order[perm[p]], cj, k);
		}
	}
	free(perm);
	return rc;
}

static json_t *run_options_json(const struct bench_opts *bo)
{
	return json_pack("{s:o, s:o, s:o, s:b}", "threads",
			 bo->threads ? json_integer(bo->threads) : json_null(), "synthetic",
			 bo->synthetic ? json_string(bo->synthetic) : json_null(), "xml",
			 bo->xml ? json_string(bo->xml) : json_null(), "calibrate", bo->calibrate);
}

/*
 * One process per run folder: a write lock (fcntl F_SETLK) on DIR/.lock, held until we exit. The
 * kernel drops it when we die, even by SIGKILL, so a killed run never blocks --resume; a child
 * cannot inherit it (record locks belong to the process; the descriptor is also O_CLOEXEC).
 * F_GETLK names the holder's pid atomically, so the loser of a race never reads a lock file the
 * winner has not written yet; the file adds the holder's start time and command for people.
 * @return 0, or IOB_EXIT_USAGE (held by another process, or not a folder we can lock in).
 */
static int lock_dir(struct run *r, int argc, char **argv)
{
	char path[PATH_MAX], info[1024], stamp[32];
	ssize_t n;
	time_t now;
	struct tm tm;
	int fd, used;

	if (iob_fmt(path, sizeof(path), "%s/.lock", r->dir)) {
		fprintf(stderr, "iobench: run folder path '%s' is too long\n", r->dir);
		return IOB_EXIT_USAGE;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
	if (fd < 0) {
		fprintf(stderr, "iobench: cannot lock run folder %s: %s: %s\n", r->dir, path,
			strerror(errno));
		return IOB_EXIT_USAGE;
	}
	for (int tries = 0;; tries++) {
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
		struct flock q = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
		long holder;

		if (fcntl(fd, F_SETLK, &fl) == 0)
			break;
		if ((errno != EACCES && errno != EAGAIN) || fcntl(fd, F_GETLK, &q) < 0) {
			fprintf(stderr, "iobench: cannot lock run folder %s: %s: %s\n", r->dir,
				path, strerror(errno));
			close(fd);
			return IOB_EXIT_USAGE;
		}
		if (q.l_type == F_UNLCK && tries < 100)
			continue; /* released between our two calls: try again */
		/* The file's text, when it is the holder's (it writes it just after locking). */
		n = pread(fd, info, sizeof(info) - 1, 0);
		info[n > 0 ? n : 0] = '\0';
		if (sscanf(info, "pid %ld", &holder) != 1 || holder != (long)q.l_pid)
			info[0] = '\0';
		for (char *p = info; *p; p++)
			if (*p == '\n')
				*p = p[1] ? ';' : '\0';
		fprintf(stderr,
			"iobench: run folder %s is in use by another iobench run (pid %ld%s%s); "
			"wait for it to end, or choose another %s\n",
			r->dir, (long)q.l_pid, *info ? ": " : "", info,
			r->resuming ? "folder" : "--out");
		close(fd);
		return IOB_EXIT_USAGE;
	}
	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	used = snprintf(info, sizeof(info), "pid %ld\nstarted %s\ncommand", (long)getpid(), stamp);
	for (int i = 0; i < argc && used > 0 && (size_t)used < sizeof(info); i++)
		used += snprintf(info + used, sizeof(info) - (size_t)used, " %s", argv[i]);
	if (used > 0 && (size_t)used + 1 < sizeof(info))
		strcat(info, "\n");
	/* Best effort: the lock itself is what counts. */
	if (ftruncate(fd, 0) == 0 && pwrite(fd, info, strlen(info), 0) < 0)
		fprintf(stderr, "iobench: note: cannot write %s: %s\n", path, strerror(errno));
	r->lock_fd = fd;
	return 0;
}

/* A new run: matrix, selection, order, folder, and the first results.json. */
static int start_new(struct run *r, const struct run_opts *o, int argc, char **argv)
{
	struct iob_matrix *m;
	unsigned long long seed = o->seed;
	size_t *sel = NULL, nsel = 0;
	json_t *cmd, *mj, *refs;
	struct stat st;
	char shard[32];
	int rc = load_matrix(o, &m), err;

	if (rc)
		return rc;
	r->bo = (struct bench_opts){ .threads = o->threads,
				     .synthetic = o->synthetic ? strdup(o->synthetic) : NULL,
				     .xml = o->xml ? strdup(o->xml) : NULL,
				     .calibrate = o->calibrate };
	rc = select_cells(m, o, &r->cells, &r->ncells, &sel, &nsel);
	if (rc)
		goto out;
	if (nsel == 0) {
		fprintf(stderr, "iobench: no cells selected (%s%s%s)\n",
			o->filter ? "--filter " : "", o->filter ? o->filter : "",
			o->shard_set ? " and --shard" : "");
		rc = IOB_EXIT_USAGE;
		goto out;
	}
	rc = check_placements(m, &r->bo);
	if (rc)
		goto out;
	if (!o->seed_set) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		seed = ((unsigned long long)ts.tv_sec * 1000003ull ^
			(unsigned long long)ts.tv_nsec ^ (unsigned long long)getpid() << 20) &
		       ((1ull << 53) - 1);
	}
	if (o->random_order)
		shuffle(sel, nsel, seed);
	r->order = sel;
	r->norder = nsel;
	sel = NULL;
	r->seed = seed;
	r->random_order = o->random_order;
	r->rounds = !o->interleave || strcmp(o->interleave, "rounds") == 0;
	for (size_t i = 0; i < r->norder; i++)
		r->units += r->rounds ? (size_t)r->cells[r->order[i]].repetitions : 1;

	if (o->out && strlen(o->out) >= sizeof(r->dir)) {
		fprintf(stderr, "iobench: --out path is too long\n");
		rc = IOB_EXIT_USAGE;
		goto out;
	}
	if (o->out)
		snprintf(r->dir, sizeof(r->dir), "%s", o->out);
	else
		default_out(r->dir, sizeof(r->dir));
	if (stat(r->dir, &st) == 0 && !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "iobench: --out %s exists and is not a folder\n", r->dir);
		rc = IOB_EXIT_USAGE;
		goto out;
	}
	err = iob_mkdirs(r->dir);
	if (err) {
		fprintf(stderr, "iobench: cannot create output folder '%s': %s\n", r->dir,
			strerror(-err));
		rc = IOB_EXIT_USAGE;
		goto out;
	}
	/* Lock before looking for results.json: of two runs started at once, one wins. */
	rc = lock_dir(r, argc, argv);
	if (rc)
		goto out;
	snprintf(r->path, sizeof(r->path), "%s/results.json", r->dir);
	if (access(r->path, F_OK) == 0) {
		fprintf(stderr,
			"iobench: %s already exists; not overwriting it (choose another --out, or "
			"--resume %s to finish it)\n",
			r->path, r->dir);
		rc = IOB_EXIT_USAGE;
		goto out;
	}
	if (access(r->dir, W_OK) != 0) {
		fprintf(stderr, "iobench: output folder '%s' is not writable: %s\n", r->dir,
			strerror(errno));
		rc = IOB_EXIT_USAGE;
		goto out;
	}

	rc = IOB_EXIT_FAIL;
	r->root = json_object();
	r->ctx = json_object();
	r->rows = json_array();
	r->cells_json = json_array();
	mj = iob_matrix_json(m);
	refs = iob_matrix_references(m);
	cmd = json_array();
	for (int i = 0; i < argc && cmd; i++)
		json_array_append_new(cmd, json_string(argv[i]));
	snprintf(shard, sizeof(shard), "%d/%d", o->shard_k, o->shard_n);
	if (!r->root || !r->ctx || !r->rows || !r->cells_json || !mj || !refs || !cmd ||
	    json_object_set(r->root, "context", r->ctx) ||
	    json_object_set(r->root, "benchmarks", r->rows) || iob_context_add_static(r->ctx) ||
	    json_object_set_new(r->ctx, "iobench_command", cmd) ||
	    json_object_set_new(r->ctx, "iobench_matrix", mj) ||
	    json_object_set_new(r->ctx, "iobench_references", refs) ||
	    json_object_set_new(r->ctx, "iobench_order_seed", json_integer((json_int_t)seed)) ||
	    json_object_set_new(r->ctx, "iobench_order",
				json_string(o->random_order ? "random" : "sorted")) ||
	    json_object_set_new(r->ctx, "iobench_interleave",
				json_string(r->rounds ? "rounds" : "cells")) ||
	    json_object_set_new(r->ctx, "iobench_shard",
				o->shard_set ? json_string(shard) : json_null()) ||
	    json_object_set_new(r->ctx, "iobench_filter",
				o->filter ? json_string(o->filter) : json_null()) ||
	    json_object_set_new(r->ctx, "iobench_run_options", run_options_json(&r->bo)) ||
	    json_object_set_new(r->ctx, "iobench_calibration", json_null()) ||
	    json_object_set_new(r->ctx, "iobench_plans", json_object()) ||
	    json_object_set(r->ctx, "iobench_cells", r->cells_json)) {
		fprintf(stderr, "iobench: out of memory\n");
		goto out;
	}
	for (size_t i = 0; i < r->norder; i++)
		json_array_append_new(
			r->cells_json,
			r->rounds ? json_pack("{s:s, s:s, s:f, s:i}", "id",
					      r->cells[r->order[i]].id, "status", "pending",
					      "seconds", 0.0, "repetitions_done", 0)
				  : json_pack("{s:s, s:s, s:f}", "id", r->cells[r->order[i]].id,
					      "status", "pending", "seconds", 0.0));
	iob_sysstat_read(&r->before);
	if (save(r))
		goto out;
	fprintf(stderr, "iobench: run folder %s: %zu cells, seed %llu%s%s, %s\n", r->dir, r->norder,
		seed, o->shard_set ? ", shard " : "", o->shard_set ? shard : "",
		r->rounds ? "interleaved rounds" : "one cell at a time");
	rc = 0;
out:
	free(sel);
	iob_matrix_free(m);
	return rc;
}

static int cmp_cell_id(const void *key, const void *elem)
{
	return strcmp(key, ((const struct iob_cell *)elem)->id);
}

static void sysstat_from_json(const json_t *j, struct iob_sysstat *s)
{
	memset(s, 0, sizeof(*s));
	if (!json_is_object(j))
		return;
	s->ok = true;
	s->load1 = json_number_value(json_object_get(j, "load1"));
	s->load5 = json_number_value(json_object_get(j, "load5"));
	s->load15 = json_number_value(json_object_get(j, "load15"));
	s->steal_ticks = (uint64_t)json_integer_value(json_object_get(j, "steal_ticks"));
	s->total_ticks = (uint64_t)json_integer_value(json_object_get(j, "total_ticks"));
}

/*
 * --resume trusts nothing it reads: every entry of iobench_cells is a cell of the recorded matrix,
 * listed once, with a known status, and its rows agree with its status: a pending cell has exactly
 * the rows of its finished repetitions (none when one child runs all of a cell's repetitions), a
 * done or failed cell has rows. Every row belongs to a listed cell. Fills r->order, r->finished,
 * r->units and r->units_done. @return 0 or IOB_EXIT_USAGE, naming the cell.
 */
static int check_recorded_cells(struct run *r)
{
	size_t *nrows = calloc(r->ncells + 1, sizeof(*nrows)), i;
	long *listed = calloc(r->ncells + 1, sizeof(*listed));
	json_t *c, *row;
	int rc = IOB_EXIT_USAGE;

	if (!nrows || !listed) {
		rc = IOB_EXIT_FAIL;
		goto out;
	}
	json_array_foreach(r->rows, i, row)
	{
		const char *id = json_string_value(json_object_get(row, "iobench_cell"));
		const char *name = json_string_value(json_object_get(row, "name"));
		struct iob_cell *cell =
			id ? bsearch(id, r->cells, r->ncells, sizeof(*r->cells), cmp_cell_id)
			   : NULL;

		if (!id && name && strncmp(name, "calib/", 6) == 0)
			continue; /* calibration rows belong to no cell */
		if (!cell) {
			fprintf(stderr,
				"iobench: --resume: %s: benchmarks[%zu] (%s) belongs to no cell of "
				"the recorded matrix\n",
				r->path, i,
				id     ? id
				: name ? name
				       : "no name");
			goto out;
		}
		nrows[cell - r->cells]++;
	}
	json_array_foreach(r->cells_json, i, c)
	{
		const char *id = json_string_value(json_object_get(c, "id"));
		const char *st = json_string_value(json_object_get(c, "status"));
		json_t *dj = json_object_get(c, "repetitions_done");
		struct iob_cell *cell =
			id ? bsearch(id, r->cells, r->ncells, sizeof(*r->cells), cmp_cell_id)
			   : NULL;
		long done = (long)json_integer_value(dj);
		size_t k;

		if (!cell) {
			fprintf(stderr,
				"iobench: --resume: %s: iobench_cells[%zu] (%s) is not a cell of "
				"its "
				"matrix\n",
				r->path, i, id ? id : "no id");
			goto out;
		}
		k = (size_t)(cell - r->cells);
		if (listed[k]) {
			fprintf(stderr,
				"iobench: --resume: %s: cell %s is listed twice in iobench_cells "
				"([%ld] and [%zu])\n",
				r->path, id, listed[k] - 1, i);
			goto out;
		}
		listed[k] = (long)i + 1;
		if (!st || (strcmp(st, "pending") && strcmp(st, "done") && strcmp(st, "error"))) {
			fprintf(stderr,
				"iobench: --resume: %s: cell %s has status %s%s%s; expected "
				"pending, done or error\n",
				r->path, id, st ? "'" : "", st ? st : "missing", st ? "'" : "");
			goto out;
		}
		if (dj && (!json_is_integer(dj) || done < 0 || done > cell->repetitions ||
			   (!r->rounds && done))) {
			fprintf(stderr,
				"iobench: --resume: %s: cell %s: repetitions_done must be a whole "
				"number 0..%d%s\n",
				r->path, id, cell->repetitions,
				r->rounds ? "" : " (0: this run ran one cell at a time)");
			goto out;
		}
		if (strcmp(st, "pending") == 0 && (done >= cell->repetitions && r->rounds)) {
			fprintf(stderr,
				"iobench: --resume: %s: cell %s is pending with all %ld "
				"repetitions "
				"done\n",
				r->path, id, done);
			goto out;
		}
		if (strcmp(st, "pending") == 0 && nrows[k] != (size_t)done) {
			fprintf(stderr,
				"iobench: --resume: %s: cell %s is pending after %ld repetitions "
				"but "
				"has %zu rows; running it again would duplicate samples (was its "
				"status edited?)\n",
				r->path, id, done, nrows[k]);
			goto out;
		}
		if (strcmp(st, "pending") != 0 && nrows[k] == 0) {
			fprintf(stderr, "iobench: --resume: %s: cell %s is %s but has no rows\n",
				r->path, id, st);
			goto out;
		}
		r->order[r->norder++] = k;
		if (strcmp(st, "pending") != 0)
			r->finished++;
		if (strcmp(st, "error") == 0)
			r->failed = true;
		r->units += r->rounds ? (size_t)cell->repetitions : 1;
		r->units_done += strcmp(st, "pending") != 0
					 ? (r->rounds ? (size_t)cell->repetitions : 1)
					 : (size_t)done;
	}
	for (i = 0; i < r->ncells; i++) {
		if (nrows[i] && !listed[i]) {
			fprintf(stderr,
				"iobench: --resume: %s: cell %s has rows but iobench_cells does "
				"not "
				"list it\n",
				r->path, r->cells[i].id);
			goto out;
		}
	}
	rc = 0;
out:
	free(nrows);
	free(listed);
	return rc;
}

/* --resume RUN: the recorded matrix, order and options; pending cells only. */
static int start_resume(struct run *r, const char *arg, int argc, char **argv)
{
	char err[768], where[PATH_MAX + 32];
	struct iob_run_path run;
	struct iob_matrix *m = NULL;
	json_t *mj, *ro;
	char *text;
	int rc;

	if (iob_run_resolve(arg, &run, err, sizeof(err))) {
		fprintf(stderr, "iobench: --resume %s%s; nothing to resume\n", err,
			strstr(err, "no results.json") ? "" : " (no results.json there)");
		return IOB_EXIT_USAGE;
	}
	if (iob_fmt(r->dir, sizeof(r->dir), "%s", run.dir) ||
	    iob_fmt(r->path, sizeof(r->path), "%s", run.file)) {
		fprintf(stderr, "iobench: --resume path is too long\n");
		return IOB_EXIT_USAGE;
	}
	r->resuming = true;
	rc = lock_dir(r, argc, argv);
	if (rc)
		return rc;
	r->root = iob_results_load(r->path, err, sizeof(err));
	if (!r->root) {
		fprintf(stderr, "iobench: --resume: %s\n", err);
		return IOB_EXIT_USAGE;
	}
	r->ctx = json_object_get(r->root, "context");
	r->rows = json_object_get(r->root, "benchmarks");
	r->cells_json = json_object_get(r->ctx, "iobench_cells");
	mj = json_object_get(r->ctx, "iobench_matrix");
	if (!json_is_object(mj) || !json_is_array(r->cells_json)) {
		fprintf(stderr,
			"iobench: --resume: %s is not a matrix run (no iobench_matrix and "
			"iobench_cells in its context)\n",
			r->path);
		return IOB_EXIT_USAGE;
	}
	snprintf(where, sizeof(where), "%s (iobench_matrix)", r->path);
	text = json_dumps(mj, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	rc = text ? iob_matrix_parse(text, where, &m, err, sizeof(err)) : -ENOMEM;
	free(text);
	if (!rc)
		rc = iob_matrix_expand(m, &r->cells, &r->ncells, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "iobench: --resume: %s\n", rc == -ENOMEM ? "out of memory" : err);
		iob_matrix_free(m);
		return rc == -ENOMEM ? IOB_EXIT_FAIL : IOB_EXIT_USAGE;
	}
	ro = json_object_get(r->ctx, "iobench_run_options");
	r->bo.threads = (long)json_integer_value(json_object_get(ro, "threads"));
	if (json_string_value(json_object_get(ro, "synthetic")))
		r->bo.synthetic = strdup(json_string_value(json_object_get(ro, "synthetic")));
	if (json_string_value(json_object_get(ro, "xml")))
		r->bo.xml = strdup(json_string_value(json_object_get(ro, "xml")));
	r->bo.calibrate = !json_is_false(json_object_get(ro, "calibrate"));
	{
		const char *il = json_string_value(json_object_get(r->ctx, "iobench_interleave"));
		const char *ord = json_string_value(json_object_get(r->ctx, "iobench_order"));

		/* Runs made before rounds existed ran one cell at a time. */
		if (il && strcmp(il, "rounds") && strcmp(il, "cells")) {
			fprintf(stderr,
				"iobench: --resume: %s: iobench_interleave '%s' is neither "
				"'rounds' nor 'cells'\n",
				r->path, il);
			iob_matrix_free(m);
			return IOB_EXIT_USAGE;
		}
		r->rounds = il && strcmp(il, "rounds") == 0;
		r->random_order = !ord || strcmp(ord, "sorted") != 0;
		r->seed = (unsigned long long)json_integer_value(
			json_object_get(r->ctx, "iobench_order_seed"));
	}
	r->order = calloc(json_array_size(r->cells_json) + 1, sizeof(*r->order));
	if (!r->order) {
		iob_matrix_free(m);
		return IOB_EXIT_FAIL;
	}
	rc = check_recorded_cells(r);
	if (rc) {
		iob_matrix_free(m);
		return rc;
	}
	rc = check_placements(m, &r->bo);
	iob_matrix_free(m);
	if (rc)
		return rc;
	if (!json_is_object(json_object_get(r->ctx, "iobench_plans")))
		json_object_set_new(r->ctx, "iobench_plans", json_object());
	sysstat_from_json(json_object_get(r->ctx, "iobench_load_before"), &r->before);
	if (!r->before.ok)
		iob_sysstat_read(&r->before);
	json_object_set_new(
		r->ctx, "iobench_resumed",
		json_integer(json_integer_value(json_object_get(r->ctx, "iobench_resumed")) + 1));
	fprintf(stderr, "iobench: resuming %s: %zu of %zu cells left\n", r->dir,
		r->norder - r->finished, r->norder);
	return 0;
}

int iob_cmd_run(int argc, char **argv)
{
	struct run_opts o;
	struct run r = { .lock_fd = -1 };
	struct sigaction sa, old_int, old_term;
	char rawdir[PATH_MAX + 8];
	size_t i;
	json_t *c;
	int rc = parse_run_opts(argc, argv, &o, false), err, prc;

	if (rc)
		return rc < 0 ? IOB_EXIT_OK : rc;
	if (iob_locate_bench(o.bench, r.bench, sizeof(r.bench)))
		return IOB_EXIT_USAGE;
	r.tty = isatty(STDERR_FILENO);

	/* From here a signal stops the run cleanly instead of killing us. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);

	rc = o.resume ? start_resume(&r, o.resume, argc, argv) : start_new(&r, &o, argc, argv);
	if (rc)
		goto out;
	snprintf(rawdir, sizeof(rawdir), "%s/raw", r.dir);
	err = iob_mkdirs(rawdir);
	if (err) {
		fprintf(stderr, "iobench: cannot create %s: %s\n", rawdir, strerror(-err));
		rc = IOB_EXIT_FAIL;
		goto out;
	}
	if (r.bo.calibrate && json_is_null(json_object_get(r.ctx, "iobench_calibration")) &&
	    !interrupted) {
		rc = calibrate(&r);
		if (rc)
			goto stopped;
	}
	if (r.rounds) {
		rc = run_rounds(&r);
	} else {
		json_array_foreach(r.cells_json, i, c)
		{
			const char *st = json_string_value(json_object_get(c, "status"));

			if (interrupted)
				break;
			if (strcmp(st, "pending") != 0)
				continue;
			rc = run_cell(&r, r.order[i], c, -1);
			if (rc)
				break;
		}
	}
stopped:
	if (r.tty)
		fprintf(stderr, "\r\033[K");
	if (interrupted || rc == EXIT_INTERRUPTED) {
		save(&r);
		fprintf(stderr,
			"iobench: interrupted (%s); %zu of %zu cells pending in %s\n"
			"iobench: resume with: iobench run --resume %s\n",
			strsignal(interrupted ? interrupted : SIGINT), r.norder - r.finished,
			r.norder, r.path, r.dir);
		rc = EXIT_INTERRUPTED;
		goto out;
	}
	if (rc) {
		rc = rc > 0 ? rc : IOB_EXIT_FAIL;
		goto out;
	}
	rmdir(rawdir); /* only when empty: failed cells keep their raw output and log */
	fprintf(stderr, "iobench: wrote %s (%zu rows, %zu cells)%s\n", r.path,
		json_array_size(r.rows), r.norder,
		r.failed ? "; some cells failed, see iobench_incomplete" : "");
	printf("%s\n", r.path);
	fflush(stdout);
	if (o.plots) {
		prc = iob_plot_run(r.dir);
		if (prc && prc != -ENOENT)
			fprintf(stderr, "iobench: plots not written (the results are complete)\n");
	}
	rc = r.failed ? IOB_EXIT_FAIL : IOB_EXIT_OK;
out:
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	if (o.resume)
		json_decref(r.root);
	else
		json_decref(r.root), json_decref(r.ctx), json_decref(r.rows),
			json_decref(r.cells_json);
	if (r.lock_fd >= 0)
		close(r.lock_fd); /* releases the folder */
	iob_cells_free(r.cells, r.ncells);
	free(r.order);
	free(r.bo.synthetic);
	free(r.bo.xml);
	return rc;
}
