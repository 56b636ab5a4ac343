/*
 * Unbounded MPMC queue: a Michael-Scott list of one-lap segments, each a bounded array with
 * per-slot sequence numbers (Vyukov's bounded MPMC protocol without wrap-around; the shape of
 * FAAArrayQueue / LCRQ without the ring closing), reclaimed with epoch-based reclamation
 * (iort/ebr.h, default domain).
 *
 * Segment of S slots: tail (producers' claim index), head (consumers' claim index), next, and
 * slot[i] = {seq, item} with seq = i (free) or i + 1 (published). Both indices only grow during a
 * segment's life.
 *
 *   push:    enter; seg = q->tail; pos = FAA(seg->tail, 1);
 *            pos < S:  item -> slot[pos]; seq = pos + 1 (release); exit
 *            pos >= S: the segment is full. If seg->next is NULL, get a segment (cache or
 *                      malloc) and CAS seg->next NULL -> it (loser recycles its own); swing
 *                      q->tail seg -> next; retry
 *   try_pop: enter; seg = q->head; pos = seg->head;
 *            pos < S:  slot[pos].seq == pos + 1 ? CAS seg->head pos -> pos + 1, take item
 *                      : return false (empty, or the producer of pos has not published yet:
 *                        never wait for another thread's commit)
 *            pos == S: next == NULL ? return false (empty)
 *                      : if q->tail == seg, swing it to next first; CAS q->head seg -> next;
 *                        the winner stamps seg with iort_ebr_epoch() (retired); retry
 *
 * Invariants.
 *  I1. Consumers leave a segment only when seg->head == S, i.e. all S positions were claimed and
 *      published, so seg->tail >= S for good: a producer that still holds seg (inside its
 *      critical section) can only get pos >= S from it and moves on; no item is ever written
 *      into an abandoned segment.
 *  I2. q->tail is never behind q->head: before swinging q->head past seg, the consumer moves
 *      q->tail past seg (helping the producer that linked next). Both swing only forward. So after
 *      the head CAS no shared pointer (q->head, q->tail) leads to seg; only threads already inside
 *      a critical section can hold it, which is what the stamp read after the unlink covers.
 *      I2 is load-bearing, not a second line of defence: q->tail lags on seg between a producer's
 *      link CAS and its tail CAS, and while it lags, threads that enter after the stamp can still
 *      load seg. Without the swing: P links seg->next and is delayed; a consumer retires seg and
 *      stamps it E while q->tail == seg; the epoch moves to E + 1 (P announced E); T enters,
 *      announces E + 1 and loads q->tail == seg; P swings the tail and leaves; the epoch reaches
 *      E + 2 (T's E + 1 allows that advance), seg is safe by its stamp and is reused while T
 *      fetch-adds seg->tail. P's critical section protected seg only while P was inside; T's
 *      began too late to count. tests/windows/win_segq.c drives exactly this sequence.
 *  I3. Retired segments are the list prefix from q->oldest up to q->head, in retirement order;
 *      a segment is reused or freed only once stamped and iort_ebr_is_safe(stamp). Only the
 *      holder of reclaim_lock touches q->oldest and the cache. Recycling resets seqs/indices/next
 *      before the segment is published again by the release CAS on some seg->next, and EBR
 *      rules out ABA on every CAS of a segment pointer or index.
 *
 * Memory: reclamation runs under pthread_mutex_trylock (by a producer that needs a segment and by
 * the consumer that retires one); who loses the trylock mallocs (producer) or skips (consumer),
 * so push/pop stay lock-free. At most SEGQ_CACHE safe segments are kept for reuse; the rest are
 * freed once safe. Steady state allocates nothing.
 */
#include <iort/segq.h>
#include <iort/ebr.h>

#include "testpoint-private.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum {
	SEGQ_DEFAULT_SLOTS = 1024,
	SEGQ_MAX_SLOTS = 1 << 20,
	SEGQ_CACHE = 4, /* safe segments kept for reuse */
};

