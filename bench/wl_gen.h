#pragma once
/*
 * wl_gen: deterministic, seeded benchmark workloads. Each workload is a
 * routing config built in memory (the same rt_config the YAML loader
 * produces) plus a dialled-number (or query) set, about 90% routable. The
 * same (size, seed) always gives the same config and the same numbers.
 *
 *   carrier-N  : N E.164 prefix routes ("^\+<cc><prefix>\d*$") over 200
 *                gateways (one trunk each, no translations) in 20 usages,
 *                one policy listing every usage; 1 or 3 trunks per route,
 *                route priorities 0..3. carrier-100k and carrier-1m are
 *                N = 100,000 and 1,000,000.
 *   enterprise : a Teams / Lync Enterprise Voice tenant: 200 offices, each
 *                with its voice policy, dial plan (extension, 7-, 10- and
 *                11-digit, 011 international normalisation) and calling-
 *                number assignment; 2,000 routes (8 per office: emergency,
 *                DID block, DID with ';ext=' (Hyperscan) or sub-block, area-
 *                code alternations like '^\+1(425|206|253)(\d{7})$', ...;
 *                regional, national, toll-free and per-country international
 *                routes); 50 SBC gateways in 25 sites, trunks with called
 *                and calling translation rules.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "rt_config.h"

#ifdef __cplusplus
extern "C" {
#endif

struct wl_numbers {
	char (*num)[24];
	size_t n;
};

/* NULL on ENOMEM. */
struct rt_config *wl_carrier(size_t n_routes, uint64_t seed);
/* n numbers for a carrier-N config generated with the same seed. */
int wl_carrier_numbers(size_t n_routes, uint64_t seed, size_t n, struct wl_numbers *out);
void wl_numbers_free(struct wl_numbers *nums);

/* One enterprise query as an SBC would send it: the dialled string as the
 * user typed it (extension, national, 011..., E.164), the caller's E.164
 * number (its assignment picks the policy) and, for some, the policy named
 * outright (X-Strowger-Policy). */
struct wl_query {
	char called[24];
	char calling[24];
	char policy[16]; /* "" when the assignment is to pick it */
};

struct wl_queries {
	struct wl_query *q;
	size_t n;
};

#define WL_ENTERPRISE_POLICIES 200
#define WL_ENTERPRISE_ROUTES 2000
#define WL_ENTERPRISE_GATEWAYS 50

/* NULL on ENOMEM. */
struct rt_config *wl_enterprise(uint64_t seed);
/* n queries for the enterprise config generated with the same seed. */
int wl_enterprise_queries(uint64_t seed, size_t n, struct wl_queries *out);
void wl_queries_free(struct wl_queries *qs);

/* Write cfg as a YAML config file strowgerd and strowgerctl load (flow
 * style, one object per line). 0, or -EIO on a write error. */
int wl_write_yaml(const struct rt_config *cfg, FILE *out);

#ifdef __cplusplus
}
#endif
