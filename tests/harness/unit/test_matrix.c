/*
 * Benchmark matrices (harness/matrix.h): the default matrix's cells (from the catalogue of the
 * benchmark binary the build made), spec errors naming file,
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
#include <unistd.h>

#include <cmocka.h>

#include "catalogue.h"
#include "matrix.h"

static struct iob_cell *expand(const struct iob_matrix *m, size_t *n)
{
	struct iob_cell *cells = NULL;
	char err[256] = "";

	assert_int_equal(iob_matrix_expand(m, &cells, n, err, sizeof(err)), 0);
	return cells;
}

/* The default matrix of the benchmark binary the build made ($IOBENCH_BENCH, set by meson). */
static struct iob_matrix *default_matrix(void)
{
	const char *bench = getenv("IOBENCH_BENCH");
	struct iob_catalogue *cat;
	struct iob_matrix *m;
	char err[1024] = "";

	if (!bench)
		fail_msg("IOBENCH_BENCH is not set: run through meson test");
	if (iob_catalogue_load(bench, &cat, err, sizeof(err)))
		fail_msg("%s", err);
	if (iob_matrix_default(cat, &m, err, sizeof(err)))
		fail_msg("%s", err);
	iob_catalogue_free(cat);
	return m;
}

static const struct iob_cell *find(const struct iob_cell *cells, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(cells[i].id, id) == 0)
			return &cells[i];
	return NULL;
}

/* Every registered family: pairs 11 impls x 2 pause x 3 threads = 66, spsc 4 x 3 bursts = 12,
 * mpsc 7 x 3 windows x 3 threads = 63, handoff 5 MP impls x 2 threads + 3 SP impls = 13,
 * harness/hist_record 1, lock/uncontended 8 impls, lock/contended 8 impls x 2 shapes x 2 threads
 * = 32, lock/many 8 impls x 2 threads = 16, lockdep/acquire 2 modes x 4 depths = 8,
 * retry/herd 5 policies x 2 threads = 10, pool 6 scenarios x 5 pools x 2 workers = 60,
 * pool/idle_wakeup 5 x 2 gaps x 2 workers = 20, pool/metrics (iort_pool) 2 x 2 workers = 4,
 * scope/overhead 2 sizes x 2 workers = 4, scope/cancel 2 workers = 2, timer/million 5 impls,
 * timer/churn 5 impls, timer/accuracy 5 impls x 3 sleeps = 15, reactor 4 loops x (loop_count,
 * tcp_pingpong, async_wakeup, pound 2 conns, pipes 2 pipes, million_async 2 works) = 36,
 * actor 3 impls x (7 Savina shapes and skynet x 2 workers + mailbox_backpressure 5 policies x
 * 2 workers) = 78: 458. */
