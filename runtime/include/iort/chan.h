/**
 * Bounded blocking channel: the MPMC ring (iort/mpmc.h) with the waiting layer (iort/wait.h) on
 * both ends. Senders wait while it is full, receivers while it is empty; each successful operation
 * notifies the other side, which costs one full fence and, only when someone sleeps, a futex wake.
 *
 * Synchronization ("-" safe together, "X" caller must serialize); poll* are the poll-style calls
 * (poll_send, poll_recv, poll_cancel), X with themselves on one waiter:
 *               send*   recv*   poll*   destroy
 *   send*        -       -       -        X
 *   recv*        -       -       -        X
 *   poll*        -       -       -        X
 * Asynchronous waiters (a task waits, no thread blocks): iort_chan_poll_send/recv try, else
 * register a waiter whose callback a later receive or send calls (one waiter per item or slot,
 * first registered first, with the same no-lost-wake-up protocol as the sleeping threads).
 * Progress: try_* lock-free and never block; poll* never sleep (a side's short spin lock);
 * *_timed block until done, the deadline (absolute CLOCK_MONOTONIC ns, IORT_DEADLINE_NONE for
 * none) or cancellation. No blocked call stays asleep
 * while the channel could serve it (an item to receive, room to send) once every other call on it
 * has finished; a try_* may still fail while another thread is between claiming and completing
 * its slot.
 */
#ifndef IORT_CHAN_H
#define IORT_CHAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <iort/compiler.h>
#include <iort/wait.h>

#ifdef __cplusplus
extern "C" {
#endif

struct iort_chan;

/**
 * A channel that holds at most @p capacity items (exactly: no rounding), from a send's success
 * until a receive takes the item.
 * @return 0 (*out written), -EINVAL (@p out NULL, capacity 0 or > 2^31), -ENOMEM.
 */
IORT_API int iort_chan_create(size_t capacity, struct iort_chan **out) IORT_WUR;
/** NULL is a no-op. Items still queued are not freed. */
IORT_API void iort_chan_destroy(struct iort_chan *ch);

IORT_API bool iort_chan_try_send(struct iort_chan *ch, void *item);
IORT_API bool iort_chan_try_recv(struct iort_chan *ch, void **item);
/** @return 0, -ETIMEDOUT, -ECANCELED (@p c may be NULL). */
IORT_API int iort_chan_send_timed(struct iort_chan *ch, void *item, uint64_t deadline_ns,
				  struct iort_cancel *c) IORT_WUR;
/** @return 0 (*item written), -ETIMEDOUT, -ECANCELED (@p c may be NULL). */
IORT_API int iort_chan_recv_timed(struct iort_chan *ch, void **item, uint64_t deadline_ns,
				  struct iort_cancel *c) IORT_WUR;

/* ---- asynchronous waiting (a task, not a thread, waits) ---- */

/** Called when the channel may have become ready for a registered waiter (see below). */
typedef void iort_chan_ready_fn(void *arg);

/**
 * A registration on one side of a channel: embed it in the waiting object, zero it (or
 * iort_chan_waiter_init()) before first use; fields are private. One waiter serves one operation
 * at a time (a send or a receive), and may be reused once that is done or cancelled.
 */
struct iort_chan_waiter {
	struct iort_chan_waiter *iort_private_next;
	struct iort_chan_waiter *iort_private_prev;
	iort_chan_ready_fn *iort_private_fn;
	void *iort_private_arg;
	void *iort_private_side;
	uint32_t iort_private_state;
	uint32_t iort_private_pad;
};

/** Make @p w idle (unregistered). */
IORT_API void iort_chan_waiter_init(struct iort_chan_waiter *w);

/**
 * Poll-style send: try to send @p item; if the channel is full, register @p w on its senders'
 * side (unless still registered from an earlier poll: that registration, with its fn and arg,
 * stands) and try again, so that no wake-up is lost: when a receive later makes room, one
 * registered waiter's @p fn(@p arg) is called, on the receiving thread (short: it wakes a task),
 * and its owner polls again. @p arg must stay valid while @p w is registered; a poll that returns
 * 0 and iort_chan_poll_cancel() wait for a call of fn that is running (a short spin), so after
 * either, fn is not running and will not run for @p w.
 * @return 0 (sent; @p w is idle), -EAGAIN (not sent; @p w is registered, or fn is being called).
 */
IORT_API int iort_chan_poll_send(struct iort_chan *ch, void *item, struct iort_chan_waiter *w,
				 iort_chan_ready_fn *fn, void *arg) IORT_WUR;
/** Poll-style receive, the mirror of iort_chan_poll_send(). @return 0 (*item written), -EAGAIN. */
IORT_API int iort_chan_poll_recv(struct iort_chan *ch, void **item, struct iort_chan_waiter *w,
				 iort_chan_ready_fn *fn, void *arg) IORT_WUR;
/**
 * Give up a poll-style operation: unregister @p w if it is registered, waiting for a call of fn
 * that is running. If fn was called and the caller gives up without polling again, the readiness
 * it announced is passed on to another waiter of that side, so a give-up strands nobody.
 * Not concurrently with a poll of the same @p w.
 * @return true: @p w was registered and is removed (fn was not called for it); false: it was
 * idle, or fn was called. Either way @p w is idle and fn is not running when it returns.
 */
IORT_API bool iort_chan_poll_cancel(struct iort_chan *ch, struct iort_chan_waiter *w);

#ifdef __cplusplus
}
#endif

#endif /* IORT_CHAN_H */
