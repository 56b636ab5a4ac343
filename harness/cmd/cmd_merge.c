/*
 * iobench merge --out DIR RUN...: join the shard runs of one matrix (iobench run --shard K/N)
 * into one run that show, plot, compare and gate read like any other.
 *
 * Checks, each a refusal with exit status 2 naming the shard: the same iobench_matrix (JSON
 * equality) in every shard; the same iobench_git_sha (unless --force, which warns); no cell id in
 * two shards' iobench_cells; no DIR/results.json already. Result: the benchmark rows of all
 * shards in shard order; the first shard's context (its iobench_calibration included) with
 * iobench_cells concatenated, iobench_shard null, iobench_merged_from the inputs,
 * iobench_shard_contexts each shard's own shard, sha, calibration, load and quietness
 * (iobench_quiet is true only when every shard was quiet; iobench_incomplete joins the shards'). Each
 * shard's latency/ CSVs are copied into DIR/latency/ without overwriting anything (a file with
 * the same name and different bytes is a refusal); results.json is written last, atomically.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "locate.h"
#include "proc.h"
#include "quote.h"
#include "results.h"

static const char merge_usage[] =
	"usage: iobench merge --out DIR [--force] RUN...\n"
	"Join shard runs (iobench run --shard K/N; run folders or results.json files) into\n"
	"DIR/results.json and DIR/latency/. The shards must share the matrix and the git sha\n"
	"(--force merges different shas, with a warning) and must not share a cell.\n"
	"DIR/results.json must not exist yet.\n"
	"\n"
	"  --out DIR   output run folder (required)\n"
	"  --force     merge shards built from different git shas\n";

/* Per shard context keys kept under iobench_shard_contexts. */
static const char *const shard_keys[] = {
	"iobench_shard",	"iobench_calibration", "iobench_git_sha",    "iobench_quiet",
	"iobench_quiet_reason", "iobench_load_before", "iobench_load_after", "iobench_steal_pct",
	"iobench_order_seed",	"iobench_incomplete",  "host_name",	     "date",
};

struct shard {
	struct iob_run_path run; /* run.file: its results file; run.dir: its folder */
	json_t *root;
};

/*
 * Copy @p src to @p dst without ever replacing an existing @p dst: write a temporary file,
 * fsync, link() it to dst (fails when dst exists), unlink the temporary. An existing dst with the
 * same bytes counts as copied. @return 0, -EEXIST (different file there) or -errno.
 */
static int copy_new(const char *src, const char *dst)
{
	char tmp[PATH_MAX + 300];
	size_t len, olen;
	char *data = iob_read_file(src, &len), *old;
	int fd, err = 0;

	if (!data)
		return errno ? -errno : -EIO;
	snprintf(tmp, sizeof(tmp), "%s.XXXXXX", dst);
	fd = mkstemp(tmp);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	if ((len && write(fd, data, len) != (ssize_t)len) || fsync(fd)) {
		err = errno ? -errno : -EIO;
		close(fd);
		unlink(tmp);
		goto out;
	}
	(void)fchmod(fd, 0644);
	close(fd);
	if (link(tmp, dst)) {
		err = -errno;
		if (err == -EEXIST) {
			old = iob_read_file(dst, &olen);
			if (old && olen == len && memcmp(old, data, len) == 0)
				err = 0;
			free(old);
		}
	}
	unlink(tmp);
out:
	free(data);
	return err;
}

/* Copy shard @p s's latency/<x>.csv into @p out_latency. @return 0 or exit status 2/1. */
static int copy_latency(const struct shard *s, const char *out_latency)
{
	char src_dir[PATH_MAX], src[PATH_MAX + 256], dst[PATH_MAX + 256];
	struct dirent *d;
	DIR *dir;
	int rc = 0, err;

	snprintf(src_dir, sizeof(src_dir), "%s/latency", s->run.dir);
	dir = opendir(src_dir);
	if (!dir)
		return 0; /* a run without latency benchmarks has no folder */
	while ((d = readdir(dir))) {
		size_t n = strlen(d->d_name);

		if (n < 5 || strcmp(d->d_name + n - 4, ".csv"))
			continue;
		if ((err = iob_mkdirs(out_latency))) {
			fprintf(stderr, "iobench: cannot create %s: %s\n", out_latency,
				strerror(-err));
			rc = IOB_EXIT_USAGE;
			break;
		}
		snprintf(src, sizeof(src), "%s/%s", src_dir, d->d_name);
		snprintf(dst, sizeof(dst), "%s/%s", out_latency, d->d_name);
		err = copy_new(src, dst);
		if (err == -EEXIST) {
			fprintf(stderr,
				"iobench: %s: %s already exists with other contents; not "
				"overwriting it\n",
				src, dst);
			rc = IOB_EXIT_USAGE;
			break;
		} else if (err) {
			fprintf(stderr, "iobench: cannot copy %s to %s: %s\n", src, dst,
				strerror(-err));
			rc = IOB_EXIT_FAIL;
			break;
		}
	}
	closedir(dir);
	return rc;
}

