#include "wl_gen.h"

#include <errno.h>
#include <stdio.h>
#include <stdbool.h>
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

/* ---- enterprise ---------------------------------------------------------- */

/* North American area codes; region r owns NPA[r], NPA[r + 20], NPA[r + 40]
 * and NPA[r + 60]. */
static const unsigned NPA[80] = {
	201, 202, 203, 205, 206, 207, 208, 209, 210, 212, 213, 214, 215, 216, 217, 218,
	219, 224, 225, 228, 229, 231, 234, 239, 240, 248, 251, 252, 253, 254, 256, 260,
	262, 267, 269, 270, 272, 276, 281, 301, 302, 303, 304, 305, 307, 308, 309, 310,
	312, 313, 314, 315, 316, 317, 318, 319, 320, 321, 323, 325, 330, 334, 336, 337,
	347, 352, 360, 361, 385, 386, 401, 402, 404, 405, 406, 407, 408, 412, 415, 425,
};
#define N_NPA 80
#define N_REGIONS 20
#define N_PAIRS (WL_ENTERPRISE_GATEWAYS / 2)
#define OFFICE_ROUTES 8

static const char *const INTL_CC[] = {
	"44",  "49",  "33",  "34",  "39",  "31",  "32",  "41",  "43",  "45",  "46",  "47",
	"48",  "30",  "351", "353", "354", "358", "36",  "420", "421", "40",  "359", "385",
	"386", "370", "371", "372", "380", "375", "90",  "972", "971", "966", "20",  "27",
	"234", "254", "55",  "52",  "54",  "56",  "57",  "51",  "58",  "61",  "64",  "81",
	"82",  "86",  "852", "886", "65",  "60",  "66",  "62",  "63",  "84",  "91",  "92",
};
#define N_INTL (sizeof(INTL_CC) / sizeof(INTL_CC[0]))
#define INTL_CARRIERS 3
#define INTL_ANY 5

static const unsigned TOLLFREE[] = {800, 888, 877, 866, 855, 844, 833};

struct office {
	unsigned npa, nxx;
	unsigned near[2];      /* the other area codes of its region */
	unsigned neighbour[2]; /* two more anywhere */
	unsigned region;
	unsigned pair; /* its SBC pair */
};

static void offices(uint64_t seed, struct office *o)
{
	for (unsigned k = 0; k < WL_ENTERPRISE_POLICIES; k++) {
		uint64_t s = seed ^ (0x9e3779b97f4a7c15ull * (k + 1)) ^ 0x5151;
		xorshift(&s);
		unsigned ni = (unsigned)(xorshift(&s) % N_NPA);
		o[k].npa = NPA[ni];
		o[k].region = ni % N_REGIONS;
		/* A DID block (NPA-NXX) belongs to one office. */
		for (;;) {
			o[k].nxx = 200 + (unsigned)(xorshift(&s) % 800);
			unsigned j = 0;
			while (j < k && !(o[j].npa == o[k].npa && o[j].nxx == o[k].nxx))
				j++;
			if (j == k)
				break;
		}
		for (unsigned j = 0, m = 0; j < 4; j++)
			if (o[k].region + 20 * j != ni)
				if (m < 2)
					o[k].near[m++] = NPA[o[k].region + 20 * j];
		for (unsigned m = 0; m < 2;) {
			unsigned x = NPA[xorshift(&s) % N_NPA];
			if (x != o[k].npa && (m == 0 || x != o[k].neighbour[0]))
				o[k].neighbour[m++] = x;
		}
		o[k].pair = k % N_PAIRS;
	}
}

struct egen {
	struct rt_config *cfg;
	struct rt_arena *a;
	size_t n_routes;
	bool oom;
};

static const char **pair_trunks(struct egen *g, unsigned pair)
{
	const char **t = rt_arena_calloc(g->a, 2, sizeof(char *));
	if (!t) {
		g->oom = true;
		return NULL;
	}
	t[0] = g->cfg->trunks[2 * (pair % N_PAIRS)].name;
	t[1] = g->cfg->trunks[2 * (pair % N_PAIRS) + 1].name;
	return t;
}

