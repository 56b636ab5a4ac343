/*
 * DPDK rte_ring baselines, without EAL: rte_ring_get_memsize() + an aligned allocation +
 * rte_ring_init(), which is all a ring needs. The sync mode is chosen at init and the generic
 * rte_ring_enqueue/dequeue(_burst) calls dispatch on it:
 *
 *   rte_spsc  RING_F_SP_ENQ | RING_F_SC_DEQ      single producer, single consumer
 *   rte_mpsc  RING_F_SC_DEQ                      CAS on the producer head, single consumer
 *   rte_mpmc  0                                  classic MP/MC: CAS on the head, then wait for
 *                                                earlier claimers to move the tail (in order)
 *   rte_rts   RING_F_MP_RTS_ENQ|RING_F_MC_RTS_DEQ relaxed tail sync (head/tail counters)
 *   rte_hts   RING_F_MP_HTS_ENQ|RING_F_MC_HTS_DEQ head/tail sync: one op in flight per side
 *
 * Burst calls are rte_ring_enqueue_burst/dequeue_burst (variable count). Built only when meson
 * found rte_ring (IOB_HAVE_DPDK); otherwise the descriptors carry the skip message.
 */
#include <errno.h>
#include <stdlib.h>

#include "queue_impl.h"

#define RTE_MISSING "DPDK rte_ring not built: install libdpdk-dev and reconfigure"

#ifdef IOB_HAVE_DPDK

#include <rte_ring.h>

static int ring_create(size_t capacity, unsigned flags, void **out)
{
	unsigned count = 2;
	struct rte_ring *r;
	ssize_t size;
	void *mem;

	/* rte_ring keeps one slot free: count = capacity + 1, rounded up to a power of two. */
	while (count < capacity + 1 && count < (1u << 30))
		count <<= 1;
	size = rte_ring_get_memsize(count);
	if (size < 0)
		return (int)size;
	if (posix_memalign(&mem, RTE_CACHE_LINE_SIZE, (size_t)size))
		return -ENOMEM;
	r = mem;
	if (rte_ring_init(r, "iobench", count, flags)) {
		free(mem);
		return -EINVAL;
	}
	*out = r;
	return 0;
}

static void ring_destroy(void *q)
{
	free(q);
}

static bool ring_push(void *q, void *tls, void *item)
{
	(void)tls;
	return rte_ring_enqueue(q, item) == 0;
}

static bool ring_pop(void *q, void *tls, void **item)
{
	(void)tls;
	return rte_ring_dequeue(q, item) == 0;
}

static size_t ring_push_burst(void *q, void *tls, void *const *items, size_t n)
{
	(void)tls;
	return rte_ring_enqueue_burst(q, items, (unsigned)n, NULL);
}

static size_t ring_pop_burst(void *q, void *tls, void **items, size_t n)
{
	(void)tls;
	return rte_ring_dequeue_burst(q, items, (unsigned)n, NULL);
}

static int spsc_create(size_t c, void **out)
{
	return ring_create(c, RING_F_SP_ENQ | RING_F_SC_DEQ, out);
}

static int mpsc_create(size_t c, void **out)
{
	return ring_create(c, RING_F_SC_DEQ, out);
}

static int mpmc_create(size_t c, void **out)
{
	return ring_create(c, 0, out);
}

static int rts_create(size_t c, void **out)
{
	return ring_create(c, RING_F_MP_RTS_ENQ | RING_F_MC_RTS_DEQ, out);
}

static int hts_create(size_t c, void **out)
{
	return ring_create(c, RING_F_MP_HTS_ENQ | RING_F_MC_HTS_DEQ, out);
}

#define RTE_OPS(create_fn)                                                                \
	.create = create_fn, .destroy = ring_destroy, .push = ring_push, .pop = ring_pop, \
	.push_burst = ring_push_burst, .pop_burst = ring_pop_burst

