/**
 * A small vtable over queue implementations, ours and the baselines', for bench/bench_queue.c.
 *
 * Each adapter file (bench/qimpl_*.c) defines one `const struct qimpl` per implementation, and
 * bench_queue.c's queue_impls[] lists it once with the scenarios it joins. A baseline whose
 * library was not found at configure time still defines its descriptors, with impl.missing set to
 * the reason and no operations: its benchmarks register under the same names on every machine and
 * skip with that message.
 *
 * Items are `void *`. Pointer rings store any value (the spsc scenario encodes sequence numbers).
 * Intrusive queues (QI_INTRUSIVE) need every item to be a `struct qitem *`: they link it through
 * qitem.link, and hand the same pointer back from pop.
 *
 * Synchronization: the scenario keeps to the implementation's QI_MP / QI_MC capabilities (one
 * producer thread unless QI_MP, one consumer thread unless QI_MC). create/destroy run on one thread
 * with no other call in flight. thread_enter/thread_exit run on the thread they describe, before
 * its first and after its last queue call. Every operation returns at once (try semantics): the
 * scenario decides how to wait.
 */
#ifndef IOB_QUEUE_IMPL_H
#define IOB_QUEUE_IMPL_H

#include <stdalign.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bench.h"

#ifdef __cplusplus
extern "C" {
#endif

/** One benchmark item: the link area for intrusive queues, then the payload. One cache line. */
struct qitem {
	alignas(16) unsigned char link[32]; /**< owned by an intrusive queue while queued */
	uint64_t seq;			    /**< per-producer sequence number */
	uint64_t stamp;			    /**< iort_clock_fast_ns() at enqueue (handoff) */
	uint32_t producer;		    /**< producer index */
} __attribute__((aligned(64)));

enum {
	QI_MP = 1 << 0,	       /**< several producers may push concurrently */
	QI_MC = 1 << 1,	       /**< several consumers may pop concurrently */
	QI_BOUNDED = 1 << 2,   /**< push fails when full */
	QI_INTRUSIVE = 1 << 3, /**< items must be struct qitem * */
	QI_BURST = 1 << 4,     /**< push_burst/pop_burst are native (else emulated item by item) */
};

struct qimpl {
	struct bench_impl impl; /**< name ("rte_mpmc"), origin, package; missing: skip message */
	unsigned caps;		/**< QI_* */
	/** @return 0 or a negative errno. @p capacity is a hint for bounded queues. */
	int (*create)(size_t capacity, void **out);
	void (*destroy)(void *q);
	/** Optional: per-thread state (RCU registration, node caches). @return 0 or -errno. */
	int (*thread_enter)(void **tls);
	void (*thread_exit)(void *tls);
	/** @return false when full. */
	bool (*push)(void *q, void *tls, void *item);
	/** @return false when empty (or the next item is not yet visible). */
	bool (*pop)(void *q, void *tls, void **item);
	/** Optional (QI_BURST): @return how many were moved, 0..n. */
	size_t (*push_burst)(void *q, void *tls, void *const *items, size_t n);
	size_t (*pop_burst)(void *q, void *tls, void **items, size_t n);
};

/* bench/qimpl_iort.c */
extern const struct qimpl qimpl_iort_spsc, qimpl_iort_mpmc, qimpl_iort_mpsc, qimpl_iort_segq;
/* bench/qimpl_urcu_wfcq_stock.c, bench/qimpl_urcu_wfcq_nosleep.c */
extern const struct qimpl qimpl_urcu_wfcq_stock, qimpl_urcu_wfcq_nosleep;
/* bench/qimpl_urcu_lfq.c */
extern const struct qimpl qimpl_urcu_lfq;
/* bench/qimpl_rte.c */
extern const struct qimpl qimpl_rte_spsc, qimpl_rte_mpsc, qimpl_rte_mpmc, qimpl_rte_rts,
	qimpl_rte_hts;
/* bench/qimpl_ck.c */
extern const struct qimpl qimpl_ck_ring_spsc, qimpl_ck_ring_mpmc, qimpl_ck_fifo;
/* bench/qimpl_mutex.c */
extern const struct qimpl qimpl_mutex_ring;

#ifdef __cplusplus
}
#endif

#endif /* IOB_QUEUE_IMPL_H */
