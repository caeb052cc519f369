#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/tap.h"
#include "util/settings.h"

static char dir[] = "/tmp/burrow-test-settings-XXXXXX";

static const char *file_with(const char *name, const char *text)
{
        static char path[2][256];
        static int which;
        char *p = path[which++ % 2];
        snprintf(p, 256, "%s/%s", dir, name);
        FILE *f = fopen(p, "w");
        fputs(text, f);
        fclose(f);
        return p;
}

int main(void)
{
        struct burrow_settings st;
        struct burrow_error *err = NULL;
        if (mkdtemp(dir) == NULL)
                return 1;
        setenv("BURROW_TEST_SCRATCH", "/local/scratch", 1);
        setenv("USER", "alice", 1);

        ok(burrow_settings_load(NULL, "/nonexistent/burrow.json", &st, &err) == 0 && st.root == NULL && st.runroot == NULL,
           "no files: nothing set");
        const char *sys = file_with("sys.json", "{\"root\": \"$BURROW_TEST_SCRATCH/$USER/burrow\", \"runroot\": \"/run/b-${USER}\"}");
        ok(burrow_settings_load(sys, NULL, &st, &err) == 0 && st.root && strcmp(st.root, "/local/scratch/alice/burrow") == 0 &&
                   strcmp(st.runroot, "/run/b-alice") == 0 && strcmp(st.root_from, sys) == 0,
           "the system file, variables expanded (%s)", st.root ? st.root : "-");
        burrow_settings_free(&st);
        const char *user = file_with("user.json", "{\"root\": \"/home/alice/store\"}");
        ok(burrow_settings_load(sys, user, &st, &err) == 0 && strcmp(st.root, "/home/alice/store") == 0 &&
                   strcmp(st.runroot, "/run/b-alice") == 0 && strcmp(st.root_from, user) == 0,
           "the user's file wins where it says something");
        burrow_settings_free(&st);

        const char *bad = file_with("bad.json", "{\"root\": ");
        ok(burrow_settings_load(NULL, bad, &st, &err) < 0 && err && strstr(err->msg, "is not valid JSON") && strstr(err->msg, bad),
           "invalid JSON: named (%s)", err ? err->msg : "-");
        burrow_error_free(err);
        err = NULL;
        bad = file_with("bad.json", "{\"rooot\": \"/x\"}");
        ok(burrow_settings_load(NULL, bad, &st, &err) < 0 && err && strstr(err->msg, "unknown setting \"rooot\""),
           "a misspelt key is an error, not silence");
        burrow_error_free(err);
        err = NULL;
        bad = file_with("bad.json", "{\"root\": \"relative/dir\"}");
        ok(burrow_settings_load(NULL, bad, &st, &err) < 0 && err && strstr(err->msg, "absolute path"), "relative paths refused");
        burrow_error_free(err);
        err = NULL;
        bad = file_with("bad.json", "{\"root\": \"/x/$(touch /tmp/burrow-settings-pwned)\"}");
        ok(burrow_settings_load(NULL, bad, &st, &err) < 0 && err && strstr(err->msg, "command substitution") &&
                   access("/tmp/burrow-settings-pwned", F_OK) < 0,
           "no command substitution");
        burrow_error_free(err);
        err = NULL;
        bad = file_with("bad.json", "{\"root\": \"/x/$BURROW_SURELY_UNSET\"}");
        ok(burrow_settings_load(NULL, bad, &st, &err) < 0 && err && strstr(err->msg, "unset variable"), "unset variables refused");
        burrow_error_free(err);
        err = NULL;
        bad = file_with("bad.json", "{\"root\": 5}");
        ok(burrow_settings_load(NULL, bad, &st, &err) < 0 && err && strstr(err->msg, "must be a string"), "a number refused");
        burrow_error_free(err);
        err = NULL;

        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        ok(system(cmd) == 0, "cleanup");
        return tap_done();
}
