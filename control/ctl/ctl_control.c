/*
 * ctl_control: strowgerctl's commands against a running strowgerd's
 * control channel (SPEC section 4): load, patch, health, drain, undrain,
 * status, stats. One connection per command; requests and responses are framed
 * protobuf (proto/strowger_frame.h).
 *
 * Where: --control PATH (Unix socket; default $STROWGER_CONTROL, else
 * /run/strowger/control.sock) or --control-tcp HOST:PORT with
 * --token-file FILE (or $STROWGER_TOKEN).
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cfg_patch.h"
#include "cfg_proto.h"
#include "cfg_yaml.h"
#include "ctl_cmd.h"
#include "ctl_conn.h"
#include "ctl_json.h"
#include "rt_arena.h"
#include "rt_decide.h"
#include "rt_diag.h"
#include "strowger.pb-c.h"
#include "strowger_frame.h"

#define CTL_DEFAULT_CONTROL "/run/strowger/control.sock"

struct ctl_conn_args {
	const char *control;
	const char *tcp;
	const char *token_file;
	int timeout_ms;
	bool json;
	bool dry_run;
	bool help;
	const char *gateway, *site; /* drain targets */
	double ttl_s;
	const char *source;
	char **remove; /* patch --remove, in the order given (malloc'd array) */
	size_t n_remove;
	int argc; /* positional arguments */
	char **argv;
};

enum {
	CTL_O_CONTROL = 300,
	CTL_O_TCP,
	CTL_O_TOKEN,
	CTL_O_TIMEOUT,
	CTL_O_JSON,
	CTL_O_DRY_RUN,
	CTL_O_GATEWAY,
	CTL_O_SITE,
	CTL_O_TTL,
	CTL_O_SOURCE,
	CTL_O_REMOVE,
};

static const struct option ctl_conn_options[] = {
	{"control", required_argument, NULL, CTL_O_CONTROL},
	{"control-tcp", required_argument, NULL, CTL_O_TCP},
	{"token-file", required_argument, NULL, CTL_O_TOKEN},
	{"timeout", required_argument, NULL, CTL_O_TIMEOUT},
	{"json", no_argument, NULL, CTL_O_JSON},
	{"dry-run", no_argument, NULL, CTL_O_DRY_RUN},
	{"gateway", required_argument, NULL, CTL_O_GATEWAY},
	{"site", required_argument, NULL, CTL_O_SITE},
	{"ttl", required_argument, NULL, CTL_O_TTL},
	{"source", required_argument, NULL, CTL_O_SOURCE},
	{"remove", required_argument, NULL, CTL_O_REMOVE},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

/* Options every control command takes; `allowed` lists the others. */
static int ctl_conn_parse(struct ctl_conn_args *a, int argc, char **argv, const int *allowed)
{
	int c;
	char *end;
	*a = (struct ctl_conn_args){.timeout_ms = 0, .ttl_s = 0};
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", ctl_conn_options, NULL)) != -1) {
		if (c >= CTL_O_JSON && c != CTL_O_TIMEOUT) {
			bool ok = false;
			for (const int *p = allowed; p && *p; p++)
				ok |= *p == c;
			if (!ok) {
				fprintf(stderr, "strowgerctl: %s does not take %s\n", argv[0],
					argv[optind - 1]);
				return -EINVAL;
			}
		}
		switch (c) {
		case CTL_O_CONTROL:
			a->control = optarg;
			break;
		case CTL_O_TCP:
			a->tcp = optarg;
			break;
		case CTL_O_TOKEN:
			a->token_file = optarg;
			break;
		case CTL_O_TIMEOUT:
			a->timeout_ms = (int)strtol(optarg, &end, 10);
			if (*end || a->timeout_ms <= 0) {
				fprintf(stderr, "strowgerctl: --timeout '%s': milliseconds\n", optarg);
				return -EINVAL;
			}
			break;
		case CTL_O_JSON:
			a->json = true;
			break;
		case CTL_O_DRY_RUN:
			a->dry_run = true;
			break;
		case CTL_O_GATEWAY:
			a->gateway = optarg;
			break;
		case CTL_O_SITE:
			a->site = optarg;
			break;
		case CTL_O_TTL:
			a->ttl_s = strtod(optarg, &end);
			if (*end || a->ttl_s < 0 || a->ttl_s > 4e6) {
				fprintf(stderr, "strowgerctl: --ttl '%s': seconds\n", optarg);
				return -EINVAL;
			}
			break;
		case CTL_O_SOURCE:
			a->source = optarg;
			break;
		case CTL_O_REMOVE: {
			char **v = realloc(a->remove, (a->n_remove + 1) * sizeof(*v));
			if (!v) {
				fprintf(stderr, "strowgerctl: out of memory\n");
				return -ENOMEM;
			}
			a->remove = v;
			if (!*optarg) {
				fprintf(stderr, "strowgerctl: --remove needs a route name\n");
				return -EINVAL;
			}
			a->remove[a->n_remove++] = optarg;
			break;
		}
		case 'h':
			a->help = true;
			return 0;
		case ':':
			fprintf(stderr, "strowgerctl: %s needs a value\n", argv[optind - 1]);
			return -EINVAL;
		default:
			fprintf(stderr, "strowgerctl: unknown option '%s'\n", argv[optind - 1]);
			return -EINVAL;
		}
	}
	a->argc = argc - optind;
	a->argv = argv + optind;
	if (a->control && a->tcp) {
		fprintf(stderr, "strowgerctl: --control and --control-tcp are exclusive\n");
		return -EINVAL;
	}
	if (!a->tcp && !a->control) {
		const char *env = getenv("STROWGER_CONTROL");
		a->control = env && *env ? env : CTL_DEFAULT_CONTROL;
	}
	return 0;
}

