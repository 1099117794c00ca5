/*
 * The matcher's two halves (the digit trie for the prefix shapes the
 * classifier lowers, Hyperscan for the rest) must together equal PCRE2
 * evaluating each pattern alone, for every input byte string.
 *
 * - classifier_table: pattern -> exact lowering, or "hyperscan".
 * - mixed_sets_equal_pcre2: random route sets mixing every lowered shape
 *   with look-alikes that must stay with Hyperscan, numbers built to hit
 *   them (and near misses: extra or missing digits, letters, a final '\n'),
 *   checked id by id against PCRE2. STROWGER_DIFF_NUMBERS sets the number
 *   count (default 100000; 1000000 outside CI).
 * - random_patterns_lowered_exactly: random strings over PCRE2 tokens;
 *   whatever PCRE2 accepts and the classifier lowers must match exactly
 *   the numbers PCRE2 matches.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "rt_classify.h"
#include "rt_matcher.h"
#include "rt_trie.h"
#include "test_rand.h"

static pcre2_code *pcre(const char *pattern)
{
	int ec;
	PCRE2_SIZE eo;
	pcre2_code *c = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, 0, &ec, &eo, NULL);
	if (c)
		pcre2_jit_compile(c, PCRE2_JIT_COMPLETE);
	return c;
}

/* PCRE2's verdict; a resource-limit error (catastrophic backtracking in a
 * random pattern like '(\d+){35}$') fails the test rather than passing
 * for "no match": none of the patterns here should come near one. */
static bool pcre_match(pcre2_code *c, pcre2_match_data *md, const char *s, size_t len)
{
	int rc = pcre2_match(c, (PCRE2_SPTR)s, len, 0, 0, md, NULL);
	if (rc < 0 && rc != PCRE2_ERROR_NOMATCH)
		fail_msg("PCRE2 error %d on '%.*s'", rc, (int)len, s);
	return rc >= 0;
}

static void witness(const struct rt_lowered *a, char *out, size_t cap);

/* ---- the classifier on a table ---------------------------------------------- */

