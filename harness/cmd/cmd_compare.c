/*
 * iobench compare A B: per benchmark present in both runs, the medians, the change and a
 * two-sided Mann-Whitney U test over the iteration rows (the repetitions) of each side.
 *
 *   metric   items_per_second when both sides count items (higher is better), else real_time
 *            in ns (lower is better)
 *   change   (median B - median A) / median A, in %
 *   p        iob_mannwhitney(samples A, samples B): scipy.stats.mannwhitneyu(a, b,
 *            alternative='two-sided', method='auto')
 *   verdict  improved / regressed when p < alpha and |change| >= threshold (the direction from
 *            the metric), same otherwise; "n/a (need >= 2 samples)" when a side has fewer than 2
 *
 * It reports; it does not block: the exit status is 0 whatever the verdicts (the gate blocks).
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "locate.h"
#include "results.h"
#include "stats.h"

static const char compare_usage[] =
	"usage: iobench compare [--alpha P] [--threshold PCT] A B\n"
	"Compare two runs (run folders, results.json files or run names under results/),\n"
	"benchmark by benchmark: median of A, median of B, change %, the two-sided Mann-Whitney U\n"
	"p-value over the repetitions and a verdict. The metric is items/s (higher is better)\n"
	"when both runs count items, else real time (lower is better). Benchmarks in one run\n"
	"only are listed as added / removed.\n"
	"Exit status 0 whatever the verdicts (iobench gate is the check that blocks).\n"
	"\n"
	"  --alpha P        significance level (default 0.05)\n"
	"  --threshold PCT  smallest change that counts, in % (default 5)\n";

struct side {
	struct iob_run_path run;
	const char *path; /* run.file */
	json_t *root;
	struct iob_index ix;
	struct iob_sample_set items, rt;
	const struct iob_bench **names; /* see names_of(); NULL-terminated */
};

/* Scale of the time unit of @p b's first row (any kind), to ns. */
static double unit_ns(const struct iob_bench *b)
{
	return iob_time_unit_ns(json_string_value(json_object_get(b->first, "time_unit")));
}

/*
 * The benchmarks of a run that have an iteration row (an error row counts), in first-seen order;
 * NULL-terminated.
 */
static const struct iob_bench **names_of(const struct iob_index *ix)
{
	const struct iob_bench **v = calloc(ix->n + 1, sizeof(*v));
	size_t n = 0;

	if (!v)
		return NULL;
	for (size_t i = 0; i < ix->n; i++) {
		for (size_t k = 0; k < ix->bench[i].nrows; k++) {
			const char *type = json_string_value(
				json_object_get(ix->bench[i].rows[k], "run_type"));

			if (!type || strcmp(type, "iteration") == 0) {
				v[n++] = &ix->bench[i];
				break;
			}
		}
	}
	return v;
}

/* Whether @p name is among @p s's names_of(). */
static bool has_name(const struct side *s, const char *name)
{
	const struct iob_bench *b = iob_index_find(&s->ix, name);

	if (!b)
		return false;
	for (size_t k = 0; k < b->nrows; k++) {
		const char *type = json_string_value(json_object_get(b->rows[k], "run_type"));

		if (!type || strcmp(type, "iteration") == 0)
			return true;
	}
	return false;
}

static int load_side(struct side *s, const char *arg)
{
	char err[4096];

	if (iob_run_resolve(arg, &s->run, err, sizeof(err))) {
		fprintf(stderr, "iobench: %s\n", err);
		return -EINVAL;
	}
	s->path = s->run.file;
	s->root = iob_results_load(s->path, err, sizeof(err));
	if (!s->root) {
		fprintf(stderr, "iobench: %s\n", err);
		return -EINVAL;
	}
	if (iob_index_build(s->root, &s->ix) ||
	    iob_results_samples(&s->ix, "items_per_second", &s->items) ||
	    iob_results_samples(&s->ix, "real_time", &s->rt) || !(s->names = names_of(&s->ix))) {
		fprintf(stderr, "iobench: out of memory\n");
		return -ENOMEM;
	}
	return 0;
}

static void free_side(struct side *s)
{
	free(s->names);
	iob_samples_free(&s->items);
	iob_samples_free(&s->rt);
	iob_index_free(&s->ix);
	json_decref(s->root);
}

