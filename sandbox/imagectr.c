#include "config.h"

#include "sandbox/imagectr.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fs/nsexec.h"
#include "fs/registry.h"
#include "fs/vfs.h"
#include "fs/volume.h"
#include "sandbox/info.h"
#include "util/fsutil.h"
#include "util/log.h"

static void cleanup_jsonp(json_t **j)
{
        json_decref(*j);
}
#define cleanup_json __attribute__((cleanup(cleanup_jsonp)))

/* A NULL-terminated copy of a JSON array of strings appended to OUT (of *n entries). */
static int strv_append_json(char ***out, size_t *n, json_t *arr, const char *what, struct burrow_error **err)
{
        size_t i;
        json_t *v;
        json_array_foreach(arr, i, v)
        {
                if (!json_is_string(v))
                        return burrow_error_set(err, 0, "the image's %s holds something that is not a string", what);
                char **bigger = realloc(*out, (*n + 2) * sizeof(char *));
                if (bigger == NULL)
                        return burrow_error_set(err, ENOMEM, "%s", what);
                *out = bigger;
                if ((bigger[*n] = strdup(json_string_value(v))) == NULL)
                        return burrow_error_set(err, ENOMEM, "%s", what);
                bigger[++*n] = NULL;
        }
        return 0;
}

static int strv_append(char ***out, size_t *n, char *const *src, struct burrow_error **err)
{
        for (; src && *src; src++) {
                char **bigger = realloc(*out, (*n + 2) * sizeof(char *));
                if (bigger == NULL)
                        return burrow_error_set(err, ENOMEM, "command");
                *out = bigger;
                if ((bigger[*n] = strdup(*src)) == NULL)
                        return burrow_error_set(err, ENOMEM, "command");
                bigger[++*n] = NULL;
        }
        return 0;
}

static json_t *strv_to_json(char *const *v)
{
        json_t *a = json_array();
        for (; v && *v; v++)
                json_array_append_new(a, json_string(*v));
        return a;
}

const char *storage_driver_name(enum storage_driver d)
{
        return d == DRIVER_OVERLAY ? "overlay" : d == DRIVER_FUSE_OVERLAYFS ? "fuse-overlayfs" : "vfs";
}

int storage_driver_parse(const char *text, enum storage_driver *out, struct burrow_error **err)
{
        if (text == NULL || strcmp(text, "overlay") == 0)
                *out = DRIVER_OVERLAY;
        else if (strcmp(text, "fuse-overlayfs") == 0)
                *out = DRIVER_FUSE_OVERLAYFS;
        else if (strcmp(text, "vfs") == 0)
                *out = DRIVER_VFS;
        else
                return burrow_error_set(err, 0, "--storage-driver is overlay, fuse-overlayfs or vfs, not `%s`", text);
        return 0;
}

/* The store's driver, probed once and kept in store.json: kernel overlay where a user namespace
 * may mount it, else fuse-overlayfs. */
static int default_driver(struct store *s, enum storage_driver *out, struct burrow_error **err)
{
        cleanup_json json_t *meta = store_meta_read(s, err);
        if (meta == NULL)
                return -1;
        const char *known = json_string_value(json_object_get(meta, "driver"));
        if (known)
                return storage_driver_parse(known, out, err);
        const char *pick;
        cleanup_free char *fuse = find_in_path("fuse-overlayfs", getenv("PATH") ? getenv("PATH") : BURROW_DEFAULT_PATH);
        if (burrow_kernel_overlay_in_userns())
                pick = "overlay";
        else if (fuse && access("/dev/fuse", R_OK | W_OK) == 0)
                pick = "fuse-overlayfs";
        else
                pick = "vfs";
        if (strcmp(pick, "vfs") == 0)
                burrow_warn("the store `%s` uses the vfs storage driver: every container is a full copy of its image (slow to "
                            "make, and as big as the image). Kernel overlayfs in a user namespace needs Linux >= 5.11; "
                            "fuse-overlayfs needs the program and a usable /dev/fuse (see `burrow info`)",
                            s->root);
        else
                burrow_info("the store `%s` uses the %s storage driver", s->root, pick);
        json_object_set_new(meta, "driver", json_string(pick));
        cleanup_close int lock = store_lock(s, err);
        if (lock < 0 || store_write_json_at(s->fd, "store.json", meta, err) < 0)
                return -1;
        return storage_driver_parse(pick, out, err);
}

struct finish_req {
        int exit_code;
        int remove;
};
struct finish_rep {
        int ok;
        char msg[1024];
};

/* Remove the container: out of sight now, its files by a process of their own (the caller need
 * not wait for them; the op directory they wait in is swept if that process dies). That process
 * also drops the last reference to the container's namespaces (HOLD), once the caller is gone. */
