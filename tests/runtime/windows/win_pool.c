/*
 * The pool's critical windows, driven through test points:
 * - a wake that lands while the poll is returning pending (pool.pend) re-queues the task after
 *   that poll: not lost, not polled twice at once;
 * - a worker on the sleeper list about to sleep (pool.parking) when new work arrives: the notify
 *   that picks it is not lost;
 * - a worker joining a task has set JOINWAIT and is about to sleep (pool.joinwait) when the task
 *   completes: the completion wakes it;
 * - done() has run and COMPLETE is not yet set (pool.complete): the task is not done yet, and
 *   join returns only after both.
 * Each would hang without its protocol; every wait here gives up with a failure after 60 s.
 */
#include <iort/clock.h>
#include <iort/pool.h>

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tp.h"

/* Spin until @p cond holds, failing after TP_TIMEOUT_S. */
#define WAIT_FOR(cond)                                                            \
	do {                                                                      \
		uint64_t until_ = iort_clock_ns() + TP_TIMEOUT_S * 1000000000ull; \
		while (!(cond))                                                   \
			if (iort_clock_ns() > until_)                             \
				fail_msg("timed out waiting for %s", #cond);      \
	} while (0)

struct fut {
	_Atomic unsigned polls;
	_Atomic int in_poll;
	_Atomic int overlap;
	_Atomic(struct iort_waker *) waker;
};

/* Pending on the first poll (keeps a clone of its waker), ready on the second. */
static enum iort_poll two_polls(void *arg, struct iort_waker *w)
{
	struct fut *f = arg;

	tp_tag(1);
	if (atomic_exchange(&f->in_poll, 1) != 0)
		atomic_store(&f->overlap, 1);
	unsigned n = atomic_fetch_add(&f->polls, 1) + 1;
	if (n == 1)
		atomic_store(&f->waker, iort_waker_clone(w));
	atomic_store(&f->in_poll, 0);
	return n >= 2 ? IORT_READY : IORT_PENDING;
}

static void wake_during_pend_requeues(void **state)
{
	struct iort_pool_config cfg = { .workers = 2 };
	struct iort_pool *p;
	struct fut f = { 0 };
	struct iort_spawn opt = { .poll = two_polls, .arg = &f };
	struct iort_task *t;

	(void)state;
	tp_reset();
	int s = tp_stop_at("pool.pend", 1, 0);
	assert_int_equal(iort_pool_create(&cfg, &p), 0);
	assert_int_equal(iort_pool_spawn_ex(p, &opt, &t), 0);
	tp_wait_stopped(s); /* the poll returned pending; the state still says RUNNING */
	iort_waker_wake(atomic_load(&f.waker));
	assert_int_equal(atomic_load(&f.polls), 1); /* the wake only noted it */
	tp_release(s);
	assert_int_equal(iort_task_join(t), 0);
	assert_int_equal(atomic_load(&f.polls), 2);
	assert_int_equal(atomic_load(&f.overlap), 0);
	iort_pool_destroy(p);
}

static void bump(void *arg)
{
	atomic_fetch_add((_Atomic unsigned *)arg, 1);
}

static void notify_reaches_a_worker_about_to_sleep(void **state)
{
	struct iort_pool_config cfg = { .workers = 1, .spin_ns = 1 };
	struct iort_pool *p;
	_Atomic unsigned n = 0;

	(void)state;
	tp_reset();
	int s = tp_stop_at("pool.parking", TP_ANY, 0);
	assert_int_equal(iort_pool_create(&cfg, &p), 0);
	tp_wait_stopped(s); /* on the sleeper list, not asleep */
	assert_int_equal(iort_pool_submit(p, bump, &n), 0);
	tp_release(s);
	WAIT_FOR(atomic_load(&n) == 1);
	struct iort_pool_metrics m;
	iort_pool_metrics(p, &m);
	assert_true(m.unparks >= 1);
	iort_pool_destroy(p);
}

/* The child blocks on a gate the test opens; the parent joins it from a worker. */
struct family {
	struct iort_pool *p;
	_Atomic int child_in, child_go, parent_done;
	int join_ret;
};

static void child(void *arg)
{
	struct family *f = arg;

	atomic_store(&f->child_in, 1);
	while (!atomic_load(&f->child_go))
		;
}

static void parent(void *arg)
{
	struct family *f = arg;
	struct iort_task *t;

	tp_tag(2);
	if (iort_pool_spawn(f->p, child, f, &t) != 0)
		abort();
	while (!atomic_load(&f->child_in)) /* another worker took it: it cannot run inline */
		;
	f->join_ret = iort_task_join(t);
	atomic_store(&f->parent_done, 1);
}

static void completion_wakes_a_joiner_about_to_sleep(void **state)
{
	struct iort_pool_config cfg = { .workers = 2, .spin_ns = 1 };
	struct iort_pool *p;
	struct family f = { 0 };

	(void)state;
	tp_reset();
	int s = tp_stop_at("pool.joinwait", 2, 0);
	assert_int_equal(iort_pool_create(&cfg, &f.p), 0);
	p = f.p;
	assert_int_equal(iort_pool_submit(p, parent, &f), 0);
	tp_wait_stopped(s); /* JOINWAIT set, not asleep */
	atomic_store(&f.child_go, 1);
	/* The child completes, sees JOINWAIT and wakes the parent's worker before it sleeps. */
	tp_release(s);
	WAIT_FOR(atomic_load(&f.parent_done));
	assert_int_equal(f.join_ret, 0);
	iort_pool_destroy(p);
}

static _Atomic int done_ran;

static void mark_done(void *arg, int status)
{
	(void)arg;
	atomic_store(&done_ran, status + 1);
}

static void tagged_bump(void *arg)
{
	tp_tag(3);
	bump(arg);
}

static void done_runs_before_complete(void **state)
{
	struct iort_pool_config cfg = { .workers = 1 };
	struct iort_pool *p;
	_Atomic unsigned n = 0;
	struct iort_spawn opt = { .fn = tagged_bump, .arg = (void *)&n, .done = mark_done };
	struct iort_task *t;

	(void)state;
	tp_reset();
	int s = tp_stop_at("pool.complete", 3, 0);
	assert_int_equal(iort_pool_create(&cfg, &p), 0);
	assert_int_equal(iort_pool_spawn_ex(p, &opt, &t), 0);
	tp_wait_stopped(s);
	assert_int_equal(atomic_load(&done_ran), 1);
	assert_false(iort_task_done(t));
	tp_release(s);
	assert_int_equal(iort_task_join(t), 0);
	assert_int_equal(atomic_load(&n), 1);
	iort_pool_destroy(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(wake_during_pend_requeues),
		cmocka_unit_test(notify_reaches_a_worker_about_to_sleep),
		cmocka_unit_test(completion_wakes_a_joiner_about_to_sleep),
		cmocka_unit_test(done_runs_before_complete),
	};

	tp_install();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
