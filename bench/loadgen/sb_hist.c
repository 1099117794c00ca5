/* sb_hist: see sb_hist.h. */
#include "sb_hist.h"

#include <math.h>
#include <string.h>

void sb_hist_init(struct sb_hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

uint64_t sb_hist_bucket_low(unsigned i)
{
	unsigned k, shift;

	if (i < SB_HIST_SUB)
		return i;
	k = (i - SB_HIST_SUB) / SB_HIST_HALF;
	shift = k + 1;
	return (uint64_t)(SB_HIST_HALF + (i - SB_HIST_SUB) % SB_HIST_HALF) << shift;
}

uint64_t sb_hist_bucket_high(unsigned i)
{
	unsigned shift;

	if (i < SB_HIST_SUB)
		return i;
	shift = (i - SB_HIST_SUB) / SB_HIST_HALF + 1;
	return sb_hist_bucket_low(i) + (UINT64_C(1) << shift) - 1;
}

void sb_hist_snapshot(struct sb_hist *dst, const struct sb_hist *live)
{
	dst->n = __atomic_load_n(&live->n, __ATOMIC_RELAXED);
	dst->sum = __atomic_load_n(&live->sum, __ATOMIC_RELAXED);
	dst->min = __atomic_load_n(&live->min, __ATOMIC_RELAXED);
	dst->max = __atomic_load_n(&live->max, __ATOMIC_RELAXED);
	for (unsigned i = 0; i < SB_HIST_BUCKETS; i++)
		dst->count[i] = __atomic_load_n(&live->count[i], __ATOMIC_RELAXED);
}

void sb_hist_merge(struct sb_hist *dst, const struct sb_hist *src)
{
	dst->n += src->n;
	dst->sum += src->sum;
	if (src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
	for (unsigned i = 0; i < SB_HIST_BUCKETS; i++)
		dst->count[i] += src->count[i];
}

void sb_hist_diff(struct sb_hist *dst, const struct sb_hist *a, const struct sb_hist *b)
{
	uint64_t n = 0;
	unsigned lo = SB_HIST_BUCKETS, hi = 0;

	dst->sum = a->sum >= b->sum ? a->sum - b->sum : 0;
	for (unsigned i = 0; i < SB_HIST_BUCKETS; i++) {
		/* The snapshots are not atomic as a whole: a bucket may be a
		 * step ahead of n. Never let a difference go negative. */
		dst->count[i] = a->count[i] >= b->count[i] ? a->count[i] - b->count[i] : 0;
		if (dst->count[i]) {
			if (lo == SB_HIST_BUCKETS)
				lo = i;
			hi = i;
		}
		n += dst->count[i];
	}
	dst->n = n;
	/* The interval's extremes are known to a bucket's width only. */
	if (n == 0) {
		dst->min = UINT64_MAX;
		dst->max = 0;
	} else {
		dst->min = sb_hist_bucket_low(lo) > a->min ? sb_hist_bucket_low(lo) : a->min;
		dst->max = sb_hist_bucket_high(hi) < a->max ? sb_hist_bucket_high(hi) : a->max;
	}
}

uint64_t sb_hist_percentile(const struct sb_hist *h, double p)
{
	uint64_t total = 0, rank, seen = 0;

	for (unsigned i = 0; i < SB_HIST_BUCKETS; i++)
		total += h->count[i];
	if (total == 0)
		return 0;
	if (p >= 100.0)
		return h->max;
	rank = (uint64_t)ceil(p / 100.0 * (double)total);
	if (rank < 1)
		rank = 1;
	for (unsigned i = 0; i < SB_HIST_BUCKETS; i++) {
		seen += h->count[i];
		if (seen >= rank) {
			uint64_t v = sb_hist_bucket_high(i);
			return v < h->max ? v : h->max;
		}
	}
	return h->max;
}
