/*
 * mutex.c's critical windows, driven deterministically through test points (tests/lib/tp.h; the
 * points are listed in the header comment of runtime/src/sync/mutex.c).
 *
 * A thread stopped at "mutex.park" has set PARKED and its state SLEEP but not yet called
 * futex_wait: a wake-up issued now is lost unless the state says WOKEN, which is exactly what the
 * protocol must guarantee. Waiters here have no deadline unless the test is about deadlines (a
 * deadline would turn a lost wake-up into a late success); a stranded waiter makes
 * tp_wait_hits("test.done") fail after TP_TIMEOUT_S with a message.
 *
 * Each test names the mutant of tests/mutation/mutex.json it kills.
 */
#include <errno.h>
#include <sched.h>
#include <semaphore.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>
#include <pthread.h>

#include <iort/clock.h>
#include <iort/mutex.h>

#include "tp.h"

#define TAG_HOLDER 1
#define TAG_W	   2 /* the queue's head */
#define TAG_X	   3 /* a second waiter */

/* White box: the mutex's word (runtime/src/sync/mutex.c), to check a test's premise. */
#define W_LOCKED   ((uintptr_t)1)
#define W_PARKED   ((uintptr_t)8)
#define W_STARVING ((uintptr_t)16)
#define W_PTR_MASK ((uintptr_t)0x0000ffffffffffe0)
#define W_CFG_MASK (~(uintptr_t)0 << 48)

static uintptr_t word_of(struct iort_mutex *m)
{
	return atomic_load((_Atomic uintptr_t *)(void *)&m->iort_private_word);
}

/* --- the holder: locks, then unlocks (and optionally try_locks at once) when told --------- */

struct holder {
	struct iort_mutex *m;
	bool try_after;
	int try_ret; /* 1: the try_lock right after the unlock took the mutex */
	sem_t held, go;
	pthread_t th;
};

static void *holder_main(void *arg)
{
	struct holder *h = arg;

	tp_tag(TAG_HOLDER);
	iort_mutex_lock(h->m);
	sem_post(&h->held);
	while (sem_wait(&h->go) != 0)
		;
	iort_mutex_unlock(h->m);
	if (h->try_after) {
		h->try_ret = iort_mutex_try_lock(h->m) ? 1 : 0;
		if (h->try_ret)
			iort_mutex_unlock(h->m);
	}
	IORT_TP("test.done");
	return NULL;
}

static void start_holder(struct holder *h, struct iort_mutex *m, bool try_after)
{
	*h = (struct holder){ .m = m, .try_after = try_after, .try_ret = -1 };
	assert_int_equal(sem_init(&h->held, 0, 0), 0);
	assert_int_equal(sem_init(&h->go, 0, 0), 0);
	assert_int_equal(pthread_create(&h->th, NULL, holder_main, h), 0);
	while (sem_wait(&h->held) != 0)
		;
}

/* Unlock (and try_lock) now; returns when the holder is done. */
static void holder_release(struct holder *h)
{
	sem_post(&h->go);
	assert_int_equal(pthread_join(h->th, NULL), 0);
	sem_destroy(&h->held);
	sem_destroy(&h->go);
}

/* --- a waiter: lock or timed lock, unlock, optionally free the mutex ---------------------- */

struct waiter {
	struct iort_mutex *m;
	int tag;
	bool timed, free_after;
	uint64_t deadline;
	int ret;
	pthread_t th;
};

static void *waiter_main(void *arg)
{
	struct waiter *a = arg;

	tp_tag(a->tag);
	if (a->timed) {
		a->ret = iort_mutex_lock_timed(a->m, a->deadline);
	} else {
		iort_mutex_lock(a->m);
		a->ret = 0;
	}
	if (a->ret == 0) {
		iort_mutex_unlock(a->m);
		if (a->free_after)
			free(a->m); /* right after the unlock, as the header allows */
	}
	IORT_TP("test.done");
	return NULL;
}

static void start_waiter_as(struct waiter *a, struct iort_mutex *m, int tag, bool timed,
			    uint64_t deadline, bool free_after)
{
	*a = (struct waiter){ .m = m,
			      .tag = tag,
			      .timed = timed,
			      .free_after = free_after,
			      .deadline = deadline,
			      .ret = 1 };
	assert_int_equal(pthread_create(&a->th, NULL, waiter_main, a), 0);
}

static void start_waiter(struct waiter *a, struct iort_mutex *m, int tag)
{
	start_waiter_as(a, m, tag, false, 0, false);
}

