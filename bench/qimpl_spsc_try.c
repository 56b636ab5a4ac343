/*
 * TEMPORARY: candidate SPSC designs, measured side by side with iort_spsc (cached indices).
 * Deleted once the winner becomes iort_spsc.
 *
 *   try_ff    per-slot readiness (FastForward): NULL slot = empty, NULL items stored as a sentinel;
 *             neither side reads the other's index.
 *   try_ffnp  the same without the pause after a failed call.
 *   try_seq   per-slot sequence numbers (Vyukov's slots without the CAS).
 *   try_lazy  cached indices; the consumer publishes tail every LAZY pops or when it sees empty.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include <iort/compiler.h>

#include "queue_impl.h"

#define BLK 128

/* ---------------- FastForward ---------------- */

struct ff {
	_Alignas(BLK) size_t head;
	size_t pmask;
	_Alignas(BLK) size_t tail;
	size_t cmask;
	_Alignas(BLK) _Atomic(void *) slots[];
};

static char ff_null;
#define FF_NULL ((void *)&ff_null)

static int ff_create(size_t cap, void **out)
{
	struct ff *q;
	size_t c = 1;

	while (c < cap)
		c <<= 1;
	if (posix_memalign((void **)&q, BLK, sizeof(*q) + c * sizeof(void *) + BLK))
		return -ENOMEM;
	q->head = q->tail = 0;
	q->pmask = q->cmask = c - 1;
	for (size_t i = 0; i < c; i++)
		atomic_init(&q->slots[i], NULL);
	*out = q;
	return 0;
}

static void ff_destroy(void *q)
{
	free(q);
}

static inline bool ff_push_(struct ff *q, void *item, bool pause)
{
	_Atomic(void *) *s = &q->slots[q->head & q->pmask];

	/* MO try.A1 (acquire): pairs with try.R2. */
	if (atomic_load_explicit(s, memory_order_acquire)) {
		if (pause)
			iort_cpu_relax();
		return false;
	}
	/* MO try.R1 (release): pairs with try.A2. */
	atomic_store_explicit(s, item ? item : FF_NULL, memory_order_release);
	q->head++;
	return true;
}

static inline bool ff_pop_(struct ff *q, void **item, bool pause)
{
	_Atomic(void *) *s = &q->slots[q->tail & q->cmask];
	/* MO try.A2 (acquire): pairs with try.R1. */
	void *v = atomic_load_explicit(s, memory_order_acquire);

	if (!v) {
		if (pause)
			iort_cpu_relax();
		return false;
	}
	/* MO try.R2 (release): pairs with try.A1. */
	atomic_store_explicit(s, NULL, memory_order_release);
	q->tail++;
	*item = v == FF_NULL ? NULL : v;
	return true;
}

static bool ff_push(void *q, void *tls, void *item)
{
	(void)tls;
	return ff_push_(q, item, true);
}

static bool ff_pop(void *q, void *tls, void **item)
{
	(void)tls;
	return ff_pop_(q, item, true);
}

static bool ffnp_push(void *q, void *tls, void *item)
{
	(void)tls;
	return ff_push_(q, item, false);
}

static bool ffnp_pop(void *q, void *tls, void **item)
{
	(void)tls;
	return ff_pop_(q, item, false);
}

static size_t ff_push_burst(void *p, void *tls, void *const *items, size_t n)
{
	struct ff *q = p;
	size_t head = q->head, mask = q->pmask, k;

	(void)tls;
	if (n > mask + 1)
		n = mask + 1;
	if (n == 0)
		return 0;
	/* MO try.A3 (acquire): pairs with try.R2 / try.R4. */
	if (!atomic_load_explicit(&q->slots[(head + n - 1) & mask], memory_order_acquire)) {
		k = n;
	} else {
		/* MO try.A4 (acquire): pairs with try.R2 / try.R4. */
		for (k = 0; k < n && !atomic_load_explicit(&q->slots[(head + k) & mask],
							   memory_order_acquire);
		     k++)
			;
		if (k == 0) {
			iort_cpu_relax();
			return 0;
		}
	}
	for (size_t i = 0; i < k; i++)
		/* MO try.R3 (release): pairs with try.A2 / try.A5. */
		atomic_store_explicit(&q->slots[(head + i) & mask], items[i] ? items[i] : FF_NULL,
				      memory_order_release);
	q->head = head + k;
	return k;
}

static size_t ff_pop_burst(void *p, void *tls, void **items, size_t n)
{
	struct ff *q = p;
	size_t tail = q->tail, mask = q->cmask, k;

	(void)tls;
	for (k = 0; k < n; k++) {
		/* MO try.A5 (acquire): pairs with try.R1 / try.R3. */
		void *v = atomic_load_explicit(&q->slots[(tail + k) & mask], memory_order_acquire);

		if (!v)
			break;
		items[k] = v == FF_NULL ? NULL : v;
	}
	if (k == 0) {
		iort_cpu_relax();
		return 0;
	}
	for (size_t i = 0; i < k; i++)
		/* MO try.R4 (release): pairs with try.A1 / try.A3. */
		atomic_store_explicit(&q->slots[(tail + i) & mask], NULL, memory_order_release);
	q->tail = tail + k;
	return k;
}

const struct qimpl qimpl_try_ff = {
	.name = "try_ff",
	.caps = QI_BOUNDED | QI_BURST,
	.create = ff_create,
	.destroy = ff_destroy,
	.push = ff_push,
	.pop = ff_pop,
	.push_burst = ff_push_burst,
	.pop_burst = ff_pop_burst,
};

