/*
 * A run's figures, rendered with gnuplot into RUN/plots/ (PNG and SVG): `iobench plot` and the
 * end of `iobench run` (harness/lib/plot.h).
 *
 * The C side reads RUN/results.json (harness/results.h: samples per benchmark, medians) and
 * reduces it to one data file per figure in RUN/plots/data/<figure>.dat (whitespace separated,
 * '#' header, one block per implementation, blocks separated by two blank lines so gnuplot's
 * `index i` picks one) plus a driver script RUN/plots/data/<figure>.gp that sets the figure's
 * variables and loads a template from plots/ (colours and styles in plots/common.gp). gnuplot runs
 * once per figure as a child (iob_spawn_wait: no shell, and it dies with us) and writes the
 * figure with the pngcairo and svg terminals under temporary names; they are renamed into place
 * only when gnuplot succeeded, so a failed figure never replaces a good one. gnuplot's stderr
 * goes to data/<figure>.log (kept and shown when it fails).
 *
 * Figures (names: '/' -> '_', ':' -> '-'):
 *   throughput_<family>_<scenario>[_<params>]  median over repetitions against threads, min..max
 *       error bars, one line per implementation; items_per_second (M items/s) when the rows have
 *       it, else real_time (ns per iteration)
 *   ratio_<family>_<scenario>[_<params>]  median / reference median at each thread count (for a
 *       time metric, reference / median, so > 1 always means faster than the reference); the
 *       reference comes from context "iobench_references", else the built-in table
 *   latency_<family>_<scenario>[_<params>]_threads-<N>  percentile spectrum from the run's
 *       latency/<name>.csv files, or, when the group has none, the p50/p99/p99.9/max counters
 * and for a lock group (a benchmark's rows carry a lock marker, iob_bench_is_lock):
 *   fairness_<family>_<scenario>[_<params>]  three panels over the thread counts, one bar per
 *       implementation: the throughput, jain_min_10ms and consec (plots/fairness.gp)
 *   wait_<family>_<scenario>[_<params>]_threads-<N>  the latency figure under a lock's name: the
 *       wait's spectrum from latency/<name>.csv, else its p50/p99/p99.9/max counters and the
 *       handover's p50/p99 (plots/wait_counters.gp)
 * calib rows (machine calibration) are not plotted.
 *
 * Templates and gnuplot: iob_locate_plots() and iob_locate_tool() (harness/lib/locate.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalogue.h"
#include "locate.h"
#include "palette.h"
#include "plot.h"
#include "proc.h"
#include "quote.h"
#include "results.h"

struct point {
	char group[224]; /* "queue/pairs" or "queue/pairs/pause:50-150" */
	char famscen[128];
	char impl[64];
	int threads;
	const char *name; /* borrowed from the document */
	double med, lo, hi;
	size_t reps;
	bool ips; /* items_per_second (else real_time in ns) */
};

struct points {
	struct point *p;
	size_t n;
};

struct plot_ctx {
	char run[PATH_MAX];   /* the run folder */
	char plots[PATH_MAX]; /* run/plots */
	char data[PATH_MAX];  /* run/plots/data */
	char tpl[PATH_MAX];   /* templates */
	char gnuplot[PATH_MAX];
	char footer[768];
	json_t *root;
	struct iob_catalogue *cat;   /* references for a run that records none; else NULL */
	struct iob_palette *palette; /* colours of every implementation the run names */
	struct iob_index ix;	     /* root's rows by name */
	int figures, failed;
};

/* --- output files ---------------------------------------------------------------------------- */

/* A file written under a temporary name and renamed into place on commit. */
struct afile {
	FILE *f;
	char tmp[PATH_MAX];
	char path[PATH_MAX];
};

static int afile_open(struct afile *a, const char *dir, const char *name)
{
	int fd;

	if ((size_t)snprintf(a->path, sizeof(a->path), "%s/%s", dir, name) >= sizeof(a->path) ||
	    (size_t)snprintf(a->tmp, sizeof(a->tmp), "%s/.%s.XXXXXX", dir, name) >= sizeof(a->tmp))
		return -ENAMETOOLONG;
	fd = mkstemp(a->tmp);
	if (fd < 0)
		return -errno;
	(void)fchmod(fd, 0644);
	a->f = fdopen(fd, "w");
	if (!a->f) {
		int err = -errno;

		close(fd);
		unlink(a->tmp);
		return err;
	}
	return 0;
}

static int afile_commit(struct afile *a)
{
	int err = 0;

	if (ferror(a->f) || fflush(a->f) || fsync(fileno(a->f)))
		err = errno ? -errno : -EIO;
	if (fclose(a->f) && !err)
		err = -errno;
	a->f = NULL;
	if (!err && rename(a->tmp, a->path))
		err = -errno;
	if (err) {
		unlink(a->tmp);
		fprintf(stderr, "iobench plot: cannot write %s: %s\n", a->path, strerror(-err));
	}
	return err;
}

/*
 * Strings into gnuplot scripts. Every string a driver script holds (names, references, context
 * values for the footer, paths, labels, even our own constants) is written by gp_lit(), as the
 * string expression iob_gp_quote() makes (quote.h: single-quoted runs, a quote as
 * sprintf('%c',39)), and templates use the variables as text only (never as a format, never
 * through eval or @macros). The loader already refused names outside the name grammar; this is
 * the second wall, and the one that holds for free text such as the host name.
 */

/* Write @p v quoted. @return 0, 1 when control characters were replaced, or -ENOMEM. */
static int gp_lit(FILE *f, const char *v)
{
	size_t n = IOB_GP_QUOTE_SIZE(strlen(v));
	char *lit = malloc(n);
	int rc;

	if (!lit)
		return -ENOMEM;
	rc = iob_gp_quote(lit, n, v);
	fputs(lit, f);
	free(lit);
	return rc;
}

/* `key = <v quoted>`. @return as gp_lit(). */
static int gp_str(FILE *f, const char *key, const char *v)
{
	int rc;

	fprintf(f, "%s = ", key);
	rc = gp_lit(f, v);
	fputc('\n', f);
	return rc;
}

