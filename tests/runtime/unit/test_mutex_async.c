/*
 * The mutex's asynchronous acquisition (iort/mutex.h: iort_mutex_lock_async and its cancel): a
 * free mutex is taken at once, queued records are handed the mutex in FIFO order together with
 * the threads queued around them (the mutex never becomes free in between), a cancel returns true
 * exactly when the record was still queued, and the lock-order checker neither sees asynchronous
 * acquisitions nor complains about their releases through iort_mutex_unlock_async.
 *
 * The grant callbacks here record their order and post a semaphore; a test waits on it with a
 * deadline that only a hang reaches. No test sleeps to synchronize or asserts a duration. The
 * windows of the hand-off are driven through test points in tests/runtime/windows/win_mutex_async.c.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <iort/config.h>
#include <iort/lockdep.h>
#include <iort/mutex.h>

#include "stress.h"

/* White box: the mutex's word (layout in runtime/src/sync/mutex.c). */
#define W_LOCKED   ((uintptr_t)1)
#define W_PARKED   ((uintptr_t)8)
#define W_CFG_MASK (~(uintptr_t)0 << 48)

static uintptr_t word_of(struct iort_mutex *m)
{
	return atomic_load((_Atomic uintptr_t *)(void *)&m->iort_private_word);
}

/* Block until thread @p tid sleeps in the kernel on a futex (polls /proc; no fixed sleep). */
static void wait_in_futex(pid_t tid)
{
	char path[64], buf[64];

	snprintf(path, sizeof(path), "/proc/self/task/%d/wchan", (int)tid);
	for (;;) {
		FILE *f = fopen(path, "r");
		size_t n;

		assert_non_null(f);
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = 0;
		if (strncmp(buf, "futex", 5) == 0)
			return;
		sched_yield();
	}
}

/* --- grants: each record's callback appends its id to a log and posts a semaphore --------- */

static _Atomic int grant_log[16];
static _Atomic int grant_n;
static sem_t granted_sem;

struct rec {
	struct iort_mutex_waiter w;
	int id;
};

static void on_grant(void *arg)
{
	struct rec *r = arg;
	int i = atomic_fetch_add(&grant_n, 1);

	if (i < 16)
		atomic_store(&grant_log[i], r->id);
	sem_post(&granted_sem);
}

static void reset_grants(void)
{
	atomic_store(&grant_n, 0);
	for (int i = 0; i < 16; i++)
		atomic_store(&grant_log[i], -1);
	sem_destroy(&granted_sem);
	assert_int_equal(sem_init(&granted_sem, 0, 0), 0);
}

/* Wait for one more grant (fails after 60 s: a stranded record). */
static void wait_grant(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 60;
	while (sem_timedwait(&granted_sem, &ts) != 0)
		assert_int_equal(errno, EINTR);
}

static bool queue_async(struct iort_mutex *m, struct rec *r, int id)
{
	r->id = id;
	return iort_mutex_lock_async(m, &r->w, on_grant, r);
}

/* The mutex ends free: nobody holds it, nobody is queued. */
static void assert_free(struct iort_mutex *m)
{
	assert_int_equal(word_of(m) & ~W_CFG_MASK, 0);
	assert_true(iort_mutex_try_lock(m));
	iort_mutex_unlock(m);
	assert_int_equal(iort_mutex_fini(m), 0);
}

/* --- a thread that locks (blocking), logs itself as a grant, unlocks ------------------------ */

struct locker {
	struct iort_mutex *m;
	int id;
	_Atomic pid_t tid;
	pthread_t th;
};

static void *locker_main(void *arg)
{
	struct locker *l = arg;

	atomic_store(&l->tid, (pid_t)syscall(SYS_gettid));
	iort_mutex_lock(l->m);
	int i = atomic_fetch_add(&grant_n, 1);
	if (i < 16)
		atomic_store(&grant_log[i], l->id);
	iort_mutex_unlock(l->m);
	return NULL;
}

static void start_locker(struct locker *l, struct iort_mutex *m, int id)
{
	*l = (struct locker){ .m = m, .id = id };
	assert_int_equal(pthread_create(&l->th, NULL, locker_main, l), 0);
	while (!atomic_load(&l->tid))
		sched_yield();
	wait_in_futex(atomic_load(&l->tid)); /* queued and asleep */
}

