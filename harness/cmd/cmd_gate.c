/*
 * iobench gate: the CI regression gate, in three tiers.
 *
 * Tier 1 (blocking, the default): instructions per iteration of the gate/ benchmarks
 * (bench/bench_gate.c) counted by valgrind's callgrind, one child per benchmark:
 *   valgrind --tool=callgrind --callgrind-out-file=T --toggle-collect=<loop symbol>
 *            --collect-atstart=no iobench-bench --iobench_fixed_iterations=N
 *            --benchmark_filter=^<name>(/iterations:[0-9]+)?$
 * so only the measured loop (and what it calls) is counted, not setup. The loop symbol is the
 * benchmark name with every character other than a letter or digit as '_'. Ir / N is compared
 * with results/baselines/gate.json; above the threshold (3 % by default, per-benchmark
 * "threshold_pct" overrides) the gate fails. A deterministic single-threaded loop gives the same
 * count every run, so the threshold only has to absorb real code changes, not noise.
 *
 * Tier 2 (advisory): wall clock, paired. Two builds' benchmark binaries run in interleaved rounds
 * (A B A B ...); per benchmark a Mann-Whitney U test on the pooled repetitions, the ratio of
 * medians, the ratio of best samples and the fraction of rounds in which the candidate was
 * slower. On this machine repetitions vary by 20-45 % (docs/benchmarking.md), so a difference is only
 * "suspect"; it blocks only when it is gross on every measure at once and the machine was quiet.
 *
 * Tier 3 (never blocks): each implementation's median ratio to its family's reference in a run,
 * appended as one JSON line to a trends file.
 *
 * Every tier ends its output with "N passed, N failed".
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "catalogue.h"
#include "cli.h"
#include "context.h"
#include "locate.h"
#include "proc.h"
#include "results.h"
#include "stats.h"

#define DEFAULT_ITERATIONS    20000
#define DEFAULT_THRESHOLD_PCT 3.0
#define DEFAULT_ROUNDS	      5
#define DEFAULT_REPS	      3
#define DEFAULT_MIN_TIME      0.05
#define MAX_NAMES	      512

/* Tier 2 verdict rules (see the usage text). */
#define SUSPECT_RATIO 1.05
#define SUSPECT_P     0.05
#define GROSS_RATIO   1.25
#define GROSS_P	      0.01
#define GROSS_AGREE   0.8
#define QUIET_LOAD    0.3 /* load1 per CPU */

struct gate_opts {
	int tier;
	const char *baseline;
	double threshold; /* < 0: the baseline file's default */
	const char *filter;
	long iterations; /* 0: the baseline's, else DEFAULT_ITERATIONS */
	long repeat;
	const char *bench;
	bool update;
	const char *base_bench, *cand_bench;
	long rounds, reps;
	double min_time;
	const char *run;
	const char *trend;
};

static const char gate_usage[] =
	"usage: iobench gate [--tier 1|2|3] [options]\n"
	"CI regression gate. Exit 0 pass, 1 regression, 2 bad input. The last output line is\n"
	"'N passed, N failed'.\n"
	"\n"
	"Tier 1 (default, blocking): instructions per iteration of the gate/ benchmarks under\n"
	"valgrind callgrind, compared with a baseline file. Instruction counts depend on the\n"
	"compiler and build type: the baseline records them and the gate warns when they differ.\n"
	"  --baseline FILE      default $IOBENCH_SOURCE_ROOT/results/baselines/gate.json (else "
	"the\n"
	"                       source tree of the build iobench runs from)\n"
	"  --threshold PCT      allowed increase for benchmarks without their own threshold_pct\n"
	"                       (default: the file's default_threshold_pct, else 3)\n"
	"  --filter REGEX       gate benchmarks to check (extended regex; default all gate/)\n"
	"  --iterations N       fixed iterations per benchmark (default: the baseline's, else "
	"20000)\n"
	"  --repeat K           measure each benchmark K times, report the spread, use the median\n"
	"  --update-baseline    write the measured counts into the baseline (atomically), keeping\n"
	"                       thresholds and the entries outside --filter\n"
	"  --bench PATH         the benchmark binary (default: next to iobench, or "
	"$IOBENCH_BENCH)\n"
	"  valgrind: $IOBENCH_VALGRIND, else valgrind on PATH\n"
	"\n"
	"Tier 2 (advisory): wall clock, interleaved rounds A B A B ... of two builds' binaries.\n"
	"  --baseline-bench PATH --candidate-bench PATH   (both required)\n"
	"  --filter REGEX       Google Benchmark filter (default ^gate/)\n"
	"  --rounds R           rounds (default 5); --repetitions N per child (default 3);\n"
	"  --min-time S         seconds per repetition (default 0.05)\n"
	"  Per benchmark: Mann-Whitney U p over the pooled samples, slowdown of the medians and "
	"of\n"
	"  the best samples (candidate/baseline time, or baseline/candidate items_per_second), "
	"and\n"
	"  the fraction of rounds in which the candidate was slower. 'suspect': median slowdown\n"
	"  > 5 % and p < 0.05 (advisory). 'GROSS' (blocking, exit 1): both slowdowns > 25 %,\n"
	"  p < 0.01, >= 80 % of rounds agree, and load1 <= 0.3 x CPUs before the rounds.\n"
	"\n"
	"Tier 3 (never blocks): --run RUN (run folder, results.json or run name) [--trend FILE]\n"
	"  appends {sha, date, quiet, run, ratios} to FILE (default\n"
	"  <source root>/results/trends.jsonl): each benchmark's median ratio to its family's\n"
	"  reference (context iobench_references); > 1 means faster than the reference.\n";

/* --- helpers --- */

/* iob_fmt for paths: @return 0, or -ENAMETOOLONG (after a message) when @p out was too small. */
__attribute__((format(printf, 3, 4))) static int pathf(char *out, size_t len, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = iob_vfmt(out, len, fmt, ap);
	va_end(ap);
	if (rc)
		fprintf(stderr, "iobench gate: path too long: %s...\n", out);
	return rc;
}

/* valgrind: $IOBENCH_VALGRIND, else the first on PATH; says so when it is missing. */
static int find_valgrind(char *out, size_t len)
{
	bool from_env;

	if (iob_locate_tool("IOBENCH_VALGRIND", "valgrind", out, len, &from_env) == 0)
		return 0;
	if (from_env)
		fprintf(stderr,
			"iobench gate: valgrind '%s' ($IOBENCH_VALGRIND) is missing or not "
			"executable\n",
			out);
	else
		fprintf(stderr,
			"iobench gate: valgrind not found on PATH; tier 1 counts "
			"instructions with valgrind's callgrind (install it: apt-get install "
			"valgrind)\n");
	return -ENOENT;
}