static void test_default_matrix(void **state)
{
	struct iob_matrix *m;
	struct iob_cell *cells;
	const struct iob_cell *c;
	json_t *refs;
	size_t n, k = 0;

	(void)state;
	m = default_matrix();
	cells = expand(m, &n);
	assert_int_equal(n, 458);
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
	assert_non_null(find(cells, n, "lock/uncontended/seed_mutex/threads:1@compact"));
	assert_non_null(find(cells, n, "lock/contended/ck_mcs/cs:1000/ncs:100/threads:4@compact"));
	assert_non_null(find(cells, n, "lock/contended/ck_clh/cs:0/ncs:100/threads:2@compact"));
	assert_non_null(find(cells, n, "lock/many/iort_mutex/locks:64/threads:4@compact"));
	assert_non_null(find(cells, n, "retry/herd/decorr_jitter/threads:8@compact"));
	/* pool: every scenario at 1 and 2 workers (a parameter: the benchmark's thread is one) */
	c = find(cells, n, "pool/idle_wakeup/uv_threadpool/gap:1ms/workers:2/threads:1@compact");
	assert_non_null(c);
	assert_string_equal(c->filter, "^pool/idle_wakeup/uv_threadpool/gap:1ms/workers:2"
				       "(/real_time|/manual_time)?/threads:1$");
	assert_non_null(
		find(cells, n, "pool/fork_join_fib/gomp_tasks/workers:1/threads:1@compact"));
	assert_non_null(
		find(cells, n, "pool/metrics/iort_pool/metrics:off/workers:2/threads:1@compact"));
	assert_null(find(cells, n, "pool/metrics/tbb/metrics:off/workers:2/threads:1@compact"));
	assert_non_null(find(cells, n, "reactor/pound/iort_uring/conns:1000/threads:1@compact"));
	assert_non_null(find(cells, n, "reactor/pipes/libevent/pipes:100/threads:1@compact"));
	for (size_t i = 0; i < n; i++)
		k += strncmp(cells[i].id, "queue/handoff/", 14) == 0;
	assert_int_equal(k, 13);
	k = 0;
	for (size_t i = 0; i < n; i++)
		k += strncmp(cells[i].id, "pool/", 5) == 0;
	assert_int_equal(k, 84); /* 6 scenarios x 5 pools x 2 + idle 5 x 2 x 2 + metrics 2 x 2 */
	/* actor: every shape at 1 and 2 workers, mailbox_backpressure at each policy; the seed's
	 * skynet is registered (it skips: unsupported) */
	assert_non_null(find(cells, n, "actor/skynet/seed_actor/workers:2/threads:1@compact"));
	assert_non_null(find(cells, n,
			     "actor/mailbox_backpressure/iort_actor/policy:drop_oldest/workers:1/"
			     "threads:1@compact"));
	k = 0;
	for (size_t i = 0; i < n; i++)
		k += strncmp(cells[i].id, "actor/", 6) == 0;
	assert_int_equal(k, 78); /* 3 impls x (8 shapes x 2 workers + 5 policies x 2 workers) */
	refs = iob_matrix_references(m);
	assert_string_equal(json_string_value(json_object_get(refs, "queue/pairs")), "rte_mpmc");
	assert_string_equal(json_string_value(json_object_get(refs, "queue/spsc")), "rte_spsc");
	assert_string_equal(json_string_value(json_object_get(refs, "queue/mpsc")),
			    "urcu_wfcq_nosleep");
	assert_string_equal(json_string_value(json_object_get(refs, "queue/handoff")), "rte_spsc");
	assert_string_equal(json_string_value(json_object_get(refs, "lock/contended")),
			    "pthread_mutex");
	assert_string_equal(json_string_value(json_object_get(refs, "lock/many")), "pthread_mutex");
	assert_string_equal(json_string_value(json_object_get(refs, "retry/herd")), "no_backoff");
	assert_string_equal(json_string_value(json_object_get(refs, "pool/fork_join_fib")), "tbb");
	assert_null(json_object_get(refs, "pool/metrics"));
	assert_string_equal(json_string_value(json_object_get(refs, "actor/pingpong")), "caf");
	assert_string_equal(json_string_value(json_object_get(refs, "actor/mailbox_backpressure")),
			    "iort_actor");
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

/* A growing text buffer for specs too long to write out. */
struct text {
	char *s;
	size_t len, cap;
};

static void add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (t->len + (size_t)n + 1 > t->cap) {
		t->cap = 2 * (t->len + (size_t)n + 1);
		t->s = realloc(t->s, t->cap);
		assert_non_null(t->s);
	}
	va_start(ap, fmt);
	vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
	va_end(ap);
	t->len += (size_t)n;
}

/* {"suites": [{"family": "a/b", "impls": ["i0", ..., "i<n-1>"], <extra>}]} */
static char *many_impls(size_t n, const char *extra)
{
	struct text t = { 0 };

	add(&t, "{\"suites\": [{\"family\": \"a/b\",\n \"impls\": [");
	for (size_t i = 0; i < n; i++)
		add(&t, "%s\"i%zu\"", i ? ", " : "", i);
	add(&t, "]%s}]}", extra);
	return t.s;
}

static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/* Cells: at most IOB_MATRIX_MAX_CELLS in all; past it, the spec fails at the suite, naming the
 * count and the limit (10^11 cells used to fail later as "out of memory"). */
