/*
 * The Google Benchmark shim, end to end: run tests/harness/unit/gbench_fixture.c (argv[1]) as a
 * child with --benchmark_out=<tmp> --benchmark_out_format=json and check that the JSON carries
 * exactly what the fixture set: names and suffixes, thread counts, counters and their flags, manual
 * and paused timing, batches, the skip error, the custom context, fixed-iterations mode, the name
 * list, and the refusal of unknown arguments. The constants mirror the fixture's.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#define BATCH		 8
#define PAUSED_NS	 5000
#define SKIP_MESSAGE	 "fixture: deliberate skip"
#define CONTEXT_KEY	 "gbench_fixture"
#define CONTEXT_VALUE	 "shim-context-value"
#define COUNTERS_LABEL	 "fixture-label"
#define PER_THREAD_VALUE 10.0
#define THREAD0_VALUE	 7.0
#define FIXED		 100

static const char *fixture;
static json_t *normal_run; /* one run at --benchmark_min_time=0.01, shared by most tests */

static const char *const normal_names[] = {
	"shim/counters/plain/threads:1",
	"shim/counters/plain/threads:2",
	"shim/timing/real/real_time/threads:2",
	"shim/timing/manual/manual_time",
	"shim/timing/pause/real_time",
	"shim/batch/plain",
	"shim/error/skip",
};

static const char *const fixed_names[] = {
	"shim/counters/plain/iterations:100/threads:1",
	"shim/counters/plain/iterations:100/threads:2",
	"shim/timing/real/iterations:100/real_time/threads:2",
	"shim/timing/manual/iterations:100/manual_time",
	"shim/timing/pause/iterations:100/real_time",
	"shim/batch/plain/iterations:100",
	"shim/error/skip/iterations:100",
};

#define N_NAMES (sizeof(normal_names) / sizeof(normal_names[0]))

