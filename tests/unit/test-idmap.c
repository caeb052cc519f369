#include "config.h"

#include <stdlib.h>

#include "tests/unit/tap.h"
#include "userns/idmap.h"

int main(void)
{
        struct idmap *m = calloc(1, sizeof(*m));
        struct burrow_error *err = NULL;

        ok(idmap_parse("         0       1000          1\n         1     100000      65536\n", m, &err) == 0 && m->n == 2,
           "parses /proc/PID/uid_map text with its padding");
        ok(m->r[1].inside == 1 && m->r[1].outside == 100000 && m->r[1].count == 65536, "second range read exactly");
        uint32_t v = 0;
        ok(idmap_to_outside(m, 0, &v) && v == 1000, "inside 0 -> caller");
        ok(idmap_to_outside(m, 999, &v) && v == 100998, "inside 999 -> start+998");
        ok(!idmap_to_outside(m, 65537, &v), "inside 65537 is unmapped");
        ok(idmap_to_inside(m, 165535, &v) && v == 65536, "host 165535 -> inside 65536");
        ok(!idmap_to_inside(m, 5, &v), "host 5 is not mapped in");
        ok(idmap_size(m) == 65537, "size counts every ID");

        char buf[256];
        ok(idmap_format(m, buf, sizeof(buf)) > 0, "formats");
        is_str(buf, "0 1000 1\n1 100000 65536\n", "format is uid_map's input form");
        ok(idmap_format(m, buf, 8) == -1, "format refuses a short buffer");

        ok(idmap_parse("0 1000\n", m, &err) < 0 && err && strstr(err->msg, "line 1"), "two numbers: error names the line");
        burrow_error_free(err);
        err = NULL;
        ok(idmap_parse("0 1000 1\n0 2000 5\n", m, &err) < 0 && err && strstr(err->msg, "overlaps"), "overlapping inside ranges rejected");
        burrow_error_free(err);
        err = NULL;
        ok(idmap_parse("0 1000 0\n", m, &err) < 0 && err && strstr(err->msg, "count of 0"), "count 0 rejected");
        burrow_error_free(err);
        err = NULL;
        ok(idmap_parse("4294967295 0 2\n", m, &err) < 0 && err && strstr(err->msg, "overflows"), "overflow rejected");
        burrow_error_free(err);
        err = NULL;
        ok(idmap_parse("0 1 1 x\n", m, &err) < 0 && err && strstr(err->msg, "trailing"), "trailing text rejected");
        burrow_error_free(err);
        err = NULL;
        ok(idmap_parse("-1 1 1\n", m, &err) < 0, "negative rejected");
        burrow_error_free(err);
        err = NULL;
        ok(idmap_parse("\n\n", m, &err) == 0 && m->n == 0, "blank text is an empty map");

        struct idmap_plan *plan = calloc(1, sizeof(*plan));
        ok(idmap_plan_for_caller(1000, 1001, plan, &err) == 0 && plan->kind == IDMAP_SINGLE, "user gets the single-ID map");
        ok(plan->deny_setgroups, "single map denies setgroups (kernel rule)");
        ok(idmap_to_outside(&plan->uids, 0, &v) && v == 1000 && idmap_to_outside(&plan->gids, 0, &v) && v == 1001,
           "0 inside is the caller's uid and gid");
        ok(!idmap_to_outside(&plan->gids, 5, &v), "gid 5 unmapped in the single map");
        ok(idmap_plan_for_caller(0, 0, plan, &err) == 0 && plan->kind == IDMAP_IDENTITY && !plan->deny_setgroups,
           "root gets the identity map");
        ok(idmap_to_outside(&plan->uids, 12345, &v) && v == 12345, "identity maps 12345 to itself");
        ok(idmap_format(&plan->uids, buf, sizeof(buf)) > 0 && strcmp(buf, "0 0 4294967295\n") == 0, "identity map text");
        free(plan);
        free(m);
        return tap_done();
}
