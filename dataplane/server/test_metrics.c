/*
 * dp_metrics unit tests: the exposition text of a hand-built dp_stats,
 * line by line, and the HTTP exporter on loopback through a plain socket
 * (what a scraper sees: status, headers, body).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "dp_metrics.h"
#include "dp_stats.h"

/* ------------------------------------------------------------- helpers */

/* Does text hold exactly this line? */
static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	for (const char *p = text; (p = strstr(p, line)); p++)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return true;
	return false;
}

static void assert_line(const char *text, const char *line)
{
	if (!has_line(text, line))
		fail_msg("missing line: %s\n--- in ---\n%s", line, text);
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s);
	assert_non_null(d);
	return d;
}

/* A stats snapshot with something in every field, names on the heap as a
 * collector makes them. */
static void fill_stats(struct dp_stats *s)
{
	memset(s, 0, sizeof(*s));
	s->generation = 7;
	s->uptime_s = 12.5;
	s->loaded_at = 1700000000.25;
	s->workers = 3;
	s->draining = true;
	s->sum.rx[DP_SVC_SIP] = 10;
	s->sum.rx[DP_SVC_NATIVE] = 4;
	s->sum.tx = 13;
	s->sum.malformed = 2;
	s->sum.dropped = 1;
	s->sum.status[RT_ROUTED] = 8;
	s->sum.status[RT_NO_ROUTE] = 3;
	s->sum.status[RT_BAD_REQUEST] = 1;
	s->sum.sip_invite = 6;
	s->sum.sip_options = 2;
	s->sum.sip_other = 1;
	s->sum.failover_queries = 5;
	s->sum.failover_by_code[0] = 1;
	s->sum.failover_by_code[503] = 4;
	s->sum.io.rx_truncated = 9;
	s->sum.io.tx_errors = 11;
	s->reloads = 2;
	s->reload_failures = 1;
	s->last_reload_s = 0.125;
	s->routes = 5;
	s->gateways = 4;

	s->n_route_hits = 2;
	s->route_hits = calloc(2, sizeof(*s->route_hits));
	assert_non_null(s->route_hits);
	s->route_hits[0] = (struct dp_name_count){xstrdup("Universal Route"), 6};
	s->route_hits[1] = (struct dp_name_count){xstrdup("Say \"hi\" C:\\dir\nnext"), 2};
	s->n_gw_selections = 1;
	s->gw_selections = calloc(1, sizeof(*s->gw_selections));
	assert_non_null(s->gw_selections);
	s->gw_selections[0] = (struct dp_name_count){xstrdup("Red-GW1"), 8};

	s->n_health = 3;
	s->health = calloc(3, sizeof(*s->health));
	assert_non_null(s->health);
	s->health[0] = (struct dp_health_stat){xstrdup("Red-GW1"), false, RT_HEALTH_UP, false};
	s->health[1] = (struct dp_health_stat){xstrdup("Dallas-GW1"), false, RT_HEALTH_DOWN, true};
	s->health[2] = (struct dp_health_stat){xstrdup("Dallas"), true, RT_HEALTH_DEGRADED, false};
}

static char *render(const struct dp_stats *s)
{
	char *text = NULL;
	size_t len = 0;
	assert_int_equal(dp_metrics_render(s, &text, &len), 0);
	assert_non_null(text);
	assert_int_equal(len, strlen(text));
	assert_true(len > 0 && text[len - 1] == '\n');
	return text;
}

/* ----------------------------------------------------------- rendering */

