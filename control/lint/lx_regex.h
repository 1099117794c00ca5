#pragma once
/*
 * lx_regex: the PCRE2 subset that routing patterns are written in, parsed
 * into a Thompson NFA over a small alphabet, so that questions about whole
 * sets of numbers (do two routes overlap? is this rule shadowed?) can be
 * decided exactly instead of guessed from samples.
 *
 * Alphabet (LX_NSYM symbols, in byte order, so "smallest witness" means the
 * same as comparing the strings): '#', '*', '+', '0'..'9', and OTHER, which
 * stands for every other byte a number may hold. rt_decide only accepts
 * numbers made of bytes 0x21..0x7e (no space, no control byte, no '\n'), so
 * bytes outside that range never occur and a pattern piece that needs one
 * matches nothing. Because '\n' never occurs, '$', '\Z' and '\z' all mean
 * "at the end", and '.' means any symbol.
 *
 * Supported (PCRE2 syntax, default options): literals and escaped
 * punctuation; \d \D \s \S \w \W; \xhh, \x{h..}, \t \n \r \f \e \a;
 * classes [...] and [^...] with ranges, escapes and [:digit:]; '.';
 * groups ( ), (?: ), (?<n> ), (?P<n> ), (?'n' ); alternation '|';
 * quantifiers ? * + {n} {n,} {n,m} and their lazy forms (same language);
 * anchors ^ $ \A \z \Z. A pattern is matched as a search (it may match
 * anywhere in the number), as Hyperscan and PCRE2 do.
 *
 * Anything else (lookarounds, backreferences, \b, \Q..\E, atomic groups,
 * possessive quantifiers, inline options, a '{' that is not a quantifier,
 * ...) is LX_UNSUPPORTED: "not analysable", and callers fall back to
 * concrete evidence. The NFA is exact over the alphabet except that a
 * literal or class naming some but not all OTHER bytes (a letter, [a-z],
 * \w) sets other_partial: answers are then exact only for strings without
 * OTHER bytes (E.164 numbers are such strings).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LX_NSYM 14
enum {
	LX_SYM_HASH = 0,  /* '#' */
	LX_SYM_STAR = 1,  /* '*' */
	LX_SYM_PLUS = 2,  /* '+' */
	LX_SYM_D0 = 3,    /* '0'; '9' is LX_SYM_D0 + 9 */
	LX_SYM_OTHER = 13 /* any other byte 0x21..0x7e */
};

typedef uint16_t lx_set; /* one bit per symbol */
#define LX_SET_ALL ((lx_set)((1u << LX_NSYM) - 1))
#define LX_SET_DIGITS ((lx_set)(0x3ffu << LX_SYM_D0))
#define LX_SET_OTHER ((lx_set)(1u << LX_SYM_OTHER))

/* The symbol of byte c, or -1 for a byte no number holds. */
int lx_sym_of(unsigned char c);
/* A byte standing for symbol sym ('x' for OTHER). */
char lx_sym_char(unsigned sym);

enum lx_status {
	LX_OK = 0,
	LX_UNSUPPORTED, /* valid PCRE2, perhaps, but outside the subset */
	LX_SYNTAX,      /* not a valid pattern */
	LX_LIMIT,       /* too large to analyse (state cap) */
};
const char *lx_status_name(enum lx_status s);

enum lx_kind {
	LX_N_EPS,   /* out, and out2 when >= 0 */
	LX_N_SYM,   /* consumes one symbol of set, then out */
	LX_N_BOL,   /* passable only at the start of the subject */
	LX_N_EOL,   /* passable only at the end of the subject */
	LX_N_MATCH, /* the pattern has matched */
};

struct lx_nstate {
	uint8_t kind;
	lx_set set;
	int32_t out, out2;
};

struct lx_nfa {
	struct lx_nstate *st;
	uint32_t n, cap;
	int32_t start;
	bool other_partial; /* see above */
};

#define LX_NFA_MAX_DEFAULT 20000

/*
 * Parse pat[0..len) and build its NFA (at most max_states states). On
 * anything but LX_OK, why holds a one-line reason with the byte offset and
 * *out is empty. out is the caller's to free with lx_nfa_free either way.
 */
enum lx_status lx_compile(const char *pat, size_t len, uint32_t max_states, struct lx_nfa *out,
			  char *why, size_t whylen);
void lx_nfa_free(struct lx_nfa *n);

/*
 * Can the pattern match the empty string at a position where '^' holds
 * (bol) and '$' holds (eol)? (bol && eol: the empty subject; bol only: the
 * start of any non-empty subject; eol only: its end.) A pattern with an
 * empty match at a start or an end matches every subject.
 */
bool lx_nfa_empty_match(const struct lx_nfa *n, bool bol, bool eol);