static bool same_json(const json_t *a, const json_t *b)
{
	if (!a || !b || json_is_null(a) || json_is_null(b))
		return (!a || json_is_null(a)) && (!b || json_is_null(b));
	return json_equal(a, b);
}

struct cell_ref {
	const char *id;
	int shard;
	size_t k; /* position in the shard's iobench_cells */
};

/* By id, then by where it occurs (shard, position). */
static int cmp_cell_ref(const void *x, const void *y)
{
	const struct cell_ref *a = x, *b = y;
	int c = strcmp(a->id, b->id);

	if (c)
		return c;
	if (a->shard != b->shard)
		return a->shard < b->shard ? -1 : 1;
	return (a->k > b->k) - (a->k < b->k);
}

/*
 * Every cell has an id and no id is in two shards (or twice in one). The ids are sorted, so n
 * cells cost n log n; the repeat named is the one a scan in file order meets first.
 * @return 0, or the exit status after a message naming the shard and cell.
 */
static int check_cells(struct shard *s, int n)
{
	struct cell_ref *v, *dup = NULL;
	size_t total = 0, m = 0;

	for (int i = 0; i < n; i++) {
		const json_t *ci =
			json_object_get(json_object_get(s[i].root, "context"), "iobench_cells");
		size_t k;
		json_t *cell;

		if (ci && !json_is_array(ci)) {
			fprintf(stderr, "iobench: %s: context iobench_cells is not an array\n",
				s[i].run.file);
			return IOB_EXIT_USAGE;
		}
		json_array_foreach(ci, k, cell)
		{
			if (!json_string_value(json_object_get(cell, "id"))) {
				fprintf(stderr, "iobench: %s: iobench_cells[%zu] has no \"id\"\n",
					s[i].run.file, k);
				return IOB_EXIT_USAGE;
			}
		}
		total += json_array_size(ci);
	}
	v = malloc((total + 1) * sizeof(*v));
	if (!v) {
		fprintf(stderr, "iobench: out of memory\n");
		return IOB_EXIT_FAIL;
	}
	for (int i = 0; i < n; i++) {
		size_t k;
		json_t *cell;

		json_array_foreach(
			json_object_get(json_object_get(s[i].root, "context"), "iobench_cells"), k,
			cell)
		{
			v[m++] = (struct cell_ref){
				.id = json_string_value(json_object_get(cell, "id")),
				.shard = i,
				.k = k,
			};
		}
	}
	qsort(v, m, sizeof(*v), cmp_cell_ref);
	for (size_t i = 1; i < m; i++) /* a repeat: the second of a run of equal ids */
		if (strcmp(v[i].id, v[i - 1].id) == 0 && (i < 2 || strcmp(v[i].id, v[i - 2].id)) &&
		    (!dup || v[i].shard < dup->shard ||
		     (v[i].shard == dup->shard && v[i].k < dup->k)))
			dup = &v[i];
	if (dup)
		fprintf(stderr,
			"iobench: cell '%s' is in both %s and %s; shards must not overlap\n",
			dup->id, s[dup[-1].shard].run.file, s[dup->shard].run.file);
	free(v);
	return dup ? IOB_EXIT_USAGE : 0;
}

/*
 * Whether @p s is UTF-8 as jansson accepts it (no overlong forms, no surrogates, nothing past
 * U+10FFFF): a results file holds nothing else, and json_string() refuses the rest.
 */
static bool utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		unsigned long cp;
		int more = *p < 0x80		      ? 0
			   : *p >= 0xc2 && *p <= 0xdf ? 1
			   : (*p & 0xf0) == 0xe0      ? 2
			   : *p >= 0xf0 && *p <= 0xf4 ? 3
						      : -1;

		if (more < 0)
			return false;
		cp = more == 0 ? *p : *p & (0x3fu >> more);
		for (int i = 1; i <= more; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i] & 0x3fu);
		}
		if ((more == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (more == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return false;
		p += more + 1;
	}
	return true;
}

/*
 * A context text joined from the shards', cut to a fixed size at a character boundary (a cut
 * inside a character would be invalid UTF-8, which no JSON file may hold), "..." marking the cut.
 */
struct text {
	char buf[2048];
	bool cut;
};

static void text_add(struct text *t, const char *s)
{
	size_t used = strlen(t->buf), room = sizeof(t->buf) - 1 - used, n = strlen(s);

	if (t->cut)
		return;
	if (n > room) {
		n = room >= 3 ? room - 3 : 0;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80) /* s[n] continues a char */
			n--;
		t->cut = true;
	}
	memcpy(t->buf + used, s, n);
	strcpy(t->buf + used + n, t->cut ? "..." : "");
}

