/*
 * The retry budget shared by THREADS threads on 2 cores, seeded, with exact accounting, then
 * iort_retry sleepers sharing one cancellation token.
 *
 * Each round:
 *   1. drain: every thread spends until refused. Exactly (max - max/2) / 1 token retries are
 *      granted in all (none lost, none granted twice), and the budget ends at max / 2.
 *   2. mix: every thread makes REFUNDS refunds of REFUND_MILLI, interleaved at random (per-thread
 *      stream from the seed) with attempts to spend. Refunds never reach max (THREADS * REFUNDS
 *      * REFUND_MILLI < max / 2) and spends never go below 0, so no clamp applies and the end
 *      value is exactly max / 2 + refunded - 1000 * granted; every value a thread sees stays in
 *      [0, max].
 *   3. refill: every thread refunds far more than the room left: the budget ends exactly full.
 *   4. cancel: every thread runs iort_retry on an op that always fails, with delays of an hour
 *      and one token; once all have called op, the main thread cancels the token: every one
 *      returns -ECANCELED (threads after the first one registered poll the token with the wait
 *      layer of today; the result is the same).
 * The threads meet at barriers; the main thread waits for the ops with a condition variable.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <iort/clock.h>
#include <iort/retry.h>
#include <iort/wait.h>

#include "stress.h"

#define THREADS	     4
#define MAX_TOKENS   100000u
#define REFUND_MILLI 7u
#define HOUR_NS	     3600000000000ull

static struct iort_retry_budget budget;
static pthread_barrier_t bar;
static long refunds_per_thread;
static struct iort_cancel token;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int ops_called;
static uint64_t after_mix; /* the budget between phases 2 and 3 */

struct worker {
	pthread_t t;
	uint64_t rng;
	uint64_t drained, granted, refunded;
	int cancel_result;
};

static bool always(int err, void *ctx)
{
	(void)ctx;
	return err == -EAGAIN;
}

static int failing_op(void *ctx)
{
	bool *called = ctx;

	if (!*called) {
		*called = true;
		pthread_mutex_lock(&mu);
		ops_called++;
		pthread_cond_signal(&cv);
		pthread_mutex_unlock(&mu);
	}
	return -EAGAIN;
}

static void check_range(void)
{
	uint64_t v = iort_retry_budget_milli(&budget);

	STRESS_CHECK(v <= (uint64_t)MAX_TOKENS * 1000);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct iort_retry_policy p = { .jitter = IORT_JITTER_FULL,
				       .base_ns = HOUR_NS,
				       .cap_ns = HOUR_NS,
				       .retryable = always,
				       .cancel = &token };
	bool called = false;

	pthread_barrier_wait(&bar);
	while (iort_retry_budget_try_spend(&budget))
		w->drained++;
	pthread_barrier_wait(&bar);
	for (long left = refunds_per_thread; left > 0;) {
		if (stress_rand(&w->rng) & 1) {
			iort_retry_budget_refund(&budget);
			w->refunded++;
			left--;
		} else if (iort_retry_budget_try_spend(&budget)) {
			w->granted++;
		}
		if ((left & 255) == 0)
			check_range();
	}
	if (pthread_barrier_wait(&bar) == PTHREAD_BARRIER_SERIAL_THREAD)
		after_mix = iort_retry_budget_milli(&budget);
	pthread_barrier_wait(&bar); /* after_mix is read before anyone refills */
	for (long i = 0; i < 2 * (long)MAX_TOKENS * 1000 / REFUND_MILLI / THREADS; i++)
		iort_retry_budget_refund(&budget);
	pthread_barrier_wait(&bar);
	w->cancel_result = iort_retry(&p, failing_op, &called);
	return NULL;
}

int main(void)
{
	uint64_t seed = stress_seed("stress_retry"), rng = seed;
	const uint64_t max = (uint64_t)MAX_TOKENS * 1000;
	int rounds = (int)stress_scale(4);

	stress_watchdog(300);
	refunds_per_thread = stress_scale(200000);
	/* No clamp at max in phase 2: max/2 + all refunds < max. */
	STRESS_CHECK((uint64_t)THREADS * (uint64_t)refunds_per_thread * REFUND_MILLI < max / 2);
	for (int round = 0; round < rounds; round++) {
		struct worker w[THREADS] = { 0 };
		uint64_t drained = 0, granted = 0, refunded = 0, end;

		STRESS_CHECK(iort_retry_budget_init(&budget, MAX_TOKENS, REFUND_MILLI) == 0);
		iort_cancel_init(&token);
		ops_called = 0;
		STRESS_CHECK(pthread_barrier_init(&bar, NULL, THREADS) == 0);
		for (int i = 0; i < THREADS; i++) {
			w[i].rng = stress_rand(&rng) | 1;
			STRESS_CHECK(pthread_create(&w[i].t, NULL, worker_main, &w[i]) == 0);
		}
		pthread_mutex_lock(&mu);
		while (ops_called < THREADS)
			pthread_cond_wait(&cv, &mu);
		pthread_mutex_unlock(&mu);
		iort_cancel_request(&token);
		for (int i = 0; i < THREADS; i++) {
			pthread_join(w[i].t, NULL);
			drained += w[i].drained;
			granted += w[i].granted;
			refunded += w[i].refunded;
			STRESS_CHECK(w[i].cancel_result == -ECANCELED);
		}
		pthread_barrier_destroy(&bar);
		/* Phase 1: max/2 tokens granted. Phase 2: its totals replayed on max/2 give what the
		 * budget held after it (a lost or doubled update breaks the equality). Phase 3: full.
		 */
		STRESS_CHECK(drained == (max - max / 2) / 1000);
		STRESS_CHECK(refunded == (uint64_t)THREADS * (uint64_t)refunds_per_thread);
		end = max / 2 + refunded * REFUND_MILLI - granted * 1000;
		STRESS_CHECK(after_mix == end);
		STRESS_CHECK(granted > 0);
		STRESS_CHECK(iort_retry_budget_milli(&budget) == max);
		printf("round %d: %" PRIu64 " drained, %" PRIu64 " refunds, %" PRIu64
		       " granted in the mix, %d sleepers cancelled\n",
		       round, drained, refunded, granted, THREADS);
	}
	printf("stress_retry: ok\n");
	return 0;
}