static const struct {
	const char *pattern;
	const char *lowered; /* or "hyperscan" */
} TABLE[] = {
	/* carrier prefixes and their tails */
	{"^\\+1425\\d*$", "+1425 d{0,}$"},
	{"^\\+1425", "+1425..."},
	{"^\\+1425\\d*", "+1425..."},
	{"^\\+1425.*", "+1425..."},
	{"^\\+1425.*$", "+1425 .*$"},
	{"^\\+1425.*?$", "+1425 .*$"},
	{"^\\+1425\\d+$", "+1425 d{1,}$"},
	{"^\\+1425\\d+?$", "+1425 d{1,}$"},
	{"^\\+1425\\d{7}$", "+1425 d{7}$"},
	{"^\\+1425\\d{3,7}$", "+1425 d{3,7}$"},
	{"^\\+1425\\d{3,}$", "+1425 d{3,}$"},
	{"^\\+1425\\d{3}", "+1425 d{3}..."},
	{"^\\+1425\\d{3,5}", "+1425 d{3}..."},
	{"^\\+1425\\d+", "+1425 d{1}..."},
	{"^\\+1425\\d??$", "+1425 d{0,1}$"},
	{"^\\+1425\\d{0}$", "+1425$"},
	{"^\\+1425[0-9]{7}$", "+1425 d{7}$"},
	{"^\\+1425[\\d]*$", "+1425 d{0,}$"},
	{"^\\+1425[0123456789]+$", "+1425 d{1,}$"},
	{"^\\+1425[0-45-9]*$", "+1425 d{0,}$"},
	{"^\\+1\\d{3}\\d{4}$", "+1 d{7}$"},
	{"^\\+1\\d{3}\\d*$", "+1 d{3,}$"},
	{"^\\+1\\d{3}[0-9]{2,4}$", "+1 d{5,7}$"},
	{"^\\+1425$", "+1425$"},
	{"^1425\\d*$", "1425 d{0,}$"},
	{"^$", "''$"},
	{"^", "''..."},
	{"^.*", "''..."},
	{"^.*$", "'' .*$"},
	/* optional plus, literal alternations, groups */
	{"^\\+?1425\\d*$", "+1425 d{0,}$ | 1425 d{0,}$"},
	{"^[+]?1425\\d*$", "+1425 d{0,}$ | 1425 d{0,}$"},
	{"^[\\+]1\\d*$", "+1 d{0,}$"},
	{"^\\+?(\\d*)$", "'' d{0,}$ | + d{0,}$"},
	{"^\\+1(425|206|253)\\d{7}$", "+1206 d{7}$ | +1253 d{7}$ | +1425 d{7}$"},
	{"^\\+1(425|206|253)(\\d{7})$", "+1206 d{7}$ | +1253 d{7}$ | +1425 d{7}$"},
	{"^\\+1(?:425|206)\\d{7}$", "+1206 d{7}$ | +1425 d{7}$"},
	{"^\\+1(?<area>425|206)\\d{7}$", "+1206 d{7}$ | +1425 d{7}$"},
	{"^\\+1(?P<area>425|206)\\d{7}$", "+1206 d{7}$ | +1425 d{7}$"},
	{"^\\+1(?'area'425|206)\\d{7}$", "+1206 d{7}$ | +1425 d{7}$"},
	{"^\\+1(?:4(?:25|26))\\d*$", "+1425 d{0,}$ | +1426 d{0,}$"},
	{"^(\\+|00)44\\d+$", "+44 d{1,}$ | 0044 d{1,}$"},
	{"^\\+1(425)?\\d{7}$", "+1 d{7}$ | +1425 d{7}$"},
	{"^\\+1(425|206)?$", "+1$ | +1206$ | +1425$"},
	{"^\\+1(\\d{3}|\\d{5})$", "+1 d{3}$ | +1 d{5}$"},
	{"^\\+1(4|42)\\d*$", "+14 d{0,}$ | +142 d{0,}$"},
	{"^\\+1(425|425)\\d*$", "+1425 d{0,}$"},
	{"^\\+1(|2)$", "+1$ | +12$"},
	{"^(?:)\\+1$", "+1$"},
	{"^\\+1425|^\\+1206\\d*$", "+1206 d{0,}$ | +1425..."},
	{"^\\+1425$|^\\+1206$", "+1206$ | +1425$"},
	{"^0{2}44\\d*$", "0044 d{0,}$"},
	{"^(00){1,2}\\d$", "00 d{1}$ | 0000 d{1}$"},
	{"^\\+1[2-3]\\d{9}$", "+12 d{9}$ | +13 d{9}$"},
	{"^\\+1[02468]$", "+10$ | +12$ | +14$ | +16$ | +18$"},
	{"^\\+4\\d1$", "+401$ | +411$ | +421$ | +431$ | +441$ | +451$ | +461$ | +471$ | +481$ | +491$"},
	{"^\\+1(\\d)5\\d*$", "+105 d{0,}$ | +115 d{0,}$ | +125 d{0,}$ | +135 d{0,}$ | +145 d{0,}$ | "
			    "+155 d{0,}$ | +165 d{0,}$ | +175 d{0,}$ | +185 d{0,}$ | +195 d{0,}$"},
	{"^\\d{65534}$", "'' d{65534}$"},

	/* unanchored start: a search, not a prefix */
	{"\\+1425", "hyperscan"},
	{"1425$", "hyperscan"},
	{"^\\+1425\\d*$|1", "hyperscan"},
	{"(^\\+1425)", "hyperscan"},
	{"(?:^\\+1|^\\+2)", "hyperscan"},
	/* flags, verbs, lookaround, backrefs, atomic, recursion, callouts */
	{"(?i)^\\+1425", "hyperscan"},
	{"^(?i)\\+1425", "hyperscan"},
	{"^(?x)\\+1425", "hyperscan"},
	{"^(?s)\\+1425.*$", "hyperscan"},
	{"^(?m)\\+1425$", "hyperscan"},
	{"(*CR)^\\+1425.*$", "hyperscan"},
	{"(*UCP)^\\+1425\\d*$", "hyperscan"},
	{"^\\+1425(?=\\d)", "hyperscan"},
	{"^\\+1425(?!9)", "hyperscan"},
	{"^\\+1(?<=1)2", "hyperscan"},
	{"^\\+1(?<!1)2", "hyperscan"},
	{"^(\\d)\\1$", "hyperscan"},
	{"^(?<a>\\d)\\k<a>$", "hyperscan"},
	{"^(?P<a>1)(?P=a)$", "hyperscan"},
	{"^\\+1425(?>\\d*)$", "hyperscan"},
	{"^\\+1(?|2|3)$", "hyperscan"},
	{"^\\+1(?#note)2$", "hyperscan"},
	{"^\\+1(?1)?(2)$", "hyperscan"},
	{"^\\+1(?R)?$", "hyperscan"},
	{"^\\+1(?C)2$", "hyperscan"},
	/* classes other than digits */
	{"^\\+1425\\D*$", "hyperscan"},
	{"^\\+1425\\w*$", "hyperscan"},
	{"^\\+1425\\s*$", "hyperscan"},
	{"^\\+1425[^5]\\d*$", "hyperscan"},
	{"^\\+1425[a-z]*$", "hyperscan"},
	{"^\\+1425[[:digit:]]$", "hyperscan"},
	{"^\\+1425[0-9-]$", "hyperscan"},
	{"^\\+1425[-0-9]$", "hyperscan"},
	{"^\\+1425[]0]$", "hyperscan"},
	{"^\\+1425[\\d-9]$", "hyperscan"},
	{"^\\+1425[1-5]*$", "hyperscan"},
	{"^\\+1\\x32$", "hyperscan"},
	{"^\\+1\\Q2\\E$", "hyperscan"},
	{"^\\+1\\.2$", "hyperscan"},
	{"^\\+1 425$", "hyperscan"},
	{"^\\*72\\d*$", "hyperscan"},
	/* quantifiers the trie cannot hold, or that PCRE2 reads otherwise */
	{"^\\+1425\\d*+$", "hyperscan"},
	{"^\\+1425\\d++$", "hyperscan"},
	{"^\\+1425\\d?+$", "hyperscan"},
	{"^\\+1425\\d{2}+$", "hyperscan"},
	{"^\\+1425\\d{,3}$", "hyperscan"},
	{"^\\+1425\\d{3$", "hyperscan"},
	{"^\\+1425\\d{ 3}$", "hyperscan"},
	{"^\\+1425\\d{3,2}$", "hyperscan"},
	{"^\\+1425\\d{65535}$", "hyperscan"},
	{"^\\+1\\d{65534}\\d$", "hyperscan"},
	{"^1+$", "hyperscan"},
	{"^(12)*$", "hyperscan"},
	{"^(\\+1)+\\d$", "hyperscan"},
	{"^\\+1425.+$", "hyperscan"},
	{"^\\+1425.$", "hyperscan"},
	{"^\\+1425.?$", "hyperscan"},
	{"^\\+1425.*1$", "hyperscan"},
	{"^\\+1425\\d.*$", "hyperscan"},
	{"^\\+1425\\d*5$", "hyperscan"},
	{"^\\+1425\\d{1,2}5$", "hyperscan"},
	{"^\\+1\\d{4}5$", "hyperscan"},
	{"^\\+1(\\d{3})555\\d{4}$", "hyperscan"},
	{"^\\+1(0|1|2|3|4|5|6|7|8|9){3}$", "hyperscan"},
	/* anchors in odd places, '+' not first */
	{"^\\+1$\\d", "hyperscan"},
	{"^\\+1($)", "hyperscan"},
	{"^\\+1$$", "hyperscan"},
	{"^^\\+1", "hyperscan"},
	{"^\\+1\\z", "hyperscan"},
	{"^\\+1\\Z", "hyperscan"},
	{"^\\+1\\b", "hyperscan"},
	{"^1\\+2", "hyperscan"},
	{"^\\+\\+1", "hyperscan"},
	{"^(\\+)?\\+1", "hyperscan"},
	{"^\\d\\+", "hyperscan"},
	{"^+1", "hyperscan"},
	{"^\\+1|", "hyperscan"},
	/* literal too long for the trie */
	{"^\\+1234567890123456789012345678901234567890123456789", "hyperscan"},
};

