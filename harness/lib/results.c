/*
 * Results files: load with validation, save atomically, take benchmark names apart, collect
 * samples per benchmark.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "quote.h"
#include "catalogue.h"
#include "results.h"

static void copy_part(char *dst, size_t len, const char *src, size_t n)
{
	if (n >= len)
		n = len - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

int iob_name_parse(const char *name, struct iob_name *out)
{
	const char *parts[32];
	size_t lens[32], n = 0;
	const char *p = name;

	memset(out, 0, sizeof(*out));
	out->threads = 1;
	while (*p && n < 32) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);

		parts[n] = p;
		lens[n++] = len;
		p += len;
		if (*p == '/')
			p++;
	}
	if (n < 3)
		return -EINVAL;
	copy_part(out->family, sizeof(out->family), parts[0], lens[0]);
	copy_part(out->scenario, sizeof(out->scenario), parts[1], lens[1]);
	copy_part(out->impl, sizeof(out->impl), parts[2], lens[2]);
	for (size_t i = 3; i < n; i++) {
		const char *s = parts[i];
		size_t len = lens[i];

		if (len > 8 && strncmp(s, "threads:", 8) == 0) {
			out->threads = atoi(s + 8);
		} else if ((len == 9 && strncmp(s, "real_time", 9) == 0) ||
			   (len == 11 && strncmp(s, "manual_time", 11) == 0)) {
			copy_part(out->timing, sizeof(out->timing), s, len);
		} else if (len > 11 && strncmp(s, "iterations:", 11) == 0) {
			continue;
		} else {
			size_t used = strlen(out->params);

			if (used && used + 1 < sizeof(out->params))
				out->params[used++] = '/';
			copy_part(out->params + used, sizeof(out->params) - used, s, len);
		}
	}
	return 0;
}

/* --- the name grammar --------------------------------------------------------------------- */

static bool name_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-' || c == '.' || c == ':' || c == ',' || c == '/' || c == '@';
}

/* The character at @p p for a message: "'x' (0x78)", "'\n' (0x0a)", "U+00E9". */
static void describe_char(char *buf, size_t len, const unsigned char *p)
{
	char one[2] = { (char)*p, '\0' }, esc[16];
	unsigned long cp;
	int more;

	if (*p < 0x80) {
		snprintf(buf, len, "'%s' (0x%02x)",
			 *p == '\'' ? "\\'" : iob_escape(esc, sizeof(esc), one), *p);
		return;
	}
	/* A UTF-8 sequence (jansson loads valid UTF-8 only); a stray byte is named as a byte. */
	more = *p >= 0xf0 ? 3 : *p >= 0xe0 ? 2 : *p >= 0xc0 ? 1 : -1;
	cp = more == 3 ? *p & 0x07u : more == 2 ? *p & 0x0fu : *p & 0x1fu;
	for (int i = 1; i <= more; i++) {
		if ((p[i] & 0xc0) != 0x80) {
			more = -1;
			break;
		}
		cp = cp << 6 | (p[i] & 0x3fu);
	}
	if (more < 0)
		snprintf(buf, len, "byte 0x%02x", *p);
	else
		snprintf(buf, len, "U+%04lX", cp);
}

int iob_name_check(const char *s, enum iob_name_kind kind, char *why, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t tok = 0, ntok = 1, i;
	bool at = false;
	char ch[32];

	if (!*p) {
		snprintf(why, len, "empty name");
		return -EINVAL;
	}
	for (i = 0; p[i]; i++) {
		if (!name_char(p[i])) {
			describe_char(ch, sizeof(ch), p + i);
			snprintf(why, len,
				 "character %s at offset %zu is not allowed; names hold only "
				 "%s",
				 ch, i, IOB_NAME_CHARSET);
			return -EINVAL;
		}
		if (p[i] == '/') {
			if (kind == IOB_NAME_TOKEN || at) {
				snprintf(why, len,
					 "character '/' at offset %zu is not allowed in %s", i,
					 at ? "the placement after '@'"
					    : "an implementation, placement or parameter");
				return -EINVAL;
			}
			if (i == tok)
				goto empty;
			tok = i + 1;
			ntok++;
		} else if (p[i] == '@') {
			if (kind != IOB_NAME_BENCH || at || i == tok || !p[i + 1]) {
				snprintf(why, len,
					 "character '@' at offset %zu is not allowed here (only in "
					 "a "
					 "cell id, once, between the last token and its placement)",
					 i);
				return -EINVAL;
			}
			at = true;
		}
	}
	if (i == tok)
		goto empty;
	if (kind == IOB_NAME_GROUP && ntok != 2) {
		snprintf(why, len, "expected <family>/<scenario>, got %zu token%s", ntok,
			 ntok == 1 ? "" : "s");
		return -EINVAL;
	}
	return 0;
empty:
	snprintf(why, len, "empty token at offset %zu ('/' at the start, at the end or twice)", i);
	return -EINVAL;
}

