/*
 * Workers and state publication. Memory-ordering choices:
 * - state: rcu_xchg_pointer (full barrier) publishes a state whose every
 *   field was written before; workers read it through rcu_dereference
 *   once per burst.
 * - QSBR: a worker announces a quiescent state after each burst, and goes
 *   offline while it sleeps in idle_wait(), so an idle worker never holds
 *   up a grace period and a busy one holds it up for one burst at most.
 * - stop / draining: relaxed atomics; they are hints polled every loop, and
 *   no data is published through them.
 */
#include "dp_server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <urcu-qsbr.h>

#include <time.h>

#include "dp_log.h"
#include "dp_stats.h"
#include "nq_codec.h"
#include "rt_index.h"
#include "rt_snapshot.h"
#include "sip_msg.h"

/* Empty polls before a socket worker sleeps: short enough to cost nothing
 * when idle, long enough to ride out gaps inside a busy stream. */
#define DP_IDLE_SPINS 64
#define DP_IDLE_WAIT_MS 100

struct dp_worker {
	struct dp_counters c; /* first: its own cache lines (struct is 64-aligned) */
	unsigned id;
	struct dp_server *srv;
	struct dp_io_queue *q;
	pthread_t thread;
	bool started;
	struct dp_pkt pkts[DP_BURST];
	/* A received burst is parsed RT_BURST requests at a time into slots,
	 * the queries among them decided together (rt_decide_burst), then
	 * answered. */
	struct dp_slot {
		struct rt_query query;
		struct rt_answer ans;
		struct sip_msg sip;
		struct sip_numbuf nb;
		struct nq_arena arena;
		uint64_t id; /* native query id */
		bool explain;
	} slot[RT_BURST];
	struct rt_explain ex;
};

/* ---- by-name totals of retired generations -------------------------------- */

/* Growable name -> count map, control side only (under srv->lock). */
struct dp_tally {
	struct dp_tally_slot {
		char *name; /* NULL: empty */
		uint64_t count;
	} *slots;
	size_t cap, n; /* cap is a power of two */
};

static struct dp_tally_slot *tally_find(struct dp_tally *t, const char *name)
{
	size_t i = rt_hash64(name, strlen(name)) & (t->cap - 1);
	while (t->slots[i].name && strcmp(t->slots[i].name, name))
		i = (i + 1) & (t->cap - 1);
	return &t->slots[i];
}

static int tally_add(struct dp_tally *t, const char *name, uint64_t count)
{
	if ((t->n + 1) * 2 > t->cap) {
		struct dp_tally bigger = {.cap = t->cap ? t->cap * 2 : 64};
		bigger.slots = calloc(bigger.cap, sizeof(*bigger.slots));
		if (!bigger.slots)
			return -ENOMEM;
		for (size_t i = 0; i < t->cap; i++)
			if (t->slots[i].name)
				*tally_find(&bigger, t->slots[i].name) = t->slots[i];
		bigger.n = t->n;
		free(t->slots);
		*t = bigger;
	}
	struct dp_tally_slot *sl = tally_find(t, name);
	if (!sl->name) {
		if (!(sl->name = strdup(name)))
			return -ENOMEM;
		t->n++;
	}
	sl->count += count;
	return 0;
}

static void tally_free(struct dp_tally *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->cap; i++)
		free(t->slots[i].name);
	free(t->slots);
	free(t);
}

static uint64_t gen_route_hits(const struct dp_gen *g, size_t r)
{
	uint64_t n = 0;
	for (unsigned w = 0; w < g->n_workers; w++)
		n += __atomic_load_n(&g->route_hits[w * g->route_stride + r], __ATOMIC_RELAXED);
	return n;
}

static uint64_t gen_gw_failures(const struct dp_gen *g, size_t i)
{
	uint64_t n = 0;
	for (unsigned w = 0; w < g->n_workers; w++)
		n += __atomic_load_n(&g->gw_failures[w * g->gw_stride + i], __ATOMIC_RELAXED);
	return n;
}

static uint64_t gen_gw_selections(const struct dp_gen *g, size_t i)
{
	uint64_t n = 0;
	for (unsigned w = 0; w < g->n_workers; w++)
		n += __atomic_load_n(&g->gw_selections[w * g->gw_stride + i], __ATOMIC_RELAXED);
	return n;
}

/* A retired generation's counts go to the totals (no reader is left). A
 * failed allocation loses these counts, never the server. */
