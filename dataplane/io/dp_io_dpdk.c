/*
 * DPDK backend: strowgerd as a small IP host on one DPDK port.
 *
 * Per worker one RX/TX queue pair (RSS spreads flows when the port can).
 * A worker's rx_burst polls its queue and sorts every frame:
 *   - ARP for our IPv4 address: answered in place (the request mbuf turned
 *     into the reply); ARP from a next hop we track refreshes it;
 *   - IPv6 neighbour solicitations for our addresses: a neighbour
 *     advertisement, built in place; advertisements refresh next hops;
 *   - ICMP and ICMPv6 echo requests: the echo reply, in place;
 *   - UDP to a SIP or native port: handed to the worker as a dp_pkt whose
 *     data points into the mbuf;
 *   - anything else: dropped and counted (no exception path to the kernel).
 * tx_burst turns each request mbuf into its reply: MACs, addresses and
 * ports swapped, lengths set, the payload copied in after the headers,
 * checksums by the port (when it offers IPv4/UDP checksum offload) or in
 * software; replies larger than the MTU leave as IP fragments.
 *
 * Next hop: a reply to a peer on our subnet (or an IPv6 link-local peer)
 * goes to the MAC the request came from; one from off the subnet goes to
 * the gateway, whose MAC comes from a small neighbour cache shared by all
 * queues (ARP request / neighbour solicitation when unknown or stale; the
 * replies that need it wait in a small per-queue hold list meanwhile).
 * The cache is read with one atomic 64-bit load per reply and no lock;
 * only frames from the wire write it.
 *
 * Threads: workers are dp_server's pthreads, not EAL lcores. Each registers
 * itself with rte_thread_register() on its first poll, so it gets an lcore
 * id and with it a mempool cache (rte_thread_unregister() runs from a
 * thread-specific destructor when it exits). Registration failing only
 * costs the cache: the mempool ring is multi-producer/multi-consumer.
 *
 * Idle: the dp_server loop calls idle_wait() after a run of empty polls;
 * it keeps polling (into a stash that the next rx_burst returns first),
 * spinning with rte_pause() for a while, then sleeping 20 us doubling to
 * 1 ms, so an idle server costs next to no CPU. --dpdk-busy-poll keeps it
 * spinning.
 */
#include "dp_io_dpdk.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_arp.h>
#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_pause.h>
#include <rte_udp.h>
#include <rte_version.h>

#include "dp_log.h"

#define NB_RXD 1024
#define NB_TXD 1024
#define POOL_CACHE 256
#define TXB_MAX 64               /* frames gathered before a forced flush */
#define HOLD_MAX 64              /* frames per queue waiting for a next hop */
#define HOLD_MS 3000             /* ... for at most this long */
#define NEIGH_REACHABLE_MS 30000 /* a confirmed MAC is used without asking again */
#define NEIGH_PROBE_MS 1000      /* at most one ARP request / NS per next hop per second */
#define NEIGH_MAX_PROBES 3       /* unanswered probes of a stale entry before it is dropped */
#define NEIGH_MAX 2              /* IPv4 and IPv6 gateway */
#define TX_RETRIES 32
#define IDLE_SPIN_POLLS 256
#define IDLE_SLEEP_MIN_NS 20000L
#define IDLE_SLEEP_MAX_NS 1000000L

#define ICMP6_ECHO_REQUEST 128
#define ICMP6_ECHO_REPLY 129
#define ND_NEIGHBOR_SOLICIT 135
#define ND_NEIGHBOR_ADVERT 136
#define ND_OPT_SLLA 1
#define ND_OPT_TLLA 2
#define NA_FLAG_SOLICITED 0x40
#define NA_FLAG_OVERRIDE 0x20

#define MAC_VALID (1ull << 63)

struct neigh {
	int family;
	uint8_t ip[16];     /* immutable after init */
	uint64_t mac_state; /* atomic: MAC in the low 48 bits, MAC_VALID */
	uint64_t confirmed; /* atomic: TSC of the last confirmation */
	uint64_t probed;    /* atomic: TSC of the last probe (CAS picks the prober) */
	uint32_t probes;    /* atomic: probes since the last confirmation */
};

struct svc_port {
	uint16_t port_be;
	uint8_t svc;
	uint8_t family;
	char text[80];
};

/* The one port this process drives; written by the control thread before
 * the workers start, then read-only except the neighbour entries. */
static struct {
	bool eal, configured, started, key_ok;
	uint16_t port;
	char name[RTE_ETH_NAME_MAX_LEN];
	char driver[64];
	struct rte_ether_addr mac;
	struct rte_mempool *pool;
	unsigned nq;
	uint16_t mtu;
	uint32_t room; /* data room of an mbuf after the headroom */
	bool tx_ip_csum, tx_udp_csum, rx_ip_csum, rx_l4_csum, rss, lsc;
	bool busy_poll;
	uint64_t hz;
	uint64_t reachable_tsc, probe_tsc, hold_tsc;

	bool has4;
	uint32_t a4, m4; /* network order */
	int gw4;         /* neighbour index or -1 */
	bool has6;
	uint8_t a6[16], ll6[16];
	unsigned p6;
	int gw6;

	struct svc_port lis[DP_MAX_LISTEN];
	unsigned n_lis;

	struct neigh neigh[NEIGH_MAX];
	unsigned n_neigh;
	uint64_t conflict_logged; /* atomic TSC */

	pthread_key_t key;
	FILE *log;
	char **eal_argv;
	int eal_argc;
	char *eal_buf;
} P = {.gw4 = -1, .gw6 = -1};

struct slot {
	struct rte_mbuf *m;
	uint16_t l2_len;
	uint8_t family;           /* AF_INET / AF_INET6 */
	uint8_t tos;              /* IPv4 TOS / IPv6 traffic class, kept on the reply */
	uint16_t sport, dport;    /* network order, of the request */
	uint8_t src[16], dst[16]; /* of the request; IPv4 in the first 4 bytes */
	struct rte_ether_addr smac;
};

struct held {
	struct rte_mbuf *m;
	uint64_t since;
	int neigh;
};

struct dp_io_queue {
	uint16_t qid;
	bool ready;
	struct dp_io_counters *ctr;
	uint16_t ip_id;
	uint32_t frag_id;
	unsigned n_stash;
	unsigned n_txb;
	unsigned n_held;
	struct rte_mbuf *stash[DP_BURST];
	struct rte_mbuf *rxf[DP_BURST];
	struct rte_mbuf *txb[TXB_MAX];
	struct held held[HOLD_MAX];
	struct slot slot[DP_BURST];
	struct sockaddr_storage peer[DP_BURST];
	uint8_t reply[DP_BURST][DP_PKT_MAX];
};

/* ---- small helpers ----------------------------------------------------------- */

#define CNT(q, f) __atomic_store_n(&(q)->ctr->f, (q)->ctr->f + 1, __ATOMIC_RELAXED)
#define CNT_N(q, f, n) __atomic_store_n(&(q)->ctr->f, (q)->ctr->f + (n), __ATOMIC_RELAXED)

static uint64_t ms_tsc(uint64_t ms)
{
	return P.hz / 1000 * ms;
}

static uint64_t mac_pack(const struct rte_ether_addr *a)
{
	uint64_t v = 0;
	memcpy(&v, a->addr_bytes, RTE_ETHER_ADDR_LEN);
	return v | MAC_VALID;
}

static void mac_unpack(uint64_t v, struct rte_ether_addr *a)
{
	memcpy(a->addr_bytes, &v, RTE_ETHER_ADDR_LEN);
}

static bool is_ll6(const uint8_t *a)
{
	return a[0] == 0xfe && (a[1] & 0xc0) == 0x80;
}

static bool prefix_eq6(const uint8_t *a, const uint8_t *b, unsigned plen)
{
	unsigned bytes = plen / 8, bits = plen % 8;
	if (memcmp(a, b, bytes))
		return false;
	if (!bits)
		return true;
	uint8_t m = (uint8_t)(0xff << (8 - bits));
	return (a[bytes] & m) == (b[bytes] & m);
}

static bool ours6(const uint8_t *a)
{
	return P.has6 && (!memcmp(a, P.a6, 16) || !memcmp(a, P.ll6, 16));
}

static bool onlink6(const uint8_t *a)
{
	return is_ll6(a) || prefix_eq6(a, P.a6, P.p6);
}

static bool unspecified6(const uint8_t *a)
{
	static const uint8_t z[16];
	return !memcmp(a, z, 16);
}

/* A source we would answer: unicast, not ours, not loopback. */
static bool sane_src4(uint32_t s)
{
	uint32_t h = rte_be_to_cpu_32(s);
	return (h >> 24) != 0 && h != 0xffffffffu && (h >> 28) != 0xe && (h >> 24) != 127 &&
	       s != P.a4 &&
	       (rte_be_to_cpu_32(P.m4) >= 0xfffffffeu || (s | P.m4) != 0xffffffffu); /* broadcast */
}

static bool sane_src6(const uint8_t *a)
{
	static const uint8_t lo[16] = {[15] = 1};
	return a[0] != 0xff && !unspecified6(a) && memcmp(a, lo, 16) && !ours6(a);
}

/* One's complement sum of the pseudo header (not folded, not inverted). */
static uint32_t phdr_sum(int family, const uint8_t *src, const uint8_t *dst, uint32_t l4len,
			 uint8_t proto)
{
	uint32_t sum;
	if (family == AF_INET) {
		uint8_t ph[12];
		memcpy(ph, src, 4);
		memcpy(ph + 4, dst, 4);
		ph[8] = 0;
		ph[9] = proto;
		ph[10] = (uint8_t)(l4len >> 8);
		ph[11] = (uint8_t)l4len;
		sum = rte_raw_cksum(ph, sizeof(ph));
	} else {
		uint8_t ph[40];
		memcpy(ph, src, 16);
		memcpy(ph + 16, dst, 16);
		ph[32] = (uint8_t)(l4len >> 24);
		ph[33] = (uint8_t)(l4len >> 16);
		ph[34] = (uint8_t)(l4len >> 8);
		ph[35] = (uint8_t)l4len;
		ph[36] = ph[37] = ph[38] = 0;
		ph[39] = proto;
		sum = rte_raw_cksum(ph, sizeof(ph));
	}
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* Checksum field value for an L4 segment (its checksum field zero). */
static uint16_t l4_cksum(int family, const uint8_t *src, const uint8_t *dst, const void *l4,
			 uint32_t len, uint8_t proto)
{
	uint16_t c =
		(uint16_t)~fold(phdr_sum(family, src, dst, len, proto) + rte_raw_cksum(l4, len));
	return c == 0 ? 0xffff : c;
}

static bool l4_cksum_ok(int family, const uint8_t *src, const uint8_t *dst, const void *l4,
			uint32_t len, uint8_t proto)
{
	return fold(phdr_sum(family, src, dst, len, proto) + rte_raw_cksum(l4, len)) == 0xffff;
}

static void solicited_node(const uint8_t *a, uint8_t *out)
{
	static const uint8_t pfx[13] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff};
	memcpy(out, pfx, 13);
	memcpy(out + 13, a + 13, 3);
}

static void mcast_mac6(const uint8_t *ip, struct rte_ether_addr *mac)
{
	mac->addr_bytes[0] = 0x33;
	mac->addr_bytes[1] = 0x33;
	memcpy(mac->addr_bytes + 2, ip + 12, 4);
}

