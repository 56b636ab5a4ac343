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

json_t *iob_results_load(const char *path, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root, *rows;
	size_t i;
	json_t *row;

	root = json_load_file(path, 0, &jerr);
	if (!root) {
		if (access(path, F_OK) != 0)
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		else
			snprintf(err, errlen, "%s:%d:%d: not valid JSON: %s", path, jerr.line,
				 jerr.column, jerr.text);
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

int iob_results_save(const char *path, json_t *root)
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
	if (json_dumpfd(root, fd, JSON_INDENT(2) | JSON_PRESERVE_ORDER) ||
	    write(fd, "\n", 1) != 1 || fsync(fd)) {
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
