#include "config.h"

#include "net/net.h"

#include <errno.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

int net_mode_parse(const char *text, enum burrow_net_mode *mode, struct burrow_error **err)
{
        if (strcmp(text, "none") == 0)
                *mode = BURROW_NET_NONE;
        else if (strcmp(text, "host") == 0)
                *mode = BURROW_NET_HOST;
        else
                return burrow_error_set(err, 0, "unknown network mode `%s` (use --net=none or --net=host)", text);
        return 0;
}

const char *net_mode_name(enum burrow_net_mode mode)
{
        return mode == BURROW_NET_HOST ? "host" : "none";
}

int net_loopback_up(struct burrow_error **err)
{
        cleanup_close int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (sock < 0)
                return burrow_error_set(err, errno, "socket for configuring loopback");
        struct ifreq ifr;
        memset(&ifr, 0, sizeof(ifr));
        strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
        if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0)
                return burrow_error_set(err, errno, "reading flags of interface `lo`");
        ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
        if (ioctl(sock, SIOCSIFFLAGS, &ifr) < 0)
                return burrow_error_set(err, errno, "bringing interface `lo` up");
        return 0;
}
