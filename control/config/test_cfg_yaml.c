/*
 * cfg_yaml: what an operator sees when loading a config file — the shipped
 * example loads as written, failover code sets mean what they say, and every
 * mistake is reported with file, line and object.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cfg_yaml.h"

#ifndef CFG_EXAMPLES_DIR
#define CFG_EXAMPLES_DIR "examples"
#endif
#define SEED CFG_EXAMPLES_DIR "/seed-failover.yaml"

static struct rt_config *load(const char *yaml, struct rt_diag *d)
{
	rt_diag_init(d);
	return cfg_yaml_load_buffer(yaml, strlen(yaml), "t.yaml", d);
}

/* Loads fine; prints the errors if not, so a failure says why. */
static struct rt_config *load_ok(const char *yaml)
{
	struct rt_diag d;
	struct rt_config *cfg = load(yaml, &d);
	if (!cfg)
		rt_diag_print(&d, stderr);
	assert_non_null(cfg);
	assert_int_equal(rt_diag_count(&d), 0);
	rt_diag_clear(&d);
	return cfg;
}

/* Fails with exactly these messages, in this order. */
static void expect_errors(const char *yaml, const char *const *msgs, size_t n)
{
	struct rt_diag d;
	struct rt_config *cfg = load(yaml, &d);
	if (rt_diag_count(&d) != n)
		rt_diag_print(&d, stderr);
	assert_null(cfg);
	assert_int_equal(rt_diag_count(&d), n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(d.msgs[i], msgs[i]);
	rt_diag_clear(&d);
}

static void expect_error(const char *yaml, const char *msg)
{
	expect_errors(yaml, &msg, 1);
}

static const struct rt_cfg_gateway *gateway(const struct rt_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_gateways; i++)
		if (!strcmp(cfg->gateways[i].name, name))
			return &cfg->gateways[i];
	fail_msg("no gateway %s", name);
	return NULL;
}

static void test_seed_example(void **state)
{
	struct rt_diag d;
	rt_diag_init(&d);
	struct rt_config *cfg = cfg_yaml_load_file(SEED, &d);
	if (!cfg)
		rt_diag_print(&d, stderr);
	assert_non_null(cfg);

	assert_string_equal(cfg->source, SEED);
	assert_true(rt_codeset_has(&cfg->failover_codes, 0));
	assert_true(rt_codeset_has(&cfg->failover_codes, 408));
	assert_true(rt_codeset_has(&cfg->failover_codes, 503));
	assert_true(rt_codeset_has(&cfg->failover_codes, 504));
	assert_false(rt_codeset_has(&cfg->failover_codes, 486));
	assert_false(rt_codeset_has(&cfg->failover_codes, 500));
	assert_int_equal(cfg->failover_src.line, 4);
	assert_int_equal(cfg->sip.max_contacts, RT_DEFAULT_MAX_CONTACTS);
	assert_int_equal(cfg->sip.retry_after, RT_DEFAULT_RETRY_AFTER);

	assert_int_equal(cfg->n_gateways, 3);
	const struct rt_cfg_gateway *g = gateway(cfg, "Red-GW1");
	assert_string_equal(g->address, "192.0.2.11");
	assert_int_equal(g->port, 5060);
	assert_int_equal(g->transport, RT_TRANSPORT_UDP);
	assert_string_equal(g->site, "Redmond");
	assert_int_equal(g->priority, 0);
	assert_int_equal(g->weight, RT_DEFAULT_WEIGHT);
	assert_false(g->has_failover_codes);
	assert_string_equal(g->src.file, SEED);
	assert_int_equal(g->src.line, 8);
	g = gateway(cfg, "Dallas-GW1");
	assert_string_equal(g->address, "198.51.100.21");
	assert_string_equal(g->site, "Dallas");
	assert_int_equal(g->src.line, 10);

	assert_int_equal(cfg->n_trunks, 3);
	assert_string_equal(cfg->trunks[2].name, "Trunk3");
	assert_string_equal(cfg->trunks[2].gateway, "Dallas-GW1");
	assert_int_equal(cfg->trunks[2].n_called, 0);

	assert_int_equal(cfg->n_usages, 4);
	assert_string_equal(cfg->usages[0].name, "Local");
	assert_string_equal(cfg->usages[3].name, "DallasUsers");
	assert_int_equal(cfg->usages[3].src.line, 17);

	assert_int_equal(cfg->n_routes, 4);
	const struct rt_cfg_route *r = &cfg->routes[1];
	assert_string_equal(r->name, "Dallas Local Route");
	assert_string_equal(r->pattern, "^\\+1(972|214|469)(\\d{7})$");
	assert_int_equal(r->n_usages, 1);
	assert_string_equal(r->usages[0], "Local");
	assert_int_equal(r->n_trunks, 1);
	assert_string_equal(r->trunks[0], "Trunk3");
	assert_null(r->fallback);
	assert_int_equal(r->src.line, 24);
	r = &cfg->routes[2];
	assert_string_equal(r->name, "Universal Route");
	assert_string_equal(r->pattern, "^\\+?(\\d*)$");
	assert_int_equal(r->n_trunks, 3);
	assert_string_equal(r->trunks[2], "Trunk3");

	assert_int_equal(cfg->n_policies, 3);
	assert_string_equal(cfg->policies[0].name, "Default Calling Policy");
	assert_true(cfg->policies[0].is_default);
	assert_false(cfg->policies[1].is_default);
	assert_false(cfg->policies[2].is_default);
	const struct rt_cfg_policy *p = &cfg->policies[2];
	assert_string_equal(p->name, "Dallas Calling Policy");
	assert_int_equal(p->n_usages, 2);
	assert_string_equal(p->usages[0], "DallasUsers");
	assert_string_equal(p->usages[1], "GlobalPSTNHopoff");
	assert_null(p->dial_plan);

	assert_int_equal(cfg->n_assignments, 0);
	assert_int_equal(cfg->n_dial_plans, 0);
	rt_config_free(cfg);
	rt_diag_clear(&d);
}

