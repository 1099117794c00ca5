/*
 * cfg_diff: running config vs new config, per kind of object.
 *
 * Field by field on the rt_config structs rather than through packed
 * protobuf: the structs are what rt_snapshot_build() compiles, so comparing
 * them is comparing what decides; it needs no zeroing of line fields and no
 * serialisation of a million routes twice.
 *
 * Per kind: index a's keys in an rt_index (chaining repeats of one key so
 * they pair in order), look every object of b up once, compare the pairs.
 * Then, for the two kinds whose config order the decision depends on
 * (assignments: first match; routes: ties of one priority within a usage),
 * the pairs that compared equal must still be in the same relative order;
 * those outside a longest increasing run (patience sort, O(n log n)) moved,
 * and are reported as changed.
 *
 * Scratch lives in one arena freed on return; only the result lists are
 * malloc'd, since they outlive the configs.
 */
#include "cfg_diff.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rt_arena.h"
#include "rt_index.h"

#define CFG_DIFF_NONE UINT32_MAX

enum cfg_diff_state {
	CFG_DIFF_S_ADDED = 0, /* arena memory starts zeroed: unpaired until shown otherwise */
	CFG_DIFF_S_SAME,
	CFG_DIFF_S_CHANGED,
};

/* ------------------------------------------------------------------------ */
/* Field comparison */

/* The protobuf Config cannot tell NULL from "" (cfg_proto.c packs NULL as
 * "" and unpacks "" as NULL), so neither may the diff: a config that made
 * the round trip must equal itself. */
static bool str_eq(const char *x, const char *y)
{
	return !strcmp(x ? x : "", y ? y : "");
}

static bool strs_eq(const char *const *x, size_t nx, const char *const *y, size_t ny)
{
	if (nx != ny)
		return false;
	for (size_t i = 0; i < nx; i++)
		if (!str_eq(x[i], y[i]))
			return false;
	return true;
}

/* Rules are ordered (first match applies); their lines do not count. */
static bool rules_eq(const struct rt_cfg_rule *x, size_t nx, const struct rt_cfg_rule *y,
		     size_t ny)
{
	if (nx != ny)
		return false;
	for (size_t i = 0; i < nx; i++)
		if (!str_eq(x[i].match, y[i].match) || !str_eq(x[i].replace, y[i].replace))
			return false;
	return true;
}

static bool codes_eq(const struct rt_codeset *x, const struct rt_codeset *y)
{
	return !memcmp(x->bits, y->bits, sizeof(x->bits));
}

static bool gateway_same(const struct rt_config *a, size_t i, const struct rt_config *b, size_t j)
{
	const struct rt_cfg_gateway *x = &a->gateways[i], *y = &b->gateways[j];
	if (!str_eq(x->address, y->address) || !str_eq(x->site, y->site) ||
	    x->port != y->port || x->transport != y->transport ||
	    x->priority != y->priority || x->weight != y->weight ||
	    x->has_failover_codes != y->has_failover_codes)
		return false;
	/* Without its own set the gateway follows the global one, whatever
	 * its unused field holds. */
	return !x->has_failover_codes || codes_eq(&x->failover_codes, &y->failover_codes);
}

static bool trunk_same(const struct rt_config *a, size_t i, const struct rt_config *b, size_t j)
{
	const struct rt_cfg_trunk *x = &a->trunks[i], *y = &b->trunks[j];
	return str_eq(x->gateway, y->gateway) &&
	       rules_eq(x->called, x->n_called, y->called, y->n_called) &&
	       rules_eq(x->calling, x->n_calling, y->calling, y->n_calling);
}

/* A usage is nothing but its name, and an assignment's key is all of it:
 * paired, they are the same. */
static bool key_only_same(const struct rt_config *a, size_t i, const struct rt_config *b,
			  size_t j)
{
	return true;
}

