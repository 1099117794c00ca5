/*
 * cfg_patch: a route patch gives the config a whole-config load of the
 * edited file would, names every problem with file and line, leaves the
 * running config alone, and copies a carrier-size table quickly.
 */
#include <errno.h>
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
#include "cfg_patch.h"
#include "cfg_proto.h"
#include "cfg_yaml.h"
#include "rt_snapshot.h"

#ifndef CFG_EXAMPLES_DIR
#define CFG_EXAMPLES_DIR "examples"
#endif
#define SEED CFG_EXAMPLES_DIR "/seed-failover.yaml"

/* ------------------------------------------------------------------------ */
/* Helpers */

static struct rt_config *load_seed(void)
{
	struct rt_diag d;
	rt_diag_init(&d);
	struct rt_config *cfg = cfg_yaml_load_file(SEED, &d);
	if (!cfg)
		rt_diag_print(&d, stderr);
	assert_non_null(cfg);
	rt_diag_clear(&d);
	return cfg;
}

static struct rt_config *load_patch(const char *text, const char *name)
{
	struct rt_diag d;
	rt_diag_init(&d);
	struct rt_config *cfg = cfg_patch_load_buffer(text, strlen(text), name, &d);
	if (!cfg)
		rt_diag_print(&d, stderr);
	assert_non_null(cfg);
	rt_diag_clear(&d);
	return cfg;
}

static struct rt_config *proto_round_trip(const struct rt_config *cfg)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	assert_int_equal(cfg_proto_pack(cfg, &buf, &len), 0);
	struct rt_diag d;
	rt_diag_init(&d);
	struct rt_config *back = cfg_proto_unpack(buf, len, &d);
	assert_non_null(back);
	rt_diag_clear(&d);
	free(buf);
	return back;
}

#define NAMES(...) ((const char *const[]){__VA_ARGS__, NULL})
#define NONE NULL

