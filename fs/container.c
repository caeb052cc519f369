#include "config.h"

#include "fs/container.h"
#include "fs/volume.h"
#include "util/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/fsutil.h"
#include "util/log.h"

static void cleanup_jsonp(json_t **j)
{
        json_decref(*j);
}
#define cleanup_json __attribute__((cleanup(cleanup_jsonp)))

static bool valid_id(const char *s)
{
        if (strlen(s) != CONTAINER_ID_LEN)
                return false;
        for (; *s; s++)
                if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
                        return false;
        return true;
}

/* Docker's rule for names: [a-zA-Z0-9][a-zA-Z0-9_.-]*, and not something that reads as an ID. */
static int check_name(const char *name, struct burrow_error **err)
{
        bool ok = name[0] != '\0' && strlen(name) <= 128 &&
                  ((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= 'A' && name[0] <= 'Z') || (name[0] >= '0' && name[0] <= '9'));
        for (const char *p = name; ok && *p; p++)
                ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '.' ||
                     *p == '-';
        if (!ok)
                return burrow_error_set(err, 0, "container name `%s`: use letters, digits, `_`, `.` and `-`, starting with a "
                                                "letter or digit (at most 128)",
                                        name);
        return 0;
}

static json_t *read_json(struct store *s, const char *id, const char *file, struct burrow_error **err)
{
        char p[128];
        snprintf(p, sizeof(p), "containers/%s/%s", id, file);
        cleanup_free char *text = NULL;
        if (read_file_at(s->fd, p, &text, NULL, err) < 0)
                return NULL;
        json_error_t je;
        json_t *v = json_loads(text, 0, &je);
        if (v == NULL)
                burrow_error_set(err, 0, "`%s/%s` is not valid JSON (line %d: %s)", s->root, p, je.line, je.text);
        return v;
}

json_t *container_config(struct store *s, const char *id, struct burrow_error **err)
{
        return read_json(s, id, "config.json", err);
}

