/* Images in the store: import, list, tag, inspect, history, remove, prune. */
#ifndef BURROW_FS_IMAGE_H
#define BURROW_FS_IMAGE_H

#include <stdbool.h>
#include <stdio.h>

#include "fs/nsexec.h"
#include "fs/store.h"
#include "util/error.h"

/* A rootfs tarball (plain, gzip, zstd, xz, bzip2) as a one-layer image named NAME[:TAG]
 * (a name without a domain is stored as localhost/NAME, as podman does). */
int image_import(struct store *s, const struct store_ns *ns, const char *file, const char *name,
                 char id[DIGEST_STR_LEN + 1], struct burrow_error **err);

/* Now, as an RFC 3339 UTC time with nanoseconds (image configs and records). */
void image_time_now(char *buf, size_t size);

/* Give image REF the name NAME (moving the name off any image that had it). */
int image_tag(struct store *s, const char *ref, const char *name, struct burrow_error **err);

struct image_list_options {
        bool quiet;          /* -q: IDs only */
        const char *format;  /* {{.ID}} {{.Repository}} {{.Tag}} {{.Created}} {{.Size}} {{.Digest}} */
        const char *filters[8]; /* reference=GLOB, dangling=true|false */
        size_t n_filters;
};
int image_list(struct store *s, const struct image_list_options *opts, FILE *out, struct burrow_error **err);

/* JSON like `podman inspect` of an image. */
int image_inspect(struct store *s, const char *ref, FILE *out, struct burrow_error **err);
int image_history(struct store *s, const char *ref, FILE *out, struct burrow_error **err);

/* Untag REF if it is one of several names, else remove the image; then drop layers and blobs
 * no image uses (inside the store's user namespace). */
int image_remove(struct store *s, const struct store_ns *ns, const char *ref, bool force, FILE *out,
                 struct burrow_error **err);
/* Remove layers and blobs that no image refers to; *freed counts them. */
int image_prune(struct store *s, const struct store_ns *ns, unsigned *freed, struct burrow_error **err);

/* The unpacking worker (a store_ns_fn; result: struct layer_stats): unpack SRC into the op
 * directory, check the digests given, move the layer into layers/ and leave the blob as the
 * op's file "blob" for the caller to commit. */
struct image_unpack_job {
        struct store *s;
        struct store_op *op;
        int src;
        const char *want_blob;    /* checked before anything is kept (NULL: none) */
        const char *want_diff_id;
        bool replace; /* swap the layer in for the one in layers/ (migrate); keep no blob */
};
int image_unpack_worker(void *arg, void *result, struct burrow_error **err);

/* Shared by import and load. Unpack the layer blob read from SRC in the store's user namespace,
 * verifying the digests given (NULL: none) before anything is kept; store layer and blob. */
struct layer_stats;
int image_unpack_blob(struct store *s, const struct store_ns *ns, int src, const char *want_blob, const char *want_diff_id,
                      struct layer_stats *st, struct burrow_error **err);
/* Record an image and give it NAMES (full references), under the store lock. */
int image_commit(struct store *s, const char *config_digest, const char *manifest_digest, json_t *layers, json_int_t size,
                 const char *created, const char *const *names, size_t n_names, struct burrow_error **err);

/* Remove the whole store at ROOT (files of sub-IDs too, from the store's namespace) and end the
 * runroot's userns holders. ROOT must look like a store (store.json), so a wrong --root is
 * never emptied. */
int store_reset(const char *root, const struct store_ns *ns, struct burrow_error **err);

/* burrow system migrate: re-own the layers of a store filled under a single-ID map now that the
 * caller has a subordinate range (unpacking each again from its blob), then record the map. */
int image_migrate(struct store *s, const struct store_ns *ns, FILE *out, struct burrow_error **err);

/* burrow save: IMAGE as an oci-archive, or a docker-archive (DOCKER true), written to FILE. */
int image_save(struct store *s, const char *ref, const char *file, bool docker, struct burrow_error **err);

/* burrow load -i PATH: an OCI image layout directory, an oci-archive or a docker-archive. Prints
 * "Loaded image: NAME" (or the ID) for each image. */
int image_load(struct store *s, const struct store_ns *ns, const char *path, FILE *out, struct burrow_error **err);

#endif
