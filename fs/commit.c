#include "config.h"

#include "fs/commit.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fs/container.h"
#include "fs/disktree.h"
#include "fs/image.h"
#include "fs/layer.h"
#include "fs/reference.h"
#include "fs/vfs.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/dl.h" /* last: calls to libarchive, libcurl, libcrypto go through it */

static void cleanup_jsonp(json_t **j)
{
        json_decref(*j);
}
#define cleanup_json __attribute__((cleanup(cleanup_jsonp)))





static int archive_fail(struct archive *a, const char *what, const char *path, struct burrow_error **err)
{
        return disktree_fail(a, what, path, NULL, err);
}

/* An empty regular file entry NAME (a whiteout or an opaque marker), like E's times. */
static int write_marker(struct archive *out, const char *name, struct archive_entry *like, struct burrow_error **err)
{
        struct archive_entry *m = archive_entry_new();
        if (m == NULL)
                return burrow_error_set(err, ENOMEM, "tar entry");
        archive_entry_set_pathname(m, name);
        archive_entry_set_filetype(m, AE_IFREG);
        archive_entry_set_perm(m, 0644);
        archive_entry_set_size(m, 0);
        archive_entry_set_mtime(m, archive_entry_mtime(like), 0);
        int r = archive_write_header(out, m);
        archive_entry_free(m);
        return r < ARCHIVE_OK ? archive_fail(out, "writing", name, err) : 0;
}

/* Write the tree under DIR (the process's cwd is changed) to OUT. DIFF: it is an overlay upper
 * layer, whose whiteouts (0:0 character devices) and opaque marks become the OCI forms. */
static int tar_tree(const char *dir, struct archive *out, bool diff, struct burrow_error **err)
{
        if (chdir(dir) < 0)
                return burrow_error_set(err, errno, "entering `%s`", dir);
        cleanup_archive struct archive *disk = disktree_open(".", dir, err);
        struct archive_entry_linkresolver *links = disk ? disktree_links(out, err) : NULL;
        if (links == NULL)
                return -1;
        int ret = 0;
        struct archive_entry *e;
        while ((ret = disktree_next(disk, &e, dir, err)) > 0) {
                ret = 0; /* an entry: what follows sets it on failure */
                const char *path = archive_entry_pathname(e);
                mode_t type = archive_entry_filetype(e);
                /* the root itself is not an entry; tar has no sockets, and a live one means
                 * nothing in an image */
                if (path == NULL || strcmp(path, ".") == 0 || type == AE_IFSOCK) {
                        archive_entry_free(e);
                        continue;
                }
                char name[PATH_MAX];
                snprintf(name, sizeof(name), "%s", strncmp(path, "./", 2) == 0 ? path + 2 : path);
                archive_entry_set_pathname(e, name);
                archive_entry_set_uname(e, NULL);
                archive_entry_set_gname(e, NULL);
                bool opaque = disktree_strip_overlay_xattrs(e);
                if (diff && type == AE_IFCHR && archive_entry_rdev(e) == 0) {
                        /* overlay's whiteout: the OCI form is an empty .wh.NAME beside it */
                        char wh[PATH_MAX + 16];
                        const char *slash = strrchr(name, '/');
                        if (slash)
                                snprintf(wh, sizeof(wh), "%.*s/.wh.%s", (int)(slash - name), name, slash + 1);
                        else
                                snprintf(wh, sizeof(wh), ".wh.%s", name);
                        ret = write_marker(out, wh, e, err);
                        archive_entry_free(e);
                        if (ret < 0)
                                break;
                        continue;
                }
                struct archive_entry *sparse = NULL;
                archive_entry_linkify(links, &e, &sparse);
                if (sparse)
                        archive_entry_free(sparse);
                if (e) {
                        if (archive_write_header(out, e) < ARCHIVE_OK)
                                ret = archive_fail(out, "writing", name, err);
                        else if (type == AE_IFREG && archive_entry_size(e) > 0)
                                ret = disktree_copy_data(disk, out, name, NULL, err);
                        archive_entry_free(e);
                        if (ret < 0)
                                break;
                }
                if (diff && opaque && type == AE_IFDIR) {
                        char marker[PATH_MAX + 16];
                        snprintf(marker, sizeof(marker), "%s/.wh..wh..opq", name);
                        struct archive_entry *like = archive_entry_new();
                        if (like == NULL) {
                                ret = burrow_error_set(err, ENOMEM, "tar entry");
                                break;
                        }
                        ret = write_marker(out, marker, like, err);
                        archive_entry_free(like);
                        if (ret < 0)
                                break;
                }
        }
        archive_entry_linkresolver_free(links);
        archive_read_close(disk);
        return ret < 0 ? -1 : 0;
}