static int make_tmp(char *path, size_t len)
{
	const char *dir = getenv("TMPDIR");
	int fd;

	snprintf(path, len, "%s/test_gbench.XXXXXX", dir && *dir ? dir : "/tmp");
	fd = mkstemp(path);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

/*
 * Run the fixture with @p args (NULL-terminated, after argv[0]); its stdout goes to
 * @p out_path, or /dev/null when NULL. @return the wait status, or a negative errno.
 */
static int run_fixture(const char *const *args, const char *out_path)
{
	const char *argv[32];
	size_t n = 0;
	int status;
	pid_t pid;

	argv[n++] = fixture;
	while (*args && n < 31)
		argv[n++] = *args++;
	argv[n] = NULL;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int fd = open(out_path ? out_path : "/dev/null", O_WRONLY | O_TRUNC);

		if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0)
			_exit(126);
		close(fd);
		execv(fixture, (char *const *)argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return status;
}

/* Run the fixture with the JSON file reporter and @p extra args; NULL (with a message) on failure. */
static json_t *run_json(const char *extra)
{
	char path[4096], out_arg[4200];
	const char *args[] = { out_arg, "--benchmark_out_format=json", "--benchmark_min_time=0.01",
			       extra, NULL };
	json_error_t jerr;
	json_t *root;
	int status;

	if (make_tmp(path, sizeof(path)))
		return NULL;
	snprintf(out_arg, sizeof(out_arg), "--benchmark_out=%s", path);

	status = run_fixture(args, NULL);
	if (status < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		print_error("fixture failed: status %#x\n", status);
		unlink(path);
		return NULL;
	}
	root = json_load_file(path, 0, &jerr);
	if (!root)
		print_error("%s:%d: %s\n", path, jerr.line, jerr.text);
	unlink(path);
	return root;
}

static json_t *find_bench(json_t *root, const char *name)
{
	json_t *b;
	size_t i;

	json_array_foreach(json_object_get(root, "benchmarks"), i, b)
	{
		if (!strcmp(json_string_value(json_object_get(b, "name")), name))
			return b;
	}
	print_error("no benchmark named %s\n", name);
	return NULL;
}

/* A number field (integer or real); fails the test when it is missing. */
static double num(json_t *b, const char *key)
{
	json_t *v = json_object_get(b, key);

	if (!json_is_number(v))
		fail_msg("%s: no number field %s", json_string_value(json_object_get(b, "name")),
			 key);
	return json_number_value(v);
}

static const char *str(json_t *b, const char *key)
{
	const char *s = json_string_value(json_object_get(b, key));

	if (!s)
		fail_msg("no string field %s", key);
	return s;
}

/* Exact comparison of a number field, for the values that are whole numbers. */
static void assert_num(json_t *b, const char *key, double want)
{
	double got = num(b, key);

	if (got != want)
		fail_msg("%s: %s is %.17g, want %.17g",
			 json_string_value(json_object_get(b, "name")), key, got, want);
}

static void assert_close(double got, double want, double rel)
{
	if (!(fabs(got - want) <= rel * fabs(want)))
		fail_msg("got %.17g, want %.17g (relative tolerance %g)", got, want, rel);
}

static void assert_names(json_t *root, const char *const *want)
{
	json_t *benches = json_object_get(root, "benchmarks");

	assert_int_equal(json_array_size(benches), N_NAMES);
	for (size_t i = 0; i < N_NAMES; i++) {
		json_t *b = json_array_get(benches, i);

		assert_string_equal(str(b, "name"), want[i]);
		assert_string_equal(str(b, "run_type"), "iteration");
		/* Only the skip benchmark may carry an error. */
		if (strstr(want[i], "shim/error/") != want[i])
			assert_null(json_object_get(b, "error_occurred"));
	}
}

static int setup(void **state)
{
	(void)state;
	normal_run = run_json(NULL);
	return normal_run ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	json_decref(normal_run);
	return 0;
}

static void test_names(void **state)
{
	(void)state;
	assert_names(normal_run, normal_names);
}

static void check_counters(json_t *b, int threads)
{
	double items;

	assert_num(b, "threads", threads);
	assert_true(num(b, "iterations") > 0);
	/* thread index and count as the threads saw them */
	assert_num(b, "nthreads", threads);
	assert_num(b, "index_sum", threads * (threads + 1) / 2);
	/* AVG_THREADS averages, the default sums, a thread-0-only counter stays as set */
	assert_num(b, "avg_threads", PER_THREAD_VALUE);
	assert_num(b, "summed", PER_THREAD_VALUE * threads);
	assert_num(b, "thread0", THREAD0_VALUE);
	/* RATE divides the iteration count by the same time as items_per_second */
	items = num(b, "items_per_second");
	assert_true(items > 0);
	assert_close(num(b, "rate"), items, 1e-9);
	assert_close(num(b, "bytes_per_second"), 64 * items, 1e-9);
	assert_string_equal(str(b, "label"), COUNTERS_LABEL);
}

static void test_counters_and_threads(void **state)
{
	json_t *b;

	(void)state;
	assert_non_null(b = find_bench(normal_run, "shim/counters/plain/threads:1"));
	check_counters(b, 1);
	assert_non_null(b = find_bench(normal_run, "shim/counters/plain/threads:2"));
	check_counters(b, 2);
}

static void test_real_time(void **state)
{
	json_t *b;

	(void)state;
	assert_non_null(b = find_bench(normal_run, "shim/timing/real/real_time/threads:2"));
	assert_num(b, "threads", 2);
	assert_num(b, "nthreads", 2);
	assert_true(num(b, "iterations") > 0);
	assert_true(num(b, "real_time") > 0);
}

static void test_manual_time(void **state)
{
	json_t *b;

	(void)state;
	assert_non_null(b = find_bench(normal_run, "shim/timing/manual/manual_time"));
	assert_string_equal(str(b, "time_unit"), "us");
	/* every iteration reported 1 ms */
	assert_close(num(b, "real_time"), 1000.0, 1e-9);
}

static void test_pause_resume(void **state)
{
	json_t *b;
	double timed;

	(void)state;
	assert_non_null(b = find_bench(normal_run, "shim/timing/pause/real_time"));
	assert_string_equal(str(b, "time_unit"), "ns");
	assert_num(b, "paused", num(b, "iterations"));
	/* The timed sections lie outside the spins, so their total is at most loop - spun whatever
	 * the machine's speed; a timer that kept running through the pauses would also count the
	 * spins (spun >= iterations * PAUSED_NS), which the margin of spun / 2 tells apart. */
	timed = num(b, "real_time") * num(b, "iterations");
	if (!(num(b, "spun_ns") >= num(b, "iterations") * PAUSED_NS))
		fail_msg("spun_ns %g: the fixture did not spin", num(b, "spun_ns"));
	if (!(timed < num(b, "loop_ns") - num(b, "spun_ns") / 2))
		fail_msg("timed %g ns of a %g ns loop that spun %g ns paused: paused time was "
			 "counted",
			 timed, num(b, "loop_ns"), num(b, "spun_ns"));
}

static void test_batch(void **state)
{
	json_t *b;
	double iters;

	(void)state;
	assert_non_null(b = find_bench(normal_run, "shim/batch/plain"));
	iters = num(b, "iterations");
	assert_true(iters > 0);
	assert_int_equal((int64_t)iters % BATCH, 0);
	assert_num(b, "executed", iters);
	assert_num(b, "calls", iters / BATCH);
}

static void test_skip_with_error(void **state)
{
	json_t *b;

	(void)state;
	assert_non_null(b = find_bench(normal_run, "shim/error/skip"));
	assert_true(json_is_true(json_object_get(b, "error_occurred")));
	assert_string_equal(str(b, "error_message"), SKIP_MESSAGE);
}

static void test_custom_context(void **state)
{
	json_t *ctx;

	(void)state;
	assert_non_null(ctx = json_object_get(normal_run, "context"));
	assert_string_equal(str(ctx, CONTEXT_KEY), CONTEXT_VALUE);
}

static void test_fixed_iterations(void **state)
{
	json_t *root, *b;

	(void)state;
	assert_non_null(root = run_json("--fixed-iterations=100"));
	assert_names(root, fixed_names);
	/* each thread runs FIXED; JSON "iterations" is the total over threads */
	assert_non_null(b = find_bench(root, fixed_names[0]));
	assert_num(b, "iterations", FIXED);
	check_counters(b, 1);
	assert_non_null(b = find_bench(root, fixed_names[1]));
	assert_num(b, "iterations", 2 * FIXED);
	check_counters(b, 2);
	assert_non_null(b = find_bench(root, fixed_names[2]));
	assert_num(b, "iterations", 2 * FIXED);
	assert_non_null(b = find_bench(root, fixed_names[3]));
	assert_num(b, "iterations", FIXED);
	assert_close(num(b, "real_time"), 1000.0, 1e-9);
	assert_non_null(b = find_bench(root, fixed_names[4]));
	assert_num(b, "iterations", FIXED);
	assert_num(b, "paused", FIXED);
	/* batches of 8 round 100 up to 104 */
	assert_non_null(b = find_bench(root, fixed_names[5]));
	assert_num(b, "iterations", 104);
	assert_num(b, "executed", 104);
	assert_num(b, "calls", 13);
	assert_non_null(b = find_bench(root, fixed_names[6]));
	assert_string_equal(str(b, "error_message"), SKIP_MESSAGE);
	json_decref(root);
}

static void test_list(void **state)
{
	const char *args[] = { "--list", "--benchmark_filter=shim/timing", NULL };
	const char *want = "shim/timing/real/real_time/threads:2\n"
			   "shim/timing/manual/manual_time\n"
			   "shim/timing/pause/real_time\n";
	char path[4096], got[4096];
	size_t len;
	FILE *f;
	int status;

	(void)state;
	assert_int_equal(make_tmp(path, sizeof(path)), 0);
	status = run_fixture(args, path);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_non_null(f = fopen(path, "r"));
	len = fread(got, 1, sizeof(got) - 1, f);
	got[len] = '\0';
	fclose(f);
	unlink(path);
	assert_string_equal(got, want);
}

static void test_unknown_argument(void **state)
{
	const char *ours[] = { "--no-such-flag", NULL };
	const char *theirs[] = { "--benchmark_no_such_flag=1", NULL };
	const char *positional[] = { "--benchmark_min_time=0.01", "stray", NULL };
	int status;

	(void)state;
	status = run_fixture(ours, NULL);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) != 0);
	status = run_fixture(theirs, NULL);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) != 0);
	status = run_fixture(positional, NULL);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) != 0);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_counters_and_threads),
		cmocka_unit_test(test_real_time),
		cmocka_unit_test(test_manual_time),
		cmocka_unit_test(test_pause_resume),
		cmocka_unit_test(test_batch),
		cmocka_unit_test(test_skip_with_error),
		cmocka_unit_test(test_custom_context),
		cmocka_unit_test(test_fixed_iterations),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_unknown_argument),
	};

	if (argc < 2) {
		fprintf(stderr, "usage: %s PATH-TO-gbench_fixture\n", argv[0]);
		return 1;
	}
	fixture = argv[1];
	return cmocka_run_group_tests(tests, setup, teardown);
}