bool cfg_route_same(const struct rt_cfg_route *x, const struct rt_cfg_route *y)
{
	return str_eq(x->pattern, y->pattern) && x->priority == y->priority &&
	       str_eq(x->fallback, y->fallback) &&
	       strs_eq(x->usages, x->n_usages, y->usages, y->n_usages) &&
	       strs_eq(x->trunks, x->n_trunks, y->trunks, y->n_trunks);
}

static bool route_same(const struct rt_config *a, size_t i, const struct rt_config *b, size_t j)
{
	return cfg_route_same(&a->routes[i], &b->routes[j]);
}

static bool policy_same(const struct rt_config *a, size_t i, const struct rt_config *b, size_t j)
{
	const struct rt_cfg_policy *x = &a->policies[i], *y = &b->policies[j];
	return x->is_default == y->is_default && str_eq(x->dial_plan, y->dial_plan) &&
	       strs_eq(x->usages, x->n_usages, y->usages, y->n_usages);
}

static bool dial_plan_same(const struct rt_config *a, size_t i, const struct rt_config *b,
			   size_t j)
{
	const struct rt_cfg_dial_plan *x = &a->dial_plans[i], *y = &b->dial_plans[j];
	return x->is_default == y->is_default && rules_eq(x->rules, x->n_rules, y->rules, y->n_rules);
}

static bool globals_same(const struct rt_config *a, const struct rt_config *b)
{
	return codes_eq(&a->failover_codes, &b->failover_codes) &&
	       a->sip.max_contacts == b->sip.max_contacts &&
	       a->sip.retry_after == b->sip.retry_after;
}

/* ------------------------------------------------------------------------ */
/* Kinds */

/* Keys are NUL-terminated (rt_index hashes up to the NUL); what is shown
 * starts `shown` bytes in, so a key can carry a prefix that makes it
 * unambiguous without showing it. */
struct cfg_diff_key {
	const char *key;
	const char *shown;
};

struct cfg_diff_ops {
	const char *name;
	size_t (*count)(const struct rt_config *c);
	/* 0, or -ENOMEM; may allocate in ar. */
	int (*key)(const struct rt_config *c, size_t i, struct rt_arena *ar, struct cfg_diff_key *k);
	bool (*same)(const struct rt_config *a, size_t i, const struct rt_config *b, size_t j);
};

static int name_key(const char *name, struct cfg_diff_key *k)
{
	/* A nameless object (rejected by validation, but a config built in
	 * code may hold one) pairs with another nameless one. */
	k->key = k->shown = name ? name : "";
	return 0;
}

#define CFG_DIFF_NAMED(field)                                                                \
	static size_t field##_count(const struct rt_config *c)                               \
	{                                                                                    \
		return c ? c->n_##field : 0;                                                 \
	}                                                                                    \
	static int field##_key(const struct rt_config *c, size_t i, struct rt_arena *ar,     \
			       struct cfg_diff_key *k)                                       \
	{                                                                                    \
		return name_key(c->field[i].name, k);                                        \
	}
CFG_DIFF_NAMED(gateways)
CFG_DIFF_NAMED(trunks)
CFG_DIFF_NAMED(usages)
CFG_DIFF_NAMED(routes)
CFG_DIFF_NAMED(policies)
CFG_DIFF_NAMED(dial_plans)

static size_t assignments_count(const struct rt_config *c)
{
	return c ? c->n_assignments : 0;
}

/* "PATTERN -> POLICY" is what the operator recognises, but a pattern or a
 * policy name could itself hold " -> "; the key leads with the pattern's
 * length so two different pairs never share a key. */
static int assignments_key(const struct rt_config *c, size_t i, struct rt_arena *ar,
			   struct cfg_diff_key *k)
{
	const struct rt_cfg_assignment *as = &c->assignments[i];
	const char *pat = as->pattern ? as->pattern : "";
	char *key = rt_arena_printf(ar, "%zu:%s -> %s", strlen(pat), pat,
				    as->policy ? as->policy : "");
	if (!key)
		return -ENOMEM;
	k->key = key;
	k->shown = strchr(key, ':') + 1;
	return 0;
}

