#include "config.h"

#include "net/net.h"
#include "net/portfwd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fdpass.h"
#include "util/proc.h"
#include "util/log.h"
#include "util/dl.h"

/* helper -> burrow run, once: the ports are bound (ok) or why not */
struct net_report {
        int32_t ok;
        int32_t errnum;
        char text[1024];
};

struct timer {
        SlirpTimerCb cb;
        void *cb_opaque;
        int64_t expire_ms; /* -1: not armed */
        struct timer *next;
};

/* A UDP exchange a forwarded port started from the host's loopback: the guest may answer it. */
struct udp_flow {
        bool v6;
        uint16_t gw_port;    /* the host side's port, as the guest sees it (on the gateway address) */
        uint16_t guest_port; /* the forwarded port in the container */
        int64_t last_ms;
};

struct helper {
        Slirp *slirp;
        int tap;
        /* The host's loopback is closed but libslirp's own switch is off (it would drop the
         * answers to UDP forwarded from the host's 127.0.0.1): frames from the guest to the
         * gateway address are checked here instead. */
        bool filter_gateway;
        struct in_addr gw4;
        struct udp_flow flows[128];
        size_t n_flows;
        struct timer *timers;
        struct pollfd *pfds;
        size_t n_pfds, cap_pfds;
        struct portfwd *pf; /* TCP ports relayed with splice (net/portfwd.c); NULL without */
};

static int64_t now_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Frames are Ethernet II; the headers are read in place, every length checked. */
enum { ETH_HLEN_ = 14, ETH_P_IPV4 = 0x0800, ETH_P_IPV6_ = 0x86dd, PROTO_TCP = 6, PROTO_UDP = 17, PROTO_ICMP = 1,
       PROTO_ICMPV6 = 58 };

static uint16_t be16(const unsigned char *p)
{
        return (uint16_t)(p[0] << 8 | p[1]);
}

static const unsigned char gw6[16] = { 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2 };

/* The transport header of an IPv4 or IPv6 packet from or to the gateway, unfragmented and
 * without IPv6 extension headers; NULL otherwise. *to_gw: the destination is the gateway. */
static const unsigned char *gateway_transport(const struct helper *h, const unsigned char *f, size_t len, bool *v6, int *proto,
                                              bool *to_gw, bool *from_gw, size_t *left)
{
        if (len < ETH_HLEN_ + 20)
                return NULL;
        uint16_t type = be16(f + 12);
        const unsigned char *ip = f + ETH_HLEN_;
        size_t iplen = len - ETH_HLEN_;
        if (type == ETH_P_IPV4) {
                size_t ihl = (size_t)(ip[0] & 0x0f) * 4;
                if ((ip[0] >> 4) != 4 || ihl < 20 || ihl > iplen)
                        return NULL;
                *v6 = false;
                *to_gw = memcmp(ip + 16, &h->gw4, 4) == 0;
                *from_gw = memcmp(ip + 12, &h->gw4, 4) == 0;
                *proto = ip[9];
                /* a fragment (MF or an offset) has no transport header to judge: length 0 */
                *left = (be16(ip + 6) & 0x3fff) ? 0 : iplen - ihl;
                return ip + ihl;
        }
        if (type == ETH_P_IPV6_) {
                if (iplen < 40 || (ip[0] >> 4) != 6)
                        return NULL;
                *v6 = true;
                *to_gw = memcmp(ip + 24, gw6, 16) == 0;
                *from_gw = memcmp(ip + 8, gw6, 16) == 0;
                *proto = ip[6];
                *left = iplen - 40;
                return ip + 40;
        }
        return NULL;
}

/* Whether the guest may send this frame: to the gateway only ICMP, TCP other than a new
 * connection (SYN without ACK), and UDP answering a flow a forwarded port started. */
