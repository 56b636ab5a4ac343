/*
 * Scopes under load, oversubscribed (up to 3 workers, an owner and a canceller on 2 cores),
 * seeded. Each round opens scopes with a random policy, optionally a deadline or a parent token
 * that another thread cancels at a random moment; children succeed, fail, wait for the token, or
 * spawn more children into the same scope. Checked at every join: every child either ran once
 * to its end or never started (none twice, none still running: a child cannot outlive its
 * scope), and the result is one the policy allows.
 */
#include <iort/cancel.h>
#include <iort/clock.h>
#include <iort/pool.h>
#include <iort/scope.h>
#include <iort/wait.h>

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "stress.h"

#define MAX_KIDS 512

struct kid {
	struct iort_scope *s;
	uint64_t rng;
	int kind; /* 0 ok, 1 fail, 2 wait for the token, 3 spawn two more */
	_Atomic int started, finished;
};

static struct kid kids[MAX_KIDS];
static _Atomic int nkids;

static struct kid *new_kid(struct iort_scope *s, uint64_t *rng)
{
	int i = atomic_fetch_add(&nkids, 1);
	if (i >= MAX_KIDS) {
		atomic_fetch_sub(&nkids, 1);
		return NULL;
	}
	struct kid *k = &kids[i];
	k->s = s;
	k->rng = stress_rand(rng) | 1;
	k->kind = (int)(stress_rand(rng) % 4);
	atomic_store(&k->started, 0);
	atomic_store(&k->finished, 0);
	return k;
}

static int kid_fn(void *arg, struct iort_cancel *token)
{
	struct kid *k = arg;

	STRESS_CHECK(atomic_fetch_add(&k->started, 1) == 0);
	int r = 0;
	switch (k->kind) {
	case 1:
		r = -EIO;
		break;
	case 2: {
		/* Wait for the token, but not for ever: a scope with no cancel ends it anyway. */
		uint64_t until = iort_clock_ns() + 200000;
		while (!iort_cancel_requested(token) && iort_clock_ns() < until)
			sched_yield();
		r = iort_cancel_requested(token) ? -ECANCELED : 0;
		break;
	}
	case 3:
		for (int i = 0; i < 2; i++) {
			struct kid *c = new_kid(k->s, &k->rng);
			if (c != NULL) {
				int e = iort_scope_spawn(k->s, kid_fn, c);
				STRESS_CHECK(e == 0 || e == -ECANCELED);
			}
		}
		break;
	default:
		break;
	}
	atomic_store(&k->finished, 1);
	return r;
}

struct canceller {
	struct iort_cancel *c;
	uint64_t delay_ns;
	_Atomic int go;
};

static void *cancel_main(void *arg)
{
	struct canceller *x = arg;

	while (!atomic_load(&x->go))
		sched_yield();
	uint64_t until = iort_clock_ns() + x->delay_ns;
	while (iort_clock_ns() < until)
		sched_yield();
	iort_cancel_request(x->c);
	return NULL;
}

int main(void)
{
	uint64_t rng = stress_seed("stress_scope");
	int rounds = (int)stress_scale(400);
	long results[8] = { 0 };

	stress_watchdog(500);
	for (int round = 0; round < rounds; round++) {
		struct iort_pool_config cfg = { .workers = 1 + (unsigned)(stress_rand(&rng) % 3),
						.spin_ns = stress_rand(&rng) % 2 ? 1 : 0 };
		struct iort_pool *p;
		STRESS_CHECK(iort_pool_create(&cfg, &p) == 0);
		for (int sc = 0; sc < 4; sc++) {
			enum iort_scope_policy pol =
				(enum iort_scope_policy)(stress_rand(&rng) % 3);
			uint64_t how = stress_rand(&rng) % 3; /* 0 plain, 1 deadline, 2 parent */
			struct iort_cancel parent;
			struct canceller x = { .c = &parent,
					       .delay_ns = stress_rand(&rng) % 100000 };
			pthread_t th;
			struct iort_scope s;

			iort_cancel_init(&parent);
			uint64_t deadline = how == 1 ? iort_clock_ns() + stress_rand(&rng) % 100000
						     : IORT_DEADLINE_NONE;
			STRESS_CHECK(iort_scope_open(&s, p, pol, deadline,
						     how == 2 ? &parent : NULL) == 0);
			if (how == 2)
				STRESS_CHECK(pthread_create(&th, NULL, cancel_main, &x) == 0);
			atomic_store(&nkids, 0);
			int n = 1 + (int)(stress_rand(&rng) % 64);
			for (int i = 0; i < n; i++) {
				struct kid *k = new_kid(&s, &rng);
				if (k == NULL)
					break;
				int e = iort_scope_spawn(&s, kid_fn, k);
				STRESS_CHECK(e == 0 || e == -ECANCELED);
				if (i == n / 2)
					atomic_store(&x.go, 1);
			}
			atomic_store(&x.go, 1);
			int r = iort_scope_join(&s);
			/* Every child ran to its end or never started. */
			int started = 0, failed = 0;
			for (int i = 0; i < atomic_load(&nkids); i++) {
				int st = atomic_load(&kids[i].started);
				STRESS_CHECK(st <= 1);
				STRESS_CHECK(atomic_load(&kids[i].finished) == st);
				started += st;
				failed += st && kids[i].kind == 1;
			}
			STRESS_CHECK(r == 0 || r == -EIO || r == -ECANCELED || r == -ETIMEDOUT);
			if (pol == IORT_SCOPE_ALL && how == 0)
				STRESS_CHECK(r == (failed ? -EIO : 0));
			if (r == -ETIMEDOUT)
				STRESS_CHECK(how == 1);
			results[r == 0 ? 0 : r == -EIO ? 1 : r == -ECANCELED ? 2 : 3]++;
			(void)started;
			if (how == 2)
				pthread_join(th, NULL);
			iort_cancel_fini(&parent);
		}
		iort_pool_destroy(p);
	}
	printf("stress_scope: ok: %ld ok, %ld errors, %ld cancelled, %ld timed out\n", results[0],
	       results[1], results[2], results[3]);
	return 0;
}
