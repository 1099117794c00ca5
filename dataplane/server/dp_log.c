#include "dp_log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

static atomic_int log_level = DP_LOG_INFO;

void dp_log_set_level(enum dp_log_level lvl)
{
	atomic_store_explicit(&log_level, (int)lvl, memory_order_relaxed);
}

void dp_log(enum dp_log_level lvl, const char *fmt, ...)
{
	if ((int)lvl > atomic_load_explicit(&log_level, memory_order_relaxed))
		return;
	static const char *const names[] = {"error", "warning", "info", "debug"};
	char ts[32];
	struct timespec now;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);

	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* One fprintf per line so lines from several threads do not interleave. */
	fprintf(stderr, "%s.%03ldZ strowgerd %s: %s\n", ts, now.tv_nsec / 1000000, names[lvl], msg);
}
