/*
 * Incremental compile: rt_snapshot_patch(S, patch) must decide exactly as
 * rt_snapshot_build of the config with the patch applied (routes replaced
 * in place, new ones appended, removed ones dropped). A random route table
 * is patched step after step (replacing base routes, replacing routes an
 * earlier patch added, adding, removing, changing priorities so routes
 * move in the walk order), each step checked against a full build of the
 * same routes on random queries with random health: answers field by
 * field (route names rather than ids, which differ), the matched routes in
 * walk order, single and burst decisions. Older snapshots are freed before
 * or after the newer ones (reference counts). Errors are reported with the
 * route's line and leave nothing behind; a patch too large is declined.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cfg_yaml.h"
#include "rt_decide.h"
#include "rt_snapshot.h"
#include "test_rand.h"

struct route {
	char name[16];
	char pattern[48];
	char trunks[32];
	unsigned usage, priority;
	char fallback[40];
};

#define MAX_ROUTES 1200

struct table {
	struct route r[MAX_ROUTES];
	unsigned n;
	unsigned next_name;
};

static const char *HEADER =
	"gateways:\n"
	"  - { name: G0, address: 192.0.2.1, priority: 1, weight: 10, site: A }\n"
	"  - { name: G1, address: 192.0.2.2, priority: 1, weight: 30, site: A }\n"
	"  - { name: G2, address: 192.0.2.3, priority: 2, site: B }\n"
	"  - { name: G3, address: 192.0.2.4, priority: 0 }\n"
	"  - { name: G4, address: 192.0.2.5, priority: 3, weight: 0 }\n"
	"  - { name: G5, address: 2001:db8::5, priority: 1 }\n"
	"trunks:\n"
	"  - name: T0\n"
	"    gateway: G0\n"
	"    called: [ { match: '^\\+1(\\d+)$', replace: '1$1' } ]\n"
	"  - { name: T1, gateway: G1 }\n"
	"  - { name: T2, gateway: G2 }\n"
	"  - { name: T3, gateway: G3 }\n"
	"  - { name: T4, gateway: G4 }\n"
	"  - { name: T5, gateway: G5 }\n"
	"usages: [U0, U1, U2, U3, U4]\n"
	"policies:\n"
	"  - { name: All, usages: [U0, U1, U2, U3, U4], default: true }\n"
	"  - { name: Some, usages: [U3, U1] }\n"
	"  - { name: Rep, usages: [U1, U2, U1] }\n";

static void random_route(struct table *t, struct route *r, const char *name)
{
	snprintf(r->name, sizeof(r->name), "%s", name);
	/* Short prefixes repeat, so numbers match nested routes. */
	switch (rnd(6)) {
	case 0:
		snprintf(r->pattern, sizeof(r->pattern), "^\\+1%u(\\d{7})$", 200 + rnd(20));
		break;
	case 1: /* left to Hyperscan */
		snprintf(r->pattern, sizeof(r->pattern), "^\\+1%u\\d*;ext=\\d+$", rnd(30));
		break;
	default:
		snprintf(r->pattern, sizeof(r->pattern), "^\\+%u\\d*$", 1 + rnd(t->n < 50 ? 30 : 3000));
		break;
	}
	unsigned a = rnd(6), b = rnd(6);
	if (a == b || rnd(3) == 0)
		snprintf(r->trunks, sizeof(r->trunks), "[T%u]", a);
	else
		snprintf(r->trunks, sizeof(r->trunks), "[T%u, T%u]", a, b);
	r->usage = rnd(5);
	r->priority = rnd(4);
	r->fallback[0] = '\0';
	if (rnd(8) == 0)
		snprintf(r->fallback, sizeof(r->fallback), rnd(2) ? "sip:backup@192.0.2.99" : "+1%u", 200 + rnd(20));
}

