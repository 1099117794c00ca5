/*
 * cfg_diff: a dry-run load reports exactly what would change, by name, and
 * nothing for what only moved in the file or went through protobuf.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "cfg_diff.h"
#include "cfg_proto.h"
#include "cfg_yaml.h"

#ifndef CFG_EXAMPLES_DIR
#define CFG_EXAMPLES_DIR "examples"
#endif
#define SEED CFG_EXAMPLES_DIR "/seed-failover.yaml"

/* ------------------------------------------------------------------------ */
/* Helpers */

static struct rt_config *load_yaml(const char *text, const char *name)
{
	struct rt_diag d;
	rt_diag_init(&d);
	struct rt_config *cfg = cfg_yaml_load_buffer(text, strlen(text), name, &d);
	if (!cfg)
		rt_diag_print(&d, stderr);
	assert_non_null(cfg);
	rt_diag_clear(&d);
	return cfg;
}

static struct rt_config *load_seed(void)
{
	struct rt_diag d;
	rt_diag_init(&d);
	struct rt_config *cfg = cfg_yaml_load_file(SEED, &d);
	if (!cfg)
		rt_diag_print(&d, stderr);
	assert_non_null(cfg);
	return cfg;
}

/* The seed file's text, with prefix in front. */
static char *seed_text(const char *prefix)
{
	FILE *f = fopen(SEED, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	long len = ftell(f);
	assert_true(len > 0);
	rewind(f);
	size_t pl = strlen(prefix);
	char *buf = malloc(pl + (size_t)len + 1);
	assert_non_null(buf);
	memcpy(buf, prefix, pl);
	assert_int_equal(fread(buf + pl, 1, (size_t)len, f), (size_t)len);
	buf[pl + (size_t)len] = '\0';
	fclose(f);
	return buf;
}

static struct rt_config *proto_round_trip(const struct rt_config *cfg)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	assert_int_equal(cfg_proto_pack(cfg, &buf, &len), 0);
	struct rt_diag d;
	rt_diag_init(&d);
	struct rt_config *back = cfg_proto_unpack(buf, len, &d);
	if (!back)
		rt_diag_print(&d, stderr);
	assert_non_null(back);
	rt_diag_clear(&d);
	free(buf);
	return back;
}

