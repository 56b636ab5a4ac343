/*
 * iort_segq under N producers x M consumers (oversubscribed up to 4x4 on 2 cores) with small
 * segments (8, 64) so segments turn over and are recycled constantly.
 *
 * Asserts: every item is popped exactly once (no loss, no duplication), each consumer sees each
 * producer's items in push order, and after the drain plus a few cycles the queue holds a small
 * bounded number of segments (peak and final printed). ASan/LSan: no leak after destroy.
 */
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <iort/segq.h>

#include "stress.h"

#define AT_REST 8 /* cache (4) + linked + retired awaiting two epochs */

struct run {
	struct iort_segq *q;
	int producers, consumers;
	long per_producer;
	atomic_long popped;
	atomic_size_t peak;
	unsigned char *seen; /* [producer][seq], written once per item */
	atomic_int failed;
};

struct worker {
	struct run *r;
	int id;
	uint64_t rng;
	pthread_t thr;
};

#define TAG(p, s) ((void *)(((uintptr_t)(p) << 40) | (uintptr_t)(s)))
#define PROD(v)	  ((int)((uintptr_t)(v) >> 40))
#define SEQ(v)	  ((long)((uintptr_t)(v) & (((uintptr_t)1 << 40) - 1)))

static void fail(struct run *r, const char *what, int p, long s)
{
	fprintf(stderr, "stress_segq: FAIL %s (producer %d seq %ld)\n", what, p, s);
	atomic_store(&r->failed, 1);
}

static void note_peak(struct run *r)
{
	size_t n = iort_segq_segments(r->q);
	size_t old = atomic_load(&r->peak);

	while (n > old && !atomic_compare_exchange_weak(&r->peak, &old, n))
		;
}

static void *producer(void *arg)
{
	struct worker *w = arg;
	struct run *r = w->r;

	for (long s = 0; s < r->per_producer; s++) {
		if (iort_segq_push(r->q, TAG(w->id, s))) {
			fail(r, "push -ENOMEM", w->id, s);
			return NULL;
		}
		if ((stress_rand(&w->rng) & 255) == 0)
			sched_yield();
	}
	return NULL;
}

static void *consumer(void *arg)
{
	struct worker *w = arg;
	struct run *r = w->r;
	long total = (long)r->producers * r->per_producer;
	long *last = malloc(sizeof(long) * (size_t)r->producers);
	void *v;

	for (int p = 0; p < r->producers; p++)
		last[p] = -1;
	while (atomic_load(&r->popped) < total && !atomic_load(&r->failed)) {
		if (!iort_segq_try_pop(r->q, &v)) {
			sched_yield();
			continue;
		}
		int p = PROD(v);
		long s = SEQ(v);

		if (p < 0 || p >= r->producers || s >= r->per_producer) {
			fail(r, "garbage item", p, s);
			break;
		}
		if (s <= last[p])
			fail(r, "per-producer order", p, s);
		last[p] = s;
		if (r->seen[(size_t)p * (size_t)r->per_producer + (size_t)s]++)
			fail(r, "duplicate", p, s);
		if ((atomic_fetch_add(&r->popped, 1) & 1023) == 0)
			note_peak(r);
	}
	free(last);
	return NULL;
}

static int run_one(int producers, int consumers, size_t slots, long per_producer, uint64_t seed)
{
	struct worker *w = calloc((size_t)(producers + consumers), sizeof(*w));
	struct run r = { .producers = producers,
			 .consumers = consumers,
			 .per_producer = per_producer };
	size_t final;
	void *v;
	int bad = 0;

	r.seen = calloc((size_t)producers * (size_t)per_producer, 1);
	atomic_init(&r.popped, 0);
	atomic_init(&r.peak, 0);
	atomic_init(&r.failed, 0);
	if (!w || !r.seen || iort_segq_create(slots, &r.q)) {
		fprintf(stderr, "stress_segq: setup failed\n");
		exit(1);
	}
	for (int i = 0; i < producers + consumers; i++) {
		w[i].r = &r;
		w[i].id = i < producers ? i : i - producers;
		w[i].rng = seed ^ ((uint64_t)i * 0x9e3779b97f4a7c15ull);
		pthread_create(&w[i].thr, NULL, i < producers ? producer : consumer, &w[i]);
	}
	for (int i = 0; i < producers + consumers; i++)
		pthread_join(w[i].thr, NULL);
	note_peak(&r);
	if (iort_segq_try_pop(r.q, &v)) {
		fail(&r, "extra item after drain", PROD(v), SEQ(v));
	}
	for (size_t i = 0; i < (size_t)producers * (size_t)per_producer; i++)
		if (r.seen[i] != 1) {
			fail(&r, "lost", (int)(i / (size_t)per_producer),
			     (long)(i % (size_t)per_producer));
			break;
		}
	/* A few segment turnovers after the drain let retired segments be reclaimed. */
	for (size_t i = 0; i < 8 * slots; i++) {
		if (iort_segq_push(r.q, NULL) || !iort_segq_try_pop(r.q, &v))
			fail(&r, "post-drain cycle", 0, (long)i);
	}
	final = iort_segq_segments(r.q);
	printf("stress_segq: %dP x %dC, %zu slots, %ld items: peak %zu segments, final %zu\n",
	       producers, consumers, slots, (long)producers * per_producer, atomic_load(&r.peak),
	       final);
	fflush(stdout);
	if (final > AT_REST)
		fail(&r, "segments not returned after drain", 0, (long) final);
	bad = atomic_load(&r.failed);
	iort_segq_destroy(r.q);
	free(r.seen);
	free(w);
	return bad;
}

