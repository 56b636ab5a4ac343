/*
 * The harness's parsers against hostile input: the matrix spec parser (harness/matrix.h) and the
 * results loader (harness/results.h), in-process, so the ASan pass of the unit suite sees every
 * read, write and leak.
 *
 * 1. The results loader's limits (file size, rows, string length) and its folder message.
 * 2. A seeded mutation fuzzer over a corpus of valid specs and a small valid results.json: byte
 *    and bit flips, splices from other corpus entries, deletions, duplicated list elements (the
 *    mutation that found the repeated-thread-count use-after-free), huge and edge numbers, deep
 *    nesting, long strings, control characters. Each input must either parse (and then expand or
 *    sample within the documented limits) or fail with a non-empty one-line message naming the
 *    file; a crash, a sanitizer report or a leak fails the test.
 *
 * Bounded by iterations and by time (FUZZ_SECONDS per parser, a budget, not an assertion), so it
 * holds on any machine. The seed is printed; IOBENCH_SEED=<seed> replays the same inputs (input i
 * depends only on the seed and i), and a failure names the iteration and writes the input to
 * $TMPDIR/fuzz-<parser>-<seed>-<i>.json.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "catalogue.h"
#include "matrix.h"
#include "results.h"

#define FUZZ_ITERATIONS 200000
#define FUZZ_SECONDS	2.5 /* each of the two parsers: ~5 s in all */

static uint64_t g_seed;
static char g_dir[64];

/* --- a growing buffer --- */

struct buf {
	char *s;
	size_t len, cap;
};

static void reserve(struct buf *b, size_t more)
{
	if (b->len + more + 1 <= b->cap)
		return;
	b->cap = 2 * (b->len + more + 1);
	b->s = realloc(b->s, b->cap);
	assert_non_null(b->s);
}

static void insert(struct buf *b, size_t at, const char *s, size_t n)
{
	reserve(b, n);
	memmove(b->s + at + n, b->s + at, b->len - at + 1);
	memcpy(b->s + at, s, n);
	b->len += n;
}

static void erase(struct buf *b, size_t at, size_t n)
{
	memmove(b->s + at, b->s + at + n, b->len - at - n + 1);
	b->len -= n;
}

static void set(struct buf *b, const char *s)
{
	b->len = 0;
	reserve(b, strlen(s));
	memcpy(b->s, s, strlen(s) + 1);
	b->len = strlen(s);
}

/* --- the seed and the PRNG (splitmix64: input i is a function of seed and i alone) --- */

