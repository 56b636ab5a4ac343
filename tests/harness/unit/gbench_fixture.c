/*
 * A C benchmark program that uses harness/gbench.h only; tests/harness/unit/test_gbench.c runs
 * it and checks the JSON Google Benchmark writes against the values set here.
 *
 * Own flags, parsed (and removed) before iob_bench_initialize():
 *   --fixed-iterations=N   every benchmark runs exactly N iterations, once
 *   --list                 print the selected names instead of running
 *
 * Every value below is one test_gbench.c asserts; change them together.
 */
#include "gbench.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCH		 8
#define MANUAL_SECONDS	 0.001 /* one "iteration" of shim/timing/manual */
#define PAUSED_NS	 5000  /* spun with the timer paused in shim/timing/pause */
#define SKIP_MESSAGE	 "fixture: deliberate skip"
#define CONTEXT_KEY	 "gbench_fixture"
#define CONTEXT_VALUE	 "shim-context-value"
#define COUNTERS_LABEL	 "fixture-label"
#define PER_THREAD_VALUE 10.0
#define THREAD0_VALUE	 7.0

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * Counters, thread index and count, items/bytes, label. Run at 1 and 2 threads:
 *   avg_threads = 10 (AVG_THREADS: averaged)    summed = 10 * threads (summed)
 *   index_sum   = sum of (index + 1) = 1, 3      nthreads = threads (thread 0 only)
 *   thread0     = 7 (thread 0 only)              rate > 0 (RATE)
 */
static void bench_counters(struct iob_state *st, void *arg)
{
	uint64_t sink = 0;

	(void)arg;
	while (iob_state_keep_running(st))
		__asm__ volatile("" : : "r"(++sink));
	iob_state_set_items_processed(st, iob_state_iterations(st));
	iob_state_set_bytes_processed(st, iob_state_iterations(st) * 64);
	iob_state_counter(st, "avg_threads", PER_THREAD_VALUE, IOB_COUNTER_AVG_THREADS);
	iob_state_counter(st, "summed", PER_THREAD_VALUE, IOB_COUNTER_DEFAULT);
	iob_state_counter(st, "index_sum", iob_state_thread_index(st) + 1, IOB_COUNTER_DEFAULT);
	iob_state_counter(st, "rate", (double)iob_state_iterations(st), IOB_COUNTER_RATE);
	if (iob_state_thread_index(st) == 0) {
		iob_state_counter(st, "nthreads", iob_state_threads(st), IOB_COUNTER_DEFAULT);
		iob_state_counter(st, "thread0", THREAD0_VALUE, IOB_COUNTER_DEFAULT);
		iob_state_set_label(st, COUNTERS_LABEL);
	}
}

/* Wall-clock timing on two threads; "nthreads" (thread 0 only) tells the count that ran. */
static void bench_real(struct iob_state *st, void *arg)
{
	uint64_t sink = 0;

	(void)arg;
	while (iob_state_keep_running(st))
		__asm__ volatile("" : : "r"(++sink));
	if (iob_state_thread_index(st) == 0)
		iob_state_counter(st, "nthreads", iob_state_threads(st), IOB_COUNTER_DEFAULT);
}

/* Manual time: every iteration reports MANUAL_SECONDS, so real_time is exactly 1000 us. */
static void bench_manual(struct iob_state *st, void *arg)
{
	(void)arg;
	while (iob_state_keep_running(st))
		iob_state_set_iteration_time(st, MANUAL_SECONDS);
}

/*
 * Pause/resume: each iteration spins PAUSED_NS of wall time with the timer paused and nothing
 * with it running. "paused" counts the paused sections (one per iteration); "loop_ns" is the
 * wall time of the whole loop and "spun_ns" the time spent in the paused spins, both read with
 * CLOCK_MONOTONIC like the library's timer. The timer runs only between a resume and the next
 * pause, outside every spin, so the time it reports is at most loop_ns - spun_ns on any machine.
 */
