/*
 * strowger-probe: active gateway health for strowgerd. Sends SIP OPTIONS to
 * every gateway on an interval, turns answers, timeouts and latency into
 * up / degraded / down with hysteresis (--fall consecutive failures make
 * it down, --rise consecutive successes up), and reports its verdicts to
 * strowgerd over the control channel with a TTL, as one named source among
 * possibly several (strowgerd combines them by --health-quorum).
 *
 * One thread, one UDP socket per address family, a timer wheel of one
 * deadline per gateway: thousands of gateways cost no threads. A gateway
 * has no verdict until --fall or --rise is reached, so a restarted probe
 * reports nothing it does not know yet, and what strowgerd holds from the
 * previous run stands until its TTL.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cfg_yaml.h"
#include "ctl_conn.h"
#include "rt_config.h"
#include "rt_decide.h"
#include "rt_diag.h"
#include "sp_sip.h"

#ifndef STROWGER_VERSION
#define STROWGER_VERSION "dev"
#endif

struct sp_target {
	char name[128];
	char host[128];
	uint16_t port;
	char target[160]; /* "host:port" for the Request-URI */
	char local[80];   /* our "ip:port" as the gateway sees it */
	struct sockaddr_storage sa;
	socklen_t salen;
	bool resolved, present;
	int64_t next_send_ms;
	bool waiting;
	unsigned seq;
	int64_t sent_ms;
	unsigned fails, oks;
	enum rt_health verdict; /* unknown until --fall or --rise is reached */
	bool dirty;             /* verdict changed: report at once */
	double rtt_ms;
	char why[64];
};

struct sp {
	/* options */
	const char *config, *control, *tcp, *token_file, *name, *local_addr;
	bool from_server, once;
	int interval_ms, timeout_ms, degraded_ms, refresh_s;
	unsigned fall, rise;
	uint32_t ttl_ms;
	struct rt_codeset alive;
	/* state */
	struct sp_target *t;
	size_t n, cap;
	int fd4, fd6;
	uint16_t port4, port6;
	struct ctl_conn conn;
	bool connected;
	int64_t next_report_ms, next_refresh_ms;
};

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static int64_t now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

__attribute__((format(printf, 2, 3))) static void logf_(const char *lvl, const char *fmt, ...)
{
	char ts[32], msg[1024];
	struct timespec now;
	struct tm tm;
	va_list ap;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s.%03ldZ strowger-probe %s: %s\n", ts, now.tv_nsec / 1000000, lvl, msg);
}

/* ---- targets ------------------------------------------------------------------------ */

static struct sp_target *target_find(struct sp *p, const char *name)
{
	for (size_t i = 0; i < p->n; i++)
		if (!strcmp(p->t[i].name, name))
			return &p->t[i];
	return NULL;
}

/* Add or update one gateway (kept: its state, when the address is the same). */
static int target_set(struct sp *p, const char *name, const char *host, unsigned port)
{
	struct sp_target *t = target_find(p, name);
	if (t && !strcmp(t->host, host) && t->port == port) {
		t->present = true;
		return 0;
	}
	if (!t) {
		if (p->n == p->cap) {
			size_t cap = p->cap ? p->cap * 2 : 16;
			struct sp_target *v = realloc(p->t, cap * sizeof(*v));
			if (!v)
				return -ENOMEM;
			p->t = v;
			p->cap = cap;
		}
		t = &p->t[p->n++];
	}
	memset(t, 0, sizeof(*t));
	snprintf(t->name, sizeof(t->name), "%s", name);
	snprintf(t->host, sizeof(t->host), "%s", host);
	t->port = (uint16_t)(port ? port : 5060);
	t->present = true;
	t->verdict = RT_HEALTH_UNKNOWN;
	/* Spread first probes over one interval: no burst at start. */
	t->next_send_ms = now_ms() + (int64_t)(p->n - 1) * p->interval_ms / 64 % p->interval_ms;
	return 0;
}

