#pragma once
/*
 * sb_hist: an HDR-style log-linear latency histogram in nanoseconds.
 *
 * Values below 2^SB_HIST_SUB_BITS ns are counted exactly; above, each power
 * of two is split into 2^(SB_HIST_SUB_BITS-1) equal buckets, so a bucket is
 * never wider than 1/512 of its value (three significant digits: 1 us
 * resolution at 1 ms, 1 ms at 1 s). Values are clamped at 2^40 ns (18 min).
 * 16384 buckets, 128 KiB: one per thread, merged at the end.
 *
 * One writer per histogram. sb_hist_add stores with relaxed atomics so that
 * another thread may read a live histogram (sb_hist_snapshot) for the
 * progress line without a data race; on x86 these are plain moves.
 */
#include <stdint.h>

#define SB_HIST_SUB_BITS 10
#define SB_HIST_SUB (1u << SB_HIST_SUB_BITS)
#define SB_HIST_HALF (SB_HIST_SUB / 2)
#define SB_HIST_MAX_BITS 40
#define SB_HIST_BUCKETS (SB_HIST_SUB + (SB_HIST_MAX_BITS - SB_HIST_SUB_BITS) * SB_HIST_HALF)

struct sb_hist {
	uint64_t n;
	uint64_t sum;     /* ns, for the mean */
	uint64_t min;     /* UINT64_MAX while empty */
	uint64_t max;
	uint64_t count[SB_HIST_BUCKETS];
};

void sb_hist_init(struct sb_hist *h);

static inline unsigned sb_hist_index(uint64_t v)
{
	unsigned msb, shift;

	if (v < SB_HIST_SUB)
		return (unsigned)v;
	if (v >= (UINT64_C(1) << SB_HIST_MAX_BITS))
		v = (UINT64_C(1) << SB_HIST_MAX_BITS) - 1;
	msb = 63u - (unsigned)__builtin_clzll(v);
	shift = msb - (SB_HIST_SUB_BITS - 1);
	return SB_HIST_SUB + (shift - 1) * SB_HIST_HALF + (unsigned)((v >> shift) - SB_HIST_HALF);
}

#define SB_RELAXED_INC(x, d) __atomic_store_n(&(x), (x) + (d), __ATOMIC_RELAXED)

static inline void sb_hist_add(struct sb_hist *h, uint64_t v)
{
	unsigned i = sb_hist_index(v);

	SB_RELAXED_INC(h->count[i], 1);
	SB_RELAXED_INC(h->n, 1);
	SB_RELAXED_INC(h->sum, v);
	if (v < h->min)
		__atomic_store_n(&h->min, v, __ATOMIC_RELAXED);
	if (v > h->max)
		__atomic_store_n(&h->max, v, __ATOMIC_RELAXED);
}

/* Lowest and highest value bucket i counts. */
uint64_t sb_hist_bucket_low(unsigned i);
uint64_t sb_hist_bucket_high(unsigned i);

/* Copy a histogram another thread is writing (relaxed loads). */
void sb_hist_snapshot(struct sb_hist *dst, const struct sb_hist *live);
/* dst += src */
void sb_hist_merge(struct sb_hist *dst, const struct sb_hist *src);
/* dst = a - b (b an earlier snapshot of a); min/max to a bucket's width. */
void sb_hist_diff(struct sb_hist *dst, const struct sb_hist *a, const struct sb_hist *b);

/*
 * The value at percentile p (0..100]: the highest value of the bucket
 * holding the ceil(p/100 * n)-th smallest value, never above the observed
 * maximum (HDR's "highest equivalent value"). 0 when empty.
 */
uint64_t sb_hist_percentile(const struct sb_hist *h, double p);
