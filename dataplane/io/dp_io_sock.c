/*
 * Kernel UDP socket backend: every worker owns one SO_REUSEPORT socket per
 * listening address (the kernel spreads flows across them), receives with
 * recvmmsg and answers with sendmmsg, a burst per system call. Replies
 * leave from the address the request arrived on (IP_PKTINFO /
 * IPV6_PKTINFO), which matters when listening on a wildcard address of a
 * multi-homed host: an SBC drops a 302 from an unexpected source.
 */
#include "dp_io.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CTL_LEN 64

struct dp_io_queue {
	unsigned n;
	unsigned next; /* listener to read first: round robin for fairness */
	int fd[DP_MAX_LISTEN];
	uint8_t svc[DP_MAX_LISTEN];
	bool wildcard[DP_MAX_LISTEN];
	struct pollfd pfd[DP_MAX_LISTEN];
	struct dp_io_counters *ctr;

	uint8_t slot_fd[DP_BURST];
	struct mmsghdr rx[DP_BURST];
	struct iovec rx_iov[DP_BURST];
	struct sockaddr_storage rx_addr[DP_BURST];
	union {
		char buf[CTL_LEN];
		struct cmsghdr align;
	} rx_ctl[DP_BURST], tx_ctl[DP_BURST];
	struct mmsghdr tx[DP_BURST];
	struct iovec tx_iov[DP_BURST];
	uint8_t rx_buf[DP_BURST][DP_PKT_MAX];
	uint8_t tx_buf[DP_BURST][DP_PKT_MAX];
};

const char *dp_service_name(enum dp_service s)
{
	return s == DP_SVC_SIP ? "SIP" : s == DP_SVC_NATIVE ? "native" : "?";
}

int dp_listen_parse(const char *s, enum dp_service svc, uint16_t default_port,
		    struct dp_listen *out, char *err, size_t errlen)
{
	char host[64] = "";
	const char *port = NULL;
	memset(out, 0, sizeof(*out));
	out->svc = svc;

	if (s[0] == '[') {
		const char *e = strchr(s, ']');
		if (!e || (size_t)(e - s - 1) >= sizeof(host) || (e[1] && e[1] != ':'))
			goto bad;
		memcpy(host, s + 1, (size_t)(e - s - 1));
		port = e[1] == ':' ? e + 2 : NULL;
	} else {
		const char *c = strchr(s, ':');
		if (c && strchr(c + 1, ':')) { /* bare IPv6 literal */
			if (strlen(s) >= sizeof(host))
				goto bad;
			strcpy(host, s);
		} else if (c) {
			if ((size_t)(c - s) >= sizeof(host))
				goto bad;
			memcpy(host, s, (size_t)(c - s));
			port = c + 1;
		} else if (s[0] && strspn(s, "0123456789") == strlen(s)) {
			port = s;
		} else {
			if (strlen(s) >= sizeof(host))
				goto bad;
			strcpy(host, s);
		}
	}

	unsigned long p = default_port;
	if (port) {
		char *end;
		p = strtoul(port, &end, 10);
		if (!*port || *end || p == 0 || p > 65535) {
			snprintf(err, errlen, "bad port in '%s' (1..65535)", s);
			return -EINVAL;
		}
	}
	if (!host[0])
		strcpy(host, "0.0.0.0");

	struct sockaddr_in *v4 = (struct sockaddr_in *)&out->addr;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&out->addr;
	if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)p);
		out->len = sizeof(*v4);
		snprintf(out->text, sizeof(out->text), "%s:%lu", host, p);
	} else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)p);
		out->len = sizeof(*v6);
		snprintf(out->text, sizeof(out->text), "[%s]:%lu", host, p);
	} else {
		snprintf(err, errlen, "'%s' is not an IP address (IPv4, or IPv6 in brackets)", host);
		return -EINVAL;
	}
	return 0;
bad:
	snprintf(err, errlen, "cannot parse address '%s' (ADDR:PORT, [V6]:PORT or PORT)", s);
	return -EINVAL;
}

