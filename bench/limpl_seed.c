/*
 * seed_mutex: the "fair" mutex of the sketch the project started from, as written: try the lock;
 * on failure yield the CPU and try again, for ever. (After three attempts the sketch also pushes
 * a waker to a queue that nothing ever pops, so the queue is left out: it changes no order.)
 * Nothing makes it fair: whoever tries right after a release wins, and a thread that yields at
 * the wrong moment can lose every time. The benchmarks show what "fair" meant there.
 */
#include <sched.h>
#include <stdatomic.h>

#include "lock_impl.h"

struct seed_lock {
	_Atomic int held;
};

static int seed_init(void *l)
{
	atomic_init(&((struct seed_lock *)l)->held, 0);
	return 0;
}

static void seed_fini(void *l)
{
	(void)l;
}

static void seed_lock(void *l, void *tls)
{
	struct seed_lock *s = l;

	(void)tls;
	/* MO seed_mutex.A1 (acquire): the previous owner's critical section happens before ours;
	 * pairs with seed_mutex.R1 in seed_unlock(). */
	while (atomic_exchange_explicit(&s->held, 1, memory_order_acquire))
		sched_yield();
}

static void seed_unlock(void *l, void *tls)
{
	(void)tls;
	/* MO seed_mutex.R1 (release): publish our critical section; pairs with seed_mutex.A1. */
	atomic_store_explicit(&((struct seed_lock *)l)->held, 0, memory_order_release);
}

const struct limpl limpl_seed_mutex = {
	.impl = { .name = "seed_mutex",
		  .origin = BENCH_SEED,
		  .about = "the sketch's FairMutex: try-lock, yield, retry" },
	.size = sizeof(struct seed_lock),
	.init = seed_init,
	.fini = seed_fini,
	.lock = seed_lock,
	.unlock = seed_unlock,
};