static const struct cfg_diff_ops cfg_diff_ops[CFG_DIFF_KINDS] = {
	[CFG_DIFF_GATEWAY] = {"gateway", gateways_count, gateways_key, gateway_same},
	[CFG_DIFF_TRUNK] = {"trunk", trunks_count, trunks_key, trunk_same},
	[CFG_DIFF_USAGE] = {"usage", usages_count, usages_key, key_only_same},
	[CFG_DIFF_ROUTE] = {"route", routes_count, routes_key, route_same},
	[CFG_DIFF_POLICY] = {"policy", policies_count, policies_key, policy_same},
	[CFG_DIFF_ASSIGNMENT] = {"assignment", assignments_count, assignments_key, key_only_same},
	[CFG_DIFF_DIAL_PLAN] = {"dial_plan", dial_plans_count, dial_plans_key, dial_plan_same},
};

const char *cfg_diff_kind_name(enum cfg_diff_kind k)
{
	return (unsigned)k < CFG_DIFF_KINDS ? cfg_diff_ops[k].name : "?";
}

/* ------------------------------------------------------------------------ */
/* Pairing */

/* One kind while diffing: every array in the scratch arena. */
struct cfg_diff_pairs {
	size_t na, nb;
	struct cfg_diff_key *akey, *bkey;
	struct rt_index aix;  /* a's key -> its first object with that key */
	uint32_t *pair;       /* per object of b: its object of a, or CFG_DIFF_NONE */
	uint8_t *state;       /* per object of b: enum cfg_diff_state */
	bool *paired;         /* per object of a */
};