static void add_route(struct egen *g, const char *name, const char *pattern, const char *usage,
		      unsigned pair, uint32_t priority, const char *fallback)
{
	if (!name || !pattern || g->n_routes >= WL_ENTERPRISE_ROUTES) {
		g->oom = true;
		return;
	}
	struct rt_cfg_route *r = &g->cfg->routes[g->n_routes++];
	const char **us = rt_arena_calloc(g->a, 1, sizeof(char *));
	if (!us) {
		g->oom = true;
		return;
	}
	us[0] = usage;
	r->name = name;
	r->pattern = pattern;
	r->usages = us;
	r->n_usages = 1;
	r->trunks = pair_trunks(g, pair);
	r->n_trunks = 2;
	r->priority = priority;
	r->fallback = fallback;
}

static struct rt_cfg_rule *rules(struct egen *g, const char *const *mr, size_t n)
{
	struct rt_cfg_rule *r = rt_arena_calloc(g->a, n, sizeof(*r));
	if (!r) {
		g->oom = true;
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		r[i].match = mr[2 * i];
		r[i].replace = mr[2 * i + 1];
	}
	return r;
}

struct rt_config *wl_enterprise(uint64_t seed)
{
	struct office o[WL_ENTERPRISE_POLICIES];
	offices(seed, o);
	struct rt_config *cfg = rt_config_new("enterprise");
	if (!cfg)
		return NULL;
	struct egen g = {.cfg = cfg, .a = cfg->arena};
	struct rt_arena *a = cfg->arena;
	const size_t n_usages = WL_ENTERPRISE_POLICIES + N_REGIONS + 3;

	cfg->n_gateways = WL_ENTERPRISE_GATEWAYS;
	cfg->gateways = rt_arena_calloc(a, cfg->n_gateways, sizeof(*cfg->gateways));
	cfg->n_trunks = WL_ENTERPRISE_GATEWAYS;
	cfg->trunks = rt_arena_calloc(a, cfg->n_trunks, sizeof(*cfg->trunks));
	cfg->n_usages = n_usages;
	cfg->usages = rt_arena_calloc(a, n_usages, sizeof(*cfg->usages));
	cfg->n_routes = WL_ENTERPRISE_ROUTES;
	cfg->routes = rt_arena_calloc(a, WL_ENTERPRISE_ROUTES, sizeof(*cfg->routes));
	cfg->n_policies = WL_ENTERPRISE_POLICIES;
	cfg->policies = rt_arena_calloc(a, WL_ENTERPRISE_POLICIES, sizeof(*cfg->policies));
	cfg->n_dial_plans = WL_ENTERPRISE_POLICIES;
	cfg->dial_plans = rt_arena_calloc(a, WL_ENTERPRISE_POLICIES, sizeof(*cfg->dial_plans));
	cfg->n_assignments = WL_ENTERPRISE_POLICIES;
	cfg->assignments = rt_arena_calloc(a, WL_ENTERPRISE_POLICIES, sizeof(*cfg->assignments));
	if (!cfg->gateways || !cfg->trunks || !cfg->usages || !cfg->routes || !cfg->policies ||
	    !cfg->dial_plans || !cfg->assignments)
		goto fail;

	/* SBCs in pairs, one pair per data centre: 'a' preferred, 'b' backup.
	 * Trunks translate to what the PSTN side wants (national 1NPANXXXXXX,
	 * 011 international, 10-digit caller id); every fifth passes E.164. */
	static const char *const called_rules[] = {"^\\+1(\\d{10})$", "1$1", "^\\+(\\d+)$",
						   "011$1"};
	static const char *const calling_rules[] = {"^\\+1(\\d{10})$", "$1"};
	for (size_t i = 0; i < WL_ENTERPRISE_GATEWAYS; i++) {
		struct rt_cfg_gateway *gw = &cfg->gateways[i];
		size_t p = i / 2;
		rt_cfg_gateway_defaults(gw);
		gw->name = rt_arena_printf(a, "sbc%02zu%c", p, i % 2 ? 'b' : 'a');
		gw->address = rt_arena_printf(a, "10.20.%zu.%zu", p, 1 + i % 2);
		gw->site = rt_arena_printf(a, "dc%02zu", p);
		gw->priority = (uint32_t)(i % 2);
		gw->weight = (uint32_t)(1 + p % 3);
		struct rt_cfg_trunk *t = &cfg->trunks[i];
		t->name = rt_arena_printf(a, "trunk-%s", gw->name ? gw->name : "");
		t->gateway = gw->name;
		if (p % 5 != 4) {
			t->called = rules(&g, called_rules, 2);
			t->n_called = 2;
			t->calling = rules(&g, calling_rules, 1);
			t->n_calling = 1;
		}
	}

