/*
 * The benchmark library (bench/bench.h): pinning, latency paths, and the catalogue that
 * bench_add() records while the families register.
 *
 * The catalogue is built from the registrations themselves, not from a second list: a benchmark
 * exists in the catalogue exactly when it was registered with Google Benchmark, under the name
 * bench_add() gave it. The checks below turn a workload file's mistakes (a name outside the
 * grammar, a benchmark registered twice, a scenario whose implementations do not cover every
 * parameter combination, one implementation name with two descriptions) into a one-line error at
 * startup, before anything runs.
 */
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "bench.h"
#include "hist.h"

#define MAX_THREAD_COUNTS 16
#define MAX_VALUES	  8192 /* distinct values of one parameter */

struct bench_env bench_env;

/* --- pinning and latency paths --- */

int bench_slot_pu(int slot)
{
	return bench_env.plan->places[slot % bench_env.plan->nthreads].pu;
}

int bench_pin_pu(struct iob_state *st, int pu)
{
	char msg[128];
	int err;

	if (bench_env.simulated)
		return 0;
	err = iob_topo_pin_self(bench_env.topo, pu);
	if (err) {
		snprintf(msg, sizeof(msg), "pinning thread %d to PU %d failed: %s (running on %d)",
			 iob_state_thread_index(st), pu, strerror(-err), sched_getcpu());
		iob_state_skip_with_error(st, msg);
	}
	return err;
}

int bench_pin_slot(struct iob_state *st, int slot)
{
	return bench_pin_pu(st, bench_slot_pu(slot));
}

int bench_pin(struct iob_state *st)
{
	return bench_pin_slot(st, iob_state_thread_index(st));
}

int bench_latency_csv_path(const char *name, char *out, size_t len)
{
	const char *placement = bench_env.placement ? bench_env.placement : "compact";
	char file[512];

	if (!bench_env.latency_dir)
		return -ENOENT;
	if (strcmp(placement, "compact") == 0)
		snprintf(file, sizeof(file), "%s", name);
	else
		snprintf(file, sizeof(file), "%s/placement:%s", name, placement);
	for (char *p = file; *p; p++)
		*p = *p == '/' ? '_' : *p == ':' ? '-' : *p;
	if (mkdir(bench_env.latency_dir, 0777) && errno != EEXIST)
		return -errno;
	snprintf(out, len, "%s/%s.csv", bench_env.latency_dir, file);
	return 0;
}

void bench_latency_csv_write(const char *name, const struct iob_hist *h)
{
	char path[1024], tmp[1100];
	FILE *f;
	int bad;

	if (bench_latency_csv_path(name, path, sizeof(path)))
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f) {
		fprintf(stderr, "iobench-bench: cannot write %s: %s\n", tmp, strerror(errno));
		return;
	}
	bad = iob_hist_write_csv(h, f, 5, 1.0);
	bad |= fflush(f) != 0 || fsync(fileno(f)) != 0;
	if (fclose(f) || bad || rename(tmp, path)) {
		fprintf(stderr, "iobench-bench: cannot write %s\n", path);
		unlink(tmp);
	}
}

void bench_report_ns(struct iob_state *st, uint64_t t0, uint64_t t1)
{
	int64_t n = iob_state_iterations(st);

	if (iob_state_thread_index(st) == 0 && n > 0)
		iob_state_counter(st, "ns", (double)(t1 - t0) / (double)n, IOB_COUNTER_DEFAULT);
}

/* --- the catalogue's record --- */

struct rec_impl {
	const struct bench_impl *impl;
	int threads[MAX_THREAD_COUNTS];
	size_t nthreads;
};

struct rec_scenario {
	const struct bench_scenario *s;
	const struct bench_family *family;
	struct rec_impl *impls;
	size_t nimpls;
	/* Distinct values of each parameter in first-seen order; NULL (absent) is a value. */
	char **values[BENCH_MAX_PARAMS];
	size_t nvalues[BENCH_MAX_PARAMS];
	size_t nparams;
	size_t registrations; /* bench_add calls: one per (impl, combination) */
	char **benchmarks;    /* full names, as Google Benchmark prints them */
	size_t nbenchmarks;
};

