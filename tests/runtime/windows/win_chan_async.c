/*
 * chan.c's lost wake-ups for registered (asynchronous) waiters, driven deterministically through
 * test points (tests/lib/tp.h): the chaining of win_chan.c with poll-style waiters in place of
 * sleeping threads. A thread is stopped between claiming a ring slot and completing it
 * (mpmc.push_claimed, mpmc.pop_claimed) while the notification of the other side goes to a
 * waiter that cannot use it; the waiters are polled by the test's main thread, so every step is
 * deterministic and a stranded waiter shows as a callback count that stays put.
 * Each test names the mutants of tests/mutation/chan.json it kills.
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

#include <iort/chan.h>

#include "tp.h"

#define TAG_HOLDER 2

struct aw {
	struct iort_chan_waiter w;
	_Atomic int calls;
};

static void on_ready(void *arg)
{
	atomic_fetch_add(&((struct aw *)arg)->calls, 1);
}

static int precv(struct iort_chan *ch, struct aw *a, void **item)
{
	return iort_chan_poll_recv(ch, item, &a->w, on_ready, a);
}

static int psend(struct iort_chan *ch, struct aw *a, uintptr_t v)
{
	return iort_chan_poll_send(ch, (void *)v, &a->w, on_ready, a);
}

struct call {
	struct iort_chan *ch;
	void *item;
	int ret;
	pthread_t th;
};

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
 * Receivers a, b registered on an empty channel. Sender A claims position 0 and stops. The main
 * thread sends position 1: a is notified, polls, finds position 0 unpublished and registers again
 * (behind b). A publishes and notifies b, which takes A's item; its receive must pass a
 * notification on to a for position 1.
 * Kills: chan-async-no-recv-chain.
 */
static void registered_receivers_behind_preempted_sender(void **state)
{
	struct iort_chan *ch = NULL;
	struct aw a = { 0 }, b = { 0 };
	struct call s;
	void *item = NULL;

	(void)state;
	tp_reset();
	assert_int_equal(iort_chan_create(4, &ch), 0);
	assert_int_equal(precv(ch, &a, &item), -EAGAIN);
	assert_int_equal(precv(ch, &b, &item), -EAGAIN);
	int stop = tp_stop_at("mpmc.push_claimed", TAG_HOLDER, 0);
	s = (struct call){ .ch = ch, .item = (void *)0xA, .ret = -1 };
	assert_int_equal(pthread_create(&s.th, NULL, push_holder, &s), 0);
	tp_wait_stopped(stop);				  /* A holds position 0 */
	assert_true(iort_chan_try_send(ch, (void *)0xB)); /* position 1: notifies a */
	assert_int_equal(atomic_load(&a.calls), 1);
	assert_int_equal(precv(ch, &a, &item), -EAGAIN); /* position 0 unpublished: again */
	tp_release(stop);
	assert_int_equal(pthread_join(s.th, NULL), 0);
	assert_int_equal(s.ret, 0);
	assert_int_equal(atomic_load(&b.calls), 1); /* A's publish notified b */
	assert_int_equal(precv(ch, &b, &item), 0);
	assert_ptr_equal(item, (void *)0xA);
	assert_int_equal(atomic_load(&a.calls), 2); /* b's receive chained on to a */
	assert_int_equal(precv(ch, &a, &item), 0);
	assert_ptr_equal(item, (void *)0xB);
	assert_false(iort_chan_try_recv(ch, &item));
	iort_chan_destroy(ch);
}

/*
 * The mirror: senders s0, s1 registered on a full channel (capacity 2). Receiver A claims position
 * 0 and stops before releasing its slot. The main thread receives position 1: s0 is notified,
 * polls, finds A's slot still held and registers again. A releases and notifies s1, which fills
 * A's slot; its send must pass a notification on to s0 for the slot the main thread freed.
 * Kills: chan-async-no-send-chain.
 */
