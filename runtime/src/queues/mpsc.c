/*
 * Unbounded intrusive MPSC queue (mpsc.h): the public queue over the inline algorithm of
 * mpsc-private.h (its comment has the design, the invariants and the memory orders), with the
 * consumer's cursor and the producers' part on separate lines.
 */
#include <iort/mpsc.h>

#include "mpsc-private.h"
#include "testpoint-private.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>

/* In-flight wait: this many relax hints (~a few us), then sched_yield until linked. */
#define SPIN_TRIES 128

/* Two lines apart: adjacent-line prefetch pairs lines, so one line is not enough. */
#define MPSC_ALIGN (2 * IORT_CACHELINE)

struct iort_mpsc {
	/* Consumer line: the consumer's cursor (I4). Plain: only the consumer reads or writes it. */
	_Alignas(MPSC_ALIGN) struct iort__mpsc_node *first;
	/* Producer line: tail, and the stub producers link to when the queue is empty (I5). */
	_Alignas(MPSC_ALIGN) struct iort__mpsc_prod prod;
};

static inline struct iort__mpsc_node *to_node(struct iort_mpsc_node *n)
{
	return (struct iort__mpsc_node *)(void *)n;
}

static inline struct iort_mpsc_node *to_pub(struct iort__mpsc_node *n)
{
	return (struct iort_mpsc_node *)(void *)n;
}

/*
 * Out of line and cold: inlined, its spin loop made pop save four callee-saved registers on
 * every call (callgrind: +10 instructions per pop on the fast path).
 */
__attribute__((noinline, cold)) struct iort__mpsc_node *iort__mpsc_sync_next(
	struct iort__mpsc_node *n)
{
	struct iort__mpsc_node *next;
	unsigned int tries = 0;

	for (;;) {
		/* MO mpsc.A1 (acquire): see the linked node's contents; pairs with mpsc.R2 in iort__mpsc_push(). */
		next = atomic_load_explicit(&n->next, memory_order_acquire);
		if (next)
			return next;
		IORT_TP("mpsc.wait_in_flight");
		if (tries < SPIN_TRIES) {
			tries++;
			iort_cpu_relax();
		} else {
			sched_yield();
		}
	}
}

IORT_API int iort_mpsc_create(struct iort_mpsc **out)
{
	struct iort_mpsc *q;

	if (!out)
		return -EINVAL;
	q = aligned_alloc(MPSC_ALIGN, sizeof(*q));
	if (!q)
		return -ENOMEM;
	iort__mpsc_init(&q->prod, &q->first);
	*out = q;
	return 0;
}

IORT_API void iort_mpsc_destroy(struct iort_mpsc *q)
{
	free(q);
}

IORT_API bool iort_mpsc_push(struct iort_mpsc *q, struct iort_mpsc_node *pub)
{
	return iort__mpsc_push(&q->prod, to_node(pub));
}

IORT_API bool iort_mpsc_empty(const struct iort_mpsc *q)
{
	struct iort_mpsc *mq = (struct iort_mpsc *)q;

	return iort__mpsc_empty(&mq->prod, &mq->first);
}

IORT_API struct iort_mpsc_node *iort_mpsc_pop(struct iort_mpsc *q)
{
	return to_pub(iort__mpsc_pop(&q->prod, &q->first));
}

IORT_API bool iort_mpsc_pop_all(struct iort_mpsc *q, struct iort_mpsc_batch *out)
{
	struct iort__mpsc_node *last;
	struct iort__mpsc_node *first = iort__mpsc_pop_all(&q->prod, &q->first, &last);

	out->first = to_pub(first);
	out->last = to_pub(last);
	return first != NULL;
}

IORT_API struct iort_mpsc_node *iort_mpsc_batch_next(const struct iort_mpsc_batch *b,
						     struct iort_mpsc_node *node)
{
	if (!node || node == b->last)
		return NULL;
	return to_pub(iort__mpsc_sync_next(to_node(node)));
}