/* Copy the last @p lines lines of @p path to stderr, indented. */
static void tail_file(const char *path, int lines)
{
	char buf[8192];
	FILE *f = fopen(path, "r");
	size_t n;
	int seen = 0;
	long i;

	if (!f)
		return;
	fseek(f, 0, SEEK_END);
	i = ftell(f);
	fseek(f, i > (long)sizeof(buf) - 1 ? i - ((long)sizeof(buf) - 1) : 0, SEEK_SET);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	for (i = (long)n - 2; i >= 0; i--)
		if (buf[i] == '\n' && ++seen == lines)
			break;
	for (char *line = strtok(buf + i + 1, "\n"); line; line = strtok(NULL, "\n"))
		fprintf(stderr, "  | %s\n", line);
}

static bool regex_ok(const char *re, regex_t *out)
{
	return regcomp(out, re, REG_EXTENDED | REG_NOSUB) == 0;
}

/* "gate/push_pop/iort_spsc" -> "gate_push_pop_iort_spsc" (bench_gate.c names its loops so). */
static void loop_symbol(const char *name, char *out, size_t len)
{
	size_t i;

	for (i = 0; name[i] && i + 1 < len; i++) {
		char c = name[i];

		out[i] =
			((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
				? c
				: '_';
	}
	out[i] = '\0';
}

/* A regex matching exactly @p name (and its fixed-iterations suffix) for --benchmark_filter. */
static void exact_filter(const char *name, char *out, size_t len)
{
	size_t n = 0;

	n += (size_t)snprintf(out, len, "--benchmark_filter=^");
	for (const char *p = name; *p && n + 3 < len; p++) {
		if (strchr(".[]()*+?{}|^$\\", *p))
			out[n++] = '\\';
		out[n++] = *p;
	}
	snprintf(out + n, len - n, "(/iterations:[0-9]+)?$");
}

static int make_tmpdir(char *out, size_t len)
{
	const char *t = getenv("TMPDIR");

	snprintf(out, len, "%s/iobench-gate-XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(out)) {
		fprintf(stderr, "iobench gate: cannot create a temporary folder %s: %s\n", out,
			strerror(errno));
		return -errno;
	}
	return 0;
}

/* Remove our temporary folder: its files (it holds no subfolders), then itself. */
static void remove_tmpdir(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *d;
	DIR *dp = opendir(dir);

	if (!dp)
		return;
	while ((d = readdir(dp)))
		if (strcmp(d->d_name, ".") && strcmp(d->d_name, "..") &&
		    pathf(path, sizeof(path), "%s/%s", dir, d->d_name) == 0)
			unlink(path);
	closedir(dp);
	rmdir(dir);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* This build's facts that change instruction counts. */
struct build_facts {
	char compiler[128], build_type[64], optimization[64], sanitize[64];
};

static void build_facts(struct build_facts *b)
{
	json_t *ctx = json_object();

	memset(b, 0, sizeof(*b));
	if (ctx && iob_context_add_static(ctx) == 0) {
		const char *v;

		if ((v = json_string_value(json_object_get(ctx, "iobench_compiler"))))
			snprintf(b->compiler, sizeof(b->compiler), "%s", v);
		if ((v = json_string_value(json_object_get(ctx, "iobench_build_type"))))
			snprintf(b->build_type, sizeof(b->build_type), "%s", v);
		if ((v = json_string_value(json_object_get(ctx, "iobench_optimization"))))
			snprintf(b->optimization, sizeof(b->optimization), "%s", v);
		if ((v = json_string_value(json_object_get(ctx, "iobench_sanitize"))))
			snprintf(b->sanitize, sizeof(b->sanitize), "%s", v);
	}
	json_decref(ctx);
}

/* --- tier 1 --- */

struct measured {
	char name[128];
	double ipi; /* instructions per iteration (median over --repeat) */
	double lo, hi;
	bool ok;
};

/*
 * Validate the baseline document. @return 0, or -EINVAL after a message naming the file and
 * the key.
 */
static int baseline_check(const char *path, json_t *b)
{
	json_t *v, *benches, *e;
	const char *name;

	if (!json_is_object(b)) {
		fprintf(stderr, "iobench gate: %s: the top level must be an object\n", path);
		return -EINVAL;
	}
	v = json_object_get(b, "version");
	if (!json_is_integer(v) || json_integer_value(v) != 1) {
		fprintf(stderr, "iobench gate: %s: key 'version' must be 1\n", path);
		return -EINVAL;
	}
	v = json_object_get(b, "iterations");
	if (v && (!json_is_integer(v) || json_integer_value(v) < 1)) {
		fprintf(stderr, "iobench gate: %s: key 'iterations' must be a positive integer\n",
			path);
		return -EINVAL;
	}
	v = json_object_get(b, "default_threshold_pct");
	if (v && (!json_is_number(v) || json_number_value(v) < 0)) {
		fprintf(stderr,
			"iobench gate: %s: key 'default_threshold_pct' must be a number >= 0\n",
			path);
		return -EINVAL;
	}
	benches = json_object_get(b, "benchmarks");
	if (!json_is_object(benches)) {
		fprintf(stderr, "iobench gate: %s: key 'benchmarks' must be an object\n", path);
		return -EINVAL;
	}
	json_object_foreach(benches, name, e)
	{
		if (!json_is_object(e)) {
			fprintf(stderr, "iobench gate: %s: key 'benchmarks.%s' must be an object\n",
				path, name);
			return -EINVAL;
		}
		v = json_object_get(e, "instructions_per_iteration");
		if (!json_is_number(v) || !(json_number_value(v) > 0)) {
			fprintf(stderr,
				"iobench gate: %s: key "
				"'benchmarks.%s.instructions_per_iteration' must be a positive "
				"number\n",
				path, name);
			return -EINVAL;
		}
		v = json_object_get(e, "threshold_pct");
		if (v && (!json_is_number(v) || json_number_value(v) < 0)) {
			fprintf(stderr,
				"iobench gate: %s: key 'benchmarks.%s.threshold_pct' must be a "
				"number >= 0\n",
				path, name);
			return -EINVAL;
		}
	}
	return 0;
}

static json_t *baseline_load(const char *path, bool must_exist, int *status)
{
	json_error_t jerr;
	json_t *b;

	*status = 0;
	if (access(path, F_OK) != 0) {
		if (!must_exist)
			return NULL;
		fprintf(stderr,
			"iobench gate: baseline %s does not exist (make it with iobench gate "
			"--update-baseline, or pass --baseline FILE)\n",
			path);
		*status = IOB_EXIT_USAGE;
		return NULL;
	}
	b = json_load_file(path, 0, &jerr);
	if (!b) {
		fprintf(stderr, "iobench gate: %s:%d:%d: malformed baseline: %s\n", path, jerr.line,
			jerr.column, jerr.text);
		*status = IOB_EXIT_USAGE;
		return NULL;
	}
	if (baseline_check(path, b)) {
		json_decref(b);
		*status = IOB_EXIT_USAGE;
		return NULL;
	}
	return b;
}

/* The benchmarks the gate counts: the catalogue's scenarios flagged "gate". @return how many, or
 * -1 after a message. */
static int list_gate(const char *bench, char names[][128], int max)
{
	struct iob_catalogue *cat;
	const char **v = NULL;
	char err[1024];
	size_t n = 0;
	int rc = iob_catalogue_load(bench, &cat, err, sizeof(err));

	if (rc) {
		fprintf(stderr, "iobench gate: %s\n", rc == -ENOMEM ? "out of memory" : err);
		return -1;
	}
	if (iob_catalogue_gate_names(cat, &v, &n)) {
		fprintf(stderr, "iobench gate: out of memory\n");
		iob_catalogue_free(cat);
		return -1;
	}
	if (n > (size_t)max || n == 0) {
		fprintf(stderr,
			"iobench gate: the catalogue of %s lists %zu gate benchmarks (1 to %d "
			"can be checked)\n",
			bench, n, max);
		rc = -1;
	}
	for (size_t i = 0; !rc && i < n; i++)
		snprintf(names[i], 128, "%.127s", v[i]);
	free(v);
	iob_catalogue_free(cat);
	return rc ? -1 : (int)n;
}

/* Ir of the "totals:" (else "summary:") line of a callgrind output file; -1 when absent. */
static double callgrind_ir(const char *path)
{
	char line[512];
	double summary = -1, totals = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "totals:", 7) == 0)
			totals = strtod(line + 7, NULL);
		else if (strncmp(line, "summary:", 8) == 0)
			summary = strtod(line + 8, NULL);
	}
	fclose(f);
	return totals >= 0 ? totals : summary;
}