static struct {
	const struct bench_family *family; /* the one registering now */
	struct rec_scenario *scenarios;
	size_t nscenarios;
	const struct bench_impl **impls; /* every implementation, first-seen order */
	size_t nimpls;
	char **names; /* every base name, to find repeats */
	size_t nnames;
} cat;

static _Noreturn void bug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static _Noreturn void bug(const char *fmt, ...)
{
	va_list ap;

	fputs("iobench-bench: BUG in a workload file: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void *grow(void *p, size_t n, size_t size)
{
	/* Capacity doubles at powers of two: call with the count before appending. */
	if (n && (n & (n - 1)))
		return p;
	p = realloc(p, (n ? 2 * n : 1) * size);
	if (!p) {
		fputs("iobench-bench: out of memory\n", stderr);
		exit(1);
	}
	return p;
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s);

	if (!d) {
		fputs("iobench-bench: out of memory\n", stderr);
		exit(1);
	}
	return d;
}

/* [a-z0-9_]+ for names; values may also hold '-', '.' and ','. */
static bool token_ok(const char *s, bool value)
{
	if (!s || !*s || strlen(s) > 48)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' ||
		      (value && ((*s >= 'A' && *s <= 'Z') || *s == '-' || *s == '.' || *s == ','))))
			return false;
	return true;
}

static bool scenario_name_ok(const char *s)
{
	const char *slash = s ? strchr(s, '/') : NULL;
	char head[64];

	if (!slash || (size_t)(slash - s) >= sizeof(head))
		return false;
	memcpy(head, s, (size_t)(slash - s));
	head[slash - s] = '\0';
	return token_ok(head, false) && token_ok(slash + 1, false);
}

static struct rec_scenario *scenario_record(const struct bench_scenario *s)
{
	struct rec_scenario *r;

	for (size_t i = 0; i < cat.nscenarios; i++) {
		if (cat.scenarios[i].s == s)
			return &cat.scenarios[i];
		if (strcmp(cat.scenarios[i].s->name, s->name) == 0)
			bug("scenario %s is described twice", s->name);
	}
	if (!scenario_name_ok(s->name))
		bug("scenario name '%s' is not <family>/<shape> in [a-z0-9_]",
		    s->name ? s->name : "");
	if ((s->flags & BENCH_GATE) && strncmp(s->name, "gate/", 5) != 0)
		bug("%s: a gated scenario is named gate/<shape> (tier 2's default filter is "
		    "^gate/)",
		    s->name);
	if (s->reference && !token_ok(s->reference, false))
		bug("%s: reference '%s' is not an implementation name", s->name, s->reference);
	cat.scenarios = grow(cat.scenarios, cat.nscenarios, sizeof(*cat.scenarios));
	r = &cat.scenarios[cat.nscenarios++];
	memset(r, 0, sizeof(*r));
	r->s = s;
	r->family = cat.family;
	while (r->nparams < BENCH_MAX_PARAMS && s->params[r->nparams]) {
		if (!token_ok(s->params[r->nparams], false))
			bug("%s: parameter name '%s' is not in [a-z0-9_]", s->name,
			    s->params[r->nparams]);
		r->nparams++;
	}
	return r;
}

static void impl_record(const struct bench_impl *impl)
{
	for (size_t i = 0; i < cat.nimpls; i++) {
		const struct bench_impl *o = cat.impls[i];

		if (o == impl)
			return;
		if (strcmp(o->name, impl->name) == 0) {
			/* Two descriptors of one name (a family reusing another's implementation
			 * through its own descriptor) must agree on what it is. */
			if (o->origin != impl->origin || !o->package != !impl->package ||
			    (o->package && strcmp(o->package, impl->package)) ||
			    !o->missing != !impl->missing)
				bug("implementation %s is described twice, differently",
				    impl->name);
			return;
		}
	}
	if (!token_ok(impl->name, false))
		bug("implementation name '%s' is not in [a-z0-9_]", impl->name ? impl->name : "");
	if (impl->origin == BENCH_BASELINE && !impl->package)
		bug("baseline %s does not name its package", impl->name);
	cat.impls = grow(cat.impls, cat.nimpls, sizeof(*cat.impls));
	cat.impls[cat.nimpls++] = impl;
}

