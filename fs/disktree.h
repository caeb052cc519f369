/* Walking a directory tree with libarchive's disk reader, entry by entry: what commit, export,
 * cp and the vfs driver share. */
#ifndef BURROW_FS_DISKTREE_H
#define BURROW_FS_DISKTREE_H

#include <archive.h>
#include <archive_entry.h>
#include <stdbool.h>

#include "util/error.h"

/* A reader of the tree at PATH: symlinks are entries, not followed; no ACLs, file flags or
 * other mounts; no owner name lookups (owners stay numbers). WHERE names the side in errors. */
struct archive *disktree_open(const char *path, const char *where, struct burrow_error **err);
/* The next entry (the caller frees it), descending into directories: 1, or 0 at the end, or -1. */
int disktree_next(struct archive *disk, struct archive_entry **e, const char *where, struct burrow_error **err);
/* The current entry's bytes from DISK to OUT (a tar writer or a disk writer). */
int disktree_copy_data(struct archive *disk, struct archive *out, const char *name, const char *where,
                       struct burrow_error **err);
/* A hardlink resolver for OUT's format (or for disk writers: pax's). */
struct archive_entry_linkresolver *disktree_links(struct archive *out, struct burrow_error **err);
/* Drop overlayfs's and fuse-overlayfs's own xattrs from E; tells whether one marked it opaque. */
bool disktree_strip_overlay_xattrs(struct archive_entry *e);
/* An error from A: "WHAT `PATH` in WHERE: libarchive's message". */
int disktree_fail(struct archive *a, const char *what, const char *path, const char *where, struct burrow_error **err);

void disktree_freep(struct archive **a);
#define cleanup_archive __attribute__((cleanup(disktree_freep)))

#endif