static int pair_kind(const struct cfg_diff_ops *ops, const struct rt_config *a,
		     const struct rt_config *b, struct rt_arena *ar, struct cfg_diff_pairs *p)
{
	size_t na = ops->count(a), nb = ops->count(b);
	/* Indices are 32-bit here as in the snapshot, which could not hold
	 * more objects either. */
	if (na >= CFG_DIFF_NONE || nb >= CFG_DIFF_NONE)
		return -ENOMEM;
	p->na = na;
	p->nb = nb;
	p->akey = rt_arena_calloc(ar, na + 1, sizeof(*p->akey));
	p->bkey = rt_arena_calloc(ar, nb + 1, sizeof(*p->bkey));
	p->pair = rt_arena_calloc(ar, nb + 1, sizeof(*p->pair));
	p->state = rt_arena_calloc(ar, nb + 1, sizeof(*p->state));
	p->paired = rt_arena_calloc(ar, na + 1, sizeof(*p->paired));
	/* Repeats of a key chain from its first object: next links the
	 * chain, last is its tail (while building) and cursor the next one
	 * still unpaired (while pairing); both only at first objects. */
	uint32_t *next = rt_arena_calloc(ar, na + 1, sizeof(*next));
	uint32_t *last = rt_arena_calloc(ar, na + 1, sizeof(*last));
	uint32_t *cursor = rt_arena_calloc(ar, na + 1, sizeof(*cursor));
	if (!p->akey || !p->bkey || !p->pair || !p->state || !p->paired || !next || !last ||
	    !cursor || rt_index_init(&p->aix, ar, na))
		return -ENOMEM;

	for (size_t i = 0; i < na; i++) {
		if (ops->key(a, i, ar, &p->akey[i]))
			return -ENOMEM;
		uint32_t first;
		next[i] = CFG_DIFF_NONE;
		if (rt_index_put(&p->aix, p->akey[i].key, (uint32_t)i, &first) == -EEXIST) {
			next[last[first]] = (uint32_t)i;
			last[first] = (uint32_t)i;
		} else {
			last[i] = cursor[i] = (uint32_t)i;
		}
	}
	for (size_t j = 0; j < nb; j++) {
		if (ops->key(b, j, ar, &p->bkey[j]))
			return -ENOMEM;
		long f = rt_index_get(&p->aix, p->bkey[j].key, (size_t)-1);
		uint32_t i = f < 0 ? CFG_DIFF_NONE : cursor[f];
		p->pair[j] = i;
		if (i == CFG_DIFF_NONE)
			continue; /* state stays ADDED */
		cursor[f] = next[i];
		p->paired[i] = true;
		p->state[j] = ops->same(a, i, b, j) ? CFG_DIFF_S_SAME : CFG_DIFF_S_CHANGED;
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Order */

/*
 * keep[k] set for the members of one longest strictly increasing
 * subsequence of seq[0..m); tails and prev are scratch of m entries. When
 * one object moves past two or more others, those that stayed form the only
 * longest run, so the mover is what falls outside; when two swap, either
 * run is as long, and the later one in b is kept.
 */
static void lis_keep(const uint32_t *seq, size_t m, uint32_t *tails, uint32_t *prev, bool *keep)
{
	size_t len = 0;
	for (size_t k = 0; k < m; k++) {
		size_t lo = 0, hi = len;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (seq[tails[mid]] < seq[k])
				lo = mid + 1;
			else
				hi = mid;
		}
		prev[k] = lo ? tails[lo - 1] : CFG_DIFF_NONE;
		tails[lo] = (uint32_t)k;
		if (lo == len)
			len++;
		keep[k] = false;
	}
	for (uint32_t k = len ? tails[len - 1] : CFG_DIFF_NONE; k != CFG_DIFF_NONE; k = prev[k])
		keep[k] = true;
}

/* Scratch for lis_keep over up to m entries. */
struct cfg_lis {
	uint32_t *seq, *tails, *prev;
	bool *keep;
};

static int lis_init(struct cfg_lis *l, struct rt_arena *ar, size_t m)
{
	l->seq = rt_arena_calloc(ar, m + 1, sizeof(*l->seq));
	l->tails = rt_arena_calloc(ar, m + 1, sizeof(*l->tails));
	l->prev = rt_arena_calloc(ar, m + 1, sizeof(*l->prev));
	l->keep = rt_arena_calloc(ar, m + 1, sizeof(*l->keep));
	return l->seq && l->tails && l->prev && l->keep ? 0 : -ENOMEM;
}

/* The first matching assignment picks the policy: unchanged assignments
 * must keep their relative order. */
static int order_assignments(struct cfg_diff_pairs *p, struct rt_arena *ar)
{
	struct cfg_lis l;
	uint32_t *who = rt_arena_calloc(ar, p->nb + 1, sizeof(*who));
	if (!who || lis_init(&l, ar, p->nb))
		return -ENOMEM;
	size_t m = 0;
	for (size_t j = 0; j < p->nb; j++)
		if (p->state[j] == CFG_DIFF_S_SAME) {
			l.seq[m] = p->pair[j];
			who[m++] = (uint32_t)j;
		}
	lis_keep(l.seq, m, l.tails, l.prev, l.keep);
	for (size_t k = 0; k < m; k++)
		if (!l.keep[k])
			p->state[who[k]] = CFG_DIFF_S_CHANGED;
	return 0;
}

struct cfg_rank_item {
	uint32_t priority;
	uint32_t idx;
};

static int rank_cmp(const void *x, const void *y)
{
	const struct cfg_rank_item *p = x, *q = y;
	if (p->priority != q->priority)
		return p->priority < q->priority ? -1 : 1;
	return p->idx < q->idx ? -1 : p->idx > q->idx;
}

/* Routes ranked as rt_snapshot_build() walks them: priority, then config
 * order. Fills order[r] (the route at rank r) and/or rank[i] (the rank of
 * route i), whichever is not NULL. */
static int rank_routes(const struct rt_config *c, size_t n, uint32_t *order, uint32_t *rank)
{
	struct cfg_rank_item *it = malloc((n ? n : 1) * sizeof(*it));
	if (!it)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		it[i].priority = c->routes[i].priority;
		it[i].idx = (uint32_t)i;
	}
	qsort(it, n, sizeof(*it), rank_cmp);
	for (size_t r = 0; r < n; r++) {
		if (order)
			order[r] = it[r].idx;
		if (rank)
			rank[it[r].idx] = (uint32_t)r;
	}
	free(it);
	return 0;
}

