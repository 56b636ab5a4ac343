/*
 * The waiting layer under oversubscription.
 *
 * 1. Lost wake-up test: PAIRS ping-pong pairs (2 x PAIRS threads on 2 cores). Each side publishes
 *    the ball, notifies the other side's waitq, then waits for the ball to come back using the raw
 *    protocol (prepare, re-check, wait) with no deadline, after a random short spin. Every round
 *    races a waiter's announce/re-check against a notifier's publish/fence/check: if either fence
 *    were missing (or the notifier checked waiters before publishing), some round would lose its
 *    wake-up, both sides would sleep for ever, and the watchdog would abort with a backtrace.
 * 2. Cancellation: WAITERS threads park on one waitq that nobody notifies (iort_wait_until with a
 *    condition that never holds, or the raw wait); another thread cancels their tokens in random
 *    order at random moments. Every wait must return -ECANCELED (promptly: the watchdog bounds it,
 *    and the worst round is printed). A third of the rounds share one token between all
 *    waiters, a third give each waiter a child of one root token and cancel the root.
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
#include <iort/wait.h>

#include "stress.h"

#define PAIRS	4
#define WAITERS 6

/* --- 1. ping-pong ------------------------------------------------------------------------- */

struct pair {
	_Atomic uint32_t ball;
	struct iort_waitq wq[2]; /* wq[s]: side s sleeps here */
	long rounds;
	long sleeps[2];
	pthread_t thread[2];
};

struct side {
	struct pair *p;
	int s;
	uint64_t rng;
};

static uint32_t load_ball(struct pair *p)
{
	/* MO stress_wait.A1 (acquire): pairs with stress_wait.R1 in ping_main(). */
	return atomic_load_explicit(&p->ball, memory_order_acquire);
}

/* Wait with the raw protocol until the ball reads @p want. */
static void wait_ball(struct side *sd, uint32_t want)
{
	struct pair *p = sd->p;
	struct iort_waitq *w = &p->wq[sd->s];
	unsigned int spin = (unsigned int)(stress_rand(&sd->rng) % 64);

	for (unsigned int i = 0; i < spin; i++) {
		if (load_ball(p) == want)
			return;
	}
	for (;;) {
		uint32_t key;

		if (load_ball(p) == want)
			return;
		key = iort_waitq_prepare(w);
		if (load_ball(p) == want) {
			iort_waitq_cancel(w);
			return;
		}
		p->sleeps[sd->s]++;
		STRESS_CHECK(iort_waitq_wait(w, key, IORT_DEADLINE_NONE, NULL) == 0);
	}
}

static void *ping_main(void *arg)
{
	struct side *sd = arg;
	struct pair *p = sd->p;

	for (long r = 0; r < p->rounds; r++) {
		/* side 0 serves odd values, side 1 even ones */
		uint32_t mine = (uint32_t)(2 * r + 1 + sd->s);

		wait_ball(sd, mine - 1);
		/* MO stress_wait.R1 (release): pass the ball; pairs with stress_wait.A1 in load_ball(). */
		atomic_store_explicit(&p->ball, mine, memory_order_release);
		iort_waitq_notify_one(&p->wq[1 - sd->s]);
	}
	return NULL;
}

static void run_pingpong(uint64_t seed)
{
	static struct pair pairs[PAIRS];
	static struct side sides[PAIRS][2];
	long rounds = stress_scale(150000), sleeps = 0;
	uint64_t t0 = iort_clock_ns();

	for (int i = 0; i < PAIRS; i++) {
		struct pair *p = &pairs[i];

		atomic_init(&p->ball, 0);
		iort_waitq_init(&p->wq[0]);
		iort_waitq_init(&p->wq[1]);
		p->rounds = rounds;
		for (int s = 0; s < 2; s++) {
			sides[i][s] = (struct side){ p, s, seed + (uint64_t)(2 * i + s) + 1 };
			STRESS_CHECK(pthread_create(&p->thread[s], NULL, ping_main, &sides[i][s]) ==
				     0);
		}
	}
	for (int i = 0; i < PAIRS; i++) {
		for (int s = 0; s < 2; s++)
			STRESS_CHECK(pthread_join(pairs[i].thread[s], NULL) == 0);
		STRESS_CHECK(load_ball(&pairs[i]) == (uint32_t)(2 * rounds));
		sleeps += pairs[i].sleeps[0] + pairs[i].sleeps[1];
	}
	printf("stress_wait: ping-pong %d pairs x %ld rounds in %.3f s, %ld waits entered\n", PAIRS,
	       rounds, (double)(iort_clock_ns() - t0) / 1e9, sleeps);
	STRESS_CHECK(sleeps > 0); /* the futex path was exercised */
}