/* --- loading ------------------------------------------------------------------------------- */

/* Check @p v, found at @p where in @p path, as a @p kind name; on failure the message to @p err. */
static int check_name(const char *path, const char *where, const char *v, enum iob_name_kind kind,
		      char *err, size_t errlen)
{
	char why[256], shown[128];

	if (!iob_name_check(v, kind, why, sizeof(why)))
		return 0;
	snprintf(err, errlen, "%s: %s \"%s\": %s", path, where, iob_escape(shown, sizeof(shown), v),
		 why);
	return -EINVAL;
}

/* Key @p key of @p obj: absent is fine, a string is checked as @p kind, anything else is refused. */
static int check_member(const char *path, const json_t *obj, const char *base, const char *key,
			enum iob_name_kind kind, char *err, size_t errlen)
{
	const json_t *v = json_object_get(obj, key);
	char where[160];

	snprintf(where, sizeof(where), "%s.%s", base, key);
	if (!v)
		return 0;
	if (!json_is_string(v)) {
		snprintf(err, errlen, "%s: %s is not a string", path, where);
		return -EINVAL;
	}
	return check_name(path, where, json_string_value(v), kind, err, errlen);
}

/* The strings of array @p key of @p obj (other elements are the matrix parser's to refuse). */
static int check_strings(const char *path, const json_t *obj, const char *base, const char *key,
			 enum iob_name_kind kind, char *err, size_t errlen)
{
	const json_t *e;
	char where[192];
	size_t i;

	json_array_foreach(json_object_get(obj, key), i, e)
	{
		snprintf(where, sizeof(where), "%s.%s[%zu]", base, key, i);
		if (json_is_string(e) &&
		    check_name(path, where, json_string_value(e), kind, err, errlen))
			return -EINVAL;
	}
	return 0;
}

/*
 * The names a recorded matrix holds (run --resume runs it, and its reference becomes the run's
 * iobench_references): families, implementations, parameters, placements, reference. Its shape is
 * left to iob_matrix_parse(), which names its own errors.
 */
static int check_matrix(const char *path, const json_t *m, char *err, size_t errlen)
{
	const json_t *suite, *vals, *e;
	char base[96], where[224];
	const char *pname;
	size_t i, k;

	if (check_strings(path, json_object_get(m, "defaults"), "context.iobench_matrix.defaults",
			  "placements", IOB_NAME_TOKEN, err, errlen))
		return -EINVAL;
	json_array_foreach(json_object_get(m, "suites"), i, suite)
	{
		snprintf(base, sizeof(base), "context.iobench_matrix.suites[%zu]", i);
		if (!json_is_object(suite))
			continue;
		if ((json_is_string(json_object_get(suite, "family")) &&
		     check_member(path, suite, base, "family", IOB_NAME_GROUP, err, errlen)) ||
		    (json_is_string(json_object_get(suite, "reference")) &&
		     check_member(path, suite, base, "reference", IOB_NAME_TOKEN, err, errlen)) ||
		    check_strings(path, suite, base, "impls", IOB_NAME_TOKEN, err, errlen) ||
		    check_strings(path, suite, base, "placements", IOB_NAME_TOKEN, err, errlen))
			return -EINVAL;
		json_object_foreach((json_t *)json_object_get(suite, "params"), pname, vals)
		{
			snprintf(where, sizeof(where), "%s.params key", base);
			if (check_name(path, where, pname, IOB_NAME_TOKEN, err, errlen))
				return -EINVAL;
			json_array_foreach(vals, k, e)
			{
				snprintf(where, sizeof(where), "%s.params.%s[%zu]", base, pname, k);
				if (json_is_string(e) &&
				    check_name(path, where, json_string_value(e), IOB_NAME_TOKEN,
					       err, errlen))
					return -EINVAL;
			}
		}
	}
	return 0;
}

