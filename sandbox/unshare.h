/* `burrow unshare`: a command in a user namespace with burrow's mapping, as `podman unshare`. */
#ifndef BURROW_SANDBOX_UNSHARE_H
#define BURROW_SANDBOX_UNSHARE_H

#include "sandbox/runconfig.h"
#include "util/error.h"

/* Run ARGV (NULL or empty: $SHELL, else /bin/sh) as UID 0 in a new user and mount namespace
 * mapped as burrow maps its containers, with the caller's root, cwd and environment. Lets a user
 * inspect or remove files owned by subordinate IDs. */
int burrow_unshare(const struct burrow_global *global, char *const *argv, int *exit_code, struct burrow_error **err);

#endif
