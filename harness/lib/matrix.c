/*
 * Benchmark matrices: parse and validate a JSON spec (naming file, line and key in every error),
 * normalize it, and expand it into sorted cells. See matrix.h for the spec.
 *
 * jansson gives positions for syntax errors only (and rejects duplicate keys with
 * JSON_REJECT_DUPLICATES), so once the text parses, one pass over it records the line of every
 * key and array element under its path ("suites[1].threads[0]"); semantic errors look their line
 * up there.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "matrix.h"
#include "results.h"
#include "catalogue.h"
#include "proc.h"
#include "quote.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* The default matrix's settings; its suites come from the catalogue (iob_matrix_default). */
static const char default_settings[] =
	"{\"repetitions\": 3, \"min_time\": 0.1, \"warmup\": 0.05, \"timeout\": 60,"
	" \"placements\": [\"compact\"]}";

static const char default_path[] = "<default matrix from the catalogue>";

struct param {
	char *name;
	json_t *values; /* array of strings, integers, null */
};

struct suite {
	char *family;
	char **impls;
	size_t nimpls;
	int *threads;
	size_t nthreads;
	char **placements;
	size_t nplacements;
	struct param *params;
	size_t nparams;
	char *reference;
	int repetitions;
	double min_time, warmup, timeout;
};

struct iob_matrix {
	char *name;
	struct suite *suites;
	size_t nsuites;
	const char **all_placements; /* borrowed from the suites */
	size_t nall_placements;
};

/* --- lines of keys --- */

struct keyline {
	char *path;
	int line;
};

struct parser {
	const char *file;
	char *err;
	size_t errlen;
	struct keyline *lines;
	size_t nlines, caplines;
	bool nomem;
};

static void add_line(struct parser *p, const char *path, int line)
{
	struct keyline *n;

	if (p->nlines == p->caplines) {
		size_t cap = p->caplines ? 2 * p->caplines : 64;

		n = realloc(p->lines, cap * sizeof(*n));
		if (!n) {
			p->nomem = true;
			return;
		}
		p->lines = n;
		p->caplines = cap;
	}
	p->lines[p->nlines].path = strdup(path);
	if (!p->lines[p->nlines].path) {
		p->nomem = true;
		return;
	}
	p->lines[p->nlines++].line = line;
}

/* Record the line of every object key and array element of valid JSON @p text. */
static void scan_lines(struct parser *p, const char *text)
{
	struct frame {
		bool obj, expect_key, seen;
		size_t idx, base;
	} st[64];
	char path[1024] = "";
	int depth = -1, line = 1;

	for (const char *s = text; *s; s++) {
		struct frame *f = depth >= 0 && depth < (int)NELEM(st) ? &st[depth] : NULL;
		char c = *s;

		if (c == '\n') {
			line++;
			continue;
		}
		if (c == ' ' || c == '\t' || c == '\r' || c == ':')
			continue;
		if (c == ',') {
			if (f && f->obj)
				f->expect_key = true;
			else if (f)
				f->idx++, f->seen = false;
			continue;
		}
		if (c == '}' || c == ']') {
			depth--;
			if (depth >= 0 && depth < (int)NELEM(st))
				path[st[depth].base] = '\0';
			continue;
		}
		if (c == '"' && f && f->obj && f->expect_key) {
			const char *k = ++s;
			size_t len;

			while (*s && *s != '"')
				s += (*s == '\\' && s[1]) ? 2 : 1;
			len = (size_t)(s - k);
			path[f->base] = '\0';
			snprintf(path + f->base, sizeof(path) - f->base, "%s%.*s",
				 f->base ? "." : "", (int)len, k);
			add_line(p, path, line);
			f->expect_key = false;
			if (!*s)
				break;
			continue;
		}
		/* A value starts (or continues). */
		if (f && !f->obj && !f->seen) {
			path[f->base] = '\0';
			snprintf(path + f->base, sizeof(path) - f->base, "[%zu]", f->idx);
			add_line(p, path, line);
			f->seen = true;
		}
		if (c == '{' || c == '[') {
			depth++;
			if (depth < (int)NELEM(st))
				st[depth] = (struct frame){ .obj = c == '{',
							    .expect_key = c == '{',
							    .base = strlen(path) };
			continue;
		}
		if (c == '"') {
			s++;
			while (*s && *s != '"')
				s += (*s == '\\' && s[1]) ? 2 : 1;
			if (!*s)
				break;
		}
	}
}

/* Line of @p path, or of its nearest recorded ancestor. */
static int line_of(const struct parser *p, const char *path)
{
	char buf[1024];

	snprintf(buf, sizeof(buf), "%s", path);
	for (;;) {
		for (size_t i = 0; i < p->nlines; i++)
			if (strcmp(p->lines[i].path, buf) == 0)
				return p->lines[i].line;
		char *dot = strrchr(buf, '.'), *br = strrchr(buf, '[');
		char *cut = dot > br ? dot : br;

		if (!cut)
			return 1;
		*cut = '\0';
	}
}

static int fail(struct parser *p, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct parser *p, const char *path, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (p->err && p->errlen)
		snprintf(p->err, p->errlen, "%s:%d: %s", p->file, line_of(p, path), msg);
	return -EINVAL;
}

/* --- validation helpers --- */

