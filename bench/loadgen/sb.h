#pragma once
/*
 * strowger-bench: a load generator for strowgerd (SPEC section 4: SIP
 * redirect and native protobuf query over UDP). See bench/loadgen/README.md.
 *
 * Layout:
 *   sb_main.c    flags, loading, threads, progress line, report (text, JSON)
 *   sb_input.c   numbers (TSV) and expectations (strowgerctl batch JSON lines)
 *   sb_sip.c     INVITE/ACK building, response parsing and checking
 *   sb_native.c  RouteQuery datagrams, RouteAnswer decoding and checking
 *   sb_run.c     one thread's send/receive loop (open and closed loop)
 *   sb_hist.c    latency histogram;  sb_json.c  a small JSON reader
 *
 * Everything a thread touches per query is allocated before the clock
 * starts: the queries (parsed once, native ones pre-encoded), the expected
 * answers (strings interned in one pool), the in-flight slot table, the
 * send and receive buffers and the protobuf decoding arena.
 */
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "sb_hist.h"

#define SB_VERSION "0.1.0"

#define SB_MAX_BATCH 256       /* datagrams per sendmmsg / recvmmsg */
#define SB_DEFAULT_BATCH 32
#define SB_TXQ_CAP (2 * SB_MAX_BATCH)
#define SB_PKT_MAX 2048        /* one query (INVITE, ACK or RouteQuery) */
#define SB_RX_MAX 16384        /* one answer */
#define SB_MAX_SOCKETS 16      /* per thread */
#define SB_MAX_THREADS 256
#define SB_MAX_TRIED 16        /* RT_MAX_TRIED */
#define SB_MAX_CONTACTS 32     /* RT_MAX_DEST */
#define SB_FIELD_MAX 1024      /* one TSV field */
#define SB_SLOT_BITS 24        /* id = (sequence + 1) << 24 | slot */
#define SB_MAX_SLOTS (1u << SB_SLOT_BITS)
#define SB_ADDR_MAX 80         /* "[v6]:port" */

enum sb_proto { SB_PROTO_SIP, SB_PROTO_NATIVE };

struct sb_opts {
	enum sb_proto proto;
	const char *target_text;          /* as given */
	struct sockaddr_storage target;
	socklen_t target_len;
	char target_hostport[SB_ADDR_MAX]; /* normalised: 127.0.0.1:5060, [::1]:5060 */
	const char *numbers;
	const char *expect;               /* NULL: answers are not checked */
	const char *json;
	const char *label;
	double rate;                      /* open loop: total queries/s; 0: closed loop */
	unsigned concurrency;             /* closed loop: outstanding per thread */
	unsigned threads;
	unsigned sockets;                 /* per thread */
	unsigned batch;
	double duration;                  /* s; 0 with count */
	uint64_t count;                   /* measured queries in all; 0 with duration */
	double warmup;                    /* s */
	unsigned timeout_ms;
	bool busy_poll;
	bool quiet;
	bool progress;                    /* --progress: even for short runs */
	bool allow_remote;
	bool echo; /* --echo: SIP requests come back unchanged (a UDP echo) */
	unsigned max_contacts;            /* SIP: Contacts a 302 carries (sip.max_contacts) */
	unsigned max_dest;                /* native: RouteQuery.max_destinations */
	unsigned report_wrong;            /* wrong answers described on stderr, per thread */
	int pin[SB_MAX_THREADS];          /* CPU per thread, -1: none */
	unsigned n_pin;
};

/* ---- input (sb_input.c) */

struct sb_tried {
	const char *gw; /* not NUL-terminated */
	uint16_t gw_len;
	uint16_t code;
};

/* One line of the numbers file. Strings are NUL-terminated views into the
 * file's text; absent fields are NULL with length 0. */
struct sb_query {
	const char *called, *calling, *policy, *call_id;
	uint16_t called_len, calling_len, policy_len, call_id_len;
	uint32_t line;    /* 1-based, in the numbers file */
	uint32_t tried;   /* first entry in sb_data.tried */
	uint8_t n_tried;
	uint16_t nq_len;  /* native: pre-encoded RouteQuery (without id) ... */
	uint32_t nq_off;  /* ... at sb_data.nq + nq_off */
};

/* Strings of the expected answers, interned: an offset; 0 is "". */
struct sb_pool {
	char *buf;
	size_t len, cap;
	uint32_t *ht; /* open addressing: offsets, 0 = empty */
	size_t ht_cap, ht_n;
};

