/*
 * The name grammar (iob_name_check) and iob_results_load's refusal of results files whose names,
 * implementations, parameters, placements or references break it: the message names the file, the
 * row or key, and the character.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "results.h"

#define N(x) (sizeof(x) / sizeof((x)[0]))

static void test_valid_names(void **state)
{
	static const char *const bench[] = {
		"queue/pairs/iort_mpmc/manual_time/threads:4",
		"queue/pairs/iort_mpmc/pause:50-150/manual_time/threads:1",
		"queue/pairs/iort_mpmc/threads:4/placement:list:0,2,4",
		"queue/pairs/urcu_lfq/threads:8@compact",
		"queue/spsc/rte_spsc/burst:32/threads:2@numa:0",
		"calib/cacheline/roundtrip/pu:0-1/real_time/threads:2",
		"queue/pairs/iort_mpmc/repeats:3/manual_time/threads:2_mean",
		"x",
	};
	static const char *const token[] = { "iort_mpmc", "list:0,2,4", "50-150", "compact",
					     "1.5" };
	char why[256];

	(void)state;
	for (size_t i = 0; i < N(bench); i++)
		assert_int_equal(iob_name_check(bench[i], IOB_NAME_BENCH, why, sizeof(why)), 0);
	for (size_t i = 0; i < N(token); i++)
		assert_int_equal(iob_name_check(token[i], IOB_NAME_TOKEN, why, sizeof(why)), 0);
	assert_int_equal(iob_name_check("queue/pairs", IOB_NAME_GROUP, why, sizeof(why)), 0);
}

struct bad {
	const char *s;
	enum iob_name_kind kind;
	const char *why; /* a part of the message */
};

static void test_invalid_names(void **state)
{
	static const struct bad bad[] = {
		{ "queue/pairs/a'b", IOB_NAME_BENCH, "character '\\'' (0x27) at offset 13" },
		{ "queue/pairs/a`touch x`", IOB_NAME_BENCH, "character '`' (0x60) at offset 13" },
		{ "q/p/a\nb", IOB_NAME_BENCH, "character '\\n' (0x0a) at offset 5" },
		{ "q/p/a\\b", IOB_NAME_BENCH, "character '\\\\' (0x5c) at offset 5" },
		{ "q/p/100%", IOB_NAME_BENCH, "character '%' (0x25) at offset 7" },
		{ "q/p/a b", IOB_NAME_BENCH, "character ' ' (0x20) at offset 5" },
		{ "q/p/a\"b", IOB_NAME_BENCH, "character '\"' (0x22) at offset 5" },
		{ "q/p/\x1b[2J", IOB_NAME_BENCH, "character '\\x1b' (0x1b) at offset 4" },
		{ "q/p/caf\xc3\xa9", IOB_NAME_BENCH, "character U+00E9 at offset 7" },
		{ "q/p/\xc2\x9b", IOB_NAME_BENCH, "character U+009B at offset 4" },
		{ "q/p/a;b", IOB_NAME_BENCH, "names hold only A-Z a-z 0-9 _ - . : , / @" },
		{ "", IOB_NAME_BENCH, "empty name" },
		{ "q//p", IOB_NAME_BENCH, "empty token at offset 2" },
		{ "/q/p", IOB_NAME_BENCH, "empty token at offset 0" },
		{ "q/p/", IOB_NAME_BENCH, "empty token at offset 4" },
		{ "q/p@c/x", IOB_NAME_BENCH, "character '/' at offset 5" },
		{ "q/p/x@a@b", IOB_NAME_BENCH, "character '@' at offset 7" },
		{ "q/p/x@", IOB_NAME_BENCH, "character '@' at offset 5" },
		{ "q/@x", IOB_NAME_BENCH, "character '@' at offset 2" },
		{ "a/b", IOB_NAME_TOKEN, "character '/' at offset 1" },
		{ "a@b", IOB_NAME_TOKEN, "character '@' at offset 1" },
		{ "a'b", IOB_NAME_TOKEN, "character '\\'' (0x27) at offset 1" },
		{ "queue", IOB_NAME_GROUP, "expected <family>/<scenario>, got 1 token" },
		{ "queue/pairs/x", IOB_NAME_GROUP, "got 3 tokens" },
		{ "queue/pairs@x", IOB_NAME_GROUP, "character '@' at offset 11" },
	};
	char why[256];

	(void)state;
	for (size_t i = 0; i < N(bad); i++) {
		why[0] = '\0';
		assert_int_equal(iob_name_check(bad[i].s, bad[i].kind, why, sizeof(why)), -EINVAL);
		printf("  %s\n", why);
		if (!strstr(why, bad[i].why))
			fail_msg("case %zu: '%s' lacks '%s'", i, why, bad[i].why);
	}
}

