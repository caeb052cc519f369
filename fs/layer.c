#include "config.h"

#include "fs/layer.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#ifdef HAVE_LINUX_OPENAT2_H
#include <linux/openat2.h>
#endif

#include "util/fsutil.h"
#include "util/dl.h" /* last: calls to libarchive, libcurl, libcrypto go through it */

#define IO_BLOCK (128 * 1024)

/* The raw (decompressing) reader pulls from the fd, hashing what it reads: the blob digest. */
struct raw_source {
        int fd;
        int tee;
        struct digester *digest;
        uint64_t size;
        char buf[IO_BLOCK];
};

static la_ssize_t raw_read(struct archive *a, void *opaque, const void **buf)
{
        struct raw_source *src = opaque;
        ssize_t n;
        do
                n = read(src->fd, src->buf, sizeof(src->buf));
        while (n < 0 && errno == EINTR);
        if (n < 0) {
                archive_set_error(a, errno, "read: %s", strerror(errno));
                return -1;
        }
        digester_update(src->digest, src->buf, (size_t)n);
        src->size += (uint64_t)n;
        for (ssize_t done = 0; src->tee >= 0 && done < n;) {
                ssize_t w = write(src->tee, src->buf + done, (size_t)(n - done));
                if (w < 0 && errno == EINTR)
                        continue;
                if (w < 0) {
                        archive_set_error(a, errno, "storing the blob: %s", strerror(errno));
                        return -1;
                }
                done += w;
        }
        *buf = src->buf;
        return n;
}

/* The tar reader pulls the uncompressed stream from the raw reader, hashing it: the diffID. */
struct tar_source {
        struct archive *raw;
        struct digester *digest;
        uint64_t size;
        bool eof;
        char buf[IO_BLOCK];
};

static la_ssize_t tar_read(struct archive *a, void *opaque, const void **buf)
{
        struct tar_source *src = opaque;
        if (src->eof)
                return 0;
        la_ssize_t n = archive_read_data(src->raw, src->buf, sizeof(src->buf));
        if (n < 0) {
                archive_set_error(a, archive_errno(src->raw), "%s", archive_error_string(src->raw));
                return -1;
        }
        if (n == 0)
                src->eof = true;
        digester_update(src->digest, src->buf, (size_t)n);
        src->size += (uint64_t)n;
        *buf = src->buf;
        return n;
}

/* Clean an entry name: no leading "/" or "./", no empty or "." components; ".." refused. */
static int clean_entry_name(const char *name, char *out, size_t size)
{
        size_t o = 0;
        const char *p = name;
        while (*p) {
                while (*p == '/')
                        p++;
                const char *start = p;
                while (*p && *p != '/')
                        p++;
                size_t len = (size_t)(p - start);
                if (len == 0 || (len == 1 && start[0] == '.'))
                        continue;
                if (len == 2 && start[0] == '.' && start[1] == '.')
                        return -1;
                if (o + len + 2 > size)
                        return -2;
                if (o)
                        out[o++] = '/';
                memcpy(out + o, start, len);
                o += len;
        }
        out[o] = '\0';
        return 0;
}