/* One colour per implementation the run's rows name, the same in every figure. Past
 * MAX_PALETTE_NAMES distinct names (a hostile file), the rest take their hash's colour. */
#define MAX_PALETTE_NAMES 4096
static int make_palette(struct plot_ctx *c)
{
	const json_t *rows = json_object_get(c->root, "benchmarks"), *row;
	char(*impl)[64] = calloc(MAX_PALETTE_NAMES, sizeof(*impl));
	const char **names = calloc(MAX_PALETTE_NAMES, sizeof(*names));
	struct iob_name nm;
	size_t i, n = 0;
	int err = -ENOMEM;

	if (!impl || !names)
		goto out;
	json_array_foreach(rows, i, row)
	{
		const char *s = json_string_value(json_object_get(row, "name"));
		size_t k;

		if (!s || iob_name_parse(s, &nm))
			continue;
		for (k = 0; k < n && strcmp(impl[k], nm.impl); k++)
			;
		if (k == n && n < MAX_PALETTE_NAMES) {
			memcpy(impl[n], nm.impl, sizeof(impl[n]));
			names[n] = impl[n];
			n++;
		}
	}
	err = iob_palette_build(names, n, &c->palette);
out:
	free(names);
	free(impl);
	return err;
}

/* `colors = '#rrggbb ...'`: the colour of each word of @p impls (palette.h), in order. */
static int gp_colors(FILE *f, const struct iob_palette *pal, const char *impls)
{
	size_t n = strlen(impls), len = 0;
	char *list = malloc(n / 2 * 8 + 9), name[256], color[8];
	int rc;

	if (!list)
		return -ENOMEM;
	list[0] = '\0';
	for (const char *p = impls; *p;) {
		size_t k = strcspn(p, " ");

		if (k && k < sizeof(name)) {
			memcpy(name, p, k);
			name[k] = '\0';
			iob_palette_color(pal, name, color);
			len += (size_t)sprintf(list + len, "%s%s", len ? " " : "", color);
		}
		p += k + (p[k] == ' ');
	}
	rc = gp_str(f, "colors", list);
	free(list);
	return rc;
}

/* A path for gnuplot: its literal must name the same file, so no control characters. */
static int gp_path(FILE *f, const char *key, const char *v)
{
	int rc = gp_str(f, key, v);

	if (rc == 1) {
		fprintf(stderr,
			"iobench plot: path '%s' has a control character; gnuplot cannot be given "
			"it\n",
			key);
		return -EINVAL;
	}
	return rc;
}

/* Whether path @p p reaches gnuplot unchanged (no control characters). */
static bool gp_path_ok(const char *p)
{
	size_t n = IOB_GP_QUOTE_SIZE(strlen(p));
	char *lit = malloc(n);
	int rc = lit ? iob_gp_quote(lit, n, p) : -ENOMEM;

	free(lit);
	return rc == 0;
}

/* The variables of one figure, built in memory (open_memstream) and copied into its driver. */
struct gpvars {
	FILE *f;
	char *buf;
	size_t len;
};

static int vars_open(struct gpvars *v)
{
	v->buf = NULL;
	v->len = 0;
	v->f = open_memstream(&v->buf, &v->len);
	return v->f ? 0 : -ENOMEM;
}

/* @return the text (free it), or NULL when out of memory. */
static char *vars_close(struct gpvars *v)
{
	if (fclose(v->f)) {
		free(v->buf);
		return NULL;
	}
	return v->buf;
}

/* Figure and file names: '/' -> '_', ':' -> '-', anything unusual -> '-'. */
static void mangle(char *dst, size_t len, const char *src)
{
	size_t i = 0;

	for (; *src && i + 1 < len; src++) {
		char ch = *src;

		if (ch == '/')
			ch = '_';
		else if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			   (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == '.'))
			ch = '-';
		dst[i++] = ch;
	}
	dst[i] = '\0';
}

/* --- rendering -------------------------------------------------------------------------------- */

static void show_log(const char *path)
{
	char buf[4096];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	fprintf(stderr, "%s%s", buf, n && buf[n - 1] != '\n' ? "\n" : "");
}

static bool nonempty(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
}

/* Remove what a failed gnuplot may have left under the temporary output names. */
static void drop_tmp_outputs(const struct plot_ctx *c, const char *fig)
{
	char tmp[PATH_MAX];

	if (!iob_fmt(tmp, sizeof(tmp), "%s/.%s.tmp.png", c->plots, fig))
		unlink(tmp);
	if (!iob_fmt(tmp, sizeof(tmp), "%s/.%s.tmp.svg", c->plots, fig))
		unlink(tmp);
}

/*
 * Run gnuplot on the figure's driver script; on success move the temporary PNG and SVG into
 * place. @return 0 or -EIO (a message names the figure and shows gnuplot's stderr).
 */
static int render(struct plot_ctx *c, const char *fig, const char *driver)
{
	char log[PATH_MAX], tmp[PATH_MAX], out[PATH_MAX];
	static const char *const ext[] = { "png", "svg" };
	char *argv[] = { c->gnuplot, (char *)driver, NULL };
	int rc;

	if (iob_fmt(log, sizeof(log), "%s/%s.log", c->data, fig))
		return -ENAMETOOLONG;
	/* Under a keeper (iob_spawn_wait): gnuplot dies with us. stdin is /dev/null, so a stray
	 * `pause` in a template does not wait for a tty. */
	rc = iob_spawn_wait(argv, "/dev/null", log);
	if (rc < 0) {
		fprintf(stderr, "iobench plot: figure '%s': cannot start gnuplot: %s\n", fig,
			strerror(-rc));
		return -EIO;
	}
	if (rc) {
		if (rc > 128)
			fprintf(stderr,
				"iobench plot: figure '%s': gnuplot killed by signal %d (%s); "
				"its messages:\n",
				fig, rc - 128, strsignal(rc - 128));
		else
			fprintf(stderr,
				"iobench plot: figure '%s': gnuplot failed (exit status %d) on "
				"%s; its messages:\n",
				fig, rc, driver);
		show_log(log);
		drop_tmp_outputs(c, fig);
		return -EIO;
	}
	for (int i = 0; i < 2; i++) {
		if (iob_fmt(tmp, sizeof(tmp), "%s/.%s.tmp.%s", c->plots, fig, ext[i]) ||
		    iob_fmt(out, sizeof(out), "%s/%s.%s", c->plots, fig, ext[i]) ||
		    !nonempty(tmp) || rename(tmp, out)) {
			fprintf(stderr,
				"iobench plot: figure '%s': gnuplot wrote no %s (%s); its "
				"messages:\n",
				fig, ext[i], tmp);
			show_log(log);
			drop_tmp_outputs(c, fig);
			return -EIO;
		}
	}
	unlink(log);
	printf("iobench: plotted %s/%s.{png,svg}\n", c->plots, fig);
	return 0;
}