/* Errors and warnings to stderr; CTL_EXIT_OK when r->ok. */
static int ctl_report(const char *what, const Strowger__ControlResponse *r)
{
	for (size_t i = 0; i < r->n_warnings; i++)
		fprintf(stderr, "warning: %s\n", r->warnings[i]);
	for (size_t i = 0; i < r->n_errors; i++)
		fprintf(stderr, "%s\n", r->errors[i]);
	if (!r->ok) {
		fprintf(stderr, "strowgerctl: %s failed\n", what);
		return CTL_EXIT_FAIL;
	}
	return CTL_EXIT_OK;
}

/* Parse, connect, call, report: the shape of every command. */
typedef int (*ctl_build_fn)(const struct ctl_conn_args *a, Strowger__ControlRequest *req,
			    struct rt_arena *arena);
typedef int (*ctl_print_fn)(const struct ctl_conn_args *a, const Strowger__ControlResponse *r);

static int ctl_run(int argc, char **argv, const int *allowed, int min_pos, int max_pos,
		   ctl_build_fn build, ctl_print_fn print)
{
	struct ctl_conn_args a = {0};
	struct ctl_conn cn = {.fd = -1};
	struct rt_arena *arena = rt_arena_new();
	Strowger__ControlRequest req = STROWGER__CONTROL_REQUEST__INIT;
	Strowger__ControlResponse *r = NULL;
	int rc = CTL_EXIT_USAGE;

	if (!arena) {
		fprintf(stderr, "strowgerctl: out of memory\n");
		return CTL_EXIT_FAIL;
	}
	if (ctl_conn_parse(&a, argc, argv, allowed) != 0)
		goto usage;
	if (a.help) {
		ctl_usage(stdout, argv[0]);
		rc = CTL_EXIT_OK;
		goto out;
	}
	if (a.argc < min_pos || a.argc > max_pos) {
		fprintf(stderr, "strowgerctl: %s: wrong number of arguments\n", argv[0]);
		goto usage;
	}
	rc = build(&a, &req, arena);
	if (rc != CTL_EXIT_OK)
		goto out;
	rc = CTL_EXIT_FAIL;
	if (ctl_conn_open(&cn, a.control, a.tcp, a.token_file, a.timeout_ms) != 0)
		goto out;
	r = ctl_conn_call(&cn, &req);
	if (!r)
		goto out;
	rc = ctl_report(argv[0], r);
	if (rc == CTL_EXIT_OK && print)
		rc = print(&a, r);
	goto out;
usage:
	ctl_usage(stderr, argv[0]);
out:
	if (r)
		strowger__control_response__free_unpacked(r, NULL);
	ctl_conn_close(&cn);
	rt_arena_free(arena);
	free(a.remove);
	return rc;
}