/* Every name in the context: references, the recorded matrix, the cell ids. */
static int check_context(const char *path, const json_t *ctx, char *err, size_t errlen)
{
	const json_t *refs = json_object_get(ctx, "iobench_references"), *v, *cell;
	const char *key;
	char where[192], shown[96];
	size_t i;

	if (refs && !json_is_object(refs)) {
		snprintf(err, errlen, "%s: context.iobench_references is not an object", path);
		return -EINVAL;
	}
	json_object_foreach((json_t *)refs, key, v)
	{
		if (check_name(path, "context.iobench_references key", key, IOB_NAME_GROUP, err,
			       errlen))
			return -EINVAL;
		snprintf(where, sizeof(where), "context.iobench_references[\"%s\"]",
			 iob_escape(shown, sizeof(shown), key));
		if (!json_is_string(v)) {
			snprintf(err, errlen, "%s: %s is not a string", path, where);
			return -EINVAL;
		}
		if (check_name(path, where, json_string_value(v), IOB_NAME_TOKEN, err, errlen))
			return -EINVAL;
	}
	if (json_is_object(json_object_get(ctx, "iobench_matrix")) &&
	    check_matrix(path, json_object_get(ctx, "iobench_matrix"), err, errlen))
		return -EINVAL;
	json_array_foreach(json_object_get(ctx, "iobench_cells"), i, cell)
	{
		snprintf(where, sizeof(where), "context.iobench_cells[%zu]", i);
		if (json_is_object(cell) &&
		    check_member(path, cell, where, "id", IOB_NAME_BENCH, err, errlen))
			return -EINVAL;
	}
	return 0;
}

/* The longest string or key in @p j (jansson caps nesting at 2048 levels). */
static size_t longest_string(const json_t *j)
{
	size_t m = 0, i;
	const char *key;
	json_t *v;

	if (json_is_string(j))
		return json_string_length(j);
	json_object_foreach((json_t *)j, key, v)
	{
		size_t n = strlen(key), l = longest_string(v);

		m = n > m ? n : m;
		m = l > m ? l : m;
	}
	json_array_foreach(j, i, v)
	{
		size_t l = longest_string(v);

		m = l > m ? l : m;
	}
	return m;
}

/* IOB_RESULTS_MAX_ROWS and IOB_RESULTS_MAX_STRING, naming the row or top-level key. */
static int check_limits(const char *path, const json_t *root, const json_t *rows, char *err,
			size_t errlen)
{
	const char *key;
	json_t *v;
	size_t i, n;

	if (json_array_size(rows) > IOB_RESULTS_MAX_ROWS) {
		snprintf(err, errlen,
			 "%s: %zu rows in \"benchmarks\", more than the limit of %d rows", path,
			 json_array_size(rows), IOB_RESULTS_MAX_ROWS);
		return -EINVAL;
	}
	json_object_foreach((json_t *)root, key, v)
	{
		if (v == rows)
			continue;
		if ((n = strlen(key)) > IOB_RESULTS_MAX_STRING ||
		    (n = longest_string(v)) > IOB_RESULTS_MAX_STRING) {
			snprintf(err, errlen,
				 "%s: \"%.40s\" holds a string of %zu bytes, more than the limit "
				 "of %d "
				 "bytes",
				 path, key, n, IOB_RESULTS_MAX_STRING);
			return -EINVAL;
		}
	}
	json_array_foreach(rows, i, v)
	{
		if ((n = longest_string(v)) > IOB_RESULTS_MAX_STRING) {
			snprintf(err, errlen,
				 "%s: benchmarks[%zu] holds a string of %zu bytes, more than the "
				 "limit "
				 "of %d bytes",
				 path, i, n, IOB_RESULTS_MAX_STRING);
			return -EINVAL;
		}
	}
	return 0;
}