#define SEGQ_UNSTAMPED UINT64_MAX

struct segq_slot {
	_Atomic size_t seq;
	void *item;
};

struct segq_seg {
	_Atomic size_t tail IORT_CACHELINE_ALIGNED;
	_Atomic size_t head IORT_CACHELINE_ALIGNED;
	_Atomic(struct segq_seg *) next IORT_CACHELINE_ALIGNED;
	_Atomic uint64_t stamp; /* SEGQ_UNSTAMPED until retired */
	struct segq_slot slot[] IORT_CACHELINE_ALIGNED;
};

struct iort_segq {
	_Atomic(struct segq_seg *) tail IORT_CACHELINE_ALIGNED;
	_Atomic(struct segq_seg *) head IORT_CACHELINE_ALIGNED;
	size_t slots;
	struct iort_ebr *ebr;

	pthread_mutex_t reclaim_lock IORT_CACHELINE_ALIGNED;
	struct segq_seg *oldest; /* under reclaim_lock: first retired (or q->head) */
	struct segq_seg *cache[SEGQ_CACHE];
	unsigned ncache;

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
	/* MO relaxed: as above. */
	atomic_store_explicit(&s->stamp, SEGQ_UNSTAMPED, memory_order_relaxed);
	for (size_t i = 0; i < slots; i++)
		/* MO relaxed: as above. */
		atomic_store_explicit(&s->slot[i].seq, i, memory_order_relaxed);
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

/* Move safe retired segments to the cache (or free them). Caller holds reclaim_lock. */
static void reclaim_locked(struct iort_segq *q)
{
	for (;;) {
		struct segq_seg *s = q->oldest;
		uint64_t stamp;

		/* MO segq.A5 (acquire): s is behind q->head, so retired; pairs with segq.R3. */
		if (s == atomic_load_explicit(&q->head, memory_order_acquire))
			return;
		/* MO segq.A6 (acquire): the retiring consumer's stamp; pairs with segq.R5. */
		stamp = atomic_load_explicit(&s->stamp, memory_order_acquire);
		if (stamp == SEGQ_UNSTAMPED || !iort_ebr_is_safe(q->ebr, stamp))
			return;
		/* MO relaxed: s is retired, its next was set before q->head passed it (segq.A5). */
		q->oldest = atomic_load_explicit(&s->next, memory_order_relaxed);
		if (q->ncache < SEGQ_CACHE) {
			seg_reset(s, q->slots);
			q->cache[q->ncache++] = s;
		} else {
			seg_free(q, s);
		}
	}
}

static struct segq_seg *seg_get(struct iort_segq *q)
{
	struct segq_seg *s = NULL;

