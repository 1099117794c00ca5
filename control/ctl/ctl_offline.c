/*
 * ctl_offline: see ctl_offline.h.
 */
#include "ctl_offline.h"

#include <errno.h>
#include <stdio.h>

#include "cfg_yaml.h"
#include "rt_diag.h"

int ctl_offline_load(const char *path, struct rt_config **cfg_out, struct rt_snapshot **snap_out)
{
	struct rt_diag diag;
	struct rt_config *cfg = NULL;
	struct rt_snapshot *snap = NULL;
	int rc = -EINVAL;

	rt_diag_init(&diag);
	cfg = cfg_yaml_load_file(path, &diag);
	if (!cfg)
		goto out;
	snap = rt_snapshot_build(cfg, CTL_OFFLINE_GENERATION, &diag);
	if (!snap)
		goto out;
	rc = 0;
out:
	/* On success whatever diag holds is a warning; print it all the same. */
	rt_diag_print(&diag, stderr);
	if (rc != 0 && rt_diag_count(&diag) == 0)
		fprintf(stderr, "%s: cannot load config\n", path);
	rt_diag_clear(&diag);
	if (rc == 0 && cfg_out)
		*cfg_out = cfg;
	else
		rt_config_free(cfg);
	if (rc == 0)
		*snap_out = snap;
	return rc;
}
