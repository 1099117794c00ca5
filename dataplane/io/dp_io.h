#pragma once
/*
 * dp_io: the packet I/O backend interface. A backend moves UDP datagrams
 * between the network and a worker, in bursts; it knows nothing of SIP,
 * protobuf or routing. Front-ends see a request payload, its source address
 * and a reply buffer. Two backends: kernel UDP sockets (dp_io_sock.c, the
 * default that runs anywhere) and DPDK (dp_io_dpdk.c, see dp_io_dpdk.h).
 *
 * Each worker owns one queue; a queue is used by that worker only, so no
 * backend function needs locking.
 */
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

enum dp_service {
	DP_SVC_SIP = 0,    /* SIP redirect (UDP, default port 5060) */
	DP_SVC_NATIVE = 1, /* native protobuf query (UDP, default port 5070) */
	DP_SVC_COUNT
};

const char *dp_service_name(enum dp_service s);

#define DP_BURST 32
#define DP_PKT_MAX 16384 /* largest request accepted and reply built */
#define DP_MAX_LISTEN 8

/* One request, and the reply the worker writes for it. */
struct dp_pkt {
	const uint8_t *data; /* request payload */
	uint32_t len;
	uint8_t svc;                 /* enum dp_service */
	const struct sockaddr *peer; /* request source = reply destination */
	uint8_t *reply;              /* reply buffer, reply_cap bytes */
	uint32_t reply_cap;
	uint32_t reply_len; /* set by the worker; 0 = no reply */
	uint32_t cookie;    /* backend's own */
};

/* Backend-level counters, written by the owning worker only. Every member
 * is a uint64_t (summed as an array, with struct dp_counters). */
struct dp_io_counters {
	uint64_t rx_truncated; /* datagrams larger than DP_PKT_MAX, dropped (DPDK:
				* frames in more than one segment) */
	uint64_t tx_errors;    /* replies the backend could not send */
	/* DPDK backend only (zero on kernel sockets): the host it plays. */
	uint64_t rx_frames;     /* frames received from the port */
	uint64_t tx_frames;     /* frames sent: replies, fragments, ARP, ND, ICMP */
	uint64_t rx_not_mine;   /* for another MAC or IP address */
	uint64_t rx_bad;        /* malformed headers, bad checksums, bogus sources */
	uint64_t rx_fragments;  /* IP fragments: no reassembly, dropped */
	uint64_t rx_unhandled;  /* other ethertypes, IP protocols, ICMP types */
	uint64_t rx_no_service; /* UDP to a port no service listens on */
	uint64_t arp_in;        /* ARP requests and replies received */
	uint64_t arp_out;       /* ARP replies and requests (resolution) sent */
	uint64_t nd_in;         /* IPv6 neighbour solicitations and advertisements received */
	uint64_t nd_out;        /* neighbour advertisements and solicitations sent */
	uint64_t icmp_echo;     /* ICMP / ICMPv6 echo requests answered */
	uint64_t tx_fragments;  /* IP fragments sent for replies larger than the MTU */
	uint64_t tx_held;       /* frames held while their next hop was resolved */
	uint64_t tx_unresolved; /* held frames dropped: the next hop never answered */
};

struct dp_io_queue;

struct dp_io_ops {
	const char *name;
	/* Up to max requests into pkts; 0 when none is waiting. Requests and
	 * reply buffers stay valid until tx_burst(). */
	unsigned (*rx_burst)(struct dp_io_queue *q, struct dp_pkt *pkts, unsigned max);
	/* Send every pkts[i] with reply_len > 0, then release all n. */
	void (*tx_burst)(struct dp_io_queue *q, struct dp_pkt *pkts, unsigned n);
	/* Nothing to do: block up to timeout_ms or until traffic arrives. */
	void (*idle_wait)(struct dp_io_queue *q, int timeout_ms);
	void (*queue_free)(struct dp_io_queue *q);
};

/* A listening address for one service. */
struct dp_listen {
	enum dp_service svc;
	struct sockaddr_storage addr;
	socklen_t len;
	char text[80]; /* as the operator wrote it, normalised: "127.0.0.1:5060" */
};

/*
 * Parse "ADDR:PORT", "[V6]:PORT", "ADDR" (default port), ":PORT" or "PORT"
 * (all IPv4 addresses), "[V6]" or a bare IPv6 literal. 0 or -EINVAL with a
 * reason in err.
 */
int dp_listen_parse(const char *s, enum dp_service svc, uint16_t default_port,
		    struct dp_listen *out, char *err, size_t errlen);

/* ---- kernel UDP sockets ------------------------------------------------- */

extern const struct dp_io_ops dp_sock_ops;

/*
 * Fail early and clearly when an address is taken: our own sockets use
 * SO_REUSEPORT, which would otherwise silently share the port with another
 * process of the same user. 0 or -errno with the reason in err.
 */
int dp_sock_check_free(const struct dp_listen *l, char *err, size_t errlen);

/* One queue: a SO_REUSEPORT socket per listener, bound. NULL with err. */
struct dp_io_queue *dp_sock_queue_new(const struct dp_listen *ls, unsigned n,
				      struct dp_io_counters *ctr, char *err, size_t errlen);
