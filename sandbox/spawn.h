/* Starting a process in new namespaces, and minding it from the host side until it exits. */
#ifndef BURROW_SANDBOX_SPAWN_H
#define BURROW_SANDBOX_SPAWN_H

#include <stdbool.h>
#include <sys/types.h>

#include "userns/idmap.h"
#include "util/error.h"

/* Runs in the clone child with its end of the sync pair (sandbox/sync.h); never returns. */
typedef void (*spawn_child_fn)(void *arg, int sock);

/* clone() with FLAGS, fork-like, then (with CLONE_NEWUSER) write PLAN's ID maps. On
 * success *pid is the child, waiting for SYNC_GO on *sock. On failure nothing is left running. */
int spawn_in_namespaces(unsigned long flags, const struct idmap_plan *plan, spawn_child_fn fn, void *arg, int *sock,
                        pid_t *pid, struct burrow_error **err);

/* The same, but if newuidmap or newgidmap refuse PLAN, warn and start over with a whole
 * single-ID map (keep-id stays keep-id for the caller's own IDs): never half a map. */
int spawn_in_namespaces_or_single(unsigned long flags, struct idmap_plan *plan, enum userns_mode mode, spawn_child_fn fn,
                                  void *arg, int *sock, pid_t *pid, struct burrow_error **err);

/* The host side until PID exits: forward the signals read from SFD (SIGCHLD reaps), take
 * SYNC_ERROR and SYNC_PTY messages from SOCK, relay a pty (stdin into it only if INTERACTIVE), and
 * serve HOOK's descriptors (HOOK may be NULL). *reaped tells whether PID was
 * waited for; *err holds the child's reported failure, if any. */
struct pollfd;
struct spawn_hook {
        void *arg;
        /* Adds up to MAX descriptors to poll; returns how many. */
        int (*fds)(void *arg, struct pollfd *p, int max);
        /* After each poll, with those descriptors' results; MASTER: the pty master, or -1. */
        void (*events)(void *arg, const struct pollfd *p, int n, int master);
        /* What came from the pty master, after it was copied to stdout (may be NULL). */
        void (*output)(void *arg, const char *buf, size_t n);
};
int spawn_wait(pid_t pid, int sock, int sfd, bool interactive, const struct spawn_hook *hook, int *status, bool *reaped,
               struct burrow_error **err);

void spawn_kill_and_reap(pid_t pid);

/* FN(ARG) in a forked child (CLOSE_FD, if not -1, closed there first); its error comes back
 * over *sock. spawn_helper_finish waits for it: 0, or -1 with the child's error (or "WHAT
 * failed" when it died without one). */
typedef int (*spawn_helper_fn)(void *arg, struct burrow_error **err);
pid_t spawn_helper(spawn_helper_fn fn, void *arg, int close_fd, int *sock, struct burrow_error **err);
int spawn_helper_finish(pid_t pid, int sock, const char *what, struct burrow_error **err);

#endif