static void gen_fold(struct dp_server *srv, const struct dp_gen *g)
{
	for (size_t r = 0; r < g->n_routes; r++) {
		uint64_t n = gen_route_hits(g, r);
		if (n && tally_add(srv->route_tally, rt_snapshot_route_name(g->snap, r), n))
			dp_log(DP_LOG_WARN, "out of memory: route counts of a retired config lost");
	}
	for (size_t i = 0; i < g->n_gateways; i++) {
		const char *name = rt_snapshot_gateway_name(g->snap, i);
		uint64_t n = gen_gw_selections(g, i), f = gen_gw_failures(g, i);
		if ((n && tally_add(srv->gw_tally, name, n)) ||
		    (f && tally_add(srv->gw_fail_tally, name, f)))
			dp_log(DP_LOG_WARN, "out of memory: gateway counts of a retired config lost");
	}
}

/* ---- state ----------------------------------------------------------------- */

static void gen_free(struct dp_gen *g)
{
	if (!g)
		return;
	for (unsigned i = 0; i < g->n_workers; i++)
		rt_scratch_free(g->scratch[i]);
	rt_snapshot_free(g->snap);
	free(g->route_hits);
	free(g->gw_selections);
	free(g->gw_failures);
	free(g);
}

static void state_free(struct dp_state *st, bool with_gen)
{
	if (!st)
		return;
	if (with_gen)
		gen_free(st->gen);
	free(st->gw_health);
	free(st->site_health);
	free(st);
}

/* Whole cache lines per worker row, so workers never share one. */
static size_t row_stride(size_t n)
{
	return (n + 8) & ~(size_t)7;
}

static struct dp_gen *gen_new(struct dp_server *srv, struct rt_snapshot *snap)
{
	struct dp_gen *g = calloc(1, sizeof(*g) + srv->n_workers * sizeof(g->scratch[0]));
	if (!g)
		return NULL;
	g->snap = snap;
	g->n_workers = srv->n_workers;
	g->n_routes = rt_snapshot_route_count(snap);
	g->n_gateways = rt_snapshot_gateway_count(snap);
	g->route_stride = row_stride(g->n_routes);
	g->gw_stride = row_stride(g->n_gateways);
	g->route_hits = aligned_alloc(64, srv->n_workers * g->route_stride * sizeof(uint64_t));
	g->gw_selections = aligned_alloc(64, srv->n_workers * g->gw_stride * sizeof(uint64_t));
	g->gw_failures = aligned_alloc(64, srv->n_workers * g->gw_stride * sizeof(uint64_t));
	if (!g->route_hits || !g->gw_selections || !g->gw_failures)
		goto fail;
	memset(g->gw_failures, 0, srv->n_workers * g->gw_stride * sizeof(uint64_t));
	memset(g->route_hits, 0, srv->n_workers * g->route_stride * sizeof(uint64_t));
	memset(g->gw_selections, 0, srv->n_workers * g->gw_stride * sizeof(uint64_t));
	/* Scratch is readied here, off the fast path, for this very database:
	 * a worker never allocates or resizes anything per query. */
	for (unsigned i = 0; i < srv->n_workers; i++)
		if (!(g->scratch[i] = rt_scratch_new(snap)))
			goto fail;
	return g;
fail:
	g->snap = NULL; /* the caller still owns snap */
	gen_free(g);
	return NULL;
}

static struct dp_state *state_new(struct dp_gen *g, const uint8_t *gw, const uint8_t *site)
{
	size_t n_gw = rt_snapshot_gateway_count(g->snap), n_site = rt_snapshot_site_count(g->snap);
	struct dp_state *st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	st->gen = g;
	st->gw_health = calloc(n_gw + 1, 1);
	st->site_health = calloc(n_site + 1, 1);
	if (!st->gw_health || !st->site_health) {
		state_free(st, false);
		return NULL;
	}
	if (gw)
		memcpy(st->gw_health, gw, n_gw);
	if (site)
		memcpy(st->site_health, site, n_site);
	st->view.gateway = st->gw_health;
	st->view.site = st->site_health;
	return st;
}

/* Swap in st; after the grace period free the old state (and its
 * generation, folding its counters, unless st shares it). */
