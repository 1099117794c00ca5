/*
 * rt_decide_burst must give, for every query, exactly the answer rt_decide
 * gives alone (in stages and one at a time, see rt_scratch_stage_bursts): same status, code, policy, normalised number and the same
 * destinations in the same order, field by field. Bursts of every length
 * from 1 to past two RT_BURST chunks; queries mixing good, malformed and
 * failover ones; health changed between bursts; configs with dial plans,
 * assignments, translations, fallbacks, a policy that repeats a usage,
 * Hyperscan patterns, and numbers matching more routes than a burst keeps
 * (the fallback to a second collect).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_util.h"
#include "test_rand.h"

static void same_str(const char *a, const char *b, const char *what, unsigned i)
{
	if (a == b)
		return;
	if (!a || !b || strcmp(a, b))
		fail_msg("query %u: %s differs: '%s' alone, '%s' in a burst", i, what,
			 a ? a : "(null)", b ? b : "(null)");
}

static void same_answer(const struct rt_answer *a, const struct rt_answer *b, unsigned i)
{
	if (a->status != b->status || a->code != b->code)
		fail_msg("query %u: %s/%u alone, %s/%u in a burst", i, rt_status_name(a->status),
			 a->code, rt_status_name(b->status), b->code);
	same_str(a->policy, b->policy, "policy", i);
	same_str(a->error, b->error, "error", i);
	same_str(a->normalized, b->normalized, "normalized", i);
	assert_int_equal(a->generation, b->generation);
	if (a->n_dest != b->n_dest)
		fail_msg("query %u: %u destinations alone, %u in a burst", i, a->n_dest, b->n_dest);
	for (uint32_t k = 0; k < a->n_dest; k++) {
		const struct rt_dest *x = &a->dest[k], *y = &b->dest[k];
		same_str(x->gateway, y->gateway, "gateway", i);
		same_str(x->trunk, y->trunk, "trunk", i);
		same_str(x->route, y->route, "route", i);
		same_str(x->usage, y->usage, "usage", i);
		same_str(x->address, y->address, "address", i);
		same_str(x->uri, y->uri, "uri", i);
		same_str(x->called, y->called, "called", i);
		same_str(x->calling, y->calling, "calling", i);
		assert_int_equal(x->port, y->port);
		assert_int_equal(x->transport, y->transport);
		assert_int_equal(x->degraded, y->degraded);
		assert_int_equal(x->via_fallback, y->via_fallback);
		assert_int_equal(x->gateway_index, y->gateway_index);
		assert_int_equal(x->route_index, y->route_index);
	}
}

#define NQ 4000

struct qstore {
	char called[NQ][48];
	char calling[NQ][24];
	char call_id[NQ][16];
	struct rt_query q[NQ];
};

/* A query from the pools: numbers the config routes, near misses, junk. */
static void make_query(struct qstore *st, unsigned i, const char *const *called, unsigned n_called,
		       const char *const *calling, unsigned n_calling, const char *const *policies,
		       unsigned n_pol, const char *const *gws, unsigned n_gws)
{
	struct rt_query *q = &st->q[i];
	memset(q, 0, sizeof(*q));
	const char *base = called[rnd(n_called)];
	char *c = st->called[i];
	switch (rnd(8)) {
	case 0: /* base plus random digits */
		snprintf(c, sizeof(st->called[i]), "%s%u", base, rnd(100000000));
		break;
	case 1: /* junk or empty */
		snprintf(c, sizeof(st->called[i]), "%s", rnd(2) ? "" : "+1 425");
		break;
	default:
		snprintf(c, sizeof(st->called[i]), "%s%u", base, rnd(10000));
		break;
	}
	q->called = rt_str_c(c);
	if (n_calling && rnd(3)) {
		snprintf(st->calling[i], sizeof(st->calling[i]), "%s", calling[rnd(n_calling)]);
		q->calling = rt_str_c(st->calling[i]);
	}
	if (n_pol && rnd(3) == 0)
		q->policy = rt_str_c(policies[rnd(n_pol)]);
	if (rnd(2)) {
		snprintf(st->call_id[i], sizeof(st->call_id[i]), "c%u", rnd(1000));
		q->call_id = rt_str_c(st->call_id[i]);
	}
	q->seed = rnd(1000);
	if (rnd(4) == 0) {
		q->n_tried = 1 + rnd(2);
		static const unsigned codes[] = {503, 408, 486, 0, 404};
		for (uint32_t k = 0; k < q->n_tried; k++) {
			q->tried[k].gateway = rt_str_c(gws[rnd(n_gws)]);
			q->tried[k].code = (uint16_t)codes[rnd(5)];
		}
	}
	if (rnd(3) == 0)
		q->max_destinations = 1 + rnd(4);
}

