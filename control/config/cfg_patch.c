/*
 * cfg_patch: see cfg_patch.h.
 *
 * The new config is a deep copy: its structs are a handful of arena arrays
 * (one per section), and every string and name list is packed back to back
 * into 1 MiB arena blocks, so a million routes cost a few large
 * allocations and one strlen + memcpy per string, not a malloc each.
 * Source file names (one pointer shared by every object of a file) are
 * copied once per distinct file.
 */
#include "cfg_patch.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "cfg_diff.h"
#include "cfg_yaml.h"
#include "rt_arena.h"
#include "rt_index.h"

/* ------------------------------------------------------------------------ */
/* Route name index */

struct cfg_route_ix {
	struct rt_arena *arena;
	struct rt_index ix;
};

struct cfg_route_ix *cfg_route_ix_new(const struct rt_config *cfg)
{
	struct cfg_route_ix *x = calloc(1, sizeof(*x));
	if (!x || !(x->arena = rt_arena_new()) ||
	    rt_index_init(&x->ix, x->arena, cfg->n_routes) != 0) {
		cfg_route_ix_free(x);
		return NULL;
	}
	for (size_t i = 0; i < cfg->n_routes; i++)
		if (cfg->routes[i].name)
			(void)rt_index_put(&x->ix, cfg->routes[i].name, (uint32_t)i, NULL);
	return x;
}

void cfg_route_ix_free(struct cfg_route_ix *ix)
{
	if (!ix)
		return;
	rt_arena_free(ix->arena);
	free(ix);
}

long cfg_route_ix_find(const struct cfg_route_ix *ix, const char *name)
{
	return ix && name ? rt_index_get(&ix->ix, name, (size_t)-1) : -1;
}

/* ------------------------------------------------------------------------ */
/* Checks */

static void section_err(struct rt_diag *diag, size_t *errors, const struct rt_config *up,
			const struct rt_src *src, const char *section)
{
	struct rt_src where = src && src->line ? *src : (struct rt_src){up->source, 0};
	if (!where.file)
		where.file = up->source;
	rt_diag_add(diag, &where, NULL, NULL,
		    "a route patch holds routes only: '%s' is not allowed (change it with a "
		    "whole-config load)", section);
	(*errors)++;
}

static void check_sections(const struct rt_config *up, struct rt_diag *diag, size_t *errors)
{
	struct rt_codeset def;
	rt_codeset_default(&def);
	if (up->failover_src.line || memcmp(&def, &up->failover_codes, sizeof(def)) != 0)
		section_err(diag, errors, up, &up->failover_src, "failover");
	if (up->sip.max_contacts != RT_DEFAULT_MAX_CONTACTS ||
	    up->sip.retry_after != RT_DEFAULT_RETRY_AFTER)
		section_err(diag, errors, up, NULL, "sip");
	if (up->n_gateways)
		section_err(diag, errors, up, &up->gateways[0].src, "gateways");
	if (up->n_trunks)
		section_err(diag, errors, up, &up->trunks[0].src, "trunks");
	if (up->n_usages)
		section_err(diag, errors, up, &up->usages[0].src, "usages");
	if (up->n_policies)
		section_err(diag, errors, up, &up->policies[0].src, "policies");
	if (up->n_assignments)
		section_err(diag, errors, up, &up->assignments[0].src, "assignments");
	if (up->n_dial_plans)
		section_err(diag, errors, up, &up->dial_plans[0].src, "dial_plans");
}

static int oom(struct rt_diag *diag, const char *what)
{
	struct rt_src src = {what, 0};
	rt_diag_add(diag, &src, NULL, NULL, "out of memory");
	return -ENOMEM;
}

int cfg_patch_check(const struct rt_config *cur, const struct cfg_route_ix *ix,
		    const struct rt_config *upsert, const char *const *remove, size_t n_remove,
		    struct rt_diag *diag)
{
	size_t n_up = upsert ? upsert->n_routes : 0, errors = 0;
	struct cfg_route_ix *own = NULL;
	struct rt_arena *a = rt_arena_new();
	struct rt_index pix = {0};
	int rc = 0;

