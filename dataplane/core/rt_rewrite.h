#pragma once
/*
 * rt_rewrite: one "match/replace" number rule (dial-plan normalisation,
 * trunk called/calling translation), compiled with PCRE2 and JIT. The
 * replacement uses $1..$9 (also ${N}; $$ is a literal '$'). Compiled rules
 * are immutable and shared by all threads; each thread brings its own
 * pcre2_match_data.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

/* A piece of a replacement: literal text of the replacement string
 * (group < 0), or capture group 0 or 1. */
struct rt_rewrite_part {
	uint16_t off, len;
	int8_t group;
};

#define RT_REWRITE_PARTS 8
#define RT_REWRITE_LIT 16

struct rt_rewrite {
	pcre2_code *code;
	const char *match;
	const char *replace;
	uint32_t captures; /* capture groups in match */
	/*
	 * Rules of the shape dial plans and trunks are mostly written in,
	 * '^L(\d{m,n})$' with L a literal ('\+'? digits, also empty) and a
	 * replacement of plain text, $$, $0 and $1, are applied without PCRE2
	 * (same result; a subject ending in '\n', where '$' has more to say,
	 * still goes to PCRE2).
	 */
	bool fast;
	uint8_t n_parts;
	uint8_t lit_len;
	uint16_t min, max; /* digit counts; max 0xffff: unbounded */
	char lit[RT_REWRITE_LIT];
	struct rt_rewrite_part parts[RT_REWRITE_PARTS];
};

/*
 * Compile. On error returns -EINVAL with a one-line reason in err (PCRE2's
 * own message and offset, or the replacement's unknown group).
 */
int rt_rewrite_compile(struct rt_rewrite *rw, const char *match, const char *replace,
		       char *err, size_t errlen);
void rt_rewrite_free(struct rt_rewrite *rw);

/* The bounds rewrites run PCRE2 under (100,000 steps, depth 10,000: a
 * rule that backtracks exponentially fails instead of holding a worker),
 * for any other PCRE2 match on config regexes. NULL only without memory
 * (then PCRE2's defaults apply). */
pcre2_match_context *rt_regex_limits(void);

/* Does pattern compile with PCRE2? (Used to validate route patterns, which
 * Hyperscan matches but PCRE2 defines.) */
int rt_regex_check(const char *pattern, char *err, size_t errlen);

/*
 * Apply to subject[0..len): if the rule matches, write the result
 * (NUL-terminated) to out and return 1; no match: 0; result longer than
 * outlen-1 or PCRE2 error: -ENOSPC / -EIO. md must have room for
 * rw->captures + 1 pairs.
 */
int rt_rewrite_apply(const struct rt_rewrite *rw, const char *subject, size_t len,
		     pcre2_match_data *md, char *out, size_t outlen);
/* The same, also giving the result's length (without the NUL) in *out_len
 * when it returns 1. */
int rt_rewrite_apply_len(const struct rt_rewrite *rw, const char *subject, size_t len,
			 pcre2_match_data *md, char *out, size_t outlen, size_t *out_len);
