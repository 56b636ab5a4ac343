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
 * Two-sided Mann-Whitney U test of @p a against @p b, as scipy.stats.mannwhitneyu(a, b,
 * alternative='two-sided', method='auto') in scipy 1.10: the exact distribution when
 * min(na, nb) <= 8 (scipy goes asymptotic only when both exceed 8) and no value repeats in the
 * pooled sample; else the normal approximation with tie and continuity correction. p is clipped
 * to [0, 1]; all values the same gives p = 1. Formulas in stats.c. The exact path costs about
 * min(na, nb)^2 max(na, nb)^2 / 2 additions and min * max doubles of memory.
 * @return 0, -EINVAL when a sample is empty or holds a NaN, -ENOMEM.
 */
int iob_mannwhitney(const double *a, size_t na, const double *b, size_t nb, struct iob_utest *out);

#ifdef __cplusplus
}
#endif

#endif /* IOB_STATS_H */
