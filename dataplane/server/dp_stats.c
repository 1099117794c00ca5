/* dp_stats: freeing the names a dp_stats owns (see dp_stats.h). */
#include "dp_stats.h"

#include <stdlib.h>
#include <string.h>

static void free_name_counts(struct dp_name_count *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

void dp_stats_free(struct dp_stats *s)
{
	if (!s)
		return;
	free_name_counts(s->route_hits, s->n_route_hits);
	free_name_counts(s->gw_selections, s->n_gw_selections);
	for (size_t i = 0; i < s->n_health; i++)
		free(s->health[i].name);
	free(s->health);
	/* Zeroed, so freeing twice (or freeing a never-filled one) is harmless. */
	memset(s, 0, sizeof(*s));
}
