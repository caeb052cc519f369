#include "config.h"

#include "userns/diagnose.h"

#include <stdio.h>

#include "util/fsutil.h"

int userns_diagnose(const char *proc_sys, char *buf, size_t size)
{
        char path[512];
        long v;
        snprintf(path, sizeof(path), "%s/user/max_user_namespaces", proc_sys);
        if (read_long_file(path, &v) == 0 && v == 0) {
                snprintf(buf, size, "user namespaces are disabled on this host (user.max_user_namespaces = 0); "
                                    "an admin can enable them: sysctl -w user.max_user_namespaces=15000");
                return 1;
        }
        snprintf(path, sizeof(path), "%s/kernel/unprivileged_userns_clone", proc_sys);
        if (read_long_file(path, &v) == 0 && v == 0) {
                snprintf(buf, size, "unprivileged user namespaces are disabled (kernel.unprivileged_userns_clone = 0, "
                                    "a Debian kernel knob); an admin can enable them: sysctl -w kernel.unprivileged_userns_clone=1");
                return 1;
        }
        snprintf(path, sizeof(path), "%s/kernel/apparmor_restrict_unprivileged_userns", proc_sys);
        if (read_long_file(path, &v) == 0 && v == 1) {
                snprintf(buf, size, "AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns = 1, "
                                    "Ubuntu 23.10 and later); an admin can allow burrow with an AppArmor profile granting `userns,` "
                                    "or run: sysctl -w kernel.apparmor_restrict_unprivileged_userns=0");
                return 1;
        }
        snprintf(path, sizeof(path), "%s/user/max_user_namespaces", proc_sys);
        if (read_long_file(path, &v) == 0 && v > 0) {
                /* The limit counts per user: a user at the limit gets ENOSPC. */
                snprintf(buf, size, "the per-user limit of user namespaces may be reached (user.max_user_namespaces = %ld)", v);
                return 0;
        }
        if (size)
                buf[0] = '\0';
        return 0;
}
