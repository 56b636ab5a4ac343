/*
 * segq.c's critical windows, driven deterministically through test points (tests/lib/tp.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <pthread.h>

#include <iort/segq.h>

#include "../lib/tp.h"

#define ITEM(i) ((void *)(uintptr_t)(i))

enum { TAG_LINKER = 1, TAG_LATE = 2 };

struct pusher {
	struct iort_segq *q;
	void *item;
	int tag, ret;
};

static void *push_thread(void *arg)
{
	struct pusher *a = arg;

	tp_tag(a->tag);
	a->ret = iort_segq_push(a->q, a->item);
	return NULL;
}

static void *pop_one(struct iort_segq *q)
{
	void *p = NULL;

	assert_true(iort_segq_try_pop(q, &p));
	return p;
}

/*
 * I2, the consumers' tail swing. With 2-slot segments: producer P links A->next = B and stops
 * before swinging q->tail. The consumer drains A and retires it (stamp E); if it did not swing
 * q->tail first, q->tail still names A. Thread T enters (the epoch has moved to E + 1) and loads
 * q->tail: without the swing that is A. Pushes fill B and link C; P finishes; the consumer
 * drains B and retires it, and the epoch reaches E + 2, so A is safe: reset and cached. T then
 * claims a slot in A, which no list leads to any more, and its item is lost. With the swing, T
 * loads B (retired after T entered, so not reusable) and moves on to a live segment.
 */
static void tail_swing_keeps_late_producer_off_retired_segment(void **state)
{
	struct pusher p, t;
	pthread_t tp, tt;
	void *v;
	int sp, st;

	(void)state;
	tp_reset();
	assert_int_equal(iort_segq_create(2, &p.q), 0);
	t.q = p.q;
	assert_int_equal(iort_segq_push(p.q, ITEM(1)), 0);
	assert_int_equal(iort_segq_push(p.q, ITEM(2)), 0); /* A full */

	p.item = ITEM(100), p.tag = TAG_LINKER, p.ret = -1;
	sp = tp_stop_at("segq.linked", TAG_LINKER, 0);
	assert_int_equal(pthread_create(&tp, NULL, push_thread, &p), 0);
	tp_wait_stopped(sp); /* A->next = B, q->tail == A */

	assert_ptr_equal(pop_one(p.q), ITEM(1));
	assert_ptr_equal(pop_one(p.q), ITEM(2));
	assert_false(iort_segq_try_pop(p.q, &v)); /* retires A; B is still empty */

	t.item = ITEM(200), t.tag = TAG_LATE, t.ret = -1;
	st = tp_stop_at("segq.push_loaded", TAG_LATE, 0);
	assert_int_equal(pthread_create(&tt, NULL, push_thread, &t), 0);
	tp_wait_stopped(st); /* T holds whatever q->tail named */

	assert_int_equal(iort_segq_push(p.q, ITEM(3)), 0);
	assert_int_equal(iort_segq_push(p.q, ITEM(4)), 0); /* B full */
	assert_int_equal(iort_segq_push(p.q, ITEM(5)), 0); /* links C (A not safe: P is inside) */
	tp_release(sp);
	assert_int_equal(pthread_join(tp, NULL), 0);
	assert_int_equal(p.ret, 0);

	assert_ptr_equal(pop_one(p.q), ITEM(3));
	assert_ptr_equal(pop_one(p.q), ITEM(4));
	assert_ptr_equal(pop_one(p.q), ITEM(5)); /* retires B; the epoch makes A safe */

	tp_release(st);
	assert_int_equal(pthread_join(tt, NULL), 0);
	assert_int_equal(t.ret, 0);
	/* Both pushes returned: both items are in the queue, in claim order. */
	assert_ptr_equal(pop_one(p.q), ITEM(100));
	assert_true(iort_segq_try_pop(p.q, &v));
	assert_ptr_equal(v, ITEM(200));
	assert_false(iort_segq_try_pop(p.q, &v));
	iort_segq_destroy(p.q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(tail_swing_keeps_late_producer_off_retired_segment),
	};

	tp_install();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
