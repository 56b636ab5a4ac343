/*
 * Run context for results files: build facts (compiled in by meson), machine facts (uname,
 * /proc/cpuinfo), and load/steal snapshots from /proc around a run.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "build_info.h"
#include "context.h"

#ifndef IOB_COMPILER
#define IOB_COMPILER "unknown"
#endif
#ifndef IOB_BUILDTYPE
#define IOB_BUILDTYPE "unknown"
#endif
#ifndef IOB_OPTIMIZATION
#define IOB_OPTIMIZATION "unknown"
#endif
#ifndef IOB_SANITIZE
#define IOB_SANITIZE "none"
#endif
#ifndef IOB_USER_CFLAGS
#define IOB_USER_CFLAGS ""
#endif

void iob_sysstat_read(struct iob_sysstat *out)
{
	FILE *f;
	char line[512];
	uint64_t v[10] = { 0 };

	memset(out, 0, sizeof(*out));
	f = fopen("/proc/loadavg", "r");
	if (!f)
		return;
	if (fscanf(f, "%lf %lf %lf", &out->load1, &out->load5, &out->load15) != 3) {
		fclose(f);
		return;
	}
	fclose(f);
	f = fopen("/proc/stat", "r");
	if (!f)
		return;
	/* "cpu  user nice system idle iowait irq softirq steal guest guest_nice" */
	if (fgets(line, sizeof(line), f) &&
	    sscanf(line,
		   "cpu %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
		   " %" SCNu64 " %" SCNu64,
		   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) == 8) {
		/* guest time is already counted in user: the first eight fields partition time. */
		for (int i = 0; i < 8; i++)
			out->total_ticks += v[i];
		out->steal_ticks = v[7];
		out->ok = true;
	}
	fclose(f);
}

const char *iob_build_sha(void)
{
	return IOB_BUILD_SHA;
}

const char *iob_build_version(void)
{
	return IOB_VERSION;
}

static void cpu_model(char *buf, size_t len)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[512];

	snprintf(buf, len, "unknown");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');

		if (strncmp(line, "model name", 10) != 0 || !colon)
			continue;
		colon++;
		while (*colon == ' ' || *colon == '\t')
			colon++;
		colon[strcspn(colon, "\n")] = '\0';
		snprintf(buf, len, "%s", colon);
		break;
	}
	fclose(f);
}

int iob_context_add_static(json_t *ctx)
{
	struct utsname u;
	char model[256], kernel[512];
	int err = 0;

	cpu_model(model, sizeof(model));
	if (uname(&u) == 0)
		snprintf(kernel, sizeof(kernel), "%s %s %s", u.sysname, u.release, u.machine);
	else
		snprintf(kernel, sizeof(kernel), "unknown");

	err |= json_object_set_new(ctx, "iobench_git_sha", json_string(IOB_BUILD_SHA));
	err |= json_object_set_new(ctx, "iobench_compiler", json_string(IOB_COMPILER));
	err |= json_object_set_new(ctx, "iobench_build_type", json_string(IOB_BUILDTYPE));
	err |= json_object_set_new(ctx, "iobench_optimization", json_string(IOB_OPTIMIZATION));
	err |= json_object_set_new(ctx, "iobench_sanitize", json_string(IOB_SANITIZE));
	err |= json_object_set_new(ctx, "iobench_cflags", json_string(IOB_USER_CFLAGS));
	err |= json_object_set_new(ctx, "iobench_kernel", json_string(kernel));
	err |= json_object_set_new(ctx, "iobench_cpu_model", json_string(model));
	err |= json_object_set_new(ctx, "iobench_online_cpus",
				   json_integer(sysconf(_SC_NPROCESSORS_ONLN)));
	return err ? -ENOMEM : 0;
}

static json_t *stat_json(const struct iob_sysstat *s)
{
	if (!s->ok)
		return json_null();
	return json_pack("{s:f, s:f, s:f, s:I, s:I}", "load1", s->load1, "load5", s->load5,
			 "load15", s->load15, "steal_ticks", (json_int_t)s->steal_ticks,
			 "total_ticks", (json_int_t)s->total_ticks);
}

