#include "config.h"

#include "fs/copy.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs/disktree.h"
#include "util/cleanup.h"
#include "util/dl.h" /* last: calls to libarchive, libcurl, libcrypto go through it */


static int archive_fail(struct archive *a, const char *what, const char *path, const char *where,
                        struct burrow_error **err)
{
        return disktree_fail(a, what, path, where, err);
}

/* "TOP/rest" -> "TO/rest" (NAME is not under TOP: unchanged). */
static void rename_top(char *out, size_t size, const char *name, const char *top, const char *to)
{
        size_t n = strlen(top);
        if (to && strncmp(name, top, n) == 0 && (name[n] == '\0' || name[n] == '/'))
                snprintf(out, size, "%s%s", to, name + n);
        else
                snprintf(out, size, "%s", name);
}

int copy_tar_write(const char *path, const char *as, bool contents, bool zero_owner, int fd, const char *where,
                   struct burrow_error **err)
{
        char copy[PATH_MAX];
        snprintf(copy, sizeof(copy), "%s", path);
        size_t len = strlen(copy);
        while (len > 1 && copy[len - 1] == '/')
                copy[--len] = '\0';
        struct stat st;
        if (lstat(copy, &st) < 0)
                return burrow_error_set(err, errno, "`%s` in %s", path, where);
        if (contents && !S_ISDIR(st.st_mode))
                return burrow_error_set(err, ENOTDIR, "`%s/.` in %s", copy, where);
        char dir_buf[PATH_MAX], base_buf[PATH_MAX];
        snprintf(dir_buf, sizeof(dir_buf), "%s", copy);
        snprintf(base_buf, sizeof(base_buf), "%s", copy);
        const char *parent = contents ? copy : dirname(dir_buf);
        const char *top = contents ? "." : basename(base_buf);
        if (!contents && strcmp(top, "/") == 0)
                return burrow_error_set(err, 0, "copy `/` as `/.` (its contents)");
        if (chdir(parent) < 0)
                return burrow_error_set(err, errno, "entering `%s` in %s", parent, where);
        cleanup_archive struct archive *out = archive_write_new();
        if (out == NULL)
                return burrow_error_set(err, ENOMEM, "libarchive");
        if (archive_write_set_format_pax_restricted(out) != ARCHIVE_OK || archive_write_open_fd(out, fd) != ARCHIVE_OK)
                return archive_fail(out, "writing", path, where, err);
        cleanup_archive struct archive *disk = disktree_open(top, where, err);
        struct archive_entry_linkresolver *links = disk ? disktree_links(out, err) : NULL;
        if (links == NULL)
                return -1;
        int ret = 0;
        struct archive_entry *e;
        while ((ret = disktree_next(disk, &e, where, err)) > 0) {
                ret = 0; /* an entry: what follows sets it on failure */
                const char *name = archive_entry_pathname(e);
                char renamed[PATH_MAX + 256];
                if (contents) {
                        if (strcmp(name, ".") == 0) {
                                archive_entry_free(e);
                                continue;
                        }
                        snprintf(renamed, sizeof(renamed), "%s", strncmp(name, "./", 2) == 0 ? name + 2 : name);
                } else {
                        rename_top(renamed, sizeof(renamed), name, top, as);
                }
                archive_entry_set_pathname(e, renamed);
                archive_entry_set_uname(e, NULL);
                archive_entry_set_gname(e, NULL);
                if (zero_owner) {
                        archive_entry_set_uid(e, 0);
                        archive_entry_set_gid(e, 0);
                }
                mode_t type = archive_entry_filetype(e);
                if (type == AE_IFSOCK) {
                        archive_entry_free(e);
                        continue;
                }
                struct archive_entry *sparse = NULL;
                archive_entry_linkify(links, &e, &sparse);
                if (sparse)
                        archive_entry_free(sparse);
                if (e == NULL)
                        continue;
                if (archive_write_header(out, e) < ARCHIVE_OK)
                        ret = archive_fail(out, "writing", renamed, where, err);
                else if (type == AE_IFREG && archive_entry_size(e) > 0)
                        ret = disktree_copy_data(disk, out, renamed, where, err);
                archive_entry_free(e);
                if (ret < 0)
                        break;
        }
        archive_entry_linkresolver_free(links);
        archive_read_close(disk);
        if (ret == 0 && archive_write_close(out) != ARCHIVE_OK)
                ret = archive_fail(out, "writing", path, where, err);
        return ret < 0 ? -1 : 0;
}