/* Lower case, like ip(8). */
static const char *fmt_mac(const struct rte_ether_addr *m, char *buf, size_t len)
{
	const uint8_t *b = m->addr_bytes;
	snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5]);
	return buf;
}

static const char *fmt_ip(int family, const void *a, char *buf, size_t len)
{
	if (!inet_ntop(family, a, buf, (socklen_t)len))
		snprintf(buf, len, "?");
	return buf;
}

/* ---- EAL logs into strowgerd's log ------------------------------------------- */

static __thread char log_line[1024];
static __thread size_t log_len;

static void log_flush_line(void)
{
	int lvl = rte_log_cur_msg_loglevel();
	enum dp_log_level l = lvl <= (int)RTE_LOG_ERR       ? DP_LOG_ERR
			      : lvl <= (int)RTE_LOG_WARNING ? DP_LOG_WARN
			      : lvl <= (int)RTE_LOG_INFO    ? DP_LOG_INFO
							    : DP_LOG_DEBUG;
	while (log_len && (log_line[log_len - 1] == '\n' || log_line[log_len - 1] == ' '))
		log_len--;
	log_line[log_len] = '\0';
	if (log_len)
		dp_log(l, "dpdk: %s", log_line);
	log_len = 0;
}

static ssize_t log_write(void *cookie, const char *buf, size_t size)
{
	for (size_t i = 0; i < size; i++) {
		if (buf[i] == '\n' || log_len + 1 >= sizeof(log_line)) {
			log_flush_line();
			if (buf[i] == '\n')
				continue;
		}
		log_line[log_len++] = buf[i];
	}
	return (ssize_t)size;
}

/* ---- counters ------------------------------------------------------------------- */

void dp_dpdk_log_counters(const struct dp_io_counters *c)
{
	dp_log(DP_LOG_INFO,
	       "dpdk: rx_frames=%llu tx_frames=%llu rx_not_mine=%llu rx_bad=%llu "
	       "rx_fragments=%llu rx_unhandled=%llu rx_no_service=%llu rx_truncated=%llu "
	       "arp_in=%llu arp_out=%llu nd_in=%llu nd_out=%llu icmp_echo=%llu "
	       "tx_fragments=%llu tx_held=%llu tx_unresolved=%llu tx_errors=%llu",
	       (unsigned long long)c->rx_frames, (unsigned long long)c->tx_frames,
	       (unsigned long long)c->rx_not_mine, (unsigned long long)c->rx_bad,
	       (unsigned long long)c->rx_fragments, (unsigned long long)c->rx_unhandled,
	       (unsigned long long)c->rx_no_service, (unsigned long long)c->rx_truncated,
	       (unsigned long long)c->arp_in, (unsigned long long)c->arp_out,
	       (unsigned long long)c->nd_in, (unsigned long long)c->nd_out,
	       (unsigned long long)c->icmp_echo, (unsigned long long)c->tx_fragments,
	       (unsigned long long)c->tx_held, (unsigned long long)c->tx_unresolved,
	       (unsigned long long)c->tx_errors);
}

/* ---- TX ------------------------------------------------------------------------ */

static void tx_flush(struct dp_io_queue *q)
{
	unsigned n = q->n_txb, sent = 0, tries = 0;
	q->n_txb = 0;
	if (!n)
		return;
	if (P.tx_ip_csum || P.tx_udp_csum) {
		/* Whatever the device needs for its offloads (pseudo-header
		 * forms differ between NICs); a frame it refuses is dropped. */
		unsigned ok = 0;
		while (ok < n) {
			ok += rte_eth_tx_prepare(P.port, q->qid, q->txb + ok, (uint16_t)(n - ok));
			if (ok < n) {
				rte_pktmbuf_free(q->txb[ok]);
				CNT(q, tx_errors);
				memmove(q->txb + ok, q->txb + ok + 1,
					(n - ok - 1) * sizeof(q->txb[0]));
				n--;
			}
		}
	}
	while (sent < n) {
		uint16_t k = rte_eth_tx_burst(P.port, q->qid, q->txb + sent, (uint16_t)(n - sent));
		sent += k;
		if (k == 0) {
			if (++tries > TX_RETRIES)
				break;
			rte_pause();
		}
	}
	if (sent)
		CNT_N(q, tx_frames, sent);
	for (unsigned i = sent; i < n; i++) {
		rte_pktmbuf_free(q->txb[i]);
		CNT(q, tx_errors);
	}
}

static void tx_push(struct dp_io_queue *q, struct rte_mbuf *m)
{
	q->txb[q->n_txb++] = m;
	if (q->n_txb == TXB_MAX)
		tx_flush(q);
}

/* A mbuf about to be sent as it is, no offload asked. */
static void mbuf_plain(struct rte_mbuf *m, uint32_t len)
{
	m->ol_flags &= RTE_MBUF_F_EXTERNAL;
	m->data_len = (uint16_t)len;
	m->pkt_len = len;
}

/* Ethernet header (with the VLAN tag of tmpl, if it has one) for a frame
 * we originate. Returns the L2 length. */
static uint16_t l2_build(uint8_t *b, const struct rte_ether_addr *dst, const uint8_t *tmpl,
			 uint16_t tmpl_l2, uint16_t ethertype)
{
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)b;
	eth->dst_addr = *dst;
	eth->src_addr = P.mac;
	if (tmpl && tmpl_l2 == sizeof(*eth) + sizeof(struct rte_vlan_hdr)) {
		eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_VLAN);
		struct rte_vlan_hdr *v = (struct rte_vlan_hdr *)(eth + 1);
		v->vlan_tci = ((const struct rte_vlan_hdr *)(tmpl + sizeof(*eth)))->vlan_tci;
		v->eth_proto = rte_cpu_to_be_16(ethertype);
		return (uint16_t)(sizeof(*eth) + sizeof(*v));
	}
	eth->ether_type = rte_cpu_to_be_16(ethertype);
	return sizeof(*eth);
}

static void pad_min(struct rte_mbuf *m, uint8_t *b, uint32_t *len)
{
	/* The minimum frame (without FCS): NICs pad by themselves, software
	 * ports (af_packet, pcap) do not. */
	if (*len < RTE_ETHER_MIN_LEN - RTE_ETHER_CRC_LEN) {
		memset(b + *len, 0, RTE_ETHER_MIN_LEN - RTE_ETHER_CRC_LEN - *len);
		*len = RTE_ETHER_MIN_LEN - RTE_ETHER_CRC_LEN;
	}
	mbuf_plain(m, *len);
}

/* ARP request from us: target tip; sip = tip is a gratuitous announcement. */
static void send_arp_request(struct dp_io_queue *q, uint32_t tip, const uint8_t *tmpl,
			     uint16_t tmpl_l2)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(P.pool);
	if (!m) {
		CNT(q, tx_errors);
		return;
	}
	uint8_t *b = rte_pktmbuf_mtod(m, uint8_t *);
	struct rte_ether_addr bcast;
	memset(&bcast, 0xff, sizeof(bcast));
	uint16_t l2 = l2_build(b, &bcast, tmpl, tmpl_l2, RTE_ETHER_TYPE_ARP);
	struct rte_arp_hdr *a = (struct rte_arp_hdr *)(b + l2);
	a->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
	a->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	a->arp_hlen = RTE_ETHER_ADDR_LEN;
	a->arp_plen = 4;
	a->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REQUEST);
	a->arp_data.arp_sha = P.mac;
	a->arp_data.arp_sip = P.a4;
	memset(&a->arp_data.arp_tha, 0, sizeof(a->arp_data.arp_tha));
	a->arp_data.arp_tip = tip;
	uint32_t len = l2 + (uint32_t)sizeof(*a);
	pad_min(m, b, &len);
	CNT(q, arp_out);
	tx_push(q, m);
}

/* ICMPv6 neighbour message (NS or NA) with a link-layer address option. */
static void send_nd(struct dp_io_queue *q, uint8_t type, uint8_t flags, const uint8_t *src,
		    const uint8_t *dst, const struct rte_ether_addr *dmac, const uint8_t *target,
		    const uint8_t *tmpl, uint16_t tmpl_l2)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(P.pool);
	if (!m) {
		CNT(q, tx_errors);
		return;
	}
	uint8_t *b = rte_pktmbuf_mtod(m, uint8_t *);
	uint16_t l2 = l2_build(b, dmac, tmpl, tmpl_l2, RTE_ETHER_TYPE_IPV6);
	struct rte_ipv6_hdr *ip = (struct rte_ipv6_hdr *)(b + l2);
	uint8_t *icmp = (uint8_t *)(ip + 1);
	ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
	ip->payload_len = rte_cpu_to_be_16(32);
	ip->proto = IPPROTO_ICMPV6;
	ip->hop_limits = 255;
	memcpy(ip->src_addr, src, 16);
	memcpy(ip->dst_addr, dst, 16);
	memset(icmp, 0, 32);
	icmp[0] = type;
	icmp[4] = flags;
	memcpy(icmp + 8, target, 16);
	icmp[24] = type == ND_NEIGHBOR_SOLICIT ? ND_OPT_SLLA : ND_OPT_TLLA;
	icmp[25] = 1;
	memcpy(icmp + 26, P.mac.addr_bytes, RTE_ETHER_ADDR_LEN);
	uint16_t c = l4_cksum(AF_INET6, src, dst, icmp, 32, IPPROTO_ICMPV6);
	memcpy(icmp + 2, &c, 2);
	uint32_t len = l2 + 40u + 32u;
	pad_min(m, b, &len);
	CNT(q, nd_out);
	tx_push(q, m);
}

/* ---- neighbours ------------------------------------------------------------------ */

static void neigh_confirm(int family, const void *ip, const struct rte_ether_addr *mac)
{
	for (unsigned i = 0; i < P.n_neigh; i++) {
		struct neigh *n = &P.neigh[i];
		if (n->family != family || memcmp(n->ip, ip, family == AF_INET ? 4 : 16))
			continue;
		uint64_t v = mac_pack(mac);
		uint64_t old = __atomic_load_n(&n->mac_state, __ATOMIC_RELAXED);
		__atomic_store_n(&n->confirmed, rte_rdtsc(), __ATOMIC_RELAXED);
		__atomic_store_n(&n->probes, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&n->mac_state, v, __ATOMIC_RELEASE);
		if (old != v) {
			char a[INET6_ADDRSTRLEN], m[RTE_ETHER_ADDR_FMT_SIZE];
			fmt_mac(mac, m, sizeof(m));
			dp_log(DP_LOG_INFO, "dpdk: next hop %s is at %s",
			       fmt_ip(family, ip, a, sizeof(a)), m);
		}
	}
}

/* Ask for n's MAC, at most once per NEIGH_PROBE_MS across all queues. */
static void neigh_probe(struct dp_io_queue *q, struct neigh *n, const uint8_t *tmpl,
			uint16_t tmpl_l2)
{
	uint64_t now = rte_rdtsc();
	uint64_t last = __atomic_load_n(&n->probed, __ATOMIC_RELAXED);
	if (last && now - last < P.probe_tsc)
		return;
	if (!__atomic_compare_exchange_n(&n->probed, &last, now, false, __ATOMIC_RELAXED,
					 __ATOMIC_RELAXED))
		return;
	__atomic_fetch_add(&n->probes, 1, __ATOMIC_RELAXED);
	if (n->family == AF_INET) {
		uint32_t tip;
		memcpy(&tip, n->ip, 4);
		send_arp_request(q, tip, tmpl, tmpl_l2);
	} else {
		uint8_t dst[16];
		struct rte_ether_addr dmac;
		solicited_node(n->ip, dst);
		mcast_mac6(dst, &dmac);
		send_nd(q, ND_NEIGHBOR_SOLICIT, 0, is_ll6(n->ip) ? P.ll6 : P.a6, dst, &dmac, n->ip,
			tmpl, tmpl_l2);
	}
}

