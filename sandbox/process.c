#include "config.h"

#include "sandbox/process.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "sandbox/imagectr.h"
#include "sandbox/sync.h"
#include "sandbox/tty.h"

int process_resolve_user(const struct burrow_run_config *cfg, uid_t *uid, gid_t *gid, bool *has_user,
                         struct burrow_error **err)
{
        *has_user = cfg->has_user;
        *uid = cfg->has_user ? cfg->uid : 0;
        *gid = cfg->has_user && cfg->has_gid ? cfg->gid : 0;
        if (cfg->user_name) {
                if (resolve_user_in_root(cfg->user_name, uid, gid, err) < 0)
                        return burrow_error_wrap(err, "-u %s", cfg->user_name);
                *has_user = true;
        }
        return 0;
}

int process_home(const struct burrow_run_config *cfg, uid_t uid, char **envp, struct burrow_error **err)
{
        for (size_t i = 0; i < cfg->n_env; i++)
                if (strncmp(cfg->env[i], "HOME=", 5) == 0)
                        return 0;
        char home[512];
        if (!home_in_root(uid, home + 5, sizeof(home) - 5))
                return 0;
        memcpy(home, "HOME=", 5);
        char *kept = strdup(home); /* lives until exec */
        if (kept == NULL)
                return burrow_error_set(err, ENOMEM, "HOME");
        for (char **e = envp; *e; e++)
                if (strncmp(*e, "HOME=", 5) == 0)
                        *e = kept;
        return 0;
}

int process_security_prepare(const struct burrow_security *sec, const char *runroot, struct process_security *out,
                             struct burrow_error **err)
{
        memset(out, 0, sizeof(*out));
        out->caps = caps_effective(sec->cap_add, sec->cap_add_all, sec->cap_drop, sec->cap_drop_all, sec->privileged);
        out->no_new_privs = !sec->allow_new_privs;
        out->mask_paths = !sec->privileged;
        if (sec->privileged || sec->seccomp == BURROW_SECCOMP_UNCONFINED)
                return 0;
        if (sec->seccomp == BURROW_SECCOMP_PROFILE)
                return seccomp_prepare(sec->seccomp_profile, sec->seccomp_source ? sec->seccomp_source : "(stored)", out->caps,
                                       runroot, &out->seccomp, err);
        return seccomp_prepare(seccomp_default_profile, "burrow's default", out->caps, runroot, &out->seccomp, err);
}

void process_security_free(struct process_security *ps)
{
        seccomp_program_free(&ps->seccomp);
}

/* The bounding set, groups, IDs, working directory and the other capability sets. */
static int switch_identity(const struct burrow_run_config *cfg, bool has_user, uid_t uid, gid_t gid, bool setgroups_denied,
                           const char *workdir, const struct process_security *ps, struct burrow_error **err)
{
        static const char unmapped[] = " (not mapped in the container; a subordinate ID range maps 65536 IDs, see `burrow "
                                       "info`)";
        if (ps && caps_drop_bounding(ps->caps, err) < 0)
                return -1;
        if (!setgroups_denied && setgroups(cfg->n_group_add, cfg->group_add) < 0)
                return burrow_error_set(err, errno, "setting supplementary groups");
        if (has_user) {
                if (setresgid(gid, gid, gid) < 0)
                        return burrow_error_set(err, errno, "switching to gid %u%s", (unsigned)gid, errno == EINVAL ? unmapped : "");
                if (setresuid(uid, uid, uid) < 0)
                        return burrow_error_set(err, errno, "switching to uid %u%s", (unsigned)uid, errno == EINVAL ? unmapped : "");
        }
        /* as the user (a directory it may not enter is an error, as with docker), before the
         * filter: a profile need not allow chdir */
        if (workdir && chdir(workdir) < 0)
                return burrow_error_set(err, errno, "cannot change to working directory `%s`", workdir);
        if (ps && caps_apply(ps->caps, !has_user || uid == 0, err) < 0)
                return -1;
        return 0;
}

int process_set_identity(const struct burrow_run_config *cfg, bool has_user, uid_t uid, gid_t gid, bool setgroups_denied,
                         const char *workdir, const struct process_security *ps, struct burrow_error **err)
{
        for (size_t i = 0; i < cfg->n_ulimits; i++) {
                struct rlimit rl = { .rlim_cur = cfg->ulimits[i].soft, .rlim_max = cfg->ulimits[i].hard };
                if (setrlimit(cfg->ulimits[i].resource, &rl) < 0)
                        return burrow_error_set(err, errno, "--ulimit #%zu (%llu:%llu)%s", i + 1, (unsigned long long)rl.rlim_cur,
                                                (unsigned long long)rl.rlim_max,
                                                errno == EPERM ? ": above your hard limit on the host, which a container "
                                                                 "cannot raise"
                                                               : "");
        }
        /* without no_new_privs the kernel wants CAP_SYS_ADMIN for a filter: load it while we
         * have it; it must then allow what follows (capset, setresuid, execve) */
        bool early = ps && ps->seccomp.len && !ps->no_new_privs;
        if (early && seccomp_install(&ps->seccomp, err) < 0)
                return -1;
        if (switch_identity(cfg, has_user, uid, gid, setgroups_denied, workdir, ps, err) < 0)
                return early && (*err)->errnum == EPERM
                               ? burrow_error_hint(err, "with no-new-privileges=false the seccomp profile applies from "
                                                        "here on: it must allow capset, setgroups, setresgid, setresuid, "
                                                        "chdir and execve")
                               : -1;
        if (ps == NULL)
                return 0;
        if (ps->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return burrow_error_set(err, errno, "setting no_new_privs");
        if (ps->seccomp.len && ps->no_new_privs && seccomp_install(&ps->seccomp, err) < 0)
                return -1;
        return 0;
}

int process_stdio(const struct burrow_run_config *cfg, int sock, int *tty_slave, struct burrow_error **err)
{
        *tty_slave = -1;
        if (!cfg->interactive && !cfg->tty) {
                /* docker semantics: without -i the command's stdin is empty */
                int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
                if (null < 0 || dup2(null, 0) < 0)
                        return burrow_error_set(err, errno, "redirecting stdin to /dev/null");
                close(null);
        }
        if (!cfg->tty)
                return 0;
        int master;
        if (tty_open_pair(&master, tty_slave, err) < 0)
                return -1;
        struct sync_msg msg = { .type = SYNC_PTY };
        int r = sync_send(sock, &msg, master);
        close(master);
        if (r < 0)
                return burrow_error_set(err, errno, "sending the pty to burrow");
        return 0;
}
