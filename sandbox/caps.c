#include "config.h"

#include "sandbox/caps.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#define BIT(c) ((caps_mask)1 << (c))

caps_mask caps_default(void)
{
        return BIT(CAP_CHOWN) | BIT(CAP_DAC_OVERRIDE) | BIT(CAP_FSETID) | BIT(CAP_FOWNER) | BIT(CAP_MKNOD) |
               BIT(CAP_NET_RAW) | BIT(CAP_SETGID) | BIT(CAP_SETUID) | BIT(CAP_SETFCAP) | BIT(CAP_SETPCAP) |
               BIT(CAP_NET_BIND_SERVICE) | BIT(CAP_SYS_CHROOT) | BIT(CAP_KILL) | BIT(CAP_AUDIT_WRITE);
}

/* The kernel's last capability (libcap reads /proc/sys/kernel/cap_last_cap). */
static int last_cap(void)
{
        int n = (int)cap_max_bits();
        if (n <= 0 || n > 64)
                n = CAP_LAST_CAP + 1;
        return n - 1;
}

caps_mask caps_all(void)
{
        int last = last_cap();
        return last >= 63 ? ~(caps_mask)0 : (BIT(last + 1) - 1);
}

int caps_parse(const char *name, caps_mask *out, bool *all, struct burrow_error **err)
{
        *all = false;
        if (strcasecmp(name, "ALL") == 0 || strcasecmp(name, "CAP_ALL") == 0) {
                *all = true;
                *out = caps_all();
                return 0;
        }
        char lower[64];
        const char *bare = strncasecmp(name, "CAP_", 4) == 0 ? name + 4 : name;
        int n = snprintf(lower, sizeof(lower), "cap_%s", bare);
        if (n < 0 || (size_t)n >= sizeof(lower) || bare[0] == '\0')
                return burrow_error_set(err, 0, "unknown capability `%s` (names as in capabilities(7): NET_ADMIN, "
                                                "CAP_SYS_PTRACE...; or ALL)",
                                        name);
        for (char *p = lower; *p; p++)
                *p = (char)tolower((unsigned char)*p);
        cap_value_t v;
        if (cap_from_name(lower, &v) < 0 || v < 0 || v > last_cap())
                return burrow_error_set(err, 0, "unknown capability `%s` (names as in capabilities(7): NET_ADMIN, "
                                                "CAP_SYS_PTRACE...; or ALL)",
                                        name);
        *out = BIT(v);
        return 0;
}

const char *caps_name(int cap, char *buf, size_t size)
{
        char *n = cap_to_name((cap_value_t)cap);
        if (n == NULL)
                return NULL;
        /* libcap names unknown numbers by number; those have no name for --cap-add */
        if (isdigit((unsigned char)n[0])) {
                cap_free(n);
                return NULL;
        }
        snprintf(buf, size, "%s", n);
        cap_free(n);
        for (char *p = buf; *p; p++)
                *p = (char)toupper((unsigned char)*p);
        return buf;
}

caps_mask caps_effective(caps_mask add, bool add_all, caps_mask drop, bool drop_all, bool privileged)
{
        caps_mask all = caps_all();
        if (privileged)
                return all;
        if (add_all) /* everything but what is dropped by name */
                return all & ~(drop_all ? 0 : drop);
        if (drop_all) /* nothing but what is added */
                return add & all;
        return ((caps_default() & ~drop) | add) & all;
}

int caps_drop_bounding(caps_mask set, struct burrow_error **err)
{
        int last = last_cap();
        for (int c = 0; c <= last; c++) {
                if (set & BIT(c))
                        continue;
                if (cap_drop_bound((cap_value_t)c) < 0 && errno != EINVAL)
                        return burrow_error_set(err, errno, "dropping capability %d from the bounding set", c);
        }
        return 0;
}

int caps_apply(caps_mask set, bool root, struct burrow_error **err)
{
        cap_t caps = cap_init(); /* all three sets empty */
        if (caps == NULL)
                return burrow_error_set(err, errno, "capabilities");
        int last = last_cap();
        if (root) {
                cap_value_t list[64];
                int n = 0;
                for (int c = 0; c <= last; c++)
                        if (set & BIT(c))
                                list[n++] = (cap_value_t)c;
                if (n > 0 && (cap_set_flag(caps, CAP_PERMITTED, n, list, CAP_SET) < 0 ||
                              cap_set_flag(caps, CAP_EFFECTIVE, n, list, CAP_SET) < 0)) {
                        int e = errno;
                        cap_free(caps);
                        return burrow_error_set(err, e, "capabilities");
                }
        }
        int r = cap_set_proc(caps);
        int e = errno;
        cap_free(caps);
        if (r < 0)
                return burrow_error_set(err, e, "setting the container's capabilities");
        /* ambient: none (an older kernel without ambient capabilities has none to clear) */
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
                return burrow_error_set(err, errno, "clearing the ambient capabilities");
        return 0;
}
