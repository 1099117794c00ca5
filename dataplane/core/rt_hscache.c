/*
 * rt_hscache: see rt_hscache.h.
 */
#include "rt_hscache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rt_file.h"

#define MAGIC "STRGHSDB"
#define FORMAT_VERSION 1u
/* Larger than this is not a file of ours (carrier-scale databases are a
 * few hundred MiB at most). */
#define FILE_MAX (4ull << 30)
/* A temporary file this old is a crashed writer's: removed when pruning. */
#define STALE_TMP_S 600

static char *cache_dir; /* set before threads; NULL: off */
static _Atomic(rt_hscache_log_fn) log_fn;
static _Atomic unsigned max_files = RT_HSCACHE_MAX_FILES;
static _Atomic uint64_t max_bytes = RT_HSCACHE_MAX_BYTES;
static _Atomic uint64_t n_hits, n_misses, n_stores, n_errors;
static _Atomic unsigned tmp_serial;

/* Three fixed SipHash keys: two for the name, one for the checksum. */
static const char key_a[] = "strowger-hs-keyA";
static const char key_b[] = "strowger-hs-keyB";
static const char key_sum[] = "strowger-hs-sum!";

/* ---- SipHash-2-4 -------------------------------------------------------- */

struct sip {
	uint64_t v0, v1, v2, v3;
	uint64_t tail; /* bytes not yet compressed, little-endian */
	size_t len;    /* bytes seen */
};

