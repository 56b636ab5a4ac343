/*
 * iort_ebr under readers that dereference nodes writers keep replacing and retiring.
 *
 * Shared: SLOTS pointers to nodes {canary, value, check = f(value)}. Readers (inside critical
 * sections, sometimes nested) load a slot and verify the node is live and consistent. Writers
 * swap in a fresh node and retire the old one with iort_ebr_retire() (the free function poisons
 * the canary, then frees) or, for one writer, through its own list stamped with iort_ebr_epoch()
 * and reused (rewritten) once iort_ebr_is_safe(). A churn thread keeps creating
 * short-lived reader threads (records are reused under load). ASan reports a premature free as a
 * use-after-free; without ASan the poisoned canary catches it. At the end: every retired node
 * was freed exactly once (counted) after barrier + destroy.
 */
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <iort/ebr.h>

#include "stress.h"

#define SLOTS  8
#define LIVE   0x11feULL
#define POISON 0xdeadULL

struct node {
	_Atomic uint64_t canary; /* atomic: a premature free is a bug we detect, not a data race */
	uint64_t value;
	uint64_t check;
	struct node *free_next; /* recycling writer's list */
	uint64_t stamp;
};

static struct iort_ebr *g_d;
static _Atomic(struct node *) g_slot[SLOTS];
static atomic_int g_stop;
static atomic_int g_failed;
static atomic_long g_retired, g_freed, g_reads;

static uint64_t mix(uint64_t v)
{
	return (v ^ 0x5bd1e995u) * 0x9e3779b97f4a7c15ull;
}

static struct node *node_new(uint64_t v)
{
	struct node *n = malloc(sizeof(*n));

	if (!n)
		abort();
	atomic_init(&n->canary, LIVE);
	n->value = v;
	n->check = mix(v);
	return n;
}

static void node_free(void *p)
{
	struct node *n = p;

	atomic_store(&n->canary, POISON);
	atomic_fetch_add(&g_freed, 1);
	free(n);
}

static void check(struct node *n)
{
	if (atomic_load(&n->canary) != LIVE || n->check != mix(n->value)) {
		fprintf(stderr, "stress_ebr: FAIL node %p read after reclamation\n", (void *)n);
		atomic_store(&g_failed, 1);
	}
}

static void read_some(uint64_t *rng, int n)
{
	for (int i = 0; i < n; i++) {
		uint64_t r = stress_rand(rng);

		if (iort_ebr_enter(g_d))
			abort();
		/* MO stress_ebr.A1 (acquire): see the node's fields; pairs with stress_ebr.R1. */
		struct node *a = atomic_load_explicit(&g_slot[r % SLOTS], memory_order_acquire);

		check(a);
		if (r & 16) { /* nested section, second node */
			if (iort_ebr_enter(g_d))
				abort();
			/* MO stress_ebr.A2 (acquire): as stress_ebr.A1; pairs with stress_ebr.R1. */
			struct node *b = atomic_load_explicit(&g_slot[(r >> 8) % SLOTS],
							      memory_order_acquire);
			check(b);
			iort_ebr_exit(g_d);
		}
		if ((r & 0xff00) == 0)
			sched_yield(); /* get preempted inside */
		check(a);
		iort_ebr_exit(g_d);
		atomic_fetch_add(&g_reads, 1);
	}
}

static void *reader(void *arg)
{
	uint64_t rng = (uint64_t)(uintptr_t)arg;

	while (!atomic_load(&g_stop) && !atomic_load(&g_failed))
		read_some(&rng, 64);
	return NULL;
}

static void *short_reader(void *arg)
{
	uint64_t rng = (uint64_t)(uintptr_t)arg;

	read_some(&rng, 16);
	return NULL;
}

static void *churn(void *arg)
{
	uint64_t rng = (uint64_t)(uintptr_t)arg;
	long threads = 0;

	while (!atomic_load(&g_stop) && !atomic_load(&g_failed)) {
		pthread_t t;

		if (pthread_create(&t, NULL, short_reader, (void *)(uintptr_t)stress_rand(&rng)))
			abort();
		pthread_join(t, NULL);
		threads++;
	}
	printf("stress_ebr: churn created %ld short reader threads\n", threads);
	return NULL;
}

struct writer_arg {
	uint64_t rng;
	long ops;
	bool recycle;
};

