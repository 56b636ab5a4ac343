/*
 * wait.c's critical windows, driven deterministically through test points (tests/lib/tp.h).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>
#include <pthread.h>

#include <iort/clock.h>
#include <iort/wait.h>

#include "tp.h"

#define HANG_NS (20ull * 1000000000ull)

struct waiter {
	struct iort_waitq *w;
	uint32_t key;
	int ret;
};

static void *wait_thread(void *arg)
{
	struct waiter *a = arg;

	tp_tag(1);
	/* The deadline only turns a lost wake-up into a failure instead of a hang. */
	a->ret = iort_waitq_wait(a->w, a->key, iort_clock_ns() + HANG_NS, NULL);
	return NULL;
}

/* A notify that lands after the waiter checked seq but before it entered futex_wait is not lost:
 * futex_wait sees the moved seq and returns at once. */
static void notify_just_before_sleep(void **state)
{
	struct iort_waitq w;
	struct waiter a;
	pthread_t th;
	int s;

	(void)state;
	tp_reset();
	iort_waitq_init(&w);
	a = (struct waiter){ &w, iort_waitq_prepare(&w), -1 };
	s = tp_stop_at("wait.sleep", 1, 0);
	assert_int_equal(pthread_create(&th, NULL, wait_thread, &a), 0);
	tp_wait_stopped(s);
	iort_waitq_notify_one(&w); /* the waiter announced itself: this bumps seq */
	tp_release(s);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(a.ret, 0);
}

/* --- cancellation ---------------------------------------------------------------------- */

#define TAG_WAITER    1
#define TAG_OTHER     2
#define TAG_CANCELLER 3

struct tok_waiter {
	struct iort_waitq *w;
	struct iort_cancel *c;
	int tag;
	int ret;
	uint32_t seq_after; /* the waitq's seq right after the wait returned */
	_Atomic pid_t tid;
	pthread_t th;
};

static void *tok_wait_thread(void *arg)
{
	struct tok_waiter *a = arg;
	uint32_t key;

	tp_tag(a->tag);
	/* MO relaxed: read by main only after a test-point wait (the tp mutex orders it). */
	atomic_store_explicit(&a->tid, (pid_t)syscall(SYS_gettid), memory_order_relaxed);
	key = iort_waitq_prepare(a->w);
	a->ret = iort_waitq_wait(a->w, key, IORT_DEADLINE_NONE, a->c);
	a->seq_after = iort_waitq_prepare(a->w); /* the current seq, through the public API */
	iort_waitq_cancel(a->w);
	IORT_TP("test.done");
	return NULL;
}

static void start_tok_waiter(struct tok_waiter *a, struct iort_waitq *w, struct iort_cancel *c,
			     int tag)
{
	*a = (struct tok_waiter){ .w = w, .c = c, .tag = tag, .ret = 1 };
	assert_int_equal(pthread_create(&a->th, NULL, tok_wait_thread, a), 0);
}

static void *cancel_thread(void *arg)
{
	tp_tag(TAG_CANCELLER);
	iort_cancel_request(arg);
	return NULL;
}

/* --- one token, many waiters ---------------------------------------------------------- */

#define MANY 6

struct many_waiter {
	struct iort_waitq *w;
	struct iort_cancel *c;
	int ret;
	bool until; /* iort_wait_until instead of the raw wait */
	_Atomic pid_t tid;
	pthread_t th;
};

static bool never(void *ctx)
{
	(void)ctx;
	return false;
}

static void *many_wait_thread(void *arg)
{
	struct many_waiter *m = arg;

	tp_tag(TAG_WAITER);
	/* MO relaxed: read by main only after a test-point wait (the tp mutex orders it). */
	atomic_store_explicit(&m->tid, (pid_t)syscall(SYS_gettid), memory_order_relaxed);
	if (m->until) {
		m->ret = iort_wait_until(m->w, never, NULL, IORT_DEADLINE_NONE, m->c);
	} else {
		do {
			uint32_t key = iort_waitq_prepare(m->w);

			m->ret = iort_waitq_wait(m->w, key, IORT_DEADLINE_NONE, m->c);
		} while (m->ret == 0); /* a wake-up by another waiter's callback: re-wait */
	}
	IORT_TP("test.done");
	return NULL;
}

/* A cancellation that lands after the waiter registered its token but before its checks bumps
 * the waitq; the waiter must report the cancellation, not the wake-up the cancellation caused.
 * The same when a notify also moved seq: cancellation wins, whatever woke the waiter. */