	if (pthread_mutex_trylock(&q->reclaim_lock) == 0) {
		reclaim_locked(q);
		if (q->ncache)
			s = q->cache[--q->ncache];
		pthread_mutex_unlock(&q->reclaim_lock);
	}
	return s ? s : seg_alloc(q);
}

/* A segment that was never published: back to the cache, or free. */
static void seg_put(struct iort_segq *q, struct segq_seg *s)
{
	if (pthread_mutex_trylock(&q->reclaim_lock) == 0) {
		if (q->ncache < SEGQ_CACHE) {
			q->cache[q->ncache++] = s;
			s = NULL;
		}
		pthread_mutex_unlock(&q->reclaim_lock);
	}
	if (s)
		seg_free(q, s);
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
	if (!q->ebr || pthread_mutex_init(&q->reclaim_lock, NULL))
		goto err_q;
	s = seg_alloc(q);
	if (!s)
		goto err_lock;
	atomic_init(&q->head, s);
	atomic_init(&q->tail, s);
	q->oldest = s;
	*out = q;
	return 0;
err_lock:
	pthread_mutex_destroy(&q->reclaim_lock);
err_q:
	free(q);
	return -ENOMEM;
}

IORT_API void iort_segq_destroy(struct iort_segq *q)
{
	struct segq_seg *s;

	if (!q)
		return;
	for (s = q->oldest; s;) {
		/* MO relaxed: no concurrent users by contract. */
		struct segq_seg *next = atomic_load_explicit(&s->next, memory_order_relaxed);

		free(s);
		s = next;
	}
	for (unsigned i = 0; i < q->ncache; i++)
		free(q->cache[i]);
	pthread_mutex_destroy(&q->reclaim_lock);
	free(q);
}

IORT_API int iort_segq_push(struct iort_segq *q, void *item)
{
	const size_t S = q->slots;
	int err = iort_ebr_enter(q->ebr);

	if (iort_unlikely(err))
		return err;
	for (;;) {
		/* MO segq.A1 (acquire): see the reset segment; pairs with segq.R2, segq.R1. */
		struct segq_seg *seg = atomic_load_explicit(&q->tail, memory_order_acquire);
		struct segq_seg *next;
		size_t pos;

		IORT_TP("segq.push_loaded"); /* holds seg, loaded from q->tail */

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
				iort_ebr_exit(q->ebr);
				return 0;
			}
		}
		/* Full (I1 also makes every abandoned segment look full here). */
		/* MO segq.A2 (acquire): see the linked segment's reset; pairs with segq.R1. */
		next = atomic_load_explicit(&seg->next, memory_order_acquire);
		if (!next) {
			struct segq_seg *n = seg_get(q);

			if (!n) {
				iort_ebr_exit(q->ebr);
				return -ENOMEM;
			}
			/* MO segq.R1 (release): publish the reset segment; pairs with segq.A2,
			 * segq.A1, segq.A3 (acquire on failure: see the winner's segment). */
			if (atomic_compare_exchange_strong_explicit(&seg->next, &next, n,
								    memory_order_acq_rel,
								    memory_order_acquire)) {
				next = n;
				IORT_TP("segq.linked"); /* seg->next linked, q->tail still seg */
			} else {
				seg_put(q, n);
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

	if (iort_unlikely(iort_ebr_enter(q->ebr)))
		return false;
	for (;;) {
		/* MO segq.A3 (acquire): see the segment's reset; pairs with segq.R3, segq.R1. */
		struct segq_seg *seg = atomic_load_explicit(&q->head, memory_order_acquire);
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
				iort_ebr_exit(q->ebr);
				return true;
			}
			continue;
		}
		/* MO segq.A7 (acquire): as segq.A2; pairs with segq.R1 in push. */
		next = atomic_load_explicit(&seg->next, memory_order_acquire);
		if (!next)
			break; /* empty */
		/* I2: q->tail must not stay on a segment we retire. */
		/* MO relaxed: compared only; the CAS below publishes nothing new (next is linked). */
		t = atomic_load_explicit(&q->tail, memory_order_relaxed);
		if (t == seg)
			/* MO segq.R6 (release): as segq.R2; pairs with segq.A1 in push. */
			atomic_compare_exchange_strong_explicit(
				&q->tail, &t, next, memory_order_release, memory_order_relaxed);
		/* MO segq.R3 (release): pass the publication of next on; pairs with segq.A3,
		 * segq.A5. */
		if (atomic_compare_exchange_strong_explicit(
			    &q->head, &seg, next, memory_order_release, memory_order_relaxed)) {
			/* The stamp read is ordered after the unlinks above (ebr.F3). */
			/* MO segq.R5 (release): publish the stamp; pairs with segq.A6. */
			atomic_store_explicit(&seg->stamp, iort_ebr_epoch(q->ebr),
					      memory_order_release);
			if (pthread_mutex_trylock(&q->reclaim_lock) == 0) {
				reclaim_locked(q);
				pthread_mutex_unlock(&q->reclaim_lock);
			}
		}
	}
	iort_ebr_exit(q->ebr);
	return false;
}

IORT_API size_t iort_segq_segments(const struct iort_segq *q)
{
	/* MO relaxed: a counter; nothing is ordered against it. */
	return atomic_load_explicit(&q->nsegs, memory_order_relaxed);
}
