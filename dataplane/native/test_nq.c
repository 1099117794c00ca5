/*
 * nq_codec unit tests: what a client and the server see of each other's
 * datagrams, and that no datagram a sender can make crashes the server.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nq_codec.h"
#include "strowger.pb-c.h"

#define BUF_CAP 65536

static uint8_t buf[BUF_CAP];
static struct nq_arena arena;

static void assert_str_eq(struct rt_str s, const char *want)
{
	if (!want) {
		assert_null(s.p);
		assert_int_equal(s.len, 0);
		return;
	}
	assert_int_equal(s.len, strlen(want));
	assert_memory_equal(s.p, want, s.len);
}

/* NULL-tolerant string equality for the answer side. */
static void assert_cstr(const char *got, const char *want)
{
	if (!want)
		assert_null(got);
	else
		assert_string_equal(got, want);
}

/* --------------------------------------------------------------- queries */

static void test_query_round_trip(void **state)
{
	(void)state;
	/* Views that are not NUL-terminated, as strowgerctl's --tried are. */
	const char *argv_tried = "Red-GW1:503";
	struct rt_query q = {
		.called = rt_str_c("+19725550100"),
		.calling = rt_str_c("+14255550123"),
		.policy = rt_str_c("Dallas Calling Policy"),
		.call_id = rt_str_c("a84b4c76e66710@pc33"),
		.n_tried = 3,
		.max_destinations = 4,
		.seed = 99,
	};
	q.tried[0] = (struct rt_tried){{argv_tried, 7}, 503};
	q.tried[1] = (struct rt_tried){rt_str_c("sip:odd:name"), 0};
	q.tried[2] = (struct rt_tried){rt_str_c("Dallas-GW1"), 486};

	long n = nq_encode_query(0x0123456789abcdefull, &q, true, buf, sizeof(buf));
	assert_true(n > 0);

	struct rt_query d;
	uint64_t id = 0;
	bool explain = false;
	memset(&d, 0xa5, sizeof(d));
	nq_arena_reset(&arena);
	assert_int_equal(nq_decode_query(buf, (size_t)n, &arena, &d, &id, &explain), 0);
	assert_true(id == 0x0123456789abcdefull);
	assert_true(explain);
	assert_str_eq(d.called, "+19725550100");
	assert_str_eq(d.calling, "+14255550123");
	assert_str_eq(d.policy, "Dallas Calling Policy");
	assert_str_eq(d.call_id, "a84b4c76e66710@pc33");
	assert_int_equal(d.n_tried, 3);
	assert_str_eq(d.tried[0].gateway, "Red-GW1");
	assert_int_equal(d.tried[0].code, 503);
	assert_str_eq(d.tried[1].gateway, "sip:odd:name");
	assert_int_equal(d.tried[1].code, 0);
	assert_str_eq(d.tried[2].gateway, "Dallas-GW1");
	assert_int_equal(d.tried[2].code, 486);
	assert_int_equal(d.max_destinations, 4);
	/* The seed is not on the wire: the server seeds like offline mode. */
	assert_int_equal(d.seed, 0);
}

static void test_query_minimal(void **state)
{
	(void)state;
	struct rt_query q = {.called = rt_str_c("1234")};
	long n = nq_encode_query(7, &q, false, buf, sizeof(buf));
	assert_true(n > 0);

	struct rt_query d;
	uint64_t id;
	bool explain = true;
	nq_arena_reset(&arena);
	assert_int_equal(nq_decode_query(buf, (size_t)n, &arena, &d, &id, &explain), 0);
	assert_int_equal(id, 7);
	assert_false(explain);
	assert_str_eq(d.called, "1234");
	assert_str_eq(d.calling, NULL);
	assert_str_eq(d.policy, NULL);
	assert_str_eq(d.call_id, NULL);
	assert_int_equal(d.n_tried, 0);
	assert_int_equal(d.max_destinations, 0);

	/* No called number at all still decodes: rt_decide says BAD_REQUEST. */
	q.called = (struct rt_str){NULL, 0};
	n = nq_encode_query(8, &q, false, buf, sizeof(buf));
	assert_true(n > 0);
	nq_arena_reset(&arena);
	assert_int_equal(nq_decode_query(buf, (size_t)n, &arena, &d, &id, &explain), 0);
	assert_int_equal(id, 8);
	assert_str_eq(d.called, NULL);
}

