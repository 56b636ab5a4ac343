/*
 * timer.h's contract, for both kinds (every test runs on the wheel and on the heap): firing
 * order, cancel and re-arm from inside callbacks, deadlines in the past and at now, the wheel's
 * rounding (up to the tick, never early) and its cascade and wrap-around across every level
 * (deadlines at and around each level's span and each aligned boundary, reached in one jump, by
 * stepping to iort_timers_next() and in tick steps), next() never later than a real expiry,
 * count(), destroy with armed timers, a timer armed in another set, and a seeded model test
 * against a reference that knows when each timer must fire.
 *
 * When a timer must fire (the reference, from timer.h): a heap timer at the first advance whose
 * time reaches its deadline d; a wheel timer armed while the set's time was n at the first
 * advance reaching d itself when d < n + tick (the precise path, also taken by deadlines whose
 * rounded tick does not fit in 64 bits of ns), else at ceil(d / tick) * tick. So every check
 * below is exact: a timer fires in the advance that first reaches its threshold, never before.
 *
 * The model test prints its seed; IOBENCH_SEED=N replays it.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <iort/timer.h>

#include "stress.h"

#define MS 1000000ull

static const enum iort_timers_kind WHEEL = IORT_TIMERS_WHEEL;
static const enum iort_timers_kind HEAP = IORT_TIMERS_HEAP;

static enum iort_timers_kind kind_of(void **state)
{
	return *(const enum iort_timers_kind *)*state;
}

static struct iort_timers *make(enum iort_timers_kind kind, uint64_t tick, uint64_t now)
{
	struct iort_timers_config cfg = { .kind = kind, .tick_ns = tick, .now_ns = now };
	struct iort_timers *s = NULL;

	assert_int_equal(iort_timers_create(&cfg, &s), 0);
	assert_non_null(s);
	return s;
}

/* The reference's threshold: the earliest set time at which @d armed at @now must have fired. */
static uint64_t threshold(enum iort_timers_kind kind, uint64_t tick, uint64_t now, uint64_t d)
{
	uint64_t max_ns = UINT64_MAX / tick * tick;

	if (kind == IORT_TIMERS_HEAP || d < now || d - now < tick || d > max_ns)
		return d;
	return (d / tick + (d % tick != 0)) * tick;
}

/* --- a tracked timer --- */

struct tt {
	struct iort_timer t;
	struct iort_timers *s;
	uint64_t deadline;
	uint64_t thr;	/* threshold(), for the last arm */
	bool armed;	/* in the reference */
	bool since;	/* armed since the last advance (model): may be due already */
	unsigned fired; /* since the last arm */
	uint64_t fired_at;
	/* What the callback does (the simple tests). */
	struct tt *cancel_other; /* cancel it; record whether that returned true */
	bool cancel_result;
	bool cancel_self;
	unsigned rearms;   /* re-arm itself this many more times */
	uint64_t rearm_by; /* ...at now + this */
	size_t *order;	   /* append its index here */
	size_t *norder;
	size_t index;
};

static enum iort_timers_kind cur_kind;
static uint64_t cur_tick;

static void tt_fn(struct iort_timer *t, void *arg)
{
	struct tt *x = arg;
	uint64_t now = iort_timers_now(x->s);

	assert_ptr_equal(t, &x->t);
	assert_false(iort_timer_armed(t)); /* disarmed before its callback */
	assert_true(x->armed);		   /* cancelled timers never fire */
	assert_true(now >= x->thr);	   /* never early (thr >= deadline) */
	x->armed = false;
	x->fired++;
	x->fired_at = now;
	if (x->order)
		x->order[(*x->norder)++] = x->index;
	if (x->cancel_other) {
		x->cancel_result = iort_timers_cancel(x->s, &x->cancel_other->t);
		if (x->cancel_result)
			x->cancel_other->armed = false;
	}
	if (x->cancel_self)
		assert_false(iort_timers_cancel(x->s, t)); /* already disarmed */
	if (x->rearms) {
		x->rearms--;
		x->deadline = now + x->rearm_by;
		x->thr = threshold(cur_kind, cur_tick, now, x->deadline);
		x->armed = true;
		x->fired = 0;
		assert_int_equal(iort_timers_arm(x->s, t, x->deadline), 0);
	}
}