static int remove_soon(struct store *s, struct store_ns_plan *plan, const char *id, const int *hold, size_t n_hold,
                       int *released, struct burrow_error **err)
{
        struct container_removal rm;
        if (container_remove_begin(s, plan, id, true, &rm, err) < 0)
                return -1;
        fflush(NULL);
        /* EOF on it: the caller has closed its copies of HOLD (*RELEASED) */
        int caller_gone[2] = { -1, -1 };
        if (n_hold > 0 && pipe2(caller_gone, O_CLOEXEC) < 0)
                caller_gone[0] = caller_gone[1] = -1;
        pid_t pid = fork();
        if (pid == 0) {
                /* no terminal or pipe of the caller's: `$(burrow run --rm ...)` must not wait */
                int null = open("/dev/null", O_RDWR | O_CLOEXEC);
                if (null >= 0) {
                        dup2(null, STDIN_FILENO);
                        dup2(null, STDOUT_FILENO);
                        dup2(null, STDERR_FILENO);
                }
                if (caller_gone[0] >= 0) {
                        char c;
                        close(caller_gone[1]);
                        while (read(caller_gone[0], &c, 1) < 0 && errno == EINTR)
                                ;
                }
                /* the mounts go before the files under them */
                for (size_t i = 0; i < n_hold; i++)
                        if (hold[i] >= 0)
                                close(hold[i]);
                struct burrow_error *e = NULL;
                if (container_remove_end(s, plan, &rm, &e) < 0)
                        burrow_error_free(e);
                _exit(0);
        }
        if (caller_gone[0] >= 0)
                close(caller_gone[0]);
        if (pid < 0) { /* then here and now */
                if (caller_gone[1] >= 0)
                        close(caller_gone[1]);
                return container_remove_end(s, plan, &rm, err);
        }
        *released = caller_gone[1];
        /* ours to forget: the op directory's lock is the child's now */
        store_op_forget(&rm.op);
        close(rm.running);
        json_decref(rm.anonymous);
        return 0;
}

static int finish_here(struct image_ctr *ic, const struct finish_req *req, struct burrow_error **err)
{
        if (req->remove)
                return remove_soon(ic->store, ic->ns_plan, ic->id, ic->ns_hold, ic->n_ns_hold, &ic->ns_released, err);
        return container_record_exit(ic->store, ic->id, req->exit_code, err);
}

/* Forked before burrow run joins any user namespace: does the container's last step on request,
 * and nothing if burrow goes away first (the state then reads "Exited (unknown)"). */
static _Noreturn void finisher_main(struct image_ctr *ic, int sock)
{
        if (ic->running_fd >= 0)
                close(ic->running_fd); /* the lock is burrow run's alone */
        /* never the caller's terminal or pipe: `$(burrow run -d ...)` must not wait for us */
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null >= 0) {
                dup2(null, STDIN_FILENO);
                dup2(null, STDOUT_FILENO);
                dup2(null, STDERR_FILENO);
                close(null);
        }
        /* the terminal's ^C is for the container; burrow run tells us when it is done */
        signal(SIGINT, SIG_IGN);
        signal(SIGQUIT, SIG_IGN);
        signal(SIGTERM, SIG_IGN);
        signal(SIGHUP, SIG_IGN);
        struct finish_req req;
        ssize_t n;
        do
                n = read(sock, &req, sizeof(req));
        while (n < 0 && errno == EINTR);
        if (n != (ssize_t)sizeof(req))
                _exit(0);
        struct burrow_error *err = NULL;
        struct finish_rep rep = { .ok = finish_here(ic, &req, &err) == 0 };
        snprintf(rep.msg, sizeof(rep.msg), "%s", err && err->msg ? err->msg : rep.ok ? "" : "failed");
        burrow_error_free(err);
        _exit(write(sock, &rep, sizeof(rep)) == (ssize_t)sizeof(rep) ? 0 : 1);
}

static int start_finisher(struct image_ctr *ic, struct burrow_error **err)
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
                finisher_main(ic, sv[1]);
        }
        close(sv[1]);
        ic->finisher = pid;
        ic->finisher_sock = sv[0];
        return 0;
}

/* The store, opened and checked against the caller's ID map; the plan to enter its namespace is
 * made here, before burrow run joins any namespace. */
static int open_store(const struct burrow_global *global, const struct store_ns *ns, struct image_ctr *ic,
                      struct burrow_error **err)
{
        memset(ic, 0, sizeof(*ic));
        ic->running_fd = -1;
        ic->fuse_pid = -1;
        ic->finisher = -1;
        ic->finisher_sock = -1;
        ic->ns_released = -1;
        burrow_run_config_init(&ic->stored);
        if ((ic->ns_plan = store_ns_plan_new(ns, err)) == NULL)
                return -1;
        cleanup_free char *root = global->root ? strdup(global->root) : store_default_root();
        if (root == NULL)
                return burrow_error_set(err, ENOMEM, "store path");
        if (store_open(root, &ic->store, err) < 0)
                return -1;
        /* the store's files must still be owned under the caller's map (refused, with what to
         * do, when a range went away) */
        return store_ns_plan_check(ic->ns_plan, ic->store, err);
}

