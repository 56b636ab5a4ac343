/*
 * Timers (timer.h): a hierarchical timing wheel with a precise path, and a 4-ary heap.
 *
 * Time. The set's time `now` (ns) is what advance() last accepted. The wheel counts ticks:
 * `elapsed` is the last tick it has processed, and a wheel timer with deadline d is kept as its
 * expiry tick E = ceil(d / tick), so it fires at the first advance with now >= E * tick: never
 * early, less than one tick late. (A deadline whose E * tick would not fit in 64 bits takes the
 * precise path below.)
 * Divisions by the tick are multiplications by a reciprocal (Granlund and Montgomery, "Division
 * by Invariant Integers using Multiplication", 1994, figure 4.1): arming costs no divide.
 *
 * The wheel (Varghese and Lauck's scheme 7, placed as tokio's driver places it). NLEVELS levels
 * of 64 slots; level l's slot spans 64^l ticks and level l covers digit l (bits 6l..6l+5) of a
 * tick. A timer with E > elapsed goes to the level of the highest digit in which E and elapsed
 * differ, in the slot of E's digit there. Each slot is a NULL-terminated doubly-linked list of
 * the timers themselves, headed in the set; occ[l] has bit s set iff slot s of level l is
 * non-empty. Invariants:
 *   I1  A timer in level l < TOP, slot s: E agrees with elapsed above digit l and digit l of E is
 *       s > digit l of elapsed. So the slot's start, elapsed's higher digits followed by s and
 *       zeros, lies in (elapsed, E], and every start on level l precedes every start on level
 *       l + 1: the next slot to process is the lowest occupied slot of the lowest non-empty
 *       level (one ctz).
 *   I2  The top level (TOP) also holds I1 for slots above elapsed's top digit (the current
 *       rotation of 64^NLEVELS ticks). Deadlines in a later rotation ("far") wait in top slot 0
 *       (never the slot of a timer of the current rotation: that slot would exceed elapsed's top
 *       digit), whose start is then the first tick of the rotation of far_min, a lower bound of
 *       their E (exact but for cancels). They are placed again when the wheel reaches that
 *       tick, so a far deadline costs one pass per rotation that holds one, not per rotation.
 *   I3  next_ns is never later than the start of any occupied slot or the deadline of any
 *       precise timer (arm lowers it; cancel leaves it early; advance recomputes it exactly).
 *       So while now < next_ns no slot start lies in (elapsed, now / tick], and elapsed may jump
 *       to now / tick without processing anything (catch_up()).
 * Processing a slot (advance()): elapsed jumps to its start; its list is taken whole; a timer
 * whose E is that tick moves to the due list, any other is placed again relative to the new
 * elapsed (a lower level by I1): the lazy cascade, paid only for slots the wheel reaches. Then
 * the due list fires. A callback may cancel a timer waiting in the due list (it is unlinked like
 * any other) and may arm timers: placement is relative to the elapsed of that moment, and
 * catching up is blocked for the call (tick_end_ns is UINT64_MAX), so slots not yet processed
 * keep their meaning.
 *
 * The precise path: a deadline less than one tick after now (or before it) would lose up to a
 * tick to rounding (and one before now has no wheel slot left), so it goes to a 4-ary min-heap by exact deadline instead and fires at the
 * first advance that reaches it. The heap kind (IORT_TIMERS_HEAP) keeps every timer there.
 * Timers due in different ticks fire in deadline order: before the wheel processes tick N, the
 * precise timers with deadline <= N * tick fire (a wheel timer of tick N had a deadline in
 * ((N - 1) * tick, N * tick]).
 *
 * A timer's `where`: IDLE; DUE (in the due list); HEAP_TAG | index (either heap); else
 * level << 6 | slot. Its `set` is the id of the set that armed it (a process-wide counter:
 * arming a timer armed elsewhere is refused without touching the other set). Ids repeat only
 * after 2^32 - 1 sets have been created.
 */
#include <iort/timer.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

__extension__ typedef unsigned __int128 u128;

#define NLEVELS	   7 /* 64^7 = 2^42 ticks: 139 years of 1 ms ticks */
#define TOP	   (NLEVELS - 1)
#define LEVEL_BITS 6
#define SLOTS	   64
#define RANGE_BITS (LEVEL_BITS * NLEVELS)