size_t iob_edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), *row, best;

	row = malloc((lb + 1) * sizeof(*row));
	if (!row)
		return la > lb ? la : lb;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j], v = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < v)
				v = up + 1;
			if (row[j - 1] + 1 < v)
				v = row[j - 1] + 1;
			row[j] = v;
			diag = up;
		}
	}
	best = row[lb];
	free(row);
	return best;
}

static void join_path(char *out, size_t len, const char *base, const char *key)
{
	snprintf(out, len, "%s%s%s", base, *base ? "." : "", key);
}

/* Reject keys of @p obj not in @p allowed, suggesting the nearest. @p where: "suites[0]". */
static int check_keys(struct parser *p, const json_t *obj, const char *base, const char *where,
		      const char *const *allowed, size_t nallowed)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)obj, key, v)
	{
		size_t best = (size_t)-1, bi = 0;
		char path[512], list[512] = "";

		for (size_t i = 0; i < nallowed; i++) {
			size_t d = iob_edit_distance(key, allowed[i]);

			if (d == 0)
				goto next;
			if (d < best)
				best = d, bi = i;
		}
		join_path(path, sizeof(path), base, key);
		if (best <= 3 && best < strlen(key))
			return fail(p, path, "unknown key '%s' in %s (did you mean '%s'?)", key,
				    where, allowed[bi]);
		for (size_t i = 0; i < nallowed; i++)
			snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
				 i ? ", " : "", allowed[i]);
		return fail(p, path, "unknown key '%s' in %s (valid keys: %s)", key, where, list);
	next:;
	}
	return 0;
}

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "a list";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "null";
	}
}

static int get_int(struct parser *p, const json_t *obj, const char *base, const char *where,
		   const char *key, long lo, long hi, int *out)
{
	const json_t *v = json_object_get(obj, key);
	char path[512];

	if (!v)
		return 0;
	join_path(path, sizeof(path), base, key);
	if (!json_is_integer(v))
		return fail(p, path, "key '%s' in %s: expected a whole number %ld..%ld, got %s",
			    key, where, lo, hi, type_name(v));
	if (json_integer_value(v) < lo || json_integer_value(v) > hi)
		return fail(p, path, "key '%s' in %s: %lld is out of range %ld..%ld", key, where,
			    (long long)json_integer_value(v), lo, hi);
	*out = (int)json_integer_value(v);
	return 0;
}

/* A number of seconds in (lo, hi] (or [lo, hi] when @p lo_incl). */
static int get_secs(struct parser *p, const json_t *obj, const char *base, const char *where,
		    const char *key, double lo, bool lo_incl, double hi, double *out)
{
	const json_t *v = json_object_get(obj, key);
	char path[512];
	double d;

	if (!v)
		return 0;
	join_path(path, sizeof(path), base, key);
	if (!json_is_number(v))
		return fail(p, path, "key '%s' in %s: expected seconds (a number), got %s", key,
			    where, type_name(v));
	d = json_number_value(v);
	if (!isfinite(d) || d > hi || (lo_incl ? d < lo : d <= lo))
		return fail(p, path, "key '%s' in %s: %g is out of range %s%g, %g]", key, where, d,
			    lo_incl ? "[" : "(", lo, hi);
	*out = d;
	return 0;
}

/*
 * A token usable inside a benchmark name: the name grammar of results.h (IOB_NAME_CHARSET, no '/'
 * or '@'), so a run never records a name that every command loading its results would refuse.
 * On failure @p why names the character.
 */
static bool name_token(const char *s, char why[static 160])
{
	return iob_name_check(s, IOB_NAME_TOKEN, why, 160) == 0;
}