static bool guest_frame_allowed(struct helper *h, const unsigned char *f, size_t len)
{
        bool v6, to_gw, from_gw;
        int proto;
        size_t left = 0;
        const unsigned char *t = gateway_transport(h, f, len, &v6, &proto, &to_gw, &from_gw, &left);
        if (t == NULL || !to_gw)
                return true;
        switch (proto) {
        case PROTO_ICMP:
        case PROTO_ICMPV6:
                return true;
        case PROTO_TCP:
                if (left < 20)
                        return false;
                return !((t[13] & 0x02) && !(t[13] & 0x10));
        case PROTO_UDP: {
                if (left < 8)
                        return false;
                uint16_t sport = be16(t), dport = be16(t + 2);
                int64_t now = now_ns() / 1000000;
                for (size_t i = 0; i < h->n_flows; i++)
                        if (h->flows[i].v6 == v6 && h->flows[i].gw_port == dport && h->flows[i].guest_port == sport &&
                            now - h->flows[i].last_ms < 180 * 1000)
                                return true;
                return false;
        }
        default:
                return false; /* IPv6 extension headers, fragments, other protocols */
        }
}

/* A UDP datagram from the gateway to the guest: a forwarded one, which may be answered. */
static void note_udp_flow(struct helper *h, const unsigned char *f, size_t len)
{
        bool v6, to_gw, from_gw;
        int proto;
        size_t left = 0;
        const unsigned char *t = gateway_transport(h, f, len, &v6, &proto, &to_gw, &from_gw, &left);
        if (t == NULL || !from_gw || proto != PROTO_UDP || left < 8)
                return;
        uint16_t gw_port = be16(t), guest_port = be16(t + 2);
        int64_t now = now_ns() / 1000000;
        size_t oldest = 0;
        for (size_t i = 0; i < h->n_flows; i++) {
                struct udp_flow *fl = &h->flows[i];
                if (fl->v6 == v6 && fl->gw_port == gw_port && fl->guest_port == guest_port) {
                        fl->last_ms = now;
                        return;
                }
                if (fl->last_ms < h->flows[oldest].last_ms)
                        oldest = i;
        }
        size_t slot = h->n_flows < sizeof(h->flows) / sizeof(h->flows[0]) ? h->n_flows++ : oldest;
        h->flows[slot] = (struct udp_flow){ .v6 = v6, .gw_port = gw_port, .guest_port = guest_port, .last_ms = now };
}

static ssize_t cb_send_packet(const void *buf, size_t len, void *opaque)
{
        struct helper *h = opaque;
        if (h->filter_gateway)
                note_udp_flow(h, buf, len);
        if (h->tap < 0)
                return (ssize_t)len; /* no device yet: as if the wire dropped it */
        ssize_t n;
        do
                n = write(h->tap, buf, len);
        while (n < 0 && errno == EINTR);
        if (n < 0 && errno == EAGAIN) {
                /* the device's queue is full: wait for room rather than drop a TCP segment */
                struct pollfd p = { .fd = h->tap, .events = POLLOUT };
                if (poll(&p, 1, 100) > 0)
                        n = write(h->tap, buf, len);
        }
        return n < 0 ? (ssize_t)len : n;
}

static void cb_guest_error(const char *msg, void *opaque)
{
        (void)opaque;
        burrow_debug("slirp: %s", msg);
}

static int64_t cb_clock_get_ns(void *opaque)
{
        (void)opaque;
        return now_ns();
}

static void *cb_timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
        struct helper *h = opaque;
        struct timer *t = calloc(1, sizeof(*t));
        if (t == NULL)
                return NULL;
        t->cb = cb;
        t->cb_opaque = cb_opaque;
        t->expire_ms = -1;
        t->next = h->timers;
        h->timers = t;
        return t;
}

static void cb_timer_free(void *timer, void *opaque)
{
        struct helper *h = opaque;
        for (struct timer **p = &h->timers; *p; p = &(*p)->next)
                if (*p == timer) {
                        *p = (*p)->next;
                        free(timer);
                        return;
                }
}

static void cb_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
        (void)opaque;
        ((struct timer *)timer)->expire_ms = expire_ms;
}

static void cb_register_poll_fd(int fd, void *opaque)
{
        (void)fd;
        (void)opaque;
}

static void cb_notify(void *opaque)
{
        (void)opaque;
}

