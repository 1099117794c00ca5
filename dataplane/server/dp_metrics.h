#pragma once
/*
 * dp_metrics: strowgerd's Prometheus exporter. An HTTP server
 * (libmicrohttpd, one internal polling thread) answering GET /metrics in
 * the text exposition format 0.0.4; everything else gets 404 (other paths)
 * or 405 (other methods on /metrics).
 *
 * The exporter owns no counters: every scrape asks collect() for one
 * consistent dp_stats and renders it. collect() runs on the HTTP thread,
 * never on a worker, so a scrape cannot slow a decision down.
 */
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dp_stats.h"

/* Fill *out (zeroed before the call) with one consistent read of the
 * server's statistics. 0 or -errno; whatever *out holds afterwards is
 * dp_stats_free'd by the caller either way. Called from the HTTP thread. */
typedef int (*dp_metrics_collect_fn)(void *ctx, struct dp_stats *out);

struct dp_metrics;

/* Listen on addr (IPv4 or IPv6; port 0 picks a free one, see
 * dp_metrics_port) and serve scrapes until dp_metrics_stop. NULL with the
 * reason in err (e.g. address in use). */
struct dp_metrics *dp_metrics_start(const struct sockaddr *addr, socklen_t len,
				    dp_metrics_collect_fn collect, void *ctx, char *err,
				    size_t errlen);
/* The TCP port actually listened on. */
uint16_t dp_metrics_port(const struct dp_metrics *m);
/* Close the listener and every connection, join the thread, free. NULL ok. */
void dp_metrics_stop(struct dp_metrics *m);

/* Render s as text exposition format 0.0.4 into a malloc'd NUL-terminated
 * string (*out, *len without the NUL). 0 or -ENOMEM. Pure. */
int dp_metrics_render(const struct dp_stats *s, char **out, size_t *len);
