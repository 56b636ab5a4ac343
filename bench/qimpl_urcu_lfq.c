/*
 * liburcu cds_lfq (rculfqueue: lock-free Michael-Scott-style queue that leans on RCU against ABA)
 * under the urcu-memb flavour (membarrier-based read side, liburcu's default flavour).
 *
 * Usage as liburcu documents it: every benchmark thread registers (urcu_memb_register_thread(),
 * thread_enter) and unregisters after its loop (thread_exit); enqueue and dequeue run inside
 * urcu_memb_read_lock(); a dequeued node may still be read by concurrent dequeuers, so it is freed
 * with urcu_memb_call_rcu() after a grace period (liburcu's call_rcu worker thread runs the frees).
 * cds_lfq's nodes cannot be reused before a grace period, so each push allocates a small node that
 * carries the item pointer: one malloc and one call_rcu per item is part of this baseline's cost.
 */
#define _LGPL_SOURCE
#include <errno.h>
#include <stdlib.h>

#include <urcu/urcu-memb.h>

#include <urcu/rculfqueue.h>

#include "queue_impl.h"

struct lfq_node {
	struct cds_lfq_node_rcu node;
	struct rcu_head rcu;
	void *item;
};

static void lfq_node_free(struct rcu_head *head)
{
	free(caa_container_of(head, struct lfq_node, rcu));
}

static int lfq_create(size_t capacity, void **out)
{
	struct cds_lfq_queue_rcu *q;

	(void)capacity;
	if (posix_memalign((void **)&q, 64, sizeof(*q)))
		return -ENOMEM;
	cds_lfq_init_rcu(q, urcu_memb_call_rcu);
	*out = q;
	return 0;
}

static void lfq_destroy(void *q)
{
	/* The scenario drains first; destroy fails (-EPERM) only on a non-empty queue. */
	if (cds_lfq_destroy_rcu(q) == 0)
		free(q);
}

static int lfq_thread_enter(void **tls)
{
	urcu_memb_register_thread();
	*tls = NULL;
	return 0;
}

static void lfq_thread_exit(void *tls)
{
	(void)tls;
	urcu_memb_unregister_thread();
}

static bool lfq_push(void *q, void *tls, void *item)
{
	struct lfq_node *n = malloc(sizeof(*n));

	(void)tls;
	if (!n)
		return false;
	cds_lfq_node_init_rcu(&n->node);
	n->item = item;
	urcu_memb_read_lock();
	cds_lfq_enqueue_rcu(q, &n->node);
	urcu_memb_read_unlock();
	return true;
}

static bool lfq_pop(void *q, void *tls, void **item)
{
	struct cds_lfq_node_rcu *node;
	struct lfq_node *n;

	(void)tls;
	urcu_memb_read_lock();
	node = cds_lfq_dequeue_rcu(q);
	urcu_memb_read_unlock();
	if (!node)
		return false;
	n = caa_container_of(node, struct lfq_node, node);
	*item = n->item;
	urcu_memb_call_rcu(&n->rcu, lfq_node_free);
	return true;
}

const struct qimpl qimpl_urcu_lfq = {
	.impl = { .name = "urcu_lfq",
		  .origin = BENCH_BASELINE,
		  .package = "liburcu-dev",
		  .about = "liburcu cds_lfq (RCU lock-free queue)" },
	.caps = QI_MP | QI_MC,
	.create = lfq_create,
	.destroy = lfq_destroy,
	.thread_enter = lfq_thread_enter,
	.thread_exit = lfq_thread_exit,
	.push = lfq_push,
	.pop = lfq_pop,
};
