/* User and group ID maps: the ranges written to /proc/PID/{uid,gid}_map. */
#ifndef BURROW_USERNS_IDMAP_H
#define BURROW_USERNS_IDMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/error.h"

#define IDMAP_MAX_RANGES 340 /* the kernel's limit per map since Linux 4.15 */

struct idmap_range {
        uint32_t inside;
        uint32_t outside;
        uint32_t count;
};

struct idmap {
        size_t n;
        struct idmap_range r[IDMAP_MAX_RANGES];
};

/* Parse the text of /proc/PID/uid_map (or the same format): lines "INSIDE OUTSIDE COUNT".
 * Rejects malformed lines, zero counts, overflow and overlapping inside ranges. */
int idmap_parse(const char *text, struct idmap *out, struct burrow_error **err);
/* Format as uid_map text into buf; returns the length, or -1 if it does not fit. */
int idmap_format(const struct idmap *map, char *buf, size_t size);
/* Map an inside ID to the host; false if unmapped. */
bool idmap_to_outside(const struct idmap *map, uint32_t inside, uint32_t *outside);
/* Map a host ID to the inside; false if unmapped. */
bool idmap_to_inside(const struct idmap *map, uint32_t outside, uint32_t *inside);
/* True when every ID INNER maps is mapped by OUTER to the same host ID (files owned under
 * INNER keep their owners under OUTER). */
bool idmap_covers(const struct idmap *outer, const struct idmap *inner);
/* Total number of IDs mapped. */
uint64_t idmap_size(const struct idmap *map);
int idmap_add(struct idmap *map, uint32_t inside, uint32_t outside, uint32_t count, struct burrow_error **err);

enum idmap_kind {
        IDMAP_SINGLE,   /* caller -> 0, nothing else: works with no helper and no range */
        IDMAP_IDENTITY, /* real root on the host without a range: all IDs map to themselves */
        IDMAP_RANGES,   /* caller -> 0, subordinate ranges -> 1..N */
        IDMAP_KEEP_ID,  /* caller -> its own UID/GID inside, ranges around it */
};

/* What the user asked for with --userns. */
enum userns_mode {
        USERNS_AUTO,   /* ranges when available, else single */
        USERNS_SINGLE, /* --userns=single */
        USERNS_KEEP_ID /* --userns=keep-id */
};
int userns_mode_parse(const char *text, enum userns_mode *mode, struct burrow_error **err);

struct sub_range;

struct idmap_plan {
        enum idmap_kind kind;
        struct idmap uids;
        struct idmap gids;
        bool deny_setgroups; /* required by the kernel for an unprivileged single-ID gid map */
        bool use_helpers;    /* written by newuidmap/newgidmap rather than by us */
        bool no_range;       /* ranges were wanted but the caller has none, or no helpers */
        bool in_holder;      /* the maps belong to a holder's namespace, entered with setns */
        uint32_t keep_uid, keep_gid; /* with IDMAP_KEEP_ID: the caller's IDs, also inside */
        char newuidmap[256], newgidmap[256];
        char why[512]; /* how the plan came about, for `burrow info` and warnings */
};

/* The plan for host uid/gid with the given subordinate ranges; pure, for the unit tests.
 * helpers: paths of newuidmap/newgidmap, NULL when missing. */
int idmap_plan_build(uid_t uid, gid_t gid, enum userns_mode mode, const struct sub_range *subuids, size_t n_subuids,
                     const struct sub_range *subgids, size_t n_subgids, const char *newuidmap, const char *newgidmap,
                     struct idmap_plan *plan, struct burrow_error **err);

/* The plan for the caller: looks up its ranges (libsubid or /etc/sub[ug]id) and the helpers. */
int idmap_plan_for_caller(enum userns_mode mode, struct idmap_plan *plan, struct burrow_error **err);
const char *idmap_kind_name(enum idmap_kind kind);

/* Write the plan into /proc/PID: setgroups then the maps ourselves, or through newuidmap and
 * newgidmap (run side by side). */
int idmap_plan_apply(const struct idmap_plan *plan, pid_t pid, struct burrow_error **err);

#endif
