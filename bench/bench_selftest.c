/*
 * Self-test benchmarks for iobench's own tests, registered only when their variable is set:
 *
 *   selftest/crash/abort  (IOBENCH_SELFTEST_CRASH)  aborts in its loop: a crash loses no finished
 *                                                   result
 *   selftest/hang/spin    (IOBENCH_SELFTEST_HANG)   never returns (waits in pause(), so a hung
 *                                                   test does not burn a CPU): a cell's time limit
 *                                                   holds
 */
#include <stdlib.h>
#include <unistd.h>

#include "bench.h"

static void bm_crash(struct iob_state *st, void *arg)
{
	(void)arg;
	while (iob_state_keep_running(st))
		abort();
}

static void bm_hang(struct iob_state *st, void *arg)
{
	(void)arg;
	while (iob_state_keep_running(st))
		for (;;)
			pause();
}

static const struct bench_impl impl_abort = { .name = "abort",
					      .origin = BENCH_HARNESS,
					      .about = "calls abort() in its loop" };
static const struct bench_impl impl_spin = { .name = "spin",
					     .origin = BENCH_HARNESS,
					     .about = "never leaves its loop" };
static const struct bench_scenario crash = { .name = "selftest/crash",
					     .about = "a benchmark that crashes",
					     .kind = BENCH_THROUGHPUT };
static const struct bench_scenario hang = { .name = "selftest/hang",
					    .about = "a benchmark that hangs",
					    .kind = BENCH_THROUGHPUT };

static void register_all(void)
{
	static const int one[] = { 1 };

	if (getenv("IOBENCH_SELFTEST_CRASH"))
		bench_add(&crash, &impl_abort, bm_crash, NULL, one, 1, NULL);
	if (getenv("IOBENCH_SELFTEST_HANG"))
		bench_add(&hang, &impl_spin, bm_hang, NULL, one, 1, NULL);
}

const struct bench_family bench_family_selftest = {
	.name = "selftest",
	.about = "benchmarks that fail on purpose, for iobench's own tests (only when asked)",
	.register_all = register_all,
};
