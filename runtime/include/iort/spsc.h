/**
 * Bounded single-producer single-consumer ring of pointers.
 *
 * Per-slot readiness (FastForward): a slot holding NULL is empty, so the producer checks the slot
 * it fills and the consumer the slot it drains; neither reads the other's position, and a handoff
 * moves only slot lines (eight items per line). NULL items round-trip (stored as a private
 * address). A burst checks one slot for room and then stores its items one by one.
 *
 * Synchronization ("-" safe together, "X" caller must serialize):
 *                 push*   pop*   capacity   destroy
 *   push*          X       -        -          X
 *   pop*           -       X        -          X
 * (one producer thread and one consumer thread at a time; a role may pass to another thread only
 * with a happens-before between them, such as a join or a lock: each side's position is plain
 * memory of its own.)
 * Progress: wait-free. Never blocks. Stores pointers (NULL included); never frees them.
 */
#ifndef IORT_SPSC_H
#define IORT_SPSC_H

#include <stdbool.h>
#include <stddef.h>

#include <iort/compiler.h>

#ifdef __cplusplus
extern "C" {
#endif

struct iort_spsc;

/** Capacity rounds up to a power of two. @return 0, -EINVAL (0 or > 2^31), -ENOMEM. */
IORT_API int iort_spsc_create(size_t capacity, struct iort_spsc **out) IORT_WUR;
/** Frees the ring, not the items still in it. NULL is a no-op. */
IORT_API void iort_spsc_destroy(struct iort_spsc *q);
IORT_API size_t iort_spsc_capacity(const struct iort_spsc *q);

/** @return false when full. What the producer wrote before the push, the popper sees. */
IORT_API bool iort_spsc_try_push(struct iort_spsc *q, void *item);
/** @return false when empty; *item is written only on success. */
IORT_API bool iort_spsc_try_pop(struct iort_spsc *q, void **item);
/**
 * Push up to @p n items in order. Not one atomic step: the consumer may pop the first items before
 * the last is stored. @return how many were pushed (0..n).
 */
IORT_API size_t iort_spsc_push_burst(struct iort_spsc *q, void *const *items, size_t n);
/** Pop up to @p n items in order into @p items. @return how many were popped (0..n). */
IORT_API size_t iort_spsc_pop_burst(struct iort_spsc *q, void **items, size_t n);

#ifdef __cplusplus
}
#endif

#endif /* IORT_SPSC_H */