/* A usage's number: its first object in a. -1 for a usage a does not
 * define (a's validation would have refused it): it orders nothing. */
static long usage_id(const struct cfg_diff_pairs *usages, const char *name)
{
	return rt_index_get(&usages->aix, name ? name : "", (size_t)-1);
}

/*
 * Routes carrying one usage are walked by priority, ties in config order,
 * so among unchanged routes that share a usage the relative order must
 * hold. Routes with no usage in common may pass each other freely, and a
 * priority is a field (already compared). An unchanged route names the
 * same usages on both sides, so a's usage index numbers them.
 *
 * The (route, usage) memberships are bucketed by usage with a counting
 * sort, visiting routes in b's rank order, so each bucket is already the
 * sequence to check: a's ranks must increase along it.
 */
static int order_routes(const struct rt_config *a, const struct rt_config *b,
			struct cfg_diff_pairs *p, const struct cfg_diff_pairs *usages,
			struct rt_arena *ar)
{
	size_t nu = usages->na;
	uint32_t *arank = rt_arena_calloc(ar, p->na + 1, sizeof(*arank));
	uint32_t *border = rt_arena_calloc(ar, p->nb + 1, sizeof(*border));
	size_t *start = rt_arena_calloc(ar, nu + 1, sizeof(*start));
	size_t *fill = rt_arena_calloc(ar, nu + 1, sizeof(*fill));
	if (!arank || !border || !start || !fill || rank_routes(a, p->na, NULL, arank) ||
	    rank_routes(b, p->nb, border, NULL))
		return -ENOMEM;

	/* Count memberships per usage into start[u + 1]; prefix sums then
	 * make start[u] where usage u's bucket begins, start[nu] the total.
	 * (A usage named twice on one route is counted twice but stored
	 * once: buckets may have room to spare.) */
	for (size_t j = 0; j < p->nb; j++) {
		if (p->state[j] != CFG_DIFF_S_SAME)
			continue;
		const struct rt_cfg_route *rt = &b->routes[j];
		for (size_t k = 0; k < rt->n_usages; k++) {
			long u = usage_id(usages, rt->usages[k]);
			if (u >= 0)
				start[u + 1]++;
		}
	}
	for (size_t u = 1; u <= nu; u++)
		start[u] += start[u - 1];
	size_t m = start[nu];

