#include "config.h"

#include "fs/digest.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "util/dl.h" /* last: calls to libarchive, libcurl, libcrypto go through it */

struct digester {
        EVP_MD_CTX *ctx;
};

struct digester *digester_new(void)
{
        struct digester *d = calloc(1, sizeof(*d));
        if (d == NULL)
                return NULL;
        d->ctx = EVP_MD_CTX_new();
        if (d->ctx == NULL || EVP_DigestInit_ex(d->ctx, EVP_sha256(), NULL) != 1) {
                digester_free(d);
                return NULL;
        }
        return d;
}

void digester_update(struct digester *d, const void *data, size_t len)
{
        EVP_DigestUpdate(d->ctx, data, len);
}

void digester_final(struct digester *d, char out[DIGEST_STR_LEN + 1])
{
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int n = 0;
        EVP_DigestFinal_ex(d->ctx, md, &n);
        memcpy(out, "sha256:", 7);
        for (unsigned int i = 0; i < n && i < 32; i++)
                snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
        out[DIGEST_STR_LEN] = '\0';
}

void digester_free(struct digester *d)
{
        if (d == NULL)
                return;
        EVP_MD_CTX_free(d->ctx);
        free(d);
}

void digest_buffer(const void *data, size_t len, char out[DIGEST_STR_LEN + 1])
{
        struct digester *d = digester_new();
        if (d == NULL) {
                out[0] = '\0';
                return;
        }
        digester_update(d, data, len);
        digester_final(d, out);
        digester_free(d);
}

bool digest_valid(const char *digest)
{
        if (digest == NULL || strncmp(digest, "sha256:", 7) != 0 || strlen(digest) != DIGEST_STR_LEN)
                return false;
        for (const char *p = digest + 7; *p; p++)
                if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
                        return false;
        return true;
}