	for (size_t k = 0; k < WL_ENTERPRISE_POLICIES; k++)
		cfg->usages[k].name = rt_arena_printf(a, "Local-%03zu", k);
	for (size_t r = 0; r < N_REGIONS; r++)
		cfg->usages[WL_ENTERPRISE_POLICIES + r].name = rt_arena_printf(a, "Region-%02zu", r);
	const char *u_tollfree = cfg->usages[n_usages - 3].name = "TollFree";
	const char *u_national = cfg->usages[n_usages - 2].name = "National";
	const char *u_intl = cfg->usages[n_usages - 1].name = "International";

	/* Per office: 8 routes carrying its own usage. */
	for (unsigned k = 0; k < WL_ENTERPRISE_POLICIES; k++) {
		const struct office *of = &o[k];
		const char *u = cfg->usages[k].name;
		add_route(&g, rt_arena_printf(a, "%03u-emergency", k), "^\\+?(911|933)$", u, of->pair,
			  0, NULL);
		add_route(&g, rt_arena_printf(a, "%03u-did", k),
			  rt_arena_printf(a, "^\\+1%u%u(\\d{4})$", of->npa, of->nxx), u, of->pair, 0,
			  NULL);
		if (k % 2 == 0)
			add_route(&g, rt_arena_printf(a, "%03u-did-ext", k),
				  rt_arena_printf(a, "^\\+1%u%u(\\d{4})(;ext=\\d+)?$", of->npa, of->nxx),
				  u, of->pair, 0, NULL);
		else
			add_route(&g, rt_arena_printf(a, "%03u-did-low", k),
				  rt_arena_printf(a, "^\\+1%u%u[0-4]\\d{3}$", of->npa, of->nxx), u,
				  of->pair, 1, NULL);
		add_route(&g, rt_arena_printf(a, "%03u-local", k),
			  rt_arena_printf(a, "^\\+1(%u|%u|%u)(\\d{7})$", of->npa, of->near[0],
					  of->near[1]),
			  u, of->pair, 1, NULL);
		add_route(&g, rt_arena_printf(a, "%03u-local-nxx", k),
			  rt_arena_printf(a, "^\\+1%u[2-9]\\d{6}$", of->npa), u, of->pair, 2, NULL);
		add_route(&g, rt_arena_printf(a, "%03u-neighbour", k),
			  rt_arena_printf(a, "^\\+1(%u|%u)[2-9]\\d{6}$", of->neighbour[0],
					  of->neighbour[1]),
			  u, (of->pair + 1) % N_PAIRS, 2, NULL);
		if (k % 10 == 0)
			add_route(&g, rt_arena_printf(a, "%03u-national-breakout", k),
				  "^\\+1[2-9]\\d{9}$", u, of->pair, 3, NULL);
		else
			add_route(&g, rt_arena_printf(a, "%03u-fax", k),
				  rt_arena_printf(a, "^\\+1%u%u9\\d{3}$", of->npa, of->nxx), u,
				  of->pair, 1, NULL);
		add_route(&g, rt_arena_printf(a, "%03u-operator", k),
			  rt_arena_printf(a, "^\\+1%u%u0000$", of->npa, of->nxx), u, of->pair, 0,
			  rt_arena_printf(a, "sip:operator-%03u@pbx.example.com", k));
	}
	/* Regions: each area code through two data centres, and the region's
	 * four area codes as one alternation through two more. */
	for (unsigned r = 0; r < N_REGIONS; r++) {
		const char *u = cfg->usages[WL_ENTERPRISE_POLICIES + r].name;
		for (unsigned j = 0; j < 4; j++) {
			unsigned npa = NPA[r + 20 * j];
			const char *pat = rt_arena_printf(a, "^\\+1%u(\\d{7})$", npa);
			add_route(&g, rt_arena_printf(a, "reg%02u-%u-a", r, npa), pat, u, r, 0, NULL);
			add_route(&g, rt_arena_printf(a, "reg%02u-%u-b", r, npa), pat, u, r + 7, 1, NULL);
		}
		const char *all = rt_arena_printf(a, "^\\+1(%u|%u|%u|%u)[2-9]\\d{6}$", NPA[r],
						  NPA[r + 20], NPA[r + 40], NPA[r + 60]);
		add_route(&g, rt_arena_printf(a, "reg%02u-all-a", r), all, u, r + 13, 2, NULL);
		add_route(&g, rt_arena_printf(a, "reg%02u-all-b", r), all, u, r + 19, 3, NULL);
	}
	for (unsigned i = 0; i < 10; i++)
		add_route(&g, rt_arena_printf(a, "national-%u", i),
			  i % 2 ? "^\\+1(\\d{10})$" : "^\\+1[2-9]\\d{9}$", u_national, i, i / 2, NULL);
	for (unsigned i = 0; i < 5; i++)
		add_route(&g, rt_arena_printf(a, "tollfree-%u", i), "^\\+18(00|88|77|66|55|44|33)\\d{7}$",
			  u_tollfree, 10 + i, i, NULL);
	for (unsigned c = 0; c < N_INTL; c++)
		for (unsigned k = 0; k < INTL_CARRIERS; k++)
			add_route(&g, rt_arena_printf(a, "intl-%s-%u", INTL_CC[c], k),
				  rt_arena_printf(a, "^\\+%s(\\d{6,12})$", INTL_CC[c]), u_intl,
				  15 + 3 * k + c % 3, k, NULL);
	for (unsigned i = 0; i < INTL_ANY; i++)
		add_route(&g, rt_arena_printf(a, "intl-any-%u", i), "^\\+[2-9]\\d{6,14}$", u_intl,
			  20 + i, INTL_CARRIERS + i, NULL);
	if (g.n_routes != WL_ENTERPRISE_ROUTES)
		goto fail;

