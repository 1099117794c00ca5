/* Every branch of the routing decision (SPEC section 3), on the seed's
 * worked example and on small crafted configs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_util.h"

/* Tables 1 and 2 of seed 000 (same as examples/seed-failover.yaml). */
static const char *SEED =
	"failover:\n"
	"  codes: [0, 408, 503, 504]\n"
	"gateways:\n"
	"  - { name: Red-GW1,    address: 192.0.2.11,    port: 5060, transport: udp, site: Redmond }\n"
	"  - { name: Red-GW2,    address: 192.0.2.12,    port: 5060, transport: udp, site: Redmond }\n"
	"  - { name: Dallas-GW1, address: 198.51.100.21, port: 5060, transport: udp, site: Dallas }\n"
	"trunks:\n"
	"  - { name: Trunk1, gateway: Red-GW1 }\n"
	"  - { name: Trunk2, gateway: Red-GW2 }\n"
	"  - { name: Trunk3, gateway: Dallas-GW1 }\n"
	"usages: [Local, RedmondLocal, GlobalPSTNHopoff, DallasUsers]\n"
	"routes:\n"
	"  - name: Redmond Local Route\n"
	"    pattern: '^\\+1(425|206|253)(\\d{7})$'\n"
	"    usages: [Local, RedmondLocal]\n"
	"    trunks: [Trunk1, Trunk2]\n"
	"  - name: Dallas Local Route\n"
	"    pattern: '^\\+1(972|214|469)(\\d{7})$'\n"
	"    usages: [Local]\n"
	"    trunks: [Trunk3]\n"
	"  - name: Universal Route\n"
	"    pattern: '^\\+?(\\d*)$'\n"
	"    usages: [GlobalPSTNHopoff]\n"
	"    trunks: [Trunk1, Trunk2, Trunk3]\n"
	"  - name: Dallas Users Route\n"
	"    pattern: '^\\+?(\\d*)$'\n"
	"    usages: [DallasUsers]\n"
	"    trunks: [Trunk3]\n"
	"policies:\n"
	"  - { name: Default Calling Policy, usages: [Local, GlobalPSTNHopoff], default: true }\n"
	"  - { name: Redmond Local Policy,   usages: [RedmondLocal] }\n"
	"  - { name: Dallas Calling Policy,  usages: [DallasUsers, GlobalPSTNHopoff] }\n";

#define DALLAS "Dallas Calling Policy"
#define REDMOND "Redmond Local Policy"

static int setup_seed(void **state)
{
	*state = tcfg_load(SEED);
	return 0;
}

static int teardown(void **state)
{
	tcfg_free(*state);
	return 0;
}

static bool has_gw(const struct rt_answer *a, const char *gw)
{
	for (uint32_t i = 0; i < a->n_dest; i++)
		if (a->dest[i].gateway && !strcmp(a->dest[i].gateway, gw))
			return true;
	return false;
}

/* SPEC worked example: Dallas-GW1 down -> Universal Route, Red-GW1|Red-GW2. */
static void seed_dallas_gw_down(void **state)
{
	struct tcfg *t = *state;
	struct rt_answer a;
	struct rt_explain ex;
	tcfg_health(t, "Dallas-GW1", RT_HEALTH_DOWN);
	tq_run(t, &(struct tq){.called = "+19725550100", .policy = DALLAS, .call_id = "c1"}, &a, &ex);
	assert_int_equal(a.status, RT_ROUTED);
	assert_int_equal(a.code, 302);
	assert_int_equal(a.n_dest, 2);
	assert_true(has_gw(&a, "Red-GW1"));
	assert_true(has_gw(&a, "Red-GW2"));
	for (uint32_t i = 0; i < a.n_dest; i++) {
		assert_string_equal(a.dest[i].route, "Universal Route");
		assert_string_equal(a.dest[i].usage, "GlobalPSTNHopoff");
		assert_string_equal(a.dest[i].called, "+19725550100");
		assert_int_equal(a.dest[i].port, 5060);
	}
	assert_string_equal(a.policy, DALLAS);
	assert_int_equal(a.generation, 1);
	/* explain: both catch-all routes matched, usages walked in policy
	 * order, Dallas-GW1 skipped as down in both routes. */
	assert_string_equal(ex.policy_source, "named");
	assert_int_equal(ex.n_matched, 3); /* Dallas Local Route too */
	assert_int_equal(ex.n_usages, 2);
	assert_string_equal(ex.usages[0].usage, "DallasUsers");
	assert_string_equal(ex.usages[1].usage, "GlobalPSTNHopoff");
	assert_int_equal(ex.n_skipped, 2);
	for (uint32_t i = 0; i < ex.n_skipped; i++) {
		assert_string_equal(ex.skipped[i].gateway, "Dallas-GW1");
		assert_int_equal(ex.skipped[i].reason, RT_SKIP_DOWN);
	}
	assert_string_equal(ex.skipped[0].route, "Dallas Users Route");
}