/* Write @p json to a scratch file, load it; @return the error text ("" when it loaded). */
static const char *load(const char *json)
{
	static char err[1024];
	char path[] = "/tmp/test_results.XXXXXX";
	int fd = mkstemp(path);
	json_t *root;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, json, strlen(json)), (ssize_t)strlen(json));
	close(fd);
	err[0] = '\0';
	root = iob_results_load(path, err, sizeof(err));
	unlink(path);
	if (root) {
		json_decref(root);
		assert_string_equal(err, "");
	} else {
		assert_true(strncmp(err, path, strlen(path)) == 0); /* names the file */
		printf("  %s\n", err + strlen(path));
	}
	return root ? "" : err;
}

#define ROW(name)	   "{\"name\": \"" name "\", \"run_type\": \"iteration\", \"real_time\": 1}"
#define FILE_OF(ctx, rows) "{\"context\": {" ctx "}, \"benchmarks\": [" rows "]}"

static void expect_refused(const char *json, const char *a, const char *b)
{
	const char *err = load(json);

	if (!*err || !strstr(err, a) || !strstr(err, b))
		fail_msg("'%s' should name '%s' and '%s'", err, a, b);
}

static void test_load(void **state)
{
	(void)state;
	/* good names, and hostile free text in context values (quoted and escaped where used) */
	assert_string_equal(
		load(FILE_OF("\"host_name\": \"h'`touch x`\\n\", \"iobench_references\": "
			     "{\"queue/pairs\": \"rte_mpmc\"}, \"iobench_cells\": [{\"id\": "
			     "\"queue/pairs/x/threads:1@compact\", \"status\": \"done\"}]",
			     ROW("queue/pairs/rte_mpmc/manual_time/threads:1") ", " ROW(
				     "queue/pairs/x/threads:1@compact"))),
		"");
	expect_refused(FILE_OF("", ROW("queue/pairs/ok/threads:1") ", " ROW(
					   "queue/pairs/a'.system('touch CANARY').'/threads:1")),
		       "benchmarks[1].name", "character '\\'' (0x27) at offset 13");
	expect_refused(FILE_OF("", ROW("queue/pairs/a\\nb/threads:1")), "benchmarks[0].name",
		       "'\\n' (0x0a) at offset 13");
	expect_refused(FILE_OF("", "{\"name\": \"q/p/x\", \"run_name\": \"q/p/`x`\"}"),
		       "benchmarks[0].run_name", "'`' (0x60)");
	expect_refused(FILE_OF("", "{\"name\": \"q/p/x\", \"iobench_placement\": \"list:0 1\"}"),
		       "benchmarks[0].iobench_placement", "' ' (0x20)");
	expect_refused(FILE_OF("", "{\"name\": \"q/p/x\", \"iobench_cell\": \"q/p/x@a$b\"}"),
		       "benchmarks[0].iobench_cell", "'$' (0x24)");
	expect_refused(FILE_OF("\"iobench_references\": {\"queue/pairs\": \"a'b\"}", ""),
		       "context.iobench_references[\"queue/pairs\"]", "'\\'' (0x27) at offset 1");
	expect_refused(FILE_OF("\"iobench_references\": {\"queue/p`x`\": \"a\"}", ""),
		       "context.iobench_references key", "'`' (0x60) at offset 7");
	expect_refused(FILE_OF("\"iobench_references\": {\"queue/pairs\": 3}", ""),
		       "context.iobench_references[\"queue/pairs\"]", "is not a string");
	expect_refused(FILE_OF("\"iobench_references\": \"x\"", ""), "iobench_references",
		       "is not an object");
	expect_refused(FILE_OF("\"iobench_cells\": [{\"id\": \"q/p/x\\u001b@c\"}]", ""),
		       "context.iobench_cells[0].id", "'\\x1b' (0x1b)");
	expect_refused(FILE_OF("\"iobench_matrix\": {\"suites\": [{\"family\": \"q/p\", "
			       "\"impls\": [\"a\", \"b%s\"]}]}",
			       ""),
		       "context.iobench_matrix.suites[0].impls[1]", "'%' (0x25)");
	expect_refused(FILE_OF("\"iobench_matrix\": {\"suites\": [{\"family\": \"q/p\", "
			       "\"impls\": [\"a\"], \"reference\": \"a'\"}]}",
			       ""),
		       "context.iobench_matrix.suites[0].reference", "'\\'' (0x27)");
	expect_refused(FILE_OF("\"iobench_matrix\": {\"suites\": [{\"family\": \"q/p\", "
			       "\"impls\": [\"a\"], \"params\": {\"pause\": [null, 1, \"5;x\"]}}]}",
			       ""),
		       "context.iobench_matrix.suites[0].params.pause[2]", "';' (0x3b)");
	expect_refused(FILE_OF("\"iobench_matrix\": {\"suites\": [{\"family\": \"q/p\", "
			       "\"impls\": [\"a\"], \"params\": {\"p\\\"\": [1]}}]}",
			       ""),
		       "context.iobench_matrix.suites[0].params key", "'\"' (0x22)");
	expect_refused(FILE_OF("\"iobench_matrix\": {\"defaults\": {\"placements\": "
			       "[\"compact\", \"numa:0 \"]}, \"suites\": []}",
			       ""),
		       "context.iobench_matrix.defaults.placements[1]", "' ' (0x20)");
	expect_refused(FILE_OF("\"iobench_matrix\": {\"suites\": [{\"family\": \"q/p/x\", "
			       "\"impls\": [\"a\"]}]}",
			       ""),
		       "context.iobench_matrix.suites[0].family", "got 3 tokens");
}