static void classifier_table(void **state)
{
	struct rt_lowered alts[RT_CLASSIFY_MAX_ALTS];
	pcre2_match_data *md = pcre2_match_data_create(16, NULL);
	int bad = 0;
	rng_state = 0x7ab1e5ull;
	for (size_t i = 0; i < sizeof(TABLE) / sizeof(TABLE[0]); i++) {
		uint32_t n;
		char got[2048] = "hyperscan";
		if (rt_classify(TABLE[i].pattern, alts, RT_CLASSIFY_MAX_ALTS, &n))
			rt_lowered_format(alts, n, got, sizeof(got));
		if (strcmp(got, TABLE[i].lowered)) {
			print_error("pattern '%s': expected %s, got %s\n", TABLE[i].pattern,
				    TABLE[i].lowered, got);
			bad++;
			continue;
		}
		if (!strcmp(got, "hyperscan"))
			continue;
		/* A lowered row must also mean what PCRE2 means, near its
		 * literals (exact, one digit more or less, damaged). */
		pcre2_code *c = pcre(TABLE[i].pattern);
		assert_non_null(c);
		for (uint32_t j = 0; j < 400; j++) {
			char num[96];
			witness(&alts[rnd(n)], num, sizeof(num));
			size_t len = strlen(num);
			bool any = false;
			for (uint32_t a = 0; a < n; a++)
				any |= rt_lowered_match(&alts[a], num, len);
			if (any != pcre_match(c, md, num, len)) {
				print_error("pattern '%s', number '%s': PCRE2 %d, lowering %d\n",
					    TABLE[i].pattern, num, !any, any);
				bad++;
			}
		}
		pcre2_code_free(c);
	}
	pcre2_match_data_free(md);
	assert_int_equal(bad, 0);
}

/* ---- mixed route sets against PCRE2 ---------------------------------------- */

static const char *const CC[] = {"1", "44", "49", "1425", "1206", "4420", "33", "7"};
/* Prefixes long enough that literals cross RT_TRIE_HASH_DIGITS: patterns
 * on both sides of the trie (hash table, digit tree) in one matcher. */
static const char *const LONG_CC[] = {"1",           "44",           "1425555",
				      "14255550123", "142555501234", "1425555012345",
				      "14255550123456"};
static const char *const *cc_set = CC;
static uint32_t n_cc = sizeof(CC) / sizeof(CC[0]);

enum { N_SHAPES = 36, FIRST_HS_SHAPE = 24 };

/*
 * One pattern of shape k. `hint` gets a prefix numbers should start with
 * to reach the pattern. Shapes < FIRST_HS_SHAPE are ones the classifier
 * lowers; the others are look-alikes Hyperscan must keep.
 */
static void shape(uint32_t k, char *out, size_t len, char *hint, size_t hlen)
{
	const char *c = cc_set[rnd(n_cc)];
	char d[8], e[8], f[8];
	digits(d, 1 + (int)rnd(3));
	digits(e, 1 + (int)rnd(3));
	digits(f, 1 + (int)rnd(2));
	unsigned m = rnd(5), n = m + rnd(5);
	snprintf(hint, hlen, "+%s%s", c, d);
	switch (k) {
	case 0: snprintf(out, len, "^\\+%s%s\\d*$", c, d); break;
	case 1: snprintf(out, len, "^\\+%s%s", c, d); break;
	case 2: snprintf(out, len, "^\\+%s%s\\d+$", c, d); break;
	case 3: snprintf(out, len, "^\\+%s%s\\d{%u}$", c, d, m + 3); break;
	case 4: snprintf(out, len, "^\\+%s%s\\d{%u,%u}$", c, d, m, n); break;
	case 5: snprintf(out, len, "^\\+%s%s\\d{%u,}$", c, d, m); break;
	case 6:
		snprintf(out, len, "^\\+%s(%s|%s|%s)\\d{%u}$", c, d, e, f, m + 4);
		if (rnd(2))
			snprintf(hint, hlen, "+%s%s", c, rnd(2) ? e : f);
		break;
	case 7: snprintf(out, len, "^\\+%s(?:%s|%s)(\\d{%u,%u})$", c, d, e, m, n); break;
	case 8:
		snprintf(out, len, "^\\+?%s%s\\d*$", c, d);
		if (rnd(2))
			snprintf(hint, hlen, "%s%s", c, d);
		break;
	case 9: snprintf(out, len, "^\\+%s%s.*$", c, d); break;
	case 10: snprintf(out, len, "^\\+%s%s.*", c, d); break;
	case 11: snprintf(out, len, "^\\+%s%s\\d{%u,%u}", c, d, m, n); break;
	case 12:
		snprintf(out, len, "^\\+%s[%u-9]\\d{%u,%u}$", c, 2 + rnd(7), m, n);
		snprintf(hint, hlen, "+%s", c);
		break;
	case 13:
		snprintf(out, len, "^(\\+|00)%s%s\\d+$", c, d);
		if (rnd(2))
			snprintf(hint, hlen, "00%s%s", c, d);
		break;
	case 14: snprintf(out, len, "^\\+%s%s$", c, d); break;
	case 15: snprintf(out, len, "^\\+%s(%s)?\\d{%u}$", c, d, m + 6); break;
	case 16:
		snprintf(out, len, "^\\+%s%s|^\\+%s%s\\d{%u}$", c, d, c, e, m + 4);
		if (rnd(2))
			snprintf(hint, hlen, "+%s%s", c, e);
		break;
	case 17:
		snprintf(out, len, "^\\+%s\\d(%s)\\d*$", c, f);
		snprintf(hint, hlen, "+%s%u%s", c, rnd(10), f);
		break;
	case 18: snprintf(out, len, "^\\+?(\\d*)$"); break;
	case 19: snprintf(out, len, "^\\+%s%s(\\d{2}|\\d{4})$", c, d); break;
	case 20:
		/* Alternatives nested in each other: one number reaches both. */
		snprintf(out, len, "^\\+%s(%.1s|%s)\\d{%u,%u}$", c, d, d, m, n + 3);
		break;
	case 21: snprintf(out, len, "^\\+%s%s[0-9]{%u}[0-9]*$", c, d, m); break;
	case 22: snprintf(out, len, "^\\+%s%s\\d*?$", c, d); break;
	case 23: snprintf(out, len, "^\\+%s(%s|%s\\d{%u})$", c, d, e, m); break;
	/* Hyperscan from here on. */
	case 24: snprintf(out, len, "%s%s$", c, d); break;
	case 25: snprintf(out, len, "\\+%s%s", c, d); break;
	case 26: snprintf(out, len, "(?i)^\\+%s%s\\d*$", c, d); break;
	case 27: snprintf(out, len, "^\\+%s%s\\D*$", c, d); break;
	case 28: snprintf(out, len, "^\\+%s%s[^5]\\d*$", c, d); break;
	case 29: snprintf(out, len, "^\\+%s%s.+$", c, d); break;
	case 30: snprintf(out, len, "^\\+%s\\d*%s$", c, d); break;
	case 31: snprintf(out, len, "^\\+%s(\\d{3})%s\\d{%u}$", c, d, m + 1); break;
	case 32: snprintf(out, len, "^\\+%s%s[1-5]*$", c, d); break;
	case 33: snprintf(out, len, "^\\+%s%s(0|1)*$", c, d); break;
	case 34: snprintf(out, len, "^\\+%s%s.*5$", c, d); break;
	default: snprintf(out, len, "^\\+%s%s\\d{%u,%u}9$", c, d, m, n + 1); break;
	}
}

