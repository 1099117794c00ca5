#include "test_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cfg_yaml.h"

static struct tcfg *finish(struct rt_config *cfg, struct rt_diag *d)
{
	if (!cfg) {
		rt_diag_print(d, stderr);
		fail_msg("config did not load");
	}
	struct rt_snapshot *s = rt_snapshot_build(cfg, 1, d);
	rt_config_free(cfg);
	if (!s) {
		rt_diag_print(d, stderr);
		fail_msg("config did not compile");
	}
	rt_diag_clear(d);
	struct tcfg *t = calloc(1, sizeof(*t));
	assert_non_null(t);
	t->snap = s;
	t->sc = rt_scratch_new(s);
	assert_non_null(t->sc);
	t->gw_health = calloc(rt_snapshot_gateway_count(s) + 1, 1);
	t->site_health = calloc(rt_snapshot_site_count(s) + 1, 1);
	t->view.gateway = t->gw_health;
	t->view.site = t->site_health;
	return t;
}

struct tcfg *tcfg_load(const char *yaml)
{
	struct rt_diag d;
	rt_diag_init(&d);
	return finish(cfg_yaml_load_buffer(yaml, strlen(yaml), "test.yaml", &d), &d);
}

struct tcfg *tcfg_load_file(const char *path)
{
	struct rt_diag d;
	rt_diag_init(&d);
	return finish(cfg_yaml_load_file(path, &d), &d);
}

void tcfg_free(struct tcfg *t)
{
	if (!t)
		return;
	rt_scratch_free(t->sc);
	rt_snapshot_free(t->snap);
	free(t->gw_health);
	free(t->site_health);
	free(t);
}

char *tcfg_errors(const char *yaml)
{
	struct rt_diag d;
	rt_diag_init(&d);
	struct rt_config *cfg = cfg_yaml_load_buffer(yaml, strlen(yaml), "test.yaml", &d);
	if (cfg) {
		struct rt_snapshot *s = rt_snapshot_build(cfg, 1, &d);
		rt_config_free(cfg);
		if (s) {
			rt_snapshot_free(s);
			fail_msg("config compiled but errors were expected");
		}
	}
	size_t len = 1;
	for (size_t i = 0; i < d.n; i++)
		len += strlen(d.msgs[i]) + 1;
	char *out = calloc(1, len);
	assert_non_null(out);
	for (size_t i = 0; i < d.n; i++) {
		strcat(out, d.msgs[i]);
		strcat(out, "\n");
	}
	rt_diag_clear(&d);
	return out;
}

void tcfg_health(struct tcfg *t, const char *gateway, enum rt_health h)
{
	long g = rt_snapshot_gateway_index(t->snap, gateway, (size_t)-1);
	assert_true(g >= 0);
	t->gw_health[g] = (uint8_t)h;
}

void tcfg_site_health(struct tcfg *t, const char *site, enum rt_health h)
{
	long s = rt_snapshot_site_index(t->snap, site, (size_t)-1);
	assert_true(s >= 0);
	t->site_health[s] = (uint8_t)h;
}

void tq_run(struct tcfg *t, const struct tq *tq, struct rt_answer *ans, struct rt_explain *ex)
{
	struct rt_query q;
	memset(&q, 0, sizeof(q));
	q.called = rt_str_c(tq->called);
	q.calling = rt_str_c(tq->calling);
	q.policy = rt_str_c(tq->policy);
	q.call_id = rt_str_c(tq->call_id);
	for (int i = 0; i < 4 && tq->tried_gw[i]; i++) {
		q.tried[i].gateway = rt_str_c(tq->tried_gw[i]);
		q.tried[i].code = (uint16_t)tq->tried_code[i];
		q.n_tried++;
	}
	q.max_destinations = tq->max;
	rt_decide(t->snap, &t->view, &q, t->sc, ans, ex);
}

const char *tq_gateways(const struct rt_answer *ans, char *buf, size_t len)
{
	size_t w = 0;
	buf[0] = '\0';
	for (uint32_t i = 0; i < ans->n_dest && w < len; i++) {
		const char *n = ans->dest[i].gateway ? ans->dest[i].gateway : ans->dest[i].uri;
		w += (size_t)snprintf(buf + w, len - w, "%s%s", i ? "," : "", n);
	}
	return buf;
}
