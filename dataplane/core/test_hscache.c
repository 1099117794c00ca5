/*
 * rt_hscache: compiled Hyperscan databases cached in a directory.
 *
 * - siphash_vectors: the reference SipHash-2-4 vectors, and the streamed
 *   checksum equal to one pass over the same bytes.
 * - miss_then_hit: a first build compiles and stores one file, a second of
 *   the same set deserialises it; both scan exactly like an uncached build.
 * - other_sets_miss: a changed pattern, a changed order, another group
 *   split (so other ids) each compile and store a file of their own.
 * - bad_files_recompiled: truncated, empty, a flipped byte in the header or
 *   the payload, another format version, a file of another set under this
 *   one's name, a payload Hyperscan rejects behind a valid header: each is
 *   counted as an error and logged, the build succeeds with the right
 *   answers, and the file is replaced by a good one.
 * - parse_rejects_every_flip: any single byte changed or any truncation of
 *   a file is detected by rt_hscache_parse.
 * - disabled_no_files: without a directory nothing is written or counted.
 * - bounded: at most N files / B bytes, least recently used first (a hit
 *   refreshes), the file just stored always stays; stale temporary files
 *   are removed, fresh ones kept.
 * - compile_errors_unchanged: a bad pattern fails as without the cache and
 *   stores nothing; an unusable directory leaves the cache off.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "rt_hscache.h"
#include "rt_matcher.h"

/* Patterns rt_classify leaves to Hyperscan, mixed with trie ones. */
static const char *const SET_A[] = {
	"^\\+1425555(\\d{4});ext=(\\d+)$",
	"^\\+1425\\d*$", /* trie */
	"(?i)^\\+44sip",
	"^\\+1(206|425)\\d{7}(;ext=\\d{1,5})?$",
	"^tel:\\+1\\d+$",
	"\\d{3}-\\d{4}",
	"^\\+49\\d{6,12}$", /* trie */
	"^\\+1(?i)x",
	"^(\\+|00)33[1-9]\\d{8}$",
};
#define N_A (sizeof(SET_A) / sizeof(SET_A[0]))

static const char *const INPUTS[] = {
	"+14255550100;ext=12", "+14255550100", "+4412345", "+44SIP", "+44sip", "+44Sip9",
	"tel:+1206", "tel:+1", "555-1234", "x555-12345", "+12065551234;ext=7", "+12065551234",
	"+12065551234;ext=123456", "+4912345678", "+49123", "+1X", "+1x", "+33123456789",
	"0033123456789", "+330123456789", "", "\n", "+14255550100\n", "+",
};
#define N_INPUTS (sizeof(INPUTS) / sizeof(INPUTS[0]))

static char dir[256];
static char logged[4096];
static int n_warn;

static void on_log(enum rt_hscache_level lvl, const char *msg)
{
	if (lvl == RT_HSCACHE_WARN)
		n_warn++;
	size_t l = strlen(logged);
	snprintf(logged + l, sizeof(logged) - l, "%s\n", msg);
}

static int setup(void **state)
{
	const char *t = getenv("TMPDIR");
	snprintf(dir, sizeof(dir), "%s/test_hscache.XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(dir))
		return -1;
	rt_hscache_set_log(on_log);
	rt_hscache_set_limits(0, 0);
	logged[0] = '\0';
	n_warn = 0;
	return rt_hscache_set_dir(dir);
}

static int teardown(void **state)
{
	rt_hscache_set_dir(NULL);
	rt_hscache_set_log(NULL);
	rt_hscache_set_limits(0, 0);
	DIR *d = opendir(dir);
	if (d) {
		struct dirent *de;
		while ((de = readdir(d)) != NULL)
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				unlinkat(dirfd(d), de->d_name, 0);
		closedir(d);
	}
	rmdir(dir);
	return 0;
}

/* ---- helpers ------------------------------------------------------------------ */

/* The cache files in dir (names into names[] when given). */
static int list_files(char names[][64], int cap)
{
	int n = 0;
	DIR *d = opendir(dir);
	assert_non_null(d);
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);
		if (de->d_name[0] == '.' || l < 5 || strcmp(de->d_name + l - 5, ".hsdb"))
			continue;
		if (names && n < cap)
			snprintf(names[n], 64, "%s", de->d_name);
		n++;
	}
	closedir(d);
	return n;
}

