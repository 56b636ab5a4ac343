/*
 * Bounded blocking channel: an iort_mpmc ring plus two event counts (iort/wait.h).
 *
 *   send: bounded push; fence (chan.S1); wake one receiver if any waits;
 *         then, if senders wait and the ring would take another item now, wake one sender too.
 *   recv: pop;          fence (chan.S2); wake one sender if any waits;
 *         then, if receivers wait and the next item is published, wake one receiver too.
 *   *_timed: iort_wait_until(the waitq of the condition it needs, try_*, deadline, cancel),
 *            whose every attempt follows a prepare (wait.S1 + wait.S2) on that waitq.
 *
 * Why the chaining (the second wake): the ring hands out positions in order, but publishes them
 * in any order. Receivers R1, R2 sleep on an empty channel; sender A claims position 0 and is
 * preempted; sender B publishes position 1 and wakes R1, which finds position 0 unpublished and
 * sleeps again. A publishes and wakes one receiver, which takes A's item; B's item would stay
 * while the other receiver sleeps. The wake-up B paid for was spent on a receiver that could not
 * use it, so whoever takes the item in front passes a wake-up on. The mirror: senders sleep on a
 * full channel, receiver A claims a slot and is preempted, receiver B frees the next one and
 * wakes sender S1, which finds A's slot still held; when A releases, the sender that fills it
 * wakes the other. Test: tests/runtime/windows/win_chan.c drives both through the mpmc test points.
 *
 * Claim (no stranded waiter): take any execution that becomes quiescent: from some point on no
 * channel call is in progress except waits that never return, and no call returns. Then no
 * receiver sleeps in such a wait while the ring holds a published item, and no sender sleeps
 * while a bounded push could succeed.
 *
 * Proof for receivers (C11 terms; the sender case is the mirror, see below). Let deq.pos = d and
 * slot d hold a published item in the final state, and let R be a receiver whose last cycle
 * (prepare, try_pop, sleep) never ends. The final values of deq.pos and of slot d's seq were
 * written by a receiver X (the CAS d-1 -> d, in try_pop) and a sender P (the release store
 * publishing d); X then executes chan.S2 and P chan.S1 (seq_cst fences). Initial values need no
 * writer. Let L be whichever of those fences comes last in the total order S of seq_cst
 * operations (C11 7.17.3), and W2 R's fence wait.S2 in its last prepare.
 *  - If L precedes W2 in S: both writes precede their fences, which precede W2, so R's try_pop,
 *    after W2, reads deq.pos >= d and slot d published (the rule for two seq_cst fences), hence
 *    exactly d, and pops: its cycle ends. Contradiction.
 *  - If W2 precedes L: the thread of L loads the receivers' waiters count after L, so it sees R's
 *    increment (wait.S1, before W2) or a later value; R never decrements it, so waiters >= 1.
 *    If L is P's, P wakes a receiver unconditionally. If L is X's, X's peek at the ring (after L)
 *    reads deq.pos = d (its own write, the final one) and slot d published (P's fence precedes L),
 *    so X wakes one too. A wake bumps seq (release) and futex_wakes one sleeper. If R's key
 *    predates the bump and R is not yet in the kernel, its futex_wait fails and its cycle ends;
 *    otherwise some sleeper R' is woken (one in the kernel is, by the bump and futex_wake). R'
 *    read the bump with acquire (wait.A3), so L happens before its next prepare: its next cycle
 *    is in the first case and pops d, which contradicts quiescence, unless R' leaves with
 *    -ECANCELED, in which case wait.c passes the wake-up on (or its canceller woke every
 *    sleeper) and the same reasoning applies to the next woken sleeper; there are finitely many.
 *    A sleeper whose key already includes the bump began its cycle after L and is in case one.
 * Senders: the final enq.pos e is written by a sender Y (claim e-1; Y then runs chan.S1 and its
 * peek: slot e free and e - deq.pos < capacity), the final seq of slot e by a receiver C (the
 * release of e - ring size) and the final deq.pos by a receiver D (its CAS); C and D run chan.S2
 * and wake a sender unconditionally. The same case split on the last of those fences applies.
 * Without the peek-and-wake after chan.S1 / chan.S2 the X and Y cases fail: that is the bug.
 *
 * Asynchronous waiters (iort_chan_poll_send/recv: a task polls, no thread sleeps). Each side has,
 * next to its waitq and on the same line, a list of registered waiters under a small spin lock and
 * their count n. It is the same event-count protocol with a list in place of the futex:
 *   poll:     try; else (unless still QUEUED) lock, append, n++, unlock; fence (chan.S4, seq_cst);
 *             try again (on success unregister); else -EAGAIN and wait for fn.
 *   notifier: after its fence chan.S1 / chan.S2 (the same ones), if n != 0: lock, unlink the first
 *             waiter, n--, mark it NOTIFYING, unlock, call its fn(arg), then store NOTIFIED
 *             (chan.R5): one waiter per notification, as notify_one; the chaining above notifies
 *             a second one the same way.
 * The proof above carries over with "R registered (n++ before chan.S4)" for "R announced (wait.S2)"
 * and "notify the first waiter" for "wake one sleeper": n is changed only under the lock and counts
 * the linked waiters, so a notifier whose load of n comes after R's fence in the order S (the case
 * W2 before L) reads a value at which R's last registration is still linked, hence n >= 1; it
 * notifies some R', whose next poll happens after the notifier's fence (fn runs after it, and the
 * waker carries the order to the poll) and therefore pops (or pushes). A waiter notified while its
 * own re-try succeeded used the readiness itself and its operation ran the chaining. A waiter that
 * is notified and gives up (iort_chan_poll_cancel) passes the notification on (chan.S7, then one
 * wake of each kind on that side), as wait.c's pass_on. A poll that finds its waiter still QUEUED
 * does not register again: that registration's n++ still stands for it.
 * Lifetimes (as cancel.c's unregister): the notifier touches a waiter under the side's lock, and
 * after the lock only to store NOTIFIED once fn has returned; fn and arg were read under the lock.
 * An owner that finds NOTIFYING (a poll, a successful re-try's unregister, a cancel) waits for
 * NOTIFIED (chan.A5 acquire), a spin as long as fn (a task wake-up). So once a poll returned 0 or a
 * cancel returned, fn is not running and will not run: the owner may free arg and the waiter, and
 * one long-lived arg (a task's waker) serves every registration. Test points: chan.poll_failed
 * (a poll's first try failed, not yet registered), chan.registered (announced, before the fence
 * and re-try), chan.notify (a notifier unlinked a waiter and released the lock, fn not yet
 * called), chan.unregister (an unregister found its waiter QUEUED, before the lock),
 * chan.pass_on (a give-up forwarding a notification).
 *
 * Cost: one seq_cst fence per successful operation (as before), four relaxed loads of waiters
 * counts (two lines); the peek and any futex syscall or callback happen only when someone waits.
 *
 * Capacity: exactly as asked. The ring rounds up to a power of two (at least 2); a push also
 * requires enq.pos - deq.pos < capacity (iort__mpmc_try_push_bounded), skipped when the ring size
 * equals the capacity. Items count from a sender's claim until a receiver's claim.
 */
