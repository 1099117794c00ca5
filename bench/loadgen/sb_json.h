#pragma once
/*
 * sb_json: just enough JSON for strowger-bench. A pull reader for the
 * expectation lines `strowgerctl batch` prints (objects, arrays, strings
 * with escapes, integers; other values skipped), and string escaping for
 * the --json report. Not a general parser: nesting depth is capped and
 * numbers other than integers are only skipped.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct sb_jr {
	const char *p;
	const char *end;
	const char *err; /* first error, static text; NULL while fine */
};

void sb_jr_init(struct sb_jr *r, const char *s, size_t len);

/* The next value's first character after whitespace ('\0' at the end). */
char sb_jr_peek(struct sb_jr *r);

/*
 * Objects: sb_jr_obj_begin consumes '{'; then each sb_jr_obj_next returns 1
 * with the key decoded into key[cap] and the ':' consumed (read or skip the
 * value next), 0 after the closing '}', -1 on error (r->err set).
 */
int sb_jr_obj_begin(struct sb_jr *r);
int sb_jr_obj_next(struct sb_jr *r, char *key, size_t cap);
/* Arrays likewise: 1 when a value follows, 0 after ']', -1 on error. */
int sb_jr_arr_begin(struct sb_jr *r);
int sb_jr_arr_next(struct sb_jr *r);

/* A string value into buf[cap] (NUL-terminated, UTF-8); its length in *len.
 * 0 or -1 (not a string, bad escape, longer than cap - 1). */
int sb_jr_string(struct sb_jr *r, char *buf, size_t cap, size_t *len);
/* An integer value. 0 or -1. */
int sb_jr_int(struct sb_jr *r, long long *v);
/* true (and consumed) when the next value is null. */
bool sb_jr_null(struct sb_jr *r);
/* Skip any value. 0 or -1. */
int sb_jr_skip(struct sb_jr *r);
/* 0 when only whitespace is left, else -1. */
int sb_jr_end(struct sb_jr *r);

/* Write s as a JSON string (quoted, escaped). */
void sb_json_str(FILE *f, const char *s);
