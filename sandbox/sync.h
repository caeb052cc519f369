/* The parent <-> container sync protocol: small typed messages on a SOCK_SEQPACKET pair.
 *
 *   parent -> child   SYNC_GO     ID maps are written; set up and start
 *   child  -> parent  SYNC_PTY    the pty master (SCM_RIGHTS), with -t
 *   child  -> parent  SYNC_ERROR  setup or exec failed: exit code, errno, message
 *
 * The child's end is close-on-exec: when every holder has exec'd or exited the parent reads
 * EOF, so "no error before EOF" means the workload is running. */
#ifndef BURROW_SANDBOX_SYNC_H
#define BURROW_SANDBOX_SYNC_H

#include <stdint.h>

#include "util/error.h"

enum sync_type {
        SYNC_GO = 1,
        SYNC_PTY,
        SYNC_ERROR,
};

struct sync_msg {
        uint32_t type;
        int32_t exit_code;
        int32_t errnum;
        char text[2048];
};

/* Send one message, with an fd attached if fd >= 0. */
int sync_send(int sock, const struct sync_msg *msg, int fd);
/* Receive one message; *fd gets an attached descriptor or -1. Returns 1 on a message, 0 on
 * EOF, -1 on error (errno set). */
int sync_recv(int sock, struct sync_msg *msg, int *fd);
/* Report err to the parent (best effort: the parent may be gone). */
void sync_send_error(int sock, const struct burrow_error *err);

#endif
