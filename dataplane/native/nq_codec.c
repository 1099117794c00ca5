/*
 * nq_codec: see nq_codec.h.
 *
 * Decoding a query hands protobuf-c an allocator backed by the caller's bump
 * arena. protobuf-c frees what it allocated (scan slabs, and everything on
 * an error path); our free is a no-op because the arena is dropped whole.
 * Every arena block carries its size in a small header: protobuf-c copies
 * a string of wire length n into a block of exactly n + 1 bytes, so the
 * header gives the string's true length even when it holds a NUL, which
 * strlen() would silently cut (a called number "+1972\0junk" must reach
 * rt_decide whole and be rejected, not routed as "+1972").
 *
 * Encoding an answer builds the message tree on the stack with strings
 * borrowed from the rt_answer / rt_explain (protobuf-c only reads them),
 * sizes it, and packs it into the caller's buffer.
 */
#include "nq_codec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "strowger.pb-c.h"

/* -------------------------------------------------------------- arena */

/* Block header: the requested size, padded so blocks stay 16-aligned
 * (protobuf-c stores uint64_t, size_t and pointers in what it allocates). */
#define NQ_HDR 16u
#define NQ_ALIGN(n) (((n) + 15u) & ~(size_t)15u)

void nq_arena_reset(struct nq_arena *a)
{
	a->used = 0;
}

static void *nq_arena_alloc(void *data, size_t size)
{
	struct nq_arena *a = data;
	uint8_t *p;
	size_t need;

	/* Checked first so that the rounding below cannot overflow. */
	if (size > NQ_ARENA_SIZE)
		return NULL;
	need = NQ_HDR + NQ_ALIGN(size);
	if (need > NQ_ARENA_SIZE - a->used)
		return NULL;
	p = a->mem + a->used;
	memcpy(p, &size, sizeof(size));
	a->used += need;
	return p + NQ_HDR;
}

static void nq_arena_free(void *data, void *p)
{
	(void)data;
	(void)p;
}

/*
 * The view of a string protobuf-c unpacked into a. Strings it did not
 * allocate (the shared empty default of an absent field) are measured with
 * strlen. An empty string is {NULL, 0}, as the core's "not given".
 */
static struct rt_str nq_str(const struct nq_arena *a, const char *s)
{
	uintptr_t lo = (uintptr_t)(a->mem + NQ_HDR), hi = (uintptr_t)(a->mem + a->used);
	uintptr_t at = (uintptr_t)s;
	size_t len;

	if (!s)
		return (struct rt_str){NULL, 0};
	if (at >= lo && at < hi) {
		size_t size;
		memcpy(&size, s - NQ_HDR, sizeof(size));
		/* Exactly wire length + 1 with the terminator protobuf-c wrote;
		 * anything else (a layout we do not know) falls back to strlen. */
		if (size >= 1 && at + size <= hi && s[size - 1] == '\0')
			len = size - 1;
		else
			len = strlen(s);
	} else {
		len = strlen(s);
	}
	if (len == 0)
		return (struct rt_str){NULL, 0};
	return (struct rt_str){s, len};
}

/* -------------------------------------------------------- query (server) */

int nq_decode_query(const uint8_t *buf, size_t len, struct nq_arena *a, struct rt_query *q,
		    uint64_t *id, bool *explain)
{
	ProtobufCAllocator alloc = {
		.alloc = nq_arena_alloc,
		.free = nq_arena_free,
		.allocator_data = a,
	};
	Strowger__RouteQuery *m;

	/* An empty datagram would decode as an all-default query with id 0:
	 * noise, not a question anyone can match an answer to. */
	if (!buf || len == 0)
		return -EBADMSG;
	m = strowger__route_query__unpack(&alloc, len, buf);
	if (!m)
		return -EBADMSG;

	*id = m->id;
	*explain = m->explain;
	if (m->n_tried > RT_MAX_TRIED)
		return -ERANGE;

	q->called = nq_str(a, m->called);
	q->calling = nq_str(a, m->calling);
	q->policy = nq_str(a, m->policy);
	q->call_id = nq_str(a, m->call_id);
	q->n_tried = (uint32_t)m->n_tried;
	for (size_t i = 0; i < m->n_tried; i++) {
		const Strowger__RouteQuery__Tried *t = m->tried[i];
		/* Out-of-range codes stay out of range in 16 bits, so rt_decide
		 * rejects them with its own reason. */
		uint32_t code = t->code > RT_CODE_MAX ? RT_CODE_MAX + 1 : t->code;
		q->tried[i].gateway = nq_str(a, t->gateway);
		q->tried[i].code = (uint16_t)code;
	}
	q->max_destinations = m->max_destinations;
	q->seed = 0;
	/* m lives in the arena: nothing to free. */
	return 0;
}

