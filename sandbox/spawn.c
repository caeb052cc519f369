#include "config.h"

#include "sandbox/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/sync.h"
#include "sandbox/tty.h"
#include "userns/diagnose.h"
#include "util/log.h"

void spawn_kill_and_reap(pid_t pid)
{
        if (pid > 0) {
                kill(pid, SIGKILL);
                while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                        ;
        }
}

static int clone_error(int e, struct burrow_error **err)
{
        char why[512];
        if (userns_diagnose("/proc/sys", why, sizeof(why)) > 0)
                return burrow_error_set(err, 0, "cannot create the container's namespaces: %s: %s", strerror(e), why);
        burrow_error_set(err, e, "cannot create the container's namespaces (clone)");
        if (why[0])
                burrow_error_hint(err, "%s", why);
        return -1;
}

int spawn_in_namespaces(unsigned long flags, const struct idmap_plan *plan, spawn_child_fn fn, void *arg, int *sock,
                        pid_t *pid, struct burrow_error **err)
{
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
                return burrow_error_set(err, errno, "socketpair");
        /* fork-like clone (no new stack): the child keeps a copy of our memory, no exec needed,
         * so the init works in a rootfs with no libc. */
        pid_t raw = (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);
        if (raw == 0) {
                close(sv[0]);
                fn(arg, sv[1]);
                _exit(BURROW_EXIT_FAILURE); /* fn does not return */
        }
        int clone_errno = errno;
        close(sv[1]);
        if (raw < 0) {
                close(sv[0]);
                return clone_error(clone_errno, err);
        }
        if ((flags & CLONE_NEWUSER) && idmap_plan_apply(plan, raw, err) < 0) {
                spawn_kill_and_reap(raw);
                close(sv[0]);
                char why[512];
                if (userns_diagnose("/proc/sys", why, sizeof(why)) > 0)
                        burrow_error_hint(err, "%s", why);
                return -1;
        }
        *sock = sv[0];
        *pid = raw;
        return 0;
}


struct relay {
        int master;      /* pty master, -1 without -t */
        bool stdin_open; /* relaying stdin into the pty */
        struct tty_saved saved;
};

static void relay_copy_tee(int from, int to, bool *eof, const struct spawn_hook *hook)
{
        char buf[16384];
        ssize_t n = read(from, buf, sizeof(buf));
        if (n <= 0) {
                if (n == 0 || (errno != EAGAIN && errno != EINTR))
                        *eof = true;
                return;
        }
        if (hook && hook->output)
                hook->output(hook->arg, buf, (size_t)n);
        for (ssize_t off = 0; off < n;) {
                ssize_t w = write(to, buf + off, (size_t)(n - off));
                if (w < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN) {
                                struct pollfd p = { .fd = to, .events = POLLOUT };
                                poll(&p, 1, 100);
                                continue;
                        }
                        return; /* reader gone: drop the output, keep running */
                }
                off += w;
        }
}

static void relay_copy(int from, int to, bool *eof)
{
        relay_copy_tee(from, to, eof, NULL);
}

static void relay_on_pty(struct relay *r, int fd, bool interactive)
{
        r->master = fd;
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        tty_copy_winsize(isatty(STDIN_FILENO) ? STDIN_FILENO : STDOUT_FILENO, fd);
        if (interactive) {
                r->stdin_open = true;
                tty_set_raw(STDIN_FILENO, &r->saved);
        }
}

static void relay_drain_pty(struct relay *r, const struct spawn_hook *hook)
{
        bool eof = false;
        while (r->master >= 0 && !eof) {
                struct pollfd p = { .fd = r->master, .events = POLLIN };
                if (poll(&p, 1, 0) <= 0)
                        break;
                relay_copy_tee(r->master, STDOUT_FILENO, &eof, hook);
        }
}

int spawn_in_namespaces_or_single(unsigned long flags, struct idmap_plan *plan, enum userns_mode mode, spawn_child_fn fn,
                                  void *arg, int *sock, pid_t *pid, struct burrow_error **err)
{
        if (spawn_in_namespaces(flags, plan, fn, arg, sock, pid, err) == 0 || !plan->use_helpers)
                return err && *err ? -1 : 0;
        burrow_warn("%s; falling back to a single-ID map (only your own UID and GID exist in the container; ask an "
                    "admin to check your /etc/subuid and /etc/subgid entries)",
                    (*err)->msg);
        burrow_error_free(*err);
        *err = NULL;
        if (idmap_plan_build(getuid(), getgid(), mode == USERNS_KEEP_ID ? USERNS_KEEP_ID : USERNS_SINGLE, NULL, 0, NULL, 0, NULL,
                             NULL, plan, err) < 0)
                return -1;
        return spawn_in_namespaces(flags, plan, fn, arg, sock, pid, err);
}

