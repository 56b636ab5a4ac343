/*
 * What the lock-order checker costs when it is compiled in:
 *
 *   lockdep/acquire/<mode>/depth:N   one thread takes N iort_mutexes (N classes) in a fixed order
 *                                    and releases them in reverse, per iteration. Every edge is
 *                                    known after the first iteration, so this is the checker's
 *                                    fast path (lockdep.c, I1) at nesting depths 0..N-1.
 *                                    Counter "ns": wall time per acquisition (lock + unlock,
 *                                    iteration time / N).
 *
 * Modes: `off` (the checker compiled in, off at run time: one predictable branch per call; the
 * reference) and `report` (checking every acquisition). "report minus off" is the checker's
 * cost per acquisition. The payload check: in `report`, no report was made (the order is fixed,
 * so any report is the checker's bug), and every mutex is free afterwards.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include <iort/clock.h>
#include <iort/config.h>
#include <iort/lockdep.h>
#include <iort/mutex.h>

#include "bench.h"

#define MAX_DEPTH 8

static const char *const class_names[MAX_DEPTH] = {
	"bench.l0", "bench.l1", "bench.l2", "bench.l3",
	"bench.l4", "bench.l5", "bench.l6", "bench.l7",
};

struct dcase {
	enum iort_lockdep_mode mode;
	int depth;
};

static atomic_int reports;

static void count_report(const struct iort_lockdep_report *r, void *arg)
{
	(void)r, (void)arg;
	/* MO relaxed: a count read after the run by the same thread. */
	atomic_fetch_add_explicit(&reports, 1, memory_order_relaxed);
}

static void bm_acquire(struct iob_state *st, void *arg)
{
	const struct dcase *c = arg;
	struct iort_mutex m[MAX_DEPTH];
	uint64_t t0, t1;
	int64_t n;
	int d = c->depth, r;

	if (bench_pin(st))
		return;
	for (int i = 0; i < d; i++)
		iort_mutex_init_class(&m[i], class_names[i]);
	/* MO relaxed: single-threaded. */
	atomic_store_explicit(&reports, 0, memory_order_relaxed);
	iort_lockdep_set_handler(count_report, NULL);
	r = iort_lockdep_set_mode(c->mode);
	if (r && !(r == -ENOTSUP && c->mode == IORT_LOCKDEP_OFF)) {
		iort_lockdep_set_handler(NULL, NULL);
		iob_state_skip_with_error(st, "iort_lockdep_set_mode failed");
		return;
	}
	t0 = iort_clock_ns();
	while (iob_state_keep_running(st)) {
		for (int i = 0; i < d; i++)
			iort_mutex_lock(&m[i]);
		for (int i = d; i-- > 0;)
			iort_mutex_unlock(&m[i]);
	}
	t1 = iort_clock_ns();
	iort_lockdep_set_mode(IORT_LOCKDEP_OFF);
	iort_lockdep_set_handler(NULL, NULL);
	n = iob_state_iterations(st);
	if (n > 0)
		iob_state_counter(st, "ns", (double)(t1 - t0) / ((double)n * d),
				  IOB_COUNTER_DEFAULT);
	iob_state_set_items_processed(st, n * d);
	/* MO relaxed: single-threaded. */
	if (atomic_load_explicit(&reports, memory_order_relaxed)) {
		iob_state_skip_with_error(st, "the checker reported a fixed lock order");
		return;
	}
	for (int i = 0; i < d; i++) {
		if (!iort_mutex_try_lock(&m[i])) {
			iob_state_skip_with_error(st, "a mutex stayed locked");
			return;
		}
		iort_mutex_unlock(&m[i]);
		(void)iort_mutex_fini(&m[i]);
	}
}

static const struct bench_impl impl_off = {
	.name = "off",
	.origin = BENCH_IORT,
	.about = "iort_mutex, the checker compiled in and off at run time",
};

static const struct bench_impl impl_report = {
	.name = "report",
	.origin = BENCH_IORT,
#if !IORT_LOCKDEP
	.missing = "libiort was built with -Dlockdep=disabled",
#endif
	.about = "iort_mutex, the checker on (IORT_LOCKDEP_REPORT)",
};

static const struct bench_scenario sc_acquire = {
	.name = "lockdep/acquire",
	.about = "one thread nests N mutexes in a fixed order; ns per acquisition",
	.kind = BENCH_TIME,
	.timing = BENCH_CPU_TIME,
	.flags = BENCH_DEFAULT,
	.reference = "off",
	.params = { "depth" },
};

static void register_all(void)
{
	static const char *const depths[] = { "1", "2", "4", "8" };
	static struct dcase cases[2][4];
	static const int one[] = { 1 };
	const struct bench_impl *impls[2] = { &impl_off, &impl_report };

	for (int k = 0; k < 2; k++) {
		for (int j = 0; j < 4; j++) {
			const char *values[1] = { depths[j] };

			cases[k][j] = (struct dcase){ k ? IORT_LOCKDEP_REPORT : IORT_LOCKDEP_OFF,
						      1 << j };
			bench_add(&sc_acquire, impls[k], bm_acquire, &cases[k][j], one, 1, values);
		}
	}
}

const struct bench_family bench_family_lockdep = {
	.name = "lockdep",
	.about = "the lock-order checker's cost per acquisition",
	.register_all = register_all,
};
