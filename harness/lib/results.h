/**
 * Results files: Google Benchmark's JSON ({"context": {...}, "benchmarks": [...]}) plus our
 * iobench_* context keys. Loading validates the shape and names the file in every error; saving
 * writes a temporary file in the same folder, fsyncs and renames, so a reader (or a crash) never
 * sees a partial file.
 *
 * Benchmark names follow docs/conventions.md: family/scenario/impl[/param:value...] then Google Benchmark's
 * suffixes (/iterations:N, /manual_time or /real_time, /threads:N) and, for aggregate rows,
 * _mean/_median/_stddev/_cv.
 *
 * Synchronization: none; one thread.
 */
#ifndef IOB_RESULTS_H
#define IOB_RESULTS_H

#include <stdbool.h>
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

#define IOB_RESULTS_MAX_BYTES  (512L * 1024 * 1024) /**< bytes of a results file */
#define IOB_RESULTS_MAX_ROWS   1000000		    /**< rows of "benchmarks" */
#define IOB_RESULTS_MAX_STRING 65536		    /**< bytes of any string or key */

/**
 * The characters benchmark names, implementations, parameters, placements and references may
 * hold (a strict set: a results file comes from elsewhere, and these strings reach gnuplot
 * scripts, file names and terminals).
 */
#define IOB_NAME_CHARSET "A-Z a-z 0-9 _ - . : , / @"

/** What iob_name_check() checks a string as. */
enum iob_name_kind {
	/** A benchmark name or a cell id: tokens joined by '/', none empty; at most one '@', in the
	 *  last token and not at its start ("queue/pairs/iort_mpmc/threads:4@compact"). */
	IOB_NAME_BENCH,
	/** An implementation, placement, parameter name or value: one non-empty token, no '/' or
	 *  '@' ("iort_mpmc", "list:0,2,4", "50-150"). */
	IOB_NAME_TOKEN,
	/** A "family/scenario": two tokens ("queue/pairs"). */
	IOB_NAME_GROUP,
};

/**
 * Check @p s against the benchmark-name grammar (@p kind) and IOB_NAME_CHARSET. On failure writes
 * the reason to @p why, naming the character and its byte offset ("character '\'' (0x27) at
 * offset 13 is not allowed ..." or "empty token at offset 6").
 * @return 0, or -EINVAL.
 */
int iob_name_check(const char *s, enum iob_name_kind kind, char *why, size_t len);

/**
 * Load and validate a results file: the shape, and, as the file may come from elsewhere, every
 * string that names something (iob_name_check()): each row's "name", "run_name" and
 * "iobench_cell" (IOB_NAME_BENCH) and "iobench_placement"; the context's "iobench_references"
 * (keys IOB_NAME_GROUP, values implementations), the strings of "iobench_matrix" (families,
 * implementations, parameters, placements, reference) and the ids of "iobench_cells". Every
 * command loads through here. On failure writes "<path>: <problem>" to @p err, naming the row or
 * key and the character ("r.json: benchmarks[3].name \"queue/pairs/a'b\": character '\''
 * (0x27) at offset 13 is not allowed; names hold only A-Z a-z 0-9 _ - . : , / @"). Files, rows
 * and strings past IOB_RESULTS_MAX_* are refused, naming the limit.
 * @return the document (caller json_decref()s), or NULL.
 */
json_t *iob_results_load(const char *path, char *err, size_t errlen);

/**
 * Write @p root to @p path atomically: a temporary file beside it (mode 0666 & ~umask), fsync,
 * rename, so a reader or a crash never sees a partial file. @p flags are jansson's dump flags
 * (e.g. JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10)); a newline ends the file.
 * @return 0, or -errno (the temporary file is removed; @p path is untouched).
 */
int iob_json_save(const char *path, json_t *root, size_t flags);

/** iob_json_save() with JSON_INDENT(2) | JSON_PRESERVE_ORDER. @return 0 or -errno. */
int iob_results_save(const char *path, json_t *root);

/**
 * The rows of a results file grouped by benchmark name, built once per load so that every lookup
 * by name is one binary search (a file holds up to IOB_RESULTS_MAX_ROWS rows: a scan per name
 * would be quadratic). Building sorts the rows by name: O(rows log rows).
 */
