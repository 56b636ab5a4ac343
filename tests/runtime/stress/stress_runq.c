/*
 * The worker run queue under stealing, oversubscribed (1 owner + THIEVES thieves on 2 cores),
 * seeded. The owner pushes TASKS distinct tasks, pops some at random (from the front, or the
 * newest back as a joiner does), and on a full queue moves
 * half to an overflow list (take_half) as the pool will to its inject queue. Each thief owns a
 * queue too: it runs (counts) what it pops from it, and when it is empty steals from the owner or
 * from another thief. At the end every task was run exactly once: none lost, none twice.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "runq-private.h"
#include "stress.h"

#define THIEVES 3

static struct iort__runq queues[1 + THIEVES]; /* 0: the owner's */
static _Atomic uint8_t *runs;		      /* per task: times it was run */
static long tasks;
static _Atomic int owner_done;
static _Atomic uint64_t steals;

static void run(void *task)
{
	uintptr_t id = (uintptr_t)task - 1;

	STRESS_CHECK(task && id < (uintptr_t)tasks);
	/* MO relaxed: counted; read after join. */
	STRESS_CHECK(atomic_fetch_add_explicit(&runs[id], 1, memory_order_relaxed) == 0);
}

static void *owner_main(void *arg)
{
	uint64_t rng = (uint64_t)(uintptr_t)arg;
	struct iort__runq *q = &queues[0];
	void *out[RUNQ_CAP / 2];

	for (long i = 0; i < tasks; i++) {
		void *t = (void *)(uintptr_t)(i + 1);
		while (iort__runq_push(q, t) == -ENOSPC) {
			unsigned n = iort__runq_take_half(q, out);
			for (unsigned k = 0; k < n; k++) /* the "inject queue": run them here */
				run(out[k]);
		}
		uint64_t r = stress_rand(&rng) % 8;
		if (r < 2) {
			void *p = iort__runq_pop(q);
			if (p)
				run(p);
		} else if (r == 2) {
			/* The joiner's take-back of the newest, racing the thieves' claims. */
			void *p = iort__runq_pop_back_if(q, t);
			if (p)
				run(p);
		}
	}
	for (void *p; (p = iort__runq_pop(q));)
		run(p);
	/* MO relaxed: the thieves only stop looking; their last steals are joined. */
	atomic_store_explicit(&owner_done, 1, memory_order_relaxed);
	return NULL;
}

static void *thief_main(void *arg)
{
	uintptr_t me = (uintptr_t)arg;
	uint64_t rng = me * 0x9e3779b97f4a7c15ull ^ stress_seed_value;
	struct iort__runq *q = &queues[me];
	uint64_t mine = 0;

	for (;;) {
		for (void *p; (p = iort__runq_pop(q));)
			run(p);
		/* Our queue is empty: steal from the owner mostly, sometimes from a thief. */
		unsigned from =
			stress_rand(&rng) % 3 ? 0 : 1 + (unsigned)(stress_rand(&rng) % THIEVES);
		if (from == me)
			continue;
		void *t = iort__runq_steal(&queues[from], q);
		if (t) {
			mine++;
			run(t);
			continue;
		}
		/* MO relaxed: see owner_main. */
		if (atomic_load_explicit(&owner_done, memory_order_relaxed) &&
		    iort__runq_len(&queues[0]) == 0)
			break;
	}
	for (void *p; (p = iort__runq_pop(q));)
		run(p);
	/* MO relaxed: summed after join. */
	atomic_fetch_add_explicit(&steals, mine, memory_order_relaxed);
	return NULL;
}

int main(void)
{
	uint64_t rng = stress_seed("stress_runq");
	pthread_t o, th[THIEVES];

	stress_watchdog(300);
	tasks = stress_scale(2000000);
	for (int round = 0; round < 4; round++) {
		runs = calloc((size_t)tasks, 1);
		STRESS_CHECK(runs);
		for (int i = 0; i <= THIEVES; i++)
			if (iort__runq_init(&queues[i], RUNQ_CAP) != 0)
				abort();
		atomic_store(&owner_done, 0);
		atomic_store(&steals, 0);
		STRESS_CHECK(pthread_create(&o, NULL, owner_main,
					    (void *)(uintptr_t)(stress_rand(&rng) | 1)) == 0);
		for (uintptr_t i = 0; i < THIEVES; i++)
			STRESS_CHECK(pthread_create(&th[i], NULL, thief_main, (void *)(i + 1)) ==
				     0);
		pthread_join(o, NULL);
		for (int i = 0; i < THIEVES; i++)
			pthread_join(th[i], NULL);
		/* Thieves stop once the owner's queue is empty, but a thief's queue may still hold
		 * tasks another thief did not come back for: the stress drains them here. */
		for (int i = 1; i <= THIEVES; i++)
			for (void *p; (p = iort__runq_pop(&queues[i]));)
				run(p);
		long lost = 0;
		for (long i = 0; i < tasks; i++)
			lost += atomic_load(&runs[i]) != 1;
		STRESS_CHECK(lost == 0);
		printf("round %d: %ld tasks each run once, %" PRIu64 " steals\n", round, tasks,
		       atomic_load(&steals));
		free(runs);
		for (int i = 0; i <= THIEVES; i++)
			iort__runq_fini(&queues[i]);
	}
	printf("stress_runq: ok\n");
	return 0;
}
