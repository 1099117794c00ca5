/*
 * libFuzzer target: any bytes as a routing pattern. The parser never
 * crashes or loops, limits hold, and whenever it builds an automaton for a
 * pattern PCRE2 also compiles, the two agree on every short subject (and a
 * few longer ones derived from the input): an automaton that disagrees
 * with PCRE2 would make lint claim things about numbers that are false.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "lx_dfa.h"
#include "lx_regex.h"
#include "rt_rewrite.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct lx_dfa *d, pcre2_code *re, pcre2_match_data *md, const char *s,
		  size_t len)
{
	/* PCRE2 as the oracle, under the rewrites' bounds: a nested quantifier
	 * like '((1)*)+3' backtracks exponentially, and a fuzz run must not
	 * stall on it (a timeout, not a finding). Past them: no verdict. */
	int rc = pcre2_match(re, (PCRE2_SPTR)s, len, 0, 0, md, rt_regex_limits());
	if (rc < 0 && rc != PCRE2_ERROR_NOMATCH)
		return; /* PCRE2's own limits: no verdict */
	if (lx_dfa_accepts(d, s, len) != (rc >= 0))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 200)
		return 0;
	struct lx_nfa nfa;
	char why[160];
	enum lx_status st = lx_compile((const char *)data, size, 2000, &nfa, why, sizeof(why));
	if (st != LX_OK) {
		if (nfa.st || nfa.n)
			abort(); /* nothing left behind on failure */
		if (!why[0])
			abort(); /* every refusal says why */
		return 0;
	}
	(void)lx_nfa_empty_match(&nfa, true, true);
	(void)lx_nfa_empty_match(&nfa, false, false);
	struct lx_dfa d;
	bool partial = nfa.other_partial;
	st = lx_dfa_build(&nfa, 2000, &d);
	lx_nfa_free(&nfa);
	if (st != LX_OK) {
		lx_dfa_free(&d);
		return 0;
	}

	int ec;
	PCRE2_SIZE eo;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)data, size, 0, &ec, &eo, NULL);
	if (re) {
		pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
		const char *pool = partial ? "#*+0123456789" : "#*+0123456789x";
		size_t np = strlen(pool);
		char s[24];
		check(&d, re, md, "", 0);
		for (size_t a = 0; a < np; a++) {
			s[0] = pool[a];
			check(&d, re, md, s, 1);
			for (size_t b = 0; b < np; b++) {
				s[1] = pool[b];
				check(&d, re, md, s, 2);
			}
		}
		/* Longer subjects built from the digits of the pattern itself. */
		for (size_t start = 0; start < size && start < 8; start++) {
			size_t len = 0;
			for (size_t i = start; i < size && len < sizeof(s); i++) {
				int sym = lx_sym_of(data[i]);
				if (sym >= 0 && (sym != LX_SYM_OTHER || !partial))
					s[len++] = (char)data[i];
			}
			for (size_t l = 0; l <= len; l++)
				check(&d, re, md, s, l);
		}
		pcre2_match_data_free(md);
		pcre2_code_free(re);
	}

	/* Products with the universes never fail on a built automaton. */
	static struct lx_dfa u;
	if (!u.n && lx_dfa_from_pattern(LX_UNIVERSE_E164, 2000, &u, NULL, why, sizeof(why)) != LX_OK)
		abort();
	const struct lx_dfa *dp[] = {&u, &d};
	uint8_t req[] = {LX_ACCEPT, LX_ACCEPT};
	char *w = NULL;
	int rc = lx_find(dp, req, 2, 20000, &w, NULL);
	if (rc == 1 && (!lx_dfa_accepts(&d, w, strlen(w)) || !lx_dfa_accepts(&u, w, strlen(w))))
		abort();
	if (rc < 0 && rc != -E2BIG)
		abort();
	free(w);
	lx_dfa_free(&d);
	return 0;
}
