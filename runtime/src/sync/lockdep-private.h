/*
 * The lock-order checker's side of a lock (lockdep.c): what a lock implementation (mutex.c) calls
 * around its acquisitions. Every hook is called only when iort__ld_enabled() is true; with
 * -Dlockdep=disabled (IORT_LOCKDEP 0) none exists and the macros below compile to nothing.
 *
 * Order of calls for one acquisition by one thread:
 *   blocking lock:  iort__ld_acquire(map, lock, sub, 0, ip)   before trying (so an inversion is
 *                   reported before it can deadlock); it pushes the lock on the thread's held stack
 *                   [iort__ld_wait_begin(lock) each time it blocks: the thread counts as blocked on
 *                    lock until its next acquire or release hook;
 *                    iort__ld_stalled(lock, ns) when blocked longer than iort__ld_stall_ns()]
 *                   and, if a timed lock gives up, iort__ld_release(map, lock).
 *   try-lock:       iort__ld_acquire(map, lock, sub, IORT__LD_TRY, ip) after it succeeded (no
 *                   edges: a try-lock cannot block).
 *   unlock:         iort__ld_release(map, lock) before releasing.
 * A condition wait is an unlock followed by a blocking lock.
 */
#ifndef IORT_LOCKDEP_PRIVATE_H
#define IORT_LOCKDEP_PRIVATE_H

#include <iort/config.h>
#include <iort/lockdep.h>

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#if IORT_LOCKDEP

enum { IORT__LD_TRY = 1 };

/* Nonzero while the mode is not OFF. */
extern _Atomic int iort__ld_on;

static inline bool iort__ld_enabled(void)
{
	/* MO relaxed: a mode switch need not be ordered with anything; acquisitions that race with
	 * it may or may not be checked. */
	return __builtin_expect(atomic_load_explicit(&iort__ld_on, memory_order_relaxed), 0);
}

void iort__ld_acquire(struct iort_lockdep_map *map, const void *lock, unsigned subclass,
		      unsigned flags, const void *ip);
void iort__ld_release(struct iort_lockdep_map *map, const void *lock);
void iort__ld_wait_begin(const void *lock);
/** A waiter blocked on @p lock for @p waited_ns: look for a real deadlock through it. */
void iort__ld_stalled(const void *lock, uint64_t waited_ns);
/** The stall threshold (iort_lockdep_set_stall_ns). */
uint64_t iort__ld_stall_ns(void);

#else

static inline bool iort__ld_enabled(void)
{
	return false;
}

#endif

#endif /* IORT_LOCKDEP_PRIVATE_H */
