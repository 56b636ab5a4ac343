/**
 * A fair mutex that stays fast: one atomic to lock and one to unlock when uncontended, a short
 * spin, then a FIFO queue of parked waiters, and bounded unfairness.
 *
 * Release is competitive (the releasing thread, a spinner or the woken queue head may take the
 * lock next: that keeps the lock busy while a sleeper wakes up) until the queue's head has waited
 * longer than the mutex's bound (time, or number of times it lost the race). Then the head asks
 * for the lock and the next release is reserved for it: nobody else can take it. So no waiter
 * waits much longer than the bound plus the critical sections already ahead of it, and a waiter
 * that is woken is the only one, never a herd.
 *
 * At most two threads spin at once (one arriving thread and the queue's head); everyone else
 * sleeps on a futex word of its own. With more threads than cores, the lock never collapses the
 * way spin locks and queue locks with spinning waiters do. The spin lasts about as long as a
 * futex sleep and wake-up costs, measured once per process.
 *
 * The condition variable moves its waiters onto the mutex's queue instead of waking them (wait
 * morphing): a signal sent while holding the mutex wakes nobody until the mutex is released, and
 * a broadcast wakes one thread at a time as the mutex passes along.
 *
 * A task waits without a thread (iort_mutex_lock_async): its record queues in the same FIFO and
 * the unlock hands the mutex to it (never free in between) and calls its callback; see
 * docs/async.md.
 *
 * Lock-order checking (iort/lockdep.h) sees every acquisition by a thread when enabled at run
 * time (asynchronous ones are not seen: their owner is a task); built with -Dlockdep=disabled the
 * mutex is 8 bytes.
 *
 * Deadlines are absolute CLOCK_MONOTONIC nanoseconds (iort_clock_ns(); IORT_DEADLINE_NONE).
 *
 * Synchronization: every call may come from any thread, except init/fini/set_fairness (no other
 * call on the same mutex in flight). The mutex is not recursive; unlock by a thread that does not
 * hold it is undefined (lockdep reports it). A mutex may be freed by any thread once it is unlocked
 * and no call on it is in flight, including right after the unlock that released it.
 * Progress: try_lock and unlock never block (unlock makes a futex wake only when a waiter sleeps).
 */
#ifndef IORT_MUTEX_H
#define IORT_MUTEX_H

#include <stdbool.h>
#include <stdint.h>

#include <iort/compiler.h>
#include <iort/config.h>
#include <iort/lockdep.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef IORT_DEADLINE_NONE
#define IORT_DEADLINE_NONE UINT64_MAX
#endif

/** Caller-allocated; fields are private. */
struct iort_mutex {
	uintptr_t iort_private_word;
#if IORT_LOCKDEP
	struct iort_lockdep_map iort_private_dep;
#endif
};

#define IORT__STR2(x) #x
#define IORT__STR(x)  IORT__STR2(x)

#if IORT_LOCKDEP
/** Static initializer; the lock-order class is the place it is used. */
#define IORT_MUTEX_INIT                                                    \
	{                                                                  \
		0, IORT_LOCKDEP_MAP_INIT(__FILE__ ":" IORT__STR(__LINE__)) \
	}
#else
#define IORT_MUTEX_INIT \
	{               \
		0       \
	}
#endif

/**
 * Initialize with the default fairness bound; the lock-order class is @p name (a string that
 * outlives the mutex; mutexes with equal names share a class).
 */
IORT_API void iort_mutex_init_class(struct iort_mutex *m, const char *name);
/** Initialize; the lock-order class is the place of the call. */
IORT_API void iort_mutex_init(struct iort_mutex *m);
#define iort_mutex_init(m) iort_mutex_init_class((m), __FILE__ ":" IORT__STR(__LINE__))

/**
 * Set the unfairness bound: once the queue's head has waited @p max_wait_ns (rounded up to a power
 * of two, at most 2^40 ns; UINT64_MAX: no time bound) or lost the race for the lock @p max_bypass
 * times (at most 126; 0: no count bound), the next release is reserved for it.
 * Default: 2^18 ns (262 us) and no count bound.
 * @return 0, -EINVAL (both bounds off: the head could wait for ever; or max_bypass > 126).
 */
IORT_API int iort_mutex_set_fairness(struct iort_mutex *m, uint64_t max_wait_ns,
				     unsigned max_bypass);

/**
 * Prefer waiters on the same NUMA node: when a queued waiter takes the mutex, the next in line is
 * the first waiter (among the next 8) on the taker's node, unless the waiter first in line has
 * been passed over @p max_skips times already (1..7; 0: off, the default). Keeps the lock's
 * cache lines on one node longer; each waiter's extra wait is bounded by max_skips hand-overs
 * while it is first in line. Call before use, as set_fairness.
 * @return 0, -EINVAL (max_skips > 7).
 */
IORT_API int iort_mutex_set_numa(struct iort_mutex *m, unsigned max_skips);

IORT_API void iort_mutex_lock(struct iort_mutex *m);
/**
 * As iort_mutex_lock, for a mutex of the same class as one already held: @p subclass (1..7)
 * names the nesting level for the lock-order checker (0 is plain lock).
 */