static char *yaml_of(const struct route *r, unsigned n, bool header)
{
	size_t cap = 4096 + (size_t)n * 200, len = 0;
	char *y = malloc(cap);
	assert_non_null(y);
	if (header)
		len += (size_t)snprintf(y + len, cap - len, "%s", HEADER);
	len += (size_t)snprintf(y + len, cap - len, "routes:%s\n", n ? "" : " []");
	for (unsigned i = 0; i < n; i++) {
		len += (size_t)snprintf(y + len, cap - len,
				      "  - { name: %s, pattern: '%s', usages: [U%u], trunks: %s, "
				      "priority: %u%s%s%s }\n",
				      r[i].name, r[i].pattern, r[i].usage, r[i].trunks, r[i].priority,
				      r[i].fallback[0] ? ", fallback: '" : "", r[i].fallback,
				      r[i].fallback[0] ? "'" : "");
		assert_true(len < cap);
	}
	return y;
}

static struct rt_config *load(const char *yaml)
{
	struct rt_diag d;
	rt_diag_init(&d);
	struct rt_config *c = cfg_yaml_load_buffer(yaml, strlen(yaml), "patch.yaml", &d);
	if (!c)
		rt_diag_print(&d, stderr);
	assert_non_null(c);
	rt_diag_clear(&d);
	return c;
}

static struct rt_snapshot *full_build(const struct table *t, uint64_t gen)
{
	char *y = yaml_of(t->r, t->n, true);
	struct rt_config *c = load(y);
	free(y);
	struct rt_diag d;
	rt_diag_init(&d);
	struct rt_snapshot *s = rt_snapshot_build(c, gen, &d);
	if (!s)
		rt_diag_print(&d, stderr);
	assert_non_null(s);
	rt_diag_clear(&d);
	rt_config_free(c);
	return s;
}

static void same(const char *a, const char *b, const char *what, const char *num)
{
	if (a == b)
		return;
	if (!a || !b || strcmp(a, b))
		fail_msg("%s: %s differs: '%s' patched, '%s' full build", num, what,
			 a ? a : "(null)", b ? b : "(null)");
}

static void same_answer(const struct rt_answer *a, const struct rt_answer *b, const char *num)
{
	if (a->status != b->status || a->code != b->code)
		fail_msg("%s: %s/%u patched, %s/%u full build", num, rt_status_name(a->status),
			 a->code, rt_status_name(b->status), b->code);
	same(a->policy, b->policy, "policy", num);
	same(a->normalized, b->normalized, "normalized", num);
	if (a->n_dest != b->n_dest)
		fail_msg("%s: %u destinations patched, %u full build", num, a->n_dest, b->n_dest);
	for (uint32_t k = 0; k < a->n_dest; k++) {
		const struct rt_dest *x = &a->dest[k], *y = &b->dest[k];
		same(x->gateway, y->gateway, "gateway", num);
		same(x->route, y->route, "route", num);
		same(x->usage, y->usage, "usage", num);
		same(x->uri, y->uri, "uri", num);
		same(x->called, y->called, "called", num);
		assert_int_equal(x->degraded, y->degraded);
		assert_int_equal(x->via_fallback, y->via_fallback);
		assert_int_equal(x->gateway_index, y->gateway_index);
	}
}

/* Both snapshots, many queries: the same answers, alone and in bursts, and
 * the same matched routes in the same (walk) order. */
