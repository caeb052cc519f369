#include "config.h"

#include "sandbox/runconfig.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sandbox/caps.h"
#include "util/fsutil.h"

void burrow_run_config_init(struct burrow_run_config *cfg)
{
        memset(cfg, 0, sizeof(*cfg));
        cfg->init = true;
        cfg->net = BURROW_NET_SLIRP;
        net_options_init(&cfg->netopts);
        cfg->ready_fd = -1;
}

void burrow_bind_free(struct burrow_bind *b)
{
        free(b->source);
        free(b->dest);
        free(b->volume);
        b->source = b->dest = b->volume = NULL;
}

bool burrow_volume_name_valid(const char *name)
{
        if (!((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= 'A' && name[0] <= 'Z') || (name[0] >= '0' && name[0] <= '9')))
                return false;
        if (strlen(name) > 128)
                return false;
        return strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == strlen(name);
}

int burrow_bind_append(struct burrow_run_config *cfg, struct burrow_bind *b, struct burrow_error **err)
{
        struct burrow_bind *bigger = realloc(cfg->binds, (cfg->n_binds + 1) * sizeof(*bigger));
        if (bigger == NULL) {
                burrow_bind_free(b);
                return burrow_error_set(err, ENOMEM, "volumes");
        }
        cfg->binds = bigger;
        cfg->binds[cfg->n_binds++] = *b;
        return 0;
}

int burrow_device_parse(const char *spec, struct burrow_bind *out, struct burrow_error **err)
{
        memset(out, 0, sizeof(*out));
        cleanup_free char *copy = strdup(spec);
        if (copy == NULL)
                return burrow_error_set(err, ENOMEM, "--device");
        char *ctr = strchr(copy, ':');
        char *perms = NULL;
        if (ctr) {
                *ctr++ = '\0';
                if ((perms = strchr(ctr, ':')) != NULL)
                        *perms++ = '\0';
                else if (ctr[0] != '/' && strspn(ctr, "rwm") == strlen(ctr)) /* HOST:PERMS */
                        perms = ctr, ctr = NULL;
        }
        if (copy[0] != '/')
                return burrow_error_set(err, 0, "--device `%s`: the host device must be an absolute path (/dev/...)", spec);
        if (ctr && ctr[0] != '/')
                return burrow_error_set(err, 0, "--device `%s`: the container path `%s` must be absolute", spec, ctr);
        if (perms && (perms[0] == '\0' || strspn(perms, "rwm") != strlen(perms)))
                return burrow_error_set(err, 0, "--device `%s`: permissions are letters of rwm, not `%s`", spec, perms);
        struct stat st;
        if (stat(copy, &st) < 0)
                return burrow_error_set(err, errno, "--device `%s`", copy);
        if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
                return burrow_error_set(err, 0, "--device `%s`: not a device node (use -v for files and directories)", copy);
        /* a bind gives no more than the caller has: say so now rather than let it fail inside */
        if (access(copy, R_OK) < 0 && access(copy, W_OK) < 0)
                return burrow_error_set(err, errno, "--device `%s`: you cannot open it on the host (mode %o, owner %u:%u); "
                                                    "ask an admin for access (a group such as video or render)",
                                        copy, (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid, (unsigned)st.st_gid);
        out->source = strdup(copy);
        out->dest = path_clean_absolute(ctr ? ctr : copy);
        out->device = true;
        if (out->source == NULL || out->dest == NULL) {
                burrow_bind_free(out);
                return burrow_error_set(err, ENOMEM, "--device");
        }
        return 0;
}

static bool option_true(const char *value, bool *out)
{
        if (value == NULL || strcmp(value, "true") == 0 || strcmp(value, "1") == 0)
                *out = true;
        else if (strcmp(value, "false") == 0 || strcmp(value, "0") == 0)
                *out = false;
        else
                return false;
        return true;
}

int burrow_mount_parse(const char *spec, struct burrow_run_config *cfg, struct burrow_error **err)
{
        cleanup_free char *copy = strdup(spec);
        if (copy == NULL)
                return burrow_error_set(err, ENOMEM, "--mount");
        const char *type = NULL, *source = NULL, *target = NULL, *size = NULL, *mode = NULL;
        bool readonly = false, nocopy = false;
        char *save = NULL;
        for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                char *value = strchr(tok, '=');
                if (value)
                        *value++ = '\0';
                if (strcmp(tok, "type") == 0 && value)
                        type = value;
                else if ((strcmp(tok, "source") == 0 || strcmp(tok, "src") == 0) && value)
                        source = value;
                else if ((strcmp(tok, "target") == 0 || strcmp(tok, "destination") == 0 || strcmp(tok, "dst") == 0) && value)
                        target = value;
                else if (strcmp(tok, "readonly") == 0 || strcmp(tok, "ro") == 0) {
                        if (!option_true(value, &readonly))
                                return burrow_error_set(err, 0, "--mount `%s`: readonly is true or false, not `%s`", spec, value);
                } else if (strcmp(tok, "volume-nocopy") == 0) {
                        if (!option_true(value, &nocopy))
                                return burrow_error_set(err, 0, "--mount `%s`: volume-nocopy is true or false", spec);
                } else if (strcmp(tok, "tmpfs-size") == 0 && value)
                        size = value;
                else if (strcmp(tok, "tmpfs-mode") == 0 && value)
                        mode = value;
                else if (strcmp(tok, "bind-propagation") == 0 && value && strcmp(value, "rprivate") == 0)
                        ; /* what burrow does anyway */
                else
                        return burrow_error_set(err, 0, "--mount `%s`: unknown or incomplete option `%s`", spec, tok);
        }
        if (type == NULL)
                return burrow_error_set(err, 0, "--mount `%s`: give type=bind, type=volume or type=tmpfs", spec);
        if (target == NULL || target[0] != '/')
                return burrow_error_set(err, 0, "--mount `%s`: target=PATH (absolute) is required", spec);
        if (strcmp(type, "tmpfs") == 0) {
                if (source)
                        return burrow_error_set(err, 0, "--mount `%s`: a tmpfs has no source", spec);
                cleanup_free char *t = NULL;
                if (asprintf(&t, "%s:%s%s%s%s%s", target, size ? "size=" : "", size ? size : "", size && mode ? "," : "",
                             mode ? "mode=" : "", mode ? mode : "") < 0)
                        return burrow_error_set(err, ENOMEM, "--mount");
                if (t[strlen(t) - 1] == ':')
                        t[strlen(t) - 1] = '\0';
                struct burrow_tmpfs tm;
                if (burrow_tmpfs_parse(t, &tm, err) < 0)
                        return burrow_error_wrap(err, "--mount `%s`", spec);
                struct burrow_tmpfs *bigger = realloc(cfg->tmpfs, (cfg->n_tmpfs + 1) * sizeof(*bigger));
                if (bigger == NULL) {
                        free(tm.dest);
                        free(tm.options);
                        return burrow_error_set(err, ENOMEM, "--mount");
                }
                cfg->tmpfs = bigger;
                cfg->tmpfs[cfg->n_tmpfs++] = tm;
                return 0;
        }
        if (strcmp(type, "bind") != 0 && strcmp(type, "volume") != 0)
                return burrow_error_set(err, 0, "--mount `%s`: type is bind, volume or tmpfs, not `%s`", spec, type);
        bool volume = strcmp(type, "volume") == 0;
        struct burrow_bind b = { 0 };
        if (volume && source == NULL) {
                b.anonymous = true; /* docker: a volume without a source is a new anonymous one */
        } else if (source == NULL) {
                return burrow_error_set(err, 0, "--mount `%s`: source=PATH is required for a bind", spec);
        } else if (volume && !burrow_volume_name_valid(source)) {
                return burrow_error_set(err, 0, "--mount `%s`: `%s` is not a volume name ([A-Za-z0-9][A-Za-z0-9_.-]*)", spec,
                                        source);
        } else if (!volume && source[0] != '/') {
                return burrow_error_set(err, 0, "--mount `%s`: a bind source must be an absolute path", spec);
        }
        if (!volume) {
                char resolved[PATH_MAX];
                if (realpath(source, resolved) == NULL)
                        return burrow_error_set(err, errno, "bind source `%s` (from --mount `%s`)", source, spec);
                b.source = strdup(resolved);
        } else if (source) {
                b.volume = strdup(source);
        }
        b.dest = path_clean_absolute(target);
        b.readonly = readonly;
        b.nocopy = nocopy;
        if (b.dest == NULL || (!volume && b.source == NULL) || (volume && source && b.volume == NULL)) {
                burrow_bind_free(&b);
                return burrow_error_set(err, ENOMEM, "--mount");
        }
        return burrow_bind_append(cfg, &b, err);
}

