/*
 * libFuzzer target for the pattern classifier: a lowering must mean exactly
 * what PCRE2 means. Input: a pattern, then NUL-separated numbers. When PCRE2
 * accepts the pattern and rt_classify lowers it, the numbers from the input
 * and witnesses built from each alternative (its literal with digit runs
 * at, around and past its count limits, with and without a final '\n') are
 * matched by PCRE2, by each lowered alternative and by a trie of them; any
 * disagreement aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "rt_classify.h"
#include "rt_rewrite.h"
#include "rt_trie.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct rt_lowered alts[RT_CLASSIFY_MAX_ALTS];

static int count_id(unsigned id, void *p)
{
	(*(unsigned *)p)++;
	return 0;
}

static void check(pcre2_code *c, pcre2_match_data *md, const struct rt_trie *t, uint32_t n,
		  const char *pat, const char *s, size_t len)
{
	/* '(\d+){5,91}$' backtracks for minutes under the default limit; the
	 * rewrites' bounds turn that into "no verdict" within the fuzz timeout. */
	int rc = pcre2_match(c, (PCRE2_SPTR)s, len, 0, 0, md, rt_regex_limits());
	if (rc < 0 && rc != PCRE2_ERROR_NOMATCH)
		return; /* a resource limit ('(\d+){35}' backtracks forever): no verdict */
	int want = rc >= 0;
	int any = 0;
	for (uint32_t i = 0; i < n; i++)
		any |= rt_lowered_match(&alts[i], s, len);
	unsigned calls = 0;
	rt_trie_match(t, s, len, count_id, &calls);
	if (want != any || (unsigned)want != calls) {
		char desc[8192];
		rt_lowered_format(alts, n, desc, sizeof(desc));
		fprintf(stderr, "pattern '%s' lowered to %s; number '%.*s': PCRE2 %d, lowering %d, "
				"trie %u\n",
			pat, desc, (int)len, s, want, any, calls);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	size_t plen = nul ? (size_t)(nul - data) : size;
	if (plen > 256)
		return 0;
	char pat[257];
	memcpy(pat, data, plen);
	pat[plen] = '\0';

	uint32_t n;
	if (!rt_classify(pat, alts, RT_CLASSIFY_MAX_ALTS, &n))
		return 0;
	int ec;
	PCRE2_SIZE eo;
	pcre2_code *c = pcre2_compile((PCRE2_SPTR)pat, plen, 0, &ec, &eo, NULL);
	if (!c)
		return 0; /* never handed to the classifier in real use */
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(c, NULL);
	struct rt_trie_builder b;
	struct rt_trie t;
	rt_trie_builder_init(&b);
	if (!md || rt_trie_builder_add(&b, 0, alts, n) || rt_trie_build(&t, &b))
		abort();
	rt_trie_builder_free(&b);

	for (const uint8_t *p = nul ? nul + 1 : data + size; p < data + size;) {
		const uint8_t *e = memchr(p, 0, (size_t)(data + size - p));
		size_t l = e ? (size_t)(e - p) : (size_t)(data + size - p);
		check(c, md, &t, n, pat, (const char *)p, l);
		p += l + 1;
	}
	/* Witnesses for up to 32 alternatives, spread over all of them, so a
	 * 256-way lowering stays within the fuzzer's per-input timeout. */
	uint32_t step = n > 32 ? n / 32 : 1;
	for (uint32_t i = 0; i < n; i += step) {
		const struct rt_lowered *a = &alts[i];
		uint32_t counts[] = {0, a->min, a->min + 1u, a->max, a->max + 1u};
		for (size_t k = 0; k < sizeof(counts) / sizeof(counts[0]); k++) {
			if (counts[k] > 40 || (k > 0 && counts[k] == 0))
				continue;
			char s[RT_LIT_MAX + 48];
			size_t l = a->len;
			memcpy(s, a->lit, l);
			for (uint32_t d = 0; d < counts[k]; d++)
				s[l++] = (char)('0' + (d * 7 + k) % 10);
			check(c, md, &t, n, pat, s, l);
			s[l] = '\n';
			check(c, md, &t, n, pat, s, l + 1);
			s[l] = 'x';
			check(c, md, &t, n, pat, s, l + 1);
			if (l) {
				check(c, md, &t, n, pat, s, l - 1);
				check(c, md, &t, n, pat, s + 1, l - 1);
			}
		}
	}
	rt_trie_free(&t);
	pcre2_match_data_free(md);
	pcre2_code_free(c);
	return 0;
}