/* "any response above 2xx, but not busy / declined" */
static void assert_above_2xx_not_busy(const struct rt_codeset *s)
{
	assert_true(rt_codeset_has(s, 300));
	assert_true(rt_codeset_has(s, 404));
	assert_true(rt_codeset_has(s, 485));
	assert_true(rt_codeset_has(s, 487));
	assert_true(rt_codeset_has(s, 503));
	assert_true(rt_codeset_has(s, 699));
	assert_false(rt_codeset_has(s, 486));
	assert_false(rt_codeset_has(s, 600));
	assert_false(rt_codeset_has(s, 603));
	assert_false(rt_codeset_has(s, 0));
	assert_false(rt_codeset_has(s, 200));
	assert_false(rt_codeset_has(s, 299));
}

static void test_codes_exclusions_unquoted(void **state)
{
	struct rt_config *cfg = load_ok(
		"failover: { codes: [300-699, !486, !600, !603] }\n"
		"gateways:\n"
		"  - { name: GW1, address: 192.0.2.1, failover_codes: [300-699,!486,!600,!603] }\n"
		"  - name: GW2\n"
		"    address: 192.0.2.2\n"
		"    failover_codes:\n"
		"      - 300-699\n"
		"      - !486\n"
		"      - !600\n"
		"      - !603\n");
	assert_above_2xx_not_busy(&cfg->failover_codes);
	assert_true(cfg->gateways[0].has_failover_codes);
	assert_above_2xx_not_busy(&cfg->gateways[0].failover_codes);
	assert_true(cfg->gateways[1].has_failover_codes);
	assert_above_2xx_not_busy(&cfg->gateways[1].failover_codes);
	rt_config_free(cfg);
}

static void test_codes_exclusions_quoted(void **state)
{
	struct rt_config *cfg = load_ok(
		"failover: { codes: ['300-699', '!486', \"!600\", '!603'] }\n"
		"gateways:\n"
		"  - { name: GW1, address: 192.0.2.1, failover_codes: [\"!486\", 300-699, '!600-603', '601-602'] }\n");
	assert_above_2xx_not_busy(&cfg->failover_codes);
	/* exclusions win whatever the order; "!600-603" is a range */
	assert_above_2xx_not_busy(&cfg->gateways[0].failover_codes);
	assert_false(rt_codeset_has(&cfg->gateways[0].failover_codes, 601));
	rt_config_free(cfg);
}

/* The `!486` fix-up must not touch quoted strings or comments. */
static void test_codes_fixup_leaves_strings_alone(void **state)
{
	struct rt_config *cfg = load_ok(
		"usages: [U]   # [x, !486, y]\n"
		"routes:\n"
		"  - { name: 'R [!486,]', pattern: '^[!486,]$', usages: [U], fallback: \"a\\\"[ !486,]\" }\n");
	assert_string_equal(cfg->routes[0].name, "R [!486,]");
	assert_string_equal(cfg->routes[0].pattern, "^[!486,]$");
	assert_string_equal(cfg->routes[0].fallback, "a\"[ !486,]");
	rt_config_free(cfg);
}

