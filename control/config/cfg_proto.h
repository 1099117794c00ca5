#pragma once
/*
 * cfg_proto: rt_config <-> protobuf strowger.Config (proto/strowger.proto),
 * so strowgerctl can read a YAML file and ship the result to the daemon,
 * which turns it back into an rt_config and hands it to rt_snapshot_build().
 *
 * The round trip is lossless for everything in struct rt_config, including
 * every object's line (struct rt_src). File names are not carried per
 * object: on unpack an object with a line gets the config's source as its
 * file (without a line, NULL), so the daemon's messages still read
 * "seed.yaml:12: route 'X': ...". Failover code sets travel as canonical
 * items ("0", "408", "503-504").
 *
 * Like cfg_yaml, unpack checks syntax and ranges only (a required field
 * missing, port 0, a transport or code item it does not know); cross
 * references are rt_snapshot_build()'s job. Thread-safe (no shared state).
 */
#include <stddef.h>
#include <stdint.h>

#include "rt_arena.h"
#include "rt_config.h"
#include "rt_diag.h"
#include "strowger.pb-c.h"

/* Serialise cfg. On success *out is a malloc'd buffer of *len bytes (the
 * caller frees it) and 0 is returned; -ENOMEM otherwise. */
int cfg_proto_pack(const struct rt_config *cfg, uint8_t **out, size_t *len);

/* Parse a serialised Config. NULL on error, with the reasons in diag (a
 * malformed message is one error; bad fields are each reported, naming the
 * object and, when the sender carried it, its line). The returned config
 * is the caller's (rt_config_free). */
struct rt_config *cfg_proto_unpack(const uint8_t *buf, size_t len, struct rt_diag *diag);

/*
 * The same at message level, for callers that embed a Config in a larger
 * message (the control protocol). cfg_proto_to_msg allocates every message
 * node in arena a; strings point into cfg, so keep both cfg and a alive
 * while the message is used. NULL on ENOMEM.
 */
Strowger__Config *cfg_proto_to_msg(const struct rt_config *cfg, struct rt_arena *a);
/* NULL on error (diag says why). msg is not modified or kept. */
struct rt_config *cfg_proto_from_msg(const Strowger__Config *msg, struct rt_diag *diag);