static int join_waiter(struct waiter *a)
{
	tp_wait_hits("test.done", a->tag, 1); /* a stranded waiter fails here, with a message */
	assert_int_equal(pthread_join(a->th, NULL), 0);
	return a->ret;
}

/* The mutex ends free: nobody holds it, nobody is queued. */
static void assert_free(struct iort_mutex *m)
{
	assert_int_equal(word_of(m) & ~W_CFG_MASK, 0);
	assert_true(iort_mutex_try_lock(m));
	iort_mutex_unlock(m);
	assert_int_equal(iort_mutex_fini(m), 0);
}

/*
 * (a) The head parks again while its waker holds the queue lock. The holder unlocks with the head
 * parked (stopped at mutex.park, before futex_wait); it takes the queue lock, marks the head WOKEN
 * and is stopped at mutex.wake, still holding the lock. The head runs: futex_wait returns at once
 * (WOKEN), it finds the lock held and parks again (PARKED, SLEEP: stopped at mutex.park before
 * futex_wait). The waker goes on: it must see PARKED and wake the head again, or the head sleeps
 * next to a free lock. No time bound: only an unlock wakes a parked head.
 * Kills: mutex-no-rewake-loop, mutex-parked-cleared-late.
 */
static void head_reparks_under_waker(void **state)
{
	struct iort_mutex m;
	struct holder h;
	struct waiter w;

	(void)state;
	tp_reset();
	iort_mutex_init(&m);
	assert_int_equal(iort_mutex_set_fairness(&m, UINT64_MAX, 126), 0);
	start_holder(&h, &m, false);
	int park1 = tp_stop_at("mutex.park", TAG_W, 0);
	start_waiter(&w, &m, TAG_W);
	tp_wait_stopped(park1);
	assert_true(word_of(&m) & W_PARKED);
	int wake = tp_stop_at("mutex.wake", TAG_HOLDER, 0);
	sem_post(&h.go);
	tp_wait_stopped(wake); /* queue lock held, head WOKEN, lock held */
	int park2 = tp_stop_at("mutex.park", TAG_W, 0);
	tp_release(park1);
	tp_wait_stopped(park2); /* parked again: PARKED set, SLEEP, not yet in futex_wait */
	tp_release(wake);
	assert_int_equal(pthread_join(h.th, NULL), 0); /* the unlock is complete */
	tp_release(park2);
	assert_int_equal(join_waiter(&w), 0);
	assert_int_equal(tp_hits("mutex.wake", TAG_HOLDER), 2); /* it woke the head twice */
	sem_destroy(&h.held);
	sem_destroy(&h.go);
	assert_free(&m);
}

/*
 * (b) The reservation. The head has waited past the bound and set STARVING, and is parked
 * (stopped at mutex.park). With strict handoff (set_fairness(0, 0)) the holder unlocks and its
 * try_lock right after must fail: the lock is the head's. With no time bound and a count bound
 * the head has not reached (UINT64_MAX, 126), release is competitive: the same try_lock succeeds.
 * Kills: mutex-try-ignores-starving.
 */
static void reserved_for_starving_head(void **state)
{
	(void)state;
	for (int strict = 1; strict >= 0; strict--) {
		struct iort_mutex m;
		struct holder h;
		struct waiter w;

		tp_reset();
		iort_mutex_init(&m);
		if (strict)
			assert_int_equal(iort_mutex_set_fairness(&m, 0, 0), 0);
		else
			assert_int_equal(iort_mutex_set_fairness(&m, UINT64_MAX, 126), 0);
		start_holder(&h, &m, true);
		int park = tp_stop_at("mutex.park", TAG_W, 0);
		start_waiter(&w, &m, TAG_W);
		tp_wait_stopped(park);
		/* the premise: the head asked for the lock (strict) or did not */
		assert_int_equal(!!(word_of(&m) & W_STARVING), strict);
		holder_release(&h);
		assert_int_equal(h.try_ret, strict ? 0 : 1);
		tp_release(park);
		assert_int_equal(join_waiter(&w), 0);
		assert_free(&m);
	}
}

/*
 * (f) An arriving waiter that appends itself (under the queue lock) keeps the head's PARKED and
 * STARVING, which the head set without the queue lock: the holder's unlock still wakes the head
 * and still reserves the lock for it.
 * Kills: mutex-qunlock-overwrites-flags.
 */
