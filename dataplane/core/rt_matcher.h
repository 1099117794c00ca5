#pragma once
/*
 * rt_matcher: a set of regexes matched at once, to find every pattern that
 * matches an input (each reported once). Patterns of the prefix shapes
 * carriers write by the thousand ('^\+1425\d*$', '^\+1(425|206)\d{7}$',
 * see rt_classify.h) are lowered into a digit trie (rt_trie) walked once
 * per input; the rest go into one Hyperscan block-mode database
 * (HS_FLAG_SINGLEMATCH), scanned only when it has patterns. Compile only on
 * the control side; matching never allocates or locks, with a per-thread
 * hs_scratch_t readied for this database.
 *
 * Semantics match PCRE2 evaluating each pattern alone on the same input
 * (unanchored search, '$' also before a final newline); patterns that can
 * match the empty string are allowed (HS_FLAG_ALLOWEMPTY).
 */
#include <hs/hs.h>
#include <stddef.h>
#include <stdint.h>

#include "rt_diag.h"
#include "rt_trie.h" /* also rt_match_fn */

struct rt_matcher {
	hs_database_t *db; /* NULL when no pattern needs Hyperscan */
	uint32_t n;
	uint32_t n_trie; /* patterns lowered into the trie; n - n_trie in db */
	size_t db_size;
	struct rt_trie trie;
};

/*
 * Compile patterns[0..n) with ids 0..n-1. On failure returns -EINVAL and adds
 * one diag per rejected pattern, naming it via srcs[i], kind and names[i]
 * (with Hyperscan's own message).
 */
int rt_matcher_build(struct rt_matcher *m, const char *const *patterns, uint32_t n,
		     const struct rt_src *srcs, const char *kind, const char *const *names,
		     struct rt_diag *diag);
void rt_matcher_free(struct rt_matcher *m);

/* Bytes held by the compiled matcher (trie and Hyperscan database). */
size_t rt_matcher_memory(const struct rt_matcher *m);

/* Check one pattern alone; 0 or -EINVAL with Hyperscan's message in err. */
int rt_matcher_check(const char *pattern, char *err, size_t errlen);

/* Grow *scratch to serve m. 0 or -ENOMEM. */
int rt_matcher_ready(const struct rt_matcher *m, hs_scratch_t **scratch);

/* Match; fn called once per matching id (trie ones first, then Hyperscan's
 * in end-offset order: not id order). Returns 0, or -EIO if Hyperscan
 * failed. */
int rt_matcher_scan(const struct rt_matcher *m, const char *s, size_t len,
		    hs_scratch_t *scratch, rt_match_fn fn, void *ctx);