/* A number near `hint`: the hint plus digits, sometimes damaged. */
static void near_number(const char *hint, char *out, size_t cap)
{
	char tail[24];
	digits(tail, (int)rnd(14));
	int len = snprintf(out, cap, "%s%s", rnd(8) ? hint : "", tail);
	if (len < 0)
		len = 0;
	size_t l = (size_t)len < cap ? (size_t)len : cap - 1;
	switch (rnd(16)) {
	case 0: /* a letter or symbol somewhere */
		if (l)
			out[rnd((uint32_t)l)] = "a*# +.-"[rnd(7)];
		break;
	case 1: /* a final newline ('$' matches before it) */
		if (l + 1 < cap) {
			out[l++] = '\n';
			out[l] = '\0';
		}
		break;
	case 2: /* a newline inside */
		if (l)
			out[rnd((uint32_t)l)] = '\n';
		break;
	case 3: /* cut short */
		out[rnd((uint32_t)l + 1)] = '\0';
		break;
	case 4: /* no '+' */
		if (out[0] == '+')
			memmove(out, out + 1, l);
		break;
	case 5: /* trailing junk after digits */
		if (l + 2 < cap) {
			out[l++] = 'x';
			out[l++] = '9';
			out[l] = '\0';
		}
		break;
	default:
		break;
	}
}

/* The classifier's verdict, for failure messages. */
static const char *lowering(const char *pattern)
{
	static struct rt_lowered alts[RT_CLASSIFY_MAX_ALTS];
	static char buf[4096];
	uint32_t n;
	if (!rt_classify(pattern, alts, RT_CLASSIFY_MAX_ALTS, &n))
		return "hyperscan";
	rt_lowered_format(alts, n, buf, sizeof(buf));
	return buf;
}

struct got {
	uint8_t *hit;
	uint32_t n;
	uint32_t calls;
};

static int on_id(unsigned id, void *p)
{
	struct got *g = p;
	g->calls++;
	if (g->hit[id]++ == 0)
		g->n++;
	return 0;
}

/* Each pattern's verdict on num, PCRE2 evaluating it alone, against the
 * matcher's (hit[r]: how often it reported id r). */
static void same_as_pcre2(const char *num, size_t len, pcre2_code **ref, pcre2_match_data *md,
			  const char *const *pats, const uint8_t *hit, uint32_t n)
{
	for (uint32_t r = 0; r < n; r++) {
		bool want = pcre_match(ref[r], md, num, len);
		if (want != (hit[r] != 0))
			fail_msg("number '%s' (len %zu), pattern '%s' (%s): PCRE2 %s, matcher %s", num,
				 len, pats[r], lowering(pats[r]), want ? "matches" : "does not",
				 hit[r] ? "matches" : "does not");
	}
}

static uint32_t ids_hashed, ids_tree; /* lowered patterns on each side of the trie */
static uint32_t ids_grouped;          /* ids in shared-alternative groups */
static bool anchored_only;            /* no unanchored Hyperscan shapes (24, 25) */
static bool reuse;                    /* most patterns repeat an earlier one */
static uint32_t sets_filtered;        /* sets whose Hyperscan prefix filter was on */

static void mixed_set(uint32_t n_routes, uint32_t n_numbers, uint64_t *matches, uint32_t *n_trie,
		      uint32_t *n_hs)
{
	char (*pats)[160] = calloc(n_routes, sizeof(*pats));
	char (*hints)[64] = calloc(n_routes, sizeof(*hints));
	const char **pp = calloc(n_routes, sizeof(*pp));
	const char **names = calloc(n_routes, sizeof(*names));
	struct rt_src *srcs = calloc(n_routes, sizeof(*srcs));
	pcre2_code **ref = calloc(n_routes, sizeof(*ref));
	uint8_t *hit = calloc(n_routes, 1);
	assert_true(pats && hints && pp && names && srcs && ref && hit);
	for (uint32_t r = 0; r < n_routes; r++) {
		uint32_t k = rnd(N_SHAPES);
		while (anchored_only && (k == 24 || k == 25))
			k = rnd(N_SHAPES);
		shape(k, pats[r], sizeof(pats[r]), hints[r], sizeof(hints[r]));
		if (reuse && r && rnd(10) < 7) {
			uint32_t from = rnd(r < 12 ? r : 12);
			memcpy(pats[r], pats[from], sizeof(pats[r]));
			memcpy(hints[r], hints[from], sizeof(hints[r]));
		}
		pp[r] = pats[r];
		names[r] = pats[r];
		ref[r] = pcre(pats[r]);
		assert_non_null(ref[r]);
	}
	struct rt_diag d;
	rt_diag_init(&d);
	struct rt_matcher m;
	int rc = rt_matcher_build(&m, pp, n_routes, srcs, "route", names, &d);
	if (rc)
		rt_diag_print(&d, stderr);
	assert_int_equal(rc, 0);
	rt_diag_clear(&d);
	hs_scratch_t *hs = NULL;
	assert_int_equal(rt_matcher_ready(&m, &hs), 0);
	*n_trie += m.n_trie;
	*n_hs += m.n - m.n_trie;
	ids_hashed += m.trie.n_ids_hashed;
	ids_tree += m.trie.n_ids_tree;
	sets_filtered += m.hs_filter;
	ids_grouped += m.trie.n_gids;

	pcre2_match_data *md = pcre2_match_data_create(32, NULL);
	for (uint32_t i = 0; i < n_numbers; i++) {
		char num[96];
		if (rnd(20) == 0) { /* anything at all */
			uint32_t l = rnd(12);
			for (uint32_t k = 0; k < l; k++)
				num[k] = "+0123456789a\n*"[rnd(14)];
			num[l] = '\0';
		} else {
			near_number(hints[rnd(n_routes)], num, sizeof(num));
		}
		size_t len = strlen(num);
		memset(hit, 0, n_routes);
		struct got g = {hit, 0, 0};
		assert_int_equal(rt_matcher_scan(&m, num, len, hs, on_id, &g), 0);
		if (g.calls != g.n)
			fail_msg("number '%s': an id was reported twice", num);
		same_as_pcre2(num, len, ref, md, pp, hit, n_routes);
		*matches += g.n;
	}
	pcre2_match_data_free(md);
	if (hs)
		hs_free_scratch(hs);
	rt_matcher_free(&m);
	for (uint32_t r = 0; r < n_routes; r++)
		pcre2_code_free(ref[r]);
	free(pats);
	free(hints);
	free(pp);
	free(names);
	free(srcs);
	free(ref);
	free(hit);
}

