/*
 * Stress: one producer and one consumer thread move tens of millions of items through an
 * iort_spsc, mixing single calls and bursts of random sizes (from the seed); the consumer checks
 * the exact sequence: no loss, no duplicate, no reordering.
 *
 * Items are pointers to payload records the producer writes (plain stores) just before pushing
 * and the consumer reads just after popping, and the producer reuses a record only once the ring
 * has taken capacity + 2 * MAX_BURST later items, so records pass from one side to the other and
 * back through the ring's orderings only: under ThreadSanitizer a missing release or acquire is a
 * reported race. Every 7th item is NULL (no record), so NULL items take every path too.
 *
 * Phases:
 *   - a tiny ring (capacity 1..8): nearly every call meets full or empty, the indices lap the
 *     array millions of times;
 *   - a larger ring (64..4096): long runs on cached indices, bursts wrapping the array end;
 *   - oversubscribed: the same with NOISE_THREADS busy threads, so 2 + NOISE_THREADS threads share
 *     the 2 cores and the producer and consumer are preempted at arbitrary points.
 * After each phase both threads are joined and the ring must be empty. The "wrap" phases start
 * the ring's positions just below SIZE_MAX (iort__spsc_create_at), so its counters wrap to 0
 * within the first items.
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

#include "spsc-private.h"
#include "stress.h"

#define MAX_BURST     64
#define NOISE_THREADS 3
#define SPINS_YIELD   64 /* failed calls in a row before a thread yields its core */

struct phase {
	const char *name;
	size_t capacity;
	uint64_t items;
	int noise;
	bool wrap; /* start the positions just below SIZE_MAX */
};

/* What an item points to: written by the producer before the push, read by the consumer after. */
struct record {
	uint64_t seq;
	uint64_t check; /* ~seq */
};

static struct iort_spsc *q;
static struct record *records;
static size_t n_records; /* capacity + 2 * MAX_BURST + 1: see the file comment */
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

/* Item @p seq: NULL for every 7th, else its record, filled in. Producer only. */
static void *make_item(uint64_t seq)
{
	struct record *r;

	if (seq % 7 == 0)
		return NULL;
	r = &records[seq % n_records];
	r->seq = seq;
	r->check = ~seq;
	return r;
}

/* The consumer's check of item @p seq. */
static void check_item(const char *what, uint64_t seq, void *item)
{
	const struct record *r = item;

	if (seq % 7 == 0) {
		if (item)
			fail(what, seq, 0, (uintptr_t)item);
		return;
	}
	if (r != &records[seq % n_records])
		fail(what, seq, seq, r ? r->seq : UINT64_MAX);
	if (r->seq != seq || r->check != ~seq)
		fail("record not as the producer wrote it", seq, seq, r->seq);
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
			if (iort_spsc_try_push(q, make_item(next))) {
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
				buf[i] = make_item(next + i);
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
				check_item("try_pop out of sequence", want, item);
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
				check_item("pop_burst out of sequence", want, buf[i]);
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
	size_t start = ph->wrap ? SIZE_MAX - (size_t)(stress_rand(rng) % (4 * ph->capacity)) : 0;

	if (iort__spsc_create_at(ph->capacity, start, &q)) {
		fprintf(stderr, "FAIL: iort_spsc_create(%zu)\n", ph->capacity);
		exit(1);
	}
	n_records = iort_spsc_capacity(q) + 2 * MAX_BURST + 1;
	records = calloc(n_records, sizeof(*records));
	if (!records)
		exit(99);
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
	printf("%-18s capacity %5zu: %9" PRIu64
	       " items, %d noise threads, start %#zx, %.2f s (%.1f M items/s)\n",
	       ph->name, iort_spsc_capacity(q), ph->items, ph->noise, start, secs,
	       (double)ph->items / secs / 1e6);
	fflush(stdout);
	iort_spsc_destroy(q);
	free(records);
}

int main(void)
{
	static const size_t tiny[] = { 1, 2, 3, 8 }, large[] = { 64, 100, 1024, 4096 };
	uint64_t rng = stress_seed("stress_spsc");
	struct phase phases[] = {
		{ "tiny", tiny[stress_rand(&rng) % 4], (uint64_t)stress_scale(3000000), 0, false },
		{ "large", large[stress_rand(&rng) % 4], (uint64_t)stress_scale(30000000), 0,
		  false },
		{ "oversub-tiny", tiny[stress_rand(&rng) % 4], (uint64_t)stress_scale(400000),
		  NOISE_THREADS, false },
		{ "oversub-large", large[stress_rand(&rng) % 4], (uint64_t)stress_scale(10000000),
		  NOISE_THREADS, false },
		{ "wrap-tiny", tiny[stress_rand(&rng) % 4], (uint64_t)stress_scale(300000), 0,
		  true },
		{ "wrap-oversub-large", large[stress_rand(&rng) % 4],
		  (uint64_t)stress_scale(3000000), NOISE_THREADS, true },
	};

	stress_watchdog(540);
	for (size_t i = 0; i < sizeof(phases) / sizeof(phases[0]); i++)
		run_phase(&phases[i], &rng);
	printf("OK\n");
	return 0;
}