/*
 * Write the driver script of figure @p fig (the variables every template needs, then the
 * figure's own from @p v, which this closes, then `load` of @p tpl) and render it.
 */
static int figure(struct plot_ctx *c, const char *fig, const char *tpl, const char *title,
		  const char *impls, struct gpvars *v)
{
	char name[PATH_MAX], buf[PATH_MAX];
	char *vars = vars_close(v);
	struct afile a;
	int err;

	if (!vars)
		return -ENOMEM;
	snprintf(name, sizeof(name), "%s.gp", fig);
	err = afile_open(&a, c->data, name);
	if (err) {
		fprintf(stderr, "iobench plot: cannot create %s/%s: %s\n", c->data, name,
			strerror(-err));
		free(vars);
		return err;
	}
	/* fig is mangled (A-Z a-z 0-9 _ - .), so it is safe in a comment; paths are not. */
	fprintf(a.f,
		"# iobench plot driver for figure %s (generated; re-run with gnuplot from "
		"the folder iobench plot ran in)\n",
		fig);
	err = gp_path(a.f, "plotsdir", c->tpl);
	(void)iob_fmt(buf, sizeof(buf), "%s/%s.dat", c->data, fig); /* as long as a.path */
	if (err >= 0)
		err = gp_path(a.f, "datafile", buf);
	(void)iob_fmt(buf, sizeof(buf), "%s/.%s.tmp", c->plots, fig);
	if (err >= 0)
		err = gp_path(a.f, "outbase", buf);
	if (err >= 0)
		err = gp_str(a.f, "fig_title", title);
	if (err >= 0)
		err = gp_str(a.f, "fig_footer", c->footer);
	if (err >= 0)
		err = gp_str(a.f, "impls", impls);
	if (err >= 0)
		err = gp_colors(a.f, c->palette, impls);
	fputs(vars, a.f);
	free(vars);
	fputs("load plotsdir . ", a.f);
	if (err >= 0)
		err = gp_lit(a.f, tpl);
	fputc('\n', a.f);
	if (err < 0) {
		fclose(a.f);
		unlink(a.tmp);
		c->failed++;
		return err;
	}
	err = afile_commit(&a);
	if (err)
		return err;
	c->figures++;
	err = render(c, fig, a.path);
	if (err)
		c->failed++;
	return err;
}

/* --- data -------------------------------------------------------------------------------------- */

static int impl_rank(const char *impl)
{
	return strncmp(impl, "iort_", 5) == 0 ? 0 : 1;
}

/* Order: group, our implementations first, implementation name, threads. */
static int cmp_point(const void *a, const void *b)
{
	const struct point *x = a, *y = b;
	int r = strcmp(x->group, y->group);

	if (r)
		return r;
	if (impl_rank(x->impl) != impl_rank(y->impl))
		return impl_rank(x->impl) - impl_rank(y->impl);
	r = strcmp(x->impl, y->impl);
	if (r)
		return r;
	return (x->threads > y->threads) - (x->threads < y->threads);
}

/* Order for latency: group, threads, then as cmp_point. */
static int cmp_point_lat(const void *a, const void *b)
{
	const struct point *x = a, *y = b;
	int r = strcmp(x->group, y->group);

	if (r)
		return r;
	if (x->threads != y->threads)
		return (x->threads > y->threads) - (x->threads < y->threads);
	return cmp_point(a, b);
}

/* Append one point per benchmark with samples of @p field (scaled), skipping calib/ rows. */
static int collect(const struct iob_index *ix, const char *field, bool ips, struct points *pts)
{
	struct iob_sample_set s;
	struct point *np;
	int err = iob_results_samples(ix, field, &s);

	if (err)
		return err;
	np = realloc(pts->p, (pts->n + (size_t)s.n + 1) * sizeof(*np));
	if (!np) {
		iob_samples_free(&s);
		return -ENOMEM;
	}
	pts->p = np;
	for (long i = 0; i < s.n; i++) {
		struct iob_name nm;
		struct point *p;
		double scale;

		if (iob_name_parse(s.s[i].name, &nm) || strcmp(nm.family, "calib") == 0)
			continue;
		p = &pts->p[pts->n++];
		memset(p, 0, sizeof(*p));
		snprintf(p->famscen, sizeof(p->famscen), "%s/%s", nm.family, nm.scenario);
		(void)iob_fmt(p->group, sizeof(p->group), "%s%s%s", p->famscen,
			      *nm.params ? "/" : "", nm.params);
		snprintf(p->impl, sizeof(p->impl), "%s", nm.impl);
		p->threads = nm.threads;
		p->name = s.s[i].name;
		p->ips = ips;
		p->reps = s.s[i].n;
		scale = ips ? 1e-6
			    : iob_time_unit_ns(json_string_value(
				      json_object_get(s.s[i].bench->first, "time_unit")));
		p->med = iob_median(s.s[i].v, s.s[i].n) * scale; /* sorts v */
		p->lo = s.s[i].v[0] * scale;
		p->hi = s.s[i].v[s.s[i].n - 1] * scale;
	}
	iob_samples_free(&s);
	return 0;
}

static int cmp_group(const void *key, const void *elem)
{
	return strcmp(key, ((const struct point *)elem)->group);
}

