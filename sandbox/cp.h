/* `burrow cp`: files between the host and a container, either way, docker cp's way. */
#ifndef BURROW_SANDBOX_CP_H
#define BURROW_SANDBOX_CP_H

#include "sandbox/runconfig.h"
#include "util/error.h"

/* SRC and DEST: a host path ("-": a tar on stdin or stdout) and CONTAINER:PATH, one of each. A
 * running container is entered (its volumes and tmpfs mounts are seen); a stopped one is
 * assembled from its layers (and copying into it writes its writable layer). */
int burrow_cp(const struct burrow_global *global, const char *src, const char *dest, struct burrow_error **err);

#endif
