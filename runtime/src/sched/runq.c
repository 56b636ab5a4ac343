/*
 * A worker's local run queue (runq-private.h has the layout and the protocol).
 *
 * Why the orders suffice (C11):
 * - A task pointer a thief copies was written by the owner before its release store of tail
 *   (runq.R1); the thief reads tail with acquire (runq.A1) before it reads the slots.
 * - A slot the owner reuses was last read by a thief before that thief's release CAS moving
 *   steal past it (runq.R2); the owner reads head with acquire (runq.A2) in push, and only
 *   writes a slot below steal + RUNQ_CAP. So the thief's read happens before the owner's write.
 * - The claim is the CAS on head: whoever moves real past a slot owns it (the owner by pop or
 *   take_half, a thief by its claim), so no task is taken twice; the owner reads slots it wrote
 *   itself. A second thief backs off while steal != real, so claims never overlap.
 * - The thief's writes into its own queue reach its own later pops (same thread) and other
 *   thieves through its own tail (runq.R3). Before writing them it reads its own head with
 *   acquire (runq.A3), as push does (runq.A2): a thief of its queue read those slots on an earlier
 *   lap. TSan found this one: a thief refilled slots another thief had read, with no order.
 *
 * Test points (tests/runtime/windows/win_runq.c): runq.claimed (a thief claimed its half and has
 * not copied it), runq.copied (copied, steal not yet moved), runq.pop_back (the owner looked at
 * the ring and has not yet lowered tail).
 */
#include "runq-private.h"

#include "testpoint-private.h"

#include <errno.h>
#include <stdlib.h>

static inline uint64_t pack(uint32_t steal, uint32_t real)
{
	return (uint64_t)steal << 32 | real;
}

static inline uint32_t steal_of(uint64_t h)
{
	return (uint32_t)(h >> 32);
}

static inline uint32_t real_of(uint64_t h)
{
	return (uint32_t)h;
}

int iort__runq_init(struct iort__runq *q, unsigned cap)
{
	if (cap < 2 || cap > RUNQ_CAP_MAX || (cap & (cap - 1)) != 0)
		return -EINVAL;
	q->buf = calloc(cap, sizeof(*q->buf));
	if (q->buf == NULL)
		return -ENOMEM;
	q->cap = cap;
	atomic_init(&q->head, 0);
	atomic_init(&q->tail, 0);
	return 0;
}

void iort__runq_fini(struct iort__runq *q)
{
	free(q->buf);
	q->buf = NULL;
}

int iort__runq_push(struct iort__runq *q, void *task)
{
	/* MO relaxed: only the owner writes tail. */
	uint32_t t = atomic_load_explicit(&q->tail, memory_order_relaxed);
	/* MO runq.A2 (acquire): a thief's copy of the slots below the new steal is done before we
	 * overwrite them; pairs with runq.R2. */
	uint64_t h = atomic_load_explicit(&q->head, memory_order_acquire);

	if (t - steal_of(h) >= q->cap)
		return -ENOSPC;
	q->buf[t & (q->cap - 1)] = task;
	/* MO runq.R1 (release): the slot before the tail that shows it; pairs with runq.A1. */
	atomic_store_explicit(&q->tail, t + 1, memory_order_release);
	return 0;
}

void *iort__runq_pop(struct iort__runq *q)
{
	/* MO relaxed: the owner's own tail. */
	uint32_t t = atomic_load_explicit(&q->tail, memory_order_relaxed);
	/* MO relaxed: the CAS below decides; the slot we read is one we wrote. */
	uint64_t h = atomic_load_explicit(&q->head, memory_order_relaxed);

	for (;;) {
		uint32_t steal = steal_of(h), real = real_of(h);
		if (real == t)
			return NULL;
		uint64_t n = steal == real ? pack(real + 1, real + 1) : pack(steal, real + 1);
		/* MO relaxed: the claim is the CAS's atomicity; the slot is our own write, and the
		 * slot is reused only after our own later push (same thread). */
		if (atomic_compare_exchange_weak_explicit(&q->head, &h, n, memory_order_relaxed,
							  memory_order_relaxed))
			return q->buf[real & (q->cap - 1)];
	}
}

unsigned iort__runq_take_half(struct iort__runq *q, void **out)
{
	const unsigned n = q->cap / 2;
	/* MO relaxed: the owner's own tail. */
	uint32_t t = atomic_load_explicit(&q->tail, memory_order_relaxed);
	/* MO relaxed: as in pop. */
	uint64_t h = atomic_load_explicit(&q->head, memory_order_relaxed);

	for (;;) {
		uint32_t steal = steal_of(h), real = real_of(h);
		/* Full counts from steal (slots a thief still copies), but only [real, tail) are
		 * tasks: once the thief is done the ring may hold fewer than n, and taking n would
		 * take slots of an earlier lap, tasks that already ran. Then push has room again. */
		if (steal != real || t - real < n)
			return 0;
		/* MO relaxed: as in pop: a claim of slots we wrote. */
		if (atomic_compare_exchange_weak_explicit(&q->head, &h, pack(real + n, real + n),
							  memory_order_relaxed,
							  memory_order_relaxed)) {
			for (unsigned i = 0; i < n; i++)
				out[i] = q->buf[(real + i) & (q->cap - 1)];
			return n;
		}
	}
}

