/*
 * A worker's local run queue: a bounded ring of task pointers that only its owner pushes to and
 * pops from, and that other workers steal half of (tokio's local queue shape).
 *
 *   head  64 bits: steal (high 32) and real (low 32), both counting pops from the front.
 *         [steal, real) are slots a thief has claimed and is still copying; [real, tail) are
 *         the queued tasks. steal == real when no steal is in progress.
 *   tail  32 bits, written by the owner only: the next slot to push.
 *
 * Owner:  push   writes the slot, then tail (runq.R1); full when tail - steal == cap, so a
 *                slot a thief is still copying is never overwritten.
 *         pop    CAS real -> real + 1 (and steal with it when no steal is in progress): FIFO.
 *         take_half (overflow): when full and no steal is in progress, CAS both steal and real
 *                past the oldest half, and hand those tasks to the caller (for the pool's inject
 *                queue) in one batch.
 * Thief:  steal  only while steal == real (one thief at a time per queue): CAS real -> real + n
 *                (claim half, rounded up), copy the n tasks into its own queue, then CAS
 *                steal -> real (runq.R2: the copy is finished, the slots may be reused), then
 *                publish them in its own queue (one returned to run at once).
 *
 * Synchronization: push, pop and take_half by the owner only; steal by any thread, into a queue
 * that thread owns. Progress: the owner's calls are lock-free (a CAS retried only when a thief
 * moved the head); steal gives up (returns 0) when another thief is mid-steal.
 */
#ifndef IORT_RUNQ_PRIVATE_H
#define IORT_RUNQ_PRIVATE_H

#include <iort/compiler.h>

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define RUNQ_CAP     256u  /* the pool's default capacity */
#define RUNQ_CAP_MAX 4096u /* a power of two, far below 2^31 */

struct iort__runq {
	_Atomic uint64_t head IORT_CACHELINE_ALIGNED;
	_Atomic uint32_t tail IORT_CACHELINE_ALIGNED;
	uint32_t cap; /* a power of two; cap and buf are set by init and then only read */
	void **buf;
};

/** @return 0; -EINVAL (@p cap not a power of two in 2..RUNQ_CAP_MAX); -ENOMEM. */
int iort__runq_init(struct iort__runq *q, unsigned cap);
void iort__runq_fini(struct iort__runq *q);
/** Owner: queue @p task. @return 0, or -ENOSPC (full: move half out with take_half first). */
int iort__runq_push(struct iort__runq *q, void *task);
/** Owner: the oldest task, or NULL when empty. */
void *iort__runq_pop(struct iort__runq *q);
/**
 * Owner, when push said full: move the oldest cap / 2 tasks to @p out (room for as many).
 * @return the number moved (cap / 2), or 0 when a thief is mid-steal or fewer than that many
 * are queued (the ring is full only of slots a thief was copying: push again).
 */
unsigned iort__runq_take_half(struct iort__runq *q, void **out);
/**
 * Thief (the owner of @p dst, which must be empty): move half of @p src's tasks (rounded up)
 * into @p dst and return one of them to run now; NULL when @p src is empty or another thief is
 * stealing from it.
 */
void *iort__runq_steal(struct iort__runq *src, struct iort__runq *dst);
/** Tasks queued, for metrics: exact for the owner, a snapshot for others. */
unsigned iort__runq_len(const struct iort__runq *q);

#endif /* IORT_RUNQ_PRIVATE_H */