/* Count one benchmark once. @return instructions per iteration, or -1 after a message. */
static double count_once(const char *valgrind, const char *bench, const char *name, long iters,
			 const char *tmp, int serial)
{
	char cg[PATH_MAX], js[PATH_MAX], log[PATH_MAX], a_out[PATH_MAX + 32], a_tog[300],
		a_filter[600], a_iter[64], a_json[PATH_MAX + 32], sym[256], why[128];
	char *argv[16];
	json_error_t jerr;
	json_t *doc, *row, *hit = NULL;
	double ir;
	size_t i;
	int n = 0, rc;

	pathf(cg, sizeof(cg), "%s/cg.%d.out", tmp, serial);
	pathf(js, sizeof(js), "%s/bench.%d.json", tmp, serial);
	pathf(log, sizeof(log), "%s/bench.%d.log", tmp, serial);
	loop_symbol(name, sym, sizeof(sym));
	snprintf(a_out, sizeof(a_out), "--callgrind-out-file=%s", cg);
	snprintf(a_tog, sizeof(a_tog), "--toggle-collect=%s", sym);
	exact_filter(name, a_filter, sizeof(a_filter));
	snprintf(a_iter, sizeof(a_iter), "--iobench_fixed_iterations=%ld", iters);
	snprintf(a_json, sizeof(a_json), "--benchmark_out=%s", js);
	argv[n++] = (char *)valgrind;
	argv[n++] = (char *)"--tool=callgrind";
	argv[n++] = a_out;
	argv[n++] = a_tog;
	argv[n++] = (char *)"--collect-atstart=no";
	argv[n++] = (char *)bench;
	argv[n++] = a_iter;
	argv[n++] = a_filter;
	argv[n++] = a_json;
	argv[n++] = (char *)"--benchmark_out_format=json";
	argv[n] = NULL;

	rc = iob_spawn_wait(argv, log, log);
	if (rc) {
		iob_describe_status(rc, why, sizeof(why));
		fprintf(stderr, "iobench gate: %s: callgrind run failed (%s); its output:\n", name,
			why);
		tail_file(log, 8);
		return -1;
	}
	doc = json_load_file(js, 0, &jerr);
	json_array_foreach(json_object_get(doc, "benchmarks"), i, row)
	{
		const char *rn = json_string_value(json_object_get(row, "name"));

		if (rn && strncmp(rn, name, strlen(name)) == 0)
			hit = row;
	}
	if (!hit) {
		fprintf(stderr, "iobench gate: %s: the benchmark did not run (no result in %s)\n",
			name, js);
		json_decref(doc);
		return -1;
	}
	if (json_is_true(json_object_get(hit, "error_occurred"))) {
		fprintf(stderr, "iobench gate: %s: the benchmark failed: %s\n", name,
			json_string_value(json_object_get(hit, "error_message")));
		json_decref(doc);
		return -1;
	}
	if (json_integer_value(json_object_get(hit, "iterations")) != iters) {
		fprintf(stderr, "iobench gate: %s: ran %lld iterations, not %ld\n", name,
			(long long)json_integer_value(json_object_get(hit, "iterations")), iters);
		json_decref(doc);
		return -1;
	}
	json_decref(doc);
	ir = callgrind_ir(cg);
	if (ir < 0) {
		fprintf(stderr, "iobench gate: %s: no summary/totals line in %s\n", name, cg);
		return -1;
	}
	if (ir == 0) {
		fprintf(stderr,
			"iobench gate: %s: callgrind collected nothing: the loop function '%s' is "
			"missing from %s (inlined, renamed or stripped?)\n",
			name, sym, bench);
		return -1;
	}
	unlink(cg);
	unlink(js);
	unlink(log);
	return ir / (double)iters;
}

