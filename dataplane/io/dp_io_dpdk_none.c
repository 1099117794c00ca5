/*
 * dp_io_dpdk without DPDK: this build was configured without libdpdk
 * (meson -Ddpdk=disabled, or libdpdk-dev missing with -Ddpdk=auto), so
 * `strowgerd --io dpdk` says so and the kernel-socket backend is the only
 * one.
 */
#include "dp_io_dpdk.h"

#include <errno.h>
#include <stdio.h>

#define NO_DPDK                                                                                \
	"this strowgerd was built without DPDK (install libdpdk-dev, e.g. with scripts/deps, " \
	"and rebuild; meson -Ddpdk=enabled makes it required)"

bool dp_dpdk_available(void)
{
	return false;
}

const char *dp_dpdk_version(void)
{
	return NO_DPDK;
}

int dp_dpdk_init(const struct dp_dpdk_config *cfg, const struct dp_listen *ls, unsigned n_listen,
		 unsigned *n_workers, bool workers_explicit, char *err, size_t errlen)
{
	snprintf(err, errlen, "--io dpdk: %s", NO_DPDK);
	return -ENOTSUP;
}

void dp_dpdk_describe(char *out, size_t outlen)
{
	snprintf(out, outlen, "no DPDK");
}

struct dp_io_queue *dp_dpdk_queue_new(unsigned qid, struct dp_io_counters *ctr, char *err,
				      size_t errlen)
{
	snprintf(err, errlen, "--io dpdk: %s", NO_DPDK);
	return NULL;
}

static unsigned none_rx_burst(struct dp_io_queue *q, struct dp_pkt *pkts, unsigned max)
{
	return 0;
}

static void none_tx_burst(struct dp_io_queue *q, struct dp_pkt *pkts, unsigned n)
{
}

static void none_idle_wait(struct dp_io_queue *q, int timeout_ms)
{
}

static void none_queue_free(struct dp_io_queue *q)
{
}

const struct dp_io_ops dp_dpdk_ops = {
	.name = "dpdk",
	.rx_burst = none_rx_burst,
	.tx_burst = none_tx_burst,
	.idle_wait = none_idle_wait,
	.queue_free = none_queue_free,
};

void dp_dpdk_log_counters(const struct dp_io_counters *sum)
{
}

void dp_dpdk_fini(void)
{
}