static void test_cell_limit(void **state)
{
	struct iob_matrix *m = NULL;
	struct iob_cell *cells;
	char err[512] = "", *text;
	size_t n;

	(void)state;
	assert_int_equal(IOB_MATRIX_MAX_CELLS, 100000);
	/* 1000 impls x 100 threads x 100 placements x 10^4 parameter combinations = 10^11. */
	{
		struct text t = { 0 };

		add(&t, "{\"suites\": [{\"family\": \"a/b\", \"impls\": [\"x\"]},\n"
			"{\"family\": \"a/c\", \"impls\": [");
		for (int i = 0; i < 1000; i++)
			add(&t, "%s\"i%d\"", i ? ", " : "", i);
		add(&t, "], \"threads\": [");
		for (int i = 1; i <= 100; i++)
			add(&t, "%s%d", i > 1 ? ", " : "", i);
		add(&t, "], \"placements\": [");
		for (int i = 0; i < 100; i++)
			add(&t, "%s\"p%d\"", i ? ", " : "", i);
		add(&t, "], \"params\": {\"a\": [");
		for (int i = 0; i < 100; i++)
			add(&t, "%s%d", i ? ", " : "", i);
		add(&t, "], \"b\": [");
		for (int i = 0; i < 100; i++)
			add(&t, "%s%d", i ? ", " : "", i);
		add(&t, "]}}]}");
		assert_int_equal(iob_matrix_parse(t.s, "big.json", &m, err, sizeof(err)), -EINVAL);
		free(t.s);
	}
	printf("  %s\n", err);
	assert_null(m);
	assert_string_equal(err, "big.json:2: suites[1] expands to 100000000000 cells (1000 impls "
				 "x 100 threads x 100 placements x 10000 parameter combinations), "
				 "more than the limit of 100000 cells");
	/* Exactly the limit: 1000 impls x 100 threads. */
	text = many_impls(1000, ", \"threads\": [1");
	{
		struct text t = { .s = text, .len = strlen(text), .cap = strlen(text) + 1 };

		t.len -= 3; /* drop "}]}" */
		for (int i = 2; i <= 100; i++)
			add(&t, ", %d", i);
		add(&t, "]}]}");
		text = t.s;
	}
	assert_int_equal(iob_matrix_parse(text, "max.json", &m, err, sizeof(err)), 0);
	cells = expand(m, &n);
	assert_int_equal(n, IOB_MATRIX_MAX_CELLS);
	iob_cells_free(cells, n);
	iob_matrix_free(m);
	/* One more, in a second suite: the total counts. */
	text[strlen(text) - 2] = '\0'; /* drop "]}" */
	{
		struct text t = { .s = text, .len = strlen(text), .cap = strlen(text) + 1 };

		add(&t, ",\n {\"family\": \"a/c\", \"impls\": [\"x\"]}]}");
		text = t.s;
	}
	assert_int_equal(iob_matrix_parse(text, "max.json", &m, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "max.json:3: suites[1] brings the matrix to 100001 cells, more "
				    "than the limit of 100000 cells"));
	free(text);
}

/* Names: at most IOB_MATRIX_MAX_NAME bytes, wherever they appear; cell ids at most
 * IOB_MATRIX_MAX_ID bytes, whole (longer ones used to be cut at 512 bytes, silently). */