static void note_build(json_t *b, const struct build_facts *f, const char *valgrind_version)
{
	char note[1024];
	json_t *build = json_pack("{s:s, s:s, s:s, s:s}", "compiler", f->compiler, "build_type",
				  f->build_type, "optimization", f->optimization, "valgrind",
				  valgrind_version);

	snprintf(note, sizeof(note),
		 "Instructions per iteration counted by valgrind callgrind (%s) on a build made "
		 "with %s, buildtype %s (%s); counts depend on compiler and build type: "
		 "regenerate with 'iobench gate --update-baseline' when they change.",
		 valgrind_version, f->compiler, f->build_type, f->optimization);
	json_object_set_new(b, "note", json_string(note));
	if (build)
		json_object_set_new(b, "build", build);
}

/* Warn when the baseline was made with another compiler or build type. */
static void check_build(const char *path, json_t *b, const struct build_facts *f)
{
	json_t *build = json_object_get(b, "build");
	const char *keys[] = { "compiler", "build_type", "optimization" };
	const char *mine[] = { f->compiler, f->build_type, f->optimization };

	if (!json_is_object(build)) {
		fprintf(stderr,
			"iobench gate: warning: %s does not say which compiler and build type it "
			"was made with; counts may not be comparable\n",
			path);
		return;
	}
	for (int i = 0; i < 3; i++) {
		const char *theirs = json_string_value(json_object_get(build, keys[i]));

		if (theirs && strcmp(theirs, mine[i]))
			fprintf(stderr,
				"iobench gate: warning: baseline %s was made with %s '%s', this "
				"build has '%s': instruction counts are not comparable\n",
				path, keys[i], theirs, mine[i]);
	}
}

static void valgrind_version(const char *valgrind, const char *tmp, char *out, size_t len)
{
	char path[PATH_MAX];
	char *argv[] = { (char *)valgrind, (char *)"--version", NULL };
	FILE *f;

	snprintf(out, len, "valgrind");
	pathf(path, sizeof(path), "%s/valgrind.version", tmp);
	if (iob_spawn_wait(argv, path, "/dev/null") != 0 || !(f = fopen(path, "r")))
		return;
	if (fgets(out, (int)len, f))
		out[strcspn(out, "\r\n")] = '\0';
	fclose(f);
}