/* --- 2. cancellation ----------------------------------------------------------------------- */

static struct iort_waitq g_wq;
static struct iort_cancel g_root; /* mode CHILDREN: every waiter's token is its child */
static struct iort_cancel g_tok[WAITERS];
static struct iort_cancel *g_use[WAITERS]; /* the token each waiter uses this round */
static pthread_barrier_t g_bar;
static long g_cancel_rounds;
static int g_result[WAITERS];

static bool never(void *ctx)
{
	(void)ctx;
	return false;
}

static void *cancel_waiter_main(void *arg)
{
	int id = (int)(intptr_t)arg;

	for (long r = 0; r < g_cancel_rounds; r++) {
		pthread_barrier_wait(&g_bar); /* tokens ready */
		if ((r + id) % 3 == 0) {
			/* 0 is a wake-up (another token's cancel bumps the shared waitq): re-wait */
			do {
				uint32_t key = iort_waitq_prepare(&g_wq);

				g_result[id] =
					iort_waitq_wait(&g_wq, key, IORT_DEADLINE_NONE, g_use[id]);
			} while (g_result[id] == 0);
		} else {
			g_result[id] =
				iort_wait_until(&g_wq, never, NULL, IORT_DEADLINE_NONE, g_use[id]);
		}
		pthread_barrier_wait(&g_bar); /* results ready */
	}
	return NULL;
}

static void run_cancel(uint64_t seed)
{
	pthread_t th[WAITERS];
	uint64_t rng = seed ^ 0x5bd1e995u, worst = 0, t0 = iort_clock_ns();

	g_cancel_rounds = stress_scale(3000);
	iort_waitq_init(&g_wq);
	STRESS_CHECK(pthread_barrier_init(&g_bar, NULL, WAITERS + 1) == 0);
	for (int i = 0; i < WAITERS; i++)
		STRESS_CHECK(
			pthread_create(&th[i], NULL, cancel_waiter_main, (void *)(intptr_t)i) == 0);
	for (long r = 0; r < g_cancel_rounds; r++) {
		enum { OWN, SHARED, CHILDREN } mode = (int)(r % 3);
		int order[WAITERS];
		uint64_t start;

		iort_cancel_init(&g_root);
		for (int i = 0; i < WAITERS; i++) {
			if (mode == CHILDREN)
				iort_cancel_init_child(&g_tok[i], &g_root);
			else
				iort_cancel_init(&g_tok[i]);
			g_use[i] = mode == SHARED ? &g_tok[0] : &g_tok[i];
			order[i] = i;
		}
		for (int i = WAITERS - 1; i > 0; i--) {
			int j = (int)(stress_rand(&rng) % (uint64_t)(i + 1)), t = order[i];

			order[i] = order[j];
			order[j] = t;
		}
		pthread_barrier_wait(&g_bar);
		start = iort_clock_ns();
		for (int i = 0; i < WAITERS; i++) {
			/* cancel at random moments: before, during or after the waiter parks */
			unsigned int spin = (unsigned int)(stress_rand(&rng) % 4096);

			for (unsigned int k = 0; k < spin; k++)
				iort_cpu_relax();
			if (stress_rand(&rng) % 4 == 0)
				sched_yield();
			if (mode == OWN)
				iort_cancel_request(&g_tok[order[i]]);
			else if (i == 0)
				iort_cancel_request(mode == SHARED ? &g_tok[0] : &g_root);
		}
		pthread_barrier_wait(&g_bar);
		if (iort_clock_ns() - start > worst)
			worst = iort_clock_ns() - start;
		for (int i = 0; i < WAITERS; i++) {
			if (g_result[i] != -ECANCELED) {
				fprintf(stderr, "round %ld waiter %d: %d, expected -ECANCELED\n", r,
					i, g_result[i]);
				abort();
			}
			iort_cancel_fini(&g_tok[i]);
		}
		iort_cancel_fini(&g_root);
	}
	for (int i = 0; i < WAITERS; i++)
		STRESS_CHECK(pthread_join(th[i], NULL) == 0);
	pthread_barrier_destroy(&g_bar);
	printf("stress_wait: cancellation %d waiters x %ld rounds in %.3f s, worst round %.3f ms\n",
	       WAITERS, g_cancel_rounds, (double)(iort_clock_ns() - t0) / 1e9, (double)worst / 1e6);
}

int main(void)
{
	uint64_t seed;

	setvbuf(stdout, NULL, _IOLBF, 0);
	seed = stress_seed("stress_wait");

	stress_watchdog(300);
	run_pingpong(seed);
	run_cancel(seed);
	return 0;
}
