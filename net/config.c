#include "config.h"

#include "net/net.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void net_options_init(struct net_options *o)
{
        memset(o, 0, sizeof(*o));
        inet_pton(AF_INET, "10.0.2.0", &o->network);
        inet_pton(AF_INET, "255.255.255.0", &o->netmask);
        o->mtu = 65520;
        o->enable_ipv6 = true;
}

static void free_strv(char **v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

void net_options_free(struct net_options *o)
{
        free(o->ports);
        free_strv(o->dns, o->n_dns);
        free_strv(o->dns_search, o->n_dns_search);
        free_strv(o->add_hosts, o->n_add_hosts);
        net_options_init(o);
}

static int copy_strv(char ***dst, size_t *n_dst, char *const *src, size_t n)
{
        *dst = NULL;
        *n_dst = 0;
        if (n == 0)
                return 0;
        if ((*dst = calloc(n, sizeof(char *))) == NULL)
                return -1;
        for (size_t i = 0; i < n; i++) {
                if (((*dst)[i] = strdup(src[i])) == NULL)
                        return -1;
                *n_dst = i + 1;
        }
        return 0;
}

int net_options_copy(struct net_options *dst, const struct net_options *src, struct burrow_error **err)
{
        *dst = *src;
        dst->ports = NULL;
        dst->n_ports = 0;
        if (src->n_ports) {
                if ((dst->ports = malloc(src->n_ports * sizeof(*dst->ports))) == NULL)
                        return burrow_error_set(err, ENOMEM, "ports");
                memcpy(dst->ports, src->ports, src->n_ports * sizeof(*dst->ports));
                dst->n_ports = src->n_ports;
        }
        if (copy_strv(&dst->dns, &dst->n_dns, src->dns, src->n_dns) < 0 ||
            copy_strv(&dst->dns_search, &dst->n_dns_search, src->dns_search, src->n_dns_search) < 0 ||
            copy_strv(&dst->add_hosts, &dst->n_add_hosts, src->add_hosts, src->n_add_hosts) < 0)
                return burrow_error_set(err, ENOMEM, "network options");
        return 0;
}

static bool parse_bool(const char *v, bool *out)
{
        if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0) {
                *out = true;
                return true;
        }
        if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0) {
                *out = false;
                return true;
        }
        return false;
}

static int parse_cidr(const char *v, struct net_options *o, struct burrow_error **err)
{
        char addr[INET_ADDRSTRLEN];
        const char *slash = strchr(v, '/');
        char *end;
        long bits = slash ? strtol(slash + 1, &end, 10) : -1;
        if (slash == NULL || (size_t)(slash - v) >= sizeof(addr) || *end != '\0' || bits < 8 || bits > 25)
                return burrow_error_set(err, 0, "--net=slirp: cidr=`%s` is not an IPv4 network of /8 to /25 (e.g. 10.0.2.0/24)", v);
        memcpy(addr, v, (size_t)(slash - v));
        addr[slash - v] = '\0';
        struct in_addr a;
        if (inet_pton(AF_INET, addr, &a) != 1)
                return burrow_error_set(err, 0, "--net=slirp: cidr=`%s`: `%s` is not an IPv4 address", v, addr);
        uint32_t mask = bits == 0 ? 0 : 0xffffffffu << (32 - bits);
        if ((ntohl(a.s_addr) & ~mask) != 0)
                return burrow_error_set(err, 0, "--net=slirp: cidr=`%s` has host bits set (did you mean %s/%ld?)", v,
                                        inet_ntoa((struct in_addr){ htonl(ntohl(a.s_addr) & mask) }), bits);
        o->network = a;
        o->netmask.s_addr = htonl(mask);
        return 0;
}