	if (!ix && !(ix = own = cfg_route_ix_new(cur)))
		goto nomem;
	if (!a || rt_index_init(&pix, a, n_up + n_remove) != 0)
		goto nomem;
	if (upsert)
		check_sections(upsert, diag, &errors);
	for (size_t j = 0; j < n_up; j++) {
		const struct rt_cfg_route *r = &upsert->routes[j];
		uint32_t first;
		if (!r->name || !*r->name) {
			rt_diag_add(diag, &r->src, "route", NULL, "no name");
			errors++;
		} else if (rt_index_put(&pix, r->name, (uint32_t)j, &first) == -EEXIST) {
			rt_diag_add(diag, &r->src, "route", r->name,
				    "given twice in one patch (also at line %u)",
				    upsert->routes[first].src.line);
			errors++;
		}
	}
	for (size_t k = 0; k < n_remove; k++) {
		const char *name = remove[k];
		uint32_t first;
		if (!name || !*name) {
			rt_diag_add(diag, NULL, "route", NULL, "empty name to remove");
			errors++;
		} else if (rt_index_put(&pix, name, (uint32_t)(n_up + k), &first) == -EEXIST) {
			if (first < n_up)
				rt_diag_add(diag, &upsert->routes[first].src, "route", name,
					    "both replaced and removed in one patch");
			else
				rt_diag_add(diag, NULL, "route", name, "removed twice in one patch");
			errors++;
		} else if (cfg_route_ix_find(ix, name) < 0) {
			rt_diag_add(diag, NULL, "route", name,
				    "cannot remove it: the running config has no such route");
			errors++;
		}
	}
	rc = errors ? -EINVAL : 0;
out:
	rt_arena_free(a);
	cfg_route_ix_free(own);
	return rc;
nomem:
	rc = oom(diag, upsert ? upsert->source : cur->source);
	goto out;
}

/* ------------------------------------------------------------------------ */
/* Deep copy */

#define CP_BLOCK (1u << 20)
#define CP_FILES 32

struct cp {
	struct rt_arena *a;
	char *s, *s_end;               /* string block */
	const char **v, **v_end;       /* name-list block */
	const char *f_old[CP_FILES];   /* source file names seen ... */
	const char *f_new[CP_FILES];   /* ... and their copies */
	size_t n_files;
	bool oom;
};

static const char *cp_str(struct cp *c, const char *s)
{
	if (!s)
		return NULL;
	size_t n = strlen(s) + 1;
	char *d;
	if (n > CP_BLOCK / 8) {
		/* A long one gets its own allocation: no block is cut short. */
		d = rt_arena_alloc(c->a, n);
	} else {
		if ((size_t)(c->s_end - c->s) < n) {
			char *b = rt_arena_alloc(c->a, CP_BLOCK);
			if (b) {
				c->s = b;
				c->s_end = b + CP_BLOCK;
			}
		}
		d = (size_t)(c->s_end - c->s) >= n ? c->s : NULL;
		if (d)
			c->s += n;
	}
	if (!d) {
		c->oom = true;
		return NULL;
	}
	memcpy(d, s, n);
	return d;
}