static int tier1(const struct gate_opts *o)
{
	static char names[MAX_NAMES][128];
	struct measured *m = NULL;
	struct build_facts facts;
	char bench[PATH_MAX], valgrind[PATH_MAX], root[PATH_MAX], path[PATH_MAX], tmp[PATH_MAX],
		vver[128];
	json_t *b = NULL, *benches;
	regex_t re;
	bool have_re = false;
	long iters;
	double deflt;
	int status = IOB_EXIT_OK, nreg, nsel = 0, passed = 0, failed = 0, fresh = 0, serial = 0;

	if (o->baseline) {
		snprintf(path, sizeof(path), "%s", o->baseline);
	} else {
		if (iob_locate_source_root(root, sizeof(root))) {
			fprintf(stderr, "iobench gate: cannot locate the source tree; pass "
					"--baseline FILE or set IOBENCH_SOURCE_ROOT\n");
			return IOB_EXIT_USAGE;
		}
		pathf(path, sizeof(path), "%s/results/baselines/gate.json", root);
	}
	if (o->filter) {
		if (!regex_ok(o->filter, &re)) {
			fprintf(stderr,
				"iobench gate: --filter '%s' is not a valid regular expression\n",
				o->filter);
			return IOB_EXIT_USAGE;
		}
		have_re = true;
	}
	b = baseline_load(path, !o->update, &status);
	if (status)
		goto out;
	if (iob_locate_bench(o->bench, bench, sizeof(bench)) ||
	    find_valgrind(valgrind, sizeof(valgrind))) {
		status = IOB_EXIT_USAGE;
		goto out;
	}
	build_facts(&facts);
	if (strcmp(facts.sanitize, "none") && *facts.sanitize) {
		fprintf(stderr,
			"iobench gate: this build uses sanitizers (%s); valgrind cannot run "
			"sanitized binaries: use a build without -Db_sanitize\n",
			facts.sanitize);
		status = IOB_EXIT_USAGE;
		goto out;
	}
	if (b && !o->update)
		check_build(path, b, &facts);
	iters = o->iterations;
	if (!iters && b && json_object_get(b, "iterations"))
		iters = (long)json_integer_value(json_object_get(b, "iterations"));
	if (!iters)
		iters = DEFAULT_ITERATIONS;
	if (b && !o->update && json_object_get(b, "iterations") &&
	    json_integer_value(json_object_get(b, "iterations")) != iters)
		fprintf(stderr,
			"iobench gate: warning: %s was measured with %lld iterations, this run "
			"uses "
			"%ld (fixed costs spread differently)\n",
			path, (long long)json_integer_value(json_object_get(b, "iterations")),
			iters);
	deflt = DEFAULT_THRESHOLD_PCT;
	if (b && json_object_get(b, "default_threshold_pct"))
		deflt = json_number_value(json_object_get(b, "default_threshold_pct"));
	if (o->threshold >= 0)
		deflt = o->threshold;

	if (make_tmpdir(tmp, sizeof(tmp))) {
		status = IOB_EXIT_USAGE;
		goto out;
	}
	valgrind_version(valgrind, tmp, vver, sizeof(vver));
	nreg = list_gate(bench, names, MAX_NAMES);
	if (nreg < 0) {
		status = IOB_EXIT_FAIL;
		goto out_tmp;
	}
	m = calloc((size_t)nreg + 1, sizeof(*m));
	if (!m) {
		status = IOB_EXIT_FAIL;
		goto out_tmp;
	}
	printf("gate tier 1: instructions per iteration, callgrind, %ld iterations, %s\n", iters,
	       o->update ? "updating the baseline" : path);
	for (int i = 0; i < nreg; i++) {
		double runs[64];
		long k, reps = o->repeat;

		if (have_re && regexec(&re, names[i], 0, NULL, 0) != 0)
			continue;
		snprintf(m[nsel].name, sizeof(m[nsel].name), "%.127s", names[i]);
		for (k = 0; k < reps; k++) {
			runs[k] = count_once(valgrind, bench, names[i], iters, tmp, serial++);
			if (runs[k] < 0)
				break;
		}
		m[nsel].ok = k == reps;
		if (m[nsel].ok) {
			qsort(runs, (size_t)reps, sizeof(double), cmp_double);
			m[nsel].lo = runs[0];
			m[nsel].hi = runs[reps - 1];
			m[nsel].ipi = reps % 2 ? runs[reps / 2]
					       : (runs[reps / 2 - 1] + runs[reps / 2]) / 2;
		}
		nsel++;
	}
	if (nsel == 0)
		fprintf(stderr,
			"iobench gate: no registered gate benchmark matches --filter '%s'\n",
			o->filter ? o->filter : "");

	if (o->update) {
		json_t *nb = b ? json_deep_copy(b) : json_object();
		const char *name;
		json_t *e, *tmpv;
		int err;

		if (!b) {
			json_object_set_new(nb, "version", json_integer(1));
			json_object_set_new(nb, "iterations", json_integer(iters));
			json_object_set_new(nb, "default_threshold_pct",
					    json_real(DEFAULT_THRESHOLD_PCT));
			note_build(nb, &facts, vver);
			json_object_set_new(nb, "benchmarks", json_object());
		}
		json_object_set_new(nb, "iterations", json_integer(iters));
		note_build(nb, &facts, vver);
		benches = json_object_get(nb, "benchmarks");
		/* Entries in scope that are no longer registered go; the others stay. */
		json_object_foreach_safe(benches, tmpv, name, e)
		{
			bool reg = false;

			for (int i = 0; i < nreg; i++)
				reg |= strcmp(names[i], name) == 0;
			if (!reg && (!have_re || regexec(&re, name, 0, NULL, 0) == 0)) {
				printf("removed  %-32s (no longer registered)\n", name);
				json_object_del(benches, name);
			}
		}
		for (int i = 0; i < nsel; i++) {
			char ipi[32];

			if (!m[i].ok) {
				printf("FAIL     %-32s not measured; its baseline entry is kept\n",
				       m[i].name);
				failed++;
				continue;
			}
			e = json_object_get(benches, m[i].name);
			if (!e) {
				e = json_object();
				json_object_set_new(benches, m[i].name, e);
			}
			/* Three decimals: more would only record how the fixed setup cost spreads. */
			snprintf(ipi, sizeof(ipi), "%.3f", m[i].ipi);
			json_object_set_new(e, "instructions_per_iteration",
					    json_real(strtod(ipi, NULL)));
			printf("updated  %-32s %10.2f instr/iter", m[i].name, m[i].ipi);
			if (o->repeat > 1)
				printf("  (%ld runs, spread %.3f %%)", o->repeat,
				       (m[i].hi - m[i].lo) / m[i].lo * 100);
			printf("\n");
			passed++;
		}
		err = iob_json_save(path, nb,
				    JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
		json_decref(nb);
		if (err) {
			fprintf(stderr, "iobench gate: cannot write %s: %s\n", path,
				strerror(-err));
			status = IOB_EXIT_USAGE;
			goto out_tmp;
		}
		printf("wrote %s\n", path);
		status = failed ? IOB_EXIT_FAIL : IOB_EXIT_OK;
		printf("%d passed, %d failed\n", passed, failed);
		goto out_tmp;
	}

	benches = json_object_get(b, "benchmarks");
	for (int i = 0; i < nsel; i++) {
		json_t *e = json_object_get(benches, m[i].name), *th;
		double base, thr, delta;

		if (!m[i].ok) {
			printf("FAIL     %-32s could not be measured (see above)\n", m[i].name);
			failed++;
			continue;
		}
		if (!e) {
			printf("new      %-32s %10.2f instr/iter  (not in the baseline; "
			       "--update-baseline adds it)\n",
			       m[i].name, m[i].ipi);
			fresh++;
			passed++;
			continue;
		}
		base = json_number_value(json_object_get(e, "instructions_per_iteration"));
		th = json_object_get(e, "threshold_pct");
		thr = th ? json_number_value(th) : deflt;
		delta = (m[i].ipi - base) / base * 100;
		printf("%-8s %-32s %10.2f instr/iter  baseline %10.2f  %+7.2f %%  (threshold "
		       "%g %%%s)",
		       delta > thr    ? "FAIL"
		       : delta < -thr ? "improved"
				      : "ok",
		       m[i].name, m[i].ipi, base, delta, thr, th ? ", own" : "");
		if (o->repeat > 1)
			printf("  [%ld runs, spread %.3f %%]", o->repeat,
			       (m[i].hi - m[i].lo) / m[i].lo * 100);
		printf("\n");
		if (delta > thr)
			failed++;
		else
			passed++;
	}
	/* Baseline entries in scope that no benchmark answers: renamed or deleted. */
	{
		const char *name;
		json_t *e;

		json_object_foreach(benches, name, e)
		{
			bool reg = false;

			(void)e;
			for (int i = 0; i < nreg; i++)
				reg |= strcmp(names[i], name) == 0;
			if (!reg && (!have_re || regexec(&re, name, 0, NULL, 0) == 0)) {
				printf("FAIL     %-32s in the baseline but not registered in %s\n",
				       name, bench);
				failed++;
			}
		}
	}
	if (fresh)
		printf("%d new benchmark%s not in %s\n", fresh, fresh > 1 ? "s" : "", path);
	printf("%d passed, %d failed\n", passed, failed);
	status = failed ? IOB_EXIT_FAIL : IOB_EXIT_OK;
out_tmp:
	remove_tmpdir(tmp);
out:
	free(m);
	if (have_re)
		regfree(&re);
	json_decref(b);
	return status;
}

/* --- tier 2 --- */

struct series {
	char name[160];
	bool tp;       /* items_per_second (higher is better), else real_time */
	double *a, *b; /* pooled samples: baseline, candidate */
	size_t na, nb;
	double *ra, *rb; /* per-round medians; NAN when the round had none */
};

static int push(double **v, size_t *n, double x)
{
	double *nv = realloc(*v, (*n + 1) * sizeof(double));

	if (!nv)
		return -ENOMEM;
	nv[(*n)++] = x;
	*v = nv;
	return 0;
}

/* A new series @p name at @p e (its metric fixed by @p tp). @return 0 or -ENOMEM. */
static int series_init(struct series *e, const char *name, long rounds, bool tp)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->tp = tp;
	e->ra = malloc((size_t)rounds * sizeof(double));
	e->rb = malloc((size_t)rounds * sizeof(double));
	if (!e->ra || !e->rb)
		return -ENOMEM;
	for (long r = 0; r < rounds; r++)
		e->ra[r] = e->rb[r] = NAN;
	return 0;
}

static int cmp_series_ptr(const void *x, const void *y)
{
	return strcmp((*(struct series *const *)x)->name, (*(struct series *const *)y)->name);
}

static int cmp_name_series(const void *key, const void *elem)
{
	return strcmp(key, (*(struct series *const *)elem)->name);
}