static void free_strs(char **v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* A string and where it came from, to find repeats by sorting (O(n log n), not O(n^2)). */
struct keyed {
	const char *key;
	size_t idx;
};

static int cmp_keyed(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c ? c : (x->idx > y->idx) - (x->idx < y->idx);
}

/*
 * Sort @p k (n entries) by key, then index. @return the smallest index whose key also sits at a
 * smaller index (the first repeat in list order), or @p n when all keys differ.
 */
static size_t first_repeat(struct keyed *k, size_t n)
{
	size_t first = n;

	qsort(k, n, sizeof(*k), cmp_keyed);
	for (size_t i = 1; i < n; i++)
		if (strcmp(k[i - 1].key, k[i].key) == 0 && k[i].idx < first)
			first = k[i].idx;
	return first;
}

/* a * b, saturating at SIZE_MAX. */
static size_t sat_mul(size_t a, size_t b)
{
	size_t r;

	return __builtin_mul_overflow(a, b, &r) ? SIZE_MAX : r;
}

/* Fail unless @p s has at most IOB_MATRIX_MAX_NAME bytes. @p what: "key 'impls' in suites[0]:
 * element 3". */
static int check_len(struct parser *p, const char *path, const char *what, const char *s)
{
	size_t len = strlen(s);

	if (len <= IOB_MATRIX_MAX_NAME)
		return 0;
	return fail(p, path, "%s is %zu bytes long, more than the limit of %d bytes for a name",
		    what, len, IOB_MATRIX_MAX_NAME);
}

/* A non-empty list of distinct name tokens (placements may hold ':' and ','; impls too). */
static int get_strs(struct parser *p, const json_t *obj, const char *base, const char *where,
		    const char *key, char ***out, size_t *n)
{
	const json_t *v = json_object_get(obj, key), *e;
	char path[512], epath[600], why[160] = "", what[600];
	struct keyed *k;
	char **list;
	size_t i, nv, dup;
	int rc;

	if (!v)
		return 0;
	join_path(path, sizeof(path), base, key);
	if (!json_is_array(v))
		return fail(p, path, "key '%s' in %s: expected a list of names, got %s", key, where,
			    type_name(v));
	if (json_array_size(v) == 0)
		return fail(p, path, "key '%s' in %s: empty list", key, where);
	nv = json_array_size(v);
	json_array_foreach(v, i, e)
	{
		snprintf(epath, sizeof(epath), "%s[%zu]", path, i);
		if (!json_is_string(e) || !name_token(json_string_value(e), why))
			return fail(p, epath,
				    "key '%s' in %s: element %zu must be a name without '/' or '@'"
				    "%s%s",
				    key, where, i, json_is_string(e) ? "; " : ", got ",
				    json_is_string(e) ? why : type_name(e));
		snprintf(what, sizeof(what), "key '%s' in %s: element %zu", key, where, i);
		if ((rc = check_len(p, epath, what, json_string_value(e))))
			return rc;
	}
	k = malloc(nv * sizeof(*k));
	if (!k)
		return -ENOMEM;
	for (i = 0; i < nv; i++)
		k[i] = (struct keyed){ json_string_value(json_array_get(v, i)), i };
	dup = first_repeat(k, nv);
	free(k);
	if (dup < nv) {
		snprintf(epath, sizeof(epath), "%s[%zu]", path, dup);
		return fail(p, epath, "key '%s' in %s: '%s' is listed twice", key, where,
			    json_string_value(json_array_get(v, dup)));
	}
	list = calloc(nv, sizeof(*list));
	if (!list)
		return -ENOMEM;
	for (i = 0; i < nv; i++) {
		list[i] = strdup(json_string_value(json_array_get(v, i)));
		if (!list[i]) {
			free_strs(list, i);
			return -ENOMEM;
		}
	}
	free_strs(*out, *n);
	*out = list;
	*n = nv;
	return 0;
}

static int get_threads(struct parser *p, const json_t *obj, const char *base, const char *where,
		       int **out, size_t *n)
{
	const json_t *v = json_object_get(obj, "threads"), *e;
	char path[512], epath[600];
	bool seen[4096 + 1] = { false };
	int *list;
	size_t i;

	if (!v)
		return 0;
	join_path(path, sizeof(path), base, "threads");
	if (!json_is_array(v))
		return fail(p, path,
			    "key 'threads' in %s: expected a list of whole numbers 1..4096, got %s",
			    where, type_name(v));
	if (json_array_size(v) == 0)
		return fail(p, path, "key 'threads' in %s: empty list", where);
	list = calloc(json_array_size(v), sizeof(*list));
	if (!list)
		return -ENOMEM;
	json_array_foreach(v, i, e)
	{
		snprintf(epath, sizeof(epath), "%s[%zu]", path, i);
		if (!json_is_integer(e) || json_integer_value(e) < 1 ||
		    json_integer_value(e) > 4096) {
			free(list);
			return fail(p, epath,
				    "key 'threads' in %s: element %zu must be a whole number "
				    "1..4096",
				    where, i);
		}
		list[i] = (int)json_integer_value(e);
		if (seen[list[i]]) {
			int dup = list[i]; /* read before the list is freed */

			free(list);
			return fail(p, epath, "key 'threads' in %s: %d is listed twice", where,
				    dup);
		}
		seen[list[i]] = true;
	}
	free(*out);
	*out = list;
	*n = json_array_size(v);
	return 0;
}

static int get_params(struct parser *p, const json_t *obj, const char *base, const char *where,
		      struct suite *s)
{
	const json_t *v = json_object_get(obj, "params"), *vals, *e;
	char path[512], ppath[700], epath[800], why[160] = "", what[900];
	const char *name;
	size_t i;
	int rc;

	if (!v)
		return 0;
	join_path(path, sizeof(path), base, "params");
	if (!json_is_object(v))
		return fail(p, path,
			    "key 'params' in %s: expected an object of parameter -> list of "
			    "values, got %s",
			    where, type_name(v));
	if (json_object_size(v) > 16)
		return fail(p, path, "key 'params' in %s: more than 16 parameters", where);
	s->params = calloc(json_object_size(v) + 1, sizeof(*s->params));
	if (!s->params)
		return -ENOMEM;
	json_object_foreach((json_t *)v, name, vals)
	{
		snprintf(ppath, sizeof(ppath), "%s.%s", path, name);
		if (!name_token(name, why) || strchr(name, ':'))
			return fail(
				p, ppath,
				"key 'params' in %s: parameter name '%s' must be a name without "
				"'/', ':' or '@'%s%s",
				where, name, *why ? "; " : "", why);
		snprintf(what, sizeof(what), "key 'params' in %s: parameter name", where);
		if ((rc = check_len(p, ppath, what, name)))
			return rc;
		if (!json_is_array(vals))
			return fail(p, ppath,
				    "key 'params' in %s: parameter '%s' must be a list of values, "
				    "got %s",
				    where, name, type_name(vals));
		if (json_array_size(vals) == 0)
			return fail(p, ppath, "key 'params' in %s: parameter '%s': empty list",
				    where, name);
		json_array_foreach(vals, i, e)
		{
			snprintf(epath, sizeof(epath), "%s[%zu]", ppath, i);
			if (!(json_is_null(e) || json_is_integer(e) ||
			      (json_is_string(e) && name_token(json_string_value(e), why))))
				return fail(
					p, epath,
					"key 'params' in %s: parameter '%s' element %zu must be "
					"a name without '/' or '@', an integer or null%s%s",
					where, name, i, *why ? "; " : "", why);
			snprintf(what, sizeof(what),
				 "key 'params' in %s: parameter '%s' element %zu", where, name, i);
			if (json_is_string(e) &&
			    (rc = check_len(p, epath, what, json_string_value(e))))
				return rc;
		}
		s->params[s->nparams].name = strdup(name);
		s->params[s->nparams].values = json_deep_copy(vals);
		s->nparams++;
		if (!s->params[s->nparams - 1].name || !s->params[s->nparams - 1].values)
			return -ENOMEM;
	}
	return 0;
}

/* The settings "defaults" gives and a suite may override. */
static const char *const setting_keys[] = { "repetitions", "min_time",	 "warmup",
					    "timeout",	   "placements", "threads" };

static int get_settings(struct parser *p, const json_t *obj, const char *base, const char *where,
			struct suite *s)
{
	int rc;

	if ((rc = get_int(p, obj, base, where, "repetitions", 1, 1000, &s->repetitions)) ||
	    (rc = get_secs(p, obj, base, where, "min_time", 0, false, 3600, &s->min_time)) ||
	    (rc = get_secs(p, obj, base, where, "warmup", 0, true, 3600, &s->warmup)) ||
	    (rc = get_secs(p, obj, base, where, "timeout", 0, false, 86400, &s->timeout)) ||
	    (rc = get_strs(p, obj, base, where, "placements", &s->placements, &s->nplacements)) ||
	    (rc = get_threads(p, obj, base, where, &s->threads, &s->nthreads)))
		return rc;
	return 0;
}

static int copy_settings(struct suite *dst, const struct suite *src)
{
	dst->repetitions = src->repetitions;
	dst->min_time = src->min_time;
	dst->warmup = src->warmup;
	dst->timeout = src->timeout;
	dst->placements = calloc(src->nplacements, sizeof(char *));
	dst->threads = calloc(src->nthreads, sizeof(int));
	if (!dst->placements || !dst->threads)
		return -ENOMEM;
	for (size_t i = 0; i < src->nplacements; i++)
		if (!(dst->placements[dst->nplacements++] = strdup(src->placements[i])))
			return -ENOMEM;
	memcpy(dst->threads, src->threads, src->nthreads * sizeof(int));
	dst->nthreads = src->nthreads;
	return 0;
}

static void suite_fini(struct suite *s)
{
	free(s->family);
	free_strs(s->impls, s->nimpls);
	free(s->threads);
	free_strs(s->placements, s->nplacements);
	for (size_t i = 0; i < s->nparams; i++) {
		free(s->params[i].name);
		json_decref(s->params[i].values);
	}
	free(s->params);
	free(s->reference);
}

void iob_matrix_free(struct iob_matrix *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nsuites; i++)
		suite_fini(&m->suites[i]);
	free(m->suites);
	free(m->all_placements);
	free(m->name);
	free(m);
}