static void test_render_counters(void **state)
{
	(void)state;
	struct dp_stats s;
	fill_stats(&s);
	char *t = render(&s);
	assert_line(t, "# HELP strowger_requests_total Datagrams received, by service.");
	assert_line(t, "# TYPE strowger_requests_total counter");
	assert_line(t, "strowger_requests_total{service=\"sip\"} 10");
	assert_line(t, "strowger_requests_total{service=\"native\"} 4");
	assert_line(t, "strowger_replies_total 13");
	assert_line(t, "strowger_malformed_total 2");
	assert_line(t, "strowger_dropped_total 1");
	assert_line(t, "strowger_decisions_total{status=\"ROUTED\"} 8");
	assert_line(t, "strowger_decisions_total{status=\"NO_ROUTE\"} 3");
	assert_line(t, "strowger_decisions_total{status=\"NOT_PERMITTED\"} 0");
	assert_line(t, "strowger_decisions_total{status=\"ALL_UNAVAILABLE\"} 0");
	assert_line(t, "strowger_decisions_total{status=\"NO_FAILOVER\"} 0");
	assert_line(t, "strowger_decisions_total{status=\"BAD_REQUEST\"} 1");
	assert_line(t, "strowger_sip_requests_total{method=\"INVITE\"} 6");
	assert_line(t, "strowger_sip_requests_total{method=\"ACK\"} 0");
	assert_line(t, "strowger_sip_requests_total{method=\"CANCEL\"} 0");
	assert_line(t, "strowger_sip_requests_total{method=\"OPTIONS\"} 2");
	assert_line(t, "strowger_sip_requests_total{method=\"other\"} 1");
	assert_line(t, "strowger_failover_queries_total 5");
	assert_line(t, "# TYPE strowger_failover_by_code_total counter");
	assert_line(t, "strowger_failover_by_code_total{code=\"0\"} 1");
	assert_line(t, "strowger_failover_by_code_total{code=\"503\"} 4");
	assert_null(strstr(t, "code=\"408\"")); /* zero counts are left out */
	assert_line(t, "strowger_route_hits_total{route=\"Universal Route\"} 6");
	assert_line(t, "strowger_gateway_selections_total{gateway=\"Red-GW1\"} 8");
	assert_line(t, "strowger_reloads_total 2");
	assert_line(t, "strowger_reload_failures_total 1");
	assert_line(t, "strowger_io_rx_truncated_total 9");
	assert_line(t, "strowger_io_tx_errors_total 11");
	free(t);
	dp_stats_free(&s);
}

static void test_render_gauges(void **state)
{
	(void)state;
	struct dp_stats s;
	fill_stats(&s);
	char *t = render(&s);
	assert_line(t, "# TYPE strowger_config_generation gauge");
	assert_line(t, "strowger_config_generation 7");
	assert_line(t, "strowger_uptime_seconds 12.5");
	assert_line(t, "strowger_workers 3");
	assert_line(t, "strowger_draining 1");
	assert_line(t, "strowger_config_loaded_timestamp_seconds 1700000000.25");
	assert_line(t, "strowger_config_routes 5");
	assert_line(t, "strowger_config_gateways 4");
	assert_line(t, "strowger_last_reload_duration_seconds 0.125");
	assert_line(t, "# TYPE strowger_gateway_health gauge");
	assert_non_null(strstr(t, "0 unknown, 1 up, 2 degraded, 3 draining, 4 down"));
	assert_line(t, "strowger_gateway_health{gateway=\"Red-GW1\"} 1");
	assert_line(t, "strowger_gateway_health{gateway=\"Dallas-GW1\"} 4");
	assert_line(t, "strowger_site_health{site=\"Dallas\"} 2");
	assert_line(t, "strowger_gateway_drained{gateway=\"Red-GW1\"} 0");
	assert_line(t, "strowger_gateway_drained{gateway=\"Dallas-GW1\"} 1");
	/* A site is not a gateway. */
	assert_null(strstr(t, "gateway=\"Dallas\""));
	assert_null(strstr(t, "site=\"Red-GW1\""));
	free(t);
	dp_stats_free(&s);
}

static void test_render_escaping(void **state)
{
	(void)state;
	struct dp_stats s;
	fill_stats(&s);
	char *t = render(&s);
	/* Say "hi" C:\dir<newline>next */
	assert_line(t, "strowger_route_hits_total{route=\"Say \\\"hi\\\" C:\\\\dir\\nnext\"} 2");
	free(t);
	dp_stats_free(&s);
}

