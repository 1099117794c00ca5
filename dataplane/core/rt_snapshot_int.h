#pragma once
/*
 * Private layout of a compiled snapshot, shared by rt_snapshot.c (which
 * builds it) and rt_decide.c (which reads it). Nothing here changes after
 * rt_snapshot_build() returns.
 *
 * Route ids are the routes sorted by (priority, config order), so "matched
 * route ids in ascending order" is already the order SPEC section 3 walks
 * them in; matcher pattern ids (trie and Hyperscan) are these route ids.
 */
#include "rt_config.h"
#include "rt_index.h"
#include "rt_matcher.h"
#include "rt_rewrite.h"
#include "rt_snapshot.h"

struct rt_gw {
	const char *name;
	const char *address;
	const struct rt_codeset *codes; /* own set or the global one */
	int32_t site;                    /* -1: none */
	uint32_t priority;
	uint32_t weight;
	uint16_t port;
	uint8_t transport;
};

struct rt_trunk {
	const char *name;
	uint32_t gw;
	const struct rt_rewrite *called;
	uint32_t n_called;
	const struct rt_rewrite *calling;
	uint32_t n_calling;
	/* Rule lists with the same text (trunks usually share a few) get the
	 * same set id, so a decision translates a number once per set, and
	 * point at one compiled copy. */
	uint32_t called_set, calling_set;
};

/* What the gateway walk reads of a trunk, dense (16 bytes a trunk): its
 * gateway and the gateway's priority, weight and site. */
struct rt_tk {
	uint32_t gw;
	uint32_t priority;
	uint32_t weight;
	int32_t site;
};

/* What a decision reads of a route, in one cache line: the matched routes
 * of a number are random accesses into a table of up to millions. */
#define RT_ROUTE_INLINE 5
struct rt_route {
	const char *name;
	/* Seeds this route's weighted shuffle together with the call's seed;
	 * derived from the name so a reload that reorders routes keeps every
	 * call's gateway order. */
	uint64_t salt;
	const char *fallback;
	/* n_trunks trunk ids ordered by their gateway's priority (stable:
	 * config order inside a priority; the decision shuffles each equal-
	 * priority run), then the route's n_usages distinct usage ids. Points
	 * at inl when they fit. */
	const uint32_t *trunks;
	uint16_t n_trunks;
	uint16_t n_usages;
	/* Place in the walk order (priority, then config order): the route id
	 * itself in a full build; in a patched one (rt_snapshot_patch), where
	 * new routes get ids after the base's, ids are not in walk order. */
	uint32_t rank;
	bool fallback_is_uri;
	/* A patched snapshot's copy of a base route it replaced or removed:
	 * the base's matcher still finds it; the decision drops it. */
	bool masked;
	uint32_t inl[RT_ROUTE_INLINE];
};
_Static_assert(sizeof(struct rt_route) == 64, "struct rt_route is one cache line");

/* A patched snapshot's decisions carry (usage position, rank, route) in
 * one 64-bit key, 24 bits for each of rank and route. */
#define RT_PATCH_ROUTES_MAX (1u << 24)

static inline const uint32_t *rt_route_usages(const struct rt_route *r)
{
	return r->trunks + r->n_trunks;
}

/* route_usage of a route with several usages (or of a usage id past
 * what two bytes hold): the decision reads the route's own list. */
#define RT_USAGE_SEVERAL 0xffffu

struct rt_policy {
	const char *name;
	const uint32_t *usages; /* usage ids, in policy order */
	uint32_t n_usages;
	int32_t dial_plan; /* -1: none */
	/* The dial plan's rules when it has some and all are fast (struct
	 * rt_dial_plan.all_fast): tried in order without reading the plan.
	 * NULL otherwise. */
	const struct rt_rewrite *const *fast_rules;
	uint32_t n_fast_rules;
	bool repeats_usage; /* some usage listed twice: walked twice */
	/* Per usage id: 1 + its position in usages, 0 when not listed; so a
	 * decision needs no per-call table of the policy's usages. One byte a
	 * usage, so the table a decision reads is a few cache lines. NULL when
	 * the policy lists 255 usages or more, or the config is too large for
	 * one table per policy (then rt_decide stamps the usages per call). */
	const uint8_t *pos;
};

struct rt_dial_plan {
	const char *name;
	uint32_t first; /* rule ids [first, first + n) in dp_rule */
	uint32_t n;
	/* Every rule has the shape rt_rewrite applies without PCRE2 (struct
	 * rt_rewrite.fast): trying them in order is cheaper than asking the
	 * matcher which one matches first. */
	bool all_fast;
};

struct rt_snapshot {
	struct rt_arena *arena;
	uint64_t generation;
	const char *source;

	struct rt_gw *gws;
	uint32_t n_gws;
	const char **sites;
	uint32_t n_sites;
	struct rt_trunk *trunks;
	struct rt_tk *tk; /* per trunk */
	uint32_t n_trunks;
	struct rt_route *routes; /* 64-byte aligned */
	/* Per route: its usage when it has exactly one, else RT_USAGE_SEVERAL
	 * (see the route). Dense, two bytes a route, so filtering many
	 * matched routes by the policy's usages reads little memory. */
	uint16_t *route_usage;
	const char **route_patterns;
	uint32_t n_routes;
	uint32_t n_route_usages; /* sum of the routes' n_usages */
	const char **usages;
	uint32_t n_usages;
	struct rt_policy *policies;
	uint32_t n_policies;

	uint32_t default_policy;
	const uint32_t *assign_policy; /* assignment id -> policy id */
	const char **assign_pattern;
	uint32_t n_assign;
	struct rt_dial_plan *dial_plans;
	uint32_t n_dial_plans;
	int32_t default_dial_plan;
	struct rt_rewrite *dp_rules; /* compiled, freed where dp_rule points */
	const struct rt_rewrite **dp_rule; /* per rule id; equal rules share one */
	uint32_t n_dp_rules;

	struct rt_codeset global_codes;
	uint32_t max_contacts;
	uint32_t retry_after;

	struct rt_matcher route_m;
	struct rt_matcher dial_m;
	struct rt_matcher assign_m;

	struct rt_index gw_ix, site_ix, route_ix, policy_ix;
	struct rt_index trunk_ix, usage_ix; /* for rt_snapshot_patch */
	/* Per route of a full build: its priority and config position, to
	 * place patched routes among them. */
	uint32_t *route_prio, *route_cfg;

	/* Reference count: 1 for the owner, +1 per patched snapshot layered
	 * on this one. Frees happen on one thread. */
	uint32_t refs;
	/* A patched snapshot (rt_snapshot_patch): base is the full build it
	 * layers on, whose route matcher (route_m, a shallow copy) and every
	 * table but the routes' it shares. Routes [0, n_base) are base's,
	 * the masked ones (replaced or removed: also marked in their route)
	 * never matching; routes [n_base, n_routes) are the patch's, matched
	 * by over_m (ids from 0) and ordered by their rank; by_rank maps a
	 * rank back to its route. At most RT_PATCH_ROUTES_MAX routes in all.
	 * NULL base: a full build. */
	struct rt_snapshot *base;
	uint32_t n_base, n_masked;
	uint8_t *masked;
	struct rt_matcher over_m;
	uint32_t *by_rank;
	uint32_t next_cfg; /* config position for the next new route */

	uint32_t max_route_trunks;
	uint32_t max_captures;
};
