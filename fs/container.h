/* Containers in the store, made from images:
 *
 *   ROOT/containers/ID/config.json   what it runs, from which image, its name, its driver
 *   ROOT/containers/ID/state.json    how it ended (exit code, time); absent before its first end
 *   ROOT/containers/ID/running       flock'ed by the burrow process that runs it, while it runs
 *   ROOT/containers/ID/upper/        the writable layer (owned by mapped IDs)
 *   ROOT/containers/ID/work/         overlay's work directory
 *   ROOT/containers/ID/merged/       where the root filesystem is assembled
 *   ROOT/l/SHORT -> ../layers/HEX    short names of layers, so 100+ lower directories fit in
 *                                    the one page kernel overlay takes for its options
 *
 * A container directory appears by rename(2) once complete; removing one happens in the store's
 * user namespace (files of the upper layer belong to subordinate IDs). */
#ifndef BURROW_FS_CONTAINER_H
#define BURROW_FS_CONTAINER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "fs/nsexec.h"
#include "fs/store.h"
#include "util/error.h"

#define CONTAINER_ID_LEN 64

/* Make a container for IMAGE_ID named NAME (NULL: a generated name) with CONFIG (an object the
 * caller filled: argv, env, ...; id, name, image and created are added). */
int container_create(struct store *s, const char *image_id, const char *name, json_t *config,
                     char id[CONTAINER_ID_LEN + 1], struct burrow_error **err);
/* A full ID, a unique ID prefix (3+ characters) or a name. */
int container_resolve(struct store *s, const char *ref, char id[CONTAINER_ID_LEN + 1], struct burrow_error **err);
json_t *container_config(struct store *s, const char *id, struct burrow_error **err);

/* Hold the container's "running" lock; returns the fd (keep it open while it runs). A container
 * already running is an error. */
int container_lock_running(struct store *s, const char *id, struct burrow_error **err);
bool container_is_running(struct store *s, const char *id);
/* Record its init's PID and the start time in the running lock file (RUNNING_FD, from
 * container_lock_running): no file to create on the way to the container's start. */
int container_record_start(int running_fd, pid_t pid, struct burrow_error **err);
/* How it is: running ({"status", "pid", "started"}, from the lock file; no pid yet while it
 * starts) or as state.json says ({"status", "exit_code", "finished"}), or NULL (created). */
json_t *container_state(struct store *s, const char *id);
int container_record_exit(struct store *s, const char *id, int exit_code, struct burrow_error **err);

/* Remove it (upper layer and all) in the store's user namespace; refuses a running one.
 * VOLUMES: its anonymous volumes too (--rm, rm -v). */
int container_remove(struct store *s, const struct store_ns *ns, const char *id, bool volumes, struct burrow_error **err);
/* The same with a plan made earlier (burrow run makes it before it joins the holder's namespace,
 * where the caller's map can no longer be worked out). */
int container_remove_with(struct store *s, struct store_ns_plan *plan, const char *id, bool volumes, struct burrow_error **err);
/* The same in two steps: out of the store's view at once (a rename into a locked op directory),
 * then its files and anonymous volumes, which may take a while, later (burrow run --rm answers
 * in between). */
struct container_removal {
        char id[CONTAINER_ID_LEN + 1];
        struct store *store;
        struct store_op op; /* the container's directory, out of sight in tmp/ */
        int running;
        json_t *anonymous;
};
int container_remove_begin(struct store *s, struct store_ns_plan *plan, const char *id, bool volumes,
                           struct container_removal *rm, struct burrow_error **err);
int container_remove_end(struct store *s, struct store_ns_plan *plan, struct container_removal *rm, struct burrow_error **err);

/* Every container: [{"id", "name", "image", "image_name", "command", "created", "status",
 * "exit_code", "finished"}], newest first. */
json_t *container_list(struct store *s, struct burrow_error **err);

/* Names of containers using IMAGE_ID (a new array). */
json_t *container_users_of_image(struct store *s, const char *image_id);

/* A connection to the socket SOCKET_NAME that the burrow run minding container ID serves in its
 * directory (exec.sock, attach.sock): the fd, or -1 with errno (ENOENT or ECONNREFUSED: nobody
 * serves it). */
int container_connect(struct store *s, const char *id, const char *socket_name);

/* The kernel overlay options for LAYERS (diffIDs, bottom first) under container ID, with paths
 * relative to the store root (mount from there): short links in l/ are made as needed. READ_ONLY:
 * the container's writable layer becomes the topmost lower one, with no upper (export). */
int container_overlay_options(struct store *s, json_t *layers, const char *id, bool read_only, char **out,
                              struct burrow_error **err);

#endif
