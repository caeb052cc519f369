#include "config.h"

#include "sandbox/cp.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fs/commit.h"
#include "fs/container.h"
#include "fs/copy.h"
#include "fs/store.h"
#include "sandbox/enter.h"
#include "sandbox/runroot.h"
#include "sandbox/spawn.h"
#include "sandbox/sync.h"
#include "util/fsutil.h"

/* "CONTAINER:PATH" (a host path starts with / or ., or has no colon). */
static bool split_container(const char *arg, char *ctr, size_t ctr_size, const char **path)
{
        const char *colon = strchr(arg, ':');
        if (arg[0] == '/' || arg[0] == '.' || colon == NULL || colon == arg || (size_t)(colon - arg) >= ctr_size)
                return false;
        snprintf(ctr, ctr_size, "%.*s", (int)(colon - arg), arg);
        *path = colon + 1;
        return true;
}

static bool ends_with_dot(const char *p)
{
        size_t n = strlen(p);
        return (n >= 2 && strcmp(p + n - 2, "/.") == 0) || strcmp(p, ".") == 0;
}

struct cp_job {
        const char *path;   /* on this side */
        bool contents;      /* the source ended in "/." */
        int fd;             /* the tar stream */
        const char *where;  /* "the host", "container NAME" */
};

static int copy_stream(int in, int out, struct burrow_error **err)
{
        char buf[65536];
        for (;;) {
                ssize_t n = read(in, buf, sizeof(buf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return burrow_error_set(err, errno, "reading the tar stream");
                if (n == 0)
                        return 0;
                for (ssize_t off = 0; off < n;) {
                        ssize_t w = write(out, buf + off, (size_t)(n - off));
                        if (w < 0 && errno == EINTR)
                                continue;
                        if (w < 0)
                                return burrow_error_set(err, errno, "writing the tar stream");
                        off += w;
                }
        }
}

static int host_write(void *arg, struct burrow_error **err)
{
        struct cp_job *j = arg;
        if (strcmp(j->path, "-") == 0)
                return copy_stream(STDIN_FILENO, j->fd, err);
        /* into a container, files belong to its root, as with docker cp */
        return copy_tar_write(j->path, NULL, j->contents, true, j->fd, j->where, err);
}

static int host_extract(void *arg, struct burrow_error **err)
{
        struct cp_job *j = arg;
        if (strcmp(j->path, "-") == 0)
                return copy_stream(j->fd, STDOUT_FILENO, err);
        return copy_tar_extract(j->fd, j->path, j->contents, false, j->where, err);
}

static int ctr_write(void *arg, struct burrow_error **err)
{
        struct cp_job *j = arg;
        return copy_tar_write(j->path, NULL, j->contents, false, j->fd, j->where, err);
}

static int ctr_extract(void *arg, struct burrow_error **err)
{
        struct cp_job *j = arg;
        return copy_tar_extract(j->fd, j->path, j->contents, true, j->where, err);
}

int burrow_cp(const struct burrow_global *global, const char *src, const char *dest, struct burrow_error **err)
{
        char src_ctr[256], dest_ctr[256];
        const char *src_path = src, *dest_path = dest;
        bool from = split_container(src, src_ctr, sizeof(src_ctr), &src_path);
        bool to = split_container(dest, dest_ctr, sizeof(dest_ctr), &dest_path);
        if (from == to)
                return burrow_error_set(err, 0, "burrow cp copies between the host and a container: one of `%s` and `%s` must be "
                                                "CONTAINER:PATH, the other a host path",
                                        src, dest);
        const char *name = from ? src_ctr : dest_ctr;
        const char *ctr_path_given = from ? src_path : dest_path;
        char ctr_path[4096];
        snprintf(ctr_path, sizeof(ctr_path), "%s%s", ctr_path_given[0] == '/' ? "" : "/", ctr_path_given);
        if (to && strcmp(src, "-") != 0 && access(src, F_OK) < 0)
                return burrow_error_set(err, errno, "cannot copy `%s` from the host", src);

        cleanup_free char *root = global->root ? strdup(global->root) : store_default_root();
        cleanup_free char *runroot = global->runroot ? strdup(global->runroot) : runroot_default();
        if (root == NULL || runroot == NULL)
                return burrow_error_set(err, ENOMEM, "paths");
        if (runroot_ensure(runroot, err) < 0)
                return -1;
        struct store *s = NULL;
        if (store_open(root, &s, err) < 0)
                return -1;
        char id[CONTAINER_ID_LEN + 1];
        if (container_resolve(s, name, id, err) < 0) {
                store_free(s);
                return -1;
        }
        char where[300];
        snprintf(where, sizeof(where), "container %s", name);
        /* a side that stops reading must show up as an error, not kill the other */
        signal(SIGPIPE, SIG_IGN);
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0) {
                store_free(s);
                return burrow_error_set(err, errno, "pipe");
        }
        /* the tar flows container -> host (from) or host -> container (to) */
        int host_end = from ? p[0] : p[1], ctr_end = from ? p[1] : p[0];
        struct cp_job host = { .path = from ? dest : src, .contents = from ? ends_with_dot(src_path) : ends_with_dot(src),
                               .fd = host_end, .where = "the host" };
        struct cp_job ctr = { .path = ctr_path, .contents = host.contents, .fd = ctr_end, .where = where };
        int sock = -1;
        /* the host's half in a process of its own, so both halves stream through one pipe */
        pid_t side = spawn_helper(from ? host_extract : host_write, &host, ctr_end, &sock, err);
        close(host_end);
        if (side < 0) {
                close(ctr_end);
                store_free(s);
                return -1;
        }
        struct store_ns ns = { .runroot = runroot, .use_holder = !global->no_userns_holder };
        struct burrow_error *cerr = NULL;
        int r;
        if (container_is_running(s, id))
                r = container_enter_run(s, id, name, from ? ctr_write : ctr_extract, &ctr, &cerr);
        else
                r = container_tree_run(s, &ns, id, to, from ? ctr_write : ctr_extract, &ctr, &cerr);
        close(ctr_end); /* the host side sees the end of the stream */
        struct burrow_error *herr = NULL;
        int hr = spawn_helper_finish(side, sock, "copying on the host", &herr);
        store_free(s);
        /* the source side says why (the other one only saw the stream break), unless only the
         * destination failed */
        struct burrow_error *source = from ? cerr : herr, *sink = from ? herr : cerr;
        if (source || sink) {
                *err = source ? source : sink;
                burrow_error_free(source ? sink : NULL);
                return -1;
        }
        return r < 0 || hr < 0 ? burrow_error_set(err, 0, "copying failed") : 0;
}
