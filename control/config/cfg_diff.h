#pragma once
/*
 * cfg_diff: what loading config b in place of the running config a would
 * change, per kind of object, for `strowgerctl load FILE --dry-run`.
 *
 * Objects are matched by name; assignments, which have none, by their
 * calling-number pattern and policy, shown as "PATTERN -> POLICY". An object
 * in both is "changed" when anything that can alter a decision differs:
 * its fields (source file and lines never count, so moving an object in the
 * file or adding a comment above it is not a change), and, where the SPEC
 * gives config order a meaning, its order relative to the other unchanged
 * objects: assignments are tried first match first, and routes of one
 * priority carrying the same usage keep config order. Only the fewest
 * objects that explain a reordering are reported (those outside a longest
 * run that kept its order), so inserting or removing one object does not
 * make its neighbours "changed".
 *
 * Strings compare as the protobuf Config carries them: NULL and "" are the
 * same (an absent site, fallback or dial plan). Names that appear more than
 * once (an invalid config, or two identical assignments) are paired in
 * order of appearance.
 *
 * Cost is linear in the number of objects plus a sort of the routes by
 * priority (names are hashed, objects never compared pairwise): a million
 * routes diff in under a second. Thread-safe (no shared state); a and b are
 * only read.
 */
#include <stdbool.h>
#include <stddef.h>

#include "rt_config.h"

enum cfg_diff_kind {
	CFG_DIFF_GATEWAY,
	CFG_DIFF_TRUNK,
	CFG_DIFF_USAGE,
	CFG_DIFF_ROUTE,
	CFG_DIFF_POLICY,
	CFG_DIFF_ASSIGNMENT,
	CFG_DIFF_DIAL_PLAN,
	CFG_DIFF_KINDS
};

/* "gateway", "trunk", "usage", "route", "policy", "assignment", "dial_plan";
 * "?" for anything else. */
const char *cfg_diff_kind_name(enum cfg_diff_kind k);

struct cfg_diff_list {
	char **names; /* malloc'd copies, each malloc'd; NULL when n == 0 */
	size_t n;
};

/* added and changed in the order of b, removed in the order of a. */
struct cfg_diff_entry {
	struct cfg_diff_list added, removed, changed;
};

struct cfg_diff {
	struct cfg_diff_entry kinds[CFG_DIFF_KINDS];
	bool globals_changed; /* global failover codes or sip settings */
};

/*
 * Diff the running config a against the new config b. a may be NULL
 * (nothing runs yet): everything in b is added and globals_changed is set.
 * Returns 0, or -ENOMEM (then *out is left empty, nothing to free). Either
 * way cfg_diff_free(out) is safe afterwards.
 */
int cfg_diff(const struct rt_config *a, const struct rt_config *b, struct cfg_diff *out);
/* Two routes the same but for their names and lines (what makes the diff
 * say "changed"). */
bool cfg_route_same(const struct rt_cfg_route *x, const struct rt_cfg_route *y);
void cfg_diff_free(struct cfg_diff *d);
/* Total names in all lists, plus 1 when globals changed: 0 means no change. */
size_t cfg_diff_changes(const struct cfg_diff *d);