#define WHERE_IDLE UINT32_MAX
#define WHERE_DUE  0x7ffffffeu
#define HEAP_TAG   0x80000000u
#define HEAP_MAX   0x7ffffffeu /* indices below this; HEAP_TAG | index never equals WHERE_IDLE */

#define TICK_MAX     (1ull << 40)
#define TICK_DEFAULT 1000000ull

/* A heap entry: the key beside the pointer, so sifting compares within the array and touches a
 * timer only to store its new index. */
struct hent {
	uint64_t key;
	struct iort_timer *t;
};

/* a = base + HEAP_SKEW, base 64-byte aligned: the children 4i+1..4i+4 of any i fill one line. */
#define HEAP_SKEW 3

struct theap {
	struct hent *a;
	struct hent *base;
	uint32_t n, cap;
};

struct iort_timers {
	/* Read by every advance. */
	uint64_t now;
	uint64_t next_ns; /* I3 */
	/* The wheel's clock. */
	uint64_t elapsed;     /* ticks processed */
	uint64_t tick_end_ns; /* (elapsed + 1) * tick: now at or past it lets arm catch up */
	uint64_t tick;
	uint64_t max_tick; /* UINT64_MAX / tick: E never exceeds it, so E * tick never overflows */
	uint64_t max_ns;   /* max_tick * tick: later deadlines take the precise path */
	uint64_t magic;	   /* floor(n / tick) = ((t1 + ((n - t1) >> sh1)) >> sh2), t1 = mulhi */
	uint8_t sh1, sh2;
	bool wheel;
	uint32_t id;
	size_t count;
	struct theap heap;	/* the precise path, or every timer of a heap set */
	struct iort_timer *due; /* wheel timers of the tick being processed */
	uint64_t far_min;	/* no far timer is earlier (I2) */
	uint64_t occ[NLEVELS];
	struct iort_timer *slot[NLEVELS][SLOTS];
};

/* Set ids: the one atomic of the module, touched once per create. */
static _Atomic uint32_t last_id;

/* --- division by the tick --- */

static void div_init(struct iort_timers *s, uint64_t d)
{
	unsigned l = d == 1 ? 0 : 64u - (unsigned)__builtin_clzll(d - 1); /* ceil(log2 d) */
	u128 num = (u128)((1ull << l) - d) << 64;

	/* < 2^64: d > 2^(l-1) keeps 2^l - d below d, and d <= 2^40 keeps the quotient away from
	 * 2^64 - 1. */
	s->magic = (uint64_t)(num / d) + 1;
	s->sh1 = (uint8_t)(l < 1 ? l : 1);
	s->sh2 = (uint8_t)(l > 1 ? l - 1 : 0);
}

static inline uint64_t div_tick(const struct iort_timers *s, uint64_t n)
{
	uint64_t t1 = (uint64_t)(((u128)s->magic * n) >> 64);

	return (t1 + ((n - t1) >> s->sh1)) >> s->sh2;
}

/* E for a deadline 1 <= d <= max_tick * tick: ceil(d / tick), at most max_tick. */
static inline uint64_t expiry_tick(const struct iort_timers *s, uint64_t d)
{
	return div_tick(s, d - 1) + 1;
}

static inline uint64_t tick_end(const struct iort_timers *s, uint64_t t)
{
	return t < s->max_tick ? (t + 1) * s->tick : UINT64_MAX;
}

/* --- the 4-ary heap (by iort_private_deadline, ns) --- */

static inline uint64_t key(const struct iort_timer *t)
{
	return t->iort_private_deadline;
}

static inline void heap_put(struct theap *h, uint32_t i, struct hent e)
{
	h->a[i] = e;
	e.t->iort_private_where = HEAP_TAG | i;
}

static void sift_up(struct theap *h, uint32_t i, struct hent e)
{
	while (i > 0) {
		uint32_t p = (i - 1) >> 2;

		if (h->a[p].key <= e.key)
			break;
		heap_put(h, i, h->a[p]);
		i = p;
	}
	heap_put(h, i, e);
}

static void sift_down(struct theap *h, uint32_t i, struct hent e)
{
	for (;;) {
		uint32_t c = 4 * i + 1, end, m;

		if (c >= h->n)
			break;
		end = h->n - c < 4 ? h->n : c + 4;
		m = c;
		for (uint32_t j = c + 1; j < end; j++)
			if (h->a[j].key < h->a[m].key)
				m = j;
		if (h->a[m].key >= e.key)
			break;
		heap_put(h, i, h->a[m]);
		i = m;
	}
	heap_put(h, i, e);
}

