/*
 * Stress: N producers x M consumers on one iort_mpmc, single and bulk calls mixed at random (from
 * the seed), small capacities (2, 4, 8) to force full/empty races and wrap-around, and up to 4 x 4
 * threads on the 2 cores so threads are preempted between claiming a slot and publishing it.
 *
 * Every item is tagged (producer id, sequence). Checks:
 *   - each consumer sees each producer's sequence numbers strictly increasing (a producer's items
 *     keep its order, and one consumer claims positions in increasing order);
 *   - at the end every (producer, sequence) was popped exactly once over all consumers (one bitmap
 *     per consumer, summed after the join, so the check adds no synchronization between threads);
 *   - the ring is empty after the join.
 * Consumers stop when the producers are done (flag set after joining them) and a pop that started
 * after seeing the flag finds nothing.
 *
 * Prints its seed; IOBENCH_SEED=<seed> reproduces capacities, the call mix and bulk sizes.
 */
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <iort/compiler.h>
#include <iort/mpmc.h>

#include "stress.h"

#define MAX_SIDE    4
#define MAX_BULK    16
#define SEQ_BITS    40
#define SPINS_YIELD 16 /* failed calls in a row before a thread yields its core */

struct phase {
	int producers, consumers;
	size_t capacity;
	uint64_t per_producer;
};

struct consumer {
	int id;
	uint64_t rng;
	uint64_t *seen;		/* bitmap: producers x per_producer bits */
	int64_t last[MAX_SIDE]; /* last sequence seen from each producer, -1 before the first */
	uint64_t popped, single, bulk;
};

static struct iort_mpmc *q;
static struct phase ph;
static uint64_t prod_seeds[MAX_SIDE];
static _Atomic bool producers_done;

static void fail(const char *what, int consumer, uint64_t a, uint64_t b)
{
	fprintf(stderr, "FAIL: %s (consumer %d: %" PRIu64 ", %" PRIu64 ") (seed %" PRIu64 ")\n",
		what, consumer, a, b, stress_seed_value);
	exit(1);
}

static void backoff(unsigned *fails)
{
	if (++*fails % SPINS_YIELD == 0)
		sched_yield();
	else
		iort_cpu_relax();
}

static void *tag(int producer, uint64_t seq)
{
	return (void *)(uintptr_t)(((uint64_t)producer << SEQ_BITS) | seq);
}

static void *producer(void *arg)
{
	int id = (int)(intptr_t)arg;
	uint64_t rng = prod_seeds[id], next = 0;
	void *buf[MAX_BULK];
	unsigned fails = 0;

	while (next < ph.per_producer) {
		uint64_t r = stress_rand(&rng);
		size_t got;

		if (r % 2 == 0) {
			got = iort_mpmc_try_push(q, tag(id, next));
		} else {
			size_t n = 1 + (size_t)(r >> 32) % MAX_BULK;

			if (n > ph.per_producer - next)
				n = (size_t)(ph.per_producer - next);
			for (size_t i = 0; i < n; i++)
				buf[i] = tag(id, next + i);
			got = iort_mpmc_try_push_bulk(q, buf, n);
			if (got > n)
				fail("push_bulk returned more than asked", -1, n, got);
		}
		next += got;
		if (got)
			fails = 0;
		else
			backoff(&fails);
	}
	return NULL;
}

static void check(struct consumer *c, void *item)
{
	uint64_t v = (uintptr_t)item, seq = v & (((uint64_t)1 << SEQ_BITS) - 1),
		 bit = (v >> SEQ_BITS) * ph.per_producer + seq;
	int p = (int)(v >> SEQ_BITS);

	if (p >= ph.producers || seq >= ph.per_producer)
		fail("item that no producer pushed", c->id, (uint64_t)p, seq);
	if ((int64_t)seq <= c->last[p])
		fail("producer's sequence not increasing", c->id, (uint64_t)c->last[p], seq);
	c->last[p] = (int64_t)seq;
	if (c->seen[bit / 64] & ((uint64_t)1 << (bit % 64)))
		fail("item popped twice by one consumer", c->id, (uint64_t)p, seq);
	c->seen[bit / 64] |= (uint64_t)1 << (bit % 64);
	c->popped++;
}

static void *consumer(void *arg)
{
	struct consumer *c = arg;
	void *buf[MAX_BULK], *item;
	unsigned fails = 0;

	for (;;) {
		/* MO stress_mpmc.A1 (acquire): every push happened before a pop that starts after
		 * this load sees true; pairs with stress_mpmc.R1 in run_phase(). */
		bool done = atomic_load_explicit(&producers_done, memory_order_acquire);
		uint64_t r = stress_rand(&c->rng);
		size_t got;

		if (r % 2 == 0) {
			got = iort_mpmc_try_pop(q, &item);
			if (got) {
				check(c, item);
				c->single++;
			}
		} else {
			size_t n = 1 + (size_t)(r >> 32) % MAX_BULK;

			got = iort_mpmc_try_pop_bulk(q, buf, n);
			if (got > n)
				fail("pop_bulk returned more than asked", c->id, n, got);
			for (size_t i = 0; i < got; i++)
				check(c, buf[i]);
			c->bulk += got > 0;
		}
		if (got) {
			fails = 0;
		} else if (done) {
			return NULL;
		} else {
			backoff(&fails);
		}
	}
}