static uint64_t rotl(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

static uint64_t get_le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void sip_round(struct sip *s)
{
	s->v0 += s->v1;
	s->v1 = rotl(s->v1, 13);
	s->v1 ^= s->v0;
	s->v0 = rotl(s->v0, 32);
	s->v2 += s->v3;
	s->v3 = rotl(s->v3, 16);
	s->v3 ^= s->v2;
	s->v0 += s->v3;
	s->v3 = rotl(s->v3, 21);
	s->v3 ^= s->v0;
	s->v2 += s->v1;
	s->v1 = rotl(s->v1, 17);
	s->v1 ^= s->v2;
	s->v2 = rotl(s->v2, 32);
}

static void sip_init(struct sip *s, const uint8_t k[16])
{
	uint64_t k0 = get_le64(k), k1 = get_le64(k + 8);
	s->v0 = k0 ^ 0x736f6d6570736575ull;
	s->v1 = k1 ^ 0x646f72616e646f6dull;
	s->v2 = k0 ^ 0x6c7967656e657261ull;
	s->v3 = k1 ^ 0x7465646279746573ull;
	s->tail = 0;
	s->len = 0;
}

static void sip_word(struct sip *s, uint64_t m)
{
	s->v3 ^= m;
	sip_round(s);
	sip_round(s);
	s->v0 ^= m;
}

static void sip_update(struct sip *s, const void *data, size_t n)
{
	const uint8_t *p = data;
	/* Complete a partial word first. */
	while (n && (s->len & 7)) {
		s->tail |= (uint64_t)*p++ << (8 * (s->len & 7));
		s->len++;
		n--;
		if (!(s->len & 7)) {
			sip_word(s, s->tail);
			s->tail = 0;
		}
	}
	for (; n >= 8; n -= 8, p += 8) {
		sip_word(s, get_le64(p));
		s->len += 8;
	}
	while (n--) {
		s->tail |= (uint64_t)*p++ << (8 * (s->len & 7));
		s->len++;
	}
}

static uint64_t sip_final(struct sip *s)
{
	sip_word(s, s->tail | (uint64_t)(s->len & 0xff) << 56);
	s->v2 ^= 0xff;
	for (int i = 0; i < 4; i++)
		sip_round(s);
	return s->v0 ^ s->v1 ^ s->v2 ^ s->v3;
}

uint64_t rt_siphash(const uint8_t k[16], const void *p, size_t len)
{
	struct sip s;
	sip_init(&s, k);
	sip_update(&s, p, len);
	return sip_final(&s);
}

/* ---- the file format -------------------------------------------------------- */

static uint64_t checksum(const uint8_t *hdr, const void *payload, size_t plen, const void *inputs,
			 size_t ilen)
{
	struct sip s;
	sip_init(&s, (const uint8_t *)key_sum);
	sip_update(&s, hdr, 48);
	sip_update(&s, payload, plen);
	sip_update(&s, inputs, ilen);
	return sip_final(&s);
}

void rt_hscache_header(uint8_t hdr[RT_HSCACHE_HDR], const uint8_t key[RT_HSCACHE_KEY],
		       const void *payload, size_t payload_len, const void *inputs,
		       size_t inputs_len)
{
	memset(hdr, 0, RT_HSCACHE_HDR);
	memcpy(hdr, MAGIC, 8);
	put_le32(hdr + 8, FORMAT_VERSION);
	put_le32(hdr + 12, RT_HSCACHE_HDR);
	memcpy(hdr + 16, key, RT_HSCACHE_KEY);
	put_le64(hdr + 32, payload_len);
	put_le64(hdr + 40, inputs_len);
	put_le64(hdr + 48, checksum(hdr, payload, payload_len, inputs, inputs_len));
}

int rt_hscache_parse(const uint8_t *buf, size_t len, struct rt_hscache_file *out)
{
	if (len < RT_HSCACHE_HDR || memcmp(buf, MAGIC, 8) != 0 ||
	    get_le32(buf + 8) != FORMAT_VERSION || get_le32(buf + 12) != RT_HSCACHE_HDR ||
	    get_le64(buf + 56) != 0)
		return -EBADMSG;
	uint64_t plen = get_le64(buf + 32), ilen = get_le64(buf + 40);
	size_t room = len - RT_HSCACHE_HDR;
	if (plen > room || ilen != room - plen)
		return -EBADMSG;
	const uint8_t *payload = buf + RT_HSCACHE_HDR, *inputs = payload + plen;
	if (get_le64(buf + 48) != checksum(buf, payload, (size_t)plen, inputs, (size_t)ilen))
		return -EBADMSG;
	out->key = buf + 16;
	out->payload = payload;
	out->payload_len = (size_t)plen;
	out->inputs = inputs;
	out->inputs_len = (size_t)ilen;
	return 0;
}

/* ---- settings, counters, log ---------------------------------------------------- */

int rt_hscache_set_dir(const char *dir)
{
	free(cache_dir);
	cache_dir = NULL;
	if (!dir)
		return 0;
	if (strlen(dir) > 3900) /* room for "/<key>.hsdb" in a 4096-byte path */
		return -ENAMETOOLONG;
	struct stat sb;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return -errno;
	if (stat(dir, &sb) != 0)
		return -errno;
	if (!S_ISDIR(sb.st_mode))
		return -ENOTDIR;
	if (access(dir, R_OK | W_OK | X_OK) != 0)
		return -errno;
	cache_dir = strdup(dir);
	return cache_dir ? 0 : -ENOMEM;
}

const char *rt_hscache_dir(void)
{
	return cache_dir;
}

void rt_hscache_set_log(rt_hscache_log_fn fn)
{
	atomic_store(&log_fn, fn);
}

void rt_hscache_set_limits(unsigned files, uint64_t bytes)
{
	atomic_store(&max_files, files ? files : RT_HSCACHE_MAX_FILES);
	atomic_store(&max_bytes, bytes ? bytes : RT_HSCACHE_MAX_BYTES);
}

void rt_hscache_stats(struct rt_hscache_stats *out)
{
	out->hits = atomic_load_explicit(&n_hits, memory_order_relaxed);
	out->misses = atomic_load_explicit(&n_misses, memory_order_relaxed);
	out->stores = atomic_load_explicit(&n_stores, memory_order_relaxed);
	out->errors = atomic_load_explicit(&n_errors, memory_order_relaxed);
}

static void count(_Atomic uint64_t *c)
{
	atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

__attribute__((format(printf, 2, 3))) static void say(enum rt_hscache_level lvl,
						      const char *fmt, ...)
{
	rt_hscache_log_fn fn = atomic_load(&log_fn);
	if (!fn)
		return;
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fn(lvl, msg);
}

static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- the inputs and their key ---------------------------------------------------- */

/* Everything the compile depends on, in one buffer (see rt_hscache.h). */
static uint8_t *build_inputs(const char *const *expr, const unsigned *flags, const unsigned *ids,
			     unsigned n, unsigned mode, const hs_platform_info_t *platform,
			     size_t *len)
{
	hs_platform_info_t host;
	if (!platform) {
		memset(&host, 0, sizeof(host));
		if (hs_populate_platform(&host) != HS_SUCCESS)
			return NULL;
		platform = &host;
	}
	const char *ver = hs_version();
	size_t vlen = strlen(ver) + 1;
	size_t total = 8 + vlen + 4 + 8 + 8 + 8 + 4 + 4;
	for (unsigned i = 0; i < n; i++)
		total += 12 + strlen(expr[i]);
	uint8_t *b = malloc(total), *p = b;
	if (!b)
		return NULL;
	memcpy(p, "STRGHSIN", 8);
	p += 8;
	memcpy(p, ver, vlen);
	p += vlen;
	put_le32(p, platform->tune);
	put_le64(p + 4, platform->cpu_features);
	put_le64(p + 12, platform->reserved1);
	put_le64(p + 20, platform->reserved2);
	put_le32(p + 28, mode);
	put_le32(p + 32, n);
	p += 36;
	for (unsigned i = 0; i < n; i++) {
		size_t l = strlen(expr[i]);
		put_le32(p, ids ? ids[i] : 0);
		put_le32(p + 4, flags ? flags[i] : 0);
		put_le32(p + 8, (uint32_t)l);
		memcpy(p + 12, expr[i], l);
		p += 12 + l;
	}
	*len = total;
	return b;
}

static void make_key(const uint8_t *inputs, size_t len, uint8_t key[RT_HSCACHE_KEY])
{
	put_le64(key, rt_siphash((const uint8_t *)key_a, inputs, len));
	put_le64(key + 8, rt_siphash((const uint8_t *)key_b, inputs, len));
}

static void key_path(const char *dir, const uint8_t key[RT_HSCACHE_KEY], char *path, size_t len)
{
	char hex[2 * RT_HSCACHE_KEY + 1];
	for (int i = 0; i < RT_HSCACHE_KEY; i++)
		snprintf(hex + 2 * i, 3, "%02x", key[i]);
	snprintf(path, len, "%s/%s.hsdb", dir, hex);
}

/* ---- lookup ----------------------------------------------------------------------- */

/*
 * The database cached at path for these inputs. 0 with *db set; -ENOENT
 * when there is no file; another -errno when the file is unusable (it is
 * then removed) with why filled.
 */
static int lookup(const char *path, const uint8_t key[RT_HSCACHE_KEY], const uint8_t *inputs,
		  size_t ilen, hs_database_t **db, char *why, size_t whylen)
{
	struct stat sb;
	uint8_t *buf = NULL;
	int rc;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return -ENOENT;
		snprintf(why, whylen, "%s", strerror(errno));
		return -errno;
	}
	if (fstat(fd, &sb) != 0) {
		rc = -errno;
		snprintf(why, whylen, "%s", strerror(errno));
		goto out;
	}
	rc = -EBADMSG;
	if (!S_ISREG(sb.st_mode) || sb.st_size < RT_HSCACHE_HDR ||
	    (uint64_t)sb.st_size > FILE_MAX) {
		snprintf(why, whylen, "not a cache file (size %lld)", (long long)sb.st_size);
		goto out;
	}
	size_t size = (size_t)sb.st_size;
	/* The payload starts 64 bytes in: aligned, as Hyperscan likes it. */
	if (posix_memalign((void **)&buf, 64, size) != 0) {
		buf = NULL;
		rc = -ENOMEM;
		snprintf(why, whylen, "out of memory (%zu bytes)", size);
		goto out;
	}
	size_t got = 0;
	while (got < size) {
		ssize_t r = read(fd, buf + got, size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			rc = r < 0 ? -errno : -EBADMSG;
			snprintf(why, whylen, "%s", r < 0 ? strerror(errno) : "short read");
			goto out;
		}
		got += (size_t)r;
	}
	struct rt_hscache_file f;
	if (rt_hscache_parse(buf, size, &f) != 0) {
		snprintf(why, whylen, "corrupt (bad header, length or checksum)");
		goto out;
	}
	if (memcmp(f.key, key, RT_HSCACHE_KEY) != 0 || f.inputs_len != ilen ||
	    memcmp(f.inputs, inputs, ilen) != 0) {
		snprintf(why, whylen, "compiled from other patterns (key collision or renamed file)");
		goto out;
	}
	hs_error_t he = hs_deserialize_database((const char *)f.payload, f.payload_len, db);
	if (he != HS_SUCCESS) {
		*db = NULL;
		snprintf(why, whylen, "Hyperscan cannot deserialise it (error %d)", (int)he);
		goto out;
	}
	/* Most recently used: pruning goes by mtime. */
	futimens(fd, NULL);
	rc = 0;
out:
	free(buf);
	close(fd);
	if (rc && rc != -ENOMEM)
		unlink(path);
	return rc;
}

/* ---- store ------------------------------------------------------------------------- */

static int store(const char *dir, const char *path, const uint8_t key[RT_HSCACHE_KEY],
		 const uint8_t *inputs, size_t ilen, const hs_database_t *db, char *why,
		 size_t whylen)
{
	char *bytes = NULL;
	size_t blen = 0;
	char tmp[4200];
	uint8_t hdr[RT_HSCACHE_HDR];

	if (hs_serialize_database(db, &bytes, &blen) != HS_SUCCESS) {
		snprintf(why, whylen, "Hyperscan cannot serialise the database");
		return -EIO;
	}
	rt_hscache_header(hdr, key, bytes, blen, inputs, ilen);
	const char *base = strrchr(path, '/');
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp.%ld.%u", dir, base ? base + 1 : path, (long)getpid(),
		 atomic_fetch_add(&tmp_serial, 1));
	struct iovec iov[3] = {{hdr, sizeof(hdr)}, {bytes, blen}, {(void *)inputs, ilen}};
	int rc = rt_file_replace(dir, path, tmp, true, iov, 3, why, whylen);
	free(bytes); /* hs_serialize_database used the misc allocator: malloc */
	return rc;
}