static void mixed_sets_equal_pcre2(void **state)
{
	const char *env = getenv("STROWGER_DIFF_NUMBERS");
	uint32_t total = env ? (uint32_t)strtoul(env, NULL, 10) : 100000;
	const uint32_t sets = 20;
	uint64_t matches = 0;
	uint32_t n_trie = 0, n_hs = 0;
	rng_state = 0x7a1e5eedull;
	for (uint32_t i = 0; i < sets; i++)
		mixed_set(20 + rnd(200), total / sets, &matches, &n_trie, &n_hs);
	print_message("%u numbers, %llu matches; %u patterns in the trie, %u in Hyperscan\n",
		      total, (unsigned long long)matches, n_trie, n_hs);
	/* Both halves exercised, and numbers that hit as well as miss. */
	assert_true(n_trie > n_hs && n_hs > 0);
	assert_true(matches > total / 2);
}

/* The same with literals of 9 to 18 digits: the hash table holds those of
 * up to RT_TRIE_HASH_DIGITS, whole patterns with a longer one go to the
 * digit tree, and both answer in one scan. */
static void long_literals_equal_pcre2(void **state)
{
	const char *env = getenv("STROWGER_DIFF_NUMBERS");
	uint32_t total = env ? (uint32_t)strtoul(env, NULL, 10) / 2 : 50000;
	const uint32_t sets = 10;
	uint64_t matches = 0;
	uint32_t n_trie = 0, n_hs = 0;
	rng_state = 0x10a9ba5eull;
	cc_set = LONG_CC;
	n_cc = sizeof(LONG_CC) / sizeof(LONG_CC[0]);
	ids_hashed = ids_tree = 0;
	for (uint32_t i = 0; i < sets; i++)
		mixed_set(20 + rnd(200), total / sets, &matches, &n_trie, &n_hs);
	cc_set = CC;
	n_cc = sizeof(CC) / sizeof(CC[0]);
	print_message("%u numbers, %llu matches; %u patterns in the trie (%u hashed, %u in the "
		      "tree), %u in Hyperscan\n",
		      total, (unsigned long long)matches, n_trie, ids_hashed, ids_tree, n_hs);
	assert_true(n_trie > n_hs && n_hs > 0);
	assert_true(ids_hashed > 50 && ids_tree > 50);
	assert_true(matches > total / 2);
}

/* Teams-style DID routes with an optional extension, '(;ext=\d+)?$': the
 * classifier lowers that suffix (a tail of its own); look-alikes (another
 * case, an optional '$', no '?', '\d*', no '$' at all) must stay with
 * Hyperscan. Sets of such patterns matched at once against numbers with
 * and without extensions, broken extensions, a final '\n', mutations. */