/*
 * The index by name and the samples: names in the order they first appear, each name's rows in
 * file order, its first row and first sample row; samples skip non-iteration, error and
 * field-less rows; a name without samples is absent; lookups find every name and only those.
 */
static void test_index_samples(void **state)
{
	static const char text[] =
		"{\"context\": {}, \"benchmarks\": ["
		"{\"name\": \"q/p/b\", \"run_type\": \"aggregate\", \"real_time\": 9},"
		"{\"name\": \"q/p/a\", \"run_type\": \"iteration\", \"real_time\": 1},"
		"{\"name\": \"q/p/b\", \"run_type\": \"iteration\", \"real_time\": 2},"
		"{\"name\": \"q/p/c\", \"error_occurred\": true, \"real_time\": 3},"
		"{\"name\": \"q/p/a\", \"real_time\": 4},"
		"{\"name\": \"q/p/b\", \"run_type\": \"iteration\", \"cpu_time\": 5},"
		"{\"name\": \"q/p/a\", \"run_type\": \"iteration\", \"real_time\": 6}]}";
	json_error_t jerr;
	json_t *root = json_loads(text, 0, &jerr), *rows;
	struct iob_index ix;
	struct iob_sample_set set;
	const struct iob_bench *b;
	const struct iob_samples *a;

	(void)state;
	assert_non_null(root);
	rows = json_object_get(root, "benchmarks");
	assert_int_equal(iob_index_build(root, &ix), 0);
	assert_int_equal(ix.n, 3);
	assert_string_equal(ix.bench[0].name, "q/p/b"); /* first-appearance order */
	assert_string_equal(ix.bench[1].name, "q/p/a");
	assert_string_equal(ix.bench[2].name, "q/p/c");
	b = iob_index_find(&ix, "q/p/b");
	assert_ptr_equal(b, &ix.bench[0]);
	assert_int_equal(b->nrows, 3);
	assert_ptr_equal(b->rows[0], json_array_get(rows, 0)); /* file order within a name */
	assert_ptr_equal(b->rows[1], json_array_get(rows, 2));
	assert_ptr_equal(b->rows[2], json_array_get(rows, 5));
	assert_ptr_equal(b->first, json_array_get(rows, 0));
	assert_ptr_equal(b->first_iteration, json_array_get(rows, 2));
	assert_null(iob_index_find(&ix, "q/p/c")->first_iteration); /* its only row is an error */
	assert_ptr_equal(iob_index_find(&ix, "q/p/a"), &ix.bench[1]);
	assert_null(iob_index_find(&ix, "q/p/d"));
	assert_null(iob_index_find(&ix, "q/p/"));

	assert_int_equal(iob_results_samples(&ix, "real_time", &set), 0);
	assert_int_equal(set.n, 2); /* c has only an error row */
	assert_string_equal(set.s[0].name, "q/p/b");
	assert_int_equal(set.s[0].n, 1); /* not the aggregate's 9, not the row without real_time */
	assert_true(set.s[0].v[0] == 2);
	a = iob_samples_find(&set, "q/p/a");
	assert_ptr_equal(a, &set.s[1]);
	assert_ptr_equal(a->bench, &ix.bench[1]);
	assert_int_equal(a->n, 3); /* an untyped row counts as an iteration */
	assert_true(a->v[0] == 1 && a->v[1] == 4 && a->v[2] == 6);
	assert_null(iob_samples_find(&set, "q/p/c"));
	assert_null(iob_samples_find(&set, "q/p/zz"));
	iob_samples_free(&set);
	assert_int_equal(iob_results_samples(&ix, "p99_ns", &set), 0);
	assert_int_equal(set.n, 0);
	assert_null(iob_samples_find(&set, "q/p/a"));
	iob_samples_free(&set);
	iob_index_free(&ix);
	json_decref(root);
}

