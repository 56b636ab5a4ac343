/*
 * A throwaway family that exists only in a test build (iobench-bench-toy): the proof that adding a
 * family is one workload file and one name in a list. tests/bench/test_toy_family.sh finds it in
 * `iobench list --json`, the default matrix, `show` and `plot`.
 *
 *   toy/count/<impl>/step:S   a counter incremented S at a time; items_per_second = increments
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static const struct bench_impl toy_plain = { .name = "toy_plain",
					     .origin = BENCH_IORT,
					     .about = "a plain counter" };
static const struct bench_impl toy_volatile = { .name = "toy_volatile",
						.origin = BENCH_BASELINE,
						.package = "libc6",
						.about = "a volatile counter" };

static const struct bench_scenario toy_count = {
	.name = "toy/count",
	.about = "count to a number",
	.kind = BENCH_THROUGHPUT,
	.timing = BENCH_REAL_TIME,
	.flags = BENCH_DEFAULT,
	.reference = "toy_volatile",
	.params = { "step" },
};

static void bm_count(struct iob_state *st, void *arg)
{
	const struct bench_impl *impl = arg;
	volatile uint64_t v = 0;
	uint64_t p = 0;

	if (bench_pin(st))
		return;
	while (iob_state_keep_running(st)) {
		if (impl == &toy_volatile) {
			v++;
		} else {
			p++;
			__asm__ volatile("" : "+r"(p));
		}
	}
	iob_state_set_items_processed(st, iob_state_iterations(st));
}

/* IOBENCH_TOY_BUG=<kind>: one registration mistake of that kind, which the catalogue must refuse
 * at startup (exit 1, one line naming it) before anything runs. */
static const struct bench_impl toy_bad_name = { .name = "Toy-Bad",
						.origin = BENCH_IORT,
						.about = "a name outside the grammar" };
static const struct bench_impl toy_no_package = { .name = "toy_nopkg",
						  .origin = BENCH_BASELINE,
						  .about = "a baseline without its package" };

static void register_bug(const char *kind)
{
	static const int threads[] = { 1 }, other[] = { 2 };
	const char *one[1] = { "1" }, *three[1] = { "3" };

	if (!strcmp(kind, "twice")) /* the same benchmark again */
		bench_add(&toy_count, &toy_plain, bm_count, (void *)&toy_plain, threads, 1, one);
	else if (!strcmp(kind, "ragged")) /* step:3 for one implementation only */
		bench_add(&toy_count, &toy_plain, bm_count, (void *)&toy_plain, threads, 1, three);
	else if (!strcmp(kind, "threads")) /* another thread list for the same implementation */
		bench_add(&toy_count, &toy_plain, bm_count, (void *)&toy_plain, other, 1, three);
	else if (!strcmp(kind, "name"))
		bench_add(&toy_count, &toy_bad_name, bm_count, NULL, threads, 1, one);
	else if (!strcmp(kind, "package"))
		bench_add(&toy_count, &toy_no_package, bm_count, NULL, threads, 1, one);
}

static void register_all(void)
{
	static const int threads[] = { 1 };
	static const char *const steps[] = { "1", "2" };
	const char *bug = getenv("IOBENCH_TOY_BUG");

	for (int i = 0; i < 2; i++) {
		const char *values[1] = { steps[i] };

		bench_add(&toy_count, &toy_plain, bm_count, (void *)&toy_plain, threads, 1, values);
		bench_add(&toy_count, &toy_volatile, bm_count, (void *)&toy_volatile, threads, 1,
			  values);
	}
	if (bug)
		register_bug(bug);
}

const struct bench_family bench_family_toy = {
	.name = "toy",
	.about = "a throwaway family for the test that adding a family works",
	.register_all = register_all,
};
