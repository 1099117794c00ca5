/*
 * ctl_client: see ctl_client.h.
 */
#include "ctl_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "nq_codec.h"

#define CTL_NATIVE_PORT "5070"
#define CTL_DGRAM_MAX 65536
/* Resend after this long without an answer (doubling, capped). */
#define CTL_RESEND_MS 200

struct ctl_client {
	int fd;
	int timeout_ms;
	uint64_t next_id;
	void *msg; /* the last answer's decoded message */
	char peer[INET6_ADDRSTRLEN + 8];
	uint8_t buf[CTL_DGRAM_MAX];
	uint8_t query[CTL_DGRAM_MAX];
};

static int64_t ctl_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Split hostport into host and port (both NUL-terminated copies). */
static int ctl_split_hostport(const char *s, char *host, size_t hlen, char *port, size_t plen)
{
	const char *p = NULL;
	size_t n;

	if (s[0] == '[') {
		const char *e = strchr(s, ']');
		if (!e || (e[1] && e[1] != ':'))
			return -EINVAL;
		n = (size_t)(e - s - 1);
		if (n == 0 || n >= hlen)
			return -EINVAL;
		memcpy(host, s + 1, n);
		host[n] = '\0';
		p = e[1] ? e + 2 : NULL;
	} else {
		const char *c = strrchr(s, ':');
		if (c && strchr(s, ':') != c)
			c = NULL; /* a bare IPv6 literal: no port */
		n = c ? (size_t)(c - s) : strlen(s);
		if (n == 0 || n >= hlen)
			return -EINVAL;
		memcpy(host, s, n);
		host[n] = '\0';
		p = c ? c + 1 : NULL;
	}
	if (!p)
		p = CTL_NATIVE_PORT;
	if (!*p || strlen(p) >= plen || strspn(p, "0123456789") != strlen(p))
		return -EINVAL;
	strcpy(port, p);
	return 0;
}

struct ctl_client *ctl_client_open(const char *hostport, int timeout_ms, char *err,
				   size_t errlen)
{
	char host[256], port[8];
	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM, .ai_flags = AI_ADDRCONFIG};
	struct addrinfo *res = NULL;
	struct ctl_client *c;
	int rc;

	if (ctl_split_hostport(hostport, host, sizeof(host), port, sizeof(port)) != 0) {
		snprintf(err, errlen, "--server '%s': expected HOST:PORT or [IPV6]:PORT", hostport);
		return NULL;
	}
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "--server '%s': %s", hostport, gai_strerror(rc));
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		freeaddrinfo(res);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->fd = socket(res->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, res->ai_addr, res->ai_addrlen) != 0) {
		snprintf(err, errlen, "--server '%s': %s", hostport, strerror(errno));
		if (c->fd >= 0)
			close(c->fd);
		free(c);
		freeaddrinfo(res);
		return NULL;
	}
	if (res->ai_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)res->ai_addr;
		char h[INET6_ADDRSTRLEN];
		inet_ntop(AF_INET6, &a->sin6_addr, h, sizeof(h));
		snprintf(c->peer, sizeof(c->peer), "[%s]:%u", h, ntohs(a->sin6_port));
	} else {
		const struct sockaddr_in *a = (const void *)res->ai_addr;
		char h[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &a->sin_addr, h, sizeof(h));
		snprintf(c->peer, sizeof(c->peer), "%s:%u", h, ntohs(a->sin_port));
	}
	freeaddrinfo(res);
	c->timeout_ms = timeout_ms > 0 ? timeout_ms : 1;
	if (getrandom(&c->next_id, sizeof(c->next_id), 0) != sizeof(c->next_id))
		c->next_id = (uint64_t)ctl_now_ms() * 2654435761u ^ (uint64_t)getpid();
	return c;
}

void ctl_client_close(struct ctl_client *c)
{
	if (!c)
		return;
	nq_answer_free(c->msg);
	close(c->fd);
	free(c);
}

const char *ctl_client_peer(const struct ctl_client *c)
{
	return c->peer;
}

int ctl_client_query(struct ctl_client *c, const struct rt_query *q, bool explain,
		     struct rt_answer *ans, struct rt_explain *ex, bool *has_explain, char *err,
		     size_t errlen)
{
	uint64_t id = c->next_id++;
	long n = nq_encode_query(id, q, explain, c->query, sizeof(c->query));
	int64_t deadline, resend_at;
	int resend_ms = CTL_RESEND_MS;

	nq_answer_free(c->msg);
	c->msg = NULL;
	if (n < 0) {
		snprintf(err, errlen, "cannot encode the query: %s", strerror((int)-n));
		return (int)n;
	}
	deadline = ctl_now_ms() + c->timeout_ms;
	resend_at = 0;
	for (;;) {
		int64_t now = ctl_now_ms();
		if (now >= deadline) {
			snprintf(err, errlen, "no answer from %s within %d ms", c->peer,
				 c->timeout_ms);
			return -ETIMEDOUT;
		}
		if (now >= resend_at) {
			/* ECONNREFUSED from an earlier ICMP port unreachable: keep
			 * trying until the deadline, the server may be starting. */
			if (send(c->fd, c->query, (size_t)n, 0) < 0 && errno != ECONNREFUSED) {
				snprintf(err, errlen, "send to %s: %s", c->peer, strerror(errno));
				return -errno;
			}
			resend_at = now + resend_ms;
			if (resend_ms < 1000)
				resend_ms *= 2;
		}
		int64_t wait = (resend_at < deadline ? resend_at : deadline) - now;
		struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
		int pr = poll(&pfd, 1, (int)wait);
		if (pr < 0 && errno != EINTR) {
			snprintf(err, errlen, "poll: %s", strerror(errno));
			return -errno;
		}
		if (pr <= 0)
			continue;
		ssize_t r = recv(c->fd, c->buf, sizeof(c->buf), 0);
		if (r < 0) {
			if (errno == ECONNREFUSED || errno == EINTR || errno == EAGAIN)
				continue;
			snprintf(err, errlen, "recv from %s: %s", c->peer, strerror(errno));
			return -errno;
		}
		uint64_t got;
		void *msg = NULL;
		if (nq_decode_answer(c->buf, (size_t)r, &got, ans, ex, has_explain, &msg) != 0) {
			snprintf(err, errlen, "%s sent %zd bytes that are not a RouteAnswer",
				 c->peer, r);
			return -EBADMSG;
		}
		if (got != id) { /* a late answer to an earlier query */
			nq_answer_free(msg);
			continue;
		}
		c->msg = msg;
		return 0;
	}
}
