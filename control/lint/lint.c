/*
 * lint: see lint.h.
 */
#include "lint.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_decide.h"

const char *lint_severity_name(enum lint_severity s)
{
	switch (s) {
	case LINT_INFO:
		return "info";
	case LINT_WARNING:
		return "warning";
	case LINT_ERROR:
		return "error";
	}
	return "?";
}

/* ---- the model ----------------------------------------------------------------------- */

static void pattern_build(struct lint_pattern *p, const char *text)
{
	struct lx_nfa nfa;
	memset(p, 0, sizeof(*p));
	p->text = text ? text : "";
	p->st = lx_compile(p->text, strlen(p->text), LX_NFA_MAX_DEFAULT, &nfa, p->why,
			   sizeof(p->why));
	/* The config compiled, so PCRE2 took the pattern: if our parser does not,
	 * it is outside the subset, whatever the parser calls it. */
	if (p->st == LX_SYNTAX)
		p->st = LX_UNSUPPORTED;
	if (p->st == LX_OK) {
		p->other_partial = nfa.other_partial;
		p->empty_any = lx_nfa_empty_match(&nfa, true, false) ||
			       lx_nfa_empty_match(&nfa, false, true);
		p->st = lx_dfa_build(&nfa, LX_DFA_MAX_DEFAULT, &p->dfa);
		if (p->st != LX_OK)
			snprintf(p->why, sizeof(p->why), "more than %u deterministic states",
				 LX_DFA_MAX_DEFAULT);
	}
	lx_nfa_free(&nfa);
}

static void pattern_free(struct lint_pattern *p)
{
	lx_dfa_free(&p->dfa);
}

static int index_names(struct rt_index *ix, struct rt_arena *a, size_t n, const char *(*name)(
							 const struct rt_config *, size_t),
		       const struct rt_config *cfg)
{
	if (rt_index_init(ix, a, n ? n : 1))
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		uint32_t old;
		const char *s = name(cfg, i);
		if (s)
			(void)rt_index_put(ix, s, (uint32_t)i, &old); /* duplicates: first wins */
	}
	return 0;
}

static const char *usage_name(const struct rt_config *c, size_t i) { return c->usages[i].name; }
static const char *trunk_name(const struct rt_config *c, size_t i) { return c->trunks[i].name; }
static const char *gw_name(const struct rt_config *c, size_t i) { return c->gateways[i].name; }
static const char *route_name(const struct rt_config *c, size_t i) { return c->routes[i].name; }
static const char *policy_name(const struct rt_config *c, size_t i) { return c->policies[i].name; }

static int route_cmp(const void *x, const void *y, void *arg)
{
	const struct rt_config *c = arg;
	uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
	if (c->routes[a].priority != c->routes[b].priority)
		return c->routes[a].priority < c->routes[b].priority ? -1 : 1;
	return a < b ? -1 : a > b;
}

static long lookup(const struct rt_index *ix, const char *name)
{
	return name ? rt_index_get(ix, name, (size_t)-1) : -1;
}

static bool route_carries(const struct lint_model *m, uint32_t r, uint32_t u)
{
	for (uint32_t i = 0; i < m->n_route_usages[r]; i++)
		if (m->route_usages[r][i] == u)
			return true;
	return false;
}

int lint_model_build(struct lint_model *m, const struct rt_config *cfg,
		     const struct rt_snapshot *snap)
{
	const size_t nr = cfg->n_routes, np = cfg->n_policies;
	struct rt_arena *a;
	char why[160];

	memset(m, 0, sizeof(*m));
	m->cfg = cfg;
	m->snap = snap;
	if (!(a = m->arena = rt_arena_new()))
		return -ENOMEM;
	if (index_names(&m->usage_ix, a, cfg->n_usages, usage_name, cfg) ||
	    index_names(&m->trunk_ix, a, cfg->n_trunks, trunk_name, cfg) ||
	    index_names(&m->gw_ix, a, cfg->n_gateways, gw_name, cfg) ||
	    index_names(&m->route_ix, a, nr, route_name, cfg) ||
	    index_names(&m->policy_ix, a, np, policy_name, cfg))
		return -ENOMEM;

	m->route = calloc(nr + 1, sizeof(*m->route));
	m->order = rt_arena_calloc(a, nr + 1, sizeof(*m->order));
	m->route_usages = rt_arena_calloc(a, nr + 1, sizeof(*m->route_usages));
	m->n_route_usages = rt_arena_calloc(a, nr + 1, sizeof(*m->n_route_usages));
	m->route_gws = rt_arena_calloc(a, nr + 1, sizeof(*m->route_gws));
	m->n_route_gws = rt_arena_calloc(a, nr + 1, sizeof(*m->n_route_gws));
	m->pol_usages = rt_arena_calloc(a, np + 1, sizeof(*m->pol_usages));
	m->n_pol_usages = rt_arena_calloc(a, np + 1, sizeof(*m->n_pol_usages));
	m->walk = rt_arena_calloc(a, np + 1, sizeof(*m->walk));
	m->n_walk = rt_arena_calloc(a, np + 1, sizeof(*m->n_walk));
	m->first_step = rt_arena_calloc(a, np + 1, sizeof(*m->first_step));
	if (!m->route || !m->order || !m->route_usages || !m->n_route_usages || !m->route_gws ||
	    !m->n_route_gws || !m->pol_usages || !m->n_pol_usages || !m->walk || !m->n_walk ||
	    !m->first_step)
		return -ENOMEM;

	for (size_t r = 0; r < nr; r++) {
		const struct rt_cfg_route *rt = &cfg->routes[r];
		pattern_build(&m->route[r], rt->pattern);
		m->order[r] = (uint32_t)r;
		uint32_t *us = rt_arena_calloc(a, rt->n_usages + 1, sizeof(*us));
		uint32_t *gs = rt_arena_calloc(a, rt->n_trunks + 1, sizeof(*gs));
		if (!us || !gs)
			return -ENOMEM;
		for (size_t i = 0; i < rt->n_usages; i++) {
			long u = lookup(&m->usage_ix, rt->usages[i]);
			if (u >= 0)
				us[m->n_route_usages[r]++] = (uint32_t)u;
		}
		for (size_t i = 0; i < rt->n_trunks; i++) {
			long t = lookup(&m->trunk_ix, rt->trunks[i]);
			long g = t >= 0 ? lookup(&m->gw_ix, cfg->trunks[t].gateway) : -1;
			bool dup = false;
			for (uint32_t k = 0; g >= 0 && k < m->n_route_gws[r]; k++)
				dup |= gs[k] == (uint32_t)g;
			if (g >= 0 && !dup)
				gs[m->n_route_gws[r]++] = (uint32_t)g;
		}
		m->route_usages[r] = us;
		m->route_gws[r] = gs;
	}
	qsort_r(m->order, nr, sizeof(*m->order), route_cmp, (void *)cfg);

	for (size_t p = 0; p < np; p++) {
		const struct rt_cfg_policy *pol = &cfg->policies[p];
		uint32_t *us = rt_arena_calloc(a, pol->n_usages + 1, sizeof(*us));
		int32_t *first = rt_arena_calloc(a, nr + 1, sizeof(*first));
		if (!us || !first)
			return -ENOMEM;
		for (size_t i = 0; i < pol->n_usages; i++) {
			long u = lookup(&m->usage_ix, pol->usages[i]);
			if (u >= 0)
				us[m->n_pol_usages[p]++] = (uint32_t)u;
		}
		m->pol_usages[p] = us;
		size_t steps = 0;
		for (uint32_t i = 0; i < m->n_pol_usages[p]; i++)
			for (size_t k = 0; k < nr; k++)
				steps += route_carries(m, m->order[k], us[i]);
		struct lint_step *w = rt_arena_calloc(a, steps + 1, sizeof(*w));
		if (!w)
			return -ENOMEM;
		for (size_t r = 0; r < nr; r++)
			first[r] = -1;
		uint32_t n = 0;
		for (uint32_t i = 0; i < m->n_pol_usages[p]; i++)
			for (size_t k = 0; k < nr; k++) {
				uint32_t r = m->order[k];
				if (!route_carries(m, r, us[i]))
					continue;
				if (first[r] < 0)
					first[r] = (int32_t)n;
				w[n++] = (struct lint_step){.route = r, .upos = i};
			}
		m->walk[p] = w;
		m->n_walk[p] = n;
		m->first_step[p] = first;
	}

	if (lx_dfa_from_pattern(LX_UNIVERSE_E164, LX_DFA_MAX_DEFAULT, &m->u_e164, NULL, why,
				sizeof(why)) ||
	    lx_dfa_from_pattern(LX_UNIVERSE_PLAUSIBLE, LX_DFA_MAX_DEFAULT, &m->u_plausible, NULL,
				why, sizeof(why)) ||
	    lx_dfa_from_pattern(LX_UNIVERSE_DIAL, LX_DFA_MAX_DEFAULT, &m->u_dial, NULL, why,
				sizeof(why)))
		return -ENOMEM;
	return 0;
}

