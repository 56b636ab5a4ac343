/*
 * The body of the liburcu cds_wfcq adapters, included once by qimpl_urcu_wfcq_stock.c and once by
 * qimpl_urcu_wfcq_nosleep.c. The two differ only in CDS_WFCQ_WAIT_SLEEP, which each defines (or
 * leaves to liburcu) before including this file; both use liburcu's LGPL inline API
 * (_LGPL_SOURCE), so the wait policy is the only difference between them.
 *
 * cds_wfcq: enqueue is wait-free (XCHG on the tail, then a store linking the previous tail);
 * cds_wfcq_dequeue_blocking() takes the queue's internal pthread mutex and, when it meets a node
 * whose successor is still being linked, busy-waits WFCQ_ADAPT_ATTEMPTS (10) times and then calls
 * CDS_WFCQ_WAIT_SLEEP(10) -- poll(NULL, 0, 10), a 10 ms sleep, in the stock library.
 *
 * Nodes are intrusive (qitem.link) and may be reused as soon as dequeue returns them: the
 * dequeuer has already waited out any enqueuer still linking to them.
 *
 * Expects QIMPL_WFCQ_SYMBOL (the descriptor's C name), QIMPL_WFCQ_NAME (its string name) and
 * QIMPL_WFCQ_ABOUT (its one-line description).
 */
#ifndef QIMPL_WFCQ_SYMBOL
#error "define QIMPL_WFCQ_SYMBOL, QIMPL_WFCQ_NAME and QIMPL_WFCQ_ABOUT before including qimpl_urcu_wfcq.h"
#endif

#define _LGPL_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

#include <urcu/wfcqueue.h>

#include "queue_impl.h"

_Static_assert(sizeof(struct cds_wfcq_node) <= sizeof(((struct qitem *)0)->link),
	       "cds_wfcq_node fits qitem.link");
_Static_assert(offsetof(struct qitem, link) == 0, "qitem.link comes first");

/* Head (with its mutex) and tail on separate lines: producers touch only the tail. */
struct wfcq {
	struct cds_wfcq_head head __attribute__((aligned(64)));
	struct cds_wfcq_tail tail __attribute__((aligned(64)));
};

static int wfcq_create(size_t capacity, void **out)
{
	struct wfcq *q;

	(void)capacity;
	if (posix_memalign((void **)&q, 64, sizeof(*q)))
		return -ENOMEM;
	cds_wfcq_init(&q->head, &q->tail);
	*out = q;
	return 0;
}

static void wfcq_destroy(void *p)
{
	struct wfcq *q = p;

	cds_wfcq_destroy(&q->head, &q->tail);
	free(q);
}

static bool wfcq_push(void *p, void *tls, void *item)
{
	struct wfcq *q = p;
	struct cds_wfcq_node *n = (struct cds_wfcq_node *)((struct qitem *)item)->link;

	(void)tls;
	cds_wfcq_node_init(n);
	cds_wfcq_enqueue(&q->head, &q->tail, n);
	return true;
}

static bool wfcq_pop(void *p, void *tls, void **item)
{
	struct wfcq *q = p;
	struct cds_wfcq_node *n;

	(void)tls;
	n = cds_wfcq_dequeue_blocking(&q->head, &q->tail);
	if (!n)
		return false;
	*item = (void *)n; /* link is qitem's first member */
	return true;
}

const struct qimpl QIMPL_WFCQ_SYMBOL = {
	.impl = { .name = QIMPL_WFCQ_NAME,
		  .origin = BENCH_BASELINE,
		  .package = "liburcu-dev",
		  .about = QIMPL_WFCQ_ABOUT },
	.caps = QI_MP | QI_MC | QI_INTRUSIVE,
	.create = wfcq_create,
	.destroy = wfcq_destroy,
	.push = wfcq_push,
	.pop = wfcq_pop,
};
