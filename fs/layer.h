/* Unpacking one image layer (a tar, maybe compressed) into a directory, safely. */
#ifndef BURROW_FS_LAYER_H
#define BURROW_FS_LAYER_H

#include <stdint.h>

#include "fs/digest.h"
#include "util/error.h"

struct layer_stats {
        char diff_id[DIGEST_STR_LEN + 1];     /* sha256 of the uncompressed tar */
        char blob_digest[DIGEST_STR_LEN + 1]; /* sha256 of the bytes read from the input */
        uint64_t blob_size;
        uint64_t tar_size;
        uint64_t entries;
        uint64_t skipped_devices; /* block/char devices: cannot be made without privilege */
        uint64_t unmapped_owners; /* entries whose owner is not mapped: left to the unpacking user */
        uint64_t whiteouts;
        char compression[16]; /* "gzip", "zstd", "none"... as libarchive named the filter */
};

/* Read a tar (plain, gzip, zstd, xz or bzip2) from FD and unpack it into DIRFD.
 * - Entry names lose a leading "/" or "./"; a ".." component is refused.
 * - Nothing is created through a symlink that leaves DIRFD (openat2 RESOLVE_BENEATH, or a walk
 *   that follows no symlink at all on kernels before 5.6); the last component is never followed.
 * - A hardlink must point at an entry already unpacked in this layer.
 * - ".wh.NAME" becomes a 0:0 character device NAME, ".wh..wh..opq" the xattr
 *   user.overlay.opaque=y on its directory: the one form kernel overlay (userxattr) and
 *   fuse-overlayfs both read.
 * - Owners, modes (setuid/setgid too), user.* xattrs, mtimes, symlinks, hardlinks, FIFOs and
 *   sparse files are kept; device nodes are skipped and counted.
 * On error the message names the entry; what was unpacked so far is left for the caller to
 * throw away. */
/* TEE_FD, if not -1, receives a copy of every byte read from FD (the blob, stored as it came). */
int layer_unpack(int fd, int dirfd, int tee_fd, struct layer_stats *stats, struct burrow_error **err);

#endif