IORT_API void iort_mutex_lock_nested(struct iort_mutex *m, unsigned subclass);
/** Take the mutex only if it is free now and not reserved for a starving waiter; never queues. */
IORT_API bool iort_mutex_try_lock(struct iort_mutex *m) IORT_WUR;
/**
 * @return 0 (locked) or -ETIMEDOUT (deadline passed; the caller left the queue and does not
 * hold the mutex).
 */
IORT_API int iort_mutex_lock_timed(struct iort_mutex *m, uint64_t deadline_ns) IORT_WUR;
IORT_API void iort_mutex_unlock(struct iort_mutex *m);
/** @return 0, -EBUSY (locked or waited on: a bug in the caller). */
IORT_API int iort_mutex_fini(struct iort_mutex *m);

/* ---- asynchronous acquisition (a task, not a thread, waits) ---- */

/** Called once when the mutex is handed to an asynchronous waiter (see iort_mutex_lock_async()). */
typedef void iort_mutex_grant_fn(void *arg);

/**
 * An asynchronous waiter's record in the mutex's queue (96 bytes, 32-aligned): embed it in the
 * waiting object; fields are private.
 */
struct iort_mutex_waiter {
	uint32_t iort_private_state;
	uint32_t iort_private_bypass;
	void *iort_private_next;
	void *iort_private_prev;
	void *iort_private_tail;
	uint64_t iort_private_since;
	struct iort_mutex *iort_private_m;
	int iort_private_where;
	int iort_private_node;
	unsigned iort_private_skipped;
	unsigned iort_private_kind;
	iort_mutex_grant_fn *iort_private_fn;
	void *iort_private_arg;
} __attribute__((aligned(32)));

/**
 * Take @p m if it is free now, else queue @p w (FIFO, behind the threads and records already
 * queued) and return: when @p w reaches the head of the queue, the next unlock hands the mutex to
 * it (the mutex never becomes free in between, nobody can barge) and then calls @p fn(@p arg)
 * once, on the unlocking thread, after its last touch of the mutex and of @p w. @p fn must be short
 * (it wakes a task). Never spins for the lock and never sleeps: a task's worker does not block.
 * The lock-order checker does not see asynchronous acquisitions: release them with
 * iort_mutex_unlock_async().
 * @return true: locked now (@p fn will not be called, @p w is not queued); false: @p w is queued
 * and belongs to the mutex until iort_mutex_waiter_granted(@p w) or a cancel returning true.
 */
IORT_API bool iort_mutex_lock_async(struct iort_mutex *m, struct iort_mutex_waiter *w,
				    iort_mutex_grant_fn *fn, void *arg) IORT_WUR;
/**
 * Whether the mutex was handed to the queued @p w: from then on its owner holds the mutex and
 * @p w is free again (fn may still be running, or about to run, on the unlocking thread: what it
 * touches must outlive it). One acquire load; the critical sections before the hand-off happen
 * before what follows a true answer.
 */
IORT_API bool iort_mutex_waiter_granted(const struct iort_mutex_waiter *w);
/**
 * Withdraw the queued @p w (from any thread).
 * @return true: it was still queued and is removed; @p fn will never be called and the caller
 * does not hold @p m. false: the mutex was handed to @p w before (or while) the call ran: the
 * caller holds @p m (keep it, or iort_mutex_unlock_async() it), iort_mutex_waiter_granted(@p w)
 * is already true, and @p fn(@p arg) has been or is about to be called on the unlocking thread.
 * Either way @p w is free when it returns. Waits (spinning, a few instructions of the unlocker)
 * only when it lands between the unlocker's queue-lock release and its last touch of @p w.
 */
IORT_API bool iort_mutex_lock_async_cancel(struct iort_mutex *m, struct iort_mutex_waiter *w);
/**
 * iort_mutex_unlock() for a mutex taken by iort_mutex_lock_async() (its owner is a task, which
 * may have moved between threads): the lock-order checker is not told. From any thread.
 */
IORT_API void iort_mutex_unlock_async(struct iort_mutex *m);

/** Caller-allocated; fields are private. */
struct iort_cond {
	uintptr_t iort_private_word;
};

#define IORT_COND_INIT \
	{              \
		0      \
	}

IORT_API void iort_cond_init(struct iort_cond *c);
/**
 * Unlock @p m, wait for a signal, lock @p m again. All waiters of one condition variable use the
 * same mutex at a time. Returns only after re-locking @p m. Spurious returns are possible (re-check
 * the condition), as with pthread_cond_wait.
 */
IORT_API void iort_cond_wait(struct iort_cond *c, struct iort_mutex *m);
/** @return 0 (signalled or spurious) or -ETIMEDOUT; @p m is locked again either way. */
IORT_API int iort_cond_wait_timed(struct iort_cond *c, struct iort_mutex *m, uint64_t deadline_ns);
/** Move the longest waiter onto its mutex's queue (or wake it if the mutex is free). */
IORT_API void iort_cond_signal(struct iort_cond *c);
/** Move every waiter onto its mutex's queue, in order. */
IORT_API void iort_cond_broadcast(struct iort_cond *c);
/** @return 0, -EBUSY (threads wait on it). */
IORT_API int iort_cond_fini(struct iort_cond *c);

#ifdef __cplusplus
}
#endif

#endif /* IORT_MUTEX_H */