static void compare(struct rt_snapshot *p, struct rt_snapshot *f)
{
	struct rt_scratch *sp = rt_scratch_new(p), *sf = rt_scratch_new(f);
	assert_non_null(sp);
	assert_non_null(sf);
	assert_int_equal(rt_snapshot_gateway_count(p), rt_snapshot_gateway_count(f));
	uint8_t gw[8] = {0}, site[4] = {0};
	struct rt_health_view hv = {gw, site};
	static const char *pols[] = {"", "All", "Some", "Rep"};
	static char nums[16][32];
	static struct rt_query qs[16];
	static struct rt_answer ap[16], af, ab[16];
	struct rt_answer *abp[16];
	const struct rt_query *qp[16];
	uint32_t ip[64], iff[64];
	for (unsigned round = 0; round < 150; round++) {
		for (unsigned g = 0; g < 6; g++)
			gw[g] = rnd(3) ? RT_HEALTH_UP : (uint8_t)rnd(RT_HEALTH_COUNT);
		for (unsigned k = 0; k < 16; k++) {
			unsigned pre = rnd(3) ? 1 + rnd(3000) : 1200 + rnd(20);
			if (rnd(10) == 0)
				snprintf(nums[k], sizeof(nums[k]), "+1%u%u;ext=%u", rnd(30), rnd(1000),
					 rnd(100));
			else
				snprintf(nums[k], sizeof(nums[k]), "+%u%u", pre, rnd(10000000));
			memset(&qs[k], 0, sizeof(qs[k]));
			qs[k].called = rt_str_c(nums[k]);
			qs[k].policy = rt_str_c(pols[rnd(4)]);
			qs[k].seed = rnd(100);
			if (rnd(4) == 0) {
				static const char *tg[] = {"G0", "G1", "G2", "G3"};
				qs[k].n_tried = 1;
				qs[k].tried[0].gateway = rt_str_c(tg[rnd(4)]);
				qs[k].tried[0].code = 503;
			}
			qp[k] = &qs[k];
			abp[k] = &ab[k];
			rt_decide(p, &hv, &qs[k], sp, &ap[k], NULL);
			rt_decide(f, &hv, &qs[k], sf, &af, NULL);
			same_answer(&ap[k], &af, nums[k]);

			long np = rt_match_routes(p, sp, nums[k], strlen(nums[k]), ip, 64);
			long nf = rt_match_routes(f, sf, nums[k], strlen(nums[k]), iff, 64);
			assert_int_equal(np, nf);
			for (long i = 0; i < np && i < 64; i++)
				same(rt_snapshot_route_name(p, ip[i]), rt_snapshot_route_name(f, iff[i]),
				     "matched route", nums[k]);
		}
		rt_scratch_stage_bursts(sp, round % 2);
		rt_decide_burst(p, &hv, qp, 16, sp, abp);
		for (unsigned k = 0; k < 16; k++)
			same_answer(&ab[k], &ap[k], nums[k]);
	}
	rt_scratch_free(sp);
	rt_scratch_free(sf);
}

static long find(const struct table *t, const char *name)
{
	for (unsigned i = 0; i < t->n; i++)
		if (!strcmp(t->r[i].name, name))
			return i;
	return -1;
}

static void patches_equal_full_builds(void **state)
{
	static struct table t;
	t.n = 0;
	for (; t.n < 600; t.n++) {
		char name[16];
		snprintf(name, sizeof(name), "r%u", t.n);
		random_route(&t, &t.r[t.n], name);
	}
	t.next_name = t.n;
	struct rt_snapshot *cur = full_build(&t, 1);
	struct rt_snapshot *older = NULL;
	for (unsigned step = 0; step < 30; step++) {
		/* The patch: a few routes replaced or added, a few removed. */
		static struct route up[8];
		unsigned nu = 1 + rnd(6), nr = rnd(3);
		char rm[3][16];
		const char *rmp[3];
		unsigned got_rm = 0;
		for (unsigned i = 0; i < nu; i++) {
			char name[16];
			unsigned kind = rnd(3);
			if (kind == 0 || t.n == 0)
				snprintf(name, sizeof(name), "n%u", t.next_name++);
			else
				snprintf(name, sizeof(name), "%s", t.r[rnd(t.n)].name);
			bool dup = false;
			for (unsigned j = 0; j < i; j++)
				dup |= !strcmp(up[j].name, name);
			if (dup)
				snprintf(name, sizeof(name), "n%u", t.next_name++);
			random_route(&t, &up[i], name);
		}
		for (unsigned i = 0; i < nr && t.n > 1; i++) {
			const char *name = t.r[rnd(t.n)].name;
			bool clash = false;
			for (unsigned j = 0; j < nu; j++)
				clash |= !strcmp(up[j].name, name);
			for (unsigned j = 0; j < got_rm; j++)
				clash |= !strcmp(rm[j], name);
			if (clash)
				continue;
			snprintf(rm[got_rm], sizeof(rm[got_rm]), "%s", name);
			rmp[got_rm] = rm[got_rm];
			got_rm++;
		}
		/* The reference: the same change to the table. */
		for (unsigned i = 0; i < got_rm; i++) {
			long at = find(&t, rm[i]);
			memmove(&t.r[at], &t.r[at + 1], (t.n - (unsigned)at - 1) * sizeof(t.r[0]));
			t.n--;
		}
		for (unsigned i = 0; i < nu; i++) {
			long at = find(&t, up[i].name);
			if (at >= 0)
				t.r[at] = up[i];
			else
				t.r[t.n++] = up[i];
		}
		char *y = yaml_of(up, nu, false);
		struct rt_config *pc = load(y);
		free(y);
		struct rt_diag d;
		rt_diag_init(&d);
		struct rt_snapshot *next = rt_snapshot_patch(cur, pc, rmp, got_rm, 2 + step, &d);
		if (!next)
			rt_diag_print(&d, stderr);
		assert_non_null(next);
		rt_diag_clear(&d);
		rt_config_free(pc);
		assert_int_equal(rt_snapshot_generation(next), 2 + step);

		struct rt_snapshot *full = full_build(&t, 2 + step);
		compare(next, full);
		rt_snapshot_free(full);

		/* Free the one before last now or later: either order works. */
		if (older && rnd(2)) {
			rt_snapshot_free(older);
			older = NULL;
		}
		if (older)
			rt_snapshot_free(older);
		older = cur;
		cur = next;
	}
	rt_snapshot_free(cur);
	rt_snapshot_free(older);
}