/* --- tests ----------------------------------------------------------------------------------- */

/* A free mutex is taken at once: no record queued, no callback. */
static void free_mutex_taken_at_once(void **state)
{
	struct iort_mutex m;
	struct rec a;

	(void)state;
	reset_grants();
	iort_mutex_init(&m);
	assert_true(queue_async(&m, &a, 1));
	assert_int_equal(word_of(&m), W_LOCKED);
	assert_false(iort_mutex_try_lock(&m));
	iort_mutex_unlock_async(&m);
	assert_int_equal(atomic_load(&grant_n), 0);
	assert_free(&m);
}

/* Records queued behind a held mutex are handed it one at a time, in order, each by the previous
 * owner's unlock (the callback runs inside that unlock), and the mutex is never free between. */
static void handoff_in_fifo_order(void **state)
{
	struct iort_mutex m;
	struct rec r[3];

	(void)state;
	reset_grants();
	iort_mutex_init(&m);
	iort_mutex_lock(&m);
	for (int i = 0; i < 3; i++)
		assert_false(queue_async(&m, &r[i], i));
	assert_true(word_of(&m) & W_PARKED); /* the record at the head waits for the hand-off */
	iort_mutex_unlock(&m);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(atomic_load(&grant_n), i + 1);
		assert_int_equal(atomic_load(&grant_log[i]), i);
		assert_true(iort_mutex_waiter_granted(&r[i].w));
		if (i < 2)
			assert_false(iort_mutex_waiter_granted(&r[i + 1].w));
		assert_true(word_of(&m) & W_LOCKED); /* handed, never free */
		assert_false(iort_mutex_try_lock(&m));
		iort_mutex_unlock_async(&m); /* hands to the next record, or frees */
	}
	assert_int_equal(atomic_load(&grant_n), 3);
	assert_free(&m);
}

/* Threads and records share one FIFO: a record before a sleeping thread is handed the mutex
 * first; a record behind a parked thread gets it from that thread's unlock. */
static void threads_and_records_in_one_queue(void **state)
{
	struct iort_mutex m;
	struct rec a, b;
	struct locker t;

	(void)state;
	/* record, then thread */
	reset_grants();
	iort_mutex_init(&m);
	iort_mutex_lock(&m);
	assert_false(queue_async(&m, &a, 1));
	start_locker(&t, &m, 2);
	iort_mutex_unlock(&m);
	assert_int_equal(atomic_load(&grant_n), 1); /* the record, inside our unlock */
	assert_int_equal(atomic_load(&grant_log[0]), 1);
	iort_mutex_unlock_async(&m); /* wakes the thread */
	assert_int_equal(pthread_join(t.th, NULL), 0);
	assert_int_equal(atomic_load(&grant_log[1]), 2);
	assert_free(&m);

	/* thread, then record */
	reset_grants();
	iort_mutex_init(&m);
	iort_mutex_lock(&m);
	start_locker(&t, &m, 1);
	assert_false(queue_async(&m, &b, 2));
	iort_mutex_unlock(&m);
	wait_grant(); /* the thread took it, logged itself, unlocked: the record's turn */
	assert_int_equal(pthread_join(t.th, NULL), 0);
	assert_int_equal(atomic_load(&grant_log[0]), 1);
	assert_int_equal(atomic_load(&grant_log[1]), 2);
	assert_true(iort_mutex_waiter_granted(&b.w));
	iort_mutex_unlock_async(&m);
	assert_free(&m);
}

/* A cancel of a queued record removes it (true) wherever it is in the queue; the callback never
 * runs, and the others are still handed the mutex in order. */