void lint_model_free(struct lint_model *m)
{
	if (m->route)
		for (size_t r = 0; r < m->cfg->n_routes; r++)
			pattern_free(&m->route[r]);
	free(m->route);
	lx_dfa_free(&m->u_e164);
	lx_dfa_free(&m->u_plausible);
	lx_dfa_free(&m->u_dial);
	rt_arena_free(m->arena);
	memset(m, 0, sizeof(*m));
}

bool lint_route_gws_equal(const struct lint_model *m, uint32_t r, uint32_t q)
{
	if (m->n_route_gws[r] != m->n_route_gws[q])
		return false;
	for (uint32_t i = 0; i < m->n_route_gws[r]; i++) {
		bool found = false;
		for (uint32_t k = 0; k < m->n_route_gws[q]; k++)
			found |= m->route_gws[r][i] == m->route_gws[q][k];
		if (!found)
			return false;
	}
	return true;
}

static bool route_has_gw(const struct lint_model *m, uint32_t r, uint32_t g)
{
	for (uint32_t i = 0; i < m->n_route_gws[r]; i++)
		if (m->route_gws[r][i] == g)
			return true;
	return false;
}

/* ---- regions ------------------------------------------------------------------------- */

int lint_route_regions(const struct lx_dfa *u_e164, const struct lx_dfa *u_plausible,
		       const struct lx_dfa *const *routes, size_t n, uint64_t max_states,
		       struct lx_regions *out)
{
	const struct lx_dfa **d = malloc((n + 1) * sizeof(*d));
	struct lx_regions nice = {0};
	int rc = -ENOMEM;
	memset(out, 0, sizeof(*out));
	if (!d)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		d[i + 1] = routes[i];
	d[0] = u_e164;
	rc = lx_regions(d, n + 1, max_states, out);
	if (rc && rc != -E2BIG)
		goto done;
	d[0] = u_plausible;
	if (lx_regions(d, n + 1, max_states, &nice) == -ENOMEM) {
		rc = -ENOMEM;
		goto done;
	}
	/* Prefer plausible examples; keep the short ones after them. */
	for (size_t i = 0; i < out->n; i++) {
		struct lx_region *r = &out->v[i];
		for (size_t k = 0; k < nice.n; k++) {
			if (memcmp(r->sig, nice.v[k].sig, out->sig_words * sizeof(uint64_t)))
				continue;
			char *wit[LX_REGION_WIT];
			uint32_t nw = 0;
			for (uint32_t w = 0; w < nice.v[k].n_wit && nw < LX_REGION_WIT; w++) {
				wit[nw++] = nice.v[k].wit[w];
				nice.v[k].wit[w] = NULL;
			}
			for (uint32_t w = 0; w < r->n_wit; w++) {
				if (nw < LX_REGION_WIT)
					wit[nw++] = r->wit[w];
				else
					free(r->wit[w]);
			}
			memcpy(r->wit, wit, nw * sizeof(*wit));
			r->n_wit = nw;
			break;
		}
	}
done:
	lx_regions_free(&nice);
	free(d);
	return rc;
}

/* ---- findings ------------------------------------------------------------------------ */

struct ctx {
	const struct lint_model *m;
	struct lint_report *r;
	uint64_t max_states, budget;
	bool budget_hit;
	int8_t *route_live; /* per route: 1 matches some E.164 number, 0 none, -1 unknown */
	/* evidence: sample numbers and which routes the real matcher says match */
	bool ev_built;
	char **cand;
	size_t n_cand;
	uint64_t *cand_match; /* n_cand * ev_words */
	size_t ev_words;
};

