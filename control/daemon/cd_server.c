/*
 * cd_server: see cd_server.h.
 *
 * One thread (main) runs an epoll loop over: a signalfd, the control
 * listeners and clients, a timerfd for health expiry, a timerfd for the
 * drain grace, and an eventfd the loader thread writes when a config has
 * been compiled. Everything here but the loader thread and
 * cd_server_collect runs on that thread, so only the figures the metrics
 * thread reads are behind a mutex.
 */
#include "cd_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cd_health.h"
#include "cd_persist.h"
#include "cfg_diff.h"
#include "cfg_patch.h"
#include "cfg_proto.h"
#include "cfg_yaml.h"
#include "dp_io.h"
#include "dp_log.h"
#include "rt_snapshot.h"
#include "strowger.pb-c.h"
#include "strowger_frame.h"

#define CD_MAX_CLIENTS 64
#define CD_PARTIAL_TIMEOUT_MS 30000 /* a frame must arrive within this */
#define CD_WBUF_MAX (64u << 20)     /* unread responses before we give up */
#define CD_READ_CHUNK 65536

struct cd_client {
	int fd;
	bool tcp;
	bool busy;    /* a load for it is on the loader thread, or deferred */
	bool closing; /* close once wbuf is written */
	/* A load or patch that arrived while the config model was catching up
	 * with a patch (a FOLD job): handled when that is done. */
	Strowger__ControlRequest *deferred;
	uint64_t deferred_seq;
	uint64_t serial;
	int64_t partial_since; /* ms; -1 when no partial frame is buffered */
	uint8_t *rbuf;
	size_t rlen, rcap;
	uint8_t *wbuf;
	size_t wlen, woff, wcap;
	struct cd_client *next;
};

/*
 * What the loader thread does, one job at a time:
 *  - LOAD: a whole config (--config on SIGHUP, a control LoadRequest, or a
 *    rebuild of the running config model) parsed, compiled, diffed;
 *  - PATCH: a control RoutePatch: checked against the running config, then
 *    compiled incrementally on top of the running snapshot
 *    (rt_snapshot_patch) or, when that declines, as a whole config;
 *  - FOLD: after an incremental patch went live, the config model
 *    (cd->cur_cfg) catches up: the patch applied to it, indexed, saved;
 *  - COMPACT: a patched snapshot served --compact-after with no other
 *    change is replaced by a whole build of the config model (the same
 *    routes, decided faster; a new generation).
 * While a FOLD or COMPACT runs, loads, patches and SIGHUP wait for it.
 */
enum cd_job_kind {
	CD_JOB_LOAD,
	CD_JOB_PATCH,
	CD_JOB_FOLD,
	CD_JOB_COMPACT,
};

struct cd_job {
	enum cd_job_kind kind;
	/* in */
	char *path;                   /* YAML file (SIGHUP, startup), or */
	Strowger__ControlRequest *req; /* a control LoadRequest or RoutePatch */
	bool rebuild;                 /* LOAD: compile a copy of cur (no input) */
	bool dry_run;
	const char *origin;           /* "sighup", "control", "patch" */
	uint64_t generation;
	const struct rt_config *cur;  /* stable while the job runs */
	const struct cfg_route_ix *cur_ix; /* cur's route names; NULL: not indexed yet */
	const char *state_dir;        /* FOLD saves there (NULL: nowhere) */
	struct rt_snapshot *base;     /* PATCH, FOLD: the running snapshot (not owned) */
	struct rt_config *upsert;     /* PATCH, FOLD: the patch's routes */
	const char *const *remove;    /* PATCH, FOLD: names to drop (in req) */
	size_t n_remove;
	uint64_t client_serial;       /* 0: none */
	uint64_t req_id;
	int64_t started_ms;
	/* out */
	struct rt_config *cfg;        /* the new config (LOAD, full-path PATCH, FOLD) */
	struct cfg_route_ix *ix;      /* cfg's route names (NULL: index later) */
	struct cfg_route_ix *cur_ix_built; /* cur's, when the job had to index it */
	struct rt_snapshot *snap;
	bool incremental;             /* snap is rt_snapshot_patch()'s */
	struct rt_diag diag;
	struct cfg_diff diff;
	bool have_diff;
	double compile_s;
	uint32_t n_routes, n_gateways; /* of the new config, once it compiled */
	double fold_s, save_s;        /* FOLD */
	int save_rc;
	char save_err[512];
	bool disagree;                /* FOLD: the model is not what base serves */
	char disagree_why[256];
	uint64_t compacted;           /* COMPACT: the patched generation it replaces */
};

struct cd_server {
	struct dp_server *srv;
	struct cd_opts o;
	struct cd_health *health;
	struct cd_breaker *breaker;
	int64_t breaker_tick_ms;
	struct rt_config *cur_cfg;
	struct cfg_route_ix *cur_ix; /* cur_cfg's route names; NULL until indexed */
	const char *cur_origin;
	/* An incremental patch is live but cur_cfg does not show it yet: the
	 * fold job waiting to (re)run (NULL while it runs or when none). */
	struct cd_job *fold_pending;
	int64_t fold_retry_ms;
	/* cur_cfg could not follow a live patch: patches are refused until a
	 * whole config is loaded. */
	bool model_stale;
	/* Held until the running FOLD job is done (it takes moments, and the
	 * operator did not ask for it): a SIGHUP, control loads and patches. */
	bool hup_deferred;
	uint64_t defer_seq;
	/* When the served config last changed (a publish, or the model
	 * catching up), and when a failed COMPACT may be tried again. */
	int64_t last_change_ms;
	int64_t compact_retry_ms;
	int ep, sigfd, expfd, gracefd, donefd, unixfd, tcpfd;
	char unix_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	bool unix_bound;
	struct cd_client *clients;
	unsigned n_clients;
	uint64_t next_serial;
	struct cd_job *job;
	pthread_t job_thread;
	bool stopping;
	int stop_sig;
	double start_mono;
	/* read by the metrics thread */
	pthread_mutex_t lock;
	uint64_t reloads, reload_failures;
	double last_reload_s, loaded_at;
};

/* ---- time ------------------------------------------------------------------ */

static int64_t mono_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static double mono_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static double real_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static void timer_arm(int fd, int64_t ms)
{
	struct itimerspec it = {0};
	if (ms >= 0) {
		if (ms == 0)
			ms = 1; /* 0 would disarm */
		it.it_value.tv_sec = ms / 1000;
		it.it_value.tv_nsec = (ms % 1000) * 1000000;
	}
	timerfd_settime(fd, 0, &it, NULL);
}

/* ---- health publication ------------------------------------------------------ */

/* Project the health table onto snap and publish it with snap (when snap
 * is not NULL) or alone. 0 or -ENOMEM. */
static int publish(struct cd_server *cd, struct rt_snapshot *snap)
{
	const struct rt_snapshot *s = snap ? snap : dp_server_snapshot(cd->srv);
	if (!s)
		return 0;
	uint8_t *gw = calloc(rt_snapshot_gateway_count(s) + 1, 1);
	uint8_t *site = calloc(rt_snapshot_site_count(s) + 1, 1);
	int rc = -ENOMEM;
	if (gw && site) {
		cd_health_project(cd->health, s, gw, site);
		rc = snap ? dp_server_publish(cd->srv, snap, gw, site)
			  : dp_server_set_health(cd->srv, gw, site);
		snap = NULL; /* owned by the server now, even on failure */
	}
	if (snap)
		rt_snapshot_free(snap);
	free(gw);
	free(site);
	return rc;
}

/* Once a second: feed every gateway's attempt and failure totals to the
 * breaker; a changed verdict is a health change like any report. */
static void breaker_tick(struct cd_server *cd)
{
	int64_t now = mono_ms();
	if (!cd->o.breaker.enabled || now - cd->breaker_tick_ms < 1000)
		return;
	cd->breaker_tick_ms = now;
	struct dp_gw_count *v;
	size_t n;
	if (dp_server_gateway_counts(cd->srv, &v, &n) != 0)
		return;
	bool changed = false;
	for (size_t i = 0; i < n; i++) {
		if (cd_breaker_update(cd->breaker, v[i].name, v[i].selections, v[i].failures,
				      now) > 0) {
			enum rt_health verdict = cd_breaker_verdict(cd->breaker, v[i].name);
			enum cd_breaker_state bs;
			double ratio = 0;
			uint64_t samples = 0;
			cd_breaker_info(cd->breaker, v[i].name, &bs, &ratio, &samples);
			dp_log(DP_LOG_INFO, "breaker %s: %s (failure ratio %.2f over %llu samples)",
			       v[i].name, cd_breaker_state_name(bs), ratio,
			       (unsigned long long)samples);
			pthread_mutex_lock(&cd->lock);
			changed |= cd_health_set_breaker(cd->health, v[i].name, verdict) > 0;
			pthread_mutex_unlock(&cd->lock);
		}
		free(v[i].name);
	}
	free(v);
	if (changed && publish(cd, NULL) != 0)
		dp_log(DP_LOG_ERR, "out of memory publishing health");
}

static void rearm_expiry(struct cd_server *cd)
{
	int64_t next;
	pthread_mutex_lock(&cd->lock);
	cd_health_expire(cd->health, mono_ms(), &next);
	pthread_mutex_unlock(&cd->lock);
	timer_arm(cd->expfd, next < 0 ? -1 : next - mono_ms());
}