static void cancel_while_queued(void **state)
{
	(void)state;
	for (int victim = 0; victim < 3; victim++) {
		struct iort_mutex m;
		struct rec r[3];

		reset_grants();
		iort_mutex_init(&m);
		iort_mutex_lock(&m);
		for (int i = 0; i < 3; i++)
			assert_false(queue_async(&m, &r[i], i));
		assert_true(iort_mutex_lock_async_cancel(&m, &r[victim].w));
		assert_false(iort_mutex_waiter_granted(&r[victim].w));
		assert_true(word_of(&m) & W_PARKED); /* the new head (if any) still waits */
		iort_mutex_unlock(&m);
		for (int k = 0; k < 2; k++) {
			assert_int_equal(atomic_load(&grant_n), k + 1);
			assert_int_not_equal(atomic_load(&grant_log[k]), victim);
			iort_mutex_unlock_async(&m);
		}
		assert_int_equal(atomic_load(&grant_n), 2);
		assert_int_equal(atomic_load(&grant_log[0]) < atomic_load(&grant_log[1]), 1);
		assert_free(&m);
	}
}

/* The only record cancelled at the head: a thread queued behind it still gets the mutex from the
 * holder's unlock (the record leaves its PARKED to the thread). */
static void cancel_head_before_thread(void **state)
{
	struct iort_mutex m;
	struct rec a;
	struct locker t;

	(void)state;
	reset_grants();
	iort_mutex_init(&m);
	iort_mutex_lock(&m);
	assert_false(queue_async(&m, &a, 1));
	start_locker(&t, &m, 2);
	assert_true(iort_mutex_lock_async_cancel(&m, &a.w));
	iort_mutex_unlock(&m);
	assert_int_equal(pthread_join(t.th, NULL), 0);
	assert_int_equal(atomic_load(&grant_n), 1);
	assert_int_equal(atomic_load(&grant_log[0]), 2);
	assert_free(&m);
}

/* A cancel after the hand-off returns false: the caller holds the mutex (and its unlock frees
 * it); the callback ran exactly once. */
static void cancel_after_handoff(void **state)
{
	struct iort_mutex m;
	struct rec a;

	(void)state;
	reset_grants();
	iort_mutex_init(&m);
	iort_mutex_lock(&m);
	assert_false(queue_async(&m, &a, 1));
	iort_mutex_unlock(&m);
	assert_false(iort_mutex_lock_async_cancel(&m, &a.w));
	assert_true(iort_mutex_waiter_granted(&a.w));
	assert_int_equal(atomic_load(&grant_n), 1);
	assert_false(iort_mutex_try_lock(&m)); /* ours */
	iort_mutex_unlock_async(&m);
	assert_free(&m);
}

/* A record may be reused once granted or cancelled. */
static void record_reuse(void **state)
{
	struct iort_mutex m;
	struct rec a;

	(void)state;
	reset_grants();
	iort_mutex_init(&m);
	for (int round = 0; round < 3; round++) {
		iort_mutex_lock(&m);
		assert_false(queue_async(&m, &a, round));
		if (round == 1) {
			assert_true(iort_mutex_lock_async_cancel(&m, &a.w));
			iort_mutex_unlock(&m);
			continue;
		}
		iort_mutex_unlock(&m);
		assert_true(iort_mutex_waiter_granted(&a.w));
		iort_mutex_unlock_async(&m);
	}
	assert_int_equal(atomic_load(&grant_n), 2);
	assert_free(&m);
}

/* Ownership passes between threads: a record queued by this thread is granted by another
 * thread's unlock, and its owner unlocks on a third. */
static void *unlock_async_main(void *arg)
{
	iort_mutex_unlock_async(arg);
	return NULL;
}

static void *lock_async_main(void *arg)
{
	struct rec r;

	if (!queue_async(arg, &r, 9)) /* free: taken at once, never queued */
		abort();
	return NULL;
}