int net_mode_parse(const char *text, enum burrow_net_mode *mode, struct net_options *o, struct burrow_error **err)
{
        if (strcmp(text, "none") == 0) {
                *mode = BURROW_NET_NONE;
                return 0;
        }
        if (strcmp(text, "host") == 0) {
                *mode = BURROW_NET_HOST;
                return 0;
        }
        if (strncmp(text, "slirp", 5) != 0 || (text[5] != '\0' && text[5] != ':'))
                return burrow_error_set(err, 0, "unknown network mode `%s` (use --net=slirp, --net=none or --net=host)", text);
        *mode = BURROW_NET_SLIRP;
        if (text[5] == '\0' || o == NULL)
                return 0;
        char *opts = strdup(text + 6);
        if (opts == NULL)
                return burrow_error_set(err, ENOMEM, "--net");
        int r = 0;
        char *save = NULL;
        for (char *tok = strtok_r(opts, ",", &save); r == 0 && tok; tok = strtok_r(NULL, ",", &save)) {
                char *eq = strchr(tok, '=');
                if (eq == NULL) {
                        r = burrow_error_set(err, 0, "--net=slirp: `%s` is not KEY=VALUE (cidr, mtu, allow_host_loopback, "
                                                     "enable_ipv6, port_handler)",
                                             tok);
                        break;
                }
                *eq = '\0';
                const char *v = eq + 1;
                if (strcmp(tok, "cidr") == 0) {
                        r = parse_cidr(v, o, err);
                } else if (strcmp(tok, "mtu") == 0) {
                        char *end;
                        long mtu = strtol(v, &end, 10);
                        if (*v == '\0' || *end != '\0' || mtu < 1280 || mtu > 65520)
                                r = burrow_error_set(err, 0, "--net=slirp: mtu=`%s` must be a number from 1280 to 65520", v);
                        else
                                o->mtu = (unsigned)mtu;
                } else if (strcmp(tok, "allow_host_loopback") == 0) {
                        if (!parse_bool(v, &o->allow_host_loopback))
                                r = burrow_error_set(err, 0, "--net=slirp: allow_host_loopback is true or false, not `%s`", v);
                } else if (strcmp(tok, "enable_ipv6") == 0) {
                        if (!parse_bool(v, &o->enable_ipv6))
                                r = burrow_error_set(err, 0, "--net=slirp: enable_ipv6 is true or false, not `%s`", v);
                } else if (strcmp(tok, "port_handler") == 0) {
                        if (strcmp(v, "splice") == 0 || strcmp(v, "slirp") == 0)
                                o->slirp_port_handler = strcmp(v, "slirp") == 0;
                        else
                                r = burrow_error_set(err, 0, "--net=slirp: port_handler is splice (the default) or slirp, not `%s`", v);
                } else {
                        r = burrow_error_set(err, 0, "--net=slirp: unknown option `%s` (cidr, mtu, allow_host_loopback, "
                                                     "enable_ipv6, port_handler)",
                                             tok);
                }
        }
        free(opts);
        return r;
}

const char *net_mode_name(enum burrow_net_mode mode)
{
        return mode == BURROW_NET_HOST ? "host" : mode == BURROW_NET_SLIRP ? "slirp" : "none";
}

/* "80" or "8000-8010" */
static int parse_range(const char *text, long *lo, long *hi)
{
        char *end;
        *lo = strtol(text, &end, 10);
        if (end == text)
                return -1;
        *hi = *lo;
        if (*end == '-') {
                const char *h = end + 1;
                *hi = strtol(h, &end, 10);
                if (end == h)
                        return -1;
        }
        if (*end != '\0' || *lo < 1 || *hi > 65535 || *lo > *hi)
                return -1;
        return 0;
}

