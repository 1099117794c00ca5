#pragma once
/*
 * rt_hscache: compiled Hyperscan databases kept in a directory, so that a
 * restart (or a reload of a pattern set seen before) deserialises instead
 * of compiling. An optimisation only: any problem with the cache (missing,
 * truncated, corrupt or foreign file, unwritable directory) is counted,
 * reported through the log hook and answered by compiling as if there were
 * no cache. Off unless a directory is set (strowgerctl, tests and benches
 * leave it off; strowgerd turns it on with --state-dir or --hs-cache).
 *
 * One file per database, DIR/<32 hex digits>.hsdb, named by a 128-bit key
 * (two SipHash-2-4 under different keys) over everything the compile
 * depends on: hs_version(), the target platform (hs_populate_platform when
 * none is given), the mode and, in order, each pattern's expression, flags
 * and id. The file also holds those inputs in full and is only used when
 * they are byte-for-byte the ones asked for, so a key collision can never
 * hand back the wrong database. Layout (integers little-endian):
 *
 *   0  magic "STRGHSDB"        8   u32 format version (1)
 *   12 u32 header size (64)    16  key (16 bytes)
 *   32 u64 payload length      40  u64 inputs length
 *   48 u64 checksum: SipHash-2-4 of bytes [0, 48), payload, inputs
 *   56 u64 reserved, 0
 *   64 payload: hs_serialize_database output, then the inputs
 *
 * Files are written to a temporary name in the same directory, fsynced and
 * renamed into place. A hit refreshes the file's mtime; after each store
 * the directory is cut to the most recently used RT_HSCACHE_MAX_FILES files
 * and RT_HSCACHE_MAX_BYTES bytes (the file just stored always stays).
 *
 * Threads: rt_hscache_set_dir, _set_log and _set_limits are for startup,
 * before any thread compiles; everything else is re-entrant (counters are
 * atomic, no shared buffers), and several threads or processes may share a
 * directory.
 */
#include <hs/hs.h>
#include <stddef.h>
#include <stdint.h>

#define RT_HSCACHE_MAX_FILES 64
#define RT_HSCACHE_MAX_BYTES (512ull << 20)

enum rt_hscache_level { RT_HSCACHE_WARN, RT_HSCACHE_INFO, RT_HSCACHE_DEBUG };
typedef void (*rt_hscache_log_fn)(enum rt_hscache_level lvl, const char *msg);

/* Cache in dir (created, mode 0700, if missing; its parent must exist), or
 * off for NULL. 0, or -errno when dir is unusable (the cache is then off). */
int rt_hscache_set_dir(const char *dir);
/* The directory in use, or NULL when off. */
const char *rt_hscache_dir(void);
/* Where problems (WARN) and per-database events (DEBUG) go; NULL: nowhere. */
void rt_hscache_set_log(rt_hscache_log_fn fn);
/* Bounds kept after each store (0: the default above). */
void rt_hscache_set_limits(unsigned max_files, uint64_t max_bytes);

/* Counted since start (only while a directory is set). */
struct rt_hscache_stats {
	uint64_t hits;   /* databases deserialised from the cache */
	uint64_t misses; /* compiled (nothing usable cached) */
	uint64_t stores; /* written to the cache */
	uint64_t errors; /* bad files found, failed reads, writes or deserialisations */
};
void rt_hscache_stats(struct rt_hscache_stats *out);

/*
 * hs_compile_multi, through the cache: the same arguments, results and
 * errors (a compile error is Hyperscan's, never the cache's).
 */
hs_error_t rt_hscache_compile_multi(const char *const *expressions, const unsigned *flags,
				    const unsigned *ids, unsigned elements, unsigned mode,
				    const hs_platform_info_t *platform, hs_database_t **db,
				    hs_compile_error_t **error);

/* ---- the file format (exposed for the unit test and the fuzz target) ---- */

#define RT_HSCACHE_HDR 64
#define RT_HSCACHE_KEY 16

struct rt_hscache_file {
	const uint8_t *key; /* RT_HSCACHE_KEY bytes */
	const uint8_t *payload;
	size_t payload_len;
	const uint8_t *inputs;
	size_t inputs_len;
};

/* Fill the header of a file holding payload and inputs under key. */
void rt_hscache_header(uint8_t hdr[RT_HSCACHE_HDR], const uint8_t key[RT_HSCACHE_KEY],
		       const void *payload, size_t payload_len, const void *inputs,
		       size_t inputs_len);
/* Check a whole file (header fields, length, checksum) and point into it.
 * 0, or -EBADMSG. Never reads outside buf[0, len). */
int rt_hscache_parse(const uint8_t *buf, size_t len, struct rt_hscache_file *out);
/* SipHash-2-4 of p[0, len) under the 16-byte key k (exposed for tests). */
uint64_t rt_siphash(const uint8_t k[16], const void *p, size_t len);