static void compare_all(struct tcfg *t, struct qstore *st, unsigned n, const char *const *gws,
			unsigned n_gws)
{
	static struct rt_answer alone, burst[40];
	struct rt_answer *ap[40];
	const struct rt_query *qp[40];
	for (unsigned k = 0; k < 40; k++)
		ap[k] = &burst[k];
	static const enum rt_health hs[] = {RT_HEALTH_UP, RT_HEALTH_UP, RT_HEALTH_DOWN,
					    RT_HEALTH_DEGRADED, RT_HEALTH_DRAINING, RT_HEALTH_UNKNOWN};
	unsigned i = 0, len = 1;
	while (i < n) {
		unsigned k = n - i < len ? n - i : len;
		if (rnd(4) == 0)
			tcfg_health(t, gws[rnd(n_gws)], hs[rnd(6)]);
		for (unsigned j = 0; j < k; j++)
			qp[j] = &st->q[i + j];
		/* Both ways a burst runs: in stages (a table too large for the
		 * cache), and one at a time (these small ones, by default). */
		for (int staged = 0; staged < 2; staged++) {
			rt_scratch_stage_bursts(t->sc, staged);
			rt_decide_burst(t->snap, &t->view, qp, k, t->sc, ap);
			for (unsigned j = 0; j < k; j++) {
				rt_decide(t->snap, &t->view, qp[j], t->sc, &alone, NULL);
				same_answer(&alone, &burst[j], i + j);
			}
		}
		rt_scratch_stage_bursts(t->sc, false);
		i += k;
		len = len % 40 + 1; /* 1, 2, ... 40, 1, ... */
	}
}

static void seed_config(void **state)
{
	const char *dir = getenv("STROWGER_SOURCE_ROOT");
	char path[1024];
	snprintf(path, sizeof(path), "%s/examples/seed-failover.yaml", dir ? dir : ".");
	struct tcfg *t = tcfg_load_file(path);
	static const char *called[] = {"+1972555", "+1425555", "+1206", "+4420", "+", "1425", "+1"};
	static const char *pols[] = {"Dallas Calling Policy", "Redmond Local Policy",
				     "Default Calling Policy", "No Such Policy"};
	static const char *gws[] = {"Red-GW1", "Red-GW2", "Dallas-GW1"};
	static struct qstore st;
	for (unsigned i = 0; i < NQ; i++)
		make_query(&st, i, called, 7, NULL, 0, pols, 4, gws, 3);
	compare_all(t, &st, NQ, gws, 3);
	tcfg_free(t);
}

/* Dial plans, assignments, translations, fallbacks (URI and E.164),
 * weights, a usage listed twice, a Hyperscan pattern, a catch-all. */
static const char *RICH =
	"gateways:\n"
	"  - { name: P1, address: 192.0.2.1, priority: 1, weight: 100 }\n"
	"  - { name: P2, address: 192.0.2.2, priority: 1, weight: 300 }\n"
	"  - { name: C1, address: 2001:db8::1, port: 5080, transport: tls, site: Cloud }\n"
	"  - { name: C2, address: 2001:db8::2, site: Cloud }\n"
	"  - { name: L1, address: 192.0.2.9 }\n"
	"trunks:\n"
	"  - name: TP1\n"
	"    gateway: P1\n"
	"    called: [ { match: '^\\+1(\\d{10})$', replace: '1$1' } ]\n"
	"    calling: [ { match: '^\\+44(\\d+)$', replace: '0$1' } ]\n"
	"  - { name: TP2, gateway: P2 }\n"
	"  - { name: TC1, gateway: C1 }\n"
	"  - { name: TC2, gateway: C2 }\n"
	"  - { name: TL1, gateway: L1 }\n"
	"usages: [Intl, National, Emergency, Backup]\n"
	"routes:\n"
	"  - { name: Late,  pattern: '^\\+1[2-8]', usages: [National], trunks: [TC1], priority: 5 }\n"
	"  - { name: Early, pattern: '^\\+1[2-8]', usages: [National, Backup], trunks: [TP2, TP1] }\n"
	"  - { name: Ext,   pattern: '^\\+1425(\\d{7});ext=\\d+$', usages: [National], trunks: [TL1] }\n"
	"  - { name: Ci,    pattern: '(?i)^\\+1206', usages: [National], trunks: [TC2] }\n"
	"  - { name: Sos,   pattern: '^\\+1911$', usages: [Emergency], trunks: [TL1], fallback: 'sip:psap@192.0.2.99' }\n"
	"  - { name: Cloudy, pattern: '^\\+44', usages: [Intl], trunks: [TC1, TC2], fallback: '+15550001111' }\n"
	"  - { name: Any,   pattern: '^\\+?(\\d*)$', usages: [Backup], trunks: [TL1, TC1, TP1] }\n"
	"policies:\n"
	"  - { name: Std, usages: [National, Intl, Emergency, Backup], default: true, dial_plan: US }\n"
	"  - { name: Vip, usages: [Intl, National] }\n"
	"  - { name: Twice, usages: [Backup, National, Backup] }\n"
	"assignments:\n"
	"  - { calling: '^\\+4420', policy: Vip }\n"
	"dial_plans:\n"
	"  - name: US\n"
	"    rules:\n"
	"      - { match: '^(\\d{10})$', replace: '+1$1' }\n"
	"      - { match: '^911$', replace: '+1911' }\n"
	"      - { match: '^(\\d+)$', replace: '+$1' }\n";