static void state_swap(struct dp_server *srv, struct dp_state *st)
{
	pthread_mutex_lock(&srv->lock);
	struct dp_state *old = rcu_xchg_pointer(&srv->state, st);
	pthread_mutex_unlock(&srv->lock);
	if (!old)
		return;
	synchronize_rcu(); /* every worker has finished its burst on old */
	bool retire = old->gen != st->gen;
	pthread_mutex_lock(&srv->lock);
	if (retire)
		gen_fold(srv, old->gen);
	pthread_mutex_unlock(&srv->lock);
	state_free(old, retire);
}

int dp_server_publish(struct dp_server *srv, struct rt_snapshot *snap, const uint8_t *gw_health,
		      const uint8_t *site_health)
{
	struct dp_gen *g = gen_new(srv, snap);
	struct dp_state *st = g ? state_new(g, gw_health, site_health) : NULL;
	if (!st) {
		if (g)
			gen_free(g); /* frees snap */
		else
			rt_snapshot_free(snap);
		return -ENOMEM;
	}
	state_swap(srv, st);
	return 0;
}

int dp_server_set_health(struct dp_server *srv, const uint8_t *gw_health,
			 const uint8_t *site_health)
{
	if (!srv->state)
		return -ENOENT;
	struct dp_state *st = state_new(srv->state->gen, gw_health, site_health);
	if (!st)
		return -ENOMEM;
	state_swap(srv, st);
	return 0;
}

const struct rt_snapshot *dp_server_snapshot(const struct dp_server *srv)
{
	/* Control thread only: it is the only writer of srv->state. */
	return srv->state ? srv->state->gen->snap : NULL;
}

/* ---- statistics -------------------------------------------------------------- */

/* Totals by name: a retired tally plus the running generation's counts. */
static int stats_names(const struct dp_tally *t, const struct rt_snapshot *snap, size_t n_cur,
		       const char *(*name_of)(const struct rt_snapshot *, size_t),
		       uint64_t (*count_of)(const struct dp_gen *, size_t), const struct dp_gen *g,
		       struct dp_name_count **out, size_t *n_out)
{
	struct dp_tally all = {0};
	int rc = 0;
	for (size_t i = 0; i < t->cap && !rc; i++)
		if (t->slots[i].name)
			rc = tally_add(&all, t->slots[i].name, t->slots[i].count);
	for (size_t i = 0; i < n_cur && !rc; i++)
		rc = tally_add(&all, name_of(snap, i), count_of(g, i));
	struct dp_name_count *v = rc ? NULL : calloc(all.n + 1, sizeof(*v));
	size_t n = 0;
	if (!rc && !v)
		rc = -ENOMEM;
	for (size_t i = 0; i < all.cap; i++) {
		if (!all.slots[i].name)
			continue;
		if (v) {
			v[n].name = all.slots[i].name; /* moved */
			v[n++].count = all.slots[i].count;
		} else {
			free(all.slots[i].name);
		}
	}
	free(all.slots);
	*out = v;
	*n_out = n;
	return rc;
}

static uint64_t tally_get(const struct dp_tally *t, const char *name)
{
	if (!t->cap)
		return 0;
	struct dp_tally_slot *sl = tally_find((struct dp_tally *)t, name);
	return sl->name ? sl->count : 0;
}

int dp_server_gateway_counts(struct dp_server *srv, struct dp_gw_count **out, size_t *n_out)
{
	int rc = 0;
	*out = NULL;
	*n_out = 0;
	pthread_mutex_lock(&srv->lock);
	const struct dp_state *st = srv->state;
	if (!st)
		goto out;
	const struct dp_gen *g = st->gen;
	struct dp_gw_count *v = calloc(g->n_gateways + 1, sizeof(*v));
	if (!v) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < g->n_gateways; i++) {
		const char *name = rt_snapshot_gateway_name(g->snap, i);
		if (!(v[i].name = strdup(name))) {
			while (i--)
				free(v[i].name);
			free(v);
			rc = -ENOMEM;
			goto out;
		}
		v[i].selections = gen_gw_selections(g, i) + tally_get(srv->gw_tally, name);
		v[i].failures = gen_gw_failures(g, i) + tally_get(srv->gw_fail_tally, name);
	}
	*out = v;
	*n_out = g->n_gateways;
out:
	pthread_mutex_unlock(&srv->lock);
	return rc;
}

