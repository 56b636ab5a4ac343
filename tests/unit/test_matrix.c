/*
 * Benchmark matrices (harness/matrix.h): the built-in matrix's cells, spec errors naming file,
 * line and key, overrides, normalization round trip, and shard partitions.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "matrix.h"

static struct iob_cell *expand(const struct iob_matrix *m, size_t *n)
{
	struct iob_cell *cells = NULL;
	char err[256] = "";

	assert_int_equal(iob_matrix_expand(m, &cells, n, err, sizeof(err)), 0);
	return cells;
}

static const struct iob_cell *find(const struct iob_cell *cells, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(cells[i].id, id) == 0)
			return &cells[i];
	return NULL;
}

/* Every registered family: pairs 11 impls x 2 pause x 3 threads = 66, spsc 4 x 3 bursts = 12,
 * mpsc 7 x 2 windows x 3 threads = 42, handoff 5 MP impls x 2 threads + 3 SP impls = 13,
 * harness/hist_record 1: 134. */
static void test_default_matrix(void **state)
{
	struct iob_matrix *m;
	struct iob_cell *cells;
	const struct iob_cell *c;
	json_t *refs;
	size_t n, k = 0;

	(void)state;
	assert_int_equal(iob_matrix_default(&m), 0);
	cells = expand(m, &n);
	assert_int_equal(n, 134);
	for (size_t i = 1; i < n; i++)
		assert_true(strcmp(cells[i - 1].id, cells[i].id) < 0);
	c = find(cells, n, "queue/pairs/iort_mpmc/pause:50-150/threads:4@compact");
	assert_non_null(c);
	assert_string_equal(
		c->filter,
		"^queue/pairs/iort_mpmc/pause:50-150(/real_time|/manual_time)?/threads:4$");
	assert_string_equal(c->bench, "queue/pairs/iort_mpmc/pause:50-150/threads:4");
	assert_int_equal(c->threads, 4);
	assert_int_equal(c->repetitions, 3);
	assert_string_equal(c->placement, "compact");
	assert_non_null(find(cells, n, "queue/pairs/iort_mpmc/threads:1@compact"));
	assert_non_null(find(cells, n, "queue/spsc/rte_spsc/burst:32/threads:2@compact"));
	assert_non_null(find(cells, n, "queue/mpsc/urcu_wfcq_nosleep/window:64/threads:5@compact"));
	assert_non_null(find(cells, n, "queue/handoff/iort_mpsc/threads:3@compact"));
	assert_null(find(cells, n, "queue/handoff/iort_spsc/threads:3@compact"));
	assert_non_null(find(cells, n, "harness/hist_record/iob_hist/threads:1@compact"));
	for (size_t i = 0; i < n; i++)
		k += strncmp(cells[i].id, "queue/handoff/", 14) == 0;
	assert_int_equal(k, 13);
	refs = iob_matrix_references(m);
	assert_string_equal(json_string_value(json_object_get(refs, "queue/pairs")), "rte_mpmc");
	assert_string_equal(json_string_value(json_object_get(refs, "queue/spsc")), "rte_spsc");
	assert_string_equal(json_string_value(json_object_get(refs, "queue/mpsc")),
			    "urcu_wfcq_nosleep");
	assert_string_equal(json_string_value(json_object_get(refs, "queue/handoff")), "rte_spsc");
	json_decref(refs);
	iob_cells_free(cells, n);
	iob_matrix_free(m);
}

/* Parse @p text and expect failure with @p want in the message. */
static void expect_error(const char *text, const char *want)
{
	struct iob_matrix *m = NULL;
	char err[512] = "";
	int rc = iob_matrix_parse(text, "spec.json", &m, err, sizeof(err));

	printf("  %s\n", err);
	assert_int_equal(rc, -EINVAL);
	assert_null(m);
	if (!strstr(err, want))
		fail_msg("message '%s' lacks '%s'", err, want);
}

