/*
 * Backoff, the cancellable sleep, the retry loop and the retry budget (retry.h).
 *
 * Backoff (AWS, "Exponential Backoff And Jitter"): the formulas are in retry.h. Invariants:
 *   I1  0 <= delay <= cap for every jitter; decorrelated's delays are in [base, cap], and so is
 *       its prev (the delay before the deadline cut: the cut does not feed back into the chain).
 *   I2  base * 2^n never overflows: it is computed only when base <= cap >> n, so it is <= cap.
 *   I3  with a deadline D and now < D, now + delay <= D; at now >= D nothing is drawn and the
 *       state does not move.
 * Random numbers: xoshiro256** (Blackman and Vigna) per thread, its four words filled by four
 * splitmix64 outputs. splitmix64's output is a bijection of its counter, so four consecutive
 * outputs hold at most one zero and the state is never all-zero (xoshiro's one bad state).
 * Unseeded threads seed themselves on their first draw from the clock, the address of their
 * generator and a process-wide counter (so two threads starting in the same nanosecond differ).
 * A value in [lo, hi] is lo + (x * (hi - lo + 1)) >> 64 (Lemire's multiply-shift, without the
 * rejection step: the bias is at most (hi - lo + 1) / 2^64, below 2^-20 for any delay under
 * 2^44 ns, and it keeps the draw branch-free for the gate).
 *
 * Sleep: a waitq on the sleeper's stack that nobody notifies, waited on with the deadline and
 * the token (wait.h): it returns -ETIMEDOUT at the time, or -ECANCELED once the token is
 * cancelled (the canceller wakes the waitq it registered). A 0 (the seq moved with the token not
 * cancelled at the check) cannot come from a notifier, as there is none; it is treated as a
 * spurious wake-up and the wait is made again.
 *
 * Budget (gRPC's retry throttling, "A6: Client Retries"): tokens in thousandths in one atomic
 * word, full at init.
 *   I4  0 <= milli <= max at every moment: spend takes 1000 only from milli > max / 2 (and
 *       clamps at 0 for a max of one token), refund adds up to max, both by CAS from the value
 *       they read.
 * The count orders no other data: a retry that is allowed reads nothing another thread wrote
 * before its spend or refund, so every operation on it is relaxed; its atomicity (one
 * modification order per word) is what keeps I4 and the totals exact (tests/runtime/stress).
 */
#include <iort/clock.h>
#include <iort/retry.h>
#include <iort/wait.h>

#include <errno.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define MILLI 1000u

__extension__ typedef unsigned __int128 u128;

/* --- the per-thread generator --- */

static _Thread_local struct {
	uint64_t s[4];
	bool seeded;
} rng;

static _Atomic uint64_t seeds_given;

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void seed_with(uint64_t seed)
{
	uint64_t x = seed;

	for (int i = 0; i < 4; i++)
		rng.s[i] = splitmix64(&x);
	rng.seeded = true;
}

