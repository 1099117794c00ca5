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

#include "dp_log.h"
#include "nq_codec.h"
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
	struct rt_query query;
	struct rt_answer ans;
	struct rt_explain ex;
	struct sip_msg sip;
	struct sip_numbuf nb;
	struct nq_arena arena;
};

/* ---- state ----------------------------------------------------------------- */

static void gen_free(struct dp_gen *g)
{
	if (!g)
		return;
	for (unsigned i = 0; i < g->n_workers; i++)
		rt_scratch_free(g->scratch[i]);
	rt_snapshot_free(g->snap);
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

int dp_server_publish(struct dp_server *srv, struct rt_snapshot *snap)
{
	struct dp_gen *g = calloc(1, sizeof(*g) + srv->n_workers * sizeof(g->scratch[0]));
	struct dp_state *st = calloc(1, sizeof(*st));
	if (!g || !st)
		goto nomem;
	g->snap = snap;
	g->n_workers = srv->n_workers;
	/* Scratch is readied here, off the fast path, for this very database:
	 * a worker never allocates or resizes anything per query. */
	for (unsigned i = 0; i < srv->n_workers; i++)
		if (!(g->scratch[i] = rt_scratch_new(snap)))
			goto nomem;
	st->gen = g;
	st->gw_health = calloc(rt_snapshot_gateway_count(snap) + 1, 1);
	st->site_health = calloc(rt_snapshot_site_count(snap) + 1, 1);
	if (!st->gw_health || !st->site_health)
		goto nomem;
	st->view.gateway = st->gw_health;
	st->view.site = st->site_health;

	struct dp_state *old = rcu_xchg_pointer(&srv->state, st);
	if (old) {
		synchronize_rcu(); /* every worker has finished its burst on old */
		state_free(old, true);
	}
	return 0;
nomem:
	if (g && !st) {
		gen_free(g);
	} else if (st) {
		st->gen = g;
		state_free(st, true);
	} else {
		rt_snapshot_free(snap);
	}
	return -ENOMEM;
}

const struct rt_snapshot *dp_server_snapshot(const struct dp_server *srv)
{
	/* Control thread only: it is the only writer of srv->state. */
	return srv->state ? srv->state->gen->snap : NULL;
}

/* ---- front-ends ------------------------------------------------------------- */

static uint32_t handle_sip(struct dp_worker *w, const struct dp_state *st, struct dp_pkt *p)
{
	struct dp_counters *c = &w->c;
	const struct rt_snapshot *snap = st->gen->snap;
	struct sip_msg *m = &w->sip;
	int rc = sip_parse(p->data, p->len, m);
	if (rc == SIP_ERESPONSE) {
		DP_COUNT(c->dropped);
		return 0;
	}
	if (rc < 0 && rc != SIP_EBAD) {
		DP_COUNT(c->malformed);
		DP_COUNT(c->dropped);
		return 0;
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

	struct sip_respond_opts o = {
		.draining = atomic_load_explicit(&w->srv->draining, memory_order_relaxed),
		.max_contacts = rt_snapshot_max_contacts(snap),
		.retry_after = rt_snapshot_retry_after(snap),
		.server = "strowger",
	};
	const struct rt_answer *a = NULL;
	if (rc == 0 && m->method == SIP_METHOD_INVITE && sip_respond_needs_answer(m)) {
		/* Ask only for what fits in the 302: the walk stops early. */
		if (sip_query_fill(m, &w->query, &w->nb, o.max_contacts) == 0) {
			if (w->query.n_tried)
				DP_COUNT(c->failover_queries);
			rt_decide(snap, &st->view, &w->query, st->gen->scratch[w->id], &w->ans, NULL);
			DP_COUNT(c->status[w->ans.status]);
			a = &w->ans;
		} else {
			DP_COUNT(c->malformed);
			DP_COUNT(c->status[RT_BAD_REQUEST]);
		}
	}
	int n = sip_respond(m, a, &o, p->peer, (char *)p->reply, p->reply_cap);
	if (n < 0) {
		DP_COUNT(c->dropped);
		return 0;
	}
	if (n == 0 && m->method != SIP_METHOD_ACK)
		DP_COUNT(c->dropped);
	return (uint32_t)n;
}

static uint32_t handle_native(struct dp_worker *w, const struct dp_state *st, struct dp_pkt *p)
{
	struct dp_counters *c = &w->c;
	const struct rt_snapshot *snap = st->gen->snap;
	uint64_t id = 0;
	bool explain = false;
	long n;

	nq_arena_reset(&w->arena);
	int rc = nq_decode_query(p->data, p->len, &w->arena, &w->query, &id, &explain);
	if (rc == -ERANGE) {
		/* Decodable but out of bounds: the client gets a BAD_REQUEST it
		 * can match to its query. */
		DP_COUNT(c->malformed);
		DP_COUNT(c->status[RT_BAD_REQUEST]);
		n = nq_encode_error(id, RT_BAD_REQUEST, 400, NQ_ERR_TOO_MANY_TRIED,
				    rt_snapshot_generation(snap), p->reply, p->reply_cap);
	} else if (rc < 0) {
		DP_COUNT(c->malformed);
		DP_COUNT(c->dropped);
		return 0;
	} else {
		if (w->query.n_tried)
			DP_COUNT(c->failover_queries);
		rt_decide(snap, &st->view, &w->query, st->gen->scratch[w->id], &w->ans,
			  explain ? &w->ex : NULL);
		DP_COUNT(c->status[w->ans.status]);
		n = nq_encode_answer(id, &w->ans, explain ? &w->ex : NULL, p->reply, p->reply_cap);
	}
	if (n < 0) {
		DP_COUNT(c->dropped);
		return 0;
	}
	return (uint32_t)n;
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
		for (unsigned i = 0; i < n; i++) {
			struct dp_pkt *p = &w->pkts[i];
			DP_COUNT(w->c.rx[p->svc < DP_SVC_COUNT ? p->svc : 0]);
			if (!st) {
				DP_COUNT(w->c.dropped);
				continue;
			}
			p->reply_len = p->svc == DP_SVC_SIP ? handle_sip(w, st, p) : handle_native(w, st, p);
			if (p->reply_len)
				DP_COUNT(w->c.tx);
		}
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
	srv->workers = calloc(n_workers, sizeof(*srv->workers));
	if (!srv->workers)
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
