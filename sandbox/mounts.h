/* The container's mount tree: rootfs, /proc, /dev, /sys, /tmp, binds, then pivot_root. */
#ifndef BURROW_SANDBOX_MOUNTS_H
#define BURROW_SANDBOX_MOUNTS_H

#include <stdbool.h>

#include "sandbox/runconfig.h"
#include "util/error.h"

struct mounts_options {
        bool devpts_gid5; /* GID 5 (tty) is mapped: give pts the usual group */
        const char *shm_size; /* --shm-size, or NULL */
        bool mask_paths;      /* runc's masked and read-only /proc and /sys paths (not with --privileged) */
        const char *net_files; /* a directory with hosts, hostname and resolv.conf for /etc, or NULL */
        const char *scratch;   /* a directory this mount namespace may cover (the runroot), or NULL */
};

/* Run in the container's mount namespace, before exec. On success the process's root and
 * cwd are the container's "/" and the host's tree is detached. */
int mounts_setup(const struct burrow_run_config *cfg, const struct mounts_options *opts, struct burrow_error **err);

#endif
