/* What one `burrow run` asks for: filled by a front end, read by the runtime. */
#ifndef BURROW_SANDBOX_CONFIG_H
#define BURROW_SANDBOX_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <sys/types.h>

#include "net/net.h"
#include "userns/idmap.h"
#include "util/error.h"

struct burrow_bind {
        char *source; /* absolute host path (a volume's: filled in when the container is made) */
        char *dest;   /* absolute container path, cleaned */
        bool readonly;
        char *volume;   /* a named volume of the store (-v NAME:CTR), or NULL */
        bool anonymous; /* a volume made for the image's Volumes: removed with the container (--rm, rm -v) */
        bool device;    /* --device: SOURCE is a device node */
        bool nocopy;    /* --mount volume-nocopy: an empty volume gets no copy of the image's files */
};

struct burrow_tmpfs {
        char *dest;    /* absolute container path, cleaned */
        char *options; /* "size=64m,mode=0755"... or NULL */
};

enum burrow_seccomp_mode { BURROW_SECCOMP_DEFAULT, BURROW_SECCOMP_UNCONFINED, BURROW_SECCOMP_PROFILE };

/* --cap-add/--cap-drop, --privileged, --security-opt. */
struct burrow_security {
        uint64_t cap_add, cap_drop; /* bit N: capability N */
        bool cap_add_all, cap_drop_all;
        bool privileged;      /* every capability of the user namespace, no seccomp, no masked paths */
        bool allow_new_privs; /* --security-opt no-new-privileges=false: setuid binaries work */
        enum burrow_seccomp_mode seccomp;
        char *seccomp_profile; /* BURROW_SECCOMP_PROFILE: the profile's text, read when given */
        char *seccomp_source;  /* the file it was read from */
};

struct burrow_global {
        char *root;    /* --root: the image store (images arrive later) */
        char *runroot; /* --runroot: runtime state */
        bool no_userns_holder; /* --no-userns-holder: run newuidmap for every container */
};

struct burrow_run_config {
        char *rootfs;   /* --rootfs: host directory used as / */
        char *image;    /* or an image of the store (the first argument without --rootfs) */
        char *container; /* or a container made earlier (`burrow start`): its stored config applies */
        char *name;     /* --name of the container (image containers) */
        char *entrypoint; /* --entrypoint: replaces the image's ("" clears it) */
        bool has_entrypoint;
        char *user_name;  /* a user (and group) by name, "NAME[:GROUP]", resolved in the rootfs */
        char *storage_driver; /* --storage-driver: overlay or fuse-overlayfs (NULL: the store's) */
        enum { PULL_MISSING, PULL_ALWAYS, PULL_NEVER } pull; /* --pull */
        char **argv;    /* the workload and its arguments */
        char **env;     /* -e entries as given: KEY=VAL, or KEY (taken from burrow's environment) */
        size_t n_env;
        struct burrow_bind *binds;
        size_t n_binds;
        struct burrow_tmpfs *tmpfs; /* --tmpfs PATH[:OPTIONS] */
        size_t n_tmpfs;
        bool read_only;             /* --read-only: the rootfs (not /tmp, /dev, binds) */
        char *shm_size;             /* --shm-size: tmpfs size of /dev/shm ("64m"); NULL: 64 MiB */
        struct burrow_ulimit {
                int resource;       /* RLIMIT_* */
                unsigned long long soft, hard;
        } ulimits[16];              /* --ulimit NAME=SOFT[:HARD] */
        size_t n_ulimits;
        char *workdir;  /* -w, inside the container */
        char *hostname; /* --hostname; NULL: the short container ID */
        bool has_user;
        uid_t uid; /* -u UID[:GID] */
        gid_t gid;
        bool has_gid;
        bool interactive; /* -i */
        bool tty;         /* -t */
        bool init;        /* PID 1 is burrow's init (default) rather than the workload */
        bool remove;      /* --rm (rootfs containers keep no state after exit in any case) */
        bool detach;      /* -d: the caller forked a supervisor; see ready_fd */
        bool uts_host;    /* --uts=host: the host's hostname, no UTS namespace */
        bool ipc_host;    /* --ipc=host: the host's System V IPC and POSIX message queues */
        bool pid_host;    /* --pid=host: the host's PID namespace (and its /proc, bound) */
        int ready_fd;     /* -d: gets "ID\n" once the container's output goes to its log (-1: none) */
        enum burrow_net_mode net;
        bool net_given;          /* --net was given (else a host without /dev/net/tun falls back to none) */
        struct net_options netopts; /* slirp's network, -p, --dns, --dns-search, --add-host */
        enum userns_mode userns; /* --userns */
        gid_t *group_add;        /* --group-add */
        size_t n_group_add;
        struct burrow_security security;
};

