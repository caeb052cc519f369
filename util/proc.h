/* Helper processes of burrow's own (no exec). */
#ifndef BURROW_UTIL_PROC_H
#define BURROW_UTIL_PROC_H

#include <stddef.h>
#include <sys/types.h>

/* fork() for a helper that dies with its parent. In the child (0 returned) PR_SET_PDEATHSIG is
 * SIGKILL (the child exits at once if the parent is already gone) and only KEEP[0..N) are
 * open, as descriptors 3, 4, ... in that order (N at most 16). The parent gets the pid, or -1
 * with errno. */
pid_t fork_tied_helper(const int *keep, size_t n);

#endif
