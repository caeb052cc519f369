#include "config.h"

#include "fs/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "fs/reference.h"
#include "util/fsutil.h"
#include "util/log.h"

#define STORE_FORMAT 1

char *store_default_root(void)
{
        char *out = NULL;
        const char *xdg = getenv("XDG_DATA_HOME");
        const char *home = getenv("HOME");
        if (xdg && xdg[0] == '/') {
                if (asprintf(&out, "%s/burrow", xdg) < 0)
                        return NULL;
        } else if (asprintf(&out, "%s/.local/share/burrow", home && *home ? home : "/tmp") < 0) {
                return NULL;
        }
        return out;
}

char *config_dir_default(void)
{
        char *out = NULL;
        const char *xdg = getenv("XDG_CONFIG_HOME");
        const char *home = getenv("HOME");
        if (xdg && xdg[0] == '/') {
                if (asprintf(&out, "%s/burrow", xdg) < 0)
                        return NULL;
        } else if (asprintf(&out, "%s/.config/burrow", home && *home ? home : "/tmp") < 0) {
                return NULL;
        }
        return out;
}

/* Network filesystems cannot hold sub-ID owned files or overlay upper dirs reliably. */
static void warn_network_fs(const char *root, int fd)
{
        static const struct {
                unsigned long magic;
                const char *name;
        } bad[] = {
                { 0x6969, "NFS" }, { 0x0BD00BD0, "Lustre" }, { 0x47504653, "GPFS" }, { 0xFF534D42, "CIFS" },
                { 0x65735546, "FUSE" },
        };
        struct statfs sf;
        if (fstatfs(fd, &sf) < 0)
                return;
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                if ((unsigned long)sf.f_type == bad[i].magic)
                        burrow_warn("the image store `%s` is on %s, where files owned by subordinate IDs and overlay upper "
                                    "directories do not work reliably; put it on local disk with --root DIR, or for good with "
                                    "{\"root\": \"/local/scratch/$USER/burrow\"} in ~/.config/burrow/burrow.json (any "
                                    "node-local directory)",
                                    root, bad[i].name);
}

int store_open(const char *root, struct store **out, struct burrow_error **err)
{
        if (mkdir_parents(root, 0700) < 0)
                return burrow_error_set(err, errno, "creating the image store `%s` (choose another with --root DIR)", root);
        cleanup_close int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return burrow_error_set(err, errno, "opening the image store `%s`", root);
        static const char *const dirs[] = { "blobs", "blobs/sha256", "layers", "images", "tmp" };
        for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
                if (mkdirat(fd, dirs[i], 0700) < 0 && errno != EEXIST)
                        return burrow_error_set(err, errno, "creating `%s/%s`", root, dirs[i]);
        struct stat st;
        if (fstatat(fd, "store.json", &st, 0) < 0) {
                if (errno != ENOENT)
                        return burrow_error_set(err, errno, "`%s/store.json`", root);
                warn_network_fs(root, fd);
                json_t *meta = json_pack("{s:i}", "format", STORE_FORMAT);
                int r = meta ? store_write_json_at(fd, "store.json", meta, err) : burrow_error_set(err, ENOMEM, "store.json");
                json_decref(meta);
                if (r < 0)
                        return -1;
        } else {
                cleanup_free char *text = NULL;
                if (read_file_at(fd, "store.json", &text, NULL, err) < 0)
                        return -1;
                json_error_t je;
                json_t *meta = json_loads(text, 0, &je);
                json_int_t format = meta ? json_integer_value(json_object_get(meta, "format")) : 0;
                json_decref(meta);
                if (format != STORE_FORMAT)
                        return burrow_error_set(err, 0, "`%s/store.json` is damaged or of another format (%lld, this burrow "
                                                        "reads %d); run `burrow system reset` or use another --root",
                                                root, (long long)format, STORE_FORMAT);
        }
        struct store *s = calloc(1, sizeof(*s));
        if (s == NULL || (s->root = strdup(root)) == NULL) {
                free(s);
                return burrow_error_set(err, ENOMEM, "store");
        }
        s->fd = steal_fd(&fd);
        /* What killed operations left; files of sub-IDs in there wait for the next unpacking
         * worker, which runs in the store's namespace. */
        store_clean_tmp(s);
        *out = s;
        return 0;
}

void store_free(struct store *s)
{
        if (s == NULL)
                return;
        if (s->fd >= 0)
                close(s->fd);
        free(s->root);
        free(s);
}