/* Every distinct placement in first-use order; sorting finds the first use of each. */
static int collect_placements(struct iob_matrix *m)
{
	struct keyed *k;
	bool *first;
	size_t n = 0, i;

	for (i = 0; i < m->nsuites; i++)
		n += m->suites[i].nplacements;
	free(m->all_placements);
	m->nall_placements = 0;
	m->all_placements = calloc(n + 1, sizeof(char *));
	k = malloc((n + 1) * sizeof(*k));
	first = calloc(n + 1, sizeof(*first));
	if (!m->all_placements || !k || !first) {
		free(k);
		free(first);
		return -ENOMEM;
	}
	n = 0;
	for (i = 0; i < m->nsuites; i++)
		for (size_t j = 0; j < m->suites[i].nplacements; j++, n++)
			k[n] = (struct keyed){ m->suites[i].placements[j], n };
	qsort(k, n, sizeof(*k), cmp_keyed);
	for (i = 0; i < n; i++)
		first[k[i].idx] = i == 0 || strcmp(k[i - 1].key, k[i].key) != 0;
	n = 0;
	for (i = 0; i < m->nsuites; i++)
		for (size_t j = 0; j < m->suites[i].nplacements; j++)
			if (first[n++])
				m->all_placements[m->nall_placements++] =
					m->suites[i].placements[j];
	free(k);
	free(first);
	return 0;
}

/* Cells of @p s (saturating at SIZE_MAX). */
static size_t suite_cells(const struct suite *s)
{
	size_t k = sat_mul(sat_mul(s->nimpls, s->nthreads), s->nplacements);

	for (size_t j = 0; j < s->nparams; j++)
		k = sat_mul(k, json_array_size(s->params[j].values));
	return k;
}

static size_t max_len(char *const *v, size_t n)
{
	size_t m = 0;

	for (size_t i = 0; i < n; i++)
		if (strlen(v[i]) > m)
			m = strlen(v[i]);
	return m;
}