const struct qimpl qimpl_rte_spsc = {
	.impl = { .name = "rte_spsc",
		  .origin = BENCH_BASELINE,
		  .package = "libdpdk-dev",
		  .about = "DPDK rte_ring, single producer and consumer" },
	.caps = QI_BOUNDED | QI_BURST,
	RTE_OPS(spsc_create)
};
const struct qimpl qimpl_rte_mpsc = {
	.impl = { .name = "rte_mpsc",
		  .origin = BENCH_BASELINE,
		  .package = "libdpdk-dev",
		  .about = "DPDK rte_ring, multi producer, single consumer" },
	.caps = QI_MP | QI_BOUNDED | QI_BURST,
	RTE_OPS(mpsc_create)
};
const struct qimpl qimpl_rte_mpmc = {
	.impl = { .name = "rte_mpmc",
		  .origin = BENCH_BASELINE,
		  .package = "libdpdk-dev",
		  .about = "DPDK rte_ring, multi producer and consumer" },
	.caps = QI_MP | QI_MC | QI_BOUNDED | QI_BURST,
	RTE_OPS(mpmc_create)
};
const struct qimpl qimpl_rte_rts = { .impl = { .name = "rte_rts",
					       .origin = BENCH_BASELINE,
					       .package = "libdpdk-dev",
					       .about = "DPDK rte_ring, relaxed tail sync" },
				     .caps = QI_MP | QI_MC | QI_BOUNDED | QI_BURST,
				     RTE_OPS(rts_create) };
const struct qimpl qimpl_rte_hts = { .impl = { .name = "rte_hts",
					       .origin = BENCH_BASELINE,
					       .package = "libdpdk-dev",
					       .about = "DPDK rte_ring, head/tail sync" },
				     .caps = QI_MP | QI_MC | QI_BOUNDED | QI_BURST,
				     RTE_OPS(hts_create) };

#else /* !IOB_HAVE_DPDK */

const struct qimpl qimpl_rte_spsc = {
	.impl = { .impl = { .name = "rte_spsc",
			    .origin = BENCH_BASELINE,
			    .package = "libdpdk-dev",
			    .about = "DPDK rte_ring, single producer and consumer" },
		  .origin = BENCH_BASELINE,
		  .package = "libdpdk-dev",
		  .missing = RTE_MISSING,
		  .about = "DPDK rte_ring, single producer and consumer" }
};
const struct qimpl qimpl_rte_mpsc = {
	.impl = { .impl = { .name = "rte_mpsc",
			    .origin = BENCH_BASELINE,
			    .package = "libdpdk-dev",
			    .about = "DPDK rte_ring, multi producer, single consumer" },
		  .origin = BENCH_BASELINE,
		  .package = "libdpdk-dev",
		  .missing = RTE_MISSING,
		  .about = "DPDK rte_ring, multi producer, single consumer" }
};
const struct qimpl qimpl_rte_mpmc = {
	.impl = { .impl = { .name = "rte_mpmc",
			    .origin = BENCH_BASELINE,
			    .package = "libdpdk-dev",
			    .about = "DPDK rte_ring, multi producer and consumer" },
		  .origin = BENCH_BASELINE,
		  .package = "libdpdk-dev",
		  .missing = RTE_MISSING,
		  .about = "DPDK rte_ring, multi producer and consumer" }
};
const struct qimpl qimpl_rte_rts = {
	.impl = { .impl = { .name = "rte_rts",
			    .origin = BENCH_BASELINE,
			    .package = "libdpdk-dev",
			    .about = "DPDK rte_ring, relaxed tail sync" },
		  .origin = BENCH_BASELINE,
		  .package = "libdpdk-dev",
		  .missing = RTE_MISSING,
		  .about = "DPDK rte_ring, relaxed tail sync" }
};
const struct qimpl qimpl_rte_hts = { .impl = { .impl = { .name = "rte_hts",
							 .origin = BENCH_BASELINE,
							 .package = "libdpdk-dev",
							 .about = "DPDK rte_ring, head/tail sync" },
					       .origin = BENCH_BASELINE,
					       .package = "libdpdk-dev",
					       .missing = RTE_MISSING,
					       .about = "DPDK rte_ring, head/tail sync" } };

#endif /* IOB_HAVE_DPDK */