static void on_expiry(struct cd_server *cd)
{
	uint64_t n;
	int64_t next;
	if (read(cd->expfd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&cd->lock);
	int changed = cd_health_expire(cd->health, mono_ms(), &next);
	pthread_mutex_unlock(&cd->lock);
	if (changed > 0 && publish(cd, NULL) != 0)
		dp_log(DP_LOG_ERR, "out of memory publishing health");
	timer_arm(cd->expfd, next < 0 ? -1 : next - mono_ms());
}

/* ---- loading ------------------------------------------------------------------- */

/* Control thread only (snapshots are freed on one thread). */
static void job_free(struct cd_job *j)
{
	if (!j)
		return;
	free(j->path);
	if (j->req)
		strowger__control_request__free_unpacked(j->req, NULL);
	rt_config_free(j->cfg);
	rt_config_free(j->upsert);
	cfg_route_ix_free(j->ix);
	cfg_route_ix_free(j->cur_ix_built);
	if (j->snap)
		rt_snapshot_free(j->snap);
	rt_diag_clear(&j->diag);
	if (j->have_diff)
		cfg_diff_free(&j->diff);
	free(j);
}

/* LOAD: parse, validate, compile and diff. */
static void load_work(struct cd_job *j)
{
	double t0 = mono_s();
	if (j->rebuild)
		j->cfg = cfg_patch_apply(j->cur, NULL, NULL, 0, &j->diag); /* a copy */
	else if (j->path)
		j->cfg = cfg_yaml_load_file(j->path, &j->diag);
	else
		j->cfg = cfg_proto_from_msg(j->req->load->config, &j->diag);
	if (j->cfg)
		j->snap = rt_snapshot_build(j->cfg, j->generation, &j->diag);
	j->compile_s = mono_s() - t0;
	if (!j->snap)
		return;
	j->n_routes = (uint32_t)j->cfg->n_routes;
	j->n_gateways = (uint32_t)j->cfg->n_gateways;
	if (cfg_diff(j->cur, j->cfg, &j->diff) == 0)
		j->have_diff = true;
	/* For the patches to come (NULL on ENOMEM: the first one indexes). */
	if (!j->dry_run)
		j->ix = cfg_route_ix_new(j->cfg);
}

/*
 * PATCH. The order is what makes a patch quick: the cheap checks (names,
 * sections) against the running config's index first, then the snapshot
 * built on top of the running one; only when rt_snapshot_patch declines
 * is the whole patched config built and compiled. The config model of an
 * incremental patch is rebuilt after it went live (FOLD).
 */
static void patch_work(struct cd_job *j)
{
	double t0 = mono_s();
	const Strowger__RoutePatch *p = j->req->patch;
	const struct cfg_route_ix *ix = j->cur_ix;

	j->upsert = p->routes ? cfg_proto_from_msg(p->routes, &j->diag) : rt_config_new("patch");
	if (!j->upsert) {
		if (!p->routes)
			rt_diag_add(&j->diag, NULL, NULL, NULL, "out of memory");
		goto done;
	}
	if (!ix && !(ix = j->cur_ix_built = cfg_route_ix_new(j->cur))) {
		rt_diag_add(&j->diag, NULL, NULL, NULL, "out of memory");
		goto done;
	}
	if (cfg_patch_check(j->cur, ix, j->upsert, j->remove, j->n_remove, &j->diag) != 0)
		goto done;
	size_t before = rt_diag_count(&j->diag);
	j->snap = rt_snapshot_patch(j->base, j->upsert, j->remove, j->n_remove, j->generation,
				    &j->diag);
	if (j->snap) {
		j->incremental = true;
	} else if (rt_diag_count(&j->diag) == before) {
		/* Declined: the whole config, as a load would. */
		j->cfg = cfg_patch_apply_ix(j->cur, ix, j->upsert, j->remove, j->n_remove,
					    &j->diag);
		if (j->cfg)
			j->snap = rt_snapshot_build(j->cfg, j->generation, &j->diag);
	}
done:
	j->compile_s = mono_s() - t0;
	if (!j->snap)
		return;
	/* Exactly cfg_diff(cur, patched config), from the patch alone. */
	if (cfg_patch_diff(j->cur, ix, j->upsert, j->remove, j->n_remove, &j->diff) == 0)
		j->have_diff = true;
	j->n_routes = (uint32_t)rt_snapshot_live_route_count(j->snap);
	j->n_gateways = (uint32_t)j->cur->n_gateways;
	if (j->cfg && !j->dry_run)
		j->ix = cfg_route_ix_new(j->cfg);
}

/*
 * FOLD: does the snapshot the patch published (base) serve what the model
 * (j->cfg) now says of the routes the patch touched? Each upserted route
 * by its name with its pattern, no removed one. Linear in the patch: the
 * whole route set is compared by the control fuzz target (rt_snapshot_patch
 * against rt_snapshot_build of cfg_patch_apply's config), not here, where
 * a second patch may be waiting.
 */
static void fold_verify(struct cd_job *j)
{
	const struct rt_snapshot *s = j->base;
	if (!s)
		return;
	for (size_t i = 0; i < j->upsert->n_routes; i++) {
		const struct rt_cfg_route *r = &j->upsert->routes[i];
		long id = rt_snapshot_route_index(s, r->name, (size_t)-1);
		long m = cfg_route_ix_find(j->ix, r->name);
		if (id < 0 || strcmp(rt_snapshot_route_pattern(s, (size_t)id), r->pattern) ||
		    (j->ix && (m < 0 || strcmp(j->cfg->routes[m].pattern, r->pattern)))) {
			snprintf(j->disagree_why, sizeof(j->disagree_why),
				 "route '%s' differs between the served snapshot and the config "
				 "model", r->name);
			j->disagree = true;
			return;
		}
	}
	for (size_t i = 0; i < j->n_remove; i++) {
		if (rt_snapshot_route_index(s, j->remove[i], (size_t)-1) >= 0 ||
		    (j->ix && cfg_route_ix_find(j->ix, j->remove[i]) >= 0)) {
			snprintf(j->disagree_why, sizeof(j->disagree_why),
				 "route '%s' was removed but is still served or modelled",
				 j->remove[i]);
			j->disagree = true;
			return;
		}
	}
}

/* FOLD: the live patch applied to the config model, indexed and saved. */
static void fold_work(struct cd_job *j)
{
	double t0 = mono_s();
	j->cfg = cfg_patch_apply_ix(j->cur, j->cur_ix, j->upsert, j->remove, j->n_remove,
				    &j->diag);
	if (!j->cfg)
		return;
	j->ix = cfg_route_ix_new(j->cfg);
	fold_verify(j);
	j->fold_s = mono_s() - t0;
	if (j->state_dir) {
		t0 = mono_s();
		j->save_rc = cd_persist_save(j->state_dir, j->cfg, j->generation, j->origin,
					     j->save_err, sizeof(j->save_err));
		j->save_s = mono_s() - t0;
	}
}

/* COMPACT: the config model compiled whole. It is what the patched
 * snapshot serves (FOLD checked the patch's routes), and nothing changes
 * it while this runs: loads and patches wait. */
static void compact_work(struct cd_job *j)
{
	double t0 = mono_s();
	j->snap = rt_snapshot_build(j->cur, j->generation, &j->diag);
	j->compile_s = mono_s() - t0;
}

/* Does the running job make loads, patches and SIGHUP wait (rather than
 * refusing them)? Then what they wait for, for the log. */
static const char *job_defers(const struct cd_job *j, char *buf, size_t len)
{
	if (!j)
		return NULL;
	if (j->kind == CD_JOB_FOLD)
		snprintf(buf, len, "the config model to catch up with patch generation %llu",
			 (unsigned long long)j->generation);
	else if (j->kind == CD_JOB_COMPACT)
		snprintf(buf, len, "the patched generation %llu to be rebuilt whole",
			 (unsigned long long)j->compacted);
	else
		return NULL;
	return buf;
}

/* Off the control thread. */
static void job_work(struct cd_job *j)
{
	switch (j->kind) {
	case CD_JOB_LOAD:
		load_work(j);
		break;
	case CD_JOB_PATCH:
		patch_work(j);
		break;
	case CD_JOB_FOLD:
		fold_work(j);
		break;
	case CD_JOB_COMPACT:
		compact_work(j);
		break;
	}
}

static void *job_main(void *arg)
{
	struct cd_server *cd = arg;
	uint64_t one = 1;
	job_work(cd->job);
	if (write(cd->donefd, &one, sizeof(one)) < 0)
		dp_log(DP_LOG_ERR, "loader: cannot wake the control thread: %s", strerror(errno));
	return NULL;
}

/* Start j on the loader thread. 0, or -EBUSY (another load runs) / -errno;
 * on failure j is the caller's. */
static int job_start(struct cd_server *cd, struct cd_job *j)
{
	if (cd->job)
		return -EBUSY;
	j->cur = cd->cur_cfg;
	j->cur_ix = cd->cur_ix;
	j->state_dir = cd->o.state_dir;
	j->started_ms = mono_ms();
	rt_diag_init(&j->diag);
	cd->job = j;
	int rc = pthread_create(&cd->job_thread, NULL, job_main, cd);
	if (rc) {
		cd->job = NULL;
		return -rc;
	}
	return 0;
}

/* Why a load, patch or SIGHUP is refused: a LOAD or PATCH runs (a FOLD or
 * COMPACT makes them wait instead, see job_defers). */
static const char *busy_reason(struct cd_server *cd, char *buf, size_t len)
{
	double s = (double)(mono_ms() - cd->job->started_ms) / 1000;
	snprintf(buf, len, "another config load (%s) has been compiling for %.1f s; try again "
			   "when it is done", cd->job->origin, s);
	return buf;
}

static void persist(struct cd_server *cd, const struct rt_config *cfg, uint64_t gen,
		    const char *origin)
{
	char err[512];
	if (!cd->o.state_dir)
		return;
	if (cd_persist_save(cd->o.state_dir, cfg, gen, origin, err, sizeof(err)) != 0)
		dp_log(DP_LOG_ERR, "cannot persist generation %llu: %s (still serving it)",
		       (unsigned long long)gen, err);
}

/* The config model is j's whole config from now on (whatever patch was
 * waiting to be folded into the previous one is moot). */
static void adopt_config(struct cd_server *cd, struct cd_job *j)
{
	rt_config_free(cd->cur_cfg);
	cfg_route_ix_free(cd->cur_ix);
	cd->cur_cfg = j->cfg;
	cd->cur_ix = j->ix;
	j->cfg = NULL;
	j->ix = NULL;
	job_free(cd->fold_pending);
	cd->fold_pending = NULL;
	cd->model_stale = false;
}

/* A compiled job goes live: publish, persist, adopt its config (a whole
 * config; an incremental patch has none yet). The job's snapshot and
 * config are taken. 0 or -ENOMEM (old config still serves). */
static int job_commit(struct cd_server *cd, struct cd_job *j, double *publish_s)
{
	double t0 = mono_s();
	uint64_t gen = rt_snapshot_generation(j->snap);
	int rc = publish(cd, j->snap);
	j->snap = NULL;
	*publish_s = mono_s() - t0;
	if (rc)
		return rc;
	cd->srv->next_generation = gen + 1;
	cd->last_change_ms = mono_ms();
	if (j->cfg) {
		persist(cd, j->cfg, gen, j->origin);
		adopt_config(cd, j);
	}
	cd->cur_origin = j->origin;
	pthread_mutex_lock(&cd->lock);
	cd->reloads++;
	cd->last_reload_s = j->compile_s + *publish_s;
	cd->loaded_at = real_s();
	pthread_mutex_unlock(&cd->lock);
	return 0;
}

/* ---- responses -------------------------------------------------------------------- */

static struct cd_client *client_by_serial(struct cd_server *cd, uint64_t serial)
{
	for (struct cd_client *c = cd->clients; c; c = c->next)
		if (c->serial == serial)
			return c;
	return NULL;
}

static void client_flush(struct cd_server *cd, struct cd_client *c);

/* By address, without touching *c (it may have been freed). */
static bool client_alive(const struct cd_server *cd, const struct cd_client *c)
{
	for (const struct cd_client *x = cd->clients; x; x = x->next)
		if (x == c)
			return true;
	return false;
}

/* Queue one framed response. */
static void send_response(struct cd_server *cd, struct cd_client *c,
			  const Strowger__ControlResponse *r)
{
	size_t n = strowger__control_response__get_packed_size(r);
	if (n > STROWGER_FRAME_MAX || c->wlen + STROWGER_FRAME_HDR + n > CD_WBUF_MAX) {
		dp_log(DP_LOG_WARN, "control client %llu: response of %zu bytes not sent, "
				       "closing (it does not read its answers)",
		       (unsigned long long)c->serial, n);
		c->closing = true;
		c->wlen = c->woff = 0;
		client_flush(cd, c);
		return;
	}
	if (c->wlen + STROWGER_FRAME_HDR + n > c->wcap) {
		size_t cap = (c->wlen + STROWGER_FRAME_HDR + n) * 2;
		uint8_t *b = realloc(c->wbuf, cap);
		if (!b) {
			c->closing = true;
			client_flush(cd, c);
			return;
		}
		c->wbuf = b;
		c->wcap = cap;
	}
	strowger_frame_put_len(c->wbuf + c->wlen, (uint32_t)n);
	strowger__control_response__pack(r, c->wbuf + c->wlen + STROWGER_FRAME_HDR);
	c->wlen += STROWGER_FRAME_HDR + n;
	client_flush(cd, c);
}

__attribute__((format(printf, 4, 5))) static void send_error(struct cd_server *cd,
							      struct cd_client *c, uint64_t id,
							      const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	char *errs[1] = {msg};
	Strowger__ControlResponse r = STROWGER__CONTROL_RESPONSE__INIT;
	r.id = id;
	r.ok = false;
	r.n_errors = 1;
	r.errors = errs;
	send_response(cd, c, &r);
}

/* Diff as a message; pointers into d (alive while the message is used). */
static void diff_to_msg(const struct cfg_diff *d, Strowger__ConfigDiff *m,
			Strowger__ConfigDiff__Kind *kinds, Strowger__ConfigDiff__Kind **kp)
{
	strowger__config_diff__init(m);
	m->globals_changed = d->globals_changed;
	m->kinds = kp;
	for (int k = 0; k < CFG_DIFF_KINDS; k++) {
		const struct cfg_diff_entry *e = &d->kinds[k];
		if (!e->added.n && !e->removed.n && !e->changed.n)
			continue;
		Strowger__ConfigDiff__Kind *km = &kinds[m->n_kinds];
		strowger__config_diff__kind__init(km);
		km->kind = (char *)cfg_diff_kind_name((enum cfg_diff_kind)k);
		km->added = e->added.names;
		km->n_added = e->added.n;
		km->removed = e->removed.names;
		km->n_removed = e->removed.n;
		km->changed = e->changed.names;
		km->n_changed = e->changed.n;
		kp[m->n_kinds++] = km;
	}
}

static void job_respond(struct cd_server *cd, struct cd_job *j, bool ok, double publish_s,
			uint64_t generation, const char *extra_error)
{
	struct cd_client *c = client_by_serial(cd, j->client_serial);
	if (!c)
		return; /* the client went away: the load stands anyway */
	c->busy = false;
	Strowger__ControlResponse r = STROWGER__CONTROL_RESPONSE__INIT;
	Strowger__LoadResponse lr = STROWGER__LOAD_RESPONSE__INIT;
	Strowger__ConfigDiff dm;
	Strowger__ConfigDiff__Kind kinds[CFG_DIFF_KINDS];
	Strowger__ConfigDiff__Kind *kp[CFG_DIFF_KINDS];
	char *errs[RT_DIAG_MAX + 2];
	char more[64];
	r.id = j->req_id;
	r.ok = ok;
	r.errors = errs;
	for (size_t i = 0; i < j->diag.n; i++)
		errs[r.n_errors++] = j->diag.msgs[i];
	if (j->diag.dropped) {
		snprintf(more, sizeof(more), "(%zu more errors)", j->diag.dropped);
		errs[r.n_errors++] = more;
	}
	if (extra_error)
		errs[r.n_errors++] = (char *)extra_error;
	if (!ok && r.n_errors == 0)
		errs[r.n_errors++] = "config rejected";
	if (ok) {
		/* On success whatever diag holds is warnings. */
		r.warnings = r.errors;
		r.n_warnings = r.n_errors;
		r.errors = NULL;
		r.n_errors = 0;
		lr.generation = generation;
		lr.compile_us = (uint64_t)(j->compile_s * 1e6);
		lr.publish_us = (uint64_t)(publish_s * 1e6);
		lr.routes = j->n_routes;
		lr.gateways = j->n_gateways;
		if (j->have_diff) {
			diff_to_msg(&j->diff, &dm, kinds, kp);
			lr.diff = &dm;
		}
		r.result_case = STROWGER__CONTROL_RESPONSE__RESULT_LOAD;
		r.load = &lr;
	}
	send_response(cd, c, &r);
}

static void client_process(struct cd_server *cd, struct cd_client *c);
static void run_deferred(struct cd_server *cd);

#define CD_FOLD_RETRY_MS 5000

/* Start the pending fold when the loader is free and its time has come. */
static void fold_tick(struct cd_server *cd)
{
	struct cd_job *f = cd->fold_pending;
	if (!f || cd->job || mono_ms() < cd->fold_retry_ms)
		return;
	rt_diag_clear(&f->diag); /* a failed attempt's */
	const struct rt_snapshot *s = dp_server_snapshot(cd->srv);
	/* What to check the model against: the patch's snapshot, unless
	 * something replaced it meanwhile (then there is nothing to compare). */
	f->base = s && rt_snapshot_generation(s) == f->generation ? (struct rt_snapshot *)s : NULL;
	cd->fold_pending = NULL;
	int rc = job_start(cd, f);
	if (rc) {
		cd->fold_pending = f;
		cd->fold_retry_ms = mono_ms() + CD_FOLD_RETRY_MS;
		dp_log(DP_LOG_ERR, "patch generation %llu: cannot start the loader to update the "
				   "config model: %s; retrying in %d s",
		       (unsigned long long)f->generation, strerror(-rc), CD_FOLD_RETRY_MS / 1000);
	}
}

/* An incremental patch went live: its inputs go to a FOLD job, which
 * brings the config model (and the state file) up to it. */
static void fold_queue(struct cd_server *cd, struct cd_job *j, uint64_t gen)
{
	struct cd_job *f = calloc(1, sizeof(*f));
	if (!f) {
		dp_log(DP_LOG_ERR, "patch generation %llu: out of memory; the config model cannot "
				   "follow it, so patches are refused until a whole config is loaded",
		       (unsigned long long)gen);
		cd->model_stale = true;
		return;
	}
	f->kind = CD_JOB_FOLD;
	f->origin = j->origin;
	f->generation = gen;
	f->req = j->req;
	f->upsert = j->upsert;
	f->remove = j->remove;
	f->n_remove = j->n_remove;
	j->req = NULL;
	j->upsert = NULL;
	cd->fold_pending = f;
	cd->fold_retry_ms = 0;
	fold_tick(cd);
}

/* Start compiling the config model anew (no client waits for it). */
static void rebuild_model(struct cd_server *cd, const char *why)
{
	struct cd_job *j = calloc(1, sizeof(*j));
	int rc = -ENOMEM;
	if (j) {
		j->rebuild = true;
		j->origin = "patch";
		j->generation = cd->srv->next_generation;
		rc = job_start(cd, j);
	}
	if (rc) {
		job_free(j);
		cd->model_stale = true;
		dp_log(DP_LOG_ERR, "%s: cannot start a rebuild (%s); patches are refused until a "
				   "whole config is loaded", why, strerror(-rc));
		return;
	}
	dp_log(DP_LOG_WARN, "%s: rebuilding the whole config from the config model", why);
}

static void fold_done(struct cd_server *cd, struct cd_job *f)
{
	unsigned long long gen = (unsigned long long)f->generation;
	if (!f->cfg) {
		bool oom = false;
		for (size_t i = 0; i < f->diag.n; i++) {
			dp_log(DP_LOG_ERR, "%s", f->diag.msgs[i]);
			oom |= strstr(f->diag.msgs[i], "out of memory") != NULL;
		}
		if (oom || !f->diag.n) {
			dp_log(DP_LOG_ERR, "patch generation %llu: the config model could not be "
					   "updated; retrying in %d s (the patched config is served; "
					   "patches wait)", gen, CD_FOLD_RETRY_MS / 1000);
			cd->fold_pending = f;
			cd->fold_retry_ms = mono_ms() + CD_FOLD_RETRY_MS;
			return;
		}
		/* cfg_patch_check passed before the snapshot was published, so
		 * this is a bug; serve on, but say what it costs. */
		dp_log(DP_LOG_ERR, "patch generation %llu: the config model cannot follow it; "
				   "patches are refused until a whole config is loaded (the patched "
				   "config is served, the state file still holds the one before it)",
		       gen);
		cd->model_stale = true;
		job_free(f);
		return;
	}
	if (f->state_dir && f->save_rc)
		dp_log(DP_LOG_ERR, "cannot persist generation %llu: %s (still serving it)", gen,
		       f->save_err);
	size_t model = f->cfg->n_routes;
	bool agree = !f->disagree;
	char why[400];
	snprintf(why, sizeof(why), "patch generation %llu: %s", gen, f->disagree_why);
	adopt_config(cd, f);
	cd->last_change_ms = mono_ms();
	dp_log(DP_LOG_INFO, "patch generation %llu: config model updated (%zu routes; applied "
			    "in %.3f s, saved in %.3f s)", gen, model, f->fold_s, f->save_s);
	job_free(f);
	if (!agree) {
		/* Serve what the model (and the state file) says. */
		dp_log(DP_LOG_ERR, "%s", why);
		rebuild_model(cd, why);
	}
}

/* COMPACT is done: the whole build replaces the patched snapshot. It is
 * not a reload (the config, its origin and the state file stay); a
 * failure leaves the patched one serving and is tried again later. */
static void compact_done(struct cd_server *cd, struct cd_job *j)
{
	unsigned long long from = (unsigned long long)j->compacted;
	double pub_s = 0, t0 = mono_s();
	int rc = -EINVAL;
	if (j->snap) {
		uint64_t gen = rt_snapshot_generation(j->snap);
		size_t routes = rt_snapshot_live_route_count(j->snap);
		rc = publish(cd, j->snap);
		j->snap = NULL;
		pub_s = mono_s() - t0;
		if (!rc) {
			cd->srv->next_generation = gen + 1;
			dp_log(DP_LOG_INFO, "patched generation %llu rebuilt whole as generation %llu "
					    "(the same %zu routes): compile %.3f s, publish %.1f ms",
			       from, (unsigned long long)gen, routes, j->compile_s, pub_s * 1e3);
		}
	}
	if (rc) {
		for (size_t i = 0; i < j->diag.n; i++)
			dp_log(DP_LOG_ERR, "%s", j->diag.msgs[i]);
		dp_log(DP_LOG_ERR, "patched generation %llu could not be rebuilt whole (%s); it "
				   "serves on, the rebuild is tried again in %.1f s", from,
		       rc == -EINVAL ? "compile failed" : strerror(-rc),
		       cd->o.compact_after_ms / 1000.0);
		cd->compact_retry_ms = mono_ms() + cd->o.compact_after_ms;
	}
	job_free(j);
}

/* Start COMPACT once the served snapshot is a patched one, the config model
 * has caught up with it, and nothing changed for --compact-after. */
static void compact_tick(struct cd_server *cd)
{
	int64_t now = mono_ms();
	const struct rt_snapshot *s = dp_server_snapshot(cd->srv);
	if (!cd->o.compact_after_ms || cd->job || cd->stopping || cd->fold_pending ||
	    cd->model_stale || !cd->cur_cfg || !s || !rt_snapshot_layered(s) ||
	    now - cd->last_change_ms < cd->o.compact_after_ms || now < cd->compact_retry_ms)
		return;
	struct cd_job *j = calloc(1, sizeof(*j));
	int rc = -ENOMEM;
	if (j) {
		j->kind = CD_JOB_COMPACT;
		j->origin = "compact";
		j->compacted = rt_snapshot_generation(s);
		j->generation = cd->srv->next_generation;
		rc = job_start(cd, j);
	}
	if (rc) {
		job_free(j);
		cd->compact_retry_ms = now + cd->o.compact_after_ms;
		dp_log(DP_LOG_ERR, "cannot start rebuilding the patched generation %llu whole: %s",
		       (unsigned long long)rt_snapshot_generation(s), strerror(-rc));
		return;
	}
	dp_log(DP_LOG_INFO, "patched generation %llu served %.0f s unchanged: rebuilding it whole",
	       (unsigned long long)rt_snapshot_generation(s), (now - cd->last_change_ms) / 1000.0);
}

static void on_job_done(struct cd_server *cd)
{
	uint64_t n;
	if (read(cd->donefd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	if (!cd->job)
		return;
	pthread_join(cd->job_thread, NULL);
	struct cd_job *j = cd->job;
	cd->job = NULL;
	if (j->kind == CD_JOB_FOLD || j->kind == CD_JOB_COMPACT) {
		if (j->kind == CD_JOB_FOLD)
			fold_done(cd, j);
		else
			compact_done(cd, j);
		run_deferred(cd);
		return;
	}
	if (j->cur_ix_built && !cd->cur_ix && cd->cur_cfg == j->cur) {
		cd->cur_ix = j->cur_ix_built; /* indexed for this patch: keep it */
		j->cur_ix_built = NULL;
	}
	bool patch = j->kind == CD_JOB_PATCH;
	const char *src = patch ? "route patch" : j->rebuild ? "the config model"
						 : j->path ? j->path : "control";
	uint64_t cur_gen = rt_snapshot_generation(dp_server_snapshot(cd->srv));

	if (!j->snap) {
		for (size_t i = 0; i < j->diag.n; i++)
			dp_log(DP_LOG_ERR, "%s", j->diag.msgs[i]);
		dp_log(DP_LOG_ERR, "%s%s rejected (%s%s); still serving generation %llu",
		       patch ? "" : "reload of ", src, j->origin, j->dry_run ? ", dry run" : "",
		       (unsigned long long)cur_gen);
		if (!j->dry_run) {
			pthread_mutex_lock(&cd->lock);
			cd->reload_failures++;
			pthread_mutex_unlock(&cd->lock);
		}
		if (j->rebuild) {
			cd->model_stale = true;
			dp_log(DP_LOG_ERR, "patches are refused until a whole config is loaded");
		}
		job_respond(cd, j, false, 0, cur_gen, NULL);
	} else if (j->dry_run) {
		job_respond(cd, j, true, 0, cur_gen, NULL);
	} else {
		double pub_s = 0;
		uint64_t gen = rt_snapshot_generation(j->snap);
		size_t routes = j->n_routes;
		bool incremental = j->incremental;
		if (job_commit(cd, j, &pub_s) != 0) {
			dp_log(DP_LOG_ERR, "%s load of %s: out of memory publishing; still serving "
					   "generation %llu", j->origin, src, (unsigned long long)cur_gen);
			job_respond(cd, j, false, 0, cur_gen, "out of memory publishing the config");
		} else if (patch) {
			const struct cfg_diff_entry *e = &j->diff.kinds[CFG_DIFF_ROUTE];
			dp_log(DP_LOG_INFO, "patched %s: generation %llu, %zu routes (+%zu ~%zu -%zu), "
					    "compile %.3f s, publish %.3f s (%s, %s)",
			       cd->cur_cfg->source, (unsigned long long)gen, routes,
			       j->have_diff ? e->added.n : 0, j->have_diff ? e->changed.n : 0,
			       j->have_diff ? e->removed.n : 0, j->compile_s, pub_s, j->origin,
			       incremental ? "incremental" : "whole config");
			job_respond(cd, j, true, pub_s, gen, NULL);
			if (incremental)
				fold_queue(cd, j, gen); /* after the answer: off the critical path */
		} else {
			dp_log(DP_LOG_INFO, "reloaded %s: generation %llu, %zu routes, compile %.3f s, "
					    "publish %.3f s (%s)", cd->cur_cfg->source,
			       (unsigned long long)gen, routes, j->compile_s, pub_s, j->origin);
			job_respond(cd, j, true, pub_s, gen, NULL);
		}
	}
	struct cd_client *c = client_by_serial(cd, j->client_serial);
	job_free(j);
	if (c)
		client_process(cd, c); /* frames it sent meanwhile */
}

static void reload_file(struct cd_server *cd, const char *why)
{
	char busy[256];
	if (!cd->o.config_path) {
		dp_log(DP_LOG_WARN, "%s: no --config file to reload", why);
		return;
	}
	struct cd_job *j = calloc(1, sizeof(*j));
	if (!j || !(j->path = strdup(cd->o.config_path))) {
		free(j);
		dp_log(DP_LOG_ERR, "%s: out of memory", why);
		return;
	}
	j->origin = "sighup";
	j->generation = cd->srv->next_generation;
	char wait[128];
	if (job_defers(cd->job, wait, sizeof(wait))) {
		dp_log(DP_LOG_INFO, "%s: reload of %s waits for %s", why, j->path, wait);
		cd->hup_deferred = true;
		job_free(j);
		return;
	}
	if (cd->job) {
		dp_log(DP_LOG_WARN, "%s: reload of %s refused: %s", why, j->path,
		       busy_reason(cd, busy, sizeof(busy)));
		job_free(j);
		return;
	}
	dp_log(DP_LOG_INFO, "%s: reloading %s", why, j->path);
	int rc = job_start(cd, j);
	if (rc) {
		dp_log(DP_LOG_ERR, "%s: cannot start the loader: %s", why, strerror(-rc));
		job_free(j);
	}
}

/* ---- requests ------------------------------------------------------------------- */

/* Constant time in the length of the longer input. */
static bool token_ok(const char *want, const char *got)
{
	size_t lw = strlen(want), lg = got ? strlen(got) : 0;
	size_t n = lw > lg ? lw : lg;
	unsigned char diff = (unsigned char)(lw != lg);
	for (size_t i = 0; i < n; i++) {
		unsigned char a = i < lw ? (unsigned char)want[i] : 0;
		unsigned char b = i < lg ? (unsigned char)got[i] : 0;
		diff |= a ^ b;
	}
	return diff == 0;
}

/* While a FOLD or COMPACT runs, a load or patch waits for it rather than
 * being refused. True when req was taken. */
static bool defer_request(struct cd_server *cd, struct cd_client *c,
			  Strowger__ControlRequest *req)
{
	char wait[128];
	if (!job_defers(cd->job, wait, sizeof(wait)))
		return false;
	c->deferred = req;
	c->deferred_seq = ++cd->defer_seq;
	c->busy = true;
	dp_log(DP_LOG_INFO, "control client %llu: its %s waits for %s",
	       (unsigned long long)c->serial,
	       req->op_case == STROWGER__CONTROL_REQUEST__OP_PATCH ? "patch" : "load", wait);
	return true;
}

static void handle_load(struct cd_server *cd, struct cd_client *c, Strowger__ControlRequest *req)
{
	char busy[256];
	if (!req->load->config) {
		send_error(cd, c, req->id, "load: no config in the request");
		strowger__control_request__free_unpacked(req, NULL);
		return;
	}
	if (defer_request(cd, c, req))
		return;
	if (cd->job) {
		send_error(cd, c, req->id, "load refused: %s", busy_reason(cd, busy, sizeof(busy)));
		strowger__control_request__free_unpacked(req, NULL);
		return;
	}
	struct cd_job *j = calloc(1, sizeof(*j));
	if (!j) {
		send_error(cd, c, req->id, "out of memory");
		strowger__control_request__free_unpacked(req, NULL);
		return;
	}
	j->req = req;
	j->dry_run = req->load->dry_run;
	j->origin = "control";
	j->generation = j->dry_run ? rt_snapshot_generation(dp_server_snapshot(cd->srv))
				   : cd->srv->next_generation;
	j->client_serial = c->serial;
	j->req_id = req->id;
	dp_log(DP_LOG_INFO, "control client %llu: %s %s (%zu routes)", (unsigned long long)c->serial,
	       j->dry_run ? "checking" : "loading",
	       req->load->config->source && *req->load->config->source ? req->load->config->source
								      : "a config",
	       req->load->config->n_routes);
	int rc = job_start(cd, j);
	if (rc) {
		j->req = NULL;
		job_free(j);
		send_error(cd, c, req->id, "cannot start the loader: %s", strerror(-rc));
		strowger__control_request__free_unpacked(req, NULL);
		return;
	}
	c->busy = true;
}

static void handle_patch(struct cd_server *cd, struct cd_client *c, Strowger__ControlRequest *req)
{
	const Strowger__RoutePatch *p = req->patch;
	const struct rt_snapshot *s = dp_server_snapshot(cd->srv);
	char busy[256];
	const char *refused = NULL;

	if (!p->routes && !p->n_remove)
		refused = "patch: nothing to change (no routes, nothing to remove)";
	else if (!s || !cd->cur_cfg)
		refused = "patch refused: no config is loaded";
	else if (defer_request(cd, c, req))
		return;
	else if (cd->job)
		refused = busy_reason(cd, busy, sizeof(busy));
	else if (cd->fold_pending)
		refused = "patch refused: the config model has not caught up with the last patch "
			  "yet (retrying after an error); try again later, or load the whole config";
	else if (cd->model_stale)
		refused = "patch refused: the config model no longer matches the served config; "
			  "load the whole config first";
	if (refused) {
		send_error(cd, c, req->id, "%s%s", cd->job && refused == busy ? "patch refused: " : "",
			   refused);
		strowger__control_request__free_unpacked(req, NULL);
		return;
	}
	struct cd_job *j = calloc(1, sizeof(*j));
	if (!j) {
		send_error(cd, c, req->id, "out of memory");
		strowger__control_request__free_unpacked(req, NULL);
		return;
	}
	j->kind = CD_JOB_PATCH;
	j->req = req;
	j->dry_run = p->dry_run;
	j->origin = "patch";
	j->generation = j->dry_run ? rt_snapshot_generation(s) : cd->srv->next_generation;
	/* Only this thread frees snapshots, and none is published while a job
	 * runs: the running one outlives the job. */
	j->base = (struct rt_snapshot *)s;
	j->remove = (const char *const *)p->remove;
	j->n_remove = p->n_remove;
	j->client_serial = c->serial;
	j->req_id = req->id;
	dp_log(DP_LOG_INFO, "control client %llu: %s a route patch from %s (%zu routes, %zu to "
			    "remove)", (unsigned long long)c->serial,
	       j->dry_run ? "checking" : "applying",
	       p->routes && p->routes->source && *p->routes->source ? p->routes->source
								    : "the command line",
	       p->routes ? p->routes->n_routes : 0, p->n_remove);
	int rc = job_start(cd, j);
	if (rc) {
		j->req = NULL;
		job_free(j);
		send_error(cd, c, req->id, "cannot start the loader: %s", strerror(-rc));
		strowger__control_request__free_unpacked(req, NULL);
		return;
	}
	c->busy = true;
}

/* The FOLD is done: what waited for it, in the order it came. The first
 * that starts a job makes the others wait for that one as usual (that is,
 * refused as busy). */
static void run_deferred(struct cd_server *cd)
{
	if (cd->hup_deferred && !cd->job) {
		cd->hup_deferred = false;
		reload_file(cd, "SIGHUP");
	}
	for (;;) {
		struct cd_client *first = NULL;
		for (struct cd_client *c = cd->clients; c; c = c->next)
			if (c->deferred && (!first || c->deferred_seq < first->deferred_seq))
				first = c;
		if (!first)
			return;
		Strowger__ControlRequest *req = first->deferred;
		first->deferred = NULL;
		first->busy = false;
		if (req->op_case == STROWGER__CONTROL_REQUEST__OP_PATCH)
			handle_patch(cd, first, req);
		else
			handle_load(cd, first, req);
		client_process(cd, first); /* frames it sent meanwhile, unless busy again */
	}
}

static void handle_health(struct cd_server *cd, struct cd_client *c,
			  const Strowger__ControlRequest *req)
{
	const Strowger__HealthRequest *h = req->health;
	const struct rt_snapshot *s = dp_server_snapshot(cd->srv);
	Strowger__ControlResponse r = STROWGER__CONTROL_RESPONSE__INIT;
	Strowger__HealthResponse hr = STROWGER__HEALTH_RESPONSE__INIT;
	char **unknown = calloc(h->n_reports + 1, sizeof(char *));
	bool changed = false;
	int64_t now = mono_ms();

	r.id = req->id;
	if (!unknown) {
		send_error(cd, c, req->id, "out of memory");
		return;
	}
	for (size_t i = 0; i < h->n_reports; i++) {
		const Strowger__HealthReport *rep = h->reports[i];
		if (!rep->name || !*rep->name) {
			free(unknown);
			send_error(cd, c, req->id, "health report %zu: no name", i + 1);
			return;
		}
		if ((unsigned)rep->state >= RT_HEALTH_COUNT) {
			free(unknown);
			send_error(cd, c, req->id, "health report for '%s': unknown state %d",
				   rep->name, rep->state);
			return;
		}
	}
	for (size_t i = 0; i < h->n_reports; i++) {
		const Strowger__HealthReport *rep = h->reports[i];
		pthread_mutex_lock(&cd->lock);
		int rc = cd_health_report(cd->health, rep->name, (enum rt_health)rep->state,
					  rep->ttl_ms, rep->source, now);
		pthread_mutex_unlock(&cd->lock);
		if (rc < 0) {
			free(unknown);
			send_error(cd, c, req->id, "out of memory");
			return;
		}
		changed |= rc > 0;
		hr.applied++;
		if (s && rt_snapshot_gateway_index(s, rep->name, (size_t)-1) < 0 &&
		    rt_snapshot_site_index(s, rep->name, (size_t)-1) < 0)
			unknown[hr.n_unknown++] = rep->name;
	}
	if (changed && publish(cd, NULL) != 0) {
		free(unknown);
		send_error(cd, c, req->id, "out of memory publishing health");
		return;
	}
	rearm_expiry(cd);
	hr.unknown = unknown;
	r.ok = true;
	r.result_case = STROWGER__CONTROL_RESPONSE__RESULT_HEALTH;
	r.health = &hr;
	send_response(cd, c, &r);
	free(unknown);
}

static void handle_drain(struct cd_server *cd, struct cd_client *c,
			 const Strowger__ControlRequest *req)
{
	const Strowger__DrainRequest *d = req->drain;
	const struct rt_snapshot *s = dp_server_snapshot(cd->srv);
	Strowger__ControlResponse r = STROWGER__CONTROL_RESPONSE__INIT;
	char warn[300];
	char *warns[1] = {warn};
	bool on = !d->undrain;

	r.id = req->id;
	if (d->target == STROWGER__DRAIN_REQUEST__TARGET__SERVER) {
		bool was = atomic_exchange(&cd->srv->draining, on);
		if (was != on)
			dp_log(DP_LOG_INFO, "server %s by control (SIP OPTIONS answer %s)",
			       on ? "draining" : "undrained", on ? "503" : "200");
	} else {
		const char *kind = d->target == STROWGER__DRAIN_REQUEST__TARGET__SITE ? "site"
										: "gateway";
		if (!d->name || !*d->name) {
			send_error(cd, c, req->id, "drain %s: no name", kind);
			return;
		}
		long idx = !s ? -1
			      : d->target == STROWGER__DRAIN_REQUEST__TARGET__SITE
				  ? rt_snapshot_site_index(s, d->name, (size_t)-1)
				  : rt_snapshot_gateway_index(s, d->name, (size_t)-1);
		if (idx < 0) {
			snprintf(warn, sizeof(warn), "no %s named '%s' in the running config; the "
						     "drain is kept for a later one", kind, d->name);
			r.warnings = warns;
			r.n_warnings = 1;
		}
		pthread_mutex_lock(&cd->lock);
		int rc = cd_health_drain(cd->health, d->name, on);
		pthread_mutex_unlock(&cd->lock);
		if (rc < 0 || (rc > 0 && publish(cd, NULL) != 0)) {
			send_error(cd, c, req->id, "out of memory");
			return;
		}
		if (rc > 0)
			dp_log(DP_LOG_INFO, "%s %s %s by control", kind, d->name,
			       on ? "drained" : "undrained");
	}
	r.ok = true;
	send_response(cd, c, &r);
}

struct health_list {
	Strowger__HealthEntry *e;
	Strowger__HealthEntry **p;
	size_t n, cap;
	const struct rt_snapshot *s;
	const struct cd_breaker *b;
	int64_t now;
};

static void health_visit(void *ctx, const struct cd_health_entry *he)
{
	struct health_list *l = ctx;
	if (l->n == l->cap)
		return;
	Strowger__HealthEntry *e = &l->e[l->n];
	strowger__health_entry__init(e);
	e->name = (char *)he->name;
	e->kind = "";
	if (l->s && rt_snapshot_gateway_index(l->s, he->name, (size_t)-1) >= 0)
		e->kind = "gateway";
	else if (l->s && rt_snapshot_site_index(l->s, he->name, (size_t)-1) >= 0)
		e->kind = "site";
	e->reported = (Strowger__HealthState)he->reported;
	e->effective = (Strowger__HealthState)he->effective;
	e->drained = he->drained;
	e->expires_in_ms = he->expires_ms < 0 ? -1 : he->expires_ms - l->now;
	/* he->source lives only during this call. */
	e->source = strdup(he->source ? he->source : "");
	enum cd_breaker_state bs;
	e->breaker = "";
	if (cd_breaker_info(l->b, he->name, &bs, &e->failure_ratio, &e->breaker_samples))
		e->breaker = (char *)cd_breaker_state_name(bs);
	l->p[l->n] = e;
	l->n++;
}

static void count_visit(void *ctx, const struct cd_health_entry *he)
{
	(void)he;
	(*(size_t *)ctx)++;
}

static void handle_status(struct cd_server *cd, struct cd_client *c,
			  const Strowger__ControlRequest *req)
{
	const struct rt_snapshot *s = dp_server_snapshot(cd->srv);
	Strowger__ControlResponse r = STROWGER__CONTROL_RESPONSE__INIT;
	Strowger__StatusResponse st = STROWGER__STATUS_RESPONSE__INIT;
	struct health_list hl = {.s = s, .b = cd->breaker, .now = mono_ms()};
	char *listeners[1] = {(char *)(cd->o.listeners ? cd->o.listeners : "")};

	cd_health_each(cd->health, count_visit, &hl.cap);
	hl.e = calloc(hl.cap + 1, sizeof(*hl.e));
	hl.p = calloc(hl.cap + 1, sizeof(*hl.p));
	if (!hl.e || !hl.p) {
		free(hl.e);
		free(hl.p);
		send_error(cd, c, req->id, "out of memory");
		return;
	}
	cd_health_each(cd->health, health_visit, &hl);
	st.version = (char *)cd->o.version;
	st.generation = s ? rt_snapshot_generation(s) : 0;
	st.uptime_s = mono_s() - cd->start_mono;
	st.workers = cd->srv->n_workers;
	st.io = (char *)cd->o.io_name;
	st.config_source = (char *)(cd->cur_cfg ? cd->cur_cfg->source : "");
	st.config_origin = (char *)(cd->cur_origin ? cd->cur_origin : "");
	pthread_mutex_lock(&cd->lock);
	st.loaded_at = cd->loaded_at;
	pthread_mutex_unlock(&cd->lock);
	st.draining = atomic_load(&cd->srv->draining);
	st.routes = s ? (uint32_t)rt_snapshot_live_route_count(s) : 0;
	st.gateways = s ? (uint32_t)rt_snapshot_gateway_count(s) : 0;
	st.listeners = listeners;
	st.n_listeners = 1;
	st.health = hl.p;
	st.n_health = hl.n;
	size_t n_gw = cd->cur_cfg ? cd->cur_cfg->n_gateways : 0;
	Strowger__GatewayInfo *gi = calloc(n_gw + 1, sizeof(*gi));
	Strowger__GatewayInfo **gp = calloc(n_gw + 1, sizeof(*gp));
	if (!gi || !gp) {
		free(gi);
		free(gp);
		n_gw = 0;
		gi = NULL;
		gp = NULL;
	}
	for (size_t i = 0; i < n_gw; i++) {
		const struct rt_cfg_gateway *g = &cd->cur_cfg->gateways[i];
		strowger__gateway_info__init(&gi[i]);
		gi[i].name = (char *)g->name;
		gi[i].address = (char *)g->address;
		gi[i].port = g->port;
		gi[i].transport = (Strowger__Transport)g->transport;
		gi[i].site = (char *)(g->site ? g->site : "");
		gp[i] = &gi[i];
	}
	st.gateway_info = gp;
	st.n_gateway_info = n_gw;
	r.id = req->id;
	r.ok = true;
	r.result_case = STROWGER__CONTROL_RESPONSE__RESULT_STATUS;
	r.status = &st;
	send_response(cd, c, &r);
	for (size_t i = 0; i < hl.n; i++)
		free(hl.e[i].source);
	free(hl.e);
	free(hl.p);
	free(gi);
	free(gp);
}

static Strowger__StatsResponse__NameCount **name_counts(const struct dp_name_count *v, size_t n,
							 Strowger__StatsResponse__NameCount *store)
{
	Strowger__StatsResponse__NameCount **p = calloc(n + 1, sizeof(*p));
	if (!p)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		strowger__stats_response__name_count__init(&store[i]);
		store[i].name = v[i].name;
		store[i].count = v[i].count;
		p[i] = &store[i];
	}
	return p;
}

static void handle_stats(struct cd_server *cd, struct cd_client *c,
			 const Strowger__ControlRequest *req)
{
	struct dp_stats ds;
	if (cd_server_collect(cd, &ds) != 0) {
		send_error(cd, c, req->id, "out of memory");
		return;
	}
	static const char *const methods[] = {"INVITE", "ACK", "CANCEL", "OPTIONS", "other"};
	const uint64_t mcounts[] = {ds.sum.sip_invite, ds.sum.sip_ack, ds.sum.sip_cancel,
				    ds.sum.sip_options, ds.sum.sip_other};
	Strowger__StatsResponse__NameCount st_store[RT_STATUS_COUNT], m_store[5];
	Strowger__StatsResponse__NameCount *rh = calloc(ds.n_route_hits + 1, sizeof(*rh));
	Strowger__StatsResponse__NameCount *gs = calloc(ds.n_gw_selections + 1, sizeof(*gs));
	Strowger__StatsResponse__CodeCount *fc = calloc(RT_CODE_MAX + 1, sizeof(*fc));
	Strowger__StatsResponse__CodeCount **fcp = calloc(RT_CODE_MAX + 2, sizeof(*fcp));
	struct dp_name_count by_status[RT_STATUS_COUNT], by_method[5];
	Strowger__StatsResponse s = STROWGER__STATS_RESPONSE__INIT;
	Strowger__ControlResponse r = STROWGER__CONTROL_RESPONSE__INIT;

	for (int i = 0; i < RT_STATUS_COUNT; i++)
		by_status[i] = (struct dp_name_count){(char *)rt_status_name((enum rt_status)i),
						      ds.sum.status[i]};
	for (int i = 0; i < 5; i++)
		by_method[i] = (struct dp_name_count){(char *)methods[i], mcounts[i]};
	s.by_status = name_counts(by_status, RT_STATUS_COUNT, st_store);
	s.sip_methods = name_counts(by_method, 5, m_store);
	s.route_hits = rh ? name_counts(ds.route_hits, ds.n_route_hits, rh) : NULL;
	s.gateway_selections = gs ? name_counts(ds.gw_selections, ds.n_gw_selections, gs) : NULL;
	if (!s.by_status || !s.sip_methods || !s.route_hits || !s.gateway_selections || !fc ||
	    !fcp) {
		send_error(cd, c, req->id, "out of memory");
		goto out;
	}
	s.n_by_status = RT_STATUS_COUNT;
	s.n_sip_methods = 5;
	s.n_route_hits = ds.n_route_hits;
	s.n_gateway_selections = ds.n_gw_selections;
	for (unsigned code = 0; code <= RT_CODE_MAX; code++) {
		if (!ds.sum.failover_by_code[code])
			continue;
		strowger__stats_response__code_count__init(&fc[s.n_failover_by_code]);
		fc[s.n_failover_by_code].code = code;
		fc[s.n_failover_by_code].count = ds.sum.failover_by_code[code];
		fcp[s.n_failover_by_code] = &fc[s.n_failover_by_code];
		s.n_failover_by_code++;
	}
	s.failover_by_code = fcp;
	s.generation = ds.generation;
	s.sip_requests = ds.sum.rx[DP_SVC_SIP];
	s.native_requests = ds.sum.rx[DP_SVC_NATIVE];
	s.requests = s.sip_requests + s.native_requests;
	s.replies = ds.sum.tx;
	s.malformed = ds.sum.malformed;
	s.dropped = ds.sum.dropped;
	s.failover_queries = ds.sum.failover_queries;
	s.reloads = ds.reloads;
	s.reload_failures = ds.reload_failures;
	r.id = req->id;
	r.ok = true;
	r.result_case = STROWGER__CONTROL_RESPONSE__RESULT_STATS;
	r.stats = &s;
	send_response(cd, c, &r);
out:
	free(s.by_status);
	free(s.sip_methods);
	free(s.route_hits);
	free(s.gateway_selections);
	free(rh);
	free(gs);
	free(fc);
	free(fcp);
	dp_stats_free(&ds);
}

/* One frame's payload. Takes no ownership of buf. */
static void handle_frame(struct cd_server *cd, struct cd_client *c, const uint8_t *buf,
			 size_t len)
{
	Strowger__ControlRequest *req = strowger__control_request__unpack(NULL, len, buf);
	if (!req) {
		send_error(cd, c, 0, "malformed ControlRequest (%zu bytes)", len);
		return;
	}
	if (c->tcp && cd->o.token && !token_ok(cd->o.token, req->token)) {
		dp_log(DP_LOG_WARN, "control client %llu: bad token, closing",
		       (unsigned long long)c->serial);
		send_error(cd, c, req->id, "unauthorized: wrong or missing token");
		c->closing = true;
		strowger__control_request__free_unpacked(req, NULL);
		client_flush(cd, c);
		return;
	}
	switch (req->op_case) {
	case STROWGER__CONTROL_REQUEST__OP_LOAD:
		handle_load(cd, c, req); /* takes req */
		return;
	case STROWGER__CONTROL_REQUEST__OP_PATCH:
		handle_patch(cd, c, req); /* takes req */
		return;
	case STROWGER__CONTROL_REQUEST__OP_HEALTH:
		handle_health(cd, c, req);
		break;
	case STROWGER__CONTROL_REQUEST__OP_DRAIN:
		handle_drain(cd, c, req);
		break;
	case STROWGER__CONTROL_REQUEST__OP_STATUS:
		handle_status(cd, c, req);
		break;
	case STROWGER__CONTROL_REQUEST__OP_STATS:
		handle_stats(cd, c, req);
		break;
	default:
		send_error(cd, c, req->id, "unknown or missing operation");
		break;
	}
	strowger__control_request__free_unpacked(req, NULL);
}

/* ---- clients ------------------------------------------------------------------- */

static void client_close(struct cd_server *cd, struct cd_client *c)
{
	for (struct cd_client **pp = &cd->clients; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	epoll_ctl(cd->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	if (c->deferred)
		strowger__control_request__free_unpacked(c->deferred, NULL);
	free(c->rbuf);
	free(c->wbuf);
	free(c);
	cd->n_clients--;
}

/* Write what can be written now; watch for writability when not all. */
static void client_flush(struct cd_server *cd, struct cd_client *c)
{
	while (c->woff < c->wlen) {
		ssize_t w = send(c->fd, c->wbuf + c->woff, c->wlen - c->woff, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				c->closing = true;
				c->wlen = c->woff = 0;
			}
			break;
		}
		c->woff += (size_t)w;
	}
	if (c->woff == c->wlen)
		c->wlen = c->woff = 0;
	struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | (c->wlen ? EPOLLOUT : 0),
				 .data.ptr = c};
	epoll_ctl(cd->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Handle every complete frame buffered (unless a load holds the client). */
static void client_process(struct cd_server *cd, struct cd_client *c)
{
	size_t off = 0;
	while (!c->busy && !c->closing && c->rlen - off >= STROWGER_FRAME_HDR) {
		uint32_t n = strowger_frame_get_len(c->rbuf + off);
		if (n > STROWGER_FRAME_MAX) {
			send_error(cd, c, 0, "frame of %u bytes exceeds the limit of %u", n,
				   STROWGER_FRAME_MAX);
			c->closing = true;
			break;
		}
		if (c->rlen - off - STROWGER_FRAME_HDR < n)
			break;
		handle_frame(cd, c, c->rbuf + off + STROWGER_FRAME_HDR, n);
		off += STROWGER_FRAME_HDR + n;
	}
	if (off) {
		memmove(c->rbuf, c->rbuf + off, c->rlen - off);
		c->rlen -= off;
	}
	c->partial_since = c->rlen ? (c->partial_since < 0 ? mono_ms() : c->partial_since) : -1;
	if (c->closing && c->wlen == 0)
		client_close(cd, c);
}

static void client_read(struct cd_server *cd, struct cd_client *c)
{
	for (;;) {
		if (c->rcap - c->rlen < CD_READ_CHUNK) {
			/* Grow with what arrives, never by what a header claims. */
			size_t cap = c->rcap ? c->rcap * 2 : CD_READ_CHUNK * 2;
			if (cap > (size_t)STROWGER_FRAME_MAX + CD_READ_CHUNK * 2) {
				send_error(cd, c, 0, "too much unprocessed input");
				c->closing = true;
				break;
			}
			uint8_t *b = realloc(c->rbuf, cap);
			if (!b) {
				c->closing = true;
				break;
			}
			c->rbuf = b;
			c->rcap = cap;
		}
		ssize_t r = recv(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen, 0);
		if (r > 0) {
			c->rlen += (size_t)r;
			if (c->rlen >= STROWGER_FRAME_HDR &&
			    strowger_frame_get_len(c->rbuf) > STROWGER_FRAME_MAX)
				break; /* client_process reports it */
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		/* EOF or error: answer what is complete, then go. */
		c->closing = true;
		break;
	}
	client_process(cd, c);
}

static void accept_clients(struct cd_server *cd, int lfd, bool tcp)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		if (cd->n_clients >= CD_MAX_CLIENTS) {
			dp_log(DP_LOG_WARN, "control: %d clients already; refusing one",
			       CD_MAX_CLIENTS);
			close(fd);
			continue;
		}
		struct cd_client *c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->tcp = tcp;
		c->serial = ++cd->next_serial;
		c->partial_since = -1;
		struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
		if (epoll_ctl(cd->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
			close(fd);
			free(c);
			continue;
		}
		c->next = cd->clients;
		cd->clients = c;
		cd->n_clients++;
	}
}

/* Drop clients that started a frame and stalled (slowloris). */
static void sweep_clients(struct cd_server *cd)
{
	int64_t now = mono_ms();
	struct cd_client *c = cd->clients, *next;
	for (; c; c = next) {
		next = c->next;
		if (c->partial_since >= 0 && now - c->partial_since > CD_PARTIAL_TIMEOUT_MS) {
			dp_log(DP_LOG_WARN, "control client %llu: incomplete frame for %d s, "
					       "closing", (unsigned long long)c->serial,
			       CD_PARTIAL_TIMEOUT_MS / 1000);
			client_close(cd, c);
		}
	}
}

/* ---- listeners -------------------------------------------------------------------- */

static int add_fd(struct cd_server *cd, int fd, void *tag)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = tag};
	return epoll_ctl(cd->ep, EPOLL_CTL_ADD, fd, &ev);
}

static int listen_unix(struct cd_server *cd, const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat sb;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "control socket path too long: %s", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	if (lstat(path, &sb) == 0) {
		if (!S_ISSOCK(sb.st_mode)) {
			snprintf(err, errlen, "control socket %s: exists and is not a socket", path);
			return -1;
		}
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(probe);
			snprintf(err, errlen, "control socket %s: another strowgerd is listening "
					      "there", path);
			return -1;
		}
		if (probe >= 0)
			close(probe);
		unlink(path); /* stale, from a process that is gone */
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	mode_t old = umask(0177); /* born 0600: no window where others may connect */
	int rc = fd < 0 ? -1 : bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc != 0 || chmod(path, 0600) != 0 || listen(fd, 64) != 0 ||
	    add_fd(cd, fd, &cd->unixfd) != 0) {
		snprintf(err, errlen, "control socket %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	cd->unixfd = fd;
	strcpy(cd->unix_path, path);
	cd->unix_bound = true;
	return 0;
}

static bool is_loopback(const struct sockaddr_storage *a)
{
	if (a->ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)a)->sin_addr.s_addr) >> 24) == 127;
	const struct in6_addr *v6 = &((const struct sockaddr_in6 *)a)->sin6_addr;
	return IN6_IS_ADDR_LOOPBACK(v6);
}

