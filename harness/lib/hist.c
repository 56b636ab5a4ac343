/*
 * HDR-style log-linear latency histogram: the bucket layout of Gil Tene's HdrHistogram
 * (https://github.com/HdrHistogram/HdrHistogram, "HdrHistogram: A High Dynamic Range Histogram").
 *
 * Layout. With d significant digits, sub_bucket_count = 2^ceil(log2(2 * 10^d)) linear sub-buckets
 * per bucket, and unit = 2^floor(log2(lowest)). Bucket 0 covers [0, sub_bucket_count * unit) in
 * steps of unit; bucket b > 0 covers [half * unit * 2^b, sub_bucket_count * unit * 2^b) in steps of
 * unit * 2^b, where half = sub_bucket_count / 2 (its lower half would repeat bucket b - 1, so it is
 * not stored). The counts array therefore holds (bucket_count + 1) * half slots, and:
 *
 *   bucket(v)     = 64 - clz(v | sub_bucket_mask) - unit_magnitude - (half_magnitude + 1)
 *   sub_bucket(v) = v >> (bucket(v) + unit_magnitude)            (in [half, 2 * half) for b > 0)
 *   index(v)      = ((bucket(v) + 1) << half_magnitude) + sub_bucket(v) - half
 *
 * Invariants:
 *   - every value v in [0, highest] has index(v) < counts_len; record() rejects v > highest;
 *   - a slot's width is at most value / half <= value / 10^d for values >= half * unit, so any value
 *     reported for a slot (its lowest or highest equivalent) is within 10^-d of every value in it;
 *   - total == sum(counts); min/max are the exact extremes recorded (UINT64_MAX/0 when empty).
 *
 * Recording is branch-light, loop-free and allocation-free: one clz, two shifts, one add.
 */
#include "hist.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct iob_hist {
	uint64_t *counts;
	uint64_t total;
	uint64_t min; /* exact smallest value recorded, UINT64_MAX when empty */
	uint64_t max; /* exact largest value recorded, 0 when empty */
	uint64_t lowest;
	uint64_t highest;
	uint64_t sub_bucket_mask;
	int sigdigits;
	int unit_magnitude;
	int sub_bucket_half_count_magnitude;
	int bucket_count;
	uint32_t sub_bucket_count;
	uint32_t sub_bucket_half_count;
	size_t counts_len;
};

static int floor_log2(uint64_t v)
{
	return 63 - __builtin_clzll(v);
}

static int bucket_index(const struct iob_hist *h, uint64_t v)
{
	int pow2ceiling = 64 - __builtin_clzll(v | h->sub_bucket_mask);

	return pow2ceiling - h->unit_magnitude - (h->sub_bucket_half_count_magnitude + 1);
}

static uint64_t sub_bucket_index(const struct iob_hist *h, uint64_t v, int bucket)
{
	return v >> (bucket + h->unit_magnitude);
}

static size_t counts_index(const struct iob_hist *h, uint64_t v)
{
	int b = bucket_index(h, v);
	uint64_t sb = sub_bucket_index(h, v, b);
	size_t base = (size_t)(b + 1) << h->sub_bucket_half_count_magnitude;

	return base + (size_t)(sb - h->sub_bucket_half_count);
}

/* Lowest value that maps to counts slot @p index. */
static uint64_t value_at_index(const struct iob_hist *h, size_t index)
{
	int b = (int)(index >> h->sub_bucket_half_count_magnitude) - 1;
	uint64_t sb = (index & (h->sub_bucket_half_count - 1)) + h->sub_bucket_half_count;

	if (b < 0) {
		sb -= h->sub_bucket_half_count;
		b = 0;
	}
	return sb << (b + h->unit_magnitude);
}

static uint64_t equivalent_range(const struct iob_hist *h, uint64_t v)
{
	int b = bucket_index(h, v);
	uint64_t sb = sub_bucket_index(h, v, b);
	int adjusted = sb >= h->sub_bucket_count ? b + 1 : b;

	return (uint64_t)1 << (h->unit_magnitude + adjusted);
}

