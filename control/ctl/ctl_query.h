#pragma once
/*
 * ctl_query: the command line of `strowgerctl query` / `explain`, parsed
 * into one struct that every way of answering shares: offline against a
 * config file (--config) or a server's native query port (--server). Each
 * mode turns the arguments into an rt_query with ctl_query_fill(), gets an
 * rt_answer (and rt_explain) somehow, and prints with ctl_print_answer().
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rt_decide.h"

/* One --health TARGET=STATE. target points into argv (not NUL-terminated
 * at target_len). */
struct ctl_health_arg {
	const char *target;
	size_t target_len;
	enum rt_health state;
};

struct ctl_query_args {
	const char *config; /* --config FILE: decide offline */
	const char *server; /* --server HOST:PORT: ask a strowgerd (native port) */
	int timeout_ms;     /* --timeout MS for --server (default 2000) */
	const char *called;
	const char *calling;
	const char *policy;
	const char *call_id;
	struct rt_tried tried[RT_MAX_TRIED]; /* gateway views point into argv */
	uint32_t n_tried;
	struct ctl_health_arg *health; /* heap; n_health entries */
	size_t n_health;
	uint32_t max; /* 0: as many as fit */
	bool explain;
	bool json;
	bool help; /* --help given: print usage, do nothing else */
};

/*
 * Parse argv (argv[0] is the command name). 0 on success; -EINVAL after
 * printing the reason to stderr. Free with ctl_query_args_free() in both
 * cases. argv must outlive args. need_called: --called is required (query,
 * explain; batch reads numbers from stdin instead).
 */
int ctl_query_parse(struct ctl_query_args *args, int argc, char **argv, bool need_called);
void ctl_query_args_free(struct ctl_query_args *args);

/* The rt_query for args; its strings point into argv. */
void ctl_query_fill(const struct ctl_query_args *args, struct rt_query *q);
