/*
 * Bounded single-producer single-consumer ring of pointers with per-slot readiness.
 *
 * FastForward (Giacomoni, Moseley, Vachharajani, "FastForward for efficient pipeline parallelism",
 * PPoPP 2008), the Lamport ring with its shared indices replaced by the slots themselves: a slot
 * holding NULL is empty, any other value is an item. The producer's position (head) and the
 * consumer's (tail) are private to their owners and never read by the other side:
 *
 *   push   slot[head] empty?  store the item into it (release), head++     else "full"
 *   pop    slot[tail] full?   take the item, store NULL (release), tail++   else "empty"
 *
 * Why not cached indices (Lamport + MCRingBuffer/Rigtorp, this file's previous design): when the
 * consumer keeps up, its cache says "empty" after almost every item, so every pop reloads the
 * producer's index: two lines change hands per item (the index line and the slot line), where a
 * per-slot ring moves only slot lines, eight items per line. Measured on the project VM (2 vCPU
 * EPYC, shared and loaded, 1 producer + 1 consumer, capacity 1024, queue/spsc and queue/handoff,
 * bench-only candidates interleaved in one process, medians of 5, two runs; M items/s):
 *
 *                            burst 1     burst 8      burst 32     handoff p50
 *   per-slot (this file)     88 / 30     282 / 81     253 / 105    522 / 520 ns
 *   cached indices (before)   9 /  6      77 / 56      74 /  81    554 / 544 ns
 *   per-slot seq, no CAS     38 / 41      26 / 30      29 /  37    477 / 505 ns  (no native burst)
 *   cached, lazy tail store  12 / 12      20 / 17      23 /  19    562 / 546 ns
 *   iort_mpmc as an SPSC     26 / 18      85 / 40      59 /  52   1359 / 1298 ns
 *   ck_ring spsc             15 / 10      17 / 19      24 /  19    558 / 610 ns
 *   rte_ring SP/SC            8 / 12      46 / 22     181 /  38    969 / 986 ns
 *
 * NULL items: the slot word must keep one value for "empty", so a NULL item is stored as the
 * address of the ring's private byte null_item and turned back into NULL by pop. No pointer to a
 * user object can equal that address (distinct objects have distinct addresses), so every object
 * pointer and NULL round-trip exactly.
 *
 * Failed calls: a push that finds its slot full (or a pop that finds its slot empty) is polling a
 * line the other side is writing, and each poll takes it away from the writer. One pause before
 * returning false slows the poller down at no cost to a call that succeeds: single-item calls
 * 88 / 30 / 33 M items/s with it against 37 / 29 / 28 without, in three runs.
 *
 * Invariants:
 *   S1  the producer fills positions in increasing order and the consumer drains them in
 *       increasing order, and tail <= head <= tail + capacity (as free-running size_t counters,
 *       which enter only through & mask: wrapping is harmless, and a test starts them near
 *       SIZE_MAX through iort__spsc_create_at());
 *   S2  slot[p & mask] is non-NULL exactly while position p is pushed and not yet popped, so a
 *       slot seen empty for position p stays so until the producer fills it, and one seen full
 *       stays so until the consumer drains it: each side's check cannot be invalidated by the
 *       other;
 *   S3  (from S1 and S2) the slot of position p + k - 1 (k <= capacity) empty to the producer
 *       means the slots of p .. p + k - 1 are all empty: the consumer drains in order, and
 *       p + k - 1 - capacity was the last of their previous items. push_burst checks one slot.
 *
 * Memory orders, argued in the C11 model (the slot words are the only shared variables; each is
 * one atomic object, so it has one modification order that alternates item, NULL, item, ... as
 * the two sides take turns):
 *   - Why a side never sees an older lap: write-read coherence. The last store a side made to a
 *     slot (the producer's item of p - capacity, the consumer's clear of p - capacity) is
 *     sequenced before its next load of that slot, so the load returns that store or a later one:
 *     the other side's turn (S2), never a value from before it.
 *   - spsc.R1 / spsc.R3 -> spsc.A2 / spsc.A4 (item published): the consumer's acquire load reads
 *     the producer's release store of that very slot, so it synchronizes with it: the producer's
 *     writes before the push (the object the item points to) happen before the consumer's reads
 *     after the pop. A burst publishes and drains slot by slot, each slot its own pair.
 *   - spsc.R2 / spsc.R4 -> spsc.A1 / spsc.A3 (slot freed): the producer's acquire load reads the
 *     consumer's release clear: the consumer's work before that pop (its load of the old item
 *     included) happens before the producer's store of the next one, so that load cannot return
 *     the new item (read-write coherence) and the new item follows the clear in the slot's
 *     modification order (write-write coherence). For the ring's own data coherence would
 *     already do; the orders carry the user's data (a buffer the consumer was done with).
 *   - spsc.A3 (burst room, S3): it reads one clear, of the last slot of the burst. The consumer
 *     stored every earlier slot's clear before that one (in position order: spsc.R4 within a call,
 *     earlier calls' spsc.R2 / R4 before), so all of them happen before the producer's stores
 *     to those slots, with the same coherence consequences as above.
 *   No other order is needed: the positions are plain memory of one thread each.
 *
 * Capacity: rounded up to a power of two; 1 stays 1 (no spare slot is needed).
 */