static const char **cp_strs(struct cp *c, const char *const *v, size_t n)
{
	const size_t per = CP_BLOCK / sizeof(const char *);
	const char **d;
	if (!n)
		return NULL;
	if (n > per / 8) {
		d = rt_arena_calloc(c->a, n, sizeof(*d));
	} else {
		if ((size_t)(c->v_end - c->v) < n) {
			const char **b = rt_arena_calloc(c->a, per, sizeof(*b));
			if (b) {
				c->v = b;
				c->v_end = b + per;
			}
		}
		d = (size_t)(c->v_end - c->v) >= n ? c->v : NULL;
		if (d)
			c->v += n;
	}
	if (!d) {
		c->oom = true;
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		d[i] = cp_str(c, v[i]);
	return d;
}

static void cp_file_add(struct cp *c, const char *old, const char *copy)
{
	if (c->n_files < CP_FILES) {
		c->f_old[c->n_files] = old;
		c->f_new[c->n_files++] = copy;
	}
}

/* Objects of one file share its name: copy it once. */
static struct rt_src cp_src(struct cp *c, struct rt_src src)
{
	if (!src.file)
		return src;
	for (size_t i = 0; i < c->n_files; i++)
		if (c->f_old[i] == src.file) {
			src.file = c->f_new[i];
			return src;
		}
	for (size_t i = 0; i < c->n_files; i++)
		if (!strcmp(c->f_old[i], src.file)) {
			src.file = c->f_new[i];
			return src;
		}
	const char *copy = cp_str(c, src.file);
	cp_file_add(c, src.file, copy);
	src.file = copy;
	return src;
}

static void *cp_array(struct cp *c, const void *v, size_t n, size_t sz)
{
	if (!n)
		return NULL;
	void *d = rt_arena_calloc(c->a, n, sz);
	if (!d) {
		c->oom = true;
		return NULL;
	}
	memcpy(d, v, n * sz); /* scalars; the caller replaces every pointer */
	return d;
}

static struct rt_cfg_rule *cp_rules(struct cp *c, const struct rt_cfg_rule *v, size_t n)
{
	struct rt_cfg_rule *d = cp_array(c, v, n, sizeof(*v));
	for (size_t i = 0; d && i < n; i++) {
		d[i].match = cp_str(c, v[i].match);
		d[i].replace = cp_str(c, v[i].replace);
		d[i].src = cp_src(c, v[i].src);
	}
	return d;
}

static void cp_route(struct cp *c, struct rt_cfg_route *d, const struct rt_cfg_route *s)
{
	d->name = cp_str(c, s->name);
	d->pattern = cp_str(c, s->pattern);
	d->usages = cp_strs(c, s->usages, s->n_usages);
	d->n_usages = s->n_usages;
	d->trunks = cp_strs(c, s->trunks, s->n_trunks);
	d->n_trunks = s->n_trunks;
	d->priority = s->priority;
	d->fallback = cp_str(c, s->fallback);
	d->src = cp_src(c, s->src);
}

/* Every section but routes, from cur. */
static void cp_rest(struct cp *c, struct rt_config *out, const struct rt_config *cur)
{
	out->failover_codes = cur->failover_codes;
	out->failover_src = cp_src(c, cur->failover_src);
	out->sip = cur->sip;

	out->gateways = cp_array(c, cur->gateways, cur->n_gateways, sizeof(*cur->gateways));
	out->n_gateways = out->gateways ? cur->n_gateways : 0;
	for (size_t i = 0; i < out->n_gateways; i++) {
		struct rt_cfg_gateway *g = &out->gateways[i];
		const struct rt_cfg_gateway *s = &cur->gateways[i];
		g->name = cp_str(c, s->name);
		g->address = cp_str(c, s->address);
		g->site = cp_str(c, s->site);
		g->src = cp_src(c, s->src);
	}
	out->trunks = cp_array(c, cur->trunks, cur->n_trunks, sizeof(*cur->trunks));
	out->n_trunks = out->trunks ? cur->n_trunks : 0;
	for (size_t i = 0; i < out->n_trunks; i++) {
		struct rt_cfg_trunk *t = &out->trunks[i];
		const struct rt_cfg_trunk *s = &cur->trunks[i];
		t->name = cp_str(c, s->name);
		t->gateway = cp_str(c, s->gateway);
		t->called = cp_rules(c, s->called, s->n_called);
		t->n_called = t->called ? s->n_called : 0;
		t->calling = cp_rules(c, s->calling, s->n_calling);
		t->n_calling = t->calling ? s->n_calling : 0;
		t->src = cp_src(c, s->src);
	}
	out->usages = cp_array(c, cur->usages, cur->n_usages, sizeof(*cur->usages));
	out->n_usages = out->usages ? cur->n_usages : 0;
	for (size_t i = 0; i < out->n_usages; i++) {
		out->usages[i].name = cp_str(c, cur->usages[i].name);
		out->usages[i].src = cp_src(c, cur->usages[i].src);
	}
	out->policies = cp_array(c, cur->policies, cur->n_policies, sizeof(*cur->policies));
	out->n_policies = out->policies ? cur->n_policies : 0;
	for (size_t i = 0; i < out->n_policies; i++) {
		struct rt_cfg_policy *p = &out->policies[i];
		const struct rt_cfg_policy *s = &cur->policies[i];
		p->name = cp_str(c, s->name);
		p->usages = cp_strs(c, s->usages, s->n_usages);
		p->dial_plan = cp_str(c, s->dial_plan);
		p->src = cp_src(c, s->src);
	}
	out->assignments = cp_array(c, cur->assignments, cur->n_assignments,
				    sizeof(*cur->assignments));
	out->n_assignments = out->assignments ? cur->n_assignments : 0;
	for (size_t i = 0; i < out->n_assignments; i++) {
		struct rt_cfg_assignment *x = &out->assignments[i];
		const struct rt_cfg_assignment *s = &cur->assignments[i];
		x->pattern = cp_str(c, s->pattern);
		x->policy = cp_str(c, s->policy);
		x->src = cp_src(c, s->src);
	}
	out->dial_plans = cp_array(c, cur->dial_plans, cur->n_dial_plans,
				   sizeof(*cur->dial_plans));
	out->n_dial_plans = out->dial_plans ? cur->n_dial_plans : 0;
	for (size_t i = 0; i < out->n_dial_plans; i++) {
		struct rt_cfg_dial_plan *d = &out->dial_plans[i];
		const struct rt_cfg_dial_plan *s = &cur->dial_plans[i];
		d->name = cp_str(c, s->name);
		d->rules = cp_rules(c, s->rules, s->n_rules);
		d->n_rules = d->rules ? s->n_rules : 0;
		d->src = cp_src(c, s->src);
	}
}

/* A position in cur that the patch touches: replaced by upsert route j,
 * or removed (j == CFG_PATCH_REMOVE). */
struct cfg_edit {
	uint32_t pos;
	uint32_t j;
};
#define CFG_PATCH_REMOVE UINT32_MAX

static int edit_cmp(const void *x, const void *y)
{
	const struct cfg_edit *p = x, *q = y;
	return p->pos < q->pos ? -1 : p->pos > q->pos;
}

/* Positions in cur of the replaced and removed routes, sorted; and how
 * many upserted routes are new. The patch is checked. */
static struct cfg_edit *patch_edits(const struct cfg_route_ix *ix, const struct rt_config *up,
				    const char *const *remove, size_t n_remove, size_t *n_edits,
				    size_t *n_added)
{
	size_t n_up = up ? up->n_routes : 0, n = 0;
	struct cfg_edit *e = malloc((n_up + n_remove + 1) * sizeof(*e));
	*n_added = 0;
	if (!e)
		return NULL;
	for (size_t j = 0; j < n_up; j++) {
		long pos = cfg_route_ix_find(ix, up->routes[j].name);
		if (pos < 0)
			(*n_added)++;
		else
			e[n++] = (struct cfg_edit){(uint32_t)pos, (uint32_t)j};
	}
	for (size_t k = 0; k < n_remove; k++) {
		long pos = cfg_route_ix_find(ix, remove[k]);
		if (pos >= 0)
			e[n++] = (struct cfg_edit){(uint32_t)pos, CFG_PATCH_REMOVE};
	}
	qsort(e, n, sizeof(*e), edit_cmp);
	*n_edits = n;
	return e;
}

struct rt_config *cfg_patch_apply_ix(const struct rt_config *cur, const struct cfg_route_ix *ix,
				     const struct rt_config *upsert, const char *const *remove,
				     size_t n_remove, struct rt_diag *diag)
{
	struct cfg_route_ix *own = NULL;
	struct cfg_edit *e = NULL;
	struct rt_config *out = NULL;
	size_t n_edits = 0, n_added = 0, n_removed = 0;

	if (!ix && !(ix = own = cfg_route_ix_new(cur))) {
		oom(diag, cur->source);
		return NULL;
	}
	if (cfg_patch_check(cur, ix, upsert, remove, n_remove, diag) != 0)
		goto out;
	if (!(e = patch_edits(ix, upsert, remove, n_remove, &n_edits, &n_added)) ||
	    !(out = rt_config_new(cur->source)))
		goto nomem;
	struct cp c = {.a = out->arena};
	if (cur->source)
		cp_file_add(&c, cur->source, out->source);
	cp_rest(&c, out, cur);

	for (size_t k = 0; k < n_edits; k++)
		n_removed += e[k].j == CFG_PATCH_REMOVE;
	size_t n = cur->n_routes - n_removed + n_added;
	out->routes = n ? rt_arena_calloc(out->arena, n, sizeof(*out->routes)) : NULL;
	if (n && !out->routes)
		goto nomem;
	size_t w = 0, k = 0;
	for (size_t i = 0; i < cur->n_routes; i++) {
		if (k < n_edits && e[k].pos == i) {
			uint32_t j = e[k++].j;
			if (j != CFG_PATCH_REMOVE)
				cp_route(&c, &out->routes[w++], &upsert->routes[j]);
			continue;
		}
		cp_route(&c, &out->routes[w++], &cur->routes[i]);
	}
	for (size_t j = 0; n_added && j < upsert->n_routes; j++)
		if (cfg_route_ix_find(ix, upsert->routes[j].name) < 0)
			cp_route(&c, &out->routes[w++], &upsert->routes[j]);
	out->n_routes = w;
	if (c.oom)
		goto nomem;
out:
	free(e);
	cfg_route_ix_free(own);
	return out;
nomem:
	rt_config_free(out);
	out = NULL;
	oom(diag, cur->source);
	goto out;
}

struct rt_config *cfg_patch_apply(const struct rt_config *cur, const struct rt_config *upsert,
				  const char *const *remove, size_t n_remove,
				  struct rt_diag *diag)
{
	return cfg_patch_apply_ix(cur, NULL, upsert, remove, n_remove, diag);
}

/* ------------------------------------------------------------------------ */
/* Diff */

static int list_set(struct cfg_diff_list *l, const char *const *names, size_t n)
{
	if (!n)
		return 0;
	if (!(l->names = calloc(n, sizeof(*l->names))))
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (!(l->names[i] = strdup(names[i])))
			return -ENOMEM;
		l->n++;
	}
	return 0;
}

