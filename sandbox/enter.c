#include "config.h"

#include "sandbox/enter.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fs/container.h"
#include "fs/store.h"
#include "sandbox/exec.h"
#include "sandbox/imagectr.h"
#include "sandbox/init.h"
#include "sandbox/process.h"
#include "sandbox/runroot.h"
#include "sandbox/spawn.h"
#include "sandbox/sync.h"
#include "sandbox/tty.h"
#include "util/fdpass.h"
#include "util/fsutil.h"
#include "util/dl.h"
#include "util/log.h"

static void cleanup_jsonp(json_t **j)
{
        json_decref(*j);
}
#define cleanup_json __attribute__((cleanup(cleanup_jsonp)))

static void cleanup_run_configp(struct burrow_run_config *c)
{
        burrow_run_config_free(c);
}

/* The namespaces a container's processes live in, in the order setns must join them (the user
 * namespace first: it grants the rights to join the rest). */
static const struct {
        const char *name;
        int flag;
} ns_kinds[EXEC_NS_COUNT] = { { "user", CLONE_NEWUSER }, { "mnt", CLONE_NEWNS },  { "pid", CLONE_NEWPID },
                              { "uts", CLONE_NEWUTS },   { "ipc", CLONE_NEWIPC }, { "net", CLONE_NEWNET } };