#include <iort/spsc.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "spsc-private.h"

#define SPSC_BLOCK   (2 * IORT_CACHELINE)
#define MAX_CAPACITY ((size_t)1 << 31)

/* One side's private block: read and written by its owner only. */
struct side {
	size_t pos;  /* head for the producer, tail for the consumer (S1) */
	size_t mask; /* capacity - 1, copied per side so each side reads only its own block */
};

/*
 * Each block is two cache lines (SPSC_BLOCK), so neither side's writes nor the adjacent-line
 * prefetcher pull a line the other side writes.
 */
struct iort_spsc {
	_Alignas(SPSC_BLOCK) struct side prod;
	char null_item; /* never read or written: its address stands for a NULL item */
	_Alignas(SPSC_BLOCK) struct side cons;
	_Alignas(SPSC_BLOCK) _Atomic(void *) slots[];
};

static size_t round_up_pow2(size_t n)
{
	size_t p = 1;

	while (p < n)
		p <<= 1;
	return p;
}

int iort__spsc_create_at(size_t capacity, size_t start, struct iort_spsc **out)
{
	struct iort_spsc *q;
	size_t cap, size;
	void *mem;

	if (!out || capacity == 0 || capacity > MAX_CAPACITY)
		return -EINVAL;
	cap = round_up_pow2(capacity);
	if (cap > (SIZE_MAX - sizeof(*q) - SPSC_BLOCK) / sizeof(q->slots[0]))
		return -ENOMEM;
	/* Whole blocks, so the last slot line is not shared with the next allocation. */
	size = (sizeof(*q) + cap * sizeof(q->slots[0]) + SPSC_BLOCK - 1) &
	       ~(size_t)(SPSC_BLOCK - 1);
	if (posix_memalign(&mem, SPSC_BLOCK, size))
		return -ENOMEM;
	q = mem;
	q->prod.pos = start;
	q->prod.mask = cap - 1;
	q->null_item = 0;
	q->cons.pos = start;
	q->cons.mask = cap - 1;
	for (size_t i = 0; i < cap; i++)
		atomic_init(&q->slots[i], NULL);
	*out = q;
	return 0;
}

IORT_API int iort_spsc_create(size_t capacity, struct iort_spsc **out)
{
	return iort__spsc_create_at(capacity, 0, out);
}

IORT_API void iort_spsc_destroy(struct iort_spsc *q)
{
	free(q);
}

IORT_API size_t iort_spsc_capacity(const struct iort_spsc *q)
{
	return q->prod.mask + 1;
}

/* The slot word for @p item: NULL items become the ring's private address (file comment). */
static inline void *encode(struct iort_spsc *q, void *item)
{
	return item ? item : &q->null_item;
}

static inline void *decode(struct iort_spsc *q, void *word)
{
	return word == &q->null_item ? NULL : word;
}

