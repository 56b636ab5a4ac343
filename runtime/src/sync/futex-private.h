/*
 * The futex calls the sync layer makes (wait.c, mutex.c, cancel.c): private futexes, absolute
 * CLOCK_MONOTONIC deadlines, and wait / wake with a bit set (FUTEX_WAIT_BITSET: a wake with bits
 * b wakes only the sleepers whose bits meet b; a plain wake meets every sleeper). Every caller re-checks its condition after a wait returns, so
 * spurious returns (signals, a wake meant for a word that used to live at this address) are
 * harmless.
 */
#ifndef IORT_FUTEX_PRIVATE_H
#define IORT_FUTEX_PRIVATE_H

#include <iort/wait.h> /* IORT_DEADLINE_NONE */

#include <errno.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Wake up to @p n threads sleeping on @p addr. */
static inline void iort__futex_wake(_Atomic uint32_t *addr, int n)
{
	syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

/* Wake up to @p n threads sleeping on @p addr whose bit set meets @p bits (not 0). */
static inline void iort__futex_wake_bits(_Atomic uint32_t *addr, int n, uint32_t bits)
{
	syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAKE_BITSET_PRIVATE, n, NULL, NULL, bits);
}

/*
 * Sleep while *addr == key, until the absolute CLOCK_MONOTONIC deadline (IORT_DEADLINE_NONE:
 * none), with the bit set @p bits (not 0) for iort__futex_wake_bits().
 * @return 0 (woken, possibly spuriously), or -EAGAIN (*addr != key), -ETIMEDOUT, -EINTR.
 */
static inline int iort__futex_wait_bits(_Atomic uint32_t *addr, uint32_t key, uint64_t deadline_ns,
					uint32_t bits)
{
	struct timespec ts, *tsp = NULL;

	if (deadline_ns != IORT_DEADLINE_NONE) {
		ts.tv_sec = (time_t)(deadline_ns / 1000000000u);
		ts.tv_nsec = (long)(deadline_ns % 1000000000u);
		tsp = &ts;
	}
	/* FUTEX_WAIT_BITSET takes an absolute timeout (CLOCK_MONOTONIC without FUTEX_CLOCK_REALTIME). */
	if (syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAIT_BITSET_PRIVATE, key, tsp, NULL, bits) ==
	    0)
		return 0;
	return -errno;
}

/*
 * Sleep while *addr == key, until the absolute CLOCK_MONOTONIC deadline (IORT_DEADLINE_NONE:
 * none). @return 0 (woken, possibly spuriously), or -EAGAIN (*addr != key), -ETIMEDOUT, -EINTR.
 */
static inline int iort__futex_wait_abs(_Atomic uint32_t *addr, uint32_t key, uint64_t deadline_ns)
{
	return iort__futex_wait_bits(addr, key, deadline_ns, FUTEX_BITSET_MATCH_ANY);
}

#endif /* IORT_FUTEX_PRIVATE_H */