/* docker checks bind sources when the container is made, not when it fails to start. */
static int check_bind_sources(const struct burrow_run_config *cfg, struct burrow_error **err)
{
        struct stat st;
        for (size_t i = 0; i < cfg->n_binds; i++)
                if (stat(cfg->binds[i].source, &st) < 0)
                        return burrow_error_set(err, errno, "-v %s:%s: the host path `%s` cannot be used (create it first)",
                                                cfg->binds[i].source, cfg->binds[i].dest, cfg->binds[i].source);
        return 0;
}

static bool mount_target_taken(const struct burrow_run_config *cfg, const char *dest)
{
        for (size_t i = 0; i < cfg->n_binds; i++)
                if (strcmp(cfg->binds[i].dest, dest) == 0)
                        return true;
        for (size_t i = 0; i < cfg->n_tmpfs; i++)
                if (strcmp(cfg->tmpfs[i].dest, dest) == 0)
                        return true;
        return false;
}

/* The container's own copy of its mounts (the caller's stay untouched): named volumes made
 * if missing, an anonymous one for --mount type=volume without a source and for each of the
 * image's Volumes no other mount covers, as docker does. */
static int own_mounts(struct burrow_run_config *eff, json_t *image_volumes, struct image_ctr *ic, struct burrow_error **err)
{
        size_t n = eff->n_binds + json_object_size(image_volumes);
        if (n == 0)
                return 0;
        if ((ic->binds = calloc(n, sizeof(*ic->binds))) == NULL)
                return burrow_error_set(err, ENOMEM, "volumes");
        for (size_t i = 0; i < eff->n_binds; i++) {
                const struct burrow_bind *from = &eff->binds[i];
                struct burrow_bind *b = &ic->binds[ic->n_binds++];
                *b = *from;
                b->source = from->source ? strdup(from->source) : NULL;
                b->dest = strdup(from->dest);
                b->volume = from->volume ? strdup(from->volume) : NULL;
                if (b->dest == NULL || (from->source && b->source == NULL) || (from->volume && b->volume == NULL))
                        return burrow_error_set(err, ENOMEM, "volumes");
        }
        const char *path;
        json_t *unused;
        json_object_foreach(image_volumes, path, unused)
        {
                cleanup_free char *dest = path_clean_absolute(path);
                if (dest == NULL || dest[0] != '/' || strcmp(dest, "/") == 0)
                        continue; /* docker refuses such an image; ignoring the entry loses nothing */
                struct burrow_run_config now = *eff;
                now.binds = ic->binds;
                now.n_binds = ic->n_binds;
                if (mount_target_taken(&now, dest))
                        continue;
                struct burrow_bind *b = &ic->binds[ic->n_binds++];
                memset(b, 0, sizeof(*b));
                b->dest = steal_pointer(&dest);
                b->anonymous = true;
        }
        for (size_t i = 0; i < ic->n_binds; i++) {
                struct burrow_bind *b = &ic->binds[i];
                if (!b->volume && !b->anonymous)
                        continue;
                char name[VOLUME_NAME_MAX + 1];
                if (volume_create(ic->store, b->volume, b->anonymous, name, NULL, err) < 0)
                        return -1;
                if (b->volume == NULL && (b->volume = strdup(name)) == NULL)
                        return burrow_error_set(err, ENOMEM, "volumes");
                free(b->source);
                if ((b->source = volume_data_path(ic->store, name, err)) == NULL)
                        return -1;
        }
        eff->binds = ic->binds;
        eff->n_binds = ic->n_binds;
        return 0;
}