int store_lock(struct store *s, struct burrow_error **err)
{
        int fd = openat(s->fd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0)
                return burrow_error_set(err, errno, "opening `%s/lock`", s->root);
        if (TEMP_FAILURE_RETRY_INT(flock(fd, LOCK_EX)) < 0) {
                close(fd);
                return burrow_error_set(err, errno, "locking `%s/lock`", s->root);
        }
        return fd;
}

/* tmp/ itself is flock'ed while an operation directory is made and locked, and while leftovers
 * are swept: a sweeper never sees a new directory in the moment before its owner locks it. */
static int lock_tmp(struct store *s)
{
        int fd = openat(s->fd, "tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0 && TEMP_FAILURE_RETRY_INT(flock(fd, LOCK_EX)) < 0) {
                close(fd);
                return -1;
        }
        return fd;
}

int store_op_begin(struct store *s, const char *kind, struct store_op *op, struct burrow_error **err)
{
        cleanup_close int tmp_lock = lock_tmp(s);
        if (tmp_lock < 0)
                return burrow_error_set(err, errno, "locking `%s/tmp`", s->root);
        for (int attempt = 0; attempt < 16; attempt++) {
                char hex[17];
                if (random_hex(hex, 8, err) < 0)
                        return -1;
                snprintf(op->name, sizeof(op->name), "tmp/%s-%s", kind, hex);
                if (mkdirat(s->fd, op->name, 0700) < 0) {
                        if (errno == EEXIST)
                                continue;
                        return burrow_error_set(err, errno, "creating `%s/%s`", s->root, op->name);
                }
                op->fd = openat(s->fd, op->name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (op->fd < 0 || flock(op->fd, LOCK_EX | LOCK_NB) < 0)
                        return burrow_error_set(err, errno, "locking `%s/%s`", s->root, op->name);
                return 0;
        }
        return burrow_error_set(err, EEXIST, "creating a directory in `%s/tmp`", s->root);
}

int store_op_adopt(struct store *s, const char *kind, int at, const char *name, struct store_op *op,
                   struct burrow_error **err)
{
        op->fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (op->fd < 0)
                return burrow_error_set(err, errno, "opening `%s/%s`", s->root, name);
        /* locked before it shows in tmp/, moved while tmp/ is locked: no sweep takes it early */
        if (flock(op->fd, LOCK_EX | LOCK_NB) < 0) {
                int e = errno;
                store_op_forget(op);
                return burrow_error_set(err, e, "locking `%s/%s`", s->root, name);
        }
        cleanup_close int tmp_lock = lock_tmp(s);
        if (tmp_lock < 0) {
                int e = errno;
                store_op_forget(op);
                return burrow_error_set(err, e, "locking `%s/tmp`", s->root);
        }
        for (int attempt = 0; attempt < 16; attempt++) {
                char hex[17];
                if (random_hex(hex, 8, err) < 0)
                        break;
                snprintf(op->name, sizeof(op->name), "tmp/%s-%s", kind, hex);
                if (renameat2(at, name, s->fd, op->name, RENAME_NOREPLACE) == 0)
                        return 0;
                if (errno != EEXIST) {
                        burrow_error_set(err, errno, "moving `%s/%s` to `%s/%s`", s->root, name, s->root, op->name);
                        break;
                }
        }
        if (err && *err == NULL)
                burrow_error_set(err, EEXIST, "moving `%s/%s` into `%s/tmp`", s->root, name, s->root);
        store_op_forget(op);
        return -1;
}

int store_op_commit(struct store *s, struct store_op *op, int at, const char *dest, struct burrow_error **err)
{
        if (renameat(s->fd, op->name, at, dest) < 0)
                return burrow_error_set(err, errno, "moving `%s/%s` to `%s`", s->root, op->name, dest);
        store_op_forget(op);
        return 0;
}

int store_remove_tree(int at, const char *name)
{
        struct stat st;
        if (fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : -1;
        if (!S_ISDIR(st.st_mode))
                return unlinkat(at, name, 0);
        int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -1;
        /* A directory without write or search permission (0555 in images) blocks its own
         * emptying: give it back to ourselves first. */
        fchmod(fd, 0700);
        cleanup_closedir DIR *d = fdopendir(fd);
        if (d == NULL) {
                close(fd);
                return -1;
        }
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                if (store_remove_tree(dirfd(d), de->d_name) < 0)
                        return -1;
        }
        return unlinkat(at, name, AT_REMOVEDIR);
}

void store_op_forget(struct store_op *op)
{
        if (op->fd >= 0)
                close(op->fd);
        op->fd = -1;
}

void store_op_end(struct store *s, struct store_op *op)
{
        if (op->fd < 0)
                return;
        store_remove_tree(s->fd, op->name);
        close(op->fd);
        op->fd = -1;
}

void store_clean_tmp(struct store *s)
{
        cleanup_close int tmp = lock_tmp(s);
        if (tmp < 0)
                return;
        int dfd = fcntl(tmp, F_DUPFD_CLOEXEC, 3);
        cleanup_closedir DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
        if (d == NULL)
                return;
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
                if (de->d_name[0] == '.')
                        continue;
                cleanup_close int fd = openat(tmp, de->d_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
                if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0)
                        continue; /* a running operation's */
                if (store_remove_tree(tmp, de->d_name) == 0)
                        burrow_debug("removed the leftover `%s/tmp/%s`", s->root, de->d_name);
        }
}

