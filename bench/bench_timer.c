/*
 * The timer family: libiort's timers in its event loop against libuv's and libevent's, in the
 * shapes of those libraries' own suites. Adapters: bench/tmimpl_*.c behind bench/tmimpl.h.
 *
 *   timer/million    libuv's benchmark-million-timers: arm 1,000,000 timers with delays spread
 *                    over 1..100 ms (whole ms, rising with the timer's index as libuv's do, so
 *                    they fire in memory order; libevent_common: every delay 100 ms, the one
 *                    duration its common timeouts share), then, once all are due, fire them
 *                    with turns of the loop. Counters per timer: insert_ns (the arming
 *                    loop), fire_ns (the turns that fire them), ns (both). Manual time: the
 *                    sleep until the timers are due is not counted. The arming runs where
 *                    each library's users arm timers (tmimpl.h's inside()).
 *   timer/million_random (not in the default matrix) the same with the delays drawn from a
 *                    fixed PRNG: timers fire in random memory order, 48-150 MB of them, and a
 *                    cache miss per fire dominates every implementation.
 *   timer/churn      timeouts that never fire: with 10,000 timers resident (10-11 s out), arm one
 *                    of 1024 more with a delay from the same spread and cancel it again; ns per
 *                    arm+cancel pair.
 *   timer/accuracy   the lateness of a sleep of `ms` (1, 10, 100): arm a timer for now + ms, run
 *                    the loop until it fires, lateness = the callback's clock reading - (the
 *                    clock reading just before arming + ms). p50/p99/p99.9/max from an HDR
 *                    histogram; `early` counts sleeps that ended before their time (libuv's
 *                    millisecond clock); manual time = the whole sleep.
 *
 * With --iobench_fixed_iterations (bench-smoke) the rounds shrink: 1000 timers, delays 1..3 ms,
 * and sleeps of at most 1 ms.
 *
 * Payload checks: every armed timer fired exactly once (million), none fired (churn), the sleep's
 * timer fired (accuracy).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <iort/clock.h>

#include "bench.h"
#include "hist.h"
#include "tmimpl.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define MS	       1000000ull
#define MILLION_N      1000000u
#define MILLION_N_S    1000u
#define SPREAD_MS      100u /* delays 1..SPREAD_MS ms */
#define SPREAD_MS_S    3u
#define CHURN_RESIDENT 10000u
#define CHURN_RING     1024u /* the churned timers, used in turn */
#define RESIDENT_NS    (10000 * MS)

static const struct tmimpl *const timer_impls[] = {
	&tmimpl_iort_epoll, &tmimpl_iort_heap, &tmimpl_uv, &tmimpl_event, &tmimpl_event_common,
};
/* timer/accuracy: the loops (common timeouts fire as libevent's own timers do). */
static const struct tmimpl *const accuracy_impls[] = {
	&tmimpl_iort_epoll, &tmimpl_iort_heap, &tmimpl_iort_uring, &tmimpl_uv, &tmimpl_event,
};

static bool smoke(void)
{
	return bench_env.fixed_iterations > 0;
}

/* Delays in whole ms, 1..spread: from a fixed xorshift stream (@p random), else rising with the
 * index as in libuv's benchmark (timer i: 1 + i * spread / n ms). */
static uint64_t *make_delays(uint32_t n, unsigned spread_ms, bool random)
{
	uint64_t *d = malloc((size_t)n * sizeof(*d)), x = 0x9e3779b97f4a7c15ull;

	if (!d)
		return NULL;
	for (uint32_t i = 0; i < n; i++) {
		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		d[i] = (1 + (random ? (x * 0x2545f4914f6cdd1dull >> 33) % spread_ms
				    : (uint64_t)i * spread_ms / n)) *
		       MS;
	}
	return d;
}

static void sleep_until(uint64_t t)
{
	uint64_t now;

	while ((now = iort_clock_ns()) < t) {
		struct timespec ts = { (time_t)((t - now) / 1000000000u),
				       (long)((t - now) % 1000000000u) };

		nanosleep(&ts, NULL);
	}
}

