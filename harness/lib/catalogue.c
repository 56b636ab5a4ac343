/*
 * The catalogue (catalogue.h): load it from the benchmark binary, validate it, derive the default
 * matrix, the references and the gate's list from it.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalogue.h"
#include "locate.h"
#include "proc.h"
#include "quote.h"
#include "results.h"

struct iob_catalogue {
	json_t *root;
};

/* --- validation --- */

struct check {
	const char *origin;
	char *err;
	size_t errlen;
	size_t benchmarks; /* counted over every scenario */
};

static int bad(struct check *k, const char *where, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int bad(struct check *k, const char *where, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(k->err, k->errlen, "%s: %s: %s", k->origin, where, msg);
	return -EINVAL;
}

static int want_name(struct check *k, const char *where, const json_t *v, enum iob_name_kind kind,
		     bool nullable)
{
	char why[256];

	if (nullable && json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return bad(k, where, "expected a name%s", nullable ? " or null" : "");
	if (json_string_length(v) > 200)
		return bad(k, where, "name longer than 200 bytes");
	if (iob_name_check(json_string_value(v), kind, why, sizeof(why)))
		return bad(k, where, "\"%s\": %s", json_string_value(v), why);
	return 0;
}

/* Free text ("about", "missing"): a string or null, one line of printable characters. */
static int want_text(struct check *k, const char *where, const json_t *v)
{
	const char *s;

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return bad(k, where, "expected a string or null");
	if (json_string_length(v) > 1024)
		return bad(k, where, "longer than 1024 bytes");
	for (s = json_string_value(v); *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return bad(k, where, "control character 0x%02x", (unsigned char)*s);
	return 0;
}

static int want_enum(struct check *k, const char *where, const json_t *v,
		     const char *const *allowed)
{
	char list[128] = "";
	size_t n = 0;

	for (size_t i = 0; allowed[i]; i++) {
		if (json_is_string(v) && strcmp(json_string_value(v), allowed[i]) == 0)
			return 0;
		if (n < sizeof(list)) /* a cut list still names the problem */
			n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s", i ? ", " : "",
					      allowed[i]);
	}
	return bad(k, where, "expected one of: %s", list);
}

static int check_impl_ref(struct check *k, const char *where, const json_t *io)
{
	char w[300];
	const json_t *th = json_object_get(io, "threads"), *e;
	size_t i;

	if (!json_is_object(io))
		return bad(k, where, "expected an object");
	iob_fmt(w, sizeof(w), "%s.name", where);
	if (want_name(k, w, json_object_get(io, "name"), IOB_NAME_TOKEN, false))
		return -EINVAL;
	iob_fmt(w, sizeof(w), "%s.threads", where);
	if (!json_is_array(th) || json_array_size(th) > 64)
		return bad(k, w, "expected a list of at most 64 thread counts");
	json_array_foreach(
		th, i,
		e) if (!json_is_integer(e) || json_integer_value(e) < 1 ||
		       json_integer_value(e) >
			       4096) return bad(k, w,
						"element %zu is not a thread count from 1 to 4096",
						i);
	return 0;
}

static int check_params(struct check *k, const char *where, const json_t *params)
{
	const char *key;
	const json_t *vals, *e;
	char w[300];
	size_t i;

	if (!json_is_object(params) || json_object_size(params) > 16)
		return bad(k, where, "expected an object of at most 16 parameters");
	json_object_foreach((json_t *)params, key, vals)
	{
		json_t *kv = json_string(key);
		int rc;

		iob_fmt(w, sizeof(w), "%s key", where);
		rc = kv ? want_name(k, w, kv, IOB_NAME_TOKEN, false) : -ENOMEM;
		json_decref(kv);
		if (rc)
			return rc;
		iob_fmt(w, sizeof(w), "%s.%s", where, key);
		if (!json_is_array(vals) || json_array_size(vals) == 0 ||
		    json_array_size(vals) > 8192)
			return bad(k, w, "expected a list of 1 to 8192 values");
		json_array_foreach(vals, i, e)
		{
			if (json_is_integer(e) && json_integer_value(e) >= 0)
				continue;
			if (!json_is_null(e) && want_name(k, w, e, IOB_NAME_TOKEN, false))
				return -EINVAL;
		}
	}
	return 0;
}

static int check_scenario(struct check *k, const char *where, const json_t *s)
{
	static const char *const kinds[] = { "throughput", "latency", "time", NULL };
	static const char *const timings[] = { "cpu_time", "real_time", "manual_time", NULL };
	const json_t *impls = json_object_get(s, "impls"),
		     *names = json_object_get(s, "benchmarks");
	const json_t *e;
	char w[300];
	size_t i;

	if (!json_is_object(s))
		return bad(k, where, "expected an object");
#define SUB(key) ((void)iob_fmt(w, sizeof(w), "%s.%s", where, key), w)
	if (want_name(k, SUB("name"), json_object_get(s, "name"), IOB_NAME_GROUP, false) ||
	    want_text(k, SUB("about"), json_object_get(s, "about")) ||
	    want_enum(k, SUB("kind"), json_object_get(s, "kind"), kinds) ||
	    want_enum(k, SUB("timing"), json_object_get(s, "timing"), timings) ||
	    want_name(k, SUB("reference"), json_object_get(s, "reference"), IOB_NAME_TOKEN, true) ||
	    check_params(k, SUB("params"), json_object_get(s, "params")))
		return -EINVAL;
	if (!json_is_boolean(json_object_get(s, "default")))
		return bad(k, SUB("default"), "expected true or false");
	if (!json_is_boolean(json_object_get(s, "gate")))
		return bad(k, SUB("gate"), "expected true or false");
	if (!json_is_array(impls) || json_array_size(impls) > 4096)
		return bad(k, SUB("impls"), "expected a list of at most 4096 implementations");
	json_array_foreach(impls, i, e)
	{
		iob_fmt(w, sizeof(w), "%s.impls[%zu]", where, i);
		if (check_impl_ref(k, w, e))
			return -EINVAL;
		if (json_is_true(json_object_get(s, "default")) &&
		    json_array_size(json_object_get(e, "threads")) == 0)
			return bad(k, w,
				   "a scenario in the default matrix must list thread counts");
	}
	if (!json_is_array(names))
		return bad(k, SUB("benchmarks"), "expected a list of names");
	k->benchmarks += json_array_size(names);
	if (k->benchmarks > IOB_CATALOGUE_MAX_BENCHMARKS)
		return bad(k, SUB("benchmarks"), "more than %d benchmarks in all",
			   IOB_CATALOGUE_MAX_BENCHMARKS);
	json_array_foreach(names, i, e)
	{
		iob_fmt(w, sizeof(w), "%s.benchmarks[%zu]", where, i);
		if (want_name(k, w, e, IOB_NAME_BENCH, false))
			return -EINVAL;
	}
#undef SUB
	return 0;
}

static int check_root(struct check *k, const json_t *root)
{
	static const char *const origins[] = {
		"iort", "seed", "baseline", "system", "harness", NULL
	};
	const json_t *fams = json_object_get(root, "families"),
		     *impls = json_object_get(root, "impls");
	const json_t *f, *s, *m;
	size_t i, j, nscn = 0;
	char w[300];

	if (!json_is_object(root))
		return bad(k, "top level", "expected an object");
	if (!json_is_integer(json_object_get(root, "iobench_catalogue")) ||
	    json_integer_value(json_object_get(root, "iobench_catalogue")) != 1)
		return bad(k, "iobench_catalogue",
			   "expected 1 (the catalogue's version); is this "
			   "an iobench-bench binary of this version?");
	if (!json_is_array(fams))
		return bad(k, "families", "expected a list");
	json_array_foreach(fams, i, f)
	{
		const json_t *scns = json_object_get(f, "scenarios");

		iob_fmt(w, sizeof(w), "families[%zu]", i);
		if (!json_is_object(f))
			return bad(k, w, "expected an object");
		iob_fmt(w, sizeof(w), "families[%zu].name", i);
		if (want_name(k, w, json_object_get(f, "name"), IOB_NAME_TOKEN, false))
			return -EINVAL;
		iob_fmt(w, sizeof(w), "families[%zu].about", i);
		if (want_text(k, w, json_object_get(f, "about")))
			return -EINVAL;
		iob_fmt(w, sizeof(w), "families[%zu].scenarios", i);
		if (!json_is_array(scns))
			return bad(k, w, "expected a list");
		nscn += json_array_size(scns);
		if (nscn > IOB_CATALOGUE_MAX_SCENARIOS)
			return bad(k, w, "more than %d scenarios in all",
				   IOB_CATALOGUE_MAX_SCENARIOS);
		json_array_foreach(scns, j, s)
		{
			iob_fmt(w, sizeof(w), "families[%zu].scenarios[%zu]", i, j);
			if (check_scenario(k, w, s))
				return -EINVAL;
		}
	}
	if (!json_is_array(impls) || json_array_size(impls) > 4096)
		return bad(k, "impls", "expected a list of at most 4096 implementations");
	json_array_foreach(impls, i, m)
	{
		iob_fmt(w, sizeof(w), "impls[%zu]", i);
		if (!json_is_object(m))
			return bad(k, w, "expected an object");
		iob_fmt(w, sizeof(w), "impls[%zu].name", i);
		if (want_name(k, w, json_object_get(m, "name"), IOB_NAME_TOKEN, false))
			return -EINVAL;
		iob_fmt(w, sizeof(w), "impls[%zu].origin", i);
		if (want_enum(k, w, json_object_get(m, "origin"), origins))
			return -EINVAL;
		iob_fmt(w, sizeof(w), "impls[%zu].available", i);
		if (!json_is_boolean(json_object_get(m, "available")))
			return bad(k, w, "expected true or false");
		iob_fmt(w, sizeof(w), "impls[%zu]", i);
		if (want_text(k, w, json_object_get(m, "package")) ||
		    want_text(k, w, json_object_get(m, "missing")) ||
		    want_text(k, w, json_object_get(m, "about")))
			return -EINVAL;
	}
	return 0;
}

int iob_catalogue_parse(const char *text, size_t len, const char *origin,
			struct iob_catalogue **out, char *err, size_t errlen)
{
	struct check k = { .origin = origin, .err = err, .errlen = errlen };
	struct iob_catalogue *c;
	json_error_t jerr;
	json_t *root;

	if (len > IOB_CATALOGUE_MAX_BYTES) {
		snprintf(err, errlen, "%s: catalogue larger than %u bytes", origin,
			 IOB_CATALOGUE_MAX_BYTES);
		return -EINVAL;
	}
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		snprintf(err, errlen, "%s: malformed catalogue at line %d: %s", origin, jerr.line,
			 jerr.text);
		iob_one_line(err); /* one line, whatever it quotes */
		return -EINVAL;
	}
	if (check_root(&k, root)) {
		iob_one_line(err);
		json_decref(root);
		return -EINVAL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		json_decref(root);
		return -ENOMEM;
	}
	c->root = root;
	*out = c;
	return 0;
}

int iob_catalogue_load(const char *bench, struct iob_catalogue **out, char *err, size_t errlen)
{
	char *argv[] = { (char *)bench, (char *)"--iobench_catalogue", NULL };
	char path[] = "/tmp/iobench-catalogue-XXXXXX", why[128], origin[600];
	char *text;
	size_t len;
	int fd, rc;

	fd = mkstemp(path);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot create a temporary file for the catalogue: %s",
			 strerror(errno));
		return rc;
	}
	close(fd);
	{
		const struct iob_child_opts o = { .in = "/dev/null",
						  .out = path,
						  .timeout = IOB_CATALOGUE_TIMEOUT_S };
		struct iob_child_end e;

		iob_child_run(argv, &o, &e);
		rc = e.start_err ? e.start_err : e.sig ? 128 + e.sig : e.status;
		if (rc || e.timed_out) {
			if (e.timed_out)
				snprintf(why, sizeof(why), "no answer in %d s",
					 IOB_CATALOGUE_TIMEOUT_S);
			else
				iob_describe_status(rc, why, sizeof(why));
			snprintf(err, errlen, "%s --iobench_catalogue failed: %s", bench, why);
			unlink(path);
			return rc < 0 ? rc : -EIO;
		}
	}
	text = iob_read_file_max(path, IOB_CATALOGUE_MAX_BYTES, &len);
	rc = text ? 0 : -errno;
	unlink(path);
	if (rc) {
		snprintf(err, errlen, "%s --iobench_catalogue: %s", bench,
			 rc == -EFBIG ? "catalogue too large" : strerror(-rc));
		return rc;
	}
	snprintf(origin, sizeof(origin), "%s --iobench_catalogue", bench);
	rc = iob_catalogue_parse(text, len, origin, out, err, errlen);
	free(text);
	return rc;
}