void burrow_run_config_free(struct burrow_run_config *cfg)
{
        free(cfg->rootfs);
        free(cfg->image);
        free(cfg->container);
        free(cfg->name);
        free(cfg->entrypoint);
        free(cfg->user_name);
        free(cfg->storage_driver);
        for (char **a = cfg->argv; a && *a; a++)
                free(*a);
        free(cfg->argv);
        for (size_t i = 0; i < cfg->n_env; i++)
                free(cfg->env[i]);
        free(cfg->env);
        for (size_t i = 0; i < cfg->n_binds; i++)
                burrow_bind_free(&cfg->binds[i]);
        free(cfg->binds);
        for (size_t i = 0; i < cfg->n_tmpfs; i++) {
                free(cfg->tmpfs[i].dest);
                free(cfg->tmpfs[i].options);
        }
        free(cfg->tmpfs);
        free(cfg->shm_size);
        free(cfg->workdir);
        free(cfg->hostname);
        free(cfg->group_add);
        free(cfg->security.seccomp_profile);
        free(cfg->security.seccomp_source);
        net_options_free(&cfg->netopts);
        memset(cfg, 0, sizeof(*cfg));
}

int burrow_cap_option(const char *name, bool add, struct burrow_security *sec, struct burrow_error **err)
{
        caps_mask m;
        bool all;
        if (caps_parse(name, &m, &all, err) < 0)
                return burrow_error_wrap(err, "--cap-%s", add ? "add" : "drop");
        if (add) {
                sec->cap_add |= all ? 0 : m;
                sec->cap_add_all |= all;
        } else {
                sec->cap_drop |= all ? 0 : m;
                sec->cap_drop_all |= all;
        }
        return 0;
}

