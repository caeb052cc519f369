/* `burrow exec`: a new process in a running container's namespaces. */
#ifndef BURROW_SANDBOX_ENTER_H
#define BURROW_SANDBOX_ENTER_H

#include <sys/types.h>

#include "sandbox/runconfig.h"
#include "util/error.h"

/* Run X->argv in the running container X->container, as the container's user and in its working
 * directory unless X says otherwise (-u, -w), with the container's environment plus X->env.
 * Only container, argv, env, user, workdir, interactive and tty of X are read. Returns 0 with
 * the process's exit code in *exit_code, or -1 (125: burrow failed; 126/127: CMD could not be
 * executed). */
int burrow_exec(const struct burrow_global *global, const struct burrow_run_config *x, int *exit_code,
                struct burrow_error **err);

/* FN(ARG) in a child process that joined the running container's user and mount namespaces:
 * its "/" is the container's, with the container's own mounts (volumes, tmpfs) in place. */
struct store;
int container_enter_run(struct store *s, const char *id, const char *name, int (*fn)(void *arg, struct burrow_error **err),
                        void *arg, struct burrow_error **err);

/* The other side, in the burrow process that runs the container: it keeps the namespaces of the
 * container's init (opened right after clone, while that one may still be opened) and hands
 * them to `burrow exec` over containers/ID/exec.sock. */
#define EXEC_SOCKET "exec.sock"
#define EXEC_NS_COUNT 6
struct exec_server {
        int listen_fd;
        int dir_fd;
        int ns[EXEC_NS_COUNT];
};
int exec_server_open(struct exec_server *srv, int container_dir, pid_t pid, struct burrow_error **err);
/* Answer waiting clients (the listening socket is readable). */
void exec_server_serve(void *srv);
/* No more clients (the socket goes); the namespaces stay open. */
void exec_server_stop(struct exec_server *srv);
void exec_server_close(struct exec_server *srv);

#endif
