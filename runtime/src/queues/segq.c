/*
 * Unbounded MPMC queue: a Michael-Scott list of one-lap segments, each a bounded array with
 * per-slot sequence numbers (Vyukov's bounded MPMC protocol without wrap-around; the shape of
 * FAAArrayQueue / LCRQ without the ring closing), with segments protected by hazard pointers
 * (Michael, TPDS 2004; one per thread, on the records of the default EBR domain: ebr-private.h).
 *
 * Segment of S slots: tail (producers' claim index), head (consumers' claim index), next, and
 * slot[i] = {seq, item} with seq = i (free) or i + 1 (published). Both indices only grow during a
 * segment's life.
 *
 *   protect(root): seg = root; hazard = seg; fence; root == seg ? hold seg : retry with root
 *   push:    seg = protect(q->tail); pos = FAA(seg->tail, 1);
 *            pos < S:  item -> slot[pos]; seq = pos + 1 (release); clear the hazard
 *            pos >= S: the segment is full. If seg->next is NULL, get a segment (spare or
 *                      malloc) and CAS seg->next NULL -> it (loser returns its own); swing
 *                      q->tail seg -> next; retry
 *   try_pop: seg = protect(q->head); pos = seg->head;
 *            pos < S:  slot[pos].seq == pos + 1 ? CAS seg->head pos -> pos + 1, take item
 *                      : return false (empty, or the producer of pos has not published yet:
 *                        never wait for another thread's commit)
 *            pos == S: next == NULL ? return false (empty)
 *                      : if q->tail == seg, swing it to next first (I2); CAS q->head seg -> next;
 *                        the winner pushes seg on q->spare and recycles the spare (below); retry
 *
 * Invariants.
 *  I1. Consumers leave a segment only when seg->head == S, i.e. all S positions were claimed and
 *      published, so seg->tail >= S for good: a producer that still holds seg (under its hazard)
 *      can only get pos >= S from it and moves on; no item is ever written into an abandoned
 *      segment.
 *  I2. q->tail is never behind q->head: before swinging q->head past seg, the consumer moves
 *      q->tail past seg (or reads it past seg), helping the producer that linked next. Both swing
 *      only forward. So when seg reaches q->spare no shared pointer (q->head, q->tail) leads to
 *      it, and that unlink happens before the recycler's fence (segq.F2): a thread whose fence
 *      (segq.F1) comes later re-loads a root that has moved past seg and lets go of it.
 *      I2 is load-bearing: q->tail lags on seg between a producer's link CAS and its tail CAS,
 *      and a thread that protects seg through q->tail in that lag is invisible to a recycler
 *      that scanned its hazard slot just before. Without the swing: P links seg->next and is
 *      delayed; consumer R retires seg and recycles: it scans T's slot (empty); T protects seg
 *      through q->tail (still seg) and validates; P swings the tail and moves its hazard on; R
 *      scans P's slot (no longer seg), resets seg as free, and T fetch-adds seg->tail of a
 *      segment no list leads to (its item is lost). The same gap broke the epoch-based version
 *      (seg stamped E while q->tail == seg; T enters at E + 1 and loads it; the epoch reaches
 *      E + 2 and seg is reused under T). tests/runtime/windows/win_segq.c drives the sequence.
 *  I3. q->spare is a stack of segments no list leads to: retired (maybe still held under a
 *      hazard) or fresh (reset since, never published). Only whole chains leave it (exchange),
 *      so the thread that took a chain owns it: it resets a retired segment only when no hazard
 *      slot holds it after its fence (segq.F2), keeps fresh ones up to SEGQ_CACHE, frees the
 *      rest and pushes back what it keeps. A fresh segment is published again only by the
 *      release CAS on some seg->next.
 *
 * Memory: every retire recycles q->spare (reset what no hazard holds, free beyond SEGQ_CACHE),
 * and a producer that needs a segment takes a fresh one from it before it mallocs. Nothing waits
 * for a lock or an epoch, so a preempted thread pins at most the one segment its hazard names,
 * and a preempted recycler only the chain it took. Bound, with n items queued and t threads
 * using the queue: linked <= n / S + 3 (the partly used ends and one linked ahead of q->tail);
 * q->spare after a recycle <= SEGQ_CACHE + t (hazards) + what was pushed meanwhile (<= t); in
 * hand <= 1 per producer (between getting and linking a segment) + one taken chain per thread.
 * So segments <= n / S + 3 + t * (SEGQ_CACHE + 2 t + 1): O(n / S + t^2), in practice
 * n / S + a few (tests/runtime/stress/stress_segq.c measures it with 2-slot segments on 2 cores).
 * Steady state allocates nothing.
 */