static struct node *swap_in(uint64_t r, struct node *n)
{
	/* MO stress_ebr.R1 (release): publish the node's fields; pairs with stress_ebr.A1. */
	return atomic_exchange_explicit(&g_slot[r % SLOTS], n, memory_order_acq_rel);
}

static void *writer(void *arg)
{
	struct writer_arg *w = arg;
	struct node *head = NULL, **tailp = &head; /* recycling writer: FIFO by stamp */
	long reused = 0;

	for (long i = 0; i < w->ops && !atomic_load(&g_failed); i++) {
		uint64_t r = stress_rand(&w->rng);
		struct node *n, *old;

		if (w->recycle && head && iort_ebr_is_safe(g_d, head->stamp)) {
			n = head;
			head = n->free_next;
			if (!head)
				tailp = &head;
			n->value = r;
			n->check = mix(r);
			atomic_store(&n->canary, LIVE);
			reused++;
		} else {
			n = node_new(r);
		}
		old = swap_in(r >> 3, n);
		if (w->recycle) {
			/* Readers may still hold it: rewritten (a data race TSan would report, and a
			 * torn value/check pair readers would see) only once safe. */
			old->stamp = iort_ebr_epoch(g_d);
			old->free_next = NULL;
			*tailp = old;
			tailp = &old->free_next;
		} else {
			atomic_fetch_add(&g_retired, 1);
			if (iort_ebr_retire(g_d, old, node_free))
				abort();
			if ((r & 4095) == 0)
				iort_ebr_barrier(g_d);
		}
	}
	if (w->recycle) {
		long left = 0;

		iort_ebr_barrier(g_d);
		while (head) {
			struct node *next = head->free_next;

			if (!iort_ebr_is_safe(g_d, head->stamp)) {
				fprintf(stderr, "stress_ebr: FAIL stamp not safe after barrier\n");
				atomic_store(&g_failed, 1);
			}
			free(head);
			head = next;
			left++;
		}
		printf("stress_ebr: recycling writer reused %ld nodes, freed %ld at the end\n",
		       reused, left);
	}
	return NULL;
}

int main(void)
{
	enum { READERS = 4, WRITERS = 3 };
	uint64_t seed = stress_seed("stress_ebr");
	long ops = stress_scale(1000000);
	pthread_t rt[READERS], wt[WRITERS], ct;
	struct writer_arg wa[WRITERS];
	long retired, freed;

	stress_watchdog(500);
	if (iort_ebr_create(&g_d))
		return 1;
	for (int i = 0; i < SLOTS; i++)
		atomic_init(&g_slot[i], node_new((uint64_t)i));
	for (int i = 0; i < READERS; i++)
		pthread_create(&rt[i], NULL, reader, (void *)(uintptr_t)(seed + 1 + (uint64_t)i));
	pthread_create(&ct, NULL, churn, (void *)(uintptr_t)(seed + 100));
	for (int i = 0; i < WRITERS; i++) {
		wa[i] = (struct writer_arg){ .rng = seed + 200 + (uint64_t)i,
					     .ops = ops,
					     .recycle = i == WRITERS - 1 };
		pthread_create(&wt[i], NULL, writer, &wa[i]);
	}
	for (int i = 0; i < WRITERS; i++)
		pthread_join(wt[i], NULL);
	atomic_store(&g_stop, 1);
	for (int i = 0; i < READERS; i++)
		pthread_join(rt[i], NULL);
	pthread_join(ct, NULL);

	iort_ebr_barrier(g_d);
	retired = atomic_load(&g_retired);
	freed = atomic_load(&g_freed);
	printf("stress_ebr: %ld reads, %ld retired, %ld freed by barrier\n", atomic_load(&g_reads),
	       retired, freed);
	if (freed != retired) {
		fprintf(stderr, "stress_ebr: FAIL barrier left %ld of %ld unfreed\n",
			retired - freed, retired);
		atomic_store(&g_failed, 1);
	}
	for (int i = 0; i < SLOTS; i++) {
		atomic_fetch_add(&g_retired, 1);
		if (iort_ebr_retire(g_d, atomic_load(&g_slot[i]), node_free))
			return 1;
	}
	iort_ebr_destroy(g_d);
	if (atomic_load(&g_freed) != atomic_load(&g_retired)) {
		fprintf(stderr, "stress_ebr: FAIL destroy: %ld freed of %ld retired\n",
			atomic_load(&g_freed), atomic_load(&g_retired));
		atomic_store(&g_failed, 1);
	}
	return atomic_load(&g_failed) ? 1 : 0;
}
