/* burrow's settings files: BURROW_SYSCONFDIR/burrow.json (for the machine: an HPC admin points
 * every user's store at node-local disk), then CONFIG_DIR/burrow.json (the user's own), each a
 * JSON object:
 *
 *   {"root": "/local/scratch/$USER/burrow", "runroot": "/tmp/burrow-run-$USER"}
 *
 * Values go through wordexp(3) without command substitution: $VAR, ${VAR} and ~ work. */
#ifndef BURROW_UTIL_SETTINGS_H
#define BURROW_UTIL_SETTINGS_H

#include "util/error.h"

struct burrow_settings {
        char *root;    /* NULL: not set by any file */
        char *runroot;
        char *root_from; /* the file that set root, for messages */
};

/* Read SYSTEM_FILE then USER_FILE (either may be NULL or missing); later files win. A file
 * that exists but is not valid is an error naming it. */
int burrow_settings_load(const char *system_file, const char *user_file, struct burrow_settings *out,
                         struct burrow_error **err);
void burrow_settings_free(struct burrow_settings *s);

#endif