/* Hand-made wire bytes: field 1 (id) = 5, field 2 (called) = s[0..len). */
static size_t wire_called(uint8_t *out, const char *s, size_t len)
{
	size_t n = 0;
	out[n++] = 0x08;
	out[n++] = 5;
	out[n++] = 0x12;
	out[n++] = (uint8_t)len; /* len < 128 here */
	memcpy(out + n, s, len);
	return n + len;
}

static void test_query_embedded_nul_kept(void **state)
{
	(void)state;
	static const char called[] = "+1972\0junk";
	size_t n = wire_called(buf, called, sizeof(called) - 1);
	struct rt_query d;
	uint64_t id;
	bool explain;

	nq_arena_reset(&arena);
	assert_int_equal(nq_decode_query(buf, n, &arena, &d, &id, &explain), 0);
	assert_int_equal(id, 5);
	/* Seen whole, so rt_decide rejects it instead of routing "+1972". */
	assert_int_equal(d.called.len, sizeof(called) - 1);
	assert_memory_equal(d.called.p, called, sizeof(called) - 1);

	/* A string that starts with NUL is not "absent". */
	n = wire_called(buf, "\0", 1);
	nq_arena_reset(&arena);
	assert_int_equal(nq_decode_query(buf, n, &arena, &d, &id, &explain), 0);
	assert_int_equal(d.called.len, 1);
}

static size_t pack_query_tried(uint64_t id, size_t n_tried, uint32_t code)
{
	Strowger__RouteQuery m = STROWGER__ROUTE_QUERY__INIT;
	Strowger__RouteQuery__Tried t[64];
	Strowger__RouteQuery__Tried *tp[64];

	assert_true(n_tried <= 64);
	for (size_t i = 0; i < n_tried; i++) {
		strowger__route_query__tried__init(&t[i]);
		t[i].gateway = "GW";
		t[i].code = code;
		tp[i] = &t[i];
	}
	m.id = id;
	m.called = "+14255550100";
	m.n_tried = n_tried;
	m.tried = tp;
	m.explain = true;
	assert_true(strowger__route_query__get_packed_size(&m) <= sizeof(buf));
	return strowger__route_query__pack(&m, buf);
}

static void test_query_too_many_tried(void **state)
{
	(void)state;
	struct rt_query d;
	uint64_t id = 0;
	bool explain = false;

	size_t n = pack_query_tried(42, RT_MAX_TRIED, 503);
	nq_arena_reset(&arena);
	assert_int_equal(nq_decode_query(buf, n, &arena, &d, &id, &explain), 0);
	assert_int_equal(d.n_tried, RT_MAX_TRIED);

	/* One more: decoded far enough to answer BAD_REQUEST to the right id. */
	n = pack_query_tried(43, RT_MAX_TRIED + 1, 503);
	id = 0;
	explain = false;
	nq_arena_reset(&arena);
	assert_int_equal(nq_decode_query(buf, n, &arena, &d, &id, &explain), -ERANGE);
	assert_int_equal(id, 43);
	assert_true(explain);

	long len = nq_encode_error(id, RT_BAD_REQUEST, 400, NQ_ERR_TOO_MANY_TRIED, 3, buf,
				   sizeof(buf));
	assert_true(len > 0);
	struct rt_answer ans;
	void *msg;
	uint64_t aid;
	bool has_ex = true;
	assert_int_equal(nq_decode_answer(buf, (size_t)len, &aid, &ans, NULL, &has_ex, &msg), 0);
	assert_int_equal(aid, 43);
	assert_int_equal(ans.status, RT_BAD_REQUEST);
	assert_int_equal(ans.code, 400);
	assert_int_equal(ans.generation, 3);
	assert_string_equal(ans.error, NQ_ERR_TOO_MANY_TRIED);
	assert_null(ans.policy);
	assert_int_equal(ans.n_dest, 0);
	assert_false(has_ex);
	nq_answer_free(msg);
}