struct iob_catalogue *iob_catalogue_for_run(const json_t *root)
{
	struct iob_catalogue *cat = NULL;
	char bench[PATH_MAX], err[1024];

	if (json_is_object(json_object_get(json_object_get(root, "context"), "iobench_references")))
		return NULL;
	if (iob_locate_bench_quiet(bench, sizeof(bench)))
		return NULL;
	if (iob_catalogue_load(bench, &cat, err, sizeof(err)))
		fprintf(stderr, "iobench: no references for a run that records none: %s\n", err);
	return cat;
}

void iob_catalogue_free(struct iob_catalogue *c)
{
	if (!c)
		return;
	json_decref(c->root);
	free(c);
}

const json_t *iob_catalogue_json(const struct iob_catalogue *c)
{
	return c->root;
}

const json_t *iob_catalogue_scenario(const struct iob_catalogue *c, const char *name)
{
	const json_t *f, *s;
	size_t i, j;

	json_array_foreach(json_object_get(c->root, "families"), i, f) json_array_foreach(
		json_object_get(f, "scenarios"), j,
		s) if (strcmp(json_string_value(json_object_get(s, "name")), name) == 0) return s;
	return NULL;
}

const char *iob_catalogue_reference(const struct iob_catalogue *c, const char *name)
{
	const json_t *s = c ? iob_catalogue_scenario(c, name) : NULL;

	return s ? json_string_value(json_object_get(s, "reference")) : NULL;
}

