/**
 * Unbounded intrusive multi-producer single-consumer queue.
 *
 * The linked queue of liburcu's wfcqueue and Vyukov's intrusive MPSC queue: producers exchange the
 * tail pointer and then link the previous tail to their node, so a push is one XCHG and one store,
 * wait-free. Between the two a node is "in flight": the consumer that meets an unlinked next pointer
 * spins a bounded number of times and then yields the CPU until the producer links it; it never
 * sleeps for milliseconds (liburcu's stock dequeue sleeps 10 ms there).
 *
 * Nodes are embedded in the caller's objects (container_of). The queue never allocates or frees.
 *
 * Synchronization ("-" safe together, "X" caller must serialize):
 *               push   pop   pop_all   empty   destroy
 *   push         -      -       -        -        X
 *   pop          -      X       X        X        X
 *   pop_all      -      X       X        X        X
 *   empty        -      X       X        -        X
 * Progress: push wait-free; pop and pop_all blocking only while a producer is between its XCHG and
 * its link store (bounded spin, then sched_yield).
 * FIFO: in the order of the producers' XCHGs; one producer's nodes keep its order.
 */
#ifndef IORT_MPSC_H
#define IORT_MPSC_H

#include <stdbool.h>

#include <iort/compiler.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Embed in your object. Fields are private to the queue. */
struct iort_mpsc_node {
	void *iort_private_next;
};

struct iort_mpsc;

/** A run of nodes taken with iort_mpsc_pop_all(), walked with iort_mpsc_batch_next(). */
struct iort_mpsc_batch {
	struct iort_mpsc_node *first; /**< NULL when the batch is empty */
	struct iort_mpsc_node *last;
};

/** @return 0, -EINVAL (@p out is NULL), -ENOMEM. */
IORT_API int iort_mpsc_create(struct iort_mpsc **out) IORT_WUR;
/** Frees the queue, not the nodes still in it. NULL is a no-op. */
IORT_API void iort_mpsc_destroy(struct iort_mpsc *q);

/**
 * Takes ownership of @p node until it is popped.
 * @return true when the queue was empty before this push (the consumer may be asleep: wake it).
 */
IORT_API bool iort_mpsc_push(struct iort_mpsc *q, struct iort_mpsc_node *node);
/** @return the oldest node, or NULL when empty. Gives ownership of the node back to the caller. */
IORT_API struct iort_mpsc_node *iort_mpsc_pop(struct iort_mpsc *q);
/** Take every node in O(1). @return false (and an empty batch) when the queue was empty. */
IORT_API bool iort_mpsc_pop_all(struct iort_mpsc *q, struct iort_mpsc_batch *out);
/**
 * The node after @p node in @p b, or NULL after the last; waits (bounded spin, then yield) for a
 * link still in flight. Read a node's successor before reusing the node.
 */
IORT_API struct iort_mpsc_node *iort_mpsc_batch_next(const struct iort_mpsc_batch *b,
						     struct iort_mpsc_node *node);
/** @return true when no node is queued (nodes in flight count as queued). */
IORT_API bool iort_mpsc_empty(const struct iort_mpsc *q);

#ifdef __cplusplus
}
#endif

#endif /* IORT_MPSC_H */