/* The MAC to send to n: true with *mac, or false (unknown; probed). A
 * stale entry is still used while it is asked again. */
static bool neigh_mac(struct dp_io_queue *q, struct neigh *n, struct rte_ether_addr *mac,
		      const uint8_t *tmpl, uint16_t tmpl_l2)
{
	uint64_t v = __atomic_load_n(&n->mac_state, __ATOMIC_ACQUIRE);
	if (v & MAC_VALID) {
		uint64_t age = rte_rdtsc() - __atomic_load_n(&n->confirmed, __ATOMIC_RELAXED);
		if (age <= P.reachable_tsc) {
			mac_unpack(v, mac);
			return true;
		}
		if (__atomic_load_n(&n->probes, __ATOMIC_RELAXED) < NEIGH_MAX_PROBES ||
		    age <= P.reachable_tsc + NEIGH_MAX_PROBES * P.probe_tsc) {
			neigh_probe(q, n, tmpl, tmpl_l2);
			mac_unpack(v, mac);
			return true;
		}
		/* Gone quiet: forget it, hold frames until it answers. */
		__atomic_compare_exchange_n(&n->mac_state, &v, 0, false, __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED);
	}
	neigh_probe(q, n, tmpl, tmpl_l2);
	return false;
}

/*
 * Send m (a whole frame, Ethernet destination already the MAC of the
 * request's source) to the IP destination dst: on our subnet as it is,
 * else to the gateway's MAC, or held until that is known.
 */
static void route_out(struct dp_io_queue *q, struct rte_mbuf *m, int family, const uint8_t *dst,
		      uint16_t l2_len)
{
	int gi = -1;
	if (family == AF_INET) {
		uint32_t d;
		memcpy(&d, dst, 4);
		if ((d ^ P.a4) & P.m4)
			gi = P.gw4;
	} else if (!onlink6(dst)) {
		gi = P.gw6;
	}
	if (gi < 0) {
		tx_push(q, m);
		return;
	}
	uint8_t *b = rte_pktmbuf_mtod(m, uint8_t *);
	struct rte_ether_addr mac;
	if (neigh_mac(q, &P.neigh[gi], &mac, b, l2_len)) {
		((struct rte_ether_hdr *)b)->dst_addr = mac;
		tx_push(q, m);
		return;
	}
	if (q->n_held == HOLD_MAX) {
		rte_pktmbuf_free(m);
		CNT(q, tx_unresolved);
		return;
	}
	m->l2_len = l2_len; /* for the probe's VLAN tag */
	q->held[q->n_held++] = (struct held){.m = m, .since = rte_rdtsc(), .neigh = gi};
	CNT(q, tx_held);
}

/* Held frames: send the ones whose next hop is known, drop the expired. */
static void housekeeping(struct dp_io_queue *q)
{
	uint64_t now = rte_rdtsc();
	unsigned k = 0;
	for (unsigned i = 0; i < q->n_held; i++) {
		struct held *h = &q->held[i];
		struct neigh *n = &P.neigh[h->neigh];
		uint64_t v = __atomic_load_n(&n->mac_state, __ATOMIC_ACQUIRE);
		uint8_t *b = rte_pktmbuf_mtod(h->m, uint8_t *);
		if (v & MAC_VALID) {
			mac_unpack(v, &((struct rte_ether_hdr *)b)->dst_addr);
			tx_push(q, h->m);
		} else if (now - h->since > P.hold_tsc) {
			rte_pktmbuf_free(h->m);
			CNT(q, tx_unresolved);
		} else {
			neigh_probe(q, n, b, h->m->l2_len);
			q->held[k++] = *h;
		}
	}
	q->n_held = k;
	tx_flush(q);
}

/* ---- RX: the host ----------------------------------------------------------------- */

static void drop(struct rte_mbuf *m)
{
	rte_pktmbuf_free(m);
}

static void rx_arp(struct dp_io_queue *q, struct rte_mbuf *m, uint8_t *b, uint32_t len, uint16_t l2)
{
	CNT(q, arp_in);
	if (len < l2 + sizeof(struct rte_arp_hdr) || !P.has4) {
		if (len < l2 + sizeof(struct rte_arp_hdr))
			CNT(q, rx_bad);
		else
			CNT(q, rx_not_mine);
		drop(m);
		return;
	}
	struct rte_arp_hdr *a = (struct rte_arp_hdr *)(b + l2);
	if (a->arp_hardware != rte_cpu_to_be_16(RTE_ARP_HRD_ETHER) ||
	    a->arp_protocol != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) ||
	    a->arp_hlen != RTE_ETHER_ADDR_LEN || a->arp_plen != 4) {
		CNT(q, rx_unhandled);
		drop(m);
		return;
	}
	struct rte_arp_ipv4 *d = &a->arp_data;
	uint16_t op = rte_be_to_cpu_16(a->arp_opcode);
	if (d->arp_sip == P.a4 && !rte_is_same_ether_addr(&d->arp_sha, &P.mac)) {
		uint64_t now = rte_rdtsc(),
			 last = __atomic_load_n(&P.conflict_logged, __ATOMIC_RELAXED);
		if (!last || now - last > ms_tsc(10000)) {
			char mac[RTE_ETHER_ADDR_FMT_SIZE], ip[INET_ADDRSTRLEN];
			__atomic_store_n(&P.conflict_logged, now, __ATOMIC_RELAXED);
			fmt_mac(&d->arp_sha, mac, sizeof(mac));
			dp_log(DP_LOG_WARN, "dpdk: address conflict: %s also claimed by %s",
			       fmt_ip(AF_INET, &P.a4, ip, sizeof(ip)), mac);
		}
	}
	if (d->arp_sip && rte_is_unicast_ether_addr(&d->arp_sha))
		neigh_confirm(AF_INET, &d->arp_sip, &d->arp_sha); /* only next hops we track */
	if (op != RTE_ARP_OP_REQUEST || d->arp_tip != P.a4) {
		drop(m);
		return;
	}
	/* The request becomes the reply. */
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)b;
	struct rte_ether_addr asker = d->arp_sha;
	eth->dst_addr = eth->src_addr;
	eth->src_addr = P.mac;
	a->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REPLY);
	d->arp_tha = asker;
	d->arp_tip = d->arp_sip;
	d->arp_sha = P.mac;
	d->arp_sip = P.a4;
	uint32_t out = l2 + (uint32_t)sizeof(*a);
	pad_min(m, b, &out);
	CNT(q, arp_out);
	tx_push(q, m);
}

static bool rx_l4_ok(const struct rte_mbuf *m, int family, const uint8_t *src, const uint8_t *dst,
		     const void *l4, uint32_t len)
{
	if (P.rx_l4_csum) {
		uint64_t f = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;
		if (f == RTE_MBUF_F_RX_L4_CKSUM_GOOD)
			return true;
		if (f == RTE_MBUF_F_RX_L4_CKSUM_BAD)
			return false;
	}
	return l4_cksum_ok(family, src, dst, l4, len, IPPROTO_UDP);
}

static int svc_of(uint16_t port_be, int family)
{
	for (unsigned i = 0; i < P.n_lis; i++)
		if (P.lis[i].port_be == port_be && P.lis[i].family == family)
			return P.lis[i].svc;
	return -1;
}

/* A UDP datagram for us: a request for the worker, or dropped. */
static bool rx_udp(struct dp_io_queue *q, struct rte_mbuf *m, uint8_t *b, uint16_t l2, int family,
		   const uint8_t *src, const uint8_t *dst, uint8_t tos, uint8_t *l4, uint32_t l4len,
		   unsigned n, struct dp_pkt *p)
{
	if (l4len < sizeof(struct rte_udp_hdr)) {
		CNT(q, rx_bad);
		drop(m);
		return false;
	}
	struct rte_udp_hdr *u = (struct rte_udp_hdr *)l4;
	uint32_t ulen = rte_be_to_cpu_16(u->dgram_len);
	if (ulen < sizeof(*u) || ulen > l4len ||
	    ((family == AF_INET6 || u->dgram_cksum) && !rx_l4_ok(m, family, src, dst, l4, ulen))) {
		CNT(q, rx_bad);
		drop(m);
		return false;
	}
	int svc = svc_of(u->dst_port, family);
	if (svc < 0) {
		CNT(q, rx_no_service);
		drop(m);
		return false;
	}
	struct slot *s = &q->slot[n];
	s->m = m;
	s->l2_len = l2;
	s->family = (uint8_t)family;
	s->tos = tos & 0xfc; /* DSCP kept, ECN not (we do not do ECN) */
	s->sport = u->src_port;
	s->dport = u->dst_port;
	memcpy(s->src, src, family == AF_INET ? 4 : 16);
	memcpy(s->dst, dst, family == AF_INET ? 4 : 16);
	s->smac = ((struct rte_ether_hdr *)b)->src_addr;
	if (family == AF_INET) {
		struct sockaddr_in *sa = (struct sockaddr_in *)&q->peer[n];
		memset(sa, 0, sizeof(*sa));
		sa->sin_family = AF_INET;
		sa->sin_port = u->src_port;
		memcpy(&sa->sin_addr, src, 4);
	} else {
		struct sockaddr_in6 *sa = (struct sockaddr_in6 *)&q->peer[n];
		memset(sa, 0, sizeof(*sa));
		sa->sin6_family = AF_INET6;
		sa->sin6_port = u->src_port;
		memcpy(&sa->sin6_addr, src, 16);
	}
	p->data = l4 + sizeof(*u);
	p->len = ulen - (uint32_t)sizeof(*u);
	p->svc = (uint8_t)svc;
	p->peer = (const struct sockaddr *)&q->peer[n];
	p->reply = q->reply[n];
	p->reply_cap = DP_PKT_MAX;
	p->reply_len = 0;
	p->cookie = n;
	return true;
}

