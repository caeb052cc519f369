/* Runtime state: --runroot, default $XDG_RUNTIME_DIR/burrow or /tmp/burrow-$UID. */
#ifndef BURROW_SANDBOX_RUNROOT_H
#define BURROW_SANDBOX_RUNROOT_H

#include <sys/types.h>

#include "util/error.h"

/* The default runroot for the caller (a new string). */
char *runroot_default(void);

/* Create DIR 0700 if missing; refuse one that is not a directory, is a symlink, belongs to
 * someone else or is open to others (on a shared /tmp another user could have made it). */
int runroot_ensure(const char *dir, struct burrow_error **err);

/* A running container's record: RUNROOT/containers/ID/state.json, written atomically. Returns
 * a descriptor holding an flock on the container's directory for as long as it is open: a
 * directory nobody holds belongs to a burrow that died (kill -9) and may be pruned. */
int runroot_state_write(const char *runroot, const char *id, pid_t pid, const char *rootfs, struct burrow_error **err);
void runroot_state_remove(const char *runroot, const char *id);
/* Remove the records that no live burrow holds. */
void runroot_prune_stale(const char *runroot);

#endif
