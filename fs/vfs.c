#include "config.h"

#include "fs/vfs.h"

#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fs/digest.h"
#include "fs/disktree.h"
#include "util/fsutil.h"
#include "util/dl.h" /* last: calls to libarchive, libcurl, libcrypto go through it */


static int archive_fail(struct archive *a, const char *what, const char *path, struct burrow_error **err)
{
        return disktree_fail(a, what, path, NULL, err);
}

/* The directory holding PATH (relative to DIRFD), reached without following any symlink. */
static int open_parent_nofollow(int dirfd, const char *path, const char **base)
{
        const char *slash = strrchr(path, '/');
        *base = slash ? slash + 1 : path;
        if (slash == NULL)
                return fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
        char parent[PATH_MAX];
        snprintf(parent, sizeof(parent), "%.*s", (int)(slash - path), path);
        struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC, .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH };
        int fd = (int)syscall(SYS_openat2, dirfd, parent, &how, sizeof(how));
        if (fd >= 0 || errno != ENOSYS)
                return fd;
        /* before Linux 5.6: one component at a time, none of them a symlink */
        fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
        for (char *save = NULL, *c = strtok_r(parent, "/", &save); fd >= 0 && c; c = strtok_r(NULL, "/", &save)) {
                int next = openat(fd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                close(fd);
                fd = next;
        }
        return fd;
}

/* Remove PATH (a whole tree) under DIRFD; what is not there is no error. */
static int remove_beneath(int dirfd, const char *path)
{
        const char *base;
        int pfd = open_parent_nofollow(dirfd, path, &base);
        if (pfd < 0)
                return errno == ENOENT || errno == ENOTDIR || errno == ELOOP ? 0 : -1;
        /* O_PATH descriptors cannot be read: store_remove_tree opens what it walks itself */
        char p[FD_PATH_MAX];
        int real = open(fd_path(pfd, p), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        close(pfd);
        if (real < 0)
                return -1;
        int r = store_remove_tree(real, base);
        close(real);
        return r;
}



/* One layer onto the copy (the process's cwd, MERGED_FD), as overlay would show it on top. */
static int apply_layer(const char *layer, int merged_fd, struct burrow_error **err)
{
        cleanup_archive struct archive *out = archive_write_disk_new();
        if (out == NULL)
                return burrow_error_set(err, ENOMEM, "libarchive");
        /* nothing is written through a symlink of the copy, nor outside it */
        archive_write_disk_set_options(out, ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME |
                                                    ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_UNLINK |
                                                    ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                                                    ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS);
        cleanup_archive struct archive *disk = disktree_open(layer, "the layer", err);
        struct archive_entry_linkresolver *links = disk ? disktree_links(out, err) : NULL;
        if (links == NULL)
                return -1;
        size_t prefix = strlen(layer);
        int ret = 0;
        struct archive_entry *e;
        while ((ret = disktree_next(disk, &e, "the layer", err)) > 0) {
                ret = 0; /* an entry: what follows sets it on failure */
                const char *full = archive_entry_pathname(e);
                if (strncmp(full, layer, prefix) != 0 || full[prefix] != '/') { /* the layer's root itself */
                        archive_entry_free(e);
                        continue;
                }
                char rel[PATH_MAX];
                snprintf(rel, sizeof(rel), "%s", full + prefix + 1);
                mode_t type = archive_entry_filetype(e);
                struct stat st;
                bool exists = fstatat(merged_fd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0;
                bool opaque = disktree_strip_overlay_xattrs(e);
                if (type == AE_IFCHR && archive_entry_rdev(e) == 0) { /* a whiteout: what is below goes */
                        if (exists && remove_beneath(merged_fd, rel) < 0)
                                ret = burrow_error_set(err, errno, "applying the whiteout `%s`", rel);
                        archive_entry_free(e);
                        if (ret < 0)
                                break;
                        continue;
                }
                /* a directory merges with one below unless opaque; anything else replaces */
                if (exists && (type != AE_IFDIR || !S_ISDIR(st.st_mode) || opaque) && remove_beneath(merged_fd, rel) < 0) {
                        ret = burrow_error_set(err, errno, "replacing `%s`", rel);
                        archive_entry_free(e);
                        break;
                }
                archive_entry_set_pathname(e, rel);
                struct archive_entry *sparse = NULL;
                archive_entry_linkify(links, &e, &sparse);
                if (sparse)
                        archive_entry_free(sparse);
                if (e == NULL)
                        continue;
                const char *h = archive_entry_hardlink(e);
                if (h && strncmp(h, layer, prefix) == 0 && h[prefix] == '/') {
                        char target[PATH_MAX];
                        snprintf(target, sizeof(target), "%s", h + prefix + 1);
                        archive_entry_set_hardlink(e, target);
                }
                if (archive_write_header(out, e) < ARCHIVE_WARN)
                        ret = archive_fail(out, "copying", rel, err);
                else if (type == AE_IFREG && archive_entry_size(e) > 0 && archive_entry_hardlink(e) == NULL)
                        ret = disktree_copy_data(disk, out, rel, NULL, err);
                if (ret == 0)
                        archive_write_finish_entry(out);
                archive_entry_free(e);
                if (ret < 0)
                        break;
        }
        archive_entry_linkresolver_free(links);
        archive_read_close(disk);
        if (ret == 0 && archive_write_close(out) != ARCHIVE_OK)
                ret = archive_fail(out, "copying into", "the container", err);
        return ret < 0 ? -1 : 0;
}

static FILE *base_out;

static int record_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void)flag;
        (void)ftw;
        if (strcmp(path, ".") == 0)
                return 0;
        fprintf(base_out, "%llu %lld %ld %s", (unsigned long long)st->st_ino, (long long)st->st_ctim.tv_sec,
                (long)st->st_ctim.tv_nsec, strncmp(path, "./", 2) == 0 ? path + 2 : path);
        fputc('\0', base_out);
        return ferror(base_out) ? -1 : 0;
}

