/* Forwarded TCP ports relayed between the host's sockets and sockets in the container's network
 * namespace with splice(2) (see net/portfwd.c). Used by the slirp helper, in its poll loop. */
#ifndef BURROW_NET_PORTFWD_H
#define BURROW_NET_PORTFWD_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "net/net.h"
#include "util/error.h"

struct portfwd;

/* Connections go to CTR_IP (the container's address) in the namespace given to portfwd_enter. */
struct portfwd *portfwd_new(struct in_addr ctr_ip);
void portfwd_free(struct portfwd *pf);
/* Listen on HOST's address and port for CTR_PORT; -1 with errno (EACCES, EADDRINUSE, ...). */
int portfwd_listen(struct portfwd *pf, const struct net_port *host, uint16_t ctr_port);
/* Fork the process that makes sockets in the network namespace NETNS (a descriptor of it);
 * connections are taken from the listeners from then on. */
int portfwd_enter(struct portfwd *pf, int netns, struct burrow_error **err);
/* One round of the helper's poll loop: ADD puts a descriptor in the poll set and returns its
 * index; after poll, REVENTS gives an index's revents. */
void portfwd_poll_fill(struct portfwd *pf, int (*add)(int fd, short events, void *opaque), void *opaque);
void portfwd_poll_done(struct portfwd *pf, short (*revents)(int idx, void *opaque), void *opaque);

#endif
