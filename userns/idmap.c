#include "config.h"

#include "userns/idmap.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "userns/subid.h"
#include "util/fsutil.h"

int idmap_add(struct idmap *map, uint32_t inside, uint32_t outside, uint32_t count, struct burrow_error **err)
{
        if (count == 0)
                return burrow_error_set(err, 0, "ID map range %" PRIu32 " %" PRIu32 " has a count of 0", inside, outside);
        if ((uint64_t)inside + count > UINT32_MAX + 1ull || (uint64_t)outside + count > UINT32_MAX + 1ull)
                return burrow_error_set(err, 0, "ID map range %" PRIu32 " %" PRIu32 " %" PRIu32 " overflows 32 bits", inside, outside, count);
        for (size_t i = 0; i < map->n; i++) {
                const struct idmap_range *o = &map->r[i];
                if ((uint64_t)inside < (uint64_t)o->inside + o->count && (uint64_t)o->inside < (uint64_t)inside + count)
                        return burrow_error_set(err, 0, "ID map range %" PRIu32 "+%" PRIu32 " overlaps %" PRIu32 "+%" PRIu32 " inside the namespace",
                                                inside, count, o->inside, o->count);
        }
        if (map->n >= IDMAP_MAX_RANGES)
                return burrow_error_set(err, 0, "ID map has more than %d ranges", IDMAP_MAX_RANGES);
        map->r[map->n++] = (struct idmap_range){ inside, outside, count };
        return 0;
}

static int parse_u32(const char **p, uint32_t *out)
{
        while (**p == ' ' || **p == '\t')
                (*p)++;
        if (**p < '0' || **p > '9')
                return -1;
        char *end;
        errno = 0;
        unsigned long long v = strtoull(*p, &end, 10);
        if (errno != 0 || v > UINT32_MAX)
                return -1;
        *p = end;
        *out = (uint32_t)v;
        return 0;
}

int idmap_parse(const char *text, struct idmap *out, struct burrow_error **err)
{
        out->n = 0;
        int line = 0;
        const char *p = text;
        while (*p) {
                line++;
                const char *eol = strchrnul(p, '\n');
                const char *q = p;
                while (q < eol && (*q == ' ' || *q == '\t'))
                        q++;
                if (q == eol) {
                        p = *eol ? eol + 1 : eol;
                        continue;
                }
                uint32_t in, outside, count;
                if (parse_u32(&q, &in) < 0 || parse_u32(&q, &outside) < 0 || parse_u32(&q, &count) < 0)
                        return burrow_error_set(err, 0, "ID map line %d: expected three numbers \"INSIDE OUTSIDE COUNT\", got `%.*s`", line, (int)(eol - p), p);
                while (q < eol && (*q == ' ' || *q == '\t'))
                        q++;
                if (q != eol)
                        return burrow_error_set(err, 0, "ID map line %d: trailing text `%.*s`", line, (int)(eol - q), q);
                if (idmap_add(out, in, outside, count, err) < 0)
                        return burrow_error_wrap(err, "ID map line %d", line);
                p = *eol ? eol + 1 : eol;
        }
        return 0;
}

int idmap_format(const struct idmap *map, char *buf, size_t size)
{
        size_t used = 0;
        if (size > 0)
                buf[0] = '\0';
        for (size_t i = 0; i < map->n; i++) {
                int n = snprintf(buf + used, size - used, "%" PRIu32 " %" PRIu32 " %" PRIu32 "\n", map->r[i].inside,
                                 map->r[i].outside, map->r[i].count);
                if (n < 0 || (size_t)n >= size - used)
                        return -1;
                used += (size_t)n;
        }
        return (int)used;
}

bool idmap_to_outside(const struct idmap *map, uint32_t inside, uint32_t *outside)
{
        for (size_t i = 0; i < map->n; i++) {
                const struct idmap_range *r = &map->r[i];
                if (inside >= r->inside && (uint64_t)inside < (uint64_t)r->inside + r->count) {
                        *outside = r->outside + (inside - r->inside);
                        return true;
                }
        }
        return false;
}

bool idmap_to_inside(const struct idmap *map, uint32_t outside, uint32_t *inside)
{
        for (size_t i = 0; i < map->n; i++) {
                const struct idmap_range *r = &map->r[i];
                if (outside >= r->outside && (uint64_t)outside < (uint64_t)r->outside + r->count) {
                        *inside = r->inside + (outside - r->outside);
                        return true;
                }
        }
        return false;
}

uint64_t idmap_size(const struct idmap *map)
{
        uint64_t total = 0;
        for (size_t i = 0; i < map->n; i++)
                total += map->r[i].count;
        return total;
}