json_t *iob_results_load(const char *path, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root, *rows;
	struct stat st = { 0 };
	char where[48];
	size_t i;
	json_t *row;

	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: %s", path, strerror(EISDIR));
		return NULL;
	}
	if (S_ISREG(st.st_mode) && st.st_size > IOB_RESULTS_MAX_BYTES) { /* before reading it */
		snprintf(err, errlen,
			 "%s: %lld bytes, more than the limit of %ld bytes (%ld MiB) for a results "
			 "file",
			 path, (long long)st.st_size, IOB_RESULTS_MAX_BYTES,
			 IOB_RESULTS_MAX_BYTES >> 20);
		return NULL;
	}
	root = json_load_file(path, 0, &jerr);
	if (!root) {
		if (access(path, F_OK) != 0)
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		else
			snprintf(err, errlen, "%s:%d:%d: not valid JSON: %s", path, jerr.line,
				 jerr.column, jerr.text);
		if (errlen)
			iob_one_line(err); /* jansson quotes the input */
		return NULL;
	}
	if (!json_is_object(root) || !json_is_object(json_object_get(root, "context"))) {
		snprintf(err, errlen, "%s: not a results file (no \"context\" object)", path);
		goto bad;
	}
	rows = json_object_get(root, "benchmarks");
	if (!json_is_array(rows)) {
		snprintf(err, errlen, "%s: not a results file (no \"benchmarks\" array)", path);
		goto bad;
	}
	if (check_limits(path, root, rows, err, errlen))
		goto bad;
	json_array_foreach(rows, i, row)
	{
		if (!json_is_object(row) || !json_is_string(json_object_get(row, "name"))) {
			snprintf(err, errlen, "%s: benchmarks[%zu] has no \"name\" string", path,
				 i);
			goto bad;
		}
		snprintf(where, sizeof(where), "benchmarks[%zu]", i);
		if (check_member(path, row, where, "name", IOB_NAME_BENCH, err, errlen) ||
		    check_member(path, row, where, "run_name", IOB_NAME_BENCH, err, errlen) ||
		    check_member(path, row, where, "iobench_cell", IOB_NAME_BENCH, err, errlen) ||
		    check_member(path, row, where, "iobench_placement", IOB_NAME_TOKEN, err,
				 errlen))
			goto bad;
	}
	if (check_context(path, json_object_get(root, "context"), err, errlen))
		goto bad;
	return root;
bad:
	json_decref(root);
	return NULL;
}

/*
 * jansson's json_dumpfd() makes one write() per token: a results file of 10^6 rows took tens of
 * seconds in system calls. Its output goes through this buffer instead.
 */
struct out_buf {
	int fd;
	int err; /* the first write error, -errno */
	size_t n;
	char b[1 << 16];
};

static int out_flush(struct out_buf *o)
{
	for (size_t done = 0; done < o->n && !o->err;) {
		ssize_t w = write(o->fd, o->b + done, o->n - done);

		if (w < 0 && errno != EINTR)
			o->err = -errno;
		else if (w > 0)
			done += (size_t)w;
	}
	o->n = 0;
	return o->err;
}

static int out_put(const char *buf, size_t size, void *data)
{
	struct out_buf *o = data;

	while (size && !o->err) {
		size_t k = sizeof(o->b) - o->n < size ? sizeof(o->b) - o->n : size;

		memcpy(o->b + o->n, buf, k);
		o->n += k;
		buf += k;
		size -= k;
		if (o->n == sizeof(o->b))
			out_flush(o);
	}
	return o->err ? -1 : 0;
}

int iob_json_save(const char *path, json_t *root, size_t flags)
{
	char tmp[PATH_MAX];
	const char *slash = strrchr(path, '/');
	struct out_buf *out;
	mode_t mask;
	int fd, err;

	if (slash)
		snprintf(tmp, sizeof(tmp), "%.*s/.%s.XXXXXX", (int)(slash - path), path, slash + 1);
	else
		snprintf(tmp, sizeof(tmp), ".%s.XXXXXX", path);
	fd = mkstemp(tmp);
	if (fd < 0)
		return -errno;
	mask = umask(0);
	umask(mask);
	(void)fchmod(fd, 0666 & ~mask); /* mkstemp makes 0600; results are for sharing */
	errno = 0;
	out = malloc(sizeof(*out));
	if (out)
		*out = (struct out_buf){ .fd = fd };
	if (!out || json_dump_callback(root, out_put, out, flags) || out_put("\n", 1, out) ||
	    out_flush(out) || fsync(fd)) {
		err = out && out->err ? out->err : errno ? -errno : -EIO;
		free(out);
		close(fd);
		unlink(tmp);
		return err;
	}
	free(out);
	if (close(fd) || rename(tmp, path)) {
		err = -errno;
		unlink(tmp);
		return err;
	}
	return 0;
}