int dp_server_stats(struct dp_server *srv, struct dp_stats *out)
{
	int rc = 0;
	memset(out, 0, sizeof(*out));
	out->workers = srv->n_workers;
	out->draining = atomic_load_explicit(&srv->draining, memory_order_relaxed);
	dp_server_counters(srv, &out->sum);

	pthread_mutex_lock(&srv->lock);
	const struct dp_state *st = srv->state;
	if (!st)
		goto out;
	const struct dp_gen *g = st->gen;
	const struct rt_snapshot *snap = g->snap;
	out->generation = rt_snapshot_generation(snap);
	out->routes = (uint32_t)g->n_routes;
	out->gateways = (uint32_t)g->n_gateways;
	rc = stats_names(srv->route_tally, snap, g->n_routes, rt_snapshot_route_name,
			 gen_route_hits, g, &out->route_hits, &out->n_route_hits);
	if (!rc)
		rc = stats_names(srv->gw_tally, snap, g->n_gateways, rt_snapshot_gateway_name,
				 gen_gw_selections, g, &out->gw_selections, &out->n_gw_selections);
	size_t n_site = rt_snapshot_site_count(snap);
	out->health = rc ? NULL : calloc(g->n_gateways + n_site + 1, sizeof(*out->health));
	if (!rc && !out->health)
		rc = -ENOMEM;
	for (size_t i = 0; !rc && i < g->n_gateways + n_site; i++) {
		struct dp_health_stat *h = &out->health[i];
		bool site = i >= g->n_gateways;
		size_t k = site ? i - g->n_gateways : i;
		const char *name = site ? rt_snapshot_site_name(snap, k)
					: rt_snapshot_gateway_name(snap, k);
		if (!(h->name = strdup(name))) {
			rc = -ENOMEM;
			break;
		}
		h->is_site = site;
		h->effective = site ? st->site_health[k] : st->gw_health[k];
		out->n_health = i + 1;
	}
out:
	pthread_mutex_unlock(&srv->lock);
	if (rc)
		dp_stats_free(out);
	return rc;
}

/* ---- front-ends ------------------------------------------------------------- */

static uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* What a query is counted by before its decision: a failover re-query and
 * its last tried code. */
static void count_query(struct dp_worker *w, const struct rt_query *q)
{
	if (q->n_tried) {
		DP_COUNT(w->c.failover_queries);
		uint16_t code = q->tried[q->n_tried - 1].code;
		DP_COUNT(w->c.failover_by_code[code <= RT_CODE_MAX ? code : RT_CODE_MAX]);
	}
}

/* And after: status, latency, the last tried gateway of a failover query
 * (the passive breaker's input), the route and gateway of the first
 * destination. */
static void count_answer(struct dp_worker *w, const struct dp_state *st, const struct rt_query *q,
			 const struct rt_answer *a, uint64_t ns)
{
	struct dp_counters *c = &w->c;
	const struct dp_gen *g = st->gen;
	unsigned b = ns < DP_LAT_BASE_NS ? 0 : 64 - (unsigned)__builtin_clzll(ns / DP_LAT_BASE_NS);
	DP_COUNT(c->lat[b < DP_LAT_BUCKETS ? b : DP_LAT_BUCKETS - 1]);
	__atomic_store_n(&c->lat_sum_ns, c->lat_sum_ns + ns, __ATOMIC_RELAXED);
	DP_COUNT(c->status[a->status]);
	/* A failover re-query reports its last tried gateway failed; a code
	 * that is not a failover code (busy, decline) is the callee's answer,
	 * not the gateway's fault. Feeds the passive health breaker. */
	if (q->n_tried && a->status != RT_NO_FAILOVER && a->status != RT_BAD_REQUEST) {
		const struct rt_str *gw = &q->tried[q->n_tried - 1].gateway;
		long gi = rt_snapshot_gateway_index(g->snap, gw->p, gw->len);
		if (gi >= 0 && (size_t)gi < g->n_gateways)
			DP_COUNT(g->gw_failures[w->id * g->gw_stride + (size_t)gi]);
	}
	if (a->n_dest) {
		const struct rt_dest *d = &a->dest[0];
		if (d->route_index >= 0 && (size_t)d->route_index < g->n_routes)
			DP_COUNT(g->route_hits[w->id * g->route_stride + (size_t)d->route_index]);
		if (d->gateway_index >= 0 && (size_t)d->gateway_index < g->n_gateways)
			DP_COUNT(g->gw_selections[w->id * g->gw_stride + (size_t)d->gateway_index]);
	}
}

