/*
 * iort_mutex: libiort's mutex (iort/mutex.h) with its default fairness bound. Thin casts onto the
 * public API: no state of its own, nothing that orders memory. The lock-order checker is
 * whatever the build and the environment make it (compiled in or out by -Dlockdep; at run time
 * IORT_LOCKDEP, off by default): the benchmarks measure the mutex as a user gets it. Every lock
 * of a run shares one class ("bench_lock"); a thread holds one lock at a time, so the checker
 * sees no nesting.
 */
#include <iort/mutex.h>

#include "lock_impl.h"

static int iort_init(void *l)
{
	iort_mutex_init_class(l, "bench_lock");
	return 0;
}

static void iort_fini(void *l)
{
	(void)iort_mutex_fini(l); /* -EBUSY only if still held: not after the runs' loops */
}

static void iort_lock(void *l, void *tls)
{
	(void)tls;
	iort_mutex_lock(l);
}

static void iort_unlock(void *l, void *tls)
{
	(void)tls;
	iort_mutex_unlock(l);
}

const struct limpl limpl_iort_mutex = {
	.impl = { .name = "iort_mutex",
		  .origin = BENCH_IORT,
		  .about = "libiort's mutex: spin briefly, FIFO of parked waiters, bounded "
			   "unfairness" },
	.size = sizeof(struct iort_mutex),
	.init = iort_init,
	.fini = iort_fini,
	.lock = iort_lock,
	.unlock = iort_unlock,
};