static int cb_add_poll(int fd, int events, void *opaque)
{
        struct helper *h = opaque;
        if (h->n_pfds == h->cap_pfds) {
                size_t cap = h->cap_pfds ? h->cap_pfds * 2 : 64;
                struct pollfd *bigger = realloc(h->pfds, cap * sizeof(*bigger));
                if (bigger == NULL)
                        return -1;
                h->pfds = bigger;
                h->cap_pfds = cap;
        }
        short ev = 0;
        if (events & SLIRP_POLL_IN)
                ev |= POLLIN;
        if (events & SLIRP_POLL_OUT)
                ev |= POLLOUT;
        if (events & SLIRP_POLL_PRI)
                ev |= POLLPRI;
        h->pfds[h->n_pfds] = (struct pollfd){ .fd = fd, .events = ev };
        return (int)h->n_pfds++;
}

static int add_pollfd(int fd, short events, void *opaque)
{
        return cb_add_poll(fd, ((events & POLLIN) ? SLIRP_POLL_IN : 0) | ((events & POLLOUT) ? SLIRP_POLL_OUT : 0), opaque);
}

static short pollfd_revents(int idx, void *opaque)
{
        struct helper *h = opaque;
        return idx >= 0 && (size_t)idx < h->n_pfds ? h->pfds[idx].revents : 0;
}

static int cb_get_revents(int idx, void *opaque)
{
        struct helper *h = opaque;
        if (idx < 0 || (size_t)idx >= h->n_pfds)
                return 0;
        short re = h->pfds[idx].revents;
        int r = 0;
        if (re & POLLIN)
                r |= SLIRP_POLL_IN;
        if (re & POLLOUT)
                r |= SLIRP_POLL_OUT;
        if (re & POLLPRI)
                r |= SLIRP_POLL_PRI;
        if (re & POLLERR)
                r |= SLIRP_POLL_ERR;
        if (re & POLLHUP)
                r |= SLIRP_POLL_HUP;
        return r;
}

static void report(int ctl, int errnum, const char *fmt, ...) BURROW_PRINTF(3, 4);
static void report(int ctl, int errnum, const char *fmt, ...)
{
        struct net_report r = { .ok = fmt == NULL, .errnum = errnum };
        if (fmt) {
                va_list ap;
                va_start(ap, fmt);
                vsnprintf(r.text, sizeof(r.text), fmt, ap);
                va_end(ap);
        }
        if (send(ctl, &r, sizeof(r), MSG_NOSIGNAL) < 0)
                burrow_debug("slirp helper: report: %s", strerror(errno));
}

/* The descriptors the container sends (tap0, maybe its network namespace): 1, or 0 at EOF. */
static int receive_tap(int ctl, int *tap, int *netns)
{
        char c;
        int fds[2];
        size_t n_fds;
        ssize_t n = fdpass_recv(ctl, &c, 1, fds, 2, &n_fds, MSG_DONTWAIT);
        if (n < 0)
                return errno == EAGAIN ? 1 : 0;
        if (n == 0)
                return 0;
        if (n_fds > 0) {
                if (*tap >= 0)
                        close(*tap);
                *tap = fds[0];
                *netns = fds[1];
        }
        return 1;
}

static void report_bind_error(int ctl, const struct net_port *p, int e)
{
        char ip[INET6_ADDRSTRLEN];
        net_port_host_text(p, ip);
        const char *l = p->v6 ? "[" : "", *r = p->v6 ? "]" : "", *proto = p->udp ? "udp" : "tcp";
        if (e == EACCES || (e == 0 && p->host_port < 1024))
                report(ctl, e,
                       "-p %s%s%s:%u:%u/%s: binding host port %u needs a port at or above "
                       "net.ipv4.ip_unprivileged_port_start (see `sysctl net.ipv4.ip_unprivileged_port_start`; "
                       "an administrator may lower it), or choose a port >= 1024",
                       l, ip, r, p->host_port, p->ctr_port, proto, p->host_port);
        else if (e == EADDRINUSE || e == 0)
                report(ctl, e, "-p %s%s%s:%u:%u/%s: host port %u is already in use on %s (choose another)", l, ip, r, p->host_port,
                       p->ctr_port, proto, p->host_port, ip);
        else if (e == EADDRNOTAVAIL)
                report(ctl, e, "-p %s%s%s:%u:%u/%s: %s is not an address of this host", l, ip, r, p->host_port, p->ctr_port, proto,
                       ip);
        else
                report(ctl, e, "-p %s%s%s:%u:%u/%s: cannot bind %s: %s", l, ip, r, p->host_port, p->ctr_port, proto, ip,
                       strerror(e));
}