static void registered_senders_behind_preempted_receiver(void **state)
{
	struct iort_chan *ch = NULL;
	struct aw s0 = { 0 }, s1 = { 0 };
	struct call r;
	void *item = NULL, *got[2];

	(void)state;
	tp_reset();
	assert_int_equal(iort_chan_create(2, &ch), 0);
	assert_true(iort_chan_try_send(ch, (void *)0x10));
	assert_true(iort_chan_try_send(ch, (void *)0x11));
	assert_int_equal(psend(ch, &s0, 0x20), -EAGAIN);
	assert_int_equal(psend(ch, &s1, 0x21), -EAGAIN);
	int stop = tp_stop_at("mpmc.pop_claimed", TAG_HOLDER, 0);
	r = (struct call){ .ch = ch, .ret = -1 };
	assert_int_equal(pthread_create(&r.th, NULL, pop_holder, &r), 0);
	tp_wait_stopped(stop);			    /* A holds position 0's slot */
	assert_true(iort_chan_try_recv(ch, &item)); /* position 1: notifies s0 */
	assert_ptr_equal(item, (void *)0x11);
	assert_int_equal(atomic_load(&s0.calls), 1);
	assert_int_equal(psend(ch, &s0, 0x20), -EAGAIN); /* A's slot still held: again */
	tp_release(stop);
	assert_int_equal(pthread_join(r.th, NULL), 0);
	assert_int_equal(r.ret, 0);
	assert_ptr_equal(r.item, (void *)0x10);
	assert_int_equal(atomic_load(&s1.calls), 1); /* A's release notified s1 */
	assert_int_equal(psend(ch, &s1, 0x21), 0);
	assert_int_equal(atomic_load(&s0.calls), 2); /* s1's send chained on to s0 */
	assert_int_equal(psend(ch, &s0, 0x20), 0);
	assert_true(iort_chan_try_recv(ch, &got[0]));
	assert_true(iort_chan_try_recv(ch, &got[1]));
	assert_ptr_equal(got[0], (void *)0x21);
	assert_ptr_equal(got[1], (void *)0x20);
	iort_chan_destroy(ch);
}

/* A thread polling a receive, stopped where the test says. */
struct poller {
	struct iort_chan *ch;
	struct aw *a;
	void *item;
	int ret;
	pthread_t th;
};

static void *poll_recv_main(void *arg)
{
	struct poller *p = arg;

	tp_tag(TAG_HOLDER);
	p->ret = precv(p->ch, p->a, &p->item);
	return NULL;
}

/*
 * A registration and a send race. The receiver a is stopped at @p point:
 *  - chan.registered (linked, before its fence and re-try): the send sees a and notifies it; the
 *    re-try takes the item, and the notification it absorbed needs no passing on;
 *  - chan.poll_failed (its try failed, not yet registered): the send sees nobody; the re-try
 *    after the registration takes the item, and a must leave the list (unregistered), or the
 *    next notification goes to a waiter that waits for nothing.
 * Either way the item is received once and a ends idle: when b and then a register, a send
 * notifies b (first in line) only.
 * Kills: chan-async-success-keeps-registration.
 */
static void send_lands_around_registration(void **state)
{
	static const char *const points[] = { "chan.registered", "chan.poll_failed" };

	(void)state;
	for (int k = 0; k < 2; k++) {
		struct iort_chan *ch = NULL;
		struct aw a = { 0 }, b = { 0 };
		struct poller p;
		void *item = NULL;

		tp_reset();
		assert_int_equal(iort_chan_create(4, &ch), 0);
		int stop = tp_stop_at(points[k], TAG_HOLDER, 0);
		p = (struct poller){ .ch = ch, .a = &a, .ret = 1 };
		assert_int_equal(pthread_create(&p.th, NULL, poll_recv_main, &p), 0);
		tp_wait_stopped(stop);
		assert_true(iort_chan_try_send(ch, (void *)7));
		assert_int_equal(atomic_load(&a.calls), k == 0 ? 1 : 0);
		tp_release(stop);
		assert_int_equal(pthread_join(p.th, NULL), 0);
		assert_int_equal(p.ret, 0); /* the re-try took it */
		assert_ptr_equal(p.item, (void *)7);
		assert_int_equal(precv(ch, &b, &item), -EAGAIN);
		assert_int_equal(precv(ch, &a, &item), -EAGAIN);
		int before = atomic_load(&a.calls);
		assert_true(iort_chan_try_send(ch, (void *)8));
		assert_int_equal(atomic_load(&b.calls), 1);
		assert_int_equal(atomic_load(&a.calls), before);
		assert_int_equal(precv(ch, &b, &item), 0);
		assert_true(iort_chan_poll_cancel(ch, &a.w)); /* still registered, removed */
		iort_chan_destroy(ch);
	}
}

