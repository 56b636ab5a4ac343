/*
 * The unbounded intrusive MPSC queue's algorithm, inline, for iort_mpsc (mpsc.c) and for queues
 * embedded in other records (the actor layer's mailboxes): the producers' part (tail and stub)
 * and the consumer's cursor are separate, so each embedder lays them out on its own lines.
 *
 * Unbounded intrusive MPSC queue: liburcu's wfcqueue (__cds_wfcq_enqueue / __cds_wfcq_dequeue /
 * __cds_wfcq_splice) and Vyukov's intrusive MPSC node-based queue, with the dummy node moved to
 * the producers' line and the consumer's cursor kept private.
 *
 * Shape: `tail` (producer line) is the newest node, or &stub when the queue is empty; `stub`, on
 * the same line, is the dummy node producers link to when they push into an empty queue. `*cur`
 * (consumer line, `first` in iort_mpsc) is the consumer's cursor: the oldest node of the chain it has taken, or NULL
 * when it last moved tail back to &stub and the chain starts at stub.next.
 *
 *   push(n):   n->next = NULL; prev = XCHG(tail, n); prev->next = n      (wait-free)
 *   pop():     if first == NULL: first = stub.next (wait while in flight). If first->next ==
 *              NULL, first may be the last node: stub.next = NULL, CAS(tail, first, &stub); on
 *              success first = NULL; on failure a producer is linking first->next: wait for it.
 *              Otherwise first = first->next.
 *   pop_all(): take first (or stub.next, waiting while in flight); stub.next = NULL;
 *              last = XCHG(tail, &stub); first = NULL.
 *
 * Why this layout (compared with wfcq, whose dummy is the consumer's head node): when the queue
 * is empty a push writes the link into the line it has just exchanged tail in, not into the
 * consumer's line, and the consumer's emptiness poll (stub.next, tail) reads one line, not two.
 * While the queue is not empty the consumer advances its private cursor and touches neither the
 * producers' line nor a line producers write: only node lines move.
 *
 * Invariants:
 *   I1. tail == &stub exactly when every pushed node has been taken by the consumer; so push
 *       returns "was empty" (prev == &stub) exactly when the queue was empty before it.
 *   I2. The stub is never handed out: popping the last node moves tail back to &stub (the CAS),
 *       instead of re-pushing a dummy item (the bug of the original sketch, which could leave a
 *       zeroed node in the queue as an item).
 *   I3. Between a producer's XCHG and its link store, prev->next is NULL while tail is past prev:
 *       the node is "in flight". Only the consumer waits for it: a bounded spin of SPIN_TRIES
 *       iort_cpu_relax, then sched_yield() in a loop (the producer may be preempted on an
 *       oversubscribed machine; yielding lets it run). Never a millisecond sleep.
 *   I4. first == NULL exactly when the consumer's last move of tail was back to &stub (or at
 *       create); then the chain, if any, starts at stub.next. While first != NULL, stub.next is
 *       stale and nobody reads it.
 *   I5. stub.next is written by the consumer (reset) and by the one producer whose prev is &stub.
 *       The consumer resets it only before moving tail to &stub (CAS or XCHG, release), and a
 *       producer writes it only after its XCHG read &stub (acquire), so the two never race.
 *
 * Memory orders (tags below):
 *   mpsc.R1 (push XCHG, acq_rel): releases n->next = NULL to the producer that links after n, and
 *     acquires the previous owner's writes to prev->next (prev's init, or the consumer's reset of
 *     stub.next, mpsc.R3 / mpsc.R4).
 *   mpsc.R2 (link store, release) -> mpsc.A1..A3 (consumer's next loads, acquire): the node's
 *     payload written before push is visible to whoever pops it.
 */
#ifndef IORT_MPSC_PRIVATE_H
#define IORT_MPSC_PRIVATE_H

#include <iort/compiler.h>
#include <iort/mpsc.h>

#include "testpoint-private.h"

#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

/* The private view of struct iort_mpsc_node. */
struct iort__mpsc_node {
	_Atomic(struct iort__mpsc_node *) next;
};

_Static_assert(sizeof(struct iort__mpsc_node) == sizeof(struct iort_mpsc_node), "node layout");
_Static_assert(alignof(struct iort__mpsc_node) == alignof(struct iort_mpsc_node), "node alignment");

/* The producers' part: tail and the stub they link to when the queue is empty (I5). */
struct iort__mpsc_prod {
	_Atomic(struct iort__mpsc_node *) tail;
	struct iort__mpsc_node stub;
};

/* Wait until n->next is linked (I3); returns the successor. Out of line and cold (mpsc.c). */
struct iort__mpsc_node *iort__mpsc_sync_next(struct iort__mpsc_node *n);

static inline void iort__mpsc_init(struct iort__mpsc_prod *q, struct iort__mpsc_node **cur)
{
	*cur = NULL;
	atomic_init(&q->stub.next, NULL);
	atomic_init(&q->tail, &q->stub);
}

