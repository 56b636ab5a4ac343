/**
 * Bounded multi-producer multi-consumer ring of pointers (per-slot sequence numbers).
 *
 * Vyukov's bounded MPMC queue: each slot carries a sequence number that says whose turn it is
 * (seq == pos: free for the producer of position pos; seq == pos + 1: holds the item of pos;
 * seq == pos + capacity: free for the next lap). Producers and consumers claim positions with a CAS
 * on their own index and never wait for another thread's commit: a slot claimed but not yet
 * published makes try_pop report empty (and a slot not yet consumed makes try_push report full),
 * so a preempted thread delays only the items behind its own slot, never the other threads' calls.
 *
 * Synchronization ("-" safe together, "X" caller must serialize):
 *                 try_push*  try_pop*  capacity  destroy
 *   try_push*        -          -         -         X
 *   try_pop*         -          -         -         X
 * Progress: lock-free. Never blocks. Stores pointers (NULL included); never frees them.
 * FIFO: items are popped in the order their positions were claimed; one producer's items keep
 * that producer's order.
 */
#ifndef IORT_MPMC_H
#define IORT_MPMC_H

#include <stdbool.h>
#include <stddef.h>

#include <iort/compiler.h>

#ifdef __cplusplus
extern "C" {
#endif

struct iort_mpmc;

/** Capacity rounds up to a power of two, at least 2. @return 0, -EINVAL (0 or > 2^31), -ENOMEM. */
IORT_API int iort_mpmc_create(size_t capacity, struct iort_mpmc **out) IORT_WUR;
/** Frees the ring, not the items still in it. NULL is a no-op. */
IORT_API void iort_mpmc_destroy(struct iort_mpmc *q);
IORT_API size_t iort_mpmc_capacity(const struct iort_mpmc *q);

/** @return false when full (or the next slot is still being consumed). */
IORT_API bool iort_mpmc_try_push(struct iort_mpmc *q, void *item);
/** @return false when empty (or the next item is still being published); *item only on success. */
IORT_API bool iort_mpmc_try_pop(struct iort_mpmc *q, void **item);
/** Push up to @p n items into consecutive positions, in order. @return how many (0..n). */
IORT_API size_t iort_mpmc_try_push_bulk(struct iort_mpmc *q, void *const *items, size_t n);
/** Pop up to @p n items from consecutive positions, in order. @return how many (0..n). */
IORT_API size_t iort_mpmc_try_pop_bulk(struct iort_mpmc *q, void **items, size_t n);

#ifdef __cplusplus
}
#endif

#endif /* IORT_MPMC_H */
