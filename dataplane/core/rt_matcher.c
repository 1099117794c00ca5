#include "rt_matcher.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_hscache.h"

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

/* ---- literal prefixes of the Hyperscan patterns ---------------------------- */

/*
 * The literal every match of one top-level branch [p, end) starts with:
 * '^', then '\+' (first only, as the trie wants) and digits. A character a
 * quantifier follows may be absent or repeated, so it and everything after
 * are left out. False when the branch does not start with '^'.
 */
static bool branch_prefix(const char *p, const char *end, struct rt_lowered *o)
{
	if (p == end || *p != '^')
		return false;
	p++;
	memset(o, 0, sizeof(*o));
	while (p < end && o->len < RT_LIT_MAX) {
		char c;
		const char *next;
		if (p + 1 < end && p[0] == '\\' && p[1] == '+' && o->len == 0) {
			c = '+';
			next = p + 2;
		} else if (*p >= '0' && *p <= '9') {
			c = *p;
			next = p + 1;
		} else {
			break;
		}
		if (next < end && (*next == '?' || *next == '*' || *next == '+' || *next == '{'))
			break;
		o->lit[o->len++] = c;
		p = next;
	}
	o->lit[o->len] = '\0';
	o->tail = RT_TAIL_OPEN;
	o->min = 0;
	o->max = RT_REP_INF;
	return true;
}

/*
 * Split a pattern at its top-level '|' and take each branch's prefix. False
 * (no filter possible) for a branch without one, or for syntax this scan
 * does not follow: quoting (\Q...\E), comments, a leading option other than
 * (?i) (which cannot change how digits and '+' match).
 */
static bool pattern_prefixes(const char *pat, struct rt_lowered *out, uint32_t cap, uint32_t *n)
{
	*n = 0;
	if (!strncmp(pat, "(?i)", 4))
		pat += 4;
	if (strstr(pat, "\\Q") || strstr(pat, "(?#"))
		return false;
	const char *start = pat, *p = pat;
	int depth = 0;
	for (;; p++) {
		if (*p == '\\' && p[1]) {
			p++;
			continue;
		}
		if (*p == '[') {
			/* A class: ']' right after '[' or '[^' is a member. */
			p++;
			if (*p == '^')
				p++;
			if (*p == ']')
				p++;
			while (*p && *p != ']') {
				if (*p == '\\' && p[1])
					p++;
				p++;
			}
			if (!*p)
				return false;
			continue;
		}
		if (*p == '(')
			depth++;
		else if (*p == ')')
			depth--;
		if (*p == '\0' || (*p == '|' && depth == 0)) {
			if (*n >= cap || !branch_prefix(start, p, &out[*n]))
				return false;
			(*n)++;
			if (!*p)
				return true;
			start = p + 1;
		}
	}
}

static int first_hit(unsigned id, void *p)
{
	*(bool *)p = true;
	return 1;
}

/* Could a Hyperscan pattern match s at all? */
static bool hs_may_match(const struct rt_matcher *m, const char *s, size_t len)
{
	if (!m->hs_filter)
		return true;
	bool hit = false;
	rt_trie_match(&m->hs_prefix, s, len, first_hit, &hit);
	return hit;
}

/* ---- build ------------------------------------------------------------------ */

static struct rt_trie *group_trie(const struct rt_matcher *m, uint32_t g)
{
	return g ? &m->more[g - 1] : (struct rt_trie *)&m->trie;
}

int rt_matcher_build(struct rt_matcher *m, const char *const *patterns, uint32_t n,
		     const struct rt_src *srcs, const char *kind, const char *const *names,
		     struct rt_diag *diag)
{
	return rt_matcher_build_groups(m, patterns, n, &n, 1, srcs, kind, names, diag);
}