static void cancel_wins_over_its_wakeup(void **state)
{
	for (int notify_too = 0; notify_too < 2; notify_too++) {
		struct iort_waitq w;
		struct iort_cancel c;
		struct tok_waiter a;
		int s;

		(void)state;
		tp_reset();
		iort_waitq_init(&w);
		iort_cancel_init(&c);
		s = tp_stop_at("wait.registered", TAG_WAITER, 0);
		start_tok_waiter(&a, &w, &c, TAG_WAITER);
		tp_wait_stopped(s); /* announced and registered, nothing checked yet */
		if (notify_too)
			iort_waitq_notify_one(&w);
		iort_cancel_request(&c); /* sees the registration: bumps seq */
		tp_release(s);
		assert_int_equal(pthread_join(a.th, NULL), 0);
		assert_int_equal(a.ret, -ECANCELED);
		iort_cancel_fini(&c);
	}
}

/* A cancellation that lands after the waiter's last check, before it enters futex_wait, is not
 * lost: the callback's bump makes futex_wait return at once (a wake alone would be missed). */
static void cancel_just_before_sleep(void **state)
{
	for (int until = 0; until < 2; until++) {
		struct iort_waitq w;
		struct iort_cancel c;
		struct many_waiter m;
		int s;

		(void)state;
		tp_reset();
		iort_waitq_init(&w);
		iort_cancel_init(&c);
		m = (struct many_waiter){ .w = &w, .c = &c, .ret = 1, .until = until };
		s = tp_stop_at("wait.sleep", TAG_WAITER, 0);
		assert_int_equal(pthread_create(&m.th, NULL, many_wait_thread, &m), 0);
		tp_wait_stopped(s); /* checked: not cancelled, seq unmoved */
		iort_cancel_request(&c);
		tp_release(s);
		tp_wait_hits("test.done", TAG_WAITER, 1); /* fails after 60 s if it sleeps on */
		assert_int_equal(pthread_join(m.th, NULL), 0);
		assert_int_equal(m.ret, -ECANCELED);
		iort_cancel_fini(&c);
	}
}

/* A waiter must not return (and let its caller free the waitq) while its canceller still holds
 * the waitq: here the canceller is stopped in the waiter's callback before its bump, the waiter
 * is woken by a notify and sees the cancellation; unregistering its callback must wait for the
 * canceller (cancel.unregister_wait) before the wait returns. */
static void waiter_outwaits_its_canceller(void **state)
{
	struct iort_waitq *w = malloc(sizeof(*w));
	struct iort_cancel c;
	struct tok_waiter a;
	pthread_t k;
	int s;

	(void)state;
	assert_non_null(w);
	tp_reset();
	iort_waitq_init(w);
	iort_cancel_init(&c);
	start_tok_waiter(&a, w, &c, TAG_WAITER);
	tp_wait_hits("wait.sleep", TAG_WAITER, 1);
	s = tp_stop_at("wait.cancel_wake", TAG_CANCELLER, 0);
	assert_int_equal(pthread_create(&k, NULL, cancel_thread, &c), 0);
	tp_wait_stopped(s);	  /* CANCELLED set, the callback holds w, not yet bumped */
	iort_waitq_notify_one(w); /* wakes the waiter, which sees CANCELLED */
	tp_wait_hits("cancel.unregister_wait", TAG_WAITER, 1); /* ... and waits for the callback */
	assert_int_equal(tp_hits("test.done", TAG_WAITER), 0);
	tp_release(s);
	assert_int_equal(pthread_join(k, NULL), 0);
	assert_int_equal(pthread_join(a.th, NULL), 0);
	assert_int_equal(a.ret, -ECANCELED);
	/* the canceller's bump came before the waiter returned: nothing touched w after that */
	assert_int_equal(iort_waitq_prepare(w), a.seq_after);
	iort_waitq_cancel(w);
	free(w);
	iort_cancel_fini(&c);
}

/* Block until thread @p tid sleeps in the kernel on a futex (polls /proc with sched_yield). */
static void wait_in_futex(pid_t tid)
{
	char path[64], buf[64];
	uint64_t until = iort_clock_ns() + (uint64_t)TP_TIMEOUT_S * 1000000000u;

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
		if (iort_clock_ns() > until)
			fail_msg("thread %d never slept on a futex (wchan '%s')", (int)tid, buf);
		sched_yield();
	}
}

struct flag_waiter {
	struct iort_waitq *w;
	_Atomic int flag;
	int ret;
	_Atomic pid_t tid;
	pthread_t th;
};

static bool flag_set(void *ctx)
{
	struct flag_waiter *v = ctx;

	/* MO win_wait.A1 (acquire): pairs with win_wait.R1 in pass_on_swallowed_wakeup(). */
	return atomic_load_explicit(&v->flag, memory_order_acquire) != 0;
}

