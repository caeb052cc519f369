/* A container's files as archives: its changes as a new image layer (`burrow commit`), its
 * whole tree as a tar (`burrow export`). */
#ifndef BURROW_FS_COMMIT_H
#define BURROW_FS_COMMIT_H

#include <jansson.h>
#include <stdbool.h>

#include "fs/digest.h"
#include "fs/nsexec.h"
#include "fs/store.h"
#include "util/error.h"

struct commit_options {
        const char *name;    /* NAME[:TAG] for the new image, or NULL (an image known by ID only) */
        const char *message; /* -m: the history entry's comment */
        const char *author;  /* -a */
};

/* The container's writable layer (deletions as .wh. whiteouts, opaque directories as
 * .wh..wh..opq) as a new layer on top of its image's, with a config whose Entrypoint, Cmd,
 * Env, WorkingDir and User are the container's. *image_id gets the new image's ID. */
int container_commit(struct store *s, const struct store_ns *ns, const char *id, const struct commit_options *opts,
                     char image_id[DIGEST_STR_LEN + 1], struct burrow_error **err);

/* FN(ARG) in a process whose root is the container's assembled tree (mounted in a namespace of
 * its own, in the store's user namespace). WRITABLE: its writable layer takes the changes (the
 * container must not be running, and cannot start meanwhile); else a read-only view, which
 * works while it runs. */
typedef int (*container_tree_fn)(void *arg, struct burrow_error **err);
int container_tree_run(struct store *s, const struct store_ns *ns, const char *id, bool writable, container_tree_fn fn,
                       void *arg, struct burrow_error **err);

/* The container's merged tree (image layers under its writable layer) as a tar written to FD. */
int container_export(struct store *s, const struct store_ns *ns, const char *id, int fd, struct burrow_error **err);

#endif
