#pragma once
/*
 * cfg_patch: change some routes of a config without restating the rest
 * (`strowgerctl patch`, the control channel's RoutePatch).
 *
 * A patch is a config holding routes only ("upsert") plus names of routes
 * to remove. Applied to the running config cur it gives cur with:
 *   - each upserted route replacing cur's route of the same name in place
 *     (same position in config order, so ties among routes of one priority
 *     keep resolving as before);
 *   - upserted routes with new names appended after every existing route,
 *     in the order given;
 *   - removed names dropped.
 * Everything else (gateways, trunks, usages, policies, ...) is cur's.
 *
 * The patch itself is checked here, before anything is compiled: a patch
 * config carrying anything but routes, a route without a name, a name
 * given twice (upserted twice, removed twice), a name both upserted and
 * removed, removing a route cur does not have. Every problem is reported
 * (file:line: route 'NAME': ...), not just the first. Cross references and
 * patterns are rt_snapshot_build()'s (or rt_snapshot_patch()'s) job.
 *
 * Cost is linear in cur's routes for an apply (one pass, strings copied
 * into one arena in large blocks) and linear in the patch for a check or
 * a diff once cur's route names are indexed (cfg_route_ix). Thread-safe (no
 * shared state); cur, ix and upsert are only read.
 */
#include <stdbool.h>
#include <stddef.h>

#include "cfg_diff.h"
#include "rt_config.h"
#include "rt_diag.h"

/* Route name -> position in one config. Keys point into that config: free
 * the index before (or with) it. */
struct cfg_route_ix;

/* NULL on ENOMEM. A config with duplicate route names (invalid anyway)
 * indexes the first of each. */
struct cfg_route_ix *cfg_route_ix_new(const struct rt_config *cfg);
void cfg_route_ix_free(struct cfg_route_ix *ix);
/* Position of the route named name in the indexed config, or -1 (also
 * for a NULL ix or name). */
long cfg_route_ix_find(const struct cfg_route_ix *ix, const char *name);

/*
 * The checks above against cur (indexed by ix; NULL: indexed here). 0, or
 * -EINVAL with every problem in diag, or -ENOMEM (with a diag too).
 */
int cfg_patch_check(const struct rt_config *cur, const struct cfg_route_ix *ix,
		    const struct rt_config *upsert, const char *const *remove, size_t n_remove,
		    struct rt_diag *diag);

/*
 * A NEW config equal to cur with the patch applied (see above), owning its
 * memory (one arena of its own: it outlives neither cur nor upsert, and
 * both are left untouched). upsert may be NULL (removals only). NULL with
 * diags when the patch is refused (cfg_patch_check) or on ENOMEM.
 * cfg_patch_apply_ix takes cur's index when the caller keeps one (ix NULL:
 * the same as cfg_patch_apply).
 */
struct rt_config *cfg_patch_apply(const struct rt_config *cur, const struct rt_config *upsert,
				  const char *const *remove, size_t n_remove,
				  struct rt_diag *diag);
struct rt_config *cfg_patch_apply_ix(const struct rt_config *cur, const struct cfg_route_ix *ix,
				     const struct rt_config *upsert, const char *const *remove,
				     size_t n_remove, struct rt_diag *diag);

/*
 * What applying a checked patch changes, without building the new config:
 * exactly what cfg_diff(cur, cfg_patch_apply(cur, ...)) reports (routes
 * only: added in the order given, changed in cur's order, an upserted
 * route equal to cur's is no change; removed in cur's order). 0 or
 * -ENOMEM (then *out is empty). cfg_diff_free(out) afterwards.
 */
int cfg_patch_diff(const struct rt_config *cur, const struct cfg_route_ix *ix,
		   const struct rt_config *upsert, const char *const *remove, size_t n_remove,
		   struct cfg_diff *out);

/*
 * A patch file: YAML whose only top-level key is `routes` (a mapping; an
 * empty file is an empty patch). Any other section is an error naming
 * file:line and the section; otherwise as cfg_yaml_load_file. NULL on
 * error (diag says why); the config is the caller's.
 */
struct rt_config *cfg_patch_load_file(const char *path, struct rt_diag *diag);
/* The same on a buffer (name is used in messages in place of a file name). */
struct rt_config *cfg_patch_load_buffer(const char *buf, size_t len, const char *name,
					struct rt_diag *diag);
