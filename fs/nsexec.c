#include "config.h"

#include "fs/nsexec.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "userns/holder.h"
#include "userns/idmap.h"
#include "util/fsutil.h"
#include "util/log.h"
#include <jansson.h>

/* The result bytes follow the reply: keep them aligned for any struct. */
struct ns_reply {
        int ok;
        int exit_code;
        int errnum;
        char msg[2048];
} __attribute__((aligned(16)));

/* A single-ID map we write ourselves. Other maps are written from outside (by the parent,
 * through newuidmap/newgidmap): a setuid helper started from inside the new namespace would
 * run without its privileges there. */
static int enter_own_userns(const struct idmap_plan *plan, int sync_fd, struct burrow_error **err)
{
        if (unshare(CLONE_NEWUSER) < 0)
                return burrow_error_set(err, errno, "creating a user namespace for the store");
        if (plan->kind == IDMAP_SINGLE)
                return idmap_plan_apply(plan, getpid(), err);
        char c = 'u';
        if (write(sync_fd, &c, 1) != 1 || read(sync_fd, &c, 1) != 1 || c != 'm')
                return burrow_error_set(err, 0, "the ID map of the store's user namespace was not written (see the error above)");
        if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
                return burrow_error_set(err, errno, "becoming root in the store's user namespace");
        return 0;
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

const struct idmap_plan *store_ns_plan_idmap(const struct store_ns_plan *p)
{
        return &p->plan;
}

static bool store_has_layers(struct store *s)
{
        cleanup_close int fd = openat(s->fd, "layers", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        cleanup_closedir DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        if (d == NULL)
                return false;
        fd = -1;
        struct dirent *de;
        while ((de = readdir(d)) != NULL)
                if (de->d_name[0] != '.')
                        return true;
        return false;
}

/* No store lock: callers may hold it already (prune), and every writer writes the caller's one
 * current map, each by an atomic rename. */
int store_ns_record_map(struct store *s, const struct idmap_plan *plan, bool migrated, struct burrow_error **err)
{
        json_t *meta = store_meta_read(s, err);
        if (meta == NULL)
                return -1;
        char u[IDMAP_MAX_RANGES * 36], g[IDMAP_MAX_RANGES * 36];
        idmap_format(&plan->uids, u, sizeof(u));
        idmap_format(&plan->gids, g, sizeof(g));
        json_object_set_new(meta, "uid_map", json_string(u));
        json_object_set_new(meta, "gid_map", json_string(g));
        json_object_set_new(meta, "mapping", json_string(idmap_kind_name(plan->kind)));
        if (migrated)
                json_object_set_new(meta, "migrated", json_integer((json_int_t)time(NULL)));
        int r = store_write_json_at(s->fd, "store.json", meta, err);
        json_decref(meta);
        return r;
}

int store_ns_map_state(struct store *s, const struct idmap_plan *plan, enum store_map_state *state,
                       struct burrow_error **err)
{
        json_t *meta = store_meta_read(s, err);
        if (meta == NULL)
                return -1;
        const char *uid_text = json_string_value(json_object_get(meta, "uid_map"));
        const char *gid_text = json_string_value(json_object_get(meta, "gid_map"));
        const char *kind = json_string_value(json_object_get(meta, "mapping"));
        cleanup_free struct idmap *uids = calloc(1, sizeof(*uids));
        cleanup_free struct idmap *gids = calloc(1, sizeof(*gids));
        struct burrow_error *perr = NULL;
        int r = 0;
        if (uids == NULL || gids == NULL) {
                r = burrow_error_set(err, ENOMEM, "ID maps");
        } else if (uid_text == NULL || !store_has_layers(s)) {
                /* Nothing is owned under any map yet: the current one becomes the store's. */
                bool same = uid_text && idmap_parse(uid_text, uids, &perr) == 0 &&
                            idmap_parse(gid_text ? gid_text : "", gids, &perr) == 0 && idmap_covers(&plan->uids, uids) &&
                            idmap_covers(uids, &plan->uids) && idmap_covers(&plan->gids, gids) && idmap_covers(gids, &plan->gids);
                *state = same ? STORE_MAP_SAME : STORE_MAP_UNRECORDED;
        } else if (idmap_parse(uid_text, uids, &perr) < 0 || idmap_parse(gid_text ? gid_text : "", gids, &perr) < 0) {
                r = burrow_error_set(err, 0, "`%s/store.json` holds a damaged ID map (%s); run `burrow system reset`",
                                     s->root, perr ? perr->msg : "?");
        } else if (kind && strcmp(kind, idmap_kind_name(IDMAP_SINGLE)) == 0 && plan->kind != IDMAP_SINGLE &&
                   idmap_covers(&plan->uids, uids) && idmap_covers(&plan->gids, gids)) {
                *state = STORE_MAP_SINGLE_NOW_RANGES;
        } else if (idmap_covers(&plan->uids, uids) && idmap_covers(&plan->gids, gids)) {
                *state = idmap_covers(uids, &plan->uids) && idmap_covers(gids, &plan->gids) ? STORE_MAP_SAME : STORE_MAP_GREW;
        } else {
                *state = STORE_MAP_LOST;
        }
        burrow_error_free(perr);
        json_decref(meta);
        return r;
}

static char *oneline(const char *map_text, char *buf, size_t size)
{
        snprintf(buf, size, "%s", map_text);
        for (char *q = buf; *q; q++)
                if (*q == '\n')
                        *q = q[1] ? ',' : '\0';
        return buf;
}

int store_ns_plan_check(struct store_ns_plan *p, struct store *s, struct burrow_error **err)
{
        enum store_map_state state;
        if (store_ns_map_state(s, &p->plan, &state, err) < 0)
                return -1;
        switch (state) {
        case STORE_MAP_SAME:
                return 0;
        case STORE_MAP_UNRECORDED:
        case STORE_MAP_GREW: /* more subordinate IDs than before: every owner still maps */
                return store_ns_record_map(s, &p->plan, false, err);
        case STORE_MAP_SINGLE_NOW_RANGES:
                if (!s->warned_map)
                        burrow_warn("the image store `%s` was filled while you had no subordinate ID range: files in its "
                                    "layers are all owned by you. You have a range now; run `burrow system migrate` to give "
                                    "them their image owners",
                                    s->root);
                s->warned_map = true;
                return 0;
        case STORE_MAP_LOST:
                break;
        }
        char now[IDMAP_MAX_RANGES * 36], shown[IDMAP_MAX_RANGES * 36], was[IDMAP_MAX_RANGES * 36];
        idmap_format(&p->plan.uids, now, sizeof(now));
        json_t *meta = store_meta_read(s, NULL);
        oneline(meta ? json_string_value(json_object_get(meta, "uid_map")) ?: "?" : "?", was, sizeof(was));
        json_decref(meta);
        return burrow_error_set(err, 0, "the image store `%s` holds files owned under the UID map `%s`, but your map is now `%s`: "
                                        "your subordinate IDs in /etc/subuid or /etc/subgid changed, and files of the old ones "
                                        "cannot be changed or removed from here. Ask your administrator to restore the old range "
                                        "or to remove `%s` as root, or use another store with --root DIR",
                                s->root, was, oneline(now, shown, sizeof(shown)), s->root);
}

int store_ns_check(struct store *s, const struct store_ns *ns, struct burrow_error **err)
{
        struct store_ns_plan *p = store_ns_plan_new(ns, err);
        int r = p ? store_ns_plan_check(p, s, err) : -1;
        store_ns_plan_free(p);
        return r;
}

int store_ns_start(struct store_ns_plan *p, store_ns_fn fn, void *arg, size_t result_size, const int *close_fds,
                   size_t n_close, struct store_ns_worker *w, struct burrow_error **err)
{
        int pipefd[2];
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return burrow_error_set(err, errno, "pipe");
        bool parent_maps = p->nsfd < 0 && p->plan.kind != IDMAP_IDENTITY && p->plan.kind != IDMAP_SINGLE;
        int sync[2] = { -1, -1 };
        if (parent_maps && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sync) < 0) {
                close(pipefd[0]);
                close(pipefd[1]);
                return burrow_error_set(err, errno, "socketpair");
        }
        pid_t pid = fork();
        if (pid < 0) {
                int e = errno;
                close(pipefd[0]);
                close(pipefd[1]);
                if (sync[0] >= 0) {
                        close(sync[0]);
                        close(sync[1]);
                }
                return burrow_error_set(err, e, "fork");
        }
        if (pid == 0) {
                close(pipefd[0]);
                if (sync[0] >= 0)
                        close(sync[0]);
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
                        r = enter_own_userns(&p->plan, sync[1], &cerr);
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
        if (parent_maps) {
                close(sync[1]);
                char c;
                int r = read(sync[0], &c, 1) == 1 ? idmap_plan_apply(&p->plan, pid, err) : -1;
                if (r == 0 && write(sync[0], "m", 1) != 1)
                        r = -1;
                close(sync[0]);
                if (r < 0) {
                        kill(pid, SIGKILL);
                        waitpid(pid, NULL, 0);
                        close(pipefd[0]);
                        return err && *err ? -1 : burrow_error_set(err, 0, "the store worker died before its user namespace was mapped");
                }
        }
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

int store_ns_run(struct store *s, const struct store_ns *ns, store_ns_fn fn, void *arg, void *result, size_t result_size,
                 struct burrow_error **err)
{
        struct store_ns_plan *p = store_ns_plan_new(ns, err);
        if (p == NULL)
                return -1;
        struct store_ns_worker w;
        int r = s ? store_ns_plan_check(p, s, err) : 0;
        if (r == 0)
                r = store_ns_start(p, fn, arg, result_size, NULL, 0, &w, err);
        if (r == 0)
                r = store_ns_finish(&w, result, err);
        store_ns_plan_free(p);
        return r;
}
