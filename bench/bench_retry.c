/*
 * Retry benchmarks: AWS's "Exponential Backoff And Jitter" experiment, with threads.
 *
 *   retry/herd/<impl>   4 and 8 clients (threads; oversubscribed on 2 vCPUs) share one resource,
 *                       a 64-bit word holding a version (high 32 bits) and a value (low 32).
 *                       A write is optimistic, as against a remote store: read the word, wait
 *                       CALL_NS (the call's round trip: a sleep, so that every client can be
 *                       in flight at once, as over a network, whatever the core count), then
 *                       CAS the word to (version + 1, value + client id + 1); a failed CAS is a
 *                       conflict, -EAGAIN, which the policy retries through iort_retry() until
 *                       the write succeeds (no attempt limit, no deadline, no budget).
 *                       One iteration is a round, AWS's experiment once: the clients meet at a
 *                       barrier, each makes WRITES write(s), and the round ends when the last
 *                       client is done.
 *
 * Implementations are the backoff policies, all through iort_retry() (base BASE_NS, cap CAP_NS):
 *   no_backoff      retry at once (base = cap = 0): the reference
 *   no_jitter       min(cap, base * 2^n)
 *   full_jitter     random(0, min(cap, base * 2^n))
 *   equal_jitter    half of that bound + random(0, half)
 *   decorr_jitter   min(cap, random(base, 3 * previous delay))
 *
 * Results (thread 0, after the stop barrier):
 *   manual time        per round: from the earliest client's start to the last client's finish
 *                      (the completion time; every thread reports the same figure)
 *   items_per_second   writes per second of completion time
 *   calls_per_write    op calls per successful write: the work done (1 = no conflict)
 *   calls              op calls per round, all clients (AWS's "total calls")
 *   completion_us      mean completion time of a round, in microseconds
 * The payload check: the word's version counts every write of every round, and its value the
 * sum of the clients' ids (+1) over all writes (mod 2^32); a lost or doubled write breaks either.
 *
 * Why these sizes: a futex sleep here wakes 8-40 us late (calib/futex), so delays much shorter
 * than that are noise and every policy looks alike; with a 20 us call and a 50 us base the
 * delays stand out of the noise and a round takes 0.1-3 ms.
 *
 * Sleeps: Linux's default timer slack (50 us) would stretch every backoff sleep by up to 50 us,
 * more than the delays themselves; each client sets its timer slack to 1 ns for the run
 * (prctl PR_SET_TIMERSLACK) and restores it after. Each client seeds its jitter generator from
 * its thread index (reproducible draws; the interleaving is the machine's).
 *
 * Run lifecycle as in bench_lock.c: thread 0 sets up before its first keep_running (the start
 * barrier orders that before every other thread's first iteration); every iteration passes
 * through the same three barriers in every thread (Google Benchmark gives each thread the same
 * iteration count); thread 0 reports and frees after the stop barrier.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include <iort/clock.h>
#include <iort/compiler.h>
#include <iort/retry.h>

#include "bench.h"

#define MAX_THREADS 8
#define WRITES	    1	    /* per client per round */
#define CALL_NS	    20000   /* between the read and the CAS: a remote call's round trip */
#define BASE_NS	    50000   /* 50 us */
#define CAP_NS	    1000000 /* 1 ms */

struct policy {
	struct bench_impl impl;
	enum iort_jitter jitter;
	uint64_t base_ns, cap_ns;
};

static const struct policy policies[] = {
	{ { .name = "no_backoff",
	    .origin = BENCH_IORT,
	    .about = "iort_retry, no delay: retry at once" },
	  IORT_JITTER_NONE,
	  0,
	  0 },
	{ { .name = "no_jitter",
	    .origin = BENCH_IORT,
	    .about = "iort_retry, exponential backoff without jitter" },
	  IORT_JITTER_NONE,
	  BASE_NS,
	  CAP_NS },
	{ { .name = "full_jitter",
	    .origin = BENCH_IORT,
	    .about = "iort_retry, exponential backoff, full jitter" },
	  IORT_JITTER_FULL,
	  BASE_NS,
	  CAP_NS },
	{ { .name = "equal_jitter",
	    .origin = BENCH_IORT,
	    .about = "iort_retry, exponential backoff, equal jitter" },
	  IORT_JITTER_EQUAL,
	  BASE_NS,
	  CAP_NS },
	{ { .name = "decorr_jitter",
	    .origin = BENCH_IORT,
	    .about = "iort_retry, decorrelated jitter" },
	  IORT_JITTER_DECORRELATED,
	  BASE_NS,
	  CAP_NS },
};
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* One client: written by its thread; read by the others after a barrier. */
struct client {
	uint32_t inc; /* what its writes add to the value: thread index + 1 */
	uint64_t calls, writes;
	uint64_t start, finish; /* this round, iort_clock_ns() */
} IORT_CACHELINE_ALIGNED;

static struct {
	_Atomic uint64_t word IORT_CACHELINE_ALIGNED; /* version << 32 | value */
	pthread_barrier_t bar;
	bool ok; /* thread 0's setup succeeded */
	uint64_t rounds, round_ns_sum;
	uint64_t round_ns; /* the last round's completion time, for every thread */
	uint32_t value;	   /* the value the writes should have produced */
	struct client c[MAX_THREADS];
} run;

