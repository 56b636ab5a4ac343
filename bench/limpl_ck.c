/*
 * Concurrency Kit's spin locks, the fair ones:
 *
 *   ck_mcs     MCS queue lock: each waiter spins on its own node (one per thread, in its tls);
 *              FIFO
 *   ck_ticket  ticket lock: take a number, spin until it is served; FIFO
 *
 * Both spin for ever: with more threads than cores a preempted waiter whose turn comes holds up
 * everyone behind it. Built only when meson found Concurrency Kit (IOB_HAVE_CK); otherwise the
 * descriptors carry the skip message.
 */
#include <stddef.h>

#include "lock_impl.h"

#define CK_MISSING "Concurrency Kit not built: install libck-dev and reconfigure"

#ifdef IOB_HAVE_CK

#include <ck_spinlock.h>

static int mcs_init(void *l)
{
	ck_spinlock_mcs_init(l);
	return 0;
}

static void nothing(void *l)
{
	(void)l;
}

static void mcs_lock(void *l, void *tls)
{
	ck_spinlock_mcs_lock(l, tls);
}

static void mcs_unlock(void *l, void *tls)
{
	ck_spinlock_mcs_unlock(l, tls);
}

static int ticket_init(void *l)
{
	ck_spinlock_ticket_init(l);
	return 0;
}

static void ticket_lock(void *l, void *tls)
{
	(void)tls;
	ck_spinlock_ticket_lock(l);
}

static void ticket_unlock(void *l, void *tls)
{
	(void)tls;
	ck_spinlock_ticket_unlock(l);
}

#define CK_MCS_OPS                                                                            \
	.size = sizeof(struct ck_spinlock_mcs *), .tls_size = sizeof(struct ck_spinlock_mcs), \
	.init = mcs_init, .fini = nothing, .lock = mcs_lock, .unlock = mcs_unlock
#define CK_TICKET_OPS                                                                    \
	.size = sizeof(struct ck_spinlock_ticket), .init = ticket_init, .fini = nothing, \
	.lock = ticket_lock, .unlock = ticket_unlock
#define CK_NOT_BUILT NULL
#else
#define CK_MCS_OPS    .size = 0
#define CK_TICKET_OPS .size = 0
#define CK_NOT_BUILT  CK_MISSING
#endif

const struct limpl limpl_ck_mcs = {
	.impl = { .name = "ck_mcs",
		  .origin = BENCH_BASELINE,
		  .package = "libck-dev",
		  .missing = CK_NOT_BUILT,
		  .about = "Concurrency Kit MCS queue lock (FIFO, spins)" },
	CK_MCS_OPS,
};

const struct limpl limpl_ck_ticket = {
	.impl = { .name = "ck_ticket",
		  .origin = BENCH_BASELINE,
		  .package = "libck-dev",
		  .missing = CK_NOT_BUILT,
		  .about = "Concurrency Kit ticket lock (FIFO, spins)" },
	CK_TICKET_OPS,
};
