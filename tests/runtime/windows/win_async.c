/*
 * async.c's alarm record (invariants I1-I3), driven through test points (tests/lib/tp.h): the
 * timer's callback on the loop and the future's teardown on another thread race for the record.
 *  (a) the teardown wins (the callback is stopped at async.fire, before its CAS): the teardown
 *      drops the record's waker and posts the timer's cancel; the callback then loses its CAS and
 *      only drops the loop's reference; the post finds the timer fired and drops its own.
 *  (b) the callback wins (the teardown is stopped at async.teardown, the callback released
 *      after it): the callback wakes with the record's waker; the teardown loses its CAS and
 *      posts nothing.
 * Either way the record is freed exactly once (ASan), the waker released exactly once, and the
 * live-record count returns to zero. The teardown runs on a helper thread: the pool's cancel of
 * an idle task finishes it there, and its done() drops the future (tests/runtime/unit/test_async.c
 * has the same shape). Each test names the mutants of tests/mutation/async.json it kills.
 */
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <pthread.h>

#include <iort/async.h>
#include <iort/cancel.h>
#include <iort/clock.h>
#include <iort/pool.h>
#include <iort/reactor.h>

#include "async-private.h"
#include "tp.h"

#define TAG_WORKER 0 /* pool threads keep the default tag */
#define TAG_MAIN   1
#define TAG_HELPER 2

struct sleeper {
	struct iort_async f;
	uint64_t deadline;
	bool started;
	int result;
	_Atomic int pending, finished;
};

static enum iort_poll sleeper_poll(void *arg, struct iort_waker *w)
{
	struct sleeper *s = arg;

	if (!s->started) {
		s->started = true;
		iort_async_sleep(&s->f, s->deadline, NULL);
	}
	int r = iort_async_poll(&s->f, w);
	if (r == IORT_PENDING) {
		atomic_store(&s->pending, 1);
		return IORT_PENDING;
	}
	s->result = r;
	iort_async_fini(&s->f);
	atomic_store(&s->finished, 1);
	return IORT_READY;
}

static void sleeper_done(void *arg, int status)
{
	struct sleeper *s = arg;

	if (status != 0)
		iort_async_fini(&s->f); /* dropped while pending: the teardown */
}

static void *cancel_main(void *arg)
{
	tp_tag(TAG_HELPER);
	iort_cancel_request(arg);
	IORT_TP("test.done");
	return NULL;
}

static void wait_no_alarms(void)
{
	while (iort__async_alarms_live() != 0)
		sched_yield(); /* the loop runs the post: bounded by TP_TIMEOUT_S elsewhere */
}

static void run(bool teardown_first)
{
	struct iort_pool_config pc = { .workers = 1 };
	struct iort_pool *p = NULL;
	struct iort_cancel c;
	struct sleeper s = { 0 };
	struct iort_task *h = NULL;
	pthread_t th;

	tp_reset();
	tp_tag(TAG_MAIN);
	iort_cancel_init(&c);
	assert_int_equal(iort_loop_pool_create(&pc, NULL, &p), 0);
	int fire = tp_stop_at("async.fire", TAG_WORKER, 0);
	int down = teardown_first ? -1 : tp_stop_at("async.teardown", TAG_HELPER, 0);
	struct iort_spawn opt = {
		.poll = sleeper_poll, .arg = &s, .done = sleeper_done, .cancel = &c
	};
	for (int k = 0;; k++) {
		/* the deadline must come after the first poll: on a stalled machine, try longer */
		assert_true(k < 8);
		s = (struct sleeper){ .deadline = iort_clock_ns() + (2000000ull << k) };
		assert_int_equal(iort_pool_spawn_ex(p, &opt, &h), 0);
		while (!atomic_load(&s.pending) && !atomic_load(&s.finished))
			sched_yield();
		if (atomic_load(&s.pending))
			break;
		assert_int_equal(iort_task_join(h), 0);
		assert_int_equal(s.result, 0); /* slept past a deadline that came too soon */
	}
	assert_int_equal(iort__async_alarms_live(), 1);
	if (teardown_first) {
		tp_wait_stopped(fire); /* the deadline came: the callback is before its CAS */
		assert_int_equal(pthread_create(&th, NULL, cancel_main, &c), 0);
		tp_wait_hits("test.done", TAG_HELPER, 1); /* teardown done: CAS won, post queued */
		assert_int_equal(tp_hits("async.cancel_post", TAG_WORKER), 0);
		tp_release(fire);
	} else {
		tp_wait_stopped(fire); /* the deadline came; the task is still idle */
		assert_int_equal(pthread_create(&th, NULL, cancel_main, &c), 0);
		tp_wait_stopped(down); /* the teardown is before its CAS */
		tp_release(fire);
		tp_wait_hits("async.fired", TAG_WORKER, 1); /* the callback's CAS won */
		tp_release(down);
		tp_wait_hits("test.done", TAG_HELPER, 1);
	}
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(iort_task_join(h), -ECANCELED);
	wait_no_alarms();
	assert_int_equal(tp_hits("async.cancel_post", TAG_WORKER), teardown_first ? 1 : 0);
	iort_pool_destroy(p);
	iort_cancel_fini(&c);
	assert_int_equal(iort__async_alarms_live(), 0);
}

/* (a) Kills: async-fire-ignores-cas, async-post-unrefs-fired. */
static void teardown_beats_fire(void **state)
{
	(void)state;
	run(true);
}

/* (b) Kills: async-teardown-ignores-cas. */
static void fire_beats_teardown(void **state)
{
	(void)state;
	run(false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(teardown_beats_fire),
		cmocka_unit_test(fire_beats_teardown),
	};

	tp_install();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
