/* burrow load: OCI image layouts, oci-archives and docker-archives into the store. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "fs/image.h"
#include "fs/layer.h"
#include "fs/reference.h"
#include "util/fsutil.h"
#include "util/log.h"

static void cleanup_jsonp(json_t **j)
{
        json_decref(*j);
}
#define cleanup_json __attribute__((cleanup(cleanup_jsonp)))

struct source {
        int dir;          /* the layout (or the unpacked archive) */
        const char *name; /* for messages */
        char base[256];   /* the archive's base name, for naming tag-only images */
};

/* A file of the layout; a path must stay inside it. */
static int open_member(struct source *src, const char *path, struct burrow_error **err)
{
        if (path == NULL || path[0] == '/' || strstr(path, "..") != NULL)
                return burrow_error_set(err, 0, "`%s`: member `%s` is outside the archive", src->name, path ? path : "(none)");
        /* An archive may hold symlinks (blobs -> /): members are opened following none. */
        int fd = open_nofollow_path(src->dir, path, O_RDONLY);
        if (fd < 0)
                return burrow_error_set(err, errno, errno == ELOOP || errno == ENOTDIR ? "`%s`: member `%s` is reached through a symlink: refusing it"
                                                                                       : "`%s`: missing member `%s`",
                                        src->name, path);
        return fd;
}

static int blob_path(const char *digest, char *buf, size_t size)
{
        if (!digest_valid(digest))
                return -1;
        snprintf(buf, size, "blobs/sha256/%s", digest_hex(digest));
        return 0;
}

/* Read a member whole and check it hashes to WANT (if given). */
static char *read_member(struct source *src, const char *path, const char *want, size_t *len, struct burrow_error **err)
{
        cleanup_close int fd = open_member(src, path, err);
        if (fd < 0)
                return NULL;
        char *data = NULL;
        if (read_fd_all(fd, path, &data, len, err) < 0)
                return NULL;
        if (want) {
                char got[DIGEST_STR_LEN + 1];
                digest_buffer(data, *len, got);
                if (strcmp(got, want) != 0) {
                        free(data);
                        burrow_error_set(err, 0, "`%s`: blob %s hashes to %s: the archive is corrupt", src->name, want, got);
                        return NULL;
                }
        }
        return data;
}

static json_t *parse_json(struct source *src, const char *what, const char *text, size_t len, struct burrow_error **err)
{
        json_error_t je;
        json_t *v = json_loadb(text, len, 0, &je);
        if (v == NULL)
                burrow_error_set(err, 0, "`%s`: %s is not valid JSON (line %d: %s)", src->name, what, je.line, je.text);
        return v;
}

static const char *host_arch(void)
{
        struct utsname u;
        if (uname(&u) == 0 && strcmp(u.machine, "aarch64") == 0)
                return "arm64";
        return "amd64";
}

struct loaded_layer {
        const char *path;
        const char *digest;     /* blob digest from the manifest, or NULL (docker-archive) */
        const char *media_type;
};

