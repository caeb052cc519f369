/* Subordinate ID ranges from /etc/subuid and /etc/subgid (shadow's format, "NAME:START:COUNT"). */
#ifndef BURROW_USERNS_SUBID_H
#define BURROW_USERNS_SUBID_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/error.h"

struct sub_range {
        uint32_t start;
        uint32_t count;
};

/* Collect the ranges of USER (matched by name, or by the numeric uid written as a name) from
 * the text of a subuid/subgid file. Malformed lines are warned about with FILENAME:LINE and
 * skipped, as newuidmap does. Returns the number of ranges found (at most max). */
size_t subid_parse(const char *text, const char *filename, const char *user, uid_t uid,
                   struct sub_range *out, size_t max);

/* Read FILENAME and collect USER's ranges; 0 ranges when the file is missing. */
int subid_lookup(const char *filename, const char *user, uid_t uid, struct sub_range *out, size_t max,
                 size_t *n, struct burrow_error **err);

/* Where ranges come from: shadow's libsubid (also serves SSSD/NSS sites; loaded with dlopen only
 * when ranges are needed, as it drags in PAM, audit and SELinux libraries that would cost every
 * run a millisecond), else /etc/subuid and /etc/subgid parsed here. */
enum subid_kind { SUBID_UID, SUBID_GID };
int subid_ranges(enum subid_kind kind, const char *user, uid_t uid, struct sub_range *out, size_t max, size_t *n,
                 const char **source, struct burrow_error **err);

#endif