static void value_record(struct rec_scenario *r, size_t j, const char *v)
{
	for (size_t k = 0; k < r->nvalues[j]; k++)
		if ((!v && !r->values[j][k]) ||
		    (v && r->values[j][k] && !strcmp(v, r->values[j][k])))
			return;
	if (v && !token_ok(v, true))
		bug("%s: value '%s' of parameter %s is not in [A-Za-z0-9_.,-]", r->s->name, v,
		    r->s->params[j]);
	if (r->nvalues[j] == MAX_VALUES)
		bug("%s: more than %d values of parameter %s", r->s->name, MAX_VALUES,
		    r->s->params[j]);
	r->values[j] = grow(r->values[j], r->nvalues[j], sizeof(*r->values[j]));
	r->values[j][r->nvalues[j]++] = v ? xstrdup(v) : NULL; /* the caller's may be a buffer */
}

static void add_full_name(struct rec_scenario *r, const char *base, int threads)
{
	static const char *const suffix[] = { "", "/real_time", "/manual_time" };
	char full[256];

	if (threads > 0)
		snprintf(full, sizeof(full), "%s%s/threads:%d", base, suffix[r->s->timing],
			 threads);
	else
		snprintf(full, sizeof(full), "%s%s", base, suffix[r->s->timing]);
	r->benchmarks = grow(r->benchmarks, r->nbenchmarks, sizeof(*r->benchmarks));
	r->benchmarks[r->nbenchmarks++] = xstrdup(full);
}