/* Unpack and record one image: config bytes, layers in order, the manifest (NULL: made here). */
static int load_one(struct store *s, const struct store_ns *ns, struct source *src, const char *config_text, size_t config_len,
                    const char *manifest_text, size_t manifest_len, struct loaded_layer *layers, size_t n_layers,
                    const char *const *names, size_t n_names, FILE *out, struct burrow_error **err)
{
        char config_digest[DIGEST_STR_LEN + 1];
        if (store_blob_put(s, config_text, config_len, config_digest, err) < 0)
                return -1;
        cleanup_json json_t *config = parse_json(src, "the image config", config_text, config_len, err);
        if (config == NULL)
                return -1;
        json_t *diff_ids = json_object_get(json_object_get(config, "rootfs"), "diff_ids");
        if (json_array_size(diff_ids) != n_layers)
                return burrow_error_set(err, 0, "`%s`: image %.12s has %zu layers but its config lists %zu diffIDs", src->name,
                                        digest_hex(config_digest), n_layers, json_array_size(diff_ids));
        cleanup_json json_t *records = json_array();
        cleanup_json json_t *mlayers = json_array();
        json_int_t size = 0;
        for (size_t i = 0; i < n_layers; i++) {
                const char *diff_id = json_string_value(json_array_get(diff_ids, i));
                if (!digest_valid(diff_id))
                        return burrow_error_set(err, 0, "`%s`: diffID %zu of the config is not a sha256 digest", src->name, i);
                struct layer_stats st;
                memset(&st, 0, sizeof(st));
                if (store_layer_exists(s, diff_id) && layers[i].digest && store_blob_exists(s, layers[i].digest)) {
                        /* a layer we have: nothing to unpack */
                        snprintf(st.diff_id, sizeof(st.diff_id), "%s", diff_id);
                        snprintf(st.blob_digest, sizeof(st.blob_digest), "%s", layers[i].digest);
                        struct stat sb;
                        char p[128];
                        blob_path(layers[i].digest, p, sizeof(p));
                        st.blob_size = fstatat(s->fd, p, &sb, 0) == 0 ? (uint64_t)sb.st_size : 0;
                        st.tar_size = st.blob_size;
                } else {
                        cleanup_close int fd = open_member(src, layers[i].path, err);
                        if (fd < 0 || image_unpack_blob(s, ns, fd, layers[i].digest, diff_id, &st, err) < 0)
                                return burrow_error_wrap(err, "`%s`: layer %zu (%s)", src->name, i + 1,
                                                         layers[i].digest ? layers[i].digest : layers[i].path);
                }
                const char *media = layers[i].media_type ? layers[i].media_type : "application/vnd.oci.image.layer.v1.tar";
                json_array_append_new(records, json_pack("{s:s, s:s, s:I, s:s}", "diff_id", st.diff_id, "digest", st.blob_digest,
                                                         "size", (json_int_t)st.blob_size, "media_type", media));
                json_array_append_new(mlayers, json_pack("{s:s, s:s, s:I}", "mediaType", media, "digest", st.blob_digest, "size",
                                                         (json_int_t)st.blob_size));
                size += (json_int_t)st.tar_size;
        }
        char manifest_digest[DIGEST_STR_LEN + 1];
        if (manifest_text) {
                if (store_blob_put(s, manifest_text, manifest_len, manifest_digest, err) < 0)
                        return -1;
        } else {
                cleanup_json json_t *m = json_pack("{s:i, s:s, s:{s:s, s:s, s:I}, s:O}", "schemaVersion", 2, "mediaType",
                                                   "application/vnd.oci.image.manifest.v1+json", "config", "mediaType",
                                                   "application/vnd.oci.image.config.v1+json", "digest", config_digest, "size",
                                                   (json_int_t)config_len, "layers", mlayers);
                cleanup_free char *text = m ? json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
                if (text == NULL || store_blob_put(s, text, strlen(text), manifest_digest, err) < 0)
                        return err && *err ? -1 : burrow_error_set(err, ENOMEM, "manifest");
        }
        const char *created = json_string_value(json_object_get(config, "created"));
        if (image_commit(s, config_digest, manifest_digest, records, size, created, names, n_names, err) < 0)
                return -1;
        if (n_names == 0)
                fprintf(out, "Loaded image: %s\n", config_digest);
        for (size_t i = 0; i < n_names; i++)
                fprintf(out, "Loaded image: %s\n", names[i]);
        return 0;
}

/* A tag-only OCI ref.name ("1.0") names the image after the archive, as localhost/BASE:TAG. */
static int name_from_ref(struct source *src, const char *ref, char *buf, size_t size, struct burrow_error **err)
{
        struct image_ref r;
        char composed[512];
        if (strchr(ref, '/') == NULL && strchr(ref, ':') == NULL) {
                snprintf(composed, sizeof(composed), "localhost/%s:%s", src->base, ref);
                ref = composed;
        }
        if (image_ref_parse(ref, "docker.io", &r, err) < 0)
                return burrow_error_wrap(err, "`%s`: image name", src->name);
        image_ref_format(&r, buf, size);
        return 0;
}

static int load_oci_manifest(struct store *s, const struct store_ns *ns, struct source *src, json_t *desc, FILE *out,
                             struct burrow_error **err);

static int load_oci(struct store *s, const struct store_ns *ns, struct source *src, FILE *out, struct burrow_error **err)
{
        size_t len;
        cleanup_free char *text = read_member(src, "index.json", NULL, &len, err);
        if (text == NULL)
                return -1;
        cleanup_json json_t *index = parse_json(src, "index.json", text, len, err);
        if (index == NULL)
                return -1;
        json_t *manifests = json_object_get(index, "manifests");
        if (json_array_size(manifests) == 0)
                return burrow_error_set(err, 0, "`%s`: index.json lists no images", src->name);
        size_t i;
        json_t *desc;
        json_array_foreach(manifests, i, desc) if (load_oci_manifest(s, ns, src, desc, out, err) < 0) return -1;
        return 0;
}

