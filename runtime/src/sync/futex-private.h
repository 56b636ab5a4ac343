/*
 * The two futex calls the sync layer makes (wait.c, mutex.c): private futexes, absolute
 * CLOCK_MONOTONIC deadlines. Every caller re-checks its condition after a wait returns, so
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

/*
 * Sleep while *addr == key, until the absolute CLOCK_MONOTONIC deadline (IORT_DEADLINE_NONE:
 * none). @return 0 (woken, possibly spuriously), or -EAGAIN (*addr != key), -ETIMEDOUT, -EINTR.
 */
static inline int iort__futex_wait_abs(_Atomic uint32_t *addr, uint32_t key, uint64_t deadline_ns)
{
	struct timespec ts, *tsp = NULL;

	if (deadline_ns != IORT_DEADLINE_NONE) {
		ts.tv_sec = (time_t)(deadline_ns / 1000000000u);
		ts.tv_nsec = (long)(deadline_ns % 1000000000u);
		tsp = &ts;
	}
	/* FUTEX_WAIT_BITSET takes an absolute timeout (CLOCK_MONOTONIC without FUTEX_CLOCK_REALTIME). */
	if (syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAIT_BITSET_PRIVATE, key, tsp, NULL,
		    FUTEX_BITSET_MATCH_ANY) == 0)
		return 0;
	return -errno;
}

#endif /* IORT_FUTEX_PRIVATE_H */