static void target_resolve(struct sp *p, struct sp_target *t)
{
	char port[8];
	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM}, *res = NULL;
	snprintf(port, sizeof(port), "%u", t->port);
	int rc = getaddrinfo(t->host, port, &hints, &res);
	if (rc) {
		snprintf(t->why, sizeof(t->why), "cannot resolve: %s", gai_strerror(rc));
		return;
	}
	memcpy(&t->sa, res->ai_addr, res->ai_addrlen);
	t->salen = res->ai_addrlen;
	freeaddrinfo(res);
	bool v6 = t->sa.ss_family == AF_INET6;
	snprintf(t->target, sizeof(t->target), v6 ? "[%s]:%u" : "%s:%u", t->host, t->port);
	if (v6 && strchr(t->host, '['))
		snprintf(t->target, sizeof(t->target), "%s:%u", t->host, t->port);
	/* Which of our addresses the gateway sees: ask the kernel's routing. */
	char ip[INET6_ADDRSTRLEN] = "0.0.0.0";
	int fd = socket(t->sa.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_storage me;
	socklen_t ml = sizeof(me);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&t->sa, t->salen) == 0 &&
	    getsockname(fd, (struct sockaddr *)&me, &ml) == 0)
		inet_ntop(me.ss_family,
			  v6 ? (void *)&((struct sockaddr_in6 *)&me)->sin6_addr
			     : (void *)&((struct sockaddr_in *)&me)->sin_addr,
			  ip, sizeof(ip));
	if (fd >= 0)
		close(fd);
	snprintf(t->local, sizeof(t->local), v6 ? "[%s]:%u" : "%s:%u", ip,
		 v6 ? p->port6 : p->port4);
	t->resolved = true;
}

static int load_config(struct sp *p)
{
	struct rt_diag d;
	rt_diag_init(&d);
	struct rt_config *cfg = cfg_yaml_load_file(p->config, &d);
	rt_diag_print(&d, stderr);
	rt_diag_clear(&d);
	if (!cfg)
		return -1;
	for (size_t i = 0; i < cfg->n_gateways; i++)
		if (target_set(p, cfg->gateways[i].name, cfg->gateways[i].address,
			       cfg->gateways[i].port)) {
			rt_config_free(cfg);
			return -1;
		}
	logf_("info", "%zu gateways from %s", cfg->n_gateways, p->config);
	rt_config_free(cfg);
	return 0;
}

/* ---- strowgerd --------------------------------------------------------------------- */

static Strowger__ControlResponse *call(struct sp *p, Strowger__ControlRequest *req)
{
	if (!p->connected) {
		if (ctl_conn_open(&p->conn, p->control, p->tcp, p->token_file, 5000) != 0)
			return NULL;
		p->connected = true;
	}
	Strowger__ControlResponse *r = ctl_conn_call(&p->conn, req);
	if (!r) {
		ctl_conn_close(&p->conn);
		p->connected = false;
	}
	return r;
}

static int refresh_from_server(struct sp *p)
{
	Strowger__StatusRequest sr = STROWGER__STATUS_REQUEST__INIT;
	Strowger__ControlRequest req = STROWGER__CONTROL_REQUEST__INIT;
	req.op_case = STROWGER__CONTROL_REQUEST__OP_STATUS;
	req.status = &sr;
	Strowger__ControlResponse *r = call(p, &req);
	if (!r || !r->ok || !r->status) {
		if (r)
			strowger__control_response__free_unpacked(r, NULL);
		logf_("warning", "cannot read the gateway list from strowgerd; keeping %zu", p->n);
		return -1;
	}
	for (size_t i = 0; i < p->n; i++)
		p->t[i].present = false;
	for (size_t i = 0; i < r->status->n_gateway_info; i++) {
		const Strowger__GatewayInfo *g = r->status->gateway_info[i];
		target_set(p, g->name, g->address, g->port);
	}
	/* Gateways gone from the config are no longer probed. */
	size_t k = 0;
	for (size_t i = 0; i < p->n; i++)
		if (p->t[i].present)
			p->t[k++] = p->t[i];
	if (k != p->n || r->status->n_gateway_info)
		logf_("debug", "%zu gateways from strowgerd (generation %llu)", k,
		      (unsigned long long)r->status->generation);
	p->n = k;
	strowger__control_response__free_unpacked(r, NULL);
	return 0;
}