static int open_socket(const struct dp_listen *l, bool reuseport, char *err, size_t errlen)
{
	int fam = l->addr.ss_family;
	int fd = socket(fam, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
	if (fd < 0) {
		snprintf(err, errlen, "socket for %s %s: %s", dp_service_name(l->svc), l->text,
			 strerror(errno));
		return -errno;
	}
	int one = 1;
	if (fam == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one))) {
		int e = errno;
		snprintf(err, errlen, "SO_REUSEPORT on %s: %s", l->text, strerror(e));
		close(fd);
		return -e;
	}
	if (bind(fd, (const struct sockaddr *)&l->addr, l->len)) {
		int e = errno;
		snprintf(err, errlen, "cannot bind %s %s: %s", dp_service_name(l->svc), l->text,
			 strerror(e));
		close(fd);
		return -e;
	}
	return fd;
}

int dp_sock_check_free(const struct dp_listen *l, char *err, size_t errlen)
{
	int fd = open_socket(l, false, err, errlen);
	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

static bool is_wildcard(const struct dp_listen *l)
{
	if (l->addr.ss_family == AF_INET)
		return ((const struct sockaddr_in *)&l->addr)->sin_addr.s_addr == htonl(INADDR_ANY);
	return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)&l->addr)->sin6_addr);
}

struct dp_io_queue *dp_sock_queue_new(const struct dp_listen *ls, unsigned n,
				      struct dp_io_counters *ctr, char *err, size_t errlen)
{
	if (n == 0 || n > DP_MAX_LISTEN) {
		snprintf(err, errlen, "between 1 and %d listening addresses", DP_MAX_LISTEN);
		return NULL;
	}
	struct dp_io_queue *q = calloc(1, sizeof(*q));
	if (!q) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	q->ctr = ctr;
	for (unsigned i = 0; i < n; i++) {
		int fd = open_socket(&ls[i], true, err, errlen);
		if (fd < 0) {
			q->n = i;
			dp_sock_ops.queue_free(q);
			return NULL;
		}
		int one = 1;
		if (ls[i].addr.ss_family == AF_INET)
			setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
		else
			setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
		/* Room for bursts while a worker is busy: best effort (capped by
		 * net.core.rmem_max). */
		int rcv = 4 << 20;
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
		q->fd[i] = fd;
		q->svc[i] = (uint8_t)ls[i].svc;
		q->wildcard[i] = is_wildcard(&ls[i]);
		q->pfd[i].fd = fd;
		q->pfd[i].events = POLLIN;
	}
	q->n = n;
	return q;
}

static void sock_queue_free(struct dp_io_queue *q)
{
	if (!q)
		return;
	for (unsigned i = 0; i < q->n; i++)
		close(q->fd[i]);
	free(q);
}

static unsigned sock_rx_burst(struct dp_io_queue *q, struct dp_pkt *pkts, unsigned max)
{
	unsigned got = 0;
	if (max > DP_BURST)
		max = DP_BURST;
	for (unsigned k = 0; k < q->n && got < max; k++) {
		unsigned li = (q->next + k) % q->n;
		for (unsigned i = got; i < max; i++) {
			q->rx_iov[i].iov_base = q->rx_buf[i];
			q->rx_iov[i].iov_len = DP_PKT_MAX;
			struct msghdr *h = &q->rx[i].msg_hdr;
			h->msg_name = &q->rx_addr[i];
			h->msg_namelen = sizeof(q->rx_addr[i]);
			h->msg_iov = &q->rx_iov[i];
			h->msg_iovlen = 1;
			h->msg_control = q->rx_ctl[i].buf;
			h->msg_controllen = CTL_LEN;
			h->msg_flags = 0;
		}
		int r = recvmmsg(q->fd[li], &q->rx[got], max - got, MSG_DONTWAIT, NULL);
		if (r <= 0)
			continue;
		for (unsigned i = got; i < got + (unsigned)r; i++)
			q->slot_fd[i] = (uint8_t)li;
		got += (unsigned)r;
	}
	q->next = (q->next + 1) % q->n;

	unsigned n = 0;
	for (unsigned i = 0; i < got; i++) {
		if (q->rx[i].msg_hdr.msg_flags & MSG_TRUNC) {
			q->ctr->rx_truncated++;
			continue;
		}
		struct dp_pkt *p = &pkts[n++];
		p->data = q->rx_buf[i];
		p->len = q->rx[i].msg_len;
		p->svc = q->svc[q->slot_fd[i]];
		p->peer = (const struct sockaddr *)&q->rx_addr[i];
		p->reply = q->tx_buf[i];
		p->reply_cap = DP_PKT_MAX;
		p->reply_len = 0;
		p->cookie = i;
	}
	return n;
}

