/*
 * cfg_proto: a config shipped by strowgerctl arrives at the daemon exactly
 * as the operator wrote it (including the lines its errors will name), and
 * a bad or foreign Config is refused with a reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cfg_proto.h"
#include "cfg_yaml.h"

#ifndef CFG_EXAMPLES_DIR
#define CFG_EXAMPLES_DIR "examples"
#endif
#define SEED CFG_EXAMPLES_DIR "/seed-failover.yaml"

static void assert_str_eq(const char *a, const char *b)
{
	if (!a || !b)
		assert_ptr_equal(a, b);
	else
		assert_string_equal(a, b);
}

static void assert_src_eq(const struct rt_src *a, const struct rt_src *b)
{
	assert_int_equal(a->line, b->line);
	assert_str_eq(a->file, b->file);
}

static void assert_rules_eq(const struct rt_cfg_rule *a, size_t na, const struct rt_cfg_rule *b,
			    size_t nb)
{
	assert_int_equal(na, nb);
	for (size_t i = 0; i < na; i++) {
		assert_str_eq(a[i].match, b[i].match);
		assert_str_eq(a[i].replace, b[i].replace);
		assert_src_eq(&a[i].src, &b[i].src);
	}
}

static void assert_strs_eq(const char **a, size_t na, const char **b, size_t nb)
{
	assert_int_equal(na, nb);
	for (size_t i = 0; i < na; i++)
		assert_str_eq(a[i], b[i]);
}

static void assert_codes_eq(const struct rt_codeset *a, const struct rt_codeset *b)
{
	for (unsigned c = 0; c <= RT_CODE_MAX; c++)
		assert_int_equal(rt_codeset_has(a, c), rt_codeset_has(b, c));
}

/* Every field of struct rt_config. */
static void assert_config_eq(const struct rt_config *a, const struct rt_config *b)
{
	assert_str_eq(a->source, b->source);
	assert_codes_eq(&a->failover_codes, &b->failover_codes);
	assert_src_eq(&a->failover_src, &b->failover_src);
	assert_int_equal(a->sip.max_contacts, b->sip.max_contacts);
	assert_int_equal(a->sip.retry_after, b->sip.retry_after);

	assert_int_equal(a->n_gateways, b->n_gateways);
	for (size_t i = 0; i < a->n_gateways; i++) {
		const struct rt_cfg_gateway *x = &a->gateways[i], *y = &b->gateways[i];
		assert_str_eq(x->name, y->name);
		assert_str_eq(x->address, y->address);
		assert_str_eq(x->site, y->site);
		assert_int_equal(x->port, y->port);
		assert_int_equal(x->transport, y->transport);
		assert_int_equal(x->priority, y->priority);
		assert_int_equal(x->weight, y->weight);
		assert_int_equal(x->has_failover_codes, y->has_failover_codes);
		assert_codes_eq(&x->failover_codes, &y->failover_codes);
		assert_src_eq(&x->src, &y->src);
	}
	assert_int_equal(a->n_trunks, b->n_trunks);
	for (size_t i = 0; i < a->n_trunks; i++) {
		const struct rt_cfg_trunk *x = &a->trunks[i], *y = &b->trunks[i];
		assert_str_eq(x->name, y->name);
		assert_str_eq(x->gateway, y->gateway);
		assert_rules_eq(x->called, x->n_called, y->called, y->n_called);
		assert_rules_eq(x->calling, x->n_calling, y->calling, y->n_calling);
		assert_src_eq(&x->src, &y->src);
	}
	assert_int_equal(a->n_usages, b->n_usages);
	for (size_t i = 0; i < a->n_usages; i++) {
		assert_str_eq(a->usages[i].name, b->usages[i].name);
		assert_src_eq(&a->usages[i].src, &b->usages[i].src);
	}
	assert_int_equal(a->n_routes, b->n_routes);
	for (size_t i = 0; i < a->n_routes; i++) {
		const struct rt_cfg_route *x = &a->routes[i], *y = &b->routes[i];
		assert_str_eq(x->name, y->name);
		assert_str_eq(x->pattern, y->pattern);
		assert_strs_eq(x->usages, x->n_usages, y->usages, y->n_usages);
		assert_strs_eq(x->trunks, x->n_trunks, y->trunks, y->n_trunks);
		assert_int_equal(x->priority, y->priority);
		assert_str_eq(x->fallback, y->fallback);
		assert_src_eq(&x->src, &y->src);
	}
	assert_int_equal(a->n_policies, b->n_policies);
	for (size_t i = 0; i < a->n_policies; i++) {
		const struct rt_cfg_policy *x = &a->policies[i], *y = &b->policies[i];
		assert_str_eq(x->name, y->name);
		assert_strs_eq(x->usages, x->n_usages, y->usages, y->n_usages);
		assert_str_eq(x->dial_plan, y->dial_plan);
		assert_int_equal(x->is_default, y->is_default);
		assert_src_eq(&x->src, &y->src);
	}
	assert_int_equal(a->n_assignments, b->n_assignments);
	for (size_t i = 0; i < a->n_assignments; i++) {
		assert_str_eq(a->assignments[i].pattern, b->assignments[i].pattern);
		assert_str_eq(a->assignments[i].policy, b->assignments[i].policy);
		assert_src_eq(&a->assignments[i].src, &b->assignments[i].src);
	}
	assert_int_equal(a->n_dial_plans, b->n_dial_plans);
	for (size_t i = 0; i < a->n_dial_plans; i++) {
		const struct rt_cfg_dial_plan *x = &a->dial_plans[i], *y = &b->dial_plans[i];
		assert_str_eq(x->name, y->name);
		assert_int_equal(x->is_default, y->is_default);
		assert_rules_eq(x->rules, x->n_rules, y->rules, y->n_rules);
		assert_src_eq(&x->src, &y->src);
	}
}

