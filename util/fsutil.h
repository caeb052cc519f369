/* File and path helpers shared by every folder. */
#ifndef BURROW_UTIL_FSUTIL_H
#define BURROW_UTIL_FSUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "util/error.h"

/* Write all of data to dirfd/path (O_WRONLY, no O_CREAT unless mode != 0). */
int write_file_at(int dirfd, const char *path, const char *data, size_t len, mode_t mode,
                  struct burrow_error **err);
/* Read a whole (small) file; *out is NUL-terminated. */
int read_file_at(int dirfd, const char *path, char **out, size_t *len, struct burrow_error **err);
/* Read everything from FD (a file of reasonable size); *out is NUL-terminated. */
int read_fd_all(int fd, const char *name, char **out, size_t *len, struct burrow_error **err);
/* Open PATH (relative) under DIRFD following no symlink in any component; -1 with errno
 * (ELOOP for a symlink). */
int open_nofollow_path(int dirfd, const char *path, int flags);
/* Read a sysctl-style integer file; returns 0 and sets *value, -1 (errno set) if unreadable. */
int read_long_file(const char *path, long *value);

/* mkdir -p: create PATH and its missing parents with MODE (existing ones are fine). */
int mkdir_parents(const char *path, mode_t mode);

/* Lexically clean an absolute container path: collapse "//" and ".", resolve ".." without
 * ever climbing above "/". Returns a new string, or NULL (errno EINVAL) for a relative path. */
char *path_clean_absolute(const char *path);

/* "/proc/self/fd/N" for mounting onto or from a descriptor. */
#define FD_PATH_MAX 32
const char *fd_path(int fd, char buf[FD_PATH_MAX]);

/* Search PATH-style list for an executable name on the host; returns a new string or NULL. */
char *find_in_path(const char *name, const char *path_list);

/* Random lowercase hex of 2*nbytes characters (nbytes <= 32) into buf. */
int random_hex(char *buf, size_t nbytes, struct burrow_error **err);

#endif