/* A new container for eff->image: the image's config applied to EFF, the result recorded. */
static int make_container(const struct store_ns *ns, struct burrow_run_config *eff, struct image_ctr *ic,
                          struct burrow_error **err)
{
        if (eff->storage_driver) {
                if (storage_driver_parse(eff->storage_driver, &ic->driver, err) < 0)
                        return -1;
        } else if (default_driver(ic->store, &ic->driver, err) < 0) {
                return -1;
        }
        char image_id[DIGEST_STR_LEN + 1];
        struct burrow_error *missing = NULL;
        bool have = eff->pull != PULL_ALWAYS && store_resolve(ic->store, eff->image, image_id, &missing) == 0;
        if (!have && eff->pull == PULL_NEVER) {
                *err = missing;
                return burrow_error_hint(err, "pull it first: burrow pull %s (or leave out --pull=never)", eff->image);
        }
        burrow_error_free(missing);
        if (!have) {
                /* docker run's way: fetch what is missing, then run it */
                cleanup_free char *config_dir = config_dir_default();
                struct pull_options po = { .tls_verify = -1, .config_dir = config_dir };
                cleanup_free char *printed = NULL;
                size_t printed_len = 0;
                FILE *sink = open_memstream(&printed, &printed_len);
                if (sink == NULL)
                        return burrow_error_set(err, errno, "open_memstream");
                int r = image_pull(ic->store, ns, eff->image, &po, sink, err);
                fclose(sink);
                if (r < 0)
                        return burrow_error_wrap(err, "image `%s` is not in the store, and pulling it failed", eff->image);
                if (store_resolve(ic->store, eff->image, image_id, err) < 0)
                        return -1;
        }
        cleanup_json json_t *rec = store_image_read(ic->store, image_id, err);
        if (rec == NULL)
                return -1;
        const char *config_digest = json_string_value(json_object_get(rec, "config"));
        cleanup_free char *config_text = NULL;
        size_t config_len = 0;
        if (config_digest == NULL || store_blob_read_trusted(ic->store, config_digest, &config_text, &config_len, err) < 0)
                return err && *err ? -1 : burrow_error_set(err, 0, "image %s has no config", image_id);
        json_error_t je;
        cleanup_json json_t *image_config = json_loadb(config_text, config_len, 0, &je);
        if (image_config == NULL || !json_is_object(image_config))
                return burrow_error_set(err, 0, "the config of image `%s` (%s) is not a JSON object (line %d: %s); pull or load "
                                                "the image again",
                                        eff->image, image_id, je.line, image_config ? "not an object" : je.text);
        json_t *c = json_object_get(image_config, "config");
        if (c && !json_is_object(c) && !json_is_null(c))
                return burrow_error_set(err, 0, "the config of image `%s` (%s) has a \"config\" that is not an object; pull "
                                                "or load the image again",
                                        eff->image, image_id);

        /* argv: the entrypoint, then the command given or the image's Cmd (docker's rules:
         * --entrypoint also drops the image's Cmd). */
        size_t n = 0;
        cleanup_json json_t *ep_json = json_array(), *cmd_json = json_array();
        if (eff->has_entrypoint) {
                if (eff->entrypoint[0])
                        json_array_append_new(ep_json, json_string(eff->entrypoint));
        } else if (json_is_array(json_object_get(c, "Entrypoint"))) {
                json_array_extend(ep_json, json_object_get(c, "Entrypoint"));
        }
        if (eff->argv && eff->argv[0]) {
                json_decref(cmd_json);
                cmd_json = strv_to_json(eff->argv);
        } else if (!eff->has_entrypoint && json_is_array(json_object_get(c, "Cmd"))) {
                json_array_extend(cmd_json, json_object_get(c, "Cmd"));
        }
        if (eff->has_entrypoint) {
                if (eff->entrypoint[0]) {
                        char *one[] = { eff->entrypoint, NULL };
                        if (strv_append(&ic->argv, &n, one, err) < 0)
                                return -1;
                }
        } else if (strv_append_json(&ic->argv, &n, json_object_get(c, "Entrypoint"), "Entrypoint", err) < 0) {
                return -1;
        }
        if (eff->argv && eff->argv[0]) {
                if (strv_append(&ic->argv, &n, eff->argv, err) < 0)
                        return -1;
        } else if (!eff->has_entrypoint && strv_append_json(&ic->argv, &n, json_object_get(c, "Cmd"), "Cmd", err) < 0) {
                return -1;
        }
        if (n == 0)
                return burrow_error_set(err, 0, "image `%s` has no Entrypoint or Cmd: give a command (burrow run %s CMD)",
                                        eff->image, eff->image);
        /* Env: the image's, then -e (later entries win). */
        size_t ne = 0;
        if (strv_append_json(&ic->env, &ne, json_object_get(c, "Env"), "Env", err) < 0)
                return -1;
        for (size_t i = 0; i < eff->n_env; i++) {
                char *one[] = { eff->env[i], NULL };
                if (strv_append(&ic->env, &ne, one, err) < 0)
                        return -1;
        }
        const char *wd = json_string_value(json_object_get(c, "WorkingDir"));
        if (eff->workdir == NULL && wd && wd[0] == '/' && (ic->workdir = strdup(wd)) == NULL)
                return burrow_error_set(err, ENOMEM, "workdir");
        const char *user = json_string_value(json_object_get(c, "User"));
        if (!eff->has_user && eff->user_name == NULL && user && *user) {
                struct burrow_error *numeric = NULL;
                if (burrow_user_parse(user, &eff->uid, &eff->gid, &eff->has_gid, &numeric) == 0)
                        eff->has_user = true;
                else if ((ic->user_name = strdup(user)) == NULL)
                        return burrow_error_set(err, ENOMEM, "user");
                burrow_error_free(numeric);
        }
        eff->argv = ic->argv;
        eff->env = ic->env;
        eff->n_env = ne;
        if (ic->workdir)
                eff->workdir = ic->workdir;
        if (ic->user_name)
                eff->user_name = ic->user_name;
        if (own_mounts(eff, json_object_get(c, "Volumes"), ic, err) < 0 || check_bind_sources(eff, err) < 0)
                return -1;

