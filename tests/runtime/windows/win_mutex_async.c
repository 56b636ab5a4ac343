/*
 * The hand-off to asynchronous records (mutex.c, invariants A1-A4), driven deterministically
 * through test points (tests/lib/tp.h; the points are listed in the header comment of
 * runtime/src/sync/mutex.c):
 *  (a) a record queueing into an empty queue while the holder unlocks under its queue lock;
 *  (b) a thread at the head timing out while the lock is released under it, a record behind it;
 *  (c) the unlocker between its release of the queue lock and its GRANTED: the record's owner
 *      must not see the mutex as its own yet, and a cancel landing there waits for GRANTED.
 * A stranded record fails wait_grant() after GRANT_TIMEOUT_S. Each test names the mutants of
 * tests/mutation/mutex.json it kills.
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
#include <time.h>

#include <cmocka.h>
#include <pthread.h>

#include <iort/clock.h>
#include <iort/mutex.h>

#include "tp.h"

#define TAG_HOLDER 1
#define TAG_W	   2 /* a thread waiter */
#define TAG_A	   3 /* the thread queueing or cancelling a record */

#define GRANT_TIMEOUT_S 20

/* White box: the mutex's word (runtime/src/sync/mutex.c), to check a test's premise. */
#define W_LOCKED   ((uintptr_t)1)
#define W_PARKED   ((uintptr_t)8)
#define W_CFG_MASK (~(uintptr_t)0 << 48)

static uintptr_t word_of(struct iort_mutex *m)
{
	return atomic_load((_Atomic uintptr_t *)(void *)&m->iort_private_word);
}

/* --- a record and its grant -------------------------------------------------------------- */

struct rec {
	struct iort_mutex_waiter w;
	_Atomic int grants;
	sem_t sem;
};

static void on_grant(void *arg)
{
	struct rec *r = arg;

	atomic_fetch_add(&r->grants, 1);
	sem_post(&r->sem);
}

static void rec_init(struct rec *r)
{
	atomic_store(&r->grants, 0);
	assert_int_equal(sem_init(&r->sem, 0, 0), 0);
}

static void wait_grant(struct rec *r)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += GRANT_TIMEOUT_S;
	while (sem_timedwait(&r->sem, &ts) != 0) {
		if (errno == ETIMEDOUT)
			fail_msg("a queued record was never handed the mutex");
	}
}

/* --- the holder: locks, then unlocks when told ---------------------------------------------- */

struct holder {
	struct iort_mutex *m;
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
	IORT_TP("test.done");
	return NULL;
}

static void start_holder(struct holder *h, struct iort_mutex *m)
{
	*h = (struct holder){ .m = m };
	assert_int_equal(sem_init(&h->held, 0, 0), 0);
	assert_int_equal(sem_init(&h->go, 0, 0), 0);
	assert_int_equal(pthread_create(&h->th, NULL, holder_main, h), 0);
	while (sem_wait(&h->held) != 0)
		;
}

static void holder_release(struct holder *h)
{
	sem_post(&h->go);
	assert_int_equal(pthread_join(h->th, NULL), 0);
	sem_destroy(&h->held);
	sem_destroy(&h->go);
}

/* --- a thread that queues a record, or cancels one ------------------------------------------ */

struct async_call {
	struct iort_mutex *m;
	struct rec *r;
	bool cancel;
	int ret;     /* lock: 1 locked at once, 0 queued; cancel: 1 true, 0 false */
	int granted; /* cancel: iort_mutex_waiter_granted() right after it returned */
	pthread_t th;
};

static void *async_main(void *arg)
{
	struct async_call *c = arg;

	tp_tag(TAG_A);
	if (c->cancel) {
		c->ret = iort_mutex_lock_async_cancel(c->m, &c->r->w) ? 1 : 0;
		c->granted = iort_mutex_waiter_granted(&c->r->w) ? 1 : 0;
	} else {
		c->ret = iort_mutex_lock_async(c->m, &c->r->w, on_grant, c->r) ? 1 : 0;
	}
	IORT_TP("test.done");
	return NULL;
}

static void start_async(struct async_call *c, struct iort_mutex *m, struct rec *r, bool cancel)
{
	*c = (struct async_call){ .m = m, .r = r, .cancel = cancel, .ret = -1, .granted = -1 };
	assert_int_equal(pthread_create(&c->th, NULL, async_main, c), 0);
}