/* The longest cell id of @p s: "<family>/<impl>[/<param>:<value>...]/threads:<N>@<placement>". */
static size_t suite_max_id(const struct suite *s)
{
	size_t len = strlen(s->family) + 1 + max_len(s->impls, s->nimpls) + strlen("/threads:") +
		     1 + max_len(s->placements, s->nplacements),
	       vmax;
	int tmax = 0;
	const json_t *e;
	size_t i;

	for (i = 0; i < s->nthreads; i++)
		tmax = s->threads[i] > tmax ? s->threads[i] : tmax;
	len += (size_t)snprintf(NULL, 0, "%d", tmax);
	for (size_t j = 0; j < s->nparams; j++) {
		vmax = 0;
		json_array_foreach(s->params[j].values, i, e)
		{
			size_t vl = json_is_integer(e)
					    ? (size_t)snprintf(NULL, 0, "%lld",
							       (long long)json_integer_value(e))
				    : json_is_string(e) ? strlen(json_string_value(e))
							: 0;

			if (!json_is_null(e) && strlen(s->params[j].name) + 2 + vl > vmax)
				vmax = strlen(s->params[j].name) + 2 + vl; /* "/name:value" */
		}
		len += vmax;
	}
	return len;
}

/* Suite @p i of @p m is parsed: keep the matrix within IOB_MATRIX_MAX_CELLS and IOB_MATRIX_MAX_ID. */
static int check_size(struct parser *p, const struct iob_matrix *m, size_t i, size_t *total)
{
	const struct suite *s = &m->suites[i];
	size_t k = suite_cells(s), combos = 1, id = suite_max_id(s);
	char base[64], count[32];

	snprintf(base, sizeof(base), "suites[%zu]", i);
	for (size_t j = 0; j < s->nparams; j++)
		combos = sat_mul(combos, json_array_size(s->params[j].values));
	if (k == SIZE_MAX)
		snprintf(count, sizeof(count), "2^64 or more");
	else
		snprintf(count, sizeof(count), "%zu", k);
	if (k > IOB_MATRIX_MAX_CELLS)
		return fail(p, base,
			    "suites[%zu] expands to %s cells (%zu impls x %zu threads x %zu "
			    "placements x %zu parameter combinations), more than the limit of %d "
			    "cells",
			    i, count, s->nimpls, s->nthreads, s->nplacements, combos,
			    IOB_MATRIX_MAX_CELLS);
	if (*total + k > IOB_MATRIX_MAX_CELLS)
		return fail(p, base,
			    "suites[%zu] brings the matrix to %zu cells, more than the limit of %d "
			    "cells",
			    i, *total + k, IOB_MATRIX_MAX_CELLS);
	*total += k;
	if (id > IOB_MATRIX_MAX_ID)
		return fail(p, base,
			    "suites[%zu]: cell ids up to %zu bytes long, more than the limit of %d "
			    "bytes (shorten names or use fewer parameters)",
			    i, id, IOB_MATRIX_MAX_ID);
	return 0;
}

/* Suites of one family name one reference: the first suite contradicting an earlier one fails. */
static int check_references(struct parser *p, const struct iob_matrix *m)
{
	struct keyed *k = malloc((m->nsuites + 1) * sizeof(*k));
	size_t n = 0, bad = m->nsuites, was = 0;
	char path[64];

	if (!k)
		return -ENOMEM;
	for (size_t i = 0; i < m->nsuites; i++)
		if (m->suites[i].reference)
			k[n++] = (struct keyed){ m->suites[i].family, i };
	qsort(k, n, sizeof(*k), cmp_keyed);
	for (size_t g = 0, i; g < n; g = i) { /* g: first suite of a family (lowest index) */
		const char *ref = m->suites[k[g].idx].reference;

		for (i = g + 1; i < n && strcmp(k[i].key, k[g].key) == 0; i++) {
			if (strcmp(m->suites[k[i].idx].reference, ref) && k[i].idx < bad) {
				bad = k[i].idx;
				was = k[g].idx;
			}
		}
	}
	free(k);
	if (bad == m->nsuites)
		return 0;
	snprintf(path, sizeof(path), "suites[%zu].reference", bad);
	return fail(p, path,
		    "key 'reference' in suites[%zu]: '%s' differs from suites[%zu]'s '%s' for "
		    "family %s",
		    bad, m->suites[bad].reference, was, m->suites[was].reference,
		    m->suites[bad].family);
}

static int parse_suite(struct parser *p, const json_t *obj, size_t idx, const struct suite *defs,
		       struct suite *s)
{
	static const char *const keys[] = { "family",	   "impls",    "params", "reference",
					    "repetitions", "min_time", "warmup", "timeout",
					    "placements",  "threads" };
	char base[64], where[64], path[128], why[160] = "", what[128];
	const json_t *fam, *ref;
	const char *f, *slash;
	int rc;