static const char *SMALL =
	"gateways: [ { name: G, address: 192.0.2.1 } ]\n"
	"trunks: [ { name: T, gateway: G } ]\n"
	"usages: [U]\n"
	"routes:\n"
	"  - { name: a, pattern: '^\\+1', usages: [U], trunks: [T] }\n"
	"  - { name: b, pattern: '^\\+2', usages: [U], trunks: [T] }\n"
	"policies: [ { name: P, usages: [U], default: true } ]\n";

static char *errors_of(struct rt_snapshot *base, const char *patch, const char *const *rm,
		       size_t n_rm)
{
	struct rt_config *pc = load(patch);
	struct rt_diag d;
	rt_diag_init(&d);
	struct rt_snapshot *s = rt_snapshot_patch(base, pc, rm, n_rm, 9, &d);
	rt_config_free(pc);
	assert_null(s);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	rt_diag_print(&d, f);
	fclose(f);
	rt_diag_clear(&d);
	return buf;
}

static void errors_reported(void **state)
{
	struct rt_config *c = load(SMALL);
	struct rt_diag d;
	rt_diag_init(&d);
	struct rt_snapshot *base = rt_snapshot_build(c, 1, &d);
	assert_non_null(base);
	rt_config_free(c);

	const char *nope[] = {"nope"}, *a[] = {"a"};
	/* Removals alone: no routes to change (NULL). */
	struct rt_snapshot *p0 = rt_snapshot_patch(base, NULL, a, 1, 5, &d);
	assert_non_null(p0);
	assert_true(rt_snapshot_route_index(p0, "a", 1) < 0);
	rt_snapshot_free(p0);
	char *e = errors_of(base, "routes: []\n", nope, 1);
	assert_non_null(strstr(e, "nope"));
	assert_non_null(strstr(e, "no such route"));
	free(e);
	e = errors_of(base, "routes:\n  - { name: a, pattern: '^\\+3', usages: [U], trunks: [T] }\n", a, 1);
	assert_non_null(strstr(e, "both changed and removed"));
	free(e);
	e = errors_of(base,
		      "routes:\n"
		      "  - { name: c, pattern: '^\\+3', usages: [U], trunks: [T] }\n"
		      "  - { name: c, pattern: '^\\+4', usages: [U], trunks: [T] }\n",
		      NULL, 0);
	assert_non_null(strstr(e, "given twice"));
	free(e);
	e = errors_of(base,
		      "routes:\n"
		      "  - { name: c, pattern: '^\\+3', usages: [U], trunks: [T] }\n"
		      "  - { name: d, pattern: '^\\+(3', usages: [V], trunks: [X] }\n",
		      NULL, 0);
	assert_non_null(strstr(e, "patch.yaml:3"));
	assert_non_null(strstr(e, "PCRE2"));
	assert_non_null(strstr(e, "unknown usage 'V'"));
	assert_non_null(strstr(e, "unknown trunk 'X'"));
	free(e);

	/* A good patch still works after the bad ones (nothing left behind),
	 * and a patch of a patch removes what the first one added. */
	struct rt_config *pc = load("routes:\n  - { name: c, pattern: '^\\+3', usages: [U], trunks: [T] }\n");
	struct rt_snapshot *p1 = rt_snapshot_patch(base, pc, a, 1, 2, &d);
	rt_config_free(pc);
	assert_non_null(p1);
	struct rt_scratch *sc = rt_scratch_new(p1);
	struct rt_answer ans;
	struct rt_query q = {.called = rt_str_c("+35")};
	rt_decide(p1, NULL, &q, sc, &ans, NULL);
	assert_int_equal(ans.status, RT_ROUTED);
	assert_string_equal(ans.dest[0].route, "c");
	q.called = rt_str_c("+15");
	rt_decide(p1, NULL, &q, sc, &ans, NULL);
	assert_int_equal(ans.status, RT_NO_ROUTE); /* a was removed */
	assert_true(rt_snapshot_route_index(p1, "a", 1) < 0);
	assert_true(rt_snapshot_route_index(p1, "c", 1) >= 0);
	assert_int_equal(rt_snapshot_route_count(p1), 3); /* a's id stays */
	assert_int_equal(rt_snapshot_live_route_count(p1), 2);
	rt_scratch_free(sc);

	const char *c_name[] = {"c"};
	pc = load("routes: []\n");
	struct rt_snapshot *p2 = rt_snapshot_patch(p1, pc, c_name, 1, 3, &d);
	rt_config_free(pc);
	assert_non_null(p2);
	assert_int_equal(rt_snapshot_live_route_count(p2), 1);
	rt_snapshot_free(p1); /* the newer one keeps the base alive */
	sc = rt_scratch_new(p2);
	q.called = rt_str_c("+35");
	rt_decide(p2, NULL, &q, sc, &ans, NULL);
	assert_int_equal(ans.status, RT_NO_ROUTE);
	q.called = rt_str_c("+25");
	rt_decide(p2, NULL, &q, sc, &ans, NULL);
	assert_int_equal(ans.status, RT_ROUTED);
	rt_scratch_free(sc);
	rt_snapshot_free(base);
	rt_snapshot_free(p2);
}

