/*
 * iobench show RUN: one table per family/scenario of a run's results.
 *
 * Per benchmark (impl, params, threads, placement): the median over its iteration rows of
 * items_per_second (or real_time when the rows count no items), the spread min-max, the median
 * p99_ns when the rows carry it, and the speedup over the family's reference implementation
 * measured in the same run with the same params, threads and placement:
 *   items/s:   median / reference median        real_time: reference median / median
 * so > 1 always means faster than the reference. The reference comes from the context's
 * iobench_references, else the benchmark binary's catalogue (iob_reference_impl). Error rows (cells that crashed, timed out or
 * matched nothing) are listed in the header with their messages.
 *
 * Locks: a family/scenario whose rows carry a lock marker (iob_lock_markers: jain, jain_min_10ms,
 * consec) gets the lock table instead: throughput and its speedup as above, then the medians of
 * what decides between locks: the minimum windowed Jain index, consec, the wait p99/p99.9/max,
 * the handover p50, CPU seconds per million and context switches per thousand acquisitions. A
 * counter the rows lack (results of an older benchmark binary) shows as '-'.
 *
 * Latency: a family/scenario whose rows carry p50_ns (and no lock marker: pool/idle_wakeup,
 * queue/handoff) gets the latency table: the medians of p50, p99, p99.9 and max, and the p50's
 * speedup over the reference's (reference p50 / p50), since its items/s is only 1 / mean latency.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "catalogue.h"
#include "cli.h"
#include "locate.h"
#include "quote.h"
#include "results.h"

static const char show_usage[] =
	"usage: iobench show [--json] RUN\n"
	"Tables of a run (RUN = a run folder, its results.json, or a run name under results/):\n"
	"per family/scenario, each implementation's median throughput (items/s, or real time\n"
	"when no items are counted) with its min-max spread, the median p99 latency when\n"
	"measured, and the speedup over the family's reference implementation in the same run\n"
	"(same params, threads and placement; > 1 = faster, '-' when the reference did not run).\n"
	"The header names the run, build, host, whether the machine was quiet, and the cells\n"
	"that failed.\n"
	"Lock scenarios (rows with the fairness counters jain, jain_min_10ms or consec) get the\n"
	"lock table: throughput and speedup, the minimum Jain index over 10 ms windows, consec\n"
	"(share of acquisitions by the previous owner), wait p99/p99.9/max (call to ownership),\n"
	"handover p50 (release to the next owner running), CPU s per million and context\n"
	"switches per thousand acquisitions; medians over repetitions, '-' when not measured.\n"
	"Latency scenarios (rows with p50_ns, not locks) get the latency table: median p50,\n"
	"p99, p99.9 and max over repetitions, and the p50's speedup over the reference's.\n"
	"\n"
	"  --json   the same as one JSON object on stdout (a lock benchmark's counters under\n"
	"           \"lock\", by counter name)\n";

struct entry {
	const char *name; /* borrowed from the document */
	struct iob_name nm;
	char group[130];    /* family/scenario */
	char params[128];   /* nm.params without placement:P */
	char placement[64]; /* "compact" when the row does not say */
	bool items;	    /* metric items_per_second, else real_time in ns */
	double med, lo, hi; /* of the metric, ns for real_time */
	size_t n;	    /* samples */
	double p99;	    /* median p99_ns, NAN when none */
	double ratio;	    /* speedup over the reference, NAN when none */
	const char *ref;    /* the group's reference impl, or NULL */
	bool lock;	    /* its rows carry a lock marker (iob_bench_is_lock) */
	double lk[9];	    /* medians of lock_fields[], NAN when not measured */
	double p50;	    /* median p50_ns, NAN when none: the latency table */
	double p50_ratio;   /* reference p50 / p50, NAN when none */
};

/* The lock table's counters beyond p99_ns; JSON keys are the counters' names. */
enum { L_JAIN_MIN, L_CONSEC, L_P999, L_MAX, L_HAND50, L_CPU, L_CTXSW, L_JAIN, L_HAND99, NLOCK };
static const char *const lock_fields[NLOCK] = {
	"jain_min_10ms",  "consec",	    "p999_ns", "max_ns",	  "handover_p50_ns",
	"cpu_s_per_macq", "ctxsw_per_kacq", "jain",    "handover_p99_ns",
};

