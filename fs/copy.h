/* `burrow cp`: files between the host and a container, as tar streams, with docker cp's rules
 * for where they land. */
#ifndef BURROW_FS_COPY_H
#define BURROW_FS_COPY_H

#include <stdbool.h>

#include "util/error.h"

/* Write PATH (not followed if it is a symlink) to FD as a tar whose top entry is named AS (NULL:
 * PATH's last component). CONTENTS (PATH ended in "/."): only what the directory holds, named
 * relative to it. ZERO_OWNER: every entry 0:0 (files copied into a container belong to its
 * root, as with docker cp). WHERE names the side ("the container", "the host") in errors. */
int copy_tar_write(const char *path, const char *as, bool contents, bool zero_owner, int fd, const char *where,
                   struct burrow_error **err);

/* Read a tar from FD into DEST, docker cp's way: DEST an existing directory gets the entries in
 * it; otherwise the tar's top entry becomes DEST (its parent must exist). CONTENTS: the tar holds
 * a directory's contents; a missing DEST is made as that directory. RESTORE_OWNER: owners as the
 * tar says (inside a container), else the caller's. Nothing is written through a symlink or
 * outside DEST. */
int copy_tar_extract(int fd, const char *dest, bool contents, bool restore_owner, const char *where,
                     struct burrow_error **err);

/* Copy what the directory SRC holds into the directory DST: owners, modes, times, xattrs and
 * hardlinks kept (a volume's first use: docker copies the image's files into it). */
int copy_tree(const char *src, const char *dst, struct burrow_error **err);
/* DIR has no entries (a missing DIR counts as empty). */
bool dir_is_empty(const char *dir);

#endif