	snprintf(base, sizeof(base), "suites[%zu]", idx);
	snprintf(where, sizeof(where), "suites[%zu]", idx);
	if (!json_is_object(obj))
		return fail(p, base, "suites[%zu]: expected an object, got %s", idx,
			    type_name(obj));
	if ((rc = check_keys(p, obj, base, where, keys, NELEM(keys))))
		return rc;
	fam = json_object_get(obj, "family");
	snprintf(path, sizeof(path), "%s.family", base);
	if (!fam)
		return fail(p, base, "suites[%zu]: missing key 'family' (e.g. \"queue/pairs\")",
			    idx);
	f = json_string_value(fam);
	slash = f ? strchr(f, '/') : NULL;
	if (!f || !slash || slash == f || !slash[1] || strchr(slash + 1, '/') ||
	    iob_name_check(f, IOB_NAME_GROUP, why, sizeof(why)))
		return fail(p, path,
			    "key 'family' in %s: expected \"<family>/<scenario>\" (e.g. "
			    "\"queue/pairs\")%s%s",
			    where, f && *why ? "; " : "", f ? why : "");
	snprintf(what, sizeof(what), "key 'family' in %s", where);
	if ((rc = check_len(p, path, what, f)))
		return rc;
	if (!(s->family = strdup(f)))
		return -ENOMEM;
	if (!json_object_get(obj, "impls"))
		return fail(p, base, "suites[%zu]: missing key 'impls' (a list of implementations)",
			    idx);
	if ((rc = get_strs(p, obj, base, where, "impls", &s->impls, &s->nimpls)))
		return rc;
	if ((rc = copy_settings(s, defs)) || (rc = get_settings(p, obj, base, where, s)) ||
	    (rc = get_params(p, obj, base, where, s)))
		return rc;
	ref = json_object_get(obj, "reference");
	if (ref) {
		snprintf(path, sizeof(path), "%s.reference", base);
		if (!json_is_string(ref) || !name_token(json_string_value(ref), why))
			return fail(p, path,
				    "key 'reference' in %s: expected an implementation name, got "
				    "%s%s%s",
				    where, type_name(ref), json_is_string(ref) ? "; " : "",
				    json_is_string(ref) ? why : "");
		snprintf(what, sizeof(what), "key 'reference' in %s", where);
		if ((rc = check_len(p, path, what, json_string_value(ref))))
			return rc;
		if (!(s->reference = strdup(json_string_value(ref))))
			return -ENOMEM;
	}
	return 0;
}

int iob_matrix_parse(const char *text, const char *path, struct iob_matrix **out, char *err,
		     size_t errlen)
{
	static const char *const top_keys[] = { "name", "defaults", "suites" };
	struct parser p = { .file = path, .err = err, .errlen = errlen };
	struct suite defs = { .repetitions = 3, .min_time = 0.1, .warmup = 0.05, .timeout = 60 };
	struct iob_matrix *m = NULL;
	json_error_t jerr;
	json_t *root, *v, *suites;
	size_t ncells = 0;
	int rc;

	if (err && errlen)
		err[0] = '\0';
	root = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		snprintf(err, errlen, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
		rc = -EINVAL;
		goto out;
	}
	scan_lines(&p, text);
	rc = -ENOMEM;
	m = calloc(1, sizeof(*m));
	defs.placements = calloc(1, sizeof(char *));
	defs.threads = calloc(1, sizeof(int));
	if (p.nomem || !m || !defs.placements || !defs.threads ||
	    !(defs.placements[0] = strdup("compact")))
		goto out;
	defs.nplacements = 1;
	defs.threads[0] = 1;
	defs.nthreads = 1;
	rc = -EINVAL;
	if (!json_is_object(root)) {
		rc = fail(&p, "", "expected an object {\"suites\": [...]}, got %s",
			  type_name(root));
		goto out;
	}
	if ((rc = check_keys(&p, root, "", "the top level", top_keys, NELEM(top_keys))))
		goto out;
	v = json_object_get(root, "name");
	if (v && (!json_is_string(v) || !*json_string_value(v) ||
		  iob_has_control(json_string_value(v)))) {
		rc = fail(&p, "name",
			  "key 'name': expected a non-empty string without control characters, got "
			  "%s",
			  type_name(v));
		goto out;
	}
	if (v && (rc = check_len(&p, "name", "key 'name'", json_string_value(v))))
		goto out;
	m->name = strdup(v ? json_string_value(v) : "unnamed");
	rc = -ENOMEM;
	if (!m->name)
		goto out;
	v = json_object_get(root, "defaults");
	if (v) {
		if (!json_is_object(v)) {
			rc = fail(&p, "defaults", "key 'defaults': expected an object, got %s",
				  type_name(v));
			goto out;
		}
		if ((rc = check_keys(&p, v, "defaults", "defaults", setting_keys,
				     NELEM(setting_keys))) ||
		    (rc = get_settings(&p, v, "defaults", "defaults", &defs)))
			goto out;
	}
	suites = json_object_get(root, "suites");
	if (!suites) {
		rc = fail(&p, "", "missing key 'suites' (a list of suites)");
		goto out;
	}
	if (!json_is_array(suites) || json_array_size(suites) == 0) {
		rc = fail(&p, "suites", "key 'suites': expected a non-empty list of suites, got %s",
			  json_is_array(suites) ? "an empty list" : type_name(suites));
		goto out;
	}
	rc = -ENOMEM;
	m->suites = calloc(json_array_size(suites), sizeof(*m->suites));
	if (!m->suites)
		goto out;
	for (size_t i = 0; i < json_array_size(suites); i++) {
		rc = parse_suite(&p, json_array_get(suites, i), i, &defs, &m->suites[i]);
		m->nsuites++;
		if (rc || (rc = check_size(&p, m, i, &ncells)))
			goto out;
	}
	if ((rc = check_references(&p, m)))
		goto out;
	rc = collect_placements(m);
out:
	if (rc == -ENOMEM && err && errlen && !err[0])
		snprintf(err, errlen, "%s: out of memory", path);
	if (rc && err && errlen)
		iob_one_line(err); /* one line, whatever it quotes */
	suite_fini(&defs);
	for (size_t i = 0; i < p.nlines; i++)
		free(p.lines[i].path);
	free(p.lines);
	json_decref(root);
	if (rc) {
		iob_matrix_free(m);
		return rc;
	}
	*out = m;
	return 0;
}