static void tt_init(struct tt *x, struct iort_timers *s, size_t index)
{
	memset(x, 0, sizeof(*x));
	iort_timer_init(&x->t, tt_fn, x);
	x->s = s;
	x->index = index;
}

static void tt_arm(struct tt *x, uint64_t d)
{
	x->deadline = d;
	x->thr = threshold(cur_kind, cur_tick, iort_timers_now(x->s), d);
	x->armed = true;
	x->fired = 0;
	assert_int_equal(iort_timers_arm(x->s, &x->t, d), 0);
	assert_true(iort_timer_armed(&x->t));
}

/* After an advance to @now: exactly the timers whose threshold is reached fired, each once. */
static void check_all(struct iort_timers *s, struct tt *v, size_t n)
{
	uint64_t now = iort_timers_now(s), next = iort_timers_next(s), min_thr = UINT64_MAX;
	size_t armed = 0;

	for (size_t i = 0; i < n; i++) {
		if (v[i].armed) {
			assert_true(v[i].thr > now); /* it would have fired */
			assert_true(iort_timer_armed(&v[i].t));
			armed++;
			if (v[i].thr < min_thr)
				min_thr = v[i].thr;
		} else {
			assert_false(iort_timer_armed(&v[i].t));
			assert_true(v[i].fired <= 1);
		}
	}
	assert_int_equal(iort_timers_count(s), armed);
	assert_true(next <= min_thr); /* never later than the real next expiry */
	if (armed == 0)
		assert_true(next == UINT64_MAX);
}

static void set_kind(enum iort_timers_kind kind, uint64_t tick)
{
	cur_kind = kind;
	cur_tick = tick ? tick : MS;
}

/* --- the tests --- */

static void bad_config(void **state)
{
	struct iort_timers_config cfg = { 0 };
	struct iort_timers *s = NULL;

	(void)state;
	assert_int_equal(iort_timers_create(NULL, &s), -EINVAL);
	assert_int_equal(iort_timers_create(&cfg, NULL), -EINVAL);
	cfg.kind = (enum iort_timers_kind)2;
	assert_int_equal(iort_timers_create(&cfg, &s), -EINVAL);
	cfg.kind = IORT_TIMERS_WHEEL;
	cfg.tick_ns = (1ull << 40) + 1;
	assert_int_equal(iort_timers_create(&cfg, &s), -EINVAL);
	assert_null(s);
	cfg.tick_ns = 1ull << 40;
	cfg.now_ns = 12345;
	assert_int_equal(iort_timers_create(&cfg, &s), 0);
	assert_int_equal(iort_timers_now(s), 12345);
	assert_int_equal(iort_timers_count(s), 0);
	assert_true(iort_timers_next(s) == UINT64_MAX);
	assert_int_equal(iort_timers_advance(s, UINT64_MAX), 0);
	assert_true(iort_timers_now(s) == UINT64_MAX);
	iort_timers_destroy(s);
	iort_timers_destroy(NULL);
}

/* Timers armed in shuffled order fire in the order of their ticks (heap: of their deadlines),
 * whether reached in one advance or many. */