static void test_render_histogram(void **state)
{
	(void)state;
	struct dp_stats s;
	memset(&s, 0, sizeof(s));
	s.sum.lat[0] = 1;                  /* < 128 ns */
	s.sum.lat[1] = 2;                  /* < 256 ns */
	s.sum.lat[5] = 4;                  /* < 4096 ns */
	s.sum.lat[DP_LAT_BUCKETS - 2] = 3; /* < 128 << 14 ns = 2.097152 ms */
	s.sum.lat[DP_LAT_BUCKETS - 1] = 5; /* overflow: +Inf only */
	s.sum.lat_sum_ns = 1500000000ull;
	char *t = render(&s);
	assert_line(t, "# TYPE strowger_decision_latency_seconds histogram");
	assert_line(t, "strowger_decision_latency_seconds_bucket{le=\"1.28e-07\"} 1");
	assert_line(t, "strowger_decision_latency_seconds_bucket{le=\"2.56e-07\"} 3");
	assert_line(t, "strowger_decision_latency_seconds_bucket{le=\"2.048e-06\"} 3");
	assert_line(t, "strowger_decision_latency_seconds_bucket{le=\"4.096e-06\"} 7");
	assert_line(t, "strowger_decision_latency_seconds_bucket{le=\"0.001048576\"} 7");
	assert_line(t, "strowger_decision_latency_seconds_bucket{le=\"0.002097152\"} 10");
	assert_line(t, "strowger_decision_latency_seconds_bucket{le=\"+Inf\"} 15");
	assert_line(t, "strowger_decision_latency_seconds_sum 1.5");
	assert_line(t, "strowger_decision_latency_seconds_count 15");
	/* DP_LAT_BUCKETS - 1 finite bounds, then +Inf. */
	size_t buckets = 0;
	for (const char *p = t; (p = strstr(p, "_seconds_bucket{")); p++)
		buckets++;
	assert_int_equal(buckets, DP_LAT_BUCKETS);
	/* Nothing to name: families still declared, no labelled samples. */
	assert_line(t, "# TYPE strowger_route_hits_total counter");
	assert_null(strstr(t, "route_hits_total{"));
	assert_null(strstr(t, "failover_by_code_total{"));
	assert_line(t, "strowger_draining 0");
	free(t);
}

/* Every line is a comment or a sample of the family declared last, every
 * family is declared once with HELP then TYPE: what a Prometheus parser
 * insists on. */
static void test_render_well_formed(void **state)
{
	(void)state;
	struct dp_stats s;
	fill_stats(&s);
	char *t = render(&s);
	char family[128] = "", type[32] = "";
	char seen[4096] = " ";
	for (char *line = strtok(t, "\n"); line; line = strtok(NULL, "\n")) {
		char name[128], what[32];
		if (sscanf(line, "# HELP %127s", name) == 1) {
			char key[140];
			snprintf(key, sizeof(key), " %s ", name);
			assert_null(strstr(seen, key));
			assert_true(strlen(seen) + strlen(key) < sizeof(seen));
			strcat(seen, key + 1);
			snprintf(family, sizeof(family), "%s", name);
			type[0] = '\0';
			continue;
		}
		if (sscanf(line, "# TYPE %127s %31s", name, what) == 2) {
			assert_string_equal(name, family);
			snprintf(type, sizeof(type), "%s", what);
			continue;
		}
		assert_true(line[0] != '#');
		assert_true(type[0] != '\0');
		size_t n = strcspn(line, "{ ");
		assert_true(n < sizeof(name));
		memcpy(name, line, n);
		name[n] = '\0';
		size_t fl = strlen(family);
		if (strcmp(type, "histogram") == 0)
			assert_true(strncmp(name, family, fl) == 0 &&
				    (!strcmp(name + fl, "_bucket") || !strcmp(name + fl, "_sum") ||
				     !strcmp(name + fl, "_count")));
		else
			assert_string_equal(name, family);
		assert_non_null(strrchr(line, ' '));
	}
	free(t);
	dp_stats_free(&s);
}

static void test_stats_free(void **state)
{
	(void)state;
	struct dp_stats s;
	fill_stats(&s);
	dp_stats_free(&s);
	const struct dp_stats zero = {0};
	assert_memory_equal(&s, &zero, sizeof(s));
	dp_stats_free(&s); /* again: a no-op */
	dp_stats_free(NULL);
}

