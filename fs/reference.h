/* Image references: [DOMAIN/]PATH[:TAG][@DIGEST], normalized as docker and podman do. */
#ifndef BURROW_FS_REFERENCE_H
#define BURROW_FS_REFERENCE_H

#include <stdbool.h>

#include "util/error.h"

struct image_ref {
        char domain[256];  /* "docker.io", "localhost:5000"... empty if none was given */
        char path[512];    /* "library/debian" */
        char tag[130];     /* "latest" if none was given (and no digest) */
        char digest[80];   /* "sha256:..." or empty */
};

/* Parse REF. default_domain fills a missing domain ("docker.io" for pulls, "localhost" for
 * local names such as imports); NULL leaves it empty. A docker.io path of one component gets
 * "library/". Errors name the reference and what is wrong with it. */
int image_ref_parse(const char *ref, const char *default_domain, struct image_ref *out, struct burrow_error **err);

/* "domain/path:tag" (or "domain/path@digest") into buf. */
const char *image_ref_format(const struct image_ref *ref, char *buf, size_t size);

#endif