static void test_spec_errors(void **state)
{
	(void)state;
	expect_error("{\"suites\": [\n"
		     "  {\"family\": \"a/b\",\n"
		     "   \"impls\": [\"x\"],\n"
		     "   \"repetitons\": 3}]}\n",
		     "spec.json:4: unknown key 'repetitons' in suites[0] (did you mean "
		     "'repetitions'?)");
	/* The same key in a second suite: the line of that suite's key, not the first's. */
	expect_error("{\"suites\": [\n"
		     "  {\"family\": \"a/b\", \"impls\": [\"x\"], \"threads\": [1]},\n"
		     "  {\"family\": \"a/c\", \"impls\": [\"x\"],\n"
		     "   \"threads\": [2, \"3\"]}]}\n",
		     "spec.json:4: key 'threads' in suites[1]: element 1");
	expect_error(
		"{\"defaults\": {\"placement\": [\"compact\"]},\n"
		" \"suites\": [{\"family\": \"a/b\", \"impls\": [\"x\"]}]}",
		"spec.json:1: unknown key 'placement' in defaults (did you mean 'placements'?)");
	expect_error("{\"suites\": [{\"family\": \"a/b\",\n \"impls\": []}]}",
		     "spec.json:2: key 'impls' in suites[0]: empty list");
	expect_error("{\"suites\": [{\"family\": \"a/b\",\n \"impls\": \"x\"}]}",
		     "spec.json:2: key 'impls' in suites[0]: expected a list");
	expect_error("{\"suites\": [{\"family\": \"a/b\", \"impls\": [\"x\"],\n"
		     "\"repetitions\": 1.5}]}",
		     "spec.json:2: key 'repetitions' in suites[0]: expected a whole number");
	expect_error("{\"defaults\": {\n\"min_time\": 0},\n"
		     " \"suites\": [{\"family\": \"a/b\", \"impls\": [\"x\"]}]}",
		     "spec.json:2: key 'min_time' in defaults: 0 is out of range");
	expect_error("{\"suites\": [{\"family\": \"a/b\", \"impls\": [\"x\"],\n"
		     "\"impls\": [\"y\"]}]}",
		     "spec.json:2:");
	expect_error("{\"suites\": [{\"family\": \"queue\", \"impls\": [\"x\"]}]}",
		     "key 'family' in suites[0]");
	expect_error("{\"suites\": [{\"impls\": [\"x\"]}]}", "missing key 'family'");
	expect_error("{\"suites\": []}", "key 'suites'");
	expect_error("{\"suites\": [{\"family\": \"a/b\", \"impls\": [\"x\"],\n"
		     " \"params\": {\"w\": []}}]}",
		     "spec.json:2: key 'params' in suites[0]: parameter 'w': empty list");
	expect_error("{\"suites\": [{\"family\": \"a/b\", \"impls\": [\"x\"], \"reference\": "
		     "\"x\"},\n {\"family\": \"a/b\", \"impls\": [\"y\"], \"reference\": \"y\"}]}",
		     "spec.json:2: key 'reference' in suites[1]");
	expect_error("{\"suites\": [{\"family\": \"a/b\", \"impls\": [\"x\"]}], \"nmae\": 1}",
		     "unknown key 'nmae' in the top level (did you mean 'name'?)");
	expect_error("{\"suites\": [", "spec.json:1:");
	/* The repeated value itself, read before the list is freed (it was read after). */
	expect_error("{\"suites\": [{\"family\": \"a/b\", \"impls\": [\"x\"],\n"
		     " \"threads\": [2, 2]}]}",
		     "spec.json:2: key 'threads' in suites[0]: 2 is listed twice");
	expect_error("{\"suites\": [{\"family\": \"a/b\",\n"
		     " \"impls\": [\"x\", \"y\", \"x\"]}]}",
		     "spec.json:2: key 'impls' in suites[0]: 'x' is listed twice");
}

static void test_duplicate_cells(void **state)
{
	struct iob_matrix *m;
	struct iob_cell *cells;
	char err[256] = "";
	size_t n;

	(void)state;
	assert_int_equal(iob_matrix_parse("{\"suites\": [{\"family\": \"a/b\", \"impls\": [\"x\"]},"
					  "{\"family\": \"a/b\", \"impls\": [\"x\", \"y\"]}]}",
					  "d.json", &m, err, sizeof(err)),
			 0);
	assert_int_equal(iob_matrix_expand(m, &cells, &n, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "a/b/x/threads:1@compact"));
	assert_non_null(strstr(err, "suites[0] and suites[1]"));
	iob_matrix_free(m);
}

static const char spec[] =
	"{\"name\": \"t\", \"defaults\": {\"repetitions\": 5, \"min_time\": 0.5, \"warmup\": 0.2,\n"
	" \"timeout\": 9, \"placements\": [\"compact\", \"spread\"], \"threads\": [2]},\n"
	" \"suites\": [{\"family\": \"q/s\", \"impls\": [\"a\", \"b\"],\n"
	"   \"params\": {\"w\": [1, 64], \"p\": [null, \"x.y\"]}, \"repetitions\": 7},\n"
	"  {\"family\": \"h/r\", \"impls\": [\"c\"], \"threads\": [1, 3], \"placements\": "
	"[\"numa:0\"], \"timeout\": 1.5}]}";

