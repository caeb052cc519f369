/* The kernel's share of a seccomp filter at start-up, without the noise of a whole container:
 * fork a child that attaches the filter in FILE (a compiled BPF program, as burrow caches it
 * in RUNROOT/seccomp/) and exits, N times; the same without a filter; print the difference.
 * Usage: seccomp-attach FILE [N] */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* microseconds per fork + (attach) + exit */
static double loop(const struct sock_fprog *prog, int n)
{
        double t0 = now();
        for (int i = 0; i < n; i++) {
                pid_t pid = fork();
                if (pid < 0) {
                        perror("fork");
                        exit(1);
                }
                if (pid == 0) {
                        if (prog && (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
                                     prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, prog) < 0))
                                _exit(1);
                        _exit(0);
                }
                int status;
                if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                        fprintf(stderr, "seccomp-attach: the filter did not load\n");
                        exit(1);
                }
        }
        return (now() - t0) / n * 1e6;
}

int main(int argc, char **argv)
{
        if (argc < 2) {
                fprintf(stderr, "usage: seccomp-attach FILE [N]\n");
                return 2;
        }
        int n = argc > 2 ? atoi(argv[2]) : 1000;
        int fd = open(argv[1], O_RDONLY);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0 || st.st_size % 8 != 0) {
                perror(argv[1]);
                return 1;
        }
        struct sock_filter *f = malloc((size_t)st.st_size);
        if (f == NULL || read(fd, f, (size_t)st.st_size) != st.st_size) {
                perror(argv[1]);
                return 1;
        }
        struct sock_fprog prog = { .len = (unsigned short)(st.st_size / 8), .filter = f };
        /* alternate, so that a drift of the machine's speed hits both alike */
        double with = 0, without = 0;
        for (int r = 0; r < 10; r++) {
                without += loop(NULL, n / 10);
                with += loop(&prog, n / 10);
        }
        printf("%u instructions: fork+exit %.1f us, with the filter attached %.1f us: the filter costs %.1f us\n", prog.len,
               without / 10, with / 10, (with - without) / 10);
        return 0;
}
