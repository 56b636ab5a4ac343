/*
 * retry.h's contract: each jitter's bounds and spread over many draws from a fixed seed, NONE's
 * exact sequence, decorrelated's chain within [base, cap], the deadline never overslept (checked
 * by the delays' arithmetic on a made-up clock, not by timing), iort_retry's predicate, max
 * attempts, deadline and cancellation (before the call, and from another thread while it
 * sleeps a delay far longer than the test), and the budget's exhaustion and refill. Concurrent
 * budget use is in tests/runtime/stress/stress_retry.c.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include <iort/clock.h>
#include <iort/retry.h>
#include <iort/wait.h>

#define DRAWS 20000
#define SEED  0x5eed1234abcdull

static void bad_params(void **state)
{
	struct iort_backoff b;
	struct iort_retry_budget g;
	struct iort_retry_policy p = { 0 };
	uint64_t d;

	(void)state;
	assert_int_equal(iort_backoff_init(NULL, IORT_JITTER_NONE, 1, 2, IORT_DEADLINE_NONE),
			 -EINVAL);
	assert_int_equal(iort_backoff_init(&b, IORT_JITTER_FULL, 10, 9, IORT_DEADLINE_NONE),
			 -EINVAL);
	assert_int_equal(iort_backoff_init(&b, (enum iort_jitter)4, 1, 2, IORT_DEADLINE_NONE),
			 -EINVAL);
	assert_int_equal(iort_backoff_init(&b, IORT_JITTER_NONE, 0, 0, IORT_DEADLINE_NONE), 0);
	assert_int_equal(iort_backoff_next(&b, 0, NULL), -EINVAL);
	assert_int_equal(iort_backoff_next(&b, 0, &d), 0);
	assert_int_equal(d, 0); /* base 0, cap 0: no backoff */

	assert_int_equal(iort_retry_budget_init(NULL, 10, 100), -EINVAL);
	assert_int_equal(iort_retry_budget_init(&g, 0, 100), -EINVAL);
	assert_int_equal(iort_retry_budget_init(&g, IORT_RETRY_BUDGET_MAX_TOKENS + 1, 100),
			 -EINVAL);
	assert_int_equal(iort_retry_budget_init(&g, 10, 0), -EINVAL);
	assert_int_equal(iort_retry_budget_init(&g, 10, 10001), -EINVAL);
	assert_int_equal(iort_retry_budget_init(&g, 10, 10000), 0);

	assert_int_equal(iort_retry(NULL, NULL, NULL), -EINVAL);
	assert_int_equal(iort_retry(&p, NULL, NULL), -EINVAL);
}

static void none_sequence(void **state)
{
	struct iort_backoff b;
	uint64_t d, want = 3;

	(void)state;
	assert_int_equal(iort_backoff_init(&b, IORT_JITTER_NONE, 3, 100, IORT_DEADLINE_NONE), 0);
	for (int i = 0; i < 10; i++) {
		assert_int_equal(iort_backoff_attempts(&b), i);
		assert_int_equal(iort_backoff_next(&b, 0, &d), 0);
		assert_int_equal(d, want < 100 ? want : 100); /* 3 6 12 24 48 96 100 100 ... */
		want *= 2;
	}
	iort_backoff_reset(&b);
	assert_int_equal(iort_backoff_attempts(&b), 0);
	assert_int_equal(iort_backoff_next(&b, 0, &d), 0);
	assert_int_equal(d, 3);

	/* No overflow on the way to a cap of 2^64 - 1: 3 * 2^n up to 3 * 2^62, then the cap. */
	assert_int_equal(iort_backoff_init(&b, IORT_JITTER_NONE, 3, UINT64_MAX, IORT_DEADLINE_NONE),
			 0);
	for (int i = 0; i < 200; i++) {
		assert_int_equal(iort_backoff_next(&b, 0, &d), 0);
		if (i <= 62)
			assert_true(d == 3ull << i);
		else
			assert_true(d == UINT64_MAX);
	}
}

