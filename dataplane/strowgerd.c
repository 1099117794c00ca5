/*
 * strowgerd: the routing decision server. The main thread is the control
 * thread (control/daemon/cd_server.c): it loads the first config, starts
 * the workers, then serves the control channel and signals; workers answer
 * SBCs. Startup errors are fatal with a clear message; a reload that fails
 * keeps the running generation and says why.
 */
#include <errno.h>
#include <getopt.h>
#include <hs/hs.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cd_health.h"
#include "cd_server.h"
#include "dp_io.h"
#include "dp_io_dpdk.h"
#include "dp_log.h"
#include "dp_metrics.h"
#include "dp_server.h"
#include "rt_hscache.h"
#include "rt_snapshot.h"

#ifndef STROWGER_VERSION
#define STROWGER_VERSION "dev"
#endif

#define DEFAULT_CONTROL "/run/strowger/control.sock"

struct opts {
	const char *config;
	const char *state_dir;
	const char *hs_cache; /* --hs-cache DIR|none; NULL: STATE_DIR/hs-cache */
	const char *io;
	const char *control;
	const char *control_tcp;
	const char *token_file;
	const char *metrics;
	struct dp_listen listen[DP_MAX_LISTEN];
	unsigned n_listen;
	bool have_sip, have_query;
	bool dpdk;        /* --io dpdk */
	bool workers_set; /* --workers given */
	struct dp_dpdk_config dc;
	unsigned workers;
	double health_ttl_s, drain_grace_s, compact_after_s;
	unsigned hysteresis, quorum;
	struct cd_breaker_opts breaker;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: strowgerd [--config FILE] [options]\n"
		"\n"
		"  --config FILE          routing config (YAML); may be left out when --state-dir\n"
		"                         holds a saved one\n"
		"  --sip ADDR:PORT        SIP redirect listener (UDP; repeatable; default 0.0.0.0:5060)\n"
		"  --query ADDR:PORT      native protobuf query listener (UDP; repeatable;\n"
		"                         default 0.0.0.0:5070)\n"
		"  --workers N            worker threads (default: cores - 1, at least 1)\n"
		"  --state-dir DIR        keeps the last accepted config (created if missing); a\n"
		"                         restart serves it unless --config is newer\n"
		"  --hs-cache DIR|none    cache compiled Hyperscan databases in DIR (created if\n"
		"                         missing), so a restart or a reload of patterns seen\n"
		"                         before does not recompile (default: STATE_DIR/hs-cache\n"
		"                         with --state-dir, else none)\n"
		"  --control PATH         control socket (Unix, mode 0600; default DIR/control.sock\n"
		"                         with --state-dir, else " DEFAULT_CONTROL "; 'none': off)\n"
		"  --control-tcp ADDR:PORT  also accept control clients over TCP (a non-loopback\n"
		"                         address needs --control-token-file)\n"
		"  --control-token-file FILE  token TCP clients must send (first line of FILE)\n"
		"  --metrics ADDR:PORT    Prometheus metrics over HTTP (GET /metrics), e.g.\n"
		"                         127.0.0.1:9470 (default: off)\n"
		"  --health-ttl S         lifetime of a health report without its own TTL\n"
		"                         (default 60; 0: reports never expire)\n"
		"  --health-hysteresis N  consecutive reports before a state changes (default 1)\n"
		"  --health-quorum N      sources (probes) that must agree on a bad state (default 1)\n"
		"  --breaker on|off       passive health from SBC failover reports (default on)\n"
		"  --breaker-window S     sliding window (default 10 s)\n"
		"  --breaker-min N        attempts in the window before judging (default 20)\n"
		"  --breaker-degrade R    failure ratio that demotes a gateway (default 0.3)\n"
		"  --breaker-down R       failure ratio that removes it (default 0.6)\n"
		"  --breaker-cooldown S   how long a removed gateway stays out (default 30 s)\n"
		"  --drain-grace S        on SIGTERM/SIGINT, answer SIP OPTIONS 503 for S seconds\n"
		"                         before stopping (default 2; a second signal stops now)\n"
		"  --compact-after S      once a route patch has been served S seconds with no\n"
		"                         other change, rebuild the whole config in the\n"
		"                         background (decisions on a patched snapshot cost more;\n"
		"                         default 60; 0: never)\n"
		"  --io socket|dpdk       packet I/O backend (default: socket, kernel UDP sockets)\n"
		"  --verbose              debug logging\n"
		"  --version, --help\n"
		"\n"
		"DPDK backend (--io dpdk; %s):\n"
		"  strowgerd is then an IP host of its own on a DPDK port: it answers ARP, IPv6\n"
		"  neighbour solicitations and pings for its address and resolves its gateway;\n"
		"  --sip/--query give the UDP ports (their address is the host's own, or 0.0.0.0 /\n"
		"  [::]; default 5060 and 5070 on every address family it has). One RX/TX queue\n"
		"  pair per worker.\n"
		"  --dpdk-addr A.B.C.D/LEN  the host's IPv4 address and subnet (required unless\n"
		"                         --dpdk-addr6)\n"
		"  --dpdk-gw A.B.C.D      IPv4 gateway for peers off the subnet (without one,\n"
		"                         replies go back to the MAC the request came from)\n"
		"  --dpdk-addr6 V6/LEN    the host's IPv6 address and prefix\n"
		"  --dpdk-gw6 V6          IPv6 gateway (on the prefix, or link-local)\n"
		"  --dpdk-port ID|NAME    the port: id, or device name as EAL knows it (default:\n"
		"                         the first)\n"
		"  --dpdk-args \"ARGS\"     EAL arguments, e.g. \"-a 0000:3b:00.0\" (a NIC bound to\n"
		"                         vfio-pci), \"--vdev net_af_packet0,iface=eth1\" or \"--no-huge\n"
		"                         -m 512 --vdev net_pcap0,rx_pcap=in.pcap,tx_pcap=out.pcap\";\n"
		"                         anything after -- is added to them.\n"
		"                         Added unless given: --in-memory (--no-shconf with\n"
		"                         --no-huge), --no-telemetry, -l CPU, --log-level=notice,\n"
		"                         and --no-pci when there are only --vdev devices.\n"
		"                         Hugepages by default (scripts/hugepages reserves some);\n"
		"                         --no-huge runs without.\n"
		"  --dpdk-busy-poll       idle workers keep polling (a core each) instead of\n"
		"                         backing off to short sleeps\n"
		"\n"
		"Signals: SIGHUP reloads --config (a bad file keeps the running config);\n"
		"SIGINT/SIGTERM drain, then stop. Addresses: 127.0.0.1:5060, [::1]:5060, :5060.\n",
		dp_dpdk_available() ? dp_dpdk_version() : "not in this build");
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