	uint32_t *bucket = rt_arena_calloc(ar, m + 1, sizeof(*bucket));
	struct cfg_lis l;
	if (!bucket || lis_init(&l, ar, m))
		return -ENOMEM;
	for (size_t r = 0; r < p->nb; r++) {
		uint32_t j = border[r];
		if (p->state[j] != CFG_DIFF_S_SAME)
			continue;
		const struct rt_cfg_route *rt = &b->routes[j];
		for (size_t k = 0; k < rt->n_usages; k++) {
			long u = usage_id(usages, rt->usages[k]);
			if (u < 0)
				continue;
			/* A usage named twice on one route is one membership. */
			if (fill[u] && bucket[start[u] + fill[u] - 1] == j)
				continue;
			bucket[start[u] + fill[u]++] = j;
		}
	}
	for (size_t u = 0; u < nu; u++) {
		const uint32_t *js = bucket + start[u];
		size_t n = fill[u];
		for (size_t k = 0; k < n; k++)
			l.seq[k] = arank[p->pair[js[k]]];
		lis_keep(l.seq, n, l.tails, l.prev, l.keep);
		for (size_t k = 0; k < n; k++)
			if (!l.keep[k])
				p->state[js[k]] = CFG_DIFF_S_CHANGED;
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Result */

static int list_fill(struct cfg_diff_list *l, size_t n, const struct cfg_diff_key *keys,
		     size_t nkeys, const uint8_t *state, uint8_t want, const bool *paired)
{
	if (!n)
		return 0;
	l->names = calloc(n, sizeof(*l->names));
	if (!l->names)
		return -ENOMEM;
	for (size_t i = 0; i < nkeys; i++) {
		bool in = state ? state[i] == want : !paired[i];
		if (!in)
			continue;
		if (!(l->names[l->n] = strdup(keys[i].shown)))
			return -ENOMEM;
		l->n++;
	}
	return 0;
}

static int fill_entry(struct cfg_diff_entry *e, const struct cfg_diff_pairs *p)
{
	size_t added = 0, changed = 0, removed = 0;
	for (size_t j = 0; j < p->nb; j++) {
		added += p->state[j] == CFG_DIFF_S_ADDED;
		changed += p->state[j] == CFG_DIFF_S_CHANGED;
	}
	for (size_t i = 0; i < p->na; i++)
		removed += !p->paired[i];
	if (list_fill(&e->added, added, p->bkey, p->nb, p->state, CFG_DIFF_S_ADDED, NULL) ||
	    list_fill(&e->changed, changed, p->bkey, p->nb, p->state, CFG_DIFF_S_CHANGED, NULL) ||
	    list_fill(&e->removed, removed, p->akey, p->na, NULL, 0, p->paired))
		return -ENOMEM;
	return 0;
}

static int diff_into(const struct rt_config *a, const struct rt_config *b, struct cfg_diff *out,
		     struct rt_arena *ar)
{
	struct cfg_diff_pairs p[CFG_DIFF_KINDS];
	memset(p, 0, sizeof(p));
	for (int k = 0; k < CFG_DIFF_KINDS; k++)
		if (pair_kind(&cfg_diff_ops[k], a, b, ar, &p[k]))
			return -ENOMEM;
	if (order_assignments(&p[CFG_DIFF_ASSIGNMENT], ar) ||
	    (a && b && order_routes(a, b, &p[CFG_DIFF_ROUTE], &p[CFG_DIFF_USAGE], ar)))
		return -ENOMEM;
	for (int k = 0; k < CFG_DIFF_KINDS; k++)
		if (fill_entry(&out->kinds[k], &p[k]))
			return -ENOMEM;
	/* Nothing running: whatever b sets is new. */
	out->globals_changed = !a || !b ? a != b : !globals_same(a, b);
	return 0;
}

int cfg_diff(const struct rt_config *a, const struct rt_config *b, struct cfg_diff *out)
{
	memset(out, 0, sizeof(*out));
	struct rt_arena *ar = rt_arena_new();
	int rc = ar ? diff_into(a, b, out, ar) : -ENOMEM;
	rt_arena_free(ar);
	if (rc)
		cfg_diff_free(out);
	return rc;
}

static void list_free(struct cfg_diff_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->names[i]);
	free(l->names);
	l->names = NULL;
	l->n = 0;
}

void cfg_diff_free(struct cfg_diff *d)
{
	if (!d)
		return;
	for (int k = 0; k < CFG_DIFF_KINDS; k++) {
		list_free(&d->kinds[k].added);
		list_free(&d->kinds[k].removed);
		list_free(&d->kinds[k].changed);
	}
	d->globals_changed = false;
}

size_t cfg_diff_changes(const struct cfg_diff *d)
{
	size_t n = d->globals_changed;
	for (int k = 0; k < CFG_DIFF_KINDS; k++)
		n += d->kinds[k].added.n + d->kinds[k].removed.n + d->kinds[k].changed.n;
	return n;
}
