/*
 * iort_mpsc under oversubscription: 6 producers and one consumer on a 2-core machine.
 *
 * Every item carries (producer, seq). The consumer mixes pop and pop_all (batch walks) at random
 * and asserts per-producer FIFO, which also rules out loss and duplication given the final count.
 * It times every pop/pop_all call: a call that meets a link in flight waits for a producer that may
 * be preempted between its XCHG and its link store; the worst call must stay far below a second
 * (the stock wfcq sleeps 10 ms per such meeting, and those pile up). "Was empty" returns: every
 * true return of push is the first push after the queue emptied, so their number lies between the
 * number of successful pop_all calls and the number of successful consumer calls.
 */
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <iort/clock.h>
#include <iort/mpsc.h>

#include "stress.h"

#define PRODUCERS 6

struct item {
	struct iort_mpsc_node node;
	uint32_t producer;
	uint32_t seq;
};

struct producer {
	pthread_t thread;
	uint32_t id;
	long count;
	long was_empty;
	struct item *items;
};

static struct iort_mpsc *g_q;
static pthread_barrier_t g_start;
static long g_per_producer;

static void *producer_main(void *arg)
{
	struct producer *p = arg;
	uint64_t rng = stress_seed_value + p->id + 1;

	pthread_barrier_wait(&g_start);
	for (long i = 0; i < p->count; i++) {
		/* Bursts of random length, then let others run: many empty <-> non-empty turns. */
		if (stress_rand(&rng) % 64 == 0)
			sched_yield();
		p->items[i].producer = p->id;
		p->items[i].seq = (uint32_t)i;
		if (iort_mpsc_push(g_q, &p->items[i].node))
			p->was_empty++;
	}
	return NULL;
}

static struct item *item_of(struct iort_mpsc_node *n)
{
	return (struct item *)(void *)((char *)n - offsetof(struct item, node));
}

struct totals {
	long pops, pop_alls, slow_calls, was_empty;
	uint64_t worst_ns;
};

static void run_round(struct producer *prod, uint64_t *rng, struct totals *t)
{
	uint32_t next_seq[PRODUCERS] = { 0 };
	long total = g_per_producer * PRODUCERS, received = 0, pops = 0, pop_alls = 0;
	long was_empty = 0;
	int i;

	for (i = 0; i < PRODUCERS; i++) {
		prod[i].was_empty = 0;
		STRESS_CHECK(pthread_create(&prod[i].thread, NULL, producer_main, &prod[i]) == 0);
	}
	pthread_barrier_wait(&g_start);
	while (received < total) {
		struct iort_mpsc_node *n;
		struct iort_mpsc_batch b;
		bool use_all = stress_rand(rng) % 8 == 0;
		bool got;
		uint64_t dt, t0;

		t0 = iort_clock_ns();
		if (use_all) {
			got = iort_mpsc_pop_all(g_q, &b);
			n = b.first;
		} else {
			n = iort_mpsc_pop(g_q);
			got = n != NULL;
		}
		dt = iort_clock_ns() - t0;
		if (dt > t->worst_ns)
			t->worst_ns = dt;
		if (dt > 1000000)
			t->slow_calls++;
		if (!got)
			continue;
		if (use_all) {
			pop_alls++;
			STRESS_CHECK(b.last != NULL);
		} else {
			pops++;
		}
		while (n) {
			struct iort_mpsc_node *next = use_all ? iort_mpsc_batch_next(&b, n) : NULL;
			struct item *it = item_of(n);

			STRESS_CHECK(it->producer < PRODUCERS);
			if (it->seq != next_seq[it->producer]) {
				fprintf(stderr, "producer %u: got seq %u, expected %u\n",
					it->producer, it->seq, next_seq[it->producer]);
				abort();
			}
			next_seq[it->producer]++;
			received++;
			STRESS_CHECK(!use_all || next != NULL || n == b.last);
			n = next;
		}
	}
	for (i = 0; i < PRODUCERS; i++) {
		STRESS_CHECK(pthread_join(prod[i].thread, NULL) == 0);
		STRESS_CHECK(next_seq[i] == (uint32_t)g_per_producer);
		was_empty += prod[i].was_empty;
	}
	STRESS_CHECK(received == total);
	STRESS_CHECK(iort_mpsc_pop(g_q) == NULL);
	STRESS_CHECK(iort_mpsc_empty(g_q));
	/* Each true return follows an emptying by the consumer (or the initial empty state). */
	STRESS_CHECK(was_empty >= 1);
	STRESS_CHECK(was_empty >= pop_alls);
	STRESS_CHECK(was_empty <= pops + pop_alls);
	t->pops += pops;
	t->pop_alls += pop_alls;
	t->was_empty += was_empty;
}

int main(void)
{
	uint64_t seed = stress_seed("stress_mpsc");
	uint64_t rng = seed;
	struct producer prod[PRODUCERS];
	struct totals t = { 0 };
	long rounds = 6, r;
	uint64_t t_start;
	int i;

	stress_watchdog(300);
	g_per_producer = stress_scale(200000);
	STRESS_CHECK(iort_mpsc_create(&g_q) == 0);
	STRESS_CHECK(pthread_barrier_init(&g_start, NULL, PRODUCERS + 1) == 0);
	for (i = 0; i < PRODUCERS; i++) {
		prod[i].id = (uint32_t)i;
		prod[i].count = g_per_producer;
		prod[i].items = calloc((size_t)g_per_producer, sizeof(struct item));
		STRESS_CHECK(prod[i].items);
	}
	t_start = iort_clock_ns();
	for (r = 0; r < rounds; r++)
		run_round(prod, &rng, &t);
	printf("stress_mpsc: %ld rounds of %d producers x %ld items in %.3f s; pops %ld, "
	       "pop_alls %ld, was-empty returns %ld\n",
	       rounds, PRODUCERS, g_per_producer, (double)(iort_clock_ns() - t_start) / 1e9, t.pops,
	       t.pop_alls, t.was_empty);
	printf("stress_mpsc: worst single pop/pop_all call %.3f ms; calls over 1 ms: %ld\n",
	       (double)t.worst_ns / 1e6, t.slow_calls);
	/* Generous: a preempted producer costs the consumer a few scheduler slices of yields. */
	STRESS_CHECK(t.worst_ns < 1000000000ull);
	for (i = 0; i < PRODUCERS; i++)
		free(prod[i].items);
	iort_mpsc_destroy(g_q);
	pthread_barrier_destroy(&g_start);
	return 0;
}
