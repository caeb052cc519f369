#include "config.h"

#include "sandbox/unshare.h"

#include <errno.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "sandbox/exec.h"
#include "sandbox/init.h"
#include "sandbox/spawn.h"
#include "sandbox/sync.h"
#include "sandbox/runroot.h"
#include "userns/holder.h"
#include "userns/idmap.h"
#include "util/log.h"

struct unshare_args {
        char *const *argv;
        const struct idmap_plan *plan;
        sigset_t saved_mask;
};

static _Noreturn void unshare_child(void *arg, int sock)
{
        struct unshare_args *a = arg;
        struct burrow_error *err = NULL;
        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        struct sync_msg msg;
        int fd;
        if (sync_recv(sock, &msg, &fd) <= 0 || msg.type != SYNC_GO)
                _exit(BURROW_EXIT_FAILURE);
        if (!a->plan->deny_setgroups && setgroups(0, NULL) < 0)
                burrow_error_set(&err, errno, "clearing supplementary groups");
        else if (setresgid(0, 0, 0) < 0)
                burrow_error_set(&err, errno, "becoming GID 0 in the namespace");
        else if (setresuid(0, 0, 0) < 0)
                burrow_error_set(&err, errno, "becoming UID 0 in the namespace");
        if (err == NULL) {
                sigprocmask(SIG_SETMASK, &a->saved_mask, NULL);
                extern char **environ;
                /* The host's filesystem and the caller's own environment and PATH. */
                exec_workload(a->argv, environ, "/", &err);
        }
        sync_send_error(sock, err);
        _exit(err ? err->exit_code : BURROW_EXIT_FAILURE);
}

int burrow_unshare(const struct burrow_global *global, char *const *argv, int *exit_code, struct burrow_error **err)
{
        char *shell_argv[2] = { NULL, NULL };
        if (argv == NULL || argv[0] == NULL) {
                const char *shell = getenv("SHELL");
                shell_argv[0] = (char *)(shell && *shell ? shell : "/bin/sh");
                argv = shell_argv;
        }
        struct idmap_plan *plan = calloc(1, sizeof(*plan));
        cleanup_free struct idmap_plan *plan_owner = plan;
        if (plan == NULL)
                return burrow_error_set(err, ENOMEM, "ID map");
        cleanup_free char *runroot = global->runroot ? strdup(global->runroot) : runroot_default();
        if (runroot == NULL)
                return burrow_error_set(err, ENOMEM, "runroot path");
        if (runroot_ensure(runroot, err) < 0)
                return -1;
        cleanup_close int nsfd = -1;
        if (userns_holder_for_caller(runroot, USERNS_AUTO, !global->no_userns_holder, plan, &nsfd, err) < 0)
                return -1;
        if (plan->no_range)
                burrow_info("no subordinate range (%s): the namespace maps only you, as 0", plan->why);

        sigset_t handled, saved_mask;
        init_forwarded_signals(&handled);
        sigaddset(&handled, SIGCHLD);
        if (sigprocmask(SIG_BLOCK, &handled, &saved_mask) < 0)
                return burrow_error_set(err, errno, "blocking signals");
        cleanup_close int sfd = signalfd(-1, &handled, SFD_CLOEXEC | SFD_NONBLOCK);
        struct unshare_args args = { .argv = argv, .plan = plan, .saved_mask = saved_mask };
        cleanup_close int sock = -1;
        pid_t pid = -1;
        unsigned long flags = CLONE_NEWUSER | CLONE_NEWNS;
        int ret = sfd < 0 ? burrow_error_set(err, errno, "signalfd") : 0;
        if (ret == 0 && nsfd >= 0) {
                ret = userns_holder_enter(nsfd, err);
                flags = CLONE_NEWNS;
        }
        if (ret == 0)
                ret = spawn_in_namespaces_or_single(flags, plan, USERNS_AUTO, unshare_child, &args, &sock, &pid, err);
        if (ret == 0) {
                struct sync_msg go = { .type = SYNC_GO };
                if (sync_send(sock, &go, -1) < 0)
                        ret = burrow_error_set(err, errno, "starting `%s`", argv[0]);
        }
        int status = 0;
        bool reaped = false;
        if (ret == 0)
                ret = spawn_wait(pid, sock, sfd, false, NULL, &status, &reaped, err);
        if (!reaped)
                spawn_kill_and_reap(pid);
        sigprocmask(SIG_SETMASK, &saved_mask, NULL);
        if (ret == 0)
                *exit_code = init_exit_code(status);
        return ret;
}