bool idmap_covers(const struct idmap *outer, const struct idmap *inner)
{
        for (size_t i = 0; i < inner->n; i++) {
                uint64_t pos = inner->r[i].inside, end = pos + inner->r[i].count;
                while (pos < end) {
                        const struct idmap_range *o = NULL;
                        for (size_t j = 0; j < outer->n && o == NULL; j++)
                                if (pos >= outer->r[j].inside && pos < (uint64_t)outer->r[j].inside + outer->r[j].count)
                                        o = &outer->r[j];
                        if (o == NULL ||
                            (uint64_t)o->outside + (pos - o->inside) != (uint64_t)inner->r[i].outside + (pos - inner->r[i].inside))
                                return false;
                        uint64_t o_end = (uint64_t)o->inside + o->count;
                        pos = o_end < end ? o_end : end;
                }
        }
        return true;
}

const char *idmap_kind_name(enum idmap_kind kind)
{
        switch (kind) {
        case IDMAP_SINGLE:
                return "single-ID";
        case IDMAP_IDENTITY:
                return "identity";
        case IDMAP_RANGES:
                return "subordinate-range";
        case IDMAP_KEEP_ID:
                return "keep-id";
        }
        return "?";
}

int userns_mode_parse(const char *text, enum userns_mode *mode, struct burrow_error **err)
{
        if (strcmp(text, "auto") == 0 || strcmp(text, "") == 0)
                *mode = USERNS_AUTO;
        else if (strcmp(text, "single") == 0)
                *mode = USERNS_SINGLE;
        else if (strcmp(text, "keep-id") == 0)
                *mode = USERNS_KEEP_ID;
        else
                return burrow_error_set(err, 0, "unknown --userns mode `%s` (use auto, single or keep-id)", text);
        return 0;
}

/* Walks subordinate ranges in order, handing out host IDs and skipping one (the caller's own,
 * which is mapped separately: a map may not name a host ID twice). */
struct range_cursor {
        const struct sub_range *r;
        size_t n, i;
        uint32_t off;
        uint32_t skip;
};

/* Map up to `want` consecutive inside IDs from `inside`; returns how many were mapped. */
static uint64_t map_from_ranges(struct idmap *m, uint32_t inside, uint64_t want, struct range_cursor *c,
                                struct burrow_error **err)
{
        uint64_t done = 0;
        while (done < want && c->i < c->n) {
                const struct sub_range *r = &c->r[c->i];
                uint32_t start = r->start + c->off;
                uint32_t left = r->count - c->off;
                if (c->skip >= start && (uint64_t)c->skip < (uint64_t)start + left) {
                        left = c->skip - start; /* up to the skipped ID */
                        if (left == 0) {
                                c->off++;
                                if (c->off >= r->count) {
                                        c->i++;
                                        c->off = 0;
                                }
                                continue;
                        }
                }
                uint64_t take = want - done < left ? want - done : left;
                if ((uint64_t)inside + done + take > UINT32_MAX)
                        take = UINT32_MAX - (inside + done);
                if (take == 0)
                        break;
                if (idmap_add(m, (uint32_t)(inside + done), start, (uint32_t)take, err) < 0)
                        return done;
                done += take;
                c->off += (uint32_t)take;
                if (c->off >= r->count) {
                        c->i++;
                        c->off = 0;
                }
        }
        return done;
}

static int build_one(struct idmap *m, uint32_t self, enum idmap_kind kind, const struct sub_range *r, size_t n,
                     struct burrow_error **err)
{
        struct range_cursor c = { .r = r, .n = n, .skip = self };
        struct burrow_error *local = NULL;
        if (kind == IDMAP_KEEP_ID) {
                /* inside 0..self-1 from the ranges, self -> self, then the rest above it */
                map_from_ranges(m, 0, self, &c, &local);
                if (local == NULL && idmap_add(m, self, self, 1, &local) == 0)
                        map_from_ranges(m, self + 1, UINT32_MAX, &c, &local);
        } else {
                if (idmap_add(m, 0, self, 1, &local) == 0)
                        map_from_ranges(m, 1, UINT32_MAX - 1, &c, &local);
        }
        if (local) {
                *err = local;
                return -1;
        }
        return 0;
}

