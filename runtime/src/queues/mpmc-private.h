/*
 * iort_mpmc internals shared with the blocking channel (chan.c): the layout (see mpmc.c's header
 * for the slot states), the push (bounded below the ring's power-of-two capacity for the
 * channel; iort_mpmc_try_push() is its unbounded case), and two peeks.
 *
 * The peeks load with relaxed order: they answer "would the next try_pop / try_push succeed?"
 * only for a caller that executed a seq_cst fence after its own ring operation; see chan.c for
 * how that fence makes the answer good enough for a wake-up decision.
 */
#ifndef IORT_MPMC_PRIVATE_H
#define IORT_MPMC_PRIVATE_H

#include <iort/mpmc.h>

#include "testpoint-private.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MPMC_BLOCK (2 * IORT_CACHELINE)

struct slot {
	_Atomic size_t seq;
	void *item; /* written by the owner of the turn only; ordered by seq */
};

/* One side: the index its threads claim with CAS, and a read-only copy of the mask. */
struct side {
	_Atomic size_t pos;
	size_t mask;
};

struct iort_mpmc {
	_Alignas(MPMC_BLOCK) struct side enq;
	_Alignas(MPMC_BLOCK) struct side deq;
	_Alignas(MPMC_BLOCK) struct slot slots[];
};

/* True when position @p pos may be claimed by a producer under a bound of @p limit items
 * (enq.pos - deq.pos <= limit after the claim). A limit of the ring's capacity or more adds
 * nothing to the slot check and skips the load of the consumers' index. */
static inline bool iort__mpmc_under_limit(struct iort_mpmc *q, size_t pos, size_t limit)
{
	/* SIZE_MAX (iort_mpmc_try_push) is a constant: the test folds away there. */
	if (limit == SIZE_MAX || limit > q->enq.mask)
		return true;
	/* MO relaxed: deq.pos only grows, so any value read bounds the items in the ring from
	 * above; the slot's seq (mpmc.A1) orders the data, not this index. */
	return (intptr_t)(pos - atomic_load_explicit(&q->deq.pos, memory_order_relaxed)) <
	       (intptr_t)limit;
}

/**
 * iort_mpmc_try_push() (which is this with @p limit SIZE_MAX: no bound but the ring's), holding
 * at most @p limit items (limit >= 1): also false when enq.pos - deq.pos == limit. Positions claimed by consumers count as gone: a receiver owns its
 * item from its claim on.
 */
static inline bool iort__mpmc_try_push_bounded(struct iort_mpmc *q, void *item, size_t limit)
{
	/* MO relaxed: a starting guess; the CAS below claims, the slot's seq orders the data. */
	size_t pos = atomic_load_explicit(&q->enq.pos, memory_order_relaxed);
	struct slot *s;

	for (;;) {
		s = &q->slots[pos & q->enq.mask];
		/* MO mpmc.A1 (acquire): pairs with mpmc.R2 and mpmc.R4 (try_pop, try_pop_bulk): the last
		 * consumer's read of this slot happens before our write. */
		size_t seq = atomic_load_explicit(&s->seq, memory_order_acquire);
		intptr_t dif = (intptr_t)(seq - pos);

		if (dif == 0) {
			if (!iort__mpmc_under_limit(q, pos, limit))
				return false; /* limit items sent and not yet claimed by receivers */
			/* MO relaxed: only claims pos (mpmc.A1 and mpmc.R1 order the slot); on failure
			 * pos is reloaded and checked again. */
			if (atomic_compare_exchange_weak_explicit(&q->enq.pos, &pos, pos + 1,
								  memory_order_relaxed,
								  memory_order_relaxed))
				break;
		} else if (dif < 0) {
			return false; /* the item of pos - cap is still there (or being drained) */
		} else {
			/* MO relaxed: pos was claimed by another producer; a fresher guess. */
			pos = atomic_load_explicit(&q->enq.pos, memory_order_relaxed);
		}
	}
	IORT_TP("mpmc.push_claimed"); /* pos is ours, its slot not yet published */
	s->item = item;
	/* MO mpmc.R1 (release): pairs with mpmc.A2 and mpmc.A4 (try_pop, try_pop_bulk): the item
	 * before seq = pos + 1. */
	atomic_store_explicit(&s->seq, pos + 1, memory_order_release);
	return true;
}

/** Would a try_pop succeed now: is the item at deq.pos published? (See the file header.) */
static inline bool iort__mpmc_can_pop(struct iort_mpmc *q)
{
	/* MO relaxed: a peek, ordered by the caller's seq_cst fence (chan.S1). */
	size_t pos = atomic_load_explicit(&q->deq.pos, memory_order_relaxed);

	/* MO relaxed: as above. */
	return atomic_load_explicit(&q->slots[pos & q->deq.mask].seq, memory_order_relaxed) ==
	       pos + 1;
}

/** Would a bounded try_push succeed now: is the slot at enq.pos free, within @p limit? */
static inline bool iort__mpmc_can_push(struct iort_mpmc *q, size_t limit)
{
	/* MO relaxed: a peek, ordered by the caller's seq_cst fence (chan.S1). */
	size_t pos = atomic_load_explicit(&q->enq.pos, memory_order_relaxed);

	/* MO relaxed: as above. */
	return atomic_load_explicit(&q->slots[pos & q->enq.mask].seq, memory_order_relaxed) ==
		       pos &&
	       iort__mpmc_under_limit(q, pos, limit);
}

/**
 * iort_mpmc_create() with both positions starting at @p start instead of 0, so a test can put the
 * free-running counters a few laps before they wrap around SIZE_MAX.
 * @return 0, -EINVAL, -ENOMEM (as iort_mpmc_create()).
 */
int iort__mpmc_create_at(size_t capacity, size_t start, struct iort_mpmc **out);

#endif /* IORT_MPMC_PRIVATE_H */
