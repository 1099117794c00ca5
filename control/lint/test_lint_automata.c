/*
 * lx_regex / lx_dfa: the pattern subset parses as PCRE2 would, every
 * automaton accepts exactly what PCRE2 matches (differential, on exhaustive
 * short strings and random longer ones), and the product searches give the
 * shortest, smallest witnesses, prove absence, and stop at their limits.
 */
#include <errno.h>
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

#include "lx_dfa.h"
#include "lx_regex.h"

/* ------------------------------------------------------------------------ */
/* Helpers */

static enum lx_status status_of(const char *pat)
{
	struct lx_nfa n;
	char why[200];
	enum lx_status st = lx_compile(pat, strlen(pat), LX_NFA_MAX_DEFAULT, &n, why, sizeof(why));
	if (st != LX_OK)
		assert_true(why[0] != '\0');
	lx_nfa_free(&n);
	return st;
}

static void dfa(const char *pat, struct lx_dfa *d)
{
	char why[200];
	enum lx_status st = lx_dfa_from_pattern(pat, LX_DFA_MAX_DEFAULT, d, NULL, why, sizeof(why));
	if (st != LX_OK)
		fprintf(stderr, "pattern %s: %s\n", pat, why);
	assert_int_equal(st, LX_OK);
}

static bool pcre2_matches(pcre2_code *re, pcre2_match_data *md, const char *s, size_t len)
{
	int rc = pcre2_match(re, (PCRE2_SPTR)s, len, 0, 0, md, NULL);
	assert_true(rc >= 0 || rc == PCRE2_ERROR_NOMATCH);
	return rc >= 0;
}

static uint64_t rng_state = 88172645463325252ull;
static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Compare the automaton with PCRE2 on every string over pool up to length
 * 4, and on random strings up to length 20. */
static void differential(const char *pat)
{
	int ec;
	PCRE2_SIZE eo;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, 0, &ec, &eo, NULL);
	assert_non_null(re);
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
	struct lx_dfa d;
	bool partial;
	char why[200];
	assert_int_equal(lx_dfa_from_pattern(pat, LX_DFA_MAX_DEFAULT, &d, &partial, why, sizeof(why)),
			 LX_OK);
	/* With a partial OTHER only strings without OTHER bytes are exact. */
	const char *pool = partial ? "+0123456789*#" : "+0123456789*#xa-";
	size_t np = strlen(pool);
	char s[32];

	for (size_t len = 0; len <= 4; len++) {
		size_t total = 1;
		for (size_t i = 0; i < len; i++)
			total *= np;
		for (size_t x = 0; x < total; x++) {
			size_t v = x;
			for (size_t i = 0; i < len; i++, v /= np)
				s[i] = pool[v % np];
			bool want = pcre2_matches(re, md, s, len);
			if (lx_dfa_accepts(&d, s, len) != want)
				fail_msg("pattern %s, subject '%.*s': PCRE2 %d, automaton %d", pat,
					 (int)len, s, want, !want);
		}
	}
	/* Longer strings: mostly digits, which is where patterns differ. */
	for (int it = 0; it < 4000; it++) {
		size_t len = rnd() % 21;
		for (size_t i = 0; i < len; i++) {
			uint64_t r = rnd() % 16;
			s[i] = r < 11 ? "0123456789+"[r] : pool[rnd() % np];
		}
		if (it % 3 == 0 && len > 0)
			s[0] = '+';
		if (it % 5 == 0 && len > 1)
			s[1] = '1';
		bool want = pcre2_matches(re, md, s, len);
		if (lx_dfa_accepts(&d, s, len) != want)
			fail_msg("pattern %s, subject '%.*s': PCRE2 %d, automaton %d", pat, (int)len, s,
				 want, !want);
	}
	lx_dfa_free(&d);
	pcre2_match_data_free(md);
	pcre2_code_free(re);
}

