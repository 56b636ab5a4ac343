/*
 * The lock-order checker under load: 6 threads on 2 cores take random nestings (depth 1..5) of
 * 16 iort_mutexes, always in rank order, with try-locks and out-of-order unlocks mixed in, while
 * the watchdog runs with a 50 us stall threshold (so it walks other threads' stacks while they
 * change). Threads exit and new ones start between rounds (the registry changes). Expected: no
 * report at all (ordered locking has no cycle and no deadlock). Then one thread inverts one pair:
 * exactly one report, naming both classes.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <iort/config.h>
#include <iort/lockdep.h>
#include <iort/mutex.h>

#include "stress.h"

#define NLOCKS	 16
#define NTHREADS 6
#define ROUNDS	 3

static struct iort_mutex locks[NLOCKS];
static char names[NLOCKS][16];
static atomic_int reports, inversions;
static char last[2][64];

static void handler(const struct iort_lockdep_report *r, void *arg)
{
	(void)arg;
	/* MO relaxed: counts, read after the threads are joined. */
	if (r->kind == IORT_LOCKDEP_INVERSION &&
	    atomic_fetch_add_explicit(&inversions, 1, memory_order_relaxed) == 0 &&
	    r->nclasses == 2) {
		snprintf(last[0], sizeof(last[0]), "%s", r->classes[0]);
		snprintf(last[1], sizeof(last[1]), "%s", r->classes[1]);
	}
	/* MO relaxed: as above. */
	atomic_fetch_add_explicit(&reports, 1, memory_order_relaxed);
	fputs(r->text, stderr);
}

struct worker {
	pthread_t t;
	uint64_t rng;
	long iters;
};

static void *work(void *arg)
{
	struct worker *w = arg;

	for (long it = 0; it < w->iters; it++) {
		int held[NLOCKS], n = 0, depth = 1 + (int)(stress_rand(&w->rng) % 5);
		int next = (int)(stress_rand(&w->rng) % NLOCKS);

		for (int k = next; k < NLOCKS && n < depth; k++) {
			uint64_t r = stress_rand(&w->rng);

			if (r % 3 == 0)
				continue; /* skip this rank */
			if (r % 7 == 1) {
				if (iort_mutex_try_lock(&locks[k]))
					held[n++] = k;
			} else {
				iort_mutex_lock(&locks[k]);
				held[n++] = k;
			}
		}
		/* Unlock in a random order. */
		while (n > 0) {
			int i = (int)(stress_rand(&w->rng) % (uint64_t)n);

			iort_mutex_unlock(&locks[held[i]]);
			held[i] = held[--n];
		}
	}
	return NULL;
}

int main(void)
{
	uint64_t seed = stress_seed("stress_lockdep");
	struct worker w[NTHREADS];
	long iters = stress_scale(200000);

	stress_watchdog(300);
	for (int i = 0; i < NLOCKS; i++) {
		snprintf(names[i], sizeof(names[i]), "rank.%02d", i);
		iort_mutex_init_class(&locks[i], names[i]);
	}
#if !IORT_LOCKDEP
	(void)seed, (void)w, (void)iters, (void)work, (void)handler;
	STRESS_CHECK(iort_lockdep_set_mode(IORT_LOCKDEP_REPORT) == -ENOTSUP);
	printf("stress_lockdep: compiled out (-Dlockdep=disabled); nothing to stress\n");
	return 0;
#else
	iort_lockdep_set_handler(handler, NULL);
	iort_lockdep_set_stall_ns(50000);
	STRESS_CHECK(iort_lockdep_set_mode(IORT_LOCKDEP_REPORT) == 0);
	/* The pair the inversion below closes a cycle with: rank.00 -> rank.15. */
	iort_mutex_lock(&locks[0]);
	iort_mutex_lock(&locks[NLOCKS - 1]);
	iort_mutex_unlock(&locks[NLOCKS - 1]);
	iort_mutex_unlock(&locks[0]);
	for (int round = 0; round < ROUNDS; round++) {
		for (int i = 0; i < NTHREADS; i++) {
			w[i].rng = seed + (uint64_t)(round * NTHREADS + i) * 0x9e3779b97f4a7c15ull;
			w[i].iters = iters;
			STRESS_CHECK(pthread_create(&w[i].t, NULL, work, &w[i]) == 0);
		}
		for (int i = 0; i < NTHREADS; i++)
			STRESS_CHECK(pthread_join(w[i].t, NULL) == 0);
		STRESS_CHECK(atomic_load(&reports) == 0);
	}
	/* One inversion: exactly one report. */
	iort_mutex_lock(&locks[NLOCKS - 1]);
	iort_mutex_lock(&locks[0]);
	iort_mutex_unlock(&locks[0]);
	iort_mutex_unlock(&locks[NLOCKS - 1]);
	STRESS_CHECK(atomic_load(&reports) == 1);
	STRESS_CHECK(atomic_load(&inversions) == 1);
	STRESS_CHECK((strcmp(last[0], "rank.00") == 0 && strcmp(last[1], "rank.15") == 0) ||
		     (strcmp(last[0], "rank.15") == 0 && strcmp(last[1], "rank.00") == 0));
	STRESS_CHECK(iort_lockdep_set_mode(IORT_LOCKDEP_OFF) == 0);
	printf("stress_lockdep: %d threads x %d rounds x %ld nestings: no false report, the "
	       "inversion reported once\n",
	       NTHREADS, ROUNDS, iters);
	return 0;
#endif
}
