/*
 * The fair mutex and its condition variable (iort/mutex.h).
 *
 * One word holds everything (WebKit's WordLock shape, with Go's starvation mode and parking_lot's
 * eventual fairness on top):
 *
 *   bits 63..48  configuration (set_fairness, set_numa; 0 = defaults)
 *   bits 47..5   the queue's head: a struct waiter on the waiting thread's stack, 32-aligned
 *   bit 4  STARVING  the head waited past the bound: only the head may take the lock
 *   bit 3  PARKED    the head sleeps (or is about to): the next unlock must wake it
 *   bit 2  SPINNING  an unqueued thread spins on the lock (at most one)
 *   bit 1  QLOCKED   the queue lock: whoever sets it owns the queue links and the head's flags
 *   bit 0  LOCKED    the mutex is held
 *
 * After initialization every write to the word is a read-modify-write. So the release sequence
 * of every release RMW on the word runs through all later writes (C11 7.17.3p5 / C17 5.1.2.4p10),
 * and an acquire that reads any later value synchronizes with every release before it: the tags
 * below pair an acquire with "the release RMW that set or cleared the bit it looks at", and that
 * holds however many RMWs of other bits lie between.
 *
 * Lock:   CAS 0 -> LOCKED (mutex.A1 acquire). Otherwise the slow path: one thread at a time may
 *         spin unqueued (SPINNING) for the spin budget; the others, and the spinner once its
 *         budget is spent, append a waiter to the queue (FIFO). Non-head waiters sleep at once on
 *         their own futex word. The head spins for the budget, then parks: state AWAKE -> SLEEP
 *         (CAS, fails if a waker got there first), then CAS word |= PARKED, which requires LOCKED
 *         (if the lock was released meanwhile the CAS fails and the head takes it instead), then
 *         futex_wait on its state.
 * Unlock: CAS LOCKED -> 0 (mutex.R1 release) unless PARKED; with PARKED the unlocker, still
 *         holding the lock, takes the queue lock clearing PARKED, sets the head's state WOKEN,
 *         and releases lock and queue lock in one CAS (mutex.R2) that is refused while PARKED is
 *         set again (the head may re-park in between: then it clears PARKED and wakes again).
 *         Only then futex_wake on the head's state. So the unlocker never touches the mutex after
 *         its release: a mutex may be freed right after the unlock that released it (the futex
 *         wake names the waiter's word, not the mutex; if that waiter already returned, the wake
 *         hits a dead stack address, which the kernel treats as a spurious wake of whatever waits
 *         there, and every futex wait here loops on its condition).
 * Lost wake-ups: the head sleeps only after its PARKED CAS saw LOCKED; every release of LOCKED is
 *         an RMW that sees PARKED and then wakes, after writing WOKEN into the state that the
 *         head's futex_wait compares: either the head's futex_wait sees WOKEN, or it sleeps before
 *         the wake and is woken. A head that re-parks while a waker holds the queue lock sets
 *         PARKED again, and the waker's final CAS refuses to release until it has woken it again.
 * Fairness: release is competitive (the unlocker, the spinner and the woken head race) until the
 *         head has waited past the time bound or lost the race max_bypass times; then it sets
 *         STARVING and nobody else may take the lock (fast path: the word is not 0; slow path and
 *         try_lock check the bit), so the next release is the head's. The head clears STARVING
 *         with the CAS that takes the lock, then unlinks itself under the queue lock (inside its
 *         critical section: a few instructions) and sets PARKED for the next waiter, who sleeps.
 * Only the head changes the queue's head (it unlinks itself, after acquiring or when it gives
 *         up); others append (lock, cond) or unlink themselves from the middle (timeouts). The
 *         head's record therefore stays valid while a waker holding the queue lock writes to it.
 *
 * The condition variable's word: bits 47..5 its queue's head, bit 1 QLOCKED. A waiter appends
 * itself (cond queue lock), unlocks the mutex, sleeps. signal/broadcast take the cond's queue lock,
 * then the mutex's (never the reverse), and move waiters onto the mutex's queue (where = MUTEX);
 * a waiter that lands at the head of the mutex's queue is parked there (PARKED set) if the mutex
 * is held, or woken if it is free. A timed-out cond waiter that was already moved stays in the
 * mutex's queue and returns 0 (it was signalled; POSIX allows either).
 *
 * Test points (tests/runtime/windows/win_mutex.c): mutex.spin (the unqueued spinner, before its
 * first look), mutex.enqueued (appended, queue lock released, before waiting), mutex.park (head:
 * PARKED set, before futex_wait), mutex.wake (unlocker: queue lock held, head's state WOKEN, lock
 * still held), mutex.unlocked (unlocker: lock and queue lock released, its last touch of the
 * mutex done, before its futex_wake), mutex.leave (a timed-out waiter, before taking the queue
 * lock), mutex.leave_qlocked (a timed-out waiter holding the queue lock, after its look at LOCKED,
 * before it unlinks itself: an unlock landing here frees the lock under a leaving head),
 * mutex.head_acquired (the head holds the lock, not yet unlinked), cond.enqueued (on the cond's
 * queue, mutex still held); for asynchronous records: mutex.async_qlocked (queueing into an empty
 * queue, queue lock held, its look at LOCKED not yet made), mutex.async_enqueued (queued),
 * mutex.handing (the hand-off released the queue lock, GRANTED not yet stored),
 * mutex.async_cancel (a cancel, before the queue lock), mutex.async_cancel_handed (a cancel that
 * found its record handed, before waiting for GRANTED).
 *
 * Asynchronous records (iort_mutex_lock_async(): a task waits, no thread sleeps). A record is a
 * struct waiter with kind KIND_ASYNC, a callback and its argument (struct awaiter). It queues in
 * the same FIFO as the threads; it cannot spin or park, so the lock is handed to it instead:
 *   A1  While an asynchronous record is the head and the queue lock is free, LOCKED and PARKED
 *       are set. So every unlock takes unlock_wake()'s queue-locked path, and nobody can take the
 *       lock in between (the fast path needs a zero word, the slow path and try_lock a clear
 *       LOCKED): a record at the head is never bypassed. Every place that makes a record the
 *       head keeps A1: enqueue_async() into an empty queue sets PARKED with the CAS that releases
 *       the queue lock, which requires LOCKED (if the mutex was released meanwhile, it takes it
 *       instead and does not queue); qunlock_to_async() (the head before it left: a timed-out
 *       thread, a cancelled record) parks it if LOCKED, else takes the lock for it and hands it
 *       over; dequeue_acquired() and hand_off() set PARKED for the next head with the mutex held.
 *       While a record is the head, a queue-lock holder sees LOCKED (the unlocker waits for the
 *       queue lock because PARKED is set).
 *   A2  The hand-off (hand_off(), by the unlocker or by a leaving head that took the free lock
 *       for the record) keeps LOCKED set: the mutex passes to the record without being free.
 *       Under the queue lock it unlinks the record and marks it HANDING; a cancel, which takes
 *       the queue lock, finds it queued (SLEEP: unlinks it, true) or handed (false).
 *   A3  GRANTED is stored after the queue-lock release, and nothing of the record or the mutex is
 *       touched after it: the new owner may see GRANTED at once (a spurious poll), unlock and
 *       free the mutex, and free the record. A cancel that finds HANDING therefore waits for
 *       GRANTED before it returns (the unlocker is a few instructions from it).
 *   A4  fn(arg) runs last, on the unlocking thread, with the values read under the queue lock:
 *       it touches neither the record nor the mutex (arg is the caller's: a task's waker).
 * The order: the previous owner's critical section happens before the hand-off (its own unlock,
 * or through the word's release sequence and the leaver's queue lock), which stores GRANTED
 * with release (mutex.R7); the new owner reads it with acquire (mutex.A7, or mutex.A8 in a
 * cancel that returns false).
 */
