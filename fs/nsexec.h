/* Running store work inside the store's user namespace, so files get the mapped owners. */
#ifndef BURROW_FS_NSEXEC_H
#define BURROW_FS_NSEXEC_H

#include <stdbool.h>

#include "fs/store.h"
#include "util/error.h"

struct store_ns {
        const char *runroot;
        bool use_holder;
};

/* Fork a child that enters the store's user namespace (the burrow-userns holder, a fresh one
 * with burrow's mapping, or none for root's identity map) and runs fn(arg, result, err) there.
 * The child's result bytes (up to result_size) and error come back to the caller. The child is
 * single-threaded whatever the parent is, so it may enter namespaces. */
typedef int (*store_ns_fn)(void *arg, void *result, struct burrow_error **err);
int store_ns_run(const struct store_ns *ns, store_ns_fn fn, void *arg, void *result, size_t result_size,
                 struct burrow_error **err);

#endif