/* ---- load ---------------------------------------------------------------------------- */

static int ctl_build_load(const struct ctl_conn_args *a, Strowger__ControlRequest *req,
			  struct rt_arena *arena)
{
	static struct rt_config *cfg; /* alive until exit: the message points into it */
	struct rt_diag d;
	rt_diag_init(&d);
	cfg = cfg_yaml_load_file(a->argv[0], &d);
	rt_diag_print(&d, stderr);
	rt_diag_clear(&d);
	if (!cfg) {
		fprintf(stderr, "%s: invalid; nothing sent\n", a->argv[0]);
		return CTL_EXIT_FAIL;
	}
	Strowger__LoadRequest *lr = rt_arena_alloc(arena, sizeof(*lr));
	if (!lr || !(lr->config = cfg_proto_to_msg(cfg, arena))) {
		fprintf(stderr, "strowgerctl: out of memory\n");
		return CTL_EXIT_FAIL;
	}
	Strowger__Config *c = lr->config;
	strowger__load_request__init(lr);
	lr->config = c;
	lr->dry_run = a->dry_run;
	req->op_case = STROWGER__CONTROL_REQUEST__OP_LOAD;
	req->load = lr;
	return CTL_EXIT_OK;
}

static void ctl_json_strings(struct ctl_json *j, const char *key, char **v, size_t n)
{
	ctl_json_key(j, key);
	ctl_json_array_begin(j);
	for (size_t i = 0; i < n; i++)
		ctl_json_string(j, v[i]);
	ctl_json_array_end(j);
}

