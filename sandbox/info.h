/* `burrow info`: what this host supports, and the fix for each missing piece. */
#ifndef BURROW_SANDBOX_INFO_H
#define BURROW_SANDBOX_INFO_H

#include <stdbool.h>

#include <stdio.h>

#include "sandbox/runconfig.h"
#include "util/error.h"

int burrow_info_print(const struct burrow_global *global, FILE *out, struct burrow_error **err);

/* Can this user mount kernel overlayfs (userxattr) in a user namespace? A real mount, probed. */
bool burrow_kernel_overlay_in_userns(void);

#endif
