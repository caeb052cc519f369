#include "config.h"

#include "sandbox/init.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/wait.h>

void init_forwarded_signals(sigset_t *set)
{
        sigemptyset(set);
        sigaddset(set, SIGINT);
        sigaddset(set, SIGTERM);
        sigaddset(set, SIGHUP);
        sigaddset(set, SIGQUIT);
        sigaddset(set, SIGUSR1);
        sigaddset(set, SIGUSR2);
}

int init_exit_code(int status)
{
        if (WIFEXITED(status))
                return WEXITSTATUS(status);
        if (WIFSIGNALED(status))
                return 128 + WTERMSIG(status);
        return 255;
}

int init_run(pid_t workload)
{
        /* The caller made us non-dumpable before forking the workload: it cannot open
         * /proc/1/exe (the host's burrow binary) nor ptrace PID 1. */
        prctl(PR_SET_NAME, "burrow-init", 0, 0, 0);

        sigset_t waited;
        init_forwarded_signals(&waited);
        sigaddset(&waited, SIGCHLD);
        for (;;) {
                siginfo_t si;
                int sig = sigwaitinfo(&waited, &si);
                if (sig < 0) {
                        if (errno == EINTR)
                                continue;
                        return 125;
                }
                if (sig != SIGCHLD) {
                        kill(workload, sig);
                        continue;
                }
                for (;;) {
                        int status;
                        pid_t pid = waitpid(-1, &status, WNOHANG);
                        if (pid <= 0)
                                break;
                        /* The container ends with its workload, as with docker --init; the
                         * kernel kills what is left when PID 1 exits. */
                        if (pid == workload)
                                return init_exit_code(status);
                }
        }
}

void init_kill_leftovers(void)
{
        char path[64];
        snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)getpid());
        for (int round = 0; round < 1000; round++) {
                FILE *f = fopen(path, "re");
                bool any = false;
                if (f) {
                        long pid;
                        while (fscanf(f, "%ld", &pid) == 1) {
                                kill((pid_t)pid, SIGKILL);
                                any = true;
                        }
                        fclose(f);
                }
                /* reap what died; orphans of the dead become ours and show up next round */
                int status;
                pid_t got;
                while ((got = waitpid(-1, &status, WNOHANG)) > 0)
                        ;
                if (!any && got < 0 && errno == ECHILD)
                        return;
                struct timespec ts = { 0, 1000000 };
                nanosleep(&ts, NULL);
        }
}