/* Every container ID in the store. */
static json_t *all_ids(struct store *s)
{
        json_t *ids = json_array();
        cleanup_close int fd = openat(s->fd, "containers", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        cleanup_closedir DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        if (d == NULL)
                return ids;
        fd = -1;
        struct dirent *de;
        while ((de = readdir(d)) != NULL)
                if (valid_id(de->d_name))
                        json_array_append_new(ids, json_string(de->d_name));
        return ids;
}

static bool name_taken(struct store *s, const char *name)
{
        cleanup_json json_t *ids = all_ids(s);
        size_t i;
        json_t *v;
        json_array_foreach(ids, i, v)
        {
                cleanup_json json_t *cfg = container_config(s, json_string_value(v), NULL);
                const char *n = json_string_value(json_object_get(cfg, "name"));
                if (n && strcmp(n, name) == 0)
                        return true;
        }
        return false;
}

/* adjective_noun, as docker names containers. */
static int generate_name(struct store *s, char *out, size_t size, struct burrow_error **err)
{
        static const char *const adjectives[] = { "agile", "bold",   "brave",  "calm",   "clever", "deep",  "eager",
                                                  "fond",  "gentle", "happy",  "keen",   "lucid",  "merry", "nimble",
                                                  "proud", "quiet",  "rapid",  "serene", "sharp",  "swift", "tidy",
                                                  "vivid", "warm",   "wise",   "zesty" };
        static const char *const animals[] = { "badger", "beaver", "vole",    "mole",   "rabbit", "fox",     "marmot",
                                               "otter",  "gopher", "hamster", "meerkat", "wombat", "prairie", "chipmunk",
                                               "ferret", "pika",   "shrew",   "weasel", "armadillo", "aardvark" };
        for (int attempt = 0; attempt < 64; attempt++) {
                unsigned char r[3];
                char hex[7];
                if (random_hex(hex, 3, err) < 0)
                        return -1;
                r[0] = (unsigned char)strtoul((char[]){ hex[0], hex[1], 0 }, NULL, 16);
                r[1] = (unsigned char)strtoul((char[]){ hex[2], hex[3], 0 }, NULL, 16);
                r[2] = (unsigned char)strtoul((char[]){ hex[4], hex[5], 0 }, NULL, 16);
                const char *a = adjectives[r[0] % (sizeof(adjectives) / sizeof(adjectives[0]))];
                const char *b = animals[r[1] % (sizeof(animals) / sizeof(animals[0]))];
                if (attempt < 32)
                        snprintf(out, size, "%s_%s", a, b);
                else
                        snprintf(out, size, "%s_%s_%u", a, b, (unsigned)r[2]);
                if (!name_taken(s, out))
                        return 0;
        }
        return burrow_error_set(err, EEXIST, "could not find a free container name; give one with --name");
}

int container_create(struct store *s, const char *image_id, const char *name, json_t *config,
                     char id[CONTAINER_ID_LEN + 1], struct burrow_error **err)
{
        if (name && check_name(name, err) < 0)
                return -1;
        if (mkdirat(s->fd, "containers", 0700) < 0 && errno != EEXIST)
                return burrow_error_set(err, errno, "creating `%s/containers`", s->root);
        if (random_hex(id, CONTAINER_ID_LEN / 2, err) < 0)
                return -1;
        /* Names are unique: checked and taken under the store lock. */
        cleanup_close int lock = store_lock(s, err);
        if (lock < 0)
                return -1;
        char generated[64];
        if (name && name_taken(s, name))
                return burrow_error_set(err, EEXIST, "the container name `%s` is already in use (see `burrow ps -a`; remove "
                                                     "that container with `burrow rm %s`, or choose another --name)",
                                        name, name);
        if (name == NULL) {
                if (generate_name(s, generated, sizeof(generated), err) < 0)
                        return -1;
                name = generated;
        }
        char created[48];
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm);
        json_object_set_new(config, "id", json_string(id));
        json_object_set_new(config, "name", json_string(name));
        json_object_set_new(config, "image", json_string(image_id));
        json_object_set_new(config, "created", json_string(created));

        struct store_op op;
        if (store_op_begin(s, "container", &op, err) < 0)
                return -1;
        int r = 0;
        /* the op directory (0700) becomes the container's */
        static const struct {
                const char *name;
                mode_t mode;
        } dirs[] = { { "upper", 0755 }, { "work", 0700 }, { "merged", 0755 } };
        /* the modes exactly (the merged root takes upper/'s), without a chmod each */
        mode_t saved_umask = umask(0);
        for (size_t i = 0; r == 0 && i < sizeof(dirs) / sizeof(dirs[0]); i++)
                if (mkdirat(op.fd, dirs[i].name, dirs[i].mode) < 0)
                        r = burrow_error_set(err, errno, "creating `%s/%s/%s`", s->root, op.name, dirs[i].name);
        umask(saved_umask);
        if (r == 0)
                r = store_write_state_json_at(op.fd, "config.json", config, err);
        char dest[128];
        snprintf(dest, sizeof(dest), "containers/%s", id);
        if (r == 0 && store_op_commit(s, &op, s->fd, dest, err) < 0)
                r = burrow_error_wrap(err, "storing container %s", id);
        store_op_end(s, &op);
        return r;
}

int container_resolve(struct store *s, const char *ref, char id[CONTAINER_ID_LEN + 1], struct burrow_error **err)
{
        cleanup_json json_t *ids = all_ids(s);
        size_t i, found = 0;
        json_t *v;
        json_array_foreach(ids, i, v)
        {
                cleanup_json json_t *cfg = container_config(s, json_string_value(v), NULL);
                const char *n = json_string_value(json_object_get(cfg, "name"));
                if (n && strcmp(n, ref) == 0) {
                        snprintf(id, CONTAINER_ID_LEN + 1, "%s", json_string_value(v));
                        return 0;
                }
        }
        size_t len = strlen(ref);
        if (len >= 3) {
                json_array_foreach(ids, i, v)
                {
                        if (strncmp(json_string_value(v), ref, len) == 0 && found++ == 0)
                                snprintf(id, CONTAINER_ID_LEN + 1, "%s", json_string_value(v));
                }
        }
        if (found == 1)
                return 0;
        if (found > 1)
                return burrow_error_set(err, 0, "container ID prefix `%s` is ambiguous (%zu containers); give more characters",
                                        ref, found);
        return burrow_error_set(err, 0, "no container `%s` in `%s` (see `burrow ps -a`)", ref, s->root);
}