static inline const char *sb_pool_str(const struct sb_pool *p, uint32_t off)
{
	return p->buf + off;
}

struct sb_dest {
	uint32_t gateway, address, uri, called; /* pool offsets */
	uint16_t port;
};

struct sb_expect {
	uint32_t first;    /* native: first sb_dest; SIP: first contact */
	uint32_t line;     /* 1-based, in the expectations file */
	uint16_t code;     /* RouteAnswer.code */
	uint16_t sip_code; /* the final response strowgerd's SIP front-end sends */
	uint8_t status;    /* enum rt_status */
	uint8_t n_dest;    /* native */
	uint8_t n_contacts; /* SIP, in order: user@host:port as pool offsets */
};

struct sb_data {
	char *text;        /* the numbers file, fields cut in place */
	size_t text_len;
	struct sb_query *q;
	size_t n;
	struct sb_tried *tried;
	size_t n_tried, cap_tried;
	uint8_t *nq;       /* native: every pre-encoded RouteQuery body */
	size_t nq_len, nq_cap;
	struct sb_expect *exp; /* n entries, or NULL (not checking) */
	struct sb_dest *dests;
	size_t n_dests, cap_dests;
	uint32_t *contacts;
	size_t n_contacts, cap_contacts;
	struct sb_pool pool;
};

int sb_load_numbers(struct sb_data *d, const struct sb_opts *o, char *err, size_t errlen);
int sb_load_expect(struct sb_data *d, const struct sb_opts *o, char *err, size_t errlen);
void sb_data_free(struct sb_data *d);
uint32_t sb_pool_add(struct sb_pool *p, const char *s, size_t len); /* UINT32_MAX: ENOMEM */

/* ---- per-thread state (sb_run.c) */

struct sb_slot {
	uint64_t id;      /* 0: free */
	uint64_t t_send;  /* CLOCK_MONOTONIC ns */
	uint32_t qi;      /* query index */
	uint8_t sock;
	uint8_t measured; /* sent after the warmup */
};

struct sb_txq {
	unsigned n;
	unsigned n_new;                /* queries among them (their slots below) */
	struct mmsghdr msg[SB_TXQ_CAP];
	struct iovec iov[SB_TXQ_CAP];
	uint32_t slot[SB_TXQ_CAP];     /* slot of msg[i], UINT32_MAX for an ACK */
	uint8_t (*buf)[SB_PKT_MAX];    /* SB_TXQ_CAP buffers */
};

struct sb_sock {
	int fd;
	char local[SB_ADDR_MAX]; /* our address as host:port, for Via/From/Contact */
	size_t local_len;
	struct sb_txq tx;
};

/* Written only by the owning thread, with relaxed stores; the progress
 * line reads them while the run goes on. */
struct sb_counters {
	uint64_t sent;        /* measured queries that left */
	uint64_t received;    /* measured answers in time */
	uint64_t wrong;       /* ... of which differ from the expectation */
	uint64_t wrong_code;  /* status / SIP code differs */
	uint64_t wrong_dest;  /* same code, destinations / Contacts differ */
	uint64_t lost;        /* measured queries without answer within --timeout */
	uint64_t late;        /* answers after their timeout, or repeated */
	uint64_t malformed;   /* answers that do not parse, or name no query of ours */
	uint64_t send_errors; /* datagrams the kernel would not send */
	uint64_t refused;     /* ICMP port unreachable reported on the socket */
	uint64_t acks;        /* SIP ACKs sent */
	uint64_t all_sent;    /* every query, warmup included (progress line) */
	uint64_t all_received;
	uint64_t late_sends;  /* open loop: queries that left > 1 ms after their slot */
	uint64_t max_send_lag; /* ns */
};

struct sb_run;