__attribute__((format(printf, 8, 9))) static struct lint_finding *
add(struct ctx *c, enum lint_severity sev, const char *kind, const char *okind, const char *oname,
    const struct rt_src *src, const char *proof, const char *fmt, ...)
{
	struct lint_report *r = c->r;
	if (r->n == r->cap) {
		size_t nc = r->cap ? r->cap * 2 : 32;
		struct lint_finding *nv = realloc(r->v, nc * sizeof(*nv));
		if (!nv) {
			r->nomem = true;
			return NULL;
		}
		r->v = nv;
		r->cap = nc;
	}
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	struct lint_finding *f = &r->v[r->n];
	*f = (struct lint_finding){
		.sev = sev,
		.kind = kind,
		.object_kind = okind,
		.object = oname ? strdup(oname) : NULL,
		.file = src ? src->file : NULL,
		.line = src ? src->line : 0,
		.message = strdup(msg),
		.proof = proof,
		.seq = (uint32_t)r->n,
	};
	if (!f->message || (oname && !f->object)) {
		free(f->message);
		free(f->object);
		r->nomem = true;
		return NULL;
	}
	r->n++;
	r->count[sev]++;
	return f;
}

static void wit(struct lint_finding *f, const char *w)
{
	if (f && w && f->n_witness < LINT_MAX_WIT) {
		char *s = strdup(w);
		if (s)
			f->witness[f->n_witness++] = s;
	}
}

void lint_report_free(struct lint_report *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].object);
		free(r->v[i].message);
		for (uint32_t w = 0; w < r->v[i].n_witness; w++)
			free(r->v[i].witness[w]);
	}
	free(r->v);
	memset(r, 0, sizeof(*r));
}

/* A search within the limits; -E2BIG when they stop it. */
static int search(struct ctx *c, const struct lx_dfa *const *d, const uint8_t *req, size_t k,
		  char **w)
{
	uint64_t e = 0;
	*w = NULL;
	if (c->r->explored >= c->budget) {
		c->budget_hit = true;
		c->r->undecided++;
		return -E2BIG;
	}
	int rc = lx_find(d, req, k, c->max_states, w, &e);
	c->r->explored += e;
	if (rc == -E2BIG)
		c->r->undecided++;
	if (rc == -ENOMEM)
		c->r->nomem = true;
	return rc;
}

/* d[0] is the E.164 universe: look for a plausible-looking witness first. */
static int search_example(struct ctx *c, const struct lx_dfa **d, const uint8_t *req, size_t k,
			  char **w)
{
	const struct lx_dfa *u = d[0];
	d[0] = &c->m->u_plausible;
	int rc = search(c, d, req, k, w);
	d[0] = u;
	if (rc == 1)
		return 1;
	if (rc == -E2BIG)
		c->r->undecided--; /* the full search below decides */
	return search(c, d, req, k, w);
}

/* Two or three automata: does everything required hold for some number? */
static int find2(struct ctx *c, const struct lx_dfa *u, const struct lx_dfa *a, uint8_t ra,
		 const struct lx_dfa *b, uint8_t rb, char **w)
{
	const struct lx_dfa *d[3] = {u, a, b};
	uint8_t req[3] = {LX_ACCEPT, ra, rb};
	size_t k = b ? 3 : 2;
	if (u == &c->m->u_e164)
		return search_example(c, d, req, k, w);
	return search(c, d, req, k, w);
}

static const char *rname(const struct ctx *c, uint32_t r)
{
	return c->m->cfg->routes[r].name ? c->m->cfg->routes[r].name : "";
}

static const char *gname(const struct ctx *c, uint32_t g)
{
	return c->m->cfg->gateways[g].name ? c->m->cfg->gateways[g].name : "";
}

/* "'A', 'B' and 3 more" into buf. */
struct names {
	char buf[512];
	size_t len, n, shown;
};

static void names_add(struct names *nm, const char *s)
{
	nm->n++;
	if (nm->shown >= 4 || nm->len + strlen(s) + 8 >= sizeof(nm->buf))
		return;
	nm->len += (size_t)snprintf(nm->buf + nm->len, sizeof(nm->buf) - nm->len, "%s'%s'",
				    nm->shown ? ", " : "", s);
	nm->shown++;
}

static const char *names_str(struct names *nm)
{
	if (nm->n > nm->shown && nm->len + 20 < sizeof(nm->buf))
		snprintf(nm->buf + nm->len, sizeof(nm->buf) - nm->len, " and %zu more",
			 nm->n - nm->shown);
	return nm->buf;
}

/* ---- evidence: sample numbers through the config's real matcher ---------------------- */

