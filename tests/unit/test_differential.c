/*
 * The one-pass match set (the route matcher: prefix-shaped patterns in a
 * digit trie, the rest in one Hyperscan database) must equal PCRE2
 * evaluating each pattern alone; test_matcher_shapes.c covers the shapes
 * and the classifier in depth. Random route sets mix the shapes real
 * tables have: literal prefixes, area-code alternations, bounded and
 * unbounded digit tails, classes, catch-alls, unanchored fragments.
 * STROWGER_DIFF_NUMBERS overrides the number count (default
 * 100000 across all sets).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "rt_decide.h"
#include "test_rand.h"

/* One random pattern of a random shape, over a small set of country codes
 * so patterns overlap and numbers hit them. */
static void random_pattern(char *out, size_t len)
{
	static const char *cc[] = {"1", "44", "49", "33", "1425", "1972", "4420"};
	const char *c = cc[rnd(7)];
	char d1[8], d2[8], d3[8];
	digits(d1, 1 + (int)rnd(3));
	digits(d2, 3);
	digits(d3, 3);
	switch (rnd(12)) {
	case 0:
		snprintf(out, len, "^\\+%s%s", c, d1);
		break;
	case 1:
		snprintf(out, len, "^\\+%s(%s|%s)(\\d{%u})$", c, d2, d3, 4 + rnd(5));
		break;
	case 2:
		snprintf(out, len, "^\\+%s%s\\d*$", c, d1);
		break;
	case 3:
		snprintf(out, len, "^\\+%s[%u-%u]\\d{%u,%u}$", c, rnd(5), 5 + rnd(5), 2 + rnd(3),
			 6 + rnd(4));
		break;
	case 4:
		snprintf(out, len, "^\\+?(\\d*)$");
		break;
	case 5:
		snprintf(out, len, "%s$", d1);
		break;
	case 6:
		snprintf(out, len, "^(\\+%s|0)%s", c, d1);
		break;
	case 7:
		snprintf(out, len, "^\\+%s(\\d{3})555\\d{4}$", c);
		break;
	case 8:
		snprintf(out, len, "^\\+%s%s(?:0|1)?\\d{%u}$", c, d1, 5 + rnd(4));
		break;
	case 9:
		snprintf(out, len, "%s%s", d1, d2);
		break;
	case 10:
		snprintf(out, len, "^\\+%s\\d{%u}$", c, 6 + rnd(6));
		break;
	default:
		snprintf(out, len, "^\\+%s%s[02468]", c, d1);
		break;
	}
}

static void random_number(char *out, size_t len)
{
	static const char *cc[] = {"+1", "+44", "+49", "+33", "+1425", "+1972", "+4420", "0", ""};
	const char *c = cc[rnd(9)];
	char d[24];
	digits(d, 3 + (int)rnd(12));
	snprintf(out, len, "%s%s", c, d);
}