/*
 * The merged document. @return 0, -ENOMEM, or -EILSEQ when a text to record is not valid UTF-8
 * (@p what then names it).
 */
static int merged_root(struct shard *s, int n, json_t **out, const char **what)
{
	json_t *root = json_object(), *ctx, *rows = json_array(), *cells = json_array(),
	       *from = json_array(), *sctx = json_array(), *reason_j, *inc_j = NULL;
	bool quiet = true;
	int rc;
	struct text reason = { .buf = "" }, incomplete = { .buf = "" };

	ctx = json_deep_copy(json_object_get(s[0].root, "context"));
	if (!root || !ctx || !rows || !cells || !from || !sctx)
		goto nomem;
	for (int i = 0; i < n; i++) {
		const json_t *c = json_object_get(s[i].root, "context");
		const json_t *q = json_object_get(c, "iobench_quiet");
		const char *inc = json_string_value(json_object_get(c, "iobench_incomplete"));
		json_t *one = json_object(), *v;
		size_t k;

		if (!one || json_array_append_new(sctx, one) ||
		    json_object_set_new(one, "source", json_string(s[i].run.file)) ||
		    json_array_append_new(from, json_string(s[i].run.file)))
			goto nomem;
		for (size_t j = 0; j < sizeof(shard_keys) / sizeof(shard_keys[0]); j++)
			if ((v = json_object_get(c, shard_keys[j])) &&
			    json_object_set(one, shard_keys[j], v))
				goto nomem;
		json_array_foreach(json_object_get(c, "iobench_cells"), k,
				   v) if (json_array_append(cells, v)) goto nomem;
		json_array_foreach(json_object_get(s[i].root, "benchmarks"), k,
				   v) if (json_array_append(rows, v)) goto nomem;
		if (!json_is_true(q) && quiet) {
			const char *why =
				json_string_value(json_object_get(c, "iobench_quiet_reason"));

			quiet = false;
			text_add(&reason, s[i].run.file);
			text_add(&reason, ": ");
			text_add(&reason, why ? why : "not quiet");
		}
		if (inc && *inc) {
			if (*incomplete.buf)
				text_add(&incomplete, "; ");
			text_add(&incomplete, s[i].run.file);
			text_add(&incomplete, ": ");
			text_add(&incomplete, inc);
		}
	}
	/* Not expected (the inputs are UTF-8, the cuts fall between characters), but json_string()
	 * would say NULL, and that must not read as "out of memory". */
	*what = !utf8_valid(reason.buf)	      ? "iobench_quiet_reason"
		: !utf8_valid(incomplete.buf) ? "iobench_incomplete"
					      : NULL;
	if (*what) {
		rc = -EILSEQ;
		goto fail;
	}
	reason_j = json_string(quiet ? "every shard was quiet" : reason.buf);
	if (*incomplete.buf && !(inc_j = json_string(incomplete.buf))) {
		json_decref(reason_j);
		goto nomem;
	}
	if (json_object_set_new(ctx, "iobench_cells", cells) ||
	    json_object_set_new(ctx, "iobench_shard", json_null()) ||
	    json_object_set_new(ctx, "iobench_merged_from", from) ||
	    json_object_set_new(ctx, "iobench_shard_contexts", sctx) ||
	    json_object_set_new(ctx, "iobench_quiet", json_boolean(quiet)) ||
	    json_object_set_new(ctx, "iobench_quiet_reason", reason_j) ||
	    (inc_j && json_object_set_new(ctx, "iobench_incomplete", inc_j)) ||
	    json_object_set_new(root, "context", ctx) ||
	    json_object_set_new(root, "benchmarks", rows)) {
		json_decref(root);
		return -ENOMEM;
	}
	if (!inc_j)
		json_object_del(ctx, "iobench_incomplete");
	*out = root;
	return 0;
nomem:
	rc = -ENOMEM;
fail:
	json_decref(root);
	json_decref(ctx);
	json_decref(rows);
	json_decref(cells);
	json_decref(from);
	json_decref(sctx);
	return rc;
}