#include <iort/clock.h>
#include <iort/mutex.h>

#include "lockdep-private.h"
#include "futex-private.h"
#include "testpoint-private.h"

#include <errno.h>
#include <sched.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>

enum {
	LOCKED = 1,
	QLOCKED = 2,
	SPINNING = 4,
	PARKED = 8,
	STARVING = 16,
};
#define PTR_MASK  ((uintptr_t)0x0000ffffffffffe0)
#define CFG_SHIFT 48
#define CFG_MASK  (~(uintptr_t)0 << CFG_SHIFT)

/* A snapshot of a word for a CAS; the CAS carries whatever order is needed. */
static inline uintptr_t peek(_Atomic uintptr_t *wp)
{
	/* MO relaxed: a snapshot; the CAS that uses it orders what it must. */
	return atomic_load_explicit(wp, memory_order_relaxed);
}

/* Take the mutex: *w -> n, where n sets LOCKED. */
static inline bool cas_lock(_Atomic uintptr_t *wp, uintptr_t *w, uintptr_t n)
{
	/* MO mutex.A1 (acquire): the critical section after the previous owner's; pairs with mutex.R1 and mutex.R2 (the unlocks), through the word's release sequence. */
	return atomic_compare_exchange_weak_explicit(wp, w, n, memory_order_acquire,
						     memory_order_relaxed);
}

/* Release the mutex (n clears LOCKED), the queue lock not held. */
static inline bool cas_unlock(_Atomic uintptr_t *wp, uintptr_t *w, uintptr_t n)
{
	/* MO mutex.R1 (release): the critical section before the next owner's; pairs with mutex.A0 and mutex.A1. */
	return atomic_compare_exchange_weak_explicit(wp, w, n, memory_order_release,
						     memory_order_relaxed);
}

/* Release the mutex and the queue lock together (unlock_wake). */
static inline bool cas_unlock_q(_Atomic uintptr_t *wp, uintptr_t *w, uintptr_t n)
{
	/* MO mutex.R2 (release): the critical section and the queue (the WOKEN head); pairs with mutex.A0, mutex.A1 (lockers) and mutex.A2 (the next queue-lock holder). */
	return atomic_compare_exchange_weak_explicit(wp, w, n, memory_order_release,
						     memory_order_relaxed);
}

/* Take a queue lock (n sets QLOCKED): the mutex's or a cond's. */
static inline bool cas_qlock(_Atomic uintptr_t *wp, uintptr_t *w, uintptr_t n)
{
	/* MO mutex.A2 (acquire): the links, records and head flags the previous holder wrote;
	 * pairs with mutex.R2, mutex.R3 and mutex.R6 (queue-lock releases). Also orders a
	 * head's SLEEP before our WOKEN: pairs with mutex.R5. */
	return atomic_compare_exchange_weak_explicit(wp, w, n, memory_order_acquire,
						     memory_order_relaxed);
}

/* Release the mutex's queue lock (n clears QLOCKED). */
static inline bool cas_qunlock(_Atomic uintptr_t *wp, uintptr_t *w, uintptr_t n)
{
	/* MO mutex.R3 (release): the links and the records of the queue; pairs with mutex.A2 (the
	 * next holder) and mutex.A4 (a head reading the word). */
	return atomic_compare_exchange_weak_explicit(wp, w, n, memory_order_release,
						     memory_order_relaxed);
}

/* Set or clear a flag that carries no data (SPINNING, STARVING; PARKED under the queue lock). */
static inline bool cas_flag(_Atomic uintptr_t *wp, uintptr_t *w, uintptr_t n)
{
	/* MO relaxed: a claim or a request bit; whatever data moves with the lock is ordered by
	 * the lock's and the queue lock's own CASes. */
	return atomic_compare_exchange_weak_explicit(wp, w, n, memory_order_relaxed,
						     memory_order_relaxed);
}

/* Release a cond's queue lock: only its holder writes a cond's word, so a store does. */
static inline void cond_qunlock(_Atomic uintptr_t *cp, uintptr_t v)
{
	/* MO mutex.R6 (release): the cond queue's links and records; pairs with mutex.A2. */
	atomic_store_explicit(cp, v, memory_order_release);
}

/* Configuration bits: time bound log2 (0 default, TIME_NONE none), bypass bound (0 none). */
#define CFG_TIME(w)	  ((unsigned)((w) >> CFG_SHIFT) & 63u)
#define CFG_BYPASS(w)	  ((unsigned)((w) >> (CFG_SHIFT + 6)) & 127u)
#define CFG_NUMA(w)	  ((unsigned)((w) >> (CFG_SHIFT + 13)) & 7u)
#define NUMA_SCAN	  8u /* waiters looked at for one on the acquirer's node */
#define TIME_DEFAULT_LOG2 18u
#define TIME_MAX_LOG2	  40u
#define TIME_NONE	  63u

/* A waiter's state: its futex word (a thread's); an asynchronous record's hand-off state. */
enum { AWAKE = 0, SLEEP = 1, WOKEN = 2, HANDING = 3, GRANTED = 4 };
/* Who waits: a thread (sleeps on state) or an asynchronous record (struct awaiter). */
enum { KIND_THREAD = 0, KIND_ASYNC = 1 };
/* Which queue a cond waiter is in (guarded by the cond's queue lock). */
enum { IN_NONE = 0, IN_COND = 1, IN_MUTEX = 2 };