/*
 * Add one child's rows (round @p round, side @p cand) to the series. A benchmark's metric is
 * items_per_second when it reports one, else real_time, fixed when it is first seen. Series are
 * found by a binary search over them sorted by name (a child may report many benchmarks).
 */
static int take_round(json_t *doc, struct series **s, int *n, long rounds, long round, bool cand)
{
	static const char *const fields[2] = { "items_per_second", "real_time" };
	struct iob_sample_set smp = { 0 };
	struct series **by = NULL, *ns;
	struct iob_index ix;
	int err = iob_index_build(doc, &ix);

	for (int f = 0; f < 2 && !err; f++) {
		size_t nold = (size_t)*n;

		err = iob_results_samples(&ix, fields[f], &smp);
		if (err)
			break;
		/* Room for every name to be new: no realloc below, so by's pointers stay valid. */
		ns = realloc(*s, (nold + (size_t)smp.n + 1) * sizeof(**s));
		if (ns)
			*s = ns;
		by = ns ? malloc((nold + 1) * sizeof(*by)) : NULL;
		if (!by) {
			err = -ENOMEM;
			break;
		}
		for (size_t i = 0; i < nold; i++)
			by[i] = &ns[i];
		qsort(by, nold, sizeof(*by), cmp_series_ptr);
		for (long i = 0; i < smp.n && !err; i++) {
			const struct iob_samples *x = &smp.s[i];
			struct series **hit =
				bsearch(x->name, by, nold, sizeof(*by), cmp_name_series);
			struct series *e = hit ? *hit : &ns[(*n)++];

			if (!hit && (err = series_init(e, x->name, rounds, f == 0)))
				break;
			if (e->tp != (f == 0))
				continue;
			for (size_t m = 0; m < x->n && !err; m++)
				err = push(cand ? &e->b : &e->a, cand ? &e->nb : &e->na, x->v[m]);
			(cand ? e->rb : e->ra)[round] = iob_median(x->v, x->n);
		}
		free(by);
		by = NULL;
		iob_samples_free(&smp);
	}
	iob_samples_free(&smp);
	iob_index_free(&ix);
	return err;
}

static double vmin(const double *v, size_t n)
{
	double m = INFINITY;

	for (size_t i = 0; i < n; i++)
		m = v[i] < m ? v[i] : m;
	return m;
}

static double vmax(const double *v, size_t n)
{
	double m = -INFINITY;

	for (size_t i = 0; i < n; i++)
		m = v[i] > m ? v[i] : m;
	return m;
}

static int tier2(const struct gate_opts *o)
{
	const char *filter = o->filter ? o->filter : "^gate/";
	struct series *s = NULL;
	struct iob_sysstat before, after;
	char tmp[PATH_MAX];
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	bool quiet;
	int n = 0, passed = 0, failed = 0, suspect = 0, status = IOB_EXIT_OK;
	regex_t re;

	if (!o->base_bench || !o->cand_bench) {
		return iob_usage_error("gate", "tier 2 needs --baseline-bench PATH and "
					       "--candidate-bench PATH");
	}
	if (!regex_ok(filter[0] == '-' ? filter + 1 : filter, &re)) {
		fprintf(stderr, "iobench gate: --filter '%s' is not a valid regular expression\n",
			filter);
		return IOB_EXIT_USAGE;
	}
	regfree(&re);
	for (int i = 0; i < 2; i++) {
		const char *p = i ? o->cand_bench : o->base_bench;

		if (access(p, X_OK) != 0) {
			fprintf(stderr,
				"iobench gate: %s benchmark binary '%s' is missing or not "
				"executable\n",
				i ? "candidate" : "baseline", p);
			return IOB_EXIT_USAGE;
		}
	}
	if (make_tmpdir(tmp, sizeof(tmp)))
		return IOB_EXIT_USAGE;
	iob_sysstat_read(&before);
	quiet = before.ok && ncpu > 0 && before.load1 <= QUIET_LOAD * (double)ncpu;
	printf("gate tier 2 (advisory): %ld rounds x %ld repetitions, filter %s, load1 %.2f on %ld "
	       "CPUs (%s)\n",
	       o->rounds, o->reps, filter, before.load1, ncpu, quiet ? "quiet" : "busy");
	for (long r = 0; r < o->rounds && status == IOB_EXIT_OK; r++) {
		for (int side = 0; side < 2; side++) {
			char js[PATH_MAX], log[PATH_MAX], a_f[600], a_r[64], a_t[64],
				a_o[PATH_MAX + 32], why[128], err[PATH_MAX + 128];
			char *argv[] = {
				(char *)(side ? o->cand_bench : o->base_bench), a_f, a_r, a_t, a_o,
				(char *)"--benchmark_out_format=json",		NULL
			};
			json_t *doc;
			int rc;

			pathf(js, sizeof(js), "%s/r%ld-%c.json", tmp, r, side ? 'B' : 'A');
			pathf(log, sizeof(log), "%s/r%ld-%c.log", tmp, r, side ? 'B' : 'A');
			snprintf(a_f, sizeof(a_f), "--benchmark_filter=%s", filter);
			snprintf(a_r, sizeof(a_r), "--benchmark_repetitions=%ld", o->reps);
			snprintf(a_t, sizeof(a_t), "--benchmark_min_time=%g", o->min_time);
			snprintf(a_o, sizeof(a_o), "--benchmark_out=%s", js);
			rc = iob_spawn_wait(argv, log, log);
			if (rc) {
				iob_describe_status(rc, why, sizeof(why));
				fprintf(stderr,
					"iobench gate: round %ld, %s (%s): %s; its output:\n",
					r + 1, side ? "candidate" : "baseline", argv[0], why);
				tail_file(log, 8);
				status = IOB_EXIT_FAIL;
				break;
			}
			doc = iob_results_load(js, err, sizeof(err));
			if (!doc) {
				fprintf(stderr, "iobench gate: %s\n", err);
				status = IOB_EXIT_FAIL;
				break;
			}
			if (take_round(doc, &s, &n, o->rounds, r, side == 1)) {
				fprintf(stderr, "iobench gate: out of memory\n");
				status = IOB_EXIT_FAIL;
			}
			json_decref(doc);
		}
	}
	iob_sysstat_read(&after);
	if (status == IOB_EXIT_OK && n == 0) {
		fprintf(stderr, "iobench gate: no benchmark matches --filter '%s'\n", filter);
		status = IOB_EXIT_USAGE;
	}
	if (status != IOB_EXIT_OK)
		goto out;
	for (int i = 0; i < n; i++) {
		struct series *e = &s[i];
		struct iob_utest ut;
		double med, best, agree;
		long worse = 0, both = 0;
		const char *verdict;
		bool gross;

		if (!e->na || !e->nb) {
			printf("%-8s %-44s only in the %s build\n", "skipped", e->name,
			       e->na ? "baseline" : "candidate");
			continue;
		}
		/* Slowdowns: > 1 means the candidate is worse. */
		med = e->tp ? iob_median_copy(e->a, e->na) / iob_median_copy(e->b, e->nb)
			    : iob_median_copy(e->b, e->nb) / iob_median_copy(e->a, e->na);
		best = e->tp ? vmax(e->a, e->na) / vmax(e->b, e->nb)
			     : vmin(e->b, e->nb) / vmin(e->a, e->na);
		for (long r = 0; r < o->rounds; r++) {
			if (isnan(e->ra[r]) || isnan(e->rb[r]))
				continue;
			both++;
			worse += e->tp ? e->rb[r] < e->ra[r] : e->rb[r] > e->ra[r];
		}
		agree = both ? (double)worse / (double)both : 0;
		if (iob_mannwhitney(e->b, e->nb, e->a, e->na, &ut))
			ut.p = 1;
		gross = med > GROSS_RATIO && best > GROSS_RATIO && ut.p < GROSS_P &&
			agree >= GROSS_AGREE;
		if (gross && quiet)
			verdict = "GROSS";
		else if (gross || (med > SUSPECT_RATIO && ut.p < SUSPECT_P))
			verdict = "suspect";
		else if (med < 1 / SUSPECT_RATIO && ut.p < SUSPECT_P)
			verdict = "faster";
		else
			verdict = "same";
		printf("%-8s %-44s slowdown median %.3f best %.3f  p %.4f  worse in %ld/%ld rounds "
		       " "
		       "(%s, n %zu+%zu)%s\n",
		       verdict, e->name, med, best, ut.p, worse, both,
		       e->tp ? "items_per_second" : "real_time", e->na, e->nb,
		       gross && !quiet ? " gross, but the machine was busy: advisory" : "");
		if (gross && quiet)
			failed++;
		else
			passed++;
		suspect += strcmp(verdict, "suspect") == 0;
	}
	printf("load1 before %.2f, after %.2f; %d suspect (advisory), %d gross (blocking)\n",
	       before.load1, after.load1, suspect, failed);
	printf("%d passed, %d failed\n", passed, failed);
	status = failed ? IOB_EXIT_FAIL : IOB_EXIT_OK;
out:
	for (int i = 0; i < n; i++) {
		free(s[i].a);
		free(s[i].b);
		free(s[i].ra);
		free(s[i].rb);
	}
	free(s);
	remove_tmpdir(tmp);
	return status;
}