IORT_API bool iort_spsc_try_push(struct iort_spsc *q, void *item)
{
	_Atomic(void *) *slot = &q->slots[q->prod.pos & q->prod.mask];

	/* MO spsc.A1 (acquire): pairs with spsc.R2 and spsc.R4 (try_pop, pop_burst): the
	 * consumer's work before it emptied the slot happens before we refill it (S2). */
	if (iort_unlikely(atomic_load_explicit(slot, memory_order_acquire) != NULL)) {
		iort_cpu_relax(); /* see "Failed calls" in the file comment */
		return false;
	}
	/* MO spsc.R1 (release): pairs with spsc.A2 and spsc.A4 (try_pop, pop_burst): our writes
	 * before the push (the object the item points to) happen before the consumer's reads. */
	atomic_store_explicit(slot, encode(q, item), memory_order_release);
	q->prod.pos++;
	return true;
}

IORT_API bool iort_spsc_try_pop(struct iort_spsc *q, void **item)
{
	_Atomic(void *) *slot = &q->slots[q->cons.pos & q->cons.mask];
	/* MO spsc.A2 (acquire): pairs with spsc.R1 and spsc.R3 (try_push, push_burst): the
	 * producer's writes before the push happen before our reads after the pop. */
	void *word = atomic_load_explicit(slot, memory_order_acquire);

	if (iort_unlikely(word == NULL)) {
		iort_cpu_relax(); /* see "Failed calls" in the file comment */
		return false;
	}
	/* MO spsc.R2 (release): pairs with spsc.A1 and spsc.A3 (try_push, push_burst): our work
	 * before the pop happens before the producer's reuse of the slot. */
	atomic_store_explicit(slot, NULL, memory_order_release);
	q->cons.pos++;
	*item = decode(q, word);
	return true;
}

IORT_API size_t iort_spsc_push_burst(struct iort_spsc *q, void *const *items, size_t n)
{
	size_t head = q->prod.pos, mask = q->prod.mask, k;

	if (n > mask + 1)
		n = mask + 1;
	if (iort_unlikely(n == 0))
		return 0;
	/* MO spsc.A3 (acquire): pairs with spsc.R2 and spsc.R4 (try_pop, pop_burst): the slot of
	 * head + n - 1 empty means all n are (S3), and the consumer's work before it emptied them
	 * (its clears are sequenced before this one) happens before our stores. */
	if (atomic_load_explicit(&q->slots[(head + n - 1) & mask], memory_order_acquire) == NULL) {
		k = n;
	} else {
		/* Fewer than n free: count them from head (each check as spsc.A3, S2). */
		for (k = 0; k < n - 1; k++)
			/* MO spsc.A3b (acquire): pairs with spsc.R2 and spsc.R4, as spsc.A3. */
			if (atomic_load_explicit(&q->slots[(head + k) & mask],
						 memory_order_acquire) != NULL)
				break;
		if (k == 0) {
			iort_cpu_relax(); /* see "Failed calls" in the file comment */
			return 0;
		}
	}
	for (size_t i = 0; i < k; i++)
		/* MO spsc.R3 (release): pairs with spsc.A2 and spsc.A4 (try_pop, pop_burst), as
		 * spsc.R1, item by item: the consumer may take the first before we store the last. */
		atomic_store_explicit(&q->slots[(head + i) & mask], encode(q, items[i]),
				      memory_order_release);
	q->prod.pos = head + k;
	return k;
}

IORT_API size_t iort_spsc_pop_burst(struct iort_spsc *q, void **items, size_t n)
{
	size_t tail = q->cons.pos, mask = q->cons.mask, k;

	if (n > mask + 1)
		n = mask + 1;
	if (iort_unlikely(n == 0))
		return 0;
	for (k = 0; k < n; k++) {
		/* MO spsc.A4 (acquire): pairs with spsc.R1 and spsc.R3 (try_push, push_burst), as
		 * spsc.A2, slot by slot: the producer fills them in order (S1), so the first empty
		 * one ends the run. */
		void *word =
			atomic_load_explicit(&q->slots[(tail + k) & mask], memory_order_acquire);

		if (word == NULL)
			break;
		items[k] = decode(q, word);
	}
	if (k == 0) {
		iort_cpu_relax(); /* see "Failed calls" in the file comment */
		return 0;
	}
	/* In position order: push_burst's check of one slot relies on it (S3). */
	for (size_t i = 0; i < k; i++)
		/* MO spsc.R4 (release): pairs with spsc.A1 and spsc.A3 (try_push, push_burst), as
		 * spsc.R2. */
		atomic_store_explicit(&q->slots[(tail + i) & mask], NULL, memory_order_release);
	q->cons.pos = tail + k;
	return k;
}
