#include "config.h"

#include "sandbox/run.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <pwd.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fs/rootfs.h"
#include "net/net.h"
#include "sandbox/attach.h"
#include "sandbox/enter.h"
#include "sandbox/exec.h"
#include "sandbox/imagectr.h"
#include "sandbox/init.h"
#include "sandbox/mounts.h"
#include "sandbox/process.h"
#include "sandbox/runroot.h"
#include "sandbox/spawn.h"
#include "sandbox/sync.h"
#include "sandbox/tty.h"
#include "userns/diagnose.h"
#include "userns/holder.h"
#include "userns/idmap.h"
#include "util/fsutil.h"
#include "util/dl.h"
#include "util/log.h"

/* What the clone child needs; it lives in the parent's memory, copied by clone. */
struct child_args {
        const struct burrow_run_config *cfg;
        const struct image_ctr *ic; /* NULL for --rootfs */
        const char *rootfs;   /* absolute */
        const char *hostname;
        char *const *envp;
        const struct idmap_plan *plan;
        const struct process_security *security;
        const char *runroot;
        int net_ctl; /* --net=slirp: the helper's socket, for tap0's descriptor */
        int sock;
        sigset_t saved_mask;
};

static void cleanup_pidp(pid_t *pid)
{
        spawn_kill_and_reap(*pid);
}
#define cleanup_pid __attribute__((cleanup(cleanup_pidp)))

static _Noreturn void child_fail(int sock, struct burrow_error *err)
{
        sync_send_error(sock, err);
        _exit(err ? err->exit_code : BURROW_EXIT_FAILURE);
}

/* Make the workload's process: stdio, IDs, working directory; then exec. Returns on failure. */
static int child_exec_workload(const struct child_args *a, int tty_slave, struct burrow_error **err)
{
        const struct burrow_run_config *cfg = a->cfg;
        if (tty_slave >= 0 && tty_become_controlling(tty_slave, err) < 0)
                return -1;
        /* Default dispositions, whatever burrow inherited (a background job starts with
         * SIGINT and SIGQUIT ignored, and exec keeps "ignored"). */
        for (int sig = 1; sig < NSIG; sig++)
                if (sig != SIGKILL && sig != SIGSTOP)
                        signal(sig, SIG_DFL);
        if (sigprocmask(SIG_SETMASK, &a->saved_mask, NULL) < 0)
                return burrow_error_set(err, errno, "restoring the signal mask");
        return exec_workload(cfg->argv, a->envp, a->rootfs, err);
}