/* Create the implementation's context, or skip the benchmark. */
static struct tm_common *begin(struct iob_state *st, const struct tmimpl *ti, uint32_t n,
			       uint64_t common_ns)
{
	struct tm_common *c = NULL;
	const char *why = NULL;
	char msg[200];
	int rc;

	if (ti->impl.missing) {
		iob_state_skip_with_error(st, ti->impl.missing);
		return NULL;
	}
	if (bench_pin(st))
		return NULL;
	rc = ti->create(n, common_ns, &c, &why);
	if (rc) {
		if (why && strncmp(why, "unsupported: ", 13) == 0) {
			iob_state_skip_with_error(st, why);
		} else {
			snprintf(msg, sizeof(msg), "%s: create failed: %s%s%s", ti->impl.name,
				 strerror(-rc), why ? ": " : "", why ? why : "");
			iob_state_skip_with_error(st, msg);
		}
		return NULL;
	}
	return c;
}

static void inside(const struct tmimpl *ti, struct tm_common *c, tm_body_fn *fn, void *arg)
{
	if (ti->inside)
		ti->inside(c, fn, arg);
	else
		fn(arg);
}

/* --- timer/million --- */

/* The million's context, kept for the process: Google Benchmark calls a benchmark once for its
 * warm-up (iobench's --benchmark_min_warmup_time) and again to measure, and a fresh context would
 * make the measured call pay the first touch of its memory (1M handles, iort_heap's array growing
 * to 16 MB: page faults that cost more than the timers on this VM). */
static struct {
	const struct tmimpl *ti;
	uint32_t n;
	struct tm_common *c;
} kept;

static void kept_free(void)
{
	if (kept.c)
		kept.ti->destroy(kept.c);
	kept.c = NULL;
	kept.ti = NULL;
}

static struct tm_common *million_ctx(struct iob_state *st, const struct tmimpl *ti, uint32_t n,
				     uint64_t common_ns)
{
	static bool registered;

	if (kept.c && kept.ti == ti && kept.n == n) {
		if (bench_pin(st))
			return NULL;
		kept.c->fired = 0;
		return kept.c;
	}
	kept_free();
	if (!registered)
		registered = atexit(kept_free) == 0;
	kept.c = begin(st, ti, n, common_ns);
	if (kept.c) {
		kept.ti = ti;
		kept.n = n;
	}
	return kept.c;
}

struct million {
	const struct tmimpl *ti;
	struct tm_common *c;
	const uint64_t *delay;
	uint32_t n;
	int rc;
	uint64_t t0, t1;
};

static void million_arm(void *arg)
{
	struct million *m = arg;
	const struct tmimpl *ti = m->ti;
	int rc = 0;

	m->t0 = iort_clock_ns();
	for (uint32_t i = 0; i < m->n; i++)
		rc |= ti->arm(m->c, i, m->delay[i]);
	m->t1 = iort_clock_ns();
	m->rc = rc;
}

static void million(struct iob_state *st, const struct tmimpl *ti, bool random)
{
	uint32_t n = smoke() ? MILLION_N_S : MILLION_N;
	unsigned spread = smoke() ? SPREAD_MS_S : SPREAD_MS;
	struct million m = { .ti = ti, .n = n };
	uint64_t *delay = make_delays(n, spread, random), ins = 0, fire = 0, want = 0;
	struct tm_common *c;
	const char *err = NULL;

	if (!delay) {
		iob_state_skip_with_error(st, "out of memory");
		return;
	}
	if (ti == &tmimpl_event_common)
		for (uint32_t i = 0; i < n; i++)
			delay[i] = spread * MS; /* one shared duration */
	c = million_ctx(st, ti, n, spread * MS);
	if (!c) {
		free(delay);
		return;
	}
	m.c = c;
	m.delay = delay;
	while (iob_state_keep_running(st)) {
		uint64_t armed_at, t2, t3;

		ti->update_now(c);
		armed_at = iort_clock_ns();
		inside(ti, c, million_arm, &m);
		if (m.rc) {
			err = "arming failed";
			break;
		}
		want += n;
		/* Every deadline is at most spread ms after the loop's time, read before armed_at. */
		sleep_until(armed_at + spread * MS + MS);
		t2 = iort_clock_ns();
		while (c->fired < want) {
			if (ti->run(c, false)) {
				err = "the loop failed";
				break;
			}
			if (iort_clock_ns() - t2 > 10000 * MS) {
				err = "timers did not fire within 10 s of their deadlines";
				break;
			}
		}
		t3 = iort_clock_ns();
		if (err)
			break;
		ins += m.t1 - m.t0;
		fire += t3 - t2;
		iob_state_set_iteration_time(st, (double)(m.t1 - m.t0 + t3 - t2) * 1e-9);
	}
	if (!err && c->fired != want)
		err = "a timer fired twice";
	if (err) {
		iob_state_skip_with_error(st, err);
	} else if (want) {
		iob_state_counter(st, "insert_ns", (double)ins / (double)want, 0);
		iob_state_counter(st, "fire_ns", (double)fire / (double)want, 0);
		iob_state_counter(st, "ns", (double)(ins + fire) / (double)want, 0);
		iob_state_set_items_processed(st, (int64_t)want);
	}
	if (err)
		kept_free(); /* timers may be left armed */
	free(delay);
}

