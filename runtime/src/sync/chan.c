/*
 * Bounded blocking channel: an iort_mpmc ring plus two event counts (iort/wait.h).
 *
 *   send: bounded push; fence (chan.S1); wake one receiver if any waits;
 *         then, if senders wait and the ring would take another item now, wake one sender too.
 *   recv: pop;          fence (chan.S2); wake one sender if any waits;
 *         then, if receivers wait and the next item is published, wake one receiver too.
 *   *_timed: iort_wait_until(the waitq of the condition it needs, try_*, deadline, cancel),
 *            whose every attempt follows a prepare (wait.S1 + wait.S2) on that waitq.
 *
 * Why the chaining (the second wake): the ring hands out positions in order, but publishes them
 * in any order. Receivers R1, R2 sleep on an empty channel; sender A claims position 0 and is
 * preempted; sender B publishes position 1 and wakes R1, which finds position 0 unpublished and
 * sleeps again. A publishes and wakes one receiver, which takes A's item; B's item would stay
 * while the other receiver sleeps. The wake-up B paid for was spent on a receiver that could not
 * use it, so whoever takes the item in front passes a wake-up on. The mirror: senders sleep on a
 * full channel, receiver A claims a slot and is preempted, receiver B frees the next one and
 * wakes sender S1, which finds A's slot still held; when A releases, the sender that fills it
 * wakes the other. Test: tests/runtime/windows/win_chan.c drives both through the mpmc test points.
 *
 * Claim (no stranded waiter): take any execution that becomes quiescent: from some point on no
 * channel call is in progress except waits that never return, and no call returns. Then no
 * receiver sleeps in such a wait while the ring holds a published item, and no sender sleeps
 * while a bounded push could succeed.
 *
 * Proof for receivers (C11 terms; the sender case is the mirror, see below). Let deq.pos = d and
 * slot d hold a published item in the final state, and let R be a receiver whose last cycle
 * (prepare, try_pop, sleep) never ends. The final values of deq.pos and of slot d's seq were
 * written by a receiver X (the CAS d-1 -> d, in try_pop) and a sender P (the release store
 * publishing d); X then executes chan.S2 and P chan.S1 (seq_cst fences). Initial values need no
 * writer. Let L be whichever of those fences comes last in the total order S of seq_cst
 * operations (C11 7.17.3), and W2 R's fence wait.S2 in its last prepare.
 *  - If L precedes W2 in S: both writes precede their fences, which precede W2, so R's try_pop,
 *    after W2, reads deq.pos >= d and slot d published (the rule for two seq_cst fences), hence
 *    exactly d, and pops: its cycle ends. Contradiction.
 *  - If W2 precedes L: the thread of L loads the receivers' waiters count after L, so it sees R's
 *    increment (wait.S1, before W2) or a later value; R never decrements it, so waiters >= 1.
 *    If L is P's, P wakes a receiver unconditionally. If L is X's, X's peek at the ring (after L)
 *    reads deq.pos = d (its own write, the final one) and slot d published (P's fence precedes L),
 *    so X wakes one too. A wake bumps seq (release) and futex_wakes one sleeper. If R's key
 *    predates the bump and R is not yet in the kernel, its futex_wait fails and its cycle ends;
 *    otherwise some sleeper R' is woken (one in the kernel is, by the bump and futex_wake). R'
 *    read the bump with acquire (wait.A3), so L happens before its next prepare: its next cycle
 *    is in the first case and pops d, which contradicts quiescence, unless R' leaves with
 *    -ECANCELED, in which case wait.c passes the wake-up on (or its canceller woke every
 *    sleeper) and the same reasoning applies to the next woken sleeper; there are finitely many.
 *    A sleeper whose key already includes the bump began its cycle after L and is in case one.
 * Senders: the final enq.pos e is written by a sender Y (claim e-1; Y then runs chan.S1 and its
 * peek: slot e free and e - deq.pos < capacity), the final seq of slot e by a receiver C (the
 * release of e - ring size) and the final deq.pos by a receiver D (its CAS); C and D run chan.S2
 * and wake a sender unconditionally. The same case split on the last of those fences applies.
 * Without the peek-and-wake after chan.S1 / chan.S2 the X and Y cases fail: that is the bug.
 *
 * Cost: one seq_cst fence per successful operation (as before), two relaxed loads of waiters
 * counts; the peek and any futex syscall happen only when someone waits.
 *
 * Capacity: exactly as asked. The ring rounds up to a power of two (at least 2); a push also
 * requires enq.pos - deq.pos < capacity (iort__mpmc_try_push_bounded), skipped when the ring size
 * equals the capacity. Items count from a sender's claim until a receiver's claim.
 */
#include <iort/chan.h>
#include <iort/mpmc.h>

#include "mpmc-private.h"
#include "wait-private.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

struct iort_chan {
	struct iort_mpmc *ring;
	size_t capacity; /* at most this many items; the ring may be larger */
	/* Each waitq on its own line: notifiers on one side load the other side's waiters. */
	IORT_CACHELINE_ALIGNED struct iort_waitq not_empty; /* receivers sleep here */
	IORT_CACHELINE_ALIGNED struct iort_waitq not_full;  /* senders sleep here */
};

IORT_API int iort_chan_create(size_t capacity, struct iort_chan **out)
{
	struct iort_chan *ch;
	int r;

	if (!out || capacity == 0 || capacity > ((size_t)1 << 31))
		return -EINVAL;
	ch = aligned_alloc(IORT_CACHELINE, sizeof(*ch));
	if (!ch)
		return -ENOMEM;
	r = iort_mpmc_create(capacity, &ch->ring);
	if (r < 0)
		goto fail;
	ch->capacity = capacity;
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
	if (!iort__mpmc_try_push_bounded(ch->ring, item, ch->capacity))
		return false;
	/* MO chan.S1 (seq_cst): our claim and publish before the loads of both waiters counts and
	 * the peek (store->load); pairs with wait.S2 in iort_waitq_prepare() of either side and with
	 * chan.S2 (see the proof in the header). */
	atomic_thread_fence(memory_order_seq_cst);
	iort__waitq_wake(&ch->not_empty, 1);
	/* Chaining: the wake-up that made room here may have been spent on a sender that found the
	 * slot in front still held; pass one on while the ring takes another item. */
	if (iort__waitq_waiting(&ch->not_full) && iort__mpmc_can_push(ch->ring, ch->capacity))
		iort__waitq_wake(&ch->not_full, 1);
	return true;
}

IORT_API bool iort_chan_try_recv(struct iort_chan *ch, void **item)
{
	if (!iort_mpmc_try_pop(ch->ring, item))
		return false;
	/* MO chan.S2 (seq_cst): our claim and release before the loads of both waiters counts and
	 * the peek (store->load); pairs with wait.S2 in iort_waitq_prepare() of either side and with
	 * chan.S1 (see the proof in the header). */
	atomic_thread_fence(memory_order_seq_cst);
	iort__waitq_wake(&ch->not_full, 1);
	/* Chaining: the item in front of the next one was ours; a receiver woken for the next one
	 * may have found ours unpublished and gone back to sleep. */
	if (iort__waitq_waiting(&ch->not_empty) && iort__mpmc_can_pop(ch->ring))
		iort__waitq_wake(&ch->not_empty, 1);
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
