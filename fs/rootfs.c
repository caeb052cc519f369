#include "config.h"

#include "fs/rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#ifdef HAVE_LINUX_OPENAT2_H
#include <linux/openat2.h>
#endif

#include "util/fsutil.h"

int rootfs_open(const char *dir, struct burrow_error **err)
{
        int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0)
                return fd;
        int e = errno;
        if (e == ENOTDIR)
                return burrow_error_set(err, 0, "rootfs `%s` is not a directory (give --rootfs a directory holding the container's files, e.g. one made by scripts/make-rootfs)", dir);
        if (e == ENOENT)
                return burrow_error_set(err, 0, "rootfs `%s` does not exist (check the path, or build one with scripts/make-rootfs DIR)", dir);
        return burrow_error_set(err, e, "cannot open rootfs `%s`", dir);
}

#define MAX_SYMLINKS 40

static bool same_inode(int a, int b)
{
        struct stat sa, sb;
        return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

int rootfs_walk_in_root(int rootfd, const char *path, enum rootfs_create create)
{
        cleanup_close int cur = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
        if (cur < 0)
                return -1;
        /* rest holds what is left to walk; symlink targets are spliced in front of it. */
        size_t cap = strlen(path) + PATH_MAX + 2;
        cleanup_free char *rest = malloc(cap);
        if (rest == NULL)
                return -1;
        snprintf(rest, cap, "%s", path);
        int links = 0;
        char *p = rest;
        for (;;) {
                while (*p == '/')
                        p++;
                if (*p == '\0')
                        break;
                char *end = strchrnul(p, '/');
                char comp[NAME_MAX + 1];
                size_t clen = (size_t)(end - p);
                if (clen > NAME_MAX) {
                        errno = ENAMETOOLONG;
                        return -1;
                }
                memcpy(comp, p, clen);
                comp[clen] = '\0';
                p = end;
                if (strcmp(comp, ".") == 0)
                        continue;
                if (strcmp(comp, "..") == 0) {
                        if (same_inode(cur, rootfd))
                                continue; /* ".." at the root stays at the root */
                        int up = openat(cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
                        if (up < 0)
                                return -1;
                        close(cur);
                        cur = up;
                        continue;
                }
                int next = openat(cur, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
                if (next < 0 && errno == ENOENT && create != ROOTFS_EXISTING) {
                        /* Missing: make it in the directory we hold, so a symlink can never
                         * redirect the creation; a symlink to a missing target gets its target
                         * made inside the root, as the container would see it. */
                        bool last = p[strspn(p, "/")] == '\0';
                        int r;
                        if (last && create == ROOTFS_CREATE_FILE) {
                                r = openat(cur, comp, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
                                if (r >= 0)
                                        close(r);
                        } else {
                                r = mkdirat(cur, comp, 0755);
                        }
                        if (r < 0 && errno != EEXIST)
                                return -1;
                        next = openat(cur, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
                }
                if (next < 0)
                        return -1;
                struct stat st;
                if (fstat(next, &st) < 0) {
                        close(next);
                        return -1;
                }
                if (!S_ISLNK(st.st_mode)) {
                        close(cur);
                        cur = next;
                        continue;
                }
                char target[PATH_MAX];
                ssize_t tl = readlinkat(next, "", target, sizeof(target) - 1);
                close(next);
                if (tl < 0)
                        return -1;
                target[tl] = '\0';
                if (++links > MAX_SYMLINKS) {
                        errno = ELOOP;
                        return -1;
                }
                size_t restlen = strlen(p);
                if ((size_t)tl + restlen + 2 > cap) {
                        errno = ENAMETOOLONG;
                        return -1;
                }
                /* new rest = target + p, built in place */
                memmove(rest + tl, p, restlen + 1);
                memcpy(rest, target, (size_t)tl);
                p = rest;
                if (target[0] == '/') {
                        int r = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
                        if (r < 0)
                                return -1;
                        close(cur);
                        cur = r;
                }
        }
        return steal_fd(&cur);
}

static int open_in_root(int rootfd, const char *path)
{
#if defined(HAVE_LINUX_OPENAT2_H) && HAVE_DECL_SYS_OPENAT2
        static bool no_openat2;
        if (!no_openat2) {
                struct open_how how = {
                        .flags = O_PATH | O_CLOEXEC,
                        .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
                };
                const char *rel = path;
                while (*rel == '/')
                        rel++;
                int fd = (int)syscall(SYS_openat2, rootfd, *rel ? rel : ".", &how, sizeof(how));
                if (fd >= 0 || (errno != ENOSYS && errno != EPERM))
                        return fd;
                /* ENOSYS: kernel before 5.6; EPERM: a seccomp filter that predates openat2. */
                no_openat2 = true;
        }
#endif
        return rootfs_walk_in_root(rootfd, path, ROOTFS_EXISTING);
}

int rootfs_resolve(int rootfd, const char *root_name, const char *path, enum rootfs_create create,
                   struct burrow_error **err)
{
        cleanup_free char *clean = path_clean_absolute(path);
        if (clean == NULL)
                return burrow_error_set(err, 0, "container path `%s` must be absolute", path);
        int fd = open_in_root(rootfd, clean);
        if (fd >= 0 || errno != ENOENT || create == ROOTFS_EXISTING) {
                if (fd < 0)
                        return burrow_error_set(err, errno, "cannot resolve `%s` inside rootfs `%s`", clean, root_name);
                return fd;
        }
        fd = rootfs_walk_in_root(rootfd, clean, create);
        if (fd < 0)
                return burrow_error_set(err, errno, "cannot create `%s` inside rootfs `%s`", clean, root_name);
        return fd;
}
