/*
 * libFuzzer target for what a control client or a state file can feed
 * strowgerd: a ControlRequest frame payload (decoded; a load's Config
 * converted, validated, compiled when small, and diffed against a running
 * config; a route patch checked, applied and diffed against it, and
 * compiled both ways when small) and a state file's bytes
 * (cd_persist_parse). No crash, no leak, every rejected config comes with
 * a reason, and the two ways of patching agree.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cd_persist.h"
#include "cfg_diff.h"
#include "cfg_patch.h"
#include "cfg_proto.h"
#include "cfg_yaml.h"
#include "rt_snapshot.h"
#include "strowger.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char running_yaml[] =
	"gateways:\n"
	"  - { name: GW1, address: 192.0.2.1 }\n"
	"  - { name: GW2, address: 192.0.2.2, site: S1 }\n"
	"trunks:\n"
	"  - { name: T1, gateway: GW1 }\n"
	"  - { name: T2, gateway: GW2 }\n"
	"usages: [U1]\n"
	"routes:\n"
	"  - { name: R1, pattern: '^\\+1\\d*$', usages: [U1], trunks: [T1, T2] }\n"
	"policies:\n"
	"  - { name: P1, usages: [U1], default: true }\n";

/* Compiling is Hyperscan's and PCRE2's work: keep inputs small so the
 * fuzzer spends its time on our code. */
static bool small(const struct rt_config *cfg)
{
	if (cfg->n_routes > 16 || cfg->n_dial_plans > 4 || cfg->n_assignments > 8)
		return false;
	for (size_t i = 0; i < cfg->n_routes; i++)
		if (!cfg->routes[i].pattern || strlen(cfg->routes[i].pattern) > 64)
			return false;
	return true;
}

static void check_config(struct rt_config *cfg, const struct rt_config *running)
{
	struct cfg_diff d;
	if (cfg_diff(running, cfg, &d) == 0)
		cfg_diff_free(&d);
	if (!small(cfg))
		return;
	struct rt_diag diag;
	rt_diag_init(&diag);
	struct rt_snapshot *s = rt_snapshot_build(cfg, 2, &diag);
	if (!s && diag.n == 0)
		abort(); /* rejected without a reason */
	if (s)
		rt_snapshot_free(s);
	rt_diag_clear(&diag);
}

/* Routes a snapshot serves (a patched one keeps the ids of the routes it
 * replaced or removed: a live id is the one its name leads to). */
static size_t live_routes(const struct rt_snapshot *s)
{
	size_t n = rt_snapshot_route_count(s), live = 0;
	for (size_t i = 0; i < n; i++)
		live += rt_snapshot_route_index(s, rt_snapshot_route_name(s, i), (size_t)-1) == (long)i;
	return live;
}

static bool lists_same(const struct cfg_diff_list *a, const struct cfg_diff_list *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->names[i], b->names[i]))
			return false;
	return true;
}

/* A RoutePatch as the daemon takes it: checked first (refusals with a
 * reason); applied (refusing exactly what the check refuses); its diff
 * from the patch alone equal to the whole-config diff; and, small enough,
 * rt_snapshot_patch on the running snapshot agreeing with a whole build
 * of the applied config (it may decline, never disagree). */
static void check_patch(const Strowger__RoutePatch *p, const struct rt_config *running,
			struct rt_snapshot *running_snap)
{
	struct rt_diag d;
	rt_diag_init(&d);
	/* As the daemon does: removals only come with an empty config. */
	struct rt_config *up = p->routes ? cfg_proto_from_msg(p->routes, &d) : rt_config_new("patch");
	const char *const *rm = (const char *const *)p->remove;
	if (!up) {
		if (d.n == 0 && !d.dropped)
			abort();
		rt_diag_clear(&d);
		return;
	}
	int rc = cfg_patch_check(running, NULL, up, rm, p->n_remove, &d);
	if (rc && !rt_diag_count(&d))
		abort();
	rt_diag_clear(&d);
	struct rt_config *cfg = cfg_patch_apply(running, up, rm, p->n_remove, &d);
	if ((cfg != NULL) != (rc == 0))
		abort();
	rt_diag_clear(&d);
	if (!cfg) {
		rt_config_free(up);
		return;
	}
	struct cfg_diff want, got;
	if (cfg_diff(running, cfg, &want) == 0) {
		if (cfg_patch_diff(running, NULL, up, rm, p->n_remove, &got) == 0) {
			const struct cfg_diff_entry *w = &want.kinds[CFG_DIFF_ROUTE];
			const struct cfg_diff_entry *g = &got.kinds[CFG_DIFF_ROUTE];
			if (!lists_same(&w->added, &g->added) ||
			    !lists_same(&w->removed, &g->removed) ||
			    !lists_same(&w->changed, &g->changed) ||
			    cfg_diff_changes(&want) != cfg_diff_changes(&got))
				abort();
			cfg_diff_free(&got);
		}
		cfg_diff_free(&want);
	}
	if (running_snap && small(cfg)) {
		struct rt_snapshot *inc = rt_snapshot_patch(running_snap, up, rm, p->n_remove, 3, &d);
		size_t inc_errors = rt_diag_count(&d);
		rt_diag_clear(&d);
		struct rt_snapshot *whole = rt_snapshot_build(cfg, 3, &d);
		if (!whole && !rt_diag_count(&d))
			abort(); /* rejected without a reason */
		if (inc && (!whole || live_routes(inc) != rt_snapshot_route_count(whole) ||
			    live_routes(inc) != cfg->n_routes))
			abort();
		for (size_t i = 0; inc && i < cfg->n_routes; i++)
			if (rt_snapshot_route_index(inc, cfg->routes[i].name, (size_t)-1) < 0)
				abort();
		if (!inc && inc_errors && whole)
			abort();
		if (inc)
			rt_snapshot_free(inc);
		if (whole)
			rt_snapshot_free(whole);
		rt_diag_clear(&d);
	}
	rt_config_free(cfg);
	rt_config_free(up);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rt_config *running;
	static struct rt_snapshot *running_snap;
	if (!running) {
		struct rt_diag d;
		rt_diag_init(&d);
		running = cfg_yaml_load_buffer(running_yaml, sizeof(running_yaml) - 1, "running",
					       &d);
		if (running)
			running_snap = rt_snapshot_build(running, 2, &d);
		rt_diag_clear(&d);
		if (!running || !running_snap)
			abort();
	}
	if (size < 1)
		return 0;
	if (data[0] & 1) {
		struct rt_config *cfg = NULL;
		uint64_t gen;
		double at;
		char err[256];
		if (cd_persist_parse(data + 1, size - 1, "fuzz", &cfg, &gen, &at, err,
				     sizeof(err)) == 0) {
			check_config(cfg, running);
			rt_config_free(cfg);
		} else if (!err[0]) {
			abort();
		}
		return 0;
	}
	Strowger__ControlRequest *req = strowger__control_request__unpack(NULL, size - 1, data + 1);
	if (!req)
		return 0;
	if (req->op_case == STROWGER__CONTROL_REQUEST__OP_LOAD && req->load->config) {
		struct rt_diag d;
		rt_diag_init(&d);
		struct rt_config *cfg = cfg_proto_from_msg(req->load->config, &d);
		if (!cfg && d.n == 0)
			abort();
		if (cfg) {
			check_config(cfg, running);
			rt_config_free(cfg);
		}
		rt_diag_clear(&d);
	} else if (req->op_case == STROWGER__CONTROL_REQUEST__OP_PATCH) {
		check_patch(req->patch, running, running_snap);
	}
	strowger__control_request__free_unpacked(req, NULL);
	return 0;
}