	/* Policies, dial plans and assignments: one of each per office. */
	for (unsigned k = 0; k < WL_ENTERPRISE_POLICIES; k++) {
		const struct office *of = &o[k];
		struct rt_cfg_policy *p = &cfg->policies[k];
		const char **us = rt_arena_calloc(a, 5, sizeof(char *));
		if (!us)
			goto fail;
		us[0] = cfg->usages[k].name;
		us[1] = cfg->usages[WL_ENTERPRISE_POLICIES + of->region].name;
		us[2] = u_tollfree;
		us[3] = u_national;
		us[4] = u_intl;
		p->name = rt_arena_printf(a, "pol-%03u", k);
		p->usages = us;
		p->n_usages = k % 5 == 4 ? 4 : 5; /* every fifth office: no international */
		p->dial_plan = rt_arena_printf(a, "dp-%03u", k);
		p->is_default = k == 0;

		struct rt_cfg_dial_plan *d = &cfg->dial_plans[k];
		const char *dp_rules[] = {
			"^(\\d{4})$",         rt_arena_printf(a, "+1%u%u$1", of->npa, of->nxx),
			"^(\\d{7})$",         rt_arena_printf(a, "+1%u$1", of->npa),
			"^(\\d{10})$",        "+1$1",
			"^1(\\d{10})$",       "+1$1",
			"^011(\\d{7,15})$",   "+$1",
		};
		d->name = p->dial_plan;
		d->rules = rules(&g, dp_rules, 5);
		d->n_rules = 5;

		cfg->assignments[k].pattern =
			rt_arena_printf(a, "^\\+1%u%u\\d{4}$", of->npa, of->nxx);
		cfg->assignments[k].policy = p->name;
	}
	if (g.oom)
		goto fail;
	return cfg;
fail:
	rt_config_free(cfg);
	return NULL;
}

static void rand_digits(uint64_t *s, char *out, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		out[i] = (char)('0' + xorshift(s) % 10);
	out[n] = '\0';
}

