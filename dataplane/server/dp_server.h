#pragma once
/*
 * dp_server: strowgerd's data plane. N workers, each a thread owning one
 * I/O queue and a liburcu QSBR read side; the control side publishes
 * immutable state with an RCU pointer swap and frees the old one after a
 * grace period.
 *
 * What workers read (one rcu_dereference per burst, so a burst is answered
 * from one consistent state):
 *
 *   struct dp_state        health view for this generation (rebuilt on a
 *     -> struct dp_gen     health change without recompiling anything)
 *          snapshot + one rt_scratch per worker, readied before publishing
 *
 * Threading: dp_server_* functions other than the worker loop are called
 * from one control thread (main), which is never an RCU reader itself, so
 * it may wait for grace periods.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "dp_io.h"
#include "rt_decide.h"

/* Decision latency histogram: bucket i counts decisions that took less
 * than DP_LAT_BASE_NS << i nanoseconds (and at least the bucket before);
 * the last bucket is everything slower. */
#define DP_LAT_BUCKETS 16
#define DP_LAT_BASE_NS 128ull

/* Per-worker counters: written by that worker only (relaxed atomic
 * stores, so 64-bit reads from other threads are never torn), summed by
 * readers. Every member is a uint64_t (summed as an array). */
struct dp_counters {
	uint64_t rx[DP_SVC_COUNT];       /* datagrams received per service */
	uint64_t tx;                     /* replies handed to the backend */
	uint64_t status[RT_STATUS_COUNT];/* decisions by status */
	uint64_t malformed;              /* undecodable or invalid requests */
	uint64_t dropped;                /* requests left without a reply */
	uint64_t sip_invite, sip_ack, sip_cancel, sip_options, sip_other;
	uint64_t failover_queries;       /* queries carrying tried entries */
	uint64_t failover_by_code[RT_CODE_MAX + 1]; /* by the last tried code */
	uint64_t lat[DP_LAT_BUCKETS];    /* decision latency histogram */
	uint64_t lat_sum_ns;             /* sum of every measured decision */
	struct dp_io_counters io;
};

#define DP_COUNT(field) __atomic_store_n(&(field), (field) + 1, __ATOMIC_RELAXED)

/* One published config: the snapshot, every worker's scratch for its
 * databases, and per-worker counters indexed like the snapshot's routes and
 * gateways (each worker's row padded to whole cache lines). */
struct dp_gen {
	struct rt_snapshot *snap;
	unsigned n_workers;
	size_t n_routes, n_gateways;
	size_t route_stride, gw_stride; /* uint64_t per worker row */
	uint64_t *route_hits;           /* [worker * route_stride + route] */
	uint64_t *gw_selections;        /* [worker * gw_stride + gateway] */
	uint64_t *gw_failures;          /* failover reports naming it, same layout */
	struct rt_scratch *scratch[];   /* one per worker */
};

struct dp_state {
	struct dp_gen *gen;
	struct rt_health_view view;
	uint8_t *gw_health;   /* per snapshot gateway */
	uint8_t *site_health; /* per snapshot site */
};

struct dp_worker;
struct dp_tally;

struct dp_server {
	struct dp_state *state; /* RCU-protected: rcu_dereference to read */
	unsigned n_workers;
	struct dp_worker **workers;
	const struct dp_io_ops *io;
	atomic_bool stop;
	atomic_bool draining; /* SIP OPTIONS -> 503 */
	uint64_t next_generation;
	/* Serialises publication against statistics readers (the metrics
	 * thread); never taken by workers. */
	pthread_mutex_t lock;
	/* Counts of retired generations, by route and gateway name. */
	struct dp_tally *route_tally, *gw_tally, *gw_fail_tally;
};

/* Create n_workers workers (no queue yet). NULL + err. */
struct dp_server *dp_server_new(unsigned n_workers, const struct dp_io_ops *io, char *err,
				size_t errlen);
/* Worker i's counters: the backend queue for it counts into ->io. */
struct dp_counters *dp_server_worker_counters(struct dp_server *srv, unsigned i);
/* Give worker i its queue (the server frees it). Before dp_server_start. */
void dp_server_set_queue(struct dp_server *srv, unsigned i, struct dp_io_queue *q);
/* Publish snap (ownership passes to the server) with health arrays indexed
 * like snap's gateways and sites (copied; NULL: all unknown): ready
 * per-worker scratch, swap, wait for the grace period, fold the previous
 * generation's counters into the by-name totals and free it.
 * 0 or -ENOMEM (snap is then freed and the old state keeps serving). */
int dp_server_publish(struct dp_server *srv, struct rt_snapshot *snap, const uint8_t *gw_health,
		      const uint8_t *site_health);
/* Publish new health arrays for the running generation (no recompile,
 * scratch and counters kept). 0, -ENOMEM or -ENOENT (nothing published). */
int dp_server_set_health(struct dp_server *srv, const uint8_t *gw_health,
			 const uint8_t *site_health);
/* Start / stop-and-join the worker threads. */
int dp_server_start(struct dp_server *srv, char *err, size_t errlen);
void dp_server_stop(struct dp_server *srv);
void dp_server_free(struct dp_server *srv);

/* Sum of every worker's counters (relaxed reads). */
void dp_server_counters(const struct dp_server *srv, struct dp_counters *sum);
/* Current generation's snapshot, for the control thread only. */
const struct rt_snapshot *dp_server_snapshot(const struct dp_server *srv);

struct dp_stats;

/* Per gateway name, since start and across reloads: how often it was the
 * first destination, and how often a failover query reported it failed
 * (the last tried entry, with a code that is a failover code for it). */
struct dp_gw_count {
	char *name;
	uint64_t selections;
	uint64_t failures;
};
/* The running config's gateways only. *out is the caller's (free each
 * name, then the array). Any thread. 0 or -ENOMEM. */
int dp_server_gateway_counts(struct dp_server *srv, struct dp_gw_count **out, size_t *n);
/* Fill the data-plane part of *out: generation, workers, draining, summed
 * counters, route hits and gateway selections by name (retired generations
 * plus the running one), health of every configured gateway and site, route
 * and gateway counts. Any thread. 0 or -ENOMEM. */
int dp_server_stats(struct dp_server *srv, struct dp_stats *out);