int cfg_patch_diff(const struct rt_config *cur, const struct cfg_route_ix *ix,
		   const struct rt_config *upsert, const char *const *remove, size_t n_remove,
		   struct cfg_diff *out)
{
	size_t n_up = upsert ? upsert->n_routes : 0;
	size_t n_add = 0, n_chg = 0, n_rm = 0, n_edits = 0, n_added = 0;
	struct cfg_route_ix *own = NULL;
	struct cfg_edit *e = NULL;
	const char **add = NULL, **chg = NULL, **rm = NULL;
	int rc = -ENOMEM;

	memset(out, 0, sizeof(*out));
	if (!ix && !(ix = own = cfg_route_ix_new(cur)))
		goto out;
	/* Sorted by position in cur: changed and removed come out in cur's order. */
	if (!(e = patch_edits(ix, upsert, remove, n_remove, &n_edits, &n_added)))
		goto out;
	add = malloc((n_up + 1) * sizeof(*add));
	chg = malloc((n_edits + 1) * sizeof(*chg));
	rm = malloc((n_edits + 1) * sizeof(*rm));
	if (!add || !chg || !rm)
		goto out;
	for (size_t j = 0; j < n_up; j++)
		if (cfg_route_ix_find(ix, upsert->routes[j].name) < 0)
			add[n_add++] = upsert->routes[j].name;
	for (size_t k = 0; k < n_edits; k++) {
		const struct rt_cfg_route *was = &cur->routes[e[k].pos];
		if (e[k].j == CFG_PATCH_REMOVE)
			rm[n_rm++] = was->name;
		else if (!cfg_route_same(was, &upsert->routes[e[k].j]))
			chg[n_chg++] = was->name;
	}
	struct cfg_diff_entry *r = &out->kinds[CFG_DIFF_ROUTE];
	if (list_set(&r->added, add, n_add) || list_set(&r->changed, chg, n_chg) ||
	    list_set(&r->removed, rm, n_rm))
		goto out;
	rc = 0;
out:
	if (rc)
		cfg_diff_free(out);
	free(add);
	free(chg);
	free(rm);
	free(e);
	cfg_route_ix_free(own);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Patch files */

/*
 * Report every top-level key but `routes`, with its line. Only the first
 * document's top level is looked at; a YAML error ends the scan quietly
 * (cfg_yaml reports it, with its line, when it loads the buffer).
 */
static size_t scan_sections(const char *buf, size_t len, const char *name,
			    struct rt_diag *diag)
{
	yaml_parser_t p;
	yaml_event_t ev;
	size_t errors = 0, at_top = 0;
	int depth = 0;
	bool done = false;

