/*
 * Cancellation tokens under oversubscription: WORKERS threads (plus a canceller, on 2 cores)
 * register and unregister callbacks on a small token tree while the canceller cancels the root
 * at a random moment of each round.
 *
 * Each round: a root, CHILDREN children of it and a grandchild under each child. Every worker
 * makes a child token of its own under a random node each round (init_child racing the cancel),
 * then registers callbacks (on heap records, freed right after their unregister: ASan and TSan see
 * any touch of a record after unregister returned) on random nodes, and unregisters them after a
 * random delay, some at once, some after the cancel. The callback counts its runs and marks its
 * end. Per record, exactly one of:
 *   - register returned -ECANCELED: it ran exactly once, in the registering thread, before the
 *     return;
 *   - unregister returned true: it never ran (checked once more after the round: the request did
 *     not run it later either);
 *   - unregister returned false: it ran exactly once and had ended before unregister returned.
 * After the round every callback registered and never removed must have run (the cancel reached
 * every node, the worker's own child included). The run prints how many unregisters overlapped
 * their callback (it had not ended when the unregister began, and had when it returned): the
 * window win_cancel.c drives deterministically. A hang (a lost wake-up in unregister's wait or
 * the token's lock) ends in the watchdog.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <iort/cancel.h>
#include <iort/clock.h>

#include "stress.h"

#define WORKERS	  4
#define CHILDREN  3
#define NODES	  (1 + 2 * CHILDREN) /* root, children, grandchildren */
#define PER_ROUND 24		     /* registrations per worker per round */

struct rec {
	struct iort_cancel_cb cb;
	_Atomic int runs;
	_Atomic int ended;
};

static struct iort_cancel g_node[NODES];
static pthread_barrier_t g_bar;
static long g_rounds;
static uint64_t g_seed;
static _Atomic long g_stat[5]; /* inline, removed, ran, leftover, overlapped */

static void cb_fn(void *arg)
{
	struct rec *r = arg;

	/* MO relaxed: counters read by the same thread after unregister (ordered by the token's
	 * lock, cancel.R1 -> cancel.A1) or after register returned (same thread). */
	atomic_fetch_add_explicit(&r->runs, 1, memory_order_relaxed);
	for (int i = 0; i < 8; i++) /* a little work, so unregisters land inside it */
		iort_cpu_relax();
	/* MO relaxed: as above. */
	atomic_store_explicit(&r->ended, 1, memory_order_relaxed);
}

static int load(_Atomic int *v)
{
	/* MO relaxed: see cb_fn(). */
	return atomic_load_explicit(v, memory_order_relaxed);
}

static void stat_add(int i)
{
	/* MO relaxed: a statistic, summed after the joins. */
	atomic_fetch_add_explicit(&g_stat[i], 1, memory_order_relaxed);
}

static long stat(int i)
{
	/* MO relaxed: read after the joins. */
	return atomic_load_explicit(&g_stat[i], memory_order_relaxed);
}

struct held {
	struct rec *r;
	struct iort_cancel *c;
};

/* Unregister and check the record; then free it. */
static void drop(struct held *h)
{
	bool ended_before = load(&h->r->ended);
	bool removed = iort_cancel_unregister(h->c, &h->r->cb);

	if (removed) {
		STRESS_CHECK(load(&h->r->runs) == 0);
		stat_add(1);
	} else {
		STRESS_CHECK(load(&h->r->runs) == 1);
		STRESS_CHECK(load(&h->r->ended) == 1);
		stat_add(2);
		if (!ended_before) /* it was running (or ran) during this unregister */
			stat_add(4);
	}
	free(h->r);
}

