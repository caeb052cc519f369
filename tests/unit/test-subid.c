#include "config.h"

#include <stdio.h>
#include <unistd.h>

#include "tests/unit/tap.h"
#include "userns/subid.h"

int main(void)
{
        struct sub_range r[8];
        const char *text = "# comment\n"
                           "alice:100000:65536\n"
                           "bob:165536:65536\n"
                           "1000:300000:1000\n"
                           "alice:500000:10\n"
                           "broken line\n"
                           "carol:abc:5\n"
                           "dave:1:0\n"
                           ":1:1\n";
        size_t n = subid_parse(text, "/etc/subuid", "alice", 1000, r, 8);
        ok(n == 3, "alice has three ranges: by name twice, by uid once (got %zu)", n);
        ok(n >= 1 && r[0].start == 100000 && r[0].count == 65536, "first range in file order");
        ok(n >= 2 && r[1].start == 300000 && r[1].count == 1000, "numeric uid entry matches");
        ok(n >= 3 && r[2].start == 500000 && r[2].count == 10, "several ranges per user");
        n = subid_parse(text, "/etc/subuid", "bob", 1001, r, 8);
        ok(n == 1 && r[0].start == 165536, "bob matched only by name");
        n = subid_parse(text, "/etc/subuid", "zed", 4242, r, 8);
        ok(n == 0, "unknown user has no range");
        n = subid_parse(text, "/etc/subuid", "alice", 1000, r, 1);
        ok(n == 1, "at most max ranges returned");
        n = subid_parse("dave:1:0\ncarol:abc:5\n", "/etc/subuid", "dave", 7, r, 8);
        ok(n == 0, "malformed and zero-count entries are skipped");
        n = subid_parse("eve:4294967295:2\n", "/etc/subuid", "eve", 7, r, 8);
        ok(n == 0, "range past 2^32 skipped");
        n = subid_parse("frank:10:5", "/etc/subuid", "frank", 7, r, 8);
        ok(n == 1 && r[0].count == 5, "last line without newline");

        size_t found = 99;
        struct burrow_error *err = NULL;
        ok(subid_lookup("/nonexistent/subuid", "alice", 1, r, 8, &found, &err) == 0 && found == 0,
           "a missing file means no ranges, not an error");
        char path[] = "/tmp/burrow-subid-XXXXXX";
        int fd = mkstemp(path);
        ok(fd >= 0 && write(fd, "gina:7:3\n", 9) == 9, "wrote a test subuid file");
        close(fd);
        ok(subid_lookup(path, "gina", 1, r, 8, &found, &err) == 0 && found == 1 && r[0].start == 7, "lookup reads the file");
        unlink(path);
        return tap_done();
}