        json_t *layers = json_array();
        cleanup_json json_t *layers_owner = layers;
        size_t i;
        json_t *l;
        json_array_foreach(json_object_get(rec, "layers"), i, l)
                json_array_append(layers, json_object_get(l, "diff_id"));
        const char *stop_signal = json_string_value(json_object_get(c, "StopSignal"));
        cleanup_json json_t *record = json_pack("{s:o, s:s, s:s, s:O, s:o}", "argv", strv_to_json(ic->argv), "image_name",
                                                eff->image, "driver", storage_driver_name(ic->driver),
                                                "layers", layers, "run", burrow_run_config_to_json(eff));
        if (record == NULL)
                return burrow_error_set(err, ENOMEM, "container record");
        /* for commit: the new image keeps the container's Entrypoint and Cmd apart */
        json_object_set(record, "entrypoint", ep_json);
        json_object_set(record, "cmd", cmd_json);
        if (json_is_object(json_object_get(c, "ExposedPorts"))) /* recorded, for inspect (and -P, with networking) */
                json_object_set(record, "exposed_ports", json_object_get(c, "ExposedPorts"));
        if (stop_signal && *stop_signal) /* for `burrow stop` */
                json_object_set_new(record, "stop_signal", json_string(stop_signal));
        if (container_create(ic->store, image_id, eff->name, record, ic->id, err) < 0)
                return -1;
        ic->created = true;
        ic->layers = json_incref(layers);
        if (ic->driver == DRIVER_VFS && vfs_populate(ic->store, ic->ns_plan, ic->id, layers, err) < 0)
                return -1;
        return 0;
}

/* An existing container (`burrow start`): its stored config replaces EFF but for the choices
 * made now (-a, -i, -d). */
static int load_container(struct burrow_run_config *eff, struct image_ctr *ic, struct burrow_error **err)
{
        if (container_resolve(ic->store, eff->container, ic->id, err) < 0)
                return -1;
        cleanup_json json_t *config = container_config(ic->store, ic->id, err);
        if (config == NULL)
                return -1;
        if (storage_driver_parse(json_string_value(json_object_get(config, "driver")), &ic->driver, err) < 0 ||
            burrow_run_config_from_json(json_object_get(config, "run"), &ic->stored, err) < 0)
                return burrow_error_wrap(err, "container %.12s", ic->id);
        if (!json_is_array(json_object_get(config, "layers")))
                return burrow_error_set(err, 0, "container %.12s: its config.json lists no layers; remove it (burrow rm %s)", ic->id,
                                        eff->container);
        ic->layers = json_incref(json_object_get(config, "layers"));
        struct burrow_run_config now = *eff;
        *eff = ic->stored;
        eff->container = now.container;
        eff->detach = now.detach;
        eff->ready_fd = now.ready_fd;
        /* stdin only when made with -i and attached with -i; a terminal only when attached */
        eff->interactive = ic->stored.interactive && now.interactive;
        eff->tty = ic->stored.tty; /* detached, the terminal is there for burrow attach */
        ic->created = true;
        ic->existing = true;
        return 0;
}

/* Lock it as running, hand the exit to the finisher, work out the overlay's options. */
static int ready_to_run(struct image_ctr *ic, enum userns_mode eff_userns, bool remove, struct burrow_error **err)
{
        cleanup_free char *opts = NULL;
        if (ic->driver != DRIVER_VFS && container_overlay_options(ic->store, ic->layers, ic->id, false, &opts, err) < 0)
                return -1;
        /* userxattr: the opaque marks are user.overlay.opaque (trusted.* is root's). volatile
         * (Linux 5.10, older than userxattr): no syncs of the upper layer, none at unmount
         * either, for a layer --rm throws away; a crash leaves it unmountable, and it goes. */
        if (asprintf(&ic->overlay_opts, "%s,userxattr%s", opts ? opts : "", remove ? ",volatile" : "") < 0) {
                ic->overlay_opts = NULL;
                return burrow_error_set(err, ENOMEM, "overlay options");
        }
        if ((ic->running_fd = container_lock_running(ic->store, ic->id, err)) < 0)
                return -1;
        /* burrow run ends in a user namespace other than the store's only with keep-id (a
         * sibling of it) and with fuse-overlayfs (burrow's own, for a single-ID map): then a
         * process forked now does the last step. Otherwise burrow run does it itself. */
        if ((eff_userns == USERNS_KEEP_ID || ic->driver == DRIVER_FUSE_OVERLAYFS) && start_finisher(ic, err) < 0)
                return -1;
        char real[PATH_MAX];
        if (realpath(ic->store->root, real) == NULL)
                return burrow_error_set(err, errno, "resolving the store `%s`", ic->store->root);
        if ((size_t)snprintf(ic->merged, sizeof(ic->merged), "%.3900s/containers/%s/merged", real, ic->id) >= sizeof(ic->merged) ||
            strlen(real) > 3900)
                return burrow_error_set(err, ENAMETOOLONG, "the store path `%s`", real);
        snprintf(ic->store_path, sizeof(ic->store_path), "%s", real);
        return 0;
}