const struct qimpl qimpl_try_ffnp = {
	.name = "try_ffnp",
	.caps = QI_BOUNDED | QI_BURST,
	.create = ff_create,
	.destroy = ff_destroy,
	.push = ffnp_push,
	.pop = ffnp_pop,
	.push_burst = ff_push_burst,
	.pop_burst = ff_pop_burst,
};

/* ---------------- per-slot sequence, no CAS ---------------- */

struct sslot {
	_Atomic size_t seq;
	void *item;
};

struct sq {
	_Alignas(BLK) size_t head;
	size_t pmask;
	_Alignas(BLK) size_t tail;
	size_t cmask;
	_Alignas(BLK) struct sslot slots[];
};

static int sq_create(size_t cap, void **out)
{
	struct sq *q;
	size_t c = 2;

	while (c < cap)
		c <<= 1;
	if (posix_memalign((void **)&q, BLK, sizeof(*q) + c * sizeof(struct sslot) + BLK))
		return -ENOMEM;
	q->head = q->tail = 0;
	q->pmask = q->cmask = c - 1;
	for (size_t i = 0; i < c; i++)
		atomic_init(&q->slots[i].seq, i);
	*out = q;
	return 0;
}

static bool sq_push(void *p, void *tls, void *item)
{
	struct sq *q = p;
	struct sslot *s = &q->slots[q->head & q->pmask];

	(void)tls;
	/* MO try.A6 (acquire): pairs with try.R6. */
	if (atomic_load_explicit(&s->seq, memory_order_acquire) != q->head) {
		iort_cpu_relax();
		return false;
	}
	s->item = item;
	/* MO try.R5 (release): pairs with try.A7. */
	atomic_store_explicit(&s->seq, q->head + 1, memory_order_release);
	q->head++;
	return true;
}

static bool sq_pop(void *p, void *tls, void **item)
{
	struct sq *q = p;
	struct sslot *s = &q->slots[q->tail & q->cmask];

	(void)tls;
	/* MO try.A7 (acquire): pairs with try.R5. */
	if (atomic_load_explicit(&s->seq, memory_order_acquire) != q->tail + 1) {
		iort_cpu_relax();
		return false;
	}
	*item = s->item;
	/* MO try.R6 (release): pairs with try.A6. */
	atomic_store_explicit(&s->seq, q->tail + q->cmask + 1, memory_order_release);
	q->tail++;
	return true;
}

const struct qimpl qimpl_try_seq = {
	.name = "try_seq",
	.caps = QI_BOUNDED,
	.create = sq_create,
	.destroy = ff_destroy,
	.push = sq_push,
	.pop = sq_pop,
};

/* ---------------- cached indices, lazy tail publish ---------------- */

#define LAZY 16

struct lz {
	_Alignas(BLK) _Atomic size_t head;
	size_t pcache, pmask;
	_Alignas(BLK) _Atomic size_t tail;
	size_t ccache, cmask, ctail; /* ctail: the consumer's real tail; tail lags by < LAZY */
	_Alignas(BLK) void *slots[];
};

static int lz_create(size_t cap, void **out)
{
	struct lz *q;
	size_t c = 1;

	while (c < cap)
		c <<= 1;
	if (posix_memalign((void **)&q, BLK, sizeof(*q) + c * sizeof(void *) + BLK))
		return -ENOMEM;
	atomic_init(&q->head, 0);
	atomic_init(&q->tail, 0);
	q->pcache = q->ccache = q->ctail = 0;
	q->pmask = q->cmask = c - 1;
	*out = q;
	return 0;
}

static bool lz_push(void *p, void *tls, void *item)
{
	struct lz *q = p;
	/* MO relaxed: own index. */
	size_t head = atomic_load_explicit(&q->head, memory_order_relaxed);

	(void)tls;
	if (head - q->pcache > q->pmask) {
		/* MO try.A8 (acquire): pairs with try.R8. */
		q->pcache = atomic_load_explicit(&q->tail, memory_order_acquire);
		if (head - q->pcache > q->pmask) {
			iort_cpu_relax();
			return false;
		}
	}
	q->slots[head & q->pmask] = item;
	/* MO try.R7 (release): pairs with try.A9. */
	atomic_store_explicit(&q->head, head + 1, memory_order_release);
	return true;
}

static bool lz_pop(void *p, void *tls, void **item)
{
	struct lz *q = p;
	size_t tail = q->ctail;

	(void)tls;
	if (q->ccache == tail) {
		/* MO try.A9 (acquire): pairs with try.R7. */
		q->ccache = atomic_load_explicit(&q->head, memory_order_acquire);
		if (q->ccache == tail) {
			/* MO try.R9 (release): pairs with try.A8; publish before idling. */
			atomic_store_explicit(&q->tail, tail, memory_order_release);
			iort_cpu_relax();
			return false;
		}
	}
	*item = q->slots[tail & q->cmask];
	q->ctail = ++tail;
	if (tail % LAZY == 0)
		/* MO try.R8 (release): pairs with try.A8. */
		atomic_store_explicit(&q->tail, tail, memory_order_release);
	return true;
}

const struct qimpl qimpl_try_lazy = {
	.name = "try_lazy",
	.caps = QI_BOUNDED,
	.create = lz_create,
	.destroy = ff_destroy,
	.push = lz_push,
	.pop = lz_pop,
};