/* --- tier 3 --- */

/* The benchmark's name with its impl component replaced (params, timing, threads kept). */
static void with_impl(const char *name, const char *impl, char *out, size_t len)
{
	const char *a = strchr(name, '/'), *b = a ? strchr(a + 1, '/') : NULL;
	const char *c = b ? strchr(b + 1, '/') : NULL;

	if (!b) {
		snprintf(out, len, "%s", name);
		return;
	}
	snprintf(out, len, "%.*s/%s%s", (int)(b - name), name, impl, c ? c : "");
}

static int tier3(const struct gate_opts *o)
{
	char trend[PATH_MAX], root[PATH_MAX], err[PATH_MAX + 128], date[64];
	struct iob_run_path run;
	const char *path;
	struct iob_sample_set smp = { 0 };
	struct iob_index ix = { 0 };
	struct iob_catalogue *cat = NULL;
	json_t *doc, *ctx, *ratios, *line = NULL;
	const char *field = "items_per_second";
	bool nomem;
	int passed = 0, status = IOB_EXIT_OK, fd;
	char *text;

	if (!o->run) {
		return iob_usage_error("gate", "tier 3 needs --run RUN");
	}
	if (iob_run_resolve(o->run, &run, err, sizeof(err))) {
		fprintf(stderr, "iobench gate: --run %s\n", err);
		return IOB_EXIT_USAGE;
	}
	path = run.file;
	if (o->trend) {
		snprintf(trend, sizeof(trend), "%s", o->trend);
	} else if (iob_locate_source_root(root, sizeof(root)) == 0) {
		pathf(trend, sizeof(trend), "%s/results/trends.jsonl", root);
	} else {
		fprintf(stderr, "iobench gate: cannot locate the source tree; pass --trend FILE\n");
		return IOB_EXIT_USAGE;
	}
	doc = iob_results_load(path, err, sizeof(err));
	if (!doc) {
		fprintf(stderr, "iobench gate: %s\n", err);
		return IOB_EXIT_USAGE;
	}
	ctx = json_object_get(doc, "context");
	cat = iob_catalogue_for_run(doc);
	ratios = json_object();
	nomem = !ratios || iob_index_build(doc, &ix) || iob_results_samples(&ix, field, &smp);
	if (!nomem && smp.n == 0) {
		field = "real_time";
		iob_samples_free(&smp);
		nomem = iob_results_samples(&ix, field, &smp) != 0;
	}
	if (nomem) {
		fprintf(stderr, "iobench gate: out of memory\n");
		status = IOB_EXIT_FAIL;
		goto out;
	}
	printf("gate tier 3 (trend, never blocks): %s, %s ratio to the family reference\n", path,
	       field);
	for (long i = 0; i < smp.n; i++) {
		const struct iob_samples *mi = &smp.s[i], *ri;
		struct iob_name nm;
		const char *ref;
		char group[160], refname[512];
		double mine, theirs, ratio;

		if (iob_name_parse(mi->name, &nm))
			continue;
		snprintf(group, sizeof(group), "%s/%s", nm.family, nm.scenario);
		if (!(ref = iob_reference_impl(doc, cat, group)))
			continue;
		with_impl(mi->name, ref, refname, sizeof(refname));
		if (!(ri = iob_samples_find(&smp, refname)))
			continue;
		mine = iob_median_copy(mi->v, mi->n);
		theirs = iob_median_copy(ri->v, ri->n);
		if (!(mine > 0) || !(theirs > 0))
			continue;
		/* > 1: faster than the reference, whichever metric. */
		ratio = strcmp(field, "real_time") ? mine / theirs : theirs / mine;
		json_object_set_new(ratios, mi->name, json_real(ratio));
		printf("ratio    %-56s %8.3f  (vs %s)\n", mi->name, ratio, ref);
		passed++;
	}
	{
		time_t now = time(NULL);
		struct tm tm;
		const char *d = json_string_value(json_object_get(ctx, "date"));

		gmtime_r(&now, &tm);
		strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", &tm);
		line = json_pack("{s:O?, s:s, s:O?, s:s, s:s, s:O}", "sha",
				 json_object_get(ctx, "iobench_git_sha"), "date", d ? d : date,
				 "quiet", json_object_get(ctx, "iobench_quiet"), "run", path,
				 "metric", field, "ratios", ratios);
	}
	text = line ? json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	if (!text) {
		fprintf(stderr, "iobench gate: out of memory\n");
		status = IOB_EXIT_FAIL;
		goto out;
	}
	/* One write of one whole line with O_APPEND: earlier lines are never touched. */
	fd = open(trend, O_WRONLY | O_CREAT | O_APPEND, 0666);
	if (fd < 0) {
		fprintf(stderr, "iobench gate: cannot open trends file %s: %s\n", trend,
			strerror(errno));
		free(text);
		status = IOB_EXIT_USAGE;
		goto out;
	}
	{
		size_t len = strlen(text);

		text[len] = '\n';
		if (write(fd, text, len + 1) != (ssize_t)(len + 1) || fsync(fd)) {
			fprintf(stderr, "iobench gate: cannot append to %s: %s\n", trend,
				strerror(errno));
			status = IOB_EXIT_FAIL;
		}
		text[len] = '\0';
	}
	close(fd);
	free(text);
	if (status == IOB_EXIT_OK) {
		printf("appended %d ratios to %s\n", passed, trend);
		printf("%d passed, 0 failed\n", passed);
	}
out:
	iob_samples_free(&smp);
	iob_index_free(&ix);
	json_decref(line);
	json_decref(ratios);
	iob_catalogue_free(cat);
	json_decref(doc);
	return status;
}

