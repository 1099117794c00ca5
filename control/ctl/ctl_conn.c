/*
 * ctl_conn: a client connection to strowgerd's control channel (see
 * ctl_conn.h), shared by strowgerctl and strowger-probe.
 */
#include "ctl_conn.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "strowger_frame.h"

/* Messages name the program using this (strowgerctl, strowger-probe). */
#define prog program_invocation_short_name


int ctl_conn_open(struct ctl_conn *cn, const char *control, const char *tcp,
		  const char *token_file, int timeout_ms)
{
	cn->fd = -1;
	cn->timeout_ms = timeout_ms;
	cn->token[0] = '\0';
	if (tcp) {
		char host[256], port[16];
		const char *s = tcp, *colon;
		size_t hl;
		if (s[0] == '[') {
			const char *e = strchr(s, ']');
			if (!e || e[1] != ':')
				goto badtcp;
			hl = (size_t)(e - s - 1);
			s++;
			colon = e + 1;
		} else {
			colon = strrchr(s, ':');
			if (!colon)
				goto badtcp;
			hl = (size_t)(colon - s);
		}
		if (hl == 0 || hl >= sizeof(host) || strlen(colon + 1) >= sizeof(port))
			goto badtcp;
		memcpy(host, s, hl);
		host[hl] = '\0';
		strcpy(port, colon + 1);
		struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
		int rc = getaddrinfo(host, port, &hints, &res);
		if (rc) {
			fprintf(stderr, "%s: --control-tcp %s: %s\n", prog, tcp, gai_strerror(rc));
			return -1;
		}
		for (struct addrinfo *r = res; r && cn->fd < 0; r = r->ai_next) {
			cn->fd = socket(r->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
			if (cn->fd >= 0 && connect(cn->fd, r->ai_addr, r->ai_addrlen) != 0) {
				close(cn->fd);
				cn->fd = -1;
			}
		}
		freeaddrinfo(res);
		if (cn->fd < 0) {
			fprintf(stderr, "%s: cannot connect to %s: %s\n", prog, tcp,
				strerror(errno));
			return -1;
		}
		const char *tok = getenv("STROWGER_TOKEN");
		if (token_file) {
			FILE *f = fopen(token_file, "r");
			if (!f || !fgets(cn->token, sizeof(cn->token), f)) {
				fprintf(stderr, "%s: --token-file %s: %s\n", prog, token_file,
					f ? "empty" : strerror(errno));
				if (f)
					fclose(f);
				return -1;
			}
			fclose(f);
			char *t = cn->token + strspn(cn->token, " \t");
			t[strcspn(t, " \t\r\n")] = '\0';
			memmove(cn->token, t, strlen(t) + 1);
		} else if (tok) {
			snprintf(cn->token, sizeof(cn->token), "%s", tok);
		}
		cn->where = tcp;
		return 0;
	badtcp:
		fprintf(stderr, "%s: --control-tcp '%s': expected HOST:PORT\n", prog, tcp);
		return -1;
	}
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(control) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "%s: --control %s: path too long\n", prog, control);
		return -1;
	}
	strcpy(sa.sun_path, control);
	cn->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (cn->fd < 0 || connect(cn->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		fprintf(stderr, "%s: cannot connect to strowgerd at %s: %s%s\n", prog, control,
			strerror(errno),
			errno == ENOENT ? " (is it running? --control PATH or $STROWGER_CONTROL)" : "");
		if (cn->fd >= 0)
			close(cn->fd);
		cn->fd = -1;
		return -1;
	}
	cn->where = control;
	return 0;
}

static int ctl_conn_wait(struct ctl_conn *cn, short ev)
{
	struct pollfd p = {.fd = cn->fd, .events = ev};
	int rc;
	do
		rc = poll(&p, 1, cn->timeout_ms ? cn->timeout_ms : -1);
	while (rc < 0 && errno == EINTR);
	if (rc == 0) {
		fprintf(stderr, "%s: %s: no answer within %d ms\n", prog, cn->where,
			cn->timeout_ms);
		return -ETIMEDOUT;
	}
	return rc < 0 ? -errno : 0;
}

static int ctl_conn_io(struct ctl_conn *cn, uint8_t *p, size_t n, bool out)
{
	while (n) {
		int rc = ctl_conn_wait(cn, out ? POLLOUT : POLLIN);
		if (rc)
			return rc;
		ssize_t r = out ? send(cn->fd, p, n, MSG_NOSIGNAL) : recv(cn->fd, p, n, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			fprintf(stderr, "%s: %s: %s\n", prog, cn->where,
				r == 0 ? "connection closed by strowgerd" : strerror(errno));
			return -EIO;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

Strowger__ControlResponse *ctl_conn_call(struct ctl_conn *cn, Strowger__ControlRequest *req)
{
	static uint64_t next_id = 1;
	req->id = next_id++;
	if (cn->token[0])
		req->token = cn->token;
	size_t n = strowger__control_request__get_packed_size(req);
	if (n > STROWGER_FRAME_MAX) {
		fprintf(stderr, "%s: request of %zu bytes is over the %u-byte limit\n", prog, n,
			STROWGER_FRAME_MAX);
		return NULL;
	}
	uint8_t *buf = malloc(STROWGER_FRAME_HDR + n);
	if (!buf) {
		fprintf(stderr, "%s: out of memory\n", prog);
		return NULL;
	}
	strowger_frame_put_len(buf, (uint32_t)n);
	strowger__control_request__pack(req, buf + STROWGER_FRAME_HDR);
	int rc = ctl_conn_io(cn, buf, STROWGER_FRAME_HDR + n, true);
	free(buf);
	if (rc)
		return NULL;
	uint8_t hdr[STROWGER_FRAME_HDR];
	if (ctl_conn_io(cn, hdr, sizeof(hdr), false))
		return NULL;
	uint32_t len = strowger_frame_get_len(hdr);
	if (len > STROWGER_FRAME_MAX || !(buf = malloc(len + 1))) {
		fprintf(stderr, "%s: %s: bad response frame (%u bytes)\n", prog, cn->where, len);
		return NULL;
	}
	if (ctl_conn_io(cn, buf, len, false)) {
		free(buf);
		return NULL;
	}
	Strowger__ControlResponse *r = strowger__control_response__unpack(NULL, len, buf);
	free(buf);
	if (!r)
		fprintf(stderr, "%s: %s: response is not a ControlResponse\n", prog, cn->where);
	else if (r->id != req->id) {
		fprintf(stderr, "%s: %s: response to request %llu, expected %llu\n", prog,
			cn->where, (unsigned long long)r->id, (unsigned long long)req->id);
		strowger__control_response__free_unpacked(r, NULL);
		r = NULL;
	}
	return r;
}

void ctl_conn_close(struct ctl_conn *cn)
{
	if (cn->fd >= 0)
		close(cn->fd);
	cn->fd = -1;
}
