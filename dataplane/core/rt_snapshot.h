#pragma once
/*
 * rt_snapshot: one immutable, compiled config generation. Built whole by the
 * control side (rt_snapshot_build), never modified afterwards, read
 * concurrently by any number of workers, freed after the last reader is done
 * (RCU grace period in the daemon).
 *
 * Holds: one matcher with every route pattern, one with every dial-plan
 * rule, one with every policy-assignment pattern (each a digit trie for the
 * prefix-shaped patterns plus a Hyperscan block-mode database for the rest);
 * per-usage route bitmaps; policies, gateways, sites and trunks with their
 * PCRE2-JIT translation rules; name indexes for the lookups a query needs.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rt_config.h"
#include "rt_diag.h"

struct rt_snapshot;
struct rt_matcher;

/*
 * Validate and compile cfg. On success returns the snapshot (which copies
 * what it needs: cfg may be freed afterwards). On failure returns NULL and
 * every problem found is in diag, each naming file, line and object:
 * unknown or duplicate names, patterns Hyperscan or PCRE2 rejects (with the
 * engine's message), replacements naming missing groups, no default policy...
 * Thread-safe with respect to other builds; slow (compiles regexes).
 */
struct rt_snapshot *rt_snapshot_build(const struct rt_config *cfg, uint64_t generation,
				      struct rt_diag *diag);
void rt_snapshot_free(struct rt_snapshot *s);

/*
 * Incremental compile: a new snapshot equal to what rt_snapshot_build would
 * make of base's config with its routes changed, built without recompiling
 * the routes that did not change. Routes in upsert (only its routes are
 * read; NULL: none) replace the route of the same name in place (keeping its position
 * in config order) or, new names, come after every existing route in
 * config order, in the order given; remove names routes to drop. The new
 * snapshot shares what did not change with base and holds a reference on
 * it (rt_snapshot_free of either, in any order, is safe; frees happen on
 * one thread). Returns NULL with diags (file/line/route) on errors:
 * unknown route to remove, a name both upserted and removed or given
 * twice, a bad pattern, unknown usage or trunk, ...; NULL without a diag
 * when it declines (the change is too large to layer: build the whole
 * config instead).
 */
struct rt_snapshot *rt_snapshot_patch(struct rt_snapshot *base, const struct rt_config *upsert,
				      const char *const *remove, size_t n_remove,
				      uint64_t generation, struct rt_diag *diag);

uint64_t rt_snapshot_generation(const struct rt_snapshot *s);
const char *rt_snapshot_source(const struct rt_snapshot *s);
/* Bytes held: arena plus matchers (tries, Hyperscan databases), not PCRE2
 * internals. */
size_t rt_snapshot_memory(const struct rt_snapshot *s);

size_t rt_snapshot_gateway_count(const struct rt_snapshot *s);
size_t rt_snapshot_site_count(const struct rt_snapshot *s);
/* Is s a patched snapshot (rt_snapshot_patch), layered on a full build? */
bool rt_snapshot_layered(const struct rt_snapshot *s);

/* Route ids: a patched snapshot (rt_snapshot_patch) keeps the ids of the
 * routes it replaced or removed, so counters indexed by id stay valid. */
size_t rt_snapshot_route_count(const struct rt_snapshot *s);
/* Routes served: the ids less those. */
size_t rt_snapshot_live_route_count(const struct rt_snapshot *s);
size_t rt_snapshot_policy_count(const struct rt_snapshot *s);
const char *rt_snapshot_gateway_name(const struct rt_snapshot *s, size_t i);
/* Index of the gateway's site in the site table, or -1 for none. */
long rt_snapshot_gateway_site(const struct rt_snapshot *s, size_t i);
const char *rt_snapshot_site_name(const struct rt_snapshot *s, size_t i);
const char *rt_snapshot_route_name(const struct rt_snapshot *s, size_t i);
const char *rt_snapshot_route_pattern(const struct rt_snapshot *s, size_t i);
const char *rt_snapshot_policy_name(const struct rt_snapshot *s, size_t i);
/* -1 when unknown. len may be (size_t)-1 for a NUL-terminated name. */
long rt_snapshot_gateway_index(const struct rt_snapshot *s, const char *name, size_t len);
long rt_snapshot_site_index(const struct rt_snapshot *s, const char *name, size_t len);
long rt_snapshot_route_index(const struct rt_snapshot *s, const char *name, size_t len);
/* The matcher over every route pattern (pattern id = route id), for
 * benchmarks and tools that time or inspect the match step alone. */
const struct rt_matcher *rt_snapshot_route_matcher(const struct rt_snapshot *s);
uint32_t rt_snapshot_max_contacts(const struct rt_snapshot *s);
uint32_t rt_snapshot_retry_after(const struct rt_snapshot *s);
