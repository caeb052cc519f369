#include "config.h"

#include "sandbox/cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <fcntl.h>

#include "sandbox/attach.h"
#include "sandbox/cp.h"
#include "sandbox/enter.h"
#include "sandbox/imagectr.h"
#include "sandbox/info.h"
#include "sandbox/runroot.h"
#include "sandbox/seccomp.h"
#include "sandbox/run.h"
#include "sandbox/unshare.h"
#include "fs/store.h"
#include "util/log.h"
#include "util/settings.h"

static const char overview[] =
        "Usage: burrow [GLOBAL OPTIONS] VERB [OPTIONS] [ARGS]\n"
        "\n"
        "Rootless containers: no setuid binary, no daemon, no root.\n"
        "\n"
        "Verbs:\n"
        "  run       run a command in a new container (from an image, or --rootfs DIR)\n"
        "  create    make a container from an image without starting it\n"
        "  start     start a created or stopped container (-a: in the foreground)\n"
        "  exec      run a command in a running container\n"
        "  attach    connect your terminal to a container started with -t\n"
        "  commit    make an image of a container's changes\n"
        "  export    write a container's file tree as a tar\n"
        "  cp        copy files between a container and the host\n"
        "  volume    volume create|ls|inspect|rm|prune: directories that outlive containers\n"
        "  ps        list containers (-a: also those not running)\n"
        "  rm        remove containers\n"
        "  stop      stop running containers (SIGTERM, then SIGKILL)\n"
        "  kill      send a signal to running containers\n"
        "  wait      wait for containers to stop; print their exit codes\n"
        "  logs      print the output of a container run with -d\n"
        "  info      show what this host supports and how to fix what is missing\n"
        "  unshare   run a command in a user namespace mapped as burrow maps containers\n"
        "  seccomp-profile  print the built-in seccomp profile (a start for --security-opt seccomp=FILE)\n"
        "  import    make an image from a rootfs tarball\n"
        "  load      load images from a docker-archive, oci-archive or OCI layout\n"
        "  pull      pull an image from a registry\n"
        "  save      write an image as a docker-archive or oci-archive\n"
        "  push      upload an image to a registry\n"
        "  login     keep credentials for a registry (logout forgets them)\n"
        "  images    list images (also: image ls)\n"
        "  tag       give an image another name\n"
        "  rmi       remove images (also: image rm)\n"
        "  inspect   show a container or an image as JSON\n"
        "  history   show how an image was made\n"
        "  image     image ls|rm|inspect|history|tag|import|load|pull|prune\n"
        "  system    system reset|migrate: remove the whole store, or re-own it after a new range\n"
        "  help      show help for a verb\n"
        "  version   show burrow's version\n"
        "\n"
        "Global options:\n"
        "  --root DIR         image store (default $XDG_DATA_HOME/burrow)\n"
        "  --runroot DIR      runtime state (default $XDG_RUNTIME_DIR/burrow, else /tmp/burrow-$UID)\n"
        "  --log-level LEVEL  error, warn (default), info or debug\n"
        "  --no-userns-holder run newuidmap/newgidmap for every container instead of keeping a\n"
        "                     burrow-userns process that holds your ranged user namespace\n"
        "  --version          show the version\n"
        "  -h, --help         show this help\n"
        "\n"
        "Run `burrow help VERB` for a verb's options.\n";