static int cand_cmp(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

struct strvec {
	char **v;
	size_t n, cap;
	bool nomem;
};

static void sv_add(struct strvec *sv, const char *s, size_t len)
{
	if (sv->n == sv->cap) {
		size_t nc = sv->cap ? sv->cap * 2 : 256;
		char **nv = realloc(sv->v, nc * sizeof(*nv));
		if (!nv) {
			sv->nomem = true;
			return;
		}
		sv->v = nv;
		sv->cap = nc;
	}
	char *d = strndup(s, len);
	if (!d)
		sv->nomem = true;
	else
		sv->v[sv->n++] = d;
}

/* The literal start of a pattern: "^\+1(425..." -> "+1". */
static void literal_prefix(const char *p, char *out, size_t len)
{
	size_t n = 0;
	if (*p == '^')
		p++;
	else if (p[0] == '\\' && p[1] == 'A')
		p += 2;
	while (*p && n + 1 < len) {
		if (*p >= '0' && *p <= '9' && p[1] != '?' && p[1] != '*' && p[1] != '{') {
			out[n++] = *p++;
		} else if (p[0] == '\\' && p[1] == '+' && p[2] != '?' && p[2] != '*') {
			out[n++] = '+';
			p += 2;
		} else {
			break;
		}
	}
	out[n] = '\0';
}

void lint_samples_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int lint_sample_numbers(const struct lint_model *m, uint64_t max_states, char ***out, size_t *n_out)
{
	struct strvec pfx = {0}, sv = {0};
	char buf[64], num[40];
	size_t nr = m->cfg->n_routes;

	*out = NULL;
	*n_out = 0;
	sv_add(&pfx, "", 0);
	sv_add(&pfx, "+", 1);
	for (size_t r = 0; r < nr; r++) {
		const char *pat = m->cfg->routes[r].pattern ? m->cfg->routes[r].pattern : "";
		literal_prefix(pat, buf, sizeof(buf));
		sv_add(&pfx, buf, strlen(buf));
		if (m->route[r].st == LX_OK) {
			const struct lx_dfa *d[2] = {&m->u_e164, &m->route[r].dfa};
			uint8_t req[2] = {LX_ACCEPT, LX_ACCEPT};
			char *w = NULL;
			if (lx_find(d, req, 2, max_states, &w, NULL) == 1)
				sv_add(&pfx, w, strlen(w));
			free(w);
		}
	}
	for (size_t i = 0; i < pfx.n; i++) {
		size_t pl = strlen(pfx.v[i]);
		if (pl > 16)
			continue;
		for (size_t len = pl ? pl : 1; len <= 16; len++)
			for (int f = 0; f < 3; f++) {
				if (len == pl && f > 0)
					continue;
				memcpy(num, pfx.v[i], pl);
				memset(num + pl, "059"[f], len - pl);
				sv_add(&sv, num, len);
			}
	}
	lint_samples_free(pfx.v, pfx.n);
	/* Sorted, distinct. */
	if (sv.n > 1)
		qsort(sv.v, sv.n, sizeof(*sv.v), cand_cmp);
	size_t k = 0;
	for (size_t i = 0; i < sv.n; i++) {
		if (k && !strcmp(sv.v[k - 1], sv.v[i]))
			free(sv.v[i]);
		else
			sv.v[k++] = sv.v[i];
	}
	sv.n = k;
	if (pfx.nomem || sv.nomem) {
		lint_samples_free(sv.v, sv.n);
		return -ENOMEM;
	}
	*out = sv.v;
	*n_out = sv.n;
	return 0;
}

static void evidence_build(struct ctx *c)
{
	const struct lint_model *m = c->m;
	size_t nr = m->cfg->n_routes;
	struct rt_scratch *sc = NULL;
	uint32_t *ids = NULL;
	int32_t *to_cfg = NULL;

	c->ev_built = true;
	if (!m->snap || lint_sample_numbers(m, c->max_states, &c->cand, &c->n_cand))
		return;
	c->ev_words = (nr + 63) / 64 ? (nr + 63) / 64 : 1;
	c->cand_match = calloc(c->n_cand * c->ev_words + 1, sizeof(uint64_t));
	sc = rt_scratch_new(m->snap);
	size_t ns = rt_snapshot_route_count(m->snap);
	ids = malloc((ns + 1) * sizeof(*ids));
	to_cfg = malloc((ns + 1) * sizeof(*to_cfg));
	if (!c->cand_match || !sc || !ids || !to_cfg) {
		free(c->cand_match);
		c->cand_match = NULL;
		goto out;
	}
	for (size_t s = 0; s < ns; s++)
		to_cfg[s] = (int32_t)lookup(&m->route_ix, rt_snapshot_route_name(m->snap, s));
	for (size_t i = 0; i < c->n_cand; i++) {
		long n = rt_match_routes(m->snap, sc, c->cand[i], strlen(c->cand[i]), ids,
					 (uint32_t)ns);
		for (long x = 0; x < n && x < (long)ns; x++) {
			int32_t r = to_cfg[ids[x]];
			if (r >= 0)
				c->cand_match[i * c->ev_words + (size_t)r / 64] |= 1ull << (r % 64);
		}
	}
out:
	free(to_cfg);
	free(ids);
	if (sc)
		rt_scratch_free(sc);
}

static bool ev_match(const struct ctx *c, size_t i, uint32_t r)
{
	return c->cand_match[i * c->ev_words + r / 64] >> (r % 64) & 1;
}

/* The first sample number matched by route a (and by b when b_req is 1, not
 * by b when 0; b ignored when b_req < 0). NULL when none. */
static const char *ev_find(struct ctx *c, uint32_t a, long b, int b_req)
{
	if (!c->ev_built)
		evidence_build(c);
	if (!c->cand_match)
		return NULL;
	for (size_t i = 0; i < c->n_cand; i++) {
		if (!ev_match(c, i, a))
			continue;
		if (b_req >= 0 && ev_match(c, i, (uint32_t)b) != (b_req == 1))
			continue;
		return c->cand[i];
	}
	return NULL;
}

static void evidence_free(struct ctx *c)
{
	lint_samples_free(c->cand, c->n_cand);
	free(c->cand_match);
}

/* ---- checks: patterns ---------------------------------------------------------------- */

static const char *const E164_TEXT = "\\+?[0-9]{1,15}";

static void check_route_patterns(struct ctx *c)
{
	const struct lint_model *m = c->m;
	for (uint32_t r = 0; r < m->cfg->n_routes; r++) {
		const struct rt_cfg_route *rt = &m->cfg->routes[r];
		const struct lint_pattern *p = &m->route[r];
		struct lint_finding *f;
		char *w = NULL;
		c->route_live[r] = -1;
		if (p->st != LX_OK) {
			const char *sample = ev_find(c, r, -1, -1);
			f = add(c, LINT_INFO, "pattern-not-analysable", "route", rt->name, &rt->src,
				sample ? "matcher" : NULL,
				"pattern '%s' is %s (%s): checks that must hold for every number "
				"leave it out; its overlaps are shown from sample numbers only (%s%s)",
				p->text, lx_status_name(p->st), p->why,
				sample ? "it matches e.g. " : "no sample number matches it",
				sample ? sample : "");
			wit(f, sample);
			if (sample)
				c->route_live[r] = 1;
			continue;
		}
		if (p->empty_any)
			add(c, LINT_WARNING, "pattern-matches-empty", "route", rt->name, &rt->src,
			    "automata",
			    "pattern '%s' can match the empty string at the start or end of a "
			    "number, so it matches every number (and any other string): anchor it, "
			    "e.g. '^\\+?\\d+$'", p->text);
		int rc = find2(c, &m->u_e164, &p->dfa, LX_ACCEPT, NULL, 0, &w);
		free(w);
		if (rc == 1) {
			c->route_live[r] = 1;
			continue;
		}
		if (rc < 0) {
			add(c, LINT_INFO, "not-decided", "route", rt->name, &rt->src, NULL,
			    "whether pattern '%s' matches any E.164 number was not decided (limit)",
			    p->text);
			continue;
		}
		c->route_live[r] = 0;
		if (p->other_partial) {
			add(c, LINT_WARNING, "pattern-no-number", "route", rt->name, &rt->src,
			    "automata", "pattern '%s' matches no E.164 number (%s): the route only "
			    "serves numbers a dial plan leaves in another form", p->text, E164_TEXT);
			continue;
		}
		rc = find2(c, &m->u_dial, &p->dfa, LX_ACCEPT, NULL, 0, &w);
		if (rc == 1) {
			f = add(c, LINT_WARNING, "pattern-no-number", "route", rt->name, &rt->src,
				"automata", "pattern '%s' matches no E.164 number (%s), only other "
				"strings such as '%s': the route only serves numbers a dial plan "
				"leaves in another form", p->text, E164_TEXT, w);
			wit(f, w);
		} else if (rc == 0) {
			add(c, LINT_ERROR, "pattern-matches-nothing", "route", rt->name, &rt->src,
			    "automata", "pattern '%s' matches nothing a number can hold (1..63 "
			    "printable bytes): the route is never used", p->text);
		}
		free(w);
	}
}

/* An ordered rule list (dial plan, assignments, trunk rules): each pattern,
 * then each rule against the rules before it. */
struct rule_item {
	const char *noun; /* what the earlier ones are called: "rule", "pattern" */
	const char *text;
	const struct rt_src *src;
	const char *okind;
	const char *oname;
	char label[160];
	struct lint_pattern pat;
	int8_t live; /* matches some dialled string: 1, 0, -1 unknown */
};

static void check_rule_list(struct ctx *c, struct rule_item *it, size_t n, const char *shadow_kind)
{
	const struct lint_model *m = c->m;
	for (size_t k = 0; k < n; k++) {
		struct rule_item *x = &it[k];
		char *w = NULL;
		pattern_build(&x->pat, x->text);
		x->live = -1;
		if (x->pat.st != LX_OK) {
			add(c, LINT_INFO, "pattern-not-analysable", x->okind, x->oname, x->src, NULL,
			    "%s is %s (%s): shadowing checks leave it out", x->label,
			    lx_status_name(x->pat.st), x->pat.why);
			continue;
		}
		if (x->pat.empty_any)
			add(c, LINT_WARNING, "pattern-matches-empty", x->okind, x->oname, x->src,
			    "automata",
			    "%s can match the empty string at the start or end, so it matches "
			    "every string: every later rule is shadowed by it", x->label);
		/* Exact over dialled strings unless it names OTHER bytes one by one;
		 * then only E.164 numbers are exact. */
		const struct lx_dfa *u = x->pat.other_partial ? &m->u_e164 : &m->u_dial;
		int rc = find2(c, u, &x->pat.dfa, LX_ACCEPT, NULL, 0, &w);
		free(w);
		if (rc == 1)
			x->live = 1;
		else if (rc == 0 && !x->pat.other_partial) {
			x->live = 0;
			add(c, LINT_WARNING, "pattern-matches-nothing", x->okind, x->oname, x->src,
			    "automata", "%s matches nothing a number can hold (1..63 printable "
			    "bytes): it never applies", x->label);
		}
	}
	for (size_t k = 1; k < n; k++) {
		struct rule_item *x = &it[k];
		bool exact = x->live == 1 && !x->pat.other_partial;
		for (size_t j = 0; j < k && exact; j++)
			exact = it[j].pat.st == LX_OK && !it[j].pat.other_partial;
		if (!exact)
			continue;
		const struct lx_dfa **d = calloc(k + 2, sizeof(*d));
		uint8_t *req = calloc(k + 2, 1);
		if (!d || !req) {
			free(d);
			free(req);
			c->r->nomem = true;
			return;
		}
		d[0] = &m->u_dial;
		d[1] = &x->pat.dfa;
		req[0] = req[1] = LX_ACCEPT;
		for (size_t j = 0; j < k; j++) {
			d[j + 2] = &it[j].pat.dfa;
			req[j + 2] = LX_REJECT;
		}
		char *w = NULL;
		int rc = search(c, d, req, k + 2, &w);
		free(w);
		free(d);
		free(req);
		if (rc < 0) {
			if (!c->budget_hit)
				add(c, LINT_INFO, "not-decided", x->okind, x->oname, x->src, NULL,
				    "whether %s is shadowed by earlier rules was not decided (limit)",
				    x->label);
			continue;
		}
		if (rc == 1)
			continue;
		/* Shadowed: name the earlier rules it overlaps, show one string. */
		struct names nm = {0};
		char *example = NULL;
		for (size_t j = 0; j < k; j++) {
			if (it[j].live == 0)
				continue;
			if (find2(c, &m->u_dial, &x->pat.dfa, LX_ACCEPT, &it[j].pat.dfa, LX_ACCEPT,
				  &w) == 1) {
				names_add(&nm, it[j].text);
				if (!example)
					example = w;
				else
					free(w);
			} else {
				free(w);
			}
		}
		struct lint_finding *f =
			add(c, LINT_WARNING, shadow_kind, x->okind, x->oname, x->src, "automata",
			    "%s is shadowed: every string it matches is matched first by %s%s %s, so "
			    "it never applies (e.g. '%s')", x->label, x->noun, nm.n == 1 ? "" : "s",
			    names_str(&nm), example ? example : "?");
		wit(f, example);
		free(example);
	}
}

static void rule_items_free(struct rule_item *it, size_t n)
{
	for (size_t i = 0; i < n; i++)
		pattern_free(&it[i].pat);
	free(it);
}

static void check_rules(struct ctx *c)
{
	const struct rt_config *cfg = c->m->cfg;
	for (size_t d = 0; d < cfg->n_dial_plans; d++) {
		const struct rt_cfg_dial_plan *dp = &cfg->dial_plans[d];
		struct rule_item *it = calloc(dp->n_rules + 1, sizeof(*it));
		if (!it) {
			c->r->nomem = true;
			return;
		}
		for (size_t i = 0; i < dp->n_rules; i++) {
			it[i].text = dp->rules[i].match ? dp->rules[i].match : "";
			it[i].src = &dp->rules[i].src;
			it[i].okind = "dial plan";
			it[i].noun = "rule";
			it[i].oname = dp->name;
			snprintf(it[i].label, sizeof(it[i].label), "rule %zu ('%s')", i + 1,
				 it[i].text);
		}
		check_rule_list(c, it, dp->n_rules, "dial-rule-shadowed");
		rule_items_free(it, dp->n_rules);
	}

	struct rule_item *it = calloc(cfg->n_assignments + 1, sizeof(*it));
	if (!it) {
		c->r->nomem = true;
		return;
	}
	for (size_t i = 0; i < cfg->n_assignments; i++) {
		const struct rt_cfg_assignment *a = &cfg->assignments[i];
		it[i].text = a->pattern ? a->pattern : "";
		it[i].src = &a->src;
		it[i].okind = "assignment";
		it[i].noun = "calling pattern";
		it[i].oname = it[i].text;
		snprintf(it[i].label, sizeof(it[i].label), "calling pattern '%s' (policy '%s')",
			 it[i].text, a->policy ? a->policy : "");
	}
	check_rule_list(c, it, cfg->n_assignments, "assignment-shadowed");
	rule_items_free(it, cfg->n_assignments);

	for (size_t t = 0; t < cfg->n_trunks; t++) {
		const struct rt_cfg_trunk *tr = &cfg->trunks[t];
		for (int side = 0; side < 2; side++) {
			const struct rt_cfg_rule *rules = side ? tr->calling : tr->called;
			size_t n = side ? tr->n_calling : tr->n_called;
			it = calloc(n + 1, sizeof(*it));
			if (!it) {
				c->r->nomem = true;
				return;
			}
			for (size_t i = 0; i < n; i++) {
				it[i].text = rules[i].match ? rules[i].match : "";
				it[i].src = &rules[i].src;
				it[i].okind = "trunk";
				it[i].noun = "rule";
				it[i].oname = tr->name;
				snprintf(it[i].label, sizeof(it[i].label), "%s rule %zu ('%s')",
					 side ? "calling" : "called", i + 1, it[i].text);
			}
			check_rule_list(c, it, n, "trunk-rule-shadowed");
			rule_items_free(it, n);
		}
	}
}

/* ---- checks: references ------------------------------------------------------------- */

static void check_references(struct ctx *c)
{
	const struct lint_model *m = c->m;
	const struct rt_config *cfg = m->cfg;
	size_t nu = cfg->n_usages, nr = cfg->n_routes, nt = cfg->n_trunks, ng = cfg->n_gateways;
	uint8_t *carried = calloc(nu + 1, 1), *listed = calloc(nu + 1, 1);
	uint8_t *trunk_used = calloc(nt + 1, 1);
	if (!carried || !listed || !trunk_used) {
		c->r->nomem = true;
		goto out;
	}
	for (size_t r = 0; r < nr; r++)
		for (uint32_t i = 0; i < m->n_route_usages[r]; i++)
			carried[m->route_usages[r][i]] = 1;
	for (size_t p = 0; p < cfg->n_policies; p++)
		for (uint32_t i = 0; i < m->n_pol_usages[p]; i++)
			listed[m->pol_usages[p][i]] = 1;

	for (size_t u = 0; u < nu; u++) {
		const struct rt_cfg_usage *us = &cfg->usages[u];
		if (carried[u])
			continue;
		struct names nm = {0};
		for (size_t p = 0; p < cfg->n_policies; p++)
			for (uint32_t i = 0; i < m->n_pol_usages[p]; i++)
				if (m->pol_usages[p][i] == u) {
					names_add(&nm, cfg->policies[p].name);
					break;
				}
		if (listed[u])
			add(c, LINT_WARNING, "usage-unused", "usage", us->name, &us->src, NULL,
			    "no route carries it, so %s %s route%s nothing through it",
			    nm.n == 1 ? "policy" : "policies", names_str(&nm), nm.n == 1 ? "s" : "");
		else
			add(c, LINT_WARNING, "usage-unused", "usage", us->name, &us->src, NULL,
			    "no route carries it and no policy lists it");
	}

	for (size_t r = 0; r < nr; r++) {
		const struct rt_cfg_route *rt = &cfg->routes[r];
		bool reached = false;
		for (size_t p = 0; p < cfg->n_policies && !reached; p++)
			reached = m->first_step[p][r] >= 0;
		for (size_t i = 0; i < rt->n_trunks; i++) {
			long t = lookup(&m->trunk_ix, rt->trunks[i]);
			if (t >= 0)
				trunk_used[t] = 1;
		}
		if (reached)
			continue;
		struct names nm = {0};
		for (uint32_t i = 0; i < m->n_route_usages[r]; i++)
			names_add(&nm, cfg->usages[m->route_usages[r][i]].name);
		add(c, LINT_WARNING, "route-unreachable", "route", rt->name, &rt->src, NULL,
		    "no policy lists %s %s, so no call can use it",
		    nm.n == 1 ? "its usage" : "any of its usages", names_str(&nm));
	}

	for (size_t t = 0; t < nt; t++)
		if (!trunk_used[t])
			add(c, LINT_WARNING, "trunk-unused", "trunk", cfg->trunks[t].name,
			    &cfg->trunks[t].src, NULL, "no route lists it");

	for (size_t g = 0; g < ng; g++) {
		const struct rt_cfg_gateway *gw = &cfg->gateways[g];
		struct names unused = {0};
		bool via_used = false;
		for (size_t t = 0; t < nt; t++) {
			if (lookup(&m->gw_ix, cfg->trunks[t].gateway) != (long)g)
				continue;
			if (trunk_used[t])
				via_used = true;
			else
				names_add(&unused, cfg->trunks[t].name);
		}
		if (via_used)
			continue;
		if (unused.n)
			add(c, LINT_WARNING, "gateway-unused", "gateway", gw->name, &gw->src, NULL,
			    "only %s %s reach%s it, and no route lists %s",
			    unused.n == 1 ? "trunk" : "trunks", names_str(&unused),
			    unused.n == 1 ? "es" : "", unused.n == 1 ? "that trunk" : "them");
		else
			add(c, LINT_WARNING, "gateway-unused", "gateway", gw->name, &gw->src, NULL,
			    "no trunk reaches it");
	}
out:
	free(carried);
	free(listed);
	free(trunk_used);
}

/* ---- checks: routes that are never chosen --------------------------------------------- */

/* In policy p, the distinct routes walked before route r's first step that
 * offer gateway g. */
static size_t ahead_with_gw(const struct lint_model *m, size_t p, uint32_t r, uint32_t g,
			    uint32_t *out, uint8_t *seen)
{
	size_t n = 0;
	int32_t f = m->first_step[p][r];
	for (int32_t i = 0; i < f; i++) {
		uint32_t q = m->walk[p][i].route;
		if (!seen[q] && route_has_gw(m, q, g)) {
			seen[q] = 1;
			out[n++] = q;
		}
	}
	for (size_t i = 0; i < n; i++)
		seen[out[i]] = 0;
	return n;
}

static void check_never_chosen(struct ctx *c)
{
	const struct lint_model *m = c->m;
	const struct rt_config *cfg = m->cfg;
	size_t nr = cfg->n_routes;
	uint32_t *ahead = calloc(nr + 1, sizeof(*ahead));
	uint8_t *seen = calloc(nr + 1, 1), *cover = calloc(nr + 1, 1);
	const struct lx_dfa **d = calloc(nr + 3, sizeof(*d));
	uint8_t *req = calloc(nr + 3, 1);
	if (!ahead || !seen || !cover || !d || !req) {
		c->r->nomem = true;
		goto out;
	}

	for (uint32_t r = 0; r < nr; r++) {
		const struct rt_cfg_route *rt = &cfg->routes[r];
		if (m->route[r].st != LX_OK || c->route_live[r] != 1 || !m->n_route_gws[r])
			continue;
		bool chosen = false, undecided = false, reached = false;
		memset(cover, 0, nr);
		struct names pols = {0};
		for (size_t p = 0; p < cfg->n_policies && !chosen && !undecided; p++) {
			if (m->first_step[p][r] < 0)
				continue;
			reached = true;
			names_add(&pols, cfg->policies[p].name);
			for (uint32_t gi = 0; gi < m->n_route_gws[r] && !chosen && !undecided; gi++) {
				size_t na = ahead_with_gw(m, p, r, m->route_gws[r][gi], ahead, seen);
				if (!na) {
					chosen = true;
					break;
				}
				d[0] = &m->u_e164;
				d[1] = &m->route[r].dfa;
				req[0] = req[1] = LX_ACCEPT;
				size_t k = 2;
				for (size_t i = 0; i < na; i++) {
					uint32_t q = ahead[i];
					if (m->route[q].st != LX_OK) {
						undecided = true; /* cannot prove it covers */
						break;
					}
					if (c->route_live[q] == 0)
						continue;
					d[k] = &m->route[q].dfa;
					req[k++] = LX_REJECT;
				}
				if (undecided)
					break;
				char *w = NULL;
				int rc = search(c, d, req, k, &w);
				free(w);
				if (rc == 1)
					chosen = true;
				else if (rc < 0)
					undecided = true;
				else
					for (size_t i = 0; i < na; i++)
						cover[ahead[i]] = 1;
			}
		}
		if (!reached || chosen)
			continue;
		if (undecided) {
			if (!c->budget_hit)
				add(c, LINT_INFO, "not-decided", "route", rt->name, &rt->src, NULL,
				    "whether it can ever be chosen was not decided (a route ahead of it "
				    "is not analysable, or the search limit was reached)");
			continue;
		}
		/* Name the covering routes that overlap it, and show one number. */
		struct names by = {0}, gws = {0};
		char *example = NULL;
		for (size_t k = 0; k < nr; k++) {
			uint32_t q = m->order[k];
			if (!cover[q])
				continue;
			char *w = NULL;
			if (find2(c, &m->u_e164, &m->route[r].dfa, LX_ACCEPT, &m->route[q].dfa,
				  LX_ACCEPT, &w) == 1) {
				names_add(&by, rname(c, q));
				if (!example)
					example = w;
				else
					free(w);
			} else {
				free(w);
			}
		}
		for (uint32_t gi = 0; gi < m->n_route_gws[r]; gi++)
			names_add(&gws, gname(c, m->route_gws[r][gi]));
		struct lint_finding *f;
		if (rt->fallback && *rt->fallback)
			f = add(c, LINT_WARNING, "route-never-chosen", "route", rt->name, &rt->src,
				"automata",
				"its gateways are never offered: in %s %s every number it matches "
				"(e.g. %s) is matched first by %s, which already offer%s %s; only its "
				"fallback '%s' can be used, when they are all unusable",
				pols.n == 1 ? "policy" : "policies", names_str(&pols),
				example ? example : "?", names_str(&by), by.n == 1 ? "s" : "",
				names_str(&gws), rt->fallback);
		else
			f = add(c, LINT_WARNING, "route-never-chosen", "route", rt->name, &rt->src,
				"automata",
				"never chosen: in %s %s every number it matches (e.g. %s) is matched "
				"first by %s, which already offer%s %s",
				pols.n == 1 ? "policy" : "policies", names_str(&pols),
				example ? example : "?", names_str(&by), by.n == 1 ? "s" : "",
				names_str(&gws));
		wit(f, example);
		free(example);
	}
out:
	free(ahead);
	free(seen);
	free(cover);
	free(d);
	free(req);
}

/* ---- checks: International before national ------------------------------------------- */

/* One route of an earlier usage, and the later routes of one usage whose
 * numbers it takes first. */
struct capture {
	size_t p;
	uint32_t r1;
	uint32_t upos2;
	struct names r2s;
	uint32_t first_r2;
	bool all_every; /* every captured route loses all its numbers */
	const char *proof;
	char *wit[LINT_MAX_WIT];
	uint32_t n_wit;
};

static void capture_flush(struct ctx *c, struct capture *cap)
{
	const struct lint_model *m = c->m;
	const struct rt_config *cfg = m->cfg;
	if (!cap->r2s.n)
		return;
	const struct rt_cfg_policy *pol = &cfg->policies[cap->p];
	const char *u1 =
		cfg->usages[m->pol_usages[cap->p][m->walk[cap->p][m->first_step[cap->p][cap->r1]].upos]]
			.name;
	const char *u2 = cfg->usages[m->pol_usages[cap->p][cap->upos2]].name;
	const char *r1 = rname(c, cap->r1), *r2 = rname(c, cap->first_r2);
	const char *how = strcmp(cap->proof, "matcher") ? ""
						     : " (shown with sample numbers: a pattern is "
						       "not analysable)";
	struct lint_finding *f;
	if (cap->r2s.n == 1 && cap->all_every)
		f = add(c, LINT_WARNING, "policy-capture", "policy", pol->name, &pol->src,
			cap->proof,
			"usage '%s' comes before '%s': route '%s' captures every number meant for "
			"the more specific route '%s' (e.g. %s goes to '%s' first and reaches '%s' "
			"only as failover); list '%s' first if '%s' should serve them%s",
			u1, u2, r1, r2, cap->wit[0], r1, r2, u2, r2, how);
	else if (cap->r2s.n == 1)
		f = add(c, LINT_WARNING, "policy-capture", "policy", pol->name, &pol->src,
			cap->proof,
			"usage '%s' comes before '%s': routes '%s' and '%s' overlap and '%s' "
			"captures the numbers they share (e.g. %s goes to '%s' first and reaches "
			"'%s' only as failover); list '%s' first if '%s' should serve them%s",
			u1, u2, r1, r2, r1, cap->wit[0], r1, r2, u2, r2, how);
	else
		f = add(c, LINT_WARNING, "policy-capture", "policy", pol->name, &pol->src,
			cap->proof,
			"usage '%s' comes before '%s': route '%s' captures %s numbers meant for "
			"%zu more specific routes of '%s' (%s), e.g. %s goes to '%s' first and "
			"reaches '%s' only as failover; list '%s' first if they should serve "
			"them%s",
			u1, u2, r1, cap->all_every ? "all the" : "some of the", cap->r2s.n, u2,
			names_str(&cap->r2s), cap->wit[0], r1, r2, u2, how);
	for (uint32_t i = 0; i < cap->n_wit; i++) {
		wit(f, cap->wit[i]);
		free(cap->wit[i]);
	}
	memset(&cap->r2s, 0, sizeof(cap->r2s));
	cap->n_wit = 0;
}

static void capture_add(struct capture *cap, uint32_t r2, const char *r2name, const char *w,
			bool every, const char *proof)
{
	if (!cap->r2s.n) {
		cap->first_r2 = r2;
		cap->all_every = true;
		cap->proof = proof;
	}
	names_add(&cap->r2s, r2name);
	cap->all_every &= every;
	if (strcmp(proof, "automata"))
		cap->proof = proof;
	if (cap->n_wit < LINT_MAX_WIT && w)
		cap->wit[cap->n_wit++] = strdup(w);
}

static void check_capture(struct ctx *c)
{
	const struct lint_model *m = c->m;
	const struct rt_config *cfg = m->cfg;
	for (size_t p = 0; p < cfg->n_policies; p++) {
		const struct lint_step *w = m->walk[p];
		for (uint32_t i = 0; i < m->n_walk[p]; i++) {
			uint32_t r1 = w[i].route;
			if (m->first_step[p][r1] != (int32_t)i || c->route_live[r1] == 0)
				continue;
			struct capture cap = {.p = p, .r1 = r1, .upos2 = UINT32_MAX};
			for (uint32_t j = i + 1; j < m->n_walk[p]; j++) {
				uint32_t r2 = w[j].route;
				if (w[j].upos <= w[i].upos)
					continue; /* same usage: route priority decides, by design */
				if (m->first_step[p][r2] != (int32_t)j || r1 == r2 ||
				    c->route_live[r2] == 0 || lint_route_gws_equal(m, r1, r2))
					continue;
				if (w[j].upos != cap.upos2) {
					capture_flush(c, &cap);
					cap.upos2 = w[j].upos;
				}
				if (m->route[r1].st == LX_OK && m->route[r2].st == LX_OK) {
					const struct lx_dfa *a = &m->route[r1].dfa, *b = &m->route[r2].dfa;
					char *both = NULL, *only1 = NULL, *only2 = NULL;
					if (find2(c, &m->u_e164, a, LX_ACCEPT, b, LX_ACCEPT, &both) == 1 &&
					    find2(c, &m->u_e164, a, LX_ACCEPT, b, LX_REJECT, &only1) == 1) {
						int all = find2(c, &m->u_e164, b, LX_ACCEPT, a, LX_REJECT,
								&only2);
						if (all >= 0)
							capture_add(&cap, r2, rname(c, r2), both, all == 0,
								    "automata");
					}
					free(both);
					free(only1);
					free(only2);
					continue;
				}
				/* Evidence: sample numbers through the real matcher. */
				const char *both = ev_find(c, r1, r2, 1);
				const char *only1 = both ? ev_find(c, r1, r2, 0) : NULL;
				if (both && only1)
					capture_add(&cap, r2, rname(c, r2), both, false, "matcher");
			}
			capture_flush(c, &cap);
		}
	}
}

/* ---- checks: failover codes ----------------------------------------------------------- */

static void busy_codes(const struct rt_codeset *s, char *buf, size_t len)
{
	static const struct {
		unsigned code;
		const char *text;
	} busy[] = {{486, "Busy Here"}, {600, "Busy Everywhere"}, {603, "Decline"}};
	size_t n = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < 3; i++)
		if (rt_codeset_has(s, busy[i].code) && n < len)
			n += (size_t)snprintf(buf + n, len - n, "%s%u (%s)", n ? ", " : "",
					      busy[i].code, busy[i].text);
}

