/* libarchive, libcurl and libcrypto, loaded when first used (dlopen) rather than at start-up.
 *
 * Linked the usual way, the three pull in some 40 libraries (ICU through libxml2, Kerberos,
 * LDAP, GnuTLS through librtmp...) whose loading cost 8 ms of every burrow command, 7 of them
 * more than `burrow run --rootfs` itself. Only pull, push, import, load, save, commit, export,
 * cp and the vfs driver need them. The real libraries are called, through pointers filled by
 * dlsym; every object of theirs is made by a creator (archive_read_new, curl_easy_init,
 * EVP_MD_CTX_new...) that loads the library first, so nothing can be called before it is
 * there. A missing library makes the creator fail (NULL, an error code) after one message
 * that names it.
 *
 * dlopen searches the process's root: a process about to enter a container's tree (chroot,
 * setns into its mount namespace, pivot_root) loads what it will need before, or it would load
 * the container's copy, which would then run as burrow's code.
 *
 * Files that call these libraries include this header after the libraries' own. */
#ifndef BURROW_UTIL_DL_H
#define BURROW_UTIL_DL_H

#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>
#include <openssl/evp.h>
#include <slirp/libslirp.h>

#define DL_ARCHIVE_SYMS(X)                                                                                                  \
        X(archive_entry_atime) X(archive_entry_atime_is_set) X(archive_entry_atime_nsec) X(archive_entry_clone)              \
        X(archive_entry_copy_stat) X(archive_entry_filetype) X(archive_entry_free) X(archive_entry_gid)                     \
        X(archive_entry_hardlink) X(archive_entry_linkify) X(archive_entry_linkresolver_free)                               \
        X(archive_entry_linkresolver_new) X(archive_entry_linkresolver_set_strategy) X(archive_entry_mtime)                 \
        X(archive_entry_mtime_nsec) X(archive_entry_new) X(archive_entry_pathname) X(archive_entry_perm)                    \
        X(archive_entry_rdev) X(archive_entry_rdevmajor) X(archive_entry_rdevminor) X(archive_entry_set_filetype)           \
        X(archive_entry_set_gid) X(archive_entry_set_gname) X(archive_entry_set_hardlink) X(archive_entry_set_mtime)        \
        X(archive_entry_set_pathname) X(archive_entry_set_perm) X(archive_entry_set_size) X(archive_entry_set_uid)          \
        X(archive_entry_set_uname) X(archive_entry_size) X(archive_entry_stat) X(archive_entry_symlink)                     \
        X(archive_entry_uid) X(archive_entry_xattr_add_entry) X(archive_entry_xattr_clear) X(archive_entry_xattr_next)      \
        X(archive_entry_xattr_reset) X(archive_errno) X(archive_error_string) X(archive_filter_count)                      \
        X(archive_filter_name) X(archive_format) X(archive_free) X(archive_read_close) X(archive_read_data)                 \
        X(archive_read_data_block) X(archive_read_disk_descend) X(archive_read_disk_new) X(archive_read_disk_open)          \
        X(archive_read_disk_set_behavior) X(archive_read_disk_set_symlink_physical) X(archive_read_free)                   \
        X(archive_read_new) X(archive_read_next_header) X(archive_read_next_header2) X(archive_read_open)                  \
        X(archive_read_open_fd) X(archive_read_support_filter_all) X(archive_read_support_format_empty)                    \
        X(archive_read_support_format_gnutar) X(archive_read_support_format_raw) X(archive_read_support_format_tar)        \
        X(archive_set_error) X(archive_write_add_filter_gzip) X(archive_write_close) X(archive_write_data)                 \
        X(archive_write_data_block) X(archive_write_disk_new) X(archive_write_disk_set_options)                            \
        X(archive_write_finish_entry) X(archive_write_free) X(archive_write_header) X(archive_write_new)                   \
        X(archive_write_open_fd) X(archive_write_open_filename) X(archive_write_set_filter_option)                        \
        X(archive_write_set_format_pax_restricted)

#define DL_CURL_SYMS(X)                                                                                                     \
        X(curl_easy_cleanup) X(curl_easy_escape) X(curl_easy_getinfo) X(curl_easy_init) X(curl_easy_perform)               \
        X(curl_easy_setopt) X(curl_easy_strerror) X(curl_free) X(curl_global_init) X(curl_multi_add_handle)                 \
        X(curl_multi_cleanup) X(curl_multi_info_read) X(curl_multi_init) X(curl_multi_perform) X(curl_multi_poll)          \
        X(curl_multi_remove_handle) X(curl_slist_append) X(curl_slist_free_all)