int wl_enterprise_queries(uint64_t seed, size_t n, struct wl_queries *out)
{
	struct office o[WL_ENTERPRISE_POLICIES];
	offices(seed, o);
	out->q = calloc(n ? n : 1, sizeof(*out->q));
	if (!out->q)
		return -ENOMEM;
	out->n = n;
	uint64_t s = seed ^ 0xe7e7e7e7ull;
	xorshift(&s);
	for (size_t i = 0; i < n; i++) {
		struct wl_query *q = &out->q[i];
		unsigned k = (unsigned)(xorshift(&s) % WL_ENTERPRISE_POLICIES);
		const struct office *of = &o[k];
		char d4[8], d7[8], d8[12];
		rand_digits(&s, d4, 4);
		snprintf(q->calling, sizeof(q->calling), "+1%u%u%s", of->npa, of->nxx, d4);
		if (xorshift(&s) % 10 == 0)
			snprintf(q->policy, sizeof(q->policy), "pol-%03u", k);
		unsigned nxx = 200 + (unsigned)(xorshift(&s) % 800);
		rand_digits(&s, d4, 4);
		rand_digits(&s, d7, 7);
		rand_digits(&s, d8, 8);
		unsigned pick = (unsigned)(xorshift(&s) % 100);
		if (pick < 28) { /* extension */
			snprintf(q->called, sizeof(q->called), "%s", d4);
		} else if (pick < 46) { /* 10-digit, home region */
			unsigned a3[3] = {of->npa, of->near[0], of->near[1]};
			snprintf(q->called, sizeof(q->called), "%u%u%s", a3[xorshift(&s) % 3], nxx, d4);
		} else if (pick < 60) { /* 7-digit local */
			snprintf(q->called, sizeof(q->called), "%u%s", nxx, d4);
		} else if (pick < 72) { /* E.164 anywhere in the US */
			snprintf(q->called, sizeof(q->called), "+1%u%u%s", NPA[xorshift(&s) % N_NPA], nxx,
				 d4);
		} else if (pick < 79) { /* toll-free, 1-800 style */
			snprintf(q->called, sizeof(q->called), "1%u%s",
				 TOLLFREE[xorshift(&s) % (sizeof(TOLLFREE) / sizeof(TOLLFREE[0]))], d7);
		} else if (pick < 88) { /* international, 011 */
			snprintf(q->called, sizeof(q->called), "011%s%s", INTL_CC[xorshift(&s) % N_INTL],
				 d8);
		} else if (pick < 89) {
			snprintf(q->called, sizeof(q->called), "911");
		} else if (pick < 93) { /* nothing routes these two */
			snprintf(q->called, sizeof(q->called), "+0%s%s", d7, d4);
		} else if (pick < 97) {
			snprintf(q->called, sizeof(q->called), "9%s", d4);
		} else {
			snprintf(q->called, sizeof(q->called), "%s", d4);
		}
	}
	return 0;
}

void wl_queries_free(struct wl_queries *qs)
{
	free(qs->q);
	qs->q = NULL;
	qs->n = 0;
}

/* ---- YAML ---------------------------------------------------------------- */

/* A single-quoted YAML scalar: nothing is special inside but the quote. */
static void yq(FILE *f, const char *s)
{
	fputc('\'', f);
	for (; s && *s; s++) {
		if (*s == '\'')
			fputc('\'', f);
		fputc(*s, f);
	}
	fputc('\'', f);
}

static void ylist(FILE *f, const char *const *items, size_t n)
{
	fputc('[', f);
	for (size_t i = 0; i < n; i++) {
		if (i)
			fputs(", ", f);
		yq(f, items[i]);
	}
	fputc(']', f);
}

static void yrules(FILE *f, const struct rt_cfg_rule *r, size_t n)
{
	fputc('[', f);
	for (size_t i = 0; i < n; i++) {
		fputs(i ? ", { match: " : "{ match: ", f);
		yq(f, r[i].match);
		fputs(", replace: ", f);
		yq(f, r[i].replace);
		fputs(" }", f);
	}
	fputc(']', f);
}

