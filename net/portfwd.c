/* Forwarded TCP ports without libslirp's TCP stack (port_handler=splice, the default).
 *
 * The slirp helper listens on the host's address itself. Each connection it accepts gets a
 * partner socket made inside the container's network namespace, connected to the container's
 * address and port; the bytes move between the two with splice(2) through a pipe per direction,
 * never copied through user space and never cut into frames. This is the design of rootlesskit's
 * builtin port driver (rootless podman's default): libslirp's forwarding runs every byte through
 * its own TCP, its checksums and tap0, and stays near slirp4netns's speed; a relay between two
 * kernel sockets runs near the loopback's (docs/performance.md).
 *
 * The partner sockets come from a small process forked from the helper that joined the
 * container's network namespace (setns: the helper's user owns the container's user namespace,
 * so it may enter it): a socket belongs to the namespace it was made in, whoever uses it later.
 * The container sees these connections come from its own address, not from the gateway;
 * port_handler=slirp keeps libslirp's forwarding (and its source addresses). */
#include "config.h"

#include "net/portfwd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fdpass.h"
#include "util/proc.h"
#include "util/log.h"

/* A direction's pipe grows to this once a transfer fills the default 64 KiB: fewer splice calls
 * per byte. Only then: pipe buffers count against the user's quota (fs.pipe-user-pages-soft,
 * 64 MiB), past which every new pipe of the user's gets two pages, so idle connections keep the
 * default. (F_SETPIPE_SZ failing at the quota leaves the pipe as it is.) */
#define RELAY_PIPE_SIZE (1 << 20)
/* Connections taken from a listener per wake-up */
#define ACCEPT_BATCH 32

struct relay_dir {
        int pipe_r, pipe_w;
        size_t queued;  /* bytes in the pipe */
        size_t cap;     /* the pipe's size */
        bool eof;       /* the reading side ended */
        bool shut;      /* ... and that was passed on (shutdown SHUT_WR) */
        bool in_full;   /* the last splice into the pipe found it full: wait for it to drain */
};

struct relay {
        int fd[2];         /* 0: the host's connection, 1: the socket in the container */
        bool connecting;   /* fd[1]'s connect is in progress */
        struct relay_dir dir[2]; /* dir[d]: from fd[d] to fd[!d] */
        int idx[2];        /* poll indices of fd[0], fd[1] in this round; -1: not polled */
        struct relay *next;
};

struct listener {
        int fd;
        uint16_t ctr_port;
        int idx;
};

struct portfwd {
        struct listener *listeners;
        size_t n_listeners;
        struct relay *relays;
        struct in_addr ctr_ip;
        int factory; /* the socket to the process in the container's namespace; -1 before */
};

struct portfwd *portfwd_new(struct in_addr ctr_ip)
{
        struct portfwd *pf = calloc(1, sizeof(*pf));
        if (pf == NULL)
                return NULL;
        pf->ctr_ip = ctr_ip;
        pf->factory = -1;
        return pf;
}