#define DL_CRYPTO_SYMS(X)                                                                                                   \
        X(EVP_DigestFinal_ex) X(EVP_DigestInit_ex) X(EVP_DigestUpdate) X(EVP_EncodeBlock) X(EVP_MD_CTX_free)               \
        X(EVP_MD_CTX_new) X(EVP_sha256)

/* libslirp (and with it GLib): only the --net=slirp helper process loads it. */
#define DL_SLIRP_SYMS(X)                                                                                                    \
        X(slirp_add_hostfwd) X(slirp_add_hostxfwd) X(slirp_cleanup) X(slirp_input) X(slirp_new) X(slirp_pollfds_fill) X(slirp_pollfds_poll)       \
        X(slirp_version_string)

#define DL_FIELD(name) __typeof__(name) *name;
struct dl_archive {
        DL_ARCHIVE_SYMS(DL_FIELD)
};
struct dl_curl {
        DL_CURL_SYMS(DL_FIELD)
};
struct dl_crypto {
        DL_CRYPTO_SYMS(DL_FIELD)
};
struct dl_slirp {
        DL_SLIRP_SYMS(DL_FIELD)
};
#undef DL_FIELD
extern struct dl_archive dl_archive;
extern struct dl_curl dl_curl;
extern struct dl_crypto dl_crypto;
extern struct dl_slirp dl_slirp;

/* 0 once the library is there (loaded by the first call); -1 after a warning naming it. */
int dl_archive_load(void);
int dl_curl_load(void);
int dl_crypto_load(void);
int dl_slirp_load(void);

/* The creators: they load first. */
static inline struct archive *dl_archive_read_new(void)
{
        return dl_archive_load() == 0 ? dl_archive.archive_read_new() : NULL;
}
static inline struct archive *dl_archive_write_new(void)
{
        return dl_archive_load() == 0 ? dl_archive.archive_write_new() : NULL;
}
static inline struct archive *dl_archive_read_disk_new(void)
{
        return dl_archive_load() == 0 ? dl_archive.archive_read_disk_new() : NULL;
}
static inline struct archive *dl_archive_write_disk_new(void)
{
        return dl_archive_load() == 0 ? dl_archive.archive_write_disk_new() : NULL;
}
static inline struct archive_entry *dl_archive_entry_new(void)
{
        return dl_archive_load() == 0 ? dl_archive.archive_entry_new() : NULL;
}
static inline struct archive_entry_linkresolver *dl_archive_entry_linkresolver_new(void)
{
        return dl_archive_load() == 0 ? dl_archive.archive_entry_linkresolver_new() : NULL;
}
static inline CURLcode dl_curl_global_init(long flags)
{
        return dl_curl_load() == 0 ? dl_curl.curl_global_init(flags) : CURLE_FAILED_INIT;
}
static inline CURL *dl_curl_easy_init(void)
{
        return dl_curl_load() == 0 ? dl_curl.curl_easy_init() : NULL;
}
static inline CURLM *dl_curl_multi_init(void)
{
        return dl_curl_load() == 0 ? dl_curl.curl_multi_init() : NULL;
}
static inline struct curl_slist *dl_curl_slist_append(struct curl_slist *list, const char *s)
{
        return dl_curl_load() == 0 ? dl_curl.curl_slist_append(list, s) : NULL;
}
static inline Slirp *dl_slirp_new(const SlirpConfig *cfg, const SlirpCb *callbacks, void *opaque)
{
        return dl_slirp_load() == 0 ? dl_slirp.slirp_new(cfg, callbacks, opaque) : NULL;
}
static inline EVP_MD_CTX *dl_EVP_MD_CTX_new(void)
{
        return dl_crypto_load() == 0 ? dl_crypto.EVP_MD_CTX_new() : NULL;
}
static inline const EVP_MD *dl_EVP_sha256(void)
{
        return dl_crypto_load() == 0 ? dl_crypto.EVP_sha256() : NULL;
}
static inline int dl_EVP_EncodeBlock(unsigned char *t, const unsigned char *f, int n)
{
        if (dl_crypto_load() == 0)
                return dl_crypto.EVP_EncodeBlock(t, f, n);
        t[0] = '\0';
        return 0;
}

#ifndef DL_NO_REDIRECT
/* Every other call goes through the pointer; objects only come from the creators above. */
#include "util/dl-redirect.h"
#endif

#endif