static void test_codes_empty_list_means_never(void **state)
{
	struct rt_config *cfg = load_ok(
		"gateways: [{ name: GW1, address: 192.0.2.1, failover_codes: [] }]\n");
	assert_true(cfg->gateways[0].has_failover_codes);
	for (unsigned c = 0; c <= RT_CODE_MAX; c++)
		assert_false(rt_codeset_has(&cfg->gateways[0].failover_codes, c));
	/* the global set keeps its default */
	assert_true(rt_codeset_has(&cfg->failover_codes, 503));
	rt_config_free(cfg);
}

static void test_full_schema(void **state)
{
	struct rt_config *cfg = load_ok(
		"sip: { max_contacts: 8, retry_after: 0 }\n"
		"gateways:\n"
		"  - name: GW1\n"
		"    address: sbc.example.net\n"
		"    port: 5061\n"
		"    transport: TLS\n"
		"    priority: 10\n"
		"    weight: 0\n"
		"trunks:\n"
		"  - name: T1\n"
		"    gateway: GW1\n"
		"    called:\n"
		"      - { match: '^\\+1(\\d{10})$', replace: '$1' }\n"
		"      - { match: '^\\+(\\d+)$', replace: '011$1' }\n"
		"    calling: [{ match: '^(.*)$', replace: '' }]\n"
		"usages: [{ name: Local }, Intl]\n"
		"routes:\n"
		"  - { name: R1, pattern: '^\\+1', usages: [Local], trunks: [T1], priority: 2,\n"
		"      fallback: 'sip:overflow@192.0.2.9' }\n"
		"policies:\n"
		"  - { name: P1, usages: [Local, Intl], dial_plan: DP1, default: yes }\n"
		"  - { name: P2, usages: [], default: no }\n"
		"assignments:\n"
		"  - { calling: '^\\+1425', policy: P1 }\n"
		"  - { pattern: '^\\+1972', policy: P2 }\n"
		"dial_plans:\n"
		"  - name: DP1\n"
		"    default: true\n"
		"    rules:\n"
		"      - { match: '^(\\d{4})$', replace: '+1425555$1' }\n");

	assert_int_equal(cfg->sip.max_contacts, 8);
	assert_int_equal(cfg->sip.retry_after, 0);
	const struct rt_cfg_gateway *g = &cfg->gateways[0];
	assert_string_equal(g->address, "sbc.example.net");
	assert_int_equal(g->port, 5061);
	assert_int_equal(g->transport, RT_TRANSPORT_TLS);
	assert_null(g->site);
	assert_int_equal(g->priority, 10);
	assert_int_equal(g->weight, 0);

	const struct rt_cfg_trunk *t = &cfg->trunks[0];
	assert_int_equal(t->n_called, 2);
	assert_string_equal(t->called[0].match, "^\\+1(\\d{10})$");
	assert_string_equal(t->called[0].replace, "$1");
	assert_string_equal(t->called[1].replace, "011$1");
	assert_int_equal(t->called[1].src.line, 14);
	assert_string_equal(t->called[1].src.file, "t.yaml");
	assert_int_equal(t->n_calling, 1);
	assert_string_equal(t->calling[0].replace, "");

	assert_int_equal(cfg->n_usages, 2);
	assert_string_equal(cfg->usages[0].name, "Local");
	assert_string_equal(cfg->usages[1].name, "Intl");

	assert_int_equal(cfg->routes[0].priority, 2);
	assert_string_equal(cfg->routes[0].fallback, "sip:overflow@192.0.2.9");
	assert_int_equal(cfg->routes[0].src.line, 18);

	assert_true(cfg->policies[0].is_default);
	assert_string_equal(cfg->policies[0].dial_plan, "DP1");
	assert_false(cfg->policies[1].is_default);
	assert_int_equal(cfg->policies[1].n_usages, 0);

	assert_int_equal(cfg->n_assignments, 2);
	assert_string_equal(cfg->assignments[0].pattern, "^\\+1425");
	assert_string_equal(cfg->assignments[1].pattern, "^\\+1972");
	assert_string_equal(cfg->assignments[1].policy, "P2");

	assert_int_equal(cfg->n_dial_plans, 1);
	assert_true(cfg->dial_plans[0].is_default);
	assert_int_equal(cfg->dial_plans[0].n_rules, 1);
	assert_string_equal(cfg->dial_plans[0].rules[0].replace, "+1425555$1");
	rt_config_free(cfg);
}

static void test_empty_document(void **state)
{
	struct rt_config *cfg = load_ok("# nothing yet\n");
	assert_int_equal(cfg->n_gateways, 0);
	assert_int_equal(cfg->n_routes, 0);
	assert_true(rt_codeset_has(&cfg->failover_codes, 408));
	rt_config_free(cfg);
}