/* Dallas-GW1 up: it comes first (DallasUsers), and appears once. */
static void seed_dallas_gw_up(void **state)
{
	struct tcfg *t = *state;
	struct rt_answer a;
	char buf[256];
	tq_run(t, &(struct tq){.called = "+19725550100", .policy = DALLAS, .call_id = "c1"}, &a, NULL);
	assert_int_equal(a.status, RT_ROUTED);
	assert_int_equal(a.n_dest, 3);
	assert_string_equal(a.dest[0].gateway, "Dallas-GW1");
	assert_string_equal(a.dest[0].route, "Dallas Users Route");
	assert_string_equal(a.dest[0].usage, "DallasUsers");
	assert_string_equal(a.dest[0].address, "198.51.100.21");
	tq_gateways(&a, buf, sizeof(buf));
	assert_true(!strcmp(buf, "Dallas-GW1,Red-GW1,Red-GW2") ||
		    !strcmp(buf, "Dallas-GW1,Red-GW2,Red-GW1"));
}

static void seed_redmond_not_permitted(void **state)
{
	struct tcfg *t = *state;
	struct rt_answer a;
	struct rt_explain ex;
	tq_run(t, &(struct tq){.called = "+19725550100", .policy = REDMOND}, &a, &ex);
	assert_int_equal(a.status, RT_NOT_PERMITTED);
	assert_int_equal(a.code, 403);
	assert_int_equal(a.n_dest, 0);
	assert_int_equal(ex.n_matched, 3); /* Dallas Local, Universal, Dallas Users */
}

static void seed_default_policy_local(void **state)
{
	struct tcfg *t = *state;
	struct rt_answer a;
	struct rt_explain ex;
	tq_run(t, &(struct tq){.called = "+14255550100"}, &a, &ex);
	assert_int_equal(a.status, RT_ROUTED);
	assert_string_equal(a.policy, "Default Calling Policy");
	assert_string_equal(ex.policy_source, "default");
	/* Local: Redmond Local Route (GW1, GW2); GlobalPSTNHopoff adds Dallas. */
	assert_int_equal(a.n_dest, 3);
	assert_string_equal(a.dest[0].route, "Redmond Local Route");
	assert_string_equal(a.dest[1].route, "Redmond Local Route");
	assert_string_equal(a.dest[2].gateway, "Dallas-GW1");
	assert_string_equal(a.dest[2].route, "Universal Route");
}

static void no_route(void **state)
{
	struct tcfg *t = *state;
	struct rt_answer a;
	tq_run(t, &(struct tq){.called = "anonymous"}, &a, NULL);
	assert_int_equal(a.status, RT_NO_ROUTE);
	assert_int_equal(a.code, 404);
}

static void bad_requests(void **state)
{
	struct tcfg *t = *state;
	struct rt_answer a;
	tq_run(t, &(struct tq){.called = "+19725550100", .policy = "Nope"}, &a, NULL);
	assert_int_equal(a.status, RT_BAD_REQUEST);
	assert_int_equal(a.code, 400);
	assert_string_equal(a.error, "unknown policy");
	tq_run(t, &(struct tq){.called = ""}, &a, NULL);
	assert_int_equal(a.status, RT_BAD_REQUEST);
	tq_run(t, &(struct tq){.called = "+1 972"}, &a, NULL);
	assert_int_equal(a.status, RT_BAD_REQUEST);
	tq_run(t, &(struct tq){.called = "+1234567890123456789012345678901234567890123456789012345678901234567"},
	       &a, NULL);
	assert_int_equal(a.status, RT_BAD_REQUEST);
	tq_run(t, &(struct tq){.called = "+19725550100", .tried_gw = {"Red-GW1"}, .tried_code = {700}},
	       &a, NULL);
	assert_int_equal(a.status, RT_BAD_REQUEST);
}

