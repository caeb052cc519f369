#include "config.h"

#include "sandbox/run.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fs/rootfs.h"
#include "net/net.h"
#include "sandbox/exec.h"
#include "sandbox/init.h"
#include "sandbox/mounts.h"
#include "sandbox/runroot.h"
#include "sandbox/sync.h"
#include "sandbox/tty.h"
#include "userns/diagnose.h"
#include "userns/idmap.h"
#include "util/fsutil.h"
#include "util/log.h"

/* What the clone child needs; it lives in the parent's memory, copied by clone. */
struct child_args {
        const struct burrow_run_config *cfg;
        const char *rootfs;   /* absolute */
        const char *hostname;
        char *const *envp;
        const struct idmap_plan *plan;
        int sock;
        sigset_t saved_mask;
};

static void cleanup_pidp(pid_t *pid)
{
        if (*pid > 0) {
                kill(*pid, SIGKILL);
                while (waitpid(*pid, NULL, 0) < 0 && errno == EINTR)
                        ;
        }
}
#define cleanup_pid __attribute__((cleanup(cleanup_pidp)))

static _Noreturn void child_fail(int sock, struct burrow_error *err)
{
        sync_send_error(sock, err);
        _exit(err ? err->exit_code : BURROW_EXIT_FAILURE);
}

/* Make the workload's process: stdio, IDs, working directory; then exec. Returns on failure. */
static int child_exec_workload(const struct child_args *a, int tty_slave, struct burrow_error **err)
{
        const struct burrow_run_config *cfg = a->cfg;
        if (tty_slave >= 0 && tty_become_controlling(tty_slave, err) < 0)
                return -1;
        /* Default dispositions, whatever burrow inherited (a background job starts with
         * SIGINT and SIGQUIT ignored, and exec keeps "ignored"). */
        for (int sig = 1; sig < NSIG; sig++)
                if (sig != SIGKILL && sig != SIGSTOP)
                        signal(sig, SIG_DFL);
        if (sigprocmask(SIG_SETMASK, &a->saved_mask, NULL) < 0)
                return burrow_error_set(err, errno, "restoring the signal mask");
        return exec_workload(cfg->argv, a->envp, a->rootfs, err);
}

static int child_setup(const struct child_args *a, int *tty_slave, struct burrow_error **err)
{
        const struct burrow_run_config *cfg = a->cfg;
        /* Our own session: the host terminal's job-control signals reach burrow, which
         * forwards them once, instead of reaching the container twice. */
        if (setsid() < 0)
                return burrow_error_set(err, errno, "setsid");
        if (cfg->net == BURROW_NET_NONE && net_loopback_up(err) < 0)
                return -1;
        if (sethostname(a->hostname, strlen(a->hostname)) < 0)
                return burrow_error_set(err, errno, "setting hostname `%s`", a->hostname);
        uint32_t outside;
        struct mounts_options mopts = { .devpts_gid5 = idmap_to_outside(&a->plan->gids, 5, &outside) };
        if (mounts_setup(cfg, &mopts, err) < 0)
                return -1;
        /* docker creates a missing working directory (as root, before switching users). */
        if (cfg->workdir && mkdir_parents(cfg->workdir, 0755) < 0)
                return burrow_error_set(err, errno, "creating working directory `%s` (-w)", cfg->workdir);
        if (!a->plan->deny_setgroups && setgroups(0, NULL) < 0)
                return burrow_error_set(err, errno, "clearing supplementary groups");
        if (cfg->has_user) {
                gid_t gid = cfg->has_gid ? cfg->gid : 0;
                if (setresgid(gid, gid, gid) < 0)
                        return burrow_error_set(err, errno, "switching to gid %u", (unsigned)gid);
                if (setresuid(cfg->uid, cfg->uid, cfg->uid) < 0)
                        return burrow_error_set(err, errno, "switching to uid %u", (unsigned)cfg->uid);
        }
        if (cfg->workdir && chdir(cfg->workdir) < 0)
                return burrow_error_set(err, errno, "cannot change to working directory `%s` (-w)", cfg->workdir);
        if (!cfg->interactive && !cfg->tty) {
                /* docker semantics: without -i the workload's stdin is empty. */
                int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
                if (null < 0 || dup2(null, 0) < 0)
                        return burrow_error_set(err, errno, "redirecting stdin to /dev/null");
                close(null);
        }
        *tty_slave = -1;
        if (cfg->tty) {
                int master;
                if (tty_open_pair(&master, tty_slave, err) < 0)
                        return -1;
                struct sync_msg msg = { .type = SYNC_PTY };
                int r = sync_send(a->sock, &msg, master);
                close(master);
                if (r < 0)
                        return burrow_error_set(err, errno, "sending the pty to burrow");
        }
        return 0;
}

