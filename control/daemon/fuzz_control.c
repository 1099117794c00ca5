/*
 * libFuzzer target for what a control client or a state file can feed
 * strowgerd: a ControlRequest frame payload (decoded; a load's Config
 * converted, validated, compiled when small, and diffed against a running
 * config) and a state file's bytes (cd_persist_parse). No crash, no leak,
 * and every rejected config comes with a reason.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cd_persist.h"
#include "cfg_diff.h"
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

static void check_config(struct rt_config *cfg, const struct rt_config *running)
{
	struct cfg_diff d;
	if (cfg_diff(running, cfg, &d) == 0)
		cfg_diff_free(&d);
	/* Compiling is Hyperscan's and PCRE2's work: keep inputs small so the
	 * fuzzer spends its time on our code. */
	if (cfg->n_routes > 16 || cfg->n_dial_plans > 4 || cfg->n_assignments > 8)
		return;
	for (size_t i = 0; i < cfg->n_routes; i++)
		if (!cfg->routes[i].pattern || strlen(cfg->routes[i].pattern) > 64)
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rt_config *running;
	if (!running) {
		struct rt_diag d;
		rt_diag_init(&d);
		running = cfg_yaml_load_buffer(running_yaml, sizeof(running_yaml) - 1, "running",
					       &d);
		rt_diag_clear(&d);
		if (!running)
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
	}
	strowger__control_request__free_unpacked(req, NULL);
	return 0;
}