/* ------------------------------------------------------- answer (server) */

static char *nq_s(const char *s)
{
	return (char *)(s ? s : "");
}

static Strowger__Transport nq_transport_to_pb(enum rt_transport t)
{
	switch (t) {
	case RT_TRANSPORT_TCP:
		return STROWGER__TRANSPORT__TCP;
	case RT_TRANSPORT_TLS:
		return STROWGER__TRANSPORT__TLS;
	case RT_TRANSPORT_UDP:
	default:
		return STROWGER__TRANSPORT__UDP;
	}
}

/* An Explain message with room for every list of an rt_explain. */
struct nq_explain_msg {
	Strowger__RouteAnswer__Explain m;
	char *matched[RT_EXPLAIN_MAX];
	Strowger__RouteAnswer__Explain__UsageWalk usage[RT_EXPLAIN_MAX];
	Strowger__RouteAnswer__Explain__UsageWalk *usage_p[RT_EXPLAIN_MAX];
	Strowger__RouteAnswer__Explain__Skipped skipped[RT_EXPLAIN_MAX];
	Strowger__RouteAnswer__Explain__Skipped *skipped_p[RT_EXPLAIN_MAX];
	Strowger__RouteAnswer__Explain__Fallback fallback[8];
	Strowger__RouteAnswer__Explain__Fallback *fallback_p[8];
};

#define NQ_MIN(a, b) ((a) < (b) ? (a) : (b))
#define NQ_N_FALLBACKS(ex) (sizeof((ex)->fallbacks) / sizeof((ex)->fallbacks[0]))

static void nq_explain_to_pb(const struct rt_explain *ex, struct nq_explain_msg *e)
{
	static const Strowger__RouteAnswer__Explain init = STROWGER__ROUTE_ANSWER__EXPLAIN__INIT;
	static const Strowger__RouteAnswer__Explain__UsageWalk u_init =
		STROWGER__ROUTE_ANSWER__EXPLAIN__USAGE_WALK__INIT;
	static const Strowger__RouteAnswer__Explain__Skipped s_init =
		STROWGER__ROUTE_ANSWER__EXPLAIN__SKIPPED__INIT;
	static const Strowger__RouteAnswer__Explain__Fallback f_init =
		STROWGER__ROUTE_ANSWER__EXPLAIN__FALLBACK__INIT;
	uint32_t n;

	e->m = init;
	e->m.policy_source = nq_s(ex->policy_source);
	e->m.assignment = nq_s(ex->assignment);
	e->m.dial_plan = nq_s(ex->dial_plan);
	e->m.dial_rule = nq_s(ex->dial_rule);

	n = NQ_MIN(ex->n_matched, RT_EXPLAIN_MAX);
	for (uint32_t i = 0; i < n; i++)
		e->matched[i] = nq_s(ex->matched[i]);
	e->m.n_matched = n;
	e->m.matched = e->matched;
	e->m.matched_dropped = ex->matched_dropped;

	n = NQ_MIN(ex->n_usages, RT_EXPLAIN_MAX);
	for (uint32_t i = 0; i < n; i++) {
		e->usage[i] = u_init;
		e->usage[i].usage = nq_s(ex->usages[i].usage);
		e->usage[i].n_routes = ex->usages[i].n_routes;
		e->usage_p[i] = &e->usage[i];
	}
	e->m.n_usages = n;
	e->m.usages = e->usage_p;

	n = NQ_MIN(ex->n_skipped, RT_EXPLAIN_MAX);
	for (uint32_t i = 0; i < n; i++) {
		e->skipped[i] = s_init;
		e->skipped[i].gateway = nq_s(ex->skipped[i].gateway);
		e->skipped[i].route = nq_s(ex->skipped[i].route);
		e->skipped[i].usage = nq_s(ex->skipped[i].usage);
		e->skipped[i].reason = nq_s(rt_skip_reason_name(ex->skipped[i].reason));
		e->skipped[i].health = nq_s(rt_health_name(ex->skipped[i].health));
		e->skipped_p[i] = &e->skipped[i];
	}
	e->m.n_skipped = n;
	e->m.skipped = e->skipped_p;
	e->m.skipped_dropped = ex->skipped_dropped;

	n = (uint32_t)NQ_MIN(ex->n_fallbacks, NQ_N_FALLBACKS(ex));
	for (uint32_t i = 0; i < n; i++) {
		e->fallback[i] = f_init;
		e->fallback[i].route = nq_s(ex->fallbacks[i].route);
		e->fallback[i].target = nq_s(ex->fallbacks[i].target);
		e->fallback[i].followed = ex->fallbacks[i].followed;
		e->fallback_p[i] = &e->fallback[i];
	}
	e->m.n_fallbacks = n;
	e->m.fallbacks = e->fallback_p;
}