static bool rx_ipv4(struct dp_io_queue *q, struct rte_mbuf *m, uint8_t *b, uint32_t len,
		    uint16_t l2, bool to_me, unsigned n, struct dp_pkt *p)
{
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(b + l2);
	if (len < l2 + sizeof(*ip) || (ip->version_ihl >> 4) != 4 || (ip->version_ihl & 15) < 5) {
		CNT(q, rx_bad);
		drop(m);
		return false;
	}
	uint32_t hl = (ip->version_ihl & 15) * 4u, tot = rte_be_to_cpu_16(ip->total_length);
	if (tot < hl || l2 + tot > len) {
		CNT(q, rx_bad);
		drop(m);
		return false;
	}
	if (!P.has4 || !to_me || ip->dst_addr != P.a4) {
		CNT(q, rx_not_mine);
		drop(m);
		return false;
	}
	bool hdr_ok;
	uint64_t f = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;
	if (P.rx_ip_csum && f == RTE_MBUF_F_RX_IP_CKSUM_GOOD)
		hdr_ok = true;
	else if (P.rx_ip_csum && f == RTE_MBUF_F_RX_IP_CKSUM_BAD)
		hdr_ok = false;
	else
		hdr_ok = rte_raw_cksum(ip, hl) == 0xffff;
	if (!hdr_ok || !sane_src4(ip->src_addr)) {
		CNT(q, rx_bad);
		drop(m);
		return false;
	}
	if (ip->fragment_offset &
	    rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) {
		CNT(q, rx_fragments);
		drop(m);
		return false;
	}
	uint8_t *l4 = (uint8_t *)ip + hl;
	uint32_t l4len = tot - hl;
	if (ip->next_proto_id == IPPROTO_UDP)
		return rx_udp(q, m, b, l2, AF_INET, (const uint8_t *)&ip->src_addr,
			      (const uint8_t *)&ip->dst_addr, ip->type_of_service, l4, l4len, n, p);
	if (ip->next_proto_id != IPPROTO_ICMP || hl != sizeof(*ip) ||
	    l4len < sizeof(struct rte_icmp_hdr) ||
	    ((struct rte_icmp_hdr *)l4)->icmp_type != RTE_IP_ICMP_ECHO_REQUEST) {
		CNT(q, rx_unhandled);
		drop(m);
		return false;
	}
	if (rte_raw_cksum(l4, l4len) != 0xffff) {
		CNT(q, rx_bad);
		drop(m);
		return false;
	}
	/* Echo reply, in place. */
	struct rte_icmp_hdr *ic = (struct rte_icmp_hdr *)l4;
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)b;
	eth->dst_addr = eth->src_addr;
	eth->src_addr = P.mac;
	ip->dst_addr = ip->src_addr;
	ip->src_addr = P.a4;
	ip->time_to_live = 64;
	ip->fragment_offset = 0;
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	ic->icmp_type = RTE_IP_ICMP_ECHO_REPLY;
	ic->icmp_cksum = 0;
	ic->icmp_cksum = (uint16_t)~rte_raw_cksum(ic, l4len);
	uint32_t out = l2 + tot;
	pad_min(m, b, &out);
	CNT(q, icmp_echo);
	route_out(q, m, AF_INET, (const uint8_t *)&ip->dst_addr, l2);
	return false;
}

static void rx_nd(struct dp_io_queue *q, struct rte_mbuf *m, uint8_t *b, uint16_t l2,
		  struct rte_ipv6_hdr *ip, uint8_t *icmp, uint32_t ilen)
{
	CNT(q, nd_in);
	const uint8_t *target = icmp + 8;
	if (ip->hop_limits != 255 || icmp[1] != 0 || ilen < 24) {
		CNT(q, rx_bad);
		drop(m);
		return;
	}
	/* Link-layer address option, if any (source for NS, target for NA). */
	const uint8_t *lla = NULL;
	for (uint32_t o = 24; o + 2 <= ilen;) {
		uint32_t ol = icmp[o + 1] * 8u;
		if (ol == 0 || o + ol > ilen) {
			CNT(q, rx_bad);
			{
				drop(m);
				return;
			}
		}
		if (ol >= 8 &&
		    icmp[o] == (icmp[0] == ND_NEIGHBOR_SOLICIT ? ND_OPT_SLLA : ND_OPT_TLLA))
			lla = icmp + o + 2;
		o += ol;
	}
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)b;
	if (icmp[0] == ND_NEIGHBOR_ADVERT) {
		struct rte_ether_addr mac;
		memcpy(mac.addr_bytes, lla ? lla : eth->src_addr.addr_bytes, RTE_ETHER_ADDR_LEN);
		if (rte_is_unicast_ether_addr(&mac))
			neigh_confirm(AF_INET6, target, &mac);
		drop(m);
		return;
	}
	bool dad = unspecified6(ip->src_addr);
	if (lla && !dad) {
		struct rte_ether_addr mac;
		memcpy(mac.addr_bytes, lla, RTE_ETHER_ADDR_LEN);
		if (rte_is_unicast_ether_addr(&mac))
			neigh_confirm(AF_INET6, ip->src_addr, &mac);
	}
	if (!ours6(target) || (!dad && ip->src_addr[0] == 0xff)) {
		drop(m);
		return;
	}
	/* The solicitation becomes the advertisement. */
	uint8_t tgt[16], asker[16];
	memcpy(tgt, target, 16);
	memcpy(asker, ip->src_addr, 16);
	if (dad) {
		static const uint8_t all_nodes[16] = {0xff, 2, [15] = 1};
		memcpy(asker, all_nodes, 16);
		mcast_mac6(all_nodes, &eth->dst_addr);
	} else if (lla) {
		memcpy(eth->dst_addr.addr_bytes, lla, RTE_ETHER_ADDR_LEN);
	} else {
		eth->dst_addr = eth->src_addr;
	}
	eth->src_addr = P.mac;
	ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
	ip->payload_len = rte_cpu_to_be_16(32);
	ip->proto = IPPROTO_ICMPV6;
	ip->hop_limits = 255;
	memcpy(ip->src_addr, tgt, 16);
	memcpy(ip->dst_addr, asker, 16);
	icmp = (uint8_t *)(ip + 1);
	memset(icmp, 0, 32);
	icmp[0] = ND_NEIGHBOR_ADVERT;
	icmp[4] = (uint8_t)((dad ? 0 : NA_FLAG_SOLICITED) | NA_FLAG_OVERRIDE);
	memcpy(icmp + 8, tgt, 16);
	icmp[24] = ND_OPT_TLLA;
	icmp[25] = 1;
	memcpy(icmp + 26, P.mac.addr_bytes, RTE_ETHER_ADDR_LEN);
	uint16_t c = l4_cksum(AF_INET6, tgt, asker, icmp, 32, IPPROTO_ICMPV6);
	memcpy(icmp + 2, &c, 2);
	uint32_t out = l2 + 40u + 32u;
	pad_min(m, b, &out);
	CNT(q, nd_out);
	tx_push(q, m);
}

static bool rx_ipv6(struct dp_io_queue *q, struct rte_mbuf *m, uint8_t *b, uint32_t len,
		    uint16_t l2, bool to_me, unsigned n, struct dp_pkt *p)
{
	struct rte_ipv6_hdr *ip = (struct rte_ipv6_hdr *)(b + l2);
	if (len < l2 + sizeof(*ip) || (rte_be_to_cpu_32(ip->vtc_flow) >> 28) != 6) {
		CNT(q, rx_bad);
		drop(m);
		return false;
	}
	uint32_t plen = rte_be_to_cpu_16(ip->payload_len);
	if (l2 + sizeof(*ip) + plen > len) {
		CNT(q, rx_bad);
		drop(m);
		return false;
	}
	if (!P.has6) {
		CNT(q, rx_not_mine);
		drop(m);
		return false;
	}
	/* Skip hop-by-hop, destination options and spent routing headers. */
	uint8_t nh = ip->proto;
	uint32_t off = 0;
	uint8_t *pl = (uint8_t *)(ip + 1);
	while (nh == IPPROTO_HOPOPTS || nh == IPPROTO_DSTOPTS || nh == IPPROTO_ROUTING ||
	       nh == IPPROTO_FRAGMENT) {
		if (nh == IPPROTO_FRAGMENT) {
			CNT(q, rx_fragments);
			drop(m);
			return false;
		}
		if (off + 8 > plen || off + (pl[off + 1] + 1u) * 8 > plen ||
		    (nh == IPPROTO_ROUTING && pl[off + 3] != 0)) {
			if (nh == IPPROTO_ROUTING && off + 8 <= plen)
				CNT(q, rx_unhandled);
			else
				CNT(q, rx_bad);
			drop(m);
			return false;
		}
		nh = pl[off];
		off += (pl[off + 1] + 1u) * 8;
	}
	uint8_t *l4 = pl + off;
	uint32_t l4len = plen - off;
	bool mcast_dst = ip->dst_addr[0] == 0xff;

	if (nh == IPPROTO_ICMPV6 && l4len >= 4 &&
	    (l4[0] == ND_NEIGHBOR_SOLICIT || l4[0] == ND_NEIGHBOR_ADVERT)) {
		if (!(ours6(ip->dst_addr) || mcast_dst) || off ||
		    !l4_cksum_ok(AF_INET6, ip->src_addr, ip->dst_addr, l4, l4len, IPPROTO_ICMPV6)) {
			if (off)
				CNT(q, rx_unhandled);
			else if (ours6(ip->dst_addr) || mcast_dst)
				CNT(q, rx_bad);
			else
				CNT(q, rx_not_mine);
			drop(m);
			return false;
		}
		rx_nd(q, m, b, l2, ip, l4, l4len);
		return false;
	}
	if (!to_me || !ours6(ip->dst_addr)) {
		if (mcast_dst)
			CNT(q, rx_unhandled);
		else
			CNT(q, rx_not_mine);
		drop(m);
		return false;
	}
	if (!sane_src6(ip->src_addr)) {
		CNT(q, rx_bad);
		drop(m);
		return false;
	}
	uint8_t tc = (uint8_t)(rte_be_to_cpu_32(ip->vtc_flow) >> 20);
	if (nh == IPPROTO_UDP)
		return rx_udp(q, m, b, l2, AF_INET6, ip->src_addr, ip->dst_addr, tc, l4, l4len, n,
			      p);
	if (nh != IPPROTO_ICMPV6 || l4len < 8 || l4[0] != ICMP6_ECHO_REQUEST || off) {
		CNT(q, rx_unhandled);
		drop(m);
		return false;
	}
	if (!l4_cksum_ok(AF_INET6, ip->src_addr, ip->dst_addr, l4, l4len, IPPROTO_ICMPV6)) {
		CNT(q, rx_bad);
		drop(m);
		return false;
	}
	/* Echo reply, in place. */
	uint8_t a[16];
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)b;
	eth->dst_addr = eth->src_addr;
	eth->src_addr = P.mac;
	memcpy(a, ip->dst_addr, 16);
	memcpy(ip->dst_addr, ip->src_addr, 16);
	memcpy(ip->src_addr, a, 16);
	ip->hop_limits = 64;
	l4[0] = ICMP6_ECHO_REPLY;
	l4[2] = l4[3] = 0;
	uint16_t c = l4_cksum(AF_INET6, ip->src_addr, ip->dst_addr, l4, l4len, IPPROTO_ICMPV6);
	memcpy(l4 + 2, &c, 2);
	uint32_t out = l2 + (uint32_t)sizeof(*ip) + plen;
	pad_min(m, b, &out);
	CNT(q, icmp_echo);
	route_out(q, m, AF_INET6, ip->dst_addr, l2);
	return false;
}