static void all_unavailable_and_site_down(void **state)
{
	struct tcfg *t = *state;
	struct rt_answer a;
	struct rt_explain ex;
	tcfg_site_health(t, "Redmond", RT_HEALTH_DOWN);
	tq_run(t, &(struct tq){.called = "+14255550100", .policy = REDMOND}, &a, &ex);
	assert_int_equal(a.status, RT_ALL_UNAVAILABLE);
	assert_int_equal(a.code, 503);
	assert_int_equal(ex.n_skipped, 2);
	assert_int_equal(ex.skipped[0].health, RT_HEALTH_DOWN);
	/* Default policy still reaches Dallas through the Universal Route. */
	tq_run(t, &(struct tq){.called = "+14255550100"}, &a, NULL);
	assert_int_equal(a.status, RT_ROUTED);
	assert_int_equal(a.n_dest, 1);
	assert_string_equal(a.dest[0].gateway, "Dallas-GW1");
}

static void degraded_demoted_draining_skipped(void **state)
{
	struct tcfg *t = *state;
	struct rt_answer a;
	char buf[256];
	tcfg_health(t, "Red-GW1", RT_HEALTH_DEGRADED);
	tq_run(t, &(struct tq){.called = "+14255550100", .call_id = "x"}, &a, NULL);
	assert_int_equal(a.status, RT_ROUTED);
	assert_string_equal(tq_gateways(&a, buf, sizeof(buf)), "Red-GW2,Dallas-GW1,Red-GW1");
	assert_true(a.dest[2].degraded);
	assert_false(a.dest[0].degraded);

	tcfg_health(t, "Red-GW1", RT_HEALTH_DRAINING);
	tq_run(t, &(struct tq){.called = "+14255550100", .call_id = "x"}, &a, NULL);
	assert_string_equal(tq_gateways(&a, buf, sizeof(buf)), "Red-GW2,Dallas-GW1");
	/* Site draining drains every gateway of the site. */
	tcfg_health(t, "Red-GW1", RT_HEALTH_UP);
	tcfg_site_health(t, "Redmond", RT_HEALTH_DRAINING);
	tq_run(t, &(struct tq){.called = "+14255550100", .call_id = "x"}, &a, NULL);
	assert_string_equal(tq_gateways(&a, buf, sizeof(buf)), "Dallas-GW1");
}

static void failover_tried(void **state)
{
	struct tcfg *t = *state;
	struct rt_answer a;
	struct rt_explain ex;
	char buf[256];
	/* 503 is a failover code: Red-GW1 is skipped as tried. */
	tq_run(t, &(struct tq){.called = "+14255550100", .tried_gw = {"Red-GW1"}, .tried_code = {503}},
	       &a, &ex);
	assert_int_equal(a.status, RT_ROUTED);
	assert_string_equal(tq_gateways(&a, buf, sizeof(buf)), "Red-GW2,Dallas-GW1");
	assert_int_equal(ex.skipped[0].reason, RT_SKIP_TRIED);
	/* Two attempts, both timed out (code 0). */
	tq_run(t, &(struct tq){.called = "+14255550100", .tried_gw = {"Red-GW1", "Red-GW2"},
			       .tried_code = {0, 0}},
	       &a, NULL);
	assert_string_equal(tq_gateways(&a, buf, sizeof(buf)), "Dallas-GW1");
	/* Busy is not a failover code by default: relay 486. */
	tq_run(t, &(struct tq){.called = "+14255550100", .tried_gw = {"Red-GW1"}, .tried_code = {486}},
	       &a, NULL);
	assert_int_equal(a.status, RT_NO_FAILOVER);
	assert_int_equal(a.code, 486);
	assert_int_equal(a.n_dest, 0);
	/* Everything tried: nothing left. */
	tq_run(t, &(struct tq){.called = "+14255550100", .tried_gw = {"Red-GW1", "Red-GW2", "Dallas-GW1"},
			       .tried_code = {503, 408, 504}},
	       &a, NULL);
	assert_int_equal(a.status, RT_ALL_UNAVAILABLE);
}

