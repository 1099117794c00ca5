#pragma once
/*
 * cd_persist: the last accepted config in --state-dir, so a restarted
 * strowgerd serves it before any control client is heard (SPEC section 4).
 *
 * File: DIR/config.state = 16-byte header ("STROWGER-STATE1\n"), 8-byte
 * little-endian payload length, 8-byte FNV-1a-64 checksum of the payload,
 * then a protobuf PersistedState. Written to a temporary file, fsync'd,
 * renamed over the old one, and the directory fsync'd: a crash leaves the
 * old file or the new one, never half of one. A file that fails any check is
 * reported (with why) and not used.
 */
#include <stdint.h>

#include "rt_config.h"
#include "rt_diag.h"

#define CD_STATE_FILE "config.state"

/* Save cfg as generation, origin ("file", "control", "sighup"). 0 or
 * -errno with a reason in err. */
int cd_persist_save(const char *dir, const struct rt_config *cfg, uint64_t generation,
		    const char *origin, char *err, size_t errlen);

/*
 * Load DIR/config.state. 0 with *cfg (caller frees), *generation and
 * *saved_at; -ENOENT when there is no state file (not an error); any other
 * -errno with the reason in err (corrupt, unreadable, config invalid).
 */
/* The same checks and decoding on a state file's bytes (path is for
 * messages). */
int cd_persist_parse(const uint8_t *buf, size_t len, const char *path, struct rt_config **cfg,
		     uint64_t *generation, double *saved_at, char *err, size_t errlen);

int cd_persist_load(const char *dir, struct rt_config **cfg, uint64_t *generation,
		    double *saved_at, char *err, size_t errlen);
