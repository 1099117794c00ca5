/*
 * Number rules (dial plans, trunk translations): the shapes applied without
 * PCRE2 ('^L(\d{m,n})$' with text, $$, $0, $1 in the replacement) must give
 * exactly what pcre2_substitute gives (result, "no match", result too long)
 * for any subject, and the look-alikes must be left to PCRE2.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rt_bytes.h"
#include "rt_rewrite.h"
#include "test_rand.h"

static const char *const FAST[][2] = {
	{"^(\\d{4})$", "+14255550$1"},
	{"^(\\d{7})$", "+1425$1"},
	{"^(\\d{10})$", "+1$1"},
	{"^1(\\d{10})$", "+1$1"},
	{"^011(\\d{7,15})$", "+$1"},
	{"^\\+1(\\d{10})$", "1$1"},
	{"^\\+(\\d+)$", "011$1"},
	{"^\\+(\\d*)$", "$1"},
	{"^\\+44(\\d{9,})$", "0$1"},
	{"^9(\\d)$", "${1}x$$y$0"},
	{"^(\\d{2,3})$", "$1$1$1$1$1$1$1"},
	{"^\\+1425(\\d{4})$", "$0;ext=$1"},
	{"^(\\d*)$", "$$$1$$"},
	{"^(\\d{0})$", "empty"},
	{"^55(\\d{1,2})$", "${0}-${1}"},
};

static const char *const SLOW[][2] = {
	{"^(\\d{4})", "$1"},         /* no '$' */
	{"(\\d{4})$", "$1"},          /* no '^' */
	{"^(\\d{4}?)$", "$1"},        /* lazy */
	{"^(\\d{4})+$", "$1"},        /* group repeated */
	{"^(\\d{2})(\\d{2})$", "$2"}, /* two groups */
	{"^1?(\\d{10})$", "+1$1"},    /* optional literal */
	{"^(\\d{4})$", "$01"},        /* group written with a leading zero */
	{"^([0-9]{4})$", "$1"},       /* a class, not \d */
	{"^(\\d++)$", "$1"},          /* possessive */
	{"^a(\\d)$", "$1"},           /* a letter */
};

static void subject(char *out, size_t cap)
{
	static const char *const pre[] = {"", "+", "+1", "1", "011", "+44", "9", "55", "+1425", "0"};
	const char *p = pre[rnd(10)];
	size_t n = (size_t)snprintf(out, cap, "%s", p);
	uint32_t d = rnd(18);
	for (uint32_t i = 0; i < d && n + 1 < cap; i++)
		out[n++] = (char)('0' + rnd(10));
	out[n] = '\0';
	switch (rnd(12)) {
	case 0:
		if (n + 1 < cap) {
			out[n++] = '\n';
			out[n] = '\0';
		}
		break;
	case 1:
		if (n)
			out[rnd((uint32_t)n)] = "a\n+ #"[rnd(5)];
		break;
	default:
		break;
	}
}

/* What PCRE2 alone says: the same return convention as rt_rewrite_apply. */
static int reference(const struct rt_rewrite *rw, const char *s, size_t len,
		     pcre2_match_data *md, char *out, size_t outlen)
{
	PCRE2_SIZE olen = outlen;
	int rc = pcre2_substitute(rw->code, (PCRE2_SPTR)s, len, 0, 0, md, NULL,
				  (PCRE2_SPTR)rw->replace, PCRE2_ZERO_TERMINATED,
				  (PCRE2_UCHAR *)out, &olen);
	return rc > 0 ? 1 : rc == 0 ? 0 : rc == PCRE2_ERROR_NOMEMORY ? -2 : -3;
}

