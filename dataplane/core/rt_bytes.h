#pragma once
/*
 * rt_bytes_in: are all n bytes at p within [lo, hi]? The hot path asks it
 * of every number (printable, no space) and of rewrite tails (digits).
 * Eight bytes a word: a byte below lo or above hi sets its top bit in one
 * of two words (the classic "has a byte less / more than" tests, exact
 * for lo <= 0x80 and hi <= 0x7f). The last word overlaps the one before
 * it, so a number of 8 to 16 bytes is two words; shorter, two overlapping
 * half words. No early exit: numbers are short and the loop then has no
 * branch to mispredict.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* For the hot path's small helpers the compiler would not inline (they
 * sit in loops it judges too big): their call costs more than them. */
#define RT_HOT_INLINE static inline __attribute__((always_inline))

static inline uint64_t rt_bytes_out(uint64_t x, uint8_t lo, uint8_t hi)
{
	const uint64_t ones = 0x0101010101010101ull;
	return (((x - ones * lo) & ~x) | ((x + ones * (uint8_t)(0x7f - hi)) | x)) & ones * 0x80;
}

static inline bool rt_bytes_in(const char *p, size_t n, uint8_t lo, uint8_t hi)
{
	uint64_t bad = 0, x;
	if (n >= 8) {
		for (size_t i = 0; i + 8 < n; i += 8) {
			memcpy(&x, p + i, 8);
			bad |= rt_bytes_out(x, lo, hi);
		}
		memcpy(&x, p + n - 8, 8);
		return !(bad | rt_bytes_out(x, lo, hi));
	}
	if (n >= 4) {
		uint32_t a, b;
		memcpy(&a, p, 4);
		memcpy(&b, p + n - 4, 4);
		return !rt_bytes_out(a | (uint64_t)b << 32, lo, hi);
	}
	for (size_t i = 0; i < n; i++)
		bad |= (uint8_t)((unsigned char)p[i] - lo) > (uint8_t)(hi - lo);
	return !bad;
}