int image_ctr_prepare(const struct burrow_global *global, const char *runroot, struct burrow_run_config *eff,
                      struct image_ctr *ic, struct burrow_error **err)
{
        struct store_ns ns = { .runroot = runroot, .use_holder = !global->no_userns_holder };
        if (open_store(global, &ns, ic, err) < 0)
                return -1;
        if (eff->container ? load_container(eff, ic, err) : make_container(&ns, eff, ic, err))
                return -1;
        if (ready_to_run(ic, eff->userns, eff->remove, err) < 0) {
                if (ic->existing && ic->running_fd < 0) /* running already, or not ours to touch */
                        ic->finished = true;
                return -1;
        }
        return 0;
}

int image_ctr_create(const struct burrow_global *global, const char *runroot, const struct burrow_run_config *eff,
                     char id[CONTAINER_ID_LEN + 1], struct burrow_error **err)
{
        struct store_ns ns = { .runroot = runroot, .use_holder = !global->no_userns_holder };
        struct image_ctr ic;
        /* make_container points the copy at strings the image_ctr owns */
        struct burrow_run_config copy = *eff;
        int r = open_store(global, &ns, &ic, err);
        if (r == 0)
                r = make_container(&ns, &copy, &ic, err);
        if (r == 0) {
                memcpy(id, ic.id, CONTAINER_ID_LEN + 1);
                ic.finished = true; /* kept, not started */
        }
        image_ctr_free(&ic);
        return r;
}

int image_ctr_mount(const struct image_ctr *ic, struct burrow_error **err)
{
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return burrow_error_set(err, errno, "making the mount tree private");
        /* Relative paths: the options stay within one page however many layers there are. By
         * path, not by the store's descriptor: that one still points into the parent's mount
         * namespace, where overlay refuses to take its upper directory from. */
        if (chdir(ic->store_path) < 0)
                return burrow_error_set(err, errno, "entering the store `%s`", ic->store_path);
        char target[128];
        snprintf(target, sizeof(target), "containers/%s/merged", ic->id);
        if (mount("overlay", target, "overlay", 0, ic->overlay_opts) < 0) {
                int e = errno;
                return burrow_error_set(err, e, "mounting the container's root filesystem with kernel overlayfs in `%s/%s`%s",
                                        ic->store->root, target,
                                        e == EINVAL || e == EPERM ? " (a user namespace needs Linux >= 5.11 for overlayfs; see "
                                                                    "`burrow info`)"
                                                                  : "");
        }
        if (chdir("/") < 0)
                return burrow_error_set(err, errno, "chdir /");
        return 0;
}

int image_ctr_finish(struct image_ctr *ic, bool remove, int exit_code, struct burrow_error **err)
{
        if (!ic->created || ic->finished)
                return 0;
        ic->finished = true;
        struct finish_req req = { .exit_code = exit_code, .remove = remove };
        /* removal takes the running lock itself; the exit is recorded while it is still held,
         * since `rm -f` waits for that lock */
        if (remove && ic->running_fd >= 0) {
                close(ic->running_fd);
                ic->running_fd = -1;
        }
        int r;
        if (ic->finisher_sock < 0) {
                r = finish_here(ic, &req, err);
        } else {
                struct finish_rep rep = { 0 };
                if (write(ic->finisher_sock, &req, sizeof(req)) != (ssize_t)sizeof(req) ||
                    read(ic->finisher_sock, &rep, sizeof(rep)) != (ssize_t)sizeof(rep))
                        r = burrow_error_set(err, errno, "the helper that finishes container %.12s is gone", ic->id);
                else
                        r = rep.ok ? 0 : burrow_error_set(err, 0, "%s", rep.msg);
                close(ic->finisher_sock);
                ic->finisher_sock = -1;
                waitpid(ic->finisher, NULL, 0);
                ic->finisher = -1;
        }
        if (ic->running_fd >= 0) {
                close(ic->running_fd);
                ic->running_fd = -1;
        }
        return r;
}

