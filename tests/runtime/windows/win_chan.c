/*
 * chan.c's lost wake-ups, driven deterministically through test points (tests/lib/tp.h): a
 * thread is stopped between claiming a ring slot and completing it (mpmc.push_claimed,
 * mpmc.pop_claimed) while the other side's wake-up is spent on a waiter that cannot use it.
 * "wait.sleep" counts a waiter that is about to sleep: as good as asleep, since any later bump of
 * the waitq makes its futex_wait return. The waiters have no deadline (iort_wait_until makes one
 * more attempt at its deadline, which would hide a stranded waiter): a stranded one makes
 * tp_wait_hits("test.done") fail after TP_TIMEOUT_S with a message.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <pthread.h>

#include <iort/chan.h>

#include "tp.h"

#define TAG_WAITER 1
#define TAG_HOLDER 2

struct call {
	struct iort_chan *ch;
	void *item;
	int ret;
	pthread_t th;
};

static void *recv_thread(void *arg)
{
	struct call *c = arg;

	tp_tag(TAG_WAITER);
	c->ret = iort_chan_recv_timed(c->ch, &c->item, IORT_DEADLINE_NONE, NULL);
	IORT_TP("test.done");
	return NULL;
}

static void *send_thread(void *arg)
{
	struct call *c = arg;

	tp_tag(TAG_WAITER);
	c->ret = iort_chan_send_timed(c->ch, c->item, IORT_DEADLINE_NONE, NULL);
	IORT_TP("test.done");
	return NULL;
}

/* The holder: a try_* that the test stops between its claim and its publish / release. */
static void *push_holder(void *arg)
{
	struct call *c = arg;

	tp_tag(TAG_HOLDER);
	c->ret = iort_chan_try_send(c->ch, c->item) ? 0 : -EAGAIN;
	return NULL;
}

static void *pop_holder(void *arg)
{
	struct call *c = arg;

	tp_tag(TAG_HOLDER);
	c->ret = iort_chan_try_recv(c->ch, &c->item) ? 0 : -EAGAIN;
	return NULL;
}

/*
 * Two receivers sleep on an empty channel. Sender A claims position 0 and stops before publishing.
 * Sender B (main) publishes position 1 and wakes one receiver, which finds position 0 unpublished
 * and sleeps again. A publishes and wakes one receiver, which takes A's item; the other must get
 * B's item, not sleep for ever.
 */
static void receivers_behind_preempted_sender(void **state)
{
	struct iort_chan *ch = NULL;
	struct call r[2], a;
	void *item;
	int s;

	(void)state;
	tp_reset();
	assert_int_equal(iort_chan_create(4, &ch), 0);
	for (int i = 0; i < 2; i++) {
		r[i] = (struct call){ .ch = ch, .ret = -1 };
		assert_int_equal(pthread_create(&r[i].th, NULL, recv_thread, &r[i]), 0);
	}
	tp_wait_hits("wait.sleep", TAG_WAITER, 2); /* both receivers asleep */
	s = tp_stop_at("mpmc.push_claimed", TAG_HOLDER, 0);
	a = (struct call){ .ch = ch, .item = (void *)0xA, .ret = -1 };
	assert_int_equal(pthread_create(&a.th, NULL, push_holder, &a), 0);
	tp_wait_stopped(s);				  /* A holds position 0 */
	assert_true(iort_chan_try_send(ch, (void *)0xB)); /* position 1; wakes one receiver */
	tp_wait_hits("wait.sleep", TAG_WAITER, 3); /* it found position 0 empty: asleep again */
	tp_release(s);
	assert_int_equal(pthread_join(a.th, NULL), 0);
	assert_int_equal(a.ret, 0);
	tp_wait_hits("test.done", TAG_WAITER, 2); /* fails after 60 s if a waiter is stranded */
	for (int i = 0; i < 2; i++) {
		assert_int_equal(pthread_join(r[i].th, NULL), 0);
		assert_int_equal(r[i].ret, 0);
	}
	/* FIFO by position: whichever receiver got which, both items arrived once */
	assert_true((r[0].item == (void *)0xA && r[1].item == (void *)0xB) ||
		    (r[0].item == (void *)0xB && r[1].item == (void *)0xA));
	assert_false(iort_chan_try_recv(ch, &item));
	iort_chan_destroy(ch);
}

/*
 * The mirror: two senders sleep on a full channel (capacity 2). Receiver A claims position 0 and
 * stops before releasing its slot. Receiver B (main) frees position 1's slot and wakes one
 * sender, which finds the slot in front (A's) still held and sleeps again. A releases and wakes
 * one sender, which fills A's slot; the other must fill B's, not sleep for ever.
 */
static void senders_behind_preempted_receiver(void **state)
{
	struct iort_chan *ch = NULL;
	struct call w[2], a;
	void *got[2];
	int s;

	(void)state;
	tp_reset();
	assert_int_equal(iort_chan_create(2, &ch), 0);
	assert_true(iort_chan_try_send(ch, (void *)0x10));
	assert_true(iort_chan_try_send(ch, (void *)0x11));
	for (int i = 0; i < 2; i++) {
		w[i] = (struct call){ .ch = ch, .item = (void *)(uintptr_t)(0x20 + i), .ret = -1 };
		assert_int_equal(pthread_create(&w[i].th, NULL, send_thread, &w[i]), 0);
	}
	tp_wait_hits("wait.sleep", TAG_WAITER, 2); /* both senders asleep */
	s = tp_stop_at("mpmc.pop_claimed", TAG_HOLDER, 0);
	a = (struct call){ .ch = ch, .ret = -1 };
	assert_int_equal(pthread_create(&a.th, NULL, pop_holder, &a), 0);
	tp_wait_stopped(s);			      /* A holds position 0's slot */
	assert_true(iort_chan_try_recv(ch, &got[0])); /* position 1; wakes one sender */
	assert_ptr_equal(got[0], (void *)0x11);
	tp_wait_hits("wait.sleep", TAG_WAITER, 3); /* it found A's slot held: asleep again */
	tp_release(s);
	assert_int_equal(pthread_join(a.th, NULL), 0);
	assert_int_equal(a.ret, 0);
	assert_ptr_equal(a.item, (void *)0x10);
	tp_wait_hits("test.done", TAG_WAITER, 2); /* fails after 60 s if a waiter is stranded */
	for (int i = 0; i < 2; i++) {
		assert_int_equal(pthread_join(w[i].th, NULL), 0);
		assert_int_equal(w[i].ret, 0);
	}
	assert_true(iort_chan_try_recv(ch, &got[0]));
	assert_true(iort_chan_try_recv(ch, &got[1]));
	assert_true((got[0] == (void *)0x20 && got[1] == (void *)0x21) ||
		    (got[0] == (void *)0x21 && got[1] == (void *)0x20));
	iort_chan_destroy(ch);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(receivers_behind_preempted_sender),
		cmocka_unit_test(senders_behind_preempted_receiver),
	};

	tp_install();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