/* A LoadResponse (load and patch): the generation, the times, the diff. */
static int ctl_print_load_result(const struct ctl_conn_args *a,
				 const Strowger__ControlResponse *r, bool patch)
{
	const Strowger__LoadResponse *l = r->load;
	const Strowger__ConfigDiff *d = l ? l->diff : NULL;
	/* What is being loaded or patched; a patch may have no file. */
	const char *name = a->argc ? a->argv[0] : NULL;
	if (!l) {
		fprintf(stderr, "strowgerctl: %s: no result in the response\n",
			patch ? "patch" : "load");
		return CTL_EXIT_FAIL;
	}
	if (a->json) {
		struct ctl_json j;
		ctl_json_init(&j, stdout);
		ctl_json_object_begin(&j);
		ctl_json_kv_bool(&j, "dry_run", a->dry_run);
		ctl_json_kv_uint(&j, "generation", l->generation);
		ctl_json_kv_uint(&j, "routes", l->routes);
		ctl_json_kv_uint(&j, "gateways", l->gateways);
		ctl_json_kv_uint(&j, "compile_us", l->compile_us);
		ctl_json_kv_uint(&j, "publish_us", l->publish_us);
		ctl_json_key(&j, "diff");
		ctl_json_object_begin(&j);
		ctl_json_kv_bool(&j, "globals_changed", d && d->globals_changed);
		for (size_t i = 0; d && i < d->n_kinds; i++) {
			const Strowger__ConfigDiff__Kind *k = d->kinds[i];
			ctl_json_key(&j, k->kind);
			ctl_json_object_begin(&j);
			ctl_json_strings(&j, "added", k->added, k->n_added);
			ctl_json_strings(&j, "removed", k->removed, k->n_removed);
			ctl_json_strings(&j, "changed", k->changed, k->n_changed);
			ctl_json_object_end(&j);
		}
		ctl_json_object_end(&j);
		ctl_json_object_end(&j);
		return ctl_json_finish(&j) ? CTL_EXIT_FAIL : CTL_EXIT_OK;
	}
	if (patch && a->dry_run)
		printf("%s%svalid; applying it would replace generation %llu with %u routes:\n",
		       name ? name : "patch ", name ? ": " : "", (unsigned long long)l->generation,
		       l->routes);
	else if (patch)
		printf("%s%sapplied as generation %llu (%u routes, %u gateways; compile %.1f ms, "
		       "publish %.1f ms)\n", name ? name : "patch ", name ? ": " : "",
		       (unsigned long long)l->generation, l->routes, l->gateways,
		       l->compile_us / 1e3, l->publish_us / 1e3);
	else if (a->dry_run)
		printf("%s: valid; loading it would replace generation %llu with:\n", name,
		       (unsigned long long)l->generation);
	else
		printf("%s: loaded as generation %llu (%u routes, %u gateways; compile %.1f ms, "
		       "publish %.1f ms)\n", name, (unsigned long long)l->generation,
		       l->routes, l->gateways, l->compile_us / 1e3, l->publish_us / 1e3);
	size_t n = 0;
	for (size_t i = 0; d && i < d->n_kinds; i++) {
		const Strowger__ConfigDiff__Kind *k = d->kinds[i];
		for (size_t x = 0; x < k->n_added; x++, n++)
			printf("  + %s %s\n", k->kind, k->added[x]);
		for (size_t x = 0; x < k->n_removed; x++, n++)
			printf("  - %s %s\n", k->kind, k->removed[x]);
		for (size_t x = 0; x < k->n_changed; x++, n++)
			printf("  ~ %s %s\n", k->kind, k->changed[x]);
	}
	if (d && d->globals_changed) {
		printf("  ~ global settings (failover codes, sip)\n");
		n++;
	}
	if (n == 0)
		printf("  (no changes)\n");
	return CTL_EXIT_OK;
}

static int ctl_print_load(const struct ctl_conn_args *a, const Strowger__ControlResponse *r)
{
	return ctl_print_load_result(a, r, false);
}

int ctl_cmd_load(int argc, char **argv)
{
	static const int allowed[] = {CTL_O_JSON, CTL_O_DRY_RUN, 0};
	return ctl_run(argc, argv, allowed, 1, 1, ctl_build_load, ctl_print_load);
}

/* ---- patch --------------------------------------------------------------------------- */

static int ctl_build_patch(const struct ctl_conn_args *a, Strowger__ControlRequest *req,
			   struct rt_arena *arena)
{
	static struct rt_config *cfg; /* alive until exit: the message points into it */
	if (!a->argc && !a->n_remove) {
		fprintf(stderr, "strowgerctl: patch: give a FILE of routes, --remove NAME, or "
				"both\n");
		ctl_usage(stderr, "patch");
		return CTL_EXIT_USAGE;
	}
	Strowger__RoutePatch *p = rt_arena_alloc(arena, sizeof(*p));
	if (!p) {
		fprintf(stderr, "strowgerctl: out of memory\n");
		return CTL_EXIT_FAIL;
	}
	strowger__route_patch__init(p);
	if (a->argc) {
		struct rt_diag d;
		rt_diag_init(&d);
		cfg = cfg_patch_load_file(a->argv[0], &d);
		rt_diag_print(&d, stderr);
		rt_diag_clear(&d);
		if (!cfg) {
			fprintf(stderr, "%s: invalid; nothing sent\n", a->argv[0]);
			return CTL_EXIT_FAIL;
		}
		if (!(p->routes = cfg_proto_to_msg(cfg, arena))) {
			fprintf(stderr, "strowgerctl: out of memory\n");
			return CTL_EXIT_FAIL;
		}
	}
	p->remove = a->remove;
	p->n_remove = a->n_remove;
	p->dry_run = a->dry_run;
	req->op_case = STROWGER__CONTROL_REQUEST__OP_PATCH;
	req->patch = p;
	return CTL_EXIT_OK;
}

