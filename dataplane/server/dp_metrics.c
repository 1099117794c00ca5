/*
 * Prometheus exporter: rendering a dp_stats as text exposition format
 * 0.0.4, and the HTTP server that answers scrapes with it.
 *
 * Rendering appends to one growing buffer and checks for running out of
 * memory once at the end, so the per-metric code has no error paths.
 *
 * HTTP: libmicrohttpd with one internal polling thread. It multiplexes
 * connections, so a slow or idle client costs a connection slot, not the
 * thread; slots are limited and idle connections time out.
 */
#include "dp_metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dp_log.h"

#define DP_METRICS_PATH "/metrics"
#define DP_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
/* A scraper or two, plus someone with curl: more is a misbehaving client. */
#define DP_METRICS_MAX_CONN 16
#define DP_METRICS_TIMEOUT_S 10

/* ------------------------------------------------------------ rendering */

struct dp_buf {
	char *p;
	size_t len, cap;
	bool oom;
};

static bool buf_reserve(struct dp_buf *b, size_t more)
{
	if (b->oom)
		return false;
	if (b->len + more + 1 <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < b->len + more + 1)
		cap *= 2;
	char *p = realloc(b->p, cap);
	if (!p) {
		b->oom = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

static void buf_putn(struct dp_buf *b, const char *s, size_t n)
{
	if (!buf_reserve(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void buf_puts(struct dp_buf *b, const char *s)
{
	buf_putn(b, s, strlen(s));
}

static void buf_printf(struct dp_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void buf_printf(struct dp_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n <= 0 || !buf_reserve(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* Label values escape backslash, double quote and newline; names are
 * whatever the operator wrote, so any of them may turn up. */
static void buf_label_value(struct dp_buf *b, const char *s)
{
	for (; s && *s; s++) {
		size_t run = strcspn(s, "\\\"\n");
		buf_putn(b, s, run);
		s += run;
		if (!*s)
			break;
		buf_puts(b, *s == '\\' ? "\\\\" : *s == '"' ? "\\\"" : "\\n");
	}
}

/* Shortest text that reads back as the same double, as Prometheus's own
 * clients print (Go's 'g', -1), plus the format's spellings of NaN/Inf. */
static void fmt_double(char *out, size_t cap, double v)
{
	if (isnan(v)) {
		snprintf(out, cap, "NaN");
		return;
	}
	if (isinf(v)) {
		snprintf(out, cap, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(out, cap, "%.*g", prec, v);
		if (strtod(out, NULL) == v)
			return;
	}
}

static void family(struct dp_buf *b, const char *name, const char *type, const char *help)
{
	buf_printf(b, "# HELP strowger_%s ", name);
	buf_puts(b, help);
	buf_printf(b, "\n# TYPE strowger_%s %s\n", name, type);
}

/* strowger_NAME{LABEL="VALUE"} (no braces when label is NULL). */
static void sample_start(struct dp_buf *b, const char *name, const char *label,
			 const char *value)
{
	buf_printf(b, "strowger_%s", name);
	if (!label)
		return;
	buf_printf(b, "{%s=\"", label);
	buf_label_value(b, value);
	buf_puts(b, "\"}");
}

static void sample_u64(struct dp_buf *b, const char *name, const char *label,
		       const char *value, uint64_t v)
{
	sample_start(b, name, label, value);
	buf_printf(b, " %llu\n", (unsigned long long)v);
}

static void sample_double(struct dp_buf *b, const char *name, const char *label,
			  const char *value, double v)
{
	char num[40];
	fmt_double(num, sizeof(num), v);
	sample_start(b, name, label, value);
	buf_printf(b, " %s\n", num);
}

static void counter(struct dp_buf *b, const char *name, const char *help, uint64_t v)
{
	family(b, name, "counter", help);
	sample_u64(b, name, NULL, NULL, v);
}

static void gauge(struct dp_buf *b, const char *name, const char *help, double v)
{
	family(b, name, "gauge", help);
	sample_double(b, name, NULL, NULL, v);
}

static void render_requests(struct dp_buf *b, const struct dp_counters *c)
{
	/* Lower case here: dp_service_name() is for log lines ("SIP"). */
	static const char *const svc[DP_SVC_COUNT] = {"sip", "native"};
	family(b, "requests_total", "counter", "Datagrams received, by service.");
	for (unsigned i = 0; i < DP_SVC_COUNT; i++)
		sample_u64(b, "requests_total", "service", svc[i], c->rx[i]);
	counter(b, "replies_total", "Replies handed to the I/O backend.", c->tx);
	counter(b, "malformed_total", "Undecodable or invalid requests.", c->malformed);
	counter(b, "dropped_total", "Requests left without a reply.", c->dropped);

	family(b, "decisions_total", "counter", "Routing decisions, by status.");
	for (unsigned i = 0; i < RT_STATUS_COUNT; i++)
		sample_u64(b, "decisions_total", "status", rt_status_name((enum rt_status)i),
			   c->status[i]);

	const struct {
		const char *name;
		uint64_t v;
	} sip[] = {{"INVITE", c->sip_invite},   {"ACK", c->sip_ack},
		   {"CANCEL", c->sip_cancel},   {"OPTIONS", c->sip_options},
		   {"other", c->sip_other}};
	family(b, "sip_requests_total", "counter", "SIP requests received, by method.");
	for (size_t i = 0; i < sizeof(sip) / sizeof(sip[0]); i++)
		sample_u64(b, "sip_requests_total", "method", sip[i].name, sip[i].v);
}

static void render_failover(struct dp_buf *b, const struct dp_counters *c)
{
	counter(b, "failover_queries_total", "Queries carrying tried gateways (failover re-queries).",
		c->failover_queries);
	/* Only the codes seen: 700 mostly-zero series would swamp a scrape. */
	family(b, "failover_by_code_total", "counter",
	       "Failover re-queries by the last tried gateway's SIP code (0 = no response).");
	for (unsigned code = 0; code <= RT_CODE_MAX; code++) {
		if (!c->failover_by_code[code])
			continue;
		char num[8];
		snprintf(num, sizeof(num), "%u", code);
		sample_u64(b, "failover_by_code_total", "code", num, c->failover_by_code[code]);
	}
}

static void render_names(struct dp_buf *b, const char *name, const char *label,
			 const char *help, const struct dp_name_count *v, size_t n)
{
	family(b, name, "counter", help);
	for (size_t i = 0; i < n; i++)
		sample_u64(b, name, label, v[i].name, v[i].count);
}

static void render_config(struct dp_buf *b, const struct dp_stats *s)
{
	counter(b, "reloads_total", "Configurations published after the first.", s->reloads);
	counter(b, "reload_failures_total",
		"Configurations rejected (file, control channel or SIGHUP).", s->reload_failures);
	counter(b, "io_rx_truncated_total", "Datagrams larger than the largest request, dropped.",
		s->sum.io.rx_truncated);
	counter(b, "io_tx_errors_total", "Replies the I/O backend could not send.",
		s->sum.io.tx_errors);

	gauge(b, "config_generation", "Generation of the running configuration.",
	      (double)s->generation);
	gauge(b, "uptime_seconds", "Seconds since strowgerd started.", s->uptime_s);
	gauge(b, "workers", "Worker threads.", s->workers);
	gauge(b, "draining", "1 while the server drains (SIP OPTIONS answer 503), else 0.",
	      s->draining);
	gauge(b, "config_loaded_timestamp_seconds",
	      "Unix time the running configuration was published.", s->loaded_at);
	gauge(b, "config_routes", "Routes in the running configuration.", s->routes);
	gauge(b, "config_gateways", "Gateways in the running configuration.", s->gateways);
	gauge(b, "last_reload_duration_seconds",
	      "Validate, compile and publish time of the last configuration.", s->last_reload_s);
}

/* One family per pass: the format wants a family's samples together. */
static void render_health(struct dp_buf *b, const struct dp_stats *s)
{
	family(b, "gateway_health", "gauge",
	       "Effective gateway health (the worse of its own and its site's): "
	       "0 unknown, 1 up, 2 degraded, 3 draining, 4 down.");
	for (size_t i = 0; i < s->n_health; i++)
		if (!s->health[i].is_site)
			sample_u64(b, "gateway_health", "gateway", s->health[i].name,
				   s->health[i].effective);
	family(b, "site_health", "gauge",
	       "Site health: 0 unknown, 1 up, 2 degraded, 3 draining, 4 down.");
	for (size_t i = 0; i < s->n_health; i++)
		if (s->health[i].is_site)
			sample_u64(b, "site_health", "site", s->health[i].name,
				   s->health[i].effective);
	family(b, "gateway_drained", "gauge", "1 while a gateway is drained by the operator, else 0.");
	for (size_t i = 0; i < s->n_health; i++)
		if (!s->health[i].is_site)
			sample_u64(b, "gateway_drained", "gateway", s->health[i].name,
				   s->health[i].drained);
}

/* dp_counters.lat[i] counts decisions faster than DP_LAT_BASE_NS << i;
 * the last bucket is the overflow, which only +Inf covers. */
static void render_latency(struct dp_buf *b, const struct dp_counters *c)
{
	const char *name = "decision_latency_seconds";
	family(b, name, "histogram", "Time to make one routing decision.");
	uint64_t cum = 0;
	for (unsigned i = 0; i + 1 < DP_LAT_BUCKETS; i++) {
		char le[40];
		cum += c->lat[i];
		fmt_double(le, sizeof(le), (double)(DP_LAT_BASE_NS << i) / 1e9);
		sample_u64(b, "decision_latency_seconds_bucket", "le", le, cum);
	}
	cum += c->lat[DP_LAT_BUCKETS - 1];
	sample_u64(b, "decision_latency_seconds_bucket", "le", "+Inf", cum);
	sample_double(b, "decision_latency_seconds_sum", NULL, NULL, (double)c->lat_sum_ns / 1e9);
	sample_u64(b, "decision_latency_seconds_count", NULL, NULL, cum);
}

int dp_metrics_render(const struct dp_stats *s, char **out, size_t *len)
{
	struct dp_buf b = {0};
	render_requests(&b, &s->sum);
	render_failover(&b, &s->sum);
	render_names(&b, "route_hits_total", "route",
		     "Decisions whose first destination came from this route.", s->route_hits,
		     s->n_route_hits);
	render_names(&b, "gateway_selections_total", "gateway",
		     "Decisions whose first destination is this gateway.", s->gw_selections,
		     s->n_gw_selections);
	render_config(&b, s);
	render_health(&b, s);
	render_latency(&b, &s->sum);
	if (b.oom || !b.p) {
		free(b.p);
		return -ENOMEM;
	}
	*out = b.p;
	*len = b.len;
	return 0;
}

/* ----------------------------------------------------------------- HTTP */

struct dp_metrics {
	struct MHD_Daemon *mhd;
	dp_metrics_collect_fn collect;
	void *ctx;
	uint16_t port;
	atomic_bool running; /* libmicrohttpd messages: start_err, then the log */
	char start_err[256];
};

static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* While starting, keep libmicrohttpd's first complaint for the caller's
 * err; afterwards its messages are per-connection noise (resets,
 * timeouts): debug level. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct dp_metrics *m = cls;
	char msg[256];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\r\n")] = '\0';
	if (atomic_load(&m->running))
		dp_log(DP_LOG_DEBUG, "metrics: %s", msg);
	else if (!m->start_err[0])
		snprintf(m->start_err, sizeof(m->start_err), "%s", msg);
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *type,
			     struct MHD_Response *r)
{
	if (!r)
		return MHD_NO; /* out of memory: drop the connection */
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	enum MHD_Result ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result reply_static(struct MHD_Connection *conn, unsigned status,
				    const char *body)
{
	return reply(conn, status, "text/plain; charset=utf-8",
		     MHD_create_response_from_buffer(strlen(body), (void *)body,
						     MHD_RESPMEM_PERSISTENT));
}

static enum MHD_Result serve_metrics(struct dp_metrics *m, struct MHD_Connection *conn)
{
	struct dp_stats s;
	memset(&s, 0, sizeof(s));
	int rc = m->collect(m->ctx, &s);
	char *text = NULL;
	size_t len = 0;
	if (!rc)
		rc = dp_metrics_render(&s, &text, &len);
	dp_stats_free(&s);
	if (rc) {
		/* 503 tells the scraper the target is up but has no answer now
		 * (the up metric stays 1 only for a 2xx). */
		dp_log(DP_LOG_WARN, "metrics: cannot collect statistics: %s", strerror(-rc));
		return reply_static(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
				    "statistics unavailable\n");
	}
	struct MHD_Response *r =
		MHD_create_response_from_buffer_with_free_callback(len, text, free);
	if (!r)
		free(text);
	return reply(conn, MHD_HTTP_OK, DP_METRICS_CONTENT_TYPE, r);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size,
				  void **req_cls)
{
	if (strcmp(url, DP_METRICS_PATH) != 0)
		return reply_static(conn, MHD_HTTP_NOT_FOUND, "not found: try GET /metrics\n");
	/* HEAD is GET without the body (libmicrohttpd drops it), per RFC 9110. */
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return reply_static(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");
	return serve_metrics(cls, conn);
}

static void addr_text(const struct sockaddr *a, char *out, size_t cap)
{
	char host[INET6_ADDRSTRLEN] = "?";
	if (a->sa_family == AF_INET) {
		const struct sockaddr_in *v4 = (const struct sockaddr_in *)a;
		inet_ntop(AF_INET, &v4->sin_addr, host, sizeof(host));
		snprintf(out, cap, "%s:%u", host, ntohs(v4->sin_port));
	} else {
		const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)a;
		inet_ntop(AF_INET6, &v6->sin6_addr, host, sizeof(host));
		snprintf(out, cap, "[%s]:%u", host, ntohs(v6->sin6_port));
	}
}

/* Bind (and release) the address first with the options libmicrohttpd
 * will use: its own failure message depends on how it was built, ours
 * names the address and the errno. */
static int check_free(const struct sockaddr *addr, socklen_t len, const char *text, char *err,
		      size_t errlen)
{
	int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "metrics socket for %s: %s", text, strerror(e));
		return -e;
	}
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (addr->sa_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	int rc = bind(fd, addr, len) ? -errno : 0;
	if (rc)
		snprintf(err, errlen, "cannot bind metrics %s: %s", text, strerror(-rc));
	close(fd);
	return rc;
}

static struct MHD_Daemon *start_mhd(struct dp_metrics *m, const struct sockaddr *addr)
{
	unsigned flags = MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	if (addr->sa_family == AF_INET6)
		flags |= MHD_USE_IPv6; /* v6 only: an IPv4 listener may want the port */

	/* The HTTP thread inherits this mask: strowgerd takes HUP/INT/TERM
	 * with sigwait() on main, which works only if no thread accepts
	 * them, whatever the order in which the caller set things up. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	struct MHD_Daemon *d = MHD_start_daemon(
		flags, 0, NULL, NULL, on_request, m,
		MHD_OPTION_EXTERNAL_LOGGER, mhd_log, m, /* first, so it sees every message */
		MHD_OPTION_SOCK_ADDR, addr,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)DP_METRICS_MAX_CONN,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)DP_METRICS_TIMEOUT_S,
		MHD_OPTION_END);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return d;
}

struct dp_metrics *dp_metrics_start(const struct sockaddr *addr, socklen_t len,
				    dp_metrics_collect_fn collect, void *ctx, char *err,
				    size_t errlen)
{
	if (!addr || !collect ||
	    !((addr->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) ||
	      (addr->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)))) {
		snprintf(err, errlen, "metrics: need an IPv4 or IPv6 address and a collector");
		return NULL;
	}
	char text[INET6_ADDRSTRLEN + 8];
	addr_text(addr, text, sizeof(text));
	if (check_free(addr, len, text, err, errlen))
		return NULL;

	struct dp_metrics *m = calloc(1, sizeof(*m));
	if (!m) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	m->collect = collect;
	m->ctx = ctx;
	m->mhd = start_mhd(m, addr);
	if (!m->mhd) {
		snprintf(err, errlen, "cannot serve metrics on %s: %s", text,
			 m->start_err[0] ? m->start_err : "libmicrohttpd failed to start");
		free(m);
		return NULL;
	}
	atomic_store(&m->running, true);
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(m->mhd, MHD_DAEMON_INFO_BIND_PORT);
	m->port = info ? info->port : 0;
	return m;
}

uint16_t dp_metrics_port(const struct dp_metrics *m)
{
	return m->port;
}

void dp_metrics_stop(struct dp_metrics *m)
{
	if (!m)
		return;
	MHD_stop_daemon(m->mhd);
	free(m);
}