static void blob_path(const char *digest, char *buf, size_t size)
{
        snprintf(buf, size, "blobs/sha256/%s", digest_hex(digest));
}

bool store_blob_exists(struct store *s, const char *digest)
{
        char p[128];
        blob_path(digest, p, sizeof(p));
        return faccessat(s->fd, p, F_OK, 0) == 0;
}

int store_blob_commit(struct store *s, struct store_op *op, const char *name, const char *digest, struct burrow_error **err)
{
        char p[128];
        blob_path(digest, p, sizeof(p));
        cleanup_close int fd = openat(op->fd, name, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || fsync(fd) < 0)
                return burrow_error_set(err, errno, "syncing blob %s", digest);
        if (renameat(op->fd, name, s->fd, p) < 0)
                return burrow_error_set(err, errno, "storing blob %s in `%s`", digest, s->root);
        return 0;
}

int store_blob_put(struct store *s, const void *data, size_t len, char digest[DIGEST_STR_LEN + 1], struct burrow_error **err)
{
        digest_buffer(data, len, digest);
        if (store_blob_exists(s, digest))
                return 0;
        struct store_op op;
        if (store_op_begin(s, "blob", &op, err) < 0)
                return -1;
        int r = write_file_at(op.fd, "data", data, len, 0600, err);
        if (r == 0)
                r = store_blob_commit(s, &op, "data", digest, err);
        store_op_end(s, &op);
        return r;
}

int store_blob_read_trusted(struct store *s, const char *digest, char **data, size_t *len, struct burrow_error **err)
{
        if (!digest_valid(digest))
                return burrow_error_set(err, 0, "`%s` is not a sha256 digest", digest);
        char p[128];
        blob_path(digest, p, sizeof(p));
        if (read_file_at(s->fd, p, data, len, err) < 0)
                return burrow_error_wrap(err, "reading blob %s from `%s`", digest, s->root);
        return 0;
}

int store_blob_read(struct store *s, const char *digest, char **data, size_t *len, struct burrow_error **err)
{
        if (store_blob_read_trusted(s, digest, data, len, err) < 0)
                return -1;
        char got[DIGEST_STR_LEN + 1];
        digest_buffer(*data, *len, got);
        if (strcmp(got, digest) != 0) {
                free(*data);
                *data = NULL;
                return burrow_error_set(err, 0, "blob %s in `%s` is corrupt (its content hashes to %s); remove the image and "
                                                "pull or load it again",
                                        digest, s->root, got);
        }
        return 0;
}

