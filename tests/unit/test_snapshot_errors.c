/* A bad config is rejected with every problem named by file, line and
 * object, in words an operator can act on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_util.h"

#define HEAD                                                                                 \
	"gateways:\n"                                                                        \
	"  - { name: G1, address: 192.0.2.1 }\n"                                             \
	"trunks:\n"                                                                          \
	"  - { name: T1, gateway: G1 }\n"                                                    \
	"usages: [U]\n"

static void expect(const char *yaml, const char *needle)
{
	char *errs = tcfg_errors(yaml);
	if (!strstr(errs, needle))
		fail_msg("expected error containing\n  %s\ngot:\n%s", needle, errs);
	free(errs);
}

static void unknown_references(void **state)
{
	const char *y = HEAD
		"routes:\n"
		"  - { name: R1, pattern: '^\\+1', usages: [U, Nope], trunks: [T1, T9] }\n"
		"policies:\n"
		"  - { name: P, usages: [U, Gone], default: true, dial_plan: DP }\n"
		"assignments:\n"
		"  - { calling: '^\\+44', policy: Missing }\n";
	expect(y, "test.yaml:7: route 'R1': unknown usage 'Nope'");
	expect(y, "test.yaml:7: route 'R1': unknown trunk 'T9'");
	expect(y, "test.yaml:9: policy 'P': unknown usage 'Gone'");
	expect(y, "test.yaml:9: policy 'P': unknown dial plan 'DP'");
	expect(y, "test.yaml:11: assignment '^\\+44': unknown policy 'Missing'");
	const char *t = "gateways: [ { name: G1, address: 192.0.2.1 } ]\n"
			"trunks: [ { name: T1, gateway: G2 } ]\n"
			"usages: [U]\n"
			"routes: [ { name: R, pattern: x, usages: [U], trunks: [T1] } ]\n"
			"policies: [ { name: P, usages: [U], default: true } ]\n";
	expect(t, "test.yaml:2: trunk 'T1': unknown gateway 'G2'");
}

static void duplicates(void **state)
{
	const char *y = "gateways:\n"
			"  - { name: G1, address: 192.0.2.1 }\n"
			"  - { name: G1, address: 192.0.2.2 }\n"
			"trunks: [ { name: T1, gateway: G1 } ]\n"
			"usages: [U, U]\n"
			"routes:\n"
			"  - { name: R, pattern: '^1', usages: [U], trunks: [T1] }\n"
			"  - { name: R, pattern: '^2', usages: [U], trunks: [T1] }\n"
			"policies: [ { name: P, usages: [U], default: true } ]\n";
	expect(y, "test.yaml:3: gateway 'G1': duplicate name (first defined at line 2)");
	expect(y, "test.yaml:8: route 'R': duplicate name (first defined at line 7)");
	expect(y, "usage 'U': duplicate name");
}

static void patterns_rejected_with_engine_message(void **state)
{
	/* PCRE2 rejects an unbalanced group... */
	expect(HEAD "routes: [ { name: R, pattern: '^(\\+1', usages: [U], trunks: [T1] } ]\n"
		    "policies: [ { name: P, usages: [U], default: true } ]\n",
	       "test.yaml:6: route 'R': pattern '^(\\+1' rejected by PCRE2: missing closing parenthesis");
	/* ...Hyperscan rejects a back-reference PCRE2 accepts. */
	expect(HEAD "routes: [ { name: R, pattern: '^(\\d)\\1', usages: [U], trunks: [T1] } ]\n"
		    "policies: [ { name: P, usages: [U], default: true } ]\n",
	       "test.yaml:6: route 'R': pattern '^(\\d)\\1' rejected by Hyperscan: ");
	/* Translation replacement naming a group the pattern lacks. */
	expect("gateways: [ { name: G1, address: 192.0.2.1 } ]\n"
	       "trunks:\n"
	       "  - name: T1\n"
	       "    gateway: G1\n"
	       "    called: [ { match: '^\\+1(\\d+)$', replace: '$2' } ]\n"
	       "usages: [U]\n"
	       "routes: [ { name: R, pattern: '^1', usages: [U], trunks: [T1] } ]\n"
	       "policies: [ { name: P, usages: [U], default: true } ]\n",
	       "test.yaml:5: trunk 'T1': called rule 1: replacement '$2' uses $2 but the pattern has 1 group");
	/* Dial-plan rule: bad regex. */
	expect(HEAD "routes: [ { name: R, pattern: '^1', usages: [U], trunks: [T1] } ]\n"
		    "policies: [ { name: P, usages: [U], default: true } ]\n"
		    "dial_plans:\n"
		    "  - name: D\n"
		    "    rules: [ { match: '[0-', replace: '' } ]\n",
	       "test.yaml:10: dial plan 'D': normalisation rule 1: pattern '[0-' rejected by PCRE2");
}

static void policies_and_fallbacks(void **state)
{
	expect(HEAD "routes: [ { name: R, pattern: '^1', usages: [U], trunks: [T1] } ]\n"
		    "policies: [ { name: P, usages: [U] } ]\n",
	       "no default policy");
	expect(HEAD "routes: [ { name: R, pattern: '^1', usages: [U], trunks: [T1] } ]\n"
		    "policies:\n"
		    "  - { name: P, usages: [U], default: true }\n"
		    "  - { name: Q, usages: [U], default: true }\n",
	       "test.yaml:9: policy 'Q': second default policy (already 'P')");
	expect(HEAD "routes: [ { name: R, pattern: '^1', usages: [U], trunks: [T1], fallback: 'hello' } ]\n"
		    "policies: [ { name: P, usages: [U], default: true } ]\n",
	       "test.yaml:6: route 'R': fallback 'hello' is neither a SIP URI");
	expect(HEAD "routes: [ { name: R, pattern: '^1', usages: [U] } ]\n"
		    "policies: [ { name: P, usages: [U], default: true } ]\n",
	       "test.yaml:6: route 'R': has no trunks and no fallback");
}

static void every_error_reported(void **state)
{
	char *errs = tcfg_errors(HEAD
		"routes:\n"
		"  - { name: A, pattern: '(', usages: [X], trunks: [Y] }\n"
		"  - { name: B, pattern: ')', usages: [U], trunks: [T1] }\n"
		"policies: [ { name: P, usages: [U] } ]\n");
	size_t lines = 0;
	for (const char *p = errs; *p; p++)
		lines += *p == '\n';
	assert_true(lines >= 5); /* 2 patterns, usage, trunk, no default */
	free(errs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(unknown_references),
		cmocka_unit_test(duplicates),
		cmocka_unit_test(patterns_rejected_with_engine_message),
		cmocka_unit_test(policies_and_fallbacks),
		cmocka_unit_test(every_error_reported),
	};
	return cmocka_run_group_tests_name("snapshot_errors", tests, NULL, NULL);
}
