/*
 * The mutex and condition variable under oversubscription (THREADS threads on the machine's
 * cores, 2 here), seeded.
 *
 * 1. Exclusion: every thread takes one of two mutexes at random with lock, try_lock or a timed
 *    lock with a random short deadline (some already past), and inside increments a plain counter
 *    and checks an owner flag. A fairness bound is set at random per round (strict handoff, a
 *    count bound, none). At the end each counter equals the acquisitions that reported success:
 *    no acquisition lost, none let two threads in, and every timed lock that failed really did
 *    not hold the lock. Every thread finishes its quota (the watchdog bounds a starvation).
 * 2. Free right after unlock: objects hold a mutex and a reference count; THREADS threads each
 *    drop one reference under the mutex, and the one that drops the last frees the object right
 *    after its unlock, while the others may still be inside their unlock. Under ASan a waker that
 *    touched the mutex after releasing it is a use-after-free.
 * 3. Condition variable: producers and consumers on a bounded buffer with one mutex and two
 *    condition variables, signal and broadcast, timed waits with random deadlines. Every item is
 *    received exactly once; no waiter sleeps through a signal (the watchdog would fire).
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
#include <iort/mutex.h>

#include "stress.h"

#define THREADS 6

/* --- 1. exclusion ------------------------------------------------------------------------- */

struct guarded {
	struct iort_mutex m;
	uint64_t counter; /* guarded by m */
	int inside;	  /* guarded by m: 1 while someone holds it */
};

static struct guarded g[2];
static long quota;
static _Atomic uint64_t successes[2], timeouts, try_fails;
static pthread_barrier_t start; /* all threads contend from the first iteration */

static void spin_ns(uint64_t ns)
{
	uint64_t end = iort_clock_ns() + ns;

	while (iort_clock_ns() < end)
		;
}

static void *excl_main(void *arg)
{
	uint64_t rng = (uint64_t)(uintptr_t)arg;
	uint64_t mine[2] = { 0, 0 }, tmo = 0, tfail = 0;

	pthread_barrier_wait(&start);
	for (long i = 0; i < quota; i++) {
		uint64_t r = stress_rand(&rng);
		struct guarded *x = &g[r & 1];
		bool got;
		switch ((r >> 1) % 4) {
		case 0:
			got = iort_mutex_try_lock(&x->m);
			tfail += !got;
			break;
		case 1: {
			uint64_t now = iort_clock_ns();
			/* Deadlines from 10 us in the past to 50 us ahead. */
			uint64_t dl = now - 10000 + (r >> 8) % 60000;
			int e = iort_mutex_lock_timed(&x->m, dl);
			STRESS_CHECK(e == 0 || e == -ETIMEDOUT);
			got = e == 0;
			tmo += !got;
			break;
		}
		default:
			iort_mutex_lock(&x->m);
			got = true;
			break;
		}
		if (!got)
			continue;
		STRESS_CHECK(x->inside == 0);
		x->inside = 1;
		x->counter++;
		if ((r >> 20) % 8 == 0)
			spin_ns((r >> 24) % 3000);
		x->inside = 0;
		iort_mutex_unlock(&x->m);
		mine[r & 1]++;
	}
	/* MO relaxed: summed after join (join orders them). */
	atomic_fetch_add_explicit(&successes[0], mine[0], memory_order_relaxed);
	/* MO relaxed: as above. */
	atomic_fetch_add_explicit(&successes[1], mine[1], memory_order_relaxed);
	/* MO relaxed: as above. */
	atomic_fetch_add_explicit(&timeouts, tmo, memory_order_relaxed);
	/* MO relaxed: as above. */
	atomic_fetch_add_explicit(&try_fails, tfail, memory_order_relaxed);
	return NULL;
}