static void check_failover(struct ctx *c)
{
	const struct rt_config *cfg = c->m->cfg;
	char codes[128];
	busy_codes(&cfg->failover_codes, codes, sizeof(codes));
	if (codes[0]) {
		struct names nm = {0};
		for (size_t g = 0; g < cfg->n_gateways; g++)
			if (!cfg->gateways[g].has_failover_codes)
				names_add(&nm, cfg->gateways[g].name);
		if (nm.n)
			add(c, LINT_WARNING, "failover-busy", "failover", NULL, &cfg->failover_src,
			    NULL, "codes include %s: a busy or declining callee is called again "
			    "through the next gateway instead of hearing busy; used by %s %s",
			    codes, nm.n == 1 ? "gateway" : "gateways", names_str(&nm));
		else
			add(c, LINT_INFO, "failover-busy", "failover", NULL, &cfg->failover_src, NULL,
			    "codes include %s, but every gateway has its own failover codes", codes);
	}
	for (size_t g = 0; g < cfg->n_gateways; g++) {
		const struct rt_cfg_gateway *gw = &cfg->gateways[g];
		if (!gw->has_failover_codes)
			continue;
		busy_codes(&gw->failover_codes, codes, sizeof(codes));
		if (codes[0])
			add(c, LINT_WARNING, "failover-busy", "gateway", gw->name, &gw->src, NULL,
			    "failover_codes include %s: a busy or declining callee is called again "
			    "through the next gateway instead of hearing busy", codes);
	}
}