/* ---------------------------------------------------------------- HTTP */

/* Shared with the HTTP thread, hence atomics. */
struct collector {
	atomic_int calls;
	atomic_int fail; /* -errno to return */
};

static int collect(void *ctx, struct dp_stats *out)
{
	struct collector *c = ctx;
	atomic_fetch_add(&c->calls, 1);
	int fail = atomic_load(&c->fail);
	if (fail) {
		/* Half-filled on the way to failing: the exporter frees it. */
		out->n_route_hits = 1;
		out->route_hits = calloc(1, sizeof(*out->route_hits));
		if (out->route_hits)
			out->route_hits[0].name = strdup("partial");
		return fail;
	}
	fill_stats(out);
	return 0;
}

static struct sockaddr_in loopback(uint16_t port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

static int connect_to(const struct sockaddr *a, socklen_t len)
{
	int fd = socket(a->sa_family, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, a, len), 0);
	return fd;
}

/* Send a raw request, read until the server closes; the response in a
 * malloc'd string, the status code in *status. */
static char *http(const struct sockaddr *a, socklen_t alen, const char *req, int *status)
{
	int fd = connect_to(a, alen);
	assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);
	assert_non_null(buf);
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		assert_int_equal(poll(&p, 1, 5000), 1); /* never hang the suite */
		if (len + 1 == cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
		ssize_t n = read(fd, buf + len, cap - len - 1);
		assert_true(n >= 0);
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	int minor;
	assert_int_equal(sscanf(buf, "HTTP/1.%d %d", &minor, status), 2);
	return buf;
}

static const char *body_of(const char *resp)
{
	const char *b = strstr(resp, "\r\n\r\n");
	assert_non_null(b);
	return b + 4;
}

static struct dp_metrics *start_loopback(struct collector *c, struct sockaddr_in *a)
{
	char err[256] = "";
	*a = loopback(0);
	struct dp_metrics *m =
		dp_metrics_start((struct sockaddr *)a, sizeof(*a), collect, c, err, sizeof(err));
	if (!m)
		fail_msg("dp_metrics_start: %s", err);
	assert_true(dp_metrics_port(m) != 0);
	a->sin_port = htons(dp_metrics_port(m));
	return m;
}

static void test_http_get(void **state)
{
	(void)state;
	struct collector c = {0};
	struct sockaddr_in a;
	struct dp_metrics *m = start_loopback(&c, &a);
	int status = 0;

	char *r = http((struct sockaddr *)&a, sizeof(a), "GET /metrics HTTP/1.0\r\n\r\n", &status);
	assert_int_equal(status, 200);
	assert_int_equal(c.calls, 1);
	assert_non_null(strstr(r, "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"));
	const char *body = body_of(r);
	assert_line(body, "strowger_requests_total{service=\"sip\"} 10");
	assert_line(body, "strowger_decision_latency_seconds_count 0");
	free(r);

	/* Query strings are not part of the path. */
	r = http((struct sockaddr *)&a, sizeof(a),
		 "GET /metrics?x=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", &status);
	assert_int_equal(status, 200);
	free(r);

	r = http((struct sockaddr *)&a, sizeof(a), "HEAD /metrics HTTP/1.0\r\n\r\n", &status);
	assert_int_equal(status, 200);
	assert_string_equal(body_of(r), "");
	free(r);
	dp_metrics_stop(m);
}

