/*
 * mutex_ring: the simplest correct bounded MPMC queue, a ring under one pthread_mutex (glibc's
 * default, non-adaptive mutex). Every push and pop takes the lock; bursts are not offered.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "queue_impl.h"

struct mring {
	pthread_mutex_t lock;
	size_t head; /* next to pop */
	size_t tail; /* next to push */
	size_t mask;
	void **slots;
} __attribute__((aligned(64)));

static int mring_create(size_t capacity, void **out)
{
	size_t cap = 2;
	struct mring *q;

	while (cap < capacity)
		cap <<= 1;
	if (posix_memalign((void **)&q, 64, sizeof(*q)))
		return -ENOMEM;
	q->slots = calloc(cap, sizeof(*q->slots));
	if (!q->slots) {
		free(q);
		return -ENOMEM;
	}
	pthread_mutex_init(&q->lock, NULL);
	q->head = q->tail = 0;
	q->mask = cap - 1;
	*out = q;
	return 0;
}

static void mring_destroy(void *p)
{
	struct mring *q = p;

	pthread_mutex_destroy(&q->lock);
	free(q->slots);
	free(q);
}

static bool mring_push(void *p, void *tls, void *item)
{
	struct mring *q = p;
	bool ok;

	(void)tls;
	pthread_mutex_lock(&q->lock);
	ok = q->tail - q->head <= q->mask;
	if (ok)
		q->slots[q->tail++ & q->mask] = item;
	pthread_mutex_unlock(&q->lock);
	return ok;
}

static bool mring_pop(void *p, void *tls, void **item)
{
	struct mring *q = p;
	bool ok;

	(void)tls;
	pthread_mutex_lock(&q->lock);
	ok = q->tail != q->head;
	if (ok)
		*item = q->slots[q->head++ & q->mask];
	pthread_mutex_unlock(&q->lock);
	return ok;
}

const struct qimpl qimpl_mutex_ring = {
	.impl = { .name = "mutex_ring",
		  .origin = BENCH_BASELINE,
		  .package = "libc6",
		  .about = "a ring behind one pthread mutex" },
	.caps = QI_MP | QI_MC | QI_BOUNDED,
	.create = mring_create,
	.destroy = mring_destroy,
	.push = mring_push,
	.pop = mring_pop,
};