#include <iort/chan.h>
#include <iort/mpmc.h>

#include "mpmc-private.h"
#include "wait-private.h"

#include <errno.h>
#include <sched.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* The asynchronous waiters of one side. */
struct aside {
	_Atomic uint32_t n;    /* registered waiters (the announcement); changed under lock */
	_Atomic uint32_t lock; /* 0 free, 1 held: guards the list and the waiters' states */
	struct waiter *head, *tail;
};

/* A waiter's state. */
enum { IDLE = 0, QUEUED = 1, NOTIFYING = 2, NOTIFIED = 3 };

/* chan.c's view of struct iort_chan_waiter. */
struct waiter {
	struct waiter *next, *prev; /* under the side's lock */
	iort_chan_ready_fn *fn;
	void *arg;
	struct aside *side; /* the side it registered on (set by its owner) */
	/* IDLE -> QUEUED (owner, under the lock) -> NOTIFYING (a notifier, under the lock) ->
	 * NOTIFIED (that notifier, after fn) -> IDLE (owner); QUEUED -> IDLE (owner, under the lock) */
	_Atomic uint32_t state;
	uint32_t pad;
};

_Static_assert(sizeof(struct waiter) == sizeof(struct iort_chan_waiter), "chan waiter layout");
_Static_assert(alignof(struct waiter) == alignof(struct iort_chan_waiter), "chan waiter alignment");
_Static_assert(offsetof(struct waiter, state) ==
		       offsetof(struct iort_chan_waiter, iort_private_state),
	       "chan waiter state");