static void order(void **state)
{
	enum { N = 300 };
	static struct tt v[N];
	size_t ord[N], nord = 0;
	uint64_t seed = 42;
	enum iort_timers_kind kind = kind_of(state);

	for (int pass = 0; pass < 2; pass++) {
		struct iort_timers *s = make(kind, MS, 5 * MS + 17);

		set_kind(kind, MS);
		nord = 0;
		for (size_t i = 0; i < N; i++) {
			tt_init(&v[i], s, i);
			v[i].order = ord;
			v[i].norder = &nord;
			/* ns resolution over 0..300 ms: many share a tick, some are precise */
			tt_arm(&v[i], 5 * MS + stress_rand(&seed) % (300 * MS));
		}
		if (pass == 0) {
			assert_int_equal(iort_timers_advance(s, 400 * MS), N);
		} else {
			for (uint64_t now = 5 * MS; now < 400 * MS; now += 777777)
				(void)iort_timers_advance(s, now);
			(void)iort_timers_advance(s, 400 * MS);
		}
		check_all(s, v, N);
		assert_int_equal(nord, N);
		for (size_t i = 1; i < N; i++) {
			const struct tt *a = &v[ord[i - 1]], *b = &v[ord[i]];

			if (kind == IORT_TIMERS_HEAP)
				assert_true(a->deadline <= b->deadline);
			else
				assert_true((a->deadline + MS - 1) / MS <=
					    (b->deadline + MS - 1) / MS);
		}
		iort_timers_destroy(s);
	}
}

/* A callback cancels another timer due in the same advance (a later tick, and the same tick:
 * whichever of two runs first cancels the other), and cancelling itself is a no-op. */
static void cancel_in_callback(void **state)
{
	enum iort_timers_kind kind = kind_of(state);
	struct iort_timers *s = make(kind, MS, 0);
	struct tt v[5], *a = &v[0], *b = &v[1], *c = &v[2], *d = &v[3], *e = &v[4];

	set_kind(kind, MS);
	for (size_t i = 0; i < 5; i++)
		tt_init(&v[i], s, i);
	tt_arm(a, 10 * MS);
	tt_arm(b, 20 * MS); /* later tick, due in the same advance */
	a->cancel_other = b;
	a->cancel_self = true;
	tt_arm(c, 30 * MS); /* c and d share a tick: the first to run cancels the other */
	tt_arm(d, 30 * MS);
	c->cancel_other = d;
	d->cancel_other = c;
	tt_arm(e, 40 * MS);
	assert_int_equal(iort_timers_advance(s, 100 * MS), 3);
	assert_int_equal(a->fired, 1);
	assert_true(a->cancel_result);
	assert_int_equal(b->fired, 0);
	assert_int_equal(c->fired + d->fired, 1);
	assert_true(c->fired ? c->cancel_result : d->cancel_result);
	assert_int_equal(e->fired, 1);
	check_all(s, v, 5);
	/* cancelling an idle timer, a fired one, twice */
	assert_false(iort_timers_cancel(s, &b->t));
	assert_false(iort_timers_cancel(s, &a->t));
	tt_arm(b, 200 * MS);
	assert_true(iort_timers_cancel(s, &b->t));
	assert_false(iort_timers_cancel(s, &b->t));
	assert_int_equal(iort_timers_count(s), 0);
	assert_int_equal(iort_timers_advance(s, 300 * MS), 0);
	iort_timers_destroy(s);
}

/* A callback re-arms its own timer: for later (one fire per advance that reaches it) and for a
 * deadline already due (it fires again within the same advance). */
static void rearm_in_callback(void **state)
{
	enum iort_timers_kind kind = kind_of(state);
	struct iort_timers *s = make(kind, MS, 0);
	struct tt a, b;
	unsigned total = 0;

	set_kind(kind, MS);
	tt_init(&a, s, 0);
	a.rearms = 9;
	a.rearm_by = 10 * MS;
	tt_arm(&a, 10 * MS);
	for (uint64_t now = MS; now <= 200 * MS; now += MS) {
		size_t n = iort_timers_advance(s, now);

		total += (unsigned)n;
		check_all(s, &a, 1);
		assert_true(n <= 1);
		if (n)
			assert_int_equal(a.fired_at, now);
	}
	assert_int_equal(total, 10);

	tt_init(&b, s, 1);
	b.rearms = 5;
	b.rearm_by = 0; /* due at once: fires again in this advance */
	tt_arm(&b, 250 * MS);
	assert_int_equal(iort_timers_advance(s, 250 * MS), 6);
	check_all(s, &b, 1);
	iort_timers_destroy(s);
}