struct waiter {
	_Atomic uint32_t state;
	uint32_t bypass;     /* times the head lost the race (the head's own) */
	struct waiter *next; /* links and tail: guarded by the queue lock */
	struct waiter *prev;
	struct waiter *tail; /* valid in the head only */
	uint64_t since_ns;   /* when it started waiting for the mutex */
	struct iort_mutex *m;
	int where;
	int node;	  /* NUMA node at enqueue (NUMA preference only) */
	unsigned skipped; /* times passed over for a same-node waiter while first in line */
	unsigned kind;	  /* KIND_THREAD or KIND_ASYNC: fixed while queued */
} __attribute__((aligned(32)));

/* An asynchronous waiter (struct iort_mutex_waiter): a record and what the hand-off calls. */
struct awaiter {
	struct waiter w;
	iort_mutex_grant_fn *fn;
	void *arg;
};

_Static_assert(sizeof(struct awaiter) == sizeof(struct iort_mutex_waiter), "awaiter layout");
_Static_assert(alignof(struct awaiter) == alignof(struct iort_mutex_waiter), "awaiter alignment");
_Static_assert(offsetof(struct awaiter, w.state) ==
			       offsetof(struct iort_mutex_waiter, iort_private_state) &&
		       offsetof(struct awaiter, w.kind) ==
			       offsetof(struct iort_mutex_waiter, iort_private_kind) &&
		       offsetof(struct awaiter, fn) ==
			       offsetof(struct iort_mutex_waiter, iort_private_fn) &&
		       offsetof(struct awaiter, arg) ==
			       offsetof(struct iort_mutex_waiter, iort_private_arg),
	       "awaiter fields");

_Static_assert(sizeof(void *) == 8, "the mutex word packs a 48-bit pointer");
_Static_assert(alignof(struct waiter) > (PARKED | STARVING | SPINNING | QLOCKED | LOCKED),
	       "waiter alignment leaves the flag bits free");

static inline _Atomic uintptr_t *word(struct iort_mutex *m)
{
	return (_Atomic uintptr_t *)(void *)&m->iort_private_word;
}

static inline _Atomic uintptr_t *cword(struct iort_cond *c)
{
	return (_Atomic uintptr_t *)(void *)&c->iort_private_word;
}

static inline struct waiter *ptr_of(uintptr_t w)
{
	return (struct waiter *)(w & PTR_MASK);
}

static inline uintptr_t with_ptr(uintptr_t w, struct waiter *p)
{
	uintptr_t v = (uintptr_t)p;

	/* Stacks of x86-64 and AArch64 (48-bit) processes are below 2^47. */
	if (iort_unlikely(v & ~PTR_MASK))
		__builtin_trap();
	return (w & ~PTR_MASK) | v;
}

/*
 * The spin budget: about what a futex sleep and wake-up costs, so spinning longer than that would
 * cost more than sleeping. Measured once per process as 24 uncontended FUTEX_WAKE syscalls (a
 * sleep and wake-up is two syscalls, two context switches and a scheduling decision; on the VMs
 * we measured, 10-30 syscalls' worth), clamped to [2 us, 100 us].
 */
static _Atomic uint32_t spin_budget_cache;

static uint64_t spin_budget_ns(void)
{
	/* MO relaxed: a plain number; racing first calls both measure and store similar values. */
	uint32_t b = atomic_load_explicit(&spin_budget_cache, memory_order_relaxed);

	if (iort_likely(b))
		return b;
	_Atomic uint32_t dummy = 0;
	uint64_t best = UINT64_MAX;
	for (int i = 0; i < 5; i++) {
		uint64_t t0 = iort_clock_ns();
		iort__futex_wake(&dummy, 1);
		uint64_t d = iort_clock_ns() - t0;
		if (d < best)
			best = d;
	}
	best *= 24;
	if (best < 2000)
		best = 2000;
	if (best > 100000)
		best = 100000;
	/* MO relaxed: a plain number (see the load above). */
	atomic_store_explicit(&spin_budget_cache, (uint32_t)best, memory_order_relaxed);
	return best;
}

static uint64_t time_bound_ns(uintptr_t w)
{
	unsigned t = CFG_TIME(w);

	if (t == TIME_NONE)
		return UINT64_MAX;
	return 1ull << (t ? t : TIME_DEFAULT_LOG2);
}

