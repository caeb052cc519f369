/* Volumes: directories in the store that outlive containers.
 *
 *   ROOT/volumes/NAME/volume.json   {"name", "created", "anonymous"}
 *   ROOT/volumes/NAME/_data/        what containers see (owned by the container's root)
 *
 * A volume appears by rename(2) once complete; removal happens in the store's user namespace
 * (containers may have left files of subordinate IDs in it). */
#ifndef BURROW_FS_VOLUME_H
#define BURROW_FS_VOLUME_H

#include <jansson.h>
#include <stdbool.h>

#include "fs/nsexec.h"
#include "fs/store.h"
#include "util/error.h"

#define VOLUME_NAME_MAX 128

/* Make volume NAME (NULL: an anonymous one with a generated name) unless it exists; *made tells
 * which (may be NULL). OUT gets the name. */
int volume_create(struct store *s, const char *name, bool anonymous, char out[VOLUME_NAME_MAX + 1], bool *made,
                  struct burrow_error **err);
/* The absolute path of NAME's _data directory (a new string). */
char *volume_data_path(struct store *s, const char *name, struct burrow_error **err);
/* [{"name", "created", "anonymous", "mountpoint", "users": [container names]}], sorted by name. */
json_t *volume_list(struct store *s, struct burrow_error **err);
/* Move NAME's directory out of sight to AT/DEST (an op directory's, removed with it), unless a
 * container uses it. 1: moved, 0: in use (kept), -1 with errno. */
int volume_take_out(struct store *s, const char *name, int at, const char *dest);
/* Remove NAME; refused while a container uses it (saying which) unless FORCE_IN_USE (the caller
 * removes that container too). */
int volume_remove_with(struct store *s, struct store_ns_plan *plan, const char *name, bool force_in_use,
                       struct burrow_error **err);
int volume_remove(struct store *s, const struct store_ns *ns, const char *name, struct burrow_error **err);
/* Names of containers whose mounts name the volume (a new array). */
json_t *volume_users(struct store *s, const char *name);

#endif