static uint64_t next(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static size_t below(uint64_t *x, size_t n)
{
	return n ? (size_t)(next(x) % n) : 0;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* --- the corpus --- */

/* The default matrix's shape as the catalogue derives it (a seed for the mutations). */
static const char default_spec[] =
	"{\"name\": \"default\", \"defaults\": {\"repetitions\": 3, \"min_time\": 0.1,\n"
	" \"warmup\": 0.05, \"timeout\": 60, \"placements\": [\"compact\"]},\n"
	" \"suites\": [{\"family\": \"queue/pairs\", \"impls\": [\"iort_mpmc\", \"rte_mpmc\"],\n"
	"   \"threads\": [1, 2, 4], \"params\": {\"pause\": [null, \"50-150\"]},\n"
	"   \"reference\": \"rte_mpmc\"},\n"
	"  {\"family\": \"queue/handoff\", \"impls\": [\"iort_mpmc\", \"iort_mpsc\"],\n"
	"   \"threads\": [2, 3], \"reference\": \"rte_spsc\"},\n"
	"  {\"family\": \"queue/handoff\", \"impls\": [\"iort_spsc\", \"rte_spsc\"],\n"
	"   \"threads\": [2], \"reference\": \"rte_spsc\"},\n"
	"  {\"family\": \"harness/hist_record\", \"impls\": [\"iob_hist\"], \"threads\": [1]}]}\n";

static const char *const specs[] = {
	NULL, /* default_spec, filled in at run time */
	"{\"name\": \"t\", \"defaults\": {\"repetitions\": 5, \"min_time\": 0.5, \"warmup\": 0.2,\n"
	" \"timeout\": 9, \"placements\": [\"compact\", \"spread\"], \"threads\": [2]},\n"
	" \"suites\": [{\"family\": \"q/s\", \"impls\": [\"a\", \"b\"],\n"
	"   \"params\": {\"w\": [1, 64], \"p\": [null, \"x.y\"]}, \"repetitions\": 7},\n"
	"  {\"family\": \"h/r\", \"impls\": [\"c\"], \"threads\": [1, 3], \"placements\": "
	"[\"numa:0\"], \"timeout\": 1.5}]}\n",
	"{\"suites\": [{\"family\": \"queue/spsc\", \"impls\": [\"iort_spsc\", \"rte_spsc\"],\n"
	"  \"threads\": [2], \"params\": {\"burst\": [1, 8, 32]}, \"reference\": \"rte_spsc\"},\n"
	" {\"family\": \"queue/spsc\", \"impls\": [\"ck_ring_spsc\"], \"threads\": [2, 4],\n"
	"  \"reference\": \"rte_spsc\", \"warmup\": 0, \"min_time\": 0.01}]}\n",
	"{\"name\": \"small\",\n"
	" \"defaults\": {\"repetitions\": 2, \"min_time\": 0.01, \"warmup\": 0.01, \"timeout\": "
	"30},\n"
	" \"suites\": [\n"
	"  {\"family\": \"harness/hist_record\", \"impls\": [\"iob_hist\"], \"threads\": [1]},\n"
	"  {\"family\": \"queue/pairs\", \"impls\": [\"iort_mpmc\", \"rte_mpmc\"], \"threads\": "
	"[1, 2, 4],\n"
	"   \"params\": {\"pause\": [null, \"50-150\"], \"n\": [-3, 0, 4096]}, \"placements\": "
	"[\"list:0,1\", \"spread\"]}\n"
	" ]}\n",
};

static const char results_text[] =
	"{\n"
	"  \"context\": {\"date\": \"2026-01-01T00:00:00+00:00\", \"host_name\": \"h\",\n"
	"    \"num_cpus\": 2, \"iobench_references\": {\"queue/pairs\": \"rte_mpmc\"},\n"
	"    \"caches\": [{\"type\": \"Data\", \"level\": 1, \"size\": 32768}]},\n"
	"  \"benchmarks\": [\n"
	"    {\"name\": \"queue/pairs/iort_mpmc/pause:50-150/threads:2\", \"run_name\": "
	"\"queue/pairs/iort_mpmc/pause:50-150/threads:2\",\n"
	"     \"run_type\": \"iteration\", \"repetitions\": 2, \"repetition_index\": 0, "
	"\"threads\": 2,\n"
	"     \"iterations\": 1000, \"real_time\": 1.5e3, \"cpu_time\": 1.4e3, \"time_unit\": "
	"\"ns\",\n"
	"     \"items_per_second\": 6.5e6, \"p99_ns\": 912},\n"
	"    {\"name\": \"queue/pairs/rte_mpmc/real_time/threads:2\", \"run_type\": "
	"\"iteration\",\n"
	"     \"iterations\": 10, \"real_time\": 2.0, \"time_unit\": \"us\", \"items_per_second\": "
	"3e6},\n"
	"    {\"name\": \"queue/pairs/rte_mpmc/real_time/threads:2_mean\", \"run_type\": "
	"\"aggregate\",\n"
	"     \"aggregate_name\": \"mean\", \"real_time\": 2.0, \"time_unit\": \"us\"},\n"
	"    {\"name\": \"queue/pairs/x/threads:1@compact\", \"error_occurred\": true,\n"
	"     \"error_message\": \"cell crashed: killed by signal 6 (Aborted)\", \"iterations\": "
	"0}\n"
	"  ]\n"
	"}\n";

/* --- mutations --- */

static bool is_delim(char c)
{
	return strchr(",:[]{} \n\t", c) != NULL;
}

/* A list element duplicated in place: "[1, 2, 4]" -> "[1, 2, 2, 4]", "[\"a\"]" -> "[\"a\",\"a\"]". */
static void dup_element(struct buf *b, uint64_t *x)
{
	size_t at = below(x, b->len), start, end;
	char *copy;

	while (at < b->len && b->s[at] != ',' && b->s[at] != ']')
		at++;
	if (at >= b->len)
		return;
	end = at;
	start = at;
	while (start > 0 && b->s[start - 1] != ',' && b->s[start - 1] != '[')
		start--;
	if (start == end)
		return;
	copy = strndup(b->s + start, end - start);
	assert_non_null(copy);
	insert(b, end, ",", 1);
	insert(b, end + 1, copy, strlen(copy));
	if (below(x, 8) == 0) { /* sometimes many: up to 64 KiB of copies, in one insertion */
		size_t k = below(x, 2000), n = strlen(copy) + 1;
		struct buf t = { 0 };

		for (; k > 0 && t.len + n <= 65536; k--) {
			insert(&t, t.len, ",", 1);
			insert(&t, t.len, copy, n - 1);
		}
		if (t.s)
			insert(b, end, t.s, t.len);
		free(t.s);
	}
	free(copy);
}

static const char *const numbers[] = {
	"0",	 "-1",	  "4096", "4097", "1001", "99999999999999999999", "-9223372036854775808",
	"1e308", "1e999", "-0",	  "0.0",  "1e-9", "86400.0000001",	  "18446744073709551616",
	"3.5",	 "NaN",	  "1.",	  "00",	  "2e2",  "9223372036854775807",  "-1e-400",
};

/* A run of digits (a number) replaced by an edge or huge one. */
static void swap_number(struct buf *b, uint64_t *x)
{
	size_t at = below(x, b->len), end;
	const char *n = numbers[below(x, sizeof(numbers) / sizeof(numbers[0]))];

	while (at < b->len && !(b->s[at] >= '0' && b->s[at] <= '9'))
		at++;
	if (at >= b->len)
		return;
	while (at > 0 && (b->s[at - 1] == '-' || b->s[at - 1] == '.' ||
			  (b->s[at - 1] >= '0' && b->s[at - 1] <= '9')))
		at--;
	for (end = at; end < b->len && !is_delim(b->s[end]); end++)
		;
	erase(b, at, end - at);
	insert(b, at, n, strlen(n));
}

/* [[[...]]] or {"a":{"a":...}} at a value position, 1..3000 deep (jansson stops at 2048). */
static void nest(struct buf *b, uint64_t *x)
{
	size_t at = below(x, b->len + 1), depth = 1 + below(x, 3000);
	bool obj = below(x, 2);
	struct buf t = { 0 };

	for (size_t i = 0; i < depth; i++)
		insert(&t, t.len, obj ? "{\"a\":" : "[", obj ? 5 : 1);
	insert(&t, t.len, "1", 1);
	for (size_t i = 0; i < depth; i++)
		insert(&t, t.len, obj ? "}" : "]", 1);
	while (at < b->len && b->s[at] != ':' && b->s[at] != '[' && b->s[at] != ',')
		at++;
	if (at < b->len) {
		size_t end = at + 1;

		while (end < b->len && !strchr(",]}", b->s[end]))
			end++;
		erase(b, at + 1, end - at - 1); /* the value it replaces */
		insert(b, at + 1, t.s, t.len);
	}
	free(t.s);
}

/* The contents of a string replaced by a long run, control characters or escapes. */
static void swap_string(struct buf *b, uint64_t *x)
{
	static const char *const bits[] = { "\\u0000", "\\n",	   "\\u0001", "\\t",
					    "\\\"",    "/",	   "@",	      ":",
					    "\x7f",    "\xc3\xa9", "\\ud800", "%s%n" };
	size_t at = below(x, b->len), end;
	struct buf t = { 0 };

	while (at < b->len && b->s[at] != '"')
		at++;
	if (at >= b->len)
		return;
	for (end = at + 1; end < b->len && b->s[end] != '"'; end++)
		if (b->s[end] == '\\')
			end++;
	if (end >= b->len)
		return;
	switch (below(x, 3)) {
	case 0: { /* long: around the 63-byte name limit, or far past it */
		size_t n = below(x, 2) ? 60 + below(x, 8) : below(x, 100000);

		reserve(&t, n);
		memset(t.s, 'x', n);
		t.len = n;
		t.s[n] = '\0';
		break;
	}
	default:
		for (size_t k = 1 + below(x, 3); k > 0; k--) {
			const char *s = bits[below(x, sizeof(bits) / sizeof(bits[0]))];

			insert(&t, t.len, "n", 1);
			insert(&t, t.len, s, strlen(s));
		}
	}
	erase(b, at + 1, end - at - 1);
	if (t.s)
		insert(b, at + 1, t.s, t.len);
	free(t.s);
}

static void mutate(struct buf *b, uint64_t *x, const char *const *corpus, size_t ncorpus)
{
	for (size_t k = below(x, 4) ? 1 : 2 + below(x, 3); k > 0; k--) { /* mostly one */
		size_t at = below(x, b->len + 1);

		switch (below(x, 9)) {
		case 0: /* byte flip */
			if (at < b->len)
				b->s[at] = (char)(1 + below(x, 255));
			break;
		case 1: /* bit flip (a NUL would only end the text early) */
			if (at < b->len)
				b->s[at] ^= (char)(1 << below(x, 8));
			if (at < b->len && !b->s[at])
				b->s[at] = ' ';
			break;
		case 2: { /* splice: a piece of another corpus entry */
			const char *o = corpus[below(x, ncorpus)];
			size_t from = below(x, strlen(o)), n = below(x, strlen(o) - from + 1);

			insert(b, at, o + from, n);
			break;
		}
		case 3: /* deletion */
			erase(b, at, below(x, b->len - at + 1) / (below(x, 4) + 1));
			break;
		case 4:
		case 5:
			dup_element(b, x);
			break;
		case 6:
			swap_number(b, x);
			break;
		case 7:
			nest(b, x);
			break;
		default:
			swap_string(b, x);
		}
	}
}

/* --- checks --- */

static void save_input(const char *what, size_t iter, const struct buf *b)
{
	const char *tmp = getenv("TMPDIR");
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/fuzz-%s-%" PRIu64 "-%zu.json", tmp && *tmp ? tmp : "/tmp",
		 what, g_seed, iter);
	f = fopen(path, "w");
	if (f) {
		fwrite(b->s, 1, b->len, f);
		fclose(f);
		printf("  input written to %s\n", path);
	}
}

/* A failure message: non-empty, one line, no control character, starting with @p file. */
static bool good_message(const char *err, const char *file)
{
	if (!*err || strncmp(err, file, strlen(file)) != 0)
		return false;
	for (const char *c = err; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return false;
	return true;
}

#define FUZZ_CHECK(cond, what, iter, b, fmt, ...)                                                 \
	do {                                                                                      \
		if (!(cond)) {                                                                    \
			save_input(what, iter, b);                                                \
			fail_msg("seed %" PRIu64 " iteration %zu: %s: " fmt, g_seed, iter, #cond, \
				 __VA_ARGS__);                                                    \
		}                                                                                 \
	} while (0)

/* A parsed spec: its cells are within the limits, whole and consistent. */
static void check_cells(const struct iob_matrix *m, size_t iter, const struct buf *b)
{
	struct iob_cell *cells = NULL;
	char err[1024] = "";
	size_t n = 0;
	int rc = iob_matrix_expand(m, &cells, &n, err, sizeof(err));

	FUZZ_CHECK(rc == 0 || (rc == -EINVAL && good_message(err, "cell ")), "matrix", iter, b,
		   "expand %d '%s'", rc, err);
	for (size_t i = 0; i < n; i++) {
		const struct iob_cell *c = &cells[i];
		size_t bl = strlen(c->bench);

		FUZZ_CHECK(strlen(c->id) <= IOB_MATRIX_MAX_ID, "matrix", iter, b, "%s", c->id);
		FUZZ_CHECK(strncmp(c->id, c->bench, bl) == 0 && c->id[bl] == '@' &&
				   strcmp(c->id + bl + 1, c->placement) == 0,
			   "matrix", iter, b, "%s vs %s", c->id, c->bench);
		FUZZ_CHECK(c->filter[0] == '^' && c->filter[strlen(c->filter) - 1] == '$', "matrix",
			   iter, b, "%s", c->filter);
		FUZZ_CHECK(i == 0 || strcmp(cells[i - 1].id, c->id) < 0, "matrix", iter, b,
			   "unsorted at %zu", i);
	}
	FUZZ_CHECK(n <= IOB_MATRIX_MAX_CELLS, "matrix", iter, b, "%zu cells", n);
	iob_cells_free(cells, n);
}

/* --- 1. the results loader's limits --- */

static void write_file(const char *path, const char *a, const char *fill, size_t nfill,
		       const char *b)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(a, f);
	for (size_t i = 0; i < nfill; i++)
		fputs(fill, f);
	fputs(b, f);
	assert_int_equal(fclose(f), 0);
}

static void expect_load_error(const char *path, const char *want)
{
	char err[512] = "";
	json_t *root = iob_results_load(path, err, sizeof(err));

	printf("  %s\n", err);
	assert_null(root);
	if (!strstr(err, want))
		fail_msg("'%s' lacks '%s'", err, want);
	assert_true(good_message(err, path));
}

static void test_results_limits(void **state)
{
	char path[128], err[512], *s;
	json_t *root;
	FILE *f;

	(void)state;
	assert_int_equal(IOB_RESULTS_MAX_ROWS, 1000000);
	assert_int_equal(IOB_RESULTS_MAX_STRING, 65536);
	expect_load_error(g_dir, ": Is a directory");

	/* Size: refused before reading (a sparse file of 512 MiB + 1 byte). */
	snprintf(path, sizeof(path), "%s/big.json", g_dir);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(ftruncate(fileno(f), IOB_RESULTS_MAX_BYTES + 1), 0);
	fclose(f);
	expect_load_error(path, "big.json: 536870913 bytes, more than the limit of 536870912 bytes "
				"(512 MiB) for a results file");

	/* Rows: at the limit the rows are checked one by one (these have no names); one more row
	 * is refused as such. */
	snprintf(path, sizeof(path), "%s/rows.json", g_dir);
	write_file(path, "{\"context\": {}, \"benchmarks\": [", "0,", IOB_RESULTS_MAX_ROWS - 1,
		   "0]}");
	expect_load_error(path, "rows.json: benchmarks[0] has no \"name\" string");
	write_file(path, "{\"context\": {}, \"benchmarks\": [", "0,", IOB_RESULTS_MAX_ROWS, "0]}");
	expect_load_error(path, "rows.json: 1000001 rows in \"benchmarks\", more than the limit of "
				"1000000 rows");

	/* Strings and keys: 65536 bytes load, 65537 are refused, naming the row or the key. */
	s = malloc(IOB_RESULTS_MAX_STRING + 2);
	assert_non_null(s);
	memset(s, 'x', IOB_RESULTS_MAX_STRING + 1);
	s[IOB_RESULTS_MAX_STRING + 1] = '\0';
	snprintf(path, sizeof(path), "%s/str.json", g_dir);
	write_file(path, "{\"context\": {\"host_name\": \"", s + 1, 1,
		   "\"}, \"benchmarks\": [{\"name\": \"a/b/c\"}]}");
	root = iob_results_load(path, err, sizeof(err));
	assert_non_null(root);
	json_decref(root);
	write_file(path, "{\"context\": {\"host_name\": \"", s, 1,
		   "\"}, \"benchmarks\": [{\"name\": \"a/b/c\"}]}");
	expect_load_error(path,
			  "str.json: \"context\" holds a string of 65537 bytes, more than the "
			  "limit of 65536 bytes");
	write_file(path,
		   "{\"context\": {}, \"benchmarks\": [{\"name\": \"a/b/c\"},\n {\"name\": \"", s,
		   1, "\"}]}");
	expect_load_error(path, "str.json: benchmarks[1] holds a string of 65537 bytes, more than "
				"the limit of 65536 bytes");
	write_file(path, "{\"context\": {}, \"benchmarks\": [{\"name\": \"a/b/c\", \"", s, 1,
		   "\": 1}]}");
	expect_load_error(path, "str.json: benchmarks[0] holds a string of 65537 bytes");
	free(s);
	unlink(path);
	snprintf(path, sizeof(path), "%s/rows.json", g_dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/big.json", g_dir);
	unlink(path);
}

/* --- 2. the fuzzer --- */

static void test_fuzz_matrix(void **state)
{
	const char *corpus[sizeof(specs) / sizeof(specs[0])];
	size_t ncorpus = sizeof(specs) / sizeof(specs[0]), iter, parsed = 0;
	double end = now() + FUZZ_SECONDS;
	struct buf b = { 0 };

	(void)state;
	for (size_t i = 0; i < ncorpus; i++)
		corpus[i] = specs[i] ? specs[i] : default_spec;
	for (iter = 0; iter < FUZZ_ITERATIONS && (iter % 16 || now() < end); iter++) {
		uint64_t x = g_seed ^ (0x6d61747269780000ull + iter); /* "matrix" */
		struct iob_matrix *m = (struct iob_matrix *)&b;	      /* must stay untouched */
		char err[1024];
		int rc;

		set(&b, corpus[below(&x, ncorpus)]);
		mutate(&b, &x, corpus, ncorpus);
		memset(err, 'Z', sizeof(err));
		rc = iob_matrix_parse(b.s, "fuzz.json", &m, err, sizeof(err));
		FUZZ_CHECK(rc == 0 || rc == -EINVAL, "matrix", iter, &b, "rc %d", rc);
		if (rc) {
			FUZZ_CHECK(memchr(err, '\0', sizeof(err)) &&
					   good_message(err, "fuzz.json:"),
				   "matrix", iter, &b, "message '%.200s'", err);
			FUZZ_CHECK(m == (struct iob_matrix *)&b, "matrix", iter, &b, "%s",
				   "*out written");
			continue;
		}
		parsed++;
		check_cells(m, iter, &b);
		iob_matrix_free(m);
	}
	printf("  matrix: %zu inputs, %zu parsed (seed %" PRIu64 ")\n", iter, parsed, g_seed);
	free(b.s);
}

/* A catalogue's shape (tests/harness/unit/test_catalogue.c has a fuller one). */
static const char catalogue_text[] =
	"{\"iobench_catalogue\": 1, \"families\": [{\"name\": \"queue\", \"about\": \"q\",\n"
	" \"scenarios\": [{\"name\": \"queue/handoff\", \"about\": \"l\", \"kind\": \"latency\",\n"
	"  \"timing\": \"real_time\", \"default\": true, \"gate\": false, \"reference\": \"b\",\n"
	"  \"params\": {\"w\": [1, \"x\", null]}, \"impls\": [{\"name\": \"a\", \"threads\": "
	"[2]},\n"
	"  {\"name\": \"b\", \"threads\": [2, 3]}], \"benchmarks\": [\"queue/handoff/a/w:1\"]},\n"
	" {\"name\": \"gate/x\", \"about\": null, \"kind\": \"time\", \"timing\": \"cpu_time\",\n"
	"  \"default\": false, \"gate\": true, \"reference\": null, \"params\": {},\n"
	"  \"impls\": [{\"name\": \"a\", \"threads\": []}], \"benchmarks\": [\"gate/x/a\"]}]}],\n"
	" \"impls\": [{\"name\": \"a\", \"origin\": \"iort\", \"package\": null,\n"
	"  \"available\": true, \"missing\": null, \"about\": \"z\"}]}\n";

/* The catalogue comes from a binary the user may point at (--bench): parse it, derive the
 * default matrix and the gate's list from whatever is accepted. */
static void test_fuzz_catalogue(void **state)
{
	const char *corpus[] = { catalogue_text, default_spec };
	size_t iter, parsed = 0;
	double end = now() + FUZZ_SECONDS;
	struct buf b = { 0 };

	(void)state;
	for (iter = 0; iter < FUZZ_ITERATIONS && (iter % 16 || now() < end); iter++) {
		uint64_t x = g_seed ^ (0x636174616c6f0000ull + iter); /* "catalo" */
		struct iob_catalogue *c = (struct iob_catalogue *)&b; /* must stay untouched */
		struct iob_matrix *m;
		const char **names;
		size_t n;
		char err[1024];
		int rc;

		set(&b, catalogue_text);
		mutate(&b, &x, corpus, 2);
		memset(err, 'Z', sizeof(err));
		rc = iob_catalogue_parse(b.s, strlen(b.s), "fuzz.json", &c, err, sizeof(err));
		FUZZ_CHECK(rc == 0 || rc == -EINVAL, "catalogue", iter, &b, "rc %d", rc);
		if (rc) {
			FUZZ_CHECK(memchr(err, '\0', sizeof(err)) &&
					   good_message(err, "fuzz.json:"),
				   "catalogue", iter, &b, "message '%.200s'", err);
			FUZZ_CHECK(c == (struct iob_catalogue *)&b, "catalogue", iter, &b, "%s",
				   "*out written");
			continue;
		}
		parsed++;
		rc = iob_matrix_default(c, &m, err, sizeof(err));
		FUZZ_CHECK(rc == 0 || rc == -EINVAL, "catalogue", iter, &b, "matrix rc %d", rc);
		if (!rc) {
			check_cells(m, iter, &b);
			iob_matrix_free(m);
		}
		FUZZ_CHECK(iob_catalogue_gate_names(c, &names, &n) == 0, "catalogue", iter, &b,
			   "%s", "gate names");
		free(names);
		iob_catalogue_free(c);
	}
	printf("  catalogue: %zu inputs, %zu parsed (seed %" PRIu64 ")\n", iter, parsed, g_seed);
	free(b.s);
}

static void test_fuzz_results(void **state)
{
	const char *corpus[] = { results_text, specs[1] };
	size_t iter, loaded = 0;
	double end = now() + FUZZ_SECONDS;
	struct buf b = { 0 };
	char path[128];

	(void)state;
	snprintf(path, sizeof(path), "%s/fuzz.json", g_dir);
	for (iter = 0; iter < FUZZ_ITERATIONS && (iter % 16 || now() < end); iter++) {
		uint64_t x = g_seed ^ (0x726573756c740000ull + iter); /* "result" */
		struct iob_sample_set s;
		struct iob_index ix;
		char err[1024];
		json_t *root, *row;
		FILE *f;
		long n;
		size_t i;

		set(&b, results_text);
		mutate(&b, &x, corpus, 2);
		unlink(path); /* a fresh file: ext4 flushes a truncated one on close (auto_da_alloc) */
		f = fopen(path, "w");
		assert_non_null(f);
		assert_int_equal(fwrite(b.s, 1, b.len, f), b.len);
		assert_int_equal(fclose(f), 0);
		memset(err, 'Z', sizeof(err));
		root = iob_results_load(path, err, sizeof(err));
		if (!root) {
			FUZZ_CHECK(memchr(err, '\0', sizeof(err)) && good_message(err, path),
				   "results", iter, &b, "message '%.200s'", err);
			continue;
		}
		loaded++;
		/* What the commands do next: take names apart, collect samples. */
		json_array_foreach(json_object_get(root, "benchmarks"), i, row)
		{
			struct iob_name nm;

			(void)iob_name_parse(json_string_value(json_object_get(row, "name")), &nm);
		}
		n = iob_index_build(root, &ix);
		FUZZ_CHECK(n == 0, "results", iter, &b, "index %ld", n);
		n = iob_results_samples(&ix, "real_time", &s);
		FUZZ_CHECK(n == 0, "results", iter, &b, "samples %ld", n);
		for (long k = 0; k < s.n; k++)
			FUZZ_CHECK(iob_samples_find(&s, s.s[k].name) == &s.s[k], "results", iter,
				   &b, "samples: %s not found", s.s[k].name);
		iob_samples_free(&s);
		iob_index_free(&ix);
		json_decref(root);
	}
	printf("  results: %zu inputs, %zu loaded (seed %" PRIu64 ")\n", iter, loaded, g_seed);
	unlink(path);
	free(b.s);
}

static int setup(void **state)
{
	const char *env = getenv("IOBENCH_SEED");
	struct timespec ts;

	(void)state;
	if (env && *env) {
		g_seed = strtoull(env, NULL, 0);
	} else {
		clock_gettime(CLOCK_REALTIME, &ts);
		g_seed = ((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec) ^
			 ((uint64_t)getpid() << 32);
	}
	printf("test_fuzz_parsers: seed=%" PRIu64 " (reproduce: IOBENCH_SEED=%" PRIu64 ")\n",
	       g_seed, g_seed);
	fflush(stdout);
	snprintf(g_dir, sizeof(g_dir), "/tmp/test_fuzz_parsers.XXXXXX");
	return mkdtemp(g_dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return rmdir(g_dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_results_limits),
		cmocka_unit_test(test_fuzz_matrix),
		cmocka_unit_test(test_fuzz_results),
		cmocka_unit_test(test_fuzz_catalogue),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