static int heap_grow(struct theap *h)
{
	uint32_t cap = h->cap ? h->cap * 2 : 16;
	struct hent *base;

	if (h->cap >= HEAP_MAX / 2)
		cap = h->cap < HEAP_MAX ? HEAP_MAX : 0;
	if (cap == 0)
		return -ENOMEM;
	base = aligned_alloc(64, ((size_t)cap + HEAP_SKEW + 3) / 4 * 4 * sizeof(*base));
	if (!base)
		return -ENOMEM;
	if (h->n)
		memcpy(base + HEAP_SKEW, h->a, (size_t)h->n * sizeof(*base));
	free(h->base);
	h->base = base;
	h->a = base + HEAP_SKEW;
	h->cap = cap;
	return 0;
}

static int heap_push(struct theap *h, struct iort_timer *t)
{
	if (iort_unlikely(h->n == h->cap) && heap_grow(h))
		return -ENOMEM;
	sift_up(h, h->n++, (struct hent){ key(t), t });
	return 0;
}

/* Re-place the entry at @i after its key changed (or after the last entry moved into it). */
static void heap_fix(struct theap *h, uint32_t i)
{
	struct hent e = h->a[i];

	if (i > 0 && h->a[(i - 1) >> 2].key > e.key)
		sift_up(h, i, e);
	else
		sift_down(h, i, e);
}

static void heap_remove(struct theap *h, uint32_t i)
{
	uint32_t last = --h->n;

	if (i != last) {
		h->a[i] = h->a[last];
		heap_fix(h, i);
	}
}

static inline uint64_t heap_min(const struct theap *h)
{
	return h->n ? h->a[0].key : UINT64_MAX;
}

/* --- the wheel --- */

static inline void list_push(struct iort_timer **head, struct iort_timer *t)
{
	t->iort_private_prev = NULL;
	t->iort_private_next = *head;
	if (*head)
		(*head)->iort_private_prev = t;
	*head = t;
}

static inline void list_unlink(struct iort_timer **head, struct iort_timer *t)
{
	if (t->iort_private_prev)
		t->iort_private_prev->iort_private_next = t->iort_private_next;
	else
		*head = t->iort_private_next;
	if (t->iort_private_next)
		t->iort_private_next->iort_private_prev = t->iort_private_prev;
}

/* Place @t (E in its deadline field, E > elapsed); @return the start tick of its slot. */
static uint64_t wheel_place(struct iort_timers *s, struct iort_timer *t)
{
	uint64_t e = key(t), x = e ^ s->elapsed, start;
	unsigned l, sl;

	if (iort_likely(x >> RANGE_BITS == 0)) {
		l = (unsigned)(63 - __builtin_clzll(x)) / LEVEL_BITS;
		sl = (unsigned)(e >> (LEVEL_BITS * l)) & (SLOTS - 1);
		start = e & ~((1ull << (LEVEL_BITS * l)) - 1); /* I1 */
	} else {
		l = TOP; /* I2: far */
		sl = 0;
		if (e < s->far_min)
			s->far_min = e;
		start = s->far_min >> RANGE_BITS << RANGE_BITS;
	}
	list_push(&s->slot[l][sl], t);
	s->occ[l] |= 1ull << sl;
	t->iort_private_where = (uint32_t)(l << LEVEL_BITS | sl);
	return start;
}

/* The next slot to process (I1, I2): false when the wheel is empty, else true with the slot in
 * *@lp, *@slp and its start tick in *@startp. */
static bool wheel_next(const struct iort_timers *s, unsigned *lp, unsigned *slp, uint64_t *startp)
{
	uint64_t e = s->elapsed, above;
	unsigned l, digit;

	for (l = 0; l < TOP; l++) {
		if (s->occ[l]) {
			unsigned sl = (unsigned)__builtin_ctzll(s->occ[l]);
			unsigned span = LEVEL_BITS * (l + 1);

			*lp = l;
			*slp = sl;
			*startp = (e >> span << span) | (uint64_t)sl << (LEVEL_BITS * l);
			return true;
		}
	}
	if (!s->occ[TOP])
		return false;
	*lp = TOP;
	digit = (unsigned)(e >> (LEVEL_BITS * TOP)) & (SLOTS - 1);
	above = digit == SLOTS - 1 ? 0 : s->occ[TOP] & (~0ull << (digit + 1));
	if (above) {
		*slp = (unsigned)__builtin_ctzll(above);
		*startp = (e >> RANGE_BITS << RANGE_BITS) | (uint64_t)*slp << (LEVEL_BITS * TOP);
	} else {
		*slp = 0; /* only far timers: the rotation of the earliest */
		*startp = s->far_min >> RANGE_BITS << RANGE_BITS;
	}
	return true;
}