int iob_cmd_compare(int argc, char **argv)
{
	enum { O_ALPHA = 1, O_THRESHOLD, O_HELP };
	static const struct option opts[] = {
		{ "alpha", required_argument, NULL, O_ALPHA },
		{ "threshold", required_argument, NULL, O_THRESHOLD },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	double alpha = 0.05, threshold = 5;
	struct side a = { 0 }, b = { 0 };
	size_t improved = 0, regressed = 0, same = 0, na_count = 0, added = 0, removed = 0;
	int c, rc = IOB_EXIT_USAGE, wn = 9;

	iob_opt_begin();
	while ((c = iob_opt_next("compare", argc, argv, NULL, opts)) != -1) {
		switch (c) {
		case O_ALPHA:
			if (iob_parse_double(optarg, 0, 1, &alpha))
				return iob_bad_value("compare", "--alpha", "in [0, 1]", optarg);
			break;
		case O_THRESHOLD:
			if (iob_parse_double(optarg, 0, 1e9, &threshold))
				return iob_bad_value("compare", "--threshold", "a percentage >= 0",
						     optarg);
			break;
		case O_HELP:
			return iob_print_usage(compare_usage);
		default:
			return IOB_EXIT_USAGE;
		}
	}
	if (argc - optind != 2)
		return iob_usage_error("compare", "expected two runs A B, got %d", argc - optind);
	if (load_side(&a, argv[optind]) || load_side(&b, argv[optind + 1]))
		goto out;
	for (const struct iob_bench **p = a.names; *p; p++)
		if ((int)strlen((*p)->name) > wn)
			wn = (int)strlen((*p)->name);
	printf("A: %s\nB: %s\n", a.path, b.path);
	printf("verdict: p < %g and |change| >= %g %%; items/s higher is better, time lower\n\n",
	       alpha, threshold);
	printf("%-*s %-7s %12s %12s %9s %10s  %s\n", wn, "benchmark", "metric", "median A",
	       "median B", "change", "p", "verdict");
	for (const struct iob_bench **pb = a.names; *pb; pb++) {
		const char *const *p = &(*pb)->name;
		const struct iob_samples *ia, *ib, *sa, *sb;
		char ma[32] = "-", mb[32] = "-", ch[32] = "-", pv[32] = "-";
		const char *verdict;
		bool items;
		double scale_a = 1, scale_b = 1;

		if (!has_name(&b, *p))
			continue;
		ia = iob_samples_find(&a.items, *p);
		ib = iob_samples_find(&b.items, *p);
		items = ia && ib;
		if (items) {
			sa = ia;
			sb = ib;
		} else {
			sa = iob_samples_find(&a.rt, *p);
			sb = iob_samples_find(&b.rt, *p);
			scale_a = unit_ns(*pb);
			scale_b = unit_ns(iob_index_find(&b.ix, *p));
		}
		if (!sa || !sb || sa->n < 2 || sb->n < 2) {
			verdict = "n/a (need >= 2 samples)";
			na_count++;
			if (sa)
				iob_fmt_metric(ma, sizeof(ma), items,
					       iob_median(sa->v, sa->n) * scale_a, 4, false);
			if (sb)
				iob_fmt_metric(mb, sizeof(mb), items,
					       iob_median(sb->v, sb->n) * scale_b, 4, false);
		} else {
			struct iob_utest t;
			double x[2], change;
			double *va = malloc(sa->n * sizeof(double)),
			       *vb = malloc(sb->n * sizeof(double));

			if (!va || !vb) {
				free(va);
				free(vb);
				fprintf(stderr, "iobench: out of memory\n");
				rc = IOB_EXIT_FAIL;
				goto out;
			}
			for (size_t i = 0; i < sa->n; i++)
				va[i] = sa->v[i] * scale_a;
			for (size_t i = 0; i < sb->n; i++)
				vb[i] = sb->v[i] * scale_b;
			if (iob_mannwhitney(va, sa->n, vb, sb->n, &t)) {
				free(va);
				free(vb);
				fprintf(stderr, "iobench: %s: cannot test (NaN sample?)\n", *p);
				rc = IOB_EXIT_FAIL;
				goto out;
			}
			x[0] = iob_median(va, sa->n);
			x[1] = iob_median(vb, sb->n);
			free(va);
			free(vb);
			change = (x[1] - x[0]) / x[0] * 100;
			iob_fmt_metric(ma, sizeof(ma), items, x[0], 4, false);
			iob_fmt_metric(mb, sizeof(mb), items, x[1], 4, false);
			snprintf(ch, sizeof(ch), "%+.1f%%", change);
			snprintf(pv, sizeof(pv), "%.4g", t.p);
			if (t.p < alpha && fabs(change) >= threshold) {
				bool better = items ? change > 0 : change < 0;

				verdict = better ? "improved" : "regressed";
				if (better)
					improved++;
				else
					regressed++;
			} else {
				verdict = "same";
				same++;
			}
		}
		printf("%-*s %-7s %12s %12s %9s %10s  %s\n", wn, *p, items ? "items/s" : "time", ma,
		       mb, ch, pv, verdict);
	}
	for (const struct iob_bench **p = a.names; *p; p++)
		if (!has_name(&b, (*p)->name)) {
			printf("removed: %s (only in A)\n", (*p)->name);
			removed++;
		}
	for (const struct iob_bench **p = b.names; *p; p++)
		if (!has_name(&a, (*p)->name)) {
			printf("added: %s (only in B)\n", (*p)->name);
			added++;
		}
	printf("summary: %zu compared: %zu improved, %zu regressed, %zu same, %zu n/a; %zu added, "
	       "%zu removed\n",
	       improved + regressed + same + na_count, improved, regressed, same, na_count, added,
	       removed);
	rc = fflush(stdout) ? IOB_EXIT_FAIL : IOB_EXIT_OK;
out:
	free_side(&a);
	free_side(&b);
	return rc;
}