static const char run_help[] =
        "Usage: burrow run [OPTIONS] IMAGE [CMD [ARG...]]\n"
        "       burrow run --rootfs DIR [OPTIONS] [--] CMD [ARG...]\n"
        "\n"
        "Run CMD in new user, mount, PID, UTS, IPC and network namespaces, in a container made from\n"
        "IMAGE (its layers under a writable one, assembled with kernel overlayfs; the image's Env,\n"
        "Entrypoint, Cmd, WorkingDir and User apply) or with DIR as its root. Options stop at the\n"
        "first argument that is not one (CMD's own options are left alone).\n"
        "\n"
        "Options:\n"
        "  --rootfs DIR              directory to use as the container's / (instead of IMAGE)\n"
        "  --name NAME               name of the container (default: a generated one)\n"
        "  --entrypoint CMD          replace the image's entrypoint (\"\" clears it)\n"
        "  --storage-driver DRIVER   overlay (kernel overlayfs), fuse-overlayfs or vfs (a full copy;\n"
        "                            the last resort); default: the store's, probed once\n"
        "  --pull POLICY             missing (default: pull IMAGE if the store lacks it), always, never\n"
        "  -v, --volume HOST:CTR[:ro]  bind-mount HOST (absolute, or starting with ./) at CTR\n"
        "  -v, --volume NAME:CTR[:ro]  mount the volume NAME at CTR (made if missing; an empty one\n"
        "                            first gets what the image has at CTR)\n"
        "  --mount type=TYPE,...     type=bind,source=HOST,target=CTR[,readonly]; type=volume[,source=\n"
        "                            NAME],target=CTR[,readonly][,volume-nocopy]; type=tmpfs,target=\n"
        "                            CTR[,tmpfs-size=N][,tmpfs-mode=M]\n"
        "  --device HOST[:CTR]       bind the device node HOST (one you can open) at CTR\n"
        "  -e, --env KEY=VAL|KEY     set an environment variable (KEY alone copies burrow's)\n"
        "  --env-file FILE           read KEY=VAL lines from FILE (# comments), in order with -e\n"
        "  -w, --workdir DIR         working directory inside (created if missing)\n"
        "  --tmpfs PATH[:OPTS]       mount a fresh tmpfs at PATH (OPTS: size=64m,mode=0755...)\n"
        "  --read-only               mount the root filesystem read-only (/tmp, /dev, binds stay)\n"
        "  --shm-size SIZE           size of /dev/shm (default 64m)\n"
        "  --ulimit NAME=SOFT[:HARD] set a resource limit (nofile, nproc, core, stack...; -1: unlimited)\n"
        "  --hostname NAME           container hostname (default: the short container ID)\n"
        "  -u, --user USER[:GROUP]   run as USER (and GROUP, default 0): numbers, or names from the\n"
        "                            container's /etc/passwd and /etc/group; must be mapped\n"
        "  -i, --interactive         pass stdin to the container (otherwise it reads /dev/null)\n"
        "  -t, --tty                 give the container a pseudo-terminal\n"
        "  --init / --no-init        PID 1 is burrow's init (default), or CMD itself\n"
        "  --cap-add CAP, --cap-drop CAP  add or drop a capability (NET_ADMIN, CAP_SYS_PTRACE, ALL) from\n"
        "                            the default set (Docker's: CHOWN DAC_OVERRIDE FOWNER FSETID KILL\n"
        "                            SETGID SETUID SETPCAP SETFCAP NET_BIND_SERVICE NET_RAW SYS_CHROOT\n"
        "                            MKNOD AUDIT_WRITE); all of them are the user namespace's only\n"
        "  --privileged              every capability of the user namespace, no seccomp filter, no\n"
        "                            masked /proc and /sys paths (still no host root: nothing more)\n"
        "  --security-opt OPT        seccomp=FILE (a Docker/OCI JSON profile), seccomp=unconfined,\n"
        "                            no-new-privileges=false (setuid programs inside may gain IDs)\n"
        "  --net, --network MODE     slirp (default: user-mode NAT; the host's 127.0.0.1 stays out of\n"
        "                            reach), slirp:cidr=10.0.2.0/24,mtu=65520,allow_host_loopback=true,\n"
        "                            enable_ipv6=false,port_handler=slirp (-p through libslirp: slower, the\n"
        "                            server sees 10.0.2.2, not 10.0.2.100), none (loopback only) or host\n"
        "                            (the host's network)\n"
        "  -p, --publish [HOSTIP:]HOSTPORT:CTRPORT[/tcp|/udp]  forward a host port (or a range LOW-HIGH) to\n"
        "                            the container (IPv6 in brackets: [::1]:8080:80); HOSTIP defaults to\n"
        "                            127.0.0.1, since on a shared machine 0.0.0.0 would open the\n"
        "                            container to every other user: give 0.0.0.0:8080:80 to expose it\n"
        "                            on purpose\n"
        "  --dns IP, --dns-search DOMAIN, --add-host NAME:IP  shape /etc/resolv.conf and /etc/hosts\n"
        "  --uts host|private        share the host's hostname (default: private)\n"
        "  --ipc host|private        share the host's System V IPC and message queues (default: private)\n"
        "  --pid host|private        share the host's processes (default: private); the container's\n"
        "                            leftover processes are killed when its command exits (with --init)\n"
        "  --userns MODE             auto (default: your subordinate ID range if you have one, else a\n"
        "                            single-ID map), single, or keep-id (your UID/GID inside = yours outside)\n"
        "  --group-add GID           add a supplementary group (repeatable; needs a GID range)\n"
        "  -d, --detach              run in the background: print the container's ID and return;\n"
        "                            its output goes to its log (burrow logs); with -t (and -i),\n"
        "                            `burrow attach` reaches its terminal\n"
        "  --rm                      remove the container and its writable layer when it exits\n"
        "                            (--rootfs runs keep nothing in any case)\n"
        "  -h, --help                show this help\n"
        "\n"
        "Exit status: CMD's status; 128+N if a signal N killed it; 125 if burrow failed;\n"
        "126 if CMD cannot be executed; 127 if CMD was not found.\n";

static const char info_help[] =
        "Usage: burrow info\n"
        "\n"
        "Show the kernel, user namespaces, subordinate ID ranges, the ID mapping burrow will use,\n"
        "/dev/fuse, kernel overlay in a user namespace, fuse-overlayfs, cgroups and /dev/net/tun,\n"
        "each with the command that would fix a missing piece.\n";

static const char unshare_help[] =
        "Usage: burrow unshare [CMD [ARG...]]\n"
        "\n"
        "Run CMD (default: $SHELL) as UID 0 in a new user and mount namespace with the ID mapping\n"
        "burrow gives containers (your subordinate range when you have one), keeping your files,\n"
        "working directory and environment: for looking at or removing files that belong to\n"
        "subordinate IDs. Exit status: CMD's.\n";

static const char create_help[] =
        "Usage: burrow create [OPTIONS] IMAGE [CMD [ARG...]]\n"
        "\n"
        "Make a container from IMAGE as `burrow run` would, without starting it, and print its ID.\n"
        "Takes run's options (see `burrow help run`) except -d and --rootfs; `burrow start` runs it.\n";

static const char start_help[] =
        "Usage: burrow start [-a [-i]] CONTAINER...\n"
        "\n"
        "Start containers made by `burrow create`, or stopped ones, with the command, options and\n"
        "writable layer they were made with. Without -a each runs in the background (its output\n"
        "goes to `burrow logs`) and its name, as given, is printed.\n"
        "\n"
        "  -a, --attach       stay with the container: its output here, its exit status as ours\n"
        "  -i, --interactive  with -a: pass stdin (for containers made with -i)\n";

static const char exec_help[] =
        "Usage: burrow exec [OPTIONS] CONTAINER CMD [ARG...]\n"
        "\n"
        "Run CMD in a running container: in its namespaces, as its user, in its working directory\n"
        "and with its environment, unless the options say otherwise. Exit status: CMD's.\n"
        "\n"
        "  -i, --interactive         pass stdin to CMD (otherwise it reads /dev/null)\n"
        "  -t, --tty                 give CMD a pseudo-terminal\n"
        "  -e, --env KEY=VAL|KEY     set an environment variable\n"
        "  -u, --user USER[:GROUP]   run as USER (numbers, or names from the container's files)\n"
        "  -w, --workdir DIR         working directory inside\n";

static const char cp_help[] =
        "Usage: burrow cp CONTAINER:PATH HOSTPATH|-\n"
        "       burrow cp HOSTPATH|- CONTAINER:PATH\n"
        "\n"
        "Copy files between a container (running or not) and the host, as docker cp does: a\n"
        "destination that is an existing directory receives the source inside it, otherwise the\n"
        "source is copied to that name; a source ending in /. copies a directory's contents. `-`\n"
        "reads or writes a tar stream. Copied into a container, files belong to its root; copied\n"
        "out, to you.\n";

