#include "config.h"

#include "sandbox/info.h"

#define _XOPEN_SOURCE_EXTENDED 1
#include <errno.h>
#include <jansson.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/magic.h>
#include <pwd.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fs/store.h"
#include "sandbox/runroot.h"
#include "userns/diagnose.h"
#include "userns/holder.h"
#include "userns/idmap.h"
#include "userns/subid.h"
#include "util/fsutil.h"

static void row(FILE *out, const char *key, const char *value, const char *fix)
{
        fprintf(out, "%-26s %s\n", key, value);
        if (fix && *fix)
                fprintf(out, "%-26s   fix: %s\n", "", fix);
}

/* Run fn in a forked child inside a fresh user+mount namespace with a single-ID map;
 * returns the child's exit status (0 = works). */
static int probe_in_userns(int (*fn)(void *), void *arg)
{
        uid_t uid = getuid();
        gid_t gid = getgid();
        pid_t pid = fork();
        if (pid < 0)
                return -1;
        if (pid == 0) {
                if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
                        _exit(10);
                char map[64];
                struct burrow_error *err = NULL;
                snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)uid);
                if (write_file_at(AT_FDCWD, "/proc/self/setgroups", "deny", 4, 0, &err) < 0 ||
                    write_file_at(AT_FDCWD, "/proc/self/uid_map", map, strlen(map), 0, &err) < 0)
                        _exit(11);
                snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)gid);
                if (write_file_at(AT_FDCWD, "/proc/self/gid_map", map, strlen(map), 0, &err) < 0)
                        _exit(11);
                _exit(fn ? fn(arg) : 0);
        }
        int status;
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int overlay_probe(void *arg)
{
        const char *dir = arg;
        char opts[1024], merged[512];
        snprintf(opts, sizeof(opts), "lowerdir=%s/l,upperdir=%s/u,workdir=%s/w,userxattr", dir, dir, dir);
        snprintf(merged, sizeof(merged), "%s/m", dir);
        return mount("overlay", merged, "overlay", 0, opts) == 0 ? 0 : 20;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
        (void)st;
        (void)ftw;
        if (type == FTW_DP)
                rmdir(path);
        else
                unlink(path);
        return 0;
}

bool burrow_kernel_overlay_in_userns(void)
{
        char dir[] = "/tmp/burrow-probe-XXXXXX";
        if (mkdtemp(dir) == NULL)
                return false;
        static const char *const subs[] = { "l", "u", "w", "m" };
        bool ok = true;
        for (size_t i = 0; i < 4 && ok; i++) {
                char p[64];
                snprintf(p, sizeof(p), "%s/%s", dir, subs[i]);
                ok = mkdir(p, 0700) == 0;
        }
        if (ok)
                ok = probe_in_userns(overlay_probe, dir) == 0;
        nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
        return ok;
}

static void device_row(FILE *out, const char *key, const char *path, const char *missing_fix)
{
        struct stat st;
        char value[256], fix[256] = "";
        if (stat(path, &st) < 0) {
                snprintf(value, sizeof(value), "missing (%s)", strerror(errno));
                snprintf(fix, sizeof(fix), "%s", missing_fix);
        } else if (access(path, R_OK | W_OK) == 0) {
                snprintf(value, sizeof(value), "usable (mode %04o)", (unsigned)(st.st_mode & 07777));
        } else {
                snprintf(value, sizeof(value), "present but not usable by you (mode %04o)", (unsigned)(st.st_mode & 07777));
                snprintf(fix, sizeof(fix), "as root: chmod 0666 %s (the stock mode on Debian and Fedora)", path);
        }
        row(out, key, value, fix);
}

