/*
 * Queue adapters for libiort's queues: iort_spsc, iort_mpmc (bounded, per-slot sequences),
 * iort_mpsc (unbounded, intrusive) and iort_segq (unbounded MPMC of segments).
 *
 * Thin casts onto the public API: no state of their own, nothing that orders memory.
 */
#include <errno.h>
#include <stddef.h>

#include <iort/mpmc.h>
#include <iort/mpsc.h>
#include <iort/segq.h>
#include <iort/spsc.h>

#include "queue_impl.h"

/* --- iort_spsc --- */

static int spsc_create(size_t capacity, void **out)
{
	return iort_spsc_create(capacity, (struct iort_spsc **)out);
}

static void spsc_destroy(void *q)
{
	iort_spsc_destroy(q);
}

static bool spsc_push(void *q, void *tls, void *item)
{
	(void)tls;
	return iort_spsc_try_push(q, item);
}

static bool spsc_pop(void *q, void *tls, void **item)
{
	(void)tls;
	return iort_spsc_try_pop(q, item);
}

static size_t spsc_push_burst(void *q, void *tls, void *const *items, size_t n)
{
	(void)tls;
	return iort_spsc_push_burst(q, items, n);
}

static size_t spsc_pop_burst(void *q, void *tls, void **items, size_t n)
{
	(void)tls;
	return iort_spsc_pop_burst(q, items, n);
}

const struct qimpl qimpl_iort_spsc = {
	.impl = { .name = "iort_spsc",
		  .origin = BENCH_IORT,
		  .about = "libiort bounded SPSC ring (per-slot readiness)" },
	.caps = QI_BOUNDED | QI_BURST,
	.create = spsc_create,
	.destroy = spsc_destroy,
	.push = spsc_push,
	.pop = spsc_pop,
	.push_burst = spsc_push_burst,
	.pop_burst = spsc_pop_burst,
};

/* --- iort_mpmc --- */

static int mpmc_create(size_t capacity, void **out)
{
	return iort_mpmc_create(capacity, (struct iort_mpmc **)out);
}

static void mpmc_destroy(void *q)
{
	iort_mpmc_destroy(q);
}

static bool mpmc_push(void *q, void *tls, void *item)
{
	(void)tls;
	return iort_mpmc_try_push(q, item);
}

static bool mpmc_pop(void *q, void *tls, void **item)
{
	(void)tls;
	return iort_mpmc_try_pop(q, item);
}

static size_t mpmc_push_burst(void *q, void *tls, void *const *items, size_t n)
{
	(void)tls;
	return iort_mpmc_try_push_bulk(q, items, n);
}

static size_t mpmc_pop_burst(void *q, void *tls, void **items, size_t n)
{
	(void)tls;
	return iort_mpmc_try_pop_bulk(q, items, n);
}

const struct qimpl qimpl_iort_mpmc = {
	.impl = { .name = "iort_mpmc",
		  .origin = BENCH_IORT,
		  .about = "libiort bounded MPMC ring (per-slot sequence numbers)" },
	.caps = QI_MP | QI_MC | QI_BOUNDED | QI_BURST,
	.create = mpmc_create,
	.destroy = mpmc_destroy,
	.push = mpmc_push,
	.pop = mpmc_pop,
	.push_burst = mpmc_push_burst,
	.pop_burst = mpmc_pop_burst,
};

/* --- iort_mpsc (intrusive: the node lives in qitem.link) --- */

_Static_assert(sizeof(struct iort_mpsc_node) <= sizeof(((struct qitem *)0)->link),
	       "iort_mpsc_node fits qitem.link");
_Static_assert(offsetof(struct qitem, link) == 0, "qitem.link comes first");

static int mpsc_create(size_t capacity, void **out)
{
	(void)capacity;
	return iort_mpsc_create((struct iort_mpsc **)out);
}

static void mpsc_destroy(void *q)
{
	iort_mpsc_destroy(q);
}

static bool mpsc_push(void *q, void *tls, void *item)
{
	(void)tls;
	iort_mpsc_push(q, (struct iort_mpsc_node *)((struct qitem *)item)->link);
	return true;
}

static bool mpsc_pop(void *q, void *tls, void **item)
{
	struct iort_mpsc_node *n = iort_mpsc_pop(q);

	(void)tls;
	if (!n)
		return false;
	/* link is qitem's first member: the node's address is the item's. */
	*item = (void *)n;
	return true;
}

const struct qimpl qimpl_iort_mpsc = {
	.impl = { .name = "iort_mpsc",
		  .origin = BENCH_IORT,
		  .about = "libiort intrusive unbounded MPSC queue (one exchange per push)" },
	.caps = QI_MP | QI_INTRUSIVE,
	.create = mpsc_create,
	.destroy = mpsc_destroy,
	.push = mpsc_push,
	.pop = mpsc_pop,
};

/* --- iort_segq --- */

static int segq_create(size_t capacity, void **out)
{
	(void)capacity;
	return iort_segq_create(0, (struct iort_segq **)out);
}

static void segq_destroy(void *q)
{
	iort_segq_destroy(q);
}

static bool segq_push(void *q, void *tls, void *item)
{
	(void)tls;
	return iort_segq_push(q, item) == 0;
}

static bool segq_pop(void *q, void *tls, void **item)
{
	(void)tls;
	return iort_segq_try_pop(q, item);
}

const struct qimpl qimpl_iort_segq = {
	.impl = { .name = "iort_segq",
		  .origin = BENCH_IORT,
		  .about = "libiort unbounded MPMC segment queue with epoch reclamation" },
	.caps = QI_MP | QI_MC,
	.create = segq_create,
	.destroy = segq_destroy,
	.push = segq_push,
	.pop = segq_pop,
};
