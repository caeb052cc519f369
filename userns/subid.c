#include "config.h"

#include "userns/subid.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/fsutil.h"
#include "util/log.h"

static int parse_field_u32(const char *s, size_t len, uint32_t *out)
{
        if (len == 0 || len > 10)
                return -1;
        uint64_t v = 0;
        for (size_t i = 0; i < len; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -1;
                v = v * 10 + (uint64_t)(s[i] - '0');
        }
        if (v > UINT32_MAX)
                return -1;
        *out = (uint32_t)v;
        return 0;
}

size_t subid_parse(const char *text, const char *filename, const char *user, uid_t uid,
                   struct sub_range *out, size_t max)
{
        char uid_text[16];
        snprintf(uid_text, sizeof(uid_text), "%u", (unsigned)uid);
        size_t found = 0;
        int line = 0;
        for (const char *p = text; *p;) {
                line++;
                const char *eol = strchrnul(p, '\n');
                const char *next = *eol ? eol + 1 : eol;
                size_t len = (size_t)(eol - p);
                if (len == 0 || p[0] == '#') {
                        p = next;
                        continue;
                }
                const char *c1 = memchr(p, ':', len);
                const char *c2 = c1 ? memchr(c1 + 1, ':', (size_t)(eol - c1 - 1)) : NULL;
                uint32_t start, count;
                if (c1 == NULL || c2 == NULL || c1 == p || parse_field_u32(c1 + 1, (size_t)(c2 - c1 - 1), &start) < 0 ||
                    parse_field_u32(c2 + 1, (size_t)(eol - c2 - 1), &count) < 0 || count == 0 ||
                    (uint64_t)start + count > UINT32_MAX + 1ull) {
                        burrow_warn("%s:%d: ignoring malformed entry `%.*s` (expected NAME:START:COUNT)", filename, line,
                                    (int)len, p);
                        p = next;
                        continue;
                }
                size_t nlen = (size_t)(c1 - p);
                bool match = (user && strlen(user) == nlen && memcmp(p, user, nlen) == 0) ||
                             (strlen(uid_text) == nlen && memcmp(p, uid_text, nlen) == 0);
                if (match && found < max)
                        out[found++] = (struct sub_range){ start, count };
                p = next;
        }
        return found;
}

int subid_lookup(const char *filename, const char *user, uid_t uid, struct sub_range *out, size_t max,
                 size_t *n, struct burrow_error **err)
{
        cleanup_free char *text = NULL;
        struct burrow_error *local = NULL;
        *n = 0;
        if (read_file_at(AT_FDCWD, filename, &text, NULL, &local) < 0) {
                int e = local->errnum;
                if (e == ENOENT) {
                        burrow_error_free(local);
                        return 0;
                }
                *err = local;
                return -1;
        }
        *n = subid_parse(text, filename, user, uid, out, max);
        return 0;
}

#ifdef HAVE_SHADOW_SUBID_H
#include <shadow/subid.h>

typedef int (*subid_get_fn)(const char *owner, struct subid_range **ranges);
typedef bool (*subid_init_fn)(const char *progname, FILE *logfd);

/* 1: answered (maybe 0 ranges); 0: libsubid not available. */
static int subid_from_libsubid(enum subid_kind kind, const char *user, struct sub_range *out, size_t max, size_t *n)
{
        static void *lib;
        static bool tried;
        if (!tried) {
                tried = true;
                lib = dlopen("libsubid.so.4", RTLD_NOW | RTLD_LOCAL);
                if (lib == NULL)
                        burrow_debug("libsubid not loaded (%s); reading /etc/subuid and /etc/subgid", dlerror());
                else {
                        subid_init_fn init = (subid_init_fn)dlsym(lib, "subid_init");
                        if (init)
                                init("burrow", NULL); /* its messages would repeat ours */
                }
        }
        if (lib == NULL || user == NULL)
                return 0;
        subid_get_fn get = (subid_get_fn)dlsym(lib, kind == SUBID_UID ? "subid_get_uid_ranges" : "subid_get_gid_ranges");
        if (get == NULL)
                return 0;
        struct subid_range *ranges = NULL;
        int count = get(user, &ranges);
        if (count < 0) {
                free(ranges);
                return 0;
        }
        *n = 0;
        for (int i = 0; i < count && *n < max; i++) {
                if (ranges[i].count == 0 || ranges[i].start > UINT32_MAX || ranges[i].count > UINT32_MAX ||
                    ranges[i].start + ranges[i].count > UINT32_MAX + 1ul)
                        continue;
                out[(*n)++] = (struct sub_range){ (uint32_t)ranges[i].start, (uint32_t)ranges[i].count };
        }
        free(ranges);
        return 1;
}
#endif

/* libsubid consults a module other than the files only when nsswitch.conf has a "subid:" line;
 * without one, reading the files ourselves gives the same answer without loading it. */
static bool nsswitch_names_subid(void)
{
        cleanup_free char *text = NULL;
        struct burrow_error *err = NULL;
        if (read_file_at(AT_FDCWD, "/etc/nsswitch.conf", &text, NULL, &err) < 0) {
                burrow_error_free(err);
                return false;
        }
        for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
                while (*p == ' ' || *p == '\t')
                        p++;
                if (strncmp(p, "subid:", 6) == 0)
                        return true;
        }
        return false;
}

int subid_ranges(enum subid_kind kind, const char *user, uid_t uid, struct sub_range *out, size_t max, size_t *n,
                 const char **source, struct burrow_error **err)
{
        const char *file = kind == SUBID_UID ? "/etc/subuid" : "/etc/subgid";
#ifdef HAVE_SHADOW_SUBID_H
        if (nsswitch_names_subid() && subid_from_libsubid(kind, user, out, max, n)) {
                *source = "libsubid (nsswitch.conf subid:)";
                return 0;
        }
#endif
        *source = file;
        return subid_lookup(file, user, uid, out, max, n, err);
}