/* Throughput points: items_per_second where the group has it, else real_time. */
static int throughput_points(const struct iob_index *ix, struct points *out, struct points *all)
{
	struct points rt = { 0 };
	struct point *np;
	size_t n_ips;
	int err = collect(ix, "items_per_second", true, out);

	if (!err)
		err = collect(ix, "real_time", false, &rt);
	np = err ? NULL : realloc(out->p, (out->n + rt.n + 1) * sizeof(*np));
	if (!np) {
		free(rt.p);
		return err ? err : -ENOMEM;
	}
	out->p = np;
	/* Sorted by group first, so a group's items/s points are one binary search away. */
	qsort(out->p, out->n, sizeof(*out->p), cmp_point);
	n_ips = out->n;
	for (size_t i = 0; i < rt.n; i++)
		if (!bsearch(rt.p[i].group, out->p, n_ips, sizeof(*out->p), cmp_group))
			out->p[out->n++] = rt.p[i];
	qsort(out->p, out->n, sizeof(*out->p), cmp_point);
	*all = rt; /* every benchmark (each row has real_time): the latency figures start here */
	return 0;
}

/* "queue/pairs/pause:50-150" -> "queue/pairs  pause:50-150" for titles. */
static void pretty_group(char *dst, size_t len, const char *group, const char *famscen)
{
	const char *params = group + strlen(famscen);

	snprintf(dst, len, "%s", famscen);
	for (; *params; params++) {
		size_t l = strlen(dst);

		if (l + 2 >= len)
			break;
		if (*params == '/') {
			dst[l++] = ' ';
			dst[l++] = ' ';
		} else {
			dst[l++] = *params;
		}
		dst[l] = '\0';
	}
}

/* Thread counts of points [b, e) as "1 2 4", and an x range around them (log 2 axis). */
static void thread_axis(const struct point *p, size_t b, size_t e, char *tics, size_t len,
			double *xlo, double *xhi)
{
	int seen[64], n = 0, lo = INT_MAX, hi = 0;

	tics[0] = '\0';
	for (size_t i = b; i < e; i++) {
		int t = p[i].threads, k;

		for (k = 0; k < n; k++)
			if (seen[k] == t)
				break;
		if (k < n || n == 64)
			continue;
		seen[n++] = t;
		lo = t < lo ? t : lo;
		hi = t > hi ? t : hi;
	}
	/* ascending */
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && seen[j - 1] > seen[j]; j--) {
			int t = seen[j];

			seen[j] = seen[j - 1];
			seen[j - 1] = t;
		}
	for (int i = 0; i < n; i++)
		snprintf(tics + strlen(tics), len - strlen(tics), "%s%d", i ? " " : "", seen[i]);
	/* one thread count: a narrower range, so the points do not sit alone in a wide field */
	*xlo = (lo == INT_MAX ? 1 : lo) / (n > 1 ? 1.5 : 1.25);
	*xhi = (hi ? hi : 1) * (n > 1 ? 1.5 : 1.25);
}

/* Implementation names of points [b, e) in order, space separated. */
static void impl_list(const struct point *p, size_t b, size_t e, char *dst, size_t len)
{
	dst[0] = '\0';
	for (size_t i = b; i < e; i++)
		if (i == b || strcmp(p[i].impl, p[i - 1].impl) != 0)
			snprintf(dst + strlen(dst), len - strlen(dst), "%s%s", *dst ? " " : "",
				 p[i].impl);
}

static int throughput_figure(struct plot_ctx *c, const struct point *p, size_t b, size_t e)
{
	char fig[300], mg[256], pretty[256], title[400], impls[2048], tics[256], dat[320];
	double xlo, xhi, ymin = INFINITY, ymax = 0;
	char note[96];
	size_t reps = 0;
	struct gpvars v;
	struct afile a;
	int err, logy;

	mangle(mg, sizeof(mg), p[b].group);
	snprintf(fig, sizeof(fig), "throughput_%s", mg);
	snprintf(dat, sizeof(dat), "%s.dat", fig);
	err = afile_open(&a, c->data, dat);
	if (err)
		return err;
	fprintf(a.f,
		"# iobench plot data: %s, %s per implementation (one block each)\n"
		"# columns: threads median min max repetitions\n",
		p[b].group, p[b].ips ? "items_per_second / 1e6" : "real_time in ns");
	for (size_t i = b; i < e; i++) {
		if (i == b || strcmp(p[i].impl, p[i - 1].impl) != 0)
			fprintf(a.f, "%s# impl %s\n", i == b ? "" : "\n\n", p[i].impl);
		fprintf(a.f, "%d %.6g %.6g %.6g %zu\n", p[i].threads, p[i].med, p[i].lo, p[i].hi,
			p[i].reps);
		if (p[i].lo > 0 && p[i].lo < ymin)
			ymin = p[i].lo;
		if (p[i].hi > ymax)
			ymax = p[i].hi;
		if (p[i].reps > reps)
			reps = p[i].reps;
	}
	err = afile_commit(&a);
	if (err)
		return err;
	logy = ymax > 0 && isfinite(ymin) && ymax / ymin > 100; /* more than 2 decades */
	thread_axis(p, b, e, tics, sizeof(tics), &xlo, &xhi);
	impl_list(p, b, e, impls, sizeof(impls));
	pretty_group(pretty, sizeof(pretty), p[b].group, p[b].famscen);
	snprintf(title, sizeof(title), "%s: %s against threads", pretty,
		 p[b].ips ? "throughput" : "time per iteration");
	if (vars_open(&v))
		return -ENOMEM;
	gp_str(v.f, "xtics_list", tics);
	fprintf(v.f, "x_lo = %g\nx_hi = %g\nlogy = %d\nyunit_ns = %d\n", xlo, xhi, logy,
		p[b].ips ? 0 : 1);
	gp_str(v.f, "ylabel",
	       p[b].ips ? "throughput (M items/s, higher is better)"
	       : logy	? "real time per iteration (lower is better)"
			: "real time per iteration (ns, lower is better)");
	snprintf(note, sizeof(note), "median of %zu rep%s, bars min..max", reps,
		 reps == 1 ? "" : "s");
	gp_str(v.f, "key_note", note);
	return figure(c, fig, "/throughput.gp", title, impls, &v);
}

