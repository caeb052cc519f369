#include "config.h"

#include "fs/image.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "fs/container.h"
#include "fs/layer.h"
#include "fs/reference.h"
#include "userns/idmap.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/template.h"

static void cleanup_jsonp(json_t **j)
{
        json_decref(*j);
}
#define cleanup_json __attribute__((cleanup(cleanup_jsonp)))

/* OCI's names for the machine (GOARCH). */
static const char *oci_arch(void)
{
        struct utsname u;
        if (uname(&u) < 0)
                return "amd64";
        static const char *const map[][2] = { { "x86_64", "amd64" }, { "aarch64", "arm64" }, { "armv7l", "arm" },
                                              { "i686", "386" },     { "ppc64le", "ppc64le" }, { "s390x", "s390x" },
                                              { "riscv64", "riscv64" } };
        for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
                if (strcmp(u.machine, map[i][0]) == 0)
                        return map[i][1];
        return "amd64";
}

/* RFC 3339 with nanoseconds, as docker writes "created": two imports of one tarball are two
 * images, as with docker import. */
void image_time_now(char *buf, size_t size)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        char base[32];
        strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(buf, size, "%s.%09ldZ", base, ts.tv_nsec);
}

/* Runs in the store's user namespace: unpack into the op directory, then move into layers/. */
int image_unpack_worker(void *arg, void *result, struct burrow_error **err)
{
        struct image_unpack_job *job = arg;
        struct layer_stats *st = result;
        store_clean_tmp(job->s);
        if (mkdirat(job->op->fd, "layer", 0755) < 0)
                return burrow_error_set(err, errno, "creating a layer directory in `%s/%s`", job->s->root, job->op->name);
        cleanup_close int layer = openat(job->op->fd, "layer", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        cleanup_close int blob = job->replace ? -1 : openat(job->op->fd, "blob", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (layer < 0 || (blob < 0 && !job->replace))
                return burrow_error_set(err, errno, "preparing `%s/%s`", job->s->root, job->op->name);
        if (layer_unpack(job->src, layer, blob, st, err) < 0 || (blob >= 0 && fsync(blob) < 0)) {
                if (err && *err == NULL)
                        burrow_error_set(err, errno, "syncing the blob");
                store_remove_tree(job->op->fd, "layer");
                return -1;
        }
        if ((job->want_blob && strcmp(job->want_blob, st->blob_digest) != 0) ||
            (job->want_diff_id && strcmp(job->want_diff_id, st->diff_id) != 0)) {
                store_remove_tree(job->op->fd, "layer");
                bool blob_bad = job->want_blob && strcmp(job->want_blob, st->blob_digest) != 0;
                return burrow_error_set(err, 0, "layer %s: its %s is %s, not %s: the data is corrupt or was tampered with",
                                        blob_bad ? job->want_blob : job->want_diff_id, blob_bad ? "content digest" : "diffID",
                                        blob_bad ? st->blob_digest : st->diff_id, blob_bad ? job->want_blob : job->want_diff_id);
        }
        char dest[128];
        snprintf(dest, sizeof(dest), "layers/%s", digest_hex(st->diff_id));
        if (job->replace) {
                /* One atomic swap: readers see the old tree or the new one, never a mix; the old
                 * one leaves with the op directory. */
                if (syncfs(layer) < 0)
                        return burrow_error_set(err, errno, "syncing layer %s", st->diff_id);
                if (renameat2(job->op->fd, "layer", job->s->fd, dest, RENAME_EXCHANGE) < 0)
                        return burrow_error_set(err, errno, "replacing layer %s in `%s`", st->diff_id, job->s->root);
                if (store_remove_tree(job->op->fd, "layer") < 0)
                        return burrow_error_set(err, errno, "removing the old copy of layer %s", st->diff_id);
                return 0;
        }
        if (store_layer_exists(job->s, st->diff_id)) {
                store_remove_tree(job->op->fd, "layer"); /* shared with an image we have */
                return 0;
        }
        if (syncfs(layer) < 0)
                return burrow_error_set(err, errno, "syncing layer %s", st->diff_id);
        if (renameat(job->op->fd, "layer", job->s->fd, dest) < 0) {
                int e = errno;
                store_remove_tree(job->op->fd, "layer");
                if (e != EEXIST && e != ENOTEMPTY) /* another burrow stored it meanwhile: fine */
                        return burrow_error_set(err, e, "storing layer %s", st->diff_id);
        }
        return 0;
}

static int add_name(struct store *s, const char *id, const char *name, struct burrow_error **err);

int image_unpack_blob(struct store *s, const struct store_ns *ns, int src, const char *want_blob, const char *want_diff_id,
                      struct layer_stats *st, struct burrow_error **err)
{
        struct store_op op;
        if (store_op_begin(s, "layer", &op, err) < 0)
                return -1;
        struct image_unpack_job job = { .s = s, .op = &op, .src = src, .want_blob = want_blob, .want_diff_id = want_diff_id };
        struct store_ns_plan *plan = store_ns_plan_new(ns, err);
        struct store_ns_worker w;
        int r = plan ? store_ns_plan_check(plan, s, err) : -1;
        if (r == 0)
                r = store_ns_start(plan, image_unpack_worker, &job, sizeof(*st), NULL, 0, &w, err);
        if (r == 0)
                r = store_ns_finish(&w, st, err);
        store_ns_plan_free(plan);
        if (r == 0 && !store_blob_exists(s, st->blob_digest))
                r = store_blob_commit(s, &op, "blob", st->blob_digest, err);
        store_op_end(s, &op);
        return r;
}

int image_commit(struct store *s, const char *config_digest, const char *manifest_digest, json_t *layers, json_int_t size,
                 const char *created, const char *const *names, size_t n_names, struct burrow_error **err)
{
        cleanup_json json_t *record = json_pack("{s:s, s:s, s:s, s:O, s:[], s:s, s:I}", "id", config_digest, "manifest",
                                                manifest_digest, "config", config_digest, "layers", layers, "names",
                                                "created", created ? created : "", "size", size);
        if (record == NULL)
                return burrow_error_set(err, ENOMEM, "image record");
        cleanup_close int lock = store_lock(s, err);
        if (lock < 0)
                return -1;
        /* A layer found in the store before the lock was taken may have been pruned since by a
         * concurrent rmi: never record an image whose layers are not all there. */
        size_t li;
        json_t *l;
        json_array_foreach(layers, li, l)
        {
                const char *diff_id = json_string_value(json_object_get(l, "diff_id"));
                const char *digest = json_string_value(json_object_get(l, "digest"));
                if (!diff_id || !digest || !store_layer_exists(s, diff_id) || !store_blob_exists(s, digest))
                        return burrow_error_set(err, EAGAIN, "layer %s went away while the image was stored (a `burrow rmi` "
                                                             "or `image prune` at the same time?); run the command again",
                                                diff_id ? diff_id : "?");
        }
        /* The same config again (the same image loaded twice): keep the names it has. */
        cleanup_json json_t *existing = store_image_read(s, config_digest, NULL);
        if (existing && json_is_array(json_object_get(existing, "names")))
                json_object_set(record, "names", json_object_get(existing, "names"));
        if (store_image_write(s, config_digest, record, err) < 0)
                return -1;
        for (size_t i = 0; i < n_names; i++)
                if (add_name(s, config_digest, names[i], err) < 0)
                        return -1;
        return 0;
}

int image_import(struct store *s, const struct store_ns *ns, const char *file, const char *name,
                 char id[DIGEST_STR_LEN + 1], struct burrow_error **err)
{
        struct image_ref ref;
        if (image_ref_parse(name, "localhost", &ref, err) < 0)
                return -1;
        if (ref.digest[0])
                return burrow_error_set(err, 0, "`%s`: an imported image gets a name and a tag, not a digest", name);
        char full[1024];
        image_ref_format(&ref, full, sizeof(full));
        cleanup_close int src = open(file, O_RDONLY | O_CLOEXEC);
        if (src < 0)
                return burrow_error_set(err, errno, "cannot open `%s` to import", file);

        struct layer_stats st;
        if (image_unpack_blob(s, ns, src, NULL, NULL, &st, err) < 0)
                return burrow_error_wrap(err, "importing `%s`", file);

        char created[48];
        image_time_now(created, sizeof(created));
        char by[1200];
        snprintf(by, sizeof(by), "burrow import %s", file);
        cleanup_json json_t *config = json_pack(
                "{s:s, s:s, s:s, s:{s:[s]}, s:{s:s, s:[s]}, s:[{s:s, s:s}]}", "created", created, "architecture", oci_arch(), "os",
                "linux", "config", "Env", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "rootfs", "type",
                "layers", "diff_ids", st.diff_id, "history", "created", created, "created_by", by);
        cleanup_free char *config_text = config ? json_dumps(config, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        if (config_text == NULL)
                return burrow_error_set(err, ENOMEM, "image config");
        char config_digest[DIGEST_STR_LEN + 1];
        if (store_blob_put(s, config_text, strlen(config_text), config_digest, err) < 0)
                return -1;
        const char *media = strcmp(st.compression, "gzip") == 0   ? "application/vnd.oci.image.layer.v1.tar+gzip"
                            : strcmp(st.compression, "zstd") == 0 ? "application/vnd.oci.image.layer.v1.tar+zstd"
                            : strcmp(st.compression, "none") == 0 ? "application/vnd.oci.image.layer.v1.tar"
                                                                  : NULL;
        if (media == NULL)
                return burrow_error_set(err, 0, "`%s` is %s-compressed; OCI images carry gzip, zstd or uncompressed layers: "
                                                "recompress it (e.g. %s -dc FILE | gzip > FILE.gz)",
                                        file, st.compression, st.compression);
        cleanup_json json_t *manifest = json_pack(
                "{s:i, s:s, s:{s:s, s:s, s:I}, s:[{s:s, s:s, s:I}]}", "schemaVersion", 2, "mediaType",
                "application/vnd.oci.image.manifest.v1+json", "config", "mediaType", "application/vnd.oci.image.config.v1+json",
                "digest", config_digest, "size", (json_int_t)strlen(config_text), "layers", "mediaType", media, "digest",
                st.blob_digest, "size", (json_int_t)st.blob_size);
        cleanup_free char *manifest_text = manifest ? json_dumps(manifest, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        char manifest_digest[DIGEST_STR_LEN + 1];
        if (manifest_text == NULL || store_blob_put(s, manifest_text, strlen(manifest_text), manifest_digest, err) < 0)
                return err && *err ? -1 : burrow_error_set(err, ENOMEM, "image manifest");

        cleanup_json json_t *layers = json_pack("[{s:s, s:s, s:I, s:s}]", "diff_id", st.diff_id, "digest", st.blob_digest, "size",
                                                (json_int_t)st.blob_size, "media_type", media);
        const char *names[] = { full };
        if (layers == NULL || image_commit(s, config_digest, manifest_digest, layers, (json_int_t)st.tar_size, created, names, 1,
                                           err) < 0)
                return err && *err ? -1 : burrow_error_set(err, ENOMEM, "image record");
        if (st.unmapped_owners)
                burrow_info("%llu entries of `%s` kept the owner of the store's namespace: their owners are not mapped "
                            "(single-ID map?)",
                            (unsigned long long)st.unmapped_owners, file);
        if (st.skipped_devices)
                burrow_warn("`%s`: skipped %llu device nodes (they cannot be created without privilege; containers get "
                            "their own /dev)",
                            file, (unsigned long long)st.skipped_devices);
        snprintf(id, DIGEST_STR_LEN + 1, "%s", config_digest);
        return 0;
}

/* With the store lock held: NAME -> ID in tags.json and in the records' name lists. */
static int add_name(struct store *s, const char *id, const char *name, struct burrow_error **err)
{
        cleanup_json json_t *tags = store_tags_read(s, err);
        if (tags == NULL)
                return -1;
        json_t *old = json_object_get(tags, name);
        if (json_is_string(old) && strcmp(json_string_value(old), id) != 0) {
                cleanup_json json_t *prev = store_image_read(s, json_string_value(old), NULL);
                json_t *names = prev ? json_object_get(prev, "names") : NULL;
                for (size_t i = 0; names && i < json_array_size(names); i++)
                        if (strcmp(json_string_value(json_array_get(names, i)), name) == 0) {
                                json_array_remove(names, i);
                                store_image_write(s, json_string_value(old), prev, NULL);
                                break;
                        }
        }
        cleanup_json json_t *rec = store_image_read(s, id, err);
        if (rec == NULL)
                return -1;
        json_t *names = json_object_get(rec, "names");
        bool have = false;
        for (size_t i = 0; names && i < json_array_size(names); i++)
                have |= strcmp(json_string_value(json_array_get(names, i)), name) == 0;
        if (!have) {
                if (!json_is_array(names))
                        json_object_set_new(rec, "names", names = json_array());
                json_array_append_new(names, json_string(name));
                if (store_image_write(s, id, rec, err) < 0)
                        return -1;
        }
        json_object_set_new(tags, name, json_string(id));
        return store_tags_write(s, tags, err);
}

int image_tag(struct store *s, const char *ref, const char *name, struct burrow_error **err)
{
        char id[DIGEST_STR_LEN + 1];
        struct image_ref r;
        if (store_resolve(s, ref, id, err) < 0 || image_ref_parse(name, "localhost", &r, err) < 0)
                return -1;
        if (r.digest[0])
                return burrow_error_set(err, 0, "`%s`: a tag names a tag, not a digest", name);
        char full[1024];
        image_ref_format(&r, full, sizeof(full));
        cleanup_close int lock = store_lock(s, err);
        if (lock < 0)
                return -1;
        return add_name(s, id, full, err);
}

/* Every image record, newest first. */
static json_t *load_all(struct store *s, struct burrow_error **err)
{
        json_t *all = json_array();
        cleanup_close int dfd = openat(s->fd, "images", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        cleanup_closedir DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
        if (d == NULL) {
                json_decref(all);
                burrow_error_set(err, errno, "reading `%s/images`", s->root);
                return NULL;
        }
        dfd = -1;
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
                size_t len = strlen(de->d_name);
                if (len != DIGEST_HEX_LEN + 5 || strcmp(de->d_name + DIGEST_HEX_LEN, ".json") != 0)
                        continue;
                char id[DIGEST_STR_LEN + 1];
                snprintf(id, sizeof(id), "sha256:%.64s", de->d_name);
                struct burrow_error *e = NULL;
                json_t *rec = store_image_read(s, id, &e);
                if (rec == NULL) {
                        burrow_warn("skipping a damaged image record: %s", e->msg);
                        burrow_error_free(e);
                        continue;
                }
                json_array_append_new(all, rec);
        }
        store_sort_newest_first(all);
        return all;
}

static void human_size(json_int_t bytes, char *buf, size_t size)
{
        static const char *const units[] = { "B", "kB", "MB", "GB", "TB" };
        double v = (double)bytes;
        size_t u = 0;
        while (v >= 1000 && u < 4) {
                v /= 1000;
                u++;
        }
        snprintf(buf, size, u ? "%.3g %s" : "%.0f %s", v, units[u]);
}

static void split_name(const char *name, char *repo, size_t rsize, char *tag, size_t tsize)
{
        const char *slash = strrchr(name, '/');
        const char *colon = strrchr(slash ? slash : name, ':');
        snprintf(repo, rsize, "%.*s", colon ? (int)(colon - name) : (int)strlen(name), name);
        snprintf(tag, tsize, "%s", colon ? colon + 1 : "<none>");
}

static bool passes_filters(const struct image_list_options *opts, json_t *rec, const char *name)
{
        for (size_t i = 0; i < opts->n_filters; i++) {
                const char *f = opts->filters[i];
                if (strncmp(f, "reference=", 10) == 0) {
                        if (name == NULL || (fnmatch(f + 10, name, 0) != 0 && !(strchr(f + 10, '/') == NULL &&
                                                                             strrchr(name, '/') &&
                                                                             fnmatch(f + 10, strrchr(name, '/') + 1, 0) == 0)))
                                return false;
                } else if (strncmp(f, "dangling=", 9) == 0) {
                        bool dangling = json_array_size(json_object_get(rec, "names")) == 0;
                        if (dangling != (strcmp(f + 9, "true") == 0))
                                return false;
                }
        }
        return true;
}

static const struct template_field image_fields[] = {
        { "ID", "IMAGE ID" }, { "Repository", "REPOSITORY" }, { "Tag", "TAG" },
        { "Created", "CREATED" }, { "Size", "SIZE" }, { "Digest", "DIGEST" },
};

int image_list(struct store *s, const struct image_list_options *opts, FILE *out, struct burrow_error **err)
{
        for (size_t i = 0; i < opts->n_filters; i++)
                if (strncmp(opts->filters[i], "reference=", 10) != 0 && strcmp(opts->filters[i], "dangling=true") != 0 &&
                    strcmp(opts->filters[i], "dangling=false") != 0)
                        return burrow_error_set(err, 0, "unknown filter `%s` (use reference=PATTERN or dangling=true|false)",
                                                opts->filters[i]);
        if (opts->format && template_check(opts->format, image_fields, 6, err) < 0)
                return -1;
        cleanup_json json_t *all = load_all(s, err);
        if (all == NULL)
                return -1;
        if (opts->format && !opts->quiet)
                template_header(out, opts->format, image_fields, 6);
        if (!opts->quiet && !opts->format)
                fprintf(out, "%-40s %-12s %-14s %-22s %s\n", "REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE");
        size_t i;
        json_t *rec;
        json_array_foreach(all, i, rec)
        {
                const char *id = json_string_value(json_object_get(rec, "id"));
                json_t *names = json_object_get(rec, "names");
                size_t n = json_array_size(names);
                bool printed_id = false;
                for (size_t k = 0; k < (n ? n : 1); k++) {
                        const char *name = n ? json_string_value(json_array_get(names, k)) : NULL;
                        if (!passes_filters(opts, rec, name))
                                continue;
                        char repo[1024], tag[256], size[32];
                        split_name(name ? name : "<none>:<none>", repo, sizeof(repo), tag, sizeof(tag));
                        human_size(json_integer_value(json_object_get(rec, "size")), size, sizeof(size));
                        const char *created_full = json_string_value(json_object_get(rec, "created"));
                        char created[24] = "";
                        if (created_full) /* "2026-11-23T11:15:36.247Z" -> "2026-11-23 11:15:36" */
                                snprintf(created, sizeof(created), "%.10s %.8s", created_full,
                                         strlen(created_full) > 11 ? created_full + 11 : "");
                        if (opts->quiet) {
                                if (!printed_id)
                                        fprintf(out, "%.12s\n", digest_hex(id));
                                printed_id = true;
                        } else if (opts->format) {
                                const char *values[] = { digest_hex(id), repo, tag, created_full ? created_full : "", size,
                                                         json_string_value(json_object_get(rec, "manifest")) };
                                template_row(out, opts->format, image_fields, values, 6);
                        } else {
                                fprintf(out, "%-40s %-12s %-14.12s %-22s %s\n", repo, tag, digest_hex(id), created, size);
                        }
                }
        }
        return 0;
}

static json_t *load_image(struct store *s, const char *ref, json_t **config, struct burrow_error **err)
{
        char id[DIGEST_STR_LEN + 1];
        if (store_resolve(s, ref, id, err) < 0)
                return NULL;
        json_t *rec = store_image_read(s, id, err);
        if (rec == NULL)
                return NULL;
        cleanup_free char *text = NULL;
        size_t len;
        if (store_blob_read(s, json_string_value(json_object_get(rec, "config")), &text, &len, err) < 0) {
                json_decref(rec);
                return NULL;
        }
        json_error_t je;
        *config = json_loadb(text, len, 0, &je);
        if (*config == NULL) {
                json_decref(rec);
                burrow_error_set(err, 0, "the config of image `%s` is not valid JSON: %s", ref, je.text);
                return NULL;
        }
        return rec;
}

int image_inspect(struct store *s, const char *ref, FILE *out, struct burrow_error **err)
{
        cleanup_json json_t *config = NULL;
        cleanup_json json_t *rec = load_image(s, ref, &config, err);
        if (rec == NULL)
                return -1;
        json_t *layers = json_array();
        size_t i;
        json_t *l;
        json_array_foreach(json_object_get(rec, "layers"), i, l) json_array_append(layers, json_object_get(l, "digest"));
        cleanup_json json_t *view = json_pack(
                "[{s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:o, s:O}]", "Id", json_object_get(rec, "id"), "Digest",
                json_object_get(rec, "manifest"), "RepoTags", json_object_get(rec, "names"), "Created",
                json_object_get(config, "created") ? json_object_get(config, "created") : json_null(), "Architecture",
                json_object_get(config, "architecture") ? json_object_get(config, "architecture") : json_null(), "Os",
                json_object_get(config, "os") ? json_object_get(config, "os") : json_null(), "Config",
                json_object_get(config, "config") ? json_object_get(config, "config") : json_object(), "RootFS",
                json_object_get(config, "rootfs") ? json_object_get(config, "rootfs") : json_null(), "Layers", layers, "Size",
                json_object_get(rec, "size"));
        if (view == NULL)
                return burrow_error_set(err, ENOMEM, "inspect");
        json_t *author = json_object_get(config, "author");
        json_object_set_new(json_array_get(view, 0), "Author", json_string(json_is_string(author) ? json_string_value(author) : ""));
        json_dumpf(view, out, JSON_INDENT(4));
        fputc('\n', out);
        return 0;
}

int image_history(struct store *s, const char *ref, FILE *out, struct burrow_error **err)
{
        cleanup_json json_t *config = NULL;
        cleanup_json json_t *rec = load_image(s, ref, &config, err);
        if (rec == NULL)
                return -1;
        fprintf(out, "%-22s %-60s %s\n", "CREATED", "CREATED BY", "COMMENT");
        json_t *history = json_object_get(config, "history");
        /* newest first, as docker prints it */
        for (size_t i = json_array_size(history); i-- > 0;) {
                json_t *h = json_array_get(history, i);
                const char *by = json_string_value(json_object_get(h, "created_by"));
                fprintf(out, "%-22s %-60.60s %s\n", json_string_value(json_object_get(h, "created")) ?: "",
                        by ? by : "", json_string_value(json_object_get(h, "comment")) ?: "");
        }
        return 0;
}

struct prune_job {
        struct store *s;
        json_t *keep_layers; /* object: diff_id -> true */
};

static int prune_layers_in_ns(void *arg, void *result, struct burrow_error **err)
{
        struct prune_job *job = arg;
        unsigned *freed = result;
        cleanup_close int dfd = openat(job->s->fd, "layers", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int dup = dfd >= 0 ? fcntl(dfd, F_DUPFD_CLOEXEC, 3) : -1;
        cleanup_closedir DIR *d = dup >= 0 ? fdopendir(dup) : NULL;
        if (d == NULL)
                return burrow_error_set(err, errno, "reading `%s/layers`", job->s->root);
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
                if (de->d_name[0] == '.')
                        continue;
                char id[DIGEST_STR_LEN + 8];
                if (strlen(de->d_name) != DIGEST_HEX_LEN)
                        continue;
                snprintf(id, sizeof(id), "sha256:%.64s", de->d_name);
                if (json_object_get(job->keep_layers, id))
                        continue;
                /* Renamed out of sight first, into an op directory of our own (locked, so a
                 * concurrent sweep of tmp/ leaves it to us), so a crash never leaves half a
                 * layer in layers/. */
                struct store_op op;
                if (store_op_begin(job->s, "gone", &op, err) < 0)
                        return -1;
                int r = renameat(dfd, de->d_name, op.fd, "layer");
                int e = errno;
                if (r == 0 && store_remove_tree(op.fd, "layer") < 0) {
                        r = -1;
                        e = errno;
                }
                store_op_end(job->s, &op);
                if (r < 0 && e != ENOENT) /* ENOENT: another prune took it first */
                        return burrow_error_set(err, e, "removing layer %s from `%s`", id, job->s->root);
                (*freed)++;
        }
        store_clean_tmp(job->s);
        return 0;
}

/* With the lock held. */
static int prune_locked(struct store *s, const struct store_ns *ns, unsigned *freed, struct burrow_error **err)
{
        cleanup_json json_t *all = load_all(s, err);
        if (all == NULL)
                return -1;
        cleanup_json json_t *keep_blobs = json_object();
        cleanup_json json_t *keep_layers = json_object();
        size_t i, k;
        json_t *rec, *l;
        json_array_foreach(all, i, rec)
        {
                json_object_set_new(keep_blobs, json_string_value(json_object_get(rec, "manifest")), json_true());
                json_object_set_new(keep_blobs, json_string_value(json_object_get(rec, "config")), json_true());
                json_array_foreach(json_object_get(rec, "layers"), k, l)
                {
                        json_object_set_new(keep_blobs, json_string_value(json_object_get(l, "digest")), json_true());
                        json_object_set_new(keep_layers, json_string_value(json_object_get(l, "diff_id")), json_true());
                }
        }
        *freed = 0;
        cleanup_close int bfd = openat(s->fd, "blobs/sha256", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int dup = bfd >= 0 ? fcntl(bfd, F_DUPFD_CLOEXEC, 3) : -1;
        cleanup_closedir DIR *d = dup >= 0 ? fdopendir(dup) : NULL;
        struct dirent *de;
        while (d && (de = readdir(d)) != NULL) {
                if (de->d_name[0] == '.')
                        continue;
                char id[DIGEST_STR_LEN + 8];
                if (strlen(de->d_name) != DIGEST_HEX_LEN)
                        continue;
                snprintf(id, sizeof(id), "sha256:%.64s", de->d_name);
                if (!json_object_get(keep_blobs, id) && unlinkat(bfd, de->d_name, 0) == 0)
                        (*freed)++;
        }
        struct prune_job job = { .s = s, .keep_layers = keep_layers };
        unsigned layers = 0;
        if (store_ns_run(s, ns, prune_layers_in_ns, &job, &layers, sizeof(layers), err) < 0)
                return -1;
        *freed += layers;
        return 0;
}

int image_prune(struct store *s, const struct store_ns *ns, unsigned *freed, struct burrow_error **err)
{
        cleanup_close int lock = store_lock(s, err);
        if (lock < 0)
                return -1;
        return prune_locked(s, ns, freed, err);
}

int image_remove(struct store *s, const struct store_ns *ns, const char *ref, bool force, FILE *out,
                 struct burrow_error **err)
{
        char id[DIGEST_STR_LEN + 1];
        if (store_resolve(s, ref, id, err) < 0 || store_ns_check(s, ns, err) < 0)
                return -1;
        cleanup_close int lock = store_lock(s, err);
        if (lock < 0)
                return -1;
        cleanup_json json_t *rec = store_image_read(s, id, err);
        cleanup_json json_t *tags = store_tags_read(s, err);
        if (rec == NULL || tags == NULL)
                return -1;
        json_t *names = json_object_get(rec, "names");
        /* A name given, and the image has others: only that name goes. */
        struct image_ref r;
        char full[1024] = "";
        struct burrow_error *perr = NULL;
        if (image_ref_parse(ref, "localhost", &r, &perr) == 0)
                image_ref_format(&r, full, sizeof(full));
        burrow_error_free(perr);
        size_t matched = SIZE_MAX;
        for (size_t i = 0; i < json_array_size(names); i++)
                if (strcmp(json_string_value(json_array_get(names, i)), full) == 0)
                        matched = i;
        if (matched != SIZE_MAX && json_array_size(names) > 1) {
                json_object_del(tags, full);
                json_array_remove(names, matched);
                if (store_image_write(s, id, rec, err) < 0 || store_tags_write(s, tags, err) < 0)
                        return -1;
                fprintf(out, "Untagged: %s\n", full);
                return 0;
        }
        if (matched == SIZE_MAX && json_array_size(names) > 1 && !force)
                return burrow_error_set(err, 0, "image %.12s has %zu names; remove them one by one, or use -f to remove the image "
                                                "and all its names",
                                        digest_hex(id), json_array_size(names));
        /* Containers stand on the image's layers: refuse, or with -f take the stopped ones along. */
        cleanup_json json_t *users = container_users_of_image(s, id);
        if (json_array_size(users) > 0) {
                char list[512] = "";
                size_t ui;
                json_t *u;
                json_array_foreach(users, ui, u)
                {
                        size_t used = strlen(list);
                        snprintf(list + used, sizeof(list) - used, "%s%s", ui ? ", " : "", json_string_value(u));
                }
                if (!force)
                        return burrow_error_set(err, 0, "image %.12s is used by container%s %s: remove %s first (burrow rm), or use "
                                                        "`burrow rmi -f` to remove %s with the image",
                                                digest_hex(id), json_array_size(users) > 1 ? "s" : "", list,
                                                json_array_size(users) > 1 ? "them" : "it", json_array_size(users) > 1 ? "them" : "it");
                json_array_foreach(users, ui, u)
                {
                        char cid[CONTAINER_ID_LEN + 1];
                        if (container_resolve(s, json_string_value(u), cid, err) < 0)
                                return -1;
                        if (container_is_running(s, cid))
                                return burrow_error_set(err, 0, "image %.12s is used by the running container %s: stop it first",
                                                        digest_hex(id), json_string_value(u));
                }
                json_array_foreach(users, ui, u)
                {
                        char cid[CONTAINER_ID_LEN + 1];
                        if (container_resolve(s, json_string_value(u), cid, err) < 0 || container_remove(s, ns, cid, false, err) < 0)
                                return -1;
                        fprintf(out, "Removed container: %s\n", json_string_value(u));
                }
        }
        for (size_t i = 0; i < json_array_size(names); i++) {
                const char *n = json_string_value(json_array_get(names, i));
                fprintf(out, "Untagged: %s\n", n);
                json_object_del(tags, n);
        }
        if (store_tags_write(s, tags, err) < 0)
                return -1;
        char path[128];
        snprintf(path, sizeof(path), "images/%s.json", digest_hex(id));
        if (unlinkat(s->fd, path, 0) < 0)
                return burrow_error_set(err, errno, "removing `%s/%s`", s->root, path);
        fprintf(out, "Deleted: %s\n", id);
        unsigned freed;
        return prune_locked(s, ns, &freed, err);
}

/* With the store lock held: unpack every layer again under PLAN and swap it in. */
static int migrate_layers(struct store *s, struct store_ns_plan *plan, unsigned *done, unsigned *kept,
                          struct burrow_error **err)
{
        cleanup_json json_t *all = load_all(s, err);
        if (all == NULL)
                return -1;
        cleanup_json json_t *blob_of = json_object();
        if (blob_of == NULL)
                return burrow_error_set(err, ENOMEM, "migrate");
        size_t i, k;
        json_t *rec, *l;
        json_array_foreach(all, i, rec)
        {
                json_array_foreach(json_object_get(rec, "layers"), k, l)
                {
                        const char *diff_id = json_string_value(json_object_get(l, "diff_id"));
                        json_t *digest = json_object_get(l, "digest");
                        if (diff_id && json_is_string(digest))
                                json_object_set(blob_of, diff_id, digest);
                }
        }
        cleanup_close int lfd = openat(s->fd, "layers", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int dup = lfd >= 0 ? fcntl(lfd, F_DUPFD_CLOEXEC, 3) : -1;
        cleanup_closedir DIR *d = dup >= 0 ? fdopendir(dup) : NULL;
        if (d == NULL)
                return burrow_error_set(err, errno, "reading `%s/layers`", s->root);
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
                if (strlen(de->d_name) != DIGEST_HEX_LEN)
                        continue;
                char diff_id[DIGEST_STR_LEN + 1];
                snprintf(diff_id, sizeof(diff_id), "sha256:%.64s", de->d_name);
                const char *blob = json_string_value(json_object_get(blob_of, diff_id));
                char bpath[128];
                snprintf(bpath, sizeof(bpath), "blobs/sha256/%s", blob && digest_valid(blob) ? digest_hex(blob) : "-");
                cleanup_close int src = blob ? openat(s->fd, bpath, O_RDONLY | O_CLOEXEC) : -1;
                if (src < 0) {
                        burrow_warn("layer %s has no blob in `%s` to unpack it from again: its files stay owned by you "
                                    "(remove the images that use it and pull or load them again)",
                                    diff_id, s->root);
                        (*kept)++;
                        continue;
                }
                struct store_op op;
                if (store_op_begin(s, "migrate", &op, err) < 0)
                        return -1;
                struct image_unpack_job job = { .s = s, .op = &op, .src = src, .want_blob = blob, .want_diff_id = diff_id,
                                                .replace = true };
                struct layer_stats st;
                struct store_ns_worker w;
                int r = store_ns_start(plan, image_unpack_worker, &job, sizeof(st), NULL, 0, &w, err);
                if (r == 0)
                        r = store_ns_finish(&w, &st, err);
                store_op_end(s, &op);
                if (r < 0)
                        return burrow_error_wrap(err, "migrating layer %s (%u done; the store stays usable: run `burrow "
                                                      "system migrate` again)",
                                                 diff_id, *done);
                (*done)++;
        }
        return 0;
}

/* Layers unpacked under a single-ID map lost their owners; the blobs kept them. */
static int migrate_with(struct store *s, struct store_ns_plan *plan, FILE *out, struct burrow_error **err)
{
        const struct idmap_plan *map = store_ns_plan_idmap(plan);
        if (map->kind == IDMAP_SINGLE)
                return burrow_error_set(err, 0, "you still have no subordinate ID range (%s); ask your administrator for one "
                                                "(usermod --add-subuids FIRST-LAST --add-subgids FIRST-LAST %s), then run "
                                                "`burrow system migrate` again",
                                        map->why, getenv("USER") ? getenv("USER") : "USER");
        enum store_map_state state;
        if (store_ns_map_state(s, map, &state, err) < 0)
                return -1;
        if (state != STORE_MAP_SINGLE_NOW_RANGES) {
                if (store_ns_plan_check(plan, s, err) < 0) /* a lost map: says what to do */
                        return -1;
                fprintf(out, "The store `%s` already uses your current ID map: nothing to migrate\n", s->root);
                return 0;
        }
        unsigned done = 0, kept = 0;
        {
                /* Held throughout: no image comes or goes while its layers are swapped. */
                cleanup_close int lock = store_lock(s, err);
                if (lock < 0 || migrate_layers(s, plan, &done, &kept, err) < 0)
                        return -1;
        }
        if (store_ns_record_map(s, map, true, err) < 0)
                return -1;
        char shown[IDMAP_MAX_RANGES * 36];
        idmap_format(&map->uids, shown, sizeof(shown));
        for (char *q = shown; *q; q++)
                if (*q == '\n')
                        *q = q[1] ? ',' : '\0';
        fprintf(out, "Migrated %u layer%s of `%s` to the UID map `%s`", done, done == 1 ? "" : "s", s->root, shown);
        if (kept)
                fprintf(out, " (%u left owned by you, see above)", kept);
        fprintf(out, "\n");
        return 0;
}

int image_migrate(struct store *s, const struct store_ns *ns, FILE *out, struct burrow_error **err)
{
        struct store_ns_plan *plan = store_ns_plan_new(ns, err);
        if (plan == NULL)
                return -1;
        int r = migrate_with(s, plan, out, err);
        store_ns_plan_free(plan);
        return r;
}

struct reset_job {
        const char *root;
};

static int reset_in_ns(void *arg, void *result, struct burrow_error **err)
{
        struct reset_job *job = arg;
        (void)result;
        cleanup_close int fd = open(job->root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int dup = fd >= 0 ? fcntl(fd, F_DUPFD_CLOEXEC, 3) : -1;
        cleanup_closedir DIR *d = dup >= 0 ? fdopendir(dup) : NULL;
        if (d == NULL)
                return burrow_error_set(err, errno, "opening the store `%s`", job->root);
        /* store.json goes last: a store that cannot be removed whole keeps the record of the ID
         * map its files are owned under. */
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 || strcmp(de->d_name, "store.json") == 0)
                        continue;
                if (store_remove_tree(fd, de->d_name) < 0)
                        return burrow_error_set(err, errno, "removing `%s/%s`", job->root, de->d_name);
        }
        if (unlinkat(fd, "store.json", 0) < 0 && errno != ENOENT)
                return burrow_error_set(err, errno, "removing `%s/store.json`", job->root);
        if (rmdir(job->root) < 0)
                return burrow_error_set(err, errno, "removing the store `%s`", job->root);
        return 0;
}

int store_reset(const char *root, const struct store_ns *ns, struct burrow_error **err)
{
        char real[PATH_MAX];
        if (realpath(root, real) == NULL) {
                if (errno == ENOENT)
                        return 0; /* nothing to reset */
                return burrow_error_set(err, errno, "the store `%s`", root);
        }
        char marker[PATH_MAX + 16];
        snprintf(marker, sizeof(marker), "%s/store.json", real);
        if (access(marker, F_OK) < 0)
                return burrow_error_set(err, 0, "`%s` does not look like a burrow store (no store.json): not removing it", real);
        struct reset_job job = { .root = real };
        /* Refuse up front when the store's owners are no longer mapped, rather than remove half
         * of it; a store too damaged to open is removed all the same. */
        struct store *s = NULL;
        struct burrow_error *oerr = NULL;
        if (store_open(real, &s, &oerr) < 0)
                burrow_error_free(oerr);
        int checked = s ? store_ns_check(s, ns, err) : 0;
        store_free(s);
        if (checked < 0)
                return -1;
        if (store_ns_run(NULL, ns, reset_in_ns, &job, NULL, 0, err) < 0)
                return burrow_error_hint(err, "if your subordinate IDs (/etc/subuid, /etc/subgid) changed since the store "
                                              "was filled, files of the old ones can only be removed by root: ask your "
                                              "administrator to remove `%s`",
                                         real);
        /* The holders end when their pid files go. */
        static const char *const modes[] = { "auto", "keep-id" };
        for (size_t i = 0; i < 2; i++) {
                char p[PATH_MAX];
                snprintf(p, sizeof(p), "%s/userns-%s.pid", ns->runroot, modes[i]);
                unlink(p);
        }
        return 0;
}
