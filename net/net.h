/* Container networking: none (loopback only), host (the caller's network namespace), and slirp
 * (user-mode NAT with libslirp: a helper process outside the container's network namespace
 * runs the stack; a tap device inside carries the frames). */
#ifndef BURROW_NET_NET_H
#define BURROW_NET_NET_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "util/error.h"

enum burrow_net_mode {
        BURROW_NET_NONE,  /* own network namespace, loopback only (up) */
        BURROW_NET_HOST,  /* the host's network namespace */
        BURROW_NET_SLIRP, /* own network namespace, tap0 to libslirp's NAT */
};

/* -p [HOSTIP:]HOSTPORT:CTRPORT[/tcp|/udp] (one entry per port of a range); HOSTIP IPv6 in
 * brackets: [::1]:8080:80 */
struct net_port {
        bool v6;
        struct in_addr host_ip;   /* IPv4: 127.0.0.1 unless given */
        struct in6_addr host_ip6; /* IPv6 */
        uint16_t host_port;
        uint16_t ctr_port;
        bool udp;
};

struct net_options {
        /* slirp's network: the container is .100, the gateway (the host) .2, DNS .3 */
        struct in_addr network;
        struct in_addr netmask;
        unsigned mtu;
        bool allow_host_loopback; /* 10.0.2.2 reaches the host's 127.0.0.1 */
        bool enable_ipv6;         /* fd00::/64: the container fd00::100, the gateway fd00::2 */
        /* port_handler=slirp: forwarded TCP ports through libslirp's stack (the container sees
         * the client's address, or the gateway's for the host's loopback) instead of the
         * splice relay (net/portfwd.c: faster; the container sees its own address) */
        bool slirp_port_handler;
        struct net_port *ports;
        size_t n_ports;
        char **dns; /* --dns: nameservers for /etc/resolv.conf (default: slirp's forwarder) */
        size_t n_dns;
        char **dns_search; /* --dns-search */
        size_t n_dns_search;
        char **add_hosts; /* --add-host NAME:IP, kept as "IP\tNAME" */
        size_t n_add_hosts;
};

/* The defaults: 10.0.2.0/24, MTU 65520, IPv6 on, the host's loopback closed. */
void net_options_init(struct net_options *o);
void net_options_free(struct net_options *o);
/* A deep copy (for a container's stored config). */
int net_options_copy(struct net_options *dst, const struct net_options *src, struct burrow_error **err);

/* "none", "host", "slirp" or "slirp:cidr=10.0.3.0/24,mtu=1500,allow_host_loopback=true,
 * enable_ipv6=false" (options into O). */
int net_mode_parse(const char *text, enum burrow_net_mode *mode, struct net_options *o, struct burrow_error **err);
const char *net_mode_name(enum burrow_net_mode mode);
/* -p: appended to O's ports; ranges "8000-8002:80-82" give one entry per port. */
int net_port_parse(const char *spec, struct net_options *o, struct burrow_error **err);
/* P's host address as a socket address (returns its length), and as text (no brackets). */
socklen_t net_port_host_addr(const struct net_port *p, struct sockaddr_storage *ss);
const char *net_port_host_text(const struct net_port *p, char buf[INET6_ADDRSTRLEN]);
/* --dns IP, --dns-search DOMAIN, --add-host NAME:IP: checked and appended. */
int net_dns_add(const char *ip, struct net_options *o, struct burrow_error **err);
int net_dns_search_add(const char *domain, struct net_options *o, struct burrow_error **err);
int net_add_host_parse(const char *spec, struct net_options *o, struct burrow_error **err);

/* The container's IPv6 address (its network is fd00::/64, the gateway fd00::2). */
#define NET_CONTAINER_IP6 "fd00::100"

/* The container's addresses in O's network. */
struct in_addr net_container_ip(const struct net_options *o);
struct in_addr net_gateway_ip(const struct net_options *o);
struct in_addr net_dns_ip(const struct net_options *o);

/* Bring "lo" up in the current network namespace (a new one starts with it down). */
int net_loopback_up(struct burrow_error **err);

/* In the container's network namespace (as its root): lo up, and tap0 made from /dev/net/tun
 * with the container's address, MTU and default route (and IPv6's). *TAP is the device's
 * descriptor, for the helper. */
int net_tap_setup(const struct net_options *o, int *tap, struct burrow_error **err);

/* /etc/hosts, /etc/hostname and /etc/resolv.conf for the container, written into DIR. */
int net_write_files(int dir, enum burrow_net_mode mode, const struct net_options *o, const char *hostname,
                    struct burrow_error **err);

/* The slirp helper: a child process (it dies with its parent) in the caller's network
 * namespace. It loads libslirp, binds O's forwarded ports (errors come back through
 * net_slirp_ready), then waits for the tap device's descriptor on *CTL (net_slirp_send_tap,
 * from the container, which inherits *CTL) and runs the NAT until every holder of *CTL has
 * closed it. */
pid_t net_slirp_start(const struct net_options *o, int *ctl, struct burrow_error **err);
/* Wait for the helper's report: 0 once its ports are bound, -1 with its error. */
int net_slirp_ready(int ctl, struct burrow_error **err);
/* From the container's network namespace: tap0, and when O's TCP ports are relayed (see
 * net_ports_relayed) a descriptor of the namespace itself. */
int net_slirp_send_tap(int ctl, int tap, const struct net_options *o, struct burrow_error **err);
/* Whether O forwards TCP ports through the splice relay (net/portfwd.c). */
bool net_ports_relayed(const struct net_options *o);
/* After the container: close CTL and end the helper (reaped if already gone; otherwise by
 * whoever inherits it when burrow exits: its exit may take a while, see net/slirp.c). With
 * FREE_PORTS, first wait (briefly) until the helper has closed the forwarded host ports. */
void net_slirp_stop(pid_t pid, int ctl, bool free_ports);

#endif
