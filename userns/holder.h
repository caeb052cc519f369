/* A long-lived process that holds a user namespace with the caller's subordinate ranges mapped,
 * so containers enter it with setns() instead of paying newuidmap and newgidmap (two fork+execs
 * of setuid helpers, plus loading libsubid) on every run. podman's "pause" process does the same.
 *
 * One holder per runroot and mapping mode: RUNROOT/userns-MODE.pid holds "PID NS-INODE". The
 * holder exits when that file or the runroot goes away (inotify), so removing the runroot
 * removes it. */
#ifndef BURROW_USERNS_HOLDER_H
#define BURROW_USERNS_HOLDER_H

#include <stdbool.h>

#include "userns/idmap.h"
#include "util/error.h"

/* Open the holder's user namespace for MODE ("auto" or "keep-id"). On success returns the
 * namespace fd and fills plan->uids/gids with its maps (host view); -1 if there is no live
 * holder (not an error). */
int userns_holder_open(const char *runroot, const char *mode, struct idmap_plan *plan);

/* Start a holder mapped by PLAN (which must use the helpers) unless one appeared meanwhile;
 * returns the namespace fd like userns_holder_open. */
int userns_holder_start(const char *runroot, const char *mode, struct idmap_plan *plan, struct burrow_error **err);

/* Enter the namespace, with every capability in it. Must be called while single-threaded. */
int userns_holder_enter(int nsfd, struct burrow_error **err);

/* The plan for the caller's --userns mode. With subordinate ranges (for a user, who needs the
 * helpers) that is the holder, started if needed: *nsfd is its namespace, to enter instead of
 * creating a user namespace. Otherwise *nsfd is -1 and the plan is one burrow writes itself
 * (single-ID, identity, root's ranges). A holder that cannot be started (newuidmap refused the
 * map) becomes a single-ID plan and a warning, never half a map. With use_holder false the
 * plan is returned as is and the helpers run for each container. */
int userns_holder_for_caller(const char *runroot, enum userns_mode mode, bool use_holder, struct idmap_plan *plan,
                             int *nsfd, struct burrow_error **err);

#endif
