#include "config.h"

#include "sandbox/tty.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

int tty_open_pair(int *master, int *slave, struct burrow_error **err)
{
        cleanup_close int m = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (m < 0)
                return burrow_error_set(err, errno, "open /dev/ptmx in the container");
        if (unlockpt(m) < 0)
                return burrow_error_set(err, errno, "unlockpt");
        char name[64];
        if (ptsname_r(m, name, sizeof(name)) != 0)
                return burrow_error_set(err, errno, "ptsname");
        int s = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (s < 0)
                return burrow_error_set(err, errno, "open `%s`", name);
        *slave = s;
        *master = steal_fd(&m);
        return 0;
}

int tty_become_controlling(int slave, struct burrow_error **err)
{
        /* With --no-init the workload already leads the session burrow gave it. */
        if (getsid(0) != getpid() && setsid() < 0)
                return burrow_error_set(err, errno, "setsid");
        if (ioctl(slave, TIOCSCTTY, 0) < 0)
                return burrow_error_set(err, errno, "making the pty the controlling terminal");
        for (int fd = 0; fd < 3; fd++)
                if (dup2(slave, fd) < 0)
                        return burrow_error_set(err, errno, "dup2 pty to fd %d", fd);
        if (slave > 2)
                close(slave);
        return 0;
}

int tty_set_raw(int fd, struct tty_saved *saved)
{
        saved->active = false;
        if (!isatty(fd) || tcgetattr(fd, &saved->attrs) < 0)
                return -1;
        struct termios raw = saved->attrs;
        cfmakeraw(&raw);
        if (tcsetattr(fd, TCSANOW, &raw) < 0)
                return -1;
        saved->fd = fd;
        saved->active = true;
        return 0;
}

void tty_restore(struct tty_saved *saved)
{
        if (saved->active)
                tcsetattr(saved->fd, TCSANOW, &saved->attrs);
        saved->active = false;
}

void tty_copy_winsize(int from, int to)
{
        struct winsize ws;
        if (ioctl(from, TIOCGWINSZ, &ws) == 0)
                ioctl(to, TIOCSWINSZ, &ws);
}
