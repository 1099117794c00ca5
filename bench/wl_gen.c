#include "wl_gen.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WL_GATEWAYS 200
#define WL_USAGES 20

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Country codes with realistic weight on +1 and +44. */
static const char *const CC[] = {"1", "1", "1", "44", "44", "49", "33", "34", "39", "61", "81", "86", "91", "55", "52"};
#define N_CC (sizeof(CC) / sizeof(CC[0]))

/* Route i's prefix: country code plus 2..6 digits, unique per i (the index
 * is folded into the digits so prefixes never collide exactly). */
static void carrier_prefix(size_t i, uint64_t seed, char *out, size_t len)
{
	uint64_t s = seed ^ (0x9e3779b97f4a7c15ull * (i + 1));
	xorshift(&s);
	const char *cc = CC[xorshift(&s) % N_CC];
	unsigned extra = 2 + (unsigned)(xorshift(&s) % 5);
	char digits[16];
	size_t v = i;
	for (unsigned k = 0; k < extra; k++) {
		digits[k] = (char)('0' + (xorshift(&s) % 10));
	}
	/* Last digits carry i to guarantee distinct prefixes. */
	char tail[16];
	snprintf(tail, sizeof(tail), "%zu", v);
	digits[extra] = '\0';
	snprintf(out, len, "%s%s%s", cc, digits, tail);
}

struct rt_config *wl_carrier(size_t n_routes, uint64_t seed)
{
	struct rt_config *cfg = rt_config_new("carrier");
	if (!cfg)
		return NULL;
	struct rt_arena *a = cfg->arena;

	cfg->n_gateways = WL_GATEWAYS;
	cfg->gateways = rt_arena_calloc(a, WL_GATEWAYS, sizeof(*cfg->gateways));
	cfg->n_trunks = WL_GATEWAYS;
	cfg->trunks = rt_arena_calloc(a, WL_GATEWAYS, sizeof(*cfg->trunks));
	cfg->n_usages = WL_USAGES;
	cfg->usages = rt_arena_calloc(a, WL_USAGES, sizeof(*cfg->usages));
	cfg->n_routes = n_routes;
	cfg->routes = rt_arena_calloc(a, n_routes, sizeof(*cfg->routes));
	cfg->n_policies = 1;
	cfg->policies = rt_arena_calloc(a, 1, sizeof(*cfg->policies));
	const char **all_usages = rt_arena_calloc(a, WL_USAGES, sizeof(char *));
	if (!cfg->gateways || !cfg->trunks || !cfg->usages || !cfg->routes || !cfg->policies ||
	    !all_usages)
		goto fail;

	for (size_t g = 0; g < WL_GATEWAYS; g++) {
		struct rt_cfg_gateway *gw = &cfg->gateways[g];
		rt_cfg_gateway_defaults(gw);
		gw->name = rt_arena_printf(a, "gw%03zu", g);
		gw->address = rt_arena_printf(a, "10.%zu.%zu.1", g / 250, g % 250);
		gw->site = rt_arena_printf(a, "site%zu", g / 10);
		gw->priority = (uint32_t)(g % 3);
		gw->weight = (uint32_t)(1 + g % 7);
		cfg->trunks[g].name = rt_arena_printf(a, "t%03zu", g);
		cfg->trunks[g].gateway = gw->name;
	}
	for (size_t u = 0; u < WL_USAGES; u++) {
		cfg->usages[u].name = rt_arena_printf(a, "usage%02zu", u);
		all_usages[u] = cfg->usages[u].name;
	}
	uint64_t s = seed;
	for (size_t i = 0; i < n_routes; i++) {
		struct rt_cfg_route *r = &cfg->routes[i];
		char prefix[40];
		carrier_prefix(i, seed, prefix, sizeof(prefix));
		r->name = rt_arena_printf(a, "r%zu", i);
		r->pattern = rt_arena_printf(a, "^\\+%s\\d*$", prefix);
		const char **us = rt_arena_calloc(a, 1, sizeof(char *));
		const char **ts = rt_arena_calloc(a, 3, sizeof(char *));
		if (!r->name || !r->pattern || !us || !ts)
			goto fail;
		us[0] = all_usages[xorshift(&s) % WL_USAGES];
		for (int k = 0; k < 3; k++)
			ts[k] = cfg->trunks[xorshift(&s) % WL_GATEWAYS].name;
		r->usages = us;
		r->n_usages = 1;
		r->trunks = ts;
		r->n_trunks = ts[0] == ts[1] || ts[1] == ts[2] || ts[0] == ts[2] ? 1 : 3;
		r->priority = (uint32_t)(xorshift(&s) % 4);
	}
	cfg->policies[0].name = "carrier";
	cfg->policies[0].usages = all_usages;
	cfg->policies[0].n_usages = WL_USAGES;
	cfg->policies[0].is_default = true;
	return cfg;
fail:
	rt_config_free(cfg);
	return NULL;
}

int wl_carrier_numbers(size_t n_routes, uint64_t seed, size_t n, struct wl_numbers *out)
{
	out->num = calloc(n ? n : 1, sizeof(*out->num));
	if (!out->num)
		return -ENOMEM;
	out->n = n;
	uint64_t s = seed ^ 0xabcdef;
	for (size_t i = 0; i < n; i++) {
		char prefix[40];
		if (xorshift(&s) % 10 == 0) {
			/* ~10% unroutable: no route prefix starts with +0. */
			snprintf(out->num[i], sizeof(out->num[i]), "+0%010llu",
				 (unsigned long long)(xorshift(&s) % 10000000000ull));
			continue;
		}
		carrier_prefix(xorshift(&s) % n_routes, seed, prefix, sizeof(prefix));
		size_t len = strlen(prefix);
		char digits[16];
		size_t want = len < 13 ? 13 - len : 1;
		for (size_t k = 0; k < want && k < sizeof(digits) - 1; k++)
			digits[k] = (char)('0' + xorshift(&s) % 10);
		digits[want < sizeof(digits) - 1 ? want : sizeof(digits) - 1] = '\0';
		char tmp[64];
		int len2 = snprintf(tmp, sizeof(tmp), "+%s%s", prefix, digits);
		size_t cp = len2 < 0 ? 0 : (size_t)len2;
		if (cp >= sizeof(out->num[i]))
			cp = sizeof(out->num[i]) - 1;
		memcpy(out->num[i], tmp, cp);
		out->num[i][cp] = '\0';
	}
	return 0;
}

void wl_numbers_free(struct wl_numbers *nums)
{
	free(nums->num);
	nums->num = NULL;
	nums->n = 0;
}