int iob_matrix_load(const char *path, struct iob_matrix **out, char *err, size_t errlen)
{
	size_t size;
	char *text = iob_read_file_max(path, IOB_MATRIX_MAX_BYTES, &size);
	int rc;

	if (!text) {
		rc = -errno;
		if (rc == -EFBIG)
			snprintf(err, errlen,
				 "%s: larger than the limit of %d bytes (%d MiB) for a matrix file",
				 path, IOB_MATRIX_MAX_BYTES, IOB_MATRIX_MAX_BYTES >> 20);
		else
			snprintf(err, errlen, "%s: cannot read: %s", path, strerror(-rc));
		return rc;
	}
	if (strlen(text) != size) {
		snprintf(err, errlen, "%s: a NUL byte at offset %zu (not a text file)", path,
			 strlen(text));
		free(text);
		return -EINVAL;
	}
	rc = iob_matrix_parse(text, path, out, err, errlen);
	free(text);
	return rc;
}

int iob_matrix_default(const struct iob_catalogue *cat, struct iob_matrix **out, char *err,
		       size_t errlen)
{
	char *text = iob_catalogue_matrix_text(cat, default_settings);
	int rc;

	if (!text)
		return -ENOMEM;
	rc = iob_matrix_parse(text, default_path, out, err, errlen);
	free(text);
	return rc;
}

int iob_matrix_override(struct iob_matrix *m, int repetitions, double min_time, double timeout,
			const char *placement)
{
	for (size_t i = 0; i < m->nsuites; i++) {
		struct suite *s = &m->suites[i];

		if (repetitions > 0)
			s->repetitions = repetitions;
		if (min_time > 0)
			s->min_time = min_time;
		if (timeout > 0)
			s->timeout = timeout;
		if (placement) {
			char *dup = strdup(placement);

			if (!dup)
				return -ENOMEM;
			free_strs(s->placements, s->nplacements);
			s->placements = calloc(1, sizeof(char *));
			if (!s->placements) {
				free(dup);
				s->nplacements = 0;
				return -ENOMEM;
			}
			s->placements[0] = dup;
			s->nplacements = 1;
		}
	}
	return collect_placements(m);
}

const char *iob_matrix_name(const struct iob_matrix *m)
{
	return m->name;
}

const char *const *iob_matrix_placements(const struct iob_matrix *m, size_t *n)
{
	*n = m->nall_placements;
	return m->all_placements;
}

static json_t *str_array(char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++)
		if (json_array_append_new(a, json_string(v[i]))) {
			json_decref(a);
			return NULL;
		}
	return a;
}

json_t *iob_matrix_json(const struct iob_matrix *m)
{
	json_t *root = json_object(), *suites = json_array();

	if (!root || !suites || json_object_set_new(root, "name", json_string(m->name)) ||
	    json_object_set(root, "suites", suites))
		goto fail;
	for (size_t i = 0; i < m->nsuites; i++) {
		const struct suite *s = &m->suites[i];
		json_t *o = json_object(), *th = json_array(), *params = json_object();

		if (!o || !th || !params || json_array_append_new(suites, o)) {
			json_decref(o);
			json_decref(th);
			json_decref(params);
			goto fail;
		}
		for (size_t k = 0; k < s->nthreads; k++)
			json_array_append_new(th, json_integer(s->threads[k]));
		for (size_t k = 0; k < s->nparams; k++)
			json_object_set(params, s->params[k].name, s->params[k].values);
		if (json_object_set_new(o, "family", json_string(s->family)) ||
		    json_object_set_new(o, "impls", str_array(s->impls, s->nimpls)) ||
		    json_object_set_new(o, "threads", th) ||
		    json_object_set_new(o, "placements",
					str_array(s->placements, s->nplacements)) ||
		    json_object_set_new(o, "params", params) ||
		    (s->reference &&
		     json_object_set_new(o, "reference", json_string(s->reference))) ||
		    json_object_set_new(o, "repetitions", json_integer(s->repetitions)) ||
		    json_object_set_new(o, "min_time", json_real(s->min_time)) ||
		    json_object_set_new(o, "warmup", json_real(s->warmup)) ||
		    json_object_set_new(o, "timeout", json_real(s->timeout)))
			goto fail;
	}
	json_decref(suites);
	return root;
fail:
	json_decref(suites);
	json_decref(root);
	return NULL;
}

json_t *iob_matrix_references(const struct iob_matrix *m)
{
	json_t *o = json_object();

	for (size_t i = 0; o && i < m->nsuites; i++)
		if (m->suites[i].reference &&
		    json_object_set_new(o, m->suites[i].family,
					json_string(m->suites[i].reference))) {
			json_decref(o);
			return NULL;
		}
	return o;
}

/* --- expansion --- */

