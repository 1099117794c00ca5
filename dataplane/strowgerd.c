/*
 * strowgerd: the routing decision server. Main thread = control thread:
 * loads and compiles config, publishes it, handles signals; workers answer.
 * Startup errors are fatal with a clear message; a reload that fails keeps
 * the running generation and says why.
 */
#include <errno.h>
#include <getopt.h>
#include <hs/hs.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cfg_yaml.h"
#include "dp_io.h"
#include "dp_log.h"
#include "dp_server.h"
#include "rt_snapshot.h"

#ifndef STROWGER_VERSION
#define STROWGER_VERSION "dev"
#endif

struct opts {
	const char *config;
	const char *state_dir;
	const char *io;
	struct dp_listen listen[DP_MAX_LISTEN];
	unsigned n_listen;
	bool have_sip, have_query;
	unsigned workers;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: strowgerd --config FILE [options]\n"
		"\n"
		"  --config FILE        routing config (YAML)\n"
		"  --sip ADDR:PORT      SIP redirect listener (UDP; repeatable; default 0.0.0.0:5060)\n"
		"  --query ADDR:PORT    native protobuf query listener (UDP; repeatable; default 0.0.0.0:5070)\n"
		"  --workers N          worker threads (default: cores - 1, at least 1)\n"
		"  --state-dir DIR      where the last accepted config is kept (created if missing)\n"
		"  --io socket          packet I/O backend (default: socket, kernel UDP sockets)\n"
		"  --verbose            debug logging\n"
		"  --version, --help\n"
		"\n"
		"Signals: SIGHUP reloads --config (a bad file keeps the running config);\n"
		"SIGINT/SIGTERM stop cleanly. Addresses: 127.0.0.1:5060, [::1]:5060, :5060.\n");
}

