#include "config.h"

#include "fs/volume.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fs/container.h"
#include "util/fsutil.h"

static void cleanup_jsonp(json_t **j)
{
        json_decref(*j);
}
#define cleanup_json __attribute__((cleanup(cleanup_jsonp)))

static bool name_ok(const char *name)
{
        if (!((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= 'A' && name[0] <= 'Z') || (name[0] >= '0' && name[0] <= '9')))
                return false;
        return strlen(name) <= VOLUME_NAME_MAX &&
               strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == strlen(name);
}

static bool volume_exists(struct store *s, const char *name)
{
        char p[512];
        snprintf(p, sizeof(p), "volumes/%s/_data", name);
        struct stat st;
        return fstatat(s->fd, p, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

int volume_create(struct store *s, const char *name, bool anonymous, char out[VOLUME_NAME_MAX + 1], bool *made,
                  struct burrow_error **err)
{
        char generated[65];
        if (name == NULL) {
                if (random_hex(generated, 32, err) < 0)
                        return -1;
                name = generated;
        } else if (!name_ok(name)) {
                return burrow_error_set(err, 0, "`%s` is not a volume name: [A-Za-z0-9][A-Za-z0-9_.-]*, at most %d characters",
                                        name, VOLUME_NAME_MAX);
        }
        snprintf(out, VOLUME_NAME_MAX + 1, "%s", name);
        if (made)
                *made = false;
        if (mkdirat(s->fd, "volumes", 0700) < 0 && errno != EEXIST)
                return burrow_error_set(err, errno, "creating `%s/volumes`", s->root);
        cleanup_close int lock = store_lock(s, err);
        if (lock < 0)
                return -1;
        if (volume_exists(s, name))
                return 0;
        struct store_op op;
        if (store_op_begin(s, "volume", &op, err) < 0)
                return -1;
        char created[48];
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm);
        cleanup_json json_t *meta = json_pack("{s:s, s:s, s:b}", "name", name, "created", created, "anonymous", anonymous);
        int r = 0;
        /* made by the caller, whom every burrow map makes the container's root: root inside
         * owns it, as a fresh docker volume is root's */
        if (mkdirat(op.fd, "vol", 0755) < 0 || mkdirat(op.fd, "vol/_data", 0755) < 0 || fchmodat(op.fd, "vol/_data", 0755, 0) < 0)
                r = burrow_error_set(err, errno, "creating volume `%s` in `%s/%s`", name, s->root, op.name);
        cleanup_close int vfd = r == 0 ? openat(op.fd, "vol", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
        if (r == 0 && vfd < 0)
                r = burrow_error_set(err, errno, "opening `%s/%s/vol`", s->root, op.name);
        if (r == 0 && meta == NULL)
                r = burrow_error_set(err, ENOMEM, "volume.json");
        if (r == 0)
                r = store_write_json_at(vfd, "volume.json", meta, err);
        char dest[VOLUME_NAME_MAX + 16];
        snprintf(dest, sizeof(dest), "volumes/%s", name);
        if (r == 0 && renameat(op.fd, "vol", s->fd, dest) < 0)
                r = burrow_error_set(err, errno, "storing volume `%s` in `%s`", name, s->root);
        if (r < 0)
                store_remove_tree(op.fd, "vol");
        store_op_end(s, &op);
        if (r == 0 && made)
                *made = true;
        return r;
}

char *volume_data_path(struct store *s, const char *name, struct burrow_error **err)
{
        if (!name_ok(name) || !volume_exists(s, name)) {
                burrow_error_set(err, 0, "no volume `%s` in `%s` (see `burrow volume ls`)", name, s->root);
                return NULL;
        }
        char real[PATH_MAX];
        if (realpath(s->root, real) == NULL) {
                burrow_error_set(err, errno, "resolving the store `%s`", s->root);
                return NULL;
        }
        char *p = NULL;
        if (asprintf(&p, "%s/volumes/%s/_data", real, name) < 0) {
                burrow_error_set(err, ENOMEM, "volume path");
                return NULL;
        }
        return p;
}

json_t *volume_users(struct store *s, const char *name)
{
        json_t *names = json_array();
        cleanup_json json_t *list = container_list(s, NULL);
        size_t i, k;
        json_t *c, *b;
        json_array_foreach(list, i, c)
        {
                cleanup_json json_t *cfg = container_config(s, json_string_value(json_object_get(c, "id")), NULL);
                json_array_foreach(json_object_get(json_object_get(cfg, "run"), "binds"), k, b)
                {
                        const char *v = json_string_value(json_object_get(b, "volume"));
                        if (v && strcmp(v, name) == 0) {
                                json_array_append(names, json_object_get(cfg, "name"));
                                break;
                        }
                }
        }
        return names;
}

static int by_name(const void *a, const void *b)
{
        const char *x = json_string_value(json_object_get(*(json_t *const *)a, "name"));
        const char *y = json_string_value(json_object_get(*(json_t *const *)b, "name"));
        return strcmp(x ? x : "", y ? y : "");
}

json_t *volume_list(struct store *s, struct burrow_error **err)
{
        json_t *out = json_array();
        cleanup_close int dfd = openat(s->fd, "volumes", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0) {
                if (errno == ENOENT)
                        return out;
                json_decref(out);
                burrow_error_set(err, errno, "reading `%s/volumes`", s->root);
                return NULL;
        }
        DIR *d = fdopendir(dup(dfd));
        if (d == NULL) {
                json_decref(out);
                burrow_error_set(err, errno, "reading `%s/volumes`", s->root);
                return NULL;
        }
        struct dirent *de;
        size_t n = 0;
        json_t **items = NULL;
        while ((de = readdir(d)) != NULL) {
                if (!name_ok(de->d_name) || !volume_exists(s, de->d_name))
                        continue;
                char p[512];
                snprintf(p, sizeof(p), "%s/volume.json", de->d_name);
                cleanup_free char *text = NULL;
                size_t len = 0;
                json_t *meta = NULL;
                if (read_file_at(dfd, p, &text, &len, NULL) == 0)
                        meta = json_loadb(text, len, 0, NULL);
                if (!json_is_object(meta)) {
                        json_decref(meta);
                        meta = json_pack("{s:s}", "name", de->d_name);
                }
                json_object_set_new(meta, "name", json_string(de->d_name));
                char *mp = volume_data_path(s, de->d_name, NULL);
                if (mp)
                        json_object_set_new(meta, "mountpoint", json_string(mp));
                free(mp);
                json_object_set_new(meta, "users", volume_users(s, de->d_name));
                json_t **bigger = realloc(items, (n + 1) * sizeof(*items));
                if (bigger == NULL) {
                        json_decref(meta);
                        break;
                }
                items = bigger;
                items[n++] = meta;
        }
        closedir(d);
        if (n > 1)
                qsort(items, n, sizeof(*items), by_name);
        for (size_t i = 0; i < n; i++)
                json_array_append_new(out, items[i]);
        free(items);
        return out;
}

struct remove_job {
        struct store *s;
        const char *name;
};

static int remove_in_ns(void *arg, void *result, struct burrow_error **err)
{
        (void)result;
        struct remove_job *job = arg;
        struct store_op op;
        if (store_op_begin(job->s, "volume-rm", &op, err) < 0)
                return -1;
        char dir[VOLUME_NAME_MAX + 16];
        snprintf(dir, sizeof(dir), "volumes/%s", job->name);
        int r = 0;
        if (renameat(job->s->fd, dir, op.fd, "vol") < 0)
                r = burrow_error_set(err, errno, "removing volume `%s` from `%s`", job->name, job->s->root);
        else if (store_remove_tree(op.fd, "vol") < 0)
                r = burrow_error_set(err, errno, "removing the files of volume `%s`", job->name);
        store_op_end(job->s, &op);
        return r;
}

int volume_take_out(struct store *s, const char *name, int at, const char *dest)
{
        if (!name_ok(name) || !volume_exists(s, name)) {
                errno = ENOENT;
                return -1;
        }
        cleanup_json json_t *users = volume_users(s, name);
        if (json_array_size(users) > 0)
                return 0;
        char dir[VOLUME_NAME_MAX + 16];
        snprintf(dir, sizeof(dir), "volumes/%s", name);
        /* the volume's own directory is the caller's (volume_create): no namespace needed to move it */
        return renameat(s->fd, dir, at, dest) < 0 ? -1 : 1;
}

int volume_remove_with(struct store *s, struct store_ns_plan *plan, const char *name, bool force_in_use,
                       struct burrow_error **err)
{
        if (!name_ok(name) || !volume_exists(s, name))
                return burrow_error_set(err, 0, "no volume `%s` in `%s` (see `burrow volume ls`)", name, s->root);
        if (!force_in_use) {
                cleanup_json json_t *users = volume_users(s, name);
                if (json_array_size(users) > 0)
                        return burrow_error_set(err, EBUSY, "volume `%s` is used by container `%s`%s: remove %s first", name,
                                                json_string_value(json_array_get(users, 0)),
                                                json_array_size(users) > 1 ? " and others" : "",
                                                json_array_size(users) > 1 ? "them" : "it");
        }
        if (store_ns_plan_check(plan, s, err) < 0)
                return -1;
        struct remove_job job = { .s = s, .name = name };
        struct store_ns_worker w;
        if (store_ns_start(plan, remove_in_ns, &job, 0, NULL, 0, &w, err) < 0)
                return -1;
        return store_ns_finish(&w, NULL, err);
}

int volume_remove(struct store *s, const struct store_ns *ns, const char *name, struct burrow_error **err)
{
        struct store_ns_plan *plan = store_ns_plan_new(ns, err);
        if (plan == NULL)
                return -1;
        int r = volume_remove_with(s, plan, name, false, err);
        store_ns_plan_free(plan);
        return r;
}
