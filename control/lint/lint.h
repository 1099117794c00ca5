#pragma once
/*
 * lint: checks over a whole routing config (SPEC section 2 model, section 3
 * semantics) that validation cannot make, because they are about sets of
 * numbers rather than single objects:
 *
 *   route-never-chosen      every number it matches is matched, in every
 *                           policy that reaches it, by routes walked before
 *                           it that already offer each of its gateways
 *   route-unreachable       no policy lists any of its usages
 *   usage-unused            no route carries it
 *   trunk-unused, gateway-unused
 *   policy-capture          a route of an earlier usage takes numbers a
 *                           route of a later usage was meant for
 *                           (International before national), with a witness
 *   pattern-matches-nothing, pattern-no-number, pattern-matches-empty
 *   dial-rule-shadowed, assignment-shadowed, trunk-rule-shadowed
 *   failover-busy           failover codes include 486, 600 or 603
 *   pattern-not-analysable, not-decided   (info: what was not proved)
 *
 * Overlaps are decided exactly with automata (lx_dfa) over the universe of
 * normalised numbers \+?[0-9]{1,15} (dialled strings, 1..63 bytes as rt_decide
 * accepts them, for dial
 * plans, assignments and trunk rules). Patterns outside the analysable
 * subset are only used with evidence: sample numbers run through the
 * config's real matcher (the snapshot), reported as such. A search that
 * hits its limit is reported as not decided, never guessed.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lx_dfa.h"
#include "rt_arena.h"
#include "rt_config.h"
#include "rt_index.h"
#include "rt_snapshot.h"

enum lint_severity {
	LINT_INFO = 0,
	LINT_WARNING = 1,
	LINT_ERROR = 2,
};
const char *lint_severity_name(enum lint_severity s);

#define LINT_MAX_WIT 3

struct lint_finding {
	enum lint_severity sev;
	const char *kind;        /* stable identifier, e.g. "route-never-chosen" */
	const char *object_kind; /* "route", "policy", "dial plan", ... as validate says */
	char *object;            /* its name; NULL for the global failover codes */
	const char *file;        /* the config's (valid while the config is) */
	uint32_t line;
	char *message;           /* one line, without file/object prefix */
	char *witness[LINT_MAX_WIT];
	uint32_t n_witness;
	const char *proof; /* "automata", "matcher" (sample numbers) or NULL */
	uint32_t seq;      /* order found, for a stable sort */
};

struct lint_report {
	struct lint_finding *v;
	size_t n, cap;
	size_t count[3];   /* per severity */
	size_t undecided;  /* searches stopped at a limit */
	uint64_t explored; /* product states visited by every search */
	bool nomem;
};

struct lint_options {
	uint64_t max_states; /* per search; 0: LINT_MAX_STATES */
	uint64_t budget;     /* all searches together; 0: LINT_BUDGET */
};
#define LINT_MAX_STATES 200000
#define LINT_BUDGET 50000000

/* A pattern as an automaton (or why not). */
struct lint_pattern {
	const char *text;
	enum lx_status st;
	char why[160];
	bool other_partial; /* exact only on strings without OTHER bytes */
	bool empty_any;     /* an empty match at a start or end: matches every subject */
	struct lx_dfa dfa;
};

struct lint_step {
	uint32_t route; /* config index */
	uint32_t upos;  /* position of the usage in the policy */
};

/* A config's routes, usages and policies by index, routes as automata. */
struct lint_model {
	const struct rt_config *cfg;
	const struct rt_snapshot *snap; /* may be NULL: no matcher evidence */
	struct rt_arena *arena;
	struct rt_index usage_ix, trunk_ix, gw_ix, route_ix, policy_ix;
	struct lint_pattern *route;   /* per config route */
	uint32_t *order;              /* route walk order (priority, then config order) */
	uint32_t **route_usages;      /* usage indices */
	uint32_t *n_route_usages;
	uint32_t **route_gws;         /* gateway indices, distinct, in trunk order */
	uint32_t *n_route_gws;
	uint32_t **pol_usages;
	uint32_t *n_pol_usages;
	struct lint_step **walk;      /* per policy: every (route, usage) in walk order */
	uint32_t *n_walk;
	int32_t **first_step;         /* per policy, per route: first step, or -1 */
	struct lx_dfa u_e164, u_plausible, u_dial;
};

/* 0 or -ENOMEM. cfg (and snap) must outlive the model. */
int lint_model_build(struct lint_model *m, const struct rt_config *cfg,
		     const struct rt_snapshot *snap);
void lint_model_free(struct lint_model *m);

/* Run every check. 0 or -ENOMEM. Findings come sorted by file line. */
int lint_run(const struct lint_model *m, const struct lint_options *o, struct lint_report *out);
void lint_report_free(struct lint_report *r);

/* Does route r's gateway set equal / include route q's? */
bool lint_route_gws_equal(const struct lint_model *m, uint32_t r, uint32_t q);

/*
 * Sample numbers for evidence about patterns that are not analysable: each
 * route pattern's literal start (and each analysable route's shortest
 * number), padded with 0, 5 or 9 to every length up to 16, plus "" and "+"
 * padded the same way. Sorted, distinct. 0 or -ENOMEM; free with
 * lint_samples_free.
 */
int lint_sample_numbers(const struct lint_model *m, uint64_t max_states, char ***out, size_t *n);
void lint_samples_free(char **v, size_t n);

/*
 * The number regions one or more policies see: lx_regions over the E.164
 * universe and the automata of routes[0..n) (config indices; routes that
 * are not analysable must be left out by the caller). Examples come from
 * the plausible universe (+ and 8..15 digits) where a region has such
 * numbers, else from the whole universe. 0, -E2BIG (partial) or -ENOMEM.
 */
int lint_route_regions(const struct lx_dfa *u_e164, const struct lx_dfa *u_plausible,
		       const struct lx_dfa *const *routes, size_t n, uint64_t max_states,
		       struct lx_regions *out);