/* Deadlines before the set's time and equal to it fire at the next advance, even one that
 * passes an earlier time (which does not move the set's time back). */
static void past_and_now(void **state)
{
	enum iort_timers_kind kind = kind_of(state);
	struct iort_timers *s = make(kind, MS, 1000 * MS + 3);
	struct tt v[4];

	set_kind(kind, MS);
	for (size_t i = 0; i < 4; i++)
		tt_init(&v[i], s, i);
	tt_arm(&v[0], 0);
	tt_arm(&v[1], 999 * MS);
	tt_arm(&v[2], 1000 * MS + 3); /* == now */
	tt_arm(&v[3], 1000 * MS + 4); /* 1 ns later: precise, not rounded to the tick */
	assert_true(iort_timers_next(s) <= 1000 * MS + 3);
	assert_int_equal(iort_timers_advance(s, 5), 3); /* earlier: ignored, due ones fire */
	assert_int_equal(iort_timers_now(s), 1000 * MS + 3);
	check_all(s, v, 4);
	assert_true(iort_timers_next(s) <= 1000 * MS + 4);
	assert_int_equal(iort_timers_advance(s, 1000 * MS + 4), 1);
	check_all(s, v, 4);
	iort_timers_destroy(s);
}

/* Rounding: with a tick of 1 ms + 3 ns, a deadline on a tick fires there, one ns past it fires
 * a tick later, never before; at small and very large times (the reciprocal division). */
static void rounding(void **state)
{
	enum iort_timers_kind kind = kind_of(state);
	const uint64_t tick = MS + 3;
	const uint64_t bases[] = { 0, 7 * tick + 5, (1ull << 62) + 11,
				   UINT64_MAX / tick * tick - 10 * tick };

	set_kind(kind, tick);
	for (size_t b = 0; b < sizeof(bases) / sizeof(bases[0]); b++) {
		struct iort_timers *s = make(kind, tick, bases[b]);
		uint64_t k = bases[b] / tick + 3;
		struct tt v[3];

		tt_init(&v[0], s, 0);
		tt_init(&v[1], s, 1);
		tt_init(&v[2], s, 2);
		tt_arm(&v[0], k * tick);
		tt_arm(&v[1], k * tick + 1);
		tt_arm(&v[2], k * tick - 1);
		for (uint64_t now = bases[b]; now <= (k + 2) * tick; now += tick / 3) {
			(void)iort_timers_advance(s, now);
			check_all(s, v, 3);
			(void)iort_timers_advance(s, now + 1);
			check_all(s, v, 3);
		}
		assert_false(v[0].armed || v[1].armed || v[2].armed);
		iort_timers_destroy(s);
	}
}

/*
 * Every level's boundaries: from a start time @t0 (ticks), deadlines at t0 + 64^l - 1, + 64^l,
 * + 64^l + 1 and at the next multiple of 64^l, one before and one after, for l = 1..7 (64^7 is
 * beyond the wheel's range: the far path), plus a few far ones and the end of time. Reached in
 * one jump, or by stepping to next() (checking one ns before it too), or in tick steps.
 */
enum step { JUMP, TO_NEXT, TICKS };