struct iob_bench *bench_add(const struct bench_scenario *s, const struct bench_impl *impl,
			    iob_bench_fn *fn, void *arg, const int *threads, size_t nthreads,
			    const char *const *values)
{
	struct rec_scenario *r = scenario_record(s);
	struct rec_impl *ri = NULL;
	struct iob_bench *b;
	char name[200];
	size_t len;

	impl_record(impl);
	if (nthreads > MAX_THREAD_COUNTS)
		bug("%s/%s: more than %d thread counts", s->name, impl->name, MAX_THREAD_COUNTS);
	if ((s->flags & BENCH_DEFAULT) && nthreads == 0)
		bug("%s: a scenario in the default matrix must list its thread counts", s->name);
	for (size_t i = 0; i < nthreads; i++)
		if (threads[i] < 1 || threads[i] > 4096)
			bug("%s/%s: thread count %d", s->name, impl->name, threads[i]);

	len = (size_t)snprintf(name, sizeof(name), "%s/%s", s->name, impl->name);
	for (size_t j = 0; j < r->nparams; j++) {
		const char *v = values ? values[j] : NULL;

		value_record(r, j, v);
		if (v)
			len += (size_t)snprintf(name + len,
						sizeof(name) > len ? sizeof(name) - len : 0,
						"/%s:%s", s->params[j], v);
	}
	if (len >= sizeof(name))
		bug("%s/%s: name too long", s->name, impl->name);

	for (size_t i = 0; i < r->nimpls; i++)
		if (r->impls[i].impl == impl || strcmp(r->impls[i].impl->name, impl->name) == 0)
			ri = &r->impls[i];
	if (!ri) {
		r->impls = grow(r->impls, r->nimpls, sizeof(*r->impls));
		ri = &r->impls[r->nimpls++];
		ri->impl = impl;
		ri->nthreads = nthreads;
		memcpy(ri->threads, threads, nthreads * sizeof(*threads));
	} else if (ri->nthreads != nthreads ||
		   memcmp(ri->threads, threads, nthreads * sizeof(*threads))) {
		bug("%s: %s is registered with two different lists of thread counts", s->name,
		    impl->name);
	}
	r->registrations++;

	cat.names = grow(cat.names, cat.nnames, sizeof(*cat.names));
	cat.names[cat.nnames++] = xstrdup(name);

	b = iob_bench_register(name, fn, arg);
	if (!b)
		bug("cannot register %s", name);
	for (size_t i = 0; i < nthreads; i++) {
		iob_bench_threads(b, threads[i]);
		add_full_name(r, name, threads[i]);
	}
	if (!nthreads)
		add_full_name(r, name, 0);
	if (s->timing == BENCH_REAL_TIME)
		iob_bench_real_time(b);
	else if (s->timing == BENCH_MANUAL_TIME)
		iob_bench_manual_time(b);
	return b;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* After every family registered: no name twice, every scenario a full cross product. */
static void check(void)
{
	qsort(cat.names, cat.nnames, sizeof(*cat.names), cmp_str);
	for (size_t i = 1; i < cat.nnames; i++)
		if (strcmp(cat.names[i - 1], cat.names[i]) == 0)
			bug("%s is registered twice", cat.names[i]);
	for (size_t i = 0; i < cat.nscenarios; i++) {
		const struct rec_scenario *r = &cat.scenarios[i];
		size_t want = r->nimpls;

		for (size_t j = 0; j < r->nparams; j++)
			want *= r->nvalues[j];
		/* Names are distinct, so registrations are distinct (impl, combination) pairs
		 * out of nimpls x the product of the value counts: equal counts mean all of them. */
		if (r->registrations != want)
			bug("%s: %zu registrations, but %zu implementations x its parameter values "
			    "make %zu: register every implementation with every combination",
			    r->s->name, r->registrations, r->nimpls, want);
	}
}

void bench_register_families(void)
{
	for (size_t i = 0; bench_families[i]; i++) {
		const struct bench_family *f = bench_families[i];

		if (!token_ok(f->name, false))
			bug("family name '%s' is not in [a-z0-9_]", f->name ? f->name : "");
		for (size_t k = 0; k < i; k++)
			if (strcmp(bench_families[k]->name, f->name) == 0)
				bug("family %s is listed twice", f->name);
		cat.family = f;
		f->register_all();
	}
	cat.family = NULL;
	check();
}

/* --- JSON --- */

static const char *origin_name(enum bench_origin o)
{
	switch (o) {
	case BENCH_IORT:
		return "iort";
	case BENCH_SEED:
		return "seed";
	case BENCH_BASELINE:
		return "baseline";
	case BENCH_SYSTEM:
		return "system";
	case BENCH_HARNESS:
		return "harness";
	}
	return "unknown";
}

static const char *kind_name(enum bench_kind k)
{
	return k == BENCH_LATENCY ? "latency" : k == BENCH_TIME ? "time" : "throughput";
}

static const char *timing_name(enum bench_timing t)
{
	return t == BENCH_REAL_TIME	? "real_time"
	       : t == BENCH_MANUAL_TIME ? "manual_time"
					: "cpu_time";
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

/* A parameter value: an integer when it is one (as matrices write them), else a string. */
static json_t *value_json(const char *v)
{
	const char *p = v;

	if (!v)
		return json_null();
	while (*p >= '0' && *p <= '9')
		p++;
	if (!*p && p - v <= 9 && (v[0] != '0' || !v[1]))
		return json_integer(strtol(v, NULL, 10));
	return json_string(v);
}

static json_t *scenario_json(const struct rec_scenario *r)
{
	json_t *o = json_object(), *params = json_object(), *impls = json_array(),
	       *names = json_array();
	int bad = !o || !params || !impls || !names;

	for (size_t j = 0; !bad && j < r->nparams; j++) {
		json_t *vals = json_array();

		bad |= !vals;
		for (size_t k = 0; !bad && k < r->nvalues[j]; k++)
			bad |= json_array_append_new(vals, value_json(r->values[j][k]));
		bad |= json_object_set_new(params, r->s->params[j], vals);
	}
	for (size_t i = 0; !bad && i < r->nimpls; i++) {
		json_t *io = json_object(), *th = json_array();

		bad |= !io || !th;
		for (size_t k = 0; !bad && k < r->impls[i].nthreads; k++)
			bad |= json_array_append_new(th, json_integer(r->impls[i].threads[k]));
		bad |= !io ||
		       json_object_set_new(io, "name", json_string(r->impls[i].impl->name)) ||
		       json_object_set_new(io, "threads", th) || json_array_append_new(impls, io);
	}
	for (size_t i = 0; !bad && i < r->nbenchmarks; i++)
		bad |= json_array_append_new(names, json_string(r->benchmarks[i]));
	if (bad || json_object_set_new(o, "name", json_string(r->s->name)) ||
	    json_object_set_new(o, "about", str_or_null(r->s->about)) ||
	    json_object_set_new(o, "kind", json_string(kind_name(r->s->kind))) ||
	    json_object_set_new(o, "timing", json_string(timing_name(r->s->timing))) ||
	    json_object_set_new(o, "default", json_boolean(r->s->flags & BENCH_DEFAULT)) ||
	    json_object_set_new(o, "gate", json_boolean(r->s->flags & BENCH_GATE)) ||
	    json_object_set_new(o, "reference", str_or_null(r->s->reference)) ||
	    json_object_set(o, "params", params) || json_object_set(o, "impls", impls) ||
	    json_object_set(o, "benchmarks", names)) {
		json_decref(o);
		o = NULL;
	}
	json_decref(params);
	json_decref(impls);
	json_decref(names);
	return o;
}

char *bench_catalogue_json(void)
{
	json_t *root = json_object(), *families = json_array(), *impls = json_array();
	int bad = !root || !families || !impls;
	char *out = NULL;

	for (size_t i = 0; !bad && bench_families[i]; i++) {
		const struct bench_family *f = bench_families[i];
		json_t *fo = json_object(), *scns = json_array();

		bad |= !fo || !scns;
		for (size_t k = 0; !bad && k < cat.nscenarios; k++)
			if (cat.scenarios[k].family == f)
				bad |= json_array_append_new(scns,
							     scenario_json(&cat.scenarios[k]));
		bad |= !fo || json_object_set_new(fo, "name", json_string(f->name)) ||
		       json_object_set_new(fo, "about", str_or_null(f->about)) ||
		       json_object_set_new(fo, "scenarios", scns) ||
		       json_array_append_new(families, fo);
	}
	for (size_t i = 0; !bad && i < cat.nimpls; i++) {
		const struct bench_impl *m = cat.impls[i];
		json_t *io = json_object();

		bad |= !io || json_object_set_new(io, "name", json_string(m->name)) ||
		       json_object_set_new(io, "origin", json_string(origin_name(m->origin))) ||
		       json_object_set_new(io, "package", str_or_null(m->package)) ||
		       json_object_set_new(io, "available", json_boolean(!m->missing)) ||
		       json_object_set_new(io, "missing", str_or_null(m->missing)) ||
		       json_object_set_new(io, "about", str_or_null(m->about)) ||
		       json_array_append_new(impls, io);
	}
	if (!bad && !json_object_set_new(root, "iobench_catalogue", json_integer(1)) &&
	    !json_object_set(root, "families", families) && !json_object_set(root, "impls", impls))
		out = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(families);
	json_decref(impls);
	json_decref(root);
	return out;
}

void bench_catalogue_free(void)
{
	for (size_t i = 0; i < cat.nscenarios; i++) {
		for (size_t k = 0; k < cat.scenarios[i].nbenchmarks; k++)
			free(cat.scenarios[i].benchmarks[k]);
		free(cat.scenarios[i].benchmarks);
		free(cat.scenarios[i].impls);
		for (size_t j = 0; j < cat.scenarios[i].nparams; j++)
			for (size_t k = 0; k < cat.scenarios[i].nvalues[j]; k++)
				free(cat.scenarios[i].values[j][k]);
		for (size_t j = 0; j < cat.scenarios[i].nparams; j++)
			free(cat.scenarios[i].values[j]);
	}
	for (size_t i = 0; i < cat.nnames; i++)
		free(cat.names[i]);
	free(cat.names);
	free(cat.scenarios);
	free(cat.impls);
	memset(&cat, 0, sizeof(cat));
}
