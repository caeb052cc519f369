#include "config.h"

#include "userns/holder.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/fsutil.h"
#include "util/log.h"

static void holder_paths(const char *runroot, const char *mode, char *pidfile, char *lockfile, size_t size)
{
        snprintf(pidfile, size, "%s/userns-%s.pid", runroot, mode);
        snprintf(lockfile, size, "%s/userns-%s.lock", runroot, mode);
}

static int read_map(pid_t pid, const char *file, struct idmap *map)
{
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
        cleanup_free char *text = NULL;
        struct burrow_error *err = NULL;
        if (read_file_at(AT_FDCWD, path, &text, NULL, &err) < 0 || idmap_parse(text, map, &err) < 0) {
                burrow_error_free(err);
                return -1;
        }
        return 0;
}

int userns_holder_open(const char *runroot, const char *mode, struct idmap_plan *plan)
{
        char pidfile[PATH_MAX], lockfile[PATH_MAX];
        holder_paths(runroot, mode, pidfile, lockfile, sizeof(pidfile));
        cleanup_free char *text = NULL;
        struct burrow_error *err = NULL;
        if (read_file_at(AT_FDCWD, pidfile, &text, NULL, &err) < 0) {
                burrow_error_free(err);
                return -1;
        }
        int pid = 0;
        unsigned long long ino = 0;
        if (sscanf(text, "%d %llu", &pid, &ino) != 2 || pid <= 0)
                return -1;
        char path[64];
        /* A killed holder nobody has reaped yet (a container's PID 1 that does not reap) still
         * shows its namespace: it is gone all the same. */
        snprintf(path, sizeof(path), "/proc/%d/stat", pid);
        cleanup_free char *stat_text = NULL;
        if (read_file_at(AT_FDCWD, path, &stat_text, NULL, &err) < 0) {
                burrow_error_free(err);
                return -1;
        }
        const char *paren = strrchr(stat_text, ')');
        if (paren == NULL || paren[1] != ' ' || paren[2] == 'Z' || paren[2] == 'X')
                return -1;
        snprintf(path, sizeof(path), "/proc/%d/ns/user", pid);
        cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -1;
        /* The same namespace the holder recorded (not a reused PID), and ours. */
        struct stat st;
        uid_t owner;
        if (fstat(fd, &st) < 0 || (unsigned long long)st.st_ino != ino || ioctl(fd, NS_GET_OWNER_UID, &owner) < 0 ||
            owner != getuid())
                return -1;
        if (read_map(pid, "uid_map", &plan->uids) < 0 || read_map(pid, "gid_map", &plan->gids) < 0)
                return -1;
        return steal_fd(&fd);
}

/* The holder itself: nothing open, nothing to do but notice when it is no longer wanted. */
static _Noreturn void holder_main(const char *runroot, const char *pidfile, int ready_fd)
{
        char buf;
        /* Wait until the parent has written our maps (or died). */
        if (read(ready_fd, &buf, 1) != 1)
                _exit(1);
        close(ready_fd);
        setsid();
        prctl(PR_SET_NAME, "burrow-userns", 0, 0, 0);
        int in = inotify_init1(IN_CLOEXEC);
        /* Watch before checking, so a removal in between is not missed. */
        if (in < 0 || inotify_add_watch(in, runroot, IN_DELETE | IN_MOVED_FROM | IN_DELETE_SELF | IN_MOVE_SELF) < 0)
                _exit(1);
        if (chdir("/") < 0)
                _exit(1);
        const char *name = strrchr(pidfile, '/') + 1;
        for (;;) {
                if (access(pidfile, F_OK) < 0)
                        _exit(0);
                char events[4096];
                ssize_t n = read(in, events, sizeof(events));
                if (n < 0 && errno != EINTR)
                        _exit(1);
                for (ssize_t off = 0; n > 0 && off < n;) {
                        const struct inotify_event *ev = (const struct inotify_event *)(events + off);
                        if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED))
                                _exit(0);
                        if (ev->len && strcmp(ev->name, name) == 0)
                                _exit(0);
                        off += (ssize_t)(sizeof(*ev) + ev->len);
                }
        }
}