static int listen_tcp(struct cd_server *cd, const char *spec, char *err, size_t errlen)
{
	struct dp_listen l;
	char why[160];
	if (dp_listen_parse(spec, DP_SVC_SIP, 0, &l, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "--control-tcp %s: %s", spec, why);
		return -1;
	}
	if (!is_loopback(&l.addr) && !cd->o.token) {
		snprintf(err, errlen, "--control-tcp %s: not a loopback address, so a token is "
				      "required (--control-token-file)", l.text);
		return -1;
	}
	int one = 1;
	int fd = socket(l.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, (struct sockaddr *)&l.addr, l.len) != 0 || listen(fd, 64) != 0 ||
	    add_fd(cd, fd, &cd->tcpfd) != 0) {
		snprintf(err, errlen, "--control-tcp %s: %s", l.text, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	cd->tcpfd = fd;
	return 0;
}

int cd_server_listen(struct cd_server *cd, char *err, size_t errlen)
{
	if (cd->o.unix_path && listen_unix(cd, cd->o.unix_path, err, errlen) != 0)
		return -1;
	if (cd->o.tcp && listen_tcp(cd, cd->o.tcp, err, errlen) != 0)
		return -1;
	return 0;
}

/* ---- lifecycle ------------------------------------------------------------------ */

struct cd_server *cd_server_new(struct dp_server *srv, const struct cd_opts *o, char *err,
				size_t errlen)
{
	struct cd_server *cd = calloc(1, sizeof(*cd));
	sigset_t sigs;
	if (!cd) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	cd->srv = srv;
	cd->o = *o;
	cd->ep = cd->sigfd = cd->expfd = cd->gracefd = cd->donefd = cd->unixfd = cd->tcpfd = -1;
	cd->start_mono = mono_s();
	pthread_mutex_init(&cd->lock, NULL);
	struct cd_health_opts ho = {.default_ttl_ms = o->health_ttl_ms,
				    .hysteresis = o->hysteresis,
				    .quorum = o->quorum};
	cd->health = cd_health_new(&ho);
	cd->breaker = cd_breaker_new(&o->breaker);

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	cd->ep = epoll_create1(EPOLL_CLOEXEC);
	cd->sigfd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC);
	cd->expfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	cd->gracefd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	cd->donefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (!cd->health || !cd->breaker || cd->ep < 0 || cd->sigfd < 0 || cd->expfd < 0 ||
	    cd->gracefd < 0 ||
	    cd->donefd < 0 || add_fd(cd, cd->sigfd, &cd->sigfd) || add_fd(cd, cd->expfd, &cd->expfd) ||
	    add_fd(cd, cd->gracefd, &cd->gracefd) || add_fd(cd, cd->donefd, &cd->donefd)) {
		snprintf(err, errlen, "control plane setup: %s", strerror(errno ? errno : ENOMEM));
		cd_server_free(cd);
		return NULL;
	}
	return cd;
}