#include <iort/segq.h>
#include <iort/ebr.h>

#include "ebr-private.h"
#include "testpoint-private.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum {
	SEGQ_DEFAULT_SLOTS = 1024,
	SEGQ_MAX_SLOTS = 1 << 20,
	SEGQ_CACHE = 4, /* fresh segments kept on q->spare for reuse */
};

struct segq_slot {
	_Atomic size_t seq;
	void *item;
};

struct segq_seg {
	_Atomic size_t tail IORT_CACHELINE_ALIGNED;
	_Atomic size_t head IORT_CACHELINE_ALIGNED;
	_Atomic(struct segq_seg *) next IORT_CACHELINE_ALIGNED;
	/* Owned by whoever holds the segment off the list (I3): the pusher onto q->spare writes
	 * them, the thread that took the chain reads them (ordered by segq.R5 / segq.A5). */
	struct segq_seg *spare_next;
	bool fresh; /* reset and not published since */
	struct segq_slot slot[] IORT_CACHELINE_ALIGNED;
};

struct iort_segq {
	_Atomic(struct segq_seg *) tail IORT_CACHELINE_ALIGNED;
	_Atomic(struct segq_seg *) head IORT_CACHELINE_ALIGNED;
	size_t slots;
	struct iort_ebr *ebr; /* its records carry the hazard slots */

	_Atomic(struct segq_seg *) spare IORT_CACHELINE_ALIGNED; /* I3 */

	_Atomic size_t nsegs IORT_CACHELINE_ALIGNED;
};

static void seg_reset(struct segq_seg *s, size_t slots)
{
	/* MO relaxed: the segment is private here; published by the release CAS segq.R1. */
	atomic_store_explicit(&s->tail, 0, memory_order_relaxed);
	/* MO relaxed: as above. */
	atomic_store_explicit(&s->head, 0, memory_order_relaxed);
	/* MO relaxed: as above. */
	atomic_store_explicit(&s->next, NULL, memory_order_relaxed);
	for (size_t i = 0; i < slots; i++)
		/* MO relaxed: as above. */
		atomic_store_explicit(&s->slot[i].seq, i, memory_order_relaxed);
	s->fresh = true;
}

static struct segq_seg *seg_alloc(struct iort_segq *q)
{
	size_t sz = sizeof(struct segq_seg) + q->slots * sizeof(struct segq_slot);
	struct segq_seg *s;

	sz = (sz + IORT_CACHELINE - 1) & ~(size_t)(IORT_CACHELINE - 1);
	s = aligned_alloc(IORT_CACHELINE, sz);
	if (!s)
		return NULL;
	seg_reset(s, q->slots);
	/* MO relaxed: a counter; nothing is ordered against it. */
	atomic_fetch_add_explicit(&q->nsegs, 1, memory_order_relaxed);
	return s;
}

static void seg_free(struct iort_segq *q, struct segq_seg *s)
{
	free(s);
	/* MO relaxed: a counter; nothing is ordered against it. */
	atomic_fetch_sub_explicit(&q->nsegs, 1, memory_order_relaxed);
}

/* Push the chain first .. last (linked by spare_next) onto q->spare. */
static void spare_push(struct iort_segq *q, struct segq_seg *first, struct segq_seg *last)
{
	/* MO relaxed: retried by the CAS. */
	struct segq_seg *old = atomic_load_explicit(&q->spare, memory_order_relaxed);

	do {
		last->spare_next = old;
		/* MO segq.R5 (release): the chain's links and fields, and everything its pusher did
		 * before (the unlink of a retired segment, I2), go with it; pairs with segq.A5. */
	} while (!atomic_compare_exchange_weak_explicit(
		&q->spare, &old, first, memory_order_release, memory_order_relaxed));
}

/*
 * Take q->spare whole and recycle it (I3): reset what no hazard holds, keep up to SEGQ_CACHE
 * fresh segments, free the rest, push back what is kept. @p want: also return one fresh segment
 * to the caller. Lock-free: a concurrent taker finds the stack empty (or the pushes since).
 */
static struct segq_seg *spare_recycle(struct iort_segq *q, bool want)
{
	struct segq_seg *s, *next, *keep = NULL, *keep_last = NULL, *got = NULL;
	unsigned fresh = 0;