static void fast_equals_pcre2(void **state)
{
	pcre2_match_data *md = pcre2_match_data_create(10, NULL);
	rng_state = 0x5ca1ab1eull;
	uint64_t matched = 0, checks = 0;
	for (size_t r = 0; r < sizeof(FAST) / sizeof(FAST[0]); r++) {
		struct rt_rewrite rw;
		char err[256];
		assert_int_equal(rt_rewrite_compile(&rw, FAST[r][0], FAST[r][1], err, sizeof(err)), 0);
		if (!rw.fast)
			fail_msg("'%s' -> '%s' should be applied without PCRE2", FAST[r][0], FAST[r][1]);
		for (uint32_t i = 0; i < 20000; i++) {
			char s[40], a[80], b[80];
			subject(s, sizeof(s));
			size_t len = strlen(s);
			size_t outlen = rnd(4) ? 64 : 1 + rnd(24);
			memset(a, 0x55, sizeof(a));
			memset(b, 0x55, sizeof(b));
			int got = rt_rewrite_apply(&rw, s, len, md, a, outlen);
			int want = reference(&rw, s, len, md, b, outlen);
			got = got == -ENOSPC ? -2 : got < 0 ? -3 : got;
			if (got != want || (got == 1 && strcmp(a, b)))
				fail_msg("'%s' -> '%s' on '%s' (outlen %zu): got %d '%s', PCRE2 %d '%s'",
					 FAST[r][0], FAST[r][1], s, outlen, got, got == 1 ? a : "", want,
					 want == 1 ? b : "");
			matched += got == 1;
			checks++;
		}
		rt_rewrite_free(&rw);
	}
	print_message("%llu subjects, %llu rewritten\n", (unsigned long long)checks,
		      (unsigned long long)matched);
	assert_true(matched > checks / 20);
	pcre2_match_data_free(md);
}

static void look_alikes_stay_with_pcre2(void **state)
{
	for (size_t r = 0; r < sizeof(SLOW) / sizeof(SLOW[0]); r++) {
		struct rt_rewrite rw;
		char err[256];
		assert_int_equal(rt_rewrite_compile(&rw, SLOW[r][0], SLOW[r][1], err, sizeof(err)), 0);
		if (rw.fast)
			fail_msg("'%s' -> '%s' must stay with PCRE2", SLOW[r][0], SLOW[r][1]);
		rt_rewrite_free(&rw);
	}
}

static bool bytes_in_slow(const char *p, size_t n, uint8_t lo, uint8_t hi)
{
	for (size_t i = 0; i < n; i++)
		if ((uint8_t)p[i] < lo || (uint8_t)p[i] > hi)
			return false;
	return true;
}

/* rt_bytes_in (word at a time) against a byte loop: every byte value at
 * every place of every length up to 24, alone and next to another, for
 * both ranges the hot path asks. Each subject is a heap block of exactly
 * its length, so the sanitizer build sees any read past it. */
static void bytes_in_equals_bytewise(void **state)
{
	static const uint8_t ranges[][2] = {{0x21, 0x7e}, {'0', '9'}};
	unsigned long long checks = 0;
	for (size_t r = 0; r < 2; r++) {
		uint8_t lo = ranges[r][0], hi = ranges[r][1];
		for (size_t n = 0; n <= 24; n++) {
			char *p = malloc(n ? n : 1);
			assert_non_null(p);
			for (size_t at = 0; at < (n ? n : 1); at++) {
				for (unsigned v = 0; v < 256; v++) {
					for (size_t i = 0; i < n; i++)
						p[i] = (char)(lo + (i * 7 + v) % (hi - lo + 1u));
					if (n)
						p[at] = (char)v;
					if (n > 1)
						p[(at + 3) % n] = (char)(v * 31 + 5);
					assert_int_equal(rt_bytes_in(p, n, lo, hi), bytes_in_slow(p, n, lo, hi));
					checks++;
				}
			}
			free(p);
		}
	}
	print_message("%llu subjects\n", checks);
}

/* A rule that backtracks exponentially on a long number fails within the
 * bound (-EIO: the number then stays as it was) instead of holding the
 * worker; the same rule still rewrites a number it matches. */
static void backtracking_is_bounded(void **state)
{
	struct rt_rewrite rw;
	char err[256], out[64];
	size_t olen;
	/* Under PCRE2's default limit this takes about 30 ms (JIT) to fail. */
	assert_int_equal(rt_rewrite_compile(&rw, "^(\\d+)+$", "+$1", err, sizeof(err)), 0);
	assert_false(rw.fast);
	pcre2_match_data *md = pcre2_match_data_create(4, NULL);
	assert_non_null(md);
	const char *many = "1111111111111111111111111111111111111111111111111111111111a";
	assert_int_equal(rt_rewrite_apply_len(&rw, many, strlen(many), md, out, sizeof(out), &olen),
			 -EIO);
	assert_int_equal(rt_rewrite_apply_len(&rw, "12345", 5, md, out, sizeof(out), &olen), 1);
	assert_string_equal(out, "+12345");
	pcre2_match_data_free(md);
	rt_rewrite_free(&rw);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bytes_in_equals_bytewise),
		cmocka_unit_test(backtracking_is_bounded),
		cmocka_unit_test(fast_equals_pcre2),
		cmocka_unit_test(look_alikes_stay_with_pcre2),
	};
	return cmocka_run_group_tests_name("rewrite", tests, NULL, NULL);
}
