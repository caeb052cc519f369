#include "config.h"

#include "sandbox/mounts.h"

#include "fs/copy.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fs/rootfs.h"
#include "util/fsutil.h"

#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif

struct mount_attr_v0 {
        uint64_t attr_set;
        uint64_t attr_clr;
        uint64_t propagation;
        uint64_t userns_fd;
};

/* mount_setattr(2) (Linux 5.12) makes a whole bind tree read-only in one call; older kernels
 * get non-recursive binds for read-only mounts, so no sub-mount stays writable. */
static bool have_mount_setattr(void)
{
#if HAVE_DECL_SYS_MOUNT_SETATTR
        static int cached = -1;
        if (cached < 0)
                cached = !(syscall(SYS_mount_setattr, -1, "", 0, NULL, 0) < 0 && errno == ENOSYS);
        return cached;
#else
        return false;
#endif
}

/* Mount SOURCE on DEST inside the rootfs, DEST resolved without leaving it and created if
 * missing; the mount goes onto the resolved descriptor so a swapped symlink cannot redirect it. */
static int mount_in_root(int rootfd, const char *root_name, const char *dest, enum rootfs_create create,
                         const char *source, const char *fstype, unsigned long flags, const char *data,
                         struct burrow_error **err)
{
        cleanup_close int fd = rootfs_resolve(rootfd, root_name, dest, create, err);
        if (fd < 0)
                return burrow_error_wrap(err, "preparing mount point `%s`", dest);
        char p[FD_PATH_MAX];
        if (mount(source, fd_path(fd, p), fstype, flags, data) < 0)
                return burrow_error_set(err, errno, "mounting %s `%s` on `%s` in rootfs `%s`", fstype ? fstype : "bind",
                                        source, dest, root_name);
        return 0;
}

/* RECURSIVE: the mounts below DEST too (a bind's submounts); otherwise DEST's own mount only
 * (--read-only: the rootfs, not /proc, /dev or /tmp on it). */
static int make_readonly(int rootfd, const char *root_name, const char *dest, bool recursive, struct burrow_error **err)
{
        cleanup_close int fd = rootfs_resolve(rootfd, root_name, dest, ROOTFS_EXISTING, err);
        if (fd < 0)
                return -1;
#if HAVE_DECL_SYS_MOUNT_SETATTR
        if (recursive && have_mount_setattr()) {
                struct mount_attr_v0 attr = { .attr_set = MOUNT_ATTR_RDONLY };
                if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0)
                        return burrow_error_set(err, errno, "making `%s` read-only", dest);
                return 0;
        }
#endif
        /* A bind remount must repeat the flags the kernel locked on the source (nosuid, nodev,
         * noexec...), or it fails with EPERM inside a user namespace. */
        struct statvfs sv;
        if (fstatvfs(fd, &sv) < 0)
                return burrow_error_set(err, errno, "statvfs `%s`", dest);
        unsigned long keep = 0;
        if (sv.f_flag & ST_NOSUID)
                keep |= MS_NOSUID;
        if (sv.f_flag & ST_NODEV)
                keep |= MS_NODEV;
        if (sv.f_flag & ST_NOEXEC)
                keep |= MS_NOEXEC;
        if (sv.f_flag & ST_NOATIME)
                keep |= MS_NOATIME;
        if (sv.f_flag & ST_NODIRATIME)
                keep |= MS_NODIRATIME;
        if (sv.f_flag & ST_RELATIME)
                keep |= MS_RELATIME;
        char p[FD_PATH_MAX];
        if (mount(NULL, fd_path(fd, p), NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | keep, NULL) < 0)
                return burrow_error_set(err, errno, "making `%s` read-only", dest);
        return 0;
}

static int bind_in_root(int rootfd, const char *root_name, const char *source, const char *dest, bool readonly,
                        struct burrow_error **err)
{
        struct stat st;
        if (stat(source, &st) < 0)
                return burrow_error_set(err, errno, "bind source `%s`", source);
        unsigned long flags = MS_BIND;
        if (!readonly || have_mount_setattr())
                flags |= MS_REC;
        if (mount_in_root(rootfd, root_name, dest, S_ISDIR(st.st_mode) ? ROOTFS_CREATE_DIR : ROOTFS_CREATE_FILE, source,
                          NULL, flags, NULL, err) < 0)
                return -1;
        if (readonly && make_readonly(rootfd, root_name, dest, true, err) < 0)
                return -1;
        return 0;
}