/* Append @p s to @p buf, backslash-escaping POSIX extended regex metacharacters. */
static void regex_escape(char *buf, size_t len, const char *s)
{
	size_t n = strlen(buf);

	for (; *s && n + 2 < len; s++) {
		if (strchr(".[]{}()*+?^$|\\", *s))
			buf[n++] = '\\';
		buf[n++] = *s;
	}
	buf[n] = '\0';
}

static void param_value(const json_t *v, char *out, size_t len)
{
	if (json_is_integer(v))
		snprintf(out, len, "%lld", (long long)json_integer_value(v));
	else
		snprintf(out, len, "%s", json_string_value(v));
}

static int cmp_cell(const void *a, const void *b)
{
	return strcmp(((const struct iob_cell *)a)->id, ((const struct iob_cell *)b)->id);
}

void iob_cells_free(struct iob_cell *cells, size_t n)
{
	if (!cells)
		return;
	for (size_t i = 0; i < n; i++) {
		free(cells[i].id);
		free(cells[i].bench);
		free(cells[i].filter);
		free(cells[i].placement);
	}
	free(cells);
}

int iob_matrix_expand(const struct iob_matrix *m, struct iob_cell **out, size_t *n, char *err,
		      size_t errlen)
{
	struct iob_cell *cells;
	size_t total = 0, nc = 0;

	for (size_t i = 0; i < m->nsuites; i++)
		total += suite_cells(&m->suites[i]); /* parsing kept it <= IOB_MATRIX_MAX_CELLS */
	if (total > IOB_MATRIX_MAX_CELLS) {
		snprintf(err, errlen, "%zu cells, more than the limit of %d cells", total,
			 IOB_MATRIX_MAX_CELLS);
		return -EINVAL;
	}
	cells = calloc(total + 1, sizeof(*cells));
	if (!cells)
		return -ENOMEM;
	for (size_t i = 0; i < m->nsuites; i++) {
		const struct suite *s = &m->suites[i];
		size_t idx[16] = { 0 }, np = s->nparams < 16 ? s->nparams : 16;

		for (size_t im = 0; im < s->nimpls; im++) {
			memset(idx, 0, sizeof(idx));
			for (;;) { /* every combination of parameter values */
				char base[IOB_MATRIX_MAX_ID + 1], val[IOB_MATRIX_MAX_NAME + 1];

				snprintf(base, sizeof(base), "%s/%s", s->family, s->impls[im]);
				for (size_t j = 0; j < np; j++) {
					const json_t *v =
						json_array_get(s->params[j].values, idx[j]);

					if (json_is_null(v))
						continue;
					param_value(v, val, sizeof(val));
					snprintf(base + strlen(base), sizeof(base) - strlen(base),
						 "/%s:%s", s->params[j].name, val);
				}
				for (size_t it = 0; it < s->nthreads; it++) {
					for (size_t ip = 0; ip < s->nplacements; ip++) {
						struct iob_cell *c = &cells[nc++];
						/* the filter escapes at most every byte of base */
						char buf[2 * IOB_MATRIX_MAX_ID + 64];

						snprintf(buf, sizeof(buf), "%s/threads:%d", base,
							 s->threads[it]);
						c->bench = strdup(buf);
						snprintf(buf, sizeof(buf), "%s/threads:%d@%s", base,
							 s->threads[it], s->placements[ip]);
						c->id = strdup(buf);
						strcpy(buf, "^");
						regex_escape(buf, sizeof(buf), base);
						snprintf(buf + strlen(buf),
							 sizeof(buf) - strlen(buf),
							 "(/real_time|/manual_time)?/threads:%d$",
							 s->threads[it]);
						c->filter = strdup(buf);
						c->placement = strdup(s->placements[ip]);
						c->family = s->family;
						c->impl = s->impls[im];
						c->threads = s->threads[it];
						c->repetitions = s->repetitions;
						c->min_time = s->min_time;
						c->warmup = s->warmup;
						c->timeout = s->timeout;
						c->suite = i;
						if (!c->bench || !c->id || !c->filter ||
						    !c->placement) {
							iob_cells_free(cells, nc);
							return -ENOMEM;
						}
					}
				}
				/* next combination (odometer) */
				size_t j = 0;

				while (j < np && ++idx[j] == json_array_size(s->params[j].values))
					idx[j++] = 0;
				if (j == np)
					break;
			}
		}
	}
	qsort(cells, nc, sizeof(*cells), cmp_cell);
	for (size_t i = 1; i < nc; i++) {
		if (strcmp(cells[i - 1].id, cells[i].id) == 0) {
			snprintf(err, errlen, "cell %s comes from both suites[%zu] and suites[%zu]",
				 cells[i].id,
				 cells[i - 1].suite < cells[i].suite ? cells[i - 1].suite
								     : cells[i].suite,
				 cells[i - 1].suite < cells[i].suite ? cells[i].suite
								     : cells[i - 1].suite);
			iob_cells_free(cells, nc);
			return -EINVAL;
		}
	}
	*out = cells;
	*n = nc;
	return 0;
}

int iob_shard_parse(const char *s, int *k, int *n)
{
	char *end;
	long a, b;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	a = strtol(s, &end, 10);
	if (errno || *end != '/' || end[1] < '0' || end[1] > '9')
		return -EINVAL;
	b = strtol(end + 1, &end, 10);
	if (errno || *end || b < 1 || b > 100000 || a < 0 || a >= b)
		return -EINVAL;
	*k = (int)a;
	*n = (int)b;
	return 0;
}
