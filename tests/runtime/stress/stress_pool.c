/*
 * The pool under load, oversubscribed (up to 4 workers and 3 outside threads on 2 cores),
 * seeded. Each round picks a configuration (workers, a tiny or default local queue, spinning or
 * parking at once) and runs two phases.
 *
 * Phase 1, everything must finish: two outside threads submit tasks (some with handles, joined
 * or cancelled at random) and futures; tasks spawn children from inside workers (local pushes,
 * overflow to the inject queue, steals); futures yield (wake themselves during the poll) or hand
 * their waker to a foreign thread that wakes them later. Checked: every task's done() runs
 * exactly once, a task that ran was not reported cancelled, no future is polled by two threads at
 * once, every future completes (a lost wake hangs the round: the watchdog fails it).
 *
 * Phase 2, shutdown races: submitters and the foreign waker keep going while another thread
 * shuts the pool down (DRAIN or CANCEL). Checked: a submit either fails with -ESHUTDOWN or its
 * task's done() runs exactly once (0 if it ran, -ECANCELED if not), before shutdown returns.
 */
#include <iort/pool.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "stress.h"

#define MAX_RECS  600000
#define FUT_SLOTS 64

struct rec {
	_Atomic uint8_t ran;
	_Atomic uint8_t dones;
	_Atomic int status;
	_Atomic int in_poll;
	_Atomic unsigned polls;
	unsigned need; /* futures: polls until ready */
	unsigned depth;
	uint64_t rng;
};

static struct rec *recs;
static _Atomic long nrecs;
static struct iort_pool *pool;
static _Atomic(struct iort_waker *) slots[FUT_SLOTS];
static _Atomic int stop_wakers, stop_submit;
static _Atomic long accepted, refused;

static struct rec *new_rec(uint64_t rng)
{
	long i = atomic_fetch_add(&nrecs, 1);
	STRESS_CHECK(i < MAX_RECS);
	struct rec *r = &recs[i];
	atomic_store(&r->ran, 0);
	atomic_store(&r->dones, 0);
	atomic_store(&r->status, 1);
	atomic_store(&r->in_poll, 0);
	atomic_store(&r->polls, 0);
	r->rng = rng | 1;
	r->need = 0;
	r->depth = 0;
	return r;
}

static void on_done(void *arg, int status)
{
	struct rec *r = arg;

	STRESS_CHECK(atomic_fetch_add(&r->dones, 1) == 0);
	STRESS_CHECK(status == 0 || status == -ECANCELED);
	if (status == -ECANCELED && r->need == 0)
		STRESS_CHECK(atomic_load(&r->ran) == 0); /* fn tasks: cancelled means not run */
	atomic_store(&r->status, status);
}

static void task_fn(void *arg);

static void spawn_child(struct rec *parent)
{
	struct rec *c = new_rec(stress_rand(&parent->rng));
	struct iort_spawn opt = { .fn = task_fn, .arg = c, .done = on_done };

	c->depth = parent->depth + 1;
	int e = iort_pool_spawn_ex(pool, &opt, NULL);
	STRESS_CHECK(e == 0 || e == -ESHUTDOWN);
	if (e != 0)
		atomic_store(&c->dones, 1); /* refused: nothing will run; count it as settled */
}

static void task_fn(void *arg)
{
	struct rec *r = arg;

	STRESS_CHECK(atomic_fetch_add(&r->ran, 1) == 0);
	if (r->depth < 3) {
		unsigned kids = (unsigned)(stress_rand(&r->rng) % 4);
		for (unsigned i = 0; i < kids; i++)
			spawn_child(r);
	}
}

static enum iort_poll fut_poll(void *arg, struct iort_waker *w)
{
	struct rec *r = arg;

	STRESS_CHECK(atomic_exchange(&r->in_poll, 1) == 0);
	unsigned n = atomic_fetch_add(&r->polls, 1) + 1;
	enum iort_poll res = IORT_PENDING;
	if (n >= r->need) {
		atomic_store(&r->ran, 1);
		res = IORT_READY;
	} else if (stress_rand(&r->rng) % 2 == 0) {
		iort_waker_wake_by_ref(w); /* a yield */
	} else {
		/* Hand a clone to the foreign waker; if its slot is taken, wake ourselves. */
		struct iort_waker *c = iort_waker_clone(w);
		struct iort_waker *expect = NULL;
		unsigned s = (unsigned)(stress_rand(&r->rng) % FUT_SLOTS);
		if (!atomic_compare_exchange_strong(&slots[s], &expect, c))
			iort_waker_wake(c);
	}
	atomic_store(&r->in_poll, 0);
	return res;
}

static void *waker_main(void *arg)
{
	uint64_t rng = (uint64_t)(uintptr_t)arg;

	while (!atomic_load(&stop_wakers)) {
		unsigned s = (unsigned)(stress_rand(&rng) % FUT_SLOTS);
		struct iort_waker *w = atomic_exchange(&slots[s], NULL);
		if (w != NULL)
			iort_waker_wake(w);
		else
			sched_yield();
	}
	return NULL;
}

struct submitter {
	uint64_t rng;
	long count;
	bool phase2;
};

