/*
 * libFuzzer target: any bytes as a YAML config file. A config that loads
 * must survive the protobuf round trip that strowgerctl -> strowgerd makes.
 */
#include <stdint.h>
#include <stdlib.h>

#include "cfg_proto.h"
#include "cfg_yaml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rt_diag diag;
	rt_diag_init(&diag);
	struct rt_config *cfg = cfg_yaml_load_buffer((const char *)data, size, "fuzz.yaml", &diag);
	/* Loading succeeds exactly when nothing was reported. */
	if (!cfg != !!rt_diag_count(&diag))
		abort();
	if (cfg) {
		uint8_t *buf = NULL;
		size_t len = 0;
		if (cfg_proto_pack(cfg, &buf, &len) == 0) {
			struct rt_diag d2;
			rt_diag_init(&d2);
			struct rt_config *back = cfg_proto_unpack(buf, len, &d2);
			/* What the YAML loader accepts, unpack accepts too. */
			if (!back)
				abort();
			if (back->n_gateways != cfg->n_gateways || back->n_routes != cfg->n_routes ||
			    back->n_trunks != cfg->n_trunks || back->n_policies != cfg->n_policies)
				abort();
			rt_config_free(back);
			rt_diag_clear(&d2);
			free(buf);
		}
		rt_config_free(cfg);
	}
	rt_diag_clear(&diag);
	return 0;
}