/* A thread that sends one item (and so notifies the first registered receiver). */
static void *send_main(void *arg)
{
	struct call *c = arg;

	c->ret = iort_chan_try_send(c->ch, c->item) ? 0 : -EAGAIN;
	return NULL;
}

static void *cancel_main(void *arg)
{
	struct poller *p = arg;

	tp_tag(TAG_HOLDER);
	p->ret = iort_chan_poll_cancel(p->ch, &p->a->w) ? 1 : 0;
	iort_chan_waiter_init(&p->a->w); /* the owner reuses its waiter at once */
	return NULL;
}

/*
 * A give-up lands while a notifier takes its waiter: the cancel found the waiter QUEUED and is
 * stopped before the side's lock (chan.unregister); another thread's send notifies the waiter
 * completely (unlinked, fn run, NOTIFIED stored after the notifier's unlock). The cancel then
 * finds NOTIFIED under the lock: it must read it with acquire before the owner reuses the waiter,
 * since the lock orders only what the notifier did before its unlock (under TSan, the reuse below
 * races with the notifier's store otherwise). The cancel returns false and passes the
 * notification on to the waiter registered next.
 * Kills (under TSan): chan-async-unregister-relaxed-notified.
 */
static void cancel_finds_notified_under_lock(void **state)
{
	struct iort_chan *ch = NULL;
	struct aw a = { 0 }, b = { 0 };
	struct poller p;
	struct call s;
	void *item = NULL;

	(void)state;
	tp_reset();
	assert_int_equal(iort_chan_create(4, &ch), 0);
	assert_int_equal(precv(ch, &a, &item), -EAGAIN);
	assert_int_equal(precv(ch, &b, &item), -EAGAIN);
	int stop = tp_stop_at("chan.unregister", TAG_HOLDER, 0);
	p = (struct poller){ .ch = ch, .a = &a, .ret = -1 };
	assert_int_equal(pthread_create(&p.th, NULL, cancel_main, &p), 0);
	tp_wait_stopped(stop);
	s = (struct call){ .ch = ch, .item = (void *)5, .ret = -1 };
	assert_int_equal(pthread_create(&s.th, NULL, send_main, &s), 0);
	/* a notified: fn ran and NOTIFIED (3, white box) is stored. Not joined: the canceller
	 * must get its order from the waiter's state alone.
	 * MO relaxed: a look that must not order anything (TSan would see our order pass on). */
	while (atomic_load_explicit((_Atomic uint32_t *)(void *)&a.w.iort_private_state,
				    memory_order_relaxed) != 3)
		sched_yield();
	tp_release(stop);
	assert_int_equal(pthread_join(p.th, NULL), 0);
	assert_int_equal(pthread_join(s.th, NULL), 0);
	assert_int_equal(s.ret, 0);
	assert_int_equal(atomic_load(&a.calls), 1);
	assert_int_equal(p.ret, 0);		    /* it had been notified */
	assert_int_equal(atomic_load(&b.calls), 1); /* passed on */
	assert_int_equal(precv(ch, &b, &item), 0);
	assert_ptr_equal(item, (void *)5);
	iort_chan_destroy(ch);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(registered_receivers_behind_preempted_sender),
		cmocka_unit_test(registered_senders_behind_preempted_receiver),
		cmocka_unit_test(send_lands_around_registration),
		cmocka_unit_test(cancel_finds_notified_under_lock),
	};

	tp_install();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