static void test_query_code_range(void **state)
{
	(void)state;
	static const struct {
		uint32_t wire;
		uint16_t want;
	} cases[] = {
		{0, 0}, {486, 486}, {RT_CODE_MAX, RT_CODE_MAX}, {RT_CODE_MAX + 1, RT_CODE_MAX + 1},
		{65535, RT_CODE_MAX + 1}, {65536 + 486, RT_CODE_MAX + 1}, {UINT32_MAX, RT_CODE_MAX + 1},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rt_query d;
		uint64_t id;
		bool explain;
		size_t n = pack_query_tried(1, 1, cases[i].wire);
		nq_arena_reset(&arena);
		assert_int_equal(nq_decode_query(buf, n, &arena, &d, &id, &explain), 0);
		/* Never truncated into a valid code: 65536 + 486 must not be 486. */
		assert_int_equal(d.tried[0].code, cases[i].want);
	}
}

static void test_query_arena_overflow(void **state)
{
	(void)state;
	struct rt_query d;
	uint64_t id;
	bool explain;

	/* A called number bigger than the whole arena. */
	Strowger__RouteQuery m = STROWGER__ROUTE_QUERY__INIT;
	char *big = malloc(NQ_ARENA_SIZE + 100);
	assert_non_null(big);
	memset(big, '1', NQ_ARENA_SIZE + 99);
	big[NQ_ARENA_SIZE + 99] = '\0';
	m.id = 9;
	m.called = big;
	size_t n = strowger__route_query__pack(&m, buf);
	nq_arena_reset(&arena);
	assert_int_equal(nq_decode_query(buf, n, &arena, &d, &id, &explain), -EBADMSG);
	free(big);

	/* Thousands of empty tried entries: 2 bytes each on the wire, far more
	 * decoded. The arena runs out; the decode fails cleanly. */
	size_t at = 0;
	buf[at++] = 0x08;
	buf[at++] = 9;
	while (at + 2 <= 60000) {
		buf[at++] = 0x32; /* field 6, length-delimited */
		buf[at++] = 0;
	}
	nq_arena_reset(&arena);
	assert_int_equal(nq_decode_query(buf, at, &arena, &d, &id, &explain), -EBADMSG);
	assert_true(arena.used <= NQ_ARENA_SIZE);

	/* The same arena, reset, serves the next datagram. */
	struct rt_query q = {.called = rt_str_c("+1")};
	long len = nq_encode_query(10, &q, false, buf, sizeof(buf));
	nq_arena_reset(&arena);
	assert_int_equal(nq_decode_query(buf, (size_t)len, &arena, &d, &id, &explain), 0);
	assert_int_equal(id, 10);
	assert_str_eq(d.called, "+1");

	/* Without a reset the arena fills up, and then fails cleanly. */
	int rc = 0;
	for (int i = 0; i < 10000 && rc == 0; i++)
		rc = nq_decode_query(buf, (size_t)len, &arena, &d, &id, &explain);
	assert_int_equal(rc, -EBADMSG);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)rng_state;
}

