/* Descriptors passed over a Unix socket (SCM_RIGHTS), with a small payload. */
#ifndef BURROW_UTIL_FDPASS_H
#define BURROW_UTIL_FDPASS_H

#include <stddef.h>
#include <sys/types.h>

/* The most descriptors one message carries here. */
#define FDPASS_MAX 8

/* Send LEN bytes of DATA (at least one) with NFDS descriptors (0 to FDPASS_MAX); FLAGS go to
 * sendmsg, MSG_NOSIGNAL always. Retries on EINTR. -1 with errno. */
int fdpass_send(int sock, const void *data, size_t len, const int *fds, size_t nfds, int flags);
/* Receive up to LEN bytes into DATA and up to MAX descriptors into FDS (close-on-exec; the rest
 * of FDS -1, and any beyond MAX closed). FLAGS go to recvmsg. Retries on EINTR. Returns the
 * bytes received (0 at EOF) or -1 with errno; *NFDS (if not NULL) the descriptors received. */
ssize_t fdpass_recv(int sock, void *data, size_t len, int *fds, size_t max, size_t *nfds, int flags);

#endif
