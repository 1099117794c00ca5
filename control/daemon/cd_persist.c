/*
 * cd_persist: see cd_persist.h.
 */
#include "cd_persist.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cfg_proto.h"
#include "rt_arena.h"
#include "rt_file.h"
#include "rt_index.h"
#include "strowger.pb-c.h"

#define CD_MAGIC "STROWGER-STATE1\n"
#define CD_HDR (16 + 8 + 8)
/* A state file larger than this is not ours (1M routes is ~100 MiB). */
#define CD_STATE_MAX (1ull << 31)

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

int cd_persist_save(const char *dir, const struct rt_config *cfg, uint64_t generation,
		    const char *origin, char *err, size_t errlen)
{
	char path[4096], tmp[4096 + 16];
	struct rt_arena *a = rt_arena_new();
	uint8_t *buf = NULL;
	int rc;

	snprintf(path, sizeof(path), "%s/%s", dir, CD_STATE_FILE);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	Strowger__PersistedState st = STROWGER__PERSISTED_STATE__INIT;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	st.generation = generation;
	st.saved_at = (double)now.tv_sec + now.tv_nsec / 1e9;
	st.origin = (char *)origin;
	st.config = a ? cfg_proto_to_msg(cfg, a) : NULL;
	if (!st.config) {
		rc = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	size_t n = strowger__persisted_state__get_packed_size(&st);
	buf = malloc(CD_HDR + n);
	if (!buf) {
		rc = -ENOMEM;
		snprintf(err, errlen, "out of memory (%zu bytes)", n);
		goto out;
	}
	memcpy(buf, CD_MAGIC, 16);
	strowger__persisted_state__pack(&st, buf + CD_HDR);
	put_le64(buf + 16, n);
	put_le64(buf + 24, rt_hash64(buf + CD_HDR, n));

	struct iovec iov = {buf, CD_HDR + n};
	rc = rt_file_replace(dir, path, tmp, false, &iov, 1, err, errlen);
out:
	free(buf);
	rt_arena_free(a);
	return rc;
}

int cd_persist_parse(const uint8_t *buf, size_t got, const char *path, struct rt_config **cfg,
		     uint64_t *generation, double *saved_at, char *err, size_t errlen)
{
	if (got < CD_HDR || memcmp(buf, CD_MAGIC, 16) != 0) {
		snprintf(err, errlen, "%s: not a strowger state file (bad magic)", path);
		return -EBADMSG;
	}
	uint64_t n = get_le64(buf + 16);
	if (n != got - CD_HDR) {
		snprintf(err, errlen, "%s: corrupt: header says %llu bytes, file holds %zu", path,
			 (unsigned long long)n, got - CD_HDR);
		return -EBADMSG;
	}
	if (get_le64(buf + 24) != rt_hash64(buf + CD_HDR, n)) {
		snprintf(err, errlen, "%s: corrupt: checksum mismatch", path);
		return -EBADMSG;
	}
	Strowger__PersistedState *st = strowger__persisted_state__unpack(NULL, n, buf + CD_HDR);
	if (!st || !st->config) {
		snprintf(err, errlen, "%s: corrupt: not a PersistedState message", path);
		if (st)
			strowger__persisted_state__free_unpacked(st, NULL);
		return -EBADMSG;
	}
	struct rt_diag d;
	rt_diag_init(&d);
	*cfg = cfg_proto_from_msg(st->config, &d);
	if (!*cfg) {
		snprintf(err, errlen, "%s: config in state file rejected: %s", path,
			 d.n ? d.msgs[0] : "unknown error");
		rt_diag_clear(&d);
		strowger__persisted_state__free_unpacked(st, NULL);
		return -EINVAL;
	}
	rt_diag_clear(&d);
	*generation = st->generation;
	*saved_at = st->saved_at;
	strowger__persisted_state__free_unpacked(st, NULL);
	return 0;
}

int cd_persist_load(const char *dir, struct rt_config **cfg, uint64_t *generation,
		    double *saved_at, char *err, size_t errlen)
{
	char path[4096];
	uint8_t *buf = NULL;
	struct stat sb;
	int fd, rc = -EBADMSG;

	snprintf(path, sizeof(path), "%s/%s", dir, CD_STATE_FILE);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return -ENOENT;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	if (fstat(fd, &sb) != 0 || sb.st_size < CD_HDR || (uint64_t)sb.st_size > CD_STATE_MAX) {
		snprintf(err, errlen, "%s: not a strowger state file (size %lld)", path,
			 (long long)sb.st_size);
		goto out;
	}
	buf = malloc((size_t)sb.st_size);
	if (!buf) {
		rc = -ENOMEM;
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	size_t got = 0;
	while (got < (size_t)sb.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)sb.st_size - got);
		if (r <= 0) {
			if (r < 0 && errno == EINTR)
				continue;
			snprintf(err, errlen, "%s: short read", path);
			rc = -EIO;
			goto out;
		}
		got += (size_t)r;
	}
	rc = cd_persist_parse(buf, got, path, cfg, generation, saved_at, err, errlen);
out:
	free(buf);
	close(fd);
	return rc;
}
