/* Container verbs: ps, rm. Parsing and printing only. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "fs/commit.h"
#include "fs/container.h"
#include "fs/store.h"
#include "sandbox/cli.h"
#include "sandbox/runroot.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/template.h"

static void cleanup_jsonp(json_t **j)
{
        json_decref(*j);
}
#define cleanup_json __attribute__((cleanup(cleanup_jsonp)))

static const char ps_help[] = "Usage: burrow ps [-a] [-q] [--format FORMAT] [-f FILTER]...\n"
                              "\n"
                              "List containers: the running ones, or all with -a (exited ones with their exit code).\n"
                              "\n"
                              "  -a, --all             also containers that are not running\n"
                              "  -q, --quiet           IDs only\n"
                              "  --format FORMAT       {{.ID}} {{.Image}} {{.Command}} {{.CreatedAt}} {{.RunningFor}}\n"
                              "                        {{.Status}} {{.Names}} {{.State}} {{.Mounts}} {{.Ports}}; \"table ...\"\n"
                              "                        adds a header; \"json\" prints one JSON object per container\n"
                              "  -f, --filter KEY=VAL  id=PREFIX, name=PART, status=created|running|exited,\n"
                              "                        ancestor=IMAGE, exited=CODE, volume=NAME|PATH (one key given\n"
                              "                        twice: either matches)\n";
static const char stop_help[] = "Usage: burrow stop [-t SECONDS] CONTAINER...\n"
                                "\n"
                                "Stop running containers: SIGTERM to the workload, then SIGKILL after SECONDS (default 10).\n";
static const char kill_help[] = "Usage: burrow kill [-s SIGNAL] CONTAINER...\n"
                                "\n"
                                "Send SIGNAL (a name such as TERM or SIGHUP, or a number; default KILL) to running containers.\n";
static const char wait_help[] = "Usage: burrow wait CONTAINER...\n"
                                "\n"
                                "Wait until containers stop, then print each one's exit code.\n";
static const char logs_help[] = "Usage: burrow logs [-f] CONTAINER\n"
                                "\n"
                                "Print the output of a container run with -d; -f keeps following it until it stops.\n";
static const char rm_help[] = "Usage: burrow rm [-f] [-v] CONTAINER...\n"
                              "\n"
                              "Remove containers (by name, ID or unique ID prefix) with their writable layer. A running\n"
                              "container is refused unless -f, which kills it first.\n"
                              "\n"
                              "  -f, --force   kill a running container, then remove it\n"
                              "  -v, --volumes also remove its anonymous volumes (those made for the image's Volumes)\n";

static const char commit_help[] = "Usage: burrow commit [-m MESSAGE] [-a AUTHOR] CONTAINER [NAME[:TAG]]\n"
                                  "\n"
                                  "Make an image of a container: its image's layers plus one layer of what it changed\n"
                                  "(deletions included), with its command, environment, working directory and user. Prints\n"
                                  "the new image's ID.\n"
                                  "\n"
                                  "  -m, --message TEXT   comment for the image's history\n"
                                  "  -a, --author NAME    author of the image\n";
static const char export_help[] = "Usage: burrow export [-o FILE] CONTAINER\n"
                                  "\n"
                                  "Write a container's whole file tree (its image's layers with its changes on top) as a tar\n"
                                  "to FILE or stdout. Owners are the container's IDs.\n"
                                  "\n"
                                  "  -o, --output FILE    write to FILE instead of stdout\n";

int cli_container_help(const char *verb, FILE *out)
{
        if (strcmp(verb, "commit") == 0)
                fputs(commit_help, out);
        else if (strcmp(verb, "export") == 0)
                fputs(export_help, out);
        else if (strcmp(verb, "ps") == 0)
                fputs(ps_help, out);
        else if (strcmp(verb, "rm") == 0)
                fputs(rm_help, out);
        else if (strcmp(verb, "stop") == 0)
                fputs(stop_help, out);
        else if (strcmp(verb, "kill") == 0)
                fputs(kill_help, out);
        else if (strcmp(verb, "wait") == 0)
                fputs(wait_help, out);
        else if (strcmp(verb, "logs") == 0)
                fputs(logs_help, out);
        else
                return -1;
        return 0;
}

bool cli_container_verb(const char *verb)
{
        return strcmp(verb, "ps") == 0 || strcmp(verb, "rm") == 0 || strcmp(verb, "stop") == 0 || strcmp(verb, "kill") == 0 ||
               strcmp(verb, "wait") == 0 || strcmp(verb, "logs") == 0 || strcmp(verb, "commit") == 0 ||
               strcmp(verb, "export") == 0;
}

static void human_ago(json_int_t then, char *buf, size_t size)
{
        long long d = (long long)time(NULL) - (long long)then;
        if (d < 60)
                snprintf(buf, size, "%lld seconds ago", d < 0 ? 0 : d);
        else if (d < 3600)
                snprintf(buf, size, "%lld minutes ago", d / 60);
        else if (d < 86400)
                snprintf(buf, size, "%lld hours ago", d / 3600);
        else
                snprintf(buf, size, "%lld days ago", d / 86400);
}

static const struct template_field ps_fields[] = {
        { "ID", "CONTAINER ID" },  { "Image", "IMAGE" },         { "Command", "COMMAND" }, { "CreatedAt", "CREATED AT" },
        { "RunningFor", "CREATED" }, { "Status", "STATUS" },     { "Names", "NAMES" },     { "State", "STATE" },
        { "Mounts", "MOUNTS" },    { "Ports", "PORTS" },
};
#define PS_FIELDS (sizeof(ps_fields) / sizeof(ps_fields[0]))

struct ps_options {
        bool all, quiet;
        const char *format;
        const char *filters[16];
        size_t n_filters;
};

static const char *const ps_filter_keys[] = { "id", "name", "status", "ancestor", "exited", "volume" };

static int ps_filters_check(const struct ps_options *o, struct burrow_error **err)
{
        for (size_t i = 0; i < o->n_filters; i++) {
                const char *eq = strchr(o->filters[i], '=');
                bool known = false;
                for (size_t k = 0; eq && k < sizeof(ps_filter_keys) / sizeof(ps_filter_keys[0]); k++)
                        known |= strlen(ps_filter_keys[k]) == (size_t)(eq - o->filters[i]) &&
                                 strncmp(o->filters[i], ps_filter_keys[k], (size_t)(eq - o->filters[i])) == 0;
                if (!known)
                        return burrow_error_set(err, 0, "unknown filter `%s` (use id=, name=, status=created|running|exited, "
                                                        "ancestor=IMAGE, exited=CODE or volume=NAME)",
                                                o->filters[i]);
                if (strncmp(o->filters[i], "status=", 7) == 0 && strcmp(eq + 1, "created") != 0 && strcmp(eq + 1, "running") != 0 &&
                    strcmp(eq + 1, "exited") != 0)
                        return burrow_error_set(err, 0, "filter `%s`: status is created, running or exited", o->filters[i]);
        }
        return 0;
}

/* docker's rules: filters of one key are ORed, different keys ANDed. */
static bool ps_passes(struct store *s, const struct ps_options *o, json_t *c)
{
        for (size_t k = 0; k < sizeof(ps_filter_keys) / sizeof(ps_filter_keys[0]); k++) {
                const char *key = ps_filter_keys[k];
                size_t klen = strlen(key);
                bool seen = false, any = false;
                for (size_t i = 0; i < o->n_filters; i++) {
                        const char *f = o->filters[i];
                        if (strncmp(f, key, klen) != 0 || f[klen] != '=')
                                continue;
                        seen = true;
                        const char *want = f + klen + 1;
                        const char *id = json_string_value(json_object_get(c, "id"));
                        const char *status = json_string_value(json_object_get(c, "status"));
                        if (strcmp(key, "id") == 0)
                                any |= strncmp(id, want, strlen(want)) == 0;
                        else if (strcmp(key, "name") == 0)
                                any |= strstr(json_string_value(json_object_get(c, "name")) ?: "", want) != NULL;
                        else if (strcmp(key, "status") == 0)
                                any |= strcmp(status, want) == 0;
                        else if (strcmp(key, "exited") == 0)
                                any |= strcmp(status, "exited") == 0 && json_is_integer(json_object_get(c, "exit_code")) &&
                                       json_integer_value(json_object_get(c, "exit_code")) == strtoll(want, NULL, 10);
                        else if (strcmp(key, "ancestor") == 0) {
                                char image_id[DIGEST_STR_LEN + 1];
                                const char *img = json_string_value(json_object_get(c, "image"));
                                const char *img_name = json_string_value(json_object_get(c, "image_name"));
                                any |= (img_name && strcmp(img_name, want) == 0) ||
                                       (img && store_resolve(s, want, image_id, NULL) == 0 && strcmp(image_id, img) == 0);
                        } else if (strcmp(key, "volume") == 0) {
                                cleanup_json json_t *cfg = container_config(s, id, NULL);
                                size_t b;
                                json_t *m;
                                json_array_foreach(json_object_get(json_object_get(cfg, "run"), "binds"), b, m)
                                {
                                        const char *v = json_string_value(json_object_get(m, "volume"));
                                        const char *d = json_string_value(json_object_get(m, "dest"));
                                        any |= (v && strcmp(v, want) == 0) || (d && strcmp(d, want) == 0);
                                }
                        }
                }
                if (seen && !any)
                        return false;
        }
        return true;
}

