#include "config.h"

#include "net/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/cleanup.h"

static int write_at(int dir, const char *name, const char *text, struct burrow_error **err)
{
        cleanup_close int fd = openat(dir, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return burrow_error_set(err, errno, "writing the container's %s", name);
        size_t len = strlen(text);
        if (write(fd, text, len) != (ssize_t)len)
                return burrow_error_set(err, errno, "writing the container's %s", name);
        return 0;
}

/* The host's search domains, as podman carries them into containers. */
static void host_search(FILE *out)
{
        FILE *f = fopen("/etc/resolv.conf", "re");
        if (f == NULL)
                return;
        char line[512];
        while (fgets(line, sizeof(line), f))
                if (strncmp(line, "search", 6) == 0 && (line[6] == ' ' || line[6] == '\t'))
                        fputs(line, out);
        fclose(f);
}

int net_write_files(int dir, enum burrow_net_mode mode, const struct net_options *o, const char *hostname,
                    struct burrow_error **err)
{
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);
        if (f == NULL)
                return burrow_error_set(err, errno, "open_memstream");
        fprintf(f, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
        if (mode == BURROW_NET_SLIRP) {
                fprintf(f, "%s\t%s\n", inet_ntoa(net_container_ip(o)), hostname);
                if (o->allow_host_loopback)
                        fprintf(f, "%s\thost.containers.internal host.docker.internal\n", inet_ntoa(net_gateway_ip(o)));
        } else {
                fprintf(f, "127.0.1.1\t%s\n", hostname);
        }
        for (size_t i = 0; i < o->n_add_hosts; i++)
                fprintf(f, "%s\n", o->add_hosts[i]);
        fclose(f);
        int r = write_at(dir, "hosts", text, err);
        free(text);
        if (r < 0)
                return -1;
        char line[300];
        snprintf(line, sizeof(line), "%s\n", hostname);
        if (write_at(dir, "hostname", line, err) < 0)
                return -1;
        if ((f = open_memstream(&text, &size)) == NULL)
                return burrow_error_set(err, errno, "open_memstream");
        if (o->n_dns_search) {
                fprintf(f, "search");
                for (size_t i = 0; i < o->n_dns_search; i++)
                        fprintf(f, " %s", o->dns_search[i]);
                fprintf(f, "\n");
        } else {
                host_search(f);
        }
        for (size_t i = 0; i < o->n_dns; i++)
                fprintf(f, "nameserver %s\n", o->dns[i]);
        /* slirp's forwarder to the host's resolvers */
        if (o->n_dns == 0 && mode == BURROW_NET_SLIRP)
                fprintf(f, "nameserver %s\n", inet_ntoa(net_dns_ip(o)));
        fclose(f);
        r = write_at(dir, "resolv.conf", text, err);
        free(text);
        return r;
}