/* lx_find over d[0..k) with req; expect rc and (when 1) the witness. */
static void expect_find(const char **pats, const uint8_t *req, size_t k, int want_rc,
			const char *want_wit)
{
	struct lx_dfa d[8];
	const struct lx_dfa *dp[8];
	char *w = NULL;
	assert_true(k <= 8);
	for (size_t i = 0; i < k; i++) {
		dfa(pats[i], &d[i]);
		dp[i] = &d[i];
	}
	int rc = lx_find(dp, req, k, 1000000, &w, NULL);
	if (rc != want_rc)
		fail_msg("find over %s..: rc %d (witness %s), expected %d", pats[1], rc,
			 w ? w : "-", want_rc);
	if (want_wit) {
		assert_non_null(w);
		assert_string_equal(w, want_wit);
	}
	if (w) {
		/* The witness satisfies every requirement. */
		for (size_t i = 0; i < k; i++) {
			bool acc = lx_dfa_accepts(&d[i], w, strlen(w));
			if (req[i] == LX_ACCEPT)
				assert_true(acc);
			if (req[i] == LX_REJECT)
				assert_false(acc);
		}
	}
	free(w);
	for (size_t i = 0; i < k; i++)
		lx_dfa_free(&d[i]);
}

/* ------------------------------------------------------------------------ */
/* Tests */

static void test_symbols(void **state)
{
	assert_int_equal(lx_sym_of('#'), LX_SYM_HASH);
	assert_int_equal(lx_sym_of('*'), LX_SYM_STAR);
	assert_int_equal(lx_sym_of('+'), LX_SYM_PLUS);
	assert_int_equal(lx_sym_of('0'), LX_SYM_D0);
	assert_int_equal(lx_sym_of('9'), LX_SYM_D0 + 9);
	assert_int_equal(lx_sym_of('a'), LX_SYM_OTHER);
	assert_int_equal(lx_sym_of(' '), -1);
	assert_int_equal(lx_sym_of('\n'), -1);
	assert_int_equal(lx_sym_of(0x80), -1);
	/* The alphabet is in byte order, so witnesses compare like strings. */
	for (unsigned a = 1; a < LX_NSYM; a++)
		assert_true(lx_sym_char(a - 1) < lx_sym_char(a));
	assert_int_equal(lx_sym_of((unsigned char)lx_sym_char(LX_SYM_OTHER)), LX_SYM_OTHER);
}

static void test_parse_status(void **state)
{
	static const struct {
		const char *pat;
		enum lx_status st;
	} cases[] = {
		{"^\\+1(425|206|253)(\\d{7})$", LX_OK},
		{"^\\+?(\\d*)$", LX_OK},
		{"", LX_OK},
		{"()", LX_OK},
		{"a|", LX_OK},
		{"(?:\\+44|0044)\\d{9,10}", LX_OK},
		{"(?<cc>\\+1)(?P<npa>[2-9]\\d\\d)(?'rest'\\d{7})", LX_OK},
		{"[^0-9]", LX_OK},
		{"[]x]", LX_OK},
		{"[\\d+*#-]", LX_OK},
		{"[[:digit:]]+", LX_OK},
		{"\\A\\+\\d+\\z", LX_OK},
		{"\\d+?$", LX_OK},
		{"\\d{2,}?", LX_OK},
		{"\\x2b1\\x{32}", LX_OK},
		{"a]b}", LX_OK},
		{"\\w\\W\\s\\S", LX_OK},
		{"(?=\\+1)\\+\\d+", LX_UNSUPPORTED},
		{"(?!1)\\d", LX_UNSUPPORTED},
		{"(?<=1)2", LX_UNSUPPORTED},
		{"(\\d)\\1", LX_UNSUPPORTED},
		{"\\b1", LX_UNSUPPORTED},
		{"\\d++", LX_UNSUPPORTED},
		{"(?i)a", LX_UNSUPPORTED},
		{"(?>12|1)2", LX_UNSUPPORTED},
		{"\\Q+1\\E", LX_UNSUPPORTED},
		{"x{", LX_UNSUPPORTED},
		{"x{,3}", LX_UNSUPPORTED},
		{"^*", LX_UNSUPPORTED},
		{"[[:alpha:]]", LX_UNSUPPORTED},
		{"*1", LX_SYNTAX},
		{"(12", LX_SYNTAX},
		{"12)", LX_SYNTAX},
		{"[12", LX_SYNTAX},
		{"[9-0]", LX_SYNTAX},
		{"\\d{3,2}", LX_SYNTAX},
		{"\\", LX_SYNTAX},
		{"\\d{70000}", LX_SYNTAX},
		{"\\d{30000}", LX_LIMIT},
		{"((((\\d{100}){100}){100}){100})", LX_LIMIT},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum lx_status st = status_of(cases[i].pat);
		if (st != cases[i].st)
			fail_msg("'%s': %s, expected %s", cases[i].pat, lx_status_name(st),
				 lx_status_name(cases[i].st));
	}
	/* Nesting deeper than the parser goes is a limit, not a crash. */
	char deep[1200];
	memset(deep, '(', 600);
	memset(deep + 600, ')', 600);
	struct lx_nfa n;
	char why[100];
	assert_int_equal(lx_compile(deep, sizeof(deep), LX_NFA_MAX_DEFAULT, &n, why, sizeof(why)),
			 LX_LIMIT);
	lx_nfa_free(&n);
	/* A partial OTHER is noted. */
	assert_int_equal(lx_compile("^[a-z]+", 7, LX_NFA_MAX_DEFAULT, &n, why, sizeof(why)), LX_OK);
	assert_true(n.other_partial);
	lx_nfa_free(&n);
	assert_int_equal(lx_compile("^[^0-9]+", 8, LX_NFA_MAX_DEFAULT, &n, why, sizeof(why)), LX_OK);
	assert_false(n.other_partial);
	lx_nfa_free(&n);
}

