#include "config.h"

#define DL_NO_REDIRECT
#include "util/dl.h"

#include <dlfcn.h>
#include <stdbool.h>
#include <stddef.h>

#include "util/log.h"

struct dl_archive dl_archive;
struct dl_curl dl_curl;
struct dl_crypto dl_crypto;
struct dl_slirp dl_slirp;

struct dl_lib {
        const char *soname;    /* from configure: the library burrow was built against */
        const char *package;   /* what to install when it is missing */
        const char *const *names;
        size_t n;
        int state; /* 0: not tried, 1: loaded, -1: failed */
};

#define DL_NAME(name) #name,
#define DL_SLOT(name) (void **)&dl_archive.name,
static const char *const archive_names[] = { DL_ARCHIVE_SYMS(DL_NAME) };
static void **const archive_slots[] = { DL_ARCHIVE_SYMS(DL_SLOT) };
#undef DL_SLOT
#define DL_SLOT(name) (void **)&dl_curl.name,
static const char *const curl_names[] = { DL_CURL_SYMS(DL_NAME) };
static void **const curl_slots[] = { DL_CURL_SYMS(DL_SLOT) };
#undef DL_SLOT
#define DL_SLOT(name) (void **)&dl_crypto.name,
static const char *const crypto_names[] = { DL_CRYPTO_SYMS(DL_NAME) };
static void **const crypto_slots[] = { DL_CRYPTO_SYMS(DL_SLOT) };
#undef DL_SLOT
#define DL_SLOT(name) (void **)&dl_slirp.name,
static const char *const slirp_names[] = { DL_SLIRP_SYMS(DL_NAME) };
static void **const slirp_slots[] = { DL_SLIRP_SYMS(DL_SLOT) };
#undef DL_SLOT
#undef DL_NAME

static int load(struct dl_lib *lib, void **const *slots)
{
        if (lib->state)
                return lib->state > 0 ? 0 : -1;
        lib->state = -1;
        void *h = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
        if (h == NULL) {
                burrow_warn("cannot load %s: %s (as root: apt-get install %s)", lib->soname, dlerror(), lib->package);
                return -1;
        }
        for (size_t i = 0; i < lib->n; i++) {
                void *sym = dlsym(h, lib->names[i]);
                if (sym == NULL) {
                        burrow_warn("%s has no %s: burrow was built against another version of it", lib->soname, lib->names[i]);
                        return -1;
                }
                *slots[i] = sym;
        }
        lib->state = 1;
        return 0;
}

int dl_archive_load(void)
{
        static struct dl_lib lib = { BURROW_LIBARCHIVE_SONAME, "libarchive13", archive_names,
                                     sizeof(archive_names) / sizeof(archive_names[0]), 0 };
        return load(&lib, archive_slots);
}

int dl_curl_load(void)
{
        static struct dl_lib lib = { BURROW_LIBCURL_SONAME, "libcurl4", curl_names, sizeof(curl_names) / sizeof(curl_names[0]),
                                     0 };
        return load(&lib, curl_slots);
}

int dl_crypto_load(void)
{
        static struct dl_lib lib = { BURROW_LIBCRYPTO_SONAME, "libssl3", crypto_names,
                                     sizeof(crypto_names) / sizeof(crypto_names[0]), 0 };
        return load(&lib, crypto_slots);
}

int dl_slirp_load(void)
{
        static struct dl_lib lib = { BURROW_LIBSLIRP_SONAME, "libslirp0", slirp_names, sizeof(slirp_names) / sizeof(slirp_names[0]),
                                     0 };
        return load(&lib, slirp_slots);
}