/* More routes than a layer takes: declined without a message (the caller
 * builds the whole config). */
static void large_patch_declined(void **state)
{
	struct rt_config *c = load(SMALL);
	struct rt_diag d;
	rt_diag_init(&d);
	struct rt_snapshot *base = rt_snapshot_build(c, 1, &d);
	rt_config_free(c);
	static struct route up[5000];
	static struct table t;
	for (unsigned i = 0; i < 5000; i++) {
		char name[16];
		snprintf(name, sizeof(name), "x%u", i);
		random_route(&t, &up[i], name);
		snprintf(up[i].trunks, sizeof(up[i].trunks), "[T]");
		up[i].usage = 0;
		up[i].fallback[0] = '\0';
	}
	char *y = yaml_of(up, 5000, false);
	/* usages: [U0] -> [U] */
	for (char *p = strstr(y, "[U0]"); p; p = strstr(p, "[U0]"))
		memcpy(p, "[U] ", 4);
	struct rt_config *pc = load(y);
	free(y);
	assert_null(rt_snapshot_patch(base, pc, NULL, 0, 2, &d));
	assert_int_equal(d.n, 0);
	rt_config_free(pc);
	rt_snapshot_free(base);
}

int main(void)
{
	rng_state = 0x7061746368ull;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(patches_equal_full_builds),
		cmocka_unit_test(errors_reported),
		cmocka_unit_test(large_patch_declined),
	};
	return cmocka_run_group_tests_name("snapshot_patch", tests, NULL, NULL);
}
