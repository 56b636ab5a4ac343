/*
 * Cancellation tokens (iort/cancel.h): a flag, a list of callbacks, a tree.
 *
 * A token is two 32-bit words, a parent pointer, its own link (the callback by which its parent
 * cancels it), the list of registered callbacks, and which callback is running and in which
 * thread:
 *
 *   state    CANCELLED (set once, by the request that wins) | WAITER (an unregister sleeps until
 *            the running callback returns) | a count of callbacks that returned (bits 2..31,
 *            wrapping). The futex word unregister sleeps on: every callback that returns
 *            changes it, so a sleeper never outsleeps its own callback behind a later one.
 *   lock     a three-state futex lock of its own (0 free, 1 held, 2 held and someone sleeps;
 *            Drepper, "Futexes are tricky", mutex 3), short spin first. Not iort_mutex: the
 *            token's lock protects a few pointer writes, needs no fairness, and would feed the
 *            lock-order checker a class that every waiting call nests inside.
 *   cbs      doubly linked, newest first; a callback taken off it for running has prev == itself
 *   running  the callback the cancelling thread runs now (NULL: none); runner: that thread
 *
 * Invariants (all under the lock):
 *   I1  CANCELLED is set only under the lock, and once set no callback is added to cbs (register
 *       checks it under the lock), so a request drains cbs for good.
 *   I2  A callback is on cbs (registered, not run), or taken (prev == itself) and then it is
 *       running (== running) or has returned. Only the one request that set CANCELLED takes
 *       callbacks, one at a time, so one running pointer suffices.
 *   I3  WAITER is set only while a callback is running; the runner clears it (and wakes) when it
 *       clears running.
 *
 * Request: lock; if CANCELLED, unlock and return (idempotent; callbacks may still be running in
 * the first requester). Else set CANCELLED (cancel.R2), then repeatedly take the newest callback,
 * mark it running, unlock, call it, lock, clear running (wake unregisters sleeping on it). The
 * callbacks run with no lock held, so they may register, unregister, request, and cancel
 * children. A child's link is one of these callbacks: iort_cancel_request(child), so the whole
 * subtree is cancelled in the calling thread, depth first, before the request returns.
 *
 * Register: a token already cancelled (one acquire load, cancel.A2, or the check under the lock)
 * runs the callback at once in the caller and returns -ECANCELED. Otherwise the callback is linked
 * under the lock; by I1 the request that later sets CANCELLED (after us in the lock's order) sees
 * it and runs it. Exactly once: the request unlinks it under the lock before calling it.
 *
 * Unregister: under the lock, a callback still on cbs is unlinked (true: it never runs). A taken
 * one has run or is running (I2); if it is running in another thread, set WAITER, unlock, and
 * futex_wait on state for the value it had then; the runner bumps the count and clears WAITER
 * under the lock after the callback returned, and then futex_wakes: either our futex_wait sees
 * the changed word or we sleep before the wake. Re-check under the lock, return false once running != cb. From inside the
 * callback itself (runner == this thread) it returns false at once: waiting would deadlock.
 * After unregister returns, the cancelling thread does not touch the callback or its argument
 * again: it read fn and arg under the lock before the call, and only compares the pointer after.
 *
 * Tree: init_child registers the child's link on the parent (if the parent is cancelled, the
 * link runs at once and the child starts cancelled). fini unregisters the link, waiting if the
 * parent's request is cancelling this child right now, so after fini the parent never touches
 * the child again. A child is cancelled a little after its parent (when the parent's request
 * reaches its link): iort_cancel_requested(child) may be false while the parent's is true.
 *
 * Memory orders. Everything but state's CANCELLED bit is read and written under the lock, whose
 * acquire (cancel.A1, A3, A4) and release (cancel.R1) order it. So a callback's fn and arg, written by the
 * registering thread, are seen by the request that runs it; and what a callback wrote before it
 * returned is seen by an unregister that then sees running != cb (R1 by the runner, A1 by the
 * unregister). CANCELLED is read without the lock by iort_cancel_requested() and register's fast
 * path (cancel.A2, acquire); it is set by a release store (cancel.R2), so a thread that sees it
 * also sees what the requester did before requesting. WAITER and the count change by relaxed
 * read-modify-writes, which continue the release sequence headed by R2 (C11 5.1.2.4: a release sequence is
 * the release and the read-modify-writes after it), so an A2 that reads a value written by them
 * still synchronizes with R2. WAITER is never set before CANCELLED (I3: callbacks only run after
 * it), so every value A2 can read with CANCELLED set is R2's or in its release sequence.
 *
 * Test points (tests/runtime/windows/win_cancel.c): cancel.register (register saw the token
 * uncancelled without the lock, before taking it), cancel.running (the requester marked a callback
 * running and released the lock, before calling it), cancel.ran (the callback returned, before
 * the requester retakes the lock and clears running), cancel.unregister_wait (unregister found its
 * callback running in another thread and is about to sleep).
 */