struct iort_chan {
	struct iort_mpmc *ring;
	size_t capacity; /* at most this many items; the ring may be larger */
	/* Each side on its own line: notifiers on one side load the other side's waiters (a
	 * waitq's count and the asynchronous count, one line). */
	IORT_CACHELINE_ALIGNED struct iort_waitq not_empty; /* receivers sleep here */
	struct aside recv_async;			    /* receivers registered here */
	IORT_CACHELINE_ALIGNED struct iort_waitq not_full;  /* senders sleep here */
	struct aside send_async;			    /* senders registered here */
};

IORT_API int iort_chan_create(size_t capacity, struct iort_chan **out)
{
	struct iort_chan *ch;
	int r;

	if (!out || capacity == 0 || capacity > ((size_t)1 << 31))
		return -EINVAL;
	ch = aligned_alloc(IORT_CACHELINE, sizeof(*ch));
	if (!ch)
		return -ENOMEM;
	r = iort_mpmc_create(capacity, &ch->ring);
	if (r < 0)
		goto fail;
	ch->capacity = capacity;
	iort_waitq_init(&ch->not_empty);
	iort_waitq_init(&ch->not_full);
	ch->recv_async = (struct aside){ 0 };
	ch->send_async = (struct aside){ 0 };
	*out = ch;
	return 0;
fail:
	free(ch);
	return r;
}

IORT_API void iort_chan_destroy(struct iort_chan *ch)
{
	if (!ch)
		return;
	iort_mpmc_destroy(ch->ring);
	free(ch);
}

/* ---- asynchronous waiters: a list under a small spin lock ---- */

static void aside_lock(struct aside *a)
{
	for (unsigned i = 1;; i++) {
		uint32_t z = 0;
		/* MO chan.A6 (acquire): the list and states the last holder left;
		 * pairs with chan.R6. */
		if (atomic_compare_exchange_weak_explicit(&a->lock, &z, 1, memory_order_acquire,
							  memory_order_relaxed))
			return;
		do {
			if ((i++ & 63) == 63)
				sched_yield(); /* the holder may be preempted */
			else
				iort_cpu_relax();
			/* MO relaxed: a look before the next CAS, which orders. */
		} while (atomic_load_explicit(&a->lock, memory_order_relaxed));
	}
}

static void aside_unlock(struct aside *a)
{
	/* MO chan.R6 (release): the list and states; pairs with chan.A6. */
	atomic_store_explicit(&a->lock, 0, memory_order_release);
}

/* Whether a waiter is registered on @p a: meaningful after a seq_cst fence that follows the
 * caller's publish (chan.S1, chan.S2), as iort__waitq_waiting(). */
static inline bool aside_waiting(struct aside *a)
{
	/* MO relaxed: ordered after the caller's publish by its seq_cst fence; pairs (through the
	 * fences) with chan.S4 in aside_register(). */
	return atomic_load_explicit(&a->n, memory_order_relaxed) != 0;
}

/* Notify the first registered waiter of @p a, if any (after the caller's seq_cst fence). */
static void aside_wake(struct aside *a)
{
	if (!aside_waiting(a))
		return;
	aside_lock(a);
	struct waiter *w = a->head;
	if (!w) {
		aside_unlock(a);
		return;
	}
	a->head = w->next;
	if (a->head)
		a->head->prev = NULL;
	else
		a->tail = NULL;
	/* MO relaxed: only changed under the lock; its readers outside it see it after a fence. */
	atomic_store_explicit(&a->n, atomic_load_explicit(&a->n, memory_order_relaxed) - 1,
			      memory_order_relaxed);
	iort_chan_ready_fn *fn = w->fn;
	void *arg = w->arg;
	/* MO relaxed: under the lock; an owner seeing it waits for NOTIFIED (chan.R5). */
	atomic_store_explicit(&w->state, NOTIFYING, memory_order_relaxed);
	aside_unlock(a);
	IORT_TP("chan.notify"); /* w unlinked, lock released, fn not yet called */
	fn(arg);
	/* MO chan.R5 (release): fn's run and our touches of w before its owner reuses it;
	 * pairs with chan.A5. */
	atomic_store_explicit(&w->state, NOTIFIED, memory_order_release);
}