static void levels_run(enum iort_timers_kind kind, uint64_t tick, uint64_t t0, enum step step,
		       unsigned max_level)
{
	enum { MAXV = 8 * 6 + 4 };
	struct tt v[MAXV];
	size_t n = 0;
	struct iort_timers *s;
	uint64_t last = 0;

	if (t0 + (2ull << 42) > UINT64_MAX / tick)
		return; /* the deadlines would not fit in 64 bits of ns */
	s = make(kind, tick, t0 * tick);
	set_kind(kind, tick);
	for (unsigned l = 1; l <= max_level; l++) {
		uint64_t span = 1ull << (6 * l);
		uint64_t up = (t0 / span + 1) * span;
		uint64_t d[6] = { t0 + span - 1, t0 + span, t0 + span + 1, up - 1, up, up + 1 };

		for (int j = 0; j < 6; j++) {
			tt_init(&v[n], s, n);
			tt_arm(&v[n], d[j] * tick);
			if (d[j] * tick > last)
				last = d[j] * tick;
			n++;
		}
	}
	if (max_level >= 7 && tick == 1) {
		const uint64_t far[] = { t0 + (1ull << 43) + 5, t0 + (1ull << 50), UINT64_MAX - 1,
					 UINT64_MAX };

		for (int j = 0; j < 4; j++) {
			tt_init(&v[n], s, n);
			tt_arm(&v[n], far[j]);
			last = far[j];
			n++;
		}
	}
	(void)iort_timers_advance(s, t0 * tick); /* fires t0 + 0 (up - 1 when t0 = up - 1) */
	check_all(s, v, n);
	switch (step) {
	case JUMP: {
		size_t before = iort_timers_count(s);

		assert_int_equal(iort_timers_advance(s, last), before);
		break;
	}
	case TO_NEXT:
		for (int steps = 0; iort_timers_count(s); steps++) {
			uint64_t next = iort_timers_next(s);

			assert_true(steps < 100000);
			if (next > iort_timers_now(s) + 1) {
				(void)iort_timers_advance(s, next - 1);
				check_all(s, v, n);
			}
			(void)iort_timers_advance(s, next);
			check_all(s, v, n);
		}
		break;
	case TICKS:
		for (uint64_t now = t0 * tick; iort_timers_count(s); now += tick) {
			(void)iort_timers_advance(s, now);
			check_all(s, v, n);
		}
		break;
	}
	check_all(s, v, n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(v[i].fired, 1);
	iort_timers_destroy(s);
}

static void levels_jump(void **state)
{
	enum iort_timers_kind kind = kind_of(state);
	/* start times on, just before and just after level boundaries (the digits wrap) */
	const uint64_t starts[] = {
		0, 1, 63, (1ull << 18) - 2, (1ull << 30) + 1, (1ull << 42) - 3, (5ull << 42) + 7
	};

	for (size_t i = 0; i < sizeof(starts) / sizeof(starts[0]); i++) {
		levels_run(kind, 1, starts[i], JUMP, 7);
		levels_run(kind, 1000, starts[i], JUMP, 7);
	}
}

static void levels_to_next(void **state)
{
	enum iort_timers_kind kind = kind_of(state);
	const uint64_t starts[] = { 0, 5, (1ull << 24) - 1, (1ull << 42) - 3, (9ull << 42) + 100 };

	for (size_t i = 0; i < sizeof(starts) / sizeof(starts[0]); i++) {
		levels_run(kind, 1, starts[i], TO_NEXT, 7);
		levels_run(kind, 7, starts[i], TO_NEXT, 7);
		levels_run(kind, MS, starts[i], TO_NEXT, 7);
	}
}

static void levels_ticks(void **state)
{
	enum iort_timers_kind kind = kind_of(state);

	/* levels 1..3 (2^18 + 2^18 ticks at most), tick by tick */
	levels_run(kind, 1, 0, TICKS, 3);
	levels_run(kind, 1, 4000, TICKS, 3);
	levels_run(kind, MS, (1ull << 18) - 5, TICKS, 3);
}

static void count_and_next(void **state)
{
	enum iort_timers_kind kind = kind_of(state);
	struct iort_timers *s = make(kind, MS, 0);
	struct tt v[3];

	set_kind(kind, MS);
	for (size_t i = 0; i < 3; i++)
		tt_init(&v[i], s, i);
	assert_true(iort_timers_next(s) == UINT64_MAX);
	tt_arm(&v[0], 5 * MS);
	tt_arm(&v[1], 70 * MS);
	tt_arm(&v[2], 5000 * MS);
	assert_int_equal(iort_timers_count(s), 3);
	assert_true(iort_timers_next(s) <= 5 * MS);
	tt_arm(&v[0], 6000 * MS); /* re-arm moves it: still 3 */
	assert_int_equal(iort_timers_count(s), 3);
	check_all(s, v, 3);
	assert_true(iort_timers_cancel(s, &v[1].t));
	v[1].armed = false;
	assert_int_equal(iort_timers_count(s), 2);
	check_all(s, v, 3);
	assert_int_equal(iort_timers_advance(s, 5000 * MS), 1);
	assert_int_equal(iort_timers_count(s), 1);
	check_all(s, v, 3);
	assert_true(iort_timers_cancel(s, &v[0].t));
	v[0].armed = false;
	assert_true(iort_timers_next(s) == UINT64_MAX);
	iort_timers_destroy(s);
}

/* Armed timers are forgotten by destroy (never fired, no leak) and usable after init. */
static void destroy_with_armed(void **state)
{
	enum iort_timers_kind kind = kind_of(state);
	struct iort_timers *s = make(kind, MS, 0);
	struct tt v[100];

	set_kind(kind, MS);
	for (size_t i = 0; i < 100; i++) {
		tt_init(&v[i], s, i);
		tt_arm(&v[i], (i % 3 == 0 ? i : i * 1000) * MS);
	}
	(void)iort_timers_advance(s, MS / 2);
	iort_timers_destroy(s);
	s = make(kind, MS, 0);
	for (size_t i = 0; i < 100; i++) {
		tt_init(&v[i], s, i);
		tt_arm(&v[i], MS);
	}
	assert_int_equal(iort_timers_advance(s, MS), 100);
	iort_timers_destroy(s);
}

/* A timer armed in one set is refused by another (arm -EINVAL, cancel false) and untouched. */
static void other_set(void **state)
{
	enum iort_timers_kind kind = kind_of(state);
	struct iort_timers *a = make(kind, MS, 0), *b = make(IORT_TIMERS_WHEEL, MS, 0);
	struct iort_timers *c = make(IORT_TIMERS_HEAP, MS, 0);
	struct tt x;

	set_kind(kind, MS);
	tt_init(&x, a, 0);
	tt_arm(&x, 10 * MS);
	assert_int_equal(iort_timers_arm(b, &x.t, 20 * MS), -EINVAL);
	assert_int_equal(iort_timers_arm(c, &x.t, 20 * MS), -EINVAL);
	assert_false(iort_timers_cancel(b, &x.t));
	assert_false(iort_timers_cancel(c, &x.t));
	assert_int_equal(iort_timers_count(b) + iort_timers_count(c), 0);
	assert_int_equal(iort_timers_advance(b, 100 * MS), 0);
	assert_int_equal(iort_timers_advance(a, 10 * MS), 1);
	assert_int_equal(x.fired, 1);
	/* once fired it is idle: any set may take it */
	x.s = b;
	set_kind(IORT_TIMERS_WHEEL, MS);
	tt_arm(&x, 200 * MS);
	assert_int_equal(iort_timers_advance(b, 200 * MS), 1);
	iort_timers_destroy(a);
	iort_timers_destroy(b);
	iort_timers_destroy(c);
}

/* --- the model test --- */

enum { MT = 256 };

struct model {
	struct iort_timers *s;
	struct tt v[MT];
	uint64_t rng;
	uint64_t tick;
	enum iort_timers_kind kind;
	/* the advance in progress: order of the timers armed before it */
	bool in_advance;
	uint64_t last_key; /* heap: deadline; wheel: ceil(d / tick) of the last pre-armed fire */
	bool pre_armed[MT];
	size_t fired;
};

static struct model M;

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* tick * 64^k, saturated */
static uint64_t ticks_up(uint64_t tick, unsigned k)
{
	return tick > UINT64_MAX >> (6 * k) ? UINT64_MAX : tick << (6 * k);
}

/* uniform in [0, n] */
static uint64_t upto(uint64_t *rng, uint64_t n)
{
	return n == UINT64_MAX ? stress_rand(rng) : stress_rand(rng) % (n + 1);
}

/* A deadline relative to the set's time: in the past, within a tick, on tick edges, across
 * each level, beyond the wheel's range, at the end of time. */
static uint64_t pick_deadline(struct model *m)
{
	uint64_t now = iort_timers_now(m->s), r = stress_rand(&m->rng);
	uint64_t span = ticks_up(m->tick, (unsigned)(r % 8)); /* 64^7 ticks: the far path */

	switch ((r >> 8) % 10) {
	case 0:
		return now - (now ? stress_rand(&m->rng) % now : 0); /* past or now */
	case 1:
		return now + stress_rand(&m->rng) % m->tick; /* within a tick: precise */
	case 2:
		return sat_add(now, m->tick * (1 + stress_rand(&m->rng) % 3)); /* on tick edges */
	case 3:
		return sat_add(
			sat_add(now - now % m->tick, m->tick * (1 + stress_rand(&m->rng) % 70)),
			stress_rand(&m->rng) % 2); /* on and just past ticks */
	case 4:
		return stress_rand(&m->rng) % 16 == 0 ? UINT64_MAX - stress_rand(&m->rng) % 3
						      : sat_add(now, 1ull << 50);
	default:
		return sat_add(now, upto(&m->rng, span));
	}
}

static void model_arm(struct model *m, struct tt *x)
{
	uint64_t d = pick_deadline(m);

	x->deadline = d;
	x->thr = threshold(m->kind, m->tick, iort_timers_now(m->s), d);
	x->armed = true;
	x->fired = 0;
	x->since = !m->in_advance;
	if (m->in_advance)
		m->pre_armed[x->index] = false;
	assert_int_equal(iort_timers_arm(m->s, &x->t, d), 0);
}

static void model_cancel(struct model *m, struct tt *x)
{
	bool was = x->armed;

	assert_int_equal(iort_timers_cancel(m->s, &x->t), was);
	x->armed = false;
	if (m->in_advance)
		m->pre_armed[x->index] = false;
}

static void model_fn(struct iort_timer *t, void *arg)
{
	struct model *m = &M;
	struct tt *x = arg;
	uint64_t now = iort_timers_now(m->s), r;

	assert_ptr_equal(t, &x->t);
	STRESS_CHECK(x->armed);	     /* exactly once; cancelled never fire */
	STRESS_CHECK(now >= x->thr); /* never early; the wheel at most one tick late follows
				      * from thr < deadline + tick */
	x->armed = false;
	x->fired++;
	m->fired++;
	if (m->pre_armed[x->index]) {
		uint64_t k = m->kind == IORT_TIMERS_HEAP
				     ? x->deadline
				     : x->deadline / m->tick + (x->deadline % m->tick != 0);

		STRESS_CHECK(k >= m->last_key); /* deadline (tick) order */
		m->last_key = k;
		m->pre_armed[x->index] = false;
	}
	/* callbacks arm and cancel: others and themselves */
	r = stress_rand(&m->rng);
	if (r % 4 == 0)
		model_arm(m, &m->v[stress_rand(&m->rng) % MT]);
	if (r % 5 == 0)
		model_cancel(m, &m->v[stress_rand(&m->rng) % MT]);
	if (r % 7 == 0)
		model_arm(m, x);
	if (r % 11 == 0)
		model_cancel(m, x);
}

static void model_check(struct model *m)
{
	uint64_t now = iort_timers_now(m->s), next = iort_timers_next(m->s), min_thr = UINT64_MAX;
	size_t armed = 0;

	for (size_t i = 0; i < MT; i++) {
		if (!m->v[i].armed)
			continue;
		/* the advance that reached it fired it */
		STRESS_CHECK(m->v[i].thr > now || m->v[i].since);
		STRESS_CHECK(iort_timer_armed(&m->v[i].t));
		armed++;
		if (m->v[i].thr < min_thr)
			min_thr = m->v[i].thr;
	}
	STRESS_CHECK(iort_timers_count(m->s) == armed);
	STRESS_CHECK(next <= min_thr);
}

static void model_run(enum iort_timers_kind kind, uint64_t seed, long steps)
{
	struct model *m = &M;
	static const uint64_t ticks[] = { 1, 7, 1000, MS, 1ull << 40 };
	uint64_t r, t0;

	memset(m, 0, sizeof(*m));
	m->rng = seed;
	m->kind = kind;
	m->tick = ticks[stress_rand(&m->rng) % 5];
	r = stress_rand(&m->rng);
	/* start near 0, near a rotation boundary of the wheel, or anywhere */
	t0 = r % 3 == 0	  ? r % 1000
	     : r % 3 == 1 ? (((r >> 8) % 8 + 1) << 42) * m->tick - 50 * m->tick
			  : r >> 2;
	if (m->tick > 1000 && r % 3 == 1)
		t0 = r % (1ull << 60);
	m->s = make(kind, m->tick, t0);
	for (size_t i = 0; i < MT; i++) {
		tt_init(&m->v[i], m->s, i);
		iort_timer_init(&m->v[i].t, model_fn, &m->v[i]);
	}
	for (long step = 0; step < steps; step++) {
		uint64_t now = iort_timers_now(m->s), to;
		struct tt *x = &m->v[stress_rand(&m->rng) % MT];

		r = stress_rand(&m->rng);
		switch (r % 8) {
		case 0:
		case 1:
		case 2:
			model_arm(m, x);
			break;
		case 3:
			model_cancel(m, x);
			break;
		default:
			switch ((r >> 8) % 7) {
			case 0:
				to = now + (r >> 16) % 2; /* stand still, or 1 ns */
				break;
			case 1:
				to = sat_add(now, m->tick);
				break;
			case 2:
				to = iort_timers_next(m->s); /* exactly the next expiry */
				break;
			case 3:
				to = iort_timers_next(m->s) - 1;
				break;
			case 4:
				to = sat_add(now, (r >> 16) % (m->tick * 3 + 1));
				break;
			case 5:
				to = sat_add(now, ticks_up(m->tick, (unsigned)((r >> 16) % 8)));
				break;
			default:
				to = sat_add(now, (r >> 16) % (m->tick << 13));
				break;
			}
			if (to == UINT64_MAX && (r >> 20) % 8)
				to = now; /* reach the end of time rarely */
			m->in_advance = true;
			m->last_key = 0;
			for (size_t i = 0; i < MT; i++) {
				m->pre_armed[i] = m->v[i].armed;
				m->v[i].since = false;
			}
			(void)iort_timers_advance(m->s, to);
			m->in_advance = false;
			break;
		}
		model_check(m);
		if (iort_timers_now(m->s) == UINT64_MAX) {
			/* the end of time: everything fired; start over */
			for (size_t i = 0; i < MT; i++)
				STRESS_CHECK(!m->v[i].armed);
			iort_timers_destroy(m->s);
			m->s = make(kind, m->tick, r % 1000000);
			for (size_t i = 0; i < MT; i++)
				m->v[i].s = m->s;
		}
	}
	iort_timers_destroy(m->s);
}

static void model(void **state)
{
	enum iort_timers_kind kind = kind_of(state);
	uint64_t seed = stress_seed(kind == IORT_TIMERS_HEAP ? "test_timer model heap"
							     : "test_timer model wheel");
	long rounds = stress_scale(40);

	for (long i = 0; i < rounds; i++)
		model_run(kind, seed + (uint64_t)i * 0x9e3779b97f4a7c15ull, 5000);
}

#define BOTH(fn) \
	cmocka_unit_test_prestate(fn, (void *)&WHEEL), cmocka_unit_test_prestate(fn, (void *)&HEAP)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bad_config),
		BOTH(order),
		BOTH(cancel_in_callback),
		BOTH(rearm_in_callback),
		BOTH(past_and_now),
		BOTH(rounding),
		BOTH(levels_jump),
		BOTH(levels_to_next),
		BOTH(levels_ticks),
		BOTH(count_and_next),
		BOTH(destroy_with_armed),
		BOTH(other_set),
		BOTH(model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
