/*
 * The config compiler: rt_config (names, as written) -> rt_snapshot (ids,
 * compiled regexes, bitmaps). Validation and compilation are one pass so
 * what is checked is exactly what is built; every problem found is reported
 * (not just the first) with the file, line and object it concerns.
 */
#include "rt_snapshot_int.h"
#include "rt_decide.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct build {
	const struct rt_config *cfg;
	struct rt_snapshot *s;
	struct rt_diag *diag;
	struct rt_index dp_ix;
	int errors;
};

#define ERR(b, src, kind, name, ...)                                                         \
	do {                                                                                 \
		rt_diag_add((b)->diag, (src), (kind), (name), __VA_ARGS__);                  \
		(b)->errors++;                                                               \
	} while (0)

static const char *dup_str(struct build *b, const char *s)
{
	return s ? rt_arena_strdup(b->s->arena, s) : NULL;
}

static bool blank(const char *s)
{
	return !s || !*s;
}

/* Index a list of named objects; report blanks and duplicates. */
static int index_names(struct build *b, struct rt_index *ix, size_t n, const char *kind,
		       const char *(*name_at)(const struct rt_config *, size_t),
		       const struct rt_src *(*src_at)(const struct rt_config *, size_t))
{
	if (rt_index_init(ix, b->s->arena, n))
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const char *name = name_at(b->cfg, i);
		if (blank(name)) {
			ERR(b, src_at(b->cfg, i), kind, NULL, "has no name");
			continue;
		}
		/* The index keeps its keys: they must live in the snapshot, not
		 * in the config the caller may free. */
		const char *key = dup_str(b, name);
		if (!key)
			return -ENOMEM;
		uint32_t prev;
		if (rt_index_put(ix, key, (uint32_t)i, &prev) == -EEXIST) {
			const struct rt_src *ps = src_at(b->cfg, prev);
			if (ps->line)
				ERR(b, src_at(b->cfg, i), kind, name,
				    "duplicate name (first defined at line %u)", ps->line);
			else
				ERR(b, src_at(b->cfg, i), kind, name, "duplicate name");
		}
	}
	return 0;
}

#define ACCESSORS(field, type)                                                               \
	static const char *field##_name(const struct rt_config *c, size_t i)                 \
	{                                                                                    \
		return c->field[i].name;                                                     \
	}                                                                                    \
	static const struct rt_src *field##_src(const struct rt_config *c, size_t i)         \
	{                                                                                    \
		return &c->field[i].src;                                                     \
	}
ACCESSORS(gateways, struct rt_cfg_gateway)
ACCESSORS(trunks, struct rt_cfg_trunk)
ACCESSORS(usages, struct rt_cfg_usage)
ACCESSORS(routes, struct rt_cfg_route)
ACCESSORS(policies, struct rt_cfg_policy)
ACCESSORS(dial_plans, struct rt_cfg_dial_plan)

static int compile_rules(struct build *b, const struct rt_cfg_rule *in, size_t n,
			 const char *kind, const char *name, const char *what,
			 struct rt_rewrite *out)
{
	for (size_t i = 0; i < n; i++) {
		char err[512];
		if (blank(in[i].match) || !in[i].replace) {
			ERR(b, &in[i].src, kind, name, "%s rule %zu needs 'match' and 'replace'",
			    what, i + 1);
			continue;
		}
		const char *m = dup_str(b, in[i].match);
		const char *r = dup_str(b, in[i].replace);
		if (!m || !r)
			return -ENOMEM;
		if (rt_rewrite_compile(&out[i], m, r, err, sizeof(err))) {
			ERR(b, &in[i].src, kind, name, "%s rule %zu: %s", what, i + 1, err);
			continue;
		}
		if (out[i].captures > b->s->max_captures)
			b->s->max_captures = out[i].captures;
	}
	return 0;
}

static int build_gateways(struct build *b)
{
	const struct rt_config *c = b->cfg;
	struct rt_snapshot *s = b->s;
	s->n_gws = (uint32_t)c->n_gateways;
	s->gws = rt_arena_calloc(s->arena, c->n_gateways ? c->n_gateways : 1, sizeof(*s->gws));
	s->sites = rt_arena_calloc(s->arena, c->n_gateways ? c->n_gateways : 1, sizeof(char *));
	if (!s->gws || !s->sites || rt_index_init(&s->site_ix, s->arena, c->n_gateways))
		return -ENOMEM;
	if (index_names(b, &s->gw_ix, c->n_gateways, "gateway", gateways_name, gateways_src))
		return -ENOMEM;

	for (size_t i = 0; i < c->n_gateways; i++) {
		const struct rt_cfg_gateway *g = &c->gateways[i];
		struct rt_gw *o = &s->gws[i];
		o->name = dup_str(b, g->name ? g->name : "");
		o->address = dup_str(b, g->address ? g->address : "");
		if (!o->name || !o->address)
			return -ENOMEM;
		if (blank(g->address))
			ERR(b, &g->src, "gateway", g->name, "has no address");
		if (g->port == 0)
			ERR(b, &g->src, "gateway", g->name, "port must be 1..65535");
		o->port = g->port;
		o->transport = (uint8_t)g->transport;
		o->priority = g->priority;
		o->weight = g->weight;
		if (g->has_failover_codes) {
			struct rt_codeset *cs = rt_arena_alloc(s->arena, sizeof(*cs));
			if (!cs)
				return -ENOMEM;
			*cs = g->failover_codes;
			o->codes = cs;
		} else {
			o->codes = &s->global_codes;
		}
		o->site = -1;
		if (!blank(g->site)) {
			long si = rt_index_get(&s->site_ix, g->site, (size_t)-1);
			if (si < 0) {
				si = s->n_sites;
				s->sites[s->n_sites++] = dup_str(b, g->site);
				if (!s->sites[si])
					return -ENOMEM;
				rt_index_put(&s->site_ix, s->sites[si], (uint32_t)si, NULL);
			}
			o->site = (int32_t)si;
		}
	}
	return 0;
}