	/* MO segq.A5 (acquire): pairs with segq.R5: the chain, and its pushers' history (the
	 * unlinks, I2). */
	s = atomic_exchange_explicit(&q->spare, NULL, memory_order_acquire);
	if (!s)
		return NULL;
	/* MO segq.F2 (seq_cst): pairs with segq.F1 in protect(); store->load: the unlinks before
	 * the hazard scan, so either the scan sees a hazard or its owner's re-check sees the unlink. */
	atomic_thread_fence(memory_order_seq_cst);
	for (; s; s = next) {
		next = s->spare_next;
		if (!s->fresh) {
			if (iort__ebr_hazarded(q->ebr, s)) {
				s->spare_next = keep; /* still held: look again next time */
				keep_last = keep ? keep_last : s;
				keep = s;
				continue;
			}
			seg_reset(s, q->slots);
		}
		if (want && !got) {
			got = s;
		} else if (fresh < SEGQ_CACHE) {
			fresh++;
			s->spare_next = keep;
			keep_last = keep ? keep_last : s;
			keep = s;
		} else {
			seg_free(q, s);
		}
	}
	if (keep)
		spare_push(q, keep, keep_last);
	return got;
}

static struct segq_seg *seg_get(struct iort_segq *q)
{
	struct segq_seg *s = spare_recycle(q, true);

	return s ? s : seg_alloc(q);
}

/*
 * The hazard-pointer read of a root (q->tail or q->head): on return the segment is held until
 * the slot changes (ebr-private.h).
 */
static struct segq_seg *protect(_Atomic(void *) *hp, _Atomic(struct segq_seg *) *root)
{
	/* MO segq.A1 (acquire): pairs with segq.R1, segq.R2, segq.R3, segq.R6: see the segment's
	 * reset and link. */
	struct segq_seg *seg = atomic_load_explicit(root, memory_order_acquire);

	for (;;) {
		struct segq_seg *again;

		/* MO segq.R7 (release): pairs with ebr.A9 in iort__ebr_hazarded(): our accesses to the
		 * segment held before happen before a recycler's reuse that reads this value. */
		atomic_store_explicit(hp, seg, memory_order_release);
		/* MO segq.F1 (seq_cst): pairs with segq.F2 in spare_recycle(); store->load: the
		 * hazard before the re-check. */
		atomic_thread_fence(memory_order_seq_cst);
		/* MO segq.A3 (acquire): pairs with segq.R1, segq.R2, segq.R3, segq.R6; as segq.A1. */
		again = atomic_load_explicit(root, memory_order_acquire);
		if (again == seg)
			return seg;
		seg = again;
	}
}

static void unprotect(_Atomic(void *) *hp)
{
	/* MO segq.R8 (release): pairs with ebr.A9 in iort__ebr_hazarded(); as segq.R7. */
	atomic_store_explicit(hp, NULL, memory_order_release);
}

IORT_API int iort_segq_create(size_t segment_slots, struct iort_segq **out)
{
	struct iort_segq *q;
	struct segq_seg *s;
	size_t slots = 1;

	if (!out || segment_slots > SEGQ_MAX_SLOTS)
		return -EINVAL;
	if (segment_slots == 0)
		segment_slots = SEGQ_DEFAULT_SLOTS;
	while (slots < segment_slots)
		slots <<= 1;
	q = aligned_alloc(IORT_CACHELINE, sizeof(*q));
	if (!q)
		return -ENOMEM;
	memset(q, 0, sizeof(*q));
	q->slots = slots;
	q->ebr = iort_ebr_default();
	atomic_init(&q->nsegs, 0);
	atomic_init(&q->spare, NULL);
	if (!q->ebr)
		goto err_q;
	s = seg_alloc(q);
	if (!s)
		goto err_q;
	s->fresh = false;
	atomic_init(&q->head, s);
	atomic_init(&q->tail, s);
	*out = q;
	return 0;
err_q:
	free(q);
	return -ENOMEM;
}

IORT_API void iort_segq_destroy(struct iort_segq *q)
{
	struct segq_seg *s, *next;

	if (!q)
		return;
	/* MO relaxed: no concurrent users by contract. */
	for (s = atomic_load_explicit(&q->head, memory_order_relaxed); s; s = next) {
		/* MO relaxed: as above. */
		next = atomic_load_explicit(&s->next, memory_order_relaxed);
		free(s);
	}
	/* MO relaxed: as above. */
	for (s = atomic_load_explicit(&q->spare, memory_order_relaxed); s; s = next) {
		next = s->spare_next;
		free(s);
	}
	free(q);
}