static void appender_keeps_head_flags(void **state)
{
	struct iort_mutex m;
	struct holder h;
	struct waiter w, x;

	(void)state;
	tp_reset();
	iort_mutex_init(&m);
	assert_int_equal(iort_mutex_set_fairness(&m, 0, 0), 0);
	start_holder(&h, &m, true);
	int park = tp_stop_at("mutex.park", TAG_W, 0);
	start_waiter(&w, &m, TAG_W);
	tp_wait_stopped(park);
	start_waiter(&x, &m, TAG_X);
	tp_wait_hits("mutex.enqueued", TAG_X, 1); /* appended behind the head */
	holder_release(&h);
	assert_int_equal(h.try_ret, 0); /* still reserved for the head */
	tp_release(park);
	assert_int_equal(join_waiter(&w), 0); /* woken by the holder's unlock */
	assert_int_equal(join_waiter(&x), 0); /* then by the head's */
	assert_free(&m);
}

/*
 * (g) The reservation ends with the acquisition: the starving head takes the lock (stopped at
 * mutex.head_acquired, not yet unlinked) and a thread arriving now finds an ordinary held lock,
 * so it spins (mutex.spin) before it queues, instead of queueing at once as behind a reservation.
 * Kills: mutex-head-keeps-starving.
 */
static void reservation_ends_with_acquisition(void **state)
{
	struct iort_mutex m;
	struct holder h;
	struct waiter w, x;

	(void)state;
	tp_reset();
	iort_mutex_init(&m);
	assert_int_equal(iort_mutex_set_fairness(&m, 0, 0), 0);
	start_holder(&h, &m, false);
	int park = tp_stop_at("mutex.park", TAG_W, 0);
	int acq = tp_stop_at("mutex.head_acquired", TAG_W, 0);
	start_waiter(&w, &m, TAG_W);
	tp_wait_stopped(park);
	assert_true(word_of(&m) & W_STARVING);
	tp_release(park);
	holder_release(&h);
	tp_wait_stopped(acq);
	assert_true(word_of(&m) & W_LOCKED);
	start_waiter(&x, &m, TAG_X);
	tp_wait_hits("mutex.enqueued", TAG_X, 1);
	assert_int_equal(tp_hits("mutex.spin", TAG_X), 1);
	tp_release(acq);
	assert_int_equal(join_waiter(&w), 0);
	assert_int_equal(join_waiter(&x), 0);
	assert_free(&m);
}

/* Block until the thread tagged @p tag passed mutex.enqueued or test.done. @return true when
 * it queued. */
static bool queued_or_done(int tag)
{
	struct timespec until = tp_deadline();
	bool queued;

	pthread_mutex_lock(&tp_state.mu);
	for (;;) {
		queued = tp_count_slot("mutex.enqueued", tag)->n > 0;
		if (queued || tp_count_slot("test.done", tag)->n > 0)
			break;
		tp_cond_wait(&until, "waiting for a timed locker to queue or return", "");
	}
	pthread_mutex_unlock(&tp_state.mu);
	return queued;
}

/*
 * (c) A timed-out head leaves while the holder unlocks; a second waiter sleeps behind it.
 * W (timed) queues as the head and is held at mutex.enqueued until its deadline has passed (its
 * unqueued spin must end before the deadline: if it does not, W returns -ETIMEDOUT unqueued and
 * the test retries with a longer deadline). X queues behind W and sleeps. W is released, finds
 * the deadline passed and is stopped:
 *  - at mutex.leave (before the queue lock): the holder unlocks; W then finds the lock free and,
 *    the head, takes it (0), and must hand PARKED to X so that its own unlock wakes X;
 *    kills mutex-leave-take-no-parked;
 *  - at mutex.leave_qlocked (queue lock held, the lock seen held): the holder unlocks; W unlinks
 *    itself (-ETIMEDOUT) and must wake X, since no unlock will;
 *    kills mutex-leave-no-wake-when-free.
 * Either way X gets the lock and the mutex ends free.
 */