int exec_server_open(struct exec_server *srv, int container_dir, pid_t pid, struct burrow_error **err)
{
        srv->listen_fd = -1;
        srv->dir_fd = -1;
        for (size_t i = 0; i < EXEC_NS_COUNT; i++)
                srv->ns[i] = -1;
        /* Opened now, while the child waits for SYNC_GO: later the init is non-dumpable and its
         * namespace files are closed to everyone but real root. */
        for (size_t i = 0; i < EXEC_NS_COUNT; i++) {
                char p[64];
                snprintf(p, sizeof(p), "/proc/%d/ns/%s", (int)pid, ns_kinds[i].name);
                if ((srv->ns[i] = open(p, O_RDONLY | O_CLOEXEC)) < 0) {
                        int e = errno;
                        exec_server_close(srv);
                        return burrow_error_set(err, e, "opening `%s`", p);
                }
        }
        if ((srv->dir_fd = fcntl(container_dir, F_DUPFD_CLOEXEC, 3)) < 0) {
                int e = errno;
                exec_server_close(srv);
                return burrow_error_set(err, e, "dup");
        }
        /* A socket in the container's directory (0700, the owner's): through /proc/self/fd, so
         * that a long store path does not meet the 108 bytes of sun_path. */
        struct sockaddr_un addr = { .sun_family = AF_UNIX };
        snprintf(addr.sun_path, sizeof(addr.sun_path), "/proc/self/fd/%d/" EXEC_SOCKET, srv->dir_fd);
        unlinkat(srv->dir_fd, EXEC_SOCKET, 0);
        srv->listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (srv->listen_fd < 0 || bind(srv->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
            listen(srv->listen_fd, 16) < 0) {
                int e = errno;
                exec_server_close(srv);
                return burrow_error_set(err, e, "making the exec socket of the container");
        }
        return 0;
}

void exec_server_serve(void *arg)
{
        struct exec_server *srv = arg;
        int conn;
        while ((conn = accept4(srv->listen_fd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
                struct ucred cred;
                socklen_t len = sizeof(cred);
                /* the directory's mode keeps others out already; the credentials say so again */
                if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && cred.uid == geteuid()) {
                        if (fdpass_send(conn, "n", 1, srv->ns, EXEC_NS_COUNT, MSG_DONTWAIT) < 0)
                                burrow_debug("exec socket: sendmsg: %s", strerror(errno));
                }
                close(conn);
        }
}

void exec_server_stop(struct exec_server *srv)
{
        if (srv->listen_fd >= 0) {
                close(srv->listen_fd);
                unlinkat(srv->dir_fd, EXEC_SOCKET, 0);
        }
        if (srv->dir_fd >= 0)
                close(srv->dir_fd);
        srv->listen_fd = srv->dir_fd = -1;
}

void exec_server_close(struct exec_server *srv)
{
        exec_server_stop(srv);
        for (size_t i = 0; i < EXEC_NS_COUNT; i++)
                if (srv->ns[i] >= 0)
                        close(srv->ns[i]);
        for (size_t i = 0; i < EXEC_NS_COUNT; i++)
                srv->ns[i] = -1;
}

/* Ask the burrow process minding the container for its namespaces. */
static int fetch_namespaces(struct store *s, const char *id, const char *name, int ns[EXEC_NS_COUNT],
                            struct burrow_error **err)
{
        cleanup_close int sock = container_connect(s, id, EXEC_SOCKET);
        if (sock < 0)
                return burrow_error_set(err, errno == ENOENT || errno == ECONNREFUSED ? 0 : errno,
                                        "container %s is not running, or is still starting (its burrow run does not "
                                        "answer on `%s/containers/%.12s.../" EXEC_SOCKET "`)",
                                        name, s->root, id);
        char data;
        size_t got;
        ssize_t n = fdpass_recv(sock, &data, 1, ns, EXEC_NS_COUNT, &got, 0);
        if (n <= 0 || got != EXEC_NS_COUNT) {
                int e = n < 0 ? errno : 0;
                for (size_t i = 0; i < got; i++)
                        close(ns[i]);
                return burrow_error_set(err, e, "container %s: no namespaces came from its burrow run", name);
        }
        return 0;
}

/* Join the namespaces that differ from ours (joining our own user namespace is an error, and
 * --net=host, --ipc=host and --uts=host share the host's). */
static int join_namespaces(const int ns[EXEC_NS_COUNT], int only, const char *name, struct burrow_error **err)
{
        bool join[EXEC_NS_COUNT];
        for (size_t i = 0; i < EXEC_NS_COUNT; i++) {
                char ours[64];
                struct stat a, b;
                snprintf(ours, sizeof(ours), "/proc/self/ns/%s", ns_kinds[i].name);
                if (fstat(ns[i], &a) < 0 || stat(ours, &b) < 0)
                        return burrow_error_set(err, errno, "comparing namespaces (`%s`)", ours);
                join[i] = a.st_ino != b.st_ino || a.st_dev != b.st_dev;
        }
        if (!join[1]) /* every container has a mount namespace of its own */
                return burrow_error_set(err, 0, "container %s: the namespaces its burrow run sent are not a container's", name);
        for (size_t i = 0; i < EXEC_NS_COUNT; i++)
                if (join[i] && (ns_kinds[i].flag & only) && setns(ns[i], ns_kinds[i].flag) < 0)
                        return burrow_error_set(err, errno, "joining the %s namespace of container %s", ns_kinds[i].name, name);
        return 0;
}

struct exec_child {
        struct burrow_run_config *cfg; /* the container's, with exec's -e/-u/-w applied */
        char **envp;
        const char *name;
        const struct process_security *security; /* the container's */
        sigset_t saved_mask;
        int sock;
};

static int exec_child_setup(struct exec_child *c, int *tty_slave, struct burrow_error **err)
{
        struct burrow_run_config *cfg = c->cfg;
        bool has_user;
        uid_t uid;
        gid_t gid;
        if (process_resolve_user(cfg, &uid, &gid, &has_user, err) < 0 || process_home(cfg, uid, c->envp, err) < 0)
                return -1;
        /* supplementary groups: the kernel refuses them under a single-ID map (setgroups is denied there) */
        bool denied = false;
        char state[16] = "";
        int fd = open("/proc/self/setgroups", O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
                ssize_t n = read(fd, state, sizeof(state) - 1);
                denied = n > 0 && strncmp(state, "deny", 4) == 0;
                close(fd);
        }
        if (process_set_identity(cfg, has_user, uid, gid, denied, cfg->workdir ? cfg->workdir : "/", c->security, err) < 0)
                return burrow_error_wrap(err, "container %s", c->name);
        return process_stdio(cfg, c->sock, tty_slave, err);
}

static _Noreturn void exec_child_main(struct exec_child *c)
{
        struct burrow_error *err = NULL;
        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        int tty_slave = -1;
        if (exec_child_setup(c, &tty_slave, &err) == 0 && (tty_slave < 0 || tty_become_controlling(tty_slave, &err) == 0)) {
                for (int sig = 1; sig < NSIG; sig++)
                        if (sig != SIGKILL && sig != SIGSTOP)
                                signal(sig, SIG_DFL);
                if (sigprocmask(SIG_SETMASK, &c->saved_mask, NULL) < 0)
                        burrow_error_set(&err, errno, "restoring the signal mask");
                else
                        exec_workload(c->cfg->argv, c->envp, c->name, &err);
        }
        sync_send_error(c->sock, err);
        _exit(err ? err->exit_code : BURROW_EXIT_FAILURE);
}

/* The container's config with exec's own -e, -u, -w, -i and -t applied. */
static int effective_config(const struct burrow_run_config *x, json_t *config, struct burrow_run_config *cfg,
                            struct burrow_error **err)
{
        if (burrow_run_config_from_json(json_object_get(config, "run"), cfg, err) < 0)
                return -1;
        for (size_t i = 0; i < cfg->n_env; i++)
                free(cfg->env[i]);
        free(cfg->env);
        cfg->env = NULL;
        cfg->n_env = 0;
        /* the container's environment, then exec's -e */
        json_t *env = json_object_get(json_object_get(config, "run"), "env");
        size_t total = json_array_size(env) + x->n_env;
        if ((cfg->env = calloc(total + 1, sizeof(char *))) == NULL)
                return burrow_error_set(err, ENOMEM, "environment");
        for (size_t i = 0; i < json_array_size(env); i++)
                if ((cfg->env[cfg->n_env++] = strdup(json_string_value(json_array_get(env, i)) ?: "")) == NULL)
                        return burrow_error_set(err, ENOMEM, "environment");
        for (size_t i = 0; i < x->n_env; i++)
                if ((cfg->env[cfg->n_env++] = strdup(x->env[i])) == NULL)
                        return burrow_error_set(err, ENOMEM, "environment");
        for (char **a = cfg->argv; a && *a; a++)
                free(*a);
        free(cfg->argv);
        cfg->argv = NULL;
        size_t n = 0;
        while (x->argv[n])
                n++;
        if ((cfg->argv = calloc(n + 1, sizeof(char *))) == NULL)
                return burrow_error_set(err, ENOMEM, "command");
        for (size_t i = 0; i < n; i++)
                if ((cfg->argv[i] = strdup(x->argv[i])) == NULL)
                        return burrow_error_set(err, ENOMEM, "command");
        if (x->has_user || x->user_name) {
                free(cfg->user_name);
                cfg->user_name = x->user_name ? strdup(x->user_name) : NULL;
                cfg->has_user = x->has_user;
                cfg->uid = x->uid;
                cfg->gid = x->gid;
                cfg->has_gid = x->has_gid;
        } else if (!cfg->has_user && !cfg->user_name && cfg->userns == USERNS_KEEP_ID) {
                /* keep-id: the caller's own IDs, as burrow run chose for the container */
                cfg->has_user = cfg->has_gid = true;
                cfg->uid = getuid();
                cfg->gid = getgid();
        }
        if (x->workdir) {
                free(cfg->workdir);
                if ((cfg->workdir = strdup(x->workdir)) == NULL)
                        return burrow_error_set(err, ENOMEM, "workdir");
        }
        cfg->interactive = x->interactive;
        cfg->tty = x->tty;
        return 0;
}

int burrow_exec(const struct burrow_global *global, const struct burrow_run_config *x, int *exit_code,
                struct burrow_error **err)
{
        if (x->argv == NULL || x->argv[0] == NULL)
                return burrow_error_set(err, 0, "no command given: burrow exec CONTAINER CMD [ARG...]");
        cleanup_free char *root = global->root ? strdup(global->root) : store_default_root();
        if (root == NULL)
                return burrow_error_set(err, ENOMEM, "store path");
        struct store *s = NULL;
        if (store_open(root, &s, err) < 0)
                return -1;
        char id[CONTAINER_ID_LEN + 1];
        int r = container_resolve(s, x->container, id, err);
        cleanup_json json_t *config = r == 0 ? container_config(s, id, err) : NULL;
        bool running = config && container_is_running(s, id);
        if (config == NULL) {
                store_free(s);
                return -1;
        }
        __attribute__((cleanup(cleanup_run_configp))) struct burrow_run_config cfg;
        burrow_run_config_init(&cfg);
        if (!running) {
                store_free(s);
                return burrow_error_set(err, 0, "container %s is not running (start it first: burrow start %s)", x->container,
                                        x->container);
        }
        if (effective_config(x, config, &cfg, err) < 0) {
                store_free(s);
                return burrow_error_wrap(err, "container %s", x->container);
        }
        /* the container's capabilities and seccomp filter, as its own processes have them */
        cleanup_free char *runroot = global->runroot ? strdup(global->runroot) : runroot_default();
        __attribute__((cleanup(process_security_free))) struct process_security security;
        if (process_security_prepare(&cfg.security, runroot, &security, err) < 0) {
                store_free(s);
                return burrow_error_wrap(err, "container %s", x->container);
        }
        int ns[EXEC_NS_COUNT];
        r = fetch_namespaces(s, id, x->container, ns, err);
        store_free(s);
        if (r < 0)
                return -1;

        sigset_t handled, saved_mask;
        init_forwarded_signals(&handled);
        sigaddset(&handled, SIGCHLD);
        sigaddset(&handled, SIGWINCH);
        if (sigprocmask(SIG_BLOCK, &handled, &saved_mask) < 0)
                r = burrow_error_set(err, errno, "blocking signals");
        cleanup_close int sfd = r == 0 ? signalfd(-1, &handled, SFD_CLOEXEC | SFD_NONBLOCK) : -1;
        int sv[2] = { -1, -1 };
        if (r == 0 && (sfd < 0 || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0))
                r = burrow_error_set(err, errno, sfd < 0 ? "signalfd" : "socketpair");
        if (r < 0) {
                for (size_t i = 0; i < EXEC_NS_COUNT; i++)
                        close(ns[i]);
                sigprocmask(SIG_SETMASK, &saved_mask, NULL);
                return -1;
        }
        cleanup_close int sock = sv[0];
        fflush(NULL);
        /* Only a child joins: we stay on the host's side, relaying, and never enter a namespace
         * we could not leave (nor one where a tool of ours, such as LeakSanitizer's tracer,
         * would be cut off from us). The child is an init for the command, in the container's
         * PID namespace through the fork it makes. */
        pid_t cpid = fork();
        if (cpid == 0) {
                close(sv[0]);
                struct burrow_error *cerr = NULL;
                prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
                /* Like the container's init: nothing inside may ptrace us or open our /proc
                 * files (our memory holds the host's environment) before the command runs. */
                if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
                        burrow_error_set(&cerr, errno, "prctl(PR_SET_DUMPABLE)");
                else
                        join_namespaces(ns, ~0, x->container, &cerr);
                char hostname[HOST_NAME_MAX + 1] = "";
                if (cerr == NULL && gethostname(hostname, sizeof(hostname) - 1) < 0)
                        burrow_error_set(&cerr, errno, "gethostname");
                char **envp = cerr == NULL ? burrow_build_env(&cfg, hostname, &cerr) : NULL;
                if (cerr == NULL)
                        prctl(PR_SET_NAME, "burrow-init", 0, 0, 0);
                pid_t workload = cerr == NULL ? fork() : -1;
                if (workload == 0) {
                        struct exec_child child = { .cfg = &cfg, .envp = envp, .name = x->container, .security = &security,
                                                    .saved_mask = saved_mask, .sock = sv[1] };
                        exec_child_main(&child);
                }
                if (cerr == NULL && workload < 0)
                        burrow_error_set(&cerr, errno, "fork");
                if (cerr) {
                        sync_send_error(sv[1], cerr);
                        _exit(cerr->exit_code ? cerr->exit_code : BURROW_EXIT_FAILURE);
                }
                close(sv[1]);
                _exit(init_run(workload));
        }
        for (size_t i = 0; i < EXEC_NS_COUNT; i++)
                close(ns[i]);
        close(sv[1]);
        if (cpid < 0) {
                burrow_error_set(err, errno, "fork");
                sigprocmask(SIG_SETMASK, &saved_mask, NULL);
                return -1;
        }
        int status = 0;
        bool reaped;
        int ret = spawn_wait(cpid, sock, sfd, cfg.interactive, NULL, &status, &reaped, err);
        if (!reaped)
                spawn_kill_and_reap(cpid);
        sigprocmask(SIG_SETMASK, &saved_mask, NULL);
        if (ret == 0)
                *exit_code = init_exit_code(status);
        return ret;
}

struct enter_job {
        const int *ns;
        const char *name;
        int (*fn)(void *arg, struct burrow_error **err);
        void *arg;
};

static int enter_and_run(void *arg, struct burrow_error **err)
{
        struct enter_job *job = arg;
        /* the container must not get at this process before it is one of its own */
        if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
                return burrow_error_set(err, errno, "prctl");
        if (join_namespaces(job->ns, CLONE_NEWUSER | CLONE_NEWNS, job->name, err) < 0)
                return -1;
        if (chdir("/") < 0)
                return burrow_error_set(err, errno, "chdir /");
        return job->fn(job->arg, err);
}

int container_enter_run(struct store *s, const char *id, const char *name, int (*fn)(void *arg, struct burrow_error **err),
                        void *arg, struct burrow_error **err)
{
        /* libraries are loaded from the host's tree, never from the container's (a library
         * there would run as our code) */
        if (dl_archive_load() < 0)
                return burrow_error_set(err, 0, "libarchive cannot be loaded");
        int ns[EXEC_NS_COUNT];
        if (fetch_namespaces(s, id, name, ns, err) < 0)
                return -1;
        struct enter_job job = { .ns = ns, .name = name, .fn = fn, .arg = arg };
        int sock;
        pid_t pid = spawn_helper(enter_and_run, &job, -1, &sock, err);
        for (size_t i = 0; i < EXEC_NS_COUNT; i++)
                close(ns[i]);
        if (pid < 0)
                return -1;
        char what[300];
        snprintf(what, sizeof(what), "the process in container %s", name);
        return spawn_helper_finish(pid, sock, what, err);
}