static uint64_t lowest_equivalent(const struct iob_hist *h, uint64_t v)
{
	int b = bucket_index(h, v);

	return sub_bucket_index(h, v, b) << (b + h->unit_magnitude);
}

/* lowest + (range - 1) cannot overflow: the top slot ends at or below 2^64 - 1. */
static uint64_t highest_equivalent(const struct iob_hist *h, uint64_t v)
{
	return lowest_equivalent(h, v) + (equivalent_range(h, v) - 1);
}

static uint64_t median_equivalent(const struct iob_hist *h, uint64_t v)
{
	return lowest_equivalent(h, v) + (equivalent_range(h, v) >> 1);
}

int iob_hist_create(uint64_t lowest, uint64_t highest, int sigdigits, struct iob_hist **out)
{
	struct iob_hist *h;
	uint64_t single_unit, untrackable;
	int sub_bucket_count_magnitude, half_magnitude, unit_magnitude, buckets;

	if (lowest < 1 || highest / 2 < lowest || sigdigits < 1 || sigdigits > 5 || !out)
		return -EINVAL;

	single_unit = 2;
	for (int i = 0; i < sigdigits; i++)
		single_unit *= 10;
	/* ceil(log2(2 * 10^d)); 2 * 10^d is never a power of two. */
	sub_bucket_count_magnitude = floor_log2(single_unit) + 1;
	half_magnitude = sub_bucket_count_magnitude - 1;
	unit_magnitude = floor_log2(lowest);
	if (unit_magnitude + half_magnitude > 61)
		return -EINVAL;

	/* Buckets needed so that sub_bucket_count << (unit + buckets - 1) exceeds highest. */
	untrackable = (uint64_t)1 << (unit_magnitude + sub_bucket_count_magnitude);
	buckets = 1;
	while (untrackable <= highest) {
		if (untrackable > UINT64_MAX / 2) {
			buckets++;
			break;
		}
		untrackable <<= 1;
		buckets++;
	}

	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->lowest = lowest;
	h->highest = highest;
	h->sigdigits = sigdigits;
	h->unit_magnitude = unit_magnitude;
	h->sub_bucket_half_count_magnitude = half_magnitude;
	h->sub_bucket_count = (uint32_t)1 << sub_bucket_count_magnitude;
	h->sub_bucket_half_count = h->sub_bucket_count / 2;
	h->sub_bucket_mask = ((uint64_t)h->sub_bucket_count - 1) << unit_magnitude;
	h->bucket_count = buckets;
	h->counts_len = (size_t)(buckets + 1) * h->sub_bucket_half_count;
	h->counts = calloc(h->counts_len, sizeof(*h->counts));
	if (!h->counts) {
		free(h);
		return -ENOMEM;
	}
	h->min = UINT64_MAX;
	h->max = 0;
	*out = h;
	return 0;
}

void iob_hist_destroy(struct iob_hist *h)
{
	if (!h)
		return;
	free(h->counts);
	free(h);
}

void iob_hist_reset(struct iob_hist *h)
{
	memset(h->counts, 0, h->counts_len * sizeof(*h->counts));
	h->total = 0;
	h->min = UINT64_MAX;
	h->max = 0;
}

bool iob_hist_record_n(struct iob_hist *h, uint64_t v, uint64_t count)
{
	if (__builtin_expect(v > h->highest, 0))
		return false;
	h->counts[counts_index(h, v)] += count;
	h->total += count;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
	return true;
}

bool iob_hist_record(struct iob_hist *h, uint64_t v)
{
	return iob_hist_record_n(h, v, 1);
}

bool iob_hist_record_corrected(struct iob_hist *h, uint64_t v, uint64_t expected_interval)
{
	if (!iob_hist_record_n(h, v, 1))
		return false;
	if (expected_interval == 0 || v <= expected_interval)
		return true;
	/* As HdrHistogram's recordValueWithExpectedInterval: down to and including the interval. */
	for (uint64_t missing = v - expected_interval; missing >= expected_interval;
	     missing -= expected_interval)
		iob_hist_record_n(h, missing, 1); /* below v, so in range */
	return true;
}