static int count_files(void)
{
	return list_files(NULL, 0);
}

static void file_path(const char *name, char *out, size_t len)
{
	snprintf(out, len, "%.255s/%.200s", dir, name);
}

static uint8_t *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *b = malloc(n > 0 ? (size_t)n : 1);
	assert_non_null(b);
	assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return b;
}

static void write_file(const char *path, const void *p, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, len, f), len);
	fclose(f);
}

static void set_mtime(const char *path, time_t t)
{
	struct timespec ts[2] = {{t, 0}, {t, 0}};
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static struct rt_hscache_stats stats(void)
{
	struct rt_hscache_stats s;
	rt_hscache_stats(&s);
	return s;
}

static struct rt_hscache_stats delta(const struct rt_hscache_stats *before)
{
	struct rt_hscache_stats s = stats();
	s.hits -= before->hits;
	s.misses -= before->misses;
	s.stores -= before->stores;
	s.errors -= before->errors;
	return s;
}

static void build_groups(struct rt_matcher *m, const char *const *pats, uint32_t n,
			 const uint32_t *ends, uint32_t n_groups)
{
	struct rt_src srcs[16] = {{0}};
	const char *names[16];
	struct rt_diag d;
	assert_true(n <= 16);
	for (uint32_t i = 0; i < n; i++)
		names[i] = pats[i];
	rt_diag_init(&d);
	int rc = rt_matcher_build_groups(m, pats, n, ends, n_groups, srcs, "route", names, &d);
	if (rc)
		fail_msg("build: %d: %s", rc, d.n ? d.msgs[0] : "?");
	rt_diag_clear(&d);
	assert_non_null(m->db); /* these sets always need Hyperscan */
	assert_true(m->n_trie < n);
}

static void build(struct rt_matcher *m, const char *const *pats, uint32_t n)
{
	build_groups(m, pats, n, &n, 1);
}

static int add_bit(unsigned id, void *p)
{
	*(uint64_t *)p |= 1ull << id;
	return 0;
}

/* Which patterns match each input, one bitmask per input. */
static void answers(const struct rt_matcher *m, uint64_t out[N_INPUTS])
{
	hs_scratch_t *scratch = NULL;
	assert_int_equal(rt_matcher_ready(m, &scratch), 0);
	for (size_t i = 0; i < N_INPUTS; i++) {
		out[i] = 0;
		assert_int_equal(rt_matcher_scan(m, INPUTS[i], strlen(INPUTS[i]), scratch, add_bit,
						 &out[i]),
				 0);
	}
	hs_free_scratch(scratch);
}

/* The answers of an uncached build of the set. */
static void reference(const char *const *pats, uint32_t n, uint64_t out[N_INPUTS])
{
	char *saved = rt_hscache_dir() ? strdup(rt_hscache_dir()) : NULL;
	struct rt_matcher m;
	rt_hscache_set_dir(NULL);
	build(&m, pats, n);
	answers(&m, out);
	rt_matcher_free(&m);
	assert_int_equal(rt_hscache_set_dir(saved), 0);
	free(saved);
}

static void assert_answers(const struct rt_matcher *m, const uint64_t want[N_INPUTS])
{
	uint64_t got[N_INPUTS];
	answers(m, got);
	for (size_t i = 0; i < N_INPUTS; i++)
		if (got[i] != want[i])
			fail_msg("input '%s': matched %#llx, want %#llx", INPUTS[i],
				 (unsigned long long)got[i], (unsigned long long)want[i]);
}

#define ASSERT_DELTA(d, h, m, s, e)                                                    \
	do {                                                                           \
		assert_int_equal((d).hits, (h));                                       \
		assert_int_equal((d).misses, (m));                                     \
		assert_int_equal((d).stores, (s));                                     \
		assert_int_equal((d).errors, (e));                                     \
	} while (0)

/* ---- tests -------------------------------------------------------------------- */

static void siphash_vectors(void **state)
{
	/* From the SipHash paper's reference implementation (key 00..0f,
	 * message 00..len-1). */
	static const struct {
		size_t len;
		uint64_t want;
	} V[] = {
		{0, 0x726fdb47dd0e0e31ull},  {1, 0x74f839c593dc67fdull},
		{8, 0x93f5f5799a932462ull},  {15, 0xa129ca6149be45e5ull},
		{63, 0x958a324ceb064572ull},
	};
	uint8_t k[16], msg[64];
	for (int i = 0; i < 16; i++)
		k[i] = (uint8_t)i;
	for (int i = 0; i < 64; i++)
		msg[i] = (uint8_t)i;
	for (size_t i = 0; i < sizeof(V) / sizeof(V[0]); i++)
		assert_int_equal(rt_siphash(k, msg, V[i].len), V[i].want);

	/* The checksum streams header, payload and inputs at odd offsets: it
	 * must equal one pass over the concatenation. */
	uint8_t key[16] = {1, 2, 3}, payload[77], inputs[13], hdr[RT_HSCACHE_HDR];
	uint8_t all[48 + sizeof(payload) + sizeof(inputs)];
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 7 + 1);
	for (size_t plen = 0; plen <= sizeof(payload); plen += 11) {
		for (size_t ilen = 0; ilen <= sizeof(inputs); ilen += 3) {
			for (size_t i = 0; i < ilen; i++)
				inputs[i] = (uint8_t)(i + plen);
			rt_hscache_header(hdr, key, payload, plen, inputs, ilen);
			memcpy(all, hdr, 48);
			memcpy(all + 48, payload, plen);
			memcpy(all + 48 + plen, inputs, ilen);
			uint64_t sum = 0;
			for (int b = 0; b < 8; b++)
				sum |= (uint64_t)hdr[48 + b] << (8 * b);
			assert_int_equal(sum, rt_siphash((const uint8_t *)"strowger-hs-sum!", all,
							 48 + plen + ilen));
		}
	}
}