void cd_server_free(struct cd_server *cd)
{
	if (!cd)
		return;
	if (cd->job) {
		pthread_join(cd->job_thread, NULL);
		job_free(cd->job);
	}
	if (cd->fold_pending)
		dp_log(DP_LOG_WARN, "stopping before the config model caught up with patch "
				    "generation %llu: the state file holds the config before it",
		       (unsigned long long)cd->fold_pending->generation);
	job_free(cd->fold_pending);
	cfg_route_ix_free(cd->cur_ix);
	while (cd->clients)
		client_close(cd, cd->clients);
	int fds[] = {cd->sigfd, cd->expfd, cd->gracefd, cd->donefd, cd->unixfd, cd->tcpfd, cd->ep};
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (cd->unix_bound)
		unlink(cd->unix_path);
	cd_health_free(cd->health);
	cd_breaker_free(cd->breaker);
	rt_config_free(cd->cur_cfg);
	pthread_mutex_destroy(&cd->lock);
	free(cd);
}

/* Compile cfg as generation and publish it (startup). Takes cfg. */
static int load_now(struct cd_server *cd, struct rt_config *cfg, uint64_t gen,
		    const char *origin, bool save)
{
	struct rt_diag d;
	double t0 = mono_s();
	rt_diag_init(&d);
	struct rt_snapshot *s = rt_snapshot_build(cfg, gen, &d);
	for (size_t i = 0; i < d.n; i++)
		dp_log(s ? DP_LOG_WARN : DP_LOG_ERR, "%s", d.msgs[i]);
	if (d.dropped)
		dp_log(DP_LOG_ERR, "(%zu more)", d.dropped);
	rt_diag_clear(&d);
	if (!s || publish(cd, s) != 0) {
		rt_config_free(cfg);
		return -1;
	}
	cd->srv->next_generation = gen + 1;
	if (save)
		persist(cd, cfg, gen, origin);
	cd->cur_cfg = cfg;
	cd->cur_ix = cfg_route_ix_new(cfg); /* NULL: the first patch indexes */
	cd->cur_origin = origin;
	pthread_mutex_lock(&cd->lock);
	cd->loaded_at = real_s();
	cd->last_reload_s = mono_s() - t0;
	pthread_mutex_unlock(&cd->lock);
	return 0;
}