static void test_differential(void **state)
{
	static const char *const pats[] = {
		"^\\+1(425|206|253)(\\d{7})$",
		"^\\+1(972|214|469)(\\d{7})$",
		"^\\+?(\\d*)$",
		"^\\+\\d+",
		"^\\+1\\d{10}$",
		"\\d{3}",
		"12",
		"^$",
		"$",
		"^",
		"",
		"\\d*",
		"^(\\+1)?$",
		"1$|^2",
		"^(0|00)\\d{2,4}?$",
		"(1|12)(2|23)",
		"^[2-9]\\d{2}[2-9]\\d{6}$",
		"^\\*\\d{2}#?$",
		"[^\\d]",
		"\\D\\d",
		".5.",
		"^.*9$",
		"(^1|2$)",
		"a^1",
		"1$2",
		"(\\d{2}){2,3}$",
		"^\\+(?:44|33)\\d{0,3}$",
		"[x-z]",
		"^[a-z]+\\d",
		"\\w+#",
		"\\s|1",
		"\\S2",
		"(|1)2",
		"((1)*)*3",
		"^\\A\\+\\z",
		"[*#+]{2}",
		"\\x2b\\x31",
		"^0{2,}1",
		"(1?){3}4",
	};
	for (size_t i = 0; i < sizeof(pats) / sizeof(pats[0]); i++)
		differential(pats[i]);
}

static void test_empty_match(void **state)
{
	static const struct {
		const char *pat;
		bool bol_eol, bol, eol, mid;
	} cases[] = {
		{"\\d*", true, true, true, true},
		{"^\\+?(\\d*)$", true, false, false, false},
		{"^\\d*", true, true, false, false},
		{"\\d*$", true, false, true, false},
		{"^\\d+$", false, false, false, false},
		{"(|1)", true, true, true, true},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct lx_nfa n;
		char why[100];
		assert_int_equal(lx_compile(cases[i].pat, strlen(cases[i].pat), 1000, &n, why,
					    sizeof(why)),
				 LX_OK);
		assert_int_equal(lx_nfa_empty_match(&n, true, true), cases[i].bol_eol);
		assert_int_equal(lx_nfa_empty_match(&n, true, false), cases[i].bol);
		assert_int_equal(lx_nfa_empty_match(&n, false, true), cases[i].eol);
		assert_int_equal(lx_nfa_empty_match(&n, false, false), cases[i].mid);
		lx_nfa_free(&n);
	}
}