static const char attach_help[] =
        "Usage: burrow attach [--detach-keys KEYS] [--no-stdin] CONTAINER\n"
        "\n"
        "Connect your terminal to a running container started with -t (run -dit, start): its output\n"
        "here, your typing to it, window size changes passed on. KEYS (default ctrl-p,ctrl-q) detach\n"
        "and leave it running. Exit status: the container's, when it ends while attached.\n"
        "\n"
        "  --detach-keys KEYS   comma-separated ctrl-X or single characters\n"
        "  --no-stdin           output only\n";

static const char version_help[] = "Usage: burrow version\n\nShow burrow's version.\n";
static const char seccomp_profile_help[] =
        "Usage: burrow seccomp-profile\n\nPrint the seccomp profile containers get by default (Docker's, in its JSON format): a\n"
        "starting point for one of your own, given with --security-opt seccomp=FILE.\n";
static const char help_help[] = "Usage: burrow help [VERB]\n\nShow help for VERB, or the overview.\n";

static const struct {
        const char *verb;
        const char *help;
} verbs[] = {
        { "run", run_help }, { "create", create_help }, { "start", start_help }, { "exec", exec_help }, { "cp", cp_help }, { "attach", attach_help }, { "info", info_help }, { "unshare", unshare_help }, { "version", version_help }, { "seccomp-profile", seccomp_profile_help }, { "help", help_help },
};

int cli_help(const char *verb, FILE *out)
{
        if (verb == NULL) {
                fputs(overview, out);
                return 0;
        }
        for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
                if (strcmp(verbs[i].verb, verb) == 0) {
                        fputs(verbs[i].help, out);
                        return 0;
                }
        if (cli_container_help(verb, out) == 0)
                return 0;
        if (strcmp(verb, "volume") == 0)
                return cli_volume_help(out);
        return cli_image_help(verb, out);
}

/* getopt_long in POSIX mode ("+"): stop at the first positional, report errors ourselves. */
int cli_option_error(const char *verb, const char *token, int opt, struct burrow_error **err)
{
        if (opt == ':')
                return burrow_error_set(err, 0, "option `%s` of `burrow %s` needs a value (see `burrow help %s`)", token, verb, verb);
        if (token[0] == '-' && token[1] != '-' && optopt)
                return burrow_error_set(err, 0, "unknown option `-%c` for `burrow %s` (see `burrow help %s`)", optopt, verb, verb);
        size_t len = strcspn(token, "=");
        return burrow_error_set(err, 0, "unknown option `%.*s` for `burrow %s` (see `burrow help %s`)", (int)len, token, verb, verb);
}

/* getopt_long accepts any unambiguous prefix ("--root" for "--rootfs"); docker and podman do
 * not, and a prefix that silently turns into another option is a trap. Returns -1 when the
 * long option at argv[token] was abbreviated. */
static int long_option_exact(char **argv, int token, const struct option *longs, int longindex)
{
        if (longindex < 0)
                return 0;
        const char *arg = argv[token];
        const char *name = longs[longindex].name;
        size_t len = strlen(name);
        if (strncmp(arg, "--", 2) != 0 || strncmp(arg + 2, name, len) != 0 || (arg[2 + len] != '\0' && arg[2 + len] != '='))
                return -1;
        return 0;
}

/* One getopt_long step that also rejects abbreviated long options. */
int cli_next_option(int argc, char **argv, const char *shorts, const struct option *longs, int *token)
{
        int longindex = -1;
        *token = optind ? optind : 1;
        int opt = getopt_long(argc, argv, shorts, longs, &longindex);
        if (opt != -1 && opt != '?' && opt != ':' && long_option_exact(argv, *token, longs, longindex) < 0)
                return '?';
        return opt;
}

/* Replace *dst by a copy of value (an option given twice: the last wins, as with docker). */
static int set_string(char **dst, const char *value, const char *option, struct burrow_error **err)
{
        char *copy = strdup(value);
        if (copy == NULL)
                return burrow_error_set(err, ENOMEM, "%s", option);
        free(*dst);
        *dst = copy;
        return 0;
}

int cli_parse_global(int argc, char **argv, struct burrow_global *global, int *verb_index, int *done,
                     struct burrow_error **err)
{
        enum { OPT_ROOT = 256, OPT_RUNROOT, OPT_LOG_LEVEL, OPT_VERSION, OPT_NO_HOLDER };
        static const struct option longs[] = {
                { "root", required_argument, NULL, OPT_ROOT },
                { "runroot", required_argument, NULL, OPT_RUNROOT },
                { "log-level", required_argument, NULL, OPT_LOG_LEVEL },
                { "version", no_argument, NULL, OPT_VERSION },
                { "no-userns-holder", no_argument, NULL, OPT_NO_HOLDER },
                { "help", no_argument, NULL, 'h' },
                { NULL, 0, NULL, 0 },
        };
        *done = 0;
        optind = 0;
        opterr = 0;
        int opt, token;
        while ((opt = cli_next_option(argc, argv, "+:h", longs, &token)) != -1) {
                switch (opt) {
                case OPT_ROOT:
                        if (set_string(&global->root, optarg, "--root", err) < 0)
                                return -1;
                        break;
                case OPT_RUNROOT:
                        if (set_string(&global->runroot, optarg, "--runroot", err) < 0)
                                return -1;
                        break;
                case OPT_LOG_LEVEL:
                        if (burrow_log_level_parse(optarg, &burrow_log_level) < 0)
                                return burrow_error_set(err, 0, "unknown log level `%s` (use error, warn, info or debug)", optarg);
                        break;
                case OPT_NO_HOLDER:
                        global->no_userns_holder = true;
                        break;
                case OPT_VERSION:
                        printf("burrow version %s\n", BURROW_VERSION);
                        *done = 1;
                        return 0;
                case 'h':
                        cli_help(NULL, stdout);
                        *done = 1;
                        return 0;
                case ':':
                        return burrow_error_set(err, 0, "option `%s` needs a value (see `burrow --help`)", argv[token]);
                default:
                        return burrow_error_set(err, 0, "unknown global option `%s` (global options go before the verb; see `burrow --help`)",
                                                argv[token]);
                }
        }
        *verb_index = optind;
        return 0;
}