static long nq_pack(const ProtobufCMessage *m, uint8_t *out, size_t cap)
{
	size_t need = protobuf_c_message_get_packed_size(m);

	if (need > cap || need > (size_t)0x7fffffff)
		return -ENOSPC;
	return (long)protobuf_c_message_pack(m, out);
}

long nq_encode_answer(uint64_t id, const struct rt_answer *ans, const struct rt_explain *ex,
		      uint8_t *out, size_t cap)
{
	static const Strowger__RouteAnswer__Destination d_init =
		STROWGER__ROUTE_ANSWER__DESTINATION__INIT;
	Strowger__RouteAnswer m = STROWGER__ROUTE_ANSWER__INIT;
	Strowger__RouteAnswer__Destination dest[RT_MAX_DEST];
	Strowger__RouteAnswer__Destination *dest_p[RT_MAX_DEST];
	struct nq_explain_msg e;
	uint32_t n = NQ_MIN(ans->n_dest, RT_MAX_DEST);

	if ((unsigned)ans->status >= RT_STATUS_COUNT)
		return -EINVAL;
	m.id = id;
	/* The proto's numbering is rt_status + 1 (0 is "unspecified"). */
	m.status = (Strowger__RouteAnswer__Status)(ans->status + 1);
	m.code = ans->code;
	m.generation = ans->generation;
	m.normalized = (char *)ans->normalized;
	m.policy = nq_s(ans->policy);
	m.error = nq_s(ans->error);

	for (uint32_t i = 0; i < n; i++) {
		const struct rt_dest *d = &ans->dest[i];
		Strowger__RouteAnswer__Destination *pd = &dest[i];

		*pd = d_init;
		pd->gateway = nq_s(d->gateway);
		pd->trunk = nq_s(d->trunk);
		pd->route = nq_s(d->route);
		pd->usage = nq_s(d->usage);
		pd->address = nq_s(d->address);
		pd->uri = nq_s(d->uri);
		pd->port = d->port;
		pd->transport = nq_transport_to_pb(d->transport);
		pd->called = (char *)d->called;
		pd->calling = (char *)d->calling;
		pd->degraded = d->degraded;
		pd->via_fallback = d->via_fallback;
		dest_p[i] = pd;
	}
	m.n_destinations = n;
	m.destinations = dest_p;

	if (ex) {
		nq_explain_to_pb(ex, &e);
		m.explain = &e.m;
	}
	return nq_pack(&m.base, out, cap);
}

long nq_encode_error(uint64_t id, enum rt_status st, uint16_t code, const char *error,
		     uint64_t generation, uint8_t *out, size_t cap)
{
	Strowger__RouteAnswer m = STROWGER__ROUTE_ANSWER__INIT;

	if ((unsigned)st >= RT_STATUS_COUNT)
		return -EINVAL;
	m.id = id;
	m.status = (Strowger__RouteAnswer__Status)(st + 1);
	m.code = code;
	m.generation = generation;
	m.error = nq_s(error);
	return nq_pack(&m.base, out, cap);
}

/* -------------------------------------------------------- query (client) */

/* Copy s into *at as a C string; returns the copy. */
static char *nq_put(char **at, struct rt_str s)
{
	char *r = *at;

	if (s.len)
		memcpy(r, s.p, s.len);
	r[s.len] = '\0';
	*at += s.len + 1;
	return r;
}

