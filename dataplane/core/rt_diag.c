#include "rt_diag.h"

#include <stdlib.h>
#include <string.h>

void rt_diag_init(struct rt_diag *d)
{
	memset(d, 0, sizeof(*d));
}

void rt_diag_clear(struct rt_diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->msgs[i]);
	rt_diag_init(d);
}

void rt_diag_vadd(struct rt_diag *d, const struct rt_src *src, const char *kind,
		  const char *name, const char *fmt, va_list ap)
{
	if (d->n >= RT_DIAG_MAX) {
		d->dropped++;
		return;
	}
	char msg[1024];
	vsnprintf(msg, sizeof(msg), fmt, ap);

	char where[512] = "";
	size_t w = 0;
	if (src && src->file)
		w += (size_t)snprintf(where + w, sizeof(where) - w, "%s:", src->file);
	if (src && src->line && w < sizeof(where))
		w += (size_t)snprintf(where + w, sizeof(where) - w, "%u:", src->line);
	if (w && w < sizeof(where))
		w += (size_t)snprintf(where + w, sizeof(where) - w, " ");
	if (kind && w < sizeof(where)) {
		if (name)
			snprintf(where + w, sizeof(where) - w, "%s '%s': ", kind, name);
		else
			snprintf(where + w, sizeof(where) - w, "%s: ", kind);
	}

	size_t len = strlen(where) + strlen(msg) + 1;
	char *s = malloc(len);
	if (!s) {
		d->dropped++;
		return;
	}
	snprintf(s, len, "%s%s", where, msg);
	d->msgs[d->n++] = s;
}

void rt_diag_add(struct rt_diag *d, const struct rt_src *src, const char *kind,
		 const char *name, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	rt_diag_vadd(d, src, kind, name, fmt, ap);
	va_end(ap);
}

void rt_diag_print(const struct rt_diag *d, FILE *out)
{
	for (size_t i = 0; i < d->n; i++)
		fprintf(out, "%s\n", d->msgs[i]);
	if (d->dropped)
		fprintf(out, "(%zu more errors not shown)\n", d->dropped);
}