int iob_cmd_merge(int argc, char **argv)
{
	enum { O_OUT = 1, O_FORCE, O_HELP };
	static const struct option opts[] = {
		{ "out", required_argument, NULL, O_OUT },
		{ "force", no_argument, NULL, O_FORCE },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	const char *out = NULL;
	bool force = false;
	struct shard *s = NULL;
	json_t *root = NULL;
	const char *what = NULL;
	char path[PATH_MAX + 32], latency[PATH_MAX + 32], err[4096];
	int c, n = 0, rc = IOB_EXIT_USAGE, e;

	iob_opt_begin();
	while ((c = iob_opt_next("merge", argc, argv, NULL, opts)) != -1) {
		switch (c) {
		case O_OUT:
			out = optarg;
			break;
		case O_FORCE:
			force = true;
			break;
		case O_HELP:
			return iob_print_usage(merge_usage);
		default:
			return IOB_EXIT_USAGE;
		}
	}
	if (!out || !*out)
		return iob_usage_error("merge", "--out DIR is required");
	if (argc - optind < 1)
		return iob_usage_error("merge", "no shard runs given");
	snprintf(path, sizeof(path), "%s/results.json", out);
	if (access(path, F_OK) == 0) {
		fprintf(stderr,
			"iobench: %s already exists; not overwriting it (choose another --out)\n",
			path);
		return IOB_EXIT_USAGE;
	}
	s = calloc((size_t)(argc - optind), sizeof(*s));
	if (!s) {
		fprintf(stderr, "iobench: out of memory\n");
		return IOB_EXIT_FAIL;
	}
	for (int i = optind; i < argc; i++, n++) {
		const json_t *c0, *ci;
		const char *sha0, *shai;

		if (iob_run_resolve(argv[i], &s[n].run, err, sizeof(err))) {
			fprintf(stderr, "iobench: %s\n", err);
			goto out;
		}
		if (!utf8_valid(s[n].run.file)) {
			char shown[PATH_MAX * 4];

			iob_escape(shown, sizeof(shown), s[n].run.file);
			fputs("iobench: ", stderr);
			for (const char *ch = shown; *ch; ch++) /* the stray bytes as \xNN */
				fprintf(stderr, (unsigned char)*ch < 0x80 ? "%c" : "\\x%02x",
					(unsigned char)*ch);
			fputs(": the path is not valid UTF-8; the merged run records its shards' "
			      "paths, and a results file holds UTF-8 only\n",
			      stderr);
			goto out;
		}
		s[n].root = iob_results_load(s[n].run.file, err, sizeof(err));
		if (!s[n].root) {
			fprintf(stderr, "iobench: %s\n", err);
			goto out;
		}
		c0 = json_object_get(s[0].root, "context");
		ci = json_object_get(s[n].root, "context");
		if (!same_json(json_object_get(c0, "iobench_matrix"),
			       json_object_get(ci, "iobench_matrix"))) {
			fprintf(stderr,
				"iobench: %s: iobench_matrix differs from %s's; shards of one run "
				"share the matrix\n",
				s[n].run.file, s[0].run.file);
			goto out;
		}
		sha0 = json_string_value(json_object_get(c0, "iobench_git_sha"));
		shai = json_string_value(json_object_get(ci, "iobench_git_sha"));
		if ((sha0 || shai) && (!sha0 || !shai || strcmp(sha0, shai))) {
			char e0[128], ei[128]; /* shas are free text from the files */

			fprintf(stderr, "iobench: %s%s: git sha %s differs from %s's %s%s\n",
				force ? "warning: " : "", s[n].run.file,
				iob_escape(ei, sizeof(ei), shai ? shai : "(none)"), s[0].run.file,
				iob_escape(e0, sizeof(e0), sha0 ? sha0 : "(none)"),
				force ? "" : " (--force merges anyway)");
			if (!force)
				goto out;
		}
	}
	if ((rc = check_cells(s, n)))
		goto out;
	rc = IOB_EXIT_FAIL;
	if ((e = merged_root(s, n, &root, &what)) == -EILSEQ) {
		fprintf(stderr, "iobench: the merged %s is not valid UTF-8\n", what);
		goto out;
	} else if (e) {
		fprintf(stderr, "iobench: out of memory\n");
		goto out;
	}
	if ((e = iob_mkdirs(out))) {
		fprintf(stderr, "iobench: cannot create output folder '%s': %s\n", out,
			strerror(-e));
		rc = IOB_EXIT_USAGE;
		goto out;
	}
	snprintf(latency, sizeof(latency), "%s/latency", out);
	for (int i = 0; i < n; i++)
		if ((rc = copy_latency(&s[i], latency)))
			goto out;
	if ((e = iob_results_save(path, root))) {
		fprintf(stderr, "iobench: cannot write %s: %s\n", path, strerror(-e));
		rc = IOB_EXIT_FAIL;
		goto out;
	}
	fprintf(stderr, "iobench: merged %d shard%s (%zu rows) into %s\n", n, n == 1 ? "" : "s",
		json_array_size(json_object_get(root, "benchmarks")), path);
	printf("%s\n", path);
	rc = IOB_EXIT_OK;
out:
	for (int i = 0; i < n + 1 && i < argc - optind; i++)
		json_decref(s[i].root);
	free(s);
	json_decref(root);
	return rc;
}