/* Open directory PATH (relative, cleaned) beneath DIRFD; create missing parts when asked. */
static int open_beneath(int rootfd, const char *path, bool create, int *fd_out)
{
        if (*path == '\0') {
                int fd = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
                if (fd < 0)
                        return -errno;
                *fd_out = fd;
                return 0;
        }
#if defined(HAVE_LINUX_OPENAT2_H) && HAVE_DECL_SYS_OPENAT2
        static bool no_openat2;
        if (!no_openat2) {
                struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
                                        .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS };
                int fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
                if (fd >= 0) {
                        *fd_out = fd;
                        return 0;
                }
                if (errno == ENOSYS || errno == EPERM)
                        no_openat2 = true;
                else if (errno != ENOENT || !create)
                        return -errno;
                if (!no_openat2) {
                        /* Make what is missing, one component at a time, through its parent. */
                        char prefix[PATH_MAX];
                        snprintf(prefix, sizeof(prefix), "%s", path);
                        for (char *slash = prefix;; slash++) {
                                if (*slash != '/' && *slash != '\0')
                                        continue;
                                char saved = *slash;
                                *slash = '\0';
                                int pfd = (int)syscall(SYS_openat2, rootfd, prefix, &how, sizeof(how));
                                if (pfd < 0 && errno == ENOENT) {
                                        char *base = strrchr(prefix, '/');
                                        cleanup_close int parent = -1;
                                        if (base) {
                                                *base = '\0';
                                                parent = (int)syscall(SYS_openat2, rootfd, prefix, &how, sizeof(how));
                                                *base = '/';
                                                if (parent < 0)
                                                        return -errno;
                                        }
                                        if (mkdirat(base ? parent : rootfd, base ? base + 1 : prefix, 0755) < 0 && errno != EEXIST)
                                                return -errno;
                                        pfd = (int)syscall(SYS_openat2, rootfd, prefix, &how, sizeof(how));
                                }
                                if (pfd < 0)
                                        return -errno;
                                *slash = saved;
                                if (saved == '\0') {
                                        *fd_out = pfd;
                                        return 0;
                                }
                                close(pfd);
                        }
                }
        }
