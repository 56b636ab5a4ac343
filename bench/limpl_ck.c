/*
 * Concurrency Kit's spin locks, the fair ones:
 *
 *   ck_mcs     MCS queue lock: each waiter spins on its own node (one per thread, in its tls);
 *              FIFO
 *   ck_clh     CLH queue lock: each waiter spins on its predecessor's node; FIFO. A thread's
 *              node, once released, is its successor's to read, so the releasing thread takes
 *              its predecessor's node in exchange (ck_spinlock_clh_unlock rewrites the pointer):
 *              the tls holds a pointer to the node the thread owns now, first its own. Nodes
 *              wander between threads and locks; all are freed together (lock_impl.h).
 *   ck_ticket  ticket lock: take a number, spin until it is served; FIFO
 *
 * All three spin for ever: with more threads than cores a preempted waiter whose turn comes holds up
 * everyone behind it. Built only when meson found Concurrency Kit (IOB_HAVE_CK); otherwise the
 * descriptors carry the skip message.
 */
#include <stddef.h>

#include <iort/compiler.h>

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

/* The queue pointer (swapped by every arrival) and each node (spun on by a successor) on lines of
 * their own. */
struct clh_lock {
	struct ck_spinlock_clh *queue;
	struct ck_spinlock_clh unowned IORT_CACHELINE_ALIGNED;
};

struct clh_tls {
	struct ck_spinlock_clh *node; /* the node this thread enqueues next: owned by it */
	struct ck_spinlock_clh own IORT_CACHELINE_ALIGNED;
};

static int clh_init(void *l)
{
	struct clh_lock *c = l;

	ck_spinlock_clh_init(&c->queue, &c->unowned);
	return 0;
}

static void clh_tls_init(void *tls)
{
	struct clh_tls *t = tls;

	t->node = &t->own;
}

static void clh_lock(void *l, void *tls)
{
	ck_spinlock_clh_lock(&((struct clh_lock *)l)->queue, ((struct clh_tls *)tls)->node);
}

static void clh_unlock(void *l, void *tls)
{
	(void)l;
	/* Releases t->node to the successor and points t->node at the predecessor's node, which
	 * nobody reads any more. */
	ck_spinlock_clh_unlock(&((struct clh_tls *)tls)->node);
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
#define CK_CLH_OPS                                                                             \
	.size = sizeof(struct clh_lock), .tls_size = sizeof(struct clh_tls), .init = clh_init, \
	.tls_init = clh_tls_init, .fini = nothing, .lock = clh_lock, .unlock = clh_unlock
#define CK_TICKET_OPS                                                                    \
	.size = sizeof(struct ck_spinlock_ticket), .init = ticket_init, .fini = nothing, \
	.lock = ticket_lock, .unlock = ticket_unlock
#define CK_NOT_BUILT NULL
#else
#define CK_MCS_OPS    .size = 0
#define CK_CLH_OPS    .size = 0
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

const struct limpl limpl_ck_clh = {
	.impl = { .name = "ck_clh",
		  .origin = BENCH_BASELINE,
		  .package = "libck-dev",
		  .missing = CK_NOT_BUILT,
		  .about = "Concurrency Kit CLH queue lock (FIFO, spins)" },
	CK_CLH_OPS,
};

const struct limpl limpl_ck_ticket = {
	.impl = { .name = "ck_ticket",
		  .origin = BENCH_BASELINE,
		  .package = "libck-dev",
		  .missing = CK_NOT_BUILT,
		  .about = "Concurrency Kit ticket lock (FIFO, spins)" },
	CK_TICKET_OPS,
};