static void test_error_unknown_key(void **state)
{
	expect_error("gateways:\n"
		     "  - { name: GW1, address: 192.0.2.1, prot: 5060 }\n",
		     "t.yaml:2: gateway 'GW1': unknown key 'prot'");
	/* the name is known even when it comes after the bad key */
	expect_error("routes:\n"
		     "  - patern: x\n"
		     "    name: R1\n"
		     "    pattern: y\n",
		     "t.yaml:2: route 'R1': unknown key 'patern'");
	expect_error("gateway:\n  - { name: GW1 }\n", "t.yaml:1: unknown top-level key 'gateway'");
}

static void test_error_bad_port(void **state)
{
	expect_error("gateways:\n"
		     "  - { name: GW1, address: 192.0.2.1 }\n"
		     "  - name: Red-GW1\n"
		     "    address: 192.0.2.11\n"
		     "    port: 70000\n",
		     "t.yaml:5: gateway 'Red-GW1': port must be 1..65535, got 70000");
	expect_error("gateways: [{ name: GW1, address: a, port: 0 }]\n",
		     "t.yaml:1: gateway 'GW1': port must be 1..65535, got 0");
	expect_error("gateways: [{ name: GW1, address: a, port: -1 }]\n",
		     "t.yaml:1: gateway 'GW1': port must be 1..65535, got -1");
	expect_error("gateways: [{ name: GW1, address: a, port: 0x13c4 }]\n",
		     "t.yaml:1: gateway 'GW1': port must be an integer, got '0x13c4'");
	expect_error("gateways: [{ name: GW1, address: a, port: 99999999999999999999999 }]\n",
		     "t.yaml:1: gateway 'GW1': port must be 1..65535, got 99999999999999999999999");
}

static void test_error_bad_transport(void **state)
{
	expect_error("gateways:\n"
		     "  - { name: GW1, address: 192.0.2.1, transport: sctp }\n",
		     "t.yaml:2: gateway 'GW1': transport must be udp, tcp or tls, got 'sctp'");
}

static void test_error_bad_codes(void **state)
{
	expect_error("failover:\n"
		     "  codes: [0, 408, 700]\n",
		     "t.yaml:2: failover: bad failover code '700': "
		     "codes are 0 (no response) or 100..699");
	expect_error("gateways:\n"
		     "  - name: GW1\n"
		     "    address: 192.0.2.1\n"
		     "    failover_codes:\n"
		     "      - 408\n"
		     "      - 500-400\n",
		     "t.yaml:6: gateway 'GW1': bad failover code '500-400': range runs backwards");
	expect_error("failover: { codes: [busy] }\n",
		     "t.yaml:1: failover: bad failover code 'busy': "
		     "expected CODE, LOW-HIGH or !CODE");
	/* both bad items are reported, each at its own line */
	const char *msgs[] = {
		"t.yaml:3: failover: bad failover code '700': codes are 0 (no response) or 100..699",
		"t.yaml:4: failover: bad failover code '!99': codes are 0 (no response) or 100..699",
	};
	expect_errors("failover:\n"
		      "  codes:\n"
		      "    - 700\n"
		      "    - '!99'\n",
		      msgs, 2);
}

static void test_error_wrong_type(void **state)
{
	expect_error("gateways:\n  name: GW1\n", "t.yaml:2: gateways must be a list, got a mapping");
	expect_error("routes:\n"
		     "  - { name: R1, pattern: x, usages: Local }\n",
		     "t.yaml:2: route 'R1': usages must be a list, got a scalar");
	expect_error("gateways: [{ name: [GW1], address: a }]\n",
		     "t.yaml:1: gateway: name must be a scalar, got a list");
	expect_error("trunks: [GW1]\n",
		     "t.yaml:1: each item of 'trunks' must be a mapping, got a scalar");
	expect_error("failover: [0, 408]\n", "t.yaml:1: failover must be a mapping, got a list");
	expect_error("- gateways\n", "t.yaml:1: top level must be a mapping, got a list");
	expect_error("policies: [{ name: P, default: maybe }]\n",
		     "t.yaml:1: policy 'P': default must be true or false, got 'maybe'");
	expect_error("trunks: [{ name: T, gateway: G, called: [x] }]\n",
		     "t.yaml:1: trunk 'T': each item of called must be a mapping {match, replace}, "
		     "got a scalar");
}