static int ratio_figure(struct plot_ctx *c, const struct point *p, size_t b, size_t e)
{
	char fig[300], mg[256], pretty[256], title[400], impls[2048], tics[256], dat[320], color[8];
	const char *ref = iob_reference_impl(c->root, c->cat, p[b].famscen);
	double xlo, xhi, ymin = 1, ymax = 1;
	char note[320];
	struct gpvars v;
	struct point *rp;
	size_t n = 0, rb, re;
	struct afile a;
	int err;

	if (!ref)
		return 0;
	/*
	 * The points other than the reference's that have a reference point at their threads.
	 * [b, e) is sorted by implementation then threads (cmp_point): the reference's points are
	 * one run [rb, re), ordered by threads, searched by bisection.
	 */
	for (rb = b; rb < e && strcmp(p[rb].impl, ref) != 0; rb++)
		;
	for (re = rb; re < e && strcmp(p[re].impl, ref) == 0; re++)
		;
	rp = calloc(e - b, sizeof(*rp));
	if (!rp)
		return -ENOMEM;
	for (size_t i = b; i < e; i++) {
		size_t lo = rb, hi = re;

		if (i >= rb && i < re)
			continue;
		while (lo < hi) { /* the first reference point at >= p[i].threads */
			size_t mid = lo + (hi - lo) / 2;

			if (p[mid].threads < p[i].threads)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (size_t j = lo; j < re && p[j].threads == p[i].threads; j++) {
			if (!(p[j].med > 0) || !(p[i].med > 0))
				continue;
			rp[n] = p[i];
			/* > 1 is always "faster than the reference" */
			rp[n].med = p[i].ips ? p[i].med / p[j].med : p[j].med / p[i].med;
			rp[n].lo = p[j].med; /* the reference's median, for the data file */
			ymin = fmin(ymin, rp[n].med);
			ymax = fmax(ymax, rp[n].med);
			n++;
			break;
		}
	}
	if (n == 0) {
		free(rp);
		return 0;
	}
	mangle(mg, sizeof(mg), p[b].group);
	snprintf(fig, sizeof(fig), "ratio_%s", mg);
	snprintf(dat, sizeof(dat), "%s.dat", fig);
	err = afile_open(&a, c->data, dat);
	if (err) {
		free(rp);
		return err;
	}
	fprintf(a.f,
		"# iobench plot data: %s, median relative to reference %s (>1 = faster)\n"
		"# columns: threads ratio impl_median reference_median (%s)\n",
		p[b].group, ref, p[b].ips ? "M items/s" : "ns");
	for (size_t i = 0; i < n; i++) {
		if (i == 0 || strcmp(rp[i].impl, rp[i - 1].impl) != 0)
			fprintf(a.f, "%s# impl %s\n", i == 0 ? "" : "\n\n", rp[i].impl);
		fprintf(a.f, "%d %.6g %.6g %.6g\n", rp[i].threads, rp[i].med,
			rp[i].ips ? rp[i].med * rp[i].lo : rp[i].lo / rp[i].med, rp[i].lo);
	}
	err = afile_commit(&a);
	if (!err) {
		thread_axis(rp, 0, n, tics, sizeof(tics), &xlo, &xhi);
		impl_list(rp, 0, n, impls, sizeof(impls));
		pretty_group(pretty, sizeof(pretty), p[b].group, p[b].famscen);
		snprintf(title, sizeof(title), "%s: %s relative to %s", pretty,
			 p[b].ips ? "throughput" : "speed", ref);
		err = vars_open(&v);
		if (!err) {
			gp_str(v.f, "xtics_list", tics);
			fprintf(v.f, "x_lo = %g\nx_hi = %g\nlogy = %d\n", xlo, xhi,
				ymax / ymin > 100 ? 1 : 0);
			gp_str(v.f, "reference", ref);
			iob_palette_color(c->palette, ref, color);
			gp_str(v.f, "reference_color", color);
			gp_str(v.f, "ylabel",
			       p[b].ips ? "throughput / reference throughput (>1 = faster)"
					: "reference time / time (>1 = faster)");
			snprintf(note, sizeof(note), "median / median of %s", ref);
			gp_str(v.f, "key_note", note);
			err = figure(c, fig, "/ratio.gp", title, impls, &v);
		}
	}
	free(rp);
	return err;
}

/* --- locks: fairness ---------------------------------------------------------------------------- */

/* Whether any benchmark of points [b, e) is a lock's (iob_bench_is_lock). */
static bool lock_group(const struct plot_ctx *c, const struct point *p, size_t b, size_t e)
{
	for (size_t i = b; i < e; i++)
		if (iob_bench_is_lock(iob_index_find(&c->ix, p[i].name)))
			return true;
	return false;
}

/* The fairness counters drawn beside the throughput: Jain's index over 10 ms windows (its
 * minimum) and consec (the share of acquisitions by the previous owner). */
#define FAIR_N 2
static const char *const fair_fields[FAIR_N] = { "jain_min_10ms", "consec" };

struct fair_samples {
	struct iob_sample_set s[FAIR_N];
};

/* "median min max" of @p s's samples, or "- - -" (gnuplot's missing value) when none. */
static void put_stat(FILE *f, const struct iob_samples *s, double scale)
{
	double *v = s ? malloc(s->n * sizeof(double)) : NULL;

	if (!v) {
		fputs(" - - -", f);
		return;
	}
	memcpy(v, s->v, s->n * sizeof(double));
	double lo = v[0], hi = v[0];
	for (size_t i = 1; i < s->n; i++) {
		lo = v[i] < lo ? v[i] : lo;
		hi = v[i] > hi ? v[i] : hi;
	}
	/* The samples are in run order (iob_median may reorder its copy): min and max by a scan. */
	fprintf(f, " %.6g %.6g %.6g", iob_median(v, s->n) * scale, lo * scale, hi * scale);
	free(v);
}

/*
 * fairness_<group>: for a lock group (iob_bench_is_lock), three panels over the thread counts,
 * one bar per implementation in each: the throughput (the throughput figure's medians), the
 * minimum windowed Jain index and consec (medians over repetitions, bars min..max). A counter no
 * benchmark of the group has leaves its panel saying so; a group with neither is not drawn.
 * [b, e) is one group sorted by implementation then threads (cmp_point).
 */
static int fairness_figure(struct plot_ctx *c, const struct point *p, size_t b, size_t e,
			   const struct fair_samples *fs)
{
	char fig[300], mg[256], pretty[256], title[400], impls[2048], tics[256], dat[320];
	char note[96];
	bool have[FAIR_N] = { false };
	int threads[64], nt = 0;
	double xlo, xhi, ymin = INFINITY, ymax = 0;
	size_t reps = 0;
	struct gpvars v;
	struct afile a;
	int err;

	if (!lock_group(c, p, b, e))
		return 0;
	for (size_t i = b; i < e; i++)
		for (int k = 0; k < FAIR_N; k++)
			have[k] |= iob_samples_find(&fs->s[k], p[i].name) != NULL;
	if (!have[0] && !have[1])
		return 0;
	/* The clusters: the thread counts, ascending (thread_axis's order). */
	thread_axis(p, b, e, tics, sizeof(tics), &xlo, &xhi);
	for (const char *t = tics; *t && nt < 64;) {
		threads[nt++] = atoi(t);
		t += strcspn(t, " ");
		t += *t == ' ';
	}
	mangle(mg, sizeof(mg), p[b].group);
	snprintf(fig, sizeof(fig), "fairness_%s", mg);
	snprintf(dat, sizeof(dat), "%s.dat", fig);
	err = afile_open(&a, c->data, dat);
	if (err)
		return err;
	fprintf(a.f,
		"# iobench plot data: %s, throughput and fairness per implementation (one block "
		"each); '-' = not measured\n"
		"# columns: cluster threads throughput_median min max (%s) "
		"jain_min_10ms_median min max consec_percent_median min max\n",
		p[b].group, p[b].ips ? "M items/s" : "ns");
	for (size_t i = b; i < e; i++) {
		int k = 0;

		while (k < nt && threads[k] != p[i].threads)
			k++;
		if (i == b || strcmp(p[i].impl, p[i - 1].impl) != 0)
			fprintf(a.f, "%s# impl %s\n", i == b ? "" : "\n\n", p[i].impl);
		fprintf(a.f, "%d %d %.6g %.6g %.6g", k, p[i].threads, p[i].med, p[i].lo, p[i].hi);
		put_stat(a.f, iob_samples_find(&fs->s[0], p[i].name), 1);
		put_stat(a.f, iob_samples_find(&fs->s[1], p[i].name), 100);
		fputc('\n', a.f);
		if (p[i].reps > reps)
			reps = p[i].reps;
		if (p[i].lo > 0 && p[i].lo < ymin)
			ymin = p[i].lo;
		if (p[i].hi > ymax)
			ymax = p[i].hi;
	}
	err = afile_commit(&a);
	if (err)
		return err;
	impl_list(p, b, e, impls, sizeof(impls));
	pretty_group(pretty, sizeof(pretty), p[b].group, p[b].famscen);
	snprintf(title, sizeof(title), "%s: throughput and fairness", pretty);
	if (vars_open(&v))
		return -ENOMEM;
	gp_str(v.f, "xtics_list", tics);
	fprintf(v.f, "nclusters = %d\nhave_jain = %d\nhave_consec = %d\nlogy = %d\n", nt, have[0],
		have[1], ymax > 0 && isfinite(ymin) && ymax / ymin > 100);
	gp_str(v.f, "ylabel",
	       p[b].ips ? "throughput (M acquisitions/s, higher is better)"
			: "real time per iteration (ns, lower is better)");
	snprintf(note, sizeof(note), "median of %zu rep%s, bars min..max", reps,
		 reps == 1 ? "" : "s");
	gp_str(v.f, "key_note", note);
	return figure(c, fig, "/fairness.gp", title, impls, &v);
}

/* --- latency ------------------------------------------------------------------------------------ */

static bool csv_path(const struct plot_ctx *c, const char *name, char *path, size_t len)
{
	char mg[512];
	size_t i;

	snprintf(mg, sizeof(mg), "%s", name);
	for (i = 0; mg[i]; i++)
		if (mg[i] == '/')
			mg[i] = '_';
		else if (mg[i] == ':')
			mg[i] = '-';
	return (size_t)snprintf(path, len, "%s/latency/%s.csv", c->run, mg) < len && nonempty(path);
}

/*
 * Copy a HdrHistogram percentile CSV into the data file as "x value_ns percentile" rows
 * (x = 1/(1-percentile); the final 100 % row, at infinity, is left out). The CSV's value unit is
 * not recorded in it: when the benchmark's p50_ns counter is known, a CSV written in us or ms
 * is recognised by its 50th percentile and scaled to ns. @return rows written, or -errno.
 */
/* One data row of the CSV: @return true and the value and percentile (< 1) when it is one. */
static bool csv_row(const char *line, double *v, double *pct)
{
	char *end;

	*v = strtod(line, &end);
	if (end == line || *end != ',') /* the header, or not a data row */
		return false;
	*pct = strtod(end + 1, &end);
	return *end == ',' && *pct >= 0 && *pct < 1 && isfinite(*v);
}

static long copy_csv(const char *path, FILE *out, double p50_ns, double *xmax)
{
	char line[256];
	double scale = 1, v, pct;
	FILE *f = fopen(path, "r");
	long n = 0;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (csv_row(line, &v, &pct) && pct >= 0.5) {
			double r = v > 0 && p50_ns > 0 ? p50_ns / v : 1;

			scale = r > 300 && r < 3000 ? 1e3 : r > 3e5 && r < 3e6 ? 1e6 : 1;
			break;
		}
	}
	rewind(f);
	while (fgets(line, sizeof(line), f)) {
		if (!csv_row(line, &v, &pct))
			continue;
		fprintf(out, "%.6g %.6g %.12f\n", 1 / (1 - pct), v * scale, pct);
		*xmax = fmax(*xmax, 1 / (1 - pct));
		n++;
	}
	fclose(f);
	return n;
}