/* ---- pruning ------------------------------------------------------------------------ */

struct entry {
	char name[64];
	struct timespec mtime;
	uint64_t size;
};

static int newest_first(const void *pa, const void *pb)
{
	const struct entry *a = pa, *b = pb;
	if (a->mtime.tv_sec != b->mtime.tv_sec)
		return a->mtime.tv_sec > b->mtime.tv_sec ? -1 : 1;
	if (a->mtime.tv_nsec != b->mtime.tv_nsec)
		return a->mtime.tv_nsec > b->mtime.tv_nsec ? -1 : 1;
	return strcmp(a->name, b->name);
}

static bool has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);
	return n >= m && !strcmp(s + n - m, suf);
}

/* Keep the most recently used files within the bounds, and `keep`. */
static void prune(const char *dir, const char *keep)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct entry *e = NULL;
	size_t n = 0, cap = 0;
	time_t now = time(NULL);
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		const char *nm = de->d_name;
		bool tmp = nm[0] == '.' && strstr(nm, ".hsdb.tmp.") != NULL;
		if (!tmp && (nm[0] == '.' || !has_suffix(nm, ".hsdb") || strlen(nm) >= sizeof(e->name)))
			continue;
		struct stat sb;
		if (fstatat(dirfd(d), nm, &sb, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(sb.st_mode))
			continue;
		if (tmp) {
			if (now - sb.st_mtim.tv_sec > STALE_TMP_S)
				unlinkat(dirfd(d), nm, 0);
			continue;
		}
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 64;
			struct entry *ne = realloc(e, nc * sizeof(*e));
			if (!ne)
				break;
			e = ne;
			cap = nc;
		}
		snprintf(e[n].name, sizeof(e[n].name), "%s", nm);
		e[n].mtime = sb.st_mtim;
		e[n].size = (uint64_t)sb.st_size;
		n++;
	}
	if (n) {
		qsort(e, n, sizeof(*e), newest_first);
		unsigned files = atomic_load(&max_files);
		uint64_t bytes = atomic_load(&max_bytes), used = 0, kept = 0;
		/* The file just stored counts first, whatever its mtime says. */
		for (size_t i = 0; i < n; i++)
			if (!strcmp(e[i].name, keep)) {
				used = e[i].size;
				kept = 1;
			}
		for (size_t i = 0; i < n; i++) {
			if (!strcmp(e[i].name, keep))
				continue;
			if (kept < files && used + e[i].size <= bytes) {
				used += e[i].size;
				kept++;
			} else {
				unlinkat(dirfd(d), e[i].name, 0);
			}
		}
	}
	free(e);
	closedir(d);
}