static int load_oci_manifest(struct store *s, const struct store_ns *ns, struct source *src, json_t *desc, FILE *out,
                             struct burrow_error **err)
{
        const char *digest = json_string_value(json_object_get(desc, "digest"));
        const char *media = json_string_value(json_object_get(desc, "mediaType"));
        char path[128];
        if (blob_path(digest, path, sizeof(path)) < 0)
                return burrow_error_set(err, 0, "`%s`: a manifest descriptor has no valid sha256 digest", src->name);
        size_t len;
        cleanup_free char *text = read_member(src, path, digest, &len, err);
        if (text == NULL)
                return -1;
        cleanup_json json_t *m = parse_json(src, "a manifest", text, len, err);
        if (m == NULL)
                return -1;
        if (media == NULL)
                media = json_string_value(json_object_get(m, "mediaType"));
        const char *ref = json_string_value(json_object_get(json_object_get(desc, "annotations"), "org.opencontainers.image.ref.name"));
        if (media && (strstr(media, "image.index") || strstr(media, "manifest.list"))) {
                /* A multi-platform image: the manifest for this machine. */
                size_t i;
                json_t *d;
                json_array_foreach(json_object_get(m, "manifests"), i, d)
                {
                        json_t *p = json_object_get(d, "platform");
                        if (strcmp(json_string_value(json_object_get(p, "os")) ?: "", "linux") == 0 &&
                            strcmp(json_string_value(json_object_get(p, "architecture")) ?: "", host_arch()) == 0) {
                                json_t *copy = json_deep_copy(d);
                                if (ref) {
                                        json_t *ann = json_object_get(copy, "annotations");
                                        if (!json_is_object(ann))
                                                json_object_set_new(copy, "annotations", ann = json_object());
                                        json_object_set_new(ann, "org.opencontainers.image.ref.name", json_string(ref));
                                }
                                int r = load_oci_manifest(s, ns, src, copy, out, err);
                                json_decref(copy);
                                return r;
                        }
                }
                return burrow_error_set(err, 0, "`%s`: the image index %s has no manifest for linux/%s", src->name, digest, host_arch());
        }
        json_t *cdesc = json_object_get(m, "config");
        const char *cdigest = json_string_value(json_object_get(cdesc, "digest"));
        char cpath[128];
        if (blob_path(cdigest, cpath, sizeof(cpath)) < 0)
                return burrow_error_set(err, 0, "`%s`: manifest %s has no valid config digest", src->name, digest);
        size_t clen;
        cleanup_free char *ctext = read_member(src, cpath, cdigest, &clen, err);
        if (ctext == NULL)
                return -1;
        json_t *jl = json_object_get(m, "layers");
        size_t n = json_array_size(jl);
        struct loaded_layer *layers = calloc(n ? n : 1, sizeof(*layers));
        char (*paths)[128] = calloc(n ? n : 1, sizeof(*paths));
        int r = -1;
        if (layers == NULL || paths == NULL) {
                burrow_error_set(err, ENOMEM, "layers");
                goto out;
        }
        for (size_t i = 0; i < n; i++) {
                json_t *l = json_array_get(jl, i);
                layers[i].digest = json_string_value(json_object_get(l, "digest"));
                layers[i].media_type = json_string_value(json_object_get(l, "mediaType"));
                if (blob_path(layers[i].digest, paths[i], sizeof(paths[i])) < 0) {
                        burrow_error_set(err, 0, "`%s`: layer %zu of manifest %s has no valid digest", src->name, i + 1, digest);
                        goto out;
                }
                layers[i].path = paths[i];
        }
        char name[1024];
        const char *names[1] = { name };
        if (ref && name_from_ref(src, ref, name, sizeof(name), err) < 0)
                goto out;
        r = load_one(s, ns, src, ctext, clen, text, len, layers, n, names, ref ? 1 : 0, out, err);
out:
        free(layers);
        free(paths);
        return r;
}

