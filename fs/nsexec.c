#include "config.h"

#include "fs/nsexec.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "userns/holder.h"
#include "userns/idmap.h"
#include "util/fsutil.h"

/* The result bytes follow the reply: keep them aligned for any struct. */
struct ns_reply {
        int ok;
        int exit_code;
        int errnum;
        char msg[2048];
} __attribute__((aligned(16)));

static int enter_own_userns(const struct idmap_plan *plan, struct burrow_error **err)
{
        if (unshare(CLONE_NEWUSER) < 0)
                return burrow_error_set(err, errno, "creating a user namespace for the store");
        /* We map ourselves: our own IDs (single map), or root's ranges (root may). */
        return idmap_plan_apply(plan, getpid(), err);
}

int store_ns_run(const struct store_ns *ns, store_ns_fn fn, void *arg, void *result, size_t result_size,
                 struct burrow_error **err)
{
        struct idmap_plan *plan = calloc(1, sizeof(*plan));
        cleanup_free struct idmap_plan *plan_owner = plan;
        if (plan == NULL)
                return burrow_error_set(err, ENOMEM, "ID map");
        cleanup_close int nsfd = -1;
        if (userns_holder_for_caller(ns->runroot, USERNS_AUTO, ns->use_holder, plan, &nsfd, err) < 0)
                return -1;
        int pipefd[2];
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return burrow_error_set(err, errno, "pipe");
        pid_t pid = fork();
        if (pid < 0) {
                close(pipefd[0]);
                close(pipefd[1]);
                return burrow_error_set(err, errno, "fork");
        }
        if (pid == 0) {
                close(pipefd[0]);
                prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
                struct burrow_error *cerr = NULL;
                struct ns_reply *reply = calloc(1, sizeof(*reply) + result_size);
                int r;
                if (nsfd >= 0)
                        r = userns_holder_enter(nsfd, &cerr);
                else if (plan->kind != IDMAP_IDENTITY)
                        r = enter_own_userns(plan, &cerr);
                else
                        r = 0;
                if (r == 0)
                        r = fn(arg, (char *)(reply + 1), &cerr);
                reply->ok = r == 0;
                if (cerr) {
                        reply->exit_code = cerr->exit_code;
                        reply->errnum = cerr->errnum;
                        snprintf(reply->msg, sizeof(reply->msg), "%s", cerr->msg ? cerr->msg : "failed");
                }
                size_t len = sizeof(*reply) + result_size;
                for (size_t done = 0; done < len;) {
                        ssize_t n = write(pipefd[1], (char *)reply + done, len - done);
                        if (n <= 0)
                                _exit(1);
                        done += (size_t)n;
                }
                _exit(reply->ok ? 0 : 1);
        }
        close(pipefd[1]);
        cleanup_close int rfd = pipefd[0];
        cleanup_free struct ns_reply *reply = calloc(1, sizeof(*reply) + result_size);
        size_t len = sizeof(*reply) + result_size, got = 0;
        while (reply && got < len) {
                ssize_t n = read(rfd, (char *)reply + got, len - got);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                got += (size_t)n;
        }
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        if (reply == NULL || got < len)
                return burrow_error_set(err, 0, "the store worker died (%s %d)", WIFSIGNALED(status) ? "signal" : "status",
                                        WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
        if (!reply->ok)
                return burrow_error_set_code(err, reply->exit_code ? reply->exit_code : BURROW_EXIT_FAILURE, 0, "%s", reply->msg);
        if (result_size)
                memcpy(result, reply + 1, result_size);
        return 0;
}