/* I3 lets elapsed jump to now's tick. */
static void catch_up(struct iort_timers *s)
{
	s->elapsed = div_tick(s, s->now);
	s->tick_end_ns = tick_end(s, s->elapsed);
}

/* Take @t out of wherever it is armed in @s. */
static void unlink_timer(struct iort_timers *s, struct iort_timer *t)
{
	uint32_t w = t->iort_private_where;

	if (w & HEAP_TAG) {
		heap_remove(&s->heap, w & ~HEAP_TAG);
	} else if (w == WHERE_DUE) {
		list_unlink(&s->due, t);
	} else {
		unsigned l = w >> LEVEL_BITS, sl = w & (SLOTS - 1);

		list_unlink(&s->slot[l][sl], t);
		if (!s->slot[l][sl]) {
			s->occ[l] &= ~(1ull << sl);
			if (l == TOP && sl == 0)
				s->far_min = UINT64_MAX;
		}
	}
	t->iort_private_where = WHERE_IDLE;
	s->count--;
}

/* --- the interface --- */

IORT_API int iort_timers_create(const struct iort_timers_config *cfg, struct iort_timers **out)
{
	struct iort_timers *s;
	uint64_t tick;
	uint32_t id;

	if (!cfg || !out)
		return -EINVAL;
	if (cfg->kind != IORT_TIMERS_WHEEL && cfg->kind != IORT_TIMERS_HEAP)
		return -EINVAL;
	tick = cfg->tick_ns ? cfg->tick_ns : TICK_DEFAULT;
	if (tick > TICK_MAX)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->wheel = cfg->kind == IORT_TIMERS_WHEEL;
	s->now = cfg->now_ns;
	s->next_ns = UINT64_MAX;
	s->far_min = UINT64_MAX;
	s->tick = tick;
	s->max_tick = UINT64_MAX / tick;
	s->max_ns = s->max_tick * tick;
	div_init(s, tick);
	catch_up(s);
	/* MO timer.I1 (relaxed): a counter of ids; no data is published through it. */
	do
		id = atomic_fetch_add_explicit(&last_id, 1, memory_order_relaxed) + 1;
	while (id == 0);
	s->id = id;
	*out = s;
	return 0;
}

IORT_API void iort_timers_destroy(struct iort_timers *s)
{
	if (!s)
		return;
	free(s->heap.base);
	free(s);
}

IORT_API void iort_timer_init(struct iort_timer *t, iort_timer_fn *fn, void *arg)
{
	t->iort_private_next = NULL;
	t->iort_private_prev = NULL;
	t->iort_private_deadline = 0;
	t->iort_private_where = WHERE_IDLE;
	t->iort_private_set = 0;
	t->fn = fn;
	t->arg = arg;
}

IORT_API bool iort_timer_armed(const struct iort_timer *t)
{
	return t->iort_private_where != WHERE_IDLE;
}

IORT_API int iort_timers_arm(struct iort_timers *s, struct iort_timer *t, uint64_t deadline_ns)
{
	uint64_t start;
	int rc;

	if (t->iort_private_where != WHERE_IDLE) {
		if (t->iort_private_set != s->id)
			return -EINVAL;
		if (!s->wheel) {
			/* In place: no allocation, so a re-arm of the heap cannot fail. */
			uint32_t i = t->iort_private_where & ~HEAP_TAG;

			t->iort_private_deadline = deadline_ns;
			s->heap.a[i].key = deadline_ns;
			heap_fix(&s->heap, i);
			s->next_ns = s->heap.a[0].key;
			return 0;
		}
		unlink_timer(s, t);
	}
	t->iort_private_set = s->id;
	if (!s->wheel || deadline_ns < s->now || deadline_ns - s->now < s->tick ||
	    deadline_ns > s->max_ns) {
		t->iort_private_deadline = deadline_ns;
		rc = heap_push(&s->heap, t);
		if (iort_unlikely(rc)) {
			t->iort_private_where = WHERE_IDLE;
			return rc;
		}
		s->count++;
		if (deadline_ns < s->next_ns)
			s->next_ns = deadline_ns;
		return 0;
	}
	if (s->now >= s->tick_end_ns)
		catch_up(s);
	t->iort_private_deadline = expiry_tick(s, deadline_ns);
	start = wheel_place(s, t) * s->tick;
	s->count++;
	if (start < s->next_ns)
		s->next_ns = start;
	return 0;
}

