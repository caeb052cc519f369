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
};

/* burrow pull REF: manifests (OCI or Docker schema2, indexes and manifest lists), config and
 * layers, digests checked, layers fetched side by side and unpacked while they stream; a layer
 * already in the store is not fetched again. Prints the image ID. */
int image_pull(struct store *s, const struct store_ns *ns, const char *ref, const struct pull_options *opts, FILE *out,
               struct burrow_error **err);

#endif