bool store_layer_exists(struct store *s, const char *diff_id)
{
        char p[128];
        snprintf(p, sizeof(p), "layers/%s", digest_hex(diff_id));
        return faccessat(s->fd, p, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

static int write_json_at(int dirfd, const char *name, json_t *value, bool sync, struct burrow_error **err)
{
        cleanup_free char *text = json_dumps(value, JSON_INDENT(2) | JSON_SORT_KEYS);
        if (text == NULL)
                return burrow_error_set(err, ENOMEM, "encoding `%s`", name);
        char tmp[PATH_MAX];
        snprintf(tmp, sizeof(tmp), "%s.tmp-%d", name, (int)getpid());
        cleanup_close int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0)
                return burrow_error_set(err, errno, "writing `%s`", tmp);
        size_t len = strlen(text);
        if (write(fd, text, len) != (ssize_t)len || write(fd, "\n", 1) != 1 || (sync && fsync(fd) < 0)) {
                int e = errno;
                unlinkat(dirfd, tmp, 0);
                return burrow_error_set(err, e, "writing `%s`", tmp);
        }
        if (renameat(dirfd, tmp, dirfd, name) < 0) {
                int e = errno;
                unlinkat(dirfd, tmp, 0);
                return burrow_error_set(err, e, "renaming `%s` into place", name);
        }
        return 0;
}

int store_write_json_at(int dirfd, const char *name, json_t *value, struct burrow_error **err)
{
        return write_json_at(dirfd, name, value, true, err);
}

int store_write_state_json_at(int dirfd, const char *name, json_t *value, struct burrow_error **err)
{
        return write_json_at(dirfd, name, value, false, err);
}

static json_t *read_json_at(int dirfd, const char *name, const char *root, struct burrow_error **err)
{
        cleanup_free char *text = NULL;
        if (read_file_at(dirfd, name, &text, NULL, err) < 0)
                return NULL;
        json_error_t je;
        json_t *v = json_loads(text, 0, &je);
        if (v == NULL)
                burrow_error_set(err, 0, "`%s/%s` is not valid JSON (line %d: %s)", root, name, je.line, je.text);
        return v;
}

json_t *store_meta_read(struct store *s, struct burrow_error **err)
{
        return read_json_at(s->fd, "store.json", s->root, err);
}

void store_sort_newest_first(json_t *records)
{
        /* insertion sort on "created" (ISO 8601 sorts as text); lists are short */
        for (size_t i = 1; i < json_array_size(records); i++)
                for (size_t j = i; j > 0; j--) {
                        const char *a = json_string_value(json_object_get(json_array_get(records, j - 1), "created"));
                        const char *b = json_string_value(json_object_get(json_array_get(records, j), "created"));
                        if (a && b && strcmp(a, b) >= 0)
                                break;
                        json_t *tmp = json_incref(json_array_get(records, j - 1));
                        json_array_set(records, j - 1, json_array_get(records, j));
                        json_array_set_new(records, j, tmp);
                }
}

int store_image_write(struct store *s, const char *id, json_t *record, struct burrow_error **err)
{
        char p[128];
        snprintf(p, sizeof(p), "images/%s.json", digest_hex(id));
        return store_write_json_at(s->fd, p, record, err);
}

json_t *store_image_read(struct store *s, const char *id, struct burrow_error **err)
{
        char p[128];
        snprintf(p, sizeof(p), "images/%s.json", digest_hex(id));
        return read_json_at(s->fd, p, s->root, err);
}

json_t *store_tags_read(struct store *s, struct burrow_error **err)
{
        struct stat st;
        if (fstatat(s->fd, "tags.json", &st, 0) < 0 && errno == ENOENT)
                return json_object();
        return read_json_at(s->fd, "tags.json", s->root, err);
}

int store_tags_write(struct store *s, json_t *tags, struct burrow_error **err)
{
        return store_write_json_at(s->fd, "tags.json", tags, err);
}

static bool is_hex(const char *p)
{
        if (*p == '\0')
                return false;
        for (; *p; p++)
                if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
                        return false;
        return true;
}

int store_resolve(struct store *s, const char *ref, char id[DIGEST_STR_LEN + 1], struct burrow_error **err)
{
        const char *hex = strncmp(ref, "sha256:", 7) == 0 ? ref + 7 : ref;
        if (is_hex(hex) && strlen(hex) >= 3 && strlen(hex) <= DIGEST_HEX_LEN) {
                cleanup_close int dfd = openat(s->fd, "images", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                cleanup_closedir DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
                if (d)
                        dfd = -1;
                int found = 0;
                struct dirent *de;
                while (d && (de = readdir(d)) != NULL) {
                        if (strncmp(de->d_name, hex, strlen(hex)) == 0 && strlen(de->d_name) == DIGEST_HEX_LEN + 5) {
                                if (found++ == 0)
                                        snprintf(id, DIGEST_STR_LEN + 1, "sha256:%.64s", de->d_name);
                        }
                }
                if (found == 1)
                        return 0;
                if (found > 1)
                        return burrow_error_set(err, 0, "image ID prefix `%s` is ambiguous (%d images); give more characters", ref, found);
        }
        json_t *tags = store_tags_read(s, err);
        if (tags == NULL)
                return -1;
        /* A name without a domain is looked for as a local image first, then as docker.io's. */
        static const char *const domains[] = { "localhost", "docker.io" };
        struct image_ref r;
        struct burrow_error *perr = NULL;
        for (size_t i = 0; i < 2; i++) {
                if (image_ref_parse(ref, domains[i], &r, &perr) < 0)
                        break;
                char name[1024];
                image_ref_format(&r, name, sizeof(name));
                json_t *v = json_object_get(tags, name);
                if (json_is_string(v) && digest_valid(json_string_value(v))) {
                        snprintf(id, DIGEST_STR_LEN + 1, "%s", json_string_value(v));
                        json_decref(tags);
                        return 0;
                }
        }
        json_decref(tags);
        if (perr) {
                *err = perr;
                return -1;
        }
        return burrow_error_set_code(err, BURROW_EXIT_FAILURE, 0, "image `%s` is not in the store `%s` (see `burrow images`)",
                                     ref, s->root);
}