static struct rt_config *round_trip(const struct rt_config *cfg)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	assert_int_equal(cfg_proto_pack(cfg, &buf, &len), 0);
	assert_non_null(buf);
	struct rt_diag d;
	rt_diag_init(&d);
	struct rt_config *back = cfg_proto_unpack(buf, len, &d);
	if (!back)
		rt_diag_print(&d, stderr);
	assert_non_null(back);
	assert_int_equal(rt_diag_count(&d), 0);
	free(buf);
	return back;
}

static void test_round_trip_seed(void **state)
{
	struct rt_diag d;
	rt_diag_init(&d);
	struct rt_config *cfg = cfg_yaml_load_file(SEED, &d);
	assert_non_null(cfg);
	struct rt_config *back = round_trip(cfg);
	assert_config_eq(cfg, back);
	/* lines survive, so the daemon's errors can still name them */
	assert_string_equal(back->routes[1].src.file, SEED);
	assert_int_equal(back->routes[1].src.line, 24);
	rt_config_free(back);
	rt_config_free(cfg);
}

static const char full_yaml[] =
	"failover: { codes: [300-699, !486, !600, !603] }\n"
	"sip: { max_contacts: 2, retry_after: 120 }\n"
	"gateways:\n"
	"  - { name: GW1, address: 192.0.2.1, port: 5061, transport: tls, site: A,\n"
	"      priority: 1, weight: 0, failover_codes: [0, 408, 500-599, !503] }\n"
	"  - { name: GW2, address: gw2.example.net, transport: tcp, weight: 70,\n"
	"      failover_codes: [] }\n"
	"  - { name: GW3, address: 192.0.2.3 }\n"
	"trunks:\n"
	"  - name: T1\n"
	"    gateway: GW1\n"
	"    called:\n"
	"      - { match: '^\\+1(\\d{10})$', replace: '$1' }\n"
	"      - { match: '^\\+(\\d+)$', replace: '011$1' }\n"
	"    calling: [{ match: '^(.*)$', replace: '' }]\n"
	"  - { name: T2, gateway: GW2 }\n"
	"usages: [Local, { name: Intl }]\n"
	"routes:\n"
	"  - { name: R1, pattern: '^\\+1', usages: [Local, Intl], trunks: [T1, T2],\n"
	"      priority: 4000000000, fallback: '+14255550100' }\n"
	"  - { name: R2, pattern: '^\\+', usages: [Intl], trunks: [],\n"
	"      fallback: 'sip:overflow@192.0.2.9' }\n"
	"  - { name: R3, pattern: '.' }\n"
	"policies:\n"
	"  - { name: P1, usages: [Local, Intl], dial_plan: DP1, default: true }\n"
	"  - { name: P2, usages: [Intl] }\n"
	"assignments:\n"
	"  - { calling: '^\\+1425', policy: P1 }\n"
	"  - { pattern: '^\\+1972', policy: P2 }\n"
	"dial_plans:\n"
	"  - name: DP1\n"
	"    default: true\n"
	"    rules:\n"
	"      - { match: '^(\\d{4})$', replace: '+1425555$1' }\n"
	"      - { match: '^0(\\d+)$', replace: '+44$1' }\n"
	"  - { name: DP2 }\n";

