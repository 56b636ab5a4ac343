/**
 * Benchmark matrices: a JSON spec of suites, each a benchmark family crossed with implementations,
 * thread counts, placements and parameters, expanded into cells. A cell is one Google Benchmark
 * benchmark (selected by an anchored --benchmark_filter) at one placement; `iobench run` runs
 * each cell in its own child process.
 *
 * Spec (every key but "suites" and a suite's "family" and "impls" is optional):
 *
 *   {"name": "default",
 *    "defaults": {"repetitions": 3, "min_time": 0.1, "warmup": 0.05, "timeout": 60,
 *                 "placements": ["compact"], "threads": [1]},
 *    "suites": [{"family": "queue/pairs",                  family/scenario
 *                "impls": ["iort_mpmc", "rte_mpmc"],       non-empty
 *                "threads": [1, 2, 4],                     1..4096
 *                "params": {"pause": [null, "50-150"]},    null: the parameter is absent
 *                "reference": "rte_mpmc",                  the family's baseline for ratios
 *                "repetitions": 5, ...}]}                  any "defaults" key overrides per suite
 *
 *   repetitions  1..1000          --benchmark_repetitions
 *   min_time     (0, 3600] s      --benchmark_min_time (per repetition)
 *   warmup       [0, 3600] s      --benchmark_min_warmup_time
 *   timeout      (0, 86400] s     the cell's child is stopped (SIGTERM, then SIGKILL) after this
 *   params       name -> non-empty list of strings, integers or null; names appear in the
 *                benchmark name in the order given ("family/impl/name:value/...")
 *
 * Cell id: "<family>/<impl>[/<param>:<value>...]/threads:<N>@<placement>". Its filter is
 * "^<escaped family/impl/params>(/real_time|/manual_time)?/threads:<N>$".
 *
 * Limits (past them the spec is refused with -EINVAL, naming the limit): IOB_MATRIX_MAX_CELLS cells
 * in all, names (family, impl, placement, parameter name and value, the matrix's name) of at most
 * IOB_MATRIX_MAX_NAME bytes, cell ids of at most IOB_MATRIX_MAX_ID bytes, spec files of at most
 * IOB_MATRIX_MAX_BYTES. Every check is O(n log n) in the spec's size.
 *
 * Errors name the file, the line and the key ("m.json:7: unknown key 'repetitons' in suites[0]
 * (did you mean 'repetitions'?)"); lines of keys come from a scan of the text, as jansson reports
 * positions for syntax errors only. Duplicate keys are rejected.
 *
 * Synchronization: none; one thread.
 */
#ifndef IOB_MATRIX_H
#define IOB_MATRIX_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

#define IOB_MATRIX_MAX_CELLS 100000	       /**< cells of a matrix, all suites together */
#define IOB_MATRIX_MAX_NAME  63		       /**< bytes of a name */
#define IOB_MATRIX_MAX_ID    511	       /**< bytes of a cell id */
#define IOB_MATRIX_MAX_BYTES (4 * 1024 * 1024) /**< bytes of a spec file */

/** One cell of an expanded matrix. Strings are owned by the cell array. */
struct iob_cell {
	char *id;	    /**< "queue/pairs/iort_mpmc/pause:50-150/threads:4@compact" */
	char *bench;	    /**< "queue/pairs/iort_mpmc/pause:50-150/threads:4" (no timing part) */
	char *filter;	    /**< anchored --benchmark_filter regex */
	char *placement;    /**< "compact" */
	const char *family; /**< "queue/pairs" (borrowed from the matrix) */
	const char *impl;   /**< "iort_mpmc" (borrowed from the matrix) */
	int threads;
	int repetitions;
	double min_time; /**< seconds */
	double warmup;	 /**< seconds */
	double timeout;	 /**< seconds */
	size_t suite;	 /**< index of the suite it came from */
};

struct iob_matrix;

/**
 * Parse a spec from @p text; @p path names it in messages. On failure writes one line
 * "<path>:<line>: <problem naming the key>" to @p err.
 * @return 0, -EINVAL (bad spec), -ENOMEM.
 */
int iob_matrix_parse(const char *text, const char *path, struct iob_matrix **out, char *err,
		     size_t errlen) __attribute__((warn_unused_result));
/**
 * As iob_matrix_parse, reading @p path. @return as iob_matrix_parse, or -errno when it cannot be
 * read (-ENOENT, -EISDIR, -EFBIG past IOB_MATRIX_MAX_BYTES, ...; @p err says why).
 */
int iob_matrix_load(const char *path, struct iob_matrix **out, char *err, size_t errlen)
	__attribute__((warn_unused_result));
struct iob_catalogue;
/**
 * The default matrix: every scenario the catalogue flags "default", at the thread counts and
 * parameter values the benchmark binary registers (iob_catalogue_matrix_text()), with 3
 * repetitions of 0.1 s, 0.05 s of warm-up, a 60 s timeout per cell and the compact placement.
 * @return as iob_matrix_parse (an error there means the catalogue and the matrix disagree).
 */
int iob_matrix_default(const struct iob_catalogue *cat, struct iob_matrix **out, char *err,
		       size_t errlen) __attribute__((warn_unused_result));
void iob_matrix_free(struct iob_matrix *m);

/**
 * Override every suite's repetitions (> 0), min_time (> 0), timeout (> 0) or placements
 * (@p placement non-NULL: one placement). Values <= 0 and NULL leave the spec's own.
 * @return 0 or -ENOMEM.
 */
int iob_matrix_override(struct iob_matrix *m, int repetitions, double min_time, double timeout,
			const char *placement);

/**
 * The normalized spec: every suite with every key explicit (defaults applied). Parsing it gives
 * the same cells. @return a new object, or NULL on allocation failure.
 */
json_t *iob_matrix_json(const struct iob_matrix *m);
/** {"<family>": "<reference impl>", ...} of the suites that name one. NULL on allocation failure. */
json_t *iob_matrix_references(const struct iob_matrix *m);
const char *iob_matrix_name(const struct iob_matrix *m);
/** Every distinct placement of the matrix, in first-use order; @p n receives the count. */
const char *const *iob_matrix_placements(const struct iob_matrix *m, size_t *n);

/**
 * Expand into cells sorted by id. A cell id produced by two suites is an error (@p err names
 * both). @return 0 (*out, *n; free with iob_cells_free), -EINVAL, -ENOMEM.
 */
int iob_matrix_expand(const struct iob_matrix *m, struct iob_cell **out, size_t *n, char *err,
		      size_t errlen) __attribute__((warn_unused_result));
void iob_cells_free(struct iob_cell *cells, size_t n);

/** Shard K of N holds the cells whose index in the sorted list is K mod N. */
static inline bool iob_cell_in_shard(size_t index, int k, int n)
{
	return n <= 1 || index % (size_t)n == (size_t)k;
}

/** Parse "K/N" (0 <= K < N <= 100000). @return 0 or -EINVAL. */
int iob_shard_parse(const char *s, int *k, int *n);

/** Levenshtein distance of @p a and @p b (for "did you mean" suggestions). */
size_t iob_edit_distance(const char *a, const char *b);

#ifdef __cplusplus
}
#endif

#endif /* IOB_MATRIX_H */
