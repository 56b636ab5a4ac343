/**
 * Async forms of the blocking primitives: sleep, the fair mutex's lock, the channel's send and
 * receive, and a descriptor's readiness (iort/reactor.h), each with a deadline and a cancellation
 * token, as poll-style futures that a pool task
 * embeds in its state and polls from its iort_poll_fn. A task that waits returns IORT_PENDING and
 * its worker runs other tasks: nothing here blocks a thread.
 *
 *   struct conn { struct iort_async f; int step; ... };
 *
 *   static enum iort_poll conn_poll(void *arg, struct iort_waker *w)
 *   {
 *           struct conn *c = arg;
 *           if (c->step == 0) {
 *                   iort_async_mutex_lock(&c->f, &table_lock, iort_clock_ns() + 5000000, c->cancel);
 *                   c->step = 1;
 *           }
 *           int r = iort_async_poll(&c->f, w);
 *           if (r == IORT_PENDING)
 *                   return IORT_PENDING;       // the grant, the deadline or the token wakes us
 *           iort_async_fini(&c->f);
 *           if (r == 0) { ...; iort_mutex_unlock_async(&table_lock); }
 *           return IORT_READY;
 *   }
 *
 * Design (tokio's futures over the blocking primitives' own wait queues):
 *  - sleep arms a timer on the loop of the worker that polls it (iort_loop_current(): the pool
 *    comes from iort_loop_pool_create()); the timer's callback wakes the task. The timer lives in
 *    a small heap record shared by the future and the loop, because a task moves between workers
 *    and timers belong to their loop's thread: a future dropped or finished elsewhere cancels its
 *    timer with iort_loop_post(), and the record is freed by whichever side lets go last.
 *  - the mutex's lock queues an asynchronous record in the mutex's FIFO (iort_mutex_lock_async):
 *    the unlock hands the mutex over and its callback wakes the task, which resumes owning the
 *    mutex. The lock-order checker does not see it: unlock with iort_mutex_unlock_async().
 *  - send and receive register on the channel's side (iort_chan_poll_send/recv), notified like a
 *    sleeping thread, with the same no-lost-wake-up protocol.
 *  - a deadline (absolute CLOCK_MONOTONIC ns, IORT_DEADLINE_NONE: none) bounds any of them with
 *    the sleep's timer: that is the timeout form. A token (struct iort_cancel, may be NULL) gets a
 *    callback that wakes the task; its next poll withdraws everything and returns -ECANCELED.
 *  - every wait-up may be spurious: a poll re-checks, and a future returns IORT_PENDING until its
 *    result is settled.
 *
 * Results (iort_async_poll): IORT_PENDING, or once settled:
 *    0            slept until the deadline / locked (the task owns the mutex) / sent / received
 *    -ETIMEDOUT   the deadline passed first (lock, send, receive; never for sleep)
 *    -ECANCELED   the token was cancelled (checked at every poll, first: it wins over an
 *                 operation not yet done; a mutex handed over meanwhile is unlocked again)
 *    -ENOTSUP     a deadline needs a loop and the task's worker has none (a plain pool)
 *    -ENOMEM      the timer's record could not be allocated
 * The mutex handed over before a deadline wins over the deadline (as iort_mutex_lock_timed).
 *
 * Ownership: the future belongs to its task. iort_async_fini() drops it at any time: a pending
 * future withdraws its mutex record (unlocking the mutex if it was handed over unseen), its
 * channel registration (passing on a readiness it absorbed), its token callback (waiting if it
 * runs) and its timer (cancelled on its loop: directly from that loop's thread, else by a post).
 * After fini the future may be reused or freed. Call fini before the mutex, channel or token go.
 *
 * Synchronization: one future is polled by one task at a time (the pool's guarantee); init, poll
 * and fini on one future are serialized by its owner; distinct futures are independent.
 * Progress: poll never blocks (it may spin a few instructions while a waker of the same mutex or
 * channel is between two steps of a hand-off); fini waits only for a token callback that is
 * running.
 */
