/*
 * What scopes (scope.h) cost:
 *
 *   scope/overhead/iort_scope/children:C/workers:W
 *       inside a task on a W-worker pool: open a scope, spawn C empty children, join. Counter
 *       "ns": the time of one scope (C = 0) or per child (C = 1000). Manual time: the loop runs
 *       on the worker and times itself.
 *   scope/cancel/iort_scope/children:10000/workers:W
 *       from a thread outside the pool: 10000 future children that stay pending (parked, every
 *       one polled once), then iort_scope_cancel + iort_scope_join. Manual time: the cancel and
 *       join only; counters "ms" (the whole) and "ns" (per child).
 *
 * Payload checks: every child ran exactly once (overhead), join returned -ECANCELED and every
 * child was polled exactly once (cancel).
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <iort/clock.h>
#include <iort/pool.h>
#include <iort/scope.h>
#include <iort/wait.h>

#include "bench.h"

struct scase {
	int children;
	int workers;
};

struct obody {
	struct iob_state *st;
	struct iort_pool *p;
	int children;
	uint64_t ran, total_ns;
	const char *err;
};

static int empty_child(void *arg, struct iort_cancel *token)
{
	(void)token;
	/* MO relaxed: a count read after the joins. */
	atomic_fetch_add_explicit((_Atomic uint64_t *)arg, 1, memory_order_relaxed);
	return 0;
}

static void overhead_body(void *arg)
{
	struct obody *b = arg;
	_Atomic uint64_t ran = 0;
	int64_t n = 0;

	while (iob_state_keep_running(b->st)) {
		struct iort_scope s;
		uint64_t t0 = iort_clock_ns();
		if (iort_scope_open(&s, b->p, IORT_SCOPE_ALL, IORT_DEADLINE_NONE, NULL) != 0) {
			b->err = "iort_scope_open failed";
			return;
		}
		for (int i = 0; i < b->children; i++)
			if (iort_scope_spawn(&s, empty_child, (void *)&ran) != 0)
				b->err = "iort_scope_spawn failed";
		if (iort_scope_join(&s) != 0)
			b->err = "iort_scope_join failed";
		uint64_t dt = iort_clock_ns() - t0;
		iob_state_set_iteration_time(b->st, (double)dt * 1e-9);
		b->total_ns += dt;
		n++;
	}
	/* MO relaxed: the joins ordered the children's increments before us. */
	b->ran = atomic_load_explicit(&ran, memory_order_relaxed);
	if (b->ran != (uint64_t)n * (uint64_t)b->children)
		b->err = "a child did not run exactly once";
}

/* Workers pinned to plan slots 0..W-1 and this thread to slot W, as the pool family does. */
static struct iort_pool *make_pool(struct iob_state *st, int workers)
{
	int cpus[2];
	struct iort_pool_config cfg = { .workers = (unsigned)workers };
	struct iort_pool *p;

	if (bench_pin_slot(st, workers))
		return NULL;
	for (int i = 0; i < workers; i++)
		cpus[i] = bench_slot_pu(i);
	cfg.cpus = bench_env.simulated ? NULL : cpus;
	if (iort_pool_create(&cfg, &p) != 0) {
		iob_state_skip_with_error(st, "iort_pool_create failed");
		return NULL;
	}
	return p;
}

static void bm_overhead(struct iob_state *st, void *arg)
{
	const struct scase *c = arg;
	struct obody b = { .st = st, .children = c->children };
	struct iort_task *t;

	if ((b.p = make_pool(st, c->workers)) == NULL)
		return;
	if (iort_pool_spawn(b.p, overhead_body, &b, &t) != 0) {
		iort_pool_destroy(b.p);
		iob_state_skip_with_error(st, "iort_pool_spawn failed");
		return;
	}
	(void)iort_task_join(t);
	iort_pool_destroy(b.p);
	if (b.err != NULL) {
		iob_state_skip_with_error(st, b.err);
		return;
	}
	int64_t n = iob_state_iterations(st), per = c->children > 0 ? c->children : 1;
	if (n > 0)
		iob_state_counter(st, "ns", (double)b.total_ns / ((double)n * (double)per),
				  IOB_COUNTER_DEFAULT);
	iob_state_set_items_processed(st, n * per);
}

