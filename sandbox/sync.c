#include "config.h"

#include "sandbox/sync.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

int sync_send(int sock, const struct sync_msg *msg, int fd)
{
        size_t len = offsetof(struct sync_msg, text) + strnlen(msg->text, sizeof(msg->text) - 1) + 1;
        struct iovec iov = { .iov_base = (void *)msg, .iov_len = len };
        union {
                char buf[CMSG_SPACE(sizeof(int))];
                struct cmsghdr align;
        } control;
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
        if (fd >= 0) {
                memset(&control, 0, sizeof(control));
                mh.msg_control = control.buf;
                mh.msg_controllen = sizeof(control.buf);
                struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(c), &fd, sizeof(int));
        }
        ssize_t n;
        do
                n = sendmsg(sock, &mh, MSG_NOSIGNAL);
        while (n < 0 && errno == EINTR);
        return n < 0 ? -1 : 0;
}

int sync_recv(int sock, struct sync_msg *msg, int *fd)
{
        memset(msg, 0, sizeof(*msg));
        *fd = -1;
        struct iovec iov = { .iov_base = msg, .iov_len = sizeof(*msg) };
        union {
                char buf[CMSG_SPACE(sizeof(int))];
                struct cmsghdr align;
        } control;
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                             .msg_controllen = sizeof(control.buf) };
        ssize_t n;
        do
                n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return errno == ECONNRESET ? 0 : -1;
        if (n == 0)
                return 0;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
                        memcpy(fd, CMSG_DATA(c), sizeof(int));
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
