/*
 * Gate benchmarks: the single-threaded hot paths whose instruction counts `iobench gate` (tier 1)
 * checks under valgrind's callgrind against results/baselines/gate.json.
 *
 *   gate/push_pop/<impl>            one push then one pop per iteration, on an empty queue
 *                                   (iort_spsc, iort_mpmc, iort_mpsc, iort_segq)
 *   gate/push_pop_bulk/iort_mpmc    one bulk push of GATE_BURST items, one bulk pop of as many
 *   gate/hist_record/iob_hist       one histogram record of a pseudo-random value (up to 2^35)
 *   gate/selftest/cost              IOBENCH_GATE_SELFTEST_COST (default 100) steps of dependent
 *                                   arithmetic: a cost the tests can raise by a known fraction to
 *                                   prove the gate fails
 *
 * Counting only the loop: each benchmark's measured loop is its own function, named after the
 * benchmark with every character other than a letter or digit turned into '_'
 * (gate/push_pop/iort_spsc -> gate_push_pop_iort_spsc). The gate runs callgrind with
 * --toggle-collect=<that name> --collect-atstart=no, so pinning, queue creation and Google
 * Benchmark's own setup are not counted; iob_state_keep_running() and the calls the loop makes
 * are. The loop functions are never inlined or cloned (a clone would carry a suffixed name that
 * callgrind's toggle would miss), and the gate fails a benchmark whose symbol collected nothing.
 *
 * Each loop runs the same instructions every iteration (single thread, no waiting, no clock
 * reads), so Ir / iterations is reproducible run to run; segq's segment turnover (one per 1024
 * items) is part of its steady state. A payload check after the loop (a checksum or the popped
 * values) marks the run failed when the queue lost or reordered an item.
 *
 * items_processed: items pushed and popped (one per iteration, GATE_BURST for the bulk case), so
 * the same benchmarks serve tier 2's wall-clock comparison as throughput.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <iort/mpmc.h>
#include <iort/mpsc.h>
#include <iort/segq.h>
#include <iort/spsc.h>

#include "bench.h"
#include "hist.h"

#define GATE_CAPACITY	  1024
#define GATE_BURST	  8
#define SELFTEST_DEFAULT  100
#define SELFTEST_MAX_COST 100000000L

/* Loops keep their own symbol: no inlining, and (gcc) no constprop/isra clones. */
#if defined(__clang__)
#define GATE_LOOP __attribute__((noinline, used))
#else
#define GATE_LOOP __attribute__((noinline, noclone, used))
#endif

/* Each loop returns a payload checksum; the caller compares it with the expected one. */
typedef uint64_t gate_loop_fn(struct iob_state *st, void *q);

/* --- the measured loops (symbol = benchmark name with non-alphanumerics as '_') --- */

GATE_LOOP static uint64_t gate_push_pop_iort_spsc(struct iob_state *st, void *q)
{
	uint64_t sum = 0, i = 1;
	void *out = NULL;

	while (iob_state_keep_running(st)) {
		if (!iort_spsc_try_push(q, (void *)(uintptr_t)i) || !iort_spsc_try_pop(q, &out))
			return UINT64_MAX;
		sum += (uintptr_t)out ^ i++;
	}
	return sum;
}

GATE_LOOP static uint64_t gate_push_pop_iort_mpmc(struct iob_state *st, void *q)
{
	uint64_t sum = 0, i = 1;
	void *out = NULL;

	while (iob_state_keep_running(st)) {
		if (!iort_mpmc_try_push(q, (void *)(uintptr_t)i) || !iort_mpmc_try_pop(q, &out))
			return UINT64_MAX;
		sum += (uintptr_t)out ^ i++;
	}
	return sum;
}

GATE_LOOP static uint64_t gate_push_pop_iort_segq(struct iob_state *st, void *q)
{
	uint64_t sum = 0, i = 1;
	void *out = NULL;

	while (iob_state_keep_running(st)) {
		if (iort_segq_push(q, (void *)(uintptr_t)i) || !iort_segq_try_pop(q, &out))
			return UINT64_MAX;
		sum += (uintptr_t)out ^ i++;
	}
	return sum;
}

GATE_LOOP static uint64_t gate_push_pop_iort_mpsc(struct iob_state *st, void *q)
{
	struct iort_mpsc_node node, *out;
	uint64_t sum = 0;

	while (iob_state_keep_running(st)) {
		iort_mpsc_push(q, &node);
		out = iort_mpsc_pop(q);
		sum += (uintptr_t)out ^ (uintptr_t)&node;
	}
	return sum;
}

GATE_LOOP static uint64_t gate_push_pop_bulk_iort_mpmc(struct iob_state *st, void *q)
{
	void *in[GATE_BURST], *out[GATE_BURST];
	uint64_t sum = 0, i = 1;

	while (iob_state_keep_running(st)) {
		for (int k = 0; k < GATE_BURST; k++)
			in[k] = (void *)(uintptr_t)(i + (uint64_t)k);
		if (iort_mpmc_try_push_bulk(q, in, GATE_BURST) != GATE_BURST ||
		    iort_mpmc_try_pop_bulk(q, out, GATE_BURST) != GATE_BURST)
			return UINT64_MAX;
		for (int k = 0; k < GATE_BURST; k++)
			sum += (uintptr_t)out[k] ^ (i + (uint64_t)k);
		i += GATE_BURST;
	}
	return sum;
}