int copy_tar_extract(int fd, const char *dest, bool contents, bool restore_owner, const char *where,
                     struct burrow_error **err)
{
        cleanup_archive struct archive *in = archive_read_new();
        cleanup_archive struct archive *disk = archive_write_disk_new();
        if (in == NULL || disk == NULL)
                return burrow_error_set(err, ENOMEM, "libarchive");
        archive_read_support_format_tar(in);
        archive_read_support_format_gnutar(in);
        archive_read_support_filter_all(in);
        if (archive_read_open_fd(in, fd, 65536) != ARCHIVE_OK)
                return archive_fail(in, "reading the tar for", dest, where, err);
        int flags = ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                    ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS | ARCHIVE_EXTRACT_UNLINK;
        if (restore_owner)
                flags |= ARCHIVE_EXTRACT_OWNER;
        archive_write_disk_set_options(disk, flags);
        char top[PATH_MAX] = "", to[PATH_MAX] = "";
        bool first = true;
        for (;;) {
                struct archive_entry *e;
                int r = archive_read_next_header(in, &e);
                if (r == ARCHIVE_EOF)
                        break;
                if (r < ARCHIVE_WARN)
                        return archive_fail(in, "reading the tar for", dest, where, err);
                const char *name = archive_entry_pathname(e);
                if (first) {
                        first = false;
                        /* where it lands: docker cp's rules, decided by the first entry */
                        struct stat st;
                        bool exists = stat(dest, &st) == 0;
                        bool top_is_dir = archive_entry_filetype(e) == AE_IFDIR;
                        char copy[PATH_MAX], parent_buf[PATH_MAX], base_buf[PATH_MAX];
                        snprintf(copy, sizeof(copy), "%s", dest);
                        snprintf(parent_buf, sizeof(parent_buf), "%s", dest);
                        snprintf(base_buf, sizeof(base_buf), "%s", dest);
                        const char *into;
                        if (exists && S_ISDIR(st.st_mode)) {
                                into = dest;
                        } else if (exists && top_is_dir && !contents) {
                                return burrow_error_set(err, ENOTDIR, "cannot copy a directory onto the file `%s` in %s", dest,
                                                        where);
                        } else if (contents) {
                                if (exists)
                                        return burrow_error_set(err, ENOTDIR, "`%s` in %s is not a directory", dest, where);
                                if (mkdir(dest, 0755) < 0)
                                        return burrow_error_set(err, errno, "creating `%s` in %s", dest, where);
                                into = dest;
                        } else {
                                into = dirname(parent_buf);
                                snprintf(to, sizeof(to), "%s", basename(base_buf));
                                size_t n = strcspn(name, "/");
                                snprintf(top, sizeof(top), "%.*s", (int)n, name);
                                if (strcmp(to, "/") == 0 || strcmp(to, ".") == 0 || strcmp(to, "..") == 0)
                                        return burrow_error_set(err, EINVAL, "bad destination `%s` in %s", dest, where);
                        }
                        struct stat ist;
                        if (stat(into, &ist) < 0 || !S_ISDIR(ist.st_mode))
                                return burrow_error_set(err, errno ? errno : ENOTDIR,
                                                        "the directory `%s` for `%s` does not exist in %s", into, dest, where);
                        if (chdir(into) < 0)
                                return burrow_error_set(err, errno, "entering `%s` in %s", into, where);
                }
                char renamed[PATH_MAX + 256];
                rename_top(renamed, sizeof(renamed), name, top, top[0] ? to : NULL);
                archive_entry_set_pathname(e, renamed);
                const char *h = archive_entry_hardlink(e);
                if (h) {
                        char link[PATH_MAX + 256];
                        rename_top(link, sizeof(link), h, top, top[0] ? to : NULL);
                        archive_entry_set_hardlink(e, link);
                }
                if (archive_write_header(disk, e) < ARCHIVE_WARN)
                        return archive_fail(disk, "writing", renamed, where, err);
                if (archive_entry_size(e) > 0) {
                        const void *block;
                        size_t size;
                        la_int64_t offset;
                        while ((r = archive_read_data_block(in, &block, &size, &offset)) == ARCHIVE_OK)
                                if (archive_write_data_block(disk, block, size, offset) < ARCHIVE_WARN)
                                        return archive_fail(disk, "writing", renamed, where, err);
                        if (r != ARCHIVE_EOF)
                                return archive_fail(in, "reading", renamed, where, err);
                }
                if (archive_write_finish_entry(disk) < ARCHIVE_WARN)
                        return archive_fail(disk, "writing", renamed, where, err);
        }
        if (archive_write_close(disk) != ARCHIVE_OK)
                return archive_fail(disk, "finishing", dest, where, err);
        return 0;
}

