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
/* S, if not NULL: the store whose ID map is checked first (store_ns_plan_check). */
int store_ns_run(struct store *s, const struct store_ns *ns, store_ns_fn fn, void *arg, void *result, size_t result_size,
                 struct burrow_error **err);

/* The same in two steps, for several workers at once (parallel layer downloads). */
struct store_ns_plan; /* how to enter the namespace; computed once */
struct store_ns_plan *store_ns_plan_new(const struct store_ns *ns, struct burrow_error **err);
void store_ns_plan_free(struct store_ns_plan *p);
struct idmap_plan;
const struct idmap_plan *store_ns_plan_idmap(const struct store_ns_plan *p);

/* ROOT/store.json records the ID map (host view) the store's files are owned under. */
enum store_map_state {
        STORE_MAP_UNRECORDED,        /* none recorded, or no layer owned under it yet */
        STORE_MAP_SAME,              /* the current map is the recorded one */
        STORE_MAP_GREW,              /* the current map holds the recorded one and more */
        STORE_MAP_SINGLE_NOW_RANGES, /* filled under a single-ID map; the caller has a range now */
        STORE_MAP_LOST,              /* IDs that own files are no longer mapped as they were */
};
int store_ns_map_state(struct store *s, const struct idmap_plan *plan, enum store_map_state *state,
                       struct burrow_error **err);
int store_ns_record_map(struct store *s, const struct idmap_plan *plan, bool migrated, struct burrow_error **err);
/* Before work in the store's namespace: record the map the first time (or when it grew), warn
 * once about a store that `burrow system migrate` would re-own, refuse one whose owners are no
 * longer mapped (saying what to do). */
int store_ns_plan_check(struct store_ns_plan *p, struct store *s, struct burrow_error **err);
/* The same with the caller's plan, before changing anything. */
int store_ns_check(struct store *s, const struct store_ns *ns, struct burrow_error **err);
struct store_ns_worker {
        pid_t pid;
        int result_fd;
        size_t result_size;
};
/* close_fds (n_close of them, -1 entries skipped) are closed in the worker before fn runs:
 * other workers' pipe ends, which would keep their readers from seeing EOF. */
int store_ns_start(struct store_ns_plan *p, store_ns_fn fn, void *arg, size_t result_size, const int *close_fds,
                   size_t n_close, struct store_ns_worker *w, struct burrow_error **err);
int store_ns_finish(struct store_ns_worker *w, void *result, struct burrow_error **err);

#endif