/* Split "placement:P" out of @p params; the row's iobench_placement wins when present. */
static void split_placement(struct entry *e, const json_t *row)
{
	const char *p = json_string_value(json_object_get(row, "iobench_placement"));
	char buf[128], *save = NULL, *tok;

	snprintf(e->placement, sizeof(e->placement), "%s", p ? p : "compact");
	snprintf(buf, sizeof(buf), "%s", e->nm.params);
	e->params[0] = '\0';
	for (tok = strtok_r(buf, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
		size_t used = strlen(e->params);

		if (strncmp(tok, "placement:", 10) == 0) {
			if (!p)
				snprintf(e->placement, sizeof(e->placement), "%s", tok + 10);
			continue;
		}
		snprintf(e->params + used, sizeof(e->params) - used, "%s%s", used ? "/" : "", tok);
	}
}

static int cmp_entry(const void *x, const void *y)
{
	const struct entry *a = x, *b = y;
	int c = strcmp(a->group, b->group);

	if (c)
		return c;
	if ((c = strcmp(a->params, b->params)))
		return c;
	if ((c = strcmp(a->placement, b->placement)))
		return c;
	if (a->nm.threads != b->nm.threads)
		return a->nm.threads < b->nm.threads ? -1 : 1;
	/* The reference first, then the others by name. */
	if (a->ref && (strcmp(a->nm.impl, a->ref) == 0) != (strcmp(b->nm.impl, a->ref) == 0))
		return strcmp(a->nm.impl, a->ref) == 0 ? -1 : 1;
	return strcmp(a->nm.impl, b->nm.impl);
}

/* The key a reference is looked up by: all of cmp_entry's but the impl, then the impl. */
static int cmp_ref_key(const struct entry *a, const struct entry *b)
{
	int c = strcmp(a->group, b->group);

	if (c || (c = strcmp(a->params, b->params)) || (c = strcmp(a->placement, b->placement)))
		return c;
	if (a->nm.threads != b->nm.threads)
		return a->nm.threads < b->nm.threads ? -1 : 1;
	if (a->items != b->items)
		return a->items ? 1 : -1;
	return strcmp(a->nm.impl, b->nm.impl);
}

static int cmp_ref_ptr(const void *x, const void *y)
{
	const struct entry *a = *(const struct entry *const *)x,
			   *b = *(const struct entry *const *)y;
	int c = cmp_ref_key(a, b);

	return c ? c : (a > b) - (a < b); /* equal keys: the first collected first */
}

/*
 * Each entry's speedup over its reference: the first entry (in collection order) with the same
 * group, params, placement, threads and metric whose impl is the group's reference. A binary
 * search over the entries sorted by that key, so n entries cost n log n, not n^2.
 * @return 0 or -ENOMEM.
 */
static int set_ratios(struct entry *e, long n)
{
	const struct entry **by = malloc(((size_t)n + 1) * sizeof(*by));

	if (!by)
		return -ENOMEM;
	for (long i = 0; i < n; i++)
		by[i] = &e[i];
	qsort(by, (size_t)n, sizeof(*by), cmp_ref_ptr);
	for (long i = 0; i < n; i++) {
		struct entry want = e[i];
		long lo = 0, hi = n;

		if (!e[i].ref)
			continue;
		snprintf(want.nm.impl, sizeof(want.nm.impl), "%s", e[i].ref);
		while (lo < hi) { /* the first entry not below want */
			long mid = lo + (hi - lo) / 2;

			if (cmp_ref_key(by[mid], &want) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < n && cmp_ref_key(by[lo], &want) == 0) {
			e[i].ratio = e[i].items ? e[i].med / by[lo]->med : by[lo]->med / e[i].med;
			if (e[i].p50 > 0 && !isnan(by[lo]->p50))
				e[i].p50_ratio = by[lo]->p50 / e[i].p50;
		}
	}
	free(by);
	return 0;
}

/* Collect one entry per benchmark name; @return how many, or -ENOMEM. */
static long collect(const json_t *root, const struct iob_catalogue *cat, const struct iob_index *ix,
		    struct entry **out)
{
	struct iob_sample_set items = { 0 }, rt = { 0 }, p99 = { 0 }, p50 = { 0 },
			      lk[NLOCK] = { 0 };
	long n = 0;
	struct entry *e = NULL;
	int err = iob_results_samples(ix, "items_per_second", &items);

	err = err ? err : iob_results_samples(ix, "real_time", &rt);
	err = err ? err : iob_results_samples(ix, "p99_ns", &p99);
	err = err ? err : iob_results_samples(ix, "p50_ns", &p50);
	for (int k = 0; k < NLOCK && !err; k++)
		err = iob_results_samples(ix, lock_fields[k], &lk[k]);
	if (err || !(e = calloc((size_t)rt.n + 1, sizeof(*e))))
		goto nomem;
	for (long i = 0; i < rt.n; i++) {
		struct entry *x = &e[n];
		const json_t *row = rt.s[i].bench->first_iteration;
		const struct iob_samples *s = iob_samples_find(&items, rt.s[i].name);
		const struct iob_samples *q = iob_samples_find(&p99, rt.s[i].name);
		double scale = 1;

		x->name = rt.s[i].name;
		if (iob_name_parse(x->name, &x->nm)) {
			/* Not family/scenario/impl: show it under its own name. */
			snprintf(x->nm.family, sizeof(x->nm.family), "%s", x->name);
			snprintf(x->nm.scenario, sizeof(x->nm.scenario), "-");
			snprintf(x->nm.impl, sizeof(x->nm.impl), "-");
		}
		snprintf(x->group, sizeof(x->group), "%s/%s", x->nm.family, x->nm.scenario);
		split_placement(x, row);
		x->items = s != NULL;
		if (!s) {
			s = &rt.s[i];
			scale = iob_time_unit_ns(
				json_string_value(json_object_get(row, "time_unit")));
		}
		x->n = s->n;
		x->med =
			iob_median(s->v, s->n) * scale; /* sorts: v[0] and v[n - 1] are the range */
		x->lo = s->v[0] * scale;
		x->hi = s->v[s->n - 1] * scale;
		x->p99 = q ? iob_median(q->v, q->n) : NAN;
		q = iob_samples_find(&p50, rt.s[i].name);
		x->p50 = q ? iob_median(q->v, q->n) : NAN;
		x->p50_ratio = NAN;
		x->ratio = NAN;
		x->ref = iob_reference_impl(root, cat, x->group);
		x->lock = iob_bench_is_lock(rt.s[i].bench);
		for (int k = 0; k < NLOCK; k++) {
			const struct iob_samples *l = iob_samples_find(&lk[k], x->name);

			x->lk[k] = l ? iob_median(l->v, l->n) : NAN;
		}
		n++;
	}
	if (set_ratios(e, n))
		goto nomem;
	qsort(e, (size_t)n, sizeof(*e), cmp_entry);
	iob_samples_free(&items);
	iob_samples_free(&rt);
	iob_samples_free(&p99);
	iob_samples_free(&p50);
	for (int k = 0; k < NLOCK; k++)
		iob_samples_free(&lk[k]);
	*out = e;
	return n;
nomem:
	iob_samples_free(&items);
	iob_samples_free(&rt);
	iob_samples_free(&p99);
	iob_samples_free(&p50);
	for (int k = 0; k < NLOCK; k++)
		iob_samples_free(&lk[k]);
	free(e);
	return -ENOMEM;
}

/*
 * Context values are free text from a file that may come from elsewhere: they are printed through
 * iob_escape() (control characters as \n, \x1b, \u009b), never raw. Names passed the loader's
 * grammar (no control characters) and are escaped all the same.
 */
static const char *ctx_str(char *buf, size_t len, const json_t *ctx, const char *key)
{
	const char *s = json_string_value(json_object_get(ctx, key));

	return iob_escape(buf, len, s ? s : "?");
}

/* The run's id: iobench_run_id, else the folder's name. */
static void run_id(const json_t *ctx, const char *path, char *buf, size_t len)
{
	const char *id = json_string_value(json_object_get(ctx, "iobench_run_id"));
	const char *slash = strrchr(path, '/');

	if (id) {
		snprintf(buf, len, "%s", id);
	} else if (slash && strcmp(slash + 1, "results.json") == 0) {
		const char *start = slash;

		while (start > path && start[-1] != '/')
			start--;
		snprintf(buf, len, "%.*s", (int)(slash - start), start);
		if (!*buf)
			snprintf(buf, len, ".");
	} else {
		snprintf(buf, len, "%s", path);
	}
}

/*
 * The lock table (a group whose rows carry a lock marker). Widths as the standard table's where
 * the columns are the same; the spread of the throughput is in --json (min, max).
 */
static void print_lock_header(int wl)
{
	printf("  jain 10ms: min of Jain's index over 10 ms windows (1 = fair); consec: share of "
	       "acquisitions by the previous owner;\n"
	       "  wait: call to ownership; handover: release to the next owner running; per "
	       "million (cpu) and thousand (ctxsw) acquisitions\n");
	printf("  %-*s %7s %-12s %12s %8s %9s %7s %10s %10s %10s %12s %10s %10s %3s\n", wl,
	       "impl/params", "threads", "placement", "median", "vs ref", "jain 10ms", "consec",
	       "wait p99", "wait p99.9", "wait max", "handover p50", "cpu s/Macq", "ctxsw/kacq",
	       "n");
}

enum num_style { NUM_FIXED3, NUM_PERCENT, NUM_G3 };

/* @p v as "0.998", "89.1%" (a share) or "%.3g", or "-" when not measured. */
static const char *fmt_num(char *buf, size_t len, enum num_style style, double v)
{
	if (isnan(v))
		snprintf(buf, len, "-");
	else if (style == NUM_FIXED3)
		snprintf(buf, len, "%.3f", v);
	else if (style == NUM_PERCENT)
		snprintf(buf, len, "%.1f%%", v * 100);
	else
		snprintf(buf, len, "%.3g", v);
	return buf;
}

static void print_lock_row(int wl, const struct entry *e, const char *label, const char *placement,
			   const char *med, const char *ratio, const char *p99)
{
	char jain[32], consec[32], p999[32], max[32], hand[32], cpu[32], ctxsw[32];

	iob_fmt_metric(p999, sizeof(p999), false, e->lk[L_P999], 3, true);
	iob_fmt_metric(max, sizeof(max), false, e->lk[L_MAX], 3, true);
	iob_fmt_metric(hand, sizeof(hand), false, e->lk[L_HAND50], 3, true);
	printf("  %-*s %7d %-12s %12s %8s %9s %7s %10s %10s %10s %12s %10s %10s %3zu\n", wl, label,
	       e->nm.threads, placement, med, ratio,
	       fmt_num(jain, sizeof(jain), NUM_FIXED3, e->lk[L_JAIN_MIN]),
	       fmt_num(consec, sizeof(consec), NUM_PERCENT, e->lk[L_CONSEC]), p99, p999, max, hand,
	       fmt_num(cpu, sizeof(cpu), NUM_G3, e->lk[L_CPU]),
	       fmt_num(ctxsw, sizeof(ctxsw), NUM_G3, e->lk[L_CTXSW]), e->n);
}

/* The latency table's row: medians of the percentiles; the p50 against the reference's. */
static void print_latency_row(int wl, const struct entry *e, const char *label,
			      const char *placement, const char *p99)
{
	char p50[32], p999[32], max[32], ratio[32];

	iob_fmt_metric(p50, sizeof(p50), false, e->p50, 3, true);
	iob_fmt_metric(p999, sizeof(p999), false, e->lk[L_P999], 3, true);
	iob_fmt_metric(max, sizeof(max), false, e->lk[L_MAX], 3, true);
	if (isnan(e->p50_ratio))
		snprintf(ratio, sizeof(ratio), "-");
	else
		snprintf(ratio, sizeof(ratio), e->p50_ratio < 0.095 ? "%.2gx" : "%.2fx",
			 e->p50_ratio);
	printf("  %-*s %7d %-12s %10s %10s %10s %10s %10s %3zu\n", wl, label, e->nm.threads,
	       placement, p50, p99, p999, max, ratio, e->n);
}

static void print_text(const json_t *root, const char *path, const struct entry *e, long n)
{
	const json_t *ctx = json_object_get(root, "context");
	const json_t *quiet = json_object_get(ctx, "iobench_quiet");
	const json_t *sim = json_object_get(ctx, "iobench_simulated");
	const json_t *cells = json_object_get(ctx, "iobench_cells");
	const char *incomplete = json_string_value(json_object_get(ctx, "iobench_incomplete"));
	size_t i, nerr = 0;
	json_t *row;
	char id[256], b1[1024], b2[1024];
	int wl = 14;

	run_id(ctx, path, id, sizeof(id));
	printf("run        %s (%s)\n", iob_escape(b1, sizeof(b1), id),
	       iob_escape(b2, sizeof(b2), path));
	printf("sha        %s\n", ctx_str(b1, sizeof(b1), ctx, "iobench_git_sha"));
	printf("host       %s, %s\n", ctx_str(b1, sizeof(b1), ctx, "host_name"),
	       ctx_str(b2, sizeof(b2), ctx, "iobench_cpu_model"));
	printf("quiet      %s (%s)\n",
	       json_is_true(quiet)    ? "yes"
	       : json_is_false(quiet) ? "no"
				      : "unknown",
	       ctx_str(b1, sizeof(b1), ctx, "iobench_quiet_reason"));
	printf("simulated  %s\n",
	       json_is_true(sim) ? "yes (topology plan only, nothing pinned)" : "no");
	if (json_is_array(cells)) {
		size_t done = 0, err = 0, pending = 0;
		json_t *c;

		json_array_foreach(cells, i, c)
		{
			const char *st = json_string_value(json_object_get(c, "status"));

			if (st && strcmp(st, "done") == 0)
				done++;
			else if (st && strcmp(st, "error") == 0)
				err++;
			else
				pending++;
		}
		printf("cells      %zu: %zu done, %zu error, %zu pending\n", json_array_size(cells),
		       done, err, pending);
	}
	json_array_foreach(json_object_get(root, "benchmarks"), i, row) nerr +=
		json_is_true(json_object_get(row, "error_occurred"));
	if (incomplete && *incomplete)
		printf("incomplete %s\n", iob_escape(b1, sizeof(b1), incomplete));
	if (nerr) {
		printf("incomplete cells: %zu\n", nerr);
		json_array_foreach(json_object_get(root, "benchmarks"), i, row)
		{
			const char *msg;

			if (!json_is_true(json_object_get(row, "error_occurred")))
				continue;
			msg = json_string_value(json_object_get(row, "error_message"));
			printf("  %s: %s\n",
			       iob_escape(b1, sizeof(b1),
					  json_string_value(json_object_get(row, "name"))),
			       iob_escape(b2, sizeof(b2), msg ? msg : "error"));
		}
	}
	for (long k = 0; k < n; k++) {
		int w = (int)strlen(e[k].nm.impl) +
			(*e[k].params ? 1 + (int)strlen(e[k].params) : 0);

		if (w > wl)
			wl = w;
	}
	for (long k = 0, lock = 0, lat = 0; k < n; k++) {
		char med[32], lo[32], hi[32], spread[72], p99[32], ratio[32], label[200];

		if (k == 0 || strcmp(e[k].group, e[k - 1].group)) {
			lock = lat = 0; /* the lock table when any benchmark is a lock's */
			for (long j = k; j < n && strcmp(e[j].group, e[k].group) == 0; j++) {
				lock |= e[j].lock;
				lat |= !isnan(e[j].p50);
			}
			printf("\n%s (reference: %s)\n", iob_escape(b1, sizeof(b1), e[k].group),
			       iob_escape(b2, sizeof(b2), e[k].ref ? e[k].ref : "none"));
			if (lock)
				print_lock_header(wl);
			else if (lat)
				printf("  %-*s %7s %-12s %10s %10s %10s %10s %10s %3s\n", wl,
				       "impl/params", "threads", "placement", "p50", "p99", "p99.9",
				       "max", "p50 vs ref", "n");
			else
				printf("  %-*s %7s %-12s %12s %25s %10s %8s %3s\n", wl,
				       "impl/params", "threads", "placement", "median",
				       "spread (min-max)", "p99", "vs ref", "n");
		}
		snprintf(label, sizeof(label), "%s%s%s", e[k].nm.impl, *e[k].params ? "/" : "",
			 e[k].params);
		iob_fmt_metric(med, sizeof(med), e[k].items, e[k].med, 3, true);
		iob_fmt_metric(lo, sizeof(lo), e[k].items, e[k].lo, 3, true);
		iob_fmt_metric(hi, sizeof(hi), e[k].items, e[k].hi, 3, true);
		snprintf(spread, sizeof(spread), "%s - %s", lo, hi);
		iob_fmt_metric(p99, sizeof(p99), false, e[k].p99, 3, true);
		if (isnan(e[k].ratio))
			snprintf(ratio, sizeof(ratio), "-");
		else if (e[k].ratio < 0.095) /* a collapse of 500x is 0.002x, not 0.00x */
			snprintf(ratio, sizeof(ratio), "%.2gx", e[k].ratio);
		else
			snprintf(ratio, sizeof(ratio), "%.2fx", e[k].ratio);
		if (lock) {
			print_lock_row(wl, &e[k], iob_escape(b1, sizeof(b1), label),
				       iob_escape(b2, sizeof(b2), e[k].placement), med, ratio, p99);
			continue;
		}
		if (lat) {
			print_latency_row(wl, &e[k], iob_escape(b1, sizeof(b1), label),
					  iob_escape(b2, sizeof(b2), e[k].placement), p99);
			continue;
		}
		printf("  %-*s %7d %-12s %12s %25s %10s %8s %3zu\n", wl,
		       iob_escape(b1, sizeof(b1), label), e[k].nm.threads,
		       iob_escape(b2, sizeof(b2), e[k].placement), med, spread, p99, ratio, e[k].n);
	}
	if (n == 0)
		printf("\n(no benchmark rows without errors)\n");
}

static json_t *num_or_null(double v)
{
	return isnan(v) ? json_null() : json_real(v);
}

/* A lock benchmark's medians by counter name (null: not measured); JSON null for the others. */
static json_t *lock_json(const struct entry *e)
{
	json_t *o;

	if (!e->lock)
		return json_null();
	o = json_object();
	for (int k = 0; o && k < NLOCK; k++)
		if (json_object_set_new(o, lock_fields[k], num_or_null(e->lk[k]))) {
			json_decref(o);
			return NULL;
		}
	return o;
}

static int print_json(const json_t *root, const char *path, const struct entry *e, long n)
{
	static const char *const keys[][2] = {
		{ "git_sha", "iobench_git_sha" },
		{ "host", "host_name" },
		{ "cpu", "iobench_cpu_model" },
		{ "quiet", "iobench_quiet" },
		{ "quiet_reason", "iobench_quiet_reason" },
		{ "simulated", "iobench_simulated" },
	};
	const json_t *ctx = json_object_get(root, "context");
	json_t *out = json_object(), *rows = json_array(), *errs = json_array(), *row;
	char id[256], *text;
	size_t i;
	int rc = 0;

	if (!out || !rows || !errs)
		goto nomem;
	run_id(ctx, path, id, sizeof(id));
	json_array_foreach(json_object_get(root, "benchmarks"), i, row)
	{
		if (json_is_true(json_object_get(row, "error_occurred")))
			json_array_append_new(
				errs,
				json_pack("{s:O?, s:O?}", "name", json_object_get(row, "name"),
					  "error_message", json_object_get(row, "error_message")));
	}
	for (long k = 0; k < n; k++) {
		json_t *r = json_pack(
			"{s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:o, s:o, s:o, "
			"s:I, s:o, s:o, s:s?, s:o}",
			"name", e[k].name, "group", e[k].group, "impl", e[k].nm.impl, "params",
			e[k].params, "threads", e[k].nm.threads, "placement", e[k].placement,
			"metric", e[k].items ? "items_per_second" : "real_time", "unit",
			e[k].items ? "items/s" : "ns", "median", num_or_null(e[k].med), "min",
			num_or_null(e[k].lo), "max", num_or_null(e[k].hi), "samples",
			(json_int_t)e[k].n, "p99_ns", num_or_null(e[k].p99), "p50_ns",
			num_or_null(e[k].p50), "reference", e[k].ref, "speedup_vs_reference",
			num_or_null(e[k].ratio));

		if (!r || json_array_append_new(rows, r) ||
		    json_object_set_new(r, "lock", lock_json(&e[k])))
			goto nomem;
	}
	if (json_object_set_new(out, "run", json_string(id)) ||
	    json_object_set_new(out, "path", json_string(path)))
		goto nomem;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		json_t *v = json_object_get(ctx, keys[i][1]);

		if (json_object_set_new(out, keys[i][0], v ? json_incref(v) : json_null()))
			goto nomem;
	}
	if (json_object_set(out, "errors", errs) || json_object_set(out, "benchmarks", rows))
		goto nomem;
	/* jansson escapes C0 controls; ENSURE_ASCII escapes C1 (and all non-ASCII), and DEL, which
	 * JSON allows raw and can only occur inside a string, is escaped here. */
	text = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
	if (!text)
		goto nomem;
	for (const char *t = text; *t; t++)
		if (*t == 0x7f ? fputs("\\u007f", stdout) == EOF : putchar(*t) == EOF)
			rc = -EIO;
	if (putchar('\n') == EOF)
		rc = -EIO;
	free(text);
	json_decref(out);
	json_decref(rows);
	json_decref(errs);
	return rc;
nomem:
	json_decref(out);
	json_decref(rows);
	json_decref(errs);
	return -ENOMEM;
}

int iob_cmd_show(int argc, char **argv)
{
	enum { O_JSON = 1, O_HELP };
	static const struct option opts[] = {
		{ "json", no_argument, NULL, O_JSON },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	struct iob_run_path run;
	char err[4096];
	const char *path;
	bool as_json = false;
	struct entry *e = NULL;
	struct iob_index ix;
	struct iob_catalogue *cat;
	json_t *root;
	long n;
	int c, rc;

	iob_opt_begin();
	while ((c = iob_opt_next("show", argc, argv, NULL, opts)) != -1) {
		switch (c) {
		case O_JSON:
			as_json = true;
			break;
		case O_HELP:
			return iob_print_usage(show_usage);
		default:
			return IOB_EXIT_USAGE;
		}
	}
	if (argc - optind != 1)
		return iob_usage_error("show", "expected one RUN, got %d", argc - optind);
	if (iob_run_resolve(argv[optind], &run, err, sizeof(err))) {
		fprintf(stderr, "iobench: %s\n", err);
		return IOB_EXIT_USAGE;
	}
	path = run.file;
	root = iob_results_load(path, err, sizeof(err));
	if (!root) {
		fprintf(stderr, "iobench: %s\n", err);
		return IOB_EXIT_USAGE;
	}
	cat = iob_catalogue_for_run(root);
	n = iob_index_build(root, &ix) ? -ENOMEM : collect(root, cat, &ix, &e);
	if (n < 0) {
		fprintf(stderr, "iobench: out of memory\n");
		iob_index_free(&ix);
		iob_catalogue_free(cat);
		json_decref(root);
		return IOB_EXIT_FAIL;
	}
	if (as_json) {
		rc = print_json(root, path, e, n) ? IOB_EXIT_FAIL : IOB_EXIT_OK;
	} else {
		print_text(root, path, e, n);
		rc = fflush(stdout) ? IOB_EXIT_FAIL : IOB_EXIT_OK;
	}
	free(e);
	iob_index_free(&ix);
	iob_catalogue_free(cat); /* after the output: e[].ref may point into it */
	json_decref(root);
	return rc;
}