static int parse_seconds(const char *flag, const char *arg, double *out)
{
	char *end;
	double v = strtod(arg, &end);
	if (end == arg || *end || v < 0 || v > 86400) {
		fprintf(stderr, "strowgerd: %s '%s': expected seconds, 0..86400\n", flag, arg);
		return -1;
	}
	*out = v;
	return 0;
}

enum {
	OPT_CONTROL = 256,
	OPT_CONTROL_TCP,
	OPT_TOKEN_FILE,
	OPT_METRICS,
	OPT_HEALTH_TTL,
	OPT_HYSTERESIS,
	OPT_DRAIN_GRACE,
	OPT_COMPACT_AFTER,
	OPT_QUORUM,
	OPT_BREAKER,
	OPT_BRK_WINDOW,
	OPT_BRK_MIN,
	OPT_BRK_DEGRADE,
	OPT_BRK_DOWN,
	OPT_BRK_COOLDOWN,
	OPT_DPDK_ARGS,
	OPT_DPDK_PORT,
	OPT_DPDK_ADDR,
	OPT_DPDK_GW,
	OPT_DPDK_ADDR6,
	OPT_DPDK_GW6,
	OPT_DPDK_BUSY,
	OPT_HS_CACHE,
};

static int parse_uint(const char *flag, const char *arg, unsigned lo, unsigned hi, unsigned *out)
{
	char *end;
	long n = strtol(arg, &end, 10);
	if (end == arg || *end || n < (long)lo || n > (long)hi) {
		fprintf(stderr, "strowgerd: %s must be %u..%u\n", flag, lo, hi);
		return -1;
	}
	*out = (unsigned)n;
	return 0;
}

