/*
 * Lock benchmarks: how fast, how fair, and what happens when threads outnumber cores.
 *
 *   lock/uncontended/<impl>                 one thread: lock then unlock per iteration
 *   lock/contended/<impl>/cs:C/ncs:N        2 and 4 threads on one lock; each acquisition
 *                                           increments a shared counter and spins C ns inside
 *                                           the critical section, then N ns outside it.
 *                                           Time-sliced (an iteration is SLICE_NS of wall time,
 *                                           manual time) so that a lock that collapses under
 *                                           preemption costs time per slice, not hours.
 *
 * Contended results, set by thread 0 after every thread has left its loop:
 *   items_per_second   acquisitions per second, all threads
 *   p50_ns ... max_ns  wait: from the call to lock() to holding the lock (HDR histograms per
 *                      thread, merged)
 *   jain               Jain's fairness index over the threads' acquisition counts (1: equal)
 *   consec             the share of acquisitions by the thread that held the lock last
 * The payload check: the shared counter equals the acquisitions counted (a lock that let two
 * threads in loses increments) and no thread saw another inside (an owner flag).
 *
 * Run lifecycle as in bench_queue.c: thread 0 creates the lock, the histograms and the per-thread
 * state before its first keep_running (the start barrier orders that before every other thread's
 * first iteration); Google Benchmark's stop barrier orders every thread's last writes before
 * thread 0's code after its loop, which reads them and frees everything.
 */
#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <iort/clock.h>
#include <iort/compiler.h>

#include "bench.h"
#include "hist.h"
#include "lock_impl.h"

#define MAX_THREADS 8
#define SLICE_NS    2000000ull /* one iteration of the contended scenario */

/* Every lock, once, with the scenarios it joins. Adding a lock: its adapter file
 * (bench/limpl_<lib>.c, declared in lock_impl.h) and one line here. */
static const struct limpl *const lock_impls[] = {
	&limpl_pthread_mutex, &limpl_pthread_adaptive, &limpl_pthread_spin, &limpl_ck_mcs,
	&limpl_ck_clh,	      &limpl_ck_ticket,	       &limpl_seed_mutex,
};
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

struct lcase {
	const struct limpl *l;
	uint64_t cs_ns, ncs_ns;
};

/* One thread's slot: written by its thread only, read by thread 0 after the stop barrier. */
struct lslot {
	uint64_t acquisitions;
	uint64_t consec;
	struct iob_hist *wait;
	void *tls;
} IORT_CACHELINE_ALIGNED;

/* The run in progress (benchmarks run one at a time). The data the lock protects sits on its own
 * line, so that only the lock's own traffic and this line move between cores. */
static struct {
	void *lock;
	bool ok; /* thread 0's setup succeeded */
	struct lslot slot[MAX_THREADS];
	struct {
		uint64_t counter;
		int last_owner;
		int inside; /* 1 while someone is in the critical section */
		uint64_t overlaps;
	} data IORT_CACHELINE_ALIGNED;
} run;

static void free_run(int threads)
{
	for (int i = 0; i < threads; i++) {
		iob_hist_destroy(run.slot[i].wait);
		free(run.slot[i].tls);
	}
	free(run.lock);
	memset(&run, 0, sizeof(run));
}

/* Thread 0, before its first iteration. @return 0 or a message. */
static const char *setup(const struct limpl *l, int threads)
{
	memset(&run, 0, sizeof(run));
	run.data.last_owner = -1;
	if (posix_memalign(&run.lock, 64, l->size < 64 ? 64 : l->size))
		return "cannot allocate the lock";
	memset(run.lock, 0, l->size);
	if (l->init(run.lock)) {
		free(run.lock);
		run.lock = NULL;
		return "cannot initialize the lock";
	}
	for (int i = 0; i < threads; i++) {
		if (iob_hist_create(1, 10000000000ull, 3, &run.slot[i].wait))
			goto fail;
		if (l->tls_size) {
			if (posix_memalign(&run.slot[i].tls, 64, l->tls_size))
				goto fail;
			memset(run.slot[i].tls, 0, l->tls_size);
			if (l->tls_init)
				l->tls_init(run.slot[i].tls);
		}
	}
	run.ok = true;
	return NULL;
fail:
	l->fini(run.lock);
	free_run(threads);
	return "out of memory";
}

static void bm_uncontended(struct iob_state *st, void *arg)
{
	const struct lcase *c = arg;
	const struct limpl *l = c->l;
	const char *err;

	if (l->impl.missing) {
		iob_state_skip_with_error(st, l->impl.missing);
		return;
	}
	if (bench_pin(st))
		return;
	err = setup(l, 1);
	if (err) {
		iob_state_skip_with_error(st, err);
		return;
	}
	while (iob_state_keep_running(st)) {
		l->lock(run.lock, run.slot[0].tls);
		run.data.counter++;
		l->unlock(run.lock, run.slot[0].tls);
	}
	if (run.data.counter != (uint64_t)iob_state_iterations(st))
		iob_state_skip_with_error(st, "the counter lost increments");
	iob_state_set_items_processed(st, iob_state_iterations(st));
	l->fini(run.lock);
	free_run(1);
}

/* One acquisition: lock, check and update the protected data, spin cs_ns, unlock. */
static inline void acquire_once(const struct lcase *c, struct lslot *me, int id)
{
	uint64_t t0 = iort_clock_fast_ns(), t1;

	c->l->lock(run.lock, me->tls);
	t1 = iort_clock_fast_ns();
	iob_hist_record(me->wait, t1 - t0);
	run.data.overlaps += run.data.inside;
	run.data.inside = 1;
	me->consec += run.data.last_owner == id;
	run.data.last_owner = id;
	run.data.counter++;
	if (c->cs_ns)
		bench_spin_until(t1 + c->cs_ns);
	run.data.inside = 0;
	c->l->unlock(run.lock, me->tls);
	me->acquisitions++;
}