bool dir_is_empty(const char *dir)
{
        DIR *d = opendir(dir);
        if (d == NULL)
                return true;
        struct dirent *de;
        bool empty = true;
        while (empty && (de = readdir(d)) != NULL)
                empty = strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0;
        closedir(d);
        return empty;
}

int copy_tree(const char *src, const char *dst, struct burrow_error **err)
{
        if (chdir(src) < 0)
                return burrow_error_set(err, errno, "entering `%s`", src);
        cleanup_archive struct archive *out = archive_write_disk_new();
        if (out == NULL)
                return burrow_error_set(err, ENOMEM, "libarchive");
        archive_write_disk_set_options(out, ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME |
                                                    ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                                                    ARCHIVE_EXTRACT_SECURE_SYMLINKS);
        cleanup_archive struct archive *disk = disktree_open(".", "the container", err);
        struct archive_entry_linkresolver *links = disk ? disktree_links(out, err) : NULL;
        if (links == NULL)
                return -1;
        int ret = 0;
        struct archive_entry *e;
        while ((ret = disktree_next(disk, &e, "the container", err)) > 0) {
                ret = 0; /* an entry: what follows sets it on failure */
                const char *name = archive_entry_pathname(e);
                mode_t type = archive_entry_filetype(e);
                if (strcmp(name, ".") == 0 || type == AE_IFSOCK) {
                        archive_entry_free(e);
                        continue;
                }
                char full[PATH_MAX * 2];
                snprintf(full, sizeof(full), "%s/%s", dst, strncmp(name, "./", 2) == 0 ? name + 2 : name);
                archive_entry_set_pathname(e, full);
                struct archive_entry *sparse = NULL;
                archive_entry_linkify(links, &e, &sparse);
                if (sparse)
                        archive_entry_free(sparse);
                if (e == NULL)
                        continue;
                /* a later name of a file: its target was renamed when the first name was */
                const char *h = archive_entry_hardlink(e);
                if (h && strncmp(h, dst, strlen(dst)) != 0) {
                        char link[PATH_MAX * 2];
                        snprintf(link, sizeof(link), "%s/%s", dst, strncmp(h, "./", 2) == 0 ? h + 2 : h);
                        archive_entry_set_hardlink(e, link);
                }
                if (archive_write_header(out, e) < ARCHIVE_WARN)
                        ret = archive_fail(out, "copying", full, "the container", err);
                else if (type == AE_IFREG && archive_entry_size(e) > 0)
                        ret = disktree_copy_data(disk, out, full, "the container", err);
                if (ret == 0)
                        archive_write_finish_entry(out);
                archive_entry_free(e);
                if (ret < 0)
                        break;
        }
        archive_entry_linkresolver_free(links);
        archive_read_close(disk);
        if (ret == 0 && archive_write_close(out) != ARCHIVE_OK)
                ret = archive_fail(out, "copying into", dst, "the container", err);
        return ret < 0 ? -1 : 0;
}
