/**
 * Unbounded multi-producer multi-consumer queue of pointers: a linked list of bounded segments.
 *
 * Each segment is a one-lap array with per-slot sequence numbers (the bounded MPMC ring's
 * protocol, without wrap-around): producers claim positions with a CAS on the segment's tail index,
 * consumers with a CAS on its head index, and neither waits for another thread's commit. A producer
 * that finds the last segment full links a new one and swings the queue's tail; a consumer that
 * finds its segment fully consumed swings the head to the next and retires the old segment.
 *
 * Memory: a segment the consumers leave is recycled once no thread holds it (each thread holds at
 * most one, under a hazard pointer), so a preempted thread pins one segment, not everything retired
 * after it; a small per-queue cache keeps steady state free of allocation (one allocation per
 * segment at most, none per operation), and segments beyond it are freed, so memory returns as
 * the queue drains: segments owned <= items / segment_slots + 3 + t * (5 + 2 t) for t threads
 * using the queue (runtime/src/queues/segq.c). destroy frees everything.
 *
 * Synchronization ("-" safe together, "X" caller must serialize):
 *               push   try_pop   segments   destroy
 *   push         -        -         -          X
 *   try_pop      -        -         -          X
 * Progress: lock-free; push may allocate (malloc) when a new segment is needed and no recycled one
 * is safe yet. Stores pointers (NULL included); never frees them.
 * FIFO: items are popped in the order their positions were claimed; one producer's items keep
 * that producer's order.
 */
#ifndef IORT_SEGQ_H
#define IORT_SEGQ_H

#include <stdbool.h>
#include <stddef.h>

#include <iort/compiler.h>

#ifdef __cplusplus
extern "C" {
#endif

struct iort_segq;

/**
 * @p segment_slots rounds up to a power of two (0 picks the default, 1024).
 * @return 0, -EINVAL (> 2^20 slots), -ENOMEM.
 */
IORT_API int iort_segq_create(size_t segment_slots, struct iort_segq **out) IORT_WUR;
/** Frees every segment, not the items still queued. NULL is a no-op. */
IORT_API void iort_segq_destroy(struct iort_segq *q);

/** @return 0, or -ENOMEM when a new segment was needed and could not be allocated. */
IORT_API int iort_segq_push(struct iort_segq *q, void *item) IORT_WUR;
/** @return false when empty (or the next item is still being published); *item only on success. */
IORT_API bool iort_segq_try_pop(struct iort_segq *q, void **item);
/** Segments the queue owns right now (linked, cached and awaiting reclamation): a memory bound. */
IORT_API size_t iort_segq_segments(const struct iort_segq *q);

#ifdef __cplusplus
}
#endif

#endif /* IORT_SEGQ_H */
