/**
 * HDR-style log-linear latency histogram (the layout of Gil Tene's HdrHistogram).
 *
 * Values in [lowest, highest] are recorded with a relative error of at most 10^-sigdigits
 * (1..5 significant digits). Buckets double in width; each bucket is split into 2^k linear
 * sub-buckets, with 2^k >= 2 * 10^sigdigits.
 *
 * Synchronization: none. Record from one thread only (one histogram per thread) and merge
 * after the measured loop. Recording costs a few ns and never allocates.
 */
#ifndef IOB_HIST_H
#define IOB_HIST_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

struct iob_hist;

/**
 * @return 0, -EINVAL (lowest < 1, highest < 2 * lowest, sigdigits outside 1..5), -ENOMEM.
 */
int iob_hist_create(uint64_t lowest, uint64_t highest, int sigdigits, struct iob_hist **out)
	__attribute__((warn_unused_result));
void iob_hist_destroy(struct iob_hist *h);
void iob_hist_reset(struct iob_hist *h);

/**
 * Record one value. Values below @p lowest are kept (at @p lowest's resolution).
 * @return false (and counts nothing) when v > highest.
 */
bool iob_hist_record(struct iob_hist *h, uint64_t v);
bool iob_hist_record_n(struct iob_hist *h, uint64_t v, uint64_t count);
/**
 * Record @p v and, when v exceeds @p expected_interval, the values a stalled closed-loop
 * recorder missed (v - interval, v - 2*interval, ... down to and including the last one
 * >= interval): coordinated-omission correction, as HdrHistogram's recordCorrectedValue.
 * An interval of 0 records v alone. @return false (and counts nothing) when v > highest.
 */
bool iob_hist_record_corrected(struct iob_hist *h, uint64_t v, uint64_t expected_interval);

/**
 * Add @p src into @p dst (any layouts). Each of src's slots goes in at its lowest value (clamped to
 * src's exact min/max), so mixed layouts lose at most one slot width of precision.
 * @return how many of src's values fell outside dst's range (dropped, not counted).
 */
uint64_t iob_hist_merge(struct iob_hist *dst, const struct iob_hist *src);

uint64_t iob_hist_count(const struct iob_hist *h);
/** Exact smallest / largest value recorded (0 when empty). */
uint64_t iob_hist_min(const struct iob_hist *h);
uint64_t iob_hist_max(const struct iob_hist *h);
/** Mean of the slots' midpoints (HdrHistogram's getMean): within the histogram's precision. */
double iob_hist_mean(const struct iob_hist *h);
/**
 * Value at percentile @p p (0..100, clamped): the highest-equivalent value of the bucket holding
 * the rank round(p/100 * count) (at least 1); at p == 0 the lowest-equivalent value, as
 * HdrHistogram's getValueAtPercentile. 0 when empty.
 */
uint64_t iob_hist_percentile(const struct iob_hist *h, double p);

/**
 * Write the percentile distribution in HdrHistogram's CSV layout (outputPercentileDistribution
 * with useCsvFormat): header "Value","Percentile","TotalCount","1/(1-Percentile)" (quoted), then
 * one row per percentile step, values divided by @p value_scale (e.g. 1000 for ns -> us) with
 * sigdigits decimals, @p ticks_per_half percentile steps per halving distance (5 is usual), and a
 * last row at percentile 1.0 whose 1/(1-Percentile) is Infinity. An empty histogram writes only
 * the header. @return 0, -EINVAL (ticks_per_half < 1, value_scale <= 0), -EIO.
 */
int iob_hist_write_csv(const struct iob_hist *h, FILE *f, int ticks_per_half, double value_scale);

#ifdef __cplusplus
}
#endif

#endif /* IOB_HIST_H */
