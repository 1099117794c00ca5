#pragma once
/*
 * wl_gen: deterministic, seeded benchmark workloads. Each workload is a
 * routing config built in memory (the same rt_config the YAML loader
 * produces) plus a dialled-number set, about 90% routable.
 *
 *   carrier-N : N E.164 prefix routes ("^\+<cc><prefix>\d*$") over 200
 *               gateways in 20 usages, one policy listing every usage.
 */
#include <stddef.h>
#include <stdint.h>

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

#ifdef __cplusplus
}
#endif