/* The percentile counters; a lock's (iob_bench_is_lock) add the handover's p50 and p99. */
#define LAT_WAIT 4
#define LAT_LOCK 6
static const char *const lat_fields[LAT_LOCK] = {
	"p50_ns", "p99_ns", "p999_ns", "max_ns", "handover_p50_ns", "handover_p99_ns",
};

struct lat_samples {
	struct iob_sample_set s[LAT_LOCK];
};

static int latency_figure(struct plot_ctx *c, const struct point *p, size_t b, size_t e,
			  const struct lat_samples *ls)
{
	char fig[320], mg[256], pretty[256], title[400], impls[2048] = "", dat[340], csv[PATH_MAX];
	bool spectrum = false, counters = false, lock = lock_group(c, p, b, e), handover = false;
	int nfields = lock ? LAT_LOCK : LAT_WAIT;
	double xmax = 10;
	struct gpvars gv;
	struct afile a;
	int err;

	for (size_t i = b; i < e; i++) {
		spectrum |= csv_path(c, p[i].name, csv, sizeof(csv));
		for (int k = 0; k < nfields; k++)
			if (iob_samples_find(&ls->s[k], p[i].name))
				*(k < LAT_WAIT ? &counters : &handover) = true;
	}
	if (!spectrum && !counters)
		return 0;
	mangle(mg, sizeof(mg), p[b].group);
	/* A lock's latency is its wait (call to ownership): the figure says so in its name. */
	snprintf(fig, sizeof(fig), "%s_%s_threads-%d", lock ? "wait" : "latency", mg, p[b].threads);
	snprintf(dat, sizeof(dat), "%s.dat", fig);
	err = afile_open(&a, c->data, dat);
	if (err)
		return err;
	fprintf(a.f, "# iobench plot data: %s threads:%d, latency %s\n# columns: %s\n", p[b].group,
		p[b].threads,
		spectrum ? "percentile spectrum from latency/*.csv"
			 : "percentiles from the p50/p99/p999/max counters",
		spectrum ? "one_over_one_minus_percentile latency_ns percentile"
		: lock	 ? "category(1=p50 2=p99 3=p99.9 4=max; 6=handover p50 7=handover p99) "
			   "median_ns min_ns max_ns"
			 : "category(1=p50 2=p99 3=p99.9 4=max) median_ns min_ns max_ns");
	for (size_t i = b; i < e; i++) {
		const struct iob_samples *p50 = iob_samples_find(&ls->s[0], p[i].name);
		double p50_ns = NAN;
		long rows = 0;

		if (p50)
			p50_ns = iob_median_copy(p50->v, p50->n);
		if (spectrum) {
			if (!csv_path(c, p[i].name, csv, sizeof(csv)))
				continue;
			fprintf(a.f, "%s# impl %s (%s)\n", *impls ? "\n\n" : "", p[i].impl, csv);
			rows = copy_csv(csv, a.f, p50_ns, &xmax);
			if (rows < 0) {
				fprintf(stderr, "iobench plot: cannot read %s: %s\n", csv,
					strerror((int)-rows));
				rows = 0;
			}
		} else {
			bool broken = false;
			int have = 0;

			for (int k = 0; k < nfields; k++)
				have += iob_samples_find(&ls->s[k], p[i].name) != NULL;
			if (!have)
				continue;
			fprintf(a.f, "%s# impl %s\n", *impls ? "\n\n" : "", p[i].impl);
			for (int k = 0; k < nfields; k++) {
				const struct iob_samples *s =
					iob_samples_find(&ls->s[k], p[i].name);
				double *v;

				if (!s || !(v = malloc(s->n * sizeof(double))))
					continue;
				if (k >= LAT_WAIT && !broken) { /* no line from max to handover */
					fputc('\n', a.f);
					broken = true;
				}
				memcpy(v, s->v, s->n * sizeof(double));
				fprintf(a.f, "%d %.6g %.6g %.6g\n", k < LAT_WAIT ? k + 1 : k + 2,
					iob_median(v, s->n), v[0], v[s->n - 1]);
				free(v);
				rows++;
			}
		}
		if (rows == 0) /* keep the block (gnuplot's index counts it) with one blank row */
			fputs("# no data\n", a.f);
		snprintf(impls + strlen(impls), sizeof(impls) - strlen(impls), "%s%s",
			 *impls ? " " : "", p[i].impl);
	}
	err = afile_commit(&a);
	if (err)
		return err;
	pretty_group(pretty, sizeof(pretty), p[b].group, p[b].famscen);
	snprintf(title, sizeof(title), "%s  threads:%d: %s percentiles%s", pretty, p[b].threads,
		 lock ? "wait (call to ownership)" : "latency", spectrum ? "" : " (from counters)");
	if (vars_open(&gv))
		return -ENOMEM;
	if (lock) {
		gp_str(gv.f, "ylabel", "wait, call to ownership");
		if (!spectrum) /* the handover categories only when some benchmark has them */
			fprintf(gv.f, "handover = %d\n", handover);
	}
	if (spectrum) {
		double top = 10;

		while (top < xmax * 1.01 && top < 1e9)
			top *= 10;
		fprintf(gv.f, "x_hi = %g\n", top);
		gp_str(gv.f, "key_note", "HdrHistogram percentiles");
	} else {
		gp_str(gv.f, "key_note", "median over repetitions, bars min..max");
	}
	return figure(c, fig,
		      spectrum ? "/latency.gp"
		      : lock   ? "/wait_counters.gp"
			       : "/latency_counters.gp",
		      title, impls, &gv);
}

