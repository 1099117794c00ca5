/*
 * The routing decision (SPEC section 3). Hot path: one matcher pass per
 * number (route patterns: a trie walk, plus a Hyperscan scan for patterns
 * the trie cannot hold; dial plan and assignment passes when the config
 * has them), walks over small arrays, PCRE2 only for the trunk
 * translations of the destinations actually returned. No allocation, no
 * locks, no system calls.
 */
#include "rt_decide.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rt_bytes.h"
#include "rt_snapshot_int.h"

#define RT_BURST_IDS 64
/* Translations a decision remembers (a power of two). */
#define RT_XL_SLOTS 4
/* Route matchers up to this size are decided one query at a time in a
 * burst too (see rt_decide_burst). */
#define RT_BURST_CACHED (2048u << 10)
/* route_number picks this many (position, route) pairs one at a time
 * before it sorts the rest. */
#define RT_PICK_FIRST 8

struct rt_scratch {
	hs_scratch_t *hs;
	pcre2_match_data *md;
	uint32_t md_pairs;
	uint32_t *matched[2]; /* route ids for the number, and for a fallback number */
	uint32_t matched_cap;
	/* Per-gateway stamps: == epoch means "already in this answer" / "tried
	 * by this call". Stamps avoid clearing arrays per decision. */
	uint32_t *gw_seen;
	uint32_t *gw_tried;
	uint32_t gw_cap;
	uint32_t epoch;
	uint32_t *order;
	uint32_t order_cap;
	/* Per usage: u_stamp == epoch when the decision's policy lists it, at
	 * position u_pos. */
	uint32_t *u_stamp;
	uint32_t *u_pos;
	uint32_t u_cap;
	/* (policy position << 32 | route id) of the matched routes' usages the
	 * policy lists: for the number, and for a fallback number. */
	uint64_t *pairs[2];
	uint32_t pairs_cap;
	struct rt_dest degraded[RT_MAX_DEST];
	/* This decision's translations (epoch == this decision's), by (rule
	 * set, number), in the slot of the set's low bits. */
	struct {
		uint32_t set, epoch;
		const char *num;
		char out[RT_NUM_MAX];
	} xl[RT_XL_SLOTS];
	/* rt_decide_burst: each number's matcher probe, and its matched route
	 * ids (RT_BURST_IDS at most; more and the decision collects again). */
	struct rt_matcher_probe bp[RT_BURST];
	bool stage_always; /* rt_scratch_stage_bursts */
	uint32_t bids[RT_BURST][RT_BURST_IDS];
};

/* ---- names --------------------------------------------------------------- */

static const char *const status_names[] = {
	[RT_ROUTED] = "ROUTED",
	[RT_NO_ROUTE] = "NO_ROUTE",
	[RT_NOT_PERMITTED] = "NOT_PERMITTED",
	[RT_ALL_UNAVAILABLE] = "ALL_UNAVAILABLE",
	[RT_NO_FAILOVER] = "NO_FAILOVER",
	[RT_BAD_REQUEST] = "BAD_REQUEST",
};

const char *rt_status_name(enum rt_status s)
{
	return (unsigned)s < RT_STATUS_COUNT ? status_names[s] : "?";
}

uint16_t rt_status_sip_code(enum rt_status s)
{
	switch (s) {
	case RT_ROUTED:
		return 302;
	case RT_NO_ROUTE:
		return 404;
	case RT_NOT_PERMITTED:
		return 403;
	case RT_ALL_UNAVAILABLE:
		return 503;
	case RT_BAD_REQUEST:
		return 400;
	case RT_NO_FAILOVER:
	default:
		return 0;
	}
}

static const char *const health_names[] = {
	[RT_HEALTH_UNKNOWN] = "unknown",  [RT_HEALTH_UP] = "up",
	[RT_HEALTH_DEGRADED] = "degraded", [RT_HEALTH_DRAINING] = "draining",
	[RT_HEALTH_DOWN] = "down",
};

const char *rt_health_name(enum rt_health h)
{
	return (unsigned)h < RT_HEALTH_COUNT ? health_names[h] : "?";
}