static void test_exclusion(uint64_t *rng)
{
	pthread_t t[THREADS];

	STRESS_CHECK(pthread_barrier_init(&start, NULL, THREADS) == 0);
	for (int round = 0; round < 6; round++) {
		atomic_store(&timeouts, 0);
		atomic_store(&try_fails, 0);
		for (int k = 0; k < 2; k++) {
			iort_mutex_init(&g[k].m);
			g[k].counter = 0;
			g[k].inside = 0;
			atomic_store(&successes[k], 0);
			int r;
			switch (stress_rand(rng) % 3) {
			case 0:
				r = iort_mutex_set_fairness(&g[k].m, 0, 0); /* hand off at once */
				break;
			case 1:
				r = iort_mutex_set_fairness(&g[k].m, UINT64_MAX, 3);
				break;
			default:
				r = 0; /* defaults */
				break;
			}
			STRESS_CHECK(r == 0);
		}
		for (int i = 0; i < THREADS; i++)
			STRESS_CHECK(pthread_create(&t[i], NULL, excl_main,
						    (void *)(uintptr_t)(stress_rand(rng) | 1)) ==
				     0);
		for (int i = 0; i < THREADS; i++)
			pthread_join(t[i], NULL);
		for (int k = 0; k < 2; k++) {
			STRESS_CHECK(g[k].counter == atomic_load(&successes[k]));
			STRESS_CHECK(iort_mutex_fini(&g[k].m) == 0);
		}
		/* Contention evidence: without it the round proved little. */
		printf("exclusion round %d: %" PRIu64 " + %" PRIu64 " acquisitions, %" PRIu64
		       " timed out, %" PRIu64 " try_lock failed\n",
		       round, g[0].counter, g[1].counter, atomic_load(&timeouts),
		       atomic_load(&try_fails));
	}
	pthread_barrier_destroy(&start);
}

/* --- 2. free right after unlock ----------------------------------------------------------- */

struct obj {
	struct iort_mutex m;
	int refs; /* guarded by m */
};

#define OBJS 64
static struct obj *_Atomic objs[OBJS];

static void *drop_main(void *arg)
{
	uint64_t rng = (uint64_t)(uintptr_t)arg;

	pthread_barrier_wait(&start);
	for (int k = 0; k < OBJS; k++) {
		/* MO stress_mutex.A1 (acquire): the object's initialization; pairs with stress_mutex.R1. */
		struct obj *o = atomic_load_explicit(&objs[k], memory_order_acquire);
		if (stress_rand(&rng) & 1)
			spin_ns(stress_rand(&rng) % 2000);
		iort_mutex_lock(&o->m);
		bool last = --o->refs == 0;
		iort_mutex_unlock(&o->m);
		if (last) {
			STRESS_CHECK(iort_mutex_fini(&o->m) == 0);
			free(o);
		}
	}
	return NULL;
}

static void test_free_after_unlock(uint64_t *rng)
{
	pthread_t t[THREADS];
	long rounds = stress_scale(200);

	STRESS_CHECK(pthread_barrier_init(&start, NULL, THREADS) == 0);
	for (long round = 0; round < rounds; round++) {
		for (int k = 0; k < OBJS; k++) {
			struct obj *o = malloc(sizeof(*o));
			STRESS_CHECK(o);
			iort_mutex_init(&o->m);
			if (k & 1)
				STRESS_CHECK(iort_mutex_set_fairness(&o->m, 0, 0) == 0);
			o->refs = THREADS;
			/* MO stress_mutex.R1 (release): pairs with stress_mutex.A1. */
			atomic_store_explicit(&objs[k], o, memory_order_release);
		}
		for (int i = 0; i < THREADS; i++)
			STRESS_CHECK(pthread_create(&t[i], NULL, drop_main,
						    (void *)(uintptr_t)(stress_rand(rng) | 1)) ==
				     0);
		for (int i = 0; i < THREADS; i++)
			pthread_join(t[i], NULL);
	}
	pthread_barrier_destroy(&start);
	printf("free after unlock: %ld rounds of %d objects\n", rounds, OBJS);
}

/* --- 3. condition variable ---------------------------------------------------------------- */

#define CAP 4
static struct {
	struct iort_mutex m;
	struct iort_cond not_empty, not_full;
	uint64_t buf[CAP];
	unsigned head, count;
	bool done;
} bb;
static long items_per_producer;
static _Atomic uint64_t received_sum, received_count;

