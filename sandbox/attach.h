/* `burrow attach`: the terminal of a container started with -t, from any shell, while burrow
 * run (in the foreground or as the -d supervisor) keeps relaying it to the log. */
#ifndef BURROW_SANDBOX_ATTACH_H
#define BURROW_SANDBOX_ATTACH_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>

#include "sandbox/runconfig.h"
#include "util/error.h"

#define ATTACH_SOCKET "attach.sock"
#define ATTACH_CLIENTS 8

/* The server side, in burrow run: containers/ID/attach.sock. Clients send 'i'+bytes (input for
 * the pty) and 'w'+struct winsize; they get 'o'+bytes, what the container writes. */
struct attach_server {
        int listen_fd;
        int dir_fd;
        int clients[ATTACH_CLIENTS];
};
int attach_server_open(struct attach_server *a, int container_dir, struct burrow_error **err);
int attach_server_fds(struct attach_server *a, struct pollfd *p, int max);
void attach_server_events(struct attach_server *a, const struct pollfd *p, int n, int master);
void attach_server_output(struct attach_server *a, const char *buf, size_t n);
void attach_server_close(struct attach_server *a);

/* "ctrl-p,ctrl-q" (docker's default), "ctrl-x", "a,b"...: the bytes in KEYS (at most 8). */
int attach_parse_keys(const char *spec, unsigned char *keys, size_t *n, struct burrow_error **err);

/* The client: relay the caller's terminal until the container exits (*exit_code: its code)
 * or DETACH_KEYS are typed (*detached). NO_STDIN: output only. */
int burrow_attach(const struct burrow_global *global, const char *container, const char *detach_keys, bool no_stdin,
                  int *exit_code, bool *detached, struct burrow_error **err);

#endif
