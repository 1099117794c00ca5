#pragma once
/*
 * rt_matcher: a set of regexes matched at once, to find every pattern that
 * matches an input (each reported once). Patterns of the prefix shapes
 * carriers write by the thousand ('^\+1425\d*$', '^\+1(425|206)\d{7}$',
 * see rt_classify.h) are lowered into a digit trie (rt_trie) looked up once
 * per input; the rest go into one Hyperscan block-mode database
 * (HS_FLAG_SINGLEMATCH). Compile only on the control side; matching never
 * allocates or locks, with a per-thread hs_scratch_t readied for this
 * database.
 *
 * Hyperscan is only scanned when it could report something: each of its
 * patterns whose every branch starts with '^' and a literal ('^\+1425(...)')
 * can only match numbers starting with that literal, and those prefixes are
 * kept in a trie of their own; a number starting with none of them skips the
 * scan. One pattern without such a prefix turns the filter off.
 *
 * Patterns may be split into groups (consecutive id ranges, e.g. the rules
 * of each dial plan): each group gets its own trie, so asking one group
 * only walks its own patterns.
 *
 * Semantics match PCRE2 evaluating each pattern alone on the same input
 * (unanchored search, '$' also before a final newline); patterns that can
 * match the empty string are allowed (HS_FLAG_ALLOWEMPTY).
 */
#include <hs/hs.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rt_diag.h"
#include "rt_trie.h" /* also rt_match_fn */

struct rt_matcher {
	hs_database_t *db; /* NULL when no pattern needs Hyperscan */
	uint32_t n;
	uint32_t n_trie; /* patterns lowered into the tries; n - n_trie in db */
	size_t db_size;
	struct rt_trie trie; /* group 0 (the only group unless built in groups) */
	/* Groups: group g holds ids [group_end[g - 1] (0 for g = 0),
	 * group_end[g]); tries[g] (tries[0] is &trie); has_hs[g] when one of
	 * its patterns is in db. */
	uint32_t n_groups;
	uint32_t *group_end;
	struct rt_trie *more; /* tries of groups 1..n_groups-1 */
	uint8_t *has_hs;
	/* Literal prefixes of the Hyperscan patterns (ids as in db); valid
	 * when hs_filter is set, else every number is scanned. */
	struct rt_trie hs_prefix;
	bool hs_filter;
};

/*
 * Compile patterns[0..n) with ids 0..n-1. On failure returns -EINVAL and adds
 * one diag per rejected pattern, naming it via srcs[i], kind and names[i]
 * (with Hyperscan's own message).
 */
int rt_matcher_build(struct rt_matcher *m, const char *const *patterns, uint32_t n,
		     const struct rt_src *srcs, const char *kind, const char *const *names,
		     struct rt_diag *diag);
/* The same, in n_groups groups: group g holds ids [group_end[g - 1],
 * group_end[g]) (from 0 for g = 0); group_end[n_groups - 1] == n. */
int rt_matcher_build_groups(struct rt_matcher *m, const char *const *patterns, uint32_t n,
			    const uint32_t *group_end, uint32_t n_groups, const struct rt_src *srcs,
			    const char *kind, const char *const *names, struct rt_diag *diag);
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
/* The matching ids appended to ids (at most cap written, all counted in
 * *n, which starts at 0), the same set rt_matcher_scan reports. 0 or -EIO. */
int rt_matcher_collect(const struct rt_matcher *m, const char *s, size_t len,
		       hs_scratch_t *scratch, uint32_t *ids, uint32_t cap, uint32_t *n);
/* rt_matcher_collect in stages, for bursts (see rt_trie_probe): start and
 * tags for every number of the burst, then collect each. */
struct rt_matcher_probe {
	struct rt_trie_probe tp;
	const char *s;
	size_t len;
};
void rt_matcher_probe_start(const struct rt_matcher *m, const char *s, size_t len,
			    struct rt_matcher_probe *p);
void rt_matcher_probe_tags(const struct rt_matcher *m, struct rt_matcher_probe *p);
int rt_matcher_probe_collect(const struct rt_matcher *m, struct rt_matcher_probe *p,
			     hs_scratch_t *scratch, uint32_t *ids, uint32_t cap, uint32_t *n);
/* Only the patterns of group g. */
int rt_matcher_scan_group(const struct rt_matcher *m, uint32_t g, const char *s, size_t len,
			  hs_scratch_t *scratch, rt_match_fn fn, void *ctx);
