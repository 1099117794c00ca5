#pragma once
/*
 * Deterministic numbers for the randomized unit tests: one xorshift64
 * stream per test file, set by assigning rng_state (a failure names its
 * seed; the same seed gives the same inputs).
 */
#include <stdint.h>

static uint64_t rng_state = 1;

/* In [0, n); 0 for n == 0. */
static inline uint32_t rnd(uint32_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return n ? (uint32_t)(rng_state % n) : 0;
}

/* n random digits and a NUL. */
static inline void digits(char *p, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (char)('0' + rnd(10));
	p[n] = '\0';
}
