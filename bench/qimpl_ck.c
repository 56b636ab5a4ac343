/*
 * Concurrency Kit baselines (libck-dev 0.7.1, header-only inline calls):
 *
 *   ck_ring_spsc  one ck_ring used only through ck_ring_{en,de}queue_spsc
 *   ck_ring_mpmc  one ck_ring used only through ck_ring_enqueue_mpmc / ck_ring_dequeue_mpmc
 *                 (CK forbids mixing the spsc and mpmc calls on one ring: each descriptor creates
 *                 its own ring and uses one family only)
 *   ck_fifo       ck_fifo_mpmc: Michael-Scott queue with generation-tagged pointers (double-width
 *                 CAS). Enqueue needs an entry; dequeue hands back the previous stub as "garbage",
 *                 which the generation tags make safe to reuse at once, as CK's own validation
 *                 does. Each thread keeps its spare entries in a private free list (thread_enter's
 *                 tls); entries come from a registry the queue frees at destroy.
 *
 * ck_ring has no burst calls in 0.7.1: the scenarios emulate bursts with single calls.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "queue_impl.h"

#define CK_MISSING "Concurrency Kit not built: install libck-dev and reconfigure"

#ifdef IOB_HAVE_CK

#include <ck_fifo.h>
#include <ck_ring.h>

/* --- ck_ring --- */

struct ckr {
	struct ck_ring ring __attribute__((aligned(64)));
	struct ck_ring_buffer *buf;
};

static int ckr_create(size_t capacity, void **out)
{
	unsigned size = 2;
	struct ckr *q;

	/* ck_ring holds size - 1 items. */
	while (size < capacity + 1 && size < (1u << 30))
		size <<= 1;
	if (posix_memalign((void **)&q, 64, sizeof(*q)))
		return -ENOMEM;
	if (posix_memalign((void **)&q->buf, 64, size * sizeof(*q->buf))) {
		free(q);
		return -ENOMEM;
	}
	ck_ring_init(&q->ring, size);
	*out = q;
	return 0;
}

static void ckr_destroy(void *p)
{
	struct ckr *q = p;

	if (q)
		free(q->buf);
	free(q);
}

static bool ckr_push_spsc(void *p, void *tls, void *item)
{
	struct ckr *q = p;

	(void)tls;
	return ck_ring_enqueue_spsc(&q->ring, q->buf, item);
}

static bool ckr_pop_spsc(void *p, void *tls, void **item)
{
	struct ckr *q = p;

	(void)tls;
	return ck_ring_dequeue_spsc(&q->ring, q->buf, item);
}

static bool ckr_push_mpmc(void *p, void *tls, void *item)
{
	struct ckr *q = p;

	(void)tls;
	return ck_ring_enqueue_mpmc(&q->ring, q->buf, item);
}

static bool ckr_pop_mpmc(void *p, void *tls, void **item)
{
	struct ckr *q = p;

	(void)tls;
	return ck_ring_dequeue_mpmc(&q->ring, q->buf, item);
}

const struct qimpl qimpl_ck_ring_spsc = {
	.impl = { .name = "ck_ring_spsc",
		  .origin = BENCH_BASELINE,
		  .package = "libck-dev",
		  .about = "Concurrency Kit ck_ring, single producer and consumer" },
	.caps = QI_BOUNDED,
	.create = ckr_create,
	.destroy = ckr_destroy,
	.push = ckr_push_spsc,
	.pop = ckr_pop_spsc,
};

const struct qimpl qimpl_ck_ring_mpmc = {
	.impl = { .name = "ck_ring_mpmc",
		  .origin = BENCH_BASELINE,
		  .package = "libck-dev",
		  .about = "Concurrency Kit ck_ring, multi producer and consumer" },
	.caps = QI_MP | QI_MC | QI_BOUNDED,
	.create = ckr_create,
	.destroy = ckr_destroy,
	.push = ckr_push_mpmc,
	.pop = ckr_pop_mpmc,
};

/* --- ck_fifo_mpmc --- */

/* An entry on its own line; free-list link kept apart from the entry CK owns while queued. */
struct fifo_entry {
	struct ck_fifo_mpmc_entry e;
	struct fifo_entry *free_next; /* the owning thread's free list */
	struct fifo_entry *all_next;  /* the registry, for destroy */
} __attribute__((aligned(64)));

/* Every entry ever allocated, freed at destroy. One ck_fifo exists at a time (the benchmarks run
 * one after another); the lock covers allocation only, which is rare after the first iterations. */
