#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs/rootfs.h"
#include "tests/unit/tap.h"
#include "userns/diagnose.h"
#include "util/fsutil.h"

static char *fd_target(int fd)
{
        static char buf[PATH_MAX];
        char p[FD_PATH_MAX];
        ssize_t n = readlink(fd_path(fd, p), buf, sizeof(buf) - 1);
        buf[n < 0 ? 0 : n] = '\0';
        return buf;
}

int main(void)
{
        static const char *const cases[][2] = {
                { "/", "/" },           { "//a//b/", "/a/b" }, { "/a/./b/.", "/a/b" }, { "/a/../b", "/b" },
                { "/../../etc", "/etc" }, { "/a/b/../../..", "/" }, { "/.", "/" },        { "/a/.../b", "/a/.../b" },
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char *c = path_clean_absolute(cases[i][0]);
                is_str(c, cases[i][1], "clean `%s`", cases[i][0]);
                free(c);
        }
        ok(path_clean_absolute("rel/x") == NULL && errno == EINVAL, "relative path refused");

        char top[] = "/tmp/burrow-path-XXXXXX";
        ok(mkdtemp(top) != NULL, "temp dir");
        char root[256], outside[256], p[2048];
        snprintf(root, sizeof(root), "%s/root", top);
        snprintf(outside, sizeof(outside), "%s/outside", top);
        mkdir(root, 0755);
        mkdir(outside, 0755);
        snprintf(p, sizeof(p), "%s/etc", root);
        mkdir(p, 0755);
        snprintf(p, sizeof(p), "%s/abs", root);
        ok(symlink(outside, p) == 0, "symlink to an absolute host path");
        snprintf(p, sizeof(p), "%s/up", root);
        ok(symlink("../../../etc", p) == 0, "symlink climbing with ..");
        snprintf(p, sizeof(p), "%s/etc/self", root);
        ok(symlink("/etc", p) == 0, "absolute symlink inside");

        struct burrow_error *err = NULL;
        int rootfd = rootfs_open(root, &err);
        ok(rootfd >= 0, "rootfs_open");
        char want[2048];

        /* Through the kernel (openat2) and through the fallback walk: same answers. */
        for (int walk = 0; walk < 2; walk++) {
                const char *how = walk ? "walk" : "openat2";
                int fd = walk ? rootfs_walk_in_root(rootfd, "/abs", ROOTFS_EXISTING) : rootfs_resolve(rootfd, "R", "/abs", ROOTFS_EXISTING, &err);
                burrow_error_free(err);
                err = NULL;
                ok(fd < 0 && errno == ENOENT, "%s: /abs -> host path does not resolve outside (stays in root)", how);
                if (fd >= 0)
                        close(fd);
                fd = walk ? rootfs_walk_in_root(rootfd, "/up", ROOTFS_EXISTING) : rootfs_resolve(rootfd, "R", "/up", ROOTFS_EXISTING, &err);
                snprintf(want, sizeof(want), "%s/etc", root);
                ok(fd >= 0 && strcmp(fd_target(fd), want) == 0, "%s: ../../ clamps at the root (%s)", how, fd >= 0 ? fd_target(fd) : "-");
                if (fd >= 0)
                        close(fd);
                fd = walk ? rootfs_walk_in_root(rootfd, "/etc/self/self", ROOTFS_EXISTING) : rootfs_resolve(rootfd, "R", "/etc/self/self", ROOTFS_EXISTING, &err);
                snprintf(want, sizeof(want), "%s/etc", root);
                ok(fd >= 0 && strcmp(fd_target(fd), want) == 0, "%s: absolute symlinks resolve inside the root", how);
                if (fd >= 0)
                        close(fd);
        }

        int fd = rootfs_resolve(rootfd, "R", "/abs/made/here", ROOTFS_CREATE_DIR, &err);
        snprintf(want, sizeof(want), "%s/made/here", outside);
        struct stat st;
        ok(stat(want, &st) < 0, "creating through a symlink to the host writes nothing outside");
        snprintf(want, sizeof(want), "%s%s/made/here", root, outside);
        ok(fd >= 0 && strcmp(fd_target(fd), want) == 0, "it lands under the root instead (%s)", fd >= 0 ? fd_target(fd) : err->msg);
        if (fd >= 0)
                close(fd);
        burrow_error_free(err);
        err = NULL;
        fd = rootfs_resolve(rootfd, "R", "/new/file", ROOTFS_CREATE_FILE, &err);
        snprintf(want, sizeof(want), "%s/new/file", root);
        ok(fd >= 0 && stat(want, &st) == 0 && S_ISREG(st.st_mode), "CREATE_FILE makes parents and an empty file");
        if (fd >= 0)
                close(fd);
        snprintf(p, sizeof(p), "%s/dangle", root);
        ok(symlink("/nowhere/x", p) == 0, "dangling symlink");
        fd = rootfs_resolve(rootfd, "R", "/dangle", ROOTFS_CREATE_DIR, &err);
        snprintf(want, sizeof(want), "%s/nowhere/x", root);
        ok(fd >= 0 && strcmp(fd_target(fd), want) == 0, "a dangling symlink's target is made inside the root");
        if (fd >= 0)
                close(fd);
        burrow_error_free(err);
        err = NULL;

        ok(rootfs_open("/nonexistent-burrow", &err) < 0 && err && strstr(err->msg, "does not exist"), "missing rootfs: clear error");
        burrow_error_free(err);
        err = NULL;
        ok(rootfs_open("/etc/passwd", &err) < 0 && err && strstr(err->msg, "is not a directory"), "file as rootfs: clear error");
        burrow_error_free(err);
        err = NULL;

        /* userns_diagnose against a fake /proc/sys */
        char sys[512], buf[512];
        snprintf(sys, sizeof(sys), "%s/sys", top);
        snprintf(p, sizeof(p), "%s/user", sys);
        mkdir(sys, 0755);
        mkdir(p, 0755);
        snprintf(p, sizeof(p), "%s/kernel", sys);
        mkdir(p, 0755);
        snprintf(p, sizeof(p), "%s/user/max_user_namespaces", sys);
        write_file_at(AT_FDCWD, p, "0\n", 2, 0644, &err);
        ok(userns_diagnose(sys, buf, sizeof(buf)) == 1 && strstr(buf, "user.max_user_namespaces = 0"), "max_user_namespaces=0 diagnosed");
        write_file_at(AT_FDCWD, p, "1000\n", 5, 0644, &err);
        snprintf(p, sizeof(p), "%s/kernel/unprivileged_userns_clone", sys);
        write_file_at(AT_FDCWD, p, "0\n", 2, 0644, &err);
        ok(userns_diagnose(sys, buf, sizeof(buf)) == 1 && strstr(buf, "unprivileged_userns_clone"), "Debian knob diagnosed");
        write_file_at(AT_FDCWD, p, "1\n", 2, 0644, &err);
        snprintf(p, sizeof(p), "%s/kernel/apparmor_restrict_unprivileged_userns", sys);
        write_file_at(AT_FDCWD, p, "1\n", 2, 0644, &err);
        ok(userns_diagnose(sys, buf, sizeof(buf)) == 1 && strstr(buf, "AppArmor"), "Ubuntu AppArmor restriction diagnosed");
        write_file_at(AT_FDCWD, p, "0\n", 2, 0644, &err);
        ok(userns_diagnose(sys, buf, sizeof(buf)) == 0, "nothing wrong: no cause claimed");

        char cmd[512];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
        ok(system(cmd) == 0, "cleanup");
        return tap_done();
}