/* One suite per set of implementations with equal thread counts, in first-seen order. */
static int add_suites(json_t *suites, const json_t *s)
{
	const json_t *impls = json_object_get(s, "impls"), *a, *b;
	size_t n = json_array_size(impls), i, j;
	bool *done = calloc(n + 1, sizeof(*done));
	int rc = 0;

	if (!done)
		return -ENOMEM;
	for (i = 0; !rc && i < n; i++) {
		json_t *suite, *names;

		if (done[i])
			continue;
		a = json_object_get(json_array_get(impls, i), "threads");
		suite = json_object();
		names = json_array();
		if (!suite || !names) {
			json_decref(suite);
			json_decref(names);
			rc = -ENOMEM;
			break;
		}
		/* json_object_set_new steals names even when it fails. */
		rc = json_object_set_new(suite, "impls", names) ||
		     json_object_set(suite, "family", json_object_get(s, "name")) ||
		     json_object_set(suite, "threads", (json_t *)a);
		if (!rc && json_object_size(json_object_get(s, "params")))
			rc = json_object_set(suite, "params", json_object_get(s, "params"));
		if (!rc && json_is_string(json_object_get(s, "reference")))
			rc = json_object_set(suite, "reference", json_object_get(s, "reference"));
		for (j = i; !rc && j < n; j++) {
			b = json_object_get(json_array_get(impls, j), "threads");
			if (done[j] || !json_equal((json_t *)a, (json_t *)b))
				continue;
			done[j] = true;
			rc = json_array_append(names,
					       json_object_get(json_array_get(impls, j), "name"));
		}
		if (rc)
			json_decref(suite);
		else
			rc = json_array_append_new(suites, suite); /* steals suite */
	}
	free(done);
	return rc ? -ENOMEM : 0;
}