#include <iort/cancel.h>

#include "futex-private.h"
#include "testpoint-private.h"

#include <errno.h>
#include <limits.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define LOCK_SPIN 64 /* lock: tries before sleeping; the critical sections are a few stores */

enum { CANCELLED = 1u, WAITER = 2u, RETURNED = 4u /* the count's unit */ };
enum { UNLOCKED = 0u, LOCKED = 1u, CONTENDED = 2u };

struct cb {
	struct cb *next;
	struct cb *prev; /* NULL at the head; itself once taken for running (I2) */
	iort_cancel_fn *fn;
	void *arg;
};

struct token {
	_Atomic uint32_t state;
	_Atomic uint32_t lock;
	struct token *parent; /* NULL for a root, or once the link ran during init_child */
	struct cb link;
	struct cb *cbs;
	struct cb *running;
	uint64_t runner;
};

_Static_assert(sizeof(struct cb) == sizeof(struct iort_cancel_cb), "cancel_cb layout");
_Static_assert(alignof(struct cb) == alignof(struct iort_cancel_cb), "cancel_cb alignment");
_Static_assert(sizeof(struct token) == sizeof(struct iort_cancel), "cancel layout");
_Static_assert(alignof(struct token) == alignof(struct iort_cancel), "cancel alignment");
_Static_assert(offsetof(struct token, link) == offsetof(struct iort_cancel, iort_private_link),
	       "cancel layout");
_Static_assert(offsetof(struct token, runner) == offsetof(struct iort_cancel, iort_private_runner),
	       "cancel layout");

static _Thread_local char self_mark; /* its address names the thread while it lives */

static inline struct token *tok(const struct iort_cancel *c)
{
	return (struct token *)(void *)c;
}

static inline struct cb *cbp(struct iort_cancel_cb *cb)
{
	return (struct cb *)(void *)cb;
}

static inline uint64_t self(void)
{
	return (uint64_t)(uintptr_t)&self_mark;
}

static void lock_slow(struct token *t)
{
	for (int i = 0; i < LOCK_SPIN; i++) {
		uint32_t z = UNLOCKED;

		/* MO relaxed: a peek; the CAS below acquires. */
		if (atomic_load_explicit(&t->lock, memory_order_relaxed) == UNLOCKED &&
		    /* MO cancel.A3 (acquire): as cancel.A1; pairs with cancel.R1 in unlock(). */
		    atomic_compare_exchange_weak_explicit(
			    &t->lock, &z, LOCKED, memory_order_acquire, memory_order_relaxed))
			return;
		iort_cpu_relax();
	}
	/* Mark CONTENDED so the holder's unlock wakes us; we then hold it as CONTENDED, which costs
	 * one needless wake at worst. */
	/* MO cancel.A4 (acquire): as cancel.A1; pairs with cancel.R1 in unlock(). */
	while (atomic_exchange_explicit(&t->lock, CONTENDED, memory_order_acquire) != UNLOCKED)
		iort__futex_wait_abs(&t->lock, CONTENDED, IORT_DEADLINE_NONE);
}

static inline void lock(struct token *t)
{
	uint32_t z = UNLOCKED;

	/* MO cancel.A1 (acquire): the list, running and runner as the last holder left them;
	 * pairs with cancel.R1 in unlock(). */
	if (!atomic_compare_exchange_strong_explicit(&t->lock, &z, LOCKED, memory_order_acquire,
						     memory_order_relaxed))
		lock_slow(t);
}

static inline void unlock(struct token *t)
{
	/* MO cancel.R1 (release): our writes under the lock before the next holder's reads;
	 * pairs with cancel.A1 in lock(), cancel.A3 and cancel.A4 in lock_slow(). */
	if (atomic_exchange_explicit(&t->lock, UNLOCKED, memory_order_release) == CONTENDED)
		iort__futex_wake(&t->lock, 1);
}

static inline bool cancelled(const struct token *t)
{
	/* MO cancel.A2 (acquire): what the requester did before requesting is visible once the bit
	 * is; pairs with cancel.R2 in iort_cancel_request() (WAITER's RMWs continue its release
	 * sequence, see the file header). */
	return atomic_load_explicit(&((struct token *)t)->state, memory_order_acquire) & CANCELLED;
}

/* The child's link on its parent: cancel the child (and its subtree). */
static void cancel_child(void *arg)
{
	iort_cancel_request(arg);
}

IORT_API void iort_cancel_init(struct iort_cancel *c)
{
	struct token *t = tok(c);

	atomic_init(&t->state, 0);
	atomic_init(&t->lock, UNLOCKED);
	t->parent = NULL;
	t->link = (struct cb){ NULL, NULL, NULL, NULL };
	t->cbs = NULL;
	t->running = NULL;
	t->runner = 0;
}