	if (!yaml_parser_initialize(&p))
		return 0;
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	while (!done && yaml_parser_parse(&p, &ev)) {
		bool starts = ev.type == YAML_SCALAR_EVENT || ev.type == YAML_ALIAS_EVENT ||
			      ev.type == YAML_MAPPING_START_EVENT ||
			      ev.type == YAML_SEQUENCE_START_EVENT;
		if (depth == 0 && starts && ev.type != YAML_MAPPING_START_EVENT)
			done = true; /* not a mapping: cfg_yaml says so */
		if (depth == 1 && starts && at_top++ % 2 == 0) {
			/* A key of the top-level mapping. */
			const char *key = ev.type == YAML_SCALAR_EVENT
						  ? (const char *)ev.data.scalar.value
						  : NULL;
			if (!key || strcmp(key, "routes") != 0) {
				struct rt_src src = {name, (uint32_t)ev.start_mark.line + 1};
				rt_diag_add(diag, &src, NULL, NULL,
					    "a route patch holds routes only: '%s' is not allowed "
					    "(change it with a whole-config load)",
					    key ? key : "(complex key)");
				errors++;
			}
		}
		if (ev.type == YAML_MAPPING_START_EVENT || ev.type == YAML_SEQUENCE_START_EVENT)
			depth++;
		else if (ev.type == YAML_MAPPING_END_EVENT || ev.type == YAML_SEQUENCE_END_EVENT)
			done |= --depth == 0;
		else if (ev.type == YAML_DOCUMENT_END_EVENT || ev.type == YAML_STREAM_END_EVENT)
			done = true;
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	return errors;
}

struct rt_config *cfg_patch_load_buffer(const char *buf, size_t len, const char *name,
					struct rt_diag *diag)
{
	if (!name)
		name = "<buffer>";
	if (len <= CFG_YAML_MAX_INPUT && scan_sections(buf, len, name, diag))
		return NULL;
	struct rt_config *cfg = cfg_yaml_load_buffer(buf, len, name, diag);
	if (!cfg)
		return NULL;
	/* What the scan cannot see (a section through an alias, say) the
	 * config still shows. */
	size_t errors = 0;
	check_sections(cfg, diag, &errors);
	if (errors) {
		rt_config_free(cfg);
		return NULL;
	}
	return cfg;
}

struct rt_config *cfg_patch_load_file(const char *path, struct rt_diag *diag)
{
	size_t len;
	char *buf = cfg_read_file(path, &len, diag);
	if (!buf)
		return NULL;
	struct rt_config *cfg = cfg_patch_load_buffer(buf, len, path, diag);
	free(buf);
	return cfg;
}
