/*
 * Results files: load with validation, save atomically, take benchmark names apart, collect
 * samples per benchmark.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
		for (char *c = err; c < err + errlen && *c; c++) /* jansson quotes the input */
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				*c = '?';
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
	}
	return root;
bad:
	json_decref(root);
	return NULL;
}

int iob_json_save(const char *path, json_t *root, size_t flags)
{
	char tmp[PATH_MAX];
	const char *slash = strrchr(path, '/');
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
	if (json_dumpfd(root, fd, flags) || write(fd, "\n", 1) != 1 || fsync(fd)) {
		err = errno ? -errno : -EIO;
		close(fd);
		unlink(tmp);
		return err;
	}
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

long iob_results_samples(const json_t *root, const char *field, struct iob_samples **out)
{
	const json_t *rows = json_object_get(root, "benchmarks");
	struct iob_samples *s = NULL;
	long n = 0;
	size_t i;
	json_t *row;

	json_array_foreach(rows, i, row)
	{
		const char *name = json_string_value(json_object_get(row, "name"));
		const char *type = json_string_value(json_object_get(row, "run_type"));
		json_t *v = json_object_get(row, field);
		long k;

		if (!name || (type && strcmp(type, "iteration") != 0) || !json_is_number(v) ||
		    json_is_true(json_object_get(row, "error_occurred")))
			continue;
		for (k = 0; k < n; k++)
			if (strcmp(s[k].name, name) == 0)
				break;
		if (k == n) {
			struct iob_samples *ns = realloc(s, (size_t)(n + 1) * sizeof(*s));

			if (!ns)
				goto nomem;
			s = ns;
			s[n++] = (struct iob_samples){ .name = name };
		}
		{
			double *nv = realloc(s[k].v, (s[k].n + 1) * sizeof(double));

			if (!nv)
				goto nomem;
			s[k].v = nv;
			s[k].v[s[k].n++] = json_number_value(v);
		}
	}
	*out = s;
	return n;
nomem:
	iob_samples_free(s, n);
	return -ENOMEM;
}

void iob_samples_free(struct iob_samples *s, long n)
{
	for (long i = 0; i < n; i++)
		free(s[i].v);
	free(s);
}

const struct iob_samples *iob_samples_find(const struct iob_samples *s, long n, const char *name)
{
	for (long i = 0; i < n; i++)
		if (strcmp(s[i].name, name) == 0)
			return &s[i];
	return NULL;
}

const char *iob_results_path(const char *arg, char *buf, size_t len)
{
	struct stat st;

	if (stat(arg, &st) == 0 && S_ISDIR(st.st_mode)) {
		snprintf(buf, len, "%s/results.json", arg);
		return buf;
	}
	return arg;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
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

const json_t *iob_results_first_row(const json_t *root, const char *name, bool iterations_only)
{
	size_t i;
	json_t *row;

	json_array_foreach(json_object_get(root, "benchmarks"), i, row)
	{
		const char *n = json_string_value(json_object_get(row, "name"));
		const char *type = json_string_value(json_object_get(row, "run_type"));

		if (!n || strcmp(n, name) != 0)
			continue;
		if (iterations_only && ((type && strcmp(type, "iteration") != 0) ||
					json_is_true(json_object_get(row, "error_occurred"))))
			continue;
		return row;
	}
	return NULL;
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

/* When a run does not record iobench_references (runs made before it did). */
static const char *const builtin_refs[][2] = {
	{ "queue/pairs", "rte_mpmc" },
	{ "queue/spsc", "rte_spsc" },
	{ "queue/mpsc", "urcu_wfcq_nosleep" },
	{ "queue/handoff", "rte_spsc" },
};

const char *iob_reference_impl(const json_t *root, const char *family_scenario)
{
	const json_t *refs =
		json_object_get(json_object_get(root, "context"), "iobench_references");

	if (json_is_object(refs)) /* the run's table is authoritative: absent means none */
		return json_string_value(json_object_get(refs, family_scenario));
	for (size_t i = 0; i < sizeof(builtin_refs) / sizeof(builtin_refs[0]); i++)
		if (strcmp(builtin_refs[i][0], family_scenario) == 0)
			return builtin_refs[i][1];
	return NULL;
}
