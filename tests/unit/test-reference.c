#include "config.h"

#include "fs/reference.h"
#include "tests/unit/tap.h"

int main(void)
{
        struct image_ref r;
        struct burrow_error *err = NULL;
        char buf[1024];
        static const char *const good[][3] = {
                { "debian", "docker.io", "docker.io/library/debian:latest" },
                { "debian:12", "docker.io", "docker.io/library/debian:12" },
                { "user/app", "docker.io", "docker.io/user/app:latest" },
                { "docker.io/debian", "docker.io", "docker.io/library/debian:latest" },
                { "localhost:5000/a/b:v1.2", "docker.io", "localhost:5000/a/b:v1.2" },
                { "quay.io/x/y", "docker.io", "quay.io/x/y:latest" },
                { "myimg", "localhost", "localhost/myimg:latest" },
                { "localhost/myimg:2", "docker.io", "localhost/myimg:2" },
                { "127.0.0.1:5000/t@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", NULL,
                  "127.0.0.1:5000/t@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" },
        };
        for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
                int r0 = image_ref_parse(good[i][0], good[i][1], &r, &err);
                ok(r0 == 0, "parses `%s`%s%s", good[i][0], err ? ": " : "", err ? err->msg : "");
                is_str(image_ref_format(&r, buf, sizeof(buf)), good[i][2], "`%s` is `%s`", good[i][0], good[i][2]);
                burrow_error_free(err);
                err = NULL;
        }
        static const char *const bad[][2] = {
                { "", "empty" },
                { "Debian", "not a valid name component" },
                { "a//b", "not a valid name component" },
                { "a:b:c", "not a valid name component" },
                { "deb:ian!", "bad tag" },
                { "x@sha256:zz", "not a sha256 digest" },
                { "-x", "not a valid name component" },
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                ok(image_ref_parse(bad[i][0], "docker.io", &r, &err) < 0 && err && strstr(err->msg, bad[i][1]),
                   "rejects `%s`: %s", bad[i][0], err ? err->msg : "(accepted)");
                burrow_error_free(err);
                err = NULL;
        }
        return tap_done();
}