int cd_server_load_initial(struct cd_server *cd)
{
	struct rt_config *st_cfg = NULL;
	uint64_t st_gen = 0;
	double saved_at = 0;
	char err[600];

	if (cd->o.state_dir) {
		int rc = cd_persist_load(cd->o.state_dir, &st_cfg, &st_gen, &saved_at, err,
					 sizeof(err));
		if (rc != 0 && rc != -ENOENT)
			dp_log(DP_LOG_ERR, "state file skipped: %s", err);
	}
	/* The state file is the last config accepted; a --config edited after
	 * it was saved is newer news from the operator. */
	bool use_state = st_cfg != NULL;
	struct stat sb;
	if (use_state && cd->o.config_path && stat(cd->o.config_path, &sb) == 0 &&
	    (double)sb.st_mtim.tv_sec + sb.st_mtim.tv_nsec / 1e9 > saved_at) {
		dp_log(DP_LOG_INFO, "%s is newer than the saved state: loading it",
		       cd->o.config_path);
		use_state = false;
	}
	if (use_state) {
		const char *src = st_cfg->source;
		dp_log(DP_LOG_INFO, "serving the last accepted config (generation %llu, from %s) "
				    "saved in %s/%s", (unsigned long long)st_gen, src ? src : "?",
		       cd->o.state_dir, CD_STATE_FILE);
		if (load_now(cd, st_cfg, st_gen, "state", false) == 0)
			return 0;
		st_cfg = NULL;
		dp_log(DP_LOG_ERR, "the saved config does not compile; trying --config");
	}
	uint64_t gen = st_gen + 1;
	if (!cd->o.config_path) {
		rt_config_free(st_cfg);
		dp_log(DP_LOG_ERR, "no config: give --config FILE (no usable state in %s)",
		       cd->o.state_dir ? cd->o.state_dir : "--state-dir");
		return -1;
	}
	struct rt_diag d;
	rt_diag_init(&d);
	struct rt_config *cfg = cfg_yaml_load_file(cd->o.config_path, &d);
	for (size_t i = 0; i < d.n; i++)
		dp_log(cfg ? DP_LOG_WARN : DP_LOG_ERR, "%s", d.msgs[i]);
	rt_diag_clear(&d);
	if (cfg && load_now(cd, cfg, gen, "file", true) == 0) {
		rt_config_free(st_cfg);
		return 0;
	}
	dp_log(DP_LOG_ERR, "%s: config rejected (errors above)", cd->o.config_path);
	if (st_cfg) {
		dp_log(DP_LOG_WARN, "serving the saved config (generation %llu) instead",
		       (unsigned long long)st_gen);
		return load_now(cd, st_cfg, st_gen, "state", false);
	}
	return -1;
}