/* Gateway failover codes (ranges, exclusions) override the global set. */
static const char *CODES =
	"failover: { codes: [0, 503] }\n"
	"gateways:\n"
	"  - { name: A, address: 192.0.2.1, failover_codes: [300-699, '!486', '!600', '!603'] }\n"
	"  - { name: B, address: 192.0.2.2 }\n"
	"trunks: [ { name: TA, gateway: A }, { name: TB, gateway: B } ]\n"
	"usages: [U]\n"
	"routes: [ { name: R, pattern: '^\\+', usages: [U], trunks: [TA, TB] } ]\n"
	"policies: [ { name: P, usages: [U], default: true } ]\n";

static void failover_codes_per_gateway(void **state)
{
	struct tcfg *t = tcfg_load(CODES);
	struct rt_answer a;
	tq_run(t, &(struct tq){.called = "+1", .tried_gw = {"A"}, .tried_code = {480}}, &a, NULL);
	assert_int_equal(a.status, RT_ROUTED);
	assert_int_equal(a.n_dest, 1);
	assert_string_equal(a.dest[0].gateway, "B");
	tq_run(t, &(struct tq){.called = "+1", .tried_gw = {"A"}, .tried_code = {486}}, &a, NULL);
	assert_int_equal(a.status, RT_NO_FAILOVER);
	assert_int_equal(a.code, 486);
	tq_run(t, &(struct tq){.called = "+1", .tried_gw = {"A"}, .tried_code = {603}}, &a, NULL);
	assert_int_equal(a.status, RT_NO_FAILOVER);
	/* A's set has no 0: a timeout on A is relayed. */
	tq_run(t, &(struct tq){.called = "+1", .tried_gw = {"A"}, .tried_code = {0}}, &a, NULL);
	assert_int_equal(a.status, RT_NO_FAILOVER);
	assert_int_equal(a.code, 0);
	/* B uses the global set: 503 yes, 408 no. */
	tq_run(t, &(struct tq){.called = "+1", .tried_gw = {"B"}, .tried_code = {503}}, &a, NULL);
	assert_int_equal(a.status, RT_ROUTED);
	assert_string_equal(a.dest[0].gateway, "A");
	tq_run(t, &(struct tq){.called = "+1", .tried_gw = {"B"}, .tried_code = {408}}, &a, NULL);
	assert_int_equal(a.status, RT_NO_FAILOVER);
	assert_int_equal(a.code, 408);
	/* Only the last attempt decides. */
	tq_run(t, &(struct tq){.called = "+1", .tried_gw = {"B", "A"}, .tried_code = {408, 500}},
	       &a, NULL);
	assert_int_equal(a.status, RT_ALL_UNAVAILABLE);
	tcfg_free(t);
}

/* Route priority, gateway priority, fallbacks, translations, dial plans,
 * assignments, max destinations. */
static const char *RICH =
	"sip: { max_contacts: 3 }\n"
	"gateways:\n"
	"  - { name: P1, address: 192.0.2.1, priority: 1, weight: 100 }\n"
	"  - { name: P2, address: 192.0.2.2, priority: 2, weight: 65535 }\n"
	"  - { name: C1, address: 2001:db8::1, port: 5080, transport: tls, site: Cloud }\n"
	"  - { name: C2, address: 2001:db8::2, site: Cloud }\n"
	"  - { name: L1, address: 192.0.2.9 }\n"
	"trunks:\n"
	"  - name: TP1\n"
	"    gateway: P1\n"
	"    called: [ { match: '^\\+1(\\d{10})$', replace: '1$1' } ]\n"
	"    calling: [ { match: '^\\+44(\\d+)$', replace: '0$1' }, { match: '^(.*)$', replace: 'never' } ]\n"
	"  - { name: TP2, gateway: P2 }\n"
	"  - { name: TC1, gateway: C1 }\n"
	"  - { name: TC2, gateway: C2 }\n"
	"  - { name: TL1, gateway: L1 }\n"
	"usages: [Intl, National, Emergency, Backup, Last]\n"
	"routes:\n"
	"  - { name: Late,  pattern: '^\\+1[2-8]', usages: [National], trunks: [TC1], priority: 5 }\n"
	"  - { name: Early, pattern: '^\\+1[2-8]', usages: [National], trunks: [TP2, TP1], priority: 1 }\n"
	"  - { name: Sos,   pattern: '^\\+1911$', usages: [Emergency], trunks: [TL1], fallback: 'sip:psap@192.0.2.99' }\n"
	"  - { name: Cloudy, pattern: '^\\+44', usages: [Intl], trunks: [TC1, TC2], fallback: '+15550001111' }\n"
	"  - { name: Loop1, pattern: '^\\+33', usages: [Intl], trunks: [TC1], fallback: '+34000' }\n"
	"  - { name: Loop2, pattern: '^\\+34', usages: [Intl], trunks: [TC2], fallback: '+33000' }\n"
	"policies:\n"
	"  - { name: Std, usages: [National, Intl, Emergency], default: true, dial_plan: US }\n"
	"  - { name: Vip, usages: [Intl, National] }\n"
	"assignments:\n"
	"  - { calling: '^\\+4420', policy: Vip }\n"
	"dial_plans:\n"
	"  - name: US\n"
	"    rules:\n"
	"      - { match: '^(\\d{10})$', replace: '+1$1' }\n"
	"      - { match: '^911$', replace: '+1911' }\n"
	"      - { match: '^(\\d+)$', replace: '+$1' }\n";