static int ps(struct store *s, const struct ps_options *o)
{
        struct burrow_error *err = NULL;
        if ((o->format && template_check(o->format, ps_fields, PS_FIELDS, &err) < 0) || ps_filters_check(o, &err) < 0)
                return cli_fail(err);
        cleanup_json json_t *list = container_list(s, &err);
        if (list == NULL)
                return cli_fail(err);
        /* a status filter asks for containers that are not running too */
        bool all = o->all;
        for (size_t i = 0; i < o->n_filters; i++)
                all |= strncmp(o->filters[i], "status=", 7) == 0 || strncmp(o->filters[i], "exited=", 7) == 0;
        if (o->format && !o->quiet)
                template_header(stdout, o->format, ps_fields, PS_FIELDS);
        else if (!o->quiet)
                printf("%-14s %-28s %-24s %-26s %s\n", "CONTAINER ID", "IMAGE", "COMMAND", "STATUS", "NAMES");
        size_t i;
        json_t *c;
        json_array_foreach(list, i, c)
        {
                const char *status = json_string_value(json_object_get(c, "status"));
                bool running = status && strcmp(status, "running") == 0;
                if ((!all && !running) || !ps_passes(s, o, c))
                        continue;
                const char *id = json_string_value(json_object_get(c, "id"));
                if (o->quiet) {
                        printf("%.12s\n", id);
                        continue;
                }
                char full_command[1024] = "";
                size_t k;
                json_t *a;
                json_array_foreach(json_object_get(c, "argv"), k, a)
                {
                        size_t used = strlen(full_command);
                        snprintf(full_command + used, sizeof(full_command) - used, "%s%s", k ? " " : "", json_string_value(a));
                }
                char command[32];
                snprintf(command, sizeof(command), "%s", full_command);
                if (strlen(full_command) > 22)
                        snprintf(command + 19, sizeof(command) - 19, "...");
                char st[64], ago[32] = "";
                if (running) {
                        json_int_t started = json_integer_value(json_object_get(c, "started"));
                        if (started) {
                                human_ago(started, ago, sizeof(ago));
                                char *sp = strstr(ago, " ago");
                                if (sp)
                                        *sp = '\0';
                                snprintf(st, sizeof(st), "Up %s", ago);
                        } else {
                                snprintf(st, sizeof(st), "Up");
                        }
                } else if (strcmp(status, "exited") == 0 && json_is_integer(json_object_get(c, "exit_code"))) {
                        human_ago(json_integer_value(json_object_get(c, "finished")), ago, sizeof(ago));
                        snprintf(st, sizeof(st), "Exited (%lld) %s", (long long)json_integer_value(json_object_get(c, "exit_code")),
                                 ago);
                } else if (strcmp(status, "exited") == 0) {
                        snprintf(st, sizeof(st), "Exited (unknown)");
                } else {
                        snprintf(st, sizeof(st), "Created");
                }
                const char *image = json_string_value(json_object_get(c, "image_name")) ?: "?";
                const char *name = json_string_value(json_object_get(c, "name")) ?: "";
                if (o->format) {
                        char short_id[13], quoted[1030], mounts[1024] = "", created_ago[32] = "";
                        snprintf(short_id, sizeof(short_id), "%.12s", id);
                        snprintf(quoted, sizeof(quoted), "\"%s\"", full_command);
                        cleanup_json json_t *cfg = container_config(s, id, NULL);
                        size_t b;
                        json_t *m;
                        json_array_foreach(json_object_get(json_object_get(cfg, "run"), "binds"), b, m)
                        {
                                size_t used = strlen(mounts);
                                const char *v = json_string_value(json_object_get(m, "volume"));
                                snprintf(mounts + used, sizeof(mounts) - used, "%s%s", b ? "," : "",
                                         v ? v : json_string_value(json_object_get(m, "dest")));
                        }
                        struct tm tm;
                        char created_at[64] = "";
                        const char *created = json_string_value(json_object_get(c, "created"));
                        if (created && strptime(created, "%Y-%m-%dT%H:%M:%SZ", &tm)) {
                                time_t t = timegm(&tm);
                                human_ago(t, created_ago, sizeof(created_ago));
                                strftime(created_at, sizeof(created_at), "%Y-%m-%d %H:%M:%S +0000 UTC", &tm);
                        }
                        const char *values[PS_FIELDS] = { short_id,   image, quoted, created_at, created_ago,
                                                          st,         name,  status, mounts,     "" };
                        template_row(stdout, o->format, ps_fields, values, PS_FIELDS);
                        continue;
                }
                printf("%-14.12s %-28s \"%s\"%*s %-26s %s\n", id, image, command,
                       (int)(22 - strlen(command) > 22 ? 0 : 22 - strlen(command)), "", st, name);
        }
        return 0;
}

