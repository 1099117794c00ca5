#pragma once
/*
 * cd_server: strowgerd's control plane, run by the main thread once the
 * workers are up (SPEC section 4, control):
 *
 *  - the control channel: length-prefixed ControlRequest/ControlResponse
 *    frames on a Unix socket (mode 0600) and optionally TCP (a token is
 *    required off loopback, and checked on every request when set);
 *    non-blocking, many clients, bounded buffers, idle clients dropped;
 *  - config loads: validated and compiled on a loader thread (so the
 *    channel stays responsive), published by an RCU swap, persisted in
 *    --state-dir; one load at a time, others refused with the reason;
 *  - health reports, drains, status and stats;
 *  - signals: SIGHUP reloads --config, SIGTERM/SIGINT drain (SIP OPTIONS
 *    503) for the grace period, then return so main can stop the workers.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cd_breaker.h"
#include "dp_server.h"
#include "dp_stats.h"

struct cd_opts {
	const char *config_path;  /* --config; may be NULL when state exists */
	const char *state_dir;    /* --state-dir; NULL: no persistence */
	const char *unix_path;    /* control socket path; NULL: none */
	const char *tcp;          /* "ADDR:PORT" or NULL */
	const char *token;        /* TCP token, NULL: none */
	uint32_t health_ttl_ms;   /* default TTL of a health report, 0: none */
	uint32_t hysteresis;      /* reports needed to change a state */
	uint32_t quorum;          /* sources that must agree on a bad state */
	struct cd_breaker_opts breaker;
	uint32_t drain_grace_ms;  /* SIGTERM: OPTIONS 503 for this long */
	/* A patched snapshot (rt_snapshot_patch) served this long with no
	 * other change is rebuilt whole (a COMPACT job); 0: never. */
	uint32_t compact_after_ms;
	const char *version;
	const char *io_name;
	const char *listeners;    /* "SIP udp 0.0.0.0:5060, native udp ..." for status */
};

struct cd_server;

/* NULL with err. Blocks SIGHUP/SIGINT/SIGTERM in the calling thread (call
 * before starting any other thread so they inherit the mask). */
struct cd_server *cd_server_new(struct dp_server *srv, const struct cd_opts *o, char *err,
				size_t errlen);
void cd_server_free(struct cd_server *cd);

/*
 * Publish the first config: the state file's (when --state-dir holds a
 * valid one no older than --config) or --config's. 0, or -1 after logging
 * every reason.
 */
int cd_server_load_initial(struct cd_server *cd);

/* Open the control listeners. 0 or -1 with err. */
int cd_server_listen(struct cd_server *cd, char *err, size_t errlen);

/* Serve until SIGTERM/SIGINT (and the drain grace) are over. Returns the
 * signal that stopped it. */
int cd_server_run(struct cd_server *cd);

/* Statistics for the metrics exporter (any thread). 0 or -ENOMEM. */
int cd_server_collect(void *cd, struct dp_stats *out);