/* Report verdicts: every decided gateway (all) or only changed ones. */
static int report(struct sp *p, bool all)
{
	Strowger__HealthReport *reps = calloc(p->n + 1, sizeof(*reps));
	Strowger__HealthReport **pp = calloc(p->n + 1, sizeof(*pp));
	Strowger__HealthRequest hr = STROWGER__HEALTH_REQUEST__INIT;
	Strowger__ControlRequest req = STROWGER__CONTROL_REQUEST__INIT;
	int rc = -1;
	if (!reps || !pp)
		goto out;
	for (size_t i = 0; i < p->n; i++) {
		struct sp_target *t = &p->t[i];
		if (t->verdict == RT_HEALTH_UNKNOWN || (!all && !t->dirty))
			continue;
		strowger__health_report__init(&reps[hr.n_reports]);
		reps[hr.n_reports].name = t->name;
		reps[hr.n_reports].state = (Strowger__HealthState)t->verdict;
		reps[hr.n_reports].ttl_ms = p->ttl_ms;
		reps[hr.n_reports].source = (char *)p->name;
		pp[hr.n_reports] = &reps[hr.n_reports];
		hr.n_reports++;
	}
	if (hr.n_reports == 0) {
		rc = 0;
		goto out;
	}
	hr.reports = pp;
	req.op_case = STROWGER__CONTROL_REQUEST__OP_HEALTH;
	req.health = &hr;
	Strowger__ControlResponse *r = call(p, &req);
	if (r && r->ok) {
		rc = 0;
		for (size_t i = 0; i < p->n; i++)
			p->t[i].dirty = false;
	} else {
		logf_("warning", "report to strowgerd failed%s%s; retrying", r && r->n_errors ? ": " : "",
		      r && r->n_errors ? r->errors[0] : "");
	}
	if (r)
		strowger__control_response__free_unpacked(r, NULL);
out:
	free(reps);
	free(pp);
	return rc;
}

/* ---- probing ------------------------------------------------------------------------ */

static void verdict(struct sp *p, struct sp_target *t, bool ok, const char *why)
{
	enum rt_health v = t->verdict;
	if (ok) {
		t->fails = 0;
		t->oks++;
		if (t->oks >= p->rise || p->once)
			v = p->degraded_ms > 0 && t->rtt_ms > p->degraded_ms ? RT_HEALTH_DEGRADED
									    : RT_HEALTH_UP;
	} else {
		t->oks = 0;
		t->fails++;
		if (t->fails >= p->fall || p->once)
			v = RT_HEALTH_DOWN;
	}
	snprintf(t->why, sizeof(t->why), "%s", why);
	if (v != t->verdict) {
		logf_("info", "%s %s: %s -> %s (%s)", t->name, t->target, rt_health_name(t->verdict),
		      rt_health_name(v), why);
		t->verdict = v;
		t->dirty = true;
	}
}

static void send_probe(struct sp *p, struct sp_target *t, int64_t now)
{
	char buf[1024], cid[96], branch[48];
	t->next_send_ms = now + p->interval_ms;
	if (!t->resolved) {
		target_resolve(p, t);
		if (!t->resolved) {
			verdict(p, t, false, t->why);
			return;
		}
	}
	t->seq++;
	snprintf(cid, sizeof(cid), "sp%zu.%u.%d@strowger-probe", (size_t)(t - p->t), t->seq,
		 (int)getpid());
	snprintf(branch, sizeof(branch), "sp%zu.%u", (size_t)(t - p->t), t->seq);
	int n = sp_options_build(buf, sizeof(buf), t->target, t->local, cid, branch, t->seq);
	int fd = t->sa.ss_family == AF_INET6 ? p->fd6 : p->fd4;
	if (n < 0 || fd < 0 ||
	    sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&t->sa, t->salen) < 0) {
		verdict(p, t, false, n < 0 ? "request too long" : strerror(errno));
		return;
	}
	t->waiting = true;
	t->sent_ms = now;
}

static void on_datagram(struct sp *p, const char *buf, size_t len, int64_t now)
{
	unsigned code;
	const char *cid;
	size_t cl;
	size_t idx;
	unsigned seq;
	int pid;
	char tmp[96];
	if (sp_response_parse(buf, len, &code, &cid, &cl) != 0 || code < 200 || cl >= sizeof(tmp))
		return; /* provisional answers and junk are ignored */
	memcpy(tmp, cid, cl);
	tmp[cl] = '\0';
	if (sscanf(tmp, "sp%zu.%u.%d@", &idx, &seq, &pid) != 3 || pid != (int)getpid() ||
	    idx >= p->n)
		return;
	struct sp_target *t = &p->t[idx];
	if (!t->waiting || t->seq != seq)
		return; /* late: already counted as a timeout */
	t->waiting = false;
	t->rtt_ms = (double)(now - t->sent_ms);
	char why[48];
	snprintf(why, sizeof(why), "%u in %.0f ms", code, t->rtt_ms);
	verdict(p, t, rt_codeset_has(&p->alive, code), why);
}