static int ctl_print_patch(const struct ctl_conn_args *a, const Strowger__ControlResponse *r)
{
	return ctl_print_load_result(a, r, true);
}

int ctl_cmd_patch(int argc, char **argv)
{
	static const int allowed[] = {CTL_O_JSON, CTL_O_DRY_RUN, CTL_O_REMOVE, 0};
	return ctl_run(argc, argv, allowed, 0, 1, ctl_build_patch, ctl_print_patch);
}

/* ---- health ------------------------------------------------------------------------ */

static int ctl_build_health(const struct ctl_conn_args *a, Strowger__ControlRequest *req,
			    struct rt_arena *arena)
{
	size_t n = (size_t)a->argc / 2;
	if (a->argc % 2) {
		fprintf(stderr, "strowgerctl: health takes NAME STATE pairs\n");
		return CTL_EXIT_USAGE;
	}
	Strowger__HealthRequest *hr = rt_arena_alloc(arena, sizeof(*hr));
	Strowger__HealthReport *reps = rt_arena_alloc(arena, n * sizeof(*reps) + 1);
	Strowger__HealthReport **p = rt_arena_alloc(arena, n * sizeof(*p) + 1);
	if (!hr || !reps || !p) {
		fprintf(stderr, "strowgerctl: out of memory\n");
		return CTL_EXIT_FAIL;
	}
	strowger__health_request__init(hr);
	for (size_t i = 0; i < n; i++) {
		enum rt_health st;
		if (rt_health_parse(a->argv[2 * i + 1], &st) != 0) {
			fprintf(stderr, "strowgerctl: health %s '%s': expected up, degraded, down, "
					"draining or unknown\n", a->argv[2 * i], a->argv[2 * i + 1]);
			return CTL_EXIT_USAGE;
		}
		strowger__health_report__init(&reps[i]);
		reps[i].name = a->argv[2 * i];
		reps[i].state = (Strowger__HealthState)st;
		reps[i].ttl_ms = (uint32_t)(a->ttl_s * 1000);
		reps[i].source = (char *)(a->source ? a->source : "strowgerctl");
		p[i] = &reps[i];
	}
	hr->reports = p;
	hr->n_reports = n;
	req->op_case = STROWGER__CONTROL_REQUEST__OP_HEALTH;
	req->health = hr;
	return CTL_EXIT_OK;
}

static int ctl_print_health(const struct ctl_conn_args *a, const Strowger__ControlResponse *r)
{
	const Strowger__HealthResponse *h = r->health;
	for (size_t i = 0; h && i < h->n_unknown; i++)
		fprintf(stderr, "warning: '%s' is not a gateway or site of the running config (the "
				"report is kept)\n", h->unknown[i]);
	if (!a->json)
		printf("%u report%s applied\n", h ? h->applied : 0, h && h->applied == 1 ? "" : "s");
	else
		printf("{\"applied\": %u}\n", h ? h->applied : 0);
	return CTL_EXIT_OK;
}

int ctl_cmd_health(int argc, char **argv)
{
	static const int allowed[] = {CTL_O_JSON, CTL_O_TTL, CTL_O_SOURCE, 0};
	return ctl_run(argc, argv, allowed, 2, 2 * 256, ctl_build_health, ctl_print_health);
}

/* ---- drain / undrain ------------------------------------------------------------------ */