static int add_listen(struct opts *o, const char *arg, enum dp_service svc)
{
	char err[160];
	if (o->n_listen >= DP_MAX_LISTEN) {
		fprintf(stderr, "strowgerd: at most %d listening addresses\n", DP_MAX_LISTEN);
		return -1;
	}
	if (dp_listen_parse(arg, svc, svc == DP_SVC_SIP ? 5060 : 5070, &o->listen[o->n_listen], err,
			    sizeof(err))) {
		fprintf(stderr, "strowgerd: --%s %s: %s\n", svc == DP_SVC_SIP ? "sip" : "query", arg,
			err);
		return -1;
	}
	o->n_listen++;
	return 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'}, {"sip", required_argument, NULL, 's'},
		{"query", required_argument, NULL, 'q'},  {"workers", required_argument, NULL, 'w'},
		{"state-dir", required_argument, NULL, 'd'}, {"io", required_argument, NULL, 'i'},
		{"verbose", no_argument, NULL, 'v'},      {"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},      {NULL, 0, NULL, 0},
	};
	long n;
	char *end;
	int c;
	while ((c = getopt_long(argc, argv, "c:s:q:w:d:i:vhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->config = optarg;
			break;
		case 's':
			if (add_listen(o, optarg, DP_SVC_SIP))
				return 2;
			o->have_sip = true;
			break;
		case 'q':
			if (add_listen(o, optarg, DP_SVC_NATIVE))
				return 2;
			o->have_query = true;
			break;
		case 'w':
			n = strtol(optarg, &end, 10);
			if (*end || n < 1 || n > 256) {
				fprintf(stderr, "strowgerd: --workers must be 1..256\n");
				return 2;
			}
			o->workers = (unsigned)n;
			break;
		case 'd':
			o->state_dir = optarg;
			break;
		case 'i':
			o->io = optarg;
			break;
		case 'v':
			dp_log_set_level(DP_LOG_DEBUG);
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("strowgerd %s\n", STROWGER_VERSION);
			exit(0);
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "strowgerd: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (!o->config) {
		fprintf(stderr, "strowgerd: --config FILE is required\n");
		usage(stderr);
		return 2;
	}
	if (o->io && strcmp(o->io, "socket")) {
		fprintf(stderr, "strowgerd: --io %s: unknown backend (this build has: socket)\n", o->io);
		return 2;
	}
	if (!o->have_sip && add_listen(o, "0.0.0.0:5060", DP_SVC_SIP))
		return 2;
	if (!o->have_query && add_listen(o, "0.0.0.0:5070", DP_SVC_NATIVE))
		return 2;
	if (!o->workers) {
		long cores = sysconf(_SC_NPROCESSORS_ONLN);
		o->workers = cores > 1 ? (unsigned)(cores - 1) : 1;
	}
	return 0;
}

/* Load and compile; NULL with every problem logged. */
static struct rt_snapshot *load(const char *path, uint64_t generation)
{
	struct rt_diag d;
	rt_diag_init(&d);
	struct rt_snapshot *s = NULL;
	struct rt_config *cfg = cfg_yaml_load_file(path, &d);
	if (cfg) {
		s = rt_snapshot_build(cfg, generation, &d);
		rt_config_free(cfg);
	}
	for (size_t i = 0; i < d.n; i++)
		dp_log(DP_LOG_ERR, "%s", d.msgs[i]);
	if (d.dropped)
		dp_log(DP_LOG_ERR, "(%zu more errors)", d.dropped);
	rt_diag_clear(&d);
	return s;
}

/* mkdir -p, mode 0700 for what it creates. 0 or -1 with errno set. */
static int mkdir_p(const char *path)
{
	char buf[4096];
	size_t n = strlen(path);
	struct stat st;

	if (n == 0 || n >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, 0700) != 0 && errno != EEXIST)
		return -1;
	if (stat(buf, &st) != 0)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void reload(struct dp_server *srv, const char *path)
{
	double t0 = now_s();
	struct rt_snapshot *s = load(path, srv->next_generation);
	if (!s) {
		dp_log(DP_LOG_ERR, "reload of %s rejected; still serving generation %llu", path,
		       (unsigned long long)rt_snapshot_generation(dp_server_snapshot(srv)));
		return;
	}
	uint64_t gen = rt_snapshot_generation(s);
	size_t routes = rt_snapshot_route_count(s);
	if (dp_server_publish(srv, s)) {
		dp_log(DP_LOG_ERR, "reload of %s: out of memory; still serving the previous config",
		       path);
		return;
	}
	srv->next_generation++;
	dp_log(DP_LOG_INFO, "reloaded %s: generation %llu, %zu routes, %.3f s", path,
	       (unsigned long long)gen, routes, now_s() - t0);
}

int main(int argc, char **argv)
{
	struct opts o = {0};
	char err[256];
	int rc = parse_args(argc, argv, &o);
	if (rc)
		return rc;

	if (hs_valid_platform() != HS_SUCCESS) {
		fprintf(stderr, "strowgerd: this CPU lacks SSSE3, which Hyperscan needs\n");
		return 1;
	}
	if (o.state_dir && mkdir_p(o.state_dir) != 0) {
		fprintf(stderr, "strowgerd: --state-dir %s: %s\n", o.state_dir, strerror(errno));
		return 1;
	}
	for (unsigned i = 0; i < o.n_listen; i++) {
		if (dp_sock_check_free(&o.listen[i], err, sizeof(err))) {
			fprintf(stderr, "strowgerd: %s\n", err);
			return 1;
		}
	}

	struct rt_snapshot *snap = load(o.config, 1);
	if (!snap) {
		fprintf(stderr, "strowgerd: %s: config rejected (errors above)\n", o.config);
		return 1;
	}

	/* Signals go to the control thread only: block them before any
	 * worker exists so workers inherit the mask. */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct dp_server *srv = dp_server_new(o.workers, &dp_sock_ops, err, sizeof(err));
	if (!srv)
		goto fail;
	for (unsigned i = 0; i < o.workers; i++) {
		struct dp_counters *c = dp_server_worker_counters(srv, i);
		struct dp_io_queue *q = dp_sock_queue_new(o.listen, o.n_listen, &c->io, err, sizeof(err));
		if (!q)
			goto fail;
		dp_server_set_queue(srv, i, q);
	}
	srv->next_generation = 2;
	if (dp_server_publish(srv, snap)) {
		snap = NULL;
		snprintf(err, sizeof(err), "out of memory publishing the config");
		goto fail;
	}
	snap = NULL;
	if (dp_server_start(srv, err, sizeof(err)))
		goto fail;

	char where[512] = "";
	for (unsigned i = 0, w = 0; i < o.n_listen && w < sizeof(where); i++)
		w += (size_t)snprintf(where + w, sizeof(where) - w, "%s%s udp %s", i ? ", " : "",
				      dp_service_name(o.listen[i].svc), o.listen[i].text);
	const struct rt_snapshot *cur = dp_server_snapshot(srv);
	dp_log(DP_LOG_INFO, "ready: generation %llu from %s (%zu routes, %zu gateways); %s; %u worker%s",
	       (unsigned long long)rt_snapshot_generation(cur), o.config, rt_snapshot_route_count(cur),
	       rt_snapshot_gateway_count(cur), where, o.workers, o.workers == 1 ? "" : "s");

	for (;;) {
		int sig;
		if (sigwait(&sigs, &sig))
			continue;
		if (sig == SIGHUP) {
			dp_log(DP_LOG_INFO, "SIGHUP: reloading %s", o.config);
			reload(srv, o.config);
			continue;
		}
		dp_log(DP_LOG_INFO, "%s: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
		break;
	}
	dp_server_stop(srv);
	struct dp_counters sum;
	dp_server_counters(srv, &sum);
	dp_log(DP_LOG_INFO, "stopped: %llu requests, %llu replies, %llu malformed, %llu dropped",
	       (unsigned long long)(sum.rx[DP_SVC_SIP] + sum.rx[DP_SVC_NATIVE]),
	       (unsigned long long)sum.tx, (unsigned long long)sum.malformed,
	       (unsigned long long)sum.dropped);
	dp_server_free(srv);
	return 0;
fail:
	fprintf(stderr, "strowgerd: %s\n", err);
	dp_server_free(srv); /* and the queues it was given */
	rt_snapshot_free(snap);
	return 1;
}