/* Draw @p n delays at attempt @p k (reset, k draws skipped, one kept), return min, max, mean. */
static void draw_at(struct iort_backoff *b, int k, uint64_t *lo, uint64_t *hi, double *mean)
{
	uint64_t d;
	double sum = 0;

	*lo = UINT64_MAX;
	*hi = 0;
	for (int i = 0; i < DRAWS; i++) {
		iort_backoff_reset(b);
		for (int j = 0; j <= k; j++)
			assert_int_equal(iort_backoff_next(b, 0, &d), 0);
		if (d < *lo)
			*lo = d;
		if (d > *hi)
			*hi = d;
		sum += (double)d;
	}
	*mean = sum / DRAWS;
}

static void full_bounds(void **state)
{
	struct iort_backoff b;
	uint64_t lo, hi;
	double mean;

	(void)state;
	iort_retry_seed(SEED);
	assert_int_equal(iort_backoff_init(&b, IORT_JITTER_FULL, 1000, 50000, IORT_DEADLINE_NONE),
			 0);
	for (int k = 0; k < 9; k++) {
		uint64_t t = 1000ull << k < 50000 ? 1000ull << k : 50000;

		draw_at(&b, k, &lo, &hi, &mean);
		assert_true(hi <= t);	      /* random(0, min(cap, base * 2^k)) */
		assert_true(lo < t / 50);     /* reaches down to 0 ... */
		assert_true(hi > t - t / 50); /* ... and up to the bound */
		assert_true(mean > 0.45 * (double)t && mean < 0.55 * (double)t);
	}
}

static void equal_bounds(void **state)
{
	struct iort_backoff b;
	uint64_t lo, hi;
	double mean;

	(void)state;
	iort_retry_seed(SEED + 1);
	assert_int_equal(iort_backoff_init(&b, IORT_JITTER_EQUAL, 1001, 64000, IORT_DEADLINE_NONE),
			 0);
	for (int k = 0; k < 9; k++) {
		uint64_t t = 1001ull << k < 64000 ? 1001ull << k : 64000;

		draw_at(&b, k, &lo, &hi, &mean);
		assert_true(lo >= t / 2 && hi <= t); /* t/2 + random(0, t/2) */
		assert_true(lo < t / 2 + t / 100);
		assert_true(hi > t - t / 100);
		assert_true(mean > 0.7 * (double)t && mean < 0.8 * (double)t);
	}
}

static void decorrelated_chain(void **state)
{
	struct iort_backoff b;
	uint64_t d = 500, prev, lo = UINT64_MAX, hi = 0, at_cap = 0;

	(void)state;
	iort_retry_seed(SEED + 2);
	assert_int_equal(
		iort_backoff_init(&b, IORT_JITTER_DECORRELATED, 500, 100000, IORT_DEADLINE_NONE),
		0);
	for (int i = 0; i < DRAWS; i++) {
		if (i % 40 == 0)
			iort_backoff_reset(&b);
		prev = iort_backoff_attempts(&b) ? d : 500; /* the chain starts at base */
		assert_int_equal(iort_backoff_next(&b, 0, &d), 0);
		assert_true(d >= 500 && d <= 100000); /* [base, cap] */
		assert_true(d <=
			    (prev * 3 < 100000 ? prev * 3 : 100000)); /* random(base, prev*3) */
		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
		at_cap += d == 100000;
	}
	assert_true(lo < 500 + 50);   /* reaches base ... */
	assert_int_equal(hi, 100000); /* ... and the cap, often */
	assert_true(at_cap > DRAWS / 10);
}

/* The same seed, the same jitter; another seed, other jitter. */
static void seeded_is_reproducible(void **state)
{
	struct iort_backoff b;
	uint64_t a[64], d;
	int same = 0;

	(void)state;
	assert_int_equal(iort_backoff_init(&b, IORT_JITTER_FULL, 100, 1000000, IORT_DEADLINE_NONE),
			 0);
	iort_retry_seed(42);
	for (int i = 0; i < 64; i++) {
		iort_backoff_reset(&b);
		assert_int_equal(iort_backoff_next(&b, 0, &a[i]), 0);
		assert_int_equal(iort_backoff_next(&b, 0, &a[i]), 0);
	}
	iort_retry_seed(42);
	for (int i = 0; i < 64; i++) {
		iort_backoff_reset(&b);
		assert_int_equal(iort_backoff_next(&b, 0, &d), 0);
		assert_int_equal(iort_backoff_next(&b, 0, &d), 0);
		assert_int_equal(d, a[i]);
	}
	iort_retry_seed(43);
	for (int i = 0; i < 64; i++) {
		iort_backoff_reset(&b);
		assert_int_equal(iort_backoff_next(&b, 0, &d), 0);
		assert_int_equal(iort_backoff_next(&b, 0, &d), 0);
		same += d == a[i];
	}
	assert_true(same < 4);
}