static int append_str(char ***arr, size_t *n, const char *s)
{
        char **bigger = realloc(*arr, (*n + 2) * sizeof(char *));
        if (bigger == NULL)
                return -1;
        *arr = bigger;
        if ((bigger[*n] = strdup(s)) == NULL)
                return -1;
        (*n)++;
        bigger[*n] = NULL;
        return 0;
}

int cli_parse_run(int argc, char **argv, struct burrow_run_config *cfg, int *help, struct burrow_error **err)
{
        enum { OPT_ROOTFS = 256, OPT_HOSTNAME, OPT_INIT, OPT_NO_INIT, OPT_NET, OPT_RM, OPT_USERNS, OPT_GROUP_ADD, OPT_NAME,
               OPT_ENTRYPOINT, OPT_STORAGE_DRIVER, OPT_PULL, OPT_TMPFS, OPT_READ_ONLY, OPT_ENV_FILE,
               OPT_SHM_SIZE, OPT_ULIMIT, OPT_UTS, OPT_IPC, OPT_PID, OPT_MOUNT, OPT_DEVICE, OPT_CAP_ADD, OPT_CAP_DROP,
               OPT_PRIVILEGED, OPT_SECURITY_OPT, OPT_DNS, OPT_DNS_SEARCH, OPT_ADD_HOST };
        static const struct option longs[] = {
                { "rootfs", required_argument, NULL, OPT_ROOTFS },
                { "name", required_argument, NULL, OPT_NAME },
                { "entrypoint", required_argument, NULL, OPT_ENTRYPOINT },
                { "storage-driver", required_argument, NULL, OPT_STORAGE_DRIVER },
                { "pull", required_argument, NULL, OPT_PULL },
                { "tmpfs", required_argument, NULL, OPT_TMPFS },
                { "read-only", no_argument, NULL, OPT_READ_ONLY },
                { "env-file", required_argument, NULL, OPT_ENV_FILE },
                { "shm-size", required_argument, NULL, OPT_SHM_SIZE },
                { "ulimit", required_argument, NULL, OPT_ULIMIT },
                { "uts", required_argument, NULL, OPT_UTS },
                { "ipc", required_argument, NULL, OPT_IPC },
                { "pid", required_argument, NULL, OPT_PID },
                { "mount", required_argument, NULL, OPT_MOUNT },
                { "device", required_argument, NULL, OPT_DEVICE },
                { "cap-add", required_argument, NULL, OPT_CAP_ADD },
                { "cap-drop", required_argument, NULL, OPT_CAP_DROP },
                { "privileged", no_argument, NULL, OPT_PRIVILEGED },
                { "security-opt", required_argument, NULL, OPT_SECURITY_OPT },
                { "publish", required_argument, NULL, 'p' },
                { "dns", required_argument, NULL, OPT_DNS },
                { "dns-search", required_argument, NULL, OPT_DNS_SEARCH },
                { "add-host", required_argument, NULL, OPT_ADD_HOST },
                { "volume", required_argument, NULL, 'v' },
                { "env", required_argument, NULL, 'e' },
                { "workdir", required_argument, NULL, 'w' },
                { "hostname", required_argument, NULL, OPT_HOSTNAME },
                { "user", required_argument, NULL, 'u' },
                { "interactive", no_argument, NULL, 'i' },
                { "tty", no_argument, NULL, 't' },
                { "init", no_argument, NULL, OPT_INIT },
                { "no-init", no_argument, NULL, OPT_NO_INIT },
                { "net", required_argument, NULL, OPT_NET },
                { "network", required_argument, NULL, OPT_NET },
                { "rm", no_argument, NULL, OPT_RM },
                { "detach", no_argument, NULL, 'd' },
                { "userns", required_argument, NULL, OPT_USERNS },
                { "group-add", required_argument, NULL, OPT_GROUP_ADD },
                { "help", no_argument, NULL, 'h' },
                { NULL, 0, NULL, 0 },
        };
        *help = 0;
        optind = 0;
        opterr = 0;
        int opt, token;
        while ((opt = cli_next_option(argc, argv, "+:v:e:w:u:p:ithd", longs, &token)) != -1) {
                switch (opt) {
                case OPT_ROOTFS:
                        if (set_string(&cfg->rootfs, optarg, "--rootfs", err) < 0)
                                return -1;
                        break;
                case OPT_NAME:
                        if (set_string(&cfg->name, optarg, "--name", err) < 0)
                                return -1;
                        break;
                case OPT_TMPFS: {
                        struct burrow_tmpfs t;
                        if (burrow_tmpfs_parse(optarg, &t, err) < 0)
                                return -1;
                        struct burrow_tmpfs *bigger = realloc(cfg->tmpfs, (cfg->n_tmpfs + 1) * sizeof(*bigger));
                        if (bigger == NULL) {
                                free(t.dest);
                                free(t.options);
                                return burrow_error_set(err, ENOMEM, "--tmpfs");
                        }
                        cfg->tmpfs = bigger;
                        cfg->tmpfs[cfg->n_tmpfs++] = t;
                        break;
                }
                case OPT_SHM_SIZE:
                        if (burrow_size_check(optarg, "--shm-size", err) < 0 || set_string(&cfg->shm_size, optarg, "--shm-size", err) < 0)
                                return -1;
                        break;
                case OPT_ULIMIT:
                        if (cfg->n_ulimits >= sizeof(cfg->ulimits) / sizeof(cfg->ulimits[0]))
                                return burrow_error_set(err, 0, "at most 16 --ulimit options");
                        if (burrow_ulimit_parse(optarg, &cfg->ulimits[cfg->n_ulimits], err) < 0)
                                return -1;
                        cfg->n_ulimits++;
                        break;
                case OPT_UTS:
                case OPT_IPC:
                case OPT_PID: {
                        bool host = strcmp(optarg, "host") == 0;
                        const char *name = opt == OPT_UTS ? "uts" : opt == OPT_IPC ? "ipc" : "pid";
                        if (!host && strcmp(optarg, "private") != 0)
                                return burrow_error_set(err, 0, "--%s is host or private, not `%s`", name, optarg);
                        if (opt == OPT_UTS)
                                cfg->uts_host = host;
                        else if (opt == OPT_IPC)
                                cfg->ipc_host = host;
                        else
                                cfg->pid_host = host;
                        break;
                }
                case OPT_MOUNT:
                        if (burrow_mount_parse(optarg, cfg, err) < 0)
                                return -1;
                        break;
                case OPT_DEVICE: {
                        struct burrow_bind b;
                        if (burrow_device_parse(optarg, &b, err) < 0 || burrow_bind_append(cfg, &b, err) < 0)
                                return -1;
                        break;
                }
                case OPT_READ_ONLY:
                        cfg->read_only = true;
                        break;
                case OPT_CAP_ADD:
                case OPT_CAP_DROP:
                        if (burrow_cap_option(optarg, opt == OPT_CAP_ADD, &cfg->security, err) < 0)
                                return -1;
                        break;
                case OPT_PRIVILEGED:
                        cfg->security.privileged = true;
                        break;
                case OPT_SECURITY_OPT:
                        if (burrow_security_opt_parse(optarg, &cfg->security, err) < 0)
                                return -1;
                        break;
                case OPT_ENV_FILE:
                        if (burrow_env_file_read(optarg, &cfg->env, &cfg->n_env, err) < 0)
                                return -1;
                        break;
                case OPT_PULL:
                        if (strcmp(optarg, "missing") == 0)
                                cfg->pull = PULL_MISSING;
                        else if (strcmp(optarg, "always") == 0)
                                cfg->pull = PULL_ALWAYS;
                        else if (strcmp(optarg, "never") == 0)
                                cfg->pull = PULL_NEVER;
                        else
                                return burrow_error_set(err, 0, "--pull is missing, always or never, not `%s`", optarg);
                        break;
                case OPT_STORAGE_DRIVER:
                        if (strcmp(optarg, "overlay") != 0 && strcmp(optarg, "fuse-overlayfs") != 0 && strcmp(optarg, "vfs") != 0)
                                return burrow_error_set(err, 0, "--storage-driver is overlay (kernel overlayfs), fuse-overlayfs or vfs "
                                                                "(a copy), not `%s`",
                                                        optarg);
                        if (set_string(&cfg->storage_driver, optarg, "--storage-driver", err) < 0)
                                return -1;
                        break;
                case OPT_ENTRYPOINT:
                        if (set_string(&cfg->entrypoint, optarg, "--entrypoint", err) < 0)
                                return -1;
                        cfg->has_entrypoint = true;
                        break;
                case 'v': {
                        struct burrow_bind b;
                        if (burrow_bind_parse(optarg, &b, err) < 0 || burrow_bind_append(cfg, &b, err) < 0)
                                return -1;
                        break;
                }
                case 'e':
                        if (burrow_env_check(optarg, err) < 0)
                                return -1;
                        if (append_str(&cfg->env, &cfg->n_env, optarg) < 0)
                                return burrow_error_set(err, ENOMEM, "-e");
                        break;
                case 'w':
                        if (optarg[0] != '/')
                                return burrow_error_set(err, 0, "working directory `%s` must be an absolute path (-w)", optarg);
                        if (set_string(&cfg->workdir, optarg, "-w", err) < 0)
                                return -1;
                        break;
                case OPT_HOSTNAME:
                        if (optarg[0] == '\0' || strlen(optarg) > 64)
                                return burrow_error_set(err, 0, "hostname `%s` must be 1 to 64 characters", optarg);
                        if (set_string(&cfg->hostname, optarg, "--hostname", err) < 0)
                                return -1;
                        break;
                case 'u': {
                        struct burrow_error *numeric = NULL;
                        if (burrow_user_parse(optarg, &cfg->uid, &cfg->gid, &cfg->has_gid, &numeric) == 0) {
                                cfg->has_user = true;
                                free(cfg->user_name);
                                cfg->user_name = NULL;
                                break;
                        }
                        burrow_error_free(numeric);
                        /* names: looked up in the container's /etc/passwd and /etc/group */
                        const char *colon = strchr(optarg, ':');
                        if (optarg[0] == '\0' || optarg[0] == ':' || strpbrk(optarg, "/ \t\n") ||
                            (colon && (colon[1] == '\0' || strchr(colon + 1, ':'))))
                                return burrow_error_set(err, 0, "bad user `%s`: expected USER[:GROUP], each a name or a number",
                                                        optarg);
                        if (set_string(&cfg->user_name, optarg, "-u", err) < 0)
                                return -1;
                        cfg->has_user = false;
                        break;
                }
                case 'i':
                        cfg->interactive = true;
                        break;
                case 't':
                        cfg->tty = true;
                        break;
                case OPT_INIT:
                        cfg->init = true;
                        break;
                case OPT_NO_INIT:
                        cfg->init = false;
                        break;
                case OPT_NET:
                        if (net_mode_parse(optarg, &cfg->net, &cfg->netopts, err) < 0)
                                return -1;
                        cfg->net_given = true;
                        break;
                case 'p':
                        if (net_port_parse(optarg, &cfg->netopts, err) < 0)
                                return -1;
                        break;
                case OPT_DNS:
                        if (net_dns_add(optarg, &cfg->netopts, err) < 0)
                                return -1;
                        break;
                case OPT_DNS_SEARCH:
                        if (net_dns_search_add(optarg, &cfg->netopts, err) < 0)
                                return -1;
                        break;
                case OPT_ADD_HOST:
                        if (net_add_host_parse(optarg, &cfg->netopts, err) < 0)
                                return -1;
                        break;
                case OPT_RM:
                        cfg->remove = true;
                        break;
                case 'd':
                        cfg->detach = true;
                        break;
                case OPT_USERNS:
                        if (userns_mode_parse(optarg, &cfg->userns, err) < 0)
                                return -1;
                        break;
                case OPT_GROUP_ADD: {
                        uid_t g;
                        gid_t unused;
                        bool has;
                        if (burrow_user_parse(optarg, &g, &unused, &has, err) < 0 || has)
                                return burrow_error_set(err, 0, "--group-add `%s`: expected a numeric GID", optarg);
                        gid_t *bigger = realloc(cfg->group_add, (cfg->n_group_add + 1) * sizeof(gid_t));
                        if (bigger == NULL)
                                return burrow_error_set(err, ENOMEM, "--group-add");
                        cfg->group_add = bigger;
                        cfg->group_add[cfg->n_group_add++] = (gid_t)g;
                        break;
                }
                case 'h':
                        *help = 1;
                        return 0;
                default:
                        return cli_option_error("run", argv[token], opt, err);
                }
        }
        /* Without --rootfs the first argument is the image, as with docker run. */
        if (cfg->rootfs == NULL && optind < argc && set_string(&cfg->image, argv[optind++], "image", err) < 0)
                return -1;
        if (cfg->uts_host && cfg->hostname)
                return burrow_error_set(err, 0, "--hostname needs a UTS namespace of the container's own: leave out --uts=host");
        if (cfg->detach && cfg->interactive && !cfg->tty)
                return burrow_error_set(err, 0, "-d with -i needs -t: input reaches a detached container through `burrow "
                                                "attach`, which relays a terminal");
        for (size_t i = 0; cfg->rootfs && i < cfg->n_binds; i++)
                if (cfg->binds[i].volume || cfg->binds[i].anonymous)
                        return burrow_error_set(err, 0, "volumes live in the store, with image containers: with --rootfs, bind a "
                                                        "host directory (-v /host/dir:%s)",
                                                cfg->binds[i].dest);
        if (cfg->detach && cfg->rootfs)
                return burrow_error_set(err, 0, "-d is for image containers (their state and log live in the store), not --rootfs");
        if (cfg->rootfs && (cfg->name || cfg->has_entrypoint || cfg->storage_driver))
                return burrow_error_set(err, 0, "%s is for image containers, not with --rootfs",
                                        cfg->name ? "--name" : cfg->has_entrypoint ? "--entrypoint" : "--storage-driver");
        size_t n = 0;
        for (int i = optind; i < argc; i++)
                if (append_str(&cfg->argv, &n, argv[i]) < 0)
                        return burrow_error_set(err, ENOMEM, "command");
        return 0;
}