static void test_overrides_and_defaults(void **state)
{
	struct iob_matrix *m;
	struct iob_cell *cells;
	const struct iob_cell *c;
	char err[256] = "";
	size_t n;

	(void)state;
	assert_int_equal(iob_matrix_parse(spec, "t.json", &m, err, sizeof(err)), 0);
	cells = expand(m, &n);
	assert_int_equal(n, 2 * 2 * 2 * 2 + 2); /* impls x w x p x placements; 2 threads */
	c = find(cells, n, "q/s/a/w:64/p:x.y/threads:2@spread");
	assert_non_null(c);
	assert_int_equal(c->repetitions, 7); /* the suite's own */
	assert_true(c->min_time == 0.5 && c->warmup == 0.2 && c->timeout == 9);
	assert_string_equal(c->filter, "^q/s/a/w:64/p:x\\.y(/real_time|/manual_time)?/threads:2$");
	c = find(cells, n, "h/r/c/threads:3@numa:0");
	assert_non_null(c);
	assert_int_equal(c->repetitions, 5);
	assert_true(c->timeout == 1.5);
	iob_cells_free(cells, n);

	assert_int_equal(iob_matrix_override(m, 2, 0.01, 0, "list:0"), 0);
	cells = expand(m, &n);
	assert_int_equal(n, 8 + 2);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(cells[i].repetitions, 2);
		assert_true(cells[i].min_time == 0.01);
		assert_string_equal(cells[i].placement, "list:0");
	}
	assert_true(find(cells, n, "h/r/c/threads:1@list:0")->timeout == 1.5);
	iob_cells_free(cells, n);
	iob_matrix_free(m);
}

/* The normalized spec parses back to the same cells. */
static void test_normalized_round_trip(void **state)
{
	struct iob_matrix *m, *m2;
	struct iob_cell *a, *b;
	char err[256] = "", *text;
	size_t na, nb;
	json_t *j, *j2;

	(void)state;
	assert_int_equal(iob_matrix_parse(spec, "t.json", &m, err, sizeof(err)), 0);
	j = iob_matrix_json(m);
	text = json_dumps(j, JSON_PRESERVE_ORDER);
	assert_int_equal(iob_matrix_parse(text, "n.json", &m2, err, sizeof(err)), 0);
	j2 = iob_matrix_json(m2);
	assert_true(json_equal(j, j2));
	a = expand(m, &na);
	b = expand(m2, &nb);
	assert_int_equal(na, nb);
	for (size_t i = 0; i < na; i++) {
		assert_string_equal(a[i].id, b[i].id);
		assert_int_equal(a[i].repetitions, b[i].repetitions);
		assert_true(a[i].timeout == b[i].timeout && a[i].warmup == b[i].warmup);
	}
	iob_cells_free(a, na);
	iob_cells_free(b, nb);
	free(text);
	json_decref(j);
	json_decref(j2);
	iob_matrix_free(m);
	iob_matrix_free(m2);
}

static void test_shards(void **state)
{
	int k, n;

	(void)state;
	assert_int_equal(iob_shard_parse("0/3", &k, &n), 0);
	assert_int_equal(k, 0);
	assert_int_equal(n, 3);
	assert_int_equal(iob_shard_parse("2/3", &k, &n), 0);
	assert_int_equal(iob_shard_parse("3/3", &k, &n), -EINVAL);
	assert_int_equal(iob_shard_parse("-1/3", &k, &n), -EINVAL);
	assert_int_equal(iob_shard_parse("1/0", &k, &n), -EINVAL);
	assert_int_equal(iob_shard_parse("1", &k, &n), -EINVAL);
	assert_int_equal(iob_shard_parse("1/2/3", &k, &n), -EINVAL);
	assert_int_equal(iob_shard_parse("", &k, &n), -EINVAL);
	/* Every cell in exactly one shard, shards balanced to within one cell, for several N. */
	for (n = 1; n <= 7; n++) {
		size_t count[7] = { 0 };

		for (size_t i = 0; i < 134; i++) {
			int owners = 0;

			for (k = 0; k < n; k++) {
				if (iob_cell_in_shard(i, k, n)) {
					owners++;
					count[k]++;
				}
			}
			assert_int_equal(owners, 1);
		}
		for (k = 0; k < n; k++)
			assert_true(count[k] == 134 / (size_t)n || count[k] == 134 / (size_t)n + 1);
	}
	assert_true(iob_cell_in_shard(5, 1, 2));
	assert_false(iob_cell_in_shard(5, 0, 2));
}

static void test_edit_distance(void **state)
{
	(void)state;
	assert_int_equal(iob_edit_distance("repetitons", "repetitions"), 1);
	assert_int_equal(iob_edit_distance("", "abc"), 3);
	assert_int_equal(iob_edit_distance("kitten", "sitting"), 3);
	assert_int_equal(iob_edit_distance("same", "same"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_matrix),
		cmocka_unit_test(test_spec_errors),
		cmocka_unit_test(test_duplicate_cells),
		cmocka_unit_test(test_overrides_and_defaults),
		cmocka_unit_test(test_normalized_round_trip),
		cmocka_unit_test(test_shards),
		cmocka_unit_test(test_edit_distance),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