/* --- the command ------------------------------------------------------------------------------ */

static void make_footer(struct plot_ctx *c)
{
	const json_t *ctx = json_object_get(c->root, "context");
	const char *sha = json_string_value(json_object_get(ctx, "iobench_git_sha"));
	const char *host = json_string_value(json_object_get(ctx, "host_name"));
	const char *topo = json_string_value(json_object_get(ctx, "iobench_topology_source"));
	const char *date = json_string_value(json_object_get(ctx, "date"));
	const char *why = json_string_value(json_object_get(ctx, "iobench_quiet_reason"));
	const json_t *sim = json_object_get(ctx, "iobench_simulated");
	const json_t *quiet = json_object_get(ctx, "iobench_quiet");

	snprintf(c->footer, sizeof(c->footer),
		 "iobench %s  |  host %s  |  topology %s (%s)  |  %s%s%s%s  |  %s",
		 sha ? sha : "sha unknown", host ? host : "unknown", topo ? topo : "unknown",
		 json_is_true(sim)    ? "SIMULATED: placement is a plan"
		 : json_is_false(sim) ? "real machine"
				      : "simulated: unknown",
		 json_is_true(quiet)	? "quiet run"
		 : json_is_false(quiet) ? "NOT quiet"
					: "quiet: unknown",
		 why && !json_is_true(quiet) ? " (" : "", why && !json_is_true(quiet) ? why : "",
		 why && !json_is_true(quiet) ? ")" : "", date ? date : "");
}

