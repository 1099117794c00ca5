#pragma once
/*
 * cfg_yaml: the YAML config file (SPEC section 4, "Config file") -> rt_config.
 *
 * Top-level keys, one per concept: failover, sip, gateways, trunks, usages,
 * routes, policies, assignments, dial_plans. Unknown keys, wrong types and
 * bad values are errors naming file, line and object; every error is
 * collected (not just the first). Only syntax and types are checked here;
 * cross-references (unknown trunk, duplicate names, patterns) are checked
 * by rt_snapshot_build(), which sees the line numbers recorded here.
 */
#include <stddef.h>

#include "rt_config.h"
#include "rt_diag.h"

/* As large as a control frame (STROWGER_FRAME_MAX): a carrier table of a
 * million routes is about 120 MiB of YAML. libyaml's document tree holds
 * about 24 bytes of memory per input byte while it is loaded. */
#define CFG_YAML_MAX_INPUT (512u << 20)

/* A config file's bytes (read to EOF, so pipes work), at most
 * CFG_YAML_MAX_INPUT; *len set. NULL on error (diag says why); the buffer
 * is the caller's (free). */
char *cfg_read_file(const char *path, size_t *len, struct rt_diag *diag);

/* NULL on error (diag says why). The returned config is the caller's. */
struct rt_config *cfg_yaml_load_file(const char *path, struct rt_diag *diag);
/* name is used in messages in place of a file name. */
struct rt_config *cfg_yaml_load_buffer(const char *buf, size_t len, const char *name,
				       struct rt_diag *diag);