static void bm_million(struct iob_state *st, void *arg)
{
	million(st, arg, false);
}

static void bm_million_random(struct iob_state *st, void *arg)
{
	million(st, arg, true);
}

/* --- timer/churn --- */

struct churn {
	const struct tmimpl *ti;
	struct tm_common *c;
	struct iob_state *st;
	const uint64_t *delay;
	int rc;
};

static void churn_body(void *arg)
{
	struct churn *k = arg;
	const struct tmimpl *ti = k->ti;
	uint64_t t0, t1;
	uint32_t j = 0;
	int rc = 0;

	t0 = iort_clock_ns();
	while (iob_state_keep_running(k->st)) {
		uint32_t i = CHURN_RESIDENT + (j & (CHURN_RING - 1));

		rc |= ti->arm(k->c, i, k->delay[j & (CHURN_RING - 1)]);
		ti->cancel(k->c, i);
		j++;
	}
	t1 = iort_clock_ns();
	k->rc = rc;
	bench_report_ns(k->st, t0, t1);
}

static void resident_body(void *arg)
{
	struct churn *k = arg;
	int rc = 0;

	for (uint32_t i = 0; i < CHURN_RESIDENT; i++)
		rc |= k->ti->arm(k->c, i, RESIDENT_NS + k->delay[i] * 10);
	k->rc = rc;
}

static void bm_churn(struct iob_state *st, void *arg)
{
	const struct tmimpl *ti = arg;
	unsigned spread = smoke() ? SPREAD_MS_S : SPREAD_MS;
	uint64_t *delay = make_delays(CHURN_RESIDENT, spread, true);
	struct churn k = { .ti = ti, .st = st, .delay = delay };
	struct tm_common *c;

	if (!delay) {
		iob_state_skip_with_error(st, "out of memory");
		return;
	}
	if (ti == &tmimpl_event_common)
		for (uint32_t i = 0; i < CHURN_RESIDENT; i++)
			delay[i] = spread * MS;
	/* common timeouts: every timer shares one duration, and in churn none may fire: make it
	 * the residents' (the smoke's 3 ms spread passed before a loaded machine's churn ended) */
	c = begin(st, ti, CHURN_RESIDENT + CHURN_RING, RESIDENT_NS);
	if (!c) {
		free(delay);
		return;
	}
	k.c = c;
	ti->update_now(c);
	inside(ti, c, resident_body, &k);
	if (!k.rc)
		inside(ti, c, churn_body, &k);
	if (k.rc)
		iob_state_skip_with_error(st, "arming failed");
	else if (c->fired)
		iob_state_skip_with_error(st, "a cancelled or resident timer fired");
	ti->destroy(c);
	free(delay);
}

/* --- timer/accuracy --- */

struct acase {
	const struct tmimpl *ti;
	uint64_t ms;
	char name[112];
};