static int tar_open(int fd, bool gzip, struct archive **out, struct burrow_error **err)
{
        struct archive *a = archive_write_new();
        if (a == NULL)
                return burrow_error_set(err, ENOMEM, "libarchive");
        /* level 1: a commit is written once and read once; speed beats a few percent */
        if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
            (gzip && (archive_write_add_filter_gzip(a) != ARCHIVE_OK ||
                      archive_write_set_filter_option(a, "gzip", "compression-level", "1") != ARCHIVE_OK ||
                      archive_write_set_filter_option(a, "gzip", "timestamp", NULL) != ARCHIVE_OK)) ||
            archive_write_open_fd(a, fd) != ARCHIVE_OK) {
                int r = archive_fail(a, "writing", "archive", err);
                archive_free(a);
                return r;
        }
        *out = a;
        return 0;
}

static int tar_close(struct archive *a, struct burrow_error **err)
{
        int r = archive_write_close(a) == ARCHIVE_OK ? 0 : archive_fail(a, "finishing", "archive", err);
        archive_free(a);
        return r;
}

struct tree_job {
        struct store *s;
        const char *id;
        int fd;
        bool fuse;        /* the container runs on fuse-overlayfs (its whiteouts may be .wh. files) */
        bool vfs;         /* the container is a copy (fs/vfs.h): no layers to assemble */
        bool writable;    /* mount its writable layer as the upper one (it must not be running) */
        json_t *layers;   /* diffIDs, bottom first */
        container_tree_fn fn;
        void *arg;
};

/* In the store's namespace: the upper layer as a gzip'ed layer tar. */
static int diff_worker(void *arg, void *result, struct burrow_error **err)
{
        (void)result;
        struct tree_job *job = arg;
        char dir[PATH_MAX];
        snprintf(dir, sizeof(dir), "/proc/self/fd/%d/containers/%s/upper", job->s->fd, job->id);
        struct archive *out;
        if (tar_open(job->fd, true, &out, err) < 0)
                return -1;
        if ((job->vfs ? vfs_diff(job->s, job->id, out, err) : tar_tree(dir, out, true, err)) < 0) {
                archive_free(out);
                return -1;
        }
        return tar_close(out, err);
}

static bool is_mount_point(const char *dir)
{
        struct stat a, b;
        char parent[PATH_MAX + 256];
        snprintf(parent, sizeof(parent), "%s/..", dir);
        return stat(dir, &a) == 0 && stat(parent, &b) == 0 && a.st_dev != b.st_dev;
}

/* In the store's namespace and a mount namespace of the worker's own: the container's layers
 * assembled on its merged directory (read-only: its writable layer is just the topmost lower
 * one), which becomes the worker's root; then the job's function. */