int userns_holder_start(const char *runroot, const char *mode, struct idmap_plan *plan, struct burrow_error **err)
{
        char pidfile[PATH_MAX], lockfile[PATH_MAX];
        holder_paths(runroot, mode, pidfile, lockfile, sizeof(pidfile));
        /* Two burrows starting at once must end up in one holder. */
        cleanup_close int lock = open(lockfile, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (lock < 0)
                return burrow_error_set(err, errno, "open `%s`", lockfile);
        if (TEMP_FAILURE_RETRY_INT(flock(lock, LOCK_EX)) < 0)
                return burrow_error_set(err, errno, "lock `%s`", lockfile);
        int fd = userns_holder_open(runroot, mode, plan);
        if (fd >= 0)
                return fd;

        int ready[2];
        if (pipe2(ready, O_CLOEXEC) < 0)
                return burrow_error_set(err, errno, "pipe");
        pid_t pid = (pid_t)syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, NULL);
        if (pid == 0) {
                close(ready[1]);
                /* Keep nothing of the caller's: a terminal or a pipe held open would make a
                 * `$(burrow run ...)` wait forever. */
                int null = open("/dev/null", O_RDWR | O_CLOEXEC);
                if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
                        _exit(1);
                for (int f = 3; f < 1024; f++)
                        if (f != ready[0])
                                close(f);
                sigset_t none;
                sigemptyset(&none);
                sigprocmask(SIG_SETMASK, &none, NULL);
                holder_main(runroot, pidfile, ready[0]);
        }
        int clone_errno = errno;
        close(ready[0]);
        cleanup_close int go = ready[1];
        if (pid < 0)
                return burrow_error_set(err, clone_errno, "creating the user namespace holder");
        if (idmap_plan_apply(plan, pid, err) < 0) {
                kill(pid, SIGKILL);
                waitpid(pid, NULL, 0);
                return -1;
        }
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
        struct stat st;
        if (stat(path, &st) < 0) {
                kill(pid, SIGKILL);
                waitpid(pid, NULL, 0);
                return burrow_error_set(err, errno, "stat `%s`", path);
        }
        char text[64], tmp[PATH_MAX + 8];
        int len = snprintf(text, sizeof(text), "%d %llu\n", (int)pid, (unsigned long long)st.st_ino);
        snprintf(tmp, sizeof(tmp), "%s.tmp", pidfile);
        if (write_file_at(AT_FDCWD, tmp, text, (size_t)len, 0600, err) < 0 || rename(tmp, pidfile) < 0) {
                if (err && *err == NULL)
                        burrow_error_set(err, errno, "writing `%s`", pidfile);
                kill(pid, SIGKILL);
                waitpid(pid, NULL, 0);
                return -1;
        }
        if (write(go, "g", 1) != 1) {
                unlink(pidfile);
                return burrow_error_set(err, errno, "starting the user namespace holder");
        }
        burrow_debug("started user namespace holder %d for `%s` mode", (int)pid, mode);
        fd = userns_holder_open(runroot, mode, plan);
        if (fd < 0)
                return burrow_error_set(err, 0, "the user namespace holder %d did not stay up", (int)pid);
        return fd;
}

int userns_holder_enter(int nsfd, struct burrow_error **err)
{
        /* We keep our IDs as the namespace maps them (0 with "auto", our own with keep-id, so
         * what we write in the runroot stays ours) and gain every capability there. */
        struct stat want, have;
        if (fstat(nsfd, &want) == 0 && stat("/proc/self/ns/user", &have) == 0 && want.st_ino == have.st_ino &&
            want.st_dev == have.st_dev)
                return 0; /* already there (burrow run joined it before the container's cleanup) */
        if (setns(nsfd, CLONE_NEWUSER) < 0)
                return burrow_error_set(err, errno, "entering the user namespace holder");
        return 0;
}

static void holder_plan_fill(struct idmap_plan *plan, enum userns_mode mode)
{
        plan->kind = mode == USERNS_KEEP_ID ? IDMAP_KEEP_ID : IDMAP_RANGES;
        plan->keep_uid = getuid();
        plan->keep_gid = getgid();
        plan->use_helpers = plan->deny_setgroups = plan->no_range = false;
        plan->in_holder = true;
        snprintf(plan->why, sizeof(plan->why), "%llu UIDs and %llu GIDs: yours plus your subordinate ranges, "
                 "held by a burrow-userns process", (unsigned long long)idmap_size(&plan->uids),
                 (unsigned long long)idmap_size(&plan->gids));
}

int userns_holder_for_caller(const char *runroot, enum userns_mode mode, bool use_holder, struct idmap_plan *plan,
                             int *nsfd, struct burrow_error **err)
{
        const char *name = mode == USERNS_KEEP_ID ? "keep-id" : "auto";
        *nsfd = -1;
        memset(plan, 0, sizeof(*plan));
        if (use_holder && mode != USERNS_SINGLE && getuid() != 0) {
                int fd = userns_holder_open(runroot, name, plan);
                if (fd >= 0) {
                        holder_plan_fill(plan, mode);
                        *nsfd = fd;
                        return 0;
                }
        }
        if (idmap_plan_for_caller(mode, plan, err) < 0)
                return -1;
        if (!plan->use_helpers || !use_holder)
                return 0;
        struct burrow_error *herr = NULL;
        int fd = userns_holder_start(runroot, name, plan, &herr);
        if (fd >= 0) {
                holder_plan_fill(plan, mode);
                *nsfd = fd;
                return 0;
        }
        burrow_warn("%s; falling back to a single-ID map (only your own UID and GID exist in the container; "
                    "ask an admin to check your /etc/subuid and /etc/subgid entries)",
                    herr ? herr->msg : "starting the user namespace holder failed");
        burrow_error_free(herr);
        return idmap_plan_build(getuid(), getgid(), mode == USERNS_KEEP_ID ? USERNS_KEEP_ID : USERNS_SINGLE, NULL, 0, NULL, 0,
                                NULL, NULL, plan, err);
}