static void test_minimal(void **state)
{
	/* Equal languages give identical minimal automata. */
	struct lx_dfa a, b;
	dfa("^\\+1\\d{3}\\d{7}$", &a);
	dfa("^\\+1\\d{10}$", &b);
	assert_int_equal(a.n, b.n);
	assert_memory_equal(a.next, b.next, a.n * LX_NSYM * sizeof(uint32_t));
	assert_memory_equal(a.flags, b.flags, a.n);
	lx_dfa_free(&a);
	lx_dfa_free(&b);
	/* An unanchored pattern: the start is not ALL, but a match makes it so. */
	dfa("12", &a);
	assert_false(a.flags[0] & LX_F_ALL);
	uint32_t q = a.next[a.next[LX_SYM_D0 + 1] * LX_NSYM + LX_SYM_D0 + 2];
	assert_true(a.flags[q] & LX_F_ALL);
	lx_dfa_free(&a);
	/* '^x' dies after a wrong first symbol. */
	dfa("^1", &a);
	assert_true(a.flags[a.next[LX_SYM_D0 + 2]] & LX_F_DEAD);
	lx_dfa_free(&a);
}

static void test_find(void **state)
{
	const char *e164 = LX_UNIVERSE_E164;
	/* International before national: both match +1 and ten digits. */
	const char *cap[] = {e164, "^\\+\\d+", "^\\+1\\d{10}$"};
	uint8_t both[] = {LX_ACCEPT, LX_ACCEPT, LX_ACCEPT};
	expect_find(cap, both, 3, 1, "+10000000000");
	/* Shortest first: Intl minus national. */
	uint8_t diff[] = {LX_ACCEPT, LX_ACCEPT, LX_REJECT};
	expect_find(cap, diff, 3, 1, "+0");
	/* National is inside international: no witness, proved. */
	uint8_t incl[] = {LX_ACCEPT, LX_REJECT, LX_ACCEPT};
	expect_find(cap, incl, 3, 0, NULL);

	/* Inclusion in a union of several. */
	const char *uni[] = {e164, "^\\+1\\d{10}$", "^\\+1[2-9]\\d{9}$", "^\\+1[01]\\d{9}$"};
	uint8_t cover[] = {LX_ACCEPT, LX_ACCEPT, LX_REJECT, LX_REJECT};
	expect_find(uni, cover, 4, 0, NULL);
	const char *gap[] = {e164, "^\\+1\\d{10}$", "^\\+1[2-9]\\d{9}$", "^\\+1[1]\\d{9}$"};
	expect_find(gap, cover, 4, 1, "+10000000000");

	/* Disjoint area codes. */
	const char *dj[] = {e164, "^\\+1(425|206|253)(\\d{7})$", "^\\+1(972|214|469)(\\d{7})$"};
	expect_find(dj, both, 3, 0, NULL);
	const char *ov[] = {e164, "^\\+1(425|206|253)(\\d{7})$", "^\\+?(\\d*)$"};
	expect_find(ov, both, 3, 1, "+12060000000");

	/* A pattern matching no E.164 number, but some dialled string. */
	const char *star[] = {e164, "^\\*\\d{2}$"};
	uint8_t acc2[] = {LX_ACCEPT, LX_ACCEPT};
	expect_find(star, acc2, 2, 0, NULL);
	const char *star_d[] = {LX_UNIVERSE_DIAL, "^\\*\\d{2}$"};
	expect_find(star_d, acc2, 2, 1, "*00");
	/* Sixteen digits are beyond E.164. */
	const char *longp[] = {e164, "^\\d{16}"};
	expect_find(longp, acc2, 2, 0, NULL);
	/* The plausible universe gives nicer examples. */
	const char *pl[] = {LX_UNIVERSE_PLAUSIBLE, "^\\+?(\\d*)$"};
	expect_find(pl, acc2, 2, 1, "+10000000");
	/* Dial plan shadowing: rule 2 is inside rule 1. */
	const char *sh[] = {LX_UNIVERSE_DIAL, "^\\d{4}$", "^\\d+$"};
	uint8_t shadow[] = {LX_ACCEPT, LX_ACCEPT, LX_REJECT};
	expect_find(sh, shadow, 3, 0, NULL);
	/* Subjects with other bytes are found in the dial universe. */
	const char *oth[] = {LX_UNIVERSE_DIAL, "[^0-9+*#]"};
	expect_find(oth, acc2, 2, 1, "x");
}