static int ctl_build_drain_common(const struct ctl_conn_args *a, Strowger__ControlRequest *req,
				  struct rt_arena *arena, bool undrain)
{
	Strowger__DrainRequest *d = rt_arena_alloc(arena, sizeof(*d));
	if (!d) {
		fprintf(stderr, "strowgerctl: out of memory\n");
		return CTL_EXIT_FAIL;
	}
	strowger__drain_request__init(d);
	if (a->gateway && a->site) {
		fprintf(stderr, "strowgerctl: drain one thing at a time (--gateway or --site)\n");
		return CTL_EXIT_USAGE;
	}
	d->target = a->gateway ? STROWGER__DRAIN_REQUEST__TARGET__GATEWAY
		    : a->site  ? STROWGER__DRAIN_REQUEST__TARGET__SITE
			       : STROWGER__DRAIN_REQUEST__TARGET__SERVER;
	d->name = (char *)(a->gateway ? a->gateway : a->site ? a->site : "");
	d->undrain = undrain;
	req->op_case = STROWGER__CONTROL_REQUEST__OP_DRAIN;
	req->drain = d;
	return CTL_EXIT_OK;
}

static int ctl_build_drain(const struct ctl_conn_args *a, Strowger__ControlRequest *req,
			   struct rt_arena *arena)
{
	return ctl_build_drain_common(a, req, arena, false);
}

static int ctl_build_undrain(const struct ctl_conn_args *a, Strowger__ControlRequest *req,
			     struct rt_arena *arena)
{
	return ctl_build_drain_common(a, req, arena, true);
}

int ctl_cmd_drain(int argc, char **argv)
{
	static const int allowed[] = {CTL_O_GATEWAY, CTL_O_SITE, 0};
	return ctl_run(argc, argv, allowed, 0, 0, ctl_build_drain, NULL);
}

int ctl_cmd_undrain(int argc, char **argv)
{
	static const int allowed[] = {CTL_O_GATEWAY, CTL_O_SITE, 0};
	return ctl_run(argc, argv, allowed, 0, 0, ctl_build_undrain, NULL);
}

/* ---- status ---------------------------------------------------------------------------- */

static const char *ctl_health_name(Strowger__HealthState s)
{
	return (unsigned)s < RT_HEALTH_COUNT ? rt_health_name((enum rt_health)s) : "?";
}

static int ctl_build_status(const struct ctl_conn_args *a, Strowger__ControlRequest *req,
			    struct rt_arena *arena)
{
	static Strowger__StatusRequest sr = STROWGER__STATUS_REQUEST__INIT;
	req->op_case = STROWGER__CONTROL_REQUEST__OP_STATUS;
	req->status = &sr;
	return CTL_EXIT_OK;
}