static void route_and_gateway_priority(void **state)
{
	struct tcfg *t = tcfg_load(RICH);
	struct rt_answer a;
	char buf[256];
	/* Early (priority 1) before Late (5) despite config order; inside
	 * Early, P1 (priority 1) before P2 (priority 2) whatever the weights. */
	for (int i = 0; i < 20; i++) {
		char cid[32];
		snprintf(cid, sizeof(cid), "call-%d", i);
		tq_run(t, &(struct tq){.called = "+14255550100", .call_id = cid}, &a, NULL);
		assert_string_equal(tq_gateways(&a, buf, sizeof(buf)), "P1,P2,C1");
	}
	assert_string_equal(a.dest[2].route, "Late");
	assert_int_equal(a.dest[2].port, 5080);
	assert_int_equal(a.dest[2].transport, RT_TRANSPORT_TLS);
	assert_string_equal(a.dest[2].address, "2001:db8::1");
	/* max_destinations caps the list. */
	tq_run(t, &(struct tq){.called = "+14255550100", .max = 1}, &a, NULL);
	assert_int_equal(a.n_dest, 1);
	assert_string_equal(a.dest[0].gateway, "P1");
	tcfg_free(t);
}

static void translations_and_dial_plan(void **state)
{
	struct tcfg *t = tcfg_load(RICH);
	struct rt_answer a;
	struct rt_explain ex;
	tq_run(t, &(struct tq){.called = "4255550100", .calling = "+441234567"}, &a, &ex);
	assert_int_equal(a.status, RT_ROUTED);
	assert_string_equal(a.normalized, "+14255550100");
	assert_string_equal(ex.dial_plan, "US");
	assert_string_equal(ex.dial_rule, "^(\\d{10})$");
	assert_string_equal(a.dest[0].gateway, "P1");
	assert_string_equal(a.dest[0].called, "14255550100");   /* TP1 called rule */
	assert_string_equal(a.dest[0].calling, "01234567");     /* first calling rule only */
	assert_string_equal(a.dest[1].called, "+14255550100");  /* TP2: no rules */
	assert_string_equal(a.dest[1].calling, "+441234567");
	/* First matching dial-plan rule wins: 911 is not "+911". */
	tq_run(t, &(struct tq){.called = "911"}, &a, NULL);
	assert_string_equal(a.normalized, "+1911");
	/* Policy without a dial plan and no default plan: number untouched. */
	tq_run(t, &(struct tq){.called = "4255550100", .policy = "Vip"}, &a, NULL);
	assert_string_equal(a.normalized, "4255550100");
	assert_int_equal(a.status, RT_NO_ROUTE);
	tcfg_free(t);
}

static void assignment_picks_policy(void **state)
{
	struct tcfg *t = tcfg_load(RICH);
	struct rt_answer a;
	struct rt_explain ex;
	char buf[256];
	/* Vip lists Intl first: for a +1 number Intl has no route, National does. */
	tq_run(t, &(struct tq){.called = "+14255550100", .calling = "+442071234567"}, &a, &ex);
	assert_string_equal(a.policy, "Vip");
	assert_string_equal(ex.policy_source, "assignment");
	assert_string_equal(ex.assignment, "^\\+4420");
	assert_string_equal(tq_gateways(&a, buf, sizeof(buf)), "P1,P2,C1");
	/* A named policy beats the assignment. */
	tq_run(t, &(struct tq){.called = "+14255550100", .calling = "+442071234567", .policy = "Std"},
	       &a, &ex);
	assert_string_equal(a.policy, "Std");
	assert_string_equal(ex.policy_source, "named");
	/* Not matching any assignment: the default. */
	tq_run(t, &(struct tq){.called = "+14255550100", .calling = "+15551234"}, &a, NULL);
	assert_string_equal(a.policy, "Std");
	tcfg_free(t);
}

