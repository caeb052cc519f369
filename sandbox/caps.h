/* Capabilities of a container's processes (libcap), as Docker and podman set them since
 * CVE-2022-24769: for root in the container bounding = permitted = effective = the set,
 * inheritable and ambient empty; for another user the bounding set only. */
#ifndef BURROW_SANDBOX_CAPS_H
#define BURROW_SANDBOX_CAPS_H

#include <stdbool.h>
#include <stdint.h>

#include "util/error.h"

/* A capability set: bit N is capability N (CAP_CHOWN = 0 ...). */
typedef uint64_t caps_mask;

/* Docker's default list: CHOWN DAC_OVERRIDE FSETID FOWNER MKNOD NET_RAW SETGID SETUID SETFCAP
 * SETPCAP NET_BIND_SERVICE SYS_CHROOT KILL AUDIT_WRITE. */
caps_mask caps_default(void);
/* Every capability this kernel knows (what --privileged and `ALL` mean). */
caps_mask caps_all(void);
/* A name as --cap-add takes it: "NET_ADMIN", "cap_net_admin", "CAP_NET_ADMIN"; "ALL" gives
 * caps_all() and sets *all. */
int caps_parse(const char *name, caps_mask *out, bool *all, struct burrow_error **err);
/* "CAP_NET_ADMIN" (static storage, or NULL for a number libcap does not name). */
const char *caps_name(int cap, char *buf, size_t size);
/* Docker's arithmetic: ADD holding ALL gives everything but DROP's names; DROP holding ALL
 * gives ADD alone; otherwise the default list minus DROP, plus ADD. --privileged: everything. */
caps_mask caps_effective(caps_mask add, bool add_all, caps_mask drop, bool drop_all, bool privileged);

/* Before the switch to the container's user: the bounding set down to SET (needs CAP_SETPCAP,
 * which the namespace's root has). */
int caps_drop_bounding(caps_mask set, struct burrow_error **err);
/* After it: permitted = effective = SET for root (uid 0), nothing for another user; inheritable
 * and ambient empty. */
int caps_apply(caps_mask set, bool root, struct burrow_error **err);

#endif
