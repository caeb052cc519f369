#include "config.h"

#include <stdlib.h>

#include "tests/unit/tap.h"
#include "userns/idmap.h"
#include "userns/subid.h"

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
        const char *nu = "/usr/bin/newuidmap", *ng = "/usr/bin/newgidmap";
        struct sub_range one[] = { { 100000, 65536 } };
        ok(idmap_plan_build(1000, 1001, USERNS_AUTO, NULL, 0, NULL, 0, nu, ng, plan, &err) == 0 && plan->kind == IDMAP_SINGLE,
           "no range: single-ID map");
        ok(plan->deny_setgroups && plan->no_range && !plan->use_helpers, "single map denies setgroups, is flagged, needs no helper");
        ok(strstr(plan->why, "no subordinate UID range") != NULL, "the reason is given: %s", plan->why);
        ok(idmap_to_outside(&plan->uids, 0, &v) && v == 1000 && idmap_to_outside(&plan->gids, 0, &v) && v == 1001,
           "0 inside is the caller's uid and gid");
        ok(!idmap_to_outside(&plan->gids, 5, &v), "gid 5 unmapped in the single map");

        ok(idmap_plan_build(1000, 1001, USERNS_AUTO, one, 1, one, 1, nu, ng, plan, &err) == 0 && plan->kind == IDMAP_RANGES,
           "range and helpers: ranged map");
        ok(plan->use_helpers && !plan->deny_setgroups, "ranged map goes through newuidmap, setgroups allowed");
        ok(idmap_format(&plan->uids, buf, sizeof(buf)) > 0 && strcmp(buf, "0 1000 1\n1 100000 65536\n") == 0,
           "caller -> 0, range -> 1..65536 (%s)", buf);
        ok(idmap_to_outside(&plan->uids, 1000, &v) && v == 100999, "inside 1000 is start+999");

        ok(idmap_plan_build(1000, 1001, USERNS_AUTO, one, 1, one, 1, NULL, ng, plan, &err) == 0 && plan->kind == IDMAP_SINGLE &&
                   strstr(plan->why, "newuidmap is not installed"),
           "no newuidmap: single map, saying why");
        ok(idmap_plan_build(1000, 1001, USERNS_SINGLE, one, 1, one, 1, nu, ng, plan, &err) == 0 && plan->kind == IDMAP_SINGLE &&
                   !plan->no_range,
           "--userns=single forces it (and is not a fallback)");

        ok(idmap_plan_build(1000, 1001, USERNS_KEEP_ID, one, 1, one, 1, nu, ng, plan, &err) == 0 && plan->kind == IDMAP_KEEP_ID,
           "keep-id with a range");
        ok(idmap_format(&plan->uids, buf, sizeof(buf)) > 0 && strcmp(buf, "0 100000 1000\n1000 1000 1\n1001 101000 64536\n") == 0,
           "keep-id: 0..999 from the range, 1000 -> 1000, the rest above (%s)", buf);
        ok(idmap_to_outside(&plan->gids, 1001, &v) && v == 1001, "keep-id gid maps to itself");
        ok(idmap_plan_build(1000, 1001, USERNS_KEEP_ID, NULL, 0, NULL, 0, nu, ng, plan, &err) == 0 && plan->kind == IDMAP_KEEP_ID &&
                   plan->deny_setgroups && idmap_format(&plan->uids, buf, sizeof(buf)) > 0 && strcmp(buf, "1000 1000 1\n") == 0,
           "keep-id without a range: just the caller, as itself");

        struct sub_range overlap[] = { { 900, 200 }, { 5000, 10 } };
        ok(idmap_plan_build(1000, 1001, USERNS_AUTO, overlap, 2, overlap, 2, nu, ng, plan, &err) == 0, "range holding the caller's own uid");
        ok(idmap_format(&plan->uids, buf, sizeof(buf)) > 0 && strcmp(buf, "0 1000 1\n1 900 100\n101 1001 99\n200 5000 10\n") == 0,
           "the caller's uid is skipped inside the range, not mapped twice (%s)", buf);
        struct sub_range two[] = { { 200000, 10 }, { 300000, 5 } };
        ok(idmap_plan_build(1000, 1001, USERNS_AUTO, two, 2, two, 2, nu, ng, plan, &err) == 0 &&
                   idmap_format(&plan->uids, buf, sizeof(buf)) > 0 && strcmp(buf, "0 1000 1\n1 200000 10\n11 300000 5\n") == 0,
           "several ranges follow one another (%s)", buf);

        ok(idmap_plan_build(0, 0, USERNS_AUTO, NULL, 0, NULL, 0, NULL, NULL, plan, &err) == 0 && plan->kind == IDMAP_IDENTITY &&
                   !plan->deny_setgroups,
           "root without a range gets the identity map");
        ok(idmap_to_outside(&plan->uids, 12345, &v) && v == 12345, "identity maps 12345 to itself");
        ok(idmap_format(&plan->uids, buf, sizeof(buf)) > 0 && strcmp(buf, "0 0 4294967295\n") == 0, "identity map text");
        ok(idmap_plan_build(0, 0, USERNS_AUTO, one, 1, one, 1, NULL, NULL, plan, &err) == 0 && plan->kind == IDMAP_RANGES &&
                   !plan->use_helpers,
           "root with a range: ranged, written without helpers");

        struct idmap *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
        ok(idmap_parse("0 1000 1\n", a, &err) == 0 && idmap_parse("0 1000 1\n1 100000 65536\n", b, &err) == 0 &&
                   idmap_covers(b, a) && !idmap_covers(a, b),
           "a ranged map covers the single map it grew from, not the other way");
        ok(idmap_parse("0 1000 1\n1 100000 10\n11 200000 10\n", a, &err) == 0 &&
                   idmap_parse("0 1000 1\n1 100000 10\n11 200000 20\n", b, &err) == 0 && idmap_covers(b, a),
           "a grown last range still covers, across range boundaries");
        ok(idmap_parse("0 1000 1\n1 100000 65536\n", a, &err) == 0 && idmap_parse("0 1000 1\n1 300000 65536\n", b, &err) == 0 &&
                   !idmap_covers(b, a),
           "a moved subordinate range does not cover");
        ok(idmap_parse("0 1000 2\n", a, &err) == 0 && idmap_parse("0 1000 1\n1 1001 1\n", b, &err) == 0 && idmap_covers(b, a),
           "the same IDs split differently cover");
        free(a);
        free(b);

        enum userns_mode mode;
        ok(userns_mode_parse("keep-id", &mode, &err) == 0 && mode == USERNS_KEEP_ID, "--userns=keep-id parses");
        ok(userns_mode_parse("bogus", &mode, &err) < 0 && err && strstr(err->msg, "`bogus`"), "--userns=bogus names itself");
        burrow_error_free(err);
        err = NULL;
        free(plan);
        free(m);
        return tap_done();
}
