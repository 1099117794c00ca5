/*
 * sb_run: one load thread. Each thread owns its UDP sockets (connected to
 * the target, so only its answers arrive there), its share of the numbers,
 * its in-flight slots and its histogram; threads share nothing but the
 * read-only queries and expectations and the run's clock.
 *
 * The loop, until told to stop sending and nothing is in flight:
 *   1. receive every answer waiting (recvmmsg bursts), check each against
 *      its expectation, record its latency, queue a SIP ACK where due;
 *   2. expire queries older than --timeout (lost);
 *   3. queue new queries: open loop, those whose time has come at --rate
 *      (paced from the start, so a stall is caught up in bursts and shows
 *      as send lag); closed loop, one per free slot (--concurrency);
 *   4. send ACKs and queries in one sendmmsg per socket;
 *   5. with nothing received or sent, sleep in ppoll until an answer or the
 *      next query's time, unless --busy-poll.
 *
 * In-flight slots: a query's id is (sequence + 1) << 24 | slot, carried in the
 * SIP Via branch or the RouteQuery id, so an answer finds its slot directly.
 * Open loop uses the slots as a ring in send order, so the oldest query is
 * always at the head and timeouts are found without scanning; the ring is
 * sized for --rate x --timeout with room to spare. Closed loop keeps
 * exactly --concurrency slots on a free stack and scans them for timeouts
 * every --timeout / 16 (1 to 50 ms).
 *
 * Latency is from the sendmmsg that carried the query to the recvmmsg that
 * returned its answer (one clock reading per system call).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "sb.h"

#define NONE UINT32_MAX
#define SOCK_BUF (4 << 20)
#define IDLE_MAX_NS 50000000ull /* longest sleep without looking at the clock */
#define LAG_LATE_NS 1000000ull /* open loop: a send this late is counted */

#define INC(x) SB_RELAXED_INC(x, 1)

uint64_t sb_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------------ setup */

static uint32_t pow2_at_least(uint64_t n)
{
	uint32_t p = 1;
	while (p < n && p < SB_MAX_SLOTS)
		p <<= 1;
	return p;
}

static void set_buf(int fd, int opt_force, int opt)
{
	int v = SOCK_BUF;
	/* FORCE ignores rmem_max/wmem_max but needs CAP_NET_ADMIN. */
	if (setsockopt(fd, SOL_SOCKET, opt_force, &v, sizeof(v)) != 0)
		setsockopt(fd, SOL_SOCKET, opt, &v, sizeof(v));
}

