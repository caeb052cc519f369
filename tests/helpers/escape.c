/* The escape battery: run inside a container (static, so any rootfs can run it), it tries one
 * way out after another and prints a line per attempt:
 *
 *     NAME blocked ERRNO-NAME      the kernel or the filter refused it
 *     NAME ESCAPED detail          it worked: the test fails on any such line
 *     NAME skipped why             not applicable here (the test asserts which)
 *
 * tests/integration/security.bats checks every line, and that nothing changed on the host.
 * Usage: escape [ATTACK...] (default: all); escape tiocsti needs a terminal on stdin. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

static int failures;

static const char *errname(int e)
{
        switch (e) {
        case EPERM:
                return "EPERM";
        case EACCES:
                return "EACCES";
        case ENOSYS:
                return "ENOSYS";
        case EROFS:
                return "EROFS";
        case ENOENT:
                return "ENOENT";
        case ESRCH:
                return "ESRCH";
        case EINVAL:
                return "EINVAL";
        case EBADF:
                return "EBADF";
        case ENOTTY:
                return "ENOTTY";
        case EIO:
                return "EIO";
        case ETXTBSY:
                return "ETXTBSY";
        case ENXIO:
                return "ENXIO";
        default:
                return strerror(e);
        }
}

/* R < 0 with errno: blocked; otherwise the attempt worked. */
static void report(const char *name, long r, int e, const char *what)
{
        if (r < 0) {
                printf("%s blocked %s\n", name, errname(e));
        } else {
                printf("%s ESCAPED %s\n", name, what);
                failures++;
        }
}

static void try_mount(void)
{
        mkdir("/tmp/m", 0755);
        long r = mount("none", "/tmp/m", "tmpfs", 0, NULL);
        report("mount", r, errno, "mounted a tmpfs");
        if (r == 0)
                umount("/tmp/m");
        r = umount2("/proc", MNT_DETACH);
        report("umount", r, errno, "unmounted /proc (uncovering what it hides)");
        r = mount("/", "/tmp/m", NULL, MS_BIND | MS_REC, NULL);
        report("bind-mount", r, errno, "bound / elsewhere");
}

static void try_pivot_root(void)
{
        mkdir("/tmp/old", 0755);
        long r = syscall(SYS_pivot_root, "/tmp", "/tmp/old");
        report("pivot_root", r, errno, "pivoted");
}

/* The classic chroot breakout: chroot into a subdirectory, then walk up past the new root. */
static void try_chroot(void)
{
        mkdir("/tmp/jail", 0755);
        int keep = open("/", O_RDONLY | O_DIRECTORY);
        long r = chroot("/tmp/jail");
        if (r == 0) {
                /* chroot is allowed with CAP_SYS_CHROOT (Docker's default set); the way out must
                 * still end at the container's own root */
                if (fchdir(keep) == 0) {
                        for (int i = 0; i < 64; i++)
                                if (chdir("..") < 0)
                                        break;
                        chroot(".");
                }
                struct stat st;
                if (stat("/escape-host-marker", &st) == 0)
                        report("chroot", 0, 0, "reached the host's root through a chroot");
                else
                        printf("chroot blocked stayed-inside\n");
        } else {
                report("chroot", r, errno, "");
        }
        if (keep >= 0)
                close(keep);
}

static void try_proc_sys(void)
{
        int fd = open("/proc/sys/kernel/hostname", O_WRONLY);
        long r = fd;
        int e = errno;
        if (fd >= 0) {
                r = write(fd, "escaped\n", 8);
                e = errno;
                close(fd);
        }
        report("proc-sys", r, e, "wrote /proc/sys/kernel/hostname");
        fd = open("/proc/sysrq-trigger", O_WRONLY);
        r = fd;
        e = errno;
        if (fd >= 0) {
                r = write(fd, "h", 1); /* h: help, harmless if it worked */
                e = errno;
                close(fd);
        }
        report("sysrq-trigger", r, e, "wrote /proc/sysrq-trigger");
}

static void try_kcore(void)
{
        int fd = open("/proc/kcore", O_RDONLY);
        if (fd < 0) {
                report("kcore", -1, errno, "");
                return;
        }
        char buf[64];
        ssize_t n = read(fd, buf, sizeof(buf));
        int e = errno;
        close(fd);
        if (n > 0)
                report("kcore", 0, 0, "read kernel memory");
        else if (n == 0)
                printf("kcore blocked masked\n"); /* /dev/null over it */
        else
                report("kcore", -1, e, "");
}

static void try_keyctl(void)
{
        /* KEYCTL_GET_KEYRING_ID of the session keyring: the host's keys are shared with every
         * container of this user, so the filter must stop it */
        long r = syscall(SYS_keyctl, 0, -3, 0, 0, 0);
        report("keyctl", r, errno, "reached the kernel keyring");
        r = syscall(SYS_add_key, "user", "escape", "x", 1, -3);
        report("add_key", r, errno, "added a key");
}