IORT_API void iort_cancel_init_child(struct iort_cancel *c, struct iort_cancel *parent)
{
	struct token *t = tok(c);

	iort_cancel_init(c);
	/* -ECANCELED: the parent was cancelled, cancel_child(c) has run, the link is not held. */
	if (iort_cancel_register(parent, &c->iort_private_link, cancel_child, c) == 0)
		t->parent = tok(parent);
}

IORT_API void iort_cancel_fini(struct iort_cancel *c)
{
	struct token *t = tok(c);

	/* Waits while the parent's request runs our link: after this, it never touches c. */
	if (t->parent)
		iort_cancel_unregister((struct iort_cancel *)(void *)t->parent,
				       &c->iort_private_link);
	t->parent = NULL;
}

IORT_API bool iort_cancel_requested(const struct iort_cancel *c)
{
	return cancelled(tok(c));
}

IORT_API void iort_cancel_request(struct iort_cancel *c)
{
	struct token *t = tok(c);
	struct cb *cb;

	if (cancelled(t))
		return;
	lock(t);
	/* MO relaxed: under the lock; CANCELLED and WAITER change only under it (I1, I3). */
	if (atomic_load_explicit(&t->state, memory_order_relaxed) & CANCELLED) {
		unlock(t);
		return;
	}
	/* MO cancel.R2 (release): what we did before requesting, for whoever sees the bit without
	 * the lock; pairs with cancel.A2 in cancelled(). A plain store: the state is 0 here (no
	 * WAITER before CANCELLED, I3), and only holders of the lock write it. */
	atomic_store_explicit(&t->state, CANCELLED, memory_order_release);
	while ((cb = t->cbs) != NULL) {
		iort_cancel_fn *fn = cb->fn;
		void *arg = cb->arg;
		uint32_t s;

		t->cbs = cb->next;
		if (cb->next)
			cb->next->prev = NULL;
		cb->next = NULL;
		cb->prev = cb; /* taken (I2) */
		t->running = cb;
		t->runner = self();
		unlock(t);
		IORT_TP("cancel.running");
		fn(arg); /* may free cb's container: cb is only compared from here on */
		IORT_TP("cancel.ran");
		lock(t);
		t->running = NULL;
		/* MO relaxed: a peek under the lock, where the state is written (I1, I3). */
		s = atomic_load_explicit(&t->state, memory_order_relaxed);
		/* Count one more returned callback and clear WAITER, in one RMW. MO relaxed: under
		 * the lock (I3); an RMW, so it continues cancel.R2's release sequence for cancel.A2. */
		atomic_fetch_add_explicit(&t->state, RETURNED - (s & WAITER), memory_order_relaxed);
		if (s & WAITER) {
			/* The sleepers re-check under the lock: waking after unlock is enough, and
			 * the token outlives this call (fini must not race with it). */
			unlock(t);
			iort__futex_wake(&t->state, INT_MAX);
			lock(t);
		}
	}
	unlock(t);
}

IORT_API int iort_cancel_register(struct iort_cancel *c, struct iort_cancel_cb *cb,
				  iort_cancel_fn *fn, void *arg)
{
	struct token *t = tok(c);
	struct cb *b = cbp(cb);

	if (cancelled(t))
		goto run;
	IORT_TP("cancel.register");
	lock(t);
	/* MO relaxed: under the lock, where CANCELLED is set (I1). */
	if (atomic_load_explicit(&t->state, memory_order_relaxed) & CANCELLED) {
		unlock(t);
		goto run;
	}
	b->fn = fn;
	b->arg = arg;
	b->prev = NULL;
	b->next = t->cbs;
	if (t->cbs)
		t->cbs->prev = b;
	t->cbs = b;
	unlock(t);
	return 0;
run:
	fn(arg);
	return -ECANCELED;
}

IORT_API bool iort_cancel_unregister(struct iort_cancel *c, struct iort_cancel_cb *cb)
{
	struct token *t = tok(c);
	struct cb *b = cbp(cb);

	lock(t);
	if (b->prev != b) { /* still registered (I2): unlink */
		if (b->prev)
			b->prev->next = b->next;
		else
			t->cbs = b->next;
		if (b->next)
			b->next->prev = b->prev;
		b->next = b->prev = NULL;
		unlock(t);
		return true;
	}
	while (t->running == b && t->runner != self()) {
		/* MO relaxed: under the lock (I3); an RMW, so it continues cancel.R2's release
		 * sequence for cancel.A2. */
		uint32_t s =
			atomic_fetch_or_explicit(&t->state, WAITER, memory_order_relaxed) | WAITER;

		unlock(t);
		IORT_TP("cancel.unregister_wait");
		/* Returns at once if a callback returned since (the word moved); spurious returns
		 * re-check under the lock. */
		iort__futex_wait_abs(&t->state, s, IORT_DEADLINE_NONE);
		lock(t);
	}
	unlock(t);
	return false;
}
