/* Image verbs: import, images, tag, rmi, inspect, history, image prune. Parsing only. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs/image.h"
#include "fs/registry.h"
#include "sandbox/cli.h"
#include "sandbox/runroot.h"

static const struct {
        const char *verb;
        const char *help;
} image_help[] = {
        { "import", "Usage: burrow import FILE NAME[:TAG]\n\n"
                    "Make a one-layer image from a root filesystem tarball (plain, gzip, zstd, xz or bzip2).\n"
                    "A NAME without a registry is stored as localhost/NAME. Prints the image ID.\n" },
        { "images", "Usage: burrow images [-q] [--format TEMPLATE] [--filter FILTER]...\n\n"
                    "List images, newest first.\n"
                    "  -q, --quiet        image IDs only\n"
                    "  --format TEMPLATE  e.g. '{{.Repository}}:{{.Tag}} {{.ID}}' (also .Created .Size .Digest)\n"
                    "  --filter FILTER    reference=PATTERN (shell glob) or dangling=true|false\n" },
        { "pull", "Usage: burrow pull [--platform OS/ARCH[/VARIANT]] [--tls-verify=false] [--cert-dir DIR] [-q] REF\n\n"
                  "Pull an image from a registry (OCI distribution API). `debian` means\n"
                  "docker.io/library/debian:latest. Layers already in the store are not fetched again.\n"
                  "  --platform P         another platform than this machine's, from an image index\n"
                  "  --tls-verify=false   accept any certificate, and plain HTTP\n"
                  "  --cert-dir DIR       CA certificates in DIR/HOST:PORT/ca.crt (default: the config\n"
                  "                       directory's certs.d); insecure registries: registries.json\n"
                  "  -q, --quiet          no progress\n" },
        { "load", "Usage: burrow load -i FILE|DIR\n\n"
                  "Load images from a docker-archive (`docker save`), an oci-archive or an OCI image layout\n"
                  "directory. Digests are checked; an image index gives the manifest for this machine.\n"
                  "  -i, --input PATH   the archive or layout\n" },
        { "push", "Usage: burrow push [--tls-verify=false] [--cert-dir DIR] [-q] IMAGE [DESTINATION]\n\n"
                  "Upload IMAGE to a registry, as IMAGE's name or as DESTINATION (HOST[:PORT]/PATH:TAG).\n" },
        { "login", "Usage: burrow login -u USER (-p PASSWORD | --password-stdin) [--tls-verify=false] [--cert-dir DIR] REGISTRY\n\n"
                   "Check the credentials against REGISTRY (HOST[:PORT]) and keep them for pulls, in\n"
                   "$REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json or ~/.config/containers/auth.json.\n" },
        { "logout", "Usage: burrow logout REGISTRY\n\nForget the credentials kept for REGISTRY.\n" },
        { "save", "Usage: burrow save -o FILE [--format docker-archive|oci-archive] IMAGE\n\n"
                  "Write IMAGE as a docker-archive (the default, as `docker save`) or an oci-archive.\n" },
        { "tag", "Usage: burrow tag IMAGE NAME[:TAG]\n\nGive IMAGE another name (taken from any image that had it).\n" },
        { "rmi", "Usage: burrow rmi [-f] IMAGE...\n\n"
                 "Remove a name; an image loses its layers when its last name goes. An image with several names\n"
                 "given by ID needs -f. Layers and blobs no image uses are removed.\n" },
        { "inspect", "Usage: burrow inspect CONTAINER|IMAGE\n\nShow a container (its state, command, layers) or an image (ID, "
                     "names, config,\nlayers) as JSON. A container's name or ID is looked for first.\n" },
        { "history", "Usage: burrow history IMAGE\n\nShow the steps that made the image, newest first.\n" },
        { "system", "Usage: burrow system reset [-f] | migrate\n\n"
                    "  reset     remove every image and layer of the store (--root), files of subordinate IDs\n"
                    "            included, and end the userns holders. Asks first on a terminal; -f does not.\n"
                    "  migrate   after you got a subordinate ID range: give the files of layers unpacked\n"
                    "            without one (all owned by you) their owners from the image, and record\n"
                    "            the new ID map in the store.\n" },
        { "image", "Usage: burrow image ls|rm|inspect|history|tag|import|prune [ARGS]\n\n"
                   "  prune   remove layers and blobs that no image uses\n" },
};

static const char *help_for(const char *verb)
{
        for (size_t i = 0; i < sizeof(image_help) / sizeof(image_help[0]); i++)
                if (strcmp(image_help[i].verb, verb) == 0)
                        return image_help[i].help;
        return NULL;
}

int cli_image_help(const char *verb, FILE *out)
{
        const char *h = help_for(verb);
        if (h == NULL)
                return -1;
        fputs(h, out);
        return 0;
}

bool cli_image_verb(const char *verb)
{
        return help_for(verb) != NULL;
}

struct ctx {
        struct store *store;
        struct store_ns ns;
        char *runroot;
};

static int open_ctx(const struct burrow_global *g, struct ctx *c, struct burrow_error **err)
{
        memset(c, 0, sizeof(*c));
        cleanup_free char *root = g->root ? strdup(g->root) : store_default_root();
        c->runroot = g->runroot ? strdup(g->runroot) : runroot_default();
        if (root == NULL || c->runroot == NULL)
                return burrow_error_set(err, ENOMEM, "paths");
        if (runroot_ensure(c->runroot, err) < 0 || store_open(root, &c->store, err) < 0)
                return -1;
        c->ns.runroot = c->runroot;
        c->ns.use_holder = !g->no_userns_holder;
        return 0;
}

static void close_ctx(struct ctx *c)
{
        store_free(c->store);
        free(c->runroot);
}

/* Options common to the simple verbs: -h, and -q/-f/--format/--filter where they apply. */
static int parse(const char *verb, int argc, char **argv, struct image_list_options *lo, bool *force, const char **input,
                 struct pull_options *po, int *help, struct burrow_error **err)
{
        enum { OPT_FORMAT = 256, OPT_FILTER, OPT_PLATFORM, OPT_TLS_VERIFY, OPT_CERT_DIR, OPT_PASSWORD_STDIN };
        static const struct option longs[] = {
                { "quiet", no_argument, NULL, 'q' },        { "force", no_argument, NULL, 'f' },
                { "input", required_argument, NULL, 'i' },
                { "output", required_argument, NULL, 'o' },
                { "username", required_argument, NULL, 'u' },
                { "password", required_argument, NULL, 'p' },
                { "password-stdin", no_argument, NULL, OPT_PASSWORD_STDIN },
                { "platform", required_argument, NULL, OPT_PLATFORM },
                { "tls-verify", required_argument, NULL, OPT_TLS_VERIFY },
                { "cert-dir", required_argument, NULL, OPT_CERT_DIR },
                { "format", required_argument, NULL, OPT_FORMAT }, { "filter", required_argument, NULL, OPT_FILTER },
                { "help", no_argument, NULL, 'h' },         { NULL, 0, NULL, 0 },
        };
        bool list = strcmp(verb, "images") == 0;
        bool rmi = strcmp(verb, "rmi") == 0;
        *help = 0;
        optind = 0;
        opterr = 0;
        int opt, token;
        bool login = strcmp(verb, "login") == 0;
        while ((opt = cli_next_option(argc, argv, "+:qfi:o:u:p:h", longs, &token)) != -1) {
                if (opt == 'h') {
                        *help = 1;
                        return 0;
                } else if (opt == 'q' && (list || strcmp(verb, "pull") == 0 || strcmp(verb, "push") == 0)) {
                        lo->quiet = po->quiet = true;
                } else if (opt == 'u' && login) {
                        po->user = optarg;
                } else if (opt == 'p' && login) {
                        po->password = optarg;
                } else if (opt == OPT_PASSWORD_STDIN && login) {
                        po->password_stdin = true;
                } else if (opt == OPT_PLATFORM && strcmp(verb, "pull") == 0) {
                        po->platform = optarg;
                } else if (opt == OPT_TLS_VERIFY && (strcmp(verb, "pull") == 0 || strcmp(verb, "push") == 0 || login)) {
                        if (strcmp(optarg, "true") != 0 && strcmp(optarg, "false") != 0)
                                return burrow_error_set(err, 0, "--tls-verify takes true or false, not `%s`", optarg);
                        po->tls_verify = strcmp(optarg, "true") == 0;
                } else if (opt == OPT_CERT_DIR && (strcmp(verb, "pull") == 0 || strcmp(verb, "push") == 0 || login)) {
                        po->cert_dir = optarg;
                } else if (opt == 'i' && strcmp(verb, "load") == 0) {
                        *input = optarg;
                } else if (opt == 'o' && strcmp(verb, "save") == 0) {
                        *input = optarg; /* the output file */
                } else if (opt == OPT_FORMAT && strcmp(verb, "save") == 0) {
                        if (strcmp(optarg, "docker-archive") != 0 && strcmp(optarg, "oci-archive") != 0)
                                return burrow_error_set(err, 0, "--format for save is docker-archive or oci-archive, not `%s`", optarg);
                        lo->format = optarg;
                } else if (opt == 'f' && rmi) {
                        *force = true;
                } else if (opt == OPT_FORMAT && list) {
                        lo->format = optarg;
                } else if (opt == OPT_FILTER && list) {
                        if (lo->n_filters >= sizeof(lo->filters) / sizeof(lo->filters[0]))
                                return burrow_error_set(err, 0, "at most 8 --filter options");
                        lo->filters[lo->n_filters++] = optarg;
                } else {
                        return cli_option_error(verb, argv[token], opt == ':' ? ':' : '?', err);
                }
        }
        return optind;
}