static int open_sock(struct sb_thread *th, struct sb_sock *s, char *err, size_t errlen)
{
	const struct sb_opts *o = th->o;
	struct sockaddr_storage local;
	socklen_t ll = sizeof(local);
	char host[64];

	s->fd = socket(o->target.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	set_buf(s->fd, SO_RCVBUFFORCE, SO_RCVBUF);
	set_buf(s->fd, SO_SNDBUFFORCE, SO_SNDBUF);
	if (connect(s->fd, (const struct sockaddr *)&o->target, o->target_len) != 0 ||
	    getsockname(s->fd, (struct sockaddr *)&local, &ll) != 0) {
		snprintf(err, errlen, "UDP socket to %s: %s", o->target_hostport, strerror(errno));
		return -1;
	}
	if (local.ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&local;
		inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
		s->local_len = (size_t)snprintf(s->local, sizeof(s->local), "[%s]:%u", host,
						ntohs(a->sin6_port));
	} else {
		const struct sockaddr_in *a = (const struct sockaddr_in *)&local;
		inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
		s->local_len = (size_t)snprintf(s->local, sizeof(s->local), "%s:%u", host,
						ntohs(a->sin_port));
	}
	s->tx.buf = calloc(SB_TXQ_CAP, SB_PKT_MAX);
	if (!s->tx.buf) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (unsigned i = 0; i < SB_TXQ_CAP; i++) {
		s->tx.iov[i].iov_base = s->tx.buf[i];
		s->tx.msg[i].msg_hdr.msg_iov = &s->tx.iov[i];
		s->tx.msg[i].msg_hdr.msg_iovlen = 1;
	}
	return 0;
}

int sb_thread_setup(struct sb_thread *th, char *err, size_t errlen)
{
	const struct sb_opts *o = th->o;

	for (unsigned i = 0; i < SB_MAX_SOCKETS; i++)
		th->sock[i].fd = -1;
	sb_hist_init(&th->hist);
	if (o->rate > 0) {
		/* Every query of the last --timeout, twice over, plus bursts. */
		double need = th->rate * (o->timeout_ms / 1000.0) * 2 + 8.0 * o->batch + 1024;
		if (need > SB_MAX_SLOTS) {
			snprintf(err, errlen, "--rate %.0f with --timeout %u ms keeps more than %u "
				 "queries in flight per thread: use more --threads or a shorter "
				 "--timeout", o->rate, o->timeout_ms, SB_MAX_SLOTS / 2);
			return -1;
		}
		th->n_slots = pow2_at_least((uint64_t)need);
		th->mask = th->n_slots - 1;
	} else {
		th->n_slots = o->concurrency;
		th->free_stack = malloc(sizeof(*th->free_stack) * th->n_slots);
		if (!th->free_stack)
			goto nomem;
		for (uint32_t i = 0; i < th->n_slots; i++)
			th->free_stack[i] = th->n_slots - 1 - i;
		th->n_free = th->n_slots;
		th->scan_ns = (uint64_t)o->timeout_ms * 1000000ull / 16;
		if (th->scan_ns < 1000000ull)
			th->scan_ns = 1000000ull;
		if (th->scan_ns > 50000000ull)
			th->scan_ns = 50000000ull;
	}
	th->slots = calloc(th->n_slots, sizeof(*th->slots));
	th->rx_buf = malloc((size_t)o->batch * SB_RX_MAX);
	if (!th->slots || !th->rx_buf)
		goto nomem;
	for (unsigned i = 0; i < o->batch; i++) {
		th->rx_iov[i].iov_base = th->rx_buf[i];
		th->rx_iov[i].iov_len = SB_RX_MAX;
		th->rx[i].msg_hdr.msg_iov = &th->rx_iov[i];
		th->rx[i].msg_hdr.msg_iovlen = 1;
	}
	if (o->proto == SB_PROTO_NATIVE && !(th->arena = sb_native_arena_new()))
		goto nomem;
	th->n_socks = o->sockets;
	for (unsigned i = 0; i < th->n_socks; i++)
		if (open_sock(th, &th->sock[i], err, errlen) != 0)
			return -1;
	/* Touch everything now: no page faults once the clock runs. */
	memset(th->rx_buf, 0, (size_t)o->batch * SB_RX_MAX);
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	return -1;
}

void sb_thread_teardown(struct sb_thread *th)
{
	for (unsigned i = 0; i < SB_MAX_SOCKETS; i++) {
		if (th->sock[i].fd >= 0)
			close(th->sock[i].fd);
		th->sock[i].fd = -1;
		free(th->sock[i].tx.buf);
		th->sock[i].tx.buf = NULL;
	}
	free(th->slots);
	free(th->free_stack);
	free(th->rx_buf);
	sb_native_arena_free(th->arena);
	th->slots = NULL;
	th->free_stack = NULL;
	th->rx_buf = NULL;
	th->arena = NULL;
}

/* ------------------------------------------------------------ slots */

static void slot_free(struct sb_thread *th, uint32_t s)
{
	th->slots[s].id = 0;
	th->inflight--;
	if (th->free_stack)
		th->free_stack[th->n_free++] = s;
}

static void lose(struct sb_thread *th, uint32_t s)
{
	if (th->slots[s].measured)
		INC(th->c.lost);
	slot_free(th, s);
}

static void expire(struct sb_thread *th, uint64_t now)
{
	uint64_t tmo = (uint64_t)th->o->timeout_ms * 1000000ull;

	if (th->free_stack) {
		if (now < th->next_scan)
			return;
		th->next_scan = now + th->scan_ns;
		for (uint32_t s = 0; s < th->n_slots; s++)
			if (th->slots[s].id && th->slots[s].t_send + tmo <= now)
				lose(th, s);
		return;
	}
	while (th->head < th->seq) {
		uint32_t s = (uint32_t)(th->head & th->mask);
		struct sb_slot *sl = &th->slots[s];
		if (sl->id == ((th->head + 1) << SB_SLOT_BITS | s)) {
			if (sl->t_send + tmo > now)
				break;
			lose(th, s);
		}
		th->head++;
	}
}

/* ------------------------------------------------------------ answers */

static void report_wrong(struct sb_thread *th, uint32_t qi, const char *why)
{
	const struct sb_query *q = &th->d->q[qi];

	fprintf(stderr, "strowger-bench: wrong answer to %s:%u (%s%s%s%s%s): %s\n",
		th->o->numbers, q->line, q->called, q->policy ? ", policy " : "",
		q->policy ? q->policy : "", q->call_id ? ", Call-ID " : "",
		q->call_id ? q->call_id : "", why);
}

/* Record the answer for slot s; false when it is not ours (late, repeated). */
static bool complete(struct sb_thread *th, uint64_t id, uint64_t t_rx, uint32_t *slot_out)
{
	uint32_t s = (uint32_t)(id & (SB_MAX_SLOTS - 1));
	struct sb_slot *sl;

	if (s >= th->n_slots || th->slots[s].id != id || id == 0) {
		INC(th->c.late);
		return false;
	}
	sl = &th->slots[s];
	INC(th->c.all_received);
	if (sl->measured) {
		INC(th->c.received);
		sb_hist_add(&th->hist, t_rx > sl->t_send ? t_rx - sl->t_send : 0);
		th->t_last_answer = t_rx;
	}
	*slot_out = s;
	return true;
}

static void verdict(struct sb_thread *th, const struct sb_slot *sl, enum sb_verdict v,
		    const char *why)
{
	if (v == SB_RIGHT || !sl->measured)
		return;
	INC(th->c.wrong);
	if (v == SB_WRONG_CODE)
		INC(th->c.wrong_code);
	else
		INC(th->c.wrong_dest);
	if (why)
		report_wrong(th, sl->qi, why);
}

static void flush(struct sb_thread *th, struct sb_sock *s);

static void on_sip(struct sb_thread *th, unsigned si, const uint8_t *buf, size_t len,
		   uint64_t t_rx)
{
	struct sb_sip_resp r;
	struct sb_sock *sk;
	struct sb_slot *sl;
	uint32_t s;
	char why[1024];
	bool describe;

	if (sb_sip_parse((const char *)buf, len, &r) != 0 || !r.has_id || !r.invite ||
	    (r.code == 0) != th->o->echo) {
		INC(th->c.malformed);
		return;
	}
	if (th->o->echo) {
		/* A UDP echo (--echo): the request back is the answer; nothing
		 * to check, no ACK. */
		if (complete(th, r.id, t_rx, &s))
			slot_free(th, s);
		return;
	}
	if (r.code < 200)
		return; /* provisional: the final one follows */
	if (!complete(th, r.id, t_rx, &s))
		return;
	sl = &th->slots[s];
	if (th->d->exp) {
		describe = th->wrong_reported < th->o->report_wrong;
		enum sb_verdict v = sb_sip_check(&r, th->d, &th->d->exp[sl->qi],
						 describe ? why : NULL, sizeof(why));
		if (v != SB_RIGHT && describe && sl->measured)
			th->wrong_reported++;
		verdict(th, sl, v, describe ? why : NULL);
	}
	/* The SBC's ACK for a 3xx-6xx, on the socket the INVITE left from. */
	if (r.code >= 300 && r.to) {
		sk = &th->sock[sl->sock < th->n_socks ? sl->sock : si];
		if (sk->tx.n >= SB_TXQ_CAP)
			flush(th, sk);
		int n = sb_sip_request((char *)sk->tx.buf[sk->tx.n], SB_PKT_MAX, true, th->d,
				       &th->d->q[sl->qi], th->o->target_hostport, sk->local,
				       sk->local_len, th->idx, sl->id, r.to, r.to_len);
		if (n > 0) {
			sk->tx.iov[sk->tx.n].iov_len = (size_t)n;
			sk->tx.slot[sk->tx.n++] = NONE;
		} else {
			INC(th->c.send_errors);
		}
	}
	slot_free(th, s);
}

static void on_native(struct sb_thread *th, const uint8_t *buf, size_t len, uint64_t t_rx)
{
	const void *m;
	uint64_t id;
	uint32_t s;
	char why[1024];

	m = sb_native_decode(th->arena, buf, len, &id);
	if (!m) {
		INC(th->c.malformed);
		return;
	}
	if (!complete(th, id, t_rx, &s))
		return;
	if (th->d->exp) {
		struct sb_slot *sl = &th->slots[s];
		bool describe = th->wrong_reported < th->o->report_wrong;
		enum sb_verdict v = sb_native_check(m, th->d, &th->d->exp[sl->qi],
						    describe ? why : NULL, sizeof(why));
		if (v != SB_RIGHT && describe && sl->measured)
			th->wrong_reported++;
		verdict(th, sl, v, describe ? why : NULL);
	}
	slot_free(th, s);
}

static void refused(struct sb_thread *th)
{
	INC(th->c.refused);
	if (!th->refused_reported && !th->o->quiet) {
		th->refused_reported = true;
		fprintf(stderr, "strowger-bench: thread %u: %s refused a datagram (ICMP port "
			"unreachable): is strowgerd listening there?\n", th->idx,
			th->o->target_hostport);
	}
}

static void fatal(struct sb_thread *th, const char *what, int e)
{
	if (!th->rc) {
		th->rc = -1;
		snprintf(th->err, sizeof(th->err), "thread %u: %s: %s", th->idx, what, strerror(e));
	}
	__atomic_store_n(&th->run->stop, 1, __ATOMIC_RELAXED);
}

/* Every answer waiting on every socket. Returns how many. */
static unsigned receive(struct sb_thread *th)
{
	unsigned total = 0, batch = th->o->batch;

	for (unsigned si = 0; si < th->n_socks; si++) {
		struct sb_sock *sk = &th->sock[si];
		for (int round = 0; round < 8; round++) {
			int r;
			/* room for one ACK per answer of this burst */
			if (th->o->proto == SB_PROTO_SIP && sk->tx.n + batch > SB_TXQ_CAP)
				flush(th, sk);
			r = recvmmsg(sk->fd, th->rx, batch, MSG_DONTWAIT, NULL);
			if (r < 0) {
				if (errno == EAGAIN || errno == EWOULDBLOCK)
					break;
				if (errno == EINTR)
					continue;
				if (errno == ECONNREFUSED) {
					refused(th);
					continue;
				}
				fatal(th, "recvmmsg", errno);
				return total;
			}
			uint64_t t_rx = sb_now();
			for (int i = 0; i < r; i++) {
				const struct msghdr *h = &th->rx[i].msg_hdr;
				if (h->msg_flags & MSG_TRUNC) {
					INC(th->c.malformed);
					continue;
				}
				if (th->o->proto == SB_PROTO_SIP)
					on_sip(th, si, th->rx_buf[i], th->rx[i].msg_len, t_rx);
				else
					on_native(th, th->rx_buf[i], th->rx[i].msg_len, t_rx);
			}
			total += (unsigned)r;
			if ((unsigned)r < batch)
				break;
		}
	}
	return total;
}

/* ------------------------------------------------------------ sending */

static void sent(struct sb_thread *th, struct sb_sock *s, unsigned i)
{
	uint32_t slot = s->tx.slot[i];

	if (slot == NONE) {
		INC(th->c.acks);
		return;
	}
	INC(th->c.all_sent);
	if (th->slots[slot].measured)
		INC(th->c.sent);
}

static void not_sent(struct sb_thread *th, struct sb_sock *s, unsigned i)
{
	uint32_t slot = s->tx.slot[i];

	INC(th->c.send_errors);
	if (slot != NONE && th->slots[slot].id)
		slot_free(th, slot); /* neither sent nor lost */
}

static void flush(struct sb_thread *th, struct sb_sock *s)
{
	unsigned n = s->tx.n, done = 0, retries = 0;
	uint64_t now;

	if (n == 0)
		return;
	now = sb_now();
	for (unsigned i = 0; i < n; i++)
		if (s->tx.slot[i] != NONE)
			th->slots[s->tx.slot[i]].t_send = now;
	while (done < n) {
		int r = sendmmsg(s->fd, &s->tx.msg[done], n - done, 0);
		if (r > 0) {
			for (int i = 0; i < r; i++)
				sent(th, s, done + (unsigned)i);
			done += (unsigned)r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == ECONNREFUSED) {
			refused(th); /* the error was pending; this send may go */
			continue;
		}
		if (r < 0 && (errno == EAGAIN || errno == ENOBUFS) && retries++ < 100) {
			struct pollfd p = {s->fd, POLLOUT, 0};
			poll(&p, 1, 1);
			continue;
		}
		not_sent(th, s, done++);
	}
	s->tx.n = 0;
}

static void flush_all(struct sb_thread *th)
{
	for (unsigned i = 0; i < th->n_socks; i++)
		flush(th, &th->sock[i]);
}

/* Open loop: how many queries have their time before t. */
static uint64_t n_before(const struct sb_thread *th, uint64_t t)
{
	if (t <= th->run->t0)
		return 0;
	return (uint64_t)ceil((double)(t - th->run->t0) * th->rate * 1e-9);
}

/* Open loop: the time of query k. */
static uint64_t time_of(const struct sb_thread *th, uint64_t k)
{
	return th->run->t0 + (uint64_t)((double)k * 1e9 / th->rate);
}

/*
 * Queue the queries due now. Returns how many. Open loop, a query is
 * measured when its time (not the moment it left) is past the warmup, and
 * the last one is the last whose time is before the end: the offered load
 * is exactly --rate x --duration, however late the client runs.
 */
static unsigned queue(struct sb_thread *th, uint64_t now)
{
	const struct sb_opts *o = th->o;
	const struct sb_run *run = th->run;
	struct sb_sock *sk = &th->sock[th->next_sock];
	uint64_t want;
	unsigned k;

	if (o->rate > 0) {
		uint64_t due = (uint64_t)((double)(now - run->t0) * th->rate * 1e-9) + 1;
		want = due > th->seq ? due - th->seq : 0;
		if (th->n_stop && want > th->n_stop - th->seq)
			want = th->n_stop - th->seq;
	} else {
		want = th->n_free;
	}
	if (want > o->batch)
		want = o->batch;
	if (want > SB_TXQ_CAP - sk->tx.n)
		want = SB_TXQ_CAP - sk->tx.n;

	for (k = 0; k < want; k++) {
		uint32_t qi = (uint32_t)(th->q_first + th->q_next), s;
		const struct sb_query *q = &th->d->q[qi];
		unsigned t = sk->tx.n;
		bool measured = o->rate > 0 ? th->seq >= th->n_warm : now >= run->t_measure;
		uint64_t id;
		size_t len;

		if (measured && th->quota && th->measured_sent >= th->quota)
			break;
		if (++th->q_next == th->q_n)
			th->q_next = 0;
		if (th->free_stack) {
			s = th->free_stack[--th->n_free];
		} else {
			s = (uint32_t)(th->seq & th->mask);
			if (th->slots[s].id) /* a full ring: its oldest query is lost */
				lose(th, s);
			uint64_t at = time_of(th, th->seq);
			if (measured && now > at) {
				uint64_t lag = now - at;
				if (lag > LAG_LATE_NS)
					INC(th->c.late_sends);
				if (lag > th->c.max_send_lag)
					__atomic_store_n(&th->c.max_send_lag, lag,
							 __ATOMIC_RELAXED);
			}
		}
		id = (th->seq + 1) << SB_SLOT_BITS | s; /* never 0, the free mark */
		th->seq++;
		if (o->proto == SB_PROTO_SIP) {
			int n = sb_sip_request((char *)sk->tx.buf[t], SB_PKT_MAX, false, th->d, q,
					       o->target_hostport, sk->local, sk->local_len,
					       th->idx, id, NULL, 0);
			len = n > 0 ? (size_t)n : 0; /* checked at load: never 0 */
		} else {
			len = sb_native_query(sk->tx.buf[t], th->d, q, id);
		}
		th->slots[s] = (struct sb_slot){
			.id = id, .t_send = now, .qi = qi,
			.sock = (uint8_t)(sk - th->sock), .measured = measured,
		};
		th->inflight++;
		if (measured) {
			th->measured_sent++;
			if (!th->t_first_measured)
				th->t_first_measured = now;
		}
		sk->tx.iov[t].iov_len = len;
		sk->tx.slot[t] = s;
		sk->tx.n++;
	}
	if (k)
		th->next_sock = (th->next_sock + 1) % th->n_socks;
	return k;
}

static bool stop_sending(const struct sb_thread *th, uint64_t now)
{
	const struct sb_run *run = th->run;

	if (__atomic_load_n(&run->stop, __ATOMIC_RELAXED))
		return true;
	if (th->quota)
		return th->measured_sent >= th->quota;
	if (th->o->rate > 0)
		return th->seq >= th->n_stop;
	return now >= run->t_end;
}

/* Sleep until an answer arrives or there is something to do: the next
 * query's time, the oldest query's timeout, the end of the run. */
static void idle(struct sb_thread *th, uint64_t now, bool sending)
{
	const struct sb_run *run = th->run;
	uint64_t tmo = (uint64_t)th->o->timeout_ms * 1000000ull;
	uint64_t until = now + IDLE_MAX_NS;
	struct pollfd pfd[SB_MAX_SOCKETS];
	struct timespec ts;

#define SOONER(t) do { if ((t) < until) until = (t); } while (0)
	if (sending && th->o->rate > 0)
		SOONER(time_of(th, th->seq));
	if (sending && run->t_end)
		SOONER(run->t_end);
	if (sending && th->quota && th->measured_sent < th->quota && now < run->t_measure)
		SOONER(run->t_measure);
	if (th->free_stack) {
		if (th->inflight)
			SOONER(th->next_scan);
	} else if (th->head < th->seq) {
		SOONER(th->slots[th->head & th->mask].t_send + tmo);
	}
#undef SOONER
	if (until <= now)
		return;
	for (unsigned i = 0; i < th->n_socks; i++)
		pfd[i] = (struct pollfd){th->sock[i].fd, POLLIN, 0};
	ts.tv_sec = (time_t)((until - now) / 1000000000ull);
	ts.tv_nsec = (long)((until - now) % 1000000000ull);
	ppoll(pfd, th->n_socks, &ts, NULL);
}

static void pin(struct sb_thread *th)
{
	const struct sb_opts *o = th->o;
	cpu_set_t set;

	if (!o->n_pin)
		return;
	CPU_ZERO(&set);
	CPU_SET(o->pin[th->idx % o->n_pin], &set);
	if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set) != 0 && !o->quiet)
		fprintf(stderr, "strowger-bench: thread %u: cannot pin to CPU %d\n", th->idx,
			o->pin[th->idx % o->n_pin]);
}

void *sb_thread_main(void *arg)
{
	struct sb_thread *th = arg;
	struct sb_run *run = th->run;
	uint64_t now;
	bool sending = true;

	pin(th);
	/* ppoll wakes within a microsecond of the next query's time, not the
	 * default 50 us of timer slack. */
	prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
	pthread_barrier_wait(&run->start);
	if (th->o->rate > 0) {
		th->n_warm = n_before(th, run->t_measure);
		th->n_stop = run->t_end ? n_before(th, run->t_end) : 0;
	}

	for (;;) {
		unsigned got = receive(th), queued = 0;

		now = sb_now();
		expire(th, now);
		if (sending && stop_sending(th, now)) {
			sending = false;
			th->t_send_end = now;
		}
		if (!sending && th->inflight == 0)
			break;
		if (sending)
			queued = queue(th, now);
		flush_all(th);
		if (!got && !queued && !th->o->busy_poll)
			idle(th, now, sending);
	}
	flush_all(th); /* the last ACKs */
	__atomic_add_fetch(&run->done, 1, __ATOMIC_RELEASE);
	return NULL;
}