static void miss_then_hit(void **state)
{
	uint64_t want[N_INPUTS];
	reference(SET_A, N_A, want);

	struct rt_hscache_stats s0 = stats();
	struct rt_matcher m1, m2;
	build(&m1, SET_A, N_A);
	ASSERT_DELTA(delta(&s0), 0, 1, 1, 0);
	assert_int_equal(count_files(), 1);
	char name[1][64];
	list_files(name, 1);
	assert_int_equal(strlen(name[0]), 32 + 5);

	build(&m2, SET_A, N_A);
	ASSERT_DELTA(delta(&s0), 1, 1, 1, 0);
	assert_int_equal(count_files(), 1);
	assert_answers(&m1, want);
	assert_answers(&m2, want);
	assert_int_equal(m1.db_size, m2.db_size);
	assert_int_equal(m1.hs_filter, m2.hs_filter);
	assert_int_equal(n_warn, 0);
	rt_matcher_free(&m1);
	rt_matcher_free(&m2);
}

static void other_sets_miss(void **state)
{
	const char *changed[N_A], *swapped[N_A];
	memcpy(changed, SET_A, sizeof(SET_A));
	memcpy(swapped, SET_A, sizeof(SET_A));
	changed[3] = "^\\+1(206|425)\\d{7}(;ext=\\d{1,6})?$";
	swapped[0] = SET_A[2];
	swapped[2] = SET_A[0];
	struct rt_matcher m;
	struct rt_hscache_stats s0 = stats();

	build(&m, SET_A, N_A);
	rt_matcher_free(&m);
	ASSERT_DELTA(delta(&s0), 0, 1, 1, 0);

	uint64_t want[N_INPUTS];
	reference(changed, N_A, want);
	build(&m, changed, N_A);
	ASSERT_DELTA(delta(&s0), 0, 2, 2, 0);
	assert_answers(&m, want);
	rt_matcher_free(&m);

	reference(swapped, N_A, want);
	build(&m, swapped, N_A);
	ASSERT_DELTA(delta(&s0), 0, 3, 3, 0);
	assert_answers(&m, want);
	rt_matcher_free(&m);

	/* In groups, the same patterns keep their ids: the same database. */
	uint32_t ends[2] = {4, N_A};
	build_groups(&m, SET_A, N_A, ends, 2);
	ASSERT_DELTA(delta(&s0), 1, 3, 3, 0);
	rt_matcher_free(&m);
	/* One pattern fewer: other ids and set. */
	build(&m, SET_A + 1, N_A - 1);
	ASSERT_DELTA(delta(&s0), 1, 4, 4, 0);
	rt_matcher_free(&m);
	assert_int_equal(count_files(), 4);
	assert_int_equal(n_warn, 0);
}