int cli_fail(struct burrow_error *err)
{
        int code = err->exit_code ? err->exit_code : BURROW_EXIT_FAILURE;
        fprintf(stderr, "burrow: %s\n", err->msg ? err->msg : "unknown error");
        burrow_error_free(err);
        return code;
}

/* -d: a supervisor process (burrow run itself, in a session of its own) runs the container and
 * outlives this one; it reports the container's ID once its output goes to the log. */
static int run_detached(const struct burrow_global *global, struct burrow_run_config *cfg, const char *announce)
{
        struct burrow_error *err = NULL;
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0)
                return cli_fail((burrow_error_set(&err, errno, "pipe"), err));
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0)
                return cli_fail((burrow_error_set(&err, errno, "fork"), err));
        if (pid == 0) {
                close(p[0]);
                /* its own session: the terminal's signals and hangup are not the container's */
                setsid();
                /* nothing of the caller's but stdio (which goes to the log later): a pipe our
                 * caller reads to its end must not wait for the container */
                if (p[1] > 3)
                        close_range(3, (unsigned)p[1] - 1, 0);
                close_range((unsigned)p[1] + 1, ~0U, 0);
                int null = open("/dev/null", O_RDWR | O_CLOEXEC);
                if (null < 0 || dup2(null, STDIN_FILENO) < 0)
                        _exit(BURROW_EXIT_FAILURE);
                cfg->ready_fd = p[1];
                int code = 0;
                if (burrow_run(global, cfg, &code, &err) < 0)
                        code = cli_fail(err); /* to the terminal if still before the log, else the log */
                _exit(code);
        }
        close(p[1]);
        char id[80] = "";
        size_t got = 0;
        ssize_t n;
        /* up to the newline: helpers of the supervisor may hold the pipe open for the
         * container's whole life */
        while (got < sizeof(id) - 1 && (got == 0 || id[got - 1] != '\n') &&
               (n = read(p[0], id + got, sizeof(id) - 1 - got)) != 0) {
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        break;
                got += (size_t)n;
        }
        close(p[0]);
        id[got] = '\0';
        if (got == 0) {
                /* it failed before the container ran, and said why */
                int status = 0;
                waitpid(pid, &status, 0);
                return WIFEXITED(status) && WEXITSTATUS(status) ? WEXITSTATUS(status) : BURROW_EXIT_FAILURE;
        }
        if (announce)
                printf("%s\n", announce);
        else
                printf("%s", id);
        return 0;
}

