/* Container verbs: ps, rm. Parsing and printing only. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "fs/container.h"
#include "fs/store.h"
#include "sandbox/cli.h"
#include "sandbox/runroot.h"
#include "util/fsutil.h"
#include "util/log.h"

static void cleanup_jsonp(json_t **j)
{
        json_decref(*j);
}
#define cleanup_json __attribute__((cleanup(cleanup_jsonp)))

static const char ps_help[] = "Usage: burrow ps [-a] [-q]\n"
                              "\n"
                              "List containers: the running ones, or all with -a (exited ones with their exit code).\n"
                              "\n"
                              "  -a, --all     also containers that are not running\n"
                              "  -q, --quiet   IDs only\n";
static const char rm_help[] = "Usage: burrow rm [-f] CONTAINER...\n"
                              "\n"
                              "Remove containers (by name, ID or unique ID prefix) with their writable layer. A running\n"
                              "container is refused unless -f, which kills it first.\n"
                              "\n"
                              "  -f, --force   kill a running container, then remove it\n";

int cli_container_help(const char *verb, FILE *out)
{
        if (strcmp(verb, "ps") == 0)
                fputs(ps_help, out);
        else if (strcmp(verb, "rm") == 0)
                fputs(rm_help, out);
        else
                return -1;
        return 0;
}

bool cli_container_verb(const char *verb)
{
        return strcmp(verb, "ps") == 0 || strcmp(verb, "rm") == 0;
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

static int ps(struct store *s, bool all, bool quiet)
{
        struct burrow_error *err = NULL;
        cleanup_json json_t *list = container_list(s, &err);
        if (list == NULL)
                return cli_fail(err);
        if (!quiet)
                printf("%-14s %-28s %-24s %-22s %s\n", "CONTAINER ID", "IMAGE", "COMMAND", "STATUS", "NAMES");
        size_t i;
        json_t *c;
        json_array_foreach(list, i, c)
        {
                const char *status = json_string_value(json_object_get(c, "status"));
                bool running = status && strcmp(status, "running") == 0;
                if (!all && !running)
                        continue;
                const char *id = json_string_value(json_object_get(c, "id"));
                if (quiet) {
                        printf("%.12s\n", id);
                        continue;
                }
                char command[64] = "";
                size_t k;
                json_t *a;
                json_array_foreach(json_object_get(c, "argv"), k, a)
                {
                        size_t used = strlen(command);
                        snprintf(command + used, sizeof(command) - used, "%s%s", k ? " " : "", json_string_value(a));
                }
                if (strlen(command) > 22)
                        snprintf(command + 19, sizeof(command) - 19, "...");
                char st[64];
                if (running) {
                        snprintf(st, sizeof(st), "Up");
                } else if (strcmp(status, "exited") == 0 && json_is_integer(json_object_get(c, "exit_code"))) {
                        char ago[32];
                        human_ago(json_integer_value(json_object_get(c, "finished")), ago, sizeof(ago));
                        snprintf(st, sizeof(st), "Exited (%lld) %s", (long long)json_integer_value(json_object_get(c, "exit_code")),
                                 ago);
                } else if (strcmp(status, "exited") == 0) {
                        snprintf(st, sizeof(st), "Exited (unknown)");
                } else {
                        snprintf(st, sizeof(st), "Created");
                }
                printf("%-14.12s %-28s \"%s\"%*s %-22s %s\n", id, json_string_value(json_object_get(c, "image_name")) ?: "?",
                       command, (int)(22 - strlen(command) > 22 ? 0 : 22 - strlen(command)), "", st,
                       json_string_value(json_object_get(c, "name")) ?: "");
        }
        return 0;
}

/* rm -f of a running container: kill its init (the burrow run that started it then records the
 * exit and lets go of the container), and wait for it to let go. */
static int kill_and_wait(struct store *s, const char *runroot, const char *id, struct burrow_error **err)
{
        char path[4096];
        snprintf(path, sizeof(path), "%s/containers/%s/state.json", runroot, id);
        cleanup_free char *text = NULL;
        if (read_file_at(AT_FDCWD, path, &text, NULL, err) < 0)
                return burrow_error_wrap(err, "container %.12s is running from another runroot", id);
        json_error_t je;
        cleanup_json json_t *state = json_loads(text, 0, &je);
        json_int_t pid = json_integer_value(json_object_get(state, "pid"));
        if (pid <= 1)
                return burrow_error_set(err, 0, "`%s` names no process", path);
        if (kill((pid_t)pid, SIGKILL) < 0 && errno != ESRCH)
                return burrow_error_set(err, errno, "killing container %.12s (pid %lld)", id, (long long)pid);
        for (int i = 0; i < 200 && container_is_running(s, id); i++)
                usleep(50000);
        if (container_is_running(s, id))
                return burrow_error_set(err, 0, "container %.12s did not stop within 10 s", id);
        return 0;
}

int cli_container_main(const struct burrow_global *global, int argc, char **argv)
{
        const char *verb = argv[0];
        static const struct option longs[] = {
                { "all", no_argument, NULL, 'a' },
                { "quiet", no_argument, NULL, 'q' },
                { "force", no_argument, NULL, 'f' },
                { "help", no_argument, NULL, 'h' },
                { NULL, 0, NULL, 0 },
        };
        bool all = false, quiet = false, force = false;
        struct burrow_error *err = NULL;
        optind = 0;
        opterr = 0;
        int opt, token;
        bool is_ps = strcmp(verb, "ps") == 0;
        while ((opt = cli_next_option(argc, argv, is_ps ? "+:aqh" : "+:fh", longs, &token)) != -1) {
                if (opt == 'h') {
                        cli_container_help(verb, stdout);
                        return 0;
                } else if (is_ps && opt == 'a') {
                        all = true;
                } else if (is_ps && opt == 'q') {
                        quiet = true;
                } else if (!is_ps && opt == 'f') {
                        force = true;
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
                return cli_fail((burrow_error_set(&err, 0, "`burrow rm` needs at least one container (usage: burrow rm [-f] "
                                                           "CONTAINER...)"),
                                 err));
        cleanup_free char *root = global->root ? strdup(global->root) : store_default_root();
        cleanup_free char *runroot = global->runroot ? strdup(global->runroot) : runroot_default();
        cleanup_store struct store *s = NULL;
        if (root == NULL || runroot == NULL)
                return cli_fail((burrow_error_set(&err, ENOMEM, "paths"), err));
        if (runroot_ensure(runroot, &err) < 0 || store_open(root, &s, &err) < 0)
                return cli_fail(err);
        if (is_ps)
                return ps(s, all, quiet);
        struct store_ns ns = { .runroot = runroot, .use_holder = !global->no_userns_holder };
        int code = 0;
        for (int i = 0; i < nargs; i++) {
                char id[CONTAINER_ID_LEN + 1];
                if (container_resolve(s, args[i], id, &err) < 0) {
                        code = cli_fail(err);
                        err = NULL;
                        continue;
                }
                if (container_is_running(s, id)) {
                        if (!force) {
                                burrow_error_set(&err, 0, "container `%s` is running: stop it first, or use `burrow rm -f`", args[i]);
                                code = cli_fail(err);
                                err = NULL;
                                continue;
                        }
                        if (kill_and_wait(s, runroot, id, &err) < 0) {
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
                if (container_remove(s, &ns, id, &err) < 0) {
                        code = cli_fail(err);
                        err = NULL;
                        continue;
                }
                printf("%s\n", args[i]);
        }
        return code;
}