static void rich_config(void **state)
{
	struct tcfg *t = tcfg_load(RICH);
	static const char *called[] = {"+1425", "+1206", "+1911", "+44", "425", "911", "+33", "+1"};
	static const char *calling[] = {"+442071234567", "+14255550100", "+4420"};
	static const char *pols[] = {"Std", "Vip", "Twice"};
	static const char *gws[] = {"P1", "P2", "C1", "C2", "L1"};
	static struct qstore st;
	for (unsigned i = 0; i < NQ; i++)
		make_query(&st, i, called, 8, calling, 3, pols, 3, gws, 5);
	compare_all(t, &st, NQ, gws, 5);
	tcfg_free(t);
}

/* A carrier-style table: nested prefixes over several usages, one prefix
 * routed by 100 routes (more matches than a burst keeps per number). */
static void carrier_config(void **state)
{
	size_t cap = 1 << 20, n = 0;
	char *y = malloc(cap);
	assert_non_null(y);
	n += (size_t)snprintf(y + n, cap - n, "gateways:\n");
	for (int g = 0; g < 20; g++)
		n += (size_t)snprintf(y + n, cap - n,
				      "  - { name: G%d, address: 192.0.2.%d, priority: %d, weight: %d }\n",
				      g, g + 1, g % 3, 10 * (g % 4));
	n += (size_t)snprintf(y + n, cap - n, "trunks:\n");
	for (int g = 0; g < 20; g++)
		n += (size_t)snprintf(y + n, cap - n, "  - { name: T%d, gateway: G%d }\n", g, g);
	n += (size_t)snprintf(y + n, cap - n, "usages: [U0, U1, U2, U3, U4]\nroutes:\n");
	static char prefixes[1500][12];
	for (int r = 0; r < 1500; r++) {
		/* Short prefixes repeat, so numbers match nested routes. */
		snprintf(prefixes[r], sizeof(prefixes[r]), "1%u", rnd(r < 100 ? 100 : 1000000));
		n += (size_t)snprintf(y + n, cap - n,
				      "  - { name: R%d, pattern: '^\\+%s\\d*$', usages: [U%u], "
				      "trunks: [T%u, T%u], priority: %u }\n",
				      r, prefixes[r], rnd(5), rnd(20), rnd(20), rnd(3));
	}
	for (int r = 0; r < 100; r++)
		n += (size_t)snprintf(y + n, cap - n,
				      "  - { name: W%d, pattern: '^\\+7\\d*$', usages: [U%u], trunks: [T%u] }\n",
				      r, rnd(5), rnd(20));
	n += (size_t)snprintf(y + n, cap - n,
			      "policies:\n"
			      "  - { name: All, usages: [U0, U1, U2, U3, U4], default: true }\n"
			      "  - { name: Some, usages: [U3, U1] }\n");
	assert_true(n < cap);
	struct tcfg *t = tcfg_load(y);
	free(y);
	const char *called[1501];
	static char plus[1500][14];
	for (int r = 0; r < 1500; r++) {
		snprintf(plus[r], sizeof(plus[r]), "+%.11s", prefixes[r]);
		called[r] = plus[r];
	}
	called[1500] = "+7";
	static const char *pols[] = {"All", "Some"};
	static const char *gws[] = {"G0", "G1", "G2", "G3", "G4", "G5", "G6", "G7", "G8", "G9"};
	static struct qstore st;
	for (unsigned i = 0; i < NQ; i++)
		make_query(&st, i, called, 1501, NULL, 0, pols, 2, gws, 10);
	compare_all(t, &st, NQ, gws, 10);
	tcfg_free(t);
}

int main(void)
{
	rng_state = 0x6275727374ull;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(seed_config),
		cmocka_unit_test(rich_config),
		cmocka_unit_test(carrier_config),
	};
	return cmocka_run_group_tests_name("decide_burst", tests, NULL, NULL);
}