/* names is NULL-terminated; the list must hold exactly those, in order. */
static void assert_list(const struct cfg_diff_list *l, const char *const *names)
{
	size_t n = 0;
	while (names && names[n])
		n++;
	if (l->n != n) {
		for (size_t i = 0; i < l->n; i++)
			fprintf(stderr, "  got '%s'\n", l->names[i]);
	}
	assert_int_equal(l->n, n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(l->names[i], names[i]);
}

#define NAMES(...) ((const char *const[]){__VA_ARGS__, NULL})
#define NONE NULL

static void assert_entry(const struct cfg_diff *d, enum cfg_diff_kind k,
			 const char *const *added, const char *const *removed,
			 const char *const *changed)
{
	assert_list(&d->kinds[k].added, added);
	assert_list(&d->kinds[k].removed, removed);
	assert_list(&d->kinds[k].changed, changed);
}

static void print_diff(const struct cfg_diff *d)
{
	for (int k = 0; k < CFG_DIFF_KINDS; k++) {
		const struct cfg_diff_entry *e = &d->kinds[k];
		for (size_t i = 0; i < e->added.n; i++)
			fprintf(stderr, "  + %s '%s'\n", cfg_diff_kind_name(k), e->added.names[i]);
		for (size_t i = 0; i < e->removed.n; i++)
			fprintf(stderr, "  - %s '%s'\n", cfg_diff_kind_name(k), e->removed.names[i]);
		for (size_t i = 0; i < e->changed.n; i++)
			fprintf(stderr, "  ~ %s '%s'\n", cfg_diff_kind_name(k), e->changed.names[i]);
	}
	if (d->globals_changed)
		fprintf(stderr, "  ~ globals\n");
}

/* Diff and check the total; the caller checks the lists. */
static void diff_expect(const struct rt_config *a, const struct rt_config *b, struct cfg_diff *d,
			size_t changes)
{
	assert_int_equal(cfg_diff(a, b, d), 0);
	if (cfg_diff_changes(d) != changes)
		print_diff(d);
	assert_int_equal(cfg_diff_changes(d), changes);
}

static void expect_no_change(const struct rt_config *a, const struct rt_config *b)
{
	struct cfg_diff d;
	diff_expect(a, b, &d, 0);
	assert_false(d.globals_changed);
	cfg_diff_free(&d);
}

/* Exactly one object of kind k changed, nothing else. */
static void expect_one_changed(const struct rt_config *a, const struct rt_config *b,
			       enum cfg_diff_kind k, const char *name)
{
	struct cfg_diff d;
	diff_expect(a, b, &d, 1);
	assert_entry(&d, k, NONE, NONE, NAMES(name));
	cfg_diff_free(&d);
}

static long find_route(const struct rt_config *c, const char *name)
{
	for (size_t i = 0; i < c->n_routes; i++)
		if (!strcmp(c->routes[i].name, name))
			return (long)i;
	fail_msg("no route '%s'", name);
	return -1;
}

static long find_policy(const struct rt_config *c, const char *name)
{
	for (size_t i = 0; i < c->n_policies; i++)
		if (!strcmp(c->policies[i].name, name))
			return (long)i;
	fail_msg("no policy '%s'", name);
	return -1;
}

/* ------------------------------------------------------------------------ */
/* No change */

static void test_identical(void **state)
{
	struct rt_config *a = load_seed(), *b = load_seed();
	expect_no_change(a, b);
	expect_no_change(a, a);
	rt_config_free(b);
	rt_config_free(a);
}

/* A comment line on top shifts every line and the file has another name:
 * the objects are the same. */
static void test_lines_shifted(void **state)
{
	struct rt_config *a = load_seed();
	char *text = seed_text("# reviewed by ops\n\n");
	struct rt_config *b = load_yaml(text, "other.yaml");
	free(text);
	/* The shift is real, so the test proves lines are ignored. */
	assert_int_equal(b->routes[1].src.line, a->routes[1].src.line + 2);
	assert_int_equal(b->failover_src.line, a->failover_src.line + 2);
	expect_no_change(a, b);
	rt_config_free(b);
	rt_config_free(a);
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
	"  - { name: R3, pattern: '.', usages: [Local] }\n"
	"policies:\n"
	"  - { name: P1, usages: [Local, Intl], dial_plan: DP1, default: true }\n"
	"  - { name: P2, usages: [Intl] }\n"
	"assignments:\n"
	"  - { calling: '^\\+1425', policy: P1 }\n"
	"  - { calling: '^\\+1206', policy: P1 }\n"
	"  - { pattern: '^\\+1972', policy: P2 }\n"
	"dial_plans:\n"
	"  - name: DP1\n"
	"    default: true\n"
	"    rules:\n"
	"      - { match: '^(\\d{4})$', replace: '+1425555$1' }\n"
	"      - { match: '^0(\\d+)$', replace: '+44$1' }\n"
	"  - { name: DP2 }\n";

/* The daemon's running config came over protobuf (no per-object file,
 * absent strings as NULL); the file loaded for a dry run may not have. */
static void test_proto_round_trip(void **state)
{
	struct rt_config *a = load_seed();
	struct rt_config *b = proto_round_trip(a);
	expect_no_change(a, b);
	expect_no_change(b, a);
	rt_config_free(b);
	rt_config_free(a);

	a = load_yaml(full_yaml, "full.yaml");
	b = proto_round_trip(a);
	expect_no_change(a, b);
	/* "" and NULL are one value on the wire, so one value here. */
	a->gateways[2].site = "";
	expect_no_change(a, b);
	rt_config_free(b);
	rt_config_free(a);
}

/* ------------------------------------------------------------------------ */
/* Changes */

/* The edits of the brief at once: add a gateway, remove a route, change a
 * route's pattern, reorder a policy's usages, change the global codes. */
static void test_edits(void **state)
{
	struct rt_config *a = load_seed(), *b = load_seed();

	size_t ng = b->n_gateways;
	struct rt_cfg_gateway *gws = rt_arena_calloc(b->arena, ng + 1, sizeof(*gws));
	assert_non_null(gws);
	memcpy(gws, b->gateways, ng * sizeof(*gws));
	rt_cfg_gateway_defaults(&gws[ng]);
	gws[ng].name = "Austin-GW1";
	gws[ng].address = "203.0.113.31";
	b->gateways = gws;
	b->n_gateways = ng + 1;

	long r = find_route(b, "Dallas Users Route");
	memmove(&b->routes[r], &b->routes[r + 1], (b->n_routes - (size_t)r - 1) * sizeof(*b->routes));
	b->n_routes--;

	b->routes[find_route(b, "Dallas Local Route")].pattern = "^\\+1(972|214|469|817)(\\d{7})$";

	struct rt_cfg_policy *p = &b->policies[find_policy(b, "Dallas Calling Policy")];
	assert_int_equal(p->n_usages, 2);
	const char **u = rt_arena_calloc(b->arena, 2, sizeof(*u));
	assert_non_null(u);
	u[0] = p->usages[1];
	u[1] = p->usages[0];
	p->usages = u;

	const char *codes[] = {"0", "408", "500-599"};
	char err[128];
	assert_int_equal(rt_codeset_parse(&b->failover_codes, codes, 3, err, sizeof(err)), 0);

	struct cfg_diff d;
	diff_expect(a, b, &d, 5);
	assert_true(d.globals_changed);
	assert_entry(&d, CFG_DIFF_GATEWAY, NAMES("Austin-GW1"), NONE, NONE);
	assert_entry(&d, CFG_DIFF_ROUTE, NONE, NAMES("Dallas Users Route"),
		     NAMES("Dallas Local Route"));
	assert_entry(&d, CFG_DIFF_POLICY, NONE, NONE, NAMES("Dallas Calling Policy"));
	cfg_diff_free(&d);
	assert_int_equal(cfg_diff_changes(&d), 0);

	/* The other way round, added and removed swap. */
	diff_expect(b, a, &d, 5);
	assert_entry(&d, CFG_DIFF_GATEWAY, NONE, NAMES("Austin-GW1"), NONE);
	assert_entry(&d, CFG_DIFF_ROUTE, NAMES("Dallas Users Route"), NONE,
		     NAMES("Dallas Local Route"));
	cfg_diff_free(&d);

	rt_config_free(b);
	rt_config_free(a);
}

/* Lists keep config order: added and changed as in b, removed as in a. */
static void test_list_order(void **state)
{
	struct rt_config *a = load_seed(), *b = load_seed();
	/* b: every route and two usages renamed: all added and removed. */
	b->routes[0].name = "Z";
	b->routes[1].name = "Y";
	b->routes[2].name = "X";
	b->routes[3].name = "W";
	b->usages[3].name = "B";
	b->usages[0].name = "A";
	struct cfg_diff d;
	diff_expect(a, b, &d, 12);
	assert_entry(&d, CFG_DIFF_ROUTE, NAMES("Z", "Y", "X", "W"),
		     NAMES("Redmond Local Route", "Dallas Local Route", "Universal Route",
			   "Dallas Users Route"),
		     NONE);
	assert_entry(&d, CFG_DIFF_USAGE, NAMES("A", "B"), NAMES("Local", "DallasUsers"), NONE);
	cfg_diff_free(&d);
	rt_config_free(b);
	rt_config_free(a);
}

/* Nothing running: everything is added, in config order. */
static void test_from_nothing(void **state)
{
	struct rt_config *b = load_seed();
	struct cfg_diff d;
	diff_expect(NULL, b, &d, 3 + 3 + 4 + 4 + 3 + 1);
	assert_true(d.globals_changed);
	assert_entry(&d, CFG_DIFF_GATEWAY, NAMES("Red-GW1", "Red-GW2", "Dallas-GW1"), NONE, NONE);
	assert_entry(&d, CFG_DIFF_TRUNK, NAMES("Trunk1", "Trunk2", "Trunk3"), NONE, NONE);
	assert_entry(&d, CFG_DIFF_USAGE,
		     NAMES("Local", "RedmondLocal", "GlobalPSTNHopoff", "DallasUsers"), NONE, NONE);
	assert_entry(&d, CFG_DIFF_ROUTE,
		     NAMES("Redmond Local Route", "Dallas Local Route", "Universal Route",
			   "Dallas Users Route"),
		     NONE, NONE);
	assert_entry(&d, CFG_DIFF_POLICY,
		     NAMES("Default Calling Policy", "Redmond Local Policy",
			   "Dallas Calling Policy"),
		     NONE, NONE);
	assert_entry(&d, CFG_DIFF_ASSIGNMENT, NONE, NONE, NONE);
	assert_entry(&d, CFG_DIFF_DIAL_PLAN, NONE, NONE, NONE);
	cfg_diff_free(&d);

	struct rt_config *full = load_yaml(full_yaml, "full.yaml");
	diff_expect(NULL, full, &d, 3 + 2 + 2 + 3 + 2 + 3 + 2 + 1);
	assert_entry(&d, CFG_DIFF_ASSIGNMENT,
		     NAMES("^\\+1425 -> P1", "^\\+1206 -> P1", "^\\+1972 -> P2"), NONE, NONE);
	assert_entry(&d, CFG_DIFF_DIAL_PLAN, NAMES("DP1", "DP2"), NONE, NONE);
	cfg_diff_free(&d);

	rt_config_free(full);
	rt_config_free(b);
}

/* One edit of one field of full_yaml's config b: exactly that object. */
struct field_case {
	const char *what;
	void (*edit)(struct rt_config *b);
	enum cfg_diff_kind kind;
	const char *name;
};

static struct rt_cfg_rule *copy_rules(struct rt_config *b, const struct rt_cfg_rule *r, size_t n)
{
	struct rt_cfg_rule *c = rt_arena_calloc(b->arena, n, sizeof(*c));
	assert_non_null(c);
	memcpy(c, r, n * sizeof(*c));
	return c;
}

static void gw_address(struct rt_config *b)
{
	b->gateways[0].address = "192.0.2.100";
}
static void gw_port(struct rt_config *b)
{
	b->gateways[1].port = 5080;
}
static void gw_transport(struct rt_config *b)
{
	b->gateways[2].transport = RT_TRANSPORT_TCP;
}
static void gw_site(struct rt_config *b)
{
	b->gateways[2].site = "B";
}
static void gw_priority(struct rt_config *b)
{
	b->gateways[0].priority = 2;
}
static void gw_weight(struct rt_config *b)
{
	b->gateways[1].weight = 71;
}
static void gw_codes(struct rt_config *b)
{
	b->gateways[0].failover_codes.bits[503 / 64] ^= 1ull << (503 % 64);
}
/* An empty own set (GW2) is not the same as none (follow the global). */
static void gw_codes_own(struct rt_config *b)
{
	b->gateways[1].has_failover_codes = false;
}
static void trunk_gateway(struct rt_config *b)
{
	b->trunks[1].gateway = "GW3";
}
static void trunk_called(struct rt_config *b)
{
	struct rt_cfg_trunk *t = &b->trunks[0];
	t->called = copy_rules(b, t->called, t->n_called);
	t->called[1].replace = "00$1";
}
static void trunk_called_order(struct rt_config *b)
{
	struct rt_cfg_trunk *t = &b->trunks[0];
	t->called = copy_rules(b, t->called, t->n_called);
	struct rt_cfg_rule r = t->called[0];
	t->called[0] = t->called[1];
	t->called[1] = r;
}
static void trunk_calling(struct rt_config *b)
{
	b->trunks[0].n_calling = 0;
}
static void route_priority(struct rt_config *b)
{
	b->routes[0].priority = 1;
}
static void route_fallback(struct rt_config *b)
{
	b->routes[1].fallback = NULL;
}
static void route_trunk_order(struct rt_config *b)
{
	const char **t = rt_arena_calloc(b->arena, 2, sizeof(*t));
	assert_non_null(t);
	t[0] = "T2";
	t[1] = "T1";
	b->routes[0].trunks = t;
}
static void route_usages(struct rt_config *b)
{
	b->routes[0].n_usages = 1;
}
static void policy_dial_plan(struct rt_config *b)
{
	b->policies[0].dial_plan = "DP2";
}
static void policy_default(struct rt_config *b)
{
	b->policies[1].is_default = true;
}
static void dp_default(struct rt_config *b)
{
	b->dial_plans[1].is_default = true;
}
static void dp_rule(struct rt_config *b)
{
	struct rt_cfg_dial_plan *p = &b->dial_plans[0];
	p->rules = copy_rules(b, p->rules, p->n_rules);
	p->rules[0].match = "^(\\d{5})$";
}
static void dp_rule_added(struct rt_config *b)
{
	b->dial_plans[1].rules = b->dial_plans[0].rules;
	b->dial_plans[1].n_rules = 1;
}

static const struct field_case field_cases[] = {
	{"gateway address", gw_address, CFG_DIFF_GATEWAY, "GW1"},
	{"gateway port", gw_port, CFG_DIFF_GATEWAY, "GW2"},
	{"gateway transport", gw_transport, CFG_DIFF_GATEWAY, "GW3"},
	{"gateway site", gw_site, CFG_DIFF_GATEWAY, "GW3"},
	{"gateway priority", gw_priority, CFG_DIFF_GATEWAY, "GW1"},
	{"gateway weight", gw_weight, CFG_DIFF_GATEWAY, "GW2"},
	{"gateway failover codes", gw_codes, CFG_DIFF_GATEWAY, "GW1"},
	{"gateway own failover codes", gw_codes_own, CFG_DIFF_GATEWAY, "GW2"},
	{"trunk gateway", trunk_gateway, CFG_DIFF_TRUNK, "T2"},
	{"trunk called rule", trunk_called, CFG_DIFF_TRUNK, "T1"},
	{"trunk called rule order", trunk_called_order, CFG_DIFF_TRUNK, "T1"},
	{"trunk calling rules", trunk_calling, CFG_DIFF_TRUNK, "T1"},
	{"route priority", route_priority, CFG_DIFF_ROUTE, "R1"},
	{"route fallback", route_fallback, CFG_DIFF_ROUTE, "R2"},
	{"route trunk order", route_trunk_order, CFG_DIFF_ROUTE, "R1"},
	{"route usages", route_usages, CFG_DIFF_ROUTE, "R1"},
	{"policy dial plan", policy_dial_plan, CFG_DIFF_POLICY, "P1"},
	{"policy default", policy_default, CFG_DIFF_POLICY, "P2"},
	{"dial plan default", dp_default, CFG_DIFF_DIAL_PLAN, "DP2"},
	{"dial plan rule", dp_rule, CFG_DIFF_DIAL_PLAN, "DP1"},
	{"dial plan rule added", dp_rule_added, CFG_DIFF_DIAL_PLAN, "DP2"},
};

static void test_each_field(void **state)
{
	struct rt_config *a = load_yaml(full_yaml, "full.yaml");
	for (size_t i = 0; i < sizeof(field_cases) / sizeof(field_cases[0]); i++) {
		const struct field_case *fc = &field_cases[i];
		struct rt_config *b = load_yaml(full_yaml, "full.yaml");
		fprintf(stderr, "  %s\n", fc->what);
		fc->edit(b);
		expect_one_changed(a, b, fc->kind, fc->name);
		rt_config_free(b);
	}
	rt_config_free(a);
}

static void test_globals(void **state)
{
	struct rt_config *a = load_yaml(full_yaml, "full.yaml");
	struct rt_config *b = load_yaml(full_yaml, "full.yaml");
	struct cfg_diff d;

	b->sip.max_contacts = 3;
	diff_expect(a, b, &d, 1);
	assert_true(d.globals_changed);
	cfg_diff_free(&d);
	assert_false(d.globals_changed);

	b->sip.max_contacts = a->sip.max_contacts;
	b->sip.retry_after = 60;
	diff_expect(a, b, &d, 1);
	assert_true(d.globals_changed);
	cfg_diff_free(&d);

	b->sip.retry_after = a->sip.retry_after;
	b->failover_src.line += 10;
	expect_no_change(a, b);

	rt_config_free(b);
	rt_config_free(a);
}

/* ------------------------------------------------------------------------ */
/* Order */

/* Gateways, trunks, usages, policies and dial plans are looked up by name:
 * their place in the file means nothing. */
static void test_moves_are_not_changes(void **state)
{
	struct rt_config *a = load_yaml(full_yaml, "full.yaml");
	struct rt_config *b = load_yaml(full_yaml, "full.yaml");
	struct rt_cfg_gateway g = b->gateways[0];
	b->gateways[0] = b->gateways[2];
	b->gateways[2] = g;
	struct rt_cfg_trunk t = b->trunks[0];
	b->trunks[0] = b->trunks[1];
	b->trunks[1] = t;
	struct rt_cfg_usage u = b->usages[0];
	b->usages[0] = b->usages[1];
	b->usages[1] = u;
	struct rt_cfg_policy p = b->policies[0];
	b->policies[0] = b->policies[1];
	b->policies[1] = p;
	struct rt_cfg_dial_plan dp = b->dial_plans[0];
	b->dial_plans[0] = b->dial_plans[1];
	b->dial_plans[1] = dp;
	/* R2 and R3 share no usage: they may pass each other. */
	struct rt_cfg_route r = b->routes[1];
	b->routes[1] = b->routes[2];
	b->routes[2] = r;
	expect_no_change(a, b);
	rt_config_free(b);
	rt_config_free(a);
}

/* The first matching assignment wins, so moving one is a change; only the
 * one that moved is reported, and additions shift nothing. */
static void test_assignment_order(void **state)
{
	struct rt_config *a = load_yaml(full_yaml, "full.yaml");
	struct rt_config *b = load_yaml(full_yaml, "full.yaml");
	struct cfg_diff d;

	struct rt_cfg_assignment *as = b->assignments;
	struct rt_cfg_assignment last = as[2];
	as[2] = as[1];
	as[1] = as[0];
	as[0] = last;
	expect_one_changed(a, b, CFG_DIFF_ASSIGNMENT, "^\\+1972 -> P2");

	/* b: the original order with a new first one and a repeat of an old
	 * one at the end (repeats pair in order: the repeat is the new one). */
	struct rt_cfg_assignment *n = rt_arena_calloc(b->arena, 5, sizeof(*n));
	assert_non_null(n);
	n[0].pattern = "^\\+44";
	n[0].policy = "P2";
	memcpy(&n[1], a->assignments, 3 * sizeof(*n));
	n[4] = a->assignments[0];
	b->assignments = n;
	b->n_assignments = 5;
	diff_expect(a, b, &d, 2);
	assert_entry(&d, CFG_DIFF_ASSIGNMENT, NAMES("^\\+44 -> P2", "^\\+1425 -> P1"), NONE, NONE);
	cfg_diff_free(&d);

	/* A different policy for one pattern is another assignment. */
	n[4].policy = "P2";
	n[3].policy = "P1";
	diff_expect(a, b, &d, 4);
	assert_entry(&d, CFG_DIFF_ASSIGNMENT,
		     NAMES("^\\+44 -> P2", "^\\+1972 -> P1", "^\\+1425 -> P2"),
		     NAMES("^\\+1972 -> P2"), NONE);
	cfg_diff_free(&d);

	rt_config_free(b);
	rt_config_free(a);
}

/* Routes of one priority carrying one usage are walked in config order:
 * swapping two that share a usage is a change (of the one that moved),
 * across priorities or usages it is not. */
static void test_route_order(void **state)
{
	struct rt_config *a = load_seed(), *b = load_seed();
	/* Redmond Local and Dallas Local both carry Local, priority 0. */
	struct rt_cfg_route r = b->routes[0];
	b->routes[0] = b->routes[1];
	b->routes[1] = r;
	expect_one_changed(a, b, CFG_DIFF_ROUTE, "Dallas Local Route");

	/* With distinct priorities the file order no longer decides. */
	a->routes[0].priority = b->routes[1].priority = 1;
	expect_no_change(a, b);
	rt_config_free(b);

	/* Universal and Dallas Users share no usage. */
	b = load_seed();
	a->routes[0].priority = 0;
	r = b->routes[2];
	b->routes[2] = b->routes[3];
	b->routes[3] = r;
	expect_no_change(a, b);
	rt_config_free(b);

	/* A new route first of all moves nobody. */
	b = load_seed();
	struct rt_cfg_route *rs = rt_arena_calloc(b->arena, b->n_routes + 1, sizeof(*rs));
	assert_non_null(rs);
	memcpy(&rs[1], b->routes, b->n_routes * sizeof(*rs));
	rs[0] = b->routes[2];
	rs[0].name = "New Route";
	b->routes = rs;
	b->n_routes++;
	struct cfg_diff d;
	diff_expect(a, b, &d, 1);
	assert_entry(&d, CFG_DIFF_ROUTE, NAMES("New Route"), NONE, NONE);
	cfg_diff_free(&d);
	rt_config_free(b);

	rt_config_free(a);
}

/* ------------------------------------------------------------------------ */
/* Scale */

/* n routes R0..R(n-1) over two usages, built in code. */
static struct rt_config *many_routes(size_t n)
{
	struct rt_config *c = rt_config_new("many");
	assert_non_null(c);
	static const char *usages[] = {"U0", "U1"};
	c->usages = rt_arena_calloc(c->arena, 2, sizeof(*c->usages));
	c->routes = rt_arena_calloc(c->arena, n, sizeof(*c->routes));
	assert_non_null(c->usages);
	assert_non_null(c->routes);
	c->usages[0].name = usages[0];
	c->usages[1].name = usages[1];
	c->n_usages = 2;
	for (size_t i = 0; i < n; i++) {
		struct rt_cfg_route *r = &c->routes[i];
		r->name = rt_arena_printf(c->arena, "R%zu", i);
		r->pattern = rt_arena_printf(c->arena, "^\\+1%zu", i);
		assert_non_null(r->name);
		assert_non_null(r->pattern);
		r->usages = &usages[i % 2];
		r->n_usages = 1;
		r->priority = (uint32_t)(i % 7);
	}
	c->n_routes = n;
	return c;
}

/* Pairing is by hash, not pairwise: 300k routes against 300k routes with
 * one edit takes a moment, not hours. */
static void test_many_routes(void **state)
{
	const size_t n = 300000;
	struct rt_config *a = many_routes(n), *b = many_routes(n);
	b->routes[n / 2].pattern = "^\\+44";
	b->routes[n - 1].name = "Rlast";

	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct cfg_diff d;
	diff_expect(a, b, &d, 3);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	fprintf(stderr, "  %zu routes diffed in %.3f s\n", n, s);
	char mid[32];
	snprintf(mid, sizeof(mid), "R%zu", n / 2);
	char last[32];
	snprintf(last, sizeof(last), "R%zu", n - 1);
	assert_entry(&d, CFG_DIFF_ROUTE, NAMES("Rlast"), NAMES(last), NAMES(mid));
	cfg_diff_free(&d);
	rt_config_free(b);
	rt_config_free(a);
}

static void test_kind_names(void **state)
{
	static const char *const want[CFG_DIFF_KINDS] = {
		"gateway", "trunk", "usage", "route", "policy", "assignment", "dial_plan",
	};
	for (int k = 0; k < CFG_DIFF_KINDS; k++)
		assert_string_equal(cfg_diff_kind_name(k), want[k]);
	assert_string_equal(cfg_diff_kind_name(CFG_DIFF_KINDS), "?");
	/* Freeing twice (or a zeroed diff) is harmless. */
	struct cfg_diff d;
	memset(&d, 0, sizeof(d));
	cfg_diff_free(&d);
	cfg_diff_free(&d);
	assert_int_equal(cfg_diff_changes(&d), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identical),
		cmocka_unit_test(test_lines_shifted),
		cmocka_unit_test(test_proto_round_trip),
		cmocka_unit_test(test_edits),
		cmocka_unit_test(test_list_order),
		cmocka_unit_test(test_from_nothing),
		cmocka_unit_test(test_each_field),
		cmocka_unit_test(test_globals),
		cmocka_unit_test(test_moves_are_not_changes),
		cmocka_unit_test(test_assignment_order),
		cmocka_unit_test(test_route_order),
		cmocka_unit_test(test_many_routes),
		cmocka_unit_test(test_kind_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