int burrow_security_opt_parse(const char *spec, struct burrow_security *sec, struct burrow_error **err)
{
        if (strncmp(spec, "seccomp=", 8) == 0 || strncmp(spec, "seccomp:", 8) == 0) {
                const char *v = spec + 8;
                free(sec->seccomp_profile);
                free(sec->seccomp_source);
                sec->seccomp_profile = sec->seccomp_source = NULL;
                if (strcmp(v, "unconfined") == 0) {
                        sec->seccomp = BURROW_SECCOMP_UNCONFINED;
                        return 0;
                }
                if (v[0] == '\0')
                        return burrow_error_set(err, 0, "--security-opt seccomp= needs a profile file or `unconfined`");
                /* read now: the container keeps the profile as it was, whatever happens to the file */
                char *text = NULL;
                if (read_file_at(AT_FDCWD, v, &text, NULL, err) < 0)
                        return burrow_error_wrap(err, "--security-opt %s: reading the seccomp profile", spec);
                sec->seccomp = BURROW_SECCOMP_PROFILE;
                sec->seccomp_profile = text;
                if ((sec->seccomp_source = strdup(v)) == NULL)
                        return burrow_error_set(err, ENOMEM, "--security-opt");
                return 0;
        }
        if (strncmp(spec, "no-new-privileges", 17) == 0) {
                const char *v = spec + 17;
                if (*v == '\0' || strcmp(v, "=true") == 0 || strcmp(v, ":true") == 0) {
                        sec->allow_new_privs = false;
                        return 0;
                }
                if (strcmp(v, "=false") == 0 || strcmp(v, ":false") == 0) {
                        sec->allow_new_privs = true;
                        return 0;
                }
        }
        return burrow_error_set(err, 0, "--security-opt `%s`: burrow knows seccomp=FILE, seccomp=unconfined and "
                                        "no-new-privileges[=true|false]",
                                spec);
}

int burrow_bind_parse(const char *spec, struct burrow_bind *out, struct burrow_error **err)
{
        memset(out, 0, sizeof(*out));
        cleanup_free char *copy = strdup(spec);
        if (copy == NULL)
                return burrow_error_set(err, ENOMEM, "parsing -v `%s`", spec);
        char *host = copy;
        char *ctr = strchr(host, ':');
        if (ctr == NULL || ctr == host)
                return burrow_error_set(err, 0, "bad volume `%s`: expected HOST-PATH:CONTAINER-PATH[:ro|rw]", spec);
        *ctr++ = '\0';
        char *opts = strchr(ctr, ':');
        if (opts)
                *opts++ = '\0';
        if (*ctr == '\0')
                return burrow_error_set(err, 0, "bad volume `%s`: the container path is empty", spec);
        if (ctr[0] != '/')
                return burrow_error_set(err, 0, "bad volume `%s`: the container path `%s` must be absolute", spec, ctr);
        bool ro = false;
        if (opts) {
                for (char *tok = strtok(opts, ","); tok; tok = strtok(NULL, ",")) {
                        if (strcmp(tok, "ro") == 0)
                                ro = true;
                        else if (strcmp(tok, "rw") == 0)
                                ro = false;
                        else
                                return burrow_error_set(err, 0, "bad volume `%s`: unknown option `%s` (use ro or rw)", spec, tok);
                }
        }
        if (host[0] != '/' && strncmp(host, "./", 2) != 0 && strncmp(host, "../", 3) != 0 && strcmp(host, ".") != 0 &&
            strcmp(host, "..") != 0) {
                /* NAME:CTR, a volume in the store (made on first use) */
                if (!burrow_volume_name_valid(host))
                        return burrow_error_set(err, 0, "bad volume `%s`: `%s` is neither a host path (absolute or starting "
                                                        "with ./) nor a volume name ([A-Za-z0-9][A-Za-z0-9_.-]*)",
                                                spec, host);
                out->volume = strdup(host);
                out->dest = path_clean_absolute(ctr);
                out->readonly = ro;
                if (out->volume == NULL || out->dest == NULL) {
                        burrow_bind_free(out);
                        return burrow_error_set(err, ENOMEM, "parsing -v `%s`", spec);
                }
                return 0;
        }
        char resolved[PATH_MAX];
        if (realpath(host, resolved) == NULL)
                return burrow_error_set(err, errno, "bind source `%s` (from -v `%s`)", host, spec);
        out->source = strdup(resolved);
        out->dest = path_clean_absolute(ctr);
        out->readonly = ro;
        if (out->source == NULL || out->dest == NULL) {
                burrow_bind_free(out);
                return burrow_error_set(err, ENOMEM, "parsing -v `%s`", spec);
        }
        return 0;
}

static int parse_id(const char *s, size_t len, uint32_t *out)
{
        if (len == 0 || len > 10)
                return -1;
        unsigned long long v = 0;
        for (size_t i = 0; i < len; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -1;
                v = v * 10 + (unsigned)(s[i] - '0');
        }
        if (v >= UINT32_MAX) /* (uid_t)-1 means "no change" to the kernel */
                return -1;
        *out = (uint32_t)v;
        return 0;
}

int burrow_user_parse(const char *spec, uid_t *uid, gid_t *gid, bool *has_gid, struct burrow_error **err)
{
        const char *colon = strchr(spec, ':');
        size_t ulen = colon ? (size_t)(colon - spec) : strlen(spec);
        uint32_t u, g = 0;
        if (parse_id(spec, ulen, &u) < 0)
                return burrow_error_set(err, 0, "bad user `%s`: expected a numeric UID[:GID] (names need an image's /etc/passwd)", spec);
        if (colon && parse_id(colon + 1, strlen(colon + 1), &g) < 0)
                return burrow_error_set(err, 0, "bad user `%s`: the group must be a numeric GID", spec);
        *uid = u;
        *gid = g;
        *has_gid = colon != NULL;
        return 0;
}

