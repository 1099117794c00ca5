#pragma once
/*
 * ctl_json: a small streaming JSON writer for strowgerctl's --json output.
 *
 * Keys come out in the order they are written (stable key order is part of
 * the CLI contract). Strings are escaped per RFC 8259; bytes that are not
 * valid UTF-8 become U+FFFD so the output always parses. Output is indented
 * by two spaces per level and ends with a newline after the outermost value.
 *
 * Not thread-safe; one writer per stream. Nesting is limited to
 * CTL_JSON_DEPTH levels; deeper values set the error flag.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define CTL_JSON_DEPTH 16

struct ctl_json {
	FILE *out;
	unsigned depth;
	bool first[CTL_JSON_DEPTH]; /* no member written yet at this level */
	bool after_key;             /* a key was written; the value follows inline */
	bool failed;                /* misuse (depth); write errors show in ferror */
	bool compact;               /* one line, no spaces (JSON Lines) */
};

void ctl_json_init(struct ctl_json *j, FILE *out);
/* Same, but the whole value on one line (for one record per line). */
void ctl_json_init_compact(struct ctl_json *j, FILE *out);

void ctl_json_object_begin(struct ctl_json *j);
void ctl_json_object_end(struct ctl_json *j);
void ctl_json_array_begin(struct ctl_json *j);
void ctl_json_array_end(struct ctl_json *j);

/* Inside an object: the key of the next value. */
void ctl_json_key(struct ctl_json *j, const char *key);

/* A string value; NULL writes null. */
void ctl_json_string(struct ctl_json *j, const char *s);
void ctl_json_uint(struct ctl_json *j, uint64_t v);
void ctl_json_int(struct ctl_json *j, int64_t v);
void ctl_json_double(struct ctl_json *j, double v);
void ctl_json_bool(struct ctl_json *j, bool v);
void ctl_json_null(struct ctl_json *j);

/* Writers for "key": value in one call. */
void ctl_json_kv_string(struct ctl_json *j, const char *key, const char *s);
void ctl_json_kv_uint(struct ctl_json *j, const char *key, uint64_t v);
void ctl_json_kv_bool(struct ctl_json *j, const char *key, bool v);

/* Flush; 0 when everything was written, else -EIO (or -EINVAL on misuse). */
int ctl_json_finish(struct ctl_json *j);

/* Write s as a quoted, escaped JSON string to out (no layout). */
void ctl_json_write_string(FILE *out, const char *s);