static void test_error_missing_fields(void **state)
{
	expect_error("gateways:\n"
		     "  - { address: 192.0.2.1 }\n",
		     "t.yaml:2: gateway: missing 'name'");
	expect_error("gateways:\n"
		     "  - name: GW1\n"
		     "    port: 5060\n",
		     "t.yaml:2: gateway 'GW1': missing 'address'");
	expect_error("trunks: [{ name: T1 }]\n", "t.yaml:1: trunk 'T1': missing 'gateway'");
	expect_error("routes: [{ name: R1, pattern: '' }]\n",
		     "t.yaml:1: route 'R1': pattern must not be empty");
	expect_error("trunks:\n"
		     "  - name: T1\n"
		     "    gateway: GW1\n"
		     "    called:\n"
		     "      - { match: '^1' }\n",
		     "t.yaml:5: trunk 'T1': called rule: missing 'replace'");
	expect_error("assignments: [{ policy: P }]\n", "t.yaml:1: assignment: missing 'calling'");
	expect_error("assignments: [{ calling: x, pattern: y, policy: P }]\n",
		     "t.yaml:1: assignment: give 'calling' or 'pattern', not both");
}

static void test_error_duplicate_key(void **state)
{
	expect_error("gateways: [{ name: GW1, address: a, port: 1, port: 2 }]\n",
		     "t.yaml:1: gateway 'GW1': duplicate key 'port'");
}

static void test_error_yaml_syntax(void **state)
{
	expect_error("gateways:\n"
		     "  - { name: GW1, address: 192.0.2.1 }\n"
		     "  - { name: GW2, address: [192.0.2.2 }\n",
		     "t.yaml:3: YAML syntax error: did not find expected ',' or ']'");
	expect_error("routes:\n"
		     "  - name: R1\n"
		     "    pattern: x\n"
		     "   usages: [a]\n",
		     "t.yaml:4: YAML syntax error: did not find expected '-' indicator");
	expect_error("usages: [a]\n---\nusages: [b]\n", "t.yaml:3: only one YAML document is allowed");
}

static void test_multiple_errors_all_reported(void **state)
{
	const char *msgs[] = {
		"t.yaml:2: gateway 'GW1': port must be 1..65535, got 70000",
		"t.yaml:2: gateway 'GW1': transport must be udp, tcp or tls, got 'sctp'",
		"t.yaml:3: gateway: missing 'name'",
		"t.yaml:5: route 'R1': unknown key 'trunk'",
		"t.yaml:6: unknown top-level key 'polices'",
	};
	expect_errors("gateways:\n"
		      "  - { name: GW1, address: a, port: 70000, transport: sctp }\n"
		      "  - { address: b }\n"
		      "routes:\n"
		      "  - { name: R1, pattern: x, trunk: T1 }\n"
		      "polices: []\n",
		      msgs, 5);
}

static void test_file_errors(void **state)
{
	struct rt_diag d;
	rt_diag_init(&d);
	assert_null(cfg_yaml_load_file("/nonexistent/strowger.yaml", &d));
	assert_int_equal(rt_diag_count(&d), 1);
	assert_string_equal(d.msgs[0],
			    "cannot read /nonexistent/strowger.yaml: No such file or directory");
	rt_diag_clear(&d);

	/* errors in a file name the file */
	char path[] = "/tmp/test_cfg_yaml_XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	const char *yaml = "usages: [Local]\nroutes:\n  - { name: R1 }\n";
	assert_int_equal(write(fd, yaml, strlen(yaml)), (ssize_t)strlen(yaml));
	close(fd);
	assert_null(cfg_yaml_load_file(path, &d));
	char want[128];
	snprintf(want, sizeof(want), "%s:3: route 'R1': missing 'pattern'", path);
	assert_int_equal(rt_diag_count(&d), 1);
	assert_string_equal(d.msgs[0], want);
	rt_diag_clear(&d);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seed_example),
		cmocka_unit_test(test_codes_exclusions_unquoted),
		cmocka_unit_test(test_codes_exclusions_quoted),
		cmocka_unit_test(test_codes_fixup_leaves_strings_alone),
		cmocka_unit_test(test_codes_empty_list_means_never),
		cmocka_unit_test(test_full_schema),
		cmocka_unit_test(test_empty_document),
		cmocka_unit_test(test_error_unknown_key),
		cmocka_unit_test(test_error_bad_port),
		cmocka_unit_test(test_error_bad_transport),
		cmocka_unit_test(test_error_bad_codes),
		cmocka_unit_test(test_error_wrong_type),
		cmocka_unit_test(test_error_missing_fields),
		cmocka_unit_test(test_error_duplicate_key),
		cmocka_unit_test(test_error_yaml_syntax),
		cmocka_unit_test(test_multiple_errors_all_reported),
		cmocka_unit_test(test_file_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
