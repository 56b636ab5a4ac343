/*
 * segq.c's critical windows, driven deterministically through test points (tests/lib/tp.h).
 * Each test runs in a fresh process state for the hazard registry: keep one test per file or
 * mind the order of the records (newest first).
 */
#include <sched.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <pthread.h>

#include <iort/segq.h>

#include "tp.h"

#define ITEM(i) ((void *)(uintptr_t)(i))

enum { TAG_LINKER = 1, TAG_LATE = 2, TAG_RECYCLER = 3 };

struct pusher {
	struct iort_segq *q;
	void *item;
	int tag, ret;
	atomic_int ready, go; /* TAG_LATE: warmed up / may push */
};

static void *push_thread(void *arg)
{
	struct pusher *a = arg;

	tp_tag(a->tag);
	a->ret = iort_segq_push(a->q, a->item);
	return NULL;
}

/* Joins the hazard registry first (on a scratch queue), then pushes when told to. */
static void *late_push_thread(void *arg)
{
	struct pusher *a = arg;
	struct iort_segq *scratch;
	void *v;

	tp_tag(a->tag);
	if (iort_segq_create(2, &scratch) || iort_segq_push(scratch, NULL) ||
	    !iort_segq_try_pop(scratch, &v))
		abort();
	iort_segq_destroy(scratch);
	atomic_store(&a->ready, 1);
	while (!atomic_load(&a->go))
		sched_yield();
	a->ret = iort_segq_push(a->q, a->item);
	return NULL;
}

struct popper {
	struct iort_segq *q;
	void *got[3];
	bool ok[3];
};

static void *recycle_thread(void *arg)
{
	struct popper *a = arg;

	tp_tag(TAG_RECYCLER);
	for (int i = 0; i < 3; i++)
		a->ok[i] = iort_segq_try_pop(a->q, &a->got[i]);
	return NULL;
}

static void *pop_one(struct iort_segq *q)
{
	void *p = NULL;

	assert_true(iort_segq_try_pop(q, &p));
	return p;
}

static void wait_flag(atomic_int *flag)
{
	while (!atomic_load(flag))
		sched_yield();
}

/*
 * I2, the consumers' tail swing. Segments A, B of 2 slots. Producer P links A->next = B and stops
 * before swinging q->tail (it holds A under its hazard). Consumer R pops A's two items, retires A
 * and recycles the spare; its hazard scan reads T's slot (empty: T has not started) and stops.
 * T protects q->tail and stops. P swings the tail to B, pushes into B and leaves (its slot is
 * empty). R reads P's slot: nobody holds A, which R resets as free. T goes on with what it
 * protected. With the swing, R moved q->tail to B before retiring A, so T holds B and its item
 * lands after P's. Without it, T protected A through q->tail (still A), validated it, and now
 * claims a slot in a free segment no list leads to: its push returns 0 and the item is lost.
 * Records are scanned newest first: R's, T's, P's, the main thread's.
 */
static void tail_swing_keeps_late_producer_off_free_segment(void **state)
{
	struct pusher p = { 0 }, t = { 0 };
	struct popper r = { 0 };
	pthread_t thp, tht, thr;
	void *v;
	int sp, st, sr;

	(void)state;
	tp_reset();
	assert_int_equal(iort_segq_create(2, &p.q), 0);
	t.q = r.q = p.q;
	assert_int_equal(iort_segq_push(p.q, ITEM(1)), 0);
	assert_int_equal(iort_segq_push(p.q, ITEM(2)), 0); /* A full */

	p.item = ITEM(100), p.tag = TAG_LINKER, p.ret = -1;
	sp = tp_stop_at("segq.linked", TAG_LINKER, 0);
	assert_int_equal(pthread_create(&thp, NULL, push_thread, &p), 0);
	tp_wait_stopped(sp); /* A->next = B, q->tail == A, P's hazard on A */

	t.item = ITEM(200), t.tag = TAG_LATE, t.ret = -1;
	atomic_init(&t.ready, 0);
	atomic_init(&t.go, 0);
	assert_int_equal(pthread_create(&tht, NULL, late_push_thread, &t), 0);
	wait_flag(&t.ready);

	sr = tp_stop_at("ebr.hazard_read", TAG_RECYCLER, 1); /* after R's own slot and T's */
	assert_int_equal(pthread_create(&thr, NULL, recycle_thread, &r), 0);
	tp_wait_stopped(sr);

	st = tp_stop_at("segq.push_loaded", TAG_LATE, 0);
	atomic_store(&t.go, 1);
	tp_wait_stopped(st); /* T holds what q->tail named */

	tp_release(sp);
	assert_int_equal(pthread_join(thp, NULL), 0);
	assert_int_equal(p.ret, 0);

	tp_release(sr);
	assert_int_equal(pthread_join(thr, NULL), 0);
	assert_true(r.ok[0] && r.ok[1] && r.ok[2]);
	assert_ptr_equal(r.got[0], ITEM(1));
	assert_ptr_equal(r.got[1], ITEM(2));
	assert_ptr_equal(r.got[2], ITEM(100));

	tp_release(st);
	assert_int_equal(pthread_join(tht, NULL), 0);
	assert_int_equal(t.ret, 0);
	/* T's push returned 0: its item is in the queue. */
	if (!iort_segq_try_pop(p.q, &v))
		fail_msg("the late producer's item is lost: it was written into a free segment");
	assert_ptr_equal(v, ITEM(200));
	assert_false(iort_segq_try_pop(p.q, &v));
	iort_segq_destroy(p.q);
}

/*
 * A hazard keeps a retired segment from reuse: producer P protects A (full) through q->tail and
 * stops; the main thread links B, drains A and retires it, and its recycle must leave A alone
 * while P's slot names it. Reset anyway, A would give P a free slot in a segment no list leads
 * to, and P's item would be lost.
 */
static void hazard_keeps_retired_segment(void **state)
{
	struct pusher p = { 0 };
	pthread_t thp;
	void *v;
	int sp;

	(void)state;
	tp_reset();
	assert_int_equal(iort_segq_create(2, &p.q), 0);
	assert_int_equal(iort_segq_push(p.q, ITEM(1)), 0);
	assert_int_equal(iort_segq_push(p.q, ITEM(2)), 0); /* A full */
	p.item = ITEM(100), p.tag = TAG_LINKER, p.ret = -1;
	sp = tp_stop_at("segq.push_loaded", TAG_LINKER, 0);
	assert_int_equal(pthread_create(&thp, NULL, push_thread, &p), 0);
	tp_wait_stopped(sp);				   /* P holds A */
	assert_int_equal(iort_segq_push(p.q, ITEM(3)), 0); /* links B */
	assert_ptr_equal(pop_one(p.q), ITEM(1));
	assert_ptr_equal(pop_one(p.q), ITEM(2));
	assert_ptr_equal(pop_one(p.q), ITEM(3)); /* retires A, recycles the spare */
	tp_release(sp);
	assert_int_equal(pthread_join(thp, NULL), 0);
	assert_int_equal(p.ret, 0);
	if (!iort_segq_try_pop(p.q, &v))
		fail_msg("P's item is lost: A was reset while P held it");
	assert_ptr_equal(v, ITEM(100));
	assert_false(iort_segq_try_pop(p.q, &v));
	iort_segq_destroy(p.q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(tail_swing_keeps_late_producer_off_free_segment), /* first */
		cmocka_unit_test(hazard_keeps_retired_segment),
	};

	tp_install();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