static int cmd_run(const struct burrow_global *global, int argc, char **argv)
{
        struct burrow_run_config cfg;
        burrow_run_config_init(&cfg);
        struct burrow_error *err = NULL;
        int help = 0, code = 0;
        if (cli_parse_run(argc, argv, &cfg, &help, &err) < 0) {
                burrow_run_config_free(&cfg);
                return cli_fail(err);
        }
        if (help) {
                cli_help("run", stdout);
        } else if (cfg.detach) {
                code = run_detached(global, &cfg, NULL);
        } else if (burrow_run(global, &cfg, &code, &err) < 0) {
                code = cli_fail(err);
        }
        burrow_run_config_free(&cfg);
        return code;
}

static int cmd_create(const struct burrow_global *global, int argc, char **argv)
{
        struct burrow_run_config cfg;
        burrow_run_config_init(&cfg);
        struct burrow_error *err = NULL;
        int help = 0, code = 0;
        cleanup_free char *runroot = NULL;
        char id[CONTAINER_ID_LEN + 1];
        if (cli_parse_run(argc, argv, &cfg, &help, &err) < 0) {
                code = cli_fail(err);
        } else if (help) {
                cli_help("create", stdout);
        } else if (cfg.rootfs || cfg.detach || cfg.image == NULL) {
                code = cli_fail((burrow_error_set(&err, 0, "%s", cfg.image == NULL ? "no image given: burrow create IMAGE [CMD...]"
                                                                 : cfg.rootfs   ? "burrow create makes containers from images, not --rootfs"
                                                                                : "burrow create does not start the container: leave "
                                                                                  "out -d (burrow start runs it in the background)"),
                                 err));
        } else if ((runroot = global->runroot ? strdup(global->runroot) : runroot_default()) == NULL) {
                code = cli_fail((burrow_error_set(&err, ENOMEM, "runroot"), err));
        } else if (runroot_ensure(runroot, &err) < 0 || image_ctr_create(global, runroot, &cfg, id, &err) < 0) {
                code = cli_fail(err);
        } else {
                printf("%s\n", id);
        }
        burrow_run_config_free(&cfg);
        return code;
}