int iob_results_save(const char *path, json_t *root)
{
	return iob_json_save(path, root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
}

/* --- the index by name ---------------------------------------------------------------------- */

/* A run_type "iteration" (or untyped) row without error_occurred: the rows that are samples. */
static bool sample_row(const json_t *row)
{
	const char *type = json_string_value(json_object_get(row, "run_type"));

	return (!type || strcmp(type, "iteration") == 0) &&
	       !json_is_true(json_object_get(row, "error_occurred"));
}

struct named_row {
	const char *name;
	size_t i; /* position in "benchmarks": ties keep file order */
};

static int cmp_named_row(const void *x, const void *y)
{
	const struct named_row *a = x, *b = y;
	int c = strcmp(a->name, b->name);

	return c ? c : (a->i > b->i) - (a->i < b->i);
}

void iob_index_free(struct iob_index *ix)
{
	free(ix->bench);
	free(ix->by_name);
	free(ix->rows);
	memset(ix, 0, sizeof(*ix));
}

int iob_index_build(const json_t *root, struct iob_index *out)
{
	const json_t *rows = json_object_get(root, "benchmarks");
	size_t nrows = json_array_size(rows), n = 0, ngroups = 0, i, k;
	struct named_row *nr = calloc(nrows + 1, sizeof(*nr));
	long *group_at = malloc((nrows + 1) * sizeof(*group_at)); /* row -> group it starts */
	size_t *start = malloc((nrows + 1) * sizeof(*start));	  /* group -> offset in nr */
	json_t *row;

	memset(out, 0, sizeof(*out));
	out->rows = malloc((nrows + 1) * sizeof(*out->rows));
	out->bench = calloc(nrows + 1, sizeof(*out->bench));
	out->by_name = malloc((nrows + 1) * sizeof(*out->by_name));
	if (!nr || !group_at || !start || !out->rows || !out->bench || !out->by_name)
		goto nomem;
	json_array_foreach(rows, i, row)
	{
		const char *name = json_string_value(json_object_get(row, "name"));

		group_at[i] = -1;
		if (name)
			nr[n++] = (struct named_row){ .name = name, .i = i };
	}
	qsort(nr, n, sizeof(*nr), cmp_named_row);
	for (k = 0; k < n; k++) {
		out->rows[k] = json_array_get(rows, nr[k].i);
		if (k == 0 || strcmp(nr[k].name, nr[k - 1].name)) {
			start[ngroups] = k;
			group_at[nr[k].i] = (long)ngroups++;
		}
	}
	start[ngroups] = n;
	/* Groups come in name order; the entries in the order of their first rows. */
	for (i = 0; i < nrows; i++) {
		struct iob_bench *b = &out->bench[out->n];
		long g = group_at[i];

		if (g < 0)
			continue;
		b->name = nr[start[g]].name;
		b->rows = out->rows + start[g];
		b->nrows = start[g + 1] - start[g];
		b->first = b->rows[0];
		for (k = 0; k < b->nrows && !b->first_iteration; k++)
			if (sample_row(b->rows[k]))
				b->first_iteration = b->rows[k];
		out->by_name[g] = out->n++;
	}
	free(nr);
	free(group_at);
	free(start);
	return 0;
nomem:
	free(nr);
	free(group_at);
	free(start);
	iob_index_free(out);
	return -ENOMEM;
}

/* The position in ix->bench of @p name, or -1. */
static long index_pos(const struct iob_index *ix, const char *name)
{
	size_t lo = 0, hi = ix->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(ix->bench[ix->by_name[mid]].name, name);

		if (c == 0)
			return (long)ix->by_name[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

const struct iob_bench *iob_index_find(const struct iob_index *ix, const char *name)
{
	long p = index_pos(ix, name);

	return p < 0 ? NULL : &ix->bench[p];
}

int iob_results_samples(const struct iob_index *ix, const char *field, struct iob_sample_set *out)
{
	memset(out, 0, sizeof(*out));
	out->ix = ix;
	out->s = calloc(ix->n + 1, sizeof(*out->s));
	out->of_bench = malloc((ix->n + 1) * sizeof(*out->of_bench));
	if (!out->s || !out->of_bench)
		goto nomem;
	for (size_t b = 0; b < ix->n; b++) {
		const struct iob_bench *e = &ix->bench[b];
		struct iob_samples *x = &out->s[out->n];

		out->of_bench[b] = -1;
		for (size_t k = 0; k < e->nrows; k++) {
			const json_t *v = json_object_get(e->rows[k], field);

			if (!json_is_number(v) || !sample_row(e->rows[k]))
				continue;
			if (!x->v && !(x->v = malloc(e->nrows * sizeof(double))))
				goto nomem;
			x->v[x->n++] = json_number_value(v);
		}
		if (x->n) {
			x->name = e->name;
			x->bench = e;
			out->of_bench[b] = out->n++;
		}
	}
	return 0;
nomem:
	iob_samples_free(out);
	return -ENOMEM;
}

void iob_samples_free(struct iob_sample_set *set)
{
	for (long i = 0; set->s && i < set->n; i++)
		free(set->s[i].v);
	free(set->s);
	free(set->of_bench);
	memset(set, 0, sizeof(*set));
}

const struct iob_samples *iob_samples_find(const struct iob_sample_set *set, const char *name)
{
	long b = set->ix ? index_pos(set->ix, name) : -1;

	return b < 0 || set->of_bench[b] < 0 ? NULL : &set->s[set->of_bench[b]];
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

const char *const iob_lock_markers[IOB_LOCK_MARKERS] = { "jain_min_10ms", "jain", "consec" };

bool iob_bench_is_lock(const struct iob_bench *b)
{
	for (size_t i = 0; b && i < b->nrows; i++)
		for (size_t k = 0; k < IOB_LOCK_MARKERS; k++)
			if (json_is_number(json_object_get(b->rows[i], iob_lock_markers[k])))
				return true;
	return false;
}

double iob_median(double *v, size_t n)
{
	if (n == 0)
		return NAN;
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double iob_median_copy(const double *v, size_t n)
{
	double *c = malloc(n * sizeof(double) + 1), m;

	if (!c)
		return NAN;
	memcpy(c, v, n * sizeof(double));
	m = iob_median(c, n);
	free(c);
	return m;
}

double iob_time_unit_ns(const char *unit)
{
	if (!unit || strcmp(unit, "ns") == 0)
		return 1;
	if (strcmp(unit, "us") == 0)
		return 1e3;
	if (strcmp(unit, "ms") == 0)
		return 1e6;
	if (strcmp(unit, "s") == 0)
		return 1e9;
	return 1;
}

void iob_fmt_metric(char *buf, size_t len, bool items, double v, int digits, bool seconds)
{
	if (isnan(v))
		snprintf(buf, len, "-");
	else if (items && v >= 1e6)
		snprintf(buf, len, "%.*g M/s", digits, v / 1e6);
	else if (items && v >= 1e3)
		snprintf(buf, len, "%.*g k/s", digits, v / 1e3);
	else if (items)
		snprintf(buf, len, "%.*g /s", digits, v);
	else if (seconds && v >= 1e9)
		snprintf(buf, len, "%.*g s", digits, v / 1e9);
	else if (v >= 1e6)
		snprintf(buf, len, "%.*g ms", digits, v / 1e6);
	else if (v >= 1e3)
		snprintf(buf, len, "%.*g us", digits, v / 1e3);
	else
		snprintf(buf, len, "%.*g ns", digits, v);
}

const char *iob_reference_impl(const json_t *root, const struct iob_catalogue *cat,
			       const char *family_scenario)
{
	const json_t *refs =
		json_object_get(json_object_get(root, "context"), "iobench_references");

	if (json_is_object(refs)) /* the run's table is authoritative: absent means none */
		return json_string_value(json_object_get(refs, family_scenario));
	return iob_catalogue_reference(cat, family_scenario);
}
