#pragma once
/* Shared helpers for the decision tests: load a YAML config from a string
 * through the real loader and compiler, and run queries against it. */
#include <stdbool.h>
#include <stddef.h>

#include "rt_decide.h"

struct tcfg {
	struct rt_snapshot *snap;
	struct rt_scratch *sc;
	uint8_t *gw_health;
	uint8_t *site_health;
	struct rt_health_view view;
};

/* Load and compile; fails the test (with the diag printed) on error. */
struct tcfg *tcfg_load(const char *yaml);
/* Load and compile a file; fails the test on error. */
struct tcfg *tcfg_load_file(const char *path);
void tcfg_free(struct tcfg *t);
/* Compile and expect failure; returns every message joined by '\n'
 * (caller frees). */
char *tcfg_errors(const char *yaml);

void tcfg_health(struct tcfg *t, const char *gateway, enum rt_health h);
void tcfg_site_health(struct tcfg *t, const char *site, enum rt_health h);

struct tq {
	const char *called, *calling, *policy, *call_id;
	const char *tried_gw[4];
	unsigned tried_code[4];
	unsigned max;
};

void tq_run(struct tcfg *t, const struct tq *q, struct rt_answer *ans, struct rt_explain *ex);
/* "GW1,GW2,..." of the answer's gateways (URIs for fallback entries). */
const char *tq_gateways(const struct rt_answer *ans, char *buf, size_t len);
