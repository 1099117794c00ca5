/*
 * libFuzzer target for the native codec, both directions a datagram can
 * arrive: the server decoding a RouteQuery from anyone, and strowgerctl
 * decoding a RouteAnswer from whatever answers. Beyond "no crash": a query
 * that decodes re-encodes and decodes to the same query, and an answer
 * that decodes re-encodes to something that decodes again.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nq_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct nq_arena arena, arena2;
static uint8_t out[65536];

static int str_eq(struct rt_str a, struct rt_str b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

static int has_nul(struct rt_str s)
{
	return s.len && memchr(s.p, 0, s.len) != NULL;
}

/* A query strowgerctl can send: its strings are C strings, so a decoded
 * query with an embedded NUL (which the server sees whole and rejects)
 * cannot be re-encoded as it was. */
static int client_sendable(const struct rt_query *q)
{
	if (has_nul(q->called) || has_nul(q->calling) || has_nul(q->policy) ||
	    has_nul(q->call_id))
		return 0;
	for (uint32_t i = 0; i < q->n_tried; i++)
		if (has_nul(q->tried[i].gateway))
			return 0;
	return 1;
}

static void fuzz_query(const uint8_t *data, size_t size)
{
	struct rt_query q, r;
	uint64_t id = 0, id2 = 0;
	bool ex = false, ex2 = false;

	nq_arena_reset(&arena);
	int rc = nq_decode_query(data, size, &arena, &q, &id, &ex);
	if (rc == -ERANGE) {
		long n = nq_encode_error(id, RT_BAD_REQUEST, 400, NQ_ERR_TOO_MANY_TRIED, 1, out,
					 sizeof(out));
		if (n <= 0)
			abort();
		return;
	}
	if (rc != 0) {
		if (rc != -EBADMSG)
			abort();
		return;
	}
	if (!client_sendable(&q))
		return;
	long n = nq_encode_query(id, &q, ex, out, sizeof(out));
	if (n <= 0)
		return; /* refused (over 64 KiB), or all defaults: an empty
			 * datagram, which the server drops by design */
	nq_arena_reset(&arena2);
	if (nq_decode_query(out, (size_t)n, &arena2, &r, &id2, &ex2) != 0)
		abort();
	if (id != id2 || ex != ex2 || !str_eq(q.called, r.called) ||
	    !str_eq(q.calling, r.calling) || !str_eq(q.policy, r.policy) ||
	    !str_eq(q.call_id, r.call_id) || q.n_tried != r.n_tried)
		abort();
	for (uint32_t i = 0; i < q.n_tried; i++)
		if (!str_eq(q.tried[i].gateway, r.tried[i].gateway) ||
		    q.tried[i].code != r.tried[i].code)
			abort();
}

static void fuzz_answer(const uint8_t *data, size_t size)
{
	static struct rt_answer ans, ans2;
	static struct rt_explain ex, ex2;
	uint64_t id = 0, id2 = 0;
	bool has_ex = false, has_ex2 = false;
	void *msg = NULL, *msg2 = NULL;

	if (nq_decode_answer(data, size, &id, &ans, &ex, &has_ex, &msg) != 0) {
		if (msg)
			abort();
		return;
	}
	long n = nq_encode_answer(id, &ans, has_ex ? &ex : NULL, out, sizeof(out));
	if (n >= 0) {
		if (nq_decode_answer(out, (size_t)n, &id2, &ans2, &ex2, &has_ex2, &msg2) != 0)
			abort();
		if (id2 != id || ans2.status != ans.status || ans2.n_dest != ans.n_dest)
			abort();
		nq_answer_free(msg2);
	}
	nq_answer_free(msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_query(data, size);
	fuzz_answer(data, size);
	return 0;
}
