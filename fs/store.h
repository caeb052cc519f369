/* The per-user content-addressed image store.
 *
 *   ROOT/store.json            format version, the ID map the store was first filled under
 *   ROOT/blobs/sha256/HEX      manifests, configs, layer blobs, verified when written
 *   ROOT/layers/HEX            unpacked layers by diffID, shared between images
 *   ROOT/images/HEX.json       image records (HEX = the config digest = the image ID)
 *   ROOT/tags.json             "domain/path:tag" -> image ID
 *   ROOT/tmp/KIND-XXXXXX/      one directory per operation, flock'ed while it runs
 *   ROOT/lock                  flock for metadata (images, tags)
 *
 * Everything becomes visible by rename(2) once complete and synced; a crash leaves the old
 * state plus an unlocked tmp/ directory that a later operation removes. */
#ifndef BURROW_FS_STORE_H
#define BURROW_FS_STORE_H

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>

#include "fs/digest.h"
#include "util/error.h"

struct store {
        char *root;
        int fd;
        bool warned_map; /* the single-ID-map warning was given */
};

/* $XDG_DATA_HOME/burrow, else ~/.local/share/burrow (a new string). */
char *store_default_root(void);
/* burrow's configuration: $XDG_CONFIG_HOME/burrow, else ~/.config/burrow (a new string). */
char *config_dir_default(void);
int store_open(const char *root, struct store **out, struct burrow_error **err);
void store_free(struct store *s);
static inline void cleanup_storep(struct store **s)
{
        store_free(*s);
}
#define cleanup_store __attribute__((cleanup(cleanup_storep)))

/* Exclusive lock on the store's metadata; returns the fd holding it. */
int store_lock(struct store *s, struct burrow_error **err);

struct store_op {
        int fd; /* the operation's directory, flock'ed */
        char name[64];
};
int store_op_begin(struct store *s, const char *kind, struct store_op *op, struct burrow_error **err);
/* Take the directory AT/NAME out of sight as an op directory of KIND (for removal: a sweep of
 * tmp/ finishes it if this process dies). */
int store_op_adopt(struct store *s, const char *kind, int at, const char *name, struct store_op *op,
                   struct burrow_error **err);
/* The op directory itself becomes AT/DEST (made complete in there), and is released. */
int store_op_commit(struct store *s, struct store_op *op, int at, const char *dest, struct burrow_error **err);
/* Remove the (empty or plain-file) op directory and release it. */
void store_op_end(struct store *s, struct store_op *op);
/* Close our descriptor of an op directory another process (a child) now holds and ends. */
void store_op_forget(struct store_op *op);
/* Remove tmp/ directories nobody holds. Files there may belong to sub-IDs: call it where the
 * store's user namespace is in effect. */
void store_clean_tmp(struct store *s);
/* Remove a directory tree under dirfd (as far as this process may). */
int store_remove_tree(int at, const char *name);

int store_blob_put(struct store *s, const void *data, size_t len, char digest[DIGEST_STR_LEN + 1], struct burrow_error **err);
/* Move a complete file NAME of the op directory into the blobs, as DIGEST (already verified). */
int store_blob_commit(struct store *s, struct store_op *op, const char *name, const char *digest, struct burrow_error **err);
int store_blob_read(struct store *s, const char *digest, char **data, size_t *len, struct burrow_error **err);
/* Without hashing it again (it was checked when stored): for the image config that every
 * `burrow run` reads, where loading libcrypto and hashing would cost a tenth of the start-up. */
int store_blob_read_trusted(struct store *s, const char *digest, char **data, size_t *len, struct burrow_error **err);
bool store_blob_exists(struct store *s, const char *digest);

bool store_layer_exists(struct store *s, const char *diff_id);

/* Image records and tags; the caller holds store_lock for writes. */
int store_image_write(struct store *s, const char *id, json_t *record, struct burrow_error **err);
json_t *store_image_read(struct store *s, const char *id, struct burrow_error **err);
json_t *store_tags_read(struct store *s, struct burrow_error **err);
int store_tags_write(struct store *s, json_t *tags, struct burrow_error **err);
/* Resolve a name, an ID or a unique ID prefix to an image ID ("sha256:..."). */
int store_resolve(struct store *s, const char *ref, char id[DIGEST_STR_LEN + 1], struct burrow_error **err);
/* ROOT/store.json (a new reference), or NULL with an error naming the file. */
json_t *store_meta_read(struct store *s, struct burrow_error **err);
/* Order records (objects with an ISO 8601 "created") newest first, in place. */
void store_sort_newest_first(json_t *records);
/* Write a JSON value to dirfd/name atomically (temp file, fsync, rename). */
int store_write_json_at(int dirfd, const char *name, json_t *value, struct burrow_error **err);
/* The same without fsync, for a container's records: runtime state, rewritten at every start
 * and exit (a crash of the machine loses at most a record the next `ps` passes over), where
 * a journal commit per write would be a good part of a container's start-up. */
int store_write_state_json_at(int dirfd, const char *name, json_t *value, struct burrow_error **err);

#endif