static void subid_row(FILE *out, const char *key, const char *file, const char *user, uid_t uid, const char *fix)
{
        struct sub_range r[16];
        size_t n = 0;
        struct burrow_error *err = NULL;
        char value[512];
        const char *source = file;
        if (subid_ranges(strcmp(file, "/etc/subuid") == 0 ? SUBID_UID : SUBID_GID, user, uid, r, 16, &n, &source, &err) < 0) {
                snprintf(value, sizeof(value), "unreadable: %s", err->msg);
                burrow_error_free(err);
                row(out, key, value, NULL);
                return;
        }
        if (n == 0) {
                snprintf(value, sizeof(value), "none for %s in %s", user, source);
                row(out, key, value, fix);
                return;
        }
        size_t used = 0;
        value[0] = '\0';
        for (size_t i = 0; i < n && used < sizeof(value); i++)
                used += (size_t)snprintf(value + used, sizeof(value) - used, "%s%u-%u (%u IDs)", i ? ", " : "",
                                         (unsigned)r[i].start, (unsigned)(r[i].start + r[i].count - 1), (unsigned)r[i].count);
        row(out, key, value, NULL);
}

static void cgroup_row(FILE *out)
{
        struct statfs sf;
        if (statfs("/sys/fs/cgroup", &sf) < 0) {
                row(out, "cgroups", "not mounted", "mount cgroup2 on /sys/fs/cgroup (boot with systemd.unified_cgroup_hierarchy=1)");
                return;
        }
        if ((unsigned long)sf.f_type == CGROUP2_SUPER_MAGIC) {
                char *self = NULL, path[4096], value[4200];
                struct burrow_error *err = NULL;
                if (read_file_at(AT_FDCWD, "/proc/self/cgroup", &self, NULL, &err) < 0) {
                        burrow_error_free(err);
                        row(out, "cgroups", "v2 (unified); own cgroup unknown", NULL);
                        return;
                }
                char *p = strstr(self, "0::");
                char *nl = p ? strchr(p, '\n') : NULL;
                if (nl)
                        *nl = '\0';
                snprintf(path, sizeof(path), "/sys/fs/cgroup%s", p ? p + 3 : "/");
                bool delegated = access(path, W_OK) == 0;
                snprintf(value, sizeof(value), "v2 (unified), cgroup %s %s", p ? p + 3 : "?",
                         delegated ? "is writable by you (delegated)" : "is not delegated to you");
                row(out, "cgroups", value, delegated ? NULL : "log in through systemd (loginctl enable-linger USER) to get a delegated user slice");
                free(self);
                return;
        }
        struct stat st;
        bool hybrid = stat("/sys/fs/cgroup/unified", &st) == 0;
        row(out, "cgroups", hybrid ? "hybrid (controllers on v1, v2 without controllers): no limits" : "v1: no limits",
            "boot with systemd.unified_cgroup_hierarchy=1 for cgroup v2; burrow runs without resource limits meanwhile");
}