int burrow_ulimit_parse(const char *spec, struct burrow_ulimit *out, struct burrow_error **err)
{
        /* the kernel's resources under the names docker and ulimit(1) use */
        static const struct {
                const char *name;
                int resource;
        } names[] = { { "core", RLIMIT_CORE },       { "cpu", RLIMIT_CPU },           { "data", RLIMIT_DATA },
                      { "fsize", RLIMIT_FSIZE },     { "locks", RLIMIT_LOCKS },       { "memlock", RLIMIT_MEMLOCK },
                      { "msgqueue", RLIMIT_MSGQUEUE }, { "nice", RLIMIT_NICE },       { "nofile", RLIMIT_NOFILE },
                      { "nproc", RLIMIT_NPROC },     { "rss", RLIMIT_RSS },           { "rtprio", RLIMIT_RTPRIO },
                      { "rttime", RLIMIT_RTTIME },   { "sigpending", RLIMIT_SIGPENDING }, { "stack", RLIMIT_STACK },
                      { "as", RLIMIT_AS } };
        const char *eq = strchr(spec, '=');
        size_t len = eq ? (size_t)(eq - spec) : 0;
        out->resource = -1;
        for (size_t i = 0; eq && i < sizeof(names) / sizeof(names[0]); i++)
                if (strlen(names[i].name) == len && strncmp(names[i].name, spec, len) == 0)
                        out->resource = names[i].resource;
        if (out->resource < 0)
                return burrow_error_set(err, 0, "--ulimit `%s`: expected NAME=SOFT[:HARD] with NAME one of core, cpu, data, fsize, "
                                                "locks, memlock, msgqueue, nice, nofile, nproc, rss, rtprio, rttime, sigpending, "
                                                "stack, as",
                                        spec);
        const char *soft = eq + 1, *colon = strchr(soft, ':');
        unsigned long long v[2];
        const char *part[2] = { soft, colon ? colon + 1 : soft };
        for (int i = 0; i < 2; i++) {
                char *end;
                errno = 0;
                if (strncmp(part[i], "-1", 2) == 0 && (part[i][2] == '\0' || part[i][2] == ':')) {
                        v[i] = RLIM_INFINITY;
                        continue;
                }
                v[i] = strtoull(part[i], &end, 10);
                if (errno || end == part[i] || (*end != '\0' && *end != ':') || part[i][0] == '-')
                        return burrow_error_set(err, 0, "--ulimit `%s`: limits are whole numbers (or -1 for unlimited)", spec);
        }
        if (v[0] > v[1])
                return burrow_error_set(err, 0, "--ulimit `%s`: the soft limit is above the hard one", spec);
        out->soft = v[0];
        out->hard = v[1];
        return 0;
}

int burrow_size_check(const char *text, const char *option, struct burrow_error **err)
{
        const char *p = text;
        while (*p >= '0' && *p <= '9')
                p++;
        if (p == text || (*p && (strchr("bkmgBKMG", *p) == NULL || p[1])))
                return burrow_error_set(err, 0, "%s `%s`: expected a size such as 64m, 1g or 65536k", option, text);
        return 0;
}

int burrow_tmpfs_parse(const char *spec, struct burrow_tmpfs *out, struct burrow_error **err)
{
        memset(out, 0, sizeof(*out));
        const char *colon = strchr(spec, ':');
        size_t len = colon ? (size_t)(colon - spec) : strlen(spec);
        if (len == 0 || spec[0] != '/')
                return burrow_error_set(err, 0, "--tmpfs `%s`: the path must be absolute (--tmpfs /run[:size=64m])", spec);
        cleanup_free char *path = strndup(spec, len);
        if (path == NULL)
                return burrow_error_set(err, ENOMEM, "--tmpfs");
        cleanup_free char *clean = path_clean_absolute(path);
        if (clean == NULL || strcmp(clean, "/") == 0)
                return burrow_error_set(err, 0, "--tmpfs `%s`: not a path a tmpfs can go on", spec);
        if (colon) {
                /* tmpfs's options only: letters, digits and the separators its options use */
                for (const char *p = colon + 1; *p; p++)
                        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || strchr("=,_%kmgKMG", *p)))
                                return burrow_error_set(err, 0, "--tmpfs `%s`: `%c` has no place in tmpfs options (such as "
                                                                "size=64m,mode=0755)",
                                                        spec, *p);
                if (colon[1] && (out->options = strdup(colon + 1)) == NULL)
                        return burrow_error_set(err, ENOMEM, "--tmpfs");
        }
        out->dest = steal_pointer(&clean);
        return 0;
}

int burrow_env_file_read(const char *path, char ***env, size_t *n, struct burrow_error **err)
{
        FILE *f = fopen(path, "re");
        if (f == NULL)
                return burrow_error_set(err, errno, "--env-file `%s`", path);
        char *line = NULL;
        size_t cap = 0;
        ssize_t len;
        int r = 0;
        unsigned lineno = 0;
        while (r == 0 && (len = getline(&line, &cap, f)) >= 0) {
                lineno++;
                while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
                        line[--len] = '\0';
                const char *p = line;
                while (*p == ' ' || *p == '\t')
                        p++;
                if (*p == '\0' || *p == '#')
                        continue;
                if (*p == '=') {
                        r = burrow_error_set(err, 0, "--env-file `%s` line %u: `%s` has no variable name", path, lineno, line);
                        break;
                }
                char **bigger = realloc(*env, (*n + 2) * sizeof(char *));
                if (bigger == NULL || (bigger[*n] = strdup(p)) == NULL) {
                        if (bigger)
                                *env = bigger;
                        r = burrow_error_set(err, ENOMEM, "--env-file");
                        break;
                }
                *env = bigger;
                bigger[++*n] = NULL;
        }
        free(line);
        fclose(f);
        return r;
}