/* Mount onto NAME inside DIRFD, a directory of a tmpfs burrow has just mounted: nothing in it
 * can be a symlink, so it is created directly. */
static int mount_on_new_entry(int dirfd, const char *name, bool dir, const char *source, const char *fstype,
                              unsigned long flags, const char *data, struct burrow_error **err)
{
        cleanup_close int fd = -1;
        if (dir) {
                if (mkdirat(dirfd, name, 0755) < 0)
                        return burrow_error_set(err, errno, "creating `/dev/%s`", name);
                fd = openat(dirfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        } else {
                fd = openat(dirfd, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
        }
        if (fd < 0)
                return burrow_error_set(err, errno, "creating `/dev/%s`", name);
        char p[FD_PATH_MAX];
        if (mount(source, fd_path(fd, p), fstype, flags, data) < 0)
                return burrow_error_set(err, errno, "mounting %s `%s` on `/dev/%s`", fstype ? fstype : "bind", source, name);
        return 0;
}

static int setup_dev(int rootfd, const char *root_name, const struct mounts_options *opts, struct burrow_error **err)
{
        static const char *const devices[] = { "null", "zero", "full", "random", "urandom", "tty" };
        if (mount_in_root(rootfd, root_name, "/dev", ROOTFS_CREATE_DIR, "tmpfs", "tmpfs", MS_NOSUID | MS_STRICTATIME,
                          "mode=755,size=65536k", err) < 0)
                return -1;
        cleanup_close int devfd = rootfs_resolve(rootfd, root_name, "/dev", ROOTFS_EXISTING, err);
        if (devfd < 0)
                return -1;
        for (size_t i = 0; i < sizeof(devices) / sizeof(devices[0]); i++) {
                char host[32];
                snprintf(host, sizeof(host), "/dev/%s", devices[i]);
                if (mount_on_new_entry(devfd, devices[i], false, host, NULL, MS_BIND, NULL, err) < 0)
                        return -1;
        }
        /* A private devpts instance: the container sees only its own ptys. GID 5 (tty) only when
         * it is mapped, or the kernel refuses the mount. */
        if (mount_on_new_entry(devfd, "pts", true, "devpts", "devpts", MS_NOSUID | MS_NOEXEC,
                               opts->devpts_gid5 ? "newinstance,ptmxmode=0666,mode=0620,gid=5" : "newinstance,ptmxmode=0666,mode=0620",
                               err) < 0)
                return -1;
        char shm[96];
        snprintf(shm, sizeof(shm), "mode=1777,size=%s", opts->shm_size ? opts->shm_size : "65536k");
        if (mount_on_new_entry(devfd, "shm", true, "shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, shm,
                               err) < 0)
                return -1;
        static const char *const links[][2] = {
                { "pts/ptmx", "ptmx" },           { "/proc/self/fd", "fd" },         { "/proc/self/fd/0", "stdin" },
                { "/proc/self/fd/1", "stdout" }, { "/proc/self/fd/2", "stderr" },
        };
        for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++)
                if (symlinkat(links[i][0], devfd, links[i][1]) < 0)
                        return burrow_error_set(err, errno, "creating symlink `/dev/%s`", links[i][1]);
        return 0;
}

static int setup_sys(int rootfd, const char *root_name, enum burrow_net_mode net, struct burrow_error **err)
{
        /* sysfs can only be mounted by the owner of the network namespace: with --net=host we
         * are not, so the host's /sys is bound read-only instead. */
        if (net != BURROW_NET_HOST) {
                struct burrow_error *local = NULL;
                if (mount_in_root(rootfd, root_name, "/sys", ROOTFS_CREATE_DIR, "sysfs", "sysfs",
                                  MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, &local) == 0)
                        return 0;
                if (local->errnum != EPERM) {
                        *err = local;
                        return -1;
                }
                burrow_error_free(local); /* parts of the host's /sys are hidden: bind it instead */
        }
        return bind_in_root(rootfd, root_name, "/sys", "/sys", true, err);
}

/* What runc and Docker hide: kernel memory, keys, timers and scheduler internals, firmware. */
static const char *const masked_paths[] = { "/proc/acpi",          "/proc/asound",
                                            "/proc/kcore",         "/proc/keys",        "/proc/latency_stats",
                                            "/proc/timer_list",    "/proc/timer_stats", "/proc/sched_debug",
                                            "/proc/scsi",          "/sys/firmware",     "/sys/devices/virtual/powercap" };
/* ...and what they leave readable but not writable. */
static const char *const readonly_paths[] = { "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger" };

static int mask_paths(int rootfd, const char *root_name, struct burrow_error **err)
{
        for (size_t i = 0; i < sizeof(masked_paths) / sizeof(masked_paths[0]); i++) {
                struct burrow_error *missing = NULL;
                cleanup_close int fd = rootfs_resolve(rootfd, root_name, masked_paths[i], ROOTFS_EXISTING, &missing);
                if (fd < 0) {
                        burrow_error_free(missing); /* not on this kernel */
                        continue;
                }
                struct stat st;
                char p[FD_PATH_MAX];
                if (fstat(fd, &st) < 0)
                        return burrow_error_set(err, errno, "masking `%s`", masked_paths[i]);
                /* a directory: an empty read-only tmpfs over it; a file: /dev/null */
                int r = S_ISDIR(st.st_mode) ? mount("tmpfs", fd_path(fd, p), "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                                                    "size=0,mode=0555")
                                            : mount("/dev/null", fd_path(fd, p), NULL, MS_BIND, NULL);
                if (r < 0)
                        return burrow_error_set(err, errno, "masking `%s`", masked_paths[i]);
        }
        for (size_t i = 0; i < sizeof(readonly_paths) / sizeof(readonly_paths[0]); i++) {
                struct burrow_error *missing = NULL;
                cleanup_close int fd = rootfs_resolve(rootfd, root_name, readonly_paths[i], ROOTFS_EXISTING, &missing);
                if (fd < 0) {
                        burrow_error_free(missing);
                        continue;
                }
                char p[FD_PATH_MAX];
                if (mount(fd_path(fd, p), p, NULL, MS_BIND | MS_REC, NULL) < 0)
                        return burrow_error_set(err, errno, "binding `%s` to make it read-only", readonly_paths[i]);
                if (make_readonly(rootfd, root_name, readonly_paths[i], true, err) < 0)
                        return -1;
        }
        return 0;
}

static int pivot_into(int rootfd, const char *root_name, struct burrow_error **err)
{
        if (fchdir(rootfd) < 0)
                return burrow_error_set(err, errno, "chdir into rootfs `%s`", root_name);
        /* pivot_root(".", ".") stacks the old root on top of the new one; detaching "." then
         * drops it (runc and crun do the same; no put_old directory is needed). */
        if (syscall(SYS_pivot_root, ".", ".") < 0)
                return burrow_error_set(err, errno, "pivot_root into `%s`", root_name);
        if (umount2(".", MNT_DETACH) < 0)
                return burrow_error_set(err, errno, "detaching the host's root after pivot_root");
        if (chdir("/") < 0)
                return burrow_error_set(err, errno, "chdir /");
        return 0;
}

int mounts_setup(const struct burrow_run_config *cfg, const struct mounts_options *opts, struct burrow_error **err)
{
        const char *root_name = cfg->rootfs;
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return burrow_error_set(err, errno, "making the mount tree private");
        const char *rootfs = cfg->rootfs;
        char host_root_copy[PATH_MAX];
        struct stat st_slash, st_rootfs;
        if (opts->scratch && stat("/", &st_slash) == 0 && stat(rootfs, &st_rootfs) == 0 && st_slash.st_dev == st_rootfs.st_dev &&
            st_slash.st_ino == st_rootfs.st_ino) {
                /* --rootfs /: a bind of / onto itself would lie under the root this process stands
                 * on (unreachable by path, and pivot_root into the current root fails): the copy
                 * of the tree goes onto a directory of the scratch space instead. A tmpfs there
                 * first, unless the network files' one is there already. */
                if (!opts->net_files &&
                    mount("tmpfs", opts->scratch, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=64k,mode=0755") < 0)
                        return burrow_error_set(err, errno, "mounting a tmpfs on `%s` for --rootfs /", opts->scratch);
                snprintf(host_root_copy, sizeof(host_root_copy), "%s/rootfs", opts->scratch);
                if (mkdir(host_root_copy, 0700) < 0 && errno != EEXIST)
                        return burrow_error_set(err, errno, "creating `%s` for --rootfs /", host_root_copy);
                if (mount("/", host_root_copy, NULL, MS_BIND | MS_REC, NULL) < 0)
                        return burrow_error_set(err, errno, "bind-mounting the host's / onto `%s`", host_root_copy);
                rootfs = host_root_copy;
        } else if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0) {
                return burrow_error_set(err, errno, "bind-mounting rootfs `%s`", root_name);
        }
        /* Opened after the bind, so it refers to the new mount: everything below goes there. */
        cleanup_close int rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return burrow_error_set(err, errno, "open rootfs `%s`", root_name);

        struct burrow_error *local = NULL;
        if (cfg->pid_host) {
                /* a new proc shows a PID namespace we own; the host's cannot be mounted anew */
                if (bind_in_root(rootfd, root_name, "/proc", "/proc", false, err) < 0)
                        return burrow_error_wrap(err, "--pid=host");
        } else if (mount_in_root(rootfd, root_name, "/proc", ROOTFS_CREATE_DIR, "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                                 NULL, &local) < 0) {
                if (local->errnum == EPERM)
                        burrow_error_hint(&local, "the kernel refuses a new /proc while parts of the host's /proc are "
                                                  "hidden by over-mounts, as inside another container; run burrow on the host");
                *err = local;
                return -1;
        }
        if (setup_dev(rootfd, root_name, opts, err) < 0)
                return -1;
        if (setup_sys(rootfd, root_name, cfg->net, err) < 0)
                return -1;
        if (mount_in_root(rootfd, root_name, "/tmp", ROOTFS_CREATE_DIR, "tmpfs", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777",
                          err) < 0)
                return -1;
        for (size_t i = 0; i < cfg->n_tmpfs; i++) {
                const struct burrow_tmpfs *t = &cfg->tmpfs[i];
                cleanup_free char *data = NULL;
                if (asprintf(&data, "mode=1777%s%s", t->options ? "," : "", t->options ? t->options : "") < 0)
                        return burrow_error_set(err, ENOMEM, "--tmpfs");
                if (mount_in_root(rootfd, root_name, t->dest, ROOTFS_CREATE_DIR, "tmpfs", "tmpfs", MS_NOSUID | MS_NODEV, data, err) < 0)
                        return burrow_error_wrap(err, "--tmpfs `%s`", t->dest);
        }
        /* before the user's binds: a -v onto /etc/hosts wins */
        if (opts->net_files) {
                static const char *const files[] = { "hosts", "hostname", "resolv.conf" };
                for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
                        char src[PATH_MAX], dst[64];
                        snprintf(src, sizeof(src), "%s/%s", opts->net_files, files[i]);
                        snprintf(dst, sizeof(dst), "/etc/%s", files[i]);
                        if (mount_in_root(rootfd, root_name, dst, ROOTFS_CREATE_FILE, src, NULL, MS_BIND, NULL, err) < 0)
                                return -1;
                }
        } else if (cfg->net == BURROW_NET_HOST) {
                /* the host's network, the host's resolver and names (read-only) */
                static const char *const files[] = { "/etc/hosts", "/etc/resolv.conf" };
                for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
                        if (access(files[i], R_OK) == 0 && bind_in_root(rootfd, root_name, files[i], files[i], true, err) < 0)
                                return -1;
        }
        for (size_t i = 0; i < cfg->n_binds; i++) {
                const struct burrow_bind *b = &cfg->binds[i];
                /* an empty volume first gets what the image has there, as docker does */
                if (b->volume && !b->nocopy && dir_is_empty(b->source)) {
                        struct burrow_error *missing = NULL;
                        cleanup_close int fd = rootfs_resolve(rootfd, root_name, b->dest, ROOTFS_EXISTING, &missing);
                        burrow_error_free(missing);
                        struct stat st;
                        char p[FD_PATH_MAX];
                        if (fd >= 0 && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode) && copy_tree(fd_path(fd, p), b->source, err) < 0)
                                return burrow_error_wrap(err, "copying the image's `%s` into volume `%s`", b->dest, b->volume);
                }
                if (bind_in_root(rootfd, root_name, b->source, b->dest, b->readonly, err) < 0)
                        return burrow_error_wrap(err, "volume `%s:%s`", b->volume ? b->volume : b->source, b->dest);
        }
        /* after the binds: a -v onto /proc/kcore does not unmask it */
        if (opts->mask_paths && mask_paths(rootfd, root_name, err) < 0)
                return -1;
        /* last, so mount points could still be made: the root's own mount only */
        if (cfg->read_only && make_readonly(rootfd, root_name, "/", false, err) < 0)
                return burrow_error_wrap(err, "--read-only");
        return pivot_into(rootfd, root_name, err);
}