static int load_docker(struct store *s, const struct store_ns *ns, struct source *src, FILE *out, struct burrow_error **err)
{
        size_t len;
        cleanup_free char *text = read_member(src, "manifest.json", NULL, &len, err);
        if (text == NULL)
                return -1;
        cleanup_json json_t *list = parse_json(src, "manifest.json", text, len, err);
        if (list == NULL)
                return -1;
        if (!json_is_array(list) || json_array_size(list) == 0)
                return burrow_error_set(err, 0, "`%s`: manifest.json lists no images", src->name);
        size_t i;
        json_t *entry;
        json_array_foreach(list, i, entry)
        {
                const char *config_path = json_string_value(json_object_get(entry, "Config"));
                size_t clen;
                cleanup_free char *ctext = read_member(src, config_path, NULL, &clen, err);
                if (ctext == NULL)
                        return -1;
                json_t *jl = json_object_get(entry, "Layers");
                size_t n = json_array_size(jl);
                struct loaded_layer *layers = calloc(n ? n : 1, sizeof(*layers));
                if (layers == NULL)
                        return burrow_error_set(err, ENOMEM, "layers");
                for (size_t k = 0; k < n; k++)
                        layers[k].path = json_string_value(json_array_get(jl, k));
                json_t *tags = json_object_get(entry, "RepoTags");
                size_t nt = json_array_size(tags);
                char(*names)[1024] = calloc(nt ? nt : 1, sizeof(*names));
                const char **name_ptrs = calloc(nt ? nt : 1, sizeof(char *));
                int r = names && name_ptrs ? 0 : burrow_error_set(err, ENOMEM, "names");
                for (size_t k = 0; r == 0 && k < nt; k++) {
                        r = name_from_ref(src, json_string_value(json_array_get(tags, k)) ?: "", names[k], sizeof(names[k]), err);
                        name_ptrs[k] = names[k];
                }
                if (r == 0)
                        r = load_one(s, ns, src, ctext, clen, NULL, 0, layers, n, name_ptrs, nt, out, err);
                free(layers);
                free(names);
                free(name_ptrs);
                if (r < 0)
                        return -1;
        }
        return 0;
}

/* Files of an archive, unpacked as plain files into the op directory (safely: the layer unpacker). */
static int unpack_archive(const char *path, struct store_op *op, struct burrow_error **err)
{
        cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return burrow_error_set(err, errno, "cannot open `%s` to load", path);
        if (mkdirat(op->fd, "archive", 0700) < 0)
                return burrow_error_set(err, errno, "creating a directory to read `%s`", path);
        cleanup_close int dir = openat(op->fd, "archive", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct layer_stats st;
        if (dir < 0 || layer_unpack(fd, dir, -1, &st, err) < 0)
                return burrow_error_wrap(err, "reading the archive `%s`", path);
        return 0;
}

int image_load(struct store *s, const struct store_ns *ns, const char *path, FILE *out, struct burrow_error **err)
{
        struct stat st;
        if (stat(path, &st) < 0)
                return burrow_error_set(err, errno, "cannot load `%s`", path);
        struct source src = { .dir = -1, .name = path };
        cleanup_free char *copy = strdup(path);
        if (copy == NULL)
                return burrow_error_set(err, ENOMEM, "path");
        snprintf(src.base, sizeof(src.base), "%s", basename(copy));
        char *dot = strchr(src.base, '.');
        if (dot)
                *dot = '\0';
        for (char *p = src.base; *p; p++)
                if (*p >= 'A' && *p <= 'Z')
                        *p = (char)(*p - 'A' + 'a');
        struct store_op op = { .fd = -1 };
        int r;
        if (S_ISDIR(st.st_mode)) {
                src.dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                r = src.dir < 0 ? burrow_error_set(err, errno, "cannot open `%s`", path) : 0;
        } else {
                r = store_op_begin(s, "load", &op, err);
                if (r == 0)
                        r = unpack_archive(path, &op, err);
                if (r == 0 && (src.dir = openat(op.fd, "archive", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
                        r = burrow_error_set(err, errno, "reading `%s`", path);
        }
        if (r == 0) {
                if (faccessat(src.dir, "manifest.json", F_OK, 0) == 0)
                        r = load_docker(s, ns, &src, out, err);
                else if (faccessat(src.dir, "index.json", F_OK, 0) == 0)
                        r = load_oci(s, ns, &src, out, err);
                else
                        r = burrow_error_set(err, 0, "`%s` is neither a docker-archive (manifest.json) nor an OCI image layout or "
                                                     "oci-archive (index.json)",
                                             path);
        }
        if (src.dir >= 0)
                close(src.dir);
        if (op.fd >= 0)
                store_op_end(s, &op);
        return r;
}