static int tree_worker(void *arg, void *result, struct burrow_error **err)
{
        (void)result;
        struct tree_job *job = arg;
        /* libarchive now: after the chroot below, dlopen would look for it in the container */
        if (dl_archive_load() < 0)
                return burrow_error_set(err, 0, "libarchive cannot be loaded");
        char store[PATH_MAX];
        snprintf(store, sizeof(store), "/proc/self/fd/%d", job->s->fd);
        char real[PATH_MAX];
        if (realpath(store, real) == NULL)
                return burrow_error_set(err, errno, "resolving the store `%s`", job->s->root);
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return burrow_error_set(err, errno, "making a mount namespace for the container's files");
        char merged[PATH_MAX + 128];
        snprintf(merged, sizeof(merged), "%s/containers/%s/merged", real, job->id);
        size_t n = json_array_size(job->layers);
        pid_t fuse = -1;
        if (job->vfs) {
                /* the copy is the tree: nothing to mount */
        } else if (!job->fuse) {
                cleanup_free char *opts = NULL;
                if (container_overlay_options(job->s, job->layers, job->id, !job->writable, &opts, err) < 0)
                        return -1;
                if (chdir(real) < 0)
                        return burrow_error_set(err, errno, "entering `%s`", real);
                char *full = NULL;
                if (asprintf(&full, "%s,userxattr", opts) < 0)
                        return burrow_error_set(err, ENOMEM, "overlay options");
                char target[128];
                snprintf(target, sizeof(target), "containers/%s/merged", job->id);
                int r = mount("overlay", target, "overlay", job->writable ? 0 : MS_RDONLY, full);
                free(full);
                if (r < 0)
                        return burrow_error_set(err, errno, "mounting the container's layers in `%s`", merged);
        } else {
                cleanup_free char *prog = find_in_path("fuse-overlayfs", getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
                if (prog == NULL)
                        return burrow_error_set(err, ENOENT, "the container uses fuse-overlayfs, which is not on PATH");
                size_t cap = strlen(real) * (n + 4) + n * 80 + 512;
                cleanup_free char *opts = malloc(cap);
                if (opts == NULL)
                        return burrow_error_set(err, ENOMEM, "fuse-overlayfs options");
                size_t used = (size_t)snprintf(opts, cap, "lowerdir=");
                if (!job->writable)
                        used += (size_t)snprintf(opts + used, cap - used, "%s/containers/%s/upper:", real, job->id);
                for (size_t i = n; i-- > 0;)
                        used += (size_t)snprintf(opts + used, cap - used, "%s/layers/%s%s", real,
                                                 digest_hex(json_string_value(json_array_get(job->layers, i))), i ? ":" : "");
                if (job->writable)
                        snprintf(opts + used, cap - used, ",upperdir=%s/containers/%s/upper,workdir=%s/containers/%s/work", real,
                                 job->id, real, job->id);
                pid_t me = getpid();
                fuse = fork();
                if (fuse < 0)
                        return burrow_error_set(err, errno, "fork");
                if (fuse == 0) {
                        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
                        if (getppid() != me)
                                _exit(1);
                        char *argv[] = { "fuse-overlayfs", "-f", "-o", opts, merged, NULL };
                        execv(prog, argv);
                        _exit(127);
                }
                int i;
                for (i = 0; i < 5000 && !is_mount_point(merged); i++) {
                        if (waitpid(fuse, NULL, WNOHANG) == fuse)
                                return burrow_error_set(err, 0, "fuse-overlayfs could not mount the container's layers");
                        struct timespec ts = { 0, 1000000 };
                        nanosleep(&ts, NULL);
                }
                if (i == 5000) {
                        kill(fuse, SIGKILL);
                        return burrow_error_set(err, ETIMEDOUT, "fuse-overlayfs did not mount `%s` within 5 s", merged);
                }
        }
        /* from here on "/" is the container's: its symlinks resolve inside it */
        int r = 0;
        if (chroot(merged) < 0 || chdir("/") < 0)
                r = burrow_error_set(err, errno, "entering `%s`", merged);
        if (r == 0)
                r = job->fn(job->arg, err);
        if (fuse > 0) {
                /* the mount goes with this namespace; the daemon writes its layer out first */
                umount2("/", MNT_DETACH);
                kill(fuse, SIGTERM);
                waitpid(fuse, NULL, 0);
        }
        return r;
}

int container_tree_run(struct store *s, const struct store_ns *ns, const char *id, bool writable, container_tree_fn fn,
                       void *arg, struct burrow_error **err)
{
        cleanup_json json_t *cfg = container_config(s, id, err);
        if (cfg == NULL)
                return -1;
        const char *driver = json_string_value(json_object_get(cfg, "driver"));
        struct tree_job job = { .s = s, .id = id, .fd = -1, .fuse = driver && strcmp(driver, "fuse-overlayfs") == 0,
                                .vfs = driver && strcmp(driver, "vfs") == 0, .writable = writable,
                                .layers = json_object_get(cfg, "layers"), .fn = fn, .arg = arg };
        if (!json_is_array(job.layers))
                return burrow_error_set(err, 0, "container %.12s lists no layers in its config.json", id);
        /* make the short links here: the worker's namespace may not write the store's l/ */
        cleanup_free char *unused = NULL;
        if (!job.fuse && !job.vfs && container_overlay_options(s, job.layers, id, !writable, &unused, err) < 0)
                return -1;
        /* a writable layer has one writer: it may not start meanwhile */
        cleanup_close int running = writable ? container_lock_running(s, id, err) : -1;
        if (writable && running < 0)
                return -1;
        return store_ns_run(s, ns, tree_worker, &job, NULL, 0, err);
}

struct export_job {
        int fd;
};

static int export_fn(void *arg, struct burrow_error **err)
{
        struct export_job *job = arg;
        struct archive *out;
        if (tar_open(job->fd, false, &out, err) < 0)
                return -1;
        if (tar_tree("/", out, false, err) < 0) {
                archive_free(out);
                return -1;
        }
        return tar_close(out, err);
}

int container_export(struct store *s, const struct store_ns *ns, const char *id, int fd, struct burrow_error **err)
{
        struct export_job job = { .fd = fd };
        return container_tree_run(s, ns, id, false, export_fn, &job, err);
}

/* OCI media types for a layer record (docker's names mapped over). */
static const char *oci_layer_media(const char *media)
{
        if (media == NULL || strstr(media, "gzip"))
                return "application/vnd.oci.image.layer.v1.tar+gzip";
        if (strstr(media, "zstd"))
                return "application/vnd.oci.image.layer.v1.tar+zstd";
        return "application/vnd.oci.image.layer.v1.tar";
}

/* The base config with the container's run applied, and the new layer in rootfs and history. */
static json_t *committed_config(json_t *base, json_t *ctr, const char *diff_id, const char *created,
                                const struct commit_options *opts, struct burrow_error **err)
{
        json_t *c = json_deep_copy(base);
        if (c == NULL || !json_is_object(c)) {
                json_decref(c);
                burrow_error_set(err, 0, "the container's image has a config that is not a JSON object");
                return NULL;
        }
        json_object_set_new(c, "created", json_string(created));
        if (opts->author)
                json_object_set_new(c, "author", json_string(opts->author));
        json_t *cc = json_object_get(c, "config");
        if (!json_is_object(cc))
                json_object_set_new(c, "config", cc = json_object());
        json_t *run = json_object_get(ctr, "run");
        /* Entrypoint and Cmd as the container had them (older records: all of argv as Cmd) */
        json_t *ep = json_object_get(ctr, "entrypoint"), *cmd = json_object_get(ctr, "cmd");
        if (json_is_array(ep) || json_is_array(cmd)) {
                json_object_set(cc, "Entrypoint", json_array_size(ep) ? ep : json_null());
                json_object_set(cc, "Cmd", json_array_size(cmd) ? cmd : json_null());
        } else if (json_is_array(json_object_get(run, "argv"))) {
                json_object_set(cc, "Cmd", json_object_get(run, "argv"));
                json_object_del(cc, "Entrypoint");
        }
        if (json_is_array(json_object_get(run, "env")))
                json_object_set(cc, "Env", json_object_get(run, "env"));
        if (json_is_string(json_object_get(run, "workdir")))
                json_object_set(cc, "WorkingDir", json_object_get(run, "workdir"));
        if (json_is_string(json_object_get(run, "user_name"))) {
                json_object_set(cc, "User", json_object_get(run, "user_name"));
        } else if (json_is_integer(json_object_get(run, "uid"))) {
                char user[48];
                if (json_is_integer(json_object_get(run, "gid")))
                        snprintf(user, sizeof(user), "%lld:%lld", (long long)json_integer_value(json_object_get(run, "uid")),
                                 (long long)json_integer_value(json_object_get(run, "gid")));
                else
                        snprintf(user, sizeof(user), "%lld", (long long)json_integer_value(json_object_get(run, "uid")));
                json_object_set_new(cc, "User", json_string(user));
        }
        json_t *rootfs = json_object_get(c, "rootfs");
        if (!json_is_object(rootfs))
                json_object_set_new(c, "rootfs", rootfs = json_pack("{s:s, s:[]}", "type", "layers", "diff_ids"));
        json_t *ids = json_object_get(rootfs, "diff_ids");
        if (!json_is_array(ids))
                json_object_set_new(rootfs, "diff_ids", ids = json_array());
        json_array_append_new(ids, json_string(diff_id));
        json_t *history = json_object_get(c, "history");
        if (!json_is_array(history))
                json_object_set_new(c, "history", history = json_array());
        char by[512] = "burrow commit";
        const char *name = json_string_value(json_object_get(ctr, "name"));
        if (name)
                snprintf(by, sizeof(by), "burrow commit %s", name);
        json_t *h = json_pack("{s:s, s:s}", "created", created, "created_by", by);
        if (opts->message)
                json_object_set_new(h, "comment", json_string(opts->message));
        if (opts->author)
                json_object_set_new(h, "author", json_string(opts->author));
        json_array_append_new(history, h);
        return c;
}

static int tmpfile_in_store(struct store *s, struct burrow_error **err)
{
        int fd = openat(s->fd, "tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
                return fd >= 0 ? fd : burrow_error_set(err, errno, "creating a temporary file in `%s/tmp`", s->root);
        char name[64];
        snprintf(name, sizeof(name), "tmp/commit.%d.%ld", (int)getpid(), (long)time(NULL));
        fd = openat(s->fd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0)
                return burrow_error_set(err, errno, "creating `%s/%s`", s->root, name);
        unlinkat(s->fd, name, 0);
        return fd;
}

int container_commit(struct store *s, const struct store_ns *ns, const char *id, const struct commit_options *opts,
                     char image_id[DIGEST_STR_LEN + 1], struct burrow_error **err)
{
        char full[1024] = "";
        if (opts->name) {
                struct image_ref ref;
                if (image_ref_parse(opts->name, "localhost", &ref, err) < 0)
                        return -1;
                if (ref.digest[0])
                        return burrow_error_set(err, 0, "`%s`: a committed image gets a name and a tag, not a digest", opts->name);
                image_ref_format(&ref, full, sizeof(full));
        }
        cleanup_json json_t *ctr = container_config(s, id, err);
        if (ctr == NULL)
                return -1;
        const char *base_id = json_string_value(json_object_get(ctr, "image"));
        cleanup_json json_t *rec = base_id ? store_image_read(s, base_id, err) : NULL;
        if (rec == NULL)
                return err && *err ? burrow_error_wrap(err, "the image of container %.12s", id)
                                   : burrow_error_set(err, 0, "container %.12s names no image", id);
        const char *base_config = json_string_value(json_object_get(rec, "config"));
        cleanup_free char *base_text = NULL;
        size_t base_len = 0;
        if (base_config == NULL || store_blob_read(s, base_config, &base_text, &base_len, err) < 0)
                return err && *err ? -1 : burrow_error_set(err, 0, "image %s has no config", base_id);
        json_error_t je;
        cleanup_json json_t *base = json_loadb(base_text, base_len, 0, &je);
        if (base == NULL)
                return burrow_error_set(err, 0, "the config of image %s is not valid JSON (line %d: %s)", base_id, je.line, je.text);

        cleanup_close int tmp = tmpfile_in_store(s, err);
        if (tmp < 0)
                return -1;
        const char *driver = json_string_value(json_object_get(ctr, "driver"));
        struct tree_job job = { .s = s, .id = id, .fd = tmp, .vfs = driver && strcmp(driver, "vfs") == 0 };
        if (store_ns_run(s, ns, diff_worker, &job, NULL, 0, err) < 0)
                return burrow_error_wrap(err, "writing the changes of container %.12s", id);
        if (lseek(tmp, 0, SEEK_SET) < 0)
                return burrow_error_set(err, errno, "lseek");
        struct layer_stats st;
        if (image_unpack_blob(s, ns, tmp, NULL, NULL, &st, err) < 0)
                return burrow_error_wrap(err, "storing the changes of container %.12s as a layer", id);

        char created[48];
        image_time_now(created, sizeof(created));
        cleanup_json json_t *config = committed_config(base, ctr, st.diff_id, created, opts, err);
        if (config == NULL)
                return -1;
        cleanup_free char *config_text = json_dumps(config, JSON_COMPACT | JSON_SORT_KEYS);
        char config_digest[DIGEST_STR_LEN + 1];
        if (config_text == NULL || store_blob_put(s, config_text, strlen(config_text), config_digest, err) < 0)
                return err && *err ? -1 : burrow_error_set(err, ENOMEM, "image config");

        cleanup_json json_t *layers = json_deep_copy(json_object_get(rec, "layers"));
        if (!json_is_array(layers))
                return burrow_error_set(err, 0, "image %s lists no layers", base_id);
        json_array_append_new(layers, json_pack("{s:s, s:s, s:I, s:s}", "diff_id", st.diff_id, "digest", st.blob_digest, "size",
                                                (json_int_t)st.blob_size, "media_type",
                                                "application/vnd.oci.image.layer.v1.tar+gzip"));
        json_t *mlayers = json_array();
        size_t i;
        json_t *l;
        json_array_foreach(layers, i, l)
                json_array_append_new(mlayers, json_pack("{s:s, s:O, s:O}", "mediaType",
                                                         oci_layer_media(json_string_value(json_object_get(l, "media_type"))),
                                                         "digest", json_object_get(l, "digest"), "size", json_object_get(l, "size")));
        cleanup_json json_t *manifest = json_pack("{s:i, s:s, s:{s:s, s:s, s:I}, s:o}", "schemaVersion", 2, "mediaType",
                                                  "application/vnd.oci.image.manifest.v1+json", "config", "mediaType",
                                                  "application/vnd.oci.image.config.v1+json", "digest", config_digest, "size",
                                                  (json_int_t)strlen(config_text), "layers", mlayers);
        cleanup_free char *manifest_text = manifest ? json_dumps(manifest, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        char manifest_digest[DIGEST_STR_LEN + 1];
        if (manifest_text == NULL || store_blob_put(s, manifest_text, strlen(manifest_text), manifest_digest, err) < 0)
                return err && *err ? -1 : burrow_error_set(err, ENOMEM, "image manifest");
        json_int_t size = json_integer_value(json_object_get(rec, "size")) + (json_int_t)st.tar_size;
        const char *names[] = { full };
        if (image_commit(s, config_digest, manifest_digest, layers, size, created, names, full[0] ? 1 : 0, err) < 0)
                return -1;
        snprintf(image_id, DIGEST_STR_LEN + 1, "%s", config_digest);
        return 0;
}