/*
 * Lock benchmarks are recognised by their fairness counters (iob_lock_markers), on any of their
 * rows, as numbers: each marker alone marks; the percentile counters every latency benchmark
 * has, a marker that is not a number, and no benchmark at all do not.
 */
static void test_lock_markers(void **state)
{
	static const char text[] =
		"{\"context\": {}, \"benchmarks\": ["
		"{\"name\": \"l/c/a\", \"real_time\": 1, \"jain_min_10ms\": 0.99},"
		"{\"name\": \"l/c/b\", \"real_time\": 1, \"p50_ns\": 5},"
		"{\"name\": \"l/c/b\", \"real_time\": 1, \"jain\": 1},"
		"{\"name\": \"l/c/c\", \"real_time\": 1, \"consec\": 0},"
		"{\"name\": \"q/p/d\", \"real_time\": 1, \"p50_ns\": 5, \"p99_ns\": 9,"
		" \"p999_ns\": 9, \"max_ns\": 9, \"handover_p50_ns\": 1},"
		"{\"name\": \"q/p/e\", \"real_time\": 1, \"consec\": \"0.5\"}]}";
	json_error_t jerr;
	json_t *root = json_loads(text, 0, &jerr);
	struct iob_index ix;

	(void)state;
	assert_non_null(root);
	assert_int_equal(iob_index_build(root, &ix), 0);
	assert_true(iob_bench_is_lock(iob_index_find(&ix, "l/c/a")));
	assert_true(iob_bench_is_lock(iob_index_find(&ix, "l/c/b"))); /* on its second row */
	assert_true(iob_bench_is_lock(iob_index_find(&ix, "l/c/c"))); /* 0 is a value */
	assert_false(iob_bench_is_lock(iob_index_find(&ix, "q/p/d")));
	assert_false(iob_bench_is_lock(iob_index_find(&ix, "q/p/e")));
	assert_false(iob_bench_is_lock(NULL));
	iob_index_free(&ix);
	json_decref(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_names),  cmocka_unit_test(test_invalid_names),
		cmocka_unit_test(test_load),	     cmocka_unit_test(test_index_samples),
		cmocka_unit_test(test_lock_markers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