static void ext_suffix_equal_pcre2(void **state)
{
	static const char *PRE[] = {"^\\+1425555", "^\\+1(425|206)", "^\\+?1\\d{3}",
				    "^\\+44\\d{2,4}", "^", "^1", "^\\+1[2-9]", "^(\\+1)?206",
				    "^\\+1425\\d*", "^\\+1425\\d+"};
	static const char *MID[] = {"(\\d{4})", "\\d{4}", "\\d{2,3}", "", "\\d*", "\\d+",
				    "(\\d{1,})", "[0-4]\\d{3}", "\\d{0,2}", ".*"};
	static const char *SUF[] = {"(;ext=\\d+)?$", "(?:;ext=\\d+)?$",
				    "(;ext=\\d+)?$|^\\+1999(;ext=\\d+)?$",
				    "(;ext=\\d+)?$|^\\+1998\\d$", "(;ext=\\d*)?$", "(;ext=\\d+)$",
				    "(;ext=\\d+)?", "(;EXT=\\d+)?$", "(;ext=\\d+)?$$",
				    "(;ext=\\d+)?$|^1\\d(?:;ext=\\d+)?$"};
	static const char *START[] = {"+1425555", "+1206", "+1425", "+44", "1",
				      "+1999", "+1998", "", "+1", "+14255551234"};
	static const char *TAIL[] = {"", ";ext=", ";ext=1", ";ext=123",
				     ";ext=12a", ";EXT=1", ";ext=1;ext=2", ";ext"};
	const char *env = getenv("STROWGER_DIFF_NUMBERS");
	uint32_t total = env ? (uint32_t)strtoul(env, NULL, 10) / 2 : 50000;
	const uint32_t sets = 20, per_set = 40;
	rng_state = 0xe87e5eedull;
	pcre2_match_data *md = pcre2_match_data_create(32, NULL);
	uint64_t matches = 0;
	uint32_t lowered = 0, all = 0;
	for (uint32_t set = 0; set < sets; set++) {
		char pats[40][128];
		const char *pp[40], *names[40];
		struct rt_src srcs[40];
		pcre2_code *ref[40];
		for (uint32_t i = 0; i < per_set; i++) {
			snprintf(pats[i], sizeof(pats[i]), "%s%s%s", PRE[rnd(10)], MID[rnd(10)],
				 SUF[rnd(10)]);
			pp[i] = pats[i];
			names[i] = pats[i];
			memset(&srcs[i], 0, sizeof(srcs[i]));
			ref[i] = pcre(pats[i]);
			assert_non_null(ref[i]);
			struct rt_lowered alts[RT_CLASSIFY_MAX_ALTS];
			uint32_t na;
			lowered += rt_classify(pats[i], alts, RT_CLASSIFY_MAX_ALTS, &na);
			all++;
		}
		struct rt_matcher m;
		struct rt_diag d;
		rt_diag_init(&d);
		assert_int_equal(rt_matcher_build(&m, pp, per_set, srcs, "route", names, &d), 0);
		hs_scratch_t *hs = NULL;
		assert_int_equal(rt_matcher_ready(&m, &hs), 0);
		for (uint32_t k = 0; k < total / sets; k++) {
			char num[80];
			int o = snprintf(num, sizeof(num), "%s", START[rnd(10)]);
			for (uint32_t j = rnd(8); j > 0; j--)
				num[o++] = (char)('0' + rnd(10));
			o += snprintf(num + o, sizeof(num) - (size_t)o, "%s", TAIL[rnd(8)]);
			if (rnd(4) == 0)
				num[o++] = '\n';
			if (rnd(6) == 0 && o)
				num[rnd((uint32_t)o)] = "0;\n+e="[rnd(6)];
			num[o] = '\0';
			uint32_t ids[40], n = 0;
			assert_int_equal(rt_matcher_collect(&m, num, (size_t)o, hs, ids, 40, &n), 0);
			bool got[40] = {false};
			for (uint32_t i = 0; i < n; i++)
				got[ids[i]] = true;
			for (uint32_t i = 0; i < per_set; i++) {
				bool want = pcre_match(ref[i], md, num, (size_t)o);
				if (want != got[i])
					fail_msg("'%s' on '%s': PCRE2 %s, matcher %s (lowered: %s)",
						 pats[i], num, want ? "matches" : "does not",
						 got[i] ? "matches" : "does not", lowering(pats[i]));
				matches += want;
			}
		}
		hs_free_scratch(hs);
		rt_matcher_free(&m);
		for (uint32_t i = 0; i < per_set; i++)
			pcre2_code_free(ref[i]);
	}
	pcre2_match_data_free(md);
	print_message("%u numbers, %llu matches; %u of %u patterns lowered\n", total,
		      (unsigned long long)matches, lowered, all);
	assert_true(lowered > all / 4 && lowered < all);
	assert_true(matches > total / 4);
}

/* The same pattern (so the same alternatives) routed many times over, as
 * per-site routes of one tenant are: the trie reports them as groups, which
 * must still name every id once. */
static void shared_alternatives_equal_pcre2(void **state)
{
	const char *env = getenv("STROWGER_DIFF_NUMBERS");
	uint32_t total = env ? (uint32_t)strtoul(env, NULL, 10) / 2 : 50000;
	const uint32_t sets = 10;
	uint64_t matches = 0;
	uint32_t n_trie = 0, n_hs = 0;
	rng_state = 0x5ba7edull;
	reuse = true;
	ids_grouped = 0;
	for (uint32_t i = 0; i < sets; i++)
		mixed_set(20 + rnd(200), total / sets, &matches, &n_trie, &n_hs);
	reuse = false;
	print_message("%u numbers, %llu matches; %u patterns in the trie (%u ids in groups), %u in "
		      "Hyperscan\n",
		      total, (unsigned long long)matches, n_trie, ids_grouped, n_hs);
	assert_true(ids_grouped > n_trie / 2);
	assert_true(matches > total);
}

/* Every Hyperscan pattern anchored with a literal prefix: the matcher skips
 * the Hyperscan scan for numbers starting with none of the prefixes, which
 * must not lose a match. */
static void hs_prefix_filter_equal_pcre2(void **state)
{
	const char *env = getenv("STROWGER_DIFF_NUMBERS");
	uint32_t total = env ? (uint32_t)strtoul(env, NULL, 10) / 2 : 50000;
	const uint32_t sets = 10;
	uint64_t matches = 0;
	uint32_t n_trie = 0, n_hs = 0;
	rng_state = 0xf117e4ull;
	anchored_only = true;
	sets_filtered = 0;
	for (uint32_t i = 0; i < sets; i++)
		mixed_set(20 + rnd(200), total / sets, &matches, &n_trie, &n_hs);
	anchored_only = false;
	print_message("%u numbers, %llu matches; %u in the trie, %u in Hyperscan, filter on in %u "
		      "of %u sets\n",
		      total, (unsigned long long)matches, n_trie, n_hs, sets_filtered, sets);
	assert_int_equal(sets_filtered, sets);
	assert_true(matches > total / 2);
}

/* Every shape meant for the trie is lowered, every look-alike is not. */
static void shapes_go_where_meant(void **state)
{
	struct rt_lowered alts[RT_CLASSIFY_MAX_ALTS];
	rng_state = 0x5a5a5a5aull;
	for (uint32_t i = 0; i < 2000; i++) {
		char pat[160], hint[64];
		uint32_t k = i % N_SHAPES, n;
		shape(k, pat, sizeof(pat), hint, sizeof(hint));
		bool lowered = rt_classify(pat, alts, RT_CLASSIFY_MAX_ALTS, &n);
		if (lowered != (k < FIRST_HS_SHAPE))
			fail_msg("shape %u '%s': %s", k, pat, lowered ? "lowered" : "not lowered");
	}
}

/* ---- random token strings --------------------------------------------------- */

static const char *const TOKENS[] = {
	"1", "2", "0", "5", "9", "\\+", "\\d", "[0-9]", "[2-9]", "[+]", "[13]", ".", "(", ")",
	"(?:", "(?<g>", "|", "?", "*", "+", "{2}", "{0,2}", "{1,}", "{,2}", "??", "*?", "+?",
	"$", "^", "\\D", "[^1]", "(?=1)", "\\1", "{", "a",
};
#define N_TOKENS (sizeof(TOKENS) / sizeof(TOKENS[0]))

