/**
 * Results files: Google Benchmark's JSON ({"context": {...}, "benchmarks": [...]}) plus our
 * iobench_* context keys. Loading validates the shape and names the file in every error; saving
 * writes a temporary file in the same folder, fsyncs and renames, so a reader (or a crash) never
 * sees a partial file.
 *
 * Benchmark names follow STYLE.md: family/scenario/impl[/param:value...] then Google Benchmark's
 * suffixes (/iterations:N, /manual_time or /real_time, /threads:N) and, for aggregate rows,
 * _mean/_median/_stddev/_cv.
 *
 * Synchronization: none; one thread.
 */
#ifndef IOB_RESULTS_H
#define IOB_RESULTS_H

#include <stddef.h>

#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

/** A benchmark name taken apart. Strings are NUL-terminated, truncated to their buffers. */
struct iob_name {
	char family[64];   /**< "queue" */
	char scenario[64]; /**< "pairs" */
	char impl[64];	   /**< "iort_mpmc" */
	char params[128];  /**< "pause:50-150/window:1" ("" when none) */
	char timing[16];   /**< "real_time", "manual_time" or "" */
	int threads;	   /**< 1 when absent */
};

/** @return 0, or -EINVAL when @p name has fewer than three components. */
int iob_name_parse(const char *name, struct iob_name *out);

/**
 * Load and validate a results file. On failure writes "<path>: <problem>" to @p err.
 * @return the document (caller json_decref()s), or NULL.
 */
json_t *iob_results_load(const char *path, char *err, size_t errlen);

/** Write @p root to @p path atomically (temporary file beside it, fsync, rename). @return 0 or -errno. */
int iob_results_save(const char *path, json_t *root);

/** One benchmark's samples of one field, over its iteration rows without errors. */
struct iob_samples {
	const char *name; /**< borrowed from the document */
	double *v;
	size_t n;
};

/**
 * Collect @p field (e.g. "items_per_second", "real_time", "p99_ns") per benchmark name, in the
 * order names first appear. Rows lacking the field are skipped; names with no sample are omitted.
 * @return how many entries *out holds (free with iob_samples_free), or -ENOMEM.
 */
long iob_results_samples(const json_t *root, const char *field, struct iob_samples **out);
void iob_samples_free(struct iob_samples *s, long n);

/** Median of @p v (sorted in place). NAN when n == 0. */
double iob_median(double *v, size_t n);

#ifdef __cplusplus
}
#endif

#endif /* IOB_RESULTS_H */