uint64_t iob_hist_merge(struct iob_hist *dst, const struct iob_hist *src)
{
	uint64_t dropped = 0, accepted = 0;

	if (src->total == 0)
		return 0;
	for (size_t i = 0; i < src->counts_len; i++) {
		uint64_t n = src->counts[i], v;

		if (n == 0)
			continue;
		/* The slot's lowest value, kept inside the exact extremes src saw. */
		v = value_at_index(src, i);
		if (v < src->min)
			v = src->min;
		if (v > src->max)
			v = src->max;
		if (v > dst->highest) {
			dropped += n;
			continue;
		}
		dst->counts[counts_index(dst, v)] += n;
		dst->total += n;
		accepted += n;
		if (v < dst->min)
			dst->min = v;
		if (v > dst->max)
			dst->max = v;
	}
	/* src->min went in as itself when anything went in; src->max did when it fits dst. */
	if (accepted && src->max <= dst->highest && src->max > dst->max)
		dst->max = src->max;
	return dropped;
}

uint64_t iob_hist_count(const struct iob_hist *h)
{
	return h->total;
}

uint64_t iob_hist_min(const struct iob_hist *h)
{
	return h->total ? h->min : 0;
}

uint64_t iob_hist_max(const struct iob_hist *h)
{
	return h->max;
}

double iob_hist_mean(const struct iob_hist *h)
{
	double sum = 0;

	if (h->total == 0)
		return 0;
	for (size_t i = 0; i < h->counts_len; i++) {
		if (h->counts[i])
			sum += (double)h->counts[i] *
			       (double)median_equivalent(h, value_at_index(h, i));
	}
	return sum / (double)h->total;
}

uint64_t iob_hist_percentile(const struct iob_hist *h, double p)
{
	double req = p < 0 ? 0 : (p > 100 ? 100 : p);
	uint64_t want = (uint64_t)(req / 100 * (double)h->total + 0.5), seen = 0;

	if (want < 1)
		want = 1;
	for (size_t i = 0; i < h->counts_len; i++) {
		seen += h->counts[i];
		if (seen >= want) {
			uint64_t v = value_at_index(h, i);

			return p <= 0 ? lowest_equivalent(h, v) : highest_equivalent(h, v);
		}
	}
	return 0;
}

/*
 * HdrHistogram's percentile iterator: steps of 100 / (ticks_per_half * 2^(k + 1)) percent while
 * the level lies in the k-th halving of the distance to 100 %, one row per level reached (several
 * rows may share a slot), then a final row at 100 %.
 */
int iob_hist_write_csv(const struct iob_hist *h, FILE *f, int ticks_per_half, double value_scale)
{
	double level = 0;
	uint64_t seen = 0, value = 0;
	int d = h->sigdigits;

	if (ticks_per_half < 1 || !(value_scale > 0))
		return -EINVAL;
	if (fprintf(f, "\"Value\",\"Percentile\",\"TotalCount\",\"1/(1-Percentile)\"\n") < 0)
		return -EIO;
	if (h->total == 0)
		return fflush(f) ? -EIO : 0;

	for (size_t i = 0; i < h->counts_len && seen < h->total; i++) {
		uint64_t n = h->counts[i];
		double cur;

		if (n == 0)
			continue;
		seen += n;
		value = highest_equivalent(h, value_at_index(h, i));
		cur = 100.0 * (double)seen / (double)h->total;
		while (level <= cur) {
			double pct = level / 100.0;
			int64_t halvings = (int64_t)(log(100.0 / (100.0 - level)) / log(2)) + 1;
			int64_t ticks = (int64_t)ticks_per_half * (int64_t)pow(2, (double)halvings);

			if (fprintf(f, "%.*f,%.12f,%llu,%.2f\n", d, (double)value / value_scale,
				    pct, (unsigned long long)seen, 1.0 / (1.0 - pct)) < 0)
				return -EIO;
			level += 100.0 / (double)ticks;
			/* The last slot gets one row at its level, then the 100 % row. */
			if (seen == h->total)
				break;
		}
	}
	if (fprintf(f, "%.*f,%.12f,%llu,Infinity\n", d, (double)value / value_scale, 1.0,
		    (unsigned long long)seen) < 0)
		return -EIO;
	return fflush(f) ? -EIO : 0;
}