int spawn_wait(pid_t pid, int sock, int sfd, bool interactive, const struct spawn_hook *hook, int *status, bool *reaped,
               struct burrow_error **err)
{
        struct relay r = { .master = -1 };
        bool sync_open = true;
        bool exited = false;
        *reaped = false;
        struct sync_msg msg;
        int fd;
        while (!exited) {
                struct pollfd p[32];
                int n = 0, i_sig = n++, i_sync = -1, i_master = -1, i_stdin = -1, i_hook = -1, n_hook = 0;
                p[i_sig] = (struct pollfd){ .fd = sfd, .events = POLLIN };
                if (sync_open)
                        p[i_sync = n++] = (struct pollfd){ .fd = sock, .events = POLLIN };
                if (r.master >= 0)
                        p[i_master = n++] = (struct pollfd){ .fd = r.master, .events = POLLIN };
                if (r.master >= 0 && r.stdin_open)
                        p[i_stdin = n++] = (struct pollfd){ .fd = STDIN_FILENO, .events = POLLIN };
                if (hook && hook->fds) {
                        i_hook = n;
                        n_hook = hook->fds(hook->arg, p + n, (int)(sizeof(p) / sizeof(p[0])) - n);
                        n += n_hook;
                }
                if (poll(p, (nfds_t)n, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        tty_restore(&r.saved);
                        return burrow_error_set(err, errno, "poll");
                }
                if (i_hook >= 0 && n_hook > 0)
                        hook->events(hook->arg, p + i_hook, n_hook, r.master);
                if (i_sync >= 0 && p[i_sync].revents) {
                        int got = sync_recv(sock, &msg, &fd);
                        if (got <= 0) {
                                sync_open = false;
                        } else if (msg.type == SYNC_PTY && fd >= 0) {
                                relay_on_pty(&r, fd, interactive);
                        } else if (msg.type == SYNC_ERROR && (err == NULL || *err == NULL)) {
                                burrow_error_set_code(err, msg.exit_code, 0, "%s", msg.text);
                        }
                }
                if (i_master >= 0 && p[i_master].revents) {
                        bool eof = false;
                        relay_copy_tee(r.master, STDOUT_FILENO, &eof, hook);
                        if (eof) {
                                close(r.master);
                                r.master = -1;
                        }
                }
                if (i_stdin >= 0 && p[i_stdin].revents) {
                        bool eof = false;
                        relay_copy(STDIN_FILENO, r.master, &eof);
                        if (eof) {
                                /* End of input: the pty's EOF character, as a terminal user would type. */
                                if (write(r.master, "\x04", 1) < 0)
                                        burrow_debug("writing EOF to the pty: %s", strerror(errno));
                                r.stdin_open = false;
                        }
                }
                if (p[i_sig].revents) {
                        struct signalfd_siginfo si;
                        while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
                                if (si.ssi_signo == SIGCHLD) {
                                        if (!exited && waitpid(pid, status, WNOHANG) == pid)
                                                exited = true;
                                } else if (si.ssi_signo == SIGWINCH) {
                                        if (r.master >= 0)
                                                tty_copy_winsize(isatty(STDIN_FILENO) ? STDIN_FILENO : STDOUT_FILENO, r.master);
                                } else {
                                        kill(pid, (int)si.ssi_signo);
                                }
                        }
                }
        }
        *reaped = true;
        relay_drain_pty(&r, hook);
        if (r.master >= 0)
                close(r.master);
        tty_restore(&r.saved);
        /* PID 1's exit is reported only after every process of its namespace is gone, so all
         * copies of the child's end are closed: read what they said, up to EOF. */
        while (sync_open && sync_recv(sock, &msg, &fd) > 0) {
                if (fd >= 0)
                        close(fd);
                if (msg.type == SYNC_ERROR && (err == NULL || *err == NULL))
                        burrow_error_set_code(err, msg.exit_code, 0, "%s", msg.text);
        }
        return (err && *err) ? -1 : 0;
}


pid_t spawn_helper(spawn_helper_fn fn, void *arg, int close_fd, int *sock, struct burrow_error **err)
{
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
                return burrow_error_set(err, errno, "socketpair");
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0) {
                close(sv[0]);
                close(sv[1]);
                return burrow_error_set(err, errno, "fork");
        }
        if (pid == 0) {
                close(sv[0]);
                if (close_fd >= 0)
                        close(close_fd);
                struct burrow_error *cerr = NULL;
                if (fn(arg, &cerr) < 0 && cerr == NULL)
                        burrow_error_set(&cerr, 0, "failed");
                if (cerr)
                        sync_send_error(sv[1], cerr);
                _exit(cerr ? 1 : 0);
        }
        close(sv[1]);
        *sock = sv[0];
        return pid;
}

int spawn_helper_finish(pid_t pid, int sock, const char *what, struct burrow_error **err)
{
        struct sync_msg msg;
        int fd;
        int got = sync_recv(sock, &msg, &fd);
        if (got > 0 && fd >= 0)
                close(fd);
        close(sock);
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        if (got > 0 && msg.type == SYNC_ERROR)
                return burrow_error_set_code(err, msg.exit_code, 0, "%s", msg.text);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return burrow_error_set(err, 0, "%s failed", what);
        return 0;
}