static int need_args(const char *verb, int have, int min, int max, struct burrow_error **err)
{
        if (have < min || (max >= 0 && have > max)) {
                char usage[256] = "";
                const char *h = help_for(strcmp(verb, "prune") == 0 ? "image" : verb);
                if (h)
                        sscanf(h, "Usage: %255[^\n]", usage);
                return burrow_error_set(err, 0, "`burrow %s` takes %s argument%s (usage: %s)", verb,
                                        min == max ? (min == 1 ? "one" : "two") : min == 0 ? "no" : "at least one",
                                        min == 1 && max == 1 ? "" : "s", usage);
        }
        return 0;
}

static int system_reset(const struct burrow_global *global, int argc, char **argv)
{
        bool force = argc > 1 && (strcmp(argv[1], "-f") == 0 || strcmp(argv[1], "--force") == 0);
        struct burrow_error *err = NULL;
        cleanup_free char *root = global->root ? strdup(global->root) : store_default_root();
        cleanup_free char *runroot = global->runroot ? strdup(global->runroot) : runroot_default();
        if (root == NULL || runroot == NULL)
                return cli_fail((burrow_error_set(&err, ENOMEM, "paths"), err));
        if (!force) {
                if (!isatty(STDIN_FILENO)) {
                        burrow_error_set(&err, 0, "`burrow system reset` removes every image in `%s`: add -f to do it without a question",
                                         root);
                        return cli_fail(err);
                }
                fprintf(stderr, "This removes every image and layer in %s. Continue? [y/N] ", root);
                char answer[16] = "";
                if (fgets(answer, sizeof(answer), stdin) == NULL || (answer[0] != 'y' && answer[0] != 'Y'))
                        return 0;
        }
        struct store_ns ns = { .runroot = runroot, .use_holder = !global->no_userns_holder };
        if (runroot_ensure(runroot, &err) < 0 || store_reset(root, &ns, &err) < 0)
                return cli_fail(err);
        printf("removed %s\n", root);
        return 0;
}