int net_port_parse(const char *spec, struct net_options *o, struct burrow_error **err)
{
        static const char usage[] =
                "expected [HOSTIP:]HOSTPORT:CTRPORT[/tcp|/udp], e.g. 8080:80, 127.0.0.1:5353:53/udp or [::1]:8080:80";
        char buf[128];
        if (strlen(spec) >= sizeof(buf))
                return burrow_error_set(err, 0, "-p `%s`: too long; %s", spec, usage);
        strcpy(buf, spec);
        bool udp = false;
        char *proto = strchr(buf, '/');
        if (proto) {
                *proto++ = '\0';
                if (strcmp(proto, "udp") == 0)
                        udp = true;
                else if (strcmp(proto, "tcp") != 0)
                        return burrow_error_set(err, 0, "-p `%s`: protocol `%s` is neither tcp nor udp", spec, proto);
        }
        /* HOSTIP:HOSTPORT:CTRPORT or HOSTPORT:CTRPORT (a lone CTRPORT would need a port
         * picked for the host, which docker prints with `docker port`: not supported); an IPv6
         * HOSTIP in brackets, its colons its own */
        struct net_port host = { .v6 = false };
        inet_pton(AF_INET, "127.0.0.1", &host.host_ip);
        char *rest = buf;
        if (buf[0] == '[') {
                char *close = strchr(buf, ']');
                if (close == NULL || close[1] != ':')
                        return burrow_error_set(err, 0, "-p `%s`: %s", spec, usage);
                *close = '\0';
                if (inet_pton(AF_INET6, buf + 1, &host.host_ip6) != 1)
                        return burrow_error_set(err, 0, "-p `%s`: `%s` is not an IPv6 address", spec, buf + 1);
                host.v6 = true;
                rest = close + 2;
        }
        char *parts[3];
        int n = 0;
        char *save = NULL;
        for (char *t = strtok_r(rest, ":", &save); t && n < 3; t = strtok_r(NULL, ":", &save))
                parts[n++] = t;
        if (n < 2 || strtok_r(NULL, ":", &save) != NULL || (host.v6 && n != 2))
                return burrow_error_set(err, 0, "-p `%s`: %s", spec, usage);
        if (n == 3 && inet_pton(AF_INET, parts[0], &host.host_ip) != 1)
                return burrow_error_set(err, 0, "-p `%s`: `%s` is not an IPv4 address of this host (IPv6 in brackets: [::1])",
                                        spec, parts[0]);
        long hlo, hhi, clo, chi;
        if (parse_range(parts[n - 2], &hlo, &hhi) < 0 || parse_range(parts[n - 1], &clo, &chi) < 0)
                return burrow_error_set(err, 0, "-p `%s`: ports are numbers from 1 to 65535 (or ranges LOW-HIGH); %s", spec,
                                        usage);
        if (hhi - hlo != chi - clo)
                return burrow_error_set(err, 0, "-p `%s`: the host range has %ld ports, the container's %ld", spec, hhi - hlo + 1,
                                        chi - clo + 1);
        size_t count = (size_t)(hhi - hlo + 1);
        struct net_port *bigger = realloc(o->ports, (o->n_ports + count) * sizeof(*bigger));
        if (bigger == NULL)
                return burrow_error_set(err, ENOMEM, "-p");
        o->ports = bigger;
        for (size_t i = 0; i < count; i++) {
                for (size_t k = 0; k < o->n_ports; k++)
                        if (o->ports[k].host_port == hlo + (long)i && o->ports[k].udp == udp && o->ports[k].v6 == host.v6 &&
                            (host.v6 ? memcmp(&o->ports[k].host_ip6, &host.host_ip6, sizeof(host.host_ip6)) == 0
                                     : o->ports[k].host_ip.s_addr == host.host_ip.s_addr))
                                return burrow_error_set(err, 0, "-p `%s`: host port %ld/%s is forwarded twice", spec,
                                                        hlo + (long)i, udp ? "udp" : "tcp");
                o->ports[o->n_ports++] = (struct net_port){ .v6 = host.v6,
                                                            .host_ip = host.host_ip,
                                                            .host_ip6 = host.host_ip6,
                                                            .host_port = (uint16_t)(hlo + (long)i),
                                                            .ctr_port = (uint16_t)(clo + (long)i),
                                                            .udp = udp };
        }
        return 0;
}

static int append(char ***v, size_t *n, const char *s, struct burrow_error **err)
{
        char **bigger = realloc(*v, (*n + 1) * sizeof(char *));
        if (bigger == NULL)
                return burrow_error_set(err, ENOMEM, "network option");
        *v = bigger;
        if ((bigger[*n] = strdup(s)) == NULL)
                return burrow_error_set(err, ENOMEM, "network option");
        (*n)++;
        return 0;
}