/* P through libslirp: an IPv4 host address to the container's IPv4 address, an IPv6 one to its
 * IPv6 address (libslirp resets a connection it would carry from one family to the other). */
static int slirp_forward(Slirp *slirp, const struct net_options *o, const struct net_port *p)
{
        if (!p->v6)
                return slirp_add_hostfwd(slirp, p->udp, p->host_ip, p->host_port, net_container_ip(o), p->ctr_port);
        struct sockaddr_storage host;
        socklen_t host_len = net_port_host_addr(p, &host);
        struct sockaddr_in6 ctr = { .sin6_family = AF_INET6, .sin6_port = htons(p->ctr_port) };
        inet_pton(AF_INET6, NET_CONTAINER_IP6, &ctr.sin6_addr);
        return slirp_add_hostxfwd(slirp, (struct sockaddr *)&host, host_len, (struct sockaddr *)&ctr, sizeof(ctr),
                                  (p->udp ? SLIRP_HOSTFWD_UDP : 0) | SLIRP_HOSTFWD_V6ONLY);
}

/* Through libslirp: UDP, and TCP with port_handler=slirp. */
static int bind_slirp_ports(Slirp *slirp, const struct net_options *o, int ctl)
{
        bool relayed = net_ports_relayed(o);
        for (size_t i = 0; i < o->n_ports; i++) {
                const struct net_port *p = &o->ports[i];
                if (relayed && !p->udp)
                        continue;
                if (p->v6 && !o->enable_ipv6) {
                        char ip[INET6_ADDRSTRLEN];
                        report(ctl, 0,
                               "-p [%s]:%u:%u/%s: libslirp forwards an IPv6 host address to the container's IPv6 address, "
                               "which enable_ipv6=false turns off (use an IPv4 host address%s)",
                               net_port_host_text(p, ip), p->host_port, p->ctr_port, p->udp ? "udp" : "tcp",
                               p->udp ? "" : ", or the default port_handler=splice");
                        return -1;
                }
                errno = 0;
                if (slirp_forward(slirp, o, p) < 0) {
                        report_bind_error(ctl, p, errno);
                        return -1;
                }
        }
        return 0;
}

/* The relayed TCP ports: listened on here, connected once the container's namespace is known. */
static int bind_relayed_ports(struct helper *h, const struct net_options *o, int ctl)
{
        if (!net_ports_relayed(o))
                return 0;
        if ((h->pf = portfwd_new(net_container_ip(o))) == NULL) {
                report(ctl, ENOMEM, "-p: out of memory");
                return -1;
        }
        for (size_t i = 0; i < o->n_ports; i++) {
                const struct net_port *p = &o->ports[i];
                if (!p->udp && portfwd_listen(h->pf, p, p->ctr_port) < 0) {
                        report_bind_error(ctl, p, errno);
                        return -1;
                }
        }
        return 0;
}

/* The container's network namespace is known: the relay starts. If it cannot enter the
 * namespace, libslirp forwards the TCP ports instead (slower, same reach). */
static void start_relay(struct helper *h, const struct net_options *o, int netns)
{
        if (h->pf == NULL)
                return;
        cleanup_error struct burrow_error *err = NULL;
        if (portfwd_enter(h->pf, netns, &err) == 0)
                return;
        burrow_warn("-p: %s; the forwarded TCP ports go through libslirp instead (as with port_handler=slirp)", err->msg);
        portfwd_free(h->pf);
        h->pf = NULL;
        for (size_t i = 0; i < o->n_ports; i++) {
                const struct net_port *p = &o->ports[i];
                if (!p->udp && slirp_forward(h->slirp, o, p) < 0)
                        burrow_warn("-p %u:%u: libslirp could not take the port over either", p->host_port, p->ctr_port);
        }
}