static void bm_accuracy(struct iob_state *st, void *arg)
{
	const struct acase *a = arg;
	const struct tmimpl *ti = a->ti;
	uint64_t d = smoke() && a->ms > 1 ? MS : a->ms * MS, early = 0;
	struct iob_hist *h;
	struct tm_common *c;
	const char *err = NULL;

	if (iob_hist_create(1, 10000000000ull, 3, &h)) {
		iob_state_skip_with_error(st, "out of memory");
		return;
	}
	c = begin(st, ti, 1, d);
	if (!c) {
		iob_hist_destroy(h);
		return;
	}
	c->stamp = true;
	while (iob_state_keep_running(st)) {
		uint64_t before = c->fired, t0;

		ti->update_now(c);
		t0 = iort_clock_ns();
		if (ti->arm(c, 0, d)) {
			err = "arming failed";
			break;
		}
		while (c->fired == before) {
			if (ti->run(c, true)) {
				err = "the loop failed";
				break;
			}
			if (iort_clock_ns() - t0 > d + 10000 * MS) {
				err = "the timer did not fire within 10 s of its deadline";
				break;
			}
		}
		if (err)
			break;
		if (c->fire_ns < t0 + d)
			early++;
		iob_hist_record(h, c->fire_ns > t0 + d ? c->fire_ns - (t0 + d) : 0);
		iob_state_set_iteration_time(st, (double)(c->fire_ns - t0) * 1e-9);
	}
	if (err) {
		iob_state_skip_with_error(st, err);
	} else {
		iob_state_set_items_processed(st, iob_state_iterations(st));
		iob_state_counter(st, "p50_ns", (double)iob_hist_percentile(h, 50.0), 0);
		iob_state_counter(st, "p99_ns", (double)iob_hist_percentile(h, 99.0), 0);
		iob_state_counter(st, "p999_ns", (double)iob_hist_percentile(h, 99.9), 0);
		iob_state_counter(st, "max_ns", (double)iob_hist_max(h), 0);
		iob_state_counter(st, "early", (double)early, 0);
		bench_latency_csv_write(a->name, h);
	}
	ti->destroy(c);
	iob_hist_destroy(h);
}

/* --- registration --- */

static const struct bench_scenario sc_million = {
	.name = "timer/million",
	.about = "arm 1M timers (1..100 ms), then fire them all: insert_ns, fire_ns, ns per timer",
	.kind = BENCH_TIME,
	.timing = BENCH_MANUAL_TIME,
	.flags = BENCH_DEFAULT,
	.reference = "libuv",
};
static const struct bench_scenario sc_million_random = {
	.name = "timer/million_random",
	.about = "timer/million with the delays in random order: each fire is a cache miss",
	.kind = BENCH_TIME,
	.timing = BENCH_MANUAL_TIME,
	.reference = "libuv",
};
static const struct bench_scenario sc_churn = {
	.name = "timer/churn",
	.about = "arm and cancel a timeout that never fires, 10k timers resident: ns per pair",
	.kind = BENCH_TIME,
	.timing = BENCH_CPU_TIME,
	.flags = BENCH_DEFAULT,
	.reference = "libuv",
};
static const struct bench_scenario sc_accuracy = {
	.name = "timer/accuracy",
	.about = "lateness of a sleep of `ms` in the event loop",
	.kind = BENCH_LATENCY,
	.timing = BENCH_MANUAL_TIME,
	.flags = BENCH_DEFAULT,
	.reference = "libuv",
	.params = { "ms" },
};

static struct acase acases[NELEM(accuracy_impls) * 3];

static void register_all(void)
{
	static const char *const msname[] = { "1", "10", "100" };
	static const uint64_t ms[] = { 1, 10, 100 };
	static const int one[] = { 1 };
	size_t na = 0;

	for (size_t i = 0; i < NELEM(timer_impls); i++) {
		const struct tmimpl *ti = timer_impls[i];

		bench_add(&sc_million, &ti->impl, bm_million, (void *)ti, one, 1, NULL);
		bench_add(&sc_million_random, &ti->impl, bm_million_random, (void *)ti, one, 1,
			  NULL);
		bench_add(&sc_churn, &ti->impl, bm_churn, (void *)ti, one, 1, NULL);
	}
	for (size_t i = 0; i < NELEM(accuracy_impls); i++)
		for (size_t k = 0; k < NELEM(ms); k++) {
			struct acase *a = &acases[na++];
			const char *values[1] = { msname[k] };

			a->ti = accuracy_impls[i];
			a->ms = ms[k];
			snprintf(a->name, sizeof(a->name), "%s/%s/ms:%s/manual_time/threads:1",
				 sc_accuracy.name, a->ti->impl.name, msname[k]);
			bench_add(&sc_accuracy, &a->ti->impl, bm_accuracy, a, one, 1, values);
		}
}

const struct bench_family bench_family_timer = {
	.name = "timer",
	.about = "timers in event loops: ours (wheel, heap), libuv's, libevent's: a million armed "
		 "and fired, arm+cancel churn, sleep accuracy",
	.register_all = register_all,
};
