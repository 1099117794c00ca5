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
	unsigned *flags = malloc(n * sizeof(*flags));
	unsigned *ids = malloc(n * sizeof(*ids));
	if (!flags || !ids)
		goto out;
	for (uint32_t i = 0; i < n; i++) {
		flags[i] = RT_HS_FLAGS;
		ids[i] = i;
	}

	hs_compile_error_t *cerr = NULL;
	if (hs_compile_multi(patterns, flags, ids, n, HS_MODE_BLOCK, NULL, &m->db, &cerr) !=
	    HS_SUCCESS) {
		/* Hyperscan names only the first bad expression; check each one
		 * so the operator sees every problem in one go. */
		int bad = 0;
		char msg[256];
		for (uint32_t i = 0; i < n; i++) {
			if (rt_matcher_check(patterns[i], msg, sizeof(msg))) {
				rt_diag_add(diag, &srcs[i], kind, names[i],
					    "pattern '%s' rejected by Hyperscan: %s", patterns[i], msg);
				bad++;
			}
		}
		if (!bad) {
			int e = cerr ? cerr->expression : -1;
			rt_diag_add(diag, e >= 0 ? &srcs[e] : NULL, kind, e >= 0 ? names[e] : NULL,
				    "Hyperscan could not compile the pattern set: %s",
				    cerr ? cerr->message : "unknown error");
		}
		hs_free_compile_error(cerr);
		m->db = NULL;
		rc = -EINVAL;
		goto out;
	}
	hs_database_size(m->db, &m->db_size);
	rc = 0;
out:
	free(flags);
	free(ids);
	return rc;
}

void rt_matcher_free(struct rt_matcher *m)
{
	if (m->db)
		hs_free_database(m->db);
	m->db = NULL;
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
	if (!m->db)
		return 0;
	struct scan_ctx c = {fn, ctx};
	hs_error_t e = hs_scan(m->db, s, (unsigned)len, 0, scratch, on_match, &c);
	return e == HS_SUCCESS || e == HS_SCAN_TERMINATED ? 0 : -EIO;
}