static void test_name_limits(void **state)
{
	static const char *const specs[][2] = {
		/* the text around a name */
		{ "{\"suites\": [{\"family\": \"a/b\",\n \"impls\": [\"x\", \"", "\"]}]}" },
		{ "{\"suites\": [{\"family\": \"a/b\", \"impls\": [\"x\"],\n \"placements\": [\"",
		  "\"]}]}" },
		{ "{\"suites\": [{\"family\": \"a/b\", \"impls\": [\"x\"],\n \"params\": {\"",
		  "\": [1]}}]}" },
		{ "{\"suites\": [{\"family\": \"a/b\", \"impls\": [\"x\"],\n \"params\": {\"w\": "
		  "[\"",
		  "\"]}}]}" },
		{ "{\"suites\": [{\"impls\": [\"x\"],\n \"family\": \"a/", "\"}]}" },
		{ "{\"suites\": [{\"family\": \"a/b\", \"impls\": [\"x\"],\n \"reference\": \"",
		  "\"}]}" },
		{ "{\"suites\": [{\"family\": \"a/b\", \"impls\": [\"x\"]}],\n \"name\": \"",
		  "\"}" },
	};
	struct iob_matrix *m;
	struct iob_cell *cells;
	char err[512], spec_text[512];
	size_t n;

	(void)state;
	assert_int_equal(IOB_MATRIX_MAX_NAME, 63);
	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		for (size_t len = 61; len <= 62; len++) { /* + "a/" for the family: 63 and 64 */
			char *name = repeat('n', i == 4 ? len : len + 2);

			snprintf(spec_text, sizeof(spec_text), "%s%s%s", specs[i][0], name,
				 specs[i][1]);
			m = NULL;
			err[0] = '\0';
			if (len == 61) {
				if (iob_matrix_parse(spec_text, "n.json", &m, err, sizeof(err)))
					fail_msg("63 bytes refused: %s", err);
				iob_matrix_free(m);
			} else {
				if (iob_matrix_parse(spec_text, "n.json", &m, err, sizeof(err)) !=
				    -EINVAL)
					fail_msg("spec %zu: 64 bytes accepted", i);
				printf("  %s\n", err);
				if (!strstr(err, "n.json:2: ") ||
				    !strstr(err,
					    " is 64 bytes long, more than the limit of 63 bytes "
					    "for a name"))
					fail_msg("spec %zu: '%s'", i, err);
			}
			free(name);
		}
	}

	/* A cell id of exactly 511 bytes, most of it escaped in the filter. */
	{
		char *d63 = repeat('.', 63), *d62 = repeat('.', 62), *d20 = repeat('.', 20);
		char *d19 = repeat('.', 19), want[2048], *w;
		struct text t = { 0 };

		add(&t,
		    "{\"suites\": [{\"family\": \"a/b\", \"impls\": [\"%s\"], \"placements\": "
		    "[\"ccccccc\"],\n \"params\": {\"%s1\": [\"%s\"], \"%s2\": [\"%s\"], \"%s3\": "
		    "[\"%s\"], "
		    "\"%s4\": [\"%s\"]}}]}",
		    d63, d62, d63, d62, d63, d62, d63, d19, d20);
		assert_int_equal(iob_matrix_parse(t.s, "id.json", &m, err, sizeof(err)), 0);
		cells = expand(m, &n);
		assert_int_equal(n, 1);
		assert_int_equal(strlen(cells[0].id), IOB_MATRIX_MAX_ID);
		w = want + sprintf(want, "^a/b/");
		for (size_t k = 0;
		     k < strlen(cells[0].bench) - strlen("a/b/") - strlen("/threads:1"); k++) {
			char c = cells[0].bench[4 + k];

			if (c == '.')
				*w++ = '\\';
			*w++ = c;
		}
		strcpy(w, "(/real_time|/manual_time)?/threads:1$");
		assert_string_equal(cells[0].filter, want);
		iob_cells_free(cells, n);
		iob_matrix_free(m);
		/* One byte more: refused, naming the limit. */
		t.len = 0;
		add(&t,
		    "{\"suites\": [{\"family\": \"a/b\", \"impls\": [\"%s\"], \"placements\": "
		    "[\"cccccccc\"],\n \"params\": {\"%s1\": [\"%s\"], \"%s2\": [\"%s\"], \"%s3\": "
		    "[\"%s\"], "
		    "\"%s4\": [\"%s\"]}}]}",
		    d63, d62, d63, d62, d63, d62, d63, d19, d20);
		assert_int_equal(iob_matrix_parse(t.s, "id.json", &m, err, sizeof(err)), -EINVAL);
		printf("  %s\n", err);
		assert_string_equal(err,
				    "id.json:1: suites[0]: cell ids up to 512 bytes long, more "
				    "than the limit of 511 bytes (shorten names or use fewer "
				    "parameters)");
		free(t.s);
		free(d63);
		free(d62);
		free(d20);
		free(d19);
	}
}

/* Repeats are found by sorting (40000 impls took 7.7 s): the first repeat in list order, at its
 * line; placements keep their first-use order. */