static int herd_write(void *arg)
{
	struct client *c = arg;
	/* MO relaxed: the word is the whole resource; no other data is published with it. */
	uint64_t w = atomic_load_explicit(&run.word, memory_order_relaxed), nw;

	c->calls++;
	if (iort_sleep_until(iort_clock_ns() + CALL_NS, NULL)) /* the call's round trip */
		return -EIO;				       /* not reached: no token */
	nw = ((w >> 32) + 1) << 32 | (uint32_t)((uint32_t)w + c->inc);
	/* MO relaxed: as above; the CAS's atomicity is the optimistic concurrency control. */
	if (!atomic_compare_exchange_strong_explicit(&run.word, &w, nw, memory_order_relaxed,
						     memory_order_relaxed))
		return -EAGAIN;
	return 0;
}

static bool conflict(int err, void *ctx)
{
	(void)ctx;
	return err == -EAGAIN;
}

static void bm_herd(struct iob_state *st, void *arg)
{
	const struct policy *pol = arg;
	const struct iort_retry_policy p = { .jitter = pol->jitter,
					     .base_ns = pol->base_ns,
					     .cap_ns = pol->cap_ns,
					     .retryable = conflict };
	int id = iob_state_thread_index(st), threads = iob_state_threads(st);
	struct client *me = &run.c[id < MAX_THREADS ? id : 0];
	int slack = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
	uint64_t done = 0, failed = 0;

	if (threads > MAX_THREADS) {
		iob_state_skip_with_error(st, "too many threads for bench_retry (MAX_THREADS)");
		return;
	}
	if (bench_pin(st))
		return;
	if (id == 0) {
		memset(&run, 0, sizeof(run));
		atomic_init(&run.word, 0);
		run.ok = pthread_barrier_init(&run.bar, NULL, (unsigned)threads) == 0;
	}
	(void)prctl(PR_SET_TIMERSLACK, 1, 0, 0, 0);
	(void)iort_clock_fast_ns(); /* calibrate outside the loop */
	iort_retry_seed(0x9e3779b97f4a7c15ull * (uint64_t)(id + 1));
	while (iob_state_keep_running(st)) {
		/* After the start barrier: thread 0's setup is visible (or failed, for everyone). */
		if (iort_unlikely(!run.ok)) {
			iob_state_skip_with_error(st, "cannot create the round barrier");
			iob_state_set_iteration_time(st, 1e-9);
			continue;
		}
		me->inc = (uint32_t)id + 1;
		pthread_barrier_wait(&run.bar);
		me->start = iort_clock_ns();
		for (int k = 0; k < WRITES; k++) {
			/* No limit, deadline or token: only a success returns. */
			failed += iort_retry(&p, herd_write, me) != 0;
			me->writes++;
		}
		me->finish = iort_clock_ns();
		if (pthread_barrier_wait(&run.bar) == PTHREAD_BARRIER_SERIAL_THREAD) {
			uint64_t s = UINT64_MAX, f = 0;

			for (int i = 0; i < threads; i++) {
				s = run.c[i].start < s ? run.c[i].start : s;
				f = run.c[i].finish > f ? run.c[i].finish : f;
				run.value += (uint32_t)WRITES * run.c[i].inc;
			}
			run.round_ns = f - s;
			run.round_ns_sum += run.round_ns;
			run.rounds++;
		}
		pthread_barrier_wait(&run.bar); /* round_ns is final */
		iob_state_set_iteration_time(st, (double)run.round_ns * 1e-9);
		done = me->writes;
	}
	(void)prctl(PR_SET_TIMERSLACK, slack > 0 ? slack : 0, 0, 0, 0);
	if (failed)
		iob_state_skip_with_error(st, "iort_retry returned an error");
	iob_state_set_items_processed(st, (int64_t)done);
	/* The stop barrier: every client's counts are final. Past it only thread 0 touches run. */
	if (id == 0 && run.ok) {
		uint64_t calls = 0, writes = 0, w;

		for (int i = 0; i < threads; i++) {
			calls += run.c[i].calls;
			writes += run.c[i].writes;
		}
		/* MO relaxed: every CAS happened before the stop barrier. */
		w = atomic_load_explicit(&run.word, memory_order_relaxed);
		if ((w >> 32) != (uint32_t)writes || (uint32_t)w != run.value ||
		    writes != run.rounds * (uint64_t)WRITES * (uint64_t)threads)
			iob_state_skip_with_error(st, "a write was lost or made twice");
		if (writes && run.rounds) {
			iob_state_counter(st, "calls_per_write", (double)calls / (double)writes, 0);
			iob_state_counter(st, "calls", (double)calls / (double)run.rounds, 0);
			iob_state_counter(st, "completion_us",
					  (double)run.round_ns_sum * 1e-3 / (double)run.rounds, 0);
		}
		pthread_barrier_destroy(&run.bar);
	}
}

static const struct bench_scenario sc_herd = {
	.name = "retry/herd",
	.about = "N clients' optimistic writes to one word, conflicts retried with each backoff "
		 "(AWS's experiment): calls per write and completion time",
	.kind = BENCH_THROUGHPUT,
	.timing = BENCH_MANUAL_TIME,
	.flags = BENCH_DEFAULT,
	.reference = "no_backoff",
};

static void register_all(void)
{
	static const int threads[] = { 4, 8 };

	for (size_t i = 0; i < NELEM(policies); i++)
		bench_add(&sc_herd, &policies[i].impl, bm_herd, (void *)&policies[i], threads, 2,
			  NULL);
}

const struct bench_family bench_family_retry = {
	.name = "retry",
	.about = "backoff and retry: AWS's herd of clients contending, for each jitter",
	.register_all = register_all,
};
