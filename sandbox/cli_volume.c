/* `burrow volume create|ls|rm|inspect|prune`. Parsing and printing only. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/store.h"
#include "fs/volume.h"
#include "sandbox/cli.h"
#include "sandbox/runroot.h"
#include "util/fsutil.h"

static void cleanup_jsonp(json_t **j)
{
        json_decref(*j);
}
#define cleanup_json __attribute__((cleanup(cleanup_jsonp)))

static const char volume_help[] =
        "Usage: burrow volume create [NAME]\n"
        "       burrow volume ls [-q]\n"
        "       burrow volume inspect NAME...\n"
        "       burrow volume rm [-f] NAME...\n"
        "       burrow volume prune\n"
        "\n"
        "Volumes are directories in the store that outlive containers: `burrow run -v NAME:/path`\n"
        "mounts one (made on first use; an empty one first gets the image's files at /path).\n"
        "rm refuses a volume a container uses; -f ignores volumes that do not exist. prune removes\n"
        "every volume no container uses.\n";

int cli_volume_help(FILE *out)
{
        fputs(volume_help, out);
        return 0;
}

int cli_volume_main(const struct burrow_global *global, int argc, char **argv)
{
        struct burrow_error *err = NULL;
        if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
                fputs(volume_help, argc < 2 ? stderr : stdout);
                return argc < 2 ? BURROW_EXIT_FAILURE : 0;
        }
        const char *sub = argv[1];
        static const struct option longs[] = {
                { "quiet", no_argument, NULL, 'q' },
                { "force", no_argument, NULL, 'f' },
                { "help", no_argument, NULL, 'h' },
                { NULL, 0, NULL, 0 },
        };
        bool quiet = false, force = false;
        optind = 0;
        opterr = 0;
        int opt, token;
        bool is_ls = strcmp(sub, "ls") == 0 || strcmp(sub, "list") == 0, is_rm = strcmp(sub, "rm") == 0 || strcmp(sub, "remove") == 0;
        while ((opt = cli_next_option(argc - 1, argv + 1, is_ls ? "+:qh" : is_rm ? "+:fh" : "+:h", longs, &token)) != -1) {
                if (opt == 'h') {
                        fputs(volume_help, stdout);
                        return 0;
                } else if (is_ls && opt == 'q') {
                        quiet = true;
                } else if (is_rm && opt == 'f') {
                        force = true;
                } else {
                        return cli_fail((cli_option_error("volume", argv[1 + token], opt, &err), err));
                }
        }
        int nargs = argc - 1 - optind;
        char **args = argv + 1 + optind;
        bool known = is_ls || is_rm || strcmp(sub, "create") == 0 || strcmp(sub, "inspect") == 0 || strcmp(sub, "prune") == 0;
        if (!known)
                return cli_fail((burrow_error_set(&err, 0, "unknown `burrow volume %s` (use create, ls, inspect, rm or prune)", sub),
                                 err));
        if ((strcmp(sub, "create") == 0 && nargs > 1) || ((is_ls || strcmp(sub, "prune") == 0) && nargs > 0) ||
            ((is_rm || strcmp(sub, "inspect") == 0) && nargs == 0))
                return cli_fail((burrow_error_set(&err, 0, "wrong arguments for `burrow volume %s` (see `burrow volume --help`)", sub),
                                 err));
        cleanup_free char *runroot = NULL;
        cleanup_store struct store *s = NULL;
        struct store_ns ns;
        if (cli_open_store(global, &s, &runroot, &ns, &err) < 0)
                return cli_fail(err);
        if (strcmp(sub, "create") == 0) {
                char name[VOLUME_NAME_MAX + 1];
                if (volume_create(s, nargs ? args[0] : NULL, false, name, NULL, &err) < 0)
                        return cli_fail(err);
                printf("%s\n", name);
                return 0;
        }
        if (is_ls) {
                cleanup_json json_t *list = volume_list(s, &err);
                if (list == NULL)
                        return cli_fail(err);
                if (!quiet)
                        printf("%-66s %s\n", "VOLUME NAME", "USED BY");
                size_t i;
                json_t *v;
                json_array_foreach(list, i, v)
                {
                        if (quiet) {
                                printf("%s\n", json_string_value(json_object_get(v, "name")));
                                continue;
                        }
                        printf("%-66s", json_string_value(json_object_get(v, "name")));
                        size_t k;
                        json_t *u;
                        json_array_foreach(json_object_get(v, "users"), k, u) printf("%s%s", k ? "," : " ", json_string_value(u));
                        printf("\n");
                }
                return 0;
        }
        if (strcmp(sub, "inspect") == 0) {
                cleanup_json json_t *list = volume_list(s, &err);
                if (list == NULL)
                        return cli_fail(err);
                cleanup_json json_t *out = json_array();
                int code = 0;
                for (int a = 0; a < nargs; a++) {
                        json_t *found = NULL;
                        size_t i;
                        json_t *v;
                        json_array_foreach(list, i, v) if (strcmp(json_string_value(json_object_get(v, "name")), args[a]) == 0) found = v;
                        if (found == NULL) {
                                code = cli_fail((burrow_error_set(&err, 0, "no volume `%s` in `%s` (see `burrow volume ls`)", args[a],
                                                                  s->root),
                                                 err));
                                err = NULL;
                                continue;
                        }
                        json_t *view = json_pack("{s:O, s:s, s:O, s:O, s:O, s:O}", "Name", json_object_get(found, "name"), "Driver",
                                                 "local", "Mountpoint", json_object_get(found, "mountpoint"), "CreatedAt",
                                                 json_object_get(found, "created") ?: json_null(), "Anonymous",
                                                 json_object_get(found, "anonymous") ?: json_false(), "UsedBy",
                                                 json_object_get(found, "users"));
                        json_array_append_new(out, view);
                }
                json_dumpf(out, stdout, JSON_INDENT(4));
                fputc('\n', stdout);
                return code;
        }
        if (strcmp(sub, "prune") == 0) {
                cleanup_json json_t *list = volume_list(s, &err);
                if (list == NULL)
                        return cli_fail(err);
                int code = 0;
                size_t i;
                json_t *v;
                json_array_foreach(list, i, v)
                {
                        if (json_array_size(json_object_get(v, "users")) > 0)
                                continue;
                        const char *name = json_string_value(json_object_get(v, "name"));
                        if (volume_remove(s, &ns, name, &err) < 0) {
                                code = cli_fail(err);
                                err = NULL;
                        } else {
                                printf("%s\n", name);
                        }
                }
                return code;
        }
        int code = 0;
        for (int a = 0; a < nargs; a++) {
                if (force) { /* -f: a volume that is not there is no error */
                        cleanup_free char *p = volume_data_path(s, args[a], NULL);
                        if (p == NULL)
                                continue;
                }
                if (volume_remove(s, &ns, args[a], &err) < 0) {
                        code = cli_fail(err);
                        err = NULL;
                } else {
                        printf("%s\n", args[a]);
                }
        }
        return code;
}