struct iob_bench {
	const char *name;	       /**< borrowed from the document */
	const json_t *first;	       /**< its first row, of any run_type */
	const json_t *first_iteration; /**< its first run_type "iteration" (or none) row without
					    error_occurred, or NULL */
	const json_t *const *rows;     /**< its rows in file order (into the index) */
	size_t nrows;
};

struct iob_index {
	struct iob_bench *bench; /**< read-only: the distinct names, in the order they first appear */
	size_t n;		 /**< read-only: how many */
	size_t *by_name;	 /**< private: positions in bench, sorted by name */
	const json_t **rows;	 /**< private: the rows, grouped by name */
};

/**
 * Index the "benchmarks" rows of @p root (a document iob_results_load() accepted: every row has a
 * "name" string). @p root must outlive the index.
 * @return 0, or -ENOMEM (*out is then empty; iob_index_free() is still allowed).
 */
int iob_index_build(const json_t *root, struct iob_index *out);
void iob_index_free(struct iob_index *ix);

/** @return the entry of @p name, or NULL when no row has that name. O(log n). */
const struct iob_bench *iob_index_find(const struct iob_index *ix, const char *name);

/** One benchmark's samples of one field, over its iteration rows without errors. */
struct iob_samples {
	const char *name;	       /**< borrowed from the document */
	const struct iob_bench *bench; /**< its entry in the index (borrowed) */
	double *v;
	size_t n;
};

struct iob_sample_set {
	struct iob_samples *s; /**< in the order names first appear in the file */
	long n;
	long *of_bench;		    /**< private: per index entry, its position in s or -1 */
	const struct iob_index *ix; /**< private, borrowed */
};

/**
 * Collect @p field (e.g. "items_per_second", "real_time", "p99_ns") per benchmark name of @p ix,
 * in the order names first appear. Rows that are not iterations (run_type other than
 * "iteration"), carry error_occurred or lack the field as a number are skipped; names with no
 * sample are omitted. O(rows). @p ix must outlive the set.
 * @return 0, or -ENOMEM (*out is then empty; iob_samples_free() is still allowed).
 */
int iob_results_samples(const struct iob_index *ix, const char *field, struct iob_sample_set *out);
void iob_samples_free(struct iob_sample_set *set);

/** The entry of @p name in @p set. @return it, or NULL when @p name has no sample. O(log n). */
const struct iob_samples *iob_samples_find(const struct iob_sample_set *set, const char *name);

/**
 * The counters that mark a lock benchmark (bench/bench_lock.c: Jain's fairness index over the run
 * and its minimum over 10 ms windows, and the share of acquisitions by the previous owner). `show`
 * and `plot` present a family/scenario whose rows carry any of them as locks: the fairness and
 * wait columns, the fairness and wait figures. No implementation or family name is assumed.
 */
#define IOB_LOCK_MARKERS 3
extern const char *const iob_lock_markers[IOB_LOCK_MARKERS];

/** @return whether any of @p b's rows carries one of iob_lock_markers as a number. */
bool iob_bench_is_lock(const struct iob_bench *b);

/** Median of @p v (sorted in place). NAN when n == 0. */
double iob_median(double *v, size_t n);

/** Median of @p v without touching it (sorts a copy). NAN when n == 0 or out of memory. */
double iob_median_copy(const double *v, size_t n);

/**
 * Nanoseconds per Google Benchmark "time_unit" ("ns", "us", "ms", "s"). NULL or an unknown unit
 * counts as "ns" (1).
 */
double iob_time_unit_ns(const char *unit);

/**
 * Format a metric value for a table: items/s as "<v> M/s", "k/s" or "/s"; a time in ns as "<v> ns",
 * "us", "ms" (and "s" for 1 s and more when @p seconds); "-" for NAN. @p digits is the %g
 * precision.
 */
void iob_fmt_metric(char *buf, size_t len, bool items, double v, int digits, bool seconds);

/**
 * The reference implementation of a "<family>/<scenario>" (e.g. "queue/pairs" -> "rte_mpmc"). When
 * @p root's context has an "iobench_references" object, that table is authoritative (a group it
 * does not name has no reference); otherwise (runs made before runs recorded it) the catalogue
 * @p cat answers, when there is one (iob_catalogue_for_run()).
 * @return the impl name (borrowed from @p root or @p cat), or NULL when there is none.
 */
struct iob_catalogue;
const char *iob_reference_impl(const json_t *root, const struct iob_catalogue *cat,
			       const char *family_scenario);

#ifdef __cplusplus
}
#endif

#endif /* IOB_RESULTS_H */