static void *producer(void *arg)
{
	uint64_t rng = (uint64_t)(uintptr_t)arg;
	uint64_t base = (rng & 0xffff) << 32;

	for (long i = 1; i <= items_per_producer; i++) {
		iort_mutex_lock(&bb.m);
		while (bb.count == CAP) {
			if (stress_rand(&rng) & 1)
				iort_cond_wait(&bb.not_full, &bb.m);
			else
				(void)iort_cond_wait_timed(&bb.not_full, &bb.m,
							   iort_clock_ns() +
								   stress_rand(&rng) % 100000);
		}
		bb.buf[(bb.head + bb.count) % CAP] = base + (uint64_t)i;
		bb.count++;
		if (stress_rand(&rng) % 4 == 0)
			iort_cond_broadcast(&bb.not_empty);
		else
			iort_cond_signal(&bb.not_empty);
		iort_mutex_unlock(&bb.m);
	}
	return NULL;
}

static void *consumer(void *arg)
{
	uint64_t rng = (uint64_t)(uintptr_t)arg;
	uint64_t sum = 0, n = 0;

	for (;;) {
		iort_mutex_lock(&bb.m);
		while (bb.count == 0 && !bb.done) {
			if (stress_rand(&rng) & 1)
				iort_cond_wait(&bb.not_empty, &bb.m);
			else
				(void)iort_cond_wait_timed(&bb.not_empty, &bb.m,
							   iort_clock_ns() +
								   stress_rand(&rng) % 100000);
		}
		if (bb.count == 0) {
			iort_mutex_unlock(&bb.m);
			break;
		}
		uint64_t v = bb.buf[bb.head];
		bb.head = (bb.head + 1) % CAP;
		bb.count--;
		iort_cond_signal(&bb.not_full);
		iort_mutex_unlock(&bb.m);
		sum += v;
		n++;
	}
	/* MO relaxed: summed after join (join orders them). */
	atomic_fetch_add_explicit(&received_sum, sum, memory_order_relaxed);
	/* MO relaxed: as above. */
	atomic_fetch_add_explicit(&received_count, n, memory_order_relaxed);
	return NULL;
}

static void test_cond(uint64_t *rng)
{
	enum { P = 3, C = 3 };
	pthread_t p[P], c[C];
	uint64_t seeds[P], want = 0;

	iort_mutex_init(&bb.m);
	iort_cond_init(&bb.not_empty);
	iort_cond_init(&bb.not_full);
	bb.head = bb.count = 0;
	bb.done = false;
	items_per_producer = stress_scale(100000);
	for (int i = 0; i < P; i++) {
		seeds[i] = (stress_rand(rng) & ~0xffffull) | (uint64_t)(i + 1);
		uint64_t base = (seeds[i] & 0xffff) << 32;
		want += (uint64_t)items_per_producer * base +
			(uint64_t)items_per_producer * (uint64_t)(items_per_producer + 1) / 2;
		STRESS_CHECK(pthread_create(&p[i], NULL, producer, (void *)(uintptr_t)seeds[i]) ==
			     0);
	}
	for (int i = 0; i < C; i++)
		STRESS_CHECK(pthread_create(&c[i], NULL, consumer,
					    (void *)(uintptr_t)(stress_rand(rng) | 1)) == 0);
	for (int i = 0; i < P; i++)
		pthread_join(p[i], NULL);
	iort_mutex_lock(&bb.m);
	bb.done = true;
	iort_cond_broadcast(&bb.not_empty);
	iort_mutex_unlock(&bb.m);
	for (int i = 0; i < C; i++)
		pthread_join(c[i], NULL);
	STRESS_CHECK(atomic_load(&received_count) == (uint64_t)(P * items_per_producer));
	STRESS_CHECK(atomic_load(&received_sum) == want);
	STRESS_CHECK(iort_cond_fini(&bb.not_empty) == 0);
	STRESS_CHECK(iort_cond_fini(&bb.not_full) == 0);
	STRESS_CHECK(iort_mutex_fini(&bb.m) == 0);
	printf("cond: %ld items from %d producers, each received once\n", P * items_per_producer,
	       P);
}

int main(void)
{
	uint64_t rng = stress_seed("stress_mutex");

	stress_watchdog(300);
	quota = stress_scale(200000);
	test_exclusion(&rng);
	test_free_after_unlock(&rng);
	test_cond(&rng);
	printf("stress_mutex: ok\n");
	return 0;
}