static void test_repeats(void **state)
{
	struct iob_matrix *m;
	const char *const *pl;
	char err[256], *text;
	size_t n;

	(void)state;
	/* 'a' repeats first in list order, though 'b' sorts after it and repeats later. */
	expect_error("{\"suites\": [{\"family\": \"a/b\", \"impls\": [\"x\",\n \"b\",\n \"a\",\n"
		     " \"a\",\n \"b\"]}]}",
		     "spec.json:4: key 'impls' in suites[0]: 'a' is listed twice");
	expect_error("{\"suites\": [{\"family\": \"a/b\", \"impls\": [\"x\"],\n"
		     " \"placements\": [\"p\", \"q\", \"q\", \"p\"]}]}",
		     "spec.json:2: key 'placements' in suites[0]: 'q' is listed twice");
	text = many_impls(40000, "");
	strcpy(strstr(text, "\"i39999\""), "\"i12345\"]}]}");
	expect_error(text, "key 'impls' in suites[0]: 'i12345' is listed twice");
	free(text);
	assert_int_equal(
		iob_matrix_parse(
			"{\"suites\": [{\"family\": \"a/b\", \"impls\": [\"x\"], \"placements\": "
			"[\"y\", \"x\", \"w\"]},\n{\"family\": \"a/c\", \"impls\": [\"x\"], "
			"\"placements\": [\"z\", \"w\", \"a\", \"x\"]}]}",
			"p.json", &m, err, sizeof(err)),
		0);
	pl = iob_matrix_placements(m, &n);
	assert_int_equal(n, 5);
	assert_string_equal(pl[0], "y");
	assert_string_equal(pl[1], "x");
	assert_string_equal(pl[2], "w");
	assert_string_equal(pl[3], "z");
	assert_string_equal(pl[4], "a");
	iob_matrix_free(m);
}

/* Every error is one line, whatever it quotes; control characters are not names. */
static void test_one_line(void **state)
{
	(void)state;
	expect_error("{\"suites\": [{\"family\": \"a/b\", \"impls\": [\"x\"], \"re\\npetitions\": "
		     "1}]}",
		     "unknown key 're?petitions' in suites[0]");
	expect_error("{\"suites\": [{\"family\": \"a/b\", \"impls\": [\"x\\ty\"]}]}",
		     "element 0 must be a name without '/' or '@'; character '\\t' (0x09) at "
		     "offset 1 is not allowed");
	expect_error("{\"suites\": [{\"family\": \"a\\r/b\", \"impls\": [\"x\"]}]}",
		     "key 'family' in suites[0]");
	expect_error("{\"name\": \"a\\u0001\", \"suites\": [{\"family\": \"a/b\", \"impls\": "
		     "[\"x\"]}]}",
		     "key 'name': expected a non-empty string without control characters");
}

/* Reading a spec: the reason it cannot be read; files past IOB_MATRIX_MAX_BYTES are refused
 * before they are read. */
static void test_load(void **state)
{
	char dir[] = "/tmp/test_matrix.XXXXXX", path[64], err[512];
	struct iob_matrix *m = NULL;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(iob_matrix_load(dir, &m, err, sizeof(err)), -EISDIR);
	printf("  %s\n", err);
	assert_non_null(strstr(err, ": cannot read: Is a directory"));
	snprintf(path, sizeof(path), "%s/big.json", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(ftruncate(fileno(f), IOB_MATRIX_MAX_BYTES + 1), 0);
	fclose(f);
	assert_int_equal(iob_matrix_load(path, &m, err, sizeof(err)), -EFBIG);
	printf("  %s\n", err);
	assert_non_null(strstr(err,
			       "big.json: larger than the limit of 4194304 bytes (4 MiB) for a "
			       "matrix file"));
	f = fopen(path, "w");
	assert_non_null(f);
	fwrite("{\"suites\": [{\"family\": \"a/b\", \"impls\": [\"x\"]}]}\0junk", 1, 52, f);
	fclose(f);
	assert_int_equal(iob_matrix_load(path, &m, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "big.json: a NUL byte at offset 47"));
	assert_null(m);
	unlink(path);
	rmdir(dir);
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

		for (size_t i = 0; i < 155; i++) {
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
			assert_true(count[k] == 155 / (size_t)n || count[k] == 155 / (size_t)n + 1);
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
		cmocka_unit_test(test_cell_limit),
		cmocka_unit_test(test_name_limits),
		cmocka_unit_test(test_repeats),
		cmocka_unit_test(test_one_line),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_shards),
		cmocka_unit_test(test_edit_distance),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