static void test_limit(void **state)
{
	/* The classic exponential DFA: the 21st digit from the end is a 1. */
	struct lx_dfa d;
	char why[100];
	assert_int_equal(lx_dfa_from_pattern("1\\d{20}$", 5000, &d, NULL, why, sizeof(why)),
			 LX_LIMIT);
	assert_non_null(strstr(why, "5000"));
	lx_dfa_free(&d);

	/* A product search past its cap stops with -E2BIG, not an answer. */
	struct lx_dfa a, b, u;
	dfa("1\\d{8}", &a);
	dfa("2\\d{8}", &b);
	dfa(LX_UNIVERSE_DIAL, &u);
	const struct lx_dfa *dp[] = {&u, &a, &b};
	uint8_t req[] = {LX_ACCEPT, LX_ACCEPT, LX_ACCEPT};
	char *w = NULL;
	uint64_t explored = 0;
	assert_int_equal(lx_find(dp, req, 3, 50, &w, &explored), -E2BIG);
	assert_null(w);
	assert_true(explored > 50);
	/* With room it is found. */
	assert_int_equal(lx_find(dp, req, 3, 10000000, &w, NULL), 1);
	assert_string_equal(w, "1200000000");
	free(w);
	lx_dfa_free(&a);
	lx_dfa_free(&b);
	lx_dfa_free(&u);
}

static void test_regions(void **state)
{
	/* The seed's Default Calling Policy routes. */
	struct lx_dfa u, red, dal, uni;
	dfa(LX_UNIVERSE_E164, &u);
	dfa("^\\+1(425|206|253)(\\d{7})$", &red);
	dfa("^\\+1(972|214|469)(\\d{7})$", &dal);
	dfa("^\\+?(\\d*)$", &uni);
	const struct lx_dfa *dp[] = {&u, &red, &dal, &uni};
	struct lx_regions r;
	assert_int_equal(lx_regions(dp, 4, 1000000, &r), 0);
	assert_true(r.complete);
	/* {Universal}, {Redmond, Universal}, {Dallas, Universal}. */
	assert_int_equal(r.n, 3);
	bool seen[8] = {false};
	for (size_t i = 0; i < r.n; i++) {
		unsigned code = (unsigned)r.v[i].sig[0];
		assert_true(code < 8);
		seen[code] = true;
		assert_true(r.v[i].n_wit >= 1);
		for (uint32_t w = 0; w < r.v[i].n_wit; w++) {
			const char *s = r.v[i].wit[w];
			assert_true(lx_dfa_accepts(&u, s, strlen(s)));
			assert_int_equal(lx_dfa_accepts(&red, s, strlen(s)), !!(code & 1));
			assert_int_equal(lx_dfa_accepts(&dal, s, strlen(s)), !!(code & 2));
			assert_int_equal(lx_dfa_accepts(&uni, s, strlen(s)), !!(code & 4));
		}
	}
	assert_true(seen[4] && seen[5] && seen[6]);
	assert_string_equal(r.v[0].wit[0], "0"); /* shortest first */
	lx_regions_free(&r);

	/* Past the cap: partial, marked incomplete. */
	assert_int_equal(lx_regions(dp, 4, 5, &r), -E2BIG);
	assert_false(r.complete);
	lx_regions_free(&r);

	lx_dfa_free(&u);
	lx_dfa_free(&red);
	lx_dfa_free(&dal);
	lx_dfa_free(&uni);
}

/* Products against brute force: over every string of a small universe, the
 * search finds a witness exactly when one exists, and it is the shortest,
 * then smallest, of them. */