int idmap_plan_build(uid_t uid, gid_t gid, enum userns_mode mode, const struct sub_range *subuids, size_t n_subuids,
                     const struct sub_range *subgids, size_t n_subgids, const char *newuidmap, const char *newgidmap,
                     struct idmap_plan *plan, struct burrow_error **err)
{
        memset(plan, 0, sizeof(*plan));
        bool ranges = n_subuids > 0 && n_subgids > 0;
        bool helpers = newuidmap && newgidmap;
        if (uid == 0 && mode != USERNS_SINGLE && !ranges) {
                /* Real root needs no helper; the identity map keeps host ownership as it is.
                 * uid_map allows at most 2^32-1 IDs: leave (uid_t)-1, the "no ID" value, out. */
                plan->kind = IDMAP_IDENTITY;
                snprintf(plan->why, sizeof(plan->why), "root without a subordinate range: every ID maps to itself");
                if (idmap_add(&plan->uids, 0, 0, UINT32_MAX, err) < 0 || idmap_add(&plan->gids, 0, 0, UINT32_MAX, err) < 0)
                        return -1;
                return 0;
        }
        if (mode == USERNS_SINGLE || !ranges || (!helpers && uid != 0)) {
                plan->kind = mode == USERNS_KEEP_ID ? IDMAP_KEEP_ID : IDMAP_SINGLE;
                plan->deny_setgroups = uid != 0;
                plan->no_range = mode != USERNS_SINGLE;
                uint32_t in_u = plan->kind == IDMAP_KEEP_ID ? uid : 0, in_g = plan->kind == IDMAP_KEEP_ID ? gid : 0;
                plan->keep_uid = uid;
                plan->keep_gid = gid;
                if (mode == USERNS_SINGLE)
                        snprintf(plan->why, sizeof(plan->why), "--userns=single");
                else if (!ranges)
                        snprintf(plan->why, sizeof(plan->why), "no subordinate %s range for this user",
                                 n_subuids == 0 ? "UID" : "GID");
                else
                        snprintf(plan->why, sizeof(plan->why), "%s is not installed (Debian package uidmap)",
                                 newuidmap ? "newgidmap" : "newuidmap");
                if (idmap_add(&plan->uids, in_u, uid, 1, err) < 0 || idmap_add(&plan->gids, in_g, gid, 1, err) < 0)
                        return -1;
                return 0;
        }
        plan->kind = mode == USERNS_KEEP_ID ? IDMAP_KEEP_ID : IDMAP_RANGES;
        plan->keep_uid = uid;
        plan->keep_gid = gid;
        plan->use_helpers = uid != 0;
        if (helpers) {
                snprintf(plan->newuidmap, sizeof(plan->newuidmap), "%s", newuidmap);
                snprintf(plan->newgidmap, sizeof(plan->newgidmap), "%s", newgidmap);
        }
        if (uid == 0 && mode == USERNS_KEEP_ID)
                plan->kind = IDMAP_RANGES; /* root's own ID is 0 either way */
        if (build_one(&plan->uids, uid, plan->kind, subuids, n_subuids, err) < 0 ||
            build_one(&plan->gids, gid, plan->kind, subgids, n_subgids, err) < 0)
                return -1;
        snprintf(plan->why, sizeof(plan->why), "%llu UIDs and %llu GIDs: yours plus your subordinate ranges",
                 (unsigned long long)idmap_size(&plan->uids), (unsigned long long)idmap_size(&plan->gids));
        return 0;
}

int idmap_plan_for_caller(enum userns_mode mode, struct idmap_plan *plan, struct burrow_error **err)
{
        uid_t uid = getuid();
        gid_t gid = getgid();
        struct sub_range su[64], sg[64];
        size_t nsu = 0, nsg = 0;
        const char *src_u = "", *src_g = "";
        if (mode != USERNS_SINGLE) {
                struct passwd pw, *res = NULL;
                char buf[2048];
                const char *user = NULL;
                if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res)
                        user = res->pw_name;
                if (subid_ranges(SUBID_UID, user, uid, su, 64, &nsu, &src_u, err) < 0 ||
                    subid_ranges(SUBID_GID, user, uid, sg, 64, &nsg, &src_g, err) < 0)
                        return -1;
        }
        const char *path = getenv("PATH");
        bool want_helpers = mode != USERNS_SINGLE && uid != 0 && nsu > 0 && nsg > 0;
        cleanup_free char *nu = want_helpers ? find_in_path("newuidmap", path ? path : "/usr/bin:/bin") : NULL;
        cleanup_free char *ng = want_helpers ? find_in_path("newgidmap", path ? path : "/usr/bin:/bin") : NULL;
        if (idmap_plan_build(uid, gid, mode, su, nsu, sg, nsg, nu, ng, plan, err) < 0)
                return -1;
        if (plan->kind == IDMAP_RANGES || (plan->kind == IDMAP_KEEP_ID && !plan->deny_setgroups)) {
                size_t len = strlen(plan->why);
                snprintf(plan->why + len, sizeof(plan->why) - len, " from %s", src_u);
        }
        return 0;
}