int burrow_env_check(const char *entry, struct burrow_error **err)
{
        if (entry[0] == '\0' || entry[0] == '=')
                return burrow_error_set(err, 0, "bad environment entry `%s`: expected KEY=VALUE or KEY", entry);
        return 0;
}

const char *env_lookup(char *const *envp, const char *key)
{
        size_t klen = strlen(key);
        for (char *const *e = envp; e && *e; e++)
                if (strncmp(*e, key, klen) == 0 && (*e)[klen] == '=')
                        return *e + klen + 1;
        return NULL;
}

/* Set KEY=VALUE in a NULL-terminated array owned by the caller, replacing an old entry. */
static int env_put(char ***envp, size_t *n, const char *entry)
{
        size_t klen = strcspn(entry, "=");
        for (size_t i = 0; i < *n; i++)
                if (strncmp((*envp)[i], entry, klen) == 0 && (*envp)[i][klen] == '=') {
                        char *copy = strdup(entry);
                        if (copy == NULL)
                                return -1;
                        free((*envp)[i]);
                        (*envp)[i] = copy;
                        return 0;
                }
        char **bigger = realloc(*envp, (*n + 2) * sizeof(char *));
        if (bigger == NULL)
                return -1;
        *envp = bigger;
        if (((*envp)[*n] = strdup(entry)) == NULL)
                return -1;
        (*n)++;
        (*envp)[*n] = NULL;
        return 0;
}

char **burrow_build_env(const struct burrow_run_config *cfg, const char *hostname, struct burrow_error **err)
{
        cleanup_strv char **env = calloc(1, sizeof(char *));
        size_t n = 0;
        if (env == NULL)
                goto oom;
        char buf[512];
        snprintf(buf, sizeof(buf), "PATH=%s", BURROW_DEFAULT_PATH);
        if (env_put(&env, &n, buf) < 0)
                goto oom;
        snprintf(buf, sizeof(buf), "HOSTNAME=%s", hostname);
        if (env_put(&env, &n, buf) < 0)
                goto oom;
        if (env_put(&env, &n, (!cfg->has_user || cfg->uid == 0) ? "HOME=/root" : "HOME=/") < 0)
                goto oom;
        if (cfg->tty && env_put(&env, &n, "TERM=xterm") < 0)
                goto oom;
        for (size_t i = 0; i < cfg->n_env; i++) {
                const char *e = cfg->env[i];
                if (strchr(e, '=') == NULL) {
                        const char *v = getenv(e);
                        if (v == NULL)
                                continue; /* docker drops an unset KEY */
                        cleanup_free char *kv = NULL;
                        if (asprintf(&kv, "%s=%s", e, v) < 0 || env_put(&env, &n, kv) < 0)
                                goto oom;
                } else if (env_put(&env, &n, e) < 0) {
                        goto oom;
                }
        }
        return steal_pointer(&env);
oom:
        burrow_error_set(err, ENOMEM, "building the container environment");
        return NULL;
}

static json_t *strv_json(char *const *v, size_t n)
{
        json_t *a = json_array();
        for (size_t i = 0; v && (n == (size_t)-1 ? v[i] != NULL : i < n); i++)
                json_array_append_new(a, json_string(v[i]));
        return a;
}