static void witness(const struct rt_lowered *a, char *out, size_t cap)
{
	uint32_t k = a->min + rnd(4);
	if (a->tail == RT_TAIL_DIGITS_END && a->max != RT_REP_INF && k > a->max)
		k = a->max;
	if (k > 30)
		k = 30;
	char dg[32];
	digits(dg, (int)k);
	snprintf(out, cap, "%s%s%s", a->lit, dg, rnd(4) ? "" : rnd(2) ? "\n" : "a");
	if (rnd(5) == 0 && out[0])
		out[rnd((uint32_t)strlen(out))] = "0+\na"[rnd(4)];
}

static void random_patterns_lowered_exactly(void **state)
{
	struct rt_lowered alts[RT_CLASSIFY_MAX_ALTS];
	pcre2_match_data *md = pcre2_match_data_create(32, NULL);
	rng_state = 0xfeedfacecafeull;
	uint32_t valid = 0, lowered = 0, checks = 0;
	for (uint32_t i = 0; i < 60000; i++) {
		char pat[128];
		size_t l = 0;
		if (rnd(10))
			pat[l++] = '^';
		for (uint32_t t = 1 + rnd(9); t-- > 0;) {
			const char *tok = TOKENS[rnd(N_TOKENS)];
			size_t tl = strlen(tok);
			if (l + tl >= sizeof(pat) - 2)
				break;
			memcpy(pat + l, tok, tl);
			l += tl;
		}
		if (rnd(2))
			pat[l++] = '$';
		pat[l] = '\0';

		pcre2_code *c = pcre(pat);
		if (!c)
			continue;
		valid++;
		uint32_t n;
		if (!rt_classify(pat, alts, RT_CLASSIFY_MAX_ALTS, &n)) {
			pcre2_code_free(c);
			continue;
		}
		lowered++;
		struct rt_trie_builder b;
		struct rt_trie t;
		rt_trie_builder_init(&b);
		assert_int_equal(rt_trie_builder_add(&b, 0, alts, n), 0);
		assert_int_equal(rt_trie_build(&t, &b), 0);
		rt_trie_builder_free(&b);
		for (uint32_t j = 0; j < 24; j++) {
			char num[96];
			if (j < 16) {
				witness(&alts[rnd(n)], num, sizeof(num));
			} else {
				uint32_t nl = rnd(8);
				for (uint32_t k = 0; k < nl; k++)
					num[k] = "+0125912\na"[rnd(10)];
				num[nl] = '\0';
			}
			size_t len = strlen(num);
			bool want = pcre_match(c, md, num, len);
			bool any = false;
			for (uint32_t a = 0; a < n; a++)
				any |= rt_lowered_match(&alts[a], num, len);
			uint8_t hit = 0;
			struct got g = {&hit, 0, 0};
			rt_trie_match(&t, num, len, on_id, &g);
			char desc[4096];
			rt_lowered_format(alts, n, desc, sizeof(desc));
			if (want != any || want != (g.n == 1) || g.calls > 1)
				fail_msg("pattern '%s' lowered to %s, number '%s': PCRE2 %d, lowering %d, "
					 "trie %u calls",
					 pat, desc, num, want, any, g.calls);
			checks++;
		}
		rt_trie_free(&t);
		pcre2_code_free(c);
	}
	print_message("%u PCRE2-valid random patterns, %u lowered, %u numbers checked\n", valid,
		      lowered, checks);
	assert_true(lowered > 1000);
	pcre2_match_data_free(md);
}

/* Random anchored token patterns (each branch may or may not give the
 * Hyperscan prefix filter a literal to use) in small matchers: what the
 * matcher reports, trie and Hyperscan (filtered) together, equals PCRE2. */
static void random_patterns_matcher_exact(void **state)
{
	pcre2_match_data *md = pcre2_match_data_create(32, NULL);
	rng_state = 0xbadc0ffeeull;
	uint32_t sets = 0, filtered = 0, checks = 0;
	for (uint32_t it = 0; it < 1500; it++) {
		char pats[4][160];
		const char *pp[4], *names[4];
		struct rt_src srcs[4] = {{0}};
		pcre2_code *ref[4];
		uint32_t np = 0;
		while (np < 4) {
			char *pat = pats[np];
			size_t l = 0;
			static const char *const starts[] = {"^\\+1", "^1", "^", "^\\+", "(?i)^\\+4"};
			l += (size_t)snprintf(pat, 40, "%s", starts[rnd(5)]);
			for (uint32_t t = 1 + rnd(7); t-- > 0;) {
				const char *tok = rnd(3) ? TOKENS[rnd(N_TOKENS)] : rnd(2) ? "|^\\+1" : "[|]";
				size_t tl = strlen(tok);
				if (l + tl >= 150)
					break;
				memcpy(pat + l, tok, tl);
				l += tl;
			}
			pat[l] = '\0';
			char err[256];
			pcre2_code *c = pcre(pat);
			if (!c)
				continue;
			if (rt_matcher_check(pat, err, sizeof(err))) {
				pcre2_code_free(c);
				continue;
			}
			ref[np] = c;
			pp[np] = names[np] = pat;
			np++;
		}
		struct rt_diag d;
		rt_diag_init(&d);
		struct rt_matcher m;
		if (rt_matcher_build(&m, pp, np, srcs, "route", names, &d)) {
			/* The set together can still exceed Hyperscan's limits. */
			rt_diag_clear(&d);
			for (uint32_t i = 0; i < np; i++)
				pcre2_code_free(ref[i]);
			continue;
		}
		sets++;
		filtered += m.hs_filter;
		hs_scratch_t *hs = NULL;
		assert_int_equal(rt_matcher_ready(&m, &hs), 0);
		for (uint32_t j = 0; j < 40; j++) {
			char num[32];
			uint32_t nl = rnd(10);
			for (uint32_t k = 0; k < nl; k++)
				num[k] = "+0125912\na|"[rnd(11)];
			num[nl] = '\0';
			if (rnd(2) && nl > 1)
				num[0] = '+', num[1] = '1';
			size_t len = strlen(num);
			uint8_t hit[4] = {0};
			struct got g = {hit, 0, 0};
			assert_int_equal(rt_matcher_scan(&m, num, len, hs, on_id, &g), 0);
			for (uint32_t i = 0; i < np; i++) {
				bool want = pcre_match(ref[i], md, num, len);
				if (want != (hit[i] == 1))
					fail_msg("pattern '%s' (filter %d), number '%s': PCRE2 %d, matcher %u",
						 pats[i], m.hs_filter, num, want, hit[i]);
				checks++;
			}
		}
		if (hs)
			hs_free_scratch(hs);
		rt_matcher_free(&m);
		for (uint32_t i = 0; i < np; i++)
			pcre2_code_free(ref[i]);
	}
	print_message("%u random sets, %u with the Hyperscan prefix filter, %u checks\n", sets,
		      filtered, checks);
	assert_true(filtered > sets / 10 && filtered < sets);
	pcre2_match_data_free(md);
}