static int run_helper(const char *helper, pid_t pid, const struct idmap *map, pid_t *child, int *errfd,
                      struct burrow_error **err)
{
        /* newuidmap PID INSIDE OUTSIDE COUNT [...] */
        size_t argc = 2 + 3 * map->n + 1;
        cleanup_free char **argv = calloc(argc, sizeof(char *));
        cleanup_free char *numbers = malloc(map->n * 3 * 12 + 16);
        if (argv == NULL || numbers == NULL)
                return burrow_error_set(err, ENOMEM, "%s", helper);
        char *p = numbers;
        size_t a = 0;
        argv[a++] = (char *)helper;
        argv[a++] = p;
        p += sprintf(p, "%d", (int)pid) + 1;
        for (size_t i = 0; i < map->n; i++) {
                uint32_t v[3] = { map->r[i].inside, map->r[i].outside, map->r[i].count };
                for (int k = 0; k < 3; k++) {
                        argv[a++] = p;
                        p += sprintf(p, "%" PRIu32, v[k]) + 1;
                }
        }
        argv[a] = NULL;
        int pipefd[2];
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return burrow_error_set(err, errno, "pipe for %s", helper);
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDERR_FILENO);
        posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
        posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        extern char **environ;
        int r = posix_spawn(child, helper, &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        close(pipefd[1]);
        if (r != 0) {
                close(pipefd[0]);
                return burrow_error_set(err, r, "running `%s`", helper);
        }
        *errfd = pipefd[0];
        return 0;
}

/* Wait for a helper; on failure its own words go into the error. */
static int finish_helper(const char *helper, const char *mapname, const struct idmap *map, pid_t child, int errfd,
                         struct burrow_error **err)
{
        char out[1024];
        size_t used = 0;
        ssize_t n;
        while (used < sizeof(out) - 1 && (n = read(errfd, out + used, sizeof(out) - 1 - used)) != 0) {
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                used += (size_t)n;
        }
        out[used] = '\0';
        close(errfd);
        while (used > 0 && (out[used - 1] == '\n' || out[used - 1] == ' '))
                out[--used] = '\0';
        int status;
        while (waitpid(child, &status, 0) < 0)
                if (errno != EINTR)
                        return burrow_error_set(err, errno, "waiting for `%s`", helper);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return 0;
        char text[IDMAP_MAX_RANGES * 36];
        if (idmap_format(map, text, sizeof(text)) < 0)
                text[0] = '\0';
        for (char *q = text; *q; q++)
                if (*q == '\n')
                        *q = q[1] ? ',' : '\0';
        return burrow_error_set(err, 0, "`%s` refused the %s `%s`: %s", helper, mapname, text,
                                used ? out : "(no message)");
}

static int write_map(pid_t pid, const char *file, const struct idmap *map, struct burrow_error **err)
{
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
        char text[IDMAP_MAX_RANGES * 36];
        int len = idmap_format(map, text, sizeof(text));
        if (len < 0)
                return burrow_error_set(err, 0, "ID map for `%s` is too long", path);
        return write_file_at(AT_FDCWD, path, text, (size_t)len, 0, err);
}

int idmap_plan_apply(const struct idmap_plan *plan, pid_t pid, struct burrow_error **err)
{
        if (plan->use_helpers) {
                /* Both helpers at once: each is a fork+exec of a setuid binary. */
                pid_t cu = -1, cg = -1;
                int eu = -1, eg = -1;
                if (run_helper(plan->newuidmap, pid, &plan->uids, &cu, &eu, err) < 0)
                        return -1;
                if (run_helper(plan->newgidmap, pid, &plan->gids, &cg, &eg, err) < 0) {
                        finish_helper(plan->newuidmap, "UID map", &plan->uids, cu, eu, NULL);
                        return -1;
                }
                int ru = finish_helper(plan->newuidmap, "UID map", &plan->uids, cu, eu, err);
                int rg = finish_helper(plan->newgidmap, "GID map", &plan->gids, cg, eg, err);
                return ru < 0 || rg < 0 ? -1 : 0;
        }
        if (plan->deny_setgroups) {
                char path[64];
                snprintf(path, sizeof(path), "/proc/%d/setgroups", (int)pid);
                if (write_file_at(AT_FDCWD, path, "deny", 4, 0, err) < 0)
                        return -1;
        }
        if (write_map(pid, "uid_map", &plan->uids, err) < 0 || write_map(pid, "gid_map", &plan->gids, err) < 0)
                return burrow_error_wrap(err, "writing the %s ID map", idmap_kind_name(plan->kind));
        return 0;
}
