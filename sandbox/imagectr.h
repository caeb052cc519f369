/* `burrow run IMAGE`: the container record, the image config applied to the run, the overlay
 * options, and the user lookup in the container's own /etc/passwd. */
#ifndef BURROW_SANDBOX_IMAGECTR_H
#define BURROW_SANDBOX_IMAGECTR_H

#include <limits.h>
#include <stdbool.h>

#include "fs/container.h"
#include "fs/store.h"
#include "sandbox/runconfig.h"
#include "util/error.h"

enum storage_driver {
        DRIVER_OVERLAY,        /* kernel overlayfs, mounted by the container's own child */
        DRIVER_FUSE_OVERLAYFS, /* fuse-overlayfs, run by burrow outside the container's PID namespace */
        DRIVER_VFS,            /* a full copy of the layers (fs/vfs.h): no mount at all, the last resort */
};
/* "overlay", "fuse-overlayfs" or "vfs" (--storage-driver). */
int storage_driver_parse(const char *text, enum storage_driver *out, struct burrow_error **err);
const char *storage_driver_name(enum storage_driver d);

struct image_ctr {
        enum storage_driver driver;
        pid_t fuse_pid; /* the fuse-overlayfs process, or -1 */
        struct store *store;
        char id[CONTAINER_ID_LEN + 1];
        char *overlay_opts; /* for mount(2), paths relative to the store root */
        char merged[PATH_MAX];
        char store_path[PATH_MAX]; /* the store's real path */
        int running_fd;     /* flock on containers/ID/running while it runs */
        bool created;
        bool existing;   /* started again (`burrow start`), not made by this run */
        struct burrow_run_config stored; /* an existing container's config, owned here */
        bool finished;   /* image_ctr_finish ran: otherwise image_ctr_free removes it */
        struct store_ns_plan *ns_plan; /* how to enter the store's namespace, worked out up front */
        pid_t finisher;   /* records the exit or removes the container from outside any user
                           * namespace burrow run joins later (a joined one cannot be left) */
        int finisher_sock;
        /* The container's namespace descriptors (burrow run's exec server holds them): --rm's
         * background removal closes its copies once burrow run has gone, so that tearing down
         * the mount namespace (the overlay with it, 0.6-0.9 ms) is not on the caller's clock. */
        const int *ns_hold;
        size_t n_ns_hold;
        int ns_released; /* the write end of a pipe: closed once burrow run has closed NS_HOLD */
        /* what the run config points at, owned here */
        char **argv;
        char **env;
        char *workdir;
        char *user_name;
        json_t *layers; /* diffIDs, bottom first */
        struct burrow_bind *binds; /* the run's mounts, volumes resolved */
        size_t n_binds;
};

/* Open the store, find the image (or with eff->container, the container made earlier, whose
 * stored config then replaces EFFECTIVE but for -a/-i/-d), make the container and fill EFFECTIVE (a copy of the user's
 * config) with what the image says: argv from Entrypoint and Cmd, Env before -e, WorkingDir and
 * User unless -w/-u, rootfs = the merged directory. */
int image_ctr_prepare(const struct burrow_global *global, const char *runroot, struct burrow_run_config *effective,
                      struct image_ctr *ic, struct burrow_error **err);
/* `burrow create`: the container made (as image_ctr_prepare makes it), recorded, not started. */
int image_ctr_create(const struct burrow_global *global, const char *runroot, const struct burrow_run_config *eff,
                     char id[CONTAINER_ID_LEN + 1], struct burrow_error **err);
/* In the container's mount namespace (the child): mount the overlay on the merged directory. */
int image_ctr_mount(const struct image_ctr *ic, struct burrow_error **err);
/* fuse-overlayfs: in burrow's own mount namespace (in the container's user namespace, before the
 * container is cloned, so the container's mount namespace inherits the mount while the daemon
 * stays out of its PID namespace). It runs in the foreground as burrow's child and dies with
 * burrow (PDEATHSIG): a kill -9 leaves no FUSE process and no mount. */
int image_ctr_fuse_start(struct image_ctr *ic, struct burrow_error **err);
/* Stop it and detach the mount (before the container's files are removed). */
void image_ctr_fuse_stop(struct image_ctr *ic);
/* After the run: remove the container (--rm) or record its exit code. */
int image_ctr_finish(struct image_ctr *ic, bool remove, int exit_code, struct burrow_error **err);
/* image_ctr_finish's removal runs in a child of this process (it can be handed NS_HOLD), not in
 * the finisher. */
bool image_ctr_removes_here(const struct image_ctr *ic);
/* burrow run has closed its copies of ic->ns_hold: the removal may drop the last ones. */
void image_ctr_ns_released(struct image_ctr *ic);
/* Frees; a container made but never finished (setup failed) is removed. */
void image_ctr_free(struct image_ctr *ic);

/* After pivot_root: "USER[:GROUP]" by name or number from /etc/passwd and /etc/group. Without
 * GROUP, the user's primary group. */
int resolve_user_in_root(const char *spec, uid_t *uid, gid_t *gid, struct burrow_error **err);
/* After pivot_root: UID's home directory in the container's /etc/passwd. */
bool home_in_root(uid_t uid, char *buf, size_t size);

#endif