int portfwd_listen(struct portfwd *pf, const struct net_port *host, uint16_t ctr_port)
{
        struct listener *bigger = realloc(pf->listeners, (pf->n_listeners + 1) * sizeof(*bigger));
        if (bigger == NULL)
                return -1;
        pf->listeners = bigger;
        struct sockaddr_storage sa;
        socklen_t sa_len = net_port_host_addr(host, &sa);
        cleanup_close int fd = socket(sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -1;
        int one = 1;
        if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
                return -1;
        /* [::]:PORT is IPv6 only: 0.0.0.0:PORT is a -p of its own, as in docker */
        if (sa.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
                return -1;
        if (bind(fd, (struct sockaddr *)&sa, sa_len) < 0 || listen(fd, SOMAXCONN) < 0)
                return -1;
        pf->listeners[pf->n_listeners++] = (struct listener){ .fd = steal_fd(&fd), .ctr_port = ctr_port, .idx = -1 };
        return 0;
}

static void relay_free(struct relay *r, bool reset)
{
        for (int k = 0; k < 2; k++) {
                if (r->fd[k] >= 0) {
                        if (reset) {
                                /* the other end failed: say so (RST) rather than a clean end */
                                struct linger l = { .l_onoff = 1, .l_linger = 0 };
                                (void)setsockopt(r->fd[k], SOL_SOCKET, SO_LINGER, &l, sizeof(l));
                        }
                        close(r->fd[k]);
                }
                if (r->dir[k].pipe_r >= 0)
                        close(r->dir[k].pipe_r);
                if (r->dir[k].pipe_w >= 0)
                        close(r->dir[k].pipe_w);
        }
        free(r);
}

void portfwd_free(struct portfwd *pf)
{
        if (pf == NULL)
                return;
        for (size_t i = 0; i < pf->n_listeners; i++)
                close(pf->listeners[i].fd);
        free(pf->listeners);
        for (struct relay *r = pf->relays, *next; r; r = next) {
                next = r->next;
                relay_free(r, false);
        }
        if (pf->factory >= 0)
                close(pf->factory);
        free(pf);
}

static int send_fd(int sock, int fd, int errnum)
{
        unsigned char e = (unsigned char)(errnum > 255 ? EIO : errnum);
        return fdpass_send(sock, &e, 1, &fd, fd >= 0 ? 1 : 0, 0);
}

/* One byte (an errno, 0 for fine) and maybe a descriptor; -1 at EOF or on error. */
static int receive_fd(int sock, int *fd)
{
        unsigned char e;
        if (fdpass_recv(sock, &e, 1, fd, 1, NULL, 0) != 1) {
                if (*fd >= 0)
                        close(*fd);
                *fd = -1;
                return -1;
        }
        return e;
}

/* The process in the container's network namespace: a TCP socket for every request. */
static _Noreturn void factory_main(int sock, int netns)
{
        /* setns(CLONE_NEWNET) asks for CAP_SYS_ADMIN in the namespace's owner: enter that user
         * namespace first (ours to enter: our user made it). EINVAL: we are in it already. */
        int userns = ioctl(netns, NS_GET_USERNS);
        if (userns >= 0 && setns(userns, CLONE_NEWUSER) < 0 && errno != EINVAL) {
                send_fd(sock, -1, errno);
                _exit(1);
        }
        if (setns(netns, CLONE_NEWNET) < 0) {
                send_fd(sock, -1, errno);
                _exit(1);
        }
        if (userns >= 0)
                close(userns);
        close(netns);
        /* Capabilities of the container's user namespace are ours now: keep its processes
         * (which may hold CAP_SYS_PTRACE there) from attaching to us. */
        prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        if (send_fd(sock, -1, 0) < 0)
                _exit(1);
        for (;;) {
                char c;
                ssize_t n = recv(sock, &c, 1, 0);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        _exit(0); /* the helper is gone */
                int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
                int e = s < 0 ? errno : 0;
                if (send_fd(sock, s, e) < 0)
                        _exit(1);
                if (s >= 0)
                        close(s);
        }
}

int portfwd_enter(struct portfwd *pf, int netns, struct burrow_error **err)
{
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
                return burrow_error_set(err, errno, "socketpair");
        /* only the helper's socket and the namespace: not the host's listeners, not tap0 */
        int keep[2] = { sv[1], netns };
        pid_t pid = fork_tied_helper(keep, 2);
        if (pid < 0) {
                int e = errno;
                close(sv[0]);
                close(sv[1]);
                return burrow_error_set(err, e, "fork");
        }
        if (pid == 0)
                factory_main(3, 4);
        close(sv[1]);
        int fd;
        int e = receive_fd(sv[0], &fd);
        if (e != 0) {
                close(sv[0]);
                return burrow_error_set(err, e < 0 ? 0 : e, "entering the container's network namespace");
        }
        pf->factory = sv[0];
        return 0;
}

static void relay_accept(struct portfwd *pf, const struct listener *l)
{
        for (int i = 0; i < ACCEPT_BATCH; i++) {
                int c = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (c < 0) {
                        if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                                burrow_debug("portfwd: accept: %s", strerror(errno));
                        return;
                }
                struct relay *r = calloc(1, sizeof(*r));
                if (r == NULL) {
                        close(c);
                        return;
                }
                r->fd[0] = c;
                r->fd[1] = -1;
                for (int k = 0; k < 2; k++)
                        r->dir[k].pipe_r = r->dir[k].pipe_w = -1;
                int s = -1;
                char req = 's';
                if (send(pf->factory, &req, 1, MSG_NOSIGNAL) != 1 || receive_fd(pf->factory, &s) != 0 || s < 0) {
                        burrow_debug("portfwd: no socket from the container's namespace");
                        relay_free(r, true);
                        continue;
                }
                r->fd[1] = s;
                bool ok = true;
                for (int k = 0; k < 2 && ok; k++) {
                        int p[2];
                        if (pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0) {
                                ok = false;
                                break;
                        }
                        r->dir[k].pipe_r = p[0];
                        r->dir[k].pipe_w = p[1];
                        int size = fcntl(p[1], F_GETPIPE_SZ);
                        r->dir[k].cap = size > 0 ? (size_t)size : 65536;
                }
                struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr = pf->ctr_ip, .sin_port = htons(l->ctr_port) };
                if (ok && connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                        if (errno == EINPROGRESS)
                                r->connecting = true;
                        else
                                ok = false;
                }
                if (!ok) {
                        relay_free(r, true);
                        continue;
                }
                r->next = pf->relays;
                pf->relays = r;
        }
}

void portfwd_poll_fill(struct portfwd *pf, int (*add)(int fd, short events, void *opaque), void *opaque)
{
        if (pf == NULL || pf->factory < 0)
                return; /* connections wait in the listeners' queues until the namespace is there */
        for (size_t i = 0; i < pf->n_listeners; i++)
                pf->listeners[i].idx = add(pf->listeners[i].fd, POLLIN, opaque);
        for (struct relay *r = pf->relays; r; r = r->next) {
                if (r->connecting) {
                        r->idx[0] = -1;
                        r->idx[1] = add(r->fd[1], POLLOUT, opaque);
                        continue;
                }
                for (int k = 0; k < 2; k++) {
                        short ev = 0;
                        if (!r->dir[k].eof && !r->dir[k].in_full)
                                ev |= POLLIN;
                        if (r->dir[!k].queued > 0)
                                ev |= POLLOUT;
                        /* nothing wanted: not polled at all (a hang-up would wake us for nothing) */
                        r->idx[k] = ev ? add(r->fd[k], ev, opaque) : -1;
                }
        }
}

/* Move what can move from fd[d] to fd[!d]; -1 when the connection failed. */
static int relay_pump(struct relay *r, int d)
{
        struct relay_dir *D = &r->dir[d];
        for (;;) {
                bool moved = false;
                if (!D->eof && D->queued < D->cap) {
                        ssize_t n = splice(r->fd[d], NULL, D->pipe_w, NULL, D->cap - D->queued, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
                        if (n > 0) {
                                D->queued += (size_t)n;
                                moved = true;
                                if (D->queued == D->cap && D->cap < RELAY_PIPE_SIZE) {
                                        /* a bulk transfer: a bigger pipe (see RELAY_PIPE_SIZE) */
                                        int size = fcntl(D->pipe_w, F_SETPIPE_SZ, RELAY_PIPE_SIZE);
                                        if (size > 0)
                                                D->cap = (size_t)size;
                                }
                        } else if (n == 0) {
                                D->eof = true;
                        } else if (errno == EAGAIN) {
                                /* an empty socket, or a pipe whose slots are spent on small pieces */
                                D->in_full = D->queued > 0;
                        } else if (errno != EINTR) {
                                return -1;
                        }
                }
                if (D->queued > 0) {
                        ssize_t n = splice(D->pipe_r, NULL, r->fd[!d], NULL, D->queued, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
                        if (n > 0) {
                                D->queued -= (size_t)n;
                                D->in_full = false;
                                moved = true;
                        } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
                                return -1;
                        }
                }
                if (!moved)
                        break;
        }
        if (D->eof && D->queued == 0 && !D->shut) {
                /* a half-close travels: the other side reads its end, and may still answer */
                if (shutdown(r->fd[!d], SHUT_WR) < 0 && errno != ENOTCONN)
                        return -1;
                D->shut = true;
        }
        return 0;
}

void portfwd_poll_done(struct portfwd *pf, short (*revents)(int idx, void *opaque), void *opaque)
{
        if (pf == NULL || pf->factory < 0)
                return;
        for (struct relay **p = &pf->relays; *p;) {
                struct relay *r = *p;
                short re0 = r->idx[0] >= 0 ? revents(r->idx[0], opaque) : 0;
                short re1 = r->idx[1] >= 0 ? revents(r->idx[1], opaque) : 0;
                int failed = 0;
                if (r->connecting) {
                        if (re1) {
                                int e = 0;
                                socklen_t len = sizeof(e);
                                if (getsockopt(r->fd[1], SOL_SOCKET, SO_ERROR, &e, &len) < 0 || e != 0)
                                        failed = 1; /* nothing listens there in the container (yet) */
                                else
                                        r->connecting = false;
                        }
                } else if (re0 || re1) {
                        failed = relay_pump(r, 0) < 0 || relay_pump(r, 1) < 0;
                }
                if (failed || (r->dir[0].shut && r->dir[1].shut)) {
                        *p = r->next;
                        relay_free(r, failed);
                        continue;
                }
                p = &r->next;
        }
        /* after the relays: a new one's indices belong to the next round */
        for (size_t i = 0; i < pf->n_listeners; i++)
                if (pf->listeners[i].idx >= 0 && revents(pf->listeners[i].idx, opaque))
                        relay_accept(pf, &pf->listeners[i]);
}
