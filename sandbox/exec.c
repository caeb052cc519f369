#include "config.h"

#include "sandbox/exec.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sandbox/runconfig.h"
#include "util/error.h"

static int exec_failure(const char *cmd, const char *tried, int e, const char *root_name, struct burrow_error **err)
{
        struct stat st;
        switch (e) {
        case ENOENT:
                if (lstat(tried, &st) == 0)
                        return burrow_error_set_code(err, BURROW_EXIT_NOT_FOUND, 0,
                                                     "cannot run `%s`: it exists in rootfs `%s` but its program interpreter "
                                                     "(the ELF loader or the #! line) does not; copy the libraries it needs "
                                                     "or use a static binary",
                                                     cmd, root_name);
                return burrow_error_set_code(err, BURROW_EXIT_NOT_FOUND, 0, "cannot run `%s`: no such file in rootfs `%s`", cmd,
                                             root_name);
        case EACCES:
                return burrow_error_set_code(err, BURROW_EXIT_NOT_EXECUTABLE, 0,
                                             "cannot run `%s`: permission denied (is it executable? chmod +x it in rootfs `%s`)",
                                             tried, root_name);
        case ENOEXEC:
                return burrow_error_set_code(err, BURROW_EXIT_NOT_EXECUTABLE, 0,
                                             "cannot run `%s`: exec format error (not a program for this machine, or a script "
                                             "without a #! line)",
                                             tried);
        default:
                return burrow_error_set_code(err, BURROW_EXIT_NOT_EXECUTABLE, e, "cannot run `%s`", tried);
        }
}

int exec_workload(char *const *argv, char *const *envp, const char *root_name, struct burrow_error **err)
{
        const char *cmd = argv[0];
        if (strchr(cmd, '/')) {
                execve(cmd, argv, envp);
                return exec_failure(cmd, cmd, errno, root_name, err);
        }
        const char *path = env_lookup(envp, "PATH");
        if (path == NULL)
                path = BURROW_DEFAULT_PATH;
        bool denied = false;
        char denied_path[PATH_MAX] = "";
        for (const char *p = path; *p;) {
                const char *colon = strchrnul(p, ':');
                char cand[PATH_MAX];
                int n = snprintf(cand, sizeof(cand), "%.*s/%s", (int)(colon - p), colon > p ? p : ".", cmd);
                p = *colon ? colon + 1 : colon;
                if (n < 0 || (size_t)n >= sizeof(cand))
                        continue;
                execve(cand, argv, envp);
                int e = errno;
                if (e == EACCES) {
                        /* keep looking, as execvp does; report it if nothing better turns up */
                        if (!denied)
                                snprintf(denied_path, sizeof(denied_path), "%s", cand);
                        denied = true;
                        continue;
                }
                if (e == ENOENT) {
                        struct stat st;
                        if (lstat(cand, &st) == 0) /* present, but its interpreter is not */
                                return exec_failure(cmd, cand, e, root_name, err);
                        continue;
                }
                if (e == ENOTDIR || e == ELOOP || e == ENAMETOOLONG)
                        continue;
                return exec_failure(cmd, cand, e, root_name, err);
        }
        if (denied)
                return exec_failure(cmd, denied_path, EACCES, root_name, err);
        return burrow_error_set_code(err, BURROW_EXIT_NOT_FOUND, 0,
                                     "cannot run `%s`: executable file not found in $PATH (%s) inside rootfs `%s`", cmd, path,
                                     root_name);
}