GATE_LOOP static uint64_t gate_hist_record_iob_hist(struct iob_state *st, void *h)
{
	uint64_t x = 88172645463325252ull, dropped = 0;

	while (iob_state_keep_running(st)) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		dropped += !iob_hist_record(h, (x & 0xfffff) << (x >> 60)); /* up to ~2^35 */
	}
	return dropped;
}

static long selftest_cost;

/* An LCG step per round: each depends on the last, and the empty asm hides x from the optimizer,
 * so the loop can be neither removed nor folded into a closed form. */
GATE_LOOP static uint64_t gate_selftest_cost(struct iob_state *st, void *arg)
{
	long cost = selftest_cost;
	uint64_t x = 1;

	(void)arg;
	while (iob_state_keep_running(st)) {
		for (long k = 0; k < cost; k++) {
			x = x * 6364136223846793005ull + 1442695040888963407ull;
			__asm__ volatile("" : "+r"(x));
		}
	}
	return x; /* not checked: any value is right */
}

/* --- setup, outside the counted loops --- */

enum gate_kind { K_SPSC, K_MPMC, K_MPSC, K_SEGQ, K_MPMC_BULK, K_HIST, K_SELFTEST };

struct gate_case {
	const char *name;
	enum gate_kind kind;
	gate_loop_fn *loop;
	int items; /* per iteration */
};

static const struct gate_case cases[] = {
	{ "gate/push_pop/iort_spsc", K_SPSC, gate_push_pop_iort_spsc, 1 },
	{ "gate/push_pop/iort_mpmc", K_MPMC, gate_push_pop_iort_mpmc, 1 },
	{ "gate/push_pop/iort_mpsc", K_MPSC, gate_push_pop_iort_mpsc, 1 },
	{ "gate/push_pop/iort_segq", K_SEGQ, gate_push_pop_iort_segq, 1 },
	{ "gate/push_pop_bulk/iort_mpmc", K_MPMC_BULK, gate_push_pop_bulk_iort_mpmc, GATE_BURST },
	{ "gate/hist_record/iob_hist", K_HIST, gate_hist_record_iob_hist, 1 },
	{ "gate/selftest/cost", K_SELFTEST, gate_selftest_cost, 1 },
};

static void bm_gate(struct iob_state *st, void *arg)
{
	const struct gate_case *c = arg;
	void *obj = NULL;
	uint64_t sum;
	int64_t n;
	int err = 0;

	if (bench_pin(st))
		return;
	switch (c->kind) {
	case K_SPSC:
		err = iort_spsc_create(GATE_CAPACITY, (struct iort_spsc **)&obj);
		break;
	case K_MPMC:
	case K_MPMC_BULK:
		err = iort_mpmc_create(GATE_CAPACITY, (struct iort_mpmc **)&obj);
		break;
	case K_MPSC:
		err = iort_mpsc_create((struct iort_mpsc **)&obj);
		break;
	case K_SEGQ:
		err = iort_segq_create(0, (struct iort_segq **)&obj);
		break;
	case K_HIST:
		err = iob_hist_create(1, 1ull << 36, 3, (struct iob_hist **)&obj);
		break;
	case K_SELFTEST:
		break;
	}
	if (err) {
		iob_state_skip_with_error(st, "cannot create the structure under test");
		return;
	}

	sum = c->loop(st, obj);
	n = iob_state_iterations(st);

	switch (c->kind) {
	case K_SPSC:
	case K_MPMC:
	case K_SEGQ:
	case K_MPMC_BULK:
		/* Every item came back as itself: each term out ^ in is 0. */
		if (sum)
			iob_state_skip_with_error(st, "queue returned a wrong item");
		break;
	case K_MPSC:
		if (sum)
			iob_state_skip_with_error(st, "mpsc returned a wrong node");
		break;
	case K_HIST:
		if (sum)
			iob_state_skip_with_error(st, "histogram dropped a value in range");
		break;
	case K_SELFTEST:
		iob_state_counter(st, "cost", (double)selftest_cost, IOB_COUNTER_DEFAULT);
		break;
	}
	iob_state_set_items_processed(st, n * c->items);

	switch (c->kind) {
	case K_SPSC:
		iort_spsc_destroy(obj);
		break;
	case K_MPMC:
	case K_MPMC_BULK:
		iort_mpmc_destroy(obj);
		break;
	case K_MPSC:
		iort_mpsc_destroy(obj);
		break;
	case K_SEGQ:
		iort_segq_destroy(obj);
		break;
	case K_HIST:
		iob_hist_destroy(obj);
		break;
	case K_SELFTEST:
		break;
	}
}

static long selftest_cost_from_env(void)
{
	const char *s = getenv("IOBENCH_GATE_SELFTEST_COST");
	char *end;
	long v;

	if (!s || !*s)
		return SELFTEST_DEFAULT;
	v = strtol(s, &end, 10);
	if (*end || v < 1 || v > SELFTEST_MAX_COST) {
		fprintf(stderr,
			"iobench-bench: IOBENCH_GATE_SELFTEST_COST must be a whole number from 1 "
			"to "
			"%ld, not '%s'\n",
			SELFTEST_MAX_COST, s);
		exit(2);
	}
	return v;
}

void bench_gate_register(void)
{
	selftest_cost = selftest_cost_from_env();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct iob_bench *b = iob_bench_register(cases[i].name, bm_gate, (void *)&cases[i]);

		if (!b) {
			fprintf(stderr, "iobench-bench: cannot register %s\n", cases[i].name);
			exit(1);
		}
		/* One thread, the default: iob_bench_threads() would add "/threads:1" to the name. */
	}
}
