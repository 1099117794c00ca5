#pragma once
/*
 * ctl_offline: load and compile a config file inside strowgerctl, the same
 * way the daemon would (cfg_yaml, then rt_snapshot_build), for the commands
 * that work without a server (validate, query --config).
 */
#include "rt_config.h"
#include "rt_snapshot.h"

/* The generation an offline snapshot carries. */
#define CTL_OFFLINE_GENERATION 1

/*
 * Load path and compile it. On success returns 0 and sets *cfg (may be
 * NULL if the caller does not want it) and *snap, both the caller's to
 * free; warnings, if any, go to stderr. On failure prints every problem,
 * one per line, to stderr and returns -EINVAL (or -ENOMEM).
 */
int ctl_offline_load(const char *path, struct rt_config **cfg, struct rt_snapshot **snap);