static int cmd_start(const struct burrow_global *global, int argc, char **argv)
{
        static const struct option longs[] = {
                { "attach", no_argument, NULL, 'a' },
                { "interactive", no_argument, NULL, 'i' },
                { "help", no_argument, NULL, 'h' },
                { NULL, 0, NULL, 0 },
        };
        struct burrow_error *err = NULL;
        bool attach = false, interactive = false;
        optind = 0;
        opterr = 0;
        int opt, token;
        while ((opt = cli_next_option(argc, argv, "+:aih", longs, &token)) != -1) {
                switch (opt) {
                case 'a':
                        attach = true;
                        break;
                case 'i':
                        interactive = true;
                        break;
                case 'h':
                        cli_help("start", stdout);
                        return 0;
                default:
                        return cli_fail((cli_option_error("start", argv[token], opt, &err), err));
                }
        }
        if (optind >= argc)
                return cli_fail((burrow_error_set(&err, 0, "no container given: burrow start [-a] CONTAINER..."), err));
        if (attach && argc - optind > 1)
                return cli_fail((burrow_error_set(&err, 0, "-a attaches to one container; start the others separately"), err));
        if (interactive && !attach)
                return cli_fail((burrow_error_set(&err, 0, "-i passes your input to the container: use it with -a"), err));
        int code = 0;
        for (int i = optind; i < argc; i++) {
                struct burrow_run_config cfg;
                burrow_run_config_init(&cfg);
                cfg.interactive = interactive;
                cfg.detach = !attach;
                int one = 0;
                if ((cfg.container = strdup(argv[i])) == NULL)
                        one = cli_fail((burrow_error_set(&err, ENOMEM, "container"), err));
                else if (!attach)
                        one = run_detached(global, &cfg, argv[i]);
                else if (burrow_run(global, &cfg, &one, &err) < 0)
                        one = cli_fail(err);
                burrow_run_config_free(&cfg);
                if (one != 0 && code == 0)
                        code = one;
        }
        return code;
}

static int cmd_exec(const struct burrow_global *global, int argc, char **argv)
{
        static const struct option longs[] = {
                { "interactive", no_argument, NULL, 'i' },
                { "tty", no_argument, NULL, 't' },
                { "env", required_argument, NULL, 'e' },
                { "user", required_argument, NULL, 'u' },
                { "workdir", required_argument, NULL, 'w' },
                { "help", no_argument, NULL, 'h' },
                { NULL, 0, NULL, 0 },
        };
        struct burrow_run_config x;
        burrow_run_config_init(&x);
        struct burrow_error *err = NULL;
        int code = 0;
        optind = 0;
        opterr = 0;
        int opt, token;
        while (err == NULL && (opt = cli_next_option(argc, argv, "+:ite:u:w:h", longs, &token)) != -1) {
                switch (opt) {
                case 'i':
                        x.interactive = true;
                        break;
                case 't':
                        x.tty = true;
                        break;
                case 'e':
                        if (burrow_env_check(optarg, &err) == 0 && append_str(&x.env, &x.n_env, optarg) < 0)
                                burrow_error_set(&err, ENOMEM, "-e");
                        break;
                case 'u': {
                        struct burrow_error *numeric = NULL;
                        if (burrow_user_parse(optarg, &x.uid, &x.gid, &x.has_gid, &numeric) == 0) {
                                x.has_user = true;
                        } else if (optarg[0] == '\0' || optarg[0] == ':' || strpbrk(optarg, "/ \t\n")) {
                                burrow_error_set(&err, 0, "bad user `%s`: expected USER[:GROUP], each a name or a number", optarg);
                        } else {
                                set_string(&x.user_name, optarg, "-u", &err);
                        }
                        burrow_error_free(numeric);
                        break;
                }
                case 'w':
                        if (optarg[0] != '/')
                                burrow_error_set(&err, 0, "working directory `%s` must be an absolute path (-w)", optarg);
                        else
                                set_string(&x.workdir, optarg, "-w", &err);
                        break;
                case 'h':
                        cli_help("exec", stdout);
                        burrow_run_config_free(&x);
                        return 0;
                default:
                        cli_option_error("exec", argv[token], opt, &err);
                }
        }
        size_t n = 0;
        if (err == NULL && optind >= argc)
                burrow_error_set(&err, 0, "no container given: burrow exec [-it] CONTAINER CMD [ARG...]");
        if (err == NULL && set_string(&x.container, argv[optind++], "container", &err) == 0)
                for (int i = optind; i < argc && err == NULL; i++)
                        if (append_str(&x.argv, &n, argv[i]) < 0)
                                burrow_error_set(&err, ENOMEM, "command");
        if (err == NULL && n == 0)
                burrow_error_set(&err, 0, "no command given: burrow exec [-it] %s CMD [ARG...]", x.container);
        if (err || burrow_exec(global, &x, &code, &err) < 0)
                code = cli_fail(err);
        burrow_run_config_free(&x);
        return code;
}

