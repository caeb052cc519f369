/* Seccomp filters (libseccomp) from profiles in Docker's and the OCI's JSON format: burrow's
 * default (Docker's), a --security-opt seccomp=FILE, or none. */
#ifndef BURROW_SANDBOX_SECCOMP_H
#define BURROW_SANDBOX_SECCOMP_H

#include <linux/filter.h>
#include <stddef.h>
#include <stdio.h>

#include "sandbox/caps.h"
#include "util/error.h"

extern const char seccomp_default_profile[];

/* A compiled filter, ready for the kernel. */
struct seccomp_program {
        struct sock_filter *insns;
        size_t len;
};

/* Compile PROFILE (JSON text; SOURCE names it in errors) for the capability set CAPS (rules with
 * includes/excludes on capabilities depend on it) and this machine's architectures. The BPF is
 * kept in CACHE_DIR (the runroot, a tmpfs) under a hash of its inputs: compiling costs
 * milliseconds, reading it back a few microseconds. CACHE_DIR may be NULL. */
int seccomp_prepare(const char *profile, const char *source, caps_mask caps, const char *cache_dir,
                    struct seccomp_program *out, struct burrow_error **err);
/* Load it into this process (no_new_privs set, or CAP_SYS_ADMIN in the user namespace held). */
int seccomp_install(const struct seccomp_program *p, struct burrow_error **err);
void seccomp_program_free(struct seccomp_program *p);
/* `burrow seccomp-profile`: the default profile, indented. */
int burrow_seccomp_profile_print(FILE *out, struct burrow_error **err);

#endif
