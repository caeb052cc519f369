/* The one error type, filled at the failure site and carried up to the CLI. */
#ifndef BURROW_UTIL_ERROR_H
#define BURROW_UTIL_ERROR_H

#include "util/cleanup.h"

/* Exit statuses, docker's conventions. */
enum {
        BURROW_EXIT_FAILURE = 125,      /* burrow itself failed */
        BURROW_EXIT_NOT_EXECUTABLE = 126,
        BURROW_EXIT_NOT_FOUND = 127,
};

struct burrow_error {
        int errnum;    /* errno of the cause, 0 if none */
        int exit_code; /* what the CLI exits with */
        char *msg;     /* what failed, on what, why and what to do */
};

/* Fill *err (if not already set) and return -1. errnum 0 means no errno text is appended. */
int burrow_error_set(struct burrow_error **err, int errnum, const char *fmt, ...) BURROW_PRINTF(3, 4);
/* Same, with an explicit exit code (126/127 for exec failures). */
int burrow_error_set_code(struct burrow_error **err, int exit_code, int errnum, const char *fmt, ...)
        BURROW_PRINTF(4, 5);
/* Prefix context: "creating `/dev`: <old message>". Returns -1. */
int burrow_error_wrap(struct burrow_error **err, const char *fmt, ...) BURROW_PRINTF(2, 3);
/* Append a hint: "<old message> (hint)". Returns -1. */
int burrow_error_hint(struct burrow_error **err, const char *fmt, ...) BURROW_PRINTF(2, 3);
void burrow_error_free(struct burrow_error *err);
static inline void cleanup_errorp(struct burrow_error **e)
{
        burrow_error_free(*e);
        *e = NULL;
}
#define cleanup_error __attribute__((cleanup(cleanup_errorp)))

#endif