/* Copy the request's destination address into the reply as its source. */
static socklen_t reply_pktinfo(struct dp_io_queue *q, unsigned slot, char *out)
{
	struct msghdr *h = &q->rx[slot].msg_hdr;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo in;
			memcpy(&in, CMSG_DATA(c), sizeof(in));
			struct in_pktinfo pi = {.ipi_ifindex = 0, .ipi_spec_dst = in.ipi_addr};
			struct cmsghdr *o = (struct cmsghdr *)out;
			o->cmsg_level = IPPROTO_IP;
			o->cmsg_type = IP_PKTINFO;
			o->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(o), &pi, sizeof(pi));
			return CMSG_SPACE(sizeof(pi));
		}
		if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			struct cmsghdr *o = (struct cmsghdr *)out;
			o->cmsg_level = IPPROTO_IPV6;
			o->cmsg_type = IPV6_PKTINFO;
			o->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(o), &pi, sizeof(pi));
			return CMSG_SPACE(sizeof(pi));
		}
	}
	return 0;
}

static void sock_tx_burst(struct dp_io_queue *q, struct dp_pkt *pkts, unsigned n)
{
	/* One sendmmsg per listener: replies go out on the socket their
	 * request came in on. */
	for (unsigned li = 0; li < q->n; li++) {
		unsigned m = 0;
		for (unsigned k = 0; k < n; k++) {
			unsigned slot = pkts[k].cookie;
			if (!pkts[k].reply_len || q->slot_fd[slot] != li)
				continue;
			q->tx_iov[m].iov_base = pkts[k].reply;
			q->tx_iov[m].iov_len = pkts[k].reply_len;
			struct msghdr *h = &q->tx[m].msg_hdr;
			memset(h, 0, sizeof(*h));
			h->msg_name = &q->rx_addr[slot];
			h->msg_namelen = q->rx[slot].msg_hdr.msg_namelen;
			h->msg_iov = &q->tx_iov[m];
			h->msg_iovlen = 1;
			if (q->wildcard[li]) {
				socklen_t cl = reply_pktinfo(q, slot, q->tx_ctl[m].buf);
				if (cl) {
					h->msg_control = q->tx_ctl[m].buf;
					h->msg_controllen = cl;
				}
			}
			m++;
		}
		unsigned sent = 0;
		while (sent < m) {
			int r = sendmmsg(q->fd[li], &q->tx[sent], m - sent, MSG_DONTWAIT);
			if (r > 0) {
				sent += (unsigned)r;
				continue;
			}
			if (r < 0 && errno == EINTR)
				continue;
			/* The first message of the rest failed (unreachable peer,
			 * full buffer): count it and carry on with the others. */
			q->ctr->tx_errors++;
			sent++;
		}
	}
}

static void sock_idle_wait(struct dp_io_queue *q, int timeout_ms)
{
	poll(q->pfd, q->n, timeout_ms);
}

const struct dp_io_ops dp_sock_ops = {
	.name = "socket",
	.rx_burst = sock_rx_burst,
	.tx_burst = sock_tx_burst,
	.idle_wait = sock_idle_wait,
	.queue_free = sock_queue_free,
};