static int make_dir(const char *path)
{
	if (mkdir(path, 0755) == 0 || errno == EEXIST)
		return 0;
	fprintf(stderr, "iobench plot: cannot create %s: %s\n", path, strerror(errno));
	return -errno;
}

static int plot_all(struct plot_ctx *c)
{
	struct points tp = { 0 }, all = { 0 };
	struct lat_samples ls = { 0 };
	struct fair_samples fs = { 0 };
	int err, first = 0;
	size_t b, e;

	err = iob_index_build(c->root, &c->ix);
	if (!err)
		err = throughput_points(&c->ix, &tp, &all);
	if (err)
		goto out;
	if (tp.n == 0 && all.n == 0) {
		printf("iobench: %s has no benchmark rows to plot\n", c->run);
		goto out;
	}
	for (int k = 0; k < FAIR_N; k++) {
		err = iob_results_samples(&c->ix, fair_fields[k], &fs.s[k]);
		if (err)
			goto out;
	}
	for (b = 0; b < tp.n; b = e) {
		for (e = b + 1; e < tp.n && strcmp(tp.p[e].group, tp.p[b].group) == 0; e++)
			;
		err = throughput_figure(c, tp.p, b, e);
		if (err == -ENOMEM)
			goto out;
		if (err && !first)
			first = err;
		err = ratio_figure(c, tp.p, b, e);
		if (err == -ENOMEM)
			goto out;
		if (err && !first)
			first = err;
		err = fairness_figure(c, tp.p, b, e, &fs);
		if (err == -ENOMEM)
			goto out;
		if (err && !first)
			first = err;
	}
	for (int k = 0; k < LAT_LOCK; k++) {
		err = iob_results_samples(&c->ix, lat_fields[k], &ls.s[k]);
		if (err)
			goto out;
	}
	qsort(all.p, all.n, sizeof(*all.p), cmp_point_lat);
	for (b = 0; b < all.n; b = e) {
		for (e = b + 1; e < all.n && strcmp(all.p[e].group, all.p[b].group) == 0 &&
				all.p[e].threads == all.p[b].threads;
		     e++)
			;
		err = latency_figure(c, all.p, b, e, &ls);
		if (err == -ENOMEM)
			goto out;
		if (err && !first)
			first = err;
	}
	err = first;
out:
	if (err == -ENOMEM)
		fprintf(stderr, "iobench plot: out of memory\n");
	for (int k = 0; k < LAT_LOCK; k++)
		iob_samples_free(&ls.s[k]);
	for (int k = 0; k < FAIR_N; k++)
		iob_samples_free(&fs.s[k]);
	free(tp.p);
	free(all.p);
	return err;
}

int iob_plot_run(const char *run_arg)
{
	struct plot_ctx *c = calloc(1, sizeof(*c));
	struct iob_run_path run;
	char msg[PATH_MAX + 256];
	bool from_env;
	int err;

	if (!c)
		return -ENOMEM;
	err = iob_run_resolve(run_arg, &run, msg, sizeof(msg));
	if (err) {
		fprintf(stderr, "iobench plot: %s\n", msg);
		err = -EINVAL;
		goto out;
	}
	snprintf(c->run, sizeof(c->run), "%s", run.dir);
	c->root = iob_results_load(run.file, msg, sizeof(msg));
	if (!c->root) {
		fprintf(stderr, "iobench plot: %s\n", msg);
		err = -EINVAL;
		goto out;
	}
	c->cat = iob_catalogue_for_run(c->root);
	err = make_palette(c);
	if (err)
		goto out;
	if (iob_locate_tool("IOBENCH_GNUPLOT", "gnuplot", c->gnuplot, sizeof(c->gnuplot),
			    &from_env)) {
		fprintf(stderr,
			"iobench: gnuplot not found%s%s: install gnuplot-nox to render plots; "
			"results are unaffected\n",
			from_env ? " at IOBENCH_GNUPLOT=" : "", from_env ? c->gnuplot : "");
		err = -ENOENT;
		goto out;
	}
	err = iob_locate_plots(c->tpl, sizeof(c->tpl));
	if (err)
		goto out;
	if (!gp_path_ok(c->run) || !gp_path_ok(c->tpl)) {
		char shown[PATH_MAX];

		fprintf(stderr,
			"iobench plot: '%s': a control character in the path; gnuplot cannot be "
			"given it\n",
			iob_escape(shown, sizeof(shown), gp_path_ok(c->run) ? c->tpl : c->run));
		err = -EINVAL;
		goto out;
	}
	if ((size_t)snprintf(c->plots, sizeof(c->plots), "%s/plots", c->run) >= sizeof(c->plots) ||
	    (size_t)snprintf(c->data, sizeof(c->data), "%s/data", c->plots) >= sizeof(c->data)) {
		fprintf(stderr, "iobench plot: path too long: %s\n", c->run);
		err = -ENAMETOOLONG;
		goto out;
	}
	err = make_dir(c->plots);
	if (!err)
		err = make_dir(c->data);
	if (err)
		goto out;
	make_footer(c);
	err = plot_all(c);
	if (c->failed) {
		fprintf(stderr, "iobench plot: %d of %d figures failed\n", c->failed, c->figures);
		err = err ? err : -EIO;
	}
out:
	iob_index_free(&c->ix);
	iob_catalogue_free(c->cat);
	iob_palette_free(c->palette);
	json_decref(c->root);
	free(c);
	return err;
}
