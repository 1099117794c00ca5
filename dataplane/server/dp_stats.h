#pragma once
/*
 * dp_stats: one consistent read of everything strowgerd counts, gathered
 * by the control thread (dp_ctl) for `strowgerctl stats` and for the
 * Prometheus exporter (dp_metrics). Plain data: names are copies owned by
 * the dp_stats (free with dp_stats_free), so a reader may keep it after
 * the generation it describes is gone.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dp_server.h"

struct dp_name_count {
	char *name;
	uint64_t count;
};

/* Health of one configured gateway or site, as decisions see it now. */
struct dp_health_stat {
	char *name;
	bool is_site;
	uint8_t effective; /* enum rt_health */
	bool drained;
};

struct dp_stats {
	uint64_t generation;
	double uptime_s;
	double loaded_at;       /* unix time the running config was published */
	unsigned workers;
	bool draining;          /* server drain (SIP OPTIONS -> 503) */
	struct dp_counters sum; /* every worker's counters added up */

	/* Since start, by name, across reloads (a route or gateway that was
	 * removed keeps its count). */
	struct dp_name_count *route_hits;   /* route of the first destination */
	size_t n_route_hits;
	struct dp_name_count *gw_selections; /* gateway of the first destination */
	size_t n_gw_selections;

	struct dp_health_stat *health; /* every gateway, then every site */
	size_t n_health;

	uint64_t reloads;          /* configs published after the first */
	uint64_t reload_failures;  /* configs rejected (file, control, SIGHUP) */
	double last_reload_s;      /* validate + compile + publish of the last one */
	uint32_t routes, gateways; /* in the running config */
};

void dp_stats_free(struct dp_stats *s);