static _Noreturn void helper_main(const struct net_options *o, int ctl)
{
        /* out of the terminal's process group: ^C is for the container, and burrow run says
         * when we are done (EOF on CTL); we die with it in any case */
        setsid();
        prctl(PR_SET_NAME, "burrow-slirp", 0, 0, 0);
        signal(SIGINT, SIG_IGN);
        signal(SIGQUIT, SIG_IGN);
        signal(SIGHUP, SIG_IGN);
        signal(SIGTSTP, SIG_IGN);
        signal(SIGPIPE, SIG_IGN);
        int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null >= 0) {
                dup2(null, STDIN_FILENO);
                close(null);
        }
        /* every relayed connection holds six descriptors (net/portfwd.c), libslirp's one each */
        struct rlimit nofile;
        if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
                nofile.rlim_cur = nofile.rlim_max;
                (void)setrlimit(RLIMIT_NOFILE, &nofile);
        }
        struct helper h = { .tap = -1 };
        SlirpConfig cfg;
        memset(&cfg, 0, sizeof(cfg));
        cfg.version = 4;
        cfg.in_enabled = true;
        cfg.vnetwork = o->network;
        cfg.vnetmask = o->netmask;
        cfg.vhost = net_gateway_ip(o);
        cfg.vnameserver = net_dns_ip(o);
        cfg.vdhcp_start = (struct in_addr){ htonl((ntohl(o->network.s_addr) & ntohl(o->netmask.s_addr)) | 15) };
        cfg.in6_enabled = o->enable_ipv6;
        inet_pton(AF_INET6, "fd00::", &cfg.vprefix_addr6);
        cfg.vprefix_len = 64;
        inet_pton(AF_INET6, "fd00::2", &cfg.vhost6);
        inet_pton(AF_INET6, "fd00::3", &cfg.vnameserver6);
        cfg.if_mtu = o->mtu;
        cfg.if_mru = o->mtu;
        /* libslirp drops the answers to UDP forwarded from the host's loopback when its switch
         * is on: with UDP forwards, the switch stays off and guest_frame_allowed closes the way */
        bool udp_forwards = false;
        for (size_t i = 0; i < o->n_ports; i++)
                udp_forwards |= o->ports[i].udp;
        h.filter_gateway = !o->allow_host_loopback && udp_forwards;
        h.gw4 = net_gateway_ip(o);
        cfg.disable_host_loopback = !o->allow_host_loopback && !h.filter_gateway;
        cfg.disable_dhcp = true; /* tap0 is configured statically */
        static const SlirpCb callbacks = { .send_packet = cb_send_packet,
                                           .guest_error = cb_guest_error,
                                           .clock_get_ns = cb_clock_get_ns,
                                           .timer_new = cb_timer_new,
                                           .timer_free = cb_timer_free,
                                           .timer_mod = cb_timer_mod,
                                           .register_poll_fd = cb_register_poll_fd,
                                           .unregister_poll_fd = cb_register_poll_fd,
                                           .notify = cb_notify };
        h.slirp = slirp_new(&cfg, &callbacks, &h);
        if (h.slirp == NULL) {
                report(ctl, 0, "--net=slirp: libslirp could not be started (is libslirp0 installed? or use --net=none)");
                _exit(1);
        }
        if (bind_slirp_ports(h.slirp, o, ctl) < 0 || bind_relayed_ports(&h, o, ctl) < 0)
                _exit(1);
        report(ctl, 0, NULL);
        /* MTU plus the Ethernet header; one frame per read */
        size_t frame_size = o->mtu + 64;
        unsigned char *frame = malloc(frame_size);
        if (frame == NULL)
                _exit(1);
        for (;;) {
                h.n_pfds = 0;
                cb_add_poll(ctl, SLIRP_POLL_IN, &h);
                int i_tap = h.tap >= 0 ? cb_add_poll(h.tap, SLIRP_POLL_IN, &h) : -1;
                uint32_t timeout = UINT32_MAX;
                slirp_pollfds_fill(h.slirp, &timeout, cb_add_poll, &h);
                portfwd_poll_fill(h.pf, add_pollfd, &h);
                int64_t now_ms = now_ns() / 1000000;
                for (struct timer *t = h.timers; t; t = t->next)
                        if (t->expire_ms >= 0) {
                                int64_t left = t->expire_ms - now_ms;
                                if (left < 0)
                                        left = 0;
                                if ((uint64_t)left < timeout)
                                        timeout = (uint32_t)left;
                        }
                int r = poll(h.pfds, h.n_pfds, timeout == UINT32_MAX ? -1 : (int)(timeout > INT_MAX ? INT_MAX : timeout));
                if (r < 0 && errno != EINTR)
                        _exit(1);
                if (r > 0 && h.pfds[0].revents) {
                        int netns = -1;
                        if (receive_tap(ctl, &h.tap, &netns) == 0) {
                                /* the container ended. The host's ports are closed here and now, and
                                 * burrow run told so: exiting closes tap0 first (the last opened is
                                 * released first), which waits for RCU, and a container started
                                 * right after with the same -p must find its ports free. */
                                portfwd_free(h.pf);
                                slirp_cleanup(h.slirp);
                                send(ctl, "", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
                                break;
                        }
                        if (netns >= 0) {
                                start_relay(&h, o, netns);
                                close(netns);
                        }
                }
                if (r > 0 && i_tap >= 0 && h.pfds[i_tap].revents) {
                        /* everything queued, not one frame per poll */
                        for (int k = 0; k < 256; k++) {
                                ssize_t n = read(h.tap, frame, frame_size);
                                if (n <= 0)
                                        break;
                                if (h.filter_gateway && !guest_frame_allowed(&h, frame, (size_t)n))
                                        continue;
                                slirp_input(h.slirp, frame, (int)n);
                        }
                }
                slirp_pollfds_poll(h.slirp, r < 0, cb_get_revents, &h);
                if (r > 0)
                        portfwd_poll_done(h.pf, pollfd_revents, &h);
                now_ms = now_ns() / 1000000;
                for (struct timer *t = h.timers, *next; t; t = next) {
                        next = t->next; /* a callback may free its own timer */
                        if (t->expire_ms >= 0 && t->expire_ms <= now_ms) {
                                t->expire_ms = -1;
                                t->cb(t->cb_opaque);
                        }
                }
        }
        _exit(0);
}