#ifndef IORT_ASYNC_H
#define IORT_ASYNC_H

#include <stdbool.h>
#include <stdint.h>

#include <iort/cancel.h>
#include <iort/chan.h>
#include <iort/compiler.h>
#include <iort/mutex.h>
#include <iort/pool.h>
#include <iort/reactor.h>

#ifdef __cplusplus
extern "C" {
#endif

/** A future (any kind); start it with one of the iort_async_* calls below; fields are private. */
struct iort_async {
	uint32_t iort_private_kind;
	uint32_t iort_private_state;
	int32_t iort_private_result;
	uint32_t iort_private_flags;
	uint64_t iort_private_deadline;
	struct iort_cancel *iort_private_cancel;
	struct iort_waker *iort_private_waker;
	void *iort_private_alarm;
	struct iort_mutex *iort_private_m;
	struct iort_chan *iort_private_ch;
	void *iort_private_item;
	struct iort_cancel_cb iort_private_ccb;
	struct iort_chan_waiter iort_private_cw;
	struct iort_mutex_waiter iort_private_rec;
	struct iort_loop *iort_private_loop; /* I/O: the descriptor's loop, fd and interest */
	int32_t iort_private_fd;
	uint32_t iort_private_events;
	uint32_t iort_private_ready;
};

/** Start a sleep until @p deadline_ns (cancelled by @p c, may be NULL). Result 0 or -ECANCELED. */
IORT_API void iort_async_sleep(struct iort_async *f, uint64_t deadline_ns, struct iort_cancel *c);
/** Start a lock of @p m, bounded by @p deadline_ns and @p c. Result 0: the task owns @p m. */
IORT_API void iort_async_mutex_lock(struct iort_async *f, struct iort_mutex *m,
				    uint64_t deadline_ns, struct iort_cancel *c);
/** Start a send of @p item on @p ch, bounded by @p deadline_ns and @p c. */
IORT_API void iort_async_chan_send(struct iort_async *f, struct iort_chan *ch, void *item,
				   uint64_t deadline_ns, struct iort_cancel *c);
/** Start a receive from @p ch, bounded by @p deadline_ns and @p c; the item: iort_async_item(). */
IORT_API void iort_async_chan_recv(struct iort_async *f, struct iort_chan *ch, uint64_t deadline_ns,
				   struct iort_cancel *c);

/**
 * Start a wait for @p fd (registered on @p l with iort_io_start()) to be ready for @p events
 * (IORT_IO_READ and/or IORT_IO_WRITE), bounded by @p deadline_ns and @p c. Result 0 (the
 * readiness: iort_async_ready()), -ETIMEDOUT, -ECANCELED, -ENOENT (@p fd is not registered, or
 * was stopped meanwhile). Settled, cancelled or dropped, it leaves no waker in the loop's slot.
 */
IORT_API void iort_async_io(struct iort_async *f, struct iort_loop *l, int fd, uint32_t events,
			    uint64_t deadline_ns, struct iort_cancel *c);
/** The readiness an I/O wait settled with (as iort_io_poll() stores it: pass it to
 * iort_io_clear() after EAGAIN); 0 otherwise. */
IORT_API uint32_t iort_async_ready(const struct iort_async *f);

/**
 * Poll @p f from the task's poll function with its waker @p w (cloned when kept).
 * @return IORT_PENDING (the task is woken when it should poll again), or the result (see the
 * file header); once settled, every later poll returns the same result.
 */
IORT_API int iort_async_poll(struct iort_async *f, struct iort_waker *w) IORT_WUR;
/** The item a receive got (after its poll returned 0); NULL otherwise. */
IORT_API void *iort_async_item(const struct iort_async *f);
/** Drop @p f (pending or settled): withdraw everything it registered. Then it may be reused. */
IORT_API void iort_async_fini(struct iort_async *f);

#ifdef __cplusplus
}
#endif

#endif /* IORT_ASYNC_H */