static int signal_parse(const char *text, int *sig, struct burrow_error **err)
{
        char *end;
        long n = strtol(text, &end, 10);
        if (*text && *end == '\0' && n > 0 && n < NSIG) {
                *sig = (int)n;
                return 0;
        }
        const char *name = strncasecmp(text, "SIG", 3) == 0 ? text + 3 : text;
        for (int i = 1; i < NSIG; i++) {
                const char *abbrev = sigabbrev_np(i);
                if (abbrev && strcasecmp(abbrev, name) == 0) {
                        *sig = i;
                        return 0;
                }
        }
        return burrow_error_set(err, 0, "unknown signal `%s` (a name such as TERM or a number)", text);
}

/* The host PID of a running container's init. */
static int container_pid(struct store *s, const char *id, pid_t *pid, struct burrow_error **err)
{
        if (!container_is_running(s, id))
                return burrow_error_set(err, 0, "container %.12s is not running", id);
        cleanup_json json_t *st = container_state(s, id);
        json_int_t p = json_integer_value(json_object_get(st, "pid"));
        if (p <= 1)
                return burrow_error_set(err, 0, "container %.12s is starting; try again", id);
        *pid = (pid_t)p;
        return 0;
}

static bool wait_stopped(struct store *s, const char *id, int tenths)
{
        for (int i = 0; i < tenths && container_is_running(s, id); i++)
                usleep(100000);
        return !container_is_running(s, id);
}