static void *submit_main(void *arg)
{
	struct submitter *sb = arg;

	for (long i = 0; i < sb->count; i++) {
		if (sb->phase2 && atomic_load(&stop_submit))
			break;
		struct rec *r = new_rec(stress_rand(&sb->rng));
		struct iort_spawn opt = { .arg = r, .done = on_done };
		unsigned kind = (unsigned)(stress_rand(&sb->rng) % 8);
		struct iort_task *t = NULL;
		if (kind == 0) {
			r->need = 1 + (unsigned)(stress_rand(&sb->rng) % 20);
			opt.poll = fut_poll;
		} else {
			opt.fn = task_fn;
		}
		bool handle = kind >= 6;
		int e = iort_pool_spawn_ex(pool, &opt, handle ? &t : NULL);
		STRESS_CHECK(e == 0 || (sb->phase2 && e == -ESHUTDOWN));
		if (e != 0) {
			atomic_store(&r->dones, 1);
			atomic_fetch_add(&refused, 1);
			continue;
		}
		atomic_fetch_add(&accepted, 1);
		if (handle) {
			if (kind == 7)
				iort_task_cancel(t);
			int st = iort_task_join(t);
			STRESS_CHECK(st == 0 || st == -ECANCELED);
			STRESS_CHECK(atomic_load(&r->dones) ==
				     1); /* done() ran before join returned */
			STRESS_CHECK(atomic_load(&r->status) == st);
		}
	}
	return NULL;
}

static void settle(void)
{
	/* Wait (yielding, no sleeping) until every record's done() ran. */
	for (long i = 0; i < atomic_load(&nrecs);) {
		if (atomic_load(&recs[i].dones) != 0)
			i++;
		else
			sched_yield();
	}
}

static void check_all(void)
{
	long n = atomic_load(&nrecs);
	for (long i = 0; i < n; i++) {
		struct rec *r = &recs[i];
		STRESS_CHECK(atomic_load(&r->dones) == 1);
		STRESS_CHECK(atomic_load(&r->ran) <= 1);
		if (atomic_load(&r->status) == 0)
			STRESS_CHECK(atomic_load(&r->ran) == 1);
	}
}

static void drop_slots(void)
{
	for (unsigned s = 0; s < FUT_SLOTS; s++) {
		struct iort_waker *w = atomic_exchange(&slots[s], NULL);
		if (w != NULL)
			iort_waker_drop(w);
	}
}

int main(void)
{
	uint64_t rng = stress_seed("stress_pool");
	long per = stress_scale(3000);
	int rounds = (int)stress_scale(12);

	stress_watchdog(500);
	recs = calloc(MAX_RECS, sizeof(*recs));
	STRESS_CHECK(recs != NULL);
	for (int round = 0; round < rounds; round++) {
		static const unsigned caps[] = { 4, 16, 256 };
		struct iort_pool_config cfg = {
			.workers = 1 + (unsigned)(stress_rand(&rng) % 4),
			.local_capacity = caps[stress_rand(&rng) % 3],
			.spin_ns = stress_rand(&rng) % 2 ? 1 : 0,
			.lifo_cap = 1 + (unsigned)(stress_rand(&rng) % 3),
			.inject_interval = 1 + (unsigned)(stress_rand(&rng) % 61),
		};
		atomic_store(&nrecs, 0);
		atomic_store(&stop_wakers, 0);
		atomic_store(&stop_submit, 0);
		STRESS_CHECK(iort_pool_create(&cfg, &pool) == 0);

		/* Phase 1: everything finishes. */
		pthread_t waker, sub[2];
		struct submitter sb[2];
		STRESS_CHECK(pthread_create(&waker, NULL, waker_main,
					    (void *)(uintptr_t)(stress_rand(&rng) | 1)) == 0);
		for (int i = 0; i < 2; i++) {
			sb[i] = (struct submitter){ stress_rand(&rng) | 1, per, false };
			STRESS_CHECK(pthread_create(&sub[i], NULL, submit_main, &sb[i]) == 0);
		}
		for (int i = 0; i < 2; i++)
			pthread_join(sub[i], NULL);
		settle();
		check_all();
		struct iort_pool_metrics m;
		iort_pool_metrics(pool, &m);

		/* Phase 2: shutdown races with submits and foreign wakes. */
		enum iort_shutdown how =
			stress_rand(&rng) % 2 ? IORT_SHUTDOWN_DRAIN : IORT_SHUTDOWN_CANCEL;
		for (int i = 0; i < 2; i++) {
			sb[i] = (struct submitter){ stress_rand(&rng) | 1, per, true };
			STRESS_CHECK(pthread_create(&sub[i], NULL, submit_main, &sb[i]) == 0);
		}
		while (atomic_load(&accepted) < 2 * per + per / 4)
			sched_yield();
		STRESS_CHECK(iort_pool_shutdown(pool, how) == 0);
		atomic_store(&stop_submit, 1);
		for (int i = 0; i < 2; i++)
			pthread_join(sub[i], NULL);
		atomic_store(&stop_wakers, 1);
		pthread_join(waker, NULL);
		drop_slots();
		/* shutdown returned: every accepted task has settled already. */
		check_all();
		printf("round %d: workers=%u cap=%u spin=%s %s: %ld tasks, %ld refused, "
		       "steals=%" PRIu64 " overflows=%" PRIu64 " parks=%" PRIu64 "\n",
		       round, cfg.workers, cfg.local_capacity, cfg.spin_ns ? "1ns" : "default",
		       how == IORT_SHUTDOWN_DRAIN ? "drain" : "cancel", atomic_load(&nrecs),
		       atomic_load(&refused), m.steals, m.overflows, m.parks);
		iort_pool_destroy(pool);
		atomic_store(&accepted, 0);
		atomic_store(&refused, 0);
	}
	free(recs);
	printf("stress_pool: ok\n");
	return 0;
}