static uint64_t rules_hash(const struct rt_rewrite *r, uint32_t n)
{
	uint64_t h = rt_hash64(&n, sizeof(n));
	for (uint32_t i = 0; i < n; i++) {
		const char *m = r[i].match ? r[i].match : "", *p = r[i].replace ? r[i].replace : "";
		h = h * 31 + rt_hash64(m, strlen(m) + 1);
		h = h * 31 + rt_hash64(p, strlen(p) + 1);
	}
	return h;
}

static bool rules_equal(const struct rt_rewrite *a, uint32_t na, const struct rt_rewrite *b,
			uint32_t nb)
{
	if (na != nb)
		return false;
	for (uint32_t i = 0; i < na; i++) {
		const char *am = a[i].match ? a[i].match : "", *bm = b[i].match ? b[i].match : "";
		const char *ar = a[i].replace ? a[i].replace : "", *br = b[i].replace ? b[i].replace : "";
		if (strcmp(am, bm) || strcmp(ar, br))
			return false;
	}
	return true;
}

/* An empty open-addressing table (UINT32_MAX: free) at most half full
 * with n entries: *size slots, a power of two. NULL on ENOMEM. */
static uint32_t *intern_table(uint32_t n, uint32_t *size)
{
	*size = 16;
	while (*size < 2 * n)
		*size <<= 1;
	uint32_t *tab = malloc(*size * sizeof(*tab));
	if (tab)
		memset(tab, 0xff, *size * sizeof(*tab));
	return tab;
}

/* Set ids: 2 * trunk (+1 for calling) of the first list with that text;
 * UINT32_MAX for an empty list. */
static int intern_rule_sets(struct rt_snapshot *s)
{
	uint32_t n = 2 * s->n_trunks, size;
	uint32_t *tab = intern_table(n, &size);
	if (!tab)
		return -ENOMEM;
	for (uint32_t k = 0; k < n; k++) {
		struct rt_trunk *t = &s->trunks[k / 2];
		const struct rt_rewrite *r = k % 2 ? t->calling : t->called;
		uint32_t nr = k % 2 ? t->n_calling : t->n_called;
		uint32_t *set = k % 2 ? &t->calling_set : &t->called_set;
		if (!nr) {
			*set = UINT32_MAX;
			continue;
		}
		uint32_t i = (uint32_t)rules_hash(r, nr) & (size - 1);
		for (;; i = (i + 1) & (size - 1)) {
			if (tab[i] == UINT32_MAX) {
				tab[i] = k;
				*set = k;
				break;
			}
			const struct rt_trunk *o = &s->trunks[tab[i] / 2];
			const struct rt_rewrite *same = tab[i] % 2 ? o->calling : o->called;
			if (rules_equal(r, nr, same, tab[i] % 2 ? o->n_calling : o->n_called)) {
				/* One compiled copy per set: a decision then
				 * reads the same few rules, whichever trunk. */
				for (uint32_t j = 0; j < nr; j++)
					rt_rewrite_free((struct rt_rewrite *)&r[j]);
				if (k % 2)
					t->calling = same;
				else
					t->called = same;
				*set = tab[i];
				break;
			}
		}
	}
	free(tab);
	return 0;
}

static int build_trunks(struct build *b)
{
	const struct rt_config *c = b->cfg;
	struct rt_snapshot *s = b->s;
	s->n_trunks = (uint32_t)c->n_trunks;
	s->trunks = rt_arena_calloc(s->arena, c->n_trunks ? c->n_trunks : 1, sizeof(*s->trunks));
	if (!s->trunks)
		return -ENOMEM;
	if (index_names(b, &s->trunk_ix, c->n_trunks, "trunk", trunks_name, trunks_src))
		return -ENOMEM;
	for (size_t i = 0; i < c->n_trunks; i++) {
		const struct rt_cfg_trunk *t = &c->trunks[i];
		struct rt_trunk *o = &s->trunks[i];
		o->name = dup_str(b, t->name ? t->name : "");
		if (!o->name)
			return -ENOMEM;
		long g = blank(t->gateway) ? -1 : rt_index_get(&s->gw_ix, t->gateway, (size_t)-1);
		if (blank(t->gateway))
			ERR(b, &t->src, "trunk", t->name, "has no gateway");
		else if (g < 0)
			ERR(b, &t->src, "trunk", t->name, "unknown gateway '%s'", t->gateway);
		o->gw = g < 0 ? 0 : (uint32_t)g;

		struct rt_rewrite *called = rt_arena_calloc(s->arena, t->n_called + 1, sizeof(*called));
		struct rt_rewrite *calling =
			rt_arena_calloc(s->arena, t->n_calling + 1, sizeof(*calling));
		if (!called || !calling)
			return -ENOMEM;
		o->called = called;
		o->calling = calling;
		o->n_called = (uint32_t)t->n_called;
		o->n_calling = (uint32_t)t->n_calling;
		if (compile_rules(b, t->called, t->n_called, "trunk", t->name, "called", called) ||
		    compile_rules(b, t->calling, t->n_calling, "trunk", t->name, "calling", calling))
			return -ENOMEM;
	}
	s->tk = rt_arena_calloc(s->arena, c->n_trunks ? c->n_trunks : 1, sizeof(*s->tk));
	if (!s->tk)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_trunks; i++) {
		const struct rt_gw *g = &s->gws[s->trunks[i].gw];
		s->tk[i] = (struct rt_tk){s->trunks[i].gw, g->priority, g->weight, g->site};
	}
	return intern_rule_sets(s);
}

static int build_usages(struct build *b)
{
	const struct rt_config *c = b->cfg;
	struct rt_snapshot *s = b->s;
	s->n_usages = (uint32_t)c->n_usages;
	s->usages = rt_arena_calloc(s->arena, c->n_usages ? c->n_usages : 1, sizeof(char *));
	if (!s->usages)
		return -ENOMEM;
	if (index_names(b, &s->usage_ix, c->n_usages, "usage", usages_name, usages_src))
		return -ENOMEM;
	for (size_t i = 0; i < c->n_usages; i++)
		if (!(s->usages[i] = dup_str(b, c->usages[i].name ? c->usages[i].name : "")))
			return -ENOMEM;
	return 0;
}