static void on_signal(struct cd_server *cd)
{
	struct signalfd_siginfo si;
	while (read(cd->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			reload_file(cd, "SIGHUP");
			continue;
		}
		const char *name = si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM";
		if (cd->stopping || cd->o.drain_grace_ms == 0) {
			dp_log(DP_LOG_INFO, "%s: stopping", name);
			cd->stop_sig = (int)si.ssi_signo;
			timer_arm(cd->gracefd, 0);
			cd->stopping = true;
			continue;
		}
		cd->stopping = true;
		cd->stop_sig = (int)si.ssi_signo;
		atomic_store(&cd->srv->draining, true);
		dp_log(DP_LOG_INFO, "%s: draining for %.1f s (SIP OPTIONS answer 503), then "
				    "stopping; signal again to stop now", name,
		       cd->o.drain_grace_ms / 1000.0);
		timer_arm(cd->gracefd, cd->o.drain_grace_ms);
	}
}

int cd_server_run(struct cd_server *cd)
{
	struct epoll_event evs[32];
	rearm_expiry(cd);
	for (;;) {
		int n = epoll_wait(cd->ep, evs, 32, 250);
		if (n < 0 && errno != EINTR) {
			dp_log(DP_LOG_ERR, "control loop: %s", strerror(errno));
			return SIGTERM;
		}
		for (int i = 0; i < n; i++) {
			void *tag = evs[i].data.ptr;
			if (tag == &cd->sigfd) {
				on_signal(cd);
			} else if (tag == &cd->gracefd) {
				uint64_t x;
				if (read(cd->gracefd, &x, sizeof(x)) > 0 && cd->stopping)
					return cd->stop_sig;
			} else if (tag == &cd->expfd) {
				on_expiry(cd);
			} else if (tag == &cd->donefd) {
				on_job_done(cd);
			} else if (tag == &cd->unixfd) {
				accept_clients(cd, cd->unixfd, false);
			} else if (tag == &cd->tcpfd) {
				accept_clients(cd, cd->tcpfd, true);
			} else {
				struct cd_client *c = tag;
				if (!client_alive(cd, c))
					continue; /* closed earlier in this batch */
				if (evs[i].events & EPOLLOUT) {
					client_flush(cd, c);
					if (c->closing && c->wlen == 0) {
						client_close(cd, c);
						continue;
					}
				}
				if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
					client_read(cd, c);
			}
		}
		sweep_clients(cd);
		breaker_tick(cd);
		fold_tick(cd);
		compact_tick(cd);
	}
}

int cd_server_collect(void *arg, struct dp_stats *out)
{
	struct cd_server *cd = arg;
	int rc = dp_server_stats(cd->srv, out);
	if (rc)
		return rc;
	pthread_mutex_lock(&cd->lock);
	out->reloads = cd->reloads;
	out->reload_failures = cd->reload_failures;
	out->last_reload_s = cd->last_reload_s;
	out->loaded_at = cd->loaded_at;
	for (size_t i = 0; i < out->n_health; i++)
		out->health[i].drained = cd_health_drained(cd->health, out->health[i].name);
	pthread_mutex_unlock(&cd->lock);
	out->uptime_s = mono_s() - cd->start_mono;
	return 0;
}
