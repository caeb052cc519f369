/* The last steps before a container's command is executed, shared by burrow run's child and
 * burrow exec's: identity, limits, stdin or a pty. */
#ifndef BURROW_SANDBOX_PROCESS_H
#define BURROW_SANDBOX_PROCESS_H

#include <stdbool.h>
#include <sys/types.h>

#include "sandbox/caps.h"
#include "sandbox/runconfig.h"
#include "sandbox/seccomp.h"
#include "util/error.h"

/* The user CFG asks for (a name resolved in the container's /etc/passwd, after pivot_root), or
 * root. */
int process_resolve_user(const struct burrow_run_config *cfg, uid_t *uid, gid_t *gid, bool *has_user,
                         struct burrow_error **err);
/* HOME from the container's /etc/passwd for UID, into ENVP (whose HOME entry it replaces),
 * unless CFG's environment sets one. */
int process_home(const struct burrow_run_config *cfg, uid_t uid, char **envp, struct burrow_error **err);
/* What confines a container's processes, worked out before they exist (the filter is compiled,
 * or read from the cache in RUNROOT, by burrow; the process only loads it). */
struct process_security {
        caps_mask caps;
        bool no_new_privs;
        bool mask_paths;                /* /proc/kcore... masked, /proc/sys... read-only */
        struct seccomp_program seccomp; /* len 0: none */
};
int process_security_prepare(const struct burrow_security *sec, const char *runroot, struct process_security *out,
                             struct burrow_error **err);
void process_security_free(struct process_security *ps);

/* CFG's rlimits; the seccomp filter where no_new_privs is off (loading it needs CAP_SYS_ADMIN
 * then, as with runc); the bounding set; supplementary groups (unless SETGROUPS_DENIED: a
 * single-ID map), GID and UID (with HAS_USER); chdir to WORKDIR (if not NULL); the other capability sets (root keeps the
 * container's set, another user none); no_new_privs; the filter. */
int process_set_identity(const struct burrow_run_config *cfg, bool has_user, uid_t uid, gid_t gid, bool setgroups_denied,
                         const char *workdir, const struct process_security *ps, struct burrow_error **err);
/* stdin from /dev/null without -i or -t; with -t a pty pair from the container's devpts, the
 * master sent to burrow over SOCK (SYNC_PTY), *tty_slave kept for the command. */
int process_stdio(const struct burrow_run_config *cfg, int sock, int *tty_slave, struct burrow_error **err);

#endif