struct populate_job {
        struct store *s;
        const char *id;
        json_t *layers;
};

static int populate_worker(void *arg, void *result, struct burrow_error **err)
{
        (void)result;
        struct populate_job *job = arg;
        char dir[PATH_MAX];
        snprintf(dir, sizeof(dir), "/proc/self/fd/%d/containers/%s", job->s->fd, job->id);
        char ctr[PATH_MAX];
        if (realpath(dir, ctr) == NULL)
                return burrow_error_set(err, errno, "resolving `%s`", dir);
        char merged[PATH_MAX + 16];
        snprintf(merged, sizeof(merged), "%s/merged", ctr);
        cleanup_close int merged_fd = open(merged, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (merged_fd < 0 || fchdir(merged_fd) < 0)
                return burrow_error_set(err, errno, "entering `%s`", merged);
        size_t i;
        json_t *l;
        json_array_foreach(job->layers, i, l)
        {
                char p[PATH_MAX], layer[PATH_MAX];
                snprintf(p, sizeof(p), "/proc/self/fd/%d/layers/%s", job->s->fd, digest_hex(json_string_value(l)));
                if (realpath(p, layer) == NULL)
                        return burrow_error_set(err, errno, "layer %s of the image", json_string_value(l));
                if (apply_layer(layer, merged_fd, err) < 0)
                        return burrow_error_wrap(err, "copying layer %s into the container (vfs)", json_string_value(l));
        }
        /* what the copy holds now: commit compares against it */
        char base[PATH_MAX + 16], tmp[PATH_MAX + 32];
        snprintf(base, sizeof(base), "%s/vfs-base", ctr);
        snprintf(tmp, sizeof(tmp), "%s/vfs-base.tmp", ctr);
        base_out = fopen(tmp, "we");
        if (base_out == NULL)
                return burrow_error_set(err, errno, "creating `%s`", tmp);
        int r = nftw(".", record_entry, 64, FTW_PHYS);
        if (fclose(base_out) != 0 || r != 0)
                return burrow_error_set(err, errno, "writing `%s`", tmp);
        base_out = NULL;
        if (rename(tmp, base) < 0)
                return burrow_error_set(err, errno, "renaming `%s`", tmp);
        return 0;
}

int vfs_populate(struct store *s, struct store_ns_plan *plan, const char *id, json_t *layers, struct burrow_error **err)
{
        struct populate_job job = { .s = s, .id = id, .layers = layers };
        struct store_ns_worker w;
        if (store_ns_start(plan, populate_worker, &job, 0, NULL, 0, &w, err) < 0)
                return -1;
        return store_ns_finish(&w, NULL, err);
}

struct base_entry {
        const char *path;
        unsigned long long ino;
        long long sec;
        long nsec;
        bool seen;
};

static int by_path(const void *a, const void *b)
{
        return strcmp(((const struct base_entry *)a)->path, ((const struct base_entry *)b)->path);
}

static struct base_entry *base_find(struct base_entry *v, size_t n, const char *path)
{
        struct base_entry key = { .path = path };
        return n ? bsearch(&key, v, n, sizeof(*v), by_path) : NULL;
}

struct pending {
        char path[PATH_MAX];
        struct archive_entry *e;
        bool written;
};

static int emit(struct archive *out, struct archive_entry *e, const char *path, struct burrow_error **err)
{
        return archive_write_header(out, e) < ARCHIVE_OK ? archive_fail(out, "writing", path, err) : 0;
}

/* A directory entry for PATH from its current state (the parent of a deletion). */
static int emit_dir(struct archive *out, const char *path, struct burrow_error **err)
{
        struct stat st;
        if (lstat(path, &st) < 0)
                return burrow_error_set(err, errno, "`%s`", path);
        struct archive_entry *e = archive_entry_new();
        if (e == NULL)
                return burrow_error_set(err, ENOMEM, "entry");
        archive_entry_copy_stat(e, &st);
        archive_entry_set_pathname(e, path);
        int r = emit(out, e, path, err);
        archive_entry_free(e);
        return r;
}

int vfs_diff(struct store *s, const char *id, struct archive *out, struct burrow_error **err)
{
        char ctr[PATH_MAX];
        snprintf(ctr, sizeof(ctr), "/proc/self/fd/%d/containers/%s", s->fd, id);
        cleanup_free char *text = NULL;
        size_t len = 0;
        char base_path[PATH_MAX + 16];
        snprintf(base_path, sizeof(base_path), "%s/vfs-base", ctr);
        if (read_file_at(AT_FDCWD, base_path, &text, &len, err) < 0)
                return burrow_error_wrap(err, "the record of what container %.12s started with", id);
        size_t n = 0, cap = 0;
        cleanup_free struct base_entry *v = NULL;
        for (char *p = text; p < text + len;) {
                char *end = memchr(p, '\0', (size_t)(text + len - p));
                if (end == NULL)
                        break;
                struct base_entry b = { 0 };
                int off = 0;
                if (sscanf(p, "%llu %lld %ld %n", &b.ino, &b.sec, &b.nsec, &off) == 3 && off > 0) {
                        b.path = p + off;
                        if (n == cap) {
                                cap = cap ? cap * 2 : 1024;
                                struct base_entry *bigger = realloc(v, cap * sizeof(*v));
                                if (bigger == NULL)
                                        return burrow_error_set(err, ENOMEM, "vfs-base");
                                v = bigger;
                        }
                        v[n++] = b;
                }
                p = end + 1;
        }
        if (n > 1)
                qsort(v, n, sizeof(*v), by_path);

        char merged[PATH_MAX + 16];
        snprintf(merged, sizeof(merged), "%s/merged", ctr);
        if (chdir(merged) < 0)
                return burrow_error_set(err, errno, "entering `%s`", merged);
        cleanup_archive struct archive *disk = disktree_open(".", merged, err);
        struct archive_entry_linkresolver *links = disk ? disktree_links(out, err) : NULL;
        if (links == NULL)
                return -1;
        /* the unchanged directories above the current entry, written once a change below needs them */
        static struct pending stack[64];
        size_t depth = 0;
        int ret = 0;
        struct archive_entry *e;
        while ((ret = disktree_next(disk, &e, merged, err)) > 0) {
                ret = 0; /* an entry: what follows sets it on failure */
                const char *raw = archive_entry_pathname(e);
                if (strcmp(raw, ".") == 0 || archive_entry_filetype(e) == AE_IFSOCK) {
                        archive_entry_free(e);
                        continue;
                }
                char path[PATH_MAX];
                snprintf(path, sizeof(path), "%s", strncmp(raw, "./", 2) == 0 ? raw + 2 : raw);
                archive_entry_set_pathname(e, path);
                archive_entry_set_uname(e, NULL);
                archive_entry_set_gname(e, NULL);
                while (depth > 0) { /* leave the directories this entry is not under */
                        size_t l = strlen(stack[depth - 1].path);
                        if (strncmp(path, stack[depth - 1].path, l) == 0 && path[l] == '/')
                                break;
                        archive_entry_free(stack[--depth].e);
                }
                const struct stat *st = archive_entry_stat(e);
                struct base_entry *b = base_find(v, n, path);
                if (b)
                        b->seen = true;
                bool same = b && b->ino == (unsigned long long)st->st_ino && b->sec == (long long)st->st_ctim.tv_sec &&
                            b->nsec == (long)st->st_ctim.tv_nsec;
                bool dir = archive_entry_filetype(e) == AE_IFDIR;
                if (!same) {
                        for (size_t k = 0; ret == 0 && k < depth; k++)
                                if (!stack[k].written) {
                                        ret = emit(out, stack[k].e, stack[k].path, err);
                                        stack[k].written = true;
                                }
                        struct archive_entry *w = archive_entry_clone(e);
                        struct archive_entry *sparse = NULL;
                        archive_entry_linkify(links, &w, &sparse);
                        if (sparse)
                                archive_entry_free(sparse);
                        if (ret == 0 && w) {
                                ret = emit(out, w, path, err);
                                if (ret == 0 && archive_entry_filetype(w) == AE_IFREG && archive_entry_size(w) > 0)
                                        ret = disktree_copy_data(disk, out, path, NULL, err);
                        }
                        archive_entry_free(w);
                }
                if (ret == 0 && dir && depth < sizeof(stack) / sizeof(stack[0])) {
                        snprintf(stack[depth].path, sizeof(stack[depth].path), "%s", path);
                        stack[depth].e = archive_entry_clone(e);
                        stack[depth].written = !same;
                        depth++;
                }
                archive_entry_free(e);
                if (ret < 0)
                        break;
        }
        while (depth > 0)
                archive_entry_free(stack[--depth].e);
        archive_entry_linkresolver_free(links);
        archive_read_close(disk);
        if (ret < 0)
                return -1;
        /* what went away: a whiteout each, none below a directory that went itself */
        for (size_t i = 0; ret == 0 && i < n; i++) {
                if (v[i].seen)
                        continue;
                char parent[PATH_MAX];
                snprintf(parent, sizeof(parent), "%s", v[i].path);
                char *slash = strrchr(parent, '/');
                if (slash) {
                        *slash = '\0';
                        struct base_entry *p = base_find(v, n, parent);
                        if (p && !p->seen)
                                continue;
                        /* its parents, as they are now */
                        for (char *q = strchr(parent, '/');; q = strchr(q + 1, '/')) {
                                if (q)
                                        *q = '\0';
                                ret = emit_dir(out, parent, err);
                                if (q)
                                        *q = '/';
                                if (q == NULL || ret < 0)
                                        break;
                        }
                }
                char wh[PATH_MAX + 16];
                if (slash)
                        snprintf(wh, sizeof(wh), "%s/.wh.%s", parent, slash + 1);
                else
                        snprintf(wh, sizeof(wh), ".wh.%s", v[i].path);
                struct archive_entry *m = archive_entry_new();
                if (m == NULL)
                        return burrow_error_set(err, ENOMEM, "entry");
                archive_entry_set_pathname(m, wh);
                archive_entry_set_filetype(m, AE_IFREG);
                archive_entry_set_perm(m, 0644);
                archive_entry_set_size(m, 0);
                ret = emit(out, m, wh, err);
                archive_entry_free(m);
        }
        return ret;
}