static int cmd_cp(const struct burrow_global *global, int argc, char **argv)
{
        static const struct option longs[] = { { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
        struct burrow_error *err = NULL;
        optind = 0;
        opterr = 0;
        int opt, token;
        while ((opt = cli_next_option(argc, argv, "+:h", longs, &token)) != -1) {
                if (opt == 'h') {
                        cli_help("cp", stdout);
                        return 0;
                }
                return cli_fail((cli_option_error("cp", argv[token], opt, &err), err));
        }
        if (argc - optind != 2)
                return cli_fail((burrow_error_set(&err, 0, "usage: burrow cp CONTAINER:PATH HOSTPATH|-, or burrow cp HOSTPATH|- "
                                                           "CONTAINER:PATH"),
                                 err));
        if (burrow_cp(global, argv[optind], argv[optind + 1], &err) < 0)
                return cli_fail(err);
        return 0;
}

static int cmd_attach(const struct burrow_global *global, int argc, char **argv)
{
        enum { OPT_KEYS = 256, OPT_NO_STDIN };
        static const struct option longs[] = {
                { "detach-keys", required_argument, NULL, OPT_KEYS },
                { "no-stdin", no_argument, NULL, OPT_NO_STDIN },
                { "help", no_argument, NULL, 'h' },
                { NULL, 0, NULL, 0 },
        };
        struct burrow_error *err = NULL;
        const char *keys = NULL;
        bool no_stdin = false;
        optind = 0;
        opterr = 0;
        int opt, token;
        while ((opt = cli_next_option(argc, argv, "+:h", longs, &token)) != -1) {
                if (opt == 'h') {
                        cli_help("attach", stdout);
                        return 0;
                } else if (opt == OPT_KEYS) {
                        keys = optarg;
                } else if (opt == OPT_NO_STDIN) {
                        no_stdin = true;
                } else {
                        return cli_fail((cli_option_error("attach", argv[token], opt, &err), err));
                }
        }
        if (argc - optind != 1)
                return cli_fail((burrow_error_set(&err, 0, "usage: burrow attach [--detach-keys KEYS] [--no-stdin] CONTAINER"),
                                 err));
        int code = 0;
        bool detached = false;
        if (burrow_attach(global, argv[optind], keys, no_stdin, &code, &detached, &err) < 0)
                return cli_fail(err);
        return code;
}

static int cmd_no_args(const char *verb, int argc, char **argv)
{
        if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
                cli_help(verb, stdout);
                return -1;
        }
        if (argc > 1) {
                fprintf(stderr, "burrow: `burrow %s` takes no arguments, got `%s` (see `burrow help %s`)\n", verb, argv[1], verb);
                return BURROW_EXIT_FAILURE;
        }
        return 0;
}

/* --root and --runroot not given: the settings files may name them. */
static int cli_apply_settings(struct burrow_global *global, struct burrow_error **err)
{
        if (global->root && global->runroot)
                return 0;
        cleanup_free char *dir = config_dir_default();
        cleanup_free char *user_file = NULL;
        const char *env = getenv("BURROW_CONFIG");
        if (env && *env)
                user_file = strdup(env);
        else if (dir && asprintf(&user_file, "%s/burrow.json", dir) < 0)
                user_file = NULL;
        struct burrow_settings st;
        if (burrow_settings_load(BURROW_SYSCONFDIR "/burrow.json", user_file, &st, err) < 0)
                return -1;
        if (global->root == NULL && st.root) {
                global->root = st.root;
                st.root = NULL;
                burrow_debug("the store `%s` comes from `%s`", global->root, st.root_from);
        }
        if (global->runroot == NULL && st.runroot) {
                global->runroot = st.runroot;
                st.runroot = NULL;
        }
        burrow_settings_free(&st);
        return 0;
}

int cli_main(int argc, char **argv)
{
        struct burrow_global global = { 0 };
        struct burrow_error *err = NULL;
        int verb_index, done, code = 0;
        if (cli_parse_global(argc, argv, &global, &verb_index, &done, &err) < 0) {
                code = cli_fail(err);
                goto out;
        }
        if (done)
                goto out;
        if (cli_apply_settings(&global, &err) < 0) {
                code = cli_fail(err);
                goto out;
        }
        if (verb_index >= argc) {
                cli_help(NULL, stderr);
                code = BURROW_EXIT_FAILURE;
                goto out;
        }
        const char *verb = argv[verb_index];
        int vargc = argc - verb_index;
        char **vargv = argv + verb_index;
        if (strcmp(verb, "run") == 0) {
                code = cmd_run(&global, vargc, vargv);
        } else if (strcmp(verb, "create") == 0) {
                code = cmd_create(&global, vargc, vargv);
        } else if (strcmp(verb, "start") == 0) {
                code = cmd_start(&global, vargc, vargv);
        } else if (strcmp(verb, "exec") == 0) {
                code = cmd_exec(&global, vargc, vargv);
        } else if (strcmp(verb, "cp") == 0) {
                code = cmd_cp(&global, vargc, vargv);
        } else if (strcmp(verb, "attach") == 0) {
                code = cmd_attach(&global, vargc, vargv);
        } else if (strcmp(verb, "volume") == 0) {
                code = cli_volume_main(&global, vargc, vargv);
        } else if (strcmp(verb, "info") == 0) {
                int r = cmd_no_args(verb, vargc, vargv);
                if (r != 0)
                        code = r < 0 ? 0 : r;
                else if (burrow_info_print(&global, stdout, &err) < 0)
                        code = cli_fail(err);
        } else if (strcmp(verb, "unshare") == 0) {
                if (vargc > 1 && (strcmp(vargv[1], "-h") == 0 || strcmp(vargv[1], "--help") == 0)) {
                        cli_help(verb, stdout);
                } else {
                        int first = vargc > 1 && strcmp(vargv[1], "--") == 0 ? 2 : 1;
                        if (burrow_unshare(&global, vargv + first, &code, &err) < 0)
                                code = cli_fail(err);
                }
        } else if (cli_container_verb(verb)) {
                code = cli_container_main(&global, vargc, vargv);
        } else if (cli_image_verb(verb)) {
                code = cli_image_main(&global, vargc, vargv);
        } else if (strcmp(verb, "seccomp-profile") == 0) {
                int r = cmd_no_args(verb, vargc, vargv);
                if (r != 0)
                        code = r < 0 ? 0 : r;
                else
                        code = burrow_seccomp_profile_print(stdout, &err) < 0 ? cli_fail(err) : 0;
        } else if (strcmp(verb, "version") == 0) {
                int r = cmd_no_args(verb, vargc, vargv);
                if (r != 0)
                        code = r < 0 ? 0 : r;
                else
                        printf("burrow version %s\n", BURROW_VERSION);
        } else if (strcmp(verb, "help") == 0) {
                if (cli_help(vargc > 1 ? vargv[1] : NULL, stdout) < 0) {
                        fprintf(stderr, "burrow: no such verb `%s` (see `burrow help`)\n", vargv[1]);
                        code = BURROW_EXIT_FAILURE;
                }
        } else {
                fprintf(stderr, "burrow: unknown verb `%s` (see `burrow help`)\n", verb);
                code = BURROW_EXIT_FAILURE;
        }
out:
        free(global.root);
        free(global.runroot);
        return code;
}