static void test_round_trip_full(void **state)
{
	struct rt_diag d;
	rt_diag_init(&d);
	struct rt_config *cfg = cfg_yaml_load_buffer(full_yaml, strlen(full_yaml), "full.yaml", &d);
	if (!cfg)
		rt_diag_print(&d, stderr);
	assert_non_null(cfg);
	/* the things worth checking are really there before comparing */
	assert_true(cfg->gateways[0].has_failover_codes);
	assert_false(rt_codeset_has(&cfg->gateways[0].failover_codes, 503));
	assert_true(cfg->gateways[1].has_failover_codes);
	assert_false(cfg->gateways[2].has_failover_codes);
	assert_int_equal(cfg->gateways[0].weight, 0);
	assert_string_equal(cfg->routes[0].fallback, "+14255550100");
	assert_null(cfg->routes[2].fallback);
	assert_int_equal(cfg->n_dial_plans, 2);

	struct rt_config *back = round_trip(cfg);
	assert_config_eq(cfg, back);
	assert_string_equal(back->source, "full.yaml");
	assert_false(rt_codeset_has(&back->failover_codes, 486));
	assert_true(rt_codeset_has(&back->failover_codes, 487));
	assert_int_equal(back->gateways[0].transport, RT_TRANSPORT_TLS);
	assert_null(back->gateways[1].site);
	assert_int_equal(back->sip.max_contacts, 2);
	assert_int_equal(back->trunks[0].called[1].src.line, 14);
	rt_config_free(back);
	rt_config_free(cfg);
}

/* A config built in code (no file, no lines) round-trips too, including
 * an empty global failover set. */
static void test_round_trip_no_source(void **state)
{
	struct rt_config *cfg = rt_config_new(NULL);
	assert_non_null(cfg);
	memset(&cfg->failover_codes, 0, sizeof(cfg->failover_codes));
	cfg->gateways = rt_arena_calloc(cfg->arena, 1, sizeof(*cfg->gateways));
	rt_cfg_gateway_defaults(&cfg->gateways[0]);
	cfg->gateways[0].name = "G";
	cfg->gateways[0].address = "192.0.2.1";
	cfg->n_gateways = 1;

	struct rt_config *back = round_trip(cfg);
	assert_string_equal(back->source, "<protobuf>");
	assert_null(back->gateways[0].src.file);
	assert_int_equal(back->gateways[0].port, RT_DEFAULT_PORT);
	for (unsigned c = 0; c <= RT_CODE_MAX; c++)
		assert_false(rt_codeset_has(&back->failover_codes, c));
	rt_config_free(back);
	rt_config_free(cfg);
}