int iob_context_add_load(json_t *ctx, const struct iob_sysstat *before,
			 const struct iob_sysstat *after)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	double steal_pct = -1;
	bool quiet = false;
	char why[160] = "load or steal unknown";
	int err = 0;

	if (ncpu < 1)
		ncpu = 1;
	if (before->ok && after->ok && after->total_ticks > before->total_ticks)
		steal_pct = 100.0 * (double)(after->steal_ticks - before->steal_ticks) /
			    (double)(after->total_ticks - before->total_ticks);
	if (before->ok && steal_pct >= 0) {
		/* The load after a run includes the run itself: judge the machine by the load before. */
		bool calm = before->load1 <= 0.3 * (double)ncpu;
		bool no_steal = steal_pct <= 2.0;

		quiet = calm && no_steal;
		snprintf(why, sizeof(why), "load1 before %.2f %s %.2f; steal %.2f %% %s 2 %%",
			 before->load1, calm ? "<=" : ">", 0.3 * (double)ncpu, steal_pct,
			 no_steal ? "<=" : ">");
	}
	err |= json_object_set_new(ctx, "iobench_load_before", stat_json(before));
	err |= json_object_set_new(ctx, "iobench_load_after", stat_json(after));
	err |= json_object_set_new(ctx, "iobench_steal_pct",
				   steal_pct >= 0 ? json_real(steal_pct) : json_null());
	err |= json_object_set_new(ctx, "iobench_quiet", json_boolean(quiet));
	err |= json_object_set_new(ctx, "iobench_quiet_reason", json_string(why));
	return err ? -ENOMEM : 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Median of counter "ns" over the iteration rows whose name starts with @p prefix and, when
 * @p pair is set, whose name contains it. @return NAN-free median or -1 when none. */
static double median_ns(const json_t *rows, const char *prefix, const char *contains)
{
	double vals[256];
	size_t n = 0, i;
	json_t *row;

	json_array_foreach(rows, i, row)
	{
		const char *name = json_string_value(json_object_get(row, "name"));
		const char *type = json_string_value(json_object_get(row, "run_type"));
		json_t *ns = json_object_get(row, "ns");

		if (!name || strncmp(name, prefix, strlen(prefix)) != 0 || !json_is_number(ns))
			continue;
		if (type && strcmp(type, "iteration") != 0)
			continue;
		if (json_is_true(json_object_get(row, "error_occurred")))
			continue;
		if (contains && !strstr(name, contains))
			continue;
		if (n < sizeof(vals) / sizeof(vals[0]))
			vals[n++] = json_number_value(ns);
	}
	if (n == 0)
		return -1;
	qsort(vals, n, sizeof(vals[0]), cmp_double);
	return n % 2 ? vals[n / 2] : (vals[n / 2 - 1] + vals[n / 2]) / 2;
}

json_t *iob_calibration_from_rows(const json_t *benchmarks)
{
	static const struct {
		const char *key, *prefix;
	} simple[] = {
		{ "clock_gettime_ns", "calib/clock/clock_gettime" },
		{ "tsc_read_ns", "calib/clock/rdtsc" },
		{ "fast_clock_ns", "calib/clock/iort_fast" },
		{ "syscall_ns", "calib/syscall/getppid" },
		{ "futex_wake_roundtrip_ns", "calib/futex/wake_roundtrip" },
	};
	json_t *out = json_object(), *c2c = json_object(), *row;
	size_t i;

	if (!out || !c2c)
		goto fail;
	for (i = 0; i < sizeof(simple) / sizeof(simple[0]); i++) {
		double v = median_ns(benchmarks, simple[i].prefix, NULL);

		if (v >= 0 && json_object_set_new(out, simple[i].key, json_real(v)))
			goto fail;
	}
	/* calib/cacheline/roundtrip/pu:A-B[/...]: one figure per PU pair. */
	json_array_foreach(benchmarks, i, row)
	{
		const char *name = json_string_value(json_object_get(row, "name"));
		const char *pair;
		char key[64], tag[72];
		double v;

		if (!name || strncmp(name, "calib/cacheline/roundtrip/pu:", 29) != 0)
			continue;
		pair = name + 29;
		snprintf(key, sizeof(key), "%.*s", (int)strcspn(pair, "/"), pair);
		if (json_object_get(c2c, key))
			continue;
		snprintf(tag, sizeof(tag), "/pu:%s/", key);
		v = median_ns(benchmarks, "calib/cacheline/roundtrip/", tag);
		if (v >= 0 && json_object_set_new(c2c, key, json_real(v)))
			goto fail;
	}
	if (json_object_set_new(out, "cacheline_roundtrip_ns", c2c))
		goto fail_out;
	return out;
fail:
	json_decref(c2c);
fail_out:
	json_decref(out);
	return NULL;
}