/* Register @p w on @p a; the caller then tries its operation again. */
static void aside_register(struct aside *a, struct waiter *w, iort_chan_ready_fn *fn, void *arg)
{
	w->fn = fn;
	w->arg = arg;
	w->side = a;
	w->next = NULL;
	aside_lock(a);
	w->prev = a->tail;
	if (a->tail)
		a->tail->next = w;
	else
		a->head = w;
	a->tail = w;
	/* MO relaxed: under the lock (chan.R6 publishes it to the next holder). */
	atomic_store_explicit(&w->state, QUEUED, memory_order_relaxed);
	/* MO relaxed: ordered before the re-try by chan.S4 below. */
	atomic_store_explicit(&a->n, atomic_load_explicit(&a->n, memory_order_relaxed) + 1,
			      memory_order_relaxed);
	aside_unlock(a);
	IORT_TP("chan.registered"); /* announced, not yet fenced and re-tried */
	/* MO chan.S4 (seq_cst): the announcement (n) before the re-try (store->load);
	 * pairs with chan.S1 and chan.S2, the notifiers' fences (see the file header). */
	atomic_thread_fence(memory_order_seq_cst);
}

/* @p w's state, once no notifier is between taking it and its NOTIFIED (waits for fn). */
static uint32_t settled_state(struct waiter *w)
{
	for (unsigned i = 1;; i++) {
		/* MO chan.A5 (acquire): a notifier's fn and its touches of w before our reuse;
		 * pairs with chan.R5. */
		uint32_t s = atomic_load_explicit(&w->state, memory_order_acquire);
		if (s != NOTIFYING)
			return s;
		if ((i & 63) == 0)
			sched_yield(); /* the notifier may be preempted */
		else
			iort_cpu_relax();
	}
}

/*
 * Unregister @p w. @return QUEUED (it was registered and is removed), NOTIFIED (a notifier took
 * it; its fn has returned) or IDLE (it was not registered). @p w is IDLE after, and no fn runs.
 */
static uint32_t aside_unregister(struct waiter *w)
{
	uint32_t s = settled_state(w);

	if (s == QUEUED) {
		struct aside *a = w->side;
		IORT_TP("chan.unregister"); /* found QUEUED, before the lock */
		aside_lock(a);
		/* MO relaxed: under the lock. */
		s = atomic_load_explicit(&w->state, memory_order_relaxed);
		if (s == QUEUED) {
			if (w->prev)
				w->prev->next = w->next;
			else
				a->head = w->next;
			if (w->next)
				w->next->prev = w->prev;
			else
				a->tail = w->prev;
			/* MO relaxed: under the lock (a smaller count only skips a wake). */
			atomic_store_explicit(&a->n,
					      atomic_load_explicit(&a->n, memory_order_relaxed) - 1,
					      memory_order_relaxed);
		}
		aside_unlock(a);
		/* Taken by a notifier since our first look: wait for its NOTIFIED, and read it with
		 * acquire even if it is there already (the look under the lock is relaxed, and the
		 * notifier stores NOTIFIED after its unlock). */
		if (s != QUEUED)
			s = settled_state(w);
	}
	/* MO relaxed: ours alone now (unlinked, no notifier touches it). */
	atomic_store_explicit(&w->state, IDLE, memory_order_relaxed);
	return s;
}

IORT_API void iort_chan_waiter_init(struct iort_chan_waiter *w)
{
	*w = (struct iort_chan_waiter){ 0 };
}

IORT_API bool iort_chan_try_send(struct iort_chan *ch, void *item)
{
	if (!iort__mpmc_try_push_bounded(ch->ring, item, ch->capacity))
		return false;
	/* MO chan.S1 (seq_cst): our claim and publish before the loads of both waiters counts and
	 * the peek (store->load); pairs with wait.S2 in iort_waitq_prepare() of either side and with
	 * chan.S2 (see the proof in the header). */
	atomic_thread_fence(memory_order_seq_cst);
	iort__waitq_wake(&ch->not_empty, 1);
	aside_wake(&ch->recv_async);
	/* Chaining: the wake-up that made room here may have been spent on a sender that found the
	 * slot in front still held; pass one on while the ring takes another item. */
	if ((iort__waitq_waiting(&ch->not_full) || aside_waiting(&ch->send_async)) &&
	    iort__mpmc_can_push(ch->ring, ch->capacity)) {
		iort__waitq_wake(&ch->not_full, 1);
		aside_wake(&ch->send_async);
	}
	return true;
}