#endif
        /* Without openat2: walk, following no symlink at all. */
        int cur = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
        if (cur < 0)
                return -errno;
        char copy[PATH_MAX];
        snprintf(copy, sizeof(copy), "%s", path);
        for (char *save = NULL, *comp = strtok_r(copy, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
                int next = openat(cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (next < 0 && errno == ENOENT && create) {
                        if (mkdirat(cur, comp, 0755) < 0 && errno != EEXIST) {
                                int e = errno;
                                close(cur);
                                return -e;
                        }
                        next = openat(cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                }
                int e = errno;
                close(cur);
                if (next < 0)
                        return e == ELOOP || e == ENOTDIR ? -EXDEV : -e;
                cur = next;
        }
        *fd_out = cur;
        return 0;
}

static int remove_tree_at(int at, const char *name);

/* Make room for NAME in PARENT: an existing directory stays when the new entry is one too.
 * Returns 0 (nothing there), 1 (a directory kept), 2 (something removed), or -errno. */
static int clear_slot(int parent, const char *name, bool keep_dir)
{
        struct stat st;
        if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (S_ISDIR(st.st_mode)) {
                if (keep_dir)
                        return 1;
                int r = remove_tree_at(parent, name);
                return r < 0 ? r : 2;
        }
        return unlinkat(parent, name, 0) < 0 ? -errno : 2;
}

static int remove_tree_at(int at, const char *name)
{
        int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        DIR *d = fdopendir(fd);
        if (d == NULL) {
                close(fd);
                return -errno;
        }
        struct dirent *de;
        int r = 0;
        while (r == 0 && (de = readdir(d)) != NULL) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                if (de->d_type == DT_DIR)
                        r = remove_tree_at(dirfd(d), de->d_name);
                else if (unlinkat(dirfd(d), de->d_name, 0) < 0)
                        r = errno == EISDIR ? remove_tree_at(dirfd(d), de->d_name) : -errno;
        }
        closedir(d);
        if (r == 0 && unlinkat(at, name, AT_REMOVEDIR) < 0)
                r = -errno;
        return r;
}

struct unpacker {
        struct archive *tar;
        int root;
        struct layer_stats *stats;
        uid_t uid; /* who we are: entries owned by us need no chown */
        gid_t gid;
        /* The last parent directory opened. Tar streams list a directory's files together, so
         * most entries reuse it; any entry that is not a plain new file forgets it, so a
         * symlink or a replaced directory is always resolved afresh. */
        char cached_path[PATH_MAX];
        int cached_fd;
};

static void forget_parent(struct unpacker *u)
{
        if (u->cached_fd >= 0)
                close(u->cached_fd);
        u->cached_fd = -1;
        u->cached_path[0] = '\0';
}

/* Owner, mode, xattrs, times of a new entry. Ownership that the namespace cannot express
 * collapses to the unpacking user (single-ID maps), counted, not fatal. */
static int apply_metadata(struct unpacker *u, int fd, int parent, const char *name, struct archive_entry *e, bool is_link,
                          const char *shown, struct burrow_error **err)
{
        uid_t uid = (uid_t)archive_entry_uid(e);
        gid_t gid = (gid_t)archive_entry_gid(e);
        bool ours = uid == u->uid && gid == u->gid; /* created so already */
        int r = ours ? 0 : is_link ? fchownat(parent, name, uid, gid, AT_SYMLINK_NOFOLLOW) : fchown(fd, uid, gid);
        if (r < 0) {
                if (errno != EINVAL && errno != EPERM)
                        return burrow_error_set(err, errno, "entry `%s`: chown %u:%u", shown, (unsigned)uid, (unsigned)gid);
                u->stats->unmapped_owners++;
        }
        if (!is_link) {
                /* Regular files are created with their permission bits (umask 0); setuid and
                 * setgid come after chown, which clears them; directories start private. */
                mode_t perm = archive_entry_perm(e) & 07777;
                bool created_right = archive_entry_filetype(e) == AE_IFREG && (perm & 07000) == 0;
                if (!created_right && fchmod(fd, perm) < 0)
                        return burrow_error_set(err, errno, "entry `%s`: chmod", shown);
                const char *xname;
                const void *xvalue;
                size_t xsize;
                archive_entry_xattr_reset(e);
                while (archive_entry_xattr_next(e, &xname, &xvalue, &xsize) == ARCHIVE_OK) {
                        if (strncmp(xname, "user.", 5) != 0)
                                continue; /* trusted.* and security.* need real privilege */
                        if (fsetxattr(fd, xname, xvalue, xsize, 0) < 0 && errno != ENOTSUP)
                                return burrow_error_set(err, errno, "entry `%s`: setting xattr %s", shown, xname);
                }
        }
        struct timespec ts[2] = { { .tv_sec = archive_entry_atime(e), .tv_nsec = archive_entry_atime_nsec(e) },
                                  { .tv_sec = archive_entry_mtime(e), .tv_nsec = archive_entry_mtime_nsec(e) } };
        if (!archive_entry_atime_is_set(e))
                ts[0] = ts[1];
        if (is_link)
                utimensat(parent, name, ts, AT_SYMLINK_NOFOLLOW);
        else if (!S_ISDIR(archive_entry_filetype(e)))
                futimens(fd, ts);
        return 0;
}

static int write_file_data(struct unpacker *u, int fd, const char *shown, la_int64_t *data_end, struct burrow_error **err)
{
        const void *buf;
        size_t size;
        la_int64_t offset;
        la_int64_t end = 0;
        int r;
        while ((r = archive_read_data_block(u->tar, &buf, &size, &offset)) == ARCHIVE_OK) {
                /* Sparse files: gaps are skipped, the final size set below. */
                if (offset != end && lseek(fd, offset, SEEK_SET) < 0)
                        return burrow_error_set(err, errno, "entry `%s`: seek", shown);
                for (size_t done = 0; done < size;) {
                        ssize_t n = write(fd, (const char *)buf + done, size - done);
                        if (n < 0) {
                                if (errno == EINTR)
                                        continue;
                                return burrow_error_set(err, errno, "entry `%s`: write", shown);
                        }
                        done += (size_t)n;
                }
                end = offset + (la_int64_t)size;
        }
        if (r != ARCHIVE_EOF)
                return burrow_error_set(err, 0, "entry `%s`: corrupt or truncated data: %s", shown, archive_error_string(u->tar));
        *data_end = end;
        return 0;
}

static int unpack_entry(struct unpacker *u, struct archive_entry *e, struct burrow_error **err)
{
        const char *raw_name = archive_entry_pathname(e);
        char path[PATH_MAX];
        int c = clean_entry_name(raw_name ? raw_name : "", path, sizeof(path));
        if (c == -1)
                return burrow_error_set(err, 0, "entry `%s` has a `..` component: refusing it", raw_name);
        if (c == -2)
                return burrow_error_set(err, 0, "entry `%.200s...`: name too long", raw_name);
        if (path[0] == '\0')
                return 0; /* the layer's own root */
        u->stats->entries++;
        char *slash = strrchr(path, '/');
        const char *base = slash ? slash + 1 : path;
        char parent_path[PATH_MAX];
        snprintf(parent_path, sizeof(parent_path), "%.*s", slash ? (int)(slash - path) : 0, path);

        mode_t type = archive_entry_filetype(e);
        bool plain_file = type == AE_IFREG && archive_entry_hardlink(e) == NULL && strncmp(base, ".wh.", 4) != 0;
        int parent = -1;
        int r = 0;
        if (plain_file && u->cached_fd >= 0 && strcmp(u->cached_path, parent_path) == 0) {
                parent = u->cached_fd;
        } else {
                forget_parent(u);
                r = open_beneath(u->root, parent_path, true, &parent);
                if (r == 0 && plain_file) {
                        u->cached_fd = parent;
                        snprintf(u->cached_path, sizeof(u->cached_path), "%s", parent_path);
                }
        }
        /* closed at return unless the cache keeps it */
        cleanup_close int parent_owned = (r == 0 && parent != u->cached_fd) ? parent : -1;
        if (r < 0) {
                if (r == -EXDEV || r == -ELOOP)
                        return burrow_error_set(err, 0, "entry `%s` would be written through a symlink that leaves the layer: refusing it", raw_name);
                return burrow_error_set(err, -r, "entry `%s`: opening its directory", raw_name);
        }
        /* Whiteouts, in the form every storage driver reads. */
        if (strcmp(base, ".wh..wh..opq") == 0) {
                cleanup_close int dir = openat(parent, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (dir < 0 || fsetxattr(dir, "user.overlay.opaque", "y", 1, 0) < 0)
                        return burrow_error_set(err, errno, "entry `%s`: marking `%s` opaque (user.overlay.opaque)", raw_name,
                                                parent_path[0] ? parent_path : "/");
                u->stats->whiteouts++;
                return 0;
        }
        if (strncmp(base, ".wh..wh.", 8) == 0)
                return 0; /* aufs bookkeeping (.wh..wh.plnk etc.): nothing to do */
        if (strncmp(base, ".wh.", 4) == 0) {
                const char *victim = base + 4;
                if (*victim == '\0' || strcmp(victim, ".") == 0 || strcmp(victim, "..") == 0)
                        return burrow_error_set(err, 0, "entry `%s`: malformed whiteout", raw_name);
                r = clear_slot(parent, victim, false);
                if (r < 0)
                        return burrow_error_set(err, -r, "entry `%s`: replacing `%s`", raw_name, victim);
                if (mknodat(parent, victim, S_IFCHR | 0000, makedev(0, 0)) < 0)
                        return burrow_error_set(err, errno, "entry `%s`: creating the whiteout (a 0:0 character device; Linux >= 5.8 allows it unprivileged)", raw_name);
                u->stats->whiteouts++;
                return 0;
        }

        const char *hardlink = archive_entry_hardlink(e);
        if (hardlink) {
                char target[PATH_MAX];
                if (clean_entry_name(hardlink, target, sizeof(target)) != 0 || target[0] == '\0')
                        return burrow_error_set(err, 0, "entry `%s` is a hardlink to `%s`, outside the layer: refusing it", raw_name, hardlink);
                char *tslash = strrchr(target, '/');
                char tparent_path[PATH_MAX];
                snprintf(tparent_path, sizeof(tparent_path), "%.*s", tslash ? (int)(tslash - target) : 0, target);
                cleanup_close int tparent = -1;
                struct stat st;
                if (open_beneath(u->root, tparent_path, false, &tparent) < 0 ||
                    fstatat(tparent, tslash ? tslash + 1 : target, &st, AT_SYMLINK_NOFOLLOW) < 0 || S_ISDIR(st.st_mode))
                        return burrow_error_set(err, 0, "entry `%s` is a hardlink to `%s`, which is not a file of this layer: refusing it",
                                                raw_name, hardlink);
                r = clear_slot(parent, base, false);
                if (r < 0)
                        return burrow_error_set(err, -r, "entry `%s`: replacing the old entry", raw_name);
                if (linkat(tparent, tslash ? tslash + 1 : target, parent, base, 0) < 0)
                        return burrow_error_set(err, errno, "entry `%s`: hardlink to `%s`", raw_name, hardlink);
                return 0;
        }
        switch (type) {
        case AE_IFDIR: {
                /* Create first, look only on EEXIST: most entries are new. */
                if (mkdirat(parent, base, 0700) < 0) {
                        if (errno != EEXIST)
                                return burrow_error_set(err, errno, "entry `%s`: mkdir", raw_name);
                        r = clear_slot(parent, base, true);
                        if (r < 0)
                                return burrow_error_set(err, -r, "entry `%s`: replacing the old entry", raw_name);
                        if (r != 1 && mkdirat(parent, base, 0700) < 0)
                                return burrow_error_set(err, errno, "entry `%s`: mkdir", raw_name);
                }
                cleanup_close int fd = openat(parent, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        return burrow_error_set(err, errno, "entry `%s`: open", raw_name);
                return apply_metadata(u, fd, parent, base, e, false, raw_name, err);
        }
        case AE_IFREG: {
                const int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
                cleanup_close int fd = openat(parent, base, flags, archive_entry_perm(e) & 0777);
                if (fd < 0 && errno == EEXIST) {
                        r = clear_slot(parent, base, false);
                        if (r < 0)
                                return burrow_error_set(err, -r, "entry `%s`: replacing the old entry", raw_name);
                        if (r == 2 && parent == u->cached_fd) {
                                /* something was replaced: resolve afresh next time (this entry
                                 * still uses the fd, closed when it is done) */
                                u->cached_fd = -1;
                                u->cached_path[0] = '\0';
                                parent_owned = parent;
                        }
                        fd = openat(parent, base, flags, archive_entry_perm(e) & 0777);
                }
                if (fd < 0)
                        return burrow_error_set(err, errno, "entry `%s`: create", raw_name);
                la_int64_t end = 0;
                if (write_file_data(u, fd, raw_name, &end, err) < 0)
                        return -1;
                /* a sparse file may end in a hole */
                if (end != archive_entry_size(e) && ftruncate(fd, archive_entry_size(e)) < 0)
                        return burrow_error_set(err, errno, "entry `%s`: setting its size", raw_name);
                return apply_metadata(u, fd, parent, base, e, false, raw_name, err);
        }
        case AE_IFLNK: {
                /* Stored as it is, whatever it points at: only following it is dangerous. */
                const char *target = archive_entry_symlink(e);
                if (symlinkat(target ? target : "", parent, base) < 0) {
                        if (errno != EEXIST)
                                return burrow_error_set(err, errno, "entry `%s`: symlink", raw_name);
                        r = clear_slot(parent, base, false);
                        if (r < 0)
                                return burrow_error_set(err, -r, "entry `%s`: replacing the old entry", raw_name);
                        if (symlinkat(target ? target : "", parent, base) < 0)
                                return burrow_error_set(err, errno, "entry `%s`: symlink", raw_name);
                }
                return apply_metadata(u, -1, parent, base, e, true, raw_name, err);
        }
        case AE_IFIFO: {
                r = clear_slot(parent, base, false);
                if (r < 0)
                        return burrow_error_set(err, -r, "entry `%s`: replacing the old entry", raw_name);
                if (mkfifoat(parent, base, 0600) < 0)
                        return burrow_error_set(err, errno, "entry `%s`: mkfifo", raw_name);
                cleanup_close int fd = openat(parent, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
                /* fchown/fchmod need a real fd: use the *at forms on the new FIFO instead. */
                if (fd < 0 || fchownat(parent, base, archive_entry_uid(e), archive_entry_gid(e), AT_SYMLINK_NOFOLLOW) < 0)
                        u->stats->unmapped_owners++;
                fchmodat(parent, base, archive_entry_perm(e) & 07777, 0);
                return 0;
        }
        case AE_IFCHR:
                if (archive_entry_rdevmajor(e) == 0 && archive_entry_rdevminor(e) == 0) {
                        r = clear_slot(parent, base, false);
                        if (r < 0 || mknodat(parent, base, S_IFCHR | 0000, makedev(0, 0)) < 0)
                                return burrow_error_set(err, r < 0 ? -r : errno, "entry `%s`: whiteout device", raw_name);
                        u->stats->whiteouts++;
                        return 0;
                }
                /* fall through */
        case AE_IFBLK:
        case AE_IFSOCK:
                u->stats->skipped_devices++;
                return 0;
        default:
                return burrow_error_set(err, 0, "entry `%s` has an unknown type %o", raw_name, (unsigned)type);
        }
}

int layer_unpack(int fd, int destfd, int tee_fd, struct layer_stats *stats, struct burrow_error **err)
{
        memset(stats, 0, sizeof(*stats));
        struct raw_source *rs = calloc(1, sizeof(*rs));
        struct tar_source *ts = calloc(1, sizeof(*ts));
        struct archive *raw = archive_read_new();
        struct archive *tar = archive_read_new();
        int ret = -1;
        if (rs == NULL || ts == NULL || raw == NULL || tar == NULL || (rs->digest = digester_new()) == NULL ||
            (ts->digest = digester_new()) == NULL) {
                burrow_error_set(err, ENOMEM, "unpacking a layer");
                goto out;
        }
        rs->fd = fd;
        rs->tee = tee_fd;
        ts->raw = raw;
        archive_read_support_filter_all(raw);
        archive_read_support_format_raw(raw);
        archive_read_support_format_empty(raw);
        if (archive_read_open(raw, rs, NULL, raw_read, NULL) != ARCHIVE_OK) {
                burrow_error_set(err, 0, "reading the layer: %s", archive_error_string(raw));
                goto out;
        }
        struct archive_entry *e;
        if (archive_read_next_header(raw, &e) != ARCHIVE_OK) {
                burrow_error_set(err, 0, "reading the layer: %s", archive_error_string(raw) ? archive_error_string(raw) : "empty input");
                goto out;
        }
        snprintf(stats->compression, sizeof(stats->compression), "%s",
                 archive_filter_count(raw) > 1 ? archive_filter_name(raw, 0) : "none");
        archive_read_support_format_tar(tar);
        archive_read_support_format_empty(tar);
        if (archive_read_open(tar, ts, NULL, tar_read, NULL) != ARCHIVE_OK) {
                burrow_error_set(err, 0, "reading the layer's tar stream: %s", archive_error_string(tar));
                goto out;
        }
        struct unpacker u = { .tar = tar, .root = destfd, .stats = stats, .uid = geteuid(), .gid = getegid(), .cached_fd = -1 };
        mode_t old_umask = umask(0);
        int r;
        while ((r = archive_read_next_header(tar, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
                if (unpack_entry(&u, e, err) < 0) {
                        forget_parent(&u);
                        umask(old_umask);
                        goto out;
                }
        }
        forget_parent(&u);
        umask(old_umask);
        if (r != ARCHIVE_EOF) {
                burrow_error_set(err, 0, "corrupt or truncated layer: %s", archive_error_string(tar));
                goto out;
        }
        /* The digests cover every byte, including the tar's padding after its end marker. */
        char drain[IO_BLOCK];
        la_ssize_t n;
        while (!ts->eof && (n = tar_read(tar, ts, (const void **)&(const void *){ drain })) > 0)
                ;
        while ((n = archive_read_data(raw, drain, sizeof(drain))) > 0)
                ;
        if (n < 0) {
                burrow_error_set(err, 0, "corrupt or truncated layer: %s", archive_error_string(raw));
                goto out;
        }
        const void *rest;
        while ((n = raw_read(raw, rs, &rest)) > 0)
                ;
        digester_final(rs->digest, stats->blob_digest);
        digester_final(ts->digest, stats->diff_id);
        stats->blob_size = rs->size;
        stats->tar_size = ts->size;
        ret = 0;
out:
        if (tar)
                archive_read_free(tar);
        if (raw)
                archive_read_free(raw);
        if (rs)
                digester_free(rs->digest);
        if (ts)
                digester_free(ts->digest);
        free(rs);
        free(ts);
        return ret;
}