/* On a made-up clock that advances by each delay: never past the deadline, the last delay cut
 * to land on it exactly, then -ETIMEDOUT with nothing drawn. */
static void deadline_never_overslept(void **state)
{
	static const enum iort_jitter kinds[] = { IORT_JITTER_NONE, IORT_JITTER_FULL,
						  IORT_JITTER_EQUAL, IORT_JITTER_DECORRELATED };
	const uint64_t t0 = 5000000, deadline = t0 + 777777;

	(void)state;
	iort_retry_seed(SEED + 3);
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		struct iort_backoff b;
		uint64_t now = t0, d;
		uint32_t n;
		int steps = 0;

		assert_int_equal(iort_backoff_init(&b, kinds[k], 1000, 1000000, deadline), 0);
		while (iort_backoff_next(&b, now, &d) == 0) {
			assert_true(d <= deadline - now);
			now += d;
			assert_true(++steps < 100000);
		}
		assert_int_equal(now, deadline);
		n = iort_backoff_attempts(&b);
		assert_int_equal(iort_backoff_next(&b, deadline, &d), -ETIMEDOUT);
		assert_int_equal(iort_backoff_next(&b, deadline + 1, &d), -ETIMEDOUT);
		assert_int_equal(iort_backoff_attempts(&b), n); /* nothing drawn */
	}
}

/* --- iort_retry --- */

struct op {
	int calls;
	int fail_first; /* this many calls fail ... */
	int err;	/* ... with this */
	int ok;		/* then this is returned */
	int pred_calls;
	struct iort_cancel *cancel_after_first; /* NULL: nothing */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool ran;
};

static int op_fn(void *ctx)
{
	struct op *o = ctx;

	o->calls++;
	pthread_mutex_lock(&o->mu);
	o->ran = true;
	pthread_cond_broadcast(&o->cv);
	pthread_mutex_unlock(&o->mu);
	return o->calls <= o->fail_first ? o->err : o->ok;
}

static bool eagain_only(int err, void *ctx)
{
	((struct op *)ctx)->pred_calls++;
	return err == -EAGAIN;
}

static void op_init(struct op *o, int fail_first, int err, int ok)
{
	*o = (struct op){ .fail_first = fail_first, .err = err, .ok = ok };
	pthread_mutex_init(&o->mu, NULL);
	pthread_cond_init(&o->cv, NULL);
}

static void predicate_respected(void **state)
{
	struct iort_retry_policy p = { .jitter = IORT_JITTER_FULL,
				       .base_ns = 1000,
				       .cap_ns = 10000,
				       .retryable = eagain_only };
	struct op o;

	(void)state;
	op_init(&o, 2, -EAGAIN, 7);
	assert_int_equal(iort_retry(&p, op_fn, &o), 7);
	assert_int_equal(o.calls, 3);
	assert_int_equal(o.pred_calls, 2);

	op_init(&o, 100, -EIO, 0); /* not retryable: one call */
	assert_int_equal(iort_retry(&p, op_fn, &o), -EIO);
	assert_int_equal(o.calls, 1);
	assert_int_equal(o.pred_calls, 1);
}

static void max_attempts(void **state)
{
	struct iort_retry_policy p = { .jitter = IORT_JITTER_NONE,
				       .base_ns = 100,
				       .cap_ns = 1000,
				       .max_attempts = 5,
				       .retryable = eagain_only };
	struct op o;

	(void)state;
	op_init(&o, 1000, -EAGAIN, 0);
	assert_int_equal(iort_retry(&p, op_fn, &o), -EAGAIN);
	assert_int_equal(o.calls, 5);
	op_init(&o, 4, -EAGAIN, 3); /* succeeds at the last allowed call */
	assert_int_equal(iort_retry(&p, op_fn, &o), 3);
	assert_int_equal(o.calls, 5);
	p.max_attempts = 1;
	op_init(&o, 1000, -EAGAIN, 0);
	assert_int_equal(iort_retry(&p, op_fn, &o), -EAGAIN);
	assert_int_equal(o.calls, 1);
}

