/* burrow save: an image out of the store as an oci-archive or a docker-archive. */
#include "config.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fs/image.h"
#include "fs/reference.h"
#include "util/fsutil.h"
#include "util/dl.h" /* last: calls to libarchive, libcurl, libcrypto go through it */

static void cleanup_jsonp(json_t **j)
{
        json_decref(*j);
}
#define cleanup_json __attribute__((cleanup(cleanup_jsonp)))

static int add_bytes(struct archive *a, const char *name, const void *data, size_t len, struct burrow_error **err)
{
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, name);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_size(e, (la_int64_t)len);
        archive_entry_set_mtime(e, 0, 0); /* reproducible archives */
        int r = archive_write_header(a, e);
        archive_entry_free(e);
        if (r != ARCHIVE_OK || (len && archive_write_data(a, data, len) != (la_ssize_t)len))
                return burrow_error_set(err, 0, "writing `%s` into the archive: %s", name, archive_error_string(a));
        return 0;
}

static int add_blob(struct archive *a, struct store *s, const char *digest, struct burrow_error **err)
{
        char path[128], name[128];
        snprintf(path, sizeof(path), "blobs/sha256/%s", digest_hex(digest));
        snprintf(name, sizeof(name), "blobs/sha256/%s", digest_hex(digest));
        cleanup_close int fd = openat(s->fd, path, O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0)
                return burrow_error_set(err, errno, "blob %s is missing from `%s`; pull the image again", digest, s->root);
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, name);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_size(e, st.st_size);
        archive_entry_set_mtime(e, 0, 0);
        int r = archive_write_header(a, e);
        archive_entry_free(e);
        if (r != ARCHIVE_OK)
                return burrow_error_set(err, 0, "writing blob %s: %s", digest, archive_error_string(a));
        char buf[128 * 1024];
        ssize_t n;
        while ((n = read(fd, buf, sizeof(buf))) > 0)
                if (archive_write_data(a, buf, (size_t)n) != n)
                        return burrow_error_set(err, 0, "writing blob %s: %s", digest, archive_error_string(a));
        if (n < 0)
                return burrow_error_set(err, errno, "reading blob %s", digest);
        return 0;
}

int image_save(struct store *s, const char *ref, const char *file, bool docker, struct burrow_error **err)
{
        char id[DIGEST_STR_LEN + 1];
        if (store_resolve(s, ref, id, err) < 0)
                return -1;
        cleanup_json json_t *rec = store_image_read(s, id, err);
        if (rec == NULL)
                return -1;
        const char *manifest_digest = json_string_value(json_object_get(rec, "manifest"));
        cleanup_free char *manifest = NULL;
        size_t mlen;
        if (store_blob_read(s, manifest_digest, &manifest, &mlen, err) < 0)
                return -1;
        json_error_t je;
        cleanup_json json_t *m = json_loadb(manifest, mlen, 0, &je);
        if (m == NULL)
                return burrow_error_set(err, 0, "the stored manifest of %s is not valid JSON", ref);
        /* Written next to the target and renamed: a half-written archive never has its name. */
        char tmp[PATH_MAX];
        snprintf(tmp, sizeof(tmp), "%s.burrow-tmp-%d", file, (int)getpid());
        struct archive *a = archive_write_new();
        archive_write_set_format_pax_restricted(a);
        if (archive_write_open_filename(a, tmp) != ARCHIVE_OK) {
                burrow_error_set(err, 0, "cannot write `%s`: %s", file, archive_error_string(a));
                archive_write_free(a);
                return -1;
        }
        int r = 0;
        json_t *names = json_object_get(rec, "names");
        const char *config_digest = json_string_value(json_object_get(json_object_get(m, "config"), "digest"));
        json_t *layers = json_object_get(m, "layers");
        size_t i;
        json_t *l;
        r = add_blob(a, s, config_digest, err);
        json_array_foreach(layers, i, l) if (r == 0) r = add_blob(a, s, json_string_value(json_object_get(l, "digest")), err);
        if (r == 0)
                r = add_blob(a, s, manifest_digest, err);
        if (r == 0 && docker) {
                /* docker-archive: manifest.json naming the config and the layer blobs */
                cleanup_json json_t *paths = json_array();
                json_array_foreach(layers, i, l)
                {
                        char p[128];
                        snprintf(p, sizeof(p), "blobs/sha256/%s", digest_hex(json_string_value(json_object_get(l, "digest"))));
                        json_array_append_new(paths, json_string(p));
                }
                char cp[128];
                snprintf(cp, sizeof(cp), "blobs/sha256/%s", digest_hex(config_digest));
                cleanup_json json_t *tags = json_array();
                json_array_foreach(names, i, l)
                {
                        /* docker writes docker.io names short */
                        const char *n = json_string_value(l);
                        if (strncmp(n, "docker.io/library/", 18) == 0)
                                n += 18;
                        else if (strncmp(n, "docker.io/", 10) == 0)
                                n += 10;
                        json_array_append_new(tags, json_string(n));
                }
                cleanup_json json_t *dm = json_pack("[{s:s, s:O, s:O}]", "Config", cp, "RepoTags", tags, "Layers", paths);
                cleanup_free char *text = dm ? json_dumps(dm, JSON_COMPACT) : NULL;
                r = text ? add_bytes(a, "manifest.json", text, strlen(text), err) : burrow_error_set(err, ENOMEM, "manifest.json");
        } else if (r == 0) {
                const char *layout = "{\"imageLayoutVersion\":\"1.0.0\"}";
                const char *first = json_string_value(json_array_get(names, 0));
                struct image_ref ir;
                struct burrow_error *perr = NULL;
                char tag[160] = "";
                if (first && image_ref_parse(first, NULL, &ir, &perr) == 0)
                        snprintf(tag, sizeof(tag), "%s", ir.tag);
                burrow_error_free(perr);
                cleanup_json json_t *index = json_pack("{s:i, s:[{s:s, s:s, s:I}]}", "schemaVersion", 2, "manifests", "mediaType",
                                                       json_string_value(json_object_get(m, "mediaType"))
                                                               ?: "application/vnd.oci.image.manifest.v1+json",
                                                       "digest", manifest_digest, "size", (json_int_t)mlen);
                if (index && tag[0])
                        json_object_set_new(json_array_get(json_object_get(index, "manifests"), 0), "annotations",
                                            json_pack("{s:s}", "org.opencontainers.image.ref.name", tag));
                cleanup_free char *text = index ? json_dumps(index, JSON_COMPACT) : NULL;
                r = add_bytes(a, "oci-layout", layout, strlen(layout), err);
                if (r == 0)
                        r = text ? add_bytes(a, "index.json", text, strlen(text), err) : burrow_error_set(err, ENOMEM, "index.json");
        }
        if (archive_write_close(a) != ARCHIVE_OK && r == 0)
                r = burrow_error_set(err, 0, "finishing `%s`: %s", file, archive_error_string(a));
        archive_write_free(a);
        if (r == 0 && rename(tmp, file) < 0)
                r = burrow_error_set(err, errno, "renaming the archive to `%s`", file);
        if (r < 0)
                unlink(tmp);
        return r;
}