/* One decision alone (a native query asking for an explanation). */
static void decide_one(struct dp_worker *w, const struct dp_state *st, struct dp_slot *sl)
{
	const struct dp_gen *g = st->gen;
	count_query(w, &sl->query);
	uint64_t t0 = now_ns();
	rt_decide(g->snap, &st->view, &sl->query, g->scratch[w->id], &sl->ans,
		  sl->explain ? &w->ex : NULL);
	count_answer(w, st, &sl->query, &sl->ans, now_ns() - t0);
}

/* The slots' queries decided together; each decision's latency is its
 * burst's time over its size. */
static void decide_burst(struct dp_worker *w, const struct dp_state *st, struct dp_slot **sl,
			 unsigned n)
{
	const struct dp_gen *g = st->gen;
	const struct rt_query *qs[RT_BURST];
	struct rt_answer *as[RT_BURST];
	for (unsigned i = 0; i < n; i++) {
		qs[i] = &sl[i]->query;
		as[i] = &sl[i]->ans;
		count_query(w, qs[i]);
	}
	uint64_t t0 = now_ns();
	rt_decide_burst(g->snap, &st->view, qs, n, g->scratch[w->id], as);
	uint64_t each = (now_ns() - t0) / (n ? n : 1);
	for (unsigned i = 0; i < n; i++)
		count_answer(w, st, qs[i], as[i], each);
}

/* A packet's first half: parse it. Returns true when it carries a query
 * to decide (sip_query_fill or nq_decode_query filled sl->query); else it
 * was answered or dropped already (p->reply_len). */
static bool sip_parse_pkt(struct dp_worker *w, const struct dp_state *st, struct dp_pkt *p,
			  struct dp_slot *sl);
static bool native_parse_pkt(struct dp_worker *w, const struct dp_state *st, struct dp_pkt *p,
			     struct dp_slot *sl);

static void sip_opts(const struct dp_worker *w, const struct rt_snapshot *snap,
		     struct sip_respond_opts *o)
{
	*o = (struct sip_respond_opts){
		.draining = atomic_load_explicit(&w->srv->draining, memory_order_relaxed),
		.max_contacts = rt_snapshot_max_contacts(snap),
		.retry_after = rt_snapshot_retry_after(snap),
		.server = "strowger",
	};
}

/* The SIP response (a NULL answer: the request needs none, or 400). */
static uint32_t sip_reply(struct dp_worker *w, const struct dp_state *st, struct dp_pkt *p,
			  struct dp_slot *sl, const struct rt_answer *a)
{
	struct dp_counters *c = &w->c;
	struct sip_respond_opts o;
	sip_opts(w, st->gen->snap, &o);
	int n = sip_respond(&sl->sip, a, &o, p->peer, (char *)p->reply, p->reply_cap);
	if (n < 0) {
		DP_COUNT(c->dropped);
		return 0;
	}
	if (n == 0 && sl->sip.method != SIP_METHOD_ACK)
		DP_COUNT(c->dropped);
	return (uint32_t)n;
}

static bool sip_parse_pkt(struct dp_worker *w, const struct dp_state *st, struct dp_pkt *p,
			  struct dp_slot *sl)
{
	struct dp_counters *c = &w->c;
	struct sip_msg *m = &sl->sip;
	p->reply_len = 0;
	int rc = sip_parse(p->data, p->len, m);
	if (rc == SIP_ERESPONSE) {
		DP_COUNT(c->dropped);
		return false;
	}
	if (rc < 0 && rc != SIP_EBAD) {
		DP_COUNT(c->malformed);
		DP_COUNT(c->dropped);
		return false;
	}
	if (rc == SIP_EBAD)
		DP_COUNT(c->malformed);

	switch (m->method) {
	case SIP_METHOD_INVITE:
		DP_COUNT(c->sip_invite);
		break;
	case SIP_METHOD_ACK:
		DP_COUNT(c->sip_ack);
		break;
	case SIP_METHOD_CANCEL:
		DP_COUNT(c->sip_cancel);
		break;
	case SIP_METHOD_OPTIONS:
		DP_COUNT(c->sip_options);
		break;
	default:
		DP_COUNT(c->sip_other);
		break;
	}

