/*
 * The harness's own hot path, measured like a workload so that its cost is on record next to the
 * figures it produces:
 *
 *   harness/hist_record/iob_hist   one HDR histogram record (the latency scenarios pay it per
 *                                  item); reports a counter "ns": thread 0's wall time over its
 *                                  iterations
 */
#include <stdint.h>

#include <iort/clock.h>

#include "bench.h"
#include "hist.h"

/* Cost of recording one latency into a per-thread histogram (values spread over 6 decades). */
static void bm_hist_record(struct iob_state *st, void *arg)
{
	struct iob_hist *h;
	uint64_t x = 88172645463325252ull, t0, t1;

	(void)arg;
	if (bench_pin(st))
		return;
	if (iob_hist_create(1, 10000000000ull, 3, &h)) {
		iob_state_skip_with_error(st, "iob_hist_create failed");
		return;
	}
	t0 = iort_clock_ns();
	while (iob_state_keep_running(st)) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		iob_hist_record(h, (x & 0xfffff) << (x >> 60)); /* up to ~2^35 */
	}
	t1 = iort_clock_ns();
	bench_report_ns(st, t0, t1);
	iob_hist_destroy(h);
}

static const struct bench_impl impl_iob_hist = {
	.name = "iob_hist",
	.origin = BENCH_HARNESS,
	.about = "iobench's HDR histogram (3 significant digits)"
};

static const struct bench_scenario hist_record = {
	.name = "harness/hist_record",
	.about = "cost of one latency record",
	.kind = BENCH_TIME,
	.flags = BENCH_DEFAULT,
};

static void register_all(void)
{
	static const int one[] = { 1 };

	bench_add(&hist_record, &impl_iob_hist, bm_hist_record, NULL, one, 1, NULL);
}

const struct bench_family bench_family_harness = {
	.name = "harness",
	.about = "the cost of iobench's own measuring",
	.register_all = register_all,
};