static void fallbacks(void **state)
{
	struct tcfg *t = tcfg_load(RICH);
	struct rt_answer a;
	struct rt_explain ex;
	char buf[256];
	/* URI fallback when the route's only gateway is down. */
	tcfg_health(t, "L1", RT_HEALTH_DOWN);
	tq_run(t, &(struct tq){.called = "911"}, &a, &ex);
	assert_int_equal(a.status, RT_ROUTED);
	assert_int_equal(a.n_dest, 1);
	assert_string_equal(a.dest[0].uri, "sip:psap@192.0.2.99");
	assert_null(a.dest[0].gateway);
	assert_string_equal(a.dest[0].route, "Sos");
	assert_int_equal(ex.n_fallbacks, 1);
	assert_true(ex.fallbacks[0].followed);

	/* E.164 fallback: Cloud site down -> +15550001111 routed again (once). */
	tcfg_site_health(t, "Cloud", RT_HEALTH_DOWN);
	tq_run(t, &(struct tq){.called = "+442071234567", .call_id = "k"}, &a, NULL);
	assert_int_equal(a.status, RT_ROUTED);
	assert_string_equal(tq_gateways(&a, buf, sizeof(buf)), "P1,P2");
	assert_true(a.dest[0].via_fallback);
	assert_string_equal(a.dest[0].route, "Early");
	assert_string_equal(a.dest[0].called, "15550001111"); /* translated from the fallback number */

	/* Loop: +33 falls back to +34, whose fallback (+33) is not followed. */
	tq_run(t, &(struct tq){.called = "+33100"}, &a, &ex);
	assert_int_equal(a.status, RT_ALL_UNAVAILABLE);
	assert_int_equal(ex.n_fallbacks, 2);
	assert_true(ex.fallbacks[0].followed);
	assert_false(ex.fallbacks[1].followed);
	tcfg_free(t);
}

static void determinism(void **state)
{
	struct tcfg *t = *state;
	struct rt_answer a, b;
	char x[256], y[256];
	for (int i = 0; i < 50; i++) {
		char cid[32];
		snprintf(cid, sizeof(cid), "%d@sbc", i);
		tq_run(t, &(struct tq){.called = "+14255550100", .call_id = cid}, &a, NULL);
		tq_run(t, &(struct tq){.called = "+14255550100", .call_id = cid}, &b, NULL);
		assert_string_equal(tq_gateways(&a, x, sizeof(x)), tq_gateways(&b, y, sizeof(y)));
		/* A failover query for the same call keeps the remaining order. */
		tq_run(t, &(struct tq){.called = "+14255550100", .call_id = cid,
				       .tried_gw = {a.dest[0].gateway}, .tried_code = {503}},
		       &b, NULL);
		assert_int_equal(b.n_dest, a.n_dest - 1);
		for (uint32_t k = 0; k < b.n_dest; k++)
			assert_string_equal(b.dest[k].gateway, a.dest[k + 1].gateway);
	}
}

/* A policy's usage positions come from a one-byte table per policy when it
 * lists fewer than 255 usages, else from a per-decision stamp: both walk
 * the usages in the policy's order, with explain and without. */