enum damage { TRUNCATE, EMPTY, FLIP_HEADER, FLIP_PAYLOAD, FLIP_INPUTS, VERSION, FOREIGN,
	      BAD_PAYLOAD, N_DAMAGE };

static void bad_files_recompiled(void **state)
{
	const char *other[N_A];
	memcpy(other, SET_A, sizeof(SET_A));
	other[5] = "\\d{3}-\\d{5}";
	uint64_t want[N_INPUTS];
	reference(SET_A, N_A, want);

	/* A good file of SET_A, and one of another set. */
	struct rt_matcher m;
	build(&m, other, N_A);
	rt_matcher_free(&m);
	char names[2][64], fother[512];
	list_files(names, 1);
	file_path(names[0], fother, sizeof(fother));
	size_t olen;
	uint8_t *obuf = read_file(fother, &olen);
	unlink(fother);
	build(&m, SET_A, N_A);
	rt_matcher_free(&m);
	assert_int_equal(list_files(names, 1), 1);
	char path[512];
	file_path(names[0], path, sizeof(path));
	size_t glen;
	uint8_t *good = read_file(path, &glen);
	struct rt_hscache_file f;
	assert_int_equal(rt_hscache_parse(good, glen, &f), 0);

	for (int dmg = 0; dmg < N_DAMAGE; dmg++) {
		uint8_t *b = malloc(glen + 4096);
		size_t len = glen;
		memcpy(b, good, glen);
		switch (dmg) {
		case TRUNCATE:
			len = glen / 2;
			break;
		case EMPTY:
			len = 0;
			break;
		case FLIP_HEADER:
			b[40] ^= 0x01; /* inputs length */
			break;
		case FLIP_PAYLOAD:
			b[RT_HSCACHE_HDR + f.payload_len / 2] ^= 0x80;
			break;
		case FLIP_INPUTS:
			b[glen - 3] ^= 0x20; /* a pattern byte */
			break;
		case VERSION:
			b[8] = 2;
			break;
		case FOREIGN: /* another set's file under this set's name */
			memcpy(b, obuf, olen);
			len = olen;
			break;
		case BAD_PAYLOAD: {
			/* Checksum right, payload not a database: only Hyperscan
			 * can tell. */
			uint8_t junk[1000];
			memset(junk, 0xab, sizeof(junk));
			rt_hscache_header(b, f.key, junk, sizeof(junk), f.inputs, f.inputs_len);
			memcpy(b + RT_HSCACHE_HDR, junk, sizeof(junk));
			memcpy(b + RT_HSCACHE_HDR + sizeof(junk), f.inputs, f.inputs_len);
			len = RT_HSCACHE_HDR + sizeof(junk) + f.inputs_len;
			break;
		}
		}
		write_file(path, b, len);
		free(b);

		struct rt_hscache_stats s0 = stats();
		logged[0] = '\0';
		n_warn = 0;
		build(&m, SET_A, N_A);
		ASSERT_DELTA(delta(&s0), 0, 1, 1, 1);
		assert_answers(&m, want);
		rt_matcher_free(&m);
		if (n_warn != 1 || !strstr(logged, names[0]))
			fail_msg("damage %d: log: %s", dmg, logged);
		/* Replaced by a good file: the next build hits. */
		build(&m, SET_A, N_A);
		ASSERT_DELTA(delta(&s0), 1, 1, 1, 1);
		assert_answers(&m, want);
		rt_matcher_free(&m);
		assert_int_equal(count_files(), 1);
	}
	free(good);
	free(obuf);
}