int rt_health_parse(const char *s, enum rt_health *out)
{
	for (unsigned i = 0; i < RT_HEALTH_COUNT; i++) {
		if (!strcasecmp(s, health_names[i])) {
			*out = (enum rt_health)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *rt_skip_reason_name(enum rt_skip_reason r)
{
	switch (r) {
	case RT_SKIP_DOWN:
		return "down";
	case RT_SKIP_DRAINING:
		return "draining";
	case RT_SKIP_TRIED:
		return "tried";
	case RT_SKIP_DUPLICATE:
		return "duplicate";
	case RT_SKIP_LIMIT:
		return "limit";
	}
	return "?";
}

/* ---- scratch ------------------------------------------------------------- */

/* Every stamp back to 0 and the epoch with it (then 1 is the next). */
static void restart_stamps(struct rt_scratch *sc)
{
	memset(sc->gw_seen, 0, sc->gw_cap * sizeof(uint32_t));
	memset(sc->gw_tried, 0, sc->gw_cap * sizeof(uint32_t));
	memset(sc->u_stamp, 0, sc->u_cap * sizeof(uint32_t));
	for (uint32_t i = 0; i < RT_XL_SLOTS; i++)
		sc->xl[i].epoch = 0;
	sc->epoch = 0;
}

static int grow_u32(uint32_t **p, uint32_t *cap, uint32_t want)
{
	if (*cap >= want && *p)
		return 0;
	uint32_t *n = calloc(want ? want : 1, sizeof(uint32_t));
	if (!n)
		return -ENOMEM;
	free(*p);
	*p = n;
	*cap = want;
	return 0;
}

int rt_scratch_ready(struct rt_scratch *sc, const struct rt_snapshot *s)
{
	if (rt_matcher_ready(&s->route_m, &sc->hs) || rt_matcher_ready(&s->over_m, &sc->hs) ||
	    rt_matcher_ready(&s->dial_m, &sc->hs) || rt_matcher_ready(&s->assign_m, &sc->hs))
		return -ENOMEM;

	uint32_t pairs = s->max_captures + 1 < 10 ? 10 : s->max_captures + 1;
	if (!sc->md || sc->md_pairs < pairs) {
		pcre2_match_data *md = pcre2_match_data_create(pairs, NULL);
		if (!md)
			return -ENOMEM;
		if (sc->md)
			pcre2_match_data_free(sc->md);
		sc->md = md;
		sc->md_pairs = pairs;
	}

	if (sc->matched_cap < s->n_routes || !sc->matched[0]) {
		uint32_t cap0 = sc->matched_cap, cap1 = sc->matched_cap;
		if (grow_u32(&sc->matched[0], &cap0, s->n_routes) ||
		    grow_u32(&sc->matched[1], &cap1, s->n_routes))
			return -ENOMEM;
		sc->matched_cap = s->n_routes;
	}
	/* Stamp arrays start zeroed; any that grows restarts every stamp. */
	bool restamp = false;
	if (sc->gw_cap < s->n_gws || !sc->gw_seen) {
		uint32_t c0 = sc->gw_cap, c1 = sc->gw_cap;
		if (grow_u32(&sc->gw_seen, &c0, s->n_gws) || grow_u32(&sc->gw_tried, &c1, s->n_gws))
			return -ENOMEM;
		sc->gw_cap = s->n_gws;
		restamp = true;
	}
	if (sc->u_cap < s->n_usages || !sc->u_stamp) {
		uint32_t c0 = sc->u_cap, c1 = sc->u_cap;
		if (grow_u32(&sc->u_stamp, &c0, s->n_usages) || grow_u32(&sc->u_pos, &c1, s->n_usages))
			return -ENOMEM;
		sc->u_cap = s->n_usages;
		restamp = true;
	}
	if (restamp)
		restart_stamps(sc);
	if (sc->pairs_cap < s->n_route_usages || !sc->pairs[0]) {
		uint32_t want = s->n_route_usages ? s->n_route_usages : 1;
		uint64_t *p0 = calloc(want, sizeof(uint64_t)), *p1 = calloc(want, sizeof(uint64_t));
		if (!p0 || !p1) {
			free(p0);
			free(p1);
			return -ENOMEM;
		}
		free(sc->pairs[0]);
		free(sc->pairs[1]);
		sc->pairs[0] = p0;
		sc->pairs[1] = p1;
		sc->pairs_cap = want;
	}
	if (grow_u32(&sc->order, &sc->order_cap, s->max_route_trunks))
		return -ENOMEM;
	return 0;
}

struct rt_scratch *rt_scratch_new(const struct rt_snapshot *s)
{
	struct rt_scratch *sc = calloc(1, sizeof(*sc));
	if (!sc)
		return NULL;
	if (rt_scratch_ready(sc, s)) {
		rt_scratch_free(sc);
		return NULL;
	}
	return sc;
}

void rt_scratch_stage_bursts(struct rt_scratch *sc, bool always)
{
	sc->stage_always = always;
}

void rt_scratch_free(struct rt_scratch *sc)
{
	if (!sc)
		return;
	if (sc->hs)
		hs_free_scratch(sc->hs);
	if (sc->md)
		pcre2_match_data_free(sc->md);
	free(sc->matched[0]);
	free(sc->matched[1]);
	free(sc->gw_seen);
	free(sc->gw_tried);
	free(sc->order);
	free(sc->u_stamp);
	free(sc->u_pos);
	free(sc->pairs[0]);
	free(sc->pairs[1]);
	free(sc);
}

/* ---- helpers ------------------------------------------------------------- */

struct walk {
	const struct rt_snapshot *s;
	const struct rt_health_view *h;
	const struct rt_query *q;
	struct rt_scratch *sc;
	struct rt_answer *ans;
	struct rt_explain *ex;
	const struct rt_policy *pol;
	uint64_t seed;
	uint32_t max;
	uint32_t n_healthy;
	uint32_t n_degraded;
	uint32_t n_matched; /* for the dialled number (depth 0) */
	/* The dialled number's matched route ids, when a burst collected them
	 * already (pre_n of them, unsorted); NULL: route_number collects. */
	uint32_t *pre;
	uint32_t pre_n;
	bool permitted;
	bool full;
	bool scan_failed;
};

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static bool valid_number(struct rt_str n)
{
	if (n.len == 0 || n.len >= RT_NUM_MAX)
		return false;
	return rt_bytes_in(n.p, n.len, 0x21, 0x7e); /* printable, no space */
}

/*
 * Ascending sort without allocation (glibc qsort may malloc): insertion sort
 * for the short lists that are the common case, heapsort otherwise. One
 * body for route ids and for (position, route) pairs; keys are distinct, so
 * any correct sort gives the one order.
 */
#define RT_DEFINE_SORT(name, T)                                                       \
	static void name(T *a, uint32_t n)                                             \
	{                                                                              \
		if (n <= 24) {                                                         \
			for (uint32_t i = 1; i < n; i++) {                             \
				T v = a[i];                                            \
				uint32_t j = i;                                        \
				while (j > 0 && a[j - 1] > v) {                        \
					a[j] = a[j - 1];                               \
					j--;                                           \
				}                                                      \
				a[j] = v;                                              \
			}                                                              \
			return;                                                        \
		}                                                                      \
		for (uint32_t start = n / 2; start-- > 0;)                             \
			name##_sift(a, start, n);                                      \
		for (uint32_t end = n - 1; end > 0; end--) {                           \
			T t = a[0];                                                    \
			a[0] = a[end];                                                 \
			a[end] = t;                                                    \
			name##_sift(a, 0, end);                                        \
		}                                                                      \
	}

#define RT_DEFINE_SIFT(name, T)                                                       \
	static void name##_sift(T *a, uint32_t root, uint32_t n)                      \
	{                                                                              \
		for (uint32_t child; (child = 2 * root + 1) < n; root = child) {       \
			if (child + 1 < n && a[child] < a[child + 1])                  \
				child++;                                               \
			if (a[root] >= a[child])                                       \
				break;                                                 \
			T t = a[root];                                                 \
			a[root] = a[child];                                            \
			a[child] = t;                                                  \
		}                                                                      \
	}

RT_DEFINE_SIFT(sort_ids, uint32_t)
RT_DEFINE_SORT(sort_ids, uint32_t)
RT_DEFINE_SIFT(sort_u64, uint64_t)
RT_DEFINE_SORT(sort_u64, uint64_t)

struct collect {
	uint32_t *ids;
	uint32_t n;
	uint32_t cap;
};

/* Lowest matching id inside [lo, hi): "first matching rule applies". */
struct first_in {
	uint32_t lo, hi, best;
};

static int first_in_range(unsigned id, void *p)
{
	struct first_in *f = p;
	if (id >= f->lo && id < f->hi && id < f->best)
		f->best = id;
	return 0;
}

static enum rt_health effective_health(const struct walk *w, uint32_t g, int32_t site)
{
	uint8_t gs = w->h->gateway ? w->h->gateway[g] : RT_HEALTH_UNKNOWN;
	uint8_t ss = site >= 0 && w->h->site ? w->h->site[site] : RT_HEALTH_UNKNOWN;
	if (gs >= RT_HEALTH_COUNT)
		gs = RT_HEALTH_UNKNOWN;
	if (ss >= RT_HEALTH_COUNT)
		ss = RT_HEALTH_UNKNOWN;
	/* The enum is ordered by severity (unknown/up < degraded < draining <
	 * down), so the worse of the two is the larger. */
	return (enum rt_health)(gs > ss ? gs : ss);
}

static void explain_skip(struct walk *w, uint32_t g, uint32_t r, uint32_t u,
			 enum rt_skip_reason why, enum rt_health hs)
{
	struct rt_explain *ex = w->ex;
	if (!ex)
		return;
	if (ex->n_skipped >= RT_EXPLAIN_MAX) {
		ex->skipped_dropped++;
		return;
	}
	ex->skipped[ex->n_skipped].gateway = w->s->gws[g].name;
	ex->skipped[ex->n_skipped].route = w->s->routes[r].name;
	ex->skipped[ex->n_skipped].usage = w->s->usages[u];
	ex->skipped[ex->n_skipped].reason = why;
	ex->skipped[ex->n_skipped].health = hs;
	ex->n_skipped++;
}

static void explain_fallback(struct walk *w, uint32_t r, bool followed)
{
	struct rt_explain *ex = w->ex;
	if (!ex || ex->n_fallbacks >= sizeof(ex->fallbacks) / sizeof(ex->fallbacks[0]))
		return;
	ex->fallbacks[ex->n_fallbacks].route = w->s->routes[r].name;
	ex->fallbacks[ex->n_fallbacks].target = w->s->routes[r].fallback;
	ex->fallbacks[ex->n_fallbacks].followed = followed;
	ex->n_fallbacks++;
}

/* First matching rule rewrites; none matching (or a result that does not
 * fit) leaves the number as it was. */
static void translate(const struct rt_rewrite *rules, uint32_t n, const char *num, size_t len,
		      pcre2_match_data *md, char out[RT_NUM_MAX])
{
	for (uint32_t i = 0; i < n; i++) {
		int rc = rt_rewrite_apply(&rules[i], num, len, md, out, RT_NUM_MAX);
		if (rc == 1)
			return;
		if (rc < 0)
			break;
	}
	memcpy(out, num, len);
	out[len] = '\0';
}

/* translate(), remembering results for the rest of the decision: the same
 * number through the same rule set (many trunks share one) again is a
 * copy (of the whole buffer: a fixed size copies without a call). */
static __attribute__((noinline)) void translate_slot(struct rt_scratch *sc, uint32_t slot,
						      const struct rt_rewrite *rules, uint32_t n,
						      uint32_t set, const char *num, size_t len)
{
	translate(rules, n, num, len, sc->md, sc->xl[slot].out);
	sc->xl[slot].set = set;
	sc->xl[slot].num = num;
	sc->xl[slot].epoch = sc->epoch;
}

static inline void translate_set(struct walk *w, const struct rt_rewrite *rules, uint32_t n,
				 uint32_t set, const char *num, size_t len, char out[RT_NUM_MAX])
{
	struct rt_scratch *sc = w->sc;
	uint32_t slot = set & (RT_XL_SLOTS - 1);
	if (sc->xl[slot].epoch != sc->epoch || sc->xl[slot].set != set || sc->xl[slot].num != num)
		translate_slot(sc, slot, rules, n, set, num, len);
	memcpy(out, sc->xl[slot].out, RT_NUM_MAX);
}

static struct rt_dest *next_slot(struct walk *w, bool degraded)
{
	if (degraded)
		return w->n_degraded < w->max ? &w->sc->degraded[w->n_degraded++] : NULL;
	if (w->n_healthy >= w->max)
		return NULL;
	struct rt_dest *d = &w->ans->dest[w->n_healthy++];
	if (w->n_healthy == w->max)
		w->full = true; /* nothing later could be offered: stop walking */
	return d;
}

RT_HOT_INLINE void add_gateway(struct walk *w, uint32_t t, uint32_t r, uint32_t u, bool degraded,
			       const char *num, size_t len, bool via_fallback)
{
	const struct rt_snapshot *s = w->s;
	const struct rt_trunk *tr = &s->trunks[t];
	const struct rt_gw *g = &s->gws[tr->gw];
	struct rt_dest *d = next_slot(w, degraded);
	if (!d) {
		explain_skip(w, tr->gw, r, u, RT_SKIP_LIMIT, degraded ? RT_HEALTH_DEGRADED : RT_HEALTH_UP);
		return;
	}
	w->sc->gw_seen[tr->gw] = w->sc->epoch;
	d->gateway = g->name;
	d->trunk = tr->name;
	d->route = s->routes[r].name;
	d->usage = s->usages[u];
	d->address = g->address;
	d->uri = NULL;
	d->port = g->port;
	d->transport = (enum rt_transport)g->transport;
	d->degraded = degraded;
	d->via_fallback = via_fallback;
	d->gateway_index = (int32_t)tr->gw;
	d->route_index = (int32_t)r;
	if (tr->n_called) {
		translate_set(w, tr->called, tr->n_called, tr->called_set, num, len, d->called);
	} else {
		memcpy(d->called, num, len);
		d->called[len] = '\0';
	}
	if (tr->n_calling) {
		translate_set(w, tr->calling, tr->n_calling, tr->calling_set,
			      w->q->calling.p ? w->q->calling.p : "", w->q->calling.len, d->calling);
	} else {
		if (w->q->calling.len)
			memcpy(d->calling, w->q->calling.p, w->q->calling.len);
		d->calling[w->q->calling.len] = '\0';
	}
}

static void add_uri(struct walk *w, uint32_t r, uint32_t u, const char *num, size_t len,
		    bool via_fallback)
{
	const char *uri = w->s->routes[r].fallback;
	for (uint32_t i = 0; i < w->n_healthy; i++)
		if (w->ans->dest[i].uri && !strcmp(w->ans->dest[i].uri, uri))
			return;
	struct rt_dest *d = next_slot(w, false);
	if (!d)
		return;
	memset(d, 0, sizeof(*d));
	d->route = w->s->routes[r].name;
	d->usage = w->s->usages[u];
	d->uri = uri;
	d->gateway_index = -1;
	d->route_index = (int32_t)r;
	d->via_fallback = via_fallback;
	memcpy(d->called, num, len);
	d->called[len] = '\0';
	size_t cl = w->q->calling.len;
	if (cl)
		memcpy(d->calling, w->q->calling.p, cl);
	d->calling[cl] = '\0';
}

/*
 * RFC 2782 ordering of one equal-priority run of trunks: zero-weight
 * entries first, then repeatedly pick by running sum against a uniform
 * number in [0, sum]. The generator is seeded per call and route so a
 * retransmission or failover query for the same call sees the same order.
 */
static void weighted_order(const struct walk *w, const uint32_t *trunks, uint32_t n,
			   uint32_t *out, uint64_t *rng)
{
	const struct rt_tk *tk = w->s->tk;
	if (n < 2) {
		out[0] = trunks[0];
		return;
	}
	uint32_t k = 0;
	for (uint32_t i = 0; i < n; i++)
		if (tk[trunks[i]].weight == 0)
			out[k++] = trunks[i];
	for (uint32_t i = 0; i < n; i++)
		if (tk[trunks[i]].weight != 0)
			out[k++] = trunks[i];
	for (uint32_t pos = 0; pos + 1 < n; pos++) {
		uint64_t sum = 0;
		for (uint32_t x = pos; x < n; x++)
			sum += tk[out[x]].weight;
		uint64_t pick = splitmix64(rng) % (sum + 1);
		uint64_t run = 0;
		uint32_t x = pos;
		for (; x < n; x++) {
			run += tk[out[x]].weight;
			if (run >= pick)
				break;
		}
		if (x == n)
			x = n - 1;
		uint32_t chosen = out[x];
		memmove(&out[pos + 1], &out[pos], (x - pos) * sizeof(*out));
		out[pos] = chosen;
	}
}

static void route_number(struct walk *w, const char *num, size_t len, int depth);

/*
 * A patched snapshot (rt_snapshot_patch): the layer's matches (over_m ids
 * from 0 are routes n_base..) appended to the base's n in ids; each route
 * once, so cap (the route count) is never reached. The base's masked
 * routes are still in; drop_masked takes them out where their routes are
 * read anyway. 0, or -EIO.
 */
static int layer_collect(const struct rt_snapshot *s, struct rt_scratch *sc, const char *num,
			 size_t len, uint32_t *ids, uint32_t cap, uint32_t *n)
{
	uint32_t k = *n < cap ? *n : cap, m = 0;
	if (rt_matcher_collect(&s->over_m, num, len, sc->hs, ids + k, cap - k, &m))
		return -EIO;
	for (uint32_t i = 0; i < m && k + i < cap; i++)
		ids[k + i] += s->n_base;
	*n = k + m;
	return 0;
}

static void drop_masked(const struct rt_snapshot *s, uint32_t *ids, uint32_t *n)
{
	uint32_t k = 0;
	for (uint32_t i = 0; i < *n; i++)
		if (!s->routes[ids[i]].masked)
			ids[k++] = ids[i];
	*n = k;
}

static int collect_routes(const struct rt_snapshot *s, struct rt_scratch *sc, const char *num,
			  size_t len, uint32_t *ids, uint32_t cap, uint32_t *n)
{
	if (rt_matcher_collect(&s->route_m, num, len, sc->hs, ids, cap, n))
		return -EIO;
	return s->base ? layer_collect(s, sc, num, len, ids, cap, n) : 0;
}

/* Route ids into walk order: ascending ids in a full build, by rank in a
 * patched one. */
static void sort_walk(const struct rt_snapshot *s, uint32_t *ids, uint32_t n)
{
	if (!s->by_rank) {
		sort_ids(ids, n);
		return;
	}
	for (uint32_t i = 0; i < n; i++)
		ids[i] = s->routes[ids[i]].rank;
	sort_ids(ids, n);
	for (uint32_t i = 0; i < n; i++)
		ids[i] = s->by_rank[ids[i]];
}

long rt_match_routes(const struct rt_snapshot *s, struct rt_scratch *sc, const char *num,
		     size_t len, uint32_t *ids, uint32_t cap)
{
	struct collect c = {sc->matched[0], 0, sc->matched_cap};
	if (collect_routes(s, sc, num, len, c.ids, c.cap, &c.n))
		return -EIO;
	if (s->base)
		drop_masked(s, c.ids, &c.n);
	sort_walk(s, c.ids, c.n);
	for (uint32_t i = 0; i < c.n && i < cap; i++)
		ids[i] = c.ids[i];
	return c.n;
}

static void take_route(struct walk *w, uint32_t r, uint32_t u, const char *num, size_t len,
		       int depth)
{
	const struct rt_snapshot *s = w->s;
	const struct rt_route *rt = &s->routes[r];
	struct rt_scratch *sc = w->sc;
	uint64_t rng = w->seed ^ rt->salt;
	uint32_t usable = 0;

	for (uint32_t i = 0, j; i < rt->n_trunks && !w->full; i = j) {
		uint32_t prio = s->tk[rt->trunks[i]].priority;
		for (j = i + 1; j < rt->n_trunks && s->tk[rt->trunks[j]].priority == prio; j++)
			;
		/* A run of one (gateways of distinct priorities) needs no shuffle. */
		const uint32_t *order = &rt->trunks[i];
		if (j - i > 1) {
			weighted_order(w, &rt->trunks[i], j - i, sc->order, &rng);
			order = sc->order;
		}
		for (uint32_t k = 0; k < j - i && !w->full; k++) {
			uint32_t t = order[k];
			uint32_t g = s->tk[t].gw;
			enum rt_health hs = effective_health(w, g, s->tk[t].site);
			if (sc->gw_tried[g] == sc->epoch) {
				explain_skip(w, g, r, u, RT_SKIP_TRIED, hs);
				continue;
			}
			if (hs == RT_HEALTH_DOWN || hs == RT_HEALTH_DRAINING) {
				explain_skip(w, g, r, u,
					     hs == RT_HEALTH_DOWN ? RT_SKIP_DOWN : RT_SKIP_DRAINING, hs);
				continue;
			}
			usable++;
			if (sc->gw_seen[g] == sc->epoch) {
				explain_skip(w, g, r, u, RT_SKIP_DUPLICATE, hs);
				continue;
			}
			add_gateway(w, t, r, u, hs == RT_HEALTH_DEGRADED, num, len, depth > 0);
		}
	}
	if (w->full || usable || !rt->fallback)
		return;

	/* Every gateway of the route is unusable: its fallback stands in. */
	if (rt->fallback_is_uri) {
		explain_fallback(w, r, true);
		add_uri(w, r, u, num, len, depth > 0);
	} else if (depth == 0) {
		explain_fallback(w, r, true);
		route_number(w, rt->fallback, strlen(rt->fallback), 1);
	} else {
		explain_fallback(w, r, false); /* re-routed once already: loop protection */
	}
}

static bool route_has_usage(const struct rt_route *rt, uint32_t u)
{
	const uint32_t *us = rt_route_usages(rt);
	for (uint32_t k = 0; k < rt->n_usages; k++)
		if (us[k] == u)
			return true;
	return false;
}

/* Append route r's (position, route) pairs for the usages the policy
 * lists (pos, else the usages stamped for this decision); returns np. */
static inline uint32_t route_pairs(const struct rt_snapshot *s, const struct rt_scratch *sc,
				   const uint8_t *pos, uint32_t r, uint64_t *pairs, uint32_t np,
				   unsigned shift)
{
	const struct rt_route *rt = &s->routes[r];
	const uint32_t *us = rt_route_usages(rt);
	uint64_t key = s->by_rank ? (uint64_t)rt->rank << 24 | r : r;
	for (uint32_t k = 0; k < rt->n_usages; k++) {
		if (pos) {
			if (pos[us[k]])
				pairs[np++] = (uint64_t)(pos[us[k]] - 1u) << shift | key;
		} else if (sc->u_stamp[us[k]] == sc->epoch) {
			pairs[np++] = (uint64_t)sc->u_pos[us[k]] << shift | key;
		}
	}
	return np;
}

static __attribute__((noinline)) uint32_t route_pairs_cold(const struct rt_snapshot *s,
							    const struct rt_scratch *sc,
							    const uint8_t *pos, uint32_t r,
							    uint64_t *pairs, uint32_t np,
							    unsigned shift)
{
	return route_pairs(s, sc, pos, r, pairs, np, shift);
}

static void explain_usage(struct walk *w, uint32_t u, uint32_t carried, int depth)
{
	if (depth == 0 && w->ex && w->ex->n_usages < RT_EXPLAIN_MAX) {
		w->ex->usages[w->ex->n_usages].usage = w->s->usages[u];
		w->ex->usages[w->ex->n_usages].n_routes = carried;
		w->ex->n_usages++;
	}
}

/*
 * SPEC section 3 step 4: the policy's usages in order, for each the matched
 * routes carrying it by route id (priority, then config order). Rather than
 * asking every (usage, matched route) pair, each matched route's own usages
 * are looked up once in the policy (u_stamp/u_pos, set per decision) and
 * the hits sorted by (position, route): the same sequence of take_route
 * calls, in time proportional to the matches.
 */
static void route_number(struct walk *w, const char *num, size_t len, int depth)
{
	const struct rt_snapshot *s = w->s;
	const struct rt_policy *pol = w->pol;
	struct rt_scratch *sc = w->sc;
	struct collect c = {sc->matched[depth], 0, sc->matched_cap};
	if (depth == 0 && w->pre) {
		c.ids = w->pre;
		c.n = w->pre_n;
	} else if (collect_routes(s, sc, num, len, c.ids, c.cap, &c.n)) {
		w->scan_failed = true;
		return;
	}
	if (c.n > c.cap)
		c.n = c.cap; /* cannot happen: each route matches once */
	if (s->base) {
		for (uint32_t i = 0; i < c.n && i < 8; i++)
			__builtin_prefetch(&s->routes[c.ids[i]]);
		drop_masked(s, c.ids, &c.n);
	}
	bool sorted = false;
	if (depth == 0) {
		w->n_matched = c.n;
		if (w->ex) {
			sort_walk(s, c.ids, c.n);
			sorted = true;
			for (uint32_t i = 0; i < c.n; i++) {
				if (w->ex->n_matched < RT_EXPLAIN_MAX)
					w->ex->matched[w->ex->n_matched++] = s->routes[c.ids[i]].name;
				else
					w->ex->matched_dropped++;
			}
		}
	}

	if (pol->repeats_usage) {
		/* A usage listed twice is walked twice: ask each pair. */
		if (!sorted)
			sort_walk(s, c.ids, c.n);
		for (uint32_t ui = 0; ui < pol->n_usages && !w->full; ui++) {
			uint32_t u = pol->usages[ui];
			uint32_t carried = 0;
			for (uint32_t i = 0; i < c.n && !w->full; i++) {
				uint32_t r = c.ids[i];
				if (!route_has_usage(&s->routes[r], u))
					continue;
				carried++;
				if (depth == 0)
					w->permitted = true;
				take_route(w, r, u, num, len, depth);
			}
			explain_usage(w, u, carried, depth);
		}
		return;
	}

	/* Few matches (a carrier number): their routes, which take_route reads
	 * next anyway, are loaded together. Many (the same prefix routed per
	 * site): the dense usage array decides most without a route. Pairs
	 * are (position << 32 | route) in a full build; in a patched one,
	 * where ids are not in walk order, (position << 48 | rank << 24 |
	 * route), the rank read from the route. */
	uint64_t *pairs = sc->pairs[depth];
	uint32_t np = 0;
	const uint32_t *by_rank = s->by_rank;
	const unsigned shift = by_rank ? 48 : 32;
	const uint64_t rmask = by_rank ? 0xffffff : 0xffffffff;
	bool few = c.n <= 8 || by_rank;
	if (few)
		for (uint32_t i = 0; i < c.n; i++)
			__builtin_prefetch(&s->routes[c.ids[i]]);
	const uint8_t *pos = pol->pos;
	if (!few && pos) {
		/* Each route's one usage looked up in the policy's table,
		 * branch-free (which routes pass varies per number); a route
		 * with several usages reads them from the route. */
		const uint16_t *ru = s->route_usage;
		for (uint32_t i = 0; i < c.n; i++) {
			uint32_t r = c.ids[i], u = ru[r];
			if (__builtin_expect(u == RT_USAGE_SEVERAL, 0)) {
				np = route_pairs_cold(s, sc, pos, r, pairs, np, shift);
				continue;
			}
			uint32_t p = pos[u];
			pairs[np] = (uint64_t)(p - 1u) << 32 | r;
			np += p != 0;
		}
	} else {
		for (uint32_t i = 0; i < c.n; i++)
			np = route_pairs(s, sc, pos, c.ids[i], pairs, np, shift);
	}
	if (depth == 0 && np)
		w->permitted = true;
	/* The walk reads the routes of the first few pairs: load them
	 * together (a carrier number's few were loaded above). */
	if (!few && np <= 16)
		for (uint32_t k = 0; k < np; k++)
			__builtin_prefetch(&s->routes[(uint32_t)(pairs[k] & rmask)]);

	if (!w->ex) {
		/* The pairs are the walk: (position, route) in order. The answer
		 * is usually full after the first few, so those are picked one
		 * at a time (smallest of the rest), and the rest sorted only if
		 * the walk gets that far. */
		for (uint32_t k = 0; k < np && !w->full; k++) {
			if (k == RT_PICK_FIRST) {
				sort_u64(pairs + k, np - k);
				for (; k < np && !w->full; k++)
					take_route(w, (uint32_t)(pairs[k] & rmask),
						   pol->usages[pairs[k] >> shift], num, len, depth);
				break;
			}
			/* Two chains of compares, half as long, merged at the end. */
			uint64_t v = pairs[k], v1 = UINT64_MAX;
			uint32_t at = k, at1 = k, j = k + 1;
			for (; j + 1 < np; j += 2) {
				bool lt = pairs[j] < v, lt1 = pairs[j + 1] < v1;
				v = lt ? pairs[j] : v;
				at = lt ? j : at;
				v1 = lt1 ? pairs[j + 1] : v1;
				at1 = lt1 ? j + 1 : at1;
			}
			if (j < np && pairs[j] < v) {
				v = pairs[j];
				at = j;
			}
			if (v1 < v) {
				v = v1;
				at = at1;
			}
			pairs[at] = pairs[k];
			pairs[k] = v;
			take_route(w, (uint32_t)(v & rmask), pol->usages[v >> shift], num, len, depth);
		}
		return;
	}
	sort_u64(pairs, np);
	uint32_t k = 0;
	for (uint32_t ui = 0; ui < pol->n_usages && !w->full; ui++) {
		uint32_t u = pol->usages[ui];
		uint32_t carried = 0;
		for (; k < np && (uint32_t)(pairs[k] >> shift) == ui && !w->full; k++) {
			carried++;
			take_route(w, (uint32_t)(pairs[k] & rmask), u, num, len, depth);
		}
		explain_usage(w, u, carried, depth);
		if (k == np && !w->ex)
			break;
	}
}

static void finish(struct rt_answer *ans, enum rt_status st, uint16_t code, const char *err)
{
	ans->status = st;
	ans->code = code;
	ans->error = err;
}

/* Returns the normalised number's length. */
static size_t normalise(struct walk *w)
{
	const struct rt_snapshot *s = w->s;
	struct rt_answer *ans = w->ans;
	struct rt_str called = w->q->called;
	int32_t dp = w->pol->dial_plan;

	if (w->pol->fast_rules && called.p[called.len - 1] != '\n') {
		/* Rules in order, the first that matches applies: what the
		 * matcher below finds, without a walk (a rule that matches but
		 * whose result does not fit leaves the number, there too). */
		for (uint32_t i = 0; i < w->pol->n_fast_rules; i++) {
			const struct rt_rewrite *rule = w->pol->fast_rules[i];
			size_t olen;
			int rc = rt_rewrite_apply_len(rule, called.p, called.len, w->sc->md,
						      ans->normalized, RT_NUM_MAX, &olen);
			if (rc == 0)
				continue;
			if (rc == 1) {
				if (w->ex) {
					w->ex->dial_plan = s->dial_plans[dp].name;
					w->ex->dial_rule = rule->match;
				}
				return olen;
			}
			break;
		}
	} else if (dp >= 0 && s->dial_plans[dp].n) {
		const struct rt_dial_plan *plan = &s->dial_plans[dp];
		struct first_in f = {plan->first, plan->first + plan->n, UINT32_MAX};
		if (rt_matcher_scan_group(&s->dial_m, (uint32_t)dp, called.p, called.len, w->sc->hs,
					  first_in_range, &f))
			w->scan_failed = true;
		if (f.best != UINT32_MAX) {
			const struct rt_rewrite *rule = s->dp_rule[f.best];
			size_t olen;
			if (rt_rewrite_apply_len(rule, called.p, called.len, w->sc->md, ans->normalized,
						 RT_NUM_MAX, &olen) == 1) {
				if (w->ex) {
					w->ex->dial_plan = plan->name;
					w->ex->dial_rule = rule->match;
				}
				return olen;
			}
		}
	}
	memcpy(ans->normalized, called.p, called.len);
	ans->normalized[called.len] = '\0';
	return called.len; /* valid_number: no NUL inside */
}

static const struct rt_health_view all_unknown;

static void walk_init(struct walk *w, const struct rt_snapshot *s,
		      const struct rt_health_view *health, const struct rt_query *q,
		      struct rt_scratch *sc, struct rt_answer *ans, struct rt_explain *ex)
{
	*w = (struct walk){
		.s = s,
		.h = health ? health : &all_unknown,
		.q = q,
		.sc = sc,
		.ans = ans,
		.ex = ex,
	};
	ans->generation = s->generation;
	ans->policy = NULL;
	ans->error = NULL;
	ans->n_dest = 0;
	ans->normalized[0] = '\0';
	if (ex)
		memset(ex, 0, sizeof(*ex));
}

/*
 * Everything before the route match: checks, the policy, the dial plan, a
 * failover query's last code. Returns true when that settled the answer;
 * else the number to route is ans->normalized, *nlen bytes.
 */
static bool decide_begin(struct walk *w, size_t *nlen)
{
	const struct rt_snapshot *s = w->s;
	const struct rt_query *q = w->q;
	struct rt_scratch *sc = w->sc;
	struct rt_answer *ans = w->ans;
	struct rt_explain *ex = w->ex;

	if (!valid_number(q->called)) {
		finish(ans, RT_BAD_REQUEST, 400, "called number missing or malformed");
		return true;
	}
	if (q->calling.len && !valid_number(q->calling)) {
		finish(ans, RT_BAD_REQUEST, 400, "calling number malformed");
		return true;
	}
	if (q->n_tried > RT_MAX_TRIED) {
		finish(ans, RT_BAD_REQUEST, 400, "too many tried entries");
		return true;
	}
	for (uint32_t i = 0; i < q->n_tried; i++) {
		if (q->tried[i].code > RT_CODE_MAX) {
			finish(ans, RT_BAD_REQUEST, 400, "tried response code out of range");
			return true;
		}
	}

	/* Policy: named, else first matching assignment, else the default. */
	const char *psrc = "default";
	uint32_t pol = s->default_policy;
	if (q->policy.len) {
		long p = rt_index_get(&s->policy_ix, q->policy.p, q->policy.len);
		if (p < 0) {
			finish(ans, RT_BAD_REQUEST, 400, "unknown policy");
			return true;
		}
		pol = (uint32_t)p;
		psrc = "named";
	} else if (q->calling.len && s->n_assign) {
		struct first_in f = {0, s->n_assign, UINT32_MAX};
		if (rt_matcher_scan(&s->assign_m, q->calling.p, q->calling.len, sc->hs,
				    first_in_range, &f) == 0 &&
		    f.best != UINT32_MAX) {
			pol = s->assign_policy[f.best];
			psrc = "assignment";
			if (ex)
				ex->assignment = s->assign_pattern[f.best];
		}
	}
	w->pol = &s->policies[pol];
	ans->policy = w->pol->name;
	if (ex)
		ex->policy_source = psrc;
	/* The policy's usage positions are read once the routes are matched:
	 * start loading them now, behind the dial plan and the match. */
	if (w->pol->pos)
		for (uint32_t b = 0; b < s->n_usages * sizeof(*w->pol->pos); b += 64)
			__builtin_prefetch((const char *)w->pol->pos + b);

	*nlen = normalise(w);

	/* A failover query whose last attempt failed with a code that is not a
	 * failover code for that gateway ends here: the SBC relays the code. */
	if (q->n_tried) {
		const struct rt_tried *last = &q->tried[q->n_tried - 1];
		long g = rt_index_get(&s->gw_ix, last->gateway.p, last->gateway.len);
		const struct rt_codeset *codes = g >= 0 ? s->gws[g].codes : &s->global_codes;
		if (!rt_codeset_has(codes, last->code)) {
			finish(ans, RT_NO_FAILOVER, last->code, NULL);
			return true;
		}
	}
	return false;
}

/* The route match (or the burst's, in w->pre) and the walk: the answer. */
static void decide_route(struct walk *w, size_t nlen)
{
	const struct rt_query *q = w->q;
	struct rt_scratch *sc = w->sc;
	struct rt_answer *ans = w->ans;

	if (++sc->epoch == 0) {
		restart_stamps(sc);
		sc->epoch = 1;
	}
	if (!w->pol->pos) {
		for (uint32_t ui = 0; ui < w->pol->n_usages; ui++) {
			sc->u_stamp[w->pol->usages[ui]] = sc->epoch;
			sc->u_pos[w->pol->usages[ui]] = ui;
		}
	}
	for (uint32_t i = 0; i < q->n_tried; i++) {
		long g = rt_index_get(&w->s->gw_ix, q->tried[i].gateway.p, q->tried[i].gateway.len);
		if (g >= 0)
			sc->gw_tried[g] = sc->epoch;
	}

	w->seed = q->call_id.len ? rt_hash64(q->call_id.p, q->call_id.len) : q->seed;
	w->max = q->max_destinations && q->max_destinations < RT_MAX_DEST ? q->max_destinations
									   : RT_MAX_DEST;

	route_number(w, ans->normalized, nlen, 0);

	if (w->scan_failed)
		return finish(ans, RT_ALL_UNAVAILABLE, 503, "pattern matcher failed");
	if (w->n_matched == 0)
		return finish(ans, RT_NO_ROUTE, 404, NULL);
	if (!w->permitted)
		return finish(ans, RT_NOT_PERMITTED, 403, NULL);

	/* Degraded destinations go behind every healthy one. */
	uint32_t n = w->n_healthy;
	for (uint32_t i = 0; i < w->n_degraded && n < w->max; i++)
		ans->dest[n++] = sc->degraded[i];
	ans->n_dest = n;
	if (n == 0)
		return finish(ans, RT_ALL_UNAVAILABLE, 503, NULL);
	finish(ans, RT_ROUTED, 302, NULL);
}

void rt_decide(const struct rt_snapshot *s, const struct rt_health_view *health,
	       const struct rt_query *q, struct rt_scratch *sc, struct rt_answer *ans,
	       struct rt_explain *ex)
{
	struct walk w;
	size_t nlen;
	walk_init(&w, s, health, q, sc, ans, ex);
	if (!decide_begin(&w, &nlen))
		decide_route(&w, nlen);
}

/*
 * rt_decide over a burst, RT_BURST at a time, each stage over all of them
 * before the next: checks, policies and dial plans; the route matcher's
 * probes (prefetching their tag groups); the tags (prefetching the slots);
 * the matched ids (prefetching the routes); then each walk. A decision
 * alone waits for each of those cache misses in turn; here they overlap
 * across the burst.
 */
void rt_decide_burst(const struct rt_snapshot *s, const struct rt_health_view *health,
		     const struct rt_query *const *qs, unsigned n, struct rt_scratch *sc,
		     struct rt_answer *const *as)
{
	const struct rt_matcher *m = &s->route_m;
	if (!sc->stage_always && rt_matcher_memory(m) <= RT_BURST_CACHED) {
		/* A table that stays in cache has no misses to overlap: the
		 * stages would only add work. */
		for (unsigned i = 0; i < n; i++)
			rt_decide(s, health, qs[i], sc, as[i], NULL);
		return;
	}
	for (unsigned base = 0; base < n; base += RT_BURST) {
		unsigned k = n - base < RT_BURST ? n - base : RT_BURST;
		struct walk w[RT_BURST];
		size_t nlen[RT_BURST];
		bool done[RT_BURST];
		for (unsigned i = 0; i < k; i++) {
			walk_init(&w[i], s, health, qs[base + i], sc, as[base + i], NULL);
			done[i] = decide_begin(&w[i], &nlen[i]);
			if (!done[i])
				rt_matcher_probe_start(m, as[base + i]->normalized, nlen[i], &sc->bp[i]);
		}
		for (unsigned i = 0; i < k; i++)
			if (!done[i])
				rt_matcher_probe_tags(m, &sc->bp[i]);
		for (unsigned i = 0; i < k; i++) {
			if (done[i])
				continue;
			uint32_t got = 0;
			/* A failed scan, or too many ids to keep: route_number
			 * collects again (and fails the same way). */
			if (rt_matcher_probe_collect(m, &sc->bp[i], sc->hs, sc->bids[i], RT_BURST_IDS,
						     &got) ||
			    got > RT_BURST_IDS ||
			    (s->base && layer_collect(s, sc, as[base + i]->normalized, nlen[i],
						      sc->bids[i], RT_BURST_IDS, &got)) ||
			    got > RT_BURST_IDS)
				continue;
			w[i].pre = sc->bids[i];
			w[i].pre_n = got;
			for (uint32_t j = 0; j < got && j < 4; j++)
				__builtin_prefetch(&s->routes[sc->bids[i][j]]);
		}
		for (unsigned i = 0; i < k; i++) {
			if (!done[i])
				decide_route(&w[i], nlen[i]);
		}
	}
}
