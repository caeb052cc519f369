#include "config.h"

#include "util/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

int write_file_at(int dirfd, const char *path, const char *data, size_t len, mode_t mode,
                  struct burrow_error **err)
{
        int flags = O_WRONLY | O_CLOEXEC | (mode ? O_CREAT | O_TRUNC : 0);
        cleanup_close int fd = TEMP_FAILURE_RETRY_INT(openat(dirfd, path, flags, mode));
        if (fd < 0)
                return burrow_error_set(err, errno, "open `%s` for writing", path);
        while (len > 0) {
                ssize_t n = TEMP_FAILURE_RETRY_INT(write(fd, data, len));
                if (n < 0)
                        return burrow_error_set(err, errno, "write `%s`", path);
                data += n;
                len -= (size_t)n;
        }
        if (close(steal_fd(&fd)) < 0)
                return burrow_error_set(err, errno, "close `%s`", path);
        return 0;
}

int read_fd_all(int fd, const char *name, char **out, size_t *len, struct burrow_error **err)
{
        size_t cap = 4096, used = 0;
        cleanup_free char *buf = malloc(cap);
        if (buf == NULL)
                return burrow_error_set(err, ENOMEM, "read `%s`", name);
        for (;;) {
                if (used + 1 >= cap) {
                        if (cap > (64u << 20))
                                return burrow_error_set(err, EFBIG, "read `%s`", name);
                        char *bigger = realloc(buf, cap * 2);
                        if (bigger == NULL)
                                return burrow_error_set(err, ENOMEM, "read `%s`", name);
                        buf = bigger;
                        cap *= 2;
                }
                ssize_t n = TEMP_FAILURE_RETRY_INT(read(fd, buf + used, cap - used - 1));
                if (n < 0)
                        return burrow_error_set(err, errno, "read `%s`", name);
                if (n == 0)
                        break;
                used += (size_t)n;
        }
        buf[used] = '\0';
        if (len)
                *len = used;
        *out = steal_pointer(&buf);
        return 0;
}

int read_file_at(int dirfd, const char *path, char **out, size_t *len, struct burrow_error **err)
{
        cleanup_close int fd = TEMP_FAILURE_RETRY_INT(openat(dirfd, path, O_RDONLY | O_CLOEXEC));
        if (fd < 0)
                return burrow_error_set(err, errno, "open `%s`", path);
        return read_fd_all(fd, path, out, len, err);
}

int open_nofollow_path(int dirfd, const char *path, int flags)
{
        char copy[PATH_MAX];
        if (snprintf(copy, sizeof(copy), "%s", path) >= (int)sizeof(copy)) {
                errno = ENAMETOOLONG;
                return -1;
        }
        int cur = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
        char *save = NULL;
        char *comp = strtok_r(copy, "/", &save);
        while (cur >= 0 && comp) {
                char *next_comp = strtok_r(NULL, "/", &save);
                int next = next_comp ? openat(cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                                     : openat(cur, comp, flags | O_NOFOLLOW | O_CLOEXEC);
                int e = errno;
                close(cur);
                errno = e;
                cur = next;
                comp = next_comp;
        }
        return cur;
}

int read_long_file(const char *path, long *value)
{
        cleanup_free char *text = NULL;
        struct burrow_error *err = NULL;
        if (read_file_at(AT_FDCWD, path, &text, NULL, &err) < 0) {
                int e = err->errnum;
                burrow_error_free(err);
                errno = e;
                return -1;
        }
        char *end;
        errno = 0;
        long v = strtol(text, &end, 10);
        if (errno != 0 || end == text) {
                errno = EINVAL;
                return -1;
        }
        *value = v;
        return 0;
}

int mkdir_parents(const char *path, mode_t mode)
{
        char buf[PATH_MAX];
        if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf)) {
                errno = ENAMETOOLONG;
                return -1;
        }
        for (char *p = buf + 1;; p++) {
                if (*p != '/' && *p != '\0')
                        continue;
                char saved = *p;
                *p = '\0';
                if (mkdir(buf, mode) < 0 && errno != EEXIST)
                        return -1;
                *p = saved;
                if (saved == '\0')
                        return 0;
        }
}

char *path_clean_absolute(const char *path)
{
        if (path == NULL || path[0] != '/') {
                errno = EINVAL;
                return NULL;
        }
        size_t n = strlen(path);
        char *out = malloc(n + 2);
        if (out == NULL)
                return NULL;
        size_t o = 0;
        const char *p = path;
        while (*p) {
                while (*p == '/')
                        p++;
                if (*p == '\0')
                        break;
                const char *start = p;
                while (*p && *p != '/')
                        p++;
                size_t clen = (size_t)(p - start);
                if (clen == 1 && start[0] == '.')
                        continue;
                if (clen == 2 && start[0] == '.' && start[1] == '.') {
                        while (o > 0 && out[o - 1] != '/')
                                o--;
                        if (o > 0)
                                o--; /* drop the slash too; never above "/" */
                        continue;
                }
                out[o++] = '/';
                memcpy(out + o, start, clen);
                o += clen;
        }
        if (o == 0)
                out[o++] = '/';
        out[o] = '\0';
        return out;
}

const char *fd_path(int fd, char buf[FD_PATH_MAX])
{
        snprintf(buf, FD_PATH_MAX, "/proc/self/fd/%d", fd);
        return buf;
}

char *find_in_path(const char *name, const char *path_list)
{
        if (name == NULL || *name == '\0' || path_list == NULL)
                return NULL;
        const char *p = path_list;
        while (*p) {
                const char *colon = strchrnul(p, ':');
                cleanup_free char *cand = NULL;
                if (asprintf(&cand, "%.*s/%s", (int)(colon - p), p, name) < 0)
                        return NULL;
                if (colon > p && access(cand, X_OK) == 0)
                        return steal_pointer(&cand);
                p = *colon ? colon + 1 : colon;
        }
        return NULL;
}

int random_hex(char *buf, size_t nbytes, struct burrow_error **err)
{
        unsigned char raw[32];
        if (nbytes > sizeof(raw))
                nbytes = sizeof(raw);
        size_t got = 0;
        while (got < nbytes) {
                ssize_t r = getrandom(raw + got, nbytes - got, 0);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0)
                        return burrow_error_set(err, errno, "getrandom");
                got += (size_t)r;
        }
        for (size_t i = 0; i < nbytes; i++)
                snprintf(buf + 2 * i, 3, "%02x", raw[i]);
        return 0;
}