static void one_set(uint32_t n_routes, uint32_t n_numbers)
{
	struct rt_config *cfg = rt_config_new("differential");
	assert_non_null(cfg);
	struct rt_arena *a = cfg->arena;

	cfg->n_gateways = 1;
	cfg->gateways = rt_arena_calloc(a, 1, sizeof(*cfg->gateways));
	rt_cfg_gateway_defaults(&cfg->gateways[0]);
	cfg->gateways[0].name = "G";
	cfg->gateways[0].address = "192.0.2.1";
	cfg->n_trunks = 1;
	cfg->trunks = rt_arena_calloc(a, 1, sizeof(*cfg->trunks));
	cfg->trunks[0].name = "T";
	cfg->trunks[0].gateway = "G";
	cfg->n_usages = 1;
	cfg->usages = rt_arena_calloc(a, 1, sizeof(*cfg->usages));
	cfg->usages[0].name = "U";
	static const char *usage_list[] = {"U"};
	static const char *trunk_list[] = {"T"};
	cfg->n_routes = n_routes;
	cfg->routes = rt_arena_calloc(a, n_routes, sizeof(*cfg->routes));
	for (uint32_t i = 0; i < n_routes; i++) {
		char pat[128];
		random_pattern(pat, sizeof(pat));
		cfg->routes[i].name = rt_arena_printf(a, "r%u", i);
		cfg->routes[i].pattern = rt_arena_strdup(a, pat);
		cfg->routes[i].usages = usage_list;
		cfg->routes[i].n_usages = 1;
		cfg->routes[i].trunks = trunk_list;
		cfg->routes[i].n_trunks = 1;
		cfg->routes[i].priority = rnd(4); /* route ids get reordered */
	}
	cfg->n_policies = 1;
	cfg->policies = rt_arena_calloc(a, 1, sizeof(*cfg->policies));
	cfg->policies[0].name = "P";
	cfg->policies[0].usages = usage_list;
	cfg->policies[0].n_usages = 1;
	cfg->policies[0].is_default = true;

	struct rt_diag d;
	rt_diag_init(&d);
	struct rt_snapshot *s = rt_snapshot_build(cfg, 1, &d);
	if (!s)
		rt_diag_print(&d, stderr);
	assert_non_null(s);
	rt_config_free(cfg);
	struct rt_scratch *sc = rt_scratch_new(s);
	assert_non_null(sc);

	/* Reference: each pattern alone, PCRE2 (JIT), in route-id order. */
	pcre2_code **ref = calloc(n_routes, sizeof(*ref));
	pcre2_match_data *md = pcre2_match_data_create(32, NULL);
	for (uint32_t r = 0; r < n_routes; r++) {
		int ec;
		PCRE2_SIZE eo;
		ref[r] = pcre2_compile((PCRE2_SPTR)rt_snapshot_route_pattern(s, r),
				       PCRE2_ZERO_TERMINATED, 0, &ec, &eo, NULL);
		assert_non_null(ref[r]);
		pcre2_jit_compile(ref[r], PCRE2_JIT_COMPLETE);
	}
	uint32_t *got = calloc(n_routes, sizeof(*got));
	uint64_t total_matches = 0;
	for (uint32_t i = 0; i < n_numbers; i++) {
		char num[40];
		random_number(num, sizeof(num));
		size_t len = strlen(num);
		long n = rt_match_routes(s, sc, num, len, got, n_routes);
		assert_true(n >= 0);
		uint32_t k = 0;
		for (uint32_t r = 0; r < n_routes; r++) {
			bool m = pcre2_match(ref[r], (PCRE2_SPTR)num, len, 0, 0, md, NULL) >= 0;
			bool h = k < (uint32_t)n && got[k] == r;
			if (m != h) {
				fail_msg("number %s, route %u pattern '%s': PCRE2 %s, one-scan %s", num, r,
					 rt_snapshot_route_pattern(s, r), m ? "matches" : "does not match",
					 h ? "matches" : "does not match");
			}
			k += h;
		}
		assert_int_equal(k, (uint32_t)n);
		total_matches += (uint64_t)n;
	}
	/* The generator must exercise matches, not only misses. */
	assert_true(total_matches > n_numbers / 4);

	for (uint32_t r = 0; r < n_routes; r++)
		pcre2_code_free(ref[r]);
	free(ref);
	free(got);
	pcre2_match_data_free(md);
	rt_scratch_free(sc);
	rt_snapshot_free(s);
}

static void one_scan_equals_pcre2(void **state)
{
	const char *env = getenv("STROWGER_DIFF_NUMBERS");
	uint32_t total = env ? (uint32_t)strtoul(env, NULL, 10) : 100000;
	const uint32_t sets = 10;
	rng_state = 0x5eed5eed12345ull;
	for (uint32_t i = 0; i < sets; i++)
		one_set(50 + rnd(250), total / sets);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(one_scan_equals_pcre2),
	};
	return cmocka_run_group_tests_name("differential", tests, NULL, NULL);
}
