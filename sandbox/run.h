/* `burrow run`: one container from a config, start to exit. */
#ifndef BURROW_SANDBOX_RUN_H
#define BURROW_SANDBOX_RUN_H

#include "sandbox/runconfig.h"
#include "util/error.h"

/* Run the container in the foreground. Returns 0 and the container's exit code in *exit_code
 * (the workload's status, 128+N for a signal), or -1 with *err (whose exit_code is 125 for
 * burrow's own failures, 126/127 when the command could not be executed). */
int burrow_run(const struct burrow_global *global, const struct burrow_run_config *cfg, int *exit_code,
               struct burrow_error **err);

#endif
