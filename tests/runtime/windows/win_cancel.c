/*
 * cancel.c's critical windows, driven deterministically through test points (tests/lib/tp.h):
 * unregister racing a running callback (it must wait, and only for its own), register racing a
 * cancel (on both sides of the lock), fini racing the parent's cancel of the child.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>

#include <iort/cancel.h>

#include "tp.h"

enum { TAG_CANCELLER = 1, TAG_U1, TAG_U2, TAG_REG };

/* A callback that counts its runs, and stops at test.in_cb (a test point of the test's own),
 * and marks its end: an unregister that returned false must see it ended. */
struct rec {
	struct iort_cancel_cb cb;
	_Atomic int runs;
	_Atomic int ended;
};

static void stopping_cb(void *arg)
{
	struct rec *r = arg;

	/* MO relaxed: read after joins or test-point waits, which order it. */
	atomic_fetch_add_explicit(&r->runs, 1, memory_order_relaxed);
	IORT_TP("test.in_cb");
	/* MO relaxed: the unregister that returns false after this synchronizes with the canceller
	 * through the token's lock (cancel.R1 -> cancel.A1). */
	atomic_store_explicit(&r->ended, 1, memory_order_relaxed);
}

static int runs(struct rec *r)
{
	/* MO relaxed: see stopping_cb(). */
	return atomic_load_explicit(&r->runs, memory_order_relaxed);
}

struct job {
	int tag;
	struct iort_cancel *c;
	struct iort_cancel *parent; /* fini_thread: made a child of it */
	struct rec *r;
	int ret;
	bool ended_at_return; /* unregister returned false: had the callback ended? */
	pthread_t th;
};

static void *request_thread(void *arg)
{
	struct job *j = arg;

	tp_tag(j->tag);
	iort_cancel_request(j->c);
	IORT_TP("test.requested");
	return NULL;
}

static void *unregister_thread(void *arg)
{
	struct job *j = arg;

	tp_tag(j->tag);
	j->ret = iort_cancel_unregister(j->c, &j->r->cb);
	/* MO relaxed: see stopping_cb(). */
	j->ended_at_return = atomic_load_explicit(&j->r->ended, memory_order_relaxed);
	IORT_TP("test.unregistered");
	return NULL;
}

static void *register_thread(void *arg)
{
	struct job *j = arg;

	tp_tag(j->tag);
	j->ret = iort_cancel_register(j->c, &j->r->cb, stopping_cb, j->r);
	IORT_TP("test.registered");
	return NULL;
}

static void *fini_thread(void *arg)
{
	struct job *j = arg;

	tp_tag(j->tag);
	iort_cancel_fini(j->c);
	IORT_TP("test.finied");
	return NULL;
}

static void start(struct job *j, void *(*fn)(void *))
{
	assert_int_equal(pthread_create(&j->th, NULL, fn, j), 0);
}

static void join(struct job *j)
{
	assert_int_equal(pthread_join(j->th, NULL), 0);
}

/* Unregister finds its callback running in the canceller: it must not return (its caller could
 * free the callback's argument) until the callback has returned. */
static void unregister_waits_for_running(void **state)
{
	struct iort_cancel c;
	struct rec r = { 0 };
	struct job k = { .tag = TAG_CANCELLER, .c = &c }, u = { .tag = TAG_U1, .c = &c, .r = &r };
	int s;

	(void)state;
	tp_reset();
	iort_cancel_init(&c);
	assert_int_equal(iort_cancel_register(&c, &r.cb, stopping_cb, &r), 0);
	s = tp_stop_at("test.in_cb", TAG_CANCELLER, 0);
	start(&k, request_thread);
	tp_wait_stopped(s); /* the callback is running */
	start(&u, unregister_thread);
	tp_wait_hits("cancel.unregister_wait", TAG_U1, 1);
	assert_int_equal(tp_hits("test.unregistered", TAG_U1), 0);
	tp_release(s);
	join(&k);
	join(&u);
	assert_false(u.ret);
	assert_true(u.ended_at_return);
	assert_int_equal(runs(&r), 1);
	iort_cancel_fini(&c);
}

/*
 * Two unregisters, each for its own callback: U1 waits for cb1 and is stopped just before it
 * sleeps; cb1 returns, the canceller runs cb2 (stopped inside), U2 waits for cb2. Released, U1
 * must return: its callback is done, even though the token again has a waiter for a running
 * callback (a wake word that did not change between U1's look and its sleep would keep U1
 * asleep until cb2 returns).
 */