static void assert_names(const struct rt_config *c, const char *const *want)
{
	size_t n = 0;
	while (want && want[n])
		n++;
	if (c->n_routes != n)
		for (size_t i = 0; i < c->n_routes; i++)
			fprintf(stderr, "  route %zu: %s\n", i, c->routes[i].name);
	assert_int_equal(c->n_routes, n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(c->routes[i].name, want[i]);
}

static void assert_list(const struct cfg_diff_list *l, const char *const *names)
{
	size_t n = 0;
	while (names && names[n])
		n++;
	if (l->n != n)
		for (size_t i = 0; i < l->n; i++)
			fprintf(stderr, "  got '%s'\n", l->names[i]);
	assert_int_equal(l->n, n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(l->names[i], names[i]);
}

static void assert_same_diff(const struct cfg_diff *x, const struct cfg_diff *y)
{
	assert_int_equal(x->globals_changed, y->globals_changed);
	for (int k = 0; k < CFG_DIFF_KINDS; k++) {
		const struct cfg_diff_entry *a = &x->kinds[k], *b = &y->kinds[k];
		assert_int_equal(a->added.n, b->added.n);
		assert_int_equal(a->removed.n, b->removed.n);
		assert_int_equal(a->changed.n, b->changed.n);
		for (size_t i = 0; i < a->added.n; i++)
			assert_string_equal(a->added.names[i], b->added.names[i]);
		for (size_t i = 0; i < a->removed.n; i++)
			assert_string_equal(a->removed.names[i], b->removed.names[i]);
		for (size_t i = 0; i < a->changed.n; i++)
			assert_string_equal(a->changed.names[i], b->changed.names[i]);
	}
}

/* Apply, and check what cfg_patch_diff says against cfg_diff of the result. */
static struct rt_config *apply_ok(const struct rt_config *cur, const struct rt_config *up,
				  const char *const *rm, size_t n_rm)
{
	struct rt_diag d;
	rt_diag_init(&d);
	struct rt_config *out = cfg_patch_apply(cur, up, rm, n_rm, &d);
	if (!out)
		rt_diag_print(&d, stderr);
	assert_non_null(out);
	assert_int_equal(d.n, 0);
	struct cfg_diff want, got;
	assert_int_equal(cfg_diff(cur, out, &want), 0);
	assert_int_equal(cfg_patch_diff(cur, NULL, up, rm, n_rm, &got), 0);
	assert_same_diff(&got, &want);
	cfg_diff_free(&want);
	cfg_diff_free(&got);
	return out;
}

/* Refused, with exactly n messages, each containing the matching needle. */
static void apply_fails(const struct rt_config *cur, const struct rt_config *up,
			const char *const *rm, size_t n_rm, const char *const *needles)
{
	struct rt_diag d;
	rt_diag_init(&d);
	assert_null(cfg_patch_apply(cur, up, rm, n_rm, &d));
	size_t n = 0;
	while (needles[n])
		n++;
	if (d.n != n)
		rt_diag_print(&d, stderr);
	assert_int_equal(d.n, n);
	for (size_t i = 0; i < n; i++) {
		if (!strstr(d.msgs[i], needles[i]))
			fail_msg("message '%s' lacks '%s'", d.msgs[i], needles[i]);
	}
	rt_diag_clear(&d);
	/* The same through the check alone, with a kept index. */
	struct cfg_route_ix *ix = cfg_route_ix_new(cur);
	assert_non_null(ix);
	assert_int_equal(cfg_patch_check(cur, ix, up, rm, n_rm, &d), -EINVAL);
	assert_int_equal(d.n, n);
	rt_diag_clear(&d);
	cfg_route_ix_free(ix);
}

static struct rt_snapshot *compile(const struct rt_config *cfg)
{
	struct rt_diag d;
	rt_diag_init(&d);
	struct rt_snapshot *s = rt_snapshot_build(cfg, 1, &d);
	if (!s)
		rt_diag_print(&d, stderr);
	assert_non_null(s);
	rt_diag_clear(&d);
	return s;
}

/* ------------------------------------------------------------------------ */
/* Applying */

static void test_replace_in_place(void **state)
{
	struct rt_config *cur = load_seed();
	struct rt_config *up = load_patch("routes:\n"
					  "  - name: Dallas Local Route\n"
					  "    pattern: '^\\+1(972|214|469|817)(\\d{7})$'\n"
					  "    usages: [Local]\n"
					  "    trunks: [Trunk3, Trunk1]\n"
					  "    priority: 3\n",
					  "p.yaml");
	struct rt_config *out = apply_ok(cur, up, NULL, 0);
	assert_names(out, NAMES("Redmond Local Route", "Dallas Local Route", "Universal Route",
				"Dallas Users Route"));
	const struct rt_cfg_route *r = &out->routes[1];
	assert_string_equal(r->pattern, "^\\+1(972|214|469|817)(\\d{7})$");
	assert_int_equal(r->n_trunks, 2);
	assert_string_equal(r->trunks[1], "Trunk1");
	assert_int_equal(r->priority, 3);
	/* The patched route says where it was written; the others keep theirs. */
	assert_string_equal(r->src.file, "p.yaml");
	assert_int_equal(r->src.line, 2);
	assert_string_equal(out->routes[0].src.file, SEED);
	assert_int_equal(out->routes[0].src.line, cur->routes[0].src.line);
	assert_string_equal(out->source, SEED);
	/* cur is untouched. */
	assert_string_equal(cur->routes[1].pattern, "^\\+1(972|214|469)(\\d{7})$");
	assert_int_equal(cur->routes[1].n_trunks, 1);
	/* Same gateways, trunks, policies: only the route differs. */
	struct cfg_diff d;
	assert_int_equal(cfg_diff(cur, out, &d), 0);
	assert_int_equal(cfg_diff_changes(&d), 1);
	assert_list(&d.kinds[CFG_DIFF_ROUTE].changed, NAMES("Dallas Local Route"));
	cfg_diff_free(&d);
	rt_config_free(out);
	rt_config_free(up);
	rt_config_free(cur);
}

static void test_append_and_remove(void **state)
{
	struct rt_config *cur = load_seed();
	struct rt_config *up = load_patch("routes:\n"
					  "  - { name: Zeta, pattern: '^\\+44', usages: [Local],"
					  " trunks: [Trunk1] }\n"
					  "  - { name: Alpha, pattern: '^\\+33', usages: [Local],"
					  " trunks: [Trunk2], fallback: '+14255550100' }\n"
					  "  - name: Universal Route\n"
					  "    pattern: '^\\+?(\\d*)$'\n"
					  "    usages: [GlobalPSTNHopoff]\n"
					  "    trunks: [Trunk1, Trunk2, Trunk3]\n",
					  "p.yaml");
	/* New names after every existing route, in the order given; the
	 * unchanged restatement of Universal Route is no change. */
	struct rt_config *out =
		apply_ok(cur, up, NAMES("Dallas Users Route", "Redmond Local Route"), 2);
	assert_names(out, NAMES("Dallas Local Route", "Universal Route", "Zeta", "Alpha"));
	assert_string_equal(out->routes[3].fallback, "+14255550100");
	struct cfg_diff d;
	assert_int_equal(cfg_patch_diff(cur, NULL, up, NAMES("Dallas Users Route",
							      "Redmond Local Route"),
					2, &d),
			 0);
	assert_list(&d.kinds[CFG_DIFF_ROUTE].added, NAMES("Zeta", "Alpha"));
	/* Removed in cur's order, whatever order they were named in. */
	assert_list(&d.kinds[CFG_DIFF_ROUTE].removed,
		    NAMES("Redmond Local Route", "Dallas Users Route"));
	assert_list(&d.kinds[CFG_DIFF_ROUTE].changed, NONE);
	assert_int_equal(cfg_diff_changes(&d), 4);
	cfg_diff_free(&d);
	/* The result compiles, like the seed does. */
	rt_snapshot_free(compile(out));
	rt_config_free(out);

	/* Removals only, no upsert config at all. */
	out = apply_ok(cur, NULL, NAMES("Universal Route"), 1);
	assert_names(out, NAMES("Redmond Local Route", "Dallas Local Route", "Dallas Users Route"));
	rt_config_free(out);

	/* An empty patch is the same config. */
	out = apply_ok(cur, NULL, NULL, 0);
	struct cfg_diff e;
	assert_int_equal(cfg_diff(cur, out, &e), 0);
	assert_int_equal(cfg_diff_changes(&e), 0);
	cfg_diff_free(&e);
	rt_config_free(out);
	rt_config_free(up);
	rt_config_free(cur);
}

/* Changed routes are listed in cur's order, whatever the patch's order. */
static void test_diff_order(void **state)
{
	struct rt_config *cur = load_seed();
	struct rt_config *up = load_patch("routes:\n"
					  "  - { name: Dallas Users Route, pattern: '^\\+1',"
					  " usages: [DallasUsers], trunks: [Trunk3] }\n"
					  "  - { name: New, pattern: '^\\+2', usages: [Local] }\n"
					  "  - { name: Redmond Local Route, pattern: '^\\+1425',"
					  " usages: [Local, RedmondLocal], trunks: [Trunk1, Trunk2] }\n",
					  "p.yaml");
	struct rt_config *out = apply_ok(cur, up, NULL, 0);
	struct cfg_diff d;
	assert_int_equal(cfg_patch_diff(cur, NULL, up, NULL, 0, &d), 0);
	assert_list(&d.kinds[CFG_DIFF_ROUTE].changed,
		    NAMES("Redmond Local Route", "Dallas Users Route"));
	assert_list(&d.kinds[CFG_DIFF_ROUTE].added, NAMES("New"));
	cfg_diff_free(&d);
	rt_config_free(out);
	rt_config_free(up);
	rt_config_free(cur);
}

/* The new config owns everything it points to: cur and the patch can go,
 * and it still compiles to what the edited file compiles to. */
static void test_owns_its_memory(void **state)
{
	struct rt_config *cur = load_seed();
	struct rt_config *up = load_patch("routes:\n"
					  "  - { name: Extra, pattern: '^\\+49(\\d+)$',"
					  " usages: [Local], trunks: [Trunk2], priority: 1 }\n",
					  "p.yaml");
	/* cur as the daemon holds it: from protobuf, with per-object files. */
	struct rt_config *cur2 = proto_round_trip(cur);
	struct rt_config *out = apply_ok(cur2, up, NAMES("Dallas Local Route"), 1);
	struct rt_diag dg;
	rt_diag_init(&dg);
	struct rt_config *want = cfg_patch_apply(cur, up, NAMES("Dallas Local Route"), 1, &dg);
	assert_non_null(want);
	rt_config_free(cur2);
	rt_config_free(up);
	/* Scribble over what was freed would show up here under ASan; without
	 * it the comparison still reads every string of out. */
	struct cfg_diff d;
	assert_int_equal(cfg_diff(want, out, &d), 0);
	assert_int_equal(cfg_diff_changes(&d), 0);
	cfg_diff_free(&d);
	assert_string_equal(out->routes[out->n_routes - 1].src.file, "p.yaml");
	rt_snapshot_free(compile(out));
	/* And it survives the trip to the state file. */
	struct rt_config *back = proto_round_trip(out);
	assert_int_equal(cfg_diff(out, back, &d), 0);
	assert_int_equal(cfg_diff_changes(&d), 0);
	cfg_diff_free(&d);
	rt_config_free(back);
	rt_config_free(out);
	rt_config_free(want);
	rt_config_free(cur);
}

/* Everything a full config has is copied: gateways with their codes,
 * trunk rules, policies, assignments, dial plans, globals. */
static const char full_yaml[] =
	"failover: { codes: [300-699, !486, !600, !603] }\n"
	"sip: { max_contacts: 2, retry_after: 120 }\n"
	"gateways:\n"
	"  - { name: GW1, address: 192.0.2.1, port: 5061, transport: tls, site: A,\n"
	"      priority: 1, weight: 0, failover_codes: [0, 408, 500-599, !503] }\n"
	"  - { name: GW2, address: gw2.example.net, transport: tcp, weight: 70 }\n"
	"trunks:\n"
	"  - name: T1\n"
	"    gateway: GW1\n"
	"    called:\n"
	"      - { match: '^\\+1(\\d{10})$', replace: '$1' }\n"
	"    calling: [{ match: '^(.*)$', replace: '' }]\n"
	"  - { name: T2, gateway: GW2 }\n"
	"usages: [Local, Intl]\n"
	"routes:\n"
	"  - { name: R1, pattern: '^\\+1', usages: [Local, Intl], trunks: [T1, T2] }\n"
	"  - { name: R2, pattern: '^\\+', usages: [Intl], trunks: [T2] }\n"
	"policies:\n"
	"  - { name: P1, usages: [Local, Intl], dial_plan: DP1, default: true }\n"
	"  - { name: P2, usages: [Intl] }\n"
	"assignments:\n"
	"  - { calling: '^\\+1425', policy: P2 }\n"
	"dial_plans:\n"
	"  - name: DP1\n"
	"    rules:\n"
	"      - { match: '^(\\d{4})$', replace: '+1425555$1' }\n";

static void test_copies_every_section(void **state)
{
	struct rt_diag d;
	rt_diag_init(&d);
	struct rt_config *cur = cfg_yaml_load_buffer(full_yaml, strlen(full_yaml), "full.yaml", &d);
	assert_non_null(cur);
	struct rt_config *out = apply_ok(cur, NULL, NAMES("R2"), 1);
	struct cfg_diff df;
	assert_int_equal(cfg_diff(cur, out, &df), 0);
	assert_int_equal(cfg_diff_changes(&df), 1);
	assert_false(df.globals_changed);
	cfg_diff_free(&df);
	assert_int_equal(out->sip.max_contacts, 2);
	assert_true(out->gateways[0].has_failover_codes);
	assert_string_equal(out->trunks[0].called[0].replace, "$1");
	assert_ptr_not_equal(out->trunks[0].called[0].replace, cur->trunks[0].called[0].replace);
	assert_string_equal(out->policies[0].usages[1], "Intl");
	assert_ptr_not_equal(out->policies[0].usages, cur->policies[0].usages);
	assert_string_equal(out->dial_plans[0].rules[0].match, "^(\\d{4})$");
	assert_string_equal(out->assignments[0].policy, "P2");
	assert_int_equal(out->failover_src.line, 1);
	assert_string_equal(out->failover_src.file, "full.yaml");
	rt_snapshot_free(compile(out));
	rt_config_free(out);
	rt_config_free(cur);
}

/* ------------------------------------------------------------------------ */
/* Refusals */

static void test_name_errors(void **state)
{
	struct rt_config *cur = load_seed();
	struct rt_config *up = load_patch("routes:\n"
					  "  - { name: A, pattern: '^\\+1', usages: [Local] }\n"
					  "  - { name: Universal Route, pattern: '^\\+1', usages: [Local] }\n"
					  "  - { name: A, pattern: '^\\+2', usages: [Local] }\n",
					  "p.yaml");
	/* Every problem at once, each with file, line and route. */
	apply_fails(cur, up, NAMES("Nope", "Universal Route", "Dallas Users Route",
				   "Dallas Users Route"),
		    4,
		    NAMES("p.yaml:4: route 'A': given twice in one patch (also at line 2)",
			  "route 'Nope': cannot remove it: the running config has no such route",
			  "p.yaml:3: route 'Universal Route': both replaced and removed",
			  "route 'Dallas Users Route': removed twice"));
	apply_fails(cur, NULL, NAMES(""), 1, NAMES("empty name to remove"));
	/* cur untouched by refusals. */
	assert_names(cur, NAMES("Redmond Local Route", "Dallas Local Route", "Universal Route",
				"Dallas Users Route"));
	rt_config_free(up);
	rt_config_free(cur);
}

static void test_other_sections(void **state)
{
	struct rt_config *cur = load_seed();
	/* A whole config sent as a patch (protobuf: no file scan happens):
	 * each section named, at its first object's line. */
	struct rt_config *up = load_seed();
	apply_fails(cur, up, NULL, 0,
		    NAMES("seed-failover.yaml:4: a route patch holds routes only: 'failover'",
			  "seed-failover.yaml:8: a route patch holds routes only: 'gateways'",
			  "seed-failover.yaml:13: a route patch holds routes only: 'trunks'",
			  "seed-failover.yaml:17: a route patch holds routes only: 'usages'",
			  "seed-failover.yaml:38: a route patch holds routes only: 'policies'"));
	rt_config_free(up);
	struct rt_diag d;
	rt_diag_init(&d);
	up = cfg_yaml_load_buffer(full_yaml, strlen(full_yaml), "full.yaml", &d);
	assert_non_null(up);
	up->n_routes = 0;
	apply_fails(cur, up, NULL, 0,
		    NAMES("full.yaml:1: a route patch holds routes only: 'failover'",
			  "full.yaml: a route patch holds routes only: 'sip'",
			  "full.yaml:4: a route patch holds routes only: 'gateways'",
			  "full.yaml:8: a route patch holds routes only: 'trunks'",
			  "full.yaml:14: a route patch holds routes only: 'usages'",
			  "full.yaml:19: a route patch holds routes only: 'policies'",
			  "full.yaml:22: a route patch holds routes only: 'assignments'",
			  "full.yaml:24: a route patch holds routes only: 'dial_plans'"));
	/* Through protobuf the lines survive. */
	struct rt_config *pu = proto_round_trip(up);
	apply_fails(cur, pu, NULL, 0,
		    NAMES("full.yaml:1:", "full.yaml: a route", "full.yaml:4:", "full.yaml:8:",
			  "full.yaml:14:", "full.yaml:19:", "full.yaml:22:", "full.yaml:24:"));
	rt_config_free(pu);
	rt_config_free(up);
	rt_config_free(cur);
}

/* A patch file: only `routes:`; anything else named with its line. */
static void test_patch_file(void **state)
{
	struct rt_diag d;
	rt_diag_init(&d);
	const char bad[] = "# a patch\n"
			   "routes:\n"
			   "  - { name: A, pattern: '^\\+1', usages: [Local] }\n"
			   "gateways:\n"
			   "  - { name: G, address: 192.0.2.1 }\n"
			   "sip: {}\n"
			   "usages: []\n";
	assert_null(cfg_patch_load_buffer(bad, strlen(bad), "bad.yaml", &d));
	assert_int_equal(d.n, 3);
	assert_non_null(strstr(d.msgs[0], "bad.yaml:4: a route patch holds routes only: 'gateways'"));
	assert_non_null(strstr(d.msgs[1], "bad.yaml:6: a route patch holds routes only: 'sip'"));
	assert_non_null(strstr(d.msgs[2], "bad.yaml:7: a route patch holds routes only: 'usages'"));
	rt_diag_clear(&d);

	/* Syntax errors and bad route fields come from cfg_yaml, with lines. */
	const char typo[] = "routes:\n  - { name: A, patern: '^\\+1' }\n";
	assert_null(cfg_patch_load_buffer(typo, strlen(typo), "typo.yaml", &d));
	assert_true(d.n >= 1);
	assert_non_null(strstr(d.msgs[0], "typo.yaml:2:"));
	rt_diag_clear(&d);
	const char broken[] = "routes: [\n";
	assert_null(cfg_patch_load_buffer(broken, strlen(broken), "broken.yaml", &d));
	assert_true(d.n >= 1);
	assert_non_null(strstr(d.msgs[0], "broken.yaml:"));
	rt_diag_clear(&d);

	/* Empty file: an empty patch. */
	struct rt_config *e = load_patch("", "empty.yaml");
	assert_int_equal(e->n_routes, 0);
	rt_config_free(e);
	e = load_patch("routes: []\n", "empty2.yaml");
	assert_int_equal(e->n_routes, 0);
	rt_config_free(e);

	/* A missing file. */
	assert_null(cfg_patch_load_file("/nonexistent/patch.yaml", &d));
	assert_int_equal(d.n, 1);
	assert_non_null(strstr(d.msgs[0], "/nonexistent/patch.yaml"));
	rt_diag_clear(&d);
	struct rt_config *f = cfg_patch_load_file(SEED, &d);
	assert_null(f);
	assert_true(d.n >= 4);
	assert_non_null(strstr(d.msgs[0], "seed-failover.yaml:4: a route patch holds routes only: "
					  "'failover'"));
	rt_diag_clear(&d);
}

/* ------------------------------------------------------------------------ */
/* Size */

/* A carrier-style table as cfg_yaml would hold it: every string its own
 * arena copy, 3 of 200 trunks per route. */
static struct rt_config *carrier(size_t n)
{
	struct rt_config *c = rt_config_new("carrier.yaml");
	assert_non_null(c);
	c->usages = rt_arena_calloc(c->arena, 1, sizeof(*c->usages));
	c->routes = rt_arena_calloc(c->arena, n, sizeof(*c->routes));
	assert_non_null(c->routes);
	c->usages[0].name = "Carrier";
	c->n_usages = 1;
	for (size_t i = 0; i < n; i++) {
		struct rt_cfg_route *r = &c->routes[i];
		r->name = rt_arena_printf(c->arena, "R%07zu", i);
		r->pattern = rt_arena_printf(c->arena, "^\\+%07zu\\d*$", (i * 7919) % 10000000);
		r->usages = rt_arena_calloc(c->arena, 1, sizeof(*r->usages));
		r->trunks = rt_arena_calloc(c->arena, 3, sizeof(*r->trunks));
		assert_non_null(r->trunks);
		r->usages[0] = rt_arena_strdup(c->arena, "Carrier");
		for (size_t k = 0; k < 3; k++)
			r->trunks[k] = rt_arena_printf(c->arena, "TGW%04zu", (i * 3 + k * 61) % 200);
		r->n_usages = 1;
		r->n_trunks = 3;
		r->src = (struct rt_src){c->source, (uint32_t)(i + 10)};
	}
	c->n_routes = n;
	return c;
}

static double since(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* One route changed, one added, one removed in a big table: positions
 * hold, and the copy is quick. CFG_PATCH_ROUTES=1000000 measures a
 * carrier-1m table. */
static void test_big_table(void **state)
{
	const char *env = getenv("CFG_PATCH_ROUTES");
	size_t n = env ? strtoul(env, NULL, 10) : 200000;
	if (n < 10)
		n = 10;
	struct rt_config *cur = carrier(n);
	struct rt_config *up = load_patch("routes:\n"
					  "  - { name: R0000005, pattern: '^\\+4477\\d*$',"
					  " usages: [Carrier], trunks: [TGW0001] }\n"
					  "  - { name: Rnew, pattern: '^\\+4478\\d*$',"
					  " usages: [Carrier], trunks: [TGW0002] }\n",
					  "p.yaml");
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct cfg_route_ix *ix = cfg_route_ix_new(cur);
	double t_ix = since(&t0);
	assert_non_null(ix);
	struct rt_diag d;
	rt_diag_init(&d);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(cfg_patch_check(cur, ix, up, NAMES("R0000007"), 1, &d), 0);
	struct cfg_diff df;
	assert_int_equal(cfg_patch_diff(cur, ix, up, NAMES("R0000007"), 1, &df), 0);
	double t_check = since(&t0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct rt_config *out = cfg_patch_apply_ix(cur, ix, up, NAMES("R0000007"), 1, &d);
	double t_apply = since(&t0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct rt_config *out2 = cfg_patch_apply(cur, up, NAMES("R0000007"), 1, &d);
	double t_apply2 = since(&t0);
	assert_non_null(out);
	assert_non_null(out2);
	fprintf(stderr, "  %zu routes: index %.1f ms, check+diff %.3f ms, apply %.1f ms "
			"(%.1f ms indexing too)\n",
		n, t_ix * 1e3, t_check * 1e3, t_apply * 1e3, t_apply2 * 1e3);
	assert_int_equal(out->n_routes, n);
	assert_string_equal(out->routes[5].name, "R0000005");
	assert_string_equal(out->routes[5].pattern, "^\\+4477\\d*$");
	assert_string_equal(out->routes[6].name, "R0000006");
	assert_string_equal(out->routes[7].name, "R0000008");
	assert_string_equal(out->routes[n - 1].name, "Rnew");
	assert_string_equal(out->routes[n - 2].trunks[2], cur->routes[n - 1].trunks[2]);
	assert_list(&df.kinds[CFG_DIFF_ROUTE].added, NAMES("Rnew"));
	assert_list(&df.kinds[CFG_DIFF_ROUTE].changed, NAMES("R0000005"));
	assert_list(&df.kinds[CFG_DIFF_ROUTE].removed, NAMES("R0000007"));
	cfg_diff_free(&df);
	struct cfg_diff full;
	assert_int_equal(cfg_diff(out, out2, &full), 0);
	assert_int_equal(cfg_diff_changes(&full), 0);
	cfg_diff_free(&full);
	rt_config_free(out2);
	rt_config_free(out);
	cfg_route_ix_free(ix);
	rt_config_free(up);
	rt_config_free(cur);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replace_in_place),
		cmocka_unit_test(test_append_and_remove),
		cmocka_unit_test(test_diff_order),
		cmocka_unit_test(test_owns_its_memory),
		cmocka_unit_test(test_copies_every_section),
		cmocka_unit_test(test_name_errors),
		cmocka_unit_test(test_other_sections),
		cmocka_unit_test(test_patch_file),
		cmocka_unit_test(test_big_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