/* rm -f of a running container: kill its init (the burrow run that started it then lets go of
 * the container), and wait for that. The PID comes from the store, whatever the runroot. */
static int kill_and_wait(struct store *s, const char *id, struct burrow_error **err)
{
        pid_t pid;
        if (container_pid(s, id, &pid, err) < 0)
                return -1;
        if (kill(pid, SIGKILL) < 0 && errno != ESRCH)
                return burrow_error_set(err, errno, "killing container %.12s (pid %d)", id, (int)pid);
        if (!wait_stopped(s, id, 100))
                return burrow_error_set(err, 0, "container %.12s did not stop within 10 s", id);
        return 0;
}


int cli_container_inspect(struct store *s, const char *ref, FILE *out, struct burrow_error **err)
{
        char id[CONTAINER_ID_LEN + 1];
        if (container_resolve(s, ref, id, NULL) < 0)
                return 1; /* not a container: maybe an image */
        cleanup_json json_t *cfg = container_config(s, id, err);
        if (cfg == NULL)
                return -1;
        cleanup_json json_t *st = container_state(s, id);
        bool running = container_is_running(s, id);
        const char *status = running ? "running" : st ? "exited" : "created";
        char upper[PATH_MAX], work[PATH_MAX], merged[PATH_MAX];
        snprintf(upper, sizeof(upper), "%s/containers/%s/upper", s->root, id);
        snprintf(work, sizeof(work), "%s/containers/%s/work", s->root, id);
        snprintf(merged, sizeof(merged), "%s/containers/%s/merged", s->root, id);
        cleanup_json json_t *lower = json_array();
        size_t i;
        json_t *l;
        json_array_foreach(json_object_get(cfg, "layers"), i, l)
        {
                char p[PATH_MAX];
                snprintf(p, sizeof(p), "%s/layers/%s", s->root, digest_hex(json_string_value(l)));
                json_array_insert_new(lower, 0, json_string(p)); /* topmost first, as overlay lists them */
        }
        json_t *exit_code = json_object_get(st, "exit_code");
        json_t *started = json_object_get(st, "started"), *finished = json_object_get(st, "finished");
        cleanup_json json_t *doc = json_pack(
                "[{s:s, s:O, s:O, s:O, s:O, s:{s:O}, s:{s:s, s:b, s:O, s:I, s:O, s:O}, s:O, s:{s:{s:s, s:s, s:s, s:O}}}]", "Id", id,
                "Name", json_object_get(cfg, "name"), "Created", json_object_get(cfg, "created"), "Image",
                json_object_get(cfg, "image"), "ImageName", json_object_get(cfg, "image_name"), "Config", "Cmd",
                json_object_get(cfg, "argv"), "State", "Status", status, "Running", running, "ExitCode",
                exit_code && !running ? exit_code : json_null(), "Pid",
                running ? json_integer_value(json_object_get(st, "pid")) : (json_int_t)0, "StartedAt",
                started ? started : json_null(), "FinishedAt", finished ? finished : json_null(), "Driver",
                json_object_get(cfg, "driver"), "GraphDriver", "Data", "UpperDir", upper, "WorkDir", work, "MergedDir", merged,
                "LowerDir", lower);
        if (doc == NULL)
                return burrow_error_set(err, ENOMEM, "inspect");
        json_t *view = json_array_get(doc, 0), *run = json_object_get(cfg, "run");
        json_t *config = json_object_get(view, "Config");
        if (json_is_object(json_object_get(cfg, "exposed_ports")))
                json_object_set(config, "ExposedPorts", json_object_get(cfg, "exposed_ports"));
        if (json_is_array(json_object_get(run, "env")))
                json_object_set(config, "Env", json_object_get(run, "env"));
        if (json_is_string(json_object_get(run, "workdir")))
                json_object_set(config, "WorkingDir", json_object_get(run, "workdir"));
        /* docker's Mounts: binds, volumes, devices */
        json_t *mounts = json_array();
        json_t *b;
        json_array_foreach(json_object_get(run, "binds"), i, b)
        {
                bool volume = json_is_string(json_object_get(b, "volume"));
                json_t *m = json_pack("{s:s, s:O, s:O, s:b}", "Type",
                                      volume ? "volume" : json_is_true(json_object_get(b, "device")) ? "device" : "bind", "Source",
                                      json_object_get(b, "source") ?: json_null(), "Destination", json_object_get(b, "dest"), "RW",
                                      !json_is_true(json_object_get(b, "readonly")));
                if (volume)
                        json_object_set(m, "Name", json_object_get(b, "volume"));
                json_array_append_new(mounts, m);
        }
        json_object_set_new(view, "Mounts", mounts);
        /* docker's HostConfig: the network mode and -p's bindings, "80/tcp": [{HostIp, HostPort}] */
        json_t *network = json_object_get(run, "network");
        json_t *bindings = json_object();
        json_t *pb;
        json_array_foreach(json_object_get(network, "ports"), i, pb)
        {
                char key[32], host_port[16];
                snprintf(key, sizeof(key), "%lld/%s", (long long)json_integer_value(json_object_get(pb, "container_port")),
                         json_string_value(json_object_get(pb, "protocol")) ?: "tcp");
                snprintf(host_port, sizeof(host_port), "%lld", (long long)json_integer_value(json_object_get(pb, "host_port")));
                json_t *list = json_object_get(bindings, key);
                if (list == NULL) {
                        list = json_array();
                        json_object_set_new(bindings, key, list);
                }
                json_array_append_new(list, json_pack("{s:O, s:s}", "HostIp", json_object_get(pb, "host_ip") ?: json_null(),
                                                      "HostPort", host_port));
        }
        json_object_set_new(view, "HostConfig",
                            json_pack("{s:O, s:o}", "NetworkMode", json_object_get(run, "net") ?: json_null(), "PortBindings",
                                      bindings));
        json_dumpf(doc, out, JSON_INDENT(4));
        fputc('\n', out);
        return 0;
}