/* --security-opt seccomp=FILE|unconfined, no-new-privileges[=true|false] (also docker's
 * no-new-privileges:true spelling). */
int burrow_security_opt_parse(const char *spec, struct burrow_security *sec, struct burrow_error **err);
/* --cap-add / --cap-drop NAME (with or without CAP_, any case; ALL). */
int burrow_cap_option(const char *name, bool add, struct burrow_security *sec, struct burrow_error **err);

void burrow_run_config_init(struct burrow_run_config *cfg);
void burrow_run_config_free(struct burrow_run_config *cfg);

/* -v HOST:CTR[:ro|rw]. HOST must be absolute or start with "./" or "../" (made absolute here);
 * otherwise it is the name of a volume. */
int burrow_bind_parse(const char *spec, struct burrow_bind *out, struct burrow_error **err);
/* --mount type=bind|volume|tmpfs,source=...,target=...[,readonly][,tmpfs-size=N][,tmpfs-mode=M]
 * [,volume-nocopy]: appended to CFG's binds or tmpfs. */
int burrow_mount_parse(const char *spec, struct burrow_run_config *cfg, struct burrow_error **err);
/* --device HOST[:CTR[:PERMS]]: a device node the caller can open, bound at CTR (default HOST). */
int burrow_device_parse(const char *spec, struct burrow_bind *out, struct burrow_error **err);
/* A volume name: [A-Za-z0-9][A-Za-z0-9_.-]*, as docker allows. */
bool burrow_volume_name_valid(const char *name);
int burrow_bind_append(struct burrow_run_config *cfg, struct burrow_bind *b, struct burrow_error **err);
void burrow_bind_free(struct burrow_bind *b);
/* -u UID[:GID], numeric. */
int burrow_user_parse(const char *spec, uid_t *uid, gid_t *gid, bool *has_gid, struct burrow_error **err);
/* --ulimit NAME=SOFT[:HARD] (docker's names: nofile, nproc, core, stack, ...; -1: unlimited). */
int burrow_ulimit_parse(const char *spec, struct burrow_ulimit *out, struct burrow_error **err);
/* --shm-size: a number with an optional b, k, m or g. */
int burrow_size_check(const char *text, const char *option, struct burrow_error **err);
/* --tmpfs PATH[:OPTIONS]: PATH absolute; OPTIONS tmpfs's own (size=, mode=, nr_inodes=...). */
int burrow_tmpfs_parse(const char *spec, struct burrow_tmpfs *out, struct burrow_error **err);
/* --env-file FILE: docker's format, one KEY=VAL (or KEY) per line, # comments and blank lines
 * skipped, no quoting; entries appended to *env in order. */
int burrow_env_file_read(const char *path, char ***env, size_t *n, struct burrow_error **err);
/* -e KEY=VAL or KEY; KEY must be non-empty and contain no '='. */
int burrow_env_check(const char *entry, struct burrow_error **err);

/* The workload's environment, docker style: PATH, HOSTNAME, HOME (and TERM with -t), then the
 * -e entries in order (later ones win; KEY alone copies burrow's own value or is dropped). */
char **burrow_build_env(const struct burrow_run_config *cfg, const char *hostname, struct burrow_error **err);
/* What a container made from an image runs, kept in its config.json ("run") so that `start`
 * and `exec` see the same thing: the command, environment (KEY alone resolved now), user,
 * mounts, limits and namespaces. Runtime choices (-d, the image reference, --pull) are not kept. */
json_t *burrow_run_config_to_json(const struct burrow_run_config *cfg);
/* Fills CFG (initialised by the caller) from such an object. */
int burrow_run_config_from_json(json_t *j, struct burrow_run_config *cfg, struct burrow_error **err);

/* Value of KEY in an envp array, or NULL. */
const char *env_lookup(char *const *envp, const char *key);

#define BURROW_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

#endif