struct sb_thread {
	unsigned idx;
	pthread_t tid;
	struct sb_run *run;
	const struct sb_opts *o;
	const struct sb_data *d;
	size_t q_first, q_n, q_next; /* this thread's share of the numbers */
	unsigned n_socks, next_sock;
	struct sb_sock sock[SB_MAX_SOCKETS];
	/* in flight */
	struct sb_slot *slots;
	uint32_t n_slots, mask;
	uint32_t *free_stack; /* closed loop */
	uint32_t n_free;
	uint64_t head;        /* open loop: oldest sequence maybe in flight */
	uint64_t seq;         /* queries sent (sequence of the next one) */
	uint64_t inflight;
	uint64_t measured_sent;
	uint64_t quota;       /* --count: measured queries to send; 0: by time */
	double rate;          /* open loop: this thread's queries/s */
	uint64_t n_warm;      /* open loop: queries (by their time) in the warmup */
	uint64_t n_stop;      /* open loop: queries whose time is before the end */
	uint64_t t_send_end;  /* when it stopped sending measured queries */
	uint64_t t_first_measured;
	uint64_t t_last_answer; /* latest measured answer */
	uint64_t next_scan;     /* closed loop: next timeout scan */
	uint64_t scan_ns;       /* ... every --timeout / 16, 1 to 50 ms */
	/* receive */
	struct mmsghdr rx[SB_MAX_BATCH];
	struct iovec rx_iov[SB_MAX_BATCH];
	uint8_t (*rx_buf)[SB_RX_MAX];
	void *arena;          /* native: protobuf-c decoding arena */
	unsigned wrong_reported;
	bool refused_reported;
	struct sb_counters c;
	struct sb_hist hist;  /* measured answers, ns */
	int rc;
	char err[256];
};

struct sb_run {
	const struct sb_opts *o;
	const struct sb_data *d;
	unsigned n_threads;
	struct sb_thread *th;
	pthread_barrier_t start;
	uint64_t t0;        /* traffic starts */
	uint64_t t_measure; /* t0 + warmup */
	uint64_t t_end;     /* t_measure + duration; 0 with --count */
	int stop;           /* atomic: SIGINT, or a thread failed */
	unsigned done;      /* atomic: threads finished */
};

uint64_t sb_now(void);
int sb_thread_setup(struct sb_thread *th, char *err, size_t errlen);
void sb_thread_teardown(struct sb_thread *th);
void *sb_thread_main(void *arg);

/* ---- protocols */

/*
 * SIP (sb_sip.c). Requests are built into out[cap] for query q; the branch
 * carries id. An ACK copies the To header value of the response (to, to_len).
 * Length, or -1 if it does not fit.
 */
int sb_sip_request(char *out, size_t cap, bool ack, const struct sb_data *d,
		   const struct sb_query *q, const char *target, const char *local,
		   size_t local_len, unsigned thread, uint64_t id, const char *to, size_t to_len);

struct sb_sip_resp {
	unsigned code;
	bool has_id;
	bool invite;       /* CSeq method INVITE */
	uint64_t id;
	const char *to;    /* the To header value */
	size_t to_len;
	unsigned n_contacts; /* may exceed SB_MAX_CONTACTS: only those are kept */
	const char *contact[SB_MAX_CONTACTS]; /* user@host:port spans */
	size_t contact_len[SB_MAX_CONTACTS];
};
/* 0, or -1 when it is not a SIP response. */
int sb_sip_parse(const char *buf, size_t len, struct sb_sip_resp *r);

enum sb_verdict { SB_RIGHT = 0, SB_WRONG_CODE, SB_WRONG_DEST };

/* Check r against e; when why is not NULL, describe a difference. */
enum sb_verdict sb_sip_check(const struct sb_sip_resp *r, const struct sb_data *d,
			     const struct sb_expect *e, char *why, size_t whylen);
/* The 302's Contact of a destination (user@host:port), as strowgerd
 * writes it, into out[cap]. Length or -1. */
int sb_sip_contact(char *out, size_t cap, const char *called, const char *address,
		   unsigned port, const char *uri);
/* The SIP code strowgerd answers for a decision (status, code, usable
 * destinations), as sip_respond() maps it. */
unsigned sb_sip_code(unsigned status, unsigned code, unsigned usable_dests);

/* Native (sb_native.c). */
/* Pre-encode q (without id) into d->nq. 0 or -1 with err. */
int sb_native_prepare(struct sb_data *d, struct sb_query *q, unsigned max_dest, char *err,
		      size_t errlen);
/* The datagram for query q with id. Length (never fails: bodies are
 * checked to fit at load). */
size_t sb_native_query(uint8_t *out, const struct sb_data *d, const struct sb_query *q,
		       uint64_t id);
void *sb_native_arena_new(void);
void sb_native_arena_free(void *arena);
/* Decode an answer in the arena (reset first). The message, or NULL. */
const void *sb_native_decode(void *arena, const uint8_t *buf, size_t len, uint64_t *id);
enum sb_verdict sb_native_check(const void *msg, const struct sb_data *d,
				const struct sb_expect *e, char *why, size_t whylen);