static void run_phase(uint64_t *rng)
{
	pthread_t pt[MAX_SIDE], ct[MAX_SIDE];
	struct consumer cons[MAX_SIDE];
	size_t words = ((size_t)ph.producers * ph.per_producer + 63) / 64;
	uint64_t total = 0, missing = 0, dup = 0, single = 0, bulk = 0, t0;
	struct timespec ts;
	double secs;
	void *item;

	if (iort_mpmc_create(ph.capacity, &q)) {
		fprintf(stderr, "FAIL: iort_mpmc_create(%zu)\n", ph.capacity);
		exit(1);
	}
	/* MO relaxed: reset before any thread of this phase exists (pthread_create orders it). */
	atomic_store_explicit(&producers_done, false, memory_order_relaxed);
	for (int i = 0; i < ph.consumers; i++) {
		cons[i] = (struct consumer){ .id = i, .rng = stress_rand(rng) };
		cons[i].seen = calloc(words, sizeof(uint64_t));
		if (!cons[i].seen)
			exit(99);
		for (int p = 0; p < MAX_SIDE; p++)
			cons[i].last[p] = -1;
	}
	for (int i = 0; i < ph.producers; i++)
		prod_seeds[i] = stress_rand(rng);

	clock_gettime(CLOCK_MONOTONIC, &ts);
	t0 = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	for (int i = 0; i < ph.consumers; i++)
		if (pthread_create(&ct[i], NULL, consumer, &cons[i]))
			exit(99);
	for (int i = 0; i < ph.producers; i++)
		if (pthread_create(&pt[i], NULL, producer, (void *)(intptr_t)i))
			exit(99);
	for (int i = 0; i < ph.producers; i++)
		pthread_join(pt[i], NULL);
	/* MO stress_mpmc.R1 (release): the producers' pushes (ordered here by pthread_join) before
	 * the flag; pairs with stress_mpmc.A1 in consumer(). */
	atomic_store_explicit(&producers_done, true, memory_order_release);
	for (int i = 0; i < ph.consumers; i++)
		pthread_join(ct[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	secs = (double)((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec - t0) / 1e9;

	if (iort_mpmc_try_pop(q, &item))
		fail("ring not empty after the run", -1, 0, 1);
	/* Exactly once over all consumers: no bit set twice, none left clear. */
	for (size_t w = 0; w < words; w++) {
		uint64_t any = 0, twice = 0, want = ~(uint64_t)0;

		for (int i = 0; i < ph.consumers; i++) {
			twice |= any & cons[i].seen[w];
			any |= cons[i].seen[w];
		}
		if (w == words - 1 && ((size_t)ph.producers * ph.per_producer) % 64)
			want = ((uint64_t)1 << (((size_t)ph.producers * ph.per_producer) % 64)) - 1;
		missing += (uint64_t)__builtin_popcountll(want & ~any);
		dup += (uint64_t)__builtin_popcountll(twice);
	}
	for (int i = 0; i < ph.consumers; i++) {
		total += cons[i].popped;
		single += cons[i].single;
		bulk += cons[i].bulk;
		free(cons[i].seen);
	}
	printf("%dx%d capacity %2zu: %9" PRIu64 " items (%" PRIu64 " single pops, %" PRIu64
	       " bulk pops), %.2f s (%.2f M items/s)\n",
	       ph.producers, ph.consumers, iort_mpmc_capacity(q), total, single, bulk, secs,
	       (double)total / secs / 1e6);
	fflush(stdout);
	if (missing || dup || total != (uint64_t)ph.producers * ph.per_producer) {
		fprintf(stderr,
			"FAIL: %dx%d: %" PRIu64 " items never popped, %" PRIu64
			" popped by two consumers, %" PRIu64 " pops for %" PRIu64
			" pushes (seed %" PRIu64 ")\n",
			ph.producers, ph.consumers, missing, dup, total,
			(uint64_t)ph.producers * ph.per_producer, stress_seed_value);
		exit(1);
	}
	iort_mpmc_destroy(q);
}

int main(void)
{
	static const size_t small[] = { 1, 2, 4, 8 }; /* 1 rounds up to 2 */
	static const int shapes[][2] = { { 1, 1 }, { 2, 2 }, { 4, 4 }, { 1, 4 },
					 { 4, 1 }, { 1, 3 }, { 3, 1 }, { 3, 2 } };
	uint64_t rng = stress_seed("stress_mpmc"), items = (uint64_t)stress_scale(2000000);

	stress_watchdog(540);
	for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
		ph.producers = shapes[s][0];
		ph.consumers = shapes[s][1];
		ph.capacity = small[stress_rand(&rng) % 4];
		ph.per_producer = items / (uint64_t)ph.producers;
		run_phase(&rng);
	}
	/* One larger ring: long bulk runs, wrap-around in the middle of a bulk. */
	ph = (struct phase){ 4, 4, 64 + stress_rand(&rng) % 64, items };
	run_phase(&rng);
	printf("OK\n");
	return 0;
}
