/**
 * The catalogue: what the benchmark binary can run, as it describes itself
 * (`iobench-bench --iobench_catalogue`, built by bench/bench_lib.c from its registrations).
 * Everything iobench knows about families derives from it: the default matrix, the references
 * shown by `show`, `plot` and `gate` when a run did not record its own, the gate's benchmark list
 * and `iobench list --json`.
 *
 * The text comes from a program the user may have pointed us at (--bench), so it is validated
 * like any file from elsewhere: its size, the shape below, and every name against the
 * benchmark-name grammar (iob_name_check()), with limits on every count.
 *
 *   {"iobench_catalogue": 1,
 *    "families": [{"name", "about", "scenarios": [{"name": "<family>/<shape>", "about",
 *       "kind": "throughput"|"latency"|"time", "timing": "cpu_time"|"real_time"|"manual_time",
 *       "default": bool, "gate": bool, "reference": impl|null,
 *       "params": {"<name>": [null|int|string, ...]},
 *       "impls": [{"name", "threads": [int, ...]}], "benchmarks": ["<full name>", ...]}]}],
 *    "impls": [{"name", "origin": "iort"|"seed"|"baseline"|"system"|"harness",
 *               "package": string|null, "available": bool, "missing": string|null,
 *               "about": string|null}]}
 *
 * Synchronization: none; one thread.
 */
#ifndef IOB_CATALOGUE_H
#define IOB_CATALOGUE_H

#include <stddef.h>

#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

#define IOB_CATALOGUE_MAX_BYTES	     (16u << 20) /**< of the JSON text */
#define IOB_CATALOGUE_MAX_SCENARIOS  4096
#define IOB_CATALOGUE_MAX_BENCHMARKS 200000 /**< full names over all scenarios */
#define IOB_CATALOGUE_TIMEOUT_S	     60	    /**< for the binary to describe itself */

struct iob_catalogue;

/**
 * Validate the catalogue @p text (@p origin names it in messages).
 * @return 0; -EINVAL with the reason in @p err ("<origin>: families[0].scenarios[2].kind: ...");
 * -ENOMEM.
 */
int iob_catalogue_parse(const char *text, size_t len, const char *origin,
			struct iob_catalogue **out, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/**
 * Run @p bench --iobench_catalogue (through the child runner, with IOB_CATALOGUE_TIMEOUT_S) and
 * parse what it prints. @return 0, or a negative errno with the reason in @p err.
 */
int iob_catalogue_load(const char *bench, struct iob_catalogue **out, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/**
 * For a run that records no "iobench_references" (runs made before runs did): the catalogue of the
 * benchmark binary iob_locate_bench() finds without --bench, so that its references answer.
 * @return the catalogue to free, or NULL: the run records its own references, there is no binary,
 * or it fails (that one says why on stderr).
 */
struct iob_catalogue *iob_catalogue_for_run(const json_t *root);

void iob_catalogue_free(struct iob_catalogue *c);

/** The validated document (borrowed). */
const json_t *iob_catalogue_json(const struct iob_catalogue *c);

/** The scenario named @p name ("queue/pairs"), or NULL. */
const json_t *iob_catalogue_scenario(const struct iob_catalogue *c, const char *name);

/** The reference implementation of scenario @p name, or NULL (none, or no such scenario). */
const char *iob_catalogue_reference(const struct iob_catalogue *c, const char *name);

/**
 * The default matrix as a matrix spec (docs/results-schema.md): one suite per scenario flagged
 * "default" and per set of implementations sharing their thread counts, with the scenario's
 * parameters and reference, and @p defaults (a JSON object text: repetitions, min_time...) as its
 * "defaults". @return a string to free, or NULL when out of memory.
 */
char *iob_catalogue_matrix_text(const struct iob_catalogue *c, const char *defaults);

/**
 * The full names of the benchmarks the gate counts (scenarios flagged "gate"), borrowed from the
 * catalogue, in catalogue order. @return 0 or -ENOMEM; *@p names is freed by the caller (the
 * array only).
 */
int iob_catalogue_gate_names(const struct iob_catalogue *c, const char ***names, size_t *n);

#ifdef __cplusplus
}
#endif

#endif /* IOB_CATALOGUE_H */