static int open_socket(int family, const char *local, uint16_t *port_out)
{
	int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct sockaddr_storage sa = {0};
	socklen_t len;
	if (fd < 0)
		return -1;
	if (family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&sa;
		s4->sin_family = AF_INET;
		if (local && inet_pton(AF_INET, local, &s4->sin_addr) != 1) {
			close(fd);
			return -1;
		}
		len = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&sa;
		s6->sin6_family = AF_INET6;
		int one = 1;
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		len = sizeof(*s6);
	}
	if (bind(fd, (struct sockaddr *)&sa, len) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
		close(fd);
		return -1;
	}
	*port_out = ntohs(family == AF_INET ? ((struct sockaddr_in *)&sa)->sin_port
					    : ((struct sockaddr_in6 *)&sa)->sin6_port);
	return fd;
}

static void drain_socket(struct sp *p, int fd, int64_t now)
{
	char buf[8192];
	for (;;) {
		ssize_t r = recv(fd, buf, sizeof(buf), 0);
		if (r < 0)
			return;
		on_datagram(p, buf, (size_t)r, now);
	}
}

/* One pass of the loop: send what is due, time out what is late, wait. */
static void step(struct sp *p)
{
	int64_t now = now_ms(), next = now + 1000;
	for (size_t i = 0; i < p->n; i++) {
		struct sp_target *t = &p->t[i];
		if (t->waiting && now - t->sent_ms >= p->timeout_ms) {
			t->waiting = false;
			char why[48];
			snprintf(why, sizeof(why), "no answer in %d ms", p->timeout_ms);
			verdict(p, t, false, why);
		}
		if (!t->waiting && t->next_send_ms <= now && !(p->once && t->seq))
			send_probe(p, t, now);
		if (t->waiting && t->sent_ms + p->timeout_ms < next)
			next = t->sent_ms + p->timeout_ms;
		if (!t->waiting && t->next_send_ms < next)
			next = t->next_send_ms;
	}
	struct pollfd fds[2] = {{.fd = p->fd4, .events = POLLIN}, {.fd = p->fd6, .events = POLLIN}};
	int wait = (int)(next - now);
	poll(fds, 2, wait < 0 ? 0 : wait > 1000 ? 1000 : wait);
	now = now_ms();
	if (p->fd4 >= 0)
		drain_socket(p, p->fd4, now);
	if (p->fd6 >= 0)
		drain_socket(p, p->fd6, now);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: strowger-probe (--config FILE | --from-server) [options]\n"
		"\n"
		"Sends SIP OPTIONS to every gateway and reports up/degraded/down to strowgerd.\n"
		"  --config FILE        gateways from this config file\n"
		"  --from-server        gateways from strowgerd's running config (re-read every\n"
		"                       --refresh seconds, default 60)\n"
		"  --control PATH       strowgerd's control socket (default $STROWGER_CONTROL,\n"
		"                       else /run/strowger/control.sock)\n"
		"  --control-tcp HOST:PORT, --token-file FILE   its TCP listener instead\n"
		"  --name NAME          this probe's name, as strowgerd combines sources\n"
		"                       (default probe-HOSTNAME)\n"
		"  --interval MS        between probes of one gateway (default 5000)\n"
		"  --timeout MS         no answer within MS is a failure (default 2000)\n"
		"  --fall N             consecutive failures that make it down (default 3)\n"
		"  --rise N             consecutive successes that make it up (default 2)\n"
		"  --degraded-ms MS     an answer slower than MS makes it degraded (default off)\n"
		"  --alive CODES        responses that count as alive (default 100-499,!408,!480)\n"
		"  --ttl MS             lifetime of a report at strowgerd (default 3 x interval +\n"
		"                       timeout)\n"
		"  --local ADDR         IPv4 source address to bind\n"
		"  --once               probe each gateway once, report, exit\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},   {"from-server", no_argument, NULL, 'S'},
		{"control", required_argument, NULL, 'C'},  {"control-tcp", required_argument, NULL, 'T'},
		{"token-file", required_argument, NULL, 'k'}, {"name", required_argument, NULL, 'n'},
		{"interval", required_argument, NULL, 'i'}, {"timeout", required_argument, NULL, 't'},
		{"fall", required_argument, NULL, 'f'},     {"rise", required_argument, NULL, 'r'},
		{"degraded-ms", required_argument, NULL, 'd'}, {"alive", required_argument, NULL, 'a'},
		{"ttl", required_argument, NULL, 'l'},      {"local", required_argument, NULL, 'L'},
		{"refresh", required_argument, NULL, 'R'},  {"once", no_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},           {"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct sp p = {.interval_ms = 5000, .timeout_ms = 2000, .fall = 3, .rise = 2,
		       .refresh_s = 60, .fd4 = -1, .fd6 = -1};
	char host[64] = "localhost", name[96], err[160];
	const char *alive = "100-499,!408,!480";
	int c;
	long v;
	char *end;

	gethostname(host, sizeof(host) - 1);
	snprintf(name, sizeof(name), "probe-%s", host);
	p.name = name;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': p.config = optarg; break;
		case 'S': p.from_server = true; break;
		case 'C': p.control = optarg; break;
		case 'T': p.tcp = optarg; break;
		case 'k': p.token_file = optarg; break;
		case 'n': p.name = optarg; break;
		case 'a': alive = optarg; break;
		case 'L': p.local_addr = optarg; break;
		case 'o': p.once = true; break;
		case 'i': case 't': case 'f': case 'r': case 'd': case 'l': case 'R':
			v = strtol(optarg, &end, 10);
			if (*end || v < (c == 'd' ? 0 : 1) || v > 86400000) {
				fprintf(stderr, "strowger-probe: --%s '%s': a positive number\n",
					opts[0].name == NULL ? "?" : argv[optind - 1] + 2, optarg);
				return 2;
			}
			if (c == 'i') p.interval_ms = (int)v;
			if (c == 't') p.timeout_ms = (int)v;
			if (c == 'f') p.fall = (unsigned)v;
			if (c == 'r') p.rise = (unsigned)v;
			if (c == 'd') p.degraded_ms = (int)v;
			if (c == 'l') p.ttl_ms = (uint32_t)v;
			if (c == 'R') p.refresh_s = (int)v;
			break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("strowger-probe %s\n", STROWGER_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!p.config == !p.from_server || optind < argc) {
		fprintf(stderr, "strowger-probe: give --config FILE or --from-server\n");
		usage(stderr);
		return 2;
	}
	if (!p.control && !p.tcp) {
		const char *env = getenv("STROWGER_CONTROL");
		p.control = env && *env ? env : "/run/strowger/control.sock";
	}
	if (!p.ttl_ms)
		p.ttl_ms = (uint32_t)(3 * p.interval_ms + p.timeout_ms);
	/* Items separated by commas, as rt_codeset_parse takes them. */
	char abuf[256];
	const char *items[64];
	size_t ni = 0;
	snprintf(abuf, sizeof(abuf), "%s", alive);
	for (char *save = NULL, *tok = strtok_r(abuf, ", ", &save); tok && ni < 64;
	     tok = strtok_r(NULL, ", ", &save))
		items[ni++] = tok;
	if (rt_codeset_parse(&p.alive, items, ni, err, sizeof(err)) != 0) {
		fprintf(stderr, "strowger-probe: --alive %s: %s\n", alive, err);
		return 2;
	}
	p.fd4 = open_socket(AF_INET, p.local_addr, &p.port4);
	p.fd6 = open_socket(AF_INET6, NULL, &p.port6);
	if (p.fd4 < 0 && p.fd6 < 0) {
		fprintf(stderr, "strowger-probe: cannot open a UDP socket: %s\n", strerror(errno));
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (p.config ? load_config(&p) : refresh_from_server(&p)) {
		if (p.config)
			return 1;
	}
	logf_("info", "%s probing %zu gateways every %d ms (timeout %d ms, fall %u, rise %u), "
		      "reporting to %s", p.name, p.n, p.interval_ms, p.timeout_ms, p.fall, p.rise,
	      p.tcp ? p.tcp : p.control);
	int64_t start = now_ms();
	p.next_report_ms = start + p.interval_ms;
	p.next_refresh_ms = start + (int64_t)p.refresh_s * 1000;
	while (!stop_flag) {
		step(&p);
		int64_t now = now_ms();
		bool any_dirty = false;
		for (size_t i = 0; i < p.n; i++)
			any_dirty |= p.t[i].dirty;
		if (any_dirty)
			report(&p, false);
		if (now >= p.next_report_ms) {
			report(&p, true); /* refresh every TTL */
			p.next_report_ms = now + p.interval_ms;
		}
		if (p.from_server && now >= p.next_refresh_ms) {
			refresh_from_server(&p);
			p.next_refresh_ms = now + (int64_t)p.refresh_s * 1000;
		}
		if (p.once) {
			bool busy = false;
			for (size_t i = 0; i < p.n; i++)
				busy |= p.t[i].waiting || !p.t[i].seq;
			if (!busy)
				break;
		}
	}
	int rc = 0;
	if (p.once)
		rc = report(&p, true) ? 1 : 0;
	logf_("info", "stopping");
	if (p.connected)
		ctl_conn_close(&p.conn);
	if (p.fd4 >= 0)
		close(p.fd4);
	if (p.fd6 >= 0)
		close(p.fd6);
	free(p.t);
	return rc;
}
