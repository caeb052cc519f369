#include "config.h"

#include "fs/disktree.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "util/dl.h" /* last: calls to libarchive, libcurl, libcrypto go through it */

void disktree_freep(struct archive **a)
{
        if (*a)
                archive_free(*a);
}

int disktree_fail(struct archive *a, const char *what, const char *path, const char *where, struct burrow_error **err)
{
        return burrow_error_set(err, archive_errno(a) > 0 ? archive_errno(a) : 0, "%s `%s`%s%s: %s", what, path,
                                where ? " in " : "", where ? where : "",
                                archive_error_string(a) ? archive_error_string(a) : "failed");
}

struct archive *disktree_open(const char *path, const char *where, struct burrow_error **err)
{
        struct archive *disk = archive_read_disk_new();
        if (disk == NULL) {
                burrow_error_set(err, ENOMEM, "libarchive");
                return NULL;
        }
        archive_read_disk_set_symlink_physical(disk);
        if (archive_read_disk_set_behavior(disk, ARCHIVE_READDISK_NO_ACL | ARCHIVE_READDISK_NO_FFLAGS |
                                                         ARCHIVE_READDISK_NO_TRAVERSE_MOUNTS) != ARCHIVE_OK ||
            archive_read_disk_open(disk, path) != ARCHIVE_OK) {
                disktree_fail(disk, "reading", path, where, err);
                archive_free(disk);
                return NULL;
        }
        return disk;
}

int disktree_next(struct archive *disk, struct archive_entry **e, const char *where, struct burrow_error **err)
{
        *e = archive_entry_new();
        if (*e == NULL)
                return burrow_error_set(err, ENOMEM, "libarchive entry");
        int r = archive_read_next_header2(disk, *e);
        if (r == ARCHIVE_EOF || r < ARCHIVE_WARN) {
                archive_entry_free(*e);
                *e = NULL;
                return r == ARCHIVE_EOF ? 0 : disktree_fail(disk, "reading", "the tree", where, err);
        }
        archive_read_disk_descend(disk);
        return 1;
}

int disktree_copy_data(struct archive *disk, struct archive *out, const char *name, const char *where,
                       struct burrow_error **err)
{
        char buf[65536];
        ssize_t n;
        while ((n = archive_read_data(disk, buf, sizeof(buf))) > 0)
                if (archive_write_data(out, buf, (size_t)n) < 0)
                        return disktree_fail(out, "writing", name, where, err);
        return n < 0 ? disktree_fail(disk, "reading", name, where, err) : 0;
}

struct archive_entry_linkresolver *disktree_links(struct archive *out, struct burrow_error **err)
{
        struct archive_entry_linkresolver *links = archive_entry_linkresolver_new();
        if (links == NULL) {
                burrow_error_set(err, ENOMEM, "libarchive");
                return NULL;
        }
        int format = archive_format(out);
        archive_entry_linkresolver_set_strategy(links, format > 0 ? format : ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
        return links;
}

static bool overlay_private_xattr(const char *name)
{
        return strncmp(name, "trusted.overlay.", 16) == 0 || strncmp(name, "user.overlay.", 13) == 0 ||
               strncmp(name, "user.fuseoverlayfs.", 19) == 0;
}

bool disktree_strip_overlay_xattrs(struct archive_entry *e)
{
        if (archive_entry_xattr_reset(e) == 0)
                return false;
        struct kept {
                char *name;
                void *value;
                size_t size;
        } kept[64];
        size_t n = 0;
        bool opaque = false, dropped = false;
        const char *name;
        const void *value;
        size_t size;
        while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
                if (overlay_private_xattr(name)) {
                        /* kernel overlay's mark (trusted.* as root, user.* with userxattr) and
                         * fuse-overlayfs's own */
                        opaque |= (strcmp(name, "trusted.overlay.opaque") == 0 || strcmp(name, "user.overlay.opaque") == 0 ||
                                   strcmp(name, "user.fuseoverlayfs.opaque") == 0) &&
                                  size >= 1 && ((const char *)value)[0] == 'y';
                        dropped = true;
                        continue;
                }
                if (n < sizeof(kept) / sizeof(kept[0]) && (kept[n].name = strdup(name)) != NULL) {
                        if ((kept[n].value = malloc(size ? size : 1)) == NULL) {
                                free(kept[n].name);
                                continue;
                        }
                        memcpy(kept[n].value, value, size);
                        kept[n++].size = size;
                }
        }
        if (dropped) {
                archive_entry_xattr_clear(e);
                for (size_t i = 0; i < n; i++)
                        archive_entry_xattr_add_entry(e, kept[i].name, kept[i].value, kept[i].size);
        }
        for (size_t i = 0; i < n; i++) {
                free(kept[i].name);
                free(kept[i].value);
        }
        return opaque;
}
