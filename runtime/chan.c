/*
 * Bounded blocking channel: an iort_mpmc ring plus two event counts (iort/wait.h).
 *
 *   send: try_push; on success notify_one(not_empty)   (a receiver may sleep on "empty")
 *   recv: try_pop;  on success notify_one(not_full)    (a sender may sleep on "full")
 *   *_timed: iort_wait_until(the waitq of the condition it needs, try_*, deadline, cancel)
 *
 * No lost wake-up: every state change that can unblock the other side (an item in, a slot out) is
 * followed by a notify on that side's waitq, after the ring operation completed; the waitq's fence
 * pair (wait.S2 / wait.S3) then guarantees that a sleeper either sees the change in its re-check
 * or is woken. The ring may report full/empty spuriously while another thread is between claiming
 * and committing a slot; that thread notifies when it commits, so the waiter is woken then.
 * Wake-one: each item (slot) unblocks at most one waiter, so one wake per operation suffices; a
 * woken waiter that leaves by cancellation forwards its wake-up (see wait.c).
 *
 * Capacity: the ring rounds it up to a power of two (at least 2), so a channel created with
 * capacity 3 holds 4 items.
 */
#include <iort/chan.h>
#include <iort/mpmc.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

struct iort_chan {
	struct iort_mpmc *ring;
	/* Each waitq on its own line: notifiers on one side load the other side's waiters. */
	IORT_CACHELINE_ALIGNED struct iort_waitq not_empty; /* receivers sleep here */
	IORT_CACHELINE_ALIGNED struct iort_waitq not_full;  /* senders sleep here */
};

IORT_API int iort_chan_create(size_t capacity, struct iort_chan **out)
{
	struct iort_chan *ch;
	int r;

	if (capacity == 0 || capacity > ((size_t)1 << 31))
		return -EINVAL;
	ch = aligned_alloc(IORT_CACHELINE, sizeof(*ch));
	if (!ch)
		return -ENOMEM;
	r = iort_mpmc_create(capacity, &ch->ring);
	if (r < 0)
		goto fail;
	iort_waitq_init(&ch->not_empty);
	iort_waitq_init(&ch->not_full);
	*out = ch;
	return 0;
fail:
	free(ch);
	return r;
}

IORT_API void iort_chan_destroy(struct iort_chan *ch)
{
	if (!ch)
		return;
	iort_mpmc_destroy(ch->ring);
	free(ch);
}

IORT_API bool iort_chan_try_send(struct iort_chan *ch, void *item)
{
	if (!iort_mpmc_try_push(ch->ring, item))
		return false;
	iort_waitq_notify_one(&ch->not_empty);
	return true;
}

IORT_API bool iort_chan_try_recv(struct iort_chan *ch, void **item)
{
	if (!iort_mpmc_try_pop(ch->ring, item))
		return false;
	iort_waitq_notify_one(&ch->not_full);
	return true;
}

struct send_ctx {
	struct iort_chan *ch;
	void *item;
};

static bool try_send_fn(void *ctx)
{
	struct send_ctx *s = ctx;

	return iort_chan_try_send(s->ch, s->item);
}

struct recv_ctx {
	struct iort_chan *ch;
	void *item;
};

static bool try_recv_fn(void *ctx)
{
	struct recv_ctx *r = ctx;

	return iort_chan_try_recv(r->ch, &r->item);
}

IORT_API int iort_chan_send_timed(struct iort_chan *ch, void *item, uint64_t deadline_ns,
				  struct iort_cancel *c)
{
	struct send_ctx s = { ch, item };

	return iort_wait_until(&ch->not_full, try_send_fn, &s, deadline_ns, c);
}

IORT_API int iort_chan_recv_timed(struct iort_chan *ch, void **item, uint64_t deadline_ns,
				  struct iort_cancel *c)
{
	struct recv_ctx r = { ch, NULL };
	int ret = iort_wait_until(&ch->not_empty, try_recv_fn, &r, deadline_ns, c);

	if (ret == 0)
		*item = r.item;
	return ret;
}