int container_lock_running(struct store *s, const char *id, struct burrow_error **err)
{
        char p[128];
        snprintf(p, sizeof(p), "containers/%s/running", id);
        int fd = openat(s->fd, p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0)
                return burrow_error_set(err, errno, "opening `%s/%s`", s->root, p);
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                int e = errno;
                close(fd);
                if (e == EWOULDBLOCK)
                        return burrow_error_set(err, 0, "container %.12s is already running", id);
                return burrow_error_set(err, e, "locking `%s/%s`", s->root, p);
        }
        /* a PID an earlier run left there is not this run's */
        if (ftruncate(fd, 0) < 0) {
                int e = errno;
                close(fd);
                return burrow_error_set(err, e, "clearing `%s/%s`", s->root, p);
        }
        return fd;
}

bool container_is_running(struct store *s, const char *id)
{
        char p[128];
        snprintf(p, sizeof(p), "containers/%s/running", id);
        cleanup_close int fd = openat(s->fd, p, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return false;
        return flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
}

int container_record_start(int running_fd, pid_t pid, struct burrow_error **err)
{
        char text[96];
        int n = snprintf(text, sizeof(text), "{\"pid\": %d, \"started\": %lld}\n", (int)pid, (long long)time(NULL));
        if (ftruncate(running_fd, 0) < 0 || pwrite(running_fd, text, (size_t)n, 0) != n)
                return burrow_error_set(err, errno, "recording the container's PID");
        return 0;
}

json_t *container_state(struct store *s, const char *id)
{
        if (container_is_running(s, id)) {
                /* {"pid", "started"} in the lock file itself (empty until the PID is known) */
                json_t *r = read_json(s, id, "running", NULL);
                if (!json_is_object(r)) {
                        json_decref(r);
                        r = json_object();
                }
                json_object_set_new(r, "status", json_string("running"));
                return r;
        }
        /* A PID still in the lock file: that run never recorded its end (its burrow was killed,
         * the machine went down) and took the container along; how it ended is unknown. */
        cleanup_json json_t *last = read_json(s, id, "running", NULL);
        if (json_integer_value(json_object_get(last, "pid")) > 0)
                return json_pack("{s:s}", "status", "exited");
        return read_json(s, id, "state.json", NULL);
}

int container_record_exit(struct store *s, const char *id, int exit_code, struct burrow_error **err)
{
        char dir[128];
        snprintf(dir, sizeof(dir), "containers/%s", id);
        cleanup_close int fd = openat(s->fd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return burrow_error_set(err, errno, "opening `%s/%s`", s->root, dir);
        cleanup_json json_t *state = json_pack("{s:s, s:i, s:I}", "status", "exited", "exit_code", exit_code, "finished",
                                               (json_int_t)time(NULL));
        if (state == NULL)
                return burrow_error_set(err, ENOMEM, "state");
        if (store_write_state_json_at(fd, "state.json", state, err) < 0)
                return -1;
        /* the run ended as recorded: its PID goes (see container_state) */
        cleanup_close int running = openat(fd, "running", O_WRONLY | O_CLOEXEC);
        if (running >= 0 && ftruncate(running, 0) < 0)
                return burrow_error_set(err, errno, "clearing `%s/%s/running`", s->root, dir);
        return 0;
}

/* In the store's namespace: the files of a container already out of sight (subordinate IDs own
 * many of them). */
static int remove_tree_in_ns(void *arg, void *result, struct burrow_error **err)
{
        (void)result;
        struct container_removal *rm = arg;
        if (store_remove_tree(rm->store->fd, rm->op.name) < 0)
                return burrow_error_set(err, errno, "removing the files of container %.12s", rm->id);
        return 0;
}

int container_remove_begin(struct store *s, struct store_ns_plan *plan, const char *id, bool volumes,
                           struct container_removal *rm, struct burrow_error **err)
{
        memset(rm, 0, sizeof(*rm));
        rm->running = -1;
        rm->op.fd = -1;
        snprintf(rm->id, sizeof(rm->id), "%s", id);
        cleanup_json json_t *anonymous = json_array();
        if ((rm->running = container_lock_running(s, id, err)) < 0)
                return burrow_error_wrap(err, "cannot remove it; stop it first");
        if (store_ns_plan_check(plan, s, err) < 0)
                goto fail;
        /* its anonymous volumes, named before the config goes */
        rm->anonymous = json_array();
        if (volumes) {
                cleanup_json json_t *cfg = container_config(s, id, NULL);
                size_t i;
                json_t *b;
                json_array_foreach(json_object_get(json_object_get(cfg, "run"), "binds"), i, b)
                        if (json_is_true(json_object_get(b, "anonymous")) && json_is_string(json_object_get(b, "volume")))
                                json_array_append(anonymous, json_object_get(b, "volume"));
        }
        /* out of sight in one rename (the directory is the caller's, whatever owns its files) */
        char dir[128];
        snprintf(dir, sizeof(dir), "containers/%s", id);
        if (store_op_adopt(s, "rm", s->fd, dir, &rm->op, err) < 0) {
                burrow_error_wrap(err, "removing container %.12s", id);
                goto fail;
        }
        /* the anonymous volumes too, into the container's op directory: gone from `volume ls` when
         * this returns, their files removed with the container's (--rm does that later, in the
         * background). One another container mounts by name stays. */
        size_t i;
        json_t *v;
        json_array_foreach(anonymous, i, v)
        {
                char dest[VOLUME_NAME_MAX + 16];
                snprintf(dest, sizeof(dest), "volume-%s", json_string_value(v));
                if (volume_take_out(s, json_string_value(v), rm->op.fd, dest) < 0) {
                        burrow_debug("volume %s: %s; removed after the container", json_string_value(v), strerror(errno));
                        json_array_append(rm->anonymous, v);
                }
        }
        rm->store = s;
        return 0;
fail:
        close(rm->running);
        rm->running = -1;
        json_decref(rm->anonymous);
        rm->anonymous = NULL;
        return -1;
}

int container_remove_end(struct store *s, struct store_ns_plan *plan, struct container_removal *rm, struct burrow_error **err)
{
        struct store_ns_worker w;
        int r = store_ns_start(plan, remove_tree_in_ns, rm, 0, NULL, 0, &w, err);
        if (r == 0)
                r = store_ns_finish(&w, NULL, err);
        /* a tree left half removed stays in its op directory, which the next sweep of tmp/ takes */
        store_op_end(s, &rm->op);
        size_t i;
        json_t *v;
        json_array_foreach(rm->anonymous, i, v)
        {
                struct burrow_error *verr = NULL;
                /* one another container mounts by name stays */
                if (volume_remove_with(s, plan, json_string_value(v), false, &verr) < 0) {
                        burrow_debug("keeping volume %s: %s", json_string_value(v), verr->msg);
                        burrow_error_free(verr);
                }
        }
        json_decref(rm->anonymous);
        rm->anonymous = NULL;
        close(rm->running);
        rm->running = -1;
        return r;
}

int container_remove_with(struct store *s, struct store_ns_plan *plan, const char *id, bool volumes, struct burrow_error **err)
{
        struct container_removal rm;
        if (container_remove_begin(s, plan, id, volumes, &rm, err) < 0)
                return -1;
        return container_remove_end(s, plan, &rm, err);
}

int container_remove(struct store *s, const struct store_ns *ns, const char *id, bool volumes, struct burrow_error **err)
{
        struct store_ns_plan *plan = store_ns_plan_new(ns, err);
        if (plan == NULL)
                return -1;
        int r = container_remove_with(s, plan, id, volumes, err);
        store_ns_plan_free(plan);
        return r;
}

json_t *container_list(struct store *s, struct burrow_error **err)
{
        (void)err;
        cleanup_json json_t *ids = all_ids(s);
        json_t *out = json_array();
        size_t i;
        json_t *v;
        json_array_foreach(ids, i, v)
        {
                const char *id = json_string_value(v);
                json_t *cfg = container_config(s, id, NULL);
                if (cfg == NULL)
                        continue;
                cleanup_json json_t *state = container_state(s, id);
                bool running = json_is_object(state) && json_is_string(json_object_get(state, "status")) &&
                               strcmp(json_string_value(json_object_get(state, "status")), "running") == 0;
                json_object_set_new(cfg, "status", json_string(running ? "running" : state ? "exited" : "created"));
                if (running && json_is_integer(json_object_get(state, "started")))
                        json_object_set(cfg, "started", json_object_get(state, "started"));
                if (!running && state) {
                        /* "running" with nobody holding the lock: its burrow died (kill -9, a
                         * reboot) and took the container along; how it ended is unknown. */
                        json_t *code = json_object_get(state, "exit_code");
                        json_object_set(cfg, "exit_code", code ? code : json_null());
                        json_object_set(cfg, "finished", json_object_get(state, "finished"));
                }
                json_array_append_new(out, cfg);
        }
        store_sort_newest_first(out);
        return out;
}

json_t *container_users_of_image(struct store *s, const char *image_id)
{
        cleanup_json json_t *ids = all_ids(s);
        json_t *names = json_array();
        size_t i;
        json_t *v;
        json_array_foreach(ids, i, v)
        {
                cleanup_json json_t *cfg = container_config(s, json_string_value(v), NULL);
                const char *img = json_string_value(json_object_get(cfg, "image"));
                if (img && strcmp(img, image_id) == 0)
                        json_array_append(names, json_object_get(cfg, "name"));
        }
        return names;
}

int container_overlay_options(struct store *s, json_t *layers, const char *id, bool read_only, char **out,
                              struct burrow_error **err)
{
        if (mkdirat(s->fd, "l", 0700) < 0 && errno != EEXIST)
                return burrow_error_set(err, errno, "creating `%s/l`", s->root);
        size_t n = json_array_size(layers);
        if (n == 0)
                return burrow_error_set(err, 0, "the image has no layers");
        /* "lowerdir=" + n * "l/XXXXXXXXXXXX:" + upper/work */
        size_t cap = 64 + n * 16 + 2 * 96;
        cleanup_free char *opts = malloc(cap);
        if (opts == NULL)
                return burrow_error_set(err, ENOMEM, "overlay options");
        size_t used = (size_t)snprintf(opts, cap, "lowerdir=");
        if (read_only) /* the writable layer as the topmost read-only one */
                used += (size_t)snprintf(opts + used, cap - used, "containers/%s/upper:", id);
        for (size_t i = n; i-- > 0;) { /* topmost first */
                const char *diff_id = json_string_value(json_array_get(layers, i));
                if (diff_id == NULL || !digest_valid(diff_id))
                        return burrow_error_set(err, 0, "image layer %zu has no valid diffID", i + 1);
                if (!store_layer_exists(s, diff_id))
                        return burrow_error_set(err, 0, "layer %s of the image is missing from `%s`; pull or load the image "
                                                        "again",
                                                diff_id, s->root);
                char link[32], target[128], have[128];
                snprintf(link, sizeof(link), "l/%.12s", digest_hex(diff_id));
                snprintf(target, sizeof(target), "../layers/%s", digest_hex(diff_id));
                ssize_t len = readlinkat(s->fd, link, have, sizeof(have) - 1);
                if (len < 0 || (size_t)len != strlen(target) || memcmp(have, target, (size_t)len) != 0) {
                        /* missing, or (a 48-bit collision, or damage) wrong: make it right */
                        char tmp[48];
                        snprintf(tmp, sizeof(tmp), "%s.%d", link, (int)getpid());
                        unlinkat(s->fd, tmp, 0);
                        if (symlinkat(target, s->fd, tmp) < 0 || renameat(s->fd, tmp, s->fd, link) < 0)
                                return burrow_error_set(err, errno, "making the short link `%s/%s`", s->root, link);
                }
                used += (size_t)snprintf(opts + used, cap - used, "%s%s", link, i > 0 ? ":" : "");
        }
        if (!read_only)
                used += (size_t)snprintf(opts + used, cap - used, ",upperdir=containers/%s/upper,workdir=containers/%s/work", id,
                                         id);
        if (used >= cap)
                return burrow_error_set(err, 0, "overlay options too long");
        *out = steal_pointer(&opts);
        return 0;
}

int container_connect(struct store *s, const char *id, const char *socket_name)
{
        char dir[128];
        snprintf(dir, sizeof(dir), "containers/%s", id);
        cleanup_close int dfd = openat(s->fd, dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return -1;
        /* through /proc/self/fd: a long store path does not meet the 108 bytes of sun_path */
        struct sockaddr_un addr = { .sun_family = AF_UNIX };
        snprintf(addr.sun_path, sizeof(addr.sun_path), "/proc/self/fd/%d/%s", dfd, socket_name);
        int sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (sock < 0)
                return -1;
        if (connect(sock, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
                int e = errno;
                close(sock);
                errno = e;
                return -1;
        }
        return sock;
}