/* ---- run ------------------------------------------------------------------------------- */

static int finding_cmp(const void *x, const void *y)
{
	const struct lint_finding *a = x, *b = y;
	int fc = strcmp(a->file ? a->file : "", b->file ? b->file : "");
	if (fc)
		return fc;
	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

int lint_run(const struct lint_model *m, const struct lint_options *o, struct lint_report *out)
{
	struct ctx c = {
		.m = m,
		.r = out,
		.max_states = o && o->max_states ? o->max_states : LINT_MAX_STATES,
		.budget = o && o->budget ? o->budget : LINT_BUDGET,
	};
	memset(out, 0, sizeof(*out));
	c.route_live = calloc(m->cfg->n_routes + 1, sizeof(*c.route_live));
	if (!c.route_live)
		return -ENOMEM;

	check_route_patterns(&c);
	check_rules(&c);
	check_references(&c);
	check_never_chosen(&c);
	check_capture(&c);
	check_failover(&c);
	if (c.budget_hit)
		add(&c, LINT_INFO, "not-decided", "lint", NULL, NULL, NULL,
		    "stopped deciding after %llu automaton states (the budget); %zu checks were "
		    "not decided", (unsigned long long)out->explored, out->undecided);

	if (out->n > 1) /* qsort(NULL, 0, ...) is undefined */
		qsort(out->v, out->n, sizeof(*out->v), finding_cmp);
	evidence_free(&c);
	free(c.route_live);
	return out->nomem ? -ENOMEM : 0;
}