static void retry_deadline(void **state)
{
	struct iort_retry_policy p = { .jitter = IORT_JITTER_DECORRELATED,
				       .base_ns = 1000,
				       .cap_ns = 200000,
				       .deadline_ns = 1, /* long past */
				       .retryable = eagain_only };
	struct op o;
	uint64_t end;

	(void)state;
	op_init(&o, 1000000000, -EAGAIN, 0);
	assert_int_equal(iort_retry(&p, op_fn, &o), -ETIMEDOUT);
	assert_int_equal(o.calls, 0);

	/* Fails until the deadline: -ETIMEDOUT, never before the deadline (a correctness bound,
	 * not a speed target). */
	p.deadline_ns = iort_clock_ns() + 3000000;
	assert_int_equal(iort_retry(&p, op_fn, &o), -ETIMEDOUT);
	end = iort_clock_ns();
	assert_true(end >= p.deadline_ns);
	assert_true(o.calls >= 1);
}

static void cancelled_before(void **state)
{
	struct iort_cancel c;
	struct iort_backoff b;
	struct iort_retry_policy p = { .jitter = IORT_JITTER_NONE,
				       .base_ns = 1000,
				       .cap_ns = 1000,
				       .retryable = eagain_only,
				       .cancel = &c };
	struct op o;

	(void)state;
	iort_cancel_init(&c);
	iort_cancel_request(&c);
	op_init(&o, 0, 0, 0);
	assert_int_equal(iort_retry(&p, op_fn, &o), -ECANCELED);
	assert_int_equal(o.calls, 0);
	assert_int_equal(iort_sleep_until(IORT_DEADLINE_NONE, &c), -ECANCELED);
	assert_int_equal(iort_sleep_until(0, &c), -ECANCELED); /* even with no time to sleep */
	assert_int_equal(iort_backoff_init(&b, IORT_JITTER_NONE, 1, 1, IORT_DEADLINE_NONE), 0);
	assert_int_equal(iort_backoff_sleep(&b, &c), -ECANCELED);
	assert_int_equal(iort_backoff_attempts(&b), 0);
	/* Not cancelled: a wake time already passed returns at once; a short sleep completes. */
	assert_int_equal(iort_sleep_until(0, NULL), 0);
	assert_int_equal(iort_backoff_sleep(&b, NULL), 0);
}

#define LONG_DELAY_NS 10000000000ull /* 10 s: the test would take that long if not woken */

static void *canceller(void *arg)
{
	struct op *o = arg;

	pthread_mutex_lock(&o->mu);
	while (!o->ran)
		pthread_cond_wait(&o->cv, &o->mu);
	pthread_mutex_unlock(&o->mu);
	/* The retrying thread is now past its op: about to sleep, or asleep. */
	iort_cancel_request(o->cancel_after_first);
	return NULL;
}

/* Cancelled by another thread after the first call: -ECANCELED, not a full delay later. */
static void cancelled_while_sleeping(void **state)
{
	struct iort_cancel c;
	struct iort_retry_policy p = { .jitter = IORT_JITTER_NONE,
				       .base_ns = LONG_DELAY_NS,
				       .cap_ns = LONG_DELAY_NS,
				       .retryable = eagain_only,
				       .cancel = &c };
	struct op o;
	pthread_t t;
	uint64_t t0;

	(void)state;
	iort_cancel_init(&c);
	op_init(&o, 1000, -EAGAIN, 0);
	o.cancel_after_first = &c;
	assert_int_equal(pthread_create(&t, NULL, canceller, &o), 0);
	t0 = iort_clock_ns();
	assert_int_equal(iort_retry(&p, op_fn, &o), -ECANCELED);
	assert_true(iort_clock_ns() - t0 < LONG_DELAY_NS);
	assert_int_equal(o.calls, 1);
	pthread_join(t, NULL);
}

/* --- the budget --- */