bool image_ctr_removes_here(const struct image_ctr *ic)
{
        return ic->finisher_sock < 0;
}

void image_ctr_ns_released(struct image_ctr *ic)
{
        if (ic->ns_released >= 0)
                close(ic->ns_released);
        ic->ns_released = -1;
        ic->ns_hold = NULL;
        ic->n_ns_hold = 0;
}

void image_ctr_free(struct image_ctr *ic)
{
        image_ctr_ns_released(ic);
        image_ctr_fuse_stop(ic);
        if (ic->created && !ic->finished) {
                /* one made now goes; one started again stays, with the failure as its exit */
                struct burrow_error *err = NULL;
                if (image_ctr_finish(ic, !ic->existing, BURROW_EXIT_FAILURE, &err) < 0) {
                        burrow_warn("%s the container %.12s that did not start: %s", ic->existing ? "recording" : "removing",
                                    ic->id, err->msg);
                        burrow_error_free(err);
                }
        }
        json_decref(ic->layers);
        if (ic->finisher_sock >= 0)
                close(ic->finisher_sock); /* EOF: the helper exits */
        if (ic->finisher > 0)
                waitpid(ic->finisher, NULL, 0);
        if (ic->running_fd >= 0)
                close(ic->running_fd);
        store_ns_plan_free(ic->ns_plan);
        store_free(ic->store);
        free(ic->overlay_opts);
        for (char **a = ic->argv; a && *a; a++)
                free(*a);
        free(ic->argv);
        for (char **e = ic->env; e && *e; e++)
                free(*e);
        free(ic->env);
        free(ic->workdir);
        free(ic->user_name);
        burrow_run_config_free(&ic->stored);
        for (size_t i = 0; i < ic->n_binds; i++)
                burrow_bind_free(&ic->binds[i]);
        free(ic->binds);
        memset(ic, 0, sizeof(*ic));
        ic->running_fd = -1;
        ic->fuse_pid = -1;
        ic->finisher = -1;
        ic->finisher_sock = -1;
        ic->ns_released = -1;
}

static bool is_mounted(const char *dir, const char *parent)
{
        struct stat a, b;
        return stat(dir, &a) == 0 && stat(parent, &b) == 0 && a.st_dev != b.st_dev;
}

int image_ctr_fuse_start(struct image_ctr *ic, struct burrow_error **err)
{
        cleanup_free char *prog = find_in_path("fuse-overlayfs", getenv("PATH") ? getenv("PATH") : BURROW_DEFAULT_PATH);
        if (prog == NULL)
                return burrow_error_set(err, ENOENT, "--storage-driver=fuse-overlayfs: the fuse-overlayfs program is not on PATH "
                                                     "(as root: apt-get install fuse-overlayfs)");
        if (strpbrk(ic->store_path, ",:"))
                return burrow_error_set(err, 0, "fuse-overlayfs cannot take the store path `%s` (it has `,` or `:`); use "
                                                "another --root",
                                        ic->store_path);
        /* Absolute paths, topmost layer first; the length limit of kernel overlay does not apply. */
        size_t n = json_array_size(ic->layers);
        size_t cap = strlen(ic->store_path) * (n + 2) + n * 80 + 512;
        cleanup_free char *opts = malloc(cap);
        if (opts == NULL)
                return burrow_error_set(err, ENOMEM, "fuse-overlayfs options");
        size_t used = (size_t)snprintf(opts, cap, "lowerdir=");
        for (size_t i = n; i-- > 0;)
                used += (size_t)snprintf(opts + used, cap - used, "%s/layers/%s%s", ic->store_path,
                                         digest_hex(json_string_value(json_array_get(ic->layers, i))), i > 0 ? ":" : "");
        /* allow_other: the container's other users (-u 1000) may use the files too */
        snprintf(opts + used, cap - used, ",upperdir=%s/containers/%s/upper,workdir=%s/containers/%s/work,allow_other",
                 ic->store_path, ic->id, ic->store_path, ic->id);
        char log[PATH_MAX], parent[PATH_MAX];
        snprintf(log, sizeof(log), "%s/containers/%s/fuse-overlayfs.log", ic->store_path, ic->id);
        snprintf(parent, sizeof(parent), "%s/containers/%s", ic->store_path, ic->id);
        cleanup_close int logfd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (logfd < 0)
                return burrow_error_set(err, errno, "creating `%s`", log);
        pid_t me = getpid();
        pid_t pid = fork();
        if (pid < 0)
                return burrow_error_set(err, errno, "fork");
        if (pid == 0) {
                /* dies with burrow, so a kill -9 leaves no daemon holding the mount */
                prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
                if (getppid() != me)
                        _exit(1);
                int null = open("/dev/null", O_RDWR);
                if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(logfd, 2) < 0)
                        _exit(1);
                sigset_t none;
                sigemptyset(&none);
                sigprocmask(SIG_SETMASK, &none, NULL);
                char *argv[] = { "fuse-overlayfs", "-f", "-o", opts, ic->merged, NULL };
                execv(prog, argv);
                _exit(127);
        }
        ic->fuse_pid = pid;
        /* Ready when the merged directory is a mount of its own. */
        for (int i = 0; i < 5000; i++) {
                if (is_mounted(ic->merged, parent))
                        return 0;
                int status;
                if (waitpid(pid, &status, WNOHANG) == pid) {
                        ic->fuse_pid = -1;
                        cleanup_free char *text = NULL;
                        struct burrow_error *rerr = NULL;
                        read_file_at(AT_FDCWD, log, &text, NULL, &rerr);
                        burrow_error_free(rerr);
                        for (char *q = text; q && *q; q++)
                                if (*q == '\n')
                                        *q = q[1] ? ';' : '\0';
                        return burrow_error_set(err, 0, "fuse-overlayfs exited (%s %d) before mounting the container's root "
                                                        "filesystem: %s (is /dev/fuse usable? see `burrow info`)",
                                                WIFSIGNALED(status) ? "signal" : "status",
                                                WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status),
                                                text && *text ? text : "no message");
                }
                struct timespec ts = { 0, 1000000 };
                nanosleep(&ts, NULL);
        }
        return burrow_error_set(err, ETIMEDOUT, "fuse-overlayfs did not mount `%s` within 5 s", ic->merged);
}

