#pragma once
/*
 * rt_file: replacing a file so that a crash leaves the old one or the new
 * one, never a part: the bytes go to a temporary file in the same
 * directory, are synced, renamed over the file, and the directory synced
 * so the rename lasts. The Hyperscan cache and the daemon's state file
 * both store this way.
 */
#include <stdbool.h>
#include <stddef.h>
#include <sys/uio.h>

/*
 * Write iov[0..n) to path through tmp (created mode 0600; with excl, an
 * existing tmp is an error rather than overwritten), then rename tmp over
 * path and sync dir. 0, or -errno with why set to "<what failed>: <reason>"
 * naming tmp or path; tmp is removed and path left as it was.
 */
int rt_file_replace(const char *dir, const char *path, const char *tmp, bool excl,
		    const struct iovec *iov, int n, char *why, size_t whylen);