static int system_migrate(const struct burrow_global *global, int argc, char **argv)
{
        (void)argv;
        struct burrow_error *err = NULL;
        if (argc > 1)
                return cli_fail((burrow_error_set(&err, 0, "`burrow system migrate` takes no arguments"), err));
        cleanup_free char *root = global->root ? strdup(global->root) : store_default_root();
        cleanup_free char *runroot = global->runroot ? strdup(global->runroot) : runroot_default();
        if (root == NULL || runroot == NULL)
                return cli_fail((burrow_error_set(&err, ENOMEM, "paths"), err));
        cleanup_store struct store *s = NULL;
        struct store_ns ns = { .runroot = runroot, .use_holder = !global->no_userns_holder };
        if (runroot_ensure(runroot, &err) < 0 || store_open(root, &s, &err) < 0 || image_migrate(s, &ns, stdout, &err) < 0)
                return cli_fail(err);
        return 0;
}

int cli_image_main(const struct burrow_global *global, int argc, char **argv)
{
        const char *verb = argv[0];
        if (strcmp(verb, "system") == 0) {
                if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
                        cli_image_help("system", argc < 2 ? stderr : stdout);
                        return argc < 2 ? BURROW_EXIT_FAILURE : 0;
                }
                if (strcmp(argv[1], "reset") == 0)
                        return system_reset(global, argc - 1, argv + 1);
                if (strcmp(argv[1], "migrate") == 0)
                        return system_migrate(global, argc - 1, argv + 1);
                fprintf(stderr, "burrow: unknown command `system %s` (see `burrow help system`)\n", argv[1]);
                return BURROW_EXIT_FAILURE;
        }
        if (strcmp(verb, "image") == 0) {
                static const char *const sub[][2] = { { "ls", "images" }, { "list", "images" }, { "rm", "rmi" },
                                                      { "inspect", "inspect" }, { "history", "history" },
                                                      { "tag", "tag" }, { "import", "import" }, { "prune", "prune" },
                                                      { "load", "load" }, { "pull", "pull" }, { "save", "save" },
                                                      { "push", "push" } };
                if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
                        cli_image_help("image", argc < 2 ? stderr : stdout);
                        return argc < 2 ? BURROW_EXIT_FAILURE : 0;
                }
                const char *mapped = NULL;
                for (size_t i = 0; i < sizeof(sub) / sizeof(sub[0]); i++)
                        if (strcmp(argv[1], sub[i][0]) == 0)
                                mapped = sub[i][1];
                if (mapped == NULL) {
                        fprintf(stderr, "burrow: unknown command `image %s` (see `burrow help image`)\n", argv[1]);
                        return BURROW_EXIT_FAILURE;
                }
                argv[1] = (char *)mapped;
                return cli_image_main(global, argc - 1, argv + 1);
        }
        struct burrow_error *err = NULL;
        struct image_list_options lo = { 0 };
        bool force = false;
        const char *input = NULL;
        struct pull_options po = { .tls_verify = -1 };
        int help = 0;
        int first = parse(verb, argc, argv, &lo, &force, &input, &po, &help, &err);
        if (first < 0)
                return cli_fail(err);
        if (help) {
                cli_image_help(strcmp(verb, "prune") == 0 ? "image" : verb, stdout);
                return 0;
        }
        int nargs = argc - first;
        char **args = argv + first;
        struct ctx c;
        int code = 0;
        int r;
        if (strcmp(verb, "import") == 0)
                r = need_args(verb, nargs, 2, 2, &err);
        else if (strcmp(verb, "tag") == 0)
                r = need_args(verb, nargs, 2, 2, &err);
        else if (strcmp(verb, "load") == 0)
                r = input ? need_args(verb, nargs, 0, 0, &err)
                          : burrow_error_set(&err, 0, "`burrow load` needs -i FILE|DIR (reading standard input is not supported)");
        else if (strcmp(verb, "push") == 0)
                r = need_args(verb, nargs, 1, 2, &err);
        else if (strcmp(verb, "save") == 0)
                r = input ? need_args(verb, nargs, 1, 1, &err) : burrow_error_set(&err, 0, "`burrow save` needs -o FILE");
        else if (strcmp(verb, "images") == 0 || strcmp(verb, "prune") == 0)
                r = need_args(verb, nargs, 0, 0, &err);
        else if (strcmp(verb, "rmi") == 0)
                r = need_args(verb, nargs, 1, -1, &err);
        else
                r = need_args(verb, nargs, 1, 1, &err);
        if (r < 0 || open_ctx(global, &c, &err) < 0)
                return cli_fail(err);
        cleanup_free char *config_dir = config_dir_default();
        po.config_dir = config_dir;
        if (strcmp(verb, "import") == 0) {
                char id[DIGEST_STR_LEN + 1];
                if (image_import(c.store, &c.ns, args[0], args[1], id, &err) < 0)
                        code = cli_fail(err);
                else
                        printf("%s\n", id);
        } else if (strcmp(verb, "pull") == 0) {
                if (image_pull(c.store, &c.ns, args[0], &po, stdout, &err) < 0)
                        code = cli_fail(err);
        } else if (strcmp(verb, "push") == 0) {
                if (image_push(c.store, args[0], nargs > 1 ? args[1] : NULL, &po, stdout, &err) < 0)
                        code = cli_fail(err);
        } else if (strcmp(verb, "login") == 0) {
                char line[1024] = "";
                if (po.password_stdin) {
                        if (fgets(line, sizeof(line), stdin) == NULL)
                                line[0] = '\0';
                        line[strcspn(line, "\r\n")] = '\0';
                        po.password = line;
                }
                if (registry_login(args[0], po.user, po.password, &po, stdout, &err) < 0)
                        code = cli_fail(err);
                explicit_bzero(line, sizeof(line));
        } else if (strcmp(verb, "logout") == 0) {
                if (registry_logout(args[0], stdout, &err) < 0)
                        code = cli_fail(err);
        } else if (strcmp(verb, "save") == 0) {
                if (image_save(c.store, args[0], input, !(lo.format && strcmp(lo.format, "oci-archive") == 0), &err) < 0)
                        code = cli_fail(err);
        } else if (strcmp(verb, "load") == 0) {
                if (image_load(c.store, &c.ns, input, stdout, &err) < 0)
                        code = cli_fail(err);
        } else if (strcmp(verb, "images") == 0) {
                if (image_list(c.store, &lo, stdout, &err) < 0)
                        code = cli_fail(err);
        } else if (strcmp(verb, "tag") == 0) {
                if (image_tag(c.store, args[0], args[1], &err) < 0)
                        code = cli_fail(err);
        } else if (strcmp(verb, "rmi") == 0) {
                for (int i = 0; i < nargs; i++)
                        if (image_remove(c.store, &c.ns, args[i], force, stdout, &err) < 0)
                                code = cli_fail(err);
                err = NULL;
        } else if (strcmp(verb, "inspect") == 0) {
                int as_ctr = cli_container_inspect(c.store, args[0], stdout, &err);
                if (as_ctr < 0 || (as_ctr == 1 && image_inspect(c.store, args[0], stdout, &err) < 0))
                        code = cli_fail(err);
        } else if (strcmp(verb, "history") == 0) {
                if (image_history(c.store, args[0], stdout, &err) < 0)
                        code = cli_fail(err);
        } else if (strcmp(verb, "prune") == 0) {
                unsigned freed = 0;
                if (image_prune(c.store, &c.ns, &freed, &err) < 0)
                        code = cli_fail(err);
                else
                        printf("removed %u unused layers and blobs\n", freed);
        }
        close_ctx(&c);
        return code;
}