static void bench_pause(struct iob_state *st, void *arg)
{
	int64_t paused = 0;
	uint64_t spun = 0, start = now_ns();

	(void)arg;
	while (iob_state_keep_running(st)) {
		uint64_t from, end;

		iob_state_pause_timing(st);
		from = now_ns();
		for (end = from + PAUSED_NS; now_ns() < end;)
			;
		spun += now_ns() - from;
		paused++;
		iob_state_resume_timing(st);
	}
	iob_state_counter(st, "paused", (double)paused, IOB_COUNTER_DEFAULT);
	iob_state_counter(st, "loop_ns", (double)(now_ns() - start), IOB_COUNTER_DEFAULT);
	iob_state_counter(st, "spun_ns", (double)spun, IOB_COUNTER_DEFAULT);
}

/* Batches of BATCH: "executed" (iterations that ran) == "calls" * BATCH. */
static void bench_batch(struct iob_state *st, void *arg)
{
	int64_t calls = 0;

	(void)arg;
	while (iob_state_keep_running_batch(st, BATCH))
		calls++;
	iob_state_counter(st, "calls", (double)calls, IOB_COUNTER_DEFAULT);
	iob_state_counter(st, "executed", (double)iob_state_iterations(st), IOB_COUNTER_DEFAULT);
}

static void bench_skip(struct iob_state *st, void *arg)
{
	(void)arg;
	iob_state_skip_with_error(st, SKIP_MESSAGE);
}

static int register_all(void)
{
	struct iob_bench *b;

	b = iob_bench_register("shim/counters/plain", bench_counters, NULL);
	if (!b)
		return -ENOMEM;
	iob_bench_threads(b, 1);
	iob_bench_threads(b, 2);

	b = iob_bench_register("shim/timing/real", bench_real, NULL);
	if (!b)
		return -ENOMEM;
	iob_bench_real_time(b);
	iob_bench_threads(b, 2);

	b = iob_bench_register("shim/timing/manual", bench_manual, NULL);
	if (!b)
		return -ENOMEM;
	iob_bench_manual_time(b);
	iob_bench_time_unit(b, 'u');

	b = iob_bench_register("shim/timing/pause", bench_pause, NULL);
	if (!b)
		return -ENOMEM;
	iob_bench_real_time(b);

	b = iob_bench_register("shim/batch/plain", bench_batch, NULL);
	if (!b)
		return -ENOMEM;

	b = iob_bench_register("shim/error/skip", bench_skip, NULL);
	if (!b)
		return -ENOMEM;

	iob_bench_add_context(CONTEXT_KEY, CONTEXT_VALUE);
	return 0;
}

/* Remove argv[i], keeping argv[argc] == NULL. */
static void drop_arg(int *argc, char **argv, int i)
{
	memmove(&argv[i], &argv[i + 1], (size_t)(*argc - i) * sizeof(*argv));
	(*argc)--;
}

int main(int argc, char **argv)
{
	const char fixed[] = "--fixed-iterations=";
	bool list = false;
	int err;

	for (int i = 1; i < argc;) {
		if (!strncmp(argv[i], fixed, sizeof(fixed) - 1)) {
			char *end;
			long long n = strtoll(argv[i] + sizeof(fixed) - 1, &end, 10);

			if (*end || n <= 0) {
				fprintf(stderr, "gbench_fixture: bad %s\n", argv[i]);
				return 2;
			}
			iob_bench_fixed_iterations(n);
			drop_arg(&argc, argv, i);
		} else if (!strcmp(argv[i], "--list")) {
			list = true;
			drop_arg(&argc, argv, i);
		} else {
			i++;
		}
	}

	err = register_all();
	if (err) {
		fprintf(stderr, "gbench_fixture: register: %s\n", strerror(-err));
		return 1;
	}
	if (iob_bench_initialize(&argc, argv) == -EINVAL) {
		fprintf(stderr, "gbench_fixture: unknown argument: %s\n", argv[1]);
		return 2;
	}
	if (list)
		iob_bench_list();
	else
		iob_bench_run();
	iob_bench_shutdown();
	return 0;
}