IORT_API void iort_retry_seed(uint64_t seed)
{
	seed_with(seed);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static __attribute__((noinline)) void seed_self(void)
{
	/* MO relaxed: only distinctness of the values matters, nothing is published with them. */
	uint64_t k = atomic_fetch_add_explicit(&seeds_given, 1, memory_order_relaxed);

	seed_with(iort_clock_ns() ^ (uint64_t)(uintptr_t)&rng ^ (k * 0xd1b54a32d192ed03ull));
}

static inline uint64_t next_u64(void)
{
	uint64_t *s = rng.s, r, t;

	if (iort_unlikely(!rng.seeded))
		seed_self();
	r = rotl(s[1] * 5, 7) * 9;
	t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return r;
}

/* Uniform on [lo, hi], lo <= hi. */
static inline uint64_t uniform(uint64_t lo, uint64_t hi)
{
	uint64_t span = hi - lo;

	if (iort_unlikely(span == UINT64_MAX))
		return next_u64();
	return lo + (uint64_t)(((u128)next_u64() * (span + 1)) >> 64);
}

/* --- backoff --- */

IORT_API int iort_backoff_init(struct iort_backoff *b, enum iort_jitter jitter, uint64_t base_ns,
			       uint64_t cap_ns, uint64_t deadline_ns)
{
	if (!b || cap_ns < base_ns || (unsigned)jitter > IORT_JITTER_DECORRELATED)
		return -EINVAL;
	b->iort_private_base = base_ns;
	b->iort_private_cap = cap_ns;
	b->iort_private_deadline = deadline_ns;
	b->iort_private_jitter = (uint32_t)jitter;
	iort_backoff_reset(b);
	return 0;
}

IORT_API void iort_backoff_reset(struct iort_backoff *b)
{
	b->iort_private_n = 0;
	b->iort_private_prev = b->iort_private_base;
}

IORT_API uint32_t iort_backoff_attempts(const struct iort_backoff *b)
{
	return b->iort_private_n;
}

/* min(cap, base * 2^n) without overflow (I2). */
static inline uint64_t expo(const struct iort_backoff *b)
{
	uint32_t n = b->iort_private_n;
	uint64_t base = b->iort_private_base, cap = b->iort_private_cap;

	if (n >= 64 || base > (cap >> n))
		return cap;
	return base << n;
}

IORT_API int iort_backoff_next(struct iort_backoff *b, uint64_t now_ns, uint64_t *delay_ns)
{
	uint64_t deadline = b->iort_private_deadline, d, t, hi;

	if (!delay_ns)
		return -EINVAL;
	if (deadline != IORT_DEADLINE_NONE && now_ns >= deadline)
		return -ETIMEDOUT; /* I3: nothing drawn */
	switch (b->iort_private_jitter) {
	case IORT_JITTER_NONE:
		d = expo(b);
		break;
	case IORT_JITTER_FULL:
		d = uniform(0, expo(b));
		break;
	case IORT_JITTER_EQUAL:
		t = expo(b);
		d = t / 2 + uniform(0, t - t / 2);
		break;
	default: /* IORT_JITTER_DECORRELATED: init refused anything else */
		t = b->iort_private_prev;
		hi = t > UINT64_MAX / 3 ? UINT64_MAX : t * 3;
		d = uniform(b->iort_private_base, hi);
		if (d > b->iort_private_cap)
			d = b->iort_private_cap;
		b->iort_private_prev = d; /* I1: uncut */
		break;
	}
	if (b->iort_private_n != UINT32_MAX)
		b->iort_private_n++;
	if (deadline != IORT_DEADLINE_NONE && d > deadline - now_ns)
		d = deadline - now_ns; /* I3 */
	*delay_ns = d;
	return 0;
}

IORT_API int iort_sleep_until(uint64_t wake_ns, struct iort_cancel *c)
{
	struct iort_waitq w;

	if (c && iort_cancel_requested(c))
		return -ECANCELED;
	if (iort_clock_ns() >= wake_ns)
		return 0;
	iort_waitq_init(&w);
	for (;;) {
		uint32_t key = iort_waitq_prepare(&w);
		int r = iort_waitq_wait(&w, key, wake_ns, c);

		if (r == -ETIMEDOUT)
			return 0;
		if (r == -ECANCELED)
			return r;
		/* 0: no notifier exists; a spurious wake-up: wait again */
	}
}

IORT_API int iort_backoff_sleep(struct iort_backoff *b, struct iort_cancel *c)
{
	uint64_t now, d;
	int r;

	if (c && iort_cancel_requested(c))
		return -ECANCELED;
	now = iort_clock_ns();
	r = iort_backoff_next(b, now, &d);
	if (r)
		return r;
	return iort_sleep_until(now + d, c);
}

/* --- budget --- */

struct budget {
	_Atomic uint64_t milli;
	uint64_t max;
	uint64_t refund;
};

_Static_assert(sizeof(struct budget) == sizeof(struct iort_retry_budget), "budget layout");
_Static_assert(alignof(struct budget) == alignof(struct iort_retry_budget), "budget alignment");
_Static_assert(offsetof(struct budget, refund) ==
		       offsetof(struct iort_retry_budget, iort_private_refund),
	       "budget layout");

static inline struct budget *bud(const struct iort_retry_budget *b)
{
	return (struct budget *)(void *)b;
}

IORT_API int iort_retry_budget_init(struct iort_retry_budget *b, uint32_t max_tokens,
				    uint32_t refund_milli)
{
	if (!b || max_tokens == 0 || max_tokens > IORT_RETRY_BUDGET_MAX_TOKENS ||
	    refund_milli == 0 || refund_milli > (uint64_t)max_tokens * MILLI)
		return -EINVAL;
	bud(b)->max = (uint64_t)max_tokens * MILLI;
	bud(b)->refund = refund_milli;
	atomic_init(&bud(b)->milli, bud(b)->max);
	return 0;
}

IORT_API bool iort_retry_budget_try_spend(struct iort_retry_budget *b)
{
	struct budget *g = bud(b);
	/* MO relaxed: the count publishes nothing (file header); the CAS below re-checks it. */
	uint64_t t = atomic_load_explicit(&g->milli, memory_order_relaxed), n;

	do {
		if (t <= g->max / 2)
			return false;
		n = t >= MILLI ? t - MILLI : 0; /* I4 */
		/* MO relaxed: atomicity alone keeps I4 and the count exact (file header). */
	} while (!atomic_compare_exchange_weak_explicit(&g->milli, &t, n, memory_order_relaxed,
							memory_order_relaxed));
	return true;
}

IORT_API void iort_retry_budget_refund(struct iort_retry_budget *b)
{
	struct budget *g = bud(b);
	/* MO relaxed: the count publishes nothing (file header); the CAS below re-checks it. */
	uint64_t t = atomic_load_explicit(&g->milli, memory_order_relaxed), n;

	do {
		if (t >= g->max)
			return;
		n = g->max - t < g->refund ? g->max : t + g->refund; /* I4 */
		/* MO relaxed: atomicity alone keeps I4 and the count exact (file header). */
	} while (!atomic_compare_exchange_weak_explicit(&g->milli, &t, n, memory_order_relaxed,
							memory_order_relaxed));
}

IORT_API uint64_t iort_retry_budget_milli(const struct iort_retry_budget *b)
{
	/* MO relaxed: a snapshot of a count that orders nothing. */
	return atomic_load_explicit(&bud(b)->milli, memory_order_relaxed);
}

/* --- the retry loop --- */

IORT_API int iort_retry(const struct iort_retry_policy *p, iort_retry_op_fn *op, void *ctx)
{
	struct iort_backoff b;
	uint64_t deadline, now, d;
	uint32_t calls = 0;
	int r, s;

	if (!p || !op || !p->retryable)
		return -EINVAL;
	deadline = p->deadline_ns ? p->deadline_ns : IORT_DEADLINE_NONE;
	r = iort_backoff_init(&b, p->jitter, p->base_ns, p->cap_ns, deadline);
	if (r)
		return r;
	for (;;) {
		if (p->cancel && iort_cancel_requested(p->cancel))
			return -ECANCELED;
		if (deadline != IORT_DEADLINE_NONE && iort_clock_ns() >= deadline)
			return -ETIMEDOUT; /* op is never called at or past the deadline */
		r = op(ctx);
		calls++;
		if (r >= 0) {
			if (p->budget)
				iort_retry_budget_refund(p->budget);
			return r;
		}
		if (!p->retryable(r, ctx) || (p->max_attempts && calls >= p->max_attempts))
			return r;
		now = iort_clock_ns();
		s = iort_backoff_next(&b, now, &d);
		if (s)
			return s; /* -ETIMEDOUT, before spending a token */
		if (p->budget && !iort_retry_budget_try_spend(p->budget))
			return r; /* throttled: the failure stands */
		if (d == 0)
			continue; /* no backoff: the loop top checks the token */
		s = iort_sleep_until(now + d, p->cancel);
		if (s)
			return s;
	}
}
