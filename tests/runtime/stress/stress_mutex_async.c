/*
 * The mutex's asynchronous acquisition under load: pool tasks (poll functions, 2 workers) take
 * one mutex with iort_mutex_lock_async and its grant callback wakes them; threads outside the
 * pool take it with lock, lock_timed (short random deadlines) and try_lock at the same time, on
 * 2 vCPUs. Tasks cancel a queued acquisition at random right after queueing (racing the hand-off
 * of other unlockers), and sometimes hold the mutex across a yield (the next poll may run on
 * another worker, whose unlock_async then releases it).
 *
 * Checked: exclusion (a flag set and cleared inside every critical section, and a plain counter
 * that only the holder touches: TSan sees any hand-off without happens-before), every critical
 * section counted exactly once, every cancel answered consistently (true: the callback never
 * runs; false: the caller owns the mutex), every task finishing (a stranded record hangs the
 * watchdog), and the mutex free at the end. Prints its seed.
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
#include <iort/compiler.h>
#include <iort/mutex.h>
#include <iort/pool.h>

#include "stress.h"

#define TASKS	64
#define THREADS 3

static struct iort_mutex mu;
static _Atomic int inside;
static uint64_t counter; /* guarded by mu */
static _Atomic uint64_t entries, cancels_true, cancels_false;
static long task_iters, thread_iters;

static void enter(void)
{
	STRESS_CHECK(atomic_exchange(&inside, 1) == 0);
	counter++;
	atomic_fetch_add(&entries, 1);
}

static void leave(void)
{
	STRESS_CHECK(atomic_exchange(&inside, 0) == 1);
}

enum { T_START, T_QUEUED, T_HOLDING };

struct task {
	struct iort_mutex_waiter rec;
	int st;
	long done;
	uint64_t rng;
	_Atomic int grants; /* callbacks run for the current record */
	_Atomic int in_poll;
};

static void on_grant(void *arg)
{
	iort_waker_wake(arg); /* consumes the clone the task queued with */
}

static enum iort_poll task_poll(void *arg, struct iort_waker *w)
{
	struct task *t = arg;

	STRESS_CHECK(atomic_exchange(&t->in_poll, 1) == 0);
	for (;;) {
		if (t->done == task_iters)
			break;
		if (t->st == T_HOLDING) {
			leave();
			iort_mutex_unlock_async(&mu);
			t->st = T_START;
			t->done++;
			continue;
		}
		if (t->st == T_QUEUED) {
			if (!iort_mutex_waiter_granted(&t->rec))
				goto pending; /* a spurious poll: still queued */
		} else {
			struct iort_waker *c = iort_waker_clone(w);
			if (!iort_mutex_lock_async(&mu, &t->rec, on_grant, c)) {
				uint64_t r = stress_rand(&t->rng);
				if (r % 4 == 0) {
					/* cancel soon: races the hand-off of other unlockers */
					for (uint64_t k = (r >> 8) % 4096; k > 0; k--)
						iort_cpu_relax();
					if (iort_mutex_lock_async_cancel(&mu, &t->rec)) {
						iort_waker_drop(c);
						atomic_fetch_add(&cancels_true, 1);
						continue; /* try again */
					}
					atomic_fetch_add(&cancels_false, 1);
					STRESS_CHECK(iort_mutex_waiter_granted(&t->rec));
				} else {
					t->st = T_QUEUED;
					if (!iort_mutex_waiter_granted(&t->rec))
						goto pending;
				}
			} else {
				iort_waker_drop(c);
			}
		}
		/* ours: the critical section */
		enter();
		t->st = T_HOLDING;
		if (stress_rand(&t->rng) % 8 == 0) {
			iort_waker_wake_by_ref(w); /* hold it across a yield */
			goto pending;
		}
		leave();
		iort_mutex_unlock_async(&mu);
		t->st = T_START;
		t->done++;
	}
	atomic_store(&t->in_poll, 0);
	return IORT_READY;
pending:
	atomic_store(&t->in_poll, 0);
	return IORT_PENDING;
}

struct thr {
	uint64_t rng;
	pthread_t th;
};

static void *thread_main(void *arg)
{
	struct thr *t = arg;

	for (long i = 0; i < thread_iters;) {
		uint64_t r = stress_rand(&t->rng);
		switch (r % 3) {
		case 0:
			iort_mutex_lock(&mu);
			break;
		case 1:
			if (iort_mutex_lock_timed(&mu, iort_clock_ns() + (r >> 8) % 20000) != 0)
				continue;
			break;
		default:
			if (!iort_mutex_try_lock(&mu)) {
				sched_yield();
				continue;
			}
		}
		enter();
		leave();
		iort_mutex_unlock(&mu);
		i++;
	}
	return NULL;
}

int main(void)
{
	uint64_t seed = stress_seed("stress_mutex_async");
	struct iort_pool_config cfg = { .workers = 2 };
	struct iort_pool *p;
	static struct task tasks[TASKS];
	struct iort_task *h[TASKS];
	struct thr thr[THREADS];

	stress_watchdog(300);
	task_iters = stress_scale(5000);
	thread_iters = stress_scale(20000);
	iort_mutex_init(&mu);
	STRESS_CHECK(iort_pool_create(&cfg, &p) == 0);
	for (int i = 0; i < THREADS; i++) {
		thr[i].rng = seed ^ (0x1000u + (unsigned)i);
		STRESS_CHECK(pthread_create(&thr[i].th, NULL, thread_main, &thr[i]) == 0);
	}
	for (int i = 0; i < TASKS; i++) {
		tasks[i].rng = seed ^ (uint64_t)(i + 1) * 0x9e3779b97f4a7c15ull;
		struct iort_spawn opt = { .poll = task_poll, .arg = &tasks[i] };
		STRESS_CHECK(iort_pool_spawn_ex(p, &opt, &h[i]) == 0);
	}
	for (int i = 0; i < TASKS; i++)
		STRESS_CHECK(iort_task_join(h[i]) == 0);
	for (int i = 0; i < THREADS; i++)
		STRESS_CHECK(pthread_join(thr[i].th, NULL) == 0);
	iort_mutex_lock(&mu);
	uint64_t total = counter;
	iort_mutex_unlock(&mu);
	STRESS_CHECK(total == atomic_load(&entries));
	STRESS_CHECK(total == (uint64_t)(TASKS * task_iters + THREADS * thread_iters));
	STRESS_CHECK(iort_mutex_fini(&mu) == 0);
	iort_pool_destroy(p);
	printf("stress_mutex_async: ok (%" PRIu64 " critical sections, cancels: %" PRIu64
	       " removed, %" PRIu64 " lost to the hand-off)\n",
	       total, atomic_load(&cancels_true), atomic_load(&cancels_false));
	return 0;
}