static void unregister_waits_only_for_its_own(void **state)
{
	struct iort_cancel c;
	struct rec r1 = { 0 }, r2 = { 0 }, *first, *second;
	struct job k = { .tag = TAG_CANCELLER, .c = &c };
	struct job u1 = { .tag = TAG_U1, .c = &c }, u2 = { .tag = TAG_U2, .c = &c };
	int s_cb1, s_u1, s_cb2;

	(void)state;
	tp_reset();
	iort_cancel_init(&c);
	assert_int_equal(iort_cancel_register(&c, &r1.cb, stopping_cb, &r1), 0);
	assert_int_equal(iort_cancel_register(&c, &r2.cb, stopping_cb, &r2), 0);
	s_cb1 = tp_stop_at("test.in_cb", TAG_CANCELLER, 0);
	start(&k, request_thread);
	tp_wait_stopped(s_cb1);
	/* the order callbacks run in is not promised: see which one runs first */
	first = runs(&r1) ? &r1 : &r2;
	second = first == &r1 ? &r2 : &r1;
	u1.r = first;
	u2.r = second;
	s_u1 = tp_stop_at("cancel.unregister_wait", TAG_U1, 0);
	start(&u1, unregister_thread);
	tp_wait_stopped(s_u1); /* U1 set WAITER and unlocked; not asleep yet */
	s_cb2 = tp_stop_at("test.in_cb", TAG_CANCELLER, 0);
	tp_release(s_cb1);
	tp_wait_stopped(s_cb2); /* the first callback returned, the second runs */
	start(&u2, unregister_thread);
	tp_wait_hits("cancel.unregister_wait", TAG_U2, 1);
	tp_release(s_u1);
	tp_wait_hits("test.unregistered", TAG_U1, 1); /* fails after 60 s if U1 sleeps on */
	assert_int_equal(tp_hits("test.unregistered", TAG_U2), 0);
	tp_release(s_cb2);
	join(&k);
	join(&u1);
	join(&u2);
	assert_false(u1.ret);
	assert_false(u2.ret);
	assert_true(u1.ended_at_return);
	assert_true(u2.ended_at_return);
	assert_int_equal(runs(&r1), 1);
	assert_int_equal(runs(&r2), 1);
	iort_cancel_fini(&c);
}

/* A register that saw the token live (without the lock) and lost the race to a request: it must
 * see the cancellation under the lock, run the callback itself, and register nothing. */
static void register_loses_to_request(void **state)
{
	struct iort_cancel c;
	struct rec r = { 0 };
	struct job g = { .tag = TAG_REG, .c = &c, .r = &r }, k = { .tag = TAG_CANCELLER, .c = &c };
	int s;

	(void)state;
	tp_reset();
	iort_cancel_init(&c);
	s = tp_stop_at("cancel.register", TAG_REG, 0);
	start(&g, register_thread);
	tp_wait_stopped(s);
	start(&k, request_thread);
	join(&k); /* the request is over: it saw no callback */
	assert_int_equal(runs(&r), 0);
	tp_release(s);
	join(&g);
	assert_int_equal(g.ret, -ECANCELED);
	assert_int_equal(runs(&r), 1);
	assert_int_equal(tp_hits("test.in_cb", TAG_REG), 1); /* in the registering thread */
	iort_cancel_fini(&c);
}

/* A register (and a child made) while the request runs the callbacks: cancelled already, so the
 * callback runs at once in the registering thread and the child starts cancelled; neither is
 * run again by the request. */
static void register_during_request(void **state)
{
	struct iort_cancel c, child;
	struct rec r0 = { 0 }, r = { 0 };
	struct job g = { .tag = TAG_REG, .c = &c, .r = &r }, k = { .tag = TAG_CANCELLER, .c = &c };
	int s;

	(void)state;
	tp_reset();
	iort_cancel_init(&c);
	assert_int_equal(iort_cancel_register(&c, &r0.cb, stopping_cb, &r0), 0);
	s = tp_stop_at("test.in_cb", TAG_CANCELLER, 0);
	start(&k, request_thread);
	tp_wait_stopped(s); /* r0 running, the token's lock free */
	start(&g, register_thread);
	tp_wait_hits("test.registered", TAG_REG, 1); /* the lock is not held while r0 runs */
	join(&g);
	assert_int_equal(g.ret, -ECANCELED);
	assert_int_equal(tp_hits("test.in_cb", TAG_REG), 1);
	iort_cancel_init_child(&child, &c);
	assert_true(iort_cancel_requested(&child));
	tp_release(s);
	join(&k);
	assert_int_equal(runs(&r0), 1);
	assert_int_equal(runs(&r), 1);
	iort_cancel_fini(&child);
	iort_cancel_fini(&c);
}

/* fini of a child while its parent's request runs the child's link (cancelling it): fini must
 * wait, so that afterwards the parent never touches the child. */
static void fini_waits_for_parent_cancel(void **state)
{
	struct iort_cancel parent, child;
	struct job k = { .tag = TAG_CANCELLER, .c = &parent }, f = { .tag = TAG_U1, .c = &child };
	int s;

	(void)state;
	tp_reset();
	iort_cancel_init(&parent);
	iort_cancel_init_child(&child, &parent);
	s = tp_stop_at("cancel.running", TAG_CANCELLER, 0); /* the link: parent's only callback */
	start(&k, request_thread);
	tp_wait_stopped(s);
	assert_false(iort_cancel_requested(&child)); /* the link has not run yet */
	start(&f, fini_thread);
	tp_wait_hits("cancel.unregister_wait", TAG_U1, 1);
	assert_int_equal(tp_hits("test.finied", TAG_U1), 0);
	tp_release(s);
	join(&f);
	assert_true(iort_cancel_requested(&child)); /* the link ran before fini returned */
	join(&k);
	iort_cancel_fini(&parent);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(unregister_waits_for_running),
		cmocka_unit_test(unregister_waits_only_for_its_own),
		cmocka_unit_test(register_loses_to_request),
		cmocka_unit_test(register_during_request),
		cmocka_unit_test(fini_waits_for_parent_cancel),
	};

	tp_install();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