static void test_find_brute_force(void **state)
{
	static const char *const pats[] = {
		"^\\+?1", "2$", "^\\d{2}$", "[13]", "^\\+\\d*9", "^(12|3)", "0", "^$",
		"\\d\\d\\d", "^\\+?[2-4]+$",
	};
	const size_t np = sizeof(pats) / sizeof(pats[0]);
	struct lx_dfa d[16], u;
	dfa("^\\+?[0-9]{1,3}$", &u);
	for (size_t i = 0; i < np; i++)
		dfa(pats[i], &d[i]);
	/* Every universe string, shortest first, then in byte order. */
	static char subj[20000][5];
	size_t ns = 0;
	const char *alpha = "+0123456789";
	for (size_t len = 1; len <= 4; len++) {
		size_t total = 1;
		for (size_t i = 0; i < len; i++)
			total *= 11;
		for (size_t x = 0; x < total; x++) {
			char s[5] = {0};
			size_t v = x;
			for (size_t i = len; i-- > 0; v /= 11)
				s[i] = alpha[v % 11];
			if (lx_dfa_accepts(&u, s, len))
				memcpy(subj[ns++], s, 5);
		}
	}
	assert_true(ns > 1000);
	for (size_t a = 0; a < np; a++)
		for (size_t b = 0; b < np; b++)
			for (int rb = LX_ACCEPT; rb <= LX_REJECT; rb++) {
				const struct lx_dfa *dp[] = {&u, &d[a], &d[b]};
				uint8_t req[] = {LX_ACCEPT, LX_ACCEPT, (uint8_t)rb};
				const char *want = NULL;
				for (size_t k = 0; k < ns && !want; k++) {
					size_t len = strlen(subj[k]);
					if (lx_dfa_accepts(&d[a], subj[k], len) &&
					    lx_dfa_accepts(&d[b], subj[k], len) == (rb == LX_ACCEPT))
						want = subj[k];
				}
				char *w = NULL;
				int rc = lx_find(dp, req, 3, 1000000, &w, NULL);
				if (rc != (want ? 1 : 0) || (want && strcmp(w, want)))
					fail_msg("%s %s %s: got %d '%s', want '%s'", pats[a],
						 rb == LX_ACCEPT ? "and" : "but not", pats[b], rc,
						 w ? w : "-", want ? want : "-");
				free(w);
			}

	/* Regions: exactly the signatures brute force sees, each example in it. */
	const struct lx_dfa *all[16] = {&u};
	for (size_t i = 0; i < np; i++)
		all[i + 1] = &d[i];
	struct lx_regions r;
	assert_int_equal(lx_regions(all, np + 1, 1000000, &r), 0);
	bool seen[1 << 10] = {false};
	size_t distinct = 0;
	for (size_t k = 0; k < ns; k++) {
		unsigned sig = 0;
		for (size_t i = 0; i < np; i++)
			sig |= (unsigned)lx_dfa_accepts(&d[i], subj[k], strlen(subj[k])) << i;
		distinct += !seen[sig];
		seen[sig] = true;
	}
	assert_int_equal(r.n, distinct);
	for (size_t k = 0; k < r.n; k++) {
		unsigned sig = (unsigned)r.v[k].sig[0];
		assert_true(seen[sig]);
		for (uint32_t x = 0; x < r.v[k].n_wit; x++) {
			const char *w = r.v[k].wit[x];
			unsigned got = 0;
			for (size_t i = 0; i < np; i++)
				got |= (unsigned)lx_dfa_accepts(&d[i], w, strlen(w)) << i;
			assert_int_equal(got, sig);
			assert_true(lx_dfa_accepts(&u, w, strlen(w)));
		}
	}
	lx_regions_free(&r);

	for (size_t i = 0; i < np; i++)
		lx_dfa_free(&d[i]);
	lx_dfa_free(&u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_symbols),
		cmocka_unit_test(test_parse_status),
		cmocka_unit_test(test_differential),
		cmocka_unit_test(test_empty_match),
		cmocka_unit_test(test_minimal),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_find_brute_force),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_regions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
