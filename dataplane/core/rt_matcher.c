#include "rt_matcher.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RT_HS_FLAGS (HS_FLAG_SINGLEMATCH | HS_FLAG_ALLOWEMPTY)

int rt_matcher_check(const char *pattern, char *err, size_t errlen)
{
	hs_expr_info_t *info = NULL;
	hs_compile_error_t *cerr = NULL;
	if (hs_expression_info(pattern, RT_HS_FLAGS, &info, &cerr) != HS_SUCCESS) {
		snprintf(err, errlen, "%s", cerr ? cerr->message : "rejected");
		hs_free_compile_error(cerr);
		return -EINVAL;
	}
	free(info);
	return 0;
}

int rt_matcher_build(struct rt_matcher *m, const char *const *patterns, uint32_t n,
		     const struct rt_src *srcs, const char *kind, const char *const *names,
		     struct rt_diag *diag)
{
	memset(m, 0, sizeof(*m));
	m->n = n;
	if (n == 0)
		return 0;

	int rc = -ENOMEM;
	struct rt_trie_builder tb;
	rt_trie_builder_init(&tb);
	const char **hs_pats = malloc(n * sizeof(*hs_pats));
	unsigned *flags = malloc(n * sizeof(*flags));
	unsigned *ids = malloc(n * sizeof(*ids));
	struct rt_lowered *alts = malloc(RT_CLASSIFY_MAX_ALTS * sizeof(*alts));
	if (!hs_pats || !flags || !ids || !alts)
		goto out;

	/* Lowered patterns go to the trie, keeping their ids; Hyperscan gets
	 * the rest, under the same ids, so a match means the same thing from
	 * either side. */
	uint32_t nh = 0;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t na;
		if (rt_classify(patterns[i], alts, RT_CLASSIFY_MAX_ALTS, &na)) {
			if (rt_trie_builder_add(&tb, i, alts, na))
				goto out;
			m->n_trie++;
			continue;
		}
		hs_pats[nh] = patterns[i];
		flags[nh] = RT_HS_FLAGS;
		ids[nh] = i;
		nh++;
	}
	if (rt_trie_build(&m->trie, &tb))
		goto out;

	hs_compile_error_t *cerr = NULL;
	if (nh && hs_compile_multi(hs_pats, flags, ids, nh, HS_MODE_BLOCK, NULL, &m->db, &cerr) !=
			  HS_SUCCESS) {
		/* Hyperscan names only the first bad expression; check each one
		 * so the operator sees every problem in one go. */
		int bad = 0;
		char msg[256];
		for (uint32_t k = 0; k < nh; k++) {
			uint32_t i = ids[k];
			if (rt_matcher_check(patterns[i], msg, sizeof(msg))) {
				rt_diag_add(diag, &srcs[i], kind, names[i],
					    "pattern '%s' rejected by Hyperscan: %s", patterns[i], msg);
				bad++;
			}
		}
		if (!bad) {
			int e = cerr && cerr->expression >= 0 ? (int)ids[cerr->expression] : -1;
			rt_diag_add(diag, e >= 0 ? &srcs[e] : NULL, kind, e >= 0 ? names[e] : NULL,
				    "Hyperscan could not compile the pattern set: %s",
				    cerr ? cerr->message : "unknown error");
		}
		hs_free_compile_error(cerr);
		m->db = NULL;
		rc = -EINVAL;
		goto out;
	}
	if (m->db)
		hs_database_size(m->db, &m->db_size);
	rc = 0;
out:
	if (rc)
		rt_trie_free(&m->trie);
	rt_trie_builder_free(&tb);
	free(hs_pats);
	free(flags);
	free(ids);
	free(alts);
	return rc;
}

void rt_matcher_free(struct rt_matcher *m)
{
	if (m->db)
		hs_free_database(m->db);
	m->db = NULL;
	rt_trie_free(&m->trie);
}

size_t rt_matcher_memory(const struct rt_matcher *m)
{
	return m->db_size + rt_trie_memory(&m->trie);
}

int rt_matcher_ready(const struct rt_matcher *m, hs_scratch_t **scratch)
{
	if (!m->db)
		return 0;
	return hs_alloc_scratch(m->db, scratch) == HS_SUCCESS ? 0 : -ENOMEM;
}

struct scan_ctx {
	rt_match_fn fn;
	void *ctx;
};

static int on_match(unsigned id, unsigned long long from, unsigned long long to,
		    unsigned flags, void *p)
{
	struct scan_ctx *c = p;
	return c->fn(id, c->ctx);
}

int rt_matcher_scan(const struct rt_matcher *m, const char *s, size_t len,
		    hs_scratch_t *scratch, rt_match_fn fn, void *ctx)
{
	if (rt_trie_match(&m->trie, s, len, fn, ctx))
		return 0; /* stopped by fn */
	if (!m->db)
		return 0;
	struct scan_ctx c = {fn, ctx};
	hs_error_t e = hs_scan(m->db, s, (unsigned)len, 0, scratch, on_match, &c);
	return e == HS_SUCCESS || e == HS_SCAN_TERMINATED ? 0 : -EIO;
}
