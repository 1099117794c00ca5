/*
 * sb_native: the native query front-end's client side (SPEC section 4): one
 * protobuf RouteQuery per datagram, one RouteAnswer back echoing its id.
 *
 * Queries: nq_encode_query (dataplane/native/nq_codec.h) encodes each one
 * once, at load, with id 0, which proto3 leaves off the wire. A datagram is
 * then field 1 (the id, a varint) followed by that body: protobuf fields may
 * come in any order, and the result is byte for byte what nq_encode_query
 * writes for the same id, without its per-call malloc on the hot path.
 *
 * Answers: nq_decode_answer unpacks with protobuf-c's default allocator
 * (malloc per message and string). The hot path instead unpacks the same
 * generated RouteAnswer with a bump allocator over a per-thread arena, the
 * way nq_decode_query does on the server, and compares the fields the check
 * needs straight from the message: no allocation per answer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nq_codec.h"
#include "sb.h"
#include "strowger.pb-c.h"

#define ARENA_SIZE (256 * 1024)
#define ID_MAX_LEN 11 /* tag byte + a 10-byte varint */

struct arena {
	size_t used;
	_Alignas(16) uint8_t mem[ARENA_SIZE];
};

int sb_native_prepare(struct sb_data *d, struct sb_query *q, unsigned max_dest, char *err,
		      size_t errlen)
{
	struct rt_query rq = {
		.called = {q->called, q->called_len},
		.calling = {q->calling, q->calling_len},
		.policy = {q->policy, q->policy_len},
		.call_id = {q->call_id, q->call_id_len},
		.n_tried = q->n_tried,
		.max_destinations = max_dest,
	};
	uint8_t buf[SB_PKT_MAX];
	long n;

	for (unsigned i = 0; i < q->n_tried; i++) {
		const struct sb_tried *t = &d->tried[q->tried + i];
		rq.tried[i] = (struct rt_tried){{t->gw, t->gw_len}, t->code};
	}
	n = nq_encode_query(0, &rq, false, buf, sizeof(buf) - ID_MAX_LEN);
	if (n < 0) {
		snprintf(err, errlen, "cannot encode the RouteQuery: %s",
			 n == -ENOSPC ? "longer than a datagram here" : strerror((int)-n));
		return -1;
	}
	if (d->nq_len + (size_t)n > d->nq_cap) {
		size_t nc = d->nq_cap ? d->nq_cap : 1 << 16;
		uint8_t *nb;
		while (nc < d->nq_len + (size_t)n)
			nc *= 2;
		nb = realloc(d->nq, nc);
		if (!nb) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		d->nq = nb;
		d->nq_cap = nc;
	}
	memcpy(d->nq + d->nq_len, buf, (size_t)n);
	q->nq_off = (uint32_t)d->nq_len;
	q->nq_len = (uint16_t)n;
	d->nq_len += (size_t)n;
	return 0;
}

size_t sb_native_query(uint8_t *out, const struct sb_data *d, const struct sb_query *q,
		       uint64_t id)
{
	size_t n = 0;

	out[n++] = 0x08; /* field 1 (id), varint */
	do {
		uint8_t b = id & 0x7f;
		id >>= 7;
		out[n++] = (uint8_t)(b | (id ? 0x80 : 0));
	} while (id);
	memcpy(out + n, d->nq + q->nq_off, q->nq_len);
	return n + q->nq_len;
}

void *sb_native_arena_new(void)
{
	void *p = NULL;

	if (posix_memalign(&p, 64, sizeof(struct arena)) != 0)
		return NULL;
	((struct arena *)p)->used = 0;
	return p;
}

void sb_native_arena_free(void *arena)
{
	free(arena);
}

static void *arena_alloc(void *data, size_t size)
{
	struct arena *a = data;
	size_t need = (size + 15) & ~(size_t)15;
	void *p;

	if (size > ARENA_SIZE || need > ARENA_SIZE - a->used)
		return NULL;
	p = a->mem + a->used;
	a->used += need;
	return p;
}

static void arena_free(void *data, void *p)
{
	(void)data;
	(void)p;
}

const void *sb_native_decode(void *arena, const uint8_t *buf, size_t len, uint64_t *id)
{
	struct arena *a = arena;
	ProtobufCAllocator alloc = {
		.alloc = arena_alloc,
		.free = arena_free,
		.allocator_data = a,
	};
	Strowger__RouteAnswer *m;

	a->used = 0;
	if (len == 0)
		return NULL;
	m = strowger__route_answer__unpack(&alloc, len, buf);
	if (m)
		*id = m->id;
	return m;
}

static const char *nz(const char *s)
{
	return s ? s : "";
}

enum sb_verdict sb_native_check(const void *msg, const struct sb_data *d,
				const struct sb_expect *e, char *why, size_t whylen)
{
	const Strowger__RouteAnswer *m = msg;
	const struct sb_pool *p = &d->pool;

	if ((unsigned)m->status != e->status + 1u || m->code != e->code) {
		if (why) {
			int st = (int)m->status - 1;
			const char *got = st >= 0 && st < RT_STATUS_COUNT
						  ? rt_status_name((enum rt_status)st)
						  : "(bad status)";
			snprintf(why, whylen, "%s %u, expected %s %u", got, m->code,
				 rt_status_name((enum rt_status)e->status), e->code);
		}
		return SB_WRONG_CODE;
	}
	if (m->n_destinations != e->n_dest)
		goto dest;
	for (unsigned i = 0; i < e->n_dest; i++) {
		const Strowger__RouteAnswer__Destination *g = m->destinations[i];
		const struct sb_dest *x = &d->dests[e->first + i];
		if (strcmp(nz(g->gateway), sb_pool_str(p, x->gateway)) ||
		    strcmp(nz(g->address), sb_pool_str(p, x->address)) ||
		    strcmp(nz(g->uri), sb_pool_str(p, x->uri)) ||
		    strcmp(nz(g->called), sb_pool_str(p, x->called)) ||
		    (!x->uri && g->port != x->port))
			goto dest;
	}
	return SB_RIGHT;
dest:
	if (why) {
		size_t o = 0;
		int n = snprintf(why, whylen, "destinations [");
		for (size_t i = 0; n >= 0 && (o += (size_t)n) < whylen && i < m->n_destinations;
		     i++) {
			const Strowger__RouteAnswer__Destination *g = m->destinations[i];
			n = snprintf(why + o, whylen - o, "%s%s@%s:%u", i ? " " : "",
				     g->uri && g->uri[0] ? g->uri : nz(g->gateway), nz(g->address),
				     g->port);
		}
		if (o < whylen)
			n = snprintf(why + o, whylen - o, "], expected [");
		for (unsigned i = 0; n >= 0 && (o += (size_t)n) < whylen && i < e->n_dest; i++) {
			const struct sb_dest *x = &d->dests[e->first + i];
			n = snprintf(why + o, whylen - o, "%s%s@%s:%u", i ? " " : "",
				     x->uri ? sb_pool_str(p, x->uri) : sb_pool_str(p, x->gateway),
				     sb_pool_str(p, x->address), x->port);
		}
		if (o < whylen)
			snprintf(why + o, whylen - o, "]");
	}
	return SB_WRONG_DEST;
}