/* One frame: true when it became request n in p, else consumed. */
static bool rx_frame(struct dp_io_queue *q, struct rte_mbuf *m, unsigned n, struct dp_pkt *p)
{
	if (m->nb_segs != 1) {
		CNT(q, rx_truncated);
		drop(m);
		return false;
	}
	if (m->ol_flags & RTE_MBUF_F_RX_VLAN_STRIPPED) {
		/* The port took the 802.1Q tag off (af_packet does, the kernel
		 * strips it): put it back, the reply carries it. */
		if (rte_vlan_insert(&m) != 0) {
			CNT(q, rx_bad);
			drop(m);
			return false;
		}
		m->ol_flags &= ~RTE_MBUF_F_RX_VLAN;
	}
	uint8_t *b = rte_pktmbuf_mtod(m, uint8_t *);
	uint32_t len = m->data_len;
	if (len < sizeof(struct rte_ether_hdr)) {
		CNT(q, rx_bad);
		drop(m);
		return false;
	}
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)b;
	uint16_t l2 = sizeof(*eth);
	uint16_t et = rte_be_to_cpu_16(eth->ether_type);
	if (et == RTE_ETHER_TYPE_VLAN) {
		if (len < l2 + sizeof(struct rte_vlan_hdr)) {
			CNT(q, rx_bad);
			drop(m);
			return false;
		}
		et = rte_be_to_cpu_16(((struct rte_vlan_hdr *)(eth + 1))->eth_proto);
		l2 += sizeof(struct rte_vlan_hdr);
	}
	bool to_me = rte_is_same_ether_addr(&eth->dst_addr, &P.mac);
	if ((!to_me && !rte_is_multicast_ether_addr(&eth->dst_addr)) ||
	    rte_is_same_ether_addr(&eth->src_addr, &P.mac)) {
		/* Another host's frame, or one of ours seen again (af_packet). */
		CNT(q, rx_not_mine);
		drop(m);
		return false;
	}
	switch (et) {
	case RTE_ETHER_TYPE_ARP:
		rx_arp(q, m, b, len, l2);
		return false;
	case RTE_ETHER_TYPE_IPV4:
		return rx_ipv4(q, m, b, len, l2, to_me, n, p);
	case RTE_ETHER_TYPE_IPV6:
		return rx_ipv6(q, m, b, len, l2, to_me, n, p);
	default:
		CNT(q, rx_unhandled);
		drop(m);
		return false;
	}
}

/* ---- queue ops -------------------------------------------------------------------- */

static void thread_unregister(void *arg)
{
	rte_thread_unregister();
}

/* First poll, on the worker's own thread. */
static void queue_thread_start(struct dp_io_queue *q)
{
	q->ready = true;
	if (rte_lcore_id() == LCORE_ID_ANY) {
		if (rte_thread_register() == 0) {
			if (P.key_ok)
				pthread_setspecific(P.key, q);
			dp_log(DP_LOG_DEBUG, "dpdk: queue %u: its worker is lcore %u", q->qid,
			       rte_lcore_id());
		} else {
			dp_log(DP_LOG_WARN,
			       "dpdk: queue %u: cannot register its worker with EAL "
			       "(%s): it runs without a mempool cache",
			       q->qid, rte_strerror(rte_errno));
		}
	}
	if (q->qid == 0) {
		/* Tell the segment where we are (gratuitous ARP, unsolicited NA). */
		if (P.has4)
			send_arp_request(q, P.a4, NULL, 0);
		if (P.has6) {
			static const uint8_t all_nodes[16] = {0xff, 2, [15] = 1};
			struct rte_ether_addr dmac;
			mcast_mac6(all_nodes, &dmac);
			send_nd(q, ND_NEIGHBOR_ADVERT, NA_FLAG_OVERRIDE, P.a6, all_nodes, &dmac,
				P.a6, NULL, 0);
		}
		tx_flush(q);
	}
}

static unsigned dpdk_rx_burst(struct dp_io_queue *q, struct dp_pkt *pkts, unsigned max)
{
	if (unlikely(!q->ready))
		queue_thread_start(q);
	if (q->n_held)
		housekeeping(q);
	if (max > DP_BURST)
		max = DP_BURST;
	struct rte_mbuf **f = q->rxf;
	unsigned nf;
	if (q->n_stash) {
		nf = q->n_stash < max ? q->n_stash : max;
		memcpy(f, q->stash, nf * sizeof(f[0]));
		q->n_stash -= nf;
		memmove(q->stash, q->stash + nf, q->n_stash * sizeof(q->stash[0]));
	} else {
		nf = rte_eth_rx_burst(P.port, q->qid, f, (uint16_t)max);
		if (!nf)
			return 0;
	}
	CNT_N(q, rx_frames, nf);
	unsigned n = 0;
	for (unsigned i = 0; i < nf; i++) {
		if (i + 1 < nf)
			rte_prefetch0(rte_pktmbuf_mtod(f[i + 1], void *));
		if (rx_frame(q, f[i], n, &pkts[n]))
			n++;
	}
	if (q->n_txb)
		tx_flush(q); /* ARP, ND and echo replies go now */
	return n;
}

/* Offloads asked for a UDP reply in m (headers in place). */
static void udp_csum(struct rte_mbuf *m, int family, uint8_t *l3, struct rte_udp_hdr *u,
		     uint16_t l2)
{
	m->ol_flags &= RTE_MBUF_F_EXTERNAL;
	if (family == AF_INET) {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)l3;
		ip->hdr_checksum = 0;
		if (P.tx_ip_csum || P.tx_udp_csum) {
			m->l2_len = l2;
			m->l3_len = sizeof(*ip);
			m->ol_flags |= RTE_MBUF_F_TX_IPV4;
		}
		if (P.tx_ip_csum)
			m->ol_flags |= RTE_MBUF_F_TX_IP_CKSUM;
		else
			ip->hdr_checksum = rte_ipv4_cksum(ip);
		u->dgram_cksum = 0;
		if (P.tx_udp_csum) {
			m->ol_flags |= RTE_MBUF_F_TX_UDP_CKSUM;
			u->dgram_cksum = rte_ipv4_phdr_cksum(ip, m->ol_flags);
		} else {
			u->dgram_cksum = rte_ipv4_udptcp_cksum(ip, u);
		}
	} else {
		struct rte_ipv6_hdr *ip = (struct rte_ipv6_hdr *)l3;
		u->dgram_cksum = 0;
		if (P.tx_udp_csum) {
			m->l2_len = l2;
			m->l3_len = sizeof(*ip);
			m->ol_flags |= RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_UDP_CKSUM;
			u->dgram_cksum = rte_ipv6_phdr_cksum(ip, m->ol_flags);
		} else {
			u->dgram_cksum = rte_ipv6_udptcp_cksum(ip, u);
		}
	}
}

/* IP header of a reply (or of one fragment of it): l4len bytes follow it. */
static uint16_t l3_build(uint8_t *l3, const struct slot *s, uint32_t l4len, uint8_t proto,
			 uint16_t frag_be, uint16_t id)
{
	if (s->family == AF_INET) {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)l3;
		ip->version_ihl = RTE_IPV4_VHL_DEF;
		ip->type_of_service = s->tos;
		ip->total_length = rte_cpu_to_be_16((uint16_t)(sizeof(*ip) + l4len));
		ip->packet_id = rte_cpu_to_be_16(id);
		ip->fragment_offset = frag_be;
		ip->time_to_live = 64;
		ip->next_proto_id = proto;
		ip->hdr_checksum = 0;
		memcpy(&ip->src_addr, s->dst, 4);
		memcpy(&ip->dst_addr, s->src, 4);
		return sizeof(*ip);
	}
	struct rte_ipv6_hdr *ip = (struct rte_ipv6_hdr *)l3;
	ip->vtc_flow = rte_cpu_to_be_32(6u << 28 | (uint32_t)s->tos << 20);
	ip->payload_len = rte_cpu_to_be_16((uint16_t)l4len);
	ip->proto = proto;
	ip->hop_limits = 64;
	memcpy(ip->src_addr, s->dst, 16);
	memcpy(ip->dst_addr, s->src, 16);
	return sizeof(*ip);
}

/* A reply larger than the MTU: IP fragments, UDP checksum in software. */
static void reply_fragments(struct dp_io_queue *q, struct slot *s, const uint8_t *payload,
			    uint32_t len)
{
	bool v4 = s->family == AF_INET;
	uint16_t l2 = s->l2_len;
	uint32_t l3 = v4 ? sizeof(struct rte_ipv4_hdr) : sizeof(struct rte_ipv6_hdr);
	uint32_t fh = v4 ? 0 : 8; /* IPv6 fragment header */
	uint32_t unit = P.mtu - l3 - fh;
	if (unit > P.room - l2 - l3 - fh)
		unit = P.room - l2 - l3 - fh;
	unit &= ~7u;

	uint8_t uh[8];
	struct rte_udp_hdr *u = (struct rte_udp_hdr *)uh;
	uint32_t total = 8 + len;
	u->src_port = s->dport;
	u->dst_port = s->sport;
	u->dgram_len = rte_cpu_to_be_16((uint16_t)total);
	u->dgram_cksum = 0;
	uint16_t c = (uint16_t)~fold(phdr_sum(s->family, s->dst, s->src, total, IPPROTO_UDP) +
				     rte_raw_cksum(uh, 8) + rte_raw_cksum(payload, len));
	u->dgram_cksum = c == 0 ? 0xffff : c;

	/* L2 template: the request's header with the addresses swapped. */
	uint8_t l2t[sizeof(struct rte_ether_hdr) + sizeof(struct rte_vlan_hdr)];
	memcpy(l2t, rte_pktmbuf_mtod(s->m, uint8_t *), l2);
	((struct rte_ether_hdr *)l2t)->dst_addr = s->smac;
	((struct rte_ether_hdr *)l2t)->src_addr = P.mac;

	uint16_t id4 = q->ip_id++;
	uint32_t id6 = q->frag_id++;
	struct rte_mbuf *m = s->m;
	s->m = NULL;
	for (uint32_t off = 0; off < total;) {
		uint32_t chunk = total - off < unit ? total - off : unit;
		bool more = off + chunk < total;
		if (!m && !(m = rte_pktmbuf_alloc(P.pool))) {
			CNT(q, tx_errors);
			return;
		}
		uint8_t *b = rte_pktmbuf_mtod(m, uint8_t *);
		memcpy(b, l2t, l2);
		uint8_t *l3p = b + l2;
		uint8_t *d;
		if (v4) {
			uint16_t fo = (uint16_t)(off >> 3) | (more ? RTE_IPV4_HDR_MF_FLAG : 0);
			l3_build(l3p, s, chunk, IPPROTO_UDP, rte_cpu_to_be_16(fo), id4);
			struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)l3p;
			ip->hdr_checksum = rte_ipv4_cksum(ip);
			d = l3p + l3;
		} else {
			l3_build(l3p, s, chunk + fh, IPPROTO_FRAGMENT, 0, 0);
			uint8_t *f = l3p + l3;
			f[0] = IPPROTO_UDP;
			f[1] = 0;
			uint16_t fo = rte_cpu_to_be_16((uint16_t)(off | (more ? 1 : 0)));
			uint32_t idb = rte_cpu_to_be_32(id6);
			memcpy(f + 2, &fo, 2);
			memcpy(f + 4, &idb, 4);
			d = f + 8;
		}
		/* Bytes off .. off+chunk of (UDP header, payload). */
		uint32_t o = off, k = 0;
		if (o < 8) {
			uint32_t h = 8 - o < chunk ? 8 - o : chunk;
			memcpy(d, uh + o, h);
			k = h;
			o += h;
		}
		memcpy(d + k, payload + (o - 8), chunk - k);
		uint32_t flen = l2 + l3 + fh + chunk;
		pad_min(m, b, &flen);
		CNT(q, tx_fragments);
		route_out(q, m, s->family, s->src, l2);
		m = NULL;
		off += chunk;
	}
}

