/* Starting the workload inside the finished container. */
#ifndef BURROW_SANDBOX_EXEC_H
#define BURROW_SANDBOX_EXEC_H

/* execve argv[0] (searched in the container's PATH from envp, as a shell would). Returns only
 * on failure: the errno-based exit code (126 or 127) with a message in *err. */
struct burrow_error;
int exec_workload(char *const *argv, char *const *envp, const char *root_name, struct burrow_error **err);

#endif