static _Noreturn void child_main(const struct child_args *a)
{
        struct burrow_error *err = NULL;
        /* Die with burrow: a kill -9 of the CLI takes the whole container with it. */
        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        struct sync_msg msg;
        int fd;
        if (sync_recv(a->sock, &msg, &fd) <= 0 || msg.type != SYNC_GO)
                _exit(BURROW_EXIT_FAILURE); /* the parent is gone or failed: it reports */
        int tty_slave = -1;
        if (child_setup(a, &tty_slave, &err) < 0)
                child_fail(a->sock, err);
        if (!a->cfg->init) {
                child_exec_workload(a, tty_slave, &err);
                child_fail(a->sock, err);
        }
        pid_t workload = fork();
        if (workload < 0) {
                burrow_error_set(&err, errno, "fork of the workload");
                child_fail(a->sock, err);
        }
        if (workload == 0) {
                child_exec_workload(a, tty_slave, &err);
                child_fail(a->sock, err);
        }
        if (tty_slave >= 0)
                close(tty_slave);
        close(a->sock); /* the parent sees EOF once the workload has exec'd */
        _exit(init_run(workload));
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

struct relay {
        int master;      /* pty master, -1 without -t */
        bool stdin_open; /* relaying stdin into the pty */
        struct tty_saved saved;
};

static void relay_copy(int from, int to, bool *eof)
{
        char buf[16384];
        ssize_t n = read(from, buf, sizeof(buf));
        if (n <= 0) {
                if (n == 0 || (errno != EAGAIN && errno != EINTR))
                        *eof = true;
                return;
        }
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

static void relay_on_pty(struct relay *r, int fd, const struct burrow_run_config *cfg)
{
        r->master = fd;
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        tty_copy_winsize(isatty(STDIN_FILENO) ? STDIN_FILENO : STDOUT_FILENO, fd);
        if (cfg->interactive) {
                r->stdin_open = true;
                tty_set_raw(STDIN_FILENO, &r->saved);
        }
}

static void relay_drain_pty(struct relay *r)
{
        bool eof = false;
        while (r->master >= 0 && !eof) {
                struct pollfd p = { .fd = r->master, .events = POLLIN };
                if (poll(&p, 1, 0) <= 0)
                        break;
                relay_copy(r->master, STDOUT_FILENO, &eof);
        }
}

/* Relay signals, sync messages and the pty until the container's PID 1 exits. */
static int parent_loop(pid_t pid, int sock, int sfd, const struct burrow_run_config *cfg, int *status,
                       bool *reaped, struct burrow_error **err)
{
        struct relay r = { .master = -1 };
        bool sync_open = true;
        bool exited = false;
        *reaped = false;
        struct sync_msg msg;
        int fd;
        while (!exited) {
                struct pollfd p[4];
                int n = 0, i_sig = n++, i_sync = -1, i_master = -1, i_stdin = -1;
                p[i_sig] = (struct pollfd){ .fd = sfd, .events = POLLIN };
                if (sync_open)
                        p[i_sync = n++] = (struct pollfd){ .fd = sock, .events = POLLIN };
                if (r.master >= 0)
                        p[i_master = n++] = (struct pollfd){ .fd = r.master, .events = POLLIN };
                if (r.master >= 0 && r.stdin_open)
                        p[i_stdin = n++] = (struct pollfd){ .fd = STDIN_FILENO, .events = POLLIN };
                if (poll(p, (nfds_t)n, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        tty_restore(&r.saved);
                        return burrow_error_set(err, errno, "poll");
                }
                if (i_sync >= 0 && p[i_sync].revents) {
                        int got = sync_recv(sock, &msg, &fd);
                        if (got <= 0) {
                                sync_open = false;
                        } else if (msg.type == SYNC_PTY && fd >= 0) {
                                relay_on_pty(&r, fd, cfg);
                        } else if (msg.type == SYNC_ERROR && (err == NULL || *err == NULL)) {
                                burrow_error_set_code(err, msg.exit_code, 0, "%s", msg.text);
                        }
                }
                if (i_master >= 0 && p[i_master].revents) {
                        bool eof = false;
                        relay_copy(r.master, STDOUT_FILENO, &eof);
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
        relay_drain_pty(&r);
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

int burrow_run(const struct burrow_global *global, const struct burrow_run_config *cfg, int *exit_code,
               struct burrow_error **err)
{
        if (cfg->rootfs == NULL)
                return burrow_error_set(err, 0, "no root filesystem given: use --rootfs DIR");
        if (cfg->argv == NULL || cfg->argv[0] == NULL)
                return burrow_error_set(err, 0, "no command given: burrow run --rootfs DIR CMD [ARG...]");
        cleanup_close int rootfd = rootfs_open(cfg->rootfs, err);
        if (rootfd < 0)
                return -1;
        char rootfs[PATH_MAX];
        if (realpath(cfg->rootfs, rootfs) == NULL)
                return burrow_error_set(err, errno, "resolving rootfs `%s`", cfg->rootfs);

        cleanup_free char *runroot = global->runroot ? strdup(global->runroot) : runroot_default();
        if (runroot == NULL)
                return burrow_error_set(err, ENOMEM, "runroot path");
        if (runroot_ensure(runroot, err) < 0)
                return -1;
        char id[65];
        if (random_hex(id, 32, err) < 0)
                return -1;
        char short_id[13];
        memcpy(short_id, id, 12);
        short_id[12] = '\0';
        const char *hostname = cfg->hostname ? cfg->hostname : short_id;

        struct idmap_plan *plan = calloc(1, sizeof(*plan));
        cleanup_free struct idmap_plan *plan_owner = plan;
        if (plan == NULL)
                return burrow_error_set(err, ENOMEM, "ID map");
        if (idmap_plan_for_caller(getuid(), getgid(), plan, err) < 0)
                return -1;
        uint32_t outside;
        if (cfg->has_user && !idmap_to_outside(&plan->uids, cfg->uid, &outside))
                return burrow_error_set(err, 0, "-u %u: that UID is not mapped in the container (the %s map holds only UID 0 = you); "
                                                "a subordinate ID range in /etc/subuid gives 65536 IDs, see `burrow info`",
                                        (unsigned)cfg->uid, idmap_kind_name(plan->kind));
        if (cfg->has_user && cfg->has_gid && !idmap_to_outside(&plan->gids, cfg->gid, &outside))
                return burrow_error_set(err, 0, "-u %u:%u: that GID is not mapped in the container (the %s map holds only GID 0)",
                                        (unsigned)cfg->uid, (unsigned)cfg->gid, idmap_kind_name(plan->kind));
        cleanup_strv char **envp = burrow_build_env(cfg, hostname, err);
        if (envp == NULL)
                return -1;

        sigset_t handled, saved_mask;
        init_forwarded_signals(&handled);
        sigaddset(&handled, SIGCHLD);
        sigaddset(&handled, SIGWINCH);
        if (sigprocmask(SIG_BLOCK, &handled, &saved_mask) < 0)
                return burrow_error_set(err, errno, "blocking signals");
        cleanup_close int sfd = signalfd(-1, &handled, SFD_CLOEXEC | SFD_NONBLOCK);
        if (sfd < 0) {
                sigprocmask(SIG_SETMASK, &saved_mask, NULL);
                return burrow_error_set(err, errno, "signalfd");
        }
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
                sigprocmask(SIG_SETMASK, &saved_mask, NULL);
                return burrow_error_set(err, errno, "socketpair");
        }
        cleanup_close int sock = sv[0];
        struct child_args args = { .cfg = cfg, .rootfs = rootfs, .hostname = hostname, .envp = envp,
                                   .plan = plan, .sock = sv[1], .saved_mask = saved_mask };
        unsigned long flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC;
        if (cfg->net == BURROW_NET_NONE)
                flags |= CLONE_NEWNET;
        /* fork-like clone (no new stack): the child keeps a copy of our memory, no exec needed,
         * so the init works in a rootfs with no libc. */
        pid_t raw = (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);
        if (raw == 0) {
                close(sock);
                child_main(&args);
        }
        int clone_errno = errno;
        close(sv[1]);
        int ret;
        if (raw < 0) {
                ret = clone_error(clone_errno, err);
                sigprocmask(SIG_SETMASK, &saved_mask, NULL);
                return ret;
        }
        cleanup_pid pid_t pid = raw;
        if (idmap_plan_apply(plan, pid, err) < 0) {
                char why[512];
                if (userns_diagnose("/proc/sys", why, sizeof(why)) > 0)
                        burrow_error_hint(err, "%s", why);
                sigprocmask(SIG_SETMASK, &saved_mask, NULL);
                return -1;
        }
        struct sync_msg go = { .type = SYNC_GO };
        if (sync_send(sock, &go, -1) < 0) {
                sigprocmask(SIG_SETMASK, &saved_mask, NULL);
                return burrow_error_set(err, errno, "starting the container");
        }
        /* Written while the child sets up its mounts; the lock says "alive" until we exit. */
        struct burrow_error *state_err = NULL;
        cleanup_close int state_lock = runroot_state_write(runroot, id, pid, rootfs, &state_err);
        bool have_state = state_lock >= 0;
        if (!have_state) {
                burrow_warn("%s", state_err->msg);
                burrow_error_free(state_err);
        }
        runroot_prune_stale(runroot);
        int status = 0;
        bool reaped;
        ret = parent_loop(pid, sock, sfd, cfg, &status, &reaped, err);
        if (reaped)
                pid = 0;
        if (have_state)
                runroot_state_remove(runroot, id);
        sigprocmask(SIG_SETMASK, &saved_mask, NULL);
        if (ret == 0)
                *exit_code = init_exit_code(status);
        return ret;
}