static void ycodes(FILE *f, const struct rt_codeset *cs)
{
	char buf[4096];
	rt_codeset_format(cs, buf, sizeof(buf));
	fputc('[', f);
	for (const char *p = buf; *p; p++)
		fputs(*p == ',' ? ", " : (char[]){*p, 0}, f);
	fputc(']', f);
}

int wl_write_yaml(const struct rt_config *c, FILE *f)
{
	fputs("failover: { codes: ", f);
	ycodes(f, &c->failover_codes);
	fprintf(f, " }\nsip: { max_contacts: %u, retry_after: %u }\n", c->sip.max_contacts,
		c->sip.retry_after);
	fputs("gateways:\n", f);
	for (size_t i = 0; i < c->n_gateways; i++) {
		const struct rt_cfg_gateway *g = &c->gateways[i];
		fputs("  - { name: ", f);
		yq(f, g->name);
		fputs(", address: ", f);
		yq(f, g->address);
		fprintf(f, ", port: %u, transport: %s", g->port, rt_transport_name(g->transport));
		if (g->site) {
			fputs(", site: ", f);
			yq(f, g->site);
		}
		fprintf(f, ", priority: %u, weight: %u", g->priority, g->weight);
		if (g->has_failover_codes) {
			fputs(", failover_codes: ", f);
			ycodes(f, &g->failover_codes);
		}
		fputs(" }\n", f);
	}
	fputs("trunks:\n", f);
	for (size_t i = 0; i < c->n_trunks; i++) {
		const struct rt_cfg_trunk *t = &c->trunks[i];
		fputs("  - { name: ", f);
		yq(f, t->name);
		fputs(", gateway: ", f);
		yq(f, t->gateway);
		if (t->n_called) {
			fputs(", called: ", f);
			yrules(f, t->called, t->n_called);
		}
		if (t->n_calling) {
			fputs(", calling: ", f);
			yrules(f, t->calling, t->n_calling);
		}
		fputs(" }\n", f);
	}
	fputs("usages:\n", f);
	for (size_t i = 0; i < c->n_usages; i++) {
		fputs("  - ", f);
		yq(f, c->usages[i].name);
		fputc('\n', f);
	}
	fputs("routes:\n", f);
	for (size_t i = 0; i < c->n_routes; i++) {
		const struct rt_cfg_route *r = &c->routes[i];
		fputs("  - { name: ", f);
		yq(f, r->name);
		fputs(", pattern: ", f);
		yq(f, r->pattern);
		fputs(", usages: ", f);
		ylist(f, r->usages, r->n_usages);
		fputs(", trunks: ", f);
		ylist(f, r->trunks, r->n_trunks);
		fprintf(f, ", priority: %u", r->priority);
		if (r->fallback) {
			fputs(", fallback: ", f);
			yq(f, r->fallback);
		}
		fputs(" }\n", f);
	}
	fputs("policies:\n", f);
	for (size_t i = 0; i < c->n_policies; i++) {
		const struct rt_cfg_policy *p = &c->policies[i];
		fputs("  - { name: ", f);
		yq(f, p->name);
		fputs(", usages: ", f);
		ylist(f, p->usages, p->n_usages);
		if (p->dial_plan) {
			fputs(", dial_plan: ", f);
			yq(f, p->dial_plan);
		}
		fprintf(f, ", default: %s }\n", p->is_default ? "true" : "false");
	}
	if (c->n_assignments)
		fputs("assignments:\n", f);
	for (size_t i = 0; i < c->n_assignments; i++) {
		fputs("  - { calling: ", f);
		yq(f, c->assignments[i].pattern);
		fputs(", policy: ", f);
		yq(f, c->assignments[i].policy);
		fputs(" }\n", f);
	}
	if (c->n_dial_plans)
		fputs("dial_plans:\n", f);
	for (size_t i = 0; i < c->n_dial_plans; i++) {
		const struct rt_cfg_dial_plan *d = &c->dial_plans[i];
		fputs("  - { name: ", f);
		yq(f, d->name);
		fprintf(f, ", default: %s, rules: ", d->is_default ? "true" : "false");
		yrules(f, d->rules, d->n_rules);
		fputs(" }\n", f);
	}
	return ferror(f) ? -EIO : 0;
}