/* Copy what the log has from *offset on to stdout. */
static int log_copy(int fd, off_t *offset)
{
        char buf[65536];
        ssize_t n;
        while ((n = pread(fd, buf, sizeof(buf), *offset)) > 0) {
                if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
                        return -1;
                *offset += n;
        }
        fflush(stdout);
        return n < 0 ? -1 : 0;
}

static int container_logs(struct store *s, const char *id, const char *shown, bool follow, struct burrow_error **err)
{
        char p[128];
        snprintf(p, sizeof(p), "containers/%s/ctr.log", id);
        cleanup_close int fd = openat(s->fd, p, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                if (errno == ENOENT)
                        return burrow_error_set(err, 0, "container `%s` has no log: it did not run with -d (its output went "
                                                        "to the terminal)",
                                                shown);
                return burrow_error_set(err, errno, "opening `%s/%s`", s->root, p);
        }
        off_t offset = 0;
        if (log_copy(fd, &offset) < 0)
                return burrow_error_set(err, errno, "reading `%s/%s`", s->root, p);
        while (follow && container_is_running(s, id)) {
                usleep(100000);
                if (log_copy(fd, &offset) < 0)
                        return burrow_error_set(err, errno, "reading `%s/%s`", s->root, p);
        }
        if (follow && log_copy(fd, &offset) < 0) /* what came before it stopped */
                return burrow_error_set(err, errno, "reading `%s/%s`", s->root, p);
        return 0;
}

