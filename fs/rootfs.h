/* A container root directory on the host, and paths resolved strictly inside it. */
#ifndef BURROW_FS_ROOTFS_H
#define BURROW_FS_ROOTFS_H

#include "util/error.h"

/* Open DIR as a rootfs (O_PATH directory); clear errors for missing or non-directory DIR. */
int rootfs_open(const char *dir, struct burrow_error **err);

enum rootfs_create {
        ROOTFS_EXISTING,    /* the path must exist */
        ROOTFS_CREATE_DIR,  /* create missing components as directories */
        ROOTFS_CREATE_FILE, /* missing parents as directories, the last as an empty file */
};

/* Resolve PATH as the container will see it: symlinks are followed inside the root and never
 * out of it (openat2 RESOLVE_IN_ROOT, or an equivalent walk on kernels before 5.6); missing
 * components are created through the descriptor of their parent, so nothing is ever written
 * through a symlink that points outside. Returns an O_PATH descriptor. root_name is used in
 * messages. */
int rootfs_resolve(int rootfd, const char *root_name, const char *path, enum rootfs_create create,
                   struct burrow_error **err);

/* The walk rootfs_resolve uses to create, and to look up when openat2 is missing (exposed for
 * the unit tests). Returns an O_PATH fd, or -1 with errno. */
int rootfs_walk_in_root(int rootfd, const char *path, enum rootfs_create create);

#endif