static int parse_ratio(const char *flag, const char *arg, double *out)
{
	char *end;
	double v = strtod(arg, &end);
	if (end == arg || *end || v <= 0 || v > 1) {
		fprintf(stderr, "strowgerd: %s '%s': a ratio in (0, 1]\n", flag, arg);
		return -1;
	}
	*out = v;
	return 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"sip", required_argument, NULL, 's'},
		{"query", required_argument, NULL, 'q'},
		{"workers", required_argument, NULL, 'w'},
		{"state-dir", required_argument, NULL, 'd'},
		{"hs-cache", required_argument, NULL, OPT_HS_CACHE},
		{"io", required_argument, NULL, 'i'},
		{"control", required_argument, NULL, OPT_CONTROL},
		{"control-tcp", required_argument, NULL, OPT_CONTROL_TCP},
		{"control-token-file", required_argument, NULL, OPT_TOKEN_FILE},
		{"metrics", required_argument, NULL, OPT_METRICS},
		{"health-ttl", required_argument, NULL, OPT_HEALTH_TTL},
		{"health-hysteresis", required_argument, NULL, OPT_HYSTERESIS},
		{"drain-grace", required_argument, NULL, OPT_DRAIN_GRACE},
		{"compact-after", required_argument, NULL, OPT_COMPACT_AFTER},
		{"dpdk-args", required_argument, NULL, OPT_DPDK_ARGS},
		{"dpdk-port", required_argument, NULL, OPT_DPDK_PORT},
		{"dpdk-addr", required_argument, NULL, OPT_DPDK_ADDR},
		{"dpdk-gw", required_argument, NULL, OPT_DPDK_GW},
		{"dpdk-addr6", required_argument, NULL, OPT_DPDK_ADDR6},
		{"dpdk-gw6", required_argument, NULL, OPT_DPDK_GW6},
		{"dpdk-busy-poll", no_argument, NULL, OPT_DPDK_BUSY},
		{"health-quorum", required_argument, NULL, OPT_QUORUM},
		{"breaker", required_argument, NULL, OPT_BREAKER},
		{"breaker-window", required_argument, NULL, OPT_BRK_WINDOW},
		{"breaker-min", required_argument, NULL, OPT_BRK_MIN},
		{"breaker-degrade", required_argument, NULL, OPT_BRK_DEGRADE},
		{"breaker-down", required_argument, NULL, OPT_BRK_DOWN},
		{"breaker-cooldown", required_argument, NULL, OPT_BRK_COOLDOWN},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	long n;
	char *end;
	int c;
	const char *dpdk_flag = NULL; /* a --dpdk-* flag seen */

	o->health_ttl_s = 60;
	o->drain_grace_s = 2;
	o->compact_after_s = 60;
	o->hysteresis = 1;
	o->quorum = 1;
	o->breaker = (struct cd_breaker_opts){.enabled = true, .window_s = 10, .min_samples = 20,
					      .degrade_ratio = 0.3, .down_ratio = 0.6,
					      .cooldown_s = 30};
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
			o->workers_set = true;
			break;
		case 'd':
			o->state_dir = optarg;
			break;
		case 'i':
			o->io = optarg;
			break;
		case OPT_HS_CACHE:
			o->hs_cache = optarg;
			break;
		case OPT_CONTROL:
			o->control = optarg;
			break;
		case OPT_CONTROL_TCP:
			o->control_tcp = optarg;
			break;
		case OPT_TOKEN_FILE:
			o->token_file = optarg;
			break;
		case OPT_METRICS:
			o->metrics = optarg;
			break;
		case OPT_HEALTH_TTL:
			if (parse_seconds("--health-ttl", optarg, &o->health_ttl_s))
				return 2;
			break;
		case OPT_DRAIN_GRACE:
			if (parse_seconds("--drain-grace", optarg, &o->drain_grace_s))
				return 2;
			break;
		case OPT_COMPACT_AFTER:
			if (parse_seconds("--compact-after", optarg, &o->compact_after_s))
				return 2;
			break;
		case OPT_HYSTERESIS:
			n = strtol(optarg, &end, 10);
			if (*end || n < 1 || n > 100) {
				fprintf(stderr, "strowgerd: --health-hysteresis must be 1..100\n");
				return 2;
			}
			o->hysteresis = (unsigned)n;
			break;
		case OPT_QUORUM:
			if (parse_uint("--health-quorum", optarg, 1, CD_HEALTH_MAX_SOURCES, &o->quorum))
				return 2;
			break;
		case OPT_BREAKER:
			if (strcmp(optarg, "on") && strcmp(optarg, "off")) {
				fprintf(stderr, "strowgerd: --breaker on|off\n");
				return 2;
			}
			o->breaker.enabled = !strcmp(optarg, "on");
			break;
		case OPT_BRK_WINDOW:
			if (parse_uint("--breaker-window", optarg, 1, CD_BREAKER_MAX_WINDOW,
				       &o->breaker.window_s))
				return 2;
			break;
		case OPT_BRK_MIN:
			if (parse_uint("--breaker-min", optarg, 1, 1000000, &o->breaker.min_samples))
				return 2;
			break;
		case OPT_BRK_DEGRADE:
			if (parse_ratio("--breaker-degrade", optarg, &o->breaker.degrade_ratio))
				return 2;
			break;
		case OPT_BRK_DOWN:
			if (parse_ratio("--breaker-down", optarg, &o->breaker.down_ratio))
				return 2;
			break;
		case OPT_BRK_COOLDOWN:
			if (parse_uint("--breaker-cooldown", optarg, 1, 86400, &o->breaker.cooldown_s))
				return 2;
			break;
		case OPT_DPDK_ARGS:
		case OPT_DPDK_PORT:
		case OPT_DPDK_ADDR:
		case OPT_DPDK_GW:
		case OPT_DPDK_ADDR6:
		case OPT_DPDK_GW6:
		case OPT_DPDK_BUSY:
			for (const struct option *lo = longopts; lo->name; lo++)
				if (lo->val == c)
					dpdk_flag = lo->name;
			if (c == OPT_DPDK_ARGS)
				o->dc.eal_args = optarg;
			else if (c == OPT_DPDK_PORT)
				o->dc.port = optarg;
			else if (c == OPT_DPDK_ADDR)
				o->dc.addr = optarg;
			else if (c == OPT_DPDK_GW)
				o->dc.gw = optarg;
			else if (c == OPT_DPDK_ADDR6)
				o->dc.addr6 = optarg;
			else if (c == OPT_DPDK_GW6)
				o->dc.gw6 = optarg;
			else
				o->dc.busy_poll = true;
			break;
		case 'v':
			dp_log_set_level(DP_LOG_DEBUG);
			o->dc.verbose = true;
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
	o->dpdk = o->io && !strcmp(o->io, "dpdk");
	if (optind < argc && o->dpdk && !strcmp(argv[optind - 1], "--")) {
		/* Everything after `--` is for EAL. */
		o->dc.eal_argv = argv + optind;
		o->dc.eal_argc = argc - optind;
		optind = argc;
	}
	if (optind < argc) {
		fprintf(stderr, "strowgerd: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (!o->config && !o->state_dir) {
		fprintf(stderr, "strowgerd: --config FILE is required (or --state-dir holding a "
				"saved config)\n");
		usage(stderr);
		return 2;
	}
	if (o->io && strcmp(o->io, "socket") && strcmp(o->io, "dpdk")) {
		fprintf(stderr, "strowgerd: --io %s: unknown backend (socket or dpdk)\n", o->io);
		return 2;
	}
	if (o->dpdk && !dp_dpdk_available()) {
		fprintf(stderr, "strowgerd: --io dpdk: %s\n", dp_dpdk_version());
		return 2;
	}
	if (dpdk_flag && !o->dpdk) {
		fprintf(stderr, "strowgerd: --%s is for --io dpdk\n", dpdk_flag);
		return 2;
	}
	if (o->breaker.degrade_ratio > o->breaker.down_ratio) {
		fprintf(stderr, "strowgerd: --breaker-degrade must not exceed --breaker-down\n");
		return 2;
	}
	if (o->token_file && !o->control_tcp) {
		fprintf(stderr, "strowgerd: --control-token-file is for --control-tcp\n");
		return 2;
	}
	if (o->dpdk) {
		/* The host's own addresses: every family it has. */
		if (!o->have_sip && ((o->dc.addr && add_listen(o, "0.0.0.0:5060", DP_SVC_SIP)) ||
				     (o->dc.addr6 && add_listen(o, "[::]:5060", DP_SVC_SIP))))
			return 2;
		if (!o->have_query &&
		    ((o->dc.addr && add_listen(o, "0.0.0.0:5070", DP_SVC_NATIVE)) ||
		     (o->dc.addr6 && add_listen(o, "[::]:5070", DP_SVC_NATIVE))))
			return 2;
	}
	if (!o->have_sip && !o->dpdk && add_listen(o, "0.0.0.0:5060", DP_SVC_SIP))
		return 2;
	if (!o->have_query && !o->dpdk && add_listen(o, "0.0.0.0:5070", DP_SVC_NATIVE))
		return 2;
	if (!o->workers) {
		long cores = sysconf(_SC_NPROCESSORS_ONLN);
		o->workers = cores > 1 ? (unsigned)(cores - 1) : 1;
	}
	return 0;
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

static void hscache_log(enum rt_hscache_level lvl, const char *msg)
{
	static const enum dp_log_level level[] = {
		[RT_HSCACHE_WARN] = DP_LOG_WARN,
		[RT_HSCACHE_INFO] = DP_LOG_INFO,
		[RT_HSCACHE_DEBUG] = DP_LOG_DEBUG,
	};
	dp_log(level[lvl], "%s", msg);
}

/* The compiled-database cache: --hs-cache, else STATE_DIR/hs-cache. An
 * explicit directory that cannot be used is fatal; the default only
 * warns (the cache is an optimisation). */
static int hscache_start(const struct opts *o)
{
	char dir[4096];
	if (o->hs_cache && !strcmp(o->hs_cache, "none"))
		return 0;
	if (!o->hs_cache && !o->state_dir)
		return 0;
	if (o->hs_cache)
		snprintf(dir, sizeof(dir), "%s", o->hs_cache);
	else
		snprintf(dir, sizeof(dir), "%s/hs-cache", o->state_dir);
	rt_hscache_set_log(hscache_log);
	int rc = mkdir_p(dir) ? -errno : rt_hscache_set_dir(dir);
	if (rc && o->hs_cache) {
		fprintf(stderr, "strowgerd: --hs-cache %s: %s\n", dir, strerror(-rc));
		return -1;
	}
	if (rc)
		dp_log(DP_LOG_WARN, "hyperscan cache off: %s: %s", dir, strerror(-rc));
	return 0;
}

/* The token: the first line of path, without surrounding whitespace. */
static char *read_token(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	struct stat sb;
	if (!f) {
		snprintf(err, errlen, "--control-token-file %s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fileno(f), &sb) == 0 && (sb.st_mode & 077))
		dp_log(DP_LOG_WARN, "--control-token-file %s is readable by others (mode %o)",
		       path, (unsigned)(sb.st_mode & 0777));
	char *s = fgets(line, sizeof(line), f) ? line : NULL;
	fclose(f);
	if (s) {
		s += strspn(s, " \t");
		s[strcspn(s, " \t\r\n")] = '\0';
	}
	if (!s || strlen(s) < 16) {
		snprintf(err, errlen, "--control-token-file %s: the first line must hold a token of "
				      "at least 16 characters", path);
		return NULL;
	}
	return strdup(s);
}

int main(int argc, char **argv)
{
	struct opts o = {0};
	char err[600], ctl_path[4096];
	char *token = NULL;
	struct dp_server *srv = NULL;
	struct cd_server *cd = NULL;
	struct dp_metrics *metrics = NULL;
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
	if (hscache_start(&o))
		return 1;
	for (unsigned i = 0; i < o.n_listen && !o.dpdk; i++) {
		if (dp_sock_check_free(&o.listen[i], err, sizeof(err))) {
			fprintf(stderr, "strowgerd: %s\n", err);
			return 1;
		}
	}
	if (o.token_file && !(token = read_token(o.token_file, err, sizeof(err)))) {
		fprintf(stderr, "strowgerd: %s\n", err);
		return 1;
	}
	if (!o.control)
		snprintf(ctl_path, sizeof(ctl_path), "%s/control.sock",
			 o.state_dir ? o.state_dir : "/run/strowger");
	else
		snprintf(ctl_path, sizeof(ctl_path), "%s", o.control);
	if (!o.control && !o.state_dir && mkdir_p("/run/strowger") != 0) {
		fprintf(stderr, "strowgerd: /run/strowger: %s (give --control PATH or --state-dir)\n",
			strerror(errno));
		return 1;
	}

	char where[600] = "";
	for (unsigned i = 0, w = 0; i < o.n_listen && w < sizeof(where) && !o.dpdk; i++)
		w += (size_t)snprintf(where + w, sizeof(where) - w, "%s%s udp %s", i ? ", " : "",
				      dp_service_name(o.listen[i].svc), o.listen[i].text);

	if (o.dpdk) {
		/* EAL starts threads: block the signals the control plane reads
		 * from its signalfd first (cd_server_new blocks them too), so
		 * that no EAL thread ever takes one. */
		sigset_t sigs;
		sigemptyset(&sigs);
		sigaddset(&sigs, SIGHUP);
		sigaddset(&sigs, SIGINT);
		sigaddset(&sigs, SIGTERM);
		pthread_sigmask(SIG_BLOCK, &sigs, NULL);
		if (dp_dpdk_init(&o.dc, o.listen, o.n_listen, &o.workers, o.workers_set, err,
				 sizeof(err)))
			goto fail;
		dp_dpdk_describe(where, sizeof(where));
	}

	srv = dp_server_new(o.workers, o.dpdk ? &dp_dpdk_ops : &dp_sock_ops, err, sizeof(err));
	if (!srv)
		goto fail;
	struct cd_opts co = {
		.config_path = o.config,
		.state_dir = o.state_dir,
		.unix_path = strcmp(ctl_path, "none") ? ctl_path : NULL,
		.tcp = o.control_tcp,
		.token = token,
		.health_ttl_ms = (uint32_t)(o.health_ttl_s * 1000),
		.hysteresis = o.hysteresis,
		.quorum = o.quorum,
		.breaker = o.breaker,
		.drain_grace_ms = (uint32_t)(o.drain_grace_s * 1000),
		.compact_after_ms = (uint32_t)(o.compact_after_s * 1000),
		.version = STROWGER_VERSION,
		.io_name = o.dpdk ? "dpdk" : "socket",
		.listeners = where,
	};
	/* Blocks the signals it handles: before any other thread exists. */
	cd = cd_server_new(srv, &co, err, sizeof(err));
	if (!cd)
		goto fail;
	for (unsigned i = 0; i < o.workers; i++) {
		struct dp_counters *c = dp_server_worker_counters(srv, i);
		struct dp_io_queue *q =
			o.dpdk ? dp_dpdk_queue_new(i, &c->io, err, sizeof(err))
			       : dp_sock_queue_new(o.listen, o.n_listen, &c->io, err, sizeof(err));
		if (!q)
			goto fail;
		dp_server_set_queue(srv, i, q);
	}
	if (cd_server_load_initial(cd) != 0) {
		snprintf(err, sizeof(err), "no config to serve (errors above)");
		goto fail;
	}
	if (rt_hscache_dir()) {
		struct rt_hscache_stats hs;
		rt_hscache_stats(&hs);
		dp_log(DP_LOG_INFO, "hyperscan cache %s: %llu hit%s, %llu compiled", rt_hscache_dir(),
		       (unsigned long long)hs.hits, hs.hits == 1 ? "" : "s",
		       (unsigned long long)hs.misses);
	}
	if (dp_server_start(srv, err, sizeof(err)))
		goto fail;
	if (o.metrics) {
		struct dp_listen ml;
		char why[160];
		if (dp_listen_parse(o.metrics, DP_SVC_SIP, 9470, &ml, why, sizeof(why))) {
			snprintf(err, sizeof(err), "--metrics %s: %s", o.metrics, why);
			goto fail;
		}
		metrics = dp_metrics_start((const struct sockaddr *)&ml.addr, ml.len,
					   cd_server_collect, cd, err, sizeof(err));
		if (!metrics)
			goto fail;
	}
	/* Control clients only once a config serves: nothing they see is a
	 * half-started server. */
	if (cd_server_listen(cd, err, sizeof(err)))
		goto fail;

	const struct rt_snapshot *cur = dp_server_snapshot(srv);
	dp_log(DP_LOG_INFO, "ready: generation %llu from %s (%zu routes, %zu gateways); %s; "
			    "control %s%s%s%s%s; %u worker%s",
	       (unsigned long long)rt_snapshot_generation(cur), rt_snapshot_source(cur),
	       rt_snapshot_route_count(cur), rt_snapshot_gateway_count(cur), where,
	       co.unix_path ? co.unix_path : "off", o.control_tcp ? ", tcp " : "",
	       o.control_tcp ? o.control_tcp : "", o.metrics ? "; metrics http " : "",
	       o.metrics ? o.metrics : "", o.workers, o.workers == 1 ? "" : "s");

	cd_server_run(cd);

	dp_metrics_stop(metrics);
	dp_server_stop(srv);
	struct dp_counters sum;
	dp_server_counters(srv, &sum);
	dp_log(DP_LOG_INFO, "stopped: %llu requests, %llu replies, %llu malformed, %llu dropped",
	       (unsigned long long)(sum.rx[DP_SVC_SIP] + sum.rx[DP_SVC_NATIVE]),
	       (unsigned long long)sum.tx, (unsigned long long)sum.malformed,
	       (unsigned long long)sum.dropped);
	if (o.dpdk)
		dp_dpdk_log_counters(&sum.io);
	cd_server_free(cd);
	dp_server_free(srv);
	if (o.dpdk)
		dp_dpdk_fini(); /* after the queues: stops and closes the port */
	free(token);
	return 0;
fail:
	fprintf(stderr, "strowgerd: %s\n", err);
	dp_metrics_stop(metrics);
	if (srv)
		dp_server_stop(srv);
	cd_server_free(cd);
	dp_server_free(srv); /* and the queues it was given */
	if (o.dpdk)
		dp_dpdk_fini();
	free(token);
	return 1;
}
