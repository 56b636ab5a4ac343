/*
 * Stress: one producer and one consumer thread move tens of millions of items through an
 * iort_spsc, mixing single calls and bursts of random sizes (from the seed); the consumer checks
 * the exact sequence: no loss, no duplicate, no reordering.
 *
 * Phases:
 *   - a tiny ring (capacity 1..8): nearly every call meets full or empty, the indices lap the
 *     array millions of times;
 *   - a larger ring (64..4096): long runs on cached indices, bursts wrapping the array end;
 *   - oversubscribed: the same with NOISE_THREADS busy threads, so 2 + NOISE_THREADS threads share
 *     the 2 cores and the producer and consumer are preempted at arbitrary points.
 * After each phase both threads are joined and the ring must be empty.
 *
 * Prints its seed; IOBENCH_SEED=<seed> reproduces capacities, burst sizes and call mix.
 */
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <iort/compiler.h>
#include <iort/spsc.h>

#include "stress.h"

#define MAX_BURST     64
#define NOISE_THREADS 3
#define SPINS_YIELD   64 /* failed calls in a row before a thread yields its core */

struct phase {
	const char *name;
	size_t capacity;
	uint64_t items;
	int noise;
};

static struct iort_spsc *q;
static uint64_t n_items;
static uint64_t prod_seed, cons_seed;
static _Atomic bool noise_stop;

static void fail(const char *what, uint64_t pos, uint64_t want, uint64_t got)
{
	fprintf(stderr,
		"FAIL: %s at item %" PRIu64 ": want %" PRIu64 ", got %" PRIu64 " (seed %" PRIu64
		")\n",
		what, pos, want, got, stress_seed_value);
	exit(1);
}

/* Spin on a failed call for a while, then give the core away (the other side may be preempted). */
static void backoff(unsigned *fails)
{
	if (++*fails % SPINS_YIELD == 0)
		sched_yield();
	else
		iort_cpu_relax();
}

static void *producer(void *arg)
{
	uint64_t rng = prod_seed, next = 0;
	void *buf[MAX_BURST];
	unsigned fails = 0;

	(void)arg;
	while (next < n_items) {
		uint64_t r = stress_rand(&rng);

		if (r % 3 == 0) {
			/* Item values are the sequence itself: item 0 is NULL. */
			if (iort_spsc_try_push(q, (void *)(uintptr_t)next)) {
				next++;
				fails = 0;
			} else {
				backoff(&fails);
			}
		} else {
			size_t n = 1 + (size_t)(r >> 32) % MAX_BURST, got;

			if (n > n_items - next)
				n = (size_t)(n_items - next);
			for (size_t i = 0; i < n; i++)
				buf[i] = (void *)(uintptr_t)(next + i);
			got = iort_spsc_push_burst(q, buf, n);
			if (got > n)
				fail("push_burst returned more than asked", next, n, got);
			next += got;
			if (got)
				fails = 0;
			else
				backoff(&fails);
		}
	}
	return NULL;
}

static void *consumer(void *arg)
{
	uint64_t rng = cons_seed, want = 0;
	void *buf[MAX_BURST], *item;
	unsigned fails = 0;

	(void)arg;
	while (want < n_items) {
		uint64_t r = stress_rand(&rng);

		if (r % 3 == 0) {
			if (iort_spsc_try_pop(q, &item)) {
				if ((uintptr_t)item != want)
					fail("try_pop out of sequence", want, want,
					     (uintptr_t)item);
				want++;
				fails = 0;
			} else {
				backoff(&fails);
			}
		} else {
			size_t n = 1 + (size_t)(r >> 32) % MAX_BURST,
			       got = iort_spsc_pop_burst(q, buf, n);

			if (got > n)
				fail("pop_burst returned more than asked", want, n, got);
			for (size_t i = 0; i < got; i++, want++)
				if ((uintptr_t)buf[i] != want)
					fail("pop_burst out of sequence", want, want,
					     (uintptr_t)buf[i]);
			if (got)
				fails = 0;
			else
				backoff(&fails);
		}
	}
	return NULL;
}

/*
 * Busy, always runnable, so the tick preempts the producer and consumer at arbitrary points. It
 * yields now and then so that a ring thread that yielded gets its core back within microseconds
 * rather than after a whole time slice (with capacity 1 every item needs both threads running).
 */
static void *noise(void *arg)
{
	uint64_t x = (uintptr_t)arg;
	unsigned i = 0;

	/* MO relaxed: a stop flag; the noise threads share no data with the test. */
	while (!atomic_load_explicit(&noise_stop, memory_order_relaxed)) {
		x = x * 6364136223846793005ull + 1;
		if (++i % 16384 == 0)
			sched_yield();
	}
	return (void *)(uintptr_t)x;
}

static void run_phase(const struct phase *ph, uint64_t *rng)
{
	pthread_t p, c, nt[NOISE_THREADS];
	uint64_t t0;
	struct timespec ts;
	double secs;
	void *item;

	if (iort_spsc_create(ph->capacity, &q)) {
		fprintf(stderr, "FAIL: iort_spsc_create(%zu)\n", ph->capacity);
		exit(1);
	}
	n_items = ph->items;
	prod_seed = stress_rand(rng);
	cons_seed = stress_rand(rng);
	/* MO relaxed: set before the noise threads are created (pthread_create orders it). */
	atomic_store_explicit(&noise_stop, false, memory_order_relaxed);
	for (int i = 0; i < ph->noise; i++)
		if (pthread_create(&nt[i], NULL, noise, (void *)(uintptr_t)(i + 1)))
			exit(99);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	t0 = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	if (pthread_create(&c, NULL, consumer, NULL) || pthread_create(&p, NULL, producer, NULL))
		exit(99);
	pthread_join(p, NULL);
	pthread_join(c, NULL);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	secs = (double)((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec - t0) / 1e9;
	/* MO relaxed: a stop flag; pthread_join below orders the rest. */
	atomic_store_explicit(&noise_stop, true, memory_order_relaxed);
	for (int i = 0; i < ph->noise; i++)
		pthread_join(nt[i], NULL);

	/* Both sides joined: this thread may act as either; everything pushed was popped. */
	if (iort_spsc_try_pop(q, &item))
		fail("ring not empty after the run", n_items, 0, 1);
	printf("%-14s capacity %5zu: %9" PRIu64
	       " items, %d noise threads, %.2f s (%.1f M items/s)\n",
	       ph->name, iort_spsc_capacity(q), ph->items, ph->noise, secs,
	       (double)ph->items / secs / 1e6);
	fflush(stdout);
	iort_spsc_destroy(q);
}

int main(void)
{
	static const size_t tiny[] = { 1, 2, 3, 8 }, large[] = { 64, 100, 1024, 4096 };
	uint64_t rng = stress_seed("stress_spsc");
	struct phase phases[] = {
		{ "tiny", tiny[stress_rand(&rng) % 4], (uint64_t)stress_scale(3000000), 0 },
		{ "large", large[stress_rand(&rng) % 4], (uint64_t)stress_scale(30000000), 0 },
		{ "oversub-tiny", tiny[stress_rand(&rng) % 4], (uint64_t)stress_scale(400000),
		  NOISE_THREADS },
		{ "oversub-large", large[stress_rand(&rng) % 4], (uint64_t)stress_scale(10000000),
		  NOISE_THREADS },
	};

	stress_watchdog(540);
	for (size_t i = 0; i < sizeof(phases) / sizeof(phases[0]); i++)
		run_phase(&phases[i], &rng);
	printf("OK\n");
	return 0;
}
