/*
 * clock.c's re-calibration window, driven deterministically through test points
 * (tests/lib/tp.h): a thread's fast-clock readings never go back, even when the re-calibrating
 * thread stops between reading the current time and publishing the new scale.
 */
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>
#include <pthread.h>

#include <iort/clock.h>

#include "clock-private.h"
#include "tp.h"

enum { TAG_REBASE = 1, TAG_READER = 2 };

struct rescaler {
	double ghz;
	int ret;
};

struct reader {
	uint64_t t1, t2;
	atomic_int got_t1; /* set by the reader after its first read */
	atomic_int go_t2;  /* set by the test once the new scale is published */
};

static void *rescale_thread(void *arg)
{
	struct rescaler *a = arg;

	tp_tag(TAG_REBASE);
	a->ret = iort__clock_rescale(a->ghz);
	return NULL;
}

static void *read_thread(void *arg)
{
	struct reader *r = arg;

	tp_tag(TAG_READER);
	r->t1 = iort_clock_fast_ns();
	atomic_store(&r->got_t1, 1);
	while (!atomic_load(&r->go_t2))
		sched_yield();
	r->t2 = iort_clock_fast_ns();
	return NULL;
}

/* Busy-wait until the reference clock moved by @p ns: time must pass on the old scale. */
static void let_time_pass(uint64_t ns)
{
	uint64_t t0 = iort_clock_ns();

	while (iort_clock_ns() - t0 < ns)
		;
}

/*
 * The scale drops 30-fold while the re-calibrating thread is stopped between reading the time and
 * publishing; 1 ms passes; a reader reads (old scale, or it waits for the publication); the new
 * scale is published; the reader reads again. Re-based at the read instead of at the
 * publication, the second reading is about 1 ms earlier than the first (unless the reader sleeps
 * 29 ms between its reads, so the test cannot fail falsely, only miss).
 */
static void rebase_window_reader_never_goes_back(void **state)
{
	struct iort_clock_info info;
	struct rescaler w;
	struct reader r = { 0 };
	pthread_t tw, tr;
	uint64_t t0;
	int s;

	(void)state;
	tp_reset();
	iort_clock_get_info(&info);
	if (!info.tsc_used)
		skip(); /* the fast clock is CLOCK_MONOTONIC: no scale to change */
	w = (struct rescaler){ info.tsc_ghz * 30 < 99 ? info.tsc_ghz * 30 : 99, -1 };
	s = tp_stop_at("clock.rebase", TAG_REBASE, 0);
	assert_int_equal(pthread_create(&tw, NULL, rescale_thread, &w), 0);
	tp_wait_stopped(s);
	let_time_pass(1000000);
	assert_int_equal(pthread_create(&tr, NULL, read_thread, &r), 0);
	/* The reader either read (the old scale is still published) or waits for the writer. */
	t0 = iort_clock_ns();
	while (!atomic_load(&r.got_t1) && tp_hits("clock.read_busy", TAG_READER) == 0) {
		if (iort_clock_ns() - t0 > (uint64_t)TP_TIMEOUT_S * 1000000000ull)
			tp_fail("waiting for the reader at", "clock.read_busy");
		sched_yield();
	}
	tp_release(s);
	assert_int_equal(pthread_join(tw, NULL), 0);
	assert_int_equal(w.ret, 0);
	atomic_store(&r.go_t2, 1);
	assert_int_equal(pthread_join(tr, NULL), 0);
	if (r.t2 < r.t1)
		fail_msg("the reader's clock went back %llu ns across the re-base",
			 (unsigned long long)(r.t1 - r.t2));
	/* Back to the measured rate for whatever runs next in this process. */
	tp_reset();
	assert_int_equal(iort__clock_rescale(info.tsc_ghz), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rebase_window_reader_never_goes_back),
	};

	tp_install();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
