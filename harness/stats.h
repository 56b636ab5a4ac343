/**
 * Statistics for comparing two samples of benchmark measurements.
 *
 * Synchronization: none (pure functions).
 */
#ifndef IOB_STATS_H
#define IOB_STATS_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct iob_utest {
	double u;   /**< U statistic of sample a (count of pairs a > b, ties count 1/2) */
	double p;   /**< two-sided p-value */
	bool exact; /**< p from the exact distribution (small samples, no ties), else normal */
};

/**
 * Two-sided Mann-Whitney U test of @p a against @p b (as scipy.stats.mannwhitneyu with
 * alternative='two-sided', method='auto': exact for small samples without ties, else the normal
 * approximation with tie and continuity correction).
 * @return 0, or -EINVAL when a sample is empty.
 */
int iob_mannwhitney(const double *a, size_t na, const double *b, size_t nb, struct iob_utest *out);

#ifdef __cplusplus
}
#endif

#endif /* IOB_STATS_H */