static void *worker_main(void *arg)
{
	int id = (int)(intptr_t)arg;
	uint64_t rng = g_seed * 0x9e3779b97f4a7c15ull + (uint64_t)id + 1;
	struct held held[PER_ROUND];
	struct iort_cancel mine;

	for (long round = 0; round < g_rounds; round++) {
		int n = 0;
		struct rec probe = { 0 };
		bool probe_held;

		pthread_barrier_wait(&g_bar); /* tree ready */
		iort_cancel_init_child(&mine, &g_node[stress_rand(&rng) % NODES]);
		/* a callback on our own child: must run once the root is cancelled */
		probe_held = iort_cancel_register(&mine, &probe.cb, cb_fn, &probe) == 0;
		STRESS_CHECK(probe_held || load(&probe.runs) == 1);
		for (int i = 0; i < PER_ROUND; i++) {
			unsigned int node = (unsigned int)(stress_rand(&rng) % (NODES + 1));
			struct iort_cancel *c = node == NODES ? &mine : &g_node[node];
			struct rec *r = calloc(1, sizeof(*r));

			STRESS_CHECK(r != NULL);
			if (iort_cancel_register(c, &r->cb, cb_fn, r) == -ECANCELED) {
				STRESS_CHECK(load(&r->runs) == 1 && load(&r->ended) == 1);
				stat_add(0);
				free(r);
			} else {
				held[n++] = (struct held){ r, c };
			}
			/* unregister some at once, some a little later, the rest after the round */
			while (n > 0 && stress_rand(&rng) % 3 == 0) {
				int k = (int)(stress_rand(&rng) % (uint64_t)n);

				drop(&held[k]);
				held[k] = held[--n];
			}
			if (stress_rand(&rng) % 16 == 0)
				sched_yield();
		}
		pthread_barrier_wait(&g_bar); /* the root is cancelled, its request returned */
		for (int i = 0; i < n; i++) {
			/* still registered at the cancel: it ran */
			STRESS_CHECK(load(&held[i].r->runs) == 1);
			stat_add(3);
			drop(&held[i]);
		}
		STRESS_CHECK(iort_cancel_requested(&mine));
		STRESS_CHECK(load(&probe.runs) == 1);
		if (probe_held)
			STRESS_CHECK(!iort_cancel_unregister(&mine, &probe.cb));
		iort_cancel_fini(&mine);
		pthread_barrier_wait(&g_bar); /* every child detached: the tree may be torn down */
	}
	return NULL;
}

int main(void)
{
	pthread_t th[WORKERS];
	uint64_t rng, t0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	g_seed = stress_seed("stress_cancel");
	rng = g_seed ^ 0x5bd1e995u;
	stress_watchdog(300);
	g_rounds = stress_scale(15000);
	t0 = iort_clock_ns();
	STRESS_CHECK(pthread_barrier_init(&g_bar, NULL, WORKERS + 1) == 0);
	for (int i = 0; i < WORKERS; i++)
		STRESS_CHECK(pthread_create(&th[i], NULL, worker_main, (void *)(intptr_t)i) == 0);
	for (long round = 0; round < g_rounds; round++) {
		unsigned int spin;

		iort_cancel_init(&g_node[0]);
		for (int i = 0; i < CHILDREN; i++) {
			iort_cancel_init_child(&g_node[1 + i], &g_node[0]);
			iort_cancel_init_child(&g_node[1 + CHILDREN + i], &g_node[1 + i]);
		}
		pthread_barrier_wait(&g_bar);
		/* cancel at a random moment: before, during or after the workers' registrations */
		spin = (unsigned int)(stress_rand(&rng) % 20000);
		for (unsigned int k = 0; k < spin; k++)
			iort_cpu_relax();
		if (stress_rand(&rng) % 4 == 0)
			sched_yield();
		if (stress_rand(&rng) %
		    2) /* sometimes a child first: the root's cancel then skips it */
			iort_cancel_request(&g_node[1 + stress_rand(&rng) % CHILDREN]);
		iort_cancel_request(&g_node[0]);
		for (int i = 0; i < NODES; i++)
			STRESS_CHECK(iort_cancel_requested(&g_node[i]));
		pthread_barrier_wait(&g_bar);
		pthread_barrier_wait(&g_bar);
		for (int i = CHILDREN - 1; i >= 0; i--) {
			iort_cancel_fini(&g_node[1 + CHILDREN + i]);
			iort_cancel_fini(&g_node[1 + i]);
		}
		iort_cancel_fini(&g_node[0]);
	}
	for (int i = 0; i < WORKERS; i++)
		STRESS_CHECK(pthread_join(th[i], NULL) == 0);
	pthread_barrier_destroy(&g_bar);
	printf("stress_cancel: %d workers x %ld rounds in %.3f s: %ld ran inline, %ld removed "
	       "before "
	       "running, %ld ran and unregistered after (%ld of them overlapping the unregister), "
	       "%ld "
	       "still registered at the cancel\n",
	       WORKERS, g_rounds, (double)(iort_clock_ns() - t0) / 1e9, stat(0), stat(1), stat(2),
	       stat(4), stat(3));
	/* every outcome happened: the test exercised each side of each race */
	for (int i = 0; i < 4; i++)
		STRESS_CHECK(stat(i) > 0);
	return 0;
}