/* Route order: priority, then config order (SPEC: "ties keep config order"). */
static const struct rt_config *sort_cfg;
static int route_cmp(const void *x, const void *y)
{
	uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
	uint32_t pa = sort_cfg->routes[a].priority, pb = sort_cfg->routes[b].priority;
	if (pa != pb)
		return pa < pb ? -1 : 1;
	return a < b ? -1 : a > b;
}

static bool is_e164ish(const char *s)
{
	if (*s == '+')
		s++;
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

static bool is_uri(const char *s)
{
	return !strncmp(s, "sip:", 4) || !strncmp(s, "sips:", 5) || !strncmp(s, "tel:", 4);
}

/*
 * Compile one route into o (its name, salt, trunks by gateway priority,
 * distinct usages, fallback), reporting what is wrong with it; *usage gets
 * its only usage (UINT32_MAX: several), *pattern its pattern. ids: scratch
 * for the route's trunk and usage ids (n_trunks + n_usages). 0 or -ENOMEM.
 */
#define RT_ROUTE_LINKS_MAX 65535u
static int compile_route(struct build *b, const struct rt_cfg_route *r, struct rt_route *o,
			 const char **pattern, uint16_t *usage, uint32_t *ids)
{
	struct rt_snapshot *s = b->s;
	o->name = dup_str(b, r->name ? r->name : "");
	*pattern = dup_str(b, r->pattern ? r->pattern : "");
	if (!o->name || !*pattern)
		return -ENOMEM;
	o->salt = rt_hash64(o->name, strlen(o->name));

	char err[512];
	if (blank(r->pattern))
		ERR(b, &r->src, "route", r->name, "has no pattern");
	else if (rt_regex_check(r->pattern, err, sizeof(err)))
		ERR(b, &r->src, "route", r->name, "pattern '%s' rejected by PCRE2: %s", r->pattern,
		    err);
	if (r->n_trunks > RT_ROUTE_LINKS_MAX || r->n_usages > RT_ROUTE_LINKS_MAX) {
		ERR(b, &r->src, "route", r->name, "more than %u trunks or usages",
		    RT_ROUTE_LINKS_MAX);
		return 0;
	}

	/* Trunks by gateway priority (insertion, stable: config order within
	 * one), then the distinct usages. */
	if (!r->n_trunks && blank(r->fallback))
		ERR(b, &r->src, "route", r->name, "has no trunks and no fallback");
	uint32_t nt = 0, nu = 0;
	for (size_t t = 0; t < r->n_trunks; t++) {
		long ti = rt_index_get(&s->trunk_ix, r->trunks[t], (size_t)-1);
		if (ti < 0) {
			ERR(b, &r->src, "route", r->name, "unknown trunk '%s'", r->trunks[t]);
			continue;
		}
		uint32_t p = s->gws[s->trunks[ti].gw].priority;
		uint32_t k = nt;
		while (k > 0 && s->gws[s->trunks[ids[k - 1]].gw].priority > p) {
			ids[k] = ids[k - 1];
			k--;
		}
		ids[k] = (uint32_t)ti;
		nt++;
	}
	if (!r->n_usages)
		ERR(b, &r->src, "route", r->name, "has no usages");
	for (size_t u = 0; u < r->n_usages; u++) {
		long ui = rt_index_get(&s->usage_ix, r->usages[u], (size_t)-1);
		if (ui < 0) {
			ERR(b, &r->src, "route", r->name, "unknown usage '%s'", r->usages[u]);
			continue;
		}
		uint32_t k = 0;
		while (k < nu && ids[nt + k] != (uint32_t)ui)
			k++;
		if (k == nu)
			ids[nt + nu++] = (uint32_t)ui;
	}
	uint32_t *tr = o->inl;
	if (nt + nu > RT_ROUTE_INLINE) {
		tr = rt_arena_calloc(s->arena, nt + nu, sizeof(*tr));
		if (!tr)
			return -ENOMEM;
	}
	memcpy(tr, ids, (nt + nu) * sizeof(*tr));
	o->trunks = tr;
	o->n_trunks = (uint16_t)nt;
	o->n_usages = (uint16_t)nu;
	*usage = nu == 1 && ids[nt] < RT_USAGE_SEVERAL ? (uint16_t)ids[nt] : RT_USAGE_SEVERAL;
	s->n_route_usages += nu;
	if (nt > s->max_route_trunks)
		s->max_route_trunks = nt;

	if (!blank(r->fallback)) {
		o->fallback = dup_str(b, r->fallback);
		if (!o->fallback)
			return -ENOMEM;
		o->fallback_is_uri = is_uri(r->fallback);
		if (!o->fallback_is_uri && !is_e164ish(r->fallback))
			ERR(b, &r->src, "route", r->name,
			    "fallback '%s' is neither a SIP URI (sip:, sips:, tel:) nor an E.164 "
			    "number", r->fallback);
		else if (!o->fallback_is_uri && strlen(r->fallback) >= 64)
			ERR(b, &r->src, "route", r->name, "fallback number too long");
	}
	return 0;
}

static int build_routes(struct build *b)
{
	const struct rt_config *c = b->cfg;
	struct rt_snapshot *s = b->s;
	uint32_t n = (uint32_t)c->n_routes;
	int rc = -ENOMEM;

	/* Names are checked against config order; the snapshot's own index
	 * (built below) maps names to sorted ids. */
	struct rt_index cfg_ix;
	if (index_names(b, &cfg_ix, n, "route", routes_name, routes_src))
		return -ENOMEM;

	size_t max_links = 1;
	for (uint32_t i = 0; i < n; i++)
		if (c->routes[i].n_trunks + c->routes[i].n_usages > max_links)
			max_links = c->routes[i].n_trunks + c->routes[i].n_usages;
	uint32_t *ids = malloc(max_links * sizeof(*ids)); /* one route's trunk and usage ids */
	uint32_t *order = malloc((n ? n : 1) * sizeof(*order));
	const char **pats = malloc((n ? n : 1) * sizeof(*pats));
	const char **names = malloc((n ? n : 1) * sizeof(*names));
	struct rt_src *srcs = malloc((n ? n : 1) * sizeof(*srcs));
	if (!ids || !order || !pats || !names || !srcs)
		goto out;
	for (uint32_t i = 0; i < n; i++)
		order[i] = i;
	sort_cfg = c;
	qsort(order, n, sizeof(*order), route_cmp);

	s->n_routes = n;
	s->next_cfg = n;
	/* One cache line per route (see struct rt_route). */
	s->routes = rt_big_calloc(n ? n : 1, sizeof(*s->routes));
	s->route_patterns = rt_arena_calloc(s->arena, n ? n : 1, sizeof(char *));
	s->route_usage = rt_big_calloc(n ? n : 1, sizeof(*s->route_usage));
	s->route_prio = rt_big_calloc(n ? n : 1, sizeof(uint32_t));
	s->route_cfg = rt_big_calloc(n ? n : 1, sizeof(uint32_t));
	if (!s->routes || !s->route_patterns || !s->route_usage || !s->route_prio ||
	    !s->route_cfg || rt_index_init(&s->route_ix, s->arena, n))
		goto out;

	for (uint32_t id = 0; id < n; id++) {
		const struct rt_cfg_route *r = &c->routes[order[id]];
		struct rt_route *o = &s->routes[id];
		if (compile_route(b, r, o, &s->route_patterns[id], &s->route_usage[id], ids))
			goto out;
		o->rank = id;
		s->route_prio[id] = r->priority;
		s->route_cfg[id] = order[id];
		if (!blank(r->name))
			rt_index_put(&s->route_ix, o->name, id, NULL);
		pats[id] = s->route_patterns[id];
		names[id] = r->name;
		srcs[id] = r->src;
	}

	/* Only hand the matcher a set that PCRE2 and the checks above
	 * accepted: the classifier relies on PCRE2-valid syntax, and
	 * Hyperscan's messages are then about its own limits. */
	if (!b->errors && rt_matcher_build(&s->route_m, pats, n, srcs, "route", names, b->diag))
		b->errors++;
	rc = 0;
out:
	free(ids);
	free(order);
	free(pats);
	free(names);
	free(srcs);
	return rc;
}

/* dp_rule[r]: rule r's compiled copy, shared by every rule with the same
 * text (dial plans repeat their national and international rules), so a
 * decision reads rules other decisions keep in cache. The copies not used
 * are freed here. */
static int intern_dp_rules(struct rt_snapshot *s)
{
	uint32_t n = s->n_dp_rules, size;
	uint32_t *tab = intern_table(n, &size);
	if (!tab)
		return -ENOMEM;
	for (uint32_t r = 0; r < n; r++) {
		struct rt_rewrite *rw = &s->dp_rules[r];
		s->dp_rule[r] = rw;
		if (!rw->code)
			continue; /* did not compile: reported, the build fails */
		for (uint32_t i = (uint32_t)rules_hash(rw, 1) & (size - 1);; i = (i + 1) & (size - 1)) {
			if (tab[i] == UINT32_MAX) {
				tab[i] = r;
				break;
			}
			if (rules_equal(rw, 1, &s->dp_rules[tab[i]], 1)) {
				rt_rewrite_free(rw);
				s->dp_rule[r] = &s->dp_rules[tab[i]];
				break;
			}
		}
	}
	free(tab);
	return 0;
}

static int build_dial_plans(struct build *b)
{
	const struct rt_config *c = b->cfg;
	struct rt_snapshot *s = b->s;
	int rc = -ENOMEM;
	const char **pats = NULL, **names = NULL;
	struct rt_src *srcs = NULL;

	if (index_names(b, &b->dp_ix, c->n_dial_plans, "dial plan", dial_plans_name,
			dial_plans_src))
		return -ENOMEM;
	uint32_t total = 0;
	for (size_t i = 0; i < c->n_dial_plans; i++)
		total += (uint32_t)c->dial_plans[i].n_rules;
	s->n_dial_plans = (uint32_t)c->n_dial_plans;
	s->dial_plans = rt_arena_calloc(s->arena, c->n_dial_plans + 1, sizeof(*s->dial_plans));
	s->dp_rules = rt_arena_calloc(s->arena, total + 1, sizeof(*s->dp_rules));
	pats = malloc((total + 1) * sizeof(*pats));
	names = malloc((total + 1) * sizeof(*names));
	srcs = malloc((total + 1) * sizeof(*srcs));
	if (!s->dial_plans || !s->dp_rules || !pats || !names || !srcs)
		goto out;

	s->default_dial_plan = -1;
	uint32_t id = 0;
	for (size_t i = 0; i < c->n_dial_plans; i++) {
		const struct rt_cfg_dial_plan *d = &c->dial_plans[i];
		struct rt_dial_plan *o = &s->dial_plans[i];
		o->name = dup_str(b, d->name ? d->name : "");
		if (!o->name)
			goto out;
		o->first = id;
		o->n = (uint32_t)d->n_rules;
		if (d->is_default) {
			if (s->default_dial_plan >= 0)
				ERR(b, &d->src, "dial plan", d->name,
				    "second default dial plan (already '%s')",
				    s->dial_plans[s->default_dial_plan].name);
			else
				s->default_dial_plan = (int32_t)i;
		}
		if (compile_rules(b, d->rules, d->n_rules, "dial plan", d->name, "normalisation",
				  &s->dp_rules[id]))
			goto out;
		o->all_fast = true;
		for (size_t r = 0; r < d->n_rules; r++)
			if (!s->dp_rules[id + r].fast)
				o->all_fast = false;
		for (size_t r = 0; r < d->n_rules; r++, id++) {
			pats[id] = d->rules[r].match ? d->rules[r].match : "";
			names[id] = d->name;
			srcs[id] = d->rules[r].src;
		}
	}
	s->n_dp_rules = total;
	s->dp_rule = rt_arena_calloc(s->arena, total + 1, sizeof(*s->dp_rule));
	if (!s->dp_rule || intern_dp_rules(s))
		goto out;
	/* One matcher group per dial plan: a query only walks its own plan. */
	uint32_t *ends = malloc((c->n_dial_plans + 1) * sizeof(*ends));
	if (!ends)
		goto out;
	for (size_t i = 0; i < c->n_dial_plans; i++)
		ends[i] = s->dial_plans[i].first + s->dial_plans[i].n;
	if (!b->errors && rt_matcher_build_groups(&s->dial_m, pats, total, ends,
						  (uint32_t)c->n_dial_plans, srcs, "dial plan",
						  names, b->diag))
		b->errors++;
	free(ends);
	rc = 0;
out:
	free(pats);
	free(names);
	free(srcs);
	return rc;
}

static int build_policies(struct build *b)
{
	const struct rt_config *c = b->cfg;
	struct rt_snapshot *s = b->s;
	s->n_policies = (uint32_t)c->n_policies;
	s->policies = rt_arena_calloc(s->arena, c->n_policies + 1, sizeof(*s->policies));
	if (!s->policies)
		return -ENOMEM;
	if (index_names(b, &s->policy_ix, c->n_policies, "policy", policies_name, policies_src))
		return -ENOMEM;

	/* Usage positions per policy (struct rt_policy.pos), up to 4 MiB. */
#define RT_POLICY_POS_MAX (4u << 20)
	long def = -1;
	for (size_t i = 0; i < c->n_policies; i++) {
		const struct rt_cfg_policy *p = &c->policies[i];
		struct rt_policy *o = &s->policies[i];
		o->name = dup_str(b, p->name ? p->name : "");
		uint32_t *us = rt_arena_calloc(s->arena, p->n_usages + 1, sizeof(*us));
		if (!o->name || !us)
			return -ENOMEM;
		o->usages = us;
		if (!p->n_usages)
			ERR(b, &p->src, "policy", p->name, "has no usages");
		for (size_t u = 0; u < p->n_usages; u++) {
			long ui = rt_index_get(&b->s->usage_ix, p->usages[u], (size_t)-1);
			if (ui < 0)
				ERR(b, &p->src, "policy", p->name, "unknown usage '%s'", p->usages[u]);
			else
				us[o->n_usages++] = (uint32_t)ui;
		}
		for (uint32_t x = 0; x < o->n_usages; x++)
			for (uint32_t y = 0; y < x; y++)
				if (us[x] == us[y])
					o->repeats_usage = true;
		if ((uint64_t)c->n_policies * s->n_usages <= RT_POLICY_POS_MAX &&
		    o->n_usages < UINT8_MAX) {
			uint8_t *pos = rt_arena_calloc(s->arena, s->n_usages + 1, sizeof(*pos));
			if (!pos)
				return -ENOMEM;
			for (uint32_t x = o->n_usages; x-- > 0;)
				pos[us[x]] = (uint8_t)(x + 1); /* the first listing wins */
			o->pos = pos;
		}
		o->dial_plan = s->default_dial_plan;
		if (!blank(p->dial_plan)) {
			long d = rt_index_get(&b->dp_ix, p->dial_plan, (size_t)-1);
			if (d < 0)
				ERR(b, &p->src, "policy", p->name, "unknown dial plan '%s'",
				    p->dial_plan);
			o->dial_plan = (int32_t)d;
		}
		if (o->dial_plan >= 0) {
			const struct rt_dial_plan *dp = &s->dial_plans[o->dial_plan];
			if (dp->all_fast && dp->n) {
				o->fast_rules = &s->dp_rule[dp->first];
				o->n_fast_rules = dp->n;
			}
		}
		if (p->is_default) {
			if (def >= 0)
				ERR(b, &p->src, "policy", p->name,
				    "second default policy (already '%s')", c->policies[def].name);
			else
				def = (long)i;
		}
	}
	if (def < 0)
		ERR(b, NULL, NULL, NULL, "%s: no default policy (mark one policy 'default: true')",
		    c->source ? c->source : "config");
	s->default_policy = def < 0 ? 0 : (uint32_t)def;
	return 0;
}

static int build_assignments(struct build *b)
{
	const struct rt_config *c = b->cfg;
	struct rt_snapshot *s = b->s;
	uint32_t n = (uint32_t)c->n_assignments;
	int rc = -ENOMEM;
	const char **names = malloc((n + 1) * sizeof(*names));
	struct rt_src *srcs = malloc((n + 1) * sizeof(*srcs));
	uint32_t *pol = rt_arena_calloc(s->arena, n + 1, sizeof(*pol));
	const char **pats = rt_arena_calloc(s->arena, n + 1, sizeof(*pats));
	if (!names || !srcs || !pol || !pats)
		goto out;
	for (uint32_t i = 0; i < n; i++) {
		const struct rt_cfg_assignment *a = &c->assignments[i];
		pats[i] = dup_str(b, a->pattern ? a->pattern : "");
		if (!pats[i])
			goto out;
		names[i] = a->pattern;
		srcs[i] = a->src;
		char err[512];
		if (blank(a->pattern))
			ERR(b, &a->src, "assignment", a->policy, "has no calling-number pattern");
		else if (rt_regex_check(a->pattern, err, sizeof(err)))
			ERR(b, &a->src, "assignment", a->pattern, "rejected by PCRE2: %s", err);
		long p = blank(a->policy) ? -1 : rt_index_get(&s->policy_ix, a->policy, (size_t)-1);
		if (p < 0)
			ERR(b, &a->src, "assignment", a->pattern, "unknown policy '%s'",
			    a->policy ? a->policy : "");
		pol[i] = p < 0 ? 0 : (uint32_t)p;
	}
	s->assign_policy = pol;
	s->assign_pattern = pats;
	s->n_assign = n;
	if (!b->errors && rt_matcher_build(&s->assign_m, pats, n, srcs, "assignment", names, b->diag))
		b->errors++;
	rc = 0;
out:
	free(names);
	free(srcs);
	return rc;
}

struct rt_snapshot *rt_snapshot_build(const struct rt_config *cfg, uint64_t generation,
				      struct rt_diag *diag)
{
	struct rt_arena *a = rt_arena_new();
	if (!a)
		goto nomem;
	struct rt_snapshot *s = rt_arena_alloc(a, sizeof(*s));
	if (!s) {
		rt_arena_free(a);
		goto nomem;
	}
	s->arena = a;
	s->refs = 1;
	s->generation = generation;
	s->source = cfg->source ? rt_arena_strdup(a, cfg->source) : NULL;
	s->global_codes = cfg->failover_codes;
	s->max_contacts = cfg->sip.max_contacts;
	s->retry_after = cfg->sip.retry_after;

	struct build b = {.cfg = cfg, .s = s, .diag = diag};
	if (cfg->sip.max_contacts < 1 || cfg->sip.max_contacts > RT_MAX_DEST)
		ERR(&b, NULL, "sip", NULL, "max_contacts must be 1..%d", RT_MAX_DEST);

	if (build_gateways(&b) || build_trunks(&b) || build_usages(&b) || build_routes(&b) ||
	    build_dial_plans(&b) || build_policies(&b) || build_assignments(&b)) {
		rt_snapshot_free(s);
		goto nomem;
	}
	if (b.errors) {
		rt_snapshot_free(s);
		return NULL;
	}
	return s;
nomem:
	rt_diag_add(diag, NULL, NULL, NULL, "out of memory compiling the config");
	return NULL;
}

void rt_snapshot_free(struct rt_snapshot *s)
{
	if (!s || --s->refs > 0)
		return;
	if (s->base) {
		/* A patched snapshot: only its own routes, matcher and arena;
		 * the rest is base's. */
		rt_matcher_free(&s->over_m);
		rt_big_free(s->routes);
		rt_big_free(s->route_usage);
		rt_big_free(s->masked);
		rt_big_free(s->by_rank);
		struct rt_snapshot *base = s->base;
		rt_arena_free(s->arena);
		rt_snapshot_free(base);
		return;
	}
	rt_matcher_free(&s->route_m);
	rt_matcher_free(&s->dial_m);
	rt_matcher_free(&s->assign_m);
	for (uint32_t i = 0; i < s->n_trunks; i++) {
		/* Trunks of one rule set share its rules (intern_rule_sets):
		 * rt_rewrite_free clears what it frees, so twice is once. */
		const struct rt_trunk *t = &s->trunks[i];
		for (uint32_t r = 0; t->called && r < t->n_called; r++)
			rt_rewrite_free((struct rt_rewrite *)&t->called[r]);
		for (uint32_t r = 0; t->calling && r < t->n_calling; r++)
			rt_rewrite_free((struct rt_rewrite *)&t->calling[r]);
	}
	for (uint32_t r = 0; s->dp_rules && r < s->n_dp_rules; r++)
		rt_rewrite_free(&s->dp_rules[r]); /* the shared ones' copies are freed already */
	rt_big_free(s->routes);
	rt_big_free(s->route_usage);
	rt_big_free(s->route_prio);
	rt_big_free(s->route_cfg);
	rt_arena_free(s->arena);
}

uint64_t rt_snapshot_generation(const struct rt_snapshot *s)
{
	return s->generation;
}

const char *rt_snapshot_source(const struct rt_snapshot *s)
{
	return s->source;
}

size_t rt_snapshot_memory(const struct rt_snapshot *s)
{
	if (s->base) /* its own part; the base's is counted with the base */
		return rt_arena_used(s->arena) +
		       (size_t)s->n_routes *
			       (sizeof(*s->routes) + sizeof(*s->route_usage) + sizeof(*s->by_rank)) +
		       s->n_base + rt_matcher_memory(&s->over_m);
	return rt_arena_used(s->arena) +
	       (size_t)s->n_routes * (sizeof(*s->routes) + 3 * sizeof(uint32_t)) +
	       rt_matcher_memory(&s->route_m) + rt_matcher_memory(&s->dial_m) +
	       rt_matcher_memory(&s->assign_m);
}

size_t rt_snapshot_gateway_count(const struct rt_snapshot *s) { return s->n_gws; }
size_t rt_snapshot_site_count(const struct rt_snapshot *s) { return s->n_sites; }
size_t rt_snapshot_route_count(const struct rt_snapshot *s) { return s->n_routes; }
size_t rt_snapshot_live_route_count(const struct rt_snapshot *s) { return s->n_routes - s->n_masked; }
bool rt_snapshot_layered(const struct rt_snapshot *s) { return s->base != NULL; }
size_t rt_snapshot_policy_count(const struct rt_snapshot *s) { return s->n_policies; }
const char *rt_snapshot_gateway_name(const struct rt_snapshot *s, size_t i) { return s->gws[i].name; }
long rt_snapshot_gateway_site(const struct rt_snapshot *s, size_t i) { return s->gws[i].site; }
const char *rt_snapshot_site_name(const struct rt_snapshot *s, size_t i) { return s->sites[i]; }
const char *rt_snapshot_route_name(const struct rt_snapshot *s, size_t i) { return s->routes[i].name; }
const char *rt_snapshot_route_pattern(const struct rt_snapshot *s, size_t i) { return s->route_patterns[i]; }
const char *rt_snapshot_policy_name(const struct rt_snapshot *s, size_t i) { return s->policies[i].name; }
uint32_t rt_snapshot_max_contacts(const struct rt_snapshot *s) { return s->max_contacts; }
const struct rt_matcher *rt_snapshot_route_matcher(const struct rt_snapshot *s) { return &s->route_m; }
uint32_t rt_snapshot_retry_after(const struct rt_snapshot *s) { return s->retry_after; }

long rt_snapshot_gateway_index(const struct rt_snapshot *s, const char *name, size_t len)
{
	return rt_index_get(&s->gw_ix, name, len);
}

long rt_snapshot_site_index(const struct rt_snapshot *s, const char *name, size_t len)
{
	return rt_index_get(&s->site_ix, name, len);
}

long rt_snapshot_route_index(const struct rt_snapshot *s, const char *name, size_t len)
{
	long r = rt_index_get(&s->route_ix, name, len); /* a patched one: its own routes */
	if (!s->base)
		return r;
	if (r >= 0)
		return (long)s->n_base + r;
	r = rt_index_get(&s->base->route_ix, name, len);
	return r >= 0 && !s->masked[r] ? r : -1;
}

/* ---- incremental compile ------------------------------------------------------ */

/* A patch layers at most this many routes on a full build of n (beyond,
 * rt_snapshot_patch declines: build the whole config, which also folds the
 * layer in). */
static uint32_t patch_max(uint32_t n)
{
	return n / 16 > 4096 ? n / 16 : 4096;
}

/* One route of the layer being built. */
struct layer_route {
	const struct rt_cfg_route *cfg; /* new from the patch, or NULL: carried */
	uint32_t from;                  /* carried: its id in the current snapshot */
	uint32_t prio, cfg_pos;
	bool dead;
};

static int layer_cmp(const void *x, const void *y)
{
	const struct layer_route *a = x, *b = y;
	if (a->prio != b->prio)
		return a->prio < b->prio ? -1 : 1;
	return a->cfg_pos < b->cfg_pos ? -1 : a->cfg_pos > b->cfg_pos;
}

/* A carried route, copied into s's arena (the snapshot it comes from may be
 * freed first). */
static int copy_route(struct build *b, const struct rt_route *from, struct rt_route *to)
{
	*to = *from;
	to->name = dup_str(b, from->name);
	if (!to->name || (from->fallback && !(to->fallback = dup_str(b, from->fallback))))
		return -ENOMEM;
	uint32_t links = (uint32_t)from->n_trunks + from->n_usages;
	if (links > RT_ROUTE_INLINE) {
		uint32_t *tr = rt_arena_calloc(b->s->arena, links, sizeof(*tr));
		if (!tr)
			return -ENOMEM;
		memcpy(tr, from->trunks, links * sizeof(*tr));
		to->trunks = tr;
	} else {
		to->trunks = to->inl;
	}
	b->s->n_route_usages += from->n_usages;
	if (from->n_trunks > b->s->max_route_trunks)
		b->s->max_route_trunks = from->n_trunks;
	return 0;
}

/* Walk order of every route: base routes in id order merged with the
 * layer's (sorted the same way) by (priority, config position). */
static void rank_routes(struct rt_snapshot *s, const struct rt_snapshot *root,
			const struct layer_route *l, uint32_t nl)
{
	uint32_t b = 0, k = 0, rank = 0, nb = s->n_base;
	while (b < nb || k < nl) {
		bool base_first = k == nl ||
				  (b < nb && (root->route_prio[b] < l[k].prio ||
					      (root->route_prio[b] == l[k].prio &&
					       root->route_cfg[b] < l[k].cfg_pos)));
		uint32_t id = base_first ? b++ : nb + k++;
		s->routes[id].rank = rank;
		s->by_rank[rank++] = id;
	}
}

struct rt_snapshot *rt_snapshot_patch(struct rt_snapshot *cur, const struct rt_config *up,
				      const char *const *remove, size_t n_remove,
				      uint64_t generation, struct rt_diag *diag)
{
	static const struct rt_config no_routes;
	if (!up)
		up = &no_routes;
	struct rt_snapshot *root = cur->base ? cur->base : cur;
	uint32_t nb = root->n_routes;
	uint32_t n_prev = cur->base ? cur->n_routes - cur->n_base : 0;
	if ((uint64_t)n_prev + up->n_routes > patch_max(nb) ||
	    (uint64_t)nb + n_prev + up->n_routes >= RT_PATCH_ROUTES_MAX)
		return NULL; /* declined: too large to layer */
	for (uint32_t p = 0; p < cur->n_policies; p++)
		if (cur->policies[p].n_usages >= UINT16_MAX)
			return NULL; /* positions past the decision's 16 bits */

	struct rt_arena *a = rt_arena_new();
	struct rt_snapshot *s = a ? rt_arena_alloc(a, sizeof(*s)) : NULL;
	if (!s) {
		rt_arena_free(a);
		goto nomem;
	}
	/* Everything but the routes is the base's. */
	*s = *root;
	s->arena = a;
	s->refs = 1;
	s->base = root;
	root->refs++;
	s->generation = generation;
	s->n_base = nb;
	s->routes = NULL;
	s->route_usage = NULL;
	s->route_prio = s->route_cfg = NULL;
	s->by_rank = NULL;
	memset(&s->over_m, 0, sizeof(s->over_m));
	memset(&s->route_ix, 0, sizeof(s->route_ix));
	s->n_routes = nb; /* until the layer is built: what the free path expects */
	s->masked = rt_big_calloc(nb ? nb : 1, 1);
	struct build b = {.cfg = up, .s = s, .diag = diag};

	uint32_t cap = n_prev + (uint32_t)up->n_routes;
	struct layer_route *l = calloc(cap ? cap : 1, sizeof(*l));
	struct rt_index names; /* layer route name -> index in l */
	const char **pats = NULL, **lnames = NULL;
	struct rt_src *srcs = NULL;
	uint32_t *ids = NULL;
	if (!s->masked || !l || rt_index_init(&names, a, cap))
		goto fail_nomem;
	if (cur->base)
		memcpy(s->masked, cur->masked, nb);
	s->next_cfg = cur->next_cfg;

	uint32_t nl = 0;
	for (uint32_t k = 0; k < n_prev; k++) {
		l[nl] = (struct layer_route){.from = nb + k, .prio = cur->route_prio[k],
					     .cfg_pos = cur->route_cfg[k]};
		rt_index_put(&names, cur->routes[nb + k].name, nl++, NULL);
	}

	/* The patch's own names: none blank, none twice, none both upserted
	 * and removed. */
	struct rt_index pix;
	if (rt_index_init(&pix, a, up->n_routes))
		goto fail_nomem;
	for (size_t i = 0; i < up->n_routes; i++) {
		const struct rt_cfg_route *r = &up->routes[i];
		uint32_t prev;
		if (blank(r->name))
			ERR(&b, &r->src, "route", NULL, "has no name");
		else if (rt_index_put(&pix, r->name, (uint32_t)i, &prev) == -EEXIST)
			ERR(&b, &r->src, "route", r->name, "given twice in the patch");
	}
	for (size_t i = 0; i < n_remove; i++) {
		const char *name = remove[i] ? remove[i] : "";
		if (rt_index_get(&pix, name, (size_t)-1) >= 0) {
			ERR(&b, NULL, "route", name, "both changed and removed by the patch");
			continue;
		}
		long k = rt_index_get(&names, name, (size_t)-1);
		if (k >= 0 && !l[k].dead) {
			l[k].dead = true;
			continue;
		}
		long id = rt_index_get(&root->route_ix, name, (size_t)-1);
		if (id >= 0 && !s->masked[id])
			s->masked[id] = 1;
		else
			ERR(&b, NULL, "route", name, "cannot be removed: no such route");
	}
	for (size_t i = 0; i < up->n_routes; i++) {
		const struct rt_cfg_route *r = &up->routes[i];
		if (blank(r->name))
			continue;
		long k = rt_index_get(&names, r->name, (size_t)-1);
		if (k >= 0 && !l[k].dead) { /* replaced again, in place */
			l[k].cfg = r;
			l[k].prio = r->priority;
			continue;
		}
		long id = rt_index_get(&root->route_ix, r->name, (size_t)-1);
		uint32_t pos;
		if (id >= 0 && !s->masked[id]) { /* replaces a base route, in place */
			s->masked[id] = 1;
			pos = root->route_cfg[id];
		} else { /* a new route: after every other */
			pos = s->next_cfg++;
		}
		l[nl] = (struct layer_route){.cfg = r, .prio = r->priority, .cfg_pos = pos};
		rt_index_put(&names, r->name, nl++, NULL);
	}
	if (b.errors)
		goto fail;

	/* The layer, in walk order, after the base's routes. */
	uint32_t live = 0;
	for (uint32_t k = 0; k < nl; k++)
		if (!l[k].dead)
			l[live++] = l[k];
	nl = live;
	qsort(l, nl, sizeof(*l), layer_cmp);

	uint32_t n = nb + nl;
	size_t max_links = 1;
	for (uint32_t k = 0; k < nl; k++)
		if (l[k].cfg && l[k].cfg->n_trunks + l[k].cfg->n_usages > max_links)
			max_links = l[k].cfg->n_trunks + l[k].cfg->n_usages;
	s->routes = rt_big_calloc(n, sizeof(*s->routes));
	s->route_usage = rt_big_calloc(n, sizeof(*s->route_usage));
	s->by_rank = rt_big_calloc(n, sizeof(uint32_t));
	s->route_patterns = rt_arena_calloc(a, n, sizeof(char *));
	s->route_prio = rt_arena_calloc(a, nl ? nl : 1, sizeof(uint32_t));
	s->route_cfg = rt_arena_calloc(a, nl ? nl : 1, sizeof(uint32_t));
	pats = malloc((nl ? nl : 1) * sizeof(*pats));
	lnames = malloc((nl ? nl : 1) * sizeof(*lnames));
	srcs = calloc(nl ? nl : 1, sizeof(*srcs));
	ids = malloc(max_links * sizeof(*ids));
	if (!s->routes || !s->route_usage || !s->by_rank || !s->route_patterns ||
	    !s->route_prio || !s->route_cfg || !pats || !lnames || !srcs || !ids ||
	    rt_index_init(&s->route_ix, a, nl))
		goto fail_nomem;
	memcpy(s->routes, root->routes, (size_t)nb * sizeof(*s->routes));
	for (uint32_t id = 0; id < nb; id++) {
		struct rt_route *o = &s->routes[id];
		if (o->trunks == root->routes[id].inl)
			o->trunks = o->inl; /* its own line, not the base's */
		o->masked = s->masked[id];
		s->n_masked += s->masked[id];
	}
	memcpy(s->route_usage, root->route_usage, (size_t)nb * sizeof(*s->route_usage));
	memcpy(s->route_patterns, root->route_patterns, (size_t)nb * sizeof(char *));
	s->n_routes = n;
	for (uint32_t k = 0; k < nl; k++) {
		uint32_t id = nb + k;
		struct rt_route *o = &s->routes[id];
		if (l[k].cfg) {
			if (compile_route(&b, l[k].cfg, o, &s->route_patterns[id], &s->route_usage[id],
					  ids))
				goto fail_nomem;
			srcs[k] = l[k].cfg->src;
		} else {
			if (copy_route(&b, &cur->routes[l[k].from], o) ||
			    !(s->route_patterns[id] = dup_str(&b, cur->route_patterns[l[k].from])))
				goto fail_nomem;
			s->route_usage[id] = cur->route_usage[l[k].from];
		}
		s->route_prio[k] = l[k].prio;
		s->route_cfg[k] = l[k].cfg_pos;
		rt_index_put(&s->route_ix, o->name, k, NULL);
		pats[k] = s->route_patterns[id];
		lnames[k] = o->name;
	}
	if (!b.errors && rt_matcher_build(&s->over_m, pats, nl, srcs, "route", lnames, diag))
		b.errors++;
	if (b.errors)
		goto fail;
	rank_routes(s, root, l, nl);
	free(l);
	free(pats);
	free(lnames);
	free(srcs);
	free(ids);
	return s;

fail_nomem:
	rt_diag_add(diag, NULL, NULL, NULL, "out of memory compiling the patch");
fail:
	free(l);
	free(pats);
	free(lnames);
	free(srcs);
	free(ids);
	rt_snapshot_free(s);
	return NULL;
nomem:
	rt_diag_add(diag, NULL, NULL, NULL, "out of memory compiling the patch");
	return NULL;
}