static void test_garbage(void **state)
{
	(void)state;
	struct rt_query d;
	struct rt_answer *ans = malloc(sizeof(*ans));
	struct rt_explain *ex = malloc(sizeof(*ex));
	uint64_t id;
	bool explain, has_ex;
	void *msg;
	assert_non_null(ans);
	assert_non_null(ex);

	/* Specific shapes. */
	static const uint8_t ff[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	static const uint8_t called_as_varint[] = {0x10, 0x01};   /* field 2, varint */
	static const uint8_t long_len[] = {0x12, 0xff, 0xff, 0x03, 'a'}; /* length past end */
	static const uint8_t group[] = {0x0b};                   /* start group */
	nq_arena_reset(&arena);
	assert_int_equal(nq_decode_query(ff, sizeof(ff), &arena, &d, &id, &explain), -EBADMSG);
	assert_int_equal(nq_decode_query(called_as_varint, 2, &arena, &d, &id, &explain), -EBADMSG);
	assert_int_equal(nq_decode_query(long_len, 5, &arena, &d, &id, &explain), -EBADMSG);
	assert_int_equal(nq_decode_query(group, 1, &arena, &d, &id, &explain), -EBADMSG);
	assert_int_equal(nq_decode_query(ff, 0, &arena, &d, &id, &explain), -EBADMSG);
	assert_int_equal(nq_decode_query(NULL, 0, &arena, &d, &id, &explain), -EBADMSG);
	assert_int_equal(nq_decode_answer(ff, sizeof(ff), &id, ans, ex, &has_ex, &msg), -EBADMSG);
	assert_null(msg);
	/* An empty answer has no status: malformed. */
	assert_int_equal(nq_decode_answer(ff, 0, &id, ans, ex, &has_ex, &msg), -EBADMSG);

	/* Random bytes and every truncation / bit flip of a valid query. */
	struct rt_query q = {
		.called = rt_str_c("+19725550100"),
		.policy = rt_str_c("Dallas Calling Policy"),
		.n_tried = 2,
	};
	q.tried[0] = (struct rt_tried){rt_str_c("Red-GW1"), 503};
	q.tried[1] = (struct rt_tried){rt_str_c("Red-GW2"), 408};
	uint8_t good[512];
	long glen = nq_encode_query(77, &q, true, good, sizeof(good));
	assert_true(glen > 0);
	for (long cut = 0; cut <= glen; cut++) {
		nq_arena_reset(&arena);
		int rc = nq_decode_query(good, (size_t)cut, &arena, &d, &id, &explain);
		assert_true(rc == 0 || rc == -EBADMSG || rc == -ERANGE);
	}
	for (long i = 0; i < glen * 8; i++) {
		uint8_t mut[512];
		memcpy(mut, good, (size_t)glen);
		mut[i / 8] ^= (uint8_t)(1u << (i % 8));
		nq_arena_reset(&arena);
		int rc = nq_decode_query(mut, (size_t)glen, &arena, &d, &id, &explain);
		assert_true(rc == 0 || rc == -EBADMSG || rc == -ERANGE);
		if (rc == 0) {
			assert_true(d.n_tried <= RT_MAX_TRIED);
			for (uint32_t t = 0; t < d.n_tried; t++)
				assert_true(d.tried[t].code <= RT_CODE_MAX + 1);
		}
		rc = nq_decode_answer(mut, (size_t)glen, &id, ans, ex, &has_ex, &msg);
		assert_true(rc == 0 || rc == -EBADMSG);
		nq_answer_free(msg);
	}
	for (int round = 0; round < 20000; round++) {
		size_t len = rng() % 300;
		for (size_t i = 0; i < len; i++)
			buf[i] = (uint8_t)rng();
		nq_arena_reset(&arena);
		int rc = nq_decode_query(buf, len, &arena, &d, &id, &explain);
		assert_true(rc == 0 || rc == -EBADMSG || rc == -ERANGE);
		rc = nq_decode_answer(buf, len, &id, ans, ex, &has_ex, &msg);
		assert_true(rc == 0 || rc == -EBADMSG);
		nq_answer_free(msg);
	}
	free(ans);
	free(ex);
}

/* --------------------------------------------------------------- answers */

static void fill_dest(struct rt_dest *d, const char *gw, const char *trunk, const char *route,
		      const char *usage, const char *addr, uint16_t port, enum rt_transport t,
		      const char *called, const char *calling)
{
	memset(d, 0, sizeof(*d));
	d->gateway = gw;
	d->trunk = trunk;
	d->route = route;
	d->usage = usage;
	d->address = addr;
	d->port = port;
	d->transport = t;
	d->gateway_index = 3;
	strcpy(d->called, called);
	strcpy(d->calling, calling);
}

static void fill_answer(struct rt_answer *a, struct rt_explain *ex)
{
	memset(a, 0, sizeof(*a));
	a->status = RT_ROUTED;
	a->code = 302;
	a->generation = 0x1122334455667788ull;
	a->policy = "Dallas Calling Policy";
	a->error = "not really an error";
	strcpy(a->normalized, "+19725550100");
	fill_dest(&a->dest[0], "Red-GW1", "Trunk1", "Universal Route", "GlobalPSTNHopoff",
		  "192.0.2.11", 5060, RT_TRANSPORT_UDP, "+19725550100", "+14255550123");
	fill_dest(&a->dest[1], "Red-GW2", "Trunk2", "Universal Route", "GlobalPSTNHopoff",
		  "2001:db8::12", 5061, RT_TRANSPORT_TLS, "19725550100", "");
	a->dest[1].degraded = true;
	/* A fallback SIP URI: no gateway, trunk or address. */
	fill_dest(&a->dest[2], NULL, NULL, "Dallas Users Route", "DallasUsers", NULL, 0,
		  RT_TRANSPORT_UDP, "+19725550100", "");
	a->dest[2].uri = "sip:+19725550100@voicemail.example.net";
	a->dest[2].gateway_index = -1;
	/* Reached through an E.164 fallback. */
	fill_dest(&a->dest[3], "Dallas-GW1", "Trunk3", "Fallback Route", "Local", "gw.example.net",
		  5080, RT_TRANSPORT_TCP, "+18005550100", "+14255550123");
	a->dest[3].via_fallback = true;
	a->n_dest = 4;

	memset(ex, 0, sizeof(*ex));
	ex->policy_source = "assignment";
	ex->assignment = "^\\+1425";
	ex->dial_plan = "Dallas Dial Plan";
	ex->dial_rule = "^(\\d{10})$";
	ex->n_matched = 3;
	ex->matched[0] = "Dallas Local Route";
	ex->matched[1] = "Dallas Users Route";
	ex->matched[2] = "Universal Route";
	ex->matched_dropped = 5;
	ex->n_usages = 2;
	ex->usages[0].usage = "DallasUsers";
	ex->usages[0].n_routes = 1;
	ex->usages[1].usage = "GlobalPSTNHopoff";
	ex->usages[1].n_routes = 2;
	/* One skipped entry per reason, each with another health. */
	static const enum rt_health hs[] = {RT_HEALTH_DOWN, RT_HEALTH_DRAINING, RT_HEALTH_UP,
					    RT_HEALTH_UNKNOWN, RT_HEALTH_DEGRADED};
	for (int r = RT_SKIP_DOWN; r <= RT_SKIP_LIMIT; r++) {
		ex->skipped[r].gateway = "Dallas-GW1";
		ex->skipped[r].route = "Dallas Users Route";
		ex->skipped[r].usage = "DallasUsers";
		ex->skipped[r].reason = (enum rt_skip_reason)r;
		ex->skipped[r].health = hs[r];
	}
	ex->n_skipped = RT_SKIP_LIMIT + 1;
	ex->skipped_dropped = 2;
	ex->n_fallbacks = 2;
	ex->fallbacks[0].route = "Dallas Users Route";
	ex->fallbacks[0].target = "+18005550100";
	ex->fallbacks[0].followed = true;
	ex->fallbacks[1].route = "Fallback Route";
	ex->fallbacks[1].target = "+19725550100";
	ex->fallbacks[1].followed = false;
}

static void assert_dest_eq(const struct rt_dest *got, const struct rt_dest *want)
{
	assert_cstr(got->gateway, want->gateway);
	assert_cstr(got->trunk, want->trunk);
	assert_cstr(got->route, want->route);
	assert_cstr(got->usage, want->usage);
	assert_cstr(got->address, want->address);
	assert_cstr(got->uri, want->uri);
	assert_int_equal(got->port, want->port);
	assert_int_equal(got->transport, want->transport);
	assert_string_equal(got->called, want->called);
	assert_string_equal(got->calling, want->calling);
	assert_int_equal(got->degraded, want->degraded);
	assert_int_equal(got->via_fallback, want->via_fallback);
	/* Not on the wire. */
	assert_int_equal(got->gateway_index, -1);
}

static void assert_answer_eq(const struct rt_answer *got, const struct rt_answer *want)
{
	assert_int_equal(got->status, want->status);
	assert_int_equal(got->code, want->code);
	assert_true(got->generation == want->generation);
	assert_string_equal(got->normalized, want->normalized);
	assert_cstr(got->policy, want->policy);
	assert_cstr(got->error, want->error);
	assert_int_equal(got->n_dest, want->n_dest);
	for (uint32_t i = 0; i < want->n_dest; i++)
		assert_dest_eq(&got->dest[i], &want->dest[i]);
}

static void assert_explain_eq(const struct rt_explain *got, const struct rt_explain *want)
{
	assert_cstr(got->policy_source, want->policy_source);
	assert_cstr(got->assignment, want->assignment);
	assert_cstr(got->dial_plan, want->dial_plan);
	assert_cstr(got->dial_rule, want->dial_rule);
	assert_int_equal(got->n_matched, want->n_matched);
	for (uint32_t i = 0; i < want->n_matched; i++)
		assert_cstr(got->matched[i], want->matched[i]);
	assert_int_equal(got->matched_dropped, want->matched_dropped);
	assert_int_equal(got->n_usages, want->n_usages);
	for (uint32_t i = 0; i < want->n_usages; i++) {
		assert_cstr(got->usages[i].usage, want->usages[i].usage);
		assert_int_equal(got->usages[i].n_routes, want->usages[i].n_routes);
	}
	assert_int_equal(got->n_skipped, want->n_skipped);
	for (uint32_t i = 0; i < want->n_skipped; i++) {
		assert_cstr(got->skipped[i].gateway, want->skipped[i].gateway);
		assert_cstr(got->skipped[i].route, want->skipped[i].route);
		assert_cstr(got->skipped[i].usage, want->skipped[i].usage);
		assert_int_equal(got->skipped[i].reason, want->skipped[i].reason);
		assert_int_equal(got->skipped[i].health, want->skipped[i].health);
	}
	assert_int_equal(got->skipped_dropped, want->skipped_dropped);
	assert_int_equal(got->n_fallbacks, want->n_fallbacks);
	for (uint32_t i = 0; i < want->n_fallbacks; i++) {
		assert_cstr(got->fallbacks[i].route, want->fallbacks[i].route);
		assert_cstr(got->fallbacks[i].target, want->fallbacks[i].target);
		assert_int_equal(got->fallbacks[i].followed, want->fallbacks[i].followed);
	}
}

struct pair {
	struct rt_answer in, out;
	struct rt_explain ex_in, ex_out;
};

static void test_answer_round_trip(void **state)
{
	(void)state;
	struct pair *p = calloc(1, sizeof(*p));
	assert_non_null(p);
	fill_answer(&p->in, &p->ex_in);

	long n = nq_encode_answer(0xfeedfacecafebeefull, &p->in, &p->ex_in, buf, sizeof(buf));
	assert_true(n > 0);

	uint64_t id = 0;
	bool has_ex = false;
	void *msg = NULL;
	memset(&p->out, 0x5a, sizeof(p->out));
	memset(&p->ex_out, 0x5a, sizeof(p->ex_out));
	assert_int_equal(nq_decode_answer(buf, (size_t)n, &id, &p->out, &p->ex_out, &has_ex, &msg),
			 0);
	assert_non_null(msg);
	assert_true(id == 0xfeedfacecafebeefull);
	assert_true(has_ex);
	assert_answer_eq(&p->out, &p->in);
	assert_explain_eq(&p->ex_out, &p->ex_in);
	nq_answer_free(msg);

	/* Without explain: none on the wire, has_explain false. */
	n = nq_encode_answer(1, &p->in, NULL, buf, sizeof(buf));
	assert_true(n > 0);
	has_ex = true;
	assert_int_equal(nq_decode_answer(buf, (size_t)n, &id, &p->out, &p->ex_out, &has_ex, &msg),
			 0);
	assert_false(has_ex);
	assert_answer_eq(&p->out, &p->in);
	nq_answer_free(msg);
	free(p);
}

static void test_answer_every_status(void **state)
{
	(void)state;
	struct pair *p = calloc(1, sizeof(*p));
	assert_non_null(p);

	for (int st = 0; st < RT_STATUS_COUNT; st++) {
		memset(&p->in, 0, sizeof(p->in));
		p->in.status = (enum rt_status)st;
		p->in.code = rt_status_sip_code((enum rt_status)st);
		p->in.generation = (uint64_t)st;
		/* Nothing chosen: NULL strings stay NULL, not "". */
		uint64_t id;
		void *msg;
		long n = nq_encode_answer((uint64_t)st, &p->in, NULL, buf, sizeof(buf));
		assert_true(n > 0);
		assert_int_equal(nq_decode_answer(buf, (size_t)n, &id, &p->out, NULL, NULL, &msg), 0);
		assert_int_equal(id, st);
		assert_answer_eq(&p->out, &p->in);
		nq_answer_free(msg);
	}
	p->in.status = (enum rt_status)RT_STATUS_COUNT;
	assert_int_equal(nq_encode_answer(1, &p->in, NULL, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(nq_encode_error(1, (enum rt_status)RT_STATUS_COUNT, 0, NULL, 0, buf,
					 sizeof(buf)), -EINVAL);

	/* The wire's unspecified and unknown statuses, and other values an
	 * rt_answer cannot hold, are malformed. */
	Strowger__RouteAnswer m = STROWGER__ROUTE_ANSWER__INIT;
	Strowger__RouteAnswer__Destination d = STROWGER__ROUTE_ANSWER__DESTINATION__INIT;
	Strowger__RouteAnswer__Destination *dp = &d;
	uint64_t id;
	void *msg = (void *)1;
	size_t n;
	m.id = 1;
	n = strowger__route_answer__pack(&m, buf);
	assert_int_equal(nq_decode_answer(buf, n, &id, &p->out, NULL, NULL, &msg), -EBADMSG);
	assert_null(msg);
	m.status = (Strowger__RouteAnswer__Status)(RT_STATUS_COUNT + 1);
	n = strowger__route_answer__pack(&m, buf);
	assert_int_equal(nq_decode_answer(buf, n, &id, &p->out, NULL, NULL, &msg), -EBADMSG);
	m.status = STROWGER__ROUTE_ANSWER__STATUS__ROUTED;
	m.code = 70000;
	n = strowger__route_answer__pack(&m, buf);
	assert_int_equal(nq_decode_answer(buf, n, &id, &p->out, NULL, NULL, &msg), -EBADMSG);
	m.code = 302;
	m.normalized = "+1234567890123456789012345678901234567890123456789012345678901234";
	n = strowger__route_answer__pack(&m, buf);
	assert_int_equal(nq_decode_answer(buf, n, &id, &p->out, NULL, NULL, &msg), -EBADMSG);
	m.normalized = "+1";
	m.n_destinations = 1;
	m.destinations = &dp;
	d.port = 70000;
	n = strowger__route_answer__pack(&m, buf);
	assert_int_equal(nq_decode_answer(buf, n, &id, &p->out, NULL, NULL, &msg), -EBADMSG);
	d.port = 5060;
	d.transport = (Strowger__Transport)9;
	n = strowger__route_answer__pack(&m, buf);
	assert_int_equal(nq_decode_answer(buf, n, &id, &p->out, NULL, NULL, &msg), -EBADMSG);
	d.transport = STROWGER__TRANSPORT__TCP;
	n = strowger__route_answer__pack(&m, buf);
	assert_int_equal(nq_decode_answer(buf, n, &id, &p->out, NULL, NULL, &msg), 0);
	assert_int_equal(p->out.n_dest, 1);
	assert_int_equal(p->out.dest[0].transport, RT_TRANSPORT_TCP);
	nq_answer_free(msg);
	free(p);
}

static void test_answer_full_fits_datagram(void **state)
{
	(void)state;
	/* The biggest answer rt_decide makes, with plausible names, fits one
	 * UDP datagram. */
	struct pair *p = calloc(1, sizeof(*p));
	assert_non_null(p);
	fill_answer(&p->in, &p->ex_in);
	for (uint32_t i = 0; i < RT_MAX_DEST; i++)
		p->in.dest[i] = p->in.dest[i % 4];
	p->in.n_dest = RT_MAX_DEST;
	for (uint32_t i = 0; i < RT_EXPLAIN_MAX; i++) {
		p->ex_in.matched[i] = "A Reasonably Long Route Name For Testing";
		p->ex_in.usages[i] = p->ex_in.usages[i % 2];
		p->ex_in.skipped[i] = p->ex_in.skipped[i % 5];
	}
	p->ex_in.n_matched = p->ex_in.n_usages = p->ex_in.n_skipped = RT_EXPLAIN_MAX;
	p->ex_in.n_fallbacks = 8;
	for (uint32_t i = 2; i < 8; i++)
		p->ex_in.fallbacks[i] = p->ex_in.fallbacks[i % 2];

	long n = nq_encode_answer(5, &p->in, &p->ex_in, buf, sizeof(buf));
	assert_true(n > 0 && n <= 65507);
	uint64_t id;
	bool has_ex;
	void *msg;
	assert_int_equal(nq_decode_answer(buf, (size_t)n, &id, &p->out, &p->ex_out, &has_ex, &msg),
			 0);
	assert_answer_eq(&p->out, &p->in);
	assert_explain_eq(&p->ex_out, &p->ex_in);
	nq_answer_free(msg);

	/* n_dest beyond RT_MAX_DEST is capped, never read past the array. */
	p->in.n_dest = RT_MAX_DEST + 10;
	n = nq_encode_answer(5, &p->in, NULL, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(nq_decode_answer(buf, (size_t)n, &id, &p->out, NULL, NULL, &msg), 0);
	assert_int_equal(p->out.n_dest, RT_MAX_DEST);
	nq_answer_free(msg);
	free(p);
}

static void test_enospc(void **state)
{
	(void)state;
	struct pair *p = calloc(1, sizeof(*p));
	assert_non_null(p);
	fill_answer(&p->in, &p->ex_in);

	long n = nq_encode_answer(3, &p->in, &p->ex_in, buf, sizeof(buf));
	assert_true(n > 0);
	/* Exactly enough works; one byte less does not, and writes nothing. */
	uint8_t *exact = malloc((size_t)n);
	assert_non_null(exact);
	assert_int_equal(nq_encode_answer(3, &p->in, &p->ex_in, exact, (size_t)n), n);
	assert_memory_equal(exact, buf, (size_t)n);
	memset(exact, 0xee, (size_t)n);
	assert_int_equal(nq_encode_answer(3, &p->in, &p->ex_in, exact, (size_t)n - 1), -ENOSPC);
	for (long i = 0; i < n; i++)
		assert_int_equal(exact[i], 0xee);
	free(exact);
	assert_int_equal(nq_encode_answer(3, &p->in, NULL, buf, 0), -ENOSPC);
	assert_int_equal(nq_encode_answer(3, &p->in, NULL, NULL, 0), -ENOSPC);

	assert_int_equal(nq_encode_error(3, RT_BAD_REQUEST, 400, "too long", 1, buf, 4), -ENOSPC);
	n = nq_encode_error(3, RT_BAD_REQUEST, 400, "too long", 1, buf, sizeof(buf));
	assert_true(n > 4);

	struct rt_query q = {.called = rt_str_c("+19725550100")};
	n = nq_encode_query(3, &q, false, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(nq_encode_query(3, &q, false, buf, (size_t)n - 1), -ENOSPC);
	q.n_tried = RT_MAX_TRIED + 1;
	assert_int_equal(nq_encode_query(3, &q, false, buf, sizeof(buf)), -EINVAL);
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_query_round_trip),
		cmocka_unit_test(test_query_minimal),
		cmocka_unit_test(test_query_embedded_nul_kept),
		cmocka_unit_test(test_query_too_many_tried),
		cmocka_unit_test(test_query_code_range),
		cmocka_unit_test(test_query_arena_overflow),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_answer_round_trip),
		cmocka_unit_test(test_answer_every_status),
		cmocka_unit_test(test_answer_full_fits_datagram),
		cmocka_unit_test(test_enospc),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