static inline bool iort__mpsc_push(struct iort__mpsc_prod *q, struct iort__mpsc_node *n)
{
	struct iort__mpsc_node *prev;

	/* MO relaxed: published by the acq_rel XCHG mpsc.R1 / the release link mpsc.R2. */
	atomic_store_explicit(&n->next, NULL, memory_order_relaxed);
	/* MO mpsc.R1 (acq_rel): release n->next = NULL to the next producer; acquire prev->next's
	 * last writer (mpsc.R3 / mpsc.R4 reset of stub.next); pairs with mpsc.R1, mpsc.R3, mpsc.R4. */
	prev = atomic_exchange_explicit(&q->tail, n, memory_order_acq_rel);
	IORT_TP("mpsc.push_exchanged"); /* n is in flight: tail is past prev, prev->next is NULL */
	/* MO mpsc.R2 (release): publish n's payload with the link; pairs with mpsc.A1 in sync_next(),
	 * mpsc.A2 in take_first() and mpsc.A3 in iort__mpsc_pop(). */
	atomic_store_explicit(&prev->next, n, memory_order_release);
	return prev == &q->stub;
}

/* Serialized with pop (see mpsc.h). */
static inline bool iort__mpsc_empty(struct iort__mpsc_prod *q, struct iort__mpsc_node *const *cur)
{
	/* The cursor is ours to read. */
	if (*cur)
		return false;
	/* MO relaxed: a snapshot; nothing is read through these pointers. */
	if (atomic_load_explicit(&q->stub.next, memory_order_relaxed))
		return false;
	/* MO relaxed: a snapshot; a node in flight (tail moved, not linked) counts as queued. */
	return atomic_load_explicit(&q->tail, memory_order_relaxed) == &q->stub;
}

/*
 * The oldest queued node, waiting for an in-flight first push (I3), or NULL when the queue is
 * empty. Consumer only.
 */
static inline struct iort__mpsc_node *iort__mpsc_take_first(struct iort__mpsc_prod *q,
							    struct iort__mpsc_node **cur)
{
	struct iort__mpsc_node *first = *cur;

	if (first)
		return first;
	/* MO mpsc.A2 (acquire): see the first node's contents; pairs with mpsc.R2 in iort__mpsc_push(). */
	first = atomic_load_explicit(&q->stub.next, memory_order_acquire);
	if (first)
		return first;
	/* MO relaxed: only compared; the consumer itself last moved tail to &stub (I4). */
	if (atomic_load_explicit(&q->tail, memory_order_relaxed) == &q->stub)
		return NULL;
	return iort__mpsc_sync_next(&q->stub); /* first push in flight */
}

static inline struct iort__mpsc_node *iort__mpsc_pop(struct iort__mpsc_prod *q,
						     struct iort__mpsc_node **cur)
{
	struct iort__mpsc_node *first, *next, *expected;

	first = iort__mpsc_take_first(q, cur);
	if (!first)
		return NULL;
	/* MO mpsc.A3 (acquire): see the successor's contents; pairs with mpsc.R2 in iort__mpsc_push(). */
	next = atomic_load_explicit(&first->next, memory_order_acquire);
	if (!next) {
		/* first is probably the last node: reset stub.next, then swing tail back to the stub.
		 * Both are on the producers' line: one line transfer for the pair. */
		/* MO relaxed: ordered before any producer's write to stub.next by the release CAS mpsc.R3. */
		atomic_store_explicit(&q->stub.next, NULL, memory_order_relaxed);
		expected = first;
		/* MO mpsc.R3 (release): the stub.next reset before tail == &stub; pairs with mpsc.R1 in
		 * iort__mpsc_push(). Failure: relaxed, we then wait on first->next with acquire. */
		if (atomic_compare_exchange_strong_explicit(&q->tail, &expected, &q->stub,
							    memory_order_release,
							    memory_order_relaxed)) {
			*cur = NULL;
			return first;
		}
		/* A producer took tail from first and is about to link first->next. */
		next = iort__mpsc_sync_next(first);
	}
	*cur = next;
	/* Start moving the next node's line over while the caller works on this one. */
	__builtin_prefetch(next);
	return first;
}

/* Take every node; @return the first (NULL: empty) and the last in @p last. */
static inline struct iort__mpsc_node *iort__mpsc_pop_all(struct iort__mpsc_prod *q,
							 struct iort__mpsc_node **cur,
							 struct iort__mpsc_node **last)
{
	struct iort__mpsc_node *first;

	first = iort__mpsc_take_first(q, cur);
	if (!first) {
		*last = NULL;
		return NULL;
	}
	/* MO relaxed: ordered before any producer's write to stub.next by the release XCHG mpsc.R4. */
	atomic_store_explicit(&q->stub.next, NULL, memory_order_relaxed);
	/* MO mpsc.R4 (release): the stub.next reset before tail == &stub; pairs with mpsc.R1 in
	 * iort__mpsc_push(). Links inside the batch are acquired one by one by mpsc.A1. */
	*last = atomic_exchange_explicit(&q->tail, &q->stub, memory_order_release);
	*cur = NULL;
	return first;
}

#endif /* IORT_MPSC_PRIVATE_H */