/* ---- the compile ------------------------------------------------------------------- */

hs_error_t rt_hscache_compile_multi(const char *const *expressions, const unsigned *flags,
				    const unsigned *ids, unsigned elements, unsigned mode,
				    const hs_platform_info_t *platform, hs_database_t **db,
				    hs_compile_error_t **error)
{
	const char *dir = cache_dir;
	if (!dir || !elements)
		return hs_compile_multi(expressions, flags, ids, elements, mode, platform, db,
					error);

	size_t ilen = 0;
	uint8_t *inputs =
		build_inputs(expressions, flags, ids, elements, mode, platform, &ilen);
	if (!inputs) {
		count(&n_errors);
		count(&n_misses);
		say(RT_HSCACHE_WARN, "hyperscan cache: cannot key %u patterns (out of memory or "
				     "no platform info); compiling", elements);
		return hs_compile_multi(expressions, flags, ids, elements, mode, platform, db,
					error);
	}
	uint8_t key[RT_HSCACHE_KEY];
	char path[4096], why[512];
	make_key(inputs, ilen, key);
	key_path(dir, key, path, sizeof(path));
	const char *name = strrchr(path, '/') + 1;

	double t0 = mono_s();
	int rc = lookup(path, key, inputs, ilen, db, why, sizeof(why));
	if (rc == 0) {
		count(&n_hits);
		say(RT_HSCACHE_DEBUG, "hyperscan cache: %u patterns loaded from %s in %.3f s",
		    elements, name, mono_s() - t0);
		free(inputs);
		return HS_SUCCESS;
	}
	if (rc != -ENOENT) {
		count(&n_errors);
		say(RT_HSCACHE_WARN, "hyperscan cache: %s: %s; compiling instead", path, why);
	}
	count(&n_misses);
	t0 = mono_s();
	hs_error_t he = hs_compile_multi(expressions, flags, ids, elements, mode, platform, db,
					 error);
	if (he == HS_SUCCESS) {
		double t1 = mono_s();
		if (store(dir, path, key, inputs, ilen, *db, why, sizeof(why)) == 0) {
			count(&n_stores);
			say(RT_HSCACHE_DEBUG, "hyperscan cache: %u patterns compiled in %.3f s, "
					      "stored as %s in %.3f s", elements, t1 - t0, name,
			    mono_s() - t1);
			prune(dir, name);
		} else {
			count(&n_errors);
			say(RT_HSCACHE_WARN, "hyperscan cache: cannot store %s: %s", path, why);
		}
	}
	free(inputs);
	return he;
}