static void budget_exhaustion_and_refill(void **state)
{
	struct iort_retry_budget g;
	int n = 0;

	(void)state;
	assert_int_equal(iort_retry_budget_init(&g, 10, 100), 0); /* 10 tokens, 0.1 per success */
	assert_int_equal(iort_retry_budget_milli(&g), 10000);
	while (iort_retry_budget_try_spend(&g))
		n++;
	assert_int_equal(n, 5); /* 10 9 8 7 6 -> 5: no more than half of max left */
	assert_int_equal(iort_retry_budget_milli(&g), 5000);
	assert_false(iort_retry_budget_try_spend(&g));
	assert_int_equal(iort_retry_budget_milli(&g), 5000); /* a refused retry costs nothing */
	for (int i = 0; i < 9; i++)
		iort_retry_budget_refund(&g);
	assert_int_equal(iort_retry_budget_milli(&g), 5900);
	assert_true(iort_retry_budget_try_spend(&g)); /* 5.9 > 5 */
	assert_int_equal(iort_retry_budget_milli(&g), 4900);
	assert_false(iort_retry_budget_try_spend(&g));
	for (int i = 0; i < 1000; i++)
		iort_retry_budget_refund(&g);
	assert_int_equal(iort_retry_budget_milli(&g), 10000); /* full, not beyond */

	/* One token: half is 0.5; the one retry takes it to 0, never below. */
	assert_int_equal(iort_retry_budget_init(&g, 1, 300), 0);
	assert_true(iort_retry_budget_try_spend(&g));
	assert_int_equal(iort_retry_budget_milli(&g), 0);
	assert_false(iort_retry_budget_try_spend(&g));
	iort_retry_budget_refund(&g);
	assert_false(iort_retry_budget_try_spend(&g)); /* 0.3 */
	iort_retry_budget_refund(&g);
	assert_true(iort_retry_budget_try_spend(&g)); /* 0.6 > 0.5: to 0, not below */
	assert_int_equal(iort_retry_budget_milli(&g), 0);
	for (int i = 0; i < 4; i++)
		iort_retry_budget_refund(&g);
	assert_int_equal(iort_retry_budget_milli(&g), 1000);
}

/* iort_retry stops retrying when the budget says so, and a success refunds it. */
static void retry_with_budget(void **state)
{
	struct iort_retry_budget g;
	struct iort_retry_policy p = { .jitter = IORT_JITTER_NONE,
				       .base_ns = 0,
				       .cap_ns = 0,
				       .retryable = eagain_only,
				       .budget = &g };
	struct op o;

	(void)state;
	assert_int_equal(iort_retry_budget_init(&g, 4, 500), 0);
	op_init(&o, 1000, -EAGAIN, 0);
	assert_int_equal(iort_retry(&p, op_fn, &o), -EAGAIN);
	assert_int_equal(o.calls, 3); /* 4 -> 3 -> 2 tokens: two retries */
	assert_int_equal(iort_retry_budget_milli(&g), 2000);
	op_init(&o, 1000, -EAGAIN, 0);
	assert_int_equal(iort_retry(&p, op_fn, &o), -EAGAIN);
	assert_int_equal(o.calls, 1); /* exhausted: no retry at all */
	op_init(&o, 0, 0, 5);
	assert_int_equal(iort_retry(&p, op_fn, &o), 5);
	assert_int_equal(iort_retry_budget_milli(&g), 2500); /* a success refunds 0.5 */
	op_init(&o, 1, -EAGAIN, 6);
	assert_int_equal(iort_retry(&p, op_fn, &o), 6); /* 2.5 > 2: one retry again */
	assert_int_equal(o.calls, 2);
	assert_int_equal(iort_retry_budget_milli(&g), 2000); /* -1 for the retry, +0.5 */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bad_params),
		cmocka_unit_test(none_sequence),
		cmocka_unit_test(full_bounds),
		cmocka_unit_test(equal_bounds),
		cmocka_unit_test(decorrelated_chain),
		cmocka_unit_test(seeded_is_reproducible),
		cmocka_unit_test(deadline_never_overslept),
		cmocka_unit_test(predicate_respected),
		cmocka_unit_test(max_attempts),
		cmocka_unit_test(retry_deadline),
		cmocka_unit_test(cancelled_before),
		cmocka_unit_test(cancelled_while_sleeping),
		cmocka_unit_test(budget_exhaustion_and_refill),
		cmocka_unit_test(retry_with_budget),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