static void timed_head_leaves_as_holder_unlocks(void **state)
{
	static const char *const points[] = { "mutex.leave", "mutex.leave_qlocked" };

	(void)state;
	for (int p = 0; p < 2; p++) {
		struct iort_mutex m;
		struct holder h;
		struct waiter w, x;
		uint64_t dl = 0;

		tp_reset();
		iort_mutex_init(&m);
		start_holder(&h, &m, false);
		int enq = tp_stop_at("mutex.enqueued", TAG_W, 0);
		for (int k = 0;; k++) {
			assert_true(k < 8);
			dl = iort_clock_ns() + (20000000ull << k);
			start_waiter_as(&w, &m, TAG_W, true, dl, false);
			if (queued_or_done(TAG_W))
				break;
			assert_int_equal(join_waiter(&w), -ETIMEDOUT); /* gave up unqueued */
			tp_reset();
			enq = tp_stop_at("mutex.enqueued", TAG_W, 0);
		}
		tp_wait_stopped(enq); /* W: the queue's head */
		start_waiter(&x, &m, TAG_X);
		tp_wait_hits("mutex.enqueued", TAG_X, 1); /* X: behind W, about to sleep */
		while (iort_clock_ns() <= dl)
			sched_yield(); /* W's deadline passes while it is stopped */
		int leave = tp_stop_at(points[p], TAG_W, 0);
		tp_release(enq);
		tp_wait_stopped(leave);
		assert_true(word_of(&m) & W_LOCKED); /* the holder still holds it */
		holder_release(&h);		     /* unlocks in the window */
		tp_release(leave);
		assert_int_equal(join_waiter(&w), p == 0 ? 0 : -ETIMEDOUT);
		assert_int_equal(join_waiter(&x), 0);
		assert_free(&m);
	}
}

/*
 * (d) A mutex freed right after the unlock that released it. The holder unlocks with the head
 * parked (stopped at mutex.park) and is stopped at mutex.unlocked: it released the lock and the
 * queue lock and has only its futex_wake left. The head runs, takes the lock, unlocks and frees
 * the mutex (heap: ASan sees any later touch). Then the unlocker finishes.
 * Kills (under ASan): mutex-touch-after-release.
 */
static void free_right_after_unlock(void **state)
{
	struct iort_mutex *m = malloc(sizeof(*m));
	struct holder h;
	struct waiter w;

	(void)state;
	assert_non_null(m);
	tp_reset();
	iort_mutex_init(m);
	start_holder(&h, m, false);
	int park = tp_stop_at("mutex.park", TAG_W, 0);
	start_waiter_as(&w, m, TAG_W, false, 0, true);
	tp_wait_stopped(park);
	int unl = tp_stop_at("mutex.unlocked", TAG_HOLDER, 0);
	sem_post(&h.go);
	tp_wait_stopped(unl);
	tp_release(park);
	assert_int_equal(join_waiter(&w), 0); /* took it, unlocked, freed it */
	tp_release(unl);
	assert_int_equal(pthread_join(h.th, NULL), 0);
	sem_destroy(&h.held);
	sem_destroy(&h.go);
}

/*
 * (e) A signal sent while the waiter is on the cond's queue but has not unlocked the mutex yet
 * (stopped at cond.enqueued) is not lost: the waiter is moved onto the mutex's queue, parked
 * there behind the held mutex, and its own unlock wakes it.
 * Kills: mutex-cond-moved-not-parked.
 */
static struct {
	struct iort_mutex m;
	struct iort_cond c;
	_Atomic bool pred;
} cv;

static void *cond_waiter_main(void *arg)
{
	(void)arg;
	tp_tag(TAG_W);
	iort_mutex_lock(&cv.m);
	while (!atomic_load(&cv.pred))
		iort_cond_wait(&cv.c, &cv.m);
	iort_mutex_unlock(&cv.m);
	IORT_TP("test.done");
	return NULL;
}

static void cond_signal_before_waiter_unlocks(void **state)
{
	(void)state;
	for (int all = 0; all < 2; all++) {
		pthread_t th;

		tp_reset();
		iort_mutex_init(&cv.m);
		iort_cond_init(&cv.c);
		atomic_store(&cv.pred, false);
		int enq = tp_stop_at("cond.enqueued", TAG_W, 0);
		assert_int_equal(pthread_create(&th, NULL, cond_waiter_main, NULL), 0);
		tp_wait_stopped(enq); /* on the cond's queue, holding the mutex */
		atomic_store(&cv.pred, true);
		if (all)
			iort_cond_broadcast(&cv.c);
		else
			iort_cond_signal(&cv.c);
		tp_release(enq);
		tp_wait_hits("test.done", TAG_W, 1);
		assert_int_equal(pthread_join(th, NULL), 0);
		assert_int_equal(iort_cond_fini(&cv.c), 0);
		assert_free(&cv.m);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(head_reparks_under_waker),
		cmocka_unit_test(reserved_for_starving_head),
		cmocka_unit_test(appender_keeps_head_flags),
		cmocka_unit_test(reservation_ends_with_acquisition),
		cmocka_unit_test(timed_head_leaves_as_holder_unlocks),
		cmocka_unit_test(free_right_after_unlock),
		cmocka_unit_test(cond_signal_before_waiter_unlocks),
	};

	tp_install();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