static struct rt_config *unpack_msg(const Strowger__Config *m, struct rt_diag *d)
{
	size_t len = strowger__config__get_packed_size(m);
	uint8_t *buf = malloc(len ? len : 1);
	assert_non_null(buf);
	strowger__config__pack(m, buf);
	rt_diag_init(d);
	struct rt_config *cfg = cfg_proto_unpack(buf, len, d);
	free(buf);
	return cfg;
}

/* Another producer may leave fields out: the documented defaults apply. */
static void test_unpack_defaults(void **state)
{
	Strowger__Gateway gw = STROWGER__GATEWAY__INIT;
	gw.name = "GW1";
	gw.address = "192.0.2.1";
	Strowger__Gateway *gws[] = {&gw};
	Strowger__Config m = STROWGER__CONFIG__INIT;
	m.gateways = gws;
	m.n_gateways = 1;

	struct rt_diag d;
	struct rt_config *cfg = unpack_msg(&m, &d);
	assert_non_null(cfg);
	assert_int_equal(cfg->gateways[0].port, RT_DEFAULT_PORT);
	assert_int_equal(cfg->gateways[0].weight, RT_DEFAULT_WEIGHT);
	assert_int_equal(cfg->gateways[0].transport, RT_TRANSPORT_UDP);
	assert_null(cfg->gateways[0].site);
	assert_false(cfg->gateways[0].has_failover_codes);
	assert_int_equal(cfg->sip.max_contacts, RT_DEFAULT_MAX_CONTACTS);
	assert_int_equal(cfg->sip.retry_after, RT_DEFAULT_RETRY_AFTER);
	struct rt_codeset def;
	rt_codeset_default(&def);
	assert_codes_eq(&cfg->failover_codes, &def);
	rt_config_free(cfg);
}

static void test_unpack_rejects_bad_values(void **state)
{
	Strowger__Gateway gw = STROWGER__GATEWAY__INIT;
	gw.name = "Red-GW1";
	gw.address = "192.0.2.11";
	gw.port_opt_case = STROWGER__GATEWAY__PORT_OPT_PORT;
	gw.port = 70000;
	gw.line = 12;
	char *codes[] = {"500-400"};
	gw.failover_codes = codes;
	gw.n_failover_codes = 1;
	gw.has_failover_codes = true;
	Strowger__Gateway *gws[] = {&gw};
	Strowger__Route rt = STROWGER__ROUTE__INIT;
	rt.name = "R1";
	rt.line = 20;
	Strowger__Route *rts[] = {&rt};
	Strowger__Config m = STROWGER__CONFIG__INIT;
	m.source = "seed.yaml";
	m.gateways = gws;
	m.n_gateways = 1;
	m.routes = rts;
	m.n_routes = 1;

	struct rt_diag d;
	assert_null(unpack_msg(&m, &d));
	assert_int_equal(rt_diag_count(&d), 3);
	assert_string_equal(d.msgs[0], "seed.yaml:12: gateway 'Red-GW1': port must be 1..65535, got 70000");
	assert_string_equal(d.msgs[1],
			    "seed.yaml:12: gateway 'Red-GW1': bad failover code '500-400': "
			    "range runs backwards");
	assert_string_equal(d.msgs[2], "seed.yaml:20: route 'R1': missing 'pattern'");
	rt_diag_clear(&d);
}

static void test_unpack_garbage(void **state)
{
	const uint8_t junk[] = {0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 'x'};
	struct rt_diag d;
	rt_diag_init(&d);
	assert_null(cfg_proto_unpack(junk, sizeof(junk), &d));
	assert_int_equal(rt_diag_count(&d), 1);
	assert_string_equal(d.msgs[0], "<protobuf>: malformed protobuf Config (7 bytes)");
	rt_diag_clear(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_seed),
		cmocka_unit_test(test_round_trip_full),
		cmocka_unit_test(test_round_trip_no_source),
		cmocka_unit_test(test_unpack_defaults),
		cmocka_unit_test(test_unpack_rejects_bad_values),
		cmocka_unit_test(test_unpack_garbage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