long nq_encode_query(uint64_t id, const struct rt_query *q, bool explain, uint8_t *out,
		     size_t cap)
{
	static const Strowger__RouteQuery__Tried t_init = STROWGER__ROUTE_QUERY__TRIED__INIT;
	Strowger__RouteQuery m = STROWGER__ROUTE_QUERY__INIT;
	Strowger__RouteQuery__Tried tried[RT_MAX_TRIED];
	Strowger__RouteQuery__Tried *tried_p[RT_MAX_TRIED];
	size_t total;
	char *strs, *at;
	long rc;

	if (q->n_tried > RT_MAX_TRIED)
		return -EINVAL;
	/* protobuf-c wants NUL-terminated strings; rt_str views are not. */
	total = q->called.len + q->calling.len + q->policy.len + q->call_id.len + 4;
	for (uint32_t i = 0; i < q->n_tried; i++)
		total += q->tried[i].gateway.len + 1;
	strs = malloc(total);
	if (!strs)
		return -ENOMEM;
	at = strs;

	m.id = id;
	m.called = nq_put(&at, q->called);
	m.calling = nq_put(&at, q->calling);
	m.policy = nq_put(&at, q->policy);
	m.call_id = nq_put(&at, q->call_id);
	for (uint32_t i = 0; i < q->n_tried; i++) {
		tried[i] = t_init;
		tried[i].gateway = nq_put(&at, q->tried[i].gateway);
		tried[i].code = q->tried[i].code;
		tried_p[i] = &tried[i];
	}
	m.n_tried = q->n_tried;
	m.tried = tried_p;
	m.max_destinations = q->max_destinations;
	m.explain = explain;

	rc = nq_pack(&m.base, out, cap);
	free(strs);
	return rc;
}

/* ------------------------------------------------------- answer (client) */

static const char *nq_opt(const char *s)
{
	return s && s[0] ? s : NULL;
}

/* Copy a number into a fixed RT_NUM_MAX field. 0 or -EBADMSG. */
static int nq_num(char dst[RT_NUM_MAX], const char *s)
{
	size_t len = s ? strlen(s) : 0;

	if (len >= RT_NUM_MAX)
		return -EBADMSG;
	memcpy(dst, s ? s : "", len);
	dst[len] = '\0';
	return 0;
}

static int nq_transport_from_pb(Strowger__Transport t, enum rt_transport *out)
{
	switch (t) {
	case STROWGER__TRANSPORT__UDP:
		*out = RT_TRANSPORT_UDP;
		return 0;
	case STROWGER__TRANSPORT__TCP:
		*out = RT_TRANSPORT_TCP;
		return 0;
	case STROWGER__TRANSPORT__TLS:
		*out = RT_TRANSPORT_TLS;
		return 0;
	default:
		return -EBADMSG;
	}
}

static int nq_skip_reason_parse(const char *s, enum rt_skip_reason *out)
{
	for (int r = RT_SKIP_DOWN; r <= RT_SKIP_LIMIT; r++) {
		if (strcmp(s, rt_skip_reason_name((enum rt_skip_reason)r)) == 0) {
			*out = (enum rt_skip_reason)r;
			return 0;
		}
	}
	return -EBADMSG;
}

static int nq_dest_from_pb(const Strowger__RouteAnswer__Destination *pd, struct rt_dest *d)
{
	if (pd->port > UINT16_MAX || nq_transport_from_pb(pd->transport, &d->transport) != 0 ||
	    nq_num(d->called, pd->called) != 0 || nq_num(d->calling, pd->calling) != 0)
		return -EBADMSG;
	d->gateway = nq_opt(pd->gateway);
	d->trunk = nq_opt(pd->trunk);
	d->route = nq_opt(pd->route);
	d->usage = nq_opt(pd->usage);
	d->address = nq_opt(pd->address);
	d->uri = nq_opt(pd->uri);
	d->port = (uint16_t)pd->port;
	d->degraded = pd->degraded;
	d->via_fallback = pd->via_fallback;
	d->gateway_index = -1;
	d->route_index = -1;
	return 0;
}

