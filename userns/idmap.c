#include "config.h"

#include "userns/idmap.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

const char *idmap_kind_name(enum idmap_kind kind)
{
        switch (kind) {
        case IDMAP_SINGLE:
                return "single-ID";
        case IDMAP_IDENTITY:
                return "identity";
        }
        return "?";
}

int idmap_plan_for_caller(uid_t uid, gid_t gid, struct idmap_plan *plan, struct burrow_error **err)
{
        memset(plan, 0, sizeof(*plan));
        if (uid == 0) {
                /* Real root needs no helper; the identity map keeps host ownership as it is.
                 * uid_map allows at most 2^32-1 IDs: leave (uid_t)-1, the "no ID" value, out. */
                plan->kind = IDMAP_IDENTITY;
                if (idmap_add(&plan->uids, 0, 0, UINT32_MAX, err) < 0 || idmap_add(&plan->gids, 0, 0, UINT32_MAX, err) < 0)
                        return -1;
                return 0;
        }
        plan->kind = IDMAP_SINGLE;
        plan->deny_setgroups = true;
        if (idmap_add(&plan->uids, 0, uid, 1, err) < 0 || idmap_add(&plan->gids, 0, gid, 1, err) < 0)
                return -1;
        return 0;
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
