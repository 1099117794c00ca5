/*
 * trivial302: the kernel path's own limit, for scripts/bench-compare. Answers
 * every SIP request on a UDP port with a fixed 302 (Via, From, To, Call-ID
 * and CSeq echoed, one fixed Contact), or with --echo sends every datagram
 * back unchanged. recvmmsg/sendmmsg in bursts, one thread: the cheapest
 * server the same load generator can be pointed at, so strowgerd's figure
 * can be given as a fraction of it.
 *
 * usage: trivial302 [--echo] PORT
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#define BURST 32
#define MAXPKT 4096

static volatile sig_atomic_t stop;

static void on_sig(int s)
{
	(void)s;
	stop = 1;
}

/* Copy the header lines a response must echo; -1 if out does not fit. */
static int build_302(const char *req, size_t len, char *out, size_t cap)
{
	static const char *const keep[] = {"via:", "v:", "from:", "f:", "to:", "t:",
					   "call-id:", "i:", "cseq:"};
	size_t o = 0;
	int n = snprintf(out, cap, "SIP/2.0 302 Moved Temporarily\r\n");
	if (n < 0 || (size_t)n >= cap)
		return -1;
	o = (size_t)n;
	const char *p = memchr(req, '\n', len), *end = req + len;
	while (p && ++p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		size_t l = (size_t)((eol ? eol : end) - p);
		if (l <= 1)
			break;
		for (size_t k = 0; k < sizeof(keep) / sizeof(keep[0]); k++) {
			size_t kl = strlen(keep[k]);
			if (l > kl && strncasecmp(p, keep[k], kl) == 0) {
				if (o + l + 1 >= cap)
					return -1;
				memcpy(out + o, p, l);
				o += l;
				if (out[o - 1] != '\r')
					out[o++] = '\r';
				out[o++] = '\n';
				break;
			}
		}
		p = eol;
	}
	n = snprintf(out + o, cap - o,
		     "Contact: <sip:trivial@192.0.2.1:5060>\r\nContent-Length: 0\r\n\r\n");
	if (n < 0 || (size_t)n >= cap - o)
		return -1;
	return (int)(o + (size_t)n);
}

int main(int argc, char **argv)
{
	bool echo = argc == 3 && !strcmp(argv[1], "--echo");
	if (argc != 2 && !echo) {
		fprintf(stderr, "usage: trivial302 [--echo] PORT\n");
		return 2;
	}
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)atoi(argv[argc - 1]))};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		perror("trivial302: bind");
		return 1;
	}
	signal(SIGTERM, on_sig);
	signal(SIGINT, on_sig);
	struct timeval tv = {.tv_sec = 0, .tv_usec = 200000};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	static char in[BURST][MAXPKT], out[BURST][MAXPKT];
	struct mmsghdr rx[BURST], tx[BURST];
	struct iovec riov[BURST], tiov[BURST];
	struct sockaddr_storage peer[BURST];
	unsigned long long answered = 0;
	unsigned idle = 0;
	for (int i = 0; i < BURST; i++) {
		riov[i] = (struct iovec){in[i], MAXPKT};
		rx[i].msg_hdr = (struct msghdr){.msg_name = &peer[i], .msg_iov = &riov[i],
						.msg_iovlen = 1};
	}
	while (!stop) {
		for (int i = 0; i < BURST; i++)
			rx[i].msg_hdr.msg_namelen = sizeof(peer[i]);
		/* Poll like strowgerd's workers do (spin, then sleep): waking a
		 * sleeping vCPU costs more than answering. */
		int n = recvmmsg(fd, rx, BURST, MSG_DONTWAIT, NULL);
		if (n <= 0 && ++idle >= 64) {
			idle = 0;
			n = recvmmsg(fd, rx, BURST, MSG_WAITFORONE, NULL);
		}
		if (n <= 0)
			continue;
		idle = 0;
		int m = 0;
		for (int i = 0; i < n; i++) {
			char *reply = in[i];
			int len = (int)rx[i].msg_len;
			if (!echo) {
				reply = out[i];
				len = build_302(in[i], rx[i].msg_len, out[i], MAXPKT);
				if (len <= 0 || !strncmp(in[i], "ACK ", 4))
					continue; /* ACKs are absorbed, as by a redirect server */
			}
			tiov[m] = (struct iovec){reply, (size_t)len};
			tx[m].msg_hdr = (struct msghdr){.msg_name = &peer[i],
							.msg_namelen = rx[i].msg_hdr.msg_namelen,
							.msg_iov = &tiov[m], .msg_iovlen = 1};
			m++;
		}
		if (m && sendmmsg(fd, tx, (unsigned)m, 0) > 0)
			answered += (unsigned)m;
	}
	fprintf(stderr, "trivial302: %llu answered\n", answered);
	return 0;
}