/* stop, kill, wait on one container. */
static int container_verb_one(struct store *s, const char *verb, const char *id, const char *shown, int sig, long timeout,
                              bool follow, struct burrow_error **err)
{
        if (strcmp(verb, "logs") == 0)
                return container_logs(s, id, shown, follow, err);
        if (strcmp(verb, "wait") == 0) {
                while (!wait_stopped(s, id, 10))
                        ;
                cleanup_json json_t *st = container_state(s, id);
                json_t *code = json_object_get(st, "exit_code");
                if (!json_is_integer(code))
                        return burrow_error_set(err, 0, "container `%s` ended without an exit code (the burrow that ran it was "
                                                        "killed)",
                                                shown);
                printf("%lld\n", (long long)json_integer_value(code));
                return 0;
        }
        pid_t pid;
        if (strcmp(verb, "kill") == 0) {
                if (container_pid(s, id, &pid, err) < 0 || (kill(pid, sig) < 0 && errno != ESRCH))
                        return err && *err ? -1 : burrow_error_set(err, errno, "signalling container `%s`", shown);
                printf("%s\n", shown);
                return 0;
        }
        /* stop: SIGTERM (the init passes it to the workload), then SIGKILL */
        if (!container_is_running(s, id)) {
                printf("%s\n", shown);
                return 0;
        }
        if (container_pid(s, id, &pid, err) < 0)
                return -1;
        /* the image's StopSignal, else SIGTERM */
        int stop_sig = SIGTERM;
        cleanup_json json_t *cfg = container_config(s, id, NULL);
        const char *named = json_string_value(json_object_get(cfg, "stop_signal"));
        if (named && signal_parse(named, &stop_sig, NULL) < 0)
                stop_sig = SIGTERM;
        kill(pid, stop_sig);
        if (!wait_stopped(s, id, (int)timeout * 10)) {
                kill(pid, SIGKILL);
                if (!wait_stopped(s, id, 100))
                        return burrow_error_set(err, 0, "container `%s` did not stop after SIGKILL", shown);
        }
        printf("%s\n", shown);
        return 0;
}

int cli_open_store(const struct burrow_global *global, struct store **s, char **runroot, struct store_ns *ns,
                   struct burrow_error **err)
{
        *s = NULL;
        cleanup_free char *root = global->root ? strdup(global->root) : store_default_root();
        *runroot = global->runroot ? strdup(global->runroot) : runroot_default();
        if (root == NULL || *runroot == NULL)
                return burrow_error_set(err, ENOMEM, "paths");
        if (runroot_ensure(*runroot, err) < 0 || store_open(root, s, err) < 0)
                return -1;
        *ns = (struct store_ns){ .runroot = *runroot, .use_holder = !global->no_userns_holder };
        return 0;
}