static bool starving_due(const struct waiter *me, uintptr_t w, uint64_t now)
{
	unsigned b = CFG_BYPASS(w);

	if (b && me->bypass >= b)
		return true;
	uint64_t bound = time_bound_ns(w);
	return bound != UINT64_MAX && now - me->since_ns >= bound;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* The calling thread's NUMA node (0 if unknown). */
static int current_node(void)
{
	unsigned cpu, node;

#ifdef IORT_TESTPOINTS
	if (iort__tp_node >= 0)
		return iort__tp_node;
#endif
	if (getcpu(&cpu, &node))
		return 0;
	return (int)node;
}

/* ---- the queue (caller holds the queue lock) ---- */

static struct waiter *q_append(struct waiter *head, struct waiter *me)
{
	me->next = NULL;
	if (!head) {
		me->prev = NULL;
		me->tail = me;
		return me;
	}
	struct waiter *t = head->tail;
	t->next = me;
	me->prev = t;
	head->tail = me;
	return head;
}

/* Unlink @p me; @return the new head. */
static struct waiter *q_remove(struct waiter *head, struct waiter *me)
{
	struct waiter *tail = head->tail;

	if (me->prev)
		me->prev->next = me->next;
	if (me->next)
		me->next->prev = me->prev;
	if (me == head) {
		head = me->next;
		if (head)
			head->tail = tail;
	} else if (me == tail) {
		head->tail = me->prev;
	}
	me->next = me->prev = NULL;
	return head;
}

/* Put @p me (not queued) first; @return the new head. */
static struct waiter *q_push_front(struct waiter *head, struct waiter *me)
{
	me->prev = NULL;
	me->next = head;
	me->tail = head ? head->tail : me;
	if (head)
		head->prev = me;
	return me;
}

/*
 * NUMA preference (set_numa): the next head should be a waiter on @p node if one is among the
 * first NUMA_SCAN, unless the waiter first in line has been passed over @p max_skips times
 * already. Each waiter is passed over at most max_skips times while it is first in line, so its
 * wait stays bounded. @return the new head.
 */
static struct waiter *q_prefer_node(struct waiter *head, int node, unsigned max_skips)
{
	if (!head || head->node == node || head->skipped >= max_skips)
		return head;
	struct waiter *p = head->next;
	for (unsigned i = 1; p && i < NUMA_SCAN; i++, p = p->next) {
		if (p->node == node) {
			head->skipped++;
			head = q_remove(head, p);
			return q_push_front(head, p);
		}
	}
	return head;
}

/* Spin until the queue lock is ours. @return the word with QLOCKED set. */
static uintptr_t qlock(_Atomic uintptr_t *wp)
{
	uintptr_t w = peek(wp);

	for (unsigned i = 0;; i++) {
		if (!(w & QLOCKED) && cas_qlock(wp, &w, w | QLOCKED))
			return w | QLOCKED;
		if (w & QLOCKED) {
			if ((i & 63) == 63)
				sched_yield(); /* the holder may be preempted */
			else
				iort_cpu_relax();
			w = peek(wp);
		}
	}
}

/*
 * Release the queue lock with @p head installed. If the head is the same as when the lock was
 * taken, its flags stay as they are now (the head sets PARKED and STARVING without the queue
 * lock); if it is a new head, they become @p flags.
 */
static void qunlock(_Atomic uintptr_t *wp, struct waiter *head, bool new_head, uintptr_t flags)
{
	uintptr_t w = peek(wp);
	uintptr_t keep = new_head ? ~(uintptr_t)(QLOCKED | PARKED | STARVING) : ~(uintptr_t)QLOCKED;

	for (;;) {
		uintptr_t n = with_ptr(w & keep, head) | (new_head ? flags : 0);
		if (cas_qunlock(wp, &w, n))
			return;
	}
}

static void mark_woken(struct waiter *who);

/*
 * Hand the mutex to @p head, an asynchronous record at the head of the queue (A1). The caller
 * holds the queue lock and the mutex (LOCKED, which stays set: it is the record's now). Unlink the
 * record, make the next waiter the head (PARKED: the mutex is held, so the new owner's unlock
 * wakes or hands to it), release the queue lock, and only then publish GRANTED, the last touch of
 * the record (A3), and call fn (A4).
 */
static void hand_off(_Atomic uintptr_t *wp, struct waiter *head)
{
	struct awaiter *a = (struct awaiter *)head;
	iort_mutex_grant_fn *fn = a->fn;
	void *arg = a->arg;
	struct waiter *nhead = q_remove(head, head);

	/* MO relaxed: read by a canceller under the queue lock, which mutex.R3 below publishes. */
	atomic_store_explicit(&head->state, HANDING, memory_order_relaxed);
	qunlock(wp, nhead, true, nhead ? PARKED : 0);
	IORT_TP("mutex.handing"); /* our last touch of the mutex is done; the record's is next */
	/* MO mutex.R7 (release): the critical sections before the hand-off (through the word's
	 * release sequence and our queue lock) and our last touches of the mutex and the record,
	 * before the new owner's; pairs with mutex.A7 (granted) and mutex.A8 (cancel). */
	atomic_store_explicit(&head->state, GRANTED, memory_order_release);
	fn(arg);
}

/*
 * Release the queue lock making @p a, an asynchronous record, the new head: PARKED while the
 * mutex is held (A1); if the mutex is free, take it for @p a (nobody else would: no unlock is
 * coming) and hand it over.
 */
static void qunlock_to_async(_Atomic uintptr_t *wp, struct waiter *a)
{
	uintptr_t w = peek(wp);

	for (;;) {
		if (w & LOCKED) {
			uintptr_t n = with_ptr(w & ~(uintptr_t)(QLOCKED | PARKED | STARVING), a);
			if (cas_qunlock(wp, &w, n | PARKED))
				return;
		} else if (cas_lock(wp, &w, w | LOCKED)) {
			hand_off(wp, a);
			return;
		}
	}
}

/*
 * Release the queue lock making @p nhead, a sleeping waiter, the new head: parked (PARKED) while
 * the mutex is held, so that its unlock wakes it; woken now if the mutex is free, since no unlock
 * would. Decided by the CAS that releases, so an unlock cannot slip between the look and the
 * decision. @return true when the caller must futex_wake(&nhead->state) (after every lock is
 * released; nhead may be gone by then, see the file header). An asynchronous @p nhead is parked
 * or handed the mutex (qunlock_to_async()): false.
 */
static bool qunlock_to_sleeper(_Atomic uintptr_t *wp, struct waiter *nhead)
{
	uintptr_t w = peek(wp);
	bool marked = false;

	if (nhead->kind == KIND_ASYNC) {
		qunlock_to_async(wp, nhead);
		return false;
	}

	for (;;) {
		uintptr_t n = with_ptr(w & ~(uintptr_t)(QLOCKED | PARKED | STARVING), nhead);
		if (w & LOCKED)
			n |= PARKED; /* if we marked it WOKEN on an earlier pass: harmless, it looks */
		else if (!marked) {
			mark_woken(nhead);
			marked = true;
		}
		if (cas_qunlock(wp, &w, n))
			return marked;
	}
}

/* ---- waking ---- */

/*
 * Set @p who's state WOKEN (it will look at the lock again). Caller holds the queue lock of the
 * queue @p who is in, so @p who cannot leave and its record is valid. The futex wake itself is
 * the caller's, after it released every lock: @p who may then be gone (see the file header).
 */
static void mark_woken(struct waiter *who)
{
	/* MO mutex.R4 (release): orders the waker's earlier writes (queue links under the lock)
	 * before the head's view; pairs with mutex.A3 (the head reading WOKEN). */
	atomic_store_explicit(&who->state, WOKEN, memory_order_release);
}

/* A waiter's look at its own state: WOKEN means a waker made it the one to look at the lock. */
static inline uint32_t state_load(struct waiter *me)
{
	/* MO mutex.A3 (acquire): the waker's writes before WOKEN (the queue it made us head of);
	 * pairs with mutex.R4. */
	return atomic_load_explicit(&me->state, memory_order_acquire);
}

/* Out of line: inlined, its register saves would land on the unlock fast path. */
__attribute__((noinline)) static void unlock_wake(struct iort_mutex *m, uintptr_t w)
{
	_Atomic uintptr_t *wp = word(m);
	unsigned spins = 0;

	/* Take the queue lock and clear PARKED in one CAS, still holding the mutex. */
	for (;;) {
		if (!(w & PARKED)) {
			if (cas_unlock(wp, &w, w & ~(uintptr_t)LOCKED))
				return;
			continue;
		}
		if (w & QLOCKED) {
			if ((++spins & 63) == 0)
				sched_yield(); /* the queue-lock holder may be preempted */
			else
				iort_cpu_relax();
			w = peek(wp);
			continue;
		}
		if (cas_qlock(wp, &w, (w | QLOCKED) & ~(uintptr_t)PARKED))
			break;
	}
	struct waiter *head = ptr_of(w);
	w = (w | QLOCKED) & ~(uintptr_t)PARKED;
	if (head->kind == KIND_ASYNC) {
		hand_off(wp, head); /* the mutex stays locked: it is the record's */
		return;
	}
	for (;;) {
		mark_woken(head);
		IORT_TP("mutex.wake");
		/* Release the mutex and the queue lock together, unless the head parked again since
		 * (its PARKED came after the WOKEN it may have overwritten): then wake it again. */
		while (!(w & PARKED)) {
			if (cas_unlock_q(wp, &w, w & ~(uintptr_t)(LOCKED | QLOCKED))) {
				IORT_TP("mutex.unlocked");
				iort__futex_wake(&head->state, 1);
				return;
			}
		}
		/* MO mutex.A6 (acquire): the head's SLEEP before its new PARKED, so the WOKEN we
		 * write next comes after it in the state's order; pairs with mutex.R5. */
		if (atomic_compare_exchange_weak_explicit(wp, &w, w & ~(uintptr_t)PARKED,
							  memory_order_acquire,
							  memory_order_relaxed))
			w &= ~(uintptr_t)PARKED;
	}
}

/* ---- the head of the queue, and leaving the queue ---- */

/* The head took the lock: unlink it and hand PARKED to the next waiter (who sleeps; the mutex is
 * held, so our unlock wakes it). */
static void dequeue_acquired(struct iort_mutex *m, struct waiter *me)
{
	IORT_TP("mutex.head_acquired");
	uintptr_t w = qlock(word(m));
	struct waiter *head = q_remove(ptr_of(w), me);
	if (CFG_NUMA(w))
		head = q_prefer_node(head, current_node(), CFG_NUMA(w));
	/* STARVING was cleared by the acquiring CAS; the next head has not asked yet. */
	qunlock(word(m), head, true, head ? PARKED : 0);
}

/*
 * A waiter whose deadline passed: take the lock if it is ours to take now, else leave the queue.
 * @return 0 (locked after all) or -ETIMEDOUT.
 */
static int leave_queue(struct iort_mutex *m, struct waiter *me)
{
	_Atomic uintptr_t *wp = word(m);

	IORT_TP("mutex.leave");
	uintptr_t w = qlock(wp);
	IORT_TP("mutex.leave_qlocked");
	struct waiter *head = ptr_of(w);
	bool is_head = head == me;

	while (!(w & LOCKED) && (is_head || !(w & STARVING))) {
		uintptr_t n = (w | LOCKED) & ~(uintptr_t)(is_head ? STARVING : 0);
		if (cas_lock(wp, &w, n)) {
			struct waiter *nhead = q_remove(head, me);
			qunlock(wp, nhead, is_head, nhead ? PARKED : 0);
			return 0;
		}
	}
	struct waiter *nhead = q_remove(head, me);
	if (!is_head || !nhead)
		qunlock(wp, nhead, is_head,
			0); /* a head leaving takes its PARKED, STARVING along */
	else if (qunlock_to_sleeper(wp, nhead))
		iort__futex_wake(&nhead->state, 1);
	return -ETIMEDOUT;
}

/* Sleep on our state until it is no longer SLEEP or @p until; the lock-order checker sees it. */
static void park(struct iort_mutex *m, struct waiter *me, uint64_t until)
{
#if IORT_LOCKDEP
	if (iort__ld_enabled())
		iort__ld_wait_begin(m);
#else
	(void)m;
#endif
	iort__futex_wait_abs(&me->state, SLEEP, until);
}

/* The checker's watchdog: once per wait, when it has lasted past the stall threshold. */
struct stall {
	uint64_t at; /* UINT64_MAX: not checking, or done */
};

static void stall_init(struct stall *st, const struct waiter *me)
{
	st->at = UINT64_MAX;
#if IORT_LOCKDEP
	if (iort__ld_enabled())
		st->at = me->since_ns + iort__ld_stall_ns();
#else
	(void)me;
#endif
}

static void stall_check(struct stall *st, struct iort_mutex *m, const struct waiter *me,
			uint64_t now)
{
#if IORT_LOCKDEP
	if (now >= st->at) {
		st->at = UINT64_MAX;
		iort__ld_stalled(m, now - me->since_ns);
	}
#else
	(void)st, (void)m, (void)me, (void)now;
#endif
}

/*
 * Wait in the queue until the lock is ours (0) or the deadline passes (-ETIMEDOUT, out of the
 * queue). @p me is queued; its state is SLEEP (a sleeper, woken only once it is the head), AWAKE
 * (it is the head: it was first in an empty queue) or WOKEN (the head, woken).
 */
static int wait_queued(struct iort_mutex *m, struct waiter *me, uint64_t deadline_ns)
{
	_Atomic uintptr_t *wp = word(m);
	uint64_t budget = spin_budget_ns();
	struct stall st;
	uint32_t s;

	stall_init(&st, me);
	while ((s = state_load(me)) == SLEEP) {
		uint64_t now = iort_clock_ns();
		if (now >= deadline_ns)
			return leave_queue(m, me);
		stall_check(&st, m, me, now);
		park(m, me, min_u64(deadline_ns, st.at));
	}

	/* The head: spin, then park; take the lock when it is free (if it is reserved, it is
	 * reserved for us). A head that was woken and finds the lock taken again lost a race. */
	bool woken = s == WOKEN;
	/* MO relaxed: our own state; a waker writes it only after we set PARKED again. */
	atomic_store_explicit(&me->state, AWAKE, memory_order_relaxed);
	uint64_t spin_from = iort_clock_ns();
	/* MO mutex.A4 (acquire): the word as the last queue-lock holder left it; pairs with mutex.R3. */
	uintptr_t w = atomic_load_explicit(wp, memory_order_acquire);
	for (unsigned i = 1;; i++) {
		if (!(w & LOCKED)) {
			if (cas_lock(wp, &w, (w | LOCKED) & ~(uintptr_t)STARVING)) {
				dequeue_acquired(m, me);
				return 0;
			}
			if (w & LOCKED)
				me->bypass++; /* someone else won the race */
			continue;
		}
		if (woken) {
			woken = false;
			me->bypass++;
		}
		if (i & 15) {
			iort_cpu_relax();
			w = peek(wp);
			continue;
		}
		uint64_t now = iort_clock_ns();
		if (!(w & STARVING) && starving_due(me, w, now)) {
			if (cas_flag(wp, &w, w | STARVING))
				w |= STARVING;
			continue;
		}
		if (now >= deadline_ns)
			return leave_queue(m, me);
		stall_check(&st, m, me, now);
		if (now - spin_from < budget) {
			w = peek(wp);
			continue;
		}
		/* Park: the state first (fails if a waker wrote WOKEN since we last looked), then
		 * PARKED, which requires LOCKED (if the lock was released, we take it instead). */
		s = AWAKE;
		/* MO relaxed: our own word; ordered before PARKED by mutex.R5. */
		if (!atomic_compare_exchange_strong_explicit(
			    &me->state, &s, SLEEP, memory_order_relaxed, memory_order_relaxed)) {
			/* MO relaxed: ours again; we are about to look at the word anyway. */
			atomic_store_explicit(&me->state, AWAKE, memory_order_relaxed);
			spin_from = now;
			continue;
		}
		/* MO mutex.R5 (release): our SLEEP before PARKED, so a waker that sees PARKED writes
		 * WOKEN after it (coherence); pairs with mutex.A2 and mutex.A6 in unlock_wake(). */
		if (!atomic_compare_exchange_strong_explicit(
			    wp, &w, w | PARKED, memory_order_release, memory_order_relaxed)) {
			atomic_store_explicit(&me->state, AWAKE,
					      memory_order_relaxed); /* MO relaxed: ours */
			continue;
		}
		IORT_TP("mutex.park");
		uint64_t until = min_u64(deadline_ns, st.at);
		if (!(w & STARVING)) {
			uint64_t bound = time_bound_ns(w);
			if (bound != UINT64_MAX)
				until = min_u64(until, me->since_ns + bound);
		}
		park(m, me, until);
		/* WOKEN or not (a timeout, a spurious wake), look again. PARKED may still be set:
		 * a later unlock then wakes us needlessly, which is harmless. */
		/* MO mutex.A5 (acquire): as state_load(); pairs with mutex.R4. */
		s = atomic_exchange_explicit(&me->state, AWAKE, memory_order_acquire);
		woken = s == WOKEN;
		spin_from = iort_clock_ns();
		w = peek(wp);
	}
}

/*
 * Take the mutex if it is free and @p try_lock, else the queue lock (spinning, then yielding,
 * while another thread holds it). @return true: the mutex is ours. false: the queue lock is
 * ours and *@p out is the word as it was just before we set QLOCKED.
 */
static bool lock_or_qlock(_Atomic uintptr_t *wp, bool try_lock, uintptr_t *out)
{
	uintptr_t w = peek(wp);

	for (unsigned i = 0;; i++) {
		if (try_lock && !(w & (LOCKED | STARVING))) {
			if (cas_lock(wp, &w, w | LOCKED))
				return true;
			continue;
		}
		if (!(w & QLOCKED)) {
			if (cas_qlock(wp, &w, w | QLOCKED)) {
				*out = w;
				return false;
			}
			continue;
		}
		if ((i & 63) == 63)
			sched_yield();
		else
			iort_cpu_relax();
		w = peek(wp);
	}
}

/* Append @p me (state set by the caller) to @p m's queue; if @p try_lock, take the lock instead
 * when it is free and not reserved. @return true if it took the lock (not queued). */
static bool enqueue(struct iort_mutex *m, struct waiter *me, bool try_lock)
{
	_Atomic uintptr_t *wp = word(m);
	uintptr_t w;

	if (lock_or_qlock(wp, try_lock, &w))
		return true;
	struct waiter *head = ptr_of(w);
	bool first = head == NULL;
	if (CFG_NUMA(w))
		me->node = current_node(); /* a syscall-free vDSO call; under the queue lock */
	/* MO relaxed: published by the queue-lock release (mutex.R3). */
	atomic_store_explicit(&me->state, first ? AWAKE : SLEEP, memory_order_relaxed);
	head = q_append(head, me);
	qunlock(wp, head, first, 0);
	IORT_TP("mutex.enqueued");
	return false;
}

/* Out of line, as unlock_wake(). */
__attribute__((noinline)) static int lock_slow(struct iort_mutex *m, uint64_t deadline_ns)
{
	_Atomic uintptr_t *wp = word(m);
	uint64_t start = iort_clock_ns();
	uint64_t budget = spin_budget_ns();
	uintptr_t w = peek(wp);
	bool spinner = false;

	/* One unqueued spinner at a time. */
	for (unsigned i = 0;; i++) {
		if (!(w & (LOCKED | STARVING))) {
			uintptr_t n = (w | LOCKED) & ~(uintptr_t)(spinner ? SPINNING : 0);
			if (cas_lock(wp, &w, n))
				return 0;
			continue;
		}
		if (w & STARVING)
			break; /* reserved for the head: queue up */
		if (!spinner) {
			if (w & SPINNING)
				break;
			if (!cas_flag(wp, &w, w | SPINNING))
				continue;
			spinner = true;
			IORT_TP("mutex.spin");
		}
		if ((i & 15) == 15) {
			uint64_t now = iort_clock_ns();
			if (now - start >= budget || now >= deadline_ns)
				break;
		}
		iort_cpu_relax();
		w = peek(wp);
	}
	if (spinner)
		/* MO relaxed: gives up the claim. */
		atomic_fetch_and_explicit(wp, ~(uintptr_t)SPINNING, memory_order_relaxed);
	if (iort_clock_ns() >= deadline_ns)
		return -ETIMEDOUT;

	struct waiter me = { .since_ns = start, .m = m };
	if (enqueue(m, &me, true))
		return 0;
	return wait_queued(m, &me, deadline_ns);
}

/* ---- the API ---- */

IORT_API void iort_mutex_init_class(struct iort_mutex *m, const char *name)
{
	m->iort_private_word = 0;
#if IORT_LOCKDEP
	m->iort_private_dep = (struct iort_lockdep_map)IORT_LOCKDEP_MAP_INIT(name);
#else
	(void)name;
#endif
}

#undef iort_mutex_init
IORT_API void iort_mutex_init(struct iort_mutex *m)
{
	m->iort_private_word = 0;
#if IORT_LOCKDEP
	/* Called as a function (not through the macro): the class is the caller's place. */
	m->iort_private_dep = (struct iort_lockdep_map){ NULL, __builtin_return_address(0), 0, 0 };
#endif
}

IORT_API int iort_mutex_set_fairness(struct iort_mutex *m, uint64_t max_wait_ns,
				     unsigned max_bypass)
{
	unsigned t;

	if (max_bypass > 126 || (max_wait_ns == UINT64_MAX && max_bypass == 0))
		return -EINVAL;
	if (max_wait_ns == UINT64_MAX) {
		t = TIME_NONE;
	} else {
		t = 1;
		while (t < TIME_MAX_LOG2 && (1ull << t) < max_wait_ns)
			t++;
	}
	uintptr_t cfg = ((uintptr_t)t | ((uintptr_t)max_bypass << 6)) << CFG_SHIFT;
	if (t == TIME_DEFAULT_LOG2 && max_bypass == 0)
		cfg = 0; /* the defaults keep the one-CAS fast path */
	uintptr_t mask = (uintptr_t)0x1fff << CFG_SHIFT; /* time and bypass; NUMA stays */
	uintptr_t w = peek(word(m));
	/* MO relaxed: no other call on @p m is in flight (the contract): the caller's own
	 * synchronization publishes the mutex. The one plain store to the word after init. */
	atomic_store_explicit(word(m), (w & ~mask) | cfg, memory_order_relaxed);
	return 0;
}

IORT_API int iort_mutex_set_numa(struct iort_mutex *m, unsigned max_skips)
{
	if (max_skips > 7)
		return -EINVAL;
	uintptr_t cfg = (uintptr_t)max_skips << (CFG_SHIFT + 13);
	uintptr_t mask = (uintptr_t)7 << (CFG_SHIFT + 13);
	uintptr_t w = peek(word(m));
	/* MO relaxed: as in iort_mutex_set_fairness(). */
	atomic_store_explicit(word(m), (w & ~mask) | cfg, memory_order_relaxed);
	return 0;
}

static inline bool fast_lock(struct iort_mutex *m)
{
	uintptr_t w = 0;
	/* MO mutex.A0 (acquire): the fast path of cas_lock(); pairs with mutex.R1 and mutex.R2. */
	return atomic_compare_exchange_strong_explicit(word(m), &w, LOCKED, memory_order_acquire,
						       memory_order_relaxed);
}

/* lock and lock_nested are written out: the caller's return address is read only when the checker
 * is on (a shared helper taking it as an argument put its load on the fast path: the gate counted
 * one more instruction per lock). */
IORT_API void iort_mutex_lock(struct iort_mutex *m)
{
#if IORT_LOCKDEP
	if (iort__ld_enabled())
		iort__ld_acquire(&m->iort_private_dep, m, 0, 0, __builtin_return_address(0));
#endif
	if (iort_likely(fast_lock(m)))
		return;
	(void)lock_slow(m, IORT_DEADLINE_NONE);
}

IORT_API void iort_mutex_lock_nested(struct iort_mutex *m, unsigned subclass)
{
#if IORT_LOCKDEP
	if (iort__ld_enabled())
		iort__ld_acquire(&m->iort_private_dep, m, subclass, 0, __builtin_return_address(0));
#else
	(void)subclass;
#endif
	if (iort_likely(fast_lock(m)))
		return;
	(void)lock_slow(m, IORT_DEADLINE_NONE);
}

IORT_API int iort_mutex_lock_timed(struct iort_mutex *m, uint64_t deadline_ns)
{
#if IORT_LOCKDEP
	if (iort__ld_enabled())
		iort__ld_acquire(&m->iort_private_dep, m, 0, 0, __builtin_return_address(0));
#endif
	if (iort_likely(fast_lock(m)))
		return 0;
	int r = lock_slow(m, deadline_ns);
#if IORT_LOCKDEP
	if (r && iort__ld_enabled())
		iort__ld_release(&m->iort_private_dep, m);
#endif
	return r;
}

IORT_API bool iort_mutex_try_lock(struct iort_mutex *m)
{
	_Atomic uintptr_t *wp = word(m);
	uintptr_t w = 0;

	while (!cas_lock(wp, &w, w | LOCKED)) {
		if (w & (LOCKED | STARVING))
			return false;
	}
#if IORT_LOCKDEP
	if (iort__ld_enabled())
		iort__ld_acquire(&m->iort_private_dep, m, 0, IORT__LD_TRY,
				 __builtin_return_address(0));
#endif
	return true;
}

IORT_API void iort_mutex_unlock(struct iort_mutex *m)
{
	_Atomic uintptr_t *wp = word(m);

#if IORT_LOCKDEP
	if (iort__ld_enabled())
		iort__ld_release(&m->iort_private_dep, m);
#endif
	uintptr_t w = LOCKED;
	if (iort_likely(cas_unlock(wp, &w, 0)))
		return;
	unlock_wake(m, w);
}

/* ---- asynchronous waiters ---- */

/*
 * Queue the record @p me (A1), or take the mutex when it is free and not reserved (also when it
 * was released while we held the queue lock: decided by the CAS that releases it).
 * @return true if it took the mutex (not queued).
 */
static bool enqueue_async(struct iort_mutex *m, struct waiter *me)
{
	_Atomic uintptr_t *wp = word(m);
	uintptr_t w;

	if (lock_or_qlock(wp, true, &w))
		return true;
	struct waiter *head = ptr_of(w);
	if (CFG_NUMA(w))
		me->node = current_node();
	/* MO relaxed: published by the queue-lock release (mutex.R3) or unused (we take the lock). */
	atomic_store_explicit(&me->state, SLEEP, memory_order_relaxed);
	if (head) {
		/* Behind a head: an asynchronous head keeps its PARKED (A1), a thread its own flags. */
		qunlock(wp, q_append(head, me), false, 0);
		IORT_TP("mutex.async_enqueued");
		return false;
	}
	/* First: the head must be PARKED while the mutex is held, and the mutex may have been
	 * released since our look (an unlock without PARKED does not wait for the queue lock). */
	IORT_TP("mutex.async_qlocked");
	head = q_append(NULL, me);
	w = peek(wp);
	for (;;) {
		if (w & LOCKED) {
			uintptr_t n = with_ptr(w & ~(uintptr_t)(QLOCKED | PARKED | STARVING), head);
			if (cas_qunlock(wp, &w, n | PARKED)) {
				IORT_TP("mutex.async_enqueued");
				return false;
			}
		} else if (cas_lock(wp, &w, (w | LOCKED) & ~(uintptr_t)QLOCKED)) {
			/* The queue lock ends with an acquire only: the queue stays empty and we
			 * wrote nothing that the next holder reads. */
			return true;
		}
	}
}

IORT_API bool iort_mutex_lock_async(struct iort_mutex *m, struct iort_mutex_waiter *w,
				    iort_mutex_grant_fn *fn, void *arg)
{
	struct awaiter *a = (struct awaiter *)(void *)w;

	if (iort_likely(fast_lock(m)))
		return true;
	a->w = (struct waiter){ .m = m, .kind = KIND_ASYNC };
	a->fn = fn;
	a->arg = arg;
	return enqueue_async(m, &a->w);
}

IORT_API bool iort_mutex_waiter_granted(const struct iort_mutex_waiter *w)
{
	const struct awaiter *a = (const struct awaiter *)(const void *)w;

	/* MO mutex.A7 (acquire): the critical sections before the hand-off; pairs with mutex.R7. */
	return atomic_load_explicit(&a->w.state, memory_order_acquire) == GRANTED;
}

IORT_API bool iort_mutex_lock_async_cancel(struct iort_mutex *m, struct iort_mutex_waiter *aw)
{
	struct waiter *me = &((struct awaiter *)(void *)aw)->w;
	_Atomic uintptr_t *wp = word(m);

	IORT_TP("mutex.async_cancel");
	uintptr_t w = qlock(wp);
	struct waiter *head = ptr_of(w);
	/* MO relaxed: under the queue lock; an unlinking hand-off wrote HANDING under it. */
	if (atomic_load_explicit(&me->state, memory_order_relaxed) == SLEEP) {
		bool is_head = head == me;
		struct waiter *nhead = q_remove(head, me);
		/* A head leaves with its PARKED; the next head is parked (the mutex is held: A1). */
		if (!is_head || !nhead)
			qunlock(wp, nhead, is_head, 0);
		else if (qunlock_to_sleeper(wp, nhead))
			iort__futex_wake(&nhead->state, 1);
		return true;
	}
	qunlock(wp, head, false, 0);
	/* Handed: wait for the unlocker's last touch of the record (A3). */
	IORT_TP("mutex.async_cancel_handed");
	for (unsigned i = 1;; i++) {
		/* MO mutex.A8 (acquire): as mutex.A7; pairs with mutex.R7. */
		if (atomic_load_explicit(&me->state, memory_order_acquire) == GRANTED)
			return false;
		if ((i & 63) == 0)
			sched_yield(); /* the unlocker may be preempted */
		else
			iort_cpu_relax();
	}
}

IORT_API void iort_mutex_unlock_async(struct iort_mutex *m)
{
	uintptr_t w = LOCKED;

	if (iort_likely(cas_unlock(word(m), &w, 0)))
		return;
	unlock_wake(m, w);
}

IORT_API int iort_mutex_fini(struct iort_mutex *m)
{
	uintptr_t w = peek(word(m));

	return (w & ~CFG_MASK) ? -EBUSY : 0;
}

/* ---- the condition variable ---- */

IORT_API void iort_cond_init(struct iort_cond *c)
{
	c->iort_private_word = 0;
}

IORT_API int iort_cond_fini(struct iort_cond *c)
{
	/* MO relaxed: no call on @p c is in flight (the contract). */
	return atomic_load_explicit(cword(c), memory_order_relaxed) ? -EBUSY : 0;
}

/* Move the waiters @p first.. (linked by next) onto their mutex's queue, in order. The caller holds
 * the cond's queue lock (so a timed-out waiter sees where it is); all wait with the same mutex. */
static void move_to_mutex(struct waiter *first)
{
	_Atomic uintptr_t *wp = word(first->m);
	uintptr_t w = qlock(wp);
	struct waiter *head = ptr_of(w);
	bool was_empty = head == NULL;
	uint64_t now = iort_clock_ns();

	for (struct waiter *p = first, *next; p; p = next) {
		next = p->next;
		p->where = IN_MUTEX;
		p->since_ns = now;
		head = q_append(head, p);
	}
	if (!was_empty)
		qunlock(wp, head, false, 0);
	else if (qunlock_to_sleeper(wp, head))
		iort__futex_wake(&head->state, 1);
}

static int cond_wait(struct iort_cond *c, struct iort_mutex *m, uint64_t deadline_ns)
{
	_Atomic uintptr_t *cp = cword(c);
	struct waiter me = { .m = m, .where = IN_COND };

	atomic_init(&me.state, SLEEP);
	uintptr_t w = qlock(cp);
	cond_qunlock(cp, with_ptr(0, q_append(ptr_of(w), &me)));
	IORT_TP("cond.enqueued");
	iort_mutex_unlock(m);

	while (state_load(&me) == SLEEP) { /* WOKEN: the head of the mutex's queue */
		if (deadline_ns != IORT_DEADLINE_NONE && iort_clock_ns() >= deadline_ns) {
			w = qlock(cp);
			if (me.where == IN_COND) {
				cond_qunlock(cp, with_ptr(0, q_remove(ptr_of(w), &me)));
				iort_mutex_lock(m);
				return -ETIMEDOUT;
			}
			/* Signalled already, and queued on the mutex: wait there, without deadline. */
			cond_qunlock(cp, w & ~(uintptr_t)QLOCKED);
			deadline_ns = IORT_DEADLINE_NONE;
			continue;
		}
		iort__futex_wait_abs(&me.state, SLEEP, deadline_ns);
	}
#if IORT_LOCKDEP
	if (iort__ld_enabled())
		iort__ld_acquire(&m->iort_private_dep, m, 0, 0, __builtin_return_address(0));
#endif
	(void)wait_queued(m, &me, IORT_DEADLINE_NONE); /* no deadline: it returns 0 */
	return 0;
}

IORT_API void iort_cond_wait(struct iort_cond *c, struct iort_mutex *m)
{
	(void)cond_wait(c, m, IORT_DEADLINE_NONE);
}

IORT_API int iort_cond_wait_timed(struct iort_cond *c, struct iort_mutex *m, uint64_t deadline_ns)
{
	return cond_wait(c, m, deadline_ns);
}

static void cond_wake(struct iort_cond *c, bool all)
{
	_Atomic uintptr_t *cp = cword(c);

	/* MO relaxed: an empty queue needs nothing. A waiter appends itself before it unlocks the
	 * mutex, so a signaller that holds the mutex, or took it after the waiter's unlock, sees it
	 * (mutex.R1 -> A1 orders the append before); without the mutex POSIX promises no more. */
	if (!atomic_load_explicit(cp, memory_order_relaxed))
		return;
	uintptr_t w = qlock(cp);
	struct waiter *head = ptr_of(w);
	if (head) {
		struct waiter *first = head;
		/* all: the whole list (first..tail, next-linked); one: the first, unlinked. */
		head = all ? NULL : q_remove(head, first);
		move_to_mutex(first);
	}
	cond_qunlock(cp, with_ptr(0, head));
}

IORT_API void iort_cond_signal(struct iort_cond *c)
{
	cond_wake(c, false);
}

IORT_API void iort_cond_broadcast(struct iort_cond *c)
{
	cond_wake(c, true);
}