static struct {
	pthread_mutex_t lock;
	struct fifo_entry *all;
} registry = { PTHREAD_MUTEX_INITIALIZER, NULL };

struct fifo_tls {
	struct fifo_entry *free;
};

static struct fifo_entry *entry_alloc(void)
{
	struct fifo_entry *x;

	if (posix_memalign((void **)&x, 64, sizeof(*x)))
		return NULL;
	pthread_mutex_lock(&registry.lock);
	x->all_next = registry.all;
	registry.all = x;
	pthread_mutex_unlock(&registry.lock);
	return x;
}

static int fifo_create(size_t capacity, void **out)
{
	struct ck_fifo_mpmc *q;
	struct fifo_entry *stub;

	(void)capacity;
	if (posix_memalign((void **)&q, 64, sizeof(*q)))
		return -ENOMEM;
	stub = entry_alloc();
	if (!stub) {
		free(q);
		return -ENOMEM;
	}
	ck_fifo_mpmc_init(q, &stub->e);
	*out = q;
	return 0;
}

static void fifo_destroy(void *q)
{
	struct ck_fifo_mpmc_entry *garbage;
	struct fifo_entry *x, *next;

	ck_fifo_mpmc_deinit(q, &garbage);
	free(q);
	pthread_mutex_lock(&registry.lock);
	for (x = registry.all; x; x = next) {
		next = x->all_next;
		free(x);
	}
	registry.all = NULL;
	pthread_mutex_unlock(&registry.lock);
}

static int fifo_thread_enter(void **tls)
{
	struct fifo_tls *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	*tls = t;
	return 0;
}

static void fifo_thread_exit(void *tls)
{
	free(tls); /* the entries belong to the registry */
}

static bool fifo_push(void *q, void *tls, void *item)
{
	struct fifo_tls *t = tls;
	struct fifo_entry *x = t->free;

	if (x) {
		t->free = x->free_next;
	} else {
		x = entry_alloc();
		if (!x)
			return false;
	}
	ck_fifo_mpmc_enqueue(q, &x->e, item);
	return true;
}

static bool fifo_pop(void *q, void *tls, void **item)
{
	struct fifo_tls *t = tls;
	struct ck_fifo_mpmc_entry *garbage;
	struct fifo_entry *x;

	if (!ck_fifo_mpmc_dequeue(q, item, &garbage))
		return false;
	x = (struct fifo_entry *)garbage; /* e is the first member */
	x->free_next = t->free;
	t->free = x;
	return true;
}

const struct qimpl qimpl_ck_fifo = {
	.impl = { .name = "ck_fifo",
		  .origin = BENCH_BASELINE,
		  .package = "libck-dev",
		  .about = "Concurrency Kit ck_fifo_mpmc (unbounded, intrusive)" },
	.caps = QI_MP | QI_MC,
	.create = fifo_create,
	.destroy = fifo_destroy,
	.thread_enter = fifo_thread_enter,
	.thread_exit = fifo_thread_exit,
	.push = fifo_push,
	.pop = fifo_pop,
};

#else /* !IOB_HAVE_CK */

const struct qimpl qimpl_ck_ring_spsc = {
	.impl = { .impl = { .name = "ck_ring_spsc",
			    .origin = BENCH_BASELINE,
			    .package = "libck-dev",
			    .about = "Concurrency Kit ck_ring, single producer and consumer" },
		  .origin = BENCH_BASELINE,
		  .package = "libck-dev",
		  .missing = CK_MISSING,
		  .about = "Concurrency Kit ck_ring, single producer and consumer" }
};
const struct qimpl qimpl_ck_ring_mpmc = {
	.impl = { .impl = { .name = "ck_ring_mpmc",
			    .origin = BENCH_BASELINE,
			    .package = "libck-dev",
			    .about = "Concurrency Kit ck_ring, multi producer and consumer" },
		  .origin = BENCH_BASELINE,
		  .package = "libck-dev",
		  .missing = CK_MISSING,
		  .about = "Concurrency Kit ck_ring, multi producer and consumer" }
};
const struct qimpl qimpl_ck_fifo = {
	.impl = { .impl = { .name = "ck_fifo",
			    .origin = BENCH_BASELINE,
			    .package = "libck-dev",
			    .about = "Concurrency Kit ck_fifo_mpmc (unbounded, intrusive)" },
		  .origin = BENCH_BASELINE,
		  .package = "libck-dev",
		  .missing = CK_MISSING,
		  .about = "Concurrency Kit ck_fifo_mpmc (unbounded, intrusive)" }
};

#endif /* IOB_HAVE_CK */