void *iort__runq_steal(struct iort__runq *src, struct iort__runq *dst)
{
	/* MO relaxed: the thief owns dst. */
	uint32_t dt = atomic_load_explicit(&dst->tail, memory_order_relaxed);
	/* MO runq.A3 (acquire): the slots of dst we are about to fill were last read by a thief of
	 * dst before its release CAS moved dst's steal past them; pairs with runq.R2. */
	uint64_t dh = atomic_load_explicit(&dst->head, memory_order_acquire);
	/* dst is empty, but a thief of dst may still be copying [steal, real): fill only slots
	 * below its steal + its capacity. */
	uint32_t room = dst->cap - (dt - steal_of(dh));
	/* MO runq.A4 (acquire): an earlier thief's end of steal happens before our fence,
	 * which then follows the owner's pop_back fence in the single total order (see
	 * pop_back); pairs with runq.R2. */
	uint64_t h = atomic_load_explicit(&src->head, memory_order_acquire);
	uint32_t first, n;

	for (;;) {
		uint32_t steal = steal_of(h), real = real_of(h);
		if (steal != real)
			return NULL; /* another thief is copying */
		/* MO runq.F2 (seq_cst fence): the head we read before the tail we read, against the
		 * owner's pop_back; pairs with runq.F1. */
		atomic_thread_fence(memory_order_seq_cst);
		/* MO runq.A1 (acquire): the slots below tail are written; pairs with runq.R1 and runq.R3. */
		uint32_t t = atomic_load_explicit(&src->tail, memory_order_acquire);
		n = t - real;
		if (n == 0 || n > src->cap)
			return NULL; /* empty, or a stale head (n wrapped): nothing to claim now */
		n -= n / 2;
		if (n > room)
			n = room;
		if (n == 0)
			return NULL;
		/* MO runq.A4b (acquire): on failure, the next head we look at, as runq.A4; on
		 * success nothing more is needed (the data came with runq.A1), but C11 wants
		 * success at least as strong as failure; pairs with runq.R2. */
		if (atomic_compare_exchange_weak_explicit(&src->head, &h, pack(steal, real + n),
							  memory_order_acquire,
							  memory_order_acquire)) {
			first = real;
			break;
		}
	}
	IORT_TP("runq.claimed");
	for (uint32_t i = 0; i < n; i++)
		dst->buf[(dt + i) & (dst->cap - 1)] = src->buf[(first + i) & (src->cap - 1)];
	IORT_TP("runq.copied");
	/* Done copying: move steal up to real (the owner may have popped meanwhile). */
	h = pack(first, first + n);
	for (;;) {
		/* MO runq.R2 (release): our reads of the slots before their owner may refill them;
		 * pairs with runq.A2 (push) and runq.A3 (its owner stealing into it). */
		if (atomic_compare_exchange_weak_explicit(
			    &src->head, &h, pack(real_of(h), real_of(h)), memory_order_release,
			    memory_order_relaxed))
			break;
	}
	/* One to run now; the rest are published in our queue. */
	void *run = dst->buf[(dt + n - 1) & (dst->cap - 1)];
	if (n > 1)
		/* MO runq.R3 (release): the copied slots before the tail that shows them, for
		 * thieves of dst; pairs with runq.A1. */
		atomic_store_explicit(&dst->tail, dt + n - 1, memory_order_release);
	return run;
}

void *iort__runq_pop_back_if(struct iort__runq *q, void *want)
{
	/* MO relaxed: the owner's own tail. */
	uint32_t t = atomic_load_explicit(&q->tail, memory_order_relaxed);
	/* MO relaxed: a first look; the decision is made after the fence. */
	uint64_t h = atomic_load_explicit(&q->head, memory_order_relaxed);

	if (real_of(h) == t || q->buf[(t - 1) & (q->cap - 1)] != want)
		return NULL;
	if (t - real_of(h) == 1) /* the only one: from the front, against the thieves */
		return iort__runq_pop(q) == want ? want : NULL;
	IORT_TP("runq.pop_back"); /* looked, not yet lowered tail: thieves may take the rest */
	/* MO relaxed: published by the fence below. */
	atomic_store_explicit(&q->tail, t - 1, memory_order_relaxed);
	/* MO runq.F1 (seq_cst fence): our smaller tail before our look at head;
	 * pairs with runq.F2. */
	atomic_thread_fence(memory_order_seq_cst);
	/* MO relaxed: ordered by the fence. */
	h = atomic_load_explicit(&q->head, memory_order_relaxed);
	int32_t others = (int32_t)(t - 1 - real_of(h));
	if (others > 0)
		return want; /* a thief cannot reach slot t - 1 (see the header) */
	/* MO relaxed: only the owner writes tail; thieves that saw t - 1 claim below it. */
	atomic_store_explicit(&q->tail, t, memory_order_relaxed);
	if (others < 0)
		return NULL; /* a thief claimed it */
	/* The only task left: take it from the front, against the thieves. */
	return iort__runq_pop(q) == want ? want : NULL;
}

unsigned iort__runq_len(const struct iort__runq *q)
{
	/* MO relaxed: a snapshot for metrics. */
	uint32_t t = atomic_load_explicit(&((struct iort__runq *)q)->tail, memory_order_relaxed);
	/* MO relaxed: as above. */
	uint64_t h = atomic_load_explicit(&((struct iort__runq *)q)->head, memory_order_relaxed);
	uint32_t n = t - real_of(h);

	return n > q->cap ? 0 : n;
}