/* --- options --- */

static int parse_gate_opts(int argc, char **argv, struct gate_opts *o)
{
	enum {
		O_TIER = 256,
		O_BASELINE,
		O_THRESHOLD,
		O_FILTER,
		O_ITER,
		O_REPEAT,
		O_BENCH,
		O_UPDATE,
		O_BASE_BENCH,
		O_CAND_BENCH,
		O_ROUNDS,
		O_REPS,
		O_MINTIME,
		O_RUN,
		O_TREND,
		O_HELP
	};
	static const struct option opts[] = {
		{ "tier", required_argument, NULL, O_TIER },
		{ "baseline", required_argument, NULL, O_BASELINE },
		{ "threshold", required_argument, NULL, O_THRESHOLD },
		{ "filter", required_argument, NULL, O_FILTER },
		{ "iterations", required_argument, NULL, O_ITER },
		{ "repeat", required_argument, NULL, O_REPEAT },
		{ "bench", required_argument, NULL, O_BENCH },
		{ "update-baseline", no_argument, NULL, O_UPDATE },
		{ "baseline-bench", required_argument, NULL, O_BASE_BENCH },
		{ "candidate-bench", required_argument, NULL, O_CAND_BENCH },
		{ "rounds", required_argument, NULL, O_ROUNDS },
		{ "repetitions", required_argument, NULL, O_REPS },
		{ "min-time", required_argument, NULL, O_MINTIME },
		{ "run", required_argument, NULL, O_RUN },
		{ "trend", required_argument, NULL, O_TREND },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	long v;
	int c;

	*o = (struct gate_opts){ .tier = 1,
				 .threshold = -1,
				 .repeat = 1,
				 .rounds = DEFAULT_ROUNDS,
				 .reps = DEFAULT_REPS,
				 .min_time = DEFAULT_MIN_TIME };
	iob_opt_begin();
	while ((c = iob_opt_next("gate", argc, argv, NULL, opts)) != -1) {
		const char *bad = NULL; /* what the value must be */

		switch (c) {
		case O_TIER:
			if (iob_parse_long(optarg, 1, 3, &v))
				bad = "1, 2 or 3";
			o->tier = (int)v;
			break;
		case O_BASELINE:
			o->baseline = optarg;
			break;
		case O_THRESHOLD:
			if (iob_parse_double(optarg, 0, 1000, &o->threshold))
				bad = "a percentage from 0 to 1000";
			break;
		case O_FILTER:
			o->filter = optarg;
			break;
		case O_ITER:
			if (iob_parse_long(optarg, 1, 1000000000L, &o->iterations))
				bad = "1..1000000000";
			break;
		case O_REPEAT:
			if (iob_parse_long(optarg, 1, 64, &o->repeat))
				bad = "1..64";
			break;
		case O_BENCH:
			o->bench = optarg;
			break;
		case O_UPDATE:
			o->update = true;
			break;
		case O_BASE_BENCH:
			o->base_bench = optarg;
			break;
		case O_CAND_BENCH:
			o->cand_bench = optarg;
			break;
		case O_ROUNDS:
			if (iob_parse_long(optarg, 1, 1000, &o->rounds))
				bad = "1..1000";
			break;
		case O_REPS:
			if (iob_parse_long(optarg, 1, 1000, &o->reps))
				bad = "1..1000";
			break;
		case O_MINTIME:
			if (iob_parse_double(optarg, 1e-6, 3600, &o->min_time))
				bad = "seconds in (0, 3600]";
			break;
		case O_RUN:
			o->run = optarg;
			break;
		case O_TREND:
			o->trend = optarg;
			break;
		case O_HELP:
			return iob_print_usage(gate_usage) == IOB_EXIT_OK ? -1 : IOB_EXIT_FAIL;
		default:
			return IOB_EXIT_USAGE;
		}
		if (bad) {
			char name[32] = "";

			for (const struct option *p = opts; p->name; p++)
				if (p->val == c)
					snprintf(name, sizeof(name), "--%s", p->name);
			return iob_bad_value("gate", name, bad, optarg);
		}
	}
	if (optind < argc)
		return iob_unexpected_arg("gate", argv[optind]);
	if (o->update && o->tier != 1)
		return iob_usage_error("gate", "--update-baseline is for tier 1");
	return 0;
}

int iob_cmd_gate(int argc, char **argv)
{
	struct gate_opts o;
	int rc = parse_gate_opts(argc, argv, &o);

	if (rc)
		return rc < 0 ? IOB_EXIT_OK : rc;
	switch (o.tier) {
	case 2:
		return tier2(&o);
	case 3:
		return tier3(&o);
	default:
		return tier1(&o);
	}
}