/* commit and export: one container, options of their own. */
static int files_verb(const struct burrow_global *global, int argc, char **argv)
{
        const char *verb = argv[0];
        bool is_commit = strcmp(verb, "commit") == 0;
        static const struct option longs[] = {
                { "message", required_argument, NULL, 'm' },
                { "author", required_argument, NULL, 'a' },
                { "output", required_argument, NULL, 'o' },
                { "help", no_argument, NULL, 'h' },
                { NULL, 0, NULL, 0 },
        };
        struct commit_options co = { 0 };
        const char *output = NULL;
        struct burrow_error *err = NULL;
        optind = 0;
        opterr = 0;
        int opt, token;
        while ((opt = cli_next_option(argc, argv, is_commit ? "+:m:a:h" : "+:o:h", longs, &token)) != -1) {
                if (opt == 'h') {
                        cli_container_help(verb, stdout);
                        return 0;
                } else if (is_commit && opt == 'm') {
                        co.message = optarg;
                } else if (is_commit && opt == 'a') {
                        co.author = optarg;
                } else if (!is_commit && opt == 'o') {
                        output = optarg;
                } else {
                        return cli_fail((cli_option_error(verb, argv[token], opt == ':' ? ':' : '?', &err), err));
                }
        }
        int nargs = argc - optind;
        if (nargs < 1 || nargs > (is_commit ? 2 : 1))
                return cli_fail((burrow_error_set(&err, 0, "usage: %s", is_commit ? "burrow commit [-m MESSAGE] CONTAINER [NAME[:TAG]]"
                                                                                    : "burrow export [-o FILE] CONTAINER"),
                                 err));
        if (is_commit && nargs == 2)
                co.name = argv[optind + 1];
        cleanup_free char *runroot = NULL;
        cleanup_store struct store *s = NULL;
        struct store_ns ns;
        if (cli_open_store(global, &s, &runroot, &ns, &err) < 0)
                return cli_fail(err);
        char id[CONTAINER_ID_LEN + 1];
        if (container_resolve(s, argv[optind], id, &err) < 0 || store_ns_check(s, &ns, &err) < 0)
                return cli_fail(err);
        if (is_commit) {
                char image_id[DIGEST_STR_LEN + 1];
                if (container_commit(s, &ns, id, &co, image_id, &err) < 0)
                        return cli_fail(err);
                printf("%s\n", image_id);
                return 0;
        }
        if (output == NULL && isatty(STDOUT_FILENO))
                return cli_fail((burrow_error_set(&err, 0, "not writing a tar to a terminal: use -o FILE or redirect stdout"), err));
        /* a file appears whole or not at all */
        cleanup_free char *tmp = NULL;
        cleanup_close int fd = -1;
        if (output) {
                if (asprintf(&tmp, "%s.burrow-tmp.%d", output, (int)getpid()) < 0)
                        return cli_fail((burrow_error_set(&err, ENOMEM, "path"), err));
                if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) < 0)
                        return cli_fail((burrow_error_set(&err, errno, "cannot create `%s`", tmp), err));
        }
        int r = container_export(s, &ns, id, output ? fd : STDOUT_FILENO, &err);
        if (output) {
                if (r == 0 && (fsync(fd) < 0 || rename(tmp, output) < 0))
                        r = burrow_error_set(&err, errno, "cannot write `%s`", output);
                if (r < 0)
                        unlink(tmp);
        }
        return r < 0 ? cli_fail(err) : 0;
}

