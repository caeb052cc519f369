/* Why a user namespace could not be made, in words a user can act on. */
#ifndef BURROW_USERNS_DIAGNOSE_H
#define BURROW_USERNS_DIAGNOSE_H

#include <stddef.h>

/* Look at the host's knobs under proc_sys (normally "/proc/sys") and write the reason and the
 * fix into buf. Returns 1 if a cause was found, 0 if none. */
int userns_diagnose(const char *proc_sys, char *buf, size_t size);

#endif