json_t *burrow_run_config_to_json(const struct burrow_run_config *cfg)
{
        json_t *j = json_object();
        if (j == NULL)
                return NULL;
        json_object_set_new(j, "argv", strv_json(cfg->argv, (size_t)-1));
        /* KEY alone means burrow's value at creation, as with docker create */
        json_t *env = json_array();
        for (size_t i = 0; i < cfg->n_env; i++) {
                if (strchr(cfg->env[i], '=')) {
                        json_array_append_new(env, json_string(cfg->env[i]));
                } else if (getenv(cfg->env[i])) {
                        char *kv = NULL;
                        if (asprintf(&kv, "%s=%s", cfg->env[i], getenv(cfg->env[i])) >= 0) {
                                json_array_append_new(env, json_string(kv));
                                free(kv);
                        }
                }
        }
        json_object_set_new(j, "env", env);
        if (cfg->workdir)
                json_object_set_new(j, "workdir", json_string(cfg->workdir));
        if (cfg->user_name)
                json_object_set_new(j, "user_name", json_string(cfg->user_name));
        if (cfg->has_user) {
                json_object_set_new(j, "uid", json_integer(cfg->uid));
                if (cfg->has_gid)
                        json_object_set_new(j, "gid", json_integer(cfg->gid));
        }
        if (cfg->hostname)
                json_object_set_new(j, "hostname", json_string(cfg->hostname));
        json_t *binds = json_array();
        for (size_t i = 0; i < cfg->n_binds; i++) {
                const struct burrow_bind *b = &cfg->binds[i];
                json_t *o = json_pack("{s:s, s:b}", "dest", b->dest, "readonly", b->readonly);
                if (b->source)
                        json_object_set_new(o, "source", json_string(b->source));
                if (b->volume)
                        json_object_set_new(o, "volume", json_string(b->volume));
                if (b->anonymous)
                        json_object_set_new(o, "anonymous", json_true());
                if (b->device)
                        json_object_set_new(o, "device", json_true());
                if (b->nocopy)
                        json_object_set_new(o, "nocopy", json_true());
                json_array_append_new(binds, o);
        }
        json_object_set_new(j, "binds", binds);
        json_t *tmpfs = json_array();
        for (size_t i = 0; i < cfg->n_tmpfs; i++) {
                json_t *t = json_pack("{s:s}", "dest", cfg->tmpfs[i].dest);
                if (cfg->tmpfs[i].options)
                        json_object_set_new(t, "options", json_string(cfg->tmpfs[i].options));
                json_array_append_new(tmpfs, t);
        }
        json_object_set_new(j, "tmpfs", tmpfs);
        json_t *ulimits = json_array();
        for (size_t i = 0; i < cfg->n_ulimits; i++)
                json_array_append_new(ulimits, json_pack("{s:i, s:I, s:I}", "resource", cfg->ulimits[i].resource, "soft",
                                                         (json_int_t)cfg->ulimits[i].soft, "hard",
                                                         (json_int_t)cfg->ulimits[i].hard));
        json_object_set_new(j, "ulimits", ulimits);
        if (cfg->shm_size)
                json_object_set_new(j, "shm_size", json_string(cfg->shm_size));
        json_t *groups = json_array();
        for (size_t i = 0; i < cfg->n_group_add; i++)
                json_array_append_new(groups, json_integer(cfg->group_add[i]));
        json_object_set_new(j, "group_add", groups);
        json_object_set_new(j, "read_only", json_boolean(cfg->read_only));
        json_object_set_new(j, "interactive", json_boolean(cfg->interactive));
        json_object_set_new(j, "tty", json_boolean(cfg->tty));
        json_object_set_new(j, "init", json_boolean(cfg->init));
        json_object_set_new(j, "remove", json_boolean(cfg->remove));
        json_object_set_new(j, "uts_host", json_boolean(cfg->uts_host));
        json_object_set_new(j, "ipc_host", json_boolean(cfg->ipc_host));
        json_object_set_new(j, "pid_host", json_boolean(cfg->pid_host));
        json_object_set_new(j, "net", json_string(net_mode_name(cfg->net)));
        const struct net_options *no = &cfg->netopts;
        char a[INET_ADDRSTRLEN], m[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &no->network, a, sizeof(a));
        inet_ntop(AF_INET, &no->netmask, m, sizeof(m));
        json_t *nj = json_pack("{s:s, s:s, s:i, s:b, s:b, s:s, s:[], s:[], s:[], s:[]}", "network", a, "netmask", m, "mtu",
                               (int)no->mtu, "allow_host_loopback", no->allow_host_loopback, "enable_ipv6", no->enable_ipv6,
                               "port_handler", no->slirp_port_handler ? "slirp" : "splice", "ports", "dns", "dns_search",
                               "add_hosts");
        for (size_t i = 0; nj && i < no->n_ports; i++) {
                char ip[INET6_ADDRSTRLEN];
                net_port_host_text(&no->ports[i], ip);
                json_array_append_new(json_object_get(nj, "ports"),
                                      json_pack("{s:s, s:i, s:i, s:s}", "host_ip", ip, "host_port", no->ports[i].host_port,
                                                "container_port", no->ports[i].ctr_port, "protocol",
                                                no->ports[i].udp ? "udp" : "tcp"));
        }
        for (size_t i = 0; nj && i < no->n_dns; i++)
                json_array_append_new(json_object_get(nj, "dns"), json_string(no->dns[i]));
        for (size_t i = 0; nj && i < no->n_dns_search; i++)
                json_array_append_new(json_object_get(nj, "dns_search"), json_string(no->dns_search[i]));
        for (size_t i = 0; nj && i < no->n_add_hosts; i++)
                json_array_append_new(json_object_get(nj, "add_hosts"), json_string(no->add_hosts[i]));
        json_object_set_new(j, "network", nj);
        const struct burrow_security *sec = &cfg->security;
        json_t *caps = json_pack("{s:b, s:b, s:[], s:[]}", "add_all", sec->cap_add_all, "drop_all", sec->cap_drop_all,
                                 "add", "drop");
        for (int c = 0; c < 64; c++) {
                char name[64];
                if ((sec->cap_add >> c) & 1 && caps_name(c, name, sizeof(name)))
                        json_array_append_new(json_object_get(caps, "add"), json_string(name));
                if ((sec->cap_drop >> c) & 1 && caps_name(c, name, sizeof(name)))
                        json_array_append_new(json_object_get(caps, "drop"), json_string(name));
        }
        json_object_set_new(j, "capabilities", caps);
        json_object_set_new(j, "privileged", json_boolean(sec->privileged));
        json_object_set_new(j, "no_new_privileges", json_boolean(!sec->allow_new_privs));
        json_object_set_new(j, "seccomp", json_string(sec->seccomp == BURROW_SECCOMP_UNCONFINED ? "unconfined"
                                                      : sec->seccomp == BURROW_SECCOMP_PROFILE  ? "profile"
                                                                                                : "default"));
        if (sec->seccomp == BURROW_SECCOMP_PROFILE) {
                json_object_set_new(j, "seccomp_profile", json_string(sec->seccomp_profile));
                json_object_set_new(j, "seccomp_source", json_string(sec->seccomp_source));
        }
        json_object_set_new(j, "userns", json_string(cfg->userns == USERNS_SINGLE    ? "single"
                                                     : cfg->userns == USERNS_KEEP_ID ? "keep-id"
                                                                                     : "auto"));
        return j;
}