static int join_async(struct async_call *c)
{
	tp_wait_hits("test.done", TAG_A, 1);
	assert_int_equal(pthread_join(c->th, NULL), 0);
	return c->ret;
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
 * (a) A record queues into an empty queue: it took the queue lock with the mutex held (stopped
 * at mutex.async_qlocked). The holder unlocks now: with no PARKED set it does not wait for the
 * queue lock, and the mutex is free. The record must take it (lock_async returns true), not
 * queue with PARKED next to a free mutex that no unlock will hand over.
 * Kills: mutex-async-first-ignores-unlock.
 */
static void first_record_races_unlock(void **state)
{
	struct iort_mutex m;
	struct holder h;
	struct async_call c;
	struct rec r;

	(void)state;
	tp_reset();
	rec_init(&r);
	iort_mutex_init(&m);
	start_holder(&h, &m);
	int q = tp_stop_at("mutex.async_qlocked", TAG_A, 0);
	start_async(&c, &m, &r, false);
	tp_wait_stopped(q);
	holder_release(&h); /* unlocks under the record's queue lock */
	assert_false(word_of(&m) & W_LOCKED);
	tp_release(q);
	assert_int_equal(join_async(&c), 1); /* took the free mutex itself */
	assert_int_equal(atomic_load(&r.grants), 0);
	iort_mutex_unlock_async(&m);
	assert_free(&m);
	sem_destroy(&r.sem);
}

/* A timed thread waiter that records when it queued. */
struct timed {
	struct iort_mutex *m;
	uint64_t deadline;
	int ret;
	pthread_t th;
};

static void *timed_main(void *arg)
{
	struct timed *t = arg;

	tp_tag(TAG_W);
	t->ret = iort_mutex_lock_timed(t->m, t->deadline);
	if (t->ret == 0)
		iort_mutex_unlock(t->m);
	IORT_TP("test.done");
	return NULL;
}

/* Block until the timed waiter queued (mutex.enqueued) or returned. @return true when queued. */
static bool queued_or_done(void)
{
	struct timespec until = tp_deadline();
	bool queued;

	pthread_mutex_lock(&tp_state.mu);
	for (;;) {
		queued = tp_count_slot("mutex.enqueued", TAG_W)->n > 0;
		if (queued || tp_count_slot("test.done", TAG_W)->n > 0)
			break;
		tp_cond_wait(&until, "waiting for a timed locker to queue or return", "");
	}
	pthread_mutex_unlock(&tp_state.mu);
	return queued;
}

/*
 * (b) A thread W (timed) is the head, a record queues behind it. W's deadline passes; it takes
 * the queue lock with the mutex held (stopped at mutex.leave_qlocked) and the holder unlocks: W
 * never parked, so the unlock does not wait for the queue lock and the mutex is free. W leaves
 * (-ETIMEDOUT) and must hand the free mutex to the record, since no unlock will.
 * Kills: mutex-leave-treats-record-as-thread, mutex-async-head-always-parked.
 */
static void timed_head_leaves_record_behind(void **state)
{
	struct iort_mutex m;
	struct holder h;
	struct timed w;
	struct async_call c;
	struct rec r;
	uint64_t dl = 0;

	(void)state;
	tp_reset();
	rec_init(&r);
	iort_mutex_init(&m);
	start_holder(&h, &m);
	int enq = tp_stop_at("mutex.enqueued", TAG_W, 0);
	for (int k = 0;; k++) {
		assert_true(k < 8);
		dl = iort_clock_ns() + (20000000ull << k);
		w = (struct timed){ .m = &m, .deadline = dl, .ret = 1 };
		assert_int_equal(pthread_create(&w.th, NULL, timed_main, &w), 0);
		if (queued_or_done())
			break;
		tp_wait_hits("test.done", TAG_W, 1);
		assert_int_equal(pthread_join(w.th, NULL), 0);
		assert_int_equal(w.ret, -ETIMEDOUT); /* gave up unqueued: retry, longer */
		tp_reset();
		enq = tp_stop_at("mutex.enqueued", TAG_W, 0);
	}
	tp_wait_stopped(enq); /* W: the head */
	start_async(&c, &m, &r, false);
	assert_int_equal(join_async(&c), 0); /* queued behind W */
	while (iort_clock_ns() <= dl)
		sched_yield(); /* W's deadline passes while it is stopped */
	int leave = tp_stop_at("mutex.leave_qlocked", TAG_W, 0);
	tp_release(enq);
	tp_wait_stopped(leave);
	assert_true(word_of(&m) & W_LOCKED);
	assert_false(word_of(&m) & W_PARKED); /* the premise: W never parked */
	holder_release(&h);
	assert_false(word_of(&m) & W_LOCKED); /* freed under W's queue lock */
	tp_release(leave);
	tp_wait_hits("test.done", TAG_W, 1);
	assert_int_equal(pthread_join(w.th, NULL), 0);
	assert_int_equal(w.ret, -ETIMEDOUT);
	wait_grant(&r);
	assert_true(iort_mutex_waiter_granted(&r.w));
	assert_true(word_of(&m) & W_LOCKED);
	iort_mutex_unlock_async(&m);
	assert_free(&m);
	sem_destroy(&r.sem);
}

/*
 * (c) The unlocker hands the mutex to a record and is stopped at mutex.handing: it released the
 * queue lock, the record is unlinked, GRANTED is not yet stored. The record's owner must not see
 * the mutex as its own yet (it could unlock and free the mutex under an unlocker that still holds
 * its queue lock). A cancel landing now finds the record handed (false) and must not return
 * before the unlocker's last touch of the record: when it returns, GRANTED is visible.
 * Kills: mutex-granted-under-qlock, mutex-cancel-no-wait.
 */
static void cancel_during_handing(void **state)
{
	struct iort_mutex m;
	struct holder h;
	struct async_call c;
	struct rec r;

	(void)state;
	tp_reset();
	rec_init(&r);
	iort_mutex_init(&m);
	start_holder(&h, &m);
	assert_false(iort_mutex_lock_async(&m, &r.w, on_grant, &r));
	int hand = tp_stop_at("mutex.handing", TAG_HOLDER, 0);
	sem_post(&h.go);
	tp_wait_stopped(hand);
	assert_false(iort_mutex_waiter_granted(&r.w));
	assert_true(word_of(&m) & W_LOCKED); /* handed, not free */
	start_async(&c, &m, &r, true);
	tp_wait_hits("mutex.async_cancel_handed", TAG_A, 1); /* found it handed; waits */
	tp_release(hand);
	assert_int_equal(join_async(&c), 0);
	assert_int_equal(c.granted, 1);
	assert_int_equal(pthread_join(h.th, NULL), 0);
	sem_destroy(&h.held);
	sem_destroy(&h.go);
	wait_grant(&r); /* the callback ran once */
	assert_int_equal(atomic_load(&r.grants), 1);
	iort_mutex_unlock_async(&m);
	assert_free(&m);
	sem_destroy(&r.sem);
}

/*
 * (d) The record's owner frees the mutex as soon as it sees its grant and unlocks (heap: ASan sees
 * any later touch by the unlocker). Kills (under ASan): mutex-granted-under-qlock.
 */
static void free_right_after_grant(void **state)
{
	struct iort_mutex *m = malloc(sizeof(*m));
	struct holder h;
	struct rec r;

	(void)state;
	assert_non_null(m);
	tp_reset();
	rec_init(&r);
	iort_mutex_init(m);
	start_holder(&h, m);
	assert_false(iort_mutex_lock_async(m, &r.w, on_grant, &r));
	int hand = tp_stop_at("mutex.handing", TAG_HOLDER, 0);
	sem_post(&h.go);
	tp_wait_stopped(hand);
	if (iort_mutex_waiter_granted(&r.w)) { /* only a broken hand-off shows it this early */
		iort_mutex_unlock_async(m);
		free(m);
		tp_release(hand);
		assert_int_equal(pthread_join(h.th, NULL), 0);
		fail_msg("granted before the unlocker's last touch of the mutex");
	}
	tp_release(hand);
	assert_int_equal(pthread_join(h.th, NULL), 0);
	wait_grant(&r);
	iort_mutex_unlock_async(m);
	free(m);
	sem_destroy(&h.held);
	sem_destroy(&h.go);
	sem_destroy(&r.sem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(first_record_races_unlock),
		cmocka_unit_test(timed_head_leaves_record_behind),
		cmocka_unit_test(cancel_during_handing),
		cmocka_unit_test(free_right_after_grant),
	};

	tp_install();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