/*
 * Memory tracks content under preemption: 2-slot segments, 2 producers and 2 consumers, at most
 * LIMIT items queued (producers wait below it), and SPINNERS busy threads, so that 6 threads share
 * the 2 cores and threads are preempted anywhere, inside their queue calls included. The segments
 * the queue owns must stay within SEGQ_BOUND (see below) at every sample, and return to a handful
 * once every thread stopped and the queue was cycled a little. Samples are taken every 64 items
 * by the queue threads and continuously by the spinners.
 */
enum { LIMIT = 64, SPINNERS = 2, QUEUE_THREADS = 4, CACHE = 4 };

/* runtime/src/queues/segq.c's stated bound, n / S + 3 + t * (SEGQ_CACHE + 2 t + 1), with
 * n <= LIMIT + 2 items (producers count an item before pushing it), S = 2 and t = 4 threads: 88.
 * Before hazard pointers a preempted thread pinned every segment retired after it: thousands. */
#define SEGQ_BOUND ((LIMIT + 2) / 2 + 3 + QUEUE_THREADS * (CACHE + 2 * QUEUE_THREADS + 1))

struct bounded {
	struct iort_segq *q;
	long per_producer;
	atomic_long queued, popped;
	atomic_int stop;
	atomic_size_t peak;
};

static void bounded_peak(struct bounded *b)
{
	size_t n = iort_segq_segments(b->q);
	size_t old = atomic_load(&b->peak);

	while (n > old && !atomic_compare_exchange_weak(&b->peak, &old, n))
		;
}

static void *bounded_producer(void *arg)
{
	struct bounded *b = arg;

	for (long i = 0; i < b->per_producer; i++) {
		while (atomic_load(&b->queued) >= LIMIT)
			sched_yield();
		atomic_fetch_add(&b->queued, 1);
		STRESS_CHECK(iort_segq_push(b->q, TAG(0, i)) == 0);
		if ((i & 63) == 0)
			bounded_peak(b);
	}
	return NULL;
}

static void *bounded_consumer(void *arg)
{
	struct bounded *b = arg;
	long total = 2 * b->per_producer;
	void *v;

	while (atomic_load(&b->popped) < total) {
		if (!iort_segq_try_pop(b->q, &v)) {
			sched_yield();
			continue;
		}
		atomic_fetch_sub(&b->queued, 1);
		if ((atomic_fetch_add(&b->popped, 1) & 63) == 0)
			bounded_peak(b);
	}
	return NULL;
}

static void *spinner(void *arg)
{
	struct bounded *b = arg;

	while (!atomic_load(&b->stop))
		bounded_peak(b);
	return NULL;
}

static int run_bounded(long per_producer)
{
	struct bounded b = { .per_producer = per_producer };
	pthread_t th[4 + SPINNERS];
	size_t final;
	void *v;
	int bad = 0;

	atomic_init(&b.queued, 0);
	atomic_init(&b.popped, 0);
	atomic_init(&b.stop, 0);
	atomic_init(&b.peak, 0);
	STRESS_CHECK(iort_segq_create(2, &b.q) == 0);
	for (int i = 0; i < SPINNERS; i++)
		pthread_create(&th[4 + i], NULL, spinner, &b);
	for (int i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, i < 2 ? bounded_producer : bounded_consumer, &b);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	atomic_store(&b.stop, 1);
	for (int i = 0; i < SPINNERS; i++)
		pthread_join(th[4 + i], NULL);
	bounded_peak(&b);
	for (int i = 0; i < 16; i++) {
		STRESS_CHECK(iort_segq_push(b.q, NULL) == 0);
		STRESS_CHECK(iort_segq_try_pop(b.q, &v));
	}
	final = iort_segq_segments(b.q);
	printf("stress_segq: 2P x 2C + %d spinners, 2 slots, <= %d queued, %ld items: peak %zu "
	       "segments (bound %d), final %zu\n",
	       SPINNERS, LIMIT, 2 * per_producer, atomic_load(&b.peak), SEGQ_BOUND, final);
	fflush(stdout);
	if (atomic_load(&b.peak) > SEGQ_BOUND) {
		fprintf(stderr, "stress_segq: FAIL peak %zu segments > bound %d\n",
			atomic_load(&b.peak), SEGQ_BOUND);
		bad = 1;
	}
	if (final > AT_REST) {
		fprintf(stderr, "stress_segq: FAIL %zu segments after stop > %d\n", final, AT_REST);
		bad = 1;
	}
	iort_segq_destroy(b.q);
	return bad;
}

int main(void)
{
	static const struct {
		int p, c;
		size_t slots;
	} cfg[] = {
		{ 1, 1, 8 }, { 2, 2, 8 },  { 4, 4, 8 }, { 4, 4, 64 },
		{ 1, 4, 8 }, { 4, 1, 64 }, { 3, 2, 8 },
	};
	uint64_t seed = stress_seed("stress_segq");
	long n = stress_scale(1000000);
	int bad = 0;

	stress_watchdog(500);
	bad |= run_bounded(stress_scale(1000000));
	for (size_t i = 0; i < sizeof(cfg) / sizeof(cfg[0]); i++)
		bad |= run_one(cfg[i].p, cfg[i].c, cfg[i].slots, n / cfg[i].p, seed + i);
	return bad ? 1 : 0;
}
