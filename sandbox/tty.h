/* -t: a pty from the container's own devpts, relayed by the host side. */
#ifndef BURROW_SANDBOX_TTY_H
#define BURROW_SANDBOX_TTY_H

#include <stdbool.h>
#include <termios.h>

#include "util/error.h"

/* In the container: open a pty pair from /dev/ptmx. */
int tty_open_pair(int *master, int *slave, struct burrow_error **err);
/* In the workload: new session, SLAVE as controlling terminal and stdio. */
int tty_become_controlling(int slave, struct burrow_error **err);

/* Host side: the caller's terminal in raw mode while the container runs. */
struct tty_saved {
        bool active;
        int fd;
        struct termios attrs;
};
int tty_set_raw(int fd, struct tty_saved *saved);
void tty_restore(struct tty_saved *saved);
/* Copy FROM's window size to TO (a pty master). */
void tty_copy_winsize(int from, int to);

#endif