IORT_API int iort_segq_push(struct iort_segq *q, void *item)
{
	const size_t S = q->slots;
	_Atomic(void *) *hp = iort__ebr_hazard_slot(q->ebr);

	if (iort_unlikely(!hp))
		return -ENOMEM;
	for (;;) {
		struct segq_seg *seg = protect(hp, &q->tail);
		struct segq_seg *next;
		size_t pos;

		IORT_TP("segq.push_loaded"); /* holds seg, protected through q->tail */
		/* MO relaxed: a hint that skips the FAA on a full segment. */
		if (atomic_load_explicit(&seg->tail, memory_order_relaxed) < S) {
			/* MO relaxed: claims a position; the slot is published by segq.R4. */
			pos = atomic_fetch_add_explicit(&seg->tail, 1, memory_order_relaxed);
			if (iort_likely(pos < S)) {
				seg->slot[pos].item = item;
				/* MO segq.R4 (release): publish item before seq; pairs with segq.A4
				 * in iort_segq_try_pop(). */
				atomic_store_explicit(&seg->slot[pos].seq, pos + 1,
						      memory_order_release);
				unprotect(hp);
				return 0;
			}
		}
		/* Full (I1 also makes every abandoned segment look full here). */
		/* MO segq.A2 (acquire): see the linked segment's reset; pairs with segq.R1. */
		next = atomic_load_explicit(&seg->next, memory_order_acquire);
		if (!next) {
			struct segq_seg *n = seg_get(q);

			if (!n) {
				unprotect(hp);
				return -ENOMEM;
			}
			n->fresh = false; /* published by the CAS (or back to fresh) */
			/* MO segq.R1 (release): publish the reset segment; pairs with segq.A2,
			 * segq.A1 (acquire on failure: see the winner's segment). */
			if (atomic_compare_exchange_strong_explicit(&seg->next, &next, n,
								    memory_order_acq_rel,
								    memory_order_acquire)) {
				next = n;
				IORT_TP("segq.linked"); /* seg->next linked, q->tail still seg */
			} else {
				n->fresh = true; /* never published: back to the spare */
				n->spare_next = NULL;
				spare_push(q, n, n);
			}
		}
		/* MO segq.R2 (release): pass the segment's publication on; pairs with segq.A1. */
		atomic_compare_exchange_strong_explicit(&q->tail, &seg, next, memory_order_release,
							memory_order_relaxed);
	}
}

IORT_API bool iort_segq_try_pop(struct iort_segq *q, void **item)
{
	const size_t S = q->slots;
	_Atomic(void *) *hp = iort__ebr_hazard_slot(q->ebr);

	if (iort_unlikely(!hp))
		return false;
	for (;;) {
		struct segq_seg *seg = protect(hp, &q->head);
		/* MO relaxed: a claim index; the item is ordered by segq.A4. */
		size_t pos = atomic_load_explicit(&seg->head, memory_order_relaxed);
		struct segq_seg *next, *t;

		if (pos < S) {
			/* MO segq.A4 (acquire): see the item; pairs with segq.R4 in push. */
			if (atomic_load_explicit(&seg->slot[pos].seq, memory_order_acquire) !=
			    pos + 1)
				break; /* empty, or pos not yet published */
			/* MO relaxed: claims pos; the item is already visible (segq.A4). */
			if (atomic_compare_exchange_weak_explicit(&seg->head, &pos, pos + 1,
								  memory_order_relaxed,
								  memory_order_relaxed)) {
				*item = seg->slot[pos].item;
				unprotect(hp);
				return true;
			}
			continue;
		}
		/* MO segq.A7 (acquire): as segq.A2; pairs with segq.R1 in push. */
		next = atomic_load_explicit(&seg->next, memory_order_acquire);
		if (!next)
			break; /* empty */
		/* I2: q->tail must not stay on a segment we retire. */
		/* MO relaxed: compared only; the CAS below publishes nothing new (next is linked).
		 * Sequenced before the head CAS, so the retire (segq.R5) carries it (I2). */
		t = atomic_load_explicit(&q->tail, memory_order_relaxed);
		if (t == seg)
			/* MO segq.R6 (release): as segq.R2; pairs with segq.A1 in push. */
			atomic_compare_exchange_strong_explicit(
				&q->tail, &t, next, memory_order_release, memory_order_relaxed);
		/* MO segq.R3 (release): pass the publication of next on; pairs with segq.A1. */
		if (atomic_compare_exchange_strong_explicit(
			    &q->head, &seg, next, memory_order_release, memory_order_relaxed)) {
			/* Retired: no root leads to seg (I2). Recycle the spare, seg included,
			 * without holding anything ourselves. */
			seg->spare_next = NULL;
			spare_push(q, seg, seg);
			unprotect(hp);
			(void)spare_recycle(q, false);
		}
	}
	unprotect(hp);
	return false;
}

IORT_API size_t iort_segq_segments(const struct iort_segq *q)
{
	/* MO relaxed: a counter; nothing is ordered against it. */
	return atomic_load_explicit(&q->nsegs, memory_order_relaxed);
}