	if (rc == 0 && m->method == SIP_METHOD_INVITE && sip_respond_needs_answer(m)) {
		/* Ask only for what fits in the 302: the walk stops early. */
		if (sip_query_fill(m, &sl->query, &sl->nb,
				   rt_snapshot_max_contacts(st->gen->snap)) == 0)
			return true;
		DP_COUNT(c->malformed);
		DP_COUNT(c->status[RT_BAD_REQUEST]);
	}
	p->reply_len = sip_reply(w, st, p, sl, NULL);
	return false;
}

static bool native_parse_pkt(struct dp_worker *w, const struct dp_state *st, struct dp_pkt *p,
			     struct dp_slot *sl)
{
	struct dp_counters *c = &w->c;
	long n;

	p->reply_len = 0;
	sl->id = 0;
	sl->explain = false;
	nq_arena_reset(&sl->arena);
	int rc = nq_decode_query(p->data, p->len, &sl->arena, &sl->query, &sl->id, &sl->explain);
	if (rc == 0)
		return true;
	if (rc == -ERANGE) {
		/* Decodable but out of bounds: the client gets a BAD_REQUEST it
		 * can match to its query. */
		DP_COUNT(c->malformed);
		DP_COUNT(c->status[RT_BAD_REQUEST]);
		n = nq_encode_error(sl->id, RT_BAD_REQUEST, 400, NQ_ERR_TOO_MANY_TRIED,
				    rt_snapshot_generation(st->gen->snap), p->reply, p->reply_cap);
	} else {
		DP_COUNT(c->malformed);
		DP_COUNT(c->dropped);
		return false;
	}
	if (n < 0) {
		DP_COUNT(c->dropped);
		return false;
	}
	p->reply_len = (uint32_t)n;
	return false;
}

/* A decided packet's second half: its answer. */
static uint32_t reply_pkt(struct dp_worker *w, const struct dp_state *st, struct dp_pkt *p,
			  struct dp_slot *sl)
{
	if (p->svc == DP_SVC_SIP)
		return sip_reply(w, st, p, sl, &sl->ans);
	long n = nq_encode_answer(sl->id, &sl->ans, sl->explain ? &w->ex : NULL, p->reply,
				  p->reply_cap);
	if (n < 0) {
		DP_COUNT(w->c.dropped);
		return 0;
	}
	return (uint32_t)n;
}

/* Up to RT_BURST packets: parse each, decide the queries among them
 * together (an explained one alone, answered at once), answer each. */
static void serve_chunk(struct dp_worker *w, const struct dp_state *st, struct dp_pkt *pkts,
			unsigned n)
{
	struct dp_slot *batch[RT_BURST];
	unsigned nb = 0;
	bool decided[RT_BURST];
	for (unsigned i = 0; i < n; i++) {
		struct dp_pkt *p = &pkts[i];
		struct dp_slot *sl = &w->slot[i];
		DP_COUNT(w->c.rx[p->svc < DP_SVC_COUNT ? p->svc : 0]);
		decided[i] = false;
		if (!st) {
			p->reply_len = 0;
			DP_COUNT(w->c.dropped);
			continue;
		}
		if (!(p->svc == DP_SVC_SIP ? sip_parse_pkt(w, st, p, sl)
					   : native_parse_pkt(w, st, p, sl)))
			continue;
		if (sl->explain) {
			/* Answered now: the explanation (w->ex) is one per worker. */
			decide_one(w, st, sl);
			p->reply_len = reply_pkt(w, st, p, sl);
			continue;
		}
		decided[i] = true;
		batch[nb++] = sl;
	}
	if (nb)
		decide_burst(w, st, batch, nb);
	for (unsigned i = 0; i < n; i++) {
		if (decided[i])
			pkts[i].reply_len = reply_pkt(w, st, &pkts[i], &w->slot[i]);
		if (pkts[i].reply_len)
			DP_COUNT(w->c.tx);
	}
}

/* ---- workers ---------------------------------------------------------------- */

static void *worker_main(void *arg)
{
	struct dp_worker *w = arg;
	struct dp_server *srv = w->srv;
	const struct dp_io_ops *io = srv->io;
	unsigned idle = 0;

	rcu_register_thread();
	while (!atomic_load_explicit(&srv->stop, memory_order_relaxed)) {
		unsigned n = io->rx_burst(w->q, w->pkts, DP_BURST);
		if (n == 0) {
			rcu_quiescent_state();
			if (++idle < DP_IDLE_SPINS)
				continue;
			idle = 0;
			rcu_thread_offline();
			io->idle_wait(w->q, DP_IDLE_WAIT_MS);
			rcu_thread_online();
			continue;
		}
		idle = 0;
		const struct dp_state *st = rcu_dereference(srv->state);
		for (unsigned i = 0; i < n; i += RT_BURST)
			serve_chunk(w, st, &w->pkts[i], n - i < RT_BURST ? n - i : RT_BURST);
		io->tx_burst(w->q, w->pkts, n);
		rcu_quiescent_state();
	}
	rcu_unregister_thread();
	return NULL;
}