static void parse_rejects_every_flip(void **state)
{
	struct rt_matcher m;
	build(&m, SET_A, N_A);
	rt_matcher_free(&m);
	char names[1][64], path[512];
	list_files(names, 1);
	file_path(names[0], path, sizeof(path));
	size_t len;
	uint8_t *b = read_file(path, &len);
	struct rt_hscache_file f;
	assert_int_equal(rt_hscache_parse(b, len, &f), 0);
	assert_ptr_equal(f.payload, b + RT_HSCACHE_HDR);
	assert_int_equal(f.payload_len + f.inputs_len + RT_HSCACHE_HDR, len);
	for (size_t i = 0; i < len; i++) {
		for (int bit = 0; bit < 8; bit += 3) {
			b[i] ^= (uint8_t)(1u << bit);
			if (rt_hscache_parse(b, len, &f) != -EBADMSG)
				fail_msg("byte %zu bit %d flipped: parsed", i, bit);
			b[i] ^= (uint8_t)(1u << bit);
		}
	}
	for (size_t l = 0; l < len; l++)
		assert_int_equal(rt_hscache_parse(b, l, &f), -EBADMSG);
	free(b);
}

static void disabled_no_files(void **state)
{
	rt_hscache_set_dir(NULL);
	assert_null(rt_hscache_dir());
	struct rt_hscache_stats s0 = stats();
	struct rt_matcher m;
	build(&m, SET_A, N_A);
	uint64_t want[N_INPUTS];
	reference(SET_A, N_A, want); /* (restores the dir: none) */
	assert_answers(&m, want);
	rt_matcher_free(&m);
	ASSERT_DELTA(delta(&s0), 0, 0, 0, 0);
	assert_int_equal(count_files(), 0);
}

/* Sets that differ in their first pattern. */
static void numbered_set(const char **pats, char *buf, int i)
{
	memcpy(pats, SET_A, sizeof(SET_A));
	snprintf(buf, 64, "^\\+1425555(\\d{4});ext=%d(\\d+)$", i);
	pats[0] = buf;
}

static void bounded(void **state)
{
	const char *sets[6][N_A];
	char bufs[6][64], names[8][64], path[512];
	struct rt_matcher m;
	time_t now = time(NULL);
	char set_file[6][64];

	rt_hscache_set_limits(3, 0);
	for (int i = 0; i < 3; i++) {
		numbered_set(sets[i], bufs[i], i);
		build(&m, sets[i], N_A);
		rt_matcher_free(&m);
	}
	/* Which file is which set: the one each store added. Oldest first. */
	assert_int_equal(list_files(names, 8), 3);
	for (int i = 0; i < 3; i++) {
		file_path(names[i], path, sizeof(path));
		size_t len;
		uint8_t *b = read_file(path, &len);
		struct rt_hscache_file f;
		assert_int_equal(rt_hscache_parse(b, len, &f), 0);
		for (int s = 0; s < 3; s++)
			if (memmem(f.inputs, f.inputs_len, bufs[s], strlen(bufs[s])))
				snprintf(set_file[s], 64, "%.63s", names[i]);
		free(b);
	}
	for (int s = 0; s < 3; s++) {
		file_path(set_file[s], path, sizeof(path));
		set_mtime(path, now - 300 + 100 * s);
	}
	/* A hit on set 0 makes it the most recently used. */
	struct rt_hscache_stats s0 = stats();
	build(&m, sets[0], N_A);
	rt_matcher_free(&m);
	ASSERT_DELTA(delta(&s0), 1, 0, 0, 0);
	/* Set 3 pushes out set 1, the least recently used. */
	numbered_set(sets[3], bufs[3], 3);
	build(&m, sets[3], N_A);
	rt_matcher_free(&m);
	assert_int_equal(count_files(), 3);
	file_path(set_file[1], path, sizeof(path));
	assert_int_equal(access(path, F_OK), -1);
	file_path(set_file[0], path, sizeof(path));
	assert_int_equal(access(path, F_OK), 0);
	file_path(set_file[2], path, sizeof(path));
	assert_int_equal(access(path, F_OK), 0);
	s0 = stats();
	build(&m, sets[1], N_A);
	rt_matcher_free(&m);
	ASSERT_DELTA(delta(&s0), 0, 1, 1, 0);

	/* Bytes: room for one file only; the one just stored stays even when
	 * its mtime is not the newest. */
	file_path(set_file[0], path, sizeof(path));
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	rt_hscache_set_limits(0, (uint64_t)sb.st_size + 10);
	/* Stale and fresh temporary files of crashed writers. */
	char stale[512], fresh[512];
	snprintf(stale, sizeof(stale), "%s/.%s.tmp.1.1", dir, set_file[0]);
	snprintf(fresh, sizeof(fresh), "%s/.%s.tmp.1.2", dir, set_file[0]);
	write_file(stale, "x", 1);
	write_file(fresh, "x", 1);
	set_mtime(stale, now - 3600);
	numbered_set(sets[4], bufs[4], 4);
	build(&m, sets[4], N_A);
	rt_matcher_free(&m);
	assert_int_equal(count_files(), 1);
	assert_int_equal(access(stale, F_OK), -1);
	assert_int_equal(access(fresh, F_OK), 0);
	unlink(fresh);
	s0 = stats();
	build(&m, sets[4], N_A);
	rt_matcher_free(&m);
	ASSERT_DELTA(delta(&s0), 1, 0, 0, 0);
	assert_int_equal(n_warn, 0);
}

