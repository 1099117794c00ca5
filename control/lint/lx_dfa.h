#pragma once
/*
 * lx_dfa: deterministic, minimised automata for lx_regex patterns (search
 * semantics: a subject is accepted when the pattern matches anywhere in
 * it), and the questions lint asks of several at once, answered by a lazy
 * product construction explored breadth first:
 *
 *   lx_find     a shortest subject whose acceptance by each automaton is as
 *               required (accept / reject / don't care): intersection,
 *               difference, inclusion in a union (no witness = included),
 *               emptiness. Among the shortest, the smallest in byte order
 *               (the alphabet is in byte order), so output is stable.
 *   lx_regions  every distinct combination of acceptances over a universe
 *               (which routes match together), each with example subjects.
 *
 * Work is bounded: a search that would explore more than max_states product
 * states stops with -E2BIG ("not decided (limit)"), never with a guess.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lx_regex.h"

#define LX_F_ACC 1  /* accepting: a subject ending here is accepted */
#define LX_F_DEAD 2 /* no accepting state is reachable: rejected whatever follows */
#define LX_F_ALL 4  /* only accepting states are reachable: accepted whatever follows */

struct lx_dfa {
	uint32_t n;     /* states; 0 is the start */
	uint32_t *next; /* n * LX_NSYM */
	uint8_t *flags; /* LX_F_* per state */
};

#define LX_DFA_MAX_DEFAULT 20000

/* Determinise (search semantics) and minimise. LX_OK or LX_LIMIT (more than
 * max_states subset states). out is the caller's to free either way. */
enum lx_status lx_dfa_build(const struct lx_nfa *nfa, uint32_t max_states, struct lx_dfa *out);
/* lx_compile + lx_dfa_build. */
enum lx_status lx_dfa_from_pattern(const char *pat, uint32_t max_states, struct lx_dfa *out,
				   bool *other_partial, char *why, size_t whylen);
void lx_dfa_free(struct lx_dfa *d);
/* Does d accept the subject s[0..len)? Bytes no number holds are rejected. */
bool lx_dfa_accepts(const struct lx_dfa *d, const char *s, size_t len);

/* Universes, as patterns over the same alphabet. */
#define LX_UNIVERSE_E164 "^\\+?[0-9]{1,15}$"       /* normalised numbers */
#define LX_UNIVERSE_PLAUSIBLE "^\\+[1-9][0-9]{7,14}$" /* nicer examples first */
#define LX_UNIVERSE_DIAL "^.{1,63}$"                 /* dialled strings (rt_decide's limit) */

enum lx_req {
	LX_ANY = 0,
	LX_ACCEPT,
	LX_REJECT,
};

/*
 * Search the product of d[0..k) for a shortest subject w with, for every i,
 * d[i] accepting w when req[i] == LX_ACCEPT and rejecting it when
 * LX_REJECT. Returns 1 and *witness (malloc'd, NUL-terminated; the caller
 * frees it), 0 when there is none (proved), -E2BIG past max_states, or
 * -ENOMEM. *explored (may be NULL) gets the product states visited.
 */
int lx_find(const struct lx_dfa *const *d, const uint8_t *req, size_t k, uint64_t max_states,
	    char **witness, uint64_t *explored);

#define LX_REGION_WIT 3

struct lx_region {
	uint64_t *sig; /* bit i-1 set: d[i] accepts (i = 1..k-1) */
	char *wit[LX_REGION_WIT];
	uint32_t n_wit;
};

struct lx_regions {
	struct lx_region *v;
	size_t n, cap;
	size_t sig_words;
	bool complete; /* false: stopped at the state limit; more regions may exist */
	uint64_t explored;
};

/*
 * Every signature (which of d[1..k) accept) over the subjects d[0] (the
 * universe) accepts, in the order their shortest subject is found, each with
 * up to LX_REGION_WIT examples (shortest first). 0, -E2BIG (the regions found
 * so far are kept, complete is false) or -ENOMEM. Free with
 * lx_regions_free whatever it returns.
 */
int lx_regions(const struct lx_dfa *const *d, size_t k, uint64_t max_states, struct lx_regions *out);
void lx_regions_free(struct lx_regions *r);

static inline bool lx_sig_has(const uint64_t *sig, size_t i)
{
	return sig[i / 64] >> (i % 64) & 1;
}