/* The request mbuf of slot s becomes the reply carrying payload. */
static void reply_build(struct dp_io_queue *q, struct slot *s, const uint8_t *payload, uint32_t len)
{
	struct rte_mbuf *m = s->m;
	uint16_t l2 = s->l2_len;
	uint32_t l3 =
		s->family == AF_INET ? sizeof(struct rte_ipv4_hdr) : sizeof(struct rte_ipv6_hdr);
	uint32_t hdr = l2 + l3 + sizeof(struct rte_udp_hdr);
	if (l3 + 8 + len > P.mtu || hdr + len > (uint32_t)(m->buf_len - m->data_off)) {
		reply_fragments(q, s, payload, len);
		return;
	}
	uint8_t *b = rte_pktmbuf_mtod(m, uint8_t *);
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)b;
	eth->dst_addr = s->smac;
	eth->src_addr = P.mac;
	uint8_t *l3p = b + l2;
	l3_build(l3p, s, 8 + len, IPPROTO_UDP,
		 s->family == AF_INET ? rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG) : 0, q->ip_id++);
	struct rte_udp_hdr *u = (struct rte_udp_hdr *)(l3p + l3);
	u->src_port = s->dport;
	u->dst_port = s->sport;
	u->dgram_len = rte_cpu_to_be_16((uint16_t)(8 + len));
	memcpy(u + 1, payload, len);
	uint32_t flen = hdr + len;
	if (flen < RTE_ETHER_MIN_LEN - RTE_ETHER_CRC_LEN) { /* see pad_min */
		memset(b + flen, 0, RTE_ETHER_MIN_LEN - RTE_ETHER_CRC_LEN - flen);
		flen = RTE_ETHER_MIN_LEN - RTE_ETHER_CRC_LEN;
	}
	m->data_len = (uint16_t)flen;
	m->pkt_len = flen;
	udp_csum(m, s->family, l3p, u, l2);
	s->m = NULL;
	route_out(q, m, s->family, s->src, l2);
}

static void dpdk_tx_burst(struct dp_io_queue *q, struct dp_pkt *pkts, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct dp_pkt *p = &pkts[i];
		struct slot *s = &q->slot[p->cookie];
		if (!s->m)
			continue;
		if (p->reply_len && p->reply_len <= DP_PKT_MAX)
			reply_build(q, s, p->reply, p->reply_len);
		else
			drop(s->m);
		s->m = NULL;
	}
	tx_flush(q);
}

static void dpdk_idle_wait(struct dp_io_queue *q, int timeout_ms)
{
	if (unlikely(!q->ready))
		queue_thread_start(q);
	if (q->n_stash)
		return;
	uint64_t end = rte_rdtsc() + ms_tsc((uint64_t)(timeout_ms > 0 ? timeout_ms : 0));
	unsigned polls = 0;
	long nap = IDLE_SLEEP_MIN_NS;
	for (;;) {
		uint16_t k = rte_eth_rx_burst(P.port, q->qid, q->stash, DP_BURST);
		if (k) {
			q->n_stash = k;
			return;
		}
		if (q->n_held)
			housekeeping(q);
		if (rte_rdtsc() >= end)
			return;
		if (P.busy_poll || polls < IDLE_SPIN_POLLS) {
			polls++;
			rte_pause();
			continue;
		}
		struct timespec ts = {.tv_sec = 0, .tv_nsec = nap};
		nanosleep(&ts, NULL);
		nap = nap * 2 < IDLE_SLEEP_MAX_NS ? nap * 2 : IDLE_SLEEP_MAX_NS;
	}
}

static void dpdk_queue_free(struct dp_io_queue *q)
{
	if (!q)
		return;
	for (unsigned i = 0; i < q->n_stash; i++)
		rte_pktmbuf_free(q->stash[i]);
	for (unsigned i = 0; i < q->n_held; i++)
		rte_pktmbuf_free(q->held[i].m);
	for (unsigned i = 0; i < q->n_txb; i++)
		rte_pktmbuf_free(q->txb[i]);
	for (unsigned i = 0; i < DP_BURST; i++)
		if (q->slot[i].m)
			rte_pktmbuf_free(q->slot[i].m);
	free(q);
}

const struct dp_io_ops dp_dpdk_ops = {
	.name = "dpdk",
	.rx_burst = dpdk_rx_burst,
	.tx_burst = dpdk_tx_burst,
	.idle_wait = dpdk_idle_wait,
	.queue_free = dpdk_queue_free,
};

struct dp_io_queue *dp_dpdk_queue_new(unsigned qid, struct dp_io_counters *ctr, char *err,
				      size_t errlen)
{
	if (!P.started || qid >= P.nq) {
		snprintf(err, errlen, "dpdk: no queue %u (the port has %u)", qid, P.nq);
		return NULL;
	}
	struct dp_io_queue *q = aligned_alloc(64, (sizeof(*q) + 63) & ~(size_t)63);
	if (!q) {
		snprintf(err, errlen, "out of memory for DPDK queue %u", qid);
		return NULL;
	}
	memset(q, 0, offsetof(struct dp_io_queue, reply));
	q->qid = (uint16_t)qid;
	q->ctr = ctr;
	q->ip_id = (uint16_t)(qid << 12);
	q->frag_id = (uint32_t)qid << 24 | (uint32_t)(rte_rdtsc() & 0xffffff);
	return q;
}

/* ---- setup ---------------------------------------------------------------------- */

bool dp_dpdk_available(void)
{
	return true;
}

const char *dp_dpdk_version(void)
{
	return rte_version();
}

static int parse_prefix(const char *flag, const char *s, int family, uint8_t *addr, unsigned *plen,
			char *err, size_t errlen)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(s, '/');
	unsigned max = family == AF_INET ? 32 : 128;
	char *end;
	if (!slash || (size_t)(slash - s) >= INET6_ADDRSTRLEN) {
		snprintf(err, errlen, "%s %s: give ADDRESS/PREFIX-LENGTH, e.g. %s", flag, s,
			 family == AF_INET ? "10.9.0.2/24" : "fd00:9::2/64");
		return -EINVAL;
	}
	memcpy(buf, s, (size_t)(slash - s));
	buf[slash - s] = '\0';
	unsigned long l = strtoul(slash + 1, &end, 10);
	if (inet_pton(family, buf, addr) != 1 || !slash[1] || *end || l == 0 || l > max) {
		snprintf(err, errlen, "%s %s: not an %s address with a prefix length 1..%u", flag,
			 s, family == AF_INET ? "IPv4" : "IPv6", max);
		return -EINVAL;
	}
	*plen = (unsigned)l;
	return 0;
}

static int add_neigh(int family, const void *ip)
{
	struct neigh *n = &P.neigh[P.n_neigh];
	memset(n, 0, sizeof(*n));
	n->family = family;
	memcpy(n->ip, ip, family == AF_INET ? 4 : 16);
	return (int)P.n_neigh++;
}

static int check_config(const struct dp_dpdk_config *c, const struct dp_listen *ls, unsigned nl,
			char *err, size_t errlen)
{
	char t[INET6_ADDRSTRLEN];
	if (!c->addr && !c->addr6) {
		snprintf(err, errlen,
			 "--io dpdk needs the host's address: --dpdk-addr A.B.C.D/LEN "
			 "(and/or --dpdk-addr6 V6/LEN)");
		return -EINVAL;
	}
	if (c->addr) {
		unsigned pl;
		uint8_t a[4];
		if (parse_prefix("--dpdk-addr", c->addr, AF_INET, a, &pl, err, errlen))
			return -EINVAL;
		memcpy(&P.a4, a, 4);
		P.m4 = rte_cpu_to_be_32(pl == 32 ? 0xffffffffu : ~(0xffffffffu >> pl));
		P.has4 = true;
		uint32_t h = rte_be_to_cpu_32(P.a4);
		if ((h >> 28) >= 0xe || h >> 24 == 127 || h >> 24 == 0) {
			snprintf(err, errlen, "--dpdk-addr %s: not a unicast address", c->addr);
			return -EINVAL;
		}
	}
	if (c->gw) {
		uint32_t g;
		if (!P.has4 || inet_pton(AF_INET, c->gw, &g) != 1) {
			snprintf(err, errlen,
				 P.has4 ? "--dpdk-gw %s: not an IPv4 address"
					: "--dpdk-gw %s needs --dpdk-addr",
				 c->gw);
			return -EINVAL;
		}
		if ((g ^ P.a4) & P.m4 || g == P.a4) {
			snprintf(err, errlen, "--dpdk-gw %s is not on the subnet of --dpdk-addr %s",
				 c->gw, c->addr);
			return -EINVAL;
		}
		P.gw4 = add_neigh(AF_INET, &g);
	}
	if (c->addr6) {
		if (parse_prefix("--dpdk-addr6", c->addr6, AF_INET6, P.a6, &P.p6, err, errlen))
			return -EINVAL;
		if (P.a6[0] == 0xff || is_ll6(P.a6) || unspecified6(P.a6)) {
			snprintf(err, errlen,
				 "--dpdk-addr6 %s: give a global or unique-local unicast "
				 "address (the link-local one is derived from the MAC)",
				 c->addr6);
			return -EINVAL;
		}
		P.has6 = true;
	}
	if (c->gw6) {
		uint8_t g[16];
		if (!P.has6 || inet_pton(AF_INET6, c->gw6, g) != 1) {
			snprintf(err, errlen,
				 P.has6 ? "--dpdk-gw6 %s: not an IPv6 address"
					: "--dpdk-gw6 %s needs --dpdk-addr6",
				 c->gw6);
			return -EINVAL;
		}
		if (!onlink6(g) || !memcmp(g, P.a6, 16)) {
			snprintf(err, errlen,
				 "--dpdk-gw6 %s is neither on the prefix of --dpdk-addr6 "
				 "nor link-local",
				 c->gw6);
			return -EINVAL;
		}
		P.gw6 = add_neigh(AF_INET6, g);
	}
	for (unsigned i = 0; i < nl; i++) {
		const struct dp_listen *l = &ls[i];
		const char *flag = l->svc == DP_SVC_SIP ? "--sip" : "--query";
		struct svc_port *sp = &P.lis[P.n_lis];
		if (l->addr.ss_family == AF_INET) {
			const struct sockaddr_in *a = (const struct sockaddr_in *)&l->addr;
			if (!P.has4) {
				snprintf(err, errlen, "%s %s: IPv4 needs --dpdk-addr", flag,
					 l->text);
				return -EINVAL;
			}
			if (a->sin_addr.s_addr != 0 && a->sin_addr.s_addr != P.a4) {
				snprintf(err, errlen,
					 "%s %s: with --io dpdk the address is this host's "
					 "own (%s, --dpdk-addr) or 0.0.0.0; only the port "
					 "number picks the service",
					 flag, l->text, fmt_ip(AF_INET, &P.a4, t, sizeof(t)));
				return -EINVAL;
			}
			sp->port_be = a->sin_port;
			sp->family = AF_INET;
			snprintf(sp->text, sizeof(sp->text), "%s:%u",
				 fmt_ip(AF_INET, &P.a4, t, sizeof(t)),
				 rte_be_to_cpu_16(a->sin_port));
		} else {
			const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&l->addr;
			if (!P.has6) {
				snprintf(err, errlen, "%s %s: IPv6 needs --dpdk-addr6", flag,
					 l->text);
				return -EINVAL;
			}
			if (!unspecified6(a->sin6_addr.s6_addr) &&
			    memcmp(a->sin6_addr.s6_addr, P.a6, 16)) {
				snprintf(err, errlen,
					 "%s %s: with --io dpdk the address is this host's "
					 "own (%s, --dpdk-addr6) or [::]",
					 flag, l->text, fmt_ip(AF_INET6, P.a6, t, sizeof(t)));
				return -EINVAL;
			}
			sp->port_be = a->sin6_port;
			sp->family = AF_INET6;
			snprintf(sp->text, sizeof(sp->text), "[%s]:%u",
				 fmt_ip(AF_INET6, P.a6, t, sizeof(t)),
				 rte_be_to_cpu_16(a->sin6_port));
		}
		sp->svc = (uint8_t)l->svc;
		for (unsigned k = 0; k < P.n_lis; k++) {
			if (P.lis[k].port_be == sp->port_be && P.lis[k].family == sp->family) {
				snprintf(err, errlen, "%s %s: UDP port %u is already %s's", flag,
					 l->text, rte_be_to_cpu_16(sp->port_be),
					 dp_service_name(P.lis[k].svc));
				return -EINVAL;
			}
		}
		P.n_lis++;
	}
	return 0;
}