int rt_matcher_build_groups(struct rt_matcher *m, const char *const *patterns, uint32_t n,
			    const uint32_t *group_end, uint32_t n_groups, const struct rt_src *srcs,
			    const char *kind, const char *const *names, struct rt_diag *diag)
{
	memset(m, 0, sizeof(*m));
	m->n = n;
	if (n == 0)
		return 0;
	if (n_groups == 0 || group_end[n_groups - 1] != n)
		return -EINVAL;

	int rc = -ENOMEM;
	struct rt_trie_builder tb, pb;
	rt_trie_builder_init(&tb);
	rt_trie_builder_init(&pb);
	const char **hs_pats = malloc(n * sizeof(*hs_pats));
	unsigned *flags = malloc(n * sizeof(*flags));
	unsigned *ids = malloc(n * sizeof(*ids));
	struct rt_lowered *alts = malloc(RT_CLASSIFY_MAX_ALTS * sizeof(*alts));
	m->n_groups = n_groups;
	m->group_end = malloc(n_groups * sizeof(*m->group_end));
	m->has_hs = calloc(n_groups, 1);
	m->more = n_groups > 1 ? calloc(n_groups - 1, sizeof(*m->more)) : NULL;
	if (!hs_pats || !flags || !ids || !alts || !m->group_end || !m->has_hs ||
	    (n_groups > 1 && !m->more))
		goto out;
	memcpy(m->group_end, group_end, n_groups * sizeof(*group_end));

	/* Lowered patterns go to their group's trie, keeping their ids;
	 * Hyperscan gets the rest, under the same ids, so a match means the
	 * same thing from either side. */
	uint32_t nh = 0;
	bool filter = true;
	for (uint32_t g = 0, i = 0; g < n_groups; g++) {
		for (; i < group_end[g]; i++) {
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
			m->has_hs[g] = 1;
			if (filter && pattern_prefixes(patterns[i], alts, RT_CLASSIFY_MAX_ALTS, &na)) {
				if (rt_trie_builder_add(&pb, i, alts, na))
					goto out;
			} else {
				filter = false;
			}
		}
		if (rt_trie_build(group_trie(m, g), &tb))
			goto out;
		rt_trie_builder_free(&tb);
	}
	if (nh && filter) {
		if (rt_trie_build(&m->hs_prefix, &pb))
			goto out;
		m->hs_filter = true;
	}

	hs_compile_error_t *cerr = NULL;
	/* Through the on-disk cache when one is set (rt_hscache.h): a pattern
	 * set compiled before is deserialised, else compiled and stored. */
	if (nh && rt_hscache_compile_multi(hs_pats, flags, ids, nh, HS_MODE_BLOCK, NULL, &m->db,
					   &cerr) != HS_SUCCESS) {
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
		rt_matcher_free(m);
	rt_trie_builder_free(&tb);
	rt_trie_builder_free(&pb);
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
	for (uint32_t g = 1; m->more && g < m->n_groups; g++)
		rt_trie_free(&m->more[g - 1]);
	free(m->more);
	free(m->group_end);
	free(m->has_hs);
	rt_trie_free(&m->hs_prefix);
	m->more = NULL;
	m->group_end = NULL;
	m->has_hs = NULL;
	m->n_groups = 0;
	m->hs_filter = false;
}

size_t rt_matcher_memory(const struct rt_matcher *m)
{
	size_t sz = m->db_size + rt_trie_memory(&m->hs_prefix);
	for (uint32_t g = 0; g < m->n_groups; g++)
		sz += rt_trie_memory(group_trie(m, g));
	return sz;
}

int rt_matcher_ready(const struct rt_matcher *m, hs_scratch_t **scratch)
{
	if (!m->db)
		return 0;
	return hs_alloc_scratch(m->db, scratch) == HS_SUCCESS ? 0 : -ENOMEM;
}

/* ---- match ------------------------------------------------------------------ */

struct scan_ctx {
	rt_match_fn fn;
	void *ctx;
	uint32_t lo, hi; /* ids reported */
};

static int on_match(unsigned id, unsigned long long from, unsigned long long to,
		    unsigned flags, void *p)
{
	struct scan_ctx *c = p;
	if (id < c->lo || id >= c->hi)
		return 0;
	return c->fn(id, c->ctx);
}

static int scan_hs(const struct rt_matcher *m, const char *s, size_t len, hs_scratch_t *scratch,
		   struct scan_ctx *c)
{
	if (!hs_may_match(m, s, len))
		return 0;
	hs_error_t e = hs_scan(m->db, s, (unsigned)len, 0, scratch, on_match, c);
	return e == HS_SUCCESS || e == HS_SCAN_TERMINATED ? 0 : -EIO;
}

int rt_matcher_scan(const struct rt_matcher *m, const char *s, size_t len,
		    hs_scratch_t *scratch, rt_match_fn fn, void *ctx)
{
	for (uint32_t g = 0; g < m->n_groups; g++)
		if (rt_trie_match(group_trie(m, g), s, len, fn, ctx))
			return 0; /* stopped by fn */
	if (!m->db)
		return 0;
	struct scan_ctx c = {fn, ctx, 0, m->n};
	return scan_hs(m, s, len, scratch, &c);
}

int rt_matcher_scan_group(const struct rt_matcher *m, uint32_t g, const char *s, size_t len,
			  hs_scratch_t *scratch, rt_match_fn fn, void *ctx)
{
	if (g >= m->n_groups)
		return 0;
	if (rt_trie_match(group_trie(m, g), s, len, fn, ctx))
		return 0;
	if (!m->db || !m->has_hs[g])
		return 0;
	struct scan_ctx c = {fn, ctx, g ? m->group_end[g - 1] : 0, m->group_end[g]};
	return scan_hs(m, s, len, scratch, &c);
}

struct append {
	uint32_t *ids;
	uint32_t n, cap;
};

static int append_id(unsigned id, void *p)
{
	struct append *a = p;
	if (a->n < a->cap)
		a->ids[a->n] = id;
	a->n++;
	return 0;
}

void rt_matcher_probe_start(const struct rt_matcher *m, const char *s, size_t len,
			    struct rt_matcher_probe *p)
{
	p->s = s;
	p->len = len;
	rt_trie_probe_start(&m->trie, s, len, &p->tp);
}

void rt_matcher_probe_tags(const struct rt_matcher *m, struct rt_matcher_probe *p)
{
	rt_trie_probe_tags(&m->trie, &p->tp);
}

int rt_matcher_probe_collect(const struct rt_matcher *m, struct rt_matcher_probe *p,
			     hs_scratch_t *scratch, uint32_t *ids, uint32_t cap, uint32_t *n)
{
	struct append a = {ids, 0, cap};
	a.n = rt_trie_probe_collect(&m->trie, &p->tp, ids, 0, cap);
	for (uint32_t g = 1; g < m->n_groups; g++)
		a.n = rt_trie_collect(group_trie(m, g), p->s, p->len, ids, a.n, cap);
	int rc = 0;
	if (m->db) {
		struct scan_ctx c = {append_id, &a, 0, m->n};
		rc = scan_hs(m, p->s, p->len, scratch, &c);
	}
	*n = a.n;
	return rc;
}

int rt_matcher_collect(const struct rt_matcher *m, const char *s, size_t len,
		       hs_scratch_t *scratch, uint32_t *ids, uint32_t cap, uint32_t *n)
{
	struct rt_matcher_probe p;
	rt_matcher_probe_start(m, s, len, &p);
	rt_matcher_probe_tags(m, &p);
	return rt_matcher_probe_collect(m, &p, scratch, ids, cap, n);
}
