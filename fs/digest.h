/* sha256 digests ("sha256:<64 hex>") with OpenSSL's libcrypto. */
#ifndef BURROW_FS_DIGEST_H
#define BURROW_FS_DIGEST_H

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

#define DIGEST_HEX_LEN 64
#define DIGEST_STR_LEN (7 + DIGEST_HEX_LEN) /* "sha256:" + hex */

struct digester;

struct digester *digester_new(void);
void digester_update(struct digester *d, const void *data, size_t len);
/* Finish into out ("sha256:..."); the digester can be freed afterwards. */
void digester_final(struct digester *d, char out[DIGEST_STR_LEN + 1]);
void digester_free(struct digester *d);

/* One-shot. */
void digest_buffer(const void *data, size_t len, char out[DIGEST_STR_LEN + 1]);

/* "sha256:<64 lowercase hex>" and nothing else. */
bool digest_valid(const char *digest);
/* The hex part of a valid digest. */
static inline const char *digest_hex(const char *digest) { return digest + 7; }

#endif