static int nq_explain_from_pb(const Strowger__RouteAnswer__Explain *pe, struct rt_explain *ex)
{
	size_t n;

	memset(ex, 0, sizeof(*ex));
	ex->policy_source = nq_opt(pe->policy_source);
	ex->assignment = nq_opt(pe->assignment);
	ex->dial_plan = nq_opt(pe->dial_plan);
	ex->dial_rule = nq_opt(pe->dial_rule);

	n = NQ_MIN(pe->n_matched, (size_t)RT_EXPLAIN_MAX);
	for (size_t i = 0; i < n; i++)
		ex->matched[i] = nq_opt(pe->matched[i]);
	ex->n_matched = (uint32_t)n;
	ex->matched_dropped = pe->matched_dropped;
	if (pe->n_matched > n)
		ex->matched_dropped += (uint32_t)(pe->n_matched - n);

	n = NQ_MIN(pe->n_usages, (size_t)RT_EXPLAIN_MAX);
	for (size_t i = 0; i < n; i++) {
		ex->usages[i].usage = nq_opt(pe->usages[i]->usage);
		ex->usages[i].n_routes = pe->usages[i]->n_routes;
	}
	ex->n_usages = (uint32_t)n;

	n = NQ_MIN(pe->n_skipped, (size_t)RT_EXPLAIN_MAX);
	for (size_t i = 0; i < n; i++) {
		const Strowger__RouteAnswer__Explain__Skipped *ps = pe->skipped[i];
		if (nq_skip_reason_parse(ps->reason, &ex->skipped[i].reason) != 0 ||
		    rt_health_parse(ps->health, &ex->skipped[i].health) != 0)
			return -EBADMSG;
		ex->skipped[i].gateway = nq_opt(ps->gateway);
		ex->skipped[i].route = nq_opt(ps->route);
		ex->skipped[i].usage = nq_opt(ps->usage);
	}
	ex->n_skipped = (uint32_t)n;
	ex->skipped_dropped = pe->skipped_dropped;
	if (pe->n_skipped > n)
		ex->skipped_dropped += (uint32_t)(pe->n_skipped - n);

	n = NQ_MIN(pe->n_fallbacks, NQ_N_FALLBACKS(ex));
	for (size_t i = 0; i < n; i++) {
		ex->fallbacks[i].route = nq_opt(pe->fallbacks[i]->route);
		ex->fallbacks[i].target = nq_opt(pe->fallbacks[i]->target);
		ex->fallbacks[i].followed = pe->fallbacks[i]->followed;
	}
	ex->n_fallbacks = (uint32_t)n;
	return 0;
}

int nq_decode_answer(const uint8_t *buf, size_t len, uint64_t *id, struct rt_answer *ans,
		     struct rt_explain *ex, bool *has_explain, void **msg_out)
{
	Strowger__RouteAnswer *m;
	int rc = -EBADMSG;

	*msg_out = NULL;
	if (!buf && len)
		return -EBADMSG;
	m = strowger__route_answer__unpack(NULL, len, buf);
	if (!m)
		return -EBADMSG;

	memset(ans, 0, offsetof(struct rt_answer, dest));
	if (m->status < 1 || m->status > RT_STATUS_COUNT || m->code > UINT16_MAX ||
	    m->n_destinations > RT_MAX_DEST || nq_num(ans->normalized, m->normalized) != 0)
		goto out;
	ans->status = (enum rt_status)(m->status - 1);
	ans->code = (uint16_t)m->code;
	ans->generation = m->generation;
	ans->policy = nq_opt(m->policy);
	ans->error = nq_opt(m->error);
	for (size_t i = 0; i < m->n_destinations; i++) {
		memset(&ans->dest[i], 0, sizeof(ans->dest[i]));
		if (nq_dest_from_pb(m->destinations[i], &ans->dest[i]) != 0)
			goto out;
	}
	ans->n_dest = (uint32_t)m->n_destinations;
	if (ex && m->explain && nq_explain_from_pb(m->explain, ex) != 0)
		goto out;
	if (has_explain)
		*has_explain = m->explain != NULL;
	*id = m->id;
	*msg_out = m;
	return 0;
out:
	ans->n_dest = 0;
	strowger__route_answer__free_unpacked(m, NULL);
	return rc;
}

void nq_answer_free(void *msg)
{
	if (msg)
		strowger__route_answer__free_unpacked(msg, NULL);
}