static int strv_from_json(json_t *arr, char ***out, size_t *n, const char *what, struct burrow_error **err)
{
        size_t count = json_array_size(arr);
        char **v = calloc(count + 1, sizeof(char *));
        if (v == NULL)
                return burrow_error_set(err, ENOMEM, "%s", what);
        *out = v;
        for (size_t i = 0; i < count; i++) {
                const char *s = json_string_value(json_array_get(arr, i));
                if (s == NULL)
                        return burrow_error_set(err, 0, "the container's stored %s holds something that is not a string", what);
                if ((v[i] = strdup(s)) == NULL)
                        return burrow_error_set(err, ENOMEM, "%s", what);
                if (n)
                        *n = i + 1;
        }
        return 0;
}

static int dup_member(json_t *j, const char *key, char **dst, struct burrow_error **err)
{
        const char *s = json_string_value(json_object_get(j, key));
        if (s && (*dst = strdup(s)) == NULL)
                return burrow_error_set(err, ENOMEM, "%s", key);
        return 0;
}

int burrow_run_config_from_json(json_t *j, struct burrow_run_config *cfg, struct burrow_error **err)
{
        if (!json_is_object(j) || !json_is_array(json_object_get(j, "argv")))
                return burrow_error_set(err, 0, "the container's config.json has no \"run\" section (made by an older burrow?); "
                                                "remove it and run the image again");
        if (strv_from_json(json_object_get(j, "argv"), &cfg->argv, NULL, "command", err) < 0 ||
            strv_from_json(json_object_get(j, "env"), &cfg->env, &cfg->n_env, "environment", err) < 0 ||
            dup_member(j, "workdir", &cfg->workdir, err) < 0 || dup_member(j, "user_name", &cfg->user_name, err) < 0 ||
            dup_member(j, "hostname", &cfg->hostname, err) < 0 || dup_member(j, "shm_size", &cfg->shm_size, err) < 0)
                return -1;
        if (json_is_integer(json_object_get(j, "uid"))) {
                cfg->has_user = true;
                cfg->uid = (uid_t)json_integer_value(json_object_get(j, "uid"));
                if (json_is_integer(json_object_get(j, "gid"))) {
                        cfg->has_gid = true;
                        cfg->gid = (gid_t)json_integer_value(json_object_get(j, "gid"));
                }
        }
        size_t i;
        json_t *v;
        json_t *binds = json_object_get(j, "binds");
        if (json_array_size(binds) && (cfg->binds = calloc(json_array_size(binds), sizeof(*cfg->binds))) == NULL)
                return burrow_error_set(err, ENOMEM, "binds");
        json_array_foreach(binds, i, v)
        {
                struct burrow_bind *b = &cfg->binds[cfg->n_binds++];
                if (dup_member(v, "source", &b->source, err) < 0 || dup_member(v, "dest", &b->dest, err) < 0 ||
                    dup_member(v, "volume", &b->volume, err) < 0)
                        return -1;
                if (b->source == NULL || b->dest == NULL)
                        return burrow_error_set(err, 0, "the container's stored bind #%zu is incomplete", i + 1);
                b->readonly = json_is_true(json_object_get(v, "readonly"));
                b->anonymous = json_is_true(json_object_get(v, "anonymous"));
                b->device = json_is_true(json_object_get(v, "device"));
                b->nocopy = json_is_true(json_object_get(v, "nocopy"));
        }
        json_t *tmpfs = json_object_get(j, "tmpfs");
        if (json_array_size(tmpfs) && (cfg->tmpfs = calloc(json_array_size(tmpfs), sizeof(*cfg->tmpfs))) == NULL)
                return burrow_error_set(err, ENOMEM, "tmpfs");
        json_array_foreach(tmpfs, i, v)
        {
                struct burrow_tmpfs *t = &cfg->tmpfs[cfg->n_tmpfs++];
                if (dup_member(v, "dest", &t->dest, err) < 0 || dup_member(v, "options", &t->options, err) < 0)
                        return -1;
                if (t->dest == NULL)
                        return burrow_error_set(err, 0, "the container's stored tmpfs #%zu has no path", i + 1);
        }
        json_array_foreach(json_object_get(j, "ulimits"), i, v)
        {
                if (cfg->n_ulimits >= sizeof(cfg->ulimits) / sizeof(cfg->ulimits[0]))
                        break;
                struct burrow_ulimit *u = &cfg->ulimits[cfg->n_ulimits++];
                u->resource = (int)json_integer_value(json_object_get(v, "resource"));
                u->soft = (unsigned long long)json_integer_value(json_object_get(v, "soft"));
                u->hard = (unsigned long long)json_integer_value(json_object_get(v, "hard"));
        }
        json_t *groups = json_object_get(j, "group_add");
        if (json_array_size(groups) && (cfg->group_add = calloc(json_array_size(groups), sizeof(gid_t))) == NULL)
                return burrow_error_set(err, ENOMEM, "groups");
        json_array_foreach(groups, i, v)
                cfg->group_add[cfg->n_group_add++] = (gid_t)json_integer_value(v);
        cfg->read_only = json_is_true(json_object_get(j, "read_only"));
        cfg->interactive = json_is_true(json_object_get(j, "interactive"));
        cfg->tty = json_is_true(json_object_get(j, "tty"));
        cfg->init = !json_is_false(json_object_get(j, "init"));
        cfg->remove = json_is_true(json_object_get(j, "remove"));
        cfg->uts_host = json_is_true(json_object_get(j, "uts_host"));
        cfg->ipc_host = json_is_true(json_object_get(j, "ipc_host"));
        cfg->pid_host = json_is_true(json_object_get(j, "pid_host"));
        const char *net = json_string_value(json_object_get(j, "net"));
        if (net && net_mode_parse(net, &cfg->net, NULL, err) < 0)
                return -1;
        cfg->net_given = net != NULL;
        json_t *nj = json_object_get(j, "network");
        if (json_is_object(nj)) {
                struct net_options *no = &cfg->netopts;
                const char *a = json_string_value(json_object_get(nj, "network"));
                const char *m = json_string_value(json_object_get(nj, "netmask"));
                if (a && m && (inet_pton(AF_INET, a, &no->network) != 1 || inet_pton(AF_INET, m, &no->netmask) != 1))
                        return burrow_error_set(err, 0, "the container's stored network `%s/%s` is damaged", a, m);
                if (json_is_integer(json_object_get(nj, "mtu")))
                        no->mtu = (unsigned)json_integer_value(json_object_get(nj, "mtu"));
                no->allow_host_loopback = json_is_true(json_object_get(nj, "allow_host_loopback"));
                no->enable_ipv6 = !json_is_false(json_object_get(nj, "enable_ipv6"));
                const char *ph = json_string_value(json_object_get(nj, "port_handler"));
                no->slirp_port_handler = ph && strcmp(ph, "slirp") == 0;
                json_array_foreach(json_object_get(nj, "ports"), i, v)
                {
                        char spec[128];
                        const char *ip = json_string_value(json_object_get(v, "host_ip")) ?: "127.0.0.1";
                        bool v6 = strchr(ip, ':') != NULL;
                        snprintf(spec, sizeof(spec), "%s%s%s:%lld:%lld/%s", v6 ? "[" : "", ip, v6 ? "]" : "",
                                 (long long)json_integer_value(json_object_get(v, "host_port")),
                                 (long long)json_integer_value(json_object_get(v, "container_port")),
                                 json_string_value(json_object_get(v, "protocol")) ?: "tcp");
                        if (net_port_parse(spec, no, err) < 0)
                                return burrow_error_wrap(err, "the container's stored ports");
                }
                json_array_foreach(json_object_get(nj, "dns"), i, v)
                        if (!json_is_string(v) || net_dns_add(json_string_value(v), no, err) < 0)
                                return burrow_error_wrap(err, "the container's stored --dns");
                json_array_foreach(json_object_get(nj, "dns_search"), i, v)
                        if (!json_is_string(v) || net_dns_search_add(json_string_value(v), no, err) < 0)
                                return burrow_error_wrap(err, "the container's stored --dns-search");
                json_array_foreach(json_object_get(nj, "add_hosts"), i, v)
                {
                        /* kept as "IP\tNAME" */
                        const char *line = json_string_value(v);
                        const char *tab = line ? strchr(line, '\t') : NULL;
                        char spec[320];
                        if (tab == NULL)
                                return burrow_error_set(err, 0, "the container's stored --add-host entries are damaged");
                        snprintf(spec, sizeof(spec), "%s:%.*s", tab + 1, (int)(tab - line), line);
                        if (net_add_host_parse(spec, no, err) < 0)
                                return burrow_error_wrap(err, "the container's stored --add-host");
                }
        }
        struct burrow_security *sec = &cfg->security;
        json_t *caps = json_object_get(j, "capabilities");
        sec->cap_add_all = json_is_true(json_object_get(caps, "add_all"));
        sec->cap_drop_all = json_is_true(json_object_get(caps, "drop_all"));
        json_array_foreach(json_object_get(caps, "add"), i, v)
                if (!json_is_string(v) || burrow_cap_option(json_string_value(v), true, sec, err) < 0)
                        return burrow_error_wrap(err, "the container's stored capabilities");
        json_array_foreach(json_object_get(caps, "drop"), i, v)
                if (!json_is_string(v) || burrow_cap_option(json_string_value(v), false, sec, err) < 0)
                        return burrow_error_wrap(err, "the container's stored capabilities");
        sec->privileged = json_is_true(json_object_get(j, "privileged"));
        sec->allow_new_privs = json_is_false(json_object_get(j, "no_new_privileges"));
        const char *seccomp = json_string_value(json_object_get(j, "seccomp"));
        if (seccomp && strcmp(seccomp, "unconfined") == 0) {
                sec->seccomp = BURROW_SECCOMP_UNCONFINED;
        } else if (seccomp && strcmp(seccomp, "profile") == 0) {
                sec->seccomp = BURROW_SECCOMP_PROFILE;
                if (dup_member(j, "seccomp_profile", &sec->seccomp_profile, err) < 0 ||
                    dup_member(j, "seccomp_source", &sec->seccomp_source, err) < 0)
                        return -1;
                if (sec->seccomp_profile == NULL)
                        return burrow_error_set(err, 0, "the container's stored seccomp profile is missing; remove the container "
                                                        "and make it again");
        }
        const char *userns = json_string_value(json_object_get(j, "userns"));
        if (userns && userns_mode_parse(userns, &cfg->userns, err) < 0)
                return -1;
        return 0;
}
