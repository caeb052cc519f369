#include "config.h"

#include "sandbox/sync.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "util/fdpass.h"

int sync_send(int sock, const struct sync_msg *msg, int fd)
{
        size_t len = offsetof(struct sync_msg, text) + strnlen(msg->text, sizeof(msg->text) - 1) + 1;
        return fdpass_send(sock, msg, len, &fd, fd >= 0 ? 1 : 0, 0);
}

int sync_recv(int sock, struct sync_msg *msg, int *fd)
{
        memset(msg, 0, sizeof(*msg));
        ssize_t n = fdpass_recv(sock, msg, sizeof(*msg), fd, 1, NULL, 0);
        if (n < 0)
                return errno == ECONNRESET ? 0 : -1;
        if (n == 0)
                return 0;
        msg->text[sizeof(msg->text) - 1] = '\0';
        return 1;
}

void sync_send_error(int sock, const struct burrow_error *err)
{
        struct sync_msg msg = { .type = SYNC_ERROR };
        msg.exit_code = err ? err->exit_code : BURROW_EXIT_FAILURE;
        msg.errnum = err ? err->errnum : 0;
        snprintf(msg.text, sizeof(msg.text), "%s", err && err->msg ? err->msg : "container setup failed");
        sync_send(sock, &msg, -1);
}