static void try_bpf(void)
{
        union bpf_attr attr;
        memset(&attr, 0, sizeof(attr));
        attr.map_type = BPF_MAP_TYPE_ARRAY;
        attr.key_size = 4;
        attr.value_size = 4;
        attr.max_entries = 1;
        long r = syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof(attr));
        report("bpf", r, errno, "created a BPF map");
}

static void try_perf(void)
{
        struct perf_event_attr attr;
        memset(&attr, 0, sizeof(attr));
        attr.type = PERF_TYPE_SOFTWARE;
        attr.size = sizeof(attr);
        attr.config = PERF_COUNT_SW_CPU_CLOCK;
        long r = syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0);
        report("perf_event_open", r, errno, "opened a perf event");
}

static void try_open_by_handle(void)
{
        /* Shocker (2014): a guessed handle of the host's root directory */
        struct {
                struct file_handle fh;
                unsigned char bytes[8];
        } h;
        memset(&h, 0, sizeof(h));
        h.fh.handle_bytes = 8;
        h.fh.handle_type = 1;
        *(unsigned *)h.fh.f_handle = 2; /* inode 2: the root of most filesystems */
        long r = syscall(SYS_open_by_handle_at, AT_FDCWD, &h.fh, O_RDONLY);
        report("open_by_handle_at", r, errno, "opened a file by handle");
}

static void try_ptrace(const char *pid_text)
{
        /* PID 1 is burrow's init here, a host process is not visible at all: both must fail */
        long r = ptrace(PTRACE_ATTACH, 1, NULL, NULL);
        report("ptrace-init", r, errno, "attached to the container's init");
        if (pid_text) {
                r = ptrace(PTRACE_ATTACH, atoi(pid_text), NULL, NULL);
                report("ptrace-host", r, errno, "attached to a host process");
        }
}

/* An fd of the host's namespaces could come from /proc/1 (burrow's init) if it were dumpable. */
static void try_setns(void)
{
        static const char *const ns[] = { "user", "mnt", "pid", "net" };
        for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
                char p[64], name[32];
                snprintf(p, sizeof(p), "/proc/1/ns/%s", ns[i]);
                snprintf(name, sizeof(name), "setns-%s", ns[i]);
                int fd = open(p, O_RDONLY);
                if (fd < 0) {
                        report(name, -1, errno, "");
                        continue;
                }
                long r = setns(fd, 0);
                report(name, r, errno, "joined the init's namespace");
                close(fd);
        }
        /* the init's root and cwd: its view of the host before pivot_root */
        int fd = open("/proc/1/root/", O_RDONLY | O_DIRECTORY);
        report("proc1-root", fd, errno, "opened /proc/1/root");
        if (fd >= 0)
                close(fd);
        fd = open("/proc/1/exe", O_RDONLY);
        report("proc1-exe", fd, errno, "opened the init's executable (burrow, on the host)");
        if (fd >= 0)
                close(fd);
}

/* Calls the filter does not know: ENOSYS, so that libc falls back (glibc's clone3 -> clone). */
static void try_new_syscalls(void)
{
        long r = syscall(SYS_clone3, NULL, 0);
        report("clone3", r, errno, "clone3 reached the kernel");
        r = syscall(1000, 0, 0, 0);
        report("syscall-1000", r, errno, "an unknown syscall was allowed");
}

static void try_userns(void)
{
        long r = unshare(CLONE_NEWUSER);
        report("unshare-user", r, errno, "made a nested user namespace");
        pid_t pid = (pid_t)syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
        if (pid == 0)
                _exit(0);
        if (pid > 0)
                waitpid(pid, NULL, 0);
        report("clone-newuser", pid, errno, "cloned into a nested user namespace");
        r = unshare(CLONE_NEWNS);
        report("unshare-mnt", r, errno, "made a new mount namespace");
}

static void try_tiocsti(void)
{
        char c = 'x';
        /* every descriptor that may be the caller's terminal */
        for (int fd = 0; fd <= 2; fd++) {
                char name[32];
                snprintf(name, sizeof(name), "tiocsti-fd%d", fd);
                if (!isatty(fd)) {
                        printf("%s skipped not-a-terminal\n", name);
                        continue;
                }
                long r = ioctl(fd, TIOCSTI, &c);
                report(name, r, errno, "pushed a keystroke into the terminal");
        }
}

static void try_readonly_bind(const char *path)
{
        if (path == NULL)
                return;
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        long r = fd;
        int e = errno;
        if (fd >= 0) {
                r = write(fd, "escaped\n", 8);
                e = errno;
                close(fd);
        }
        report("readonly-bind", r, e, "wrote through a read-only bind");
}