/* Split s on blanks into P.eal_buf; quotes group, backslash escapes. */
static int split_args(const char *s, char **out, int max, char *buf)
{
	int n = 0;
	char *w = buf;
	while (*s) {
		while (*s == ' ' || *s == '\t' || *s == '\n')
			s++;
		if (!*s)
			break;
		if (n == max)
			return -1;
		out[n++] = w;
		char quote = 0;
		for (; *s && (quote || (*s != ' ' && *s != '\t' && *s != '\n')); s++) {
			if (quote && *s == quote)
				quote = 0;
			else if (!quote && (*s == '"' || *s == '\''))
				quote = *s;
			else if (*s == '\\' && s[1])
				*w++ = *++s;
			else
				*w++ = *s;
		}
		if (quote)
			return -2;
		*w++ = '\0';
	}
	return n;
}

static bool has_opt(char **v, int n, const char *const *names)
{
	for (int i = 0; i < n; i++)
		for (const char *const *o = names; *o; o++) {
			size_t l = strlen(*o);
			if (!strncmp(v[i], *o, l) &&
			    (v[i][l] == '\0' || v[i][l] == '=' || (l == 2 && (*o)[0] == '-')))
				return true;
		}
	return false;
}

#define EAL_MAX_ARGS 128

static int build_eal_args(const struct dp_dpdk_config *c, char *err, size_t errlen)
{
	size_t sl = c->eal_args ? strlen(c->eal_args) : 0;
	char **user = calloc(EAL_MAX_ARGS, sizeof(*user));
	P.eal_argv = calloc(EAL_MAX_ARGS + 16, sizeof(*P.eal_argv));
	P.eal_buf = malloc(sl + 64);
	if (!user || !P.eal_argv || !P.eal_buf) {
		free(user);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	int nu = c->eal_args ? split_args(c->eal_args, user, EAL_MAX_ARGS, P.eal_buf) : 0;
	if (nu < 0) {
		free(user);
		snprintf(err, errlen,
			 nu == -2 ? "--dpdk-args: unbalanced quote"
				  : "--dpdk-args: more than %d arguments",
			 EAL_MAX_ARGS);
		return -EINVAL;
	}
	for (int i = 0; i < c->eal_argc; i++) {
		if (nu == EAL_MAX_ARGS) {
			free(user);
			snprintf(err, errlen, "more than %d EAL arguments", EAL_MAX_ARGS);
			return -EINVAL;
		}
		user[nu++] = c->eal_argv[i];
	}
	static const char *const mem[] = {"--in-memory", "--file-prefix", "--proc-type",
					  "--no-shconf", NULL};
	static const char *const tel[] = {"--telemetry", "--no-telemetry", NULL};
	static const char *const cores[] = {"-l", "-c", "--lcores", NULL};
	static const char *const lvl[] = {"--log-level", NULL};
	static char arg0[] = "strowgerd", inmem[] = "--in-memory", noshconf[] = "--no-shconf",
		    notel[] = "--no-telemetry", dash_l[] = "-l", notice[] = "--log-level=notice",
		    info[] = "--log-level=info";
	static char cpu[16];
	int n = 0;
	P.eal_argv[n++] = arg0;
	static const char *const nohuge[] = {"--no-huge", NULL};
	if (!has_opt(user, nu, mem))
		/* Nothing in /var/run/dpdk: several strowgerds (or tests) never
		 * meet there. --no-huge implies legacy memory, which
		 * --in-memory refuses; --no-shconf does the same for it. */
		P.eal_argv[n++] = has_opt(user, nu, nohuge) ? noshconf : inmem;
	if (!has_opt(user, nu, tel))
		P.eal_argv[n++] = notel;
	if (!has_opt(user, nu, cores)) {
		/* One lcore, the main one, on the first CPU we may run on: EAL
		 * pins the main thread there (undone after init). */
		cpu_set_t set;
		int first = 0;
		if (sched_getaffinity(0, sizeof(set), &set) == 0)
			for (first = 0; first < CPU_SETSIZE && !CPU_ISSET(first, &set); first++)
				;
		snprintf(cpu, sizeof(cpu), "%d", first < CPU_SETSIZE ? first : 0);
		P.eal_argv[n++] = dash_l;
		P.eal_argv[n++] = cpu;
	}
	static const char *const vdev[] = {"--vdev", NULL};
	static const char *const pci[] = {"-a", "--allow", "-b", "--block", "--no-pci", NULL};
	static char nopci[] = "--no-pci";
	if (has_opt(user, nu, vdev) && !has_opt(user, nu, pci))
		/* Virtual devices only: leave the PCI devices alone (and the
		 * NIC this host itself uses). */
		P.eal_argv[n++] = nopci;
	if (!has_opt(user, nu, lvl))
		P.eal_argv[n++] = c->verbose ? info : notice;
	for (int i = 0; i < nu; i++)
		P.eal_argv[n++] = user[i];
	P.eal_argv[n] = NULL;
	P.eal_argc = n;
	free(user);
	return 0;
}

static void log_link(const char *what)
{
	struct rte_eth_link link;
	if (rte_eth_link_get_nowait(P.port, &link) != 0) {
		dp_log(DP_LOG_INFO, "dpdk: port %u %s: link state unknown", P.port, what);
		return;
	}
	if (!link.link_status) {
		dp_log(DP_LOG_WARN, "dpdk: port %u %s: link down", P.port, what);
		return;
	}
	char speed[32];
	if (link.link_speed == RTE_ETH_SPEED_NUM_UNKNOWN ||
	    link.link_speed == RTE_ETH_SPEED_NUM_NONE)
		snprintf(speed, sizeof(speed), "speed unknown");
	else if (link.link_speed >= 1000)
		snprintf(speed, sizeof(speed), "%u Gbps", link.link_speed / 1000);
	else
		snprintf(speed, sizeof(speed), "%u Mbps", link.link_speed);
	dp_log(DP_LOG_INFO, "dpdk: port %u %s: link up, %s, %s-duplex", P.port, what, speed,
	       link.link_duplex == RTE_ETH_LINK_FULL_DUPLEX ? "full" : "half");
}

static int lsc_event(uint16_t port, enum rte_eth_event_type type, void *arg, void *ret)
{
	log_link("link change");
	return 0;
}

static int port_setup(const struct dp_dpdk_config *c, unsigned *n_workers, bool explicit_w,
		      char *err, size_t errlen)
{
	int rc;
	if (!c->port) {
		uint16_t id;
		bool found = false;
		RTE_ETH_FOREACH_DEV(id)
		{
			P.port = id;
			found = true;
			break;
		}
		if (!found) {
			snprintf(err, errlen,
				 "dpdk: no Ethernet port: give one to EAL, e.g. --dpdk-args "
				 "\"--vdev net_af_packet0,iface=eth1\", or bind a NIC to "
				 "vfio-pci (dpdk-devbind.py)");
			return -ENODEV;
		}
	} else {
		char *end;
		unsigned long id = strtoul(c->port, &end, 10);
		uint16_t pid;
		if (*c->port && !*end && id < RTE_MAX_ETHPORTS &&
		    rte_eth_dev_is_valid_port((uint16_t)id)) {
			P.port = (uint16_t)id;
		} else if (rte_eth_dev_get_port_by_name(c->port, &pid) == 0) {
			P.port = pid;
		} else {
			snprintf(err, errlen, "--dpdk-port %s: no such port (%u port%s available)",
				 c->port, rte_eth_dev_count_avail(),
				 rte_eth_dev_count_avail() == 1 ? "" : "s");
			return -ENODEV;
		}
	}
	struct rte_eth_dev_info info;
	if ((rc = rte_eth_dev_info_get(P.port, &info)) != 0) {
		snprintf(err, errlen, "dpdk: port %u: %s", P.port, rte_strerror(-rc));
		return rc;
	}
	rte_eth_dev_get_name_by_port(P.port, P.name);
	rte_eth_macaddr_get(P.port, &P.mac);
	if (P.has6) {
		/* Link-local address from the MAC (modified EUI-64). */
		memset(P.ll6, 0, 16);
		P.ll6[0] = 0xfe;
		P.ll6[1] = 0x80;
		P.ll6[8] = P.mac.addr_bytes[0] ^ 2;
		P.ll6[9] = P.mac.addr_bytes[1];
		P.ll6[10] = P.mac.addr_bytes[2];
		P.ll6[11] = 0xff;
		P.ll6[12] = 0xfe;
		P.ll6[13] = P.mac.addr_bytes[3];
		P.ll6[14] = P.mac.addr_bytes[4];
		P.ll6[15] = P.mac.addr_bytes[5];
	}
	snprintf(P.driver, sizeof(P.driver), "%s", info.driver_name ? info.driver_name : "?");

	unsigned maxq =
		info.max_rx_queues < info.max_tx_queues ? info.max_rx_queues : info.max_tx_queues;
	if (maxq == 0) {
		snprintf(err, errlen, "dpdk: port %u (%s) has no queues", P.port, P.name);
		return -ENODEV;
	}
	if (*n_workers > maxq) {
		if (explicit_w) {
			snprintf(err, errlen,
				 "dpdk: port %u (%s) has %u RX/TX queue pair%s, fewer than "
				 "--workers %u (one queue pair per worker)",
				 P.port, P.name, maxq, maxq == 1 ? "" : "s", *n_workers);
			return -EINVAL;
		}
		dp_log(DP_LOG_INFO, "dpdk: port %u (%s) has %u queue pair%s: %u worker%s", P.port,
		       P.name, maxq, maxq == 1 ? "" : "s", maxq, maxq == 1 ? "" : "s");
		*n_workers = maxq;
	}
	P.nq = *n_workers;

	uint16_t mtu = RTE_ETHER_MTU;
	if (rte_eth_dev_get_mtu(P.port, &mtu) != 0 || mtu < 1280)
		mtu = RTE_ETHER_MTU;
	P.mtu = mtu;
	uint32_t room = RTE_MBUF_DEFAULT_DATAROOM;
	uint32_t need = (uint32_t)mtu + RTE_ETHER_HDR_LEN + 4 /* VLAN */ + RTE_ETHER_CRC_LEN;
	if (need > room)
		room = (need + 1023) & ~1023u;
	P.room = room;

	struct rte_eth_conf conf;
	memset(&conf, 0, sizeof(conf));
	uint64_t txo = RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM |
		       RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE;
	conf.txmode.offloads = info.tx_offload_capa & txo;
	P.tx_ip_csum = conf.txmode.offloads & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
	P.tx_udp_csum = conf.txmode.offloads & RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
	conf.rxmode.offloads = info.rx_offload_capa &
			       (RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM);
	P.rx_ip_csum = conf.rxmode.offloads & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM;
	P.rx_l4_csum = conf.rxmode.offloads & RTE_ETH_RX_OFFLOAD_UDP_CKSUM;
	uint64_t hf = info.flow_type_rss_offloads & (RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP);
	if (P.nq > 1 && hf) {
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_hf = hf;
		P.rss = true;
	}
	if (info.dev_flags && (*info.dev_flags & RTE_ETH_DEV_INTR_LSC)) {
		conf.intr_conf.lsc = 1;
		P.lsc = true;
	}
	rc = rte_eth_dev_configure(P.port, (uint16_t)P.nq, (uint16_t)P.nq, &conf);
	if (rc != 0 && P.rss) {
		dp_log(DP_LOG_WARN, "dpdk: port %u refuses RSS (%s): queues without it", P.port,
		       rte_strerror(-rc));
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_NONE;
		conf.rx_adv_conf.rss_conf.rss_hf = 0;
		P.rss = false;
		rc = rte_eth_dev_configure(P.port, (uint16_t)P.nq, (uint16_t)P.nq, &conf);
	}
	if (rc != 0) {
		snprintf(err, errlen, "dpdk: cannot configure port %u (%s) with %u queue pairs: %s",
			 P.port, P.name, P.nq, rte_strerror(-rc));
		return rc;
	}
	P.configured = true;
	uint16_t nrxd = NB_RXD, ntxd = NB_TXD;
	if ((rc = rte_eth_dev_adjust_nb_rx_tx_desc(P.port, &nrxd, &ntxd)) != 0) {
		snprintf(err, errlen, "dpdk: port %u descriptors: %s", P.port, rte_strerror(-rc));
		return rc;
	}
	int sock = rte_eth_dev_socket_id(P.port);
	if (sock < 0)
		sock = (int)rte_socket_id();
	unsigned nmb = P.nq * (nrxd + ntxd + TXB_MAX + HOLD_MAX + 2 * DP_BURST + 16) +
		       (P.nq + 2) * POOL_CACHE + 1024;
	char pname[RTE_MEMPOOL_NAMESIZE];
	snprintf(pname, sizeof(pname), "strowger_p%u", P.port);
	P.pool = rte_pktmbuf_pool_create(pname, nmb, POOL_CACHE, 0,
					 (uint16_t)(room + RTE_PKTMBUF_HEADROOM), sock);
	if (!P.pool) {
		snprintf(err, errlen,
			 "dpdk: cannot create a pool of %u mbufs (%u MB): %s (more "
			 "hugepages, or --no-huge with -m MB in --dpdk-args)",
			 nmb, (unsigned)((uint64_t)nmb * (room + RTE_PKTMBUF_HEADROOM + 192) >> 20),
			 rte_strerror(rte_errno));
		return -ENOMEM;
	}
	for (unsigned i = 0; i < P.nq; i++) {
		struct rte_eth_rxconf rxc = info.default_rxconf;
		struct rte_eth_txconf txc = info.default_txconf;
		rxc.offloads = conf.rxmode.offloads;
		txc.offloads = conf.txmode.offloads;
		if ((rc = rte_eth_rx_queue_setup(P.port, (uint16_t)i, nrxd, (unsigned)sock, &rxc,
						 P.pool)) != 0 ||
		    (rc = rte_eth_tx_queue_setup(P.port, (uint16_t)i, ntxd, (unsigned)sock,
						 &txc)) != 0) {
			snprintf(err, errlen, "dpdk: port %u queue %u: %s", P.port, i,
				 rte_strerror(-rc));
			return rc;
		}
	}
	if (P.lsc)
		rte_eth_dev_callback_register(P.port, RTE_ETH_EVENT_INTR_LSC, lsc_event, NULL);
	if ((rc = rte_eth_dev_start(P.port)) != 0) {
		snprintf(err, errlen, "dpdk: cannot start port %u (%s): %s", P.port, P.name,
			 rte_strerror(-rc));
		return rc;
	}
	P.started = true;
	if (P.has6) {
		/* Neighbour solicitations arrive on solicited-node multicast. */
		const uint8_t all_nodes[16] = {0xff, 2, [15] = 1};
		uint8_t sn[16];
		struct rte_ether_addr mc[3];
		solicited_node(P.a6, sn);
		mcast_mac6(sn, &mc[0]);
		solicited_node(P.ll6, sn);
		mcast_mac6(sn, &mc[1]);
		mcast_mac6(all_nodes, &mc[2]);
		if (rte_eth_dev_set_mc_addr_list(P.port, mc, 3) != 0)
			rte_eth_allmulticast_enable(P.port);
	}
	/* Link: give it a moment to come up, then say how it is. */
	struct rte_eth_link link;
	for (int i = 0; i < 30; i++) {
		if (rte_eth_link_get_nowait(P.port, &link) == 0 && link.link_status)
			break;
		rte_delay_ms(100);
	}
	char mac[RTE_ETHER_ADDR_FMT_SIZE];
	fmt_mac(&P.mac, mac, sizeof(mac));
	dp_log(DP_LOG_INFO,
	       "dpdk: port %u (%s, driver %s) MAC %s, MTU %u, %u queue pair%s%s; checksums: tx %s, "
	       "rx %s",
	       P.port, P.name, P.driver, mac, P.mtu, P.nq, P.nq == 1 ? "" : "s",
	       P.nq > 1 ? (P.rss ? ", RSS over IP/UDP" : ", no RSS (the port spreads flows itself)")
			: "",
	       P.tx_ip_csum && P.tx_udp_csum   ? "offloaded"
	       : P.tx_ip_csum || P.tx_udp_csum ? "partly offloaded"
					       : "software",
	       P.rx_ip_csum || P.rx_l4_csum ? "offloaded" : "software");
	log_link("started");
	return 0;
}

int dp_dpdk_init(const struct dp_dpdk_config *c, const struct dp_listen *ls, unsigned n_listen,
		 unsigned *n_workers, bool workers_explicit, char *err, size_t errlen)
{
	if (P.eal) {
		snprintf(err, errlen, "dpdk: already initialised");
		return -EALREADY;
	}
	int rc = check_config(c, ls, n_listen, err, errlen);
	if (rc)
		return rc;
	P.busy_poll = c->busy_poll;
	if ((rc = build_eal_args(c, err, errlen)) != 0)
		return rc;
	char line[1024];
	size_t w = 0;
	for (int i = 1; i < P.eal_argc && w < sizeof(line); i++)
		w += (size_t)snprintf(line + w, sizeof(line) - w, "%s%s", i > 1 ? " " : "",
				      P.eal_argv[i]);
	dp_log(DP_LOG_INFO, "dpdk: %s, EAL arguments: %s", rte_version(), line);

	/* EAL logs through ours. */
	cookie_io_functions_t io = {.write = log_write};
	P.log = fopencookie(NULL, "w", io);
	if (P.log) {
		setvbuf(P.log, NULL, _IONBF, 0);
		rte_openlog_stream(P.log);
	}
	/* EAL pins the calling thread to the main lcore; dp_server's threads
	 * are created from it later and must not inherit that. */
	cpu_set_t saved;
	bool have_saved = pthread_getaffinity_np(pthread_self(), sizeof(saved), &saved) == 0;
	char **argv = calloc((size_t)P.eal_argc + 1, sizeof(*argv));
	if (!argv) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	memcpy(argv, P.eal_argv, (size_t)P.eal_argc * sizeof(*argv)); /* EAL permutes it */
	rc = rte_eal_init(P.eal_argc, argv);
	free(argv);
	if (rc < 0) {
		bool mem = rte_errno == ENOMEM || rte_errno == EACCES || rte_errno == ENOENT;
		snprintf(err, errlen, "dpdk: EAL init failed: %s (EAL arguments: %s)%s",
			 rte_strerror(rte_errno), line,
			 mem ? "; no hugepages? scripts/hugepages reserves some, or add --no-huge"
			     : "");
		return -(rte_errno ? rte_errno : EINVAL);
	}
	P.eal = true;
	if (have_saved)
		pthread_setaffinity_np(pthread_self(), sizeof(saved), &saved);
	P.hz = rte_get_tsc_hz();
	P.reachable_tsc = ms_tsc(NEIGH_REACHABLE_MS);
	P.probe_tsc = ms_tsc(NEIGH_PROBE_MS);
	P.hold_tsc = ms_tsc(HOLD_MS);
	P.key_ok = pthread_key_create(&P.key, thread_unregister) == 0;
	rc = port_setup(c, n_workers, workers_explicit, err, errlen);
	if (rc)
		return rc;
	char a[INET6_ADDRSTRLEN], line2[400];
	w = 0;
	if (P.has4) {
		w += (size_t)snprintf(line2 + w, sizeof(line2) - w, "%s%s",
				      fmt_ip(AF_INET, &P.a4, a, sizeof(a)), strchr(c->addr, '/'));
		if (P.gw4 >= 0)
			w += (size_t)snprintf(line2 + w, sizeof(line2) - w, " via %s",
					      fmt_ip(AF_INET, P.neigh[P.gw4].ip, a, sizeof(a)));
	}
	if (P.has6) {
		w += (size_t)snprintf(line2 + w, sizeof(line2) - w, "%s%s%s", P.has4 ? ", " : "",
				      fmt_ip(AF_INET6, P.a6, a, sizeof(a)), strchr(c->addr6, '/'));
		if (P.gw6 >= 0)
			w += (size_t)snprintf(line2 + w, sizeof(line2) - w, " via %s",
					      fmt_ip(AF_INET6, P.neigh[P.gw6].ip, a, sizeof(a)));
		snprintf(line2 + w, sizeof(line2) - w, " (link-local %s)",
			 fmt_ip(AF_INET6, P.ll6, a, sizeof(a)));
	}
	dp_log(DP_LOG_INFO, "dpdk: host %s", line2);
	return 0;
}

void dp_dpdk_describe(char *out, size_t outlen)
{
	size_t w = 0;
	out[0] = '\0';
	for (unsigned i = 0; i < P.n_lis && w < outlen; i++)
		w += (size_t)snprintf(out + w, outlen - w, "%s%s udp %s", i ? ", " : "",
				      dp_service_name(P.lis[i].svc), P.lis[i].text);
	if (w < outlen)
		snprintf(out + w, outlen - w, " (dpdk port %u %s)", P.port, P.name);
}

void dp_dpdk_fini(void)
{
	if (P.started) {
		struct rte_eth_stats st;
		if (rte_eth_stats_get(P.port, &st) == 0)
			dp_log(DP_LOG_INFO,
			       "dpdk: port %u: ipackets=%llu opackets=%llu imissed=%llu "
			       "ierrors=%llu oerrors=%llu rx_nombuf=%llu",
			       P.port, (unsigned long long)st.ipackets,
			       (unsigned long long)st.opackets, (unsigned long long)st.imissed,
			       (unsigned long long)st.ierrors, (unsigned long long)st.oerrors,
			       (unsigned long long)st.rx_nombuf);
		if (P.lsc)
			rte_eth_dev_callback_unregister(P.port, RTE_ETH_EVENT_INTR_LSC, lsc_event,
							NULL);
		rte_eth_dev_stop(P.port);
		P.started = false;
	}
	if (P.configured) {
		rte_eth_dev_close(P.port);
		P.configured = false;
	}
	if (P.pool) {
		rte_mempool_free(P.pool);
		P.pool = NULL;
	}
	if (P.key_ok) {
		pthread_key_delete(P.key);
		P.key_ok = false;
	}
	if (P.eal) {
		rte_eal_cleanup();
		P.eal = false;
	}
	if (P.log) {
		rte_openlog_stream(NULL);
		fclose(P.log);
		P.log = NULL;
	}
	free(P.eal_argv);
	free(P.eal_buf);
	P.eal_argv = NULL;
	P.eal_buf = NULL;
}