static void compile_errors_unchanged(void **state)
{
	static const char *const bad[] = {"^\\+1(?i)x", "^\\+1(abc", "^\\+44\\d*$"};
	struct rt_matcher m;
	struct rt_src srcs[3] = {{0}};
	struct rt_diag d;
	struct rt_hscache_stats s0 = stats();
	rt_diag_init(&d);
	assert_int_equal(rt_matcher_build(&m, bad, 3, srcs, "route", bad, &d), -EINVAL);
	assert_true(d.n >= 1);
	assert_non_null(strstr(d.msgs[0], "^\\+1(abc"));
	rt_diag_clear(&d);
	ASSERT_DELTA(delta(&s0), 0, 1, 0, 0);
	assert_int_equal(count_files(), 0);

	/* A file where the directory should be: the cache stays off. */
	char notdir[512];
	snprintf(notdir, sizeof(notdir), "%s/plain", dir);
	write_file(notdir, "x", 1);
	assert_int_equal(rt_hscache_set_dir(notdir), -ENOTDIR);
	assert_null(rt_hscache_dir());
	unlink(notdir);
	/* A missing parent. */
	snprintf(notdir, sizeof(notdir), "%s/no/such", dir);
	assert_int_equal(rt_hscache_set_dir(notdir), -ENOENT);
	assert_null(rt_hscache_dir());
	/* Created when the parent exists. */
	snprintf(notdir, sizeof(notdir), "%s/sub", dir);
	assert_int_equal(rt_hscache_set_dir(notdir), 0);
	assert_string_equal(rt_hscache_dir(), notdir);
	build(&m, SET_A, N_A);
	rt_matcher_free(&m);
	rt_hscache_set_dir(NULL);
	DIR *dd = opendir(notdir);
	assert_non_null(dd);
	struct dirent *de;
	int n = 0;
	while ((de = readdir(dd)) != NULL)
		if (de->d_name[0] != '.') {
			char p[700];
			snprintf(p, sizeof(p), "%.400s/%.200s", notdir, de->d_name);
			unlink(p);
			n++;
		}
	closedir(dd);
	rmdir(notdir);
	assert_int_equal(n, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(siphash_vectors),
		cmocka_unit_test_setup_teardown(miss_then_hit, setup, teardown),
		cmocka_unit_test_setup_teardown(other_sets_miss, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_files_recompiled, setup, teardown),
		cmocka_unit_test_setup_teardown(parse_rejects_every_flip, setup, teardown),
		cmocka_unit_test_setup_teardown(disabled_no_files, setup, teardown),
		cmocka_unit_test_setup_teardown(bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(compile_errors_unchanged, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