static void *flag_wait_thread(void *arg)
{
	struct flag_waiter *v = arg;

	tp_tag(TAG_OTHER);
	/* MO relaxed: read by main only after a test-point wait (the tp mutex orders it). */
	atomic_store_explicit(&v->tid, (pid_t)syscall(SYS_gettid), memory_order_relaxed);
	v->ret = iort_wait_until(v->w, flag_set, v, IORT_DEADLINE_NONE, NULL);
	IORT_TP("test.done");
	return NULL;
}

/*
 * A woken waiter that leaves with -ECANCELED passes its wake-up on. A (with a token) sleeps
 * first, V (waiting for a flag, no token) second; the notify for the flag wakes the first sleeper
 * in the futex queue, A; A is stopped there and its token cancelled: the cancellation wakes only
 * A (its own futex bit), so V sleeps on. Released, A must pass the wake-up on to V, which would
 * otherwise sleep for ever next to its flag.
 */
static void pass_on_swallowed_wakeup(void **state)
{
	struct iort_waitq w;
	struct iort_cancel c;
	struct tok_waiter a;
	struct flag_waiter v = { .ret = 1 };
	int s;

	(void)state;
	tp_reset();
	iort_waitq_init(&w);
	iort_cancel_init(&c);
	start_tok_waiter(&a, &w, &c, TAG_WAITER);
	tp_wait_hits("wait.sleep", TAG_WAITER, 1);
	/* MO relaxed: after the tp wait above. */
	wait_in_futex(atomic_load_explicit(&a.tid, memory_order_relaxed));
	v.w = &w;
	assert_int_equal(pthread_create(&v.th, NULL, flag_wait_thread, &v), 0);
	tp_wait_hits("wait.sleep", TAG_OTHER, 1);
	/* MO relaxed: after the tp wait above. */
	wait_in_futex(atomic_load_explicit(&v.tid, memory_order_relaxed));
	s = tp_stop_at("wait.woken", TAG_WAITER, 0);
	/* MO win_wait.R1 (release): pairs with win_wait.A1 in flag_set(). */
	atomic_store_explicit(&v.flag, 1, memory_order_release);
	iort_waitq_notify_one(&w); /* futex_wake(1): the first sleeper, A */
	tp_wait_stopped(s);	   /* A absorbed the wake-up meant for V's flag */
	iort_cancel_request(&c);   /* bumps w, wakes A's bit only: V sleeps on */
	tp_release(s);
	tp_wait_hits("test.done", TAG_OTHER, 1); /* fails after 60 s if V stays asleep */
	assert_int_equal(pthread_join(a.th, NULL), 0);
	assert_int_equal(pthread_join(v.th, NULL), 0);
	assert_int_equal(a.ret, -ECANCELED);
	assert_int_equal(v.ret, 0);
	iort_cancel_fini(&c);
}

/*
 * Any number of threads wait with one token (a child of the token that is cancelled), on two
 * waitqs, asleep in the kernel, with no deadline: one request wakes every one of them, each
 * returns -ECANCELED. (With a token that served one waiter, the others would sleep on.)
 */
static void many_waiters_one_token(void **state)
{
	struct iort_waitq w[2];
	struct iort_cancel root, c;
	struct many_waiter m[MANY];

	(void)state;
	tp_reset();
	iort_waitq_init(&w[0]);
	iort_waitq_init(&w[1]);
	iort_cancel_init(&root);
	iort_cancel_init_child(&c, &root);
	for (int i = 0; i < MANY; i++) {
		m[i] = (struct many_waiter){
			.w = &w[i % 2], .c = &c, .ret = 1, .until = i % 3 == 0
		};
		assert_int_equal(pthread_create(&m[i].th, NULL, many_wait_thread, &m[i]), 0);
	}
	tp_wait_hits("wait.sleep", TAG_WAITER, MANY);
	for (int i = 0; i < MANY; i++)
		/* MO relaxed: after the tp wait above. */
		wait_in_futex(atomic_load_explicit(&m[i].tid, memory_order_relaxed));
	iort_cancel_request(&root);
	tp_wait_hits("test.done", TAG_WAITER, MANY); /* fails after 60 s if one sleeps on */
	for (int i = 0; i < MANY; i++) {
		assert_int_equal(pthread_join(m[i].th, NULL), 0);
		assert_int_equal(m[i].ret, -ECANCELED);
	}
	iort_cancel_fini(&c);
	iort_cancel_fini(&root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(notify_just_before_sleep),
		cmocka_unit_test(cancel_wins_over_its_wakeup),
		cmocka_unit_test(cancel_just_before_sleep),
		cmocka_unit_test(waiter_outwaits_its_canceller),
		cmocka_unit_test(pass_on_swallowed_wakeup),
		cmocka_unit_test(many_waiters_one_token),
	};

	tp_install();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
