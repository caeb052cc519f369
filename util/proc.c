#include "config.h"

#include "util/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define KEEP_MAX 16

pid_t fork_tied_helper(const int *keep, size_t n)
{
        if (n > KEEP_MAX) {
                errno = EINVAL;
                return -1;
        }
        fflush(NULL);
        pid_t parent = getpid();
        pid_t pid = fork();
        if (pid != 0)
                return pid;
        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        if (getppid() != parent)
                _exit(1);
        /* copies above every target first: a descriptor to keep may sit where another goes */
        int high[KEEP_MAX];
        for (size_t i = 0; i < n; i++)
                if ((high[i] = fcntl(keep[i], F_DUPFD_CLOEXEC, 3 + KEEP_MAX)) < 0)
                        _exit(1);
        for (size_t i = 0; i < n; i++)
                if (dup2(high[i], 3 + (int)i) < 0)
                        _exit(1);
        /* nothing else of the parent's stays open (its locks, its store, other helpers' ends) */
        unsigned first = 3 + (unsigned)n;
        if (syscall(SYS_close_range, first, ~0U, 0U) < 0)
                for (int fd = (int)first; fd < 1024; fd++)
                        close(fd);
        return 0;
}