int burrow_info_print(const struct burrow_global *global, FILE *out, struct burrow_error **err)
{
        struct utsname u;
        char value[1024];
        if (uname(&u) == 0) {
                snprintf(value, sizeof(value), "Linux %s (%s)", u.release, u.machine);
                row(out, "kernel", value, NULL);
        }
        uid_t uid = getuid();
        struct passwd *pw = getpwuid(uid);
        char uidname[32];
        snprintf(uidname, sizeof(uidname), "%u", (unsigned)uid);
        const char *user = pw ? pw->pw_name : uidname;
        snprintf(value, sizeof(value), "%s (uid %u, gid %u)", user, (unsigned)uid, (unsigned)getgid());
        row(out, "user", value, NULL);

        long maxns = -1;
        read_long_file("/proc/sys/user/max_user_namespaces", &maxns);
        int userns = probe_in_userns(NULL, NULL);
        char why[512];
        userns_diagnose("/proc/sys", why, sizeof(why));
        if (userns == 0)
                snprintf(value, sizeof(value), "yes (user.max_user_namespaces = %ld)", maxns);
        else
                snprintf(value, sizeof(value), "NO: %s", why[0] ? why : "creating one failed");
        row(out, "user namespaces", value, userns == 0 ? NULL : "see above; burrow cannot run containers without them");

        char fix[512];
        snprintf(fix, sizeof(fix), "as root: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 %s (or ask an admin)", user);
        subid_row(out, "subordinate uids", "/etc/subuid", user, uid, fix);
        subid_row(out, "subordinate gids", "/etc/subgid", user, uid, fix);
        cleanup_free char *nu = find_in_path("newuidmap", getenv("PATH") ? getenv("PATH") : BURROW_DEFAULT_PATH);
        cleanup_free char *ng = find_in_path("newgidmap", getenv("PATH") ? getenv("PATH") : BURROW_DEFAULT_PATH);
        snprintf(value, sizeof(value), "%s, %s", nu ? nu : "newuidmap missing", ng ? ng : "newgidmap missing");
        row(out, "newuidmap/newgidmap", value, nu && ng ? NULL : "as root: apt-get install uidmap");

        char wanted_map[256] = "";
        struct idmap_plan *plan = calloc(1, sizeof(*plan));
        struct burrow_error *perr = NULL;
        if (plan && idmap_plan_for_caller(USERNS_AUTO, plan, &perr) == 0) {
                char map[256];
                idmap_format(&plan->uids, map, sizeof(map));
                for (char *q = map; *q; q++)
                        if (*q == '\n')
                                *q = q[1] ? ',' : '\0';
                snprintf(value, sizeof(value), "%s (uid_map \"%s\"): %s%s", idmap_kind_name(plan->kind), map, plan->why,
                         plan->kind == IDMAP_SINGLE ? "; you are root inside, other IDs in images collapse to you" : "");
                row(out, "ID mapping", value,
                    plan->no_range ? (strstr(plan->why, "not installed") ? "as root: apt-get install uidmap" : fix) : NULL);
                if (plan->kind == IDMAP_RANGES)
                        snprintf(wanted_map, sizeof(wanted_map), "%s", map);
        } else if (perr) {
                row(out, "ID mapping", perr->msg, NULL);
                burrow_error_free(perr);
        }
        free(plan);

        cleanup_free char *holder_runroot = global->runroot ? strdup(global->runroot) : runroot_default();
        struct idmap_plan *held = calloc(1, sizeof(*held));
        int hfd = held && holder_runroot ? userns_holder_open(holder_runroot, "auto", held) : -1;
        if (hfd >= 0) {
                char map[256];
                idmap_format(&held->uids, map, sizeof(map));
                for (char *q = map; *q; q++)
                        if (*q == '\n')
                                *q = q[1] ? ',' : '\0';
                snprintf(value, sizeof(value), "running, uid_map \"%s\" (containers join it; it ends when %s goes away)", map,
                         holder_runroot);
                close(hfd);
                if (wanted_map[0] && strcmp(wanted_map, map) != 0) {
                        char stale[512];
                        snprintf(stale, sizeof(stale), "your ranges changed since it started: rm %s/userns-auto.pid (it exits; the next run starts a new one)",
                                 holder_runroot);
                        row(out, "userns holder", value, stale);
                        free(held);
                        goto after_holder;
                }
        } else {
                snprintf(value, sizeof(value), "none running (started by the first run with a subordinate range)");
        }
        row(out, "userns holder", value, NULL);
        free(held);
after_holder:

        device_row(out, "/dev/fuse", "/dev/fuse", "as root: modprobe fuse");
        row(out, "kernel overlay in userns", burrow_kernel_overlay_in_userns() ? "yes (userxattr)" : "no",
            NULL);
        cleanup_free char *fo = find_in_path("fuse-overlayfs", getenv("PATH") ? getenv("PATH") : BURROW_DEFAULT_PATH);
        row(out, "fuse-overlayfs", fo ? fo : "missing", fo ? NULL : "as root: apt-get install fuse-overlayfs");
        cgroup_row(out);
        device_row(out, "/dev/net/tun", "/dev/net/tun", "as root: modprobe tun");

        cleanup_free char *runroot = global->runroot ? strdup(global->runroot) : runroot_default();
        row(out, "runroot", runroot ? runroot : "?", NULL);
        cleanup_free char *store = global->root ? strdup(global->root) : store_default_root();
        row(out, "store", store ? store : "?", NULL);
        char meta[PATH_MAX + 16];
        snprintf(meta, sizeof(meta), "%s/store.json", store ? store : "/nonexistent");
        json_error_t je;
        json_t *sj = json_load_file(meta, 0, &je);
        const char *driver = json_string_value(json_object_get(sj, "driver"));
        snprintf(value, sizeof(value), "%s", driver ? driver : "not probed yet (the first image container picks one)");
        row(out, "storage driver", value, NULL);
        json_decref(sj);
        return 0;
}