static int ctl_print_status(const struct ctl_conn_args *a, const Strowger__ControlResponse *r)
{
	const Strowger__StatusResponse *s = r->status;
	if (!s) {
		fprintf(stderr, "strowgerctl: status: no result in the response\n");
		return CTL_EXIT_FAIL;
	}
	if (a->json) {
		struct ctl_json j;
		ctl_json_init(&j, stdout);
		ctl_json_object_begin(&j);
		ctl_json_kv_string(&j, "version", s->version);
		ctl_json_kv_uint(&j, "generation", s->generation);
		ctl_json_key(&j, "uptime_s");
		ctl_json_double(&j, s->uptime_s);
		ctl_json_kv_uint(&j, "workers", s->workers);
		ctl_json_kv_string(&j, "io", s->io);
		ctl_json_kv_string(&j, "config_source", s->config_source);
		ctl_json_kv_string(&j, "config_origin", s->config_origin);
		ctl_json_key(&j, "loaded_at");
		ctl_json_uint(&j, (uint64_t)s->loaded_at);
		ctl_json_kv_bool(&j, "draining", s->draining);
		ctl_json_kv_uint(&j, "routes", s->routes);
		ctl_json_kv_uint(&j, "gateways", s->gateways);
		ctl_json_strings(&j, "listeners", s->listeners, s->n_listeners);
		ctl_json_key(&j, "health");
		ctl_json_array_begin(&j);
		for (size_t i = 0; i < s->n_health; i++) {
			const Strowger__HealthEntry *h = s->health[i];
			ctl_json_object_begin(&j);
			ctl_json_kv_string(&j, "name", h->name);
			ctl_json_kv_string(&j, "kind", *h->kind ? h->kind : NULL);
			ctl_json_kv_string(&j, "reported", ctl_health_name(h->reported));
			ctl_json_kv_string(&j, "effective", ctl_health_name(h->effective));
			ctl_json_kv_bool(&j, "drained", h->drained);
			ctl_json_key(&j, "expires_in_ms");
			ctl_json_int(&j, h->expires_in_ms);
			ctl_json_kv_string(&j, "sources", *h->source ? h->source : NULL);
			ctl_json_kv_string(&j, "breaker", *h->breaker ? h->breaker : NULL);
			ctl_json_key(&j, "failure_ratio");
			ctl_json_double(&j, h->failure_ratio);
			ctl_json_kv_uint(&j, "breaker_samples", h->breaker_samples);
			ctl_json_object_end(&j);
		}
		ctl_json_array_end(&j);
		ctl_json_object_end(&j);
		return ctl_json_finish(&j) ? CTL_EXIT_FAIL : CTL_EXIT_OK;
	}
	char when[64] = "?";
	time_t t = (time_t)s->loaded_at;
	struct tm tm;
	if (gmtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	printf("strowgerd %s, up %.0f s, %u worker%s (%s)%s\n", s->version, s->uptime_s,
	       s->workers, s->workers == 1 ? "" : "s", s->io, s->draining ? ", DRAINING" : "");
	printf("generation %llu: %s (from %s, loaded %s), %u routes, %u gateways\n",
	       (unsigned long long)s->generation, s->config_source, s->config_origin, when,
	       s->routes, s->gateways);
	for (size_t i = 0; i < s->n_listeners; i++)
		printf("listening: %s\n", s->listeners[i]);
	if (s->n_health)
		printf("health:\n");
	for (size_t i = 0; i < s->n_health; i++) {
		const Strowger__HealthEntry *h = s->health[i];
		printf("  %-9s %-20s %-9s", *h->kind ? h->kind : "(unknown)", h->name,
		       ctl_health_name(h->effective));
		if (h->drained)
			printf(" drained by operator;");
		if (h->expires_in_ms >= 0)
			printf(" report expires in %.1f s;", h->expires_in_ms / 1e3);
		if (*h->source)
			printf(" reports: %s;", h->source);
		if (*h->breaker && strcmp(h->breaker, "closed"))
			printf(" breaker %s (failure ratio %.2f over %llu);", h->breaker,
			       h->failure_ratio, (unsigned long long)h->breaker_samples);
		printf("\n");
	}
	return CTL_EXIT_OK;
}

int ctl_cmd_status(int argc, char **argv)
{
	static const int allowed[] = {CTL_O_JSON, 0};
	return ctl_run(argc, argv, allowed, 0, 0, ctl_build_status, ctl_print_status);
}

/* ---- stats ----------------------------------------------------------------------------- */

static int ctl_build_stats(const struct ctl_conn_args *a, Strowger__ControlRequest *req,
			   struct rt_arena *arena)
{
	static Strowger__StatsRequest sr = STROWGER__STATS_REQUEST__INIT;
	req->op_case = STROWGER__CONTROL_REQUEST__OP_STATS;
	req->stats = &sr;
	return CTL_EXIT_OK;
}

static void ctl_json_counts(struct ctl_json *j, const char *key,
			    Strowger__StatsResponse__NameCount **v, size_t n)
{
	ctl_json_key(j, key);
	ctl_json_object_begin(j);
	for (size_t i = 0; i < n; i++)
		ctl_json_kv_uint(j, v[i]->name, v[i]->count);
	ctl_json_object_end(j);
}

static void ctl_print_counts(const char *title, Strowger__StatsResponse__NameCount **v, size_t n)
{
	printf("%s:\n", title);
	for (size_t i = 0; i < n; i++)
		printf("  %-32s %llu\n", v[i]->name, (unsigned long long)v[i]->count);
}

static int ctl_print_stats(const struct ctl_conn_args *a, const Strowger__ControlResponse *r)
{
	const Strowger__StatsResponse *s = r->stats;
	if (!s) {
		fprintf(stderr, "strowgerctl: stats: no result in the response\n");
		return CTL_EXIT_FAIL;
	}
	if (a->json) {
		struct ctl_json j;
		char code[8];
		ctl_json_init(&j, stdout);
		ctl_json_object_begin(&j);
		ctl_json_kv_uint(&j, "generation", s->generation);
		ctl_json_kv_uint(&j, "requests", s->requests);
		ctl_json_kv_uint(&j, "sip_requests", s->sip_requests);
		ctl_json_kv_uint(&j, "native_requests", s->native_requests);
		ctl_json_kv_uint(&j, "replies", s->replies);
		ctl_json_kv_uint(&j, "malformed", s->malformed);
		ctl_json_kv_uint(&j, "dropped", s->dropped);
		ctl_json_kv_uint(&j, "failover_queries", s->failover_queries);
		ctl_json_kv_uint(&j, "reloads", s->reloads);
		ctl_json_kv_uint(&j, "reload_failures", s->reload_failures);
		ctl_json_counts(&j, "by_status", s->by_status, s->n_by_status);
		ctl_json_counts(&j, "sip_methods", s->sip_methods, s->n_sip_methods);
		ctl_json_counts(&j, "route_hits", s->route_hits, s->n_route_hits);
		ctl_json_counts(&j, "gateway_selections", s->gateway_selections,
				s->n_gateway_selections);
		ctl_json_key(&j, "failover_by_code");
		ctl_json_object_begin(&j);
		for (size_t i = 0; i < s->n_failover_by_code; i++) {
			snprintf(code, sizeof(code), "%u", s->failover_by_code[i]->code);
			ctl_json_kv_uint(&j, code, s->failover_by_code[i]->count);
		}
		ctl_json_object_end(&j);
		ctl_json_object_end(&j);
		return ctl_json_finish(&j) ? CTL_EXIT_FAIL : CTL_EXIT_OK;
	}
	printf("generation %llu; %llu requests (%llu SIP, %llu native), %llu replies, "
	       "%llu malformed, %llu dropped; %llu reloads, %llu rejected\n",
	       (unsigned long long)s->generation, (unsigned long long)s->requests,
	       (unsigned long long)s->sip_requests, (unsigned long long)s->native_requests,
	       (unsigned long long)s->replies, (unsigned long long)s->malformed,
	       (unsigned long long)s->dropped, (unsigned long long)s->reloads,
	       (unsigned long long)s->reload_failures);
	ctl_print_counts("decisions by status", s->by_status, s->n_by_status);
	ctl_print_counts("SIP requests by method", s->sip_methods, s->n_sip_methods);
	ctl_print_counts("route hits (first destination)", s->route_hits, s->n_route_hits);
	ctl_print_counts("gateway selections (first destination)", s->gateway_selections,
			 s->n_gateway_selections);
	printf("failover queries: %llu\n", (unsigned long long)s->failover_queries);
	for (size_t i = 0; i < s->n_failover_by_code; i++)
		printf("  last tried code %-3u %llu\n", s->failover_by_code[i]->code,
		       (unsigned long long)s->failover_by_code[i]->count);
	return CTL_EXIT_OK;
}

int ctl_cmd_stats(int argc, char **argv)
{
	static const int allowed[] = {CTL_O_JSON, 0};
	return ctl_run(argc, argv, allowed, 0, 0, ctl_build_stats, ctl_print_stats);
}
