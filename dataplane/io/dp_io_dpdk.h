#pragma once
/*
 * dp_io_dpdk: the DPDK packet I/O backend (strowgerd --io dpdk).
 *
 * strowgerd becomes a small IP host on one DPDK port: it answers ARP, IPv6
 * neighbour solicitations and ICMP/ICMPv6 echo for its own addresses,
 * resolves its gateways, and hands UDP datagrams for the SIP and native
 * ports to the workers through the same dp_io interface as the socket
 * backend. Each worker (a dp_server pthread, registered with EAL as a
 * non-EAL lcore on its first poll) owns one RX/TX queue pair of the port;
 * RSS spreads flows over them when the port can.
 *
 * Lifecycle, from the control thread (main), in this order:
 *   dp_dpdk_init()       EAL, port, mempool, every queue, port started
 *   dp_dpdk_queue_new()  once per worker, queue i for worker i
 *   ... dp_server runs the workers ...
 *   dp_server_free()     frees the queues (dp_dpdk_ops.queue_free)
 *   dp_dpdk_fini()       port stopped and closed, EAL cleaned up
 *
 * Built without DPDK (meson -Ddpdk=disabled, or no libdpdk-dev), the same
 * functions exist and dp_dpdk_init() says this build has no DPDK.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dp_io.h"

struct dp_dpdk_config {
	/* EAL arguments: --dpdk-args (split on blanks, quotes group) then
	 * everything after `--`. Added unless given (or an alternative is):
	 * --in-memory (--no-shconf with --no-huge), --no-telemetry, -l CPU,
	 * --log-level=notice, and --no-pci when there are only --vdev devices. */
	const char *eal_args;
	char **eal_argv;
	int eal_argc;
	const char *port;  /* port id or device name; NULL: port 0 */
	const char *addr;  /* "A.B.C.D/LEN": the host's IPv4 address */
	const char *gw;    /* IPv4 gateway (on the subnet of addr) or NULL */
	const char *addr6; /* "V6/LEN" or NULL */
	const char *gw6;   /* IPv6 gateway (global or link-local) or NULL */
	bool busy_poll;    /* idle workers spin instead of backing off to sleeps */
	bool verbose;      /* EAL logs at info, not notice */
};

/* This build has DPDK. */
bool dp_dpdk_available(void);
/* "DPDK 22.11.11", or a sentence saying this build has none. */
const char *dp_dpdk_version(void);

/*
 * Everything before the workers: check the flags and the listeners (their
 * address must be the port's own address or the wildcard of its family;
 * the port number is the service's UDP port), EAL init, the port and one
 * queue pair per worker. *n_workers is lowered to the port's queue count
 * when workers_explicit is false, and is an error otherwise. Call with the
 * signals strowgerd handles already blocked: EAL starts threads. 0, or
 * -errno with the reason in err.
 */
int dp_dpdk_init(const struct dp_dpdk_config *cfg, const struct dp_listen *ls, unsigned n_listen,
		 unsigned *n_workers, bool workers_explicit, char *err, size_t errlen);

/* "SIP udp 10.9.0.2:5060, native udp 10.9.0.2:5070 (dpdk port 0 net_pcap0)". */
void dp_dpdk_describe(char *out, size_t outlen);

/* Queue qid (0 .. *n_workers - 1) counting into ctr. NULL with err. */
struct dp_io_queue *dp_dpdk_queue_new(unsigned qid, struct dp_io_counters *ctr, char *err,
				      size_t errlen);

extern const struct dp_io_ops dp_dpdk_ops;

/* One log line of the host counters in sum (every worker's added up). */
void dp_dpdk_log_counters(const struct dp_io_counters *sum);

/* Stop and close the port (flushing e.g. a pcap device), clean up EAL.
 * After every queue is freed. Safe to call when init failed or never ran. */
void dp_dpdk_fini(void);