/* A future that stays pending; counts its polls. */
static enum iort_poll park_forever(void *arg, struct iort_waker *w)
{
	(void)w;
	/* MO relaxed: a count; the owner spins on it and reads it after the join. */
	atomic_fetch_add_explicit((_Atomic uint64_t *)arg, 1, memory_order_relaxed);
	return IORT_PENDING;
}

static void bm_cancel(struct iob_state *st, void *arg)
{
	const struct scase *c = arg;
	struct iort_pool *p = make_pool(st, c->workers);
	double total_s = 0;
	const char *err = NULL;

	if (p == NULL)
		return;
	while (iob_state_keep_running(st)) {
		_Atomic uint64_t polls = 0;
		struct iort_scope s;
		if (iort_scope_open(&s, p, IORT_SCOPE_ALL, IORT_DEADLINE_NONE, NULL) != 0) {
			err = "iort_scope_open failed";
			break;
		}
		for (int i = 0; i < c->children; i++)
			if (iort_scope_spawn_future(&s, park_forever, (void *)&polls) != 0)
				err = "iort_scope_spawn_future failed";
		/* MO relaxed: a progress count; the cancel and join below do the ordering. */
		while (atomic_load_explicit(&polls, memory_order_relaxed) < (uint64_t)c->children)
			;
		uint64_t t0 = iort_clock_ns();
		iort_scope_cancel(&s);
		int r = iort_scope_join(&s);
		double dt = (double)(iort_clock_ns() - t0) * 1e-9;
		iob_state_set_iteration_time(st, dt);
		total_s += dt;
		if (r != -ECANCELED)
			err = "iort_scope_join did not return -ECANCELED";
		/* MO relaxed: every child is done (join). */
		if (atomic_load_explicit(&polls, memory_order_relaxed) != (uint64_t)c->children)
			err = "a parked child was polled again after the cancel";
	}
	iort_pool_destroy(p);
	if (err != NULL) {
		iob_state_skip_with_error(st, err);
		return;
	}
	int64_t n = iob_state_iterations(st);
	if (n > 0) {
		iob_state_counter(st, "ms", total_s * 1e3 / (double)n, IOB_COUNTER_DEFAULT);
		iob_state_counter(st, "ns", total_s * 1e9 / ((double)n * c->children),
				  IOB_COUNTER_DEFAULT);
	}
	iob_state_set_items_processed(st, n * c->children);
}

static const struct bench_impl impl_iort_scope = {
	.name = "iort_scope",
	.origin = BENCH_IORT,
	.about = "scope.h on an iort_pool",
};

static const struct bench_scenario sc_overhead = {
	.name = "scope/overhead",
	.about = "open, spawn C empty children, join, inside a task; ns per scope or per child",
	.kind = BENCH_TIME,
	.timing = BENCH_MANUAL_TIME,
	.flags = BENCH_DEFAULT,
	.params = { "children", "workers" },
};

static const struct bench_scenario sc_cancel = {
	.name = "scope/cancel",
	.about = "cancel and join a scope of 10000 parked future children",
	.kind = BENCH_TIME,
	.timing = BENCH_MANUAL_TIME,
	.flags = BENCH_DEFAULT,
	.params = { "children", "workers" },
};

static void register_all(void)
{
	static struct scase over[2][2], canc[2];
	static const char *const kids[] = { "0", "1000" };
	static const char *const ws[] = { "1", "2" };
	static const int one[] = { 1 }; /* the benchmark's thread; the pool's are `workers` */

	for (int k = 0; k < 2; k++) {
		for (int w = 0; w < 2; w++) {
			const char *values[2] = { kids[k], ws[w] };
			over[k][w] = (struct scase){ k ? 1000 : 0, w + 1 };
			bench_add(&sc_overhead, &impl_iort_scope, bm_overhead, &over[k][w], one, 1,
				  values);
		}
	}
	for (int w = 0; w < 2; w++) {
		const char *values[2] = { "10000", ws[w] };
		canc[w] = (struct scase){ 10000, w + 1 };
		bench_add(&sc_cancel, &impl_iort_scope, bm_cancel, &canc[w], one, 1, values);
	}
}

const struct bench_family bench_family_scope = {
	.name = "scope",
	.about = "scopes: the cost of a scope and of a child, and of cancelling parked children",
	.register_all = register_all,
};