/* runc CVE-2019-5736: open the runtime's binary through /proc/PID/exe and write to it. */
static void try_proc_exe(void)
{
        for (int pid = 1; pid < 64; pid++) {
                char p[64];
                snprintf(p, sizeof(p), "/proc/%d/exe", pid);
                if (pid == getpid())
                        continue;
                int fd = open(p, O_WRONLY);
                if (fd >= 0) {
                        char target[256] = "";
                        snprintf(p, sizeof(p), "/proc/%d/exe", pid);
                        ssize_t n = readlink(p, target, sizeof(target) - 1);
                        if (n > 0)
                                target[n] = '\0';
                        close(fd);
                        printf("proc-exe ESCAPED opened %s (pid %d) for writing\n", target, pid);
                        failures++;
                        return;
                }
        }
        /* and our own parent's, the way the original exploit waited for runc */
        char p[64];
        snprintf(p, sizeof(p), "/proc/%d/exe", (int)getppid());
        int fd = open(p, O_WRONLY);
        report("proc-exe", fd, errno, "opened the parent's executable for writing");
        if (fd >= 0)
                close(fd);
}

/* A device node made inside must not open: the user namespace cannot give device access. */
static void try_mknod_one(const char *name, const char *path, mode_t type, dev_t dev, const char *what)
{
        long r = mknod(path, type | 0600, dev);
        int e = errno;
        if (r < 0) {
                report(name, r, e, "");
                return;
        }
        int fd = open(path, O_RDONLY);
        e = errno;
        if (fd >= 0) {
                report(name, 0, 0, what);
                close(fd);
        } else {
                printf("%s blocked open-%s\n", name, errname(e));
        }
        unlink(path);
}

static void try_mknod(void)
{
        /* 8:0 is /dev/sda, 1:1 /dev/mem; a whiteout (0:0) is allowed by the kernel and is not a device */
        try_mknod_one("mknod-block", "/tmp/sda", S_IFBLK, makedev(8, 0), "opened a block device made inside");
        try_mknod_one("mknod-mem", "/tmp/mem", S_IFCHR, makedev(1, 1), "opened /dev/mem made inside");
}

static void try_rlimit(void)
{
        struct rlimit rl;
        if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
                printf("rlimit skipped getrlimit-%s\n", errname(errno));
                return;
        }
        if (rl.rlim_max == RLIM_INFINITY) {
                printf("rlimit skipped already-unlimited\n");
                return;
        }
        struct rlimit more = { .rlim_cur = rl.rlim_max + 1, .rlim_max = rl.rlim_max + 1 };
        long r = setrlimit(RLIMIT_NOFILE, &more);
        report("rlimit", r, errno, "raised RLIMIT_NOFILE above the host's hard limit");
}

/* A setuid-root copy of ourselves (made by the test, owned by root in the container): with
 * no_new_privs, exec does not grant its IDs. */
static void try_setuid(const char *path)
{
        if (path == NULL)
                return;
        pid_t pid = fork();
        if (pid == 0) {
                execl(path, path, "print-euid", (char *)NULL);
                _exit(127);
        }
        int status = 0;
        waitpid(pid, &status, 0);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                report("setuid", 0, 0, "a setuid binary gave euid 0");
        else if (WIFEXITED(status) && WEXITSTATUS(status) == 1)
                printf("setuid blocked euid-unchanged\n");
        else
                printf("setuid skipped exec-failed-%d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

/* Symlink swap on a bind target: the test asks burrow to bind onto /swap/target while this
 * program, started first in another container sharing the volume, keeps replacing it with a
 * symlink to /. Here only the check: is the host's root visible where the bind went? */
static void check_swap(const char *dir)
{
        if (dir == NULL)
                return;
        char p[512];
        snprintf(p, sizeof(p), "%s/escape-host-marker", dir);
        struct stat st;
        if (stat(p, &st) == 0)
                report("symlink-swap", 0, 0, "a bind followed a swapped symlink to the host's root");
        else
                printf("symlink-swap blocked stayed-inside\n");
}

int main(int argc, char **argv)
{
        setvbuf(stdout, NULL, _IOLBF, 0);
        if (argc > 1 && strcmp(argv[1], "print-euid") == 0)
                return geteuid() == 0 ? 0 : 1;
        if (argc > 1 && strcmp(argv[1], "tiocsti") == 0) {
                try_tiocsti();
                return failures ? 1 : 0;
        }
        /* options for the attempts that need a target from the test */
        const char *host_pid = getenv("ESCAPE_HOST_PID");
        const char *ro_path = getenv("ESCAPE_RO_PATH");
        const char *setuid_path = getenv("ESCAPE_SETUID");
        const char *swap_dir = getenv("ESCAPE_SWAP_DIR");
        try_mount();
        try_pivot_root();
        try_chroot();
        try_proc_sys();
        try_kcore();
        try_keyctl();
        try_bpf();
        try_perf();
        try_open_by_handle();
        try_ptrace(host_pid);
        try_setns();
        try_userns();
        try_new_syscalls();
        try_tiocsti();
        try_readonly_bind(ro_path);
        try_proc_exe();
        try_mknod();
        try_rlimit();
        try_setuid(setuid_path);
        check_swap(swap_dir);
        printf("done %d\n", failures);
        return failures ? 1 : 0;
}