char *iob_catalogue_matrix_text(const struct iob_catalogue *c, const char *defaults)
{
	json_t *root = json_object(), *suites = json_array(), *defs = json_loads(defaults, 0, NULL);
	const json_t *f, *s;
	char *text = NULL;
	size_t i, j;
	int rc = !root || !suites || !defs;

	json_array_foreach(json_object_get(c->root, "families"), i, f)
		json_array_foreach(json_object_get(f, "scenarios"), j,
				   s) if (!rc && json_is_true(json_object_get(s, "default"))) rc =
			add_suites(suites, s);
	if (!rc && !json_object_set_new(root, "name", json_string("default")) &&
	    !json_object_set(root, "defaults", defs) && !json_object_set(root, "suites", suites))
		text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(defs);
	json_decref(suites);
	json_decref(root);
	return text;
}

int iob_catalogue_gate_names(const struct iob_catalogue *c, const char ***names, size_t *n)
{
	const json_t *f, *s, *e;
	size_t i, j, k, count = 0;
	const char **v;

	json_array_foreach(json_object_get(c->root, "families"), i, f) json_array_foreach(
		json_object_get(f, "scenarios"), j, s) if (json_is_true(json_object_get(s, "gate")))
		count += json_array_size(json_object_get(s, "benchmarks"));
	v = calloc(count + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	*n = 0;
	json_array_foreach(json_object_get(c->root, "families"), i, f) json_array_foreach(
		json_object_get(f, "scenarios"), j, s) if (json_is_true(json_object_get(s, "gate")))
		json_array_foreach(json_object_get(s, "benchmarks"), k, e) v[(*n)++] =
			json_string_value(e);
	*names = v;
	return 0;
}
