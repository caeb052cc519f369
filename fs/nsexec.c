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
#include <jansson.h>

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

struct store_ns_plan {
        struct idmap_plan plan;
        int nsfd;
};

struct store_ns_plan *store_ns_plan_new(const struct store_ns *ns, struct burrow_error **err)
{
        struct store_ns_plan *p = calloc(1, sizeof(*p));
        if (p == NULL) {
                burrow_error_set(err, ENOMEM, "ID map");
                return NULL;
        }
        p->nsfd = -1;
        if (userns_holder_for_caller(ns->runroot, USERNS_AUTO, ns->use_holder, &p->plan, &p->nsfd, err) < 0) {
                free(p);
                return NULL;
        }
        return p;
}

void store_ns_plan_free(struct store_ns_plan *p)
{
        if (p == NULL)
                return;
        if (p->nsfd >= 0)
                close(p->nsfd);
        free(p);
}

int store_ns_plan_record(struct store_ns_plan *p, struct store *s, struct burrow_error **err)
{
        cleanup_free char *text = NULL;
        if (read_file_at(s->fd, "store.json", &text, NULL, err) < 0)
                return -1;
        json_error_t je;
        json_t *meta = json_loads(text, 0, &je);
        if (meta == NULL)
                return burrow_error_set(err, 0, "`%s/store.json` is not valid JSON", s->root);
        int r = 0;
        if (json_object_get(meta, "uid_map") == NULL) {
                char u[IDMAP_MAX_RANGES * 36], g[IDMAP_MAX_RANGES * 36];
                idmap_format(&p->plan.uids, u, sizeof(u));
                idmap_format(&p->plan.gids, g, sizeof(g));
                json_object_set_new(meta, "uid_map", json_string(u));
                json_object_set_new(meta, "gid_map", json_string(g));
                json_object_set_new(meta, "mapping", json_string(idmap_kind_name(p->plan.kind)));
                int lock = store_lock(s, err);
                r = lock < 0 ? -1 : store_write_json_at(s->fd, "store.json", meta, err);
                if (lock >= 0)
                        close(lock);
        }
        json_decref(meta);
        return r;
}

int store_ns_start(struct store_ns_plan *p, store_ns_fn fn, void *arg, size_t result_size, const int *close_fds,
                   size_t n_close, struct store_ns_worker *w, struct burrow_error **err)
{
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
                for (size_t i = 0; i < n_close; i++)
                        if (close_fds[i] >= 0)
                                close(close_fds[i]);
                struct burrow_error *cerr = NULL;
                struct ns_reply *reply = calloc(1, sizeof(*reply) + result_size);
                if (reply == NULL)
                        _exit(1);
                int r;
                if (p->nsfd >= 0)
                        r = userns_holder_enter(p->nsfd, &cerr);
                else if (p->plan.kind != IDMAP_IDENTITY)
                        r = enter_own_userns(&p->plan, &cerr);
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
        w->pid = pid;
        w->result_fd = pipefd[0];
        w->result_size = result_size;
        return 0;
}

int store_ns_finish(struct store_ns_worker *w, void *result, struct burrow_error **err)
{
        cleanup_close int rfd = w->result_fd;
        w->result_fd = -1;
        cleanup_free struct ns_reply *reply = calloc(1, sizeof(*reply) + w->result_size);
        size_t len = sizeof(*reply) + w->result_size, got = 0;
        while (reply && got < len) {
                ssize_t n = read(rfd, (char *)reply + got, len - got);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                got += (size_t)n;
        }
        int status = 0;
        while (waitpid(w->pid, &status, 0) < 0 && errno == EINTR)
                ;
        w->pid = -1;
        if (reply == NULL || got < len)
                return burrow_error_set(err, 0, "the store worker died (%s %d)", WIFSIGNALED(status) ? "signal" : "status",
                                        WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
        if (!reply->ok)
                return burrow_error_set_code(err, reply->exit_code ? reply->exit_code : BURROW_EXIT_FAILURE, 0, "%s", reply->msg);
        if (w->result_size)
                memcpy(result, reply + 1, w->result_size);
        return 0;
}

int store_ns_run(const struct store_ns *ns, store_ns_fn fn, void *arg, void *result, size_t result_size,
                 struct burrow_error **err)
{
        struct store_ns_plan *p = store_ns_plan_new(ns, err);
        if (p == NULL)
                return -1;
        struct store_ns_worker w;
        int r = store_ns_start(p, fn, arg, result_size, NULL, 0, &w, err);
        if (r == 0)
                r = store_ns_finish(&w, result, err);
        store_ns_plan_free(p);
        return r;
}
