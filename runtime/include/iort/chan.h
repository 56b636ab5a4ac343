/**
 * Bounded blocking channel: the MPMC ring (iort/mpmc.h) with the waiting layer (iort/wait.h) on
 * both ends. Senders wait while it is full, receivers while it is empty; each successful operation
 * notifies the other side, which costs one full fence and, only when someone sleeps, a futex wake.
 *
 * Synchronization ("-" safe together, "X" caller must serialize):
 *               send*   recv*   destroy
 *   send*        -       -        X
 *   recv*        -       -        X
 * Progress: try_* lock-free and never block; *_timed block until done, the deadline (absolute
 * CLOCK_MONOTONIC ns, IORT_DEADLINE_NONE for none) or cancellation. No blocked call stays asleep
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

#ifdef __cplusplus
}
#endif

#endif /* IORT_CHAN_H */