pid_t net_slirp_start(const struct net_options *o, int *ctl, struct burrow_error **err)
{
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
                return burrow_error_set(err, errno, "socketpair for the slirp helper");
        pid_t pid = fork_tied_helper(&sv[1], 1);
        if (pid < 0) {
                int e = errno;
                close(sv[0]);
                close(sv[1]);
                return burrow_error_set(err, e, "forking the slirp helper");
        }
        if (pid == 0)
                helper_main(o, 3);
        close(sv[1]);
        *ctl = sv[0];
        return pid;
}

int net_slirp_ready(int ctl, struct burrow_error **err)
{
        struct net_report r;
        ssize_t n;
        do
                n = recv(ctl, &r, sizeof(r), 0);
        while (n < 0 && errno == EINTR);
        if (n != (ssize_t)sizeof(r))
                return burrow_error_set(err, n < 0 ? errno : 0, "the slirp helper ended before it was ready");
        if (!r.ok) {
                r.text[sizeof(r.text) - 1] = '\0';
                return burrow_error_set(err, 0, "%s", r.text);
        }
        return 0;
}

int net_slirp_send_tap(int ctl, int tap, const struct net_options *o, struct burrow_error **err)
{
        cleanup_close int netns = -1;
        if (net_ports_relayed(o) && (netns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)) < 0)
                return burrow_error_set(err, errno, "opening /proc/self/ns/net for the forwarded ports");
        int fds[2] = { tap, netns };
        if (fdpass_send(ctl, "t", 1, fds, netns >= 0 ? 2 : 1, 0) < 0)
                return burrow_error_set(err, errno, "handing tap0 to the slirp helper");
        return 0;
}

void net_slirp_stop(pid_t pid, int ctl, bool free_ports)
{
        if (ctl >= 0) {
                if (free_ports && pid > 0 && shutdown(ctl, SHUT_WR) == 0) {
                        /* the helper closes the host's ports and says so (see helper_main) */
                        struct pollfd p = { .fd = ctl, .events = POLLIN };
                        char c;
                        if (poll(&p, 1, 500) > 0 && recv(ctl, &c, 1, MSG_DONTWAIT) < 0)
                                burrow_debug("slirp helper: %s", strerror(errno));
                }
                close(ctl);
        }
        if (pid <= 0)
                return;
        /* The container is gone: nothing is left to deliver. Not waited for: its exit closes
         * the last descriptor of tap0, and unregistering a network device waits for RCU grace
         * periods (12-27 ms measured here), which burrow's caller need not sit through. Once
         * burrow exits, init (or a subreaper) reaps it. */
        kill(pid, SIGKILL);
        int status;
        waitpid(pid, &status, WNOHANG);
}
