/* Pulling images over the OCI distribution API with libcurl. */
#ifndef BURROW_FS_REGISTRY_H
#define BURROW_FS_REGISTRY_H

#include <stdbool.h>
#include <stdio.h>

#include "fs/image.h"
#include "util/error.h"

struct pull_options {
        const char *platform;  /* "os/arch[/variant]"; NULL: this machine */
        int tls_verify;        /* 1 verify, 0 don't (and allow plain HTTP), -1 from the registries config */
        const char *cert_dir;  /* CA certificates: CERT_DIR/HOST:PORT/ca.crt; NULL: CONFIG/certs.d */
        const char *config_dir; /* burrow's config directory ($XDG_CONFIG_HOME/burrow) */
        bool quiet;
        const char *user;     /* login */
        const char *password; /* login */
        bool password_stdin;  /* login */
};

/* burrow pull REF: manifests (OCI or Docker schema2, indexes and manifest lists), config and
 * layers, digests checked, layers fetched side by side and unpacked while they stream; a layer
 * already in the store is not fetched again. Prints the image ID. */
int image_pull(struct store *s, const struct store_ns *ns, const char *ref, const struct pull_options *opts, FILE *out,
               struct burrow_error **err);

/* burrow push IMAGE [DEST]: the stored manifest, config and layer blobs as they are (so the
 * manifest digest stays the same); blobs the registry has are not sent. Prints the digest. */
int image_push(struct store *s, const char *src, const char *dest, const struct pull_options *opts, FILE *out,
               struct burrow_error **err);

/* burrow login: check USER and PASSWORD against REGISTRY, then keep them (base64, as docker
 * and podman do) in $REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json or
 * ~/.config/containers/auth.json (mode 0600). */
int registry_login(const char *registry, const char *user, const char *password, const struct pull_options *opts, FILE *out,
                   struct burrow_error **err);
int registry_logout(const char *registry, FILE *out, struct burrow_error **err);

#endif