/*
 * Tables whose literals are all '+' and one digit count (how calling-number
 * assignments look: '^\+1425555\d{4}$'), which rt_trie looks up through
 * its one-prefix path (one_len): every tail kind, literals shared by
 * several patterns (runs and groups), numbers on, near and off them, with
 * a final '\n' and ';ext='. Each against PCRE2, through rt_matcher_scan
 * (callbacks) and rt_matcher_collect.
 */
static void one_length_sets_equal_pcre2(void **state)
{
	static const char *const TAILS[] = {
		"\\d{4}$", "\\d{2,6}$", "\\d*$", "", "\\d{3}", ".*$", "\\d{4}(;ext=\\d+)?$", "[0-4]\\d{3}$",
	};
	uint64_t matches = 0;
	uint32_t sets_one = 0;
	rng_state = 0x6a09e667f3bcc909ull;
	for (uint32_t set = 0; set < 60; set++) {
		uint32_t n = 2 + rnd(10), n_pat = 1 + rnd(40);
		char lits[8][16];
		for (uint32_t l = 0; l < 8; l++)
			digits(lits[l], (int)n);
		char (*pats)[64] = calloc(n_pat, sizeof(*pats));
		const char **pp = calloc(n_pat, sizeof(*pp));
		struct rt_src *srcs = calloc(n_pat, sizeof(*srcs));
		pcre2_code **ref = calloc(n_pat, sizeof(*ref));
		uint8_t *hit = calloc(n_pat, 1);
		assert_true(pats && pp && srcs && ref && hit);
		for (uint32_t r = 0; r < n_pat; r++) {
			/* Every fourth set has '[0-4]' tails, literals a digit longer. */
			uint32_t n_tails = sizeof(TAILS) / sizeof(TAILS[0]) - (set % 4 != 0);
			snprintf(pats[r], sizeof(pats[r]), "^\\+%s%s", lits[rnd(8)], TAILS[rnd(n_tails)]);
			pp[r] = pats[r];
			ref[r] = pcre(pats[r]);
			assert_non_null(ref[r]);
		}
		struct rt_diag d;
		rt_diag_init(&d);
		struct rt_matcher m;
		assert_int_equal(rt_matcher_build(&m, pp, n_pat, srcs, "assignment", pp, &d), 0);
		rt_diag_clear(&d);
		assert_int_equal(m.n_trie, n_pat);
		/* '[0-4]' widens its literals by a digit: a set mixing it with
		 * other tails has two lengths. */
		assert_true(m.trie.one_len == 0 || m.trie.one_len == n || m.trie.one_len == n + 1);
		sets_one += m.trie.one_len != 0;
		hs_scratch_t *hs = NULL;
		assert_int_equal(rt_matcher_ready(&m, &hs), 0);
		pcre2_match_data *md = pcre2_match_data_create(32, NULL);
		for (uint32_t i = 0; i < 400; i++) {
			char num[64];
			int o = 0;
			if (rnd(10))
				num[o++] = '+';
			memcpy(num + o, lits[rnd(8)], n);
			o += (int)n;
			if (rnd(8) == 0)
				num[o - 1 - (int)rnd(n)] = (char)('0' + rnd(10)); /* near */
			if (rnd(8) == 0)
				o = (int)rnd((uint32_t)o + 1); /* cut short */
			digits(num + o, (int)rnd(8));
			o = (int)strlen(num);
			if (rnd(6) == 0)
				o += snprintf(num + o, sizeof(num) - (size_t)o, ";ext=%u", rnd(1000));
			if (rnd(6) == 0)
				num[o++] = "\na*"[rnd(3)];
			num[o] = '\0';
			size_t len = (size_t)o;
			memset(hit, 0, n_pat);
			struct got g = {hit, 0, 0};
			assert_int_equal(rt_matcher_scan(&m, num, len, hs, on_id, &g), 0);
			uint32_t ids[64], got = 0;
			assert_int_equal(rt_matcher_collect(&m, num, len, hs, ids, 64, &got), 0);
			assert_int_equal(got, g.n);
			for (uint32_t j = 0; j < got && j < 64; j++)
				assert_true(hit[ids[j]]);
			same_as_pcre2(num, len, ref, md, pp, hit, n_pat);
			matches += g.n;
		}
		pcre2_match_data_free(md);
		if (hs)
			hs_free_scratch(hs);
		rt_matcher_free(&m);
		for (uint32_t r = 0; r < n_pat; r++)
			pcre2_code_free(ref[r]);
		free(pats);
		free(pp);
		free(srcs);
		free(ref);
		free(hit);
	}
	print_message("%llu matches; %u of 60 sets through the one-prefix path\n",
		      (unsigned long long)matches, sets_one);
	assert_true(matches > 1000);
	assert_true(sets_one >= 20);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(one_length_sets_equal_pcre2),
		cmocka_unit_test(classifier_table),
		cmocka_unit_test(shapes_go_where_meant),
		cmocka_unit_test(random_patterns_lowered_exactly),
		cmocka_unit_test(mixed_sets_equal_pcre2),
		cmocka_unit_test(long_literals_equal_pcre2),
		cmocka_unit_test(shared_alternatives_equal_pcre2),
		cmocka_unit_test(ext_suffix_equal_pcre2),
		cmocka_unit_test(hs_prefix_filter_equal_pcre2),
		cmocka_unit_test(random_patterns_matcher_exact),
	};
	return cmocka_run_group_tests_name("matcher_shapes", tests, NULL, NULL);
}