static void owner_moves_between_threads(void **state)
{
	struct iort_mutex m;
	struct rec a;
	pthread_t th;

	(void)state;
	reset_grants();
	iort_mutex_init(&m);
	assert_int_equal(pthread_create(&th, NULL, lock_async_main, &m), 0);
	assert_int_equal(pthread_join(th, NULL), 0); /* m is held, by nobody the checker knows */
	assert_false(queue_async(&m, &a, 1));
	assert_int_equal(pthread_create(&th, NULL, unlock_async_main, &m), 0);
	wait_grant();
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(atomic_load(&grant_log[0]), 1);
	assert_int_equal(pthread_create(&th, NULL, unlock_async_main, &m), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_free(&m);
}

static _Atomic int reports[4];

static void count_report(const struct iort_lockdep_report *r, void *arg)
{
	(void)arg;
	atomic_fetch_add(&reports[r->kind], 1);
}

#if IORT_LOCKDEP

/*
 * The lock-order checker does not see asynchronous acquisitions (their owner is a task, which
 * can hold a lock across threads): no edge is recorded for them, and their releases through
 * iort_mutex_unlock_async are not misuses, even on another thread. A plain iort_mutex_unlock of
 * an asynchronously taken mutex is reported: this thread does not hold it as far as the checker
 * knows (the documented reason to use unlock_async). The checker runs from start-up
 * (IORT_LOCKDEP=report, set by main), the only mode in which it reports such misuses.
 */
static void lockdep_does_not_see_async(void **state)
{
	struct iort_mutex a, b;
	struct rec r;
	pthread_t th;

	(void)state;
	reset_grants();
	assert_int_equal(iort_lockdep_get_mode(), IORT_LOCKDEP_REPORT);
	for (int i = 0; i < 4; i++)
		assert_int_equal(atomic_load(&reports[i]), 0); /* nothing so far, in any test */
	iort_mutex_init_class(&a, "async.A");
	iort_mutex_init_class(&b, "async.B");

	/* A (thread) then B (async, at once); later B then A on threads: no inversion recorded */
	iort_mutex_lock(&a);
	assert_true(queue_async(&b, &r, 1));
	iort_mutex_unlock_async(&b);
	iort_mutex_unlock(&a);
	iort_mutex_lock(&b);
	iort_mutex_lock(&a);
	iort_mutex_unlock(&a);
	iort_mutex_unlock(&b);

	/* queued and handed by a thread's unlock, released on another thread */
	iort_mutex_lock(&b);
	assert_false(queue_async(&b, &r, 2));
	iort_mutex_unlock(&b);
	assert_true(iort_mutex_waiter_granted(&r.w));
	assert_int_equal(pthread_create(&th, NULL, unlock_async_main, &b), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(atomic_load(&reports[IORT_LOCKDEP_INVERSION]), 0);
	assert_int_equal(atomic_load(&reports[IORT_LOCKDEP_MISUSE]), 0);

	/* the plain unlock of an asynchronous acquisition is a misuse to the checker */
	assert_true(queue_async(&b, &r, 3));
	iort_mutex_unlock(&b);
	assert_int_equal(atomic_load(&reports[IORT_LOCKDEP_MISUSE]), 1);
	atomic_store(&reports[IORT_LOCKDEP_MISUSE], 0);
	assert_free(&a);
	assert_free(&b);
}
#endif

int main(int argc, char **argv)
{
	(void)argc;
	/* The whole run with the lock-order checker on from start-up: asynchronous acquisitions
	 * must not produce reports, and MISUSE is reported only in that mode. */
	if (!getenv("IORT_LOCKDEP")) {
		setenv("IORT_LOCKDEP", "report", 1);
		execv("/proc/self/exe", argv);
		perror("execv /proc/self/exe");
		return 1;
	}
	iort_lockdep_set_handler(count_report, NULL);

	const struct CMUnitTest tests[] = {
		cmocka_unit_test(free_mutex_taken_at_once),
		cmocka_unit_test(handoff_in_fifo_order),
		cmocka_unit_test(threads_and_records_in_one_queue),
		cmocka_unit_test(cancel_while_queued),
		cmocka_unit_test(cancel_head_before_thread),
		cmocka_unit_test(cancel_after_handoff),
		cmocka_unit_test(record_reuse),
		cmocka_unit_test(owner_moves_between_threads),
#if IORT_LOCKDEP
		cmocka_unit_test(lockdep_does_not_see_async),
#endif
	};

	assert_int_equal(sem_init(&granted_sem, 0, 0), 0);
	stress_watchdog(110); /* a stranded record is a failure with a backtrace, not a hang */
	int r = cmocka_run_group_tests(tests, NULL, NULL);
	for (int i = 0; i < 4; i++)
		if (atomic_load(&reports[i])) {
			fprintf(stderr, "lock-order checker: %d reports of kind %d\n",
				atomic_load(&reports[i]), i);
			r = 1;
		}
	return r;
}
