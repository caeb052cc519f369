/* Container networking modes. */
#ifndef BURROW_NET_NET_H
#define BURROW_NET_NET_H

#include "util/error.h"

enum burrow_net_mode {
        BURROW_NET_NONE, /* own network namespace, loopback only (up) */
        BURROW_NET_HOST, /* the host's network namespace */
};

/* Parse "none" / "host"; -1 with a clear error otherwise. */
int net_mode_parse(const char *text, enum burrow_net_mode *mode, struct burrow_error **err);
const char *net_mode_name(enum burrow_net_mode mode);

/* Bring "lo" up in the current network namespace (a new one starts with it down). */
int net_loopback_up(struct burrow_error **err);

#endif