int net_dns_add(const char *ip, struct net_options *o, struct burrow_error **err)
{
        unsigned char buf[sizeof(struct in6_addr)];
        if (inet_pton(AF_INET, ip, buf) != 1 && inet_pton(AF_INET6, ip, buf) != 1)
                return burrow_error_set(err, 0, "--dns `%s` is not an IP address", ip);
        return append(&o->dns, &o->n_dns, ip, err);
}

static bool valid_name(const char *s)
{
        if (*s == '\0' || strlen(s) > 253)
                return false;
        for (const char *p = s; *p; p++)
                if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.' && *p != '_')
                        return false;
        return true;
}

int net_dns_search_add(const char *domain, struct net_options *o, struct burrow_error **err)
{
        if (!valid_name(domain))
                return burrow_error_set(err, 0, "--dns-search `%s` is not a domain name", domain);
        return append(&o->dns_search, &o->n_dns_search, domain, err);
}

int net_add_host_parse(const char *spec, struct net_options *o, struct burrow_error **err)
{
        /* NAME:IP, the IP possibly IPv6 (docker also takes NAME=IP) */
        const char *sep = strpbrk(spec, ":=");
        if (sep == NULL || sep == spec || sep[1] == '\0')
                return burrow_error_set(err, 0, "--add-host `%s`: expected NAME:IP", spec);
        char name[256];
        size_t len = (size_t)(sep - spec);
        if (len >= sizeof(name))
                return burrow_error_set(err, 0, "--add-host `%s`: the name is too long", spec);
        memcpy(name, spec, len);
        name[len] = '\0';
        const char *ip = sep + 1;
        unsigned char buf[sizeof(struct in6_addr)];
        if (!valid_name(name))
                return burrow_error_set(err, 0, "--add-host `%s`: `%s` is not a host name", spec, name);
        if (inet_pton(AF_INET, ip, buf) != 1 && inet_pton(AF_INET6, ip, buf) != 1)
                return burrow_error_set(err, 0, "--add-host `%s`: `%s` is not an IP address", spec, ip);
        char line[320];
        snprintf(line, sizeof(line), "%s\t%s", ip, name);
        return append(&o->add_hosts, &o->n_add_hosts, line, err);
}

static struct in_addr host_in_net(const struct net_options *o, uint32_t host)
{
        return (struct in_addr){ htonl((ntohl(o->network.s_addr) & ntohl(o->netmask.s_addr)) | host) };
}

struct in_addr net_container_ip(const struct net_options *o)
{
        return host_in_net(o, 100);
}

struct in_addr net_gateway_ip(const struct net_options *o)
{
        return host_in_net(o, 2);
}

struct in_addr net_dns_ip(const struct net_options *o)
{
        return host_in_net(o, 3);
}

bool net_ports_relayed(const struct net_options *o)
{
        if (o->slirp_port_handler)
                return false;
        for (size_t i = 0; i < o->n_ports; i++)
                if (!o->ports[i].udp)
                        return true;
        return false;
}

socklen_t net_port_host_addr(const struct net_port *p, struct sockaddr_storage *ss)
{
        memset(ss, 0, sizeof(*ss));
        if (p->v6) {
                struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
                s6->sin6_family = AF_INET6;
                s6->sin6_addr = p->host_ip6;
                s6->sin6_port = htons(p->host_port);
                return sizeof(*s6);
        }
        struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
        s4->sin_family = AF_INET;
        s4->sin_addr = p->host_ip;
        s4->sin_port = htons(p->host_port);
        return sizeof(*s4);
}

const char *net_port_host_text(const struct net_port *p, char buf[INET6_ADDRSTRLEN])
{
        if (p->v6)
                inet_ntop(AF_INET6, &p->host_ip6, buf, INET6_ADDRSTRLEN);
        else
                inet_ntop(AF_INET, &p->host_ip, buf, INET6_ADDRSTRLEN);
        return buf;
}