void image_ctr_fuse_stop(struct image_ctr *ic)
{
        if (ic->fuse_pid <= 0)
                return;
        /* SIGTERM: fuse-overlayfs unmounts and exits; the detach covers a daemon that did not. */
        kill(ic->fuse_pid, SIGTERM);
        int status;
        for (int i = 0; i < 2000; i++) {
                if (waitpid(ic->fuse_pid, &status, WNOHANG) != 0)
                        break;
                struct timespec ts = { 0, 1000000 };
                nanosleep(&ts, NULL);
                if (i == 1999) {
                        kill(ic->fuse_pid, SIGKILL);
                        waitpid(ic->fuse_pid, &status, 0);
                }
        }
        ic->fuse_pid = -1;
        umount2(ic->merged, MNT_DETACH);
}

static bool all_digits(const char *s)
{
        if (*s == '\0')
                return false;
        for (; *s; s++)
                if (*s < '0' || *s > '9')
                        return false;
        return true;
}

bool home_in_root(uid_t uid, char *buf, size_t size)
{
        FILE *f = fopen("/etc/passwd", "re");
        if (f == NULL)
                return false;
        struct passwd *pw;
        bool found = false;
        while (!found && (pw = fgetpwent(f)) != NULL)
                if (pw->pw_uid == uid && pw->pw_dir && pw->pw_dir[0] == '/')
                        found = (size_t)snprintf(buf, size, "%s", pw->pw_dir) < size;
        fclose(f);
        return found;
}

int resolve_user_in_root(const char *spec, uid_t *uid, gid_t *gid, struct burrow_error **err)
{
        char user[256], group[256] = "";
        const char *colon = strchr(spec, ':');
        snprintf(user, sizeof(user), "%.*s", colon ? (int)(colon - spec) : (int)strlen(spec), spec);
        if (colon)
                snprintf(group, sizeof(group), "%s", colon + 1);
        bool found = false;
        *gid = 0;
        /* fgetpwent/fgetgrent read the container's files, never NSS of the host. */
        FILE *f = fopen("/etc/passwd", "re");
        if (f) {
                struct passwd *pw;
                while ((pw = fgetpwent(f)) != NULL) {
                        if (all_digits(user) ? pw->pw_uid == (uid_t)strtoul(user, NULL, 10) : strcmp(pw->pw_name, user) == 0) {
                                *uid = pw->pw_uid;
                                *gid = pw->pw_gid;
                                found = true;
                                break;
                        }
                }
                fclose(f);
        }
        if (!found && all_digits(user)) {
                *uid = (uid_t)strtoul(user, NULL, 10);
                found = true;
        }
        if (!found)
                return burrow_error_set(err, 0, "user `%s` is not in the container's /etc/passwd", user);
        if (group[0] == '\0')
                return 0;
        if (all_digits(group)) {
                *gid = (gid_t)strtoul(group, NULL, 10);
                return 0;
        }
        f = fopen("/etc/group", "re");
        if (f) {
                struct group *gr;
                while ((gr = fgetgrent(f)) != NULL) {
                        if (strcmp(gr->gr_name, group) == 0) {
                                *gid = gr->gr_gid;
                                fclose(f);
                                return 0;
                        }
                }
                fclose(f);
        }
        return burrow_error_set(err, 0, "group `%s` is not in the container's /etc/group", group);
}