static void report(struct iob_state *st, int threads)
{
	struct iob_hist *all = run.slot[0].wait;
	uint64_t total = 0, consec = 0;
	double sum = 0, sq = 0;

	for (int i = 0; i < threads; i++) {
		double x = (double)run.slot[i].acquisitions;

		total += run.slot[i].acquisitions;
		consec += run.slot[i].consec;
		sum += x;
		sq += x * x;
		if (i)
			iob_hist_merge(all, run.slot[i].wait);
	}
	if (run.data.counter != total || run.data.overlaps)
		iob_state_skip_with_error(st, "two threads were inside the critical section");
	iob_state_counter(st, "jain", sq > 0 ? sum * sum / ((double)threads * sq) : 0, 0);
	iob_state_counter(st, "consec", total ? (double)consec / (double)total : 0, 0);
	iob_state_counter(st, "p50_ns", (double)iob_hist_percentile(all, 50.0), 0);
	iob_state_counter(st, "p99_ns", (double)iob_hist_percentile(all, 99.0), 0);
	iob_state_counter(st, "p999_ns", (double)iob_hist_percentile(all, 99.9), 0);
	iob_state_counter(st, "max_ns", (double)iob_hist_max(all), 0);
}

static void bm_contended(struct iob_state *st, void *arg)
{
	const struct lcase *c = arg;
	int id = iob_state_thread_index(st), threads = iob_state_threads(st);
	struct lslot *me = &run.slot[id < MAX_THREADS ? id : 0];
	const char *err = NULL;
	uint64_t done = 0; /* my acquisitions, read inside the loop: after it, thread 0 frees run */

	if (c->l->impl.missing) {
		iob_state_skip_with_error(st, c->l->impl.missing);
		return;
	}
	if (threads > MAX_THREADS) {
		iob_state_skip_with_error(st, "too many threads for bench_lock (MAX_THREADS)");
		return;
	}
	if (bench_pin(st))
		return;
	if (id == 0)
		err = setup(c->l, threads);
	(void)iort_clock_fast_ns(); /* calibrate outside the loop */
	while (iob_state_keep_running(st)) {
		uint64_t start = iort_clock_fast_ns(), end = start + SLICE_NS, now = start;

		/* After the start barrier: thread 0's setup is visible (or failed). */
		if (iort_unlikely(!run.ok)) {
			iob_state_skip_with_error(st, err ? err : "thread 0's setup failed");
			iob_state_set_iteration_time(st, 1e-9);
			continue;
		}
		while (now < end) {
			acquire_once(c, me, id);
			now = iort_clock_fast_ns();
			if (c->ncs_ns) {
				bench_spin_until(now + c->ncs_ns);
				now = iort_clock_fast_ns();
			}
		}
		iob_state_set_iteration_time(st, (double)(now - start) * 1e-9);
		done = me->acquisitions;
	}
	/* The stop barrier: every thread has left its loop and its slot is final. Past it only
	 * thread 0 touches run (it frees it). */
	iob_state_set_items_processed(st, (int64_t)done);
	if (id == 0 && run.ok) { /* thread 0 set run.ok: no race */
		report(st, threads);
		c->l->fini(run.lock);
		free_run(threads);
	}
}

static const struct bench_scenario sc_uncontended = {
	.name = "lock/uncontended",
	.about = "one thread: lock then unlock",
	.kind = BENCH_THROUGHPUT,
	.flags = BENCH_DEFAULT,
	.reference = "pthread_mutex",
};
static const struct bench_scenario sc_contended = {
	.name = "lock/contended",
	.about = "threads on one lock, C ns inside, N ns outside (time-sliced); fairness, waits",
	.kind = BENCH_LATENCY,
	.timing = BENCH_MANUAL_TIME,
	.flags = BENCH_DEFAULT,
	.reference = "pthread_mutex",
	.params = { "cs", "ncs" },
};

static struct lcase cases[NELEM(lock_impls) * 3];
static size_t ncases;

static void register_all(void)
{
	static const int one[] = { 1 }, contended_threads[] = { 2, 4 };
	/* A tiny critical section (the counter alone) and a moderate one, each with a short
	 * pause outside it. */
	static const struct {
		const char *cs, *ncs;
		uint64_t cs_ns, ncs_ns;
	} shapes[] = { { "0", "100", 0, 100 }, { "1000", "100", 1000, 100 } };

	for (size_t i = 0; i < NELEM(lock_impls); i++) {
		struct lcase *c = &cases[ncases++];

		c->l = lock_impls[i];
		bench_add(&sc_uncontended, &c->l->impl, bm_uncontended, c, one, 1, NULL);
		for (size_t k = 0; k < NELEM(shapes); k++) {
			const char *values[2] = { shapes[k].cs, shapes[k].ncs };

			c = &cases[ncases++];
			c->l = lock_impls[i];
			c->cs_ns = shapes[k].cs_ns;
			c->ncs_ns = shapes[k].ncs_ns;
			bench_add(&sc_contended, &c->l->impl, bm_contended, c, contended_threads, 2,
				  values);
		}
	}
}

const struct bench_family bench_family_lock = {
	.name = "lock",
	.about = "locks: glibc's, Concurrency Kit's and the sketch's, uncontended and contended",
	.register_all = register_all,
};
