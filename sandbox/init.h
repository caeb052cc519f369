/* burrow's PID 1: reaps every orphan and forwards signals to the workload. */
#ifndef BURROW_SANDBOX_INIT_H
#define BURROW_SANDBOX_INIT_H

#include <signal.h>
#include <sys/types.h>

/* The signals the host side forwards and the init passes on. */
void init_forwarded_signals(sigset_t *set);

/* Wait for WORKLOAD, reaping every other child meanwhile and forwarding the signals in
 * init_forwarded_signals() (which, with SIGCHLD, must be blocked). Returns the container's exit
 * code: the workload's status, or 128+N if a signal killed it. */
int init_run(pid_t workload);

/* As a subreaper outside a PID namespace of our own (--pid=host): SIGKILL every process that
 * is (or becomes, as its parent dies) our child, until none is left. */
void init_kill_leftovers(void);

/* Exit code for a wait status, docker style. */
int init_exit_code(int status);

#endif
