#pragma once
/* Daemon logging to stderr, one line per event, timestamped (UTC). */
#include <stdarg.h>

enum dp_log_level { DP_LOG_ERR, DP_LOG_WARN, DP_LOG_INFO, DP_LOG_DEBUG };

void dp_log(enum dp_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void dp_log_set_level(enum dp_log_level lvl);