IORT_API bool iort_chan_try_recv(struct iort_chan *ch, void **item)
{
	if (!iort_mpmc_try_pop(ch->ring, item))
		return false;
	/* MO chan.S2 (seq_cst): our claim and release before the loads of both waiters counts and
	 * the peek (store->load); pairs with wait.S2 in iort_waitq_prepare() of either side and with
	 * chan.S1 (see the proof in the header). */
	atomic_thread_fence(memory_order_seq_cst);
	iort__waitq_wake(&ch->not_full, 1);
	aside_wake(&ch->send_async);
	/* Chaining: the item in front of the next one was ours; a receiver woken for the next one
	 * may have found ours unpublished and gone back to sleep. */
	if ((iort__waitq_waiting(&ch->not_empty) || aside_waiting(&ch->recv_async)) &&
	    iort__mpmc_can_pop(ch->ring)) {
		iort__waitq_wake(&ch->not_empty, 1);
		aside_wake(&ch->recv_async);
	}
	return true;
}

struct send_ctx {
	struct iort_chan *ch;
	void *item;
};

static bool try_send_fn(void *ctx)
{
	struct send_ctx *s = ctx;

	return iort_chan_try_send(s->ch, s->item);
}

struct recv_ctx {
	struct iort_chan *ch;
	void *item;
};

static bool try_recv_fn(void *ctx)
{
	struct recv_ctx *r = ctx;

	return iort_chan_try_recv(r->ch, &r->item);
}

IORT_API int iort_chan_send_timed(struct iort_chan *ch, void *item, uint64_t deadline_ns,
				  struct iort_cancel *c)
{
	struct send_ctx s = { ch, item };

	return iort_wait_until(&ch->not_full, try_send_fn, &s, deadline_ns, c);
}

IORT_API int iort_chan_recv_timed(struct iort_chan *ch, void **item, uint64_t deadline_ns,
				  struct iort_cancel *c)
{
	struct recv_ctx r = { ch, NULL };
	int ret = iort_wait_until(&ch->not_empty, try_recv_fn, &r, deadline_ns, c);

	if (ret == 0)
		*item = r.item;
	return ret;
}

/* ---- poll-style operations ---- */

static inline struct waiter *wt(struct iort_chan_waiter *w)
{
	return (struct waiter *)(void *)w;
}

IORT_API int iort_chan_poll_send(struct iort_chan *ch, void *item, struct iort_chan_waiter *cw,
				 iort_chan_ready_fn *fn, void *arg)
{
	struct waiter *w = wt(cw);

	if (iort_chan_try_send(ch, item))
		goto sent;
	/* A stale QUEUED means fn is on its way, and we are polled again after it. */
	if (settled_state(w) == QUEUED)
		return -EAGAIN;	     /* still registered: the announcement stands */
	IORT_TP("chan.poll_failed"); /* the try failed, not yet registered */
	aside_register(&ch->send_async, w, fn, arg);
	if (iort_chan_try_send(ch, item))
		goto sent;
	return -EAGAIN;
sent:
	/* A notification absorbed here needs no passing on: our send ran the chaining. */
	(void)aside_unregister(w);
	return 0;
}

IORT_API int iort_chan_poll_recv(struct iort_chan *ch, void **item, struct iort_chan_waiter *cw,
				 iort_chan_ready_fn *fn, void *arg)
{
	struct waiter *w = wt(cw);

	if (iort_chan_try_recv(ch, item))
		goto received;
	if (settled_state(w) == QUEUED)
		return -EAGAIN;
	IORT_TP("chan.poll_failed");
	aside_register(&ch->recv_async, w, fn, arg);
	if (iort_chan_try_recv(ch, item))
		goto received;
	return -EAGAIN;
received:
	(void)aside_unregister(w);
	return 0;
}

IORT_API bool iort_chan_poll_cancel(struct iort_chan *ch, struct iort_chan_waiter *cw)
{
	struct waiter *w = wt(cw);
	struct aside *a = w->side;
	uint32_t s = aside_unregister(w);

	if (s != NOTIFIED)
		return s == QUEUED;
	/* We absorbed a notification and give up: pass it on, to a thread or a task of that side. */
	IORT_TP("chan.pass_on");
	/* MO chan.S7 (seq_cst): as chan.S1 for a forwarded notification: the waiters loads below
	 * come after it; pairs with wait.S2 and chan.S4. */
	atomic_thread_fence(memory_order_seq_cst);
	if (a == &ch->send_async) {
		iort__waitq_wake(&ch->not_full, 1);
		aside_wake(&ch->send_async);
	} else {
		iort__waitq_wake(&ch->not_empty, 1);
		aside_wake(&ch->recv_async);
	}
	return false;
}