int cli_container_main(const struct burrow_global *global, int argc, char **argv)
{
        const char *verb = argv[0];
        if (strcmp(verb, "commit") == 0 || strcmp(verb, "export") == 0)
                return files_verb(global, argc, argv);
        static const struct option longs[] = {
                { "all", no_argument, NULL, 'a' },
                { "quiet", no_argument, NULL, 'q' },
                { "force", no_argument, NULL, 258 },
                { "volumes", no_argument, NULL, 'v' },
                { "format", required_argument, NULL, 259 },
                { "filter", required_argument, NULL, 260 },
                { "follow", no_argument, NULL, 257 },
                { "time", required_argument, NULL, 't' },
                { "signal", required_argument, NULL, 's' },
                { "help", no_argument, NULL, 'h' },
                { NULL, 0, NULL, 0 },
        };
        bool force = false, follow = false, volumes = false;
        struct ps_options pso = { 0 };
        long timeout = 10;
        int sig = SIGKILL;
        struct burrow_error *err = NULL;
        optind = 0;
        opterr = 0;
        int opt, token;
        bool is_ps = strcmp(verb, "ps") == 0, is_rm = strcmp(verb, "rm") == 0, is_stop = strcmp(verb, "stop") == 0,
             is_kill = strcmp(verb, "kill") == 0, is_logs = strcmp(verb, "logs") == 0;
        const char *shorts = is_ps ? "+:aqf:h" : is_rm ? "+:fvh" : is_stop ? "+:t:h" : is_kill ? "+:s:h" : is_logs ? "+:fh" : "+:h";
        while ((opt = cli_next_option(argc, argv, shorts, longs, &token)) != -1) {
                if (opt == 'h') {
                        cli_container_help(verb, stdout);
                        return 0;
                } else if (is_ps && opt == 'a') {
                        pso.all = true;
                } else if (is_ps && opt == 'q') {
                        pso.quiet = true;
                } else if (is_ps && opt == 259) {
                        pso.format = optarg;
                } else if (is_ps && (opt == 260 || opt == 'f')) {
                        if (pso.n_filters >= sizeof(pso.filters) / sizeof(pso.filters[0]))
                                return cli_fail((burrow_error_set(&err, 0, "at most 16 --filter options"), err));
                        pso.filters[pso.n_filters++] = optarg;
                } else if (is_rm && (opt == 'f' || opt == 258)) {
                        force = true;
                } else if (is_rm && opt == 'v') {
                        volumes = true;
                } else if (is_logs && (opt == 'f' || opt == 257)) {
                        follow = true;
                } else if (is_stop && opt == 't') {
                        char *end;
                        timeout = strtol(optarg, &end, 10);
                        if (*optarg == '\0' || *end || timeout < 0 || timeout > 86400)
                                return cli_fail((burrow_error_set(&err, 0, "-t `%s`: expected whole seconds", optarg), err));
                } else if (is_kill && opt == 's') {
                        if (signal_parse(optarg, &sig, &err) < 0)
                                return cli_fail(err);
                } else {
                        cli_option_error(verb, argv[token], opt == ':' ? ':' : '?', &err);
                        return cli_fail(err);
                }
        }
        int nargs = argc - optind;
        char **args = argv + optind;
        if (is_ps && nargs > 0)
                return cli_fail((burrow_error_set(&err, 0, "`burrow ps` takes no arguments (usage: burrow ps [-a] [-q])"), err));
        if (!is_ps && nargs == 0)
                return cli_fail((burrow_error_set(&err, 0, "`burrow %s` needs at least one container (see `burrow help %s`)", verb,
                                                  verb),
                                 err));
        cleanup_free char *runroot = NULL;
        cleanup_store struct store *s = NULL;
        struct store_ns ns;
        if (cli_open_store(global, &s, &runroot, &ns, &err) < 0)
                return cli_fail(err);
        if (is_ps)
                return ps(s, &pso);
        int code = 0;
        for (int i = 0; i < nargs; i++) {
                char id[CONTAINER_ID_LEN + 1];
                if (container_resolve(s, args[i], id, &err) < 0) {
                        code = cli_fail(err);
                        err = NULL;
                        continue;
                }
                if (!is_rm) {
                        if (container_verb_one(s, verb, id, args[i], sig, timeout, follow, &err) < 0) {
                                code = cli_fail(err);
                                err = NULL;
                        }
                        continue;
                }
                if (container_is_running(s, id)) {
                        if (!force) {
                                burrow_error_set(&err, 0, "container `%s` is running: stop it first, or use `burrow rm -f`", args[i]);
                                code = cli_fail(err);
                                err = NULL;
                                continue;
                        }
                        if (kill_and_wait(s, id, &err) < 0) {
                                code = cli_fail(err);
                                err = NULL;
                                continue;
                        }
                }
                /* a --rm container may have removed itself meanwhile */
                char again[CONTAINER_ID_LEN + 1];
                if (container_resolve(s, id, again, NULL) < 0) {
                        printf("%s\n", args[i]);
                        continue;
                }
                if (container_remove(s, &ns, id, volumes, &err) < 0) {
                        code = cli_fail(err);
                        err = NULL;
                        continue;
                }
                printf("%s\n", args[i]);
        }
        return code;
}
