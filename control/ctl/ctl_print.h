#pragma once
/*
 * ctl_print: how strowgerctl shows a routing decision, as a readable block
 * or as one JSON object (SPEC section 4, CLI). Both take only the answer and
 * its explain, never the snapshot, so an answer decided offline and one
 * received from a server (native protobuf, converted to rt_answer at the
 * edge) print the same way.
 */
#include <stdio.h>

#include "rt_decide.h"

enum ctl_format {
	CTL_FORMAT_HUMAN,
	CTL_FORMAT_JSON,
	CTL_FORMAT_JSON_LINE, /* the same object on one line */
};

/*
 * Print ans (and ex, when not NULL) to out. 0, or -EIO when the output
 * could not be written.
 */
int ctl_print_answer(FILE *out, enum ctl_format fmt, const struct rt_answer *ans,
		     const struct rt_explain *ex);