struct dp_counters *dp_server_worker_counters(struct dp_server *srv, unsigned i)
{
	return &srv->workers[i]->c;
}

void dp_server_set_queue(struct dp_server *srv, unsigned i, struct dp_io_queue *q)
{
	srv->workers[i]->q = q;
}

struct dp_server *dp_server_new(unsigned n_workers, const struct dp_io_ops *io, char *err,
				size_t errlen)
{
	struct dp_server *srv = calloc(1, sizeof(*srv));
	if (!srv)
		goto nomem;
	srv->io = io;
	pthread_mutex_init(&srv->lock, NULL);
	srv->route_tally = calloc(1, sizeof(*srv->route_tally));
	srv->gw_tally = calloc(1, sizeof(*srv->gw_tally));
	srv->gw_fail_tally = calloc(1, sizeof(*srv->gw_fail_tally));
	srv->workers = calloc(n_workers, sizeof(*srv->workers));
	if (!srv->workers || !srv->route_tally || !srv->gw_tally || !srv->gw_fail_tally)
		goto nomem;
	for (unsigned i = 0; i < n_workers; i++) {
		size_t sz = (sizeof(struct dp_worker) + 63) & ~(size_t)63;
		struct dp_worker *w = aligned_alloc(64, sz);
		if (!w)
			goto nomem;
		memset(w, 0, sizeof(*w));
		w->id = i;
		w->srv = srv;
		srv->workers[i] = w;
		srv->n_workers = i + 1;
	}
	return srv;
nomem:
	snprintf(err, errlen, "out of memory creating %u workers", n_workers);
	dp_server_free(srv);
	return NULL;
}

int dp_server_start(struct dp_server *srv, char *err, size_t errlen)
{
	for (unsigned i = 0; i < srv->n_workers; i++) {
		struct dp_worker *w = srv->workers[i];
		int rc = pthread_create(&w->thread, NULL, worker_main, w);
		if (rc) {
			snprintf(err, errlen, "cannot start worker %u: %s", i, strerror(rc));
			dp_server_stop(srv);
			return -rc;
		}
		char name[16];
		snprintf(name, sizeof(name), "strowger-w%u", i % 1000);
		pthread_setname_np(w->thread, name);
		w->started = true;
	}
	return 0;
}

void dp_server_stop(struct dp_server *srv)
{
	atomic_store_explicit(&srv->stop, true, memory_order_relaxed);
	for (unsigned i = 0; i < srv->n_workers; i++) {
		struct dp_worker *w = srv->workers[i];
		if (w->started)
			pthread_join(w->thread, NULL);
		w->started = false;
	}
}

void dp_server_free(struct dp_server *srv)
{
	if (!srv)
		return;
	dp_server_stop(srv);
	/* No reader is left: free without waiting. */
	state_free(srv->state, true);
	for (unsigned i = 0; i < srv->n_workers; i++) {
		if (srv->io && srv->workers[i]->q)
			srv->io->queue_free(srv->workers[i]->q);
		free(srv->workers[i]);
	}
	free(srv->workers);
	tally_free(srv->route_tally);
	tally_free(srv->gw_tally);
	tally_free(srv->gw_fail_tally);
	pthread_mutex_destroy(&srv->lock);
	free(srv);
}

_Static_assert(sizeof(struct dp_counters) % sizeof(uint64_t) == 0,
	       "dp_counters is summed as an array of uint64_t");

void dp_server_counters(const struct dp_server *srv, struct dp_counters *sum)
{
	memset(sum, 0, sizeof(*sum));
	uint64_t *s = (uint64_t *)sum;
	const size_t words = sizeof(*sum) / sizeof(uint64_t);
	for (unsigned i = 0; i < srv->n_workers; i++) {
		const uint64_t *c = (const uint64_t *)&srv->workers[i]->c;
		for (size_t k = 0; k < words; k++)
			s[k] += __atomic_load_n(&c[k], __ATOMIC_RELAXED);
	}
}
