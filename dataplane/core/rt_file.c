#include "rt_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int rt_file_replace(const char *dir, const char *path, const char *tmp, bool excl,
		    const struct iovec *iov, int n, char *why, size_t whylen)
{
	int fd = open(tmp, O_WRONLY | O_CREAT | O_CLOEXEC | (excl ? O_EXCL : O_TRUNC), 0600);
	if (fd < 0) {
		int rc = -errno;
		snprintf(why, whylen, "creating %s: %s", tmp, strerror(errno));
		return rc;
	}
	int rc = 0;
	for (int i = 0; i < n && !rc; i++)
		rc = write_all(fd, iov[i].iov_base, iov[i].iov_len);
	if (!rc && fsync(fd) != 0)
		rc = -errno;
	if (close(fd) != 0 && !rc)
		rc = -errno;
	if (rc) {
		snprintf(why, whylen, "writing %s: %s", tmp, strerror(-rc));
		unlink(tmp);
		return rc;
	}
	if (rename(tmp, path) != 0) {
		rc = -errno;
		snprintf(why, whylen, "renaming %s to %s: %s", tmp, path, strerror(errno));
		unlink(tmp);
		return rc;
	}
	/* The rename itself must survive a crash. */
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}