static void test_http_errors(void **state)
{
	(void)state;
	struct collector c = {0};
	struct sockaddr_in a;
	struct dp_metrics *m = start_loopback(&c, &a);
	int status = 0;

	char *r = http((struct sockaddr *)&a, sizeof(a), "GET /other HTTP/1.0\r\n\r\n", &status);
	assert_int_equal(status, 404);
	free(r);
	r = http((struct sockaddr *)&a, sizeof(a), "GET / HTTP/1.0\r\n\r\n", &status);
	assert_int_equal(status, 404);
	free(r);
	r = http((struct sockaddr *)&a, sizeof(a),
		 "POST /metrics HTTP/1.0\r\nContent-Length: 2\r\n\r\nhi", &status);
	assert_int_equal(status, 405);
	assert_non_null(strstr(r, "Allow: GET, HEAD\r\n"));
	free(r);
	assert_int_equal(c.calls, 0); /* none of those collected anything */

	c.fail = -ETIMEDOUT;
	r = http((struct sockaddr *)&a, sizeof(a), "GET /metrics HTTP/1.0\r\n\r\n", &status);
	assert_int_equal(status, 503);
	assert_int_equal(c.calls, 1);
	free(r);

	c.fail = 0;
	r = http((struct sockaddr *)&a, sizeof(a), "GET /metrics HTTP/1.0\r\n\r\n", &status);
	assert_int_equal(status, 200);
	free(r);
	dp_metrics_stop(m);
}

/* A client that connects and says nothing must not stop others. */
static void test_http_idle_client(void **state)
{
	(void)state;
	struct collector c = {0};
	struct sockaddr_in a;
	struct dp_metrics *m = start_loopback(&c, &a);
	int idle = connect_to((struct sockaddr *)&a, sizeof(a));
	int status = 0;
	char *r = http((struct sockaddr *)&a, sizeof(a), "GET /metrics HTTP/1.0\r\n\r\n", &status);
	assert_int_equal(status, 200);
	free(r);
	/* Stopping with a connection still open closes it, no hang. */
	dp_metrics_stop(m);
	close(idle);
}

static void test_http_port_in_use(void **state)
{
	(void)state;
	struct collector c = {0};
	struct sockaddr_in a;
	struct dp_metrics *m = start_loopback(&c, &a);
	char err[256] = "";
	struct dp_metrics *m2 =
		dp_metrics_start((struct sockaddr *)&a, sizeof(a), collect, &c, err, sizeof(err));
	assert_null(m2);
	assert_true(err[0] != '\0');
	assert_non_null(strstr(err, "in use"));
	char port[16];
	snprintf(port, sizeof(port), ":%u", dp_metrics_port(m));
	assert_non_null(strstr(err, port)); /* names the address */

	/* The first one is unharmed. */
	int status = 0;
	char *r = http((struct sockaddr *)&a, sizeof(a), "GET /metrics HTTP/1.0\r\n\r\n", &status);
	assert_int_equal(status, 200);
	free(r);
	dp_metrics_stop(m);

	/* Not an IP address. */
	struct sockaddr bad = {.sa_family = AF_UNIX};
	err[0] = '\0';
	assert_null(dp_metrics_start(&bad, sizeof(bad), collect, &c, err, sizeof(err)));
	assert_true(err[0] != '\0');
	dp_metrics_stop(NULL);
}

static void test_http_ipv6(void **state)
{
	(void)state;
	struct collector c = {0};
	struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	char err[256] = "";
	struct dp_metrics *m =
		dp_metrics_start((struct sockaddr *)&a, sizeof(a), collect, &c, err, sizeof(err));
	if (!m && strstr(err, "Cannot assign requested address"))
		skip(); /* no IPv6 loopback here */
	if (!m)
		fail_msg("dp_metrics_start [::1]: %s", err);
	a.sin6_port = htons(dp_metrics_port(m));
	int status = 0;
	char *r = http((struct sockaddr *)&a, sizeof(a), "GET /metrics HTTP/1.0\r\n\r\n", &status);
	assert_int_equal(status, 200);
	assert_line(body_of(r), "strowger_workers 3");
	free(r);
	dp_metrics_stop(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render_counters),
		cmocka_unit_test(test_render_gauges),
		cmocka_unit_test(test_render_escaping),
		cmocka_unit_test(test_render_histogram),
		cmocka_unit_test(test_render_well_formed),
		cmocka_unit_test(test_stats_free),
		cmocka_unit_test(test_http_get),
		cmocka_unit_test(test_http_errors),
		cmocka_unit_test(test_http_idle_client),
		cmocka_unit_test(test_http_port_in_use),
		cmocka_unit_test(test_http_ipv6),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
