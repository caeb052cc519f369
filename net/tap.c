#include "config.h"

#include "net/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <net/route.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/cleanup.h"

#define TAP_NAME "tap0"

/* linux/ipv6.h's, which clashes with netinet/in.h */
struct burrow_in6_ifreq {
        struct in6_addr ifr6_addr;
        uint32_t ifr6_prefixlen;
        int ifr6_ifindex;
};

static int set_sysctl(const char *path, const char *value)
{
        cleanup_close int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -1;
        return write(fd, value, strlen(value)) == (ssize_t)strlen(value) ? 0 : -1;
}

static int tap_ipv6(int ifindex, struct burrow_error **err)
{
        /* a fixed address (no waiting for duplicate address detection or the router's
         * advertisement): fd00::100/64, default route through slirp's fd00::2 */
        char p[128];
        snprintf(p, sizeof(p), "/proc/sys/net/ipv6/conf/%s/accept_dad", TAP_NAME);
        set_sysctl(p, "0");
        cleanup_close int s6 = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (s6 < 0)
                return burrow_error_set(err, errno, "IPv6 socket (enable_ipv6=false turns IPv6 off)");
        struct burrow_in6_ifreq r6 = { .ifr6_prefixlen = 64, .ifr6_ifindex = ifindex };
        inet_pton(AF_INET6, NET_CONTAINER_IP6, &r6.ifr6_addr);
        if (ioctl(s6, SIOCSIFADDR, &r6) < 0)
                return burrow_error_set(err, errno, "setting the IPv6 address of %s (enable_ipv6=false turns IPv6 off)", TAP_NAME);
        struct in6_rtmsg rt = { .rtmsg_dst_len = 0, .rtmsg_metric = 1, .rtmsg_flags = RTF_UP | RTF_GATEWAY,
                                .rtmsg_ifindex = ifindex };
        inet_pton(AF_INET6, "fd00::2", &rt.rtmsg_gateway);
        if (ioctl(s6, SIOCADDRT, &rt) < 0 && errno != EEXIST)
                return burrow_error_set(err, errno, "adding the IPv6 default route via fd00::2");
        return 0;
}

int net_tap_setup(const struct net_options *o, int *tap, struct burrow_error **err)
{
        *tap = -1;
        if (net_loopback_up(err) < 0)
                return -1;
        if (!o->enable_ipv6) {
                /* no IPv6 at all inside, not even link-local on tap0 */
                set_sysctl("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
        }
        cleanup_close int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0)
                return burrow_error_set(err, errno, "opening /dev/net/tun for --net=slirp%s",
                                        errno == EACCES || errno == EPERM
                                                ? " (Debian and Fedora ship it with mode 0666: as root, chmod 0666 /dev/net/tun; or "
                                                  "use --net=none)"
                                        : errno == ENOENT ? " (load the tun module: modprobe tun; or use --net=none)"
                                                          : "");
        struct ifreq ifr;
        memset(&ifr, 0, sizeof(ifr));
        ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
        snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", TAP_NAME);
        if (ioctl(fd, TUNSETIFF, &ifr) < 0)
                return burrow_error_set(err, errno, "creating %s", TAP_NAME);
        cleanup_close int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (s < 0)
                return burrow_error_set(err, errno, "socket for configuring %s", TAP_NAME);
        memset(&ifr, 0, sizeof(ifr));
        snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", TAP_NAME);
        ifr.ifr_mtu = (int)o->mtu;
        if (ioctl(s, SIOCSIFMTU, &ifr) < 0)
                return burrow_error_set(err, errno, "setting the MTU of %s to %u", TAP_NAME, o->mtu);
        struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
        sin->sin_family = AF_INET;
        sin->sin_addr = net_container_ip(o);
        if (ioctl(s, SIOCSIFADDR, &ifr) < 0)
                return burrow_error_set(err, errno, "setting the address of %s to %s", TAP_NAME, inet_ntoa(sin->sin_addr));
        sin->sin_addr = o->netmask;
        if (ioctl(s, SIOCSIFNETMASK, &ifr) < 0)
                return burrow_error_set(err, errno, "setting the netmask of %s", TAP_NAME);
        if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
                return burrow_error_set(err, errno, "reading the flags of %s", TAP_NAME);
        ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
        if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
                return burrow_error_set(err, errno, "bringing %s up", TAP_NAME);
        struct rtentry rt;
        memset(&rt, 0, sizeof(rt));
        struct sockaddr_in *gw = (struct sockaddr_in *)&rt.rt_gateway;
        gw->sin_family = AF_INET;
        gw->sin_addr = net_gateway_ip(o);
        ((struct sockaddr_in *)&rt.rt_dst)->sin_family = AF_INET;
        ((struct sockaddr_in *)&rt.rt_genmask)->sin_family = AF_INET;
        rt.rt_flags = RTF_UP | RTF_GATEWAY;
        rt.rt_dev = (char *)TAP_NAME;
        if (ioctl(s, SIOCADDRT, &rt) < 0)
                return burrow_error_set(err, errno, "adding the default route via %s", inet_ntoa(gw->sin_addr));
        if (o->enable_ipv6) {
                int ifindex = (int)if_nametoindex(TAP_NAME);
                if (ifindex == 0 || tap_ipv6(ifindex, err) < 0)
                        return burrow_error_wrap(err, "--net=slirp");
        }
        *tap = steal_fd(&fd);
        return 0;
}
