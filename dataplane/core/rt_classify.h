#pragma once
/*
 * rt_classify: recognise the route-pattern shapes carriers write by the
 * thousand and lower them to "literal prefix + digit-count check", which a
 * digit trie (rt_trie) answers in one walk instead of Hyperscan.
 *
 * Accepted (PCRE2 syntax, default options; anything else is "not lowered"
 * and stays with Hyperscan):
 *
 *   pattern  := branch ('|' branch)*            every branch starts with '^'
 *   branch   := '^' item* '$'?                   '$' only as the last token
 *   item     := atom quant?
 *   atom     := digit | '\+' | '\d' | '[' class ']' | '.' | group
 *   class    := (digit | digit '-' digit | '+' | '\+' | '\d')+   no '^', no ']' first
 *   group    := '(' alts ')' | '(?:' alts ')' | '(?<name>' alts ')'
 *             | '(?P<name>' alts ')' | "(?'name'" alts ')'
 *   quant    := ('?' | '*' | '+' | '{n}' | '{n,}' | '{n,m}') '?'?   (lazy ok,
 *               possessive never)
 *
 * and only when the language of each branch flattens to a bounded set of
 * alternatives "literal L, then a tail", where L is '\+'? followed by digits
 * (<= RT_LIT_MAX) and the tail is a digit count range (\d{m,n}, \d*, \d+,
 * sums of consecutive digit items) or '.*'. Finite pieces expand: '\+?',
 * '(425|206)', '[2-9]', '0{2}', and a fixed-count digit run followed by more
 * literal ('\d555' -> 10 alternatives), up to RT_CLASSIFY_MAX_ALTS per pattern.
 * A top-level branch may also end in '(;ext=\d+)?$' or '(?:;ext=\d+)?$' (an
 * optional extension after the number) when what comes before lowers to
 * digit tails.
 *
 * Semantics are PCRE2's for an unanchored search with default options:
 * '$' matches at the end or before a final '\n', '.' is any byte but '\n',
 * '\d' is [0-9]. Patterns are only lowered when PCRE2's compiled-in newline
 * convention is LF, the one those rules assume.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RT_LIT_MAX 48
#define RT_CLASSIFY_MAX_ALTS 256
#define RT_REP_INF 0xffff /* no upper bound on a digit count */

enum rt_tail {
	/* No '$': the literal plus at least `min` digits right after it
	 * (whatever follows them) is a match. */
	RT_TAIL_OPEN,
	/* '$': after the literal, only digits, between min and max of them
	 * (max RT_REP_INF: unbounded), then the end or a final '\n'. */
	RT_TAIL_DIGITS_END,
	/* '.*$': after the literal, no '\n' before the end or a final '\n'. */
	RT_TAIL_ANY_END,
	/* '(;ext=\d+)?$' after a digit tail: as RT_TAIL_DIGITS_END, or the
	 * same digits followed by ";ext=" and at least one digit, then the end
	 * or a final '\n'. */
	RT_TAIL_DIGITS_EXT_END,
};

/* One alternative of a lowered pattern. */
struct rt_lowered {
	char lit[RT_LIT_MAX + 1]; /* '+'? [0-9]*, NUL-terminated */
	uint8_t len;
	uint8_t tail; /* enum rt_tail */
	uint16_t min, max;
};

/*
 * Lower `pattern` into out[0..*n) (cap >= 1; RT_CLASSIFY_MAX_ALTS is always
 * enough). Returns true when lowered, false when the pattern must go to
 * Hyperscan (not one of the shapes above, too many alternatives, or a
 * PCRE2 build whose newline convention is not LF). The alternatives are
 * distinct; a number matches the pattern iff it matches any of them.
 */
bool rt_classify(const char *pattern, struct rt_lowered *out, uint32_t cap, uint32_t *n);

/* Does `s` match one lowered alternative? (Reference for tests; rt_trie
 * evaluates the same rules while walking.) */
bool rt_lowered_match(const struct rt_lowered *a, const char *s, size_t len);

/* "+1425 d{7}$ | +1206 d{7}$"-style text of a lowering, for tests and
 * diagnostics: each alternative is the literal ('' when empty) then one of
 * "...", "d{m}...", "d{m,n}$", "d{m,}$", ".*$" . */
void rt_lowered_format(const struct rt_lowered *alts, uint32_t n, char *buf, size_t len);