IORT_API bool iort_timers_cancel(struct iort_timers *s, struct iort_timer *t)
{
	if (t->iort_private_where == WHERE_IDLE || t->iort_private_set != s->id)
		return false;
	unlink_timer(s, t);
	if (!s->wheel) /* the heap's next is its root: keep it exact, it costs one load */
		s->next_ns = heap_min(&s->heap);
	return true;
}

static inline void fire(struct iort_timers *s, struct iort_timer *t)
{
	t->iort_private_where = WHERE_IDLE;
	s->count--;
	t->fn(t, t->arg);
}

/* Fire the precise timers due by @bound, in deadline order. */
static size_t fire_heap(struct iort_timers *s, uint64_t bound)
{
	size_t n = 0;

	while (s->heap.n && s->heap.a[0].key <= bound) {
		struct iort_timer *t = s->heap.a[0].t;

		heap_remove(&s->heap, 0);
		fire(s, t);
		n++;
	}
	return n;
}

/* Process the slot (@l, @sl) that starts at tick @start (elapsed jumps there). */
static size_t process_slot(struct iort_timers *s, unsigned l, unsigned sl, uint64_t start)
{
	struct iort_timer *t = s->slot[l][sl], *next;
	size_t n = 0;

	s->elapsed = start;
	s->slot[l][sl] = NULL;
	s->occ[l] &= ~(1ull << sl);
	if (l == TOP && sl == 0)
		s->far_min = UINT64_MAX; /* the far ones placed again below set it anew */
	for (; t; t = next) {
		next = t->iort_private_next;
		if (key(t) <= start) { /* == start (I1, I2) */
			list_push(&s->due, t);
			t->iort_private_where = WHERE_DUE;
		} else {
			(void)wheel_place(s, t);
		}
	}
	while ((t = s->due)) {
		list_unlink(&s->due, t);
		fire(s, t);
		n++;
	}
	return n;
}

IORT_API size_t iort_timers_advance(struct iort_timers *s, uint64_t now_ns)
{
	uint64_t target, next;
	size_t fired = 0;

	if (now_ns < s->now)
		now_ns = s->now;
	if (iort_likely(now_ns < s->next_ns)) {
		s->now = now_ns;
		return 0;
	}
	s->now = now_ns;
	if (!s->wheel) {
		fired = fire_heap(s, now_ns);
		s->next_ns = heap_min(&s->heap);
		return fired;
	}
	target = div_tick(s, now_ns);
	s->tick_end_ns = UINT64_MAX; /* no catch-up while slots before target wait */
	for (;;) {
		unsigned l = 0, sl = 0;
		uint64_t w = 0;
		bool found = wheel_next(s, &l, &sl, &w), due = found && w <= target;
		uint64_t bound = due ? w * s->tick : now_ns;

		if (s->heap.n && s->heap.a[0].key <= bound) {
			fired += fire_heap(s, bound);
			continue; /* a callback may have armed or cancelled anything */
		}
		if (!due) {
			/* Exact, and still so once elapsed moves to target: no slot starts in
			 * (elapsed, target] (I1). */
			next = found ? w * s->tick : UINT64_MAX;
			break;
		}
		fired += process_slot(s, l, sl, w);
	}
	/* A callback that advanced the set itself may have moved elapsed further already. */
	if (target > s->elapsed)
		s->elapsed = target;
	s->tick_end_ns = tick_end(s, s->elapsed);
	if (heap_min(&s->heap) < next)
		next = heap_min(&s->heap);
	s->next_ns = next;
	return fired;
}

IORT_API uint64_t iort_timers_next(const struct iort_timers *s)
{
	return s->count ? s->next_ns : UINT64_MAX;
}

IORT_API uint64_t iort_timers_now(const struct iort_timers *s)
{
	return s->now;
}

IORT_API size_t iort_timers_count(const struct iort_timers *s)
{
	return s->count;
}
