/*
 * The C surface of harness/gbench.h over Google Benchmark 1.7.1 (the project's only C++).
 *
 * Every C handle wraps the C++ object it stands for: struct iob_state lives on the stack of the
 * registered lambda for one call of the benchmark function; struct iob_bench lives in a deque
 * (stable addresses) for the life of the process. No exception crosses into C: the calls that
 * allocate catch and degrade (NULL handle, dropped context entry).
 */
#include "gbench.h"

#include <benchmark/benchmark.h>

#include <cerrno>
#include <cstdio>
#include <deque>

namespace benchmark
{
/* Defined and exported by libbenchmark 1.7.1 (src/benchmark.cc), declared only in its private
 * commandlineflags.h: the switch RunSpecifiedBenchmarks() checks to list instead of run. */
extern bool FLAGS_benchmark_list_tests;
} // namespace benchmark

struct iob_state {
	benchmark::State &s;
};

struct iob_bench {
	benchmark::internal::Benchmark *b;
};

namespace
{
std::deque<iob_bench> benches;
int64_t fixed_iterations;
} // namespace

extern "C" {

struct iob_bench *iob_bench_register(const char *name, iob_bench_fn *fn, void *arg)
{
	if (!name || !fn)
		return nullptr;
	try {
		auto *b = benchmark::RegisterBenchmark(name, [fn, arg](benchmark::State &s) {
			iob_state st{ s };
			fn(&st, arg);
		});
		benches.push_back(iob_bench{ b });
		return &benches.back();
	} catch (...) {
		return nullptr;
	}
}

void iob_bench_threads(struct iob_bench *b, int n)
{
	b->b->Threads(n);
}

void iob_bench_real_time(struct iob_bench *b)
{
	b->b->UseRealTime();
}

void iob_bench_manual_time(struct iob_bench *b)
{
	b->b->UseManualTime();
}

void iob_bench_time_unit(struct iob_bench *b, char unit)
{
	switch (unit) {
	case 'n':
		b->b->Unit(benchmark::kNanosecond);
		break;
	case 'u':
		b->b->Unit(benchmark::kMicrosecond);
		break;
	case 'm':
		b->b->Unit(benchmark::kMillisecond);
		break;
	case 's':
		b->b->Unit(benchmark::kSecond);
		break;
	}
}

void iob_bench_fixed_iterations(int64_t n)
{
	fixed_iterations = n > 0 ? n : 0;
}

void iob_bench_add_context(const char *key, const char *value)
{
	try {
		benchmark::AddCustomContext(key, value);
	} catch (...) {
	}
}

int iob_bench_initialize(int *argc, char **argv)
{
	benchmark::Initialize(argc, argv);
	return *argc > 1 ? -EINVAL : 0;
}

uint64_t iob_bench_run(void)
{
	try {
		/* Iterations() is one-way, so it is applied only now, when the mode is final. */
		if (fixed_iterations > 0)
			for (iob_bench &b : benches)
				b.b->Iterations(fixed_iterations);
		return benchmark::RunSpecifiedBenchmarks();
	} catch (...) {
		return 0;
	}
}

void iob_bench_list(void)
{
	bool was = benchmark::FLAGS_benchmark_list_tests;

	benchmark::FLAGS_benchmark_list_tests = true;
	iob_bench_run();
	benchmark::FLAGS_benchmark_list_tests = was;
	fflush(stdout);
}

void iob_bench_shutdown(void)
{
	benchmark::Shutdown();
}

bool iob_state_keep_running(struct iob_state *st)
{
	return st->s.KeepRunning();
}

bool iob_state_keep_running_batch(struct iob_state *st, uint64_t n)
{
	return st->s.KeepRunningBatch(static_cast<benchmark::IterationCount>(n));
}

int iob_state_thread_index(const struct iob_state *st)
{
	return st->s.thread_index();
}

int iob_state_threads(const struct iob_state *st)
{
	return st->s.threads();
}

int64_t iob_state_iterations(const struct iob_state *st)
{
	return st->s.iterations();
}

void iob_state_pause_timing(struct iob_state *st)
{
	st->s.PauseTiming();
}

void iob_state_resume_timing(struct iob_state *st)
{
	st->s.ResumeTiming();
}

void iob_state_set_iteration_time(struct iob_state *st, double seconds)
{
	st->s.SetIterationTime(seconds);
}

void iob_state_set_items_processed(struct iob_state *st, int64_t items)
{
	st->s.SetItemsProcessed(items);
}

void iob_state_set_bytes_processed(struct iob_state *st, int64_t bytes)
{
	st->s.SetBytesProcessed(bytes);
}

void iob_state_counter(struct iob_state *st, const char *name, double value, unsigned flags)
{
	using C = benchmark::Counter;
	int f = C::kDefaults;

	if (flags & IOB_COUNTER_RATE)
		f |= C::kIsRate;
	if (flags & IOB_COUNTER_AVG_THREADS)
		f |= C::kAvgThreads;
	if (flags & IOB_COUNTER_AVG_ITERATIONS)
		f |= C::kAvgIterations;
	if (flags & IOB_COUNTER_INVERT)
		f |= C::kInvert;
	try {
		st->s.counters[name] = C(value, static_cast<C::Flags>(f));
	} catch (...) {
	}
}

void iob_state_skip_with_error(struct iob_state *st, const char *msg)
{
	st->s.SkipWithError(msg);
}

void iob_state_set_label(struct iob_state *st, const char *label)
{
	try {
		st->s.SetLabel(label);
	} catch (...) {
	}
}

} /* extern "C" */