static void long_policies_walk_in_order(void **state)
{
	size_t cap = 64 << 10, n = 0;
	char *y = malloc(cap);
	assert_non_null(y);
	n += (size_t)snprintf(y + n, cap - n,
			      "gateways:\n"
			      "  - { name: G1, address: 192.0.2.1 }\n"
			      "  - { name: G2, address: 192.0.2.2 }\n"
			      "  - { name: G3, address: 192.0.2.3 }\n"
			      "trunks:\n"
			      "  - { name: T1, gateway: G1 }\n"
			      "  - { name: T2, gateway: G2 }\n"
			      "  - { name: T3, gateway: G3 }\n"
			      "usages: [");
	for (int u = 0; u < 300; u++)
		n += (size_t)snprintf(y + n, cap - n, "%sU%03d", u ? ", " : "", u);
	n += (size_t)snprintf(y + n, cap - n,
			      "]\n"
			      "routes:\n"
			      "  - { name: R1, pattern: '^\\+1', usages: [U005], trunks: [T1] }\n"
			      "  - { name: R2, pattern: '^\\+1', usages: [U250], trunks: [T2] }\n"
			      "  - { name: R3, pattern: '^\\+1', usages: [U253, U299], trunks: [T3] }\n"
			      "policies:\n"
			      "  - { name: Short, usages: [U005, U250, U299], default: true }\n");
	/* Long: all 300, last first. Edge: 254 of them (U253..U000), the most a
	 * one-byte table holds. */
	const char *names[] = {"Long", "Edge"};
	const int first[] = {299, 253};
	for (int k = 0; k < 2; k++) {
		n += (size_t)snprintf(y + n, cap - n, "  - { name: %s, usages: [", names[k]);
		for (int u = first[k]; u >= 0; u--)
			n += (size_t)snprintf(y + n, cap - n, "%sU%03d", u < first[k] ? ", " : "", u);
		n += (size_t)snprintf(y + n, cap - n, "] }\n");
	}
	assert_true(n < cap);
	struct tcfg *t = tcfg_load(y);
	free(y);
	struct rt_answer a;
	struct rt_explain ex;
	char buf[256];
	const char *policy[] = {"Short", "Long", "Edge"};
	const char *want[] = {"G1,G2,G3", "G3,G2,G1", "G3,G2,G1"};
	for (int k = 0; k < 3; k++) {
		tq_run(t, &(struct tq){.called = "+14255550100", .policy = policy[k]}, &a, NULL);
		assert_string_equal(tq_gateways(&a, buf, sizeof(buf)), want[k]);
		tq_run(t, &(struct tq){.called = "+14255550100", .policy = policy[k]}, &a, &ex);
		assert_string_equal(tq_gateways(&a, buf, sizeof(buf)), want[k]);
	}
	assert_string_equal(a.dest[0].usage, "U253"); /* Edge lists U253 first */
	tcfg_free(t);
}

static void example_file_loads(void **state)
{
	const char *dir = getenv("STROWGER_SOURCE_ROOT");
	char path[4096];
	snprintf(path, sizeof(path), "%s/examples/seed-failover.yaml", dir ? dir : ".");
	struct tcfg *t = tcfg_load_file(path);
	struct rt_answer a;
	tcfg_health(t, "Dallas-GW1", RT_HEALTH_DOWN);
	tq_run(t, &(struct tq){.called = "+19725550100", .policy = DALLAS}, &a, NULL);
	assert_int_equal(a.status, RT_ROUTED);
	assert_int_equal(a.n_dest, 2);
	assert_false(has_gw(&a, "Dallas-GW1"));
	tcfg_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(seed_dallas_gw_down, setup_seed, teardown),
		cmocka_unit_test_setup_teardown(seed_dallas_gw_up, setup_seed, teardown),
		cmocka_unit_test_setup_teardown(seed_redmond_not_permitted, setup_seed, teardown),
		cmocka_unit_test_setup_teardown(seed_default_policy_local, setup_seed, teardown),
		cmocka_unit_test_setup_teardown(no_route, setup_seed, teardown),
		cmocka_unit_test_setup_teardown(bad_requests, setup_seed, teardown),
		cmocka_unit_test_setup_teardown(all_unavailable_and_site_down, setup_seed, teardown),
		cmocka_unit_test_setup_teardown(degraded_demoted_draining_skipped, setup_seed, teardown),
		cmocka_unit_test_setup_teardown(failover_tried, setup_seed, teardown),
		cmocka_unit_test_setup_teardown(determinism, setup_seed, teardown),
		cmocka_unit_test(failover_codes_per_gateway),
		cmocka_unit_test(route_and_gateway_priority),
		cmocka_unit_test(translations_and_dial_plan),
		cmocka_unit_test(assignment_picks_policy),
		cmocka_unit_test(fallbacks),
		cmocka_unit_test(long_policies_walk_in_order),
		cmocka_unit_test(example_file_loads),
	};
	return cmocka_run_group_tests_name("decide", tests, NULL, NULL);
}
