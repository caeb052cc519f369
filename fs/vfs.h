/* The vfs storage driver: a container's root filesystem as a full copy of its image's layers,
 * for hosts where neither kernel overlayfs in a user namespace nor fuse-overlayfs works.
 *
 *   containers/ID/merged/     the copy, the container's root (it writes there directly)
 *   containers/ID/vfs-base    what the copy held when made: inode, ctime and path of every
 *                             entry, so commit can tell what changed without the layers
 */
#ifndef BURROW_FS_VFS_H
#define BURROW_FS_VFS_H

#include <archive.h>
#include <jansson.h>

#include "fs/nsexec.h"
#include "fs/store.h"
#include "util/error.h"

/* Copy LAYERS (diffIDs, bottom first) into containers/ID/merged in the store's namespace,
 * applying whiteouts and opaque directories as overlay would, then record vfs-base. */
int vfs_populate(struct store *s, struct store_ns_plan *plan, const char *id, json_t *layers, struct burrow_error **err);

/* In the store's namespace: what changed in containers/ID/merged since vfs-base, as layer tar
 * entries on OUT (new and changed entries with their parents, deletions as .wh. whiteouts). */
int vfs_diff(struct store *s, const char *id, struct archive *out, struct burrow_error **err);

#endif