static int child_setup(const struct child_args *a, int *tty_slave, struct burrow_error **err)
{
        const struct burrow_run_config *cfg = a->cfg;
        /* Our own session: the host terminal's job-control signals reach burrow, which
         * forwards them once, instead of reaching the container twice. */
        if (setsid() < 0)
                return burrow_error_set(err, errno, "setsid");
        if (cfg->net == BURROW_NET_NONE && net_loopback_up(err) < 0)
                return -1;
        const char *net_files = NULL;
        if (cfg->net == BURROW_NET_SLIRP) {
                cleanup_close int tap = -1;
                if (net_tap_setup(&cfg->netopts, &tap, err) < 0 || net_slirp_send_tap(a->net_ctl, tap, &cfg->netopts, err) < 0)
                        return -1;
                close(a->net_ctl); /* the helper ends when burrow run closes its end */
                /* /etc/hosts, hostname and resolv.conf: on a tmpfs of this mount namespace only,
                 * over the runroot (nothing of it is needed here any more); bound in by mounts_setup */
                if (mount("tmpfs", a->runroot, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=64k,mode=0755") < 0)
                        return burrow_error_set(err, errno, "mounting a tmpfs for the container's /etc/hosts");
                cleanup_close int dir = open(a->runroot, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (dir < 0)
                        return burrow_error_set(err, errno, "opening `%s`", a->runroot);
                if (net_write_files(dir, cfg->net, &cfg->netopts, a->hostname, err) < 0)
                        return -1;
                net_files = a->runroot;
        }
        if (!a->cfg->uts_host && sethostname(a->hostname, strlen(a->hostname)) < 0)
                return burrow_error_set(err, errno, "setting hostname `%s`", a->hostname);
        uint32_t outside;
        struct mounts_options mopts = { .devpts_gid5 = idmap_to_outside(&a->plan->gids, 5, &outside),
                                        .shm_size = cfg->shm_size,
                                        .mask_paths = a->security->mask_paths,
                                        .net_files = net_files,
                                        .scratch = a->runroot };
        if (a->ic) {
                /* fuse-overlayfs mounted it in burrow's namespace already; this one inherited it */
                if (a->ic->driver == DRIVER_OVERLAY && image_ctr_mount(a->ic, err) < 0)
                        return -1;
                /* no host directory stays open in the container */
                close(a->ic->store->fd);
                if (a->ic->running_fd >= 0)
                        close(a->ic->running_fd);
                if (a->ic->finisher_sock >= 0)
                        close(a->ic->finisher_sock);
        }
        if (mounts_setup(cfg, &mopts, err) < 0)
                return -1;
        bool has_user;
        uid_t uid;
        gid_t gid;
        if (process_resolve_user(cfg, &uid, &gid, &has_user, err) < 0)
                return -1;
        /* An image's user gets its HOME from the image's /etc/passwd, as with docker, unless
         * the image's Env or -e set one. (The envp is this process's own copy.) */
        if (a->ic && process_home(cfg, uid, (char **)a->envp, err) < 0)
                return -1;
        /* docker creates a missing working directory (as root, before switching users). */
        if (cfg->workdir && mkdir_parents(cfg->workdir, 0755) < 0)
                return burrow_error_set(err, errno, "creating working directory `%s` (-w)", cfg->workdir);
        if (process_set_identity(cfg, has_user, uid, gid, a->plan->deny_setgroups, cfg->workdir, a->security, err) < 0)
                return -1;
        return process_stdio(cfg, a->sock, tty_slave, err);
}

static _Noreturn void child_main(void *arg, int sock)
{
        struct child_args *a = arg;
        a->sock = sock;
        struct burrow_error *err = NULL;
        /* Die with burrow: a kill -9 of the CLI takes the whole container with it. */
        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        struct sync_msg msg;
        int fd;
        if (sync_recv(a->sock, &msg, &fd) <= 0 || msg.type != SYNC_GO)
                _exit(BURROW_EXIT_FAILURE); /* the parent is gone or failed: it reports */
        int tty_slave = -1;
        if (child_setup(a, &tty_slave, &err) < 0)
                child_fail(a->sock, err);
        if (!a->cfg->init) {
                child_exec_workload(a, tty_slave, &err);
                child_fail(a->sock, err);
        }
        /* Non-dumpable before the workload exists, or it could open /proc/1/exe (the host's
         * burrow) in the moment before init_run gets to it. exec makes the workload dumpable
         * again. */
        prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        /* --pid=host: we are not a PID 1 that the kernel hands orphans to and whose exit kills
         * the rest; a subreaper gets them, and kills what is left at the end */
        if (a->cfg->pid_host)
                prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        /* named before the workload exists: its first `ps` already shows burrow-init */
        prctl(PR_SET_NAME, "burrow-init", 0, 0, 0);
        pid_t workload = fork();
        if (workload < 0) {
                burrow_error_set(&err, errno, "fork of the workload");
                child_fail(a->sock, err);
        }
        if (workload == 0) {
                if (a->cfg->pid_host)
                        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
                child_exec_workload(a, tty_slave, &err);
                child_fail(a->sock, err);
        }
        if (tty_slave >= 0)
                close(tty_slave);
        close(a->sock); /* the parent sees EOF once the workload has exec'd */
        int code = init_run(workload);
        if (a->cfg->pid_host)
                init_kill_leftovers();
        _exit(code);
}

static int check_ids_mapped(const struct burrow_run_config *cfg, const struct idmap_plan *plan, struct burrow_error **err)
{
        uint32_t outside;
        const char *more = plan->kind == IDMAP_SINGLE || plan->deny_setgroups
                                   ? "; a subordinate ID range gives 65536 IDs, see `burrow info`"
                                   : "";
        if (cfg->has_user && !idmap_to_outside(&plan->uids, cfg->uid, &outside))
                return burrow_error_set(err, 0, "-u %u: that UID is not mapped in the container (the %s map holds %llu UID%s)%s",
                                        (unsigned)cfg->uid, idmap_kind_name(plan->kind),
                                        (unsigned long long)idmap_size(&plan->uids), idmap_size(&plan->uids) == 1 ? "" : "s", more);
        if (cfg->has_user && cfg->has_gid && !idmap_to_outside(&plan->gids, cfg->gid, &outside))
                return burrow_error_set(err, 0, "-u %u:%u: that GID is not mapped in the container (the %s map holds %llu GID%s)%s",
                                        (unsigned)cfg->uid, (unsigned)cfg->gid, idmap_kind_name(plan->kind),
                                        (unsigned long long)idmap_size(&plan->gids), idmap_size(&plan->gids) == 1 ? "" : "s", more);
        for (size_t i = 0; i < cfg->n_group_add; i++)
                if (!idmap_to_outside(&plan->gids, cfg->group_add[i], &outside))
                        return burrow_error_set(err, 0, "--group-add %u: that GID is not mapped in the container%s",
                                                (unsigned)cfg->group_add[i], more);
        if (cfg->n_group_add > 0 && plan->deny_setgroups)
                return burrow_error_set(err, 0, "--group-add needs supplementary groups, which the kernel forbids under a "
                                                "single-ID map%s", more);
        return 0;
}

/* Once per runroot (a login or a boot): what a single-ID map costs, and how to get a range. */
static void warn_single_map_once(const char *runroot, const struct idmap_plan *plan)
{
        char marker[4096];
        snprintf(marker, sizeof(marker), "%s/single-map-warned", runroot);
        int fd = open(marker, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0)
                return;
        close(fd);
        struct passwd *pw = getpwuid(getuid());
        burrow_warn("using a single-ID map (%s): only your own UID and GID exist in containers, so files owned by "
                    "other users show up as nobody and chown or setuid to other IDs fail. For 65536 IDs ask an admin "
                    "to run: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 %s (shown once; "
                    "`burrow info` tells the mapping)",
                    plan->why, pw ? pw->pw_name : "USER");
}

/* The sockets burrow run answers on while the container runs: exec and attach. */
struct ctr_servers {
        struct exec_server exec;
        struct attach_server attach;
};

static int ctr_servers_fds(void *arg, struct pollfd *p, int max)
{
        struct ctr_servers *srv = arg;
        int n = 0;
        if (srv->exec.listen_fd >= 0 && max > 0)
                p[n++] = (struct pollfd){ .fd = srv->exec.listen_fd, .events = POLLIN };
        return n + attach_server_fds(&srv->attach, p + n, max - n);
}

static void ctr_servers_events(void *arg, const struct pollfd *p, int n, int master)
{
        struct ctr_servers *srv = arg;
        int k = 0;
        if (srv->exec.listen_fd >= 0 && n > 0) {
                if (p[0].revents)
                        exec_server_serve(&srv->exec);
                k = 1;
        }
        attach_server_events(&srv->attach, p + k, n - k, master);
}

static void ctr_servers_output(void *arg, const char *buf, size_t n)
{
        struct ctr_servers *srv = arg;
        attach_server_output(&srv->attach, buf, n);
}

static void ctr_servers_close(struct ctr_servers *srv)
{
        exec_server_close(&srv->exec);
        attach_server_close(&srv->attach);
}

struct net_helper {
        pid_t pid;
        int *ctl;
};

static void cleanup_net_helper(struct net_helper *h)
{
        if (h->pid > 0) {
                net_slirp_stop(h->pid, *h->ctl, false);
                *h->ctl = -1;
        }
}

static void cleanup_image_ctrp(struct image_ctr **ic)
{
        if (*ic)
                image_ctr_free(*ic);
}

int burrow_run(const struct burrow_global *global, const struct burrow_run_config *user_cfg, int *exit_code,
               struct burrow_error **err)
{
        if (user_cfg->rootfs == NULL && user_cfg->image == NULL && user_cfg->container == NULL)
                return burrow_error_set(err, 0, "no image given: burrow run IMAGE [CMD...] (or --rootfs DIR CMD...)");
        if (user_cfg->rootfs && (user_cfg->argv == NULL || user_cfg->argv[0] == NULL))
                return burrow_error_set(err, 0, "no command given: burrow run --rootfs DIR CMD [ARG...]");
        cleanup_free char *runroot = global->runroot ? strdup(global->runroot) : runroot_default();
        if (runroot == NULL)
                return burrow_error_set(err, ENOMEM, "runroot path");
        if (runroot_ensure(runroot, err) < 0)
                return -1;
        /* The run as it will happen: the user's options, plus what an image says. */
        struct burrow_run_config effective = *user_cfg;
        struct image_ctr ic_storage;
        __attribute__((cleanup(cleanup_image_ctrp))) struct image_ctr *ic = NULL;
        char id[65];
        if (user_cfg->image || user_cfg->container) {
                ic = &ic_storage;
                if (image_ctr_prepare(global, runroot, &effective, ic, err) < 0)
                        return -1;
                effective.rootfs = ic->merged;
                memcpy(id, ic->id, sizeof(id));
                if (user_cfg->ready_fd >= 0) {
                        /* -d: from here on our output and the container's go to its log */
                        cleanup_free char *log = NULL;
                        if (asprintf(&log, "%s/containers/%s/ctr.log", ic->store_path, ic->id) < 0)
                                return burrow_error_set(err, ENOMEM, "log path");
                        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
                        if (fd < 0)
                                return burrow_error_set(err, errno, "creating the log `%s`", log);
                        if (dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0) {
                                close(fd);
                                return burrow_error_set(err, errno, "redirecting to the log `%s`", log);
                        }
                        close(fd);
                        dprintf(user_cfg->ready_fd, "%s\n", ic->id);
                        close(user_cfg->ready_fd);
                }
        } else if (random_hex(id, 32, err) < 0) {
                return -1;
        }
        const struct burrow_run_config *cfg = &effective;
        cleanup_close int rootfd = rootfs_open(cfg->rootfs, err);
        if (rootfd < 0)
                return -1;
        char rootfs[PATH_MAX];
        if (realpath(cfg->rootfs, rootfs) == NULL)
                return burrow_error_set(err, errno, "resolving rootfs `%s`", cfg->rootfs);
        char short_id[13];
        memcpy(short_id, id, 12);
        short_id[12] = '\0';
        char host_name[HOST_NAME_MAX + 1] = "";
        if (cfg->uts_host && gethostname(host_name, sizeof(host_name) - 1) < 0)
                return burrow_error_set(err, errno, "gethostname");
        const char *hostname = cfg->uts_host ? host_name : cfg->hostname ? cfg->hostname : short_id;

        struct idmap_plan *plan = calloc(1, sizeof(*plan));
        cleanup_free struct idmap_plan *plan_owner = plan;
        if (plan == NULL)
                return burrow_error_set(err, ENOMEM, "ID map");
        cleanup_close int nsfd = -1;
        if (userns_holder_for_caller(runroot, cfg->userns, !global->no_userns_holder, plan, &nsfd, err) < 0)
                return -1;
        /* --net=slirp: the helper starts now, in the caller's namespaces, and loads libslirp
         * while the container is set up; its ports are checked before the container starts */
        if (effective.net == BURROW_NET_SLIRP && !effective.net_given && access("/dev/net/tun", R_OK | W_OK) < 0) {
                burrow_warn("no usable /dev/net/tun (%s): the container gets no network (--net=none); as root: chmod "
                            "0666 /dev/net/tun, as Debian and Fedora ship it",
                            strerror(errno));
                effective.net = BURROW_NET_NONE;
        }
        cleanup_close int net_ctl = -1;
        __attribute__((cleanup(cleanup_net_helper))) struct net_helper net_helper = { .pid = -1, .ctl = &net_ctl };
        if (effective.net == BURROW_NET_SLIRP && (net_helper.pid = net_slirp_start(&effective.netopts, &net_ctl, err)) < 0)
                return -1;
        /* keep-id: the workload runs as the caller's own IDs unless -u says otherwise. */
        if (plan->kind == IDMAP_KEEP_ID && !cfg->has_user && !cfg->user_name) {
                effective.has_user = effective.has_gid = true;
                effective.uid = plan->keep_uid;
                effective.gid = plan->keep_gid;
        }
        if (check_ids_mapped(cfg, plan, err) < 0)
                return -1;
        if (plan->no_range)
                warn_single_map_once(runroot, plan);
        cleanup_strv char **envp = burrow_build_env(cfg, hostname, err);
        if (envp == NULL)
                return -1;
        /* compiled (or read from the runroot's cache) here: the child only loads it */
        __attribute__((cleanup(process_security_free))) struct process_security security;
        if (process_security_prepare(&cfg->security, runroot, &security, err) < 0)
                return -1;

        sigset_t handled, saved_mask;
        init_forwarded_signals(&handled);
        sigaddset(&handled, SIGCHLD);
        sigaddset(&handled, SIGWINCH);
        if (sigprocmask(SIG_BLOCK, &handled, &saved_mask) < 0)
                return burrow_error_set(err, errno, "blocking signals");
        cleanup_close int sfd = signalfd(-1, &handled, SFD_CLOEXEC | SFD_NONBLOCK);
        if (sfd < 0) {
                sigprocmask(SIG_SETMASK, &saved_mask, NULL);
                return burrow_error_set(err, errno, "signalfd");
        }
        /* an empty volume gets the image's files in the child, after it left the host's tree
         * behind: libarchive must be there before (dlopen would look in the container) */
        for (size_t i = 0; i < cfg->n_binds; i++)
                if (cfg->binds[i].volume && !cfg->binds[i].nocopy && dl_archive_load() < 0) {
                        sigprocmask(SIG_SETMASK, &saved_mask, NULL);
                        return burrow_error_set(err, 0, "libarchive cannot be loaded");
                }
        struct child_args args = { .cfg = cfg, .ic = ic, .rootfs = rootfs, .hostname = hostname, .envp = envp,
                                   .plan = plan, .security = &security, .runroot = runroot, .net_ctl = net_ctl,
                                   .saved_mask = saved_mask };
        unsigned long flags = CLONE_NEWUSER | CLONE_NEWNS;
        if (!cfg->pid_host)
                flags |= CLONE_NEWPID;
        if (!cfg->uts_host)
                flags |= CLONE_NEWUTS;
        if (!cfg->ipc_host)
                flags |= CLONE_NEWIPC;
        if (cfg->net != BURROW_NET_HOST)
                flags |= CLONE_NEWNET;
        if (nsfd >= 0) {
                /* Join the holder's user namespace; the container's other namespaces are made
                 * inside it, with no map to write. */
                if (userns_holder_enter(nsfd, err) < 0) {
                        sigprocmask(SIG_SETMASK, &saved_mask, NULL);
                        return -1;
                }
                flags &= ~(unsigned long)CLONE_NEWUSER;
        }
        if (ic && ic->driver == DRIVER_FUSE_OVERLAYFS) {
                /* burrow itself enters the container's user namespace (its own, for a single-ID
                 * map) and a private mount namespace, where fuse-overlayfs mounts the rootfs; the
                 * container's mount namespace is a copy of that one. */
                int r = 0;
                /* (root's identity map needs no namespace of its own for this: root may mount) */
                if ((flags & CLONE_NEWUSER) && plan->kind != IDMAP_IDENTITY) {
                        if (plan->use_helpers)
                                r = burrow_error_set(err, 0, "--storage-driver=fuse-overlayfs with a subordinate range needs the "
                                                             "userns holder: drop --no-userns-holder");
                        else if (unshare(CLONE_NEWUSER) < 0)
                                r = burrow_error_set(err, errno, "creating the container's user namespace");
                        else
                                r = idmap_plan_apply(plan, getpid(), err);
                        flags &= ~(unsigned long)CLONE_NEWUSER;
                }
                if (r == 0 && unshare(CLONE_NEWNS) < 0)
                        r = burrow_error_set(err, errno, "creating a mount namespace for fuse-overlayfs");
                if (r == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                        r = burrow_error_set(err, errno, "making the mount tree private");
                if (r == 0)
                        r = image_ctr_fuse_start(ic, err);
                if (r < 0) {
                        sigprocmask(SIG_SETMASK, &saved_mask, NULL);
                        return -1;
                }
        }
        cleanup_close int sock = -1;
        pid_t raw;
        if (spawn_in_namespaces_or_single(flags, plan, cfg->userns, child_main, &args, &sock, &raw, err) < 0 ||
            check_ids_mapped(cfg, plan, err) < 0) {
                sigprocmask(SIG_SETMASK, &saved_mask, NULL);
                return -1;
        }
        cleanup_pid pid_t pid = raw;
        /* burrow exec gets the container's namespaces from us (the init will not be openable),
         * burrow attach its terminal */
        __attribute__((cleanup(ctr_servers_close))) struct ctr_servers srv = {
                .exec = { .listen_fd = -1, .dir_fd = -1, .ns = { -1, -1, -1, -1, -1, -1 } },
                .attach = { .listen_fd = -1, .dir_fd = -1, .clients = { -1, -1, -1, -1, -1, -1, -1, -1 } },
        };
        struct spawn_hook hook = { .arg = &srv, .fds = ctr_servers_fds, .events = ctr_servers_events,
                                   .output = ctr_servers_output };
        if (ic) {
                char dir[128];
                snprintf(dir, sizeof(dir), "containers/%s", id);
                cleanup_close int dfd = openat(ic->store->fd, dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
                struct burrow_error *xerr = NULL;
                if (dfd < 0 || exec_server_open(&srv.exec, dfd, pid, &xerr) < 0) {
                        burrow_warn("container %.12s: burrow exec will not work: %s", id,
                                    xerr ? xerr->msg : strerror(errno));
                        burrow_error_free(xerr);
                }
                if (dfd >= 0 && cfg->tty && attach_server_open(&srv.attach, dfd, &xerr) < 0) {
                        burrow_warn("container %.12s: burrow attach will not work: %s", id, xerr->msg);
                        burrow_error_free(xerr);
                }
        }
        /* the forwarded ports are bound (or why not), before anything of the container runs */
        if (net_helper.pid > 0 && net_slirp_ready(net_ctl, err) < 0) {
                sigprocmask(SIG_SETMASK, &saved_mask, NULL);
                return -1;
        }
        struct sync_msg go = { .type = SYNC_GO };
        if (sync_send(sock, &go, -1) < 0) {
                sigprocmask(SIG_SETMASK, &saved_mask, NULL);
                return burrow_error_set(err, errno, "starting the container");
        }
        if (ic) {
                /* the container's init, for stop, kill and inspect */
                struct burrow_error *perr = NULL;
                if (container_record_start(ic->running_fd, pid, &perr) < 0) {
                        burrow_warn("%s", perr->msg);
                        burrow_error_free(perr);
                }
        }
        /* Written while the child sets up its mounts; the lock says "alive" until we exit. A
         * container of the store has its record there (state.json and the running lock) and
         * needs no second one. */
        cleanup_close int state_lock = -1;
        if (ic == NULL) {
                struct burrow_error *state_err = NULL;
                state_lock = runroot_state_write(runroot, id, pid, rootfs, &state_err);
                if (state_lock < 0) {
                        burrow_warn("%s", state_err->msg);
                        burrow_error_free(state_err);
                }
                runroot_prune_stale(runroot);
        }
        bool have_state = state_lock >= 0;
        int status = 0;
        bool reaped;
        /* detached (-d, start): stdin is /dev/null, input comes only through attach */
        int ret = spawn_wait(pid, sock, sfd, cfg->interactive && cfg->ready_fd < 0 && !cfg->detach, &hook, &status, &reaped, err);
        exec_server_stop(&srv.exec);
        attach_server_close(&srv.attach);
        /* the container is gone: so is its network */
        net_slirp_stop(net_helper.pid, net_ctl, effective.netopts.n_ports > 0);
        net_helper.pid = -1;
        net_ctl = -1;
        if (reaped)
                pid = 0;
        if (have_state)
                runroot_state_remove(runroot, id);
        sigprocmask(SIG_SETMASK, &saved_mask, NULL);
        if (ret == 0)
                *exit_code = init_exit_code(status);
        if (ic) {
                image_ctr_fuse_stop(ic);
                /* The container's mounts died with its mount namespace: its files can go now. */
                struct burrow_error *ferr = NULL;
                /* a container made now that never ran (setup failed) is not kept; one started
                 * again keeps its layer and records the failure */
                if (image_ctr_removes_here(ic)) {
                        ic->ns_hold = srv.exec.ns;
                        ic->n_ns_hold = EXEC_NS_COUNT;
                } else {
                        exec_server_close(&srv.exec); /* the mounts go before the files */
                }
                if (image_ctr_finish(ic, cfg->remove || (ret < 0 && !ic->existing),
                                     ret == 0 ? *exit_code : ic->existing ? BURROW_EXIT_FAILURE : -1, &ferr) < 0) {
                        burrow_warn("container %.12s: %s", id, ferr->msg);
                        burrow_error_free(ferr);
                }
                ctr_servers_close(&srv);
                image_ctr_ns_released(ic);
        }
        return ret;
}
